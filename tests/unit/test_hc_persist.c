/* SPDX-License-Identifier: MIT */
/*
 * test_hc_persist.c -- checker state across a restart: hc_state_export() from one system,
 * hc_state_import() into a new system built from the same configuration (what r53d does
 * with the store's /hcstate/ID keys), the status-only restore when the number of checkers
 * changed, the change counter behind `since`, malformed input, and export/import while
 * the pool probes and readers read (labelled tsan).
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hc_int.h"

/* ---- log capture ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[65536];

static void capture(int level, const char *msg)
{
	(void)level;
	pthread_mutex_lock(&log_lock);
	size_t l = strlen(log_buf);
	snprintf(log_buf + l, sizeof(log_buf) - l, "%s\n", msg);
	pthread_mutex_unlock(&log_lock);
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_buf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static bool log_has(const char *s)
{
	pthread_mutex_lock(&log_lock);
	bool r = strstr(log_buf, s) != NULL;
	pthread_mutex_unlock(&log_lock);
	return r;
}

/* ---- helpers ---- */

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

static void sys_reload(hc_system_t *sys, const char *settings, const char *checks)
{
	json_t *s = js(settings), *c = js(checks);
	char err[512];
	int rc = hc_system_reload(sys, s, "r53d.json", c, "checks.json", err, sizeof(err));
	json_decref(s);
	json_decref(c);
	if (rc != HC_OK)
		fail_msg("hc_system_reload: %s", err);
}

static void report_at(hc_system_t *sys, const char *id, unsigned checker, bool ok, int64_t ms)
{
	long x = hc_conf_find(sys->aggr.conf, id);
	assert_true(x >= 0);
	char ip[32];
	snprintf(ip, sizeof(ip), "127.0.0.%u", 2 + checker);
	hc_result_t r = { .ok = ok,
			  .status = ok ? "Success: HTTP Status Code 200, OK"
				       : "Failure: Connection refused",
			  .ip = ip,
			  .checked_ms = ms };
	hc_agg_report(&sys->aggr, (size_t)x, checker, &r);
}

static void report(hc_system_t *sys, const char *id, unsigned checker, bool ok)
{
	static int64_t ms = 1711561696751;
	report_at(sys, id, checker, ok, ms += 1001);
}

static bool healthy(hc_system_t *sys, const char *id)
{
	uint32_t slot;
	assert_int_equal(hc_slot_find(sys, id, &slot), HC_OK);
	return hc_is_healthy(hc_table(sys), slot);
}

static unsigned n_healthy(hc_system_t *sys, const char *id)
{
	return sys->aggr.agg[hc_conf_find(sys->aggr.conf, id)].n_healthy;
}

/* The hc_status_json entry of id (new reference). */
static json_t *status_of(hc_system_t *sys, const char *id)
{
	json_t *j = NULL, *out = NULL;
	assert_int_equal(hc_status_json(sys, &j), HC_OK);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "HealthChecks"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "Id")), id) == 0)
			out = json_incref(e);
	}
	json_decref(j);
	assert_non_null(out);
	return out;
}

/* The members of the status entries that a restore must reproduce are equal. */
static void assert_same_status(hc_system_t *a, hc_system_t *b, const char *id)
{
	static const char *const keys[] = { "Status", "HealthyCheckers", "Checkers", "Forced",
					     "HealthCheckObservations", "LastFailures" };
	json_t *x = status_of(a, id), *y = status_of(b, id);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		json_t *vx = json_object_get(x, keys[k]), *vy = json_object_get(y, keys[k]);
		if (!json_equal(vx, vy)) {
			char *sx = json_dumps(vx, JSON_COMPACT), *sy = json_dumps(vy, JSON_COMPACT);
			fail_msg("check %s: %s differs:\n  before %s\n  after  %s", id, keys[k], sx,
				 sy);
		}
	}
	json_decref(x);
	json_decref(y);
}

static json_t *export_since(hc_system_t *sys, uint64_t since, uint64_t *now)
{
	json_t *j = NULL;
	assert_int_equal(hc_state_export(sys, since, &j, now), HC_OK);
	assert_true(json_is_object(j));
	return j;
}

#define TCP(id, extra) \
	"{\"Id\": \"" id "\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"" extra "}}"

static const char *const CHECKS =
	"{\"HealthChecks\": ["
	"{\"Id\": \"h\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.9\", \"Port\": 8080, \"Type\": \"HTTP\", \"FailureThreshold\": 1, \"Regions\": [\"eu-west-1\", \"us-east-1\", \"sa-east-1\"]}},"
	TCP("t", ", \"FailureThreshold\": 3") ","
	TCP("inv", ", \"FailureThreshold\": 1, \"Inverted\": true") ","
	TCP("dis", ", \"FailureThreshold\": 1, \"Disabled\": true") ","
	TCP("fresh", "") ","
	"{\"Id\": \"c\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 2, \"ChildHealthChecks\": [\"h\", \"t\"]}},"
	"{\"Id\": \"cw\", \"HealthCheckConfig\": {\"Type\": \"CLOUDWATCH_METRIC\", \"AlarmIdentifier\": {\"Region\": \"us-east-1\", \"Name\": \"x\"}, \"InsufficientDataHealthStatus\": \"Unhealthy\"}}]}";

static const char *const IDS[] = { "h", "t", "inv", "dis", "fresh", "c", "cw" };

/* ---- tests ---- */

/* export -> a new system from the same configuration -> import: the same status. */
static void test_roundtrip(void **state)
{
	(void)state;
	hc_system_t *a = sys_new("{\"checkers\": 3}", CHECKS);
	/* h: every checker fails (unhealthy), then checker 1 recovers: 1 of 3 is 33 % */
	for (unsigned j = 0; j < 3; j++)
		report(a, "h", j, false);
	assert_false(healthy(a, "h"));
	report(a, "h", 1, true);
	assert_true(healthy(a, "h"));
	report(a, "h", 0, false);
	/* t: FailureThreshold 3; checker 0 has two failures in a row (streak 2), checker 2
	 * three (unhealthy view) */
	report(a, "t", 0, false);
	report(a, "t", 0, false);
	for (int k = 0; k < 3; k++)
		report(a, "t", 2, false);
	assert_int_equal(n_healthy(a, "t"), 2);
	/* inv: every view unhealthy, so the inverted check is healthy */
	for (unsigned j = 0; j < 3; j++)
		report(a, "inv", j, false);
	assert_true(healthy(a, "inv"));
	/* dis: views kept but the status is Disabled's healthy */
	for (unsigned j = 0; j < 3; j++)
		report(a, "dis", j, false);
	/* c: HealthThreshold 2 over h (healthy) and t (healthy) */
	assert_true(healthy(a, "c"));

	uint64_t now = 0;
	json_t *st = export_since(a, 0, &now);
	assert_true(now > 0);
	assert_int_equal(json_object_size(st), 7);
	json_t *h = json_object_get(st, "h");
	assert_string_equal(json_string_value(json_object_get(h, "Status")), "Healthy");
	json_t *ck = json_object_get(h, "Checkers");
	assert_int_equal(json_array_size(ck), 3);
	json_t *c0 = json_array_get(ck, 0);
	assert_false(json_is_true(json_object_get(c0, "Healthy")));
	assert_int_equal(json_integer_value(json_object_get(c0, "Streak")), 0);
	json_t *o = json_object_get(c0, "Observation");
	assert_string_equal(json_string_value(json_object_get(o, "Region")), "eu-west-1");
	assert_string_equal(json_string_value(json_object_get(o, "IPAddress")), "127.0.0.2");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "StatusReport"), "Status")),
			    "Failure: Connection refused");
	assert_true(json_is_object(json_object_get(c0, "LastFailure")));
	json_t *c1 = json_array_get(ck, 1);
	assert_true(json_is_true(json_object_get(c1, "Healthy")));
	json_t *t = json_object_get(st, "t");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(t, "Checkers"), 0), "Streak")), 2);
	json_t *t1 = json_array_get(json_object_get(t, "Checkers"), 1);
	assert_true(json_is_null(json_object_get(t1, "Observation")));
	assert_true(json_is_null(json_object_get(t1, "LastFailure")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(st, "c"), "Checkers")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(st, "cw"), "Status")),
			    "Unhealthy");

	/* the stored form is JSON text: go through it as the store does */
	char *text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	st = js(text);
	free(text);

	hc_system_t *b = sys_new("{\"checkers\": 3}", CHECKS);
	log_clear();
	assert_int_equal(hc_state_import(b, st), HC_OK);
	for (size_t i = 0; i < sizeof(IDS) / sizeof(IDS[0]); i++)
		assert_same_status(a, b, IDS[i]);
	assert_true(log_has("health: checker state restored for 5 checks (0 more with a different number of checkers: status only; 0 not understood)"));
	/* exported again, the state is the same document */
	uint64_t now_b;
	json_t *again = export_since(b, 0, &now_b);
	assert_true(json_equal(again, st));
	json_decref(again);

	/* the counts are restored, not only the views: one more failure of t's checker 0
	 * completes its FailureThreshold of 3 in both systems */
	report_at(a, "t", 0, false, 1711600000123);
	report_at(b, "t", 0, false, 1711600000123);
	assert_int_equal(n_healthy(a, "t"), 1);
	assert_int_equal(n_healthy(b, "t"), 1);
	assert_true(healthy(b, "t")); /* 1 of 3 is 33 % */
	assert_same_status(a, b, "t");
	json_decref(st);
	hc_system_free(a);
	hc_system_free(b);
}

/* A restored unhealthy status is published and logged as a transition; calculated parents
 * follow their restored children. */
static void test_restore_unhealthy(void **state)
{
	(void)state;
	hc_system_t *a = sys_new("{\"checkers\": 3}", CHECKS);
	for (unsigned j = 0; j < 3; j++)
		report(a, "h", j, false);
	assert_false(healthy(a, "h"));
	assert_false(healthy(a, "c")); /* 1 of 2 children, HealthThreshold 2 */
	uint64_t now;
	json_t *st = export_since(a, 0, &now);
	hc_system_t *b = sys_new("{\"checkers\": 3}", CHECKS);
	assert_true(healthy(b, "h"));
	assert_true(healthy(b, "c"));
	log_clear();
	assert_int_equal(hc_state_import(b, st), HC_OK);
	assert_false(healthy(b, "h"));
	assert_false(healthy(b, "c"));
	assert_true(log_has("check h (192.0.2.9:8080): healthy -> unhealthy: state restored from the store (0 of 3 checkers healthy)"));
	assert_true(log_has("check c (calculated): healthy -> unhealthy: child h became unhealthy"));
	assert_same_status(a, b, "h");
	assert_same_status(a, b, "c");
	/* one success brings it back, exactly as in the first system */
	report(a, "h", 2, true);
	report(b, "h", 2, true);
	assert_true(healthy(a, "h"));
	assert_true(healthy(b, "h"));
	/* a health.force of the new configuration wins over the stored status */
	hc_system_t *f = sys_new("{\"checkers\": 3, \"force\": {\"h\": \"healthy\"}}", CHECKS);
	assert_int_equal(hc_state_import(f, st), HC_OK);
	assert_true(healthy(f, "h"));
	assert_int_equal(n_healthy(f, "h"), 0); /* the views are restored underneath */
	assert_int_equal(hc_force(f, "h", HC_FORCE_AUTO), HC_OK);
	assert_false(healthy(f, "h"));
	json_decref(st);
	hc_system_free(a);
	hc_system_free(b);
	hc_system_free(f);
}

/* A different number of checkers: only the aggregate status comes back. */
static void test_count_differs(void **state)
{
	(void)state;
	hc_system_t *a = sys_new("{\"checkers\": 3}", CHECKS);
	for (unsigned j = 0; j < 3; j++)
		report(a, "h", j, false); /* h unhealthy */
	report(a, "t", 0, false);
	report(a, "t", 0, false);
	report(a, "t", 0, false); /* t: 2 of 3 healthy: healthy */
	for (unsigned j = 0; j < 3; j++)
		report(a, "inv", j, false); /* inv: views unhealthy, status healthy */
	uint64_t now;
	json_t *st = export_since(a, 0, &now);

	hc_system_t *b = sys_new("{\"checkers\": 5}", CHECKS);
	log_clear();
	assert_int_equal(hc_state_import(b, st), HC_OK);
	assert_false(healthy(b, "h"));
	assert_int_equal(n_healthy(b, "h"), 0);
	assert_true(healthy(b, "t"));
	assert_int_equal(n_healthy(b, "t"), 5);
	assert_true(healthy(b, "inv"));
	assert_int_equal(n_healthy(b, "inv"), 0);
	assert_true(log_has("checker state restored for 0 checks (5 more with a different number of checkers: status only"));
	/* no observations or failures come with a status-only restore */
	json_t *s = status_of(b, "h");
	assert_string_equal(json_string_value(json_object_get(s, "Status")), "Unhealthy");
	assert_int_equal(json_array_size(json_object_get(s, "HealthCheckObservations")), 0);
	assert_int_equal(json_array_size(json_object_get(s, "LastFailures")), 0);
	assert_int_equal(json_integer_value(json_object_get(s, "Checkers")), 5);
	json_decref(s);
	/* the views are at the aggregate: one success of 5 is 20 % > 18 % */
	report(b, "h", 4, true);
	assert_true(healthy(b, "h"));
	json_decref(st);

	/* a stored check without checkers (say it was CALCULATED): its Status decides */
	st = js("{\"fresh\": {\"Status\": \"Unhealthy\", \"Checkers\": []},"
		" \"inv\": {\"Status\": \"Unhealthy\", \"Checkers\": []}}");
	assert_int_equal(hc_state_import(b, st), HC_OK);
	assert_false(healthy(b, "fresh"));
	assert_int_equal(n_healthy(b, "fresh"), 0);
	assert_false(healthy(b, "inv"));
	assert_int_equal(n_healthy(b, "inv"), 5); /* inverted: healthy views */
	json_decref(st);
	hc_system_free(a);
	hc_system_free(b);
}

/* The change counter: since returns only the checks that changed after it. */
static void test_since(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 3}", CHECKS);
	uint64_t n0, n1, n2;
	json_t *j = export_since(sys, 0, &n0);
	assert_int_equal(json_object_size(j), 7);
	json_decref(j);
	/* nothing happened */
	j = export_since(sys, n0, &n1);
	assert_int_equal(json_object_size(j), 0);
	assert_true(n1 == n0);
	json_decref(j);
	/* a probe result that changes no view still changes the observation */
	report(sys, "fresh", 1, true);
	j = export_since(sys, n0, &n1);
	assert_int_equal(json_object_size(j), 1);
	assert_non_null(json_object_get(j, "fresh"));
	assert_true(n1 > n0);
	json_decref(j);
	/* h flips unhealthy: h and its calculated parent c */
	for (unsigned k = 0; k < 3; k++)
		report(sys, "h", k, false);
	j = export_since(sys, n1, &n2);
	assert_int_equal(json_object_size(j), 2);
	assert_non_null(json_object_get(j, "h"));
	assert_non_null(json_object_get(j, "c"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "c"), "Status")),
			    "Unhealthy");
	json_decref(j);
	/* an operator override changes the status word */
	assert_int_equal(hc_force(sys, "t", HC_FORCE_UNHEALTHY), HC_OK);
	j = export_since(sys, n2, &n1);
	assert_non_null(json_object_get(j, "t"));
	assert_null(json_object_get(j, "h"));
	json_decref(j);
	/* only a check without checkers changed */
	assert_int_equal(hc_force(sys, "c", HC_FORCE_HEALTHY), HC_OK);
	j = export_since(sys, n1, &n2);
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "c"), "Checkers")), 0);
	json_decref(j);
	n1 = n2;
	/* a reload that changes nothing for the checks changes nothing here */
	sys_reload(sys, "{\"checkers\": 3}", CHECKS);
	j = export_since(sys, n1, &n2);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	/* new checks and checks whose number of checkers changed are changes */
	sys_reload(sys, "{\"checkers\": 3}",
		   "{\"HealthChecks\": [" TCP("h", ", \"FailureThreshold\": 1") "," TCP("new", "") "]}");
	j = export_since(sys, n2, &n1);
	assert_int_equal(json_object_size(j), 1);
	assert_non_null(json_object_get(j, "new"));
	json_decref(j);
	sys_reload(sys, "{\"checkers\": 4}",
		   "{\"HealthChecks\": [" TCP("h", ", \"FailureThreshold\": 1") "," TCP("new", "") "]}");
	j = export_since(sys, n1, &n2);
	assert_int_equal(json_object_size(j), 2);
	json_decref(j);
	/* an import is a change of what it restored */
	j = js("{\"new\": {\"Status\": \"Unhealthy\", \"Checkers\": []}}");
	assert_int_equal(hc_state_import(sys, j), HC_OK);
	json_decref(j);
	j = export_since(sys, n2, &n1);
	assert_int_equal(json_object_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "new"), "Status")),
			    "Unhealthy");
	json_decref(j);
	hc_system_free(sys);
}

/* Malformed state changes nothing of that check; unknown Ids are ignored. */
static void test_import_bad(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 2}",
				   "{\"HealthChecks\": [" TCP("a", ", \"FailureThreshold\": 1") "]}");
	report(sys, "a", 0, true);
	json_t *before = status_of(sys, "a");
	static const char *const bad[] = {
		"{\"a\": 7}",
		"{\"a\": {\"Checkers\": []}}",
		"{\"a\": {\"Status\": \"Sick\", \"Checkers\": []}}",
		"{\"a\": {\"Status\": \"Healthy\", \"Checkers\": {}}}",
		"{\"a\": {\"Status\": \"Unhealthy\", \"Checkers\": [{\"Healthy\": false}, {\"Healthy\": 0}]}}",
		"{\"a\": {\"Status\": \"Unhealthy\", \"Checkers\": [{\"Healthy\": false}, {\"Healthy\": false, \"Streak\": 300}]}}",
		"{\"a\": {\"Status\": \"Unhealthy\", \"Checkers\": [{\"Healthy\": false}, {\"Healthy\": false, \"Observation\": {\"IPAddress\": \"x\", \"StatusReport\": {\"Status\": \"Failure\", \"CheckedTime\": \"yesterday\"}}}]}}",
		"{\"a\": {\"Status\": \"Unhealthy\", \"Checkers\": [{\"Healthy\": false}, {\"Healthy\": false, \"LastFailure\": {\"StatusReport\": {\"Status\": \"Failure\", \"CheckedTime\": \"2024-03-27T17:48:16.751Z\"}}}]}}",
		"{\"a\": {\"Status\": \"Unhealthy\", \"Checkers\": [{\"Healthy\": false}, {\"Healthy\": false, \"Observation\": {\"IPAddress\": \"x\", \"StatusReport\": {\"Status\": \"Failure\", \"CheckedTime\": \"2024-03-27T17:48:16Z\"}}}]}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = js(bad[i]);
		log_clear();
		assert_int_equal(hc_state_import(sys, j), HC_OK);
		json_decref(j);
		if (!log_has("check a (192.0.2.1:80): its stored checker state is not understood; it starts afresh"))
			fail_msg("no warning for %s", bad[i]);
		json_t *after = status_of(sys, "a");
		if (!json_equal(before, after))
			fail_msg("state changed by %s", bad[i]);
		json_decref(after);
	}
	/* unknown Ids and an empty object: nothing, and no summary line */
	json_t *j = js("{\"zz\": {\"Status\": \"Unhealthy\", \"Checkers\": []}}");
	log_clear();
	assert_int_equal(hc_state_import(sys, j), HC_OK);
	assert_false(log_has("health: checker state restored"));
	json_decref(j);
	assert_int_equal(hc_state_import(sys, NULL), HC_OK);
	j = js("[]");
	assert_int_equal(hc_state_import(sys, j), HC_EINVAL);
	json_decref(j);
	json_t *after = status_of(sys, "a");
	assert_true(json_equal(before, after));
	json_decref(after);
	/* a good one, with an observation, for contrast */
	j = js("{\"a\": {\"Status\": \"Unhealthy\", \"Checkers\": [{\"Healthy\": false, \"Streak\": 0},"
	       " {\"Healthy\": false, \"Observation\": {\"Region\": \"nowhere\", \"IPAddress\": \"10.0.0.1\","
	       " \"StatusReport\": {\"Status\": \"Failure: Connection timed out.\", \"CheckedTime\": \"2024-03-27T17:48:16.007Z\"}},"
	       " \"LastFailure\": null}]}}");
	assert_int_equal(hc_state_import(sys, j), HC_OK);
	json_decref(j);
	assert_false(healthy(sys, "a"));
	after = status_of(sys, "a");
	json_t *obs = json_object_get(after, "HealthCheckObservations");
	assert_int_equal(json_array_size(obs), 1);
	json_t *o = json_array_get(obs, 0);
	/* the Region is the checker's, whatever was stored */
	assert_string_equal(json_string_value(json_object_get(o, "Region")), "us-west-1");
	assert_string_equal(json_string_value(json_object_get(o, "IPAddress")), "10.0.0.1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "StatusReport"), "CheckedTime")),
			    "2024-03-27T17:48:16.007Z");
	assert_int_equal(json_array_size(json_object_get(after, "LastFailures")), 0);
	json_decref(after);
	json_decref(before);
	hc_system_free(sys);
}

/* ---- export and import while the pool probes and readers read (TSan) ---- */

typedef struct reader {
	hc_system_t *sys;
	uint32_t slot;
	_Atomic bool *stop;
	unsigned long loads;
} reader_t;

static void *reader_main(void *arg)
{
	reader_t *r = arg;
	while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
		(void)hc_is_healthy(hc_table(r->sys), r->slot);
		r->loads++;
		sched_yield();
	}
	return NULL;
}

/* A loopback TCP port nobody listens on (bound, then closed). */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sin);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &l), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void test_concurrent(void **state)
{
	(void)state;
	char checks[1024];
	snprintf(checks, sizeof(checks),
		 "{\"HealthChecks\": [{\"Id\": \"dead\", \"HealthCheckConfig\": {\"IPAddress\": \"127.0.0.1\", \"Port\": %d, \"Type\": \"TCP\", \"RequestInterval\": 1, \"FailureThreshold\": 1}},"
		 "{\"Id\": \"c\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 1, \"ChildHealthChecks\": [\"dead\"]}}]}",
		 closed_port());
	hc_system_t *sys = sys_new("{\"checkers\": 4, \"threads\": 2}", checks);
	char err[256];
	assert_int_equal(hc_system_start(sys, err, sizeof(err)), HC_OK);
	_Atomic bool stop = false;
	reader_t r = { .sys = sys, .stop = &stop };
	assert_int_equal(hc_slot_find(sys, "dead", &r.slot), HC_OK);
	pthread_t tid;
	assert_int_equal(pthread_create(&tid, NULL, reader_main, &r), 0);
	/* while probes fail, export what changed and import it back, repeatedly */
	uint64_t since = 0, now = 0;
	unsigned exported = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		json_t *j = export_since(sys, since, &now);
		assert_true(now >= since);
		exported += (unsigned)json_object_size(j);
		assert_int_equal(hc_state_import(sys, j), HC_OK);
		json_decref(j);
		json_t *s = NULL;
		assert_int_equal(hc_status_json(sys, &s), HC_OK);
		json_decref(s);
		since = now;
		struct timespec ts = { 0, 20000000L };
		nanosleep(&ts, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (healthy(sys, "dead") && t.tv_sec - t0.tv_sec < 10);
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	pthread_join(tid, NULL);
	assert_false(healthy(sys, "dead")); /* 4 checkers, every one refused within ~1 s */
	assert_false(healthy(sys, "c"));
	assert_true(exported > 0);
	assert_true(r.loads > 0);
	hc_system_free(sys);
}

int main(void)
{
	hc_set_logger(capture);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_restore_unhealthy),
		cmocka_unit_test(test_count_differs),
		cmocka_unit_test(test_since),
		cmocka_unit_test(test_import_bad),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
