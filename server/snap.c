/* SPDX-License-Identifier: MIT */
/*
 * snap.c -- snapshot publication and grace periods (STYLE.md section 4, "Grace periods").
 *
 * Memory orders, and why they suffice:
 *   publisher: store(cur, new, release); fetch_add(epoch, 1, acq_rel) -> E; retire old at E.
 *   reader:    leave: e = load(epoch, acquire); store(slot, e, release).
 *              enter: load(cur, acquire).
 * A reader whose slot shows e >= E read the bumped epoch, so the new pointer store happened
 * before its later snap_enter calls (they cannot return the old snapshot), and everything it
 * did with the old snapshot happened before its slot store, which the publisher reads with
 * acquire before freeing.
 */
#include "snap.h"
#include "err.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_CACHELINE 64

/* One reader's epoch, alone on its cache line so readers never share a written line. */
typedef struct snap_slot {
	alignas(SNAP_CACHELINE) _Atomic uint64_t epoch; /* last epoch seen at a quiescent point */
	char pad[SNAP_CACHELINE - sizeof(uint64_t)];    /* keeps the next slot off this line */
} snap_slot_t;

struct snap_domain {
	alignas(SNAP_CACHELINE) _Atomic(snap_t *) cur; /* current snapshot; written by control */
	_Atomic uint64_t epoch;   /* global epoch; bumped by control at each publish */
	alignas(SNAP_CACHELINE) snap_t *retired; /* control only: retired, oldest last */
	unsigned n_readers;       /* number of slots */
	snap_slot_t *slots;       /* n_readers cache-line-aligned slots */
};

void snap_defer_run(snap_defer_t *list)
{
	while (list != NULL) {
		snap_defer_t *x = list;
		list = x->next;
		x->fn(x->p);
		free(x);
	}
}

static void snap_free(snap_t *s)
{
	if (s == NULL)
		return;
	zdb_free((zdb_t *)s->db);
	geo_db_free((geo_db_t *)s->geo);
	geo_latency_free((geo_latency_t *)s->latency);
	snap_defer_run(s->defer);
	free(s);
}

int snap_domain_new(unsigned n_readers, snap_domain_t **out)
{
	int ret = ERR_NOMEM;
	snap_domain_t *d = NULL;

	*out = NULL;
	if (n_readers == 0)
		return ERR_INVAL;
	d = aligned_alloc(SNAP_CACHELINE, sizeof(*d));
	if (d == NULL)
		goto out;
	memset(d, 0, sizeof(*d));
	d->slots = aligned_alloc(SNAP_CACHELINE, sizeof(snap_slot_t) * n_readers);
	if (d->slots == NULL)
		goto out;
	for (unsigned i = 0; i < n_readers; i++)
		atomic_init(&d->slots[i].epoch, 0);
	atomic_init(&d->cur, NULL);
	atomic_init(&d->epoch, 1);
	d->n_readers = n_readers;
	*out = d;
	d = NULL;
	ret = ERR_OK;
out:
	if (d != NULL)
		free(d->slots);
	free(d);
	return ret;
}

void snap_domain_free(snap_domain_t *d)
{
	if (d == NULL)
		return;
	while (d->retired != NULL) {
		snap_t *s = d->retired;
		d->retired = s->next;
		snap_free(s);
	}
	snap_free(atomic_load_explicit(&d->cur, memory_order_relaxed));
	free(d->slots);
	free(d);
}

snap_t *snap_new(zdb_t *db, geo_db_t *geo, geo_latency_t *latency, uint64_t generation)
{
	snap_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		zdb_free(db);
		geo_db_free(geo);
		geo_latency_free(latency);
		return NULL;
	}
	s->db = db;
	s->geo = geo;
	s->latency = latency;
	s->generation = generation;
	return s;
}

void snap_defer(snap_t *s, snap_defer_t *list)
{
	while (list != NULL) {
		snap_defer_t *x = list;
		list = x->next;
		x->next = s->defer;
		s->defer = x;
	}
}

void snap_publish(snap_domain_t *d, snap_t *s)
{
	snap_t *old = atomic_load_explicit(&d->cur, memory_order_relaxed);
	atomic_store_explicit(&d->cur, s, memory_order_release);
	uint64_t e = atomic_fetch_add_explicit(&d->epoch, 1, memory_order_acq_rel) + 1;
	if (old == NULL)
		return;
	old->retire_epoch = e;
	old->next = d->retired;
	d->retired = old;
}

/* The smallest epoch any reader has reported. */
static uint64_t min_reader_epoch(const snap_domain_t *d)
{
	uint64_t min = UINT64_MAX;
	for (unsigned i = 0; i < d->n_readers; i++) {
		uint64_t e = atomic_load_explicit(&d->slots[i].epoch, memory_order_acquire);
		if (e < min)
			min = e;
	}
	return min;
}

uint64_t snap_epoch(const snap_domain_t *d)
{
	return atomic_load_explicit(&d->epoch, memory_order_acquire);
}

bool snap_reached(const snap_domain_t *d, uint64_t e)
{
	return min_reader_epoch(d) >= e;
}

size_t snap_reclaim(snap_domain_t *d)
{
	if (d->retired == NULL)
		return 0;
	uint64_t min = min_reader_epoch(d);
	size_t waiting = 0;
	snap_t **pp = &d->retired;
	while (*pp != NULL) {
		snap_t *s = *pp;
		if (s->retire_epoch <= min) {
			*pp = s->next;
			snap_free(s);
		} else {
			waiting++;
			pp = &s->next;
		}
	}
	return waiting;
}

snap_t *snap_current(const snap_domain_t *d)
{
	/* The control thread is the only writer of cur, so a relaxed load sees its own store. */
	return atomic_load_explicit(&((snap_domain_t *)d)->cur, memory_order_relaxed);
}

const snap_t *snap_enter(snap_domain_t *d, unsigned reader)
{
	(void)reader;
	return atomic_load_explicit(&d->cur, memory_order_acquire);
}

void snap_leave(snap_domain_t *d, unsigned reader)
{
	uint64_t e = atomic_load_explicit(&d->epoch, memory_order_acquire);
	atomic_store_explicit(&d->slots[reader].epoch, e, memory_order_release);
}
