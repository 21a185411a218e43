# SPDX-License-Identifier: MIT
"""harness -- start r53d (or NSD) on a free loopback port and query it with dig/kdig.

Only loopback addresses are used. Every wait is bounded. Processes are stopped only by the
PID this module started them with.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import dnswire

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
ZONES = os.path.join(FIXTURES, "zones")
CONFS = os.path.join(FIXTURES, "conf")

# Set by run.py from --r53d / --nsd (or the environment for ad-hoc use).
R53D = os.environ.get("R53D", "")
NSD = os.environ.get("NSD", "/usr/sbin/nsd")
DIG = shutil.which("dig") or "/usr/bin/dig"
KDIG = shutil.which("kdig") or "/usr/bin/kdig"
# Sanitizer builds start and answer more slowly; scale every wait by this.
SLOW = float(os.environ.get("R53D_TEST_SLOW", "1"))
TARGET = os.environ.get("R53D_TEST_TARGET", "r53d")   # "nsd": calibrate tests on NSD
KEEP = os.environ.get("R53D_TEST_KEEP", "") != ""   # keep temp dirs for debugging


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (bounded tries)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port found")


def wait_answering(port, proc, qname, timeout, log=None):
    """Poll with a UDP query until any reply comes (bounded). Raises if the process died."""
    deadline = time.monotonic() + timeout
    wire = dnswire.make_query(qname, "SOA")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s before answering:\n%s" %
                               (proc.returncode, log() if log else ""))
        if dnswire.udp_exchange(port, wire, timeout=0.2) is not None:
            return
        time.sleep(0.05)
    raise RuntimeError("server did not answer within %.1fs:\n%s" % (timeout, log() if log else ""))


class Server:
    """Base: a process we started, its temp dir and its stderr log."""

    name = "server"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="r53d-integ-")
        self.port = free_port()
        self.proc = None
        self.logpath = os.path.join(self.dir, self.name + ".log")
        self._logf = None

    def log(self):
        try:
            with open(self.logpath, "r", errors="replace") as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    def _spawn(self, argv, probe):
        if self._logf:
            self._logf.close()
        # append: a restart (same directory and port) keeps the earlier runs' log
        self._logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=subprocess.STDOUT)
        try:
            wait_answering(self.port, self.proc, probe, 15 * SLOW, self.log)
        except Exception:
            self.kill()
            raise

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=10):
        """SIGTERM our own PID; return the exit status (None if we had to SIGKILL)."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.kill()
                rc = None
        if self._logf:
            self._logf.close()
            self._logf = None
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def restart(self):
        """SIGKILL our own PID if it still runs, then start again with the same directory,
        configuration and port (the log is appended to)."""
        self.kill()
        return self.start()

    def cleanup(self):
        self.kill()
        if self._logf:
            self._logf.close()
            self._logf = None
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    # Query helpers bound to this server's port.
    def q(self, qname, qtype="A", **kw):
        return dnswire.query(self.port, qname, qtype, **kw)

    def dig(self, *args, **kw):
        return dig(self.port, *args, **kw)

    def kdig(self, *args, **kw):
        return kdig(self.port, *args, **kw)


def copy_zones(dst, files):
    for f in files:
        src = os.path.join(ZONES, f)
        shutil.copy(src, os.path.join(dst, os.path.basename(f)))


# The fixture zones every answer test serves: (zone name, file).
FIXTURE_ZONES = [("example.com.", "example.com.zone"),
                 ("child.example.com.", "child.example.com.zone")]
FIXTURE_EXTRA_FILES = ["example.com.inc"]


class R53d(Server):
    name = "r53d"

    def __init__(self, zones=None, extra_files=None, zone_texts=None, **conf):
        """zones: [(name, file)] copied from tests/fixtures/zones; zone_texts: {file: text}
        written into the temp dir; conf: extra top-level configuration keys."""
        super().__init__()
        if not R53D:
            raise unittest.SkipTest("no r53d binary given (--r53d)")
        zones = FIXTURE_ZONES if zones is None else zones
        if extra_files is None:
            extra_files = FIXTURE_EXTRA_FILES if zones is FIXTURE_ZONES else []
        zone_texts = zone_texts or {}
        copy_zones(self.dir, [f for _, f in zones if f not in zone_texts] + list(extra_files))
        for fname, text in zone_texts.items():
            with open(os.path.join(self.dir, fname), "w") as f:
                f.write(text)
        self.zones = zones
        self.conf = {"listen": ["127.0.0.1:%d" % self.port], "workers": 1,
                     "hosted_zones": [
                         {"HostedZone": {"Id": "/hostedzone/Z%d" % (i + 1), "Name": name},
                          "zone_file": fname} for i, (name, fname) in enumerate(zones)]}
        self.conf.update(conf)
        # "listen" entries may say {port}: the free port picked for this server
        self.conf["listen"] = [x.format(port=self.port) for x in self.conf["listen"]]
        self.conf_path = os.path.join(self.dir, "r53d.json")
        self.write_conf()

    def write_conf(self, conf=None):
        with open(self.conf_path, "w") as f:
            json.dump(self.conf if conf is None else conf, f, indent=1)

    def start(self):
        probe = self.zones[0][0] if self.zones else "example.com."
        self._spawn([R53D, "-c", self.conf_path], probe)
        return self


class Nsd(Server):
    name = "nsd"

    def __init__(self, zones=None, extra_files=None, zone_texts=None, options=None):
        super().__init__()
        if not os.access(NSD, os.X_OK):
            raise unittest.SkipTest("NSD not installed at %s" % NSD)
        zones = FIXTURE_ZONES if zones is None else zones
        if extra_files is None:
            extra_files = FIXTURE_EXTRA_FILES if zones is FIXTURE_ZONES else []
        zone_texts = zone_texts or {}
        copy_zones(self.dir, [f for _, f in zones if f not in zone_texts] + list(extra_files))
        for fname, text in zone_texts.items():
            with open(os.path.join(self.dir, fname), "w") as f:
                f.write(text)
        self.zones = zones
        d = self.dir
        opts = {"server-count": "1", "minimal-responses": "no", "round-robin": "no",
                "hide-version": "yes", "hide-identity": "yes", "refuse-any": "no"}
        opts.update(options or {})
        lines = ["server:",
                 "  ip-address: 127.0.0.1", "  port: %d" % self.port, "  do-ip6: no",
                 '  username: ""', '  chroot: ""', '  database: ""',
                 '  zonesdir: "%s"' % d, '  pidfile: "%s/nsd.pid"' % d,
                 '  zonelistfile: "%s/zone.list"' % d, '  xfrdfile: "%s/xfrd.state"' % d,
                 '  xfrdir: "%s"' % d, "  verbosity: 1",
                 # NSD's response rate limiting (on by default: 200 qps per source, with
                 # empty truncated "slip" replies) would answer a test's bursts of
                 # NXDOMAIN/NODATA with TC; r53d has no RRL.
                 "  rrl-ratelimit: 0", "  rrl-whitelist-ratelimit: 0"]
        lines += ["  %s: %s" % (k, v) for k, v in opts.items()]
        lines += ["remote-control:", "  control-enable: no"]
        for name, fname in zones:
            lines += ["zone:", "  name: %s" % name, '  zonefile: "%s"' % fname]
        self.conf_path = os.path.join(d, "nsd.conf")
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self._spawn([NSD, "-d", "-c", self.conf_path], self.zones[0][0])
        # NSD answers SERVFAIL until a zone is loaded; wait for every zone's authoritative SOA.
        deadline = time.monotonic() + 10 * SLOW
        pending = [z for z, _ in self.zones]
        while pending and time.monotonic() < deadline:
            m = self.q(pending[0], "SOA", timeout=0.5)
            if m is not None and m.rcode == 0 and m.answer and m.aa:
                pending.pop(0)
                continue
            time.sleep(0.05)
        if pending:
            raise RuntimeError("NSD did not load zone %s:\n%s" % (pending[0], self.log()))
        return self


# ---------------------------------------------------------------------------------------
# dig / kdig: run the real clients and parse their text output.

class DigResult:
    """Parsed output of one dig or kdig query."""

    def __init__(self, text, exit_code):
        self.text = text
        self.exit = exit_code
        self.status = None
        self.id = None
        self.opcode = None
        self.flags = set()
        self.counts = {}
        self.edns = None           # dict(version=, udp=, flags=) when an OPT came back
        self.question = []
        self.sections = {"ANSWER": [], "AUTHORITY": [], "ADDITIONAL": []}
        self.truncated_note = False

    @property
    def answer(self):
        return self.sections["ANSWER"]

    @property
    def authority(self):
        return self.sections["AUTHORITY"]

    @property
    def additional(self):
        return self.sections["ADDITIONAL"]

    def rrs(self, section, rtype=None):
        return [r for r in self.sections[section] if rtype is None or r[3] == rtype]

    def rdatas(self, section, rtype=None):
        return sorted(r[4] for r in self.rrs(section, rtype))

    def __repr__(self):
        return self.text


_RR_RE = re.compile(r"^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s*(.*)$")


def parse_dig(text, exit_code):
    """Parse dig (BIND 9.18) or kdig (Knot 3.x) output for a single message."""
    r = DigResult(text, exit_code)
    section = None
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        m = re.search(r"->>HEADER<<- opcode: (\w+)[,;] status: (\w+)[,;] id: (\d+)", s)
        if m:
            r.opcode, r.status, r.id = m.group(1), m.group(2), int(m.group(3))
            continue
        m = re.match(r";; [Ff]lags:([^;]*);(.*)$", s)
        if m and "QUERY" in m.group(2):
            r.flags = set(m.group(1).split())
            for k, v in re.findall(r"(QUERY|ANSWER|AUTHORITY|ADDITIONAL): (\d+)", m.group(2)):
                r.counts[k] = int(v)
            continue
        m = re.match(r";? ?EDNS: version: (\d+), flags:([^;]*); udp: (\d+)", s.lstrip(";").strip()) \
            or re.match(r";; Version: (\d+); flags:([^;]*); UDP size: (\d+)", s)
        if m:
            r.edns = {"version": int(m.group(1)), "flags": set(m.group(2).split()),
                      "udp": int(m.group(3))}
            continue
        m = re.match(r";; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:", s)
        if m:
            section = m.group(1)
            continue
        if "Truncated" in s or "truncated" in s:
            r.truncated_note = True
        if s.startswith(";"):
            if section == "QUESTION":
                q = s.lstrip(";").split()
                if len(q) >= 3:
                    r.question.append((q[0], q[1], q[2]))
            elif s.startswith(";;") and section in r.sections:
                section = None   # ';; Received ...' / ';; Query time' ends the sections
            continue
        if section in r.sections:
            m = _RR_RE.match(s)
            if m:
                r.sections[section].append((m.group(1), int(m.group(2)), m.group(3),
                                            m.group(4), m.group(5).strip()))
    return r


def _run(argv, timeout):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return (e.stdout or b"").decode("utf-8", "replace"), -1
    return p.stdout.decode("utf-8", "replace"), p.returncode


def dig(port, qname, qtype="A", *opts, qclass="IN", timeout=2):
    """dig @127.0.0.1 -p PORT; default options: +norec +nocookie +tries=1, EDNS as dig does."""
    return dig_at("127.0.0.1", port, qname, qtype, *opts, qclass=qclass, timeout=timeout)


def dig_at(addr, port, qname, qtype="A", *opts, qclass="IN", timeout=2):
    argv = [DIG, "@" + addr, "-p", str(port), "+norec", "+nocookie", "+tries=1",
            "+timeout=%d" % timeout, "+nocmd", "+nostats", "-c", qclass, "-t", qtype, "-q",
            qname] + list(opts)
    return parse_dig(*_run(argv, timeout * 3 + 5))


def kdig(port, qname, qtype="A", *opts, qclass="IN", timeout=2):
    argv = [KDIG, "@127.0.0.1", "-p", str(port), "+norec", "+nocookie", "+retry=0",
            "+timeout=%d" % timeout, "-c", qclass, "-t", qtype, "-q", qname] + list(opts)
    return parse_dig(*_run(argv, timeout * 3 + 5))


class ServerCase(unittest.TestCase):
    """One r53d for the whole class (class attribute SERVER_ARGS: kwargs for R53d).
    tearDownClass stops it with SIGTERM and the class fails if it did not exit 0."""

    SERVER_ARGS = {}
    srv = None

    @classmethod
    def setUpClass(cls):
        if TARGET == "nsd":
            # Calibration mode: run the same assertions against NSD (r53d-only settings are
            # ignored, so the tests that depend on them are expected to fail there).
            kw = {k: v for k, v in cls.SERVER_ARGS.items()
                  if k in ("zones", "extra_files", "zone_texts")}
            tcp = cls.SERVER_ARGS.get("tcp", {})
            opts = {}
            if "idle_timeout_ms" in tcp:
                opts["tcp-timeout"] = str(max(1, (tcp["idle_timeout_ms"] + 999) // 1000))
            if "max_connections" in tcp:
                opts["tcp-count"] = str(tcp["max_connections"])
            cls.srv = Nsd(options=opts, **kw)
        else:
            cls.srv = R53d(**cls.SERVER_ARGS)
        try:
            cls.srv.start()
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        srv = cls.srv
        if srv is None:
            return
        try:
            alive = srv.alive()
            rc = srv.stop()
            log = srv.log()
        finally:
            srv.cleanup()
        if not alive:
            raise AssertionError("r53d died during %s (exit %s):\n%s" % (cls.__name__, rc, log))
        if rc != 0:
            raise AssertionError("r53d exit status after SIGTERM was %s, want 0:\n%s" %
                                 (rc, log))

    def assertAnswering(self):
        """The process is alive and a normal query gets the right answer."""
        self.assertTrue(self.srv.alive(), "r53d died:\n" + self.srv.log())
        m = self.srv.q("www.example.com.", "A", timeout=3)
        self.assertIsNotNone(m, "no answer to a normal query")
        self.assertEqual(m.rcode, 0)
        self.assertEqual(sorted(r.rdata for r in m.answer),
                         [bytes([192, 0, 2, x]) for x in (80, 81, 82)])


def a(ip):
    return socket.inet_pton(socket.AF_INET, ip)


def aaaa(ip):
    return socket.inet_pton(socket.AF_INET6, ip)
