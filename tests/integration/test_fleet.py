# SPDX-License-Identifier: MIT
"""A fleet of r53d nodes on etcd (issue 13, spec/FLEET.md): three r53d nodes, each with its
own DNS and admin loopback ports, on a 3-member etcd cluster (etcd_cluster.py: free loopback
ports, members stopped by PID).

- a change made through node A is answered by all three; GetChange says INSYNC only once
  every live node has applied it (a paused node holds it PENDING);
- a killed r53d node: its lease expires and INSYNC stops waiting for it;
- the etcd leader killed: writes resume within 5 s, no acknowledged change is lost;
- two etcd members stopped: every node keeps answering, writes get 503; once they are back,
  writes work again and every node converges;
- concurrent writers on two nodes: every acknowledged change is kept (guarded commits);
- the 18% rule over the whole fleet: 3 nodes x 8 checkers, each checker from its own
  source address, and an HTTP endpoint that answers 200 only to chosen source addresses:
  4 of 24 (3 of node A's, 1 of node B's) is unhealthy on every node although node A alone
  sees 3 of 8; 5 of 24 is healthy; a stalled node's votes stop counting (its heartbeat and
  lease lapse) and count again when it resumes; GetHealthCheckStatus lists all 24 checkers
  with their node's region label;
- a node whose watch was away while etcd compacted the revisions it missed reloads
  everything (records deleted meanwhile go, new ones come) and keeps applying;
- the fleet-wide failover drill: a PRIMARY/SECONDARY pair made through node a, the primary's
  TCP health check on a loopback listener the test runs: dig (the real binary) against
  every node answers the primary, the secondary within RequestInterval x FailureThreshold
  plus slack once the listener stops, and the primary again once it is back."""

import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

import harness
from harness import SLOW, R53d

try:
    from etcd_cluster import EtcdCluster, ETCD
except ImportError:  # pragma: no cover
    EtcdCluster = None
    ETCD = "/usr/bin/etcd"

XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"
ZONE = "fleet.test."
LEASE_S = 5  # fleet.c FLEET_LEASE_TTL


def note(text):
    """Print a measurement under the test's result line (run.py and ctest show it)."""
    print("        " + text, flush=True)


def api(port, method, path, body=None, timeout=15):
    req = urllib.request.Request("http://127.0.0.1:%d/2013-04-01%s" % (port, path),
                                 data=body.encode() if body is not None else None,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout * SLOW) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def change_xml(changes):
    ch = "".join(
        "<Change><Action>%s</Action><ResourceRecordSet><Name>%s</Name><Type>%s</Type>"
        "<TTL>%d</TTL><ResourceRecords>%s</ResourceRecords></ResourceRecordSet></Change>"
        % (a, n, t, ttl, "".join("<ResourceRecord><Value>%s</Value></ResourceRecord>" % v
                                 for v in vals))
        for a, n, t, ttl, vals in changes)
    return ('<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Changes>%s'
            "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>" % (XMLNS, ch))


def tag(text, name):
    m = re.search("<%s>([^<]*)</%s>" % (name, name), text)
    return m.group(1) if m else None


class Gate(http.server.BaseHTTPRequestHandler):
    """200 to the source addresses in server.allowed, 503 to the others."""

    protocol_version = "HTTP/1.0"
    timeout = 5

    def log_message(self, *args):
        pass

    def do_GET(self):
        code = 200 if self.client_address[0] in self.server.allowed else 503
        body = b"ok\n" if code == 200 else b"not from here\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def sources(i):
    """Node i's 8 checker source addresses (127.0.0.2.. for node 0, then the next 8...)."""
    return ["127.0.0.%d" % (2 + 8 * i + j) for j in range(8)]


class Node(R53d):
    """One r53d node of the fleet: no zones of its own, the store on etcd, 8 checkers from
    its own source addresses."""

    def __init__(self, node_id, region, endpoints, srcs):
        self.admin_port = harness.free_port()
        super().__init__(zones=[], admin={"listen": "127.0.0.1:%d" % self.admin_port},
                         store={"etcd": {"endpoints": endpoints, "prefix": "/r53d/t/",
                                         "node_id": node_id, "region": region}},
                         health={"threads": 1, "checkers": 8, "sources": srcs})
        self.node_id = node_id
        self.region = region

    def hc(self, hid):
        """This node's GET /healthchecks entry of check hid, or None."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthchecks" % self.admin_port,
                                        timeout=5) as r:
                doc = json.loads(r.read().decode())
        except (OSError, ValueError):
            return None
        for e in doc.get("HealthChecks", []):
            if e.get("Id") == hid:
                return e
        return None

    def start(self):
        self._spawn([harness.R53D, "-c", self.conf_path], "example.com.")
        return self

    def a(self, name):
        """The A values node answers for name (sorted), or None (no answer / not NOERROR)."""
        r = harness.dig(self.port, name, "A", timeout=1)
        if r.exit != 0 or r.status != "NOERROR":
            return None
        return r.rdatas("ANSWER", "A")


@unittest.skipIf(EtcdCluster is None or not os.access(ETCD, os.X_OK),
                 "etcd is not installed (contrib/deps.sh installs etcd-server)")
class FleetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = EtcdCluster(3)
        cls.etcd.start()
        cls.nodes = []
        try:
            for i, (nid, region) in enumerate((("a", "fleet-a"), ("b", "fleet-b"),
                                                ("c", "fleet-c"))):
                n = Node(nid, region, cls.etcd.endpoints, sources(i))
                cls.nodes.append(n)
                n.start()
            st, body = api(cls.nodes[0].admin_port, "POST", "/hostedzone",
                           '<CreateHostedZoneRequest xmlns="%s"><Name>%s</Name><CallerReference>'
                           'fleet-1</CallerReference></CreateHostedZoneRequest>' % (XMLNS, ZONE))
            if st != 201:
                raise AssertionError("CreateHostedZone: %d %s" % (st, body))
            cls.zone = tag(body, "Id").split("/")[-1]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for n in getattr(cls, "nodes", []):
            n.cleanup()
        cls.etcd.close()

    # ---- helpers ----

    def change(self, node, name, ip, action="UPSERT", timeout=15):
        return api(node.admin_port, "POST", "/hostedzone/%s/rrset/" % self.zone,
                   change_xml([(action, name, "A", 60, [ip])]), timeout=timeout)

    def status(self, node, cid):
        st, body = api(node.admin_port, "GET", "/change/%s" % cid)
        self.assertEqual(st, 200, body)
        return tag(body, "Status")

    def wait(self, what, cond, timeout):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.05)
        self.fail("%s: not within %.1f s\n%s" % (
            what, timeout * SLOW, "\n".join("--- %s:\n%s" % (n.node_id, n.log()[-3000:])
                                            for n in self.nodes)))

    def live(self):
        return [n for n in self.nodes if n.alive()]

    def expect_everywhere(self, name, ip, timeout=5):
        self.wait("%s -> %s on every node" % (name, ip),
                  lambda: all(n.a(name) == [ip] for n in self.live()), timeout)

    def members_of(self, node):
        """Indexes of the etcd members node has connections to (ss)."""
        out = subprocess.run(["ss", "-tnpH"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=10).stdout.decode()
        ports = {int(e.rsplit(":", 1)[1]): i for i, e in enumerate(self.etcd.endpoints)}
        found = set()
        for line in out.splitlines():
            if "pid=%d," % node.proc.pid not in line:
                continue
            f = line.split()
            if len(f) >= 5 and f[4].rsplit(":", 1)[-1].isdigit():
                p = int(f[4].rsplit(":", 1)[1])
                if p in ports:
                    found.add(ports[p])
        self.assertTrue(found, "no connection of %s to etcd found:\n%s" % (node.node_id, out))
        return sorted(found)

    def ensure_nodes(self):
        for n in self.nodes:
            if not n.alive():
                n.start()

    # ---- tests (run in name order) ----

    def test_1_change_everywhere_insync(self):
        a, b, c = self.nodes
        # c pauses: it applies nothing, so the change must stay PENDING
        c.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            st, body = self.change(a, "www." + ZONE, "192.0.2.1")
            t_ack = time.monotonic() - t0
            self.assertEqual(st, 200, body)
            self.assertEqual(tag(body, "Status"), "PENDING")
            cid = tag(body, "Id").split("/")[-1]
            self.wait("a and b answer", lambda: a.a("www." + ZONE) == ["192.0.2.1"] and
                      b.a("www." + ZONE) == ["192.0.2.1"], 5)
            time.sleep(1.0)
            self.assertEqual(self.status(a, cid), "PENDING")
            self.assertEqual(self.status(b, cid), "PENDING")
        finally:
            c.signal(signal.SIGCONT)
        t1 = time.monotonic()
        self.wait("INSYNC on a", lambda: self.status(a, cid) == "INSYNC", 5)
        self.assertEqual(c.a("www." + ZONE), ["192.0.2.1"])
        note("change through a acknowledged in %.0f ms; INSYNC %.0f ms after the paused node "
             "resumed" % (t_ack * 1e3, (time.monotonic() - t1) * 1e3))
        self.wait("INSYNC on c", lambda: self.status(c, cid) == "INSYNC", 5)
        # a change through another node
        st, body = self.change(b, "mail." + ZONE, "192.0.2.2", action="CREATE")
        self.assertEqual(st, 200, body)
        self.expect_everywhere("mail." + ZONE, "192.0.2.2")
        # validated against the fleet's data: a CREATE of an existing set fails on any node
        st, body = self.change(c, "mail." + ZONE, "192.0.2.3", action="CREATE")
        self.assertEqual(st, 400, body)
        self.assertIn("InvalidChangeBatch", body)

    def test_2_concurrent_writers_lose_nothing(self):
        a, b, _ = self.nodes
        results = {}

        def writer(node, prefix):
            for i in range(15):
                st, body = self.change(node, "%s%d.%s" % (prefix, i, ZONE), "198.51.100.%d" % (i + 1))
                results[(prefix, i)] = (st, body)

        ts = [threading.Thread(target=writer, args=(a, "ca")),
              threading.Thread(target=writer, args=(b, "cb"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        ok = [k for k, (st, _) in results.items() if st == 200]
        bad = {k: v for k, v in results.items() if v[0] != 200}
        # every failure is a retryable conflict, never a lost or corrupted change
        for k, (st, body) in bad.items():
            self.assertIn("PriorRequestNotComplete", body, (k, st, body))
        self.assertGreater(len(ok), 20, bad)
        note("30 concurrent changes through 2 nodes: %d acknowledged, %d PriorRequestNotComplete"
             % (len(ok), len(bad)))
        for p, i in ok:
            self.expect_everywhere("%s%d.%s" % (p, i, ZONE), "198.51.100.%d" % (i + 1))

    def test_3_dead_node_stops_counting(self):
        a, b, c = self.nodes
        c.kill()
        t0 = time.monotonic()
        st, body = self.change(a, "after-kill." + ZONE, "192.0.2.9")
        self.assertEqual(st, 200, body)
        cid = tag(body, "Id").split("/")[-1]
        self.wait("INSYNC once the dead node's lease expired",
                  lambda: self.status(a, cid) == "INSYNC", LEASE_S + 5)
        took = time.monotonic() - t0
        self.assertLess(took, (LEASE_S + 4) * SLOW)
        note("node c killed: INSYNC without it after %.1f s (lease %d s)" % (took, LEASE_S))
        self.assertEqual(b.a("after-kill." + ZONE), ["192.0.2.9"])
        # it comes back, catches up, and holds nothing back
        c.start()
        self.expect_everywhere("after-kill." + ZONE, "192.0.2.9", 10)
        st, body = self.change(c, "back." + ZONE, "192.0.2.10")
        self.assertEqual(st, 200, body)
        cid = tag(body, "Id").split("/")[-1]
        self.wait("INSYNC with c back", lambda: self.status(a, cid) == "INSYNC", 5)

    def test_4_etcd_leader_killed(self):
        a, b, c = self.nodes
        leader = self.etcd.leader()
        self.etcd.kill(leader)
        t0 = time.monotonic()
        acked = []
        first_ok = None
        for i in range(40):
            st, body = self.change(a if i % 2 == 0 else b, "lk%d.%s" % (i, ZONE),
                                   "203.0.113.%d" % (i + 1), timeout=20)
            if st == 200:
                acked.append(i)
                if first_ok is None:
                    first_ok = time.monotonic() - t0
                if len(acked) >= 5:
                    break
            else:
                self.assertIn(st, (400, 503), body)
            time.sleep(0.1)
        self.assertIsNotNone(first_ok, "no write succeeded after the leader was killed")
        self.assertLess(first_ok, 5.0 * SLOW, "writes resumed after %.1f s" % first_ok)
        note("etcd leader killed: first write acknowledged after %.1f s" % first_ok)
        self.etcd.restart(leader)
        for i in acked:
            self.expect_everywhere("lk%d.%s" % (i, ZONE), "203.0.113.%d" % (i + 1), 10)

    def test_5_no_quorum(self):
        a, b, c = self.nodes
        leader = self.etcd.leader()
        others = [i for i in range(3) if i != leader]
        for i in others:
            self.etcd.stop(i)
        try:
            # DNS keeps answering from the last applied data
            for n in self.nodes:
                self.assertEqual(n.a("www." + ZONE), ["192.0.2.1"])
            t0 = time.monotonic()
            st, body = self.change(a, "nq." + ZONE, "192.0.2.77", timeout=30)
            note("no quorum: a write answered 503 after %.1f s" % (time.monotonic() - t0))
            self.assertEqual(st, 503, body)
            self.assertIn("ServiceUnavailable", body)
            for n in self.nodes:
                self.assertEqual(n.a("www." + ZONE), ["192.0.2.1"])
            # the admin endpoint stays responsive (no write of the node's own is tried
            # while its keepalives fail)
            worst = 0.0
            for _ in range(10):
                t0 = time.monotonic()
                with urllib.request.urlopen("http://127.0.0.1:%d/healthchecks" % b.admin_port,
                                            timeout=10) as r:
                    self.assertEqual(r.status, 200)
                worst = max(worst, time.monotonic() - t0)
                time.sleep(0.3)
            note("no quorum: GET /healthchecks on a node took at most %.2f s" % worst)
            self.assertLess(worst, 3.0 * SLOW)
        finally:
            for i in others:
                self.etcd.restart(i)
        self.etcd.wait_healthy(30)
        # converges: a write works again and reaches every node
        ok = self.wait("a write after quorum returned",
                       lambda: self.change(b, "nq." + ZONE, "192.0.2.78", timeout=20)[0] == 200, 20)
        self.assertTrue(ok)
        self.expect_everywhere("nq." + ZONE, "192.0.2.78", 15)
        st, body = self.change(c, "nq2." + ZONE, "192.0.2.79")
        self.assertEqual(st, 200, body)
        cid = tag(body, "Id").split("/")[-1]
        self.wait("INSYNC after recovery", lambda: self.status(a, cid) == "INSYNC", 10)

    def test_6_fleet_wide_18_percent(self):
        self.ensure_nodes()
        a, b, c = self.nodes
        gate = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gate)
        gate.daemon_threads = True
        # 3 of node a's checkers and 1 of node b's: 4 of 24
        gate.allowed = set(sources(0)[:3] + sources(1)[:1])
        th = threading.Thread(target=gate.serve_forever, daemon=True)
        th.start()
        try:
            self._fleet_health(gate)
        finally:
            gate.shutdown()
            gate.server_close()

    def _fleet_health(self, gate):
        a, b, c = self.nodes
        cfg = {"IPAddress": "127.0.0.1", "Port": str(gate.server_address[1]),
               "Type": "HTTP", "ResourcePath": "/", "RequestInterval": "10",
               "FailureThreshold": "1"}
        body = ('<CreateHealthCheckRequest xmlns="%s"><CallerReference>fleet-hc</CallerReference>'
                '<HealthCheckConfig>%s</HealthCheckConfig></CreateHealthCheckRequest>'
                % (XMLNS, "".join("<%s>%s</%s>" % (k, v, k) for k, v in cfg.items())))
        st, out = api(a.admin_port, "POST", "/healthcheck", body)
        self.assertEqual(st, 201, out)
        hid = tag(out, "Id")

        def fleet_state(n):
            e = n.hc(hid)
            if e is None:
                return None
            return (e["Status"], e["HealthyCheckers"], e["Checkers"],
                    e.get("FleetHealthyCheckers", 0), e.get("FleetCheckers", 0))

        def everywhere(status, total_healthy):
            def ok():
                for n in self.nodes:
                    s = fleet_state(n)
                    if s is None or s[0] != status or s[1] + s[3] != total_healthy or \
                            s[2] + s[4] != 24:
                        return False
                return True
            return ok

        # 4 of 24 (16.7%): unhealthy on every node
        self.wait("4 of 24 healthy: Unhealthy everywhere", everywhere("Unhealthy", 4), 40)
        sa = fleet_state(a)
        self.assertEqual(sa[1:3], (3, 8), "node a alone sees 3 of 8 (37.5%%): %r" % (sa,))
        self.assertEqual(fleet_state(b)[1], 1)
        self.assertEqual(fleet_state(c)[1], 0)
        # GetHealthCheckStatus: every checker of every node, with its node's region label
        def listed():
            st, out = api(b.admin_port, "GET", "/healthcheck/%s/status" % hid)
            regions = re.findall("<Region>([^<]*)</Region>", out)
            return st == 200 and len(regions) == 24 and \
                regions.count("fleet-a") == 8 and regions.count("fleet-c") == 8 and out
        out = self.wait("GetHealthCheckStatus lists 24 checkers", listed, 20)
        ips = set(re.findall("<IPAddress>([^<]*)</IPAddress>", out))
        self.assertTrue(set(sources(0)) | set(sources(2)) <= ips, ips)

        # 5 of 24 (20.8%): healthy on every node
        gate.allowed = set(sources(0)[:3] + sources(1)[:1] + sources(2)[:1])
        self.wait("5 of 24 healthy: Healthy everywhere", everywhere("Healthy", 5), 40)

        # node a stalls: its heartbeat and lease lapse, b and c count 2 of 16 (12.5%)
        a.signal(signal.SIGSTOP)
        try:
            def without_a():
                return all(fleet_state(n) == ("Unhealthy", 1 if n is b else 1, 8, 1, 8)
                           for n in (b, c))
            self.wait("a stalled: b and c count 2 of 16, Unhealthy", without_a, 25)
        finally:
            a.signal(signal.SIGCONT)
        # it resumes, registers again and its votes count again
        self.wait("a back: 5 of 24, Healthy everywhere", everywhere("Healthy", 5), 30)

    def test_7_compacted_while_away(self):
        self.ensure_nodes()
        a, b, c = self.nodes
        st, body = self.change(a, "gone." + ZONE, "192.0.2.50")
        self.assertEqual(st, 200, body)
        self.expect_everywhere("gone." + ZONE, "192.0.2.50")
        # c stalls; the members it is connected to restart (one at a time: the cluster
        # keeps its quorum), so c's watch is broken when it resumes, after the others
        # changed things and etcd compacted the history: it must resume from a revision
        # etcd no longer has.
        c.signal(signal.SIGSTOP)
        try:
            # before the changes: c's sockets hold none of them
            for i in self.members_of(c):
                self.etcd.restart(i)
            st, body = self.change(a, "gone." + ZONE, "192.0.2.50", action="DELETE")
            self.assertEqual(st, 200, body)
            st, body = self.change(b, "new." + ZONE, "192.0.2.51")
            self.assertEqual(st, 200, body)
            from etcd_cluster import call
            rev = int(self.etcd.status(1)["header"]["revision"])
            call(self.etcd.endpoints[1], "/v3/kv/compaction", {"revision": str(rev),
                                                               "physical": True}, 10)
        finally:
            c.signal(signal.SIGCONT)
        # c's watch resumes from a compacted revision: it reloads everything
        self.wait("c reloaded after compaction", lambda: c.a("new." + ZONE) == ["192.0.2.51"]
                  and c.a("gone." + ZONE) is None, 40)
        self.assertIn("reloading everything", c.log())
        st, body = self.change(c, "after-compact." + ZONE, "192.0.2.52")
        self.assertEqual(st, 200, body)
        cid = tag(body, "Id").split("/")[-1]
        self.expect_everywhere("after-compact." + ZONE, "192.0.2.52")
        self.wait("INSYNC after the resync", lambda: self.status(b, cid) == "INSYNC", 10)


    def test_8_fleet_wide_failover_drill(self):
        """A failover pair made through node a, its PRIMARY's health check on a TCP endpoint
        this test runs on loopback: dig against every node answers the primary; the
        endpoint stops: every node answers the secondary within RequestInterval x
        FailureThreshold plus slack; it is back: every node answers the primary again."""
        self.ensure_nodes()
        a, b, c = self.nodes
        ep = TcpEndpoint().start()
        try:
            self._failover_drill(ep)
        finally:
            ep.stop()

    def _failover_drill(self, ep):
        a, b, c = self.nodes
        interval, threshold = 10, 1   # the API takes RequestInterval 10 or 30
        body = ('<CreateHealthCheckRequest xmlns="%s"><CallerReference>fleet-drill'
                '</CallerReference><HealthCheckConfig><IPAddress>127.0.0.1</IPAddress>'
                '<Port>%d</Port><Type>TCP</Type><RequestInterval>%d</RequestInterval>'
                '<FailureThreshold>%d</FailureThreshold></HealthCheckConfig>'
                '</CreateHealthCheckRequest>' % (XMLNS, ep.port, interval, threshold))
        st, out = api(a.admin_port, "POST", "/healthcheck", body)
        self.assertEqual(st, 201, out)
        hid = tag(out, "Id")
        name = "drill." + ZONE
        primary, secondary = "192.0.2.201", "192.0.2.202"

        def rrset(sid, role, ip, hc=""):
            return ("<Change><Action>CREATE</Action><ResourceRecordSet><Name>%s</Name>"
                    "<Type>A</Type><SetIdentifier>%s</SetIdentifier><Failover>%s</Failover>"
                    "<TTL>10</TTL><ResourceRecords><ResourceRecord><Value>%s</Value>"
                    "</ResourceRecord></ResourceRecords>%s</ResourceRecordSet></Change>"
                    % (name, sid, role, ip,
                       "<HealthCheckId>%s</HealthCheckId>" % hc if hc else ""))
        body = ('<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Changes>%s%s'
                '</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>'
                % (XMLNS, rrset("primary", "PRIMARY", primary, hid),
                   rrset("secondary", "SECONDARY", secondary)))
        st, out = api(a.admin_port, "POST", "/hostedzone/%s/rrset/" % self.zone, body)
        self.assertEqual(st, 200, out)
        cid = tag(out, "Id").split("/")[-1]
        self.wait("the failover pair INSYNC", lambda: self.status(a, cid) == "INSYNC", 10)

        def answers():
            return [n.a(name) for n in self.nodes]

        # every checker of every node has seen the endpoint up: the primary everywhere
        self.wait("dig: the primary on every node",
                  lambda: answers() == [[primary]] * 3, interval * threshold + 15)
        budget = interval * threshold + 12   # a probe round, publication, slack
        ep.stop()
        t0 = time.monotonic()
        self.wait("dig: the secondary on every node once the endpoint is down",
                  lambda: answers() == [[secondary]] * 3, budget)
        down = time.monotonic() - t0
        ep.start()
        t0 = time.monotonic()
        self.wait("dig: the primary on every node once the endpoint is back",
                  lambda: answers() == [[primary]] * 3, budget)
        up = time.monotonic() - t0
        note("failover drill, 3 nodes (RequestInterval %d, FailureThreshold %d): secondary on "
             "every node %.1f s after the endpoint stopped, primary again %.1f s after it "
             "came back" % (interval, threshold, down, up))
        self.assertLess(down, budget * SLOW)
        self.assertLess(up, budget * SLOW)


class TcpEndpoint:
    """A TCP listener on 127.0.0.1 (fixed port across stop/start) that accepts and closes:
    the endpoint of a TCP health check. stop() closes the listening socket (connections
    are refused), start() listens again on the same port."""

    def __init__(self):
        self.port = harness.free_port()
        self.sock = None
        self.thread = None

    def start(self):
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        s.settimeout(0.2)
        self.sock = s
        self.thread = threading.Thread(target=self._serve, args=(s,), daemon=True)
        self.thread.start()
        return self

    def _serve(self, s):
        while self.sock is s:
            try:
                conn, _ = s.accept()
            except OSError:
                continue
            conn.close()

    def stop(self):
        s, self.sock = self.sock, None
        if s is not None:
            if self.thread is not None:
                self.thread.join(2)
            s.close()


if __name__ == "__main__":
    unittest.main()
