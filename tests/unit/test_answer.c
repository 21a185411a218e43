/* SPDX-License-Identifier: MIT */
/*
 * test_answer.c -- wire queries through answer_build() on a fixed zone; the replies are
 * decoded with ldns and checked record by record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "dnssec.h"
#include "err.h"
#include "zdb.h"
#include "zsign.h"

static zdb_t *db;
static answer_ctx_t ctx;
static uint8_t out[65535];

/* The same zone signed with generated keys (sdb), answered by a context with a signer. */
static zdb_t *sdb;
static answer_ctx_t sctx;

static int setup_signed(void)
{
	dnssec_key_t *ksk = NULL, *zsk = NULL;
	if (dnssec_key_generate(&ksk, DNSSEC_FLAGS_KSK) != ERR_OK ||
	    dnssec_key_generate(&zsk, DNSSEC_FLAGS_ZSK) != ERR_OK)
		return -1;
	zdb_sec_src_t sec = { .ksk = &ksk, .n_ksk = 1, .zsk = zsk };
	zdb_src_t src = { .id = "/hostedzone/Z1", .name = "example.com.",
			  .zone_file = R53D_TEST_DATA "/example.com.zone", .dnssec = &sec };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232 };
	char err[512] = "";
	int ret = zdb_build(&src, 1, &o, &sdb, err, sizeof(err));
	if (ret != ERR_OK)
		fprintf(stderr, "zdb_build (signed): %s\n", err);
	dnssec_key_free(ksk); /* the zone holds its own references */
	dnssec_key_free(zsk);
	answer_ctx_init(&sctx, 43);
	if (ret == ERR_OK)
		ret = zsign_new(&sctx.sign, ZSIGN_CACHE_DEFAULT);
	return ret == ERR_OK ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	zdb_src_t src = { .id = "/hostedzone/Z1", .name = "example.com.",
			  .zone_file = R53D_TEST_DATA "/example.com.zone" };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232,
			 .chaos_version = "r53d-test", .chaos_id = NULL };
	char err[512] = "";
	int ret = zdb_build(&src, 1, &o, &db, err, sizeof(err));
	if (ret != ERR_OK)
		fprintf(stderr, "zdb_build: %s\n", err);
	answer_ctx_init(&ctx, 42);
	if (ret == ERR_OK && setup_signed() != 0)
		ret = ERR_INVAL;
	return ret == ERR_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	zsign_free(sctx.sign);
	zdb_free(sdb);
	zdb_free(db);
	return 0;
}

/* Answer raw bytes; returns the reply length. */
static size_t raw(const uint8_t *q, size_t len, bool tcp)
{
	return answer_build(&ctx, db, q, len, out, sizeof(out), NULL, tcp);
}

/* Build a query with ldns, answer it, decode the reply (caller frees). */
static ldns_pkt *askx(const char *name, ldns_rr_type t, ldns_rr_class c, uint16_t edns,
		      bool tcp)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	assert_non_null(dn);
	ldns_pkt *p = ldns_pkt_query_new(dn, t, c, 0);
	assert_non_null(p);
	ldns_pkt_set_id(p, 0x1234);
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, edns);
		ldns_pkt_set_edns_version(p, 0);
	}
	uint8_t *wire = NULL;
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	size_t n = raw(wire, wl, tcp);
	free(wire);
	assert_true(n >= 12);
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, out, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(r), 0x1234);
	assert_true(ldns_pkt_qr(r));
	return r;
}

static ldns_pkt *ask(const char *name, ldns_rr_type t)
{
	return askx(name, t, LDNS_RR_CLASS_IN, 0, false);
}

static void check_counts(const ldns_pkt *r, int rcode, bool aa, size_t an, size_t ns, size_t ar)
{
	assert_int_equal(ldns_pkt_get_rcode(r), rcode);
	assert_int_equal(ldns_pkt_aa(r), aa);
	assert_int_equal(ldns_pkt_ancount(r), an);
	assert_int_equal(ldns_pkt_nscount(r), ns);
	assert_int_equal(ldns_pkt_arcount(r), ar);
}

/* Ask, check rcode, AA and section counts, free: for queries whose records are not checked. */
static void expectx(const char *name, ldns_rr_type t, ldns_rr_class c, int rcode, bool aa,
		    size_t an, size_t ns, size_t ar)
{
	ldns_pkt *r = askx(name, t, c, 0, false);
	check_counts(r, rcode, aa, an, ns, ar);
	ldns_pkt_free(r);
}

static void expect(const char *name, ldns_rr_type t, int rcode, bool aa, size_t an, size_t ns,
		   size_t ar)
{
	expectx(name, t, LDNS_RR_CLASS_IN, rcode, aa, an, ns, ar);
}

/* The text of RR i of a section, e.g. "www.example.com.\t3600\tIN\tA\t192.0.2.10\n". */
static char *rr_str(ldns_rr_list *l, size_t i)
{
	return ldns_rr2str(ldns_rr_list_rr(l, i));
}

static void assert_rr(ldns_rr_list *l, size_t i, const char *want)
{
	char *s = rr_str(l, i);
	if (strcmp(s, want) != 0)
		fail_msg("got %s want %s", s, want);
	free(s);
}

static void test_exact_a(void **state)
{
	(void)state;
	ldns_pkt *r = ask("www.example.com.", LDNS_RR_TYPE_A);
	/* 4 A; authority: 2 NS; additional: ns1 A, ns2 A + AAAA */
	check_counts(r, LDNS_RCODE_NOERROR, true, 4, 2, 3);
	for (size_t i = 0; i < 4; i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), i);
		assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
		assert_int_equal(ldns_rr_ttl(rr), 3600);
	}
	assert_false(ldns_pkt_ra(r));
	ldns_pkt_free(r);
}

static void test_random_order(void **state)
{
	(void)state;
	char first[4][64];
	int distinct = 0;
	for (int i = 0; i < 64; i++) {
		ldns_pkt *r = ask("www.example.com.", LDNS_RR_TYPE_A);
		char *s = rr_str(ldns_pkt_answer(r), 0);
		bool seen = false;
		for (int k = 0; k < distinct; k++)
			seen |= strcmp(first[k], s) == 0;
		if (!seen && distinct < 4)
			snprintf(first[distinct++], sizeof(first[0]), "%s", s);
		free(s);
		ldns_pkt_free(r);
	}
	/* 64 draws of 4 equally likely first records: all four show up */
	assert_int_equal(distinct, 4);
}

static void test_case_preserved(void **state)
{
	(void)state;
	ldns_pkt *r = ask("WwW.ExAmPlE.CoM.", LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_NOERROR, true, 4, 2, 3);
	char *q = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(r), 0)));
	char *a = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(r), 0)));
	assert_string_equal(q, "WwW.ExAmPlE.CoM.");
	assert_string_equal(a, "WwW.ExAmPlE.CoM.");
	free(q);
	free(a);
	ldns_pkt_free(r);
}

static void test_nxdomain(void **state)
{
	(void)state;
	ldns_pkt *r = ask("nothere.example.com.", LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_NXDOMAIN, true, 0, 1, 0);
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(r), 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rr_ttl(soa), 300); /* min(3600, MINIMUM 300) */
	ldns_pkt_free(r);
}

static void test_nodata(void **state)
{
	(void)state;
	ldns_pkt *r = ask("www.example.com.", LDNS_RR_TYPE_AAAA);
	check_counts(r, LDNS_RCODE_NOERROR, true, 0, 1, 0);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(r), 0)),
			 LDNS_RR_TYPE_SOA);
	ldns_pkt_free(r);
	/* empty non-terminal: NODATA; below it: NXDOMAIN */
	expect("b.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, 0, 1, 0);
	expect("x.b.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true, 0, 1, 0);
	expect("a.b.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, 1, 2, 3);
}

static void test_cname(void **state)
{
	(void)state;
	ldns_pkt *r = ask("chain.example.com.", LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_NOERROR, true, 6, 2, 3);
	assert_rr(ldns_pkt_answer(r), 0,
		  "chain.example.com.\t3600\tIN\tCNAME\talias.example.com.\n");
	assert_rr(ldns_pkt_answer(r), 1, "alias.example.com.\t3600\tIN\tCNAME\twww.example.com.\n");
	ldns_pkt_free(r);
	/* the CNAME itself */
	expect("alias.example.com.", LDNS_RR_TYPE_CNAME, LDNS_RCODE_NOERROR, true, 1, 2, 3);
	/* dangling in-zone target: NXDOMAIN (RFC 6604) with the CNAME */
	expect("dangling.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true, 1, 1, 0);
	/* out of zone: the CNAME alone */
	expect("out.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, 1, 2, 3);
	/* loop: bounded */
	r = ask("loop1.example.com.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 2);
	ldns_pkt_free(r);
}

static void test_wildcard(void **state)
{
	(void)state;
	ldns_pkt *r = ask("foo.wild.example.com.", LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_NOERROR, true, 1, 2, 3);
	assert_rr(ldns_pkt_answer(r), 0, "foo.wild.example.com.\t3600\tIN\tA\t192.0.2.50\n");
	ldns_pkt_free(r);
	expect("deep.er.wild.example.com.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, true, 1, 2, 3);
	expect("foo.wild.example.com.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, true, 0, 1, 0);
	/* the wildcard's parent is an empty non-terminal: NODATA */
	expect("wild.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, 0, 1, 0);
	/* "*" asked literally */
	expect("*.wild.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, 1, 2, 3);
}

/* DNAME (RFC 6672): substitution below the owner, a synthesised CNAME, then the target. */
static void test_dname(void **state)
{
	(void)state;
	ldns_pkt *r = ask("a.DNin.example.com.", LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_NOERROR, true, 3, 2, 3);
	assert_rr(ldns_pkt_answer(r), 0, "DNin.example.com.\t3600\tIN\tDNAME\tb.example.com.\n");
	assert_rr(ldns_pkt_answer(r), 1, "a.DNin.example.com.\t3600\tIN\tCNAME\ta.b.example.com.\n");
	assert_rr(ldns_pkt_answer(r), 2, "a.b.example.com.\t3600\tIN\tA\t192.0.2.60\n");
	ldns_pkt_free(r);
	/* out of the zone: the DNAME (its own TTL) and the CNAME, nothing more */
	r = ask("x.y.dn.example.com.", LDNS_RR_TYPE_AAAA);
	check_counts(r, LDNS_RCODE_NOERROR, true, 2, 2, 3);
	assert_rr(ldns_pkt_answer(r), 0, "dn.example.com.\t300\tIN\tDNAME\texample.org.\n");
	assert_rr(ldns_pkt_answer(r), 1, "x.y.dn.example.com.\t300\tIN\tCNAME\tx.y.example.org.\n");
	ldns_pkt_free(r);
	/* an in-zone target that does not exist: NXDOMAIN after the chain (RFC 6604) */
	expect("nx.dnin.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true, 2, 1, 0);
	/* a CNAME query ends at the synthesised CNAME */
	expect("nx.dnin.example.com.", LDNS_RR_TYPE_CNAME, LDNS_RCODE_NOERROR, true, 2, 2, 3);
	/* the owner itself is ordinary data */
	expect("dn.example.com.", LDNS_RR_TYPE_DNAME, LDNS_RCODE_NOERROR, true, 1, 2, 3);
	expect("dn.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, 0, 1, 0);
	/* a DNAME that redirects into itself is applied once */
	r = ask("x.dnloop.example.com.", LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_NOERROR, true, 2, 2, 3);
	assert_rr(ldns_pkt_answer(r), 1,
		  "x.dnloop.example.com.\t3600\tIN\tCNAME\tx.dnloop.example.com.\n");
	ldns_pkt_free(r);
	/* a substitution longer than 255 bytes: YXDOMAIN with the DNAME alone (RFC 6672 2.2) */
	r = ask("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.dnlong.example.com.",
		LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_YXDOMAIN, true, 1, 0, 0);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(r), 0)),
			 LDNS_RR_TYPE_DNAME);
	ldns_pkt_free(r);
}

/* QCLASS * (RFC 6895 3.2): not authoritative, the answer section only. */
static void test_qclass_any(void **state)
{
	(void)state;
	ldns_pkt *r = askx("www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY, 0, false);
	check_counts(r, LDNS_RCODE_NOERROR, false, 4, 0, 0);
	ldns_pkt_free(r);
	expectx("nothere.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY, LDNS_RCODE_NXDOMAIN,
		false, 0, 0, 0);
	/* a referral stays a referral */
	expectx("x.sub.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY, LDNS_RCODE_NOERROR,
		false, 0, 2, 1);
}

static void test_referral(void **state)
{
	(void)state;
	ldns_pkt *r = ask("host.sub.example.com.", LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_NOERROR, false, 0, 2, 1);
	assert_rr(ldns_pkt_additional(r), 0, "ns.sub.example.com.\t3600\tIN\tA\t192.0.2.53\n");
	ldns_pkt_free(r);
	expect("sub.example.com.", LDNS_RR_TYPE_NS, LDNS_RCODE_NOERROR, false, 0, 2, 1);
	/* DS at the cut is the parent's: authoritative NODATA */
	expect("sub.example.com.", LDNS_RR_TYPE_DS, LDNS_RCODE_NOERROR, true, 0, 1, 0);
	/* glue asked directly: a referral too */
	expect("ns.sub.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, 0, 2, 1);
}

static void test_additional(void **state)
{
	(void)state;
	ldns_pkt *r = ask("example.com.", LDNS_RR_TYPE_MX);
	/* MX; NS in authority; mail A + ns1 A + ns2 A/AAAA */
	check_counts(r, LDNS_RCODE_NOERROR, true, 1, 2, 4);
	ldns_pkt_free(r);
	r = ask("_sip._udp.example.com.", LDNS_RR_TYPE_SRV);
	check_counts(r, LDNS_RCODE_NOERROR, true, 1, 2, 3);
	assert_rr(ldns_pkt_additional(r), 0, "ns1.example.com.\t3600\tIN\tA\t192.0.2.1\n");
	ldns_pkt_free(r);
	/* apex NS: no second copy in authority */
	expect("example.com.", LDNS_RR_TYPE_NS, LDNS_RCODE_NOERROR, true, 2, 0, 3);
}

static void test_truncation(void **state)
{
	(void)state;
	/* 6 TXT of ~100 bytes: > 512 */
	ldns_pkt *r = ask("big.example.com.", LDNS_RR_TYPE_TXT);
	assert_true(ldns_pkt_tc(r));
	check_counts(r, LDNS_RCODE_NOERROR, true, 0, 0, 0);
	ldns_pkt_free(r);
	r = askx("big.example.com.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 1232, false);
	assert_false(ldns_pkt_tc(r));
	check_counts(r, LDNS_RCODE_NOERROR, true, 6, 2, 3); /* OPT is not counted by ldns */
	assert_int_equal(ldns_pkt_edns_udp_size(r), 1232);
	ldns_pkt_free(r);
	/* EDNS 800: the answer fits, authority and additional are left out, no TC */
	r = askx("big.example.com.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 800, false);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), 6);
	ldns_pkt_free(r);
	r = askx("big.example.com.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0, true);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), 6);
	ldns_pkt_free(r);
}

static void test_any_and_types(void **state)
{
	(void)state;
	ldns_pkt *r = ask("ns2.example.com.", LDNS_RR_TYPE_ANY);
	assert_int_equal(ldns_pkt_ancount(r), 1); /* RFC 8482 over UDP: one RRset */
	ldns_pkt_free(r);
	r = askx("ns2.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, 0, true);
	assert_int_equal(ldns_pkt_ancount(r), 2); /* TCP: all */
	ldns_pkt_free(r);
	r = ask("unk.example.com.", 65400);
	check_counts(r, LDNS_RCODE_NOERROR, true, 1, 2, 3);
	ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), 0);
	assert_int_equal(ldns_rdf_size(ldns_rr_rdf(rr, 0)), 4);
	assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)), "\x0a\x00\x00\x01", 4);
	ldns_pkt_free(r);
	r = ask("txt.example.com.", LDNS_RR_TYPE_TXT);
	assert_rr(ldns_pkt_answer(r), 0,
		  "txt.example.com.\t3600\tIN\tTXT\t\"v=spf1 -all\" \"second string\"\n");
	ldns_pkt_free(r);
}

static void test_refused(void **state)
{
	(void)state;
	ldns_pkt *r = ask("www.example.org.", LDNS_RR_TYPE_A);
	check_counts(r, LDNS_RCODE_REFUSED, false, 0, 0, 0);
	ldns_pkt_free(r);
	expect("example.com.", LDNS_RR_TYPE_AXFR, LDNS_RCODE_REFUSED, false, 0, 0, 0);
	expectx("example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_HS, LDNS_RCODE_REFUSED, false, 0, 0, 0);
	r = askx("version.bind.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, 0, false);
	check_counts(r, LDNS_RCODE_NOERROR, true, 1, 0, 0);
	assert_rr(ldns_pkt_answer(r), 0, "version.bind.\t0\tCH\tTXT\t\"r53d-test\"\n");
	ldns_pkt_free(r);
	expectx("id.server.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, LDNS_RCODE_REFUSED, false, 0, 0, 0);
}

/* A valid query for www.example.com A, to mutate. */
static const uint8_t base_q[] = {
	0xab, 0xcd, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x01, 0x00, 0x01,
};

static int rcode_of(size_t n)
{
	assert_true(n >= 12);
	assert_true(out[2] & 0x80);
	return out[3] & 0x0F;
}

static void test_malformed(void **state)
{
	(void)state;
	uint8_t q[600];
	size_t bl = sizeof(base_q);

	assert_int_equal(rcode_of(raw(base_q, bl, false)), 0);
	/* too short for an id, header only, and a response: no answer */
	assert_int_equal(raw(base_q, 1, false), 0);
	assert_int_equal(raw(base_q, 11, false), 0);
	memcpy(q, base_q, bl);
	q[2] |= 0x80;
	assert_int_equal(raw(q, bl, false), 0);
	/* header only (QDCOUNT 1 but nothing follows) */
	assert_int_equal(rcode_of(raw(base_q, 12, false)), LDNS_RCODE_FORMERR);
	/* one byte short, one byte over */
	assert_int_equal(rcode_of(raw(base_q, bl - 1, false)), LDNS_RCODE_FORMERR);
	memcpy(q, base_q, bl);
	q[bl] = 0;
	assert_int_equal(rcode_of(raw(q, bl + 1, false)), LDNS_RCODE_FORMERR);
	/* QDCOUNT 0 and 2 */
	memcpy(q, base_q, bl);
	q[5] = 0;
	assert_int_equal(rcode_of(raw(q, bl, false)), LDNS_RCODE_FORMERR);
	assert_int_equal(out[5], 0);
	q[5] = 2;
	assert_int_equal(rcode_of(raw(q, bl, false)), LDNS_RCODE_FORMERR);
	/* ANCOUNT 1 */
	memcpy(q, base_q, bl);
	q[7] = 1;
	assert_int_equal(rcode_of(raw(q, bl, false)), LDNS_RCODE_FORMERR);
	/* compression pointer loop in the question */
	static const uint8_t loop[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1 };
	assert_int_equal(rcode_of(raw(loop, sizeof(loop), false)), LDNS_RCODE_FORMERR);
	/* a 64-byte label (reserved bits) */
	memcpy(q, base_q, bl);
	q[12] = 64;
	assert_int_equal(rcode_of(raw(q, bl, false)), LDNS_RCODE_FORMERR);
	/* label length past the end */
	memcpy(q, base_q, bl);
	q[16] = 60;
	assert_int_equal(rcode_of(raw(q, bl, false)), LDNS_RCODE_FORMERR);
	/* opcode NOTIFY (4), UPDATE (5): NOTIMP */
	memcpy(q, base_q, bl);
	q[2] = 4 << 3;
	assert_int_equal(rcode_of(raw(q, bl, false)), LDNS_RCODE_NOTIMPL);
	q[2] = 5 << 3;
	assert_int_equal(rcode_of(raw(q, bl, false)), LDNS_RCODE_NOTIMPL);
	/* a name longer than 255 bytes */
	uint8_t big[600] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t o = 12;
	for (int i = 0; i < 5; i++) {
		big[o++] = 63;
		memset(big + o, 'a', 63);
		o += 63;
	}
	big[o++] = 0;
	big[o++] = 0;
	big[o++] = 1;
	big[o++] = 0;
	big[o++] = 1;
	assert_int_equal(rcode_of(raw(big, o, false)), LDNS_RCODE_FORMERR);
}

/* Append an OPT RR to base_q: owner, size, version, option bytes. */
static size_t with_opt(uint8_t *q, uint8_t owner, uint16_t size, uint8_t version,
		       const uint8_t *opt, uint16_t optlen, int count)
{
	size_t bl = sizeof(base_q);
	memcpy(q, base_q, bl);
	q[11] = (uint8_t)count;
	size_t n = bl;
	for (int c = 0; c < count; c++) {
		q[n++] = owner;
		q[n++] = 0;
		q[n++] = 41;
		q[n++] = (uint8_t)(size >> 8);
		q[n++] = (uint8_t)size;
		q[n++] = 0;
		q[n++] = version;
		q[n++] = 0;
		q[n++] = 0;
		q[n++] = (uint8_t)(optlen >> 8);
		q[n++] = (uint8_t)optlen;
		if (optlen > 0)
			memcpy(q + n, opt, optlen);
		n += optlen;
	}
	return n;
}

static void test_edns(void **state)
{
	(void)state;
	uint8_t q[600];
	size_t n = with_opt(q, 0, 4096, 0, NULL, 0, 1);
	size_t rl = raw(q, n, false);
	assert_int_equal(rcode_of(rl), 0);
	assert_int_equal(out[11], 4); /* 3 additional + OPT */
	/* the OPT is last and advertises 1232 */
	assert_int_equal(out[rl - 11 + 1], 0);
	assert_int_equal(out[rl - 11 + 2], 41);
	assert_int_equal(out[rl - 11 + 3] << 8 | out[rl - 11 + 4], 1232);
	/* version 1: BADVERS = extended rcode 1, header rcode 0, OPT present */
	n = with_opt(q, 0, 4096, 1, NULL, 0, 1);
	rl = raw(q, n, false);
	assert_int_equal(rcode_of(rl), 0);
	assert_int_equal(out[7], 0);
	assert_int_equal(out[11], 1);
	assert_int_equal(out[rl - 11 + 5], 1);
	/* two OPTs, an OPT not owned by the root, an option running past the end */
	n = with_opt(q, 0, 4096, 0, NULL, 0, 2);
	assert_int_equal(rcode_of(raw(q, n, false)), LDNS_RCODE_FORMERR);
	n = with_opt(q, 1, 4096, 0, NULL, 0, 1);
	assert_int_equal(rcode_of(raw(q, n, false)), LDNS_RCODE_FORMERR);
	static const uint8_t badopt[] = { 0, 10, 0, 9, 1, 2 };
	n = with_opt(q, 0, 4096, 0, badopt, sizeof(badopt), 1);
	assert_int_equal(rcode_of(raw(q, n, false)), LDNS_RCODE_FORMERR);
	/* unknown options are ignored; a size below 512 counts as 512 */
	static const uint8_t cookie[] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	n = with_opt(q, 0, 100, 0, cookie, sizeof(cookie), 1);
	assert_int_equal(rcode_of(raw(q, n, false)), 0);
}

static void test_counters(void **state)
{
	(void)state;
	uint64_t before = ctx.stats.rcode[LDNS_RCODE_NXDOMAIN];
	ldns_pkt *r = ask("nothere.example.com.", LDNS_RR_TYPE_A);
	ldns_pkt_free(r);
	assert_int_equal(ctx.stats.rcode[LDNS_RCODE_NXDOMAIN], before + 1);
}

/* RFC 9824 3.5: an explicit query for NXNAME is a format error, signed zone or not. */
static void test_nxname_formerr(void **state)
{
	(void)state;
	expect("www.example.com.", DNSSEC_TYPE_NXNAME, LDNS_RCODE_FORMERR, false, 0, 0, 0);
	expect("nothere.example.com.", DNSSEC_TYPE_NXNAME, LDNS_RCODE_FORMERR, false, 0, 0, 0);
	ldns_pkt *r = askx("www.example.com.", DNSSEC_TYPE_NXNAME, LDNS_RR_CLASS_IN, 1232, true);
	check_counts(r, LDNS_RCODE_FORMERR, false, 0, 0, 0);
	assert_true(ldns_pkt_edns(r)); /* the OPT (ldns takes it out of the counts) */
	ldns_pkt_free(r);
}

/* A query of the signed zone (or of db with c = &ctx): EDNS 1232, DO and CO as given. */
static ldns_pkt *ask_sec(answer_ctx_t *c, const zdb_t *d, const char *name, ldns_rr_type t,
			 bool dok, bool co)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), t, LDNS_RR_CLASS_IN, 0);
	assert_non_null(p);
	ldns_pkt_set_id(p, 0x5353);
	ldns_pkt_set_edns_udp_size(p, 1232);
	ldns_pkt_set_edns_version(p, 0);
	ldns_pkt_set_edns_z(p, co ? 0x4000 : 0);
	ldns_pkt_set_edns_do(p, dok);
	uint8_t *wire = NULL;
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	assert_true(wl > 12 + 11);
	assert_int_equal(wire[wl - 11 + 7], co ? 0x40 | (dok ? 0x80 : 0) : (dok ? 0x80 : 0));
	size_t n = answer_build(c, d, wire, wl, out, sizeof(out), NULL, false);
	free(wire);
	assert_true(n >= 12);
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, out, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(r), 0x5353);
	assert_true(ldns_pkt_edns(r));
	return r;
}

/* Records of a type in a section (caller frees the list, not the records). */
static size_t count_type(const ldns_pkt *r, ldns_rr_type t, ldns_pkt_section sec)
{
	ldns_rr_list *l = ldns_pkt_rr_list_by_type(r, t, sec);
	size_t n = l != NULL ? ldns_rr_list_rr_count(l) : 0;
	ldns_rr_list_deep_free(l);
	return n;
}

/* Verify every RRSIG of a section with ldns against keys; returns how many. */
static size_t verify_section(ldns_rr_list *sec, ldns_rr_list *keys)
{
	size_t verified = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		ldns_rr *sig = ldns_rr_list_rr(sec, i);
		if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG)
			continue;
		ldns_rr_type covered = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
		ldns_rr_list *set = ldns_rr_list_new();
		for (size_t k = 0; k < ldns_rr_list_rr_count(sec); k++) {
			ldns_rr *rr = ldns_rr_list_rr(sec, k);
			if (ldns_rr_get_type(rr) == covered &&
			    ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(sig)) == 0)
				ldns_rr_list_push_rr(set, rr);
		}
		assert_true(ldns_rr_list_rr_count(set) > 0);
		ldns_rr_list *one = ldns_rr_list_new();
		ldns_rr_list_push_rr(one, sig);
		ldns_status st = ldns_verify(set, one, keys, NULL);
		if (st != LDNS_STATUS_OK)
			fail_msg("RRSIG over type %d: %s", covered, ldns_get_errorstr_by_id(st));
		ldns_rr_list_free(one);
		ldns_rr_list_free(set);
		verified++;
	}
	return verified;
}

/* The zone's DNSKEY RRset as the signed zone answers it (caller frees). */
static ldns_rr_list *signed_keys(void)
{
	ldns_pkt *r = ask_sec(&sctx, sdb, "example.com.", LDNS_RR_TYPE_DNSKEY, true, false);
	ldns_rr_list *keys = ldns_pkt_rr_list_by_type(r, LDNS_RR_TYPE_DNSKEY, LDNS_SECTION_ANSWER);
	assert_non_null(keys);
	assert_int_equal(ldns_rr_list_rr_count(keys), 2); /* KSK and ZSK */
	assert_int_equal(verify_section(ldns_pkt_answer(r), keys), 1); /* by the KSK */
	ldns_pkt_free(r);
	return keys;
}

/*
 * DO queries of a signed zone go through the signer; the CO flag (RFC 9824 5) is echoed
 * when asked and the answer is signed, and keeps NXDOMAIN; without DO, or without a
 * signer in the context, nothing is signed and CO is not echoed.
 */
static void test_signed_co(void **state)
{
	(void)state;
	ldns_rr_list *keys = signed_keys();
	/* a positive answer: RRSIGs that ldns accepts; CO echoed only when asked */
	for (int co = 0; co < 2; co++) {
		ldns_pkt *r = ask_sec(&sctx, sdb, "www.example.com.", LDNS_RR_TYPE_A, true, co);
		assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
		assert_true(ldns_pkt_edns_do(r));
		assert_int_equal(ldns_pkt_edns_z(r) & 0x4000, co ? 0x4000 : 0);
		assert_int_equal(count_type(r, LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER), 4);
		assert_int_equal(count_type(r, LDNS_RR_TYPE_RRSIG, LDNS_SECTION_ANSWER), 1);
		assert_true(verify_section(ldns_pkt_answer(r), keys) == 1);
		assert_true(verify_section(ldns_pkt_authority(r), keys) >= 1); /* apex NS */
		ldns_pkt_free(r);
	}
	/* a name that does not exist: NOERROR and an NSEC, or NXDOMAIN with CO */
	ldns_pkt *r = ask_sec(&sctx, sdb, "nothere.example.com.", LDNS_RR_TYPE_A, true, false);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_edns_z(r) & 0x4000, 0);
	assert_int_equal(count_type(r, LDNS_RR_TYPE_NSEC, LDNS_SECTION_AUTHORITY), 1);
	assert_true(verify_section(ldns_pkt_authority(r), keys) >= 2); /* SOA, NSEC */
	ldns_pkt_free(r);
	r = ask_sec(&sctx, sdb, "nothere.example.com.", LDNS_RR_TYPE_A, true, true);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_edns_z(r) & 0x4000, 0x4000);
	assert_int_equal(count_type(r, LDNS_RR_TYPE_NSEC, LDNS_SECTION_AUTHORITY), 1);
	assert_true(verify_section(ldns_pkt_authority(r), keys) >= 2);
	ldns_pkt_free(r);
	uint64_t nx = sctx.stats.rcode[LDNS_RCODE_NXDOMAIN];
	/* CO without DO: not signed, not echoed */
	r = ask_sec(&sctx, sdb, "nothere.example.com.", LDNS_RR_TYPE_A, false, true);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_edns_z(r), 0);
	assert_int_equal(count_type(r, LDNS_RR_TYPE_RRSIG, LDNS_SECTION_AUTHORITY), 0);
	assert_int_equal(count_type(r, LDNS_RR_TYPE_NSEC, LDNS_SECTION_AUTHORITY), 0);
	ldns_pkt_free(r);
	assert_int_equal(sctx.stats.rcode[LDNS_RCODE_NXDOMAIN], nx + 1); /* counted as sent */
	/* a context without a signer answers DO unsigned, CO not echoed */
	r = ask_sec(&ctx, sdb, "nothere.example.com.", LDNS_RR_TYPE_A, true, true);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_edns_do(r));
	assert_int_equal(ldns_pkt_edns_z(r) & 0x4000, 0);
	assert_int_equal(count_type(r, LDNS_RR_TYPE_RRSIG, LDNS_SECTION_AUTHORITY), 0);
	ldns_pkt_free(r);
	/* an unsigned zone with a signer: unsigned, CO not echoed */
	answer_ctx_t c2 = sctx; /* the same signer, the other snapshot */
	r = ask_sec(&c2, db, "nothere.example.com.", LDNS_RR_TYPE_A, true, true);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_edns_z(r) & 0x4000, 0);
	assert_int_equal(count_type(r, LDNS_RR_TYPE_RRSIG, LDNS_SECTION_AUTHORITY), 0);
	ldns_pkt_free(r);
	/* the signed zone answers NXNAME with FORMERR too */
	r = ask_sec(&sctx, sdb, "www.example.com.", DNSSEC_TYPE_NXNAME, true, true);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_ancount(r) + ldns_pkt_nscount(r), 0);
	ldns_pkt_free(r);
	zsign_stats_t st;
	zsign_stats(sctx.sign, &st);
	assert_true(st.answers >= 5);
	assert_int_equal(st.failures, 0);
	ldns_rr_list_deep_free(keys);
}

/* Nanoseconds per answer_build of one query (the context's caches warm); printed only. */
static double ns_per_query(answer_ctx_t *c, const zdb_t *d, const char *name, ldns_rr_type t,
			   bool dok)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), t, LDNS_RR_CLASS_IN, 0);
	assert_non_null(p);
	ldns_pkt_set_edns_udp_size(p, 1232);
	ldns_pkt_set_edns_do(p, dok);
	uint8_t *wire = NULL;
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	for (int i = 0; i < 100; i++) /* warm up */
		assert_true(answer_build(c, d, wire, wl, out, 1232, NULL, false) > 0);
	struct timespec t0, t1;
	const int n = 20000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
		assert_true(answer_build(c, d, wire, wl, out, 1232, NULL, false) > 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(wire);
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
}

/* The cost of signing with warm signature caches, against plain answers (no answer cache;
 * informative, not asserted: timings on a shared machine vary). */
static void test_signed_cost(void **state)
{
	(void)state;
	static const struct { const char *name; ldns_rr_type t; } qs[] = {
		{ "www.example.com.", LDNS_RR_TYPE_A },
		{ "nothere.example.com.", LDNS_RR_TYPE_A },
		{ "www.example.com.", LDNS_RR_TYPE_AAAA },
		{ "host.sub.example.com.", LDNS_RR_TYPE_A },
	};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double plain = ns_per_query(&sctx, sdb, qs[i].name, qs[i].t, false);
		double dok = ns_per_query(&sctx, sdb, qs[i].name, qs[i].t, true);
		printf("answer_build %s type %d: plain %.0f ns, DO signed (warm signature cache) "
		       "%.0f ns\n", qs[i].name, qs[i].t, plain, dok);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_a),      cmocka_unit_test(test_random_order),
		cmocka_unit_test(test_case_preserved), cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_nodata),       cmocka_unit_test(test_cname),
		cmocka_unit_test(test_wildcard),     cmocka_unit_test(test_dname),
		cmocka_unit_test(test_qclass_any),   cmocka_unit_test(test_referral),
		cmocka_unit_test(test_additional),   cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_any_and_types), cmocka_unit_test(test_refused),
		cmocka_unit_test(test_malformed),    cmocka_unit_test(test_edns),
		cmocka_unit_test(test_counters),     cmocka_unit_test(test_nxname_formerr),
		cmocka_unit_test(test_signed_co),    cmocka_unit_test(test_signed_cost),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
