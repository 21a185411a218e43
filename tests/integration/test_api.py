# SPDX-License-Identifier: MIT
"""The Route 53 REST-XML API end to end, driven by the real AWS CLI v2 (/usr/bin/aws), with
every DNS answer the API is supposed to change checked with dig.

Contract: spec/ROUTE53-API.md (operations, errors, pagination, the failover drill of
section 6) and the lead's decisions (admin listener serves /2013-04-01/, default name
servers ns-1..ns-4.r53d.test., SOA "ns-1.r53d.test. awsdns-hostmaster.amazon.com. 1 7200 900
1209600 86400" TTL 900, NS TTL 172800, ids /hostedzone/Z + 20 and /change/C + 20 upper-case
alnum, health check ids lower-case UUIDs, errors as ErrorResponse, a dangling HealthCheckId
is healthy, GetChange INSYNC once every DNS worker serves the change).

Classes (one r53d each, with no hosted zones in its configuration; zones come from the API):

  ApiDrillTest        the 15-command failover drill of ROUTE53-API.md 6 on loopback: the
                      primary is an HTTP endpoint this module starts (200 on /healthz); kill
                      it -> dig moves to the secondary within RequestInterval x
                      FailureThreshold + 15 s; restart -> back; update-health-check
                      --inverted / --no-inverted; test-dns-answer agrees with dig at every
                      step; clean-up (exact DELETE, delete-health-check, delete-hosted-zone,
                      then REFUSED).
  ApiOperationsTest   every hosted zone, record set (every routing policy, aliases, \\052
                      wildcards), VPC, CIDR collection, tag, limit, count, DNSSEC and
                      test-dns-answer operation once, with the DNS answers (private zones seen
                      only from the VPC's source address).
  ApiErrorsTest       every error code r53d can produce (InvalidChangeBatch with the exact
                      texts of ROUTE53-API.md 4.2, several in one bracketed message),
                      MalformedInput and InvalidAction with raw HTTP, NotImplemented.
  ApiPaginationTest   205 record sets listed with page sizes 1 (first 60, NextToken
                      continuation), 2 and 100, server-side Next* fields; hosted zones by Id
                      and by name, health checks, with page sizes 1 and 2 across 5 objects.
  ApiBatchTest        atomicity (a bad 4th change of 5 leaves list, DNS and SOA serial
                      unchanged), DELETE-then-CREATE in one batch, double DELETE, zone
                      CallerReference reuse, two public zones of one name (HZ-4).
  ApiHealthCheckTest  defaults, CallerReference table of ROUTE53-API.md 3.12,
                      HealthCheckVersion, ResetElements, status/last failure/checker ranges,
                      tags, a deleted check referenced by a record set counts as healthy.
  ApiAuthTest         api.credentials: good keys, any region (eu-west-1), wrong secret ->
                      SignatureDoesNotMatch, unknown key -> InvalidClientTokenId, unsigned ->
                      MissingAuthenticationToken.

The CLI runs as /usr/bin/aws (never the aws on PATH) with a clean environment (dummy keys,
AWS_CONFIG_FILE=/dev/null, a temporary HOME, no proxies, one attempt per request); each
call is bounded by a timeout. If /usr/bin/aws is missing the classes fail (contrib/deps.sh
installs awscli). Only the standard library is used in-process, so any python3 runs it.
Set R53D_API_TRACE=FILE to log every CLI call with its exit status and stderr.

The Debian CLI (aws-cli 2.9) predates GeoProximityLocation: those two record sets go over
raw HTTP. Tests in a class build on each other: run a class, not a single later test.
About 240 CLI calls at ~0.5 s each (more on a loaded machine) plus the drill's probe waits.
"""

import concurrent.futures
import copy
import http.client
import json
import os
import re
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler

import harness
from harness import SLOW, R53d

AWS = "/usr/bin/aws"
TRACE = os.environ.get("R53D_API_TRACE", "")
NS = ["ns-1.r53d.test.", "ns-2.r53d.test.", "ns-3.r53d.test.", "ns-4.r53d.test."]
SOA_DEFAULT = "ns-1.r53d.test. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"
ZONE_ID_RE = r"^/hostedzone/Z[A-Z0-9]{20}$"
CHANGE_ID_RE = r"^/change/C[A-Z0-9]{20}$"
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
ISO_MS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"          # on the wire
CLI_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"                 # as the CLI prints it
REGIONS = {"us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1",
           "ap-southeast-2", "ap-northeast-1", "sa-east-1"}
SANITIZER = re.compile(r"WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|"
                       r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:")
CLI_ERROR = re.compile(r"An error occurred \(([^)]*)\) when calling the (\w+) operation"
                       r"(?: \(reached max retries: \d+\))?: ?(.*)$", re.M)
NO_ZONE = "ZNOSUCHZONE000000000000"
NO_CHECK = "11111111-2222-4333-8444-555555555555"
NO_COLLECTION = "0badc0de-0000-4000-8000-000000000000"


def note(text):
    print("        " + text, flush=True)


def require_aws():
    if not os.access(AWS, os.X_OK):
        raise AssertionError("%s not found: the API tests need the Debian AWS CLI v2 "
                             "(contrib/deps.sh installs awscli)" % AWS)


def bare(zone_id):
    """'/hostedzone/Z123' -> 'Z123' (also for /change/ ids)."""
    return zone_id.rsplit("/", 1)[-1]


def norm_name(n):
    """A record name as the API lists it: lower case, trailing dot, '*' as \\052."""
    n = n.lower()
    if not n.endswith("."):
        n += "."
    if n.startswith("*."):
        n = "\\052" + n[1:]
    return n


def rr_key(rs):
    """ListResourceRecordSets order: reversed labels, then type, then SetIdentifier. The
    test data is chosen so that label-tuple and string order agree, and so do type names
    and type codes."""
    labels = rs["Name"].rstrip(".").split(".")
    return (tuple(reversed(labels)), rs["Type"], rs.get("SetIdentifier", ""))


def expect_rrset(rs):
    """The listed form of a record set sent in a change batch."""
    out = copy.deepcopy(rs)
    out["Name"] = norm_name(rs["Name"])
    at = out.get("AliasTarget")
    if at is not None:
        at["HostedZoneId"] = bare(at["HostedZoneId"])
        at["DNSName"] = norm_name(at["DNSName"])
    return out


def mask_soa(rrsets):
    """The SOA serial moves with every applied batch: replace it by 'SERIAL'."""
    out = copy.deepcopy(rrsets)
    for rs in out:
        if rs.get("Type") == "SOA":
            for rr in rs.get("ResourceRecords", []):
                f = rr["Value"].split()
                if len(f) == 7:
                    f[2] = "SERIAL"
                    rr["Value"] = " ".join(f)
    return out


def apex_sets(zone):
    return [{"Name": zone, "Type": "NS", "TTL": 172800,
             "ResourceRecords": [{"Value": n} for n in NS]},
            {"Name": zone, "Type": "SOA", "TTL": 900,
             "ResourceRecords": [{"Value": SOA_DEFAULT}]}]


def simple(name, rtype, values, ttl=60, **extra):
    rs = {"Name": name, "Type": rtype, "TTL": ttl,
          "ResourceRecords": [{"Value": v} for v in values]}
    rs.update(extra)
    return rs


def change(action, rs):
    return {"Action": action, "ResourceRecordSet": rs}


def batch(*changes, comment=None):
    b = {"Changes": list(changes)}
    if comment is not None:
        b["Comment"] = comment
    return json.dumps(b)


# ---------------------------------------------------------------------------------------
# Raw HTTP (http.client: no proxy from the environment) and XML

def raw(port, method, path, body=None, headers=None, timeout=10.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout * SLOW)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def xml_doc(body):
    """Parse and strip namespaces from every tag."""
    root = ET.fromstring(body)
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def xml_error(body):
    root = xml_doc(body)
    if root.tag != "ErrorResponse":
        raise AssertionError("not an ErrorResponse: %r" % body[:500])
    err = root.find("Error")
    if err is None:
        raise AssertionError("ErrorResponse without <Error>: %r" % body[:500])
    return {"Type": err.findtext("Type"), "Code": err.findtext("Code"),
            "Message": err.findtext("Message"), "RequestId": root.findtext("RequestId")}


XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"
LIST_MEMBERS = {"ResourceRecords": "ResourceRecord", "Changes": "Change", "Regions": "Region"}


def xml_el(tag, v):
    """A request element from the CLI's JSON shape (for requests sent without the CLI)."""
    if isinstance(v, dict):
        inner = "".join(xml_el(k, x) for k, x in v.items())
    elif isinstance(v, list):
        inner = "".join(xml_el(LIST_MEMBERS[tag], x) for x in v)
    elif isinstance(v, bool):
        inner = "true" if v else "false"
    else:
        inner = str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<%s>%s</%s>" % (tag, inner, tag)


def xml_request(root, members):
    return ('<%s xmlns="%s">%s</%s>' % (root, XMLNS, "".join(
        xml_el(k, v) for k, v in members.items()), root)).encode()


def wait_api(port, srv, timeout=10.0):
    """Poll the admin listener until the API answers with any HTTP status (bounded)."""
    deadline = time.monotonic() + timeout * SLOW
    last = None
    while time.monotonic() < deadline:
        if not srv.alive():
            raise RuntimeError("r53d exited before the API answered:\n" + srv.log())
        try:
            status, _, _ = raw(port, "GET", "/2013-04-01/hostedzonecount", timeout=1.0)
            if status < 500:
                return
            last = status
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError("API on 127.0.0.1:%d did not answer within %.1fs (%r):\n%s" %
                       (port, timeout * SLOW, last, srv.log()))


# ---------------------------------------------------------------------------------------
# The AWS CLI

class Call:
    def __init__(self, argv, rc, out, err, secs):
        self.argv, self.rc, self.out, self.err, self.secs = argv, rc, out, err, secs

    def cmd(self):
        return " ".join(a if len(a) < 200 else a[:200] + "..." for a in self.argv[2:-8])


class Cli:
    """/usr/bin/aws route53 against one endpoint, with a clean environment."""

    def __init__(self, port, home, key="test", secret="test", region="us-east-1"):
        self.port, self.home = port, home
        self.key, self.secret, self.region = key, secret, region

    def with_(self, **kw):
        c = Cli(self.port, self.home, self.key, self.secret, self.region)
        for k, v in kw.items():
            setattr(c, k, v)
        return c

    def env(self):
        return {"PATH": "/usr/bin:/bin", "HOME": self.home, "LANG": "C.UTF-8",
                "LC_ALL": "C.UTF-8", "AWS_ACCESS_KEY_ID": self.key,
                "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_DEFAULT_REGION": self.region,
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"}

    def call(self, *args, timeout=60.0):
        argv = [AWS, "route53"] + [str(a) for a in args] + [
            "--endpoint-url", "http://127.0.0.1:%d" % self.port, "--output", "json",
            "--cli-connect-timeout", "5", "--cli-read-timeout", "30"]
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, env=self.env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout * SLOW)
            c = Call(argv, p.returncode, p.stdout.decode("utf-8", "replace"),
                     p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)
        except subprocess.TimeoutExpired as e:
            c = Call(argv, None, (e.stdout or b"").decode("utf-8", "replace"),
                     (e.stderr or b"").decode("utf-8", "replace"), time.monotonic() - t0)
        if TRACE:
            with open(TRACE, "a") as f:
                f.write("$ aws route53 %s\n  rc=%s %.2fs\n%s%s\n" %
                        (c.cmd(), c.rc, c.secs, c.out[:2000], c.err[:2000]))
        return c


# ---------------------------------------------------------------------------------------
# A loopback HTTP endpoint for the drill: 200 on /healthz, killable and restartable on the
# same port.

class _HealthzServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False

    def __init__(self, addr, endpoint):
        self.endpoint = endpoint
        super().__init__(addr, _HealthzHandler)

    def handle_error(self, request, client_address):
        pass


class _HealthzHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    timeout = 5

    def log_message(self, *args):
        pass

    def do_GET(self):
        ep = self.server.endpoint
        with ep.lock:
            ep.hits.append((time.monotonic(), self.client_address[0], self.path))
        code = 200 if self.path == "/healthz" else 404
        body = b"ok\n" if code == 200 else b"not here\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HealthzEndpoint:
    def __init__(self):
        self.port = 0
        self.srv = None
        self.thread = None
        self.lock = threading.Lock()
        self.hits = []

    def start(self):
        last = None
        for _ in range(60):      # the port may linger a moment after a kill
            try:
                self.srv = _HealthzServer(("127.0.0.1", self.port), self)
                break
            except OSError as e:
                last = e
                time.sleep(0.05)
        else:
            raise RuntimeError("healthz endpoint: cannot bind port %d: %s" % (self.port, last))
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True,
                                       name="healthz")
        self.thread.start()
        return self

    def kill(self):
        if self.srv is not None:
            self.srv.shutdown()
            self.srv.server_close()
            self.thread.join(5)
            self.srv = None
        return time.monotonic()

    def hits_since(self, t0=0.0):
        with self.lock:
            return [h for h in self.hits if h[0] >= t0]


# ---------------------------------------------------------------------------------------

class ApiCase(unittest.TestCase):
    """One r53d per class with the API on its admin listener and no configured zones."""

    CONF = {}          # extra top-level configuration (deep-copied)
    srv = None
    state = None

    @classmethod
    def setUpClass(cls):
        if harness.TARGET != "r53d":
            raise unittest.SkipTest("the Route 53 API exists only in r53d")
        require_aws()
        cls.home = tempfile.mkdtemp(prefix="r53d-api-home-")
        cls.endpoints = []
        cls.state = {}
        try:
            cls.api_port = harness.free_port()
            conf = {"admin": {"listen": "127.0.0.1:%d" % cls.api_port}, "workers": 2}
            conf.update(copy.deepcopy(cls.CONF))
            cls.srv = R53d(zones=[], **conf)
            cls.srv.start()
            wait_api(cls.api_port, cls.srv)
            cls.cli = Cli(cls.api_port, cls.home)
            cls.after_start()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def after_start(cls):
        pass

    @classmethod
    def _cleanup(cls):
        for ep in cls.endpoints:
            try:
                ep.kill()
            except Exception:
                pass
        if cls.srv is not None:
            cls.srv.cleanup()
        shutil.rmtree(cls.home, ignore_errors=True)

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
        if srv is None:
            return
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

    # -- CLI helpers ----------------------------------------------------------------------

    def aws(self, *args, cli=None, timeout=60.0):
        """Run a CLI command that must succeed; its JSON output (None when empty)."""
        c = (cli or self.cli).call(*args, timeout=timeout)
        if c.rc is None:
            self.fail("aws route53 %s: no exit within %.0fs\nstderr: %s\nr53d log:\n%s" %
                      (c.cmd(), timeout * SLOW, c.err, self.srv.log()))
        if c.rc != 0:
            self.fail("aws route53 %s failed (exit %d):\n%s\nr53d log:\n%s" %
                      (c.cmd(), c.rc, c.err.strip(), self.srv.log()[-3000:]))
        text = c.out.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            self.fail("aws route53 %s printed no JSON:\n%s" % (c.cmd(), text[:2000]))

    def check_error(self, c, code, op=None):
        """c must have failed with "An error occurred (code)"; returns the message."""
        if c.rc is None:
            self.fail("aws route53 %s: no exit (timeout)\n%s" % (c.cmd(), c.err))
        self.assertNotEqual(c.rc, 0, "aws route53 %s succeeded, want %s:\n%s" %
                            (c.cmd(), code, c.out[:2000]))
        m = CLI_ERROR.search(c.err)
        self.assertIsNotNone(m, "aws route53 %s: want 'An error occurred (%s)', stderr:\n%s" %
                             (c.cmd(), code, c.err.strip()))
        self.assertEqual(m.group(1), code, "aws route53 %s: stderr:\n%s" %
                         (c.cmd(), c.err.strip()))
        if op is not None:
            self.assertEqual(m.group(2), op)
        return m.group(3).strip()

    def aws_err(self, code, *args, cli=None):
        """Run a CLI command that must fail with the service error `code`; its message."""
        return self.check_error((cli or self.cli).call(*args), code)

    def aws_errs(self, cases, cli=None):
        """[(code, args)] run in parallel (independent read-only calls only); messages."""
        cli = cli or self.cli
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            calls = list(ex.map(lambda case: cli.call(*case[1]), cases))
        return [self.check_error(c, code) for c, (code, _) in zip(calls, cases)]

    def change_ok(self, zone_id, batch_json, wait=True):
        """change-resource-record-sets that must succeed; PENDING, then GetChange INSYNC."""
        out = self.aws("change-resource-record-sets", "--hosted-zone-id", zone_id,
                       "--change-batch", batch_json)
        ci = out["ChangeInfo"]
        self.assertRegex(ci["Id"], CHANGE_ID_RE)
        self.assertEqual(ci["Status"], "PENDING", ci)
        self.assertRegex(ci["SubmittedAt"], CLI_TIME)
        if wait:
            self.insync(ci["Id"])
        return ci

    def insync(self, change_id, limit=5.0):
        """GetChange over raw HTTP (cheap) reports INSYNC within `limit` seconds."""
        deadline = time.monotonic() + limit * SLOW
        while True:
            st, _, body = raw(self.api_port, "GET", "/2013-04-01/change/" + bare(change_id))
            self.assertEqual(st, 200, body[:500])
            ci = xml_doc(body).find("ChangeInfo")
            self.assertEqual(ci.findtext("Id"), "/change/" + bare(change_id))
            if ci.findtext("Status") == "INSYNC":
                return
            if time.monotonic() >= deadline:
                self.fail("change %s not INSYNC within %.1fs" % (change_id, limit * SLOW))
            time.sleep(0.02)

    def wait_insync(self, change_id, limit=5.0):
        """`aws route53 wait resource-record-sets-changed` must return at its first poll
        (it polls every 30 s otherwise): within `limit` seconds."""
        t0 = time.monotonic()
        self.aws("wait", "resource-record-sets-changed", "--id", change_id,
                 timeout=limit + 10)
        took = time.monotonic() - t0
        self.assertLess(took, limit * SLOW, "waiter took %.1fs: the first GetChange of %s "
                        "was not INSYNC" % (took, change_id))

    def create_zone(self, name, ref, *extra):
        out = self.aws("create-hosted-zone", "--name", name, "--caller-reference", ref, *extra)
        z = out["HostedZone"]
        self.assertRegex(z["Id"], ZONE_ID_RE)
        self.assertEqual(out["ChangeInfo"]["Status"], "PENDING")
        self.assertRegex(out["ChangeInfo"]["Id"], CHANGE_ID_RE)
        return out

    def list_rrsets(self, zone_id, *extra):
        return self.aws("list-resource-record-sets", "--hosted-zone-id", zone_id,
                        *extra)["ResourceRecordSets"]

    # -- DNS helpers ----------------------------------------------------------------------

    def dig(self, name, qtype="A", src=None):
        """(status, sorted rdatas of qtype in the answer)."""
        opts = ("-b", src) if src else ()
        r = self.srv.dig(name, qtype, *opts, timeout=max(2, int(2 * SLOW)))
        return r.status, r.rdatas("ANSWER", qtype)

    def assertDig(self, name, want, qtype="A", src=None, status="NOERROR"):
        st, got = self.dig(name, qtype, src)
        self.assertEqual((st, got), (status, sorted(want)),
                         "dig %s %s%s" % (name, qtype, " -b " + src if src else ""))

    def wait_dig(self, name, want, timeout, qtype="A", src=None, status="NOERROR",
                 every=0.5):
        """Poll dig (bounded) until it answers `want`; returns seconds waited."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        seen = []
        while True:
            got = self.dig(name, qtype, src)
            seen.append(got)
            if got == (status, sorted(want)):
                return time.monotonic() - t0
            if time.monotonic() >= deadline:
                break
            time.sleep(every)
        self.fail("dig %s %s: no %s %r within %.1fs; last answers %r\nr53d log:\n%s" %
                  (name, qtype, status, sorted(want), timeout, seen[-5:], self.srv.log()))

    def soa_serial(self, zone):
        st, soa = self.dig(zone, "SOA")
        self.assertEqual(st, "NOERROR")
        self.assertEqual(len(soa), 1, soa)
        return int(soa[0].split()[2])

    def dns_answer(self, zone_id, name, rtype="A", *extra):
        out = self.aws("test-dns-answer", "--hosted-zone-id", zone_id, "--record-name", name,
                       "--record-type", rtype, *extra)
        self.assertEqual(out["RecordType"], rtype)
        self.assertEqual(norm_name(out["RecordName"]), norm_name(name))
        self.assertEqual(out["Protocol"], "UDP")
        self.state.setdefault("nameservers", set()).add(out["Nameserver"])
        return out["ResponseCode"], sorted(out.get("RecordData", []))

    def assertAgree(self, zone_id, name, want, rtype="A"):
        """test-dns-answer and dig give the same answer, and it is `want`."""
        self.assertEqual(self.dns_answer(zone_id, name, rtype), ("NOERROR", sorted(want)),
                         "test-dns-answer %s %s" % (name, rtype))
        self.assertDig(name, want, rtype)

    def raw_create(self, path, root, members):
        """POST /2013-04-01/PATH over raw HTTP; must answer 201; the parsed response."""
        st, _, body = raw(self.api_port, "POST", "/2013-04-01/" + path,
                          body=xml_request(root, members))
        self.assertEqual(st, 201, body[:1000])
        return xml_doc(body)

    def need(self, *keys):
        missing = [k for k in keys if self.state.get(k) is None]
        if missing:
            self.fail("an earlier test of %s failed (no %s): run the whole class" %
                      (type(self).__name__, ", ".join(missing)))
        return [self.state[k] for k in keys]

    def raw_status(self, check_id):
        """GetHealthCheckStatus over raw HTTP (cheap to poll): [(Region, IP, Status, Time)]."""
        st, _, body = raw(self.api_port, "GET", "/2013-04-01/healthcheck/%s/status" % check_id)
        self.assertEqual(st, 200, body[:500])
        root = xml_doc(body)
        self.assertEqual(root.tag, "GetHealthCheckStatusResponse")
        return [(o.findtext("Region"), o.findtext("IPAddress"),
                 o.findtext("StatusReport/Status"), o.findtext("StatusReport/CheckedTime"))
                for o in root.iter("HealthCheckObservation")]

    def check_observations(self, obs, prefix=None, ip="127.0.0.1"):
        for o in obs:
            self.assertEqual(set(o), {"Region", "IPAddress", "StatusReport"}, o)
            self.assertIn(o["Region"], REGIONS)
            self.assertEqual(o["IPAddress"], ip)
            self.assertRegex(o["StatusReport"]["Status"], r"^(Success|Failure)")
            self.assertRegex(o["StatusReport"]["CheckedTime"], CLI_TIME)
            if prefix is not None:
                self.assertTrue(o["StatusReport"]["Status"].startswith(prefix), obs)


# ---------------------------------------------------------------------------------------
# 1. The failover drill of ROUTE53-API.md 6, on loopback

DRILL = "drill.example"
DRILL_P, DRILL_S = "192.0.2.10", "198.51.100.20"
WWW = "www.drill.example."
INTERVAL, THRESHOLD = 10, 1
DRILL_BOUND = INTERVAL * THRESHOLD + 15     # RequestInterval x FailureThreshold + slack


class ApiDrillTest(ApiCase):
    """The 15 commands, plus a real outage of the primary in the middle (3 checkers)."""

    CONF = {"health": {"checkers": 3}}

    @classmethod
    def after_start(cls):
        cls.ep = HealthzEndpoint().start()
        cls.endpoints.append(cls.ep)

    def failover_sets(self, hc):
        return [{"Name": WWW, "Type": "A", "SetIdentifier": "primary", "Failover": "PRIMARY",
                 "TTL": 60, "ResourceRecords": [{"Value": DRILL_P}], "HealthCheckId": hc},
                {"Name": WWW, "Type": "A", "SetIdentifier": "secondary",
                 "Failover": "SECONDARY", "TTL": 60,
                 "ResourceRecords": [{"Value": DRILL_S}]}]

    def test_1_drill_steps_1_to_9(self):
        t = int(time.time())
        # 1. create-hosted-zone
        out = self.create_zone(DRILL, "drill-%d" % t, "--hosted-zone-config",
                               json.dumps({"Comment": "failover drill"}))
        z = out["HostedZone"]
        zid = z["Id"]
        self.assertEqual(z["Name"], DRILL + ".")
        self.assertEqual(z["CallerReference"], "drill-%d" % t)
        self.assertEqual(z["Config"], {"Comment": "failover drill", "PrivateZone": False})
        self.assertEqual(z["ResourceRecordSetCount"], 2)
        self.assertEqual([n.rstrip(".") for n in out["DelegationSet"]["NameServers"]],
                         [n.rstrip(".") for n in NS])
        self.assertTrue(out["Location"].endswith("/2013-04-01/hostedzone/" + bare(zid)),
                        out["Location"])
        self.state["zone"] = zid
        self.wait_insync(out["ChangeInfo"]["Id"])
        self.assertDig(DRILL + ".", [SOA_DEFAULT], "SOA")
        self.assertDig(DRILL + ".", NS, "NS")
        self.assertDig(WWW, [], status="NXDOMAIN")

        # 2. create-health-check against the endpoint this test started
        cfg = {"IPAddress": "127.0.0.1", "Port": self.ep.port, "Type": "HTTP",
               "ResourcePath": "/healthz", "RequestInterval": INTERVAL,
               "FailureThreshold": THRESHOLD}
        out = self.aws("create-health-check", "--caller-reference", "hc-primary-%d" % t,
                       "--health-check-config", json.dumps(cfg))
        hc = out["HealthCheck"]
        self.assertRegex(hc["Id"], UUID_RE)
        self.assertEqual(hc["CallerReference"], "hc-primary-%d" % t)
        self.assertEqual(hc["HealthCheckVersion"], 1)
        want_cfg = dict(cfg, MeasureLatency=False, Inverted=False, Disabled=False,
                        EnableSNI=False)
        self.assertEqual(hc["HealthCheckConfig"], want_cfg)
        self.assertTrue(out["Location"].endswith("/2013-04-01/healthcheck/" + hc["Id"]),
                        out["Location"])
        self.state["hc"] = hc_id = hc["Id"]

        # 3. change-tags-for-resource
        self.assertIsNone(self.aws("change-tags-for-resource", "--resource-type", "healthcheck",
                                   "--resource-id", hc_id, "--add-tags",
                                   "Key=Name,Value=primary-web"))
        self.assertEqual(self.aws("list-tags-for-resource", "--resource-type", "healthcheck",
                                  "--resource-id", hc_id)["ResourceTagSet"],
                         {"ResourceType": "healthcheck", "ResourceId": hc_id,
                          "Tags": [{"Key": "Name", "Value": "primary-web"}]})

        # 4. change-resource-record-sets (failover.json: a two-change UPSERT)
        sets = self.failover_sets(hc_id)
        ci = self.change_ok(zid, batch(*[change("UPSERT", s) for s in sets],
                                       comment="failover drill"), wait=False)
        self.assertEqual(ci.get("Comment"), "failover drill")
        # 5. wait resource-record-sets-changed: INSYNC at the first poll
        self.wait_insync(ci["Id"])
        gc = self.aws("get-change", "--id", ci["Id"])["ChangeInfo"]
        self.assertEqual((gc["Id"], gc["Status"], gc.get("Comment")),
                         (ci["Id"], "INSYNC", "failover drill"))

        # 6. list-resource-record-sets --query
        got = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--query",
                       "ResourceRecordSets[?Name=='%s']" % WWW)
        self.assertEqual(got, sets)

        # 7. get-health-check-status: Success from every checker (3), after their probes
        deadline = time.monotonic() + (INTERVAL + 10) * SLOW
        obs = []
        while time.monotonic() < deadline:
            obs = self.raw_status(hc_id)
            if len(obs) == 3 and all(o[2].startswith("Success") for o in obs):
                break
            time.sleep(0.5)
        else:
            self.fail("3 Success observations not seen within %ds: %r\n%s" %
                      (INTERVAL + 10, obs, self.srv.log()))
        for o in obs:
            self.assertRegex(o[3], ISO_MS)
        out = self.aws("get-health-check-status", "--health-check-id", hc_id)
        self.assertEqual(len(out["HealthCheckObservations"]), 3, out)
        self.check_observations(out["HealthCheckObservations"],
                                prefix="Success: HTTP Status Code 200, OK")
        hits = self.ep.hits_since()
        self.assertTrue(hits, "the checkers never reached the endpoint")
        self.assertEqual({h[2] for h in hits}, {"/healthz"})

        # 8. test-dns-answer, cross-checked with dig
        self.assertAgree(zid, "www.drill.example", [DRILL_P])
        # 9. get-health-check --query HealthCheck.HealthCheckVersion
        self.assertEqual(self.aws("get-health-check", "--health-check-id", hc_id, "--query",
                                  "HealthCheck.HealthCheckVersion"), 1)

    def test_2_primary_down_and_back(self):
        zid, hc_id = self.need("zone", "hc")
        self.assertDig(WWW, [DRILL_P])
        t_kill = self.ep.kill()
        took = self.wait_dig(WWW, [DRILL_S], DRILL_BOUND * SLOW)
        note("primary killed: dig moved to the secondary after %.1fs (bound %ds)" %
             (time.monotonic() - t_kill, DRILL_BOUND))
        for _ in range(5):
            self.assertDig(WWW, [DRILL_S])
        self.assertAgree(zid, "www.drill.example", [DRILL_S])
        # every checker's last view is a failure (0 of 3 healthy is what moved the answer)
        out = self.aws("get-health-check-status", "--health-check-id", hc_id)
        self.assertEqual(len(out["HealthCheckObservations"]), 3, out)
        self.check_observations(out["HealthCheckObservations"], prefix="Failure")
        out = self.aws("get-health-check-last-failure-reason", "--health-check-id", hc_id)
        lf = out["HealthCheckObservations"]
        self.assertTrue(lf, "no last failure reason after the outage")
        self.check_observations(lf, prefix="Failure")
        self.assertTrue(all(len(o["StatusReport"]["Status"]) > len("Failure") for o in lf), lf)

        # restart on the same port: back to the primary within the same bound
        self.ep.start()
        t_up = time.monotonic()
        self.wait_dig(WWW, [DRILL_P], DRILL_BOUND * SLOW)
        note("primary restarted: dig back after %.1fs (moved away after %.1fs)" %
             (time.monotonic() - t_up, took))
        self.assertAgree(zid, "www.drill.example", [DRILL_P])
        obs = self.aws("get-health-check-status", "--health-check-id",
                       hc_id)["HealthCheckObservations"]
        self.check_observations(obs)
        self.assertTrue(any(o["StatusReport"]["Status"].startswith("Success") for o in obs),
                        obs)

    def test_3_drill_steps_10_to_15_inverted(self):
        zid, hc_id = self.need("zone", "hc")
        self.assertDig(WWW, [DRILL_P])
        # 10. update-health-check --health-check-version 1 --inverted: applies at once
        out = self.aws("update-health-check", "--health-check-id", hc_id,
                       "--health-check-version", "1", "--inverted")
        self.assertEqual(out["HealthCheck"]["HealthCheckVersion"], 2)
        self.assertIs(out["HealthCheck"]["HealthCheckConfig"]["Inverted"], True)
        self.wait_dig(WWW, [DRILL_S], 3 * SLOW, every=0.05)
        # 11. get-health-check-status (raw endpoint results; the inversion is routing's)
        self.check_observations(self.aws("get-health-check-status", "--health-check-id",
                                         hc_id)["HealthCheckObservations"])
        # 12. test-dns-answer: the secondary, as dig says
        self.assertAgree(zid, "www.drill.example", [DRILL_S])
        # 13. get-health-check-last-failure-reason (the outage of test_2 is on record)
        lf = self.aws("get-health-check-last-failure-reason", "--health-check-id",
                      hc_id)["HealthCheckObservations"]
        self.assertTrue(lf, "last failure reason is empty")
        self.check_observations(lf, prefix="Failure")
        # 14. update-health-check --health-check-version 2 --no-inverted
        out = self.aws("update-health-check", "--health-check-id", hc_id,
                       "--health-check-version", "2", "--no-inverted")
        self.assertEqual(out["HealthCheck"]["HealthCheckVersion"], 3)
        self.assertIs(out["HealthCheck"]["HealthCheckConfig"]["Inverted"], False)
        self.wait_dig(WWW, [DRILL_P], 3 * SLOW, every=0.05)
        # 15. test-dns-answer: the primary again
        self.assertAgree(zid, "www.drill.example", [DRILL_P])

    def test_4_clean_up(self):
        zid, hc_id = self.need("zone", "hc")
        serial = self.soa_serial(DRILL + ".")
        sets = self.failover_sets(hc_id)
        # DELETE of both sets with their exact values
        self.change_ok(zid, batch(*[change("DELETE", s) for s in reversed(sets)]))
        self.assertDig(WWW, [], status="NXDOMAIN")
        self.assertGreater(self.soa_serial(DRILL + "."), serial)
        self.assertEqual(mask_soa(self.list_rrsets(zid)), mask_soa(apex_sets(DRILL + ".")))
        self.assertIsNone(self.aws("delete-health-check", "--health-check-id", hc_id))
        self.assertEqual(self.aws("get-health-check-count")["HealthCheckCount"], 0)
        out = self.aws("delete-hosted-zone", "--id", zid)
        ci = out["ChangeInfo"]
        self.assertRegex(ci["Id"], CHANGE_ID_RE)
        self.assertEqual(ci["Status"], "PENDING")
        # GetChange of a deleted zone's change still works
        self.wait_insync(ci["Id"])
        self.assertDig(WWW, [], status="REFUSED")
        self.assertDig(DRILL + ".", [], "SOA", status="REFUSED")
        self.aws_err("NoSuchHostedZone", "get-hosted-zone", "--id", zid)
        self.assertEqual(self.aws("list-hosted-zones")["HostedZones"], [])
        self.assertEqual(self.aws("get-hosted-zone-count")["HostedZoneCount"], 0)


# ---------------------------------------------------------------------------------------
# 2. Every operation once

OPS = "ops.example"
PRIV = "priv.example"
VPC_A_SRC, VPC_B_SRC = "127.0.0.2", "127.0.0.3"
SIMPLE_A = ["192.0.2.1", "192.0.2.2"]


def ops_record_sets(zid, coll):
    """One record set of every kind (input form: mixed case, no trailing dots, '*')."""
    def routed(name, sid, value, **kw):
        return simple(name, "A", [value], SetIdentifier=sid, **kw)
    return [
        simple("Simple.OPS.example", "A", SIMPLE_A, ttl=300),
        simple("simple.ops.example.", "AAAA", ["2001:db8::1"], ttl=300),
        simple("txt.ops.example", "TXT", ['"hello world"', '"v=spf1 -all"']),
        simple("mx.ops.example", "MX", ["10 mail.ops.example."], ttl=3600),
        simple("www.ops.example", "CNAME", ["simple.ops.example."]),
        routed("w.ops.example", "w1", "192.0.2.11", Weight=1),
        routed("w.ops.example", "w2", "192.0.2.12", Weight=0),
        routed("lat.ops.example", "use1", "192.0.2.21", Region="us-east-1"),
        routed("lat.ops.example", "euw1", "192.0.2.22", Region="eu-west-1"),
        routed("fo.ops.example", "p", "192.0.2.31", Failover="PRIMARY"),
        routed("fo.ops.example", "s", "192.0.2.32", Failover="SECONDARY"),
        routed("geo.ops.example", "default", "192.0.2.41", GeoLocation={"CountryCode": "*"}),
        routed("geo.ops.example", "eu", "192.0.2.42", GeoLocation={"ContinentCode": "EU"}),
        routed("mv.ops.example", "m1", "192.0.2.61", MultiValueAnswer=True),
        routed("mv.ops.example", "m2", "192.0.2.62", MultiValueAnswer=True),
        routed("cidr.ops.example", "loc1", "192.0.2.71",
               CidrRoutingConfig={"CollectionId": coll, "LocationName": "loc1"}),
        routed("cidr.ops.example", "dflt", "192.0.2.72",
               CidrRoutingConfig={"CollectionId": coll, "LocationName": "*"}),
        {"Name": "alias.ops.example", "Type": "A",
         "AliasTarget": {"HostedZoneId": zid, "DNSName": "simple.ops.example",
                         "EvaluateTargetHealth": False}},
        {"Name": "*.wild.ops.example", "Type": "A",
         "AliasTarget": {"HostedZoneId": bare(zid), "DNSName": "Simple.ops.example.",
                         "EvaluateTargetHealth": False}},
        simple("\\052.star.ops.example.", "TXT", ['"star"']),
    ]


# Geoproximity is newer than the Debian CLI's model (aws-cli 2.9 rejects GeoProximityLocation
# before sending): these two go over raw HTTP, and the CLI lists them without the element.
GP_SETS = [
    simple("gp.ops.example.", "A", ["192.0.2.51"], SetIdentifier="c", GeoProximityLocation={
        "Coordinates": {"Latitude": "49.22", "Longitude": "-74.01"}, "Bias": 10}),
    simple("gp.ops.example.", "A", ["192.0.2.52"], SetIdentifier="r",
           GeoProximityLocation={"AWSRegion": "us-east-1", "Bias": 0}),
]


class ApiOperationsTest(ApiCase):
    CONF = {"vpcs": [{"VPCId": "vpc-a", "VPCRegion": "us-east-1",
                      "sources": [VPC_A_SRC + "/32"]},
                     {"VPCId": "vpc-b", "VPCRegion": "us-east-1",
                      "sources": [VPC_B_SRC + "/32"]}]}

    def test_1_public_zone(self):
        self.assertEqual(self.aws("list-hosted-zones")["HostedZones"], [])
        out = self.create_zone("Ops.Example", "ops-1", "--hosted-zone-config",
                               json.dumps({"Comment": "hello"}))
        z = out["HostedZone"]
        zid = z["Id"]
        self.assertEqual(z["Name"], OPS + ".")
        self.assertEqual(z["Config"], {"Comment": "hello", "PrivateZone": False})
        self.assertEqual(z["ResourceRecordSetCount"], 2)
        self.assertTrue(out["Location"].endswith("/2013-04-01/hostedzone/" + bare(zid)))
        self.state["zone"] = zid
        self.wait_insync(out["ChangeInfo"]["Id"])

        got = self.aws("get-hosted-zone", "--id", bare(zid))
        self.assertEqual(got["HostedZone"], z)
        self.assertEqual([n.rstrip(".") for n in got["DelegationSet"]["NameServers"]],
                         [n.rstrip(".") for n in NS])
        self.assertNotIn("VPCs", got)
        # the default SOA and NS, listed and served
        self.assertEqual(self.list_rrsets(zid), apex_sets(OPS + "."))
        self.assertDig(OPS + ".", [SOA_DEFAULT], "SOA")
        self.assertDig(OPS + ".", NS, "NS")

        out = self.aws("update-hosted-zone-comment", "--id", zid, "--comment", "new c")
        self.assertEqual(out["HostedZone"]["Config"]["Comment"], "new c")
        self.assertEqual(out["HostedZone"], dict(z, Config={"Comment": "new c",
                                                            "PrivateZone": False}))

        self.assertEqual(self.aws("get-hosted-zone-count")["HostedZoneCount"], 1)
        lim = self.aws("get-hosted-zone-limit", "--type", "MAX_RRSETS_BY_ZONE",
                       "--hosted-zone-id", zid)
        self.assertEqual(lim, {"Limit": {"Type": "MAX_RRSETS_BY_ZONE", "Value": 10000},
                               "Count": 2})
        self.aws_err("HostedZoneNotPrivate", "get-hosted-zone-limit", "--type",
                     "MAX_VPCS_ASSOCIATED_BY_ZONE", "--hosted-zone-id", zid)
        self.assertEqual(self.aws("get-account-limit", "--type", "MAX_HOSTED_ZONES_BY_OWNER"),
                         {"Limit": {"Type": "MAX_HOSTED_ZONES_BY_OWNER", "Value": 500},
                          "Count": 1})
        self.assertEqual(self.aws("get-account-limit", "--type", "MAX_HEALTH_CHECKS_BY_OWNER"),
                         {"Limit": {"Type": "MAX_HEALTH_CHECKS_BY_OWNER", "Value": 200},
                          "Count": 0})
        dnssec = self.aws("get-dnssec", "--hosted-zone-id", zid)
        self.assertEqual(dnssec["Status"]["ServeSignature"], "NOT_SIGNING")
        self.assertEqual(dnssec.get("KeySigningKeys", []), [])

    def test_2_private_zone_and_vpcs(self):
        zid, = self.need("zone")
        out = self.create_zone(PRIV, "ops-priv", "--vpc", "VPCRegion=us-east-1,VPCId=vpc-a",
                               "--hosted-zone-config",
                               json.dumps({"Comment": "private", "PrivateZone": True}))
        pz = out["HostedZone"]
        pid = pz["Id"]
        self.state["priv"] = pid
        self.assertEqual(pz["Config"], {"Comment": "private", "PrivateZone": True})
        self.assertEqual(out["VPC"], {"VPCRegion": "us-east-1", "VPCId": "vpc-a"})
        self.insync(out["ChangeInfo"]["Id"])
        got = self.aws("get-hosted-zone", "--id", pid)
        self.assertEqual(got["VPCs"], [{"VPCRegion": "us-east-1", "VPCId": "vpc-a"}])
        db = simple("db.priv.example", "A", ["10.0.0.5"])
        self.change_ok(pid, batch(change("CREATE", db)))
        # seen from vpc-a's source only; elsewhere no zone answers
        self.assertDig("db.priv.example.", ["10.0.0.5"], src=VPC_A_SRC)
        self.assertDig("db.priv.example.", [], status="REFUSED")
        self.assertDig("db.priv.example.", [], src=VPC_B_SRC, status="REFUSED")

        def by_vpc(vpc):
            out = self.aws("list-hosted-zones-by-vpc", "--vpc-id", vpc, "--vpc-region",
                           "us-east-1")
            return [(bare(s["HostedZoneId"]), s["Name"], "Owner" in s)
                    for s in out["HostedZoneSummaries"]]
        self.assertEqual(by_vpc("vpc-a"), [(bare(pid), PRIV + ".", True)])

        ci = self.aws("associate-vpc-with-hosted-zone", "--hosted-zone-id", pid, "--vpc",
                      "VPCRegion=us-east-1,VPCId=vpc-b", "--comment", "hi")["ChangeInfo"]
        self.assertRegex(ci["Id"], CHANGE_ID_RE)
        self.insync(ci["Id"])
        self.assertDig("db.priv.example.", ["10.0.0.5"], src=VPC_B_SRC)
        self.assertEqual(by_vpc("vpc-b"), [(bare(pid), PRIV + ".", True)])
        self.assertEqual(sorted(v["VPCId"] for v in
                                self.aws("get-hosted-zone", "--id", pid)["VPCs"]),
                         ["vpc-a", "vpc-b"])
        self.assertEqual(self.aws("get-hosted-zone-limit", "--type",
                                  "MAX_VPCS_ASSOCIATED_BY_ZONE", "--hosted-zone-id", pid),
                         {"Limit": {"Type": "MAX_VPCS_ASSOCIATED_BY_ZONE", "Value": 300},
                          "Count": 2})

        ci = self.aws("disassociate-vpc-from-hosted-zone", "--hosted-zone-id", pid, "--vpc",
                      "VPCRegion=us-east-1,VPCId=vpc-a")["ChangeInfo"]
        self.insync(ci["Id"])
        self.assertDig("db.priv.example.", [], src=VPC_A_SRC, status="REFUSED")
        self.assertDig("db.priv.example.", ["10.0.0.5"], src=VPC_B_SRC)

        # the VPC errors
        self.aws_err("VPCAssociationNotFound", "disassociate-vpc-from-hosted-zone",
                     "--hosted-zone-id", pid, "--vpc", "VPCRegion=us-east-1,VPCId=vpc-a")
        self.aws_err("LastVPCAssociation", "disassociate-vpc-from-hosted-zone",
                     "--hosted-zone-id", pid, "--vpc", "VPCRegion=us-east-1,VPCId=vpc-b")
        self.aws_err("PublicZoneVPCAssociation", "associate-vpc-with-hosted-zone",
                     "--hosted-zone-id", zid, "--vpc", "VPCRegion=us-east-1,VPCId=vpc-a")
        self.aws_err("InvalidPaginationToken", "list-hosted-zones-by-vpc", "--vpc-id",
                     "vpc-b", "--vpc-region", "us-east-1", "--next-token", "garbage!!token")
        self.assertDig("db.priv.example.", ["10.0.0.5"], src=VPC_B_SRC)

        # listing: by Id, and by reversed name from a start name
        zones = self.aws("list-hosted-zones")["HostedZones"]
        self.assertEqual([z["Id"] for z in zones], sorted([zid, pid]))
        self.assertEqual({z["Id"]: z["Config"]["PrivateZone"] for z in zones},
                         {zid: False, pid: True})
        out = self.aws("list-hosted-zones-by-name")
        self.assertEqual([z["Name"] for z in out["HostedZones"]], [OPS + ".", PRIV + "."])
        out = self.aws("list-hosted-zones-by-name", "--dns-name", PRIV, "--max-items", "1")
        self.assertEqual([z["Id"] for z in out["HostedZones"]], [pid])
        self.assertEqual(out["DNSName"], PRIV + ".")
        self.assertIs(out["IsTruncated"], False)
        self.assertEqual(out["MaxItems"], "1")
        self.assertEqual(self.aws("get-hosted-zone-count")["HostedZoneCount"], 2)

    def test_3_cidr_collections(self):
        out = self.aws("create-cidr-collection", "--name", "coll1", "--caller-reference",
                       "cr-1")
        coll = out["Collection"]
        cid = coll["Id"]
        self.assertRegex(cid, UUID_RE)
        self.assertEqual((coll["Name"], coll["Version"]), ("coll1", 1))
        self.assertTrue(coll["Arn"].endswith(cid), coll)
        self.assertTrue(out["Location"].endswith("/2013-04-01/cidrcollection/" + cid),
                        out["Location"])
        self.state["coll"] = cid
        changes = [{"LocationName": "loc1", "Action": "PUT",
                    "CidrList": ["127.0.0.0/24", "198.51.100.0/24"]},
                   {"LocationName": "loc2", "Action": "PUT", "CidrList": ["203.0.113.0/24"]}]
        out = self.aws("change-cidr-collection", "--id", cid, "--collection-version", "1",
                       "--changes", json.dumps(changes))
        self.assertTrue(out["Id"])
        self.aws_err("CidrCollectionVersionMismatchException", "change-cidr-collection",
                     "--id", cid, "--collection-version", "1", "--changes",
                     json.dumps(changes[1:]))
        cols = self.aws("list-cidr-collections")["CidrCollections"]
        self.assertEqual([(c["Id"], c["Name"], c["Version"]) for c in cols],
                         [(cid, "coll1", 2)])
        locs = self.aws("list-cidr-locations", "--collection-id", cid)["CidrLocations"]
        self.assertEqual(sorted(locs, key=lambda l: l["LocationName"]),
                         [{"LocationName": "loc1"}, {"LocationName": "loc2"}])
        blocks = self.aws("list-cidr-blocks", "--collection-id", cid)["CidrBlocks"]
        self.assertEqual(sorted((b["CidrBlock"], b["LocationName"]) for b in blocks),
                         [("127.0.0.0/24", "loc1"), ("198.51.100.0/24", "loc1"),
                          ("203.0.113.0/24", "loc2")])
        blocks = self.aws("list-cidr-blocks", "--collection-id", cid, "--location-name",
                          "loc2")["CidrBlocks"]
        self.assertEqual(blocks, [{"CidrBlock": "203.0.113.0/24", "LocationName": "loc2"}])
        self.aws_err("NoSuchCidrLocationException", "list-cidr-blocks", "--collection-id",
                     cid, "--location-name", "nope")
        self.aws_err("CidrCollectionInUseException", "delete-cidr-collection", "--id", cid)
        # a second, empty collection is deleted; then it is gone
        other = self.aws("create-cidr-collection", "--name", "empty", "--caller-reference",
                         "cr-2")["Collection"]["Id"]
        self.assertIsNone(self.aws("delete-cidr-collection", "--id", other))
        self.aws_err("NoSuchCidrCollectionException", "list-cidr-locations",
                     "--collection-id", other)

    def test_4_every_routing_policy(self):
        zid, cid = self.need("zone", "coll")
        sets = ops_record_sets(zid, cid)
        serial = self.soa_serial(OPS + ".")
        ci = self.change_ok(zid, batch(*[change("CREATE", s) for s in sets],
                                       comment="every policy"), wait=False)
        self.assertEqual(ci.get("Comment"), "every policy")
        self.wait_insync(ci["Id"])
        gc = self.aws("get-change", "--id", ci["Id"])["ChangeInfo"]
        self.assertEqual((gc["Status"], gc.get("Comment")), ("INSYNC", "every policy"))
        self.assertGreater(self.soa_serial(OPS + "."), serial)
        self.state["sets"] = sets
        # geoproximity: raw HTTP, then the full sets as XML
        st, _, body = raw(self.api_port, "POST", "/2013-04-01/hostedzone/%s/rrset" % bare(zid),
                          body=xml_request("ChangeResourceRecordSetsRequest", {"ChangeBatch": {
                              "Changes": [change("CREATE", s) for s in GP_SETS]}}))
        self.assertEqual(st, 200, body)
        self.insync(xml_doc(body).findtext("ChangeInfo/Id"))
        st, _, body = raw(self.api_port, "GET", "/2013-04-01/hostedzone/%s/rrset?name="
                          "gp.ops.example.&type=A&maxitems=2" % bare(zid))
        self.assertEqual(st, 200, body)
        gp = [(r.findtext("SetIdentifier"), r.findtext("GeoProximityLocation/AWSRegion"),
               r.findtext("GeoProximityLocation/Coordinates/Latitude"),
               r.findtext("GeoProximityLocation/Coordinates/Longitude"),
               r.findtext("GeoProximityLocation/Bias"))
              for r in xml_doc(body).iter("ResourceRecordSet")]
        self.assertEqual(gp, [("c", None, "49.22", "-74.01", "10"),
                              ("r", "us-east-1", None, None, "0")])

        def cli_view(rs):
            rs = expect_rrset(rs)
            rs.pop("GeoProximityLocation", None)
            return rs
        want = sorted(apex_sets(OPS + ".") + [cli_view(s) for s in sets + GP_SETS], key=rr_key)
        got = self.list_rrsets(zid)
        self.assertEqual(mask_soa(got), mask_soa(want))
        self.assertEqual(self.aws("get-hosted-zone", "--id", zid)["HostedZone"]
                         ["ResourceRecordSetCount"], len(want))
        self.assertEqual(self.aws("get-hosted-zone-limit", "--type", "MAX_RRSETS_BY_ZONE",
                                  "--hosted-zone-id", zid)["Count"], len(want))

        # the DNS answers
        self.assertDig("simple.ops.example.", SIMPLE_A)
        self.assertDig("SIMPLE.ops.example.", ["2001:db8::1"], "AAAA")
        self.assertDig("txt.ops.example.", ['"hello world"', '"v=spf1 -all"'], "TXT")
        self.assertDig("mx.ops.example.", ["10 mail.ops.example."], "MX")
        self.assertDig("www.ops.example.", ["simple.ops.example."], "CNAME")
        self.assertDig("www.ops.example.", SIMPLE_A)          # CNAME chased in the zone
        for _ in range(5):
            self.assertDig("w.ops.example.", ["192.0.2.11"])   # weight 0 never drawn
        st, lat = self.dig("lat.ops.example.")
        self.assertEqual(st, "NOERROR")
        self.assertIn(lat, (["192.0.2.21"], ["192.0.2.22"]))
        self.assertDig("fo.ops.example.", ["192.0.2.31"])     # no health check: healthy
        self.assertDig("geo.ops.example.", ["192.0.2.41"])    # unlocated client: default
        st, gp = self.dig("gp.ops.example.")
        self.assertEqual(st, "NOERROR")
        self.assertIn(gp, (["192.0.2.51"], ["192.0.2.52"]))
        self.assertDig("mv.ops.example.", ["192.0.2.61", "192.0.2.62"])
        self.assertDig("cidr.ops.example.", ["192.0.2.71"])   # 127.0.0.1 is in loc1
        self.assertDig("alias.ops.example.", SIMPLE_A)
        self.assertDig("anything.wild.ops.example.", SIMPLE_A)
        self.assertDig("x.y.star.ops.example.", ['"star"'], "TXT")
        self.assertDig("nope.ops.example.", [], status="NXDOMAIN")

        # test-dns-answer agrees with dig, and routes by the resolver address it is given
        self.assertAgree(zid, "alias.ops.example", SIMPLE_A)
        self.assertEqual(self.dns_answer(zid, "cidr.ops.example", "A", "--resolver-ip",
                                              "192.0.2.200"), ("NOERROR", ["192.0.2.72"]))
        self.assertEqual(self.dns_answer(zid, "cidr.ops.example", "A", "--resolver-ip",
                                              "198.51.100.9"), ("NOERROR", ["192.0.2.71"]))
        self.assertAgree(zid, "anything.wild.ops.example", SIMPLE_A)
        self.assertEqual(self.dns_answer(zid, "nope.ops.example"), ("NXDOMAIN", []))
        # TestDNSAnswer's Nameserver is the first name server (decisions)
        self.assertEqual({n.rstrip(".") for n in self.state["nameservers"]},
                         {NS[0].rstrip(".")})

    def test_5_list_from_a_start(self):
        zid, = self.need("zone")
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate",
                       "--start-record-name", "lat.ops.example", "--start-record-type", "A",
                       "--max-items", "3")
        self.assertEqual([(r["Name"], r["Type"], r.get("SetIdentifier"))
                          for r in out["ResourceRecordSets"]],
                         [("lat.ops.example.", "A", "euw1"), ("lat.ops.example.", "A", "use1"),
                          ("mv.ops.example.", "A", "m1")])
        self.assertIs(out["IsTruncated"], True)
        self.assertEqual(out["MaxItems"], "3")
        self.assertEqual((out["NextRecordName"], out["NextRecordType"],
                          out.get("NextRecordIdentifier")), ("mv.ops.example.", "A", "m2"))
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate",
                       "--start-record-name", "\\052.wild.ops.example.",
                       "--start-record-type", "A", "--max-items", "1")
        self.assertEqual([r["Name"] for r in out["ResourceRecordSets"]],
                         ["\\052.wild.ops.example."])
        self.assertEqual((out["NextRecordName"], out["NextRecordType"]),
                         ("www.ops.example.", "CNAME"))
        self.assertNotIn("NextRecordIdentifier", out)

    def test_6_tags(self):
        zid, pid = self.need("zone", "priv")
        self.assertIsNone(self.aws("change-tags-for-resource", "--resource-type", "hostedzone",
                                   "--resource-id", bare(zid), "--add-tags",
                                   "Key=env,Value=prod", "Key=team,Value=dns", "Key=old,Value=x"))
        got = self.aws("list-tags-for-resource", "--resource-type", "hostedzone",
                       "--resource-id", bare(zid))["ResourceTagSet"]
        self.assertEqual((got["ResourceType"], got["ResourceId"]), ("hostedzone", bare(zid)))
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in got["Tags"]),
                         [("env", "prod"), ("old", "x"), ("team", "dns")])
        self.aws("change-tags-for-resource", "--resource-type", "hostedzone", "--resource-id",
                 bare(zid), "--remove-tag-keys", "old", "team", "--add-tags",
                 "Key=env,Value=staging")
        got = self.aws("list-tags-for-resource", "--resource-type", "hostedzone",
                       "--resource-id", bare(zid))["ResourceTagSet"]
        self.assertEqual(got["Tags"], [{"Key": "env", "Value": "staging"}])
        out = self.aws("list-tags-for-resources", "--resource-type", "hostedzone",
                       "--resource-ids", bare(zid), bare(pid))
        sets = {s["ResourceId"]: s for s in out["ResourceTagSets"]}
        self.assertEqual(set(sets), {bare(zid), bare(pid)})
        self.assertEqual(sets[bare(zid)]["Tags"], [{"Key": "env", "Value": "staging"}])
        self.assertEqual(sets[bare(pid)]["Tags"], [])
        self.assertEqual(sets[bare(pid)]["ResourceType"], "hostedzone")

    def test_7_delete_everything(self):
        zid, pid, cid, sets = self.need("zone", "priv", "coll", "sets")
        # geoproximity (raw HTTP, exact), then every other set as the CLI lists it: the
        # listing can be sent back in a DELETE (aliases without TTL)
        st, _, body = raw(self.api_port, "POST", "/2013-04-01/hostedzone/%s/rrset/" % bare(zid),
                          body=xml_request("ChangeResourceRecordSetsRequest", {"ChangeBatch": {
                              "Changes": [change("DELETE", s) for s in GP_SETS]}}))
        self.assertEqual(st, 200, body)
        self.assertDig("gp.ops.example.", [], status="NXDOMAIN")
        listed = [s for s in self.list_rrsets(zid) if s["Type"] not in ("SOA", "NS")]
        self.assertEqual(len(listed), len(sets))
        self.change_ok(zid, batch(*[change("DELETE", s) for s in listed]))
        self.assertDig("simple.ops.example.", [], status="NXDOMAIN")
        self.assertDig("anything.wild.ops.example.", [], status="NXDOMAIN")
        # empty the collection (its blocks keep it in use), then delete it
        version = [c["Version"] for c in self.aws("list-cidr-collections")["CidrCollections"]
                   if c["Id"] == cid][0]
        self.aws("change-cidr-collection", "--id", cid, "--collection-version", str(version),
                 "--changes", json.dumps([
                     {"LocationName": "loc1", "Action": "DELETE_IF_EXISTS",
                      "CidrList": ["127.0.0.0/24", "198.51.100.0/24"]},
                     {"LocationName": "loc2", "Action": "DELETE_IF_EXISTS",
                      "CidrList": ["203.0.113.0/24"]}]))
        self.assertIsNone(self.aws("delete-cidr-collection", "--id", cid))
        self.assertEqual(self.aws("list-cidr-collections")["CidrCollections"], [])
        self.change_ok(pid, batch(change("DELETE", simple("db.priv.example.", "A",
                                                           ["10.0.0.5"]))))
        for z in (zid, pid):
            ci = self.aws("delete-hosted-zone", "--id", z)["ChangeInfo"]
            self.insync(ci["Id"])
        self.assertDig("db.priv.example.", [], src=VPC_B_SRC, status="REFUSED")
        self.assertDig(OPS + ".", [], "SOA", status="REFUSED")
        self.assertEqual(self.aws("get-hosted-zone-count")["HostedZoneCount"], 0)


# ---------------------------------------------------------------------------------------
# 3. Errors

ERR = "err.example"


def ierr_create(name, rtype, sid=None):
    s = ", set-identifier='%s'" % sid if sid else ""
    return "Tried to create resource record set [name='%s', type='%s'%s] but it already exists" \
        % (name, rtype, s)


def ierr_delete(name, rtype, sid=None):
    s = ", set-identifier='%s'" % sid if sid else ""
    return "Tried to delete resource record set [name='%s', type='%s'%s] but it was not found" \
        % (name, rtype, s)


def ierr_mismatch(name, rtype, sid=None):
    s = ", set-identifier='%s'" % sid if sid else ""
    return ("Tried to delete resource record set [name='%s', type='%s'%s] but the values "
            "provided do not match the current values" % (name, rtype, s))


class ApiErrorsTest(ApiCase):
    """Every error code r53d can produce, through the CLI (and raw HTTP where the CLI cannot
    send the request)."""

    A = simple("a.err.example.", "A", ["192.0.2.1"], ttl=300)
    C = simple("c.err.example.", "CNAME", ["a.err.example."], ttl=300)
    W = simple("w.err.example.", "A", ["192.0.2.5"], SetIdentifier="one", Weight=1)

    @classmethod
    def after_start(cls):
        c = cls.cli.call("create-hosted-zone", "--name", ERR, "--caller-reference", "err-1")
        if c.rc != 0:
            raise AssertionError("create-hosted-zone failed: %s\n%s" % (c.err, cls.srv.log()))
        cls.zid = json.loads(c.out)["HostedZone"]["Id"]
        c = cls.cli.call("change-resource-record-sets", "--hosted-zone-id", cls.zid,
                         "--change-batch", batch(change("CREATE", cls.A), change("CREATE", cls.C),
                                                 change("CREATE", cls.W)))
        if c.rc != 0:
            raise AssertionError("change-resource-record-sets failed: %s\n%s" %
                                 (c.err, cls.srv.log()))

    def crrs_err(self, code, *changes):
        return self.aws_err(code, "change-resource-record-sets", "--hosted-zone-id", self.zid,
                            "--change-batch", batch(*changes))

    def assertBatchError(self, msgs, *changes):
        got = self.crrs_err("InvalidChangeBatch", *changes)
        self.assertEqual(got, "[" + ", ".join(msgs) + "]")

    def assertZoneUnchanged(self):
        self.assertDig("a.err.example.", ["192.0.2.1"])
        self.assertDig("c.err.example.", ["a.err.example."], "CNAME")

    def test_1_no_such_things(self):
        msgs = self.aws_errs([
            ("NoSuchHostedZone", ("get-hosted-zone", "--id", NO_ZONE)),
            ("NoSuchHostedZone", ("list-resource-record-sets", "--hosted-zone-id", NO_ZONE)),
            ("NoSuchHealthCheck", ("get-health-check", "--health-check-id", NO_CHECK)),
            ("NoSuchHealthCheck", ("delete-health-check", "--health-check-id", NO_CHECK)),
            ("NoSuchChange", ("get-change", "--id", "CNOSUCHCHANGE0000000000")),
            ("NoSuchCidrCollectionException", ("list-cidr-locations", "--collection-id",
                                               NO_COLLECTION)),
            ("NoSuchHostedZone", ("list-tags-for-resource", "--resource-type", "hostedzone",
                                  "--resource-id", NO_ZONE)),
            ("NoSuchHealthCheck", ("list-tags-for-resource", "--resource-type", "healthcheck",
                                   "--resource-id", NO_CHECK)),
        ])
        self.assertEqual(msgs[0], "No hosted zone found with ID: " + NO_ZONE)
        self.aws_err("NoSuchHostedZone", "change-resource-record-sets", "--hosted-zone-id",
                     NO_ZONE, "--change-batch", batch(change("CREATE", self.A)))
        self.aws_err("NoSuchHostedZone", "delete-hosted-zone", "--id", NO_ZONE)
        # a HealthCheckId that names no check
        self.crrs_err("NoSuchHealthCheck", change("CREATE", simple(
            "hc.err.example", "A", ["192.0.2.9"], SetIdentifier="p", Failover="PRIMARY",
            HealthCheckId=NO_CHECK)))
        self.assertDig("hc.err.example.", [], status="NXDOMAIN")
        # an unknown collection in a change, and a collection id that does not exist
        self.aws_err("NoSuchCidrCollectionException", "change-cidr-collection", "--id",
                     NO_COLLECTION, "--changes", json.dumps([{
                         "LocationName": "l", "Action": "PUT", "CidrList": ["10.0.0.0/8"]}]))

    def test_2_invalid_change_batch_texts(self):
        z = ERR + "."
        apex = ("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s" %
                (z, z))
        # one error alone is bracketed too
        self.assertBatchError([ierr_create("a.err.example.", "A")], change("CREATE", self.A))
        # every situation of ROUTE53-API.md 4.2 in one batch: all messages, in batch order,
        # in one bracketed message; the valid change among them is not applied
        cases = [
            # CREATE of an existing set, simple and routed
            (change("CREATE", self.A), ierr_create("a.err.example.", "A")),
            (change("CREATE", self.W), ierr_create("w.err.example.", "A", "one")),
            # DELETE of a set that does not exist, simple and routed
            (change("DELETE", simple("missing.err.example", "A", ["192.0.2.1"])),
             ierr_delete("missing.err.example.", "A")),
            (change("DELETE", dict(self.W, SetIdentifier="two")),
             ierr_delete("w.err.example.", "A", "two")),
            # DELETE whose TTL, values or routing fields differ
            (change("DELETE", dict(self.A, TTL=301)), ierr_mismatch("a.err.example.", "A")),
            (change("DELETE", simple("a.err.example.", "A", ["192.0.2.1", "192.0.2.2"],
                                     ttl=300)), ierr_mismatch("a.err.example.", "A")),
            (change("DELETE", dict(self.W, Weight=2)),
             ierr_mismatch("w.err.example.", "A", "one")),
            # a valid change: not applied because the batch fails
            (change("CREATE", simple("ok.err.example", "A", ["192.0.2.7"])), None),
            # CNAME at the apex; CNAME beside other types; another type beside a CNAME
            (change("CREATE", simple(ERR, "CNAME", ["a.err.example."])), apex),
            (change("CREATE", simple("a.err.example", "CNAME", ["x.test."])),
             "RRSet of type CNAME with DNS name a.err.example. is not permitted as it "
             "conflicts with other records with the same DNS name in zone %s" % z),
            (change("CREATE", simple("c.err.example", "TXT", ['"x"'])),
             "RRSet of type TXT with DNS name c.err.example. is not permitted because a "
             "conflicting RRSet of type  CNAME with the same DNS name already exists in zone "
             "%s" % z),
            # simple and routed sets with the same name and type, both ways round
            (change("CREATE", dict(self.A, SetIdentifier="x", Weight=1)),
             "RRSet with DNS name a.err.example., type A cannot be created as other RRSets "
             "exist with the same name and type."),
            (change("CREATE", simple("w.err.example", "A", ["192.0.2.6"])),
             "RRSet with DNS name w.err.example., type A cannot be created as other RRSets "
             "exist with the same name and type."),
            # a name outside the zone
            (change("CREATE", simple("foo.other.org", "A", ["192.0.2.1"])),
             "RRSet with DNS name foo.other.org. is not permitted in zone %s" % z),
        ]
        got = self.crrs_err("InvalidChangeBatch", *[c for c, _ in cases])
        want = [m for _, m in cases if m is not None]
        self.assertTrue(got.startswith("[") and got.endswith("]"), got)
        # compare item by item first (a clearer report), then the whole text
        for i, (w, g) in enumerate(zip(want, re.split(r", (?=Tried to |RRSet )", got[1:-1]))):
            with self.subTest(message=i):
                self.assertEqual(g, w)
        self.assertEqual(got, "[" + ", ".join(want) + "]")
        self.assertDig("ok.err.example.", [], status="NXDOMAIN")
        self.assertZoneUnchanged()

    def test_3_invalid_input(self):
        cases = [
            ("a routing field without SetIdentifier", simple(
                "r.err.example", "A", ["192.0.2.1"], Weight=1), "Missing field 'SetIdentifier'"),
            ("neither TTL+values nor alias", {"Name": "a.err.example", "Type": "A"},
             "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or "
             "TrafficPolicyInstanceId], but found none"),
            ("values without TTL", {"Name": "nottl.err.example", "Type": "A",
                                    "ResourceRecords": [{"Value": "192.0.2.1"}]}, None),
            ("TTL without values", {"Name": "novalues.err.example", "Type": "A", "TTL": 60},
             None),
            ("Failover enum (spec 1.3: bad enums are InvalidInput)", simple(
                "bad.err.example", "A", ["192.0.2.1"], SetIdentifier="x", Failover="MIDDLE"),
             None),
            ("Weight above 255", simple("bad.err.example", "A", ["192.0.2.1"],
                                        SetIdentifier="x", Weight=256), None),
        ]
        for what, rs, text in cases:
            with self.subTest(case=what):
                action = "DELETE" if what == "neither TTL+values nor alias" else "CREATE"
                msg = self.crrs_err("InvalidInput", change(action, rs))
                if text is not None:
                    self.assertIn(text, msg)
        with self.subTest(case="list: type without name"):
            self.aws_err("InvalidInput", "list-resource-record-sets", "--hosted-zone-id",
                         self.zid, "--no-paginate", "--start-record-type", "A")
        self.assertDig("r.err.example.", [], status="NXDOMAIN")
        self.assertDig("bad.err.example.", [], status="NXDOMAIN")
        self.assertZoneUnchanged()

    def test_4_zone_errors(self):
        self.aws_err("InvalidDomainName", "create-hosted-zone", "--name", "com",
                     "--caller-reference", "err-tld")
        self.aws_err("InvalidDomainName", "create-hosted-zone", "--name", "bad..name.example",
                     "--caller-reference", "err-bad")
        self.aws_err("HostedZoneAlreadyExists", "create-hosted-zone", "--name", "other.example",
                     "--caller-reference", "err-1")
        self.aws_err("HostedZoneNotEmpty", "delete-hosted-zone", "--id", self.zid)
        self.assertEqual(self.aws("get-hosted-zone-count")["HostedZoneCount"], 1)
        self.assertZoneUnchanged()

    def test_5_not_implemented(self):
        msgs = self.aws_errs([
            ("NotImplemented", ("list-query-logging-configs",)),
            ("NotImplemented", ("create-traffic-policy", "--name", "tp", "--document", "{}")),
            ("NotImplemented", ("create-reusable-delegation-set", "--caller-reference", "ds")),
        ])
        self.assertTrue(all(msgs), msgs)

    def test_6_raw_http(self):
        # unsigned requests are accepted without api.credentials
        st, hdr, body = raw(self.api_port, "GET", "/2013-04-01/hostedzonecount")
        self.assertEqual(st, 200, body)
        root = xml_doc(body)
        self.assertEqual(root.tag, "GetHostedZoneCountResponse")
        self.assertEqual(root.findtext("HostedZoneCount"), "1")
        self.assertIn("x-amzn-requestid", hdr)
        path = "/2013-04-01/hostedzone/%s/rrset/" % bare(self.zid)
        ns = 'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"'
        bodies = [
            b"this is not XML",
            ("<ChangeResourceRecordSetsRequest %s><ChangeBatch><Changes><Change>"
             "<Action>CREATE</Action>" % ns).encode(),                 # cut short
            ("<ChangeResourceRecordSetsRequest %s><ChangeBatch><Changes></Change></Changes>"
             "</ChangeBatch></ChangeResourceRecordSetsRequest>" % ns).encode(),
        ]
        for b in bodies:
            st, hdr, resp = raw(self.api_port, "POST", path, body=b)
            self.assertEqual(st, 400, resp)
            self.assertIn("xml", hdr.get("content-type", ""))
            e = xml_error(resp)
            self.assertEqual((e["Type"], e["Code"]), ("Sender", "MalformedInput"), (b, e))
            self.assertTrue(e["Message"], e)
            self.assertEqual(e["RequestId"], hdr.get("x-amzn-requestid"), hdr)
            if "x-amz-request-id" in hdr:
                self.assertEqual(hdr["x-amz-request-id"], e["RequestId"])
        # the same for CreateHostedZone
        st, _, resp = raw(self.api_port, "POST", "/2013-04-01/hostedzone", body=b"<Create")
        self.assertEqual((st, xml_error(resp)["Code"]), (400, "MalformedInput"), resp)
        # an unknown path under /2013-04-01/
        st, _, resp = raw(self.api_port, "GET", "/2013-04-01/nosuchthing")
        self.assertEqual((st, xml_error(resp)["Code"]), (400, "InvalidAction"), resp)
        # a 501 for an operation r53d does not implement
        st, _, resp = raw(self.api_port, "GET", "/2013-04-01/trafficpolicies")
        self.assertEqual((st, xml_error(resp)["Code"]), (501, "NotImplemented"), resp)
        # errors are ErrorResponse with the model's status codes
        st, _, resp = raw(self.api_port, "GET", "/2013-04-01/hostedzone/" + NO_ZONE)
        e = xml_error(resp)
        self.assertEqual((st, e["Type"], e["Code"]), (404, "Sender", "NoSuchHostedZone"), resp)
        st, _, resp = raw(self.api_port, "POST", path, body=(
            "<ChangeResourceRecordSetsRequest %s><ChangeBatch><Changes><Change><Action>CREATE"
            "</Action><ResourceRecordSet><Name>a.err.example.</Name><Type>A</Type><TTL>300</TTL>"
            "<ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord>"
            "</ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch>"
            "</ChangeResourceRecordSetsRequest>" % ns).encode())
        self.assertEqual((st, xml_error(resp)["Code"]), (400, "InvalidChangeBatch"), resp)
        self.assertZoneUnchanged()


# ---------------------------------------------------------------------------------------
# 4. Pagination

RR = "rr.example"


def rr_zone_sets():
    """203 record sets (+ NS and SOA = 205), names chosen so that every plausible order
    (label tuples or dotted strings, type names or codes) agrees."""
    sets = []
    for i in range(150):
        sets.append(simple("n%03d.rr.example." % i, "A", ["10.1.%d.1" % i], ttl=300))
    for i in range(30):
        sets.append(simple("n%03d.rr.example." % i, "TXT", ['"t%03d"' % i], ttl=300))
    for i in range(20):
        sets.append(simple("m.rr.example.", "A", ["10.2.0.%d" % (i + 1)],
                           SetIdentifier="s%02d" % i, Weight=1))
    sets.append(simple("*.rr.example", "A", ["10.3.0.1"]))
    sets.append(simple("a.b.rr.example.", "A", ["10.3.0.2"]))
    sets.append(simple("z.rr.example.", "MX", ["10 mx.rr.example."]))
    return sets


class ApiPaginationTest(ApiCase):

    @classmethod
    def after_start(cls):
        cls.zone_ids = {}

    def test_1_record_sets(self):
        out = self.create_zone(RR, "pg-rr")
        zid = out["HostedZone"]["Id"]
        self.zone_ids[RR] = zid
        sets = rr_zone_sets()
        self.change_ok(zid, batch(*[change("CREATE", s) for s in sets]))
        want = mask_soa(sorted(apex_sets(RR + ".") + [expect_rrset(s) for s in sets],
                               key=rr_key))
        self.assertEqual(len(want), 205)
        self.assertEqual(self.aws("get-hosted-zone", "--id", zid)["HostedZone"]
                         ["ResourceRecordSetCount"], 205)
        self.assertDig("n149.rr.example.", ["10.1.149.1"])
        self.assertDig("n007.rr.example.", ['"t007"'], "TXT")
        self.assertDig("q.rr.example.", ["10.3.0.1"])
        self.assertDig("a.b.rr.example.", ["10.3.0.2"])

        # one request, default maxitems (300): everything
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate")
        self.assertEqual(mask_soa(out["ResourceRecordSets"]), want)
        self.assertIs(out["IsTruncated"], False)
        self.assertEqual(out["MaxItems"], "300")
        self.assertNotIn("NextRecordName", out)

        # page size 1: the first 30, then the next 30 from the CLI's NextToken
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--page-size", "1",
                       "--max-items", "30")
        self.assertEqual(mask_soa(out["ResourceRecordSets"]), want[:30])
        token = out.get("NextToken")
        self.assertTrue(token, "no NextToken after 30 of 205")
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--page-size", "1",
                       "--max-items", "30", "--starting-token", token)
        self.assertEqual(mask_soa(out["ResourceRecordSets"]), want[30:60])
        self.assertTrue(out.get("NextToken"))
        # page sizes 2 and 100, every page through the CLI's paginator
        for size in ("2", "100"):
            out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid,
                           "--page-size", size, timeout=120)
            got = mask_soa(out["ResourceRecordSets"])
            self.assertEqual(len(got), 205, "page size %s" % size)
            self.assertEqual(got, want, "page size %s" % size)
            self.assertNotIn("NextToken", out)

        # the server's own continuation fields
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate",
                       "--max-items", "5")
        self.assertEqual(mask_soa(out["ResourceRecordSets"]), want[:5])
        self.assertIs(out["IsTruncated"], True)
        self.assertEqual(out["MaxItems"], "5")
        self.assertEqual((out["NextRecordName"], out["NextRecordType"],
                          out.get("NextRecordIdentifier")), ("m.rr.example.", "A", "s01"))
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate",
                       "--start-record-name", "m.rr.example.", "--start-record-type", "A",
                       "--start-record-identifier", "s01", "--max-items", "3")
        self.assertEqual([r["SetIdentifier"] for r in out["ResourceRecordSets"]],
                         ["s01", "s02", "s03"])
        self.assertEqual((out["NextRecordName"], out["NextRecordType"],
                          out.get("NextRecordIdentifier")), ("m.rr.example.", "A", "s04"))
        # name only: from the first set whose name sorts at or after it
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate",
                       "--start-record-name", "N100.rr.example", "--max-items", "2")
        self.assertEqual([(r["Name"], r["Type"]) for r in out["ResourceRecordSets"]],
                         [("n100.rr.example.", "A"), ("n101.rr.example.", "A")])
        self.assertEqual((out["NextRecordName"], out["NextRecordType"]),
                         ("n102.rr.example.", "A"))
        self.assertNotIn("NextRecordIdentifier", out)
        # name and type: TXT of n005 comes after its A
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate",
                       "--start-record-name", "n005.rr.example.", "--start-record-type", "TXT",
                       "--max-items", "2")
        self.assertEqual([(r["Name"], r["Type"]) for r in out["ResourceRecordSets"]],
                         [("n005.rr.example.", "TXT"), ("n006.rr.example.", "A")])
        # the last page
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate",
                       "--start-record-name", "n149.rr.example.", "--max-items", "5")
        self.assertEqual(mask_soa(out["ResourceRecordSets"]), want[-2:])
        self.assertIs(out["IsTruncated"], False)

    def test_2_hosted_zones(self):
        # created over raw HTTP (create-hosted-zone through the CLI is covered elsewhere)
        for name in ("p1.example", "p2.example", "p3.example", "p4.example"):
            self.zone_ids[name] = self.raw_create("hostedzone", "CreateHostedZoneRequest", {
                "Name": name, "CallerReference": "pg-" + name}).findtext("HostedZone/Id")
        if RR not in self.zone_ids:
            self.zone_ids[RR] = self.raw_create("hostedzone", "CreateHostedZoneRequest", {
                "Name": RR, "CallerReference": "pg-rr"}).findtext("HostedZone/Id")
        ids = sorted(self.zone_ids.values())
        self.assertEqual(len(ids), 5)
        for size in ("1", "2"):
            out = self.aws("list-hosted-zones", "--page-size", size)
            self.assertEqual([z["Id"] for z in out["HostedZones"]], ids, "page size " + size)
        out = self.aws("list-hosted-zones", "--no-paginate", "--max-items", "2")
        self.assertEqual([z["Id"] for z in out["HostedZones"]], ids[:2])
        self.assertIs(out["IsTruncated"], True)
        self.assertEqual(out["MaxItems"], "2")
        self.assertEqual(out["NextMarker"], bare(ids[2]))
        self.assertNotIn("Marker", out)
        out = self.aws("list-hosted-zones", "--page-size", "2", "--max-items", "3")
        self.assertEqual([z["Id"] for z in out["HostedZones"]], ids[:3])
        out = self.aws("list-hosted-zones", "--page-size", "2", "--max-items", "3",
                       "--starting-token", out["NextToken"])
        self.assertEqual([z["Id"] for z in out["HostedZones"]], ids[3:])

        # by name (no CLI paginator: --max-items is maxitems on the wire), page by page
        names = ["p1.example.", "p2.example.", "p3.example.", "p4.example.", "rr.example."]
        got, args = [], []
        for _ in range(5):
            out = self.aws("list-hosted-zones-by-name", "--max-items", "2", *args)
            self.assertEqual(out["MaxItems"], "2")
            got += [z["Name"] for z in out["HostedZones"]]
            if not out["IsTruncated"]:
                break
            self.assertIn("NextDNSName", out)
            args = ["--dns-name", out["NextDNSName"], "--hosted-zone-id",
                    bare(out["NextHostedZoneId"])]
        self.assertEqual(got, names)
        out = self.aws("list-hosted-zones-by-name", "--dns-name", "p2.example",
                       "--max-items", "1")
        self.assertEqual([z["Id"] for z in out["HostedZones"]],
                         [self.zone_ids["p2.example"]])
        self.assertEqual((out["NextDNSName"], bare(out["NextHostedZoneId"])),
                         ("p3.example.", bare(self.zone_ids["p3.example"])))

    def test_3_health_checks(self):
        ids = [self.raw_create("healthcheck", "CreateHealthCheckRequest", {
            "CallerReference": "pg-hc-%d" % i, "HealthCheckConfig": {
                "IPAddress": "127.0.0.1", "Port": 9, "Type": "TCP"}}).findtext("HealthCheck/Id")
            for i in range(5)]
        self.assertEqual(self.aws("get-health-check-count")["HealthCheckCount"], 5)
        out = self.aws("list-health-checks", "--no-paginate")
        order = [h["Id"] for h in out["HealthChecks"]]
        self.assertEqual(sorted(order), sorted(ids))
        self.assertIs(out["IsTruncated"], False)
        for size in ("1", "2"):
            out = self.aws("list-health-checks", "--page-size", size)
            self.assertEqual([h["Id"] for h in out["HealthChecks"]], order, "page size " + size)
        out = self.aws("list-health-checks", "--no-paginate", "--max-items", "2")
        self.assertEqual([h["Id"] for h in out["HealthChecks"]], order[:2])
        self.assertIs(out["IsTruncated"], True)
        self.assertTrue(out.get("NextMarker"))
        self.assertEqual(out["MaxItems"], "2")


# ---------------------------------------------------------------------------------------
# 5. Atomicity and zone CallerReference

AT = "at.example"


class ApiBatchTest(ApiCase):
    A = simple("a.at.example.", "A", ["192.0.2.1"])
    B = simple("b.at.example.", "A", ["192.0.2.2"])
    C = simple("c.at.example.", "TXT", ['"c"'])

    def snapshot(self, zid):
        return {"list": self.list_rrsets(zid),
                "count": self.aws("get-hosted-zone", "--id", zid)["HostedZone"]
                ["ResourceRecordSetCount"],
                "serial": self.soa_serial(AT + "."),
                "dig": [self.dig(n + ".at.example.", t) for n, t in
                        (("a", "A"), ("b", "A"), ("c", "TXT"), ("new", "A"), ("new2", "A"))]}

    def test_1_all_or_nothing(self):
        zid = self.create_zone(AT, "at-1")["HostedZone"]["Id"]
        self.state["zone"] = zid
        self.change_ok(zid, batch(change("CREATE", self.A), change("CREATE", self.B),
                                  change("CREATE", self.C)))
        before = self.snapshot(zid)
        self.assertEqual(before["dig"][:3], [("NOERROR", ["192.0.2.1"]),
                                             ("NOERROR", ["192.0.2.2"]),
                                             ("NOERROR", ['"c"'])])
        # 5 changes, the 4th bad: nothing of the other four is applied
        self.assertEqual(self.aws_err(
            "InvalidChangeBatch", "change-resource-record-sets", "--hosted-zone-id", zid,
            "--change-batch", batch(
                change("UPSERT", simple("a.at.example", "A", ["192.0.2.100"])),
                change("CREATE", simple("new.at.example", "A", ["192.0.2.3"])),
                change("DELETE", self.B),
                change("CREATE", self.C),
                change("CREATE", simple("new2.at.example", "A", ["192.0.2.4"])))),
            "[%s]" % ierr_create("c.at.example.", "TXT"))
        self.assertEqual(self.snapshot(zid), before)

    def test_2_delete_then_create(self):
        zid, = self.need("zone")
        serial = self.soa_serial(AT + ".")
        a2 = simple("a.at.example.", "A", ["192.0.2.9"], ttl=120)
        self.change_ok(zid, batch(change("DELETE", self.A), change("CREATE", a2)))
        self.assertDig("a.at.example.", ["192.0.2.9"])
        self.assertGreater(self.soa_serial(AT + "."), serial)
        self.assertIn(a2, self.list_rrsets(zid))
        # create -> delete -> create in one batch (the journal bug of other emulators)
        a3 = simple("a.at.example.", "A", ["192.0.2.10"])
        self.change_ok(zid, batch(change("DELETE", a2), change("CREATE", a3),
                                  change("DELETE", a3), change("CREATE", self.A)))
        self.assertDig("a.at.example.", ["192.0.2.1"])
        # UPSERT then DELETE of what the UPSERT wrote
        d = simple("d.at.example.", "A", ["192.0.2.40"])
        self.change_ok(zid, batch(change("UPSERT", d), change("DELETE", d)))
        self.assertDig("d.at.example.", [], status="NXDOMAIN")

    def test_3_same_set_twice(self):
        zid, = self.need("zone")
        before = self.snapshot(zid)
        self.assertEqual(self.aws_err(
            "InvalidChangeBatch", "change-resource-record-sets", "--hosted-zone-id", zid,
            "--change-batch", batch(change("DELETE", self.B), change("DELETE", self.B))),
            "[%s]" % ierr_delete("b.at.example.", "A"))
        self.assertEqual(self.aws_err(
            "InvalidChangeBatch", "change-resource-record-sets", "--hosted-zone-id", zid,
            "--change-batch", batch(change("CREATE", simple("e.at.example", "A", ["192.0.2.5"])),
                                    change("CREATE", simple("E.at.example.", "A",
                                                            ["192.0.2.5"])))),
            "[%s]" % ierr_create("e.at.example.", "A"))
        self.assertEqual(self.snapshot(zid), before)

    def test_4_zone_caller_reference(self):
        zid, = self.need("zone")
        self.aws_err("HostedZoneAlreadyExists", "create-hosted-zone", "--name", AT,
                     "--caller-reference", "at-1")
        self.aws_err("HostedZoneAlreadyExists", "create-hosted-zone", "--name", "other.example",
                     "--caller-reference", "at-1")
        # a deleted zone's reference stays used
        z2 = self.create_zone("gone.example", "at-2")["HostedZone"]["Id"]
        self.insync(self.aws("delete-hosted-zone", "--id", z2)["ChangeInfo"]["Id"])
        self.aws_err("HostedZoneAlreadyExists", "create-hosted-zone", "--name", "gone.example",
                     "--caller-reference", "at-2")
        self.assertEqual(self.aws("get-hosted-zone-count")["HostedZoneCount"], 1)
        self.assertDig("gone.example.", [], "SOA", status="REFUSED")

    def test_5_duplicate_public_name(self):
        # ROUTE53-API.md 3.1 / ROUTE53.md HZ-4: several public zones may carry the same name
        zid, = self.need("zone")
        z3 = self.create_zone(AT, "at-3")["HostedZone"]["Id"]
        self.assertNotEqual(z3, zid)
        by_name = self.aws("list-hosted-zones-by-name", "--dns-name", AT)["HostedZones"]
        self.assertEqual([z["Id"] for z in by_name], sorted([zid, z3]))


# ---------------------------------------------------------------------------------------
# 6. Health checks: defaults, CallerReference, versions, status, dangling references

HC = "hc.example"


class ApiHealthCheckTest(ApiCase):
    CONF = {"health": {"checkers": 3}}

    def create_hc(self, ref, cfg):
        out = self.aws("create-health-check", "--caller-reference", ref,
                       "--health-check-config", json.dumps(cfg))
        hc = out["HealthCheck"]
        self.assertRegex(hc["Id"], UUID_RE)
        self.assertEqual(hc["CallerReference"], ref)
        self.assertTrue(out["Location"].endswith("/2013-04-01/healthcheck/" + hc["Id"]))
        return hc

    def test_1_defaults(self):
        base = {"MeasureLatency": False, "Inverted": False, "Disabled": False,
                "RequestInterval": 30, "FailureThreshold": 3}
        http_ = self.create_hc("d-http", {"Type": "HTTP", "IPAddress": "127.0.0.1",
                                          "ResourcePath": "/"})
        self.assertEqual(http_["HealthCheckConfig"], dict(
            base, Type="HTTP", IPAddress="127.0.0.1", ResourcePath="/", Port=80, EnableSNI=False))
        self.assertEqual(http_["HealthCheckVersion"], 1)
        https = self.create_hc("d-https", {"Type": "HTTPS", "IPAddress": "127.0.0.1",
                                           "FullyQualifiedDomainName": "tls.hc.example"})
        self.assertEqual(https["HealthCheckConfig"], dict(
            base, Type="HTTPS", IPAddress="127.0.0.1", FullyQualifiedDomainName="tls.hc.example",
            Port=443, EnableSNI=True))
        tcp = self.create_hc("d-tcp", {"Type": "TCP", "IPAddress": "127.0.0.1", "Port": 9,
                                       "Regions": ["us-east-1", "us-west-1", "eu-west-1"]})
        self.assertEqual(tcp["HealthCheckConfig"]["Regions"],
                         ["us-east-1", "us-west-1", "eu-west-1"])
        self.assertNotIn("Regions", http_["HealthCheckConfig"])
        self.assertEqual(self.aws("get-health-check", "--health-check-id",
                                  https["Id"])["HealthCheck"], https)
        self.assertEqual(self.aws("get-health-check-count")["HealthCheckCount"], 3)
        listed = self.aws("list-health-checks")["HealthChecks"]
        self.assertEqual(sorted(listed, key=lambda h: h["Id"]),
                         sorted([http_, https, tcp], key=lambda h: h["Id"]))
        self.assertEqual(self.aws("get-account-limit", "--type", "MAX_HEALTH_CHECKS_BY_OWNER"),
                         {"Limit": {"Type": "MAX_HEALTH_CHECKS_BY_OWNER", "Value": 200},
                          "Count": 3})
        self.state["tcp"] = tcp["Id"]
        self.state["http"] = http_["Id"]

    def test_2_caller_reference_table(self):
        cfg = {"Type": "TCP", "IPAddress": "127.0.0.1", "Port": 9, "RequestInterval": 10,
               "FailureThreshold": 2}
        st, _, body = raw(self.api_port, "GET", "/2013-04-01/healthcheckcount")
        self.assertEqual(st, 200, body)
        n0 = int(xml_doc(body).findtext("HealthCheckCount"))
        # same reference, identical settings, check does not exist yet: created
        first = self.create_hc("cr-A", cfg)
        # same reference, identical settings, check exists: the same check again
        again = self.create_hc("cr-A", cfg)
        self.assertEqual(again, first)
        # same reference, different settings: HealthCheckAlreadyExists
        self.aws_err("HealthCheckAlreadyExists", "create-health-check", "--caller-reference",
                     "cr-A", "--health-check-config", json.dumps(dict(cfg, Port=10)))
        # new reference, identical settings: a second check
        second = self.create_hc("cr-B", cfg)
        self.assertNotEqual(second["Id"], first["Id"])
        # a deleted check's reference, whatever the settings: HealthCheckAlreadyExists
        self.assertIsNone(self.aws("delete-health-check", "--health-check-id", second["Id"]))
        self.aws_err("NoSuchHealthCheck", "get-health-check", "--health-check-id", second["Id"])
        self.aws_err("HealthCheckAlreadyExists", "create-health-check", "--caller-reference",
                     "cr-B", "--health-check-config", json.dumps(cfg))
        self.aws_err("HealthCheckAlreadyExists", "create-health-check", "--caller-reference",
                     "cr-B", "--health-check-config", json.dumps(dict(cfg, Port=11)))
        self.assertEqual(self.aws("get-health-check-count")["HealthCheckCount"], n0 + 1)
        self.state["cr"] = first["Id"]

    def test_3_versions_and_updates(self):
        hid, = self.need("http")
        out = self.aws("update-health-check", "--health-check-id", hid,
                       "--health-check-version", "1", "--port", "8080",
                       "--resource-path", "/status")
        h = out["HealthCheck"]
        self.assertEqual(h["HealthCheckVersion"], 2)
        self.assertEqual((h["HealthCheckConfig"]["Port"], h["HealthCheckConfig"]["ResourcePath"]),
                         (8080, "/status"))
        # stale and future versions
        for v in ("1", "7"):
            self.aws_err("HealthCheckVersionMismatch", "update-health-check",
                         "--health-check-id", hid, "--health-check-version", v,
                         "--failure-threshold", "5")
        # without a version: no check, still counted
        h = self.aws("update-health-check", "--health-check-id", hid, "--failure-threshold",
                     "2", "--regions", "us-east-1", "us-west-2", "eu-west-1")["HealthCheck"]
        self.assertEqual(h["HealthCheckVersion"], 3)
        self.assertEqual(h["HealthCheckConfig"]["FailureThreshold"], 2)
        self.assertEqual(h["HealthCheckConfig"]["Port"], 8080)       # omitted: kept
        self.assertEqual(h["HealthCheckConfig"]["Regions"], ["us-east-1", "us-west-2",
                                                             "eu-west-1"])
        # ResetElements
        h = self.aws("update-health-check", "--health-check-id", hid, "--health-check-version",
                     "3", "--reset-elements", "ResourcePath", "Regions")["HealthCheck"]
        self.assertEqual(h["HealthCheckVersion"], 4)
        self.assertNotIn("ResourcePath", h["HealthCheckConfig"])
        self.assertIn(sorted(h["HealthCheckConfig"].get("Regions", [])), ([], sorted(REGIONS)))
        self.assertEqual(h["HealthCheckConfig"]["RequestInterval"], 30)
        self.assertEqual(self.aws("get-health-check", "--health-check-id", hid)["HealthCheck"], h)
        self.aws_err("NoSuchHealthCheck", "update-health-check", "--health-check-id", NO_CHECK,
                     "--failure-threshold", "2")

    def test_4_status_and_tags(self):
        tid, hid = self.need("tcp", "http")
        out = self.aws("get-health-check-status", "--health-check-id", tid)
        self.assertIsInstance(out["HealthCheckObservations"], list)
        self.check_observations(out["HealthCheckObservations"])
        out = self.aws("get-health-check-last-failure-reason", "--health-check-id", tid)
        self.assertIsInstance(out["HealthCheckObservations"], list)
        self.check_observations(out["HealthCheckObservations"], prefix="Failure")
        self.assertEqual(self.aws("get-checker-ip-ranges")["CheckerIpRanges"], ["127.0.0.1/32"])
        self.aws_errs([
            ("NoSuchHealthCheck", ("get-health-check-status", "--health-check-id", NO_CHECK)),
            ("NoSuchHealthCheck", ("get-health-check-last-failure-reason",
                                   "--health-check-id", NO_CHECK)),
        ])
        self.aws("change-tags-for-resource", "--resource-type", "healthcheck", "--resource-id",
                 tid, "--add-tags", "Key=Name,Value=tcp-9")
        out = self.aws("list-tags-for-resources", "--resource-type", "healthcheck",
                       "--resource-ids", tid, hid)
        sets = {s["ResourceId"]: s for s in out["ResourceTagSets"]}
        self.assertEqual(sets[tid], {"ResourceType": "healthcheck", "ResourceId": tid,
                                     "Tags": [{"Key": "Name", "Value": "tcp-9"}]})
        self.assertEqual(sets[hid]["Tags"], [])

    def test_5_deleted_check_is_healthy(self):
        zid = self.create_zone(HC, "hc-zone")["HostedZone"]["Id"]
        hc = self.create_hc("hc-fo", {"Type": "TCP", "IPAddress": "127.0.0.1", "Port": 9})
        p = simple("fo.hc.example.", "A", ["192.0.2.1"], SetIdentifier="p", Failover="PRIMARY",
                   HealthCheckId=hc["Id"])
        s = simple("fo.hc.example.", "A", ["192.0.2.2"], SetIdentifier="s",
                   Failover="SECONDARY")
        self.change_ok(zid, batch(change("CREATE", p), change("CREATE", s)))
        # port 9 is closed, but 3 failures x 30 s are far away: force the state by hand
        code, _, body = raw(self.api_port, "POST", "/healthchecks/%s/force" % hc["Id"],
                            body=b"unhealthy", headers={"Content-Type": "text/plain"})
        self.assertEqual(code, 200, body)
        self.wait_dig("fo.hc.example.", ["192.0.2.2"], 3 * SLOW, every=0.05)
        self.assertEqual(self.dns_answer(zid, "fo.hc.example"), ("NOERROR", ["192.0.2.2"]))
        # deleting a check that record sets still use is allowed; the reference is healthy
        self.assertIsNone(self.aws("delete-health-check", "--health-check-id", hc["Id"]))
        self.wait_dig("fo.hc.example.", ["192.0.2.1"], 3 * SLOW, every=0.05)
        self.assertEqual(self.dns_answer(zid, "fo.hc.example"), ("NOERROR", ["192.0.2.1"]))
        self.assertIn(p, self.list_rrsets(zid))
        self.aws_err("NoSuchHealthCheck", "delete-health-check", "--health-check-id", hc["Id"])
        # the exact DELETE still names the deleted check
        self.change_ok(zid, batch(change("DELETE", p), change("DELETE", s)))
        self.assertDig("fo.hc.example.", [], status="NXDOMAIN")


# ---------------------------------------------------------------------------------------
# 7. SigV4 with api.credentials

KEY_ID, SECRET = "AKIDR53DTESTKEY00001", "r53d/Test+Secret0000000000000000000000000"


class ApiAuthTest(ApiCase):
    CONF = {"api": {"credentials": [{"AccessKeyId": KEY_ID, "SecretAccessKey": SECRET}]}}

    @classmethod
    def after_start(cls):
        cls.good = cls.cli.with_(key=KEY_ID, secret=SECRET)

    def test_1_good_keys(self):
        g = self.good
        self.assertEqual(self.aws("get-hosted-zone-count", cli=g)["HostedZoneCount"], 0)
        zid = self.aws("create-hosted-zone", "--name", "auth.example", "--caller-reference",
                       "auth-1", cli=g)["HostedZone"]["Id"]
        self.state["zone"] = zid
        ci = self.aws("change-resource-record-sets", "--hosted-zone-id", zid, "--change-batch",
                      batch(change("CREATE", simple("*.auth.example", "A", ["192.0.2.1"]))),
                      cli=g)["ChangeInfo"]
        self.assertEqual(self.aws("get-change", "--id", ci["Id"], cli=g)["ChangeInfo"]["Status"],
                         "INSYNC")
        # query strings with characters that SigV4 percent-encodes
        out = self.aws("list-resource-record-sets", "--hosted-zone-id", zid, "--no-paginate",
                       "--start-record-name", "*.auth.example", "--start-record-type", "A",
                       "--max-items", "1", cli=g)
        self.assertEqual(out["ResourceRecordSets"][0]["Name"], "\\052.auth.example.")
        self.assertDig("x.auth.example.", ["192.0.2.1"])

    def test_2_any_region(self):
        eu = self.good.with_(region="eu-west-1")
        self.assertEqual(self.aws("get-hosted-zone-count", cli=eu)["HostedZoneCount"], 1)
        out = self.aws("list-hosted-zones-by-name", "--dns-name", "auth.example", cli=eu)
        self.assertEqual(out["HostedZones"][0]["Name"], "auth.example.")
        ap = self.good.with_(region="ap-southeast-2")
        self.aws("create-health-check", "--caller-reference", "auth-hc", "--health-check-config",
                 json.dumps({"Type": "TCP", "IPAddress": "127.0.0.1", "Port": 9}), cli=ap)

    def test_3_rejected(self):
        self.aws_err("SignatureDoesNotMatch", "get-hosted-zone-count",
                     cli=self.good.with_(secret="wrong-secret"))
        self.aws_err("SignatureDoesNotMatch", "create-hosted-zone", "--name", "evil.example",
                     "--caller-reference", "evil", cli=self.good.with_(secret=SECRET + "x"))
        self.aws_err("InvalidClientTokenId", "get-hosted-zone-count",
                     cli=self.good.with_(key="AKIDUNKNOWN000000000"))
        self.aws_err("InvalidClientTokenId", "list-hosted-zones",
                     cli=self.cli)                       # test/test: not configured
        self.aws_err("MissingAuthenticationToken", "get-hosted-zone-count", "--no-sign-request",
                     cli=self.good)
        st, _, body = raw(self.api_port, "GET", "/2013-04-01/hostedzonecount")
        self.assertEqual((st, xml_error(body)["Code"]), (403, "MissingAuthenticationToken"),
                         body)
        # a captured, valid-looking but stale Authorization header for another request
        st, _, body = raw(self.api_port, "GET", "/2013-04-01/hostedzone", headers={
            "X-Amz-Date": "20261205T173433Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20261205/us-east-1/route53/"
                             "aws4_request, SignedHeaders=host;x-amz-date, Signature=%s" %
                             (KEY_ID, "0" * 64)})
        self.assertEqual((st, xml_error(body)["Code"]), (403, "SignatureDoesNotMatch"), body)
        # nothing was created by the rejected calls
        self.assertEqual(self.aws("get-hosted-zone-count", cli=self.good)["HostedZoneCount"], 1)


if __name__ == "__main__":
    unittest.main()
