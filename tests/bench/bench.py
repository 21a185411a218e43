#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench.py -- r53d against NSD, Knot, gdnsd and a bare UDP echo: server CPU per query,
policy scenarios, zone load time and memory, and the reload of one small zone beside a big
one. See README.md beside this file. Not run by CTest.

    tests/bench/run.sh                       # everything, defaults below (about 10 minutes)
    tests/bench/run.sh --seconds 20 --repeats 5
    tests/bench/run.sh --only throughput     # one part: throughput, scale or reload
    tests/bench/run.sh --only scale --scale 100000,1000000
    tests/bench/run.sh --only reload --reload-names 1000000
    tests/bench/run.sh --tune                # sweep dnsperf -T/-c/-q against echo and NSD
    tests/bench/run.sh --scenario static     # no policy scenarios (default: all five)

Only loopback; every process it starts is pinned, bounded in time and stopped by PID.
"""
import argparse
import datetime
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import gen_zone  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
ADDR = "127.0.0.1"
ZONE_ID = "/hostedzone/ZBENCH"
# Scenarios of issue 4. Each is provided as tests/bench/scenarios/NAME/scenario.json
# (see scenarios/README.md); without scenarios/static/, "static" is the r53d row.
KNOWN_SCENARIOS = {
    "static": "a simple A record set of the same zone, same query shape (the reference; "
              "without scenarios/static/, the generated zone's query mix)",
    "weighted": "a weighted record set",
    "geo-ecs": "a geolocation record set, queries carrying EDNS Client Subnet",
    "latency": "a latency record set",
    "alias-failover": "an alias record to a failover tree",
}
DEFAULT_DNSPERF = "-T 2 -c 16 -q 500"

LIVE = []  # every Server started and not yet stopped, for cleanup
GIVEN_PORTS = set()  # every port free_port() returned


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log("bench: " + msg)
    sys.exit(2)


# ---------------------------------------------------------------------------- /proc

def proc_stat(pid):
    """(ppid, utime+stime ticks, starttime) of one process, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime is field 14, stime 15, starttime 22.
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[19])


def descendants(root):
    """root and every process below it, as {pid: starttime}."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st:
            children.setdefault(st[0], []).append((int(d), st[2]))
    rs = proc_stat(root)
    if not rs:
        return {}
    out = {root: rs[2]}
    todo = [root]
    while todo:
        p = todo.pop()
        for c, start in children.get(p, ()):
            if c not in out:
                out[c] = start
                todo.append(c)
    return out


def cpu_ticks(pids):
    """{pid: utime+stime} for the given {pid: starttime}; a reused pid counts as gone."""
    out = {}
    for pid, start in pids.items():
        st = proc_stat(pid)
        if st and st[2] == start:
            out[pid] = st[1]
    return out


def schedstat_ns(pids):
    """Sum of sum_exec_runtime (ns) over every thread of the given processes (cross-check)."""
    tot = 0
    for pid in pids:
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    tot += int(f.read().split()[0])
        except OSError:
            pass
    return tot


def memory_kb(pids):
    """(sum of VmRSS, sum of Pss, sum of VmHWM) in kB over the given processes."""
    rss = pss = hwm = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss, hwm


# ---------------------------------------------------------------------------- DNS bits

def free_port():
    """A port free for both UDP and TCP on the loopback address, below the ephemeral range:
    a server binds seconds after we choose (after loading its zone), and the probes, dig and
    dnsperf take ephemeral ports meanwhile, so a port from that range could be gone."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    lo = max(1024, low - 12000)
    for _ in range(200):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((ADDR, random.randrange(lo, low) if low - lo >= 1000 else 0))
        except OSError:
            u.close()
            continue
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if port in GIVEN_PORTS:  # handed out already, maybe not bound yet
                continue
            t.bind((ADDR, port))
            GIVEN_PORTS.add(port)
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    die("no free port")


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def skip_name(pkt, off):
    while True:
        n = pkt[off]
        if n >= 0xC0:
            return off + 2
        if n == 0:
            return off + 1
        off += 1 + n


def probe(port, qname, want_rdata, timeout=0.05):
    """True if the server at port answers qname/A authoritatively with want_rdata first."""
    qid = random.randrange(65536)
    pkt = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + wire_name(qname) + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect((ADDR, port))
        s.send(pkt)
        r = s.recv(4096)
    except (OSError, socket.timeout):
        return False
    finally:
        s.close()
    if len(r) < 12:
        return False
    rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
    if rid != qid or not flags & 0x8000 or not flags & 0x0400 or flags & 0xF or an < 1:
        return False
    try:
        off = skip_name(r, 12) + 4
        off = skip_name(r, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[off:off + 10])
        return rtype == 1 and socket.inet_ntoa(r[off + 10:off + 10 + rdlen]) == want_rdata
    except (IndexError, struct.error, OSError):
        return False


def dig(port, qname, qtype):
    """(status, flags set, {section: sorted normalised RR lines}) from dig, or None."""
    cmd = ["dig", "+norec", "+nocookie", "+time=1", "+tries=2", "-p", str(port), "@" + ADDR,
           qname, qtype, "+noall", "+comments", "+answer", "+authority", "+additional"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except subprocess.TimeoutExpired:
        return None
    status, flags, sect, secs = None, set(), None, {"ANSWER": [], "AUTHORITY": [], "ADDITIONAL": []}
    for line in out.splitlines():
        m = re.search(r"status: (\w+)", line)
        if m:
            status = m.group(1)
        m = re.match(r";; flags: ([a-z ]*);", line)
        if m:
            flags = set(m.group(1).split())
        m = re.match(r";; (\w+) SECTION:", line)
        if m:
            sect = m.group(1)
            continue
        if line.startswith(";") or not line.strip():
            continue
        if sect in secs:
            secs[sect].append(" ".join(line.lower().split()))
    if status is None:
        return None
    return status, flags, {k: sorted(v) for k, v in secs.items()}


def expect_class(cls, res):
    """Does a dig result fit the query's class in the generated mix? '' if so, else why."""
    status, flags, s = res
    if cls == "pos" or cls == "wild":
        ok = status == "NOERROR" and "aa" in flags and s["ANSWER"]
    elif cls == "nx":
        ok = status == "NXDOMAIN" and "aa" in flags and not s["ANSWER"]
    elif cls == "nodata":
        ok = status == "NOERROR" and "aa" in flags and not s["ANSWER"] and \
            any(" soa " in r for r in s["AUTHORITY"])
    else:  # referral
        ok = status == "NOERROR" and "aa" not in flags and not s["ANSWER"] and \
            any(" ns " in r for r in s["AUTHORITY"])
    return "" if ok else "expected a %s answer" % cls


# ---------------------------------------------------------------------------- servers

class Server:
    """One server instance we started: its PID, its port, its processes."""

    def __init__(self, kind, label, argv, port, logpath, cpu, env=None):
        self.kind, self.label, self.port, self.logpath = kind, label, port, logpath
        self.argv = (["taskset", "-c", str(cpu)] if cpu is not None else []) + argv
        self.env = env
        self.proc = None
        self.pids = {}

    def start(self):
        self.logf = open(self.logpath, "w")
        self.t_start = time.monotonic()
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True, env=env)
        LIVE.append(self)

    def wait_ready(self, probe_name, probe_rdata, limit, since_start=True):
        """Poll until the probe answers; returns seconds from start, or None. The limit
        counts from the start, or from now (since_start=False)."""
        deadline = (self.t_start if since_start else time.monotonic()) + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return None
            if probe(self.port, probe_name, probe_rdata):
                t = time.monotonic() - self.t_start
                self.refresh_pids()
                return t
            time.sleep(0.005)
        return None

    def refresh_pids(self):
        # taskset execs the server, so proc.pid is the server's own PID.
        d = descendants(self.proc.pid)
        self.pids.update(d)
        return d

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.refresh_pids()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # Children (NSD's xfrd and server) end with their parent; make sure, by PID.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and cpu_ticks(self.pids):
            time.sleep(0.05)
        for pid in cpu_ticks(self.pids):  # still there, same start time: ours
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None
        self.logf.close()
        if self in LIVE:
            LIVE.remove(self)

    def tail_log(self, n=15):
        try:
            with open(self.logpath) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def r53d_server(a, label, binary, zone_meta, port, extra=None, cfgdir=None):
    cfg = {"listen": ["%s:%d" % (ADDR, port)], "workers": 1,
           "hosted_zones": [{"HostedZone": {"Id": ZONE_ID, "Name": zone_meta["origin"]},
                             "zone_file": zone_meta["zone_file"]}]}
    if a.minimal:
        cfg["authority_ns"] = False
    if extra:
        cfg.update(extra)
        cfg["listen"], cfg["workers"] = ["%s:%d" % (ADDR, port)], 1
    path = os.path.join(cfgdir or a.rundir, "%s.json" % label)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return Server("r53d", label, [binary, "-c", path], port,
                  os.path.join(a.rundir, "%s.log" % label), a.server_cpu)


def nsd_server(a, label, zone_meta, port):
    d = os.path.join(a.rundir, label)
    os.makedirs(d, exist_ok=True)
    conf = """server:
  ip-address: %(addr)s
  port: %(port)d
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "%(d)s"
  pidfile: "%(d)s/nsd.pid"
  database: ""
  xfrdfile: "%(d)s/xfrd.state"
  zonelistfile: "%(d)s/zone.list"
  logfile: "%(d)s/nsd.log"
  verbosity: 0
  # NSD's response rate limiting is on by default (200 qps per source); a benchmark from
  # one address needs it off. r53d has no RRL.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  minimal-responses: %(minimal)s
remote-control:
  control-enable: no
zone:
  name: "%(origin)s"
  zonefile: "%(zone)s"
""" % {"addr": ADDR, "port": port, "d": d, "origin": zone_meta["origin"],
       "zone": zone_meta["zone_file"], "minimal": "yes" if a.minimal else "no"}
    for f in ("xfrd.state", "zone.list", "nsd.pid"):
        try:
            os.unlink(os.path.join(d, f))
        except OSError:
            pass
    path = os.path.join(d, "nsd.conf")
    with open(path, "w") as f:
        f.write(conf)
    return Server("nsd", label, [a.nsd, "-d", "-c", path], port,
                  os.path.join(a.rundir, "%s.log" % label), a.server_cpu, peer_env(a))


def peer_env(a):
    """The peers' environment: rcvbuf.so preloaded, so their UDP sockets get the receive
    buffer r53d asks for (--rcvbuf; Knot has no option for it and keeps the OS default)."""
    if not a.rcvbuf or not getattr(a, "rcvbuf_so", None):
        return None
    return {"LD_PRELOAD": a.rcvbuf_so, "BENCH_RCVBUF": str(a.rcvbuf)}


def knot_server(a, label, zone_meta, port, zone_extra=""):
    """Knot DNS: one UDP, one TCP and one background worker; the zone file is read whole,
    never written back (zonefile-sync -1), no journal; no RRL module (Knot has none unless
    configured); its own rundir and database storage under the run directory. zone_extra:
    further lines of the zone's entry (dnssec_bench.py: "    module: mod-onlinesign\n")."""
    d = os.path.join(a.rundir, label)
    if os.path.isdir(d):
        shutil.rmtree(d)  # a fresh instance: no timer database from a previous start
    os.makedirs(os.path.join(d, "run"))
    os.makedirs(os.path.join(d, "db"))
    conf = """server:
    rundir: "%(d)s/run"
    listen: %(addr)s@%(port)d
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: notice
database:
    storage: "%(d)s/db"
template:
  - id: default
    storage: "%(d)s/db"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: "%(origin)s"
    file: "%(zone)s"
%(extra)s""" % {"addr": ADDR, "port": port, "d": d, "origin": zone_meta["origin"],
                "zone": zone_meta["zone_file"], "extra": zone_extra}
    path = os.path.join(d, "knot.conf")
    with open(path, "w") as f:
        f.write(conf)
    return Server("knot", label, [a.knotd, "-c", path], port,
                  os.path.join(a.rundir, "%s.log" % label), a.server_cpu, peer_env(a))


def gdnsd_server(a, label, zone_meta, port):
    """gdnsd 3: one UDP thread, one TCP thread (the minimum; idle under a UDP load), one zone
    loader thread, CNAME chasing on; the same zone file, hard-linked (or copied) into its zones/ directory
    under the zone's name; run_dir and state_dir under the run directory."""
    d = os.path.join(a.rundir, label)
    if os.path.isdir(d):
        shutil.rmtree(d)
    for sub in ("zones", "run", "state"):
        os.makedirs(os.path.join(d, sub))
    zf = os.path.join(d, "zones", zone_meta["origin"].rstrip("."))
    try:
        os.link(zone_meta["zone_file"], zf)
    except OSError:
        shutil.copyfile(zone_meta["zone_file"], zf)
    conf = """options => {
  listen => [ %(addr)s:%(port)d ]
  udp_threads => 1
  tcp_threads => 1
  zones_rfc1035_threads => 1
  # Follow CNAMEs to targets in the same zone as NSD, Knot and r53d do (gdnsd >= 3.4 stops
  # at the CNAME by default): the same answers, the same work.
  experimental_no_chain => false
  # Its maximum; NSD and r53d ask for larger UDP receive buffers too (the OS default of
  # ~200 kB drops queries under dnsperf's bursts).
  udp_rcvbuf => 1048576
  run_dir => "%(d)s/run"
  state_dir => "%(d)s/state"
}
""" % {"addr": ADDR, "port": port, "d": d}
    with open(os.path.join(d, "config"), "w") as f:
        f.write(conf)
    return Server("gdnsd", label, [a.gdnsd, "-c", d, "start"], port,
                  os.path.join(a.rundir, "%s.log" % label), a.server_cpu, peer_env(a))


def peer_server(a, kind, label, zone_meta, port):
    """NSD, Knot or gdnsd on the generated zone."""
    return {"nsd": nsd_server, "knot": knot_server, "gdnsd": gdnsd_server}[kind](
        a, label, zone_meta, port)


PEERS = ("nsd", "knot", "gdnsd")


def echo_server(a, label, port):
    return Server("echo", label, [a.echo, ADDR, str(port)], port,
                  os.path.join(a.rundir, "%s.log" % label), a.server_cpu)


def stop_all():
    for s in list(LIVE):
        try:
            s.stop()
        except Exception as e:  # keep stopping the others
            log("bench: stopping %s: %s" % (s.label, e))


# ---------------------------------------------------------------------------- building

def build_r53d(a, build_dir="build-bench"):
    """a.r53d if given, else r53d built (Release) in REPO/build_dir (a.no_build: as it is)."""
    if a.r53d:
        return a.r53d if os.access(a.r53d, os.X_OK) else None
    bdir = os.path.join(REPO, build_dir)
    binary = os.path.join(bdir, "server", "r53d")
    if a.no_build:
        return binary if os.access(binary, os.X_OK) else None
    log("bench: building r53d (Release) in %s" % bdir)
    steps = []
    if not os.path.exists(os.path.join(bdir, "CMakeCache.txt")):
        steps.append(["cmake", "-S", REPO, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release",
                      "-DBUILD_TESTING=OFF"])
    steps.append(["cmake", "--build", bdir, "-j2"])
    blog = os.path.join(a.out, "build-r53d.log")
    with open(blog, "w") as f:
        for s in steps:
            try:
                rc = subprocess.run(s, stdout=f, stderr=subprocess.STDOUT, timeout=1200).returncode
            except subprocess.TimeoutExpired:
                rc = -1
            if rc != 0:
                if os.access(binary, os.X_OK):
                    log("bench: r53d build FAILED (see %s); using the previous binary %s"
                        % (blog, binary))
                    return binary
                log("bench: r53d build failed (see %s); continuing without r53d" % blog)
                return None
    return binary if os.access(binary, os.X_OK) else None


def git_describe():
    """The commit r53d was built from (the working tree may hold uncommitted changes)."""
    try:
        return subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def build_echo(a):
    src = os.path.join(HERE, "echo.c")
    binary = os.path.join(a.out, "echo")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(src):
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", binary, src], check=True)
    return binary


def build_rcvbuf(a):
    src = os.path.join(HERE, "rcvbuf.c")
    so = os.path.join(a.out, "rcvbuf.so")
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-shared", "-fPIC", "-o", so, src,
                        "-ldl"], check=True)
    return so


def zone_for(a, names):
    """Generate (or reuse) the zone and queries for `names`; returns gen_zone's meta."""
    d = os.path.join(a.out, "zone-%d-s%d" % (names, a.seed))
    mp = os.path.join(d, "meta.json")
    if os.path.exists(mp):
        with open(mp) as f:
            m = json.load(f)
        if m.get("queries") == a.queries and os.path.exists(m["zone_file"]):
            return m
    os.makedirs(d, exist_ok=True)
    log("bench: generating zone with %d names in %s" % (names, d))
    return gen_zone.generate(names, a.origin, a.seed, a.queries, d)


# ---------------------------------------------------------------------------- dnsperf

def parse_dnsperf(text):
    r = {}
    pats = {"sent": r"Queries sent:\s+(\d+)", "completed": r"Queries completed:\s+(\d+)",
            "lost": r"Queries lost:\s+(\d+)", "runtime": r"Run time \(s\):\s+([\d.]+)",
            "qps": r"Queries per second:\s+([\d.]+)", "latency": r"Average Latency \(s\):\s+([\d.]+)",
            "resp_size": r"Average packet size:\s+request \d+, response (\d+)"}
    for k, p in pats.items():
        m = re.search(p, text)
        if m:
            r[k] = float(m.group(1))
    m = re.search(r"Response codes:\s+(.*)", text)
    r["rcodes"] = {}
    if m:
        for name, n in re.findall(r"(\w+) (\d+) \(", m.group(1)):
            r["rcodes"][name] = int(n)
    return r


def run_dnsperf(a, srv, qfile, seconds, extra_args, tag):
    """One dnsperf window against srv; server CPU from /proc just before and after."""
    args = ["dnsperf", "-s", ADDR, "-p", str(srv.port), "-d", qfile, "-l", str(seconds),
            "-t", str(a.timeout)] + shlex.split(a.dnsperf) + list(extra_args)
    if a.rate:
        args += ["-Q", str(a.rate)]
    if a.edns:
        args += ["-e"]
    if a.client_cpu is not None:
        args = ["taskset", "-c", str(a.client_cpu)] + args
    outp = os.path.join(a.rundir, "dnsperf-%s.txt" % tag)
    pids = srv.refresh_pids()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0, ns0, t0 = cpu_ticks(pids), schedstat_ns(pids), time.monotonic()
    with open(outp, "w") as f:
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            p.wait(seconds + a.timeout + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    t1 = time.monotonic()
    c1, ns1 = cpu_ticks(pids), schedstat_ns(pids)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = srv.refresh_pids()
    with open(outp) as f:
        r = parse_dnsperf(f.read())
    ticks = sum(c1.get(p, c0[p]) - c0[p] for p in c0)
    ticks += sum(c1_ for p, c1_ in cpu_ticks({p: s for p, s in after.items() if p not in pids}).items())
    r["server_cpu_s"] = ticks / CLK_TCK
    r["server_cpu_sched_s"] = (ns1 - ns0) / 1e9
    r["wall_s"] = t1 - t0
    r["client_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    r["server_procs"] = len(pids)
    r["alive"] = srv.alive()
    done = r.get("completed", 0)
    r["cpu_us_per_q"] = r["server_cpu_s"] * 1e6 / done if done else float("inf")
    r["log"] = outp
    return r


# ---------------------------------------------------------------------------- checks

def check_answers(a, servers, ref, meta):
    """Ask each server a stratified sample of the query mix with dig. Every answer must fit
    its class; against the reference (NSD) rcode, flags and the answer section must agree,
    authority/additional differences are reported. Returns {label: [problems]}."""
    rng = random.Random(a.seed)
    sample = []
    for cls, lines in sorted(meta["samples"].items()):
        for line in rng.sample(lines, min(a.check_per_class, len(lines))):
            sample.append((cls, line.split()[0], line.split()[1]))
    sample.append(("pos", meta["probe"], "A"))
    refres = {}
    if ref is not None:
        for cls, q, t in sample:
            refres[(q, t)] = dig(ref.port, q, t)
    report = {}
    for srv in servers:
        if srv.kind == "echo":
            continue
        hard, soft = [], []
        for cls, q, t in sample:
            res = refres[(q, t)] if srv is ref else dig(srv.port, q, t)
            if res is None:
                hard.append("%s %s: no answer" % (q, t))
                continue
            why = expect_class(cls, res)
            if why:
                hard.append("%s %s: %s, got %s %s" % (q, t, why, res[0], sorted(res[1])))
            if ref is None or srv is ref or refres.get((q, t)) is None:
                continue
            r0 = refres[(q, t)]
            if (res[0], res[1], res[2]["ANSWER"]) != (r0[0], r0[1], r0[2]["ANSWER"]):
                hard.append("%s %s: %s %s %s, NSD %s %s %s" % (q, t, res[0], sorted(res[1]),
                            res[2]["ANSWER"], r0[0], sorted(r0[1]), r0[2]["ANSWER"]))
            for sec in ("AUTHORITY", "ADDITIONAL"):
                if res[2][sec] != r0[2][sec]:
                    soft.append("%s %s: %s differs: %s vs NSD %s" % (q, t, sec, res[2][sec],
                                                                      r0[2][sec]))
        report[srv.label] = {"checked": len(sample), "hard": hard, "soft": soft}
        log("bench: answer check %-10s %d queries, %d wrong, %d authority/additional differences"
            % (srv.label, len(sample), len(hard), len(soft)))
        for p in hard[:10]:
            log("   WRONG " + p)
        for p in soft[:3]:
            log("   note  " + p)
    return report


# ---------------------------------------------------------------------------- scenarios

def load_scenario(a, name):
    """A policy scenario: {"label", "config" (extra r53d keys), "queries", "dnsperf_args"}."""
    d = os.path.join(a.scenario_dir, name)
    sp = os.path.join(d, "scenario.json")
    if not os.path.exists(sp):
        die("scenario %r is not provided yet (%s): add %s (see scenarios/README.md)"
            % (name, KNOWN_SCENARIOS.get(name, "unknown"), sp))
    with open(sp) as f:
        s = json.load(f)
    dirs = [d]  # where relative file names are looked for, in order
    seen = set()
    while "extends" in s:  # a shared base: its keys under ours (config merged one level)
        bp = os.path.normpath(os.path.join(dirs[-1], s.pop("extends")))
        if bp in seen:
            die("scenario %r: 'extends' loops at %s" % (name, bp))
        seen.add(bp)
        with open(bp) as f:
            b = json.load(f)
        cfg = dict(b.get("config", {}))
        cfg.update(s.get("config", {}))
        b.update(s)
        b["config"] = cfg
        s = b
        dirs.append(os.path.dirname(bp))
    if "generate" in s:  # a script that writes config pieces and queries into a directory
        out = os.path.join(a.rundir, "scenario-" + name)
        os.makedirs(out, exist_ok=True)
        gen = next((os.path.join(x, s["generate"]) for x in dirs
                    if os.path.exists(os.path.join(x, s["generate"]))), None)
        if gen is None:
            die("scenario %r: generate script %s not found" % (name, s["generate"]))
        subprocess.run([sys.executable, gen, out], check=True, timeout=600)
        dirs.insert(0, out)

    def absify(v):  # relative file names resolve against the generated dir, the scenario's,
        if isinstance(v, str) and v and not v.startswith("/"):  # then its bases'
            for x in dirs:
                if os.path.exists(os.path.join(x, v)):
                    return os.path.join(x, v)
            return v
        if isinstance(v, dict):
            return {k: absify(x) for k, x in v.items()}
        if isinstance(v, list):
            return [absify(x) for x in v]
        return v
    return {"name": name, "config": absify(s.get("config", {})),
            "queries": absify(s["queries"]), "dnsperf_args": s.get("dnsperf_args", []),
            "probe": s.get("probe"), "expect": s.get("expect"),
            "description": s.get("description", "")}


def subst(v, table):
    """Replace placeholder strings ("@bench_zone_file") anywhere in a JSON value."""
    if isinstance(v, str):
        return table.get(v, v)
    if isinstance(v, dict):
        return {k: subst(x, table) for k, x in v.items()}
    if isinstance(v, list):
        return [subst(x, table) for x in v]
    return v


def static_scenario(a):
    return os.path.exists(os.path.join(a.scenario_dir, "static", "scenario.json"))


# ---------------------------------------------------------------------------- scenario checks

def edns_options(args):
    """The EDNS options dnsperf adds for these arguments: (edns on?, DO bit, [(code, bytes)])."""
    on, do, opts = False, False, []
    i = 0
    while i < len(args):
        x = args[i]
        if x == "-e":
            on = True
        elif x == "-D":
            on = do = True
        elif x.startswith("-E"):
            v = x[2:] or args[i + 1]
            i += 0 if x[2:] else 1
            code, hexv = v.split(":", 1)
            opts.append((int(code), bytes.fromhex(hexv)))
            on = True
        i += 1
    return on, do, opts


def read_name(pkt, off):
    """(lower-case dotted name, offset after it), following compression pointers."""
    labels, end, hops = [], None, 0
    while True:
        n = pkt[off]
        if n >= 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | pkt[off + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        off += 1
        if n == 0:
            break
        labels.append(pkt[off:off + n].decode("ascii", "replace").lower())
        off += n
    return ".".join(labels) + ".", end if end is not None else off


def ask_raw(port, qname, qtype, edns, timeout=1.0):
    """One UDP query shaped as dnsperf sends it (EDNS and options from edns_options());
    returns {rcode, flags, answers: [(owner, type, ttl, rdata)], options: [(code, bytes)]}."""
    on, do, opts = edns
    qid = random.randrange(65536)
    pkt = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1 if on else 0) + wire_name(qname) + \
        struct.pack(">HH", qtype, 1)
    if on:
        rd = b"".join(struct.pack(">HH", c, len(v)) + v for c, v in opts)
        pkt += b"\0" + struct.pack(">HHIH", 41, 4096, 0x8000 if do else 0, len(rd)) + rd
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
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
        else:
            return None
    finally:
        s.close()
    _, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", r[:12])
    off = 12
    for _ in range(qd):
        off = read_name(r, off)[1] + 4
    out = {"rcode": flags & 0xF, "flags": flags, "answers": [], "options": None}
    for sec, cnt in (("an", an), ("ns", ns), ("ar", ar)):
        for _ in range(cnt):
            owner, off = read_name(r, off)
            rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", r[off:off + 10])
            rdata = r[off + 10:off + 10 + rdlen]
            off += 10 + rdlen
            if sec == "an":
                out["answers"].append((owner, rtype, ttl,
                                       socket.inet_ntoa(rdata) if rtype == 1 and rdlen == 4
                                       else rdata.hex()))
            elif rtype == 41:
                out["rcode"] |= (ttl >> 24) << 4
                opts_r, o = [], 0
                while o + 4 <= len(rdata):
                    c, ln = struct.unpack(">HH", rdata[o:o + 4])
                    opts_r.append((c, rdata[o + 4:o + 4 + ln]))
                    o += 4 + ln
                out["options"] = opts_r
    return out


def check_scenario(a, srv, n=300):
    """Ask the scenario's query as dnsperf sends it, n times: every answer must be NOERROR,
    AA, exactly one A record owned by the query name, one of the expected addresses, with
    the expected TTL, the ECS option echoed with the expected scope; every expected address
    must be seen, and the shares (if given) within 5 standard deviations. Returns [problems]."""
    sc = srv.scenario
    exp = sc.get("expect")
    with open(sc["queries"]) as f:
        qs = [l.split() for l in f if l.strip() and not l.startswith(";")]
    if not exp:
        return ["no 'expect' in scenario.json: its answers are not checked"]
    edns = edns_options(sc["dnsperf_args"] + (["-e"] if a.edns else []))
    ecs_sent = next((v for c, v in edns[2] if c == 8), None)
    probs, seen = [], {}
    for k in range(n):
        qname, qtype = qs[k % len(qs)][0], qs[k % len(qs)][1]
        qt = {"A": 1, "AAAA": 28}.get(qtype.upper())
        r = ask_raw(srv.port, qname, qt, edns)
        if r is None:
            probs.append("%s %s: no answer" % (qname, qtype))
            continue
        why = []
        if r["rcode"] != 0:
            why.append("rcode %d" % r["rcode"])
        if not r["flags"] & 0x0400:
            why.append("no AA")
        ans = [x for x in r["answers"] if x[1] == qt]
        if len(ans) != 1 or len(r["answers"]) != 1:
            why.append("%d answer records %s" % (len(r["answers"]), r["answers"]))
        for owner, _, ttl, rdata in ans:
            if owner != qname.lower().rstrip(".") + ".":
                why.append("owner %s" % owner)
            if rdata not in exp["answers"]:
                why.append("address %s not in %s" % (rdata, exp["answers"]))
            if "ttl" in exp and ttl != exp["ttl"]:
                why.append("TTL %d, expected %d" % (ttl, exp["ttl"]))
            seen[rdata] = seen.get(rdata, 0) + 1
        if ecs_sent is not None and "ecs_scope" in exp:
            echo = next((v for c, v in (r["options"] or []) if c == 8), None)
            if echo is None:
                why.append("no ECS option in the reply")
            elif echo[:3] != ecs_sent[:3] or echo[4:] != ecs_sent[4:] or \
                    echo[3] != exp["ecs_scope"]:
                why.append("ECS reply %s, expected scope %d" % (echo.hex(), exp["ecs_scope"]))
        if why:
            probs.append("%s %s: %s" % (qname, qtype, "; ".join(why)))
    for addr in exp["answers"]:
        if addr not in seen:
            probs.append("%s never answered in %d queries" % (addr, n))
    tot = sum(seen.values())
    for addr, p in exp.get("shares", {}).items():
        want, sd = tot * p, (tot * p * (1 - p)) ** 0.5
        if abs(seen.get(addr, 0) - want) > 5 * sd + 1:
            probs.append("%s answered %d times in %d, expected %.0f +- %.0f" % (
                addr, seen.get(addr, 0), tot, want, 5 * sd))
    log("bench: answer check %-22s %d queries as dnsperf sends them, answers %s, %d wrong" % (
        srv.label, n, " ".join("%s=%d" % kv for kv in sorted(seen.items())), len(probs)))
    for p in probs[:10]:
        log("   WRONG " + p)
    return probs


# ---------------------------------------------------------------------------- reporting

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def summarise(runs):
    s = {}
    for k in ("qps", "completed", "sent", "cpu_us_per_q", "server_cpu_s", "wall_s", "client_cpu_s",
              "resp_size", "latency"):
        s[k] = med([r.get(k) for r in runs])
    lost = [100.0 * r.get("lost", 0) / r["sent"] for r in runs if r.get("sent")]
    s["lost_pct"] = med(lost)
    s["cpu_min"] = min(r["cpu_us_per_q"] for r in runs)
    s["cpu_max"] = max(r["cpu_us_per_q"] for r in runs)
    s["busy_pct"] = med([100.0 * r["server_cpu_s"] / r["runtime"] for r in runs if r.get("runtime")])
    s["client_pct"] = med([100.0 * r["client_cpu_s"] / r["wall_s"] for r in runs])
    tot = {}
    for r in runs:
        for k, v in r["rcodes"].items():
            tot[k] = tot.get(k, 0) + v
    n = sum(tot.values()) or 1
    s["rcodes_pct"] = {k: round(100.0 * v / n, 2) for k, v in sorted(tot.items())}
    return s


def print_throughput(rows, names, invalid):
    """CPU per query of every server and its ratio to NSD's, gdnsd's and the echo's (below 1:
    less CPU per answer than that server; issue 10's goal is r53d ÷gdnsd <= 1)."""
    ref = {r["label"]: r["s"]["cpu_us_per_q"] for r in rows}
    bases = [b for b in ("nsd", "gdnsd", "echo") if ref.get(b)]
    hdr = ("server", "qps", "answered", "lost%", "CPU µs/q", "(min-max)", "q/CPU-s",
           "busy%", "resp B") + tuple("÷" + ("NSD" if b == "nsd" else b) for b in bases)
    print("\nServer CPU per query, %d-name zone, median of %d runs" % (names, len(rows[0]["runs"])))
    print(("%-16s %9s %10s %6s %9s %13s %9s %6s %6s" + " %7s" * len(bases)) % hdr)
    for r in rows:
        s = r["s"]
        c = s["cpu_us_per_q"]
        bad = "  ! ANSWERS WRONG" if r["label"] in invalid else ""
        print(("%-16s %9s %10s %6s %9s %13s %9s %6s %6s" + " %7s" * len(bases) + "%s") % ((
            r["label"], fmt(s["qps"], ".0f"), fmt(s["completed"], ".0f"), fmt(s["lost_pct"], ".2f"),
            fmt(c, ".2f"), "%.2f-%.2f" % (s["cpu_min"], s["cpu_max"]),
            fmt(1e6 / c if c else None, ".0f"), fmt(s["busy_pct"], ".0f"),
            fmt(s["resp_size"], ".0f")) + tuple(fmt(c / ref[b], ".3f") for b in bases) + (bad,)))
    for base in bases:
        b = next((r for r in rows if r["label"] == base), None)
        pr = []
        for r in rows:
            if r is b:
                continue
            ps = [x["cpu_us_per_q"] / y["cpu_us_per_q"] for x, y in zip(r["runs"], b["runs"])]
            r["s"]["paired_" + base] = med(ps)
            pr.append("%s %.3f (%s)" % (r["label"], med(ps), " ".join("%.2f" % p for p in ps)))
        print("paired ÷%s (median of the per-repeat ratios): %s" % (base, "; ".join(pr)))
    rs = {r["label"]: r["s"]["resp_size"] for r in rows if r["kind"] != "echo"}
    big = max((v for v in rs.values() if v), default=None)
    small = sorted(k for k, v in rs.items() if v and big and v < 0.8 * big)
    if small:
        print("note: %s send smaller answers (resp B): Knot and gdnsd give minimal responses "
              "(no NS set in the authority section of positive answers, no additional "
              "addresses for it); --minimal makes r53d and NSD do the same"
              % ", ".join(small))
    print("rcodes (%): " + "; ".join("%s %s" % (r["label"], " ".join(
        "%s=%s" % kv for kv in r["s"]["rcodes_pct"].items())) for r in rows))
    print("dnsperf client CPU (% of its core): " + ", ".join(
        "%s %.0f" % (r["label"], r["s"]["client_pct"]) for r in rows))


def print_scenarios(rows, invalid):
    """Policy scenarios against the static reference: r53d-static (scenarios/static/) when
    it ran, else r53d on the generated query mix."""
    sc = [r for r in rows if r["label"].startswith("r53d-") and r["label"] != "r53d-static"]
    st = next((r for r in rows if r["label"] == "r53d-static"), None) or \
        next((r for r in rows if r["label"] == "r53d"), None)
    if not sc or not st:
        return
    print("\nPolicy scenarios, server CPU per query as a ratio to %s (issue 4: <= 1.25), "
          "median of %d runs" % (st["label"], len(st["runs"])))
    print("%-22s %9s %9s %13s %6s %6s %6s %8s %8s  %s" % (
        "scenario", "qps", "CPU µs/q", "(min-max)", "busy%", "resp B", "lost%", "÷static",
        "paired", "(per repeat)"))
    for r in [st] + sc:
        s = r["s"]
        ratio = s["cpu_us_per_q"] / st["s"]["cpu_us_per_q"]
        ps = [x["cpu_us_per_q"] / y["cpu_us_per_q"] for x, y in zip(r["runs"], st["runs"])]
        s["ratio_static"], s["paired_static"], s["paired_static_runs"] = ratio, med(ps), ps
        noerr = s["rcodes_pct"].get("NOERROR", 0)
        flag = "  ! ANSWERS WRONG" if r["label"] in invalid else ""
        flag += "" if noerr == 100 else "  ! rcodes %s" % s["rcodes_pct"]
        flag += "" if ratio <= 1.25 else "  ! over 1.25"
        print("%-22s %9s %9s %13s %6s %6s %6s %8.3f %8.3f  (%s)%s" % (
            r["label"], fmt(s["qps"], ".0f"), fmt(s["cpu_us_per_q"], ".2f"),
            "%.2f-%.2f" % (s["cpu_min"], s["cpu_max"]), fmt(s["busy_pct"], ".0f"),
            fmt(s["resp_size"], ".0f"), fmt(s["lost_pct"], ".2f"), ratio, med(ps),
            " ".join("%.3f" % p for p in ps), flag))


def print_scale(rows):
    print("\nZone scale: load time (start to first correct answer) and memory after load")
    print("%-8s %-6s %10s %10s %10s %10s %10s %6s" % ("names", "server", "load s", "RSS MB",
                                                       "PSS MB", "peak MB", "zone MB", "procs"))
    for r in rows:
        print("%-8d %-6s %10s %10s %10s %10s %10.1f %6s" % (
            r["names"], r["server"], fmt(r["load_s"], ".2f"), fmt(r["rss_mb"], ".1f"),
            fmt(r["pss_mb"], ".1f"), fmt(r["hwm_mb"], ".1f"), r["zone_mb"], r.get("procs", "-")))
    # Issue 10's goals: load <= 2/3 of the fastest peer's, PSS <= gdnsd's.
    for names in sorted({r["names"] for r in rows}):
        by = {r["server"]: r for r in rows if r["names"] == names}
        me = by.get("r53d")
        peers = [r for k, r in by.items() if k != "r53d" and r["load_s"] is not None]
        if not me or me["load_s"] is None or not peers:
            continue
        fast = min(peers, key=lambda r: r["load_s"])
        out = ["r53d load ÷ fastest peer (%s %.2f s) %.2f (goal <= 0.67)"
               % (fast["server"], fast["load_s"], me["load_s"] / fast["load_s"])]
        for k in PEERS:
            if k in by and by[k]["pss_mb"] and me["pss_mb"]:
                out.append("PSS ÷%s %.2f" % (k, me["pss_mb"] / by[k]["pss_mb"]))
        print("%d names: %s" % (names, "; ".join(out)))


# ---------------------------------------------------------------------------- phases

def phase_throughput(a, r53d_bin):
    meta = zone_for(a, a.names)
    want = a.servers
    servers = []
    for kind in want:
        port = free_port()
        if kind == "r53d":
            if not r53d_bin:
                log("bench: r53d not available; measuring the others")
                continue
            servers.append(r53d_server(a, "r53d", r53d_bin, meta, port))
        elif kind in PEERS:
            if not a.binary.get(kind):
                log("bench: %s not installed (contrib/deps.sh --bench); left out" % kind)
                continue
            servers.append(peer_server(a, kind, kind, meta, port))
        elif kind == "echo":
            servers.append(echo_server(a, "echo", port))
    scen = [load_scenario(a, n) for n in a.scenario if n != "static" or static_scenario(a)]
    if scen and not r53d_bin:
        die("policy scenarios need r53d")
    for sc in scen:
        sc["config"] = subst(sc["config"], {"@bench_zone_file": meta["zone_file"]})
        servers.append(r53d_server(a, "r53d-" + sc["name"], r53d_bin, meta, free_port(),
                                   extra=sc["config"]))
        servers[-1].scenario = sc
    ready = []
    for srv in servers:
        srv.start()
        if srv.kind == "echo":
            t = 0.0 if wait_port_echo(srv) else None
        else:
            sc = getattr(srv, "scenario", None)
            pn, pr = (meta["probe"], "192.0.2.254") if not (sc and sc["probe"]) else sc["probe"]
            t = srv.wait_ready(pn, pr, a.load_limit)
        if t is None:
            log("bench: %s did not answer; left out. Its log:\n%s" % (srv.label, srv.tail_log()))
            srv.stop()
            continue
        srv.refresh_pids()
        log("bench: %s ready on port %d in %.2fs (pids %s)" % (srv.label, srv.port, t,
                                                                sorted(srv.pids)))
        ready.append(srv)
    ref = next((s for s in ready if s.kind == "nsd"), None)
    checks = check_answers(a, [s for s in ready if not hasattr(s, "scenario")], ref, meta)
    for srv in ready:
        if hasattr(srv, "scenario"):
            p = check_scenario(a, srv)
            checks[srv.label] = {"checked": 300, "hard": p, "soft": []}
    invalid = {k for k, v in checks.items() if v["hard"]}
    if invalid:
        log("bench: WRONG ANSWERS from %s: their figures are marked and the run fails"
            % ", ".join(sorted(invalid)))

    for srv in ready:  # warm up: page in the zone, fill caches
        qf = srv.scenario["queries"] if hasattr(srv, "scenario") else meta["queries_file"]
        xa = srv.scenario["dnsperf_args"] if hasattr(srv, "scenario") else []
        run_dnsperf(a, srv, qf, a.warmup, xa, "%s-warmup" % srv.label)
    results = {s.label: [] for s in ready}
    for rep in range(a.repeats):
        order = ready[rep % len(ready):] + ready[:rep % len(ready)]  # rotate, interleave
        for srv in order:
            if not srv.alive():
                log("bench: %s died; see %s" % (srv.label, srv.logpath))
                invalid.add(srv.label)
                continue
            qf = srv.scenario["queries"] if hasattr(srv, "scenario") else meta["queries_file"]
            xa = srv.scenario["dnsperf_args"] if hasattr(srv, "scenario") else []
            r = run_dnsperf(a, srv, qf, a.seconds, xa, "%s-%d" % (srv.label, rep + 1))
            results[srv.label].append(r)
            log("bench: run %d/%d %-14s %8.0f qps  %6.2f µs/q  busy %3.0f%%  lost %d" % (
                rep + 1, a.repeats, srv.label, r.get("qps", 0), r["cpu_us_per_q"],
                100 * r["server_cpu_s"] / max(r.get("runtime", 1), 1e-9), r.get("lost", 0)))
    for srv in ready:
        srv.stop()
    rows = [{"label": s.label, "kind": s.kind, "runs": results[s.label],
             "s": summarise(results[s.label])} for s in ready if results[s.label]]
    return rows, checks, invalid, meta


def wait_port_echo(srv):
    """The echo answers anything; wait until a datagram comes back."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.05)
        try:
            s.connect((ADDR, srv.port))
            s.send(b"\x12\x34\x00\x00" + b"\0" * 8)
            if s.recv(64)[:2] == b"\x12\x34":
                return True
        except OSError:
            time.sleep(0.01)
        finally:
            s.close()
    return False


def phase_scale(a, r53d_bin):
    rows = []
    for names in a.scale:
        meta = zone_for(a, names)
        zmb = os.path.getsize(meta["zone_file"]) / 1e6
        kinds = [k for k in ("r53d",) + PEERS if k in a.servers and
                 (k == "r53d" or k in a.binary)]
        for rep in range(a.scale_repeats):
            for kind in kinds:
                port = free_port()
                label = "%s-scale-%d" % (kind, names)
                if kind == "r53d":
                    if not r53d_bin:
                        continue
                    srv = r53d_server(a, label, r53d_bin, meta, port)
                else:
                    srv = peer_server(a, kind, label, meta, port)
                srv.start()
                t = srv.wait_ready(meta["probe"], "192.0.2.254", a.load_limit)
                row = {"names": names, "server": kind, "load_s": t, "zone_mb": zmb,
                       "rss_mb": None, "pss_mb": None, "hwm_mb": None}
                if t is None:
                    log("bench: %s did not answer within %ds. Its log:\n%s" % (
                        label, a.load_limit, srv.tail_log()))
                else:
                    time.sleep(a.settle)  # let forked children (NSD) and loaders settle
                    pids = srv.refresh_pids()
                    rss, pss, hwm = memory_kb(pids)
                    row.update(rss_mb=rss / 1024, pss_mb=pss / 1024, hwm_mb=hwm / 1024,
                               procs=len(pids))
                    log("bench: %s loaded in %.2fs, RSS %.1f MB (PSS %.1f) over %d processes"
                        % (label, t, rss / 1024, pss / 1024, len(pids)))
                srv.stop()
                rows.append(row)
    # median over repeats
    out = []
    for names in a.scale:
        for kind in ("r53d",) + PEERS:
            rs = [r for r in rows if r["names"] == names and r["server"] == kind]
            if rs:
                m = dict(rs[0])
                for k in ("load_s", "rss_mb", "pss_mb", "hwm_mb"):
                    m[k] = med([r[k] for r in rs])
                out.append(m)
    return out


# ---------------------------------------------------------------------------- reload

SMALL_ORIGIN = "small.test."
SMALL_PROBE = "changed." + SMALL_ORIGIN


def write_small_zone(path, serial, addr, names=100):
    """A zone of `names` owner names; changed.small.test. A `addr` is what a reload changes.
    Written beside and renamed over, so r53d never reads half a file."""
    lines = ["$ORIGIN %s" % SMALL_ORIGIN, "$TTL 300",
             "@ 3600 IN SOA ns1.%s hostmaster.%s %d 7200 900 1209600 300"
             % (SMALL_ORIGIN, SMALL_ORIGIN, serial),
             "@ 3600 IN NS ns1", "@ IN A 192.0.2.1", "ns1 3600 IN A 192.0.2.53",
             "changed IN A %s" % addr]
    lines += ["h%d IN A 198.51.100.%d" % (k, k % 250 + 1) for k in range(names - 3)]
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


def metrics(port):
    """{name or name{labels}: value} from r53d's /metrics, or {} if it does not answer."""
    import urllib.request
    try:
        with urllib.request.urlopen("http://%s:%d/metrics" % (ADDR, port), timeout=2) as r:
            text = r.read().decode("utf-8", "replace")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, _, v = line.rpartition(" ")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            pass
    return out


RELOAD_METRIC_PREFIXES = ("r53d_snapshot_build", "r53d_snapshot_zones", "r53d_snapshot_bytes",
                          "r53d_reload_")


def phase_reload(a, r53d_bin):
    """Issue 10: with a big zone (--reload-names) and a 100-name zone loaded in one r53d, a
    reload (SIGHUP) that changes only the small zone. Per reload: the time from the signal to
    the first UDP answer with the new address (polled about every millisecond), the time until
    /metrics counts the reload as done, the process CPU in between, peak RSS growth, and
    r53d's own build figures from /metrics when it exposes them (r53d_snapshot_build_*,
    r53d_snapshot_zones_*)."""
    meta = zone_for(a, a.reload_names)
    d = os.path.join(a.rundir, "reload")
    os.makedirs(d, exist_ok=True)
    small = os.path.join(d, SMALL_ORIGIN + "zone")
    write_small_zone(small, 1, "192.0.2.100")
    port, aport = free_port(), free_port()
    extra = {"hosted_zones": [
        {"HostedZone": {"Id": ZONE_ID, "Name": meta["origin"]}, "zone_file": meta["zone_file"]},
        {"HostedZone": {"Id": "/hostedzone/ZSMALL", "Name": SMALL_ORIGIN}, "zone_file": small}],
        "admin": {"listen": "%s:%d" % (ADDR, aport)}}
    srv = r53d_server(a, "r53d-reload", r53d_bin, meta, port, extra=extra, cfgdir=d)
    srv.start()
    t_load = srv.wait_ready(meta["probe"], "192.0.2.254", a.load_limit)
    res = {"names": a.reload_names, "load_s": t_load, "reloads": []}
    if t_load is None or srv.wait_ready(SMALL_PROBE, "192.0.2.100", 10, False) is None:
        log("bench: r53d-reload did not answer. Its log:\n%s" % srv.tail_log())
        srv.stop()
        return res
    time.sleep(a.settle)
    pids = srv.refresh_pids()
    res["rss_mb"] = memory_kb(pids)[0] / 1024
    m = metrics(aport)
    if not m:
        log("bench: r53d-reload: no /metrics on the admin listener; timing from outside only")
    for k in range(1, a.reload_repeats + 1):
        addr = "192.0.2.%d" % (100 + k)
        m0 = metrics(aport)
        ok0 = m0.get('r53d_reloads_total{result="success"}')
        bad0 = m0.get('r53d_reloads_total{result="failure"}')
        write_small_zone(small, 1 + k, addr)
        pids = srv.refresh_pids()
        c0, ns0, hwm0 = cpu_ticks(pids), schedstat_ns(pids), memory_kb(pids)[2]
        t0 = time.monotonic()
        os.kill(srv.proc.pid, signal.SIGHUP)
        t_new = t_done = None
        deadline = t0 + a.load_limit
        while time.monotonic() < deadline and srv.alive():
            if probe(port, SMALL_PROBE, addr, timeout=0.2):
                t_new = time.monotonic() - t0
                break
            time.sleep(0.001)
        # Done: /metrics counts the reload (the old snapshot may still be being freed).
        m1 = {}
        while time.monotonic() < deadline and srv.alive() and ok0 is not None:
            m1 = metrics(aport)
            if m1.get('r53d_reloads_total{result="success"}', 0) > ok0 or \
                    m1.get('r53d_reloads_total{result="failure"}', 0) > (bad0 or 0):
                t_done = time.monotonic() - t0
                break
            time.sleep(0.005)
        c1, ns1 = cpu_ticks(pids), schedstat_ns(pids)
        big_ok = probe(port, meta["probe"], "192.0.2.254", timeout=1.0)
        rss, _, hwm1 = memory_kb(pids)
        r = {"new_answer_ms": None if t_new is None else t_new * 1e3,
             "done_ms": None if t_done is None else t_done * 1e3,
             # stat ticks count threads that ended but have a 10 ms grain; schedstat is
             # exact but loses threads that ended: the larger of the two
             "cpu_ms": max(1e3 * sum(c1.get(p, c0[p]) - c0[p] for p in c0) / CLK_TCK,
                           (ns1 - ns0) / 1e6),
             "peak_growth_mb": (hwm1 - hwm0) / 1024, "rss_mb": rss / 1024,
             "big_zone_answers": big_ok,
             "failed": m1.get('r53d_reloads_total{result="failure"}', 0) > (bad0 or 0),
             "metrics": {n: v for n, v in m1.items() if n.startswith(RELOAD_METRIC_PREFIXES)}}
        res["reloads"].append(r)
        log("bench: reload %d: new answer after %s ms, done after %s ms, CPU %.0f ms, peak +%.1f MB"
            "%s%s %s" % (k, fmt(r["new_answer_ms"], ".1f"), fmt(r["done_ms"], ".1f"), r["cpu_ms"],
                         r["peak_growth_mb"], "" if big_ok else ", BIG ZONE NOT ANSWERING",
                         " FAILED" if r["failed"] else "",
                         " ".join("%s=%g" % kv for kv in sorted(r["metrics"].items()))))
        time.sleep(a.settle)  # let the old snapshot go before the next one
    srv.stop()
    return res


def print_reload(res):
    print("\nReload (SIGHUP) of one r53d serving a %d-name zone and a 100-name zone; only the "
          "small zone changes (issue 10 goals: new answer < 50 ms, build allocates < 1 MiB)"
          % res["names"])
    if res["load_s"] is None or not res["reloads"]:
        print("r53d did not load the two zones: no reload figures")
        return
    rl = res["reloads"]
    names = sorted({n for r in rl for n in r["metrics"]})
    print("loaded both zones in %.2f s, RSS %.1f MB; %d reloads" % (
        res["load_s"], res.get("rss_mb", 0), len(rl)))
    short = {n: re.sub(r"^r53d_(snapshot_(?=build_|zones_))?", "", n) for n in names}
    width = {n: max(len(short[n]), 10) for n in names}
    cols = ["new answer ms", "done ms", "CPU ms", "peak +MB"]
    print("%-8s" % "reload" + "".join(" %14s" % c for c in cols) +
          "".join(" %*s" % (width[n], short[n]) for n in names))
    rows = [(str(i + 1), r) for i, r in enumerate(rl)]
    medr = {k: med([r[k] for r in rl]) for k in ("new_answer_ms", "done_ms", "cpu_ms",
                                                  "peak_growth_mb")}
    medr["metrics"] = {n: med([r["metrics"].get(n) for r in rl]) for n in names}
    for label, r in rows + [("median", medr)]:
        line = "%-8s %14s %14s %14s %14s" % (
            label, fmt(r["new_answer_ms"], ".1f"), fmt(r["done_ms"], ".1f"), fmt(r["cpu_ms"], ".1f"),
            fmt(r["peak_growth_mb"], ".1f"))
        for n in names:
            line += " %*s" % (width[n], fmt(r["metrics"].get(n),
                                            ".4f" if n.endswith("_seconds") else ".0f"))
        if label != "median" and (not r["big_zone_answers"] or r["failed"]):
            line += "  ! %s" % ("reload failed" if r["failed"] else "big zone not answering")
        print(line)
    if names:
        print("columns after 'peak +MB': r53d's /metrics after each reload (r53d_snapshot_*)")
    else:
        print("(this r53d exposes no r53d_snapshot_build_* metric: bytes allocated by the build "
              "not measured; 'CPU ms' is the whole process's CPU from the signal to the reload "
              "counted in /metrics)")
    goal = ["new answer %s ms (goal < 50)" % fmt(medr["new_answer_ms"], ".1f")]
    b = medr["metrics"].get("r53d_snapshot_build_bytes")
    if b is not None:
        goal.append("build allocated %.3f MiB (goal < 1)" % (b / 1048576))
    print("median: " + "; ".join(goal))


def tune(a):
    """Sweep dnsperf -T/-c/-q against echo and NSD; print qps, loss and server busy%."""
    meta = zone_for(a, a.names)
    srvs = [echo_server(a, "echo", free_port()), nsd_server(a, "nsd", meta, free_port())]
    srvs[0].start()
    wait_port_echo(srvs[0])
    srvs[1].start()
    if srvs[1].wait_ready(meta["probe"], "192.0.2.254", a.load_limit) is None:
        die("nsd did not start")
    if a.tune_grid:
        grid = [tuple(int(x) for x in g.split(",")) for g in a.tune_grid.split(";")]
    else:
        grid = [(T, c, q) for T in (1, 2, 4, 8) for c in (4, 8, 16, 32) for q in (200, 500, 1000)
                if c >= T]
    grid = grid * a.repeats if a.tune_grid else grid
    print("%-18s %-6s %9s %7s %6s %7s" % ("dnsperf", "server", "qps", "lost%", "busy%", "client%"))
    for T, c, q in grid:
        a.dnsperf = "-T %d -c %d -q %d" % (T, c, q)
        for srv in srvs:
            r = run_dnsperf(a, srv, meta["queries_file"], a.seconds, [], "tune")
            print("%-18s %-6s %9.0f %7.2f %6.0f %7.0f" % (
                a.dnsperf, srv.label, r.get("qps", 0), 100 * r.get("lost", 0) / max(r.get("sent", 1), 1),
                100 * r["server_cpu_s"] / r["wall_s"], 100 * r["client_cpu_s"] / r["wall_s"]),
                flush=True)
    for s in srvs:
        s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SECONDS_PER_RUN", 10)),
                    help="length of each measured dnsperf window (default 10)")
    ap.add_argument("--repeats", type=int, default=3, help="measured runs per server (median)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured dnsperf seconds first")
    ap.add_argument("--names", type=int, default=100000, help="zone size for throughput")
    ap.add_argument("--scale", default="100000,1000000",
                    help="zone sizes for load time/RSS, comma separated, or 'none'")
    ap.add_argument("--scale-repeats", type=int, default=3, help="loads per server and size (median)")
    ap.add_argument("--only", choices=("all", "throughput", "scale", "reload"), default="all")
    ap.add_argument("--reload-names", type=int, default=1000000,
                    help="big zone of the reload figure (0 to skip the reload part)")
    ap.add_argument("--reload-repeats", type=int, default=5, help="reloads measured")
    ap.add_argument("--servers", default="r53d,nsd,knot,gdnsd,echo",
                    help="which servers (default r53d,nsd,knot,gdnsd,echo; the scale part "
                         "leaves out the echo)")
    ap.add_argument("--scenario", default=",".join(KNOWN_SCENARIOS),
                    help="comma list: static (built in), %s" % ", ".join(
                        k for k in KNOWN_SCENARIOS if k != "static"))
    ap.add_argument("--scenario-dir", default=os.path.join(HERE, "scenarios"),
                    help="where scenario directories are (default tests/bench/scenarios)")
    ap.add_argument("--dnsperf", default=DEFAULT_DNSPERF,
                    help="dnsperf load options (default %r)" % DEFAULT_DNSPERF)
    ap.add_argument("--rate", type=int, default=0, help="fixed offered load (dnsperf -Q)")
    ap.add_argument("--edns", action="store_true", help="dnsperf sends EDNS0 (-e)")
    ap.add_argument("--minimal", action="store_true",
                    help="no NS set in authority: r53d authority_ns false, NSD minimal-responses")
    ap.add_argument("--timeout", type=int, default=2, help="dnsperf -t (query timeout)")
    ap.add_argument("--queries", type=int, default=200000, help="lines in the query file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--origin", default="bench.test.")
    ap.add_argument("--r53d", help="r53d binary (default: build one in build-bench/)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--nsd", default=shutil.which("nsd") or "/usr/sbin/nsd")
    ap.add_argument("--knotd", default=shutil.which("knotd") or "/usr/sbin/knotd")
    ap.add_argument("--gdnsd", default=shutil.which("gdnsd") or "/usr/sbin/gdnsd")
    ap.add_argument("--rcvbuf", type=int, default=4 * 1024 * 1024,
                    help="UDP receive buffer (bytes) given to NSD, Knot and gdnsd through "
                         "rcvbuf.so, as r53d asks for itself (0: leave theirs alone)")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--check-per-class", type=int, default=20,
                    help="answer-check queries per class of the mix")
    ap.add_argument("--load-limit", type=int, default=600, help="seconds to wait for a load")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds after load before RSS")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--tune", action="store_true",
                    help="sweep dnsperf -T/-c/-q against echo and NSD (--seconds each)")
    ap.add_argument("--tune-grid", help='with --tune: "T,c,q;T,c,q;..." (repeated --repeats times)')
    a = ap.parse_args()
    a.servers = [s for s in a.servers.split(",") if s]
    for s in a.servers:
        if s not in ("r53d", "echo") + PEERS:
            die("unknown server %r (r53d, nsd, knot, gdnsd, echo)" % s)
    a.binary = {k: getattr(a, {"nsd": "nsd", "knot": "knotd", "gdnsd": "gdnsd"}[k])
                for k in PEERS}
    a.binary = {k: v for k, v in a.binary.items() if v and os.access(v, os.X_OK)}
    a.scenario = [s for s in a.scenario.split(",") if s]
    a.scale = [] if a.scale == "none" else [int(x) for x in a.scale.split(",")]
    for n in a.scenario:
        if n == "static" and not static_scenario(a):
            continue  # the built-in reference: r53d on the generated zone's query mix
        if not os.path.exists(os.path.join(a.scenario_dir, n, "scenario.json")):
            die("scenario %r is not provided yet (%s): add %s (see scenarios/README.md)" % (
                n, KNOWN_SCENARIOS.get(n, "unknown name"),
                os.path.join(a.scenario_dir, n, "scenario.json")))
    for tool in ("dnsperf", "dig", "taskset"):
        if not shutil.which(tool):
            die("%s not found: run contrib/deps.sh --bench" % tool)
    if (os.cpu_count() or 1) < 2:
        log("bench: fewer than 2 CPUs; not pinning")
        a.server_cpu = a.client_cpu = None
    os.makedirs(a.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    a.rundir = os.path.join(a.out, "run-" + stamp)
    os.makedirs(a.rundir)

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    a.echo = build_echo(a)
    a.rcvbuf_so = build_rcvbuf(a) if a.rcvbuf else None
    try:
        if a.tune:
            tune(a)
            return 0
        r53d_bin = build_r53d(a) if "r53d" in a.servers else None
        report = {"date": stamp, "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                                             "load_before": open("/proc/loadavg").read().split()[:3]},
                  "r53d_source": git_describe(),
                  "args": {k: v for k, v in vars(a).items() if k not in ("echo",)}}
        status = 0
        if a.only in ("all", "throughput"):
            rows, checks, invalid, meta = phase_throughput(a, r53d_bin)
            report["throughput"] = rows
            report["answer_checks"] = checks
            if rows:
                print_throughput([r for r in rows if not r["label"].startswith("r53d-")],
                                 a.names, invalid)
                print_scenarios(rows, invalid)
            if invalid:
                status = 1
        if a.only in ("all", "scale") and a.scale:
            srows = phase_scale(a, r53d_bin)
            report["scale"] = srows
            print_scale(srows)
        if a.only in ("all", "reload") and a.reload_names:
            if not r53d_bin:
                log("bench: no r53d binary: no reload figure")
            else:
                rres = phase_reload(a, r53d_bin)
                report["reload"] = rres
                print_reload(rres)
        report["machine"]["load_after"] = open("/proc/loadavg").read().split()[:3]
        jp = os.path.join(a.rundir, "results.json")
        with open(jp, "w") as f:
            json.dump(report, f, indent=1, default=str)
        print("\nr53d source %s; load average before/after: %s / %s; raw results: %s" % (
            report["r53d_source"], " ".join(report["machine"]["load_before"]),
            " ".join(report["machine"]["load_after"]), jp))
        return status
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
