/* SPDX-License-Identifier: MIT */
/*
 * rrl.h -- response rate limiting (RRL) for UDP, as NSD, Knot and BIND do it.
 *
 * Every UDP response is charged to an *account*: the client's network (ipv4_prefix /
 * ipv6_prefix bits of its address), the kind of answer, and what the answer is about:
 *   positive  (NOERROR with answers)        qname and qtype
 *   nodata    (NOERROR, no answer, SOA)     the zone (the SOA's owner)
 *   nxdomain  (NXDOMAIN)                    the zone (the SOA's owner)
 *   referral  (NOERROR, not AA, NS)         the delegation (the NS set's owner)
 *   error     (any other rcode)             nothing more: one account per network
 * The kind and names are read back from the response bytes, so the answer code knows
 * nothing of RRL.
 *
 * An account is a token bucket ("credit" in BIND's words): it earns responses_per_second
 * credits a second, holds at most one second's worth, and a response that finds no credit
 * is limited: dropped, except every slip-th one, which is sent empty with TC set so that a
 * real client behind a forged address retries over TCP. As in Knot, a limited response
 * costs no credit, so a client that asks faster than the limit still gets exactly the
 * limit; BIND instead lets the account fall window x rate into debt. Here window is how
 * long an account is tracked after its last response, and an account that was limited
 * within the window is the last to be replaced in the table (so a flood of other names
 * cannot flush it and win a fresh second of credit). TCP is never limited; exempt
 * networks are never limited.
 *
 * Fast path: a network's responses are also charged to a token bucket of the network as a
 * whole (same rate, a sixteenth of the capacity). While it has credit, no account of the
 * network can be over the rate (an account's responses are a part of its network's), so
 * the response goes without classifying it or looking up its account. When the network
 * runs out it turns hot for the window (renewed while it keeps running out) and every
 * response is charged to its account as above. The only inexactness: what a quiet network
 * sends just before it turns hot (at most a sixteenth of a second's worth) is not charged
 * to its accounts.
 *
 * Workers: each worker has its own fixed-size tables (accounts and networks, 4-way
 * set-associative, replacement by age), allocated when the configuration is applied; the
 * query path neither allocates nor locks. SO_REUSEPORT spreads one client's queries over the workers (the kernel
 * hashes the source port), so each worker's account earns responses_per_second / workers:
 * together they never send more than the configured rate to one account, however the
 * kernel spreads a flood. (A client that always uses one source port reaches one worker
 * and gets rate / workers; run one worker for an exact per-port limit.)
 *
 * Thread notes:
 *   written by:      rrl_configure: control thread; a table and its worker's counters: that
 *                    worker only (rrl_apply).
 *   read by:         the published set: every worker (rrl_enter); counters: control thread
 *                    (rrl_stats_sum, relaxed loads).
 *   synchronised by: release/acquire on the set pointer; a replaced set is freed with the
 *                    snapshot it was served with, after that snapshot's grace period
 *                    (snap.h), so no worker can still hold it.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "geo.h"

struct snap_defer;

/** Largest responses_per_second accepted. */
#define RRL_MAX_RATE 1000000u
/** Largest window, seconds (BIND's bound). */
#define RRL_MAX_WINDOW 3600u
/** Largest slip (BIND's bound). */
#define RRL_MAX_SLIP 10u
/** Entries of each worker's table (16 bytes each): 1 MiB per worker. */
#define RRL_TABLE_ENTRIES 65536u

/** Kinds of answer, each limited separately (index into rrl_stats_t.limited). */
enum rrl_kind {
	RRL_POSITIVE = 0, /**< NOERROR with an answer: by qname and qtype */
	RRL_NODATA,       /**< NOERROR, empty, SOA in authority: by zone */
	RRL_NXDOMAIN,     /**< NXDOMAIN: by zone */
	RRL_REFERRAL,     /**< a referral: by delegation */
	RRL_ERROR,        /**< every other response: by network only */
	RRL_KINDS
};

/** The "rrl" configuration key. */
typedef struct rrl_conf {
	unsigned responses_per_second; /**< per account; 0 = off (the default) */
	unsigned slip;        /**< every slip-th limited response goes out with TC; 0 never */
	unsigned ipv4_prefix; /**< IPv4 network of a client, bits (default 24) */
	unsigned ipv6_prefix; /**< IPv6 network of a client, bits (default 56) */
	unsigned window;      /**< seconds an account is tracked (default 15) */
	geo_cidr_t *exempt;   /**< networks never limited (owned), or NULL */
	size_t n_exempt;      /**< entries in exempt */
} rrl_conf_t;

/** Per-worker counters; single writer (the worker), relaxed readers. */
typedef struct rrl_stats {
	uint64_t checked;   /**< UDP responses checked (all but the exempt) */
	uint64_t accounted; /**< of those, charged to their account (the network was hot) */
	uint64_t exempt;    /**< UDP responses to exempt networks (not charged) */
	uint64_t dropped;   /**< limited responses not sent */
	uint64_t slipped;   /**< limited responses sent empty with TC */
	uint64_t limited[RRL_KINDS]; /**< limited responses (dropped + slipped) by kind */
	uint64_t replaced;  /**< accounts still tracked that a new account replaced */
} rrl_stats_t;

/** The daemon's RRL: the published settings with the workers' tables, and counters. */
typedef struct rrl rrl_t;
/** One applied configuration with its tables. */
typedef struct rrl_set rrl_set_t;

/** Fill the defaults: off, slip 2, /24, /56, window 15, nothing exempt. */
void rrl_conf_default(rrl_conf_t *c);

/**
 * Read the "rrl" object (v may be NULL: the defaults). c must hold the defaults or a
 * previous result (it is cleared first).
 * \param path  receives the JSON path of a bad value ("rrl.exempt[1]") on ERR_INVAL.
 * \param why   receives what is wrong with it.
 * \retval ERR_OK, ERR_INVAL, ERR_NOMEM. Any thread.
 */
int rrl_conf_parse(const json_t *v, rrl_conf_t *c, char *path, size_t pathlen, char *why,
		   size_t whylen);

/** Free what c owns and reset it to the defaults. */
void rrl_conf_clear(rrl_conf_t *c);

/** Whether two configurations limit the same way. */
bool rrl_conf_equal(const rrl_conf_t *a, const rrl_conf_t *b);

/**
 * Create the RRL of n_workers workers, off.
 * \param out  set to the new object; caller frees with rrl_free (after the workers stopped).
 * \retval ERR_OK, ERR_NOMEM, ERR_INVAL (n_workers 0). Control thread.
 */
int rrl_new(unsigned n_workers, rrl_t **out);

/** Free r and its current set. NULL does nothing. Control thread, workers stopped. */
void rrl_free(rrl_t *r);

/**
 * Apply a configuration: when it differs from the one applied, build a new set (fresh
 * tables) and publish it (release). The replaced set, if any, is returned in *retired for
 * the caller to free after a grace period (snap_defer on the snapshot being served); when
 * nothing changed the tables and their accounts are kept.
 * \retval ERR_OK, ERR_NOMEM (nothing changed). Control thread.
 */
int rrl_configure(rrl_t *r, const rrl_conf_t *c, struct snap_defer **retired);

/** Whether RRL is on (responses_per_second > 0). Control thread. */
bool rrl_on(const rrl_t *r);

/** The responses_per_second applied; 0 when off or r is NULL. Control thread. */
unsigned rrl_rate(const rrl_t *r);

/**
 * Worker: the set to apply for this batch (acquire load), or NULL when r is NULL or RRL is
 * off. Valid until the worker's next snap_leave; take it after snap_enter.
 */
rrl_set_t *rrl_enter(rrl_t *r);

/** Milliseconds of the monotonic clock, for rrl_apply. Any thread. */
uint32_t rrl_now_ms(void);

/**
 * Charge one UDP response to its account.
 * \param s       the set from rrl_enter (not NULL).
 * \param r       the RRL it came from (the worker's counters).
 * \param worker  the worker's number (its table and counters).
 * \param src     the client address (AF_INET or AF_INET6; other families pass).
 * \param resp    the response, len bytes; rewritten in place to an empty TC response on a
 *                slip.
 * \param now_ms  rrl_now_ms(), read once per batch.
 * \return the length to send: len, the shorter TC response, or 0 (drop).
 * Worker thread `worker` only; no allocation, no lock.
 */
size_t rrl_apply(rrl_set_t *s, rrl_t *r, unsigned worker, const struct sockaddr *src,
		 uint8_t *resp, size_t len, uint32_t now_ms);

/** Add the workers' counters into t (relaxed loads). NULL r adds nothing. Any thread. */
void rrl_stats_sum(const rrl_t *r, rrl_stats_t *t);

/** Name of a kind ("positive", "nodata", "nxdomain", "referral", "error"). */
const char *rrl_kind_name(unsigned kind);
