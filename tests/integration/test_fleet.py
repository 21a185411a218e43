# SPDX-License-Identifier: MIT
"""A fleet of r53d nodes on etcd (issue 13, spec/FLEET.md): three r53d nodes, each with its
own DNS and admin loopback ports, on a 3-member etcd cluster (etcd_cluster.py: free loopback
ports, members stopped by PID).

- a change made through node A is answered by all three; GetChange says INSYNC only once
  every live node has applied it (a paused node holds it PENDING);
- a killed r53d node: its lease expires and INSYNC stops waiting for it;
- the etcd leader killed: writes resume within 5 s, no acknowledged change is lost;
- two etcd members stopped: every node keeps answering, writes get 503; once they are back,
  writes work again and every node converges;
- concurrent writers on two nodes: every acknowledged change is kept (guarded commits);
- the 18% rule over the whole fleet: 3 nodes x 8 checkers, each checker from its own
  source address, and an HTTP endpoint that answers 200 only to chosen source addresses:
  4 of 24 (3 of node A's, 1 of node B's) is unhealthy on every node although node A alone
  sees 3 of 8; 5 of 24 is healthy; a stalled node's votes stop counting (its heartbeat and
  lease lapse) and count again when it resumes; GetHealthCheckStatus lists all 24 checkers
  with their node's region label;
- a node whose watch was away while etcd compacted the revisions it missed reloads
  everything (records deleted meanwhile go, new ones come) and keeps applying;
- the fleet-wide failover drill: a PRIMARY/SECONDARY pair made through node a, the primary's
  TCP health check on a loopback listener the test runs: dig (the real binary) against
  every node answers the primary, the secondary within RequestInterval x FailureThreshold
  plus slack once the listener stops, and the primary again once it is back;
- DNSSEC (issue 14; every node has dnssec zsk_lifetime 8, zsk_prepublish 3, zsk_retire 3,
  dnskey_ttl 2; node a alone maps an ARN in dnssec.kms_keys):
  test_9a  CreateKeySigningKey + EnableHostedZoneDNSSEC through a: every node serves the
           same DNSKEY RRset (dig), GetDNSSEC through b and c says SIGNING with the DS a
           printed, delv (the DS as its only anchor) and ldns validate every node's answers;
  test_9b  the ZSK rollover watched on every node for 18 s, the nodes' rollover ticks
           aligned (all stopped and resumed together, twice) so that they try the same
           steps at once: never more than 2 ZSKs, the same ZSK tags and signers in the same
           order on every node, no published ZSK goes without signing, every answer
           verifies (ldns) with the DNSKEY RRset its node served then, each step logged once
           (by the node whose write was stored), and every version of the zone's dnssec
           document in etcd's history one legal step from the one before;
  test_9c  a KSK whose ARN only a maps: ACTION_NEEDED through b and c, enabling through b
           refused (InvalidKMSArn), through a accepted: a signs with the file's key, b and
           c serve the zone unsigned and say ACTION_NEEDED.
  ldns runs as `/usr/bin/python3 test_fleet.py --ldns-verify` (python3-ldns is Debian's)."""

import base64
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import dnswire
import harness
from dnssec_util import ds_record as ds_of, key_tag, ldns_pkt, ldns_rrs
from harness import SLOW, R53d

try:
    from etcd_cluster import EtcdCluster, ETCD
except ImportError:  # pragma: no cover
    EtcdCluster = None
    ETCD = "/usr/bin/etcd"

XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"
ZONE = "fleet.test."
LEASE_S = 5  # fleet.c FLEET_LEASE_TTL

# DNSSEC in the fleet (test_9*): every node rolls the ZSK with these short timings; node a
# alone maps MAPPED_ARN to a key file (dnssec.kms_keys).
SEC_ZONE = "fleetsec.test."
KMS_ZONE = "fleetkms.test."
ROLL = {"zsk_lifetime": 8, "zsk_prepublish": 3, "zsk_retire": 3, "dnskey_ttl": 2}
GEN_ARN = "arn:aws:kms:us-east-1:111122223333:key/fleet-generated"
MAPPED_ARN = "arn:aws:kms:us-east-1:111122223333:key/fleet-mapped-on-a"
SYS_PYTHON = "/usr/bin/python3"   # Debian's: the one python3-ldns is for
DELV = shutil.which("delv") or "/usr/bin/delv"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def note(text):
    """Print a measurement under the test's result line (run.py and ctest show it)."""
    print("        " + text, flush=True)


def api(port, method, path, body=None, timeout=15):
    req = urllib.request.Request("http://127.0.0.1:%d/2013-04-01%s" % (port, path),
                                 data=body.encode() if body is not None else None,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout * SLOW) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def change_xml(changes):
    ch = "".join(
        "<Change><Action>%s</Action><ResourceRecordSet><Name>%s</Name><Type>%s</Type>"
        "<TTL>%d</TTL><ResourceRecords>%s</ResourceRecords></ResourceRecordSet></Change>"
        % (a, n, t, ttl, "".join("<ResourceRecord><Value>%s</Value></ResourceRecord>" % v
                                 for v in vals))
        for a, n, t, ttl, vals in changes)
    return ('<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Changes>%s'
            "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>" % (XMLNS, ch))


def tag(text, name):
    m = re.search("<%s>([^<]*)</%s>" % (name, name), text)
    return m.group(1) if m else None



# ---- DNSSEC helpers (test_9*): computed here, never by r53d ---------------------------------



def ask(port, name, rtype):
    """The reply (bytes) to a DO query (fixed ID, so equal answers are equal bytes): UDP,
    TCP when truncated; None without one."""
    wire = dnswire.make_query(name, rtype, qid=0x5353, edns=1232, do=True)
    data = dnswire.udp_exchange(port, wire, timeout=1.0 * SLOW)
    if data is not None and len(data) > 3 and data[2] & 0x02:
        data = dnswire.tcp_exchange(port, wire, 2.0 * SLOW)
    return data


def rrsig_tags(msg, covered):
    """Key tags of the answer's RRSIGs covering type code covered."""
    return {struct.unpack("!H", rr.rdata[16:18])[0] for rr in msg.answer
            if rr.type == 46 and struct.unpack("!H", rr.rdata[:2])[0] == covered}


def dnskeys_of(reply):
    """{flags: {tag: rdata}} of a DNSKEY reply's answer (flags 256 ZSK, 257 KSK)."""
    out = {256: {}, 257: {}}
    for rr in dnswire.Message(reply).answer:
        if rr.type == 48:
            flags = struct.unpack("!H", rr.rdata[:2])[0]
            out.setdefault(flags, {})[key_tag(rr.rdata)] = rr.rdata
    return out


def dig_dnskeys(port, zone):
    """The DNSKEY RRset `dig +dnssec DNSKEY` prints: sorted [(flags, rdata bytes)] and the
    key tags of the RRSIGs over it."""
    r = harness.dig(port, zone, "DNSKEY", "+dnssec", timeout=2)
    keys, sigs = [], set()
    for owner, _, _, rtype, rd in r.rrs("ANSWER"):
        f = rd.split()
        if rtype == "DNSKEY":
            keys.append((int(f[0]), struct.pack("!HBB", int(f[0]), int(f[1]), int(f[2])) +
                         base64.b64decode("".join(f[3:]))))
        elif rtype == "RRSIG" and f[0] == "DNSKEY":
            sigs.add(int(f[6]))
    return sorted(keys), sigs


def ec_public_b64(pem_path):
    """x || y of a P-256 key file, base64, read with openssl(1)."""
    der = subprocess.run([OPENSSL, "pkey", "-in", pem_path, "-pubout", "-outform", "DER"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                         timeout=30).stdout
    assert der[-65] == 4, "not an uncompressed EC point"
    return base64.b64encode(der[-64:]).decode()


def ldns_main():
    """`/usr/bin/python3 test_fleet.py --ldns-verify` (python3-ldns is Debian's; the test
    runner's python may be another). stdin (JSON): {"ds": DS RR text, "items": [{"dnskey":
    hex reply to ZONE DNSKEY, "replies": [hex, ...]}]}. stdout (JSON): per item the verdict
    of ldns_verify_rrsig_keylist on the DNSKEY RRset with the DS-anchored key ("anchor") and
    on every RRset of every reply's answer and authority with that item's DNSKEY RRset."""
    import ldns   # noqa: only under /usr/bin/python3
    req = json.load(sys.stdin)

    pkt, rrs = ldns_pkt, ldns_rrs

    def verify(rrset, sigs, keys):
        if sigs.rr_count() == 0:
            return "unsigned"
        for i in range(sigs.rr_count()):
            st = ldns.ldns_verify_rrsig_keylist_(rrset, sigs.rr(i), keys)
            st = st[0] if isinstance(st, (list, tuple)) else st
            if st != ldns.LDNS_STATUS_OK:
                return ldns.ldns_get_errorstr_by_id(st)
        return "ok"

    ds = ldns.ldns_rr.new_frm_str(req["ds"], raiseException=True)
    out = []
    for item in req["items"]:
        keys, ksigs, anchored = ldns.ldns_rr_list(), ldns.ldns_rr_list(), ldns.ldns_rr_list()
        for rr in rrs(pkt(item["dnskey"]).answer()):
            if rr.get_type() == ldns.LDNS_RR_TYPE_DNSKEY:
                keys.push_rr(rr.clone())
                if ldns.ldns_rr_compare_ds(rr, ds):
                    anchored.push_rr(rr.clone())
            elif rr.get_type() == ldns.LDNS_RR_TYPE_RRSIG:
                ksigs.push_rr(rr.clone())
        res = {"anchor": verify(keys, ksigs, anchored) if anchored.rr_count()
               else "no DNSKEY matches the DS", "rrsets": []}
        for h in item["replies"]:
            p = pkt(h)
            for lst in (p.answer(), p.authority()):
                groups = {}
                for rr in rrs(lst):
                    t = rr.get_type()
                    if t == ldns.LDNS_RR_TYPE_RRSIG:
                        k, i = (str(rr.owner()).lower(), int(ldns.ldns_rdf2rr_type(rr.rdf(0)))), 1
                    else:
                        k, i = (str(rr.owner()).lower(), int(t)), 0
                    groups.setdefault(k, [ldns.ldns_rr_list(), ldns.ldns_rr_list()])[i] \
                        .push_rr(rr.clone())
                for (owner, t), (rrset, sigs) in groups.items():
                    res["rrsets"].append([owner, ldns.ldns_rr_type2str(t),
                                          verify(rrset, sigs, keys) if rrset.rr_count()
                                          else "RRSIG without RRset"])
        out.append(res)
    json.dump(out, sys.stdout)
    return 0


def ldns_verify(ds_rr, items):
    """Run ldns_main under Debian's python on items [(dnskey reply, [replies])]."""
    req = {"ds": ds_rr, "items": [{"dnskey": k.hex(), "replies": [r.hex() for r in rs]}
                                  for k, rs in items]}
    p = subprocess.run([SYS_PYTHON, os.path.abspath(__file__), "--ldns-verify"],
                       input=json.dumps(req).encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120 * SLOW)
    if p.returncode != 0:
        raise AssertionError("the ldns verifier failed (%d): %s" %
                             (p.returncode, p.stderr.decode(errors="replace")[-2000:]))
    return json.loads(p.stdout.decode())


def ksk_xml(zid, name, arn, status, ref):
    return ('<CreateKeySigningKeyRequest xmlns="%s"><CallerReference>%s</CallerReference>'
            '<HostedZoneId>%s</HostedZoneId><KeyManagementServiceArn>%s'
            '</KeyManagementServiceArn><Name>%s</Name><Status>%s</Status>'
            '</CreateKeySigningKeyRequest>' % (XMLNS, ref, zid, arn, name, status))


def change_id(body):
    m = re.search(r"<ChangeInfo>\s*<Id>([^<]*)</Id>", body)
    return m.group(1).split("/")[-1] if m else None


class Gate(http.server.BaseHTTPRequestHandler):
    """200 to the source addresses in server.allowed, 503 to the others."""

    protocol_version = "HTTP/1.0"
    timeout = 5

    def log_message(self, *args):
        pass

    def do_GET(self):
        code = 200 if self.client_address[0] in self.server.allowed else 503
        body = b"ok\n" if code == 200 else b"not from here\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def sources(i):
    """Node i's 8 checker source addresses (127.0.0.2.. for node 0, then the next 8...)."""
    return ["127.0.0.%d" % (2 + 8 * i + j) for j in range(8)]


class Node(R53d):
    """One r53d node of the fleet: no zones of its own, the store on etcd, 8 checkers from
    its own source addresses."""

    def __init__(self, node_id, region, endpoints, srcs, dnssec=None):
        self.admin_port = harness.free_port()
        super().__init__(zones=[], admin={"listen": "127.0.0.1:%d" % self.admin_port},
                         store={"etcd": {"endpoints": endpoints, "prefix": "/r53d/t/",
                                         "node_id": node_id, "region": region}},
                         health={"threads": 1, "checkers": 8, "sources": srcs},
                         dnssec=dnssec or {})
        self.node_id = node_id
        self.region = region

    def hc(self, hid):
        """This node's GET /healthchecks entry of check hid, or None."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthchecks" % self.admin_port,
                                        timeout=5) as r:
                doc = json.loads(r.read().decode())
        except (OSError, ValueError):
            return None
        for e in doc.get("HealthChecks", []):
            if e.get("Id") == hid:
                return e
        return None

    def start(self):
        self._spawn([harness.R53D, "-c", self.conf_path], "example.com.")
        return self

    def a(self, name):
        """The A values node answers for name (sorted), or None (no answer / not NOERROR)."""
        r = harness.dig(self.port, name, "A", timeout=1)
        if r.exit != 0 or r.status != "NOERROR":
            return None
        return r.rdatas("ANSWER", "A")


@unittest.skipIf(EtcdCluster is None or not os.access(ETCD, os.X_OK),
                 "etcd is not installed (contrib/deps.sh installs etcd-server)")
class FleetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in (DELV, OPENSSL, SYS_PYTHON):
            if not os.access(tool, os.X_OK):
                raise AssertionError("%s not found (bind9-dnsutils, openssl, python3)" % tool)
        cls.keydir = tempfile.mkdtemp(prefix="r53d-fleet-keys-")
        cls.keyfile = os.path.join(cls.keydir, "ksk.pem")
        subprocess.run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", cls.keyfile],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=30)
        os.chmod(cls.keyfile, 0o600)
        cls.etcd = EtcdCluster(3)
        cls.etcd.start()
        cls.nodes = []
        try:
            for i, (nid, region) in enumerate((("a", "fleet-a"), ("b", "fleet-b"),
                                                ("c", "fleet-c"))):
                sec = dict(ROLL)
                if nid == "a":
                    sec["kms_keys"] = {MAPPED_ARN: cls.keyfile}
                n = Node(nid, region, cls.etcd.endpoints, sources(i), sec)
                cls.nodes.append(n)
                n.start()
            st, body = api(cls.nodes[0].admin_port, "POST", "/hostedzone",
                           '<CreateHostedZoneRequest xmlns="%s"><Name>%s</Name><CallerReference>'
                           'fleet-1</CallerReference></CreateHostedZoneRequest>' % (XMLNS, ZONE))
            if st != 201:
                raise AssertionError("CreateHostedZone: %d %s" % (st, body))
            cls.zone = tag(body, "Id").split("/")[-1]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for n in getattr(cls, "nodes", []):
            n.cleanup()
        cls.etcd.close()
        shutil.rmtree(cls.keydir, ignore_errors=True)

    # ---- helpers ----

    def change(self, node, name, ip, action="UPSERT", timeout=15):
        return api(node.admin_port, "POST", "/hostedzone/%s/rrset/" % self.zone,
                   change_xml([(action, name, "A", 60, [ip])]), timeout=timeout)

    def status(self, node, cid):
        st, body = api(node.admin_port, "GET", "/change/%s" % cid)
        self.assertEqual(st, 200, body)
        return tag(body, "Status")

    def wait(self, what, cond, timeout):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.05)
        self.fail("%s: not within %.1f s\n%s" % (
            what, timeout * SLOW, "\n".join("--- %s:\n%s" % (n.node_id, n.log()[-3000:])
                                            for n in self.nodes)))

    def live(self):
        return [n for n in self.nodes if n.alive()]

    def expect_everywhere(self, name, ip, timeout=5):
        self.wait("%s -> %s on every node" % (name, ip),
                  lambda: all(n.a(name) == [ip] for n in self.live()), timeout)

    def members_of(self, node):
        """Indexes of the etcd members node has connections to (ss)."""
        out = subprocess.run(["ss", "-tnpH"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=10).stdout.decode()
        ports = {int(e.rsplit(":", 1)[1]): i for i, e in enumerate(self.etcd.endpoints)}
        found = set()
        for line in out.splitlines():
            if "pid=%d," % node.proc.pid not in line:
                continue
            f = line.split()
            if len(f) >= 5 and f[4].rsplit(":", 1)[-1].isdigit():
                p = int(f[4].rsplit(":", 1)[1])
                if p in ports:
                    found.add(ports[p])
        self.assertTrue(found, "no connection of %s to etcd found:\n%s" % (node.node_id, out))
        return sorted(found)

    def ensure_nodes(self):
        for n in self.nodes:
            if not n.alive():
                n.start()

    # ---- tests (run in name order) ----

    def test_1_change_everywhere_insync(self):
        a, b, c = self.nodes
        # c pauses: it applies nothing, so the change must stay PENDING
        c.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            st, body = self.change(a, "www." + ZONE, "192.0.2.1")
            t_ack = time.monotonic() - t0
            self.assertEqual(st, 200, body)
            self.assertEqual(tag(body, "Status"), "PENDING")
            cid = tag(body, "Id").split("/")[-1]
            self.wait("a and b answer", lambda: a.a("www." + ZONE) == ["192.0.2.1"] and
                      b.a("www." + ZONE) == ["192.0.2.1"], 5)
            time.sleep(1.0)
            self.assertEqual(self.status(a, cid), "PENDING")
            self.assertEqual(self.status(b, cid), "PENDING")
        finally:
            c.signal(signal.SIGCONT)
        t1 = time.monotonic()
        self.wait("INSYNC on a", lambda: self.status(a, cid) == "INSYNC", 5)
        self.assertEqual(c.a("www." + ZONE), ["192.0.2.1"])
        note("change through a acknowledged in %.0f ms; INSYNC %.0f ms after the paused node "
             "resumed" % (t_ack * 1e3, (time.monotonic() - t1) * 1e3))
        self.wait("INSYNC on c", lambda: self.status(c, cid) == "INSYNC", 5)
        # a change through another node
        st, body = self.change(b, "mail." + ZONE, "192.0.2.2", action="CREATE")
        self.assertEqual(st, 200, body)
        self.expect_everywhere("mail." + ZONE, "192.0.2.2")
        # validated against the fleet's data: a CREATE of an existing set fails on any node
        st, body = self.change(c, "mail." + ZONE, "192.0.2.3", action="CREATE")
        self.assertEqual(st, 400, body)
        self.assertIn("InvalidChangeBatch", body)

    def test_2_concurrent_writers_lose_nothing(self):
        a, b, _ = self.nodes
        results = {}

        def writer(node, prefix):
            for i in range(15):
                st, body = self.change(node, "%s%d.%s" % (prefix, i, ZONE), "198.51.100.%d" % (i + 1))
                results[(prefix, i)] = (st, body)

        ts = [threading.Thread(target=writer, args=(a, "ca")),
              threading.Thread(target=writer, args=(b, "cb"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        ok = [k for k, (st, _) in results.items() if st == 200]
        bad = {k: v for k, v in results.items() if v[0] != 200}
        # every failure is a retryable conflict, never a lost or corrupted change
        for k, (st, body) in bad.items():
            self.assertIn("PriorRequestNotComplete", body, (k, st, body))
        self.assertGreater(len(ok), 20, bad)
        note("30 concurrent changes through 2 nodes: %d acknowledged, %d PriorRequestNotComplete"
             % (len(ok), len(bad)))
        for p, i in ok:
            self.expect_everywhere("%s%d.%s" % (p, i, ZONE), "198.51.100.%d" % (i + 1))

    def test_3_dead_node_stops_counting(self):
        a, b, c = self.nodes
        c.kill()
        t0 = time.monotonic()
        st, body = self.change(a, "after-kill." + ZONE, "192.0.2.9")
        self.assertEqual(st, 200, body)
        cid = tag(body, "Id").split("/")[-1]
        self.wait("INSYNC once the dead node's lease expired",
                  lambda: self.status(a, cid) == "INSYNC", LEASE_S + 5)
        took = time.monotonic() - t0
        self.assertLess(took, (LEASE_S + 4) * SLOW)
        note("node c killed: INSYNC without it after %.1f s (lease %d s)" % (took, LEASE_S))
        self.assertEqual(b.a("after-kill." + ZONE), ["192.0.2.9"])
        # it comes back, catches up, and holds nothing back
        c.start()
        self.expect_everywhere("after-kill." + ZONE, "192.0.2.9", 10)
        st, body = self.change(c, "back." + ZONE, "192.0.2.10")
        self.assertEqual(st, 200, body)
        cid = tag(body, "Id").split("/")[-1]
        self.wait("INSYNC with c back", lambda: self.status(a, cid) == "INSYNC", 5)

    def test_4_etcd_leader_killed(self):
        a, b, c = self.nodes
        leader = self.etcd.leader()
        self.etcd.kill(leader)
        t0 = time.monotonic()
        acked = []
        first_ok = None
        for i in range(40):
            st, body = self.change(a if i % 2 == 0 else b, "lk%d.%s" % (i, ZONE),
                                   "203.0.113.%d" % (i + 1), timeout=20)
            if st == 200:
                acked.append(i)
                if first_ok is None:
                    first_ok = time.monotonic() - t0
                if len(acked) >= 5:
                    break
            else:
                self.assertIn(st, (400, 503), body)
            time.sleep(0.1)
        self.assertIsNotNone(first_ok, "no write succeeded after the leader was killed")
        self.assertLess(first_ok, 5.0 * SLOW, "writes resumed after %.1f s" % first_ok)
        note("etcd leader killed: first write acknowledged after %.1f s" % first_ok)
        self.etcd.restart(leader)
        for i in acked:
            self.expect_everywhere("lk%d.%s" % (i, ZONE), "203.0.113.%d" % (i + 1), 10)

    def test_5_no_quorum(self):
        a, b, c = self.nodes
        leader = self.etcd.leader()
        others = [i for i in range(3) if i != leader]
        for i in others:
            self.etcd.stop(i)
        try:
            # DNS keeps answering from the last applied data
            for n in self.nodes:
                self.assertEqual(n.a("www." + ZONE), ["192.0.2.1"])
            t0 = time.monotonic()
            st, body = self.change(a, "nq." + ZONE, "192.0.2.77", timeout=30)
            note("no quorum: a write answered 503 after %.1f s" % (time.monotonic() - t0))
            self.assertEqual(st, 503, body)
            self.assertIn("ServiceUnavailable", body)
            for n in self.nodes:
                self.assertEqual(n.a("www." + ZONE), ["192.0.2.1"])
            # the admin endpoint stays responsive (no write of the node's own is tried
            # while its keepalives fail)
            worst = 0.0
            for _ in range(10):
                t0 = time.monotonic()
                with urllib.request.urlopen("http://127.0.0.1:%d/healthchecks" % b.admin_port,
                                            timeout=10) as r:
                    self.assertEqual(r.status, 200)
                worst = max(worst, time.monotonic() - t0)
                time.sleep(0.3)
            note("no quorum: GET /healthchecks on a node took at most %.2f s" % worst)
            self.assertLess(worst, 3.0 * SLOW)
        finally:
            for i in others:
                self.etcd.restart(i)
        self.etcd.wait_healthy(30)
        # converges: a write works again and reaches every node
        ok = self.wait("a write after quorum returned",
                       lambda: self.change(b, "nq." + ZONE, "192.0.2.78", timeout=20)[0] == 200, 20)
        self.assertTrue(ok)
        self.expect_everywhere("nq." + ZONE, "192.0.2.78", 15)
        st, body = self.change(c, "nq2." + ZONE, "192.0.2.79")
        self.assertEqual(st, 200, body)
        cid = tag(body, "Id").split("/")[-1]
        self.wait("INSYNC after recovery", lambda: self.status(a, cid) == "INSYNC", 10)

    def test_6_fleet_wide_18_percent(self):
        self.ensure_nodes()
        a, b, c = self.nodes
        gate = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gate)
        gate.daemon_threads = True
        # 3 of node a's checkers and 1 of node b's: 4 of 24
        gate.allowed = set(sources(0)[:3] + sources(1)[:1])
        th = threading.Thread(target=gate.serve_forever, daemon=True)
        th.start()
        try:
            self._fleet_health(gate)
        finally:
            gate.shutdown()
            gate.server_close()

    def _fleet_health(self, gate):
        a, b, c = self.nodes
        cfg = {"IPAddress": "127.0.0.1", "Port": str(gate.server_address[1]),
               "Type": "HTTP", "ResourcePath": "/", "RequestInterval": "10",
               "FailureThreshold": "1"}
        body = ('<CreateHealthCheckRequest xmlns="%s"><CallerReference>fleet-hc</CallerReference>'
                '<HealthCheckConfig>%s</HealthCheckConfig></CreateHealthCheckRequest>'
                % (XMLNS, "".join("<%s>%s</%s>" % (k, v, k) for k, v in cfg.items())))
        st, out = api(a.admin_port, "POST", "/healthcheck", body)
        self.assertEqual(st, 201, out)
        hid = tag(out, "Id")

        def fleet_state(n):
            e = n.hc(hid)
            if e is None:
                return None
            return (e["Status"], e["HealthyCheckers"], e["Checkers"],
                    e.get("FleetHealthyCheckers", 0), e.get("FleetCheckers", 0))

        def everywhere(status, total_healthy):
            def ok():
                for n in self.nodes:
                    s = fleet_state(n)
                    if s is None or s[0] != status or s[1] + s[3] != total_healthy or \
                            s[2] + s[4] != 24:
                        return False
                return True
            return ok

        # 4 of 24 (16.7%): unhealthy on every node
        self.wait("4 of 24 healthy: Unhealthy everywhere", everywhere("Unhealthy", 4), 40)
        sa = fleet_state(a)
        self.assertEqual(sa[1:3], (3, 8), "node a alone sees 3 of 8 (37.5%%): %r" % (sa,))
        self.assertEqual(fleet_state(b)[1], 1)
        self.assertEqual(fleet_state(c)[1], 0)
        # GetHealthCheckStatus: every checker of every node, with its node's region label
        def listed():
            st, out = api(b.admin_port, "GET", "/healthcheck/%s/status" % hid)
            regions = re.findall("<Region>([^<]*)</Region>", out)
            return st == 200 and len(regions) == 24 and \
                regions.count("fleet-a") == 8 and regions.count("fleet-c") == 8 and out
        out = self.wait("GetHealthCheckStatus lists 24 checkers", listed, 20)
        ips = set(re.findall("<IPAddress>([^<]*)</IPAddress>", out))
        self.assertTrue(set(sources(0)) | set(sources(2)) <= ips, ips)

        # 5 of 24 (20.8%): healthy on every node
        gate.allowed = set(sources(0)[:3] + sources(1)[:1] + sources(2)[:1])
        self.wait("5 of 24 healthy: Healthy everywhere", everywhere("Healthy", 5), 40)

        # node a stalls: its heartbeat and lease lapse, b and c count 2 of 16 (12.5%)
        a.signal(signal.SIGSTOP)
        try:
            def without_a():
                return all(fleet_state(n) == ("Unhealthy", 1 if n is b else 1, 8, 1, 8)
                           for n in (b, c))
            self.wait("a stalled: b and c count 2 of 16, Unhealthy", without_a, 25)
        finally:
            a.signal(signal.SIGCONT)
        # it resumes, registers again and its votes count again
        self.wait("a back: 5 of 24, Healthy everywhere", everywhere("Healthy", 5), 30)

    def test_7_compacted_while_away(self):
        self.ensure_nodes()
        a, b, c = self.nodes
        st, body = self.change(a, "gone." + ZONE, "192.0.2.50")
        self.assertEqual(st, 200, body)
        self.expect_everywhere("gone." + ZONE, "192.0.2.50")
        # c stalls; the members it is connected to restart (one at a time: the cluster
        # keeps its quorum), so c's watch is broken when it resumes, after the others
        # changed things and etcd compacted the history: it must resume from a revision
        # etcd no longer has.
        c.signal(signal.SIGSTOP)
        try:
            # before the changes: c's sockets hold none of them
            for i in self.members_of(c):
                self.etcd.restart(i)
            st, body = self.change(a, "gone." + ZONE, "192.0.2.50", action="DELETE")
            self.assertEqual(st, 200, body)
            st, body = self.change(b, "new." + ZONE, "192.0.2.51")
            self.assertEqual(st, 200, body)
            from etcd_cluster import call
            rev = int(self.etcd.status(1)["header"]["revision"])
            call(self.etcd.endpoints[1], "/v3/kv/compaction", {"revision": str(rev),
                                                               "physical": True}, 10)
        finally:
            c.signal(signal.SIGCONT)
        # c's watch resumes from a compacted revision: it reloads everything
        self.wait("c reloaded after compaction", lambda: c.a("new." + ZONE) == ["192.0.2.51"]
                  and c.a("gone." + ZONE) is None, 40)
        self.assertIn("reloading everything", c.log())
        st, body = self.change(c, "after-compact." + ZONE, "192.0.2.52")
        self.assertEqual(st, 200, body)
        cid = tag(body, "Id").split("/")[-1]
        self.expect_everywhere("after-compact." + ZONE, "192.0.2.52")
        self.wait("INSYNC after the resync", lambda: self.status(b, cid) == "INSYNC", 10)


    def test_8_fleet_wide_failover_drill(self):
        """A failover pair made through node a, its PRIMARY's health check on a TCP endpoint
        this test runs on loopback: dig against every node answers the primary; the
        endpoint stops: every node answers the secondary within RequestInterval x
        FailureThreshold plus slack; it is back: every node answers the primary again."""
        self.ensure_nodes()
        a, b, c = self.nodes
        ep = TcpEndpoint().start()
        try:
            self._failover_drill(ep)
        finally:
            ep.stop()

    def _failover_drill(self, ep):
        a, b, c = self.nodes
        interval, threshold = 10, 1   # the API takes RequestInterval 10 or 30
        body = ('<CreateHealthCheckRequest xmlns="%s"><CallerReference>fleet-drill'
                '</CallerReference><HealthCheckConfig><IPAddress>127.0.0.1</IPAddress>'
                '<Port>%d</Port><Type>TCP</Type><RequestInterval>%d</RequestInterval>'
                '<FailureThreshold>%d</FailureThreshold></HealthCheckConfig>'
                '</CreateHealthCheckRequest>' % (XMLNS, ep.port, interval, threshold))
        st, out = api(a.admin_port, "POST", "/healthcheck", body)
        self.assertEqual(st, 201, out)
        hid = tag(out, "Id")
        name = "drill." + ZONE
        primary, secondary = "192.0.2.201", "192.0.2.202"

        def rrset(sid, role, ip, hc=""):
            return ("<Change><Action>CREATE</Action><ResourceRecordSet><Name>%s</Name>"
                    "<Type>A</Type><SetIdentifier>%s</SetIdentifier><Failover>%s</Failover>"
                    "<TTL>10</TTL><ResourceRecords><ResourceRecord><Value>%s</Value>"
                    "</ResourceRecord></ResourceRecords>%s</ResourceRecordSet></Change>"
                    % (name, sid, role, ip,
                       "<HealthCheckId>%s</HealthCheckId>" % hc if hc else ""))
        body = ('<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Changes>%s%s'
                '</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>'
                % (XMLNS, rrset("primary", "PRIMARY", primary, hid),
                   rrset("secondary", "SECONDARY", secondary)))
        st, out = api(a.admin_port, "POST", "/hostedzone/%s/rrset/" % self.zone, body)
        self.assertEqual(st, 200, out)
        cid = tag(out, "Id").split("/")[-1]
        self.wait("the failover pair INSYNC", lambda: self.status(a, cid) == "INSYNC", 10)

        def answers():
            return [n.a(name) for n in self.nodes]

        # every checker of every node has seen the endpoint up: the primary everywhere
        self.wait("dig: the primary on every node",
                  lambda: answers() == [[primary]] * 3, interval * threshold + 15)
        budget = interval * threshold + 12   # a probe round, publication, slack
        ep.stop()
        t0 = time.monotonic()
        self.wait("dig: the secondary on every node once the endpoint is down",
                  lambda: answers() == [[secondary]] * 3, budget)
        down = time.monotonic() - t0
        ep.start()
        t0 = time.monotonic()
        self.wait("dig: the primary on every node once the endpoint is back",
                  lambda: answers() == [[primary]] * 3, budget)
        up = time.monotonic() - t0
        note("failover drill, 3 nodes (RequestInterval %d, FailureThreshold %d): secondary on "
             "every node %.1f s after the endpoint stopped, primary again %.1f s after it "
             "came back" % (interval, threshold, down, up))
        self.assertLess(down, budget * SLOW)
        self.assertLess(up, budget * SLOW)

    # ---- DNSSEC in the fleet (issue 14) ----

    def make_zone(self, node, name, ref):
        st, body = api(node.admin_port, "POST", "/hostedzone",
                       '<CreateHostedZoneRequest xmlns="%s"><Name>%s</Name><CallerReference>'
                       '%s</CallerReference></CreateHostedZoneRequest>' % (XMLNS, name, ref))
        self.assertEqual(st, 201, body)
        zid = tag(body, "Id").split("/")[-1]
        self.wait("%s served by every node" % name,
                  lambda: all(harness.dig(n.port, name, "SOA", timeout=1).status == "NOERROR"
                              for n in self.nodes), 10)
        return zid

    def insync(self, node, body):
        """Wait for INSYNC of the change body answered, through the node that made it
        (another node may not have applied the change record yet: NoSuchChange)."""
        cid = change_id(body)
        self.assertIsNotNone(cid, body)
        self.wait("change %s INSYNC" % cid, lambda: self.status(node, cid) == "INSYNC", 15)

    def get_dnssec(self, node, zid):
        """(ServeSignature, [{field: value} of each KSK]) of GetDNSSEC through node."""
        st, body = api(node.admin_port, "GET", "/hostedzone/%s/dnssec" % zid)
        self.assertEqual(st, 200, body)
        ksks = []
        for blk in re.findall(r"<KeySigningKey>(.*?)</KeySigningKey>", body, re.S):
            ksks.append(dict(re.findall(r"<(\w+)>([^<]*)</\1>", blk)))
        status = re.search(r"<Status>\s*<ServeSignature>([^<]*)</ServeSignature>", body)
        return (status.group(1) if status else None), ksks

    def delv(self, node, ds, zone, name, rtype):
        """delv against node, the DS ("TAG 13 2 HEX") as the only trust anchor: its output."""
        t, alg, dt, dg = ds.split()
        ta = os.path.join(self.keydir, "anchor-%s.conf" % node.node_id)
        with open(ta, "w") as f:
            f.write('trust-anchors { %s static-ds %s %s %s "%s"; };\n' % (zone, t, alg, dt, dg))
        p = subprocess.run([DELV, "@127.0.0.1", "-p", str(node.port), "-a", ta,
                            "+root=" + zone.rstrip("."), name, rtype],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30 * SLOW)
        return p.stdout.decode(errors="replace")

    def test_9a_dnssec_same_keys_on_every_node(self):
        """CreateKeySigningKey and EnableHostedZoneDNSSEC through node a: every node serves
        the same DNSKEY RRset (the KSK's DS is the one the API printed), GetDNSSEC through b
        and c says SIGNING with that DS, delv validates every node's answers with the DS as
        its only anchor, and so does ldns."""
        self.ensure_nodes()
        a, b, c = self.nodes
        zid = self.make_zone(a, SEC_ZONE, "fleet-sec-1")
        st, body = api(a.admin_port, "POST", "/hostedzone/%s/rrset/" % zid,
                       change_xml([("CREATE", "www." + SEC_ZONE, "A", 60, ["192.0.2.80"])]))
        self.assertEqual(st, 200, body)
        self.insync(a, body)
        st, body = api(a.admin_port, "POST", "/keysigningkey",
                       ksk_xml(zid, "ksk_fleet", GEN_ARN, "ACTIVE", "fleet-ksk-1"))
        self.assertEqual(st, 201, body)
        ds = tag(body, "DSRecord")
        self.assertRegex(ds or "", r"^\d+ 13 2 [0-9A-F]{64}$", body)
        self.insync(a, body)
        st, body = api(a.admin_port, "POST", "/hostedzone/%s/enable-dnssec" % zid, "")
        self.assertEqual(st, 200, body)
        self.insync(a, body)   # INSYNC: every live node serves it

        # the same DNSKEY RRset (KSK and ZSK public keys) on every node, read with dig; a
        # rollover step may fall between two nodes' answers: wait for a moment they agree
        def same():
            views = [dig_dnskeys(n.port, SEC_ZONE) for n in self.nodes]
            keys = [v[0] for v in views]
            return keys[0] and keys[0] == keys[1] == keys[2] and views
        views = self.wait("one DNSKEY RRset on every node", same, 10)
        keys = views[0][0]
        ksk = [rd for fl, rd in keys if fl == 257]
        zsk = [rd for fl, rd in keys if fl == 256]
        self.assertEqual(len(ksk), 1, keys)
        self.assertIn(len(zsk), (1, 2), keys)
        self.assertEqual(ds_of(SEC_ZONE, ksk[0]), ds)
        for n, (_, sigs) in zip(self.nodes, views):
            self.assertEqual(sigs, {key_tag(ksk[0])}, "DNSKEY RRSIGs of node %s" % n.node_id)
        # GetDNSSEC through b and c: SIGNING, the DS the API printed through a
        for n in (b, c):
            status, ksks = self.get_dnssec(n, zid)
            self.assertEqual(status, "SIGNING", n.node_id)
            self.assertEqual([(k.get("Name"), k.get("Status"), k.get("DSRecord"))
                              for k in ksks], [("ksk_fleet", "ACTIVE", ds)], n.node_id)
        # a validator accepts each node's answers with the DS as its only anchor
        for n in self.nodes:
            for name, rtype in ((SEC_ZONE, "SOA"), ("www." + SEC_ZONE, "A"),
                                ("nothing-here." + SEC_ZONE, "A")):
                out = self.delv(n, ds, SEC_ZONE, name, rtype)
                self.assertRegex(out, r"(?m)^; (negative response, )?fully validated$",
                                 "delv at node %s, %s %s:\n%s" % (n.node_id, name, rtype, out))
        # and ldns, each node's answers with the DNSKEY RRset that node serves
        items = [(ask(n.port, SEC_ZONE, "DNSKEY"),
                  [ask(n.port, "www." + SEC_ZONE, "A"), ask(n.port, SEC_ZONE, "SOA"),
                   ask(n.port, "nothing-here." + SEC_ZONE, "A")]) for n in self.nodes]
        for n, (k, rs) in zip(self.nodes, items):
            self.assertTrue(k is not None and None not in rs, "node %s did not answer" % n.node_id)
        res = ldns_verify("%s 3600 IN DS %s" % (SEC_ZONE, ds), items)
        for n, r in zip(self.nodes, res):
            self.assertEqual(r["anchor"], "ok", (n.node_id, r))
            self.assertTrue(r["rrsets"], (n.node_id, r))
            self.assertEqual([x for x in r["rrsets"] if x[2] != "ok"], [], (n.node_id, r))
        FleetTest.sec = {"zid": zid, "ds": ds, "ksk_tag": key_tag(ksk[0])}
        note("DNSSEC through node a: one DNSKEY RRset (KSK %d, ZSK %s) on 3 nodes; delv and "
             "ldns validate every node's answers" % (key_tag(ksk[0]),
                                                     sorted(key_tag(z) for z in zsk)))

    def dnssec_history(self, zid):
        """Every stored version of /zones/ZID/dnssec still in etcd, oldest first: [(mod
        revision, [(state, sha256 of the PEM) of each ZSK])] (the PEMs are not kept)."""
        from etcd_cluster import b64
        key = "/r53d/t/zones/%s/dnssec" % zid
        out, rev = [], None
        for _ in range(500):
            body = {"key": b64(key)}
            if rev is not None:
                body["revision"] = str(rev)
            try:
                kvs = self.etcd._any("/v3/kv/range", body).get("kvs", [])
            except RuntimeError as e:
                if "compact" in str(e) or "HTTP Error 400" in str(e):
                    break   # older versions were compacted away
                raise
            if not kvs:
                break
            kv = kvs[0]
            doc = json.loads(base64.b64decode(kv["value"]).decode())
            zsks = [(z.get("State"), hashlib.sha256(z.get("Pem", "").encode()).hexdigest()[:12])
                    for z in doc.get("ZSKs", [])]
            out.append((int(kv["mod_revision"]), zsks))
            if int(kv["mod_revision"]) <= int(kv["create_revision"]):
                break
            rev = int(kv["mod_revision"]) - 1
        return out[::-1]

    def test_9b_dnssec_rollover_in_the_fleet(self):
        """A ZSK rollover (zsk_lifetime 8, zsk_prepublish 3, zsk_retire 3, dnskey_ttl 2 on
        every node) watched on every node: never more than 2 ZSKs, every node goes through
        the same ZSK tags, every key published signs before it goes, answers verify (ldns)
        with the DNSKEY RRset the node served at that moment; every stored version of the
        zone's dnssec document is one legal step from the one before (a successor made by
        two nodes, or a step taken twice, would show)."""
        sec = getattr(FleetTest, "sec", None)
        self.assertIsNotNone(sec, "test_9a must run first (run the class)")
        self.ensure_nodes()
        zid, ds, ksk = sec["zid"], sec["ds"], sec["ksk_tag"]

        def one_round():
            out = []
            for n in self.nodes:
                out.append((ask(n.port, SEC_ZONE, "DNSKEY"), ask(n.port, SEC_ZONE, "SOA"),
                            ask(n.port, "www." + SEC_ZONE, "A")))
            return out

        def zsks(rnd):
            return [frozenset(dnskeys_of(r[0])[256]) if r[0] else None for r in rnd]

        def agree(rnd):
            z = zsks(rnd)
            return z[0] is not None and z[0] == z[1] == z[2]

        # begin and end on a round where every node serves the same ZSKs (a step may fall
        # between two nodes' answers of one round)
        # every node's rollover timer ticks once a second from when it last fired: stopped
        # together (longer than a tick) and resumed together, the three usually tick within
        # a few milliseconds of each other from then on, so a step is tried by several
        # nodes at once and the guard has to pick one (done twice: a node busy with
        # something else at its tick may not try)
        def align():
            for n in self.nodes:
                n.signal(signal.SIGSTOP)
            try:
                time.sleep(1.5)
            finally:
                for n in self.nodes:
                    n.signal(signal.SIGCONT)
        log_at = [os.path.getsize(n.logpath) for n in self.nodes]
        align()
        first = self.wait("a round where every node agrees", lambda: (lambda r: agree(r) and r)
                          (one_round()), 10)
        rounds = [(time.monotonic(), first)]
        # at least one whole rollover from any phase (r53d's timings, not stretched by SLOW)
        watch = 2 * ROLL["zsk_lifetime"] + 2
        t_end = time.monotonic() + watch
        t_align = time.monotonic() + watch / 2
        while time.monotonic() < t_end:
            if t_align is not None and time.monotonic() >= t_align:
                t_align = None
                align()
            time.sleep(0.1)
            rounds.append((time.monotonic(), one_round()))
        last = self.wait("a last round where every node agrees",
                         lambda: (lambda r: agree(r) and r)(one_round()), 10)
        rounds.append((time.monotonic(), last))
        t0 = rounds[0][0]
        trace_lines = []
        per_node = [[] for _ in self.nodes]   # (t, zsk tags, ksk tags, SOA signer tags)
        for t, rnd in rounds:
            parts = []
            for i, (dk, soa, www) in enumerate(rnd):
                self.assertTrue(dk and soa and www, "node %s did not answer at %.1f s"
                                % (self.nodes[i].node_id, t - t0))
                keys = dnskeys_of(dk)
                signers = rrsig_tags(dnswire.Message(soa), 6)
                per_node[i].append((t, frozenset(keys[256]), frozenset(keys[257]),
                                    frozenset(signers)))
                parts.append("%s zsk=%s soa=%s" % (self.nodes[i].node_id, sorted(keys[256]),
                                                    sorted(signers)))
            trace_lines.append("%5.1f  %s" % (t - t0, "  ".join(parts)))
        trace = "\n".join(trace_lines)
        for i, samples in enumerate(per_node):
            nid = self.nodes[i].node_id
            for t, z, k, s in samples:
                self.assertEqual(k, {ksk}, "node %s at %.1f s\n%s" % (nid, t - t0, trace))
                self.assertIn(len(z), (1, 2), "node %s at %.1f s\n%s" % (nid, t - t0, trace))
                self.assertEqual(len(s), 1, "node %s at %.1f s\n%s" % (nid, t - t0, trace))
                self.assertTrue(s <= z, "node %s signs with a ZSK it does not publish at "
                                "%.1f s\n%s" % (nid, t - t0, trace))
        # the same ZSKs, in the same order, on every node; the same signers in the same order
        def order(samples, pick):
            seen = []
            for smp in samples:
                for x in sorted(pick(smp)):
                    if x not in seen:
                        seen.append(x)
            return seen
        tags = [order(sm, lambda x: x[1]) for sm in per_node]
        signers = [order(sm, lambda x: x[3]) for sm in per_node]
        self.assertEqual(tags[0], tags[1], trace)
        self.assertEqual(tags[0], tags[2], trace)
        self.assertEqual(signers[0], signers[1], trace)
        self.assertEqual(signers[0], signers[2], trace)
        # a whole rollover: a ZSK published during the watch signed, and the ZSK it
        # replaced was removed, on every node
        for i, samples in enumerate(per_node):
            start_set = samples[0][1]
            new = [x for x in signers[i] if x not in start_set]
            self.assertTrue(new, "no ZSK published during the watch signed (node %s)\n%s"
                            % (self.nodes[i].node_id, trace))
            prev = signers[i][signers[i].index(new[0]) - 1] if signers[i].index(new[0]) \
                else None
            self.assertIsNotNone(prev, trace)
            gone = [t for t, z, _, _ in samples if prev not in z and
                    t > min(t2 for t2, _, _, s in samples if new[0] in s)]
            self.assertTrue(gone, "ZSK %d never removed on node %s\n%s"
                            % (prev, self.nodes[i].node_id, trace))
            # every ZSK that appeared during the watch signed, or is still published at the end
            for x in tags[i]:
                if x in start_set or x in signers[i] or x in samples[-1][1]:
                    continue
                self.fail("ZSK %d was published and went without signing (a successor "
                          "replaced by another?) on node %s\n%s"
                          % (x, self.nodes[i].node_id, trace))
        # each step is logged once, by the node whose write was stored: every ZSK a node
        # logged as published was served (a node that lost the race logs nothing)
        logs = ""
        for n, at in zip(self.nodes, log_at):
            with open(n.logpath, "rb") as f:
                f.seek(at)
                logs += f.read().decode(errors="replace")
        logged = [int(x) for x in re.findall(r"\[info\]: dnssec: zone %s: zone-signing key "
                                             r"(\d+) published" % zid, logs)]
        conflicts = logs.count("another change to the same resource was made at the same time")
        dlines = "\n".join(x for x in logs.splitlines() if "dnssec" in x or "conflict" in x)
        time.sleep(0.5 * SLOW)   # a step logged by one node is served by the others soon after
        served = set(tags[0])
        for n in self.nodes:
            served |= set(dnskeys_of(ask(n.port, SEC_ZONE, "DNSKEY"))[256])
        self.assertTrue(logged, dlines)
        self.assertEqual([x for x in logged if x not in served], [],
                         "ZSKs logged as published but never served (served: %s)\n%s"
                         % (sorted(served), dlines))
        self.assertEqual(len(logged), len(set(logged)), dlines)
        # ldns: every distinct answer verifies with the DNSKEY RRset its node served then
        items = {}
        for _, rnd in rounds:
            for dk, soa, www in rnd:
                items.setdefault((dk, soa, www), (dk, [soa, www]))
        res = ldns_verify("%s 3600 IN DS %s" % (SEC_ZONE, ds), list(items.values()))
        bad = [r for r in res if r["anchor"] != "ok" or len(r["rrsets"]) < 2 or
               any(x[2] != "ok" for x in r["rrsets"])]
        self.assertEqual(bad, [], "%d of %d answers do not verify" % (len(bad), len(res)))
        # the store: each version of the document one legal step from the one before
        hist = self.dnssec_history(zid)
        self._check_history(hist)
        steps = len(hist) - 1
        note("ZSK rollover on 3 nodes over %.0f s: ZSKs %s, signers %s, %d distinct answers "
             "verified by ldns, %d stored versions each one legal step; %d attempts lost to "
             "another node's (guard conflicts)"
             % (rounds[-1][0] - t0, tags[0], signers[0], len(res), steps, conflicts))

    def _check_history(self, hist):
        """hist: dnssec_history(). Legal steps between versions (PEM digests compared):
        the same ZSKs (KSK changes), one published ZSK appended, published -> active with
        active -> retired, a retired ZSK removed; never more than one published or active
        ZSK, never more than 2 ZSKs (these timings), and a published ZSK never replaced."""
        text = "\n".join("rev %d: %s" % (r, " ".join("%s:%s" % z for z in zs))
                         for r, zs in hist)
        self.assertGreater(len(hist), 2, text)
        for (r0, prev), (r1, cur) in zip(hist, hist[1:]):
            states = [s for s, _ in cur]
            self.assertLessEqual(len(cur), 2, "rev %d\n%s" % (r1, text))
            self.assertLessEqual(states.count("published"), 1, "rev %d\n%s" % (r1, text))
            self.assertLessEqual(states.count("active"), 1, "rev %d\n%s" % (r1, text))
            if not prev:
                continue
            p, c = dict((h, s) for s, h in prev), dict((h, s) for s, h in cur)
            if p == c:
                continue
            added = set(c) - set(p)
            removed = set(p) - set(c)
            changed = {h: (p[h], c[h]) for h in set(p) & set(c) if p[h] != c[h]}
            ok = (not removed and not changed and len(added) == 1 and
                  c[next(iter(added))] == "published") or \
                 (not added and not changed and len(removed) == 1 and
                  p[next(iter(removed))] == "retired") or \
                 (not added and not removed and
                  sorted(changed.values()) == [("active", "retired"),
                                               ("published", "active")])
            self.assertTrue(ok, "rev %d -> %d is not one rollover step\n%s" % (r0, r1, text))

    def test_9c_kms_key_mapped_on_one_node(self):
        """A KSK whose KeyManagementServiceArn only node a's configuration maps
        (dnssec.kms_keys): through a it is the file's key, ACTIVE; GetDNSSEC through b shows
        it ACTION_NEEDED (no DS, no public key) with a StatusMessage; enabling signing
        through b is refused, through a accepted: a signs with the file's KSK while b and c,
        without the key, serve the zone unsigned and say ACTION_NEEDED."""
        self.ensure_nodes()
        a, b, c = self.nodes
        zid = self.make_zone(a, KMS_ZONE, "fleet-kms-1")
        st, body = api(a.admin_port, "POST", "/keysigningkey",
                       ksk_xml(zid, "ksk_on_a", MAPPED_ARN, "ACTIVE", "fleet-ksk-2"))
        self.assertEqual(st, 201, body)
        self.assertEqual(tag(body, "PublicKey"), ec_public_b64(self.keyfile))
        ds = tag(body, "DSRecord")
        self.insync(a, body)
        status, ksks = self.get_dnssec(a, zid)
        self.assertEqual(status, "NOT_SIGNING")
        self.assertEqual([(k.get("Name"), k.get("Status"), k.get("DSRecord")) for k in ksks],
                         [("ksk_on_a", "ACTIVE", ds)])
        for n in (b, c):
            status, ksks = self.get_dnssec(n, zid)
            self.assertEqual(status, "NOT_SIGNING", n.node_id)
            self.assertEqual(len(ksks), 1, ksks)
            k = ksks[0]
            self.assertEqual((k.get("Name"), k.get("KmsArn"), k.get("Status")),
                             ("ksk_on_a", MAPPED_ARN, "ACTION_NEEDED"), n.node_id)
            self.assertNotIn("DSRecord", k)
            self.assertNotIn("PublicKey", k)
            self.assertIn("dnssec.kms_keys", k.get("StatusMessage", ""))
        # b cannot sign with it: enabling through b is refused
        st, body = api(b.admin_port, "POST", "/hostedzone/%s/enable-dnssec" % zid, "")
        self.assertEqual(st, 400, body)
        self.assertIn("InvalidKMSArn", body)
        # through a it is accepted: a signs, b and c (no key) serve the zone unsigned
        st, body = api(a.admin_port, "POST", "/hostedzone/%s/enable-dnssec" % zid, "")
        self.assertEqual(st, 200, body)
        self.insync(a, body)
        self.assertEqual(self.get_dnssec(a, zid)[0], "SIGNING")
        keys, sigs = dig_dnskeys(a.port, KMS_ZONE)
        self.assertEqual([base64.b64encode(rd[4:]).decode() for fl, rd in keys if fl == 257],
                         [ec_public_b64(self.keyfile)])
        out = self.delv(a, ds, KMS_ZONE, KMS_ZONE, "SOA")
        self.assertRegex(out, r"(?m)^; fully validated$", out)
        for n in (b, c):
            self.assertEqual(self.get_dnssec(n, zid)[0], "ACTION_NEEDED", n.node_id)
            r = harness.dig(n.port, KMS_ZONE, "SOA", "+dnssec", timeout=2)
            self.assertEqual(r.status, "NOERROR", r.text)
            self.assertEqual(len(r.rrs("ANSWER", "SOA")), 1, r.text)
            self.assertEqual(r.rrs("ANSWER", "RRSIG"), [], r.text)
            self.assertEqual(dig_dnskeys(n.port, KMS_ZONE), ([], set()), n.node_id)
        note("a KSK mapped on node a only: ACTION_NEEDED through b and c; with signing "
             "enabled a signs, b and c serve the zone unsigned")


class TcpEndpoint:
    """A TCP listener on 127.0.0.1 (fixed port across stop/start) that accepts and closes:
    the endpoint of a TCP health check. stop() closes the listening socket (connections
    are refused), start() listens again on the same port."""

    def __init__(self):
        self.port = harness.free_port()
        self.sock = None
        self.thread = None

    def start(self):
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        s.settimeout(0.2)
        self.sock = s
        self.thread = threading.Thread(target=self._serve, args=(s,), daemon=True)
        self.thread.start()
        return self

    def _serve(self, s):
        while self.sock is s:
            try:
                conn, _ = s.accept()
            except OSError:
                continue
            conn.close()

    def stop(self):
        s, self.sock = self.sock, None
        if s is not None:
            if self.thread is not None:
                self.thread.join(2)
            s.close()


if __name__ == "__main__" and sys.argv[1:2] == ["--ldns-verify"]:
    sys.exit(ldns_main())
if __name__ == "__main__":
    unittest.main()
