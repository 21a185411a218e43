# SPDX-License-Identifier: MIT
"""test_reload -- a reload compiles only the zones whose sources changed (issue 10).

A big zone file, a small one that $INCLUDEs a second file, and a zone of Route 53 record
sets are served; POST /reload after changing nothing, the small zone's file, its included
file, then the big zone's file. Each time /metrics says which zones were compiled and which
shared (r53d_snapshot_zones_compiled / _shared, r53d_snapshot_build_bytes), the log has the
"snapshot built" line, and every zone answers its current data: a shared zone its old data,
a changed one its new data.
"""

import http.client
import os
import re
import time
import unittest

import harness
from harness import SLOW, R53d, free_port

BIG = 20000  # names in the big zone (small enough for a sanitizer build)

SOA = "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ 3600 IN NS ns1\nns1 IN A 192.0.2.53\n"


def big_zone(last):
    lines = ["$ORIGIN big.test.", "$TTL 300", SOA]
    lines += ["h%d IN A 10.%d.%d.%d" % (i, i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(BIG)]
    lines.append("last IN A %s" % last)
    return "\n".join(lines) + "\n"


def small_zone(www):
    lines = ["$ORIGIN small.test.", "$TTL 60", SOA, "$INCLUDE small.inc"]
    lines += ["n%d IN TXT \"name %d\"" % (i, i) for i in range(100)]
    lines.append("www IN A %s" % www)
    return "\n".join(lines) + "\n"


def http_req(port, method, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60 * SLOW)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


class ReloadSharingTest(unittest.TestCase):
    def setUp(self):
        self.admin = free_port()
        self.srv = R53d(zones=[("big.test.", "big.zone"), ("small.test.", "small.zone")],
                        zone_texts={"big.zone": big_zone("192.0.2.1"),
                                    "small.zone": small_zone("192.0.2.10"),
                                    "small.inc": "inc IN A 192.0.2.20\n"},
                        admin={"listen": "127.0.0.1:%d" % self.admin})
        self.srv.conf["hosted_zones"].append({
            "HostedZone": {"Id": "/hostedzone/ZJSON", "Name": "json.test."},
            "record_sets": {"ResourceRecordSets": [
                {"Name": "json.test.", "Type": "SOA", "TTL": 900, "ResourceRecords": [
                    {"Value": "ns1.json.test. hostmaster.json.test. 1 7200 900 1209600 86400"}]},
                {"Name": "json.test.", "Type": "NS", "TTL": 900,
                 "ResourceRecords": [{"Value": "ns1.json.test."}]},
                {"Name": "www.json.test.", "Type": "A", "TTL": 60,
                 "ResourceRecords": [{"Value": "192.0.2.30"}]}]}})
        self.srv.write_conf()
        self.srv.start()

    def tearDown(self):
        self.srv.cleanup()

    def metrics(self):
        st, body = http_req(self.admin, "GET", "/metrics")
        self.assertEqual(st, 200)
        out = {}
        for line in body.splitlines():
            m = re.match(r"^(r53d_snapshot_\w+) (\S+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def reload(self):
        st, body = http_req(self.admin, "POST", "/reload")
        self.assertEqual(st, 200, body)
        return self.metrics()

    def write(self, name, text):
        path = os.path.join(self.srv.dir, name)
        with open(path, "w") as f:
            f.write(text)

    def a(self, name):
        return self.srv.dig(name).rdatas("ANSWER", "A")

    def check(self, big_last, www, inc):
        self.assertEqual(self.a("last.big.test"), [big_last])
        self.assertEqual(self.a("h12345.big.test"), ["10.0.48.57"])
        self.assertEqual(self.a("www.small.test"), [www])
        self.assertEqual(self.a("inc.small.test"), [inc])
        self.assertEqual(self.a("www.json.test"), ["192.0.2.30"])
        r = self.srv.dig("nope.big.test")
        self.assertIn("NXDOMAIN", r.text)

    def test_reload_shares_unchanged_zones(self):
        m = self.metrics()
        self.assertEqual(m["r53d_snapshot_zones_compiled"], 3)
        self.assertEqual(m["r53d_snapshot_zones_shared"], 0)
        start_bytes = m["r53d_snapshot_build_bytes"]
        self.assertGreater(start_bytes, 1 << 20)  # the big zone's arena
        self.assertRegex(self.srv.log(), r"snapshot built in [\d.]+ ms, 3 zones compiled, 0 shared, \d+ bytes allocated")
        self.check("192.0.2.1", "192.0.2.10", "192.0.2.20")

        # nothing changed: everything shared, almost nothing allocated
        m = self.reload()
        self.assertEqual((m["r53d_snapshot_zones_compiled"], m["r53d_snapshot_zones_shared"]), (0, 3))
        self.assertLess(m["r53d_snapshot_build_bytes"], 1 << 20)
        self.assertGreater(m["r53d_snapshot_bytes"], start_bytes * 0.9)
        self.check("192.0.2.1", "192.0.2.10", "192.0.2.20")

        # the small zone's file changes: only it is compiled
        self.write("small.zone", small_zone("192.0.2.11").replace("n99 IN", "n99b IN"))
        m = self.reload()
        self.assertEqual((m["r53d_snapshot_zones_compiled"], m["r53d_snapshot_zones_shared"]), (1, 2))
        self.assertLess(m["r53d_snapshot_build_bytes"], 1 << 20)
        self.check("192.0.2.1", "192.0.2.11", "192.0.2.20")
        self.assertEqual(self.srv.dig("n99b.small.test", "TXT").rdatas("ANSWER", "TXT"), ['"name 99"'])
        self.assertRegex(self.srv.log(), r"snapshot built in [\d.]+ ms, 1 zones compiled, 2 shared")

        # only the file it includes changes: the small zone is compiled again
        time.sleep(0.01)
        self.write("small.inc", "inc IN A 192.0.2.21\n")
        m = self.reload()
        self.assertEqual((m["r53d_snapshot_zones_compiled"], m["r53d_snapshot_zones_shared"]), (1, 2))
        self.check("192.0.2.1", "192.0.2.11", "192.0.2.21")

        # the big zone changes: it is compiled, the small one shared
        self.write("big.zone", big_zone("192.0.2.2"))
        m = self.reload()
        self.assertEqual((m["r53d_snapshot_zones_compiled"], m["r53d_snapshot_zones_shared"]), (1, 2))
        self.assertGreater(m["r53d_snapshot_build_bytes"], 1 << 20)
        self.check("192.0.2.2", "192.0.2.11", "192.0.2.21")

        # old snapshots freed after their grace period, shared zones kept: a clean exit
        # (a sanitizer build exits non-zero on a report)
        self.assertEqual(self.srv.stop(), 0, self.srv.log()[-3000:])
        self.assertNotIn("Sanitizer", self.srv.log())


if __name__ == "__main__":
    unittest.main()
