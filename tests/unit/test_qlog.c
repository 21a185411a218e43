/* SPDX-License-Identifier: MIT */
/*
 * test_qlog.c -- the query log: the three line formats byte for byte (Route 53's against
 * the example lines of its documentation), the rings (full ring drops and counts, records
 * that wrap, several workers appending while the logger drains: also run under TSan),
 * reopening for logrotate without losing a line, a clean drain at the end, and the
 * configuration keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "conf.h"
#include "err.h"
#include "qlog.h"

static char dir[] = "/tmp/r53d-test-qlog-XXXXXX";

static const char *path_of(const char *name)
{
	static char path[2][512];
	static int k;
	k ^= 1;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* "www.example.com." -> wire form in out; returns its length. */
static uint8_t wire(const char *name, uint8_t *out)
{
	size_t n = 0;
	const char *p = name;
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t l = (size_t)(dot - p);
		out[n++] = (uint8_t)l;
		memcpy(out + n, p, l);
		n += l;
		p = dot + 1;
	}
	out[n++] = 0;
	return (uint8_t)n;
}

static struct sockaddr_storage client_ss;

static const struct sockaddr *client(const char *a)
{
	memset(&client_ss, 0, sizeof(client_ss));
	if (strchr(a, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&client_ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&client_ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, a, &s4->sin_addr), 1);
	}
	return (const struct sockaddr *)&client_ss;
}

static uint8_t qn[256], ecs[16];

/* An entry for name/type from client a, with ECS "addr/prefix" or NULL. */
static qlog_entry_t entry(const char *name, uint16_t type, uint8_t rcode, const char *a,
			  const char *subnet, bool tcp)
{
	qlog_entry_t e = { .client = client(a), .qtype = type, .rcode = rcode, .tcp = tcp,
			   .zone_id = "/hostedzone/Z123412341234" };
	e.qnamelen = wire(name, qn);
	e.qname = qn;
	if (subnet != NULL) {
		char addr[64];
		snprintf(addr, sizeof(addr), "%s", subnet);
		char *slash = strchr(addr, '/');
		*slash = '\0';
		memset(ecs, 0, sizeof(ecs));
		bool v6 = strchr(addr, ':') != NULL;
		assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, addr, ecs), 1);
		e.ecs_addr = ecs;
		e.ecs_family = v6 ? 2 : 1;
		e.ecs_prefix = (uint8_t)atoi(slash + 1);
	}
	return e;
}

static void expect_line(const qlog_entry_t *e, int format, const char *sid, uint64_t ts,
			const char *want)
{
	char buf[QLOG_LINE_MAX];
	size_t n = qlog_format_entry(e, format, sid, ts, buf);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

#define T(sec, ms) ((uint64_t)(sec) * 1000000000u + (uint64_t)(ms) * 1000000u + 123456u)

/* The five example lines of "Values that appear in DNS query logs" (Route 53 Developer
 * Guide, Public DNS query logging), made from the same values. */
static void test_route53_format(void **state)
{
	(void)state;
	qlog_entry_t e = entry("example.com.", 1, 0, "192.168.1.1", NULL, false);
	expect_line(&e, QLOG_ROUTE53, "FRA6", T(1513152962, 130),
		    "1.0 2017-12-13T08:16:02.130Z Z123412341234 example.com A NOERROR UDP FRA6 "
		    "192.168.1.1 -\n");
	e = entry("example.com.", 28, 0, "192.168.3.1", "192.168.222.0/24", true);
	expect_line(&e, QLOG_ROUTE53, "IAD12", T(1513152950, 235),
		    "1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com AAAA NOERROR TCP IAD12 "
		    "192.168.3.1 192.168.222.0/24\n");
	e = entry("example.com.", 255, 0, "2001:db8::1234", "2001:db8:abcd::/48", false);
	expect_line(&e, QLOG_ROUTE53, "FRA6", T(1513152963, 983),
		    "1.0 2017-12-13T08:16:03.983Z Z123412341234 example.com ANY NOERROR UDP FRA6 "
		    "2001:db8::1234 2001:db8:abcd::/48\n");
	e = entry("bad.example.com.", 1, 3, "192.168.3.1", "192.168.111.0/24", false);
	expect_line(&e, QLOG_ROUTE53, "IAD12", T(1513152950, 342),
		    "1.0 2017-12-13T08:15:50.342Z Z123412341234 bad.example.com A NXDOMAIN UDP IAD12 "
		    "192.168.3.1 192.168.111.0/24\n");
	e = entry("txt.example.com.", 16, 0, "192.168.1.2", NULL, false);
	expect_line(&e, QLOG_ROUTE53, "JFK5", T(1513152965, 744),
		    "1.0 2017-12-13T08:16:05.744Z Z123412341234 txt.example.com TXT NOERROR UDP JFK5 "
		    "192.168.1.2 -\n");

	/* outside every zone (no Id), the root, an unassigned type, BADVERS, no question */
	e = entry(".", 65280, 5, "127.0.0.1", NULL, false);
	e.zone_id = NULL;
	expect_line(&e, QLOG_ROUTE53, "r53d", T(0, 7),
		    "1.0 1970-01-01T00:00:00.007Z - . TYPE65280 REFUSED UDP r53d 127.0.0.1 -\n");
	e = entry("a b.example.com.", 1, 16, "127.0.0.1", NULL, false);
	expect_line(&e, QLOG_ROUTE53, "r53d", T(1, 0),
		    "1.0 1970-01-01T00:00:01.000Z Z123412341234 a\\032b.example.com A BADVERS UDP "
		    "r53d 127.0.0.1 -\n");
	e.qname = NULL;
	e.qtype = 0;
	e.rcode = 1;
	e.zone_id = NULL;
	e.client = NULL;
	expect_line(&e, QLOG_ROUTE53, "r53d", T(1, 0),
		    "1.0 1970-01-01T00:00:01.000Z - - - FORMERR UDP r53d - -\n");
}

/* Today's text line, unchanged: no time, numeric type and rcode, policy and set. */
static void test_text_format(void **state)
{
	(void)state;
	qlog_entry_t e = entry("geo.policy.test.", 1, 0, "127.0.0.1", "198.51.100.0/24", false);
	e.policy = 5; /* geolocation */
	e.set_id = "eu";
	expect_line(&e, QLOG_TEXT, "ignored", T(1, 0),
		    "query client=127.0.0.1 ecs=198.51.100.0/24 name=geo.policy.test. type=1 rcode=0 "
		    "policy=geolocation set=eu\n");
	e = entry("nothere.www.policy.test.", 1, 3, "::1", NULL, true);
	expect_line(&e, QLOG_TEXT, NULL, 0,
		    "query client=::1 ecs=- name=nothere.www.policy.test. type=1 rcode=3 "
		    "policy=plain set=-\n");
	e.qname = NULL;
	e.client = NULL;
	expect_line(&e, QLOG_TEXT, NULL, 0,
		    "query client=- ecs=- name=- type=0 rcode=3 policy=plain set=-\n");
}

static void test_json_format(void **state)
{
	(void)state;
	qlog_entry_t e = entry("w.policy.test.", 1, 0, "192.0.2.7", "2001:db8:7::/48", true);
	e.policy = 2;
	e.set_id = "say \"hi\"\\";
	expect_line(&e, QLOG_JSON, "LHR5", T(1513152962, 130),
		    "{\"version\":\"1.0\",\"query_timestamp\":\"2017-12-13T08:16:02.130Z\","
		    "\"hosted_zone_id\":\"Z123412341234\",\"query_name\":\"w.policy.test\","
		    "\"query_type\":\"A\",\"response_code\":\"NOERROR\",\"protocol\":\"TCP\","
		    "\"edge_location\":\"LHR5\",\"resolver_ip\":\"192.0.2.7\","
		    "\"edns_client_subnet\":\"2001:db8:7::/48\",\"policy\":\"weighted\","
		    "\"set_identifier\":\"say \\\"hi\\\"\\\\\"}\n");
	e = entry("a\\b.test.", 16, 3, "::1", NULL, false);
	e.zone_id = NULL;
	expect_line(&e, QLOG_JSON, "x", T(0, 0),
		    "{\"version\":\"1.0\",\"query_timestamp\":\"1970-01-01T00:00:00.000Z\","
		    "\"hosted_zone_id\":null,\"query_name\":\"a\\\\092b.test\","
		    "\"query_type\":\"TXT\",\"response_code\":\"NXDOMAIN\",\"protocol\":\"UDP\","
		    "\"edge_location\":\"x\",\"resolver_ip\":\"::1\","
		    "\"edns_client_subnet\":null,\"policy\":\"plain\",\"set_identifier\":null}\n");

	int f = -1;
	assert_int_equal(qlog_format_parse("route53", &f), ERR_OK);
	assert_int_equal(f, QLOG_ROUTE53);
	assert_int_equal(qlog_format_parse("json", &f), ERR_OK);
	assert_int_equal(f, QLOG_JSON);
	assert_int_equal(qlog_format_parse("text", &f), ERR_OK);
	assert_int_equal(f, QLOG_TEXT);
	assert_int_equal(qlog_format_parse("Route53", &f), ERR_INVAL);
}

/* Lines of a file. */
static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = 0;
	int c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int open_log(const char *name)
{
	int fd = open(path_of(name), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	assert_true(fd > 2);
	return fd;
}

/* A full ring drops and counts, never blocks; what was queued is written at the end. */
static void test_full_ring_drops(void **state)
{
	(void)state;
	qlog_t *l = NULL;
	qlog_opts_t o = { .rings = 1, .ring_bytes = 4096, .fd = open_log("full.log"),
			  .format = QLOG_TEXT };
	assert_int_equal(qlog_new(&o, &l), ERR_OK);
	qlog_ring_t *r = qlog_ring(l, 0);
	assert_non_null(r);
	assert_null(qlog_ring(l, 1));
	qlog_entry_t e = entry("www.example.com.", 1, 0, "127.0.0.1", NULL, false);
	size_t ok = 0;
	for (int i = 0; i < 1000; i++) /* no logger runs: the ring fills */
		ok += qlog_put(r, &e);
	qlog_stats_t st;
	qlog_stats(l, &st);
	/* a record of this entry is 96 bytes: 4096 / 96 = 42 fit */
	assert_int_equal(ok, 42);
	assert_int_equal(st.queued, 42);
	assert_int_equal(st.dropped, 1000 - 42);
	assert_int_equal(st.written, 0);
	qlog_free(l); /* never started: drains in the caller */
	assert_int_equal(count_lines(path_of("full.log")), 42);
}

/* One worker per thread, names of every length (so records wrap at every offset), the
 * logger draining meanwhile; every line arrives once, whole, in each worker's order. */
#define PRODUCERS 3
#define PER_PRODUCER 60000

typedef struct producer {
	qlog_ring_t *ring;     /* its ring */
	unsigned id;           /* its number */
	size_t queued;         /* records it queued */
} producer_t;

static void *produce(void *arg)
{
	producer_t *p = arg;
	uint8_t name[256];
	char text[300];
	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		/* "p<id>-<seq>" plus 0..60 'x' labels' worth of padding */
		int pad = (int)(i % 61);
		snprintf(text, sizeof(text), "p%u-%u.%.*s%sexample.", p->id, i, pad,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			 pad ? "." : "");
		struct sockaddr_in sa = { .sin_family = AF_INET };
		sa.sin_addr.s_addr = htonl(0x7f000001);
		qlog_entry_t e = { .client = (struct sockaddr *)&sa, .qtype = 1,
				   .zone_id = "Z1", .set_id = (i & 1) ? "odd" : NULL };
		e.qnamelen = wire(text, name);
		e.qname = name;
		if (qlog_put(p->ring, &e))
			p->queued++;
		else
			i--; /* ring full: a busy worker would drop; here we try again */
		if (i % 1024 == 0) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void check_order(const char *path, size_t want_total)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	long next[PRODUCERS] = { 0 };
	char line[2048];
	size_t n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned id = 0, seq = 0;
		const char *p = strstr(line, " name=p");
		if (p == NULL || sscanf(p, " name=p%u-%u.", &id, &seq) != 2 || id >= PRODUCERS) {
			fail_msg("bad line: %s", line);
			break;
		}
		if ((long)seq != next[id])
			fail_msg("producer %u: line %u after %ld", id, seq, next[id] - 1);
		next[id]++;
		assert_non_null(strstr(line, "example. type=1 rcode=0 policy=plain set="));
		assert_int_equal(line[strlen(line) - 1], '\n');
		n++;
	}
	fclose(f);
	assert_int_equal(n, want_total);
}

static void test_rings_under_load(void **state)
{
	(void)state;
	qlog_t *l = NULL;
	qlog_opts_t o = { .rings = PRODUCERS, .ring_bytes = 8192, .fd = open_log("load.log"),
			  .format = QLOG_TEXT, .server_id = "t" };
	assert_int_equal(qlog_new(&o, &l), ERR_OK);
	assert_int_equal(qlog_start(l), ERR_OK);
	producer_t p[PRODUCERS];
	pthread_t t[PRODUCERS];
	for (unsigned i = 0; i < PRODUCERS; i++) {
		p[i] = (producer_t){ .ring = qlog_ring(l, i), .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	qlog_stats_t st;
	qlog_stats(l, &st);
	assert_int_equal(st.queued, (uint64_t)PRODUCERS * PER_PRODUCER);
	printf("rings under load: %" PRIu64 " full-ring drops retried\n", st.dropped);
	qlog_free(l); /* drains what is left */
	check_order(path_of("load.log"), (size_t)PRODUCERS * PER_PRODUCER);
}

/* Rename the file, reopen: the lines before are in the old file, those after in the new
 * one, none lost; a new format applies to lines not yet written. */
static void test_reopen(void **state)
{
	(void)state;
	qlog_t *l = NULL;
	qlog_opts_t o = { .rings = 1, .ring_bytes = 1 << 16, .fd = open_log("q.log"),
			  .format = QLOG_TEXT };
	assert_int_equal(qlog_new(&o, &l), ERR_OK);
	assert_int_equal(qlog_start(l), ERR_OK);
	qlog_ring_t *r = qlog_ring(l, 0);
	qlog_entry_t e = entry("www.example.com.", 1, 0, "127.0.0.1", NULL, false);
	for (int i = 0; i < 100; i++)
		assert_true(qlog_put(r, &e));
	/* wait (bounded) for the logger to write them */
	qlog_stats_t st = { 0 };
	for (int i = 0; i < 2000 && st.written < 100; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		qlog_stats(l, &st);
	}
	assert_int_equal(st.written, 100);
	char old[512];
	snprintf(old, sizeof(old), "%s", path_of("q.log.1"));
	assert_int_equal(rename(path_of("q.log"), old), 0);
	qlog_reopen(l, open_log("q.log"));
	assert_int_equal(qlog_set_format(l, QLOG_ROUTE53, "EDGE1"), ERR_OK);
	for (int i = 0; i < 2000 && st.reopens < 1; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		qlog_stats(l, &st);
	}
	assert_int_equal(st.reopens, 1);
	for (int i = 0; i < 50; i++)
		assert_true(qlog_put(r, &e));
	qlog_free(l);
	assert_int_equal(count_lines(old), 100);
	assert_int_equal(count_lines(path_of("q.log")), 50);
	FILE *f = fopen(path_of("q.log"), "r");
	char line[512];
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, " Z123412341234 www.example.com A NOERROR UDP EDGE1 "
				     "127.0.0.1 -\n"));
	assert_true(strncmp(line, "1.0 20", 6) == 0);
}

/* A failing write (a read-only descriptor) loses its lines and counts them. */
static void test_write_error_counted(void **state)
{
	(void)state;
	int fd = open(path_of("ro.log"), O_RDONLY | O_CREAT | O_CLOEXEC, 0640);
	assert_true(fd > 2);
	qlog_t *l = NULL;
	qlog_opts_t o = { .rings = 2, .ring_bytes = 4096, .fd = fd, .format = QLOG_JSON };
	assert_int_equal(qlog_new(&o, &l), ERR_OK);
	qlog_entry_t e = entry("www.example.com.", 1, 0, "127.0.0.1", NULL, false);
	assert_true(qlog_put(qlog_ring(l, 1), &e));
	assert_true(qlog_put(qlog_ring(l, 0), &e));
	assert_int_equal(qlog_start(l), ERR_OK);
	qlog_stats_t st = { 0 };
	for (int i = 0; i < 2000 && st.lost < 2; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		qlog_stats(l, &st);
	}
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.written, 0);
	assert_true(st.write_errors >= 1);
	qlog_free(l);
}

static conf_t *load_conf(const char *extra, char *err, size_t errlen, int *ret)
{
	FILE *f = fopen(path_of("ex.zone"), "w");
	assert_non_null(f);
	fputs("$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 7200 900 1209600 86400\n"
	      "  NS ns1\nns1 A 192.0.2.1\n", f);
	fclose(f);
	f = fopen(path_of("r53d.json"), "w");
	assert_non_null(f);
	fprintf(f, "{\"listen\": [\"127.0.0.1:5353\"], %s \"hosted_zones\": [{\"HostedZone\": "
		   "{\"Id\": \"Z1\", \"Name\": \"example.com.\"}, \"zone_file\": \"ex.zone\"}]}",
		extra);
	fclose(f);
	conf_t *c = NULL;
	err[0] = '\0';
	*ret = conf_load(path_of("r53d.json"), &c, err, errlen);
	return c;
}

static void test_conf_keys(void **state)
{
	(void)state;
	char err[512];
	int ret;
	conf_t *c = load_conf("\"query_log\": \"q.log\", \"query_log_format\": \"route53\", "
			      "\"server_id\": \"FRA6\",", err, sizeof(err), &ret);
	assert_int_equal(ret, ERR_OK);
	assert_int_equal(c->query_log_format, QLOG_ROUTE53);
	assert_string_equal(c->server_id, "FRA6");
	assert_string_equal(c->query_log, path_of("q.log"));
	conf_free(c);

	c = load_conf("", err, sizeof(err), &ret); /* defaults: text, the host name */
	assert_int_equal(ret, ERR_OK);
	assert_int_equal(c->query_log_format, QLOG_TEXT);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(c->server_id, host[0] && !strchr(host, ' ') ? host : "r53d");
	conf_free(c);

	static const char *const bad[][2] = {
		{ "\"query_log_format\": \"csv\",", "query_log_format" },
		{ "\"query_log_format\": 1,", "query_log_format" },
		{ "\"server_id\": \"two words\",", "server_id" },
		{ "\"server_id\": \"\",", "server_id" },
		{ "\"server_id\": 5,", "server_id" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load_conf(bad[i][0], err, sizeof(err), &ret);
		assert_int_not_equal(ret, ERR_OK);
		assert_null(c);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("error '%s' does not name %s", err, bad[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route53_format),
		cmocka_unit_test(test_text_format),
		cmocka_unit_test(test_json_format),
		cmocka_unit_test(test_full_ring_drops),
		cmocka_unit_test(test_rings_under_load),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_write_error_counted),
		cmocka_unit_test(test_conf_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
