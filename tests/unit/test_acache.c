/* SPDX-License-Identifier: MIT */
/*
 * test_acache.c -- the answer cache (server/acache.c): every response served from the cache
 * must carry what the full path gives for the same query (rcode, flags, question with its
 * letter case, every section as a set of records), with well-formed compression (every
 * pointer backwards), RRsets shuffled again on each hit, nothing kept across a snapshot
 * generation or over TCP; routing-policy answers only as their health and chance decide.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acache.h"
#include "answer.h"
#include "dnssec.h"
#include "err.h"
#include "zdb.h"
#include "zsign.h"

#include <time.h>

static zdb_t *db;
static answer_ctx_t ref;    /* no cache: the full path */
static answer_ctx_t cached; /* with the cache */
static uint8_t out_ref[65535], out_c[65535];

static int setup(void **state)
{
	(void)state;
	zdb_src_t src = { .id = "/hostedzone/Z1", .name = "example.com.",
			  .zone_file = R53D_TEST_DATA "/example.com.zone" };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232,
			 .chaos_version = "r53d-test", .chaos_id = NULL };
	char err[512] = "";
	int ret = zdb_build(&src, 1, &o, &db, err, sizeof(err));
	if (ret != ERR_OK) {
		fprintf(stderr, "zdb_build: %s\n", err);
		return -1;
	}
	answer_ctx_init(&ref, 42);
	answer_ctx_init(&cached, 43);
	if (acache_new((size_t)1 << 20, &cached.cache) != ERR_OK)
		return -1;
	acache_begin(cached.cache, db, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	acache_free(cached.cache);
	zdb_free(db);
	return 0;
}

/* Every compression pointer of a response points backwards, to a label. */
static void assert_pointers_backwards(const uint8_t *r, size_t len)
{
	size_t off = 12;
	unsigned qd = (unsigned)(r[4] << 8 | r[5]);
	unsigned rrs = (unsigned)((r[6] << 8 | r[7]) + (r[8] << 8 | r[9]) + (r[10] << 8 | r[11]));
	for (unsigned k = 0; k < qd + rrs; k++) {
		/* owner (or qname): labels, then 0 or a pointer */
		while (off < len && r[off] != 0 && (r[off] & 0xC0) != 0xC0)
			off += (size_t)r[off] + 1;
		assert_true(off < len);
		if ((r[off] & 0xC0) == 0xC0) {
			size_t t = (size_t)(r[off] & 0x3F) << 8 | r[off + 1];
			assert_true(t < off);
			assert_true(t >= 12);
			off += 2;
		} else {
			off++;
		}
		if (k < qd) {
			off += 4;
			continue;
		}
		assert_true(off + 10 <= len);
		size_t rdl = (size_t)(r[off + 8] << 8 | r[off + 9]);
		uint16_t type = (uint16_t)(r[off] << 8 | r[off + 1]);
		size_t rd = off + 10;
		off = rd + rdl;
		assert_true(off <= len);
		/* names in NS, CNAME, PTR, MX, SOA rdata */
		size_t p = type == LDNS_RR_TYPE_MX ? rd + 2 : rd;
		int names = type == LDNS_RR_TYPE_SOA ? 2 :
			    (type == LDNS_RR_TYPE_NS || type == LDNS_RR_TYPE_CNAME ||
			     type == LDNS_RR_TYPE_PTR || type == LDNS_RR_TYPE_MX) ? 1 : 0;
		for (int nm = 0; nm < names; nm++) {
			while (p < off && r[p] != 0 && (r[p] & 0xC0) != 0xC0)
				p += (size_t)r[p] + 1;
			assert_true(p < off);
			if ((r[p] & 0xC0) == 0xC0) {
				size_t t = (size_t)(r[p] & 0x3F) << 8 | r[p + 1];
				assert_true(t < p);
				p += 2;
			} else {
				p++;
			}
		}
	}
	assert_int_equal(off, len);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A section as sorted text lines, joined. Caller frees. */
static char *section_text(ldns_rr_list *l)
{
	size_t n = ldns_rr_list_rr_count(l);
	char **s = calloc(n + 1, sizeof(*s));
	size_t total = 1;
	for (size_t i = 0; i < n; i++) {
		s[i] = ldns_rr2str(ldns_rr_list_rr(l, i));
		total += strlen(s[i]);
	}
	qsort(s, n, sizeof(*s), cmp_str);
	char *all = calloc(1, total);
	for (size_t i = 0; i < n; i++) {
		strcat(all, s[i]);
		free(s[i]);
	}
	free(s);
	return all;
}

static void assert_same_section(ldns_rr_list *a, ldns_rr_list *b)
{
	char *x = section_text(a), *y = section_text(b);
	if (strcmp(x, y) != 0)
		fail_msg("full path:\n%s\ncache:\n%s", x, y);
	free(x);
	free(y);
}

/* The cached context's answer equals the full path's (records as sets). */
static void assert_same(const uint8_t *q, size_t qlen, const uint8_t *r1, size_t n1,
			const uint8_t *r2, size_t n2)
{
	assert_int_equal(n1 == 0, n2 == 0);
	if (n1 == 0)
		return;
	assert_memory_equal(r1, r2, 4); /* id and flags */
	assert_memory_equal(r1 + 4, r2 + 4, 8); /* counts */
	/* the question as asked, letter case included */
	size_t qe = 12;
	if (r1[5] == 1) {
		while (q[qe] != 0)
			qe += (size_t)q[qe] + 1;
		qe += 5;
		assert_true(qe <= qlen && qe <= n2);
		assert_memory_equal(q + 12, r2 + 12, qe - 12);
	}
	assert_pointers_backwards(r2, n2);
	ldns_pkt *a = NULL, *b = NULL;
	assert_int_equal(ldns_wire2pkt(&a, r1, n1), LDNS_STATUS_OK);
	assert_int_equal(ldns_wire2pkt(&b, r2, n2), LDNS_STATUS_OK);
	assert_same_section(ldns_pkt_answer(a), ldns_pkt_answer(b));
	assert_same_section(ldns_pkt_authority(a), ldns_pkt_authority(b));
	assert_same_section(ldns_pkt_additional(a), ldns_pkt_additional(b));
	assert_int_equal(ldns_pkt_edns(a), ldns_pkt_edns(b));
	assert_int_equal(ldns_pkt_edns_udp_size(a), ldns_pkt_edns_udp_size(b));
	assert_int_equal(ldns_pkt_edns_do(a), ldns_pkt_edns_do(b));
	ldns_pkt_free(a);
	ldns_pkt_free(b);
}

/* Ask the same bytes of both contexts, the cached one four times (first sighting, a store,
 * then hits). */
static void check_wire(const uint8_t *q, size_t qlen)
{
	for (int round = 0; round < 4; round++) {
		size_t n1 = answer_build(&ref, db, q, qlen, out_ref, 4096, NULL, false);
		size_t n2 = answer_build(&cached, db, q, qlen, out_c, 4096, NULL, false);
		assert_same(q, qlen, out_ref, n1, out_c, n2);
	}
}

/* A query made with ldns: name as given (its case kept), type, EDNS size (0: none), DO. */
static size_t make_query(const char *name, ldns_rr_type t, uint16_t edns, bool dnssec_ok,
			 uint16_t id, uint8_t **wire)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	assert_non_null(dn);
	ldns_pkt *p = ldns_pkt_query_new(dn, t, LDNS_RR_CLASS_IN, LDNS_RD);
	assert_non_null(p);
	ldns_pkt_set_id(p, id);
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, edns);
		ldns_pkt_set_edns_version(p, 0);
		ldns_pkt_set_edns_do(p, dnssec_ok);
	}
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(wire, p, &wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return wl;
}

static void check(const char *name, ldns_rr_type t, uint16_t edns, bool dnssec_ok)
{
	uint8_t *wire = NULL;
	size_t wl = make_query(name, t, edns, dnssec_ok, 0x4242, &wire);
	check_wire(wire, wl);
	free(wire);
}

static void test_same_answers(void **state)
{
	(void)state;
	static const char *const names[] = {
		"example.com.", "www.example.com.", "WwW.ExAmPlE.cOm.", "ns1.example.com.",
		"ns2.example.com.", "mail.example.com.", "alias.example.com.",
		"chain.example.com.", "dangling.example.com.", "out.example.com.",
		"loop1.example.com.", "x.wild.example.com.", "a.b.example.com.", "b.example.com.",
		"sub.example.com.", "www.sub.example.com.", "ns.sub.example.com.",
		"_sip._udp.example.com.", "txt.example.com.", "big.example.com.",
		"unk.example.com.", "x.dn.example.com.", "x.dnin.example.com.",
		"x.dnloop.example.com.", "nothere.example.com.", "www.example.org.", NULL
	};
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA,
					      LDNS_RR_TYPE_NS, LDNS_RR_TYPE_MX,
					      LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_SOA,
					      LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_SRV,
					      LDNS_RR_TYPE_ANY, LDNS_RR_TYPE_DS };
	static const uint16_t sizes[] = { 0, 512, 1232, 4096 };
	for (size_t i = 0; names[i] != NULL; i++)
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
				check(names[i], types[k], sizes[s], s == 2);
	const acache_stats_t *st = acache_stats(cached.cache);
	assert_true(st->hits > 1000);
	assert_true(st->stores > 500);
	/* the counters count hits as the full path counts its answers */
	for (int r = 0; r < ANSWER_RCODES; r++)
		assert_int_equal(ref.stats.rcode[r], cached.stats.rcode[r]);
	assert_int_equal(ref.stats.truncated, cached.stats.truncated);
	assert_int_equal(ref.stats.queries, cached.stats.queries);
}

/* Malformed queries and other classes answer the same from the cache. */
static void test_odd_queries(void **state)
{
	(void)state;
	uint8_t *wire = NULL;
	size_t wl = make_query("www.example.com.", LDNS_RR_TYPE_A, 0, false, 7, &wire);
	uint8_t buf[600];
	memcpy(buf, wire, wl);
	/* trailing garbage: FORMERR */
	buf[wl] = 0xAB;
	check_wire(buf, wl + 1);
	/* QDCOUNT 0 */
	memcpy(buf, wire, wl);
	buf[5] = 0;
	check_wire(buf, 12);
	/* class CH (version.bind) and an unknown class */
	free(wire);
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("version.bind."),
					 LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, 0);
	assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	check_wire(wire, wl);
	free(wire);
	p = ldns_pkt_query_new(ldns_dname_new_frm_str("www.example.com."), LDNS_RR_TYPE_A,
			       (ldns_rr_class)77, 0);
	assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	check_wire(wire, wl);
	free(wire);
}

/* Hits shuffle multi-record RRsets again: every order shows up, the set stays the same. */
static void test_shuffled_on_hits(void **state)
{
	(void)state;
	uint8_t *wire = NULL;
	size_t wl = make_query("www.example.com.", LDNS_RR_TYPE_A, 1232, false, 9, &wire);
	uint64_t hits0 = acache_stats(cached.cache)->hits;
	int first_seen[4] = { 0 }, ns_first[2] = { 0 };
	for (int i = 0; i < 400; i++) {
		size_t n = answer_build(&cached, db, wire, wl, out_c, 4096, NULL, false);
		assert_true(n > 0);
		assert_pointers_backwards(out_c, n);
		ldns_pkt *r = NULL;
		assert_int_equal(ldns_wire2pkt(&r, out_c, n), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_ancount(r), 4);
		ldns_rr *a0 = ldns_rr_list_rr(ldns_pkt_answer(r), 0);
		uint8_t last = ldns_rdf_data(ldns_rr_rdf(a0, 0))[3];
		assert_true(last >= 10 && last <= 13);
		first_seen[last - 10]++;
		ldns_rr *ns0 = ldns_rr_list_rr(ldns_pkt_authority(r), 0);
		char *s = ldns_rdf2str(ldns_rr_rdf(ns0, 0));
		ns_first[strcmp(s, "ns1.example.com.") == 0 ? 0 : 1]++;
		free(s);
		ldns_pkt_free(r);
	}
	free(wire);
	assert_true(acache_stats(cached.cache)->hits >= hits0 + 398); /* seen, stored, hits */
	for (int i = 0; i < 4; i++)
		assert_true(first_seen[i] > 50); /* 100 expected each */
	assert_true(ns_first[0] > 140 && ns_first[1] > 140); /* 200 expected each */
}

/* A new snapshot generation empties the cache; TCP never uses it. */
static void test_generation_and_tcp(void **state)
{
	(void)state;
	uint8_t *wire = NULL;
	size_t wl = make_query("MaIl.example.com.", LDNS_RR_TYPE_A, 0, false, 11, &wire);
	const acache_stats_t *st = acache_stats(cached.cache);
	uint64_t d = st->deferred;
	assert_true(answer_build(&cached, db, wire, wl, out_c, 4096, NULL, false) > 0);
	assert_int_equal(st->deferred, d + 1); /* first sighting: not kept yet */
	assert_true(answer_build(&cached, db, wire, wl, out_c, 4096, NULL, false) > 0);
	uint64_t h = st->hits, m = st->misses;
	assert_true(answer_build(&cached, db, wire, wl, out_c, 4096, NULL, false) > 0);
	assert_int_equal(st->hits, h + 1);
	acache_begin(cached.cache, db, 2);
	assert_true(answer_build(&cached, db, wire, wl, out_c, 4096, NULL, false) > 0);
	assert_int_equal(st->hits, h + 1);
	assert_int_equal(st->misses, m + 1);
	uint64_t s = st->stores;
	assert_true(answer_build(&cached, db, wire, wl, out_c, 65535, NULL, true) > 0);
	assert_int_equal(st->stores, s);
	assert_int_equal(st->misses, m + 1);
	/* another snapshot than the one begun: bypassed */
	assert_int_equal(acache_answer(cached.cache, NULL, wire, wl, -1, cached.rng, out_c, 4096,
				       &(acache_info_t){ 0 }),
			 0);
	free(wire);
}

/* A tiny ring: entries are overwritten (oldest first) and answers stay right. */
static void test_small_ring(void **state)
{
	(void)state;
	answer_ctx_t small;
	answer_ctx_init(&small, 5);
	assert_int_equal(acache_new(1, &small.cache), ERR_OK); /* rounded up to 64 KiB */
	acache_begin(small.cache, db, 1);
	char name[64];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 1500; i++) {
			snprintf(name, sizeof(name), "n%d.www.example.com.", i);
			uint8_t *wire = NULL;
			size_t wl = make_query(i % 2 ? "www.example.com." : name, LDNS_RR_TYPE_A,
					       (uint16_t)(512 + i % 100), false, 1, &wire);
			size_t n1 = answer_build(&ref, db, wire, wl, out_ref, 4096, NULL, false);
			size_t n2 = answer_build(&small, db, wire, wl, out_c, 4096, NULL, false);
			assert_same(wire, wl, out_ref, n1, out_c, n2);
			free(wire);
		}
	}
	assert_true(acache_stats(small.cache)->hits > 0);
	acache_free(small.cache);
}

/* Weighted answers: one response per outcome, and every hit draws again. */
static void test_policy_weighted(void **state)
{
	(void)state;
	json_t *rs = json_loads(
		"{\"ResourceRecordSets\": ["
		"{\"Name\": \"w.policy.test.\", \"Type\": \"A\", \"SetIdentifier\": \"a\", "
		"\"Weight\": 1, \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.1\"}]},"
		"{\"Name\": \"w.policy.test.\", \"Type\": \"A\", \"SetIdentifier\": \"b\", "
		"\"Weight\": 1, \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.2\"}]}]}",
		0, NULL);
	assert_non_null(rs);
	zdb_src_t src = { .id = "/hostedzone/Z1POLICY", .name = "policy.test.",
			  .zone_file = R53D_TEST_DATA "/policy.zone", .record_sets = rs,
			  .record_sets_file = "inline" };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232 };
	zdb_t *pdb = NULL;
	char err[512] = "";
	int ret = zdb_build(&src, 1, &o, &pdb, err, sizeof(err));
	json_decref(rs);
	if (ret != ERR_OK)
		fail_msg("zdb_build: %s", err);
	answer_ctx_t pc;
	answer_ctx_init(&pc, 77);
	assert_int_equal(acache_new(1, &pc.cache), ERR_OK);
	acache_begin(pc.cache, pdb, 1);
	uint8_t *wire = NULL;
	size_t wl = make_query("w.policy.test.", LDNS_RR_TYPE_A, 0, false, 3, &wire);
	int seen[2] = { 0 };
	for (int i = 0; i < 200; i++) {
		size_t n = answer_build(&pc, pdb, wire, wl, out_c, 4096, NULL, false);
		ldns_pkt *r = NULL;
		assert_int_equal(ldns_wire2pkt(&r, out_c, n), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_ancount(r), 1);
		uint8_t last = ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0))[3];
		assert_true(last == 1 || last == 2);
		seen[last - 1]++;
		ldns_pkt_free(r);
	}
	/* one response per outcome, each hit a fresh draw: the shares stay 1:1 */
	assert_true(acache_stats(pc.cache)->stores <= 12);
	assert_true(acache_stats(pc.cache)->hits >= 150);
	assert_true(seen[0] > 60 && seen[1] > 60);
	/* the zone's static data is kept */
	free(wire);
	wl = make_query("policy.test.", LDNS_RR_TYPE_SOA, 0, false, 3, &wire);
	uint64_t h0 = acache_stats(pc.cache)->hits;
	answer_build(&pc, pdb, wire, wl, out_c, 4096, NULL, false);
	answer_build(&pc, pdb, wire, wl, out_c, 4096, NULL, false);
	answer_build(&pc, pdb, wire, wl, out_c, 4096, NULL, false);
	assert_int_equal(acache_stats(pc.cache)->hits, h0 + 1);
	free(wire);
	acache_free(pc.cache);
	zdb_free(pdb);
}

static int one_hc(void *ctx, const char *id, uint32_t *slot)
{
	(void)ctx;
	if (strcmp(id, "hc-p") != 0)
		return ERR_NOTFOUND;
	*slot = 0;
	return ERR_OK;
}

/* The address answered for a name (first A record). */
static uint8_t ask_last_octet(answer_ctx_t *c, const zdb_t *d, const char *name)
{
	uint8_t *wire = NULL;
	size_t wl = make_query(name, LDNS_RR_TYPE_A, 0, false, 5, &wire);
	size_t n = answer_build(c, d, wire, wl, out_c, 4096, NULL, false);
	free(wire);
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, out_c, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	uint8_t last = ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0))[3];
	ldns_pkt_free(r);
	return last;
}

/* A failover answer is kept with the health word it was decided on; a change of that word
 * makes the next query decide again. */
static void test_policy_health_dependent(void **state)
{
	(void)state;
	hc_table_t *hc = calloc(1, sizeof(*hc) + 4 * sizeof(hc->words[0]));
	assert_non_null(hc);
	hc->n = 4;
	json_t *rs = json_loads(
		"{\"ResourceRecordSets\": ["
		"{\"Name\": \"fo.policy.test.\", \"Type\": \"A\", \"SetIdentifier\": \"p\", "
		"\"Failover\": \"PRIMARY\", \"HealthCheckId\": \"hc-p\", \"TTL\": 60, "
		"\"ResourceRecords\": [{\"Value\": \"192.0.2.40\"}]},"
		"{\"Name\": \"fo.policy.test.\", \"Type\": \"A\", \"SetIdentifier\": \"s\", "
		"\"Failover\": \"SECONDARY\", \"TTL\": 60, "
		"\"ResourceRecords\": [{\"Value\": \"192.0.2.41\"}]}]}",
		0, NULL);
	assert_non_null(rs);
	zdb_src_t src = { .id = "/hostedzone/Z1POLICY", .name = "policy.test.",
			  .zone_file = R53D_TEST_DATA "/policy.zone", .record_sets = rs,
			  .record_sets_file = "inline" };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232,
			 .health = hc, .hc_find = one_hc };
	zdb_t *pdb = NULL;
	char err[512] = "";
	int ret = zdb_build(&src, 1, &o, &pdb, err, sizeof(err));
	json_decref(rs);
	if (ret != ERR_OK)
		fail_msg("zdb_build: %s", err);
	answer_ctx_t pc;
	answer_ctx_init(&pc, 78);
	assert_int_equal(acache_new(1, &pc.cache), ERR_OK);
	acache_begin(pc.cache, pdb, 1);
	const acache_stats_t *st = acache_stats(pc.cache);
	assert_int_equal(ask_last_octet(&pc, pdb, "fo.policy.test."), 40);
	assert_int_equal(st->stores, 0); /* first sighting */
	assert_int_equal(ask_last_octet(&pc, pdb, "fo.policy.test."), 40);
	assert_int_equal(st->stores, 1);
	assert_int_equal(ask_last_octet(&pc, pdb, "fo.policy.test."), 40);
	assert_int_equal(st->hits, 1);
	assert_int_equal(pc.stats.policy[1] + pc.stats.policy[2] + pc.stats.policy[3] +
				 pc.stats.policy[4] + pc.stats.policy[5] + pc.stats.policy[6] +
				 pc.stats.policy[7] + pc.stats.policy[8],
			 3); /* all counted as policy answers */
	atomic_store(&hc->words[0], HC_WORD_UNHEALTHY | 1u);
	assert_int_equal(ask_last_octet(&pc, pdb, "fo.policy.test."), 41);
	assert_int_equal(st->hits, 1);
	assert_int_equal(ask_last_octet(&pc, pdb, "fo.policy.test."), 41);
	assert_int_equal(st->hits, 2);
	atomic_store(&hc->words[0], 2u);
	assert_int_equal(ask_last_octet(&pc, pdb, "fo.policy.test."), 40);
	assert_int_equal(st->hits, 2);
	acache_free(pc.cache);
	zdb_free(pdb);
	free(hc);
}

/* ---- DNSSEC: signed responses (DO queries to a signed zone) ----------------------------- */

/* The example zone signed with generated keys. Both contexts share one signer, so the full
 * path and the cache give the same RRSIG for an RRset (ECDSA signatures are randomised;
 * the signature cache makes them repeat). */
static zdb_t *build_signed(void)
{
	dnssec_key_t *ksk = NULL, *zsk = NULL;
	assert_int_equal(dnssec_key_generate(&ksk, DNSSEC_FLAGS_KSK), ERR_OK);
	assert_int_equal(dnssec_key_generate(&zsk, DNSSEC_FLAGS_ZSK), ERR_OK);
	zdb_sec_src_t sec = { .ksk = &ksk, .n_ksk = 1, .zsk = zsk };
	zdb_src_t src = { .id = "/hostedzone/Z1", .name = "example.com.",
			  .zone_file = R53D_TEST_DATA "/example.com.zone", .dnssec = &sec };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232 };
	char err[512] = "";
	zdb_t *sdb = NULL;
	int ret = zdb_build(&src, 1, &o, &sdb, err, sizeof(err));
	dnssec_key_free(ksk);
	dnssec_key_free(zsk);
	if (ret != ERR_OK)
		fail_msg("zdb_build (signed): %s", err);
	return sdb;
}

/* A query with EDNS 1232, DO, and CO when asked. */
static size_t make_query_co(const char *name, ldns_rr_type t, bool co, uint8_t **wire)
{
	size_t wl = make_query(name, t, 1232, true, 0x5151, wire);
	assert_true(wl > 12 + 11);
	if (co)
		(*wire)[wl - 11 + 7] |= 0x40; /* the OPT is last (no options): its flags' high byte */
	return wl;
}

/* Every RRSIG of a response verifies (ldns) against keys; returns how many. */
static size_t verify_all(const uint8_t *resp, size_t n, ldns_rr_list *keys)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, resp, n), LDNS_STATUS_OK);
	size_t verified = 0;
	ldns_rr_list *secs[] = { ldns_pkt_answer(p), ldns_pkt_authority(p), ldns_pkt_additional(p) };
	for (int k = 0; k < 3; k++) {
		ldns_rr_list *sec = secs[k];
		for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
			ldns_rr *sig = ldns_rr_list_rr(sec, i);
			if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG)
				continue;
			ldns_rr_type covered = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
			ldns_rr_list *set = ldns_rr_list_new(), *one = ldns_rr_list_new();
			for (size_t j = 0; j < ldns_rr_list_rr_count(sec); j++) {
				ldns_rr *rr = ldns_rr_list_rr(sec, j);
				if (ldns_rr_get_type(rr) == covered &&
				    ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(sig)) == 0)
					ldns_rr_list_push_rr(set, rr);
			}
			ldns_rr_list_push_rr(one, sig);
			ldns_status st = ldns_verify(set, one, keys, NULL);
			if (st != LDNS_STATUS_OK)
				fail_msg("RRSIG over type %d: %s", covered, ldns_get_errorstr_by_id(st));
			ldns_rr_list_free(one);
			ldns_rr_list_free(set);
			verified++;
		}
	}
	ldns_pkt_free(p);
	return verified;
}

/*
 * DO answers from the cache equal the full path's (the same records, RRSIGs included, as
 * sets), and every RRSIG of a cached response verifies with ldns after the reshuffle.
 */
static void test_signed_same_answers(void **state)
{
	(void)state;
	zdb_t *sdb = build_signed();
	zsign_t *signer = NULL;
	assert_int_equal(zsign_new(&signer, ZSIGN_CACHE_DEFAULT), ERR_OK);
	answer_ctx_t sref, sc;
	answer_ctx_init(&sref, 52);
	answer_ctx_init(&sc, 53);
	sref.sign = sc.sign = signer;
	assert_int_equal(acache_new((size_t)1 << 20, &sc.cache), ERR_OK);
	acache_begin(sc.cache, sdb, 1);

	uint8_t *wire = NULL;
	size_t wl = make_query_co("example.com.", LDNS_RR_TYPE_DNSKEY, false, &wire);
	size_t n = answer_build(&sref, sdb, wire, wl, out_ref, 4096, NULL, false);
	(void)answer_build(&sc, sdb, wire, wl, out_c, 4096, NULL, false); /* counted alike */
	free(wire);
	ldns_pkt *kp = NULL;
	assert_int_equal(ldns_wire2pkt(&kp, out_ref, n), LDNS_STATUS_OK);
	ldns_rr_list *keys = ldns_pkt_rr_list_by_type(kp, LDNS_RR_TYPE_DNSKEY, LDNS_SECTION_ANSWER);
	assert_non_null(keys);
	ldns_pkt_free(kp);

	static const char *const names[] = {
		"example.com.", "www.example.com.", "WwW.ExAmPlE.cOm.", "ns2.example.com.",
		"alias.example.com.", "chain.example.com.", "dangling.example.com.",
		"x.wild.example.com.", "b.example.com.", "sub.example.com.",
		"www.sub.example.com.", "_sip._udp.example.com.", "big.example.com.",
		"x.dn.example.com.", "nothere.example.com.", NULL
	};
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_NS,
					      LDNS_RR_TYPE_MX, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_SOA,
					      LDNS_RR_TYPE_DNSKEY, LDNS_RR_TYPE_DS, LDNS_RR_TYPE_ANY };
	size_t sigs = 0;
	for (size_t i = 0; names[i] != NULL; i++) {
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
			for (int co = 0; co < 2; co++) {
				wl = make_query_co(names[i], types[k], co, &wire);
				for (int round = 0; round < 4; round++) {
					size_t n1 = answer_build(&sref, sdb, wire, wl, out_ref, 4096,
								 NULL, false);
					size_t n2 = answer_build(&sc, sdb, wire, wl, out_c, 4096,
								 NULL, false);
					assert_same(wire, wl, out_ref, n1, out_c, n2);
					/* the OPT flags (DO, CO) are the full path's */
					assert_int_equal(out_c[n2 - 11 + 7], out_ref[n1 - 11 + 7]);
					if (round == 3)
						sigs += verify_all(out_c, n2, keys);
				}
				free(wire);
			}
		}
	}
	const acache_stats_t *st = acache_stats(sc.cache);
	assert_true(st->hits > 400);
	assert_true(sigs > 300);
	zsign_stats_t zs;
	zsign_stats(signer, &zs);
	assert_int_equal(zs.failures, 0);
	assert_true(zs.cache_hits > zs.signatures); /* ref and the cache's misses shared them */
	for (int r = 0; r < ANSWER_RCODES; r++)
		assert_int_equal(sref.stats.rcode[r], sc.stats.rcode[r]);
	ldns_rr_list_deep_free(keys);
	acache_free(sc.cache);
	zsign_free(signer);
	zdb_free(sdb);
}

/* A new validity window empties the cache: no signed response outlives its window. */
static void test_signed_window_change(void **state)
{
	(void)state;
	zdb_t *sdb = build_signed();
	answer_ctx_t sc;
	answer_ctx_init(&sc, 54);
	assert_int_equal(zsign_new(&sc.sign, ZSIGN_CACHE_DEFAULT), ERR_OK);
	assert_int_equal(acache_new((size_t)1 << 20, &sc.cache), ERR_OK);
	acache_begin(sc.cache, sdb, 1);
	const acache_stats_t *st = acache_stats(sc.cache);
	uint64_t now = (uint64_t)time(NULL);
	answer_sign_tick(&sc, now);
	assert_int_equal(sc.sign_window, answer_sign_window_at(now));
	uint8_t *wire = NULL;
	size_t wl = make_query_co("www.example.com.", LDNS_RR_TYPE_A, false, &wire);
	for (int i = 0; i < 3; i++) /* seen, stored, hit */
		assert_true(answer_build(&sc, sdb, wire, wl, out_c, 4096, NULL, false) > 0);
	assert_int_equal(st->stores, 1);
	assert_int_equal(st->hits, 1);
	/* the signer used the window of now: nothing was emptied */
	assert_int_equal(zsign_window(sc.sign), sc.sign_window);
	/* the same window later in the day: kept */
	answer_sign_tick(&sc, now + 60);
	if (answer_sign_window_at(now + 60) == sc.sign_window) {
		assert_true(answer_build(&sc, sdb, wire, wl, out_c, 4096, NULL, false) > 0);
		assert_int_equal(st->hits, 2);
	}
	uint64_t h = st->hits, m = st->misses;
	/* the next day's window: emptied, the next query signs again */
	answer_sign_tick(&sc, now + DNSSEC_WINDOW_PERIOD);
	assert_int_equal(sc.sign_window, answer_sign_window_at(now + DNSSEC_WINDOW_PERIOD));
	assert_true(sc.sign_window != answer_sign_window_at(now));
	assert_true(answer_build(&sc, sdb, wire, wl, out_c, 4096, NULL, false) > 0);
	assert_int_equal(st->hits, h);
	assert_int_equal(st->misses, m + 1);
	/* that answer was signed in today's window again (the clock): the cache follows the
	 * signer's window, and is emptied once more before keeping it */
	assert_int_equal(sc.sign_window, zsign_window(sc.sign));
	/* the signer's window is today's (its clock) */
	dnssec_validity_t v;
	dnssec_validity_at((uint64_t)time(NULL), DNSSEC_WINDOW_PERIOD, DNSSEC_WINDOW_SKEW,
			   DNSSEC_WINDOW_LIFETIME, &v);
	assert_int_equal(zsign_window(sc.sign), v.inception);
	free(wire);
	/* without a signer the tick does nothing */
	answer_ctx_t plain;
	answer_ctx_init(&plain, 55);
	assert_int_equal(acache_new(1, &plain.cache), ERR_OK);
	answer_sign_tick(&plain, now);
	assert_int_equal(plain.sign_window, 0);
	acache_free(plain.cache);
	acache_free(sc.cache);
	zsign_free(sc.sign);
	zdb_free(sdb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_answers),
		cmocka_unit_test(test_odd_queries),
		cmocka_unit_test(test_shuffled_on_hits),
		cmocka_unit_test(test_generation_and_tcp),
		cmocka_unit_test(test_small_ring),
		cmocka_unit_test(test_policy_weighted),
		cmocka_unit_test(test_policy_health_dependent),
		cmocka_unit_test(test_signed_same_answers),
		cmocka_unit_test(test_signed_window_change),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
