/* SPDX-License-Identifier: MIT */
/*
 * test_store.c -- the store (store.h), memory and LMDB: get, ordered prefix ranges, long
 * keys, atomic commits and revisions, the feed; for LMDB also reopening, map growth, a
 * failed write, and crashes (a child SIGKILLed while committing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "model.h"
#include "store.h"
#include "store_int.h"

/* One test's store: the prestate says which kind. */
typedef struct fx {
	bool lmdb;     /* LMDB in a fresh directory, else memory */
	char dir[64];  /* the LMDB directory */
	store_t *s;    /* the open store */
} fx_t;

static fx_t fx_mem = { .lmdb = false };
static fx_t fx_lmdb = { .lmdb = true };

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void fx_open(fx_t *fx)
{
	if (fx->lmdb) {
		char err[512] = "";
		if (store_open_lmdb(fx->dir, &fx->s, err, sizeof(err)) != ERR_OK)
			fail_msg("%s", err);
	} else {
		assert_int_equal(store_open_mem(&fx->s), ERR_OK);
	}
	assert_non_null(fx->s);
}

/* Close and open again (LMDB only: the memory store would lose everything). */
static void fx_reopen(fx_t *fx)
{
	assert_true(fx->lmdb);
	store_close(fx->s);
	fx->s = NULL;
	fx_open(fx);
}

static int fx_setup(void **state)
{
	fx_t *fx = *state;
	if (fx->lmdb) {
		strcpy(fx->dir, "/tmp/r53d-test-store-XXXXXX");
		if (mkdtemp(fx->dir) == NULL)
			return -1;
	}
	fx->s = NULL;
	fx_open(fx);
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *fx = *state;
	store_close(fx->s);
	fx->s = NULL;
	if (fx->lmdb)
		rm_rf(fx->dir);
	return 0;
}

static void put1(store_t *s, const char *key, const char *val)
{
	store_op_t op = { .key = key, .val = val, .vlen = strlen(val) };
	assert_int_equal(store_commit(s, &op, 1, NULL), ERR_OK);
}

static void del1(store_t *s, const char *key)
{
	store_op_t op = { .key = key, .val = NULL, .vlen = 0 };
	assert_int_equal(store_commit(s, &op, 1, NULL), ERR_OK);
}

static void expect_val(store_t *s, const char *key, const char *want, size_t wlen)
{
	char *v = (char *)"junk";
	size_t vl = 99;
	assert_int_equal(store_get(s, key, &v, &vl), ERR_OK);
	assert_non_null(v);
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

/* A range, collected. */
typedef struct coll {
	size_t n, cap;
	char **keys;
	char **vals;
	size_t *vlens;
	size_t stop_after; /* return 7 after this many keys (0: never) */
} coll_t;

static int coll_fn(void *ctx, const char *key, const char *val, size_t vlen)
{
	coll_t *c = ctx;
	assert_int_equal(val[vlen], '\0');
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->keys = realloc(c->keys, c->cap * sizeof(*c->keys));
		c->vals = realloc(c->vals, c->cap * sizeof(*c->vals));
		c->vlens = realloc(c->vlens, c->cap * sizeof(*c->vlens));
		assert_non_null(c->keys);
		assert_non_null(c->vals);
		assert_non_null(c->vlens);
	}
	c->keys[c->n] = strdup(key);
	c->vals[c->n] = malloc(vlen + 1);
	assert_non_null(c->keys[c->n]);
	assert_non_null(c->vals[c->n]);
	memcpy(c->vals[c->n], val, vlen + 1);
	c->vlens[c->n] = vlen;
	c->n++;
	if (c->stop_after != 0 && c->n == c->stop_after)
		return 7;
	return 0;
}

static void coll_free(coll_t *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->keys[i]);
		free(c->vals[i]);
	}
	free(c->keys);
	free(c->vals);
	free(c->vlens);
	memset(c, 0, sizeof(*c));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Range prefix and expect exactly want[0..n) in this order (values: "v:" + key). */
static void expect_range(store_t *s, const char *prefix, const char **want, size_t n)
{
	coll_t c = { 0 };
	uint64_t rev = 12345;
	assert_int_equal(store_range(s, prefix, coll_fn, &c, &rev), ERR_OK);
	assert_int_equal(rev, store_revision(s));
	if (c.n != n)
		fail_msg("range '%s': %zu keys, want %zu", prefix, c.n, n);
	for (size_t i = 0; i < n; i++) {
		char v[256];
		snprintf(v, sizeof(v), "v:%s", want[i]);
		assert_string_equal(c.keys[i], want[i]);
		assert_string_equal(c.vals[i], v);
	}
	coll_free(&c);
}

/* ------------------------------------------------------------------------------------- */

static void test_basic(void **state)
{
	fx_t *fx = *state;
	store_t *s = fx->s;
	uint64_t rev = 0;

	if (fx->lmdb) {
		assert_string_equal(store_describe(s) + strlen("lmdb "), fx->dir);
		assert_memory_equal(store_describe(s), "lmdb ", 5);
	} else {
		assert_string_equal(store_describe(s), "memory");
	}
	assert_int_equal(store_revision(s), 0);
	expect_missing(s, "/a");
	expect_missing(s, "");

	put1(s, "/a", "one");
	assert_int_equal(store_revision(s), 1);
	expect_val(s, "/a", "one", 3);
	put1(s, "/a", "two!");
	assert_int_equal(store_revision(s), 2);
	expect_val(s, "/a", "two!", 4);
	del1(s, "/a");
	assert_int_equal(store_revision(s), 3);
	expect_missing(s, "/a");
	del1(s, "/never"); /* deleting a missing key is fine, and still a revision */
	assert_int_equal(store_revision(s), 4);

	/* a later op for the same key wins, in both directions */
	store_op_t dup[] = {
		{ "/d", "first", 5 }, { "/e", "x", 1 }, { "/d", "second", 6 },
		{ "/e", NULL, 0 },    { "/f", NULL, 0 }, { "/f", "f", 1 },
	};
	assert_int_equal(store_commit(s, dup, 6, &rev), ERR_OK);
	assert_int_equal(rev, 5);
	expect_val(s, "/d", "second", 6);
	expect_missing(s, "/e");
	expect_val(s, "/f", "f", 1);

	/* invalid commits change nothing */
	store_op_t bad[] = { { "/g", "g", 1 }, { "", "x", 1 } };
	assert_int_equal(store_commit(s, bad, 0, &rev), ERR_INVAL);
	assert_int_equal(store_commit(s, bad, 2, &rev), ERR_INVAL);
	bad[1].key = NULL;
	assert_int_equal(store_commit(s, bad, 2, &rev), ERR_INVAL);
	assert_int_equal(store_revision(s), 5);
	expect_missing(s, "/g");

	if (fx->lmdb) {
		fx_reopen(fx);
		s = fx->s;
		assert_int_equal(store_revision(s), 5);
		expect_val(s, "/d", "second", 6);
		expect_val(s, "/f", "f", 1);
		expect_missing(s, "/e");
	}
}

static const char *range_keys[] = {
	"/zones/Z1", "/zones/Z10", "/zones/Z1/rrsets/www.example.com./A", "/zones/Z2",
	"/zones", "/zones-", "/a", "/", "~", "/zones/Z1/rrsets/a.example.com./AAAA",
	"/zones/Z100", "/zones/Z1/meta", " space",
};
#define N_RANGE_KEYS (sizeof(range_keys) / sizeof(range_keys[0]))

static void put_range_keys(store_t *s)
{
	store_op_t ops[N_RANGE_KEYS];
	char vals[N_RANGE_KEYS][128];
	for (size_t i = 0; i < N_RANGE_KEYS; i++) {
		snprintf(vals[i], sizeof(vals[i]), "v:%s", range_keys[i]);
		ops[i] = (store_op_t){ range_keys[i], vals[i], strlen(vals[i]) };
	}
	assert_int_equal(store_commit(s, ops, N_RANGE_KEYS, NULL), ERR_OK);
}

static void test_range(void **state)
{
	fx_t *fx = *state;
	store_t *s = fx->s;
	const char *sorted[N_RANGE_KEYS];

	expect_range(s, "", NULL, 0);
	put_range_keys(s);
	memcpy(sorted, range_keys, sizeof(sorted));
	qsort(sorted, N_RANGE_KEYS, sizeof(sorted[0]), cmp_str);
	expect_range(s, "", sorted, N_RANGE_KEYS);

	const char *z1[] = { "/zones/Z1", "/zones/Z1/meta",
			     "/zones/Z1/rrsets/a.example.com./AAAA",
			     "/zones/Z1/rrsets/www.example.com./A", "/zones/Z10", "/zones/Z100" };
	expect_range(s, "/zones/Z1", z1, 6);
	expect_range(s, "/zones/Z1/", z1 + 1, 3);
	expect_range(s, "/zones/Z10", z1 + 4, 2);
	expect_range(s, "/zones/Z1/rrsets/www.example.com./A", z1 + 3, 1);
	expect_range(s, "/zones/Z1/rrsets/www.example.com./AX", NULL, 0);
	expect_range(s, "/zones/Z3", NULL, 0);
	expect_range(s, "/zones/", (const char *[]){ "/zones/Z1", "/zones/Z1/meta",
			"/zones/Z1/rrsets/a.example.com./AAAA", "/zones/Z1/rrsets/www.example.com./A",
			"/zones/Z10", "/zones/Z100", "/zones/Z2" }, 7);
	expect_range(s, "~", (const char *[]){ "~" }, 1);
	expect_range(s, "~~", NULL, 0);

	/* a non-zero callback return stops the walk and comes back */
	coll_t c = { .stop_after = 2 };
	assert_int_equal(store_range(s, "/zones/Z1", coll_fn, &c, NULL), 7);
	assert_int_equal(c.n, 2);
	coll_free(&c);

	/* deletes show in the next range */
	del1(s, "/zones/Z10");
	const char *z1b[] = { "/zones/Z1", "/zones/Z1/meta", "/zones/Z1/rrsets/a.example.com./AAAA",
			      "/zones/Z1/rrsets/www.example.com./A", "/zones/Z100" };
	expect_range(s, "/zones/Z1", z1b, 5);
}

/* A range callback may not commit: the store refuses. */
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

static void test_commit_in_range(void **state)
{
	fx_t *fx = *state;
	put1(fx->s, "/a", "a");
	assert_int_equal(store_range(fx->s, "", commit_in_range_fn, fx->s, NULL), ERR_OK);
	expect_missing(fx->s, "/inside");
	assert_int_equal(store_revision(fx->s), 1);
	put1(fx->s, "/b", "b"); /* and commits again afterwards */
	assert_int_equal(store_revision(fx->s), 2);
}

/* A key of len bytes: head repeated, then a tail that makes it unique. */
static char *long_key(size_t len, char head, unsigned tail)
{
	char *k = malloc(len + 1);
	assert_non_null(k);
	k[0] = '/';
	memset(k + 1, head, len - 1);
	char t[16];
	int tl = snprintf(t, sizeof(t), "/%u", tail);
	assert_true((size_t)tl < len);
	memcpy(k + len - tl, t, (size_t)tl);
	k[len] = '\0';
	return k;
}

static void test_long_keys(void **state)
{
	fx_t *fx = *state;
	store_t *s = fx->s;
	/* lengths around the mapping boundary, and many 1500-byte keys sharing 1400 bytes */
	static const size_t lens[] = { 399, 400, 401, 464, 465, 466, 511, 512, 1500, 2048 };
	enum { N_LENS = sizeof(lens) / sizeof(lens[0]), N_SAME = 20 };
	char *keys[N_LENS + N_SAME + 1];
	char *vals[N_LENS + N_SAME + 1];
	store_op_t ops[N_LENS + N_SAME + 1];
	size_t nk = 0;

	for (size_t i = 0; i < N_LENS; i++)
		keys[nk++] = long_key(lens[i], 'a', (unsigned)i);
	for (unsigned i = 0; i < N_SAME; i++)
		keys[nk++] = long_key(1500, 'b', 100 + i);
	keys[nk++] = long_key(1500, 'c', 1);
	for (size_t i = 0; i < nk; i++) {
		size_t kl = strlen(keys[i]);
		vals[i] = malloc(kl + 3);
		assert_non_null(vals[i]);
		memcpy(vals[i], "v:", 2);
		memcpy(vals[i] + 2, keys[i], kl + 1);
		ops[i] = (store_op_t){ keys[i], vals[i], kl + 2 };
	}
	assert_int_equal(store_commit(s, ops, nk, NULL), ERR_OK);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nk; i++)
			expect_val(s, keys[i], vals[i], strlen(vals[i]));
		/* a key that is not there but shares the first 1499 bytes of one that is */
		char *near = strdup(keys[N_LENS]);
		assert_non_null(near);
		near[1499] = 'x';
		expect_missing(s, near);
		free(near);

		/* all: each key once, right value, ordered by the first 400 bytes at least */
		coll_t c = { 0 };
		assert_int_equal(store_range(s, "", coll_fn, &c, NULL), ERR_OK);
		assert_int_equal(c.n, nk);
		for (size_t i = 0; i < c.n; i++) {
			assert_memory_equal(c.vals[i], "v:", 2);
			assert_string_equal(c.vals[i] + 2, c.keys[i]);
			if (i > 0) {
				assert_true(strncmp(c.keys[i - 1], c.keys[i], 400) <= 0);
				assert_true(strcmp(c.keys[i - 1], c.keys[i]) != 0);
				if (!fx->lmdb)
					assert_true(strcmp(c.keys[i - 1], c.keys[i]) < 0);
			}
		}
		coll_free(&c);

		/* a prefix longer than 400 bytes selects on the whole real key */
		char *pfx = strndup(keys[N_LENS], 1499); /* "/bbb...b/10" of "/bbb...b/1NN" */
		assert_non_null(pfx);
		assert_int_equal(store_range(s, pfx, coll_fn, &c, NULL), ERR_OK);
		assert_int_equal(c.n, 10); /* /100 .. /109 */
		for (size_t i = 0; i < c.n; i++)
			assert_memory_equal(c.keys[i], pfx, 1499);
		coll_free(&c);
		pfx[1] = 'a';
		pfx[400] = 'c'; /* matches the 'a' keys in its first 400 bytes only */
		assert_int_equal(store_range(s, pfx, coll_fn, &c, NULL), ERR_OK);
		assert_int_equal(c.n, 0);
		free(pfx);
		/* a 400-byte prefix: all 'b' keys */
		pfx = strndup(keys[N_LENS], 400);
		assert_non_null(pfx);
		assert_int_equal(store_range(s, pfx, coll_fn, &c, NULL), ERR_OK);
		assert_int_equal(c.n, N_SAME);
		coll_free(&c);
		free(pfx);

		if (!fx->lmdb)
			break;
		fx_reopen(fx);
		s = fx->s;
	}
	/* overwrite and delete long keys */
	put1(s, keys[N_LENS + 3], "new");
	expect_val(s, keys[N_LENS + 3], "new", 3);
	del1(s, keys[N_LENS + 4]);
	del1(s, keys[N_LENS - 1]);
	expect_missing(s, keys[N_LENS + 4]);
	expect_missing(s, keys[N_LENS - 1]);
	expect_val(s, keys[N_LENS + 5], vals[N_LENS + 5], strlen(vals[N_LENS + 5]));
	coll_t c = { 0 };
	assert_int_equal(store_range(s, "", coll_fn, &c, NULL), ERR_OK);
	assert_int_equal(c.n, nk - 2);
	coll_free(&c);

	for (size_t i = 0; i < nk; i++) {
		free(keys[i]);
		free(vals[i]);
	}
}

static void test_revision(void **state)
{
	fx_t *fx = *state;
	uint64_t rev = 0;
	char key[32];

	for (unsigned i = 1; i <= 20; i++) {
		snprintf(key, sizeof(key), "/r/%u", i);
		store_op_t op = { key, key, strlen(key) };
		assert_int_equal(store_commit(fx->s, &op, 1, &rev), ERR_OK);
		assert_int_equal(rev, i);
		assert_int_equal(store_revision(fx->s), i);
	}
	if (!fx->lmdb)
		return;
	fx_reopen(fx);
	assert_int_equal(store_revision(fx->s), 20);
	expect_val(fx->s, "/r/7", "/r/7", 4);
	coll_t c = { 0 };
	assert_int_equal(store_range(fx->s, "/r/", coll_fn, &c, &rev), ERR_OK);
	assert_int_equal(rev, 20);
	assert_int_equal(c.n, 20);
	coll_free(&c);
	put1(fx->s, "/r/next", "x");
	assert_int_equal(store_revision(fx->s), 21);
	fx_reopen(fx);
	assert_int_equal(store_revision(fx->s), 21);
}

/* Several keys in one commit; a failed commit applies none of its ops. */
static void test_multi_commit(void **state)
{
	fx_t *fx = *state;
	store_t *s = fx->s;

	put1(s, "/z/old", "v:/z/old");
	store_op_t ops[] = {
		{ "/z/a", "v:/z/a", 6 }, { "/z/b", "v:/z/b", 6 }, { "/z/old", NULL, 0 },
		{ "/z/c", "v:/z/c", 6 },
	};
	assert_int_equal(store_commit(s, ops, 4, NULL), ERR_OK);
	assert_int_equal(store_revision(s), 2);
	expect_range(s, "/z/", (const char *[]){ "/z/a", "/z/b", "/z/c" }, 3);

	/* a failing commit (bad op last) applies none of its earlier ops */
	store_op_t bad[] = { { "/z/a", NULL, 0 }, { "/z/d", "v:/z/d", 6 }, { "", "x", 1 } };
	assert_int_equal(store_commit(s, bad, 3, NULL), ERR_INVAL);
	assert_int_equal(store_revision(s), 2);
	expect_range(s, "/z/", (const char *[]){ "/z/a", "/z/b", "/z/c" }, 3);
}

/*
 * LMDB: a commit that fails inside LMDB (the data file may not grow: RLIMIT_FSIZE) applies
 * nothing, in the process that saw the failure and after a reopen. Done in a child so the
 * limit stays there.
 */
static void test_lmdb_write_failure(void **state)
{
	fx_t *fx = *state;
	char path[128];
	struct stat st;
	enum { N = 3000 };

	put1(fx->s, "/w/before", "v:/w/before");
	store_close(fx->s);
	fx->s = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_int_equal(stat(path, &st), 0);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store_t *s = NULL;
		char err[256];
		static char keys[N][32];
		static store_op_t ops[N];
		static char val[1024];
		struct rlimit rl = { .rlim_cur = (rlim_t)st.st_size, .rlim_max = RLIM_INFINITY };
		int code = 0;

		signal(SIGXFSZ, SIG_IGN);
		memset(val, 'x', sizeof(val));
		if (store_open_lmdb(fx->dir, &s, err, sizeof(err)) != ERR_OK)
			_exit(10);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(11);
		ops[0] = (store_op_t){ "/w/before", NULL, 0 };
		for (int i = 1; i < N; i++) {
			snprintf(keys[i], sizeof(keys[i]), "/w/%05d", i);
			ops[i] = (store_op_t){ keys[i], val, sizeof(val) };
		}
		if (store_commit(s, ops, N, NULL) != ERR_IO)
			code = 12;
		else if (store_revision(s) != 1)
			code = 13;
		else {
			char *v = NULL;
			size_t vl = 0;
			if (store_get(s, "/w/00001", &v, &vl) != ERR_NOTFOUND)
				code = 14;
			else if (store_get(s, "/w/before", &v, &vl) != ERR_OK)
				code = 15;
			free(v);
		}
		_exit(code);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	fx_open(fx);
	assert_int_equal(store_revision(fx->s), 1);
	expect_range(fx->s, "/w/", (const char *[]){ "/w/before" }, 1);
	put1(fx->s, "/w/after", "v:/w/after");
	assert_int_equal(store_revision(fx->s), 2);
}

/* The feed: every commit, in order, with its ops. */
typedef struct feed_log {
	size_t calls;
	uint64_t revs[16];
	size_t nops[16];
	char first_key[16][32];
	bool first_is_del[16];
} feed_log_t;

static void feed_fn(void *ctx, uint64_t rev, const store_op_t *ops, size_t n)
{
	feed_log_t *l = ctx;
	assert_true(l->calls < 16);
	l->revs[l->calls] = rev;
	l->nops[l->calls] = n;
	snprintf(l->first_key[l->calls], sizeof(l->first_key[0]), "%s", ops[0].key);
	l->first_is_del[l->calls] = ops[0].val == NULL;
	l->calls++;
}

static void test_feed(void **state)
{
	fx_t *fx = *state;
	store_t *s = fx->s;
	feed_log_t log = { 0 };

	put1(s, "/before", "x"); /* before the watch: not seen */
	store_watch(s, feed_fn, &log);
	put1(s, "/one", "1");
	store_op_t two[] = { { "/two", "2", 1 }, { "/three", "3", 1 }, { "/one", NULL, 0 } };
	assert_int_equal(store_commit(s, two, 3, NULL), ERR_OK);
	del1(s, "/two");
	store_op_t bad[] = { { "", "x", 1 } };
	assert_int_equal(store_commit(s, bad, 1, NULL), ERR_INVAL); /* failed: not fed */
	assert_int_equal(log.calls, 3);
	assert_int_equal(log.revs[0], 2);
	assert_int_equal(log.revs[1], 3);
	assert_int_equal(log.revs[2], 4);
	assert_int_equal(log.nops[0], 1);
	assert_int_equal(log.nops[1], 3);
	assert_int_equal(log.nops[2], 1);
	assert_string_equal(log.first_key[0], "/one");
	assert_string_equal(log.first_key[1], "/two");
	assert_string_equal(log.first_key[2], "/two");
	assert_false(log.first_is_del[1]);
	assert_true(log.first_is_del[2]);
	store_watch(s, NULL, NULL);
	put1(s, "/after", "x");
	assert_int_equal(log.calls, 3);
}

static void test_values(void **state)
{
	fx_t *fx = *state;
	store_t *s = fx->s;
	static const char nul[] = "a\0b\0\0c"; /* 6 bytes with NULs inside */
	char big[70000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	store_op_t ops[] = {
		{ "/v/nul", nul, 6 }, { "/v/empty", "", 0 }, { "/v/big", big, sizeof(big) },
		{ "/v/onenul", "\0", 1 },
	};
	assert_int_equal(store_commit(s, ops, 4, NULL), ERR_OK);
	for (int pass = 0; pass < 2; pass++) {
		expect_val(s, "/v/nul", nul, 6);
		expect_val(s, "/v/empty", "", 0);
		expect_val(s, "/v/big", big, sizeof(big));
		expect_val(s, "/v/onenul", "\0", 1);
		coll_t c = { 0 };
		assert_int_equal(store_range(s, "/v/", coll_fn, &c, NULL), ERR_OK);
		assert_int_equal(c.n, 4);
		assert_string_equal(c.keys[0], "/v/big");
		assert_int_equal(c.vlens[0], sizeof(big));
		assert_memory_equal(c.vals[0], big, sizeof(big));
		assert_string_equal(c.keys[1], "/v/empty");
		assert_int_equal(c.vlens[1], 0);
		assert_string_equal(c.keys[2], "/v/nul");
		assert_int_equal(c.vlens[2], 6);
		assert_memory_equal(c.vals[2], nul, 6);
		assert_string_equal(c.keys[3], "/v/onenul");
		assert_int_equal(c.vlens[3], 1);
		coll_free(&c);
		if (!fx->lmdb)
			break;
		fx_reopen(fx);
		s = fx->s;
	}
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct order_ck {
	size_t n;
	char last[32];
	bool bad;
} order_ck_t;

static int order_fn(void *ctx, const char *key, const char *val, size_t vlen)
{
	order_ck_t *o = ctx;
	if ((o->n > 0 && strcmp(o->last, key) >= 0) || vlen != strlen(key) ||
	    memcmp(val, key, vlen) != 0)
		o->bad = true;
	snprintf(o->last, sizeof(o->last), "%s", key);
	o->n++;
	return 0;
}

static void test_many(void **state)
{
	fx_t *fx = *state;
	enum { N = 100000 };
	char (*keys)[16] = malloc(N * sizeof(*keys));
	store_op_t *ops = malloc(N * sizeof(*ops));
	order_ck_t o = { 0 };
	double t0, t1, t2, t3;

	assert_non_null(keys);
	assert_non_null(ops);
	for (unsigned i = 0; i < N; i++)
		snprintf(keys[i], sizeof(keys[i]), "/k/%08u", i);
	/* the ops in shuffled order (Fisher-Yates): the memory store must sort them */
	for (unsigned i = 0; i < N; i++)
		ops[i] = (store_op_t){ keys[i], keys[i], strlen(keys[i]) };
	srand(42);
	for (unsigned i = N - 1; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1);
		store_op_t t = ops[i];
		ops[i] = ops[j];
		ops[j] = t;
	}
	t0 = now_ms();
	assert_int_equal(store_commit(fx->s, ops, N, NULL), ERR_OK);
	t1 = now_ms();
	assert_int_equal(store_range(fx->s, "", order_fn, &o, NULL), ERR_OK);
	t2 = now_ms();
	assert_false(o.bad);
	assert_int_equal(o.n, N);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_range(fx->s, "/k/00050", order_fn, &o, NULL), ERR_OK);
	assert_false(o.bad);
	assert_int_equal(o.n, 1000);
	/* delete every other key in one commit */
	size_t nd = 0;
	for (unsigned i = 0; i < N; i += 2)
		ops[nd++] = (store_op_t){ keys[i], NULL, 0 };
	assert_int_equal(store_commit(fx->s, ops, nd, NULL), ERR_OK);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_range(fx->s, "", order_fn, &o, NULL), ERR_OK);
	t3 = now_ms();
	assert_false(o.bad);
	assert_int_equal(o.n, N / 2);
	expect_missing(fx->s, "/k/00000000");
	expect_val(fx->s, "/k/00000001", "/k/00000001", 11);
	print_message("%s: commit of %d keys %.0f ms, range %.0f ms, delete half + range %.0f ms\n",
		      store_describe(fx->s), N, t1 - t0, t2 - t1, t3 - t2);
	free(ops);
	free(keys);
}

/* LMDB: a tiny map grows by doubling, and the data survives reopening. */
static void test_lmdb_grow(void **state)
{
	fx_t *fx = *state;
	char err[512] = "";
	enum { VAL = 1 << 20, N = 12 };
	char *val = malloc(VAL);
	char key[32];

	assert_non_null(val);
	store_close(fx->s);
	fx->s = NULL;
	rm_rf(fx->dir);
	assert_int_equal(store_open_lmdb_sized(fx->dir, (size_t)256 * 1024, &fx->s, err, sizeof(err)),
			 ERR_OK);
	for (int i = 0; i < N; i++) {
		memset(val, 'a' + i, VAL);
		snprintf(key, sizeof(key), "/big/%02d", i);
		store_op_t op = { key, val, VAL };
		assert_int_equal(store_commit(fx->s, &op, 1, NULL), ERR_OK);
	}
	/* one commit much larger than the map */
	store_op_t ops[8];
	char keys[8][32];
	for (int i = 0; i < 8; i++) {
		snprintf(keys[i], sizeof(keys[i]), "/big/batch%d", i);
		ops[i] = (store_op_t){ keys[i], val, VAL };
	}
	assert_int_equal(store_commit(fx->s, ops, 8, NULL), ERR_OK);
	assert_int_equal(store_revision(fx->s), N + 1);
	store_close(fx->s);
	fx->s = NULL;
	assert_int_equal(store_open_lmdb_sized(fx->dir, (size_t)256 * 1024, &fx->s, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_revision(fx->s), N + 1);
	for (int i = 0; i < N; i++) {
		char *v = NULL;
		size_t vl = 0;
		snprintf(key, sizeof(key), "/big/%02d", i);
		assert_int_equal(store_get(fx->s, key, &v, &vl), ERR_OK);
		assert_int_equal(vl, VAL);
		assert_int_equal(v[0], 'a' + i);
		assert_int_equal(v[VAL - 1], 'a' + i);
		free(v);
	}
	put1(fx->s, "/big/after", "x");
	fx_reopen(fx);
	assert_int_equal(store_revision(fx->s), N + 2);
	free(val);
}

static void test_lmdb_open_errors(void **state)
{
	fx_t *fx = *state;
	char path[128], err[512] = "";
	store_t *s = (store_t *)&path; /* must be reset to NULL */

	snprintf(path, sizeof(path), "%s/afile", fx->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(store_open_lmdb(path, &s, err, sizeof(err)), ERR_IO);
	assert_null(s);
	if (strncmp(err, "store ", 6) != 0 || strstr(err, path) == NULL)
		fail_msg("error '%s' does not name the store", err);
	snprintf(path, sizeof(path), "%s/no/such/parent", fx->dir);
	assert_int_equal(store_open_lmdb(path, &s, err, sizeof(err)), ERR_IO);
	assert_null(s);
	if (strstr(err, "mkdir") == NULL)
		fail_msg("error '%s' does not say mkdir", err);
	/* a new subdirectory is created 0700 */
	snprintf(path, sizeof(path), "%s/sub", fx->dir);
	assert_int_equal(store_open_lmdb(path, &s, err, sizeof(err)), ERR_OK);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	store_close(s);
	store_close(NULL);
}

/*
 * Crash test: a child commits batches of 10 keys "/t/<rev>/<i>" until it is SIGKILLed at a
 * random moment; after each kill the store opens, its revision R is the number of batches
 * found, and every batch is whole. Ten kills into the same store.
 */
typedef struct crash_ck {
	uint32_t *count; /* keys seen per revision */
	size_t cap;
	uint64_t max_rev;
	bool bad;
} crash_ck_t;

static int crash_fn(void *ctx, const char *key, const char *val, size_t vlen)
{
	crash_ck_t *c = ctx;
	char *end = NULL;
	unsigned long long r = strtoull(key + 3, &end, 10);
	if (strncmp(key, "/t/", 3) != 0 || end == NULL || *end != '/' || r == 0 || r > 10000000 ||
	    vlen != strlen(key) || memcmp(val, key, vlen) != 0) {
		c->bad = true;
		return 0;
	}
	if (r >= c->cap) {
		size_t ncap = (size_t)r * 2;
		uint32_t *nc = realloc(c->count, ncap * sizeof(*nc));
		assert_non_null(nc);
		memset(nc + c->cap, 0, (ncap - c->cap) * sizeof(*nc));
		c->count = nc;
		c->cap = ncap;
	}
	c->count[r]++;
	if (r > c->max_rev)
		c->max_rev = r;
	return 0;
}

static void crash_child(const char *dir)
{
	store_t *s = NULL;
	char err[256];
	char keys[10][48];
	store_op_t ops[10];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (store_open_lmdb(dir, &s, err, sizeof(err)) != ERR_OK)
		_exit(2);
	for (;;) {
		uint64_t want = store_revision(s) + 1, got = 0;
		for (int i = 0; i < 10; i++) {
			snprintf(keys[i], sizeof(keys[i]), "/t/%" PRIu64 "/%d", want, i);
			ops[i] = (store_op_t){ keys[i], keys[i], strlen(keys[i]) };
		}
		if (store_commit(s, ops, 10, &got) != ERR_OK || got != want)
			_exit(3);
	}
}

static void test_lmdb_crash(void **state)
{
	fx_t *fx = *state;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	uint64_t prev = 0;

	print_message("crash test seed %u\n", seed);
	srand(seed);
	store_close(fx->s); /* the child opens its own environment: none across fork */
	fx->s = NULL;
	for (int round = 0; round < 10; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			crash_child(fx->dir);
		long ms = 50 + rand() % 251;
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("round %d: the child ended by itself (status 0x%x)", round, status);

		fx_open(fx);
		uint64_t rev = store_revision(fx->s), rrev = 0;
		crash_ck_t c = { 0 };
		assert_int_equal(store_range(fx->s, "/t/", crash_fn, &c, &rrev), ERR_OK);
		assert_int_equal(rrev, rev);
		assert_false(c.bad);
		assert_true(rev >= prev);
		assert_int_equal(c.max_rev, rev);
		for (uint64_t r = 1; r <= rev; r++) {
			if (c.count[r] != 10)
				fail_msg("round %d: revision %" PRIu64 " of %" PRIu64 " has %u keys",
					 round, r, rev, c.count[r]);
		}
		print_message("round %d: killed after %ld ms, revision %" PRIu64 " (+%" PRIu64 ")\n",
			      round, ms, rev, rev - prev);
		prev = rev;
		free(c.count);
		store_close(fx->s);
		fx->s = NULL;
	}
	fx_open(fx); /* for the teardown */
}

/* The model's /hcstate/ID keys: read back by model_open, applied and rolled back by
 * transactions, and no reason for a snapshot build. */
static void test_model_hcstate(void **state)
{
	fx_t *fx = *state;
	store_t *s = fx->s;
	static const char st[] = "{\"Status\":\"Unhealthy\",\"Checkers\":[]}";
	put1(s, "/hcstate/11111111-2222-4333-8444-555555555555", st);
	put1(s, "/hcstate/a/b", st); /* not a key of this kind: ignored with a warning */
	model_t *m = NULL;
	char err[256];
	assert_int_equal(model_open(s, &m, err, sizeof(err)), ERR_OK);
	assert_int_equal(json_object_size(m->hc_state), 1);
	json_t *d = json_object_get(m->hc_state, "11111111-2222-4333-8444-555555555555");
	assert_string_equal(json_string_value(json_object_get(d, "Status")), "Unhealthy");

	model_txn_t *t = model_txn_new(m);
	assert_non_null(t);
	assert_int_equal(model_txn_put(t, "/hcstate/x", json_pack("{s:s,s:[]}", "Status",
								  "Healthy", "Checkers")),
			 ERR_OK);
	assert_int_equal(model_txn_put(t, "/hcstate/11111111-2222-4333-8444-555555555555", NULL),
			 ERR_OK);
	assert_false(model_txn_needs_build(t));
	assert_int_equal(model_txn_apply(t), ERR_OK);
	assert_int_equal(json_object_size(m->hc_state), 1);
	assert_non_null(json_object_get(m->hc_state, "x"));
	model_txn_rollback(t);
	assert_int_equal(json_object_size(m->hc_state), 1);
	assert_non_null(json_object_get(m->hc_state, "11111111-2222-4333-8444-555555555555"));
	assert_int_equal(model_txn_apply(t), ERR_OK);
	assert_int_equal(model_txn_commit(t, NULL), ERR_OK);
	model_txn_free(t);
	model_free(m);

	assert_int_equal(model_open(s, &m, err, sizeof(err)), ERR_OK);
	assert_int_equal(json_object_size(m->hc_state), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m->hc_state, "x"),
							      "Status")),
			    "Healthy");
	/* a health check next to its state still needs a build */
	t = model_txn_new(m);
	assert_int_equal(model_txn_put(t, "/hcstate/y", json_object()), ERR_OK);
	assert_int_equal(model_txn_put(t, "/healthchecks/y", json_object()), ERR_OK);
	assert_true(model_txn_needs_build(t));
	model_txn_free(t);
	model_free(m);
}

#define BOTH(f)                                                                          \
	cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, &fx_mem),     \
		cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, &fx_lmdb)
#define LMDB(f) cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, &fx_lmdb)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_basic),
		BOTH(test_range),
		BOTH(test_commit_in_range),
		BOTH(test_long_keys),
		BOTH(test_revision),
		BOTH(test_multi_commit),
		BOTH(test_feed),
		BOTH(test_values),
		BOTH(test_many),
		BOTH(test_model_hcstate),
		LMDB(test_lmdb_write_failure),
		LMDB(test_lmdb_grow),
		LMDB(test_lmdb_open_errors),
		LMDB(test_lmdb_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
