/* SPDX-License-Identifier: MIT */
/*
 * test_hc_agg.c -- aggregation without probes: the 18% rule and its boundaries,
 * FailureThreshold counting, Inverted/Disabled, calculated checks, forced states, the
 * status table (words, slots, growth, retire hook), state across reload, introspection.
 * Results are injected with hc_agg_report() exactly as pool threads deliver them.
 */
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

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

static size_t log_count(const char *s)
{
	size_t n = 0;
	pthread_mutex_lock(&log_lock);
	for (const char *p = log_buf; (p = strstr(p, s)) != NULL; p++)
		n++;
	pthread_mutex_unlock(&log_lock);
	return n;
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

static int sys_reload(hc_system_t *sys, const char *settings, const char *checks, char *err,
		      size_t errlen)
{
	json_t *s = js(settings), *c = js(checks);
	int rc = hc_system_reload(sys, s, "r53d.json", c, "checks.json", err, errlen);
	json_decref(s);
	json_decref(c);
	return rc;
}

static void report(hc_system_t *sys, const char *id, unsigned checker, bool ok)
{
	long x = hc_conf_find(sys->aggr.conf, id);
	assert_true(x >= 0);
	hc_result_t r = { .ok = ok,
			  .status = ok ? "Success: HTTP Status Code 200, OK"
				       : "Failure: Connection refused",
			  .ip = "127.0.0.2",
			  .checked_ms = 1711561696751 };
	hc_agg_report(&sys->aggr, (size_t)x, checker, &r);
}

static uint32_t word(hc_system_t *sys, const char *id)
{
	uint32_t slot;
	assert_int_equal(hc_slot_find(sys, id, &slot), HC_OK);
	return hc_word(hc_table(sys), slot);
}

static bool healthy(hc_system_t *sys, const char *id)
{
	uint32_t slot;
	assert_int_equal(hc_slot_find(sys, id, &slot), HC_OK);
	return hc_is_healthy(hc_table(sys), slot);
}

#define TCP(id, extra) \
	"{\"Id\": \"" id "\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"" extra "}}"

/* ---- tests ---- */

static void test_rule(void **state)
{
	(void)state;
	/* spec HC-18 table */
	assert_false(hc_agg_rule(2, 16, 0.18));
	assert_true(hc_agg_rule(3, 16, 0.18));
	assert_false(hc_agg_rule(1, 8, 0.18));
	assert_true(hc_agg_rule(2, 8, 0.18));
	assert_false(hc_agg_rule(1, 6, 0.18));
	assert_true(hc_agg_rule(2, 6, 0.18));
	assert_true(hc_agg_rule(1, 3, 0.18));
	assert_false(hc_agg_rule(0, 3, 0.18));
	/* strict > at an exactly representable threshold */
	assert_false(hc_agg_rule(2, 8, 0.25));
	assert_true(hc_agg_rule(3, 8, 0.25));
	assert_true(hc_agg_rule(1, 1, 0.0));
	assert_false(hc_agg_rule(0, 1, 0.0));
	/* the minimum healthy count for every K up to 256 is floor(0.18 K) + 1 */
	for (unsigned k = 1; k <= 256; k++) {
		unsigned need = (unsigned)(0.18 * k) + 1;
		assert_false(hc_agg_rule(need - 1, k, 0.18));
		assert_true(hc_agg_rule(need, k, 0.18));
	}
}

static void test_boundary_8(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 8}",
				   "{\"HealthChecks\": [" TCP("a", ", \"FailureThreshold\": 1") "]}");
	assert_true(healthy(sys, "a"));
	for (unsigned j = 0; j < 6; j++) {
		report(sys, "a", j, false);
		assert_true(healthy(sys, "a")); /* 7 .. 2 of 8 healthy */
	}
	log_clear();
	report(sys, "a", 6, false); /* 1 of 8 = 12.5 % */
	assert_false(healthy(sys, "a"));
	assert_true(log_has("check a (192.0.2.1:80): healthy -> unhealthy: checker 6 (ap-northeast-1): Failure: Connection refused (1 of 8 checkers healthy)"));
	report(sys, "a", 0, true); /* 2 of 8 = 25 % */
	assert_true(healthy(sys, "a"));
	assert_true(log_has("check a (192.0.2.1:80): unhealthy -> healthy:"));
	assert_true(log_has("(2 of 8 checkers healthy)"));
	assert_int_equal(word(sys, "a") & HC_WORD_COUNTER, 2);
	hc_system_free(sys);
}

static void test_failure_threshold(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 1}", "{\"HealthChecks\": [" TCP("a", "") "]}");
	/* spec HC-17 example, threshold 3: F F S F F -> still healthy, F -> unhealthy */
	bool seq[] = { false, false, true, false, false };
	for (size_t i = 0; i < 5; i++) {
		report(sys, "a", 0, seq[i]);
		assert_true(healthy(sys, "a"));
	}
	report(sys, "a", 0, false);
	assert_false(healthy(sys, "a"));
	report(sys, "a", 0, true);
	report(sys, "a", 0, true);
	assert_false(healthy(sys, "a"));
	report(sys, "a", 0, true);
	assert_true(healthy(sys, "a"));
	assert_int_equal(word(sys, "a") & HC_WORD_COUNTER, 2);
	/* a result out of range is ignored */
	report(sys, "a", 5, false);
	assert_true(healthy(sys, "a"));
	hc_system_free(sys);
}

static void test_inverted_disabled(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 3}",
		"{\"HealthChecks\": [" TCP("inv", ", \"Inverted\": true, \"FailureThreshold\": 1") ","
		TCP("dis", ", \"Disabled\": true") "," TCP("both", ", \"Disabled\": true, \"Inverted\": true") ","
		"{\"Id\": \"cw\", \"HealthCheckConfig\": {\"Type\": \"CLOUDWATCH_METRIC\", \"AlarmIdentifier\": {\"Region\": \"us-east-1\", \"Name\": \"x\"}, \"InsufficientDataHealthStatus\": \"Unhealthy\"}},"
		"{\"Id\": \"rc\", \"HealthCheckConfig\": {\"Type\": \"RECOVERY_CONTROL\", \"RoutingControlArn\": \"arn:x\"}}]}");
	/* HC-19: a new inverted check starts unhealthy */
	assert_false(healthy(sys, "inv"));
	assert_int_equal(word(sys, "inv") & HC_WORD_COUNTER, 1);
	for (unsigned j = 0; j < 3; j++)
		report(sys, "inv", j, false);
	assert_true(healthy(sys, "inv")); /* 0 of 3 healthy, inverted */
	/* HC-21 / OC-22 */
	assert_true(healthy(sys, "dis"));
	assert_false(healthy(sys, "both"));
	/* disabled checks have no running checkers */
	assert_int_equal(sys->aggr.agg[hc_conf_find(sys->aggr.conf, "dis")].k, 3);
	assert_int_equal(sys->aggr.conf->checks[hc_conf_find(sys->aggr.conf, "dis")].k, 0);
	/* passive types */
	assert_false(healthy(sys, "cw"));
	assert_true(healthy(sys, "rc"));
	hc_system_free(sys);
}

static void test_calculated(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 1}",
		"{\"HealthChecks\": [" TCP("a", ", \"FailureThreshold\": 1") "," TCP("b", ", \"FailureThreshold\": 1") ","
		TCP("c", ", \"FailureThreshold\": 1") "," TCP("d", ", \"Disabled\": true") ","
		TCP("e", ", \"Disabled\": true, \"Inverted\": true") ","
		"{\"Id\": \"two\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 2, \"ChildHealthChecks\": [\"a\", \"b\", \"c\"]}},"
		"{\"Id\": \"zero\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 0, \"ChildHealthChecks\": [\"a\"]}},"
		"{\"Id\": \"over\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 2, \"ChildHealthChecks\": [\"a\"]}},"
		"{\"Id\": \"none\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 0}},"
		"{\"Id\": \"dis\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 2, \"ChildHealthChecks\": [\"d\", \"e\"]}},"
		"{\"Id\": \"inv\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"Inverted\": true, \"HealthThreshold\": 3, \"ChildHealthChecks\": [\"a\", \"b\", \"c\"]}}]}");
	assert_true(healthy(sys, "two"));
	assert_true(healthy(sys, "zero"));
	assert_false(healthy(sys, "over")); /* HC-24: threshold > children */
	assert_true(healthy(sys, "none"));
	assert_false(healthy(sys, "dis"));  /* HC-25: d counts healthy, e (disabled + inverted) not */
	assert_false(healthy(sys, "inv"));  /* 3 of 3, inverted */
	log_clear();
	report(sys, "a", 0, false);
	assert_true(healthy(sys, "two"));
	assert_true(healthy(sys, "inv")); /* 2 of 3 < 3, inverted -> healthy */
	report(sys, "b", 0, false);
	assert_false(healthy(sys, "two"));
	assert_true(healthy(sys, "zero"));
	assert_true(log_has("check two (calculated): healthy -> unhealthy: child b became unhealthy (1 of 3 children healthy, HealthThreshold 2)"));
	/* a forced child counts as its forced status */
	assert_int_equal(hc_force(sys, "c", HC_FORCE_UNHEALTHY), HC_OK);
	assert_false(healthy(sys, "two"));
	assert_int_equal(hc_force(sys, "a", HC_FORCE_HEALTHY), HC_OK);
	assert_false(healthy(sys, "two"));
	assert_int_equal(hc_force(sys, "c", HC_FORCE_AUTO), HC_OK);
	assert_true(healthy(sys, "two")); /* a (forced) and c */
	hc_system_free(sys);
}

static void test_force(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 1, \"force\": {\"b\": \"unhealthy\"}}",
		"{\"HealthChecks\": [" TCP("a", ", \"FailureThreshold\": 1") "," TCP("b", "") "]}");
	assert_int_equal(word(sys, "b") & (HC_WORD_UNHEALTHY | HC_WORD_FORCED),
			 HC_WORD_UNHEALTHY | HC_WORD_FORCED);
	log_clear();
	assert_int_equal(hc_force(sys, "a", HC_FORCE_UNHEALTHY), HC_OK);
	assert_int_equal(word(sys, "a"), HC_WORD_UNHEALTHY | HC_WORD_FORCED | 1);
	assert_true(log_has("check a (192.0.2.1:80): healthy -> unhealthy: forced unhealthy by operator"));
	/* probes continue underneath; they do not change a forced word */
	report(sys, "a", 0, false);
	assert_int_equal(word(sys, "a"), HC_WORD_UNHEALTHY | HC_WORD_FORCED | 1);
	assert_int_equal(hc_force(sys, "a", HC_FORCE_AUTO), HC_OK);
	assert_int_equal(word(sys, "a"), HC_WORD_UNHEALTHY | 1); /* the probes say unhealthy */
	assert_int_equal(hc_force(sys, "a", HC_FORCE_HEALTHY), HC_OK);
	assert_int_equal(word(sys, "a"), HC_WORD_FORCED | 2);
	assert_int_equal(hc_force(sys, "zz", HC_FORCE_HEALTHY), HC_ENOENT);
	assert_int_equal(hc_force(sys, "a", (hc_force_mode_t)7), HC_EINVAL);
	hc_system_free(sys);
}

static void retire_hook(void *ctx, hc_table_t *old)
{
	hc_table_t **slot = ctx;
	*slot = old;
}

static void test_slots_and_reload(void **state)
{
	(void)state;
	char err[512];
	hc_system_t *sys = sys_new("{\"checkers\": 2}",
		"{\"HealthChecks\": [" TCP("a", ", \"FailureThreshold\": 1") "," TCP("b", "") "]}");
	uint32_t sa, sb, sc, sa2;
	assert_int_equal(hc_slot_find(sys, "a", &sa), HC_OK);
	assert_int_equal(hc_slot_find(sys, "b", &sb), HC_OK);
	assert_int_not_equal(sa, sb);
	assert_int_equal(hc_slot_find(sys, "c", &sc), HC_ENOENT);
	/* unknown slots read healthy */
	assert_true(hc_is_healthy(hc_table(sys), 100000));
	assert_true(hc_is_healthy(NULL, 0));
	assert_int_equal(hc_word(hc_table(sys), 100000), 0);

	report(sys, "a", 0, false);
	report(sys, "a", 1, false);
	assert_false(healthy(sys, "a"));
	uint32_t wa = word(sys, "a");
	assert_int_equal(hc_force(sys, "b", HC_FORCE_UNHEALTHY), HC_OK);

	/* a failed reload changes nothing */
	assert_int_equal(sys_reload(sys, "{}", "{\"HealthChecks\": [" TCP("a", ", \"Port\": 0") "]}",
				    err, sizeof(err)),
			 HC_EINVAL);
	assert_non_null(strstr(err, "checks.json: HealthChecks[0].HealthCheckConfig.Port: must be 1..65535"));
	assert_int_equal(hc_check_count(sys), 2);
	assert_int_equal(word(sys, "a"), wa);

	/* reload: b removed, c added, a kept with its state (same checker count) */
	assert_int_equal(sys_reload(sys, "{\"checkers\": 2}",
				    "{\"HealthChecks\": [" TCP("c", "") "," TCP("a", ", \"FailureThreshold\": 1") "]}",
				    err, sizeof(err)),
			 HC_OK);
	assert_int_equal(hc_slot_find(sys, "a", &sa2), HC_OK);
	assert_int_equal(sa2, sa);
	assert_int_equal(word(sys, "a"), wa);
	assert_int_equal(hc_slot_find(sys, "b", &sb), HC_ENOENT);
	assert_int_equal(hc_slot_find(sys, "c", &sc), HC_OK);
	assert_true(sc != sa && sc != sb);
	report(sys, "a", 0, true); /* 1 of 2 = 50 %: healthy again */
	assert_true(healthy(sys, "a"));

	/* b comes back: it gets its old slot */
	assert_int_equal(sys_reload(sys, "{\"checkers\": 4}",
				    "{\"HealthChecks\": [" TCP("a", ", \"FailureThreshold\": 1") "," TCP("b", "") "]}",
				    err, sizeof(err)),
			 HC_OK);
	uint32_t sb2;
	assert_int_equal(hc_slot_find(sys, "b", &sb2), HC_OK);
	assert_int_equal(sb2, sb);
	/* checker count changed 2 -> 4: views restart from the aggregate (healthy) */
	assert_int_equal(sys->aggr.agg[hc_conf_find(sys->aggr.conf, "a")].n_healthy, 4);
	assert_true(healthy(sys, "a"));

	/* growth beyond 64 slots publishes a new table; the old one goes to the hook */
	hc_table_t *retired = NULL;
	hc_set_retire(sys, retire_hook, &retired);
	const hc_table_t *before = hc_table(sys);
	assert_int_equal(hc_force(sys, "a", HC_FORCE_UNHEALTHY), HC_OK);
	char *big = malloc((size_t)200 * 120);
	strcpy(big, "{\"HealthChecks\": [" TCP("a", ""));
	for (int i = 0; i < 150; i++)
		sprintf(big + strlen(big), ",{\"Id\": \"n%d\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"}}", i);
	strcat(big, "]}");
	assert_int_equal(sys_reload(sys, "{}", big, err, sizeof(err)), HC_OK);
	free(big);
	/* the snapshot still serving reads the old table, and keeps serving if the rest of
	 * the reload fails: until hc_tables_release the old table gets every word too */
	assert_null(retired);
	assert_int_equal(hc_force(sys, "a", HC_FORCE_HEALTHY), HC_OK);
	assert_true(hc_is_healthy(before, sa));
	assert_int_equal(hc_force(sys, "a", HC_FORCE_UNHEALTHY), HC_OK);
	assert_false(hc_is_healthy(before, sa));
	hc_tables_release(sys);
	assert_ptr_equal(retired, before);
	assert_true(hc_table(sys) != before);
	assert_true(hc_table(sys)->n >= 152);
	assert_int_equal(hc_slot_find(sys, "a", &sa2), HC_OK);
	assert_int_equal(sa2, sa);
	assert_int_equal(word(sys, "a") & (HC_WORD_UNHEALTHY | HC_WORD_FORCED),
			 HC_WORD_UNHEALTHY | HC_WORD_FORCED); /* override kept by Id */
	/* the retired table still holds the values readers saw */
	assert_false(hc_is_healthy(retired, sa));
	hc_table_free(retired);
	hc_system_free(sys);
}

static void test_status_json(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 3}",
		"{\"HealthChecks\": [{\"Id\": \"h\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.9\", \"Port\": 8080, \"Type\": \"HTTP\", \"Regions\": [\"eu-west-1\", \"us-east-1\", \"sa-east-1\"]}},"
		"{\"Id\": \"c\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 1, \"ChildHealthChecks\": [\"h\"]}}]}");
	report(sys, "h", 1, true);
	json_t *j = NULL;
	assert_int_equal(hc_status_json(sys, &j), HC_OK);
	json_t *list = json_object_get(j, "HealthChecks");
	assert_int_equal(json_array_size(list), 2);
	json_t *h = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(h, "Id")), "h");
	assert_string_equal(json_string_value(json_object_get(h, "Status")), "Healthy");
	assert_string_equal(json_string_value(json_object_get(h, "Endpoint")), "192.0.2.9:8080");
	assert_false(json_is_true(json_object_get(h, "Forced")));
	assert_int_equal(json_integer_value(json_object_get(h, "ChangeCounter")), 0);
	assert_int_equal(json_integer_value(json_object_get(h, "Checkers")), 3);
	json_t *obs = json_object_get(h, "HealthCheckObservations");
	assert_int_equal(json_array_size(obs), 1); /* only checker 1 has reported */
	json_t *o = json_array_get(obs, 0);
	assert_string_equal(json_string_value(json_object_get(o, "Region")), "us-east-1");
	assert_string_equal(json_string_value(json_object_get(o, "IPAddress")), "127.0.0.2");
	json_t *sr = json_object_get(o, "StatusReport");
	assert_string_equal(json_string_value(json_object_get(sr, "Status")),
			    "Success: HTTP Status Code 200, OK");
	assert_string_equal(json_string_value(json_object_get(sr, "CheckedTime")),
			    "2024-03-27T17:48:16.751Z");
	assert_int_equal(json_array_size(json_object_get(h, "LastFailures")), 0);
	json_t *c = json_array_get(list, 1);
	assert_int_equal(json_array_size(json_object_get(c, "HealthCheckObservations")), 0);
	assert_int_equal(json_array_size(json_object_get(c, "LastFailures")), 0);
	json_decref(j);

	/* a failure is remembered per checker after later successes */
	report(sys, "h", 2, false);
	report(sys, "h", 2, true);
	assert_int_equal(hc_status_json(sys, &j), HC_OK);
	h = json_array_get(json_object_get(j, "HealthChecks"), 0);
	assert_int_equal(json_array_size(json_object_get(h, "HealthCheckObservations")), 2);
	json_t *lf = json_object_get(h, "LastFailures");
	assert_int_equal(json_array_size(lf), 1);
	o = json_array_get(lf, 0);
	assert_string_equal(json_string_value(json_object_get(o, "Region")), "sa-east-1");
	sr = json_object_get(o, "StatusReport");
	assert_string_equal(json_string_value(json_object_get(sr, "Status")),
			    "Failure: Connection refused");
	json_decref(j);

	struct evbuffer *b = evbuffer_new();
	assert_int_equal(hc_status_write(sys, b), HC_OK);
	assert_true(evbuffer_get_length(b) > 100);
	evbuffer_free(b);
	hc_system_free(sys);
}

static void test_metrics(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 1}", "{\"HealthChecks\": [" TCP("a", ", \"FailureThreshold\": 1") "]}");
	report(sys, "a", 0, false);
	struct evbuffer *b = evbuffer_new();
	assert_int_equal(hc_metrics_write(sys, b), HC_OK);
	size_t n = evbuffer_get_length(b);
	char *text = malloc(n + 1);
	evbuffer_remove(b, text, n);
	text[n] = '\0';
	const char *want[] = {
		"r53d_hc_checks{status=\"healthy\"} 0\n",
		"r53d_hc_checks{status=\"unhealthy\"} 1\n",
		"r53d_hc_transitions_total{to=\"unhealthy\"} 1\n",
		"# TYPE r53d_hc_probes_total counter\n",
		"r53d_hc_probes_total{type=\"https\",result=\"timeout\"} 0\n",
		"r53d_hc_probes_late_total 0\n",
		"# TYPE r53d_hc_probe_duration_seconds histogram\n",
		"r53d_hc_probe_duration_seconds_bucket{le=\"0.1\"} 0\n",
		"r53d_hc_probe_duration_seconds_bucket{le=\"+Inf\"} 0\n",
		"r53d_hc_probe_lateness_seconds_count 0\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(text, want[i]) == NULL)
			fail_msg("metrics lack %s:\n%s", want[i], text);
	free(text);
	evbuffer_free(b);
	hc_system_free(sys);
}

static void test_transition_logged_once(void **state)
{
	(void)state;
	hc_system_t *sys = sys_new("{\"checkers\": 2}", "{\"HealthChecks\": [" TCP("a", ", \"FailureThreshold\": 1") "]}");
	log_clear();
	for (int i = 0; i < 5; i++) {
		report(sys, "a", 0, false);
		report(sys, "a", 1, false);
	}
	assert_int_equal(log_count("healthy -> unhealthy"), 1);
	hc_system_free(sys);
}

static void test_hist(void **state)
{
	(void)state;
	assert_int_equal(hc_hist_bucket(0), 0);
	assert_int_equal(hc_hist_bucket(99), 0);
	assert_int_equal(hc_hist_bucket(100), 1);
	assert_int_equal(hc_hist_bucket(9999), 99);
	assert_int_equal(hc_hist_bucket(10000), 100);
	assert_int_equal(hc_hist_bucket(999999), 1089);
	assert_int_equal(hc_hist_bucket(1000000), 1090);
	assert_int_equal(hc_hist_bucket(9999999), HC_HIST_N - 2);
	assert_int_equal(hc_hist_bucket(100000000), HC_HIST_N - 1);
	for (size_t b = 0; b + 1 < HC_HIST_N; b++) {
		double u = hc_hist_upper(b);
		assert_int_equal(hc_hist_bucket((uint64_t)u - 1), b);
		assert_int_equal(hc_hist_bucket((uint64_t)u), b + 1);
	}
}

int main(void)
{
	hc_set_logger(capture);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_boundary_8),
		cmocka_unit_test(test_failure_threshold),
		cmocka_unit_test(test_inverted_disabled),
		cmocka_unit_test(test_calculated),
		cmocka_unit_test(test_force),
		cmocka_unit_test(test_slots_and_reload),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_transition_logged_once),
		cmocka_unit_test(test_hist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
