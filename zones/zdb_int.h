/* SPDX-License-Identifier: MIT */
/*
 * zdb_int.h -- internal layout of a compiled snapshot (zones/ only).
 *
 * A zone's data lives in its blob's arena (zdb_zblob_t), the snapshot's own data (views,
 * options, VPCs, CIDR collections) in the snapshot's arena; all of it is immutable after
 * zdb_build().
 * Names are uncompressed wire format; owner names are lower-cased, rdata names keep the
 * case the zone file gave them.
 */
#pragma once

#include "zdb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
	uint16_t count;      /**< number of records (>= 1; 0 for a dynamic group) */
	uint32_t ttl;        /**< TTL (the lowest of the records, RFC 2181 5.2) */
	uint8_t rdkind;      /**< enum zdb_rdkind */
	bool dynamic;        /**< answers come from evaluating group, not from rdata */
	const uint8_t *rd;   /**< the records back to back, each a 2-byte length (host order,
				  unaligned) then that many bytes of uncompressed wire rdata;
				  read with zdb_rd_first/zdb_rd_next; NULL when count is 0 */
	const struct zdb_node *const *target; /**< per record: in-zone node of the NS/MX/SRV
					      target for additional addresses, or NULL; NULL
					      array when the type has no targets */
	const struct zdb_group *group; /**< record-set group (policy, alias, or a simple
					    set an alias may test), or NULL for zone-file data */
} zdb_rrset_t;

/** The first record of rs (count >= 1): its rdata, its length in *len. */
static inline const uint8_t *zdb_rd_first(const zdb_rrset_t *rs, uint16_t *len)
{
	uint16_t l;
	memcpy(&l, rs->rd, sizeof(l));
	*len = l;
	return rs->rd + 2;
}

/** The record after the one at p (whose length is *len): its rdata, its length in *len. */
static inline const uint8_t *zdb_rd_next(const uint8_t *p, uint16_t *len)
{
	p += *len;
	uint16_t l;
	memcpy(&l, p, sizeof(l));
	*len = l;
	return p + 2;
}

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

/**
 * A name in a zone: data, or an empty non-terminal. Its name follows it in the same
 * allocation. The rare links (the delegation above a name, a wildcard child, the parent
 * zone's delegation at a hosted child's apex) are flags, resolved by the answer code in the
 * zone's table when a query needs them.
 */
typedef struct zdb_node {
	uint32_t hash;         /**< low 32 bits of zdb_hash(name) */
	uint8_t namelen;       /**< bytes of name */
	uint8_t labels;        /**< labels of name, root excluded */
	bool is_cut;           /**< NS at a non-apex name: a delegation point */
	bool is_wild;          /**< leftmost label is '*' */
	bool is_dname;         /**< holds a DNAME RRset (RFC 6672): names below are redirected */
	bool has_wild;         /**< the node "*.<this name>" exists */
	bool below_cut;        /**< a delegation (not the apex) or a DNAME owner (the apex too)
				    is at or above this name: the highest one occludes it */
	uint16_t n_rrsets;     /**< number of RRsets (0: empty non-terminal) */
	union {
		const zdb_rrset_t *rrsets; /**< RRsets sorted by type */
		size_t build_seq;          /**< while zone_build groups records: the order in
						which the owner first appeared */
	};
	uint8_t name[];        /**< owner, lower-cased wire format */
} zdb_node_t;

/** Open-addressing hash table of nodes (linear probing, load at most 3/4). */
typedef struct zdb_table {
	const zdb_node_t **slot; /**< slot array, NULL = empty */
	uint64_t mask;           /**< size - 1 (size a power of two) */
} zdb_table_t;

/** DNSSEC signing state of a compiled zone (zdb_zone_t.sec), in the zone's arena. The
 *  keys are referenced by the zone (dnssec_key_ref) and released with its blob. */
typedef struct zdb_sec {
	const struct dnssec_key *const *ksk; /**< active KSKs: each signs the DNSKEY RRset */
	size_t n_ksk;                 /**< >= 1 */
	const struct dnssec_key *zsk; /**< signs every other RRset */
	uint32_t dnskey_ttl;          /**< TTL of the DNSKEY RRset (also in the apex node) */
} zdb_sec_t;

/** One compiled hosted zone. */
typedef struct zdb_zone {
	const zdb_node_t *apex; /**< the apex node */
	const zdb_rrset_t *soa; /**< apex SOA */
	const zdb_rrset_t *ns;  /**< apex NS */
	zdb_table_t nodes;      /**< every node of the zone, by name (slots malloc'd, freed
				     with the zone's blob) */
	uint32_t neg_ttl;       /**< min(SOA TTL, SOA MINIMUM), RFC 2308 */
	const zdb_sec_t *sec;   /**< DNSSEC signing keys, or NULL: not signed. A signed zone
				     has a DNSKEY RRset at its apex node (every key of
				     zdb_sec_src_t: KSKs, the ZSK, the published ones) and
				     every TTL capped at one week (604800, Route 53) */
	char *name;             /**< presentation form */
	char *id;               /**< HostedZone.Id */
	bool private_zone;      /**< private zone */
	size_t n_names, n_rrsets, n_records; /**< counts for summaries */
	size_t n_nodes;         /**< nodes: names with data and empty non-terminals */
	uint32_t serial;        /**< SOA serial */
	size_t by_policy[9];    /**< record sets by policy */
} zdb_zone_t;

/**
 * The zones a view sees, by apex name: a query finds its zone (the most specific apex
 * that is a suffix of the name) here, then its node in that zone's table. A hosted child
 * zone's names are therefore never looked up in its parent.
 */
typedef struct zdb_view {
	const zdb_zone_t **slot; /**< apex table (open addressing by apex hash), NULL = empty */
	uint64_t mask;           /**< size - 1 */
	uint8_t min_labels;      /**< fewest labels of an apex in the view */
	uint8_t max_labels;      /**< most labels of an apex in the view */
} zdb_view_t;

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
	zdb_view_t view;        /**< its private zones */
} zdb_vpc_t;

/**
 * One compiled zone and the memory it lives in, shared by every snapshot that serves it
 * unchanged: a change to one zone compiles that zone again and shares the others with the
 * previous snapshot (reference counted; the last snapshot to go frees it, after its grace
 * period). Immutable once built.
 */
/** A file a zone was read from, as it was when read: a reload shares the zone while every
 *  one of its files is unchanged. */
typedef struct zdb_zfile {
	char *path;                 /**< as the loader opened it (malloc'd) */
	uint64_t dev, ino;          /**< which file */
	uint64_t size;              /**< its size */
	int64_t mtime_ns, ctime_ns; /**< its modification and change times (ns) */
} zdb_zfile_t;

/** A health check a zone refers to, and the slot it was given. */
typedef struct zdb_hcref {
	const char *id;             /**< HealthCheckId (in the blob's arena) */
	uint32_t slot;              /**< health-table slot */
} zdb_hcref_t;

typedef struct zdb_zblob {
	_Atomic unsigned refs;      /**< snapshots holding it */
	zdb_arena_chunk_t *arena;   /**< its nodes, RRsets, groups, rdata */
	zdb_zone_t zone;            /**< the zone */
	bool uses_colls;            /**< groups point into a snapshot's CIDR collections: never
				         shared */
	size_t bytes;               /**< bytes of its arena and node table */
	/* What it was built from, so that a reload can tell it has not changed: */
	char *zone_file;            /**< zdb_src_t.zone_file (malloc'd), or NULL */
	zdb_zfile_t *files;         /**< the zone file and its includes (malloc'd), or NULL */
	size_t n_files;             /**< how many; 0 with zone_file set: not comparable */
	json_t *record_sets;        /**< zdb_src_t.record_sets (a reference; its elements are
				         immutable documents), or NULL */
	zdb_hcref_t *hcs;           /**< health checks it refers to (malloc'd; ids in arena) */
	size_t n_hcs;               /**< how many */
} zdb_zblob_t;

/** Drop one reference to a blob; the last frees it. NULL does nothing. */
void zdb_zblob_unref(zdb_zblob_t *zb);

/** The snapshot. */
struct zdb {
	zdb_arena_chunk_t *arena; /**< all memory of the snapshot */
	zdb_zone_t *zones;        /**< zones (copies of the blobs' zone structs) */
	zdb_zblob_t **blobs;      /**< per zone: the blob it lives in (one reference each) */
	size_t n_shared;          /**< zones shared with the previous snapshot (not compiled) */
	size_t bytes_built;       /**< bytes this build allocated for the snapshot (arenas of the
				       zones it compiled, tables, the snapshot's own arena) */
	size_t bytes_total;       /**< bytes of the whole snapshot, shared zones included */
	double build_seconds;     /**< how long zdb_build took */
	size_t n_zones;           /**< number of zones */
	zdb_view_t public_view;   /**< the public zones */
	zdb_opts_t opts;          /**< answer options (strings in arena) */
	zdb_vpc_t *vpcs;          /**< VPCs, first match of a source wins (malloc'd) */
	size_t n_vpcs;            /**< number of VPCs */
	zdb_cidr_coll_t *colls;   /**< CIDR collections */
	size_t n_colls;           /**< number of collections */
};

/** Allocate n bytes (zeroed, pointer-aligned) from the current arena; NULL on failure. */
void *zdb_alloc(zdb_t *db, size_t n);

/** Allocate n bytes (zeroed) aligned to align (a power of two, at most that of
 *  max_align_t) from the current arena; NULL on failure. */
void *zdb_alloc_al(zdb_t *db, size_t n, size_t align);

/** Bytes held by an arena (chunks and their headers). */
size_t zdb_arena_bytes(const zdb_arena_chunk_t *c);

/** Hash of a lower-cased wire name. */
uint64_t zdb_hash(const uint8_t *name, size_t len);

/** Find a node by lower-cased wire name in a table; NULL if absent. */
const zdb_node_t *zdb_table_find(const zdb_table_t *t, const uint8_t *name, size_t len,
				 uint64_t hash);

/**
 * The most specific zone of view v whose apex is a suffix of name and has at most
 * max_labels labels, or NULL. off[i] is the offset of label i of name (off[nlabels]: the
 * root label); *idx receives the index of the apex's first label.
 */
const zdb_zone_t *zdb_view_find(const zdb_view_t *v, const uint8_t *name, size_t len,
				const uint8_t *off, uint8_t nlabels, unsigned max_labels,
				uint8_t *idx);
