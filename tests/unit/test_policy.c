/* SPDX-License-Identifier: MIT */
/*
 * test_policy.c -- every routing policy through answer_build(), with an injected health
 * table, the fixture MMDB (client location from ECS), and a fixed rng seed; plus the
 * record-set validation errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "err.h"
#include "geo.h"
#include "hc_state.h"
#include "testdns.h"
#include "zdb.h"

static const char *const hc_ids[] = { "hc-a", "hc-b", "hc-p", "hc-s", "hc-va", "hc-us",
				      "hc-use1", "hc-pa", "hc-pb", "hc-pc", "hc-m0", "hc-m1",
				      "hc-m2", "hc-m3", "hc-m4", "hc-m5", "hc-m6", "hc-m7",
				      "hc-m8", "hc-m9", NULL };
static hc_table_t *hc;
static zdb_t *db;
static geo_db_t *geo;
static json_t *colls;
static answer_ctx_t ctx;
static uint8_t out[65535];
static size_t out_len;

static int hc_find(void *c, const char *id, uint32_t *slot)
{
	(void)c;
	for (uint32_t i = 0; hc_ids[i] != NULL; i++) {
		if (strcmp(hc_ids[i], id) == 0) {
			*slot = i;
			return ERR_OK;
		}
	}
	return ERR_NOTFOUND;
}

static uint32_t slot_of(const char *id)
{
	uint32_t s = 0;
	assert_int_equal(hc_find(NULL, id, &s), ERR_OK);
	return s;
}

static void set_health(const char *id, bool healthy)
{
	atomic_store(&hc->words[slot_of(id)], healthy ? 0u : HC_WORD_UNHEALTHY);
}

static void all_healthy(void)
{
	for (uint32_t i = 0; i < hc->n; i++)
		atomic_store(&hc->words[i], 0u);
}

static int build(const json_t *rs, zdb_t **out_db, char *err, size_t errlen)
{
	zdb_src_t src = { .id = "/hostedzone/Z1POLICY", .name = "policy.test.",
			  .zone_file = R53D_TEST_DATA "/policy.zone", .record_sets = rs,
			  .record_sets_file = "policy.json" };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = false, .edns_udp_size = 1232,
			 .health = hc, .hc_find = hc_find, .geo = geo, .cidr_collections = colls };
	return zdb_build(&src, 1, &o, out_db, err, errlen);
}

static int setup(void **state)
{
	(void)state;
	hc = calloc(1, sizeof(*hc) + 32 * sizeof(hc->words[0]));
	hc->n = 32;
	const char *paths[] = { GEO_FIXTURE_DIR "/geolite2-city.mmdb" };
	char err[512] = "";
	if (geo_db_new(paths, 1, &geo, err, sizeof(err)) != GEO_OK) {
		fprintf(stderr, "geo: %s\n", err);
		return -1;
	}
	colls = json_loads("[{\"CidrCollection\": {\"Id\": \"c-1\", \"Name\": \"offices\"},"
			   " \"cidr_blocks\": {\"CidrBlocks\": ["
			   "  {\"CidrBlock\": \"203.0.113.0/24\", \"LocationName\": \"office\"},"
			   "  {\"CidrBlock\": \"2001:db8:7::/48\", \"LocationName\": \"office\"}]},"
			   " \"where\": \"test\"}]", 0, NULL);
	json_t *rs = json_load_file(R53D_TEST_DATA "/policy.json", 0, NULL);
	int ret = build(rs, &db, err, sizeof(err));
	json_decref(rs);
	if (ret != ERR_OK)
		fprintf(stderr, "zdb_build: %s\n", err);
	answer_ctx_init(&ctx, 7);
	return ret == ERR_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	zdb_free(db);
	geo_db_free(geo);
	json_decref(colls);
	free(hc);
	return 0;
}

/* Ask name/type with an optional ECS option "a.b.c.d/len" or "v6/len". */
static ldns_pkt *ask(const char *name, uint16_t type, const char *subnet)
{
	uint8_t q[512];
	size_t n = 12;
	memset(q, 0, 12);
	q[0] = 0x42;
	q[5] = 1;
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	memcpy(q + n, ldns_rdf_data(dn), ldns_rdf_size(dn));
	n += ldns_rdf_size(dn);
	ldns_rdf_deep_free(dn);
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	if (subnet != NULL) {
		char addr[64];
		unsigned len;
		const char *slash = strchr(subnet, '/');
		snprintf(addr, sizeof(addr), "%.*s", (int)(slash - subnet), subnet);
		len = (unsigned)atoi(slash + 1);
		uint8_t a[16];
		uint16_t fam = strchr(addr, ':') ? 2 : 1;
		assert_int_equal(inet_pton(fam == 1 ? AF_INET : AF_INET6, addr, a), 1);
		unsigned alen = (len + 7) / 8;
		q[11] = 1;
		q[n++] = 0; /* root */
		q[n++] = 0;
		q[n++] = 41;
		q[n++] = 0x04; /* 1232 */
		q[n++] = 0xd0;
		q[n++] = 0;
		q[n++] = 0;
		q[n++] = 0;
		q[n++] = 0;
		q[n++] = 0;
		q[n++] = (uint8_t)(8 + alen);
		q[n++] = 0;
		q[n++] = 8;
		q[n++] = 0;
		q[n++] = (uint8_t)(4 + alen);
		q[n++] = 0;
		q[n++] = (uint8_t)fam;
		q[n++] = (uint8_t)len;
		q[n++] = 0;
		memcpy(q + n, a, alen);
		n += alen;
	}
	out_len = answer_build(&ctx, db, q, n, out, sizeof(out), NULL, false);
	assert_true(out_len >= 12);
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, out, out_len), LDNS_STATUS_OK);
	return r;
}

/* The address of the first answer RR, or "" (NODATA). */
static const char *first_a(const char *name, const char *subnet)
{
	static char buf[64];
	ldns_pkt *r = ask(name, LDNS_RR_TYPE_A, subnet);
	buf[0] = '\0';
	if (ldns_pkt_ancount(r) > 0) {
		char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
		snprintf(buf, sizeof(buf), "%s", s);
		free(s);
	}
	ldns_pkt_free(r);
	return buf;
}

static void test_weighted(void **state)
{
	(void)state;
	all_healthy();
	int b = 0, n = 4000;
	for (int i = 0; i < n; i++)
		b += strcmp(first_a("w.policy.test.", NULL), "192.0.2.11") == 0;
	/* 75%: 3000 expected, sd ~27; allow 5 sd */
	assert_in_range(b, 3000 - 140, 3000 + 140);

	/* weight 0 is a standby (POL-W2..W4, spec 5.3 example 7) */
	for (int i = 0; i < 20; i++)
		assert_string_equal(first_a("wz.policy.test.", NULL), "192.0.2.20");
	set_health("hc-a", false);
	for (int i = 0; i < 20; i++)
		assert_string_equal(first_a("wz.policy.test.", NULL), "192.0.2.21");
	set_health("hc-b", false);
	for (int i = 0; i < 20; i++)
		assert_string_equal(first_a("wz.policy.test.", NULL), "192.0.2.20");
	/* all zero: equal odds */
	int a0 = 0;
	for (int i = 0; i < 2000; i++)
		a0 += strcmp(first_a("w0.policy.test.", NULL), "192.0.2.30") == 0;
	assert_in_range(a0, 1000 - 120, 1000 + 120);
}

static void test_failover(void **state)
{
	(void)state;
	static const struct {
		bool p, s;
		const char *want;
	} cases[] = {
		{ true, true, "192.0.2.40" },
		{ true, false, "192.0.2.40" },
		{ false, true, "192.0.2.41" },
		{ false, false, "192.0.2.40" }, /* both unhealthy: primary (POL-F1) */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		all_healthy();
		set_health("hc-p", cases[i].p);
		set_health("hc-s", cases[i].s);
		ldns_pkt *r = ask("fo.policy.test.", LDNS_RR_TYPE_A, NULL);
		assert_int_equal(ldns_pkt_ancount(r), 1);
		ldns_pkt_free(r);
		assert_string_equal(first_a("fo.policy.test.", NULL), cases[i].want);
	}
}

static void test_multivalue(void **state)
{
	(void)state;
	all_healthy();
	ldns_pkt *r = ask("mv.policy.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_ancount(r), 8);
	ldns_pkt_free(r);
	for (int i = 0; i < 3; i++) {
		char id[8];
		snprintf(id, sizeof(id), "hc-m%d", i);
		set_health(id, false);
	}
	for (int k = 0; k < 20; k++) {
		r = ask("mv.policy.test.", LDNS_RR_TYPE_A, NULL);
		assert_int_equal(ldns_pkt_ancount(r), 7); /* all healthy ones, no padding */
		for (size_t i = 0; i < 7; i++) {
			char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), i), 0));
			assert_true(strcmp(s, "192.0.2.100") && strcmp(s, "192.0.2.101") &&
				    strcmp(s, "192.0.2.102"));
			free(s);
		}
		ldns_pkt_free(r);
	}
	for (int i = 0; i < 10; i++) {
		char id[8];
		snprintf(id, sizeof(id), "hc-m%d", i);
		set_health(id, false);
	}
	r = ask("mv.policy.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_ancount(r), 8); /* all unhealthy: up to 8 anyway */
	ldns_pkt_free(r);
}

static void test_geolocation(void **state)
{
	(void)state;
	all_healthy();
	/* fixture: 192.0.2.0/25 US-VA, 2001:db8:7::/48 US-TX, 100.64/16 CA, 198.51.100/24 FR,
	 * 10.3/16 unmapped */
	assert_string_equal(first_a("geo.policy.test.", "192.0.2.0/24"), "192.0.2.50");
	assert_string_equal(first_a("geo.policy.test.", "2001:db8:7::/56"), "192.0.2.51");
	assert_string_equal(first_a("geo.policy.test.", "100.64.1.0/24"), "192.0.2.52");
	assert_string_equal(first_a("geo.policy.test.", "198.51.100.0/24"), "192.0.2.53");
	assert_string_equal(first_a("geo.policy.test.", "10.3.0.0/24"), "192.0.2.53");
	set_health("hc-va", false);
	assert_string_equal(first_a("geo.policy.test.", "192.0.2.0/24"), "192.0.2.51");
	set_health("hc-us", false);
	assert_string_equal(first_a("geo.policy.test.", "192.0.2.0/24"), "192.0.2.52");
	/* no match and no default: NOERROR, no answer, SOA */
	ldns_pkt *r = ask("geofr.policy.test.", LDNS_RR_TYPE_A, "192.0.2.0/24");
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(ldns_pkt_nscount(r), 1);
	ldns_pkt_free(r);
	assert_string_equal(first_a("geofr.policy.test.", "198.51.100.0/24"), "192.0.2.54");
}

static void test_latency_and_proximity(void **state)
{
	(void)state;
	all_healthy();
	assert_string_equal(first_a("lat.policy.test.", "192.0.2.0/24"), "192.0.2.60");
	assert_string_equal(first_a("lat.policy.test.", "203.0.113.0/26"), "192.0.2.61");
	set_health("hc-use1", false);
	assert_string_equal(first_a("lat.policy.test.", "192.0.2.0/24"), "192.0.2.61");
	all_healthy();
	assert_string_equal(first_a("prox.policy.test.", "192.0.2.0/24"), "192.0.2.70");
	assert_string_equal(first_a("prox.policy.test.", "203.0.113.0/26"), "192.0.2.71");
	/* bias +99 on Virginia and -99 on Frankfurt: a Paris client goes to Virginia */
	assert_string_equal(first_a("prox.policy.test.", "198.51.100.0/24"), "192.0.2.71");
	assert_string_equal(first_a("proxb.policy.test.", "198.51.100.0/24"), "192.0.2.72");
}

static void test_cidr(void **state)
{
	(void)state;
	all_healthy();
	assert_string_equal(first_a("ip.policy.test.", "203.0.113.0/24"), "192.0.2.80");
	assert_string_equal(first_a("ip.policy.test.", "203.0.113.64/26"), "192.0.2.80");
	/* a query subnet wider than the block does not match (POL-I2) */
	assert_string_equal(first_a("ip.policy.test.", "203.0.0.0/16"), "192.0.2.81");
	assert_string_equal(first_a("ip.policy.test.", "2001:db8:7:1::/64"), "192.0.2.80");
	assert_string_equal(first_a("ip.policy.test.", "198.51.100.0/24"), "192.0.2.81");
}

static void test_alias_tree(void **state)
{
	(void)state;
	/* spec 5.3 example 6: failover over a weighted pool */
	all_healthy();
	int a = 0, n = 2000;
	for (int i = 0; i < n; i++)
		a += strcmp(first_a("app.policy.test.", NULL), "192.0.2.90") == 0;
	assert_in_range(a, 1500 - 120, 1500 + 120);
	set_health("hc-pa", false);
	for (int i = 0; i < 20; i++)
		assert_string_equal(first_a("app.policy.test.", NULL), "192.0.2.91");
	set_health("hc-pb", false);
	for (int i = 0; i < 20; i++)
		assert_string_equal(first_a("app.policy.test.", NULL), "192.0.2.92");
	set_health("hc-pc", false);
	for (int i = 0; i < 20; i++)
		assert_string_equal(first_a("app.policy.test.", NULL), "203.0.113.9");
	/* the alias answers with the target's TTL, owner = qname */
	all_healthy();
	ldns_pkt *r = ask("app.policy.test.", LDNS_RR_TYPE_A, NULL);
	ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), 0);
	assert_int_equal(ldns_rr_ttl(rr), 30);
	char *o = ldns_rdf2str(ldns_rr_owner(rr));
	assert_string_equal(o, "app.policy.test.");
	free(o);
	ldns_pkt_free(r);
	/* apex alias (simple, ETH false) */
	r = ask("policy.test.", LDNS_RR_TYPE_AAAA, NULL);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), 120);
	ldns_pkt_free(r);
	/* an alias answers only its own type */
	r = ask("policy.test.", LDNS_RR_TYPE_TXT, NULL);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	ldns_pkt_free(r);
	/* Route 53 escapes: \052 is the wildcard, \101 inside TXT is 'A' */
	r = ask("x.wild.policy.test.", LDNS_RR_TYPE_TXT, NULL);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	char *t = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
	assert_string_equal(t, "\"wild A\"");
	free(t);
	ldns_pkt_free(r);
}

/* The ECS option is the last thing in the reply: ... family(2) source(1) scope(1) addr. */
static void test_ecs_scope(void **state)
{
	(void)state;
	all_healthy();
	ldns_pkt *r = ask("geo.policy.test.", LDNS_RR_TYPE_A, "192.0.2.0/24");
	ldns_pkt_free(r);
	assert_int_equal(out[out_len - 3 - 1], 24); /* scope = source for a location answer */
	assert_int_equal(out[out_len - 3 - 2], 24);
	r = ask("w.policy.test.", LDNS_RR_TYPE_A, "192.0.2.0/24");
	ldns_pkt_free(r);
	assert_int_equal(out[out_len - 3 - 1], 0); /* weighted does not depend on location */
	/* malformed ECS: address bits beyond the prefix (0x02 in the third octet of a /20) */
	r = ask("geo.policy.test.", LDNS_RR_TYPE_A, "192.0.2.0/20");
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_FORMERR);
	ldns_pkt_free(r);
}

static void expect_error(const char *json, const char *want)
{
	json_error_t je;
	json_t *rs = json_loads(json, 0, &je);
	if (rs == NULL)
		fail_msg("bad test JSON: %s", je.text);
	zdb_t *bad = NULL;
	char err[1024] = "";
	assert_int_not_equal(build(rs, &bad, err, sizeof(err)), ERR_OK);
	json_decref(rs);
	assert_null(bad);
	if (strstr(err, want) == NULL || strstr(err, "policy.json") == NULL)
		fail_msg("error '%s' lacks '%s' or the file", err, want);
}

#define RS(x) "{\"ResourceRecordSets\": [" x "]}"
#define A(name, extra) "{\"Name\": \"" name "\", \"Type\": \"A\", \"TTL\": 60, " extra \
		       "\"ResourceRecords\": [{\"Value\": \"192.0.2.1\"}]}"

static void test_validation(void **state)
{
	(void)state;
	expect_error(RS(A("x.policy.test.", "\"Weight\": 300, \"SetIdentifier\": \"a\",")),
		     "ResourceRecordSets[0]: Weight must be an integer in 0..255");
	expect_error(RS(A("x.policy.test.", "\"Weight\": 3,")), "Missing field 'SetIdentifier'");
	expect_error(RS(A("x.other.test.", "")), "is not permitted in zone policy.test.");
	expect_error(RS(A("x.policy.test.", "\"Weight\": 1, \"Region\": \"us-east-1\", \"SetIdentifier\": \"a\",")),
		     "more than one routing policy");
	expect_error(RS(A("x.policy.test.", "\"GeoLocation\": {\"ContinentCode\": \"EU\", \"CountryCode\": \"FR\"}, \"SetIdentifier\": \"a\",")),
		     "ContinentCode cannot be combined");
	expect_error(RS(A("x.policy.test.", "\"GeoLocation\": {\"CountryCode\": \"FR\", \"SubdivisionCode\": \"XX\"}, \"SetIdentifier\": \"a\",")),
		     "SubdivisionCode");
	expect_error(RS(A("x.policy.test.", "\"GeoLocation\": {\"CountryCode\": \"fr\"}, \"SetIdentifier\": \"a\",")),
		     "CountryCode \"fr\" is not a country");
	expect_error(RS("{\"Name\": \"\\\\052.policy.test.\", \"Type\": \"NS\", \"TTL\": 60, "
			"\"ResourceRecords\": [{\"Value\": \"ns.example.net.\"}]}"),
		     "NS record sets cannot be wildcards (HZ-26)");
	expect_error(RS(A("x.policy.test.", "\"Failover\": \"PRIMARY\", \"SetIdentifier\": \"a\",") ","
			A("x.policy.test.", "\"Failover\": \"PRIMARY\", \"SetIdentifier\": \"b\",")),
		     "at most one PRIMARY");
	expect_error(RS(A("x.policy.test.", "\"HealthCheckId\": \"nope\",")),
		     "HealthCheckId \"nope\" is not defined");
	expect_error(RS(A("x.policy.test.", "") "," A("x.policy.test.", "\"Weight\": 1, \"SetIdentifier\": \"a\",")),
		     "cannot mix routing policies");
	expect_error(RS("{\"Name\": \"x.policy.test.\", \"Type\": \"A\", \"AliasTarget\": {\"HostedZoneId\": \"Z1POLICY\", \"DNSName\": \"nothere.policy.test.\", \"EvaluateTargetHealth\": false}}"),
		     "but that target was not found");
	expect_error(RS("{\"Name\": \"x.policy.test.\", \"Type\": \"A\", \"TTL\": 5, \"AliasTarget\": {\"HostedZoneId\": \"Z1POLICY\", \"DNSName\": \"ns1.policy.test.\", \"EvaluateTargetHealth\": false}}"),
		     "takes no TTL");
	expect_error(RS("{\"Name\": \"a.policy.test.\", \"Type\": \"A\", \"AliasTarget\": {\"HostedZoneId\": \"Z1POLICY\", \"DNSName\": \"b.policy.test.\", \"EvaluateTargetHealth\": false}},"
			"{\"Name\": \"b.policy.test.\", \"Type\": \"A\", \"AliasTarget\": {\"HostedZoneId\": \"Z1POLICY\", \"DNSName\": \"a.policy.test.\", \"EvaluateTargetHealth\": false}}"),
		     "alias loop");
	expect_error(RS("{\"Name\": \"x.policy.test.\", \"Type\": \"CNAME\", \"SetIdentifier\": \"a\", \"MultiValueAnswer\": true, \"TTL\": 5, \"ResourceRecords\": [{\"Value\": \"y.\"}]}"),
		     "cannot be CNAME");
	expect_error(RS("{\"Name\": \"x.policy.test.\", \"Type\": \"CNAME\", \"TTL\": 5, \"ResourceRecords\": [{\"Value\": \"y.\"}]},"
			A("x.policy.test.", "")),
		     "CNAME and other data");
	expect_error(RS(A("ns1.policy.test.", "")), "also defined in record_sets");
	expect_error(RS(A("x.policy.test.", "\"CidrRoutingConfig\": {\"CollectionId\": \"c-9\", \"LocationName\": \"x\"}, \"SetIdentifier\": \"a\",")),
		     "is not in cidr_collections");
	expect_error(RS(A("x.policy.test.", "\"Region\": \"mars-1\", \"SetIdentifier\": \"a\",")),
		     "Region \"mars-1\"");
	expect_error(RS(A("x.policy.test.", "\"GeoProximityLocation\": {\"Coordinates\": {\"Latitude\": \"91\", \"Longitude\": \"0\"}}, \"SetIdentifier\": \"a\",")),
		     "Coordinates");
	/* change batch: DELETE of something that is not there */
	expect_error("{\"Changes\": [{\"Action\": \"DELETE\", \"ResourceRecordSet\": " A("x.policy.test.", "") "}]}",
		     "but it was not found");
	expect_error("{\"Changes\": [{\"Action\": \"CREATE\", \"ResourceRecordSet\": " A("x.policy.test.", "") "},"
		     "{\"Action\": \"CREATE\", \"ResourceRecordSet\": " A("x.policy.test.", "") "}]}",
		     "but it already exists");
}

static void test_change_batch(void **state)
{
	(void)state;
	/* a listing, then a batch on top: UPSERT replaces, DELETE removes */
	json_t *rs = json_loads("[" RS(A("x.policy.test.", "") "," A("y.policy.test.", "")) ","
				"{\"Changes\": [{\"Action\": \"UPSERT\", \"ResourceRecordSet\": "
				"{\"Name\": \"x.policy.test\", \"Type\": \"A\", \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.99\"}]}},"
				"{\"Action\": \"DELETE\", \"ResourceRecordSet\": " A("y.policy.test.", "") "}]}]",
				0, NULL);
	assert_non_null(rs);
	zdb_t *saved = db, *b2 = NULL;
	char err[512] = "";
	if (build(rs, &b2, err, sizeof(err)) != ERR_OK)
		fail_msg("%s", err);
	json_decref(rs);
	db = b2;
	assert_string_equal(first_a("x.policy.test.", NULL), "192.0.2.99");
	ldns_pkt *r = ask("y.policy.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(r);
	zdb_zone_info_t info;
	zdb_zone_info(db, 0, &info);
	assert_int_equal(info.by_policy[POL_SIMPLE], 1);
	db = saved;
	zdb_free(b2);
}

static void test_testdnsanswer(void **state)
{
	(void)state;
	all_healthy();
	set_health("hc-va", false);
	testdns_params_t p = { .hostedzoneid = "Z1POLICY", .recordname = "geo.policy.test",
			       .recordtype = "A", .edns0clientsubnetip = "192.0.2.77",
			       .edns0clientsubnetmask = "24" };
	json_t *j = NULL;
	assert_int_equal(testdns_answer(db, &p, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "ResponseCode")), "NOERROR");
	json_t *data = json_object_get(j, "RecordData");
	assert_int_equal(json_array_size(data), 1);
	assert_string_equal(json_string_value(json_array_get(data, 0)), "192.0.2.51");
	json_t *ex = json_object_get(j, "Explanation");
	assert_string_equal(json_string_value(json_object_get(ex, "Policy")), "geolocation");
	assert_string_equal(json_string_value(json_object_get(ex, "SetIdentifier")), "us");
	const char *steps = json_string_value(json_object_get(ex, "Steps"));
	assert_non_null(strstr(steps, "country=US"));
	assert_non_null(strstr(steps, "va unhealthy"));
	json_decref(j);
	p.hostedzoneid = "ZNOPE";
	assert_int_equal(testdns_answer(db, &p, &j), 404);
	json_decref(j);
	p.hostedzoneid = "/hostedzone/Z1POLICY";
	p.recordname = "www.example.org";
	assert_int_equal(testdns_answer(db, &p, &j), 404);
	json_decref(j);
}

static void test_query_log(void **state)
{
	(void)state;
	all_healthy();
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	ctx.qlog_fd = fds[1];
	ldns_pkt *r = ask("GEO.policy.test.", LDNS_RR_TYPE_A, "192.0.2.0/24");
	ldns_pkt_free(r);
	uint64_t before = ctx.stats.policy[POL_GEOLOCATION];
	r = ask("w.policy.test.", LDNS_RR_TYPE_A, NULL);
	ldns_pkt_free(r);
	ctx.qlog_fd = -1;
	close(fds[1]);
	char buf[2048] = "";
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "ecs=192.0.2.0/24 name=geo.policy.test. type=1 rcode=0 policy=geolocation set=va\n"));
	assert_non_null(strstr(buf, "name=w.policy.test. type=1 rcode=0 policy=weighted set="));
	assert_int_equal(ctx.stats.policy[POL_GEOLOCATION], before);
	assert_true(ctx.stats.policy[POL_WEIGHTED] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weighted),   cmocka_unit_test(test_failover),
		cmocka_unit_test(test_multivalue), cmocka_unit_test(test_geolocation),
		cmocka_unit_test(test_latency_and_proximity), cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_alias_tree), cmocka_unit_test(test_ecs_scope),
		cmocka_unit_test(test_validation), cmocka_unit_test(test_change_batch),
		cmocka_unit_test(test_testdnsanswer), cmocka_unit_test(test_query_log),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
