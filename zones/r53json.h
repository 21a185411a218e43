/* SPDX-License-Identifier: MIT */
/*
 * r53json.h -- Route 53 record sets from JSON (zones/ only).
 *
 * Accepts the output of `aws route53 list-resource-record-sets` ({"ResourceRecordSets":
 * [...]}), a `change-resource-record-sets` change batch ({"Changes": [{"Action",
 * "ResourceRecordSet"}]}), or an array of those applied in order. Each record set is
 * checked field by field (spec 3.2, 3.3); checks that need the whole group or the whole
 * zone are zone_build.c's. Every error names the file, the JSON path and the rule.
 */
#pragma once

#include <jansson.h>
#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone_load.h"

/** One ResourceRecordSet, checked and converted. */
typedef struct r53_set {
	char where[192];        /**< "FILE: ResourceRecordSets[3]" for messages */
	json_t *json;           /**< the original object (owned reference), for DELETE */
	uint8_t name[255];      /**< owner, lower-cased wire */
	uint8_t namelen;        /**< its length */
	uint16_t type;          /**< RR type */
	uint8_t policy;         /**< enum zdb_policy (POL_SIMPLE when no marker) */
	char *set_id;           /**< SetIdentifier, or NULL */
	uint32_t ttl;           /**< TTL (non-alias) */
	zl_list_t vals;         /**< values as wire records owned by name */
	char *hc_id;            /**< HealthCheckId, or NULL */
	bool alias;             /**< AliasTarget present */
	bool eth;               /**< EvaluateTargetHealth */
	char *alias_zone;       /**< AliasTarget.HostedZoneId */
	uint8_t tname[255];     /**< AliasTarget.DNSName, lower-cased wire */
	uint8_t tnamelen;       /**< its length */
	uint16_t weight;        /**< Weight */
	uint8_t failover;       /**< ZDB_PRIMARY / ZDB_SECONDARY */
	int16_t region;         /**< Region / GeoProximityLocation.AWSRegion index, or -1 */
	uint8_t geo_level;      /**< GEO_LVL_* */
	char geo_code[4];       /**< continent, country or subdivision code ("*" default) */
	char geo_cc[3];         /**< country of a subdivision */
	bool prox_coords;       /**< Coordinates given */
	double lat, lon;        /**< coordinates */
	int8_t bias;            /**< Bias */
	char *cidr_coll;        /**< CidrRoutingConfig.CollectionId */
	char *cidr_loc;         /**< CidrRoutingConfig.LocationName */
} r53_set_t;

/** Record sets of one zone, in the order they were defined. */
typedef struct r53_list {
	r53_set_t *v;           /**< sets */
	size_t n, cap;          /**< count, capacity */
} r53_list_t;

/**
 * Load record sets for a zone.
 * \param doc   the JSON value (see above); borrowed.
 * \param file  where it came from, for messages (NULL: "record_sets").
 * \param zone  zone name, presentation form; apex/alen the same in lower-cased wire.
 * \param out   filled; free with r53_list_deinit (also on failure).
 * \retval ERR_OK, ERR_INVAL (err says file, path and rule), ERR_NOMEM.
 */
int r53_load(const json_t *doc, const char *file, const char *zone, const uint8_t *apex,
	     size_t alen, r53_list_t *out, char *err, size_t errlen);

/** Free a list. */
void r53_list_deinit(r53_list_t *l);

/**
 * A cache of converted record sets, keyed by the JSON object (a record set document the
 * caller never modifies, such as the API's stored documents) and the zone. A build that
 * converts the same documents again (every change to a zone rebuilds it) copies the
 * converted set instead of parsing its values with ldns again. One thread at a time.
 */
typedef struct r53_cache r53_cache_t;

/** A new, empty cache; NULL when out of memory. */
r53_cache_t *r53_cache_new(void);
/** Drop the entries that no r53_load_cached() call used since the previous sweep. */
void r53_cache_sweep(r53_cache_t *c);
/** Free; NULL does nothing. */
void r53_cache_free(r53_cache_t *c);
/** Entries held. */
size_t r53_cache_size(const r53_cache_t *c);

/** r53_load() through a cache (NULL: r53_load()). */
int r53_load_cached(const json_t *doc, const char *file, const char *zone, const uint8_t *apex,
		    size_t alen, r53_cache_t *cache, r53_list_t *out, char *err, size_t errlen);

/**
 * Parse a Route 53 name (trailing dot optional, \DDD octal and \c escapes) into lower-cased
 * wire form. \retval ERR_OK or ERR_INVAL.
 */
/**
 * ldns reads a name whose first label is an escaped '@' (\@.x. or Route 53's \100.x.) as
 * the origin. Put such names of rr (parsed from the Route 53 value text `value` with the
 * root as origin) back as the value spells them.
 * \retval ERR_OK, ERR_INVAL (bad name), ERR_NOMEM.
 */
int r53_fix_at_labels(ldns_rr *rr, const char *value);

int r53_name(const char *text, uint8_t *out, size_t *len);

/** Presentation form of a wire name (for messages), into buf. */
const char *r53_name_str(const uint8_t *name, char *buf, size_t len);
