#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dnssec_bench.py -- what DNSSEC online signing costs r53d (issue 14), beside Knot DNS's
onlinesign module. See README.md ("DNSSEC"). Not run by CTest.

    tests/bench/dnssec_bench.py                    # all three parts (about 12 minutes)
    tests/bench/dnssec_bench.py --quick            # smoke run, about a minute
    tests/bench/dnssec_bench.py --only flood --seconds 20 --repeats 5
    tests/bench/dnssec_bench.py --only cache --cache-names 1000000 --cache-budget 8388608

do     DO queries of the static mix (gen_zone.py's 100,000-name bench.test. zone and query
       mix) and of the policy scenarios (scenarios/*: static, weighted, geo-ecs, latency,
       alias-failover), each on its own r53d with the zone signed through the Route 53 API
       (CreateKeySigningKey + EnableHostedZoneDNSSEC); the same queries without DO on the
       same server. Server CPU per answered query, DO / no DO, warm caches (a warm-up
       window of each first). Goal <= 1.15.
flood  Random names that do not exist, a fresh name for every query (a new file of unique
       names for every window: no signature or answer cache can help), with DO (each answer
       needs a fresh NSEC signature) and without, on r53d and on Knot DNS with
       mod-onlinesign on the same zone (its own generated key, its default NSEC "black
       lies"). Queries per CPU-second, CPU per query, DO / no DO and r53d / Knot.
cache  1M (--cache-names) distinct non-existent names with DO through one r53d whose
       dnssec.signature_cache is --cache-budget bytes: r53d_dnssec_signature_cache_bytes and
       _entries from /metrics and the process RSS growth, with the answer cache off (the
       growth is the signature cache's) and on (its own bound added).

Like bench.py: the servers run one worker pinned to CPU 0 (--server-cpu), dnsperf runs on
CPU 1 (--client-cpu), server CPU comes from /proc (utime+stime of every thread), windows are
interleaved (rotated per repeat) and figures are medians with their min-max. Answers are
checked before anything is measured (RRSIGs present, denial records, and a sample validated
by BIND's delv against the DNSKEY the server publishes); a server whose answers are wrong is
marked and the run exits 1. Only loopback; every process it starts is stopped by its PID.
"""
import argparse
import base64
import datetime
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (servers, /proc CPU, dnsperf, scenarios, metrics)
from bench import ADDR, fmt, log, med  # noqa: E402

GOAL_DO = 1.15
BUILD_DIR = "build-bench-dnssec"
XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"
KSK_ARN = "arn:aws:kms:us-east-1:111122223333:key/dnssec-bench"  # not in dnssec.kms_keys:
#                                                     r53d generates the KSK into the store
ACACHE_BOUND_MIB = 76  # the answer cache's reservation per worker: a 64 MiB ring, its index
#                        and the seen-once filter (issue 10's closing note, acache.h)
T_RRSIG, T_NSEC, T_DS, T_NS, T_DNSKEY, T_SOA = 46, 47, 43, 2, 48, 6


def die(msg):
    log("dnssec_bench: " + msg)
    sys.exit(2)


# ---------------------------------------------------------------------------- DNS

def ask(port, qname, qtype, do=True, opts=(), timeout=1.0):
    """One UDP query (EDNS when do or opts); {rcode, flags, rrs: [(section, owner, type,
    rdata bytes)]} or None. The rcode includes the OPT's extended bits."""
    qid = random.randrange(65536)
    edns = do or bool(opts)
    pkt = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1 if edns else 0) + \
        bench.wire_name(qname) + struct.pack(">HH", qtype, 1)
    if edns:
        rd = b"".join(struct.pack(">HH", c, len(v)) + v for c, v in opts)
        pkt += b"\0" + struct.pack(">HHIH", 41, 1232, 0x8000 if do else 0, len(rd)) + rd
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    r = None
    try:
        s.connect((ADDR, port))
        for _ in range(3):
            s.send(pkt)
            try:
                r = s.recv(65535)
            except socket.timeout:
                continue
            if len(r) >= 12 and r[:2] == pkt[:2]:
                break
            r = None
    except OSError:
        return None
    finally:
        s.close()
    if r is None:
        return None
    try:
        _, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", r[:12])
        off = 12
        for _ in range(qd):
            off = bench.read_name(r, off)[1] + 4
        out = {"rcode": flags & 0xF, "flags": flags, "rrs": []}
        for sec, cnt in (("an", an), ("ns", ns), ("ar", ar)):
            for _ in range(cnt):
                owner, off = bench.read_name(r, off)
                rtype, _, ttl, rdlen = struct.unpack(">HHIH", r[off:off + 10])
                rdata = r[off + 10:off + 10 + rdlen]
                off += 10 + rdlen
                if rtype == 41:
                    out["rcode"] |= (ttl >> 24) << 4
                    continue
                out["rrs"].append((sec, owner, rtype, rdata))
        return out
    except (IndexError, struct.error, ValueError):
        return None


def covered(res, sec):
    """{type covered by an RRSIG in section sec} and {types present there, RRSIG aside}."""
    sigs = {struct.unpack(">H", rd[:2])[0] for s, _, t, rd in res["rrs"]
            if s == sec and t == T_RRSIG and len(rd) >= 2}
    types = {t for s, _, t, _ in res["rrs"] if s == sec and t != T_RRSIG}
    return sigs, types


def check_signed(res, cls, qname, signed=True):
    """Why a response to a query of class cls (gen_zone's: pos, wild, nx, nodata, ref) is not
    what a signed zone gives ('' if it is). signed=False: the same query without DO, which
    must carry no RRSIG and no NSEC."""
    if res is None:
        return "no answer"
    if not signed:
        bad = [t for _, _, t, _ in res["rrs"] if t in (T_RRSIG, T_NSEC)]
        return "RRSIG/NSEC without DO" if bad else ""
    aa = bool(res["flags"] & 0x0400)
    if res["rcode"] != 0:
        return "rcode %d" % res["rcode"]
    sig_an, ty_an = covered(res, "an")
    sig_ns, ty_ns = covered(res, "ns")
    if cls in ("pos", "wild", "scenario"):
        if not aa or not ty_an:
            return "no authoritative answer"
        if ty_an - sig_an:
            return "answer types %s not signed (RRSIGs cover %s)" % (sorted(ty_an), sorted(sig_an))
        return ""
    if cls in ("nx", "nodata"):
        owners = {o for _, o, t, _ in res["rrs"] if t == T_NSEC}
        if ty_an:
            return "answer section not empty"
        if T_NSEC not in ty_ns or T_NSEC not in sig_ns:
            return "no signed NSEC in authority"
        if cls == "nx" and qname.lower().rstrip(".") + "." not in owners:
            return "NSEC owners %s, not the query name" % sorted(owners)
        return ""
    # referral: the NS set, and a signed DS or a signed NSEC proving there is none
    if aa or T_NS not in ty_ns:
        return "not a referral"
    if not ((T_DS in ty_ns and T_DS in sig_ns) or (T_NSEC in ty_ns and T_NSEC in sig_ns)):
        return "referral without a signed DS or NSEC"
    return ""


def trust_anchor(a, srv):
    """A delv trust-anchors file with the zone's KSKs as the server publishes them, or None."""
    origin = a.origin.rstrip(".") + "."
    res = ask(srv.port, origin, T_DNSKEY)
    if res is None:
        return None
    keys = []
    for sec, owner, t, rd in res["rrs"]:
        if sec == "an" and t == T_DNSKEY and len(rd) > 4:
            fl, proto, alg = struct.unpack(">HBB", rd[:4])
            if fl & 1:  # SEP: a KSK
                keys.append('%s static-key %d %d %d "%s";' % (
                    origin, fl, proto, alg, base64.b64encode(rd[4:]).decode()))
    if not keys:
        return None
    path = os.path.join(a.rundir, "%s-anchor.conf" % srv.label)
    with open(path, "w") as f:
        f.write("trust-anchors {\n  %s\n};\n" % "\n  ".join(keys))
    return path


def delv(a, srv, anchor, qname, qtype):
    """'' when BIND's delv validates the answer (positive or negative) from srv, else why."""
    if not a.delv:
        return ""
    cmd = [a.delv, "@" + ADDR, "-p", str(srv.port), "-a", anchor, "+root=" + a.origin,
           qname, qtype]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "delv timed out"
    text = out.stdout + out.stderr
    if "; fully validated" in text or "; negative response, fully validated" in text:
        return ""
    return "delv: " + " | ".join(text.strip().splitlines()[:2])


def check_mix(a, srv, meta, n_per_class, n_delv):
    """The static mix's sample (meta['samples']), with and without DO; n_delv per class also
    through delv. Returns [problems]."""
    rng = random.Random(a.seed)
    anchor = trust_anchor(a, srv)
    probs = [] if anchor else ["no DNSKEY with the SEP flag at the apex"]
    n = 0
    for cls, lines in sorted(meta["samples"].items()):
        pick = rng.sample(lines, min(n_per_class, len(lines)))
        for i, line in enumerate(pick):
            q, t = line.split()[:2]
            qt = bench_qtype(t)
            for do in (True, False):
                why = check_signed(ask(srv.port, q, qt, do=do), cls, q, signed=do)
                n += 1
                if why:
                    probs.append("%s %s%s: %s" % (q, t, " +DO" if do else "", why))
            if anchor and i < n_delv:
                # a referral is proved by the DS query at the cut (delv does not follow one)
                vq, vt = (q.split(".", 1)[1], "DS") if cls == "ref" else (q, t)
                why = delv(a, srv, anchor, vq, vt)
                n += 1
                if why:
                    probs.append("%s %s: %s" % (vq, vt, why))
    report(srv.label, n, probs)
    return probs


def check_scenario_do(a, srv, n=50):
    """The scenario's query as dnsperf sends it, with DO: one signed A answer; without DO the
    scenario's own check (bench.check_scenario). One answer through delv. [problems]."""
    sc = srv.scenario
    with open(sc["queries"]) as f:
        q, t = next(l.split() for l in f if l.strip() and not l.startswith(";"))[:2]
    _, _, opts = bench.edns_options(sc["dnsperf_args"])
    probs = list(bench.check_scenario(a, srv, n=100))
    for _ in range(n):
        res = ask(srv.port, q, bench_qtype(t), do=True, opts=opts)
        why = check_signed(res, "scenario", q)
        if not why and sum(1 for s, _, ty, _ in res["rrs"] if s == "an" and ty == 1) != 1:
            why = "not exactly one A record"
        if why:
            probs.append("%s %s +DO: %s" % (q, t, why))
    anchor = trust_anchor(a, srv)
    why = delv(a, srv, anchor, q, t) if anchor else "no DNSKEY with the SEP flag at the apex"
    if why:
        probs.append("%s %s: %s" % (q, t, why))
    report(srv.label, n + 101, probs)
    return probs


def check_flood(a, srv, signed):
    """Random non-existent names: with DO a signed NSEC at the name (NOERROR), without DO
    NXDOMAIN and nothing signed; a few through delv. [problems]."""
    probs, n = [], 0
    anchor = trust_anchor(a, srv) if signed else None
    if signed and not anchor:
        probs.append("no DNSKEY with the SEP flag at the apex")
    for k in range(40):
        q = "chk%s.%s" % (os.urandom(6).hex(), a.origin)
        why = check_signed(ask(srv.port, q, 1, do=True), "nx", q, signed=signed)
        if not why:
            res = ask(srv.port, q, 1, do=False)
            why = "no answer without DO" if res is None else \
                "" if res["rcode"] == 3 else "rcode %d without DO" % res["rcode"]
        n += 1
        if why:
            probs.append("%s A: %s" % (q, why))
        if anchor and k < 3:
            why = delv(a, srv, anchor, q, "A")
            n += 1
            if why:
                probs.append("%s A: %s" % (q, why))
    report(srv.label, n, probs)
    return probs


def report(label, n, probs):
    log("dnssec_bench: answer check %-22s %d checks, %d wrong" % (label, n, len(probs)))
    for p in probs[:8]:
        log("   WRONG " + p)


def bench_qtype(t):
    return {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28,
            "SRV": 33, "DS": 43, "DNSKEY": 48, "CAA": 257}[t.upper()]


# ---------------------------------------------------------------------------- r53d signing

def api(aport, method, path, body=None):
    c = http.client.HTTPConnection(ADDR, aport, timeout=30)
    try:
        c.request(method, path, body=body, headers={"Content-Type": "text/xml"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def enable_signing(srv, origin, limit=30.0):
    """CreateKeySigningKey (ACTIVE; an ARN the configuration does not map, so r53d generates
    the key) and EnableHostedZoneDNSSEC for the bench zone, over the Route 53 REST API on
    srv's admin listener; then wait until a DO query for the apex DNSKEY comes back signed.
    Returns '' or why it failed."""
    zid = bench.ZONE_ID.rsplit("/", 1)[1]
    body = ('<?xml version="1.0" encoding="UTF-8"?><CreateKeySigningKeyRequest xmlns="%s">'
            '<CallerReference>bench-%s</CallerReference><HostedZoneId>%s</HostedZoneId>'
            '<KeyManagementServiceArn>%s</KeyManagementServiceArn><Name>bench_ksk</Name>'
            '<Status>ACTIVE</Status></CreateKeySigningKeyRequest>'
            % (XMLNS, os.urandom(6).hex(), zid, KSK_ARN))
    try:
        st, data = api(srv.admin, "POST", "/2013-04-01/keysigningkey", body.encode())
        if st not in (200, 201):
            return "CreateKeySigningKey: HTTP %d %s" % (st, data[:300].decode("utf-8", "replace"))
        st, data = api(srv.admin, "POST", "/2013-04-01/hostedzone/%s/enable-dnssec" % zid, b"")
        if st != 200:
            return "EnableHostedZoneDNSSEC: HTTP %d %s" % (
                st, data[:300].decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException) as e:
        return "API: %s" % e
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        res = ask(srv.port, origin, T_DNSKEY)
        if res and T_DNSKEY in covered(res, "an")[0]:
            return ""
        time.sleep(0.05)
    return "the apex DNSKEY RRset is not served signed %.0f s after EnableHostedZoneDNSSEC" % limit


def start_r53d(a, label, meta, extra=None, sign=True, scenario=None):
    """One r53d (bench.r53d_server: one worker, pinned) with an admin listener, its zone
    signed (sign=True). Returns the Server, or None (logged)."""
    extra = dict(extra or {})
    aport = bench.free_port()
    extra["admin"] = {"listen": "%s:%d" % (ADDR, aport)}
    srv = bench.r53d_server(a, label, a.r53d_bin, meta, bench.free_port(), extra=extra)
    srv.admin = aport
    if scenario:
        srv.scenario = scenario
    srv.start()
    pn, pr = (meta["probe"], "192.0.2.254") if not (scenario and scenario.get("probe")) \
        else scenario["probe"]
    if srv.wait_ready(pn, pr, a.load_limit) is None:
        log("dnssec_bench: %s did not answer; left out. Its log:\n%s" % (label, srv.tail_log()))
        srv.stop()
        return None
    if sign:
        why = enable_signing(srv, meta["origin"])
        if why:
            log("dnssec_bench: %s: signing not enabled: %s; left out. Its log:\n%s"
                % (label, why, srv.tail_log(8)))
            srv.stop()
            return None
    srv.refresh_pids()
    log("dnssec_bench: %s ready on port %d%s" % (label, srv.port, ", zone signed" if sign else ""))
    return srv


def start_knot(a, label, meta):
    """Knot DNS (bench.knot_server: one UDP worker, pinned) with mod-onlinesign on the zone:
    its default policy, a key it generates into its KASP database under the run directory,
    NSEC black lies."""
    if not a.knotd:
        log("dnssec_bench: knotd not installed (contrib/deps.sh --bench); Knot left out")
        return None
    srv = bench.knot_server(a, label, meta, bench.free_port(),
                            zone_extra="    module: mod-onlinesign\n")
    srv.start()
    if srv.wait_ready(meta["probe"], "192.0.2.254", a.load_limit) is None:
        log("dnssec_bench: %s did not answer; left out. Its log:\n%s" % (label, srv.tail_log()))
        srv.stop()
        return None
    srv.refresh_pids()
    log("dnssec_bench: %s ready on port %d (mod-onlinesign)" % (label, srv.port))
    return srv


# ---------------------------------------------------------------------------- windows

WINDOW_METRICS = {"signatures": "r53d_dnssec_signatures_total",
                  "sig_hits": "r53d_dnssec_signature_cache_hits_total",
                  "signed": "r53d_dnssec_signed_answers_total",
                  "acache_hits": "r53d_answer_cache_hits_total",
                  "failures": "r53d_dnssec_signing_failures_total"}


def window(a, srv, qfile, xargs, tag):
    """One measured dnsperf window (bench.run_dnsperf); for r53d also what /metrics counted
    during it (read outside the CPU measurement): r["counted"]."""
    m0 = bench.metrics(srv.admin) if getattr(srv, "admin", None) else {}
    r = bench.run_dnsperf(a, srv, qfile, a.seconds, xargs, tag)
    if m0:
        m1 = bench.metrics(srv.admin)
        r["counted"] = {}
        for k, name in WINDOW_METRICS.items():
            x, y = metric_sum(m1, name), metric_sum(m0, name)
            r["counted"][k] = None if x is None or y is None else x - y
    log("dnssec_bench: %-34s %8.0f qps  %7.2f µs/q  busy %3.0f%%  lost %d  %s" % (
        tag, r.get("qps", 0), r["cpu_us_per_q"],
        100 * r["server_cpu_s"] / max(r.get("runtime", 1), 1e-9), r.get("lost", 0),
        " ".join("%s=%d" % kv for kv in sorted(r["rcodes"].items()))))
    return r


def phase_do(a, meta):
    """Part 1: per target (the static mix, each scenario) one signed r53d; DO and no-DO
    windows on it, interleaved; the ratio of CPU per answered query."""
    targets = []
    srv = start_r53d(a, "r53d-mix", meta)
    if srv:
        targets.append((srv, "static mix", meta["queries_file"], ["-e"], ["-D"]))
    if a.big_acache:
        # the same with an answer cache that holds the signed working set: signed responses
        # are ~4x larger and the mix's ~124k distinct answers overflow the default 64 MiB
        srv = start_r53d(a, "r53d-mix-bigcache", meta,
                         extra={"answer_cache_size": a.big_acache})
        if srv:
            targets.append((srv, "static mix, answer_cache_size %d MiB" % (a.big_acache >> 20),
                            meta["queries_file"], ["-e"], ["-D"]))
    for name in a.scenario:
        sc = bench.load_scenario(a, name)
        sc["config"] = bench.subst(sc["config"], {"@bench_zone_file": meta["zone_file"]})
        srv = start_r53d(a, "r53d-" + name, meta, extra=sc["config"], scenario=sc)
        if srv:
            xa = list(sc["dnsperf_args"])
            targets.append((srv, "scenario " + name, sc["queries"], xa, xa + ["-D"]))
    invalid = set()
    for srv, what, _, _, _ in targets:
        p = check_scenario_do(a, srv) if hasattr(srv, "scenario") else \
            check_mix(a, srv, meta, a.check_per_class, a.delv_per_class)
        if p:
            invalid.add(srv.label)
    # Warm-up: every server, both shapes, so that the signature cache and the answer cache
    # hold what the windows ask: the mix's file (200,000 queries) twice over (the answer
    # cache keeps a response the second time it is seen), within --warmup-limit seconds;
    # a scenario's one-line file for --warmup seconds.
    for srv, what, qf, no, do in targets:
        for xa, k in ((do, "do"), (no, "nodo")):
            if hasattr(srv, "scenario"):
                bench.run_dnsperf(a, srv, qf, a.warmup, xa, "%s-%s-warmup" % (srv.label, k))
            else:
                r = bench.run_dnsperf(a, srv, qf, a.warmup_limit, xa + ["-n", "2"],
                                      "%s-%s-warmup" % (srv.label, k))
                if r.get("completed", 0) < 2 * a.queries:
                    log("dnssec_bench: %s: the warm-up answered %d of the %d queries of two "
                        "passes (--warmup-limit %d s): caches not fully warm" % (
                            srv.label, r.get("completed", 0), 2 * a.queries, a.warmup_limit))
    runs = {(srv.label, k): [] for srv, *_ in targets for k in ("do", "nodo")}
    slots = [(t, k) for t in targets for k in ("nodo", "do")]
    for rep in range(a.repeats):
        order = slots[(2 * rep) % len(slots):] + slots[:(2 * rep) % len(slots)] if slots else []
        if rep % 2:
            order = order[::-1]  # DO first on every other repeat
        for (srv, what, qf, no, do), k in order:
            if not srv.alive():
                log("dnssec_bench: %s died; see %s" % (srv.label, srv.logpath))
                invalid.add(srv.label)
                continue
            runs[(srv.label, k)].append(window(a, srv, qf, do if k == "do" else no,
                                               "%s-%s-%d" % (srv.label, k, rep + 1)))
    m = {}
    for srv, *_ in targets:
        m[srv.label] = bench.metrics(srv.admin)
        srv.stop()
    rows = []
    for srv, what, *_ in targets:
        no, do = runs[(srv.label, "nodo")], runs[(srv.label, "do")]
        if not no or not do:
            continue
        rows.append({"label": srv.label, "what": what, "nodo": bench.summarise(no),
                     "do": bench.summarise(do), "nodo_runs": no, "do_runs": do,
                     "paired": [d["cpu_us_per_q"] / n["cpu_us_per_q"] for d, n in zip(do, no)],
                     "metrics": {k: v for k, v in m[srv.label].items()
                                 if k.startswith(("r53d_dnssec", "r53d_answer_cache"))}})
    return rows, invalid


def flood_file(a, n, tag):
    """n unique random names under the origin, one 'name A' per line (a new file each window:
    no name is ever asked twice in a run)."""
    path = os.path.join(a.rundir, "flood-%s.txt" % tag)
    suffix = ".%s A\n" % a.origin.rstrip(".")
    with open(path, "w") as f:
        left = n
        while left > 0:
            k = min(left, 200000)
            h = os.urandom(8 * k).hex()
            f.write("".join("fl" + h[i:i + 16] + suffix for i in range(0, 16 * k, 16)))
            left -= k
    return path


def phase_flood(a, meta):
    """Part 2: random non-existent names with and without DO, r53d and Knot onlinesign."""
    servers = []
    if "r53d" in a.flood_servers and a.r53d_bin:
        s = start_r53d(a, "r53d-flood", meta)
        if s:
            servers.append(s)
    if "knot" in a.flood_servers:
        s = start_knot(a, "knot-onlinesign", meta)
        if s:
            servers.append(s)
    invalid = set()
    for srv in servers:
        if check_flood(a, srv, True):
            invalid.add(srv.label)
    slots = [(s, k) for s in servers for k in ("nodo", "do")]
    # Warm-up, which also measures each slot's rate: each window's file then holds 1.5 times
    # as many names as that slot answered per second, times the window (and at least 50,000).
    rate = {}
    for srv, k in slots:
        qf = flood_file(a, max(50000, int(a.flood_qps_guess * a.warmup)),
                        "%s-%s-w" % (srv.label, k))
        r = bench.run_dnsperf(a, srv, qf, a.warmup, ["-D"] if k == "do" else ["-e"],
                              "%s-%s-warmup" % (srv.label, k))
        os.unlink(qf)
        rate[(srv.label, k)] = r.get("qps", 0) or a.flood_qps_guess
    runs = {(s.label, k): [] for s, k in slots}
    for rep in range(a.repeats):
        order = slots[rep % len(slots):] + slots[:rep % len(slots)] if slots else []
        for srv, k in order:
            if not srv.alive():
                log("dnssec_bench: %s died; see %s" % (srv.label, srv.logpath))
                invalid.add(srv.label)
                continue
            tag = "%s-%s-%d" % (srv.label, k, rep + 1)
            n = max(50000, int(1.5 * rate[(srv.label, k)] * a.seconds))
            qf = flood_file(a, n, tag)
            r = window(a, srv, qf, ["-D"] if k == "do" else ["-e"], tag)
            os.unlink(qf)
            r["names"] = n
            r["repeated"] = r.get("sent", 0) > n  # dnsperf went round the file
            runs[(srv.label, k)].append(r)
    m = {}
    for srv in servers:
        if srv.kind == "r53d":
            m[srv.label] = bench.metrics(srv.admin)
        srv.stop()
    rows = []
    for srv in servers:
        no, do = runs[(srv.label, "nodo")], runs[(srv.label, "do")]
        if not no or not do:
            continue
        rows.append({"label": srv.label, "kind": srv.kind, "nodo": bench.summarise(no),
                     "do": bench.summarise(do), "nodo_runs": no, "do_runs": do,
                     "paired": [d["cpu_us_per_q"] / n["cpu_us_per_q"] for d, n in zip(do, no)],
                     "repeated": any(r["repeated"] for r in no + do),
                     "metrics": {k: v for k, v in m.get(srv.label, {}).items()
                                 if k.startswith("r53d_dnssec")}})
    return rows, invalid


def metric_sum(m, name):
    """Sum of a metric over its label sets (one per worker, or none), or None."""
    vals = [v for k, v in m.items() if k == name or k.startswith(name + "{")]
    return sum(vals) if vals else None


def phase_cache(a, meta):
    """Part 3: --cache-names distinct non-existent names with DO through one r53d with
    dnssec.signature_cache = --cache-budget, answer cache off and on."""
    rows, invalid, qf = [], set(), None
    for acache in (False, True):
        label = "r53d-cache-%s" % ("acache" if acache else "noacache")
        srv = start_r53d(a, label, meta, extra={"answer_cache": acache,
                                                "dnssec": {"signature_cache": a.cache_budget}})
        if not srv:
            continue
        if qf is None:
            qf = flood_file(a, a.cache_names, "cache")
        # a little DO traffic first, so the before figure holds what every signed answer
        # touches once (the signer, OpenSSL's tables, the cache's first pages)
        warm = flood_file(a, 2000, "cache-warm")
        bench.run_dnsperf(a, srv, warm, 10, ["-D", "-n", "1"], "%s-warm" % label)
        os.unlink(warm)
        time.sleep(0.5)
        pids = srv.refresh_pids()
        rss0 = bench.memory_kb(pids)[0]
        m0 = bench.metrics(srv.admin)
        # one pass over the file (at the rate the server answers; -n 1: each name once)
        args = ["dnsperf", "-s", ADDR, "-p", str(srv.port), "-d", qf, "-n", "1", "-D",
                "-t", str(a.timeout)] + a.dnsperf_args
        if a.client_cpu is not None:
            args = ["taskset", "-c", str(a.client_cpu)] + args
        outp = os.path.join(a.rundir, "dnsperf-%s.txt" % label)
        t0 = time.monotonic()
        with open(outp, "w") as f:
            p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
            try:
                p.wait(a.cache_limit)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                log("dnssec_bench: %s: the pass did not end within %d s; stopped" % (
                    label, a.cache_limit))
        wall = time.monotonic() - t0
        with open(outp) as f:
            d = bench.parse_dnsperf(f.read())
        time.sleep(0.5)
        rss1, _, hwm = bench.memory_kb(srv.refresh_pids())
        m1 = bench.metrics(srv.admin)
        alive = srv.alive()
        srv.stop()
        row = {"label": label, "answer_cache": acache, "names": a.cache_names,
               "budget": a.cache_budget, "sent": d.get("sent"), "completed": d.get("completed"),
               "rcodes": d.get("rcodes"), "wall_s": wall, "rss0_kb": rss0, "rss1_kb": rss1,
               "hwm_kb": hwm, "alive": alive,
               "bytes0": metric_sum(m0, "r53d_dnssec_signature_cache_bytes"),
               "bytes": metric_sum(m1, "r53d_dnssec_signature_cache_bytes"),
               "entries": metric_sum(m1, "r53d_dnssec_signature_cache_entries"),
               "signatures": metric_sum(m1, "r53d_dnssec_signatures_total"),
               "hits": metric_sum(m1, "r53d_dnssec_signature_cache_hits_total"),
               "failures": metric_sum(m1, "r53d_dnssec_signing_failures_total")}
        growth = (rss1 - rss0) / 1024.0
        bound = a.cache_budget / 1048576.0 + (ACACHE_BOUND_MIB if acache else 0) + a.rss_slack
        row["growth_mib"], row["bound_mib"] = growth, bound
        why = []
        if not alive:
            why.append("r53d died")
        if row["bytes"] is None:
            why.append("no r53d_dnssec_signature_cache_bytes in /metrics")
        elif row["bytes"] > a.cache_budget:
            why.append("cache bytes %d over the budget %d" % (row["bytes"], a.cache_budget))
        if growth > bound:
            why.append("RSS grew %.1f MiB, over %.1f" % (growth, bound))
        if (d.get("completed") or 0) < 0.99 * a.cache_names:
            why.append("%s of %d answered" % (d.get("completed"), a.cache_names))
        row["problems"] = why
        if why:
            invalid.add(label)
            log("dnssec_bench: %s: %s" % (label, "; ".join(why)))
        log("dnssec_bench: %s: %s answered in %.1f s, cache %s bytes / %s entries, RSS %.1f -> "
            "%.1f MiB" % (label, fmt(d.get("completed"), ".0f"), wall, fmt(row["bytes"], ".0f"),
                          fmt(row["entries"], ".0f"),
                          rss0 / 1024, rss1 / 1024))
        rows.append(row)
    if qf:
        os.unlink(qf)
    return rows, invalid


# ---------------------------------------------------------------------------- printing

def print_do(rows, invalid, a):
    print("\n1. DO ÷ no DO on a signed zone, same r53d, warm caches (issue 14 goal <= %.2f); "
          "server CPU per answered query, median of %d windows each" % (GOAL_DO, a.repeats))
    hdr = ("target", "noDO µs/q", "DO µs/q", "(DO min-max)", "noDO qps", "DO qps", "resp B",
           "lost%", "DO÷noDO", "paired", "(per repeat)")
    print("%-24s %9s %9s %13s %9s %9s %9s %6s %8s %7s  %s" % hdr)
    for r in rows:
        n, d = r["nodo"], r["do"]
        ratio = d["cpu_us_per_q"] / n["cpu_us_per_q"]
        r["ratio"], r["paired_med"] = ratio, med(r["paired"])
        flag = "  ! ANSWERS WRONG" if r["label"] in invalid else ""
        flag += "" if ratio <= GOAL_DO else "  ! over %.2f" % GOAL_DO
        lost = max(n["lost_pct"] or 0, d["lost_pct"] or 0)
        print("%-24s %9s %9s %13s %9s %9s %9s %6.2f %8.3f %7.3f  (%s)%s" % (
            r["what"][:24], fmt(n["cpu_us_per_q"], ".2f"), fmt(d["cpu_us_per_q"], ".2f"),
            "%.2f-%.2f" % (d["cpu_min"], d["cpu_max"]), fmt(n["qps"], ".0f"),
            fmt(d["qps"], ".0f"),
            "%s/%s" % (fmt(n["resp_size"], ".0f"), fmt(d["resp_size"], ".0f")),
            lost, ratio, r["paired_med"], " ".join("%.3f" % p for p in r["paired"]), flag))
    print("in the DO windows (r53d's /metrics): share of answers served whole from the "
          "answer cache, of answers built and signed (RRSIGs from the signature cache), "
          "RRSIGs computed (cache misses: 0 when warm); and the same share without DO:")
    for r in rows:
        def tot(runs, k):
            v = [x.get("counted", {}).get(k) for x in runs]
            return None if not v or None in v else sum(v)
        done = sum(x.get("completed", 0) for x in r["do_runs"]) or 1
        done_no = sum(x.get("completed", 0) for x in r["nodo_runs"]) or 1
        ah, sg = tot(r["do_runs"], "acache_hits"), tot(r["do_runs"], "signed")
        sh, sc = tot(r["do_runs"], "sig_hits"), tot(r["do_runs"], "signatures")
        ah_no = tot(r["nodo_runs"], "acache_hits")
        print("   %-22s DO: answer cache %s%%, signed %s%% (%s RRSIGs from the cache per signed "
              "answer), RRSIGs computed %s; no DO: answer cache %s%%; rcodes DO %s" % (
                  r["label"], fmt(None if ah is None else 100.0 * ah / done, ".1f"),
                  fmt(None if sg is None else 100.0 * sg / done, ".1f"),
                  fmt(None if not sg or sh is None else sh / sg, ".1f"), fmt(sc, ".0f"),
                  fmt(None if ah_no is None else 100.0 * ah_no / done_no, ".1f"),
                  " ".join("%s=%s" % kv for kv in r["do"]["rcodes_pct"].items())))


def print_flood(rows, invalid, a):
    print("\n2. Flood of random non-existent names, a fresh name per query (every DO answer "
          "needs a new NSEC signature); median of %d windows each" % a.repeats)
    hdr = ("server", "DO", "qps", "q/CPU-s", "CPU µs/q", "(min-max)", "busy%", "resp B",
           "lost%", "rcodes %", "÷ own noDO (paired)")
    print("%-16s %-3s %9s %9s %9s %15s %6s %6s %6s %-22s %s" % hdr)
    for r in rows:
        for k in ("nodo", "do"):
            s = r[k]
            c = s["cpu_us_per_q"]
            extra = ""
            if k == "do":
                r["ratio"] = c / r["nodo"]["cpu_us_per_q"]
                extra = "%.2f (%s)" % (r["ratio"], " ".join("%.2f" % p for p in r["paired"]))
            flag = "  ! ANSWERS WRONG" if r["label"] in invalid else ""
            flag += "  ! names repeated" if r["repeated"] else ""
            print("%-16s %-3s %9s %9s %9s %15s %6s %6s %6s %-22s %s%s" % (
                r["label"], "yes" if k == "do" else "no", fmt(s["qps"], ".0f"),
                fmt(1e6 / c if c else None, ".0f"), fmt(c, ".2f"),
                "%.2f-%.2f" % (s["cpu_min"], s["cpu_max"]), fmt(s["busy_pct"], ".0f"),
                fmt(s["resp_size"], ".0f"), fmt(s["lost_pct"], ".2f"),
                " ".join("%s=%s" % kv for kv in s["rcodes_pct"].items())[:22], extra, flag))
    by = {r["kind"]: r for r in rows}
    if "r53d" in by and "knot" in by:
        me, kn = by["r53d"], by["knot"]
        ps = [x["cpu_us_per_q"] / y["cpu_us_per_q"] for x, y in zip(me["do_runs"], kn["do_runs"])]
        print("r53d ÷ Knot onlinesign, CPU per DO query: %.3f (paired %.3f: %s); queries per "
              "CPU-second with DO: r53d %s, Knot %s" % (
                  me["do"]["cpu_us_per_q"] / kn["do"]["cpu_us_per_q"], med(ps),
                  " ".join("%.2f" % p for p in ps), fmt(1e6 / me["do"]["cpu_us_per_q"], ".0f"),
                  fmt(1e6 / kn["do"]["cpu_us_per_q"], ".0f")))
    for r in rows:
        c = [x.get("counted") for x in r["do_runs"]]
        if not c or None in c or any(v is None for x in c for v in x.values()):
            continue
        done = sum(x.get("completed", 0) for x in r["do_runs"]) or 1
        print("   %s, DO windows (/metrics): %.2f RRSIGs computed and %.2f from the signature "
              "cache per answer, %d signing failures" % (
                  r["label"], sum(x["signatures"] for x in c) / done,
                  sum(x["sig_hits"] for x in c) / done, sum(x["failures"] for x in c)))
    print("note: Knot's answer signs the SOA in authority afresh each time too (two ECDSA "
          "signatures per denial); r53d's SOA RRSIG comes from its signature cache")


def print_cache(rows, a):
    print("\n3. Signature cache at %d distinct names with DO (non-existent names: one NSEC "
          "signature each), dnssec.signature_cache %d bytes (%.1f MiB), 1 worker"
          % (a.cache_names, a.cache_budget, a.cache_budget / 1048576.0))
    hdr = ("answer cache", "answered", "secs", "sigs made", "cache hits", "entries",
           "bytes before", "cache bytes", "÷budget", "RSS0 MiB", "RSS1 MiB", "growth", "bound",
           "")
    print("%-12s %9s %6s %10s %10s %9s %12s %11s %7s %8s %8s %7s %7s %s" % hdr)
    for r in rows:
        print("%-12s %9s %6.1f %10s %10s %9s %12s %11s %7s %8.1f %8.1f %7.1f %7.1f %s" % (
            "on" if r["answer_cache"] else "off", fmt(r["completed"], ".0f"), r["wall_s"],
            fmt(r["signatures"], ".0f"), fmt(r["hits"], ".0f"), fmt(r["entries"], ".0f"),
            fmt(r["bytes0"], ".0f"), fmt(r["bytes"], ".0f"),
            fmt(r["bytes"] / r["budget"] if r["bytes"] is not None else None, ".3f"),
            r["rss0_kb"] / 1024, r["rss1_kb"] / 1024, r["growth_mib"], r["bound_mib"],
            "ok" if not r["problems"] else "! " + "; ".join(r["problems"])))
    print("sigs made, cache hits: r53d's counters since start (the checks and 2,000 warm-up "
          "queries included); entries, bytes: r53d_dnssec_signature_cache_entries/_bytes "
          "after the pass ('bytes before': after the warm-up); RSS0 after the warm-up, RSS1 "
          "after the pass; bound = the budget + %.0f MiB slack (+ %d MiB, the answer cache's "
          "reservation, when on)" % (a.rss_slack, ACACHE_BOUND_MIB))


# ---------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run (~1 min): 2 s windows, 1 repeat, static scenario only, "
                         "100,000 names in the cache part")
    ap.add_argument("--only", default="do,flood,cache", help="parts: do, flood, cache")
    ap.add_argument("--seconds", type=int, default=10, help="measured dnsperf window")
    ap.add_argument("--repeats", type=int, default=3, help="measured windows per slot")
    ap.add_argument("--warmup", type=int, default=3,
                    help="unmeasured seconds per slot first (scenarios, flood)")
    ap.add_argument("--warmup-limit", type=int, default=120,
                    help="at most this many seconds for the mix's warm-up (two passes)")
    ap.add_argument("--names", type=int, default=100000, help="zone size (gen_zone.py)")
    ap.add_argument("--queries", type=int, default=200000, help="lines in the mix's query file")
    ap.add_argument("--scenario", help="policy scenarios of part 1: 'none' or a comma list "
                    "of %s (default: all; --quick: static)" % ",".join(bench.KNOWN_SCENARIOS))
    ap.add_argument("--scenario-dir", default=os.path.join(HERE, "scenarios"))
    ap.add_argument("--flood-servers", default="r53d,knot")
    ap.add_argument("--flood-qps-guess", type=int, default=100000,
                    help="names per second in the flood's warm-up files")
    ap.add_argument("--big-acache", type=int, default=256 << 20,
                    help="part 1 also runs the mix on an r53d with this answer_cache_size "
                         "(bytes; 0: not)")
    ap.add_argument("--cache-names", type=int, default=1000000)
    ap.add_argument("--cache-budget", type=int, default=8 << 20,
                    help="dnssec.signature_cache of the cache part (bytes per worker)")
    ap.add_argument("--cache-limit", type=int, default=600, help="seconds for the cache pass")
    ap.add_argument("--rss-slack", type=float, default=4.0,
                    help="MiB of RSS growth allowed beyond the budgets (allocator, OpenSSL)")
    ap.add_argument("--check-per-class", type=int, default=20,
                    help="answer-check queries per class of the mix")
    ap.add_argument("--delv-per-class", type=int, default=2,
                    help="of which validated by delv (0: none)")
    ap.add_argument("--minimal", action="store_true",
                    help='r53d with "authority_ns": false (no NS set, so no NS RRSIG and no '
                         'signed glue, in positive answers: as Knot and Route 53 answer)')
    ap.add_argument("--dnsperf", default=bench.DEFAULT_DNSPERF, help="dnsperf load options")
    ap.add_argument("--timeout", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--origin", default="bench.test.")
    ap.add_argument("--r53d", help="r53d binary (default: build one in %s/)" % BUILD_DIR)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--knotd", default=shutil.which("knotd") or "/usr/sbin/knotd")
    ap.add_argument("--delv", default=shutil.which("delv") or "")
    ap.add_argument("--rcvbuf", type=int, default=4 * 1024 * 1024,
                    help="UDP receive buffer given to Knot through rcvbuf.so (as bench.py)")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--load-limit", type=int, default=600)
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    a = ap.parse_args()
    if a.quick:
        a.seconds, a.repeats, a.warmup, a.warmup_limit = 2, 1, 1, 20
        a.scenario = a.scenario or "static"
        a.cache_names = min(a.cache_names, 100000)
        a.check_per_class, a.delv_per_class = 5, 1
    a.only = {x for x in a.only.split(",") if x}
    if a.only - {"do", "flood", "cache"}:
        die("--only: do, flood, cache")
    a.scenario = a.scenario or ",".join(bench.KNOWN_SCENARIOS)
    a.scenario = [] if a.scenario == "none" else [s for s in a.scenario.split(",") if s]
    a.flood_servers = [s for s in a.flood_servers.split(",") if s]
    a.knotd = a.knotd if a.knotd and os.access(a.knotd, os.X_OK) else None
    a.delv = a.delv if a.delv and os.access(a.delv, os.X_OK) else None
    # what bench.py's helpers read
    a.rate, a.edns = 0, False
    a.dnsperf_args = a.dnsperf.split()
    for tool in ("dnsperf", "taskset"):
        if not shutil.which(tool):
            die("%s not found: run contrib/deps.sh --bench" % tool)
    if not a.delv:
        log("dnssec_bench: delv not found (bind9-dnsutils): answers are checked without a "
            "validator")
    if (os.cpu_count() or 1) < 2:
        log("dnssec_bench: fewer than 2 CPUs; not pinning")
        a.server_cpu = a.client_cpu = None
    os.makedirs(a.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    a.rundir = os.path.join(a.out, "dnssec-" + stamp)
    os.makedirs(a.rundir)

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    a.rcvbuf_so = bench.build_rcvbuf(a) if a.rcvbuf else None
    status = 0
    try:
        a.r53d_bin = bench.build_r53d(a, BUILD_DIR)
        if not a.r53d_bin:
            log("dnssec_bench: no r53d binary: only Knot's figures")
        meta = bench.zone_for(a, a.names)
        rep = {"date": stamp, "r53d_source": bench.git_describe(),
               "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                           "load_before": open("/proc/loadavg").read().split()[:3]},
               "args": {k: v for k, v in vars(a).items() if k != "only"},
               "parts": sorted(a.only)}
        invalid = set()
        if "do" in a.only and a.r53d_bin:
            rows, bad = phase_do(a, meta)
            rep["do"], invalid = rows, invalid | bad
            print_do(rows, bad, a)
        if "flood" in a.only:
            rows, bad = phase_flood(a, meta)
            rep["flood"], invalid = rows, invalid | bad
            print_flood(rows, bad, a)
        if "cache" in a.only and a.r53d_bin:
            rows, bad = phase_cache(a, meta)
            rep["cache"], invalid = rows, invalid | bad
            print_cache(rows, a)
        rep["invalid"] = sorted(invalid)
        rep["machine"]["load_after"] = open("/proc/loadavg").read().split()[:3]
        jp = os.path.join(a.rundir, "results.json")
        with open(jp, "w") as f:
            json.dump(rep, f, indent=1, default=str)
        missing = [p for p in ("do", "flood", "cache") if p in a.only and not rep.get(p)]
        if invalid:
            print("\nWRONG ANSWERS or bounds exceeded: %s (see above); exit 1"
                  % ", ".join(sorted(invalid)))
            status = 1
        if missing:
            print("\nno figures for: %s (a server did not start or could not be signed: "
                  "see the log lines above)" % ", ".join(missing))
            status = 1
        print("\nr53d source %s; dnsperf %s; server on CPU %s, dnsperf on CPU %s; load average "
              "before/after: %s / %s; raw results: %s" % (
                  rep["r53d_source"], a.dnsperf, a.server_cpu, a.client_cpu,
                  " ".join(rep["machine"]["load_before"]),
                  " ".join(rep["machine"]["load_after"]), jp))
        return status
    except KeyboardInterrupt:
        log("dnssec_bench: interrupted")
        return 130
    finally:
        bench.stop_all()


if __name__ == "__main__":
    sys.exit(main())
