# SPDX-License-Identifier: MIT
"""Answer semantics of the real r53d over UDP, with dig, kdig and raw queries.

Zones: tests/fixtures/zones/example.com.zone (+ example.com.inc) and child.example.com.zone.
Spec: ROUTE53.md 1.5-1.7 and 9; RFC 1034 4.3.2, RFC 2308, RFC 4592, RFC 6604, RFC 8482.
"""

import re
import socket
import struct
import unittest

import dnswire
import harness
from harness import ServerCase, a, aaaa

SOA_RDATA = bytes.fromhex(
    "036e7331076578616d706c6503636f6d000a686f73746d6173746572076578616d706c6503636f6d00"
    "78a3f17500001c2000000e10001275000000012c")
APEX_NS = {"ns1.example.com.", "ns2.example.com.", "ns.external.net."}
WWW_A = [a("192.0.2.80"), a("192.0.2.81"), a("192.0.2.82")]


def ns_targets(rrs):
    return {dnswire.name_text(dnswire.read_name(r.rdata, 0)[0]) for r in rrs if r.type == 2}


def cname_target(rr):
    return dnswire.name_text(dnswire.read_name(rr.rdata, 0)[0])


class Base(ServerCase):
    def q(self, name, qtype="A", **kw):
        kw.setdefault("edns", 1232)
        m = self.srv.q(name, qtype, **kw)
        self.assertIsNotNone(m, "no reply to %s %s" % (name, qtype))
        return m

    def assertNegative(self, m, rcode, soa_ttl=300, soa_rdata=SOA_RDATA, apex="example.com."):
        self.assertEqual(m.rcode_name, rcode, m)
        self.assertTrue(m.aa, "AA must be set on negative answers\n%r" % m)
        self.assertEqual(m.answer, [], m)
        self.assertEqual(len(m.authority), 1, m)
        soa = m.authority[0]
        self.assertEqual(soa.type, 6)
        self.assertEqual(soa.owner.lower(), apex)
        self.assertEqual(soa.rdata, soa_rdata)
        self.assertEqual(soa.ttl, soa_ttl, "negative TTL must be min(SOA TTL, MINIMUM)")

    def assertPositive(self, m, rtype, rdatas, ttl=None, owner=None):
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertTrue(m.aa, m)
        self.assertFalse(m.tc, m)
        got = [r for r in m.answer if r.type == dnswire.type_code(rtype)]
        self.assertEqual(sorted(r.rdata for r in got), sorted(rdatas), m)
        if ttl is not None:
            self.assertEqual({r.ttl for r in got}, {ttl}, m)
        if owner is not None:
            self.assertEqual({r.owner for r in got}, {owner}, m)


class AnswerTest(Base):
    # --- real clients -------------------------------------------------------------------
    def test_dig_exact_match(self):
        r = self.srv.dig("www.example.com", "A")
        self.assertEqual(r.exit, 0, r)
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual(r.flags, {"qr", "aa"}, r)
        self.assertEqual(r.rdatas("ANSWER", "A"), ["192.0.2.80", "192.0.2.81", "192.0.2.82"], r)
        self.assertEqual({x[1] for x in r.answer}, {300})
        self.assertEqual({x[4] for x in r.rrs("AUTHORITY", "NS")}, APEX_NS, r)
        self.assertEqual(r.edns and r.edns["udp"], 1232, "EDNS size advertised must be 1232\n%s" % r)
        self.assertEqual(r.edns["version"], 0)

    def test_kdig_exact_match(self):
        r = self.srv.kdig("www.example.com", "AAAA")
        self.assertEqual(r.exit, 0, r)
        self.assertEqual(r.status, "NOERROR", r)
        self.assertIn("aa", r.flags, r)
        self.assertNotIn("ra", r.flags, r)
        self.assertEqual(r.rdatas("ANSWER", "AAAA"), ["2001:db8::80"], r)

    def test_dig_nxdomain(self):
        r = self.srv.dig("nothere.example.com", "A")
        self.assertEqual(r.status, "NXDOMAIN", r)
        self.assertIn("aa", r.flags)
        self.assertEqual(r.answer, [])
        self.assertEqual(r.authority, [("example.com.", 300, "IN", "SOA",
                                        "ns1.example.com. hostmaster.example.com. 2024010101 "
                                        "7200 3600 1209600 300")], r)

    def test_kdig_tcp(self):
        r = self.srv.kdig("mail.example.com", "A", "+tcp")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual(r.rdatas("ANSWER", "A"), ["192.0.2.25"], r)

    # --- exact match, apex ----------------------------------------------------------------
    def test_apex_records(self):
        self.assertPositive(self.q("example.com.", "SOA"), "SOA", [SOA_RDATA], ttl=3600)
        m = self.q("example.com.", "NS")
        self.assertEqual(ns_targets(m.answer), APEX_NS, m)
        self.assertPositive(self.q("example.com.", "A"), "A", [a("192.0.2.1")])
        self.assertPositive(self.q("example.com.", "AAAA"), "AAAA", [aaaa("2001:db8::1")])
        self.assertPositive(self.q("example.com.", "TXT"), "TXT", [b"\x0bv=spf1 -all"])
        self.assertPositive(self.q("example.com.", "CAA"), "CAA",
                            [bytes.fromhex("000569737375656c657473656e63727970742e6f7267")])

    def test_rd_copied_ra_clear(self):
        m = self.q("www.example.com.", rd=True)
        self.assertTrue(m.rd)
        self.assertFalse(m.ra)
        self.assertTrue(m.qr)
        self.assertEqual(m.opcode, 0)

    def test_authority_ns_on_positive_answer(self):
        m = self.q("www.example.com.")
        self.assertPositive(m, "A", WWW_A, ttl=300)
        self.assertEqual(ns_targets(m.authority), APEX_NS, "Route 53 adds the zone's NS set")
        self.assertEqual({r.owner.lower() for r in m.authority}, {"example.com."})
        self.assertEqual({r.ttl for r in m.authority}, {3600})

    # --- negative answers (RFC 2308) ------------------------------------------------------
    def test_nxdomain_soa_ttl_is_minimum(self):
        self.assertNegative(self.q("nothere.example.com."), "NXDOMAIN", soa_ttl=300)
        self.assertNegative(self.q("a.b.c.d.nothere.example.com.", "TXT"), "NXDOMAIN")

    def test_nodata(self):
        self.assertNegative(self.q("www.example.com.", "TXT"), "NOERROR")
        self.assertNegative(self.q("mail.example.com.", "AAAA"), "NOERROR")
        self.assertNegative(self.q("www.example.com.", "RRSIG"), "NOERROR")

    def test_negative_ttl_soa_ttl_below_minimum(self):
        soa = bytes.fromhex("036e7331056368696c64076578616d706c6503636f6d0005"
                            "61646d696e056368696c64076578616d706c6503636f6d00"
                            "00000007""00000e10""00000258""00015180""00015180")
        self.assertNegative(self.q("nx.child.example.com."), "NXDOMAIN", soa_ttl=60,
                            soa_rdata=soa, apex="child.example.com.")
        self.assertNegative(self.q("www.child.example.com.", "MX"), "NOERROR", soa_ttl=60,
                            soa_rdata=soa, apex="child.example.com.")

    def test_empty_non_terminals(self):
        self.assertNegative(self.q("c.ent.example.com."), "NOERROR")
        self.assertNegative(self.q("b.c.ent.example.com.", "AAAA"), "NOERROR")
        self.assertNegative(self.q("ent.example.com."), "NOERROR")
        self.assertPositive(self.q("a.b.c.ent.example.com."), "A", [a("192.0.2.210")])
        self.assertNegative(self.q("x.c.ent.example.com."), "NXDOMAIN")
        self.assertNegative(self.q("x.a.b.c.ent.example.com."), "NXDOMAIN")

    # --- CNAME -----------------------------------------------------------------------------
    def test_cname_followed(self):
        m = self.q("alias.example.com.")
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertTrue(m.aa)
        self.assertEqual(m.answer[0].type, 5, "the CNAME comes first\n%r" % m)
        self.assertEqual(m.answer[0].owner, "alias.example.com.")
        self.assertEqual(cname_target(m.answer[0]), "www.example.com.")
        self.assertEqual(sorted(r.rdata for r in m.answer[1:]), WWW_A, m)
        self.assertEqual({r.owner for r in m.answer[1:]}, {"www.example.com."})

    def test_cname_query_for_cname(self):
        m = self.q("alias.example.com.", "CNAME")
        self.assertEqual(len(m.answer), 1, m)
        self.assertEqual(cname_target(m.answer[0]), "www.example.com.")

    def test_cname_chain_in_order(self):
        m = self.q("chain1.example.com.")
        self.assertEqual(m.rcode_name, "NOERROR", m)
        chain = [(r.owner, cname_target(r)) for r in m.answer if r.type == 5]
        self.assertEqual(chain, [("chain1.example.com.", "chain2.example.com."),
                                 ("chain2.example.com.", "chain3.example.com."),
                                 ("chain3.example.com.", "www.example.com.")], m)
        self.assertEqual([r.type for r in m.answer[:3]], [5, 5, 5], m)
        self.assertEqual(sorted(r.rdata for r in m.answer[3:]), WWW_A, m)

    def test_cname_to_other_type(self):
        m = self.q("tomx.example.com.", "MX")
        self.assertEqual([r.type for r in m.answer], [5, 15], m)
        self.assertEqual(m.answer[1].owner, "mxhost.example.com.")
        # additional: the MX target's address, found through the chain
        self.assertIn(("mail.example.com.", 1, a("192.0.2.25")),
                      {(r.owner.lower(), r.type, r.rdata) for r in m.additional}, m)

    def test_cname_out_of_zone(self):
        m = self.q("ext.example.com.")
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertTrue(m.aa)
        self.assertEqual(len(m.answer), 1, m)
        self.assertEqual(cname_target(m.answer[0]), "www.external.net.")

    def test_cname_dangling_is_nxdomain(self):
        # RFC 6604 section 3: the RCODE reflects the last name of the chain.
        m = self.q("dangling.example.com.")
        self.assertEqual(m.rcode_name, "NXDOMAIN", m)
        self.assertTrue(m.aa)
        self.assertEqual(len(m.answer), 1, m)
        self.assertEqual(cname_target(m.answer[0]), "nothere.example.com.")
        self.assertEqual([r.type for r in m.authority], [6], m)
        self.assertEqual(m.authority[0].ttl, 300)

    def test_cname_loop_terminates(self):
        m = self.q("loop1.example.com.")
        self.assertIsNotNone(m)
        self.assertIn(m.rcode_name, ("NOERROR", "SERVFAIL"), m)
        if m.answer:
            self.assertEqual((m.answer[0].owner, cname_target(m.answer[0])),
                             ("loop1.example.com.", "loop2.example.com."), m)
            self.assertLessEqual(len(m.answer), 16, "loop must be cut short")
            self.assertEqual({r.type for r in m.answer}, {5})
        self.assertAnswering()

    def test_cname_nodata_target(self):
        m = self.q("alias.example.com.", "MX")
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertEqual([r.type for r in m.answer], [5], m)
        self.assertEqual([r.type for r in m.authority], [6], m)
        self.assertEqual(m.authority[0].ttl, 300)

    # --- wildcards (RFC 4592, spec HZ-24..HZ-31) ---------------------------------------------
    def test_wildcard_synthesis_owner_is_qname(self):
        self.assertPositive(self.q("x.w.example.com."), "A", [a("192.0.2.200")],
                            owner="x.w.example.com.")
        self.assertPositive(self.q("y.x.w.example.com.", "TXT"), "TXT", [b"\x0awildcard w"],
                            owner="y.x.w.example.com.")
        self.assertPositive(self.q("ZzZ.W.Example.COM."), "A", [a("192.0.2.200")],
                            owner="ZzZ.W.Example.COM.")

    def test_wildcard_nodata(self):
        self.assertNegative(self.q("x.w.example.com.", "AAAA"), "NOERROR")

    def test_wildcard_exact_name_wins(self):
        self.assertPositive(self.q("exact.w.example.com."), "A", [a("192.0.2.202")])
        self.assertNegative(self.q("exact.w.example.com.", "TXT"), "NOERROR")

    def test_wildcard_blocked_by_empty_non_terminal(self):
        self.assertNegative(self.q("b.w.example.com."), "NOERROR")       # ENT: NODATA
        self.assertNegative(self.q("x.b.w.example.com."), "NXDOMAIN")    # encloser b.w has no *
        self.assertPositive(self.q("a.b.w.example.com."), "A", [a("192.0.2.201")])

    def test_wildcard_parent_is_nodata(self):
        self.assertNegative(self.q("w.example.com."), "NOERROR")

    def test_wildcard_queried_literally(self):
        self.assertPositive(self.q("*.w.example.com."), "A", [a("192.0.2.200")],
                            owner="*.w.example.com.")

    def test_wildcard_cname(self):
        m = self.q("foo.cn.example.com.", "AAAA")
        self.assertEqual([r.type for r in m.answer], [5, 28], m)
        self.assertEqual(m.answer[0].owner, "foo.cn.example.com.")
        self.assertEqual(m.answer[1].rdata, aaaa("2001:db8::80"))

    def test_wildcard_in_child_zone(self):
        m = self.q("q.wc.child.example.com.", "TXT")
        self.assertPositive(m, "TXT", [b"\x0echild wildcard"], ttl=600,
                            owner="q.wc.child.example.com.")

    # --- delegations (HZ-35) -----------------------------------------------------------------
    def assertReferral(self, m):
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertFalse(m.aa, "AA must be clear on a referral\n%r" % m)
        self.assertEqual(m.answer, [], m)
        self.assertEqual({r.owner.lower() for r in m.authority}, {"sub.example.com."}, m)
        self.assertEqual(ns_targets(m.authority),
                         {"ns1.sub.example.com.", "ns2.sub.example.com.", "ns.external.net."})
        self.assertEqual({r.ttl for r in m.authority}, {86400})
        glue = {(r.owner.lower(), r.type, r.rdata) for r in m.additional}
        self.assertEqual(glue, {("ns1.sub.example.com.", 1, a("192.0.2.150")),
                                ("ns2.sub.example.com.", 28, aaaa("2001:db8::150"))}, m)

    def test_referral_below_cut(self):
        self.assertReferral(self.q("host.sub.example.com."))
        self.assertReferral(self.q("a.b.host.sub.example.com.", "MX"))

    def test_referral_at_cut(self):
        self.assertReferral(self.q("sub.example.com.", "A"))
        self.assertReferral(self.q("sub.example.com.", "NS"))

    def test_referral_for_glue_name(self):
        self.assertReferral(self.q("ns1.sub.example.com.", "A"))

    def test_ds_at_cut_answered_by_parent(self):
        m = self.q("sub.example.com.", "DS")
        self.assertPositive(m, "DS", [bytes.fromhex(
            "3039080249fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de6fffa1d4d1b0f6c1a2a8f3e1")],
            ttl=3600)

    def test_ds_below_cut_is_referral(self):
        self.assertReferral(self.q("x.sub.example.com.", "DS"))

    def test_dig_referral(self):
        r = self.srv.dig("www.sub.example.com", "A")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertNotIn("aa", r.flags, r)
        self.assertEqual(r.answer, [])
        self.assertEqual({x[4] for x in r.rrs("AUTHORITY", "NS")},
                         {"ns1.sub.example.com.", "ns2.sub.example.com.", "ns.external.net."}, r)
        self.assertEqual(sorted(x[4] for x in r.additional), ["192.0.2.150", "2001:db8::150"], r)

    def test_cname_into_delegation(self):
        # RFC 1034 4.3.2 step 3a/3b: restart at the CNAME's target, which lies below a
        # delegation of the same zone: the CNAME, then the referral (NSD keeps AA, as here).
        for qtype in ("A", "AAAA", "MX"):
            with self.subTest(qtype=qtype):
                m = self.q("tosub.example.com.", qtype)
                self.assertEqual(m.rcode_name, "NOERROR", m)
                self.assertTrue(m.aa, m)
                self.assertEqual([(r.owner, r.type) for r in m.answer],
                                 [("tosub.example.com.", 5)], m)
                self.assertEqual(cname_target(m.answer[0]), "host.sub.example.com.")
                self.assertEqual({r.owner.lower() for r in m.authority}, {"sub.example.com."}, m)
                self.assertEqual(ns_targets(m.authority), {"ns1.sub.example.com.",
                                                           "ns2.sub.example.com.",
                                                           "ns.external.net."}, m)
                glue = {(r.owner.lower(), r.type, r.rdata) for r in m.additional}
                self.assertEqual(glue, {("ns1.sub.example.com.", 1, a("192.0.2.150")),
                                        ("ns2.sub.example.com.", 28, aaaa("2001:db8::150"))}, m)
        # asking for the CNAME itself is an ordinary positive answer
        m = self.q("tosub.example.com.", "CNAME")
        self.assertEqual(ns_targets(m.authority), APEX_NS, m)
        r = self.srv.dig("tosub.example.com", "A")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertIn("aa", r.flags, r)
        self.assertEqual(r.rdatas("ANSWER", "CNAME"), ["host.sub.example.com."], r)
        self.assertEqual({x[0] for x in r.rrs("AUTHORITY", "NS")}, {"sub.example.com."}, r)
        self.assertEqual(sorted(x[4] for x in r.additional), ["192.0.2.150", "2001:db8::150"], r)

    # --- a child zone hosted beside its parent --------------------------------------------------
    def test_child_zone_served_directly(self):
        self.assertPositive(self.q("child.example.com."), "A", [a("192.0.2.170")], ttl=600)
        self.assertPositive(self.q("www.child.example.com."), "A", [a("192.0.2.171")])
        m = self.q("child.example.com.", "NS")
        self.assertTrue(m.aa, m)
        self.assertEqual(ns_targets(m.answer), {"ns1.child.example.com.", "ns2.child.example.com."})
        self.assertEqual({r.ttl for r in m.answer if r.type == 2}, {600}, "child's NS, not parent's")

    def test_child_ds_from_parent(self):
        m = self.q("child.example.com.", "DS")
        self.assertPositive(m, "DS", [bytes.fromhex(
            "d4310d02e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766")])

    # --- additional section -------------------------------------------------------------------
    def test_additional_for_ns(self):
        m = self.q("example.com.", "NS")
        add = {(r.owner.lower(), r.type, r.rdata) for r in m.additional}
        self.assertEqual(add, {("ns1.example.com.", 1, a("192.0.2.53")),
                               ("ns1.example.com.", 28, aaaa("2001:db8::53")),
                               ("ns2.example.com.", 1, a("192.0.2.54"))}, m)

    def test_additional_for_mx(self):
        m = self.q("example.com.", "MX")
        self.assertEqual(len(m.answer), 2, m)
        add = {(r.owner.lower(), r.type, r.rdata) for r in m.additional}
        self.assertIn(("mail.example.com.", 1, a("192.0.2.25")), add, m)
        self.assertFalse([r for r in m.additional if r.owner.lower().endswith("external.net.")])

    def test_additional_for_srv(self):
        m = self.q("_sip._tcp.example.com.", "SRV")
        self.assertEqual(len(m.answer), 2, m)
        add = {(r.owner.lower(), r.type, r.rdata) for r in m.additional}
        self.assertIn(("sipserver.example.com.", 1, a("192.0.2.70")), add, m)
        self.assertIn(("sipserver.example.com.", 28, aaaa("2001:db8::70")), add, m)

    def test_answer_not_repeated_in_additional(self):
        # RFC 2181 9 / NSD: an RRset in the answer section is not added again as additional
        # data (ns1 is an apex NS target); its other address RRset still is.
        m = self.q("ns1.example.com.", "A")
        self.assertPositive(m, "A", [a("192.0.2.53")])
        add = {(r.owner.lower(), r.type, r.rdata) for r in m.additional}
        self.assertEqual(add, {("ns1.example.com.", 28, aaaa("2001:db8::53")),
                               ("ns2.example.com.", 1, a("192.0.2.54"))}, m)
        m = self.q("ns1.example.com.", "AAAA")
        add = {(r.owner.lower(), r.type, r.rdata) for r in m.additional}
        self.assertEqual(add, {("ns1.example.com.", 1, a("192.0.2.53")),
                               ("ns2.example.com.", 1, a("192.0.2.54"))}, m)
        # ANY over TCP: both of ns1's address RRsets are answers, neither is additional
        m = self.srv.q("ns1.example.com.", "ANY", edns=1232, tcp=True)
        self.assertEqual({r.type for r in m.answer}, {1, 28}, m)
        self.assertEqual({(r.owner.lower(), r.type) for r in m.additional},
                         {("ns2.example.com.", 1)}, m)
        r = self.srv.kdig("ns1.example.com", "A")
        self.assertEqual(r.rdatas("ANSWER", "A"), ["192.0.2.53"], r)
        self.assertNotIn("192.0.2.53", [x[4] for x in r.additional], r)
        self.assertIn("2001:db8::53", [x[4] for x in r.additional], r)

    # --- case and compression ---------------------------------------------------------------------
    def test_qname_case_preserved(self):
        wire = dnswire.make_query("WwW.ExAmPlE.CoM.", "A", edns=1232)
        resp = dnswire.udp_exchange(self.srv.port, wire)
        self.assertIsNotNone(resp)
        qlen = len(dnswire.encode_name("WwW.ExAmPlE.CoM."))
        self.assertEqual(resp[12:12 + qlen], wire[12:12 + qlen], "question echoed byte for byte")
        m = dnswire.Message(resp)
        self.assertEqual({r.owner for r in m.answer}, {"WwW.ExAmPlE.CoM."}, m)
        r = self.srv.dig("MiXeD.W.eXaMpLe.CoM", "A")
        self.assertEqual(r.question[0][0], "MiXeD.W.eXaMpLe.CoM.", r)
        self.assertEqual([x[0] for x in r.answer], ["MiXeD.W.eXaMpLe.CoM."], r)

    def test_name_compression(self):
        m = self.q("www.example.com.")
        for rr in m.answer:
            self.assertEqual(rr.owner_wire_len, 2, "answer owner must be a pointer to the qname")
        for rr in m.authority:
            self.assertEqual(rr.owner_wire_len, 2, "apex owner must be a pointer")
        # 3 A + 3 NS + 3 glue + OPT: 217 bytes fully compressed (what NSD sends); without
        # compression it would be 351.
        self.assertLessEqual(len(m.wire), 217, m)
        ns = self.q("example.com.", "NS")
        # NSD: 165 (no authority, the answer is the NS set); allow a repeated NS authority.
        self.assertLessEqual(len(ns.wire), 165 + 65, ns)

    # --- many record types, byte for byte -----------------------------------------------------------
    TYPES = [
        ("ptr", "PTR", "03777777076578616d706c6503636f6d00"),
        ("hinfo", "HINFO", "0f50432d496e74656c2d3730304d487a054c696e7578"),
        ("naptr", "NAPTR", "0064000a0153075349502b44325500045f736970045f756470076578616d706c65"
                           "03636f6d00"),
        ("sshfp", "SSHFP", "0101123456789abcdef67890123456789abcdef67890"),
        ("_443._tcp.www", "TLSA", "0301010c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b5"
                                  "6664c5d3d6"),
        ("loc", "LOC", "000016138b3cf018810cbce0009895b8"),
        ("caa", "CAA", "8003746273556e6b6e6f776e"),
        ("svcb", "SVCB", "0001037376630865787465726e616c036e657400000100060268320268330003"
                         "000220fb"),
        ("https", "HTTPS", "0001000001000602683302683200040004c0000201"),
        ("ds", "DS", "ec4505012bb183af5f22588179a53b0a98631fad1a292118"),
        ("unk", "TYPE65400", "0a000001"),
        ("txt", "TXT", "0b68656c6c6f20776f726c640d7365636f6e6420737472696e67"),
        ("escaped", "TXT", "2471756f7465222073656d69636f6c6f6e3b206261636b736c6173685c207461"
                           "6209656e64"),
        ("mxhost", "MX", "0005046d61696c076578616d706c6503636f6d00"),
    ]

    def test_record_types_byte_exact(self):
        for name, rtype, hexdata in self.TYPES:
            with self.subTest(name=name, type=rtype):
                m = self.q(name + ".example.com.", rtype)
                self.assertPositive(m, rtype, [bytes.fromhex(hexdata)], ttl=3600)

    def test_srv_target_not_compressed(self):
        m = self.q("_sip._tcp.example.com.", "SRV")
        self.assertEqual(sorted(r.rdata.hex() for r in m.answer), [
            "000a003c13c409736970736572766572076578616d706c6503636f6d00",
            "0014000013c5037369700865787465726e616c036e657400"])

    def test_dig_presentation(self):
        r = self.srv.dig("unk.example.com", "TYPE65400")
        self.assertEqual(r.rdatas("ANSWER"), ["\\# 4 0A000001"], r)
        r = self.srv.dig("loc.example.com", "LOC")
        self.assertEqual(r.rdatas("ANSWER"), ["52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"], r)
        r = self.srv.dig("https.example.com", "HTTPS")
        self.assertEqual(r.rdatas("ANSWER"), ['1 . alpn="h3,h2" ipv4hint=192.0.2.1'], r)

    # --- $ORIGIN, $INCLUDE, relative names ------------------------------------------------------------
    def test_include_and_origin(self):
        self.assertPositive(self.q("host.inc.example.com."), "A", [a("192.0.2.220")])
        self.assertPositive(self.q("inc.example.com.", "TXT"), "TXT", [b"\x10from the include"])
        # after $INCLUDE the origin is example.com. again (RFC 1035 5.1)
        self.assertPositive(self.q("afterinc.example.com."), "A", [a("192.0.2.222")])
        self.assertPositive(self.q("x.y.deep.example.com."), "A", [a("192.0.2.230")])
        self.assertPositive(self.q("last.example.com."), "A", [a("192.0.2.240")])
        self.assertNegative(self.q("afterinc.inc.example.com."), "NXDOMAIN")

    # --- ANY (RFC 8482) --------------------------------------------------------------------------
    def test_any_udp_one_rrset(self):
        m = self.q("www.example.com.", "ANY")
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertTrue(m.aa)
        types = {r.type for r in m.answer}
        self.assertEqual(len(types), 1, "over UDP one RRset\n%r" % m)
        t = types.pop()
        want = {1: WWW_A, 28: [aaaa("2001:db8::80")]}
        self.assertIn(t, want, m)
        self.assertEqual(sorted(r.rdata for r in m.answer), sorted(want[t]), "a whole RRset")

    def test_any_tcp_all_rrsets(self):
        m = self.q("www.example.com.", "ANY", tcp=True)
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertEqual(sorted(r.rdata for r in m.answer if r.type == 1), WWW_A, m)
        self.assertEqual([r.rdata for r in m.answer if r.type == 28], [aaaa("2001:db8::80")], m)
        self.assertEqual({r.type for r in m.answer}, {1, 28}, m)

    def test_any_negative(self):
        self.assertNegative(self.q("nothere.example.com.", "ANY"), "NXDOMAIN")
        self.assertNegative(self.q("c.ent.example.com.", "ANY"), "NOERROR")

    # --- truncation ----------------------------------------------------------------------------------
    def test_tc_without_edns(self):
        wire = dnswire.make_query("medium.example.com.", "TXT")
        resp = dnswire.udp_exchange(self.srv.port, wire)
        self.assertIsNotNone(resp)
        self.assertLessEqual(len(resp), 512)
        m = dnswire.Message(resp)
        self.assertTrue(m.tc, m)
        self.assertTrue(m.qr)
        self.assertIsNone(m.opt)

    def test_tc_with_dig_ignore(self):
        r = self.srv.dig("medium.example.com", "TXT", "+noedns", "+ignore")
        self.assertIn("tc", r.flags, r)

    def test_no_tc_with_edns_1232(self):
        m = self.q("medium.example.com.", "TXT", edns=1232)
        self.assertFalse(m.tc, m)
        self.assertEqual(len(m.answer), 1)
        self.assertEqual(len(m.answer[0].rdata), 5 * 155)
        self.assertLessEqual(len(m.wire), 1232)

    def test_tc_capped_at_1232(self):
        wire = dnswire.make_query("big.example.com.", "TXT", edns=4096)
        resp = dnswire.udp_exchange(self.srv.port, wire)
        self.assertLessEqual(len(resp), 1232)
        m = dnswire.Message(resp)
        self.assertTrue(m.tc, m)
        self.assertEqual(m.edns_udp_size, 1232)

    def test_tcp_retry_gets_everything(self):
        m = self.q("big.example.com.", "TXT", tcp=True)
        self.assertFalse(m.tc)
        self.assertEqual(len(m.answer), 1)
        self.assertEqual(len(m.answer[0].rdata), 12 * 205)
        r = self.srv.dig("big.example.com", "TXT")   # dig retries over TCP by itself
        self.assertEqual(r.status, "NOERROR", r)
        self.assertNotIn("tc", r.flags, r)
        self.assertEqual(len(r.answer), 1, r)

    def test_tc_boundary(self):
        """One byte short and exactly enough, as Knot's test_process_query.c checks."""
        full = self.q("medium.example.com.", "TXT", tcp=True, edns=4096)
        need = full.section_end[0] + 11            # header+question+answer, plus an empty OPT
        small = self.q("medium.example.com.", "TXT", edns=need - 1)
        self.assertTrue(small.tc, "advertised %d, answer needs %d\n%r" % (need - 1, need, small))
        self.assertLessEqual(len(small.wire), need - 1)
        fit = self.q("medium.example.com.", "TXT", edns=need)
        self.assertFalse(fit.tc, "the answer fits in %d bytes; only optional sections may be "
                                 "dropped (RFC 2181 9)\n%r" % (need, fit))
        self.assertEqual(len(fit.answer), 1)
        self.assertLessEqual(len(fit.wire), need)
        whole = self.q("medium.example.com.", "TXT", edns=len(full.wire) + 11)
        self.assertFalse(whole.tc)
        self.assertEqual(ns_targets(whole.authority), APEX_NS, whole)

    def test_edns_below_512_means_512(self):
        m = self.q("medium.example.com.", "TXT", edns=100)
        self.assertTrue(m.tc, m)
        m = self.q("www.example.com.", "A", edns=100)   # 190 bytes fit in 512
        self.assertFalse(m.tc, m)
        self.assertEqual(len(m.answer), 3)

    # --- random order (Route 53 simple policy) -------------------------------------------------------
    def test_random_order(self):
        orders = set()
        first = set()
        want = sorted(a("192.0.2.%d" % i) for i in range(101, 109))
        for i in range(200):
            m = self.q("multi.example.com.", edns=None)
            rd = [r.rdata for r in m.answer]
            self.assertEqual(sorted(rd), want, "every answer carries all 8 values")
            orders.add(tuple(rd))
            first.add(rd[0])
            if len(first) == 8 and len(orders) > 20:
                break
        self.assertGreater(len(orders), 1, "200 answers, always the same order")
        self.assertEqual(len(first), 8, "each value should come first sometimes (p(miss) ~ 1e-11)")

    def test_random_order_small_rrset(self):
        orders = set()
        for _ in range(50):
            orders.add(tuple(r.rdata for r in self.q("www.example.com.").answer))
            if len(orders) > 1:
                break
        self.assertGreater(len(orders), 1)

    # --- refusing and chaos ------------------------------------------------------------------------
    def test_refused_outside_zones(self):
        for name in ("www.example.org.", "com.", ".", "example.com.evil.", "xexample.com."):
            with self.subTest(name=name):
                m = self.q(name)
                self.assertEqual(m.rcode_name, "REFUSED", m)
                self.assertFalse(m.aa)
                self.assertEqual(m.counts[1:3], (0, 0))
        r = self.srv.dig("www.example.org", "A")
        self.assertEqual(r.status, "REFUSED", r)

    def test_chaos_refused_by_default(self):
        for name in ("version.bind", "id.server"):
            r = self.srv.dig(name, "TXT", qclass="CH")
            self.assertEqual(r.status, "REFUSED", r)
            self.assertEqual(r.answer, [])


class NoAuthorityNsTest(Base):
    SERVER_ARGS = {"authority_ns": False}

    def test_positive_without_ns(self):
        m = self.q("www.example.com.")
        self.assertPositive(m, "A", WWW_A)
        self.assertEqual(m.authority, [], m)

    def test_negative_still_has_soa(self):
        self.assertNegative(self.q("nothere.example.com."), "NXDOMAIN")

    def test_referral_unchanged(self):
        m = self.q("x.sub.example.com.")
        self.assertFalse(m.aa)
        self.assertEqual(len(m.authority), 3)


class NoCnameChasingTest(Base):
    SERVER_ARGS = {"cname_chasing": False}

    def test_cname_alone(self):
        m = self.q("alias.example.com.")
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertTrue(m.aa)
        self.assertEqual([r.type for r in m.answer], [5], m)

    def test_chain_not_followed(self):
        m = self.q("chain1.example.com.")
        self.assertEqual([r.type for r in m.answer], [5], m)
        self.assertEqual([(r.owner, cname_target(r)) for r in m.answer],
                         [("chain1.example.com.", "chain2.example.com.")], m)

    def test_dangling_is_noerror(self):
        m = self.q("dangling.example.com.")
        self.assertEqual(m.rcode_name, "NOERROR", m)
        self.assertEqual([r.type for r in m.answer], [5], m)


class WildcardParentNxdomainTest(Base):
    """Spec HZ-29 compatibility flag: the empty parent of a wildcard answers NXDOMAIN."""
    SERVER_ARGS = {"wildcard_parent_nxdomain": True}

    def test_parent_of_wildcard(self):
        self.assertNegative(self.q("w.example.com."), "NXDOMAIN")

    def test_wildcard_itself_unchanged(self):
        self.assertPositive(self.q("x.w.example.com."), "A", [a("192.0.2.200")])
        self.assertNegative(self.q("b.w.example.com."), "NOERROR")   # ENT above a.b.w


class EdnsSizeTest(Base):
    SERVER_ARGS = {"edns_udp_size": 4096}

    def test_large_udp_answer(self):
        m = self.q("big.example.com.", "TXT", edns=4096)
        self.assertFalse(m.tc, m)
        self.assertEqual(m.edns_udp_size, 4096)
        self.assertEqual(len(m.answer[0].rdata), 12 * 205)

    def test_client_size_still_limits(self):
        m = self.q("big.example.com.", "TXT", edns=1232)
        self.assertTrue(m.tc, m)
        self.assertLessEqual(len(m.wire), 1232)


class SmallEdnsSizeTest(Base):
    SERVER_ARGS = {"edns_udp_size": 512}

    def test_512_cap(self):
        m = self.q("medium.example.com.", "TXT", edns=4096)
        self.assertTrue(m.tc, m)
        self.assertLessEqual(len(m.wire), 512)
        self.assertEqual(m.edns_udp_size, 512)


class TwoWorkersIpv6Test(Base):
    """Two worker threads (SO_REUSEPORT) and an IPv6 loopback listener beside IPv4."""

    @classmethod
    def setUpClass(cls):
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
                s.bind(("::1", 0))
            cls.v6 = True
        except OSError:
            cls.v6 = False
        listen = ["127.0.0.1:{port}"] + (["[::1]:{port}"] if cls.v6 else [])
        cls.SERVER_ARGS = {"workers": 2, "listen": listen}
        super().setUpClass()

    def test_many_queries_all_answered(self):
        for i in range(300):
            m = self.q("www.example.com." if i % 2 else "nothere.example.com.", edns=None)
            self.assertEqual(m.rcode_name, "NOERROR" if i % 2 else "NXDOMAIN")

    def test_ipv6(self):
        if not self.v6:
            self.skipTest("no IPv6 loopback")
        r = harness.dig_at("::1", self.srv.port, "www.example.com", "A")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual(r.rdatas("ANSWER", "A"), ["192.0.2.80", "192.0.2.81", "192.0.2.82"], r)
        r = harness.dig_at("::1", self.srv.port, "mail.example.com", "A", "+tcp")
        self.assertEqual(r.rdatas("ANSWER", "A"), ["192.0.2.25"], r)


class ChaosTest(Base):
    SERVER_ARGS = {"chaos": {"version": "r53d-test 1.2", "id": "node-7"}}

    def test_version_bind(self):
        r = self.srv.dig("version.bind", "TXT", qclass="CH")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual([(x[0], x[2], x[3], x[4]) for x in r.answer],
                         [("version.bind.", "CH", "TXT", '"r53d-test 1.2"')], r)

    def test_id_server(self):
        r = self.srv.kdig("id.server", "TXT", qclass="CH")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual([x[4] for x in r.answer], ['"node-7"'], r)

    def test_chaos_other_name_refused(self):
        m = self.q("www.example.com.", "TXT", qclass=dnswire.CLASS_CH)
        self.assertEqual(m.rcode_name, "REFUSED", m)
        m = self.q("version.bind.", "A", qclass=dnswire.CLASS_CH)
        self.assertIn(m.rcode_name, ("REFUSED", "NOERROR"), m)
        self.assertEqual(m.answer, [], "only TXT is answered")



def opt_options(m):
    """The options of a reply's OPT record as [(code, bytes)]."""
    out, rd, off = [], m.opt.rdata, 0
    while off < len(rd):
        code, n = struct.unpack("!HH", rd[off:off + 4])
        out.append((code, rd[off + 4:off + 4 + n]))
        off += 4 + n
    return out


NSID_QUERY = struct.pack("!HH", 3, 0)          # RFC 5001 2.1: an empty NSID option


def dig_nsid(r):
    """The NSID text as dig (; NSID: 6e 6f ... ("node-7")) or kdig (;; NSID: 6E6F... "node-7")
    prints it, or None."""
    m = re.search(r"NSID: [0-9A-Fa-f ]*\(?\"(.*)\"\)?", r.text)
    return m.group(1) if m else None


class NsidTest(Base):
    """NSID (RFC 5001) from the nsid key."""
    SERVER_ARGS = {"nsid": "r53d-nsid-1", "chaos": {"id": "node-7"}}

    def test_raw_option_bytes(self):
        m = self.q("www.example.com.", edns=1232, options=NSID_QUERY)
        self.assertEqual(m.opt.rdata, b"\x00\x03\x00\x0b" + b"r53d-nsid-1", m)
        self.assertEqual(m.rcode_name, "NOERROR")
        # not asked for: no NSID; no EDNS: no OPT at all
        m = self.q("www.example.com.", edns=1232)
        self.assertEqual(m.opt.rdata, b"", m)
        self.assertIsNone(self.q("www.example.com.", edns=None).opt)
        # also on negative answers, refusals and beside ECS (RFC 5001 2.2: any reply)
        for name in ("nx.example.com.", "www.example.org."):
            m = self.q(name, edns=1232, options=NSID_QUERY)
            self.assertEqual(opt_options(m), [(3, b"r53d-nsid-1")], m)
        ecs = struct.pack("!HHHBB", 8, 7, 1, 24, 0) + bytes([198, 51, 100])
        m = self.q("www.example.com.", edns=1232, options=NSID_QUERY + ecs)
        self.assertEqual([c for c, _ in opt_options(m)], [3, 8], m)
        self.assertEqual(opt_options(m)[0], (3, b"r53d-nsid-1"))

    def test_nonempty_request_ignored(self):
        m = self.q("www.example.com.", edns=1232, options=struct.pack("!HH", 3, 2) + b"xy")
        self.assertEqual(m.rcode_name, "NOERROR")
        self.assertEqual(opt_options(m), [], m)

    def test_dig_and_kdig(self):
        r = self.srv.dig("www.example.com", "A", "+nsid")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual(dig_nsid(r), "r53d-nsid-1", r)
        r = self.srv.kdig("www.example.com", "A", "+nsid")
        self.assertEqual(dig_nsid(r), "r53d-nsid-1", r)
        r = self.srv.dig("www.example.com", "A")
        self.assertIsNone(dig_nsid(r), r)


class NsidFromChaosIdTest(Base):
    """Without nsid, chaos.id is the NSID."""
    SERVER_ARGS = {"chaos": {"id": "node-7"}}

    def test_nsid_is_chaos_id(self):
        m = self.q("www.example.com.", edns=1232, options=NSID_QUERY)
        self.assertEqual(opt_options(m), [(3, b"node-7")], m)
        self.assertEqual(dig_nsid(self.srv.dig("www.example.com", "A", "+nsid")), "node-7")


class NsidOffTest(Base):
    """nsid false: no NSID even with chaos.id."""
    SERVER_ARGS = {"chaos": {"id": "node-7"}, "nsid": False}

    def test_no_nsid(self):
        m = self.q("www.example.com.", edns=1232, options=NSID_QUERY)
        self.assertEqual(opt_options(m), [], m)
        self.assertIsNone(dig_nsid(self.srv.dig("www.example.com", "A", "+nsid")))


class ChaosVersionOnlyTest(Base):
    SERVER_ARGS = {"chaos": {"version": "v9"}}

    def test_no_nsid_without_id(self):
        m = self.q("www.example.com.", edns=1232, options=NSID_QUERY)
        self.assertEqual(opt_options(m), [], m)

    def test_only_version_answered(self):
        r = self.srv.dig("version.bind", "TXT", qclass="CH")
        self.assertEqual([x[4] for x in r.answer], ['"v9"'], r)
        r = self.srv.dig("id.server", "TXT", qclass="CH")
        self.assertEqual(r.status, "REFUSED", r)


if __name__ == "__main__":
    unittest.main()
