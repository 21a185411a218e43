# SPDX-License-Identifier: MIT
"""The DNSSEC operations of the Route 53 API end to end (issue 14): key-signing keys,
EnableHostedZoneDNSSEC / DisableHostedZoneDNSSEC, GetDNSSEC, the store, the ZSK rollover.

One r53d (class DnssecApiTest) with an LMDB store, the API on its admin listener and a
"dnssec" section: one KeyManagementServiceArn mapped to a P-256 key file made here with
openssl(1), and short rollover timings (zsk_lifetime 6, zsk_prepublish 2, zsk_retire 2,
dnskey_ttl 1). Driven by the Debian AWS CLI (/usr/bin/aws, test_api.Cli) and boto3
(/usr/bin/python3, python3-boto3); DNS checked with dig and validated with delv (BIND's
validator, given the DS that GetDNSSEC printed as its trust anchor), never with r53d's code.
DS records are computed here from the DNSKEY dig printed (RFC 4034 5.1.4, hashlib).

  test_1_errors             every error of the operations before any key exists
  test_2_ksk_lifecycle      create (generated key), limits, enable, GetDNSSEC fields, the DS
                            of the DNSKEY served, delv validates, KeySigningKeyInUse, a
                            mapped ARN's key (the file's DNSKEY served), deactivate, delete,
                            DeleteHostedZone refused while signing
  test_3_rollover           the DNSKEY RRset goes 1 ZSK -> 2 ZSKs -> signatures by the new
                            tag -> 1 ZSK, with delv validating the SOA all along
  test_4_durability         SIGKILL and restart on the same store: the same KSKs, status and
                            KSK DNSKEYs; validation still works
  test_4r_reload_bad_key    a key file others may read: --check fails naming it, a reload
                            is refused and the old keys keep signing
  test_5_no_private_keys    no line of any private key (from the store file and the key
                            file) in API output, admin GET /dnssec, --export, the log
  test_6_disable_and_delete disable, DNSKEY gone, KSKs deactivated and deleted, zone deleted

Tests build on each other: run the class, not a single later test.
"""

import base64
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.request

import harness
from dnssec_util import ds_digest as ds_of, key_tag
from harness import SLOW
from test_api import ApiCase, raw, wait_api, xml_error

SYS_PYTHON = "/usr/bin/python3"
DELV = shutil.which("delv") or "/usr/bin/delv"
DIG = harness.DIG
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
ZONE = "signed.test."
MAPPED_ARN = "arn:aws:kms:us-east-1:111122223333:key/0f0e0d0c-mapped"
GEN_ARN = "arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-generated"
OTHER_ARN = "arn:aws:kms:us-east-1:111122223333:key/5e6f7a8b-other"
KSK_FIELDS = ["Name", "KmsArn", "Flag", "SigningAlgorithmMnemonic", "SigningAlgorithmType",
              "DigestAlgorithmMnemonic", "DigestAlgorithmType", "KeyTag", "DigestValue",
              "PublicKey", "DSRecord", "DNSKEYRecord", "Status", "CreatedDate",
              "LastModifiedDate"]


def dnskey_rdata(flags, proto, alg, b64):
    return struct.pack("!HBB", flags, proto, alg) + base64.b64decode(b64)


def ec_public_b64(pem_path):
    """x || y of a P-256 key file, base64, read with openssl(1) (not r53d)."""
    der = subprocess.run([OPENSSL, "pkey", "-in", pem_path, "-pubout", "-outform", "DER"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                         timeout=30).stdout
    assert der[-65] == 4, "not an uncompressed EC point"
    return base64.b64encode(der[-64:]).decode()


class DnssecApiTest(ApiCase):
    CONF = {}

    @classmethod
    def setUpClass(cls):
        for tool in (DELV, DIG, OPENSSL):
            if not os.access(tool, os.X_OK):
                raise AssertionError("%s not found (bind9-dnsutils, openssl)" % tool)
        cls.keydir = tempfile.mkdtemp(prefix="r53d-dnssec-keys-")
        cls.keyfile = os.path.join(cls.keydir, "ksk.pem")
        subprocess.run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", cls.keyfile],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=30)
        os.chmod(cls.keyfile, 0o600)
        cls.CONF = {"store": {"path": "store"},
                    "dnssec": {"kms_keys": {MAPPED_ARN: cls.keyfile}, "zsk_lifetime": 6,
                               "zsk_prepublish": 2, "zsk_retire": 2, "dnskey_ttl": 1}}
        cls.outputs = []   # everything the API and the admin endpoint printed
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.keydir, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------

    def aws(self, *args, cli=None, timeout=60.0):
        """A CLI command that must succeed (its output kept for test_5); its JSON."""
        c = (cli or self.cli).call(*args, timeout=timeout)
        self.outputs.append(c.out + c.err)
        if c.rc != 0:
            self.fail("aws route53 %s failed (exit %s):\n%s\nr53d log:\n%s" %
                      (c.cmd(), c.rc, c.err.strip(), self.srv.log()[-3000:]))
        return json.loads(c.out) if c.out.strip() else None

    def aws_err(self, code, *args, cli=None):
        c = (cli or self.cli).call(*args)
        self.outputs.append(c.out + c.err)
        return self.check_error(c, code)

    def insync(self, change):
        """GetChange until INSYNC (bounded)."""
        cid = change["ChangeInfo"]["Id"]
        self.assertEqual(change["ChangeInfo"]["Status"], "PENDING")
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            if self.aws("get-change", "--id", cid)["ChangeInfo"]["Status"] == "INSYNC":
                return
            time.sleep(0.2)
        self.fail("change %s not INSYNC within 20 s" % cid)

    def dnssec(self):
        return self.aws("get-dnssec", "--hosted-zone-id", self.state["zid"])

    def admin(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/dnssec" % self.api_port,
                                    timeout=10) as r:
            text = r.read().decode()
        self.outputs.append(text)
        return json.loads(text)

    def dig(self, name, rtype, *opts):
        p = subprocess.run([DIG, "@127.0.0.1", "-p", str(self.srv.port), "+norec", "+dnssec",
                            "+time=2", "+tries=2", "+nocmd", "+nostats", "+noquestion",
                            name, rtype] + list(opts),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        return p.stdout.decode()

    def rrs(self, name, rtype):
        """The answer section's records: [(owner, type, [fields])]."""
        out = []
        section = False
        for line in self.dig(name, rtype).splitlines():
            if line.startswith(";; ANSWER SECTION"):
                section = True
            elif not line.strip() or line.startswith(";"):
                section = False
            elif section:
                f = line.split()
                out.append((f[0], f[3], f[4:]))
        return out

    def dnskeys(self):
        """{tag: (flags, rdata)} of the DNSKEY RRset served, and the tags signing it."""
        keys, sigs = {}, set()
        for owner, t, f in self.rrs(ZONE, "DNSKEY"):
            if t == "DNSKEY":
                rd = dnskey_rdata(int(f[0]), int(f[1]), int(f[2]), "".join(f[3:]))
                keys[key_tag(rd)] = (int(f[0]), rd)
            elif t == "RRSIG" and f[0] == "DNSKEY":
                sigs.add(int(f[6]))
        return keys, sigs

    def soa_signers(self):
        return {int(f[6]) for _, t, f in self.rrs(ZONE, "SOA") if t == "RRSIG" and f[0] == "SOA"}

    def delv(self, ds, name=ZONE, rtype="SOA"):
        """delv's output validating name/rtype with ds ("TAG 13 2 HEX") as the trust anchor."""
        tag, alg, dt, dg = ds.split()
        ta = os.path.join(self.keydir, "anchor.conf")
        with open(ta, "w") as f:
            f.write('trust-anchors { %s static-ds %s %s %s "%s"; };\n' % (ZONE, tag, alg, dt, dg))
        p = subprocess.run([DELV, "@127.0.0.1", "-p", str(self.srv.port), "-a", ta,
                            "+root=" + ZONE.rstrip("."), name, rtype],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return p.stdout.decode()

    def assert_validates(self, ds, name=ZONE, rtype="SOA"):
        out = self.delv(ds, name, rtype)
        self.assertRegex(out, r"(?m)^; (negative response, )?fully validated$",
                         "delv %s %s:\n%s" % (name, rtype, out))

    def collect_keys(self):
        """Add the lines of every private key r53d made, as the store file holds them now
        (the PEM inside JSON: "\\n" escaped), to state["key_lines"] (test_5 greps them)."""
        lines = self.state.setdefault("key_lines", set())
        for path in glob.glob(os.path.join(self.srv.dir, "store", "*")):
            with open(path, "rb") as f:
                data = f.read()
            for m in re.finditer(rb"-----BEGIN PRIVATE KEY-----((?:\\n[A-Za-z0-9+/=]+)+)", data):
                lines.update(x.decode() for x in m.group(1).split(b"\\n") if x)

    def boto3(self, code):
        """Run code with a route53 client `r` under /usr/bin/python3; its stdout (JSON)."""
        prog = ("import boto3, json, sys\n"
                "r = boto3.client('route53', endpoint_url='http://127.0.0.1:%d', "
                "region_name='us-east-1', aws_access_key_id='test', "
                "aws_secret_access_key='test')\n" % self.api_port) + code
        env = {"PATH": "/usr/bin:/bin", "HOME": self.home, "AWS_CONFIG_FILE": "/dev/null",
               "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        p = subprocess.run([SYS_PYTHON, "-c", prog], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=60)
        self.outputs.append(p.stdout.decode() + p.stderr.decode())
        self.assertEqual(p.returncode, 0, p.stderr.decode()[-3000:])
        return json.loads(p.stdout.decode())

    # -- tests -----------------------------------------------------------------------------

    def test_1_errors(self):
        z = self.aws("create-hosted-zone", "--name", ZONE, "--caller-reference", "dnssec-z1")
        self.state["zid"] = zid = z["HostedZone"]["Id"].rsplit("/", 1)[1]
        self.insync(z)
        priv = self.aws("create-hosted-zone", "--name", "private.test.", "--caller-reference",
                        "dnssec-p1", "--vpc", "VPCRegion=us-east-1,VPCId=vpc-1")
        self.state["pid"] = pid = priv["HostedZone"]["Id"].rsplit("/", 1)[1]
        # unsigned: NOT_SIGNING and no keys (what Terraform needs)
        d = self.dnssec()
        self.assertEqual(d["Status"], {"ServeSignature": "NOT_SIGNING"})
        self.assertEqual(d.get("KeySigningKeys", []), [])
        self.assertEqual(self.dnskeys(), ({}, set()))

        def create(name="ksk_a", arn=GEN_ARN, status="ACTIVE", zone=zid, ref="r"):
            return ("create-key-signing-key", "--hosted-zone-id", zone, "--name", name,
                    "--key-management-service-arn", arn, "--status", status,
                    "--caller-reference", ref)
        self.aws_err("KeySigningKeyWithActiveStatusNotFound", "enable-hosted-zone-dnssec",
                     "--hosted-zone-id", zid)
        self.aws_err("InvalidKMSArn", *create(arn="not-an-arn"))
        self.aws_err("InvalidKMSArn", *create(arn="arn:aws:kms:us-east-1:111122223333:alias/x"))
        self.aws_err("InvalidKMSArn", *create(arn="arn:aws:s3:us-east-1:111122223333:key/x"))
        self.aws_err("InvalidKeySigningKeyName", *create(name="bad.name"))
        self.aws_err("InvalidKeySigningKeyStatus", *create(status="ENABLED"))
        self.aws_err("NoSuchHostedZone", *create(zone="ZNOSUCHZONE000000000000"))
        self.aws_err("InvalidArgument", *create(zone=pid))
        self.aws_err("InvalidArgument", "enable-hosted-zone-dnssec", "--hosted-zone-id", pid)
        for op in ("activate-key-signing-key", "deactivate-key-signing-key",
                   "delete-key-signing-key"):
            self.aws_err("NoSuchKeySigningKey", op, "--hosted-zone-id", zid, "--name", "nokey")
        self.aws_err("NoSuchHostedZone", "get-dnssec", "--hosted-zone-id",
                     "ZNOSUCHZONE000000000000")
        # raw HTTP: the status codes of the model
        st, _, body = raw(self.api_port, "DELETE", "/2013-04-01/keysigningkey/%s/nokey" % zid)
        self.assertEqual((st, xml_error(body)["Code"]), (404, "NoSuchKeySigningKey"))
        self.outputs.append(body.decode())
        self.aws("delete-hosted-zone", "--id", pid)

    def test_2_ksk_lifecycle(self):
        zid = self.state["zid"]
        out = self.aws("create-key-signing-key", "--hosted-zone-id", zid, "--name", "ksk_gen",
                       "--key-management-service-arn", GEN_ARN, "--status", "ACTIVE",
                       "--caller-reference", "k1")
        self.assertEqual(out["Location"],
                         "http://127.0.0.1:%d/2013-04-01/keysigningkey/%s/ksk_gen"
                         % (self.api_port, zid))
        k = out["KeySigningKey"]
        self.assertEqual(list(k.keys()), KSK_FIELDS)
        self.assertEqual((k["Name"], k["KmsArn"], k["Flag"], k["SigningAlgorithmMnemonic"],
                          k["SigningAlgorithmType"], k["DigestAlgorithmMnemonic"],
                          k["DigestAlgorithmType"], k["Status"]),
                         ("ksk_gen", GEN_ARN, 257, "ECDSAP256SHA256", 13, "SHA-256", 2, "ACTIVE"))
        self.insync(out)
        # the presentation is self-consistent (computed here from PublicKey, not by r53d)
        rd = dnskey_rdata(257, 3, 13, k["PublicKey"])
        tag, dg = ds_of(ZONE, rd)
        self.assertEqual(k["KeyTag"], tag)
        self.assertEqual(k["DigestValue"], dg)
        self.assertEqual(k["DSRecord"], "%d 13 2 %s" % (tag, dg))
        self.assertEqual(k["DNSKEYRecord"], "257 3 13 " + k["PublicKey"])
        self.state["gen_ds"] = k["DSRecord"]
        self.state["gen_tag"] = tag
        self.collect_keys()
        # not signing yet: nothing served
        self.assertEqual(self.dnssec()["Status"]["ServeSignature"], "NOT_SIGNING")
        self.assertEqual(self.dnskeys()[0], {})

        # limits: the same name, the same ARN, a third key
        self.aws_err("KeySigningKeyAlreadyExists", "create-key-signing-key", "--hosted-zone-id",
                     zid, "--name", "ksk_gen", "--key-management-service-arn", OTHER_ARN,
                     "--status", "ACTIVE", "--caller-reference", "k2")
        self.aws_err("KeySigningKeyAlreadyExists", "create-key-signing-key", "--hosted-zone-id",
                     zid, "--name", "ksk_other", "--key-management-service-arn", GEN_ARN,
                     "--status", "ACTIVE", "--caller-reference", "k3")
        out = self.aws("create-key-signing-key", "--hosted-zone-id", zid, "--name", "ksk_mapped",
                       "--key-management-service-arn", MAPPED_ARN, "--status", "INACTIVE",
                       "--caller-reference", "k4")
        self.insync(out)
        self.aws_err("TooManyKeySigningKeys", "create-key-signing-key", "--hosted-zone-id", zid,
                     "--name", "ksk_third", "--key-management-service-arn", OTHER_ARN,
                     "--status", "ACTIVE", "--caller-reference", "k5")
        # the mapped ARN's key is the file's (read with openssl)
        mk = out["KeySigningKey"]
        self.assertEqual(mk["PublicKey"], ec_public_b64(self.keyfile))
        self.assertEqual(mk["Status"], "INACTIVE")

        # enable: SIGNING, the DNSKEY served is the KSK's, its DS is the one GetDNSSEC shows
        ch = self.aws("enable-hosted-zone-dnssec", "--hosted-zone-id", zid)
        self.insync(ch)
        self.collect_keys()
        d = self.dnssec()
        self.assertEqual(d["Status"], {"ServeSignature": "SIGNING"})
        self.assertEqual([x["Name"] for x in d["KeySigningKeys"]], ["ksk_gen", "ksk_mapped"])
        for x in d["KeySigningKeys"]:
            self.assertEqual(list(x.keys()), KSK_FIELDS)
        keys, sigs = self.dnskeys()
        ksks = {t: rd for t, (fl, rd) in keys.items() if fl == 257}
        zsks = {t: rd for t, (fl, rd) in keys.items() if fl == 256}
        self.assertEqual(list(ksks), [self.state["gen_tag"]])   # the inactive one not served
        self.assertIn(len(zsks), (1, 2))                        # 2 while a rollover runs
        tag, dg = ds_of(ZONE, ksks[self.state["gen_tag"]])
        self.assertEqual("%d 13 2 %s" % (tag, dg), d["KeySigningKeys"][0]["DSRecord"])
        self.assertEqual(sigs, {self.state["gen_tag"]})
        # ldns-key2ds agrees with the DS (another implementation)
        rrline = "%s 3600 IN DNSKEY %s\n" % (ZONE, d["KeySigningKeys"][0]["DNSKEYRecord"])
        kf = os.path.join(self.keydir, "K.key")
        with open(kf, "w") as f:
            f.write(rrline)
        p = subprocess.run(["ldns-key2ds", "-n", "-2", kf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30, cwd=self.keydir)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(p.stdout.decode().split()[-4:],
                         d["KeySigningKeys"][0]["DSRecord"].split()[:3] +
                         [d["KeySigningKeys"][0]["DigestValue"].lower()], p.stdout)
        # a validator accepts the zone with that DS, and refuses it with a wrong one
        self.assert_validates(self.state["gen_ds"])
        bad = self.state["gen_ds"][:-4] + ("0000" if not self.state["gen_ds"].endswith("0000")
                                           else "1111")
        self.assertNotIn("; fully validated", self.delv(bad))
        # boto3 sees the same
        b = self.boto3("d = r.get_dnssec(HostedZoneId=%r)\n"
                       "print(json.dumps({'s': d['Status'], 'k': [(k['Name'], k['Status'], "
                       "k['DSRecord']) for k in d['KeySigningKeys']]}))\n" % zid)
        self.assertEqual(b["s"], {"ServeSignature": "SIGNING"})
        self.assertEqual(b["k"], [["ksk_gen", "ACTIVE", self.state["gen_ds"]],
                                  ["ksk_mapped", "INACTIVE", mk["DSRecord"]]])

        # the only active KSK of a signed zone cannot go; an active one cannot be deleted
        self.aws_err("KeySigningKeyInUse", "deactivate-key-signing-key", "--hosted-zone-id",
                     zid, "--name", "ksk_gen")
        self.aws_err("InvalidKeySigningKeyStatus", "delete-key-signing-key",
                     "--hosted-zone-id", zid, "--name", "ksk_gen")
        self.aws_err("HostedZoneNotEmpty", "delete-hosted-zone", "--id", zid)

        # the mapped key: activated with boto3, its DNSKEY (the file's) is served
        b = self.boto3("c = r.activate_key_signing_key(HostedZoneId=%r, Name='ksk_mapped')\n"
                       "print(json.dumps(c['ChangeInfo']['Id']))\n" % zid)
        self.insync({"ChangeInfo": {"Id": b, "Status": "PENDING"}})
        keys, sigs = self.dnskeys()
        mtag = mk["KeyTag"]
        self.assertEqual({t for t, (fl, _) in keys.items() if fl == 257},
                         {self.state["gen_tag"], mtag})
        self.assertEqual(base64.b64encode(keys[mtag][1][4:]).decode(),
                         ec_public_b64(self.keyfile))
        self.assertEqual(sigs, {self.state["gen_tag"], mtag})
        self.assert_validates(mk["DSRecord"])
        self.state["mapped_ds"] = mk["DSRecord"]
        self.state["mapped_tag"] = mtag
        # now the generated one may go
        self.insync(self.aws("deactivate-key-signing-key", "--hosted-zone-id", zid, "--name",
                             "ksk_gen"))
        self.insync(self.aws("delete-key-signing-key", "--hosted-zone-id", zid, "--name",
                             "ksk_gen"))
        d = self.dnssec()
        self.assertEqual([(x["Name"], x["Status"]) for x in d["KeySigningKeys"]],
                         [("ksk_mapped", "ACTIVE")])
        keys, sigs = self.dnskeys()
        self.assertEqual({t for t, (fl, _) in keys.items() if fl == 257}, {mtag})
        self.assertEqual(sigs, {mtag})
        self.assert_validates(self.state["mapped_ds"])
        self.assertNotIn("; fully validated", self.delv(self.state["gen_ds"]))
        # admin GET /dnssec: the public state
        a = [z for z in self.admin()["zones"] if z["id"] == zid]
        self.assertEqual(len(a), 1)
        self.assertEqual(a[0]["serve_signature"], "SIGNING")
        self.assertEqual([(k["name"], k["status"], k["key_tag"], k["ds_record"])
                          for k in a[0]["ksks"]],
                         [("ksk_mapped", "ACTIVE", mtag, self.state["mapped_ds"])])
        self.assertIn("active", [z["state"] for z in a[0]["zsks"]])

    def test_3_rollover(self):
        """zsk_lifetime 6, zsk_prepublish 2, zsk_retire 2: within ~16 s a new ZSK appears in
        the DNSKEY RRset before it signs, then signs, then the old one leaves."""
        ds = self.state["mapped_ds"]
        samples = []   # (time, frozenset ZSK tags in DNSKEY, SOA signer tags)
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            keys, _ = self.dnskeys()
            zsk = frozenset(t for t, (fl, _) in keys.items() if fl == 256)
            samples.append((time.monotonic(), zsk, frozenset(self.soa_signers())))
            self.collect_keys()
            time.sleep(0.25)
        trace = "\n".join("%.1f zsk=%s soa-signers=%s" % (t - samples[0][0], sorted(z), sorted(s))
                          for t, z, s in samples)
        self.assertTrue(all(len(s) == 1 for _, _, s in samples), trace)
        signers = []
        for _, _, s in samples:
            if not signers or signers[-1] != next(iter(s)):
                signers.append(next(iter(s)))
        self.assertGreaterEqual(len(signers), 2, "the signing ZSK never changed:\n" + trace)
        self.assertTrue(any(len(z) == 2 for _, z, _ in samples), trace)
        self.assertTrue(any(len(z) == 1 for _, z, _ in samples), trace)
        # pre-publication: every signer was in the DNSKEY RRset before it signed, and stays
        # there for a while after it stopped
        for new in signers[1:]:
            first_sign = min(t for t, _, s in samples if new in s)
            first_pub = min(t for t, z, _ in samples if new in z)
            self.assertLess(first_pub, first_sign - 1.0, trace)
        old = signers[0]
        last_sign = max(t for t, _, s in samples if old in s)
        last_pub = max(t for t, z, _ in samples if old in z)
        self.assertGreater(last_pub, last_sign + 1.0, trace)
        # every sample's signer was published in that sample
        self.assertTrue(all(s <= z for _, z, s in samples), trace)
        # and the validator is happy across it
        for _ in range(4):
            self.assert_validates(ds)
            time.sleep(1.0)
        log = self.full_log()
        self.assertRegex(log, r"zone-signing key \d+ published \(active: \d+\)")
        self.assertRegex(log, r"zone-signing key \d+ active, \d+ retired")
        self.assertRegex(log, r"retired zone-signing key \d+ removed")

    def test_4_durability(self):
        before = self.dnssec()
        keys, _ = self.dnskeys()
        ksk_before = {t: rd for t, (fl, rd) in keys.items() if fl == 257}
        self.srv.restart()   # SIGKILL, then the same configuration and store
        wait_api(self.api_port, self.srv)
        after = self.dnssec()
        self.assertEqual(after, before)
        keys, _ = self.dnskeys()
        self.assertEqual({t: rd for t, (fl, rd) in keys.items() if fl == 257}, ksk_before)
        self.assertEqual(after["Status"]["ServeSignature"], "SIGNING")
        self.assert_validates(self.state["mapped_ds"])
        self.assert_validates(self.state["mapped_ds"], "nothing-here." + ZONE, "A")

    def test_5_no_private_keys(self):
        self.collect_keys()
        lines = set(self.state["key_lines"])
        self.assertTrue(lines, "no generated private key found in the store")
        with open(self.keyfile) as f:
            lines.update(x.strip() for x in f if not x.startswith("-----"))
        # the first 48 characters of a P-256 PKCS#8 body are the same for every key
        secret = {x[48:] if x.startswith("MIGHAgEAMBMG") else x for x in lines}
        secret = {x for x in secret if len(x) >= 12}
        exp = os.path.join(self.srv.dir, "export")
        p = subprocess.run([harness.R53D, "-c", self.srv.conf_path, "--export", exp],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        texts = {"export (stdout)": p.stdout.decode(errors="replace")}
        self.assertEqual(p.returncode, 0, texts["export (stdout)"])
        for path in glob.glob(os.path.join(exp, "*")):
            with open(path, errors="replace") as f:
                texts[path] = f.read()
        self.admin()
        texts["api and admin output"] = "\n".join(self.outputs)
        texts["r53d log"] = self.full_log()
        self.assertIn("ksk_mapped", texts["api and admin output"])
        for where, text in texts.items():
            self.assertNotIn("PRIVATE KEY", text, where)
            for s in secret:
                # (not assertNotIn: its message would print the text, key and all)
                self.assertFalse(s in text, "%s holds private key material (a line "
                                 "starting %s...)" % (where, s[:4]))

    def test_4r_reload_bad_key(self):
        """A key file others may read refuses the configuration: --check fails naming the
        file, a reload fails and the old configuration (and its keys) keeps serving."""
        bad = os.path.join(self.keydir, "open.pem")
        shutil.copy(self.keyfile, bad)
        os.chmod(bad, 0o644)
        conf = json.loads(json.dumps(self.srv.conf))
        conf["dnssec"]["kms_keys"][MAPPED_ARN] = bad
        bad_conf = os.path.join(self.keydir, "bad.json")
        with open(bad_conf, "w") as f:
            json.dump(conf, f)
        p = subprocess.run([harness.R53D, "--check", bad_conf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn(bad, out)
        self.assertIn("dnssec.kms_keys", out)
        self.outputs.append(out)
        self.srv.write_conf(conf)
        try:
            st, _, body = raw(self.api_port, "POST", "/reload", body=b"")
            self.outputs.append(body.decode(errors="replace"))
            self.assertEqual(st, 409, body)
            self.assertIn(bad, body.decode())
        finally:
            self.srv.write_conf()
        self.assertEqual(self.dnssec()["Status"]["ServeSignature"], "SIGNING")
        keys, _ = self.dnskeys()
        self.assertIn(self.state["mapped_tag"], keys)
        self.assert_validates(self.state["mapped_ds"])
        st, _, body = raw(self.api_port, "POST", "/reload", body=b"")
        self.assertEqual(st, 200, body)
        self.assert_validates(self.state["mapped_ds"])

    def test_6_disable_and_delete(self):
        zid = self.state["zid"]
        self.insync(self.aws("disable-hosted-zone-dnssec", "--hosted-zone-id", zid))
        d = self.dnssec()
        self.assertEqual(d["Status"], {"ServeSignature": "NOT_SIGNING"})
        self.assertEqual(self.dnskeys(), ({}, set()))
        self.assertNotIn("RRSIG", self.dig(ZONE, "SOA"))
        # a never-signed or disabled zone: disabling again is accepted
        self.insync(self.aws("disable-hosted-zone-dnssec", "--hosted-zone-id", zid))
        self.insync(self.aws("deactivate-key-signing-key", "--hosted-zone-id", zid, "--name",
                             "ksk_mapped"))
        self.insync(self.aws("delete-key-signing-key", "--hosted-zone-id", zid, "--name",
                             "ksk_mapped"))
        d = self.dnssec()
        self.assertEqual(d["Status"], {"ServeSignature": "NOT_SIGNING"})
        self.assertEqual(d.get("KeySigningKeys", []), [])
        self.assertEqual([z for z in self.admin()["zones"] if z["id"] == zid], [])
        self.insync(self.aws("delete-hosted-zone", "--id", zid))


if __name__ == "__main__":
    unittest.main()
