/* SPDX-License-Identifier: MIT */
/*
 * test_hc_conf.c -- health check configuration: the list-health-checks shape, defaults,
 * the precomputed request, and every validation error with its JSON path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_int.h"

#define F "list-health-checks.json"

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return j;
}

/** Wrap one HealthCheckConfig body in the list-health-checks shape. */
static json_t *one(const char *config)
{
	char buf[8192];
	snprintf(buf, sizeof(buf),
		 "{\"HealthChecks\": [{\"Id\": \"hc-1\", \"CallerReference\": \"ref-1\", "
		 "\"HealthCheckConfig\": %s, \"HealthCheckVersion\": 1}], \"IsTruncated\": false, "
		 "\"MaxItems\": \"100\"}",
		 config);
	return js(buf);
}

static hc_conf_t *build_ok(const char *settings, json_t *checks)
{
	json_t *s = settings ? js(settings) : NULL;
	hc_conf_t *c = NULL;
	char err[512] = "";
	int rc = hc_conf_build(s, "r53d.json", checks, F, &c, err, sizeof(err));
	if (rc != HC_OK)
		fail_msg("unexpected error %d: %s", rc, err);
	json_decref(s);
	json_decref(checks);
	return c;
}

static void expect_err(const char *settings, json_t *checks, const char *want)
{
	json_t *s = settings ? js(settings) : NULL;
	char err[512] = "";
	int rc = hc_conf_check(s, "r53d.json", checks, F, err, sizeof(err));
	json_decref(s);
	json_decref(checks);
	if (rc != HC_EINVAL)
		fail_msg("expected HC_EINVAL with \"%s\", got %d (%s)", want, rc, err);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_spec_example(void **state)
{
	(void)state;
	hc_conf_t *c = build_ok(NULL, one("{\"IPAddress\": \"192.0.2.44\", \"Port\": 443, "
		"\"Type\": \"HTTPS_STR_MATCH\", \"ResourcePath\": \"/health?deep=1\", "
		"\"FullyQualifiedDomainName\": \"www.example.com\", "
		"\"SearchString\": \"\\\"status\\\":\\\"ok\\\"\", \"RequestInterval\": 10, "
		"\"FailureThreshold\": 3, \"MeasureLatency\": false, \"Inverted\": false, "
		"\"Disabled\": false, \"EnableSNI\": true, "
		"\"Regions\": [\"us-east-1\", \"eu-west-1\", \"ap-southeast-1\"]}"));
	assert_int_equal(c->n_checks, 1);
	hc_check_conf_t *cc = &c->checks[0];
	assert_string_equal(cc->id, "hc-1");
	assert_int_equal(cc->type, HC_T_HTTPS_STR_MATCH);
	assert_int_equal(cc->port, 443);
	assert_int_equal(cc->interval, 10);
	assert_int_equal(cc->failure_threshold, 3);
	assert_true(cc->enable_sni);
	assert_int_equal(cc->n_regions, 3);
	assert_int_equal(cc->k, 6); /* 2 per Region (OC-5) */
	assert_string_equal(cc->search, "\"status\":\"ok\"");
	assert_string_equal(cc->endpoint, "192.0.2.44:443");
	assert_string_equal(cc->request,
		"GET /health?deep=1 HTTP/1.1\r\nHost: www.example.com\r\n"
		"User-Agent: Amazon-Route53-Health-Check-Service (ref hc-1; report http://amzn.to/1vsZADi)\r\n"
		"Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n");
	assert_int_equal(c->threads, 2);
	assert_true(c->threshold > 0.1799 && c->threshold < 0.1801);
	hc_conf_free(c);
}

static void test_defaults(void **state)
{
	(void)state;
	hc_conf_t *c = build_ok(NULL, one("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTP\"}"));
	hc_check_conf_t *cc = &c->checks[0];
	assert_int_equal(cc->port, 80);
	assert_int_equal(cc->interval, 30);
	assert_int_equal(cc->failure_threshold, 3);
	assert_false(cc->enable_sni);
	assert_false(cc->inverted);
	assert_false(cc->disabled);
	assert_int_equal(cc->n_regions, 8);
	assert_int_equal(cc->k, 16);
	assert_string_equal(cc->path, "/");
	assert_non_null(strstr(cc->request, "GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n"));
	assert_null(strstr(cc->request, "Accept-Encoding"));
	hc_conf_free(c);

	c = build_ok(NULL, one("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTPS\"}"));
	assert_int_equal(c->checks[0].port, 443);
	assert_true(c->checks[0].enable_sni);
	hc_conf_free(c);
	c = build_ok(NULL, one("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"}"));
	assert_int_equal(c->checks[0].port, 80);
	assert_null(c->checks[0].request);
	hc_conf_free(c);
	/* checkers fixed by settings */
	c = build_ok("{\"checkers\": 8, \"threads\": 3, \"threshold\": 0.25}",
		     one("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Disabled\": true}"));
	assert_int_equal(c->checks[0].k, 0);
	assert_int_equal(c->checks[0].k_views, 8);
	assert_int_equal(c->threads, 3);
	hc_conf_free(c);
}

static void host_case(const char *config, const char *want)
{
	hc_conf_t *c = build_ok(NULL, one(config));
	if (strstr(c->checks[0].request, want) == NULL)
		fail_msg("request %s lacks %s", c->checks[0].request, want);
	hc_conf_free(c);
}

static void test_host_header(void **state)
{
	(void)state;
	host_case("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTP\", \"FullyQualifiedDomainName\": \"a.example\"}",
		  "Host: a.example\r\n");
	host_case("{\"IPAddress\": \"192.0.2.1\", \"Port\": 8080, \"Type\": \"HTTP\", \"FullyQualifiedDomainName\": \"a.example\"}",
		  "Host: a.example:8080\r\n");
	host_case("{\"IPAddress\": \"192.0.2.1\", \"Port\": 443, \"Type\": \"HTTP\", \"FullyQualifiedDomainName\": \"a.example\"}",
		  "Host: a.example:443\r\n");
	host_case("{\"IPAddress\": \"192.0.2.1\", \"Port\": 443, \"Type\": \"HTTPS\", \"FullyQualifiedDomainName\": \"a.example\"}",
		  "Host: a.example\r\n");
	host_case("{\"IPAddress\": \"192.0.2.1\", \"Port\": 8443, \"Type\": \"HTTPS_STR_MATCH\", \"SearchString\": \"x\"}",
		  "Host: 192.0.2.1:8443\r\n");
	host_case("{\"IPAddress\": \"2001:db8::1\", \"Port\": 8080, \"Type\": \"HTTP\"}",
		  "Host: [2001:db8::1]:8080\r\n");
	host_case("{\"IPAddress\": \"2001:db8::1\", \"Type\": \"HTTP\"}", "Host: [2001:db8::1]\r\n");
	host_case("{\"FullyQualifiedDomainName\": \"b.example.\", \"Type\": \"HTTP\", \"ResourcePath\": \"health\"}",
		  "GET /health HTTP/1.1\r\nHost: b.example.\r\n");
	/* configurable user agent */
	hc_conf_t *c = build_ok("{\"user_agent\": \"probe/{id}/{id}\"}",
				one("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTP\"}"));
	assert_non_null(strstr(c->checks[0].request, "User-Agent: probe/hc-1/hc-1\r\n"));
	hc_conf_free(c);
}

static void test_shapes(void **state)
{
	(void)state;
	hc_conf_t *c = build_ok(NULL, NULL);
	assert_int_equal(c->n_checks, 0);
	hc_conf_free(c);
	c = build_ok(NULL, js("{\"HealthChecks\": []}"));
	assert_int_equal(c->n_checks, 0);
	hc_conf_free(c);
	/* get-health-check output */
	c = build_ok(NULL, js("{\"HealthCheck\": {\"Id\": \"x\", \"HealthCheckConfig\": "
			      "{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Port\": 22}}}"));
	assert_int_equal(c->n_checks, 1);
	assert_int_equal(c->checks[0].port, 22);
	hc_conf_free(c);
	/* every accepted RequestInterval, and the drill extension */
	for (int i = 1; i <= 10; i++) {
		char buf[200];
		snprintf(buf, sizeof(buf),
			 "{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"RequestInterval\": %d}", i);
		c = build_ok(NULL, one(buf));
		assert_int_equal(c->checks[0].interval, i);
		hc_conf_free(c);
	}
	/* out-of-scope types load, not probed */
	c = build_ok(NULL, one("{\"Type\": \"CLOUDWATCH_METRIC\", \"AlarmIdentifier\": {\"Region\": \"us-east-1\", \"Name\": \"a\"}, \"InsufficientDataHealthStatus\": \"Unhealthy\"}"));
	assert_int_equal(c->checks[0].k, 0);
	assert_true(c->checks[0].passive_unhealthy);
	hc_conf_free(c);
	c = build_ok(NULL, one("{\"Type\": \"RECOVERY_CONTROL\", \"RoutingControlArn\": \"arn:aws:x\"}"));
	assert_int_equal(c->checks[0].type, HC_T_RECOVERY_CONTROL);
	hc_conf_free(c);
	/* calculated with children, force and sources */
	c = build_ok("{\"force\": {\"c\": \"unhealthy\", \"a\": \"auto\"}, \"sources\": [\"127.0.0.2\", \"::1\"], \"resolver\": \"127.0.0.1:5353\"}",
		     js("{\"HealthChecks\": ["
			"{\"Id\": \"a\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"}},"
			"{\"Id\": \"b\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.2\", \"Type\": \"TCP\"}},"
			"{\"Id\": \"c\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 1, \"ChildHealthChecks\": [\"b\", \"a\"]}}]}"));
	assert_int_equal(c->checks[2].n_children, 2);
	assert_int_equal(c->checks[2].children[0], 1);
	assert_int_equal(c->checks[2].children[1], 0);
	assert_int_equal(c->n_force, 2);
	assert_int_equal(c->n_sources, 2);
	assert_string_equal(c->resolver, "127.0.0.1:5353");
	assert_int_equal(hc_conf_find(c, "b"), 1);
	assert_int_equal(hc_conf_find(c, "zz"), -1);
	hc_conf_free(c);
	/* HealthThreshold is optional in the API: absent, every child must be healthy */
	c = build_ok(NULL, js("{\"HealthChecks\": ["
			      "{\"Id\": \"a\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"}},"
			      "{\"Id\": \"b\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.2\", \"Type\": \"TCP\"}},"
			      "{\"Id\": \"c\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"ChildHealthChecks\": [\"a\", \"b\"]}}]}"));
	assert_int_equal(c->checks[2].health_threshold, 2);
	hc_conf_free(c);
}

static void test_check_errors(void **state)
{
	(void)state;
	const char *P = F ": HealthChecks[0].HealthCheckConfig";
	char w[256];
#define E(cfg, tail)                                   \
	do {                                            \
		snprintf(w, sizeof(w), "%s%s", P, tail); \
		expect_err(NULL, one(cfg), w);           \
	} while (0)
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Port\": 0}", ".Port: must be 1..65535");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Port\": 70000}", ".Port: must be 1..65535");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Port\": \"80\"}", ".Port: must be 1..65535");
	E("{\"IPAddress\": \"192.0.2.1\"}", ".Type: required");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"PING\"}", ".Type: \"PING\": must be HTTP");
	E("{\"IPAddress\": \"999.0.2.1\", \"Type\": \"TCP\"}", ".IPAddress: must be an IPv4 or IPv6 address");
	E("{\"Type\": \"HTTP\"}", ": IPAddress or FullyQualifiedDomainName is required");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"RequestInterval\": 20}",
	  ".RequestInterval: must be 10 or 30 (or 1..9, an r53d drill extension");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"RequestInterval\": 0}", ".RequestInterval: must be 10 or 30");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"RequestInterval\": 31}", ".RequestInterval: must be 10 or 30");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"FailureThreshold\": 11}", ".FailureThreshold: must be an integer 1..10");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"FailureThreshold\": 0}", ".FailureThreshold: must be an integer 1..10");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTP_STR_MATCH\"}", ".SearchString: required for Type HTTP_STR_MATCH");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTP\", \"SearchString\": \"x\"}", ".SearchString: not allowed for Type HTTP");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"ResourcePath\": \"/\"}", ".ResourcePath: not allowed for Type TCP");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTP\", \"ResourcePath\": \"/a b\"}", ".ResourcePath: must not contain spaces");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Inverted\": \"yes\"}", ".Inverted: must be true or false");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"EnableSNI\": 1}", ".EnableSNI: must be true or false");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Regions\": [\"us-east-1\", \"us-west-1\"]}", ".Regions: must list 3 or more Regions");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Regions\": [\"us-east-1\", \"us-west-1\", \"mars-1\"]}", ".Regions[2]: must be one of");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Regions\": [\"us-east-1\", \"us-west-1\", \"us-east-1\"]}", ".Regions[2]: \"us-east-1\" listed twice");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"Prot\": 80}", ".Prot: unknown member of HealthCheckConfig");
	E("{\"Type\": \"CALCULATED\", \"IPAddress\": \"192.0.2.1\", \"HealthThreshold\": 1}", ".IPAddress: not allowed for Type CALCULATED");
	E("{\"Type\": \"CALCULATED\", \"Port\": 80, \"HealthThreshold\": 1}", ".Port: not allowed for Type CALCULATED");
	E("{\"Type\": \"CALCULATED\", \"HealthThreshold\": 257}", ".HealthThreshold: an integer 0..256");
	E("{\"Type\": \"CALCULATED\", \"HealthThreshold\": \"1\"}", ".HealthThreshold: an integer 0..256");
	E("{\"Type\": \"CALCULATED\", \"HealthThreshold\": 1, \"ChildHealthChecks\": [\"nope\"]}",
	  ".ChildHealthChecks[0]: \"nope\": no health check with this Id");
	E("{\"Type\": \"CALCULATED\", \"HealthThreshold\": 1, \"ChildHealthChecks\": [\"hc-1\"]}",
	  ".ChildHealthChecks[0]: \"hc-1\" is a CALCULATED check");
	E("{\"Type\": \"CALCULATED\", \"HealthThreshold\": 1, \"ChildHealthChecks\": \"x\"}",
	  ".ChildHealthChecks: must be an array");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"HealthThreshold\": 1}", ".HealthThreshold: not allowed for Type TCP");
	E("{\"Type\": \"CLOUDWATCH_METRIC\"}", ".AlarmIdentifier: required for CLOUDWATCH_METRIC");
	E("{\"Type\": \"CLOUDWATCH_METRIC\", \"AlarmIdentifier\": {\"Region\": \"us-east-1\", \"Name\": \"a\"}, \"InsufficientDataHealthStatus\": \"Maybe\"}",
	  ".InsufficientDataHealthStatus: must be Healthy, Unhealthy or LastKnownStatus");
	E("{\"Type\": \"RECOVERY_CONTROL\"}", ".RoutingControlArn: required for RECOVERY_CONTROL");
	E("{\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\", \"FullyQualifiedDomainName\": \"bad name\"}",
	  ".FullyQualifiedDomainName: must be a domain name");
	/* long strings */
	char big[1200], pad[300];
	memset(pad, 'a', 256);
	pad[256] = '\0';
	snprintf(big, sizeof(big), "{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTP_STR_MATCH\", \"SearchString\": \"%s\"}", pad);
	E(big, ".SearchString: required for Type HTTP_STR_MATCH, a string of 1..255 characters");
	snprintf(big, sizeof(big), "{\"IPAddress\": \"192.0.2.1\", \"Type\": \"HTTP\", \"ResourcePath\": \"/%s\"}", pad);
	E(big, ".ResourcePath: must be a string of at most 255 characters");
	/* strict addresses (spec HC-12) */
	expect_err("{\"strict_addresses\": true}", one("{\"IPAddress\": \"10.1.2.3\", \"Type\": \"TCP\"}"),
		   F ": HealthChecks[0].HealthCheckConfig.IPAddress: 10.1.2.3 is in a local, private");
	expect_err("{\"strict_addresses\": true}", one("{\"IPAddress\": \"fd00::1\", \"Type\": \"TCP\"}"),
		   ".IPAddress: fd00::1 is in a local");
	hc_conf_t *c = build_ok("{\"strict_addresses\": true}", one("{\"IPAddress\": \"8.8.8.8\", \"Type\": \"TCP\"}"));
	hc_conf_free(c);
#undef E
}

static void test_list_errors(void **state)
{
	(void)state;
	expect_err(NULL, js("[]"), F ": must be an object");
	expect_err(NULL, js("{\"Checks\": []}"), F ": HealthChecks: required");
	expect_err(NULL, js("{\"HealthChecks\": {}}"), F ": HealthChecks: must be an array");
	expect_err(NULL, js("{\"HealthChecks\": [7]}"), F ": HealthChecks[0]: must be an object");
	expect_err(NULL, js("{\"HealthChecks\": [{\"HealthCheckConfig\": {}}]}"), F ": HealthChecks[0].Id: required");
	expect_err(NULL, js("{\"HealthChecks\": [{\"Id\": \"a b\", \"HealthCheckConfig\": {}}]}"),
		   F ": HealthChecks[0].Id: \"a b\": invalid character");
	expect_err(NULL, js("{\"HealthChecks\": [{\"Id\": \"a\"}]}"),
		   F ": HealthChecks[0].HealthCheckConfig: required, an object");
	expect_err(NULL, js("{\"HealthChecks\": [{\"Id\": \"a\", \"HealthCheckVersion\": 0, \"HealthCheckConfig\": {}}]}"),
		   F ": HealthChecks[0].HealthCheckVersion: must be an integer >= 1");
	expect_err(NULL, js("{\"HealthChecks\": ["
			    "{\"Id\": \"a\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"}},"
			    "{\"Id\": \"a\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.2\", \"Type\": \"TCP\"}}]}"),
		   F ": HealthChecks[1].Id: \"a\" duplicates HealthChecks[0].Id");
	expect_err(NULL, js("{\"HealthChecks\": ["
			    "{\"Id\": \"a\", \"CallerReference\": \"r\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"}},"
			    "{\"Id\": \"b\", \"CallerReference\": \"r\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.2\", \"Type\": \"TCP\"}}]}"),
		   F ": HealthChecks[1].CallerReference: \"r\" duplicates HealthChecks[0].CallerReference");
	expect_err(NULL, js("{\"HealthChecks\": ["
			    "{\"Id\": \"a\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"}},"
			    "{\"Id\": \"c\", \"HealthCheckConfig\": {\"Type\": \"CALCULATED\", \"HealthThreshold\": 1, \"ChildHealthChecks\": [\"a\", \"a\"]}}]}"),
		   F ": HealthChecks[1].HealthCheckConfig.ChildHealthChecks[1]: \"a\" listed twice");
}

static void test_settings_errors(void **state)
{
	(void)state;
	json_t *ok = js("{\"HealthChecks\": [{\"Id\": \"a\", \"HealthCheckConfig\": {\"IPAddress\": \"192.0.2.1\", \"Type\": \"TCP\"}}]}");
#define S(settings, want) expect_err(settings, json_incref(ok), "r53d.json: " want)
	S("[]", "health: must be an object");
	S("{\"threads\": 0}", "health.threads: must be an integer 1..64");
	S("{\"threads\": 65}", "health.threads: must be an integer 1..64");
	S("{\"checkers\": 0}", "health.checkers: must be an integer 1..256");
	S("{\"checkers_per_region\": 40}", "health.checkers_per_region: must be an integer 1..32");
	S("{\"threshold\": 1.0}", "health.threshold: must be a number, 0 <= threshold < 1");
	S("{\"threshold\": \"0.18\"}", "health.threshold: must be a number");
	S("{\"sources\": [\"127.0.0.2\", \"x\"]}", "health.sources[1]: must be an IPv4 or IPv6 address");
	S("{\"sources\": \"127.0.0.2\"}", "health.sources: must be an array");
	S("{\"resolver\": \"nope\"}", "health.resolver: must be \"ip\"");
	S("{\"force\": {\"zz\": \"healthy\"}}", "health.force.zz: no health check with this Id");
	S("{\"force\": {\"a\": \"down\"}}", "health.force.a: must be \"healthy\", \"unhealthy\" or \"auto\"");
	S("{\"force\": [\"a\"]}", "health.force: must be an object");
	S("{\"user_agent\": \"a\\nb\"}", "health.user_agent: must be a one-line string");
	S("{\"strict_addresses\": 1}", "health.strict_addresses: must be true or false");
	S("{\"thread\": 2}", "health.thread: unknown key");
#undef S
	json_decref(ok);
}

static void test_force_parse(void **state)
{
	(void)state;
	hc_force_mode_t m;
	assert_int_equal(hc_force_parse("healthy", &m), HC_OK);
	assert_int_equal(m, HC_FORCE_HEALTHY);
	assert_int_equal(hc_force_parse("unhealthy\r\n", &m), HC_OK);
	assert_int_equal(m, HC_FORCE_UNHEALTHY);
	assert_int_equal(hc_force_parse("auto", &m), HC_OK);
	assert_int_equal(m, HC_FORCE_AUTO);
	assert_int_equal(hc_force_parse("Healthy", &m), HC_EINVAL);
	assert_int_equal(hc_force_parse("", &m), HC_EINVAL);
	assert_int_equal(hc_force_parse(NULL, &m), HC_EINVAL);
}

int main(void)
{
	hc_set_logger(NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_host_header),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_check_errors),
		cmocka_unit_test(test_list_errors),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_force_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
