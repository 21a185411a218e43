/* SPDX-License-Identifier: MIT */
/*
 * policy.h -- routing-policy evaluation (spec section 4, the algorithm of 5.2).
 *
 * pol_select() evaluates one record-set group for one query: it builds the policy's
 * candidate list, filters by health (own health check, and the target's health for
 * EvaluateTargetHealth aliases, in STRICT mode), picks, and materialises aliases by
 * descending into their targets. The result is a short list of value RRsets to write
 * with owner = QNAME. No allocation, no locks, no logging; the client location is looked
 * up at most once per query, and only by policies that need it.
 */
#pragma once

#include "geo.h"
#include "zdb_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** pol_select() outcomes. */
enum pol_result {
	POL_OK = 0,       /**< out holds the records to answer with */
	POL_FAIL,         /**< STRICT: no healthy answer in this branch */
	POL_NOANSWER,     /**< NORMAL: nothing applies to this client (NODATA) */
	POL_SERVFAIL,     /**< alias chain deeper than ZDB_ALIAS_DEPTH */
};

/** Records chosen for one answer: value RRsets, each written with its own TTL. */
typedef struct pol_out {
	const zdb_rrset_t *rs[ZDB_MV_MAX]; /**< value RRsets */
	uint8_t n;                         /**< how many */
} pol_out_t;

/** Optional explanation sink for /testdnsanswer (NULL on the query path). */
typedef struct pol_explain {
	char *buf;   /**< text buffer */
	size_t cap;  /**< its size */
	size_t len;  /**< bytes used */
	json_t *steps; /**< array of step objects, or NULL */
} pol_explain_t;

/** Per-query evaluation context. */
typedef struct pol_ctx {
	const zdb_t *db;            /**< snapshot */
	const hc_table_t *hc;       /**< health table (NULL: all healthy) */
	uint64_t *rng;              /**< the worker's generator */
	const geo_ecs_t *ecs;       /**< the query's ECS option, or NULL */
	const struct sockaddr *src; /**< client address, or NULL */
	bool private_zone;          /**< the zone is private (ECS ignored) */
	int vpc_region;             /**< private zones: the VPC's Region index, or -1 */
	bool loc_done;              /**< loc is valid */
	geo_loc_t loc;              /**< client location */
	bool location_used;         /**< a location-dependent group was evaluated (ECS scope) */
	int depth;                  /**< alias depth */
	uint8_t policy;             /**< policy of the top-level group (query log) */
	const char *chosen;         /**< SetIdentifier chosen at the top level, or NULL */
	pol_explain_t *why;         /**< explanation sink or NULL */
} pol_ctx_t;

/**
 * Evaluate rs (static or dynamic) for the query in c.
 * \param strict  STRICT (health probe of an alias target) or NORMAL (answer).
 * \param out     receives the chosen value RRsets (appended; caller zeroes n).
 * \return enum pol_result. Worker threads.
 */
int pol_select(pol_ctx_t *c, const zdb_rrset_t *rs, bool strict, pol_out_t *out);

/** The client location of the query (looked up once). */
const geo_loc_t *pol_client_loc(pol_ctx_t *c);
