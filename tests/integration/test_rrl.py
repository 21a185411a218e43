# SPDX-License-Identifier: MIT
"""Response rate limiting (issue 11): the `rrl` key end to end.

A flood of one name from 127.0.0.2 (16 UDP sockets, so that SO_REUSEPORT spreads it over
both workers; five times the limit) is answered at the configured rate +-10% in steady
state, while 127.0.0.3 asking the same name at a normal rate gets every answer; limited
responses slip as empty TC replies at the configured ratio (the client-side count equals
r53d_rrl_slipped_total); a TCP query from the flooded address is answered during the
flood. Also: exempt networks, slip 1 and 0, off by default, reload (on, changed, a bad value
rejected with its JSON path) and the configuration errors of --check.

The tests use ipv4_prefix 32: 127.0.0.2 and 127.0.0.3 share a /24, and the default /24
would (rightly) charge them to one account.
"""

import http.client
import json
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import time
import unittest

import dnswire
from harness import DIG, R53D, SLOW, ServerCase, free_port

NAME = "www.example.com."
RATE = 200          # responses per second per account
FLOOD = 5 * RATE    # queries per second from the flooding address


def metrics(port):
    """GET /metrics -> {name or name{labels}: value}."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5 * SLOW)
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


def header(data):
    """(id, flags, qdcount, ancount) of a reply."""
    return struct.unpack("!HHHH", data[:8])


class Flood:
    """Paced UDP queries from one source address over several sockets (distinct ports), and
    optionally a normal client at a low rate from another address; every reply recorded
    with its arrival time. Single-threaded, bounded by the duration."""

    def __init__(self, port, src="127.0.0.2", rate=FLOOD, seconds=3.0, nsocks=16,
                 normal_src=None, normal_rate=10, qname=NAME, names=None):
        self.port, self.rate, self.seconds = port, rate, seconds
        self.qname, self.names = qname, names
        self.sel = selectors.DefaultSelector()
        self.socks = []
        for _ in range(nsocks):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((src, 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, "flood")
            self.socks.append(s)
        self.normal = None
        self.normal_rate = normal_rate
        if normal_src is not None:
            self.normal = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.normal.bind((normal_src, 0))
            self.normal.setblocking(False)
            self.sel.register(self.normal, selectors.EVENT_READ, "normal")
        self.sent = 0
        self.send_failed = 0      # datagrams the kernel refused (EAGAIN): not sent
        self.normal_sent = 0
        self.replies = []         # (t, flags, qdcount, ancount, data) of flood replies
        self.normal_replies = []  # the same for the normal client
        self.during = []          # callables (t, fn) run once when the flood reaches t

    def _drain(self, t0, timeout):
        for key, _ in self.sel.select(timeout):
            while True:
                try:
                    data = key.fileobj.recv(4096)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                _, flags, qd, an = header(data)
                rec = (time.monotonic() - t0, flags, qd, an, data)
                (self.replies if key.data == "flood" else self.normal_replies).append(rec)

    def run(self):
        dst = ("127.0.0.1", self.port)
        t0 = time.monotonic()
        end = t0 + self.seconds
        tick = 0.005
        nxt = t0
        normal_next = t0 + 0.05
        pending = sorted(self.during, key=lambda x: x[0])
        while True:
            now = time.monotonic()
            if now >= end:
                break
            if now >= nxt:
                # queries due so far (catch up after a late wake-up, bounded)
                due = min(int((now - t0) * self.rate) + 1 - self.sent, self.rate)
                for _ in range(max(0, due)):
                    name = self.qname if self.names is None else self.names(self.sent)
                    s = self.socks[self.sent % len(self.socks)]
                    try:
                        s.sendto(dnswire.make_query(name, "A"), dst)
                        self.sent += 1
                    except BlockingIOError:
                        self.send_failed += 1
                        break
                nxt += tick
            if self.normal is not None and now >= normal_next:
                self.normal.sendto(dnswire.make_query(self.qname, "A"), dst)
                self.normal_sent += 1
                normal_next += 1.0 / self.normal_rate
            while pending and now - t0 >= pending[0][0]:
                pending.pop(0)[1]()
            self._drain(t0, max(0.0, min(nxt, normal_next, end) - time.monotonic()))
        # late replies
        stop = time.monotonic() + 0.5 * SLOW
        while time.monotonic() < stop:
            self._drain(t0, 0.05)
        return self

    def close(self):
        for s in self.socks:
            s.close()
        if self.normal is not None:
            self.normal.close()
        self.sel.close()

    @staticmethod
    def full(recs):
        return [r for r in recs if not r[1] & 0x0200 and r[3] > 0]

    @staticmethod
    def tc(recs):
        return [r for r in recs if r[1] & 0x0200]


def flood(port, **kw):
    f = Flood(port, **kw)
    try:
        return f.run()
    finally:
        f.close()


class RrlCase(ServerCase):
    ADMIN = None

    @classmethod
    def setUpClass(cls):
        cls.ADMIN = free_port()
        cls.SERVER_ARGS = dict(cls.SERVER_ARGS)
        cls.SERVER_ARGS["admin"] = {"listen": "127.0.0.1:%d" % cls.ADMIN}
        super().setUpClass()

    def metrics(self):
        return metrics(self.ADMIN)


class TestLimit(RrlCase):
    """The main case: a 3 s flood at 5x the limit over two workers."""

    SERVER_ARGS = {"workers": 2,
                   "rrl": {"responses_per_second": RATE, "slip": 2, "ipv4_prefix": 32}}

    def test_flood_limited_normal_client_answered_tc_slips_tcp_retry(self):
        before = self.metrics()
        self.assertEqual(before["r53d_rrl_responses_per_second"], RATE)
        tcp = {}

        def tcp_query():
            # a real client retrying over TCP from the flooded address, during the flood
            tcp["proc"] = subprocess.Popen(
                [DIG, "@127.0.0.1", "-p", str(self.srv.port), "-b", "127.0.0.2", "+tcp",
                 "+norec", "+tries=1", "+timeout=3", "+short", NAME, "A"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        f = Flood(self.srv.port, seconds=3.0, normal_src="127.0.0.3", normal_rate=10)
        f.during.append((1.5, tcp_query))
        try:
            f.run()
        finally:
            f.close()
        out = tcp["proc"].communicate(timeout=15 * SLOW)[0].decode()
        after = self.metrics()

        full = Flood.full(f.replies)
        tcs = Flood.tc(f.replies)
        steady = [r for r in full if 1.0 <= r[0] < 3.0]
        rate = len(steady) / 2.0
        summary = ("sent %d, answered %d (steady %.0f/s), tc %d, normal %d/%d" %
                   (f.sent, len(full), rate, len(tcs), len(Flood.full(f.normal_replies)),
                    f.normal_sent))
        print("  " + summary)
        self.assertGreater(f.sent, 0.9 * FLOOD * 3, summary)
        # the configured rate +-10% once the first second's credit is spent
        self.assertLess(abs(rate - RATE), 0.10 * RATE, summary)
        # in all: at most one second of credit on top of the rate
        self.assertLessEqual(len(full), 1.1 * RATE * 4, summary)
        # the normal client, same name, another address: every query answered in full
        self.assertGreaterEqual(f.normal_sent, 25, summary)
        self.assertEqual(len(Flood.full(f.normal_replies)), f.normal_sent, summary)
        # slip 2: every second limited response is an empty TC reply with the question
        limited = f.sent - len(full)
        self.assertLess(abs(len(tcs) - limited / 2.0), 0.10 * limited / 2.0, summary)
        for r in tcs[:50]:
            data = r[4]
            self.assertEqual(header(data)[2:], (1, 0), "a slip keeps the question only")
            q = dnswire.Message(data).question
            self.assertEqual(dnswire.name_text(q[0][0]).lower().rstrip("."), NAME.rstrip("."))
        # the server's counters agree with what the client saw
        d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        self.assertEqual(d["r53d_rrl_slipped_total"], len(tcs), summary)
        self.assertEqual(d["r53d_rrl_slipped_total"] + d["r53d_rrl_dropped_total"],
                         d['r53d_rrl_limited_total{kind="positive"}'])
        self.assertEqual(d['r53d_rrl_limited_total{kind="positive"}'], limited, summary)
        self.assertLessEqual(abs(d["r53d_rrl_slipped_total"] - d["r53d_rrl_dropped_total"]),
                             2)   # per account (one per worker) they alternate
        self.assertGreaterEqual(d["r53d_rrl_checked_total"], f.sent + f.normal_sent)
        # the flooded network went over the rate: its responses were charged to accounts
        self.assertGreaterEqual(d["r53d_rrl_accounted_total"], limited)
        # TCP is never limited
        self.assertEqual(sorted(out.split()), ["192.0.2.80", "192.0.2.81", "192.0.2.82"], out)

    def test_nxdomain_limited_by_zone(self):
        """Random names under one zone are one account (NXDOMAIN by zone), so changing
        the name does not escape the limit; another kind (a positive answer) is separate."""
        n = [0]

        def name(i):
            n[0] += 1
            return "r%d-%d.example.com." % (os.getpid(), i)
        before = self.metrics()
        f = flood(self.srv.port, seconds=2.0, names=name, src="127.0.0.4")
        after = self.metrics()
        answered = [r for r in f.replies if not r[1] & 0x0200 and (r[1] & 0x0F) == 3]
        steady = [r for r in answered if 1.0 <= r[0] < 2.0]
        summary = "sent %d, NXDOMAIN answered %d, steady %d/s" % (f.sent, len(answered),
                                                                  len(steady))
        print("  " + summary)
        self.assertLess(abs(len(steady) - RATE), 0.10 * RATE, summary)
        self.assertEqual(after['r53d_rrl_limited_total{kind="nxdomain"}'] -
                         before['r53d_rrl_limited_total{kind="nxdomain"}'],
                         f.sent - len(answered))
        # meanwhile a positive answer to the same address is its own account
        m = dnswire.Message(self._udp_from("127.0.0.4", NAME))
        self.assertEqual(len(m.answer), 3)

    def _udp_from(self, src, name):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((src, 0))
            s.settimeout(3 * SLOW)
            s.sendto(dnswire.make_query(name, "A"), ("127.0.0.1", self.srv.port))
            return s.recv(4096)


class TestExemptAndSlip(RrlCase):
    """exempt networks are never limited; slip 1 sends every limited response as TC."""

    SERVER_ARGS = {"workers": 1,
                   "rrl": {"responses_per_second": 100, "slip": 1, "ipv4_prefix": 32,
                           "exempt": ["127.0.0.2/32", "2001:db8::/32"]}}

    def test_exempt(self):
        before = self.metrics()
        f = flood(self.srv.port, rate=500, seconds=1.0)
        after = self.metrics()
        self.assertEqual(len(Flood.full(f.replies)), f.sent)
        self.assertGreaterEqual(after["r53d_rrl_exempt_total"] - before["r53d_rrl_exempt_total"],
                                f.sent)

    def test_slip_one(self):
        f = flood(self.srv.port, src="127.0.0.5", rate=500, seconds=1.0)
        full, tcs = Flood.full(f.replies), Flood.tc(f.replies)
        self.assertLessEqual(len(full), 1.1 * 100 * 2)
        self.assertEqual(len(full) + len(tcs), f.sent)   # nothing dropped


class TestSlipZeroAndReload(RrlCase):
    """slip 0 drops every limited response; reloads turn RRL off, change it, and reject
    a bad value keeping the running limits."""

    SERVER_ARGS = {"workers": 1,
                   "rrl": {"responses_per_second": 100, "slip": 0, "ipv4_prefix": 32}}

    def _reload(self, expect_ok):
        before = self.metrics()
        key = 'r53d_reloads_total{result="%s"}' % ("success" if expect_ok else "failure")
        self.srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            if self.metrics()[key] > before[key]:
                return
            time.sleep(0.05)
        self.fail("reload did not finish:\n" + self.srv.log())

    def test_slip_zero_then_reload(self):
        f = flood(self.srv.port, src="127.0.0.6", rate=500, seconds=1.0)
        self.assertEqual(Flood.tc(f.replies), [])
        self.assertLessEqual(len(Flood.full(f.replies)), 1.1 * 100 * 2)

        conf = json.loads(json.dumps(self.srv.conf))
        conf["rrl"] = {"responses_per_second": 0}
        self.srv.write_conf(conf)
        self._reload(True)
        self.assertEqual(self.metrics()["r53d_rrl_responses_per_second"], 0)
        f = flood(self.srv.port, src="127.0.0.6", rate=500, seconds=1.0)
        self.assertEqual(len(Flood.full(f.replies)), f.sent)

        conf["rrl"] = {"responses_per_second": 50, "slip": 1, "ipv4_prefix": 32}
        self.srv.write_conf(conf)
        self._reload(True)
        self.assertEqual(self.metrics()["r53d_rrl_responses_per_second"], 50)
        f = flood(self.srv.port, src="127.0.0.6", rate=400, seconds=1.0)
        self.assertLessEqual(len(Flood.full(f.replies)), 1.1 * 50 * 2)
        self.assertEqual(len(Flood.full(f.replies)) + len(Flood.tc(f.replies)), f.sent)

        conf["rrl"] = {"responses_per_second": 50, "slip": 11}
        self.srv.write_conf(conf)
        self._reload(False)
        self.assertIn("rrl.slip: must be an integer in 0..10", self.srv.log())
        self.assertEqual(self.metrics()["r53d_rrl_responses_per_second"], 50)
        self.srv.write_conf()


class TestOffByDefault(RrlCase):
    SERVER_ARGS = {"workers": 1}

    def test_off(self):
        f = flood(self.srv.port, rate=1000, seconds=1.0)
        self.assertEqual(len(Flood.full(f.replies)), f.sent)
        m = self.metrics()
        self.assertEqual(m["r53d_rrl_responses_per_second"], 0)
        self.assertEqual(m["r53d_rrl_checked_total"], 0)


class TestConfigErrors(unittest.TestCase):
    """--check names the JSON path and the reason of a bad rrl value (exit 1)."""

    CASES = [
        ({"responses_per_second": -1}, "rrl.responses_per_second: must be an integer in 0..1000000"),
        ({"responses_per_second": "10"}, "rrl.responses_per_second: must be an integer"),
        ({"slip": 11}, "rrl.slip: must be an integer in 0..10"),
        ({"ipv4_prefix": 33}, "rrl.ipv4_prefix: must be an integer in 0..32"),
        ({"ipv6_prefix": 129}, "rrl.ipv6_prefix: must be an integer in 0..128"),
        ({"window": 0}, "rrl.window: must be an integer in 1..3600"),
        ({"exempt": "127.0.0.1"}, "rrl.exempt: must be an array"),
        ({"exempt": ["127.0.0.0/8", "10.0.0.1/8"]}, "rrl.exempt[1]:"),
        ({"exempt": ["127.0.0.0/8", "nonsense"]}, "rrl.exempt[1]:"),
        ({"exempt": [7]}, "rrl.exempt[0]: must be a CIDR string"),
        ({"rate": 5}, "rrl.rate: unknown key"),
        ([], "rrl: must be an object"),
    ]

    def test_errors(self):
        if not R53D:
            self.skipTest("no r53d binary given (--r53d)")
        import tempfile
        with tempfile.TemporaryDirectory(prefix="r53d-rrl-") as d:
            zone = os.path.join(d, "t.zone")
            with open(zone, "w") as f:
                f.write("$ORIGIN t.test.\n@ 300 IN SOA ns h 1 2 3 4 5\n@ 300 IN NS ns\n"
                        "ns 300 IN A 192.0.2.1\n")
            for rrl, want in self.CASES:
                with self.subTest(rrl=rrl):
                    path = os.path.join(d, "c.json")
                    with open(path, "w") as f:
                        json.dump({"listen": ["127.0.0.1:0"], "rrl": rrl, "hosted_zones": [
                            {"HostedZone": {"Name": "t.test."}, "zone_file": zone}]}, f)
                    p = subprocess.run([R53D, "--check", path], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, timeout=30 * SLOW)
                    out = p.stdout.decode()
                    self.assertEqual(p.returncode, 1, out)
                    self.assertIn(want, out)
                    self.assertIn(path, out)
            # and a good one passes
            with open(path, "w") as f:
                json.dump({"listen": ["127.0.0.1:0"], "rrl": {
                    "responses_per_second": 5, "slip": 0, "ipv4_prefix": 0, "ipv6_prefix": 128,
                    "window": 3600, "exempt": ["192.0.2.0/24", "2001:db8::/56"]},
                    "hosted_zones": [{"HostedZone": {"Name": "t.test."}, "zone_file": zone}]}, f)
            p = subprocess.run([R53D, "--check", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30 * SLOW)
            self.assertEqual(p.returncode, 0, p.stdout.decode())


if __name__ == "__main__":
    unittest.main()
