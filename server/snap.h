/* SPDX-License-Identifier: MIT */
/*
 * snap.h -- publication of zone snapshots to the DNS workers, and grace periods.
 *
 * One publisher (the control thread) and N readers (the workers). Readers load the current
 * snapshot with one acquire load per batch (snap_enter) and report a quiescent point when
 * they hold no snapshot pointer any more (snap_leave: after every batch, after every TCP
 * event, and from a 100 ms timer so that idle workers report too).
 *
 * Grace periods are QSBR (quiescent-state based reclamation, the scheme of liburcu's QSBR
 * flavour and gdnsd): the publisher swaps the pointer, bumps a global epoch E and retires
 * the old snapshot tagged with E. A reader's slot holds the global epoch it saw at its last
 * quiescent point; once every slot is >= E, no reader can still hold the old pointer, and
 * snap_reclaim() frees it. Nothing is ever freed because time has passed.
 *
 * Thread notes, for the whole module:
 *   written by:        snap_publish/snap_reclaim: control thread only;
 *                      slot i: reader thread i only (snap_leave).
 *   read by:           the current pointer and the global epoch: every reader;
 *                      the slots: the control thread.
 *   synchronised by:   release/acquire on the pointer, the epoch and the slots; no locks.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zdb.h"

/** Something else to free together with a snapshot (e.g. a retired health table). */
typedef struct snap_defer {
	void (*fn)(void *p);     /**< the free function */
	void *p;                 /**< its argument */
	struct snap_defer *next; /**< next item */
} snap_defer_t;

/**
 * One published snapshot: everything per-reload that the workers read. Immutable once
 * published, except the fields marked "control thread only", which readers never touch.
 */
typedef struct snap {
	const zdb_t *db;     /**< the compiled zones; owned, freed with the snapshot */
	const geo_db_t *geo; /**< the MaxMind database the zones were built with, or NULL; owned */
	const geo_latency_t *latency; /**< the latency table, or NULL; owned */
	uint64_t generation; /**< 1 for the start-up snapshot, +1 per successful reload */
	uint64_t retire_epoch; /**< control thread only: epoch every reader must reach */
	snap_defer_t *defer; /**< control thread only: freed with the snapshot */
	struct snap *next;   /**< control thread only: next retired snapshot */
} snap_t;

/** The publication point and the readers' epoch slots. */
typedef struct snap_domain snap_domain_t;

/**
 * Create a domain for n_readers readers (workers 0 .. n_readers-1), with no snapshot.
 * \param out  set to the new domain; caller frees with snap_domain_free.
 * \retval ERR_OK, ERR_NOMEM, ERR_INVAL (n_readers == 0).
 * Control thread, before the readers start.
 */
int snap_domain_new(unsigned n_readers, snap_domain_t **out);

/**
 * Free the domain, the current snapshot and every retired one (zdb_free included).
 * Only after every reader thread has stopped. NULL does nothing. Control thread.
 */
void snap_domain_free(snap_domain_t *d);

/**
 * Make a new snapshot. Takes ownership of db, geo and latency (geo and latency may be NULL;
 * all are freed with the snapshot, after its grace period).
 * \retval a snapshot to pass to snap_publish, or NULL when out of memory (everything given
 *         is then freed).
 * Control thread.
 */
snap_t *snap_new(zdb_t *db, geo_db_t *geo, geo_latency_t *latency, uint64_t generation);

/**
 * Free items together with snapshot s (when s itself is freed, after its grace period):
 * for what s's readers may still reach but s does not own, such as a health table that
 * the health-check module has replaced. Takes ownership of the list (NULL: nothing).
 * Control thread.
 */
void snap_defer(snap_t *s, snap_defer_t *list);

/** Free a list of deferred items now (no reader may reach them). Any thread. */
void snap_defer_run(snap_defer_t *list);

/**
 * Publish s (takes ownership) with one release store; the previous snapshot, if any, is
 * retired and freed by a later snap_reclaim once its grace period has ended.
 * Control thread only (the one publisher).
 */
void snap_publish(snap_domain_t *d, snap_t *s);

/**
 * Free the retired snapshots whose grace period has ended: every reader has reported a
 * quiescent point since they were retired.
 * \return the number of retired snapshots still waiting (0: nothing left to do).
 * Control thread; call it from a timer while it returns non-zero.
 */
size_t snap_reclaim(snap_domain_t *d);

/**
 * The current snapshot, for the control thread (the publisher) only: it stays valid until
 * the control thread itself publishes again. Never NULL after the first snap_publish.
 */
snap_t *snap_current(const snap_domain_t *d);

/** The global epoch now (after a snap_publish: the epoch that publication started).
 *  Control thread. */
uint64_t snap_epoch(const snap_domain_t *d);

/** Whether every reader has reported a quiescent point at or after epoch e: none can still
 *  hold a snapshot published before e. Control thread. */
bool snap_reached(const snap_domain_t *d, uint64_t e);

/**
 * Reader: load the current snapshot (acquire). The pointer is valid until this reader's
 * next snap_leave; do not keep it across event-loop callbacks.
 * Worker thread `reader` only.
 */
const snap_t *snap_enter(snap_domain_t *d, unsigned reader);

/**
 * Reader: report a quiescent point: this reader holds no snapshot pointer now.
 * One acquire load of the global epoch and one release store to the reader's own cache line.
 * Worker thread `reader` only.
 */
void snap_leave(snap_domain_t *d, unsigned reader);
