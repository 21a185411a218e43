# SPDX-License-Identifier: MIT
"""Command line, configuration and zone-file errors, signals (SIGTERM, SIGINT, SIGHUP)."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import dnswire
import harness
from harness import CONFS, SLOW, ZONES, R53d, a

BAD = os.path.join(ZONES, "bad")


def run_r53d(*args, cwd=None, timeout=20):
    if not harness.R53D:
        raise unittest.SkipTest("no r53d binary given")
    p = subprocess.run([harness.R53D] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout * SLOW)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class Tmp:
    """A temp dir holding a configuration and copies of zone files (cwd for r53d)."""

    def __init__(self, zone_files, name="example.com.", conf_extra=None):
        self.dir = tempfile.mkdtemp(prefix="r53d-conf-")
        for f in zone_files:
            shutil.copy(os.path.join(BAD, f), self.dir)
        conf = {"listen": ["127.0.0.1:%d" % harness.free_port()], "workers": 1,
                "hosted_zones": [{"HostedZone": {"Id": "/hostedzone/Z1", "Name": name},
                                  "zone_file": zone_files[0]}]}
        conf.update(conf_extra or {})
        self.conf = os.path.join(self.dir, "r53d.json")
        with open(self.conf, "w") as f:
            json.dump(conf, f, indent=1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


class CommandLineTest(unittest.TestCase):
    def test_version(self):
        rc, out, err = run_r53d("--version")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out + err, r"r53d.*\d+\.\d+")

    def test_help(self):
        rc, out, err = run_r53d("--help")
        self.assertEqual(rc, 0, err)
        text = out + err
        self.assertIn("--check", text)
        self.assertIn("-c", text)

    def test_usage_errors_exit_2(self):
        for args in ([], ["--no-such-option"], ["-c"], ["--check"], ["-x", "y"]):
            with self.subTest(args=args):
                rc, out, err = run_r53d(*args)
                self.assertEqual(rc, 2, "args %r: exit %d\n%s%s" % (args, rc, out, err))

    def test_check_good_config(self):
        # cwd = the zones directory, config elsewhere: relative zone_file paths resolve
        # against the configuration file's directory.
        rc, out, err = run_r53d("--check", os.path.join(CONFS, "example.json"), cwd=ZONES)
        self.assertEqual(rc, 0, out + err)
        text = out + err
        self.assertIn("example.com", text)
        self.assertIn("child.example.com", text)
        # record counts as NSD sees the same files (AXFR from NSD: 79 and 8 records)
        self.assertRegex(text, r"(?m)^.*\bexample\.com\.(?!.*child).*\b79\b",
                         "example.com holds 79 records")
        self.assertRegex(text, r"(?m)^.*child\.example\.com\..*\b8\b",
                         "child.example.com holds 8 records")

    def test_check_hosted_zone_from_file(self):
        # "HostedZone" may be the path of a file holding `aws route53 get-hosted-zone` output
        rc, out, err = run_r53d("--check", os.path.join(CONFS, "hostedzone-file.json"),
                                cwd=ZONES)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Z0EXAMPLEFILE", out + err)

    def test_check_warns_hc14(self):
        """HC-14: a check that resolves the name of the weighted record set it is attached to
        loads, with a warning naming the check; on a simple record, or with an IPAddress (the
        name is then only the Host header), no warning."""
        def rs(name, extra):
            return dict({"Name": name, "Type": "A", "TTL": 60, "HealthCheckId": "hc-self",
                         "ResourceRecords": [{"Value": "192.0.2.1"}]}, **extra)
        weighted = [rs("w.example.com.", {"SetIdentifier": "a", "Weight": 1})]
        for sets, ip, warned in ((weighted, None, True),
                                 ([rs("s.example.com.", {})], None, False),
                                 (weighted, "192.0.2.9", False)):   # the name is the Host only
            with Tmp(["ok.zone"], conf_extra={}) as t:
                with open(t.conf) as f:
                    conf = json.load(f)
                conf["hosted_zones"][0]["record_sets"] = {"ResourceRecordSets": sets}
                hcc = {"FullyQualifiedDomainName": sets[0]["Name"], "Port": 80, "Type": "HTTP"}
                if ip:
                    hcc["IPAddress"] = ip
                conf["health_checks"] = {"HealthChecks": [{"Id": "hc-self",
                                                           "HealthCheckConfig": hcc}]}
                with open(t.conf, "w") as f:
                    json.dump(conf, f)
                rc, out, err = run_r53d("--check", t.conf, cwd=t.dir)
                self.assertEqual(rc, 0, out + err)
                self.assertEqual("HC-14" in err and "hc-self" in err, warned, err)

    def test_check_does_not_serve(self):
        port = harness.free_port()
        with Tmp(["ok.zone"], conf_extra={"listen": ["127.0.0.1:%d" % port]}) as t:
            rc, out, err = run_r53d("--check", t.conf, cwd=t.dir)
            self.assertEqual(rc, 0, out + err)
        self.assertIsNone(dnswire.udp_exchange(port, dnswire.make_query("example.com.", "SOA"),
                                               timeout=0.3))


class ConfigErrorTest(unittest.TestCase):
    """`r53d --check` rejects each broken input with exit 1 and a message naming the file
    and the line (zone files) or the JSON key/path (configuration)."""

    def check_zone(self, files, lines, name="example.com.", also=()):
        with Tmp(files, name=name) as t:
            rc, out, err = run_r53d("--check", t.conf, cwd=t.dir)
            text = out + err
            self.assertEqual(rc, 1, "exit %d, want 1\n%s" % (rc, text))
            if not also:
                self.assertIn(files[0], text, "message must name the file\n" + text)
            if lines:
                pat = r"(:|line )(%s)\b" % "|".join(str(n) for n in lines)
                self.assertRegex(text, pat, "message must give the line (%s)" % (lines,))
            for word in also:
                self.assertIn(word, text)
            # and -c does not start serving either
            rc2, out2, err2 = run_r53d("-c", t.conf, cwd=t.dir, timeout=10)
            self.assertEqual(rc2, 1, "r53d -c with a broken zone must exit 1\n%s%s" %
                             (out2, err2))
            return text

    def test_no_soa(self):
        text = self.check_zone(["nosoa.zone"], None)
        self.assertRegex(text, r"(?i)soa")

    def test_no_apex_ns(self):
        text = self.check_zone(["noapexns.zone"], None)
        self.assertRegex(text, r"(?i)\bns\b")

    def test_cname_beside_other_data(self):
        text = self.check_zone(["cname-conflict.zone"], [7, 8])
        self.assertRegex(text, r"(?i)cname")

    def test_data_below_dname(self):
        text = self.check_zone(["dname-below.zone"], [8])
        self.assertRegex(text, r"DNAME at old\.example\.com")

    def test_cname_at_apex(self):
        text = self.check_zone(["apex-cname.zone"], [6])
        self.assertRegex(text, r"(?i)cname")

    def test_out_of_zone_record(self):
        text = self.check_zone(["outofzone.zone"], [7])
        self.assertIn("example.net", text)

    def test_syntax_error(self):
        self.check_zone(["syntax.zone"], [8])

    def test_unknown_type_mnemonic(self):
        self.check_zone(["unknown-type.zone"], [7])

    def test_include_missing_file(self):
        text = self.check_zone(["include-missing.zone"], [7])
        self.assertIn("no-such-file.inc", text)

    def test_error_inside_include(self):
        # the message names the included file and its line 3 (include-bad.inc:3)
        self.check_zone(["include-error.zone", "include-bad.inc"], [3], also=("include-bad",))

    def test_zone_name_mismatch(self):
        # ok.zone holds example.com. records; hosting it as example.org. puts all out of zone
        rc, out, err = run_r53d("--check", os.path.join(CONFS, "zone-name-mismatch.json"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("ok.zone", out + err)

    def check_conf(self, fname, *words, where=None):
        rc, out, err = run_r53d("--check", os.path.join(CONFS, fname))
        text = out + err
        self.assertEqual(rc, 1, "exit %d, want 1\n%s" % (rc, text))
        if where:
            self.assertTrue(fname in text or where in text, "message must name the "
                            "configuration file or the JSON path %s\n%s" % (where, text))
        else:
            self.assertIn(fname, text, "message must name the configuration file")
        for w in words:
            self.assertRegex(text, w)
        return text

    def test_unknown_top_level_key(self):
        self.check_conf("unknown-key.json", r"frobnicate")

    def test_json_syntax_error(self):
        self.check_conf("bad-json.json", r"(:|line )6\b")

    def test_bad_listen(self):
        self.check_conf("bad-listen.json", r"listen")

    def test_wrong_value_type(self):
        self.check_conf("wrong-type.json", r"workers")

    def test_bad_nsid(self):
        # nsid: a string of 1..128 bytes (RFC 5001 leaves the length to the server), or false
        self.check_conf("bad-nsid-long.json", r"nsid", r"128")
        self.check_conf("bad-nsid-type.json", r"nsid")
        rc, out, err = run_r53d("--check", os.path.join(CONFS, "nsid-128.json"))
        self.assertEqual(rc, 0, out + err)

    def test_missing_zone_file(self):
        # DESIGN.md: every error names the file and the line or JSON path -- here the
        # entry that refers to the missing file (hosted_zones[0].zone_file).
        self.check_conf("missing-zone-file.json", r"does-not-exist\.zone",
                        where="hosted_zones[0]")

    def test_missing_config_file(self):
        rc, out, err = run_r53d("--check", "/nonexistent/r53d.json")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("/nonexistent/r53d.json", out + err)


class SignalTest(unittest.TestCase):
    ZONE = """$ORIGIN example.com.
$TTL 300
@	IN SOA	ns1 hostmaster %d 7200 3600 1209600 300
@	IN NS	ns1
ns1	IN A	192.0.2.53
www	IN A	192.0.2.%d
"""

    def start(self, serial=1, last=80):
        srv = R53d(zones=[("example.com.", "reload.zone")],
                   zone_texts={"reload.zone": self.ZONE % (serial, last)})
        self.addCleanup(srv.cleanup)
        return srv.start()

    def wait_for(self, srv, pred, timeout):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            m = srv.q("www.example.com.", timeout=0.5)
            if m is not None and pred(m):
                return m
            time.sleep(0.05)
        return None

    def test_sigterm_exit_0(self):
        srv = self.start()
        self.assertEqual(srv.stop(), 0, srv.log())

    def test_sigint_exit_0(self):
        srv = self.start()
        srv.signal(signal.SIGINT)
        try:
            rc = srv.proc.wait(10 * SLOW)
        except subprocess.TimeoutExpired:
            rc = None
        self.assertEqual(rc, 0, srv.log())

    def test_sighup_reload_and_broken_reload(self):
        srv = self.start(1, 80)
        m = srv.q("www.example.com.")
        self.assertEqual([r.rdata for r in m.answer], [a("192.0.2.80")])
        path = os.path.join(srv.dir, "reload.zone")
        with open(path, "w") as f:
            f.write(self.ZONE % (2, 81) + "new\tIN A\t192.0.2.99\n")
        srv.signal(signal.SIGHUP)
        m = self.wait_for(srv, lambda m: [r.rdata for r in m.answer] == [a("192.0.2.81")], 10)
        self.assertIsNotNone(m, "SIGHUP did not load the new zone\n" + srv.log())
        self.assertEqual(srv.q("new.example.com.").answer[0].rdata, a("192.0.2.99"))
        # a broken zone on reload: old data keeps serving, the process lives
        with open(path, "w") as f:
            f.write(self.ZONE % (3, 82) + "bad\tIN A\t192.0.2.999\n")
        srv.signal(signal.SIGHUP)
        time.sleep(1.0 * SLOW)
        self.assertTrue(srv.alive(), srv.log())
        m = srv.q("www.example.com.")
        self.assertEqual([r.rdata for r in m.answer], [a("192.0.2.81")], "old data kept")
        self.assertRegex(srv.log(), r"reload\.zone", "the reload error is logged with the file")
        # a broken configuration on reload: same
        srv.write_conf({"listen": srv.conf["listen"], "bogus": 1})
        srv.signal(signal.SIGHUP)
        time.sleep(0.5 * SLOW)
        self.assertTrue(srv.alive(), srv.log())
        self.assertEqual([r.rdata for r in srv.q("www.example.com.").answer], [a("192.0.2.81")])
        self.assertEqual(srv.stop(), 0, srv.log())


if __name__ == "__main__":
    unittest.main()
