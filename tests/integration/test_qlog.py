# SPDX-License-Identifier: MIT
"""The query log off the hot path: Route 53's public query-log format line by line (UDP and
TCP, ECS, IPv6, outside the zones), JSON lines after a reload, logrotate (rename, SIGUSR1 or
SIGHUP: the next lines go to the new file, none lost while queries keep coming), the
counters in /metrics, and every line written when r53d stops right after a burst.

Also labelled tsan: under ThreadSanitizer this runs two workers appending to their rings
while the logger thread drains them, reopens and changes format.
"""

import http.client
import json
import os
import re
import signal
import socket
import threading
import time
import unittest

import dnswire
import harness
from harness import SLOW, R53d, ServerCase, free_port

TS = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"


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


def read_lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def blast(port, names, stop=None):
    """Sequential UDP queries (each waits for its answer); returns how many were answered."""
    answered = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2 * SLOW)
        s.connect(("127.0.0.1", port))
        for i, name in enumerate(names):
            if stop is not None and stop.is_set():
                break
            wire = dnswire.make_query(name, "A", qid=i & 0xFFFF)
            s.send(wire)
            try:
                while True:
                    data = s.recv(4096)
                    if data[:2] == wire[:2]:
                        answered += 1
                        break
            except socket.timeout:
                pass
    return answered


TSAN = False  # the r53d under test is a ThreadSanitizer build


class QlogCase(ServerCase):
    FORMAT = "route53"

    @classmethod
    def setUpClass(cls):
        global TSAN
        with open(harness.R53D, "rb") as f:
            TSAN = b"libtsan.so" in f.read()
        cls.admin_port = free_port()
        cls.SERVER_ARGS = {"workers": 2, "query_log": "queries.log",
                           "query_log_format": cls.FORMAT, "server_id": "TST1",
                           "listen": ["127.0.0.1:{port}", "[::1]:{port}"],
                           "admin": {"listen": "127.0.0.1:%d" % cls.admin_port}}
        super().setUpClass()
        cls.path = os.path.join(cls.srv.dir, "queries.log")

    def metrics(self):
        return metrics(self.admin_port)

    def all_lines(self):
        """Lines in the log and in its rotated copies."""
        return sum(len(read_lines(os.path.join(self.srv.dir, f)))
                   for f in os.listdir(self.srv.dir) if f.startswith("queries.log"))

    def settle(self, want=None, timeout=10):
        """Lines in all the log files once the logger has written what it holds (it writes
        within milliseconds): `want` of them, or the same count over 100 ms; bounded."""
        deadline = time.monotonic() + timeout * SLOW
        n = self.all_lines()
        while time.monotonic() < deadline:
            if want is not None and n >= want:
                break
            time.sleep(0.1)
            m = self.all_lines()
            if want is None and m == n:
                break
            n = m
        return n

    def check_metrics(self):
        """/metrics is read only outside ThreadSanitizer builds: the answer counters that
        /metrics sums are plain increments in the workers (answer.c), which TSan reports
        against the relaxed loads of stats.c before any query-log code runs."""
        return not TSAN

    def wait_lines(self, path, n, timeout=10):
        deadline = time.monotonic() + timeout * SLOW
        lines = read_lines(path)
        while len(lines) < n and time.monotonic() < deadline:
            time.sleep(0.02)
            lines = read_lines(path)
        return lines


class Route53FormatTest(QlogCase):
    """Every field of Route 53's line, as its documentation lists them."""

    def test_a_lines(self):
        # the server's readiness probe (answered before setUpClass returned) is logged by the
        # logger thread a little later: let it land before counting (it came in late once
        # under TSan and was taken for one of this test's lines)
        self.settle(want=1)
        self.settle()
        start = len(read_lines(self.path))
        t0 = time.time()
        cases = [
            (["www.example.com", "A"],
             r"Z1 www\.example\.com A NOERROR UDP TST1 127\.0\.0\.1 -"),
            (["www.example.com", "AAAA", "+tcp"],
             r"Z1 www\.example\.com AAAA NOERROR TCP TST1 127\.0\.0\.1 -"),
            (["WWW.Example.COM", "TXT", "+subnet=192.0.2.0/24"],
             r"Z1 www\.example\.com TXT NOERROR UDP TST1 127\.0\.0\.1 192\.0\.2\.0/24"),
            (["nothere.example.com", "ANY", "+notcp"],
             r"Z1 nothere\.example\.com ANY NXDOMAIN UDP TST1 127\.0\.0\.1 -"),
            (["www.child.example.com", "A", "+tcp", "+subnet=2001:db8:abcd::/48"],
             r"Z2 www\.child\.example\.com A NOERROR TCP TST1 127\.0\.0\.1 "
             r"2001:db8:abcd::/48"),
            (["www.example.org", "MX"],
             r"- www\.example\.org MX REFUSED UDP TST1 127\.0\.0\.1 -"),
        ]
        for args, _ in cases:
            r = self.srv.dig(*args)
            self.assertIsNotNone(r.status, r)
        r = harness.dig_at("::1", self.srv.port, "example.com", "SOA")
        self.assertEqual(r.status, "NOERROR", r)
        want = [w for _, w in cases] + [r"Z1 example\.com SOA NOERROR UDP TST1 ::1 -"]
        lines = self.wait_lines(self.path, start + len(want))[start:]
        self.assertEqual(len(lines), len(want), "one line per query:\n" + "\n".join(lines))
        # Two workers, one ring each: lines of different workers may come in either order.
        left = list(lines)
        for w in want:
            m = next((m for m in (re.fullmatch(r"1\.0 " + TS + " " + w, x) for x in left) if m),
                     None)
            self.assertIsNotNone(m, "no line matches %r in:\n%s" % (w, "\n".join(lines)))
            left.remove(m.group(0))
            when = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) - \
                time.timezone
            self.assertLess(abs(when - t0), 30, "the timestamp is UTC and current: " + m.group(0))

    def test_b_metrics(self):
        before = self.settle()
        n = blast(self.srv.port, ["www.example.com."] * 500)
        self.assertEqual(n, 500)
        self.assertEqual(self.settle(before + 500), before + 500)
        lines = read_lines(self.path)
        if self.check_metrics():
            m = self.metrics()
            self.assertEqual(m["r53d_query_log_enabled"], 1)
            self.assertEqual(m["r53d_query_log_dropped_total"], 0)
            self.assertEqual(m["r53d_query_log_write_errors_total"], 0)
            self.assertEqual(m["r53d_query_log_lines_total"], m["r53d_queries_total"])
            self.assertEqual(len(lines), m["r53d_query_log_lines_total"])
        # the same query 500 times: most come from the answer cache, logged the same way
        want = r"1\.0 " + TS + r" Z1 www\.example\.com A NOERROR UDP TST1 127\.0\.0\.1 -"
        bad = [x for x in lines[-500:] if not re.fullmatch(want, x)]
        self.assertEqual(bad, [], "cached answers are logged like the others")

    def rotate(self, sig, tag):
        """Queries keep coming from a thread while the file is renamed and sig is sent:
        every answered query is a line in the old or the new file, and the queries after
        the reopen are in the new one."""
        lines_before = self.settle()
        reopens = self.metrics()["r53d_query_log_reopens_total"] if self.check_metrics() else 0
        stop = threading.Event()
        counts = []
        names = ["%s%d.example.com." % (tag, i) for i in range(200000)]
        t = threading.Thread(target=lambda: counts.append(blast(self.srv.port, names, stop)))
        t.start()
        try:
            time.sleep(0.3 * SLOW)
            rotated = self.path + "." + tag
            os.rename(self.path, rotated)
            self.srv.signal(sig)
            # queries keep coming: lines in the new file mean the logger has switched
            deadline = time.monotonic() + 10 * SLOW
            while not read_lines(self.path):
                self.assertLess(time.monotonic(), deadline, "no new file after %s" % sig)
                time.sleep(0.02)
            time.sleep(0.3 * SLOW)
        finally:
            stop.set()
            t.join(30 * SLOW)
        during = counts[0]
        self.assertGreater(during, 0)
        after = blast(self.srv.port, ["after-%s.example.com." % tag] * 100)
        self.assertEqual(after, 100)
        total = self.settle(lines_before + during + after)
        old, new = read_lines(rotated), read_lines(self.path)
        self.assertEqual(total, lines_before + during + after,
                         "no line lost or doubled: %d in the old file, %d in the new one" %
                         (len(old), len(new)))
        self.assertGreater(len(new), 100, "lines during the rotation went to the new file")
        self.assertEqual(sum(" after-%s.example.com " % tag in x for x in new), 100)
        self.assertFalse(any("after-" + tag in x for x in old))
        if self.check_metrics():
            m = self.metrics()
            self.assertEqual(m["r53d_query_log_dropped_total"], 0)
            self.assertEqual(m["r53d_query_log_reopens_total"], reopens + 1)
            self.assertEqual(m["r53d_query_log_lines_total"], total)
        return during

    def test_c_rotate_sigusr1(self):
        n = self.rotate(signal.SIGUSR1, "usr")
        print("  SIGUSR1 rotation: %d queries answered across it, none lost" % n)

    def test_d_rotate_sighup(self):
        n = self.rotate(signal.SIGHUP, "hup")
        print("  SIGHUP rotation: %d queries answered across it, none lost" % n)

    def test_e_reload_to_json(self):
        """A reload switches the format (and the edge location) for the next lines."""
        conf = dict(self.srv.conf, query_log_format="json", server_id="TST2")
        self.srv.write_conf(conf)
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10 * SLOW)
        try:
            c.request("POST", "/reload")
            resp = c.getresponse()
            body = resp.read()
        finally:
            c.close()
        self.assertEqual(resp.status, 200, body)
        start = len(read_lines(self.path))
        r = self.srv.dig("www.example.com", "A", "+tcp", "+subnet=198.51.100.9/24")
        self.assertEqual(r.status, "NOERROR", r)
        lines = self.wait_lines(self.path, start + 1)[start:]
        self.assertEqual(len(lines), 1, lines)
        j = json.loads(lines[0])
        ts = j.pop("query_timestamp")
        self.assertRegex(ts, "^" + TS + "$")
        self.assertEqual(j, {"version": "1.0", "hosted_zone_id": "Z1",
                             "query_name": "www.example.com", "query_type": "A",
                             "response_code": "NOERROR", "protocol": "TCP",
                             "edge_location": "TST2", "resolver_ip": "127.0.0.1",
                             "edns_client_subnet": "198.51.100.0/24", "policy": "plain",
                             "set_identifier": None})
        self.srv.write_conf()


class DrainOnExitTest(unittest.TestCase):
    """SIGTERM right after a burst: the rings are drained, every answered query is a line."""

    def test_every_line_written_at_exit(self):
        srv = R53d(workers=2, query_log="q.log", query_log_format="text")
        srv.start()
        try:
            n = blast(srv.port, ["burst%d.example.com." % i for i in range(3000)])
            rc = srv.stop()
            self.assertEqual(rc, 0, srv.log())
            lines = read_lines(os.path.join(srv.dir, "q.log"))
            self.assertEqual(n, 3000)
            # the first query was the harness's readiness probe (SOA)
            burst = [x for x in lines if " name=burst" in x]
            self.assertEqual(len(burst), n, "every answered query logged before exit")
            self.assertTrue(all(x.startswith("query client=127.0.0.1 ecs=- name=burst")
                                for x in burst))
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
