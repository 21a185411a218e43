/* SPDX-License-Identifier: MIT */
/*
 * answer.h -- one query in, one response out.
 *
 * answer_build() is the whole per-query path after the socket: parse (query.c), find the
 * zone and node, pick records, write the response into the caller's buffer. It never
 * allocates, never locks and never fails: it yields a response (maybe FORMERR, REFUSED,
 * SERVFAIL) or a drop (return 0).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "zdb.h"
#include "zsign.h"

/** Response codes counted per worker (index into answer_stats_t.rcode). */
#define ANSWER_RCODES 24

/** Per-worker counters; written only by the owning worker, read relaxed by others. */
typedef struct answer_stats {
	uint64_t queries;               /**< packets handed to answer_build */
	uint64_t dropped;               /**< packets not answered */
	uint64_t rcode[ANSWER_RCODES];  /**< responses by rcode (16 = BADVERS) */
	uint64_t truncated;             /**< responses with TC set */
	uint64_t tcp;                   /**< queries over TCP */
	uint64_t policy[9];             /**< answers by routing policy (enum zdb_policy) */
	uint64_t cached;                /**< of queries: answered from the answer cache */
	zsign_stats_t dnssec;           /**< unused in a worker's context (its signer keeps
					     its own: worker_sign_stats); in stats_totals_t,
					     the signers' counters summed over workers */
} answer_stats_t;

/** Per-worker answer state: rng and counters. Owned by one worker thread. */
typedef struct answer_ctx {
	uint64_t rng[2];       /**< xorshift128+ state; never both zero */
	answer_stats_t stats;  /**< counters */
	int qlog_fd;           /**< query log: one text line per query written to this fd
				    synchronously (tests); -1 off, the default */
	struct qlog_ring *qlog; /**< query log: one record per query into this worker's ring
				     (qlog.h); NULL off, the default. Off, the query path
				     pays one test and formats nothing */
	uint64_t qlog_ns;       /**< query log: the time of the current UDP batch (UNIX ns,
				     set by the worker after recvmmsg when qlog is on), or 0:
				     each record reads the clock itself */
	struct acache *cache;  /**< answer cache (acache.h) for UDP responses that depend on
				    the query bytes only; NULL off (tests, the default). The
				    caller calls acache_begin() with each snapshot it answers
				    from. Bypassed while the query log is on */
	struct zsign *sign;    /**< DNSSEC signer (zsign.h) for DO queries to signed zones;
				    NULL: never sign (DO answers stay unsigned). Owned by the
				    worker that set it */
	uint32_t sign_window;  /**< the validity window (its inception) the signed responses
				    in cache were made in; 0 before any (answer_sign_tick) */
} answer_ctx_t;

/** Seed a context (distinct seeds per worker). */
void answer_ctx_init(answer_ctx_t *ctx, uint64_t seed);

/**
 * The validity window in force at now (seconds since the epoch): the inception of
 * dnssec_validity_at() with the default window policy, as zsign_answer() uses it.
 */
uint32_t answer_sign_window_at(uint64_t now);

/**
 * Keep the answer cache free of signatures of a past validity window: when the window in
 * force at now differs from ctx->sign_window, empty ctx->cache and note the new window.
 * The worker calls it from its periodic tick (cache hits never reach the signer, which
 * would otherwise be the only one to notice); answer_build checks the signer's window
 * after each signed answer too. Does nothing without a signer or a cache. Owning worker.
 */
void answer_sign_tick(answer_ctx_t *ctx, uint64_t now);

/**
 * Answer one DNS message.
 * \param ctx     the worker's context.
 * \param db      current snapshot (const, borrowed for the call).
 * \param pkt     the query bytes; len its length.
 * \param out     response buffer of outcap bytes (at least 512; 65535 for TCP).
 * \param src     client address (for views and geo); may be NULL in tests.
 * \param tcp     true over TCP (no UDP size limit, no TC).
 * \return response length, or 0 to send nothing.
 * Worker threads; reentrant with distinct ctx and out.
 */
size_t answer_build(answer_ctx_t *ctx, const zdb_t *db, const uint8_t *pkt, size_t len,
		    uint8_t *out, size_t outcap, const struct sockaddr *src, bool tcp);
