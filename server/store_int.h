/* SPDX-License-Identifier: MIT */
/*
 * store_int.h -- internals shared by the store implementations (store_mem.c, store_lmdb.c).
 * Not for users of the store: they include store.h only.
 *
 * The public functions of store.h live in store_mem.c and dispatch through a small table
 * of operations (store_vtab_t) that each implementation fills. The generic layer checks
 * arguments, keeps the feed and calls it after each successful commit, so an
 * implementation only reads and writes its own data.
 *
 * Every implementation struct starts with a store_t, so a store_t * converts to the
 * implementation's struct.
 *
 * Thread notes: as store.h; one thread at a time, no locking.
 */
#pragma once

#include "store.h"

/** The operations of one implementation. Arguments are already checked (see below). */
typedef struct store_vtab {
	/** Free everything of s, s included. s != NULL. */
	void (*close)(store_t *s);
	/** As store_get; key is non-empty, val and vlen are non-NULL. */
	int (*get)(store_t *s, const char *key, char **val, size_t *vlen);
	/** As store_range; prefix and fn are non-NULL, rev may be NULL. */
	int (*range)(store_t *s, const char *prefix, store_kv_fn fn, void *ctx, uint64_t *rev);
	/**
	 * Apply ops atomically as revision s->rev + 1 and set s->rev to it on success. n > 0
	 * and every key is non-empty. ERR_OK, or a failure with nothing applied. Does not
	 * call the feed (the generic store_commit does).
	 */
	int (*commit)(store_t *s, const store_op_t *ops, size_t n);

	/* Optional operations (store.h "Fleets"); NULL where the generic layer in store_opt.c
	 * provides the single-writer behaviour. Arguments are checked as for commit. */
	/** As store_get_rev; key non-empty, val, vlen and mod_rev non-NULL. */
	int (*get_rev)(store_t *s, const char *key, char **val, size_t *vlen, uint64_t *mod_rev);
	/** As store_commit_guarded; sets s->rev on success. Does not call the feed. */
	int (*commit_guarded)(store_t *s, const store_op_t *ops, size_t n, const store_guard_t *g,
			      size_t ng, int64_t lease);
	/** Leases, as store.h. */
	int (*lease_grant)(store_t *s, unsigned ttl, int64_t *id, unsigned *granted);
	int (*lease_keepalive)(store_t *s, int64_t id, unsigned *ttl);
	int (*lease_revoke)(store_t *s, int64_t id);
	int (*lease_keep)(store_t *s, struct event_base *base, int64_t id, unsigned every_ms,
			  void (*lost)(void *ctx, int64_t id), void *ctx);
	void (*lease_unkeep)(store_t *s);
	uint64_t (*lease_kept_age_ms)(const store_t *s);
	/** The asynchronous feed, as store.h; cbs is copied. */
	int (*feed_start)(store_t *s, struct event_base *base, uint64_t from_rev,
			  const store_feed_cbs_t *cbs);
	void (*feed_stop)(store_t *s);
	uint64_t (*feed_revision)(const store_t *s);
} store_vtab_t;

/** The part of every store that the generic layer uses. */
struct store {
	const store_vtab_t *vt; /**< the implementation; never NULL */
	const char *desc;       /**< store_describe(); owned by the implementation */
	uint64_t rev;           /**< last committed revision; written by the implementation */
	store_feed_fn feed;     /**< store_watch(); NULL when none */
	void *feed_ctx;         /**< its context; borrowed */
	unsigned ranging;       /**< store_range calls in progress (commit refuses meanwhile) */
};

/** Initialise the generic part of a new store (revision 0, no feed). */
void store_base_init(store_t *s, const store_vtab_t *vt, const char *desc);

/**
 * store_open_lmdb with an initial map size other than the default 1 GiB (rounded up by
 * LMDB to a page multiple; a store that already is larger keeps its size). For tests of
 * the map growth; the daemon uses store_open_lmdb.
 */
int store_open_lmdb_sized(const char *dir, size_t mapsize, store_t **out, char *err,
			  size_t errlen);
