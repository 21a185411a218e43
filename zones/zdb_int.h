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
struct zdb_group;

#define ZDB_NO_HC UINT32_MAX
#define ZDB_MV_MAX 8      /* multivalue: at most 8 record sets per answer */
#define ZDB_ALIAS_DEPTH 16 /* spec AL-11 */

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
	const struct zdb_group *group; /**< record-set group (policy, alias, or a simple
					    set an alias may test), or NULL for zone-file data */
	bool dynamic;          /**< answers come from evaluating group, not from rdata */
} zdb_rrset_t;

/** Failover role. */
enum { ZDB_PRIMARY = 1, ZDB_SECONDARY = 2 };

/** Geolocation key level: which code of the client it matches. */
enum { GEO_LVL_DEFAULT = 0, GEO_LVL_CONTINENT, GEO_LVL_COUNTRY, GEO_LVL_SUBDIVISION };

/** One record set of a group (Route 53 ResourceRecordSet). */
typedef struct zdb_member {
	const char *set_id;     /**< SetIdentifier ("" for simple) */
	uint32_t hc;            /**< health-table slot, or ZDB_NO_HC */
	const char *hc_id;      /**< HealthCheckId, or NULL */
	bool alias;             /**< AliasTarget instead of values */
	bool eth;               /**< EvaluateTargetHealth */
	const zdb_rrset_t *target; /**< alias target (name, type) in the same zone */
	const uint8_t *target_name; /**< alias DNSName, wire */
	zdb_rrset_t values;     /**< values (non-alias): ttl, rdata */
	uint16_t weight;        /**< weighted */
	uint8_t failover;       /**< ZDB_PRIMARY / ZDB_SECONDARY */
	int16_t region;         /**< latency Region / geoproximity AWSRegion index, or -1 */
	uint8_t geo_level;      /**< GEO_LVL_* */
	char geo_code[4];       /**< continent, country or subdivision code */
	char geo_cc[3];         /**< country of a subdivision record */
	double lat, lon;        /**< geoproximity coordinates */
	int8_t bias;            /**< geoproximity bias */
	int16_t cidr_loc;       /**< IP-based location index, -1 for "*" */
} zdb_member_t;

/** One CIDR block of a collection, pointing at a location. */
typedef struct zdb_cidr_block {
	geo_cidr_t net;         /**< the block */
	int16_t loc;            /**< location index */
} zdb_cidr_block_t;

/** An IP-based routing collection. */
typedef struct zdb_cidr_coll {
	char *id;               /**< CollectionId */
	char *name;             /**< collection Name */
	char **locs;            /**< location names, sorted (byte order) */
	size_t n_locs;          /**< number of locations */
	zdb_cidr_block_t *blocks; /**< blocks sorted by prefix length, longest first */
	size_t n_blocks;        /**< number of blocks */
} zdb_cidr_coll_t;

/** All record sets of one (name, type): one policy. */
typedef struct zdb_group {
	uint8_t policy;         /**< enum zdb_policy */
	uint16_t type;          /**< RR type */
	uint16_t n;             /**< members */
	const zdb_member_t *m;  /**< members sorted by SetIdentifier (byte order) */
	const zdb_cidr_coll_t *coll; /**< IP-based collection */
	const struct zdb_node *node; /**< owner node */
} zdb_group_t;

/** A name in a zone: data, or an empty non-terminal. */
typedef struct zdb_node {
	const uint8_t *name;   /**< owner, lower-cased wire format */
	uint64_t hash;         /**< hash of name */
	uint8_t namelen;       /**< bytes of name */
	uint8_t labels;        /**< labels of name, root excluded */
	bool is_cut;           /**< NS at a non-apex name: a delegation point */
	bool is_wild;          /**< leftmost label is '*' */
	bool is_dname;         /**< holds a DNAME RRset (RFC 6672): names below are redirected */
	uint16_t n_rrsets;     /**< number of RRsets (0: empty non-terminal) */
	const zdb_rrset_t *rrsets; /**< RRsets sorted by type */
	const struct zdb_node *cut; /**< highest delegation (not the apex) or DNAME owner (the
					 apex too) at or above this name, or NULL: whatever is
					 below it is occluded */
	const struct zdb_node *wild; /**< the node "*.<this name>", or NULL */
	const struct zdb_zone *zone; /**< the zone the node belongs to */
	const struct zdb_node *ds_parent; /**< at the apex of a hosted child zone: the parent
					       zone's delegation node, which answers DS (HZ-35) */
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
	size_t by_policy[9];    /**< record sets by policy */
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

/** A VPC: queries from its sources see its private zones (spec 2.2, OC-9). */
typedef struct zdb_vpc {
	char *id;               /**< VPCId */
	int region;             /**< VPCRegion index (client location in private zones) */
	geo_cidr_t *nets;       /**< source CIDRs identifying its queries */
	size_t n_nets;          /**< number of nets */
	zdb_table_t view;       /**< nodes of its private zones, most specific zone wins */
} zdb_vpc_t;

/**
 * One compiled zone and the memory it lives in, shared by every snapshot that serves it
 * unchanged: a change to one zone compiles that zone again and shares the others with the
 * previous snapshot (reference counted; the last snapshot to go frees it, after its grace
 * period). Immutable once built.
 */
typedef struct zdb_zblob {
	_Atomic unsigned refs;      /**< snapshots holding it */
	zdb_arena_chunk_t *arena;   /**< its nodes, RRsets, groups, rdata */
	zdb_zone_t zone;            /**< the zone; its nodes point here */
	zdb_node_t **nodes;         /**< every node of the zone (in arena) */
	size_t n_nodes;             /**< how many */
	bool uses_colls;            /**< groups point into a snapshot's CIDR collections: never
				         shared */
} zdb_zblob_t;

/** Drop one reference to a blob; the last frees it. NULL does nothing. */
void zdb_zblob_unref(zdb_zblob_t *zb);

/** The snapshot. */
struct zdb {
	zdb_arena_chunk_t *arena; /**< all memory of the snapshot */
	zdb_zone_t *zones;        /**< zones (copies of the blobs' zone structs) */
	zdb_zblob_t **blobs;      /**< per zone: the blob it lives in (one reference each) */
	size_t n_shared;          /**< zones shared with the previous snapshot (not compiled) */
	size_t n_zones;           /**< number of zones */
	zdb_table_t public_view;  /**< nodes of public zones, most specific zone wins */
	zdb_opts_t opts;          /**< answer options (strings in arena) */
	zdb_vpc_t *vpcs;          /**< VPCs, first match of a source wins (malloc'd) */
	size_t n_vpcs;            /**< number of VPCs */
	zdb_cidr_coll_t *colls;   /**< CIDR collections */
	size_t n_colls;           /**< number of collections */
};

/** Allocate n bytes (zeroed) from the snapshot arena; NULL on failure. */
void *zdb_alloc(zdb_t *db, size_t n);

/** Hash of a lower-cased wire name. */
uint64_t zdb_hash(const uint8_t *name, size_t len);

/** Find a node by lower-cased wire name in a table; NULL if absent. */
const zdb_node_t *zdb_table_find(const zdb_table_t *t, const uint8_t *name, size_t len,
				 uint64_t hash);
