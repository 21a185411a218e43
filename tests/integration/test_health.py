# SPDX-License-Identifier: MIT
"""Health checks end to end: the real r53d probing real endpoints that this module starts on
loopback, observed through `dig` answers, the admin endpoint and the r53d log.

Scenarios (issue 5, "Acceptance"); each class runs its own r53d with 2 DNS workers:

  HealthDrillTest     failover (HTTP), weighted (TCP) and multivalue (HTTPS with EnableSNI)
                      records: kill an endpoint, answers move within RequestInterval x
                      FailureThreshold + 2 s; restart it, they move back within the same
                      bound. A query load runs on the DNS workers throughout, so the
                      ThreadSanitizer build (label tsan) sees checkers flipping states while
                      workers answer. Each transition is logged once with old state, new
                      state and reason.
  HealthBoundaryTest  8 checkers bound to 127.0.0.2..127.0.0.9 (health.sources) and an
                      endpoint that answers 200 only to some source addresses: 1 healthy view
                      of 8 (12.5 %) is unhealthy, 2 (25 %) healthy, in dig answers and in
                      GET /healthchecks.
  HealthAdminTest     GET /healthchecks shape, POST /healthchecks/ID/force (healthy,
                      unhealthy, auto; 404 for an unknown Id), GET /metrics (Prometheus text,
                      counters move), status kept across SIGHUP and POST /reload.
  HealthHostileTest   endpoints that accept and never answer, dribble a byte a second, send
                      huge headers, stall the TLS handshake, and a FullyQualifiedDomainName
                      that does not resolve (health.resolver = this r53d itself): each check
                      goes unhealthy on time while unrelated healthy checks keep answering
                      and keep their probe rhythm.

Fixtures: tests/fixtures/health/ (zone, record sets and `list-health-checks` documents;
"Port": 0 is replaced by the port of the endpoint the test started). The TLS certificate is
made at run time with the openssl command. Only loopback addresses are used; every wait is
bounded; r53d is stopped by its PID (harness.py) and a class fails if r53d does not exit 0
or its log holds a sanitizer report.
"""

import calendar
import copy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler

import dnswire
import harness
from harness import SLOW, R53d

HFIX = os.path.join(harness.FIXTURES, "health")
ZONE = "health.test."
ZONE_FILE = "health.test.zone"
REGIONS = {"us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1",
           "ap-southeast-2", "ap-northeast-1", "sa-east-1"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SANITIZER = re.compile(r"WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|"
                       r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:")
TRANSITION = re.compile(r"check (\S+) \(([^)]*)\): (healthy|unhealthy) -> (healthy|unhealthy): "
                        r"(.+)$", re.M)
USER_AGENT = "Amazon-Route53-Health-Check-Service (ref %s; report http://amzn.to/1vsZADi)"

# The "+ 2 s" of the acceptance bound. Sanitizer builds (--slow) stretch only this slack.
SLACK = 2.0 * SLOW

def note(text):
    """Print a measurement under the test's result line (run.py and ctest show it)."""
    print("        " + text, flush=True)


# ---------------------------------------------------------------------------------------
# Endpoints: socketserver servers on 127.0.0.1 in daemon threads, killable and restartable
# on the same port.

class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, addr, handler, endpoint):
        self.endpoint = endpoint
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        ctx = self.endpoint.tls
        if ctx is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        request.settimeout(5)
        try:
            tls = ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        pass   # endpoints see resets and timeouts on purpose; nothing to print


class Endpoint:
    """One loopback server; records every request (time, client address, path, headers)."""

    def __init__(self, name, handler, tls=None):
        self.name = name
        self.handler = handler
        self.tls = tls            # ssl.SSLContext for HTTPS endpoints
        self.port = 0
        self.srv = None
        self.thread = None
        self.lock = threading.Lock()
        self.hits = []            # (monotonic time, client ip, path, headers)
        self.sni = []             # server names sent in ClientHellos
        self.allowed = None       # client addresses answered 200 (None: everybody)
        self.stopping = threading.Event()

    def record(self, ip, path=None, headers=None):
        with self.lock:
            self.hits.append((time.monotonic(), ip, path, headers))

    def hits_since(self, t0=0.0):
        with self.lock:
            return [h for h in self.hits if h[0] >= t0]

    def start(self):
        last = None
        for _ in range(40):   # the port may linger for a moment after a kill
            try:
                self.srv = _Server(("127.0.0.1", self.port), self.handler, self)
                break
            except OSError as e:
                last = e
                time.sleep(0.05)
        else:
            raise RuntimeError("endpoint %s: cannot bind port %d: %s" %
                               (self.name, self.port, last))
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True,
                                       name="endpoint-" + self.name)
        self.thread.start()
        return self

    def kill(self):
        """Stop accepting and close the listening socket; returns the time it was closed."""
        if self.srv is not None:
            self.srv.shutdown()
            self.srv.server_close()
            self.thread.join(5)
            self.srv = None
        return time.monotonic()

    def close(self):
        self.stopping.set()
        self.kill()


def _read_request(sock, limit=65536, timeout=2.0):
    """Read up to the end of the request headers (bounded by size and time)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf and len(buf) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except (OSError, socket.timeout):
            break
        if not data:
            break
        buf += data
    return buf


class HttpHandler(BaseHTTPRequestHandler):
    """200 "ok" (or 503 to client addresses not in endpoint.allowed)."""

    protocol_version = "HTTP/1.0"
    timeout = 5

    def log_message(self, *args):
        pass

    def do_GET(self):
        ep = self.server.endpoint
        ip = self.client_address[0]
        ep.record(ip, self.path, {k: v for k, v in self.headers.items()})
        allowed = ep.allowed
        code = 200 if allowed is None or ip in allowed else 503
        body = b"ok\n" if code == 200 else b"not from here\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class AcceptHandler(socketserver.BaseRequestHandler):
    """TCP endpoint: accept, count, close."""

    def handle(self):
        self.server.endpoint.record(self.client_address[0])


class SilentHandler(socketserver.BaseRequestHandler):
    """Accept and never answer: read and discard until the peer closes (bounded)."""

    def handle(self):
        ep = self.server.endpoint
        ep.record(self.client_address[0])
        deadline = time.monotonic() + 30
        self.request.settimeout(0.2)
        while not ep.stopping.is_set() and time.monotonic() < deadline:
            try:
                if not self.request.recv(4096):
                    return
            except socket.timeout:
                continue
            except OSError:
                return


class DribbleHandler(socketserver.BaseRequestHandler):
    """A valid response, one byte a second."""

    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"

    def handle(self):
        ep = self.server.endpoint
        _read_request(self.request)
        ep.record(self.client_address[0])
        for i in range(len(self.RESPONSE)):
            try:
                self.request.sendall(self.RESPONSE[i:i + 1])
            except OSError:
                return
            if ep.stopping.wait(1.0):
                return


class HugeHeadersHandler(socketserver.BaseRequestHandler):
    """200 with about 40 KB of headers (spec HC-6: more than 16,384 bytes fails)."""

    def handle(self):
        _read_request(self.request)
        self.server.endpoint.record(self.client_address[0])
        try:
            self.request.sendall(b"HTTP/1.1 200 OK\r\n")
            for i in range(400):
                self.request.sendall(b"X-Filler-%03d: %s\r\n" % (i, b"a" * 100))
            self.request.sendall(b"Content-Length: 3\r\n\r\nok\n")
        except OSError:
            pass


def make_cert(d, name):
    """A self-signed certificate for name, made with the openssl command."""
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    argv = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + name,
            "-addext", "subjectAltName=DNS:" + name]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("openssl req failed:\n" + p.stdout.decode("utf-8", "replace"))
    return cert, key


def tls_context(cert, key, endpoint):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def on_sni(sock, server_name, c):
        with endpoint.lock:
            endpoint.sni.append(server_name)
        return None

    ctx.sni_callback = on_sni
    return ctx


# ---------------------------------------------------------------------------------------
# Admin HTTP and DNS helpers

def admin(port, method, path, body=None, timeout=5.0):
    """One request to the admin endpoint (http.client: no proxy from the environment)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout * SLOW)
    try:
        headers = {"Content-Type": "text/plain"} if body is not None else {}
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read().decode("utf-8", "replace")
    finally:
        c.close()


def parse_metrics(text):
    """Prometheus text format -> ({(name, frozenset(labels)): value}, {family: type})."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(None, 3)
            types[fam] = typ
            continue
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$', line)
        if m is None:
            raise AssertionError("not a Prometheus sample line: %r" % line)
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


class HealthCase(unittest.TestCase):
    """One r53d per class serving health.test from tests/fixtures/health/SCENARIO.*, with
    the endpoints of ENDPOINTS started first. tearDownClass stops r53d (SIGTERM) and fails
    the class if it died, did not exit 0, or logged a sanitizer report."""

    SCENARIO = None
    HEALTH = {}          # the `health` settings
    ENDPOINTS = {}       # endpoint name -> handler class (or "closed": a port nobody serves)
    TLS_ENDPOINTS = ()   # names served over TLS
    PORTS = {}           # health check Id -> endpoint name
    MEASURE_LATENCY = ()  # health check Ids given "MeasureLatency": true
    srv = None

    @classmethod
    def setUpClass(cls):
        if harness.TARGET != "r53d":
            raise unittest.SkipTest("health checks exist only in r53d")
        cls.endpoints = {}
        cls.tmp = tempfile.mkdtemp(prefix="r53d-health-")
        try:
            cls._start_endpoints()
            cls.admin_port = harness.free_port()
            with open(os.path.join(HFIX, ZONE_FILE)) as f:
                zone_text = f.read()
            cls.srv = R53d(
                zones=[(ZONE, ZONE_FILE)], zone_texts={ZONE_FILE: zone_text}, workers=2,
                admin={"listen": "127.0.0.1:%d" % cls.admin_port},
                health=copy.deepcopy(cls.HEALTH), health_checks="health-checks.json",
                hosted_zones=[{"HostedZone": {"Id": "/hostedzone/ZHEALTH", "Name": ZONE},
                               "zone_file": ZONE_FILE,
                               "record_sets": os.path.join(HFIX, cls.SCENARIO +
                                                           ".record-sets.json")}])
            cls.adjust_conf(cls.srv)
            cls.srv.write_conf()
            with open(os.path.join(HFIX, cls.SCENARIO + ".health-checks.json")) as f:
                cls.checks_doc = json.load(f)
            for hc in cls.checks_doc["HealthChecks"]:
                hc["HealthCheckConfig"]["Port"] = cls.port_of(cls.PORTS[hc["Id"]])
                if hc["Id"] in cls.MEASURE_LATENCY:
                    hc["HealthCheckConfig"]["MeasureLatency"] = True
            cls.write_checks(cls.checks_doc)
            cls.t_start = time.monotonic()
            cls.srv.start()
            cls.after_start()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def _start_endpoints(cls):
        cert = key = None
        for name, handler in cls.ENDPOINTS.items():
            if handler == "closed":
                cls.endpoints[name] = harness.free_port()
                continue
            ep = Endpoint(name, handler)
            if name in cls.TLS_ENDPOINTS:
                if cert is None:
                    cert, key = make_cert(cls.tmp, "tls.health.test")
                ep.tls = tls_context(cert, key, ep)
            cls.endpoints[name] = ep.start()

    @classmethod
    def port_of(cls, name):
        ep = cls.endpoints[name]
        return ep if isinstance(ep, int) else ep.port

    @classmethod
    def write_checks(cls, doc):
        with open(os.path.join(cls.srv.dir, "health-checks.json"), "w") as f:
            json.dump(doc, f, indent=1)

    @classmethod
    def adjust_conf(cls, srv):
        pass

    @classmethod
    def after_start(cls):
        pass

    @classmethod
    def before_stop(cls):
        pass

    @classmethod
    def _cleanup(cls):
        for ep in cls.endpoints.values():
            if not isinstance(ep, int):
                ep.close()
        if cls.srv is not None:
            cls.srv.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        srv = cls.srv
        try:
            cls.before_stop()
            alive = srv.alive()
            rc = srv.stop()
            log = cls.full_log()
        finally:
            cls._cleanup()
        if not alive:
            raise AssertionError("r53d died during %s (exit %s):\n%s" %
                                 (cls.__name__, rc, log[-8000:]))
        m = SANITIZER.search(log)
        if m:
            raise AssertionError("r53d logged a sanitizer report during %s:\n%s" %
                                 (cls.__name__, log[max(0, m.start() - 200):][:12000]))
        if rc != 0:
            raise AssertionError("r53d exit status after SIGTERM was %s, want 0:\n%s" %
                                 (rc, log[-8000:]))

    # -- helpers --------------------------------------------------------------------------

    @classmethod
    def full_log(cls):
        try:
            with open(cls.srv.logpath, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def transitions(self, check_id=None):
        """[(id, old, new, reason)] from the r53d log, in order."""
        out = []
        for m in TRANSITION.finditer(self.full_log()):
            if check_id is None or m.group(1) == check_id:
                out.append((m.group(1), m.group(3), m.group(4), m.group(5)))
        return out

    def answers(self, label):
        """The A records dig gets for label.health.test (frozenset), None if no NOERROR."""
        r = self.srv.dig(label + "." + ZONE, "A", timeout=max(2, int(2 * SLOW)))
        if r.status != "NOERROR":
            return None
        return frozenset(rr[4] for rr in r.rrs("ANSWER", "A"))

    def wait_answers(self, label, pred, timeout, run=1):
        """Poll dig until `run` consecutive answers satisfy pred. Returns the time the first
        of them was received (None on timeout); every answer seen is kept in self.seen."""
        deadline = time.monotonic() + timeout
        first = None
        count = 0
        self.seen = []
        while time.monotonic() < deadline:
            a = self.answers(label)
            t = time.monotonic()
            self.seen.append(a)
            if a is not None and pred(a):
                if count == 0:
                    first = t
                count += 1
                if count >= run:
                    return first
            else:
                count = 0
            time.sleep(0.02)
        return None

    def assert_steady(self, label, pred, n=10, why=""):
        got = [self.answers(label) for _ in range(n)]
        bad = [a for a in got if a is None or not pred(a)]
        self.assertEqual(bad, [], "%s: answers not steady %s: %r" % (label, why, got))

    def status(self):
        code, ctype, body = admin(self.admin_port, "GET", "/healthchecks")
        self.assertEqual(code, 200, body)
        self.assertIn("application/json", ctype)
        return {hc["Id"]: hc for hc in json.loads(body)["HealthChecks"]}

    def wait_status(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.1)
        self.fail("timed out (%.1fs) waiting for %s; /healthchecks:\n%s\nlog:\n%s" %
                  (timeout, what, json.dumps(st, indent=1), self.srv.log()))

    def check_observation_shape(self, obs, latency=False):
        """latency: the check sets MeasureLatency, so "Latency" may be there too."""
        keys = set(obs) - ({"Latency"} if latency else set())
        self.assertEqual(keys, {"Region", "IPAddress", "StatusReport"}, obs)
        self.assertIn(obs["Region"], REGIONS)
        self.assertIsInstance(obs["IPAddress"], str)
        rep = obs["StatusReport"]
        self.assertEqual(set(rep), {"Status", "CheckedTime"}, obs)
        self.assertRegex(rep["Status"], r"^(Success|Failure): ")
        self.assertRegex(rep["CheckedTime"], ISO_MS)
        # CheckedTime is recent UTC wall-clock time (within the run)
        t = calendar.timegm(time.strptime(rep["CheckedTime"][:19], "%Y-%m-%dT%H:%M:%S"))
        self.assertLess(abs(time.time() - t), 600, obs)


def interval_threshold(doc, check_id):
    for hc in doc["HealthChecks"]:
        if hc["Id"] == check_id:
            c = hc["HealthCheckConfig"]
            return c["RequestInterval"], c["FailureThreshold"]
    raise KeyError(check_id)


# ---------------------------------------------------------------------------------------

class QueryLoad(threading.Thread):
    """Keeps the DNS workers answering the routed names while checkers flip states, and
    checks every answer against the record set's possible values."""

    def __init__(self, port, expect):
        super().__init__(daemon=True, name="query-load")
        self.port = port
        self.expect = expect      # qname -> predicate over the frozenset of A addresses
        self.stop = threading.Event()
        self.ok = 0
        self.lost = 0
        self.bad = []

    def run(self):
        deadline = time.monotonic() + 600   # bounded even if nobody stops it
        while not self.stop.is_set() and time.monotonic() < deadline:
            for qname, pred in self.expect.items():
                m = dnswire.query(self.port, qname, "A", timeout=1.0 * SLOW)
                if m is None:
                    self.lost += 1
                    continue
                got = frozenset(socket.inet_ntop(socket.AF_INET, rr.rdata)
                                for rr in m.answer if rr.type == 1)
                if m.rcode != 0 or not m.aa or not pred(got):
                    if len(self.bad) < 20:
                        self.bad.append((qname, m.rcode_name, sorted(got)))
                else:
                    self.ok += 1
            self.stop.wait(0.003)


FO_P, FO_S = "192.0.2.1", "192.0.2.2"
W_A, W_B = "192.0.2.11", "192.0.2.12"
MV = ["192.0.2.21", "192.0.2.22", "192.0.2.23"]


class HealthDrillTest(HealthCase):
    """Failover drills with real probes: HTTP (failover), TCP (weighted), HTTPS+SNI
    (multivalue). RequestInterval 1 s (drill extension), FailureThreshold 2, 3 checkers."""

    SCENARIO = "drill"
    HEALTH = {"threads": 2, "checkers": 3}
    ENDPOINTS = {"fo-primary": HttpHandler, "fo-secondary": HttpHandler,
                 "w-a": AcceptHandler, "w-b": AcceptHandler,
                 "mv-1": HttpHandler, "mv-2": HttpHandler, "mv-3": HttpHandler}
    TLS_ENDPOINTS = ("mv-1", "mv-2", "mv-3")
    PORTS = {"hc-fo-primary": "fo-primary", "hc-fo-secondary": "fo-secondary",
             "hc-w-a": "w-a", "hc-w-b": "w-b",
             "hc-mv-1": "mv-1", "hc-mv-2": "mv-2", "hc-mv-3": "mv-3"}

    @classmethod
    def after_start(cls):
        cls.load = QueryLoad(cls.srv.port, {
            "fo." + ZONE: lambda a: a in ({FO_P}, {FO_S}),
            "w." + ZONE: lambda a: a in ({W_A}, {W_B}),
            "mv." + ZONE: lambda a: bool(a) and a <= set(MV),
        })
        cls.load.start()

    @classmethod
    def before_stop(cls):
        cls.load.stop.set()
        cls.load.join(10)

    def bound(self, check_id):
        i, f = interval_threshold(self.checks_doc, check_id)
        return i * f + SLACK, "%d s x %d + %.0f s" % (i, f, SLACK)

    def wait_all_probed(self):
        """Every check has an observation from each of its checkers and is healthy."""
        self.wait_status(lambda st: len(st) == 7 and all(
            h["Status"] == "Healthy" and len(h["HealthCheckObservations"]) == h["Checkers"]
            for h in st.values()), 10 * SLOW, "every check probed by all its checkers")

    def drill(self, label, check_id, ep, gone, back, run_gone=1):
        """Kill ep, measure until answers satisfy gone; restart, measure until back."""
        bound, text = self.bound(check_id)
        self.wait_all_probed()
        t_kill = ep.kill()
        t = self.wait_answers(label, gone, bound + 5 * SLOW, run=run_gone)
        self.assertIsNotNone(t, "%s: answers did not move within %.1fs of killing %s; seen %r\n%s"
                             % (label, bound + 5 * SLOW, ep.name, self.seen[-10:],
                                self.srv.log()))
        down = t - t_kill
        self.assert_steady(label, gone, why="after killing " + ep.name)
        ep.start()
        t_up = time.monotonic()
        t = self.wait_answers(label, back, bound + 5 * SLOW)
        self.assertIsNotNone(t, "%s: answers did not move back within %.1fs of restarting %s; "
                             "seen %r\n%s" % (label, bound + 5 * SLOW, ep.name, self.seen[-10:],
                                              self.srv.log()))
        up = t - t_up
        note("%s (%s): moved away %.2fs after the kill, back %.2fs after the restart "
             "(bound %.1fs = %s)" % (label, check_id, down, up, bound, text))
        self.assertLessEqual(down, bound, "%s: moved after %.2fs" % (label, down))
        self.assertLessEqual(up, bound, "%s: moved back after %.2fs" % (label, up))
        return down, up

    def test_1_failover_http(self):
        self.assertEqual(self.answers("fo"), {FO_P})
        self.drill("fo", "hc-fo-primary", self.endpoints["fo-primary"],
                   gone=lambda a: a == {FO_S}, back=lambda a: a == {FO_P})
        self.assert_steady("fo", lambda a: a == {FO_P}, why="after the restart")
        # the probes were real HTTP requests as spec HC-8..HC-10 describe them
        hits = self.endpoints["fo-primary"].hits_since()
        self.assertTrue(hits)
        _, _, path, headers = hits[-1]
        self.assertEqual(path, "/health")
        self.assertEqual(headers.get("Host"), "127.0.0.1:%d" % self.port_of("fo-primary"))
        self.assertEqual(headers.get("User-Agent"), USER_AGENT % "hc-fo-primary")

    def test_2_weighted_tcp(self):
        seen = {self.answers("w") for _ in range(12)}
        self.assertIn(frozenset({W_A}), seen, "weight 10 of 11: the heavy member answers")
        self.assertTrue(seen <= {frozenset({W_A}), frozenset({W_B})}, seen)
        # gone: 8 answers in a row without the heavy member (by chance: (1/11)^8)
        self.drill("w", "hc-w-a", self.endpoints["w-a"],
                   gone=lambda a: a == {W_B}, back=lambda a: a == {W_A}, run_gone=8)
        self.assertTrue(self.endpoints["w-a"].hits_since(), "TCP probes reached w-a")

    def test_3_multivalue_https_sni(self):
        self.assertEqual(self.answers("mv"), set(MV))
        self.drill("mv", "hc-mv-1", self.endpoints["mv-1"],
                   gone=lambda a: a == set(MV[1:]), back=lambda a: a == set(MV))
        self.assert_steady("mv", lambda a: a == set(MV), why="after the restart")
        for name in ("mv-1", "mv-2", "mv-3"):
            ep = self.endpoints[name]
            with ep.lock:
                sni = set(ep.sni)
            self.assertEqual(sni, {"tls.health.test"}, "%s: EnableSNI sends the FQDN" % name)
            _, _, path, headers = ep.hits_since()[-1]
            self.assertEqual(headers.get("Host"), "tls.health.test:%d" % ep.port)

    def test_4_transitions_logged_once(self):
        # Each drill: exactly one healthy -> unhealthy and one unhealthy -> healthy line for
        # the killed endpoint's check, with a reason; nothing for the others.
        for check_id in ("hc-fo-primary", "hc-w-a", "hc-mv-1"):
            tr = self.transitions(check_id)
            self.assertEqual([(o, n) for _, o, n, _ in tr],
                             [("healthy", "unhealthy"), ("unhealthy", "healthy")],
                             "%s: transitions in the log: %r" % (check_id, tr))
            down_reason, up_reason = tr[0][3], tr[1][3]
            self.assertRegex(down_reason, r"^checker \d+ \([a-z0-9-]+\): Failure: Connection "
                             r"refused \(0 of 3 checkers healthy\)$")
            self.assertRegex(up_reason, r"^checker \d+ \([a-z0-9-]+\): Success: .*"
                             r"\(1 of 3 checkers healthy\)$")
        for check_id in ("hc-fo-secondary", "hc-w-b", "hc-mv-2", "hc-mv-3"):
            self.assertEqual(self.transitions(check_id), [], check_id)

    def test_5_workers_answered_throughout(self):
        # the query load ran on both DNS workers through every flip above
        time.sleep(0.2)
        load = self.load
        self.assertTrue(load.is_alive())
        self.assertEqual(load.bad, [], "answers outside the record sets' values")
        self.assertGreater(load.ok, 100, "the query load hardly ran")
        self.assertLessEqual(load.lost, max(3, load.ok // 100), "queries without a reply")
        note("query load during the drills: %d answers checked, %d lost" % (load.ok, load.lost))


GATE_SOURCES = ["127.0.0.%d" % i for i in range(2, 10)]
B_P, B_S = "192.0.2.31", "192.0.2.32"


class HealthBoundaryTest(HealthCase):
    """The 18% rule with real probes: 8 checkers, each from its own source address."""

    SCENARIO = "boundary"
    HEALTH = {"threads": 2, "checkers": 8, "sources": GATE_SOURCES}
    ENDPOINTS = {"gate": HttpHandler}
    PORTS = {"hc-boundary": "gate"}

    @classmethod
    def adjust_conf(cls, srv):
        cls.endpoints["gate"].allowed = set(GATE_SOURCES[:2])   # 2 of 8 from the start

    def views(self, n_healthy, healthy):
        """Wait until hc-boundary has n_healthy healthy views and a fresh observation from
        all 8 checkers that agrees with the gate."""
        gate = self.endpoints["gate"]

        def ok(st):
            h = st["hc-boundary"]
            obs = h["HealthCheckObservations"]
            if h["HealthyCheckers"] != n_healthy or len(obs) != 8:
                return False
            return all(o["StatusReport"]["Status"].startswith(
                "Success" if o["IPAddress"] in gate.allowed else "Failure") for o in obs)

        st = self.wait_status(ok, 8 * SLOW, "%d of 8 healthy views" % n_healthy)
        h = st["hc-boundary"]
        self.assertEqual(h["Checkers"], 8)
        self.assertEqual(h["Status"], "Healthy" if healthy else "Unhealthy")
        self.assertFalse(h["Forced"])
        obs = h["HealthCheckObservations"]
        self.assertEqual(sorted(o["IPAddress"] for o in obs), GATE_SOURCES,
                         "one observation per checker, each from its own source address")
        for o in obs:
            self.check_observation_shape(o)
            if o["IPAddress"] in gate.allowed:
                self.assertTrue(o["StatusReport"]["Status"].startswith(
                    "Success: HTTP Status Code 200"), o)
            else:
                self.assertTrue(o["StatusReport"]["Status"].startswith(
                    "Failure: HTTP Status Code 503"), o)
        return h

    def flip(self, allowed, want, healthy):
        i, f = interval_threshold(self.checks_doc, "hc-boundary")
        bound = i * f + SLACK
        t0 = time.monotonic()
        self.endpoints["gate"].allowed = set(allowed)
        t = self.wait_answers("b", lambda a: a == {want}, bound + 5 * SLOW)
        self.assertIsNotNone(t, "b: answers did not become %s; seen %r" % (want, self.seen[-10:]))
        self.assert_steady("b", lambda a: a == {want})
        self.views(len(allowed), healthy)
        return t - t0, bound

    def test_18_percent_boundary(self):
        self.views(2, True)
        self.assertEqual(self.answers("b"), {B_P}, "2 of 8 (25%) > 18%: healthy, primary")
        # the endpoint saw probes from exactly the 8 configured source addresses
        self.assertEqual(sorted({h[1] for h in self.endpoints["gate"].hits_since()}),
                         GATE_SOURCES)

        down, bound = self.flip(GATE_SOURCES[:1], B_S, healthy=False)
        note("b (hc-boundary): 1 of 8 healthy views (12.5%%): secondary after %.2fs "
             "(bound %.1fs)" % (down, bound))
        self.assertLessEqual(down, bound)

        up, bound = self.flip(GATE_SOURCES[:2], B_P, healthy=True)
        note("b (hc-boundary): 2 of 8 healthy views (25%%): primary after %.2fs "
             "(bound %.1fs)" % (up, bound))
        self.assertLessEqual(up, bound)

        # any two checkers count the same: hand over to another pair through 4 of 8 (the
        # status stays healthy all along, whatever order the views flip in)
        self.endpoints["gate"].allowed = set(GATE_SOURCES[:2] + GATE_SOURCES[5:7])
        self.views(4, True)
        self.endpoints["gate"].allowed = set(GATE_SOURCES[5:7])
        self.views(2, True)
        self.assert_steady("b", lambda a: a == {B_P}, why="with 127.0.0.7 and .8 healthy")

        tr = self.transitions("hc-boundary")
        self.assertEqual([(o, n) for _, o, n, _ in tr],
                         [("healthy", "unhealthy"), ("unhealthy", "healthy")], tr)
        self.assertRegex(tr[0][3], r"Failure: HTTP Status Code 503.*\(1 of 8 checkers healthy\)$")
        self.assertRegex(tr[1][3], r"Success: HTTP Status Code 200.*\(2 of 8 checkers healthy\)$")


A_P, A_S = "192.0.2.41", "192.0.2.42"
D_P, D_S = "192.0.2.61", "192.0.2.62"
R_P, R_S = "192.0.2.51", "192.0.2.52"


class HealthAdminTest(HealthCase):
    """GET /healthchecks, POST /healthchecks/ID/force, GET /metrics, status across reloads."""

    SCENARIO = "admin"
    HEALTH = {"threads": 2, "checkers": 3}
    ENDPOINTS = {"primary": HttpHandler, "secondary": AcceptHandler, "down": "closed",
                 "reload": HttpHandler}
    PORTS = {"hc-adm-primary": "primary", "hc-adm-secondary": "secondary",
             "hc-adm-down": "down", "hc-reload": "reload"}
    MEASURE_LATENCY = ("hc-adm-primary", "hc-adm-secondary", "hc-adm-down")

    def force(self, check_id, mode, code=200):
        c, ctype, body = admin(self.admin_port, "POST", "/healthchecks/%s/force" % check_id, mode)
        self.assertEqual(c, code, body)
        self.assertIn("application/json", ctype)
        return json.loads(body)

    def settled(self):
        return self.wait_status(
            lambda st: st["hc-adm-down"]["Status"] == "Unhealthy" and all(
                len(h["HealthCheckObservations"]) == 3 for h in st.values()),
            10 * SLOW, "every checker probed; hc-adm-down unhealthy")

    def test_1_healthchecks_shape(self):
        st = self.settled()
        self.assertEqual(set(st), {"hc-adm-primary", "hc-adm-secondary", "hc-adm-down",
                                   "hc-reload"})
        want_type = {"hc-adm-primary": "HTTP", "hc-adm-secondary": "TCP", "hc-adm-down": "TCP",
                     "hc-reload": "HTTP"}
        for cid, h in st.items():
            for k in ("Id", "Type", "Slot", "Endpoint", "Status", "Forced", "ChangeCounter",
                      "HealthyCheckers", "Checkers", "HealthCheckObservations"):
                self.assertIn(k, h, cid)
            self.assertEqual(h["Type"], want_type[cid])
            self.assertIn(str(self.port_of(self.PORTS[cid])), h["Endpoint"])
            self.assertIs(h["Forced"], False)
            self.assertEqual(h["Checkers"], 3)
            for o in h["HealthCheckObservations"]:
                self.check_observation_shape(o, cid in self.MEASURE_LATENCY)
        self.assertEqual(st["hc-adm-primary"]["Status"], "Healthy")
        self.assertEqual(st["hc-adm-primary"]["HealthyCheckers"], 3)
        self.assertEqual(st["hc-adm-down"]["HealthyCheckers"], 0)
        for o in st["hc-adm-down"]["HealthCheckObservations"]:
            self.assertEqual(o["StatusReport"]["Status"], "Failure: Connection refused")
        for o in st["hc-adm-secondary"]["HealthCheckObservations"]:
            self.assertEqual(o["StatusReport"]["Status"], "Success: TCP connection established")
        for o in st["hc-adm-primary"]["HealthCheckObservations"]:
            self.assertTrue(o["StatusReport"]["Status"].startswith(
                "Success: HTTP Status Code 200"), o)
        self.assertEqual(self.answers("a"), {A_P})
        self.assertEqual(self.answers("d"), {D_S})

    def test_1b_observations_name_the_checker_address(self):
        # GetHealthCheckStatus names the checker that made each observation (IPAddress), for
        # failed probes too: here hc-adm-down, whose connections are refused (no
        # health.sources in this class, so the address is the one the kernel chose)
        st = self.settled()
        bad = []
        for cid, h in sorted(st.items()):
            for o in h["HealthCheckObservations"]:
                try:
                    socket.inet_pton(socket.AF_INET, o["IPAddress"])
                    ok = o["IPAddress"].startswith("127.")
                except OSError:
                    ok = False
                if not ok:
                    bad.append((cid, o["Region"], o["IPAddress"], o["StatusReport"]["Status"]))
        self.assertEqual(bad, [], "observations without the checker's address "
                         "(check, Region, IPAddress, Status)")

    def test_2_force_changes_answers_at_once(self):
        self.settled()
        self.assertEqual(self.answers("a"), {A_P})
        r = self.force("hc-adm-primary", "unhealthy")
        self.assertEqual(r, {"status": "ok", "Id": "hc-adm-primary", "force": "unhealthy"})
        self.assertEqual(self.answers("a"), {A_S}, "forced unhealthy: the next answer moves")
        h = self.status()["hc-adm-primary"]
        self.assertEqual((h["Status"], h["Forced"]), ("Unhealthy", True))
        self.assertEqual(h["HealthyCheckers"], 3, "the probes still see it healthy")

        # forced healthy wins over probes that fail; auto gives the probes back at once
        self.force("hc-adm-down", "healthy\n")
        self.assertEqual(self.answers("d"), {D_P})
        self.assertEqual(self.status()["hc-adm-down"]["Forced"], True)
        self.force("hc-adm-down", "auto")
        self.assertEqual(self.answers("d"), {D_S})
        h = self.status()["hc-adm-down"]
        self.assertEqual((h["Status"], h["Forced"]), ("Unhealthy", False))

        self.force("hc-adm-primary", "auto")
        self.assertEqual(self.answers("a"), {A_P})
        self.assert_steady("a", lambda a: a == {A_P})

        tr = self.transitions("hc-adm-primary")
        self.assertEqual([(o, n) for _, o, n, _ in tr],
                         [("healthy", "unhealthy"), ("unhealthy", "healthy")], tr)
        self.assertTrue(tr[0][3].startswith("forced unhealthy by operator"), tr)
        self.assertTrue(tr[1][3].startswith("operator released the override"), tr)
        self.assertEqual([(o, n) for _, o, n, _ in self.transitions("hc-adm-down")],
                         [("healthy", "unhealthy"), ("unhealthy", "healthy"),
                          ("healthy", "unhealthy")])
        self.assertRegex(self.full_log(), r"admin: health check hc-adm-primary forced unhealthy")

    def test_3_force_errors(self):
        c, _, body = admin(self.admin_port, "POST", "/healthchecks/no-such-check/force",
                           "unhealthy")
        self.assertEqual(c, 404, body)
        self.assertEqual(json.loads(body)["status"], "error")
        c, _, body = admin(self.admin_port, "POST", "/healthchecks/hc-adm-primary/force", "sick")
        self.assertEqual(c, 400, body)
        c, _, body = admin(self.admin_port, "GET", "/healthchecks/hc-adm-primary/force")
        self.assertEqual(c, 405, body)
        c, _, body = admin(self.admin_port, "POST", "/healthchecks/hc-adm-primary/other", "auto")
        self.assertEqual(c, 404, body)
        # nothing changed
        self.assertEqual(self.answers("a"), {A_P})
        self.assertFalse(self.status()["hc-adm-primary"]["Forced"])

    def metrics(self):
        code, ctype, body = admin(self.admin_port, "GET", "/metrics")
        self.assertEqual(code, 200, body)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        return parse_metrics(body)

    def test_4_metrics(self):
        s0, types = self.metrics()
        for fam, typ in (("r53d_queries_total", "counter"), ("r53d_responses_total", "counter"),
                         ("r53d_answers_by_policy_total", "counter"),
                         ("r53d_hc_transitions_total", "counter"),
                         ("r53d_hc_probes_total", "counter"),
                         ("r53d_hc_probes_late_total", "counter"),
                         ("r53d_hc_probe_duration_seconds", "histogram"),
                         ("r53d_hc_checks", "gauge")):
            self.assertEqual(types.get(fam), typ, fam)
        for rc in ("NOERROR", "NXDOMAIN", "REFUSED"):
            self.assertIsNotNone(metric(s0, "r53d_responses_total", rcode=rc), rc)
        for pol in ("failover", "weighted", "multivalue", "plain"):
            self.assertIsNotNone(metric(s0, "r53d_answers_by_policy_total", policy=pol), pol)
        self.assertIsNotNone(metric(s0, "r53d_hc_probes_late_total"))
        self.assertEqual(metric(s0, "r53d_hc_checks", status="unhealthy"), 1)   # hc-adm-down
        # the probe latency histogram: cumulative buckets, +Inf == _count
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in s0.items()
                         if k[0] == "r53d_hc_probe_duration_seconds_bucket")
        self.assertGreater(len(buckets), 5)
        self.assertEqual(buckets[-1][0], float("inf"))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        count0 = metric(s0, "r53d_hc_probe_duration_seconds_count")
        self.assertEqual(buckets[-1][1], count0)
        self.assertGreater(count0, 0)
        self.assertIsNotNone(metric(s0, "r53d_hc_probe_duration_seconds_sum"))

        for _ in range(5):
            self.assertEqual(self.answers("a"), {A_P})
        for _ in range(3):
            r = self.srv.dig("nothing-here." + ZONE, "A")
            self.assertEqual(r.status, "NXDOMAIN")
        for _ in range(2):
            r = self.srv.dig("example.org.", "A")
            self.assertEqual(r.status, "REFUSED")
        self.force("hc-adm-secondary", "unhealthy")
        self.force("hc-adm-secondary", "auto")
        time.sleep(1.5)   # a round of probes
        s1, _ = self.metrics()

        def delta(name, **labels):
            return metric(s1, name, **labels) - metric(s0, name, **labels)

        self.assertGreaterEqual(delta("r53d_queries_total"), 10)
        self.assertGreaterEqual(delta("r53d_responses_total", rcode="NOERROR"), 5)
        self.assertGreaterEqual(delta("r53d_responses_total", rcode="NXDOMAIN"), 3)
        self.assertGreaterEqual(delta("r53d_responses_total", rcode="REFUSED"), 2)
        self.assertGreaterEqual(delta("r53d_answers_by_policy_total", policy="failover"), 5)
        self.assertGreaterEqual(delta("r53d_hc_transitions_total", to="unhealthy"), 1)
        self.assertGreaterEqual(delta("r53d_hc_transitions_total", to="healthy"), 1)
        self.assertGreater(delta("r53d_hc_probe_duration_seconds_count"), 0)
        self.assertGreater(delta("r53d_hc_probes_total", type="http", result="success"), 0)
        self.assertGreater(delta("r53d_hc_probes_total", type="tcp", result="success"), 0)
        self.assertGreater(delta("r53d_hc_probes_total", type="tcp", result="refused"), 0)
        self.assertGreaterEqual(delta("r53d_hc_probes_late_total"), 0)

    def test_4b_measure_latency(self):
        """MeasureLatency: per-checker ConnectMs / FirstByteMs in GET /healthchecks and a
        histogram per check in GET /metrics; nothing for checks without it."""
        st = self.settled()
        for cid, fields in (("hc-adm-primary", {"ConnectMs", "FirstByteMs"}),
                            ("hc-adm-secondary", {"ConnectMs"})):
            obs = st[cid]["HealthCheckObservations"]
            self.assertEqual(len(obs), 3, cid)
            for o in obs:
                lat = o.get("Latency")
                self.assertIsNotNone(lat, "%s: %r" % (cid, o))
                self.assertEqual(set(lat), fields, o)
                self.assertGreater(lat["ConnectMs"], 0, o)
                self.assertLess(lat["ConnectMs"], 1000 * SLOW, o)
                if "FirstByteMs" in lat:
                    self.assertGreaterEqual(lat["FirstByteMs"], lat["ConnectMs"], o)
        for cid in ("hc-adm-down", "hc-reload"):   # refused: nothing measured; not set
            for o in st[cid]["HealthCheckObservations"] + st[cid].get("LastFailures", []):
                self.assertNotIn("Latency", o, cid)
        note("MeasureLatency: hc-adm-primary %s" %
             [o["Latency"] for o in st["hc-adm-primary"]["HealthCheckObservations"]])

        s, types = self.metrics()
        for fam in ("r53d_hc_connect_seconds", "r53d_hc_first_byte_seconds"):
            self.assertEqual(types.get(fam), "histogram", fam)
            ids = {dict(k[1]).get("id") for k in s if k[0].startswith(fam + "_")}
            self.assertEqual(ids, set(self.MEASURE_LATENCY), fam)
            for cid in self.MEASURE_LATENCY:
                buckets = sorted((float(dict(k[1])["le"]), v) for k, v in s.items()
                                 if k[0] == fam + "_bucket" and dict(k[1])["id"] == cid)
                self.assertGreater(len(buckets), 5)
                self.assertEqual(buckets[-1][0], float("inf"))
                self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
                self.assertEqual(buckets[-1][1], metric(s, fam + "_count", id=cid))
                self.assertIsNotNone(metric(s, fam + "_sum", id=cid))
        c = lambda fam, cid: metric(s, fam + "_count", id=cid)
        self.assertGreaterEqual(c("r53d_hc_connect_seconds", "hc-adm-primary"), 3)
        self.assertGreaterEqual(c("r53d_hc_first_byte_seconds", "hc-adm-primary"), 3)
        self.assertGreaterEqual(c("r53d_hc_connect_seconds", "hc-adm-secondary"), 3)
        self.assertEqual(c("r53d_hc_first_byte_seconds", "hc-adm-secondary"), 0)   # TCP
        self.assertEqual(c("r53d_hc_connect_seconds", "hc-adm-down"), 0)           # refused

    def wait_generation(self, gen):
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            code, _, body = admin(self.admin_port, "GET", "/zones")
            if code == 200 and json.loads(body)["generation"] >= gen:
                return
            time.sleep(0.05)
        self.fail("reload to generation %d did not finish:\n%s" % (gen, self.srv.log()))

    def test_5_status_survives_reload(self):
        i, f = interval_threshold(self.checks_doc, "hc-reload")
        bound = i * f + SLACK
        ep = self.endpoints["reload"]
        ep.allowed = set()          # 503 to every checker
        t0 = time.monotonic()
        t = self.wait_answers("r", lambda a: a == {R_S}, bound + 5 * SLOW)
        self.assertIsNotNone(t, "hc-reload did not go unhealthy; seen %r" % self.seen[-10:])
        note("r (hc-reload): endpoint answering 503, secondary after %.2fs (bound %.1fs)"
             % (t - t0, bound))
        st = self.wait_status(lambda st: st["hc-reload"]["HealthyCheckers"] == 0, 5 * SLOW,
                              "hc-reload: no healthy view")
        counter = st["hc-reload"]["ChangeCounter"]
        self.force("hc-adm-primary", "unhealthy")
        self.assertEqual(self.answers("a"), {A_S})

        # 1) SIGHUP with a configuration that keeps hc-reload and adds a check
        doc = copy.deepcopy(self.checks_doc)
        added = copy.deepcopy([h for h in doc["HealthChecks"] if h["Id"] == "hc-adm-secondary"][0])
        added["Id"] = "hc-added"
        added["CallerReference"] = "r53d-test-hc-added"
        doc["HealthChecks"].append(added)
        self.write_checks(doc)
        self.srv.signal(signal.SIGHUP)
        self.wait_generation(2)
        self.after_reload(counter, "SIGHUP")
        self.assertIn("hc-added", self.status())

        # 2) POST /reload (answers once the reload has finished)
        code, _, body = admin(self.admin_port, "POST", "/reload", "")
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["status"], "ok")
        self.after_reload(counter, "POST /reload")

        self.assertEqual([(o, n) for _, o, n, _ in self.transitions("hc-reload")],
                         [("healthy", "unhealthy")], "no flap back to healthy across reloads")

        # the probes of the reloaded configuration still decide: the endpoint recovers
        ep.allowed = None
        t0 = time.monotonic()
        t = self.wait_answers("r", lambda a: a == {R_P}, bound + 5 * SLOW)
        self.assertIsNotNone(t, "hc-reload did not recover after the reloads")
        note("r (hc-reload): after two reloads, endpoint answering 200 again, primary after "
             "%.2fs (bound %.1fs)" % (t - t0, bound))
        self.assertLessEqual(t - t0, bound)
        self.force("hc-adm-primary", "auto")
        self.assertEqual(self.answers("a"), {A_P})

    def after_reload(self, counter, how):
        # right after the reload, and for a while: no flap back to the primary
        deadline = time.monotonic() + 1.5
        got = []
        while time.monotonic() < deadline:
            got.append(self.answers("r"))
        self.assertTrue(got)
        self.assertEqual([a for a in got if a != {R_S}], [],
                         "after %s: hc-reload answers %r" % (how, got))
        st = self.status()
        h = st["hc-reload"]
        self.assertEqual(h["Status"], "Unhealthy", how)
        self.assertEqual(h["ChangeCounter"], counter, "%s: no status change" % how)
        a = st["hc-adm-primary"]
        self.assertEqual((a["Status"], a["Forced"]), ("Unhealthy", True),
                         "%s: the operator's override is kept" % how)
        self.assertEqual(self.answers("a"), {A_S}, how)


class HealthHostileTest(HealthCase):
    """Hostile endpoints fail their checks on time without delaying the others. Checks are
    resolved through health.resolver = this r53d (never the machine's resolvers)."""

    SCENARIO = "hostile"
    SOURCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    HEALTH = {"threads": 2, "checkers": 3, "sources": SOURCES}
    ENDPOINTS = {"good": HttpHandler, "good-fqdn": HttpHandler, "silent": SilentHandler,
                 "dribble": DribbleHandler, "huge": HugeHeadersHandler,
                 "tls-stall": SilentHandler}
    PORTS = {"hc-good": "good", "hc-fqdn-ok": "good-fqdn", "hc-silent": "silent",
             "hc-dribble": "dribble", "hc-huge-headers": "huge", "hc-tls-stall": "tls-stall",
             "hc-fqdn-nx": "good"}
    # label -> (check, primary, secondary, per-probe time limit in s, failure text)
    HOSTILE = {
        "silent": ("hc-silent", "192.0.2.81", "192.0.2.82", 2,
                   "Timed out waiting for the HTTP status line"),
        "dribble": ("hc-dribble", "192.0.2.83", "192.0.2.84", 2,
                    "Timed out waiting for the HTTP status line"),
        "huge": ("hc-huge-headers", "192.0.2.85", "192.0.2.86", 2, "headers exceed"),
        "tlsstall": ("hc-tls-stall", "192.0.2.87", "192.0.2.88", 2, "TLS handshake timed out"),
        "nx": ("hc-fqdn-nx", "192.0.2.89", "192.0.2.90", 2, "DNS resolution failed"),
    }
    HEALTHY = {"good": ("hc-good", "192.0.2.71"), "fqdn": ("hc-fqdn-ok", "192.0.2.73")}

    @classmethod
    def adjust_conf(cls, srv):
        srv.conf["health"]["resolver"] = "127.0.0.1:%d" % srv.port

    def test_hostile_endpoints(self):
        pending = dict(self.HOSTILE)
        moved = {}
        wrong = []
        t_end = self.t_start + 20 * SLOW
        while pending and time.monotonic() < t_end:
            for label, (cid, p, s, _, _) in list(pending.items()):
                if self.answers(label) == {s}:
                    moved[label] = time.monotonic() - self.t_start
                    del pending[label]
            for label, (cid, p) in self.HEALTHY.items():
                a = self.answers(label)
                if a != {p}:
                    wrong.append((round(time.monotonic() - self.t_start, 2), label, a))
            time.sleep(0.05)
        self.assertEqual(pending, {}, "never moved to the secondary: %s\n%s" %
                         (sorted(pending), self.srv.log()))
        # they stay failed; the healthy ones keep answering their primary
        t_steady = time.monotonic() + 3
        while time.monotonic() < t_steady:
            for label, (cid, p, s, _, _) in self.HOSTILE.items():
                a = self.answers(label)
                if a != {s}:
                    wrong.append((round(time.monotonic() - self.t_start, 2), label, a))
            for label, (cid, p) in self.HEALTHY.items():
                a = self.answers(label)
                if a != {p}:
                    wrong.append((round(time.monotonic() - self.t_start, 2), label, a))
            time.sleep(0.1)
        self.assertEqual(wrong, [], "answers that should not have been given")

        st = self.status()
        for label, (cid, p, s, limit, text) in self.HOSTILE.items():
            i, f = interval_threshold(self.checks_doc, cid)
            # from start-up: first probe within one interval, then FailureThreshold probes,
            # each failing at its time limit, an interval apart
            bound = f * (i + limit) + SLACK
            note("%s (%s): unhealthy, answers moved %.2fs after r53d was started "
                 "(bound %.1fs = %d x (%d s + %d s) + %.0f s)"
                 % (label, cid, moved[label], bound, f, i, limit, SLACK))
            self.assertLessEqual(moved[label], bound, label)
            h = st[cid]
            self.assertEqual(h["Status"], "Unhealthy", cid)
            self.assertEqual(h["HealthyCheckers"], 0, cid)
            for o in h["HealthCheckObservations"]:
                self.check_observation_shape(o)
                self.assertIn(text, o["StatusReport"]["Status"], cid)
                self.assertTrue(o["StatusReport"]["Status"].startswith("Failure"), cid)
        for label, (cid, p) in self.HEALTHY.items():
            h = st[cid]
            self.assertEqual((h["Status"], h["HealthyCheckers"]), ("Healthy", 3), cid)
            self.assertEqual(sorted(o["IPAddress"] for o in h["HealthCheckObservations"]),
                             self.SOURCES)
        # the hostile endpoints were really contacted (the DNS failure never connects)
        for name in ("silent", "dribble", "huge", "tls-stall"):
            self.assertTrue(self.endpoints[name].hits_since(), name)

        # the FQDN check reached its endpoint through the name r53d resolved for it
        hits = self.endpoints["good-fqdn"].hits_since()
        self.assertTrue(hits, "ok.health.test was resolved through health.resolver")
        self.assertEqual(hits[-1][3].get("Host"), "ok.health.test:%d" % self.port_of("good-fqdn"))

        # no delay for the others: every checker of hc-good kept its 1 s rhythm while the
        # hostile probes hung (gap between two probes from one source address)
        i, _ = interval_threshold(self.checks_doc, "hc-good")
        worst = 0.0
        for src in self.SOURCES:
            times = [h[0] for h in self.endpoints["good"].hits_since() if h[1] == src]
            self.assertGreater(len(times), 5, src)
            gaps = [b - a for a, b in zip(times, times[1:])]
            worst = max(worst, max(gaps))
        note("hc-good: longest gap between two probes of one checker %.2fs (interval %d s)"
             % (worst, i))
        self.assertLessEqual(worst, i + 1.0 * SLOW, "a healthy check's probes were delayed")


if __name__ == "__main__":
    unittest.main()
