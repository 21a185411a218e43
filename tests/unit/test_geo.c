/* SPDX-License-Identifier: MIT */
/*
 * test_geo.c -- unit tests of geo/: country table, addresses, MMDB lookups in both schemas,
 * ECS, distance / Regions / bias, the latency table.
 *
 * Usage: test_geo [GROUP]   GROUP: cc, addr, db, ecs, point, latency (default: all).
 * The MMDB fixtures are generated at build time into GEO_FIXTURE_DIR from
 * tests/fixtures/geo/city.txt (see make-mmdb.pl there).
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "geo.h"

#ifndef GEO_FIXTURE_DIR
#error "GEO_FIXTURE_DIR must name the directory of the generated MMDB files"
#endif

#define GEOLITE2 GEO_FIXTURE_DIR "/geolite2-city.mmdb"
#define DBIP GEO_FIXTURE_DIR "/dbip-city.mmdb"
#define DBIP4 GEO_FIXTURE_DIR "/dbip-city-ipv4.mmdb"

#define COORD_EPS 0.001

/** Any object: out-parameters start pointing at it to check they are reset. */
static char poison;

/* ---- helpers ------------------------------------------------------------------------- */

static int lookup(const geo_db_t *db, const char *text, geo_loc_t *loc)
{
	uint8_t addr[16] = { 0 };
	if (inet_pton(AF_INET, text, addr) == 1)
		return geo_db_lookup(db, AF_INET, addr, loc);
	assert_int_equal(inet_pton(AF_INET6, text, addr), 1);
	return geo_db_lookup(db, AF_INET6, addr, loc);
}

static geo_db_t *open1(const char *path)
{
	char err[256] = "";
	geo_db_t *db = NULL;
	const char *paths[] = { path };
	int ret = geo_db_new(paths, 1, &db, err, sizeof(err));
	if (ret != GEO_OK)
		fail_msg("geo_db_new(%s): %s", path, err);
	return db;
}

static void expect_loc(const geo_loc_t *l, const char *cont, const char *cc, const char *sub,
		       double lat, double lon, unsigned db_prefix)
{
	assert_true(l->found);
	assert_string_equal(l->continent, cont);
	assert_string_equal(l->country, cc);
	assert_string_equal(l->subdivision, sub);
	assert_true(l->has_coords);
	assert_true(fabs(l->lat - lat) < COORD_EPS);
	assert_true(fabs(l->lon - lon) < COORD_EPS);
	assert_int_equal(l->db_prefix, db_prefix);
}

static void set_addr(geo_loc_t *l, const char *text, unsigned prefix)
{
	memset(l->addr, 0, sizeof(l->addr));
	if (inet_pton(AF_INET, text, l->addr) == 1) {
		l->af = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, l->addr), 1);
		l->af = AF_INET6;
	}
	l->src_prefix = (uint8_t)prefix;
}

/* ---- country table ------------------------------------------------------------------- */

static void test_cc_table(void **state)
{
	(void)state;
	static const struct {
		const char *cont;
		size_t n;
	} counts[] = { { "AF", 57 }, { "AN", 3 },  { "AS", 50 }, { "EU", 54 },
		       { "NA", 41 }, { "OC", 27 }, { "SA", 14 } };
	size_t seen[7] = { 0 };

	assert_int_equal(geo_country_count(), 246);
	const char *prev = NULL;
	for (size_t i = 0; i < geo_country_count(); i++) {
		const char *cont = NULL;
		const char *cc = geo_country_at(i, &cont);
		assert_non_null(cc);
		if (prev != NULL)
			assert_true(strcmp(prev, cc) < 0); /* sorted, no duplicates */
		prev = cc;
		assert_string_equal(geo_country_continent(cc), cont);
		for (size_t k = 0; k < 7; k++)
			if (strcmp(cont, counts[k].cont) == 0)
				seen[k]++;
	}
	for (size_t k = 0; k < 7; k++)
		assert_int_equal(seen[k], counts[k].n);
	assert_null(geo_country_at(246, NULL));
	assert_string_equal(geo_country_at(0, NULL), "AD");
	assert_string_equal(geo_country_at(245, NULL), "ZW");
}

static void test_cc_lookup(void **state)
{
	(void)state;
	assert_string_equal(geo_country_continent("US"), "NA");
	assert_string_equal(geo_country_continent("us"), "NA");
	assert_string_equal(geo_country_continent("TR"), "EU");
	assert_string_equal(geo_country_continent("CY"), "EU");
	assert_string_equal(geo_country_continent("AM"), "AS");
	assert_string_equal(geo_country_continent("GE"), "AS");
	assert_string_equal(geo_country_continent("XK"), "EU");
	assert_string_equal(geo_country_continent("AQ"), "AN");
	assert_string_equal(geo_country_continent("PR"), "NA");
	assert_string_equal(geo_country_continent("UM"), "OC");
	assert_string_equal(geo_country_continent("ZA"), "AF");
	assert_string_equal(geo_country_continent("BR"), "SA");
	assert_null(geo_country_continent("BV"));
	assert_null(geo_country_continent("CX"));
	assert_null(geo_country_continent("EH"));
	assert_null(geo_country_continent("HM"));
	assert_null(geo_country_continent("EU"));
	assert_null(geo_country_continent("USA"));
	assert_null(geo_country_continent("U"));
	assert_null(geo_country_continent(""));
	assert_null(geo_country_continent(NULL));

	assert_true(geo_continent_valid("AN"));
	assert_true(geo_continent_valid("OC"));
	assert_false(geo_continent_valid("EUR"));
	assert_false(geo_continent_valid("eu"));
	assert_false(geo_continent_valid("AU"));
	assert_false(geo_continent_valid(NULL));

	assert_string_equal(geo_us_state_code("Virginia", 8), "VA");
	assert_string_equal(geo_us_state_code("west virginia", 13), "WV");
	assert_string_equal(geo_us_state_code("District of Columbia", 20), "DC");
	assert_string_equal(geo_us_state_code("Washington, D.C.", 16), "DC");
	assert_string_equal(geo_us_state_code("Washington", 10), "WA");
	assert_string_equal(geo_us_state_code("Texasxyz", 5), "TX");
	assert_null(geo_us_state_code("Ontario", 7));
	assert_null(geo_us_state_code("Puerto Rico", 11));
	assert_null(geo_us_state_code("Virginia", 7));
	assert_true(geo_us_state_valid("DC"));
	assert_true(geo_us_state_valid("WY"));
	assert_false(geo_us_state_valid("PR"));
	assert_false(geo_us_state_valid("va"));
}

/* ---- addresses ----------------------------------------------------------------------- */

static void test_cidr_parse(void **state)
{
	(void)state;
	geo_cidr_t c;
	char err[128];

	assert_int_equal(geo_cidr_parse("192.0.2.0/24", &c, err, sizeof(err)), GEO_OK);
	assert_int_equal(c.af, AF_INET);
	assert_int_equal(c.prefix, 24);
	assert_memory_equal(c.addr, "\xc0\x00\x02\x00", 4);
	assert_int_equal(geo_cidr_parse("2001:db8::/32", &c, err, sizeof(err)), GEO_OK);
	assert_int_equal(c.af, AF_INET6);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(geo_cidr_parse("192.0.2.7", &c, err, sizeof(err)), GEO_OK);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(geo_cidr_parse("2001:db8::1", &c, err, sizeof(err)), GEO_OK);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(geo_cidr_parse("0.0.0.0/0", &c, err, sizeof(err)), GEO_OK);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(geo_cidr_parse("::/0", &c, err, sizeof(err)), GEO_OK);

	assert_int_equal(geo_cidr_parse("192.0.2.1/24", &c, err, sizeof(err)), GEO_EINVAL);
	assert_string_equal(err, "\"192.0.2.1/24\": address bits set beyond /24");
	assert_int_equal(geo_cidr_parse("10.0.0.0/33", &c, err, sizeof(err)), GEO_EPARSE);
	assert_string_equal(err, "\"10.0.0.0/33\": prefix length must be 0..32");
	assert_int_equal(geo_cidr_parse("2001:db8::/129", &c, err, sizeof(err)), GEO_EPARSE);
	assert_int_equal(geo_cidr_parse("10.0.0.0/", &c, err, sizeof(err)), GEO_EPARSE);
	assert_int_equal(geo_cidr_parse("10.0.0.0/-1", &c, err, sizeof(err)), GEO_EPARSE);
	assert_int_equal(geo_cidr_parse("10.0.0.0/8x", &c, err, sizeof(err)), GEO_EPARSE);
	assert_int_equal(geo_cidr_parse("10.0.0/8", &c, err, sizeof(err)), GEO_EPARSE);
	assert_int_equal(geo_cidr_parse("example", &c, err, sizeof(err)), GEO_EPARSE);
	assert_string_equal(err, "\"example\": not an address or CIDR block");
	assert_int_equal(geo_cidr_parse("", &c, NULL, 0), GEO_EPARSE);
}

static void test_cidr_contains_mask(void **state)
{
	(void)state;
	geo_cidr_t b16;
	geo_cidr_t b24;
	uint8_t a[16] = { 198, 51, 100, 0 };

	assert_int_equal(geo_cidr_parse("198.51.0.0/16", &b16, NULL, 0), GEO_OK);
	assert_int_equal(geo_cidr_parse("198.51.100.0/24", &b24, NULL, 0), GEO_OK);
	/* spec POL-I2: a /24 subnet lies in a /16 block; a /16 subnet does not lie in a /24. */
	assert_true(geo_cidr_contains(&b16, AF_INET, a, 24));
	assert_true(geo_cidr_contains(&b24, AF_INET, a, 24));
	assert_true(geo_cidr_contains(&b24, AF_INET, a, 32));
	uint8_t wide[16] = { 198, 51, 0, 0 };
	assert_false(geo_cidr_contains(&b24, AF_INET, wide, 16));
	assert_true(geo_cidr_contains(&b16, AF_INET, wide, 16));
	uint8_t other[16] = { 198, 52, 100, 0 };
	assert_false(geo_cidr_contains(&b16, AF_INET, other, 24));
	assert_false(geo_cidr_contains(&b16, AF_INET6, a, 64));

	uint8_t m[16];
	memset(m, 0xff, sizeof(m));
	geo_addr_mask(AF_INET, m, 20);
	assert_memory_equal(m, "\xff\xff\xf0\x00", 4);
	assert_int_equal(m[4], 0xff); /* beyond the IPv4 bytes: untouched */
	memset(m, 0xff, sizeof(m));
	geo_addr_mask(AF_INET6, m, 57);
	assert_memory_equal(m, "\xff\xff\xff\xff\xff\xff\xff\x80\0\0\0\0\0\0\0\0", 16);
	memset(m, 0xff, sizeof(m));
	geo_addr_mask(AF_INET6, m, 0);
	assert_memory_equal(m, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(geo_af_bits(AF_INET), 32);
	assert_int_equal(geo_af_bits(AF_INET6), 128);
	assert_int_equal(geo_af_bits(AF_UNIX), 0);
}

static void test_addr_from_sockaddr(void **state)
{
	(void)state;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	int af = 0;
	uint8_t a[16];

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.9", &s6.sin6_addr), 1);
	assert_int_equal(geo_addr_from_sockaddr((struct sockaddr *)&s6, &af, a), GEO_OK);
	assert_int_equal(af, AF_INET);
	assert_memory_equal(a, "\xc0\x00\x02\x09\0\0\0\0", 8);

	assert_int_equal(inet_pton(AF_INET6, "2001:db8::9", &s6.sin6_addr), 1);
	assert_int_equal(geo_addr_from_sockaddr((struct sockaddr *)&s6, &af, a), GEO_OK);
	assert_int_equal(af, AF_INET6);
	assert_int_equal(a[15], 9);

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_addr.s_addr = htonl(0x0a000001);
	assert_int_equal(geo_addr_from_sockaddr((struct sockaddr *)&s4, &af, a), GEO_OK);
	assert_int_equal(af, AF_INET);
	assert_memory_equal(a, "\x0a\0\0\x01", 4);

	s4.sin_family = AF_UNIX;
	assert_int_equal(geo_addr_from_sockaddr((struct sockaddr *)&s4, &af, a), GEO_EINVAL);
	assert_int_equal(geo_addr_from_sockaddr(NULL, &af, a), GEO_EINVAL);
	assert_string_equal(geo_strerror(GEO_EECS_BITS),
			    "ECS address bits set beyond the source prefix");
	assert_string_equal(geo_strerror(12345), "unknown error");
}

/* ---- MMDB: GeoLite2 schema ----------------------------------------------------------- */

static void test_db_geolite2(void **state)
{
	(void)state;
	geo_db_t *db = open1(GEOLITE2);
	geo_db_info_t info;
	geo_loc_t l;

	assert_int_equal(geo_db_file_count(db), 1);
	assert_int_equal(geo_db_info(db, 0, &info), GEO_OK);
	assert_int_equal(info.schema, GEO_SCHEMA_GEOIP2);
	assert_string_equal(info.database_type, "GeoLite2-City");
	assert_int_equal(info.ip_version, 6);
	assert_string_equal(info.path, GEOLITE2);
	assert_int_equal(geo_db_info(db, 1, &info), GEO_EINVAL);

	assert_int_equal(lookup(db, "192.0.2.1", &l), GEO_OK);
	expect_loc(&l, "NA", "US", "VA", 39.0438, -77.4874, 25);
	assert_int_equal(l.af, AF_INET);
	assert_int_equal(l.src_prefix, 32);
	assert_false(l.from_ecs);
	assert_memory_equal(l.addr, "\xc0\x00\x02\x01", 4);

	assert_int_equal(lookup(db, "192.0.2.200", &l), GEO_OK);
	expect_loc(&l, "NA", "US", "CA", 37.7749, -122.4194, 25);
	assert_int_equal(lookup(db, "198.51.100.7", &l), GEO_OK);
	expect_loc(&l, "EU", "FR", "IDF", 48.8566, 2.3522, 24);
	assert_int_equal(lookup(db, "203.0.113.70", &l), GEO_OK);
	expect_loc(&l, "AS", "JP", "13", 35.6762, 139.6503, 26);
	assert_int_equal(lookup(db, "203.0.113.200", &l), GEO_OK);
	expect_loc(&l, "OC", "AU", "NSW", -33.8688, 151.2093, 27);
	assert_int_equal(lookup(db, "203.0.113.255", &l), GEO_OK);
	expect_loc(&l, "AF", "ZA", "WC", -33.9249, 18.4241, 27);
	assert_int_equal(lookup(db, "10.0.255.255", &l), GEO_OK);
	expect_loc(&l, "EU", "IE", "L", 53.3498, -6.2603, 16);
	/* OC-2: the DB says AS for Turkey; Route 53's table says EU. */
	assert_int_equal(lookup(db, "10.1.2.3", &l), GEO_OK);
	expect_loc(&l, "EU", "TR", "34", 41.0082, 28.9784, 16);
	/* POL-G5: a US address with no state. */
	assert_int_equal(lookup(db, "10.2.0.1", &l), GEO_OK);
	expect_loc(&l, "NA", "US", "", 37.751, -97.822, 16);
	/* No country: the database's continent is used; no coordinates. */
	assert_int_equal(lookup(db, "10.3.0.1", &l), GEO_OK);
	assert_true(l.found);
	assert_string_equal(l.continent, "EU");
	assert_string_equal(l.country, "");
	assert_string_equal(l.subdivision, "");
	assert_false(l.has_coords);
	/* A country without coordinates. */
	assert_int_equal(lookup(db, "100.65.1.1", &l), GEO_OK);
	assert_string_equal(l.country, "GB");
	assert_string_equal(l.continent, "EU");
	assert_false(l.has_coords);

	assert_int_equal(lookup(db, "2001:db8:3::1", &l), GEO_OK);
	expect_loc(&l, "AS", "JP", "13", 35.6762, 139.6503, 48);
	assert_int_equal(l.af, AF_INET6);
	assert_int_equal(l.src_prefix, 128);
	assert_int_equal(lookup(db, "2001:db8:1:ffff::1", &l), GEO_OK);
	expect_loc(&l, "NA", "US", "VA", 39.0438, -77.4874, 48);
	assert_int_equal(lookup(db, "2001:db8:6:ff::1", &l), GEO_OK);
	expect_loc(&l, "AF", "ZA", "WC", -33.9249, 18.4241, 56);
	assert_int_equal(lookup(db, "2001:db8:8::1", &l), GEO_OK);
	expect_loc(&l, "EU", "CY", "", 35.1856, 33.3823, 48);
	/* IPv4-mapped IPv6 is looked up as IPv4. */
	assert_int_equal(lookup(db, "::ffff:198.51.100.1", &l), GEO_OK);
	expect_loc(&l, "EU", "FR", "IDF", 48.8566, 2.3522, 24);
	assert_int_equal(l.af, AF_INET);
	assert_int_equal(l.src_prefix, 32);

	/* Unknown addresses. */
	assert_int_equal(lookup(db, "198.18.0.1", &l), GEO_ENOTFOUND);
	assert_false(l.found);
	assert_string_equal(l.country, "");
	assert_string_equal(l.continent, "");
	assert_int_equal(l.af, AF_INET);
	assert_int_equal(l.db_prefix, 0);
	assert_int_equal(lookup(db, "2001:db8:6:100::1", &l), GEO_ENOTFOUND);
	assert_int_equal(lookup(db, "2001:db8:ffff::1", &l), GEO_ENOTFOUND);
	assert_int_equal(lookup(db, "10.5.0.1", &l), GEO_ENOTFOUND);

	struct sockaddr_in s4;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "203.0.113.130", &s4.sin_addr), 1);
	assert_int_equal(geo_db_lookup_sa(db, (struct sockaddr *)&s4, &l), GEO_OK);
	expect_loc(&l, "SA", "BR", "SP", -23.5505, -46.6333, 26);
	s4.sin_family = AF_UNIX;
	assert_int_equal(geo_db_lookup_sa(db, (struct sockaddr *)&s4, &l), GEO_EINVAL);
	uint8_t a[16] = { 0 };
	assert_int_equal(geo_db_lookup(db, AF_UNIX, a, &l), GEO_EINVAL);

	geo_db_free(db);
	/* No database at all: nothing is found, the address is still recorded. */
	assert_int_equal(lookup(NULL, "192.0.2.1", &l), GEO_ENOTFOUND);
	assert_false(l.found);
	assert_int_equal(l.af, AF_INET);
	geo_db_free(NULL);
}

/* ---- MMDB: DB-IP (flat) schema ------------------------------------------------------- */

static void test_db_dbip(void **state)
{
	(void)state;
	geo_db_t *db = open1(DBIP);
	geo_db_info_t info;
	geo_loc_t l;

	assert_int_equal(geo_db_info(db, 0, &info), GEO_OK);
	assert_int_equal(info.schema, GEO_SCHEMA_FLAT);
	assert_string_equal(info.database_type, "dbip-city");

	/* state1 is a name: US state names map to USPS codes. */
	assert_int_equal(lookup(db, "192.0.2.1", &l), GEO_OK);
	expect_loc(&l, "NA", "US", "VA", 39.0438, -77.4874, 25);
	assert_int_equal(lookup(db, "192.0.2.129", &l), GEO_OK);
	expect_loc(&l, "NA", "US", "CA", 37.7749, -122.4194, 25);
	assert_int_equal(lookup(db, "10.4.9.9", &l), GEO_OK);
	expect_loc(&l, "NA", "US", "DC", 38.9072, -77.0369, 16);
	/* ... other countries' subdivision names are not codes: unknown. */
	assert_int_equal(lookup(db, "198.51.100.7", &l), GEO_OK);
	expect_loc(&l, "EU", "FR", "", 48.8566, 2.3522, 24);
	assert_int_equal(lookup(db, "203.0.113.1", &l), GEO_OK);
	expect_loc(&l, "EU", "DE", "", 50.1109, 8.6821, 26);
	/* Continent from Route 53's table (the flat schema has none). */
	assert_int_equal(lookup(db, "10.1.0.1", &l), GEO_OK);
	expect_loc(&l, "EU", "TR", "", 41.0082, 28.9784, 16);
	assert_int_equal(lookup(db, "100.65.0.1", &l), GEO_OK);
	assert_string_equal(l.country, "GB");
	assert_false(l.has_coords);
	/* Rows without a country are not in the flat files. */
	assert_int_equal(lookup(db, "10.3.0.1", &l), GEO_ENOTFOUND);

	assert_int_equal(lookup(db, "2001:db8:7::1", &l), GEO_OK);
	expect_loc(&l, "NA", "US", "TX", 30.2672, -97.7431, 48);
	assert_int_equal(lookup(db, "2001:db8:5:1::1", &l), GEO_OK);
	expect_loc(&l, "OC", "AU", "", -33.8688, 151.2093, 48);
	assert_int_equal(lookup(db, "2001:db8:9::1", &l), GEO_ENOTFOUND);
	geo_db_free(db);
}

static void test_db_multi(void **state)
{
	(void)state;
	char err[256] = "";
	geo_db_t *db = NULL;
	geo_db_info_t info;
	geo_loc_t l;
	const char *paths[] = { DBIP4, GEOLITE2 };

	/* The IPv4-only flat file alone. */
	db = open1(DBIP4);
	assert_int_equal(geo_db_info(db, 0, &info), GEO_OK);
	assert_int_equal(info.ip_version, 4);
	assert_int_equal(info.schema, GEO_SCHEMA_FLAT);
	assert_int_equal(lookup(db, "203.0.113.70", &l), GEO_OK);
	expect_loc(&l, "AS", "JP", "", 35.6762, 139.6503, 26);
	assert_int_equal(lookup(db, "2001:db8:2::1", &l), GEO_ENOTFOUND);
	assert_int_equal(l.af, AF_INET6);
	geo_db_free(db);

	/* Two files, first match wins; IPv6 skips the IPv4-only file. */
	assert_int_equal(geo_db_new(paths, 2, &db, err, sizeof(err)), GEO_OK);
	assert_int_equal(geo_db_file_count(db), 2);
	assert_int_equal(geo_db_info(db, 1, &info), GEO_OK);
	assert_int_equal(info.schema, GEO_SCHEMA_GEOIP2);
	assert_int_equal(lookup(db, "198.51.100.7", &l), GEO_OK);
	expect_loc(&l, "EU", "FR", "", 48.8566, 2.3522, 24); /* flat: no code */
	assert_int_equal(lookup(db, "10.3.0.1", &l), GEO_OK); /* only in the second file */
	assert_string_equal(l.continent, "EU");
	assert_int_equal(lookup(db, "2001:db8:2::1", &l), GEO_OK);
	expect_loc(&l, "EU", "DE", "HE", 50.1109, 8.6821, 48);
	geo_db_free(db);
}

static void test_db_errors(void **state)
{
	(void)state;
	char err[512] = "";
	geo_db_t *db = (geo_db_t *)(void *)&poison; /* must be reset to NULL */
	const char *missing[] = { GEO_FIXTURE_DIR "/no-such.mmdb" };
	const char *notmmdb[] = { GEO_SOURCE_DIR "/city.txt" };
	const char *five[] = { DBIP, DBIP, DBIP, DBIP, DBIP };

	assert_int_equal(geo_db_new(missing, 1, &db, err, sizeof(err)), GEO_EIO);
	assert_null(db);
	assert_non_null(strstr(err, GEO_FIXTURE_DIR "/no-such.mmdb: "));
	assert_int_equal(geo_db_new(notmmdb, 1, &db, err, sizeof(err)), GEO_EIO);
	assert_non_null(strstr(err, "city.txt: "));
	assert_int_equal(geo_db_new(five, 5, &db, err, sizeof(err)), GEO_EINVAL);
	assert_string_equal(err, "geo database: between 1 and 4 files");

	/* Records of an unknown kind are refused; records without location keys leave the
	 * schema to the database type. */
	const char *other[] = { GEO_FIXTURE_DIR "/other.mmdb" };
	assert_int_equal(geo_db_new(other, 1, &db, err, sizeof(err)), GEO_EINVAL);
	assert_null(db);
	assert_string_equal(err, GEO_FIXTURE_DIR "/other.mmdb: unknown record layout "
				 "(database_type \"r53d-other\"): expected GeoIP2/GeoLite2 City or "
				 "the DB-IP Lite (ip-location-db) schema");
	db = open1(GEO_FIXTURE_DIR "/opaque-geolite2.mmdb");
	geo_db_info_t info;
	geo_loc_t l;
	assert_int_equal(geo_db_info(db, 0, &info), GEO_OK);
	assert_int_equal(info.schema, GEO_SCHEMA_GEOIP2);
	assert_int_equal(lookup(db, "192.0.2.1", &l), GEO_OK);
	assert_true(l.found);
	assert_int_equal(l.db_prefix, 24);
	assert_string_equal(l.country, "");
	assert_string_equal(l.continent, "");
	assert_false(l.has_coords);
	assert_int_equal(lookup(db, "198.51.100.1", &l), GEO_ENOTFOUND);
	geo_db_free(db);
	assert_int_equal(geo_db_new(five, 0, &db, err, sizeof(err)), GEO_EINVAL);

	/* geo.database from JSON: string or array, relative to the configuration's directory. */
	json_t *v = json_string("geolite2-city.mmdb");
	assert_int_equal(geo_db_new_json(v, GEO_FIXTURE_DIR, NULL, &db, err, sizeof(err)),
			 GEO_OK);
	assert_int_equal(geo_db_file_count(db), 1);
	geo_db_free(db);
	json_decref(v);
	v = json_pack("[ss]", "dbip-city-ipv4.mmdb", DBIP);
	assert_int_equal(geo_db_new_json(v, GEO_FIXTURE_DIR, NULL, &db, err, sizeof(err)),
			 GEO_OK);
	assert_int_equal(geo_db_file_count(db), 2);
	geo_db_free(db);
	json_decref(v);
	v = json_integer(3);
	assert_int_equal(geo_db_new_json(v, NULL, "c.json: geo.database", &db, err, sizeof(err)),
			 GEO_EINVAL);
	assert_string_equal(err, "c.json: geo.database: expected a file name or an array of "
				 "1..4 file names");
	json_decref(v);
	v = json_pack("[si]", "a.mmdb", 1);
	assert_int_equal(geo_db_new_json(v, NULL, NULL, &db, err, sizeof(err)), GEO_EINVAL);
	assert_string_equal(err, "geo.database[1]: expected a file name");
	json_decref(v);
	v = json_string("");
	assert_int_equal(geo_db_new_json(v, NULL, NULL, &db, err, sizeof(err)), GEO_EINVAL);
	json_decref(v);
}

/* ---- ECS ----------------------------------------------------------------------------- */

static void test_ecs_parse_valid(void **state)
{
	(void)state;
	geo_ecs_t e;
	static const uint8_t v4_24[] = { 0, 1, 24, 0, 192, 0, 2 };
	static const uint8_t v4_20[] = { 0, 1, 20, 0, 198, 51, 96 };
	static const uint8_t v4_32[] = { 0, 1, 32, 0, 203, 0, 113, 9 };
	static const uint8_t v4_0[] = { 0, 1, 0, 0 };
	static const uint8_t v6_56[] = { 0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 6, 0 };
	static const uint8_t v6_0[] = { 0, 2, 0, 0 };

	assert_int_equal(geo_ecs_parse(v4_24, sizeof(v4_24), &e), GEO_OK);
	assert_int_equal(e.family, GEO_ECS_FAMILY_IPV4);
	assert_int_equal(e.source_prefix, 24);
	assert_int_equal(e.scope_prefix, 0);
	assert_memory_equal(e.addr, "\xc0\x00\x02\x00\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(geo_ecs_parse(v4_20, sizeof(v4_20), &e), GEO_OK);
	assert_int_equal(e.source_prefix, 20);
	assert_memory_equal(e.addr, "\xc6\x33\x60\x00", 4);
	assert_int_equal(geo_ecs_parse(v4_32, sizeof(v4_32), &e), GEO_OK);
	assert_int_equal(e.addr[3], 9);
	assert_int_equal(geo_ecs_parse(v4_0, sizeof(v4_0), &e), GEO_OK);
	assert_int_equal(e.source_prefix, 0);
	assert_false(geo_ecs_usable(&e, false)); /* ECS-5.5 */
	assert_int_equal(geo_ecs_parse(v6_56, sizeof(v6_56), &e), GEO_OK);
	assert_int_equal(e.family, GEO_ECS_FAMILY_IPV6);
	assert_int_equal(e.source_prefix, 56);
	assert_memory_equal(e.addr, "\x20\x01\x0d\xb8\x00\x06\x00\0\0\0\0\0\0\0\0\0", 16);
	assert_true(geo_ecs_usable(&e, false));
	assert_false(geo_ecs_usable(&e, true)); /* ECS-3 */
	assert_false(geo_ecs_usable(NULL, false));
	assert_int_equal(geo_ecs_parse(v6_0, sizeof(v6_0), &e), GEO_OK);
}

static void test_ecs_parse_invalid(void **state)
{
	(void)state;
	geo_ecs_t e;
	static const uint8_t short3[] = { 0, 1, 0 };
	static const uint8_t fam0[] = { 0, 0, 0, 0 };
	static const uint8_t fam3[] = { 0, 3, 8, 0, 1 };
	static const uint8_t fam257[] = { 1, 1, 8, 0, 1 };
	static const uint8_t v4_33[] = { 0, 1, 33, 0, 1, 2, 3, 4, 0 };
	static const uint8_t v6_129[] = { 0, 2, 129, 0, 1, 2, 3, 4, 5, 6, 7, 8,
					  9, 10, 11, 12, 13, 14, 15, 16, 0 };
	static const uint8_t scope1[] = { 0, 1, 24, 1, 192, 0, 2 };
	static const uint8_t scope24[] = { 0, 1, 24, 24, 192, 0, 2 };
	static const uint8_t toomany[] = { 0, 1, 24, 0, 192, 0, 2, 0 };
	static const uint8_t toofew[] = { 0, 1, 24, 0, 192, 0 };
	static const uint8_t zero_with_addr[] = { 0, 1, 0, 0, 0 };
	static const uint8_t v6_toofew[] = { 0, 2, 48, 0, 0x20, 0x01, 0x0d, 0xb8, 0 };
	static const uint8_t bits20[] = { 0, 1, 20, 0, 198, 51, 100 };
	static const uint8_t bits23[] = { 0, 1, 23, 0, 192, 0, 3 };
	static const uint8_t bits1[] = { 0, 1, 1, 0, 0xc0 };
	static const uint8_t v6bits[] = { 0, 2, 33, 0, 0x20, 0x01, 0x0d, 0xb8, 0x40 };

	assert_int_equal(geo_ecs_parse(NULL, 0, &e), GEO_EECS_SHORT);
	assert_int_equal(geo_ecs_parse(short3, 0, &e), GEO_EECS_SHORT);
	assert_int_equal(geo_ecs_parse(short3, sizeof(short3), &e), GEO_EECS_SHORT);
	assert_int_equal(geo_ecs_parse(fam0, sizeof(fam0), &e), GEO_EECS_FAMILY);
	assert_int_equal(geo_ecs_parse(fam3, sizeof(fam3), &e), GEO_EECS_FAMILY);
	assert_int_equal(geo_ecs_parse(fam257, sizeof(fam257), &e), GEO_EECS_FAMILY);
	assert_int_equal(geo_ecs_parse(v4_33, sizeof(v4_33), &e), GEO_EECS_SOURCE);
	assert_int_equal(geo_ecs_parse(v6_129, sizeof(v6_129), &e), GEO_EECS_SOURCE);
	assert_int_equal(geo_ecs_parse(scope1, sizeof(scope1), &e), GEO_EECS_SCOPE);
	assert_int_equal(geo_ecs_parse(scope24, sizeof(scope24), &e), GEO_EECS_SCOPE);
	assert_int_equal(geo_ecs_parse(toomany, sizeof(toomany), &e), GEO_EECS_ADDRLEN);
	assert_int_equal(geo_ecs_parse(toofew, sizeof(toofew), &e), GEO_EECS_ADDRLEN);
	assert_int_equal(geo_ecs_parse(zero_with_addr, sizeof(zero_with_addr), &e),
			 GEO_EECS_ADDRLEN);
	assert_int_equal(geo_ecs_parse(v6_toofew, sizeof(v6_toofew), &e), GEO_EECS_ADDRLEN);
	assert_int_equal(geo_ecs_parse(bits20, sizeof(bits20), &e), GEO_EECS_BITS);
	assert_int_equal(geo_ecs_parse(bits23, sizeof(bits23), &e), GEO_EECS_BITS);
	assert_int_equal(geo_ecs_parse(bits1, sizeof(bits1), &e), GEO_EECS_BITS);
	assert_int_equal(geo_ecs_parse(v6bits, sizeof(v6bits), &e), GEO_EECS_BITS);
}

static void test_ecs_scope_write(void **state)
{
	(void)state;
	geo_ecs_t e;
	uint8_t buf[GEO_ECS_MAX_WIRE];
	size_t n = 0;
	static const uint8_t v4_24[] = { 0, 1, 24, 0, 192, 0, 2 };
	static const uint8_t v6_56[] = { 0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 6, 0 };

	assert_int_equal(geo_ecs_parse(v4_24, sizeof(v4_24), &e), GEO_OK);
	assert_int_equal(geo_ecs_scope(&e, true, false), 24);
	assert_int_equal(geo_ecs_scope(&e, false, false), 0);
	assert_int_equal(geo_ecs_scope(&e, true, true), 0);
	assert_int_equal(geo_ecs_scope(NULL, true, false), 0);
	assert_int_equal(geo_ecs_wire_len(&e), 11);
	assert_int_equal(geo_ecs_write(&e, 24, buf, sizeof(buf), &n), GEO_OK);
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "\x00\x08\x00\x07\x00\x01\x18\x18\xc0\x00\x02", 11);
	/* One byte short: refused, buffer untouched. */
	memset(buf, 0xee, sizeof(buf));
	n = 99;
	assert_int_equal(geo_ecs_write(&e, 24, buf, 10, &n), GEO_ELIMIT);
	assert_int_equal(n, 99);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(geo_ecs_write(&e, 24, buf, 11, NULL), GEO_OK);
	/* Scope clamped to the family. */
	assert_int_equal(geo_ecs_write(&e, 200, buf, sizeof(buf), &n), GEO_OK);
	assert_int_equal(buf[7], 32);

	assert_int_equal(geo_ecs_parse(v6_56, sizeof(v6_56), &e), GEO_OK);
	assert_int_equal(geo_ecs_write(&e, geo_ecs_scope(&e, true, false), buf, sizeof(buf), &n),
			 GEO_OK);
	assert_int_equal(n, 15);
	assert_memory_equal(buf, "\x00\x08\x00\x0b\x00\x02\x38\x38\x20\x01\x0d\xb8\x00\x06\x00",
			    15);

	/* Source /0: no address octets. */
	memset(&e, 0, sizeof(e));
	e.family = GEO_ECS_FAMILY_IPV4;
	assert_int_equal(geo_ecs_write(&e, 0, buf, sizeof(buf), &n), GEO_OK);
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "\x00\x08\x00\x04\x00\x01\x00\x00", 8);
	/* A hand-made option with stray bits is echoed masked. */
	e.source_prefix = 20;
	memcpy(e.addr, "\xc6\x33\x64\x09", 4);
	assert_int_equal(geo_ecs_write(&e, 20, buf, sizeof(buf), &n), GEO_OK);
	assert_int_equal(n, 11);
	assert_memory_equal(buf + 8, "\xc6\x33\x60", 3);
	e.family = 7;
	assert_int_equal(geo_ecs_write(&e, 0, buf, sizeof(buf), &n), GEO_EINVAL);
}

static void test_ecs_locate(void **state)
{
	(void)state;
	geo_db_t *db = open1(GEOLITE2);
	geo_ecs_t e;
	geo_loc_t l;
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	static const uint8_t v4_24[] = { 0, 1, 24, 0, 192, 0, 2 };
	static const uint8_t v4_0[] = { 0, 1, 0, 0 };
	static const uint8_t v6_56[] = { 0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 6, 0 };
	static const uint8_t mapped[] = { 0, 2, 120, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					  0, 0, 0xff, 0xff, 198, 51, 100 };

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "203.0.113.70", &s4.sin_addr), 1);

	/* ECS wins over the resolver address. */
	assert_int_equal(geo_ecs_parse(v4_24, sizeof(v4_24), &e), GEO_OK);
	assert_int_equal(geo_client_locate(db, &e, (struct sockaddr *)&s4, &l), GEO_OK);
	assert_true(l.from_ecs);
	assert_int_equal(l.src_prefix, 24);
	assert_memory_equal(l.addr, "\xc0\x00\x02\x00", 4);
	expect_loc(&l, "NA", "US", "VA", 39.0438, -77.4874, 25);

	/* Source prefix 0: the resolver address. */
	assert_int_equal(geo_ecs_parse(v4_0, sizeof(v4_0), &e), GEO_OK);
	assert_int_equal(geo_client_locate(db, &e, (struct sockaddr *)&s4, &l), GEO_OK);
	assert_false(l.from_ecs);
	assert_int_equal(l.src_prefix, 32);
	expect_loc(&l, "AS", "JP", "13", 35.6762, 139.6503, 26);

	/* No ECS, IPv6 resolver. */
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:4::53", &s6.sin6_addr), 1);
	assert_int_equal(geo_client_locate(db, NULL, (struct sockaddr *)&s6, &l), GEO_OK);
	assert_int_equal(l.src_prefix, 128);
	expect_loc(&l, "SA", "BR", "SP", -23.5505, -46.6333, 48);

	/* IPv6 ECS /56. */
	assert_int_equal(geo_ecs_parse(v6_56, sizeof(v6_56), &e), GEO_OK);
	assert_int_equal(geo_client_locate(db, &e, (struct sockaddr *)&s4, &l), GEO_OK);
	assert_int_equal(l.af, AF_INET6);
	assert_int_equal(l.src_prefix, 56);
	expect_loc(&l, "AF", "ZA", "WC", -33.9249, 18.4241, 56);

	/* IPv4-mapped ECS subnet: located as IPv4 /24. */
	assert_int_equal(geo_ecs_parse(mapped, sizeof(mapped), &e), GEO_OK);
	assert_int_equal(geo_client_locate(db, &e, NULL, &l), GEO_OK);
	assert_int_equal(l.af, AF_INET);
	assert_int_equal(l.src_prefix, 24);
	assert_string_equal(l.country, "FR");

	/* Unmapped ECS subnet: not found, but the address is kept for CIDR rules. */
	static const uint8_t unknown[] = { 0, 1, 24, 0, 198, 18, 0 };
	assert_int_equal(geo_ecs_parse(unknown, sizeof(unknown), &e), GEO_OK);
	assert_int_equal(geo_client_locate(db, &e, NULL, &l), GEO_ENOTFOUND);
	assert_true(l.from_ecs);
	assert_int_equal(l.src_prefix, 24);
	assert_memory_equal(l.addr, "\xc6\x12\x00\x00", 4);

	/* Nothing at all. */
	assert_int_equal(geo_client_locate(db, NULL, NULL, &l), GEO_ENOTFOUND);
	assert_int_equal(l.af, 0);
	geo_db_free(db);
}

/* ---- distance, Regions, bias --------------------------------------------------------- */

static void test_distance(void **state)
{
	(void)state;
	const geo_region_t *dub = geo_region_get(geo_region_find("eu-west-1"));
	const geo_region_t *fra = geo_region_get(geo_region_find("eu-central-1"));
	assert_non_null(dub);
	assert_non_null(fra);
	double d = geo_distance_km(dub->lat, dub->lon, fra->lat, fra->lon);
	assert_true(fabs(d - 1087.0) < 1087.0 * 0.01);
	assert_true(fabs(d - 1087.724) < 0.01);
	assert_true(fabs(geo_distance_km(fra->lat, fra->lon, dub->lat, dub->lon) - d) < 1e-9);
	assert_true(fabs(geo_distance_km(10, 20, 10, 20)) < 1e-9);
	assert_true(fabs(geo_distance_km(0, 0, 0, 180) - 20015.0868) < 0.01);
	assert_true(fabs(geo_distance_km(90, 0, -90, 0) - 20015.0868) < 0.01);
	assert_true(fabs(geo_distance_km(39.04, -77.49, 51.51, -0.13) - 5917.468) < 0.01);
	/* Across the antimeridian: 179E to 179W on the equator is 2 degrees. */
	assert_true(fabs(geo_distance_km(0, 179, 0, -179) - 222.39) < 0.01);

	assert_true(fabs(geo_latency_estimate_ms(1000.0) - 15.0) < 1e-9);
	assert_true(fabs(geo_latency_estimate_ms(0.0) - 5.0) < 1e-9);
	assert_true(fabs(geo_latency_estimate_ms(d) - 15.87724) < 1e-4);
}

static void test_bias(void **state)
{
	(void)state;
	/* spec POL-P2 worked example. */
	assert_true(fabs(geo_bias_distance(150.0, 50) - 75.0) < 1e-9);
	assert_true(fabs(geo_bias_distance(150.0, -50) - 300.0) < 1e-9);
	assert_true(fabs(geo_bias_distance(100.0, 0) - 100.0) < 1e-9);
	/* Boundaries: +99 multiplies by 0.01, -99 divides by 0.01. */
	assert_true(fabs(geo_bias_distance(150.0, 99) - 1.5) < 1e-9);
	assert_true(fabs(geo_bias_distance(150.0, -99) - 15000.0) < 1e-6);
	assert_true(fabs(geo_bias_distance(150.0, 1) - 148.5) < 1e-9);
	assert_true(fabs(geo_bias_distance(150.0, -1) - 151.51515151) < 1e-6);
	/* Out of range input is clamped to +-99. */
	assert_true(fabs(geo_bias_distance(150.0, 100) - 1.5) < 1e-9);
	assert_true(fabs(geo_bias_distance(150.0, -100) - 15000.0) < 1e-6);
	assert_true(fabs(geo_bias_distance(0.0, -99)) < 1e-9);

	/* OC-17 ties: lower value first, then lower name in byte order. */
	assert_true(geo_rank_cmp(10.0, "b", 10.0, "a") > 0);
	assert_true(geo_rank_cmp(10.0, "a", 10.0, "b") < 0);
	assert_true(geo_rank_cmp(9.0, "z", 10.0, "a") < 0);
	assert_true(geo_rank_cmp(10.0, "us-east-1", 10.0, "us-east-1") == 0);
	assert_true(geo_rank_cmp(1.0, "Z", 1.0, "a") < 0); /* byte order: 'Z' < 'a' */
}

static void test_regions(void **state)
{
	(void)state;
	geo_loc_t l;

	assert_int_equal(geo_region_count(), 39);
	assert_int_equal(geo_region_find("us-east-1"), 0);
	assert_int_equal(geo_region_find("cn-north-1"), 21);
	assert_int_equal(geo_region_find("us-east-9"), -1);
	assert_int_equal(geo_region_find("US-EAST-1"), -1);
	assert_int_equal(geo_region_find(""), -1);
	assert_int_equal(geo_region_find(NULL), -1);
	assert_null(geo_region_get(-1));
	assert_null(geo_region_get(39));
	assert_int_equal(geo_region_find("ap-southeast-6"), 35);
	assert_non_null(geo_region_get(geo_region_find("eusc-de-east-1")));

	const geo_region_t *r = geo_region_get(geo_region_find("eu-west-1"));
	assert_string_equal(r->name, "eu-west-1");
	assert_true(fabs(r->lat - 53.35) < 1e-9 && fabs(r->lon + 6.26) < 1e-9);
	assert_string_equal(r->continent, "EU");
	assert_string_equal(r->country, "IE");
	assert_string_equal(r->subdivision, "");
	r = geo_region_get(geo_region_find("us-west-2"));
	assert_true(fabs(r->lat - 45.84) < 1e-9 && fabs(r->lon + 119.70) < 1e-9);
	assert_string_equal(r->subdivision, "OR");
	r = geo_region_get(geo_region_find("ap-southeast-2"));
	assert_string_equal(r->continent, "OC");
	r = geo_region_get(geo_region_find("me-south-1"));
	assert_string_equal(r->country, "BH");
	assert_string_equal(r->continent, "AS");
	r = geo_region_get(geo_region_find("sa-east-1"));
	assert_true(fabs(r->lat + 23.55) < 1e-9 && fabs(r->lon + 46.63) < 1e-9);

	/* Every row: unique name, country in Route 53's table with the same continent,
	 * subdivision a US state exactly for US rows, coordinates in range. */
	for (size_t i = 0; i < geo_region_count(); i++) {
		r = geo_region_get((int)i);
		assert_int_equal(geo_region_find(r->name), (int)i);
		assert_string_equal(geo_country_continent(r->country), r->continent);
		if (strcmp(r->country, "US") == 0)
			assert_true(geo_us_state_valid(r->subdivision));
		else
			assert_string_equal(r->subdivision, "");
		assert_true(r->lat >= -90 && r->lat <= 90 && r->lon >= -180 && r->lon <= 180);
	}

	assert_int_equal(geo_loc_from_region(geo_region_find("us-east-1"), &l), GEO_OK);
	assert_true(l.found && l.has_coords);
	assert_string_equal(l.continent, "NA");
	assert_string_equal(l.country, "US");
	assert_string_equal(l.subdivision, "VA");
	assert_true(fabs(l.lat - 39.04) < 1e-9 && fabs(l.lon + 77.49) < 1e-9);
	assert_int_equal(l.af, 0);
	assert_int_equal(geo_loc_from_region(-1, &l), GEO_EINVAL);
}

static void test_coord_parse(void **state)
{
	(void)state;
	double v = 0;

	assert_int_equal(geo_coord_parse("39.04", true, &v), GEO_OK);
	assert_true(fabs(v - 39.04) < 1e-9);
	assert_int_equal(geo_coord_parse("-77.49", true, &v), GEO_OK);
	assert_true(fabs(v + 77.49) < 1e-9);
	assert_int_equal(geo_coord_parse("+151.21", false, &v), GEO_OK);
	assert_true(fabs(v - 151.21) < 1e-9);
	assert_int_equal(geo_coord_parse("-180", false, &v), GEO_OK);
	assert_true(fabs(v + 180.0) < 1e-9);
	assert_int_equal(geo_coord_parse("45.", true, &v), GEO_OK);
	assert_true(fabs(v - 45.0) < 1e-9);
	assert_int_equal(geo_coord_parse("0.5", true, &v), GEO_OK);
	assert_true(fabs(v - 0.5) < 1e-9);
	assert_int_equal(geo_coord_parse("90", true, &v), GEO_OK);
	assert_int_equal(geo_coord_parse("151.21", true, &v), GEO_EPARSE);
	assert_int_equal(geo_coord_parse("45.123", true, &v), GEO_EPARSE);
	assert_int_equal(geo_coord_parse("1000", false, &v), GEO_EPARSE);
	assert_int_equal(geo_coord_parse("", true, &v), GEO_EPARSE);
	assert_int_equal(geo_coord_parse(".5", true, &v), GEO_EPARSE);
	assert_int_equal(geo_coord_parse("4 5", true, &v), GEO_EPARSE);
	assert_int_equal(geo_coord_parse("--5", true, &v), GEO_EPARSE);
	assert_int_equal(geo_coord_parse(NULL, true, &v), GEO_EPARSE);
	assert_int_equal(geo_coord_parse("91", true, &v), GEO_EINVAL);
	assert_int_equal(geo_coord_parse("-90.01", true, &v), GEO_EINVAL);
	assert_int_equal(geo_coord_parse("180.01", false, &v), GEO_EINVAL);
}

/* ---- latency table ------------------------------------------------------------------- */

static const char *lat_json =
	"{\"rules\": ["
	"{\"client\": \"continent:EU\", \"rtt_ms\": {\"eu-west-1\": 30, \"us-east-1\": 90}},"
	"{\"client\": \"FR\", \"rtt_ms\": {\"eu-west-1\": 20}},"
	"{\"client\": \"198.51.0.0/16\", \"rtt_ms\": {\"eu-west-1\": 15, \"us-east-1\": 70}},"
	"{\"client\": \"198.51.100.0/24\", \"rtt_ms\": {\"eu-west-1\": 12}},"
	"{\"client\": \"2001:db8::/32\", \"rtt_ms\": {\"ap-northeast-1\": 3.5}},"
	"{\"client\": \"OC\", \"rtt_ms\": {\"ap-southeast-2\": 0}}"
	"]}";

static geo_latency_t *lat_load(const char *text)
{
	char err[256] = "";
	json_error_t jerr;
	geo_latency_t *lt = NULL;
	json_t *obj = json_loads(text, 0, &jerr);
	if (obj == NULL)
		fail_msg("bad test JSON: %s", jerr.text);
	int ret = geo_latency_new(obj, NULL, &lt, err, sizeof(err));
	json_decref(obj);
	if (ret != GEO_OK)
		fail_msg("geo_latency_new: %s", err);
	return lt;
}

static void expect_ms(const geo_latency_t *lt, const geo_loc_t *c, const char *region,
		      double ms, geo_lat_src_t src)
{
	double got = -1;
	geo_lat_src_t s = 0;
	int ri = geo_region_find(region);
	assert_true(ri >= 0);
	assert_int_equal(geo_latency_ms(lt, c, ri, &got, &s), GEO_OK);
	assert_int_equal(s, src);
	assert_true(fabs(got - ms) < 1e-6);
}

static void test_latency_precedence(void **state)
{
	(void)state;
	geo_latency_t *lt = lat_load(lat_json);
	geo_db_t *db = open1(GEOLITE2);
	geo_loc_t c;
	const geo_region_t *fra = geo_region_get(geo_region_find("eu-central-1"));

	assert_int_equal(geo_latency_rule_count(lt), 6);
	assert_int_equal(geo_latency_rule_count(NULL), 0);

	/* 198.51.100.7 (FR): the /24 beats the /16 (listed first), the /16 beats the country
	 * for the Region the /24 does not name, the continent fills in, the rest estimates. */
	assert_int_equal(lookup(db, "198.51.100.7", &c), GEO_OK);
	expect_ms(lt, &c, "eu-west-1", 12, GEO_LAT_CIDR);
	expect_ms(lt, &c, "us-east-1", 70, GEO_LAT_CIDR);
	double km = geo_distance_km(48.8566, 2.3522, fra->lat, fra->lon);
	expect_ms(lt, &c, "eu-central-1", km / 100 + 5, GEO_LAT_ESTIMATE);
	expect_ms(lt, &c, "eu-central-1", 9.7772158, GEO_LAT_ESTIMATE);

	/* A French client outside the blocks: country, then continent. */
	geo_loc_t fr = c;
	set_addr(&fr, "192.0.2.1", 32);
	expect_ms(lt, &fr, "eu-west-1", 20, GEO_LAT_COUNTRY);
	expect_ms(lt, &fr, "us-east-1", 90, GEO_LAT_CONTINENT);

	/* An ECS /8 is wider than the /16 block: it does not match it. */
	set_addr(&fr, "198.0.0.0", 8);
	expect_ms(lt, &fr, "eu-west-1", 20, GEO_LAT_COUNTRY);
	/* An ECS /20 inside the /16 but wider than the /24. */
	set_addr(&fr, "198.51.96.0", 20);
	expect_ms(lt, &fr, "eu-west-1", 15, GEO_LAT_CIDR);

	/* Germany: continent rule. Turkey: EU by Route 53's table. */
	assert_int_equal(lookup(db, "203.0.113.1", &c), GEO_OK);
	expect_ms(lt, &c, "eu-west-1", 30, GEO_LAT_CONTINENT);
	assert_int_equal(lookup(db, "10.1.0.1", &c), GEO_OK);
	expect_ms(lt, &c, "us-east-1", 90, GEO_LAT_CONTINENT);

	/* IPv6 rule; Australia: a bare continent code, value 0. */
	assert_int_equal(lookup(db, "2001:db8:3::1", &c), GEO_OK);
	expect_ms(lt, &c, "ap-northeast-1", 3.5, GEO_LAT_CIDR);
	assert_int_equal(lookup(db, "203.0.113.200", &c), GEO_OK);
	expect_ms(lt, &c, "ap-southeast-2", 0, GEO_LAT_CONTINENT);

	/* No table: the estimate. */
	assert_int_equal(lookup(db, "198.51.100.7", &c), GEO_OK);
	expect_ms(NULL, &c, "eu-west-1",
		  geo_distance_km(48.8566, 2.3522, 53.35, -6.26) / 100 + 5, GEO_LAT_ESTIMATE);

	/* No rule and no coordinates: unknown. A CIDR rule still matches. */
	double ms = -1;
	assert_int_equal(lookup(db, "198.18.0.1", &c), GEO_ENOTFOUND);
	assert_int_equal(geo_latency_ms(lt, &c, geo_region_find("eu-west-1"), &ms, NULL),
			 GEO_ENOTFOUND);
	set_addr(&c, "198.51.1.0", 24);
	expect_ms(lt, &c, "eu-west-1", 15, GEO_LAT_CIDR);
	assert_int_equal(geo_latency_ms(lt, &c, -1, &ms, NULL), GEO_EINVAL);
	assert_int_equal(geo_latency_ms(lt, &c, 1000, &ms, NULL), GEO_EINVAL);

	/* An empty table is valid. */
	geo_latency_t *empty = lat_load("{\"rules\": []}");
	assert_int_equal(geo_latency_rule_count(empty), 0);
	assert_int_equal(lookup(db, "198.51.100.7", &c), GEO_OK);
	expect_ms(empty, &c, "eu-central-1", km / 100 + 5, GEO_LAT_ESTIMATE);
	geo_latency_free(empty);

	geo_latency_free(lt);
	geo_latency_free(NULL);
	geo_db_free(db);
}

static void expect_lat_err(const char *text, const char *where, const char *msg)
{
	char err[256] = "";
	json_error_t jerr;
	geo_latency_t *lt = (geo_latency_t *)(void *)&poison; /* must be reset to NULL */
	json_t *obj = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (obj == NULL)
		fail_msg("bad test JSON: %s", jerr.text);
	int ret = geo_latency_new(obj, where, &lt, err, sizeof(err));
	json_decref(obj);
	assert_int_equal(ret, GEO_EINVAL);
	assert_null(lt);
	assert_string_equal(err, msg);
}

static void test_latency_errors(void **state)
{
	(void)state;
	expect_lat_err("{\"rules\": ["
		       "{\"client\": \"FR\", \"rtt_ms\": {\"eu-west-1\": 1}},"
		       "{\"client\": \"DE\", \"rtt_ms\": {\"eu-west-1\": 1}},"
		       "{\"client\": \"JP\", \"rtt_ms\": {\"eu-west-1\": 1}},"
		       "{\"client\": \"US\", \"rtt_ms\": {\"us-east-1\": 1, \"us-east-9\": 5}}]}",
		       NULL, "geo.latency.rules[3].rtt_ms.us-east-9: unknown region");
	expect_lat_err("{\"rules\": [{\"client\": \"US\", \"rtt_ms\": {\"us-east-9\": 5}}]}",
		       "latency.json: geo.latency",
		       "latency.json: geo.latency.rules[0].rtt_ms.us-east-9: unknown region");
	expect_lat_err("[]", NULL, "geo.latency: expected an object {\"rules\": [...]}");
	expect_lat_err("{\"rule\": []}", NULL, "geo.latency.rule: unknown key (expected rules)");
	expect_lat_err("{}", NULL, "geo.latency.rules: expected an array");
	expect_lat_err("{\"rules\": {}}", NULL, "geo.latency.rules: expected an array");
	expect_lat_err("{\"rules\": [5]}", NULL,
		       "geo.latency.rules[0]: expected an object {\"client\": ..., \"rtt_ms\": "
		       "{...}}");
	expect_lat_err("{\"rules\": [{\"client\": \"FR\", \"rtt_ms\": {\"eu-west-1\": 1}, "
		       "\"weight\": 1}]}",
		       NULL, "geo.latency.rules[0].weight: unknown key (expected client, rtt_ms)");
	expect_lat_err("{\"rules\": [{\"rtt_ms\": {\"eu-west-1\": 1}}]}", NULL,
		       "geo.latency.rules[0].client: expected a CIDR block, country or "
		       "continent string");
	expect_lat_err("{\"rules\": [{\"client\": 5, \"rtt_ms\": {\"eu-west-1\": 1}}]}", NULL,
		       "geo.latency.rules[0].client: expected a CIDR block, country or "
		       "continent string");
	expect_lat_err("{\"rules\": [{\"client\": \"AF\", \"rtt_ms\": {\"eu-west-1\": 1}}]}",
		       NULL,
		       "geo.latency.rules[0].client: \"AF\" is both a country and a continent: "
		       "write \"country:AF\" or \"continent:AF\"");
	expect_lat_err("{\"rules\": [{\"client\": \"ZZ\", \"rtt_ms\": {\"eu-west-1\": 1}}]}",
		       NULL, "geo.latency.rules[0].client: \"ZZ\": unknown country or continent");
	expect_lat_err("{\"rules\": [{\"client\": \"country:EU\", \"rtt_ms\": {\"eu-west-1\": "
		       "1}}]}",
		       NULL, "geo.latency.rules[0].client: \"country:EU\": unknown country");
	expect_lat_err("{\"rules\": [{\"client\": \"continent:XX\", \"rtt_ms\": {\"eu-west-1\": "
		       "1}}]}",
		       NULL,
		       "geo.latency.rules[0].client: \"continent:XX\": unknown continent (AF AN "
		       "AS EU NA OC SA)");
	expect_lat_err("{\"rules\": [{\"client\": \"198.51.100.1/24\", \"rtt_ms\": "
		       "{\"eu-west-1\": 1}}]}",
		       NULL,
		       "geo.latency.rules[0].client: \"198.51.100.1/24\": address bits set beyond "
		       "/24 (expected a CIDR block, country or continent)");
	expect_lat_err("{\"rules\": [{\"client\": \"FR\", \"rtt_ms\": {\"eu-west-1\": -1}}]}",
		       NULL, "geo.latency.rules[0].rtt_ms.eu-west-1: -1 ms out of range 0..100000");
	expect_lat_err("{\"rules\": [{\"client\": \"FR\", \"rtt_ms\": {\"eu-west-1\": \"x\"}}]}",
		       NULL, "geo.latency.rules[0].rtt_ms.eu-west-1: expected a number of "
			     "milliseconds");
	expect_lat_err("{\"rules\": [{\"client\": \"FR\", \"rtt_ms\": {}}]}", NULL,
		       "geo.latency.rules[0].rtt_ms: expected an object {\"region\": ms, ...} "
		       "naming at least one region");
	expect_lat_err("{\"rules\": [{\"client\": \"FR\", \"rtt_ms\": {\"eu-west-1\": 1}},"
		       "{\"client\": \"country:fr\", \"rtt_ms\": {\"eu-west-1\": 2}}]}",
		       NULL,
		       "geo.latency.rules[1].client: \"country:fr\" already has a rule: "
		       "geo.latency.rules[0]");
	expect_lat_err("{\"rules\": [{\"client\": \"10.0.0.0/8\", \"rtt_ms\": {\"eu-west-1\": 1}},"
		       "{\"client\": \"10.0.0.0/8\", \"rtt_ms\": {\"eu-west-1\": 2}}]}",
		       NULL,
		       "geo.latency.rules[1].client: \"10.0.0.0/8\" already has a rule: "
		       "geo.latency.rules[0]");
}

/* ---- main ---------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *group = argc > 1 ? argv[1] : NULL;
	int fails = 0;

	const struct CMUnitTest cc[] = {
		cmocka_unit_test(test_cc_table),
		cmocka_unit_test(test_cc_lookup),
	};
	const struct CMUnitTest addr[] = {
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_contains_mask),
		cmocka_unit_test(test_addr_from_sockaddr),
	};
	const struct CMUnitTest db[] = {
		cmocka_unit_test(test_db_geolite2),
		cmocka_unit_test(test_db_dbip),
		cmocka_unit_test(test_db_multi),
		cmocka_unit_test(test_db_errors),
	};
	const struct CMUnitTest ecs[] = {
		cmocka_unit_test(test_ecs_parse_valid),
		cmocka_unit_test(test_ecs_parse_invalid),
		cmocka_unit_test(test_ecs_scope_write),
		cmocka_unit_test(test_ecs_locate),
	};
	const struct CMUnitTest point[] = {
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_bias),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_coord_parse),
	};
	const struct CMUnitTest latency[] = {
		cmocka_unit_test(test_latency_precedence),
		cmocka_unit_test(test_latency_errors),
	};

#define RUN(name)                                                                  \
	do {                                                                       \
		if (group == NULL || strcmp(group, #name) == 0)                    \
			fails += cmocka_run_group_tests_name("geo_" #name, name, NULL, NULL); \
	} while (0)
	RUN(cc);
	RUN(addr);
	RUN(db);
	RUN(ecs);
	RUN(point);
	RUN(latency);
#undef RUN
	return fails == 0 ? 0 : 1;
}
