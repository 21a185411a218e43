#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""resolvers.py -- one Unbound resolver per VPC in front of r53d, made from r53d's own
configuration file (see README.md beside this file).

    resolvers.py conf  --config CONFIG --dir RUNDIR [options]   write the Unbound configurations
    resolvers.py start --config CONFIG --dir RUNDIR [options]   write them and start unbound -d
    resolvers.py stop  --dir RUNDIR [--vpc ID ...]              stop the resolvers started there

Options:
    --vpc ID            only this VPC (may be repeated; default: every VPC of vpcs[])
    --upstream IP[@PORT]  resolve every name outside the hosted zones there (default: refuse)
    --listen-base PFX   resolver address PFX + last octet of the VPC's source (127.0.1.)
    --port PORT         resolver port on that address (53)
    --zone NAME         also send NAME to r53d (zones created through the Route 53 API,
                        which the configuration file does not name; may be repeated)
    --unbound PATH      the unbound binary (default: unbound on PATH, else /usr/sbin/unbound)

For each VPC: Unbound listens on PFX.N:PORT (N: the last octet of the first address of
the VPC's first IPv4 source CIDR) and asks r53d (the first IPv4 "listen" address) from
that source address, so r53d answers it with the VPC's view. Exit status: 0 ok, 1 error,
2 usage error.
"""

import argparse
import ipaddress
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

PROG = "resolvers.py"
START_WAIT = 10.0     # seconds for a started unbound to answer
STOP_WAIT = 10.0      # seconds for a stopped unbound to exit after SIGTERM


class Error(Exception):
    pass


def die(msg):
    print("%s: %s" % (PROG, msg), file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------------------
# r53d's configuration (DESIGN.md "Configuration"): the same reading rules as server/conf.c

def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise Error("%s: cannot read %s: %s" % (what, path, e.strerror))
    except ValueError as e:
        raise Error("%s: %s is not JSON: %s" % (what, path, e))


def aws_value(confdir, v, what):
    """An AWS-shaped value: inline, or a string naming a file (relative to the config)."""
    if isinstance(v, str):
        return load_json(os.path.join(confdir, v), what)
    return v


def parse_hostport(text, what):
    """"127.0.0.1:5353", "[::1]:5353", "127.0.0.1" -> (ip_address, port); port 53 if absent."""
    host, port = text, "53"
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise Error("%s: not an address: %r" % (what, text))
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise Error("%s: not an address: %r" % (what, text))
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ip = ipaddress.ip_address(host)
        p = int(port)
        if not 0 <= p <= 65535:
            raise ValueError
    except ValueError:
        raise Error("%s: not an address: %r" % (what, text))
    return ip, p


def canon(name):
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


class Vpc:
    def __init__(self, vid, region, sources):
        self.id, self.region, self.sources = vid, region, sources
        self.zones = []            # [(name, private)]
        self.source = None         # address r53d sees the resolver's queries from
        self.listen = None         # address the resolver listens on


def read_config(path):
    """-> (r53d address, r53d port, [Vpc]) from an r53d configuration file."""
    conf = load_json(path, "config")
    if not isinstance(conf, dict):
        raise Error("%s: not a JSON object" % path)
    confdir = os.path.dirname(os.path.abspath(path))

    listen = conf.get("listen", ["127.0.0.1:53"])
    if not isinstance(listen, list):
        raise Error("%s: listen: must be an array of \"host:port\" strings" % path)
    r53d = None
    for i, item in enumerate(listen):
        if not isinstance(item, str):
            raise Error("%s: listen[%d]: not a string" % (path, i))
        ip, port = parse_hostport(item, "%s: listen[%d]" % (path, i))
        if ip.version == 4:
            # a wildcard listener is reached on loopback
            r53d = (ipaddress.ip_address("127.0.0.1") if ip.is_unspecified else ip, port)
            break
    if r53d is None:
        raise Error("%s: listen: no IPv4 address (the resolvers ask r53d over IPv4)" % path)

    vpcs = []
    for i, v in enumerate(conf.get("vpcs") or []):
        if not isinstance(v, dict) or not isinstance(v.get("VPCId"), str) \
                or not isinstance(v.get("sources"), list):
            raise Error("%s: vpcs[%d]: needs VPCId, VPCRegion and sources" % (path, i))
        nets = []
        for k, s in enumerate(v["sources"]):
            try:
                nets.append(ipaddress.ip_network(s, strict=False))
            except (TypeError, ValueError):
                raise Error("%s: vpcs[%d].sources[%d]: not a CIDR block: %r" % (path, i, k, s))
        vpcs.append(Vpc(v["VPCId"], v.get("VPCRegion", "?"), nets))
    by_id = {v.id: v for v in vpcs}

    public = []
    for i, z in enumerate(conf.get("hosted_zones") or []):
        where = "%s: hosted_zones[%d]" % (path, i)
        if not isinstance(z, dict) or "HostedZone" not in z:
            raise Error("%s: needs HostedZone" % where)
        hz = aws_value(confdir, z["HostedZone"], where + ".HostedZone")
        vpc_refs = z.get("VPCs")
        # a get-hosted-zone file wraps it: {"HostedZone": {...}, "VPCs": [...]}
        if isinstance(hz, dict) and isinstance(hz.get("HostedZone"), dict):
            if vpc_refs is None:
                vpc_refs = hz.get("VPCs")
            hz = hz["HostedZone"]
        if not isinstance(hz, dict) or not isinstance(hz.get("Name"), str) or not hz["Name"]:
            raise Error("%s.HostedZone: needs Name" % where)
        name = canon(hz["Name"])
        cfg = hz.get("Config")
        private = isinstance(cfg, dict) and cfg.get("PrivateZone") is True
        if not private:
            public.append(name)
            continue
        for ref in vpc_refs or []:
            vid = ref.get("VPCId") if isinstance(ref, dict) else None
            if vid not in by_id:
                raise Error("%s: VPCs: VPC %s is not in the configuration's vpcs" % (where, vid))
            by_id[vid].zones.append((name, True))
    for v in vpcs:
        for name in public:
            v.zones.append((name, False))
    return r53d, vpcs


# ---------------------------------------------------------------------------------------
# The Unbound configuration

def q(s):
    return '"%s"' % s


def _default_zones():
    """Unbound's default local zones (unbound.conf(5) 1.17, "local-zone"): answered by
    Unbound itself (static, mostly NXDOMAIN) unless a local-zone of the same name is set."""
    z = ["localhost.", "127.in-addr.arpa.", "1." + "0." * 31 + "ip6.arpa.", "home.arpa.",
         "onion.", "test.", "invalid.", "10.in-addr.arpa.", "168.192.in-addr.arpa.",
         "0.in-addr.arpa.", "254.169.in-addr.arpa.", "2.0.192.in-addr.arpa.",
         "100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
         "255.255.255.255.in-addr.arpa.", "0." * 32 + "ip6.arpa.", "d.f.ip6.arpa.",
         "8.b.d.0.1.0.0.2.ip6.arpa."]
    z += ["%d.172.in-addr.arpa." % i for i in range(16, 32)]
    z += ["%d.100.in-addr.arpa." % i for i in range(64, 128)]
    z += ["%s.e.f.ip6.arpa." % c for c in "89ab"]
    return z


DEFAULT_ZONES = _default_zones()


def under(name, parent):
    """name is parent or below it (canonical names: lower case, trailing dot)."""
    return parent == "." or name == parent or name.endswith("." + parent)


def unbound_conf(vpc, r53d, port, rundir, upstream, extra_zones):
    """The text of one VPC's unbound.conf."""
    r53d_ip, r53d_port = r53d
    names, seen = [], set()
    for name, private in vpc.zones + [(z, False) for z in extra_zones]:
        if name not in seen:
            seen.add(name)
            names.append(name)
    private_names = {n for n, p in vpc.zones if p}
    # ECS for the public zones (a private zone of the same name shadows the public one in
    # this VPC: r53d ignores ECS there anyway, spec PZ-10)
    ecs_zones = [n for n in names if n not in private_names]
    base = os.path.join(rundir, vpc.id)
    L = [
        "# Unbound for %s (%s), written by contrib/resolver/resolvers.py from r53d's"
        % (vpc.id, vpc.region),
        "# configuration. Do not edit: run resolvers.py conf/start again.",
        "server:",
        "    interface: %s" % vpc.listen,
        "    port: %d" % port,
        "    interface-automatic: no",
        "    so-reuseport: no",
        "    do-ip4: yes",
        "    do-ip6: no",
        "    do-udp: yes",
        "    do-tcp: yes",
        "    access-control: 127.0.0.0/8 allow",
        "    access-control: ::1/128 allow",
        "    # r53d sees the queries coming from the VPC's source address: the VPC's view",
        "    outgoing-interface: %s" % vpc.source,
        "    do-not-query-localhost: no",
        "    chroot: \"\"",
        "    username: \"\"",
        "    directory: %s" % q(rundir),
        "    pidfile: %s" % q(base + ".unbound.pid"),
        "    use-syslog: no",
        "    logfile: %s" % q(base + ".log"),
        "    log-time-ascii: yes",
        "    verbosity: 1",
        "    num-threads: 1",
        "    outgoing-range: 128",
        "    num-queries-per-thread: 64",
        "    msg-cache-size: 1m",
        "    rrset-cache-size: 2m",
        "    infra-cache-numhosts: 100",
        "    # hosted zones are unsigned: no validator; r53d is our own authority, nothing",
        "    # to hide from it (no QNAME minimisation)",
        "    module-config: \"subnetcache iterator\"",
        "    qname-minimisation: no",
        "    hide-identity: yes",
        "    hide-version: yes",
        "    # EDNS Client Subnet (the subnet cache module) for the public zones: a client's",
        "    # own ECS option is passed on (up to /24, /56), else its address is sent",
        "    max-client-subnet-ipv4: 24",
        "    max-client-subnet-ipv6: 56",
        "    client-subnet-always-forward: no",
    ]
    L += ["    client-subnet-zone: %s" % q(n) for n in ecs_zones]
    if upstream is None:
        L += ["    # no upstream: every name outside the hosted zones is refused, also in",
              "    # Unbound's default zones (test., 10.in-addr.arpa., ...) above a hosted zone"]
        L += ["    local-zone: \".\" refuse"]
        L += ["    local-zone: %s refuse" % q(d) for d in DEFAULT_ZONES
              if not any(under(d, n) for n in names) and any(under(n, d) for n in names)]
    L += ["    local-zone: %s transparent" % q(n) for n in names]
    # a default zone inside a hosted zone would hide r53d's data there
    L += ["    local-zone: %s transparent" % q(d) for d in DEFAULT_ZONES
          if d not in names and any(under(d, n) for n in names)]
    L += ["", "remote-control:", "    control-enable: no", ""]
    for n in names:
        L += ["stub-zone:", "    name: %s" % q(n),
              "    stub-addr: %s@%d" % (r53d_ip, r53d_port), ""]
    if upstream is not None:
        L += ["forward-zone:", "    name: \".\"", "    forward-addr: %s" % upstream, ""]
    return "\n".join(L)


# ---------------------------------------------------------------------------------------
# Processes: started with Popen, recorded as RUNDIR/VPCID.pid, stopped by that PID only

def pidfile(rundir, vid):
    return os.path.join(rundir, vid + ".pid")


def read_pid(rundir, vid):
    try:
        with open(pidfile(rundir, vid)) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def is_ours(pid, conf_path):
    """The PID is alive and is an unbound started with this configuration file."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return (len(argv) > 2 and b"unbound" in os.path.basename(argv[0]) and
            conf_path.encode() in argv)


def dns_probe(addr, port, timeout):
    """True when anything answers a DNS query at addr:port (UDP) within timeout."""
    qid = os.getpid() & 0xFFFF
    # localhost. A: answered by Unbound itself (a default local zone), upstream or not
    msg = (struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x09localhost\x00" +
           struct.pack(">HH", 1, 1))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(msg, (addr, port))
        data, _ = s.recvfrom(4096)
        return len(data) >= 12 and data[:2] == msg[:2]
    except OSError:
        return False
    finally:
        s.close()


def log_tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def stop_pid(pid, conf_path, wait=STOP_WAIT):
    """SIGTERM our unbound, SIGKILL it if it has not exited in time. -> how it ended."""
    if not is_ours(pid, conf_path):
        return "not running"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "not running"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:   # our own child when start and stop run in one process (tests)
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return "stopped"
        except ChildProcessError:
            pass
        if not is_ours(pid, conf_path):
            return "stopped"
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return "killed (did not exit on SIGTERM)"


def find_unbound(given):
    if given:
        return given
    return shutil.which("unbound") or "/usr/sbin/unbound"


# ---------------------------------------------------------------------------------------

def plan(args):
    r53d, vpcs = read_config(args.config)
    if args.vpc:
        known = {v.id for v in vpcs}
        for vid in args.vpc:
            if vid not in known:
                raise Error("%s: no VPC %s in vpcs[] (there are: %s)" %
                            (args.config, vid, ", ".join(sorted(known)) or "none"))
        vpcs = [v for v in vpcs if v.id in args.vpc]
    if not vpcs:
        raise Error("%s: no VPC in vpcs[]: nothing to do" % args.config)
    base = args.listen_base if args.listen_base.endswith(".") else args.listen_base + "."
    used = {}
    for v in vpcs:
        nets = [n for n in v.sources if n.version == 4]
        if not nets:
            raise Error("%s: no IPv4 source CIDR (r53d is asked over IPv4)" % v.id)
        v.source = nets[0].network_address
        try:
            v.listen = ipaddress.IPv4Address(base + str(v.source.packed[3]))
        except ValueError:
            raise Error("--listen-base %r: %s is not an IPv4 address" %
                        (args.listen_base, base + str(v.source.packed[3])))
        if v.listen in used:
            raise Error("%s and %s would both listen on %s: start them one at a time with "
                        "--vpc and different --listen-base or --port" %
                        (used[v.listen], v.id, v.listen))
        used[v.listen] = v.id
    return r53d, vpcs


def describe(v, port, r53d):
    return "%s (%s): resolver %s:%d, asks r53d at %s:%d from %s" % (
        v.id, v.region, v.listen, port, r53d[0], r53d[1], v.source)


def write_confs(args, r53d, vpcs):
    os.makedirs(args.dir, exist_ok=True)
    rundir = os.path.abspath(args.dir)
    zones = [canon(z) for z in args.zone or []]
    paths = {}
    for v in vpcs:
        text = unbound_conf(v, r53d, args.port, rundir, args.upstream, zones)
        path = os.path.join(rundir, v.id + ".conf")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        paths[v.id] = path
    return paths


def check_conf(unbound, path):
    checker = os.path.join(os.path.dirname(unbound), "unbound-checkconf")
    if not os.access(checker, os.X_OK):
        return
    p = subprocess.run([checker, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=30)
    if p.returncode != 0:
        raise Error("%s: unbound-checkconf: %s" % (path, p.stdout.decode(errors="replace")))


def cmd_conf(args):
    r53d, vpcs = plan(args)
    paths = write_confs(args, r53d, vpcs)
    for v in vpcs:
        print(describe(v, args.port, r53d))
        print("  configuration: %s" % paths[v.id])
    return 0


def cmd_start(args):
    unbound = find_unbound(args.unbound)
    if not os.access(unbound, os.X_OK):
        raise Error("unbound not found (%s): install it (Debian: apt-get install unbound, "
                    "or contrib/deps.sh)" % unbound)
    r53d, vpcs = plan(args)
    rundir = os.path.abspath(args.dir)
    for v in vpcs:
        pid = read_pid(rundir, v.id)
        if pid is not None and is_ours(pid, os.path.join(rundir, v.id + ".conf")):
            raise Error("%s: already running as pid %d: run stop first" % (v.id, pid))
    paths = write_confs(args, r53d, vpcs)
    for v in vpcs:
        check_conf(unbound, paths[v.id])
    started = []
    try:
        for v in vpcs:
            log = os.path.join(rundir, v.id + ".log")
            with open(log, "ab") as logf:
                proc = subprocess.Popen([unbound, "-d", "-c", paths[v.id]],
                                        stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                        start_new_session=True, close_fds=True)
            started.append((v, proc))
            with open(pidfile(rundir, v.id), "w") as f:
                f.write("%d\n" % proc.pid)
            deadline = time.monotonic() + START_WAIT
            while True:
                if proc.poll() is not None:
                    raise Error("%s: unbound exited with status %d:\n%s" %
                                (v.id, proc.returncode, log_tail(log)))
                if dns_probe(str(v.listen), args.port, 0.2):
                    break
                if time.monotonic() > deadline:
                    raise Error("%s: unbound did not answer on %s:%d within %.0f s:\n%s" %
                                (v.id, v.listen, args.port, START_WAIT, log_tail(log)))
                time.sleep(0.05)
            print(describe(v, args.port, r53d), flush=True)
    except BaseException:
        for v, proc in started:   # leave nothing half started
            stop_pid(proc.pid, paths[v.id])
            try:
                os.unlink(pidfile(rundir, v.id))
            except OSError:
                pass
        raise
    return 0


def cmd_stop(args):
    rundir = os.path.abspath(args.dir)
    if args.vpc:
        ids = args.vpc
    else:
        try:
            ids = sorted(f[:-4] for f in os.listdir(rundir)
                         if f.endswith(".pid") and not f.endswith(".unbound.pid"))
        except OSError as e:
            raise Error("%s: %s" % (rundir, e.strerror))
    if not ids:
        print("%s: no resolvers recorded in %s" % (PROG, rundir), file=sys.stderr)
    for vid in ids:
        pid = read_pid(rundir, vid)
        if pid is None:
            print("%s: not started here" % vid)
            continue
        how = stop_pid(pid, os.path.join(rundir, vid + ".conf"))
        print("%s: pid %d %s" % (vid, pid, how))
        try:
            os.unlink(pidfile(rundir, vid))
        except OSError:
            pass
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("start", "stop", "conf"))
    ap.add_argument("--config", help="the r53d configuration file (start, conf)")
    ap.add_argument("--dir", required=True, help="run directory: configurations, logs, PIDs")
    ap.add_argument("--vpc", action="append", help="only this VPC (repeatable)")
    ap.add_argument("--upstream", help="IP[@PORT] resolving names outside the hosted zones")
    ap.add_argument("--listen-base", default="127.0.1.", help="resolver address prefix")
    ap.add_argument("--port", type=int, default=53, help="resolver port (53)")
    ap.add_argument("--zone", action="append", help="an extra zone served by r53d (repeatable)")
    ap.add_argument("--unbound", help="the unbound binary")
    args = ap.parse_args(argv)
    if args.command != "stop" and not args.config:
        ap.error("%s needs --config" % args.command)
    if not 0 < args.port < 65536:
        ap.error("--port: not a port: %d" % args.port)
    if args.upstream is not None:
        host, _, port = args.upstream.partition("@")
        try:
            ipaddress.ip_address(host)
            if port and not 0 < int(port) < 65536:
                raise ValueError
        except ValueError:
            ap.error("--upstream: expected IP or IP@PORT, got %r" % args.upstream)
    try:
        return {"start": cmd_start, "stop": cmd_stop, "conf": cmd_conf}[args.command](args)
    except Error as e:
        die(str(e))


if __name__ == "__main__":
    sys.exit(main())
