#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""api_bench.py -- the Route 53 API and its store: how fast a change serves, what changes cost
the DNS workers, how long a big zone takes to list. See README.md ("API and store").

    tests/bench/api_bench.py [--r53d PATH] [--only a,b,c] [--seconds 60] [--changes 1000]

(a) one-record UPSERT on a zone of 10,000 record sets (9,998 created through the API in
    batches of 1,000, plus SOA and NS) to INSYNC: from sending the request to the first
    GetChange that says INSYNC (GetChange polled every 2 ms), --changes changes one after the
    other; p50/p99/max. LMDB store in a temp dir, then the same with the memory store.
(b) --rate changes per minute (default 1,000), paced, for --seconds (default 60) while dnsperf
    loads the server over loopback, against the same window without changes: the DNS worker
    threads' CPU (utime+stime of the threads named r53d-w*, from /proc/PID/task/*/stat) per
    answered query, dnsperf's "Queries lost", and the CPU of every other thread except the
    health-check pool (control thread, loader threads, ...: the process total minus the
    workers and the pool, so threads that exited during the window count) per change. LMDB.
(c) ListResourceRecordSets of a 100,000-record zone, every page (maxitems 300), total
    seconds. The zone is loaded from a configuration-file record_sets JSON (the API refuses
    more than 10,000 sets per zone); memory store.

Only loopback; every process it starts is pinned (taskset, like bench.py), bounded in time and
stopped by its PID. Plain tables on stdout, progress on stderr, raw figures in
tests/bench/out/api-DATE/results.json. Budget: about 5 minutes with the defaults.
"""
import argparse
import datetime
import http.client
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
ADDR = "127.0.0.1"
XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"
DEFAULT_DNSPERF = "-T 2 -c 16 -q 500"      # bench.py's default load
ZONE = "apibench.test"
LIVE = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log("api_bench: " + msg)
    sys.exit(2)


def free_port():
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((ADDR, 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((ADDR, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    die("no free port")


def quiet_port():
    """A free port below the ephemeral range: polling it before r53d listens can never
    self-connect (a client socket holding the port would make r53d's bind fail)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        lo = 32768
    for _ in range(200):
        port = random.randrange(10000, max(10001, lo))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind((ADDR, port))
            u.bind((ADDR, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    return free_port()


def pct(xs, p):
    """Nearest-rank percentile."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(1, math.ceil(p / 100.0 * len(s))) - 1]


# ---------------------------------------------------------------------------- /proc

def thread_times(pid):
    """{tid: (name, utime+stime ticks, schedstat ns)} of the live threads of pid."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                s = f.read()
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                ns = int(f.read().split()[0])
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        out[int(tid)] = (name, int(rest[11]) + int(rest[12]), ns)
    return out


def process_ticks(pid):
    """utime+stime of the whole process, exited threads included."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def is_worker(name):
    return name.startswith("r53d-w")        # server/worker.c: "r53d-w%u"


def is_pool(name):
    return name.startswith("hc-pool-")      # healthcheck/hc_pool.c: "hc-pool-%u"


class CpuWindow:
    """CPU of r53d's thread classes between start() and stop()."""

    def __init__(self, pid):
        self.pid = pid

    def snap(self):
        return process_ticks(self.pid), thread_times(self.pid), time.monotonic()

    def start(self):
        self.t0 = self.snap()

    def stop(self):
        self.t1 = self.snap()
        (p0, th0, w0), (p1, th1, w1) = self.t0, self.t1
        r = {"wall_s": w1 - w0, "total_ticks": p1 - p0, "worker_ticks": 0, "pool_ticks": 0,
             "worker_ns": 0, "workers": 0, "thread_names": sorted({v[0] for v in th1.values()})}
        for tid, (name, ticks, ns) in th1.items():
            t_before, ns_before = (th0[tid][1], th0[tid][2]) if tid in th0 else (0, 0)
            if is_worker(name):
                r["worker_ticks"] += ticks - t_before
                r["worker_ns"] += ns - ns_before
                r["workers"] += 1
            elif is_pool(name):
                r["pool_ticks"] += ticks - t_before
        r["control_ticks"] = r["total_ticks"] - r["worker_ticks"] - r["pool_ticks"]
        for k in ("total", "worker", "pool", "control"):
            r[k + "_s"] = r[k + "_ticks"] / CLK_TCK
        return r


# ---------------------------------------------------------------------------- r53d

class R53d:
    def __init__(self, a, label, store=None, extra=None):
        self.a, self.label = a, label
        self.dir = tempfile.mkdtemp(prefix="r53d-apibench-%s-" % label, dir=a.tmp)
        self.port = quiet_port()
        self.aport = quiet_port()
        while self.aport == self.port:
            self.aport = quiet_port()
        cfg = {"listen": ["%s:%d" % (ADDR, self.port)], "workers": a.workers,
               "admin": {"listen": "%s:%d" % (ADDR, self.aport)}, "hosted_zones": []}
        if store == "lmdb":
            cfg["store"] = {"path": os.path.join(self.dir, "store")}
        if extra:
            cfg.update(extra)
        self.cfg_path = os.path.join(self.dir, "r53d.json")
        with open(self.cfg_path, "w") as f:
            json.dump(cfg, f, indent=1)
        self.logpath = os.path.join(a.rundir, "r53d-%s.log" % label)
        self.proc = None
        self.conn = None
        self.last_used = 0.0

    def start(self, limit=600):
        argv = [self.a.r53d, "-c", self.cfg_path]
        if self.a.server_cpu is not None:
            argv = ["taskset", "-c", self.a.server_cpu] + argv
        self.logf = open(self.logpath, "w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        LIVE.append(self)
        deadline = t0 + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die("r53d (%s) exited with %s:\n%s" % (self.label, self.proc.returncode, self.tail()))
            try:
                st, _ = self.call("GET", "/2013-04-01/hostedzone?maxitems=1")
                if st == 200:
                    return time.monotonic() - t0
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
            time.sleep(0.01)
        die("r53d (%s) API did not answer within %d s:\n%s" % (self.label, limit, self.tail()))

    def tail(self, n=20):
        try:
            with open(self.logpath) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def call(self, method, path, body=None):
        """One request on a kept-alive connection: (status, body bytes)."""
        if self.conn is not None and time.monotonic() - self.last_used > 5:
            self.conn.close()          # the server may have closed an idle connection
            self.conn = None
        for attempt in (1, 2):
            if self.conn is None:
                c = http.client.HTTPConnection(ADDR, self.aport, timeout=60)
                c.connect()
                if c.sock.getsockname() == c.sock.getpeername():
                    c.close()          # TCP self-connect to a port nobody listens on yet
                    raise ConnectionRefusedError("self-connect")
                self.conn = c
            self.last_used = time.monotonic()
            try:
                self.conn.request(method, path, body=body)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 2 or method == "POST":
                    raise
        raise OSError("unreachable")

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self in LIVE:
            LIVE.remove(self)
        self.logf.close()
        if not self.a.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- API helpers (raw XML: no SDK overhead in the measured path)
    def create_zone(self, name):
        body = ('<CreateHostedZoneRequest xmlns="%s"><Name>%s</Name><CallerReference>bench-%s'
                '</CallerReference></CreateHostedZoneRequest>' % (XMLNS, name, os.urandom(6).hex()))
        st, data = self.call("POST", "/2013-04-01/hostedzone", body.encode())
        if st != 201:
            die("CreateHostedZone: HTTP %d %s" % (st, data[:300]))
        zid = re.search(rb"<Id>/hostedzone/([^<]+)</Id>", data).group(1).decode()
        self.wait_insync(change_id(data))
        return zid

    def change(self, zid, changes):
        """changes: [(action, name, type, ttl, [values])] -> change id (raises on error)."""
        st, data = self.call("POST", "/2013-04-01/hostedzone/%s/rrset/" % zid, batch_xml(changes))
        if st != 200:
            raise RuntimeError("ChangeResourceRecordSets: HTTP %d %s" % (st, data[:400]))
        return change_id(data)

    def status(self, cid):
        st, data = self.call("GET", "/2013-04-01/change/" + cid)
        if st != 200:
            raise RuntimeError("GetChange %s: HTTP %d %s" % (cid, st, data[:300]))
        m = re.search(rb"<Status>(\w+)</Status>", data)
        return m.group(1).decode() if m else None

    def wait_insync(self, cid, poll=0.002, limit=60.0):
        """Poll GetChange; returns (seconds from now to INSYNC, polls) or (None, polls)."""
        t0 = time.perf_counter()
        polls = 0
        while True:
            polls += 1
            if self.status(cid) == "INSYNC":
                return time.perf_counter() - t0, polls
            if time.perf_counter() - t0 > limit:
                return None, polls
            time.sleep(poll)


def change_id(data):
    m = re.search(rb"<Id>/change/([^<]+)</Id>", data)
    if not m:
        raise RuntimeError("no ChangeInfo Id in %r" % data[:300])
    return m.group(1).decode()


def batch_xml(changes):
    out = []
    for action, name, rtype, ttl, values in changes:
        rr = "".join("<ResourceRecord><Value>%s</Value></ResourceRecord>" % v for v in values)
        out.append("<Change><Action>%s</Action><ResourceRecordSet><Name>%s</Name><Type>%s</Type>"
                   "<TTL>%d</TTL><ResourceRecords>%s</ResourceRecords></ResourceRecordSet>"
                   "</Change>" % (action, name, rtype, ttl, rr))
    return ('<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Comment>bench</Comment>'
            '<Changes>%s</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>'
            % (XMLNS, "".join(out))).encode()


def rname(i):
    return "r%05d.%s" % (i, ZONE)


def addr(i, gen=0):
    return "10.%d.%d.%d" % (gen % 200, (i >> 8) & 255, i & 255)


def udp_a(port, qname, timeout=1.0):
    """The first A address of an answer to qname, or None."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect((ADDR, port))
        s.send(q)
        r = s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()
    if len(r) < 12 or struct.unpack(">H", r[:2])[0] != qid or struct.unpack(">H", r[6:8])[0] < 1:
        return None
    off = 12
    while r[off] != 0:
        off += 1 + r[off]
    off += 5
    if r[off] >= 0xC0:
        off += 2
    else:
        while r[off] != 0:
            off += 1 + r[off]
        off += 1
    rtype, _, _, rdlen = struct.unpack(">HHIH", r[off:off + 10])
    return socket.inet_ntoa(r[off + 10:off + 14]) if rtype == 1 and rdlen == 4 else None


def load_zone(srv, n_sets, batch=1000):
    """CreateHostedZone, then n_sets A sets in batches; returns (zone id, seconds)."""
    t0 = time.monotonic()
    zid = srv.create_zone(ZONE)
    for lo in range(0, n_sets, batch):
        cid = srv.change(zid, [("CREATE", rname(i), "A", 300, [addr(i)])
                               for i in range(lo, min(n_sets, lo + batch))])
        dt, _ = srv.wait_insync(cid, 0.005, 300)
        if dt is None:
            die("a load batch did not reach INSYNC within 300 s")
    return zid, time.monotonic() - t0


# ---------------------------------------------------------------------------- (a)

def bench_a(a, store):
    srv = R53d(a, "a-" + store, store="lmdb" if store == "lmdb" else None)
    try:
        srv.start()
        n_sets = a.zone_sets - 2
        zid, load_s = load_zone(srv, n_sets)
        log("api_bench: (a/%s) zone of %d sets loaded through the API in %.1f s"
            % (store, a.zone_sets, load_s))
        lat, reply, polls, stale, timeouts = [], [], [], 0, 0
        t_budget = time.monotonic() + a.a_budget
        for k in range(a.changes):
            if time.monotonic() > t_budget:
                log("api_bench: (a/%s) time budget (%d s) spent after %d changes"
                    % (store, a.a_budget, k))
                break
            i = (k * 7919) % n_sets
            gen = k + 1
            body = batch_xml([("UPSERT", rname(i), "A", 300, [addr(i, gen)])])
            t0 = time.perf_counter()
            st, data = srv.call("POST", "/2013-04-01/hostedzone/%s/rrset/" % zid, body)
            t_reply = time.perf_counter()
            if st != 200:
                die("(a) UPSERT: HTTP %d %s" % (st, data[:300]))
            cid = change_id(data)
            n = 0
            while True:
                n += 1
                if srv.status(cid) == "INSYNC":
                    t1 = time.perf_counter()
                    break
                if time.perf_counter() - t0 > 30:
                    t1 = None
                    break
                time.sleep(0.002)
            if t1 is None:
                timeouts += 1
                continue
            lat.append(t1 - t0)
            reply.append(t_reply - t0)
            polls.append(n)
            # INSYNC means every worker answers the new data: check (outside the timing)
            if udp_a(srv.port, rname(i)) != addr(i, gen):
                stale += 1
        return {"store": store, "zone_sets": a.zone_sets, "load_s": load_s,
                "changes": a.changes, "ok": len(lat), "timeouts": timeouts,
                "p90_ms": 1000 * pct(lat, 90),
                "p50_ms": 1000 * pct(lat, 50), "p99_ms": 1000 * pct(lat, 99),
                "max_ms": 1000 * max(lat) if lat else float("nan"),
                "reply_p50_ms": 1000 * pct(reply, 50), "reply_p99_ms": 1000 * pct(reply, 99),
                "polls_mean": statistics.mean(polls) if polls else float("nan"),
                "stale_after_insync": stale}
    finally:
        srv.stop()


# ---------------------------------------------------------------------------- (b)

def parse_dnsperf(text):
    r = {}
    for k, p in {"sent": r"Queries sent:\s+(\d+)", "completed": r"Queries completed:\s+(\d+)",
                 "lost": r"Queries lost:\s+(\d+)", "qps": r"Queries per second:\s+([\d.]+)",
                 "runtime": r"Run time \(s\):\s+([\d.]+)"}.items():
        m = re.search(p, text)
        if m:
            r[k] = float(m.group(1))
    return r


def start_dnsperf(a, srv, qfile, seconds, tag):
    args = ["dnsperf", "-s", ADDR, "-p", str(srv.port), "-d", qfile, "-l", str(seconds),
            "-t", "2"] + shlex.split(a.dnsperf)
    if a.client_cpu is not None:
        args = ["taskset", "-c", a.client_cpu] + args
    outp = os.path.join(a.rundir, "dnsperf-%s.txt" % tag)
    f = open(outp, "w")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return p, f, outp


def finish_dnsperf(p, f, outp, seconds):
    try:
        p.wait(seconds + 40)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    f.close()
    with open(outp) as fh:
        return parse_dnsperf(fh.read())


def window_b(a, srv, zid, qfile, n_sets, with_changes, tag):
    """One dnsperf window of a.seconds; with_changes: a.rate changes/min paced meanwhile."""
    cpu = CpuWindow(srv.proc.pid)
    p, f, outp = start_dnsperf(a, srv, qfile, a.seconds, tag)
    time.sleep(0.3)                          # dnsperf started and sending
    cpu.start()
    t_start = time.monotonic()
    t_end = t_start + a.seconds - 1.0        # stay inside dnsperf's run
    interval = 60.0 / a.rate
    changes = insync_next = errors = 0
    k = 0
    if with_changes:
        nxt = t_start
        pending = None
        while True:
            now = time.monotonic()
            if now >= t_end:
                break
            if now < nxt:
                time.sleep(min(nxt - now, 0.05))
                continue
            if pending is not None:   # one GetChange per change, just before the next one
                try:
                    insync_next += srv.status(pending) == "INSYNC"
                except (RuntimeError, OSError):
                    errors += 1
            i = (k * 7919) % n_sets
            k += 1
            try:
                pending = srv.change(zid, [("UPSERT", rname(i), "A", 300, [addr(i, 100 + k)])])
                changes += 1
            except (RuntimeError, OSError) as e:
                errors += 1
                pending = None
                log("api_bench: (b) change failed: %s" % e)
            nxt += interval
        if pending is not None:
            try:
                insync_next += srv.status(pending) == "INSYNC"
            except (RuntimeError, OSError):
                errors += 1
    else:
        while time.monotonic() < t_end:
            time.sleep(0.1)
    c = cpu.stop()
    d = finish_dnsperf(p, f, outp, a.seconds)
    # queries answered inside the CPU window: dnsperf's completed scaled to the window
    frac = min(1.0, c["wall_s"] / max(d.get("runtime", a.seconds), 1e-9))
    answered_in_window = d.get("completed", 0) * frac
    r = {"tag": tag, "with_changes": with_changes, "dnsperf": d, "cpu": c, "changes": changes,
         "insync_at_next": insync_next, "change_errors": errors,
         "worker_us_per_q": c["worker_s"] * 1e6 / answered_in_window if answered_in_window else
         float("inf"),
         "worker_sched_us_per_q": c["worker_ns"] / 1e3 / answered_in_window if answered_in_window
         else float("inf"),
         "control_ms_per_change": c["control_s"] * 1e3 / changes if changes else None,
         "log": outp}
    log("api_bench: (b) %-10s %8.0f qps  worker %.2f µs/q  lost %d  changes %d  control %.2f s"
        % (tag, d.get("qps", 0), r["worker_us_per_q"], d.get("lost", 0), changes, c["control_s"]))
    return r


def bench_b(a):
    srv = R53d(a, "b-lmdb", store="lmdb")
    try:
        srv.start()
        n_sets = a.zone_sets - 2
        zid, load_s = load_zone(srv, n_sets)
        qfile = os.path.join(a.rundir, "queries-b.txt")
        names = [rname(i) for i in range(n_sets)]
        random.Random(1).shuffle(names)
        with open(qfile, "w") as f:
            for nm in names:
                f.write("%s A\n" % nm)
        wp, wf, wo = start_dnsperf(a, srv, qfile, 3, "b-warmup")
        finish_dnsperf(wp, wf, wo, 3)
        rows = []
        for rep in range(a.b_repeats):
            order = [False, True] if rep % 2 == 0 else [True, False]
            for wc in order:
                rows.append(window_b(a, srv, zid, qfile, n_sets, wc,
                                     "%s-%d" % ("changes" if wc else "baseline", rep + 1)))
        names_seen = rows[-1]["cpu"]["thread_names"]
        return {"load_s": load_s, "windows": rows, "thread_names": names_seen}
    finally:
        srv.stop()


# ---------------------------------------------------------------------------- (c)

def bench_c(a):
    n = a.list_sets
    d = tempfile.mkdtemp(prefix="r53d-apibench-c-", dir=a.tmp)
    try:
        origin = "list." + ZONE + "."
        sets = [{"Name": origin, "Type": "NS", "TTL": 172800,
                 "ResourceRecords": [{"Value": "ns-1.r53d.test."}, {"Value": "ns-2.r53d.test."}]},
                {"Name": origin, "Type": "SOA", "TTL": 900, "ResourceRecords": [
                    {"Value": "ns-1.r53d.test. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]}]
        sets += [{"Name": "r%06d.%s" % (i, origin), "Type": "A", "TTL": 300,
                  "ResourceRecords": [{"Value": addr(i)}]} for i in range(n - 2)]
        rs_path = os.path.join(d, "ZLISTBENCH.json")
        with open(rs_path, "w") as f:
            json.dump({"ResourceRecordSets": sets}, f)
        extra = {"hosted_zones": [{"HostedZone": {"Id": "/hostedzone/ZLISTBENCH", "Name": origin,
                                                  "Config": {"PrivateZone": False}},
                                   "record_sets": rs_path}]}
        srv = R53d(a, "c-memory", store=None, extra=extra)
        try:
            start_s = srv.start()
            pages = listed = 0
            q = "maxitems=300"
            t0 = time.perf_counter()
            page_times = []
            complete = False
            t_budget = time.monotonic() + a.c_budget
            for _ in range(n // 300 + 100):
                if time.monotonic() > t_budget:
                    log("api_bench: (c) time budget (%d s) spent after %d pages" % (a.c_budget, pages))
                    break
                tp = time.perf_counter()
                st, data = srv.call("GET", "/2013-04-01/hostedzone/ZLISTBENCH/rrset?" + q)
                page_times.append(time.perf_counter() - tp)
                if st != 200:
                    die("(c) ListResourceRecordSets: HTTP %d %s" % (st, data[:300]))
                pages += 1
                listed += data.count(b"<ResourceRecordSet>")
                if b"<IsTruncated>true</IsTruncated>" not in data:
                    complete = True
                    break
                nn = re.search(rb"<NextRecordName>([^<]*)</NextRecordName>", data).group(1)
                nt = re.search(rb"<NextRecordType>([^<]*)</NextRecordType>", data).group(1)
                q = "maxitems=300&name=%s&type=%s" % (
                    urlq(nn.decode()), nt.decode())
            total = time.perf_counter() - t0
            return {"sets": n, "listed": listed, "pages": pages, "total_s": total,
                    "complete": complete,
                    "page_ms_p50": 1000 * pct(page_times, 50),
                    "page_ms_max": 1000 * max(page_times), "start_s": start_s,
                    "loaded_from": "configuration record_sets JSON, memory store"}
        finally:
            srv.stop()
    finally:
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)


def urlq(s):
    return urllib.parse.quote(s, safe="")


# ---------------------------------------------------------------------------- output

def fmt(v, spec):
    return "-" if v is None or (isinstance(v, float) and v != v) else format(v, spec)


def print_results(res, a):
    if "a" in res:
        print("\n(a) UPSERT of one record to INSYNC, zone of %d record sets, %d changes in a "
              "row (GetChange polled every 2 ms)" % (a.zone_sets, a.changes))
        print("%-7s %8s %8s %8s %8s %11s %11s %7s %7s %8s" % (
            "store", "changes", "p50 ms", "p99 ms", "max ms", "reply p50", "reply p99", "polls",
            "stale", "load s"))
        for r in res["a"]:
            print("%-7s %8d %8s %8s %8s %11s %11s %7s %7d %8s" % (
                r["store"], r["ok"], fmt(r["p50_ms"], ".2f"), fmt(r["p99_ms"], ".2f"),
                fmt(r["max_ms"], ".2f"), fmt(r["reply_p50_ms"], ".2f"),
                fmt(r["reply_p99_ms"], ".2f"), fmt(r["polls_mean"], ".1f"),
                r["stale_after_insync"], fmt(r["load_s"], ".1f")))
            if r["timeouts"]:
                print("        ! %d changes not INSYNC within 30 s" % r["timeouts"])
            if r["ok"] + r["timeouts"] < r["changes"]:
                print("        ! only %d of %d changes measured: the --a-budget of %d s ran out"
                      % (r["ok"] + r["timeouts"], r["changes"], a.a_budget))
        print("(reply: until the 200 of ChangeResourceRecordSets; polls: GetChange calls per "
              "change; stale: answers still old right after INSYNC, must be 0)")
    if "b" in res:
        b = res["b"]
        print("\n(b) %d changes/min (paced; %d per window) for %d s under dnsperf (%s), LMDB "
              "store, %d worker(s); threads seen: %s" % (
                  a.rate, int(a.rate * (a.seconds - 1) / 60), a.seconds, a.dnsperf, a.workers,
                  ", ".join(b["thread_names"])))
        print("%-12s %9s %10s %6s %11s %9s %8s %8s %12s" % (
            "window", "qps", "answered", "lost", "worker µs/q", "(sched)", "changes", "INSYNC",
            "ctl ms/chg"))
        for w in b["windows"]:
            d = w["dnsperf"]
            print("%-12s %9s %10s %6s %11s %9s %8d %8s %12s" % (
                w["tag"], fmt(d.get("qps"), ".0f"), fmt(d.get("completed"), ".0f"),
                fmt(d.get("lost"), ".0f"), fmt(w["worker_us_per_q"], ".3f"),
                fmt(w["worker_sched_us_per_q"], ".3f"), w["changes"],
                "%d" % w["insync_at_next"] if w["with_changes"] else "-",
                fmt(w["control_ms_per_change"], ".3f")))
        base = [w for w in b["windows"] if not w["with_changes"]]
        chg = [w for w in b["windows"] if w["with_changes"]]
        if base and chg:
            wb = statistics.median(w["worker_us_per_q"] for w in base)
            wc = statistics.median(w["worker_us_per_q"] for w in chg)
            ctl_base = statistics.median(w["cpu"]["control_s"] for w in base)
            ctl = statistics.median(w["cpu"]["control_s"] for w in chg)
            n = statistics.median(w["changes"] for w in chg)
            print("worker CPU per answered query with/without changes: %.3f / %.3f µs = %.3f; "
                  "queries lost: %d with, %d without" % (
                      wc, wb, wc / wb if wb else float("nan"),
                      sum(w["dnsperf"].get("lost", 0) for w in chg),
                      sum(w["dnsperf"].get("lost", 0) for w in base)))
            print("control+loader CPU per change: %.3f ms (%.3f ms net of the %.2f s the same "
                  "threads used in a window without changes)" % (
                      1e3 * ctl / n if n else float("nan"),
                      1e3 * (ctl - ctl_base) / n if n else float("nan"), ctl_base))
        print("(INSYNC: changes already INSYNC at the GetChange sent just before the next change; "
              "ctl: CPU of every thread but the workers and the health pool, exited threads "
              "included, per change)")
    if "c" in res:
        c = res["c"]
        print("\n(c) ListResourceRecordSets of a %d-record zone (%s), maxitems 300"
              % (c["sets"], c["loaded_from"]))
        print("%8s %8s %7s %9s %12s %12s %9s" % ("sets", "listed", "pages", "total s",
                                                   "page p50 ms", "page max ms", "start s"))
        print("%8d %8d %7d %9.2f %12.2f %12.2f %9.2f" % (
            c["sets"], c["listed"], c["pages"], c["total_s"], c["page_ms_p50"],
            c["page_ms_max"], c["start_s"]))
        if not c["complete"]:
            print("        ! incomplete: the --c-budget of %d s ran out (%d of %d sets listed)"
                  % (a.c_budget, c["listed"], c["sets"]))
        print("(start s: from starting r53d to its API answering, loading the zone file included)")


def find_r53d(a):
    if a.r53d:
        return a.r53d if os.access(a.r53d, os.X_OK) else None
    for b in ("build-bench", "build-api", "build"):
        p = os.path.join(REPO, b, "server", "r53d")
        if os.access(p, os.X_OK):
            return p
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--r53d", help="r53d binary (default: build-bench/, build-api/ or build/)")
    ap.add_argument("--only", default="a,b,c", help="comma list of a, b, c")
    ap.add_argument("--changes", type=int, default=1000, help="(a) changes measured")
    ap.add_argument("--zone-sets", type=int, default=10000, help="(a)(b) record sets in the zone")
    ap.add_argument("--a-stores", default="lmdb,memory", help="(a) stores to measure")
    ap.add_argument("--a-budget", type=int, default=90,
                    help="(a) seconds per store for the changes (fewer are measured if spent)")
    ap.add_argument("--c-budget", type=int, default=150,
                    help="(c) seconds for the listing (stops early and says so if spent)")
    ap.add_argument("--rate", type=float, default=1000, help="(b) changes per minute")
    ap.add_argument("--seconds", type=int, default=60, help="(b) length of each window")
    ap.add_argument("--b-repeats", type=int, default=1,
                    help="(b) pairs of windows (without/with changes, order alternating)")
    ap.add_argument("--dnsperf", default=DEFAULT_DNSPERF, help="(b) dnsperf load options")
    ap.add_argument("--list-sets", type=int, default=100000, help="(c) record sets in the zone")
    ap.add_argument("--workers", type=int, default=1, help="r53d DNS worker threads")
    ap.add_argument("--server-cpu", default="0", help="taskset CPU list for r53d ('' = none)")
    ap.add_argument("--client-cpu", default="1", help="taskset CPU list for dnsperf")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--tmp", default=None, help="where the stores go (default: $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    a = ap.parse_args()
    a.only = {x for x in a.only.split(",") if x}
    a.r53d = find_r53d(a)
    if not a.r53d:
        die("no r53d binary: give --r53d PATH")
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        a.server_cpu = a.client_cpu = None
    a.server_cpu = a.server_cpu or None
    a.client_cpu = a.client_cpu or None
    if "b" in a.only and not shutil.which("dnsperf"):
        die("dnsperf not found: run contrib/deps.sh --bench")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    a.rundir = os.path.join(a.out, "api-" + stamp)
    os.makedirs(a.rundir, exist_ok=True)

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    res = {"date": stamp, "r53d": a.r53d, "args": {k: (sorted(v) if isinstance(v, set) else v)
                                                   for k, v in vars(a).items()},
           "load_before": open("/proc/loadavg").read().split()[:3]}
    try:
        src = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        src = "?"
    res["source"] = src
    t0 = time.monotonic()
    try:
        if "a" in a.only:
            res["a"] = []
            for store in [s for s in a.a_stores.split(",") if s]:
                log("api_bench: (a) %s store" % store)
                res["a"].append(bench_a(a, store))
        if "b" in a.only:
            log("api_bench: (b) %d s windows" % a.seconds)
            res["b"] = bench_b(a)
        if "c" in a.only:
            log("api_bench: (c) %d sets" % a.list_sets)
            res["c"] = bench_c(a)
    except KeyboardInterrupt:
        log("api_bench: interrupted")
        return 130
    finally:
        for s in list(LIVE):
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping
                log("api_bench: stopping %s: %s" % (s.label, e))
    res["load_after"] = open("/proc/loadavg").read().split()[:3]
    res["elapsed_s"] = time.monotonic() - t0
    with open(os.path.join(a.rundir, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    print("api_bench: r53d %s (source %s), load average %s -> %s, %.0f s" % (
        a.r53d, src, " ".join(res["load_before"]), " ".join(res["load_after"]), res["elapsed_s"]))
    print_results(res, a)
    print("\nraw results: %s" % os.path.join(a.rundir, "results.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
