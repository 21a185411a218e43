/* SPDX-License-Identifier: MIT */
/*
 * zsign.h -- DNSSEC online signing of responses (Route 53's way: RRSIGs for whatever the
 * answer holds, policy answers included; compact denial of existence, RFC 9824).
 *
 * zdb_answer() writes an unsigned response. When the query has DO set and the zone that
 * answered is signed (zdb_zone_t.sec), zsign_answer() rewrites the sections in place:
 *   - an RRSIG (by the zone's ZSK; the DNSKEY RRset: one per active KSK) after every
 *     authoritative RRset of the zone in every section: answer, SOA/NS in authority,
 *     in-zone addresses in additional. Not signed: the NS set of a delegation (non-apex
 *     cut), glue (at or below a cut), records of other zones, OPT.
 *   - wildcard answers are signed as the name asked (Labels = its own count, no wildcard
 *     proof), as Route 53 does.
 *   - NXDOMAIN becomes NOERROR with an NSEC at the denied name (the query name or the last
 *     CNAME target): Next = "\000.<name>", bitmap RRSIG NSEC NXNAME (RFC 9824 3.2); when
 *     the query set the CO flag (RFC 9824 5) the rcode stays NXDOMAIN and CO is echoed.
 *   - NODATA: an NSEC at the denied name whose bitmap holds the types present there (the
 *     wildcard's for a wildcard match) minus the query type, plus RRSIG and NSEC.
 *   - but a query of type NSEC or RRSIG at a name that exists (an empty non-terminal and a
 *     wildcard match too; after a CNAME chain, its last target) is not NODATA, whose
 *     bitmap would list the very type denied (RRSIG and NSEC are in every compact-denial
 *     bitmap): the answer is NOERROR without SOA, in the answer section
 *       NSEC:  the name's own NSEC (as a NODATA's, bitmap: every type there, RRSIG, NSEC)
 *              and its RRSIG;
 *       RRSIG: the RRSIG(s) of every RRset at the name that a query of its type gets
 *              signed (static RRsets: the ZSK's, the apex DNSKEY: every KSK's; policy and
 *              alias groups have no fixed RRset and are left out), then the RRSIG over
 *              the name's NSEC. Every existing name has that NSEC (the NSEC query shows
 *              it), so the answer is never empty and its bitmap's RRSIG bit holds: there
 *              is no NODATA for RRSIG at a name that exists. The RRSIG records are not
 *              signed themselves; each has the TTL of the RRset it covers (RFC 4034 3).
 *     At a name that does not exist: the NXDOMAIN denial above. At a delegation: the
 *     referral. Without DO, or for an unsigned zone: NODATA as before.
 *   - a referral: the cut's DS RRset with its RRSIG, or an NSEC at the cut (NS RRSIG NSEC)
 *     proving there is none.
 *   - TTLs above one week are capped at 604800; the NSEC TTL is the zone's negative TTL.
 *   - a response that no longer fits the limit is truncated (TC, empty sections). Its
 *     rcode is the full signed answer's: NXDOMAIN -> NOERROR unless co, also when
 *     zdb_answer had truncated already (the client retries over TCP and gets that).
 * Signatures come from a per-worker cache (dnssec_cache_t) keyed by owner as asked, type,
 * a hash of the RRset's records and TTL, key and validity window; a miss signs inline
 * (OpenSSL ECDSA, which allocates its own temporaries: the one place the query path may
 * allocate, and only on a miss).
 *
 * Threads: a zsign_t belongs to one worker. No locks.
 */
#pragma once

#include "wire.h"
#include "zanswer.h"
#include "zdb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Default signature-cache budget per worker (config dnssec.signature_cache). */
#define ZSIGN_CACHE_DEFAULT (32u << 20)

typedef struct zsign zsign_t;

/** Counters of one worker's signer (single writer; read relaxed by the admin thread). */
typedef struct zsign_stats {
	uint64_t answers;     /**< responses signed */
	uint64_t signatures;  /**< RRSIGs computed (cache misses that signed) */
	uint64_t cache_hits;  /**< RRSIGs from the cache */
	uint64_t failures;    /**< signing failures (answered SERVFAIL) */
	uint64_t truncated;   /**< signed responses that did not fit (TC) */
	size_t cache_bytes;   /**< memory of the signature cache */
	size_t cache_entries; /**< entries held */
} zsign_stats_t;

/**
 * Make a signer for one worker: a dnssec_signer_t, a signature cache of at most
 * cache_budget bytes, and scratch for one response. Everything is allocated here.
 * \retval ERR_OK, ERR_INVAL (budget too small), ERR_NOMEM.
 */
int zsign_new(zsign_t **out, size_t cache_budget);

/** Free; NULL does nothing. */
void zsign_free(zsign_t *s);

/** Whether the answer in res came from a signed zone (res->zone set by zdb_answer). */
bool zsign_wanted(const zresult_t *res);

/**
 * Sign the response zdb_answer just wrote into w (sections start at qend; res holds what
 * it decided). Updates w->len, res->an/ns/ar, res->rcode (NXDOMAIN -> NOERROR unless co,
 * truncated or not), res->tc; res->nodata and res->neg_node are cleared when a NODATA
 * becomes the answer to an NSEC or RRSIG query. now: seconds since the epoch (the
 * validity window, dnssec_validity_at).
 * On a signing failure the response becomes SERVFAIL with empty sections.
 * Worker thread of s; db read-only.
 */
void zsign_answer(zsign_t *s, const zdb_t *db, const zq_t *q, bool co, wire_t *w,
		  size_t qend, zresult_t *res, uint64_t now);

/** The validity-window period the last zsign_answer used (its inception), 0 before any:
 *  the caller empties caches of signed responses when it changes. */
uint32_t zsign_window(const zsign_t *s);

/** Fill *st. Any thread (relaxed reads). */
void zsign_stats(const zsign_t *s, zsign_stats_t *st);
