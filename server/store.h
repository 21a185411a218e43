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
