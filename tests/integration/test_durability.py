# SPDX-License-Identifier: MIT
"""Durability of the Route 53 API's LMDB store under kill -9 (decisions: "after kill -9 and
restart every acknowledged change (HTTP 200/201 received) is present; nothing half-applied").

r53d runs with `"store": {"path": <its temp dir>/store}`, no hosted zones in its configuration,
the API on admin.listen. Requests are raw HTTP (unsigned requests are accepted when no
api.credentials are configured), so the client is fast and needs no boto3.

  BatchKillTest.test_kill9_during_change_batches
      A client thread sends ChangeResourceRecordSets batches, each creating the 3 TXT sets
      b<N>-1/2/3.<zone>, as fast as the server answers, while the test kill -9s r53d 20 times
      at random moments (0.2-1.5 s apart) and restarts it with the same configuration and
      store. After each restart: the server starts (the store opens cleanly); every batch
      whose 200 came back is fully present (ListResourceRecordSets: all 3 sets with their
      values; DNS: one of its names answers, by raw UDP for every batch and by dig for the
      batches acknowledged since the previous check); no batch is partially present (0 or 3
      sets, never 1 or 2); batches that got no reply are all or nothing, in the listing and
      in DNS alike; batches refused with an error status are absent; GetChange of the
      batches acknowledged since the previous check says INSYNC (the change records survive
      too). At the end one more kill, then a clean SIGTERM stop and start, both checked the
      same way.

  CreateKillTest.test_kill9_during_create_zone_and_health_check
      A client thread alternates CreateHostedZone and CreateHealthCheck (new CallerReference
      each); kills are timed to land while a create is in flight (at least 3 during each kind,
      at least 8 kills, at most 20). After each restart: every zone/check whose 201 came back
      exists, complete (a zone with its SOA and NS, answered by DNS; a check with the config
      sent plus defaults); a create that got no reply left either one complete object or none
      (a zone that is absent is REFUSED by DNS); re-sending its CallerReference then gives
      HostedZoneAlreadyExists (409) if the zone exists, or the same check again (201, same Id)
      for a health check, and creates it otherwise. GetChange of the last acknowledged
      CreateHostedZone changes still answers.

Only loopback addresses; every loop and wait is bounded; r53d is killed only by the PID the
harness started it with.
"""

import http.client
import os
import random
import re
import socket
import threading
import time
import unittest
import uuid
import xml.etree.ElementTree as ET

import dnswire
import harness
from harness import SLOW, R53d

XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"
SANITIZER = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|"
                       r"runtime error:")
BATCH_RE = re.compile(r"^b(\d+)-([123])\.(dur\d+\.test)\.$")
SETS_PER_ZONE = 3000            # 1,000 batches per zone: well under 10,000 record sets
BATCH_ZONES = 8                 # so at most 8,000 batches in all


def note(text):
    print("        " + text, flush=True)


def quiet_port():
    """A port free for TCP and UDP on 127.0.0.1 below the kernel's ephemeral range, so that
    polling it before r53d listens can never self-connect (a client socket that got the same
    port as its source would hold the port and r53d's bind would fail)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        lo = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10000, max(10001, lo))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", port))
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    return harness.free_port()


def strip_ns(root):
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    return root


def xml(body):
    return strip_ns(ET.fromstring(body))


def connect(port, timeout):
    """A connection to the admin port. ConnectionRefusedError if nobody listens, including
    the TCP self-connect the kernel makes to an unused port in the ephemeral range."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.connect()
    if c.sock.getsockname() == c.sock.getpeername():
        c.close()
        raise ConnectionRefusedError("self-connect to port %d" % port)
    return c


def request(port, method, path, body=None, timeout=10.0):
    """One request on a new connection: (status, body bytes)."""
    c = connect(port, timeout * SLOW)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def api_ok(port, method, path, body=None, want=(200,)):
    st, data = request(port, method, path, body)
    if st not in want:
        raise AssertionError("%s %s: HTTP %d, want %s: %s" % (method, path, st, want,
                                                             data[:600].decode("utf-8", "replace")))
    return xml(data)


def wait_api(port, proc, timeout, log):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("r53d exited with %s before its API answered:\n%s"
                                 % (proc.returncode, log()))
        try:
            st, _ = request(port, "GET", "/2013-04-01/hostedzone", timeout=1)
            if st == 200:
                return
            last = "HTTP %d" % st
        except (OSError, http.client.HTTPException) as e:
            last = e
        time.sleep(0.02)
    raise AssertionError("the API did not answer within %.0f s (%s):\n%s" % (timeout, last, log()))


def create_zone_xml(name, ref):
    return ('<CreateHostedZoneRequest xmlns="%s"><Name>%s</Name><CallerReference>%s'
            '</CallerReference><HostedZoneConfig><Comment>durability</Comment></HostedZoneConfig>'
            '</CreateHostedZoneRequest>' % (XMLNS, name, ref)).encode()


HC_BASE = {"Type": "TCP", "Port": "80", "RequestInterval": "30", "FailureThreshold": "3",
           "Disabled": "true"}


def hc_config(i):
    return dict(HC_BASE, IPAddress="192.0.2.%d" % (i % 250 + 1))


def create_hc_xml(ref, cfg):
    inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in cfg.items())
    return ('<CreateHealthCheckRequest xmlns="%s"><CallerReference>%s</CallerReference>'
            '<HealthCheckConfig>%s</HealthCheckConfig></CreateHealthCheckRequest>'
            % (XMLNS, ref, inner)).encode()


def batch_xml(zone, n):
    ch = "".join(
        "<Change><Action>CREATE</Action><ResourceRecordSet><Name>b%d-%d.%s</Name><Type>TXT</Type>"
        "<TTL>60</TTL><ResourceRecords><ResourceRecord><Value>\"batch %d set %d\"</Value>"
        "</ResourceRecord></ResourceRecords></ResourceRecordSet></Change>" % (n, i, zone, n, i)
        for i in (1, 2, 3))
    return ('<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Comment>batch %d</Comment>'
            '<Changes>%s</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>'
            % (XMLNS, n, ch)).encode()


def list_rrsets(port, zid):
    """Every set of a zone: [(name, type, ttl, [values])], paging with maxitems 300."""
    out, q = [], "maxitems=300"
    for _ in range(1000):
        r = api_ok(port, "GET", "/2013-04-01/hostedzone/%s/rrset?%s" % (zid, q))
        for rs in r.findall("ResourceRecordSets/ResourceRecordSet"):
            out.append((rs.findtext("Name"), rs.findtext("Type"), rs.findtext("TTL"),
                        [v.text for v in rs.findall("ResourceRecords/ResourceRecord/Value")]))
        if r.findtext("IsTruncated") != "true":
            return out
        q = "maxitems=300&name=%s&type=%s" % (r.findtext("NextRecordName"),
                                               r.findtext("NextRecordType"))
        if r.findtext("NextRecordIdentifier"):
            q += "&identifier=" + r.findtext("NextRecordIdentifier")
    raise AssertionError("ListResourceRecordSets of %s did not end within 1000 pages" % zid)


def list_zones(port):
    """{name: [bare ids]} from ListHostedZones (all pages)."""
    out, q = {}, "maxitems=100"
    for _ in range(1000):
        r = api_ok(port, "GET", "/2013-04-01/hostedzone?" + q)
        for hz in r.findall("HostedZones/HostedZone"):
            out.setdefault(hz.findtext("Name"), []).append(hz.findtext("Id").split("/")[-1])
        if r.findtext("IsTruncated") != "true":
            return out
        q = "maxitems=100&marker=" + r.findtext("NextMarker")
    raise AssertionError("ListHostedZones did not end within 1000 pages")


def list_health_checks(port):
    """{CallerReference: [(Id, {config})]} from ListHealthChecks (all pages)."""
    out, q = {}, "maxitems=100"
    for _ in range(1000):
        r = api_ok(port, "GET", "/2013-04-01/healthcheck?" + q)
        for hc in r.findall("HealthChecks/HealthCheck"):
            cfg = {c.tag: c.text for c in hc.find("HealthCheckConfig")}
            out.setdefault(hc.findtext("CallerReference"), []).append((hc.findtext("Id"), cfg))
        if r.findtext("IsTruncated") != "true":
            return out
        q = "maxitems=100&marker=" + r.findtext("NextMarker")
    raise AssertionError("ListHealthChecks did not end within 1000 pages")


def txt_rdata(text):
    b = text.encode()
    return bytes([len(b)]) + b


class KillCase(unittest.TestCase):
    """One r53d with an LMDB store per test; helpers to kill and restart it."""

    def setUp(self):
        if not harness.R53D:
            raise unittest.SkipTest("no r53d binary given (--r53d)")
        self.srv = R53d(zones=[])
        self.admin_port = quiet_port()
        while self.admin_port == self.srv.port:
            self.admin_port = quiet_port()
        self.store_dir = os.path.join(self.srv.dir, "store")
        self.srv.conf["admin"] = {"listen": "127.0.0.1:%d" % self.admin_port}
        self.srv.conf["store"] = {"path": self.store_dir}
        self.srv.write_conf()
        self.restart_times = []
        self.failures = []
        try:
            self.srv.start()
            wait_api(self.admin_port, self.srv.proc, 15 * SLOW, self.srv.log)
        except Exception:
            self.srv.cleanup()
            raise

    def tearDown(self):
        srv = self.srv
        try:
            alive = srv.alive()
            rc = srv.stop()
            log = srv.log()
        finally:
            srv.cleanup()
        if alive and rc != 0:
            raise AssertionError("r53d exit status after SIGTERM was %s, want 0:\n%s" % (rc, log))
        if SANITIZER.search(log):
            raise AssertionError("sanitizer report in the r53d log:\n%s" % log[-6000:])

    def fail_later(self, msg):
        self.failures.append(msg)

    def restart(self, label):
        """Start r53d again on the same configuration and store; the API must answer."""
        t0 = time.monotonic()
        try:
            self.srv.start()
            wait_api(self.admin_port, self.srv.proc, 15 * SLOW, self.srv.log)
        except Exception as e:  # noqa: BLE001
            raise AssertionError("r53d did not come back after %s (store %s): %s" % (
                label, self.store_dir, e))
        self.restart_times.append(time.monotonic() - t0)

    def kill9(self):
        pid = self.srv.proc.pid
        self.srv.kill()                       # SIGKILL to the PID we started, then wait
        self.assertIsNotNone(self.srv.proc.poll(), "r53d (pid %d) survived SIGKILL" % pid)

    def dns(self, qname, qtype):
        """Raw UDP query; retried twice (a reply lost on loopback is not a store bug)."""
        for _ in range(3):
            m = dnswire.query(self.srv.port, qname, qtype, timeout=1.0 * SLOW)
            if m is not None:
                return m
        return None


class BatchKillTest(KillCase):
    KILLS = 20
    BUDGET = 230.0        # seconds for the kill loop; the test's CTest timeout is 300

    def setUp(self):
        super().setUp()
        self.zones = []        # [(name, bare id)]
        for i in range(BATCH_ZONES):
            name = "dur%d.test" % i
            r = api_ok(self.admin_port, "POST", "/2013-04-01/hostedzone",
                       create_zone_xml(name, "dur-batch-zone-%d-%s" % (i, uuid.uuid4().hex[:8])),
                       want=(201,))
            self.zones.append((name, r.findtext("HostedZone/Id").split("/")[-1]))
        self.lock = threading.Lock()
        self.acked, self.unknown, self.rejected = set(), set(), {}
        self.change_ids = {}    # acked batch -> its change id
        self.check_times = []
        self.sent = 0
        self.refused = 0
        self.stop = threading.Event()
        self.pause = threading.Event()
        self.idle = threading.Event()

    def zone_of(self, n):
        return self.zones[(n - 1) // (SETS_PER_ZONE // 3)]

    def client(self):
        conn = None
        n = 1
        max_n = BATCH_ZONES * SETS_PER_ZONE // 3
        while not self.stop.is_set():
            if self.pause.is_set():
                if conn is not None:
                    conn.close()
                    conn = None
                self.idle.set()
                while self.pause.is_set() and not self.stop.is_set():
                    time.sleep(0.005)
                self.idle.clear()
                continue
            if n > max_n:
                time.sleep(0.01)
                continue
            zname, zid = self.zone_of(n)
            body = batch_xml(zname, n)
            try:
                if conn is None:
                    conn = connect(self.admin_port, 10 * SLOW)
            except ConnectionRefusedError:
                conn = None           # nothing was sent: the same batch again later
                with self.lock:
                    self.refused += 1
                time.sleep(0.01)
                continue
            except OSError:
                conn = None
                time.sleep(0.01)
                continue
            with self.lock:
                self.sent += 1
            try:
                conn.request("POST", "/2013-04-01/hostedzone/%s/rrset/" % zid, body=body)
                r = conn.getresponse()
                data = r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                with self.lock:
                    self.unknown.add(n)
                n += 1
                continue
            with self.lock:
                if status == 200:
                    self.acked.add(n)
                    m = re.search(rb"<Id>/change/([^<]+)</Id>", data)
                    self.change_ids[n] = m.group(1).decode() if m else None
                else:
                    self.rejected[n] = "HTTP %d %s" % (status, data[:300].decode("utf-8", "replace"))
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
            n += 1

    def hold_client(self):
        """Pause the client and wait until it is idle (its in-flight request ended)."""
        self.pause.set()
        if not self.idle.wait(20 * SLOW):
            raise AssertionError("the client did not stop within 20 s")

    def check(self, label, checked_before):
        """The invariant, with the client held. Returns the acked batches now verified."""
        t0 = time.monotonic()
        try:
            return self._check(label, checked_before)
        finally:
            self.check_times.append(time.monotonic() - t0)

    def _check(self, label, checked_before):
        with self.lock:
            acked, unknown, rejected = set(self.acked), set(self.unknown), dict(self.rejected)
        seen = {}        # batch -> {set index: (ttl, values)}
        for zname, zid in self.zones:
            try:
                sets = list_rrsets(self.admin_port, zid)
            except Exception as e:  # noqa: BLE001
                self.fail_later("%s: ListResourceRecordSets of %s failed: %s" % (label, zname, e))
                continue
            for name, rtype, ttl, vals in sets:
                m = BATCH_RE.match(name or "")
                if rtype == "TXT" and m and m.group(3) == zname:
                    seen.setdefault(int(m.group(1)), {})[int(m.group(2))] = (ttl, vals)
                elif not (name == zname + "." and rtype in ("SOA", "NS")):
                    self.fail_later("%s: unexpected set %s %s in %s" % (label, name, rtype, zname))
        bad = []
        for n in sorted(acked):
            got = seen.get(n, {})
            if sorted(got) != [1, 2, 3]:
                bad.append("batch %d acknowledged (200) but sets %s present" % (n, sorted(got)))
        for n, got in sorted(seen.items()):
            if len(got) not in (0, 3):
                bad.append("batch %d partially present: sets %s (%s)" % (
                    n, sorted(got), "acked" if n in acked else
                    "no reply" if n in unknown else "rejected" if n in rejected else "never sent"))
            for i, (ttl, vals) in got.items():
                if ttl != "60" or vals != ['"batch %d set %d"' % (n, i)]:
                    bad.append("batch %d set %d: TTL %s values %s" % (n, i, ttl, vals))
        for n in sorted(rejected):
            if n in seen:
                bad.append("batch %d was refused (%s) but is present" % (n, rejected[n]))
        for n in sorted(set(seen) - acked - unknown - set(rejected)):
            bad.append("batch %d present but never sent" % n)
        # DNS: every batch sent, one name each, raw UDP; answers must agree with the listing
        for n in sorted(acked | unknown | set(rejected)):
            zname, _ = self.zone_of(n)
            k = 1 + n % 3
            qn = "b%d-%d.%s." % (n, k, zname)
            m = self.dns(qn, "TXT")
            present = len(seen.get(n, {})) == 3
            if m is None:
                bad.append("DNS: no reply to %s TXT" % qn)
            elif present:
                rd = sorted(r.rdata for r in m.answer if r.type == 16)
                if m.rcode != 0 or rd != [txt_rdata("batch %d set %d" % (n, k))]:
                    bad.append("DNS: %s TXT (batch %s, listed) answered rcode %d %s" % (
                        qn, "acked" if n in acked else "no reply", m.rcode, rd))
            elif m.rcode != 3:
                bad.append("DNS: %s TXT (batch not listed) answered rcode %d, want NXDOMAIN" % (
                    qn, m.rcode))
        # dig (the real client) for what is new since the previous check, and a sample
        new = sorted(acked - checked_before)[-30:] + sorted(unknown)[-5:]
        old = sorted(acked & checked_before)
        new += random.sample(old, min(5, len(old)))
        for n in new:
            zname, _ = self.zone_of(n)
            qn = "b%d-%d.%s." % (n, 1 + n % 3, zname)
            d = self.srv.dig(qn, "TXT")
            present = len(seen.get(n, {})) == 3
            want = ['"batch %d set %d"' % (n, 1 + n % 3)] if present else []
            ok = (d.status == "NOERROR" and "aa" in d.flags and d.rdatas("ANSWER", "TXT") == want) \
                if present else d.status == "NXDOMAIN"
            if not ok:
                bad.append("dig %s TXT: want %s, got:\n%s" % (qn, want or "NXDOMAIN", d.text))
        # the change records survive too: GetChange of acknowledged changes says INSYNC
        # (Terraform's waiter turns NoSuchChange into "not found")
        with self.lock:
            cids = dict(self.change_ids)
        for n in new[:20]:
            cid = cids.get(n)
            if n not in acked:
                continue
            if not cid:
                bad.append("batch %d: no ChangeInfo Id in its 200" % n)
                continue
            deadline = time.monotonic() + 5 * SLOW
            while True:
                st, data = request(self.admin_port, "GET", "/2013-04-01/change/" + cid)
                status = xml(data).findtext("ChangeInfo/Status") if st == 200 else None
                if status != "PENDING" or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            if status != "INSYNC":
                bad.append("GetChange %s (batch %d, acknowledged before the restart): HTTP %d %s"
                           % (cid, n, st, data[:300].decode("utf-8", "replace")))
        for b in bad[:40]:
            self.fail_later("%s: %s" % (label, b))
        if len(bad) > 40:
            self.fail_later("%s: ... %d more problems" % (label, len(bad) - 40))
        committed = sum(1 for n in unknown if len(seen.get(n, {})) == 3)
        return acked, committed

    def test_kill9_during_change_batches(self):
        t = threading.Thread(target=self.client, name="batch-client", daemon=True)
        t.start()
        rng = random.Random(os.environ.get("R53D_DURABILITY_SEED") or None)
        verified = set()
        kills = 0
        t_end = time.monotonic() + self.BUDGET * SLOW
        committed_unknown = 0
        try:
            for k in range(self.KILLS):
                if time.monotonic() > t_end:
                    self.fail_later("time budget spent after %d of %d kills" % (k, self.KILLS))
                    break
                time.sleep(rng.uniform(0.2, 1.5))
                if not self.srv.alive():
                    self.fail_later("r53d died on its own before kill %d:\n%s" % (k + 1,
                                                                                  self.srv.log()))
                    break
                self.kill9()
                kills += 1
                self.hold_client()
                self.restart("kill -9 #%d" % (k + 1))
                verified, committed_unknown = self.check("after kill #%d" % (k + 1), verified)
                if self.failures:
                    break
                self.pause.clear()
            if not self.failures:
                # the last batches too, then a clean stop: both must keep everything
                time.sleep(rng.uniform(0.2, 1.5))
                self.kill9()
                self.hold_client()
                self.restart("the final kill -9")
                verified, committed_unknown = self.check("after the final kill", verified)
                rc = self.srv.stop()
                if rc != 0:
                    self.fail_later("SIGTERM exit status %s, want 0:\n%s" % (rc, self.srv.log()))
                self.restart("a clean stop")
                verified, committed_unknown = self.check("after a clean stop", verified)
        finally:
            self.stop.set()
            self.pause.clear()
            t.join(20)
        with self.lock:
            note("%d kills; %d batches sent, %d acknowledged, %d without reply (%d of them "
                 "committed), %d refused by the server, %d connects refused while down" % (
                     kills + 1, self.sent, len(self.acked), len(self.unknown), committed_unknown,
                     len(self.rejected), self.refused))
        if self.restart_times:
            s = sorted(self.restart_times)
            note("restart to API answering: median %.0f ms, max %.0f ms; checks took up to "
                 "%.1f s" % (1000 * s[len(s) // 2], 1000 * s[-1], max(self.check_times or [0])))
        if self.rejected:
            note("refused batches (first 3): %s" % list(self.rejected.items())[:3])
        if self.failures:
            self.fail("\n".join(self.failures) + "\n--- r53d log (tail) ---\n" + self.srv.log()[-4000:])
        self.assertGreaterEqual(len(self.acked), 20, "too few batches acknowledged to mean much")
        self.assertEqual(self.rejected, {}, "batches refused by the server")


class CreateKillTest(KillCase):
    # Kills go on (bounded) until at least MIN_EACH landed inside each kind of create: in a
    # release build a create takes a few ms, so some kills land between requests.
    MIN_KILLS, MAX_KILLS, MIN_EACH = 8, 45, 3
    MAX_ATTEMPTS = 360
    BUDGET = 200.0

    def setUp(self):
        super().setUp()
        self.lock = threading.Lock()
        # attempt i -> {"kind", "name"/"ref", "cfg", "state": acked|unknown|rejected, "id"}
        self.attempts = {}
        self.inflight = None          # the attempt being sent, or None
        self.inflight_ev = threading.Event()
        self.stop = threading.Event()
        self.pause = threading.Event()
        self.idle = threading.Event()

    def send_create(self, a):
        if a["kind"] == "zone":
            return request(self.admin_port, "POST", "/2013-04-01/hostedzone",
                           create_zone_xml(a["name"], a["ref"]))
        return request(self.admin_port, "POST", "/2013-04-01/healthcheck",
                       create_hc_xml(a["ref"], a["cfg"]))

    def client(self):
        i = 0
        while not self.stop.is_set():
            if self.pause.is_set():
                self.idle.set()
                while self.pause.is_set() and not self.stop.is_set():
                    time.sleep(0.005)
                self.idle.clear()
                continue
            if i >= self.MAX_ATTEMPTS:      # stay under the account limits (500 / 200)
                time.sleep(0.01)
                continue
            kind = "zone" if i % 2 == 0 else "hc"
            a = {"kind": kind, "ref": "dur-%s-%d-%s" % (kind, i, uuid.uuid4().hex[:6]),
                 "name": "c%d.durz.test" % i, "cfg": hc_config(i), "state": None, "id": None}
            with self.lock:
                self.inflight = a
            self.inflight_ev.set()
            try:
                st, data = self.send_create(a)
            except ConnectionRefusedError:
                with self.lock:
                    self.inflight = None
                self.inflight_ev.clear()
                time.sleep(0.01)
                continue          # never reached the server: not an attempt
            except (OSError, http.client.HTTPException):
                st, data = None, b""
            with self.lock:
                self.inflight = None
                self.inflight_ev.clear()
                if st == 201:
                    r = xml(data)
                    a["state"] = "acked"
                    a["id"] = (r.findtext("HostedZone/Id") or "").split("/")[-1] if kind == "zone" \
                        else r.findtext("HealthCheck/Id")
                    a["change"] = (r.findtext("ChangeInfo/Id") or "").split("/")[-1] or None
                elif st is None:
                    a["state"] = "unknown"
                else:
                    a["state"] = "rejected"
                    a["error"] = "HTTP %d %s" % (st, data[:300].decode("utf-8", "replace"))
                self.attempts[i] = a
            i += 1
            time.sleep(0.05)

    def check_zone(self, a, zid, label, bad):
        try:
            r = api_ok(self.admin_port, "GET", "/2013-04-01/hostedzone/" + zid)
        except AssertionError as e:
            bad.append("%s: zone %s (%s) listed but GetHostedZone failed: %s" % (label, a["name"], zid, e))
            return
        if r.findtext("HostedZone/ResourceRecordSetCount") != "2":
            bad.append("zone %s: ResourceRecordSetCount %s, want 2" % (
                a["name"], r.findtext("HostedZone/ResourceRecordSetCount")))
        if r.findtext("HostedZone/CallerReference") not in (None, a["ref"]):
            bad.append("zone %s: CallerReference %s, want %s" % (
                a["name"], r.findtext("HostedZone/CallerReference"), a["ref"]))
        if not r.findall("DelegationSet/NameServers/NameServer"):
            bad.append("zone %s: no DelegationSet name servers" % a["name"])
        sets = sorted((n, t) for n, t, _, _ in list_rrsets(self.admin_port, zid))
        want = [(a["name"] + ".", "NS"), (a["name"] + ".", "SOA")]
        if sets != want:
            bad.append("zone %s: sets %s, want %s" % (a["name"], sets, want))
        m = self.dns(a["name"] + ".", "SOA")
        if m is None or m.rcode != 0 or not m.aa or not [x for x in m.answer if x.type == 6]:
            bad.append("zone %s: DNS SOA not answered authoritatively: %r" % (a["name"], m))

    def check_hc(self, a, hcid, cfg, label, bad):
        for k, v in a["cfg"].items():
            if cfg.get(k) != v:
                bad.append("health check %s (%s): %s=%r, sent %r" % (a["ref"], hcid, k, cfg.get(k), v))
        try:
            api_ok(self.admin_port, "GET", "/2013-04-01/healthcheck/" + hcid)
        except AssertionError as e:
            bad.append("%s: health check %s listed but GetHealthCheck failed: %s" % (label, hcid, e))

    def check(self, label):
        with self.lock:
            attempts = {i: dict(a) for i, a in self.attempts.items()}
        bad = []
        zones = list_zones(self.admin_port)
        checks = list_health_checks(self.admin_port)
        for i, a in sorted(attempts.items()):
            if a["kind"] == "zone":
                ids = zones.get(a["name"] + ".", [])
                if len(ids) > 1:
                    bad.append("zone %s exists %d times: %s" % (a["name"], len(ids), ids))
                if a["state"] == "acked":
                    if ids != [a["id"]]:
                        bad.append("zone %s acknowledged (201, %s) but listed as %s" % (
                            a["name"], a["id"], ids))
                        continue
                elif a["state"] == "rejected":
                    if ids:
                        bad.append("zone %s refused (%s) but exists" % (a["name"], a["error"]))
                    continue
                if ids:
                    self.check_zone(a, ids[0], label, bad)
                elif a["state"] == "unknown":
                    m = self.dns(a["name"] + ".", "SOA")
                    if m is None or m.rcode != 5:
                        bad.append("zone %s absent from the API but DNS says %r, want REFUSED"
                                   % (a["name"], m))
                if a["state"] == "unknown":     # resolve it: re-send the same CallerReference
                    st, data = self.send_create(a)
                    if ids:
                        code = (xml(data).findtext("Error/Code") if data else None)
                        if st != 409 or code != "HostedZoneAlreadyExists":
                            bad.append("zone %s (no reply, exists): re-sent CallerReference gave "
                                       "HTTP %s %s, want 409 HostedZoneAlreadyExists" % (
                                           a["name"], st, code))
                        new_id = ids[0]
                    else:
                        if st != 201:
                            bad.append("zone %s (no reply, absent): re-send gave HTTP %s %r" % (
                                a["name"], st, data[:300]))
                            continue
                        new_id = xml(data).findtext("HostedZone/Id").split("/")[-1]
                    with self.lock:
                        self.attempts[i].update(state="acked", id=new_id, resolved=bool(ids))
            else:
                found = checks.get(a["ref"], [])
                if len(found) > 1:
                    bad.append("health check ref %s exists %d times" % (a["ref"], len(found)))
                if a["state"] == "acked":
                    if [f[0] for f in found] != [a["id"]]:
                        bad.append("health check %s acknowledged (201, %s) but listed as %s" % (
                            a["ref"], a["id"], [f[0] for f in found]))
                        continue
                elif a["state"] == "rejected":
                    if found:
                        bad.append("health check %s refused (%s) but exists" % (a["ref"], a["error"]))
                    continue
                if found:
                    self.check_hc(a, found[0][0], found[0][1], label, bad)
                if a["state"] == "unknown":
                    st, data = self.send_create(a)
                    new_id = xml(data).findtext("HealthCheck/Id") if st == 201 else None
                    if st != 201:
                        bad.append("health check %s (no reply): re-send gave HTTP %s %r" % (
                            a["ref"], st, data[:300]))
                        continue
                    if found and new_id != found[0][0]:
                        bad.append("health check %s (no reply, exists as %s): re-send with the same "
                                   "CallerReference and config created %s, want the same check" % (
                                       a["ref"], found[0][0], new_id))
                    with self.lock:
                        self.attempts[i].update(state="acked", id=new_id, resolved=bool(found))
        # CreateHostedZone's change survives a restart (GetChange INSYNC, not NoSuchChange)
        zs = [a for _, a in sorted(attempts.items())
              if a["kind"] == "zone" and a["state"] == "acked" and a.get("change")][-5:]
        for a in zs:
            st, data = request(self.admin_port, "GET", "/2013-04-01/change/" + a["change"])
            status = xml(data).findtext("ChangeInfo/Status") if st == 200 else None
            if status not in ("INSYNC", "PENDING"):
                bad.append("GetChange %s (CreateHostedZone %s) after the restart: HTTP %d %s" % (
                    a["change"], a["name"], st, data[:300].decode("utf-8", "replace")))
        for b in bad[:40]:
            self.fail_later("%s: %s" % (label, b))
        if len(bad) > 40:
            self.fail_later("%s: ... %d more problems" % (label, len(bad) - 40))

    def test_kill9_during_create_zone_and_health_check(self):
        t = threading.Thread(target=self.client, name="create-client", daemon=True)
        t.start()
        rng = random.Random(os.environ.get("R53D_DURABILITY_SEED") or None)
        during = {"zone": 0, "hc": 0}
        kills = 0
        t_end = time.monotonic() + self.BUDGET * SLOW
        try:
            while kills < self.MAX_KILLS and time.monotonic() < t_end:
                if kills >= self.MIN_KILLS and min(during.values()) >= self.MIN_EACH:
                    break
                time.sleep(rng.uniform(0.2, 1.5))
                # land the kill inside a request: wait for one to be in flight, then 0-1.5 ms
                self.inflight_ev.wait(2.0)
                time.sleep(rng.uniform(0, 0.0015))
                with self.lock:
                    a = self.inflight
                if not self.srv.alive():
                    self.fail_later("r53d died on its own before kill %d:\n%s" % (kills + 1,
                                                                                  self.srv.log()))
                    break
                self.kill9()
                kills += 1
                self.pause.set()
                if not self.idle.wait(20 * SLOW):
                    raise AssertionError("the client did not stop within 20 s")
                if a is not None and a["state"] == "unknown":
                    during[a["kind"]] += 1
                self.restart("kill -9 #%d" % kills)
                self.check("after kill #%d" % kills)
                if self.failures:
                    break
                self.pause.clear()
            if not self.failures:
                self.pause.set()
                self.idle.wait(20 * SLOW)
                rc = self.srv.stop()
                if rc != 0:
                    self.fail_later("SIGTERM exit status %s, want 0" % rc)
                self.restart("a clean stop")
                self.check("after a clean stop")
        finally:
            self.stop.set()
            self.pause.clear()
            t.join(20)
        with self.lock:
            att = list(self.attempts.values())
        st = {}
        for a in att:
            st[(a["kind"], a.get("resolved"))] = st.get((a["kind"], a.get("resolved")), 0) + 1
        note("%d kills, %d during a CreateHostedZone and %d during a CreateHealthCheck "
             "(no reply); %d zones and %d health checks created; no-reply creates found "
             "committed: %d zones, %d checks" % (
                 kills, during["zone"], during["hc"],
                 sum(1 for a in att if a["kind"] == "zone" and a["state"] == "acked"),
                 sum(1 for a in att if a["kind"] == "hc" and a["state"] == "acked"),
                 st.get(("zone", True), 0), st.get(("hc", True), 0)))
        if self.restart_times:
            s = sorted(self.restart_times)
            note("restart to API answering: median %.0f ms, max %.0f ms" % (
                1000 * s[len(s) // 2], 1000 * s[-1]))
        if self.failures:
            self.fail("\n".join(self.failures) + "\n--- r53d log (tail) ---\n" + self.srv.log()[-4000:])
        self.assertGreaterEqual(during["zone"], self.MIN_EACH,
                                "too few kills landed during a CreateHostedZone")
        self.assertGreaterEqual(during["hc"], self.MIN_EACH,
                                "too few kills landed during a CreateHealthCheck")
        rejected = [a for a in att if a["state"] == "rejected"]
        self.assertEqual(rejected, [], "creates refused by the server")


if __name__ == "__main__":
    unittest.main()
