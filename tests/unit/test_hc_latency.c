/* SPDX-License-Identifier: MIT */
/*
 * test_hc_latency.c -- MeasureLatency: connect and first-byte times per checker in
 * hc_status_json() and the per-check histograms of hc_metrics_write().
 *
 * The aggregation part injects results with hc_agg_report() (exact bucket placement);
 * the probe part runs real HTTP, HTTPS and TCP probes against loopback endpoints
 * (hc_testsrv.c) whose HTTP answers are delayed, so FirstByteMs must be at least the
 * delay. Checks without MeasureLatency must show nothing of it. Every wait is bounded.
 */
#include <inttypes.h>
#include <setjmp.h>
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

#define DELAY_MS 120

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void quiet(int level, const char *msg)
{
	(void)level;
	if (getenv("HC_TEST_VERBOSE"))
		fprintf(stderr, "log: %s\n", msg);
}

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return j;
}

static hc_system_t *sys_new(const char *settings, const char *checks)
{
	json_t *s = js(settings), *c = js(checks);
	hc_system_t *sys = NULL;
	char err[512];
	int rc = hc_system_new(s, "r53d.json", c, "checks.json", &sys, err, sizeof(err));
	json_decref(s);
	json_decref(c);
	if (rc != HC_OK)
		fail_msg("hc_system_new: %s", err);
	return sys;
}

static hc_system_t *start(const char *settings, const char *checks)
{
	hc_system_t *sys = sys_new(settings, checks);
	char err[512];
	if (hc_system_start(sys, err, sizeof(err)) != HC_OK)
		fail_msg("hc_system_start: %s", err);
	return sys;
}

/** The /healthchecks entry of id (a new reference). */
static json_t *check_json(hc_system_t *sys, const char *id)
{
	json_t *root = NULL;
	assert_int_equal(hc_status_json(sys, &root), HC_OK);
	json_t *list = json_object_get(root, "HealthChecks");
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *c = json_array_get(list, i);
		if (strcmp(json_string_value(json_object_get(c, "Id")), id) == 0) {
			json_incref(c);
			json_decref(root);
			return c;
		}
	}
	json_decref(root);
	fail_msg("no %s", id);
	return NULL;
}

/** Observations of id that carry "Latency". */
static size_t n_with_latency(hc_system_t *sys, const char *id, size_t *n_obs)
{
	json_t *c = check_json(sys, id);
	json_t *obs = json_object_get(c, "HealthCheckObservations");
	size_t n = 0;
	for (size_t j = 0; j < json_array_size(obs); j++)
		n += json_object_get(json_array_get(obs, j), "Latency") != NULL;
	json_t *fails = json_object_get(c, "LastFailures");
	for (size_t j = 0; j < json_array_size(fails); j++)
		assert_null(json_object_get(json_array_get(fails, j), "Latency"));
	if (n_obs != NULL)
		*n_obs = json_array_size(obs);
	json_decref(c);
	return n;
}

/** Wait until every one of k checkers of id has an observation with "Latency". */
static void wait_latency(hc_system_t *sys, const char *id, size_t k, double limit)
{
	double t0 = now_s();
	while (now_s() - t0 < limit) {
		if (n_with_latency(sys, id, NULL) == k)
			return;
		sleep_ms(20);
	}
	fail_msg("check %s: not every checker has a Latency", id);
}

/** Wait until id has k observations. */
static void wait_obs(hc_system_t *sys, const char *id, size_t k, double limit)
{
	double t0 = now_s();
	size_t n_obs = 0;
	while (now_s() - t0 < limit) {
		n_with_latency(sys, id, &n_obs);
		if (n_obs == k)
			return;
		sleep_ms(20);
	}
	fail_msg("check %s: %zu observations, wanted %zu", id, n_obs, k);
}

/** The whole /metrics text; caller frees. */
static char *metrics(hc_system_t *sys)
{
	struct evbuffer *b = evbuffer_new();
	assert_non_null(b);
	assert_int_equal(hc_metrics_write(sys, b), HC_OK);
	size_t n = evbuffer_get_length(b);
	char *text = malloc(n + 1);
	assert_non_null(text);
	evbuffer_remove(b, text, n);
	text[n] = '\0';
	evbuffer_free(b);
	return text;
}

/** Value of the sample line that starts with "name{labels} " exactly; -1 when absent. */
static double sample(const char *text, const char *series)
{
	size_t len = strlen(series);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, series, len) == 0 && p[len] == ' ')
			return strtod(p + len + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static size_t occurrences(const char *text, const char *s)
{
	size_t n = 0;
	for (const char *p = strstr(text, s); p != NULL; p = strstr(p + 1, s))
		n++;
	return n;
}

static const char *const les[] = { "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
				   "0.25",  "0.5",    "1",     "2.5",  "5",     "10",   "+Inf" };

/**
 * Check one histogram series: buckets present and cumulative, +Inf == _count, _sum
 * within [count * lo_s, count * hi_s]. Returns _count.
 */
static double hist_check(const char *text, const char *name, const char *id, double lo_s,
			 double hi_s)
{
	char series[256];
	double prev = 0;
	for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
		snprintf(series, sizeof(series), "%s_bucket{id=\"%s\",le=\"%s\"}", name, id, les[i]);
		double v = sample(text, series);
		if (v < 0)
			fail_msg("no %s in:\n%s", series, text);
		assert_true(v >= prev);
		prev = v;
	}
	snprintf(series, sizeof(series), "%s_count{id=\"%s\"}", name, id);
	double count = sample(text, series);
	assert_true(count == prev);
	snprintf(series, sizeof(series), "%s_sum{id=\"%s\"}", name, id);
	double sum = sample(text, series);
	assert_true(sum >= 0);
	assert_true(sum >= count * lo_s - 1e-6);
	assert_true(sum <= count * hi_s + 1e-6);
	return count;
}

/** Value of bucket le of a series. */
static double bucket(const char *text, const char *name, const char *id, const char *le)
{
	char series[256];
	snprintf(series, sizeof(series), "%s_bucket{id=\"%s\",le=\"%s\"}", name, id, le);
	return sample(text, series);
}

/* ---- aggregation: injected results ---- */

static void report(hc_system_t *sys, const char *id, unsigned checker, uint64_t connect_ns,
		   uint64_t first_byte_ns)
{
	long x = hc_conf_find(sys->aggr.conf, id);
	assert_true(x >= 0);
	hc_result_t r = { .ok = true,
			  .status = "Success: HTTP Status Code 200, OK",
			  .ip = "127.0.0.2",
			  .checked_ms = 1711561696751,
			  .connect_ns = connect_ns,
			  .first_byte_ns = first_byte_ns };
	hc_agg_report(&sys->aggr, (size_t)x, checker, &r);
}

static void test_agg(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new(
		"{\"checkers\": 2}",
		"{\"HealthChecks\": ["
		"{\"Id\": \"m\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": "
		"\"HTTP\", \"MeasureLatency\": true}},"
		"{\"Id\": \"n\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.2\", \"Type\": "
		"\"HTTP\"}}]}");
	report(sys, "m", 0, 1500000, 30000000);   /* 1.5 ms, 30 ms */
	report(sys, "m", 1, 700000, 0);           /* 0.7 ms, no first byte */
	report(sys, "m", 1, 20000000000ull, 0);   /* 20 s: only +Inf */
	report(sys, "n", 0, 1500000, 30000000);   /* no MeasureLatency: ignored */

	json_t *c = check_json(sys, "m");
	json_t *obs = json_object_get(c, "HealthCheckObservations");
	assert_int_equal(json_array_size(obs), 2);
	json_t *l0 = json_object_get(json_array_get(obs, 0), "Latency");
	json_t *l1 = json_object_get(json_array_get(obs, 1), "Latency");
	assert_non_null(l0);
	assert_non_null(l1);
	assert_true(json_real_value(json_object_get(l0, "ConnectMs")) == 1.5);
	assert_true(json_real_value(json_object_get(l0, "FirstByteMs")) == 30.0);
	assert_true(json_real_value(json_object_get(l1, "ConnectMs")) == 20000.0);
	assert_null(json_object_get(l1, "FirstByteMs"));
	json_decref(c);
	assert_int_equal(n_with_latency(sys, "n", NULL), 0);

	char *t = metrics(sys);
	assert_int_equal(occurrences(t, "# TYPE r53d_hc_connect_seconds histogram\n"), 1);
	assert_int_equal(occurrences(t, "# TYPE r53d_hc_first_byte_seconds histogram\n"), 1);
	assert_true(hist_check(t, "r53d_hc_connect_seconds", "m", 0.0007, 20) == 3);
	assert_true(bucket(t, "r53d_hc_connect_seconds", "m", "0.001") == 1);
	assert_true(bucket(t, "r53d_hc_connect_seconds", "m", "0.0025") == 2);
	assert_true(bucket(t, "r53d_hc_connect_seconds", "m", "10") == 2);
	assert_true(sample(t, "r53d_hc_connect_seconds_sum{id=\"m\"}") == 20.0022);
	assert_true(hist_check(t, "r53d_hc_first_byte_seconds", "m", 0.03, 0.03) == 1);
	assert_true(bucket(t, "r53d_hc_first_byte_seconds", "m", "0.025") == 0);
	assert_true(bucket(t, "r53d_hc_first_byte_seconds", "m", "0.05") == 1);
	assert_null(strstr(t, "id=\"n\""));
	free(t);

	/* a reload keeps the histograms by Id; dropping MeasureLatency drops the series */
	json_t *s = js("{\"checkers\": 2}");
	json_t *ch = js("{\"HealthChecks\": ["
			"{\"Id\": \"m\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", "
			"\"Type\": \"HTTP\", \"MeasureLatency\": true}}]}");
	char err[512];
	assert_int_equal(hc_system_reload(sys, s, "r53d.json", ch, "checks.json", err, sizeof(err)),
			 HC_OK);
	json_decref(ch);
	t = metrics(sys);
	assert_true(sample(t, "r53d_hc_connect_seconds_count{id=\"m\"}") == 3);
	free(t);
	assert_int_equal(n_with_latency(sys, "m", NULL), 2);
	ch = js("{\"HealthChecks\": ["
		"{\"Id\": \"m\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", "
		"\"Type\": \"HTTP\"}}]}");
	assert_int_equal(hc_system_reload(sys, s, "r53d.json", ch, "checks.json", err, sizeof(err)),
			 HC_OK);
	json_decref(ch);
	json_decref(s);
	t = metrics(sys);
	assert_null(strstr(t, "r53d_hc_connect_seconds"));
	assert_null(strstr(t, "r53d_hc_first_byte_seconds"));
	free(t);
	assert_int_equal(n_with_latency(sys, "m", NULL), 0);
	hc_system_free(sys);
}

/* ---- real probes ---- */

static void test_probes(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *web = ts_listen(ts, TS_HTTP, false);
	ts_listener_t *tls = ts_listen(ts, TS_HTTP, true);
	ts_listener_t *tcp = ts_listen(ts, TS_HTTP, false);
	ts_set_delay(ts, web, DELAY_MS);
	ts_set_delay(ts, tls, DELAY_MS);
	ts_run(ts);
	char checks[2048];
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": ["
		 "{\"Id\": \"web\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", "
		 "\"Port\": %u, \"Type\": \"HTTP\", \"RequestInterval\": 1, "
		 "\"FailureThreshold\": 1, \"MeasureLatency\": true}},"
		 "{\"Id\": \"plain\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", "
		 "\"Port\": %u, \"Type\": \"HTTP\", \"RequestInterval\": 1, "
		 "\"FailureThreshold\": 1}},"
		 "{\"Id\": \"sec\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", "
		 "\"Port\": %u, \"Type\": \"HTTPS\", \"RequestInterval\": 1, "
		 "\"FailureThreshold\": 1, \"MeasureLatency\": true}},"
		 "{\"Id\": \"tcp\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", "
		 "\"Port\": %u, \"Type\": \"TCP\", \"RequestInterval\": 1, "
		 "\"FailureThreshold\": 1, \"MeasureLatency\": true}},"
		 "{\"Id\": \"down\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", "
		 "\"Port\": %u, \"Type\": \"HTTP\", \"RequestInterval\": 1, "
		 "\"FailureThreshold\": 1, \"MeasureLatency\": true}}]}",
		 ts_port(web), ts_port(web), ts_port(tls), ts_port(tcp), ts_closed_port());
	hc_system_t *sys = start("{\"checkers\": 2}", checks);
	wait_latency(sys, "web", 2, 10);
	wait_latency(sys, "sec", 2, 10);
	wait_latency(sys, "tcp", 2, 10);
	wait_obs(sys, "plain", 2, 10);
	wait_obs(sys, "down", 2, 10);

	if (getenv("HC_TEST_VERBOSE")) {
		json_t *root = NULL;
		assert_int_equal(hc_status_json(sys, &root), HC_OK);
		json_dumpf(root, stderr, JSON_INDENT(1));
		json_decref(root);
	}
	const char *http_ids[] = { "web", "sec" };
	for (size_t i = 0; i < 2; i++) {
		json_t *c = check_json(sys, http_ids[i]);
		json_t *obs = json_object_get(c, "HealthCheckObservations");
		for (size_t j = 0; j < json_array_size(obs); j++) {
			json_t *l = json_object_get(json_array_get(obs, j), "Latency");
			double cm = json_real_value(json_object_get(l, "ConnectMs"));
			double fb = json_real_value(json_object_get(l, "FirstByteMs"));
			if (!(cm > 0 && cm < 1000 && fb >= DELAY_MS && fb >= cm && fb < 10000)) {
				json_decref(c);
				fail_msg("%s checker %zu: ConnectMs %g FirstByteMs %g", http_ids[i], j,
					 cm, fb);
			}
		}
		json_decref(c);
	}
	json_t *c = check_json(sys, "tcp");
	json_t *obs = json_object_get(c, "HealthCheckObservations");
	for (size_t j = 0; j < json_array_size(obs); j++) {
		json_t *l = json_object_get(json_array_get(obs, j), "Latency");
		assert_true(json_real_value(json_object_get(l, "ConnectMs")) > 0);
		assert_null(json_object_get(l, "FirstByteMs"));
	}
	json_decref(c);
	assert_int_equal(n_with_latency(sys, "plain", NULL), 0);
	assert_int_equal(n_with_latency(sys, "down", NULL), 0); /* refused: never connected */

	/* the histograms, read with the probes stopped so that the counts are final */
	hc_system_stop(sys);
	char *t = metrics(sys);
	if (getenv("HC_TEST_VERBOSE"))
		fprintf(stderr, "%s", t);
	double dl = DELAY_MS / 1000.0;
	double wc = hist_check(t, "r53d_hc_connect_seconds", "web", 0, 1);
	double wf = hist_check(t, "r53d_hc_first_byte_seconds", "web", dl, 10);
	assert_true(wc >= 2 && wf == wc); /* every probe connected and got a first byte */
	assert_true(bucket(t, "r53d_hc_first_byte_seconds", "web", "0.1") == 0); /* >= 120 ms */
	double sc = hist_check(t, "r53d_hc_connect_seconds", "sec", 0, 1);
	double sf = hist_check(t, "r53d_hc_first_byte_seconds", "sec", dl, 10);
	assert_true(sc >= 2 && sf == sc);
	assert_true(bucket(t, "r53d_hc_first_byte_seconds", "sec", "0.1") == 0);
	assert_true(hist_check(t, "r53d_hc_connect_seconds", "tcp", 0, 1) >= 2);
	assert_true(hist_check(t, "r53d_hc_first_byte_seconds", "tcp", 0, 0) == 0);
	assert_true(hist_check(t, "r53d_hc_connect_seconds", "down", 0, 0) == 0);
	assert_true(hist_check(t, "r53d_hc_first_byte_seconds", "down", 0, 0) == 0);
	assert_null(strstr(t, "id=\"plain\""));
	assert_int_equal(occurrences(t, "# TYPE r53d_hc_connect_seconds histogram\n"), 1);
	assert_int_equal(occurrences(t, "# TYPE r53d_hc_first_byte_seconds histogram\n"), 1);
	free(t);
	hc_system_free(sys);
	ts_stop(ts);
}

/* Without any MeasureLatency check, /metrics has no latency families at all. */
static void test_none(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *web = ts_listen(ts, TS_HTTP, false);
	ts_run(ts);
	char checks[512];
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": [{\"Id\": \"plain\", \"HealthCheckConfig\": {\"IPAddress\": "
		 "\"127.0.0.1\", \"Port\": %u, \"Type\": \"HTTP\", \"RequestInterval\": 1, "
		 "\"FailureThreshold\": 1, \"MeasureLatency\": false}}]}",
		 ts_port(web));
	hc_system_t *sys = start("{\"checkers\": 1}", checks);
	wait_obs(sys, "plain", 1, 10);
	assert_int_equal(n_with_latency(sys, "plain", NULL), 0);
	char *t = metrics(sys);
	assert_non_null(strstr(t, "r53d_hc_probe_duration_seconds"));
	assert_null(strstr(t, "r53d_hc_connect_seconds"));
	assert_null(strstr(t, "r53d_hc_first_byte_seconds"));
	free(t);
	hc_system_free(sys);
	ts_stop(ts);
}

int main(void)
{
	hc_set_logger(quiet);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agg),
		cmocka_unit_test(test_probes),
		cmocka_unit_test(test_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
