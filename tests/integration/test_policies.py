# SPDX-License-Identifier: MIT
"""Route 53 record sets end to end: every routing policy, aliases, health, ECS, geo.

The real r53d serves AWS CLI exports from tests/fixtures/policies/ (README there) with the
geo fixture database (tests/fixtures/geo/city.txt, built into
BUILD/tests/fixtures/geo/geolite2-city.mmdb by the geo_fixtures target; the path comes
from R53D_GEO_MMDB, else it is derived from the r53d binary's build directory).

Health is set by hand: `health.force` in the configuration and the admin endpoint
`POST /healthchecks/ID/force`. The checks point at 127.0.0.1:9 (closed), so a forced
status is the only thing that makes a check healthy: forced status wins over probes.
Client locations come from EDNS Client Subnet (dig +subnet, or raw options).

Spec: ROUTE53.md 3.4-3.5 (exports, change batches), 4 (policies), 5.2-5.3 (health in alias
trees, worked examples 1-8), 7 (ECS), 8 (aliases), 9.1 (NODATA for "no answer").

Statistics: shares of weighted draws are checked against the binomial distribution with
a tolerance of 5 standard deviations (|count - n*p| <= 5*sqrt(n*p*(1-p))); a correct
server fails any one such check with probability < 6e-7. A weight that must never be drawn
must have a count of exactly 0. Every sample is bounded in count and in time.
"""

import collections
import ipaddress
import json
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import dnswire
import harness
from harness import SLOW

POLICIES = os.path.join(harness.FIXTURES, "policies")

# The fixture database: where documentation ranges are (tests/fixtures/geo/city.txt).
VA = "192.0.2.0/25"        # US, Virginia (39.04, -77.49)
US_CA = "192.0.2.128/25"   # US, California
FR = "198.51.100.0/24"     # France, Ile-de-France
DE = "203.0.113.0/26"      # Germany, Hesse (Frankfurt)
JP = "203.0.113.64/26"     # Japan, Tokyo
BR = "203.0.113.128/26"    # Brazil, Sao Paulo
AU = "203.0.113.192/27"    # Australia, New South Wales
ZA = "203.0.113.224/27"    # South Africa, Western Cape
IE = "10.0.0.0/16"         # Ireland (Dublin)
TR = "10.1.0.0/16"         # Turkey: the database says continent AS, Route 53 says EU
US_NOSTATE = "10.2.0.0/16"  # US without a subdivision
CONT_ONLY = "10.3.0.0/16"  # only a continent (EU): no country, no coordinates
UNMAPPED = "10.99.0.0/16"  # not in the database at all
US_DC = "10.4.0.0/16"      # US, District of Columbia
CA_QC = "100.64.0.0/16"    # Canada, Quebec
GB = "100.65.0.0/16"       # United Kingdom without coordinates
US_TX6 = "2001:db8:7::/48"  # US, Texas (IPv6)
CN = "100.66.0.0/16"       # China, Shanghai
CY6 = "2001:db8:8::/48"    # Cyprus: the database says AS, Route 53 says EU

COORDS = {VA: (39.0438, -77.4874), IE: (53.3498, -6.2603), BR: (-23.5505, -46.6333),
          DE: (50.1109, 8.6821), ZA: (-33.9249, 18.4241), JP: (35.6762, 139.6503),
          FR: (48.8566, 2.3522), CA_QC: (45.5017, -73.5673)}

ZONE_ID = "Z0POLICYTEST1"
LISTING = "Z0POLICYTEST1.json"
BATCH = "change-batch.json"
COLL_ID = "0f4a5d7e-1234-4cde-9abc-0123456789ab"
ECS_FAMILY = {4: 1, 6: 2}


def mmdb_path():
    p = os.environ.get("R53D_GEO_MMDB", "")
    if not p and harness.R53D:
        p = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(harness.R53D)), "..",
                                          "tests", "fixtures", "geo", "geolite2-city.mmdb"))
    if not p or not os.path.isfile(p):
        raise RuntimeError("geo fixture database not found (%r): build the geo_fixtures target "
                           "or set R53D_GEO_MMDB" % p)
    return p


def load_fixture(name):
    with open(os.path.join(POLICIES, name)) as f:
        return json.load(f)


def health_ids(fname):
    return [h["Id"] for h in load_fixture(fname)["HealthChecks"]]


# ---------------------------------------------------------------------------------------
# ECS (RFC 7871) option bytes and raw queries

def ecs_raw(family, source, scope, addr):
    body = struct.pack("!HBB", family, source, scope) + bytes(addr)
    return struct.pack("!HH", 8, len(body)) + body


def ecs_option(subnet):
    """'198.51.100.0/24' -> the option a resolver sends (address cut to the prefix)."""
    net = ipaddress.ip_network(subnet)   # strict: no bits beyond the prefix
    n = (net.prefixlen + 7) // 8
    return ecs_raw(ECS_FAMILY[net.version], net.prefixlen, 0, net.network_address.packed[:n])


def ecs_of(m):
    """The response's ECS option as (family, source, scope, address bytes), or None."""
    if m.opt is None:
        return None
    data, i = m.opt.rdata, 0
    while i + 4 <= len(data):
        code, ln = struct.unpack("!HH", data[i:i + 4])
        body = data[i + 4:i + 4 + ln]
        i += 4 + ln
        if code == 8:
            fam, src, scope = struct.unpack("!HBB", body[:4])
            return fam, src, scope, bytes(body[4:])
    return None


def a_values(m):
    return sorted(socket.inet_ntoa(r.rdata) for r in m.answer if r.type == 1)


class Client:
    """Raw UDP queries over one socket (fast enough for a few thousand queries)."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))
        self.qid = 0

    def close(self):
        self.sock.close()

    def query(self, name, qtype="A", subnet=None, options=None, timeout=2.0):
        opts = options if options is not None else (ecs_option(subnet) if subnet else b"")
        for _ in range(3):  # bounded retries (UDP)
            self.qid = (self.qid + 1) & 0xFFFF
            wire = dnswire.make_query(name, qtype, qid=self.qid, edns=1232, options=opts)
            self.sock.send(wire)
            deadline = time.monotonic() + timeout * SLOW
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                try:
                    data = self.sock.recv(65535)
                except (socket.timeout, ConnectionRefusedError):
                    break
                if data[:2] == wire[:2]:
                    return dnswire.Message(data)
        raise AssertionError("no reply to %s %s (subnet %s)" % (name, qtype, subnet))


# ---------------------------------------------------------------------------------------
# A server with fixture files, a geo database and an admin port

class PolicyServer(harness.R53d):
    def __init__(self, files, hosted_zones, health_checks, force, extra=None):
        mmdb = mmdb_path()
        super().__init__(zones=[], hosted_zones=hosted_zones)
        aws = os.path.join(self.dir, "aws")
        os.makedirs(aws)
        for f in files:
            shutil.copy(os.path.join(POLICIES, f), aws)
        os.makedirs(os.path.join(self.dir, "geo"))
        shutil.copy(mmdb, os.path.join(self.dir, "geo", "city.mmdb"))
        self.admin_port = harness.free_port()
        for _ in range(20):
            if self.admin_port != self.port:
                break
            self.admin_port = harness.free_port()
        self.conf.update({
            "admin": {"listen": "127.0.0.1:%d" % self.admin_port},
            "geo": {"database": "geo/city.mmdb"},
            # 2 checkers per check, 1 pool thread: probes are cheap and irrelevant here
            "health": {"threads": 1, "checkers": 2, "force": dict(force)},
            "health_checks": "aws/" + health_checks,
        })
        self.conf.update(extra or {})
        self.write_conf()
        self.baseline = dict(force)
        self.current = dict(force)

    def admin(self, method, path, body=None):
        """(HTTP status, decoded JSON body or text) from the admin endpoint."""
        url = "http://127.0.0.1:%d%s" % (self.admin_port, path)
        req = urllib.request.Request(url, data=body.encode() if body is not None else None,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=5 * SLOW) as r:
                code, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            code, text = e.code, e.read().decode()
        try:
            return code, json.loads(text)
        except ValueError:
            return code, text

    def force(self, states):
        """{check id: 'healthy' | 'unhealthy' | 'auto'} through POST /healthchecks/ID/force."""
        for hid, state in states.items():
            if self.current.get(hid) == state:
                continue
            code, body = self.admin("POST", "/healthchecks/%s/force" % hid, state)
            if code != 200 or body.get("force") != state:
                raise AssertionError("force %s %s: HTTP %s %r" % (hid, state, code, body))
            self.current[hid] = state

    def reset_health(self):
        self.force({k: v for k, v in self.baseline.items() if self.current.get(k) != v})


class PolicyCase(harness.ServerCase):
    """One PolicyServer per class; health back to the configured force before each test."""

    @classmethod
    def make_server(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        if harness.TARGET != "r53d":
            raise unittest.SkipTest("Route 53 record sets are r53d's own (no NSD calibration)")
        cls.srv = cls.make_server()
        try:
            cls.srv.start()
        except Exception:
            cls.srv.cleanup()
            raise
        cls.client = Client(cls.srv.port)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "client", None) is not None:
            cls.client.close()
        super().tearDownClass()

    def setUp(self):
        self.assertTrue(self.srv.alive(), "r53d died:\n" + self.srv.log())
        self.srv.reset_health()

    # -- helpers --------------------------------------------------------------------------

    def health(self, unhealthy=(), healthy=()):
        st = {h: "unhealthy" for h in unhealthy}
        st.update({h: "healthy" for h in healthy})
        self.srv.force(st)

    def q(self, name, subnet=None, qtype="A", options=None):
        return self.client.query(name, qtype, subnet=subnet, options=options)

    def dig(self, name, subnet=None, qtype="A"):
        opts = ["+subnet=" + subnet] if subnet else []
        r = self.srv.dig(name, qtype, *opts)
        self.assertIsNotNone(r.status, "dig got no answer:\n" + r.text)
        return r

    def dig_scope(self, r):
        m = re.search(r"CLIENT-SUBNET: (\S+)/(\d+)/(\d+)", r.text)
        self.assertIsNotNone(m, "no CLIENT-SUBNET in the reply:\n" + r.text)
        return m.group(1), int(m.group(2)), int(m.group(3))

    def assertAnswer(self, name, subnet, want, qtype="A", times=1, why=""):
        """dig once (with +subnet), then `times - 1` raw queries: always exactly `want`."""
        r = self.dig(name, subnet, qtype)
        label = "%s %s from %s %s" % (name, qtype, subnet or "127.0.0.1", why)
        self.assertEqual(r.status, "NOERROR", label + "\n" + r.text)
        self.assertIn("aa", r.flags, label + "\n" + r.text)
        self.assertEqual(r.rdatas("ANSWER", qtype), sorted(want), label + "\n" + r.text)
        for _ in range(times - 1):
            m = self.q(name, subnet, qtype)
            self.assertEqual(a_values(m), sorted(want), label + "\n%r" % m)
        return r

    def assertNoAnswer(self, name, subnet, qtype="A"):
        """NOERROR, AA, empty answer, the zone's SOA with the negative TTL (POL-G4, NEG-3)."""
        m = self.q(name, subnet, qtype)
        label = "%s %s from %s" % (name, qtype, subnet)
        self.assertEqual(m.rcode_name, "NOERROR", label + "\n%r" % m)
        self.assertTrue(m.aa, m)
        self.assertEqual(m.answer, [], label + "\n%r" % m)
        self.assertEqual([(r.type, r.ttl) for r in m.authority], [(6, 900)], label + "\n%r" % m)
        r = self.dig(name, subnet, qtype)
        self.assertEqual((r.status, r.answer), ("NOERROR", []), r.text)
        return m

    def sample(self, name, n, subnet=None, budget=30):
        """Counter of answers (a tuple of sorted A values) over n raw queries."""
        counts = collections.Counter()
        deadline = time.monotonic() + budget * SLOW
        for i in range(n):
            if time.monotonic() > deadline:
                self.fail("only %d of %d queries for %s within %ds" % (i, n, name, budget * SLOW))
            m = self.q(name, subnet)
            self.assertEqual(m.rcode_name, "NOERROR", m)
            counts[tuple(a_values(m))] += 1
        return counts

    def assertShares(self, counts, probs, n, what):
        """Each single-value answer's count within 5 binomial standard deviations of n*p;
        p == 0: never. Nothing outside probs."""
        flat = collections.Counter()
        for k, v in counts.items():
            self.assertEqual(len(k), 1, "%s: one value per answer, got %r" % (what, k))
            flat[k[0]] += v
        self.assertEqual(set(flat) - set(probs), set(), "%s: unexpected answers %r" % (what, flat))
        for value, p in probs.items():
            got = flat.get(value, 0)
            if p == 0:
                self.assertEqual(got, 0, "%s: %s must never be drawn (%r)" % (what, value, flat))
                continue
            sd = math.sqrt(n * p * (1 - p))
            self.assertLessEqual(abs(got - n * p), 5 * sd,
                                 "%s: %s drawn %d of %d times, expected %.0f +- %.0f (5 sd)"
                                 % (what, value, got, n, n * p, 5 * sd))

    def assertScope(self, m, subnet, scope):
        net = ipaddress.ip_network(subnet)
        ecs = ecs_of(m)
        self.assertIsNotNone(ecs, "no ECS option echoed\n%r" % m)
        n = (net.prefixlen + 7) // 8
        self.assertEqual(ecs, (ECS_FAMILY[net.version], net.prefixlen, scope,
                               net.network_address.packed[:n]), m)


def policy_of(s):
    """The routing policy of one ResourceRecordSet, named as `r53d --check` prints it."""
    for key, name in (("Weight", "weighted"), ("Region", "latency"), ("Failover", "failover"),
                      ("GeoLocation", "geolocation"), ("GeoProximityLocation", "geoproximity"),
                      ("CidrRoutingConfig", "ip-based")):
        if key in s:
            return name
    return "multivalue" if s.get("MultiValueAnswer") else "simple"


def apply_batch(sets, batch):
    """Spec RR-15 semantics, to compute what `--check` must count."""
    key = lambda s: (s["Name"].rstrip(".").lower() + ".", s["Type"], s.get("SetIdentifier"))
    out = {key(s): s for s in sets}
    for c in batch["Changes"]:
        s = c["ResourceRecordSet"]
        if c["Action"] == "DELETE":
            del out[key(s)]
        else:
            out[key(s)] = s
    return list(out.values())


def main_zone(record_sets):
    return [{"HostedZone": {"Id": "/hostedzone/" + ZONE_ID, "Name": "policy.test.",
                            "Config": {"PrivateZone": False}},
             "record_sets": record_sets}]


def main_extra(cidr_blocks="aws/list-cidr-blocks.json"):
    coll = load_fixture("list-cidr-collections.json")["CidrCollections"][0]
    return {"cidr_collections": [{"CidrCollection": coll, "cidr_blocks": cidr_blocks}]}


MAIN_FILES = [LISTING, BATCH, "list-health-checks.json", "list-cidr-blocks.json",
              "list-cidr-collections.json", "latency.json", "Z0CHAINTEST1.json"]
CHAIN_ZONE = {"HostedZone": {"Id": "/hostedzone/Z0CHAINTEST1", "Name": "chain.test.",
                             "Config": {"PrivateZone": False}},
              "record_sets": "aws/Z0CHAINTEST1.json"}


# ---------------------------------------------------------------------------------------
# 1. The export loads unchanged; --check summarises it

def run_check(conf, files=MAIN_FILES):
    d = tempfile.mkdtemp(prefix="r53d-pol-")
    try:
        os.makedirs(os.path.join(d, "aws"))
        os.makedirs(os.path.join(d, "geo"))
        for f in files:
            shutil.copy(os.path.join(POLICIES, f), os.path.join(d, "aws"))
        shutil.copy(mmdb_path(), os.path.join(d, "geo", "city.mmdb"))
        path = os.path.join(d, "r53d.json")
        with open(path, "w") as f:
            json.dump(conf, f, indent=1)
        p = subprocess.run([harness.R53D, "--check", path], cwd=d, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30 * SLOW)
        return p.returncode, p.stdout.decode(), p.stderr.decode()
    finally:
        shutil.rmtree(d, ignore_errors=True)


class ExportTest(unittest.TestCase):
    """Spec 3.4/3.5: an export in the CLI's shape loads unchanged; --check by policy."""

    @classmethod
    def setUpClass(cls):
        if not harness.R53D:
            raise unittest.SkipTest("no r53d binary given (--r53d)")
        if harness.TARGET != "r53d":
            raise unittest.SkipTest("r53d only")

    def conf(self, record_sets):
        c = {"listen": ["127.0.0.1:%d" % harness.free_port()], "workers": 1,
             "geo": {"database": "geo/city.mmdb", "latency": "aws/latency.json"},
             "health_checks": "aws/list-health-checks.json",
             "hosted_zones": main_zone(record_sets)}
        c.update(main_extra())
        return c

    def expect_summary(self, sets, out):
        names = {s["Name"] for s in sets}
        rrsets = {(s["Name"], s["Type"]) for s in sets}
        values = sum(len(s.get("ResourceRecords", [])) for s in sets)
        aliases = sum(1 for s in sets if "AliasTarget" in s)
        # r53d counts an alias record set as one record
        self.assertRegex(out, r"(?m)^zone policy\.test\.  id /hostedzone/%s  public  %d names, "
                         r"%d RRsets, %d records, SOA serial 1$"
                         % (ZONE_ID, len(names), len(rrsets), values + aliases))
        by = collections.Counter(policy_of(s) for s in sets)
        order = ["simple", "weighted", "latency", "failover", "geolocation", "geoproximity",
                 "multivalue", "ip-based"]
        line = "record sets by policy: " + ", ".join("%s %d" % (p, by[p]) for p in order if by[p])
        self.assertIn(line + "\n", out)
        checks = len(load_fixture("list-health-checks.json")["HealthChecks"])
        self.assertIn("health checks: %d\n" % checks, out)
        self.assertIn("geo: 1 database file\n", out)
        self.assertIn("geo.latency: 1 rules\n", out)
        self.assertRegex(out, r"r53d\.json: configuration OK\n$")
        return by

    def test_fixture_is_in_cli_shape(self):
        """The listing is what `aws route53 list-resource-record-sets` prints: one key,
        members in service-model order, sorted by reversed labels then type, absolute
        lower-case names with \\052 for the wildcard, every policy present."""
        doc = load_fixture(LISTING)
        self.assertEqual(list(doc), ["ResourceRecordSets"])
        order = ["Name", "Type", "SetIdentifier", "Weight", "Region", "GeoLocation", "Failover",
                 "MultiValueAnswer", "TTL", "ResourceRecords", "AliasTarget", "HealthCheckId",
                 "TrafficPolicyInstanceId", "CidrRoutingConfig", "GeoProximityLocation"]
        sets = doc["ResourceRecordSets"]
        for s in sets:
            keys = list(s)
            self.assertEqual(keys, sorted(keys, key=order.index), s)
            self.assertTrue(s["Name"].endswith("."), s)
            self.assertEqual(s["Name"], s["Name"].lower(), s)
            self.assertTrue(("TTL" in s) != ("AliasTarget" in s), s)
        rev = [".".join(reversed(s["Name"].rstrip(".").split("."))) for s in sets]
        self.assertEqual(rev, sorted(rev))
        names = [s["Name"] for s in sets]
        self.assertIn("\\052.policy.test.", names)
        self.assertIn("odd\\041name.policy.test.", names)
        self.assertEqual({policy_of(s) for s in sets},
                         {"simple", "weighted", "latency", "failover", "geolocation",
                          "geoproximity", "multivalue", "ip-based"})
        self.assertTrue(any(s.get("Weight") == 0 for s in sets))
        self.assertTrue(any("AliasTarget" in s and s["Name"] == "policy.test." for s in sets))
        self.assertEqual({s["AliasTarget"]["EvaluateTargetHealth"] for s in sets
                          if "AliasTarget" in s}, {True, False})
        geo = [s["GeoLocation"] for s in sets if "GeoLocation" in s]
        self.assertTrue({"SubdivisionCode", "CountryCode"} <= set().union(*map(set, geo)))
        self.assertIn({"ContinentCode": "EU"}, geo)
        self.assertIn({"CountryCode": "*"}, geo)
        prox = [s["GeoProximityLocation"] for s in sets if "GeoProximityLocation" in s]
        self.assertTrue({"AWSRegion", "Coordinates", "Bias"} <= set().union(*map(set, prox)))
        cidr = [s["CidrRoutingConfig"] for s in sets if "CidrRoutingConfig" in s]
        self.assertIn("*", [c["LocationName"] for c in cidr])
        self.assertEqual({c["CollectionId"] for c in cidr}, {COLL_ID})
        coll = load_fixture("list-cidr-collections.json")["CidrCollections"]
        self.assertEqual([c["Id"] for c in coll], [COLL_ID])
        hcs = set(health_ids("list-health-checks.json"))
        self.assertTrue({s["HealthCheckId"] for s in sets if "HealthCheckId" in s} <= hcs)
        self.assertEqual(list(load_fixture("list-cidr-blocks.json")), ["CidrBlocks"])

    def test_check_listing(self):
        rc, out, err = run_check(self.conf("aws/" + LISTING))
        self.assertEqual(rc, 0, out + err)
        by = self.expect_summary(load_fixture(LISTING)["ResourceRecordSets"], out)
        self.assertEqual(dict(by), {"simple": 12, "weighted": 11, "latency": 9, "failover": 8,
                                    "geolocation": 8, "geoproximity": 6, "multivalue": 12,
                                    "ip-based": 6})

    def test_check_listing_and_change_batch(self):
        """[listing, batch]: CREATE batch, UPSERT simple, DELETE gone TXT and a latency
        member. The documents are the fixture files' contents, inline."""
        rc, out, err = run_check(self.conf([load_fixture(LISTING), load_fixture(BATCH)]))
        self.assertEqual(rc, 0, out + err)
        sets = apply_batch(load_fixture(LISTING)["ResourceRecordSets"], load_fixture(BATCH))
        by = self.expect_summary(sets, out)
        self.assertEqual((by["simple"], by["latency"]), (12, 8))

    def test_check_listing_and_change_batch_as_files(self):
        """The same array, each element the path of a file holding the CLI's output
        (DESIGN.md: any AWS-shaped value may be inline or a file path)."""
        rc, out, err = run_check(self.conf(["aws/" + LISTING, "aws/" + BATCH]))
        self.assertEqual(rc, 0, "record_sets [\"aws/%s\", \"aws/%s\"] must load:\n%s%s"
                         % (LISTING, BATCH, out, err))
        sets = apply_batch(load_fixture(LISTING)["ResourceRecordSets"], load_fixture(BATCH))
        self.expect_summary(sets, out)

    def test_change_batch_errors(self):
        """RR-15: CREATE of an existing set and DELETE with values that do not match fail,
        naming the change; the configuration does not load."""
        listing = load_fixture(LISTING)
        www = next(s for s in listing["ResourceRecordSets"] if s["Name"] == "www.policy.test."
                   and s["SetIdentifier"] == "blue")
        stale = dict(www, TTL=61)
        for action, s, words in (("CREATE", www, "already exists"),
                                 ("DELETE", stale, "not found")):
            with self.subTest(action=action):
                batch = {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                    "Name": "ok.policy.test.", "Type": "A", "TTL": 1,
                    "ResourceRecords": [{"Value": "192.0.2.1"}]}},
                    {"Action": action, "ResourceRecordSet": s}]}
                rc, out, err = run_check(self.conf([listing, batch]))
                self.assertEqual(rc, 1, out + err)
                self.assertRegex(err, r"\[1\]\.Changes\[1\]")
                self.assertIn(words, err)

    def test_alias_loop_rejected(self):
        """AL-11: a batch that closes a cycle in the alias graph (through a member of a
        weighted group) does not load."""
        batch = {"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": "www.policy.test.", "Type": "A", "SetIdentifier": "loop", "Weight": 1,
            "AliasTarget": {"HostedZoneId": ZONE_ID, "DNSName": "policy.test.",
                            "EvaluateTargetHealth": True}}}]}
        rc, out, err = run_check(self.conf([load_fixture(LISTING), batch]))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("loop", err)


# ---------------------------------------------------------------------------------------
# 2-6. policy.test served: every policy, fallbacks, ECS, TestDNSAnswer, query log

MAIN_CHECKS = health_ids("list-health-checks.json")
MAIN_FORCE = {h: "healthy" for h in MAIN_CHECKS}
MAIN_FORCE["hc-drill-p"] = "unhealthy"   # the configuration's own force, see test_drill


class PoliciesTest(PolicyCase):

    @classmethod
    def make_server(cls):
        zones = main_zone([load_fixture(LISTING), load_fixture(BATCH)]) + [CHAIN_ZONE]
        srv = PolicyServer(MAIN_FILES, zones, "list-health-checks.json", MAIN_FORCE, main_extra())
        srv.conf["geo"]["latency"] = "aws/latency.json"
        srv.conf["query_log"] = "queries.log"
        srv.write_conf()
        return srv

    # -- record sets, names and the change batch ------------------------------------------

    def test_change_batch_applied(self):
        self.assertAnswer("simple.policy.test", None, ["192.0.2.3"])        # UPSERT
        r = self.dig("simple.policy.test")
        self.assertEqual({rr[1] for rr in r.answer}, {120})
        self.assertAnswer("batch.policy.test", None, ["192.0.2.200"])       # CREATE
        # DELETE: the TXT is gone; the name is now only covered by the wildcard alias (A)
        r = self.dig("gone.policy.test", qtype="TXT")
        self.assertEqual((r.status, r.answer), ("NOERROR", []), r.text)
        self.assertAnswer("gone.policy.test", None, ["192.0.2.10"])
        r = self.dig("simple.policy.test", qtype="TXT")
        self.assertEqual(r.rdatas("ANSWER", "TXT"), ['"hello from route 53"'])

    def test_octal_escape_in_name(self):
        """Route 53 writes \\DDD in octal: odd\\041name is odd!name (decimal 041 would be ')')."""
        r = self.dig("odd!name.policy.test", qtype="TXT")
        self.assertEqual((r.status, r.rdatas("ANSWER", "TXT")), ("NOERROR", ['"octal escape"']),
                         r.text)
        r = self.dig("odd)name.policy.test", qtype="TXT")    # only the wildcard (A) covers it
        self.assertEqual((r.status, r.answer), ("NOERROR", []), r.text)

    # -- aliases (spec 8) -----------------------------------------------------------------

    def test_apex_alias(self):
        """policy.test A -> www (weighted, blue 200 / green 0): owner = QNAME, TTL of the
        record set that supplied the data (AL-4, AL-5)."""
        r = self.assertAnswer("policy.test", None, ["192.0.2.10"], times=20)
        self.assertEqual([(rr[0], rr[1]) for rr in r.answer], [("policy.test.", 60)])
        self.health(unhealthy=["hc-www-blue"])
        self.assertAnswer("policy.test", None, ["192.0.2.20"], times=20,
                          why="(blue unhealthy: weight-0 green, POL-W4 step 2)")
        self.health(unhealthy=["hc-www-green"])
        self.assertAnswer("policy.test", None, ["192.0.2.10"], times=20,
                          why="(both unhealthy: last resort by weight)")

    def test_wildcard_alias_chain(self):
        """\\052.policy.test -> policy.test (apex alias) -> www: a chain of two aliases,
        owner = QNAME; an alias answers only its own type (NEG-6)."""
        for name in ("anything.policy.test", "a.b.c.policy.test"):
            r = self.assertAnswer(name, None, ["192.0.2.10"])
            self.assertEqual({rr[0] for rr in r.answer}, {name + "."})
        self.health(unhealthy=["hc-www-blue"])
        self.assertAnswer("anything.policy.test", None, ["192.0.2.20"])
        self.assertNoAnswer("anything.policy.test", None, "AAAA")

    def test_alias_chain_depth(self):
        """chain.test: h1 -> end, h2 -> h1, ... h17 -> h16. 16 alias hops answer with the
        leaf's data and TTL at QNAME; 17 exceed the depth limit: SERVFAIL (AL-11)."""
        for i in (1, 2, 16):
            r = self.assertAnswer("h%d.chain.test" % i, None, ["192.0.2.42"])
            self.assertEqual([(x[0], x[1]) for x in r.answer], [("h%d.chain.test." % i, 42)])
        r = self.dig("h17.chain.test")
        self.assertEqual((r.status, r.answer), ("SERVFAIL", []), r.text)

    def test_alias_to_simple_record_with_health_check(self):
        """fos: PRIMARY with a check, SECONDARY an ETH alias to `sorry`, a simple record
        with its own check: that check decides whether the alias is healthy (AL-8)."""
        self.assertAnswer("fos.policy.test", None, ["192.0.2.47"])
        self.health(unhealthy=["hc-fos-p"])
        r = self.assertAnswer("fos.policy.test", None, ["192.0.2.99"])
        self.assertEqual({rr[1] for rr in r.answer}, {30}, "alias TTL = the target's")
        self.health(unhealthy=["hc-sorry"])
        self.assertAnswer("fos.policy.test", None, ["192.0.2.47"],
                          why="(secondary alias unhealthy through its target: primary)")
        self.assertAnswer("sorry.policy.test", None, ["192.0.2.99"],
                          why="(simple: its own check never filters it, POL-S4)")

    # -- weighted (4.2, example 7) --------------------------------------------------------

    def test_weighted_zero_weight_standby(self):
        self.assertAnswer("wt.policy.test", None, ["192.0.2.31"], times=200,
                          why="(A w=10 healthy, B w=0: A always)")
        self.health(unhealthy=["hc-wt-a"])
        self.assertAnswer("wt.policy.test", None, ["192.0.2.32"], times=100,
                          why="(A unhealthy, B w=0 healthy: B always)")
        self.health(unhealthy=["hc-wt-b"])
        self.assertAnswer("wt.policy.test", None, ["192.0.2.31"], times=100,
                          why="(both unhealthy: A always, last resort by weight)")
        self.health(healthy=["hc-wt-a"])
        self.assertAnswer("wt.policy.test", None, ["192.0.2.31"], times=50)

    def test_weighted_all_zero_equal_odds(self):
        n = 1000
        self.assertShares(self.sample("wz.policy.test", n),
                          {"192.0.2.33": 0.5, "192.0.2.34": 0.5}, n, "wz (all weights 0)")

    def test_weighted_shares(self):
        """ws: weights 10/20/20 -> 20/40/40 %; c unhealthy -> 1/3, 2/3 and c never (POL-W5)."""
        n = 2000
        self.assertShares(self.sample("ws.policy.test", n),
                          {"192.0.2.41": 0.2, "192.0.2.42": 0.4, "192.0.2.43": 0.4}, n, "ws")
        self.health(unhealthy=["hc-ws-c"])
        self.assertShares(self.sample("ws.policy.test", n),
                          {"192.0.2.41": 1 / 3, "192.0.2.42": 2 / 3, "192.0.2.43": 0}, n,
                          "ws with c unhealthy")
        self.health(unhealthy=["hc-ws-a", "hc-ws-b"])
        self.assertShares(self.sample("ws.policy.test", 1000),
                          {"192.0.2.41": 0.2, "192.0.2.42": 0.4, "192.0.2.43": 0.4}, 1000,
                          "ws all unhealthy (last resort by weight)")

    # -- failover (4.4) -------------------------------------------------------------------

    def test_failover_all_combinations(self):
        for p, s, want in ((True, True, "192.0.2.44"), (True, False, "192.0.2.44"),
                           (False, True, "192.0.2.45"), (False, False, "192.0.2.44")):
            with self.subTest(primary=p, secondary=s):
                self.health(unhealthy=[h for h, ok in (("hc-fo-p", p), ("hc-fo-s", s)) if not ok],
                            healthy=[h for h, ok in (("hc-fo-p", p), ("hc-fo-s", s)) if ok])
                self.assertAnswer("fo.policy.test", None, [want], times=20,
                                  why="(primary %s, secondary %s)" % (p, s))

    def test_failover_primary_only(self):
        self.assertAnswer("fo1.policy.test", None, ["192.0.2.46"])
        self.health(unhealthy=["hc-fo1-p"])
        self.assertAnswer("fo1.policy.test", None, ["192.0.2.46"], times=20,
                          why="(only primary, unhealthy: still the primary, POL-F5)")

    def test_failover_secondary_only(self):
        self.assertAnswer("fo2.policy.test", None, ["192.0.2.50"])
        self.health(unhealthy=["hc-fo2-s"])
        self.assertAnswer("fo2.policy.test", None, ["192.0.2.50"], times=20,
                          why="(only secondary, unhealthy: it is returned, POL-F5)")

    def test_weighted_cname_group(self):
        """A policy group of CNAMEs (spec 9.0 step 7): the chosen member's CNAME, then its
        target's data; the weight-0 member only when the other is unhealthy."""
        for _ in range(10):
            m = self.q("cw.policy.test")
            self.assertEqual([(r.type, dnswire.rdata_text(r.type, r.rdata)) for r in m.answer],
                             [(5, "simple.policy.test."), (1, "192.0.2.3")], m)
        self.health(unhealthy=["hc-cw-a"])
        r = self.dig("cw.policy.test")
        self.assertEqual([(x[0], x[3], x[4]) for x in r.answer],
                         [("cw.policy.test.", "CNAME", "sorry.policy.test."),
                          ("sorry.policy.test.", "A", "192.0.2.99")], r.text)
        r = self.dig("cw.policy.test", qtype="CNAME")
        self.assertEqual(r.rdatas("ANSWER"), ["sorry.policy.test."], r.text)

    def test_drill_config_force_admin_auto(self):
        """health.force pins hc-drill-p unhealthy at start; POST .../force auto hands it back
        to its configuration: Disabled -> healthy; Disabled+Inverted -> unhealthy (OC-22)."""
        self.assertAnswer("drill.policy.test", None, ["192.0.2.49"], why="(config force)")
        code, body = self.srv.admin("GET", "/healthchecks")
        self.assertEqual(code, 200)
        st = {h["Id"]: h for h in body["HealthChecks"]}
        self.assertEqual((st["hc-drill-p"]["Status"], st["hc-drill-p"]["Forced"]),
                         ("Unhealthy", True))
        self.assertEqual((st["hc-geo-va"]["Status"], st["hc-geo-va"]["Forced"]), ("Healthy", True))
        self.srv.force({"hc-drill-p": "auto"})
        self.assertAnswer("drill.policy.test", None, ["192.0.2.48"], why="(auto: Disabled)")
        self.srv.force({"hc-drill-s": "auto", "hc-drill-p": "unhealthy"})
        code, body = self.srv.admin("GET", "/healthchecks")
        st = {h["Id"]: h for h in body["HealthChecks"]}
        self.assertEqual((st["hc-drill-s"]["Status"], st["hc-drill-s"]["Forced"]),
                         ("Unhealthy", False))
        self.assertAnswer("drill.policy.test", None, ["192.0.2.48"],
                          why="(both unhealthy: primary)")
        # the admin endpoint's errors
        code, body = self.srv.admin("POST", "/healthchecks/hc-drill-p/force", "sick")
        self.assertEqual(code, 400, body)
        code, body = self.srv.admin("POST", "/healthchecks/no-such-check/force", "healthy")
        self.assertEqual(code, 404, body)
        code, body = self.srv.admin("GET", "/healthchecks/hc-drill-p/force")
        self.assertEqual(code, 405, body)

    # -- multivalue (4.7) -----------------------------------------------------------------

    MV = ["10.40.0.%d" % i for i in range(1, 11)]
    MV_HC = ["hc-mv-%02d" % i for i in range(1, 11)]

    def mv_sample(self, n, allowed, size):
        seen = collections.Counter()
        for i in range(n):
            m = self.q("mv.policy.test") if i else None
            vals = a_values(m) if m else self.dig("mv.policy.test").rdatas("ANSWER", "A")
            self.assertEqual(len(vals), size, vals)
            self.assertEqual(len(set(vals)), size, "no value twice: %r" % vals)
            self.assertTrue(set(vals) <= set(allowed), "%r not within %r" % (vals, allowed))
            seen.update(vals)
        return seen

    def test_multivalue(self):
        seen = self.mv_sample(40, self.MV, 8)
        self.assertEqual(set(seen), set(self.MV), "all 10 healthy records take turns")
        self.health(unhealthy=self.MV_HC[:1])
        seen = self.mv_sample(30, self.MV[1:], 8)
        self.assertEqual(set(seen), set(self.MV[1:]))
        self.health(unhealthy=self.MV_HC[:2])
        self.mv_sample(10, self.MV[2:], 8)          # exactly the 8 healthy ones
        self.health(unhealthy=self.MV_HC[:7])
        self.mv_sample(20, self.MV[7:], 3)          # the 3 healthy ones, no padding
        self.health(unhealthy=self.MV_HC[:9])
        self.mv_sample(10, self.MV[9:], 1)
        self.health(unhealthy=self.MV_HC)
        seen = self.mv_sample(40, self.MV, 8)       # all unhealthy: up to 8 at random
        self.assertEqual(set(seen), set(self.MV))

    def test_multivalue_unchecked_counts_healthy(self):
        self.assertAnswer("mvmix.policy.test", None, ["10.41.0.1", "10.41.0.2"], times=10)
        self.health(unhealthy=["hc-mvmix"])
        self.assertAnswer("mvmix.policy.test", None, ["10.41.0.2"], times=20,
                          why="(POL-M4: no check = healthy; no padding)")

    # -- latency (4.3) --------------------------------------------------------------------

    def test_latency_nearest(self):
        for subnet, want, why in ((DE, "198.51.100.12", "Frankfurt: eu-central-1"),
                                  (JP, "198.51.100.13", "Tokyo: ap-northeast-1"),
                                  (AU, "198.51.100.14", "Sydney: ap-southeast-2"),
                                  (VA, "198.51.100.11", "Virginia: us-east-1"),
                                  (BR, "198.51.100.11",
                                   "Sao Paulo: us-east-1, sa-east-1 deleted by the batch"),
                                  (FR, "198.51.100.14", "geo.latency rule FR: ap-southeast-2 1 ms"),
                                  (UNMAPPED, "198.51.100.13",
                                   "no location: all equal, lowest Region name (OC-3)")):
            with self.subTest(subnet=subnet):
                r = self.assertAnswer("lat.policy.test", subnet, [want], why=why)
                self.assertEqual(self.dig_scope(r)[2], ipaddress.ip_network(subnet).prefixlen)

    def test_latency_china_gets_cn_north_1(self):
        """POL-L3: a cn-north-1 record answers clients in China even when another Region is
        nearer (Seoul is nearer Shanghai than Beijing); elsewhere it is one Region among others."""
        self.assertAnswer("latcn.policy.test", CN, ["198.51.100.21"], times=3,
                          why="(Shanghai: cn-north-1, POL-L3)")
        self.assertAnswer("latcn.policy.test", JP, ["198.51.100.23"], why="(Tokyo: ap-northeast-1)")
        self.assertAnswer("latcn.policy.test", AU, ["198.51.100.24"],
                          why="(Sydney: ap-southeast-6, Auckland)")

    def test_latency_health(self):
        self.health(unhealthy=["hc-lat-euc1"])
        self.assertAnswer("lat.policy.test", DE, ["198.51.100.11"], times=10,
                          why="(eu-central-1 unhealthy: next lowest, us-east-1)")
        self.health(unhealthy=["hc-lat-use1"])
        self.assertAnswer("lat.policy.test", DE, ["198.51.100.13"], times=10,
                          why="(then ap-northeast-1)")
        self.assertAnswer("lat.policy.test", JP, ["198.51.100.13"])
        self.health(unhealthy=["hc-lat-apne1"])
        self.assertAnswer("lat.policy.test", DE, ["198.51.100.14"], why="(then ap-southeast-2)")
        self.assertAnswer("lat.policy.test", JP, ["198.51.100.14"], why="(Tokyo: next Sydney)")
        self.health(unhealthy=["hc-lat-apse2"])
        self.assertAnswer("lat.policy.test", DE, ["198.51.100.12"], times=10,
                          why="(all unhealthy: the lowest latency)")
        self.assertAnswer("lat.policy.test", JP, ["198.51.100.13"])

    # -- geolocation (4.5) ----------------------------------------------------------------

    GEO = {"va": "10.20.0.1", "us": "10.20.0.2", "na": "10.20.0.3", "de": "10.20.0.4",
           "eu": "10.20.0.5", "default": "10.20.0.9"}

    def test_geolocation_most_specific(self):
        for subnet, rec, why in ((VA, "va", "subdivision"), (US_CA, "us", "no CA record"),
                                 (US_TX6, "us", "IPv6 ECS, Texas"),
                                 (US_NOSTATE, "us", "US without state (POL-G5)"),
                                 (US_DC, "us", "DC"), (CA_QC, "na", "continent"),
                                 (DE, "de", "country over continent"), (FR, "eu", "continent"),
                                 (GB, "eu", "country without coordinates"),
                                 (TR, "eu", "Route 53's continent table, not the DB's AS"),
                                 (CY6, "eu", "Route 53's continent table, not the DB's AS"),
                                 (CONT_ONLY, "eu", "a location with only a continent"),
                                 (JP, "default", "no AS record"), (AU, "default", ""),
                                 (UNMAPPED, "default", "unmappable address")):
            with self.subTest(subnet=subnet):
                self.assertAnswer("geo.policy.test", subnet, [self.GEO[rec]], why=why)
        self.assertAnswer("geo.policy.test", None, [self.GEO["default"]],
                          why="(no ECS: 127.0.0.1 is unmapped)")

    def test_geolocation_health_walks_up_the_chain(self):
        chain = [("hc-geo-va", "us"), ("hc-geo-us", "na"), ("hc-geo-na", "default"),
                 ("hc-geo-def", "va")]
        for hc, then in chain:
            self.health(unhealthy=[hc])
            self.assertAnswer("geo.policy.test", VA, [self.GEO[then]], times=5,
                              why="(after %s went unhealthy)" % hc)
        # all four of the chain unhealthy: the smallest region (POL-G6), never eu/de
        self.assertAnswer("geo.policy.test", VA, [self.GEO["va"]])
        self.assertAnswer("geo.policy.test", CA_QC, [self.GEO["na"]],
                          why="(chain na, default: both unhealthy -> na)")
        self.assertAnswer("geo.policy.test", DE, [self.GEO["de"]])
        self.health(unhealthy=["hc-geo-de"], healthy=["hc-geo-def"])
        self.assertAnswer("geo.policy.test", DE, [self.GEO["eu"]], why="(de unhealthy)")
        self.health(unhealthy=["hc-geo-eu"])
        self.assertAnswer("geo.policy.test", DE, [self.GEO["default"]], why="(de, eu unhealthy)")
        self.health(unhealthy=["hc-geo-def"])
        self.assertAnswer("geo.policy.test", DE, [self.GEO["de"]], why="(all unhealthy)")

    def test_geolocation_no_match_no_default(self):
        """POL-G4: NOERROR, empty answer, SOA (NODATA) - for other places and unmapped IPs."""
        for subnet in (JP, UNMAPPED, AU, CA_QC):
            with self.subTest(subnet=subnet):
                m = self.assertNoAnswer("geonodef.policy.test", subnet)
                self.assertScope(m, subnet, ipaddress.ip_network(subnet).prefixlen)
        self.assertAnswer("geonodef.policy.test", US_TX6, ["10.21.0.2"])
        self.assertAnswer("geonodef.policy.test", FR, ["10.21.0.5"])

    def test_cname_to_group_without_answer_is_nodata(self):
        """NEG-3/NEG-4: a CNAME chain ending at a group with nothing for this client is NODATA:
        the CNAME, and the SOA in authority (as when the target lacks the type)."""
        m = self.q("cgeo.policy.test", JP)
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertTrue(m.aa, m)
        self.assertEqual([r.type for r in m.answer], [5], m)
        self.assertEqual([(r.type, r.ttl) for r in m.authority], [(6, 900)], m)
        m = self.q("cgeo.policy.test", FR)
        self.assertEqual([r.type for r in m.answer], [5, 1], m)
        self.assertEqual(a_values(m), ["10.21.0.5"], m)

    def test_any_at_group_without_answer_is_nodata(self):
        """ANY over UDP where the only group has nothing for this client: NODATA, SOA."""
        self.assertNoAnswer("geonodef.policy.test", JP, qtype="ANY")
        m = self.q("geonodef.policy.test", FR, qtype="ANY")
        self.assertEqual(a_values(m), ["10.21.0.5"], m)

    def test_additional_target_evaluated_for_the_client(self):
        """NEG-9: the A of an MX target that is a geolocation group, chosen for this client."""
        for subnet, want in ((FR, ["10.21.0.5"]), (US_TX6, ["10.21.0.2"]), (JP, [])):
            with self.subTest(subnet=subnet):
                m = self.q("mxgeo.policy.test", subnet, qtype="MX")
                self.assertEqual(len(m.answer), 1, m)
                got = sorted(socket.inet_ntoa(r.rdata) for r in m.additional if r.type == 1 and
                             r.owner.lower() == "geonodef.policy.test.")
                self.assertEqual(got, want, m)

    # -- geoproximity (4.6) ---------------------------------------------------------------

    PROX = {"virginia": (39.04, -77.49), "frankfurt": (50.11, 8.68),
            "johannesburg": (-26.20, 28.04)}

    @staticmethod
    def km(a, b):
        la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
        h = (math.sin((la2 - la1) / 2) ** 2 +
             math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
        return 2 * 6371 * math.asin(math.sqrt(h))

    def nearest(self, subnet, bias):
        def biased(rec):
            d, b = self.km(COORDS[subnet], self.PROX[rec]), bias.get(rec, 0)
            return d * (1 - b / 100) if b >= 0 else d / (1 + b / 100)
        ranked = sorted(self.PROX, key=biased)
        return ranked[0], biased(ranked[0]) / biased(ranked[1])

    def test_geoproximity_bias_moves_the_boundary(self):
        prox = {"virginia": "10.30.0.1", "frankfurt": "10.30.0.2", "johannesburg": "10.30.0.3"}
        proxb = {k: v.replace("10.30", "10.31") for k, v in prox.items()}
        cases = ((VA, "virginia", "virginia"), (IE, "frankfurt", "virginia"),
                 (BR, "johannesburg", "virginia"), (ZA, "johannesburg", "johannesburg"),
                 (DE, "frankfurt", "frankfurt"), (FR, "frankfurt", "frankfurt"),
                 (JP, "frankfurt", "virginia"))
        bias = {"virginia": 10, "frankfurt": -80}
        for subnet, plain, biased in cases:
            with self.subTest(subnet=subnet):
                # the table agrees with haversine + the published bias formula (POL-P2)
                # and no case is a near tie (at least 2 % apart)
                for b, want in (({}, plain), (bias, biased)):
                    rec, ratio = self.nearest(subnet, b)
                    self.assertEqual(rec, want)
                    self.assertLess(ratio, 0.98)
                self.assertAnswer("prox.policy.test", subnet, [prox[plain]], why="(no bias)")
                self.assertAnswer("proxb.policy.test", subnet, [proxb[biased]],
                                  why="(virginia +10, frankfurt -80)")

    def test_geoproximity_health(self):
        self.assertAnswer("prox.policy.test", IE, ["10.30.0.2"])
        self.health(unhealthy=["hc-prox-fra"])
        self.assertAnswer("prox.policy.test", IE, ["10.30.0.1"], why="(frankfurt unhealthy)")
        self.health(unhealthy=["hc-prox-va"])
        self.assertAnswer("prox.policy.test", IE, ["10.30.0.3"], why="(then johannesburg)")
        self.health(unhealthy=["hc-prox-jnb"])
        self.assertAnswer("prox.policy.test", IE, ["10.30.0.2"], why="(all unhealthy: closest)")

    # -- IP-based (4.8) -------------------------------------------------------------------

    IP = {"office": "10.50.0.1", "region": "10.50.0.2", "v6narrow": "10.50.0.3",
          "v6wide": "10.50.0.4", "lo": "10.50.0.5", "default": "10.50.0.9"}

    def test_ip_based_longest_prefix(self):
        for subnet, loc, why in (("192.0.2.0/24", "office", "/24 beats /16"),
                                 ("192.0.2.128/25", "office", "query /25 inside the /24"),
                                 ("192.0.3.0/24", "region", "only the /16"),
                                 ("192.0.2.0/23", "region", "/23 is shorter than office's /24"),
                                 ("192.0.0.0/16", "region", "equal prefix"),
                                 ("192.0.0.0/15", "default", "shorter than every block"),
                                 ("2001:db8:1234::/56", "v6narrow", ""),
                                 ("2001:db8:1200::/40", "v6wide", "shorter than the /48"),
                                 ("2001:db8:5678::/48", "v6wide", ""),
                                 ("2001:db8::/32", "v6wide", "equal prefix"),
                                 ("2001:db8::/31", "default", "shorter than the /32"),
                                 ("203.0.113.0/24", "default", "a location without a record"),
                                 (UNMAPPED, "default", "no block")):
            with self.subTest(subnet=subnet):
                r = self.assertAnswer("ip.policy.test", subnet, [self.IP[loc]], why=why)
                self.assertEqual(self.dig_scope(r)[2], ipaddress.ip_network(subnet).prefixlen)
        self.assertAnswer("ip.policy.test", None, [self.IP["lo"]],
                          why="(no ECS: the source 127.0.0.1 as a /32)")

    def test_ip_based_block_without_record_does_not_hide_a_shorter_one(self):
        """POL-I3: the longest block among the locations this group has records for: the
        'unused' /24 inside region's /16 has no record at ip.policy.test."""
        self.assertAnswer("ip.policy.test", "192.0.4.0/24", [self.IP["region"]], times=3,
                          why="(unused /24 without a record: region /16)")

    def test_ip_based_health(self):
        self.health(unhealthy=["hc-ip-def"])
        self.assertAnswer("ip.policy.test", "192.0.2.0/24", [self.IP["office"]])
        self.assertAnswer("ip.policy.test", UNMAPPED, [self.IP["default"]],
                          why="(only *: unhealthy, last resort)")
        self.health(healthy=["hc-ip-def"], unhealthy=["hc-ip-office"])
        self.assertAnswer("ip.policy.test", "192.0.2.0/24", [self.IP["default"]],
                          why="(office unhealthy: the * record, not region, POL-I5)")
        self.health(unhealthy=["hc-ip-def"])
        self.assertAnswer("ip.policy.test", "192.0.2.0/24", [self.IP["office"]],
                          why="(both unhealthy: the matched record)")
        self.assertAnswer("ip.policy.test", "192.0.3.0/24", [self.IP["region"]])

    # -- ECS (7) --------------------------------------------------------------------------

    def test_ecs_scope(self):
        """Scope = source prefix when a location-dependent group decided (at any depth),
        else 0; the option is echoed only when the query had one (ECS-5)."""
        dependent = ["geo.policy.test", "geoalias.policy.test", "lat.policy.test",
                     "prox.policy.test", "ip.policy.test", "geonodef.policy.test"]
        independent = ["simple.policy.test", "ws.policy.test", "fo.policy.test",
                       "mv.policy.test", "policy.test", "anything.policy.test",
                       "nothere.www.policy.test"]
        for subnet in (FR, "198.51.100.128/25", US_TX6, "10.3.0.0/20"):
            for name in dependent + independent:
                with self.subTest(name=name, subnet=subnet):
                    m = self.q(name, subnet)
                    src = ipaddress.ip_network(subnet).prefixlen
                    self.assertScope(m, subnet, src if name in dependent else 0)
        m = self.q("geo.policy.test")
        self.assertIsNotNone(m.opt)
        self.assertIsNone(ecs_of(m), "no ECS in the query: none in the reply")
        self.assertEqual(self.q("nothere.www.policy.test", FR).rcode_name, "NXDOMAIN")
        r = self.dig("geoalias.policy.test", FR)
        self.assertEqual(self.dig_scope(r), ("198.51.100.0", 24, 24))
        self.assertEqual(r.rdatas("ANSWER", "A"), ["10.20.0.5"])
        r = self.dig("ws.policy.test", FR)
        self.assertEqual(self.dig_scope(r), ("198.51.100.0", 24, 0))

    def test_ecs_over_tcp_any_and_case(self):
        """The same over TCP; ANY evaluates the policy group (one geolocation record, not
        all six, NEG-8); the question's case is kept."""
        m = dnswire.query(self.srv.port, "geo.policy.test", "A", tcp=True, edns=1232,
                          options=ecs_option(FR), timeout=3 * SLOW)
        self.assertEqual(a_values(m), [self.GEO["eu"]], m)
        self.assertScope(m, FR, 24)
        m = dnswire.query(self.srv.port, "geo.policy.test", "ANY", tcp=True, edns=1232,
                          options=ecs_option(DE), timeout=3 * SLOW)
        self.assertEqual(a_values(m), [self.GEO["de"]], m)
        self.assertEqual([r.type for r in m.answer], [1], m)
        self.assertScope(m, DE, 26)
        m = self.q("GeO.PoLiCy.TeSt", VA)
        self.assertEqual(a_values(m), [self.GEO["va"]], m)
        self.assertEqual([r.owner for r in m.answer], ["GeO.PoLiCy.TeSt."], m)
        self.assertScope(m, VA, 25)

    def test_ecs_malformed_formerr(self):
        cases = {
            "address bits beyond the prefix (198.51.101.0/23)":
                ecs_raw(1, 23, 0, bytes([198, 51, 101])),
            "address bits beyond the prefix (IPv6 /47)":
                ecs_raw(2, 47, 0, bytes.fromhex("20010db80001")),
            "family 3": ecs_raw(3, 24, 0, bytes([198, 51, 100])),
            "source prefix 33 for IPv4": ecs_raw(1, 33, 0, bytes([198, 51, 100, 1, 0])),
            "source prefix 129 for IPv6": ecs_raw(2, 129, 0, bytes(17)),
            "scope 24 in a query": ecs_raw(1, 24, 24, bytes([198, 51, 100])),
            "address longer than the prefix needs": ecs_raw(1, 24, 0, bytes([198, 51, 100, 0])),
            "address shorter than the prefix needs": ecs_raw(1, 24, 0, bytes([198, 51])),
            "option shorter than 4 bytes": struct.pack("!HH", 8, 2) + b"\x00\x01",
        }
        for what, opt in cases.items():
            with self.subTest(what):
                m = self.q("geo.policy.test", options=opt)
                self.assertEqual(m.rcode_name, "FORMERR", "%s\n%r" % (what, m))
                self.assertEqual(m.answer, [])
        self.assertEqual(self.q("geo.policy.test", FR).rcode_name, "NOERROR")

    def test_ecs_source_prefix_zero(self):
        """ECS-5.5: source prefix 0 = no client information: the resolver's address is
        used (127.0.0.1 is the `lo` CIDR location; unmapped for geolocation), scope 0."""
        for fam in (1, 2):
            with self.subTest(family=fam):
                m = self.q("ip.policy.test", options=ecs_raw(fam, 0, 0, b""))
                self.assertEqual(a_values(m), [self.IP["lo"]], m)
                self.assertEqual(ecs_of(m), (fam, 0, 0, b""))
                m = self.q("geo.policy.test", options=ecs_raw(fam, 0, 0, b""))
                self.assertEqual(a_values(m), [self.GEO["default"]], m)
                self.assertEqual(ecs_of(m), (fam, 0, 0, b""))
        r = self.dig("ip.policy.test", "0.0.0.0/0")
        self.assertEqual(r.rdatas("ANSWER", "A"), [self.IP["lo"]])
        self.assertEqual(self.dig_scope(r), ("0.0.0.0", 0, 0))

    # -- TestDNSAnswer (issue: explaining answers) ----------------------------------------

    def ask_testdns(self, **params):
        qs = "&".join("%s=%s" % kv for kv in params.items())
        return self.srv.admin("GET", "/testdnsanswer?" + qs)

    def test_testdnsanswer_geolocation_fallback(self):
        self.health(unhealthy=["hc-geo-va"])
        code, body = self.ask_testdns(hostedzoneid=ZONE_ID, recordname="geo.policy.test",
                                  recordtype="A", edns0clientsubnetip="192.0.2.0",
                                  edns0clientsubnetmask="25")
        self.assertEqual(code, 200, body)
        self.assertEqual(list(body)[:6], ["Nameserver", "RecordName", "RecordType", "RecordData",
                                          "ResponseCode", "Protocol"])
        self.assertEqual((body["RecordName"], body["RecordType"], body["RecordData"],
                          body["ResponseCode"], body["Protocol"]),
                         ("geo.policy.test", "A", ["10.20.0.2"], "NOERROR", "UDP"))
        self.assertIsInstance(body["Nameserver"], str)
        ex = body["Explanation"]
        self.assertEqual((ex["Policy"], ex["SetIdentifier"], ex["LocationUsed"]),
                         ("geolocation", "us", True))
        self.assertIn("country=US", ex["Steps"])
        self.assertIn("subdivision=VA", ex["Steps"])
        self.assertRegex(ex["Steps"], r"\bva unhealthy\b")
        self.assertRegex(ex["Steps"], r"\bus healthy\b")
        self.assertRegex(ex["Steps"], r"\bchose us\b")
        # the same through the DNS
        self.assertAnswer("geo.policy.test", VA, [self.GEO["us"]])

    def test_testdnsanswer_more(self):
        # no mask: Route 53's default /24 (ECS-4); /hostedzone/ prefix
        q = ("hostedzoneid=/hostedzone/%s&recordname=geo.policy.test&recordtype=A"
             "&edns0clientsubnetip=198.51.100.7" % ZONE_ID)
        code, body = self.srv.admin("GET", "/testdnsanswer?" + q)
        self.assertEqual((code, body["RecordData"], body["Explanation"]["SetIdentifier"]),
                         (200, ["10.20.0.5"], "eu"), body)
        # the API's own path answers the same in Route 53's XML
        code, text = self.srv.admin("GET", "/2013-04-01/testdnsanswer?" + q)
        self.assertEqual(code, 200, text)
        self.assertIn("<TestDNSAnswerResponse", text)
        self.assertIn("<RecordData><RecordDataEntry>10.20.0.5</RecordDataEntry></RecordData>",
                      text)
        self.assertIn("<ResponseCode>NOERROR</ResponseCode>", text)
        code, body = self.ask_testdns(hostedzoneid=ZONE_ID, recordname="geonodef.policy.test",
                                  recordtype="A", edns0clientsubnetip="203.0.113.64",
                                  edns0clientsubnetmask="26")
        self.assertEqual((code, body["RecordData"], body["ResponseCode"]),
                         (200, [], "NOERROR"), body)
        self.assertIn("none (no answer)", body["Explanation"]["Steps"])
        code, body = self.ask_testdns(hostedzoneid=ZONE_ID, recordname="ws.policy.test",
                                  recordtype="A")
        self.assertEqual((code, body["Explanation"]["Policy"]), (200, "weighted"), body)
        self.assertEqual(len(body["RecordData"]), 1)
        self.assertIn(body["RecordData"][0], ["192.0.2.41", "192.0.2.42", "192.0.2.43"])
        code, body = self.ask_testdns(hostedzoneid=ZONE_ID, recordname="ip.policy.test",
                                  recordtype="A", resolverip="192.0.3.1")
        self.assertEqual((code, body["RecordData"], body["Explanation"]["SetIdentifier"]),
                         (200, [self.IP["region"]], "region"), body)
        code, body = self.ask_testdns(hostedzoneid="ZNOSUCHZONE", recordname="geo.policy.test",
                                  recordtype="A")
        self.assertEqual(code, 404, body)
        code, body = self.ask_testdns(hostedzoneid=ZONE_ID, recordtype="A")
        self.assertEqual(code, 400, body)

    # -- query log ------------------------------------------------------------------------

    def settled_size(self, path):
        """The log's size once the logger thread has written what it holds (lines reach the
        file about a millisecond after the answer): unchanged over 50 ms, bounded."""
        size, deadline = -1, time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline:
            now = os.path.getsize(path)
            if now == size:
                break
            size = now
            time.sleep(0.05)
        return size

    def test_query_log(self):
        path = os.path.join(self.srv.dir, "queries.log")
        start = self.settled_size(path)
        self.assertAnswer("geo.policy.test", FR, [self.GEO["eu"]])
        self.assertAnswer("fo.policy.test", None, ["192.0.2.44"])
        self.health(unhealthy=["hc-lat-euc1"])
        self.assertAnswer("lat.policy.test", US_TX6, ["198.51.100.11"])
        self.assertEqual(self.dig("nothere.www.policy.test").status, "NXDOMAIN")
        self.settled_size(path)
        with open(path) as f:
            f.seek(start)
            lines = f.read().splitlines()
        want = [
            "query client=127.0.0.1 ecs=198.51.100.0/24 name=geo.policy.test. type=1 rcode=0 "
            "policy=geolocation set=eu",
            "query client=127.0.0.1 ecs=- name=fo.policy.test. type=1 rcode=0 policy=failover "
            "set=primary",
            "query client=127.0.0.1 ecs=2001:db8:7::/48 name=lat.policy.test. type=1 rcode=0 "
            "policy=latency set=use1",
            "query client=127.0.0.1 ecs=- name=nothere.www.policy.test. type=1 rcode=3",
        ]
        for w in want:
            self.assertTrue(any(l.startswith(w) for l in lines),
                            "no line starting %r in:\n%s" % (w, "\n".join(lines)))
        self.assertEqual(len(lines), 4, "one line per query:\n" + "\n".join(lines))

    # -- forced status beats the probes (last: the probes need a few seconds) -------------

    def test_zz_forced_status_wins_over_failing_probes(self):
        """hc-lat-euc1 probes 127.0.0.1:9 (closed) every 10 s; forced healthy it stays
        healthy while its checkers report failures."""
        deadline = time.monotonic() + 15 * SLOW
        while True:
            code, body = self.srv.admin("GET", "/healthchecks")
            st = {h["Id"]: h for h in body["HealthChecks"]}["hc-lat-euc1"]
            obs = [o["StatusReport"]["Status"] for o in st["HealthCheckObservations"]]
            if any(not s.startswith("Success") for s in obs):
                break
            self.assertLess(time.monotonic(), deadline, "no probe result within 15 s: %r" % st)
            time.sleep(0.2)
        self.assertEqual((st["Status"], st["Forced"]), ("Healthy", True), st)
        self.assertAnswer("lat.policy.test", DE, ["198.51.100.12"])


# ---------------------------------------------------------------------------------------
# ECS is ignored in private zones (ECS-3, ECS-5.6, POL-G7, POL-L5)

class PrivateZoneTest(PolicyCase):
    """corp.test is private to a VPC in eu-west-1 whose sources are 127.0.0.0/8 (this
    client); pub.test holds the same record sets in public. OC-10: eu-west-1 is EU/IE."""

    @classmethod
    def make_server(cls):
        zones = [{"HostedZone": {"Id": "/hostedzone/Z0CORPPRIVATE", "Name": "corp.test.",
                                 "Config": {"PrivateZone": True}},
                  "VPCs": [{"VPCRegion": "eu-west-1", "VPCId": "vpc-0123456789abcdef0"}],
                  "record_sets": "aws/Z0CORPPRIVATE.json"},
                 {"HostedZone": {"Id": "/hostedzone/Z0PUBTEST0001", "Name": "pub.test.",
                                 "Config": {"PrivateZone": False}},
                  "record_sets": "aws/Z0PUBTEST0001.json"}]
        vpcs = [{"VPCId": "vpc-0123456789abcdef0", "VPCRegion": "eu-west-1",
                 "sources": ["127.0.0.0/8"]}]
        return PolicyServer(["Z0CORPPRIVATE.json", "Z0PUBTEST0001.json",
                             "private-health-checks.json"], zones, "private-health-checks.json",
                            {"hc-corp-ie": "healthy"}, {"vpcs": vpcs})

    def test_private_zone_ignores_ecs(self):
        for subnet in (VA, JP, US_TX6, None):
            with self.subTest(subnet=subnet):
                m = self.q("geo.corp.test", subnet)
                self.assertEqual(a_values(m), ["10.70.0.1"], "VPC Region eu-west-1 = IE\n%r" % m)
                m2 = self.q("lat.corp.test", subnet)
                self.assertEqual(a_values(m2), ["10.70.1.1"], "the VPC's own Region\n%r" % m2)
                for x in (m, m2):
                    ecs = ecs_of(x)
                    self.assertTrue(ecs is None or ecs[2] == 0,
                                    "no ECS option or scope 0 in a private answer\n%r" % x)
        r = self.dig("geo.corp.test", VA)
        self.assertEqual(r.rdatas("ANSWER", "A"), ["10.70.0.1"], r.text)

    def test_public_zone_same_client_uses_ecs(self):
        for subnet, want, lat in ((VA, "10.80.0.2", "10.80.1.1"), (JP, "10.80.0.9", "10.80.1.2"),
                                  (IE, "10.80.0.1", "10.80.1.1")):
            with self.subTest(subnet=subnet):
                m = self.q("geo.pub.test", subnet)
                self.assertEqual(a_values(m), [want], m)
                self.assertScope(m, subnet, ipaddress.ip_network(subnet).prefixlen)
                self.assertEqual(a_values(self.q("lat.pub.test", subnet)), [lat])

    def test_private_unhealthy_falls_back_to_default(self):
        self.health(unhealthy=["hc-corp-ie"])
        self.assertAnswer("geo.corp.test", VA, ["10.70.0.9"], times=5,
                          why="(POL-G7: the matching record unhealthy -> the default, not EU)")


# ---------------------------------------------------------------------------------------
# Spec 5.3 worked examples, zones built literally (example.com, Z3M3LMPEXAMPLE)

EX_CHECKS = health_ids("example-health-checks.json")
EX_FILES = ["Z3M3LMPEXAMPLE.json", "example-health-checks.json", "example2-batch.json",
            "example3-batch.json", "example4-batch.json"]
CLIENT = VA   # lowest latency to us-east-1
US_EAST = ["192.0.2.1", "192.0.2.2"]
AP_SOUTHEAST = ["198.51.100.1", "198.51.100.2"]


class Spec53Case(PolicyCase):
    BATCH = None
    FORCE = {}

    @classmethod
    def make_server(cls):
        docs = [load_fixture("Z3M3LMPEXAMPLE.json")]
        if cls.BATCH:
            docs.append(load_fixture(cls.BATCH))
        force = {h: "healthy" for h in EX_CHECKS}
        force.update(cls.FORCE)
        zones = [{"HostedZone": {"Id": "/hostedzone/Z3M3LMPEXAMPLE", "Name": "example.com.",
                                 "Config": {"PrivateZone": False}}, "record_sets": docs}]
        return PolicyServer(EX_FILES, zones, "example-health-checks.json", force)

    def assertApex(self, want_set, ttl, both=True, n=60):
        """example.com A from the us-east-1 client: every answer one value of want_set,
        with the TTL of the weighted record, ECS scope /25 (latency at the top);
        both=True: both values are seen within n queries."""
        r = self.dig("example.com", CLIENT)
        self.assertEqual(r.status, "NOERROR", r.text)
        self.assertEqual(self.dig_scope(r), ("192.0.2.0", 25, 25))
        seen = collections.Counter()
        for _ in range(n):
            m = self.q("example.com", CLIENT)
            vals = a_values(m)
            self.assertEqual(len(vals), 1, m)
            self.assertIn(vals[0], want_set, m)
            self.assertEqual([(rr.owner, rr.ttl) for rr in m.answer], [("example.com.", ttl)])
            self.assertScope(m, CLIENT, 25)
            seen[vals[0]] += 1
        if both:
            self.assertEqual(set(seen), set(want_set), seen)
        return seen


class Spec53Example1Test(Spec53Case):
    """Base zone (ETH=true on both latency aliases). Examples 1, 5, 6, 8."""
    FORCE = {"HC1": "unhealthy", "HC2": "unhealthy"}

    def test_example1_back_out_of_unhealthy_branch(self):
        self.assertApex(AP_SOUTHEAST, 120)

    def test_all_healthy_lowest_latency(self):
        self.health(healthy=["HC1", "HC2"])
        self.assertApex(US_EAST, 60)
        r = self.dig("example.com", JP)     # Tokyo: ap-southeast-2 is closer
        self.assertIn(r.rdatas("ANSWER", "A")[0], AP_SOUTHEAST, r.text)

    def test_example5_all_unhealthy(self):
        self.health(unhealthy=["HC3", "HC4"])
        self.assertApex(US_EAST, 60)

    def test_example6_failover_over_pools(self):
        n = 800
        for a_ok, b_ok, c_ok, probs in (
                (True, True, True, {"192.0.2.101": .75, "192.0.2.102": .25, "192.0.2.103": 0}),
                (True, True, False, {"192.0.2.101": .75, "192.0.2.102": .25, "192.0.2.103": 0}),
                (False, True, True, {"192.0.2.102": 1}),
                (False, True, False, {"192.0.2.102": 1}),
                (False, False, True, {"192.0.2.103": 1}),
                (False, False, False, {"203.0.113.9": 1})):
            with self.subTest(a=a_ok, b=b_ok, c=c_ok):
                st = dict(zip(("HC-a", "HC-b", "HC-c"), (a_ok, b_ok, c_ok)))
                self.health(unhealthy=[h for h, ok in st.items() if not ok],
                            healthy=[h for h, ok in st.items() if ok])
                r = self.dig("app.example.com")
                self.assertEqual(r.status, "NOERROR", r.text)
                self.assertIn(r.rdatas("ANSWER", "A")[0], probs, r.text)
                k = n if len(probs) > 1 else 40
                self.assertShares(self.sample("app.example.com", k), probs, k,
                                  "app (HC-a %s, HC-b %s, HC-c %s)" % (a_ok, b_ok, c_ok))

    def test_example6_secondary_failing_too(self):
        """Both unhealthy -> primary (POL-F1) -> pool in last resort: a 75 %, b 25 %, c never."""
        self.health(unhealthy=["HC-a", "HC-b", "HC-c", "HC-s"])
        n = 800
        self.assertShares(self.sample("app2.example.com", n),
                          {"192.0.2.101": .75, "192.0.2.102": .25, "192.0.2.103": 0}, n, "app2")
        self.health(healthy=["HC-s"])
        self.assertAnswer("app2.example.com", None, ["203.0.113.10"], times=20)

    def test_example8_target_health_check(self):
        self.health(unhealthy=["HC-db"])
        self.assertAnswer("x.example.com", None, ["192.0.2.6"], times=60,
                          why="(HC-db failing, ETH=true: only the direct record)")
        n = 400
        half = {"192.0.2.5": .5, "192.0.2.6": .5}
        self.assertShares(self.sample("x2.example.com", n), half, n, "x2 (ETH=false)")
        self.health(healthy=["HC-db"])
        self.assertShares(self.sample("x.example.com", n), half, n, "x (HC-db healthy)")


class Spec53Example2Test(Spec53Case):
    BATCH = "example2-batch.json"
    FORCE = {"HC1": "unhealthy"}

    def test_example2_record_without_check_keeps_branch(self):
        self.assertApex(["192.0.2.2"], 60)


class Spec53Example3Test(Spec53Case):
    BATCH = "example3-batch.json"
    FORCE = {"HC1": "unhealthy", "HC2": "unhealthy"}

    def test_example3_eth_false_stays_in_branch(self):
        self.assertApex(US_EAST, 60)


class Spec53Example4Test(Spec53Case):
    BATCH = "example4-batch.json"
    FORCE = {"HC0": "unhealthy"}

    def test_example4_alias_own_check(self):
        self.assertApex(AP_SOUTHEAST, 120)
        self.health(healthy=["HC0"])
        self.assertApex(US_EAST, 60)


if __name__ == "__main__":
    unittest.main()
