/* SPDX-License-Identifier: MIT */
/*
 * test_geo_threads.c -- one geo_db_t and one geo_latency_t shared by several threads doing
 * lookups at once, as DNS workers do. Meant for the ThreadSanitizer build (label tsan):
 * the database is opened and no lookup is made before the threads start, so a lazy write
 * inside libmaxminddb (the IPv4 start node) would show up as a race.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "geo.h"

#define N_THREADS 4
#define ROUNDS 2000

/** One expected lookup result. */
typedef struct expect {
	const char *addr;    /**< address text */
	const char *country; /**< expected country, "" for not found */
	const char *sub;     /**< expected subdivision */
	double ms;           /**< expected latency to eu-west-1, < 0: not checked */
} expect_t;

static const expect_t cases[] = {
	{ "192.0.2.1", "US", "VA", -1 },
	{ "198.51.100.7", "FR", "IDF", 12 },
	{ "203.0.113.70", "JP", "13", -1 },
	{ "2001:db8:2::1", "DE", "HE", 30 },
	{ "2001:db8:6::1", "ZA", "WC", -1 },
	{ "198.18.0.1", "", "", -1 },
	{ "::ffff:203.0.113.200", "AU", "NSW", -1 },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/** Shared by the threads: read-only after set-up, plus two counters. */
typedef struct shared {
	const geo_db_t *db;        /**< the database */
	const geo_latency_t *lt;   /**< the latency table */
	int eu_west_1;             /**< Region index */
	atomic_uint lookups;       /**< lookups done */
	atomic_uint mismatches;    /**< wrong answers */
} shared_t;

static void *worker(void *arg)
{
	shared_t *sh = arg;
	for (unsigned r = 0; r < ROUNDS; r++) {
		const expect_t *e = &cases[r % N_CASES];
		uint8_t a[16] = { 0 };
		int af = inet_pton(AF_INET, e->addr, a) == 1 ? AF_INET : AF_INET6;
		if (af == AF_INET6)
			(void)inet_pton(AF_INET6, e->addr, a);
		geo_loc_t l;
		int ret = geo_db_lookup(sh->db, af, a, &l);
		bool ok = strcmp(l.country, e->country) == 0 && strcmp(l.subdivision, e->sub) == 0 &&
			  (ret == GEO_OK) == (e->country[0] != '\0');
		if (ok && e->ms >= 0) {
			double ms = -1;
			ok = geo_latency_ms(sh->lt, &l, sh->eu_west_1, &ms, NULL) == GEO_OK &&
			     fabs(ms - e->ms) < 1e-9;
		}
		if (!ok)
			atomic_fetch_add_explicit(&sh->mismatches, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sh->lookups, 1, memory_order_relaxed);
	}
	return NULL;
}

static void test_shared_lookups(void **state)
{
	(void)state;
	char err[256] = "";
	geo_db_t *db = NULL;
	geo_latency_t *lt = NULL;
	const char *paths[] = { GEO_FIXTURE_DIR "/geolite2-city.mmdb" };
	json_error_t jerr;
	json_t *obj = json_loads("{\"rules\": ["
				 "{\"client\": \"198.51.100.0/24\", \"rtt_ms\": {\"eu-west-1\": 12}},"
				 "{\"client\": \"EU\", \"rtt_ms\": {\"eu-west-1\": 30}}]}",
				 0, &jerr);
	assert_non_null(obj);
	assert_int_equal(geo_db_new(paths, 1, &db, err, sizeof(err)), GEO_OK);
	assert_int_equal(geo_latency_new(obj, NULL, &lt, err, sizeof(err)), GEO_OK);
	json_decref(obj);

	shared_t sh = { .db = db, .lt = lt, .eu_west_1 = geo_region_find("eu-west-1") };
	atomic_init(&sh.lookups, 0);
	atomic_init(&sh.mismatches, 0);
	pthread_t t[N_THREADS];
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &sh), 0);
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	assert_int_equal(atomic_load(&sh.lookups), N_THREADS * ROUNDS);
	assert_int_equal(atomic_load(&sh.mismatches), 0);
	geo_latency_free(lt);
	geo_db_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_lookups),
	};
	return cmocka_run_group_tests_name("geo_threads", tests, NULL, NULL);
}
