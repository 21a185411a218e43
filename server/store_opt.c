/* SPDX-License-Identifier: MIT */
/*
 * store_opt.c -- the optional operations of store.h ("Fleets"): argument checks, dispatch,
 * and the behaviour of single-writer stores (memory, LMDB) that do not implement them.
 *
 * A single-writer store has no per-key revisions, so store_get_rev gives the store's
 * revision and a guard with a non-zero revision holds only while the store is still at
 * that revision: a conservative compare-and-swap that never lets a stale read through
 * (with one writer it always holds between a read and the commit that follows it).
 */
#include "store_int.h"
#include "err.h"

#include <stdlib.h>

bool store_is_shared(const store_t *s)
{
	return s->vt->feed_start != NULL;
}

int store_get_rev(store_t *s, const char *key, char **val, size_t *vlen, uint64_t *mod_rev)
{
	int ret;

	if (mod_rev != NULL)
		*mod_rev = 0;
	if (mod_rev == NULL)
		return ERR_INVAL;
	if (s->vt->get_rev != NULL) {
		if (val != NULL)
			*val = NULL;
		if (vlen != NULL)
			*vlen = 0;
		if (key == NULL || val == NULL || vlen == NULL)
			return ERR_INVAL;
		if (key[0] == '\0')
			return ERR_NOTFOUND;
		return s->vt->get_rev(s, key, val, vlen, mod_rev);
	}
	ret = store_get(s, key, val, vlen);
	if (ret == ERR_OK)
		*mod_rev = s->rev;
	return ret;
}

/* The guards of a single-writer store (see the file comment). */
static int guards_hold(store_t *s, const store_guard_t *g, size_t ng)
{
	for (size_t i = 0; i < ng; i++) {
		char *v = NULL;
		size_t vl = 0;
		int ret = s->vt->get(s, g[i].key, &v, &vl);
		free(v);
		if (ret != ERR_OK && ret != ERR_NOTFOUND)
			return ret;
		if (g[i].mod_rev == 0 ? ret == ERR_OK : (ret == ERR_NOTFOUND || g[i].mod_rev != s->rev))
			return ERR_CONFLICT;
	}
	return ERR_OK;
}

int store_commit_guarded(store_t *s, const store_op_t *ops, size_t n, const store_guard_t *g,
			 size_t ng, int64_t lease, uint64_t *rev)
{
	int ret;

	if (n == 0 || ops == NULL || s->ranging > 0 || (ng > 0 && g == NULL))
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].key == NULL || ops[i].key[0] == '\0')
			return ERR_INVAL;
	}
	for (size_t i = 0; i < ng; i++) {
		if (g[i].key == NULL || g[i].key[0] == '\0')
			return ERR_INVAL;
	}
	if (s->vt->commit_guarded != NULL) {
		ret = s->vt->commit_guarded(s, ops, n, g, ng, lease);
		if (ret == ERR_OK && rev != NULL)
			*rev = s->rev;
		return ret;
	}
	if (lease != 0)
		return ERR_INVAL;
	ret = guards_hold(s, g, ng);
	if (ret != ERR_OK)
		return ret;
	return store_commit(s, ops, n, rev);
}

int store_lease_grant(store_t *s, unsigned ttl, int64_t *id, unsigned *granted)
{
	if (id != NULL)
		*id = 0;
	if (granted != NULL)
		*granted = 0;
	if (s->vt->lease_grant == NULL || id == NULL || ttl == 0)
		return ERR_INVAL;
	return s->vt->lease_grant(s, ttl, id, granted);
}

int store_lease_keepalive(store_t *s, int64_t id, unsigned *ttl)
{
	if (ttl != NULL)
		*ttl = 0;
	if (s->vt->lease_keepalive == NULL || id == 0)
		return ERR_INVAL;
	return s->vt->lease_keepalive(s, id, ttl);
}

int store_lease_revoke(store_t *s, int64_t id)
{
	if (s->vt->lease_revoke == NULL || id == 0)
		return ERR_INVAL;
	return s->vt->lease_revoke(s, id);
}

int store_lease_keep(store_t *s, struct event_base *base, int64_t id, unsigned every_ms,
		     void (*lost)(void *ctx, int64_t id), void *ctx)
{
	if (s->vt->lease_keep == NULL || base == NULL || id == 0 || every_ms == 0 || lost == NULL)
		return ERR_INVAL;
	return s->vt->lease_keep(s, base, id, every_ms, lost, ctx);
}

void store_lease_unkeep(store_t *s)
{
	if (s->vt->lease_unkeep != NULL)
		s->vt->lease_unkeep(s);
}

uint64_t store_lease_kept_age_ms(const store_t *s)
{
	if (s->vt->lease_kept_age_ms == NULL)
		return UINT64_MAX;
	return s->vt->lease_kept_age_ms(s);
}

int store_feed_start(store_t *s, struct event_base *base, uint64_t from_rev,
		     const store_feed_cbs_t *cbs)
{
	if (cbs == NULL || cbs->rev == NULL)
		return ERR_INVAL;
	if (s->vt->feed_start != NULL) {
		if (base == NULL || cbs->lost == NULL || from_rev == 0)
			return ERR_INVAL;
		return s->vt->feed_start(s, base, from_rev, cbs);
	}
	if (from_rev != s->rev + 1)
		return ERR_INVAL;
	store_watch(s, cbs->rev, cbs->ctx);
	return ERR_OK;
}

void store_feed_stop(store_t *s)
{
	if (s->vt->feed_stop != NULL)
		s->vt->feed_stop(s);
	else
		store_watch(s, NULL, NULL);
}

uint64_t store_feed_revision(const store_t *s)
{
	if (s->vt->feed_revision != NULL)
		return s->vt->feed_revision(s);
	return s->feed != NULL ? s->rev : 0;
}
