#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen_zone.py -- a deterministic benchmark zone and a dnsperf query file.

    gen_zone.py --names 100000 --out DIR [--origin bench.test.] [--seed 1] [--queries 200000]

Writes DIR/<origin>zone (RFC 1035), DIR/queries.txt (dnsperf: "name TYPE" per line) and
DIR/meta.json (counts, the probe name used for load-time polling, and a stratified sample
of queries by class for answer checks). The same arguments always give the same bytes.

The zone (about N owner names with data, plus glue and a few wildcards/delegations):
  ~55% A (a sixth of them with 2-4 addresses), 18% A+AAAA, 5% AAAA only,
  5% MX (+A, targets are in-zone mail hosts), 5% TXT (+A), 1% SRV (+A),
  8% CNAME (7 in 8 to an in-zone A name, 1 in 8 to an out-of-zone name),
  N/1000 delegations (two NS each, with glue), N/10000 wildcards (at least 4),
  and about a tenth of the names one level down (so the zone has empty non-terminals).

The query mix (issue 3: mostly existing names, some NXDOMAIN, some other types):
  80% positive (each name asked for the type it has: A, AAAA, MX, TXT, SRV, or A for a
      CNAME, which the server follows inside the zone),
   8% NXDOMAIN (random names that do not exist, some below existing names),
   8% NODATA (existing names asked for a type they do not have),
   2% wildcard matches, 2% referrals (names below a delegation).
"""
import argparse
import json
import os
import random
import sys

PREFIXES = ["www", "api", "app", "web", "cdn", "db", "srv", "host", "node", "edge",
            "img", "auth", "shop", "mail", "vpn", "git", "ci", "log", "mq", "cache"]

MIX = (("pos", 80), ("nx", 8), ("nodata", 8), ("wild", 2), ("ref", 2))


def v4(rng):
    return "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


def v6(rng):
    return "2001:db8:%x:%x::%x" % (rng.randrange(65536), rng.randrange(65536),
                                    rng.randrange(1, 65536))


def generate(names, origin, seed, n_queries, outdir):
    rng = random.Random(seed)
    origin = origin.lower().rstrip(".") + "."
    zpath = os.path.join(outdir, origin + "zone")
    nodes = []  # (relative owner, kind) for every name with data
    lines = []
    w = lines.append
    w("$ORIGIN %s" % origin)
    w("$TTL 300")
    w("@ 3600 IN SOA ns1.%s hostmaster.%s 2024010101 7200 900 1209600 300" % (origin, origin))
    w("@ 3600 IN NS ns1")
    w("@ 3600 IN NS ns2")
    w("@ IN MX 10 mx0")
    w('@ IN TXT "v=spf1 mx -all"')
    w("@ IN A 192.0.2.1")
    w("ns1 3600 IN A 192.0.2.53")
    w("ns1 3600 IN AAAA 2001:db8::53")
    w("ns2 3600 IN A 198.51.100.53")
    w("ns2 3600 IN AAAA 2001:db8:1::53")
    mail_hosts = []
    for k in range(max(4, names // 20000)):
        w("mx%d IN A %s" % (k, v4(rng)))
        mail_hosts.append("mx%d" % k)
        nodes.append(("mx%d" % k, "A"))

    n_deleg = max(4, names // 1000)
    n_wild = max(4, names // 10000)
    delegs = []
    for k in range(n_deleg):
        d = "sub%d" % k
        delegs.append(d)
        w("%s 86400 IN NS ns1.%s" % (d, d))
        w("%s 86400 IN NS ns2.%s" % (d, d))
        w("ns1.%s 86400 IN A %s" % (d, v4(rng)))
        w("ns2.%s 86400 IN A %s" % (d, v4(rng)))
    wilds = []
    for k in range(n_wild):
        p = "wild%d" % k
        wilds.append(p)
        w("*.%s IN A %s" % (p, v4(rng)))
        w("*.%s IN TXT \"wildcard %d\"" % (p, k))

    a_names = []  # in-zone CNAME targets: names that own an A record
    n_plain = names - len(nodes)
    for i in range(n_plain):
        owner = "%s%d" % (PREFIXES[rng.randrange(len(PREFIXES))], i)
        if rng.random() < 0.10:
            owner += ".svc%d" % rng.randrange(max(1, names // 200))
        r = rng.random() * 100
        if r < 55:
            cnt = rng.choice((2, 2, 3, 4)) if rng.random() < 1 / 6 else 1
            for _ in range(cnt):
                w("%s IN A %s" % (owner, v4(rng)))
            kind = "A"
        elif r < 73:
            w("%s IN A %s" % (owner, v4(rng)))
            w("%s IN AAAA %s" % (owner, v6(rng)))
            kind = "A+AAAA"
        elif r < 78:
            w("%s IN AAAA %s" % (owner, v6(rng)))
            kind = "AAAA"
        elif r < 83:
            w("%s IN A %s" % (owner, v4(rng)))
            w("%s IN MX 10 %s" % (owner, mail_hosts[rng.randrange(len(mail_hosts))]))
            w("%s IN MX 20 %s" % (owner, mail_hosts[rng.randrange(len(mail_hosts))]))
            kind = "MX"
        elif r < 88:
            w("%s IN A %s" % (owner, v4(rng)))
            w('%s IN TXT "site-verification=%016x"' % (owner, rng.getrandbits(64)))
            kind = "TXT"
        elif r < 89:
            w("%s IN A %s" % (owner, v4(rng)))
            w("_http._tcp.%s IN SRV 10 5 80 %s" % (owner, owner))
            nodes.append(("_http._tcp." + owner, "SRV"))
            kind = "A"
        else:
            if a_names and rng.random() < 7 / 8:
                w("%s IN CNAME %s" % (owner, a_names[rng.randrange(len(a_names))]))
            else:
                w("%s IN CNAME edge%d.cdn.example.net." % (owner, rng.randrange(1000)))
            kind = "CNAME"
        if kind in ("A", "A+AAAA", "MX", "TXT"):
            a_names.append(owner)
        nodes.append((owner, kind))
    w("zzlast IN A 192.0.2.254")  # the probe: last record in the file
    nodes.append(("zzlast", "A"))

    with open(zpath + ".tmp", "w") as f:
        f.write("\n".join(lines))
        f.write("\n")
    os.replace(zpath + ".tmp", zpath)

    # Queries. Other types for NODATA: the ones the name does not have.
    nodata_types = {"A": ("AAAA", "MX", "TXT"), "A+AAAA": ("MX", "TXT"), "AAAA": ("A", "MX"),
                    "MX": ("AAAA", "TXT"), "TXT": ("AAAA", "MX"), "SRV": ("A", "TXT")}
    pos_type = {"A": ("A",), "A+AAAA": ("A", "AAAA"), "AAAA": ("AAAA",), "MX": ("MX", "A"),
                "TXT": ("TXT", "A"), "SRV": ("SRV",), "CNAME": ("A",)}
    qrng = random.Random(seed * 7919 + 1)
    classes = [c for c, n in MIX for _ in range(n)]
    qlines = []
    samples = {c: [] for c, _ in MIX}

    def fq(rel):
        return rel + "." + origin

    for q in range(n_queries):
        c = classes[qrng.randrange(len(classes))]
        if c == "pos":
            owner, kind = nodes[qrng.randrange(len(nodes))]
            t = qrng.choice(pos_type[kind])
            line = "%s %s" % (fq(owner), t)
        elif c == "nx":
            if qrng.random() < 0.5:
                line = "nx%x.%s A" % (qrng.getrandbits(40), origin)
            else:
                owner, _ = nodes[qrng.randrange(len(nodes))]
                line = "x%x.%s A" % (qrng.getrandbits(24), fq(owner))
        elif c == "nodata":
            while True:
                owner, kind = nodes[qrng.randrange(len(nodes))]
                if kind in nodata_types:
                    break
            line = "%s %s" % (fq(owner), qrng.choice(nodata_types[kind]))
        elif c == "wild":
            line = "h%x.%s %s" % (qrng.getrandbits(32), fq(wilds[qrng.randrange(len(wilds))]),
                                  qrng.choice(("A", "A", "A", "TXT")))
        else:
            line = "www.%s A" % fq(delegs[qrng.randrange(len(delegs))])
        qlines.append(line)
        if len(samples[c]) < 40:
            samples[c].append(line)
    qpath = os.path.join(outdir, "queries.txt")
    with open(qpath + ".tmp", "w") as f:
        f.write("\n".join(qlines))
        f.write("\n")
    os.replace(qpath + ".tmp", qpath)

    meta = {"origin": origin, "names": names, "seed": seed, "zone_file": os.path.abspath(zpath),
            "queries_file": os.path.abspath(qpath), "queries": n_queries,
            "names_with_data": len(nodes),
            "records": sum(1 for l in lines if not l.startswith("$")),
            "delegations": n_deleg, "wildcards": n_wild,
            "probe": fq("zzlast"), "mix_percent": dict(MIX), "samples": samples}
    with open(os.path.join(outdir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--names", type=int, default=100000)
    ap.add_argument("--origin", default="bench.test.")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=200000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.names < 1000:
        sys.exit("gen_zone.py: --names must be at least 1000")
    os.makedirs(a.out, exist_ok=True)
    m = generate(a.names, a.origin, a.seed, a.queries, a.out)
    print("%s: %d records, %d queries" % (m["zone_file"], m["records"], m["queries"]))


if __name__ == "__main__":
    main()
