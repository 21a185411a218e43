/* SPDX-License-Identifier: MIT */
/*
 * hc_state.c -- the Id -> slot map and the status tables (see hc_state.h).
 *
 * Slots are handed out in order of first appearance of an Id and never reused, so a
 * compiled zone snapshot that refers to slot 7 keeps meaning the same check across any
 * number of health reloads. Table capacity is a power of two (at least 64); a reload
 * that needs more slots publishes a copy twice as large.
 */
#include <stdlib.h>
#include <string.h>

#include "hc_int.h"

static uint64_t id_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static int rehash(hc_slots_t *s, uint32_t cap)
{
	uint32_t *h = calloc(cap, sizeof(*h));
	if (h == NULL)
		return HC_ENOMEM;
	for (uint32_t i = 0; i < s->n; i++)
		for (uint32_t j = (uint32_t)id_hash(s->ids[i]) & (cap - 1);; j = (j + 1) & (cap - 1))
			if (h[j] == 0) {
				h[j] = i + 1;
				break;
			}
	free(s->hash);
	s->hash = h;
	s->hash_cap = cap;
	return HC_OK;
}

int hc_slots_get(hc_slots_t *s, const char *id, uint32_t *slot)
{
	if (s->hash_cap != 0) {
		uint32_t mask = s->hash_cap - 1;
		for (uint32_t j = (uint32_t)id_hash(id) & mask;; j = (j + 1) & mask) {
			if (s->hash[j] == 0)
				break;
			if (strcmp(s->ids[s->hash[j] - 1], id) == 0) {
				*slot = s->hash[j] - 1;
				return HC_OK;
			}
		}
	}
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;
		char **ids = realloc(s->ids, cap * sizeof(*ids));
		if (ids == NULL)
			return HC_ENOMEM;
		s->ids = ids;
		s->cap = cap;
	}
	if ((s->n + 1) * 2 > s->hash_cap && rehash(s, s->hash_cap ? s->hash_cap * 2 : 128) < 0)
		return HC_ENOMEM;
	char *copy = strdup(id);
	if (copy == NULL)
		return HC_ENOMEM;
	s->ids[s->n] = copy;
	uint32_t mask = s->hash_cap - 1;
	for (uint32_t j = (uint32_t)id_hash(id) & mask;; j = (j + 1) & mask)
		if (s->hash[j] == 0) {
			s->hash[j] = s->n + 1;
			break;
		}
	*slot = s->n++;
	return HC_OK;
}

void hc_slots_deinit(hc_slots_t *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	free(s->hash);
	memset(s, 0, sizeof(*s));
}

hc_table_t *hc_table_new(uint32_t n)
{
	uint32_t cap = 64;
	while (cap < n)
		cap *= 2;
	hc_table_t *t = calloc(1, sizeof(*t) + cap * sizeof(t->words[0]));
	if (t == NULL)
		return NULL;
	t->n = cap;
	for (uint32_t i = 0; i < cap; i++)
		atomic_init(&t->words[i], 0);
	return t;
}

void hc_table_free(hc_table_t *t)
{
	free(t);
}
