# SPDX-License-Identifier: MIT
"""The store and the configuration file together (README "Files and the API together"):
resources of the file are imported once, the stored copy is served from then on, a file
changed after its import is reported (log and --check), --reimport takes the file's copy,
--export writes files that load back to the same data, SIGHUP imports what is new, and
the start-up checks of the store and of an open admin listener."""

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
import urllib.error
import urllib.request

import harness
from harness import SLOW, R53d

NS = "https://route53.amazonaws.com/doc/2013-04-01/"


def run_r53d(*args, timeout=30):
    p = subprocess.run([harness.R53D] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout * SLOW)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def api(port, method, path, body=None):
    """(status, text) of one unsigned API request (accepted without api.credentials)."""
    req = urllib.request.Request("http://127.0.0.1:%d/2013-04-01%s" % (port, path),
                                 data=body.encode() if body is not None else None,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def change(port, zone, changes):
    """POST a change batch [(action, name, type, ttl, [values])]; return (status, text)."""
    xml = "".join(
        "<Change><Action>%s</Action><ResourceRecordSet><Name>%s</Name><Type>%s</Type>"
        "<TTL>%d</TTL><ResourceRecords>%s</ResourceRecords></ResourceRecordSet></Change>"
        % (a, n, t, ttl, "".join("<ResourceRecord><Value>%s</Value></ResourceRecord>" % v
                                 for v in vals))
        for a, n, t, ttl, vals in changes)
    return api(port, "POST", "/hostedzone/%s/rrset/" % zone,
               '<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Changes>%s'
               "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>" % (NS, xml))


def record_sets(port, zone):
    """The whole ListResourceRecordSets XML of a zone, pages joined (maxitems 300)."""
    out, q = [], ""
    for _ in range(100):
        code, text = api(port, "GET", "/hostedzone/%s/rrset%s" % (zone, q))
        if code != 200:
            raise AssertionError("list-resource-record-sets: %d %s" % (code, text))
        out.extend(re.findall(r"<ResourceRecordSet>.*?</ResourceRecordSet>", text))
        m = re.search(r"<NextRecordName>(.*?)</NextRecordName><NextRecordType>(.*?)<", text)
        if "<IsTruncated>true" not in text or not m:
            return out
        q = "?name=%s&type=%s" % (urllib.request.quote(m.group(1)), m.group(2))
    raise AssertionError("more than 100 pages")


def free_admin_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


SETS = {"ResourceRecordSets": [
    {"Name": "store.test.", "Type": "SOA", "TTL": 900, "ResourceRecords": [
        {"Value": "ns1.store.test. hostmaster.store.test. 1 7200 900 1209600 86400"}]},
    {"Name": "store.test.", "Type": "NS", "TTL": 172800, "ResourceRecords": [
        {"Value": "ns1.store.test."}]},
    {"Name": "ns1.store.test.", "Type": "A", "TTL": 300, "ResourceRecords": [
        {"Value": "192.0.2.53"}]},
    {"Name": "www.store.test.", "Type": "A", "TTL": 60, "ResourceRecords": [
        {"Value": "192.0.2.1"}]},
]}


class StoreCase(unittest.TestCase):
    def setUp(self):
        if not harness.R53D:
            raise unittest.SkipTest("no r53d binary given (--r53d)")
        self.srv = None
        self.admin = free_admin_port()

    def tearDown(self):
        if self.srv is not None:
            alive = self.srv.alive()
            rc = self.srv.stop()
            log = self.srv.log()
            self.srv.cleanup()
            self.assertTrue(alive, "r53d died:\n" + log)
            self.assertEqual(rc, 0, "exit status after SIGTERM:\n" + log)

    def make(self, sets=SETS, **extra):
        """An r53d whose configuration has zone Z1STORE from aws/Z1STORE.json and a store."""
        self.srv = R53d(zones=[], **extra)
        d = self.srv.dir
        os.mkdir(os.path.join(d, "aws"))
        self.sets_file = os.path.join(d, "aws", "Z1STORE.json")
        with open(self.sets_file, "w") as f:
            json.dump(sets, f)
        self.srv.conf.update({
            "admin": {"listen": "127.0.0.1:%d" % self.admin},
            "store": {"path": "store"},
            "hosted_zones": [{"HostedZone": {"Id": "/hostedzone/Z1STORE",
                                             "Name": "store.test."},
                              "record_sets": "aws/Z1STORE.json"}]})
        self.srv.zones = [("store.test.", None)]
        self.srv.write_conf()
        return self.srv

    def restart(self):
        rc = self.srv.stop()
        self.assertEqual(rc, 0, self.srv.log())
        self.srv.start()

    def www(self):
        return self.srv.dig("www.store.test", "A").rdatas("ANSWER", "A")


class ImportTest(StoreCase):
    def test_imported_once_then_the_store_is_served(self):
        srv = self.make().start()
        self.assertEqual(self.www(), ["192.0.2.1"])
        # a change through the API, then the file changes too
        code, text = change(self.admin, "Z1STORE", [("UPSERT", "www.store.test", "A", 60,
                                                      ["192.0.2.2"])])
        self.assertEqual(code, 200, text)
        self.assertEqual(self.www(), ["192.0.2.2"])
        changed = json.loads(json.dumps(SETS))
        changed["ResourceRecordSets"][3]["ResourceRecords"] = [{"Value": "192.0.2.99"}]
        with open(self.sets_file, "w") as f:
            json.dump(changed, f)

        # --check reports the difference; a restart serves the stored copy and logs it
        rc, out, err = run_r53d("--check", srv.conf_path)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(err, r"hosted zone Z1STORE \(store\.test\.\) changed in the "
                              r"configuration since it was imported")
        self.assertIn("--reimport Z1STORE", err)
        self.restart()
        self.assertEqual(self.www(), ["192.0.2.2"])
        self.assertIn("changed in the configuration since it was imported", srv.log())

        # --reimport takes the file's copy (r53d stopped)
        self.assertEqual(srv.stop(), 0, srv.log())
        rc, out, err = run_r53d("-c", srv.conf_path, "--reimport", "/hostedzone/Z1STORE")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Z1STORE: replaced", out)
        srv.start()
        self.assertEqual(self.www(), ["192.0.2.99"])
        self.assertNotIn("changed in the configuration", srv.log().split("starting with")[-1])
        rc, out, err = run_r53d("-c", srv.conf_path, "--reimport", "ZNOSUCH")
        self.assertEqual(rc, 1)
        self.assertIn("no hosted zone, health check or CIDR collection with Id ZNOSUCH", err)

    def test_sighup_imports_new_zones_and_a_bad_file_changes_nothing(self):
        srv = self.make().start()
        conf = srv.conf
        second = {"ResourceRecordSets": [
            {"Name": "two.test.", "Type": "SOA", "TTL": 900, "ResourceRecords": [
                {"Value": "ns1.two.test. hm.two.test. 1 7200 900 1209600 86400"}]},
            {"Name": "two.test.", "Type": "NS", "TTL": 3600, "ResourceRecords": [
                {"Value": "ns1.store.test."}]},
            {"Name": "a.two.test.", "Type": "TXT", "TTL": 60, "ResourceRecords": [
                {"Value": "\"two\""}]}]}
        with open(os.path.join(srv.dir, "aws", "two.json"), "w") as f:
            json.dump(second, f)
        # a broken second zone first: the reload fails, nothing is imported
        bad = json.loads(json.dumps(second))
        bad["ResourceRecordSets"][2]["TTL"] = "sixty"
        with open(os.path.join(srv.dir, "aws", "bad.json"), "w") as f:
            json.dump(bad, f)
        conf["hosted_zones"].append({"HostedZone": {"Id": "/hostedzone/Z2TWO",
                                                    "Name": "two.test."},
                                     "record_sets": "aws/bad.json"})
        srv.write_conf()
        srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10 * SLOW
        while "reload failed" not in srv.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn("reload failed", srv.log())
        self.assertEqual(srv.dig("a.two.test", "TXT").status, "REFUSED")
        code, text = api(self.admin, "GET", "/hostedzone/Z2TWO")
        self.assertEqual(code, 404, text)
        # the good file: imported at the next reload, served, and kept across a restart
        conf["hosted_zones"][-1]["record_sets"] = "aws/two.json"
        srv.write_conf()
        srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10 * SLOW
        while srv.dig("a.two.test", "TXT").status != "NOERROR" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(srv.dig("a.two.test", "TXT").rdatas("ANSWER", "TXT"), ['"two"'])
        code, text = api(self.admin, "GET", "/hostedzone/Z2TWO")
        self.assertEqual(code, 200, text)
        self.assertIn("<Name>two.test.</Name>", text)
        # removing it from the file does not remove it from the store
        conf["hosted_zones"].pop()
        srv.write_conf()
        self.restart()
        self.assertEqual(srv.dig("a.two.test", "TXT").rdatas("ANSWER", "TXT"), ['"two"'])


class ExportTest(StoreCase):
    def test_export_loads_back_to_the_same_data(self):
        srv = self.make().start()
        code, text = change(self.admin, "Z1STORE", [
            ("CREATE", "*.store.test", "TXT", 30, ['"wild"']),
            ("CREATE", "mx.store.test", "MX", 300, ["10 mail.store.test.", "20 mx2.store.test."]),
            ("UPSERT", "www.store.test", "A", 60, ["192.0.2.7", "192.0.2.8"])])
        self.assertEqual(code, 200, text)
        code, text = api(self.admin, "POST", "/hostedzone",
                         '<CreateHostedZoneRequest xmlns="%s"><Name>made.test</Name>'
                         "<CallerReference>exp-1</CallerReference></CreateHostedZoneRequest>" % NS)
        self.assertEqual(code, 201, text)
        made = re.search(r"<Id>/hostedzone/(\w+)</Id>", text).group(1)
        before = {z: record_sets(self.admin, z) for z in ("Z1STORE", made)}
        self.assertEqual(len(before["Z1STORE"]), 6)

        out = os.path.join(srv.dir, "export")
        rc, o, e = run_r53d("-c", srv.conf_path, "--export", out)
        self.assertEqual(rc, 0, o + e)
        for f in ("list-hosted-zones.json", "list-health-checks.json", "hosted-zones.json",
                  "list-resource-record-sets-Z1STORE.json", "get-hosted-zone-%s.json" % made):
            self.assertTrue(os.path.exists(os.path.join(out, f)), f)
        with open(os.path.join(out, "list-resource-record-sets-Z1STORE.json")) as f:
            names = [s["Name"] for s in json.load(f)["ResourceRecordSets"]]
        self.assertIn("\\052.store.test.", names)
        self.assertEqual(srv.stop(), 0, srv.log())

        # a second server from the exported files only (memory store): the same data
        frag = json.load(open(os.path.join(out, "hosted-zones.json")))
        other = R53d(zones=[])
        try:
            admin2 = free_admin_port()
            other.conf.update({"admin": {"listen": "127.0.0.1:%d" % admin2},
                               "hosted_zones": [
                                   {"HostedZone": os.path.join(out, z["HostedZone"]),
                                    "record_sets": os.path.join(out, z["record_sets"])}
                                   for z in frag["hosted_zones"]],
                               "health_checks": os.path.join(out, frag["health_checks"])})
            other.zones = [("store.test.", None)]
            other.write_conf()
            rc, o, e = run_r53d("--check", other.conf_path)
            self.assertEqual(rc, 0, o + e)
            other.start()
            after = {z: record_sets(admin2, z) for z in ("Z1STORE", made)}
            self.assertEqual(after, before)
            self.assertEqual(other.dig("www.store.test", "A").rdatas("ANSWER", "A"),
                             ["192.0.2.7", "192.0.2.8"])
            self.assertEqual(other.dig("x.store.test", "TXT").rdatas("ANSWER", "TXT"),
                             ['"wild"'])
            self.assertEqual(other.stop(), 0, other.log())
        finally:
            other.cleanup()
        srv.start()


class SharingTest(StoreCase):
    """A change compiles only its zone and shares the others with the snapshot being served
    (the configuration's store.test is the fourth zone). A hosted child's DS comes from its
    parent's delegation node, found through the view at query time, so a child stays shared
    when its parent is compiled again (under ASan a dangling pointer would show here)."""

    DS = "12345 13 2 " + "ab" * 32

    def create(self, name):
        code, text = api(self.admin, "POST", "/hostedzone",
                         '<CreateHostedZoneRequest xmlns="%s"><Name>%s</Name><CallerReference>'
                         "share-%s</CallerReference></CreateHostedZoneRequest>" % (NS, name, name))
        self.assertEqual(code, 201, text)
        return re.search(r"<Id>/hostedzone/(\w+)</Id>", text).group(1)

    def ok(self, zone, changes):
        code, text = change(self.admin, zone, changes)
        self.assertEqual(code, 200, text)

    def last_applied(self):
        lines = [l for l in self.srv.log().splitlines() if "change applied" in l]
        return lines[-1] if lines else ""

    def ds(self):
        return self.srv.dig("child.parent.test", "DS").rdatas("ANSWER", "DS")

    def test_changes_share_unchanged_zones(self):
        self.make().start()
        parent, child, other = (self.create(n) for n in
                                ("parent.test", "child.parent.test", "other.test"))
        self.ok(parent, [("CREATE", "child.parent.test", "NS", 300, ["ns1.child.parent.test."]),
                         ("CREATE", "child.parent.test", "DS", 300, [self.DS]),
                         ("CREATE", "ns1.child.parent.test", "A", 300, ["192.0.2.53"])])
        self.ok(child, [("CREATE", "www.child.parent.test", "A", 60, ["192.0.2.80"])])
        self.ok(other, [("CREATE", "www.other.test", "A", 60, ["192.0.2.90"])])
        for step in range(3):
            # other.test changes: parent and child are shared, and still answer
            self.ok(other, [("UPSERT", "www.other.test", "A", 60, ["192.0.2.%d" % (91 + step)])])
            self.assertRegex(self.last_applied(),
                             r", 1 of 4 zones compiled$")
            self.assertEqual(self.srv.dig("www.other.test").rdatas("ANSWER", "A"),
                             ["192.0.2.%d" % (91 + step)])
            self.assertEqual(self.srv.dig("www.child.parent.test").rdatas("ANSWER", "A"),
                             ["192.0.2.80"])
            ds = self.ds()
            self.assertEqual(len(ds), 1, self.srv.dig("child.parent.test", "DS"))
            self.assertEqual(ds[0].replace(" ", "").lower(), self.DS.replace(" ", "").lower())
            # the parent changes: the child stays shared; DS still answered
            self.ok(parent, [("UPSERT", "p%d.parent.test" % step, "TXT", 60, ['"%d"' % step])])
            self.assertRegex(self.last_applied(), r", 1 of 4 zones compiled$")
            self.assertEqual(len(self.ds()), 1)
            self.assertEqual(self.srv.dig("www.child.parent.test").rdatas("ANSWER", "A"),
                             ["192.0.2.80"])
        # the child changes alone, then the parent zone's delegation goes away
        self.ok(child, [("UPSERT", "www.child.parent.test", "A", 60, ["192.0.2.81"])])
        self.assertEqual(self.srv.dig("www.child.parent.test").rdatas("ANSWER", "A"),
                         ["192.0.2.81"])
        self.ok(parent, [("DELETE", "child.parent.test", "DS", 300, [self.DS])])
        self.assertEqual(self.ds(), [])
        self.ok(other, [("UPSERT", "www.other.test", "A", 60, ["192.0.2.99"])])
        self.assertEqual(self.srv.dig("www.child.parent.test").rdatas("ANSWER", "A"),
                         ["192.0.2.81"])
        self.assertIn("change applied", self.srv.log())


class StartupTest(StoreCase):
    def test_open_admin_without_credentials_is_refused(self):
        srv = self.make()
        srv.conf["admin"] = {"listen": "0.0.0.0:%d" % self.admin}
        srv.write_conf()
        p = subprocess.run([harness.R53D, "-c", srv.conf_path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20 * SLOW)
        self.assertEqual(p.returncode, 1)
        text = p.stdout.decode()
        self.assertIn("is not a loopback address and api.credentials is not set", text)
        # with credentials the same listener is allowed (checked by --check only: no bind)
        srv.conf["api"] = {"credentials": [{"AccessKeyId": "AK", "SecretAccessKey": "S"}]}
        srv.write_conf()
        rc, out, err = run_r53d("--check", srv.conf_path)
        self.assertEqual(rc, 0, out + err)
        self.srv.cleanup()
        self.srv = None

    def test_unusable_store_is_an_error_naming_it(self):
        srv = self.make()
        with open(os.path.join(srv.dir, "store"), "w") as f:
            f.write("not a directory\n")
        p = subprocess.run([harness.R53D, "-c", srv.conf_path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20 * SLOW)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stdout.decode(), r"store .*store")
        self.srv.cleanup()
        self.srv = None

    def test_memory_store_is_announced(self):
        srv = self.make()
        del srv.conf["store"]
        srv.write_conf()
        srv.start()
        self.assertIn("store: memory only", srv.log())


if __name__ == "__main__":
    unittest.main()
