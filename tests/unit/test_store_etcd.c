/* SPDX-License-Identifier: MIT */
/*
 * test_store_etcd.c -- the etcd store (store_etcd.c) against real etcd 3.4 members that the
 * test starts on free loopback ports through tests/integration/etcd_cluster.py ("serve"
 * mode: the harness stops them by PID when the test ends or dies, since its stdin closes).
 *
 * Group 1, one member: the store contract of test_store.c (get, ordered prefix ranges with
 * paging, long keys, values with NULs, atomic commits, revisions), guarded commits and
 * ERR_CONFLICT, leases, the asynchronous feed (every txn of any writer as one revision, in
 * order), a feed started below the compaction point reporting lost(), the txn size limit,
 * and store.etcd in the configuration. Each test works under its own key prefix.
 * Group 2, three members: kill the member the store talks to (calls and the feed go on
 * through another within 5 s, no revision lost or repeated), compaction while the feed's
 * member is paused (lost() reported, resync), quorum loss (ERR_IO within the time limit,
 * then recovery). Group 3, no etcd: refused and silent endpoints fail within the limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "err.h"
#include "log.h"
#include "store.h"

/* ------------------------------------------------------------------------------------- */
/* The cluster, through the harness process */

typedef struct cluster {
	pid_t pid;     /* the harness */
	FILE *to;      /* its stdin */
	FILE *from;    /* its stdout */
	size_t n;      /* members */
	char *eps[3];  /* client URLs */
	pid_t pids[3]; /* member PIDs */
} cluster_t;

static cluster_t g_cl;
static int g_seq; /* makes each test's prefix unique */

static json_t *read_json_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	json_t *j = NULL;
	if (getline(&line, &cap, f) > 0)
		j = json_loads(line, 0, NULL);
	free(line);
	return j;
}

static int cluster_start(cluster_t *c, size_t members)
{
	int in[2], out[2];
	char nb[8];

	memset(c, 0, sizeof(*c));
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	snprintf(nb, sizeof(nb), "%zu", members);
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execlp("python3", "python3", R53D_ETCD_HARNESS, "serve", "--members", nb,
		       "--progress", "1s", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to = fdopen(in[1], "w");
	c->from = fdopen(out[0], "r");
	json_t *info = read_json_line(c->from);
	json_t *eps = json_object_get(info, "endpoints");
	if (json_array_size(eps) != members) {
		char *d = info != NULL ? json_dumps(info, 0) : NULL;
		fprintf(stderr, "etcd harness: %s\n", d != NULL ? d : "no answer");
		free(d);
		json_decref(info);
		return -1;
	}
	c->n = members;
	for (size_t i = 0; i < members; i++) {
		c->eps[i] = strdup(json_string_value(json_array_get(eps, i)));
		c->pids[i] = (pid_t)json_integer_value(
			json_array_get(json_object_get(info, "pids"), i));
	}
	json_decref(info);
	return 0;
}

/* Send one command; the answer's JSON (caller decrefs). */
static json_t *cluster_cmd(cluster_t *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static json_t *cluster_cmd(cluster_t *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(c->to, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
	fputc('\n', c->to);
	fflush(c->to);
	json_t *j = read_json_line(c->from);
	if (j == NULL || json_object_get(j, "error") != NULL) {
		char *d = j != NULL ? json_dumps(j, 0) : NULL;
		fail_msg("etcd harness: %s", d != NULL ? d : "no answer");
	}
	return j;
}

static int cluster_int(cluster_t *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cluster_int(cluster_t *c, const char *field, const char *fmt, ...)
{
	char cmd[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
	json_t *j = cluster_cmd(c, "%s", cmd);
	int v = (int)json_integer_value(json_object_get(j, field));
	json_decref(j);
	return v;
}

static void cluster_stop(cluster_t *c)
{
	if (c->pid <= 0)
		return;
	fputs("quit\n", c->to);
	fclose(c->to);
	fclose(c->from);
	int status;
	for (int i = 0; i < 300; i++) { /* the harness kills and reaps every member */
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = 0;
			break;
		}
		usleep(100000);
	}
	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		waitpid(c->pid, &status, 0);
	}
	for (size_t i = 0; i < c->n; i++)
		free(c->eps[i]);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------------------------- */
/* Helpers */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* An etcd store on the cluster's members (from index first, wrapping) under prefix. */
static store_t *open_on(cluster_t *c, size_t first, const char *prefix, unsigned call_ms)
{
	const char *eps[3];
	for (size_t i = 0; i < c->n; i++)
		eps[i] = c->eps[(first + i) % c->n];
	store_etcd_params_t p = { .endpoints = eps, .n_endpoints = c->n, .prefix = prefix,
				  .attempt_ms = 1000, .call_ms = call_ms, .watch_idle_ms = 3000,
				  .page_keys = 3 };
	store_t *s = NULL;
	char err[256] = "";
	if (store_open_etcd(&p, &s, err, sizeof(err)) != ERR_OK)
		fail_msg("%s", err);
	return s;
}

/* A fresh prefix for one test. */
static void new_prefix(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/t/%s-%d-%d/", name, (int)getpid(), ++g_seq);
}

static void put1(store_t *s, const char *key, const char *val)
{
	store_op_t op = { .key = key, .val = val, .vlen = strlen(val) };
	assert_int_equal(store_commit(s, &op, 1, NULL), ERR_OK);
}

static void expect_val(store_t *s, const char *key, const char *want, size_t wlen)
{
	char *v = NULL;
	size_t vl = 99;
	assert_int_equal(store_get(s, key, &v, &vl), ERR_OK);
	assert_int_equal(vl, wlen);
	assert_memory_equal(v, want, wlen);
	assert_int_equal(v[vl], '\0');
	free(v);
}

static void expect_missing(store_t *s, const char *key)
{
	char *v = (char *)"junk";
	size_t vl = 99;
	assert_int_equal(store_get(s, key, &v, &vl), ERR_NOTFOUND);
	assert_null(v);
	assert_int_equal(vl, 0);
}

/* A range, collected as "key=value;" text. */
typedef struct coll {
	char buf[8192];
	size_t n;
	size_t stop_after;
} coll_t;

static int coll_fn(void *ctx, const char *key, const char *val, size_t vlen)
{
	coll_t *c = ctx;
	size_t o = strlen(c->buf);
	assert_int_equal(val[vlen], '\0');
	snprintf(c->buf + o, sizeof(c->buf) - o, "%s=%s;", key, val);
	c->n++;
	return c->stop_after != 0 && c->n == c->stop_after ? 7 : 0;
}

static void expect_range(store_t *s, const char *prefix, const char *want)
{
	coll_t c = { .buf = "" };
	uint64_t rev = 0;
	assert_int_equal(store_range(s, prefix, coll_fn, &c, &rev), ERR_OK);
	assert_true(rev > 0);
	assert_int_equal(rev, store_revision(s));
	assert_string_equal(c.buf, want);
}

/* The feed, recorded: one "rev:key=val,key=-," string per revision. */
typedef struct flog {
	size_t n;
	uint64_t revs[64];
	char text[64][512];
	size_t lost;
	uint64_t compact_rev;
	size_t progress;
	uint64_t progress_rev;
	store_t *s;          /* when set, the feed calls store_get on it (re-entrance) */
} flog_t;

static void flog_rev(void *ctx, uint64_t rev, const store_op_t *ops, size_t n)
{
	flog_t *l = ctx;
	assert_true(l->n < 64);
	if (l->n > 0)
		assert_true(rev > l->revs[l->n - 1]);
	l->revs[l->n] = rev;
	char *t = l->text[l->n];
	t[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t o = strlen(t);
		snprintf(t + o, 512 - o, "%s=%.*s,", ops[i].key, ops[i].val ? (int)ops[i].vlen : 1,
			 ops[i].val ? ops[i].val : "-");
	}
	l->n++;
	if (l->s != NULL) {
		char *v = NULL;
		size_t vl;
		int r = store_get(l->s, ops[0].key, &v, &vl);
		assert_true(r == ERR_OK || r == ERR_NOTFOUND);
		free(v);
	}
}

static void flog_lost(void *ctx, uint64_t compact_rev)
{
	flog_t *l = ctx;
	l->lost++;
	l->compact_rev = compact_rev;
}

static void flog_progress(void *ctx, uint64_t rev)
{
	flog_t *l = ctx;
	l->progress++;
	l->progress_rev = rev;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run base until *cond becomes true or ms pass; the result of *cond. */
static bool run_until(struct event_base *base, const size_t *counter, size_t want, unsigned ms)
{
	struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
	struct timeval tv = { 0, 50000 };
	double end = now_ms() + ms;
	event_add(t, &tv);
	while (*counter < want && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return *counter >= want;
}

static void run_for(struct event_base *base, unsigned ms)
{
	size_t never = 0;
	run_until(base, &never, 1, ms);
}

static store_feed_cbs_t cbs_of(flog_t *l)
{
	return (store_feed_cbs_t){ .rev = flog_rev, .lost = flog_lost, .progress = flog_progress,
				   .ctx = l };
}

/* ------------------------------------------------------------------------------------- */
/* Group 1: one member */

static int g1_setup(void **state)
{
	(void)state;
	return cluster_start(&g_cl, 1);
}

static int g_teardown(void **state)
{
	(void)state;
	cluster_stop(&g_cl);
	return 0;
}

static void test_basic(void **state)
{
	char pfx[96];
	uint64_t r1, r2, rev = 0;
	(void)state;
	new_prefix(pfx, sizeof(pfx), "basic");
	store_t *s = open_on(&g_cl, 0, pfx, 5000);

	assert_memory_equal(store_describe(s), "etcd http://127.0.0.1:", 22);
	assert_non_null(strstr(store_describe(s), pfx));
	assert_true(store_is_shared(s));
	assert_int_equal(store_revision(s), 0); /* nothing asked yet */
	expect_missing(s, "/a");
	expect_missing(s, "");
	expect_missing(s, "a"); /* not a '/' key: never stored */
	r1 = store_revision(s);
	assert_true(r1 >= 1);

	put1(s, "/a", "one");
	r2 = store_revision(s);
	assert_true(r2 > r1);
	expect_val(s, "/a", "one", 3);
	put1(s, "/a", "two!");
	assert_true(store_revision(s) > r2);
	r2 = store_revision(s);
	expect_val(s, "/a", "two!", 4);
	store_op_t del = { "/a", NULL, 0 };
	assert_int_equal(store_commit(s, &del, 1, &rev), ERR_OK);
	assert_true(rev > r2);
	expect_missing(s, "/a");
	/* deleting a missing key is fine; etcd makes no revision of it */
	r2 = store_revision(s);
	store_op_t none = { "/never", NULL, 0 };
	assert_int_equal(store_commit(s, &none, 1, &rev), ERR_OK);
	assert_int_equal(rev, r2);

	/* a later op for the same key wins, in both directions (etcd forbids duplicates in
	 * one txn: the store keeps the last op of each key) */
	store_op_t dup[] = {
		{ "/d", "first", 5 }, { "/e", "x", 1 }, { "/d", "second", 6 },
		{ "/e", NULL, 0 },    { "/f", NULL, 0 }, { "/f", "f", 1 },
	};
	assert_int_equal(store_commit(s, dup, 6, &rev), ERR_OK);
	assert_true(rev > r2);
	expect_val(s, "/d", "second", 6);
	expect_missing(s, "/e");
	expect_val(s, "/f", "f", 1);

	/* invalid commits change nothing: empty, NULL, and keys without a leading '/' */
	r2 = store_revision(s);
	store_op_t bad[] = { { "/g", "g", 1 }, { "", "x", 1 } };
	assert_int_equal(store_commit(s, bad, 0, &rev), ERR_INVAL);
	assert_int_equal(store_commit(s, bad, 2, &rev), ERR_INVAL);
	bad[1].key = "g2";
	assert_int_equal(store_commit(s, bad, 2, &rev), ERR_INVAL);
	bad[1].key = NULL;
	assert_int_equal(store_commit(s, bad, 2, &rev), ERR_INVAL);
	expect_missing(s, "/g");
	assert_int_equal(store_revision(s), r2);

	/* a second store (another node) sees the same data */
	store_t *s2 = open_on(&g_cl, 0, pfx, 5000);
	expect_val(s2, "/d", "second", 6);
	store_close(s2);
	store_close(s);
}

static void test_range(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "range");
	store_t *s = open_on(&g_cl, 0, pfx, 5000); /* pages of 3 keys */
	static const char *keys[] = {
		"/zones/Z1", "/zones/Z10", "/zones/Z1/rrsets/www.example.com./A", "/zones/Z2",
		"/zones", "/zones-", "/a", "/", "/~", "/zones/Z1/rrsets/a.example.com./AAAA",
		"/zones/Z100", "/zones/Z1/meta", "/ space",
	};
	enum { N = sizeof(keys) / sizeof(keys[0]) };
	store_op_t ops[N];
	char vals[N][64];

	expect_range(s, "", "");
	for (size_t i = 0; i < N; i++) {
		snprintf(vals[i], sizeof(vals[i]), "v%zu", i);
		ops[i] = (store_op_t){ keys[i], vals[i], strlen(vals[i]) };
	}
	assert_int_equal(store_commit(s, ops, N, NULL), ERR_OK);
	expect_range(s, "", "/=v7;/ space=v12;/a=v6;/zones=v4;/zones-=v5;/zones/Z1=v0;"
			    "/zones/Z1/meta=v11;/zones/Z1/rrsets/a.example.com./AAAA=v9;"
			    "/zones/Z1/rrsets/www.example.com./A=v2;/zones/Z10=v1;/zones/Z100=v10;"
			    "/zones/Z2=v3;/~=v8;");
	expect_range(s, "/zones/Z1", "/zones/Z1=v0;/zones/Z1/meta=v11;"
				     "/zones/Z1/rrsets/a.example.com./AAAA=v9;"
				     "/zones/Z1/rrsets/www.example.com./A=v2;/zones/Z10=v1;"
				     "/zones/Z100=v10;");
	expect_range(s, "/zones/Z1/", "/zones/Z1/meta=v11;/zones/Z1/rrsets/a.example.com./AAAA=v9;"
				      "/zones/Z1/rrsets/www.example.com./A=v2;");
	expect_range(s, "/zones/Z1/rrsets/www.example.com./A",
		     "/zones/Z1/rrsets/www.example.com./A=v2;");
	expect_range(s, "/zones/Z1/rrsets/www.example.com./AX", "");
	expect_range(s, "/zones/Z3", "");
	expect_range(s, "/~", "/~=v8;");
	expect_range(s, "/~~", "");
	expect_range(s, "zones", ""); /* not a '/' prefix: nothing */

	/* a non-zero callback return stops the walk (across pages) and comes back */
	coll_t c = { .buf = "", .stop_after = 5 };
	assert_int_equal(store_range(s, "", coll_fn, &c, NULL), 7);
	assert_int_equal(c.n, 5);

	/* deletes show in the next range; another prefix is another key space */
	store_op_t del = { "/zones/Z10", NULL, 0 };
	assert_int_equal(store_commit(s, &del, 1, NULL), ERR_OK);
	expect_range(s, "/zones/Z10", "/zones/Z100=v10;");
	char other[96];
	new_prefix(other, sizeof(other), "range");
	store_t *s2 = open_on(&g_cl, 0, other, 5000);
	expect_range(s2, "", "");
	store_close(s2);
	store_close(s);
}

static int commit_in_range_fn(void *ctx, const char *key, const char *val, size_t vlen)
{
	store_t *s = ctx;
	store_op_t op = { "/inside", "x", 1 };
	(void)key;
	(void)val;
	(void)vlen;
	assert_int_equal(store_commit(s, &op, 1, NULL), ERR_INVAL);
	return 0;
}

static void test_long_keys_values(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "long");
	store_t *s = open_on(&g_cl, 0, pfx, 5000);
	static const char nul[] = "a\0b\0\0c";
	static char big[70000];
	char *k1 = malloc(2049), *k2 = malloc(2049);

	assert_non_null(k1);
	assert_non_null(k2);
	memset(k1, 'k', 2048);
	k1[0] = '/';
	k1[2048] = '\0';
	memcpy(k2, k1, 2049);
	k2[2047] = 'l';
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	store_op_t ops[] = {
		{ "/v/nul", nul, 6 }, { "/v/empty", "", 0 }, { "/v/big", big, sizeof(big) },
		{ "/v/onenul", "\0", 1 }, { k2, "2", 1 }, { k1, "1", 1 },
	};
	assert_int_equal(store_commit(s, ops, 6, NULL), ERR_OK);
	expect_val(s, "/v/nul", nul, 6);
	expect_val(s, "/v/empty", "", 0);
	expect_val(s, "/v/big", big, sizeof(big));
	expect_val(s, "/v/onenul", "\0", 1);
	expect_val(s, k1, "1", 1);
	expect_val(s, k2, "2", 1);
	coll_t c = { .buf = "" };
	assert_int_equal(store_range(s, "/v/", coll_fn, &c, NULL), ERR_OK);
	assert_int_equal(c.n, 4);
	c = (coll_t){ .buf = "" };
	assert_int_equal(store_range(s, "/kkk", coll_fn, &c, NULL), ERR_OK);
	assert_int_equal(c.n, 2);
	assert_true(strstr(c.buf, "=1;") < strstr(c.buf, "=2;")); /* byte order */

	/* a range callback may not commit */
	assert_int_equal(store_range(s, "/v/", commit_in_range_fn, s, NULL), ERR_OK);
	expect_missing(s, "/inside");
	free(k1);
	free(k2);
	store_close(s);
}

/* Atomicity: a commit over etcd's txn limit (--max-txn-ops 2048) or with a failing guard
 * applies none of its ops. */
static void test_atomic(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "atomic");
	store_t *s = open_on(&g_cl, 0, pfx, 5000);
	enum { N = 2100 };
	char (*keys)[16] = malloc(N * sizeof(*keys));
	store_op_t *ops = malloc(N * sizeof(*ops));
	uint64_t rev = 0;

	assert_non_null(keys);
	assert_non_null(ops);
	for (unsigned i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "/k/%05u", i);
		ops[i] = (store_op_t){ keys[i], keys[i], strlen(keys[i]) };
	}
	assert_int_equal(store_commit(s, ops, N, NULL), ERR_LIMIT);
	expect_missing(s, "/k/00000");
	assert_int_equal(store_commit(s, ops, 2000, &rev), ERR_OK);
	coll_t c = { .buf = "" };
	assert_int_equal(store_range(s, "/k/0001", coll_fn, &c, NULL), ERR_OK);
	assert_int_equal(c.n, 10);
	/* 100 keys over pages of 3 (s) and of 1000 (default), each from one revision */
	store_t *big = NULL;
	{
		const char *eps[] = { g_cl.eps[0] };
		store_etcd_params_t p = { .endpoints = eps, .n_endpoints = 1, .prefix = pfx };
		char err[128];
		assert_int_equal(store_open_etcd(&p, &big, err, sizeof(err)), ERR_OK);
	}
	for (int pass = 0; pass < 2; pass++) {
		uint64_t at = 0;
		c = (coll_t){ .buf = "" };
		assert_int_equal(store_range(pass == 0 ? s : big, "/k/0000", coll_fn, &c, &at),
				 ERR_OK);
		assert_int_equal(c.n, 10);
		c = (coll_t){ .buf = "" };
		c.n = 0;
		assert_int_equal(store_range(pass == 0 ? s : big, "/k/001", coll_fn, &c, &at),
				 ERR_OK);
		assert_int_equal(c.n, 100);
		assert_int_equal(at, rev);
	}
	store_close(big);
	free(keys);
	free(ops);
	store_close(s);
}

static void test_guarded(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "guard");
	store_t *a = open_on(&g_cl, 0, pfx, 5000);
	store_t *b = open_on(&g_cl, 0, pfx, 5000);
	char *v = NULL;
	size_t vl = 0;
	uint64_t mr = 99, rev = 0;

	/* absent guard key: mod_rev 0, and a guard of 0 means "still absent" */
	assert_int_equal(store_get_rev(a, "/zones/Z1", &v, &vl, &mr), ERR_NOTFOUND);
	assert_int_equal(mr, 0);
	store_guard_t g = { "/zones/Z1", 0 };
	store_op_t create[] = { { "/zones/Z1", "serial=1", 8 }, { "/changes/C1", "c1", 2 } };
	assert_int_equal(store_commit_guarded(a, create, 2, &g, 1, 0, &rev), ERR_OK);
	/* the same create again loses: the key exists now */
	assert_int_equal(store_commit_guarded(b, create, 2, &g, 1, 0, NULL), ERR_CONFLICT);

	/* both read the zone at revision M; a wins, b's commit is refused and applies nothing */
	uint64_t ma = 0, mb = 0;
	assert_int_equal(store_get_rev(a, "/zones/Z1", &v, &vl, &ma), ERR_OK);
	free(v);
	assert_int_equal(store_get_rev(b, "/zones/Z1", &v, &vl, &mb), ERR_OK);
	free(v);
	assert_int_equal(ma, rev);
	assert_int_equal(mb, rev);
	store_guard_t ga = { "/zones/Z1", ma }, gb = { "/zones/Z1", mb };
	store_op_t ca[] = { { "/zones/Z1", "serial=2", 8 }, { "/zones/Z1/rr/www", "a", 1 },
			    { "/changes/C2", "c2", 2 } };
	store_op_t cb[] = { { "/zones/Z1", "serial=2b", 9 }, { "/zones/Z1/rr/www", "b", 1 },
			    { "/changes/C3", "c3", 2 } };
	assert_int_equal(store_commit_guarded(a, ca, 3, &ga, 1, 0, &rev), ERR_OK);
	assert_int_equal(store_commit_guarded(b, cb, 3, &gb, 1, 0, NULL), ERR_CONFLICT);
	expect_val(b, "/zones/Z1", "serial=2", 8);
	expect_val(b, "/zones/Z1/rr/www", "a", 1);
	expect_missing(b, "/changes/C3");
	/* b re-reads and retries: wins */
	assert_int_equal(store_get_rev(b, "/zones/Z1", &v, &vl, &mb), ERR_OK);
	free(v);
	assert_int_equal(mb, rev);
	gb.mod_rev = mb;
	assert_int_equal(store_commit_guarded(b, cb, 3, &gb, 1, 0, NULL), ERR_OK);
	expect_val(a, "/zones/Z1/rr/www", "b", 1);
	/* several guards: all must hold */
	store_guard_t two[] = { { "/zones/Z1", store_revision(b) }, { "/changes/C9", 0 } };
	assert_int_equal(store_commit_guarded(b, cb, 1, two, 2, 0, NULL), ERR_OK);
	two[0].mod_rev = store_revision(b);
	two[1].key = "/changes/C1"; /* exists */
	assert_int_equal(store_commit_guarded(b, ca, 1, two, 2, 0, NULL), ERR_CONFLICT);
	expect_val(a, "/zones/Z1", "serial=2b", 9);
	store_close(a);
	store_close(b);

	/* the memory store: a guard holds while nothing was committed since the read */
	store_t *m = NULL;
	assert_int_equal(store_open_mem(&m), ERR_OK);
	assert_false(store_is_shared(m));
	assert_int_equal(store_commit_guarded(m, create, 2, &g, 1, 0, &rev), ERR_OK);
	assert_int_equal(store_commit_guarded(m, create, 2, &g, 1, 0, NULL), ERR_CONFLICT);
	assert_int_equal(store_get_rev(m, "/zones/Z1", &v, &vl, &mr), ERR_OK);
	free(v);
	assert_int_equal(mr, 1);
	ga.mod_rev = mr;
	assert_int_equal(store_commit_guarded(m, ca, 3, &ga, 1, 0, NULL), ERR_OK);
	assert_int_equal(store_commit_guarded(m, ca, 3, &ga, 1, 0, NULL), ERR_CONFLICT);
	assert_int_equal(store_commit_guarded(m, ca, 3, NULL, 0, 5, NULL), ERR_INVAL);
	int64_t id;
	assert_int_equal(store_lease_grant(m, 5, &id, NULL), ERR_INVAL);
	store_close(m);
}

typedef struct kept {
	size_t lost;
	int64_t id;
} kept_t;

static void kept_lost(void *ctx, int64_t id)
{
	kept_t *k = ctx;
	k->lost++;
	k->id = id;
}

static void test_lease(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "lease");
	store_t *s = open_on(&g_cl, 0, pfx, 5000);
	int64_t id = 0, id2 = 0;
	unsigned ttl = 0;

	assert_int_equal(store_lease_grant(s, 10, &id, &ttl), ERR_OK);
	assert_true(id != 0);
	assert_int_equal(ttl, 10);
	store_op_t op = { "/live/node/n1", "{\"AppliedRev\":7}", 16 };
	assert_int_equal(store_commit_guarded(s, &op, 1, NULL, 0, id, NULL), ERR_OK);
	expect_val(s, "/live/node/n1", "{\"AppliedRev\":7}", 16);
	assert_int_equal(store_lease_keepalive(s, id, &ttl), ERR_OK);
	assert_int_equal(ttl, 10);
	assert_int_equal(store_lease_revoke(s, id), ERR_OK);
	expect_missing(s, "/live/node/n1"); /* revoking deletes the lease's keys at once */
	assert_int_equal(store_lease_keepalive(s, id, &ttl), ERR_NOTFOUND);
	assert_int_equal(store_lease_revoke(s, id), ERR_NOTFOUND);
	assert_int_equal(store_commit_guarded(s, &op, 1, NULL, 0, id, NULL), ERR_NOTFOUND);
	expect_missing(s, "/live/node/n1");

	/* expiry: a 2 s lease without keepalives takes its key with it */
	assert_int_equal(store_lease_grant(s, 2, &id2, &ttl), ERR_OK);
	assert_int_equal(ttl, 2);
	op.key = "/live/obs/hc1/n1";
	assert_int_equal(store_commit_guarded(s, &op, 1, NULL, 0, id2, NULL), ERR_OK);
	expect_val(s, "/live/obs/hc1/n1", op.val, op.vlen);
	double end = now_ms() + 10000;
	char *v = NULL;
	size_t vl;
	int r = ERR_OK;
	while (now_ms() < end && (r = store_get(s, "/live/obs/hc1/n1", &v, &vl)) == ERR_OK) {
		free(v);
		v = NULL;
		usleep(200000);
	}
	assert_int_equal(r, ERR_NOTFOUND);
	assert_int_equal(store_lease_keepalive(s, id2, NULL), ERR_NOTFOUND);

	/* kept alive from an event loop: a 2 s lease outlives 4 s; revoked: lost() once */
	struct event_base *base = event_base_new();
	kept_t kept = { 0 };
	assert_int_equal(store_lease_kept_age_ms(s), UINT64_MAX);
	assert_int_equal(store_lease_grant(s, 2, &id2, &ttl), ERR_OK);
	op.key = "/live/node/kept";
	assert_int_equal(store_commit_guarded(s, &op, 1, NULL, 0, id2, NULL), ERR_OK);
	assert_int_equal(store_lease_keep(s, NULL, id2, 500, kept_lost, &kept), ERR_INVAL);
	assert_int_equal(store_lease_keep(s, base, id2, 500, kept_lost, &kept), ERR_OK);
	run_for(base, 4000);
	expect_val(s, "/live/node/kept", op.val, op.vlen);
	assert_true(store_lease_kept_age_ms(s) < 1500);
	assert_int_equal(kept.lost, 0);
	assert_int_equal(store_lease_revoke(s, id2), ERR_OK);
	assert_true(run_until(base, &kept.lost, 1, 3000));
	assert_int_equal(kept.id, id2);
	assert_int_equal(store_lease_kept_age_ms(s), UINT64_MAX);
	run_for(base, 1200);
	assert_int_equal(kept.lost, 1);
	/* unkept: the lease expires */
	assert_int_equal(store_lease_grant(s, 2, &id2, &ttl), ERR_OK);
	assert_int_equal(store_commit_guarded(s, &op, 1, NULL, 0, id2, NULL), ERR_OK);
	assert_int_equal(store_lease_keep(s, base, id2, 500, kept_lost, &kept), ERR_OK);
	run_for(base, 1000);
	store_lease_unkeep(s);
	run_for(base, 4000);
	expect_missing(s, "/live/node/kept");
	assert_int_equal(kept.lost, 1);
	store_close(s);
	event_base_free(base);
}

static void test_feed(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "feed");
	store_t *a = open_on(&g_cl, 0, pfx, 5000);
	store_t *b = open_on(&g_cl, 0, pfx, 5000);
	struct event_base *base = event_base_new();
	flog_t *l = calloc(1, sizeof(*l));
	store_feed_cbs_t cbs = cbs_of(l);
	uint64_t r0, r1, r2, r3;

	assert_non_null(base);
	assert_non_null(l);
	put1(a, "/before", "x");
	r0 = store_revision(a);
	assert_int_equal(store_feed_start(a, base, r0 + 1, NULL), ERR_INVAL);
	assert_int_equal(store_feed_start(a, NULL, r0 + 1, &cbs), ERR_INVAL);
	assert_int_equal(store_feed_start(a, base, r0 + 1, &cbs), ERR_OK);
	assert_int_equal(store_feed_revision(a), r0);

	/* commits of both writers, each one revision with all its ops, in order */
	put1(a, "/one", "1");
	r1 = store_revision(a);
	store_op_t two[] = { { "/two", "2", 1 }, { "/three", "3", 1 }, { "/one", NULL, 0 } };
	assert_int_equal(store_commit(b, two, 3, &r2), ERR_OK);
	store_op_t d2 = { "/two", NULL, 0 };
	assert_int_equal(store_commit(a, &d2, 1, &r3), ERR_OK);
	assert_true(run_until(base, &l->n, 3, 5000));
	assert_int_equal(l->n, 3);
	assert_int_equal(l->revs[0], r1);
	assert_int_equal(l->revs[1], r2);
	assert_int_equal(l->revs[2], r3);
	assert_string_equal(l->text[0], "/one=1,");
	/* etcd reports a txn's events in the order of its ops, sorted by the store */
	assert_string_equal(l->text[1], "/one=-,/three=3,/two=2,");
	assert_string_equal(l->text[2], "/two=-,");
	assert_int_equal(store_feed_revision(a), r3);

	/* progress notifications (every 1 s here) say "nothing more up to R" */
	assert_true(run_until(base, &l->progress, 1, 4000));
	assert_true(l->progress_rev >= r3);

	/* a feed callback may use the store (its own private loop) */
	l->s = a;
	put1(b, "/four", "4");
	assert_true(run_until(base, &l->n, 4, 5000));
	assert_string_equal(l->text[3], "/four=4,");
	l->s = NULL;

	/* restart from an older revision: replayed exactly from there */
	flog_t *l2 = calloc(1, sizeof(*l2));
	assert_non_null(l2);
	store_feed_cbs_t cbs2 = cbs_of(l2);
	assert_int_equal(store_feed_start(a, base, r2, &cbs2), ERR_OK);
	assert_true(run_until(base, &l2->n, 3, 5000));
	assert_int_equal(l2->revs[0], r2);
	assert_string_equal(l2->text[0], "/one=-,/three=3,/two=2,");
	assert_string_equal(l2->text[2], "/four=4,");
	size_t before = l->n;

	/* stopped: nothing more */
	store_feed_stop(a);
	put1(b, "/five", "5");
	run_for(base, 1500);
	assert_int_equal(l2->n, 3);
	assert_int_equal(l->n, before);
	assert_int_equal(l->lost + l2->lost, 0);

	/* the memory store: from_rev must follow its revision, the feed is synchronous */
	store_t *m = NULL;
	flog_t *lm = calloc(1, sizeof(*lm));
	store_feed_cbs_t cbm = cbs_of(lm);
	assert_int_equal(store_open_mem(&m), ERR_OK);
	assert_int_equal(store_feed_start(m, NULL, 2, &cbm), ERR_INVAL);
	assert_int_equal(store_feed_start(m, NULL, 1, &cbm), ERR_OK);
	put1(m, "/m", "m");
	assert_int_equal(lm->n, 1);
	assert_string_equal(lm->text[0], "/m=m,");
	assert_int_equal(store_feed_revision(m), 1);
	store_feed_stop(m);
	put1(m, "/m", "n");
	assert_int_equal(lm->n, 1);
	store_close(m);
	free(lm);

	store_close(a);
	store_close(b);
	event_base_free(base);
	free(l);
	free(l2);
}

/* A feed that must start below etcd's compaction point reports lost(); the caller
 * reloads at R and feeds from R + 1. */
static void test_feed_compacted(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "compact");
	store_t *s = open_on(&g_cl, 0, pfx, 5000);
	struct event_base *base = event_base_new();
	flog_t *l = calloc(1, sizeof(*l));
	store_feed_cbs_t cbs = cbs_of(l);
	uint64_t r0, r1, at = 0;

	put1(s, "/a", "1");
	r0 = store_revision(s);
	put1(s, "/a", "2");
	put1(s, "/b", "3");
	r1 = store_revision(s);
	json_decref(cluster_cmd(&g_cl, "compact %" PRIu64, r1));
	assert_int_equal(store_feed_start(s, base, r0, &cbs), ERR_OK);
	assert_true(run_until(base, &l->lost, 1, 5000));
	assert_int_equal(l->compact_rev, r1);
	assert_int_equal(l->n, 0);
	/* resync: load at R, then feed from R + 1 */
	coll_t c = { .buf = "" };
	assert_int_equal(store_range(s, "", coll_fn, &c, &at), ERR_OK);
	assert_string_equal(c.buf, "/a=2;/b=3;");
	assert_true(at >= r1);
	assert_int_equal(store_feed_start(s, base, at + 1, &cbs), ERR_OK);
	put1(s, "/c", "4");
	assert_true(run_until(base, &l->n, 1, 5000));
	assert_string_equal(l->text[0], "/c=4,");
	assert_int_equal(l->lost, 1);
	store_close(s);
	event_base_free(base);
	free(l);
}

/* One member, restarted under a store and its feed: the stale keep-alive connection is
 * replaced, the calls succeed once it is back, the feed resumes where it was. */
static void test_restart_single(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "restart");
	store_t *s = open_on(&g_cl, 0, pfx, 8000);
	struct event_base *base = event_base_new();
	flog_t *l = calloc(1, sizeof(*l));
	store_feed_cbs_t cbs = cbs_of(l);

	put1(s, "/a", "1");
	assert_int_equal(store_feed_start(s, base, store_revision(s), &cbs), ERR_OK);
	assert_true(run_until(base, &l->n, 1, 5000));
	json_decref(cluster_cmd(&g_cl, "restart 0"));
	put1(s, "/a", "2"); /* the pinned connection died with the member */
	expect_val(s, "/a", "2", 1);
	assert_true(run_until(base, &l->n, 2, 10000));
	assert_string_equal(l->text[1], "/a=2,");
	assert_int_equal(l->lost, 0);
	store_close(s);
	event_base_free(base);
	free(l);
}

/* store.etcd in the configuration file. */
static void expect_conf(const char *text, const char *want_err)
{
	char path[] = "/tmp/r53d-test-etcd-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	conf_t *c = NULL;
	char err[512] = "";
	int ret = conf_load(path, &c, err, sizeof(err));
	unlink(path);
	if (want_err == NULL) {
		if (ret != ERR_OK)
			fail_msg("%s", err);
		assert_non_null(c->store_etcd);
		assert_int_equal(c->store_etcd_n_endpoints, 2);
		assert_string_equal(c->store_etcd_endpoints[0], "http://127.0.0.1:23791");
		assert_string_equal(c->store_etcd_endpoints[1], "http://[::1]:23792/");
		assert_string_equal(c->store_etcd_prefix, "/r53d/v1/");
		assert_string_equal(c->store_etcd_node_id, "node-a");
		assert_string_equal(c->store_etcd_region, "eu-west-1");
		assert_null(c->store_path);
		conf_free(c);
		return;
	}
	assert_int_equal(ret, ERR_INVAL);
	if (strstr(err, want_err) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want_err);
	conf_free(c);
}

static void test_conf(void **state)
{
	(void)state;
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://127.0.0.1:23791\", "
		    "\"http://[::1]:23792/\"], \"node_id\": \"node-a\", \"region\": \"eu-west-1\"}}}",
		    NULL);
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://127.0.0.1:1\"]}, "
		    "\"path\": \"d\"}}",
		    "store: give either path");
	expect_conf("{\"store\": {\"etcd\": []}}", "store.etcd: must be an object");
	expect_conf("{\"store\": {\"etcd\": {}}}", "store.etcd.endpoints: needs an array");
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": []}}}", "store.etcd.endpoints");
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://127.0.0.1:1\", "
		    "\"https://127.0.0.1:2\"]}}}",
		    "store.etcd.endpoints[1]: not an etcd client URL");
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://127.0.0.1\"]}}}",
		    "store.etcd.endpoints[0]");
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://h:99999\"]}}}",
		    "store.etcd.endpoints[0]");
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://h:1\"], "
		    "\"prefix\": \"r53d/\"}}}",
		    "store.etcd.prefix: must be a key prefix");
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://h:1\"], "
		    "\"node_id\": \"a/b\"}}}",
		    "store.etcd.node_id");
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://h:1\"], "
		    "\"region\": \"\"}}}",
		    "store.etcd.region");
	expect_conf("{\"store\": {\"etcd\": {\"endpoints\": [\"http://h:1\"], "
		    "\"nodeid\": \"x\"}}}",
		    "store.etcd.nodeid");

	/* store_open_etcd's own checks */
	const char *bad[] = { "https://127.0.0.1:1" };
	store_etcd_params_t p = { .endpoints = bad, .n_endpoints = 1 };
	store_t *s = NULL;
	char err[256];
	assert_int_equal(store_open_etcd(&p, &s, err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "https://127.0.0.1:1"));
	p.n_endpoints = 0;
	assert_int_equal(store_open_etcd(&p, &s, err, sizeof(err)), ERR_INVAL);
	const char *good[] = { "http://127.0.0.1:1" };
	p = (store_etcd_params_t){ .endpoints = good, .n_endpoints = 1, .prefix = "/x" };
	assert_int_equal(store_open_etcd(&p, &s, err, sizeof(err)), ERR_INVAL);
	assert_null(s);
}

/* ------------------------------------------------------------------------------------- */
/* Group 2: three members */

static int g3_setup(void **state)
{
	(void)state;
	return cluster_start(&g_cl, 3);
}

/* Kill the member the store and its feed use (the leader, when it is member 0 or after
 * moving): calls go on through another within 5 s; the feed resumes with no revision lost
 * or repeated. Then lose quorum: ERR_IO within the call's limit; restart: recovery. */
static void test_failover(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "failover");
	int leader = cluster_int(&g_cl, "leader", "leader");
	/* pin the store on the leader: the worst member to lose */
	store_t *s = open_on(&g_cl, (size_t)leader, pfx, 4000);
	struct event_base *base = event_base_new();
	flog_t *l = calloc(1, sizeof(*l));
	store_feed_cbs_t cbs = cbs_of(l);
	uint64_t revs[8];
	char key[16];

	kept_t kept = { 0 };
	int64_t lease = 0;
	assert_int_equal(store_lease_grant(s, 4, &lease, NULL), ERR_OK);
	store_op_t node = { "/live/node/n1", "up", 2 };
	assert_int_equal(store_commit_guarded(s, &node, 1, NULL, 0, lease, NULL), ERR_OK);
	assert_int_equal(store_lease_keep(s, base, lease, 1000, kept_lost, &kept), ERR_OK);
	put1(s, "/k/0", "0");
	revs[0] = store_revision(s);
	assert_int_equal(store_feed_start(s, base, revs[0], &cbs), ERR_OK);
	assert_true(run_until(base, &l->n, 1, 5000));

	json_decref(cluster_cmd(&g_cl, "kill %d", leader));
	double t0 = now_ms();
	put1(s, "/k/1", "1");
	double took = now_ms() - t0;
	print_message("write after killing the leader: %.0f ms\n", took);
	assert_true(took < 5000);
	revs[1] = store_revision(s);
	expect_val(s, "/k/1", "1", 1);
	for (int i = 2; i < 5; i++) {
		snprintf(key, sizeof(key), "/k/%d", i);
		put1(s, key, key);
		revs[i] = store_revision(s);
	}
	assert_true(run_until(base, &l->n, 5, 8000));
	assert_int_equal(l->n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(l->revs[i], revs[i]);
	assert_string_equal(l->text[1], "/k/1=1,");
	/* the kept lease (TTL 4 s) outlives 6 s more: its keepalives moved on too */
	run_for(base, 6000);
	assert_int_equal(kept.lost, 0);
	assert_true(store_lease_kept_age_ms(s) < 2500);
	expect_val(s, "/live/node/n1", "up", 2);
	assert_int_equal(l->n, 5); /* keepalives make no revisions */
	store_lease_unkeep(s);

	/* quorum lost: a second member down */
	int other = -1;
	for (int i = 0; i < 3; i++) {
		if (i != leader) {
			other = i;
			break;
		}
	}
	json_decref(cluster_cmd(&g_cl, "kill %d", other));
	t0 = now_ms();
	store_op_t op = { "/k/lost", "x", 1 };
	assert_int_equal(store_commit(s, &op, 1, NULL), ERR_IO);
	took = now_ms() - t0;
	print_message("write without quorum failed after %.0f ms\n", took);
	assert_true(took < 4000 + 1500);
	char *v = NULL;
	size_t vl;
	t0 = now_ms();
	assert_int_equal(store_get(s, "/k/1", &v, &vl), ERR_IO);
	assert_true(now_ms() - t0 < 4000 + 1500);
	assert_int_equal(store_lease_grant(s, 5, &(int64_t){ 0 }, NULL), ERR_IO);
	run_for(base, 500); /* the feed keeps retrying without blocking */

	/* back: everything converges, the feed delivers what comes next */
	json_decref(cluster_cmd(&g_cl, "restart %d", other));
	json_decref(cluster_cmd(&g_cl, "restart %d", leader));
	(void)cluster_int(&g_cl, "leader", "wait_leader");
	t0 = now_ms();
	int r = ERR_IO;
	while (r != ERR_OK && now_ms() - t0 < 15000)
		r = store_commit(s, &op, 1, NULL);
	assert_int_equal(r, ERR_OK);
	expect_val(s, "/k/4", "/k/4", 4);
	assert_true(run_until(base, &l->n, 6, 15000));
	assert_string_equal(l->text[5], "/k/lost=x,");
	assert_int_equal(l->lost, 0);
	store_close(s);
	event_base_free(base);
	free(l);
}

/* The member of a running feed is paused (SIGSTOP) while others write and compact: the
 * stream goes silent, the idle timeout moves it to another member, which says the
 * revisions are compacted: lost() is reported. */
static void test_compaction_during_watch(void **state)
{
	char pfx[96];
	(void)state;
	new_prefix(pfx, sizeof(pfx), "cwatch");
	int leader = cluster_int(&g_cl, "leader", "leader");
	int victim = (leader + 1) % 3; /* not the leader: the others keep quorum at once */
	store_t *s = open_on(&g_cl, (size_t)victim, pfx, 5000);
	store_t *w = open_on(&g_cl, (size_t)leader, pfx, 5000);
	struct event_base *base = event_base_new();
	flog_t *l = calloc(1, sizeof(*l));
	store_feed_cbs_t cbs = cbs_of(l);

	put1(s, "/a", "1");
	assert_int_equal(store_feed_start(s, base, store_revision(s), &cbs), ERR_OK);
	assert_true(run_until(base, &l->n, 1, 5000));
	json_decref(cluster_cmd(&g_cl, "pause %d", victim));
	put1(w, "/a", "2");
	put1(w, "/a", "3");
	json_decref(cluster_cmd(&g_cl, "compact %" PRIu64, store_revision(w)));
	assert_true(run_until(base, &l->lost, 1, 10000));
	json_decref(cluster_cmd(&g_cl, "resume %d", victim));
	assert_int_equal(l->compact_rev, store_revision(w));
	assert_int_equal(l->n, 1);
	/* resync through another member */
	coll_t c = { .buf = "" };
	uint64_t at = 0;
	assert_int_equal(store_range(s, "", coll_fn, &c, &at), ERR_OK);
	assert_string_equal(c.buf, "/a=3;");
	assert_int_equal(store_feed_start(s, base, at + 1, &cbs), ERR_OK);
	put1(w, "/b", "4");
	assert_true(run_until(base, &l->n, 2, 8000));
	assert_string_equal(l->text[1], "/b=4,");
	store_close(s);
	store_close(w);
	event_base_free(base);
	free(l);
}

/* ------------------------------------------------------------------------------------- */
/* Group 3: no etcd */

/* A listening socket that never accepts: connections complete, nothing answers. */
static int silent_listener(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_all_down(void **state)
{
	(void)state;
	uint16_t p1, p2;
	int dead = silent_listener(&p1); /* closed right away: connections refused */
	close(dead);
	int silent = silent_listener(&p2);
	char e1[64], e2[64];
	snprintf(e1, sizeof(e1), "http://127.0.0.1:%u", p1);
	snprintf(e2, sizeof(e2), "http://127.0.0.1:%u", p2);
	const char *eps[] = { e1, e2 };
	store_etcd_params_t p = { .endpoints = eps, .n_endpoints = 2, .attempt_ms = 400,
				  .call_ms = 1500 };
	store_t *s = NULL;
	char err[128];
	assert_int_equal(store_open_etcd(&p, &s, err, sizeof(err)), ERR_OK);

	double t0 = now_ms();
	char *v = NULL;
	size_t vl;
	assert_int_equal(store_get(s, "/a", &v, &vl), ERR_IO);
	store_op_t op = { "/a", "x", 1 };
	assert_int_equal(store_commit(s, &op, 1, NULL), ERR_IO);
	coll_t c = { .buf = "" };
	assert_int_equal(store_range(s, "", coll_fn, &c, NULL), ERR_IO);
	assert_int_equal(c.n, 0);
	int64_t id;
	assert_int_equal(store_lease_grant(s, 5, &id, NULL), ERR_IO);
	double took = now_ms() - t0;
	print_message("four calls with etcd down: %.0f ms\n", took);
	assert_true(took >= 4 * 700);       /* each used its time... */
	assert_true(took < 4 * 1500 + 1000); /* ...and not more */

	/* the feed retries in the background without blocking its loop */
	struct event_base *base = event_base_new();
	flog_t *l = calloc(1, sizeof(*l));
	store_feed_cbs_t cbs = cbs_of(l);
	assert_int_equal(store_feed_start(s, base, 1, &cbs), ERR_OK);
	t0 = now_ms();
	run_for(base, 1500);
	assert_true(now_ms() - t0 < 2500);
	assert_int_equal(l->n + l->lost, 0);
	store_close(s); /* with a stream pending */
	event_base_free(base);
	free(l);
	close(silent);
}

int main(void)
{
	const struct CMUnitTest one[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_long_keys_values),
		cmocka_unit_test(test_atomic),
		cmocka_unit_test(test_guarded),
		cmocka_unit_test(test_lease),
		cmocka_unit_test(test_feed),
		cmocka_unit_test(test_feed_compacted),
		cmocka_unit_test(test_restart_single),
	};
	const struct CMUnitTest three[] = {
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_compaction_during_watch),
	};
	const struct CMUnitTest none[] = {
		cmocka_unit_test(test_all_down),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("R53D_TEST_VERBOSE") == NULL)
		log_set_level(LOG_ERR);
	int fails = cmocka_run_group_tests_name("etcd, one member", one, g1_setup, g_teardown);
	fails += cmocka_run_group_tests_name("etcd, three members", three, g3_setup, g_teardown);
	fails += cmocka_run_group_tests_name("etcd down", none, NULL, NULL);
	return fails;
}
