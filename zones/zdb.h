/* SPDX-License-Identifier: MIT */
/*
 * zdb.h -- the compiled zone database: one immutable snapshot of every hosted zone.
 *
 * zdb_build() loads zone files (ldns) and compiles them: owner names lower-cased in wire
 * form in a hash table per zone, empty non-terminals as nodes, RRsets as wire rdata,
 * delegation cuts resolved per node. The result is never modified; DNS workers read it
 * through const pointers with no locks, and the control thread frees it with zdb_free()
 * after a grace period (server/snap.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zdb zdb_t;

/** One hosted zone to load. All strings borrowed for the duration of zdb_build. */
typedef struct zdb_src {
	const char *id;        /**< HostedZone.Id, or "" */
	const char *name;      /**< zone name, presentation form */
	bool private_zone;     /**< private (split-view) zone */
	const char *zone_file; /**< RFC 1035 zone file path, or NULL */
} zdb_src_t;

/** Answer options carried by the snapshot (reloadable). */
typedef struct zdb_opts {
	bool cname_chasing;            /**< follow in-zone CNAME chains */
	bool authority_ns;             /**< NS set in authority of positive answers */
	bool wildcard_parent_nxdomain; /**< spec HZ-29 compatibility flag */
	uint16_t edns_udp_size;        /**< max UDP payload we send/advertise (512..4096) */
	const char *chaos_version;     /**< version.bind text or NULL (refuse); copied */
	const char *chaos_id;          /**< id.server text or NULL (refuse); copied */
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

/** Per-zone summary for --check and GET /zones. */
typedef struct zdb_zone_info {
	const char *name;   /**< zone name, presentation form; borrowed from db */
	const char *id;     /**< HostedZone.Id; borrowed */
	bool private_zone;  /**< private zone */
	size_t n_names;     /**< owner names with data */
	size_t n_rrsets;    /**< RRsets */
	size_t n_records;   /**< records */
	uint32_t serial;    /**< SOA serial */
} zdb_zone_info_t;

/** Fill *info for zone i (0 <= i < zdb_zone_count). */
void zdb_zone_info(const zdb_t *db, size_t i, zdb_zone_info_t *info);

/** The options this snapshot was built with; borrowed. */
const zdb_opts_t *zdb_options(const zdb_t *db);
