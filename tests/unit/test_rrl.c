/* SPDX-License-Identifier: MIT */
/*
 * test_rrl.c -- response rate limiting: the rrl key, accounts, credit, slip, window.
 *
 * Responses are built by hand (header, question, answer and authority records, with and
 * without compression) and pushed through rrl_apply with an injected clock, so every
 * count below is exact: credit per second, the burst, the slip ratio, the share of each
 * worker, which responses share an account and which do not, exempt networks, the table's
 * replacement rule and configuration changes.
 *
 * The fast path (rrl.c net_fast): a network whose responses stay within the rate is not
 * looked up per account. A quiet network's first response (here: rates below 16 per
 * worker, so one response; in general a sixteenth of a second's worth) goes out on the
 * fast path before the network turns hot: the counts below include it as "+ 1".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rrl.h"
#include "snap.h"

/* ---- responses ---------------------------------------------------------------------- */

static size_t put_name(uint8_t *p, const char *name)
{
	size_t n = 0;
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t l = (size_t)(dot - name);
		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name = dot + 1;
	}
	p[n++] = 0;
	return n;
}

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* An RR with owner (a wire name or a 2-byte pointer), type, 4 bytes of rdata. */
static size_t put_rr(uint8_t *p, const uint8_t *owner, size_t olen, unsigned type)
{
	size_t n = 0;
	memcpy(p, owner, olen);
	n += olen;
	n += put16(p + n, type);
	n += put16(p + n, 1);
	memset(p + n, 0, 4); /* TTL */
	n += 4;
	n += put16(p + n, 4);
	static const uint8_t rdata[4] = { 192, 0, 2, 1 };
	memcpy(p + n, rdata, sizeof(rdata));
	return n + 4;
}

/*
 * A response: qname/qtype, rcode, AA, an answers (owner: pointer to the question), and
 * optionally one authority record whose owner is auth (a name) or, when auth_ptr is
 * non-zero, a compression pointer to that offset.
 */
static size_t resp(uint8_t *b, const char *qname, unsigned qtype, unsigned rcode, bool aa,
		   unsigned an, const char *auth, unsigned auth_ptr, unsigned auth_type)
{
	size_t n = 0;
	n += put16(b, 0x1234);
	b[n++] = (uint8_t)(0x80 | (aa ? 0x04 : 0));
	b[n++] = (uint8_t)rcode;
	n += put16(b + n, 1);
	n += put16(b + n, an);
	n += put16(b + n, (auth != NULL || auth_ptr != 0) ? 1 : 0);
	n += put16(b + n, 0);
	n += put_name(b + n, qname);
	n += put16(b + n, qtype);
	n += put16(b + n, 1);
	static const uint8_t q[2] = { 0xc0, 0x0c };
	for (unsigned i = 0; i < an; i++)
		n += put_rr(b + n, q, 2, qtype);
	if (auth_ptr != 0) {
		uint8_t ptr[2] = { (uint8_t)(0xc0 | auth_ptr >> 8), (uint8_t)auth_ptr };
		n += put_rr(b + n, ptr, 2, auth_type);
	} else if (auth != NULL) {
		uint8_t w[256];
		size_t wl = put_name(w, auth);
		n += put_rr(b + n, w, wl, auth_type);
	}
	return n;
}

static size_t positive(uint8_t *b, const char *qname, unsigned qtype)
{
	return resp(b, qname, qtype, 0, true, 1, NULL, 0, 0);
}

static struct sockaddr_storage v4(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	s->sin_port = htons(40000);
	inet_pton(AF_INET, a, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(40000);
	inet_pton(AF_INET6, a, &s->sin6_addr);
	return ss;
}

/* ---- fixture -------------------------------------------------------------------------- */

typedef struct fx {
	rrl_t *r;
	rrl_conf_t c;
} fx_t;

static fx_t *fx_new(unsigned workers, const char *json)
{
	fx_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(rrl_new(workers, &f->r), ERR_OK);
	rrl_conf_default(&f->c);
	json_t *j = json_loads(json, 0, NULL);
	assert_non_null(j);
	char path[64], why[256];
	assert_int_equal(rrl_conf_parse(j, &f->c, path, sizeof(path), why, sizeof(why)), ERR_OK);
	json_decref(j);
	snap_defer_t *old = NULL;
	assert_int_equal(rrl_configure(f->r, &f->c, &old), ERR_OK);
	assert_null(old);
	return f;
}

static void fx_free(fx_t *f)
{
	rrl_free(f->r);
	rrl_conf_clear(&f->c);
	free(f);
}

/* Apply one response; the length sent (0: dropped). */
static size_t apply(fx_t *f, unsigned worker, const struct sockaddr_storage *src, uint8_t *b,
		    size_t len, uint32_t now)
{
	rrl_set_t *s = rrl_enter(f->r);
	assert_non_null(s);
	return rrl_apply(s, f->r, worker, (const struct sockaddr *)src, b, len, now);
}

/* How many of n copies of a response are sent in full at time now. */
static unsigned burst(fx_t *f, unsigned worker, const char *src, const uint8_t *tmpl,
		      size_t len, unsigned n, uint32_t now)
{
	struct sockaddr_storage a = strchr(src, ':') ? v6(src) : v4(src);
	unsigned full = 0;
	uint8_t b[512];
	for (unsigned i = 0; i < n; i++) {
		memcpy(b, tmpl, len);
		if (apply(f, worker, &a, b, len, now) == len)
			full++;
	}
	return full;
}

static rrl_stats_t stats(const fx_t *f)
{
	rrl_stats_t t;
	memset(&t, 0, sizeof(t));
	rrl_stats_sum(f->r, &t);
	return t;
}

/* ---- configuration -------------------------------------------------------------------- */

static void check_bad(const char *json, const char *want_path, const char *want_why)
{
	rrl_conf_t c;
	rrl_conf_default(&c);
	json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	char path[64] = "", why[256] = "";
	assert_int_equal(rrl_conf_parse(j, &c, path, sizeof(path), why, sizeof(why)), ERR_INVAL);
	json_decref(j);
	assert_string_equal(path, want_path);
	if (strstr(why, want_why) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", json, why, want_why);
	assert_null(c.exempt);
	rrl_conf_clear(&c);
}

static void test_conf(void **state)
{
	(void)state;
	rrl_conf_t c;
	rrl_conf_default(&c);
	char path[64], why[256];
	assert_int_equal(rrl_conf_parse(NULL, &c, path, sizeof(path), why, sizeof(why)), ERR_OK);
	assert_int_equal(c.responses_per_second, 0);
	assert_int_equal(c.slip, 2);
	assert_int_equal(c.ipv4_prefix, 24);
	assert_int_equal(c.ipv6_prefix, 56);
	assert_int_equal(c.window, 15);
	assert_int_equal(c.n_exempt, 0);

	json_t *j = json_loads("{\"responses_per_second\": 5, \"slip\": 0, \"ipv4_prefix\": 32, "
			       "\"ipv6_prefix\": 64, \"window\": 60, \"exempt\": [\"192.0.2.0/24\", "
			       "\"2001:db8::1\"]}", 0, NULL);
	assert_int_equal(rrl_conf_parse(j, &c, path, sizeof(path), why, sizeof(why)), ERR_OK);
	json_decref(j);
	assert_int_equal(c.responses_per_second, 5);
	assert_int_equal(c.slip, 0);
	assert_int_equal(c.ipv4_prefix, 32);
	assert_int_equal(c.ipv6_prefix, 64);
	assert_int_equal(c.window, 60);
	assert_int_equal(c.n_exempt, 2);
	assert_int_equal(c.exempt[0].af, AF_INET);
	assert_int_equal(c.exempt[0].prefix, 24);
	assert_int_equal(c.exempt[1].af, AF_INET6);
	assert_int_equal(c.exempt[1].prefix, 128);

	rrl_conf_t d;
	rrl_conf_default(&d);
	assert_false(rrl_conf_equal(&c, &d));
	d.responses_per_second = 5;
	assert_false(rrl_conf_equal(&c, &d));
	rrl_conf_default(&d);
	c.responses_per_second = 0;
	assert_true(rrl_conf_equal(&c, &d)); /* off is off */
	rrl_conf_clear(&c);
	assert_null(c.exempt);

	check_bad("[]", "rrl", "must be an object");
	check_bad("{\"rate\": 1}", "rrl.rate", "unknown key");
	check_bad("{\"responses_per_second\": -1}", "rrl.responses_per_second", "0..1000000");
	check_bad("{\"responses_per_second\": 1000001}", "rrl.responses_per_second", "0..1000000");
	check_bad("{\"responses_per_second\": 1.5}", "rrl.responses_per_second", "integer");
	check_bad("{\"slip\": 11}", "rrl.slip", "0..10");
	check_bad("{\"ipv4_prefix\": 33}", "rrl.ipv4_prefix", "0..32");
	check_bad("{\"ipv6_prefix\": 129}", "rrl.ipv6_prefix", "0..128");
	check_bad("{\"window\": 0}", "rrl.window", "1..3600");
	check_bad("{\"window\": 3601}", "rrl.window", "1..3600");
	check_bad("{\"exempt\": {}}", "rrl.exempt", "must be an array");
	check_bad("{\"exempt\": [\"192.0.2.0/24\", \"192.0.2.1/24\"]}", "rrl.exempt[1]", "192.0.2.1/24");
	check_bad("{\"exempt\": [\"x\"]}", "rrl.exempt[0]", "not an address");
	check_bad("{\"exempt\": [\"10.0.0.0/33\"]}", "rrl.exempt[0]", "prefix");
	check_bad("{\"exempt\": [1]}", "rrl.exempt[0]", "must be a CIDR string");
}

/* ---- credit ----------------------------------------------------------------------------- */

static void test_credit_and_refill(void **state)
{
	(void)state;
	fx_t *f = fx_new(1, "{\"responses_per_second\": 10, \"slip\": 0}");
	uint8_t t[512];
	size_t n = positive(t, "www.example.com.", 1);
	uint32_t t0 = 5000;
	/* a new account holds one second of credit (+ 1: the quiet network's fast path) */
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 50, t0), 10 + 1);
	/* 100 ms earns one response, 350 ms three (and a half kept) */
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 50, t0 + 100), 1);
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 50, t0 + 450), 3);
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 50, t0 + 500), 1);
	/* a long pause never earns more than one second's worth */
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 50, t0 + 9000), 10);
	/* steady: 50 a second for 10 seconds, asked every 20 ms: exactly 10 a second */
	unsigned full = 0;
	for (uint32_t ms = 0; ms < 10000; ms += 20)
		full += burst(f, 0, "192.0.2.1", t, n, 1, t0 + 9000 + 1000 + ms);
	/* the second of credit after the pause, then 10/s: 10 + 499 x 20 ms x 10/s = 109.8 */
	assert_int_equal(full, 109);
	rrl_stats_t s = stats(f);
	assert_int_equal(s.checked, 50 * 5 + 500);
	assert_int_equal(s.accounted, s.checked - 1);
	assert_int_equal(s.limited[RRL_POSITIVE], s.checked - (11 + 1 + 3 + 1 + 10 + full));
	assert_int_equal(s.dropped, s.limited[RRL_POSITIVE]);
	assert_int_equal(s.slipped, 0);
	fx_free(f);
}

static void test_workers_share_the_rate(void **state)
{
	(void)state;
	/* three workers: each account earns 1/3 of the rate; together exactly the rate */
	fx_t *f = fx_new(3, "{\"responses_per_second\": 30, \"slip\": 0}");
	uint8_t t[512];
	size_t n = positive(t, "www.example.com.", 1);
	unsigned total = 0;
	for (unsigned w = 0; w < 3; w++)
		total += burst(f, w, "192.0.2.1", t, n, 100, 1000);
	assert_int_equal(total, 30 + 3); /* + each worker's fast path */
	total = 0;
	for (uint32_t ms = 1; ms <= 5000; ms++)
		for (unsigned w = 0; w < 3; w++)
			total += burst(f, w, "192.0.2.1", t, n, 1, 1000 + ms);
	assert_int_equal(total, 150);
	fx_free(f);

	/* a rate below the worker count still lets each worker send (one per 3 s here) */
	f = fx_new(3, "{\"responses_per_second\": 1, \"slip\": 0}");
	total = 0;
	for (uint32_t ms = 0; ms < 30000; ms += 10)
		for (unsigned w = 0; w < 3; w++)
			total += burst(f, w, "192.0.2.1", t, n, 1, 1000 + ms);
	assert_in_range(total, 30, 36); /* 1/s, plus the first response of each worker's
					  account and of its fast path */
	fx_free(f);
}

/* The fast path: a network within the rate is never looked up per account; once over, it
 * stays hot for the window, so pulses cannot win the fast path's share again and again. */
static void test_fast_path(void **state)
{
	(void)state;
	uint8_t t[512];
	size_t n = positive(t, "www.example.com.", 1);
	/* 1600/s: the fast path holds 100 responses (a sixteenth) */
	fx_t *f = fx_new(1, "{\"responses_per_second\": 1600, \"slip\": 0, \"window\": 2}");
	/* 800/s for 5 s, in 10 ms steps: within the rate, all on the fast path */
	unsigned full = 0;
	for (uint32_t ms = 0; ms < 5000; ms += 10)
		full += burst(f, 0, "192.0.2.1", t, n, 8, 1000 + ms);
	assert_int_equal(full, 4000);
	rrl_stats_t s = stats(f);
	assert_int_equal(s.checked, 4000);
	assert_int_equal(s.accounted, 0);
	/* 4000 at one instant: 100 on the fast path, then the account's 1600, then limited */
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 4000, 7000), 100 + 1600);
	s = stats(f);
	assert_int_equal(s.accounted, 4000 - 100);
	/* hot: back under the rate for 1 s, every response still charged to its account */
	for (uint32_t ms = 10; ms <= 1000; ms += 10)
		full += burst(f, 0, "192.0.2.1", t, n, 8, 7000 + ms);
	s = stats(f);
	assert_int_equal(s.accounted, 4000 - 100 + 800);
	/* the window (2 s) after it last ran out: quiet again, the fast path resumes */
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 8, 7000 + 2001), 8);
	assert_int_equal(stats(f).accounted, s.accounted);
	fx_free(f);
}

/* ---- slip --------------------------------------------------------------------------------- */

static void test_slip(void **state)
{
	(void)state;
	uint8_t t[512], b[512];
	size_t n = resp(t, "www.example.com.", 1, 0, true, 3, "example.com.", 0, 2);
	size_t qend = 12 + 17 + 4;
	struct sockaddr_storage a = v4("198.51.100.7");
	for (unsigned slip = 0; slip <= 3; slip++) {
		char js[96];
		snprintf(js, sizeof(js), "{\"responses_per_second\": 2, \"slip\": %u}", slip);
		fx_t *f = fx_new(1, js);
		unsigned full = 0, tc = 0, dropped = 0;
		for (unsigned i = 0; i < 63; i++) {
			memcpy(b, t, n);
			size_t out = apply(f, 0, &a, b, n, 100);
			if (out == n) {
				full++;
				assert_memory_equal(b, t, n);
			} else if (out == 0) {
				dropped++;
			} else {
				tc++;
				/* header and question only, TC set, the rest as it was */
				assert_int_equal(out, qend);
				assert_int_equal(b[2], t[2] | 0x02);
				assert_int_equal(b[3], t[3]);
				assert_memory_equal(b + 4, "\0\1\0\0\0\0\0\0", 8);
				assert_memory_equal(b + 12, t + 12, qend - 12);
			}
		}
		assert_int_equal(full, 2 + 1);
		assert_int_equal(tc, slip == 0 ? 0 : 60 / slip);
		assert_int_equal(dropped, 60 - tc);
		rrl_stats_t s = stats(f);
		assert_int_equal(s.slipped, tc);
		assert_int_equal(s.dropped, dropped);
		fx_free(f);
	}
}

/* ---- accounts ----------------------------------------------------------------------------- */

/* Whether response b2 (from src2) is charged to the account b1 (from src1) emptied. */
static bool same_account(const char *src1, const uint8_t *b1, size_t l1, const char *src2,
			 const uint8_t *b2, size_t l2)
{
	fx_t *f = fx_new(1, "{\"responses_per_second\": 3, \"slip\": 0, \"ipv6_prefix\": 56}");
	assert_int_equal(burst(f, 0, src1, b1, l1, 5, 100), 3 + 1); /* src1's network now hot */
	bool same = burst(f, 0, src2, b2, l2, 1, 100) == 0;
	fx_free(f);
	return same;
}

static void test_accounts(void **state)
{
	(void)state;
	uint8_t a[512], b[512];
	size_t la, lb;

	/* positive: by name (any case) and type */
	la = positive(a, "www.example.com.", 1);
	lb = positive(b, "WwW.ExAmPlE.CoM.", 1);
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	lb = positive(b, "www.example.com.", 28);
	assert_false(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	lb = positive(b, "ftp.example.com.", 1);
	assert_false(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	/* a long name (more than eight bytes at a time, any case) */
	la = positive(a, "a-rather-long-label.and-another-one.example.com.", 1);
	lb = positive(b, "A-RATHER-LONG-LABEL.AND-ANOTHER-ONE.EXAMPLE.COM.", 1);
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	lb = positive(b, "a-rather-long-label.and-another-one.example.net.", 1);
	assert_false(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));

	/* networks: /24 for IPv4, /56 for IPv6 */
	la = positive(a, "www.example.com.", 1);
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.254", a, la));
	assert_false(same_account("192.0.2.1", a, la, "192.0.3.1", a, la));
	assert_true(same_account("2001:db8:0:ff::1", a, la, "2001:db8:0:1::2", a, la));
	assert_false(same_account("2001:db8:0:100::1", a, la, "2001:db8:0:1::2", a, la));
	assert_false(same_account("192.0.2.1", a, la, "::ffff:192.0.2.1", a, la));

	/* NXDOMAIN: by zone (the SOA's owner), whatever the name; compressed or not */
	la = resp(a, "x1.example.com.", 1, 3, true, 0, "example.com.", 0, 6);
	lb = resp(b, "other.example.com.", 28, 3, true, 0, NULL, 12 + 6, 6); /* -> example.com */
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	lb = resp(b, "x1.example.net.", 1, 3, true, 0, "example.net.", 0, 6);
	assert_false(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	/* ... and not with a positive answer of the same name */
	lb = positive(b, "x1.example.com.", 1);
	assert_false(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	/* NXDOMAIN after a CNAME: the answer is skipped to find the SOA */
	lb = resp(b, "alias.example.com.", 1, 3, true, 1, "example.com.", 0, 6);
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));

	/* NODATA: by zone; not the same kind as NXDOMAIN */
	la = resp(a, "www.example.com.", 28, 0, true, 0, "example.com.", 0, 6);
	lb = resp(b, "mail.example.com.", 16, 0, true, 0, "example.com.", 0, 6);
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	lb = resp(b, "mail.example.com.", 16, 3, true, 0, "example.com.", 0, 6);
	assert_false(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));

	/* referral: by delegation (the NS owner, AA clear) */
	la = resp(a, "a.sub.example.com.", 1, 0, false, 0, "sub.example.com.", 0, 2);
	lb = resp(b, "b.c.sub.example.com.", 28, 0, false, 0, "sub.example.com.", 0, 2);
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	lb = resp(b, "a.other.example.com.", 1, 0, false, 0, "other.example.com.", 0, 2);
	assert_false(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));

	/* errors: one account per network, whatever the name or the rcode */
	la = resp(a, "www.example.org.", 1, 5, false, 0, NULL, 0, 0);
	lb = resp(b, "anything.test.", 16, 2, false, 0, NULL, 0, 0);
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	b[4] = b[5] = 0; /* FORMERR without a question */
	lb = 12;
	assert_true(same_account("192.0.2.1", a, la, "192.0.2.1", b, lb));
	assert_false(same_account("192.0.2.1", a, la, "203.0.113.1", b, lb));
}

static void test_prefixes(void **state)
{
	(void)state;
	uint8_t t[512];
	size_t n = positive(t, "www.example.com.", 1);
	fx_t *f = fx_new(1, "{\"responses_per_second\": 2, \"slip\": 0, \"ipv4_prefix\": 32, "
			    "\"ipv6_prefix\": 128}");
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 5, 100), 2 + 1);
	assert_int_equal(burst(f, 0, "192.0.2.2", t, n, 5, 100), 2 + 1);
	assert_int_equal(burst(f, 0, "2001:db8::1", t, n, 5, 100), 2 + 1);
	assert_int_equal(burst(f, 0, "2001:db8::2", t, n, 5, 100), 2 + 1);
	fx_free(f);
	f = fx_new(1, "{\"responses_per_second\": 2, \"slip\": 0, \"ipv4_prefix\": 0, "
		      "\"ipv6_prefix\": 0}");
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 5, 100), 2 + 1);
	assert_int_equal(burst(f, 0, "198.51.100.1", t, n, 5, 100), 0);
	assert_int_equal(burst(f, 0, "2001:db8::1", t, n, 5, 100), 2 + 1);
	assert_int_equal(burst(f, 0, "fe80::1", t, n, 5, 100), 0);
	fx_free(f);
}

static void test_exempt(void **state)
{
	(void)state;
	uint8_t t[512];
	size_t n = positive(t, "www.example.com.", 1);
	fx_t *f = fx_new(1, "{\"responses_per_second\": 1, \"exempt\": [\"198.51.100.0/25\", "
			    "\"2001:db8:1::/48\"]}");
	assert_int_equal(burst(f, 0, "198.51.100.5", t, n, 100, 100), 100);
	assert_int_equal(burst(f, 0, "2001:db8:1:2::5", t, n, 100, 100), 100);
	assert_int_equal(burst(f, 0, "198.51.100.200", t, n, 100, 100), 1 + 1);
	rrl_stats_t s = stats(f);
	assert_int_equal(s.exempt, 200);
	assert_int_equal(s.checked, 100);
	fx_free(f);
}

/* ---- the table ------------------------------------------------------------------------------ */

static void test_window_and_replacement(void **state)
{
	(void)state;
	uint8_t t[512], b[512];
	size_t n = positive(t, "victim.example.com.", 1);
	fx_t *f = fx_new(1, "{\"responses_per_second\": 1, \"slip\": 0, \"window\": 5, "
			    "\"ipv4_prefix\": 32}");
	/* limit the victim's account */
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 3, 1000), 1 + 1);
	/* four times the table in other accounts, none of them limited */
	char name[64];
	for (unsigned i = 0; i < 4 * RRL_TABLE_ENTRIES; i++) {
		snprintf(name, sizeof(name), "n%u.example.com.", i);
		size_t l = positive(b, name, 1);
		assert_int_equal(burst(f, 0, "192.0.2.2", b, l, 1, 1000), 1);
	}
	rrl_stats_t s = stats(f);
	assert_true(s.replaced >= 3 * (uint64_t)RRL_TABLE_ENTRIES - 1); /* one: fast path */
	/* the limited account was kept: still no credit at the same instant */
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 1, 1000), 0);
	/* after the window the network is quiet again and the account forgotten: the fast
	 * path's response, then the account's full credit, but never more */
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 3, 1000 + 5001), 1 + 1);
	fx_free(f);
}

/* ---- configuration changes ------------------------------------------------------------------ */

static void test_configure(void **state)
{
	(void)state;
	uint8_t t[512];
	size_t n = positive(t, "www.example.com.", 1);
	fx_t *f = fx_new(2, "{\"responses_per_second\": 4, \"slip\": 0}");
	assert_true(rrl_on(f->r));
	assert_int_equal(rrl_rate(f->r), 4);
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 5, 100), 2 + 1);

	/* the same settings: nothing retired, the accounts kept */
	rrl_conf_t c;
	rrl_conf_default(&c);
	c.responses_per_second = 4;
	c.slip = 0;
	snap_defer_t *old = NULL;
	assert_int_equal(rrl_configure(f->r, &c, &old), ERR_OK);
	assert_null(old);
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 5, 100), 0);

	/* new settings: a new set, the old one handed back to free after a grace period */
	c.responses_per_second = 8;
	assert_int_equal(rrl_configure(f->r, &c, &old), ERR_OK);
	assert_non_null(old);
	snap_defer_run(old);
	assert_int_equal(rrl_rate(f->r), 8);
	assert_int_equal(burst(f, 0, "192.0.2.1", t, n, 10, 100), 4 + 1);

	/* off: no set for the workers */
	c.responses_per_second = 0;
	assert_int_equal(rrl_configure(f->r, &c, &old), ERR_OK);
	assert_non_null(old);
	snap_defer_run(old);
	assert_false(rrl_on(f->r));
	assert_null(rrl_enter(f->r));
	assert_null(rrl_enter(NULL));
	fx_free(f);
}

/* Malformed responses are charged (as errors) without reading out of bounds. */
static void test_malformed(void **state)
{
	(void)state;
	fx_t *f = fx_new(1, "{\"responses_per_second\": 1000, \"slip\": 1}");
	struct sockaddr_storage a = v4("192.0.2.9");
	uint8_t t[512], b[512];
	size_t n = resp(t, "x.example.com.", 1, 3, true, 1, "example.com.", 0, 6);
	for (size_t cut = 0; cut <= n; cut++) {
		memcpy(b, t, n);
		size_t out = apply(f, 0, &a, b, cut, 100);
		assert_true(out == cut);
	}
	fx_free(f);
	/* limited with slip 1: no header, nothing to send; a cut question, the header alone */
	f = fx_new(1, "{\"responses_per_second\": 1, \"slip\": 1}");
	for (unsigned i = 0; i < 3; i++) { /* fast path, the account's credit, limited */
		memcpy(b, t, n);
		assert_int_equal(apply(f, 0, &a, b, 5, 100), i < 2 ? 5 : 0);
	}
	memcpy(b, t, n);
	assert_int_equal(apply(f, 0, &a, b, 20, 100), 12); /* same error account, TC */
	assert_int_equal(b[2] & 0x02, 0x02);
	assert_memory_equal(b + 4, "\0\0\0\0\0\0\0\0", 8);
	/* a compression loop in the authority owner */
	n = resp(t, "x.example.com.", 1, 3, true, 0, NULL, 12 + 15 + 4, 6);
	memcpy(b, t, n);
	assert_int_equal(apply(f, 0, &a, b, n, 100), n);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_credit_and_refill),
		cmocka_unit_test(test_workers_share_the_rate),
		cmocka_unit_test(test_fast_path),
		cmocka_unit_test(test_slip),
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_exempt),
		cmocka_unit_test(test_window_and_replacement),
		cmocka_unit_test(test_configure),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
