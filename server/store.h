/* SPDX-License-Identifier: MIT */
/*
 * store.h -- the durable key space behind the Route 53 API (DESIGN.md "The change path").
 *
 * A flat, ordered key space of byte-string keys (printable ASCII, '/'-separated paths such
 * as "/zones/Z1/rrsets/www.example.com./A") and opaque values (JSON text in practice). Every
 * write is one atomic multi-key commit that gets the next revision (1, 2, 3, ...; 0 is the
 * empty store). Two implementations share this interface:
 *   - LMDB (store.path): a commit returns only after mdb_txn_commit() has synced it to disk;
 *     the revision is kept in the same transaction, so a crash leaves either the whole
 *     commit or none of it, and reopening gives the last committed revision.
 *   - memory (no store configured): the same semantics, lost at exit.
 * The etcd store of the fleet issue implements the same functions.
 *
 * The feed: store_watch() registers one callback that receives every committed revision
 * (its puts and deletes, in commit order) after the commit is durable. With LMDB and the
 * memory store it is called synchronously from store_commit(), on the committing thread.
 *
 * Thread notes: a store_t is used by one thread at a time (the control thread); it does no
 * locking of its own.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

/** One write of a commit: a put (val != NULL) or a delete (val == NULL). */
typedef struct store_op {
	const char *key;  /**< NUL-terminated key; borrowed */
	const char *val;  /**< value bytes, or NULL to delete the key; borrowed */
	size_t vlen;      /**< bytes of val */
} store_op_t;

/**
 * Open (creating if needed) an LMDB store in directory dir (created with mode 0700 if it
 * does not exist).
 * \param err  receives "store DIR: reason" on failure.
 * \retval ERR_OK (*out set), ERR_IO, ERR_NOMEM.
 */
int store_open_lmdb(const char *dir, store_t **out, char *err, size_t errlen);

/** Open an empty memory store. \retval ERR_OK or ERR_NOMEM. */
int store_open_mem(store_t **out);

/** Close a store; NULL does nothing. */
void store_close(store_t *s);

/** "lmdb DIR" or "memory": for logs. Borrowed from s. */
const char *store_describe(const store_t *s);

/** The last committed revision (0 for an empty store). */
uint64_t store_revision(const store_t *s);

/**
 * Read one key.
 * \param val   set to a malloc'd copy of the value with a NUL byte appended (not counted in
 *              *vlen); caller frees.
 * \retval ERR_OK, ERR_NOTFOUND, ERR_IO, ERR_NOMEM.
 */
int store_get(store_t *s, const char *key, char **val, size_t *vlen);

/** Called for each key of a range, in key order; a non-zero return stops the walk and is
 *  returned by store_range. key and val are valid only during the call; val is followed by
 *  a NUL byte (not counted in vlen). It must not close s or commit to it (store_commit
 *  returns ERR_INVAL during a range). */
typedef int (*store_kv_fn)(void *ctx, const char *key, const char *val, size_t vlen);

/**
 * Visit every key that starts with prefix ("" for all), in byte order of the keys, from one
 * consistent view of the store. (LMDB: keys longer than 400 bytes that share their first
 * 400 bytes come in a fixed order of their hashes instead; see store_lmdb.c.)
 * \param rev  set to the revision of that view (may be NULL).
 * \retval ERR_OK, the callback's non-zero return, ERR_IO.
 */
int store_range(store_t *s, const char *prefix, store_kv_fn fn, void *ctx, uint64_t *rev);

/**
 * Apply ops atomically and durably as the next revision. Deleting a key that does not
 * exist is not an error. A key may appear once per commit (a later op for the same key
 * replaces an earlier one).
 * \param rev  set to the new revision on success (may be NULL).
 * \retval ERR_OK (durable when it returns), ERR_IO (nothing applied), ERR_NOMEM,
 *         ERR_INVAL (empty key, n == 0).
 */
int store_commit(store_t *s, const store_op_t *ops, size_t n, uint64_t *rev);

/** Receives each committed revision's operations, in order. */
typedef void (*store_feed_fn)(void *ctx, uint64_t rev, const store_op_t *ops, size_t n);

/** Register the feed (NULL clears it). One feed per store. */
void store_watch(store_t *s, store_feed_fn fn, void *ctx);

/* ---------------------------------------------------------------------------------------
 * Fleets: the etcd store and the optional operations it brings (store_etcd.c, store_opt.c)
 *
 * The etcd store keeps the key space under a prefix of an etcd 3.4 cluster, talking to its
 * HTTP/JSON gateway (spec/FLEET.md). What differs from LMDB and memory:
 *   - Other nodes write too. The revision is etcd's global revision: it increases, but not
 *     by one per commit of ours (every commit of any writer, and writes outside the prefix,
 *     take revisions). store_revision() is the highest revision this store has seen in a
 *     response (commit, get, range) or from its feed. A commit that changes nothing
 *     (deletes of absent keys only) creates no etcd revision: *rev is then the current one
 *     and the feed delivers nothing for it.
 *   - Keys must start with '/' (every key r53d writes does): store key "/zones/Z1" is the
 *     etcd key PREFIX "zones/Z1" (PREFIX "/r53d/v1/" gives "/r53d/v1/zones/Z1"). Commits
 *     of other keys fail with ERR_INVAL, gets find nothing, and ranges of a prefix that
 *     does not start with '/' are empty.
 *   - The feed is asynchronous (store_feed_start below): every committed revision, ours
 *     included, arrives from etcd's watch on the caller's event loop. store_watch() feeds
 *     are not called by this store.
 *   - ERR_IO means "etcd unavailable": no endpoint answered within the call's time limit
 *     (the API answers 503 ServiceUnavailable). A commit that timed out may still have been
 *     applied (etcd cannot say): callers that care put a unique key in the commit and guard
 *     it to be absent, then read it after ERR_CONFLICT.
 *   - A commit is one etcd txn, so it is bound by etcd's --max-txn-ops (128 by default;
 *     run fleets with 2048) and --max-request-bytes (1.5 MiB): ERR_LIMIT beyond.
 * get, range, commits and the lease calls are synchronous: they run a private event loop of
 * the store until the answer or the time limit (no callbacks of the caller run meanwhile).
 * The feed and store_lease_keep run on the caller's event loop and never block it.
 * All on one thread (the control thread), like every store function.
 */

struct event_base;

/** Settings of store_open_etcd. Zero values take the defaults. */
typedef struct store_etcd_params {
	const char *const *endpoints; /**< "http://127.0.0.1:23791", ...; borrowed */
	size_t n_endpoints;           /**< entries of endpoints, >= 1 */
	const char *prefix;           /**< "/r53d/v1/": starts and ends with '/'; NULL: that */
	unsigned attempt_ms;          /**< one request on one endpoint; default 2000 */
	unsigned call_ms;             /**< one call, every failover included; default 8000 */
	unsigned watch_idle_ms;       /**< a silent watch stream is reconnected after this
					   (etcd sends progress every --experimental-watch-
					   progress-notify-interval); default 15000 */
	unsigned page_keys;           /**< keys per range request; default 1000 */
} store_etcd_params_t;

/**
 * Open an etcd store. Does not contact etcd (the first call does): a node can start while
 * etcd is down.
 * \param err  receives "store etcd: reason" on failure.
 * \retval ERR_OK (*out set), ERR_INVAL (an endpoint is not http://HOST:PORT, a bad prefix,
 *         no endpoints), ERR_NOMEM.
 */
int store_open_etcd(const store_etcd_params_t *p, store_t **out, char *err, size_t errlen);

/** True for stores that other processes write too (etcd): their feed is asynchronous. */
bool store_is_shared(const store_t *s);

/**
 * store_get, also giving the revision of the key's last modification (0 when absent), for a
 * guard of store_commit_guarded. LMDB and memory keep no per-key revision: they give
 * store_revision(s), which their guards accept while nothing was committed since.
 * \retval as store_get.
 */
int store_get_rev(store_t *s, const char *key, char **val, size_t *vlen, uint64_t *mod_rev);

/** A condition of store_commit_guarded. */
typedef struct store_guard {
	const char *key;  /**< borrowed */
	uint64_t mod_rev; /**< the key must have been modified last at this revision (as
			       store_get_rev gave it); 0: the key must be absent */
} store_guard_t;

/**
 * store_commit, applied only if every guard holds (etcd: one txn comparing each guard key's
 * mod_revision). lease != 0 attaches every put to that lease (etcd only): the keys vanish
 * when it expires.
 * \retval ERR_OK, ERR_CONFLICT (a guard failed: nothing applied; re-read and retry),
 *         ERR_IO (etcd unavailable), ERR_NOTFOUND (lease unknown or expired), ERR_LIMIT,
 *         ERR_INVAL (as store_commit; a lease on a store without leases), ERR_NOMEM.
 */
int store_commit_guarded(store_t *s, const store_op_t *ops, size_t n, const store_guard_t *g,
			 size_t ng, int64_t lease, uint64_t *rev);

/**
 * Leases (etcd only; ERR_INVAL elsewhere). Grant one of ttl seconds (etcd raises small
 * TTLs to its minimum, 2 s by default); *granted gets the TTL etcd gave (may be NULL).
 * \retval ERR_OK, ERR_IO (unavailable), ERR_INVAL, ERR_NOMEM.
 */
int store_lease_grant(store_t *s, unsigned ttl, int64_t *id, unsigned *granted);

/** Renew a lease once; *ttl (may be NULL) gets its new TTL.
 *  \retval ERR_OK, ERR_NOTFOUND (the lease expired or was revoked: its keys are gone),
 *          ERR_IO, ERR_INVAL. */
int store_lease_keepalive(store_t *s, int64_t id, unsigned *ttl);

/** Revoke a lease: its keys are deleted at once. \retval ERR_OK, ERR_NOTFOUND, ERR_IO,
 *  ERR_INVAL. */
int store_lease_revoke(store_t *s, int64_t id);

/**
 * Keep a lease alive from the caller's event loop, without blocking it: one keepalive
 * every every_ms on a connection of its own, moving to the next endpoint when one fails.
 * When etcd says the lease is gone (expired while etcd was unreachable, or revoked),
 * lost(ctx, id) is called once and the keeping stops: grant a new lease and put its keys
 * again. One kept lease per store; a new call replaces the previous one. The callback may
 * call any store function but store_close. (etcd only; ERR_INVAL elsewhere.)
 * \param base  the caller's loop; borrowed, must outlive the keeping.
 * \retval ERR_OK, ERR_INVAL, ERR_NOMEM.
 */
int store_lease_keep(store_t *s, struct event_base *base, int64_t id, unsigned every_ms,
		     void (*lost)(void *ctx, int64_t id), void *ctx);

/** Stop keeping the lease alive (it then expires after its TTL unless revoked). */
void store_lease_unkeep(store_t *s);

/** Milliseconds since the kept lease's last successful keepalive (UINT64_MAX: none yet,
 *  or no lease kept): how stale this node's presence in etcd may be. */
uint64_t store_lease_kept_age_ms(const store_t *s);

/** What an asynchronous feed calls, on the event loop given to store_feed_start. */
typedef struct store_feed_cbs {
	store_feed_fn rev; /**< each revision, in order, with all its puts and deletes
			      (one etcd txn = one call); required */
	void (*progress)(void *ctx, uint64_t rev); /**< optional: every revision up to rev
						      has been delivered */
	void (*lost)(void *ctx, uint64_t compact_rev); /**< the feed stopped because the
		revisions it still had to deliver were compacted (etcd keeps no history below
		compact_rev): reload everything with store_range (which gives the revision R it
		read at), then store_feed_start from R + 1. Required for shared stores. */
	void *ctx; /**< passed to each; borrowed */
} store_feed_cbs_t;

/**
 * Deliver every revision >= from_rev to cbs, in order, on base (etcd: a watch stream of its
 * own on base, resumed on another endpoint from the last delivered revision + 1 when it
 * breaks, and retried with backoff while etcd is down). Replaces a running feed. The
 * callbacks may call any store function, store_feed_stop and store_feed_start included,
 * but not store_close.
 * LMDB and memory: from_rev must be store_revision(s) + 1 (ERR_INVAL otherwise); cbs->rev
 * then runs synchronously in store_commit as with store_watch; base is unused.
 * \param base  the caller's loop (the control thread's); borrowed, must outlive the feed.
 *              All feeds of one store use the same base.
 * \retval ERR_OK, ERR_INVAL, ERR_NOMEM.
 */
int store_feed_start(store_t *s, struct event_base *base, uint64_t from_rev,
		     const store_feed_cbs_t *cbs);

/** Stop the feed; nothing more is delivered. Nothing happens without one. */
void store_feed_stop(store_t *s);

/** The last revision the feed delivered or reported progress for (from_rev - 1 right
 *  after store_feed_start; 0 without a feed). With etcd this, not store_revision(), is what
 *  a node has applied: store_revision() also counts revisions seen in answers. */
uint64_t store_feed_revision(const store_t *s);
