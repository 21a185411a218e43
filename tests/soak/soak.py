#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""soak.py -- reloads and health flaps under load (issue 11), against the real r53d.

While dnsperf loads the DNS workers at the highest rate the machine holds (measured first,
or --rate), this script
  (a) reloads the configuration --reloads times (default 100), alternating SIGHUP and
      POST /reload, and alternating good configurations (two data versions, A and B) with
      broken ones: bad JSON, a bad record set, a missing zone file;
  (b) flaps real TCP endpoints (started here, on 127.0.0.1) every second, so the health
      checks of the failover, weighted and multivalue record sets go up and down;
  (c) checks a steady sample of answers with its own raw-socket client: every answer must
      be NOERROR+AA with records, and all of them from one data version, the old one or the
      new one (queries sent after a reload was confirmed: the new one only; a broken reload
      changes nothing), never a mix, never an empty NOERROR for a name with records;
  (d) samples r53d's RSS every second.
Both zones are signed through the Route 53 API before the load (CreateKeySigningKey with a
KeyManagementServiceArn r53d has no file for, so it generates the key, then
EnableHostedZoneDNSSEC): a second dnsperf sends the same queries with DO, and every other
round of the checker asks with DO; a DO answer must carry an RRSIG by the zone's ZSK for
each RRset of its answer (and for a denial: the SOA and a compact NSEC, signed), besides
the checks above. A sample of the DO answers is verified by ldns (python3-ldns,
ldns_verify_rrsig_keylist through tests/integration/test_dnssec.py --ldns-verify) against
the DNSKEY RRset that GetDNSSEC's DS anchors.

Pass: both dnsperfs and the checker lost no query, every checked answer valid, every
broken file rejected with its reason (POST /reload's reply, the log for SIGHUP) and the
generation unchanged, every good one served, every sampled signature verified by ldns, the
DNSKEY RRsets unchanged at the end, RSS after warm-up within --rss-tolerance (5 %), r53d
exits 0 on SIGTERM with no sanitizer report in its log. Prints the figures and
"N passed, N failed" last (as the integration tests do). Exit status 0 on pass.

    tests/soak/soak.py --r53d build/server/r53d                # the 60-second form
    tests/soak/soak.py --r53d build/server/r53d --seconds 600  # the 10-minute form

Only loopback addresses; every wait bounded; only processes started here are stopped, by
their PID.
"""

import argparse
import http.client
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import dnswire  # noqa: E402
from dnssec_util import key_tag  # noqa: E402
from harness import free_port  # noqa: E402

ZONE = "soak.test."        # zone-file data: two versions, followed on reload
PZONE = "flap.test."       # record sets with routing policies and health checks
SANITIZER = re.compile(r"WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|"
                       r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:")
TRANSITION = re.compile(r"check (\S+) \([^)]*\): (healthy|unhealthy) -> (healthy|unhealthy)")
RELOADED = re.compile(r"reloaded \S+: generation (\d+)")
RELOAD_FAILED = re.compile(r"reload failed, still serving generation (\d+): (.*)$", re.M)
SYS_PYTHON = "/usr/bin/python3"     # Debian's: the one python3-ldns is for
LDNS_VERIFIER = os.path.join(HERE, "..", "integration", "test_dnssec.py")
T_SOA, T_RRSIG, T_NSEC, T_DNSKEY, T_NXNAME = 6, 46, 47, 48, 128
XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"

# ---------------------------------------------------------------------------------------
# The data. soak.test comes from a zone file, which r53d follows on reload (README, "Files
# and the API together"): the good reloads alternate its two versions, A and B, which
# share every name but no value, so an answer tells which version it came from and a mix
# is visible. flap.test holds the routing-policy record sets; they are imported once (the
# store's copy is served afterwards) and their health checks flap all the time.

VERSIONS = {
    "A": {"serial": 1001, "net": "192.0.2."},
    "B": {"serial": 2002, "net": "198.51.100."},
}
PLAIN = {"www": [31, 32, 33], "api": [41]}
PNET = "203.0.113."
# name -> (policy, members); a member: (SetIdentifier, health check Id, host octet, arg)
GROUPS = {
    "fo": ("failover", [("fo-p", "hc-fo-p", 1, "PRIMARY"), ("fo-s", "hc-fo-s", 2, "SECONDARY")]),
    "w": ("weighted", [("w-a", "hc-w-a", 11, 3), ("w-b", "hc-w-b", 12, 1),
                       ("w-z", "hc-w-z", 13, 0)]),
    "mv": ("multivalue", [("mv-%d" % i, "hc-mv-%d" % i, 20 + i, None) for i in range(1, 5)]),
}
CHECKS = sorted({m[1] for _, ms in GROUPS.values() for m in ms})
QUERIES = [("fo", PZONE, "A"), ("w", PZONE, "A"), ("mv", PZONE, "A"), ("www", ZONE, "A"),
           ("api", ZONE, "A"), ("", ZONE, "SOA"), ("nothing-here", ZONE, "A"),
           ("fo", PZONE, "A"), ("mv", PZONE, "A"), ("w", PZONE, "A")]


def values(ver, host_octets):
    return {VERSIONS[ver]["net"] + str(h) for h in host_octets}


def zone_text(ver, bad_value=False):
    v = VERSIONS[ver]
    lines = ["$ORIGIN %s" % ZONE, "$TTL 60",
             "@ IN SOA ns1 hostmaster %d 7200 900 1209600 60" % v["serial"],
             "@ IN NS ns1", "ns1 IN A 127.0.0.1"]
    for name, hosts in PLAIN.items():
        lines += ["%s IN A %s" % (name, a) for a in sorted(values(ver, hosts))]
    if bad_value:
        lines.append("broken IN A %s300" % v["net"])
    return "\n".join(lines) + "\n"


def flap_zone_text():
    return "\n".join(["$ORIGIN %s" % PZONE, "$TTL 60",
                      "@ IN SOA ns1 hostmaster 1 7200 900 1209600 60",
                      "@ IN NS ns1", "ns1 IN A 127.0.0.1"]) + "\n"


def record_sets(zone=PZONE, bad=None):
    out = []
    for name, (policy, members) in GROUPS.items():
        for set_id, hc, host, arg in members:
            rs = {"Name": "%s.%s" % (name, zone), "Type": "A", "SetIdentifier": set_id,
                  "TTL": 60, "ResourceRecords": [{"Value": PNET + str(host)}],
                  "HealthCheckId": hc}
            if policy == "failover":
                rs["Failover"] = arg
            elif policy == "weighted":
                rs["Weight"] = arg
            else:
                rs["MultiValueAnswer"] = True
            out.append(rs)
    if bad == "weight":
        out[2]["Weight"] = 256                       # w-a: Weight is 0..255
    elif bad == "hc":
        out[0]["HealthCheckId"] = "hc-nobody-defined"
    return {"ResourceRecordSets": out}


def health_checks(ports):
    return {"HealthChecks": [{
        "Id": hc, "CallerReference": "soak-" + hc,
        "HealthCheckConfig": {"IPAddress": "127.0.0.1", "Port": ports[hc], "Type": "TCP",
                              "RequestInterval": 1, "FailureThreshold": 1},
        "HealthCheckVersion": 1} for hc in CHECKS]}


def check_answer(label, zone, qtype, m):
    """(version or None, error or None) for one reply. The version is that of soak.test's
    data the answer carries ("A" or "B"); None for names whose data does not change."""
    if label == "nothing-here":
        ok = m.rcode == 3 and m.aa and not m.answer
        return None, None if ok else "want NXDOMAIN with no answer"
    if m.rcode != 0 or not m.aa:
        return None, "rcode %s, aa %s" % (m.rcode_name, m.aa)
    if not m.answer:
        return None, "empty NOERROR"
    if qtype == "SOA":
        soa = [rr for rr in m.answer if rr.type == 6]
        serial = struct.unpack("!I", soa[0].rdata[-20:-16])[0] if len(soa) == 1 else None
        for v, d in VERSIONS.items():
            if serial == d["serial"]:
                return v, None
        return None, "SOA serial %s belongs to no version" % serial
    got = {socket.inet_ntop(socket.AF_INET, rr.rdata) for rr in m.answer if rr.type == 1}
    if len(got) != len(m.answer):
        return None, "records other than A"
    if zone == ZONE:
        vs = [v for v in VERSIONS if got == values(v, PLAIN[label])]
        if len(vs) == 1:
            return vs[0], None
        mixed = {v for v, d in VERSIONS.items() for a in got if a.startswith(d["net"])}
        return None, ("records of both versions" if len(mixed) > 1 else
                      "not the whole RRset of one version")
    policy, members = GROUPS[label]
    allv = {PNET + str(mb[2]) for mb in members}
    if not got <= allv:
        return None, "values outside the record sets"
    if policy in ("failover", "weighted") and len(got) != 1:
        return None, "%s answers one value, got %d" % (policy, len(got))
    return None, None


def rrsig_fields(rdata):
    """RRSIG RDATA (RFC 4034 3.1) -> (type covered, labels, original TTL, key tag, signer)."""
    covered, _, labels, ottl, _, _, tag = struct.unpack("!HBBIIIH", rdata[:18])
    signer, _ = dnswire.read_name(rdata, 18)
    return covered, labels, ottl, tag, dnswire.name_text(signer).lower()


def nsec_types(rdata):
    """The types of an NSEC's bitmap, and its next name (labels)."""
    nxt, off = dnswire.read_name(rdata, 0)
    types = set()
    while off + 2 <= len(rdata):
        win, ln = rdata[off], rdata[off + 1]
        for i, byte in enumerate(rdata[off + 2:off + 2 + ln]):
            for b in range(8):
                if byte & (0x80 >> b):
                    types.add(win * 256 + i * 8 + b)
        off += 2 + ln
    return types, nxt


class Unsigned:
    """A DO reply as check_answer sees it: the same rcode and AA, no RRSIG in the answer."""

    def __init__(self, m, rcode):
        self.rcode, self.aa = rcode, m.aa
        self.rcode_name = dnswire.RCODE_NAMES.get(rcode, str(rcode))
        self.answer = [rr for rr in m.answer if rr.type != T_RRSIG]


def signature_error(section, zone, zsk):
    """None when every RRset of section (answer or authority records: the zone has no
    delegation, so every RRset there is signed, the apex NS too) carries exactly one
    RRSIG by the zone's ZSK (tag zsk) whose fields fit it; else what is wrong."""
    sets, sigs = {}, {}
    for rr in section:
        key = rr.owner.lower()
        if rr.type == T_RRSIG:
            covered, labels, ottl, tag, signer = rrsig_fields(rr.rdata)
            sigs.setdefault((key, covered), []).append((rr.ttl, labels, ottl, tag, signer))
        else:
            sets.setdefault((key, rr.type), []).append(rr)
    for (owner, t), rrs in sets.items():
        got = sigs.pop((owner, t), [])
        what = "%s %s" % (owner, dnswire.type_name(t))
        if len(got) != 1:
            return "%d RRSIGs over %s" % (len(got), what)
        ttl, labels, ottl, tag, signer = got[0]
        if signer != zone or tag != zsk:
            return "RRSIG over %s by %s tag %d, want %s tag %d" % (what, signer, tag, zone, zsk)
        if labels != len(rrs[0].name) or ottl != rrs[0].ttl or ttl != rrs[0].ttl:
            return "RRSIG over %s: labels %d, TTL %d, original TTL %d for a TTL %d" % (
                what, labels, ttl, ottl, rrs[0].ttl)
    if sigs:
        return "RRSIG without its RRset: %r" % sorted(sigs)
    return None


def check_do_answer(label, zone, qtype, m, zsk):
    """check_answer for a query with DO to a signed zone (zsk: the tag of its ZSK): DO
    echoed, signatures as signature_error wants, and for the name that does not exist the
    compact denial (RFC 9824: NOERROR, the SOA and an NSEC at the name with NXNAME, both
    signed); then check_answer on the records without their RRSIGs."""
    if m.opt is None or not m.opt.ttl & 0x8000:
        return None, "DO not echoed"
    if m.tc:
        return None, "truncated"
    err = signature_error(m.answer, zone, zsk) or signature_error(m.authority, zone, zsk)
    if err is not None:
        return None, err
    rcode = m.rcode
    if label == "nothing-here":
        name = (label + "." + zone).lower()
        nsec = [rr for rr in m.authority if rr.type == T_NSEC]
        soa = [rr for rr in m.authority if rr.type == T_SOA]
        if m.rcode != 0:
            return None, "rcode %s for a denial with DO (no CO): want NOERROR" % m.rcode_name
        if len(nsec) != 1 or nsec[0].owner.lower() != name or len(soa) != 1:
            return None, "want one NSEC at %s and the SOA" % name
        types, _ = nsec_types(nsec[0].rdata)
        if types != {T_RRSIG, T_NSEC, T_NXNAME}:
            return None, "NSEC types %s, want RRSIG NSEC NXNAME" % sorted(types)
        rcode = 3       # what check_answer expects of the name without DO
    return check_answer(label, zone, qtype, Unsigned(m, rcode))


# ---------------------------------------------------------------------------------------
# Endpoints: TCP listeners on 127.0.0.1 that go up (listening, accept and close) and down
# (socket closed: connection refused) on a schedule, all from one thread.

class Flapper(threading.Thread):
    def __init__(self, names, period, seed):
        super().__init__(daemon=True, name="flapper")
        self.names = names
        self.period = period
        self.rng = random.Random(seed)
        self.ports = {}
        self.socks = {}
        self.sel = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.flips = 0
        self.downs = 0
        for n in names:
            s = self._listen(0)
            self.ports[n] = s.getsockname()[1]
            self._up(n, s)

    @staticmethod
    def _listen(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        s.setblocking(False)
        return s

    def _up(self, n, s=None):
        if n in self.socks:
            return True
        try:
            s = s or self._listen(self.ports[n])
        except OSError:
            return False        # the port lingers: try at the next tick
        self.socks[n] = s
        self.sel.register(s, selectors.EVENT_READ, n)
        return True

    def _down(self, n):
        s = self.socks.pop(n, None)
        if s is not None:
            self.sel.unregister(s)
            s.close()

    def run(self):
        next_flip = time.monotonic() + self.period
        try:
            while not self.stop.is_set():
                for key, _ in self.sel.select(timeout=0.05):
                    try:
                        c, _ = key.fileobj.accept()
                        c.close()
                    except OSError:
                        pass
                if time.monotonic() < next_flip:
                    continue
                next_flip += self.period
                # every second: each endpoint flips with probability 1/2, and at least one
                # does; all-down and all-up combinations of a group come up too
                flip = [n for n in self.names if self.rng.random() < 0.5]
                if not flip:
                    flip = [self.rng.choice(self.names)]
                for n in flip:
                    if n in self.socks:
                        self._down(n)
                        self.flips += 1
                        self.downs += 1
                    elif self._up(n):
                        self.flips += 1
        finally:
            for n in list(self.socks):
                self._down(n)
            self.sel.close()

    def up_count(self):
        return len(self.socks)


# ---------------------------------------------------------------------------------------
# The reload driver's view of what may be served: the confirmed version, and while a good
# reload is in flight the one it brings. Versions only move forward; an answer is valid if
# its version was allowed when the query was sent or when the reply came back.

class Served:
    def __init__(self, ver):
        self.lock = threading.Lock()
        self.seq = 0
        self.confirmed = ver
        self.pending = None
        self.history = {0: frozenset([ver])}

    def _set(self, confirmed, pending):
        with self.lock:
            self.seq += 1
            self.confirmed, self.pending = confirmed, pending
            self.history[self.seq] = frozenset(x for x in (confirmed, pending) if x)

    def begin(self, new):
        self._set(self.confirmed, new)

    def end(self, served):
        self._set(served, None)

    def now(self):
        with self.lock:
            return self.seq

    def allowed(self, s0, s1):
        with self.lock:
            out = set()
            for s in range(s0, s1 + 1):
                out |= self.history[s]
            return out


class Forcer(threading.Thread):
    """Optional (--force-rate): operator overrides through POST /healthchecks/ID/force, as
    fast as asked, on top of the endpoints' flaps: random checks forced healthy, unhealthy
    or given back to their probes (auto)."""

    def __init__(self, admin_port, rate, seed):
        super().__init__(daemon=True, name="forcer")
        self.admin_port = admin_port
        self.rate = rate
        self.rng = random.Random(seed + 1)
        self.stop = threading.Event()
        self.flips = 0
        self.errors = []

    def run(self):
        c = None
        gap = 1.0 / self.rate
        nxt = time.monotonic()
        while not self.stop.is_set():
            cid = self.rng.choice(CHECKS)
            mode = self.rng.choice(("healthy", "unhealthy", "unhealthy", "auto"))
            try:
                if c is None:
                    c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=30)
                c.request("POST", "/healthchecks/%s/force" % cid, body=mode)
                r = c.getresponse()
                r.read()
                if r.status != 200 and len(self.errors) < 5:
                    self.errors.append((cid, mode, r.status))
                self.flips += 1
            except (OSError, http.client.HTTPException) as e:
                if len(self.errors) < 5:
                    self.errors.append((cid, mode, repr(e)))
                c = None
            nxt += gap
            delay = nxt - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            elif delay < -1.0:
                nxt = time.monotonic()
        if c is not None:
            c.close()


class Checker(threading.Thread):
    """Pipelined UDP client: QUERIES round robin at `rate` per second, at most `depth`
    outstanding; a reply that does not come within `timeout` is lost. zsk ({zone: ZSK
    tag}, the zones signed): every other round asks with DO (EDNS 1232) and checks the
    signatures (check_do_answer); every `sample_every`-th DO reply is kept for ldns."""

    SAMPLE_MAX = 300     # DO replies kept per zone for ldns

    def __init__(self, port, served, rate, timeout, zsk=None, depth=16, sample_every=7):
        super().__init__(daemon=True, name="checker")
        self.port = port
        self.served = served
        self.rate = rate
        self.timeout = timeout
        self.depth = depth
        self.stop = threading.Event()
        self.checked = 0
        self.by_version = {}
        self.empty_noerror = 0
        self.lost = 0
        self.bad = []
        self.nbad = 0
        self.after_confirm = 0   # answers whose query left after a reload was confirmed
        self.zsk = zsk
        self.do_checked = 0
        self.sample_every = sample_every
        self.samples = {}        # zone -> [reply bytes] (DO replies for ldns)

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", self.port))
        s.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ)
        out = {}     # id -> (label, zone, qtype, sent at, served seq at send, DO)
        i = 0
        qid = random.randrange(65536)
        gap = 1.0 / self.rate
        next_send = time.monotonic()
        try:
            while not self.stop.is_set() or out:
                now = time.monotonic()
                if self.stop.is_set() and now - max((v[3] for v in out.values()),
                                                    default=0) > self.timeout:
                    break
                while (not self.stop.is_set() and now >= next_send and
                       len(out) < self.depth):
                    label, zone, qtype = QUERIES[i % len(QUERIES)]
                    do = self.zsk is not None and (i // len(QUERIES)) % 2 == 1
                    i += 1
                    qid = (qid + 1) & 0xFFFF
                    while qid in out:
                        qid = (qid + 1) & 0xFFFF
                    name = (label + "." if label else "") + zone
                    s.send(dnswire.make_query(name, qtype, qid=qid, edns=1232 if do else None,
                                              do=do))
                    out[qid] = (label, zone, qtype, now, self.served.now(), do)
                    next_send += gap
                    if next_send < now - 1.0:
                        next_send = now    # fell behind: do not burst to catch up
                for _ in sel.select(timeout=0.005):
                    while True:
                        try:
                            data = s.recv(65535)
                        except BlockingIOError:
                            break
                        self._reply(data, out)
                now = time.monotonic()
                for k in [k for k, v in out.items() if now - v[3] > self.timeout]:
                    del out[k]
                    self.lost += 1
        finally:
            sel.close()
            s.close()

    def _reply(self, data, out):
        try:
            m = dnswire.Message(data)
        except Exception as e:   # a malformed reply is a failure, not a crash
            self._fail("?", "malformed reply: %s" % e)
            return
        q = out.pop(m.id, None)
        if q is None:
            return
        label, zone, qtype, _, seq0, do = q
        seq1 = self.served.now()
        what = "%s%s %s%s" % (label + "." if label else "", zone, qtype, " DO" if do else "")
        self.checked += 1
        if m.rcode == 0 and not m.answer and label != "nothing-here":
            self.empty_noerror += 1
        if do:
            self.do_checked += 1
            ver, err = check_do_answer(label, zone, qtype, m, self.zsk[zone])
            kept = self.samples.setdefault(zone, [])
            if self.do_checked % self.sample_every == 0 and len(kept) < self.SAMPLE_MAX:
                kept.append(data)
        else:
            ver, err = check_answer(label, zone, qtype, m)
        if err:
            self._fail(what, err, m)
            return
        if ver is None:
            return
        self.by_version[ver] = self.by_version.get(ver, 0) + 1
        allowed = self.served.allowed(seq0, seq1)
        if len(allowed) == 1:
            self.after_confirm += 1
        if ver not in allowed:
            self._fail(what, "version %s served while only %s may be" % (ver, sorted(allowed)),
                       m)

    def _fail(self, what, err, m=None):
        self.nbad += 1
        if len(self.bad) < 20:
            self.bad.append((what, err, repr(m) if m is not None else ""))


# ---------------------------------------------------------------------------------------

def admin(port, method, path, body=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def ldns_verify(ds, dnskey, replies, timeout):
    """Hand DO replies of one zone to ldns (test_dnssec.ldns_main under /usr/bin/python3):
    the DNSKEY RRset (the reply dnskey) must be signed by the KSK that ds names, and every
    RRset of answer and authority signed with a signature ldns_verify_rrsig_keylist accepts.
    Returns (ok, detail)."""
    req = {"ds": ds, "dnskey": dnskey.hex(), "replies": [r.hex() for r in replies]}
    try:
        p = subprocess.run([SYS_PYTHON, LDNS_VERIFIER, "--ldns-verify"],
                           input=json.dumps(req).encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "ldns verifier: %r" % e
    if p.returncode != 0:
        return False, "ldns verifier exit %d: %s" % (p.returncode, p.stderr.decode()[-1500:])
    out = json.loads(p.stdout.decode())
    if out["anchor"] != "ok":
        return False, "DNSKEY RRset vs the DS: %s" % out["anchor"]
    bad, sets = [], 0
    for r in out["replies"]:
        if not r["rrsets"]:
            bad.append("no RRset in %r" % r["sections"])
        for rs in r["rrsets"]:
            sets += 1
            if rs["sig"] != "ok":
                bad.append("%s %s %s: %s" % (rs["section"], rs["owner"], rs["type"], rs["sig"]))
    if bad or not replies:
        return False, "%d replies, %d bad RRsets: %r" % (len(replies), len(bad), bad[:5])
    return True, "%d replies, %d RRsets, every signature verified" % (len(replies), sets)


def socket_inodes(pid):
    """The inodes of the sockets process pid has open."""
    out = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


def udp_drops(owners, seen):
    """Note in seen ({inode: (owner, drops)}) the datagrams the kernel dropped (a full
    receive buffer) on the UDP sockets of the processes owners ({pid: name}), from
    /proc/net/udp. Sampled every second: a client's last second may be missed."""
    inodes = {}
    for pid, name in owners.items():
        for ino in socket_inodes(pid):
            inodes[ino] = name
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[9] in inodes:
                    seen[fields[9]] = (inodes[fields[9]], int(fields[-1]))
    except (OSError, ValueError, IndexError):
        pass


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Soak:
    def __init__(self, a):
        self.a = a
        self.dir = tempfile.mkdtemp(prefix="r53d-soak-")
        self.port = free_port()
        self.admin_port = free_port()
        self.proc = None
        self.logf = None
        self.log_path = os.path.join(self.dir, "r53d.log")
        self.results = []         # (name, ok, detail)
        self.figures = []
        self.ds = {}              # zone -> DS text (GetDNSSEC) once signed
        self.keys = {}            # zone -> (DNSKEY reply bytes, {tag: flags})
        self.drops = {}           # UDP socket inode -> (owner, kernel drops)
        self.owners = {}          # pid -> name, the processes whose UDP drops are noted

    # -- files ---------------------------------------------------------------------------

    def conf(self, extra_zone=None):
        zones = [{"HostedZone": {"Id": "/hostedzone/ZSOAK", "Name": ZONE},
                  "zone_file": "soak.zone"},
                 {"HostedZone": {"Id": "/hostedzone/ZFLAP", "Name": PZONE},
                  "zone_file": "flap.zone", "record_sets": "flap.json"}]
        if extra_zone:
            zones.append(extra_zone)
        return {"listen": ["127.0.0.1:%d" % self.port], "workers": self.a.workers,
                "admin": {"listen": "127.0.0.1:%d" % self.admin_port},
                "health": {"threads": 1, "checkers": 3},
                "health_checks": "checks.json", "hosted_zones": zones}

    def write_files(self, ports):
        write_atomic(os.path.join(self.dir, "soak.zone"), zone_text("A"))
        write_atomic(os.path.join(self.dir, "flap.zone"), flap_zone_text())
        write_atomic(os.path.join(self.dir, "flap.json"), json.dumps(record_sets(), indent=1))
        write_atomic(os.path.join(self.dir, "checks.json"),
                     json.dumps(health_checks(ports), indent=1))

    def good(self, ver):
        """A good reload: the configuration as it was, soak.test's zone file at version ver."""
        write_atomic(os.path.join(self.dir, "r53d.json"), json.dumps(self.conf(), indent=1))
        write_atomic(os.path.join(self.dir, "soak.zone"), zone_text(ver))

    def broken(self, k, ver):
        """Write the k-th broken configuration (soak.test's data stays at version ver).
        Returns (kind, regex its rejection reason must match)."""
        path = os.path.join(self.dir, "r53d.json")
        zpath = os.path.join(self.dir, "soak.zone")
        kind = k % 6
        name = "new%d.test." % k
        new_zone = {"HostedZone": {"Id": "/hostedzone/ZNEW%d" % k, "Name": name},
                    "zone_file": "new%d.zone" % k, "record_sets": "new%d.json" % k}
        if kind == 0:
            write_atomic(path, json.dumps(self.conf(), indent=1)[:-40])
            return "bad JSON (configuration)", r"r53d\.json:\d+"
        if kind == 1:
            write_atomic(zpath, zone_text(ver, bad_value=True))
            write_atomic(path, json.dumps(self.conf(), indent=1))
            return "bad record in the zone file", r"soak\.zone"
        if kind == 2:
            os.unlink(zpath)
            write_atomic(path, json.dumps(self.conf(), indent=1))
            return "missing zone file (followed)", r"soak\.zone"
        write_atomic(os.path.join(self.dir, "new%d.zone" % k),
                     flap_zone_text().replace(PZONE, name))
        bad = {3: "weight", 4: "hc", 5: None}[kind]
        write_atomic(os.path.join(self.dir, "new%d.json" % k),
                     json.dumps(record_sets(name, bad=bad), indent=1))
        if kind == 5:
            new_zone["zone_file"] = "missing-%d.zone" % k
        write_atomic(path, json.dumps(self.conf(new_zone), indent=1))
        if kind == 3:
            return "bad record set: Weight 256 (new zone)", r"(?i)weight"
        if kind == 4:
            return "bad record set: unknown HealthCheckId (new zone)", r"hc-nobody-defined"
        return "missing zone file (new zone)", r"missing-%d\.zone" % k

    def growth_then_failure(self, ports):
        """A reload that needs a larger health table (80 more check Ids than the 64-slot
        table holds) and then fails (a new zone's file is missing): the snapshot still
        served must keep following health. Forces hc-fo-p and hc-fo-s through the admin
        API and asks fo.flap.test. Returns (ok, detail)."""
        extra = health_checks(ports)
        closed = free_port()
        for i in range(80):
            extra["HealthChecks"].append({
                "Id": "hc-extra-%d" % i, "CallerReference": "soak-extra-%d" % i,
                "HealthCheckConfig": {"IPAddress": "127.0.0.1", "Port": closed, "Type": "TCP",
                                      "RequestInterval": 30, "FailureThreshold": 3}})
        checks = os.path.join(self.dir, "checks.json")
        with open(checks) as f:
            normal = f.read()
        write_atomic(checks, json.dumps(extra, indent=1))
        write_atomic(os.path.join(self.dir, "r53d.json"), json.dumps(self.conf(
            {"HostedZone": {"Id": "/hostedzone/ZGROW", "Name": "grow.test."},
             "zone_file": "missing-grow.zone"}), indent=1))
        code, body = admin(self.admin_port, "POST", "/reload", "", timeout=30 * self.a.slow)
        write_atomic(checks, normal)
        write_atomic(os.path.join(self.dir, "r53d.json"), json.dumps(self.conf(), indent=1))
        if code != 409 or "missing-grow.zone" not in body:
            return False, "the growing reload was not rejected: %d %s" % (code, body[:200])
        seen = []
        try:
            for p_mode, s_mode, want in (("unhealthy", "healthy", "203.0.113.2"),
                                         ("healthy", "unhealthy", "203.0.113.1"),
                                         ("unhealthy", "healthy", "203.0.113.2")):
                for cid, mode in (("hc-fo-p", p_mode), ("hc-fo-s", s_mode)):
                    c, b = admin(self.admin_port, "POST", "/healthchecks/%s/force" % cid, mode)
                    if c != 200:
                        return False, "force %s %s: %d %s" % (cid, mode, c, b[:200])
                m = dnswire.query(self.port, "fo." + PZONE, "A", timeout=2 * self.a.slow)
                got = sorted(socket.inet_ntop(socket.AF_INET, rr.rdata)
                             for rr in (m.answer if m else []) if rr.type == 1)
                seen.append((p_mode, got))
                if got != [want]:
                    return False, "hc-fo-p forced %s: fo answers %r, want %s (%r)" % (
                        p_mode, got, want, seen)
        finally:
            for cid in ("hc-fo-p", "hc-fo-s"):
                admin(self.admin_port, "POST", "/healthchecks/%s/force" % cid, "auto")
        return True, "fo followed 3 forced flips after the failed reload: %r" % seen

    # -- r53d ----------------------------------------------------------------------------

    def start(self):
        env = dict(os.environ)
        # ASan's quarantine holds freed memory back (256 MB by default) and its filling
        # looks like growth; a small one keeps the RSS figure meaningful in a sanitizer
        # build too (use-after-free is still caught).
        asan = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=16"
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.a.r53d, "-c", os.path.join(self.dir, "r53d.json")],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 20 * self.a.slow
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("r53d exited (%s):\n%s" % (self.proc.returncode,
                                                              self.log()[-4000:]))
            m = dnswire.query(self.port, ZONE, "SOA", timeout=0.5)
            if m is not None and m.rcode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("r53d did not answer within %.0fs:\n%s" %
                           (20 * self.a.slow, self.log()[-4000:]))

    def stop(self):
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                rc = self.proc.wait(30 * self.a.slow)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                rc = None
        self.logf.close()
        return rc

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sign_zones(self):
        """Sign both zones through the API: CreateKeySigningKey (an ARN without a key file
        in the configuration: r53d generates the key) and EnableHostedZoneDNSSEC; wait
        (bounded) until both serve their DNSKEY RRset. Returns {zone: DS text}."""
        out = {}
        for zid, zone in (("ZSOAK", ZONE), ("ZFLAP", PZONE)):
            arn = "arn:aws:kms:us-east-1:111122223333:key/50a1c0de-0000-4000-8000-%012d" % (
                len(out) + 1)
            body = ('<CreateKeySigningKeyRequest xmlns="%s"><CallerReference>soak-%s-%d'
                    '</CallerReference><HostedZoneId>%s</HostedZoneId>'
                    '<KeyManagementServiceArn>%s</KeyManagementServiceArn><Name>soak_%s</Name>'
                    '<Status>ACTIVE</Status></CreateKeySigningKeyRequest>' %
                    (XMLNS, zid, os.getpid(), zid, arn, zid.lower()))
            code, text = admin(self.admin_port, "POST", "/2013-04-01/keysigningkey", body)
            if code != 201:
                raise RuntimeError("CreateKeySigningKey %s: %d %s" % (zid, code, text[:500]))
            code, text = admin(self.admin_port, "POST",
                               "/2013-04-01/hostedzone/%s/enable-dnssec" % zid, "")
            if code != 200:
                raise RuntimeError("EnableHostedZoneDNSSEC %s: %d %s" % (zid, code, text[:500]))
            code, text = admin(self.admin_port, "GET", "/2013-04-01/hostedzone/%s/dnssec" % zid)
            m = re.findall(r"<DSRecord>([^<]+)</DSRecord>", text)
            if code != 200 or "<ServeSignature>SIGNING</ServeSignature>" not in text or \
                    len(m) != 1:
                raise RuntimeError("GetDNSSEC %s: %d %s" % (zid, code, text[:500]))
            out[zone] = "%s IN DS %s" % (zone, m[0])
        deadline = time.monotonic() + 20 * self.a.slow
        while time.monotonic() < deadline:
            if all(self.dnskeys(z)[1] for z in out):
                return out
            time.sleep(0.1)
        raise RuntimeError("the DNSKEY RRsets were not served 20 s after "
                           "EnableHostedZoneDNSSEC")

    def counters(self):
        """Sums over labels of a few r53d counters from GET /metrics ({} when it fails)."""
        want = ("r53d_queries_total", "r53d_responses_total", "r53d_dropped_total",
                "r53d_udp_send_errors_total", "r53d_udp_receive_errors_total",
                "r53d_truncated_total", "r53d_dnssec_signed_answers_total",
                "r53d_dnssec_signatures_total", "r53d_dnssec_signing_failures_total")
        try:
            code, body = admin(self.admin_port, "GET", "/metrics")
        except OSError:
            return {}
        out = {}
        for line in body.splitlines() if code == 200 else []:
            m = re.match(r"^([a-z0-9_]+)(\{[^}]*\})?\s+([0-9.e+]+)$", line)
            if m and m.group(1) in want:
                out[m.group(1)] = out.get(m.group(1), 0) + int(float(m.group(3)))
        return out

    def dnskeys(self, zone):
        """(the reply to zone DNSKEY with DO over TCP, {tag: flags}) ({} when none)."""
        try:
            data = dnswire.tcp_exchange(self.port, dnswire.make_query(
                zone, "DNSKEY", edns=1232, do=True), timeout=5 * self.a.slow)
            m = dnswire.Message(data)
        except (OSError, EOFError, dnswire.ParseError):
            return None, {}
        return data, {key_tag(rr.rdata): struct.unpack("!H", rr.rdata[:2])[0]
                      for rr in m.answer if rr.type == T_DNSKEY}

    def generation(self):
        code, body = admin(self.admin_port, "GET", "/zones")
        if code != 200:
            raise RuntimeError("GET /zones: %d %s" % (code, body))
        return json.loads(body)["generation"]

    # -- load ----------------------------------------------------------------------------

    def dnsperf_file(self):
        path = os.path.join(self.dir, "queries.txt")
        with open(path, "w") as f:
            for label, zone, qtype in QUERIES:
                f.write("%s%s %s\n" % (label + "." if label else "", zone, qtype))
        return path

    def dnsperf(self, seconds, rate=None, clients=4, do=False):
        """dnsperf with 1 MiB socket buffers: with the default ones, the DO answers (about
        three times larger) overflowed dnsperf's own receive buffer on a busy machine (66
        drops in /proc/net/udp on dnsperf -D's socket, none on r53d's, all of its "lost")."""
        argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(self.port), "-d", self.dnsperf_file(),
                "-l", str(seconds), "-c", str(clients), "-t", str(self.a.query_timeout),
                "-q", "200", "-b", "1024"] + (["-D"] if do else [])
        if rate:
            argv += ["-Q", str(rate)]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)

    @staticmethod
    def dnsperf_result(p, timeout):
        out, _ = p.communicate(timeout=timeout)
        text = out.decode("utf-8", "replace")

        def num(pat, cast=int):
            m = re.search(pat, text)
            return cast(m.group(1)) if m else None
        return {"sent": num(r"Queries sent:\s+(\d+)"),
                "completed": num(r"Queries completed:\s+(\d+)"),
                "lost": num(r"Queries lost:\s+(\d+)"),
                "qps": num(r"Queries per second:\s+([\d.]+)", float),
                "noerror": num(r"NOERROR (\d+)"), "text": text}

    def calibrate(self):
        """The rate the machine holds now: two dnsperfs unthrottled for a few seconds at
        once, one without DO and one with (-D); the soak runs each at --rate-fraction of
        what it did (the rest is for reloads, probes and the checker); --min-rate and
        --max-rate bound the sum. Returns (rate without DO, rate with DO)."""
        p = self.dnsperf(self.a.calibrate_seconds)
        pd = self.dnsperf(self.a.calibrate_seconds, do=True)
        r = self.dnsperf_result(p, self.a.calibrate_seconds + 30)
        rd = self.dnsperf_result(pd, self.a.calibrate_seconds + 30)
        if not r["qps"] or not rd["qps"]:
            raise RuntimeError("dnsperf calibration failed:\n" + r["text"] + rd["text"])
        total = max(self.a.min_rate, int((r["qps"] + rd["qps"]) * self.a.rate_fraction))
        if self.a.max_rate:
            total = min(total, self.a.max_rate)
        rate = max(1, int(total * r["qps"] / (r["qps"] + rd["qps"])))
        rate_do = max(1, total - rate)
        self.figures.append("calibration: dnsperf unthrottled %.0f qps + dnsperf -D %.0f qps "
                            "for %ds; soak rates %d + %d qps (%.0f %%)" % (
                                r["qps"], rd["qps"], self.a.calibrate_seconds, rate, rate_do,
                                100 * self.a.rate_fraction))
        return rate, rate_do

    # -- the run -------------------------------------------------------------------------

    def check(self, name, ok, detail=""):
        self.results.append((name, bool(ok), detail))

    def run(self):
        a = self.a
        flapper = Flapper(CHECKS, a.flap_period, a.seed)
        self.write_files({hc: flapper.ports[hc] for hc in CHECKS})
        write_atomic(os.path.join(self.dir, "r53d.json"), json.dumps(self.conf(), indent=1))
        self.start()
        # DNSSEC: both zones signed before anything else (--unsigned: not signed, which the
        # DO checks must then report: a test of the checks)
        self.ds = {} if a.unsigned else self.sign_zones()
        self.keys = {z: self.dnskeys(z) for z in (ZONE, PZONE)}
        zsk = {z: ([t for t, f in k[1].items() if f == 256] or [0])[0]
               for z, k in self.keys.items()}
        self.figures.append("DNSSEC: %s" % "; ".join(
            "%s DNSKEY tags %s (ZSK %d)" % (z, sorted(self.keys[z][1]), zsk[z])
            for z in (ZONE, PZONE)))
        gen0 = self.generation()   # 1, plus one per API change that signed the zones
        ok, detail = self.growth_then_failure({hc: flapper.ports[hc] for hc in CHECKS})
        self.check("health: answers follow health after a failed reload that grew the "
                   "health table", ok, detail)
        flapper.start()
        forcer = Forcer(self.admin_port, a.force_rate, a.seed) if a.force_rate else None
        rate, rate_do = (a.rate - a.rate // 2, a.rate // 2) if a.rate else self.calibrate()
        served = Served("A")
        checker = Checker(self.port, served, a.check_rate, a.query_timeout, zsk=zsk)
        rss = []                 # (t since start, KiB)
        perf = self.dnsperf(a.seconds, rate)
        perf_do = self.dnsperf(a.seconds, rate_do, do=True)
        self.owners = {self.proc.pid: "r53d", perf.pid: "dnsperf", perf_do.pid: "dnsperf -D"}
        t0 = time.monotonic()
        checker.start()
        if forcer is not None:
            forcer.start()
        reloads = []             # (kind, how, ok, detail)
        gen = self.generation()
        if gen != gen0:
            self.check("the growing reload changed nothing", False, "generation %d, was %d" %
                       (gen, gen0))
        version = "A"
        k_broken = 0
        next_rss = t0
        interval = a.seconds * 0.9 / max(1, a.reloads)
        try:
            for i in range(a.reloads):
                when = t0 + (i + 1) * interval
                while time.monotonic() < when:
                    if time.monotonic() >= next_rss:
                        rss.append((time.monotonic() - t0, rss_kib(self.proc.pid)))
                        udp_drops(self.owners, self.drops)
                        next_rss += 1.0
                    time.sleep(min(0.05, max(0.0, when - time.monotonic())))
                if self.proc.poll() is not None:
                    raise RuntimeError("r53d died (exit %s)" % self.proc.returncode)
                how = "SIGHUP" if i % 4 in (0, 1) else "POST /reload"
                if i % 2 == 0:
                    new = "B" if version == "A" else "A"
                    served.begin(new)
                    self.good(new)
                    ok, detail = self.reload(how, gen, expect_ok=True)
                    if ok:
                        gen += 1
                        version = new
                    served.end(version)
                    reloads.append(("good " + new, how, ok, detail))
                else:
                    kind, reason = self.broken(k_broken, version)
                    k_broken += 1
                    ok, detail = self.reload(how, gen, expect_ok=False, reason=reason)
                    reloads.append((kind, how, ok, detail))
            while time.monotonic() < t0 + a.seconds:
                if time.monotonic() >= next_rss:
                    rss.append((time.monotonic() - t0, rss_kib(self.proc.pid)))
                    udp_drops(self.owners, self.drops)
                    next_rss += 1.0
                time.sleep(0.05)
        finally:
            checker.stop.set()
            checker.join(10 + a.query_timeout)
            flapper.stop.set()
            flapper.join(5)
            if forcer is not None:
                forcer.stop.set()
                forcer.join(35)
            perf_r = self.dnsperf_result(perf, a.seconds + 60 + a.query_timeout)
            perf_do_r = self.dnsperf_result(perf_do, a.seconds + 60 + a.query_timeout)
        # r53d's own counters: signing failures (SERVFAIL, which dnsperf counts as answered)
        # must be 0; drops and send errors tell where a lost query went
        self.metrics = self.counters()
        udp_drops(self.owners, self.drops)
        by = {}
        for name, d in self.drops.values():
            by[name] = by.get(name, 0) + d
        self.figures.append("kernel UDP drops (/proc/net/udp, full receive buffers): %s" %
                            ", ".join("%s %d" % kv for kv in sorted(by.items())))
        self.check("DNSSEC: no signing failure, signed answers counted",
                   self.metrics.get("r53d_dnssec_signing_failures_total") == 0 and
                   self.metrics.get("r53d_dnssec_signed_answers_total", 0) > 0,
                   repr({k: v for k, v in self.metrics.items() if "dnssec" in k}))
        self.figures.append("r53d: %s" % ", ".join(
            "%s %d" % (k[5:], v) for k, v in sorted(self.metrics.items())))
        # the keys at the end: those of the start (the reloads kept the signing as it was)
        end_keys = {z: self.dnskeys(z)[1] for z in (ZONE, PZONE)}
        self.check("DNSSEC: the same DNSKEY RRsets after %d reloads" % len(reloads),
                   all(end_keys[z] and end_keys[z] == self.keys[z][1] for z in end_keys),
                   "start %r, end %r" % ({z: k[1] for z, k in self.keys.items()}, end_keys))
        self.report((rate, rate_do), (perf_r, perf_do_r), checker, flapper, forcer, reloads,
                    rss)

    def reload(self, how, gen, expect_ok, reason=None):
        """Trigger one reload and wait until it is over. Returns (as expected?, detail)."""
        log_before = len(self.log())
        if how == "SIGHUP":
            os.kill(self.proc.pid, signal.SIGHUP)
            deadline = time.monotonic() + 30 * self.a.slow
            while time.monotonic() < deadline:
                tail = self.log()[log_before:]
                m = RELOADED.search(tail)
                f = RELOAD_FAILED.search(tail)
                if m or f:
                    break
                time.sleep(0.02)
            else:
                return False, "no reload outcome in the log"
            if expect_ok:
                if not m or int(m.group(1)) != gen + 1:
                    return False, "log: %s" % (f.group(0) if f else m.group(0))
                # confirmed: the snapshot is published (the line follows the swap)
                return self.generation() == gen + 1, "generation %d" % (gen + 1)
            if m or not re.search(reason, f.group(2)) or int(f.group(1)) != gen:
                return False, "log: %s" % (m.group(0) if m else f.group(0))
            return self.generation() == gen, f.group(2)
        code, body = admin(self.admin_port, "POST", "/reload", "", timeout=30 * self.a.slow)
        try:
            doc = json.loads(body)
        except ValueError:
            return False, "POST /reload: %d %r" % (code, body[:200])
        msg = doc.get("message", "") if code == 200 else doc.get("error", "")
        if expect_ok:
            return (code == 200 and self.generation() == gen + 1), "%d %s" % (code, msg)
        ok = code == 409 and re.search(reason, msg) is not None and self.generation() == gen
        return ok, "%d %s" % (code, msg)

    # -- verdict -------------------------------------------------------------------------

    def report(self, rates, perfs, checker, flapper, forcer, reloads, rss):
        a = self.a
        rc = self.stop()
        log = self.log()
        # dnsperf, without and with DO
        for name, rate, perf in zip(("dnsperf", "dnsperf -D"), rates, perfs):
            self.check("%s ran and lost nothing" % name,
                       perf["sent"] and perf["lost"] is not None and perf["lost"] <= a.max_lost,
                       "sent %s, completed %s, lost %s, %.0f qps" % (
                           perf["sent"], perf["completed"], perf["lost"], perf["qps"] or 0))
            self.figures.append("%s: %s queries sent at %d qps asked, %s completed, %s lost, "
                                "%.0f qps achieved" % (name, perf["sent"], rate,
                                                       perf["completed"], perf["lost"],
                                                       perf["qps"] or 0))
        # DO answers: checked as they came (signatures present, fields right), and a sample
        # verified by ldns against the DNSKEY RRset the DS anchors
        self.check("checker: about half the answers checked were DO answers, signed",
                   checker.do_checked >= checker.checked * 0.4,
                   "%d of %d" % (checker.do_checked, checker.checked))
        for zone in (ZONE, PZONE):
            replies = checker.samples.get(zone, [])
            if zone not in self.ds:
                ok, detail = False, "%s is not signed (--unsigned)" % zone
            else:
                ok, detail = ldns_verify(self.ds[zone], self.keys[zone][0], replies,
                                         120 * a.slow)
            self.check("ldns: sampled DO answers of %s verified" % zone,
                       ok and len(replies) >= 20, detail)
            self.figures.append("ldns: %s: %s" % (zone, detail))
        # checker
        self.check("checker: a steady sample of answers checked",
                   checker.checked >= a.check_rate * a.seconds * 0.3,
                   "%d checked" % checker.checked)
        self.check("checker: no query lost", checker.lost <= a.max_lost, "%d lost" % checker.lost)
        self.check("checker: every answer from the old or the new data, never a mix, never "
                   "an empty NOERROR", checker.nbad == 0,
                   "%d bad: %r" % (checker.nbad, checker.bad[:10]))
        self.check("checker: both versions were served", len(checker.by_version) == 2,
                   repr(checker.by_version))
        self.figures.append("checker: %d answers checked (%s; %d with DO), %d after a "
                            "confirmed reload checked against the new version only, %d bad, "
                            "%d lost" % (
                                checker.checked, ", ".join("%s %d" % kv for kv in
                                                          sorted(checker.by_version.items())),
                                checker.do_checked, checker.after_confirm, checker.nbad,
                                checker.lost))
        # reloads
        good = [r for r in reloads if r[0].startswith("good")]
        bad = [r for r in reloads if not r[0].startswith("good")]
        wrong = [r for r in reloads if not r[2]]
        self.check("reloads: %d done (%d good served, %d broken rejected with their reason)" %
                   (len(reloads), len(good), len(bad)),
                   len(reloads) == a.reloads and not wrong, "wrong: %r" % wrong[:5])
        kinds = sorted({r[0] for r in bad})
        self.figures.append("reloads: %d (%d SIGHUP, %d POST /reload): %d good, %d broken (%s)"
                            % (len(reloads), sum(r[1] == "SIGHUP" for r in reloads),
                               sum(r[1] != "SIGHUP" for r in reloads), len(good), len(bad),
                               "; ".join(kinds)))
        for kind in kinds:
            ex = [r for r in bad if r[0] == kind][0]
            self.figures.append("  rejected (%s, %s): %s" % (kind, ex[1], ex[3][:160]))
        # health flaps
        tr = TRANSITION.findall(log)
        self.check("health: endpoints flapped and checks followed",
                   flapper.flips >= a.seconds / a.flap_period * 0.5 and
                   len(tr) >= a.seconds / a.flap_period * 0.5,
                   "%d endpoint flips, %d transitions logged" % (flapper.flips, len(tr)))
        if forcer is not None:
            self.check("health: operator overrides accepted", not forcer.errors,
                       repr(forcer.errors))
            self.figures.append("health: %d operator overrides (POST /healthchecks/ID/force)"
                                % forcer.flips)
        self.figures.append("health: %d endpoint flips (%d down) on %d endpoints, %d check "
                            "transitions logged" % (flapper.flips, flapper.downs, len(CHECKS),
                                                    len(tr)))
        # RSS
        rss = [(t, v) for t, v in rss if v]
        warm = [v for t, v in rss if t >= a.warmup]
        if len(warm) >= 4:
            base = sorted(warm[:3])[1]
            top = max(warm)
            growth = (top - base) / base
            self.check("RSS flat within %.0f %% after %ds of warm-up" % (100 * a.rss_tolerance,
                                                                        a.warmup),
                       growth <= a.rss_tolerance,
                       "after warm-up %d KiB, max %d KiB (%+.1f %%)" % (base, top, 100 * growth))
            self.figures.append("RSS: %d KiB at start, %d KiB after warm-up, max %d KiB, end "
                                "%d KiB (%+.1f %%)" % (rss[0][1], base, top, warm[-1],
                                                       100 * growth))
            step = max(1, len(rss) // 12)
            self.figures.append("RSS every %ds (KiB): %s" % (step, " ".join(
                str(v) for _, v in rss[::step])))
        else:
            self.check("RSS sampled after warm-up", False, "%d samples" % len(warm))
        # the process
        m = SANITIZER.search(log)
        self.check("no sanitizer report in the log", m is None,
                   log[max(0, m.start() - 200):][:6000] if m else "")
        self.check("r53d exits 0 on SIGTERM", rc == 0, "exit %s" % rc)

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        if self.a.keep:
            print("kept " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--r53d", required=True)
    p.add_argument("--seconds", type=int, default=60, help="load duration (default 60)")
    p.add_argument("--reloads", type=int, default=100)
    p.add_argument("--rate", type=int, default=0,
                   help="dnsperf queries per second (default: measured, see --rate-fraction)")
    p.add_argument("--rate-fraction", type=float, default=0.5)
    p.add_argument("--min-rate", type=int, default=200)
    p.add_argument("--max-rate", type=int, default=0)
    p.add_argument("--calibrate-seconds", type=int, default=3)
    p.add_argument("--check-rate", type=int, default=400,
                   help="queries per second the answer checker sends and validates")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--flap-period", type=float, default=1.0,
                   help="seconds between two rounds of endpoint flips (default 1)")
    p.add_argument("--force-rate", type=float, default=0,
                   help="also force random checks through the admin API, N per second")
    p.add_argument("--warmup", type=int, default=0,
                   help="seconds before RSS must stay flat (default: a quarter of the run)")
    p.add_argument("--rss-tolerance", type=float, default=None,
                   help="allowed RSS growth after warm-up (default 0.05; 0.15 with --slow > 1: "
                        "a sanitizer's allocator grows in steps of its own)")
    p.add_argument("--max-lost", type=int, default=0)
    p.add_argument("--query-timeout", type=int, default=5)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--slow", type=float, default=1.0,
                   help="stretch every wait (sanitizer builds)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--unsigned", action="store_true",
                   help="do not sign the zones (the DO checks must then fail: a test of them)")
    a = p.parse_args()
    if a.rss_tolerance is None:
        a.rss_tolerance = 0.05 if a.slow <= 1 else 0.15
    if not a.warmup:
        a.warmup = max(10, a.seconds // 4)
    if shutil.which("dnsperf") is None:
        print("soak: dnsperf is not installed (contrib/deps.sh installs it)")
        print("0 passed, 1 failed")
        return 1
    s = Soak(a)
    try:
        s.run()
    except Exception as e:   # report, and clean up what we started
        s.check("the soak ran to its end", False, "%s: %s\n%s" % (type(e).__name__, e,
                                                                  s.log()[-3000:]))
    finally:
        s.cleanup()
    for f in s.figures:
        print("  " + f)
    for name, ok, detail in s.results:
        print("%s %s%s" % ("ok  " if ok else "FAIL", name, ("  [" + detail + "]") if detail and
                           (not ok or len(detail) < 200) else ""))
    npass = sum(ok for _, ok, _ in s.results)
    nfail = len(s.results) - npass
    print("%d passed, %d failed" % (npass, nfail), flush=True)
    return 0 if nfail == 0 and npass > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
