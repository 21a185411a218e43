/* SPDX-License-Identifier: MIT */
/*
 * zdb.c -- snapshot arena, name hashing, node tables and summaries.
 */
#include "zdb_int.h"
#include "dnssec.h"
#include "err.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (1u << 20)

void *zdb_alloc_al(zdb_t *db, size_t n, size_t align)
{
	zdb_arena_chunk_t *c = db->arena;
	if (c != NULL) {
		size_t pad = (align - c->used % align) % align;
		if (c->size - c->used >= n + pad) {
			void *p = (char *)c->data + c->used + pad;
			c->used += n + pad;
			return p;
		}
	}
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (c == NULL || c->size - c->used < n) {
		/* chunks grow from 4 KiB to 1 MiB: every zone has an arena of its own */
		size_t size = c == NULL ? 4096 : (c->size >= ARENA_CHUNK / 2 ? ARENA_CHUNK : c->size * 2);
		if (n > ARENA_CHUNK / 2)
			size = n;
		else if (size < n)
			size = ARENA_CHUNK;
		c = calloc(1, sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		c->size = size;
		if (n > ARENA_CHUNK / 2 && db->arena != NULL) {
			/* a big block: keep the current chunk for small ones */
			c->next = db->arena->next;
			db->arena->next = c;
			c->used = n;
			return c->data;
		}
		c->next = db->arena;
		db->arena = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

void *zdb_alloc(zdb_t *db, size_t n)
{
	return zdb_alloc_al(db, n, sizeof(void *));
}

size_t zdb_arena_bytes(const zdb_arena_chunk_t *c)
{
	size_t n = 0;
	for (; c != NULL; c = c->next)
		n += sizeof(*c) + c->size;
	return n;
}

uint64_t zdb_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		p += 8;
		len -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	h *= 0x9E3779B97F4A7C15ULL;
	h ^= h >> 32;
	return h;
}

const zdb_node_t *zdb_table_find(const zdb_table_t *t, const uint8_t *name, size_t len,
				 uint64_t hash)
{
	if (t->slot == NULL)
		return NULL;
	for (uint64_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		const zdb_node_t *n = t->slot[i];
		if (n == NULL)
			return NULL;
		if (n->hash == (uint32_t)hash && n->namelen == len && memcmp(n->name, name, len) == 0)
			return n;
	}
}

const zdb_zone_t *zdb_view_find(const zdb_view_t *v, const uint8_t *name, size_t len,
				const uint8_t *off, uint8_t nlabels, unsigned max_labels,
				uint8_t *idx)
{
	if (v->slot == NULL)
		return NULL;
	unsigned top = max_labels < nlabels ? max_labels : nlabels;
	if (top > v->max_labels)
		top = v->max_labels;
	for (unsigned l = top + 1; l-- > v->min_labels;) {
		uint8_t i = (uint8_t)(nlabels - l);
		const uint8_t *sfx = name + off[i];
		size_t slen = len - off[i];
		uint32_t h = (uint32_t)zdb_hash(sfx, slen);
		for (uint64_t k = h & v->mask;; k = (k + 1) & v->mask) {
			const zdb_zone_t *z = v->slot[k];
			if (z == NULL)
				break;
			const zdb_node_t *a = z->apex;
			if (a->hash == h && a->namelen == slen && memcmp(a->name, sfx, slen) == 0) {
				*idx = i;
				return z;
			}
		}
	}
	return NULL;
}

static void arena_free(zdb_arena_chunk_t *c)
{
	while (c != NULL) {
		zdb_arena_chunk_t *next = c->next;
		free(c);
		c = next;
	}
}

void zdb_zblob_unref(zdb_zblob_t *zb)
{
	if (zb == NULL || atomic_fetch_sub_explicit(&zb->refs, 1, memory_order_acq_rel) != 1)
		return;
	const zdb_sec_t *sec = zb->zone.sec; /* in the arena: release the keys first */
	if (sec != NULL) {
		for (size_t i = 0; i < sec->n_ksk; i++)
			dnssec_key_free((dnssec_key_t *)sec->ksk[i]);
		dnssec_key_free((dnssec_key_t *)sec->zsk);
	}
	arena_free(zb->arena);
	free((void *)zb->zone.nodes.slot);
	free(zb->zone.name);
	free(zb->zone.id);
	free(zb->zone_file);
	for (size_t i = 0; i < zb->n_files; i++)
		free(zb->files[i].path);
	free(zb->files);
	free(zb->hcs);
	json_decref(zb->record_sets);
	free(zb);
}

void zdb_free(zdb_t *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->n_zones; i++)
		zdb_zblob_unref(db->blobs ? db->blobs[i] : NULL);
	free(db->blobs);
	free(db->zones);
	free(db->public_view.slot);
	for (size_t i = 0; i < db->n_vpcs; i++)
		free(db->vpcs[i].view.slot);
	free(db->vpcs);
	arena_free(db->arena);
	free(db);
}

size_t zdb_zone_count(const zdb_t *db)
{
	return db->n_zones;
}

size_t zdb_shared_count(const zdb_t *db)
{
	return db->n_shared;
}

void zdb_build_stats(const zdb_t *db, zdb_build_stats_t *st)
{
	st->seconds = db->build_seconds;
	st->compiled = db->n_zones - db->n_shared;
	st->shared = db->n_shared;
	st->bytes_built = db->bytes_built;
	st->bytes_total = db->bytes_total;
}

void zdb_zone_info(const zdb_t *db, size_t i, zdb_zone_info_t *info)
{
	const zdb_zone_t *z = &db->zones[i];
	info->name = z->name;
	info->id = z->id;
	info->private_zone = z->private_zone;
	info->n_names = z->n_names;
	info->n_rrsets = z->n_rrsets;
	info->n_records = z->n_records;
	info->serial = z->serial;
	memcpy(info->by_policy, z->by_policy, sizeof(info->by_policy));
}

const zdb_opts_t *zdb_options(const zdb_t *db)
{
	return &db->opts;
}

const char *zdb_policy_name(int policy)
{
	static const char *const names[] = { "plain", "simple", "weighted", "latency",
					     "failover", "geolocation", "geoproximity",
					     "multivalue", "ip-based" };
	return policy >= 0 && policy <= POL_CIDR ? names[policy] : "?";
}
