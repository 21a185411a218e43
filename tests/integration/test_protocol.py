# SPDX-License-Identifier: MIT
"""Protocol edges with raw packets: FORMERR, NOTIMP, REFUSED, BADVERS, silent drops, EDNS.

What NSD 4.6 does for the same packets is noted beside each case (see also the report in
test_nsd_diff.py); r53d is held to the RFCs, not to NSD's choices where the RFCs leave room.

SignedProtocolTest (issue 14) does it again with example.com signed (a KSK r53d generates,
through the Route 53 API on the admin listener, then EnableHostedZoneDNSSEC): every
malformed packet that has an EDNS form is sent with DO and with DO+CO (0x4000), over UDP and
TCP, and must get the rcode it got before or nothing, never a signed record, and r53d must
keep answering; then DO queries of every type in the zone (RRSIG, NSEC, DNSKEY, DS, ANY
included; NXNAME is FORMERR), 253..255-byte names, 0x20 mixed case and EDNS sizes 512..4096
over UDP (the reply fits the size asked or carries TC) and TCP: every reply parses (dnswire,
then ldns), every RRset the design signs carries an RRSIG whose fields fit it, and ldns
(python3-ldns under /usr/bin/python3, through test_dnssec.py --ldns-verify) verifies every
signature with the DNSKEY RRset that GetDNSSEC's DS anchors.
"""

import json
import os
import socket
import struct
import subprocess
import time
import unittest
import uuid

import dnswire
import harness
from dnssec_util import key_tag
from dnswire import encode_name, make_query, opt_rr
from harness import SLOW, ServerCase

QNAME = "www.example.com."
QWIRE = encode_name(QNAME) + struct.pack("!HH", 1, 1)


def header(qid=0x1234, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!6H", qid, flags, qd, an, ns, ar)


class ProtocolTest(ServerCase):
    def send(self, wire, timeout=2.0):
        data = dnswire.udp_exchange(self.srv.port, wire, timeout)
        self.assertIsNotNone(data, "no reply to %s" % wire.hex())
        return dnswire.Message(data)

    def assertRcode(self, wire, rcode, opcode=0):
        m = self.send(wire)
        self.assertEqual(m.rcode_name, rcode, "packet %s\n%r" % (wire.hex(), m))
        self.assertTrue(m.qr)
        self.assertEqual(m.id, struct.unpack("!H", wire[:2])[0], "id echoed")
        self.assertEqual(m.opcode, opcode, "opcode echoed")
        self.assertFalse(m.tc)
        self.assertEqual(m.answer, [])
        return m

    # --- FORMERR --------------------------------------------------------------------------
    def test_qdcount_0(self):
        self.assertRcode(header(qd=0), "FORMERR")                    # NSD: FORMERR

    def test_qdcount_0_with_edns(self):
        # RFC 7873 5.4 allows a COOKIE-only query with QDCOUNT 0 (NSD: NOERROR, empty).
        m = self.send(header(qd=0, ar=1) + opt_rr())
        self.assertIn(m.rcode_name, ("FORMERR", "NOERROR"), m)
        self.assertEqual(m.answer, [])

    def test_qdcount_2(self):
        self.assertRcode(header(qd=2) + QWIRE + QWIRE, "FORMERR")   # NSD: FORMERR
        self.assertRcode(header(qd=2) + QWIRE, "FORMERR")

    def test_truncated_question(self):
        self.assertRcode(header() + QWIRE[:-2], "FORMERR")          # type but no class
        self.assertRcode(header() + QWIRE[:-4], "FORMERR")          # name only
        self.assertRcode(header() + QWIRE[:5], "FORMERR")           # inside the name
        self.assertRcode(header(), "FORMERR")                        # header only, QDCOUNT 1

    def test_bad_names(self):
        self.assertRcode(header() + b"\x03www\x07example\x03com", "FORMERR")  # no root label
        self.assertRcode(header() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", "FORMERR")
        self.assertRcode(header() + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01",
                         "FORMERR")                                   # 257-byte name
        self.assertRcode(header() + b"\xc0\x00\x00\x01\x00\x01", "FORMERR")   # pointer
        self.assertRcode(header() + b"\x80\x01a\x00\x00\x01\x00\x01", "FORMERR")  # label type 10

    def test_counts_without_records(self):
        self.assertRcode(header(an=1) + QWIRE, "FORMERR")            # NSD: FORMERR
        self.assertRcode(header(ns=1) + QWIRE, "FORMERR")
        self.assertRcode(header(ar=1) + QWIRE, "FORMERR")

    def test_two_opt_records(self):
        # RFC 6891 6.1.1: more than one OPT -> FORMERR
        self.assertRcode(header(ar=2) + QWIRE + opt_rr() + opt_rr(), "FORMERR")

    def test_opt_owner_not_root(self):
        bad = b"\x03www\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
        self.assertRcode(header(ar=1) + QWIRE + bad, "FORMERR")

    def test_opt_option_overruns_rdata(self):
        bad = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 4) + struct.pack("!HH", 8, 9)
        self.assertRcode(header(ar=1) + QWIRE + bad, "FORMERR")

    def test_trailing_garbage(self):
        # NSD ignores bytes after the last record and answers. RFC 1035 does not say; both an
        # answer and FORMERR are defensible. Never a crash, never data read from the garbage.
        m = self.send(header() + QWIRE + b"\x01\x02\x03")
        self.assertIn(m.rcode_name, ("NOERROR", "FORMERR"), m)
        if m.rcode_name == "NOERROR":
            self.assertEqual(len(m.answer), 3, m)
        m = self.send(make_query(QNAME, "A", edns=1232) + b"\xff" * 5)
        self.assertIn(m.rcode_name, ("NOERROR", "FORMERR"), m)

    # --- NOTIMP / REFUSED / BADVERS -------------------------------------------------------
    def test_notimp_opcodes(self):
        # NSD: NOTIMP for 1,2,3,5,6,15; NOTIFY (4) gets NXDOMAIN/REFUSED/FORMERR from NSD
        # because it implements NOTIFY for secondaries. r53d has no secondaries: NOTIMP.
        for op in (1, 2, 3, 4, 5, 6, 15):
            with self.subTest(opcode=op):
                self.assertRcode(make_query(QNAME, "A", opcode=op), "NOTIMP", opcode=op)

    def test_notimp_opcode_without_question(self):
        m = self.send(header(flags=5 << 11, qd=0))
        self.assertIn(m.rcode_name, ("NOTIMP", "FORMERR"), m)

    def test_refused_xfr(self):
        for t in ("AXFR", "IXFR"):
            with self.subTest(type=t, transport="udp"):
                # NSD: NOTIMP for AXFR over UDP, REFUSED for IXFR; spec NEG-8: REFUSED
                self.assertRcode(make_query("example.com.", t), "REFUSED")
            with self.subTest(type=t, transport="tcp"):
                data = dnswire.tcp_exchange(self.srv.port, make_query("example.com.", t))
                m = dnswire.Message(data)
                self.assertEqual(m.rcode_name, "REFUSED", m)
                self.assertEqual(m.answer, [])

    def test_dig_axfr_refused(self):
        r = self.srv.dig("example.com", "AXFR")
        self.assertNotIn("SOA", [x[3] for x in r.answer], r)
        self.assertTrue("Transfer failed" in r.text or r.status == "REFUSED", r)

    def test_refused_other_classes(self):
        for cls in (2, 4, 254):     # CS, HS, NONE -- spec NEG-8: REFUSED (NSD: REFUSED)
            with self.subTest(qclass=cls):
                self.assertRcode(make_query(QNAME, "A", qclass=cls), "REFUSED")

    def test_badvers(self):
        m = self.send(make_query(QNAME, "A", edns=1232, edns_version=1))
        self.assertEqual(m.rcode, 16, m)                 # header RCODE 0 + OPT ext-rcode 1
        self.assertEqual(m.flags & 0xF, 0)
        self.assertIsNotNone(m.opt)
        self.assertEqual(m.edns_version, 0, "BADVERS carries the version we do speak")
        self.assertEqual(m.answer, [])
        r = self.srv.dig(QNAME, "A", "+edns=1", "+noednsneg")
        self.assertEqual(r.status, "BADVERS", r)

    # --- no answer at all -----------------------------------------------------------------
    def test_silent_drops(self):
        """Responses (QR=1) and packets shorter than a header get nothing back."""
        bad = [make_query(QNAME, "A", qid=0x0101, flags=0x8000),       # QR=1
               make_query(QNAME, "A", qid=0x0102, flags=0x8400 | 0x3), # response NXDOMAIN
               b"", b"\x01", b"\x01\x03", b"\x01\x04" + b"\x00" * 9]     # 0, 1, 2, 11 bytes
        good = make_query(QNAME, "A", qid=0x7777)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", self.srv.port))
            for w in bad:
                s.send(w)
            time.sleep(0.05)
            s.send(good)
            s.settimeout(3)
            first = s.recv(65535)
            self.assertEqual(first[:2], b"\x77\x77", "the only reply is to the good query")
            s.settimeout(0.3)
            with self.assertRaises(socket.timeout, msg="a dropped packet was answered"):
                s.recv(65535)
        self.assertAnswering()

    # --- EDNS ----------------------------------------------------------------------------------
    def test_opt_iff_query_had_one(self):
        self.assertIsNone(self.send(make_query(QNAME, "A")).opt)
        m = self.send(make_query(QNAME, "A", edns=4096))
        self.assertEqual(m.edns_udp_size, 1232)
        self.assertEqual(m.edns_version, 0)
        m = self.send(make_query("nothere.example.com.", "A", edns=512))
        self.assertEqual(m.rcode_name, "NXDOMAIN")
        self.assertIsNotNone(m.opt)

    def test_do_bit_copied(self):
        m = self.send(make_query(QNAME, "A", edns=1232, do=True))   # RFC 3225 3
        self.assertEqual(m.rcode_name, "NOERROR")
        self.assertTrue(m.opt.ttl & 0x8000, "DO bit copied into the response")
        self.assertEqual(len(m.answer), 3)

    def test_unknown_and_known_options_ignored(self):
        ecs = struct.pack("!HHHBB", 8, 7, 1, 24, 0) + bytes([192, 0, 2])
        cookie = struct.pack("!HH", 10, 8) + b"12345678"
        unknown = struct.pack("!HH", 65001, 3) + b"abc"
        for opts in (ecs, cookie, unknown, ecs + cookie + unknown):
            with self.subTest(options=opts.hex()):
                m = self.send(make_query(QNAME, "A", edns=1232, options=opts))
                self.assertEqual(m.rcode_name, "NOERROR", m)
                self.assertEqual(len(m.answer), 3)

    def test_ecs_echo(self):
        """RFC 7871 7.2.1: if the reply carries ECS, FAMILY, SOURCE PREFIX-LENGTH and ADDRESS
        are those of the query; SCOPE is at most 128/32 (0 for answers that do not vary)."""
        q_ecs = struct.pack("!HBB", 1, 24, 0) + bytes([198, 51, 100])
        m = self.send(make_query(QNAME, "A", edns=1232,
                                 options=struct.pack("!HH", 8, len(q_ecs)) + q_ecs))
        self.assertEqual(m.rcode_name, "NOERROR", m)
        rdata = m.opt.rdata
        opts = {}
        i = 0
        while i + 4 <= len(rdata):
            code, ln = struct.unpack("!HH", rdata[i:i + 4])
            opts[code] = rdata[i + 4:i + 4 + ln]
            i += 4 + ln
        if 8 in opts:
            e = opts[8]
            self.assertEqual(e[:3], q_ecs[:3], "family and source prefix echoed")
            self.assertEqual(e[4:], q_ecs[4:], "address echoed")
            self.assertLessEqual(e[3], 32)

    def test_bad_ecs_option(self):
        # RFC 7871 7.1.2 says FORMERR for an invalid ECS option; answering is tolerated.
        for ecs in (struct.pack("!HHHBB", 8, 4, 1, 33, 0),            # prefix > 32
                    struct.pack("!HHHBB", 8, 4, 7, 24, 0),            # unknown family
                    struct.pack("!HHHBB", 8, 8, 1, 24, 0) + b"\x01\x02\x03\x04"):  # too long
            with self.subTest(ecs=ecs.hex()):
                m = self.send(make_query(QNAME, "A", edns=1232, options=ecs))
                self.assertIn(m.rcode_name, ("FORMERR", "NOERROR"), m)
        self.assertAnswering()

    # --- odd but valid queries --------------------------------------------------------------------
    def test_tc_or_flags_in_query_ignored(self):
        for flags in (0x0200, 0x0400, 0x0080, 0x0030):      # TC, AA, RA, AD|CD
            m = self.send(make_query(QNAME, "A", flags=flags))
            self.assertEqual(m.rcode_name, "NOERROR", m)
            self.assertEqual(len(m.answer), 3)
            self.assertFalse(m.ra)

    def test_meta_types(self):
        for t in (0, 41, 65535):   # type 0, OPT as qtype, reserved: NODATA (NSD) or REFUSED
            with self.subTest(qtype=t):
                m = self.send(make_query(QNAME, t))
                self.assertIn(m.rcode_name, ("NOERROR", "FORMERR", "REFUSED", "NOTIMP"), m)
                self.assertEqual(m.answer, [])

    def test_udp_replies_fit_512_without_edns(self):
        for name, t in (("example.com.", "ANY"), ("example.com.", "NS"), ("medium.example.com.",
                        "TXT"), ("big.example.com.", "TXT"), ("_sip._tcp.example.com.", "SRV"),
                        ("chain1.example.com.", "A")):
            data = dnswire.udp_exchange(self.srv.port, make_query(name, t))
            self.assertIsNotNone(data)
            self.assertLessEqual(len(data), 512, "%s %s" % (name, t))
            dnswire.Message(data)    # and it parses

    def test_max_length_name(self):
        # 255-byte qname inside the zone: NXDOMAIN with the name echoed
        labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 49]
        name = ".".join(labels) + ".example.com."
        self.assertEqual(len(encode_name(name)), 255)
        m = self.send(make_query(name, "A", edns=1232))
        self.assertEqual(m.rcode_name, "NXDOMAIN", m)
        self.assertEqual(dnswire.name_text(m.question[0][0]), name)

    def test_escaped_bytes_in_qname(self):
        m = self.send(make_query("a\\000b\\.c\\255.example.com.", "A", edns=1232))
        self.assertEqual(m.rcode_name, "NXDOMAIN", m)
        self.assertEqual(m.question[0][0][0], b"a\x00b.c\xff")


# =========================================================================================
# The same with DNSSEC on (issue 14)

SYS_PYTHON = "/usr/bin/python3"     # Debian's: the one python3-ldns is for
LDNS_VERIFIER = os.path.join(harness.HERE, "test_dnssec.py")
ZONE = "example.com."
ZONE_ID = "Z1"                      # harness.R53d numbers the fixture zones Z1, Z2
CHILD = "child.example.com."        # hosted beside example.com, left unsigned
KSK_ARN = "arn:aws:kms:us-east-1:111122223333:key/7e57ab1e-0b0b-4000-8000-00000000da7a"
DO, CO = 0x8000, 0x4000
T_RRSIG, T_NSEC, T_DNSKEY, T_DS, T_NXNAME = 46, 47, 48, 43, 128
EDNS_FLAGS = (("DO", DO), ("DO+CO", DO | CO))


def opt_flags_rr(flags, udp_size=1232, version=0, options=b""):
    """An OPT RR with the whole flags word given (DO 0x8000, CO 0x4000)."""
    return b"\x00" + struct.pack("!HHIH", 41, udp_size, (version << 16) | flags,
                                  len(options)) + options


def query_flags(qname, qtype, flags, udp_size=1232, qid=None, options=b""):
    wire = make_query(qname, qtype, qid=qid, counts=(1, 0, 0, 1))
    return wire + opt_flags_rr(flags, udp_size, options=options)


def malformed(opt):
    """Every packet of ProtocolTest that has an EDNS form, built around the OPT RR opt:
    (what, wire, the rcodes allowed, or None for a silent drop). NSD's answers are noted in
    ProtocolTest."""
    q = QWIRE
    ecs_bad = [struct.pack("!HHHBB", 8, 4, 1, 33, 0), struct.pack("!HHHBB", 8, 4, 7, 24, 0),
               struct.pack("!HHHBB", 8, 8, 1, 24, 0) + b"\x01\x02\x03\x04"]
    flags = struct.unpack("!I", opt[5:9])[0] & 0xFFFF

    def with_opt(**kw):
        return opt_flags_rr(flags, **kw)
    out = [
        ("QDCOUNT 0 + OPT", header(qd=0, ar=1) + opt, {"FORMERR", "NOERROR"}),
        ("QDCOUNT 2 + OPT", header(qd=2, ar=1) + q + q + opt, {"FORMERR"}),
        ("QDCOUNT 2, one question + OPT", header(qd=2, ar=1) + q + opt, {"FORMERR"}),
        ("ANCOUNT 1 + OPT", header(an=1, ar=1) + q + opt, {"FORMERR"}),
        ("NSCOUNT 1 + OPT", header(ns=1, ar=1) + q + opt, {"FORMERR"}),
        ("ARCOUNT 2, one OPT", header(ar=2) + q + opt, {"FORMERR"}),
        ("two OPTs", header(ar=2) + q + opt + opt, {"FORMERR"}),
        ("OPT owner not root", header(ar=1) + q + b"\x03www" + opt, {"FORMERR"}),
        ("OPT option overruns RDATA",
         header(ar=1) + q + opt[:9] + struct.pack("!H", 4) + struct.pack("!HH", 8, 9),
         {"FORMERR"}),
        ("OPT RDLENGTH past the end", header(ar=1) + q + opt[:9] + struct.pack("!H", 40),
         {"FORMERR"}),
        ("OPT cut in its fixed part", header(ar=1) + q + opt[:7], {"FORMERR"}),
        ("bad name + OPT: no root label", header(ar=1) + b"\x03www\x07example\x03com" + opt,
         {"FORMERR"}),
        ("bad name + OPT: 64-byte label",
         header(ar=1) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01" + opt, {"FORMERR"}),
        ("bad name + OPT: 257 bytes",
         header(ar=1) + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01" + opt,
         {"FORMERR"}),
        ("bad name + OPT: pointer", header(ar=1) + b"\xc0\x00\x00\x01\x00\x01" + opt,
         {"FORMERR"}),
        ("bad name + OPT: label type 10",
         header(ar=1) + b"\x80\x01a\x00\x00\x01\x00\x01" + opt, {"FORMERR"}),
        ("garbage after the OPT", header(ar=1) + q + opt + b"\xff" * 5, {"NOERROR", "FORMERR"}),
        ("EDNS version 1", header(ar=1) + q + with_opt(version=1), {"BADVERS"}),
        ("NOTIMP opcode 5 without question + OPT", header(flags=5 << 11, qd=0, ar=1) + opt,
         {"NOTIMP", "FORMERR"}),
        ("QR=1 + OPT", header(flags=0x8000, ar=1) + q + opt, None),
        ("response NXDOMAIN + OPT", header(flags=0x8403, ar=1) + q + opt, None),
    ]
    for e in ecs_bad:
        out.append(("bad ECS %s" % e.hex(), header(ar=1) + q + with_opt(options=e),
                    {"FORMERR", "NOERROR"}))
    for op in (1, 2, 3, 4, 5, 6, 15):
        out.append(("opcode %d + OPT" % op, header(flags=op << 11, ar=1) + q + opt, {"NOTIMP"}))
    for t in ("AXFR", "IXFR"):
        out.append((t + " + OPT", header(ar=1) + encode_name(ZONE) +
                    struct.pack("!HH", dnswire.type_code(t), 1) + opt, {"REFUSED"}))
    for cls in (2, 3, 4, 254):
        # CH answers only its own names (version.bind and the like): www.example.com is not
        out.append(("class %d + OPT" % cls, header(ar=1) + encode_name(QNAME) +
                    struct.pack("!HH", 1, cls) + opt, {"REFUSED"}))
    for t in (0, 41, 65535):
        out.append(("qtype %d + OPT" % t, header(ar=1) + encode_name(QNAME) +
                    struct.pack("!HH", t, 1) + opt, {"NOERROR", "FORMERR", "REFUSED", "NOTIMP"}))
    out.append(("qtype NXNAME + OPT", header(ar=1) + encode_name(QNAME) +
                struct.pack("!HH", T_NXNAME, 1) + opt, {"FORMERR"}))
    return out


def rrsig_fields(rdata):
    """RRSIG RDATA -> dict (RFC 4034 3.1); the signer name is never compressed."""
    tc, alg, labels, ottl, exp, inc, tag = struct.unpack("!HBBIIIH", rdata[:18])
    signer, end = dnswire.read_name(rdata, 18)
    return {"covered": tc, "alg": alg, "labels": labels, "ottl": ottl, "exp": exp, "inc": inc,
            "tag": tag, "signer": dnswire.name_text(signer).lower(), "sig": rdata[end:]}


def nsec_fields(rdata):
    """NSEC RDATA -> (next name labels, set of types in the bitmap)."""
    nxt, off = dnswire.read_name(rdata, 0)
    types = set()
    while off + 2 <= len(rdata):
        win, ln = rdata[off], rdata[off + 1]
        bm = rdata[off + 2:off + 2 + ln]
        if ln == 0 or ln > 32 or len(bm) != ln:
            raise dnswire.ParseError("bad NSEC window")
        for i, byte in enumerate(bm):
            for b in range(8):
                if byte & (0x80 >> b):
                    types.add(win * 256 + i * 8 + b)
        off += 2 + ln
    if off != len(rdata):
        raise dnswire.ParseError("NSEC bitmap runs past its RDATA")
    return nxt, types


def canonical_key(labels):
    """RFC 4034 6.1 canonical order: compare label by label from the right, lower case."""
    return [lab.lower() for lab in reversed(labels)]


def under(owner, zone):
    o, z = owner.lower(), zone.lower()
    return o == z or o.endswith("." + z)


def signed_name(owner, rtype=None):
    """Data of example.com (the signed zone), not of the child hosted beside it; the DS at
    the child's apex is the parent's."""
    if rtype in (T_DS, "DS") and owner.lower() == CHILD:
        return True
    return under(owner, ZONE) and not under(owner, CHILD)


def wire_len(labels):
    return sum(len(x) + 1 for x in labels) + 1


def long_name(total, first=63, zone=ZONE):
    """A name of exactly total wire bytes below zone whose first label has first bytes."""
    left = total - len(encode_name(zone))
    labels = [("a" * first)]
    left -= first + 1
    fill = "bcdefghij"
    i = 0
    while left > 0:
        n = min(63, left - 1)
        if n < 1:
            raise ValueError("cannot make %d bytes" % total)
        # keep the last label at least 1 byte: take less now if that would leave 1 byte
        if left - (n + 1) == 1:
            n -= 1
        labels.append(fill[i % len(fill)] * n)
        left -= n + 1
        i += 1
    name = ".".join(labels) + "." + zone
    assert len(encode_name(name)) == total, (name, len(encode_name(name)))
    return name


def sign_zone(api_port, srv):
    """CreateKeySigningKey (an ARN not in dnssec.kms_keys: r53d generates the key) and
    EnableHostedZoneDNSSEC for example.com through the API; the DS text GetDNSSEC prints,
    once the DNSKEY RRset is served (bounded)."""
    from test_api import raw, xml_doc, xml_request, wait_api   # noqa: E402 (needs aws only
    wait_api(api_port, srv)                                    # in ApiCase.setUpClass)
    st, _, body = raw(api_port, "POST", "/2013-04-01/keysigningkey", xml_request(
        "CreateKeySigningKeyRequest",
        {"CallerReference": "robust-" + uuid.uuid4().hex, "HostedZoneId": ZONE_ID,
         "KeyManagementServiceArn": KSK_ARN, "Name": "robust_ksk", "Status": "ACTIVE"}))
    if st != 201:
        raise AssertionError("CreateKeySigningKey: %d %r" % (st, body[:600]))
    st, _, body = raw(api_port, "POST", "/2013-04-01/hostedzone/%s/enable-dnssec" % ZONE_ID, b"")
    if st != 200:
        raise AssertionError("EnableHostedZoneDNSSEC: %d %r" % (st, body[:600]))
    st, _, body = raw(api_port, "GET", "/2013-04-01/hostedzone/%s/dnssec" % ZONE_ID)
    if st != 200:
        raise AssertionError("GetDNSSEC: %d %r" % (st, body[:600]))
    root = xml_doc(body)
    if root.findtext("Status/ServeSignature") != "SIGNING":
        raise AssertionError("GetDNSSEC: not SIGNING: %r" % body[:600])
    ds = [e.text for e in root.iter("DSRecord")]
    if len(ds) != 1:
        raise AssertionError("GetDNSSEC: want one DSRecord: %r" % body[:600])
    deadline = time.monotonic() + 15 * SLOW
    while time.monotonic() < deadline:
        m = srv.q(ZONE, "DNSKEY", edns=1232, do=True, timeout=1.0)
        if m is not None and any(rr.type == T_DNSKEY for rr in m.answer):
            return "%s IN DS %s" % (ZONE, ds[0])
        time.sleep(0.1)
    raise AssertionError("no DNSKEY served 15 s after EnableHostedZoneDNSSEC:\n" + srv.log())


class SignedProtocolTest(ServerCase):
    """example.com signed; the child hosted beside it unsigned. Two workers (two signers,
    two signature caches)."""

    ds = None

    @classmethod
    def setUpClass(cls):
        if harness.TARGET != "r53d":
            raise unittest.SkipTest("signing through the Route 53 API exists only in r53d")
        rc = subprocess.run([SYS_PYTHON, "-c", "import ldns"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, timeout=30)
        if rc.returncode != 0:
            raise AssertionError("python3-ldns is missing (contrib/deps.sh installs it): " +
                                 rc.stderr.decode())
        cls.api_port = harness.free_port()
        cls.SERVER_ARGS = {"admin": {"listen": "127.0.0.1:%d" % cls.api_port}, "workers": 2}
        super().setUpClass()
        try:
            cls.ds = sign_zone(cls.api_port, cls.srv)
        except BaseException:
            cls.srv.cleanup()
            raise

    # -- exchanges -----------------------------------------------------------------------

    def exchange(self, wire, tcp, timeout=2.0):
        """The reply bytes; None: no reply (UDP) or the connection closed without one."""
        if not tcp:
            return dnswire.udp_exchange(self.srv.port, wire, timeout * SLOW)
        try:
            return dnswire.tcp_exchange(self.srv.port, wire, timeout * SLOW)
        except (EOFError, ConnectionResetError, socket.timeout):
            return None

    def ask(self, wire, tcp=False):
        data = self.exchange(wire, tcp)
        self.assertIsNotNone(data, "no reply (%s) to %s" % ("TCP" if tcp else "UDP", wire.hex()))
        try:
            return data, dnswire.Message(data)
        except dnswire.ParseError as e:
            self.fail("reply does not parse (%s): %s\n%s" % (e, wire.hex(), data.hex()))

    def assertAlive(self):
        self.assertTrue(self.srv.alive(), "r53d died:\n" + self.srv.log())
        m = self.srv.q("www.example.com.", "A", edns=1232, do=True, timeout=3 * SLOW)
        self.assertIsNotNone(m, "no answer to a normal DO query")
        self.assertEqual(m.rcode_name, "NOERROR")
        self.assertEqual(sorted(r.rdata for r in m.answer if r.type == 1),
                         [bytes([192, 0, 2, x]) for x in (80, 81, 82)])
        self.assertEqual([rrsig_fields(r.rdata)["covered"] for r in m.answer
                          if r.type == T_RRSIG], [1], "www A is signed once, by the ZSK")

    def ldns_verify(self, replies):
        """ldns's view of each reply (see test_dnssec.ldns_main): the DNSKEY RRset must be
        signed by the KSK that the DS names, every RRSIG must verify."""
        _, dnskey = self.ask(query_flags(ZONE, "DNSKEY", DO), tcp=True)
        req = {"ds": self.ds, "dnskey": dnskey.wire.hex(), "replies": [r.hex() for r in replies]}
        p = subprocess.run([SYS_PYTHON, LDNS_VERIFIER, "--ldns-verify"],
                           input=json.dumps(req).encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120 * SLOW)
        self.assertEqual(p.returncode, 0, "ldns verifier: %s%s" % (p.stdout.decode()[-2000:],
                                                                  p.stderr.decode()[-2000:]))
        out = json.loads(p.stdout.decode())
        self.assertEqual(out["anchor"], "ok", "DNSKEY RRset vs the DS of GetDNSSEC")
        self.assertEqual(len(out["replies"]), len(replies))
        return out["replies"]

    # -- what a signed reply must look like ----------------------------------------------

    def check_signed(self, what, m, qname, qtype, flags):
        """Structural checks of one DO reply from the signed zone (ldns checks the
        signatures themselves). Returns the reply's kind."""
        ctx = "%s\n%r" % (what, m)
        self.assertTrue(m.qr, ctx)
        self.assertIsNotNone(m.opt, "no OPT in a reply to an OPT query: " + ctx)
        self.assertTrue(m.opt.ttl & DO, "DO not echoed: " + ctx)
        self.assertEqual(m.question[0][0], encode_name_labels(qname), "question echoed: " + ctx)
        co = bool(flags & CO)
        rcode = m.rcode_name
        zone_signed = signed_name(qname, qtype)
        if m.tc:
            # truncated: the rcode of the full signed reply (NXDOMAIN only with CO)
            self.assertIn(rcode, ("NOERROR", "NXDOMAIN") if co or not zone_signed else
                          ("NOERROR",), ctx)
            self.assertEqual(m.answer + m.authority, [], ctx)
            return "tc"
        self.assertIn(rcode, ("NOERROR", "NXDOMAIN") if co or not zone_signed else
                      ("NOERROR",), ctx)
        if rcode == "NXDOMAIN" and zone_signed:
            self.assertTrue(m.opt.ttl & CO, "NXDOMAIN without CO echoed: " + ctx)
        # RRSIG asked at a name that exists: the RRSIGs there, without their RRsets
        rrsig_answer = qtype == T_RRSIG and zone_signed and rcode == "NOERROR" and any(
            rr.type == T_RRSIG for rr in m.answer)
        # every RRset of answer and authority: grouped, and its RRSIGs
        for sec_name, sec in (("answer", m.answer), ("authority", m.authority)):
            sets, sigs = {}, {}
            for rr in sec:
                key = rr.owner.lower()
                if rr.type == T_RRSIG:
                    f = rrsig_fields(rr.rdata)
                    sigs.setdefault((key, f["covered"]), []).append((rr, f))
                else:
                    sets.setdefault((key, rr.type), []).append(rr)
            for (owner, t), rrs in sets.items():
                ctx2 = "%s %s %s: %s" % (sec_name, owner, dnswire.type_name(t), ctx)
                self.assertEqual(len({rr.ttl for rr in rrs}), 1, "one TTL per RRset: " + ctx2)
                want = signed_name(owner, t) and not (t == 2 and sec_name == "authority" and
                                                   owner != ZONE)
                got = sigs.pop((owner, t), [])
                if not want:
                    self.assertEqual(got, [], "RRSIG over data the zone does not sign: " + ctx2)
                    continue
                self.assertTrue(got, "RRset without RRSIG: " + ctx2)
                nlabels = len(rrs[0].name)
                for rr, f in got:
                    self.assertEqual(f["signer"], ZONE, ctx2)
                    self.assertEqual(f["alg"], 13, ctx2)
                    self.assertEqual(f["labels"], nlabels, "signed as the name asked: " + ctx2)
                    self.assertEqual(f["ottl"], rrs[0].ttl, "Original TTL: " + ctx2)
                    self.assertEqual(rr.ttl, rrs[0].ttl, "RRSIG TTL: " + ctx2)
                    self.assertLessEqual(rrs[0].ttl, 604800, ctx2)
                    now = time.time()
                    self.assertLess(f["inc"], now, ctx2)
                    self.assertGreater(f["exp"], now + 7 * 86400, ctx2)
                if t == T_DNSKEY:
                    self.assertGreaterEqual(len(got), 1, ctx2)
            if rrsig_answer and sec_name == "answer":
                for (owner, t), got in sigs.items():
                    self.assertNotEqual(t, T_RRSIG, "RRSIG over RRSIGs: " + ctx)
                    for rr, f in got:
                        self.assertEqual(f["signer"], ZONE, ctx)
                        self.assertEqual(f["labels"], len(rr.name), ctx)
                        self.assertEqual(f["ottl"], rr.ttl, ctx)
                # the name's NSEC is signed too (its bitmap says RRSIG)
                self.assertIn(T_NSEC, {t for (_, t) in sigs}, ctx)
                sigs = {}
            self.assertEqual(sigs, {}, "RRSIGs without their RRset: %s %s" % (sec_name, ctx))
        nsec = [rr for rr in m.authority if rr.type == T_NSEC]
        soa = [rr for rr in m.authority if rr.type == 6]
        ns = [rr for rr in m.authority if rr.type == 2 and rr.owner.lower() != ZONE]
        if ns and not m.aa:
            # a referral: DS (signed, checked above) or an NSEC at the cut without DS
            cut = ns[0].owner.lower()
            ds = [rr for rr in m.authority if rr.type == T_DS]
            if not ds:
                self.assertEqual([rr.owner.lower() for rr in nsec], [cut], ctx)
                _, types = nsec_fields(nsec[0].rdata)
                self.assertIn(2, types, ctx)
                self.assertNotIn(T_DS, types, ctx)
            return "referral"
        self.assertTrue(m.aa, ctx)
        answered = [rr for rr in m.answer if rr.type != T_RRSIG]
        if not zone_signed:
            self.assertEqual(nsec, [], ctx)
            return "other zone"
        if rrsig_answer:
            self.assertEqual(soa, [], ctx)
            self.assertEqual(nsec, [], ctx)
            return "answer"
        if rcode == "NOERROR" and answered and not nsec:
            if qtype == T_NSEC:
                # the name's own NSEC: next "\000.<name>", its types, RRSIG, NSEC
                own = [rr for rr in answered if rr.type == T_NSEC]
                self.assertEqual(len(own), 1, ctx)
                self.assertEqual(soa, [], ctx)
                nxt, types = nsec_fields(own[0].rdata)
                self.assertLess(canonical_key(own[0].name), canonical_key(nxt), ctx)
                if wire_len(own[0].name) + 2 <= 255:
                    self.assertEqual([l.lower() for l in nxt],
                                     [b"\x00"] + [l.lower() for l in own[0].name], ctx)
                self.assertTrue({T_RRSIG, T_NSEC} <= types, ctx)
                self.assertNotIn(T_NXNAME, types, ctx)
            return "answer"
        # a denial: SOA and one NSEC, signed (checked above)
        self.assertEqual(len(soa), 1, "denial without SOA: " + ctx)
        self.assertEqual(len(nsec), 1, "denial without one NSEC: " + ctx)
        nxt, types = nsec_fields(nsec[0].rdata)
        owner = nsec[0].name
        self.assertLessEqual(wire_len(nxt), 255, ctx)
        self.assertLess(canonical_key(owner), canonical_key(nxt), "NSEC next after owner: " + ctx)
        self.assertTrue({T_RRSIG, T_NSEC} <= types, ctx)
        if T_NXNAME in types:
            self.assertFalse(qtype not in (5, 255) and any(rr.type == qtype for rr in answered),
                             ctx)
            self.assertEqual(types, {T_RRSIG, T_NSEC, T_NXNAME}, ctx)
            return "nxdomain"
        self.assertNotIn(qtype, types, "NODATA NSEC shows the type asked: " + ctx)
        self.assertEqual(rcode, "NOERROR", ctx)
        return "nodata"

    # -- malformed packets with DO and CO -------------------------------------------------

    def test_malformed_with_do_and_co(self):
        sent = 0
        drops = []
        for label, flags in EDNS_FLAGS:
            for what, wire, allowed in malformed(opt_flags_rr(flags)):
                if allowed is None:
                    drops.append((label, what, wire))
                for tcp in (False, True):
                    if allowed is None and not tcp:
                        continue      # below, all at once
                    with self.subTest(edns=label, packet=what, tcp=tcp):
                        sent += 1
                        data = self.exchange(wire, tcp, timeout=0.5 if allowed is None else 2.0)
                        if allowed is None:
                            self.assertIsNone(data, "a dropped packet was answered")
                            continue
                        self.assertIsNotNone(data, "no reply to %s" % wire.hex())
                        m = dnswire.Message(data)
                        self.assertIn(m.rcode_name, allowed, "%s\n%r" % (wire.hex(), m))
                        self.assertTrue(m.qr)
                        self.assertEqual(m.id, 0x1234)
                        self.assertFalse(m.tc)
                        dnssec = [rr for rr in m.answer + m.authority + m.additional
                                  if rr.type in (T_RRSIG, T_NSEC, T_DNSKEY)]
                        if m.rcode_name in ("NOERROR", "NXDOMAIN") and m.question:
                            # answered after all (trailing garbage, odd qtypes): signed
                            qn, qt, _ = m.question[0]
                            self.check_signed(what, m, dnswire.name_text(qn), qt, flags)
                        else:
                            self.assertEqual(m.answer, [], m)
                            self.assertEqual(dnssec, [], "DNSSEC records in an error: %r" % m)
                        if m.rcode_name == "BADVERS":
                            self.assertEqual(m.edns_version, 0)
            self.assertAlive()
        self.assertGreater(sent, 100)
        # the silent drops over UDP: only the good query that follows them is answered
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", self.srv.port))
            for _, _, wire in drops:
                s.send(wire)
            time.sleep(0.05)
            s.send(query_flags(QNAME, 1, DO | CO, qid=0x7777))
            s.settimeout(3 * SLOW)
            first = s.recv(65535)
            self.assertEqual(first[:2], b"\x77\x77", "the only reply is to the good query")
            self.check_signed("after the drops", dnswire.Message(first), QNAME, 1, DO | CO)
            s.settimeout(0.3 * SLOW)
            with self.assertRaises(socket.timeout, msg="a dropped packet was answered: %r" %
                                   [d[:2] for d in drops]):
                s.recv(65535)
        self.assertEqual(len(drops), 4)
        self.assertAlive()

    # -- DO queries of every type in the zone ----------------------------------------------

    ASKS = [(ZONE, t) for t in ("SOA", "NS", "MX", "A", "AAAA", "TXT", "CAA", "DNSKEY",
                                 "RRSIG", "NSEC", "DS", "ANY", "SRV", "TYPE65400")] + [
        ("ns1.example.com.", "A"), ("ns1.example.com.", "AAAA"), ("www.example.com.", "A"),
        ("www.example.com.", "AAAA"), ("www.example.com.", "RRSIG"),
        ("www.example.com.", "NSEC"), ("www.example.com.", "ANY"), ("multi.example.com.", "A"),
        ("alias.example.com.", "A"), ("alias.example.com.", "CNAME"),
        ("chain1.example.com.", "A"), ("loop1.example.com.", "A"), ("ext.example.com.", "A"),
        ("dangling.example.com.", "A"), ("tomx.example.com.", "MX"),
        ("tochild.example.com.", "A"), ("tosub.example.com.", "A"), ("x.w.example.com.", "A"),
        ("x.w.example.com.", "TXT"), ("x.w.example.com.", "AAAA"), ("x.w.example.com.", "RRSIG"),
        ("x.w.example.com.", "NSEC"), ("a.b.w.example.com.", "A"), ("b.w.example.com.", "A"),
        ("exact.w.example.com.", "TXT"), ("foo.cn.example.com.", "A"),
        ("c.ent.example.com.", "A"), ("c.ent.example.com.", "NSEC"), ("sub.example.com.", "NS"),
        ("sub.example.com.", "DS"), ("sub.example.com.", "A"), ("ns1.sub.example.com.", "A"),
        ("child.example.com.", "DS"), ("child.example.com.", "SOA"),
        ("www.child.example.com.", "A"), ("_sip._tcp.example.com.", "SRV"),
        ("ptr.example.com.", "PTR"), ("hinfo.example.com.", "HINFO"),
        ("naptr.example.com.", "NAPTR"), ("sshfp.example.com.", "SSHFP"),
        ("_443._tcp.www.example.com.", "TLSA"), ("loc.example.com.", "LOC"),
        ("caa.example.com.", "CAA"), ("svcb.example.com.", "SVCB"),
        ("https.example.com.", "HTTPS"), ("ds.example.com.", "DS"), ("ds.example.com.", "ANY"),
        ("unk.example.com.", "TYPE65400"), ("txt.example.com.", "TXT"),
        ("escaped.example.com.", "TXT"), ("medium.example.com.", "TXT"),
        ("big.example.com.", "TXT"), ("inc.example.com.", "TXT"),
        ("host.inc.example.com.", "A"), ("x.y.deep.example.com.", "A"),
        ("last.example.com.", "A"), ("nothere.example.com.", "A"),
        ("nothere.example.com.", "DS"), ("nothere.example.com.", "RRSIG"),
        ("deeper.nothere.example.com.", "NSEC"), ("\\000.nothere.example.com.", "A")]

    def run_asks(self, asks, sizes=(1232,), tcp_too=True, flags_list=EDNS_FLAGS):
        """Send every (name, type) with each flags word and size over UDP (and TCP); check
        each reply; return the replies to hand to ldns, and the kinds seen."""
        replies, kinds = [], {}
        for name, qtype in asks:
            t = dnswire.type_code(qtype)
            for label, flags in flags_list:
                for size in sizes:
                    for tcp in ((False, True) if tcp_too else (False,)):
                        what = "%s %s %s size %d %s" % (name, qtype, label, size,
                                                        "TCP" if tcp else "UDP")
                        with self.subTest(ask=what):
                            data, m = self.ask(query_flags(name, t, flags, size), tcp)
                            if not tcp:
                                self.assertLessEqual(len(data), max(512, size),
                                                     "UDP reply longer than asked: " + what)
                            else:
                                self.assertFalse(m.tc, "TC over TCP: " + what)
                            kind = self.check_signed(what, m, name, t, flags)
                            kinds.setdefault(kind, []).append(what)
                            if kind != "tc":
                                replies.append(data)
        return replies, kinds

    def check_ldns(self, replies):
        """ldns verifies every signed RRset of answer and authority; the unsigned ones
        (the child's data, NS at a cut) carry no RRSIG. Returns the RRsets verified."""
        verified = 0
        for data, r in zip(replies, self.ldns_verify(replies)):
            qt = dnswire.Message(data).question[0][1]
            for s in r["rrsets"]:
                if qt == T_RRSIG and s["section"] == "answer" and s["records"] == 0:
                    # the answer to an RRSIG query (its RRsets come with other queries)
                    self.assertEqual(s["sig"], "RRSIG without RRset", json.dumps(r))
                    continue
                if not signed_name(s["owner"], s["type"]) or (s["type"] == "NS" and
                                                              s["section"] == "authority" and
                                                              s["owner"] != ZONE):
                    self.assertEqual(s["sig"], "unsigned", json.dumps(r, indent=1))
                else:
                    self.assertEqual(s["sig"], "ok", json.dumps(r, indent=1))
                    verified += 1
        self.assertGreaterEqual(verified, len(replies) // 2, "too few signed RRsets")
        return verified

    def test_every_type(self):
        replies, kinds = self.run_asks(self.ASKS)
        for k in ("answer", "nodata", "nxdomain", "referral", "other zone"):
            self.assertIn(k, kinds, "no reply of kind %s among %d" % (k, len(replies)))
        self.check_ldns(replies)
        # NXNAME as the query type: FORMERR, with and without DO, UDP and TCP
        for flags in (0, DO, DO | CO):
            for tcp in (False, True):
                with self.subTest(nxname=flags, tcp=tcp):
                    _, m = self.ask(query_flags(QNAME, T_NXNAME, flags), tcp)
                    self.assertEqual(m.rcode_name, "FORMERR", m)
                    self.assertEqual(m.answer + m.authority, [], m)
        self.assertAlive()

    def test_dnskey_signed_by_the_ksk(self):
        _, m = self.ask(query_flags(ZONE, "DNSKEY", DO))
        keys = [rr for rr in m.answer if rr.type == T_DNSKEY]
        flags = sorted(struct.unpack("!H", rr.rdata[:2])[0] for rr in keys)
        self.assertEqual(flags, [256, 257], m)
        sig_tags = {rrsig_fields(rr.rdata)["tag"] for rr in m.answer if rr.type == T_RRSIG}
        ksk = [rr.rdata for rr in keys if rr.rdata[:2] == b"\x01\x01"][0]
        self.assertEqual(sig_tags, {int(self.ds.split()[3])}, "DNSKEY signed by the KSK only")
        self.assertEqual(key_tag(ksk), int(self.ds.split()[3]), "DS names the served KSK")
        # other RRsets by the ZSK
        _, m = self.ask(query_flags(ZONE, "SOA", DO))
        zsk = [rr.rdata for rr in keys if rr.rdata[:2] == b"\x01\x00"][0]
        self.assertEqual({rrsig_fields(rr.rdata)["tag"] for rr in m.answer
                          if rr.type == T_RRSIG}, {key_tag(zsk)})

    def test_without_do_nothing_signed(self):
        for name, qtype in self.ASKS:
            for edns in (None, 1232):
                with self.subTest(ask=(name, qtype, edns)):
                    m = self.srv.q(name, qtype, edns=edns, timeout=2 * SLOW)
                    self.assertIsNotNone(m)
                    self.assertEqual([rr for rr in m.answer + m.authority + m.additional
                                      if rr.type in (T_RRSIG, T_NSEC)], [], m)
                    if qtype not in ("DNSKEY", "ANY"):
                        self.assertNotIn(T_DNSKEY, [rr.type for rr in m.answer], m)

    # -- long names, 0x20, EDNS sizes -------------------------------------------------------

    def test_long_names(self):
        asks = []
        for total in (253, 254, 255):
            for first in (63, 40):
                nx = long_name(total, first)
                asks += [(nx, "A"), (nx, "TXT")]
            wc = long_name(total, 63, "w.example.com.")      # *.w: a wildcard answer
            asks += [(wc, "A"), (wc, "TXT"), (wc, "AAAA"), (wc, "NSEC")]
            cn = long_name(total, 63, "cn.example.com.")     # *.cn: a wildcard CNAME
            asks += [(cn, "A")]
            ch = long_name(total, 63, CHILD)                  # the unsigned zone
            asks += [(ch, "A")]
            sub = long_name(total, 63, "sub.example.com.")    # below the delegation
            asks += [(sub, "A")]
        replies, kinds = self.run_asks(asks)
        self.assertIn("nxdomain", kinds)
        self.assertIn("answer", kinds)
        self.assertIn("referral", kinds)
        self.check_ldns(replies)
        self.assertAlive()

    def test_mixed_case(self):
        asks = [("WwW.ExAmPlE.cOm.", "A"), ("EXAMPLE.COM.", "DNSKEY"), ("eXaMpLe.CoM.", "SOA"),
                ("NoThErE.ExAmPlE.CoM.", "A"), ("X.W.EXAMPLE.COM.", "A"),
                ("wWw.ExAmPlE.CoM.", "AAAA"), ("AlIaS.eXaMpLe.CoM.", "A"),
                ("NS1.SUB.example.COM.", "A"), ("MxHoSt.ExAmPlE.CoM.", "MX"),
                ("B.W.Example.Com.", "A"), ("Sub.Example.Com.", "DS"),
                (long_name(255, 63, "w.example.com.").upper(), "A"),
                (long_name(255, 40).upper(), "A")]
        replies, kinds = self.run_asks(asks)
        self.assertIn("answer", kinds)
        self.assertIn("nxdomain", kinds)
        self.check_ldns(replies)

    def test_edns_sizes(self):
        asks = [(ZONE, "ANY"), (ZONE, "DNSKEY"), (ZONE, "NS"), ("big.example.com.", "TXT"),
                ("medium.example.com.", "TXT"), ("multi.example.com.", "A"),
                ("_sip._tcp.example.com.", "SRV"), ("ns1.sub.example.com.", "A"),
                ("chain1.example.com.", "A"), (long_name(255, 63), "A"),
                (long_name(255, 63, "w.example.com."), "TXT")]
        sizes = (512, 513, 600, 700, 800, 1000, 1200, 1231, 1232, 1233, 1400, 1500, 2048, 4096)
        replies, kinds = self.run_asks(asks, sizes=sizes, tcp_too=False,
                                       flags_list=(("DO", DO),))
        self.assertIn("tc", kinds, "nothing truncated at 512 with DO")
        # the same over TCP: never truncated, fully signed
        tcp_replies, _ = self.run_asks(asks, sizes=(512, 4096), flags_list=(("DO", DO),))
        self.check_ldns(replies + tcp_replies)
        self.assertAlive()


def encode_name_labels(name):
    return dnswire.read_name(encode_name(name), 0)[0]


if __name__ == "__main__":
    unittest.main()
