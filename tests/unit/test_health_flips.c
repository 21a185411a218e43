/* SPDX-License-Identifier: MIT */
/*
 * test_health_flips.c -- health words flipping on another thread while answers are built
 * (issue 11, the empty NOERROR seen once by test_health "right after a health flip").
 *
 * One writer thread stores random status words into the health table with relaxed stores,
 * as hc_agg.c does, as fast as it can; two reader threads push wire queries for failover,
 * weighted (with a zero-weight standby), multivalue and an EvaluateTargetHealth alias tree
 * through answer_build() on one compiled snapshot and check every reply: NOERROR, AA, at
 * least one record, every value one of the record sets' values, exactly one for failover
 * and weighted, at most eight for multivalue, the alias tree's values from one of its two
 * branches. An answer may use any health view, but it may never be empty: the policy code
 * must read each health word once per decision, and "all unhealthy" falls back to an
 * answer (spec TREE-7), so no interleaving of flips can leave a group with nothing.
 *
 * Deterministic in what it asserts, not in its interleavings: it runs a fixed number of
 * answers per reader (bounded), and prints how many answers it checked and how many flips
 * the writer made while they were built. The ThreadSanitizer build runs it too (label
 * tsan): the words are the only shared state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "err.h"
#include "hc_state.h"
#include "zdb.h"

#define N_SLOTS 16
#define READERS 2
#ifndef FLIP_ANSWERS
#define FLIP_ANSWERS 150000 /* per reader; the TSan build is ~10x slower */
#endif

static const char *const hc_ids[] = { "hc-fp", "hc-fs", "hc-wa", "hc-wb", "hc-wz", "hc-m1",
				      "hc-m2", "hc-m3", "hc-m4", "hc-pa", "hc-pb", "hc-tp",
				      NULL };
static hc_table_t *hc;
static zdb_t *db;
static atomic_bool stop_writer;
static atomic_ulong flips;

/* The record sets: every group has a health check on every member. */
static const char *const RS =
	"{\"ResourceRecordSets\": ["
	"{\"Name\": \"fo.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"p\","
	" \"Failover\": \"PRIMARY\", \"TTL\": 60, \"HealthCheckId\": \"hc-fp\","
	" \"ResourceRecords\": [{\"Value\": \"192.0.2.1\"}]},"
	"{\"Name\": \"fo.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"s\","
	" \"Failover\": \"SECONDARY\", \"TTL\": 60, \"HealthCheckId\": \"hc-fs\","
	" \"ResourceRecords\": [{\"Value\": \"192.0.2.2\"}]},"
	"{\"Name\": \"w.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"a\", \"Weight\": 3,"
	" \"TTL\": 60, \"HealthCheckId\": \"hc-wa\", \"ResourceRecords\": [{\"Value\": \"192.0.2.11\"}]},"
	"{\"Name\": \"w.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"b\", \"Weight\": 1,"
	" \"TTL\": 60, \"HealthCheckId\": \"hc-wb\", \"ResourceRecords\": [{\"Value\": \"192.0.2.12\"}]},"
	"{\"Name\": \"w.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"z\", \"Weight\": 0,"
	" \"TTL\": 60, \"HealthCheckId\": \"hc-wz\", \"ResourceRecords\": [{\"Value\": \"192.0.2.13\"}]},"
	"{\"Name\": \"mv.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"m1\","
	" \"MultiValueAnswer\": true, \"TTL\": 60, \"HealthCheckId\": \"hc-m1\","
	" \"ResourceRecords\": [{\"Value\": \"192.0.2.21\"}]},"
	"{\"Name\": \"mv.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"m2\","
	" \"MultiValueAnswer\": true, \"TTL\": 60, \"HealthCheckId\": \"hc-m2\","
	" \"ResourceRecords\": [{\"Value\": \"192.0.2.22\"}]},"
	"{\"Name\": \"mv.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"m3\","
	" \"MultiValueAnswer\": true, \"TTL\": 60, \"HealthCheckId\": \"hc-m3\","
	" \"ResourceRecords\": [{\"Value\": \"192.0.2.23\"}]},"
	"{\"Name\": \"mv.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"m4\","
	" \"MultiValueAnswer\": true, \"TTL\": 60, \"HealthCheckId\": \"hc-m4\","
	" \"ResourceRecords\": [{\"Value\": \"192.0.2.24\"}]},"
	/* app: failover whose primary is an alias (EvaluateTargetHealth) to a weighted pool:
	 * the pool's words are read by the health probe of the alias and again to answer */
	"{\"Name\": \"app.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"p\","
	" \"Failover\": \"PRIMARY\", \"HealthCheckId\": \"hc-tp\", \"AliasTarget\": {"
	" \"HostedZoneId\": \"ZFLIP\", \"DNSName\": \"pool.flip.test.\","
	" \"EvaluateTargetHealth\": true}},"
	"{\"Name\": \"app.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"s\","
	" \"Failover\": \"SECONDARY\", \"TTL\": 60,"
	" \"ResourceRecords\": [{\"Value\": \"192.0.2.39\"}]},"
	"{\"Name\": \"pool.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"a\", \"Weight\": 1,"
	" \"TTL\": 60, \"HealthCheckId\": \"hc-pa\", \"ResourceRecords\": [{\"Value\": \"192.0.2.31\"}]},"
	"{\"Name\": \"pool.flip.test.\", \"Type\": \"A\", \"SetIdentifier\": \"b\", \"Weight\": 1,"
	" \"TTL\": 60, \"HealthCheckId\": \"hc-pb\", \"ResourceRecords\": [{\"Value\": \"192.0.2.32\"}]}"
	"]}";

/* What each name may answer: its values (last octet), and how many records. */
static const struct {
	const char *name;
	uint8_t values[8];
	unsigned n_values;
	unsigned min, max;
} NAMES[] = {
	{ "fo.flip.test.", { 1, 2 }, 2, 1, 1 },
	{ "w.flip.test.", { 11, 12, 13 }, 3, 1, 1 },
	{ "mv.flip.test.", { 21, 22, 23, 24 }, 4, 1, 4 },
	{ "app.flip.test.", { 31, 32, 39 }, 3, 1, 1 },
};
#define N_NAMES (sizeof(NAMES) / sizeof(NAMES[0]))

static int hc_find(void *c, const char *id, uint32_t *slot)
{
	(void)c;
	for (uint32_t i = 0; hc_ids[i] != NULL; i++) {
		if (strcmp(hc_ids[i], id) == 0) {
			*slot = i;
			return ERR_OK;
		}
	}
	return ERR_NOTFOUND;
}

static int setup(void **state)
{
	(void)state;
	char path[] = "/tmp/r53d-flip-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	static const char zone[] = "$ORIGIN flip.test.\n$TTL 300\n"
				   "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
				   "@ NS ns1\nns1 A 192.0.2.250\n";
	FILE *f = fdopen(fd, "w");
	fputs(zone, f);
	fclose(f);
	hc = calloc(1, sizeof(*hc) + N_SLOTS * sizeof(hc->words[0]));
	hc->n = N_SLOTS;
	for (uint32_t i = 0; i < N_SLOTS; i++)
		atomic_init(&hc->words[i], 0);
	json_t *rs = json_loads(RS, 0, NULL);
	zdb_src_t src = { .id = "/hostedzone/ZFLIP", .name = "flip.test.", .zone_file = path,
			  .record_sets = rs, .record_sets_file = "flip.json" };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232,
			 .health = hc, .hc_find = hc_find };
	char err[512] = "";
	int ret = zdb_build(&src, 1, &o, &db, err, sizeof(err));
	if (ret != ERR_OK)
		fprintf(stderr, "zdb_build: %s\n", err);
	json_decref(rs);
	unlink(path);
	return ret == ERR_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	zdb_free(db);
	free(hc);
	return 0;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* The writer: random words (healthy or unhealthy, counter moving), relaxed stores. */
static void *writer(void *arg)
{
	(void)arg;
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	uint32_t counter = 0;
	unsigned long n = 0;
	while (!atomic_load_explicit(&stop_writer, memory_order_relaxed)) {
		uint64_t r = xorshift(&s);
		uint32_t slot = (uint32_t)(r % 12);
		uint32_t word = ((r >> 8) & 1 ? HC_WORD_UNHEALTHY : 0) |
				(++counter & HC_WORD_COUNTER);
		atomic_store_explicit(&hc->words[slot], word, memory_order_relaxed);
		/* now and then every word of a group at once: all unhealthy, all healthy */
		if ((r >> 16) % 64 == 0)
			for (uint32_t i = 0; i < 12; i++)
				atomic_store_explicit(&hc->words[i],
						      ((r >> 24) & 1 ? HC_WORD_UNHEALTHY : 0) |
							      (++counter & HC_WORD_COUNTER),
						      memory_order_relaxed);
		n++;
	}
	atomic_store(&flips, n);
	return NULL;
}

static size_t make_query(uint8_t *q, const char *name, uint16_t id)
{
	size_t n = 12;
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[5] = 1;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = (size_t)(dot - p);
		q[n++] = (uint8_t)l;
		memcpy(q + n, p, l);
		n += l;
		p = dot + 1;
	}
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = 1; /* A */
	q[n++] = 0;
	q[n++] = 1; /* IN */
	return n;
}

/* Skip a (possibly compressed) name; 0 on a malformed one. */
static size_t skip_name(const uint8_t *p, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = p[off];
		if ((l & 0xC0) == 0xC0)
			return off + 2;
		if (l == 0)
			return off + 1;
		off += (size_t)l + 1;
	}
	return 0;
}

typedef struct reader_result {
	unsigned long answers;   /* replies checked */
	unsigned long empty;     /* NOERROR without records */
	unsigned long bad;       /* anything else wrong */
	char first_bad[160];     /* the first problem, for the failure message */
} reader_result_t;

static void note_bad(reader_result_t *r, const char *name, const char *what, unsigned v)
{
	if (r->bad++ == 0)
		snprintf(r->first_bad, sizeof(r->first_bad), "%s: %s (%u)", name, what, v);
}

static void check_reply(reader_result_t *r, size_t k, const uint8_t *p, size_t len)
{
	const char *name = NAMES[k].name;
	r->answers++;
	if (len < 12) {
		note_bad(r, name, "short reply", (unsigned)len);
		return;
	}
	unsigned rcode = p[3] & 0x0F, an = (unsigned)(p[6] << 8 | p[7]);
	if (rcode != 0 || (p[2] & 0x04) == 0) {
		note_bad(r, name, "rcode or AA", rcode);
		return;
	}
	if (an == 0) {
		r->empty++;
		note_bad(r, name, "empty NOERROR", 0);
		return;
	}
	if (an < NAMES[k].min || an > NAMES[k].max) {
		note_bad(r, name, "answer count", an);
		return;
	}
	size_t off = skip_name(p, len, 12) + 4;
	for (unsigned i = 0; i < an; i++) {
		off = skip_name(p, len, off);
		if (off == 0 || off + 10 > len) {
			note_bad(r, name, "malformed answer", i);
			return;
		}
		uint16_t type = (uint16_t)(p[off] << 8 | p[off + 1]);
		uint16_t rdlen = (uint16_t)(p[off + 8] << 8 | p[off + 9]);
		off += 10;
		if (type != 1 || rdlen != 4 || off + 4 > len || p[off] != 192 || p[off + 1] != 0 ||
		    p[off + 2] != 2) {
			note_bad(r, name, "not an A of 192.0.2.0/24", type);
			return;
		}
		bool known = false;
		for (unsigned j = 0; j < NAMES[k].n_values; j++)
			known |= p[off + 3] == NAMES[k].values[j];
		if (!known) {
			note_bad(r, name, "value outside the record sets", p[off + 3]);
			return;
		}
		off += rdlen;
	}
}

static void *reader(void *arg)
{
	reader_result_t *r = arg;
	answer_ctx_t ctx;
	uint8_t q[512], out[4096];
	answer_ctx_init(&ctx, (uint64_t)(uintptr_t)arg);
	for (unsigned long i = 0; i < FLIP_ANSWERS; i++) {
		size_t k = i % N_NAMES;
		size_t qn = make_query(q, NAMES[k].name, (uint16_t)i);
		size_t n = answer_build(&ctx, db, q, qn, out, sizeof(out), NULL, false);
		check_reply(r, k, out, n);
	}
	return NULL;
}

static void test_answers_while_health_flips(void **state)
{
	(void)state;
	pthread_t w, rd[READERS];
	reader_result_t res[READERS];
	memset(res, 0, sizeof(res));
	atomic_store(&stop_writer, false);
	assert_int_equal(pthread_create(&w, NULL, writer, NULL), 0);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&rd[i], NULL, reader, &res[i]), 0);
	for (int i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	atomic_store(&stop_writer, true);
	pthread_join(w, NULL);

	unsigned long answers = 0, empty = 0, bad = 0;
	for (int i = 0; i < READERS; i++) {
		answers += res[i].answers;
		empty += res[i].empty;
		bad += res[i].bad;
		if (res[i].bad)
			fprintf(stderr, "reader %d: %lu bad, first: %s\n", i, res[i].bad,
				res[i].first_bad);
	}
	printf("health flips: %lu answers checked while the writer made %lu flips; "
	       "%lu empty NOERROR, %lu other problems\n",
	       answers, (unsigned long)atomic_load(&flips), empty, bad);
	assert_int_equal(answers, (unsigned long)READERS * FLIP_ANSWERS);
	assert_true(atomic_load(&flips) > 1000); /* the writer really ran alongside */
	assert_int_equal(empty, 0);
	assert_int_equal(bad, 0);
}

/* The same names with the table frozen in every combination of a group's words: the
 * answer is never empty and all-unhealthy falls back (a deterministic companion). */
static void test_every_combination(void **state)
{
	(void)state;
	answer_ctx_t ctx;
	uint8_t q[512], out[4096];
	reader_result_t r;
	memset(&r, 0, sizeof(r));
	answer_ctx_init(&ctx, 3);
	for (uint32_t bits = 0; bits < (1u << 12); bits++) {
		for (uint32_t i = 0; i < 12; i++)
			atomic_store(&hc->words[i], (bits >> i) & 1 ? HC_WORD_UNHEALTHY : 0);
		for (size_t k = 0; k < N_NAMES; k++) {
			size_t qn = make_query(q, NAMES[k].name, (uint16_t)bits);
			size_t n = answer_build(&ctx, db, q, qn, out, sizeof(out), NULL, false);
			check_reply(&r, k, out, n);
		}
	}
	if (r.bad)
		fprintf(stderr, "%lu bad, first: %s\n", r.bad, r.first_bad);
	assert_int_equal(r.answers, (1ul << 12) * N_NAMES);
	assert_int_equal(r.bad, 0);
	for (uint32_t i = 0; i < N_SLOTS; i++)
		atomic_store(&hc->words[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_combination),
		cmocka_unit_test(test_answers_while_health_flips),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
