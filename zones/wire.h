/* SPDX-License-Identifier: MIT */
/*
 * wire.h -- the response writer: bounds, name compression, rollback.
 *
 * A wire_t writes into a caller's buffer up to a limit (the UDP payload size less the room
 * reserved for OPT). Every put either succeeds whole or leaves the buffer as it was and
 * returns false, so callers can try an RRset and fall back (truncate, or leave out an
 * optional section). Compression remembers where names were written; a suffix is
 * replaced by a pointer when an equal name (ASCII case-insensitive) is already there.
 * No allocation; one writer per worker.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_COMP_MAX 96
#define WIRE_HDR 12

/** A place in the packet where a name (or name suffix) starts. */
typedef struct wire_comp {
	uint16_t off;    /**< packet offset of the first label */
	uint8_t labels;  /**< labels from there to the root */
	uint8_t len0;    /**< length of the first label (quick reject) */
	uint8_t c0;      /**< its first byte, lower-cased (quick reject) */
} wire_comp_t;

/** Response writer state. */
typedef struct wire {
	uint8_t *buf;    /**< packet buffer (borrowed) */
	size_t len;      /**< bytes written */
	size_t limit;    /**< bytes that may be written */
	size_t n_comp;   /**< entries used in comp */
	wire_comp_t comp[WIRE_COMP_MAX]; /**< compression targets */
} wire_t;

/** Start writing: the caller has written len bytes (header and question) already. */
void wire_init(wire_t *w, uint8_t *buf, size_t len, size_t limit);

/** Remember that a name with labels labels starts at off (e.g. the question's qname). */
void wire_remember(wire_t *w, uint16_t off, const uint8_t *name);

/** Write a name (uncompressed wire, any case), compressing. False if it does not fit. */
bool wire_put_name(wire_t *w, const uint8_t *name);

/**
 * Write one RR: owner (a compression pointer when owner_ptr != 0, else the owner name),
 * type, class IN, TTL, and rdata of the given kind (enum zdb_rdkind).
 * \return false (and nothing written) if it does not fit.
 */
bool wire_put_rr(wire_t *w, uint16_t owner_ptr, const uint8_t *owner, uint16_t type,
		 uint16_t rclass, uint32_t ttl, uint8_t rdkind, const uint8_t *rdata,
		 uint16_t rdlen);

/** Store a 16-bit value at a packet offset (header fields). */
static inline void wire_set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/** Read a 16-bit value from a packet offset. */
static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
