#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fleet_bench.py -- a fleet of r53d on etcd (issue 13): what a change and a health vote
cost. Not run by CTest.

    tests/bench/fleet_bench.py --r53d build-h11/server/r53d            # Release build
    tests/bench/fleet_bench.py --r53d ... --changes 1000 --checks 1000 --window 30 --repeats 5

A 3-member etcd cluster (tests/integration/etcd_cluster.py: free loopback ports, stopped by
PID) and 3 r53d nodes a, b, c (1 worker each, 3 checkers each from their own loopback
source addresses) sharing one prefix. CPUs pinned as bench.py does (taskset): node c, the
one measured in (c), on CPU 0 alone; dnsperf on CPU 1, with nodes a and b and the etcd
members (they stand for other machines). Three figures:

 (a) change to answered everywhere: --changes UPSERTs of one A record through node a's API
     (raw HTTP, a new value each time), one at a time; for each, the time from sending the
     request until every node answers the new value, polled with raw UDP queries to every
     node every 1 ms (in parallel with the request). p50/p99/max; goal p99 <= 1 s.
 (c) CPU per DNS query on node c (utime+stime of the process over a dnsperf window /
     answered queries; schedstat ns as a cross-check), with the watch busy (a writer
     doing --busy-rate UPSERTs a second through node b) and idle, at a fixed offered load (--rate, dnsperf -Q); windows
     interleaved idle, busy, busy, idle, ...; the ratio of the medians and the median of
     adjacent-pair ratios; goal <= 1.05. Also node c's CPU per applied change, from two
     windows without queries.
 (b) etcd writes a second caused by health: --checks TCP health checks (RequestInterval
     10, the API's minimum; FailureThreshold 1) created through the nodes in turn against
     --listeners loopback listeners; etcd's revision (one per write or txn, cluster-wide) and
     etcd_mvcc_put_total (member 1's /metrics) over --window seconds: before the checks
     exist (baseline: heartbeats), steady (every endpoint up) and during a flap storm
     (each listener closed or reopened at random every second: half the probes fail, and
     each checker's view changes at about half of its probes).
Results on stdout; logs and configurations in tests/bench/out/fleet-DATE/.
"""
import argparse
import http.client
import json
import os
import random
import re
import select
import shlex
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import bench  # noqa: E402  (/proc CPU, dnsperf parsing, DNS wire helpers)
from etcd_cluster import EtcdCluster, call  # noqa: E402
from test_fleet import XMLNS, change_xml, tag  # noqa: E402

ADDR = "127.0.0.1"
PREFIX = "/r53d/bench/"
ZONE = "fleetbench.test."


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def free_port(used=set()):
    for _ in range(200):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind((ADDR, 0))
            p = t.getsockname()[1]
            u.bind((ADDR, p))
            if p in used or p in (2379, 2380):
                continue
            used.add(p)
            return p
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


class Node:
    """One r53d node of the fleet, pinned to a CPU, stopped by PID."""

    def __init__(self, a, idx, node_id, endpoints, cpu):
        self.node_id = node_id
        self.port, self.admin = free_port(), free_port()
        srcs = ["127.0.0.%d" % (2 + 3 * idx + j) for j in range(3)]
        cfg = {"listen": ["%s:%d" % (ADDR, self.port)], "workers": 1,
               "admin": {"listen": "%s:%d" % (ADDR, self.admin)}, "hosted_zones": [],
               "health": {"threads": 1, "checkers": 3, "sources": srcs},
               "store": {"etcd": {"endpoints": endpoints, "prefix": PREFIX,
                                  "node_id": node_id, "region": "bench-" + node_id}}}
        self.conf = os.path.join(a.rundir, "node-%s.json" % node_id)
        with open(self.conf, "w") as f:
            json.dump(cfg, f, indent=1)
        self.logf = open(os.path.join(a.rundir, "node-%s.log" % node_id), "w")
        argv = [a.r53d, "-c", self.conf]
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("fleet_bench: node %s did not start; see %s"
                                 % (node_id, self.logf.name))
            try:
                with urllib.request.urlopen("http://%s:%d/healthchecks" % (ADDR, self.admin),
                                            timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        self.pids = bench.descendants(self.proc.pid)
        self.conn = None

    def api(self, method, path, body=None, timeout=30):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(ADDR, self.admin, timeout=timeout)
            try:
                self.conn.request(method, "/2013-04-01" + path,
                                  body=body.encode() if body is not None else None)
                r = self.conn.getresponse()
                return r.status, r.read().decode()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()   # our own child, by PID
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.logf.close()


def query_pkt(qid, qname):
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + bench.wire_name(qname) + \
        struct.pack(">HH", 1, 1)


def first_a(r):
    """The first A rdata of a reply, as text, or None."""
    if len(r) < 12:
        return None
    _, flags, _, an = struct.unpack(">HHHH", r[:8])
    if not flags & 0x8000 or flags & 0xF or an < 1:
        return None
    try:
        off = bench.skip_name(r, 12) + 4
        off = bench.skip_name(r, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[off:off + 10])
        return socket.inet_ntoa(r[off + 10:off + 10 + rdlen]) if rtype == 1 else None
    except (IndexError, struct.error, OSError):
        return None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


# ------------------------------------------------------------------------- (a) latency

def phase_latency(a, nodes, zone):
    name = "lat." + ZONE
    socks = []
    for n in nodes:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((ADDR, n.port))
        s.setblocking(False)
        socks.append(s)
    lat, ack, fails = [], [], 0
    for i in range(a.changes):
        ip = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
        res = {}

        def send():
            t = time.monotonic()
            res["r"] = nodes[0].api("POST", "/hostedzone/%s/rrset/" % zone,
                                    change_xml([("UPSERT", name, "A", 60, [ip])]))
            res["t"] = time.monotonic() - t
        th = threading.Thread(target=send)
        t0 = time.monotonic()
        th.start()
        pending = set(range(len(nodes)))
        qid = random.randrange(65536)
        deadline = t0 + 10.0
        while pending and time.monotonic() < deadline:
            qid = (qid + 1) & 0xFFFF
            pkt = query_pkt(qid, name)
            for k in pending:
                try:
                    socks[k].send(pkt)
                except OSError:
                    pass
            end = time.monotonic() + 0.001
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                rd, _, _ = select.select([socks[k] for k in pending], [], [], left)
                if not rd:
                    break
                for s in rd:
                    k = socks.index(s)
                    try:
                        while True:
                            r = s.recv(4096)
                            if first_a(r) == ip:
                                pending.discard(k)
                    except (BlockingIOError, OSError):
                        pass
        done = time.monotonic() - t0
        th.join(30)
        st = res.get("r", (0, ""))[0]
        if pending or st != 200:
            fails += 1
            log("change %d: status %s, nodes not answering %s" % (i, st, sorted(pending)))
            continue
        lat.append(done)
        ack.append(res["t"])
        if (i + 1) % 100 == 0:
            log("(a) %d changes, p50 %.1f ms so far" % (i + 1, statistics.median(lat) * 1e3))
    for s in socks:
        s.close()
    return {"n": len(lat), "fails": fails,
            "p50": statistics.median(lat), "p99": pct(lat, 99), "max": max(lat),
            "ack_p50": statistics.median(ack), "ack_p99": pct(ack, 99)}


# ------------------------------------------------------------------------- (c) CPU / query

def phase_cpu(a, nodes, zone):
    # the names dnsperf asks for, created in one batch
    names = ["q%d.%s" % (i, ZONE) for i in range(200)]
    st, body = nodes[0].api("POST", "/hostedzone/%s/rrset/" % zone, change_xml(
        [("UPSERT", n, "A", 300, ["198.51.100.%d" % (i % 250 + 1)]) for i, n in enumerate(names)]))
    if st != 200:
        raise SystemExit("fleet_bench: batch for (c): %d %s" % (st, body))
    target = nodes[2]
    deadline = time.monotonic() + 20
    while not bench.probe(target.port, names[-1], "198.51.100.%d" % (199 % 250 + 1)):
        if time.monotonic() > deadline:
            raise SystemExit("fleet_bench: node c does not answer the (c) names")
        time.sleep(0.05)
    qfile = os.path.join(a.rundir, "queries.txt")
    with open(qfile, "w") as f:
        for i in range(20000):
            f.write("%s A\n" % names[i % len(names)])

    stop = threading.Event()
    busy = threading.Event()
    writes = [0, 0]

    def writer():
        i = 0
        nxt = time.monotonic()
        while not stop.is_set():
            if not busy.is_set():
                time.sleep(0.01)
                nxt = time.monotonic()
                continue
            i += 1
            st, _ = nodes[1].api("POST", "/hostedzone/%s/rrset/" % zone, change_xml(
                [("UPSERT", "w.%s" % ZONE, "A", 60, ["10.9.%d.%d" % ((i >> 8) & 255, i & 255)])]))
            writes[0 if st == 200 else 1] += 1
            nxt += 1.0 / a.busy_rate
            time.sleep(max(0.0, nxt - time.monotonic()))
    wt = threading.Thread(target=writer, daemon=True)
    wt.start()

    def window(tag_):
        pids = target.pids
        c0, ns0 = bench.cpu_ticks(pids), bench.schedstat_ns(pids)
        w0 = writes[0]
        args = ["dnsperf", "-s", ADDR, "-p", str(target.port), "-d", qfile,
                "-l", str(a.cpu_seconds)] + shlex.split(a.dnsperf) + \
            (["-Q", str(a.rate)] if a.rate else [])
        if a.client_cpu is not None:
            args = ["taskset", "-c", str(a.client_cpu)] + args
        out = os.path.join(a.rundir, "dnsperf-%s.txt" % tag_)
        with open(out, "w") as f:
            subprocess.run(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=a.cpu_seconds + 60)
        c1, ns1 = bench.cpu_ticks(pids), bench.schedstat_ns(pids)
        with open(out) as f:
            r = bench.parse_dnsperf(f.read())
        done = r.get("completed", 0)
        ticks = sum(c1.get(p, c0[p]) - c0[p] for p in c0)
        return {"us_per_q": ticks / bench.CLK_TCK * 1e6 / done if done else float("inf"),
                "sched_us_per_q": (ns1 - ns0) / 1e3 / done if done else float("inf"),
                "qps": r.get("qps", 0), "writes": writes[0] - w0}

    def quiet(kind, seconds):
        """Node c's CPU seconds over a window without queries."""
        (busy.set if kind == "busy" else busy.clear)()
        time.sleep(0.5)
        c0, w0 = bench.cpu_ticks(target.pids), writes[0]
        time.sleep(seconds)
        c1 = bench.cpu_ticks(target.pids)
        busy.clear()
        return sum(c1.get(p, c0[p]) - c0[p] for p in c0) / bench.CLK_TCK, writes[0] - w0

    idle, busyr, pairs = [], [], []
    try:
        qi, _ = quiet("idle", 2 * a.cpu_seconds)
        qb, nw = quiet("busy", 2 * a.cpu_seconds)
        apply_us = (qb - qi) * 1e6 / nw if nw else float("nan")
        log("(c) no queries: node c CPU %.3f s idle, %.3f s busy (%d changes): %.0f us per "
            "change" % (qi, qb, nw, apply_us))
        for rep in range(a.repeats):
            order = ("idle", "busy") if rep % 2 == 0 else ("busy", "idle")
            got = {}
            for kind in order:
                if kind == "busy":
                    busy.set()
                    time.sleep(0.5)
                else:
                    busy.clear()
                    time.sleep(0.5)
                got[kind] = window("%s-%d" % (kind, rep))
                log("(c) %s window %d: %.2f us/q (sched %.2f), %.0f qps, %d writes" % (
                    kind, rep, got[kind]["us_per_q"], got[kind]["sched_us_per_q"],
                    got[kind]["qps"], got[kind]["writes"]))
            busy.clear()
            idle.append(got["idle"])
            busyr.append(got["busy"])
            pairs.append(got["busy"]["sched_us_per_q"] / got["idle"]["sched_us_per_q"])
    finally:
        stop.set()
        busy.clear()
        wt.join(10)
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    return {"idle_us": med(idle, "us_per_q"), "busy_us": med(busyr, "us_per_q"),
            "idle_sched": med(idle, "sched_us_per_q"), "busy_sched": med(busyr, "sched_us_per_q"),
            "idle_qps": med(idle, "qps"), "busy_qps": med(busyr, "qps"),
            "ratio_ticks": med(busyr, "us_per_q") / med(idle, "us_per_q"),
            "ratio_sched": med(busyr, "sched_us_per_q") / med(idle, "sched_us_per_q"),
            "pair_median": statistics.median(pairs), "pair_min": min(pairs),
            "pair_max": max(pairs), "apply_us": apply_us, "writes_per_s": statistics.median(
                r["writes"] for r in busyr) / a.cpu_seconds, "write_errors": writes[1]}


# ------------------------------------------------------------------------- (b) health writes

class Listeners:
    """n TCP listeners on 127.0.0.1 that accept and close; flap() closes and reopens them."""

    def __init__(self, n):
        self.ports = [free_port() for _ in range(n)]
        self.socks = {}
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.up()
        self.th = threading.Thread(target=self._serve, daemon=True)
        self.th.start()

    def up(self, ports=None):
        with self.lock:
            for p in self.ports if ports is None else ports:
                if p not in self.socks:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((ADDR, p))
                    s.listen(1024)
                    s.setblocking(False)
                    self.socks[p] = s

    def down(self, ports=None):
        with self.lock:
            for p in list(self.socks) if ports is None else ports:
                s = self.socks.pop(p, None)
                if s is not None:
                    s.close()

    def _serve(self):
        while not self.stop_ev.is_set():
            with self.lock:
                ss = list(self.socks.values())
            if not ss:
                time.sleep(0.01)
                continue
            try:
                rd, _, _ = select.select(ss, [], [], 0.05)
            except (OSError, ValueError):
                continue
            for s in rd:
                for _ in range(64):
                    try:
                        c, _ = s.accept()
                        c.close()
                    except OSError:
                        break

    def close(self):
        self.stop_ev.set()
        self.th.join(2)
        self.down()


def etcd_counts(cluster):
    rev = cluster.revision()
    put = None
    try:
        with urllib.request.urlopen(cluster.endpoints[0] + "/metrics", timeout=3) as r:
            m = re.search(r"^etcd_mvcc_put_total (\S+)$", r.read().decode(), re.M)
            put = float(m.group(1)) if m else None
    except OSError:
        pass
    return rev, put


def hc_counters(nodes):
    """(probes, failed probes) summed over the nodes' /metrics."""
    pr = tr = 0.0
    for n in nodes:
        for k, v in bench.metrics(n.admin).items():
            if k.startswith("r53d_hc_probes_total"):
                pr += v
                if 'result="success"' not in k:
                    tr += v
    return pr, tr


def write_window(cluster, seconds, nodes):
    r0, p0 = etcd_counts(cluster)
    h0 = hc_counters(nodes)
    t0 = time.monotonic()
    time.sleep(seconds)
    r1, p1 = etcd_counts(cluster)
    h1 = hc_counters(nodes)
    dt = time.monotonic() - t0
    return {"rev_per_s": (r1 - r0) / dt,
            "put_per_s": (p1 - p0) / dt if p0 is not None and p1 is not None else None,
            "probes_per_s": (h1[0] - h0[0]) / dt, "failed_per_s": (h1[1] - h0[1]) / dt}


def phase_health(a, nodes, cluster):
    res = {"baseline": write_window(cluster, a.window, nodes)}
    log("(b) baseline (no checks): %.2f revisions/s" % res["baseline"]["rev_per_s"])
    lis = Listeners(a.listeners)
    try:
        t0 = time.monotonic()
        for i in range(a.checks):
            body = ('<CreateHealthCheckRequest xmlns="%s"><CallerReference>bench-%d-%d'
                    '</CallerReference><HealthCheckConfig><IPAddress>127.0.0.1</IPAddress>'
                    '<Port>%d</Port><Type>TCP</Type><RequestInterval>10</RequestInterval>'
                    '<FailureThreshold>1</FailureThreshold></HealthCheckConfig>'
                    '</CreateHealthCheckRequest>' % (XMLNS, os.getpid(), i,
                                                     lis.ports[i % len(lis.ports)]))
            st, out = nodes[i % 3].api("POST", "/healthcheck", body)
            if st != 201:
                raise SystemExit("fleet_bench: create check %d: %d %s" % (i, st, out))
            if (i + 1) % 200 == 0:
                log("(b) %d checks created" % (i + 1))
        res["create_s"] = time.monotonic() - t0
        log("(b) %d checks created in %.1f s; settling %d s" % (a.checks, res["create_s"],
                                                                a.settle))
        time.sleep(a.settle)
        res["steady"] = write_window(cluster, a.window, nodes)
        log("(b) steady: %r" % res["steady"])
        stop = threading.Event()

        def flapper():
            # every second each listener is up or down at random: a strict alternation
            # (down 1 s, up 1 s) would alias with RequestInterval 10 (each checker probes
            # at a fixed phase and would always see the same state)
            rnd = random.Random(13)
            while not stop.is_set():
                ups = [p for p in lis.ports if rnd.random() < 0.5]
                lis.down([p for p in lis.ports if p not in ups])
                lis.up(ups)
                stop.wait(1.0)
            lis.up()
        ft = threading.Thread(target=flapper, daemon=True)
        ft.start()
        time.sleep(a.settle)
        try:
            res["storm"] = write_window(cluster, a.window, nodes)
        finally:
            stop.set()
            ft.join(5)
        log("(b) flap storm: %r" % res["storm"])
    finally:
        lis.close()
    return res


# ------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--r53d", default=os.path.join(REPO, "build-h11", "server", "r53d"))
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--checks", type=int, default=1000)
    ap.add_argument("--listeners", type=int, default=10)
    ap.add_argument("--window", type=float, default=30.0, help="(b) window, seconds")
    ap.add_argument("--settle", type=float, default=15.0, help="(b) settle before a window")
    ap.add_argument("--cpu-seconds", type=int, default=5, help="(c) dnsperf window")
    ap.add_argument("--repeats", type=int, default=6, help="(c) idle/busy pairs")
    ap.add_argument("--busy-rate", type=float, default=20.0, help="(c) writer changes/s")
    ap.add_argument("--dnsperf", default="-c 4 -q 50")
    ap.add_argument("--rate", type=int, default=20000,
                    help="(c) fixed offered qps (dnsperf -Q; 0: as fast as it answers)")
    ap.add_argument("--only", default="a,c,b")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    a = ap.parse_args()
    a.r53d = os.path.abspath(a.r53d)
    a.rundir = os.path.join(HERE, "out", "fleet-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(a.rundir, exist_ok=True)
    only = set(a.only.split(","))
    info = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": bench.git_describe() if hasattr(bench, "git_describe") else "?",
            "load_start": open("/proc/loadavg").read().split()[:3]}
    cluster = EtcdCluster(3)
    cluster.start()
    nodes = []
    out = {}
    try:
        for i, nid in enumerate("abc"):
            # node c (the one measured in (c)) on the server CPU; nodes a and b, like etcd,
            # stand for other machines: on the client CPU, off node c's
            nodes.append(Node(a, i, nid, cluster.endpoints,
                              a.server_cpu if nid == "c" else a.client_cpu))
        if a.client_cpu is not None:
            for m in cluster.members:
                os.sched_setaffinity(m.pid, {a.client_cpu})
        st, body = nodes[0].api("POST", "/hostedzone",
                                '<CreateHostedZoneRequest xmlns="%s"><Name>%s</Name>'
                                '<CallerReference>fleetbench-%d</CallerReference>'
                                '</CreateHostedZoneRequest>' % (XMLNS, ZONE, os.getpid()))
        if st != 201:
            raise SystemExit("fleet_bench: CreateHostedZone: %d %s" % (st, body))
        zone = tag(body, "Id").split("/")[-1]
        if "a" in only:
            out["a"] = phase_latency(a, nodes, zone)
        if "c" in only:
            out["c"] = phase_cpu(a, nodes, zone)
        if "b" in only:
            out["b"] = phase_health(a, nodes, cluster)
    finally:
        for n in nodes:
            n.stop()
        cluster.close()
    info["load_end"] = open("/proc/loadavg").read().split()[:3]
    with open(os.path.join(a.rundir, "results.json"), "w") as f:
        json.dump({"info": info, "args": vars(a), "results": out}, f, indent=1)

    print("fleet_bench %s, %s, load average %s at start, %s at end" % (
        info["date"], info["commit"], " ".join(info["load_start"]), " ".join(info["load_end"])))
    print("| figure | result | goal |\n| --- | --- | --- |")
    if "a" in out:
        r = out["a"]
        print("| (a) change through node a to answered by all 3 nodes, %d UPSERTs (%d failed) "
              "| p50 %.1f ms, p99 %.1f ms, max %.1f ms (node a's API answer: p50 %.1f ms, "
              "p99 %.1f ms) | p99 <= 1 s |" % (r["n"], r["fails"], r["p50"] * 1e3,
                                               r["p99"] * 1e3, r["max"] * 1e3,
                                               r["ack_p50"] * 1e3, r["ack_p99"] * 1e3))
    if "b" in out:
        r = out["b"]
        for k, label in (("baseline", "no checks (heartbeats only)"),
                         ("steady", "%d TCP checks, 3 nodes x 3 checkers, endpoints up" % a.checks),
                         ("storm", "same, each endpoint up or down at random every 1 s")):
            if k in r:
                w = r[k]
                print("| (b) etcd writes/s, %s, %.0f s window | %.2f revisions/s%s (probes "
                      "%.0f/s, of which failed %.0f/s, all nodes) | |" % (
                          label, a.window, w["rev_per_s"],
                          ", %.2f puts/s" % w["put_per_s"] if w["put_per_s"] is not None else "",
                          w["probes_per_s"], w["failed_per_s"]))
    if "c" in out:
        r = out["c"]
        print("| (c) node c CPU per DNS query, watch busy (%.1f changes/s through node b) / idle, "
              "%s, %d interleaved %d s windows each | %.3f (schedstat %.2f / %.2f us/q; ticks "
              "%.3f); adjacent pairs median %.3f (%.3f .. %.3f); %.0f / %.0f qps; without "
              "queries the watch costs node c %.0f us CPU per change | <= 1.05 |" % (
                  r["writes_per_s"], "dnsperf -Q %d" % a.rate if a.rate else "dnsperf unpaced",
                  a.repeats, a.cpu_seconds, r["ratio_sched"],
                  r["busy_sched"], r["idle_sched"], r["ratio_ticks"], r["pair_median"],
                  r["pair_min"], r["pair_max"], r["busy_qps"], r["idle_qps"], r["apply_us"]))
    print("results: %s" % os.path.join(a.rundir, "results.json"))


if __name__ == "__main__":
    main()
