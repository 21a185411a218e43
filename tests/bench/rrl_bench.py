#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""rrl_bench.py -- the CPU cost of response rate limiting (issue 11): server CPU per query
with RRL on and no client over the limit, against RRL off. Not run by CTest.

    tests/bench/rrl_bench.py --r53d build-rel/server/r53d
    tests/bench/rrl_bench.py --r53d build-rel/server/r53d --seconds 10 --repeats 7
    tests/bench/rrl_bench.py --r53d build-rel/server/r53d --aa     # both off: the noise

Two r53d instances (one worker each, pinned to the same CPU) serve the generated benchmark
zone (gen_zone.py: 80% positive, NXDOMAIN, NODATA, wildcard and referral answers):
  off  without an rrl key;
  on   rrl with responses_per_second 1000000 (the largest accepted; --rrl-rate) and nothing
       exempt, so that RRL checks every response and limits none (dnsperf asks from one
       address, 127.0.0.0/24: an exempt source would skip the check). Its network is
       within the rate, so responses take RRL's fast path (rrl.c net_fast). With
       --rate R --rrl-rate L (L below R, above any one account's rate: e.g. 20000 and
       10000) the network is over the rate and every response is charged to its own
       account (the slow path), still none limited.
Two dnsperf (pinned to another CPU) ask both at the same time, each as fast as its server
answers (or at a fixed rate with --rate; at a low fixed rate the CPU per query is dominated
by wake-ups and batch sizes, not by the work per query), for --repeats windows: load from
elsewhere on a shared machine then falls on both alike, and the ratio within each window is
what counts (the median of the windows' ratios); server CPU comes from /proc (utime+stime ticks
and schedstat ns of every thread, as bench.py measures it). The result is the median CPU
per answered query of each and their ratio; the goal is on/off <= 1.03. /metrics of the
"on" instance must show every query charged (r53d_rrl_checked_total) and none limited.
Only loopback; both servers are stopped by PID.
"""
import argparse
import http.client
import json
import os
import re
import shlex
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (helpers: /proc CPU, dnsperf parsing, the zone generator)
import gen_zone  # noqa: E402

ADDR = "127.0.0.1"
GOAL = 1.03


def log(msg):
    print(msg, file=sys.stderr, flush=True)


from bench import free_port  # noqa: E402,F401  (the same port rule as bench.py)


def answers(port, qname):
    """One UDP query (A); True when a reply with the same id comes back within 50 ms."""
    labels = b"".join(bytes([len(x)]) + x.encode() for x in qname.rstrip(".").split("."))
    wire = struct.pack("!6H", 0x5253, 0, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.05)
        try:
            s.sendto(wire, (ADDR, port))
            return s.recv(4096)[:2] == wire[:2]
        except OSError:
            return False


def metrics(port):
    c = http.client.HTTPConnection(ADDR, port, timeout=5)
    try:
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
    finally:
        c.close()
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


class Instance:
    def __init__(self, a, label, meta, rrl, wrap=None):
        self.label = label
        self.port, self.admin = free_port(), free_port()
        cfg = {"listen": ["%s:%d" % (ADDR, self.port)], "workers": 1,
               "admin": {"listen": "%s:%d" % (ADDR, self.admin)},
               "hosted_zones": [{"HostedZone": {"Id": "/hostedzone/ZRRLBENCH",
                                                "Name": meta["origin"]},
                                 "zone_file": meta["zone_file"]}]}
        if rrl:
            cfg["rrl"] = rrl
        self.conf = os.path.join(a.rundir, label + ".json")
        with open(self.conf, "w") as f:
            json.dump(cfg, f, indent=1)
        self.logf = open(os.path.join(a.rundir, label + ".log"), "w")
        argv = [a.r53d, "-c", self.conf]
        if wrap:
            argv = wrap + argv
        elif a.server_cpu is not None:
            argv = ["taskset", "-c", str(a.server_cpu)] + argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + a.load_limit
        while not answers(self.port, meta["probe"]):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("rrl_bench: %s did not start; see %s" %
                                 (label, self.logf.name))
            time.sleep(0.02)
        self.pids = bench.descendants(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()   # our own child, by PID
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.logf.close()


def window(a, insts, meta, seconds, tag):
    """One dnsperf window against each instance given, all at the same time (so that load
    from elsewhere on the machine falls on them alike); server CPU from /proc before and
    after. Returns one result per instance."""
    procs, outs, c0, ns0 = [], [], [], []
    for inst in insts:
        c0.append(bench.cpu_ticks(inst.pids))
        ns0.append(bench.schedstat_ns(inst.pids))
    for inst in insts:
        args = ["dnsperf", "-s", ADDR, "-p", str(inst.port), "-d", meta["queries_file"],
                "-l", str(seconds)] + (["-Q", str(a.rate)] if a.rate else []) + \
            shlex.split(a.dnsperf)
        if a.client_cpu is not None:
            args = ["taskset", "-c", str(a.client_cpu)] + args
        out = os.path.join(a.rundir, "dnsperf-%s-%s.txt" % (inst.label, tag))
        outs.append(out)
        with open(out, "w") as f:
            procs.append(subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL))
    for p in procs:
        try:
            p.wait(seconds + 60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    res = []
    for k, inst in enumerate(insts):
        c1, ns1 = bench.cpu_ticks(inst.pids), bench.schedstat_ns(inst.pids)
        with open(outs[k]) as f:
            r = bench.parse_dnsperf(f.read())
        done = r.get("completed", 0)
        ticks = sum(c1.get(p, c0[k][p]) - c0[k][p] for p in c0[k])
        r["cpu_s"] = ticks / bench.CLK_TCK
        r["sched_s"] = (ns1 - ns0[k]) / 1e9
        r["us_per_q"] = r["cpu_s"] * 1e6 / done if done else float("inf")
        r["sched_us_per_q"] = r["sched_s"] * 1e6 / done if done else float("inf")
        res.append(r)
    return res


def callgrind(a, meta, rrl):
    """User-space instructions per query under callgrind (deterministic, unlike CPU time on
    a shared machine; the kernel's share of a query, the same with and without RRL, is not
    counted, so the ratio is an upper bound), and rrl_apply's inclusive share."""
    qfile = os.path.join(a.rundir, "cg-queries.txt")
    with open(meta["queries_file"]) as f, open(qfile, "w") as o:
        for i, line in enumerate(f):
            if i >= a.cg_queries:
                break
            o.write(line)
    out = {}
    for label, conf in (("off", None), ("on", rrl)):
        cgout = os.path.join(a.rundir, "callgrind-%s.out" % label)
        inst = Instance(a, "cg-" + label, meta, conf,
                        wrap=["valgrind", "--tool=callgrind", "--instr-atstart=no",
                              "--callgrind-out-file=" + cgout])
        try:
            pid = str(inst.proc.pid)
            subprocess.run(["callgrind_control", "-i", "on", pid], check=True,
                           stdout=subprocess.DEVNULL, timeout=60)
            dnsperf = ["dnsperf", "-s", ADDR, "-p", str(inst.port), "-d", qfile, "-n", "1",
                       "-q", "20", "-t", "10"]
            subprocess.run(dnsperf, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                           timeout=600)  # warm-up pass, not counted
            subprocess.run(["callgrind_control", "-z", pid], check=True,
                           stdout=subprocess.DEVNULL, timeout=60)
            txt = subprocess.run(dnsperf, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=600).stdout.decode()
            subprocess.run(["callgrind_control", "-d", pid], check=True,
                           stdout=subprocess.DEVNULL, timeout=60)
        finally:
            inst.stop()
        dumps = sorted(f for f in os.listdir(a.rundir)
                       if f.startswith("callgrind-%s.out." % label))
        path = os.path.join(a.rundir, dumps[0])
        ir = None
        with open(path) as f:
            for line in f:
                if line.startswith(("totals:", "summary:")):
                    ir = int(line.split()[1])
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                              "--auto=no", path],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
        rrl_ir = 0
        for line in ann.splitlines():
            m = re.match(r"^\s*([\d,]+)\s.*\brrl_apply\b", line)
            if m:
                rrl_ir = max(rrl_ir, int(m.group(1).replace(",", "")))
        done = bench.parse_dnsperf(txt).get("completed", 0)
        out[label] = {"ir": ir, "completed": done, "ir_per_q": ir / done if done else 0,
                      "rrl_apply_ir": rrl_ir, "dump": path}
        log("rrl_bench: callgrind %s: %d queries, %.0f instructions per query, rrl_apply %.0f"
            % (label, done, out[label]["ir_per_q"], rrl_ir / done if done else 0))
    out["ratio"] = out["on"]["ir_per_q"] / out["off"]["ir_per_q"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--r53d", required=True, help="r53d binary (a release build)")
    ap.add_argument("--seconds", type=int, default=10, help="dnsperf seconds per window")
    ap.add_argument("--repeats", type=int, default=5, help="measured windows per instance")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured seconds first, each")
    ap.add_argument("--rate", type=int, default=0,
                    help="offered queries/s (dnsperf -Q); 0 (default): as fast as the server "
                         "answers, so that its CPU is busy and batches are full")
    ap.add_argument("--rrl-rate", type=int, default=1000000,
                    help="responses_per_second of the on instance (default: the largest); "
                         "below the offered rate (with --rate) every response goes to its "
                         "account: e.g. --rate 20000 --rrl-rate 10000")
    ap.add_argument("--aa", action="store_true",
                    help="calibration: both instances without rrl (the ratio shows the noise)")
    ap.add_argument("--dnsperf", default="-T 1 -c 8 -q 500", help="further dnsperf options")
    ap.add_argument("--names", type=int, default=100000, help="zone size (gen_zone.py)")
    ap.add_argument("--queries", type=int, default=200000, help="lines in the query file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--origin", default="bench.test.")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--load-limit", type=int, default=300)
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--callgrind", action="store_true",
                    help="also count user-space instructions per query under callgrind")
    ap.add_argument("--cg-queries", type=int, default=20000,
                    help="queries counted under callgrind (one pass, after a warm-up pass)")
    a = ap.parse_args()
    a.r53d = os.path.abspath(a.r53d)
    a.rundir = os.path.join(a.out, "rrl-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(a.rundir, exist_ok=True)

    zd = os.path.join(a.out, "zone-%d-s%d" % (a.names, a.seed))
    mp = os.path.join(zd, "meta.json")
    meta = None
    if os.path.exists(mp):
        with open(mp) as f:
            meta = json.load(f)
        if meta.get("queries") != a.queries or not os.path.exists(meta["zone_file"]):
            meta = None
    if meta is None:
        os.makedirs(zd, exist_ok=True)
        log("rrl_bench: generating a zone of %d names in %s" % (a.names, zd))
        meta = gen_zone.generate(a.names, a.origin, a.seed, a.queries, zd)

    rrl = {"responses_per_second": a.rrl_rate, "slip": 2, "ipv4_prefix": 24, "ipv6_prefix": 56,
           "window": 15}
    insts = []
    try:
        insts.append(Instance(a, "off", meta, None))
        insts.append(Instance(a, "on", meta, None if a.aa else rrl))
        window(a, insts, meta, a.warmup, "warmup")
        m0 = metrics(insts[1].admin)  # (all zero with --aa)
        runs = {"off": [], "on": []}
        for rep in range(a.repeats):
            both = window(a, insts, meta, a.seconds, str(rep))
            for i, r in zip(insts, both):
                runs[i.label].append(r)
                log("rrl_bench: %-3s run %d: %6.0f q/s answered, lost %d, %.3f us/q (ticks), "
                    "%.3f us/q (schedstat)" % (i.label, rep + 1, r.get("qps", 0),
                                               r.get("lost", 0), r["us_per_q"],
                                               r["sched_us_per_q"]))
        m1 = metrics(insts[1].admin)
    finally:
        for i in insts:
            i.stop()

    def med(label, key):
        return statistics.median(r[key] for r in runs[label])

    completed_on = sum(r.get("completed", 0) for r in runs["on"])
    checked = m1["r53d_rrl_checked_total"] - m0["r53d_rrl_checked_total"]
    accounted = (m1.get("r53d_rrl_accounted_total", 0) -
                 m0.get("r53d_rrl_accounted_total", 0))
    limited = (m1["r53d_rrl_dropped_total"] + m1["r53d_rrl_slipped_total"] -
               m0["r53d_rrl_dropped_total"] - m0["r53d_rrl_slipped_total"])
    res = {
        "rate": a.rate, "seconds": a.seconds, "repeats": a.repeats, "names": a.names,
        "dnsperf": a.dnsperf, "r53d": a.r53d,
        "off_us_per_q": med("off", "us_per_q"), "on_us_per_q": med("on", "us_per_q"),
        "off_sched_us_per_q": med("off", "sched_us_per_q"),
        "on_sched_us_per_q": med("on", "sched_us_per_q"),
        "on_completed": completed_on, "on_rrl_checked": checked, "on_rrl_limited": limited,
        "on_rrl_accounted": accounted, "rrl_rate": a.rrl_rate,
        "lost": {k: sum(r.get("lost", 0) for r in v) for k, v in runs.items()},
        "runs": {k: [{x: r[x] for x in ("qps", "completed", "lost", "us_per_q",
                                        "sched_us_per_q") if x in r} for r in v]
                 for k, v in runs.items()},
    }
    res["ratio"] = res["on_us_per_q"] / res["off_us_per_q"]
    # each repeat measured off and on at the same time: the ratio within a pair is much
    # less sensitive to load from elsewhere (which drifts over minutes) than the medians
    res["pair_ratios_sched"] = [on["sched_us_per_q"] / off["sched_us_per_q"]
                                for off, on in zip(runs["off"], runs["on"])]
    res["pair_ratio_sched"] = statistics.median(res["pair_ratios_sched"])
    res["min_ratio_sched"] = (min(r["sched_us_per_q"] for r in runs["on"]) /
                              min(r["sched_us_per_q"] for r in runs["off"]))
    if a.callgrind and not a.aa:
        res["callgrind"] = callgrind(a, meta, rrl)
    res["ratio_sched"] = res["on_sched_us_per_q"] / res["off_sched_us_per_q"]
    with open(os.path.join(a.rundir, "result.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("RRL cost%s, %s offered, %d x %d s per instance, %d-name zone (median of runs):" %
          (" (A/A calibration: rrl off in both)" if a.aa else "",
           "%d q/s" % a.rate if a.rate else "saturating load", a.repeats, a.seconds, a.names))
    print("  rrl off: %.3f us CPU per query (schedstat %.3f)" %
          (res["off_us_per_q"], res["off_sched_us_per_q"]))
    print("  rrl on:  %.3f us CPU per query (schedstat %.3f)" %
          (res["on_us_per_q"], res["on_sched_us_per_q"]))
    print("  on/off:  %.3f (schedstat %.3f) of the medians; %.3f median of the %d simultaneous "
          "pairs (%s); %.3f of the minima" %
          (res["ratio"], res["ratio_sched"], res["pair_ratio_sched"], a.repeats,
           " ".join("%.3f" % x for x in res["pair_ratios_sched"]), res["min_ratio_sched"]))
    print("  goal on/off <= %.2f (median of pairs): %s" %
          (GOAL, "met" if res["pair_ratio_sched"] <= GOAL else "NOT met"))
    print("  rrl on (%d/s): %d responses checked for %d answered (warm-up excluded), %d of "
          "them charged to their accounts, %d limited" %
          (a.rrl_rate, checked, completed_on, accounted, limited))
    cg = res.get("callgrind")
    if cg:
        print("  callgrind (user space, %d queries): %.0f instructions per query off, %.0f on: "
              "%.4f; rrl_apply %.0f per query" %
              (cg["on"]["completed"], cg["off"]["ir_per_q"], cg["on"]["ir_per_q"], cg["ratio"],
               cg["on"]["rrl_apply_ir"] / max(1, cg["on"]["completed"])))
    print("  results: %s" % os.path.join(a.rundir, "result.json"))
    ok = limited == 0 and (a.aa or checked >= completed_on)
    if not ok:
        print("  INVALID: the on instance limited responses or did not charge every one")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
