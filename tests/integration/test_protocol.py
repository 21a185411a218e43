# SPDX-License-Identifier: MIT
"""Protocol edges with raw packets: FORMERR, NOTIMP, REFUSED, BADVERS, silent drops, EDNS.

What NSD 4.6 does for the same packets is noted beside each case (see also the report in
test_nsd_diff.py); r53d is held to the RFCs, not to NSD's choices where the RFCs leave room.
"""

import socket
import struct
import time
import unittest

import dnswire
from dnswire import encode_name, make_query, opt_rr
from harness import ServerCase

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


if __name__ == "__main__":
    unittest.main()
