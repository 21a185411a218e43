/* SPDX-License-Identifier: MIT */
/*
 * acache.h -- the per-worker answer cache: a response kept by the exact bytes of its query.
 *
 * Most of what a static answer costs is finding the node (hash probes that miss the CPU
 * cache on a large zone) and writing the sections with name compression. Both are a pure
 * function of the query's bytes after the id (flags, question with its letter case, EDNS
 * options), the view the client's address selects and the snapshot, except for the order
 * of multi-record RRsets, which Route 53 ("simple") shuffles per query. So a worker keeps
 * each such response once, and answers the same query again by copying it: the id and
 * the question come from the new query, every RRset of more than one record is shuffled
 * again (record bodies permuted in place, compression pointers into them moved), and the
 * counters are updated as the full path would.
 *
 * Only deterministic responses are kept, never over TCP: static data, and routing-policy
 * answers that the client's source address did not decide (geolocation and latency by
 * ECS, failover, aliases); those carry the health words they were decided on, and a hit
 * needs every one unchanged. When chance decides (weighted), one response is kept per
 * outcome, and a hit first decides again (zdb_answer_redecide) and then serves the
 * response of that outcome, so every answer is a fresh draw. An entry lives for one
 * snapshot generation (acache_begin), which also covers the geo database and the latency
 * table. A query is kept the second time it is seen (a doorkeeper of hash tags), so names
 * asked once (random subdomains) cost no entry. DNSSEC-signed responses (DO queries to a
 * signed zone; the DO and CO bits are in the bytes keyed on) are kept like others, and the
 * cache is emptied (acache_clear) when the signatures' validity window changes. Storage
 * is a ring of variable-size entries (oldest overwritten first) and a bucketed index; both
 * are allocated once, so neither a hit nor a store allocates or locks. Owned by one worker
 * thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zdb.h"

/** Default ring size per worker (bytes): about 250,000 typical responses. Virtual until
 *  used: pages are touched as entries are written. */
#define ACACHE_DEFAULT_BYTES ((size_t)64 << 20)

typedef struct acache acache_t;

/** Health words one response may depend on, at most. */
#define ACACHE_DEPS 8

/** How a cached response counts in the worker's counters, and what it depends on. */
typedef struct acache_info {
	uint8_t rcode;  /**< RCODE with the extended bits (BADVERS = 16) */
	uint8_t policy; /**< routing policy counted (enum zdb_policy; 0 for static) */
	bool tc;        /**< TC set */
	uint8_t n_deps; /**< store: health words the answer was decided on (a hit needs
			     each unchanged), at most ACACHE_DEPS */
	const uint32_t *dep_slot; /**< store: their slots (n_deps) */
	const uint32_t *dep_word; /**< store: their words when the decision was made */
	const char *zone_id; /**< HostedZone.Id that answered, or NULL (for the query log);
			          borrowed from the snapshot, as long as the entry lives */
	const char *chosen;  /**< SetIdentifier chosen, or NULL (for the query log); the same */
	const void *decided; /**< store: a chance decision (zresult_t.decided) that each hit
				  takes again (zdb_answer_redecide), or NULL */
	uint64_t outcome;    /**< store: with decided, the outcome this response is for */
	bool private_zone;   /**< store: with decided, the answer came from a private zone */
} acache_info_t;

/** Counters of one cache; written by its worker only. */
typedef struct acache_stats {
	uint64_t hits;    /**< queries answered from the cache */
	uint64_t misses;  /**< lookups that found nothing */
	uint64_t stores;  /**< responses stored */
	uint64_t refused; /**< responses not stored (too large, not relocatable) */
	uint64_t deferred; /**< responses not stored: the query's first sighting */
} acache_stats_t;

/**
 * Create a cache with a ring of about bytes (rounded; at least 64 KiB).
 * \param out  the cache; caller frees with acache_free.
 * \retval 0 (ERR_OK), ERR_NOMEM. Any thread.
 */
int acache_new(size_t bytes, acache_t **out);

/** Free a cache. NULL does nothing. */
void acache_free(acache_t *c);

/**
 * Start a batch with snapshot db of the given generation: entries of another generation
 * are dropped (in O(1)). Call before acache_answer/acache_store. Owning worker.
 */
void acache_begin(acache_t *c, const zdb_t *db, uint64_t generation);

/**
 * Drop every entry (in O(1)), keeping the snapshot of the batch: for signed responses
 * when the DNSSEC validity window changes (answer_sign_tick). Owning worker.
 */
void acache_clear(acache_t *c);

/**
 * Answer a UDP query from the cache.
 * \param db    the snapshot the caller answers from; a miss unless it is the one given to
 *              acache_begin.
 * \param pkt   the query (len bytes); view: zdb_answer_view() of the client.
 * \param rng   the worker's generator (RRset order).
 * \param out   response buffer of outcap bytes.
 * \param info  receives how to count the response (on a hit).
 * \return the response length, or 0: not in the cache. Owning worker; no allocation.
 */
size_t acache_answer(acache_t *c, const zdb_t *db, const uint8_t *pkt, size_t len, int view,
		     uint64_t rng[2], uint8_t *out, size_t outcap, acache_info_t *info);

/**
 * Prefetch what acache_answer will read for a query: stage 0 its index bucket, stage 1
 * (after stage 0 for the whole batch) its entry. A worker answering a batch runs stage 0
 * over every datagram, then stage 1, then answers them: the random memory reads of the
 * batch overlap instead of waiting one after another. No effect on results.
 */
void acache_prefetch(const acache_t *c, const zdb_t *db, const uint8_t *pkt, size_t len,
		     int view, int stage);

/**
 * Keep a response that the full path made for a query (deterministic: see above).
 * \param qend  offset just past the question (12 when there was none); the response
 *              repeats the query's bytes up to there.
 * Does nothing when the response cannot be kept (too large, or an RRset that cannot be
 * shuffled in place). Owning worker; no allocation.
 */
void acache_store(acache_t *c, const zdb_t *db, const uint8_t *pkt, size_t len, int view,
		  const uint8_t *resp, size_t rlen, size_t qend, const acache_info_t *info);

/** The cache's counters (owning worker, or relaxed reads elsewhere). */
const acache_stats_t *acache_stats(const acache_t *c);
