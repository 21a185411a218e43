/* SPDX-License-Identifier: MIT */
/*
 * test_zsign.c -- signed zones (zdb_build with keys) and the response signer: real
 * snapshots answered by zdb_answer() and signed by zsign_answer(), decoded with ldns; every
 * RRSIG is checked with ldns_verify_rrsig_keylist_time against the DNSKEY RRset the zone
 * serves (whose records are compared with the generated keys), the NSEC records of the
 * compact denials field by field, and which RRsets are (not) signed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dnssec.h"
#include "err.h"
#include "wire.h"
#include "zanswer.h"
#include "zdb.h"
#include "zsign.h"

#ifdef R53D_COUNT_ALLOC
/* Counting allocator (plain builds: sanitizers replace the allocator). */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static unsigned long n_alloc;

void *malloc(size_t n)
{
	n_alloc++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	n_alloc++;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	n_alloc++;
	return __libc_realloc(p, n);
}
#endif

static const char ZONE[] =
	"$ORIGIN sign.test.\n"
	"$TTL 300\n"
	"@ 900 SOA ns1 admin 1 7200 900 1209600 300\n"
	"@ 172800 NS ns1\n"
	"@ 172800 NS ns2\n"
	"@ MX 10 mail\n"
	"@ DNSKEY 256 3 13 AAAA\n" /* replaced by the build's DNSKEY RRset */
	"ns1 A 192.0.2.53\n"
	"ns2 A 192.0.2.54\n"
	"mail A 192.0.2.25\n"
	"www 2000000 A 192.0.2.1\n"
	"www 2000000 A 192.0.2.2\n"
	"www 2000000 A 192.0.2.3\n"
	"www 2000000 A 192.0.2.4\n"
	"www AAAA 2001:db8::1\n"
	"c1 CNAME c2\n"
	"c2 CNAME www\n"
	"cnx CNAME nothere\n"
	"*.wild TXT \"wild\"\n"
	"a.b.ent A 192.0.2.7\n"
	"dn DNAME tgt\n"
	"x.tgt A 192.0.2.9\n"
	"sec NS ns.sec\n"
	"sec DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n"
	"ns.sec A 192.0.2.100\n"
	"insec NS ns.insec\n"
	"ns.insec A 192.0.2.101\n"
	"big TXT \"0123456789012345678901234567890123456789012345678901234567890123456789"
	"012345678901234567890123456789\" \"012345678901234567890123456789012345678901234567890123"
	"4567890123456789012345678901234567890123456789\" \"01234567890123456789012345678901234"
	"56789012345678901234567890123456789\"\n";

static const char SETS[] =
	"{\"ResourceRecordSets\": ["
	"{\"Name\": \"w.sign.test.\", \"Type\": \"A\", \"SetIdentifier\": \"a\", \"Weight\": 1,"
	" \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.10\"}, {\"Value\": \"192.0.2.12\"}]},"
	"{\"Name\": \"w.sign.test.\", \"Type\": \"A\", \"SetIdentifier\": \"b\", \"Weight\": 1,"
	" \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.11\"}]},"
	"{\"Name\": \"fo.sign.test.\", \"Type\": \"A\", \"SetIdentifier\": \"p\", \"Failover\": \"PRIMARY\","
	" \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.40\"}]},"
	"{\"Name\": \"fo.sign.test.\", \"Type\": \"A\", \"SetIdentifier\": \"s\", \"Failover\": \"SECONDARY\","
	" \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.41\"}]},"
	"{\"Name\": \"mv.sign.test.\", \"Type\": \"A\", \"SetIdentifier\": \"m0\", \"MultiValueAnswer\": true,"
	" \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.60\"}]},"
	"{\"Name\": \"mv.sign.test.\", \"Type\": \"A\", \"SetIdentifier\": \"m1\", \"MultiValueAnswer\": true,"
	" \"TTL\": 30, \"ResourceRecords\": [{\"Value\": \"192.0.2.61\"}]},"
	"{\"Name\": \"mv.sign.test.\", \"Type\": \"A\", \"SetIdentifier\": \"m2\", \"MultiValueAnswer\": true,"
	" \"TTL\": 90, \"ResourceRecords\": [{\"Value\": \"192.0.2.60\"}]},"
	"{\"Name\": \"geo.sign.test.\", \"Type\": \"A\", \"SetIdentifier\": \"de\","
	" \"GeoLocation\": {\"CountryCode\": \"DE\"},"
	" \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.70\"}]},"
	"{\"Name\": \"geo.sign.test.\", \"Type\": \"TXT\", \"TTL\": 60,"
	" \"ResourceRecords\": [{\"Value\": \"\\\"geo\\\"\"}]},"
		"{\"Name\": \"al.sign.test.\", \"Type\": \"A\", \"AliasTarget\": {\"HostedZoneId\": \"/hostedzone/ZS\","
	" \"DNSName\": \"www.sign.test.\", \"EvaluateTargetHealth\": false}}"
	"]}";

static const char PLAIN[] = "$ORIGIN plain.test.\n$TTL 300\n"
			    "@ SOA ns1 admin 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"
			    "www 2000000 A 192.0.2.2\n";

static char zpath[64], ppath[64];
static json_t *sets;
static dnssec_key_t *ksk, *ksk2, *zsk, *zsk_next;
static zdb_t *db;
static zsign_t *zs;
static uint64_t rng[2] = { 0x1234, 0x5678 };
static uint64_t now;
static ldns_rr_list *keys;   /* the DNSKEY RRset the zone serves */
static uint8_t buf[65535];
static zresult_t res;

static void write_file(char *path, const char *tmpl, const char *text)
{
	snprintf(path, 64, "%s", tmpl);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

/* Sources of the two zones; sec: the keys of sign.test. (NULL: unsigned). */
static void sources(zdb_src_t src[2], const zdb_sec_src_t *sec)
{
	memset(src, 0, 2 * sizeof(*src));
	src[0] = (zdb_src_t){ .id = "/hostedzone/ZS", .name = "sign.test.", .zone_file = zpath,
			      .record_sets = sets, .record_sets_file = "sets", .dnssec = sec };
	src[1] = (zdb_src_t){ .id = "/hostedzone/ZP", .name = "plain.test.", .zone_file = ppath };
}

static int build(const zdb_sec_src_t *sec, const zdb_t *prev, zdb_t **out)
{
	zdb_src_t src[2];
	sources(src, sec);
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232,
			 .prev = prev };
	char err[512] = "";
	int ret = zdb_build(src, 2, &o, out, err, sizeof(err));
	if (ret != ERR_OK)
		fprintf(stderr, "zdb_build: %s\n", err);
	return ret;
}

static int setup(void **state)
{
	(void)state;
	sets = json_loads(SETS, 0, NULL);
	if (sets == NULL)
		return -1;
	write_file(zpath, "/tmp/r53d-zsign-XXXXXX", ZONE);
	write_file(ppath, "/tmp/r53d-zsignp-XXXXXX", PLAIN);
	if (dnssec_key_generate(&ksk, DNSSEC_FLAGS_KSK) != ERR_OK ||
	    dnssec_key_generate(&ksk2, DNSSEC_FLAGS_KSK) != ERR_OK ||
	    dnssec_key_generate(&zsk, DNSSEC_FLAGS_ZSK) != ERR_OK ||
	    dnssec_key_generate(&zsk_next, DNSSEC_FLAGS_ZSK) != ERR_OK)
		return -1;
	dnssec_key_t *k[2] = { ksk, ksk2 };
	dnssec_key_t *pub[1] = { zsk_next };
	zdb_sec_src_t sec = { .ksk = k, .n_ksk = 2, .zsk = zsk, .publish = pub, .n_publish = 1,
			      .dnskey_ttl = 7200 };
	if (build(&sec, NULL, &db) != ERR_OK)
		return -1;
	now = (uint64_t)time(NULL);
	return zsign_new(&zs, (size_t)1 << 20) == ERR_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ldns_rr_list_deep_free(keys);
	zsign_free(zs);
	zdb_free(db);
	dnssec_key_free(ksk);
	dnssec_key_free(ksk2);
	dnssec_key_free(zsk);
	dnssec_key_free(zsk_next);
	json_decref(sets);
	unlink(zpath);
	unlink(ppath);
	return 0;
}

/* ---- asking ---- */

typedef struct qopt {
	bool nodo;     /* do not sign */
	bool co;       /* the CO flag */
	bool tcp;      /* over TCP */
	bool force;    /* call zsign_answer even when zsign_wanted says no */
	bool full;     /* fill the writer's compression table before answering */
	size_t limit;  /* 0: 1232 */
} qopt_t;

static size_t last_len;

/* Answer name/type (name as given: its case goes on the wire) and sign unless o->nodo;
 * returns the decoded response (caller frees). */
static ldns_pkt *askdb(const zdb_t *d, const char *name, uint16_t type, const qopt_t *o)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	assert_non_null(dn);
	zq_t q;
	memset(&q, 0, sizeof(q));
	const uint8_t *p = ldns_rdf_data(dn);
	size_t nl = ldns_rdf_size(dn);
	for (size_t i = 0; i < nl; i++)
		q.qname[i] = (uint8_t)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
	q.qnamelen = (uint8_t)nl;
	size_t i = 0;
	while (p[i] != 0) {
		q.label_off[q.nlabels++] = (uint8_t)i;
		i += (size_t)p[i] + 1;
	}
	q.label_off[q.nlabels] = (uint8_t)i;
	q.qtype = type;
	q.qclass = LDNS_RR_CLASS_IN;
	q.tcp = o->tcp;
	memset(buf, 0, 12);
	wire_set16(buf, 0x4242);
	wire_set16(buf + 4, 1);
	memcpy(buf + 12, p, nl);
	wire_set16(buf + 12 + nl, type);
	wire_set16(buf + 14 + nl, LDNS_RR_CLASS_IN);
	size_t qend = 16 + nl;
	ldns_rdf_deep_free(dn);
	wire_t w;
	wire_init(&w, buf, qend, o->limit ? o->limit : 1232);
	wire_remember(&w, WIRE_HDR, buf + WIRE_HDR);
	for (int k = 0; o->full && k < WIRE_COMP_MAX; k++) /* more targets, all valid */
		wire_remember(&w, WIRE_HDR, buf + WIRE_HDR);
	if (o->full)
		assert_int_equal(w.n_comp, WIRE_COMP_MAX);
	zdb_answer(d, &q, rng, &w, &res);
	if (o->force || (!o->nodo && zsign_wanted(&res)))
		zsign_answer(zs, d, &q, o->co, &w, qend, &res, now);
	buf[2] = (uint8_t)(0x80 | (res.aa ? 0x04 : 0) | (res.tc ? 0x02 : 0));
	buf[3] = res.rcode;
	wire_set16(buf + 6, res.an);
	wire_set16(buf + 8, res.ns);
	wire_set16(buf + 10, res.ar);
	last_len = w.len;
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, buf, w.len), LDNS_STATUS_OK);
	return r;
}

static ldns_pkt *ask(const char *name, uint16_t type, const qopt_t *o)
{
	static const qopt_t none = { .nodo = false };
	return askdb(db, name, type, o ? o : &none);
}

/* ---- checking ---- */

static ldns_rr_list *section(const ldns_pkt *r, int s)
{
	return s == 0 ? ldns_pkt_answer(r) : s == 1 ? ldns_pkt_authority(r) : ldns_pkt_additional(r);
}

static bool owner_is(const ldns_rr *rr, const char *owner)
{
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	assert_non_null(o);
	bool eq = ldns_dname_compare(ldns_rr_owner(rr), o) == 0;
	ldns_rdf_deep_free(o);
	return eq;
}

/* The records of (owner, type) in section s (clones; caller frees), or NULL. */
static ldns_rr_list *rrset_in(const ldns_pkt *r, int s, const ldns_rdf *owner, ldns_rr_type t)
{
	ldns_rr_list *l = section(r, s), *out = ldns_rr_list_new();
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) == t && ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
	if (ldns_rr_list_rr_count(out) == 0) {
		ldns_rr_list_free(out);
		return NULL;
	}
	return out;
}

/* The RRSIGs in section s over (owner, type) (clones; caller frees). */
static ldns_rr_list *sigs_in(const ldns_pkt *r, int s, const ldns_rdf *owner, ldns_rr_type t)
{
	ldns_rr_list *l = section(r, s), *out = ldns_rr_list_new();
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0 &&
		    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == t)
			ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
	return out;
}

/* Every RRSIG of the response verifies (ldns) over its RRset with the served keys and is
 * signed by the zone; returns how many there are. */
static size_t verify_all(const ldns_pkt *r)
{
	assert_non_null(keys);
	size_t n = 0;
	for (int s = 0; s < 3; s++) {
		ldns_rr_list *l = section(r, s);
		for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
			ldns_rr *sig = ldns_rr_list_rr(l, i);
			if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG)
				continue;
			ldns_rr_type t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
			ldns_rr_list *set = rrset_in(r, s, ldns_rr_owner(sig), t);
			assert_non_null(set);
			ldns_rdf *apex = ldns_dname_new_frm_str("sign.test.");
			assert_int_equal(ldns_dname_compare(ldns_rr_rrsig_signame(sig), apex), 0);
			ldns_rdf_deep_free(apex);
			ldns_rr_list *good = ldns_rr_list_new();
			ldns_status st = ldns_verify_rrsig_keylist_time(set, sig, keys, (time_t)now,
									good);
			if (st != LDNS_STATUS_OK) {
				char *txt = ldns_rr_list2str(set);
				fprintf(stderr, "verify failed (%s) for:\n%s", ldns_get_errorstr_by_id(st),
					txt);
				free(txt);
			}
			assert_int_equal(st, LDNS_STATUS_OK);
			/* TTL of the RRSIG: the RRset's (its original TTL too) */
			assert_int_equal(ldns_rr_ttl(sig), ldns_rr_ttl(ldns_rr_list_rr(set, 0)));
			assert_int_equal(ldns_rdf2native_int32(ldns_rr_rrsig_origttl(sig)),
					 ldns_rr_ttl(ldns_rr_list_rr(set, 0)));
			ldns_rr_list_free(good);
			ldns_rr_list_deep_free(set);
			n++;
		}
	}
	return n;
}

/* (owner, type) is in section s with nsig RRSIGs (0: unsigned); every record has one TTL,
 * returned. */
static uint32_t expect_set(const ldns_pkt *r, int s, const char *owner, ldns_rr_type t,
			   size_t nsig)
{
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	assert_non_null(o);
	ldns_rr_list *set = rrset_in(r, s, o, t);
	if (set == NULL)
		fprintf(stderr, "missing %s type %d in section %d\n", owner, t, s);
	assert_non_null(set);
	ldns_rr_list *sigs = sigs_in(r, s, o, t);
	if (ldns_rr_list_rr_count(sigs) != nsig)
		fprintf(stderr, "%s type %d: %zu RRSIGs, expected %zu\n", owner, t,
			ldns_rr_list_rr_count(sigs), nsig);
	assert_int_equal(ldns_rr_list_rr_count(sigs), nsig);
	uint32_t ttl = ldns_rr_ttl(ldns_rr_list_rr(set, 0));
	for (size_t i = 0; i < ldns_rr_list_rr_count(set); i++)
		assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(set, i)), ttl);
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
	ldns_rdf_deep_free(o);
	return ttl;
}

static size_t count_type(const ldns_pkt *r, int s, ldns_rr_type t)
{
	ldns_rr_list *l = section(r, s);
	size_t n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		n += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t;
	return n;
}

/* The NSEC of section s: owner, Next "\000.<owner>", bitmap exactly types (n of them). */
static void expect_nsec_in(const ldns_pkt *r, int s, const char *owner,
			   const ldns_rr_type *types, size_t n, uint32_t ttl)
{
	ldns_rr_list *l = section(r, s);
	ldns_rr *nsec = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == LDNS_RR_TYPE_NSEC)
			nsec = ldns_rr_list_rr(l, i);
	assert_non_null(nsec);
	assert_true(owner_is(nsec, owner));
	assert_int_equal(ldns_rr_ttl(nsec), ttl);
	char next[300];
	snprintf(next, sizeof(next), "\\000.%s", owner);
	ldns_rdf *nx = ldns_dname_new_frm_str(next);
	assert_non_null(nx);
	assert_int_equal(ldns_dname_compare(ldns_rr_rdf(nsec, 0), nx), 0);
	ldns_rdf_deep_free(nx);
	ldns_rdf *bm = ldns_rr_rdf(nsec, 1);
	size_t present = 0;
	for (unsigned t = 1; t < 300; t++) {
		bool in = ldns_nsec_bitmap_covers_type(bm, (ldns_rr_type)t);
		bool want = t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC;
		for (size_t k = 0; k < n; k++)
			want |= types[k] == t;
		if (in != want)
			fprintf(stderr, "NSEC %s: type %u %s\n", owner, t, in ? "present" : "absent");
		assert_int_equal(in, want);
		present += in;
	}
	assert_true(present >= 2);
	expect_set(r, s, owner, LDNS_RR_TYPE_NSEC, 1);
}

/* The NSEC of the authority section (a denial). */
static void expect_nsec(const ldns_pkt *r, const char *owner, const ldns_rr_type *types,
			size_t n, uint32_t ttl)
{
	expect_nsec_in(r, 1, owner, types, n, ttl);
}

/* Fetch the served DNSKEY RRset once: the keys given to the build, nothing else. */
static void load_keys(void)
{
	if (keys != NULL)
		return;
	ldns_pkt *r = ask("sign.test.", LDNS_RR_TYPE_DNSKEY, NULL);
	keys = ldns_rr_list_new();
	ldns_rr_list *an = ldns_pkt_answer(r);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(an, i)) == LDNS_RR_TYPE_DNSKEY)
			ldns_rr_list_push_rr(keys, ldns_rr_clone(ldns_rr_list_rr(an, i)));
	ldns_pkt_free(r);
	const dnssec_key_t *want[4] = { ksk, ksk2, zsk, zsk_next };
	assert_int_equal(ldns_rr_list_rr_count(keys), 4);
	unsigned found = 0; /* each of the four keys once (the RRset comes in any order) */
	for (int k = 0; k < 4; k++) {
		ldns_rr *rr = ldns_rr_list_rr(keys, (size_t)k);
		ldns_buffer *b = ldns_buffer_new(256);
		assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
		size_t wl = ldns_buffer_position(b);
		const uint8_t *wire = ldns_buffer_begin(b);
		assert_int_equal(wl, DNSSEC_DNSKEY_RDLEN);
		for (int j = 0; j < 4; j++)
			if (memcmp(wire, dnssec_key_dnskey(want[j]), wl) == 0)
				found |= 1u << j;
		ldns_buffer_free(b);
		assert_int_equal(ldns_rr_ttl(rr), 7200);
	}
	assert_int_equal(found, 15);
}

static zsign_stats_t stats(void)
{
	zsign_stats_t st;
	zsign_stats(zs, &st);
	return st;
}

/* ---- tests ---- */

static void test_dnskey(void **state)
{
	(void)state;
	load_keys();
	ldns_pkt *r = ask("sign.test.", LDNS_RR_TYPE_DNSKEY, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	/* one RRSIG per KSK, verifying with the KSKs alone */
	expect_set(r, 0, "sign.test.", LDNS_RR_TYPE_DNSKEY, 2);
	ldns_rr_list *ksks_only = ldns_rr_list_new();
	for (size_t i = 0; i < ldns_rr_list_rr_count(keys); i++)
		if (ldns_rdf2native_int16(ldns_rr_dnskey_flags(ldns_rr_list_rr(keys, i))) == 257)
			ldns_rr_list_push_rr(ksks_only, ldns_rr_list_rr(keys, i));
	assert_int_equal(ldns_rr_list_rr_count(ksks_only), 2);
	ldns_rdf *apex = ldns_dname_new_frm_str("sign.test.");
	ldns_rr_list *set = rrset_in(r, 0, apex, LDNS_RR_TYPE_DNSKEY);
	ldns_rr_list *sigs = sigs_in(r, 0, apex, LDNS_RR_TYPE_DNSKEY);
	uint16_t tags[2];
	for (size_t i = 0; i < 2; i++) {
		ldns_rr_list *good = ldns_rr_list_new();
		assert_int_equal(ldns_verify_rrsig_keylist_time(set, ldns_rr_list_rr(sigs, i),
								ksks_only, (time_t)now, good),
				 LDNS_STATUS_OK);
		tags[i] = ldns_rdf2native_int16(ldns_rr_rrsig_keytag(ldns_rr_list_rr(sigs, i)));
		ldns_rr_list_free(good);
	}
	assert_true((tags[0] == dnssec_key_tag(ksk) && tags[1] == dnssec_key_tag(ksk2)) ||
		    (tags[1] == dnssec_key_tag(ksk) && tags[0] == dnssec_key_tag(ksk2)));
	ldns_rr_list_free(ksks_only);
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
	ldns_rdf_deep_free(apex);
	/* the apex NS in authority and the name servers' addresses are signed by the ZSK */
	expect_set(r, 1, "sign.test.", LDNS_RR_TYPE_NS, 1);
	expect_set(r, 2, "ns1.sign.test.", LDNS_RR_TYPE_A, 1);
	assert_int_equal(verify_all(r), 5);
	ldns_pkt_free(r);
}

static void test_positive(void **state)
{
	(void)state;
	load_keys();
	ldns_pkt *r = ask("WwW.Sign.TEST.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(r));
	assert_int_equal(expect_set(r, 0, "www.sign.test.", LDNS_RR_TYPE_A, 1), 604800);
	assert_int_equal(count_type(r, 0, LDNS_RR_TYPE_A), 4);
	assert_int_equal(expect_set(r, 1, "sign.test.", LDNS_RR_TYPE_NS, 1), 172800);
	expect_set(r, 2, "ns1.sign.test.", LDNS_RR_TYPE_A, 1);
	expect_set(r, 2, "ns2.sign.test.", LDNS_RR_TYPE_A, 1);
	assert_int_equal(verify_all(r), 4);
	ldns_pkt_free(r);
	/* the build capped the TTLs: without DO too */
	qopt_t nodo = { .nodo = true };
	r = ask("www.sign.test.", LDNS_RR_TYPE_A, &nodo);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), 604800);
	assert_int_equal(count_type(r, 0, LDNS_RR_TYPE_RRSIG), 0);
	ldns_pkt_free(r);
	/* MX: the target's address in additional, signed */
	r = ask("sign.test.", LDNS_RR_TYPE_MX, NULL);
	expect_set(r, 0, "sign.test.", LDNS_RR_TYPE_MX, 1);
	expect_set(r, 2, "mail.sign.test.", LDNS_RR_TYPE_A, 1);
	verify_all(r);
	ldns_pkt_free(r);
}

/* The same RRset in another order, the same name in another case: a cache hit that
 * verifies. */
static void test_cache_shuffled(void **state)
{
	(void)state;
	load_keys();
	ldns_pkt *r = ask("www.sign.test.", LDNS_RR_TYPE_A, NULL);
	ldns_pkt_free(r);
	char first[64] = "";
	int orders = 0;
	for (int i = 0; i < 40; i++) {
		zsign_stats_t a = stats();
		r = ask(i % 2 ? "WWW.sign.test." : "www.SIGN.test.", LDNS_RR_TYPE_A, NULL);
		zsign_stats_t b = stats();
		if (b.cache_hits - a.cache_hits != 4)
			ldns_pkt_print(stderr, r);
		assert_int_equal(b.signatures, a.signatures); /* nothing signed again */
		assert_int_equal(b.cache_hits - a.cache_hits, 4); /* A, NS, ns1 A, ns2 A */
		assert_int_equal(b.answers - a.answers, 1);
		assert_int_equal(verify_all(r), 4);
		char order[64] = "";
		for (size_t k = 0; k < 4; k++) {
			char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), k), 0));
			strncat(order, s + strlen(s) - 1, 1);
			free(s);
		}
		if (i == 0)
			snprintf(first, sizeof(first), "%s", order);
		orders += strcmp(order, first) != 0;
		ldns_pkt_free(r);
	}
	assert_true(orders > 0); /* the records did come in other orders */
	assert_true(stats().cache_entries > 0);
}

static void test_cname_chain(void **state)
{
	(void)state;
	load_keys();
	ldns_pkt *r = ask("c1.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 0, "c1.sign.test.", LDNS_RR_TYPE_CNAME, 1);
	expect_set(r, 0, "c2.sign.test.", LDNS_RR_TYPE_CNAME, 1);
	expect_set(r, 0, "www.sign.test.", LDNS_RR_TYPE_A, 1);
	verify_all(r);
	ldns_pkt_free(r);
	/* NODATA after the chain: the NSEC is at the last target, with its types */
	r = ask("c1.sign.test.", LDNS_RR_TYPE_TXT, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 0, "c2.sign.test.", LDNS_RR_TYPE_CNAME, 1);
	expect_set(r, 1, "sign.test.", LDNS_RR_TYPE_SOA, 1);
	static const ldns_rr_type www[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	expect_nsec(r, "www.sign.test.", www, 2, 300);
	verify_all(r);
	ldns_pkt_free(r);
	/* NXDOMAIN after the chain: the NSEC denies the target */
	r = ask("cnx.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 0, "cnx.sign.test.", LDNS_RR_TYPE_CNAME, 1);
	static const ldns_rr_type nx[] = { (ldns_rr_type)128 };
	expect_nsec(r, "nothere.sign.test.", nx, 1, 300);
	verify_all(r);
	ldns_pkt_free(r);
}

static void test_wildcard(void **state)
{
	(void)state;
	load_keys();
	ldns_pkt *r = ask("foo.wild.sign.test.", LDNS_RR_TYPE_TXT, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 0, "foo.wild.sign.test.", LDNS_RR_TYPE_TXT, 1);
	/* signed as the name asked: Labels = its own count, no wildcard proof */
	ldns_rdf *o = ldns_dname_new_frm_str("foo.wild.sign.test.");
	ldns_rr_list *sigs = sigs_in(r, 0, o, LDNS_RR_TYPE_TXT);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(ldns_rr_list_rr(sigs, 0))), 4);
	ldns_rr_list_deep_free(sigs);
	ldns_rdf_deep_free(o);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_NSEC), 0);
	verify_all(r);
	ldns_pkt_free(r);
	/* NODATA at a wildcard match: the wildcard's types at the name asked */
	r = ask("foo.wild.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	static const ldns_rr_type txt[] = { LDNS_RR_TYPE_TXT };
	expect_nsec(r, "foo.wild.sign.test.", txt, 1, 300);
	verify_all(r);
	ldns_pkt_free(r);
}

static void test_dname(void **state)
{
	(void)state;
	load_keys();
	ldns_pkt *r = ask("x.dn.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 0, "dn.sign.test.", LDNS_RR_TYPE_DNAME, 1);
	expect_set(r, 0, "x.dn.sign.test.", LDNS_RR_TYPE_CNAME, 1); /* synthesised, signed */
	expect_set(r, 0, "x.tgt.sign.test.", LDNS_RR_TYPE_A, 1);
	verify_all(r);
	ldns_pkt_free(r);
}

static void test_nxdomain(void **state)
{
	(void)state;
	load_keys();
	static const ldns_rr_type nx[] = { (ldns_rr_type)128 };
	/* black lies: NOERROR, NSEC(RRSIG NSEC NXNAME) at the name asked, as asked */
	ldns_pkt *r = ask("NoSuch.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(expect_set(r, 1, "sign.test.", LDNS_RR_TYPE_SOA, 1), 300);
	expect_nsec(r, "nosuch.sign.test.", nx, 1, 300);
	assert_int_equal(verify_all(r), 2);
	ldns_pkt_free(r);
	/* with CO: the rcode stays NXDOMAIN */
	qopt_t co = { .co = true };
	r = ask("nosuch.sign.test.", LDNS_RR_TYPE_A, &co);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	expect_nsec(r, "nosuch.sign.test.", nx, 1, 300);
	assert_int_equal(verify_all(r), 2);
	ldns_pkt_free(r);
	/* without DO (not signed): NXDOMAIN as before */
	qopt_t nodo = { .nodo = true };
	r = ask("nosuch.sign.test.", LDNS_RR_TYPE_A, &nodo);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_RRSIG), 0);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_NSEC), 0);
	ldns_pkt_free(r);
}

static void test_nodata(void **state)
{
	(void)state;
	load_keys();
	/* at a name with data */
	ldns_pkt *r = ask("www.sign.test.", LDNS_RR_TYPE_TXT, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	static const ldns_rr_type www[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	expect_nsec(r, "www.sign.test.", www, 2, 300);
	verify_all(r);
	ldns_pkt_free(r);
	/* the query type is left out of the bitmap */
	r = ask("www.sign.test.", LDNS_RR_TYPE_MX, NULL);
	expect_nsec(r, "www.sign.test.", www, 2, 300);
	ldns_pkt_free(r);
	/* a policy with nothing for this client (no location, no default): NODATA whose
	 * bitmap leaves out the type asked although the name has a record set of it */
	r = ask("geo.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	static const ldns_rr_type geo[] = { LDNS_RR_TYPE_TXT };
	expect_nsec(r, "geo.sign.test.", geo, 1, 300);
	verify_all(r);
	ldns_pkt_free(r);
	/* an empty non-terminal: nothing but RRSIG NSEC */
	r = ask("ent.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_nsec(r, "ent.sign.test.", NULL, 0, 300);
	verify_all(r);
	ldns_pkt_free(r);
	/* DS at a delegation without one: NODATA from the parent, NSEC(NS RRSIG NSEC) */
	r = ask("insec.sign.test.", LDNS_RR_TYPE_DS, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(r));
	static const ldns_rr_type ns[] = { LDNS_RR_TYPE_NS };
	expect_nsec(r, "insec.sign.test.", ns, 1, 300);
	verify_all(r);
	ldns_pkt_free(r);
	/* DS at a delegation with one: the DS signed */
	r = ask("sec.sign.test.", LDNS_RR_TYPE_DS, NULL);
	expect_set(r, 0, "sec.sign.test.", LDNS_RR_TYPE_DS, 1);
	verify_all(r);
	ldns_pkt_free(r);
}

static void test_referral(void **state)
{
	(void)state;
	load_keys();
	/* with DS: NS unsigned, DS + RRSIG, glue unsigned */
	ldns_pkt *r = ask("host.sec.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_aa(r));
	expect_set(r, 1, "sec.sign.test.", LDNS_RR_TYPE_NS, 0);
	expect_set(r, 1, "sec.sign.test.", LDNS_RR_TYPE_DS, 1);
	expect_set(r, 2, "ns.sec.sign.test.", LDNS_RR_TYPE_A, 0);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_NSEC), 0);
	assert_int_equal(verify_all(r), 1);
	ldns_pkt_free(r);
	/* without DS: NSEC(NS RRSIG NSEC) at the cut */
	r = ask("host.insec.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_false(ldns_pkt_aa(r));
	expect_set(r, 1, "insec.sign.test.", LDNS_RR_TYPE_NS, 0);
	expect_set(r, 2, "ns.insec.sign.test.", LDNS_RR_TYPE_A, 0);
	static const ldns_rr_type ns[] = { LDNS_RR_TYPE_NS };
	expect_nsec(r, "insec.sign.test.", ns, 1, 300);
	assert_int_equal(verify_all(r), 1);
	ldns_pkt_free(r);
}

static void test_any_tcp(void **state)
{
	(void)state;
	load_keys();
	qopt_t tcp = { .tcp = true, .limit = 65535 };
	ldns_pkt *r = ask("sign.test.", LDNS_RR_TYPE_ANY, &tcp);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 0, "sign.test.", LDNS_RR_TYPE_SOA, 1);
	expect_set(r, 0, "sign.test.", LDNS_RR_TYPE_NS, 1);
	expect_set(r, 0, "sign.test.", LDNS_RR_TYPE_MX, 1);
	expect_set(r, 0, "sign.test.", LDNS_RR_TYPE_DNSKEY, 2);
	assert_int_equal(expect_set(r, 0, "sign.test.", LDNS_RR_TYPE_SOA, 1), 900);
	assert_int_equal(count_type(r, 0, LDNS_RR_TYPE_DNSKEY), 4);
	verify_all(r);
	ldns_pkt_free(r);
}

static void test_policies(void **state)
{
	(void)state;
	load_keys();
	for (int i = 0; i < 8; i++) {
		ldns_pkt *r = ask("w.sign.test.", LDNS_RR_TYPE_A, NULL);
		assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
		assert_int_equal(expect_set(r, 0, "w.sign.test.", LDNS_RR_TYPE_A, 1), 60);
		verify_all(r);
		ldns_pkt_free(r);
	}
	ldns_pkt *r = ask("fo.sign.test.", LDNS_RR_TYPE_A, NULL);
	expect_set(r, 0, "fo.sign.test.", LDNS_RR_TYPE_A, 1);
	assert_int_equal(ldns_pkt_ancount(r), 2); /* A + RRSIG */
	verify_all(r);
	ldns_pkt_free(r);
	/* multivalue: record sets of other TTLs joined into one RRset (the lowest TTL), the
	 * duplicate value once */
	r = ask("mv.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(expect_set(r, 0, "mv.sign.test.", LDNS_RR_TYPE_A, 1), 30);
	assert_int_equal(count_type(r, 0, LDNS_RR_TYPE_A), 2);
	verify_all(r);
	ldns_pkt_free(r);
	/* alias: the target's records at the name asked */
	r = ask("al.sign.test.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(expect_set(r, 0, "al.sign.test.", LDNS_RR_TYPE_A, 1), 604800);
	assert_int_equal(count_type(r, 0, LDNS_RR_TYPE_A), 4);
	verify_all(r);
	ldns_pkt_free(r);
}

static void test_truncation(void **state)
{
	(void)state;
	load_keys();
	qopt_t nodo = { .nodo = true, .limit = 512 };
	ldns_pkt *r = ask("big.sign.test.", LDNS_RR_TYPE_TXT, &nodo);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), 1);
	ldns_pkt_free(r);
	uint64_t t0 = stats().truncated;
	qopt_t small = { .limit = 512 };
	r = ask("big.sign.test.", LDNS_RR_TYPE_TXT, &small);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(ldns_pkt_nscount(r), 0);
	assert_int_equal(ldns_pkt_arcount(r), 0);
	assert_int_equal(stats().truncated, t0 + 1);
	ldns_pkt_free(r);
	/* with room: signed */
	r = ask("big.sign.test.", LDNS_RR_TYPE_TXT, NULL);
	assert_false(ldns_pkt_tc(r));
	expect_set(r, 0, "big.sign.test.", LDNS_RR_TYPE_TXT, 1);
	verify_all(r);
	ldns_pkt_free(r);
}

/* Section s of r sorted (clones; caller frees). */
static ldns_rr_list *sorted(const ldns_pkt *r, int s)
{
	ldns_rr_list *l = ldns_rr_list_clone(section(r, s));
	ldns_rr_list_sort(l);
	return l;
}

/* The records of section s of r but RRSIGs and NSECs, TTLs zeroed, sorted (caller frees). */
static ldns_rr_list *unsigned_part(const ldns_pkt *r, int s)
{
	ldns_rr_list *l = section(r, s), *out = ldns_rr_list_new();
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC)
			continue;
		ldns_rr *c = ldns_rr_clone(rr);
		ldns_rr_set_ttl(c, 0);
		ldns_rr_list_push_rr(out, c);
	}
	ldns_rr_list_sort(out);
	return out;
}

/* A name of total bytes (251..255) under sign.test. of labels of 63 bytes and less. */
static void long_name(char *name, size_t size, size_t total)
{
	size_t left = total - 11, pos = 0;
	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;
		if (left - (l + 1) == 1) /* no room for a label of one byte plus length */
			l--;
		for (size_t k = 0; k < l; k++)
			name[pos++] = (char)('a' + (k % 26));
		name[pos++] = '.';
		left -= l + 1;
	}
	snprintf(name + pos, size - pos, "sign.test.");
}

/*
 * A truncated DO response of a signed zone has the rcode of the full signed answer:
 * NXDOMAIN becomes NOERROR unless CO was set, whether the signer truncated (the signed
 * denial did not fit) or zdb_answer already had (not even the SOA fitted).
 */
static void test_truncated_rcode(void **state)
{
	(void)state;
	load_keys();
	char name[400] = "";
	long_name(name, sizeof(name), 255);
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	assert_non_null(dn);
	assert_int_equal(ldns_rdf_size(dn), 255);
	ldns_rdf_deep_free(dn);
	/* without DO the denial fits in 512 bytes: NXDOMAIN */
	qopt_t nodo = { .nodo = true, .limit = 512 };
	ldns_pkt *r = ask(name, LDNS_RR_TYPE_A, &nodo);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(r);
	/* DO, EDNS 512: the signed denial does not fit: TC, empty sections, NOERROR */
	uint64_t t0 = stats().truncated;
	qopt_t small = { .limit = 512 };
	r = ask(name, LDNS_RR_TYPE_A, &small);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(ldns_pkt_nscount(r), 0);
	assert_int_equal(ldns_pkt_arcount(r), 0);
	assert_int_equal(stats().truncated, t0 + 1);
	ldns_pkt_free(r);
	/* ... with CO: NXDOMAIN */
	qopt_t small_co = { .limit = 512, .co = true };
	r = ask(name, LDNS_RR_TYPE_A, &small_co);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(r) + ldns_pkt_nscount(r) + ldns_pkt_arcount(r), 0);
	ldns_pkt_free(r);
	/* the retry over TCP: the full answer says NOERROR too, with the NSEC */
	qopt_t tcp = { .tcp = true, .limit = 65535 };
	r = ask(name, LDNS_RR_TYPE_A, &tcp);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 1, name, LDNS_RR_TYPE_NSEC, 1);
	assert_int_equal(verify_all(r), 2);
	ldns_pkt_free(r);

	/* zdb_answer truncates (not even the SOA fits in 40 bytes) */
	qopt_t tiny_nodo = { .nodo = true, .limit = 40 };
	r = ask("nosuch.sign.test.", LDNS_RR_TYPE_A, &tiny_nodo);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(r);
	qopt_t tiny = { .limit = 40 };
	r = ask("nosuch.sign.test.", LDNS_RR_TYPE_A, &tiny);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r) + ldns_pkt_nscount(r) + ldns_pkt_arcount(r), 0);
	ldns_pkt_free(r);
	qopt_t tiny_co = { .limit = 40, .co = true };
	r = ask("nosuch.sign.test.", LDNS_RR_TYPE_A, &tiny_co);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(r);
	/* after a CNAME to a missing name */
	qopt_t tiny2 = { .limit = 50 };
	r = ask("cnx.sign.test.", LDNS_RR_TYPE_A, &tiny2);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	ldns_pkt_free(r);
	/* an unsigned zone: nothing changes, even when the signer is called */
	qopt_t tiny_force = { .limit = 40, .force = true };
	r = ask("nosuch.plain.test.", LDNS_RR_TYPE_A, &tiny_force);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(r);
}

/*
 * A query of type NSEC at a name that exists: the name's own compact NSEC in the answer
 * (its types, RRSIG, NSEC) with its RRSIG, no SOA; copied or written again alike.
 */
static void test_nsec_query(void **state)
{
	(void)state;
	load_keys();
	static const struct {
		const char *name; /* as asked */
		const char *owner;
		ldns_rr_type types[4];
		size_t n;
	} cs[] = {
		{ "WwW.Sign.TEST.", "www.sign.test.", { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA }, 2 },
		{ "sign.test.",
		  "sign.test.",
		  { LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_NS, LDNS_RR_TYPE_MX, LDNS_RR_TYPE_DNSKEY },
		  4 },
		{ "ent.sign.test.", "ent.sign.test.", { 0 }, 0 },
		{ "Foo.wild.sign.test.", "foo.wild.sign.test.", { LDNS_RR_TYPE_TXT }, 1 },
		{ "w.sign.test.", "w.sign.test.", { LDNS_RR_TYPE_A }, 1 },
		{ "geo.sign.test.", "geo.sign.test.", { LDNS_RR_TYPE_A, LDNS_RR_TYPE_TXT }, 2 },
		{ "sec.sign.test.", "sec.sign.test.", { 0 }, 0 }, /* a delegation */
	};
	for (size_t i = 0; i < sizeof(cs) / sizeof(*cs); i++) {
		qopt_t full = { .full = true };
		ldns_pkt *a = ask(cs[i].name, LDNS_RR_TYPE_NSEC, NULL);
		ldns_pkt *b = ask(cs[i].name, LDNS_RR_TYPE_NSEC, &full);
		for (int k = 0; k < 2; k++) {
			ldns_pkt *r = k ? b : a;
			assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
			assert_false(ldns_pkt_tc(r));
			if (strcmp(cs[i].name, "sec.sign.test.") == 0) {
				/* a delegation: the referral as for any type, its DS signed */
				assert_false(ldns_pkt_aa(r));
				assert_int_equal(ldns_pkt_ancount(r), 0);
				expect_set(r, 1, "sec.sign.test.", LDNS_RR_TYPE_NS, 0);
				expect_set(r, 1, "sec.sign.test.", LDNS_RR_TYPE_DS, 1);
				assert_int_equal(verify_all(r), 1);
				continue;
			}
			if (ldns_pkt_ancount(r) != 2)
				ldns_pkt_print(stderr, r);
			assert_true(ldns_pkt_aa(r));
			assert_int_equal(ldns_pkt_ancount(r), 2); /* NSEC + RRSIG */
			assert_int_equal(ldns_pkt_nscount(r), 0); /* no SOA */
			assert_int_equal(ldns_pkt_arcount(r), 0);
			expect_nsec_in(r, 0, cs[i].owner, cs[i].types, cs[i].n, 300);
			assert_int_equal(verify_all(r), 1);
		}
		ldns_rr_list *la = sorted(a, 0), *lb = sorted(b, 0);
		assert_int_equal(ldns_rr_list_compare(la, lb), 0);
		ldns_rr_list_deep_free(la);
		ldns_rr_list_deep_free(lb);
		ldns_pkt_free(a);
		ldns_pkt_free(b);
	}
	/* after a CNAME chain: the chain signed, then the NSEC of its last target */
	ldns_pkt *r = ask("c1.sign.test.", LDNS_RR_TYPE_NSEC, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 0, "c1.sign.test.", LDNS_RR_TYPE_CNAME, 1);
	expect_set(r, 0, "c2.sign.test.", LDNS_RR_TYPE_CNAME, 1);
	static const ldns_rr_type www[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	expect_nsec_in(r, 0, "www.sign.test.", www, 2, 300);
	assert_int_equal(ldns_pkt_nscount(r), 0);
	assert_int_equal(verify_all(r), 3);
	ldns_pkt_free(r);
	/* a name that does not exist: the denial (NXNAME) as for any type */
	r = ask("nosuch.sign.test.", LDNS_RR_TYPE_NSEC, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	static const ldns_rr_type nx[] = { (ldns_rr_type)128 };
	expect_nsec(r, "nosuch.sign.test.", nx, 1, 300);
	assert_int_equal(verify_all(r), 2);
	ldns_pkt_free(r);
	/* answered: no longer NODATA for the caller */
	r = ask("www.sign.test.", LDNS_RR_TYPE_NSEC, NULL);
	assert_false(res.nodata);
	assert_null(res.neg_node);
	ldns_pkt_free(r);
	/* without DO: NODATA as before */
	qopt_t nodo = { .nodo = true };
	r = ask("www.sign.test.", LDNS_RR_TYPE_NSEC, &nodo);
	assert_true(res.nodata);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_SOA), 1);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_NSEC), 0);
	ldns_pkt_free(r);
}

/* The RRSIGs over (owner, t) in the answer of r: nsig of them, each verifying (ldns) over
 * the RRset a DO query of that type gets (section 0 of its answer), the TTL its. */
static void verify_against(const ldns_pkt *r, const char *owner, ldns_rr_type t, size_t nsig)
{
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	assert_non_null(o);
	ldns_rr_list *sigs = sigs_in(r, 0, o, t);
	if (ldns_rr_list_rr_count(sigs) != nsig)
		fprintf(stderr, "%s type %d: %zu RRSIGs, expected %zu\n", owner, t,
			ldns_rr_list_rr_count(sigs), nsig);
	assert_int_equal(ldns_rr_list_rr_count(sigs), nsig);
	ldns_pkt *p = ask(owner, (uint16_t)t, NULL);
	ldns_rr_list *set = rrset_in(p, 0, o, t);
	assert_non_null(set);
	uint32_t ttl = ldns_rr_ttl(ldns_rr_list_rr(set, 0));
	for (size_t i = 0; i < nsig; i++) {
		ldns_rr *sig = ldns_rr_list_rr(sigs, i);
		ldns_rr_list *good = ldns_rr_list_new();
		assert_int_equal(ldns_verify_rrsig_keylist_time(set, sig, keys, (time_t)now, good),
				 LDNS_STATUS_OK);
		ldns_rr_list_free(good);
		assert_int_equal(ldns_rr_ttl(sig), ttl);
		assert_int_equal(ldns_rdf2native_int32(ldns_rr_rrsig_origttl(sig)), ttl);
	}
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
	ldns_rdf_deep_free(o);
	ldns_pkt_free(p);
}

/*
 * A query of type RRSIG at a name that exists: the RRSIGs of its static RRsets and of its
 * NSEC (which every existing name has), none over the RRSIGs, no SOA; policy and alias
 * groups (no fixed RRset) left out.
 */
static void test_rrsig_query(void **state)
{
	(void)state;
	load_keys();
	static const struct {
		const char *name;
		const char *owner;
		ldns_rr_type types[6];
		size_t nsig[6];
		size_t n;
	} cs[] = {
		{ "WWW.sign.test.",
		  "www.sign.test.",
		  { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_NSEC },
		  { 1, 1, 1 },
		  3 },
		{ "sign.test.",
		  "sign.test.",
		  { LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_NS, LDNS_RR_TYPE_MX, LDNS_RR_TYPE_DNSKEY,
		    LDNS_RR_TYPE_NSEC },
		  { 1, 1, 1, 2, 1 },
		  5 },
		{ "ent.sign.test.", "ent.sign.test.", { LDNS_RR_TYPE_NSEC }, { 1 }, 1 },
		{ "foo.wild.sign.test.",
		  "foo.wild.sign.test.",
		  { LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_NSEC },
		  { 1, 1 },
		  2 },
		{ "w.sign.test.", "w.sign.test.", { LDNS_RR_TYPE_NSEC }, { 1 }, 1 },
		{ "al.sign.test.", "al.sign.test.", { LDNS_RR_TYPE_NSEC }, { 1 }, 1 },
		{ "dn.sign.test.",
		  "dn.sign.test.",
		  { LDNS_RR_TYPE_DNAME, LDNS_RR_TYPE_NSEC },
		  { 1, 1 },
		  2 },
	};
	for (size_t i = 0; i < sizeof(cs) / sizeof(*cs); i++) {
		qopt_t full = { .full = true };
		ldns_pkt *a = ask(cs[i].name, LDNS_RR_TYPE_RRSIG, NULL);
		ldns_pkt *b = ask(cs[i].name, LDNS_RR_TYPE_RRSIG, &full);
		size_t total = 0;
		for (size_t k = 0; k < cs[i].n; k++)
			total += cs[i].nsig[k];
		for (int k = 0; k < 2; k++) {
			ldns_pkt *r = k ? b : a;
			if (ldns_pkt_ancount(r) != total)
				ldns_pkt_print(stderr, r);
			assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
			assert_true(ldns_pkt_aa(r));
			assert_false(ldns_pkt_tc(r));
			assert_int_equal(ldns_pkt_ancount(r), total);
			assert_int_equal(count_type(r, 0, LDNS_RR_TYPE_RRSIG), total);
			assert_int_equal(ldns_pkt_nscount(r), 0);
			assert_int_equal(ldns_pkt_arcount(r), 0);
			ldns_rr_list *an = ldns_pkt_answer(r);
			for (size_t j = 0; j < total; j++) {
				ldns_rr *sig = ldns_rr_list_rr(an, j);
				assert_true(owner_is(sig, cs[i].owner));
				/* no signature over the RRSIGs; wildcard: as the name asked */
				ldns_rr_type cov = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
				assert_int_not_equal(cov, LDNS_RR_TYPE_RRSIG);
				assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(sig)),
						 ldns_dname_label_count(ldns_rr_owner(sig)));
			}
			for (size_t t = 0; t < cs[i].n; t++)
				verify_against(r, cs[i].owner, cs[i].types[t], cs[i].nsig[t]);
		}
		ldns_rr_list *la = sorted(a, 0), *lb = sorted(b, 0);
		assert_int_equal(ldns_rr_list_compare(la, lb), 0);
		ldns_rr_list_deep_free(la);
		ldns_rr_list_deep_free(lb);
		ldns_pkt_free(a);
		ldns_pkt_free(b);
	}
	/* after a CNAME chain: the chain signed, then the RRSIGs at its last target */
	ldns_pkt *r = ask("c2.sign.test.", LDNS_RR_TYPE_RRSIG, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	expect_set(r, 0, "c2.sign.test.", LDNS_RR_TYPE_CNAME, 1);
	assert_int_equal(ldns_pkt_ancount(r), 2 + 3);
	verify_against(r, "www.sign.test.", LDNS_RR_TYPE_A, 1);
	verify_against(r, "www.sign.test.", LDNS_RR_TYPE_AAAA, 1);
	verify_against(r, "www.sign.test.", LDNS_RR_TYPE_NSEC, 1);
	ldns_pkt_free(r);
	/* a name that does not exist: the denial */
	r = ask("nosuch.sign.test.", LDNS_RR_TYPE_RRSIG, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	static const ldns_rr_type nx[] = { (ldns_rr_type)128 };
	expect_nsec(r, "nosuch.sign.test.", nx, 1, 300);
	ldns_pkt_free(r);
	/* too big for 512 bytes (six RRSIGs at the apex): TC, NOERROR */
	qopt_t small = { .limit = 512 };
	r = ask("sign.test.", LDNS_RR_TYPE_RRSIG, &small);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r) + ldns_pkt_nscount(r) + ldns_pkt_arcount(r), 0);
	ldns_pkt_free(r);
	/* without DO: NODATA as before; an unsigned zone too */
	qopt_t nodo = { .nodo = true };
	r = ask("www.sign.test.", LDNS_RR_TYPE_RRSIG, &nodo);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(r);
	qopt_t force = { .force = true };
	r = ask("www.plain.test.", LDNS_RR_TYPE_RRSIG, &force);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_SOA), 1);
	assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_RRSIG), 0);
	ldns_pkt_free(r);
}

/*
 * The signer copies zdb_answer's records and moves the compression pointers that point
 * past an insertion; when it cannot (here: the compression table is full) it writes them
 * again. Both ways give the same records, every RRSIG verifies, and the signed response
 * holds exactly the records of the unsigned one (TTLs aside) plus RRSIGs and NSECs.
 */
static void test_copy_and_rewrite(void **state)
{
	(void)state;
	load_keys();
	static const struct {
		const char *name;
		uint16_t type;
	} qs[] = {
		{ "www.sign.test.", LDNS_RR_TYPE_A },      { "WwW.SiGn.TeSt.", LDNS_RR_TYPE_A },
		{ "sign.test.", LDNS_RR_TYPE_MX },         { "sign.test.", LDNS_RR_TYPE_SOA },
		{ "sign.test.", LDNS_RR_TYPE_NS },         { "sign.test.", LDNS_RR_TYPE_DNSKEY },
		{ "C1.sign.test.", LDNS_RR_TYPE_A },       { "cnx.sign.test.", LDNS_RR_TYPE_A },
		{ "x.Wild.sign.test.", LDNS_RR_TYPE_TXT }, { "b.ent.sign.test.", LDNS_RR_TYPE_A },
		{ "x.dn.sign.test.", LDNS_RR_TYPE_A },     { "h.sec.sign.test.", LDNS_RR_TYPE_A },
		{ "h.insec.sign.test.", LDNS_RR_TYPE_A },  { "nosuch.sign.test.", LDNS_RR_TYPE_A },
		{ "www.sign.test.", LDNS_RR_TYPE_MX },     { "al.sign.test.", LDNS_RR_TYPE_A },
		{ "fo.sign.test.", LDNS_RR_TYPE_A },       { "big.sign.test.", LDNS_RR_TYPE_TXT },
	};
	for (size_t i = 0; i < sizeof(qs) / sizeof(*qs); i++) {
		qopt_t nodo = { .nodo = true }, full = { .full = true };
		ldns_pkt *u = ask(qs[i].name, qs[i].type, &nodo);
		ldns_pkt *a = ask(qs[i].name, qs[i].type, NULL);
		ldns_pkt *b = ask(qs[i].name, qs[i].type, &full);
		assert_int_equal(ldns_pkt_get_rcode(a), ldns_pkt_get_rcode(b));
		assert_false(ldns_pkt_tc(a));
		assert_true(verify_all(a) > 0);
		assert_int_equal(verify_all(a), verify_all(b));
		for (int s = 0; s < 3; s++) {
			ldns_rr_list *la = sorted(a, s), *lb = sorted(b, s);
			ldns_rr_list *ua = unsigned_part(a, s), *uu = unsigned_part(u, s);
			/* a referral with a DS gains it in the authority section */
			bool ds = s == 1 && strcmp(qs[i].name, "h.sec.sign.test.") == 0;
			if (ldns_rr_list_compare(la, lb) != 0 ||
			    (!ds && ldns_rr_list_compare(ua, uu) != 0))
				fprintf(stderr, "%s %u: section %d differs\n", qs[i].name, qs[i].type,
					s);
			assert_int_equal(ldns_rr_list_compare(la, lb), 0);
			if (ds)
				assert_int_equal(ldns_rr_list_rr_count(ua),
						 ldns_rr_list_rr_count(uu) + 1);
			else
				assert_int_equal(ldns_rr_list_compare(ua, uu), 0);
			ldns_rr_list_deep_free(la);
			ldns_rr_list_deep_free(lb);
			ldns_rr_list_deep_free(ua);
			ldns_rr_list_deep_free(uu);
		}
		ldns_pkt_free(u);
		ldns_pkt_free(a);
		ldns_pkt_free(b);
	}
}

/* Denials at names of the longest lengths: Next is "\000.<name>" while that fits in 255
 * bytes (the NSEC the signer makes itself), another successor beyond; wildcard answers at
 * such names (owners longer than the signer keeps in its front cache). */
static void test_long_names(void **state)
{
	(void)state;
	load_keys();
	static const ldns_rr_type nx[] = { (ldns_rr_type)128 };
	for (size_t total = 251; total <= 255; total++) {
		/* labels of 63 and less under wild.sign.test. (16 bytes) up to total bytes */
		char name[400] = "";
		size_t left = total - 16, pos = 0;
		while (left > 0) {
			size_t l = left - 1 > 63 ? 63 : left - 1;
			if (left - (l + 1) == 1)
				l--;
			for (size_t k = 0; k < l; k++)
				name[pos++] = (char)('a' + (k % 26));
			name[pos++] = '.';
			left -= l + 1;
		}
		snprintf(name + pos, sizeof(name) - pos, "wild.sign.test.");
		for (int round = 0; round < 2; round++) { /* signed, then from the caches */
			ldns_pkt *r = ask(name, LDNS_RR_TYPE_TXT, NULL);
			assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
			expect_set(r, 0, name, LDNS_RR_TYPE_TXT, 1);
			assert_true(verify_all(r) >= 1);
			ldns_pkt_free(r);
		}
	}
	for (size_t total = 251; total <= 255; total++) {
		/* labels of 63 and less under sign.test. (11 bytes) up to total bytes */
		char name[400] = "";
		size_t left = total - 11, pos = 0;
		while (left > 0) {
			size_t l = left - 1 > 63 ? 63 : left - 1;
			if (left - (l + 1) == 1) /* no room for a label of one byte plus length */
				l--;
			for (size_t k = 0; k < l; k++)
				name[pos++] = (char)('a' + (k % 26));
			name[pos++] = '.';
			left -= l + 1;
		}
		snprintf(name + pos, sizeof(name) - pos, "sign.test.");
		ldns_rdf *dn = ldns_dname_new_frm_str(name);
		assert_non_null(dn);
		assert_int_equal(ldns_rdf_size(dn), total);
		ldns_rdf_deep_free(dn);
		ldns_pkt *r = ask(name, LDNS_RR_TYPE_A, NULL);
		assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
		assert_int_equal(verify_all(r), 2);
		if (total + 2 <= 255) {
			expect_nsec(r, name, nx, 1, 300);
		} else {
			assert_int_equal(count_type(r, 1, LDNS_RR_TYPE_NSEC), 1);
			expect_set(r, 1, name, LDNS_RR_TYPE_NSEC, 1);
		}
		ldns_pkt_free(r);
	}
}

/* An unsigned zone's response is left as it is. */
static void test_unsigned_zone(void **state)
{
	(void)state;
	uint8_t before[2048];
	qopt_t nodo = { .nodo = true };
	ldns_pkt *r = ask("www.plain.test.", LDNS_RR_TYPE_A, &nodo);
	assert_false(zsign_wanted(&res));
	assert_non_null(res.zone);
	size_t n = last_len;
	memcpy(before, buf, n);
	ldns_pkt_free(r);
	/* zsign_answer on it anyway: nothing changes */
	zsign_stats_t a = stats();
	qopt_t force = { .force = true };
	r = ask("www.plain.test.", LDNS_RR_TYPE_A, &force);
	ldns_pkt_free(r);
	assert_int_equal(stats().answers, a.answers);
	assert_int_equal(last_len, n);
	assert_memory_equal(buf, before, n);
	/* its TTLs are not capped */
	r = ask("www.plain.test.", LDNS_RR_TYPE_A, &nodo);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), 2000000);
	ldns_pkt_free(r);
}

/* A zone is shared with the previous snapshot only with the same keys. */
static void test_sharing(void **state)
{
	(void)state;
	dnssec_key_t *k[2] = { ksk, ksk2 };
	dnssec_key_t *pub[1] = { zsk_next };
	zdb_sec_src_t same = { .ksk = k, .n_ksk = 2, .zsk = zsk, .publish = pub, .n_publish = 1,
			       .dnskey_ttl = 7200 };
	zdb_t *d2 = NULL, *d3 = NULL, *d4 = NULL, *d5 = NULL;
	assert_int_equal(build(&same, db, &d2), ERR_OK);
	assert_int_equal(zdb_shared_count(d2), 2);
	/* the next ZSK becomes the signing one: compiled again */
	zdb_sec_src_t rolled = same;
	rolled.zsk = zsk_next;
	dnssec_key_t *pub2[1] = { zsk };
	rolled.publish = pub2;
	assert_int_equal(build(&rolled, d2, &d3), ERR_OK);
	assert_int_equal(zdb_shared_count(d3), 1);
	/* another DNSKEY TTL: compiled again */
	zdb_sec_src_t ttl = rolled;
	ttl.dnskey_ttl = 3600;
	assert_int_equal(build(&ttl, d3, &d4), ERR_OK);
	assert_int_equal(zdb_shared_count(d4), 1);
	/* no longer signed: compiled again, and answers carry no signature */
	assert_int_equal(build(NULL, d4, &d5), ERR_OK);
	assert_int_equal(zdb_shared_count(d5), 1);
	qopt_t o = { .nodo = false };
	ldns_pkt *r = askdb(d5, "www.sign.test.", LDNS_RR_TYPE_A, &o);
	assert_false(zsign_wanted(&res));
	assert_int_equal(count_type(r, 0, LDNS_RR_TYPE_RRSIG), 0);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), 2000000);
	ldns_pkt_free(r);
	/* the rolled snapshot signs with the new ZSK (keys held by the zone, not the test) */
	r = askdb(d3, "www.sign.test.", LDNS_RR_TYPE_A, &o);
	ldns_rdf *own = ldns_dname_new_frm_str("www.sign.test.");
	ldns_rr_list *sigs = sigs_in(r, 0, own, LDNS_RR_TYPE_A);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	assert_int_equal(ldns_rdf2native_int16(ldns_rr_rrsig_keytag(ldns_rr_list_rr(sigs, 0))),
			 dnssec_key_tag(zsk_next));
	ldns_rr_list_deep_free(sigs);
	ldns_rdf_deep_free(own);
	verify_all(r); /* the same four keys are served */
	ldns_pkt_free(r);
	zdb_free(d5);
	zdb_free(d4);
	zdb_free(d3);
	zdb_free(d2);
}

/* Private zones are never signed. */
static void test_private(void **state)
{
	(void)state;
	dnssec_key_t *k[1] = { ksk };
	zdb_sec_src_t sec = { .ksk = k, .n_ksk = 1, .zsk = zsk };
	zdb_src_t src = { .id = "/hostedzone/ZV", .name = "plain.test.", .zone_file = ppath,
			  .private_zone = true, .dnssec = &sec };
	zdb_opts_t o = { .cname_chasing = true, .edns_udp_size = 1232, .api_lenient = true };
	zdb_t *d = NULL, *u = NULL;
	char err[256] = "";
	assert_int_equal(zdb_build(&src, 1, &o, &d, err, sizeof(err)), ERR_OK);
	src.dnssec = NULL;
	assert_int_equal(zdb_build(&src, 1, &o, &u, err, sizeof(err)), ERR_OK);
	zdb_zone_info_t a, b;
	zdb_zone_info(d, 0, &a);
	zdb_zone_info(u, 0, &b);
	assert_int_equal(a.n_rrsets, b.n_rrsets); /* no DNSKEY RRset */
	assert_int_equal(a.n_records, b.n_records);
	zdb_free(d);
	zdb_free(u);
}

/* What signing costs: answers with DO (warm cache) against answers without. */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A counter of this thread's user-space instructions, or -1 (no perf events here). */
static int insn_counter(void)
{
	struct perf_event_attr pa;
	memset(&pa, 0, sizeof(pa));
	pa.type = PERF_TYPE_HARDWARE;
	pa.size = sizeof(pa);
	pa.config = PERF_COUNT_HW_INSTRUCTIONS;
	pa.exclude_kernel = 1;
	pa.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
}

static uint64_t insn_read(int fd)
{
	uint64_t v = 0;
	if (fd < 0 || read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

static void test_speed(void **state)
{
	(void)state;
	int pfd = insn_counter();
	const char *names[] = { "www.sign.test.", "mail.sign.test.", "nosuch.sign.test." };
	for (int n = 0; n < 3; n++) {
		ldns_rdf *dn = ldns_dname_new_frm_str(names[n]);
		zq_t q;
		memset(&q, 0, sizeof(q));
		size_t nl = ldns_rdf_size(dn);
		memcpy(q.qname, ldns_rdf_data(dn), nl);
		q.qnamelen = (uint8_t)nl;
		size_t i = 0;
		while (q.qname[i] != 0) {
			q.label_off[q.nlabels++] = (uint8_t)i;
			i += (size_t)q.qname[i] + 1;
		}
		q.label_off[q.nlabels] = (uint8_t)i;
		q.qtype = LDNS_RR_TYPE_A;
		q.qclass = LDNS_RR_CLASS_IN;
		ldns_rdf_deep_free(dn);
		memset(buf, 0, 12);
		memcpy(buf + 12, q.qname, nl);
		wire_set16(buf + 12 + nl, q.qtype);
		wire_set16(buf + 14 + nl, 1);
		size_t qend = 16 + nl;
		double dt[2], insn[2];
		const int rounds = 20000;
		for (int sign = 0; sign < 2; sign++) {
			uint64_t i0 = insn_read(pfd);
			double t0 = cpu_now();
			for (int k = 0; k < rounds; k++) {
				wire_t w;
				wire_init(&w, buf, qend, 1232);
				wire_remember(&w, WIRE_HDR, q.qname);
				zdb_answer(db, &q, rng, &w, &res);
				if (sign)
					zsign_answer(zs, db, &q, false, &w, qend, &res, now);
			}
			dt[sign] = (cpu_now() - t0) / rounds;
			insn[sign] = (double)(insn_read(pfd) - i0) / rounds;
		}
		if (pfd >= 0)
			print_message("%-18s A: without DO %.2f us %.0f insn, with DO (warm cache) "
				      "%.2f us %.0f insn: x%.1f\n", names[n], dt[0] * 1e6, insn[0],
				      dt[1] * 1e6, insn[1], dt[1] / dt[0]);
		else
			print_message("%-18s A: without DO %.2f us, with DO (warm cache) %.2f us: "
				      "x%.1f (no instruction counter here)\n", names[n],
				      dt[0] * 1e6, dt[1] * 1e6, dt[1] / dt[0]);
	}
	if (pfd >= 0)
		close(pfd);
}

/* A signed answer from a warm cache allocates nothing: positive, NXDOMAIN, NODATA,
 * referral. */
static void test_no_alloc(void **state)
{
	(void)state;
#ifdef R53D_COUNT_ALLOC
	static const char *const names[] = { "www.sign.test.", "nosuch.sign.test.",
					     "ent.sign.test.", "h.sec.sign.test.",
					     "sign.test." };
	static const uint16_t types[] = { 1, 1, 1, 1, 48 };
	zq_t q[5];
	for (int n = 0; n < 5; n++) {
		ldns_rdf *dn = ldns_dname_new_frm_str(names[n]);
		memset(&q[n], 0, sizeof(q[n]));
		size_t nl = ldns_rdf_size(dn);
		memcpy(q[n].qname, ldns_rdf_data(dn), nl);
		ldns_rdf_deep_free(dn);
		q[n].qnamelen = (uint8_t)nl;
		size_t i = 0;
		while (q[n].qname[i] != 0) {
			q[n].label_off[q[n].nlabels++] = (uint8_t)i;
			i += (size_t)q[n].qname[i] + 1;
		}
		q[n].label_off[q[n].nlabels] = (uint8_t)i;
		q[n].qtype = types[n];
		q[n].qclass = 1;
	}
	unsigned long before = 0;
	zsign_stats_t a = { 0 };
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			before = n_alloc;
			a = stats();
		}
		for (int k = 0; k < 200; k++) {
			const zq_t *qq = &q[k % 5];
			memset(buf, 0, 12);
			memcpy(buf + 12, qq->qname, qq->qnamelen);
			wire_set16(buf + 12 + qq->qnamelen, qq->qtype);
			wire_set16(buf + 14 + qq->qnamelen, 1);
			size_t qend = 16u + qq->qnamelen;
			wire_t w;
			wire_init(&w, buf, qend, 1232);
			wire_remember(&w, WIRE_HDR, qq->qname);
			zdb_answer(db, qq, rng, &w, &res);
			zsign_answer(zs, db, qq, false, &w, qend, &res, now);
			assert_false(res.tc);
			assert_true(res.an + res.ns > 0);
		}
	}
	zsign_stats_t b = stats();
	print_message("allocations in 200 signed answers from a warm cache: %lu\n",
		      n_alloc - before);
	assert_int_equal(n_alloc - before, 0);
	assert_true(before > 0); /* the counter counts (ldns, the build) */
	assert_int_equal(b.signatures, a.signatures);
	assert_true(b.cache_hits - a.cache_hits >= 400);
	assert_int_equal(b.answers - a.answers, 200);
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dnskey),
		cmocka_unit_test(test_positive),
		cmocka_unit_test(test_cache_shuffled),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_dname),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_any_tcp),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_truncated_rcode),
		cmocka_unit_test(test_nsec_query),
		cmocka_unit_test(test_rrsig_query),
		cmocka_unit_test(test_copy_and_rewrite),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_unsigned_zone),
		cmocka_unit_test(test_sharing),
		cmocka_unit_test(test_private),
		cmocka_unit_test(test_no_alloc),
		cmocka_unit_test(test_speed),
	};
	const char *only = getenv("ZSIGN_TEST_FILTER"); /* e.g. test_speed, for profiling */
	if (only != NULL)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, setup, teardown);
}
