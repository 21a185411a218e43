# SPDX-License-Identifier: MIT
"""Terraform against r53d's Route 53 API, without Terraform: the AWS provider's call sequences
replayed with boto3 (spec/ROUTE53-TERRAFORM.md §12), every field Terraform reads back checked
against what it sent, every pitfall of §13 asserted, and dig checks that the records Terraform
created are answered.

The replay itself is tf_replay.py beside this file, run as a subprocess with Debian's
/usr/bin/python3 (python3-boto3): this module runs under whatever python CMake found, which may
lack boto3. If /usr/bin/python3 cannot import boto3 the tests FAIL (contrib/deps.sh installs
python3-boto3); they are not skipped.

  TerraformReplayTest        r53d without api.credentials (any signature or none accepted):
                             main (zone + tags, 3 health checks, 15 records of every flavour:
                             create in parallel, refresh with no diff, update, destroy in
                             Terraform's order; the failover pair flipped through
                             POST /healthchecks/ID/force and seen in dig), private (VPC zone,
                             zone association, ListHostedZonesByVPC), force_destroy, cidr
                             (collection, location, CIDR-routed record), wire (raw Go-SDK-style
                             requests, ErrorResponse shapes, atomic batches), auth (unsigned
                             requests pass), dnssec (key-signing keys and hosted zone DNSSEC:
                             create, plan with no diff, status updates, signing on and off,
                             destroy, reads after out-of-band deletes; the parent's DS from
                             ds_record; dig, ldns-key2ds and delv check what is served).
  TerraformReplaySignedTest  r53d with api.credentials: main, wire and dnssec signed as
                             us-east-1 with the configured key (the signatures verify), auth
                             (other regions' scopes verify; wrong secret, unknown key, missing
                             signature and a tampered body get 403 with SignatureDoesNotMatch /
                             InvalidClientTokenId / MissingAuthenticationToken).

Each class runs one r53d with no hosted zones in its configuration (zones come from the API)
and the API on admin.listen; the class fails if r53d dies or does not exit 0 on SIGTERM.
Only loopback addresses; every wait is bounded.
"""

import http.client
import json
import os
import random
import re
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import SLOW, R53d

SYS_PYTHON = "/usr/bin/python3"
REPLAY = os.path.join(harness.HERE, "tf_replay.py")
SANITIZER = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|"
                       r"runtime error:")
ACCESS_KEY = "AKIDR53DTERRAFORM01"
SECRET_KEY = "r53d/terraform+replay/secret0123456789ABCD"


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


def boto3_problem():
    """None if /usr/bin/python3 imports boto3, else why not."""
    if not os.access(SYS_PYTHON, os.X_OK):
        return "%s not found: install Debian's python3 and python3-boto3 (contrib/deps.sh)" % SYS_PYTHON
    try:
        p = subprocess.run([SYS_PYTHON, "-c", "import boto3, botocore; print(boto3.__version__)"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                           stdin=subprocess.DEVNULL, env=replay_env(tempfile.gettempdir()))
    except subprocess.TimeoutExpired:
        return "%s -c 'import boto3' timed out" % SYS_PYTHON
    if p.returncode != 0:
        return ("%s cannot import boto3 (install python3-boto3: contrib/deps.sh):\n%s"
                % (SYS_PYTHON, p.stdout.decode("utf-8", "replace")[-2000:]))
    return None


def replay_env(home):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "pythonpath", "pythonhome")}
    env.update(HOME=home, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_PAGER="", AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def wait_api(port, proc, timeout, log):
    """Poll GET /2013-04-01/hostedzone until any HTTP answer (403 counts: the API is up)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("r53d exited with %s:\n%s" % (proc.returncode, log()))
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            c.connect()
            if c.sock.getsockname() == c.sock.getpeername():
                raise ConnectionRefusedError("self-connect")   # nobody listens yet
            c.request("GET", "/2013-04-01/hostedzone")
            r = c.getresponse()
            r.read()
            return r.status
        except (OSError, http.client.HTTPException) as e:
            last = e
        finally:
            c.close()
        time.sleep(0.05)
    raise RuntimeError("the API on 127.0.0.1:%d did not answer within %.0f s (%s):\n%s"
                       % (port, timeout, last, log()))


class ReplayCase(unittest.TestCase):
    CREDENTIALS = None     # api.credentials for r53d, or None
    srv = None

    @classmethod
    def setUpClass(cls):
        if not harness.R53D:
            raise unittest.SkipTest("no r53d binary given (--r53d)")
        cls.boto = boto3_problem()
        cls.home = tempfile.mkdtemp(prefix="r53d-tf-home-")
        conf = {}
        if cls.CREDENTIALS:
            conf["api"] = {"credentials": cls.CREDENTIALS}
        cls.srv = R53d(zones=[], **conf)
        cls.admin_port = quiet_port()
        while cls.admin_port == cls.srv.port:
            cls.admin_port = quiet_port()
        cls.srv.conf["admin"] = {"listen": "127.0.0.1:%d" % cls.admin_port}
        cls.srv.write_conf()
        try:
            cls.srv.start()
            wait_api(cls.admin_port, cls.srv.proc, 15 * SLOW, cls.srv.log)
        except Exception:
            cls.srv.cleanup()
            cls.srv = None
            raise

    @classmethod
    def tearDownClass(cls):
        srv = cls.srv
        if srv is None:
            return
        try:
            alive = srv.alive()
            rc = srv.stop()
            log = srv.log()
        finally:
            srv.cleanup()
        if not alive:
            raise AssertionError("r53d died during %s (exit %s):\n%s" % (cls.__name__, rc, log))
        if rc != 0:
            raise AssertionError("r53d exit status after SIGTERM was %s, want 0:\n%s" % (rc, log))
        if SANITIZER.search(log):
            raise AssertionError("sanitizer report in the r53d log:\n%s" % log)

    def replay(self, *scenarios, timeout=150):
        if self.boto:
            self.fail(self.boto)
        self.assertTrue(self.srv.alive(), "r53d is not running:\n" + self.srv.log())
        argv = [SYS_PYTHON, REPLAY, "--endpoint", "http://127.0.0.1:%d" % self.admin_port,
                "--dns-port", str(self.srv.port), "--force-health"]
        if self.CREDENTIALS:
            argv += ["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY, "--strict-auth"]
        argv += list(scenarios)
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=timeout * SLOW,
                               env=replay_env(self.home), cwd=self.home)
        except subprocess.TimeoutExpired as e:
            self.fail("tf_replay %s did not finish within %d s; its stderr:\n%s\nr53d log:\n%s"
                      % (" ".join(scenarios), timeout * SLOW,
                         (e.stderr or b"").decode("utf-8", "replace")[-4000:], self.srv.log()))
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        line = next((x for x in reversed(out.splitlines()) if x.startswith("RESULT ")), None)
        if line is None:
            self.fail("tf_replay printed no RESULT (exit %d):\n%s\n%s" % (p.returncode, out[-3000:],
                                                                       err[-5000:]))
        res = json.loads(line[len("RESULT "):])
        for n in res["notes"]:
            print("        " + n, flush=True)
        self.assertTrue(self.srv.alive(), "r53d died during the replay:\n" + self.srv.log())
        if res["failures"]:
            self.fail("%d of %d checks failed:\n%s\n--- r53d log (tail) ---\n%s" % (
                len(res["failures"]), res["checks"], "\n".join(res["failures"]),
                self.srv.log()[-3000:]))
        self.assertEqual(p.returncode, 0, err[-3000:])
        self.assertGreater(res["checks"], 0)


class TerraformReplayTest(ReplayCase):
    """No api.credentials: every request is accepted, signed (us-east-1) or not."""

    def test_main(self):
        """zone, health checks, every record flavour: create, refresh, update, destroy"""
        self.replay("main")

    def test_private_zone_and_association(self):
        self.replay("private")

    def test_force_destroy(self):
        self.replay("force_destroy")

    def test_cidr(self):
        self.replay("cidr")

    def test_wire(self):
        """raw Go-SDK-style requests, error shapes, atomic batches"""
        self.replay("wire")

    def test_auth_open(self):
        self.replay("auth")

    def test_dnssec(self):
        """aws_route53_key_signing_key + aws_route53_hosted_zone_dnssec"""
        self.replay("dnssec")


class TerraformReplaySignedTest(ReplayCase):
    """api.credentials configured: SigV4 is verified."""

    CREDENTIALS = [{"AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY}]

    def test_main_signed(self):
        self.replay("main")

    def test_wire_signed(self):
        self.replay("wire")

    def test_dnssec_signed(self):
        self.replay("dnssec")

    def test_auth_strict(self):
        self.replay("auth")


if __name__ == "__main__":
    unittest.main()
