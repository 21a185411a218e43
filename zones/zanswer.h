/* SPDX-License-Identifier: MIT */
/*
 * zanswer.h -- DNS answer semantics over a snapshot.
 *
 * zdb_answer() finds the zone and node for a parsed question and writes the answer,
 * authority and additional sections (RFC 1034 4.3.2, RFC 2308, RFC 4592, RFC 8482).
 * It never allocates and never fails: every outcome is an rcode and flags.
 */
#pragma once

#include "geo.h"
#include "wire.h"
#include "zdb.h"

#include <stdbool.h>
#include <stdint.h>

/** The question as the answer code needs it (filled by the server's parser). */
typedef struct zq {
	uint8_t qname[255];    /**< lower-cased wire qname */
	uint8_t qnamelen;      /**< bytes of qname */
	uint8_t nlabels;       /**< labels of qname (root excluded) */
	uint8_t label_off[128]; /**< offset of each label in qname; [nlabels] = root */
	uint16_t qtype;        /**< QTYPE */
	uint16_t qclass;       /**< QCLASS (IN or ANY reach here) */
	bool tcp;              /**< over TCP (ANY returns everything) */
	const struct sockaddr *src; /**< client address (NULL in tests) */
	const geo_ecs_t *ecs;  /**< parsed ECS option, or NULL */
} zq_t;

/** Health words a dynamic answer's dependencies are noted for (zresult_t). */
#define ZRESULT_DEPS 8

/** What zdb_answer decided; the caller writes these into the header. */
typedef struct zresult {
	uint8_t rcode;   /**< RCODE (0, 2, 3, 5, 6) */
	bool aa;         /**< authoritative answer */
	bool tc;         /**< truncated: sections were dropped */
	uint16_t an, ns, ar; /**< section counts written */
	bool location_used;  /**< a location-dependent policy decided (ECS scope) */
	bool private_zone;   /**< answered from a private zone (no ECS echo) */
	bool referral;       /**< the authority section is a referral (maybe after a chain) */
	uint8_t policy;      /**< routing policy of the answer (enum zdb_policy) */
	const char *chosen;  /**< SetIdentifier chosen, or NULL */
	const char *zone_id; /**< HostedZone.Id of the zone that answered, or NULL (query log);
				  borrowed from the snapshot */
	bool dynamic;        /**< a record-set group was evaluated (routing policy, alias):
				  the answer may depend on health, location, the client address
				  or chance, so it is not a function of the query bytes alone */
	bool random;         /**< dynamic: a decision drew from the rng (weighted, multivalue) */
	bool src_dependent;  /**< dynamic: the client location came from the source address */
	bool deps_overflow;  /**< dynamic: more health words than dep_slot holds */
	uint8_t n_deps;      /**< dynamic: health words the decisions could read */
	uint32_t dep_slot[ZRESULT_DEPS]; /**< their slots */
	uint32_t dep_word[ZRESULT_DEPS]; /**< their words, read before the decisions */
	uint8_t n_decisions; /**< record-set groups evaluated */
	const void *decided; /**< the first of them when it answered the query name itself
				  (zdb_answer_redecide), else NULL; borrowed from the snapshot */
	uint64_t outcome;    /**< fingerprint of what that decision chose */
	/* for DNSSEC signing (zsign.h); borrowed from the snapshot */
	const void *zone;    /**< the zdb_zone_t that answered, or NULL */
	const void *neg_node; /**< a NODATA answer: the zdb_node_t whose types the denial
				   shows (the node asked, the wildcard matched, an empty
				   non-terminal), or NULL */
	const void *cut;     /**< a referral: the zdb_node_t of the delegation, or NULL */
	bool nodata;         /**< the answer is NODATA (NOERROR, SOA in authority) */
} zresult_t;

struct pol_explain;

/**
 * As zdb_answer, with an explanation of every policy decision appended to why
 * (for /testdnsanswer; control thread). why may be NULL.
 */
void zdb_answer_explain(const zdb_t *db, const zq_t *q, uint64_t rng[2], wire_t *w,
			zresult_t *res, struct pol_explain *why);

/**
 * Answer a question. The writer already holds the header and the question (at offset 12,
 * remembered for compression); sections are appended.
 * \param rng xorshift128+ state of the worker, for RRset order.
 * Worker threads; db is read-only.
 */
void zdb_answer(const zdb_t *db, const zq_t *q, uint64_t rng[2], wire_t *w, zresult_t *res);

/**
 * The view a client address selects: the index of its VPC in the snapshot (first match),
 * or -1 for the public view. src may be NULL (public). Worker threads; no allocation.
 */
int zdb_answer_view(const zdb_t *db, const struct sockaddr *src);

/**
 * Evaluate again the record-set group of a previous answer (zresult_t.decided, from db),
 * without a client location, for the answer cache: a fresh decision with rng and the
 * current health. \return the fingerprint of what it chose (as zresult_t.outcome).
 * Worker threads; no allocation.
 */
uint64_t zdb_answer_redecide(const zdb_t *db, const void *decided, bool private_zone,
			     uint64_t rng[2]);

/** Next value of a worker's xorshift128+ generator. */
static inline uint64_t zdb_rng_next(uint64_t s[2])
{
	uint64_t x = s[0];
	uint64_t const y = s[1];
	s[0] = y;
	x ^= x << 23;
	s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
	return s[1] + y;
}
