/* SPDX-License-Identifier: MIT */
/*
 * hc_state.h -- the published health table and its lock-free readers.
 *
 * STYLE.md section 4, design B for values and A for shape: one _Atomic uint32_t status
 * word per health check, in a flat table indexed by a slot number that the zone compiler
 * resolves once with hc_slot_find(). Slots are keyed by health check Id and never change
 * for the life of the process, so state survives reloads.
 *
 * Word layout (after gdnsd's state-plus-TTL word):
 *   bit 31      unhealthy (0 = healthy, so a zero word, and any unknown slot, is healthy)
 *   bit 30      forced by an operator (health.force or hc_force)
 *   bits 0..23  change counter: +1 each time bit 31 changes (wraps at 2^24)
 *
 * Written by: hc_agg.c only (the aggregator; every store happens under the system's
 *   aggregation lock, so there is one writer at a time), relaxed stores: each word stands
 *   alone and guards no other data.
 * Read by: DNS workers and anyone else, with hc_word()/hc_is_healthy(), no lock.
 * Shape: a table never grows in place. When a reload needs more slots than the table
 *   holds, a larger copy is published with a release store (hc_table() loads it with
 *   acquire). The old table, which the zone snapshot being served still reads, gets every
 *   word too until the caller has published a snapshot built with the new one
 *   (hc_tables_release); then it is handed to the retire hook (hc_set_retire) to be freed
 *   with hc_table_free() after the caller's grace period.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/** Bit 31: the check is unhealthy. */
#define HC_WORD_UNHEALTHY 0x80000000u
/** Bit 30: the status is pinned by an operator. */
#define HC_WORD_FORCED 0x40000000u
/** Bits 0..23: change counter. */
#define HC_WORD_COUNTER 0x00ffffffu

/** A published status table. Immutable shape; the words change. */
typedef struct hc_table {
	uint32_t n;                  /**< number of words (capacity; slots >= n are unknown) */
	uint32_t reserved;           /**< padding, zero */
	_Atomic uint32_t words[];    /**< one status word per slot */
} hc_table_t;

/**
 * The status word of a slot.
 * \param t     a table from hc_table(); borrowed; NULL is allowed (every slot healthy).
 * \param slot  from hc_slot_find(); out of range means unknown.
 * \return the word; 0 (healthy, not forced, counter 0) for an unknown slot.
 * Any thread; no lock, no allocation.
 */
static inline uint32_t hc_word(const hc_table_t *t, uint32_t slot)
{
	if (t == NULL || slot >= t->n)
		return 0;
	return atomic_load_explicit((_Atomic uint32_t *)&t->words[slot], memory_order_relaxed);
}

/**
 * Whether a slot is healthy. Unknown slots (and a NULL table) are healthy.
 * Any thread; no lock, no allocation.
 */
static inline bool hc_is_healthy(const hc_table_t *t, uint32_t slot)
{
	return (hc_word(t, slot) & HC_WORD_UNHEALTHY) == 0;
}

/**
 * Free a table that was handed to the retire hook, once no reader can see it.
 * NULL does nothing. Any thread.
 */
void hc_table_free(hc_table_t *t);
