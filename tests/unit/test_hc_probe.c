/* SPDX-License-Identifier: MIT */
/*
 * test_hc_probe.c -- real probes against endpoints on 127.0.0.0/8 started by the test
 * (hc_testsrv.c): HTTP, HTTPS (self-signed certificate made at test time, SNI), TCP,
 * string match around the 5120-byte limit (plain, chunked, gzip), FQDN endpoints through
 * a loopback DNS responder, the 18% boundary with per-checker source addresses
 * 127.0.0.2..9, hostile endpoints failing on time without delaying other checks,
 * calculated checks and state across reload.
 *
 * RequestInterval 1 (the drill extension) and FailureThreshold 1 keep each test short;
 * every wait is bounded. No test talks to anything outside 127.0.0.0/8.
 */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hc_int.h"
#include "hc_testsrv.h"

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

static hc_system_t *start(const char *settings, const char *checks)
{
	json_t *s = js(settings), *c = js(checks);
	hc_system_t *sys = NULL;
	char err[512];
	int rc = hc_system_new(s, "r53d.json", c, "checks.json", &sys, err, sizeof(err));
	json_decref(s);
	json_decref(c);
	if (rc != HC_OK)
		fail_msg("hc_system_new: %s", err);
	if (hc_system_start(sys, err, sizeof(err)) != HC_OK)
		fail_msg("hc_system_start: %s", err);
	return sys;
}

static uint32_t slot_of(hc_system_t *sys, const char *id)
{
	uint32_t s;
	if (hc_slot_find(sys, id, &s) != HC_OK)
		fail_msg("no check %s", id);
	return s;
}

static bool healthy(hc_system_t *sys, const char *id)
{
	return hc_is_healthy(hc_table(sys), slot_of(sys, id));
}

/** Wait until the check's health equals want; returns seconds waited or -1. */
static double wait_health(hc_system_t *sys, const char *id, bool want, double limit)
{
	double t0 = now_s();
	uint32_t s = slot_of(sys, id);
	while (now_s() - t0 < limit) {
		if (hc_is_healthy(hc_table(sys), s) == want)
			return now_s() - t0;
		sleep_ms(10);
	}
	return -1;
}

/** Stays at want for the whole period. */
static bool stays(hc_system_t *sys, const char *id, bool want, double period)
{
	double t0 = now_s();
	uint32_t s = slot_of(sys, id);
	while (now_s() - t0 < period) {
		if (hc_is_healthy(hc_table(sys), s) != want)
			return false;
		sleep_ms(10);
	}
	return true;
}

/** Status text of the latest observation of checker j ("" when none). */
static void obs_status(hc_system_t *sys, const char *id, unsigned j, char *buf, size_t len)
{
	json_t *root = NULL;
	buf[0] = '\0';
	assert_int_equal(hc_status_json(sys, &root), HC_OK);
	json_t *list = json_object_get(root, "HealthChecks");
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *c = json_array_get(list, i);
		if (strcmp(json_string_value(json_object_get(c, "Id")), id) != 0)
			continue;
		json_t *obs = json_object_get(c, "HealthCheckObservations");
		if (j < json_array_size(obs))
			snprintf(buf, len, "%s",
				 json_string_value(json_object_get(
					 json_object_get(json_array_get(obs, j), "StatusReport"), "Status")));
	}
	json_decref(root);
}

static bool wait_obs(hc_system_t *sys, const char *id, const char *prefix, double limit)
{
	double t0 = now_s();
	char st[256];
	while (now_s() - t0 < limit) {
		obs_status(sys, id, 0, st, sizeof(st));
		if (strncmp(st, prefix, strlen(prefix)) == 0)
			return true;
		sleep_ms(20);
	}
	fail_msg("check %s: last observation \"%s\", wanted \"%s...\"", id, st, prefix);
	return false;
}

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

#define HTTP_CHECK(id, type, port, extra)                                                        \
	"{\"Id\": \"" id "\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", \"Port\": %u, " \
	"\"Type\": \"" type "\", \"RequestInterval\": 1, \"FailureThreshold\": 1" extra "}}"

/* ---- tests ---- */

static void test_http(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *l = ts_listen(ts, TS_HTTP, false);
	ts_run(ts);
	char checks[1024];
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": [" HTTP_CHECK("web", "HTTP", port,
		 ", \"ResourcePath\": \"health?x=1\", \"FullyQualifiedDomainName\": \"www.example.test\"") "]}",
		 ts_port(l));
	hc_system_t *sys = start("{\"checkers\": 1}", checks);
	assert_true(wait_obs(sys, "web", "Success: HTTP Status Code 200, OK", 3));
	char req[2048], want[256];
	ts_last_request(ts, l, req, sizeof(req));
	snprintf(want, sizeof(want),
		 "GET /health?x=1 HTTP/1.1\r\nHost: www.example.test:%u\r\n", ts_port(l));
	assert_true(strncmp(req, want, strlen(want)) == 0);
	assert_non_null(strstr(req, "\r\nUser-Agent: Amazon-Route53-Health-Check-Service (ref web; report http://amzn.to/1vsZADi)\r\n"));
	assert_non_null(strstr(req, "\r\nAccept: */*\r\n"));
	assert_non_null(strstr(req, "\r\nConnection: close\r\n\r\n"));
	assert_null(strstr(req, "Accept-Encoding"));

	ts_set_status(ts, l, 503, "Service Unavailable");
	assert_true(wait_health(sys, "web", false, 3) >= 0);
	assert_true(wait_obs(sys, "web", "Failure: HTTP Status Code 503, Service Unavailable", 1));
	ts_set_status(ts, l, 301, "Moved Permanently"); /* 3xx passes */
	assert_true(wait_health(sys, "web", true, 3) >= 0);
	ts_set_status(ts, l, 404, "Not Found");
	assert_true(wait_health(sys, "web", false, 3) >= 0);
	ts_set_status(ts, l, 200, "OK");
	assert_true(wait_health(sys, "web", true, 3) >= 0);
	ts_set_mode(ts, l, TS_CLOSE);
	assert_true(wait_health(sys, "web", false, 3) >= 0);
	assert_true(wait_obs(sys, "web", "Failure: The connection was closed before an HTTP status line", 1));
	json_t *c = check_json(sys, "web");
	assert_int_equal(json_integer_value(json_object_get(c, "ChangeCounter")), 5);
	json_decref(c);
	hc_system_free(sys);
	ts_stop(ts);
}

static void test_tcp(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *l = ts_listen(ts, TS_SILENT, false);
	ts_run(ts);
	char checks[1024];
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": [" HTTP_CHECK("up", "TCP", p1, "") "," HTTP_CHECK("down", "TCP", p2, "") "]}",
		 ts_port(l), ts_closed_port());
	hc_system_t *sys = start("{\"checkers\": 1}", checks);
	assert_true(wait_obs(sys, "up", "Success: TCP connection established", 3));
	assert_true(wait_health(sys, "down", false, 3) >= 0);
	assert_true(wait_obs(sys, "down", "Failure: Connection refused", 1));
	assert_true(healthy(sys, "up"));
	assert_true(ts_count(ts, l) >= 1);
	hc_system_free(sys);
	ts_stop(ts);
}

static void test_https(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *t1 = ts_listen(ts, TS_HTTP, true);
	ts_listener_t *t2 = ts_listen(ts, TS_HTTP, true);
	ts_listener_t *t3 = ts_listen(ts, TS_HTTP, true);
	ts_listener_t *plain = ts_listen(ts, TS_HTTP, false);
	ts_set_body(ts, t3, "hello secure world", 18, false, false);
	ts_run(ts);
	char checks[2048];
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": ["
		 HTTP_CHECK("sni", "HTTPS", p1, ", \"FullyQualifiedDomainName\": \"www.example.test\"") ","
		 HTTP_CHECK("mismatch", "HTTPS", p2, ", \"FullyQualifiedDomainName\": \"other.example.test\"") ","
		 HTTP_CHECK("match", "HTTPS_STR_MATCH", p3, ", \"SearchString\": \"secure\", \"EnableSNI\": false, \"FullyQualifiedDomainName\": \"www.example.test\"") ","
		 HTTP_CHECK("plain", "HTTPS", p4, "") "]}",
		 ts_port(t1), ts_port(t2), ts_port(t3), ts_port(plain));
	hc_system_t *sys = start("{\"checkers\": 1}", checks);
	assert_true(wait_obs(sys, "sni", "Success: HTTP Status Code 200, OK", 3));
	assert_true(wait_obs(sys, "mismatch", "Success: HTTP Status Code 200, OK", 3));
	assert_true(wait_obs(sys, "match", "Success: HTTP Status Code 200, OK", 3));
	assert_true(wait_health(sys, "plain", false, 3) >= 0);
	assert_true(wait_obs(sys, "plain", "Failure: TLS", 1));
	char sni[256];
	assert_true(ts_tls_info(ts, t1, sni, sizeof(sni)) >= 1);
	assert_string_equal(sni, "www.example.test");
	/* HC-5: the certificate does not name other.example.test: retried without SNI */
	unsigned hs = ts_tls_info(ts, t2, sni, sizeof(sni));
	assert_true(hs >= 2);
	assert_string_equal(sni, "");
	assert_true(ts_count(ts, t2) >= 1);
	assert_true(ts_count(ts, t2) * 2 <= hs + 1);
	ts_tls_info(ts, t3, sni, sizeof(sni));
	assert_string_equal(sni, ""); /* EnableSNI false */
	char req[2048];
	ts_last_request(ts, t3, req, sizeof(req));
	assert_non_null(strstr(req, "\r\nAccept-Encoding: gzip, deflate\r\n"));
	hc_system_free(sys);
	ts_stop(ts);
}

static void test_string_match(void **state)
{
	(void)state;
	static const struct {
		const char *id;
		size_t size, at;    /* body size, token offset */
		const char *token;
		bool chunked;
		int gzip; /* 1 gzip, 2 raw deflate */
		bool pass;
	} cases[] = {
		{ "early", 200, 100, "OKTOKEN", false, false, true },
		{ "late", 6000, 5200, "OKTOKEN", false, false, false },
		{ "edge-in", 6000, 5120 - 7, "OKTOKEN", false, false, true },
		{ "edge-out", 6000, 5118, "OKTOKEN", false, false, false },
		{ "chunked", 8000, 3000, "OKTOKEN", true, false, true },
		{ "chunked-late", 8000, 5500, "OKTOKEN", true, false, false },
		{ "gzip", 10000, 4000, "OKTOKEN", false, true, true },
		{ "gzip-late", 10000, 6000, "OKTOKEN", false, true, false },
		{ "raw-deflate", 10000, 4000, "OKTOKEN", false, 2, true },
		{ "raw-deflate-late", 10000, 6000, "OKTOKEN", true, 2, false },
		{ "case", 200, 10, "oktoken", false, false, false },
		{ "empty", 0, 0, "", false, false, false },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	ts_server_t *ts = ts_new();
	ts_listener_t *l[N];
	for (size_t i = 0; i < N; i++) {
		l[i] = ts_listen(ts, TS_HTTP, false);
		char *body = malloc(cases[i].size + 1);
		for (size_t b = 0; b < cases[i].size; b++)
			body[b] = (char)('a' + b % 23);
		memcpy(body + cases[i].at, cases[i].token, strlen(cases[i].token));
		ts_set_body(ts, l[i], body, cases[i].size, cases[i].chunked, cases[i].gzip);
		free(body);
	}
	ts_run(ts);
	char checks[8192] = "{\"HealthChecks\": [";
	for (size_t i = 0; i < N; i++)
		snprintf(checks + strlen(checks), sizeof(checks) - strlen(checks),
			 "%s{\"Id\": \"%s\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", \"Port\": %u, "
			 "\"Type\": \"HTTP_STR_MATCH\", \"SearchString\": \"OKTOKEN\", \"RequestInterval\": 1, "
			 "\"FailureThreshold\": 1}}",
			 i ? "," : "", cases[i].id, ts_port(l[i]));
	strcat(checks, "]}");
	hc_system_t *sys = start("{\"checkers\": 1}", checks);
	for (size_t i = 0; i < N; i++) {
		if (cases[i].pass)
			assert_true(wait_obs(sys, cases[i].id, "Success: HTTP Status Code 200, OK", 3));
		else
			assert_true(wait_obs(sys, cases[i].id, "Failure: HTTP Status Code 200, OK. The search string was not found", 3));
		assert_int_equal(healthy(sys, cases[i].id), cases[i].pass);
	}
	hc_system_free(sys);
	ts_stop(ts);
}

static void test_fqdn(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *l = ts_listen(ts, TS_HTTP, false);
	uint16_t dns = ts_dns(ts);
	ts_dns_set(ts, "app.example.test", "127.0.0.1");
	ts_run(ts);
	char settings[256], checks[1024];
	snprintf(settings, sizeof(settings), "{\"checkers\": 1, \"resolver\": \"127.0.0.1:%u\"}", dns);
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": [{\"Id\": \"byname\", \"HealthCheckConfig\": {"
		 "\"FullyQualifiedDomainName\": \"app.example.test\", \"Port\": %u, \"Type\": \"HTTP\", "
		 "\"RequestInterval\": 1, \"FailureThreshold\": 1}},"
		 "{\"Id\": \"nxdomain\", \"HealthCheckConfig\": {"
		 "\"FullyQualifiedDomainName\": \"nope.example.test\", \"Port\": %u, \"Type\": \"TCP\", "
		 "\"RequestInterval\": 1, \"FailureThreshold\": 1}}]}",
		 ts_port(l), ts_port(l));
	hc_system_t *sys = start(settings, checks);
	assert_true(wait_obs(sys, "byname", "Success: HTTP Status Code 200, OK", 3));
	char req[2048], want[128];
	ts_last_request(ts, l, req, sizeof(req));
	snprintf(want, sizeof(want), "\r\nHost: app.example.test:%u\r\n", ts_port(l));
	assert_non_null(strstr(req, want));
	assert_true(wait_health(sys, "nxdomain", false, 3) >= 0);
	assert_true(wait_obs(sys, "nxdomain", "Failure: DNS resolution failed", 1));
	assert_true(ts_dns_count(ts) >= 2);
	hc_system_free(sys);
	ts_stop(ts);
}

static void test_boundary_18_percent(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *l = ts_listen(ts, TS_HTTP, false);
	ts_run(ts);
	/* checker j binds 127.0.0.(2+j) */
	ts_set_allow(ts, l, 1ull << 2, false); /* only 127.0.0.2: 1 of 8 = 12.5 % */
	char checks[512];
	snprintf(checks, sizeof(checks), "{\"HealthChecks\": [" HTTP_CHECK("edge", "HTTP", p, "") "]}",
		 ts_port(l));
	hc_system_t *sys = start("{\"checkers\": 8, \"threads\": 2, \"sources\": [\"127.0.0.2\", "
				 "\"127.0.0.3\", \"127.0.0.4\", \"127.0.0.5\", \"127.0.0.6\", "
				 "\"127.0.0.7\", \"127.0.0.8\", \"127.0.0.9\"]}",
				 checks);
	assert_true(wait_health(sys, "edge", false, 4) >= 0);
	assert_true(stays(sys, "edge", false, 2.5));
	json_t *c = check_json(sys, "edge");
	assert_int_equal(json_integer_value(json_object_get(c, "HealthyCheckers")), 1);
	json_t *obs = json_object_get(c, "HealthCheckObservations");
	assert_int_equal(json_array_size(obs), 8);
	for (size_t j = 0; j < 8; j++) {
		json_t *o = json_array_get(obs, j);
		char ip[32];
		snprintf(ip, sizeof(ip), "127.0.0.%zu", j + 2);
		assert_string_equal(json_string_value(json_object_get(o, "IPAddress")), ip);
		const char *st = json_string_value(json_object_get(json_object_get(o, "StatusReport"), "Status"));
		if (j == 0)
			assert_string_equal(st, "Success: HTTP Status Code 200, OK");
		else
			assert_string_equal(st, "Failure: HTTP Status Code 503, Service Unavailable");
	}
	json_decref(c);

	ts_set_allow(ts, l, (1ull << 2) | (1ull << 3), false); /* 2 of 8 = 25 % */
	assert_true(wait_health(sys, "edge", true, 4) >= 0);
	/* probes accepted before the change may still report the old answer: let one
	 * interval and its timeouts pass before asking for a stable state */
	sleep_ms(2500);
	assert_true(wait_health(sys, "edge", true, 4) >= 0);
	assert_true(stays(sys, "edge", true, 2.5));
	c = check_json(sys, "edge");
	assert_int_equal(json_integer_value(json_object_get(c, "HealthyCheckers")), 2);
	json_decref(c);

	ts_set_allow(ts, l, 1ull << 9, true); /* one checker, the others cut off (closed) */
	assert_true(wait_health(sys, "edge", false, 4) >= 0);
	sleep_ms(2500);
	assert_true(wait_health(sys, "edge", false, 4) >= 0);
	assert_true(stays(sys, "edge", false, 2));
	hc_system_free(sys);
	ts_stop(ts);
}

static void test_hostile(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *good = ts_listen(ts, TS_HTTP, false);
	ts_listener_t *silent = ts_listen(ts, TS_SILENT, false);
	ts_listener_t *dribble = ts_listen(ts, TS_DRIBBLE, false);
	ts_listener_t *huge = ts_listen(ts, TS_HUGE_HEADER, false);
	ts_listener_t *stall = ts_listen(ts, TS_SILENT, true);
	ts_listener_t *exact = ts_listen(ts, TS_EXACT_HEADER, false);
	uint16_t dns = ts_dns(ts);
	ts_dns_silent(ts, "stall.example.test");
	ts_run(ts);
	char settings[256], checks[4096];
	/* one pool thread: every check shares one event loop with the hostile ones */
	snprintf(settings, sizeof(settings),
		 "{\"checkers\": 1, \"threads\": 1, \"resolver\": \"127.0.0.1:%u\"}", dns);
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": ["
		 HTTP_CHECK("good", "HTTP", p0, "") ","
		 HTTP_CHECK("good-tcp", "TCP", p0, "") ","
		 HTTP_CHECK("silent", "HTTP", p1, "") ","
		 HTTP_CHECK("dribble", "HTTP", p2, "") ","
		 HTTP_CHECK("huge", "HTTP", p3, "") ","
		 HTTP_CHECK("exact", "HTTP", p5, "") ","
		 HTTP_CHECK("tls-stall", "HTTPS", p4, "") ","
		 "{\"Id\": \"nxdomain\", \"HealthCheckConfig\": {\"FullyQualifiedDomainName\": \"nope.example.test\", "
		 "\"Port\": %u, \"Type\": \"HTTP\", \"RequestInterval\": 1, \"FailureThreshold\": 1}},"
		 "{\"Id\": \"dns-stall\", \"HealthCheckConfig\": {\"FullyQualifiedDomainName\": \"stall.example.test\", "
		 "\"Port\": %u, \"Type\": \"HTTP\", \"RequestInterval\": 1, \"FailureThreshold\": 1}}]}",
		 ts_port(good), ts_port(good), ts_port(silent), ts_port(dribble), ts_port(huge),
		 ts_port(exact), ts_port(stall), ts_port(good), ts_port(good));
	static const struct {
		const char *id;
		double lo, hi;     /* seconds from start until unhealthy */
		const char *status;
	} bad[] = {
		{ "silent", 2.0, 3.4, "Failure: Timed out waiting for the HTTP status line (2 s after connecting)" },
		{ "dribble", 2.0, 3.4, "Failure: Timed out waiting for the HTTP status line" },
		{ "huge", 0.0, 1.4, "Failure: The response headers exceed 16384 bytes" },
		{ "tls-stall", 2.0, 3.4, "Failure: TLS handshake timed out" },
		{ "nxdomain", 0.0, 1.4, "Failure: DNS resolution failed" },
		{ "dns-stall", 3.9, 5.4, "Failure: DNS resolution failed" },
	};
	enum { NB = sizeof(bad) / sizeof(bad[0]) };
	double t0 = now_s();
	hc_system_t *sys = start(settings, checks);
	hc_stats_reset(sys);
	double when[NB];
	for (size_t i = 0; i < NB; i++)
		when[i] = -1;
	unsigned good_at_start = ts_count(ts, good);
	while (now_s() - t0 < 7.0) {
		for (size_t i = 0; i < NB; i++)
			if (when[i] < 0 && !healthy(sys, bad[i].id))
				when[i] = now_s() - t0;
		assert_true(healthy(sys, "good"));
		assert_true(healthy(sys, "good-tcp"));
		assert_true(healthy(sys, "exact")); /* headers of exactly 16384 bytes pass (HC-6) */
		sleep_ms(5);
	}
	for (size_t i = 0; i < NB; i++) {
		char st[256];
		obs_status(sys, bad[i].id, 0, st, sizeof(st));
		print_message("  %-10s unhealthy after %.2f s: %s\n", bad[i].id, when[i], st);
		if (when[i] < bad[i].lo || when[i] > bad[i].hi)
			fail_msg("%s: unhealthy after %.2f s, expected %.1f..%.1f s (%s)", bad[i].id,
				 when[i], bad[i].lo, bad[i].hi, st);
		if (strncmp(st, bad[i].status, strlen(bad[i].status)) != 0)
			fail_msg("%s: status \"%s\", expected \"%s...\"", bad[i].id, st, bad[i].status);
	}
	/* the good HTTP check went on every second: 6..8 probes in 7 s */
	unsigned n_good = ts_count(ts, good) - good_at_start;
	if (n_good < 5)
		fail_msg("good check probed only %u times in 7 s", n_good);
	hc_stats_t st;
	hc_stats_get(sys, &st);
	print_message("  good check: %u probes in 7 s; lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		      n_good, st.lateness_p50_ms, st.lateness_p99_ms, st.lateness_max_ms);
	if (st.late != 0 || st.lateness_p99_ms > 50)
		fail_msg("probes started late: %" PRIu64 " late, p99 %.1f ms", st.late, st.lateness_p99_ms);
	/* freeing with probes in flight (silent connections, pending DNS) is clean */
	hc_system_free(sys);
	ts_stop(ts);
}

static void test_calculated_and_reload(void **state)
{
	(void)state;
	ts_server_t *ts = ts_new();
	ts_listener_t *x = ts_listen(ts, TS_HTTP, false);
	ts_listener_t *y = ts_listen(ts, TS_HTTP, false);
	ts_run(ts);
	const char *calc = "{\"Id\": \"both\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", "
			   "\"HealthThreshold\": 2, \"ChildHealthChecks\": [\"x\", \"y\"]}}";
	char checks[2048];
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": [" HTTP_CHECK("x", "HTTP", p1, "") "," HTTP_CHECK("y", "HTTP", p2, "") ",%s]}",
		 ts_port(x), ts_port(y), calc);
	hc_system_t *sys = start("{\"checkers\": 2}", checks);
	assert_true(stays(sys, "both", true, 1.5));
	ts_set_status(ts, y, 500, "Internal Server Error");
	assert_true(wait_health(sys, "y", false, 3) >= 0);
	assert_false(healthy(sys, "both"));
	uint32_t wy = hc_word(hc_table(sys), slot_of(sys, "y"));

	/* reload with one more check: y keeps its state and counter, nothing flips */
	ts_listener_t *z = x;
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": [" HTTP_CHECK("z", "TCP", p3, "") "," HTTP_CHECK("x", "HTTP", p1, "") ","
		 HTTP_CHECK("y", "HTTP", p2, "") ",%s]}",
		 ts_port(z), ts_port(x), ts_port(y), calc);
	json_t *s = js("{\"checkers\": 2}"), *c = js(checks);
	char err[512];
	assert_int_equal(hc_system_reload(sys, s, "r53d.json", c, "checks.json", err, sizeof(err)), HC_OK);
	json_decref(s);
	json_decref(c);
	assert_int_equal(hc_word(hc_table(sys), slot_of(sys, "y")), wy);
	assert_false(healthy(sys, "both"));
	assert_true(healthy(sys, "z"));
	assert_true(stays(sys, "y", false, 1.5));
	ts_set_status(ts, y, 200, "OK");
	assert_true(wait_health(sys, "both", true, 3) >= 0);
	assert_int_equal(hc_word(hc_table(sys), slot_of(sys, "y")) & HC_WORD_COUNTER,
			 (wy & HC_WORD_COUNTER) + 1);

	/* stop and start again */
	hc_system_stop(sys);
	assert_int_equal(hc_system_start(sys, err, sizeof(err)), HC_OK);
	assert_int_equal(hc_system_start(sys, err, sizeof(err)), HC_EINVAL);
	ts_set_status(ts, x, 503, "Service Unavailable");
	assert_true(wait_health(sys, "both", false, 3) >= 0);
	hc_system_free(sys);
	ts_stop(ts);
}

int main(void)
{
	hc_set_logger(quiet);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_https),
		cmocka_unit_test(test_string_match),
		cmocka_unit_test(test_fqdn),
		cmocka_unit_test(test_boundary_18_percent),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_calculated_and_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
