/* SPDX-License-Identifier: MIT */
/*
 * test_hc_tsan.c -- checkers flipping states while reader threads call hc_is_healthy in a
 * loop, with forces, introspection and a reload that grows the table happening at the
 * same time. Meant for the ThreadSanitizer build (-DR53D_TSAN=ON), where any data race
 * fails the run; in a normal build it checks that readers see the flips.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "hc_int.h"
#include "hc_testsrv.h"

#define N_READERS 2
#define N_LISTENERS 4

typedef struct reader {
	pthread_t tid;
	hc_system_t *sys;
	uint32_t slots[256];
	size_t n_slots;
	_Atomic bool *stop;
	uint64_t loads;
	uint64_t flips;          /* health changes seen between consecutive loads */
	uint64_t seen_unhealthy; /* loads that saw an unhealthy slot */
} reader_t;

static void *reader_main(void *arg)
{
	reader_t *r = arg;
	bool last[256];
	for (size_t i = 0; i < r->n_slots; i++)
		last[i] = true;
	while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
		/* as a DNS worker does once per batch */
		const hc_table_t *t = hc_table(r->sys);
		for (size_t i = 0; i < r->n_slots; i++) {
			bool h = hc_is_healthy(t, r->slots[i]);
			r->loads++;
			r->flips += h != last[i];
			r->seen_unhealthy += !h;
			last[i] = h;
		}
		sched_yield();
	}
	return NULL;
}

static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static hc_table_t *retired[16];
static size_t n_retired;

/* the grace period here: tables are freed after the readers have been joined */
static void retire(void *ctx, hc_table_t *old)
{
	(void)ctx;
	pthread_mutex_lock(&retired_lock);
	if (n_retired < 16)
		retired[n_retired++] = old;
	pthread_mutex_unlock(&retired_lock);
}

static void quiet(int level, const char *msg)
{
	(void)level;
	(void)msg;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *checks_json(ts_listener_t **l, size_t n_checks)
{
	size_t cap = n_checks * 256 + 64;
	char *s = malloc(cap);
	strcpy(s, "{\"HealthChecks\": [");
	for (size_t i = 0; i < n_checks; i++)
		snprintf(s + strlen(s), cap - strlen(s),
			 "%s{\"Id\": \"c%zu\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", "
			 "\"Port\": %u, \"Type\": \"%s\", \"RequestInterval\": 1, \"FailureThreshold\": 1}}",
			 i ? "," : "", i, ts_port(l[i % N_LISTENERS]), i % 5 == 4 ? "TCP" : "HTTP");
	snprintf(s + strlen(s), cap - strlen(s),
		 ",{\"Id\": \"calc\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", "
		 "\"HealthThreshold\": 2, \"ChildHealthChecks\": [\"c0\", \"c1\", \"c2\"]}}]}");
	return s;
}

static void test_readers_vs_checkers(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *l[N_LISTENERS];
	for (int i = 0; i < N_LISTENERS; i++)
		l[i] = ts_listen(ts, TS_HTTP, false);
	ts_run(ts);

	char *checks = checks_json(l, 40);
	json_t *settings = json_loads("{\"checkers\": 3, \"threads\": 2}", 0, NULL);
	json_t *cj = json_loads(checks, 0, NULL);
	free(checks);
	hc_system_t *sys = NULL;
	char err[512];
	assert_int_equal(hc_system_new(settings, "r53d.json", cj, "checks.json", &sys, err, sizeof(err)),
			 HC_OK);
	json_decref(cj);
	hc_set_retire(sys, retire, NULL);
	assert_int_equal(hc_system_start(sys, err, sizeof(err)), HC_OK);

	_Atomic bool stop = false;
	reader_t rd[N_READERS];
	for (int i = 0; i < N_READERS; i++) {
		memset(&rd[i], 0, sizeof(rd[i]));
		rd[i].sys = sys;
		rd[i].stop = &stop;
		for (size_t c = 0; c < 40; c++) {
			char id[16];
			snprintf(id, sizeof(id), "c%zu", c);
			assert_int_equal(hc_slot_find(sys, id, &rd[i].slots[rd[i].n_slots++]), HC_OK);
		}
		/* also slots that only exist after the reload, and one never used */
		for (uint32_t s = 41; s < 120; s++)
			rd[i].slots[rd[i].n_slots++] = s;
		assert_int_equal(pthread_create(&rd[i].tid, NULL, reader_main, &rd[i]), 0);
	}

	double t0 = now_s();
	int step = 0;
	bool reloaded = false;
	while (now_s() - t0 < 7.0) {
		struct timespec ts250 = { 0, 250000000L };
		nanosleep(&ts250, NULL);
		step++;
		for (int i = 0; i < N_LISTENERS; i++)
			if ((step + i) % 2)
				ts_set_status(ts, l[i], 503, "Service Unavailable");
			else
				ts_set_status(ts, l[i], 200, "OK");
		assert_int_equal(hc_force(sys, "c3", step % 3 == 0 ? HC_FORCE_UNHEALTHY
						   : step % 3 == 1 ? HC_FORCE_HEALTHY : HC_FORCE_AUTO),
				 HC_OK);
		json_t *j = NULL;
		assert_int_equal(hc_status_json(sys, &j), HC_OK);
		json_decref(j);
		struct evbuffer *b = evbuffer_new();
		assert_int_equal(hc_metrics_write(sys, b), HC_OK);
		evbuffer_free(b);
		hc_stats_t st;
		hc_stats_get(sys, &st);
		if (!reloaded && now_s() - t0 > 3.0) {
			/* grow past 64 slots while readers and checkers run */
			char *more = checks_json(l, 100);
			json_t *mj = json_loads(more, 0, NULL);
			free(more);
			assert_int_equal(hc_system_reload(sys, settings, "r53d.json", mj, "checks.json", err,
							  sizeof(err)),
					 HC_OK);
			json_decref(mj);
			reloaded = true;
		}
	}
	atomic_store(&stop, true);
	uint64_t flips = 0, loads = 0, unhealthy = 0;
	for (int i = 0; i < N_READERS; i++) {
		pthread_join(rd[i].tid, NULL);
		flips += rd[i].flips;
		loads += rd[i].loads;
		unhealthy += rd[i].seen_unhealthy;
	}
	/* the replaced table was kept up to date (mirrored stores) while readers and checkers
	 * ran; as the daemon does once it has published, hand it to the retire hook */
	hc_tables_release(sys);
	hc_stats_t st;
	hc_stats_get(sys, &st);
	print_message("  %" PRIu64 " reader loads, %" PRIu64 " flips seen, %" PRIu64
		      " transitions, %" PRIu64 " probes, %zu tables retired\n",
		      loads, flips, st.transitions, st.probes, n_retired);
	assert_true(reloaded);
	assert_true(n_retired >= 1);
	assert_true(st.transitions > 10);
	assert_true(flips > 10);
	assert_true(unhealthy > 0);
	hc_system_free(sys);
	json_decref(settings);
	for (size_t i = 0; i < n_retired; i++)
		hc_table_free(retired[i]);
	ts_stop(ts);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	hc_set_logger(quiet);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readers_vs_checkers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
