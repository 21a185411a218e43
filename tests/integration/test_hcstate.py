# SPDX-License-Identifier: MIT
"""Checker state across a restart: with `"store": {"path": ...}` r53d writes each health
check's checker state (views, consecutive counts, observations, last failures, status) to
the store's /hcstate/ID keys about once a second and at shutdown, and restores it before the
first probe of the next run.

  HcStateStoreTest    a failover pair guarded by one HTTP check (health.checkers 3,
                      RequestInterval 10, FailureThreshold 1) against an endpoint this
                      module starts, then kills: dig moves to the secondary. SIGTERM r53d and
                      start it again with the same configuration and store while the
                      endpoint stays dead: right after it answers (before a probe of the new
                      process could have turned all three views), dig already answers the
                      secondary, and GET /healthchecks (admin) and GetHealthCheckStatus /
                      GetHealthCheckLastFailureReason (API) show the Failure observations of
                      the first run. The endpoint comes back: the answer recovers. Then
                      kill -9 (no shutdown write): the state the 1 s timer wrote is there
                      after the restart.
  HcStateControlTest  the same without a store: the restarted server starts from r53d's
                      initial status (new checks start healthy: the primary answers) with
                      none of the first run's observations. This shows that the assertions
                      above can fail.

The checkers' first probes come at random phases within RequestInterval (10 s), so right
after a restart each of the three has well under a 1 in 10 chance to have probed already;
the assertions that need no fresh probe hold for at least one of them (and for the answer,
which needs all three) except with a probability well below 1e-3.

Only loopback addresses are used; every wait is bounded; r53d is stopped by its PID and a
class fails if r53d did not exit 0 after SIGTERM or logged a sanitizer report.
"""

import calendar
import http.client
import json
import os
import re
import shutil
import signal
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import harness
from harness import SLOW, R53d
from test_health import Endpoint, HttpHandler, admin

ZONE = "hcstate.test."
ZONE_FILE = "hcstate.test.zone"
ZONE_TEXT = """$ORIGIN hcstate.test.
$TTL 60
@       IN SOA  ns1 hostmaster 1 7200 900 1209600 60
@       IN NS   ns1
ns1     IN A    127.0.0.1
"""
NAME = "fo." + ZONE
PRIMARY, SECONDARY = "192.0.2.1", "192.0.2.2"
CHECK = "hc-primary"
INTERVAL, THRESHOLD, CHECKERS = 10, 1, 3
# a move takes at most one RequestInterval (every checker probes once) plus this slack
SLACK = 5.0 * SLOW
SANITIZER = re.compile(r"WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|"
                       r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:")


def note(text):
    print("        " + text, flush=True)


def iso_epoch(t):
    """'2024-03-27T17:48:16.751Z' -> seconds since the epoch (float)."""
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + int(t[20:23]) / 1000.0


def obs_key(o):
    return (o["Region"], o["IPAddress"], o["StatusReport"]["Status"],
            o["StatusReport"]["CheckedTime"])


class HcStateCase:
    """The set-up and the first step of both classes (a mixin: not run by itself)."""
    STORE = True
    srv = None

    @classmethod
    def setUpClass(cls):
        if harness.TARGET != "r53d":
            raise unittest.SkipTest("health checks exist only in r53d")
        cls.ep = None
        cls.tmp = tempfile.mkdtemp(prefix="r53d-hcstate-")
        try:
            cls.ep = Endpoint("primary", HttpHandler).start()
            cls.admin_port = harness.free_port()
            cls.srv = R53d(
                zones=[(ZONE, ZONE_FILE)], zone_texts={ZONE_FILE: ZONE_TEXT}, workers=2,
                admin={"listen": "127.0.0.1:%d" % cls.admin_port},
                health={"checkers": CHECKERS}, health_checks="health-checks.json",
                hosted_zones=[{"HostedZone": {"Id": "/hostedzone/ZHCSTATE", "Name": ZONE},
                               "zone_file": ZONE_FILE, "record_sets": "record-sets.json"}])
            d = cls.srv.dir
            if cls.STORE:
                cls.srv.conf["store"] = {"path": os.path.join(d, "store")}
            cls.srv.conf["hosted_zones"][0]["record_sets"] = os.path.join(d, "record-sets.json")
            cls.srv.write_conf()
            with open(os.path.join(d, "health-checks.json"), "w") as f:
                json.dump({"HealthChecks": [{
                    "Id": CHECK, "CallerReference": "hcstate-primary",
                    "HealthCheckConfig": {"IPAddress": "127.0.0.1", "Port": cls.ep.port,
                                          "Type": "HTTP", "ResourcePath": "/health",
                                          "RequestInterval": INTERVAL,
                                          "FailureThreshold": THRESHOLD},
                    "HealthCheckVersion": 1}]}, f, indent=1)
            with open(os.path.join(d, "record-sets.json"), "w") as f:
                json.dump({"ResourceRecordSets": [
                    {"Name": NAME, "Type": "A", "SetIdentifier": "primary",
                     "Failover": "PRIMARY", "TTL": 60,
                     "ResourceRecords": [{"Value": PRIMARY}], "HealthCheckId": CHECK},
                    {"Name": NAME, "Type": "A", "SetIdentifier": "secondary",
                     "Failover": "SECONDARY", "TTL": 60,
                     "ResourceRecords": [{"Value": SECONDARY}]}]}, f, indent=1)
            cls.srv.start()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def _cleanup(cls):
        if cls.ep is not None:
            cls.ep.close()
        if cls.srv is not None:
            cls.srv.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def full_log(cls):
        try:
            with open(cls.srv.logpath, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @classmethod
    def tearDownClass(cls):
        srv = cls.srv
        try:
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

    # -- helpers ----------------------------------------------------------------------------

    def answer(self):
        r = self.srv.dig(NAME, "A", timeout=max(2, int(2 * SLOW)))
        if r.status != "NOERROR":
            return None
        return frozenset(rr[4] for rr in r.rrs("ANSWER", "A"))

    def wait_answer(self, want, timeout, what):
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        got = None
        while time.monotonic() < deadline:
            got = self.answer()
            if got == frozenset([want]):
                return time.monotonic() - t0
            time.sleep(0.05)
        self.fail("%s: no answer %s within %.1f s (last %r); /healthchecks:\n%s\nlog:\n%s" %
                  (what, want, timeout, got, json.dumps(self.status(), indent=1),
                   self.srv.log()))

    def status(self):
        """The GET /healthchecks entry of the check."""
        code, ctype, body = admin(self.admin_port, "GET", "/healthchecks")
        self.assertEqual(code, 200, body)
        for hc in json.loads(body)["HealthChecks"]:
            if hc["Id"] == CHECK:
                return hc
        self.fail("no %s in /healthchecks: %s" % (CHECK, body))

    def api_observations(self, what):
        """GetHealthCheckStatus ("status") or GetHealthCheckLastFailureReason
        ("lastfailurereason") over raw HTTP: [(Region, IPAddress, Status, CheckedTime)]."""
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5 * SLOW)
        try:
            c.request("GET", "/2013-04-01/healthcheck/%s/%s" % (CHECK, what))
            r = c.getresponse()
            body = r.read()
        finally:
            c.close()
        self.assertEqual(r.status, 200, body[:500])
        root = ET.fromstring(body)
        out = []
        for el in root.iter():
            if isinstance(el.tag, str) and el.tag.endswith("HealthCheckObservation"):
                f = {c.tag.split("}")[-1]: c for c in el}
                rep = {c.tag.split("}")[-1]: c.text for c in f["StatusReport"]}
                out.append((f["Region"].text, f["IPAddress"].text, rep["Status"],
                            rep["CheckedTime"]))
        return sorted(out)

    def restart(self, sig=signal.SIGTERM):
        """Stop r53d (SIGTERM: exit 0 expected, or SIGKILL) and start it again on the same
        configuration (and store); returns the wall-clock time it was stopped."""
        if sig == signal.SIGTERM:
            rc = self.srv.stop()
            self.assertEqual(rc, 0, self.srv.log())
        else:
            self.srv.kill()
        stopped = time.time()
        self.srv.start()
        return stopped

    # -- the scenario (the tests of a class build on each other) ------------------------------

    def test_1_fails_over(self):
        self.wait_answer(PRIMARY, 5 * SLOW, "start")
        self.ep.kill()
        took = self.wait_answer(SECONDARY, INTERVAL * THRESHOLD + SLACK, "endpoint killed")
        note("moved to the secondary %.1f s after the endpoint was killed" % took)
        st = self.status()
        self.assertEqual(st["Status"], "Unhealthy")
        self.assertEqual(st["HealthyCheckers"], 0)
        obs = st["HealthCheckObservations"]
        self.assertEqual(len(obs), CHECKERS, obs)
        for o in obs:
            self.assertTrue(o["StatusReport"]["Status"].startswith("Failure"), o)
        type(self).before = st
        # (the store variant: the 1 s timer writes this; SIGTERM writes it again anyway)
        time.sleep(1.5)


class HcStateStoreTest(HcStateCase, unittest.TestCase):
    STORE = True

    def test_2_restart_keeps_state(self):
        before = getattr(type(self), "before", None)
        if before is None:
            self.fail("test_1 failed: run the whole class")
        self.restart()
        t0 = time.monotonic()
        # at once: the answer, the admin view and the API view of the first run's state
        got = self.answer()
        st = self.status()
        api = self.api_observations("status")
        api_lf = self.api_observations("lastfailurereason")
        took = time.monotonic() - t0
        note("checked %.2f s after the restarted server answered" % took)
        self.assertLess(took, 1.0 * SLOW, "too slow to prove anything about fresh probes")
        self.assertEqual(got, frozenset([SECONDARY]),
                         "the restarted server answers the primary: state not restored\n%s" %
                         json.dumps(st, indent=1))
        self.assertEqual(st["Status"], "Unhealthy", st)
        self.assertEqual(st["HealthyCheckers"], 0, st)
        self.assertEqual(st["Checkers"], CHECKERS, st)
        obs = st["HealthCheckObservations"]
        self.assertEqual(len(obs), CHECKERS, obs)
        for o in obs + st["LastFailures"]:
            self.assertTrue(o["StatusReport"]["Status"].startswith("Failure"), o)
        old = {obs_key(o) for o in before["HealthCheckObservations"]}
        kept = old & {obs_key(o) for o in obs}
        self.assertTrue(kept, "none of the first run's observations came back:\n%s\n%s" %
                        (json.dumps(before, indent=1), json.dumps(st, indent=1)))
        old_lf = {obs_key(o) for o in before["LastFailures"]}
        self.assertTrue(old_lf & {obs_key(o) for o in st["LastFailures"]}, st)
        # the API shows the same observations (its CheckedTime is the same ISO text)
        self.assertEqual(len(api), CHECKERS, api)
        self.assertTrue(kept & set(api), (kept, api))
        self.assertTrue(old_lf & set(api_lf), (old_lf, api_lf))
        log = self.full_log()
        self.assertIn("check %s (127.0.0.1:%d): healthy -> unhealthy: state restored from "
                      "the store (0 of 3 checkers healthy)" % (CHECK, self.ep.port), log)
        self.assertIn("health: checker state restored for 1 checks", log)

    def test_3_recovers(self):
        self.ep.start()   # the same port
        took = self.wait_answer(PRIMARY, INTERVAL * THRESHOLD + SLACK, "endpoint back")
        note("back to the primary %.1f s after the endpoint came back" % took)
        self.assertEqual(self.status()["Status"], "Healthy")

    def test_4_timer_writes_state(self):
        """kill -9: no shutdown write, so what comes back was written by the 1 s timer."""
        deadline = time.monotonic() + INTERVAL + SLACK
        st = self.status()
        while len([o for o in st["HealthCheckObservations"]
                   if o["StatusReport"]["Status"].startswith("Success")]) < CHECKERS:
            self.assertLess(time.monotonic(), deadline, st)
            time.sleep(0.2)
            st = self.status()
        time.sleep(2.0)
        stopped = self.restart(signal.SIGKILL)
        st = self.status()
        self.assertEqual(st["Status"], "Healthy")
        obs = st["HealthCheckObservations"]
        self.assertEqual(len(obs), CHECKERS, obs)
        stored = [o for o in obs if iso_epoch(o["StatusReport"]["CheckedTime"]) < stopped]
        self.assertTrue(stored, "no observation from before the kill: %s" % obs)
        for o in stored:
            self.assertTrue(o["StatusReport"]["Status"].startswith("Success"), o)
        # the failures of test_1 are still the last ones
        self.assertEqual(len(st["LastFailures"]), CHECKERS, st)


class HcStateControlTest(HcStateCase, unittest.TestCase):
    """No store: the restarted server knows nothing of the first run."""
    STORE = False

    def test_2_restart_starts_afresh(self):
        before = getattr(type(self), "before", None)
        if before is None:
            self.fail("test_1 failed: run the whole class")
        stopped = self.restart()
        got = self.answer()
        st = self.status()
        # hc.h / README: new checks start healthy (every view healthy)
        self.assertEqual(got, frozenset([PRIMARY]), st)
        self.assertEqual(st["Status"], "Healthy", st)
        old = {obs_key(o) for o in before["HealthCheckObservations"]}
        self.assertFalse(old & {obs_key(o) for o in st["HealthCheckObservations"]}, st)
        for o in st["HealthCheckObservations"] + st["LastFailures"]:
            self.assertGreaterEqual(iso_epoch(o["StatusReport"]["CheckedTime"]), stopped - 1, o)
        self.assertNotIn("state restored from the store", self.full_log())
