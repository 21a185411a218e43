/* SPDX-License-Identifier: MIT */
/*
 * stats.h -- process-wide counters, summed on demand from the workers' own counters.
 *
 * Workers never share a counter: each increments its answer_ctx_t and worker_stats_t
 * (single writer, no atomic read-modify-write). A reader sums them with relaxed loads, so a
 * total may lag a few queries behind but is never torn. Only the control thread sums
 * (admin GET /metrics), and it owns the reload counters.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "qlog.h"
#include "worker.h"

struct evbuffer;

/** Totals for one report; filled by the control thread. */
typedef struct stats_totals {
	answer_stats_t answer;   /**< answer counters summed over workers */
	worker_stats_t net;      /**< network counters summed over workers */
	uint64_t reloads_ok;     /**< successful reloads */
	uint64_t reloads_failed; /**< failed reloads (old snapshot kept) */
	uint64_t generation;     /**< generation of the serving snapshot */
	size_t zones;            /**< hosted zones in the serving snapshot */
	double build_seconds;    /**< how long building the serving snapshot took */
	size_t build_bytes;      /**< bytes that build allocated (zones it compiled, views) */
	size_t snapshot_bytes;   /**< bytes of the serving snapshot, shared zones included */
	size_t zones_compiled;   /**< zones that build compiled */
	size_t zones_shared;     /**< zones it shared with the snapshot before it */
	unsigned workers;        /**< worker threads */
	bool qlog_on;            /**< the query log is on */
	qlog_stats_t qlog;       /**< its counters (zero when off) */
	unsigned rrl_rate;       /**< rrl.responses_per_second applied (0: RRL off) */
	rrl_stats_t rrl;         /**< rate-limiting counters summed over workers */
} stats_totals_t;

/**
 * Add the counters of workers[0..n) into t (relaxed loads; t is not cleared first).
 * Control thread (any thread that knows the workers outlive the call).
 */
void stats_sum_workers(stats_totals_t *t, worker_t *const *workers, size_t n);

/**
 * Append t in the Prometheus text exposition format (version 0.0.4) to out.
 * \retval ERR_OK, ERR_NOMEM.
 */
int stats_format_prometheus(const stats_totals_t *t, struct evbuffer *out);

/** Name of a response code ("NOERROR", "BADVERS", ...) or NULL for unnamed codes. */
const char *stats_rcode_name(unsigned rcode);
