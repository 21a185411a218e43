/* SPDX-License-Identifier: MIT */
/*
 * store_mem.c -- the memory store, and the generic layer of store.h (argument checks,
 * dispatch to the implementation, the feed).
 *
 * The memory store keeps its keys in one sorted array of entries; each entry points to one
 * allocation holding the key and the value, both NUL-terminated. A commit sorts its
 * operations, allocates everything it needs (the new entries and, when too small, the
 * second array), and only then merges the old array and the operations into the second
 * array and swaps the two: an allocation failure leaves the store as it was, and the cost
 * is O(N + n log n) for n operations on N keys.
 */
#include "store_int.h"
#include "err.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------
 * The generic layer
 */

void store_base_init(store_t *s, const store_vtab_t *vt, const char *desc)
{
	s->vt = vt;
	s->desc = desc;
	s->rev = 0;
	s->feed = NULL;
	s->feed_ctx = NULL;
	s->ranging = 0;
}

void store_close(store_t *s)
{
	if (s == NULL)
		return;
	assert(s->ranging == 0);
	s->vt->close(s);
}

const char *store_describe(const store_t *s)
{
	return s->desc;
}

uint64_t store_revision(const store_t *s)
{
	return s->rev;
}

int store_get(store_t *s, const char *key, char **val, size_t *vlen)
{
	if (val != NULL)
		*val = NULL;
	if (vlen != NULL)
		*vlen = 0;
	if (key == NULL || val == NULL || vlen == NULL)
		return ERR_INVAL;
	if (key[0] == '\0')
		return ERR_NOTFOUND; /* never stored: commits refuse empty keys */
	return s->vt->get(s, key, val, vlen);
}

int store_range(store_t *s, const char *prefix, store_kv_fn fn, void *ctx, uint64_t *rev)
{
	int ret;

	if (fn == NULL)
		return ERR_INVAL;
	s->ranging++;
	ret = s->vt->range(s, prefix != NULL ? prefix : "", fn, ctx, rev);
	s->ranging--;
	return ret;
}

int store_commit(store_t *s, const store_op_t *ops, size_t n, uint64_t *rev)
{
	int ret;

	if (n == 0 || ops == NULL || s->ranging > 0)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].key == NULL || ops[i].key[0] == '\0')
			return ERR_INVAL;
	}
	ret = s->vt->commit(s, ops, n);
	if (ret != ERR_OK)
		return ret;
	if (rev != NULL)
		*rev = s->rev;
	if (s->feed != NULL)
		s->feed(s->feed_ctx, s->rev, ops, n);
	return ERR_OK;
}

void store_watch(store_t *s, store_feed_fn fn, void *ctx)
{
	s->feed = fn;
	s->feed_ctx = fn != NULL ? ctx : NULL;
}

/* ---------------------------------------------------------------------------------------
 * The memory store
 */

/* One key: key and value in one allocation, "key\0value\0". */
typedef struct mem_ent {
	char *key;   /* the allocation; owned */
	size_t klen; /* bytes of key */
	size_t vlen; /* bytes of the value, at key + klen + 1 */
} mem_ent_t;

typedef struct mem_store {
	store_t base;     /* must be first */
	mem_ent_t *ents;  /* the keys, sorted by byte order */
	size_t n;         /* entries in ents */
	size_t cap;       /* capacity of ents */
	mem_ent_t *spare; /* the other array: the target of the next commit's merge */
	size_t spare_cap; /* capacity of spare */
} mem_store_t;

/* One operation of a commit, for sorting. */
typedef struct mem_op {
	const store_op_t *op; /* borrowed from the caller */
	size_t idx;           /* position in the commit: the later of equal keys wins */
	size_t klen;          /* strlen(op->key) */
	char *blk;            /* a put's new allocation, until the merge takes it */
} mem_op_t;

static const char *ent_val(const mem_ent_t *e)
{
	return e->key + e->klen + 1;
}

/* Byte order of two byte strings. */
static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Index of the first entry >= key (ms->n when none). */
static size_t mem_lower_bound(const mem_store_t *ms, const char *key, size_t klen)
{
	size_t lo = 0, hi = ms->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (key_cmp(ms->ents[mid].key, ms->ents[mid].klen, key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int mem_op_cmp(const void *a, const void *b)
{
	const mem_op_t *x = a, *y = b;
	int c = key_cmp(x->op->key, x->klen, y->op->key, y->klen);
	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx ? 1 : 0;
}

static char *mem_block(const char *key, size_t klen, const char *val, size_t vlen)
{
	if (vlen > SIZE_MAX - klen - 2)
		return NULL;
	char *b = malloc(klen + vlen + 2);
	if (b == NULL)
		return NULL;
	memcpy(b, key, klen + 1);
	if (vlen > 0)
		memcpy(b + klen + 1, val, vlen);
	b[klen + 1 + vlen] = '\0';
	return b;
}

static void mem_close(store_t *s)
{
	mem_store_t *ms = (mem_store_t *)s;
	for (size_t i = 0; i < ms->n; i++)
		free(ms->ents[i].key);
	free(ms->ents);
	free(ms->spare);
	free(ms);
}

static int mem_get(store_t *s, const char *key, char **val, size_t *vlen)
{
	const mem_store_t *ms = (const mem_store_t *)s;
	size_t klen = strlen(key);
	size_t i = mem_lower_bound(ms, key, klen);
	const mem_ent_t *e;
	char *copy;

	if (i == ms->n || key_cmp(ms->ents[i].key, ms->ents[i].klen, key, klen) != 0)
		return ERR_NOTFOUND;
	e = &ms->ents[i];
	copy = malloc(e->vlen + 1);
	if (copy == NULL)
		return ERR_NOMEM;
	memcpy(copy, ent_val(e), e->vlen + 1);
	*val = copy;
	*vlen = e->vlen;
	return ERR_OK;
}

static int mem_range(store_t *s, const char *prefix, store_kv_fn fn, void *ctx, uint64_t *rev)
{
	const mem_store_t *ms = (const mem_store_t *)s;
	size_t plen = strlen(prefix);

	if (rev != NULL)
		*rev = s->rev;
	for (size_t i = mem_lower_bound(ms, prefix, plen); i < ms->n; i++) {
		const mem_ent_t *e = &ms->ents[i];
		if (e->klen < plen || memcmp(e->key, prefix, plen) != 0)
			break;
		int ret = fn(ctx, e->key, ent_val(e), e->vlen);
		if (ret != 0)
			return ret;
	}
	return ERR_OK;
}

static int mem_commit(store_t *s, const store_op_t *ops, size_t n)
{
	mem_store_t *ms = (mem_store_t *)s;
	int ret = ERR_NOMEM;
	mem_op_t *sorted = NULL;
	size_t m = 0, puts = 0, out_n = 0, i = 0;

	if (n > SIZE_MAX / sizeof(*sorted))
		return ERR_NOMEM;
	sorted = calloc(n, sizeof(*sorted));
	if (sorted == NULL)
		goto out;
	for (size_t k = 0; k < n; k++) {
		sorted[k].op = &ops[k];
		sorted[k].idx = k;
		sorted[k].klen = strlen(ops[k].key);
	}
	qsort(sorted, n, sizeof(*sorted), mem_op_cmp);
	/* keep the last op of each key */
	for (size_t k = 0; k < n; k++) {
		if (k + 1 < n && key_cmp(sorted[k].op->key, sorted[k].klen, sorted[k + 1].op->key,
					 sorted[k + 1].klen) == 0)
			continue;
		sorted[m++] = sorted[k];
	}
	/* allocate everything before touching the store */
	for (size_t k = 0; k < m; k++) {
		const store_op_t *op = sorted[k].op;
		if (op->val == NULL)
			continue;
		sorted[k].blk = mem_block(op->key, sorted[k].klen, op->val, op->vlen);
		if (sorted[k].blk == NULL)
			goto out;
		puts++;
	}
	if (ms->spare_cap < ms->n + puts) {
		size_t want = ms->n + puts;
		if (want < ms->n || want > SIZE_MAX / sizeof(mem_ent_t))
			goto out;
		want += want / 2 + 16;
		mem_ent_t *grown = realloc(ms->spare, want * sizeof(mem_ent_t));
		if (grown == NULL)
			goto out;
		ms->spare = grown;
		ms->spare_cap = want;
	}

	/* merge: nothing below can fail */
	for (size_t k = 0; k < m; k++) {
		mem_op_t *o = &sorted[k];
		int c = 1;
		while (i < ms->n) {
			c = key_cmp(ms->ents[i].key, ms->ents[i].klen, o->op->key, o->klen);
			if (c >= 0)
				break;
			ms->spare[out_n++] = ms->ents[i++];
		}
		if (i < ms->n && c == 0)
			free(ms->ents[i++].key); /* replaced or deleted */
		if (o->blk != NULL) {
			ms->spare[out_n++] = (mem_ent_t){ .key = o->blk, .klen = o->klen,
							  .vlen = o->op->vlen };
			o->blk = NULL;
		}
	}
	while (i < ms->n)
		ms->spare[out_n++] = ms->ents[i++];
	{
		mem_ent_t *t = ms->ents;
		size_t tcap = ms->cap;
		ms->ents = ms->spare;
		ms->cap = ms->spare_cap;
		ms->n = out_n;
		ms->spare = t;
		ms->spare_cap = tcap;
	}
	s->rev++;
	ret = ERR_OK;
out:
	for (size_t k = 0; k < m; k++)
		free(sorted[k].blk);
	free(sorted);
	return ret;
}

static const store_vtab_t mem_vtab = {
	.close = mem_close,
	.get = mem_get,
	.range = mem_range,
	.commit = mem_commit,
};

int store_open_mem(store_t **out)
{
	mem_store_t *ms = calloc(1, sizeof(*ms));

	*out = NULL;
	if (ms == NULL)
		return ERR_NOMEM;
	store_base_init(&ms->base, &mem_vtab, "memory");
	*out = &ms->base;
	return ERR_OK;
}
