/* SPDX-License-Identifier: MIT */
/*
 * zdb.h -- the compiled zone database: one immutable snapshot of every hosted zone.
 *
 * zdb_build() loads zone files and compiles them: owner names lower-cased in wire form in
 * a hash table per zone, empty non-terminals as nodes, RRsets as wire rdata, delegation
 * cuts flagged per node. Each compiled zone is reference counted and shared by the next
 * snapshot when its sources did not change. The result is never modified; DNS workers read it
 * through const pointers with no locks, and the control thread frees it with zdb_free()
 * after a grace period (server/snap.c).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo.h"
#include "hc_state.h"

/** Longest NSID payload r53d sends (RFC 5001 leaves it to the server). */
#define ZDB_NSID_MAX 128

typedef struct zdb zdb_t;
struct dnssec_key;

/**
 * DNSSEC signing of one zone (zdb_src_t.dnssec). Keys are borrowed for zdb_build; the
 * compiled zone takes its own references (dnssec_key_ref) and drops them when freed.
 * A zone is signed when it is public, zsk is set and n_ksk >= 1.
 */
typedef struct zdb_sec_src {
	struct dnssec_key *const *ksk; /**< active KSKs (flags 257): published in DNSKEY and
					    each signs the DNSKEY RRset */
	size_t n_ksk;                  /**< how many (>= 1 to sign) */
	struct dnssec_key *zsk;        /**< the ZSK (flags 256) that signs every other RRset */
	struct dnssec_key *const *publish; /**< further DNSKEYs published but not signing:
					        a pre-published next ZSK, a retiring previous one */
	size_t n_publish;              /**< how many */
	uint32_t dnskey_ttl;           /**< TTL of the DNSKEY RRset; 0: 3600 */
} zdb_sec_src_t;

/** One hosted zone to load. All strings borrowed for the duration of zdb_build. */
typedef struct zdb_src {
	const char *id;        /**< HostedZone.Id, or "" */
	const char *name;      /**< zone name, presentation form */
	bool private_zone;     /**< private (split-view) zone */
	const char *zone_file; /**< RFC 1035 zone file path, or NULL */
	const json_t *record_sets; /**< list-resource-record-sets output, a change batch, or an
				        array of those applied in order; NULL: none */
	const char *record_sets_file; /**< where record_sets came from (messages), or NULL */
	const char *where;     /**< "CONFIG: hosted_zones[N]" for messages, or NULL */
	const json_t *vpcs;    /**< private zone: its VPCs ([{"VPCRegion", "VPCId"}]), or NULL */
	const zdb_sec_src_t *dnssec; /**< DNSSEC keys when the zone is signed, or NULL. A zone of
				    opts->prev is shared only when its keys are these same keys
				    (dnssec_key_id, in order), whatever unchanged says */
	bool unchanged;        /**< the zone of this Id in opts->prev was built from the same
				    data: share it instead of compiling it again (when safe).
				    Without it the build still shares a zone of prev whose
				    name, Id, zone file(s) (device, inode, size, times) and
				    record-set documents (the same json_t elements) are those
				    it was built from */
} zdb_src_t;

/** Resolve a HealthCheckId to a health-table slot; ERR_OK or ERR_NOTFOUND. */
typedef int (*zdb_hc_find_fn)(void *ctx, const char *id, uint32_t *slot);

/** The name a health check resolves to find its endpoint (FullyQualifiedDomainName without
 *  IPAddress) into buf; false when it has none. */
typedef bool (*zdb_hc_fqdn_fn)(void *ctx, const char *id, char *buf, size_t len);

/** A load warning (the configuration still loads). */
typedef void (*zdb_warn_fn)(const char *msg);

/** Answer options carried by the snapshot (reloadable). */
typedef struct zdb_opts {
	bool cname_chasing;            /**< follow in-zone CNAME chains */
	bool authority_ns;             /**< NS set in authority of positive answers */
	bool wildcard_parent_nxdomain; /**< spec HZ-29 compatibility flag */
	uint16_t edns_udp_size;        /**< max UDP payload we send/advertise (512..4096) */
	const char *chaos_version;     /**< version.bind text or NULL (refuse); copied */
	const char *chaos_id;          /**< id.server text or NULL (refuse); copied */
	const char *nsid;              /**< NSID option payload (RFC 5001), at most
					    ZDB_NSID_MAX bytes, or NULL: none; copied */
	uint16_t nsid_len;             /**< its length, set by the build (input ignored) */
	const hc_table_t *health;      /**< health table read by the policies; borrowed, must
					    outlive the snapshot; NULL: everything healthy */
	zdb_hc_find_fn hc_find;        /**< HealthCheckId -> slot; NULL: any id is an error */
	void *hc_ctx;                  /**< argument of hc_find and hc_fqdn */
	zdb_hc_fqdn_fn hc_fqdn;        /**< a check's FQDN, for the HC-14 warning; may be NULL */
	zdb_warn_fn warn;              /**< where warnings go; NULL: nowhere */
	const geo_db_t *geo;           /**< MaxMind database, or NULL; borrowed like health */
	const geo_latency_t *latency;  /**< geo.latency table, or NULL; borrowed like health */
	const json_t *cidr_collections; /**< conf cidr_collections (each with cidr_blocks
					     loaded), or NULL; read during the build only */
	const json_t *vpcs;            /**< conf vpcs ([{"VPCId", "VPCRegion", "sources"}]),
					    or NULL; read during the build only */
	const struct zdb *prev;        /**< the snapshot being served, whose compiled zones the
					    build may share (zdb_src_t.unchanged), or NULL;
					    borrowed: it must stay alive during the build */
	struct r53_cache *set_cache;   /**< converted record sets kept between builds (the
					    API's documents are immutable), or NULL */
	bool api_lenient;              /**< what the Route 53 API allows and a configuration
					    file does not: a private zone's VPC that vpcs[] does
					    not list is ignored (no source address sees it), a
					    private zone may have none, and a second public zone
					    of the same name is left out of the public view with
					    a warning (the first answers) */
} zdb_opts_t;

/**
 * Load and compile zones into a new snapshot.
 * \param err receives "FILE:LINE: reason" or "zone NAME: reason" on failure.
 * \retval ERR_OK (*out set; caller frees with zdb_free), ERR_IO, ERR_PARSE, ERR_INVAL,
 *         ERR_NOMEM.
 * Control/loader thread only.
 */
int zdb_build(const zdb_src_t *src, size_t n_src, const zdb_opts_t *opts, zdb_t **out,
	      char *err, size_t errlen);

/** Free a snapshot; NULL does nothing. Only after every reader has left it. */
void zdb_free(zdb_t *db);

/** Number of zones in the snapshot. */
size_t zdb_zone_count(const zdb_t *db);

/** How many of them the build shared with opts->prev instead of compiling them. */
size_t zdb_shared_count(const zdb_t *db);

/** What building a snapshot cost (zdb_build_stats). */
typedef struct zdb_build_stats {
	double seconds;     /**< time zdb_build took */
	size_t compiled;    /**< zones compiled */
	size_t shared;      /**< zones shared with the previous snapshot */
	size_t bytes_built; /**< bytes the build allocated for the new snapshot: the zones it
			         compiled, the views, the snapshot's own data */
	size_t bytes_total; /**< bytes of the snapshot, shared zones included */
} zdb_build_stats_t;

/** Fill *st with the figures of the build that made db. */
void zdb_build_stats(const zdb_t *db, zdb_build_stats_t *st);

/** Per-zone summary for --check and GET /zones. */
typedef struct zdb_zone_info {
	const char *name;   /**< zone name, presentation form; borrowed from db */
	const char *id;     /**< HostedZone.Id; borrowed */
	bool private_zone;  /**< private zone */
	size_t n_names;     /**< owner names with data */
	size_t n_rrsets;    /**< RRsets */
	size_t n_records;   /**< records */
	uint32_t serial;    /**< SOA serial */
	size_t by_policy[9]; /**< record sets by routing policy (enum zdb_policy) */
} zdb_zone_info_t;

/** Routing policies of record sets. */
enum zdb_policy {
	POL_NONE = 0,     /**< plain zone-file data */
	POL_SIMPLE,       /**< simple (record_sets) */
	POL_WEIGHTED,     /**< weighted */
	POL_LATENCY,      /**< latency */
	POL_FAILOVER,     /**< failover */
	POL_GEOLOCATION,  /**< geolocation */
	POL_GEOPROXIMITY, /**< geoproximity */
	POL_MULTIVALUE,   /**< multivalue answer */
	POL_CIDR,         /**< IP-based */
};

/** Name of a policy ("weighted"). */
const char *zdb_policy_name(int policy);

/** Fill *info for zone i (0 <= i < zdb_zone_count). */
void zdb_zone_info(const zdb_t *db, size_t i, zdb_zone_info_t *info);

/** The options this snapshot was built with; borrowed. */
const zdb_opts_t *zdb_options(const zdb_t *db);
