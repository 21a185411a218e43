# SPDX-License-Identifier: MIT
"""DNSSEC validated by real validators (issue 14): the SecureCart example signed by r53d.

One r53d serves a copy of contrib/example (r53d.json, securecart.test.zone, the record sets
of every routing policy) with a "dnssec" section of short rollover timings (zsk_lifetime 8,
zsk_prepublish 3, zsk_retire 3, dnskey_ttl 2: the ZSK rolls every 8 s while the tests run)
and the KSK's KeyManagementServiceArn mapped to a P-256 PKCS#8 file generated here (mode
0600). Nothing here checks a signature with r53d's own code:

  test_0_readable_ksk_...   a KMS-mapped key file readable by group or others: r53d --check
                            refuses the configuration.
  test_1_aws_cli_drill      /usr/bin/aws route53 create-key-signing-key (the mapped ARN),
                            enable-hosted-zone-dnssec, get-dnssec: the fields and shapes
                            Route 53 prints (SIGNING, Flag 257, algorithm 13, digest 2, DSRecord
                            = "KeyTag 13 2 DigestValue", DNSKEYRecord = "257 3 13 PublicKey",
                            PublicKey = the key file's public point by openssl); the DSRecord
                            printed becomes the validators' trust anchor. A second r53d (the
                            child server) serves signed.securecart.test, signed the same way
                            with a KSK r53d generates (ARN not in kms_keys), and
                            unsigned.securecart.test. Through the parent's API: a wildcard
                            *.w, the delegation signed. with the child's DS, unsigned. without
                            DS (glue for both), a TTL over the one-week limit.
  test_2_unbound_*          Unbound (validator, trust-anchor = that DS, val-log-level 2, cache
                            capped at 2 s, loopback only) answers with AD: every routing policy,
                            the alias, the wildcards, every negative kind (NXDOMAIN, NODATA at
                            a name, at an empty non-terminal, at a wildcard match), DS and
                            no-DS at the delegations, a name in the signed child (AD: the chain
                            runs through the parent's DS) and in the unsigned one (answered,
                            insecure: no AD, no SERVFAIL), and ECS variants (client subnets sent
                            through Unbound's subnet cache to r53d: geolocation and IP-based
                            answers change with the subnet, still AD).
  test_3_delv               delv @r53d -a ANCHOR +root=securecart.test: "fully validated" for
                            positive and negative answers, straight from r53d.
  test_4_ldns               python3-ldns (ldns_verify_rrsig_keylist) on single responses of r53d
                            with DO: every RRSIG of answer and authority verified against the
                            DNSKEY RRset that the DS anchors; referrals (DS + RRSIG, or an NSEC
                            at the cut showing NS and no DS), the compact NXDOMAIN (NSEC at the
                            name, next \\000.name, types RRSIG NSEC NXNAME), the CO flag
                            (NXDOMAIN, CO echoed), an ECS query with DO, a qtype NXNAME query
                            (FORMERR), the signature window (inception in the past, expiry more
                            than a week ahead), the TTL cap (604800, also as Original TTL), no
                            DNSSEC records without DO.
  test_5_zsk_rollover       queries through Unbound for a whole ZSK rollover (bounded): no
                            answer lacks AD or is SERVFAIL; straight from r53d, the successor
                            appears in the DNSKEY RRset at least the DNSKEY TTL before it signs
                            and the old ZSK leaves the RRset only after the successor signs.
  test_6_tampered_anchor    a second Unbound whose DS has one digit changed, and delv with
                            another key as anchor: SERVFAIL / broken trust chain; the good
                            Unbound logged no validation failure in the whole run.

Needs unbound, delv (bind9-dnsutils), /usr/bin/aws, openssl and /usr/bin/python3 with the
ldns module (python3-ldns); contrib/deps.sh installs them; a missing one fails the test.
Loopback only (Unbound may query nothing but 127.0.0.0/8: do-not-query-address for the rest);
every wait bounded; processes stopped by their own PIDs.
"""

import base64
import calendar
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import dnswire
import harness
from dnssec_util import key_tag, ldns_pkt, ldns_rrs
from harness import SLOW, R53d

TOP = os.path.normpath(os.path.join(harness.HERE, "..", ".."))
EXAMPLE = os.path.join(TOP, "contrib", "example")
UNBOUND = os.environ.get("R53D_UNBOUND") or shutil.which("unbound") or "/usr/sbin/unbound"
DELV = shutil.which("delv") or "/usr/bin/delv"
AWS = "/usr/bin/aws"
SYS_PYTHON = "/usr/bin/python3"     # Debian's: the one python3-ldns is for
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
ZONE = "securecart.test."
ZONE_ID = "Z1SECURECART"
KMS_ARN = "arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011"
KSK_NAME = "securecart_ksk"
ROLL = {"zsk_lifetime": 8, "zsk_prepublish": 3, "zsk_retire": 3, "dnskey_ttl": 2}
FR, US, HQ = "198.51.100.0/24", "192.0.2.0/24", "203.0.113.0/24"   # tests/fixtures/geo
NXNAME = 128
# the children below the two delegations, served by a second r53d (the "child server"):
# signed.securecart.test signed with a KSK r53d generates (no kms_keys entry for its ARN),
# its DS put into the parent through the API; unsigned.securecart.test unsigned
CHILD_SIGNED, CHILD_UNSIGNED = "signed." + ZONE, "unsigned." + ZONE
CHILD_ARN = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-4333-8444-555555555555"
CHILD_HOST = {CHILD_SIGNED: "192.0.2.88", CHILD_UNSIGNED: "192.0.2.89"}


def child_zone(name):
    return "\n".join([
        "$ORIGIN %s" % name, "$TTL 60",
        "@ 60 IN SOA ns1 hostmaster 1 7200 900 1209600 60",
        "@ 60 IN NS ns1",
        "ns1 IN A 127.0.0.1",
        "host IN A %s" % CHILD_HOST[name], ""])

SERVFAIL = "SERVFAIL"
# r53d's answers for the example's names (health checks fail: nothing listens on their
# ports, so weighted/failover/multivalue may pick any of their sets)
POSITIVE = [
    ("shop", "A", {"192.0.2.20", "192.0.2.21", "192.0.2.22"}, "all"),      # simple
    ("mail", "A", {"192.0.2.25"}, "all"),
    ("www", "A", {"192.0.2.10", "192.0.2.11"}, "some"),                    # weighted
    ("", "A", {"192.0.2.10", "192.0.2.11"}, "some"),                       # alias -> www
    ("checkout", "A", {"192.0.2.30", "192.0.2.31"}, "one"),                # failover
    ("api", "A", {"198.51.100.30", "198.51.100.31"}, "one"),               # latency
    ("store", "A", {"203.0.113.42"}, "all"),                               # geolocation *
    ("edge", "A", {"198.51.100.60", "198.51.100.61"}, "one"),              # geoproximity
    ("images", "A", {"192.0.2.51", "192.0.2.52", "192.0.2.53"}, "some"),   # multivalue
    ("intranet", "A", {"10.10.0.1"}, "all"),                               # IP-based: hq
    ("", "MX", {"10 mail.securecart.test."}, "all"),
    ("", "TXT", {'"v=spf1 mx -all"'}, "all"),
    ("", "NS", {"ns-314.awsdns-39.com.", "ns-1822.awsdns-35.co.uk.",
                "ns-524.awsdns-01.net.", "ns-1293.awsdns-33.org."}, "all"),
    ("_submission._tcp", "SRV", {"0 1 587 mail.securecart.test."}, "all"),
    ("x.w", "A", {"192.0.2.77"}, "all"),                                   # wildcard (API)
]
# (name, type): answered without records, proved by NSEC (black lies: NOERROR)
NEGATIVE = [
    ("nosuch", "A", "NXDOMAIN"),
    ("deeper.nosuch", "AAAA", "NXDOMAIN"),
    ("shop", "AAAA", "NODATA at a name"),
    ("", "AAAA", "NODATA at the apex"),
    ("_tcp", "A", "NODATA at an empty non-terminal"),
    ("cdn", "A", "NODATA at an empty non-terminal"),
    ("x.w", "TXT", "NODATA at a wildcard match"),
    ("unsigned", "DS", "no DS at a delegation"),
    ("eu", "DS", "no DS at a delegation (zone file)"),
]


def ds_text(rdata):
    """dig's DS rdata, digest in one upper-case piece: "TAG ALG TYPE HEX"."""
    f = rdata.split()
    return " ".join(f[:3] + ["".join(f[3:]).upper()])


def keytag(rdata):
    """RFC 4034 appendix B key tag of a DNSKEY in dig's text ("FLAGS 3 ALG BASE64...");
    only to tell keys apart, nothing is verified with it."""
    f = rdata.split()
    return key_tag(struct.pack("!HBB", int(f[0]), int(f[1]), int(f[2])) +
                   base64.b64decode("".join(f[3:])))


def admin_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * SLOW)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def fq(label):
    return ZONE if not label else label + "." + ZONE


def note(text):
    print("        " + text, flush=True)


def need(path, what):
    if not os.access(path, os.X_OK):
        raise AssertionError("%s not found (%s): contrib/deps.sh installs it" % (path, what))


def run(argv, timeout=30, env=None, stdin=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       input=stdin, timeout=timeout * SLOW)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def mmdb_path(workdir):
    """The geo fixture MMDB: R53D_GEO_MMDB, the r53d build's, else made here."""
    p = os.environ.get("R53D_GEO_MMDB", "")
    if p and os.path.isfile(p):
        return p
    if harness.R53D:
        p = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(harness.R53D)), "..",
                                          "tests", "fixtures", "geo", "geolite2-city.mmdb"))
        if os.path.isfile(p):
            return p
    src = os.path.join(harness.FIXTURES, "geo")
    rc, out, err = run(["perl", os.path.join(src, "make-mmdb.pl"), os.path.join(src, "city.txt"),
                        workdir], timeout=120)
    p = os.path.join(workdir, "geolite2-city.mmdb")
    if rc != 0 or not os.path.isfile(p):
        raise RuntimeError("cannot make the geo fixture MMDB:\n" + out + err)
    return p


# ---------------------------------------------------------------------------------------
# Queries built here (dnswire has no CO flag): OPT flags DO 0x8000, CO 0x4000 (RFC 9824)

def ecs_option(cidr):
    net, plen = cidr.split("/")
    plen = int(plen)
    addr = socket.inet_aton(net)[:(plen + 7) // 8]
    body = struct.pack("!HBB", 1, plen, 0) + addr
    return struct.pack("!HH", 8, len(body)) + body


def query_wire(name, qtype, do=True, co=False, ecs=None, rd=False):
    opts = ecs_option(ecs) if ecs else b""
    ttl = (0x8000 if do else 0) | (0x4000 if co else 0)
    q = dnswire.encode_name(name) + struct.pack("!HH", dnswire.type_code(qtype)
                                                if isinstance(qtype, str) else qtype, 1)
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, ttl, len(opts)) + opts
    return struct.pack("!6H", 0x1234, 0x0100 if rd else 0, 1, 0, 0, 1) + q + opt


def ask_wire(port, wire, timeout=2.0):
    """UDP, then TCP when truncated; the reply bytes (None: no answer)."""
    data = dnswire.udp_exchange(port, wire, timeout=timeout * SLOW)
    if data is not None and len(data) > 3 and data[2] & 0x02:
        data = dnswire.tcp_exchange(port, wire, timeout * SLOW)
    return data


def opt_flags(wire):
    """(EDNS flags word, ECS option bytes or None) of a reply, read by dnswire."""
    m = dnswire.Message(wire)
    for rr in [m.opt] if m.opt is not None else []:
        if rr.type == 41:
            ecs = None
            rd = rr.rdata if isinstance(rr.rdata, bytes) else b""
            i = 0
            while i + 4 <= len(rd):
                code, ln = struct.unpack("!HH", rd[i:i + 4])
                if code == 8:
                    ecs = rd[i + 4:i + 4 + ln]
                i += 4 + ln
            return rr.ttl & 0xFFFF, ecs
    return None, None


# ---------------------------------------------------------------------------------------
# ldns: run as `/usr/bin/python3 test_dnssec.py --ldns-verify` (python3-ldns is Debian's,
# the test runner's python may be another). Input (JSON on stdin): the DS anchor text, the
# reply to "ZONE DNSKEY" with DO, and replies to check (hex). Output (JSON): per reply the
# rcode, the records by section and, for every RRset of answer and authority, whether
# ldns_verify_rrsig_keylist accepted its RRSIGs with the anchored DNSKEY RRset.

def ldns_main():
    import ldns   # noqa: only under /usr/bin/python3
    req = json.load(sys.stdin)

    pkt, rrs = ldns_pkt, ldns_rrs

    def rdata_text(rr):
        return " ".join(str(rr.rdf(i)) for i in range(rr.rd_count()))

    def verify(rrset, sigs, keys):
        if sigs.rr_count() == 0:
            return "unsigned"
        # every RRSIG given must verify with one of the keys (ldns checks the validity
        # window, the key tag, the labels and the canonical RRset)
        for i in range(sigs.rr_count()):
            st = ldns.ldns_verify_rrsig_keylist_(rrset, sigs.rr(i), keys)
            st = st[0] if isinstance(st, (list, tuple)) else st
            if st != ldns.LDNS_STATUS_OK:
                return ldns.ldns_get_errorstr_by_id(st)
        return "ok"

    out = {"anchor": None, "replies": []}
    ds = ldns.ldns_rr.new_frm_str(req["ds"], raiseException=True)
    kp = pkt(req["dnskey"])
    keys = ldns.ldns_rr_list()
    ksigs = ldns.ldns_rr_list()
    anchored = ldns.ldns_rr_list()
    for rr in rrs(kp.answer()):
        t = rr.get_type()
        if t == ldns.LDNS_RR_TYPE_DNSKEY:
            keys.push_rr(rr.clone())
            if ldns.ldns_rr_compare_ds(rr, ds):
                anchored.push_rr(rr.clone())
        elif t == ldns.LDNS_RR_TYPE_RRSIG:
            ksigs.push_rr(rr.clone())
    if anchored.rr_count() == 0:
        out["anchor"] = "no DNSKEY matches the DS"
    else:
        out["anchor"] = verify(keys, ksigs, anchored)
    out["keys"] = keys.rr_count()
    for h in req["replies"]:
        p = pkt(h)
        r = {"rcode": int(p.get_rcode()), "sections": {}, "rrsets": []}
        for sec, lst in (("answer", p.answer()), ("authority", p.authority()),
                         ("additional", p.additional())):
            r["sections"][sec] = [[str(rr.owner()).lower(), ldns.ldns_rr_type2str(rr.get_type()),
                                   rdata_text(rr)] for rr in rrs(lst)]
            if sec == "additional":
                continue
            groups = {}
            for rr in rrs(lst):
                t = rr.get_type()
                if t == ldns.LDNS_RR_TYPE_RRSIG:
                    key = (str(rr.owner()).lower(), int(ldns.ldns_rdf2rr_type(rr.rdf(0))))
                    groups.setdefault(key, [ldns.ldns_rr_list(), ldns.ldns_rr_list()])[1] \
                        .push_rr(rr.clone())
                else:
                    key = (str(rr.owner()).lower(), int(t))
                    groups.setdefault(key, [ldns.ldns_rr_list(), ldns.ldns_rr_list()])[0] \
                        .push_rr(rr.clone())
            for (owner, t), (rrset, sigs) in groups.items():
                r["rrsets"].append({"section": sec, "owner": owner,
                                    "type": ldns.ldns_rr_type2str(t),
                                    "records": rrset.rr_count(),
                                    "sig": verify(rrset, sigs, keys) if rrset.rr_count()
                                    else "RRSIG without RRset"})
        out["replies"].append(r)
    json.dump(out, sys.stdout)
    return 0


def ldns_check(port, anchor, replies):
    """Hand replies (bytes) to the ldns verifier (see ldns_main); its parsed JSON."""
    dnskey = ask_wire(port, query_wire(ZONE, "DNSKEY"))
    if dnskey is None:
        raise AssertionError("no reply to %s DNSKEY" % ZONE)
    req = {"ds": anchor, "dnskey": dnskey.hex(), "replies": [r.hex() for r in replies]}
    rc, out, err = run([SYS_PYTHON, os.path.abspath(__file__), "--ldns-verify"], timeout=60,
                       stdin=json.dumps(req).encode())
    if rc != 0:
        raise AssertionError("ldns verifier failed (%d): %s%s" % (rc, out, err))
    return json.loads(out)


# ---------------------------------------------------------------------------------------
# Unbound: a validating resolver on loopback in front of r53d

# every IPv4 network but 127.0.0.0/8 (do-not-query-address has no exceptions)
NOT_LOOPBACK = ["0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/4", "112.0.0.0/5", "120.0.0.0/6",
                "124.0.0.0/7", "126.0.0.0/8", "128.0.0.0/1", "::/0"]


class Unbound:
    def __init__(self, workdir, name, r53d_port, anchor, child_port=None):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = harness.free_port()
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.log = os.path.join(self.dir, "unbound.log")
        self.proc = None
        L = ["server:",
             "    interface: 127.0.0.1", "    port: %d" % self.port,
             "    interface-automatic: no", "    so-reuseport: no",
             "    do-ip4: yes", "    do-ip6: no", "    do-udp: yes", "    do-tcp: yes",
             "    access-control: 127.0.0.0/8 allow",
             "    do-not-query-localhost: no",
             '    chroot: ""', '    username: ""', '    directory: "%s"' % self.dir,
             '    pidfile: "%s"' % os.path.join(self.dir, "unbound.pid"),
             "    use-syslog: no", '    logfile: "%s"' % self.log, "    log-time-ascii: yes",
             "    verbosity: 1", "    val-log-level: 2", "    num-threads: 1",
             "    outgoing-range: 64", "    num-queries-per-thread: 64",
             '    module-config: "subnetcache validator iterator"',
             "    qname-minimisation: no", "    trust-anchor-signaling: no",
             "    root-key-sentinel: no",
             '    trust-anchor: "%s"' % anchor,
             # the ZSK rolls every 8 s: nothing cached longer than the DNSKEY TTL
             "    cache-max-ttl: 2", "    cache-max-negative-ttl: 2",
             "    infra-host-ttl: 60", "    serve-expired: no", "    prefetch: no",
             # ECS: the client's subnet (or its own address) to r53d for the zone
             "    client-subnet-zone: \"%s\"" % ZONE,
             "    max-client-subnet-ipv4: 24", "    client-subnet-always-forward: no",
             '    local-zone: "." refuse', '    local-zone: "test." nodefault',
             '    local-zone: "%s" transparent' % ZONE]
        L += ["    do-not-query-address: %s" % n for n in NOT_LOOPBACK]
        L += ["", "remote-control:", "    control-enable: no", "",
              "stub-zone:", '    name: "%s"' % ZONE, "    stub-addr: 127.0.0.1@%d" % r53d_port,
              ""]
        # the children's servers are on loopback port child_port, which no referral can
        # name: stubs (the DS is still asked of the parent, r53d)
        for child in (CHILD_SIGNED, CHILD_UNSIGNED) if child_port else ():
            L += ["stub-zone:", '    name: "%s"' % child,
                  "    stub-addr: 127.0.0.1@%d" % child_port, ""]
        with open(self.conf, "w") as f:
            f.write("\n".join(L))

    def start(self):
        rc, out, err = run([os.path.join(os.path.dirname(UNBOUND), "unbound-checkconf"),
                            self.conf])
        if rc != 0:
            raise AssertionError("unbound-checkconf: %s%s" % (out, err))
        logf = open(os.path.join(self.dir, "stderr"), "ab")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf, start_new_session=True)
        logf.close()
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self):
        wire = dnswire.make_query("localhost.", "A", rd=True)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("unbound exited (%s):\n%s" % (self.proc.returncode,
                                                                   self.log_tail()))
            if dnswire.udp_exchange(self.port, wire, timeout=0.2) is not None:
                return
            time.sleep(0.05)
        raise AssertionError("unbound did not answer within 10 s:\n" + self.log_tail())

    def log_tail(self, n=30):
        text = ""
        for p in (self.log, os.path.join(self.dir, "stderr")):
            try:
                with open(p, errors="replace") as f:
                    text += "".join(f.readlines()[-n:])
            except OSError:
                pass
        return text

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def dig(self, name, qtype="A", *opts):
        return harness.dig_at("127.0.0.1", self.port, name, qtype, "+rec", *opts, timeout=4)


# ---------------------------------------------------------------------------------------
# The AWS CLI (as test_api.py runs it: Debian's, clean environment, dummy keys)

class Cli:
    def __init__(self, port, home):
        self.port, self.home = port, home

    def __call__(self, *args):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.home, "LANG": "C.UTF-8",
               "LC_ALL": "C.UTF-8", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
               "AWS_SECRET_ACCESS_KEY": "secret", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
               "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"}
        argv = [AWS, "route53"] + [str(a) for a in args] + [
            "--endpoint-url", "http://127.0.0.1:%d" % self.port, "--output", "json",
            "--cli-connect-timeout", "5", "--cli-read-timeout", "30"]
        rc, out, err = run(argv, timeout=60, env=env)
        if rc != 0:
            raise AssertionError("aws route53 %s: exit %d: %s%s" % (args[0], rc, out, err))
        return json.loads(out) if out.strip() else {}


# ---------------------------------------------------------------------------------------

class DnssecValidationTest(unittest.TestCase):
    """One r53d (the SecureCart example, signed through the API) and the validators."""

    srv = None
    child = None
    ub = None
    ds = None           # the DSRecord GetDNSSEC printed: "TAG 13 2 HEX"
    workdir = None

    @classmethod
    def setUpClass(cls):
        for path, what in ((UNBOUND, "unbound"), (DELV, "delv: bind9-dnsutils"),
                           (AWS, "awscli"), (OPENSSL, "openssl"), (SYS_PYTHON, "python3")):
            need(path, what)
        rc, _, err = run([SYS_PYTHON, "-c", "import ldns"])
        if rc != 0:
            raise AssertionError("python3-ldns is missing (contrib/deps.sh installs it): " + err)
        cls.workdir = tempfile.mkdtemp(prefix="r53d-dnssec-")
        cls.home = os.path.join(cls.workdir, "home")
        os.makedirs(cls.home)
        cls.srv = R53d(zones=[])
        try:
            cls._start()
        except BaseException:
            cls.srv.cleanup()
            if cls.child is not None:
                cls.child.cleanup()
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    @classmethod
    def _start(cls):
        srv = cls.srv
        for f in os.listdir(EXAMPLE):
            s = os.path.join(EXAMPLE, f)
            (shutil.copytree if os.path.isdir(s) else shutil.copy)(s, os.path.join(srv.dir, f))
        # the KSK the user "owns": a P-256 PKCS#8 file that only its owner may read
        cls.ksk_file = os.path.join(srv.dir, "ksk.pem")
        old = os.umask(0o077)
        try:
            rc, out, err = run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt",
                                "ec_paramgen_curve:P-256", "-out", cls.ksk_file])
        finally:
            os.umask(old)
        if rc != 0:
            raise AssertionError("openssl genpkey: " + err)
        os.chmod(cls.ksk_file, 0o600)
        with open(os.path.join(EXAMPLE, "r53d.json")) as f:
            conf = json.load(f)
        cls.api_port = harness.free_port()
        conf["listen"] = ["127.0.0.1:%d" % srv.port]
        conf["admin"] = {"listen": "127.0.0.1:%d" % cls.api_port}
        conf["health"]["resolver"] = "127.0.0.1:%d" % srv.port
        conf["geo"] = {"database": mmdb_path(cls.workdir)}
        d = {"kms_keys": {KMS_ARN: cls.ksk_file}}
        d.update(ROLL)
        conf["dnssec"] = d
        srv.conf = conf
        srv.zones = [(ZONE, "securecart.test.zone")]
        srv.write_conf()
        srv.start()
        cls.cli = Cli(cls.api_port, cls.home)
        cls.child_api = harness.free_port()
        child = R53d(zones=[(CHILD_SIGNED, "signed.zone"), (CHILD_UNSIGNED, "unsigned.zone")],
                     zone_texts={"signed.zone": child_zone(CHILD_SIGNED),
                                 "unsigned.zone": child_zone(CHILD_UNSIGNED)},
                     admin={"listen": "127.0.0.1:%d" % cls.child_api}, dnssec=dict(ROLL))
        cls.child = child
        child.start()
        cls.child_cli = Cli(cls.child_api, cls.home)

    @classmethod
    def tearDownClass(cls):
        for ub in (cls.ub,):
            if ub is not None:
                ub.stop()
        child_rc, child_log, child_whole = 0, "", ""
        if cls.child is not None:
            child_rc = cls.child.stop()
            child_log = cls.child.log()
            try:
                with open(cls.child.logpath, errors="replace") as f:
                    child_whole = f.read()
            except OSError:
                pass
            cls.child.cleanup()
        if cls.srv is not None:
            rc = cls.srv.stop()
            try:
                with open(cls.srv.logpath, errors="replace") as f:
                    whole = f.read()
            except OSError:
                whole = ""
            log = cls.srv.log()
            cls.srv.cleanup()
            if harness.KEEP:
                note("kept %s" % cls.workdir)
            else:
                shutil.rmtree(cls.workdir, ignore_errors=True)
            if rc != 0:
                raise AssertionError("r53d exited %s:\n%s" % (rc, log))
            if child_rc != 0:
                raise AssertionError("the child r53d exited %s:\n%s" % (child_rc, child_log))
            if "PRIVATE KEY" in whole or "PRIVATE KEY" in child_whole:
                raise AssertionError("private key material in r53d's log")

    # -- helpers --------------------------------------------------------------------------

    def need_signed(self):
        if DnssecValidationTest.ds is None:
            self.fail("no DS: test_1_aws_cli_drill did not succeed")

    def anchor_ds(self):
        return "%s DS %s" % (ZONE, DnssecValidationTest.ds)

    def unbound(self):
        self.need_signed()
        if DnssecValidationTest.ub is None:
            DnssecValidationTest.ub = Unbound(self.workdir, "unbound", self.srv.port,
                                              self.anchor_ds(), self.child.port).start()
        return DnssecValidationTest.ub

    def change(self, *changes):
        batch = {"Changes": [{"Action": a, "ResourceRecordSet": rs} for a, rs in changes]}
        out = self.cli("change-resource-record-sets", "--hosted-zone-id", ZONE_ID,
                       "--change-batch", json.dumps(batch))
        return out["ChangeInfo"]["Id"]

    def wait_insync(self, change_id, limit=10.0, cli=None):
        deadline = time.monotonic() + limit * SLOW
        while True:
            st = (cli or self.cli)("get-change", "--id", change_id)["ChangeInfo"]["Status"]
            if st == "INSYNC":
                return
            if time.monotonic() > deadline:
                self.fail("change %s still %s after %.0f s" % (change_id, st, limit))
            time.sleep(0.2)

    def assert_ad(self, r, what):
        self.assertEqual(r.status, "NOERROR", "%s: status %s\n%s\nunbound log:\n%s" %
                         (what, r.status, r.text, self.ub.log_tail() if self.ub else ""))
        self.assertIn("ad", r.flags, "%s: no AD\n%s\nunbound log:\n%s" %
                      (what, r.text, self.ub.log_tail() if self.ub else ""))

    # -- the tests -------------------------------------------------------------------------

    def test_0_readable_ksk_file_refused(self):
        """A KMS-mapped key file that group or others may read: the configuration is
        refused (r53d --check), naming the file, showing nothing of the key."""
        d = os.path.join(self.workdir, "readable")
        os.makedirs(d)
        key = os.path.join(d, "ksk.pem")
        shutil.copy(self.ksk_file, key)
        conf = dict(self.srv.conf)
        conf["dnssec"] = {"kms_keys": {KMS_ARN: key}}
        path = os.path.join(self.srv.dir, "readable.json")
        with open(path, "w") as f:
            json.dump(conf, f)
        for mode, ok in ((0o640, False), (0o604, False), (0o600, True)):
            os.chmod(key, mode)
            rc, out, err = run([harness.R53D, "--check", path])
            if ok:
                self.assertEqual(rc, 0, out + err)
            else:
                self.assertNotEqual(rc, 0, "mode %o accepted: %s%s" % (mode, out, err))
                self.assertIn(key, err)
            self.assertNotIn("PRIVATE", out + err)

    def test_1_aws_cli_drill(self):
        cli = self.cli
        before = cli("get-dnssec", "--hosted-zone-id", ZONE_ID)
        self.assertEqual(before["Status"]["ServeSignature"], "NOT_SIGNING")
        # unsigned so far: no DNSKEY, no RRSIG
        r = self.srv.dig(ZONE, "DNSKEY", "+dnssec")
        self.assertEqual(r.rrs("ANSWER", "DNSKEY"), [], r.text)

        out = cli("create-key-signing-key", "--hosted-zone-id", ZONE_ID,
                  "--key-management-service-arn", KMS_ARN, "--name", KSK_NAME,
                  "--status", "ACTIVE", "--caller-reference", "dnssec-test-%d" % os.getpid())
        self.assertRegex(out["ChangeInfo"]["Id"], r"^/change/C[A-Z0-9]+$")
        self.assertIn(out["ChangeInfo"]["Status"], ("PENDING", "INSYNC"))
        self.assertIn("Location", out)
        created = out["KeySigningKey"]
        self.assertEqual(created["Name"], KSK_NAME)
        self.assertEqual(created["KmsArn"], KMS_ARN)
        self.assertEqual(created["Status"], "ACTIVE")
        self.wait_insync(out["ChangeInfo"]["Id"])

        out = cli("enable-hosted-zone-dnssec", "--hosted-zone-id", ZONE_ID)
        self.assertRegex(out["ChangeInfo"]["Id"], r"^/change/C[A-Z0-9]+$")
        self.wait_insync(out["ChangeInfo"]["Id"])

        g = cli("get-dnssec", "--hosted-zone-id", ZONE_ID)
        note("get-dnssec: %s" % json.dumps(g, sort_keys=True))
        self.assertEqual(g["Status"]["ServeSignature"], "SIGNING")
        self.assertEqual(len(g["KeySigningKeys"]), 1, g)
        k = g["KeySigningKeys"][0]
        want = {"Name": KSK_NAME, "KmsArn": KMS_ARN, "Flag": 257,
                "SigningAlgorithmMnemonic": "ECDSAP256SHA256", "SigningAlgorithmType": 13,
                "DigestAlgorithmMnemonic": "SHA-256", "DigestAlgorithmType": 2,
                "Status": "ACTIVE"}
        for key, v in want.items():
            self.assertEqual(k.get(key), v, "%s in %s" % (key, k))
        for key in ("CreatedDate", "LastModifiedDate"):
            self.assertRegex(k.get(key, ""), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", key)
        self.assertIsInstance(k["KeyTag"], int)
        self.assertTrue(0 <= k["KeyTag"] <= 65535)
        self.assertRegex(k["DigestValue"], r"^[0-9A-F]{64}$")
        self.assertEqual(k["DSRecord"], "%d 13 2 %s" % (k["KeyTag"], k["DigestValue"]))
        self.assertEqual(k["DNSKEYRecord"], "257 3 13 %s" % k["PublicKey"])
        # the public key is the mapped key file's (openssl: SubjectPublicKeyInfo DER ends
        # with the uncompressed point 04|X|Y; DNSKEY holds X|Y)
        p = subprocess.run([OPENSSL, "pkey", "-in", self.ksk_file, "-pubout", "-outform",
                            "DER"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout[-65], 4)
        self.assertEqual(base64.b64decode(k["PublicKey"]), p.stdout[-64:],
                         "PublicKey is not the KMS-mapped key file's")
        self.assertNotIn("PRIVATE", json.dumps(g))
        # CreateKeySigningKey printed the same key
        for key in ("KeyTag", "DSRecord", "DNSKEYRecord", "PublicKey", "DigestValue", "Flag"):
            self.assertEqual(created.get(key), k[key], "create-key-signing-key: " + key)
        # the admin view: the same DS, no private key material
        st, body = admin_get(self.api_port, "/dnssec")
        self.assertEqual(st, 200, body)
        self.assertIn(k["DSRecord"], body)
        for word in ("PRIVATE", "BEGIN", "pem"):
            self.assertNotIn(word, body, "admin /dnssec shows key material")
        DnssecValidationTest.ds = k["DSRecord"]
        DnssecValidationTest.key_tag = k["KeyTag"]

        # the DNSKEY RRset is served (bounded wait: the change is INSYNC already)
        deadline = time.monotonic() + 5 * SLOW
        while True:
            r = self.srv.dig(ZONE, "DNSKEY", "+dnssec")
            flags = [x[4].split()[0] for x in r.rrs("ANSWER", "DNSKEY")]
            if "257" in flags or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIn("257", flags, r.text)
        self.assertIn("256", flags, r.text)
        self.assertTrue(r.rrs("ANSWER", "RRSIG"), r.text)

        # the signed child (on the child server): a KSK r53d generates, signing on; its DS
        # goes into the parent
        ccli = self.child_cli
        zones = ccli("list-hosted-zones-by-name", "--dns-name", CHILD_SIGNED)["HostedZones"]
        czid = [z["Id"] for z in zones if z["Name"] == CHILD_SIGNED][0].rsplit("/", 1)[-1]
        out = ccli("create-key-signing-key", "--hosted-zone-id", czid,
                   "--key-management-service-arn", CHILD_ARN, "--name", "child_ksk",
                   "--status", "ACTIVE", "--caller-reference", "child-%d" % os.getpid())
        self.wait_insync(out["ChangeInfo"]["Id"], cli=ccli)
        out = ccli("enable-hosted-zone-dnssec", "--hosted-zone-id", czid)
        self.wait_insync(out["ChangeInfo"]["Id"], cli=ccli)
        cg = ccli("get-dnssec", "--hosted-zone-id", czid)
        self.assertEqual(cg["Status"]["ServeSignature"], "SIGNING")
        self.assertNotIn("PRIVATE", json.dumps(cg))
        DnssecValidationTest.child_ds = cg["KeySigningKeys"][0]["DSRecord"]

        # data the other tests need, through the API: a wildcard, delegations with and
        # without DS (glue below them)
        cid = self.change(
            ("CREATE", {"Name": "*.w." + ZONE, "Type": "A", "TTL": 60,
                        "ResourceRecords": [{"Value": "192.0.2.77"}]}),
            ("CREATE", {"Name": "signed." + ZONE, "Type": "NS", "TTL": 60,
                        "ResourceRecords": [{"Value": "ns1.signed." + ZONE}]}),
            ("CREATE", {"Name": "signed." + ZONE, "Type": "DS", "TTL": 60,
                        "ResourceRecords": [{"Value": self.child_ds}]}),
            ("CREATE", {"Name": "ns1.signed." + ZONE, "Type": "A", "TTL": 60,
                        "ResourceRecords": [{"Value": "127.0.0.1"}]}),
            ("CREATE", {"Name": "unsigned." + ZONE, "Type": "NS", "TTL": 60,
                        "ResourceRecords": [{"Value": "ns1.unsigned." + ZONE}]}),
            ("CREATE", {"Name": "ns1.unsigned." + ZONE, "Type": "A", "TTL": 60,
                        "ResourceRecords": [{"Value": "127.0.0.1"}]}),
            # over Route 53's one-week TTL limit for signed zones
            ("CREATE", {"Name": "long." + ZONE, "Type": "TXT", "TTL": 2000000,
                        "ResourceRecords": [{"Value": '"kept a long time"'}]}))
        self.wait_insync(cid)

    def test_2_unbound_positive(self):
        ub = self.unbound()
        for label, qtype, values, how in POSITIVE:
            name = fq(label)
            with self.subTest(name=name, qtype=qtype):
                r = ub.dig(name, qtype, "+dnssec")
                self.assert_ad(r, "%s %s" % (name, qtype))
                got = {x[4] for x in r.rrs("ANSWER", qtype)}
                self.assertTrue(got, r.text)
                if how == "all":
                    self.assertEqual(got, values, r.text)
                else:
                    self.assertLessEqual(got, values, r.text)
                    if how == "one":
                        self.assertEqual(len(got), 1, r.text)
                self.assertTrue(r.rrs("ANSWER", "RRSIG"), r.text)
        # the wildcard CNAME: *.cdn -> shop, validated as the name asked
        r = ub.dig("img.cdn." + ZONE, "A", "+dnssec")
        self.assert_ad(r, "img.cdn A")
        self.assertEqual([x[4] for x in r.rrs("ANSWER", "CNAME")], ["shop." + ZONE], r.text)
        self.assertEqual({x[4] for x in r.rrs("ANSWER", "A")},
                         {"192.0.2.20", "192.0.2.21", "192.0.2.22"}, r.text)
        # the apex's own records and the keys
        for qtype in ("SOA", "DNSKEY"):
            r = ub.dig(ZONE, qtype, "+dnssec")
            self.assert_ad(r, "apex " + qtype)
            self.assertTrue(r.rrs("ANSWER", qtype), r.text)
        # the delegation that has DS: the DS RRset, validated
        r = ub.dig("signed." + ZONE, "DS", "+dnssec")
        self.assert_ad(r, "signed DS")
        self.assertEqual([ds_text(x[4]) for x in r.rrs("ANSWER", "DS")],
                         [self.child_ds], r.text)
        # through the delegations: the signed child validates by the DS in the parent
        # (AD); the child without DS is insecure (answered, no AD) and not bogus
        r = ub.dig("host." + CHILD_SIGNED, "A", "+dnssec")
        self.assert_ad(r, "host in the signed child")
        self.assertEqual([x[4] for x in r.rrs("ANSWER", "A")], [CHILD_HOST[CHILD_SIGNED]])
        r = ub.dig("host." + CHILD_UNSIGNED, "A", "+dnssec")
        self.assertEqual(r.status, "NOERROR", r.text)
        self.assertEqual([x[4] for x in r.rrs("ANSWER", "A")], [CHILD_HOST[CHILD_UNSIGNED]])
        self.assertNotIn("ad", r.flags, "an unsigned child validated as secure:\n" + r.text)

    def test_2_unbound_negative(self):
        ub = self.unbound()
        for label, qtype, kind in NEGATIVE:
            name = fq(label)
            with self.subTest(name=name, qtype=qtype, kind=kind):
                r = ub.dig(name, qtype, "+dnssec")
                self.assert_ad(r, "%s %s (%s)" % (name, qtype, kind))
                # black lies: NOERROR and no record of the type asked
                self.assertEqual(r.rrs("ANSWER", qtype), [], r.text)
                self.assertTrue(r.rrs("AUTHORITY", "NSEC"), "%s: no NSEC\n%s" % (kind, r.text))

    def test_2_unbound_nsec_rrsig_qtypes(self):
        ub = self.unbound()
        for name in (fq("shop"), ZONE, fq("x.w")):
            with self.subTest(name=name):
                r = ub.dig(name, "NSEC", "+dnssec")
                self.assert_ad(r, name + " NSEC")
                self.assertTrue(r.rrs("ANSWER", "NSEC"), r.text)
                r = ub.dig(name, "RRSIG", "+dnssec")
                print("RRSIG via unbound:", name, r.status, r.flags, len(r.rrs("ANSWER", "RRSIG")))
                self.assertEqual(r.status, "NOERROR", r.text)
                self.assertTrue(r.rrs("ANSWER", "RRSIG"), r.text)

    def test_2_unbound_ecs(self):
        ub = self.unbound()
        cases = [("store", FR, {"203.0.113.40"}), ("store", US, {"203.0.113.41"}),
                 ("intranet", HQ, {"10.10.0.1"}), ("intranet", FR, {"192.0.2.99"}),
                 ("store", "127.0.0.0/24", {"203.0.113.42"})]
        for label, subnet, want in cases:
            with self.subTest(name=label, subnet=subnet):
                r = ub.dig(fq(label), "A", "+dnssec", "+subnet=" + subnet)
                self.assert_ad(r, "%s from %s" % (label, subnet))
                self.assertEqual({x[4] for x in r.rrs("ANSWER", "A")}, want, r.text)

    def delv(self, name, qtype, anchor_file):
        rc, out, err = run([DELV, "@127.0.0.1", "-p", str(self.srv.port), "-a", anchor_file,
                            "+root=" + ZONE.rstrip("."), "-c", "IN", "-t", qtype, "-q", name],
                           timeout=30)
        return out + err

    def anchor_file(self, text, fname):
        path = os.path.join(self.workdir, fname)
        with open(path, "w") as f:
            f.write("trust-anchors {\n  %s\n};\n" % text)
        return path

    def test_3_delv(self):
        self.need_signed()
        tag, alg, dt, digest = self.ds.split()
        anchor = self.anchor_file('%s static-ds %s %s %s "%s";' % (ZONE, tag, alg, dt, digest),
                                  "delv-anchor.conf")
        cases = [(fq(l), t, "positive") for l, t, _, _ in POSITIVE[:10]]
        cases += [(fq("img.cdn"), "A", "positive"), (fq("signed"), "DS", "positive"),
                  (ZONE, "DNSKEY", "positive")]
        cases += [(fq(l), t, "negative") for l, t, _ in NEGATIVE]
        cases += [(fq("shop"), "NSEC", "positive"), (ZONE, "NSEC", "positive"),
                  (fq("x.w"), "NSEC", "positive")]
        for name, qtype, kind in cases:
            with self.subTest(name=name, qtype=qtype):
                out = self.delv(name, qtype, anchor)
                for word in ("broken trust chain", "insecure", "unsigned answer",
                             "no valid", "bogus"):
                    self.assertNotIn(word, out, out)
                if kind == "positive":
                    self.assertNotIn("resolution failed", out, out)
                    self.assertIn("; fully validated", out, out)
                    self.assertRegex(out, r"(?m)^%s\s+\d+\s+IN\s+(%s|CNAME)\s" %
                                     (re.escape(name), qtype), out)
                else:   # delv closes a negative answer with "resolution failed: ncache .."
                    self.assertIn("; negative response, fully validated", out, out)

    def test_4_ldns(self):
        self.need_signed()
        port = self.srv.port
        ds = self.anchor_ds()
        asks = [("shop", "A", {}), ("store", "A", {"ecs": FR}), ("x.w", "A", {}),
                ("img.cdn", "A", {}), ("long", "TXT", {}),
                ("host.signed", "A", {}), ("host.unsigned", "A", {}), ("ns1.eu", "A", {}),
                ("nosuch", "A", {}), ("nosuch", "A", {"co": True}), ("shop", "AAAA", {}),
                ("_tcp", "A", {}), ("x.w", "TXT", {}), ("", "DNSKEY", {})]
        replies = []
        for label, qtype, kw in asks:
            data = ask_wire(port, query_wire(fq(label), qtype, **kw))
            self.assertIsNotNone(data, "no reply to %s %s" % (label, qtype))
            replies.append(data)
        res = ldns_check(port, ds, replies)
        self.assertEqual(res["anchor"], "ok", "the DNSKEY RRset is not signed by the "
                         "KSK that the DS names: %s" % res["anchor"])
        by = {}
        for (label, qtype, kw), r in zip(asks, res["replies"]):
            key = (label, qtype, "co" if kw.get("co") else "ecs" if kw.get("ecs") else "")
            by[key] = r
            with self.subTest(ask=key):
                dump = json.dumps(r, indent=1)
                for s in r["rrsets"]:
                    if s["type"] == "NS" and s["section"] == "authority" and \
                            s["owner"] != ZONE:
                        self.assertEqual(s["sig"], "unsigned", dump)   # NS at a cut
                    else:
                        self.assertEqual(s["sig"], "ok", "%s %s: %s\n%s" %
                                         (s["owner"], s["type"], s["sig"], dump))

        def nsec(r, owner):
            for o, t, rd in r["sections"]["authority"]:
                if t == "NSEC" and o == owner:
                    return rd.split()
            self.fail("no NSEC at %s: %s" % (owner, json.dumps(r, indent=1)))

        # positive: signed answers, the signature valid for more than the TTL limit
        self.assertEqual(by[("shop", "A", "")]["rcode"], 0)
        self.assertTrue(any(s["type"] == "A" and s["sig"] == "ok"
                            for s in by[("shop", "A", "")]["rrsets"]))
        sig = [x[2].split() for x in by[("shop", "A", "")]["sections"]["answer"]
               if x[1] == "RRSIG"][0]
        now = time.time()
        expire = calendar.timegm(time.strptime(sig[4], "%Y%m%d%H%M%S"))
        incept = calendar.timegm(time.strptime(sig[5], "%Y%m%d%H%M%S"))
        self.assertLess(incept, now - 60, "inception not in the past: %s" % sig)
        self.assertGreater(expire - now, 7 * 86400, "expires within the TTL limit: %s" % sig)
        # the one-week TTL limit: served TTL and the RRSIG's Original TTL
        lt = by[("long", "TXT", "")]
        rec = [x for x in dnswire.Message(replies[4]).answer if x.type == 16]
        self.assertTrue(rec, lt)
        self.assertLessEqual(rec[0].ttl, 604800)
        sig = [x[2].split() for x in lt["sections"]["answer"] if x[1] == "RRSIG"]
        self.assertTrue(sig, lt)
        self.assertEqual(int(sig[0][3]), 604800, sig)
        st = by[("store", "A", "ecs")]
        self.assertEqual([x[2] for x in st["sections"]["answer"] if x[1] == "A"],
                         ["203.0.113.40"], st)
        flags, ecs = opt_flags(replies[1])
        self.assertIsNotNone(ecs, "no ECS option in the DO reply")
        family, source, scope = struct.unpack("!HBB", ecs[:4])
        self.assertEqual((family, source), (1, 24), "ECS echoed: %r" % ecs)
        self.assertGreater(scope, 0, "a geolocation answer with ECS scope 0")
        self.assertTrue(flags & 0x8000, "DO not echoed")
        # wildcard: signed as the name asked (Route 53: no wildcard proof), so the RRSIG's
        # Labels field counts x.w.securecart.test (4), not *.w.securecart.test (3)
        wr = by[("x.w", "A", "")]
        sig = [x for x in wr["sections"]["answer"] if x[1] == "RRSIG"]
        self.assertTrue(sig, wr)
        self.assertEqual(sig[0][0], fq("x.w"))
        self.assertEqual(sig[0][2].split()[2], "4", "RRSIG labels of x.w.securecart.test")
        # referral with DS: NS + DS (+RRSIG) in authority, no AA
        ref = by[("host.signed", "A", "")]
        self.assertEqual(ref["rcode"], 0)
        self.assertEqual(ref["sections"]["answer"], [])
        types = {(o, t) for o, t, _ in ref["sections"]["authority"]}
        self.assertIn((fq("signed"), "NS"), types, ref)
        self.assertIn((fq("signed"), "DS"), types, ref)
        self.assertIn((fq("signed"), "RRSIG"), types, ref)
        # referrals without DS: NSEC at the cut: NS RRSIG NSEC, no DS
        for lab in ("host.unsigned", "ns1.eu"):
            ref = by[(lab, "A", "")]
            cut = fq(lab.split(".", 1)[1])
            self.assertIn((cut, "NS"), {(o, t) for o, t, _ in ref["sections"]["authority"]})
            bits = nsec(ref, cut)[1:]
            self.assertIn("NS", bits, ref)
            self.assertNotIn("DS", bits, ref)
            self.assertNotIn("SOA", bits, ref)
        # NXDOMAIN, black lies: NOERROR, NSEC at the name, next \000.name, RRSIG NSEC NXNAME
        nx = by[("nosuch", "A", "")]
        self.assertEqual(nx["rcode"], 0, nx)
        n = nsec(nx, fq("nosuch"))
        self.assertEqual(n[0].lower(), "\\000." + fq("nosuch"))
        self.assertEqual({"NXNAME" if t == "TYPE128" else t for t in n[1:]},
                         {"RRSIG", "NSEC", "NXNAME"}, n)
        # with CO: NXDOMAIN, CO echoed
        co = by[("nosuch", "A", "co")]
        self.assertEqual(co["rcode"], 3, co)
        flags, _ = opt_flags(replies[asks.index(("nosuch", "A", {"co": True}))])
        self.assertTrue(flags & 0x4000, "CO not echoed")
        # NODATA at a name: its types without the one asked
        nd = nsec(by[("shop", "AAAA", "")], fq("shop"))
        self.assertIn("A", nd[1:])
        self.assertNotIn("AAAA", nd[1:])
        self.assertFalse({"TYPE128", "NXNAME"} & set(nd[1:]), nd)
        # NODATA at an empty non-terminal and at a wildcard match
        self.assertFalse({"TYPE128", "NXNAME"} & set(nsec(by[("_tcp", "A", "")], fq("_tcp"))[1:]))
        wn = nsec(by[("x.w", "TXT", "")], fq("x.w"))[1:]
        self.assertIn("A", wn)
        self.assertNotIn("TXT", wn)
        # without DO: no DNSSEC records
        plain = dnswire.Message(ask_wire(port, query_wire(fq("shop"), "A", do=False)))
        self.assertEqual([rr for rr in plain.answer + plain.authority
                          if rr.type in (46, 47, 48)], [], "RRSIG/NSEC/DNSKEY without DO")
        plain = dnswire.Message(ask_wire(port, query_wire(fq("nosuch"), "A", do=False)))
        self.assertEqual(plain.rcode, 3, "NXDOMAIN without DO")
        # qtype NXNAME is refused as RFC 9824 says
        data = ask_wire(port, query_wire(fq("shop"), NXNAME))
        self.assertIsNotNone(data)
        self.assertEqual(dnswire.Message(data).rcode, 1, "qtype NXNAME: not FORMERR")

    def test_5_zsk_rollover(self):
        """Through Unbound: every answer AD during a whole ZSK rollover. Straight from
        r53d (no cache between): the successor is published (DNSKEY RRset) at least the
        DNSKEY TTL before it signs, and the old key leaves only after the successor signs."""
        ub = self.unbound()
        names = [(fq("shop"), "A"), (fq("www"), "A"), (fq("store"), "A"),
                 (fq("nosuch"), "A"), (fq("shop"), "AAAA"), (fq("x.w"), "A"),
                 ("host." + CHILD_SIGNED, "A"), (ZONE, "DNSKEY")]
        limit = 3 * ROLL["zsk_lifetime"] + 2      # bounded: three lifetimes
        t0 = time.monotonic()
        signing = []           # (moment, ZSK tag signing r53d's answer)
        keysets = []           # (moment, frozenset of ZSK tags r53d publishes)
        bad, asked = [], 0
        seen = None
        while time.monotonic() - t0 < limit * SLOW and seen is None:
            for name, qtype in names:
                r = ub.dig(name, qtype, "+dnssec")
                asked += 1
                if r.status != "NOERROR" or "ad" not in r.flags:
                    bad.append("%.1fs %s %s: %s %s" % (time.monotonic() - t0, name, qtype,
                                                       r.status, sorted(r.flags)))
            r = self.srv.dig(ZONE, "DNSKEY", "+dnssec")
            keysets.append((time.monotonic() - t0, frozenset(
                keytag(x[4]) for x in r.rrs("ANSWER", "DNSKEY") if x[4].split()[0] == "256")))
            r = self.srv.dig(fq("shop"), "A", "+dnssec")
            tags = {int(x[4].split()[6]) for x in r.rrs("ANSWER", "RRSIG")}
            self.assertEqual(len(tags), 1, r.text)
            signing.append((time.monotonic() - t0, tags.pop()))
            # T2 absent, then published at p, signing from s2 > p, and T1 (signing before
            # s2) no longer published after s2
            for i in range(1, len(signing)):
                t1, t2, s2 = signing[i - 1][1], signing[i][1], signing[i][0]
                if t1 == t2:
                    continue
                absent = [w for w, ks in keysets if t2 not in ks and w < s2]
                published = [w for w, ks in keysets
                             if t2 in ks and absent and w > absent[-1] and w <= s2]
                gone = [w for w, ks in keysets if w > s2 and t1 not in ks]
                if absent and published and gone:
                    seen = (t1, t2, published[0], s2, gone[0])
            time.sleep(0.05)
        note("%d queries through Unbound in %.1f s; signer %s; published ZSKs %s" % (
            asked, time.monotonic() - t0,
            [(round(w, 1), t) for i, (w, t) in enumerate(signing)
             if i == 0 or signing[i - 1][1] != t],
            [(round(w, 1), sorted(k)) for i, (w, k) in enumerate(keysets)
             if i == 0 or keysets[i - 1][1] != k]))
        self.assertEqual(bad, [], "answers without AD or SERVFAIL during the rollover:\n%s\n"
                         "unbound log:\n%s" % ("\n".join(bad[:20]), ub.log_tail()))
        self.assertIsNotNone(seen, "no whole ZSK rollover seen in %d s" % limit)
        t1, t2, pub, act, gone = seen
        note("rollover: ZSK %d published at %.1fs, signing from %.1fs; ZSK %d gone at %.1fs"
             % (t2, pub, act, t1, gone))
        # sampled about every 0.3 s: allow a second
        self.assertGreaterEqual(act - pub, ROLL["dnskey_ttl"] - 1.0,
                                "ZSK %d signed %.1f s after it was published (DNSKEY TTL %d)"
                                % (t2, act - pub, ROLL["dnskey_ttl"]))
        self.assertNotIn(self.key_tag, [t for _, t in signing],
                         "the KSK signed data other than DNSKEY")

    def test_6_tampered_anchor(self):
        self.need_signed()
        tag, alg, dt, digest = self.ds.split()
        flipped = digest[:10] + ("0" if digest[10] != "0" else "1") + digest[11:]
        bad = Unbound(self.workdir, "unbound-tampered", self.srv.port,
                      "%s DS %s %s %s %s" % (ZONE, tag, alg, dt, flipped))
        try:
            bad.start()
            for name in (fq("shop"), fq("www"), fq("nosuch")):
                r = bad.dig(name, "A", "+dnssec")
                self.assertEqual(r.status, SERVFAIL, "%s with a wrong DS:\n%s" % (name, r.text))
            self.assertIn("validation failure", bad.log_tail(200))
        finally:
            bad.stop()
        # the good anchor still validates the same names (so the SERVFAIL was the anchor's)
        r = self.unbound().dig(fq("shop"), "A", "+dnssec")
        self.assert_ad(r, "shop A (good anchor)")
        with open(self.ub.log, errors="replace") as f:
            failures = [x for x in f if "validation failure" in x]
        self.assertEqual(failures, [], "the validator with the right anchor logged failures")
        # delv with another P-256 key as the trust anchor: broken trust chain
        other = os.path.join(self.workdir, "other.pem")
        rc, _, err = run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-out", other])
        self.assertEqual(rc, 0, err)
        der = subprocess.run([OPENSSL, "pkey", "-in", other, "-pubout", "-outform", "DER"],
                             stdout=subprocess.PIPE, timeout=30).stdout
        key = base64.b64encode(der[-64:]).decode()
        anchor = self.anchor_file('%s static-key 257 3 13 "%s";' % (ZONE, key),
                                  "delv-wrong.conf")
        out = self.delv(fq("shop"), "A", anchor)
        self.assertNotIn("fully validated", out, out)
        self.assertIn("resolution failed", out, out)


if __name__ == "__main__" and sys.argv[1:2] == ["--ldns-verify"]:
    sys.exit(ldns_main())
