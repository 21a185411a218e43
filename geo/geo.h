/* SPDX-License-Identifier: MIT */
/*
 * geo.h -- client location for r53d: MaxMind-format city databases, EDNS Client Subnet,
 * Route 53's country -> continent table, AWS Region coordinates, great-circle distance,
 * the geoproximity bias and the operator latency table.
 *
 * geo/ depends on nothing else of r53d. Functions that can fail return 0 (GEO_OK) or a
 * negative GEO_E* code; where a code has an ERR_* twin in server/err.h the numbers are the
 * same, so callers may pass them through. Load-time functions also write a one-line reason
 * into a caller buffer (err, errlen; may be NULL/0).
 *
 * Threads: the *_new functions run on the control/loader thread. The objects they build
 * (geo_db_t, geo_latency_t) are immutable afterwards and every function taking a const
 * pointer to them may be called from any number of threads at once, without locks and
 * without allocating. The built-in tables (countries, US states, AWS Regions) are static
 * const data.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                               */
/* ------------------------------------------------------------------------------------ */

/** Return codes. The first group has the values of server/err.h's ERR_* twins. */
enum {
	GEO_OK = 0,         /**< success */
	GEO_ENOMEM = -1,    /**< allocation failed (load time only) */
	GEO_EINVAL = -2,    /**< invalid argument or configuration value */
	GEO_EPARSE = -3,    /**< malformed text (CIDR, coordinate) */
	GEO_EIO = -4,       /**< cannot open or read a database file, or it is corrupt */
	GEO_ENOTFOUND = -6, /**< no data for this address / name */
	GEO_ELIMIT = -7,    /**< output buffer too small, or a table limit exceeded */
	/* ECS parse failures (geo_ecs_parse); each one means "answer FORMERR". */
	GEO_EECS_SHORT = -20,  /**< payload shorter than FAMILY + two prefix octets */
	GEO_EECS_FAMILY = -21, /**< FAMILY is neither 1 (IPv4) nor 2 (IPv6) */
	GEO_EECS_SOURCE = -22, /**< SOURCE PREFIX-LENGTH above 32 (IPv4) / 128 (IPv6) */
	GEO_EECS_SCOPE = -23,  /**< SCOPE PREFIX-LENGTH not 0 in a query */
	GEO_EECS_ADDRLEN = -24, /**< ADDRESS is not exactly ceil(SOURCE/8) octets */
	GEO_EECS_BITS = -25,   /**< ADDRESS has bits set beyond SOURCE PREFIX-LENGTH */
};

/** Short English name of a GEO_* code, for logs. Never NULL. Any thread. */
const char *geo_strerror(int code);

/* ------------------------------------------------------------------------------------ */
/* Addresses and CIDR blocks (geo_addr.c)                                               */
/* ------------------------------------------------------------------------------------ */

/** An IPv4 or IPv6 network. */
typedef struct geo_cidr {
	int af;           /**< AF_INET or AF_INET6 */
	uint8_t prefix;   /**< prefix length: 0..32 (IPv4) or 0..128 (IPv6) */
	uint8_t addr[16]; /**< network address, bits beyond prefix zero; IPv4 in addr[0..3] */
} geo_cidr_t;

/**
 * Extract the address of a socket address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d,
 * as a dual-stack socket reports IPv4 clients) is returned as IPv4.
 * \param sa    the address; borrowed; may be NULL.
 * \param af    receives AF_INET or AF_INET6.
 * \param addr  receives the address bytes (4 or 16 used; the rest zeroed).
 * \retval GEO_OK, GEO_EINVAL (NULL or a family other than AF_INET/AF_INET6).
 * Any thread; no allocation.
 */
int geo_addr_from_sockaddr(const struct sockaddr *sa, int *af, uint8_t addr[16]);

/** Number of address bits of a family: 32, 128, or 0 for anything else. Any thread. */
unsigned geo_af_bits(int af);

/**
 * Clear every bit of addr beyond prefix (the network address of addr/prefix).
 * \param af      AF_INET (4 bytes used) or AF_INET6 (16); others do nothing.
 * \param prefix  clamped to the family's bit count.
 * Any thread; no allocation.
 */
void geo_addr_mask(int af, uint8_t addr[16], unsigned prefix);

/**
 * Parse "a.b.c.d/n", "x:y::/n", or a bare address (then /32 or /128).
 * \param text  borrowed, NUL-terminated.
 * \param out   receives the network.
 * \param err   receives the reason on failure (may be NULL).
 * \retval GEO_OK
 * \retval GEO_EPARSE  not an address, or a prefix out of range for the family
 * \retval GEO_EINVAL  address bits set beyond the prefix ("192.0.2.1/24")
 * Any thread; no allocation.
 */
int geo_cidr_parse(const char *text, geo_cidr_t *out, char *err, size_t errlen);

/**
 * Does the client subnet addr/prefix lie inside net? True when the families agree,
 * prefix >= net->prefix and the first net->prefix bits are equal (spec POL-I2: a query /24
 * matches a /16 block, a query /16 does not match a /24 block).
 * Any thread; no allocation.
 */
bool geo_cidr_contains(const geo_cidr_t *net, int af, const uint8_t *addr, unsigned prefix);

/* ------------------------------------------------------------------------------------ */
/* Countries, continents, US states (geo_cc.c)                                          */
/* ------------------------------------------------------------------------------------ */

/**
 * Route 53's continent of a country: the table of spec section 3.3, used verbatim (OC-2),
 * never the database's own continent field. 246 countries; TR and CY are EU, AM AZ GE AS,
 * XK is Kosovo; BV CX EH HM are absent (Route 53 has no IP data for them).
 * \param cc  ISO 3166-1 alpha-2 code, any case; borrowed; may be NULL.
 * \return "AF" "AN" "AS" "EU" "NA" "OC" or "SA" (static storage), or NULL when cc is not in
 *         the table. Any thread.
 */
const char *geo_country_continent(const char *cc);

/** True when code is one of AF AN AS EU NA OC SA (upper case, exactly). Any thread. */
bool geo_continent_valid(const char *code);

/** Number of countries in the Route 53 table (246). Any thread. */
size_t geo_country_count(void);

/**
 * Country i of the table, in code order (for a ListGeoLocations-style listing).
 * \param continent  receives the continent code (static storage); may be NULL.
 * \return the upper-case country code (static storage), or NULL when i is out of range.
 */
const char *geo_country_at(size_t i, const char **continent);

/**
 * USPS code of a US state or the District of Columbia from its English name, ignoring
 * ASCII case ("Virginia" -> "VA", "District of Columbia" -> "DC"). Used to map the DB-IP
 * schema's subdivision names; the 50 states and DC are exactly the subdivisions Route 53
 * documents (US territories are countries).
 * \param name  borrowed, need not be NUL-terminated; len bytes.
 * \return the code (static storage), or NULL when name is not a state. Any thread.
 */
const char *geo_us_state_code(const char *name, size_t len);

/** True when code is a USPS code of a state or DC ("VA", "DC"; upper case). Any thread. */
bool geo_us_state_valid(const char *code);

/* ------------------------------------------------------------------------------------ */
/* Client location                                                                      */
/* ------------------------------------------------------------------------------------ */

/**
 * Where a client is. Filled by geo_db_lookup / geo_client_locate / geo_loc_from_region.
 * Empty strings mean "unknown". A caller-owned value; nothing in it points elsewhere.
 */
typedef struct geo_loc {
	int af;               /**< family of addr: AF_INET, AF_INET6, or 0 (no address) */
	uint8_t addr[16];     /**< the network address looked up (masked to src_prefix) */
	uint8_t src_prefix;   /**< significant bits of addr: ECS source prefix, else 32/128 */
	bool from_ecs;        /**< addr came from the query's ECS option, not the source */
	bool found;           /**< the database had an entry for addr */
	uint8_t db_prefix;    /**< prefix length of that database network (family terms), 0 if not found */
	char continent[3];    /**< Route 53 continent code ("EU"), "" unknown */
	char country[3];      /**< ISO 3166-1 alpha-2 ("FR"), "" unknown */
	char subdivision[4];  /**< subdivision code ("VA" for US-VA), "" unknown */
	bool has_coords;      /**< lat and lon are meaningful */
	double lat;           /**< latitude, degrees, -90..90 */
	double lon;           /**< longitude, degrees, -180..180 */
	int8_t entry_file;    /**< lazy coordinates: database file of the entry found, -1 none */
	uint32_t entry_off;   /**< lazy coordinates: that entry's offset in the file */
} geo_loc_t;

/** Clear a location to "nothing known" (all zero). Any thread. */
void geo_loc_clear(geo_loc_t *loc);

/* ------------------------------------------------------------------------------------ */
/* MaxMind-format databases (geo_db.c)                                                  */
/* ------------------------------------------------------------------------------------ */

/**
 * One or more MMDB files opened read-only (MMDB_MODE_MMAP), looked up in order; the first
 * file with an entry for the address answers. Several files serve the DB-IP Lite download
 * of ip-location-db, which ships IPv4 and IPv6 as separate files. An IPv6 address is never
 * looked up in an IPv4-only file.
 *
 * Written by: the control thread (geo_db_new, geo_db_free). Read by: any thread.
 * Synchronised by: immutability; free it only after every reader has left (grace period).
 */
typedef struct geo_db geo_db_t;

/** Maximum number of files in one geo_db_t. */
#define GEO_DB_MAX_FILES 4

/** Record layout of a database file, detected when it is opened. */
typedef enum geo_schema {
	/** GeoIP2 / GeoLite2 City (also DB-IP's own MMDB download): continent.code,
	 *  country.iso_code, subdivisions[0].iso_code, location.latitude/longitude. */
	GEO_SCHEMA_GEOIP2 = 1,
	/** The flat schema of ip-location-db (e.g. its DB-IP Lite city files): country_code,
	 *  state1 (a subdivision *name*), latitude, longitude. state1 is mapped to a code only
	 *  for the US (state names -> USPS codes, geo_us_state_code); elsewhere the subdivision
	 *  stays unknown, a 1-3 character upper-case alphanumeric state1 is taken as a code. */
	GEO_SCHEMA_FLAT = 2,
} geo_schema_t;

/** Facts about one opened file, for --check output and logs. */
typedef struct geo_db_info {
	const char *path;          /**< file name as given; borrowed from the db */
	const char *database_type; /**< metadata database_type; borrowed; "" if absent */
	geo_schema_t schema;       /**< detected schema */
	unsigned ip_version;       /**< 4 or 6 */
	uint32_t node_count;       /**< search tree nodes */
	uint64_t build_epoch;      /**< metadata build_epoch (seconds since 1970) */
} geo_db_info_t;

/**
 * Open database files.
 *
 * The schema of each file is found by reading its first data records (walking the search
 * tree from the root): a "country_code" key means GEO_SCHEMA_FLAT; a "country",
 * "continent", "location" or "subdivisions" map means GEO_SCHEMA_GEOIP2. When the probe
 * sees neither, a database_type starting with "GeoIP2", "GeoLite2" or "DBIP-" means
 * GEOIP2, anything else is an error. The IPv4 start node is computed here, on this
 * thread, so that lookups never write to shared state.
 *
 * \param paths  n file names; borrowed (copied).
 * \param n      1..GEO_DB_MAX_FILES.
 * \param out    receives the database; caller frees with geo_db_free.
 * \param err    receives "PATH: reason" on failure.
 * \retval GEO_OK, GEO_EINVAL (n out of range, unknown schema), GEO_EIO (open failed,
 *         not an MMDB file), GEO_ENOMEM.
 * Control thread.
 */
int geo_db_new(const char *const *paths, size_t n, geo_db_t **out, char *err, size_t errlen);

/**
 * Open the database(s) named by the configuration value geo.database: a string, or an
 * array of 1..GEO_DB_MAX_FILES strings. Relative paths are taken relative to basedir.
 * \param value    the JSON value; borrowed.
 * \param basedir  directory of the configuration file; may be NULL (paths used as given).
 * \param where    JSON path for messages, e.g. "conf.json: geo.database"; NULL: "geo.database".
 * \retval as geo_db_new; GEO_EINVAL for a value of the wrong shape.
 * Control thread.
 */
int geo_db_new_json(const json_t *value, const char *basedir, const char *where,
		    geo_db_t **out, char *err, size_t errlen);

/** Close every file and free the database; NULL does nothing. Control thread, after a grace period. */
void geo_db_free(geo_db_t *db);

/** Number of files in db. Any thread. */
size_t geo_db_file_count(const geo_db_t *db);

/**
 * Describe file i (0 <= i < geo_db_file_count).
 * \retval GEO_OK, GEO_EINVAL (i out of range). Any thread.
 */
int geo_db_info(const geo_db_t *db, size_t i, geo_db_info_t *info);

/**
 * Look up one address.
 *
 * out is cleared, then af/addr/src_prefix (full length, from_ecs false) are set and, when
 * found: country (upper case), continent from geo_country_continent when the country is
 * in Route 53's table, else the database's continent (GeoIP2 schema only), subdivision,
 * coordinates, and db_prefix (the database network's prefix, in the family's own terms
 * even for IPv4 data inside an IPv6 tree). IPv4-mapped IPv6 addresses are looked up as IPv4.
 *
 * \param db    the database; may be NULL (then nothing is ever found).
 * \param af    AF_INET (addr has 4 bytes) or AF_INET6 (16 bytes).
 * \param addr  borrowed.
 * \retval GEO_OK         an entry was found (out->found)
 * \retval GEO_ENOTFOUND  no entry (out->found false; address fields still set)
 * \retval GEO_EINVAL     bad family
 * \retval GEO_EIO        the database is corrupt at this address
 * Any thread; no allocation, no locks.
 */
int geo_db_lookup(const geo_db_t *db, int af, const uint8_t *addr, geo_loc_t *out);

/** geo_db_lookup for a socket address (AF_INET or AF_INET6). Same return codes. Any thread. */
int geo_db_lookup_sa(const geo_db_t *db, const struct sockaddr *sa, geo_loc_t *out);

/** geo_db_lookup, reading the coordinates only when want_coords (see geo_loc_coords). */
int geo_db_lookup_ex(const geo_db_t *db, int af, const uint8_t *addr, bool want_coords,
		     geo_loc_t *out);

/* ------------------------------------------------------------------------------------ */
/* EDNS Client Subnet, RFC 7871 (geo_ecs.c)                                             */
/* ------------------------------------------------------------------------------------ */

/** EDNS0 option code of ECS. */
#define GEO_ECS_OPTION_CODE 8
/** ECS FAMILY values (IANA address family numbers). */
#define GEO_ECS_FAMILY_IPV4 1
#define GEO_ECS_FAMILY_IPV6 2 /**< see GEO_ECS_FAMILY_IPV4 */
/** Largest ECS option on the wire: code, length, family, two prefixes, 16 address octets. */
#define GEO_ECS_MAX_WIRE (4 + 4 + 16)

/** A parsed, validated ECS option. */
typedef struct geo_ecs {
	uint16_t family;       /**< GEO_ECS_FAMILY_IPV4 or GEO_ECS_FAMILY_IPV6 */
	uint8_t source_prefix; /**< SOURCE PREFIX-LENGTH, 0..32 or 0..128 */
	uint8_t scope_prefix;  /**< SCOPE PREFIX-LENGTH as received (always 0 after parsing a query) */
	uint8_t addr[16];      /**< the address, zero-padded: already masked to source_prefix */
} geo_ecs_t;

/**
 * Parse and validate the payload of an ECS option in a query (the bytes after OPTION-CODE
 * and OPTION-LENGTH). Every failure means the query is malformed and the answer is FORMERR
 * (RFC 7871 sections 6 and 7.2.1; spec ECS-5.4).
 * \param data  the payload; borrowed; len bytes.
 * \param out   receives the option; unspecified on failure.
 * \retval GEO_OK
 * \retval GEO_EECS_SHORT    len < 4
 * \retval GEO_EECS_FAMILY   FAMILY not 1 or 2
 * \retval GEO_EECS_SOURCE   SOURCE PREFIX-LENGTH > 32 (IPv4) or > 128 (IPv6)
 * \retval GEO_EECS_SCOPE    SCOPE PREFIX-LENGTH != 0 (it MUST be 0 in queries)
 * \retval GEO_EECS_ADDRLEN  ADDRESS not exactly ceil(SOURCE/8) octets (too few or too many)
 * \retval GEO_EECS_BITS     ADDRESS bits set beyond SOURCE PREFIX-LENGTH
 * Any thread; no allocation.
 *
 * Caller note: for a query carrying two ECS options RFC 7871 names no rule for choosing
 * one; treating it as malformed (FORMERR) is the suggested choice, and that check belongs
 * to the OPT parser, which sees every option.
 */
int geo_ecs_parse(const uint8_t *data, size_t len, geo_ecs_t *out);

/**
 * Should the client location come from this ECS option?
 * False when ecs is NULL, when SOURCE PREFIX-LENGTH is 0 ("no client information": use the
 * resolver address, spec ECS-5.5), and for private zones (ECS-3: the VPC's Region is used).
 * Any thread.
 */
bool geo_ecs_usable(const geo_ecs_t *ecs, bool private_zone);

/**
 * SCOPE PREFIX-LENGTH to return (spec ECS-5.3, OC-13): the query's SOURCE PREFIX-LENGTH when
 * the answer depended on the client location (any latency, geolocation, geoproximity or
 * IP-based group evaluated, at any alias depth), else 0. Also 0 for private zones (ECS-5.6:
 * the caller may instead omit the option) and when SOURCE PREFIX-LENGTH is 0 (ECS-5.5).
 * Any thread.
 */
uint8_t geo_ecs_scope(const geo_ecs_t *ecs, bool location_used, bool private_zone);

/** Bytes geo_ecs_write needs for this option: 4 + 4 + ceil(source_prefix/8). Any thread. */
size_t geo_ecs_wire_len(const geo_ecs_t *ecs);

/**
 * Write the response ECS option, header included: OPTION-CODE 8, OPTION-LENGTH, FAMILY,
 * SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH = scope, and ceil(source/8) address octets
 * echoed from the query (masked, spec ECS-5.2).
 * \param ecs      the query's option (from geo_ecs_parse); borrowed.
 * \param scope    SCOPE PREFIX-LENGTH (usually geo_ecs_scope()); clamped to the family's bits.
 * \param buf      output; cap bytes available. Untouched on failure.
 * \param written  receives the number of bytes written; may be NULL.
 * \retval GEO_OK, GEO_ELIMIT (cap too small), GEO_EINVAL (bad family in ecs).
 * Any thread; no allocation.
 */
int geo_ecs_write(const geo_ecs_t *ecs, uint8_t scope, uint8_t *buf, size_t cap, size_t *written);

/**
 * Locate a query's client (DESIGN: called at most once per query by the policies).
 * Uses the ECS address when geo_ecs_usable(ecs, false) (the caller passes ecs = NULL for
 * private zones), else the source address. out->addr/src_prefix/from_ecs tell which was
 * used, and are set even when the database has no entry (CIDR rules still apply).
 * \param db   may be NULL (no database configured: nothing is found).
 * \param ecs  the parsed option, or NULL.
 * \param src  the packet's source address; may be NULL when ecs is usable.
 * \retval GEO_OK (found), GEO_ENOTFOUND (unmapped, or no address at all), GEO_EIO.
 * Any thread; no allocation, no locks.
 */
int geo_client_locate(const geo_db_t *db, const geo_ecs_t *ecs, const struct sockaddr *src,
		      geo_loc_t *out);

/**
 * As geo_client_locate, but with want_coords false the coordinates are not read yet
 * (geolocation and IP-based routing never need them); geo_loc_coords() reads them later.
 */
int geo_client_locate_ex(const geo_db_t *db, const geo_ecs_t *ecs, const struct sockaddr *src,
			 bool want_coords, geo_loc_t *out);

/**
 * Read the coordinates of a location found by geo_client_locate_ex(..., false, ...) from
 * the same database, once; afterwards loc->has_coords tells whether there are any.
 * Any thread; no allocation.
 */
void geo_loc_coords(const geo_db_t *db, geo_loc_t *loc);

/* ------------------------------------------------------------------------------------ */
/* Coordinates, AWS Regions, distance, bias (geo_point.c)                               */
/* ------------------------------------------------------------------------------------ */

/** Mean Earth radius used for distances, km (spec POL-P4). */
#define GEO_EARTH_RADIUS_KM 6371.0

/**
 * Great-circle (haversine) distance in km between two points given in degrees.
 * Any thread.
 */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/**
 * Geoproximity biased distance, spec POL-P2 exactly:
 * bias > 0: km * (1 - bias/100); bias < 0: km / (1 + bias/100); bias 0: km.
 * \param bias  -99..99 (validated at load; values outside are clamped).
 * Any thread.
 */
double geo_bias_distance(double km, int bias);

/** Latency estimate from distance, spec OC-3: km / 100 + 5 ms. Any thread. */
double geo_latency_estimate_ms(double km);

/**
 * Ordering for latency / geoproximity / IP-based choices with the tie rule of OC-17 and
 * POL-P5: smaller value first; equal values -> lower name in byte order (Region,
 * SetIdentifier or location name). Returns <0, 0, >0 like strcmp. Any thread.
 */
int geo_rank_cmp(double a, const char *a_name, double b, const char *b_name);

/** One AWS Region of the built-in table (spec OC-4 coordinates, OC-10 location). */
typedef struct geo_region {
	const char *name;       /**< "us-east-1" */
	const char *city;       /**< the approximate place the coordinates name */
	double lat;             /**< latitude, degrees */
	double lon;             /**< longitude, degrees */
	char continent[3];      /**< OC-10 continent ("NA") */
	char country[3];        /**< OC-10 country ("US") */
	char subdivision[4];    /**< OC-10 subdivision ("VA"), "" outside the US */
} geo_region_t;

/** Number of Regions in the built-in table. Any thread. */
size_t geo_region_count(void);

/** Region i of the table (0 <= i < geo_region_count), or NULL. Static storage. Any thread. */
const geo_region_t *geo_region_get(int i);

/**
 * Index of a Region by exact name ("eu-west-1"), or -1 when unknown (spec OC-4: reject the
 * record). Indices are stable for the life of the process. Any thread.
 */
int geo_region_find(const char *name);

/**
 * The location of a Region (private zones use the VPC's Region, spec OC-10 / PZ-10):
 * continent, country, subdivision and coordinates; no address, found = true.
 * \retval GEO_OK, GEO_EINVAL (bad index). Any thread.
 */
int geo_loc_from_region(int region, geo_loc_t *out);

/**
 * Parse a GeoProximityLocation Coordinates string (spec 3.3): latitude
 * [-+]?[0-9]{1,2}(\.[0-9]{0,2})? in -90..90, longitude [-+]?[0-9]{1,3}(\.[0-9]{0,2})? in
 * -180..180.
 * \retval GEO_OK (*out set), GEO_EPARSE (pattern), GEO_EINVAL (range). Any thread.
 */
int geo_coord_parse(const char *text, bool latitude, double *out);

/* ------------------------------------------------------------------------------------ */
/* The latency table, geo.latency (geo_latency.c)                                       */
/* ------------------------------------------------------------------------------------ */

/**
 * Operator RTTs client -> Region, compiled from
 *   {"rules": [{"client": CLIENT, "rtt_ms": {"REGION": MS, ...}}, ...]}
 * CLIENT is one of
 *   - a CIDR block ("198.51.100.0/24", "2001:db8::/32") or a bare address (/32, /128);
 *   - "country:XX" or "continent:XX";
 *   - a bare two-letter code: a country of Route 53's table, or a continent code. AF AS NA
 *     SA are both (Afghanistan/Africa, American Samoa/Asia, Namibia/North America, Saudi
 *     Arabia/South America) and must be written with the country: or continent: prefix.
 * MS is a number, 0..100000. REGION must be in the built-in Region table.
 *
 * For a (client, Region) pair the most specific rule that matches the client *and names
 * that Region* wins: a CIDR rule (longest prefix first) > a country rule > a continent
 * rule; no such rule -> the great-circle estimate of OC-3. A CIDR rule matches when the
 * client subnet lies inside it (geo_cidr_contains). Two rules with the same client are an
 * error.
 *
 * Notes for the latency policy (zones/), which this module does not apply itself:
 * POL-L3, a cn-north-1 record always answers clients whose country is CN; POL-L5, private
 * zones locate the client at the VPC's Region (geo_loc_from_region); OC-17, equal
 * latencies go to the lower Region name (geo_rank_cmp); GEO_ENOTFOUND for a Region (an
 * unmapped client without a matching CIDR rule) ranks after every known latency.
 *
 * Written by: the control thread. Read by: any thread. Synchronised by: immutability.
 */
typedef struct geo_latency geo_latency_t;

/** Where a latency figure came from. */
typedef enum geo_lat_src {
	GEO_LAT_CIDR = 1,      /**< a CIDR rule */
	GEO_LAT_COUNTRY = 2,   /**< a country rule */
	GEO_LAT_CONTINENT = 3, /**< a continent rule */
	GEO_LAT_ESTIMATE = 4,  /**< great-circle estimate (OC-3) */
} geo_lat_src_t;

/**
 * Compile a latency table.
 * \param obj    the geo.latency object; borrowed (nothing is kept).
 * \param where  JSON path of obj for messages, e.g. "geo.latency" or
 *               "latency.json: geo.latency"; NULL: "geo.latency".
 * \param out    receives the table; caller frees with geo_latency_free.
 * \param err    receives e.g. "geo.latency.rules[3].rtt_ms.us-east-9: unknown region".
 * \retval GEO_OK, GEO_EINVAL (bad shape or value), GEO_ENOMEM.
 * Control thread.
 */
int geo_latency_new(const json_t *obj, const char *where, geo_latency_t **out, char *err,
		    size_t errlen);

/** Free a latency table; NULL does nothing. Control thread, after a grace period. */
void geo_latency_free(geo_latency_t *lt);

/** Number of rules in the table (0 for NULL). Any thread. */
size_t geo_latency_rule_count(const geo_latency_t *lt);

/**
 * Latency client -> Region, in ms.
 * \param lt      the table; may be NULL (estimate only).
 * \param client  from geo_client_locate / geo_db_lookup / geo_loc_from_region; borrowed.
 * \param region  index from geo_region_find.
 * \param ms      receives the latency.
 * \param src     receives where it came from; may be NULL.
 * \retval GEO_OK
 * \retval GEO_ENOTFOUND  no rule matched and the client has no coordinates
 * \retval GEO_EINVAL     bad region index
 * Any thread; no allocation, no locks; a scan of the CIDR rules of the client's family.
 */
int geo_latency_ms(const geo_latency_t *lt, const geo_loc_t *client, int region, double *ms,
		   geo_lat_src_t *src);
