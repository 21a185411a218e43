/* SPDX-License-Identifier: MIT */
/*
 * zdb_int.h -- internal layout of a compiled snapshot (zones/ only).
 *
 * Everything here lives in one arena per snapshot and is immutable after zdb_build().
 * Names are uncompressed wire format; owner names are lower-cased, rdata names keep the
 * case the zone file gave them.
 */
#pragma once

#include "zdb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZDB_MAXNAME 255
#define ZDB_MAXLABELS 128

/** How a record's rdata is written: which parts are names that may be compressed. */
enum zdb_rdkind {
	RD_PLAIN = 0, /**< bytes as stored */
	RD_NAME,      /**< one name (NS, CNAME, PTR): compressible */
	RD_MX,        /**< 2 bytes then a compressible name (MX, also AFSDB, RT) */
	RD_SOA,       /**< two compressible names then 20 bytes */
};

struct zdb_node;
struct zdb_zone;

/** One RRset: all records of one type at one owner. */
typedef struct zdb_rrset {
	uint16_t type;       /**< RR type */
	uint16_t count;      /**< number of records (>= 1) */
	uint32_t ttl;        /**< TTL (the lowest of the records, RFC 2181 5.2) */
	uint8_t rdkind;      /**< enum zdb_rdkind */
	const uint8_t **rdata; /**< per record: pointer to rdlen-prefixed-free rdata */
	const uint16_t *rdlen; /**< per record: rdata length */
	const struct zdb_node **target; /**< per record: in-zone node of the NS/MX/SRV target
					     for additional addresses, or NULL; NULL array
					     when the type has no targets */
} zdb_rrset_t;

/** A name in a zone: data, or an empty non-terminal. */
typedef struct zdb_node {
	const uint8_t *name;   /**< owner, lower-cased wire format */
	uint64_t hash;         /**< hash of name */
	uint8_t namelen;       /**< bytes of name */
	uint8_t labels;        /**< labels of name, root excluded */
	bool is_cut;           /**< NS at a non-apex name: a delegation point */
	bool is_wild;          /**< leftmost label is '*' */
	uint16_t n_rrsets;     /**< number of RRsets (0: empty non-terminal) */
	const zdb_rrset_t *rrsets; /**< RRsets sorted by type */
	const struct zdb_node *cut; /**< closest delegation at or above (not the apex), or NULL */
	const struct zdb_node *wild; /**< the node "*.<this name>", or NULL */
	const struct zdb_zone *zone; /**< the zone the node belongs to */
} zdb_node_t;

/** One compiled hosted zone. */
typedef struct zdb_zone {
	const zdb_node_t *apex; /**< the apex node */
	const zdb_rrset_t *soa; /**< apex SOA */
	const zdb_rrset_t *ns;  /**< apex NS */
	uint32_t neg_ttl;       /**< min(SOA TTL, SOA MINIMUM), RFC 2308 */
	char *name;             /**< presentation form */
	char *id;               /**< HostedZone.Id */
	bool private_zone;      /**< private zone */
	size_t n_names, n_rrsets, n_records; /**< counts for summaries */
	uint32_t serial;        /**< SOA serial */
} zdb_zone_t;

/** Open-addressing hash table of nodes (all zones of a view). */
typedef struct zdb_table {
	const zdb_node_t **slot; /**< slot array, NULL = empty */
	uint64_t mask;           /**< size - 1 (size a power of two) */
} zdb_table_t;

/** Arena: bump allocation in large chunks, freed whole. */
typedef struct zdb_arena_chunk {
	struct zdb_arena_chunk *next; /**< previous chunk */
	size_t used, size;            /**< bytes used / capacity of data */
	max_align_t data[];           /**< storage */
} zdb_arena_chunk_t;

/** The snapshot. */
struct zdb {
	zdb_arena_chunk_t *arena; /**< all memory of the snapshot */
	zdb_zone_t *zones;        /**< zones */
	size_t n_zones;           /**< number of zones */
	zdb_table_t public_view;  /**< nodes of public zones, most specific zone wins */
	zdb_opts_t opts;          /**< answer options (strings in arena) */
};

/** Allocate n bytes (zeroed) from the snapshot arena; NULL on failure. */
void *zdb_alloc(zdb_t *db, size_t n);

/** Hash of a lower-cased wire name. */
uint64_t zdb_hash(const uint8_t *name, size_t len);

/** Find a node by lower-cased wire name in a table; NULL if absent. */
const zdb_node_t *zdb_table_find(const zdb_table_t *t, const uint8_t *name, size_t len,
				 uint64_t hash);
