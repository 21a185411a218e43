/* SPDX-License-Identifier: MIT */
/*
 * test_views.c -- private hosted zones and split view (spec 2.2, PZ-5, PZ-10, OC-9):
 * the client's source address picks the VPC; a VPC sees the most specific of its private
 * zones that encloses the name, and only when there is none the public zones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "err.h"
#include "zdb.h"

#define D R53D_TEST_DATA "/views/"

static zdb_t *db;
static answer_ctx_t ctx;
static uint8_t out[65535];

static int build(const char *vpcs_json, const char *zone_vpcs_json, zdb_t **pdb, char *err,
		 size_t errlen)
{
	json_t *vpcs = json_loads(vpcs_json, 0, NULL);
	json_t *zv = json_loads(zone_vpcs_json, 0, NULL);
	json_t *rs = json_load_file(D "private.json", 0, NULL);
	json_t *acct_vpcs = json_loads("[{\"VPCId\": \"vpc-a\", \"VPCRegion\": \"us-east-1\"}]", 0, NULL);
	zdb_src_t src[3] = {
		{ .id = "ZPUB", .name = "example.com.", .zone_file = D "public.zone" },
		{ .id = "ZPRIV", .name = "example.com.", .private_zone = true,
		  .zone_file = D "private.zone", .record_sets = rs, .vpcs = zv },
		{ .id = "ZACCT", .name = "acct.example.com.", .private_zone = true,
		  .zone_file = D "acct.zone", .vpcs = acct_vpcs },
	};
	zdb_opts_t o = { .cname_chasing = true, .edns_udp_size = 1232, .vpcs = vpcs };
	int ret = zdb_build(src, 3, &o, pdb, err, errlen);
	json_decref(vpcs);
	json_decref(zv);
	json_decref(rs);
	json_decref(acct_vpcs);
	return ret;
}

static const char vpcs[] = "[{\"VPCId\": \"vpc-a\", \"VPCRegion\": \"us-east-1\", \"sources\": [\"127.0.0.64/26\"]},"
			   " {\"VPCId\": \"vpc-b\", \"VPCRegion\": \"eu-west-1\", \"sources\": [\"127.0.1.0/24\", \"::1/128\"]}]";

static int setup(void **state)
{
	(void)state;
	char err[512] = "";
	int ret = build(vpcs, "[{\"VPCId\": \"vpc-a\", \"VPCRegion\": \"us-east-1\"}, {\"VPCId\": \"vpc-b\", \"VPCRegion\": \"eu-west-1\"}]",
			&db, err, sizeof(err));
	if (ret != ERR_OK)
		fprintf(stderr, "zdb_build: %s\n", err);
	answer_ctx_init(&ctx, 3);
	return ret == ERR_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	zdb_free(db);
	return 0;
}

/* rcode and first A record of name asked from address from. */
static int ask(const char *from, const char *name, char *a, size_t alen)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(from, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, from, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, from, &s4->sin_addr);
	}
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), LDNS_RR_TYPE_A,
					 LDNS_RR_CLASS_IN, 0);
	uint8_t *wire;
	size_t wl;
	assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	size_t n = answer_build(&ctx, db, wire, wl, out, sizeof(out), (struct sockaddr *)&ss, false);
	free(wire);
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, out, n), LDNS_STATUS_OK);
	a[0] = '\0';
	if (ldns_pkt_ancount(r) > 0) {
		char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
		snprintf(a, alen, "%s", s);
		free(s);
	}
	int rc = ldns_pkt_get_rcode(r);
	ldns_pkt_free(r);
	return rc;
}

static void test_split_view(void **state)
{
	(void)state;
	char a[64];
	/* public clients see the public zone */
	assert_int_equal(ask("127.0.0.1", "www.example.com.", a, sizeof(a)), LDNS_RCODE_NOERROR);
	assert_string_equal(a, "192.0.2.80");
	assert_int_equal(ask("127.0.0.1", "db.acct.example.com.", a, sizeof(a)), LDNS_RCODE_NXDOMAIN);
	/* VPC a sees its private zone ... */
	assert_int_equal(ask("127.0.0.65", "www.example.com.", a, sizeof(a)), LDNS_RCODE_NOERROR);
	assert_string_equal(a, "10.0.0.80");
	/* ... and never falls back to the public one (PZ-5 step 4) */
	assert_int_equal(ask("127.0.0.65", "shop.example.com.", a, sizeof(a)), LDNS_RCODE_NXDOMAIN);
	/* the most specific private zone wins */
	assert_int_equal(ask("127.0.0.65", "db.acct.example.com.", a, sizeof(a)), LDNS_RCODE_NOERROR);
	assert_string_equal(a, "10.0.1.5");
	/* VPC b has example.com but not acct.example.com: the private example.com answers */
	assert_int_equal(ask("127.0.1.9", "db.acct.example.com.", a, sizeof(a)), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ask("::1", "www.example.com.", a, sizeof(a)), LDNS_RCODE_NOERROR);
	assert_string_equal(a, "10.0.0.80");
	/* names outside every private zone of the VPC: public resolution (PZ-5 step 2) */
	assert_int_equal(ask("127.0.0.65", "www.example.org.", a, sizeof(a)), LDNS_RCODE_REFUSED);
}

static void test_vpc_region_location(void **state)
{
	(void)state;
	char a[64];
	/* private zones locate the client at the VPC's Region (PZ-10): us-east-1 is NA/US */
	assert_int_equal(ask("127.0.0.65", "geo.example.com.", a, sizeof(a)), LDNS_RCODE_NOERROR);
	assert_string_equal(a, "10.0.0.1");
	/* eu-west-1 is EU/IE */
	assert_int_equal(ask("127.0.1.1", "geo.example.com.", a, sizeof(a)), LDNS_RCODE_NOERROR);
	assert_string_equal(a, "10.0.0.2");
}

static void test_errors(void **state)
{
	(void)state;
	zdb_t *bad = NULL;
	char err[512] = "";
	assert_int_not_equal(build(vpcs, "[{\"VPCId\": \"vpc-zzz\", \"VPCRegion\": \"us-east-1\"}]", &bad, err, sizeof(err)), ERR_OK);
	assert_non_null(strstr(err, "vpc-zzz is not in the configuration's vpcs"));
	assert_int_not_equal(build("[{\"VPCId\": \"vpc-a\", \"VPCRegion\": \"mars-1\", \"sources\": []}]",
				   "[{\"VPCId\": \"vpc-a\"}]", &bad, err, sizeof(err)), ERR_OK);
	assert_non_null(strstr(err, "vpcs[0].VPCRegion"));
	assert_null(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_view),
		cmocka_unit_test(test_vpc_region_location),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
