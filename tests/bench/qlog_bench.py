#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""qlog_bench.py -- what the query log costs (issue 11): server CPU per query with the log
on against the log off, and whether a line is ever lost below the disk's speed.

    tests/bench/qlog_bench.py --r53d build-rel/server/r53d
    tests/bench/qlog_bench.py --r53d ... --formats route53,text,json --seconds 10 --repeats 5
    tests/bench/qlog_bench.py --r53d ... --rate 20000 --rate-seconds 30

Part 1 (CPU): one r53d with the log off and one per format with the log on (same zone and
configuration otherwise, one worker each), all pinned to the same CPU; dnsperf (pinned to
another) sends at full rate in windows that rotate over the servers, so each gets the same
conditions. CPU is utime+stime of the server process from /proc (every thread: the worker
and the logger), divided by the queries dnsperf completed. Pass: the median of the log-on
windows is at most --limit (1.10) times the log-off median.

Part 2 (no line lost): the route53 instance at a fixed offered rate (dnsperf -Q); the lines
the log gained must equal the queries r53d answered (its /metrics) and be at least dnsperf's
completed queries, with nothing dropped.

Only loopback; every process is started, bounded in time and stopped by its PID. Writes its
files under tests/bench/out/qlog-DATE/ (the logs land on that disk). Not run by CTest.
"""
import argparse
import datetime
import http.client
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_zone  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
ADDR = "127.0.0.1"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sched_ns(pid):
    """Run time of every thread of a process in ns (schedstat), or None when it is gone."""
    tot = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                tot += int(f.read().split()[0])
    except OSError:
        return None
    return tot


def cpu_ticks(pid):
    """utime+stime of a process (all its threads), or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


from bench import free_port  # noqa: E402,F401  (the same port rule as bench.py)


def metrics(port):
    c = http.client.HTTPConnection(ADDR, port, timeout=5)
    try:
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
    finally:
        c.close()
    out = {}
    for line in body.splitlines():
        m = re.match(r"^(\S+) (\S+)$", line)
        if m and not line.startswith("#"):
            out[m.group(1)] = float(m.group(2))
    return out


def count_lines(path):
    n = 0
    try:
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                n += b.count(b"\n")
    except OSError:
        pass
    return n


class R53d:
    def __init__(self, a, label, meta, fmt):
        self.label, self.fmt = label, fmt
        self.port, self.admin = free_port(), free_port()
        self.logfile = os.path.join(a.rundir, "%s.queries.log" % label) if fmt else None
        cfg = {"listen": ["%s:%d" % (ADDR, self.port)], "workers": 1,
               "admin": {"listen": "%s:%d" % (ADDR, self.admin)},
               "hosted_zones": [{"HostedZone": {"Id": "/hostedzone/ZBENCH",
                                                "Name": meta["origin"]},
                                 "zone_file": meta["zone_file"]}]}
        if fmt:
            cfg.update(query_log=self.logfile, query_log_format=fmt, server_id="BENCH1")
        self.conf = os.path.join(a.rundir, "%s.json" % label)
        with open(self.conf, "w") as f:
            json.dump(cfg, f, indent=1)
        self.errlog = open(os.path.join(a.rundir, "%s.stderr" % label), "w")
        argv = ["taskset", "-c", str(a.server_cpu), a.r53d, "-c", self.conf]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.errlog,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                metrics(self.admin)
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # our own PID (taskset execs r53d)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.errlog.close()


def parse_dnsperf(text):
    r = {}
    for k, p in {"sent": r"Queries sent:\s+(\d+)", "completed": r"Queries completed:\s+(\d+)",
                 "lost": r"Queries lost:\s+(\d+)", "qps": r"Queries per second:\s+([\d.]+)",
                 "runtime": r"Run time \(s\):\s+([\d.]+)"}.items():
        m = re.search(p, text)
        if m:
            r[k] = float(m.group(1))
    return r


def dnsperf(a, srv, seconds, rate, tag):
    args = ["taskset", "-c", str(a.client_cpu), "dnsperf", "-s", ADDR, "-p", str(srv.port),
            "-d", a.meta["queries_file"], "-l", str(seconds), "-t", "2"] + shlex.split(a.dnsperf)
    if rate:
        args += ["-Q", str(rate)]
    out = os.path.join(a.rundir, "dnsperf-%s.txt" % tag)
    c0, n0, t0 = cpu_ticks(srv.proc.pid), sched_ns(srv.proc.pid), time.monotonic()
    with open(out, "w") as f:
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            p.wait(seconds + 40)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    c1, n1 = cpu_ticks(srv.proc.pid), sched_ns(srv.proc.pid)
    with open(out) as f:
        r = parse_dnsperf(f.read())
    r["cpu_s"] = (c1 - c0) / CLK_TCK if c0 is not None and c1 is not None else float("nan")
    r["wall_s"] = time.monotonic() - t0
    done = r.get("completed", 0)
    r["us_per_q"] = r["cpu_s"] * 1e6 / done if done else float("inf")
    r["sched_us_per_q"] = (n1 - n0) / 1e3 / done if done and n0 and n1 else float("inf")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--r53d", required=True, help="r53d binary (a Release build)")
    ap.add_argument("--formats", default="route53", help="log-on instances: route53,text,json")
    ap.add_argument("--seconds", type=int, default=10, help="each full-rate window")
    ap.add_argument("--repeats", type=int, default=5, help="windows per server")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--limit", type=float, default=1.10, help="pass: on/off CPU ratio at most")
    ap.add_argument("--rate", type=int, default=20000, help="part 2: dnsperf -Q (0: skip)")
    ap.add_argument("--rate-seconds", type=int, default=20)
    ap.add_argument("--names", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=100000)
    ap.add_argument("--dnsperf", default="-c 8 -q 200", help="extra dnsperf arguments")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    a = ap.parse_args()
    a.r53d = os.path.abspath(a.r53d)
    a.rundir = os.path.join(a.out, "qlog-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(a.rundir)
    zd = os.path.join(a.out, "qlog-zone-%d" % a.names)
    mp = os.path.join(zd, "meta.json")
    if os.path.exists(mp):
        with open(mp) as f:
            a.meta = json.load(f)
    else:
        os.makedirs(zd, exist_ok=True)
        a.meta = gen_zone.generate(a.names, "bench.test.", 1, a.queries, zd)

    fmts = [f for f in a.formats.split(",") if f]
    servers = [R53d(a, "off", a.meta, None)] + [R53d(a, "on-" + f, a.meta, f) for f in fmts]
    rc = 0
    try:
        for s in servers:
            if not s.wait_ready(120):
                log("qlog_bench: %s did not start; see %s" % (s.label, s.errlog.name))
                return 2
        for s in servers:
            dnsperf(a, s, a.warmup, 0, s.label + "-warmup")
        runs = {s.label: [] for s in servers}
        for rep in range(a.repeats):
            order = servers[rep % len(servers):] + servers[:rep % len(servers)]
            for s in order:
                r = dnsperf(a, s, a.seconds, 0, "%s-%d" % (s.label, rep + 1))
                runs[s.label].append(r)
                log("qlog_bench: run %d/%d %-12s %8.0f qps %7.2f us/q (schedstat %.2f) "
                    "lost %d" % (rep + 1, a.repeats, s.label, r.get("qps", 0), r["us_per_q"],
                                 r["sched_us_per_q"], r.get("lost", 0)))
        # Other processes share the machine: a window's CPU per query moves with them. Each
        # round runs every server once, back to back, so the ratio of a round compares like
        # with like; the verdict is the median of the rounds' ratios.
        off = statistics.median(r["us_per_q"] for r in runs["off"])
        offs = statistics.median(r["sched_us_per_q"] for r in runs["off"])
        print("CPU per query, %d rounds of %d s windows at full rate (dnsperf %s), server "
              "(worker and logger threads) on CPU %d, dnsperf on CPU %d:" % (
                  a.repeats, a.seconds, a.dnsperf, a.server_cpu, a.client_cpu))
        print("  %-12s %6.2f us/q (schedstat %6.2f)  %8.0f qps" % (
            "off", off, offs, statistics.median(r.get("qps", 0) for r in runs["off"])))
        for s in servers[1:]:
            on = statistics.median(r["us_per_q"] for r in runs[s.label])
            ons = statistics.median(r["sched_us_per_q"] for r in runs[s.label])
            ratios = [x["us_per_q"] / y["us_per_q"] for x, y in zip(runs[s.label], runs["off"])]
            sratios = [x["sched_us_per_q"] / y["sched_us_per_q"]
                       for x, y in zip(runs[s.label], runs["off"])]
            ratio = statistics.median(ratios)
            m = metrics(s.admin)
            ok = ratio <= a.limit
            rc |= 0 if ok else 1
            print("  %-12s %6.2f us/q (schedstat %6.2f)  %8.0f qps  ratio %.3f (schedstat "
                  "%.3f; rounds %s) limit %.2f: %s; lines %d, dropped %d" % (
                      s.label, on, ons, statistics.median(r.get("qps", 0) for r in
                                                          runs[s.label]),
                      ratio, statistics.median(sratios),
                      " ".join("%.2f" % x for x in ratios), a.limit,
                      "PASS" if ok else "FAIL", m["r53d_query_log_lines_total"],
                      m["r53d_query_log_dropped_total"]))
        if a.rate:
            s = next((x for x in servers if x.fmt == "route53"), servers[-1])
            if s.fmt is None:
                log("qlog_bench: part 2 needs a log-on instance")
                return 2
            m0, l0 = metrics(s.admin), count_lines(s.logfile)
            r = dnsperf(a, s, a.rate_seconds, a.rate, s.label + "-rate")
            deadline = time.monotonic() + 10
            while True:  # the logger writes within milliseconds; bounded wait
                m1 = metrics(s.admin)
                answered = m1["r53d_queries_total"] - m0["r53d_queries_total"]
                written = m1["r53d_query_log_lines_total"] - m0["r53d_query_log_lines_total"]
                if written >= answered or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            lines = count_lines(s.logfile) - l0
            dropped = m1["r53d_query_log_dropped_total"] - m0["r53d_query_log_dropped_total"]
            ok = lines == answered and lines >= r.get("completed", 0) and dropped == 0
            rc |= 0 if ok else 1
            print("No line lost at %d qps offered for %d s (%s): dnsperf completed %d (lost "
                  "%d), r53d answered %d, lines %d, dropped %d, file %.1f MB: %s" % (
                      a.rate, a.rate_seconds, s.fmt, r.get("completed", 0), r.get("lost", 0),
                      answered, lines, dropped, os.path.getsize(s.logfile) / 1e6,
                      "PASS" if ok else "FAIL"))
    finally:
        for s in servers:
            s.stop()
        for s in servers:  # the logs are large; keep the last 1000 lines
            if s.logfile and os.path.exists(s.logfile):
                subprocess.run(["sh", "-c", 'tail -n 1000 "$1" > "$1.tail" && rm -f "$1"', "-",
                                s.logfile], check=False)
    print("files in %s" % a.rundir)
    return rc


if __name__ == "__main__":
    sys.exit(main())
