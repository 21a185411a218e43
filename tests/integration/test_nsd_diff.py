# SPDX-License-Identifier: MIT
"""Differential test: the same zones served by r53d and by NSD, the same queries, the answers
compared case by case (rcode, AA, TC, answer / authority / additional RRsets as sets).

Zones: the fixture zones, plus zones generated from a seed (names at several depths, empty
non-terminals, wildcards, CNAME chains, dangling and out-of-zone CNAMEs, delegations with
glue and DS, MX/SRV targets, mixed-case data) so the comparison covers zones nobody
hand-picked. Queries are generated from each zone: existing names, their children, names
below delegations, random names, literal wildcards, mixed case, EDNS or not, many types.

NSD runs with minimal-responses: no (its default), so it too puts the zone's NS set in the
authority section of positive answers. Differences the RFCs allow are listed in ALLOWED
with the reason; every other difference fails the test and is printed in full.

Seeds: R53D_DIFF_SEEDS="1,2,3" (default below); queries per zone: R53D_DIFF_QUERIES.
"""

import os
import random
import socket
import unittest

import dnswire
import harness
from dnswire import make_query, name_text, read_name, type_code, type_name

SEEDS = [int(x) for x in os.environ.get("R53D_DIFF_SEEDS", "11,23,37,41,59,64,72,89").split(",") if x]
NQUERIES = int(os.environ.get("R53D_DIFF_QUERIES", "500"))

ALLOWED = {
    "authority-ns": "r53d puts the zone's NS set in the authority section of positive answers "
                    "where NSD leaves it out (CNAME leaving the zone, CNAME loops, ANY, apex "
                    "NS). Route 53 does this (spec NEG-9); the section is optional data "
                    "(RFC 2181 9, RFC 1034 4.3.2).",
    "additional": "the additional section is optional (RFC 1034 4.3.2 step 6, RFC 2181 9): "
                  "r53d may add fewer or other in-zone addresses than NSD, as long as each one "
                  "it adds is true data and a referral carries all in-domain glue "
                  "(RFC 9471).",
    "any-rrset": "ANY (RFC 8482 4.1): both servers return one RRset; which one is the "
                 "server's choice. r53d's must be a whole RRset that exists at the name.",
    "cname-zone-boundary": "r53d follows CNAME chains only inside the zone that answers "
                           "(spec NEG-7); NSD follows them into other zones it hosts. "
                           "r53d's answer is then a prefix of NSD's chain and its "
                           "rcode/authority are those of the last in-zone step (RFC 6604 3; "
                           "resolvers re-query the target). A chain into a delegation of "
                           "the same zone must match NSD exactly (CNAME, then the referral).",
    "cname-loop": "a CNAME loop is a zone error: NSD returns the loop once with NOERROR; "
                  "r53d may cut it at any point and answer NOERROR or SERVFAIL.",
    "rrset-ttl": "a zone file that gives one RRset several TTLs: r53d serves the RRset with "
                 "the lowest (RFC 2181 5.2), NSD each record with its own.",
    "cd-bit": "r53d copies the CD bit of the query into the response, as RFC 4035 3.1.6 says "
              "it SHOULD; NSD 4.6 clears it.",
}

QTYPES = ["A", "A", "A", "AAAA", "AAAA", "TXT", "MX", "NS", "SRV", "CNAME", "DS", "SOA", "ANY",
          "PTR", "CAA", "DNAME"]


# ---------------------------------------------------------------------------------------
# random zones

LABELS = ["a", "b", "c", "www", "mail", "x", "y", "api", "dev", "_tcp", "srv", "k9"]


class Zone:
    """A generated zone: text, origin, delegation points and every owner name."""

    def __init__(self, origin):
        self.origin = origin
        self.rrsets = {}          # (owner lowercase, type) -> (ttl, [rdata text])
        self.owners = []          # owner names in insertion order (lowercase, absolute)
        self.delegs = set()
        self.wild_parents = set()
        self.dnames = set()
        self.extra_lines = []     # written as they are, after the RRsets

    def add(self, owner, rtype, ttl, rdata):
        key = (owner, rtype)
        if key not in self.rrsets:
            self.rrsets[key] = (ttl, [])
            if owner not in self.owners:
                self.owners.append(owner)
        if rdata not in self.rrsets[key][1]:
            self.rrsets[key][1].append(rdata)

    def types_at(self, owner):
        return {t for (o, t) in self.rrsets if o == owner}

    def text(self):
        lines = ["$ORIGIN %s" % self.origin, "$TTL 300"]
        for (owner, rtype), (ttl, rdatas) in self.rrsets.items():
            for rd in rdatas:
                lines.append("%s\t%d\tIN\t%s\t%s" % (owner, ttl, rtype, rd))
        return "\n".join(lines + self.extra_lines) + "\n"


def under(name, parent):
    return name == parent or name.endswith("." + parent)


def gen_zone(seed):
    rng = random.Random(seed)
    origin = "z%d.test." % seed
    z = Zone(origin)
    z.add(origin, "SOA", 3600, "ns1.%s hostmaster.%s %d 7200 3600 1209600 %d" % (
        origin, origin, seed, rng.choice([60, 300, 7200])))
    z.add(origin, "NS", 3600, "ns1." + origin)
    z.add(origin, "NS", 3600, "ns.external.example.")
    z.add("ns1." + origin, "A", 3600, "192.0.2.1")

    def rname(depth=None):
        depth = depth or rng.choice([1, 1, 2, 2, 3])
        return ".".join(rng.choice(LABELS) for _ in range(depth)) + "." + origin

    def mixed(name):
        if rng.random() < 0.15:
            return "".join(c.upper() if rng.random() < 0.5 else c for c in name)
        return name

    # delegation points first (nothing else may live below them except glue)
    for i in range(rng.randint(1, 3)):
        d = "d%d.%s" % (i, rng.choice(["", "a.", "b.c."])) + origin
        z.delegs.add(d)
        z.add(d, "NS", 86400, "ns1." + d)
        z.add("ns1." + d, "A", 86400, "198.51.100.%d" % (10 + i))
        if rng.random() < 0.5:
            z.add("ns1." + d, "AAAA", 86400, "2001:db8:%d::53" % i)
        if rng.random() < 0.5:
            z.add(d, "NS", 86400, "ns2." + d)
            z.add("ns2." + d, "A", 86400, "198.51.100.%d" % (20 + i))
        z.add(d, "NS", 86400, rng.choice(["ns.external.example.", "ns1." + origin]))
        if rng.random() < 0.6:
            z.add(d, "DS", 3600, "%d 13 2 %064X" % (1000 + i, rng.getrandbits(256)))

    def free(name):
        return not any(under(name, d) for d in z.delegs) and name != origin

    names = []
    for _ in range(rng.randint(25, 45)):
        n = rname()
        if free(n) and n not in names:
            names.append(n)
    # wildcards, at the apex in some zones
    wilds = []
    for _ in range(rng.randint(1, 4)):
        parent = rng.choice([origin] + names) if rng.random() < 0.3 else rng.choice(names + [origin])
        if seed % 3 != 0 and parent == origin:
            parent = rname(1)
        w = "*." + parent
        if free(w) and not parent.startswith("*"):
            wilds.append(w)
            z.wild_parents.add(parent)
    cnames = set()
    targets = names + wilds
    for n in names + wilds:
        kind = rng.random()
        ttl = rng.choice([60, 300, 3600])
        if kind < 0.25 and n not in z.owners:
            tgt = rng.choice([
                rng.choice(names), rng.choice(names), rname(),            # in zone, maybe chain
                "host.external.example.",                                 # out of zone
                "x." + rng.choice(sorted(z.delegs)),                      # below a delegation
                "q%d.%s" % (rng.randint(0, 9), rng.choice(wilds)[2:]) if wilds else origin,
            ])
            z.add(n, "CNAME", ttl, mixed(tgt))
            cnames.add(n)
            continue
        if n in cnames:
            continue
        for _ in range(rng.randint(1, 3)):
            t = rng.choice(["A", "A", "AAAA", "TXT", "MX", "SRV", "PTR", "CAA"])
            if t == "A":
                for _ in range(rng.randint(1, 4)):
                    z.add(n, "A", ttl, "192.0.2.%d" % rng.randint(2, 250))
            elif t == "AAAA":
                z.add(n, "AAAA", ttl, "2001:db8::%x" % rng.randint(1, 0xffff))
            elif t == "TXT":
                z.add(n, "TXT", ttl, '"t%d %s"' % (rng.randint(0, 99), "z" * rng.randint(0, 40)))
            elif t == "MX":
                z.add(n, "MX", ttl, "%d %s" % (rng.choice([5, 10, 20]), mixed(
                    rng.choice(targets + ["mx.external.example.", "ns1." + origin]))))
            elif t == "SRV":
                z.add(n, "SRV", ttl, "%d %d %d %s" % (rng.randint(0, 20), rng.randint(0, 100),
                                                      rng.choice([80, 443, 5060]),
                                                      rng.choice(names + ["srv.external.example."])))
            elif t == "PTR":
                z.add(n, "PTR", ttl, mixed(rng.choice(names)))
            elif t == "CAA":
                z.add(n, "CAA", ttl, '0 issue "ca%d.example"' % rng.randint(0, 9))
    # large RRsets around the 512 / 1232 byte limits, to compare TC decisions
    for i in range(rng.randint(1, 3)):
        n = "big%d.%s" % (i, origin)
        if rng.random() < 0.5:
            for k in range(rng.randint(20, 90)):
                z.add(n, "A", 300, "10.%d.%d.%d" % (i, k // 250, k % 250))
        else:
            for k in range(rng.randint(2, 7)):
                z.add(n, "TXT", 300, '"%02d%s"' % (k, "t" * rng.randint(100, 250)))
        names.append(n)
    # DNAME (RFC 6672) in some zones: into the zone, out of it, chained, beside other data
    if seed % 4 != 1:
        for i in range(rng.randint(1, 3)):
            owner = rng.choice(["dn%d." % i, "dn%d.a." % i, "x.dn%d." % i]) + origin
            if not free(owner) or z.types_at(owner) or owner in names:
                continue
            tgt = rng.choice([rng.choice(names), rng.choice(names), "ext.example.net.",
                              "dn%d.%s" % ((i + 1) % 3, origin), origin,
                              "q." + rng.choice(wilds)[2:] if wilds else origin])
            z.add(owner, "DNAME", rng.choice([60, 300]), mixed(tgt))
            if rng.random() < 0.5:
                z.add(owner, "A", 300, "192.0.2.%d" % (200 + i))
            names.append(owner)
            z.dnames.add(owner)
    # one RRset given two TTLs in the zone file (RFC 2181 5.2: served with the lowest)
    if seed % 3 == 2:
        z.add("mixttl." + origin, "A", 300, "192.0.2.61")
        z.extra_lines.append("mixttl.%s\t120\tIN\tA\t192.0.2.62" % origin)
        names.append("mixttl." + origin)
    # a CNAME chain and a loop in some zones
    if seed % 2:
        z.add("c1." + origin, "CNAME", 300, "c2." + origin)
        z.add("c2." + origin, "CNAME", 300, rng.choice(names))
    if seed % 5 == 4:
        z.add("l1." + origin, "CNAME", 300, "l2." + origin)
        z.add("l2." + origin, "CNAME", 300, "l1." + origin)
    # CNAME owners must hold nothing else (a name may have been given data and a CNAME)
    for (o, t) in list(z.rrsets):
        if t == "CNAME" and len(z.types_at(o)) > 1:
            del z.rrsets[(o, t)]
    return z


def all_names(zone_names, origin):
    """Owner names plus their empty non-terminal ancestors inside the zone."""
    out = set()
    for n in zone_names:
        cur = n
        while under(cur, origin):
            out.add(cur)
            if cur == origin:
                break
            cur = cur.split(".", 1)[1]
    return sorted(out)


def gen_queries(rng, origin, names, delegs, n, dnames=()):
    names = list(names)
    wild = [x for x in names if x.startswith("*.")]
    dnames = sorted(dnames)
    big = [x for x in names if x.startswith("big")]
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.06 and big:
            q = rng.choice(big)
        elif r < 0.45:
            q = rng.choice(names)
        elif r < 0.6:
            q = rng.choice(LABELS + ["zz", "q1"]) + "." + rng.choice(names)
        elif r < 0.7 and delegs:
            q = rng.choice(["", "h.", "a.b."]) + rng.choice(sorted(delegs))
        elif r < 0.8:
            q = "%s.%s" % (rng.choice(["nx", "zz", "www2", "q%d" % rng.randint(0, 9)]), origin)
        elif r < 0.85 and wild:
            q = rng.choice(wild)
        elif r < 0.9 and wild:
            q = rng.choice(["p", "p.q"]) + "." + rng.choice(wild)[2:]
        elif r < 0.95 and dnames:
            q = rng.choice(["", "a.", "www.", "p.q.", "occluded."]) + rng.choice(dnames)
        else:
            q = rng.choice(names)
        if rng.random() < 0.3:
            q = "".join(c.upper() if rng.random() < 0.5 else c for c in q)
        qtype = rng.choice(QTYPES)
        edns = rng.choice([1232, 1232, 1232, 4096, None, None, 512])
        do = edns is not None and rng.random() < 0.1
        qclass = dnswire.CLASS_IN if rng.random() < 0.95 else 255      # QCLASS *
        flags = rng.choice([0, 0, 0, 0x0100, 0x0100, 0x0010, 0x0020, 0x0110])  # RD, CD, AD
        out.append((q, qtype, edns, do, qclass, flags))
    return out


FIXTURE_NAMES = [
    "example.com.", "www.example.com.", "multi.example.com.", "alias.example.com.",
    "chain1.example.com.", "chain3.example.com.", "loop1.example.com.", "ext.example.com.",
    "dangling.example.com.", "tomx.example.com.", "mxhost.example.com.", "tochild.example.com.",
    "tosub.example.com.", "*.w.example.com.", "x.w.example.com.", "y.x.w.example.com.",
    "b.w.example.com.", "x.b.w.example.com.", "a.b.w.example.com.", "exact.w.example.com.",
    "w.example.com.", "foo.cn.example.com.", "c.ent.example.com.", "a.b.c.ent.example.com.",
    "sub.example.com.", "ns1.sub.example.com.", "x.sub.example.com.", "child.example.com.",
    "www.child.example.com.", "ns1.child.example.com.", "q.wc.child.example.com.",
    "nx.child.example.com.", "_sip._tcp.example.com.", "sipserver.example.com.",
    "ptr.example.com.", "hinfo.example.com.", "naptr.example.com.", "sshfp.example.com.",
    "_443._tcp.www.example.com.", "loc.example.com.", "caa.example.com.", "svcb.example.com.",
    "https.example.com.", "ds.example.com.", "unk.example.com.", "txt.example.com.",
    "escaped.example.com.", "medium.example.com.", "inc.example.com.",
    "host.inc.example.com.", "afterinc.example.com.", "x.y.deep.example.com.",
    "nothere.example.com.", "ns1.example.com.", "mail.example.com.",
]
FIXTURE_TYPES = QTYPES + ["HINFO", "NAPTR", "SSHFP", "TLSA", "LOC", "SVCB", "HTTPS", "TYPE65400"]


# ---------------------------------------------------------------------------------------
# comparison

def cname_target(rr):
    return name_text(read_name(rr.rdata, 0)[0]).lower()


def lowest_ttls(rrs):
    """Give every RRset in rrs the lowest TTL of its records (RFC 2181 5.2), in place;
    True when a TTL changed."""
    low = {}
    for rr in rrs:
        k = (rr.owner.lower(), rr.type)
        low[k] = min(low.get(k, rr.ttl), rr.ttl)
    changed = False
    for rr in rrs:
        k = (rr.owner.lower(), rr.type)
        if rr.ttl != low[k]:
            rr.ttl = low[k]
            changed = True
    return changed


def rrkeys(rrs):
    return {rr.key(casefold=True) for rr in rrs}


def fmt(rrs):
    return "\n".join("      %r" % rr for rr in rrs) or "      (none)"


class Differ:
    def __init__(self, r53d, nsd, zones, delegs):
        self.r53d, self.nsd = r53d, nsd
        self.zones = sorted(zones, key=len, reverse=True)   # lowercase names
        self.delegs = delegs                                  # lowercase delegation names
        self.truth_cache = {}
        self.ns_cache = {}
        self.allowed_count = {k: 0 for k in ALLOWED}
        self.compared = 0
        self.notes = {"r53d additional smaller than NSD's": 0, "both set TC": 0}
        self.examples = []

    def zone_of(self, name):
        name = name.lower()
        for z in self.zones:
            if under(name, z):
                return z
        return None

    def exchange(self, srv, wire):
        for _ in range(3):
            data = dnswire.udp_exchange(srv.port, wire, timeout=2.0)
            if data is not None:
                return dnswire.Message(data)
        return None

    def truth(self, owner, rtype):
        """NSD's RRs for (owner, type): its answer, or the glue of its referral."""
        key = (owner.lower(), rtype)
        if key not in self.truth_cache:
            m = dnswire.Message(dnswire.tcp_exchange(self.nsd.port, make_query(
                owner, rtype, edns=4096)))
            lowest_ttls(m.answer)
            lowest_ttls(m.additional)
            got = {rr.key(True) for rr in m.answer + m.additional
                   if rr.owner.lower() == key[0] and rr.type == rtype}
            self.truth_cache[key] = got
        return self.truth_cache[key]

    def apex_ns(self, zone):
        if zone not in self.ns_cache:
            m = dnswire.Message(dnswire.tcp_exchange(self.nsd.port,
                                                     make_query(zone, "NS", edns=4096)))
            self.ns_cache[zone] = rrkeys(r for r in m.answer if r.type == 2)
        return self.ns_cache[zone]

    def compare(self, qname, qtype, edns, do, qclass=dnswire.CLASS_IN, flags=0):
        """Returns a list of problems (empty: same, or only allowed differences)."""
        wire = make_query(qname, qtype, edns=edns, do=do, qclass=qclass, flags=flags)
        n = self.exchange(self.nsd, wire)
        r = self.exchange(self.r53d, wire)
        self.compared += 1
        if n is None:
            return []          # NSD dropped it: nothing to compare against
        if r is None:
            return ["r53d sent no reply"]
        probs = []
        used = set()
        qt = type_code(qtype)
        if any([lowest_ttls(n.answer), lowest_ttls(n.authority), lowest_ttls(n.additional)]):
            used.add("rrset-ttl")
        zone = self.zone_of(qname)

        n_cn = [rr for rr in n.answer if rr.type == 5]
        loop = False
        if n_cn:
            owners = {rr.owner.lower() for rr in n_cn}
            # a loop: NSD's chain ends with a CNAME pointing back into the chain
            loop = cname_target(n_cn[-1]) in owners and all(rr.type == 5 for rr in n.answer)
        # --- cname loop
        if loop and (r.rcode != n.rcode or rrkeys(r.answer) != rrkeys(n.answer)):
            if r.rcode_name not in ("NOERROR", "SERVFAIL"):
                probs.append("CNAME loop: rcode %s" % r.rcode_name)
            if not rrkeys(r.answer) <= rrkeys(n.answer):
                probs.append("CNAME loop: answer not part of the loop")
            if r.aa != n.aa and r.rcode_name == "NOERROR":
                probs.append("CNAME loop: AA %s vs NSD %s" % (r.aa, n.aa))
            self.allowed_count["cname-loop"] += 1
            return probs

        # --- chain stops at a zone boundary (r53d answer is a strict prefix of NSD's)
        boundary = False
        r_cn = [rr for rr in r.answer if rr.type == 5]
        if (qt != 5 and r_cn and rrkeys(r.answer) <= rrkeys(n.answer) and
                all(rr.type in (5, 39) for rr in r.answer)):
            last = cname_target(r_cn[-1])
            if last not in {rr.owner.lower() for rr in r_cn} and self.zone_of(last) != zone:
                boundary = True
        if boundary:
            used.add("cname-zone-boundary")
            if r.rcode_name != "NOERROR" or r.aa != (qclass != 255):
                probs.append("chain cut at zone boundary: want NOERROR/AA, got %s aa=%s" %
                             (r.rcode_name, r.aa))
        else:
            if r.rcode != n.rcode:
                probs.append("rcode %s, NSD %s" % (r.rcode_name, n.rcode_name))
            if r.aa != n.aa:
                probs.append("AA %s, NSD %s" % (r.aa, n.aa))
        if r.tc != n.tc:
            probs.append("TC %s, NSD %s" % (r.tc, n.tc))
        if (r.opt is None) != (edns is None):
            probs.append("OPT record %s in reply to a query %s EDNS" % (
                "present" if r.opt else "missing", "without" if edns is None else "with"))
        if r.qr is not True or r.id != n.id:
            probs.append("QR/id wrong")
        # every other header bit: opcode, RD, RA, Z, AD the same; CD copied (RFC 4035 3.1.6)
        rest = ~(0x8000 | 0x0400 | 0x0200 | 0x000F | 0x0010) & 0xFFFF
        if r.flags & rest != n.flags & rest:
            probs.append("header flags %04x, NSD %04x" % (r.flags, n.flags))
        if (r.flags ^ n.flags) & 0x0010:
            if bool(r.flags & 0x0010) != bool(flags & 0x0010):
                probs.append("CD bit not copied from the query")
            used.add("cd-bit")
        if r.opt is not None and n.opt is not None:
            # OPT: the same advertised size, extended rcode, version and DO bit (RFC 3225 3)
            if (r.opt.cls, r.opt.ttl) != (n.opt.cls, n.opt.ttl):
                probs.append("OPT class/ttl %d/%08x, NSD %d/%08x" % (
                    r.opt.cls, r.opt.ttl, n.opt.cls, n.opt.ttl))
        if r.tc or n.tc:
            self.notes["both set TC"] += r.tc and n.tc
            return probs + self.finish(used)

        # --- answer
        r_chain = [rr for rr in r.answer if rr.type in (5, 39)]
        n_chain = [rr for rr in n.answer if rr.type in (5, 39)]
        r_tail = [rr for rr in r.answer if rr.type not in (5, 39)]
        if (qt == 255 and r.rcode == 0 and n.rcode == 0 and r_tail and
                rrkeys(r_chain) == rrkeys(n_chain) and
                (not r_cn or all(rr.type in (5, 39) for rr in r.answer[:len(r_chain)]))):
            # one whole RRset at the name, after the same CNAME/DNAME chain as NSD's
            types = {rr.type for rr in r_tail}
            owners = {rr.owner.lower() for rr in r_tail}
            if len(types) != 1 or len(owners) != 1:
                probs.append("ANY over UDP: %d RRsets (want one)" % len(types))
            else:
                t = types.pop()
                truth = self.truth(owners.pop(), t)
                if rrkeys(r_tail) != truth:
                    probs.append("ANY: %s RRset not the whole RRset:\n%s" % (type_name(t),
                                                                            fmt(r_tail)))
                if rrkeys(r.answer) != rrkeys(n.answer):
                    used.add("any-rrset")
        elif boundary:
            pass
        elif rrkeys(r.answer) != rrkeys(n.answer):
            probs.append("answer differs:\n    r53d:\n%s\n    NSD:\n%s" % (fmt(r.answer),
                                                                          fmt(n.answer)))
        if r.answer and r.answer[0].owner.lower() == qname.lower() and \
                r.answer[0].owner != (qname if qname.endswith(".") else qname + "."):
            probs.append("answer owner case %s, qname %s" % (r.answer[0].owner, qname))
        if r_cn and r.answer[0].type != 39 and r.answer[0].owner.lower() != qname.lower():
            probs.append("first answer RR is not owned by the qname")

        # --- authority
        ra, na = rrkeys(r.authority), rrkeys(n.authority)
        if ra != na:
            positive = r.rcode == 0 and r.aa and r.answer
            own_ns = self.apex_ns(zone) if zone else set()
            if positive and ra == own_ns and (not na or na == own_ns or boundary or
                                              qt == 255 or loop):
                used.add("authority-ns")
            elif boundary and qclass == 255 and not ra:
                pass    # QCLASS *: answer section only; NSD's is the referral it chased into
            else:
                probs.append("authority differs:\n    r53d:\n%s\n    NSD:\n%s" % (
                    fmt(r.authority), fmt(n.authority)))

        # --- additional: never an RR the answer section already holds (RFC 2181 9)
        dup = rrkeys(r.answer) & rrkeys(r.additional)
        if dup:
            probs.append("additional repeats answer records: %s" % sorted(
                "%s %s" % (k[0], k[1]) for k in dup))
        radd, nadd = rrkeys(r.additional), rrkeys(n.additional)
        if radd != nadd:
            bad = []
            for rr in r.additional:
                if rr.type not in (1, 28):
                    bad.append(rr)
                elif rr.key(True) not in self.truth(rr.owner, rr.type):
                    bad.append(rr)
            if bad:
                probs.append("additional holds data that is not in the zone:\n%s" % fmt(bad))
            referral = not n.aa and not n.answer and any(rr.type == 2 for rr in n.authority)
            if referral:
                cut = n.authority[0].owner.lower()
                need = {k for k in nadd if under(k[0], cut)}      # in-domain glue
                if not need <= radd:
                    probs.append("referral lacks in-domain glue:\n    r53d:\n%s\n    NSD:\n%s" % (
                        fmt(r.additional), fmt(n.additional)))
            if not bad:
                used.add("additional")
                if len(radd) < len(nadd):
                    self.notes["r53d additional smaller than NSD's"] += 1
                    if len(self.examples) < 6:
                        self.examples.append("%s %s: r53d lacks %s" % (
                            qname, qtype, sorted("%s %s" % (k[0], k[1]) for k in nadd - radd)))
        return probs + self.finish(used)

    def finish(self, used):
        for u in used:
            self.allowed_count[u] += 1
        return []


class NsdDiffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(harness.NSD, os.X_OK):
            raise unittest.SkipTest("NSD not installed at %s: differential test skipped" %
                                    harness.NSD)
        if not harness.R53D:
            raise unittest.SkipTest("no r53d binary")
        cls.gen = [gen_zone(s) for s in SEEDS]
        zones = list(harness.FIXTURE_ZONES) + [("tricky.test.", "tricky.test.zone")] + [
            (z.origin, "%s.zone" % z.origin[:-1]) for z in cls.gen]
        texts = {"%s.zone" % z.origin[:-1]: z.text() for z in cls.gen}
        cls.nsd = harness.Nsd(zones=zones, extra_files=harness.FIXTURE_EXTRA_FILES,
                              zone_texts=texts)
        cls.r53d = harness.R53d(zones=zones, extra_files=harness.FIXTURE_EXTRA_FILES,
                                zone_texts=texts)
        try:
            cls.nsd.start()
            cls.r53d.start()
        except Exception:
            cls.nsd.cleanup()
            cls.r53d.cleanup()
            raise
        delegs = {"sub.example.com."}
        for z in cls.gen:
            delegs |= {d.lower() for d in z.delegs}
        cls.differ = Differ(cls.r53d, cls.nsd, [z for z, _ in zones], delegs)

    @classmethod
    def tearDownClass(cls):
        d = cls.differ
        print("\nNSD differential: %d queries compared; allowed differences used:" % d.compared)
        for k, v in d.allowed_count.items():
            print("  %-20s %5d  -- %s" % (k, v, ALLOWED[k]))
        for k, v in d.notes.items():
            print("  note: %s: %d" % (k, v))
        for e in d.examples:
            print("    e.g. %s" % e)
        alive = cls.r53d.alive()
        rc = cls.r53d.stop()
        log = cls.r53d.log()
        cls.nsd.stop()
        cls.nsd.cleanup()
        cls.r53d.cleanup()
        if not alive or rc != 0:
            raise AssertionError("r53d exit %s (alive before stop: %s)\n%s" % (rc, alive, log))

    def run_queries(self, queries, label):
        failures = []
        for (q, t, edns, do, *more) in queries:
            probs = self.differ.compare(q, t, edns, do, *more)
            if probs:
                failures.append("%s %s edns=%s do=%s class/flags=%s:\n  - %s" % (
                    q, t, edns, do, more, "\n  - ".join(probs)))
        if failures:
            shown = failures[:25]
            self.fail("%s: %d of %d queries differ from NSD beyond what is allowed:\n\n%s%s" % (
                label, len(failures), len(queries), "\n\n".join(shown),
                "\n\n... and %d more" % (len(failures) - 25) if len(failures) > 25 else ""))

    def test_fixture_zones(self):
        rng = random.Random(7)
        queries = []
        for name in FIXTURE_NAMES:
            for t in FIXTURE_TYPES:
                if rng.random() < 0.45 or t == "A":
                    queries.append((name, t, rng.choice([1232, None]), False))
            mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(name))
            queries.append((mixed, "A", 1232, False))
            queries.append((mixed, rng.choice(QTYPES), None, False))
        self.run_queries(queries, "fixture zones")

    def test_tricky_zone(self):
        """Every owner of tricky.test.zone, asked for many types, with and without EDNS."""
        owners, cur = set(), "tricky.test."
        with open(os.path.join(harness.ZONES, "tricky.test.zone")) as f:
            for line in f:
                if line.startswith("$ORIGIN"):
                    cur = line.split()[1]
                if not line.strip() or line[0].isspace() or line[0] in ";$":
                    continue
                o = line.split()[0]
                owners.add(cur if o == "@" else o if o.endswith(".") else o + "." + cur)
        self.assertGreater(len(owners), 30)
        types = FIXTURE_TYPES + ["TYPE256", "TYPE108", "DNSKEY", "TYPE59", "TYPE17", "TYPE18", "TYPE12345",
                                 "TYPE12346", "DNAME"]
        extra = ["nx.tricky.test.", "q.w.tricky.test.", "www.dntodeleg.tricky.test.",
                 "dntodeleg.tricky.test."]
        queries = [(o, t, edns, False) for o in sorted(owners) + extra
                   for t in types for edns in (None, 1232)]
        self.run_queries(queries, "tricky.test")

    def test_random_zones(self):
        for z in self.gen:
            with self.subTest(zone=z.origin):
                rng = random.Random(z.origin)
                names = all_names({o.lower() for o in z.owners}, z.origin)
                qs = gen_queries(rng, z.origin, names, z.delegs, NQUERIES, z.dnames)
                self.run_queries(qs, "zone %s (seed %s)" % (z.origin, z.origin[1:-6]))

    def test_reply_sizes_without_edns(self):
        for name in ("example.com.", "medium.example.com.", "_sip._tcp.example.com."):
            for t in ("ANY", "TXT", "SRV", "NS"):
                wire = make_query(name, t)
                data = dnswire.udp_exchange(self.r53d.port, wire)
                self.assertIsNotNone(data)
                self.assertLessEqual(len(data), 512)


if __name__ == "__main__":
    unittest.main()
