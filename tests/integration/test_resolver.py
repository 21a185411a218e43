# SPDX-License-Identifier: MIT
"""Unbound in front of r53d, one resolver per VPC (issue 12, contrib/resolver/).

r53d serves three VPCs (sources 127.0.0.11, .12, .13: Dev, Staging, Production), a public
zone shop.test (a geolocation record set and a failover record set whose PRIMARY has an
HTTP health check against an endpoint this module starts), a private internal.test per VPC
(db.internal.test: a different address in each), a Production-only private twin of
shop.test, and a Dev-only private devtools.test. contrib/resolver/resolvers.py writes the
Unbound configurations from that r53d configuration and starts one `unbound -d` per VPC on
127.0.1.11/.12/.13 (a free port); every check below asks THROUGH Unbound with dig:

  ResolverViewTest      split view per VPC for every private name, equal to what r53d itself
                        answers that VPC's source (dig -b); nothing private from the public
                        side (r53d without -b) and no private answer leaking between VPCs;
                        zones of other VPCs and names outside every hosted zone REFUSED (no
                        upstream); ECS-driven geolocation through the subnet cache (dig
                        +subnet= France vs US); a failover moving through the resolver within
                        RequestInterval x FailureThreshold + the record's TTL (and back).
  ResolverConfTest      `resolvers.py conf`: the stub zones, ECS zones and the refusal per VPC,
                        --zone, and that unbound-checkconf accepts every file.
  ResolverUpstreamTest  --upstream: names outside the hosted zones come from the upstream (a
                        second r53d serving outside.example), the hosted zones still from r53d;
                        `stop` ends exactly the recorded PIDs.

Skipped (with the reason) when unbound is not installed (R53D_UNBOUND names another
binary); contrib/deps.sh installs it. The
geolocation answers need the fixture MMDB (R53D_GEO_MMDB, else the r53d build directory's
tests/fixtures/geo, else generated here with tests/fixtures/geo/make-mmdb.pl). Loopback
only; every wait bounded; the processes are stopped by the PIDs recorded for them.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from harness import SLOW, R53d

TOP = os.path.normpath(os.path.join(harness.HERE, "..", ".."))
RESOLVERS = os.path.join(TOP, "contrib", "resolver", "resolvers.py")
UNBOUND = os.environ.get("R53D_UNBOUND") or shutil.which("unbound") or "/usr/sbin/unbound"
CHECKCONF = os.path.join(os.path.dirname(UNBOUND), "unbound-checkconf")

VPCS = [("vpc-dev", "us-east-1", "127.0.0.11"),
        ("vpc-staging", "us-west-2", "127.0.0.12"),
        ("vpc-prod", "eu-west-1", "127.0.0.13")]
RESOLVER_OF = {"vpc-dev": "127.0.1.11", "vpc-staging": "127.0.1.12", "vpc-prod": "127.0.1.13"}
DB = {"vpc-dev": "10.0.1.5", "vpc-staging": "10.0.2.5", "vpc-prod": "10.0.3.5"}
PROD_WWW, PROD_ADMIN, DEVTOOLS = "10.0.3.80", "10.0.3.81", "10.0.1.77"
PUBLIC_WWW = "192.0.2.80"
GEO = {"FR": "203.0.113.33", "US": "203.0.113.1", "*": "203.0.113.99"}
FR, US = "198.51.100.0/24", "192.0.2.0/24"     # tests/fixtures/geo/city.txt
PRIMARY, SECONDARY = "192.0.2.30", "192.0.2.31"
PRIVATE_VALUES = set(DB.values()) | {PROD_WWW, PROD_ADMIN, DEVTOOLS}

# The failover bound: RequestInterval 10 x FailureThreshold 1 + the record's TTL 5, plus
# slack for the last probe's own time and the polling (stretched in sanitizer builds).
INTERVAL, THRESHOLD, TTL = 10, 1, 5
SLACK = 3.0 * SLOW


def note(text):
    print("        " + text, flush=True)


def need_unbound():
    if not os.access(UNBOUND, os.X_OK):
        raise unittest.SkipTest("unbound is not installed (%s): the resolver tests need the "
                                "Debian package unbound (contrib/deps.sh installs it)" % UNBOUND)


def mmdb_path(workdir):
    """The geo fixture MMDB (see the module docstring)."""
    p = os.environ.get("R53D_GEO_MMDB", "")
    if p and os.path.isfile(p):
        return p
    if harness.R53D:
        p = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(harness.R53D)), "..",
                                          "tests", "fixtures", "geo", "geolite2-city.mmdb"))
        if os.path.isfile(p):
            return p
    src = os.path.join(harness.FIXTURES, "geo")
    out = os.path.join(workdir, "geo-fixture")
    os.makedirs(out, exist_ok=True)
    r = subprocess.run(["perl", os.path.join(src, "make-mmdb.pl"), os.path.join(src, "city.txt"),
                        out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    p = os.path.join(out, "geolite2-city.mmdb")
    if r.returncode != 0 or not os.path.isfile(p):
        raise RuntimeError("cannot make the geo fixture MMDB (libmaxmind-db-writer-perl?):\n" +
                           r.stdout.decode(errors="replace"))
    return p


def free_port_on(addrs):
    """A port free for UDP and TCP on every address (bounded tries)."""
    for _ in range(40):
        port = harness.free_port()
        socks = []
        try:
            for a in addrs:
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind((a, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no port free on %s" % ", ".join(addrs))


# the script's own interpreter (its #! line), where there is one
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def run_resolvers(*args, timeout=60):
    p = subprocess.run([PYTHON, RESOLVERS] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout * SLOW)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def recorded_pids(rundir):
    out = {}
    for f in os.listdir(rundir):
        if f.endswith(".pid") and not f.endswith(".unbound.pid"):
            with open(os.path.join(rundir, f)) as fh:
                out[f[:-4]] = int(fh.read().split()[0])
    return out


def running(pid):
    """Alive and not a zombie (a stopped unbound is no child of ours: init reaps it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def soa_ns(zone):
    return [{"Name": zone, "Type": "SOA", "TTL": 5, "ResourceRecords": [
                {"Value": "ns1.r53d.test. hostmaster.%s 1 7200 900 1209600 5" % zone}]},
            {"Name": zone, "Type": "NS", "TTL": 60,
             "ResourceRecords": [{"Value": "ns1.r53d.test."}]}]


def a_set(name, value, ttl=TTL, **kw):
    d = {"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": value}]}
    d.update(kw)
    return d


def listing(zone, sets):
    return json.dumps({"ResourceRecordSets": soa_ns(zone) + sets}, indent=1)


# ---------------------------------------------------------------------------------------
# The health check's endpoint: HTTP 200 on 127.0.0.1, killable and restartable on its port

class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Srv(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class Endpoint:
    def __init__(self):
        self.port = 0
        self.srv = None
        self.thread = None

    def start(self):
        err = None
        for _ in range(40):
            try:
                self.srv = _Srv(("127.0.0.1", self.port), _Ok)
                break
            except OSError as e:
                err = e
                time.sleep(0.05)
        else:
            raise RuntimeError("endpoint: cannot bind port %d: %s" % (self.port, err))
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def kill(self):
        if self.srv is not None:
            self.srv.shutdown()
            self.srv.server_close()
            self.thread.join(5)
            self.srv = None
        return time.monotonic()


# ---------------------------------------------------------------------------------------
# The r53d configuration of this module

def r53d_server(endpoint_port):
    mmdb_dir = tempfile.mkdtemp(prefix="r53d-resolver-geo-")
    try:
        mmdb = mmdb_path(mmdb_dir)
        vpcs = [{"VPCId": v, "VPCRegion": r, "sources": [s + "/32"]} for v, r, s in VPCS]
        files = {
            "shop.json": listing("shop.test.", [
                a_set("www.shop.test.", PUBLIC_WWW),
                a_set("geo.shop.test.", GEO["FR"], SetIdentifier="fr",
                      GeoLocation={"CountryCode": "FR"}),
                a_set("geo.shop.test.", GEO["US"], SetIdentifier="us",
                      GeoLocation={"CountryCode": "US"}),
                a_set("geo.shop.test.", GEO["*"], SetIdentifier="default",
                      GeoLocation={"CountryCode": "*"}),
                a_set("checkout.shop.test.", PRIMARY, SetIdentifier="primary",
                      Failover="PRIMARY", HealthCheckId="hc-checkout"),
                a_set("checkout.shop.test.", SECONDARY, SetIdentifier="secondary",
                      Failover="SECONDARY")]),
            "shop-prod.json": listing("shop.test.", [
                a_set("www.shop.test.", PROD_WWW), a_set("admin.shop.test.", PROD_ADMIN)]),
            "devtools.json": listing("devtools.test.", [a_set("ci.devtools.test.", DEVTOOLS)]),
            # the Staging zone comes as a file holding get-hosted-zone output
            "get-hosted-zone-ZINTSTAGING.json": json.dumps({
                "HostedZone": {"Id": "/hostedzone/ZINTSTAGING", "Name": "internal.test.",
                               "CallerReference": "int-staging",
                               "Config": {"PrivateZone": True}},
                "VPCs": [{"VPCRegion": "us-west-2", "VPCId": "vpc-staging"}]}),
        }
        for vid in DB:
            files["int-%s.json" % vid] = listing("internal.test.",
                                                 [a_set("db.internal.test.", DB[vid])])

        def private(zid, name, vid, rs):
            return {"HostedZone": {"Id": "/hostedzone/" + zid, "Name": name,
                                   "Config": {"PrivateZone": True}},
                    "VPCs": [{"VPCRegion": dict((v, r) for v, r, _ in VPCS)[vid],
                              "VPCId": vid}],
                    "record_sets": rs}
        zones = [
            {"HostedZone": {"Id": "/hostedzone/ZSHOP", "Name": "shop.test.",
                            "Config": {"PrivateZone": False}}, "record_sets": "shop.json"},
            private("ZINTDEV", "internal.test.", "vpc-dev", "int-vpc-dev.json"),
            {"HostedZone": "get-hosted-zone-ZINTSTAGING.json",
             "record_sets": "int-vpc-staging.json"},
            private("ZINTPROD", "internal.test.", "vpc-prod", "int-vpc-prod.json"),
            private("ZSHOPPROD", "shop.test.", "vpc-prod", "shop-prod.json"),
            private("ZDEVTOOLS", "devtools.test.", "vpc-dev", "devtools.json"),
        ]
        checks = {"HealthChecks": [{
            "Id": "hc-checkout", "CallerReference": "hc-checkout", "HealthCheckVersion": 1,
            "HealthCheckConfig": {"Type": "HTTP", "IPAddress": "127.0.0.1",
                                  "Port": endpoint_port, "ResourcePath": "/",
                                  "RequestInterval": INTERVAL,
                                  "FailureThreshold": THRESHOLD}}]}
        srv = R53d(zones=[], zone_texts=files, hosted_zones=zones, vpcs=vpcs,
                   health_checks=checks, health={"threads": 1, "checkers": 3},
                   geo={"database": "geo/city.mmdb"}, query_log="query.log")
        os.makedirs(os.path.join(srv.dir, "geo"))
        shutil.copy(mmdb, os.path.join(srv.dir, "geo", "city.mmdb"))
    finally:
        shutil.rmtree(mmdb_dir, ignore_errors=True)
    srv.zones = [("shop.test.", None)]   # the start-up probe's name
    return srv


class ResolverCase(unittest.TestCase):
    """r53d and the resolvers of every VPC, started once for the class."""

    srv = None
    endpoint = None
    rundir = None
    ARGS = []

    @classmethod
    def setUpClass(cls):
        need_unbound()
        if not harness.R53D:
            raise unittest.SkipTest("no r53d binary given (--r53d)")
        cls.endpoint = Endpoint().start()
        try:
            cls.srv = r53d_server(cls.endpoint.port).start()
            cls.rundir = os.path.join(cls.srv.dir, "resolvers")
            cls.port = free_port_on(sorted(RESOLVER_OF.values()))
            rc, out, err = run_resolvers("start", "--config", cls.srv.conf_path,
                                         "--dir", cls.rundir, "--port", str(cls.port),
                                         "--unbound", UNBOUND, *cls.ARGS)
            cls.start_out = out
            if rc != 0:
                raise RuntimeError("resolvers.py start failed (%d):\n%s%s" % (rc, out, err))
        except BaseException:
            cls.teardown_all()
            raise

    @classmethod
    def teardown_all(cls):
        """Stop the resolvers (by their recorded PIDs), r53d and the endpoint. -> r53d's
        (alive before the stop, exit status, log)."""
        state = (None, None, "")
        try:
            if cls.rundir and os.path.isdir(cls.rundir):
                pids = recorded_pids(cls.rundir)
                run_resolvers("stop", "--dir", cls.rundir)
                for vid, pid in pids.items():   # what stop left behind: our PIDs only
                    if running(pid):
                        os.kill(pid, 9)
        finally:
            if cls.srv is not None:
                alive = cls.srv.alive()
                rc = cls.srv.stop()
                state = (alive, rc, cls.srv.log())
                cls.srv.cleanup()
            if cls.endpoint is not None:
                cls.endpoint.kill()
        return state

    @classmethod
    def tearDownClass(cls):
        alive, rc, log = cls.teardown_all()
        if not alive or rc != 0:
            raise AssertionError("r53d died or did not exit 0 on SIGTERM (alive %s, exit %s):"
                                 "\n%s" % (alive, rc, log))

    def via(self, vpc, qname, qtype="A", *opts, timeout=2):
        """dig through the VPC's resolver (recursion desired)."""
        return harness.dig_at(RESOLVER_OF[vpc], self.port, qname, qtype, "+rec", *opts,
                              timeout=timeout)

    def direct(self, qname, qtype="A", src=None, *opts):
        """dig r53d itself, from a VPC source address (or 127.0.0.1)."""
        extra = ["-b", src] if src else []
        return harness.dig_at("127.0.0.1", self.srv.port, qname, qtype, *(extra + list(opts)))

    def assertA(self, r, want, status="NOERROR", why=""):
        self.assertEqual((r.status, r.rdatas("ANSWER", "A")), (status, sorted(want)),
                         "%s\n%s" % (why, r.text))

    def query_log(self):
        """The query log's lines once the logger thread has written what it holds (lines
        reach the file about a millisecond after the answer): unchanged over 50 ms."""
        lines, deadline = None, time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with open(os.path.join(self.srv.dir, "query.log")) as f:
                    now = f.read().splitlines()
            except OSError:
                now = []
            if now == lines:
                break
            lines = now
            time.sleep(0.05)
        return lines


class ResolverViewTest(ResolverCase):

    def test_0_start_prints_one_line_per_vpc(self):
        lines = self.start_out.splitlines()
        want = ["%s (%s): resolver %s:%d, asks r53d at 127.0.0.1:%d from %s" %
                (v, r, RESOLVER_OF[v], self.port, self.srv.port, s) for v, r, s in VPCS]
        self.assertEqual(lines, want)

    def test_split_view_per_vpc(self):
        """Every private name through each VPC's resolver: that VPC's answer, the same as
        r53d gives the VPC's source address."""
        want = {
            "vpc-dev": {"db.internal.test": ([DB["vpc-dev"]], "NOERROR"),
                        "www.shop.test": ([PUBLIC_WWW], "NOERROR"),
                        "admin.shop.test": ([], "NXDOMAIN"),
                        "ci.devtools.test": ([DEVTOOLS], "NOERROR")},
            "vpc-staging": {"db.internal.test": ([DB["vpc-staging"]], "NOERROR"),
                            "www.shop.test": ([PUBLIC_WWW], "NOERROR"),
                            "admin.shop.test": ([], "NXDOMAIN"),
                            "ci.devtools.test": ([], "REFUSED")},
            "vpc-prod": {"db.internal.test": ([DB["vpc-prod"]], "NOERROR"),
                         "www.shop.test": ([PROD_WWW], "NOERROR"),
                         "admin.shop.test": ([PROD_ADMIN], "NOERROR"),
                         "ci.devtools.test": ([], "REFUSED")},
        }
        src = {v: s for v, _, s in VPCS}
        for vpc, names in want.items():
            for name, (values, status) in names.items():
                with self.subTest(vpc=vpc, name=name):
                    r = self.via(vpc, name)
                    self.assertA(r, values, status, "through the %s resolver" % vpc)
                    d = self.direct(name, "A", src[vpc])
                    self.assertA(d, values, status, "r53d itself from %s" % src[vpc])

    def test_nothing_private_from_the_public_side(self):
        """r53d to a client outside every VPC: no private zone, only public data."""
        for name, values, status in (("db.internal.test", [], "REFUSED"),
                                     ("ci.devtools.test", [], "REFUSED"),
                                     ("www.shop.test", [PUBLIC_WWW], "NOERROR"),
                                     ("admin.shop.test", [], "NXDOMAIN")):
            with self.subTest(name=name):
                self.assertA(self.direct(name), values, status, "r53d from 127.0.0.1")

    def test_no_private_answer_leaks_between_vpcs(self):
        """Each private value is seen through its own VPC's resolver only (also after the
        other resolvers have cached their own answers)."""
        names = ["db.internal.test", "www.shop.test", "admin.shop.test", "ci.devtools.test"]
        own = {"vpc-dev": {DB["vpc-dev"], DEVTOOLS}, "vpc-staging": {DB["vpc-staging"]},
               "vpc-prod": {DB["vpc-prod"], PROD_WWW, PROD_ADMIN}}
        for _ in range(2):
            for vpc in RESOLVER_OF:
                seen = set()
                for name in names:
                    r = self.via(vpc, name)
                    self.assertIn(r.status, ("NOERROR", "NXDOMAIN", "REFUSED"), r.text)
                    seen |= set(r.rdatas("ANSWER", "A"))
                self.assertEqual(seen & PRIVATE_VALUES, own[vpc], vpc)

    def test_outside_the_hosted_zones_refused(self):
        """No upstream: every other name is refused by Unbound itself (nothing reaches r53d)."""
        before = len(self.query_log())
        for vpc in RESOLVER_OF:
            for name in ("www.example.org", "example.com", "internal.test.example.net"):
                with self.subTest(vpc=vpc, name=name):
                    r = self.via(vpc, name)
                    self.assertEqual((r.status, r.answer), ("REFUSED", []), r.text)
        for line in self.query_log()[before:]:
            self.assertNotIn("example", line)

    def test_ecs_geolocation_through_the_subnet_cache(self):
        """A client's ECS option goes through Unbound to r53d: France vs US, echoed with the
        scope; repeated queries come from Unbound's subnet cache; without ECS the resolver
        sends its client's own /24 (loopback: not in the database: the default record)."""
        for vpc in ("vpc-dev", "vpc-staging"):
            src = RESOLVER_OF[vpc].replace("127.0.1.", "127.0.0.")
            t0 = time.monotonic()
            n0 = len(self.query_log())
            for subnet, want in ((FR, GEO["FR"]), (US, GEO["US"]), (FR, GEO["FR"]),
                                 (US, GEO["US"])):
                with self.subTest(vpc=vpc, subnet=subnet):
                    r = self.via(vpc, "geo.shop.test", "A", "+subnet=" + subnet)
                    self.assertA(r, [want], why="dig +subnet=%s through %s" % (subnet, vpc))
                    self.assertIn("; CLIENT-SUBNET: %s/24" % subnet, r.text,
                                  "the option comes back with scope /24")
            lines = [x for x in self.query_log()[n0:] if "geo.shop.test" in x]
            if time.monotonic() - t0 < TTL - 1:   # the cached answers have not expired yet
                self.assertEqual(len(lines), 2, "one r53d query per subnet, the rest from "
                                 "Unbound's subnet cache:\n" + "\n".join(lines))
            self.assertTrue(any(("client=%s ecs=%s " % (src, FR)) in x for x in lines),
                            "r53d saw the VPC source with the client's subnet:\n" +
                            "\n".join(lines))
            r = self.via(vpc, "geo.shop.test")
            self.assertA(r, [GEO["*"]], why="no ECS from the client: its own /24 is sent")
        # Production's private twin of shop.test has no geo name: the twin answers
        r = self.via("vpc-prod", "geo.shop.test", "A", "+subnet=" + FR)
        self.assertA(r, [], "NXDOMAIN", "Production sees its private shop.test only")

    def test_z_failover_moves_through_the_resolver(self):
        """Kill the PRIMARY's endpoint: the Dev and Staging resolvers answer SECONDARY
        within RequestInterval x FailureThreshold + TTL; bring it back: PRIMARY again
        within the same bound."""
        bound = INTERVAL * THRESHOLD + TTL + SLACK
        for vpc in ("vpc-dev", "vpc-staging"):
            self.assertA(self.via(vpc, "checkout.shop.test"), [PRIMARY])
        for phase, want in (("endpoint killed", SECONDARY), ("endpoint back", PRIMARY)):
            if want == SECONDARY:
                t0 = self.endpoint.kill()
            else:
                t0 = time.monotonic()
                self.endpoint.start()
            moved = {}
            deadline = t0 + bound + 5
            while len(moved) < 2 and time.monotonic() < deadline:
                for vpc in ("vpc-dev", "vpc-staging"):
                    if vpc in moved:
                        continue
                    r = self.via(vpc, "checkout.shop.test", timeout=1)
                    vals = r.rdatas("ANSWER", "A")
                    if vals == [want]:
                        moved[vpc] = time.monotonic() - t0
                    else:
                        self.assertIn(vals, ([PRIMARY], [SECONDARY]), r.text)
                time.sleep(0.25)
            note("%s: %s (bound %.0f s)" % (phase, ", ".join(
                "%s answered %s after %.1f s" % (v, want, t) for v, t in sorted(moved.items())),
                bound))
            for vpc in ("vpc-dev", "vpc-staging"):
                self.assertIn(vpc, moved, "%s: %s: never answered %s within %.0f s" %
                              (vpc, phase, want, bound + 5))
                self.assertLessEqual(moved[vpc], bound, "%s: %s" % (vpc, phase))


class ResolverConfTest(unittest.TestCase):
    """`resolvers.py conf` on the same configuration: no process started."""

    @classmethod
    def setUpClass(cls):
        need_unbound()
        if not harness.R53D:
            raise unittest.SkipTest("no r53d binary given (--r53d)")
        cls.srv = r53d_server(9)
        cls.rundir = os.path.join(cls.srv.dir, "conf")

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def conf(self, *args):
        rc, out, err = run_resolvers("conf", "--config", self.srv.conf_path, "--dir",
                                     self.rundir, *args)
        self.assertEqual(rc, 0, out + err)
        files = {}
        for vid, _, _ in VPCS:
            p = os.path.join(self.rundir, vid + ".conf")
            if os.path.exists(p):
                with open(p) as f:
                    files[vid] = f.read()
        return out, files

    @staticmethod
    def values(text, key):
        out = []
        for line in text.splitlines():
            k, _, v = line.strip().partition(": ")
            if k == key:
                out.append(v.strip('"'))
        return out

    def test_zones_ecs_and_refusal_per_vpc(self):
        out, files = self.conf("--port", "5300", "--listen-base", "127.0.9")
        self.assertIn("vpc-prod (eu-west-1): resolver 127.0.9.13:5300, asks r53d at "
                      "127.0.0.1:%d from 127.0.0.13" % self.srv.port, out)
        want_stubs = {"vpc-dev": ["devtools.test.", "internal.test.", "shop.test."],
                      "vpc-staging": ["internal.test.", "shop.test."],
                      "vpc-prod": ["internal.test.", "shop.test."]}
        want_ecs = {"vpc-dev": ["shop.test."], "vpc-staging": ["shop.test."], "vpc-prod": []}
        for vid, text in files.items():
            with self.subTest(vpc=vid):
                self.assertEqual(sorted(self.values(text, "name")), want_stubs[vid])
                self.assertEqual(self.values(text, "stub-addr"),
                                 ["127.0.0.1@%d" % self.srv.port] * len(want_stubs[vid]))
                self.assertEqual(self.values(text, "client-subnet-zone"), want_ecs[vid])
                self.assertEqual(self.values(text, "outgoing-interface"),
                                 [RESOLVER_OF[vid].replace("127.0.1.", "127.0.0.")])
                self.assertEqual(self.values(text, "interface"),
                                 [RESOLVER_OF[vid].replace("127.0.1.", "127.0.9.")])
                self.assertEqual(self.values(text, "module-config"), ["subnetcache iterator"])
                self.assertIn('local-zone: "." refuse', text)
                # Unbound's default test. zone would answer NXDOMAIN for the other VPCs'
                # names under test.: refused instead, as r53d refuses them
                self.assertIn('local-zone: "test." refuse', text)
                for z in want_stubs[vid]:
                    self.assertIn('local-zone: "%s" transparent' % z, text)
                self.assertNotIn("forward-zone", text)
                if os.access(CHECKCONF, os.X_OK):
                    p = subprocess.run([CHECKCONF, os.path.join(self.rundir, vid + ".conf")],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       timeout=30)
                    self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace"))

    def test_zone_option_vpc_option_and_upstream(self):
        out, files = self.conf("--vpc", "vpc-staging", "--zone", "Made.By.API",
                               "--upstream", "127.0.0.53")
        self.assertEqual(len(out.splitlines()), 2, out)   # the line and the file's path
        text = files["vpc-staging"]
        self.assertIn("made.by.api.", self.values(text, "name"))
        self.assertIn("made.by.api.", self.values(text, "client-subnet-zone"))
        self.assertNotIn('local-zone: "." refuse', text)
        self.assertNotIn('local-zone: "test." refuse', text)
        self.assertEqual(self.values(text, "forward-addr"), ["127.0.0.53"])

    def test_errors(self):
        for args, words in ((["--vpc", "vpc-nope"], "no VPC vpc-nope"),
                            (["--listen-base", "300.1.1."], "--listen-base")):
            with self.subTest(args=args):
                rc, out, err = run_resolvers("conf", "--config", self.srv.conf_path,
                                             "--dir", self.rundir, *args)
                self.assertEqual(rc, 1, out + err)
                self.assertIn(words, err)
        rc, _, err = run_resolvers("conf", "--config", self.srv.conf_path, "--dir",
                                   self.rundir, "--upstream", "resolver.example")
        self.assertEqual(rc, 2, err)


class ResolverUpstreamTest(ResolverCase):
    """Dev's resolver only, with an upstream for the names outside the hosted zones."""

    upstream = None

    @classmethod
    def setUpClass(cls):
        need_unbound()
        if not harness.R53D:
            raise unittest.SkipTest("no r53d binary given (--r53d)")
        zone = ("$ORIGIN outside.example.\n$TTL 60\n"
                "@ SOA ns1 hostmaster 1 7200 900 1209600 60\n@ NS ns1\n"
                "ns1 A 192.0.2.53\nwww A 198.51.100.7\n")
        cls.upstream = R53d(zones=[("outside.example.", "outside.example.zone")],
                            zone_texts={"outside.example.zone": zone})
        try:
            cls.upstream.start()
        except BaseException:
            cls.upstream.cleanup()
            raise
        cls.ARGS = ["--vpc", "vpc-dev", "--listen-base", "127.0.1.",
                    "--upstream", "127.0.0.1@%d" % cls.upstream.port]
        try:
            super().setUpClass()
        except BaseException:
            cls.upstream.stop()
            cls.upstream.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.upstream.stop()
            cls.upstream.cleanup()

    def test_upstream_and_hosted_zones(self):
        self.assertEqual(len(self.start_out.splitlines()), 1, self.start_out)
        self.assertA(self.via("vpc-dev", "www.outside.example"), ["198.51.100.7"],
                     why="from the upstream")
        self.assertA(self.via("vpc-dev", "db.internal.test"), [DB["vpc-dev"]],
                     why="the hosted zones still from r53d, with Dev's view")
        self.assertA(self.via("vpc-dev", "geo.shop.test", "A", "+subnet=" + FR), [GEO["FR"]])

    def test_z_stop_ends_exactly_the_recorded_pids(self):
        pids = recorded_pids(self.rundir)
        self.assertEqual(list(pids), ["vpc-dev"])
        self.assertTrue(running(pids["vpc-dev"]))
        rc, out, err = run_resolvers("stop", "--dir", self.rundir)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.strip(), "vpc-dev: pid %d stopped" % pids["vpc-dev"])
        self.assertFalse(running(pids["vpc-dev"]))
        self.assertEqual(recorded_pids(self.rundir), {})
        r = self.via("vpc-dev", "db.internal.test", timeout=1)
        self.assertIsNone(r.status, "nothing answers on the resolver's address any more")
        self.assertTrue(self.srv.alive(), "r53d untouched")
        self.assertTrue(self.upstream.alive(), "the upstream untouched")


if __name__ == "__main__":
    unittest.main()
