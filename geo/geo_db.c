/* SPDX-License-Identifier: MIT */
/*
 * geo_db.c -- MaxMind-format (MMDB) city databases: open, detect the schema, look up.
 *
 * Each file is opened once with MMDB_MODE_MMAP and never written again. Everything a lookup
 * needs is decided at open time: the schema, and with it the array of keys (the "lookup
 * path") for each field, which MMDB_aget_value (the array form of MMDB_get_value) walks in
 * the mapped data without allocating. MMDB_get_entry_data_list is never used: it allocates.
 * libmaxminddb may compute the IPv4 start node of an IPv6 tree lazily, on the first IPv4
 * lookup; geo_db_new performs that first lookup itself so that readers never write.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

#include "geo.h"
#include "geo_int.h"

/** Fields a lookup reads. */
enum { F_COUNTRY, F_CONTINENT, F_SUBDIV, F_LAT, F_LON, F_COUNT };

/* Lookup paths, GeoIP2 / GeoLite2 City. */
static const char *const g_country[] = { "country", "iso_code", NULL };
static const char *const g_continent[] = { "continent", "code", NULL };
static const char *const g_subdiv[] = { "subdivisions", "0", "iso_code", NULL };
static const char *const g_lat[] = { "location", "latitude", NULL };
static const char *const g_lon[] = { "location", "longitude", NULL };
/* Lookup paths, flat (ip-location-db / DB-IP Lite). */
static const char *const f_country[] = { "country_code", NULL };
static const char *const f_subdiv[] = { "state1", NULL };
static const char *const f_lat[] = { "latitude", NULL };
static const char *const f_lon[] = { "longitude", NULL };

/** One opened file. */
typedef struct db_file {
	MMDB_s mmdb;                           /**< the libmaxminddb handle (mmap'ed) */
	bool opened;                           /**< mmdb must be closed */
	char *path;                            /**< file name as given (owned) */
	geo_schema_t schema;                   /**< detected schema */
	const char *const *path_of[F_COUNT];   /**< lookup path per field, NULL: not in schema */
	bool subdiv_is_name;                   /**< F_SUBDIV yields a name (flat schema) */
} db_file_t;

struct geo_db {
	size_t n;                          /**< files in use */
	db_file_t file[GEO_DB_MAX_FILES];  /**< looked up in this order */
};

/* ---- schema detection (load time) ---------------------------------------------------- */

/** What the probe saw in the data records it read. */
typedef struct probe {
	unsigned records; /**< data records examined */
	unsigned nodes;   /**< search nodes read */
	bool flat;        /**< a record had "country_code" */
	bool geoip2;      /**< a record had a GeoIP2 map */
} probe_t;

#define PROBE_MAX_RECORDS 64
#define PROBE_MAX_NODES 200000

static bool has_key(MMDB_entry_s *entry, const char *key, int type)
{
	const char *path[] = { key, NULL };
	MMDB_entry_data_s d;
	if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data)
		return false;
	return d.type == (uint32_t)type;
}

static void probe_entry(MMDB_entry_s *entry, probe_t *pr)
{
	pr->records++;
	if (has_key(entry, "country_code", MMDB_DATA_TYPE_UTF8_STRING))
		pr->flat = true;
	if (has_key(entry, "country", MMDB_DATA_TYPE_MAP) ||
	    has_key(entry, "continent", MMDB_DATA_TYPE_MAP) ||
	    has_key(entry, "location", MMDB_DATA_TYPE_MAP) ||
	    has_key(entry, "subdivisions", MMDB_DATA_TYPE_ARRAY))
		pr->geoip2 = true;
}

/** Depth-first walk of the search tree from the root, reading data records as met. */
static void probe_tree(const MMDB_s *mmdb, probe_t *pr)
{
	/* Pending right-hand subtrees; the tree is at most 128 levels deep. */
	uint32_t stack[130];
	size_t top = 0;
	uint32_t node = 0;
	bool have = true;

	while (have && pr->records < PROBE_MAX_RECORDS && pr->nodes < PROBE_MAX_NODES) {
		MMDB_search_node_s sn;
		have = false;
		pr->nodes++;
		if (MMDB_read_node(mmdb, node, &sn) != MMDB_SUCCESS)
			return;
		if (sn.left_record_type == MMDB_RECORD_TYPE_DATA)
			probe_entry(&sn.left_record_entry, pr);
		if (sn.right_record_type == MMDB_RECORD_TYPE_DATA)
			probe_entry(&sn.right_record_entry, pr);
		if (sn.right_record_type == MMDB_RECORD_TYPE_SEARCH_NODE &&
		    top < sizeof(stack) / sizeof(stack[0]))
			stack[top++] = (uint32_t)sn.right_record;
		if (sn.left_record_type == MMDB_RECORD_TYPE_SEARCH_NODE) {
			node = (uint32_t)sn.left_record;
			have = true;
		} else if (top > 0) {
			node = stack[--top];
			have = true;
		}
	}
}

static bool has_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int detect_schema(db_file_t *f, char *err, size_t errlen)
{
	probe_t pr = { 0 };
	const char *type = f->mmdb.metadata.database_type;

	probe_tree(&f->mmdb, &pr);
	if (pr.flat && !pr.geoip2) {
		f->schema = GEO_SCHEMA_FLAT;
	} else if ((pr.geoip2 && !pr.flat) ||
		   (!pr.flat && !pr.geoip2 &&
		    (has_prefix(type, "GeoIP2") || has_prefix(type, "GeoLite2") ||
		     has_prefix(type, "DBIP-")))) {
		f->schema = GEO_SCHEMA_GEOIP2;
	} else {
		geo_err(err, errlen,
			"%s: unknown record layout (database_type \"%s\"): expected GeoIP2/GeoLite2 "
			"City or the DB-IP Lite (ip-location-db) schema",
			f->path, type != NULL ? type : "");
		return GEO_EINVAL;
	}
	if (f->schema == GEO_SCHEMA_GEOIP2) {
		f->path_of[F_COUNTRY] = g_country;
		f->path_of[F_CONTINENT] = g_continent;
		f->path_of[F_SUBDIV] = g_subdiv;
		f->path_of[F_LAT] = g_lat;
		f->path_of[F_LON] = g_lon;
		f->subdiv_is_name = false;
	} else {
		f->path_of[F_COUNTRY] = f_country;
		f->path_of[F_CONTINENT] = NULL;
		f->path_of[F_SUBDIV] = f_subdiv;
		f->path_of[F_LAT] = f_lat;
		f->path_of[F_LON] = f_lon;
		f->subdiv_is_name = true;
	}
	return GEO_OK;
}

/* ---- open / close -------------------------------------------------------------------- */

static void warm_up(db_file_t *f)
{
	struct sockaddr_in sin;
	int mmerr = MMDB_SUCCESS;
	if (f->mmdb.metadata.ip_version != 6)
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	(void)MMDB_lookup_sockaddr(&f->mmdb, (const struct sockaddr *)(const void *)&sin, &mmerr);
}

static int open_file(db_file_t *f, const char *path, char *err, size_t errlen)
{
	f->path = strdup(path);
	if (f->path == NULL)
		return GEO_ENOMEM;
	int st = MMDB_open(path, MMDB_MODE_MMAP, &f->mmdb);
	if (st != MMDB_SUCCESS) {
		if (st == MMDB_IO_ERROR || st == MMDB_FILE_OPEN_ERROR)
			geo_err(err, errlen, "%s: %s (%s)", path, MMDB_strerror(st), strerror(errno));
		else
			geo_err(err, errlen, "%s: %s", path, MMDB_strerror(st));
		return st == MMDB_OUT_OF_MEMORY_ERROR ? GEO_ENOMEM : GEO_EIO;
	}
	f->opened = true;
	if (f->mmdb.metadata.ip_version != 4 && f->mmdb.metadata.ip_version != 6) {
		geo_err(err, errlen, "%s: unsupported ip_version %u", path,
			(unsigned)f->mmdb.metadata.ip_version);
		return GEO_EIO;
	}
	int ret = detect_schema(f, err, errlen);
	if (ret != GEO_OK)
		return ret;
	warm_up(f);
	return GEO_OK;
}

int geo_db_new(const char *const *paths, size_t n, geo_db_t **out, char *err, size_t errlen)
{
	int ret = GEO_OK;
	geo_db_t *db = NULL;

	*out = NULL;
	if (paths == NULL || n == 0 || n > GEO_DB_MAX_FILES) {
		geo_err(err, errlen, "geo database: between 1 and %d files", GEO_DB_MAX_FILES);
		return GEO_EINVAL;
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return GEO_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		db->n = i + 1;
		if (paths[i] == NULL) {
			geo_err(err, errlen, "geo database: file %zu has no name", i);
			ret = GEO_EINVAL;
			goto out;
		}
		ret = open_file(&db->file[i], paths[i], err, errlen);
		if (ret != GEO_OK)
			goto out;
	}
	*out = db;
	db = NULL;
out:
	geo_db_free(db);
	return ret;
}

void geo_db_free(geo_db_t *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->n; i++) {
		if (db->file[i].opened)
			MMDB_close(&db->file[i].mmdb);
		free(db->file[i].path);
	}
	free(db);
}

static char *join_path(const char *basedir, const char *path)
{
	if (basedir == NULL || basedir[0] == '\0' || path[0] == '/')
		return strdup(path);
	size_t len = strlen(basedir) + 1 + strlen(path) + 1;
	char *s = malloc(len);
	if (s == NULL)
		return NULL;
	(void)snprintf(s, len, "%s/%s", basedir, path);
	return s;
}

int geo_db_new_json(const json_t *value, const char *basedir, const char *where,
		    geo_db_t **out, char *err, size_t errlen)
{
	char *paths[GEO_DB_MAX_FILES] = { NULL };
	size_t n = 0;
	int ret = GEO_EINVAL;

	*out = NULL;
	if (where == NULL)
		where = "geo.database";
	if (json_is_string(value) && json_string_length(value) == 0) {
		geo_err(err, errlen, "%s: expected a file name", where);
		goto out;
	}
	if (json_is_string(value)) {
		paths[n] = join_path(basedir, json_string_value(value));
		if (paths[n++] == NULL) {
			ret = GEO_ENOMEM;
			goto out;
		}
	} else if (json_is_array(value) && json_array_size(value) >= 1 &&
		   json_array_size(value) <= GEO_DB_MAX_FILES) {
		size_t i;
		const json_t *v;
		json_array_foreach(value, i, v) {
			if (!json_is_string(v) || json_string_length(v) == 0) {
				geo_err(err, errlen, "%s[%zu]: expected a file name", where, i);
				goto out;
			}
			paths[n] = join_path(basedir, json_string_value(v));
			if (paths[n++] == NULL) {
				ret = GEO_ENOMEM;
				goto out;
			}
		}
	} else {
		geo_err(err, errlen, "%s: expected a file name or an array of 1..%d file names",
			where, GEO_DB_MAX_FILES);
		goto out;
	}
	ret = geo_db_new((const char *const *)paths, n, out, err, errlen);
out:
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	return ret;
}

size_t geo_db_file_count(const geo_db_t *db)
{
	return db != NULL ? db->n : 0;
}

int geo_db_info(const geo_db_t *db, size_t i, geo_db_info_t *info)
{
	if (db == NULL || i >= db->n)
		return GEO_EINVAL;
	const db_file_t *f = &db->file[i];
	const MMDB_metadata_s *md = &f->mmdb.metadata;
	info->path = f->path;
	info->database_type = md->database_type != NULL ? md->database_type : "";
	info->schema = f->schema;
	info->ip_version = md->ip_version;
	info->node_count = md->node_count;
	info->build_epoch = md->build_epoch;
	return GEO_OK;
}

/* ---- lookup (query path: no allocation, no locks, no writes to db) ------------------- */

/** Fetch a string field; returns its bytes (not NUL-terminated) or NULL. */
static const char *get_str(MMDB_entry_s *entry, const char *const *path, uint32_t *len)
{
	MMDB_entry_data_s d;
	if (path == NULL || MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return NULL;
	*len = d.data_size;
	return d.utf8_string;
}

/** Fetch a number field (double, float, or a numeric string); false when absent or bad. */
static bool get_num(MMDB_entry_s *entry, const char *const *path, double *out)
{
	MMDB_entry_data_s d;
	if (path == NULL || MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data)
		return false;
	switch (d.type) {
	case MMDB_DATA_TYPE_DOUBLE:
		*out = d.double_value;
		break;
	case MMDB_DATA_TYPE_FLOAT:
		*out = (double)d.float_value;
		break;
	case MMDB_DATA_TYPE_INT32:
		*out = (double)d.int32;
		break;
	case MMDB_DATA_TYPE_UTF8_STRING: {
		char buf[32];
		char *end = NULL;
		if (d.data_size == 0 || d.data_size >= sizeof(buf))
			return false;
		memcpy(buf, d.utf8_string, d.data_size);
		buf[d.data_size] = '\0';
		*out = strtod(buf, &end);
		if (*end != '\0')
			return false;
		break;
	}
	default:
		return false;
	}
	return isfinite(*out);
}

static bool is_upper_alpha(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_code_char(char c)
{
	return is_upper_alpha(c) || (c >= '0' && c <= '9');
}

/** Copy a two-letter code, upper-cased; false unless it is exactly two letters. */
static bool copy_code2(char dst[3], const char *s, uint32_t len)
{
	if (s == NULL || len != 2)
		return false;
	char a = geo_upper(s[0]);
	char b = geo_upper(s[1]);
	if (!is_upper_alpha(a) || !is_upper_alpha(b))
		return false;
	dst[0] = a;
	dst[1] = b;
	dst[2] = '\0';
	return true;
}

static void fill_country(const db_file_t *f, MMDB_entry_s *entry, geo_loc_t *out)
{
	uint32_t len = 0;
	const char *s = get_str(entry, f->path_of[F_COUNTRY], &len);
	char cc[3];

	if (copy_code2(cc, s, len)) {
		/* Legacy pseudo-countries of older GeoIP data and "unknown" markers. */
		if (strcmp(cc, "EU") == 0) {
			memcpy(out->continent, "EU", 3);
		} else if (strcmp(cc, "AP") != 0 && strcmp(cc, "ZZ") != 0 &&
			   strcmp(cc, "XX") != 0) {
			memcpy(out->country, cc, 3);
		}
	}
	const char *cont = geo_country_continent(out->country);
	if (cont != NULL) {
		memcpy(out->continent, cont, 3);
	} else if (out->continent[0] == '\0') {
		s = get_str(entry, f->path_of[F_CONTINENT], &len);
		char c2[3];
		if (copy_code2(c2, s, len) && geo_continent_valid(c2))
			memcpy(out->continent, c2, 3);
	}
}

static void fill_subdivision(const db_file_t *f, MMDB_entry_s *entry, geo_loc_t *out)
{
	uint32_t len = 0;
	const char *s = get_str(entry, f->path_of[F_SUBDIV], &len);
	if (s == NULL || len == 0 || out->country[0] == '\0')
		return;
	if (f->subdiv_is_name && strcmp(out->country, "US") == 0) {
		const char *code = geo_us_state_code(s, len);
		if (code != NULL) {
			memcpy(out->subdivision, code, 3);
			return;
		}
	}
	/* A code: 1..3 letters or digits (GeoIP2 iso_code; a flat DB that stores codes). */
	if (len > 3)
		return;
	char tmp[4] = { 0 };
	for (uint32_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!f->subdiv_is_name)
			ch = geo_upper(ch);
		if (!is_code_char(ch))
			return;
		tmp[i] = ch;
	}
	memcpy(out->subdivision, tmp, sizeof(tmp));
}

static void fill_coords(const db_file_t *f, MMDB_entry_s *entry, geo_loc_t *out)
{
	double lat;
	double lon;
	if (!get_num(entry, f->path_of[F_LAT], &lat) || !get_num(entry, f->path_of[F_LON], &lon))
		return;
	if (lat < -90.0 || lat > 90.0 || lon < -180.0 || lon > 180.0)
		return;
	out->lat = lat;
	out->lon = lon;
	out->has_coords = true;
}

int geo_db_lookup(const geo_db_t *db, int af, const uint8_t *addr, geo_loc_t *out)
{
	return geo_db_lookup_ex(db, af, addr, true, out);
}

void geo_loc_coords(const geo_db_t *db, geo_loc_t *loc)
{
	if (loc->has_coords || db == NULL || loc->entry_file < 0 ||
	    (size_t)loc->entry_file >= db->n)
		return;
	const db_file_t *f = &db->file[loc->entry_file];
	MMDB_entry_s entry = { .mmdb = (MMDB_s *)&f->mmdb, .offset = loc->entry_off };
	loc->entry_file = -1;
	fill_coords(f, &entry, loc);
}

int geo_db_lookup_ex(const geo_db_t *db, int af, const uint8_t *addr, bool want_coords,
		     geo_loc_t *out)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} u;

	geo_loc_clear(out);
	if (addr == NULL || (af != AF_INET && af != AF_INET6))
		return GEO_EINVAL;
	if (af == AF_INET6 && memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
		af = AF_INET;
		addr += 12;
	}
	out->af = af;
	memcpy(out->addr, addr, af == AF_INET ? 4 : 16);
	out->src_prefix = (uint8_t)geo_af_bits(af);

	memset(&u, 0, sizeof(u));
	if (af == AF_INET) {
		u.sin.sin_family = AF_INET;
		memcpy(&u.sin.sin_addr, addr, 4);
	} else {
		u.sin6.sin6_family = AF_INET6;
		memcpy(&u.sin6.sin6_addr, addr, 16);
	}
	if (db == NULL)
		return GEO_ENOTFOUND;

	for (size_t i = 0; i < db->n; i++) {
		const db_file_t *f = &db->file[i];
		/* Lookups only read the handle; libmaxminddb's API is not const-qualified. */
		MMDB_s *mmdb = (MMDB_s *)&f->mmdb;
		int mmerr = MMDB_SUCCESS;

		if (af == AF_INET6 && mmdb->metadata.ip_version == 4)
			continue;
		MMDB_lookup_result_s res = MMDB_lookup_sockaddr(mmdb, &u.sa, &mmerr);
		if (mmerr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
			continue;
		if (mmerr != MMDB_SUCCESS)
			return GEO_EIO;
		if (!res.found_entry)
			continue;

		unsigned netmask = res.netmask;
		if (af == AF_INET && mmdb->metadata.ip_version == 6)
			netmask = netmask >= 96 ? netmask - 96 : 0;
		if (netmask > geo_af_bits(af))
			netmask = geo_af_bits(af);
		out->found = true;
		out->db_prefix = (uint8_t)netmask;
		fill_country(f, &res.entry, out);
		fill_subdivision(f, &res.entry, out);
		if (want_coords) {
			fill_coords(f, &res.entry, out);
		} else {
			out->entry_file = (int8_t)i;
			out->entry_off = res.entry.offset;
		}
		return GEO_OK;
	}
	return GEO_ENOTFOUND;
}

int geo_db_lookup_sa(const geo_db_t *db, const struct sockaddr *sa, geo_loc_t *out)
{
	int af;
	uint8_t addr[16];
	if (geo_addr_from_sockaddr(sa, &af, addr) != GEO_OK) {
		geo_loc_clear(out);
		return GEO_EINVAL;
	}
	return geo_db_lookup(db, af, addr, out);
}
