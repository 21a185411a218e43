/* SPDX-License-Identifier: MIT */
/*
 * test_conf.c -- configuration loading and zone validation: every error names the file
 * and the JSON path or line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "zdb.h"

static char dir[] = "/tmp/r53d-test-conf-XXXXXX";

static void put(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *path_of(const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static const char good_zone[] = "$ORIGIN example.com.\n$TTL 300\n"
				"@ SOA ns1 host 1 7200 900 1209600 86400\n"
				"  NS ns1\n"
				"ns1 A 192.0.2.1\n"
				"$INCLUDE inc.zone\n";

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	put("example.com.zone", good_zone);
	put("inc.zone", "www A 192.0.2.2\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Load a configuration text; returns the status and leaves the message in err. */
static int load(const char *text, conf_t **c, char *err, size_t errlen)
{
	put("r53d.json", text);
	err[0] = '\0';
	return conf_load(path_of("r53d.json"), c, err, errlen);
}

#define ZONE_OK "\"hosted_zones\": [{\"HostedZone\": {\"Id\": \"/hostedzone/Z1\", " \
		"\"Name\": \"example.com.\"}, \"zone_file\": \"example.com.zone\"}]"

static void test_good(void **state)
{
	(void)state;
	conf_t *c = NULL;
	char err[512];
	assert_int_equal(load("{\"listen\": [\"127.0.0.1:5353\", \"[::1]:5353\"], \"workers\": 2, "
			      "\"chaos\": {\"version\": \"v\"}, " ZONE_OK "}",
			      &c, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(c->n_listen, 2);
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->listen[0].addr.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&c->listen[0].addr)->sin_port), 5353);
	assert_int_equal(c->listen[1].addr.ss_family, AF_INET6);
	assert_string_equal(c->chaos_version, "v");
	assert_null(c->chaos_id);
	assert_true(c->cname_chasing);
	assert_int_equal(c->edns_udp_size, 1232);
	assert_true(c->answer_cache);
	assert_int_equal(c->answer_cache_size, 64u << 20);
	assert_int_equal(c->n_zones, 1);
	assert_string_equal(c->zones[0].name, "example.com.");
	assert_string_equal(c->zones[0].zone_file, path_of("example.com.zone"));

	/* and the zone it names compiles, $INCLUDE included */
	zdb_src_t src = { .id = c->zones[0].id, .name = c->zones[0].name,
			  .zone_file = c->zones[0].zone_file };
	zdb_opts_t o = { .edns_udp_size = 1232 };
	zdb_t *db = NULL;
	assert_int_equal(zdb_build(&src, 1, &o, &db, err, sizeof(err)), ERR_OK);
	zdb_zone_info_t info;
	zdb_zone_info(db, 0, &info);
	assert_int_equal(info.n_records, 4);
	assert_int_equal(info.serial, 1);
	zdb_free(db);
	conf_free(c);

	assert_int_equal(load("{\"answer_cache_size\": 201326592, " ZONE_OK "}", &c, err,
			      sizeof(err)),
			 ERR_OK);
	assert_int_equal(c->answer_cache_size, 201326592u);
	conf_free(c);
}

static void expect_conf_error(const char *text, const char *want)
{
	conf_t *c = NULL;
	char err[512];
	assert_int_not_equal(load(text, &c, err, sizeof(err)), ERR_OK);
	assert_null(c);
	if (strstr(err, want) == NULL || strstr(err, "r53d.json") == NULL)
		fail_msg("error '%s' does not name '%s' and the file", err, want);
}

static void test_errors(void **state)
{
	(void)state;
	expect_conf_error("{\"listen\": [\"127.0.0.1:5353\"], \"bogus\": 1, " ZONE_OK "}",
			  "bogus: unknown key");
	expect_conf_error("{\"listen\": [\"127.0.0.1:99999\"], " ZONE_OK "}", "listen[0]");
	expect_conf_error("{\"listen\": [\"nohost:53\"], " ZONE_OK "}", "listen[0]");
	expect_conf_error("{\"workers\": 0, " ZONE_OK "}", "workers");
	/* hosted_zones may be absent (zones come from the store and the API); the new keys */
	expect_conf_error("{\"hosted_zones\": {}}", "hosted_zones");
	expect_conf_error("{\"store\": {}}", "store: needs path");
	expect_conf_error("{\"store\": {\"path\": 3}}", "store.path");
	expect_conf_error("{\"store\": {\"path\": \"d\", \"bogus\": 1}}", "store.bogus");
	expect_conf_error("{\"api\": {\"credentials\": []}}", "api.credentials");
	expect_conf_error("{\"api\": {\"credentials\": [{\"AccessKeyId\": \"a\"}]}}",
			  "api.credentials[0]");
	expect_conf_error("{\"name_servers\": [\"ns 1\"]}", "name_servers[0]");
	expect_conf_error("{\"name_servers\": []}", "name_servers");
	expect_conf_error("{\"hosted_zones\": [{\"zone_file\": \"x\"}]}", "hosted_zones[0].HostedZone");
	expect_conf_error("{\"hosted_zones\": [{\"HostedZone\": {\"Id\": \"Z\"}, \"zone_file\": \"x\"}]}",
			  "hosted_zones[0].HostedZone.Name");
	expect_conf_error("{\"tcp\": {\"idle_timeout_ms\": \"x\"}, " ZONE_OK "}", "tcp.idle_timeout_ms");
	expect_conf_error("{\"edns_udp_size\": 100, " ZONE_OK "}", "edns_udp_size");
	expect_conf_error("{\"health_checks\": \"missing.json\", " ZONE_OK "}", "health_checks");
	expect_conf_error("{\"answer_cache_size\": 1024, " ZONE_OK "}", "answer_cache_size");
	expect_conf_error("{\"answer_cache_size\": \"64M\", " ZONE_OK "}", "answer_cache_size");
	/* JSON syntax: line and column */
	expect_conf_error("{\n\"listen\": [,]\n}", "r53d.json:2:");
}

static void expect_zone_error(const char *zone, const char *want)
{
	char err[512] = "";
	put("bad.zone", zone);
	zdb_src_t src = { .id = "Z", .name = "example.com.", .zone_file = path_of("bad.zone") };
	zdb_opts_t o = { .edns_udp_size = 1232 };
	zdb_t *db = NULL;
	assert_int_not_equal(zdb_build(&src, 1, &o, &db, err, sizeof(err)), ERR_OK);
	assert_null(db);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not say '%s'", err, want);
}

static void test_zone_errors(void **state)
{
	(void)state;
	expect_zone_error("$TTL 300\n@ NS ns1.example.com.\n", "no SOA");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\nwww A 192.0.2.1\n", "no NS");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nwww CNAME a\nwww A 192.0.2.1\n",
			  "bad.zone:4: CNAME and other data");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nwww.example.org. A 192.0.2.1\n",
			  "bad.zone:4: out-of-zone record");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nwww A 300.0.0.1\n",
			  "bad.zone:4:");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n\n\nwww BOGUSTYPE x\n",
			  "bad.zone:6:");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n$INCLUDE nope.zone\n",
			  "bad.zone:4: $INCLUDE");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n@ CNAME www\n",
			  "CNAME at the zone apex");
	expect_zone_error("$TTL 300\n@ SOA ns1 h ( 1 2 3 4 5\n@ NS ns1\n", "unterminated");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nw TXT \"open\n",
			  "bad.zone:4:");
	expect_zone_error("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nsub SOA ns1 h 1 2 3 4 5\n",
			  "SOA record not at the zone apex");
}

static void test_addr(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(conf_parse_addr("127.0.0.1", 53, &ss, &len), ERR_OK);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53);
	assert_int_equal(conf_parse_addr("[::1]:8053", 53, &ss, &len), ERR_OK);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 8053);
	assert_int_equal(conf_parse_addr("::1", 53, &ss, &len), ERR_OK);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(conf_parse_addr("[::1", 53, &ss, &len), ERR_INVAL);
	assert_int_equal(conf_parse_addr("1.2.3.4:", 53, &ss, &len), ERR_INVAL);
	assert_int_equal(conf_parse_addr("1.2.3.4:x", 53, &ss, &len), ERR_INVAL);
}

/* Make key files with openssl(1) (not our code): a P-256 key (0600 and 0644) and an
 * Ed25519 one. */
static void make_keys(void)
{
	char cmd[1400];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
		 "-out ksk.pem 2>/dev/null && chmod 600 ksk.pem && cp ksk.pem open.pem && "
		 "chmod 644 open.pem && openssl genpkey -algorithm ED25519 -out ed.pem "
		 "2>/dev/null && chmod 600 ed.pem",
		 dir);
	assert_int_equal(system(cmd), 0);
}

#define ARN "arn:aws:kms:us-east-1:111122223333:key/k1"

static void test_dnssec(void **state)
{
	(void)state;
	conf_t *c = NULL;
	char err[1024];
	make_keys();
	/* defaults */
	assert_int_equal(load("{" ZONE_OK "}", &c, err, sizeof(err)), ERR_OK);
	assert_int_equal(c->dnssec.dnskey_ttl, 3600);
	assert_int_equal(c->dnssec.zsk_lifetime, 30u * 86400u);
	assert_int_equal(c->dnssec.zsk_prepublish, 86400u);
	assert_int_equal(c->dnssec.zsk_retire, 8u * 86400u);
	assert_int_equal(c->dnssec.signature_cache, 32u << 20);
	assert_null(c->dnssec.kms_keys);
	assert_int_equal(c->dnssec.n_kms, 0);
	conf_free(c);

	/* everything set; a relative key path is resolved against the file's directory */
	assert_int_equal(load("{\"dnssec\": {\"kms_keys\": {\"" ARN "\": \"ksk.pem\"}, "
			      "\"signature_cache\": 1048576, \"dnskey_ttl\": 1, \"zsk_lifetime\": 6, "
			      "\"zsk_prepublish\": 2, \"zsk_retire\": 2}, " ZONE_OK "}",
			      &c, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(c->dnssec.dnskey_ttl, 1);
	assert_int_equal(c->dnssec.zsk_lifetime, 6);
	assert_int_equal(c->dnssec.zsk_prepublish, 2);
	assert_int_equal(c->dnssec.zsk_retire, 2);
	assert_int_equal(c->dnssec.signature_cache, 1048576);
	assert_int_equal(c->dnssec.n_kms, 1);
	assert_string_equal(json_string_value(json_object_get(c->dnssec.kms_keys, ARN)),
			    path_of("ksk.pem"));
	assert_non_null(conf_kms_key(&c->dnssec, ARN));
	assert_null(conf_kms_key(&c->dnssec, "arn:aws:kms:us-east-1:111122223333:key/other"));
	conf_free(c);

	/* refused: each message names the JSON path (and the file for key files) */
	expect_conf_error("{\"dnssec\": {\"bogus\": 1}}", "dnssec.bogus: unknown key");
	expect_conf_error("{\"dnssec\": []}", "dnssec: must be an object");
	expect_conf_error("{\"dnssec\": {\"dnskey_ttl\": 0}}", "dnssec.dnskey_ttl");
	expect_conf_error("{\"dnssec\": {\"signature_cache\": 10}}", "dnssec.signature_cache");
	expect_conf_error("{\"dnssec\": {\"dnskey_ttl\": 7200, \"zsk_prepublish\": 3600}}",
			  "dnssec.zsk_prepublish: must be at least dnssec.dnskey_ttl");
	expect_conf_error("{\"dnssec\": {\"zsk_lifetime\": 10, \"zsk_prepublish\": 10, "
			  "\"dnskey_ttl\": 5}}",
			  "dnssec.zsk_lifetime: must be larger");
	expect_conf_error("{\"dnssec\": {\"kms_keys\": []}}", "dnssec.kms_keys");
	expect_conf_error("{\"dnssec\": {\"kms_keys\": {\"" ARN "\": 3}}}",
			  "dnssec.kms_keys[\"" ARN "\"]");
	/* a group/world-readable key file, a missing one, a key that is not P-256 */
	expect_conf_error("{\"dnssec\": {\"kms_keys\": {\"" ARN "\": \"open.pem\"}}}",
			  "open.pem");
	expect_conf_error("{\"dnssec\": {\"kms_keys\": {\"" ARN "\": \"missing.pem\"}}}",
			  "missing.pem");
	expect_conf_error("{\"dnssec\": {\"kms_keys\": {\"" ARN "\": \"ed.pem\"}}}", "ed.pem");
	expect_conf_error("{\"dnssec\": {\"kms_keys\": {\"" ARN "\": \"ed.pem\"}}}",
			  "dnssec.kms_keys[\"" ARN "\"]");

	/* no key material in any message: load the 0644 file's error and look for the body */
	c = NULL;
	assert_int_not_equal(load("{\"dnssec\": {\"kms_keys\": {\"" ARN "\": \"open.pem\"}}}", &c,
				  err, sizeof(err)),
			     ERR_OK);
	FILE *f = fopen(path_of("open.pem"), "r");
	assert_non_null(f);
	char line[256];
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '-' && strlen(line) > 16)
			assert_null(strstr(err, line));
	}
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_zone_errors),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_dnssec),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
