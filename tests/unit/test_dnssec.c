/* SPDX-License-Identifier: MIT */
/*
 * test_dnssec.c -- zones/dnssec.c checked against ldns, never against itself: RRSIGs
 * over A/NS/MX/TXT/SOA/SRV/wildcard/DNSKEY RRsets verified with
 * ldns_verify_rrsig_keylist_time (and refused after tampering or with a wrong key), key
 * tags and DS against ldns_calc_keytag/ldns_key_rr2ds and the RFC 6605 example key,
 * the GetDNSSEC strings re-parsed by ldns, NSEC bitmaps against ldns's parse of the
 * presentation form, PKCS#8 round trips and the permission refusal, and the signature
 * cache's CLOCK eviction within its budget. Prints signatures per second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "dnssec.h"
#include "err.h"

#ifdef R53D_COUNT_ALLOC
/*
 * Counting allocator (plain builds only; sanitizers replace the allocator): every
 * malloc/calloc/realloc outside OpenSSL is counted in ours. OpenSSL is given its own
 * functions (CRYPTO_set_mem_functions, before anything else runs), counted apart, so a
 * test can show that r53d's signing and cache paths allocate nothing of their own.
 */
#include <openssl/crypto.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static unsigned long ours, ossl;

void *malloc(size_t n)
{
	ours++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	ours++;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	ours++;
	return __libc_realloc(p, n);
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	ossl++;
	return __libc_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	ossl++;
	return __libc_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	__libc_free(p);
}
#endif

/* A fixed "now" for validation: no wall clock in the tests. */
#define NOW 1764892800u /* 2025-12-05 00:00:00 UTC */
static const dnssec_validity_t VAL = { .inception = NOW - 3600, .expiration = NOW + 14 * 86400 };

static dnssec_key_t *ksk, *zsk;
static dnssec_signer_t *signer;

static int setup(void **state)
{
	(void)state;
	if (dnssec_key_generate(&ksk, DNSSEC_FLAGS_KSK) != ERR_OK ||
	    dnssec_key_generate(&zsk, DNSSEC_FLAGS_ZSK) != ERR_OK ||
	    dnssec_signer_new(&signer) != ERR_OK)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dnssec_signer_free(signer);
	dnssec_key_free(ksk);
	dnssec_key_free(zsk);
	return 0;
}

/* ---- ldns helpers ---- */

static ldns_rr *rr_str(const char *s)
{
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, s, 3600, NULL, NULL);
	if (st != LDNS_STATUS_OK)
		fail_msg("ldns cannot parse '%s': %s", s, ldns_get_errorstr_by_id(st));
	return rr;
}

/* Wire name of a presentation name (static buffer per call site is not needed: copies). */
static size_t wname(const char *s, uint8_t out[255])
{
	ldns_rdf *d = ldns_dname_new_frm_str(s);
	assert_non_null(d);
	size_t n = ldns_rdf_size(d);
	memcpy(out, ldns_rdf_data(d), n);
	ldns_rdf_deep_free(d);
	return n;
}

/* An RR from owner, type, ttl and wire rdata, parsed back by ldns. */
static ldns_rr *rr_wire(const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
			size_t rdlen)
{
	uint8_t buf[512 + 65535];
	size_t ol = 0;
	while (owner[ol] != 0)
		ol += owner[ol] + 1u;
	ol++;
	memcpy(buf, owner, ol);
	size_t p = ol;
	buf[p++] = (uint8_t)(type >> 8);
	buf[p++] = (uint8_t)type;
	buf[p++] = 0;
	buf[p++] = 1;
	buf[p++] = (uint8_t)(ttl >> 24);
	buf[p++] = (uint8_t)(ttl >> 16);
	buf[p++] = (uint8_t)(ttl >> 8);
	buf[p++] = (uint8_t)ttl;
	buf[p++] = (uint8_t)(rdlen >> 8);
	buf[p++] = (uint8_t)rdlen;
	memcpy(buf + p, rd, rdlen);
	p += rdlen;
	ldns_rr *rr = NULL;
	size_t pos = 0;
	ldns_status st = ldns_wire2rr(&rr, buf, p, &pos, LDNS_SECTION_ANSWER);
	if (st != LDNS_STATUS_OK)
		fail_msg("ldns_wire2rr: %s", ldns_get_errorstr_by_id(st));
	return rr;
}

static ldns_rr *dnskey_rr(const char *apex, const dnssec_key_t *k)
{
	uint8_t owner[255];
	wname(apex, owner);
	return rr_wire(owner, LDNS_RR_TYPE_DNSKEY, 3600, dnssec_key_dnskey(k), DNSSEC_DNSKEY_RDLEN);
}

/* The wire rdata of an ldns RR (caller frees *out). */
static size_t rr_rdata(const ldns_rr *rr, uint8_t **out)
{
	ldns_buffer *b = ldns_buffer_new(512);
	assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
	size_t n = ldns_buffer_position(b);
	*out = malloc(n + 1);
	memcpy(*out, ldns_buffer_begin(b), n);
	ldns_buffer_free(b);
	return n;
}

/*
 * Sign the RRset given as presentation lines (same owner and type) with key, and return
 * the RRSIG as an ldns RR; the records are passed to the signer as written (any order,
 * any case, duplicates included).
 */
static ldns_rr *sign_lines(const dnssec_key_t *key, const char *apex, const char *const *lines,
			   size_t n, uint8_t labels)
{
	const uint8_t *rd[64];
	uint16_t rl[64];
	uint8_t *bufs[64];
	ldns_rr *first = NULL;
	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = rr_str(lines[i]);
		rl[i] = (uint16_t)rr_rdata(rr, &bufs[i]);
		rd[i] = bufs[i];
		if (i == 0)
			first = rr;
		else
			ldns_rr_free(rr);
	}
	uint8_t owner[255], sname[255];
	memcpy(owner, ldns_rdf_data(ldns_rr_owner(first)), ldns_rdf_size(ldns_rr_owner(first)));
	wname(apex, sname);
	dnssec_rrset_t set = { .owner = owner,
			       .type = (uint16_t)ldns_rr_get_type(first),
			       .rclass = 1,
			       .ttl = ldns_rr_ttl(first),
			       .labels = labels,
			       .count = n,
			       .rdata = rd,
			       .rdlen = rl };
	uint8_t sig[DNSSEC_RRSIG_MAX];
	size_t siglen = 0;
	assert_int_equal(dnssec_sign(signer, key, sname, &set, &VAL, sig, sizeof(sig), &siglen),
			 ERR_OK);
	assert_int_equal(siglen, DNSSEC_RRSIG_FIXED + strlen(apex) + 1 + DNSSEC_SIG_LEN);
	ldns_rr *rrsig = rr_wire(owner, LDNS_RR_TYPE_RRSIG, set.ttl, sig, siglen);
	ldns_rr_free(first);
	for (size_t i = 0; i < n; i++)
		free(bufs[i]);
	return rrsig;
}

static ldns_rr_list *list_of(const char *const *lines, size_t n)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (size_t i = 0; i < n; i++)
		ldns_rr_list_push_rr(l, rr_str(lines[i]));
	return l;
}

/* ldns's verdict on rrset + rrsig with keys [k1, k2]. */
static ldns_status verify(ldns_rr_list *rrset, ldns_rr *rrsig, const char *apex,
			  const dnssec_key_t *k1, const dnssec_key_t *k2)
{
	ldns_rr_list *keys = ldns_rr_list_new();
	ldns_rr_list *good = ldns_rr_list_new();
	ldns_rr_list_push_rr(keys, dnskey_rr(apex, k1));
	if (k2 != NULL)
		ldns_rr_list_push_rr(keys, dnskey_rr(apex, k2));
	ldns_status st = ldns_verify_rrsig_keylist_time(rrset, rrsig, keys, NOW, good);
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_free(good);
	return st;
}

/* Sign lines, verify the set `check` (default: the same lines) with ldns. */
static ldns_status sign_verify(const dnssec_key_t *key, const char *apex,
			       const char *const *lines, size_t n, const char *const *check,
			       size_t ncheck, uint8_t labels)
{
	ldns_rr *rrsig = sign_lines(key, apex, lines, n, labels);
	ldns_rr_list *set = list_of(check != NULL ? check : lines, check != NULL ? ncheck : n);
	ldns_status st = verify(set, rrsig, apex, key, NULL);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(rrsig);
	return st;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void name_n(uint8_t *out, unsigned i, const char *zone);

/* ---- signing ---- */

static void test_sign_a_shuffled(void **state)
{
	(void)state;
	static const char *const a[] = {
		"shop.example.com. 300 IN A 192.0.2.22", "shop.example.com. 300 IN A 192.0.2.3",
		"shop.example.com. 300 IN A 192.0.2.200", "shop.example.com. 300 IN A 10.0.0.1",
		"shop.example.com. 300 IN A 192.0.2.21",
	};
	assert_int_equal(sign_verify(zsk, "example.com.", a, N(a), NULL, 0, 0), LDNS_STATUS_OK);

	/* The RRSIG's fields are what was asked. */
	ldns_rr *rrsig = sign_lines(zsk, "example.com.", a, N(a), 0);
	assert_int_equal(ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rrsig)), LDNS_RR_TYPE_A);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_algorithm(rrsig)), 13);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(rrsig)), 3);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rrsig_origttl(rrsig)), 300);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rrsig_inception(rrsig)), VAL.inception);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rrsig_expiration(rrsig)), VAL.expiration);
	assert_int_equal(ldns_rdf2native_int16(ldns_rr_rrsig_keytag(rrsig)), dnssec_key_tag(zsk));
	assert_int_equal(ldns_rdf_size(ldns_rr_rrsig_sig(rrsig)), 64);

	/* The test can fail: another record, another key, a flipped signature bit. */
	ldns_rr_list *set = list_of(a, N(a));
	assert_int_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	assert_int_not_equal(verify(set, rrsig, "example.com.", ksk, NULL), LDNS_STATUS_OK);
	ldns_rr *bad = rr_str("shop.example.com. 300 IN A 192.0.2.23");
	ldns_rr_free(ldns_rr_list_set_rr(set, bad, 0));
	assert_int_not_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	ldns_rr_list_deep_free(set);
	set = list_of(a, N(a));
	ldns_rdf *s = ldns_rr_rrsig_sig(rrsig);
	ldns_rdf_data(s)[10] ^= 1;
	assert_int_not_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(rrsig);

	/* The original TTL is signed: changing it in the RRSIG fails. */
	rrsig = sign_lines(zsk, "example.com.", a, N(a), 0);
	set = list_of(a, N(a));
	ldns_rdf *ottl = ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, 301);
	ldns_rdf_deep_free(ldns_rr_set_rdf(rrsig, ottl, 3));
	assert_int_not_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(rrsig);
}

static void test_sign_duplicates(void **state)
{
	(void)state;
	static const char *const dup[] = {
		"d.example.com. 60 IN A 192.0.2.2", "d.example.com. 60 IN A 192.0.2.1",
		"d.example.com. 60 IN A 192.0.2.2", "d.example.com. 60 IN A 192.0.2.1",
	};
	static const char *const uniq[] = { "d.example.com. 60 IN A 192.0.2.1",
					    "d.example.com. 60 IN A 192.0.2.2" };
	/* ldns hashes what it is given: only the de-duplicated set matches our signature. */
	assert_int_equal(sign_verify(zsk, "example.com.", dup, N(dup), uniq, N(uniq), 0),
			 LDNS_STATUS_OK);
	assert_int_not_equal(sign_verify(zsk, "example.com.", dup, N(dup), dup, N(dup), 0),
			     LDNS_STATUS_OK);
}

static void test_sign_ns_mixed_case(void **state)
{
	(void)state;
	static const char *const ns[] = {
		"Example.COM. 172800 IN NS NS-1822.AwsDns-35.CO.UK.",
		"Example.COM. 172800 IN NS ns-314.awsdns-39.com.",
		"Example.COM. 172800 IN NS Ns-524.AWSDNS-01.net.",
		"Example.COM. 172800 IN NS ns-1293.awsdns-33.ORG.",
	};
	static const char *const lower[] = {
		"example.com. 172800 IN NS ns-1822.awsdns-35.co.uk.",
		"example.com. 172800 IN NS ns-314.awsdns-39.com.",
		"example.com. 172800 IN NS ns-524.awsdns-01.net.",
		"example.com. 172800 IN NS ns-1293.awsdns-33.org.",
	};
	assert_int_equal(sign_verify(zsk, "EXAMPLE.com.", ns, N(ns), NULL, 0, 0), LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "example.com.", ns, N(ns), lower, N(lower), 0),
			 LDNS_STATUS_OK);
	/* The signer name is written lower-cased. */
	ldns_rr *rrsig = sign_lines(zsk, "EXAMPLE.com.", ns, N(ns), 0);
	char *sn = ldns_rdf2str(ldns_rr_rrsig_signame(rrsig));
	assert_string_equal(sn, "example.com.");
	free(sn);
	ldns_rr_free(rrsig);
}

static void test_sign_types(void **state)
{
	(void)state;
	static const char *const mx[] = {
		"example.com. 300 IN MX 20 MX2.Example.com.",
		"example.com. 300 IN MX 10 mx1.EXAMPLE.com.",
		"example.com. 300 IN MX 10 mx0.example.com.",
	};
	static const char *const txt[] = {
		"example.com. 300 IN TXT \"v=spf1 include:_spf.Example.com ~all\"",
		"example.com. 300 IN TXT \"Hello\" \"World\"",
		"example.com. 300 IN TXT \"\"",
	};
	static const char *const soa[] = {
		"example.com. 900 IN SOA NS-314.awsdns-39.com. AWSDNS-Hostmaster.Amazon.com. 1 7200 "
		"900 1209600 86400",
	};
	static const char *const srv[] = {
		"_sip._tcp.example.com. 300 IN SRV 10 60 5060 SIP.Example.com.",
		"_sip._tcp.example.com. 300 IN SRV 10 20 5060 sip2.example.com.",
	};
	static const char *const cname[] = { "www.example.com. 300 IN CNAME Shop.EXAMPLE.com." };
	static const char *const aaaa[] = { "v6.example.com. 300 IN AAAA 2001:db8::2",
					    "v6.example.com. 300 IN AAAA 2001:db8::1" };
	static const char *const caa[] = { "example.com. 300 IN CAA 0 issue \"Amazon.com\"" };
	static const char *const naptr[] = {
		"n.example.com. 300 IN NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _SIP._udp.Example.com.",
	};
	static const char *const ptr[] = { "1.2.0.192.in-addr.arpa. 300 IN PTR Host.Example.COM." };
	assert_int_equal(sign_verify(zsk, "example.com.", mx, N(mx), NULL, 0, 0), LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "example.com.", txt, N(txt), NULL, 0, 0), LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "example.com.", soa, N(soa), NULL, 0, 0), LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "example.com.", srv, N(srv), NULL, 0, 0), LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "example.com.", cname, N(cname), NULL, 0, 0),
			 LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "example.com.", aaaa, N(aaaa), NULL, 0, 0),
			 LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "example.com.", caa, N(caa), NULL, 0, 0), LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "example.com.", naptr, N(naptr), NULL, 0, 0),
			 LDNS_STATUS_OK);
	assert_int_equal(sign_verify(zsk, "2.0.192.in-addr.arpa.", ptr, N(ptr), NULL, 0, 0),
			 LDNS_STATUS_OK);

	/* TXT keeps its case: a lower-cased copy must not verify. */
	static const char *const txt_lc[] = {
		"example.com. 300 IN TXT \"v=spf1 include:_spf.example.com ~all\"",
		"example.com. 300 IN TXT \"Hello\" \"World\"",
		"example.com. 300 IN TXT \"\"",
	};
	assert_int_not_equal(sign_verify(zsk, "example.com.", txt, N(txt), txt_lc, N(txt_lc), 0),
			     LDNS_STATUS_OK);
}

static void test_sign_wildcard(void **state)
{
	(void)state;
	/* Route 53 signs a wildcard answer for the name asked: labels = that name's count. */
	static const char *const asked[] = { "deep.Sub.example.com. 60 IN A 192.0.2.7" };
	ldns_rr *rrsig = sign_lines(zsk, "example.com.", asked, 1, 0);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(rrsig)), 4);
	ldns_rr_list *set = list_of(asked, 1);
	assert_int_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(rrsig);

	/* A classic wildcard signature (labels 2 over *.example.com) also verifies. */
	rrsig = sign_lines(zsk, "example.com.", asked, 1, 2);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(rrsig)), 2);
	set = list_of(asked, 1);
	assert_int_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(rrsig);

	/* The literal wildcard owner: labels excludes the "*". */
	static const char *const star[] = { "*.example.com. 60 IN A 192.0.2.8" };
	rrsig = sign_lines(zsk, "example.com.", star, 1, 0);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(rrsig)), 2);
	set = list_of(star, 1);
	assert_int_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(rrsig);

	/* More labels than the owner has is refused. */
	uint8_t owner[255], apex[255], sig[DNSSEC_RRSIG_MAX];
	wname("a.example.com.", owner);
	wname("example.com.", apex);
	const uint8_t rd[4] = { 192, 0, 2, 1 };
	const uint8_t *rdp[1] = { rd };
	const uint16_t rl[1] = { 4 };
	dnssec_rrset_t set1 = { .owner = owner, .type = 1, .rclass = 1, .ttl = 60, .labels = 4,
				.count = 1, .rdata = rdp, .rdlen = rl };
	size_t len;
	assert_int_equal(dnssec_sign(signer, zsk, apex, &set1, &VAL, sig, sizeof(sig), &len),
			 ERR_INVAL);
	set1.labels = 0;
	assert_int_equal(dnssec_sign(signer, zsk, apex, &set1, &VAL, sig, 50, &len), ERR_LIMIT);
	set1.count = 0;
	assert_int_equal(dnssec_sign(signer, zsk, apex, &set1, &VAL, sig, sizeof(sig), &len),
			 ERR_INVAL);
}

static void test_sign_dnskey_ksk(void **state)
{
	(void)state;
	/* The apex DNSKEY RRset (KSK + ZSK) signed by the KSK, verified with the KSK only. */
	ldns_rr *k1 = dnskey_rr("example.com.", ksk), *k2 = dnskey_rr("example.com.", zsk);
	char *s1 = ldns_rr2str(k1), *s2 = ldns_rr2str(k2);
	s1[strcspn(s1, "\n")] = '\0';
	s2[strcspn(s2, "\n")] = '\0';
	const char *const lines[] = { s2, s1 };
	ldns_rr *rrsig = sign_lines(ksk, "example.com.", lines, 2, 0);
	assert_int_equal(ldns_rdf2native_int16(ldns_rr_rrsig_keytag(rrsig)), dnssec_key_tag(ksk));
	ldns_rr_list *set = list_of(lines, 2);
	ldns_rr_list *keys = ldns_rr_list_new(), *good = ldns_rr_list_new();
	ldns_rr_list_push_rr(keys, ldns_rr_clone(k1));
	assert_int_equal(ldns_verify_rrsig_keylist_time(set, rrsig, keys, NOW, good),
			 LDNS_STATUS_OK);
	assert_int_equal(ldns_rr_list_rr_count(good), 1);
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_free(good);
	/* The ZSK did not sign it. */
	assert_int_not_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(rrsig);
	ldns_rr_free(k1);
	ldns_rr_free(k2);
	free(s1);
	free(s2);
}

/* Many RRsets with several keys through one signer (sign contexts are replaced). */
static void test_sign_many_keys(void **state)
{
	(void)state;
	dnssec_key_t *keys[6];
	for (int i = 0; i < 6; i++)
		assert_int_equal(dnssec_key_generate(&keys[i], DNSSEC_FLAGS_ZSK), ERR_OK);
	for (int round = 0; round < 60; round++) {
		char line[128];
		snprintf(line, sizeof(line), "h%d.example.org. 60 IN A 198.51.100.%d", round, round);
		const char *const lines[] = { line };
		const dnssec_key_t *k = keys[(round * 7) % 6];
		ldns_rr *rrsig = sign_lines(k, "example.org.", lines, 1, 0);
		ldns_rr_list *set = list_of(lines, 1);
		assert_int_equal(verify(set, rrsig, "example.org.", k, NULL), LDNS_STATUS_OK);
		const dnssec_key_t *other = keys[(round * 7 + 1) % 6];
		assert_int_not_equal(verify(set, rrsig, "example.org.", other, NULL),
				     LDNS_STATUS_OK);
		ldns_rr_list_deep_free(set);
		ldns_rr_free(rrsig);
	}
	for (int i = 0; i < 6; i++)
		dnssec_key_free(keys[i]);
}

/* A large RRset (merge sort over many passes) and malformed rdata. */
static void test_sign_large_and_bad(void **state)
{
	(void)state;
	enum { NREC = 300 };
	uint8_t rd[NREC][4];
	const uint8_t *rdp[NREC];
	uint16_t rl[NREC];
	ldns_rr_list *set = ldns_rr_list_new();
	for (unsigned i = 0; i < NREC; i++) {
		unsigned v = (i * 7919u) % NREC; /* a permutation: shuffled order */
		rd[i][0] = 10;
		rd[i][1] = (uint8_t)(v >> 8);
		rd[i][2] = (uint8_t)v;
		rd[i][3] = (uint8_t)(v * 13);
		rdp[i] = rd[i];
		rl[i] = 4;
		char line[96];
		snprintf(line, sizeof(line), "big.example.com. 60 IN A 10.%u.%u.%u", rd[i][1],
			 rd[i][2], rd[i][3]);
		ldns_rr_list_push_rr(set, rr_str(line));
	}
	uint8_t owner[255], apex[255], sig[DNSSEC_RRSIG_MAX];
	wname("big.example.com.", owner);
	wname("example.com.", apex);
	dnssec_rrset_t rs = { .owner = owner, .type = 1, .rclass = 1, .ttl = 60, .count = NREC,
			      .rdata = rdp, .rdlen = rl };
	size_t len;
	assert_int_equal(dnssec_sign(signer, zsk, apex, &rs, &VAL, sig, sizeof(sig), &len), ERR_OK);
	ldns_rr *rrsig = rr_wire(owner, LDNS_RR_TYPE_RRSIG, 60, sig, len);
	assert_int_equal(verify(set, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
	ldns_rr_free(rrsig);
	ldns_rr_list_deep_free(set);

	rs.count = DNSSEC_RRSET_MAX + 1;
	assert_int_equal(dnssec_sign(signer, zsk, apex, &rs, &VAL, sig, sizeof(sig), &len),
			 ERR_LIMIT);

	/* Names inside rdata that run past the end, or use compression, are refused. */
	static const uint8_t mx_short[] = { 0, 10, 4, 'm', 'a', 'i', 'l' };
	static const uint8_t ns_ptr[] = { 0xc0, 0x0c };
	static const uint8_t soa_short[] = { 1, 'a', 0, 1, 'b' };
	static const uint8_t srv_short[] = { 0, 1, 0, 2 };
	struct {
		const uint8_t *rd;
		uint16_t type;
		uint16_t len;
	} bad[] = { { mx_short, 15, sizeof(mx_short) }, { ns_ptr, 2, sizeof(ns_ptr) },
		    { soa_short, 6, sizeof(soa_short) }, { srv_short, 33, sizeof(srv_short) } };
	for (size_t i = 0; i < N(bad); i++) {
		const uint8_t *bp[1] = { bad[i].rd };
		const uint16_t bl[1] = { bad[i].len };
		dnssec_rrset_t b = { .owner = owner, .type = bad[i].type, .rclass = 1, .ttl = 60,
				     .count = 1, .rdata = bp, .rdlen = bl };
		assert_int_equal(dnssec_sign(signer, zsk, apex, &b, &VAL, sig, sizeof(sig), &len),
				 ERR_INVAL);
	}
}

/*
 * About one signature in 128 has an r or s with a leading zero octet, which DER writes
 * shorter: sign until several such have been seen, and have ldns verify each of them.
 */
static void test_sign_short_rs(void **state)
{
	(void)state;
	uint8_t owner[255], apex[255], sig[DNSSEC_RRSIG_MAX];
	wname("example.com.", apex);
	const uint8_t rd[4] = { 192, 0, 2, 99 };
	const uint8_t *rdp[1] = { rd };
	const uint16_t rl[1] = { 4 };
	const size_t sigoff = DNSSEC_RRSIG_FIXED + 13; /* "example.com." is 13 octets */
	int seen = 0;
	for (unsigned i = 0; i < 20000 && seen < 4; i++) {
		name_n(owner, i, "example.com.");
		dnssec_rrset_t set = { .owner = owner, .type = 1, .rclass = 1, .ttl = 60,
				       .count = 1, .rdata = rdp, .rdlen = rl };
		size_t len;
		assert_int_equal(dnssec_sign(signer, zsk, apex, &set, &VAL, sig, sizeof(sig), &len),
				 ERR_OK);
		assert_int_equal(len, sigoff + 64);
		if (sig[sigoff] != 0 && sig[sigoff + 32] != 0 && i % 50 != 0)
			continue;
		if (sig[sigoff] == 0 || sig[sigoff + 32] == 0)
			seen++;
		char line[128];
		snprintf(line, sizeof(line), "n%u.example.com. 60 IN A 192.0.2.99", i);
		const char *const lines[] = { line };
		ldns_rr_list *l = list_of(lines, 1);
		ldns_rr *rrsig = rr_wire(owner, LDNS_RR_TYPE_RRSIG, 60, sig, len);
		assert_int_equal(verify(l, rrsig, "example.com.", zsk, NULL), LDNS_STATUS_OK);
		ldns_rr_free(rrsig);
		ldns_rr_list_deep_free(l);
	}
	assert_int_equal(seen, 4);
}

static void test_validity(void **state)
{
	(void)state;
	dnssec_validity_t v, w;
	dnssec_validity_at(NOW + 5, DNSSEC_WINDOW_PERIOD, DNSSEC_WINDOW_SKEW,
			   DNSSEC_WINDOW_LIFETIME, &v);
	assert_int_equal(v.inception, NOW - 3600);
	assert_int_equal(v.expiration, NOW + 14 * 86400);
	/* The same window all day long, a new one the next day. */
	dnssec_validity_at(NOW + 86399, DNSSEC_WINDOW_PERIOD, DNSSEC_WINDOW_SKEW,
			   DNSSEC_WINDOW_LIFETIME, &w);
	assert_memory_equal(&v, &w, sizeof(v));
	dnssec_validity_at(NOW + 86400, DNSSEC_WINDOW_PERIOD, DNSSEC_WINDOW_SKEW,
			   DNSSEC_WINDOW_LIFETIME, &w);
	assert_int_equal(w.inception, v.inception + 86400);
	/* Remaining validity always exceeds the one-week TTL cap. */
	assert_true(w.expiration - (NOW + 86400 + 86399) > 7 * 86400);
	/* After 2106 the 32-bit fields wrap (serial arithmetic). */
	dnssec_validity_at((uint64_t)86400 * 49711 + 10, 86400, 3600, 14 * 86400, &w);
	assert_int_equal(w.inception, (uint64_t)86400 * 49711 - 3600 - ((uint64_t)1 << 32));
}

/* ---- key tag, DS, presentation ---- */

static void check_key_against_ldns(const dnssec_key_t *k, const char *apex)
{
	ldns_rr *rr = dnskey_rr(apex, k);
	assert_int_equal(ldns_calc_keytag(rr), dnssec_key_tag(k));
	assert_int_equal(dnssec_keytag(dnssec_key_dnskey(k), DNSSEC_DNSKEY_RDLEN),
			 dnssec_key_tag(k));
	ldns_rr *ds = ldns_key_rr2ds(rr, LDNS_SHA256);
	assert_non_null(ds);
	uint8_t *want;
	size_t wl = rr_rdata(ds, &want);
	uint8_t owner[255], got[DNSSEC_DS_RDLEN];
	wname(apex, owner);
	assert_int_equal(dnssec_ds(owner, dnssec_key_dnskey(k), DNSSEC_DNSKEY_RDLEN, got), ERR_OK);
	assert_int_equal(wl, DNSSEC_DS_RDLEN);
	assert_memory_equal(got, want, DNSSEC_DS_RDLEN);

	/* GetDNSSEC strings: parse them back with ldns and compare with the records. */
	dnssec_present_t p;
	assert_int_equal(dnssec_key_present(k, owner, &p), ERR_OK);
	assert_int_equal(p.key_tag, dnssec_key_tag(k));
	assert_int_equal(p.flag, dnssec_key_flags(k));
	assert_string_equal(p.signing_alg_mnemonic, "ECDSAP256SHA256");
	assert_int_equal(p.signing_alg_type, 13);
	assert_string_equal(p.digest_alg_mnemonic, "SHA-256");
	assert_int_equal(p.digest_alg_type, 2);
	assert_int_equal(strlen(p.digest_value), 64);
	assert_int_equal(strspn(p.digest_value, "0123456789ABCDEF"), 64);
	char line[512];
	snprintf(line, sizeof(line), "%s 3600 IN DS %s", apex, p.ds_record);
	ldns_rr *ds2 = rr_str(line);
	assert_int_equal(ldns_rr_compare(ds, ds2), 0);
	char want_ds[128];
	snprintf(want_ds, sizeof(want_ds), "%u 13 2 %s", dnssec_key_tag(k), p.digest_value);
	assert_string_equal(p.ds_record, want_ds);
	snprintf(line, sizeof(line), "%s 3600 IN DNSKEY %s", apex, p.dnskey_record);
	ldns_rr *k2 = rr_str(line);
	assert_int_equal(ldns_rr_compare(rr, k2), 0);
	snprintf(line, sizeof(line), "%u 3 13 %s", dnssec_key_flags(k), p.public_key);
	assert_string_equal(p.dnskey_record, line);
	ldns_rdf *pub = NULL;
	assert_int_equal(ldns_str2rdf_b64(&pub, p.public_key), LDNS_STATUS_OK);
	assert_int_equal(ldns_rdf_size(pub), 64);
	assert_memory_equal(ldns_rdf_data(pub), dnssec_key_dnskey(k) + 4, 64);
	ldns_rdf_deep_free(pub);
	ldns_rr_free(k2);
	ldns_rr_free(ds2);
	ldns_rr_free(ds);
	ldns_rr_free(rr);
	free(want);
}

static void test_keytag_ds(void **state)
{
	(void)state;
	check_key_against_ldns(ksk, "example.com.");
	check_key_against_ldns(zsk, "Example.COM.");
	assert_int_equal(dnssec_key_flags(ksk), 257);
	assert_int_equal(dnssec_key_flags(zsk), 256);
	assert_int_equal(dnssec_key_dnskey(ksk)[0], 1);
	assert_int_equal(dnssec_key_dnskey(ksk)[1], 1);
	assert_int_equal(dnssec_key_dnskey(ksk)[2], 3);
	assert_int_equal(dnssec_key_dnskey(ksk)[3], 13);
}

/*
 * RFC 6605 6.1: the example P-256 key. ldns reads the BIND private key, OpenSSL writes it
 * as PKCS#8, we read that: DNSKEY, key tag 55648 and the DS digest must be the RFC's.
 */
static void test_rfc6605_vector(void **state)
{
	(void)state;
	static const char priv[] = "Private-key-format: v1.2\n"
				   "Algorithm: 13 (ECDSAP256SHA256)\n"
				   "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";
	FILE *f = fmemopen((void *)priv, sizeof(priv) - 1, "r");
	assert_non_null(f);
	ldns_key *lk = NULL;
	assert_int_equal(ldns_key_new_frm_fp(&lk, f), LDNS_STATUS_OK);
	fclose(f);
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, ldns_key_evp_key(lk), NULL, NULL, 0,
						       NULL, NULL),
			 1);
	char *pem = NULL;
	long pl = BIO_get_mem_data(bio, &pem);
	dnssec_key_t *k = NULL;
	assert_int_equal(dnssec_key_from_pem(&k, pem, (size_t)pl, DNSSEC_FLAGS_KSK), ERR_OK);
	BIO_free(bio);

	ldns_rr *want = rr_str("example.net. 3600 IN DNSKEY 257 3 13 "
			       "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb"
			       "krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==");
	uint8_t *wd;
	size_t wl = rr_rdata(want, &wd);
	assert_int_equal(wl, DNSSEC_DNSKEY_RDLEN);
	assert_memory_equal(dnssec_key_dnskey(k), wd, wl);
	assert_int_equal(dnssec_key_tag(k), 55648);
	uint8_t owner[255];
	wname("example.net.", owner);
	dnssec_present_t p;
	assert_int_equal(dnssec_key_present(k, owner, &p), ERR_OK);
	assert_string_equal(p.ds_record, "55648 13 2 B4C8C1FE2E7477127B27115656AD6256F424625BF5C1"
					 "E2770CE6D6E37DF61D17");
	free(wd);
	ldns_rr_free(want);
	ldns_key_deep_free(lk);
	dnssec_key_free(k);
}

/* ---- NSEC ---- */

static void nsec_check(const char *owner_s, const uint16_t *types, size_t n, const char *pres)
{
	uint8_t owner[255], rd[DNSSEC_NSEC_MAX];
	size_t len = 0;
	wname(owner_s, owner);
	assert_int_equal(dnssec_nsec_rdata(owner, types, n, rd, sizeof(rd), &len), ERR_OK);
	char line[1024];
	snprintf(line, sizeof(line), "%s 3600 IN NSEC %s", owner_s, pres);
	ldns_rr *rr = rr_str(line);
	uint8_t *want;
	size_t wl = rr_rdata(rr, &want);
	if (wl != len || memcmp(want, rd, len) != 0)
		fail_msg("NSEC for %s: bytes differ from ldns's '%s'", owner_s, pres);
	ldns_rr_free(rr);
	free(want);
}

static void test_nsec_bitmap(void **state)
{
	(void)state;
	static const uint16_t nx[] = { DNSSEC_TYPE_NXNAME };
	nsec_check("x.example.", nx, 1, "\\000.x.example. RRSIG NSEC TYPE128");
	nsec_check("nothere.securecart.test.", nx, 1,
		   "\\000.nothere.securecart.test. RRSIG NSEC TYPE128");
	static const uint16_t nodata[] = { 1, 15, 16, 28, 257, 1234, 65534, 1 };
	nsec_check("www.example.", nodata, N(nodata),
		   "\\000.www.example. A MX TXT AAAA RRSIG NSEC CAA TYPE1234 TYPE65534");
	nsec_check("ent.example.", NULL, 0, "\\000.ent.example. RRSIG NSEC");
	static const uint16_t apex[] = { 6, 2, 48, 46 };
	nsec_check("Example.", apex, N(apex), "\\000.example. NS SOA RRSIG NSEC DNSKEY");
	static const uint16_t hi[] = { 255, 0, 256 };
	nsec_check("h.example.", hi, N(hi), "\\000.h.example. TYPE0 RRSIG NSEC TYPE255 TYPE256");

	/* dnssec_type_bitmap alone, and a too-small buffer. */
	static const uint16_t t[] = { 47, 46, 128 };
	uint8_t bm[64];
	size_t bl;
	assert_int_equal(dnssec_type_bitmap(t, N(t), bm, sizeof(bm), &bl), ERR_OK);
	/* window 0, 17 bytes; 46 = RRSIG and 47 = NSEC: byte 5, bits 6 and 7; 128: byte 16 */
	uint8_t w2[2 + 17] = { 0, 17 };
	w2[2 + 5] = 0x03;
	w2[2 + 16] = 0x80;
	assert_int_equal(bl, sizeof(w2));
	assert_memory_equal(bm, w2, sizeof(w2));
	assert_int_equal(dnssec_type_bitmap(t, N(t), bm, 5, &bl), ERR_LIMIT);
}

static void test_nsec_successor(void **state)
{
	(void)state;
	uint8_t name[255], succ[255];
	size_t len;
	/* Short: "\000.name", lower-cased. */
	size_t nl = wname("A.Example.", name);
	assert_int_equal(dnssec_name_successor(name, succ, sizeof(succ), &len), ERR_OK);
	assert_int_equal(len, nl + 2);
	assert_memory_equal(succ, "\001\000\001a\007example\000", len);

	/*
	 * Names near the limit (a first label of f octets, then three of 63): 250..253 get
	 * "\000.", 254 a lengthened first label, 255 an incremented one. Each successor
	 * sorts after the name in ldns's canonical order.
	 */
	for (size_t total = 250; total <= 255; total++) {
		uint8_t n[255];
		size_t f = total - 193 - 1, p = 0;
		n[p] = (uint8_t)f;
		memset(n + 1, 'z', f);
		p += f + 1;
		for (int i = 0; i < 3; i++) {
			n[p] = 63;
			memset(n + p + 1, 'q', 63);
			p += 64;
		}
		n[p++] = 0;
		assert_int_equal(p, total);
		assert_int_equal(dnssec_name_successor(n, succ, sizeof(succ), &len), ERR_OK);
		if (total <= 253) {
			assert_int_equal(len, total + 2);
			assert_memory_equal(succ, "\001\000", 2);
		} else if (total == 254) {
			assert_int_equal(len, 255);
			assert_int_equal(succ[0], f + 1);
			assert_int_equal(succ[f + 1], 0);
		} else {
			assert_int_equal(len, 255);
			assert_int_equal(succ[f], '{'); /* 'z' + 1 */
		}
		assert_memory_equal(succ + len - 193, n + p - 193, 193);
		ldns_rdf *na = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, p, n);
		ldns_rdf *nb = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, succ);
		assert_non_null(na);
		assert_non_null(nb);
		assert_true(ldns_dname_compare(na, nb) < 0);
		ldns_rdf_deep_free(na);
		ldns_rdf_deep_free(nb);
	}

	/* A 255-byte name with a 63-octet first label: its last octet is incremented. */
	uint8_t m[255];
	size_t p = 0;
	static const int lens[] = { 63, 63, 63, 61 }; /* 3 * 64 + 62 + root = 255 */
	for (int i = 0; i < 4; i++) {
		m[p] = (uint8_t)lens[i];
		memset(m + p + 1, 'b', (size_t)lens[i]);
		p += (size_t)lens[i] + 1;
	}
	m[p++] = 0;
	assert_int_equal(p, 255);
	assert_int_equal(dnssec_name_successor(m, succ, sizeof(succ), &len), ERR_OK);
	assert_int_equal(len, 255);
	assert_int_equal(succ[63], 'c');
	assert_memory_equal(succ + 64, m + 64, 255 - 64);
	/* '@' increments past the upper-case letters to '['. */
	m[63] = '@';
	assert_int_equal(dnssec_name_successor(m, succ, sizeof(succ), &len), ERR_OK);
	assert_int_equal(succ[63], '[');
	/* All 0xff in the first label: the octet before the trailing 0xff run is bumped. */
	memset(m + 1, 0xff, 63);
	m[1] = 'a';
	assert_int_equal(dnssec_name_successor(m, succ, sizeof(succ), &len), ERR_OK);
	assert_int_equal(succ[0], 1);
	assert_int_equal(succ[1], 'b');
	assert_int_equal(len, 2 + 255 - 64);
}

/* The compact NXDOMAIN answer verifies: NSEC at the qname signed by the ZSK. */
static void test_nsec_signed(void **state)
{
	(void)state;
	static const uint16_t nx[] = { DNSSEC_TYPE_NXNAME };
	uint8_t owner[255], rd[DNSSEC_NSEC_MAX];
	size_t len;
	wname("nothere.example.com.", owner);
	assert_int_equal(dnssec_nsec_rdata(owner, nx, 1, rd, sizeof(rd), &len), ERR_OK);
	ldns_rr *nsec = rr_wire(owner, LDNS_RR_TYPE_NSEC, 900, rd, len);
	char *s = ldns_rr2str(nsec);
	s[strcspn(s, "\n")] = '\0';
	const char *const lines[] = { s };
	assert_int_equal(sign_verify(zsk, "example.com.", lines, 1, NULL, 0, 0), LDNS_STATUS_OK);
	/* ldns agrees the NSEC covers nothing but the name itself and shows NXNAME. */
	assert_true(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), 128));
	assert_true(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_NSEC));
	assert_false(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_A));
	free(s);
	ldns_rr_free(nsec);
}

/* ---- keys: PKCS#8 and permissions ---- */

static char tmpdir[64];

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_pem_roundtrip(void **state)
{
	(void)state;
	char *pem = NULL;
	size_t pl = 0;
	assert_int_equal(dnssec_key_to_pem(ksk, &pem, &pl), ERR_OK);
	assert_int_equal(strlen(pem), pl);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	dnssec_key_t *k2 = NULL;
	assert_int_equal(dnssec_key_from_pem(&k2, pem, pl, DNSSEC_FLAGS_KSK), ERR_OK);
	assert_memory_equal(dnssec_key_dnskey(k2), dnssec_key_dnskey(ksk), DNSSEC_DNSKEY_RDLEN);
	assert_int_equal(dnssec_key_id(k2), dnssec_key_id(ksk));
	assert_int_not_equal(dnssec_key_id(zsk), dnssec_key_id(ksk));

	/* The re-read key signs, and ldns verifies with the original's DNSKEY. */
	static const char *const a[] = { "r.example.com. 60 IN A 192.0.2.9" };
	assert_int_equal(sign_verify(k2, "example.com.", a, 1, NULL, 0, 0), LDNS_STATUS_OK);
	ldns_rr *rrsig = sign_lines(k2, "example.com.", a, 1, 0);
	ldns_rr_list *set = list_of(a, 1);
	assert_int_equal(verify(set, rrsig, "example.com.", ksk, NULL), LDNS_STATUS_OK);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(rrsig);

	/* The same key as a ZSK: same public key, flags 256, another tag. */
	dnssec_key_t *z = NULL;
	assert_int_equal(dnssec_key_from_pem(&z, pem, pl, DNSSEC_FLAGS_ZSK), ERR_OK);
	assert_int_equal(dnssec_key_dnskey(z)[1], 0);
	assert_memory_equal(dnssec_key_dnskey(z) + 4, dnssec_key_dnskey(ksk) + 4, 64);
	dnssec_key_free(z);

	/* Files: 0600 loads; group or world bits are refused, naming the file. */
	char path[128], err[512];
	snprintf(path, sizeof(path), "%s/ksk.pem", tmpdir);
	write_file(path, pem, pl, 0600);
	dnssec_key_t *k3 = NULL;
	err[0] = '\0';
	assert_int_equal(dnssec_key_load_file(&k3, path, DNSSEC_FLAGS_KSK, err, sizeof(err)),
			 ERR_OK);
	assert_memory_equal(dnssec_key_dnskey(k3), dnssec_key_dnskey(ksk), DNSSEC_DNSKEY_RDLEN);
	dnssec_key_free(k3);
	static const mode_t bad[] = { 0640, 0604, 0644, 0610, 0601, 0660 };
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		k3 = NULL;
		err[0] = '\0';
		assert_int_equal(dnssec_key_load_file(&k3, path, DNSSEC_FLAGS_KSK, err, sizeof(err)),
				 ERR_INVAL);
		assert_null(k3);
		assert_non_null(strstr(err, path));
	}
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(dnssec_key_load_file(&k3, path, DNSSEC_FLAGS_KSK, err, sizeof(err)),
			 ERR_OK);
	dnssec_key_free(k3);
	unlink(path);

	/* Missing file, a directory. */
	snprintf(path, sizeof(path), "%s/none.pem", tmpdir);
	assert_int_equal(dnssec_key_load_file(&k3, path, DNSSEC_FLAGS_KSK, err, sizeof(err)),
			 ERR_IO);
	assert_non_null(strstr(err, path));
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(dnssec_key_load_file(&k3, tmpdir, DNSSEC_FLAGS_KSK, err, sizeof(err)),
			 ERR_INVAL);

	/* Bad flags, garbage, truncated PEM. */
	assert_int_equal(dnssec_key_from_pem(&k3, pem, pl, 255), ERR_INVAL);
	assert_int_equal(dnssec_key_from_pem(&k3, "hello", 5, DNSSEC_FLAGS_KSK), ERR_PARSE);
	assert_int_equal(dnssec_key_from_pem(&k3, pem, pl / 2, DNSSEC_FLAGS_KSK), ERR_PARSE);
	dnssec_key_free(k2);
	dnssec_pem_free(pem);
}

static char *pem_of(EVP_PKEY *pkey, bool pkcs8)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (pkcs8)
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL),
				 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL,
								      NULL),
				 1);
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	char *s = strndup(data, (size_t)n);
	BIO_free(bio);
	return s;
}

static void test_pem_refused(void **state)
{
	(void)state;
	dnssec_key_t *k = NULL;
	/* P-384 and RSA in PKCS#8: not algorithm 13. */
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(p384);
	assert_non_null(rsa);
	assert_non_null(p256);
	char *s = pem_of(p384, true);
	assert_int_equal(dnssec_key_from_pem(&k, s, strlen(s), DNSSEC_FLAGS_KSK), ERR_INVAL);
	free(s);
	s = pem_of(rsa, true);
	assert_int_equal(dnssec_key_from_pem(&k, s, strlen(s), DNSSEC_FLAGS_KSK), ERR_INVAL);
	free(s);
	/* SEC1 "EC PRIVATE KEY" is not PKCS#8. */
	s = pem_of(p256, false);
	assert_non_null(strstr(s, "EC PRIVATE KEY"));
	assert_int_equal(dnssec_key_from_pem(&k, s, strlen(s), DNSSEC_FLAGS_KSK), ERR_PARSE);
	free(s);
	/* An encrypted PKCS#8 key is refused without prompting. */
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, p256, EVP_aes_128_cbc(), "pw", 2, NULL,
						       NULL),
			 1);
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	assert_int_equal(dnssec_key_from_pem(&k, data, (size_t)n, DNSSEC_FLAGS_KSK), ERR_PARSE);
	BIO_free(bio);
	/* The same P-256 key in PKCS#8 is accepted; a file with it and a bad name errs well. */
	s = pem_of(p256, true);
	char path[128], err[512];
	snprintf(path, sizeof(path), "%s/p384.pem", tmpdir);
	char *s384 = pem_of(p384, true);
	write_file(path, s384, strlen(s384), 0600);
	assert_int_equal(dnssec_key_load_file(&k, path, DNSSEC_FLAGS_KSK, err, sizeof(err)),
			 ERR_INVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "P-256"));
	unlink(path);
	free(s384);
	assert_int_equal(dnssec_key_from_pem(&k, s, strlen(s), DNSSEC_FLAGS_ZSK), ERR_OK);
	dnssec_key_free(k);
	free(s);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p256);
}

/* ---- cache ---- */

/* A well-formed RRSIG rdata for a cache key, its signature bytes derived from seed. */
static size_t fake_rrsig(const dnssec_cache_key_t *k, uint32_t seed, uint8_t *out)
{
	size_t sl = 0;
	while (k->signer[sl] != 0)
		sl += k->signer[sl] + 1u;
	sl++;
	memset(out, 0, DNSSEC_RRSIG_FIXED);
	out[0] = (uint8_t)(k->type >> 8);
	out[1] = (uint8_t)k->type;
	out[2] = 13;
	out[3] = 3;
	out[7] = 60;
	for (int i = 0; i < 4; i++) {
		out[8 + i] = (uint8_t)(k->val.expiration >> (24 - 8 * i));
		out[12 + i] = (uint8_t)(k->val.inception >> (24 - 8 * i));
	}
	out[16] = (uint8_t)(k->key_tag >> 8);
	out[17] = (uint8_t)k->key_tag;
	memcpy(out + DNSSEC_RRSIG_FIXED, k->signer, sl);
	for (int i = 0; i < DNSSEC_SIG_LEN; i++)
		out[DNSSEC_RRSIG_FIXED + sl + (size_t)i] = (uint8_t)(seed * 31u + (uint32_t)i);
	return DNSSEC_RRSIG_FIXED + sl + DNSSEC_SIG_LEN;
}

/* Wire name "n<i>.<zone>" built by hand (no allocation: used in counted loops). */
static void name_n(uint8_t *out, unsigned i, const char *zone)
{
	char label[16];
	int l = snprintf(label, sizeof(label), "n%u", i);
	out[0] = (uint8_t)l;
	memcpy(out + 1, label, (size_t)l);
	size_t p = (size_t)l + 1;
	while (*zone != '\0') {
		size_t n = strcspn(zone, ".");
		out[p] = (uint8_t)n;
		memcpy(out + p + 1, zone, n);
		p += n + 1;
		zone += n;
		if (*zone == '.')
			zone++;
	}
	out[p] = 0;
}

static void test_cache_basic(void **state)
{
	(void)state;
	dnssec_cache_t *c = NULL;
	assert_int_equal(dnssec_cache_new(&c, 1000), ERR_INVAL);
	assert_int_equal(dnssec_cache_new(&c, 1 << 20), ERR_OK);
	assert_true(dnssec_cache_memory(c) <= (1u << 20));

	uint8_t owner[255], apex[255], rr[DNSSEC_RRSIG_MAX], out[DNSSEC_RRSIG_MAX];
	wname("www.example.com.", owner);
	wname("example.com.", apex);
	dnssec_cache_key_t k = { .owner = owner, .signer = apex, .type = 1, .rdset_id = 77,
				 .key_id = dnssec_key_id(zsk), .key_tag = dnssec_key_tag(zsk),
				 .val = VAL };
	size_t len, olen;
	assert_int_equal(dnssec_cache_find(c, &k, out, sizeof(out), &olen), ERR_NOTFOUND);
	len = fake_rrsig(&k, 1, rr);
	assert_int_equal(dnssec_cache_insert(c, &k, rr, len), ERR_OK);
	assert_int_equal(dnssec_cache_find(c, &k, out, sizeof(out), &olen), ERR_OK);
	assert_int_equal(olen, len);
	assert_memory_equal(out, rr, len);
	assert_int_equal(dnssec_cache_find(c, &k, out, 10, &olen), ERR_LIMIT);

	/* Owner case does not matter; every other key field does. */
	uint8_t upper[255];
	wname("WWW.Example.COM.", upper);
	dnssec_cache_key_t k2 = k;
	k2.owner = upper;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_OK);
	assert_memory_equal(out, rr, len);
	k2 = k;
	k2.type = 28;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	k2 = k;
	k2.rdset_id = 78;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	k2 = k;
	k2.key_id ^= 1;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	k2 = k;
	k2.key_tag ^= 1;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	k2 = k;
	k2.val.inception += 1;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	k2 = k;
	k2.val.expiration += 86400;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	uint8_t other[255];
	wname("www2.example.com.", other);
	k2 = k;
	k2.owner = other;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	/* The same owner under another signer (a child zone): another entry. */
	uint8_t child[255], cowner[255];
	wname("sub.example.com.", child);
	wname("a.sub.example.com.", cowner);
	k2 = k;
	k2.owner = cowner;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	size_t l2 = fake_rrsig(&k2, 5, rr);
	assert_int_equal(dnssec_cache_insert(c, &k2, rr, l2), ERR_OK);
	k2.signer = child;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);

	/* Replacing an entry keeps one copy. */
	size_t before = dnssec_cache_count(c);
	len = fake_rrsig(&k, 2, rr);
	assert_int_equal(dnssec_cache_insert(c, &k, rr, len), ERR_OK);
	assert_int_equal(dnssec_cache_count(c), before);
	assert_int_equal(dnssec_cache_find(c, &k, out, sizeof(out), &olen), ERR_OK);
	assert_memory_equal(out, rr, len);

	/* A real RRSIG from dnssec_sign goes through unchanged. */
	const uint8_t rd[4] = { 192, 0, 2, 1 };
	const uint8_t *rdp[1] = { rd };
	const uint16_t rl[1] = { 4 };
	dnssec_rrset_t set = { .owner = owner, .type = 1, .rclass = 1, .ttl = 60, .count = 1,
			       .rdata = rdp, .rdlen = rl };
	uint8_t sig[DNSSEC_RRSIG_MAX];
	size_t siglen;
	assert_int_equal(dnssec_sign(signer, zsk, apex, &set, &VAL, sig, sizeof(sig), &siglen),
			 ERR_OK);
	k.rdset_id = 99;
	assert_int_equal(dnssec_cache_insert(c, &k, sig, siglen), ERR_OK);
	assert_int_equal(dnssec_cache_find(c, &k, out, sizeof(out), &olen), ERR_OK);
	assert_int_equal(olen, siglen);
	assert_memory_equal(out, sig, siglen);

	/* Mismatches are refused: RRSIG of another type/window/tag/signer, bad owner. */
	len = fake_rrsig(&k, 3, rr);
	rr[1] = 28;
	assert_int_equal(dnssec_cache_insert(c, &k, rr, len), ERR_INVAL);
	len = fake_rrsig(&k, 3, rr);
	rr[15] ^= 1;
	assert_int_equal(dnssec_cache_insert(c, &k, rr, len), ERR_INVAL);
	len = fake_rrsig(&k, 3, rr);
	rr[17] ^= 1;
	assert_int_equal(dnssec_cache_insert(c, &k, rr, len), ERR_INVAL);
	len = fake_rrsig(&k, 3, rr);
	rr[DNSSEC_RRSIG_FIXED + 1] = 'x';
	assert_int_equal(dnssec_cache_insert(c, &k, rr, len), ERR_INVAL);
	assert_int_equal(dnssec_cache_insert(c, &k, rr, len - 1), ERR_INVAL);
	uint8_t outside[255];
	wname("www.example.org.", outside);
	k2 = k;
	k2.owner = outside;
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_INVAL);
	wname("xexample.com.", outside); /* suffix bytes but not at a label boundary */
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_INVAL);

	/* An owner part longer than a slot holds is refused (and counted), never stored. */
	char longname[200];
	memset(longname, 0, sizeof(longname));
	strcpy(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
			 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example.com.");
	uint8_t lowner[255];
	wname(longname, lowner);
	k2 = k;
	k2.owner = lowner;
	len = fake_rrsig(&k2, 4, rr);
	assert_int_equal(dnssec_cache_insert(c, &k2, rr, len), ERR_LIMIT);
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_NOTFOUND);
	dnssec_cache_stats_t st;
	dnssec_cache_stats(c, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.hits, 4);

	/* The longest names: a 255-octet apex as both owner and signer. */
	uint8_t big[255];
	size_t p = 0;
	for (int i = 0; i < 3; i++) {
		big[p] = 63;
		memset(big + p + 1, 'a' + i, 63);
		p += 64;
	}
	big[p] = 61;
	memset(big + p + 1, 'z', 61);
	p += 62;
	big[p++] = 0;
	assert_int_equal(p, 255);
	k2 = k;
	k2.owner = big;
	k2.signer = big;
	len = fake_rrsig(&k2, 9, rr);
	assert_int_equal(len, DNSSEC_RRSIG_MAX);
	assert_int_equal(dnssec_cache_insert(c, &k2, rr, len), ERR_OK);
	assert_int_equal(dnssec_cache_find(c, &k2, out, sizeof(out), &olen), ERR_OK);
	assert_int_equal(olen, DNSSEC_RRSIG_MAX);
	assert_memory_equal(out, rr, len);
	dnssec_cache_free(c);
	dnssec_cache_free(NULL);
}

static void test_cache_eviction(void **state)
{
	(void)state;
	const size_t budget = (size_t)64 * 1024;
	dnssec_cache_t *c = NULL;
	assert_int_equal(dnssec_cache_new(&c, budget), ERR_OK);
	size_t cap = dnssec_cache_capacity(c);
	assert_true(cap >= 200 && cap * DNSSEC_CACHE_SLOT <= budget);
	assert_true(dnssec_cache_memory(c) <= budget);

	uint8_t apex[255], owner[255], rr[DNSSEC_RRSIG_MAX], out[DNSSEC_RRSIG_MAX];
	wname("example.com.", apex);
	dnssec_cache_key_t k = { .owner = owner, .signer = apex, .type = 1, .rdset_id = 1,
				 .key_id = 42, .key_tag = 4242, .val = VAL };
	size_t len, olen;
	const unsigned hot = 32, total = 20000;
	/* A hot set, looked up between inserts, survives a stream of cold names. */
	for (unsigned i = 0; i < hot; i++) {
		name_n(owner, 1000000 + i, "example.com.");
		len = fake_rrsig(&k, 1000000 + i, rr);
		assert_int_equal(dnssec_cache_insert(c, &k, rr, len), ERR_OK);
	}
	for (unsigned i = 0; i < total; i++) {
		name_n(owner, i, "example.com.");
		len = fake_rrsig(&k, i, rr);
		assert_int_equal(dnssec_cache_insert(c, &k, rr, len), ERR_OK);
		name_n(owner, 1000000 + i % hot, "example.com.");
		assert_int_equal(dnssec_cache_find(c, &k, out, sizeof(out), &olen), ERR_OK);
		len = fake_rrsig(&k, 1000000 + i % hot, rr);
		assert_memory_equal(out, rr, len);
	}
	assert_int_equal(dnssec_cache_count(c), cap);
	dnssec_cache_stats_t st;
	dnssec_cache_stats(c, &st);
	assert_int_equal(st.evictions, hot + total - cap);
	assert_int_equal(st.inserts, hot + total);
	for (unsigned i = 0; i < hot; i++) {
		name_n(owner, 1000000 + i, "example.com.");
		assert_int_equal(dnssec_cache_find(c, &k, out, sizeof(out), &olen), ERR_OK);
	}
	/* The oldest cold names are gone, the newest are there with their own bytes. */
	unsigned found_old = 0, found_new = 0;
	for (unsigned i = 0; i < 100; i++) {
		name_n(owner, i, "example.com.");
		found_old += dnssec_cache_find(c, &k, out, sizeof(out), &olen) == ERR_OK;
		name_n(owner, total - 1 - i, "example.com.");
		if (dnssec_cache_find(c, &k, out, sizeof(out), &olen) == ERR_OK) {
			found_new++;
			len = fake_rrsig(&k, total - 1 - i, rr);
			assert_memory_equal(out, rr, len);
		}
	}
	assert_int_equal(found_old, 0);
	assert_true(found_new >= 90);
	/* Every entry is reachable through the index exactly as counted. */
	unsigned reachable = 0;
	for (unsigned i = 0; i < total; i++) {
		name_n(owner, i, "example.com.");
		reachable += dnssec_cache_find(c, &k, out, sizeof(out), &olen) == ERR_OK;
	}
	assert_int_equal(reachable + hot, cap);
	dnssec_cache_free(c);
}

/* r53d's own code allocates nothing per signature, per NSEC or per cache operation. */
static void test_no_alloc(void **state)
{
	(void)state;
#ifdef R53D_COUNT_ALLOC
	uint8_t owner[255], apex[255], sig[DNSSEC_RRSIG_MAX], nsec[DNSSEC_NSEC_MAX];
	wname("example.com.", apex);
	const uint8_t rd[3][4] = { { 192, 0, 2, 3 }, { 192, 0, 2, 1 }, { 192, 0, 2, 2 } };
	const uint8_t *rdp[3] = { rd[0], rd[1], rd[2] };
	const uint16_t rl[3] = { 4, 4, 4 };
	static const uint16_t nx[] = { DNSSEC_TYPE_NXNAME };
	dnssec_cache_t *c = NULL;
	assert_int_equal(dnssec_cache_new(&c, (size_t)256 * 1024), ERR_OK);
	dnssec_cache_key_t k = { .owner = owner, .signer = apex, .type = 1, .rdset_id = 1,
				 .key_id = dnssec_key_id(zsk), .key_tag = dnssec_key_tag(zsk),
				 .val = VAL };
	const unsigned n = 2000;
	/* Warm up: sign contexts for both keys. */
	name_n(owner, 0, "example.com.");
	dnssec_rrset_t set = { .owner = owner, .type = 1, .rclass = 1, .ttl = 60, .count = 3,
			       .rdata = rdp, .rdlen = rl };
	size_t len, nl;
	assert_int_equal(dnssec_sign(signer, zsk, apex, &set, &VAL, sig, sizeof(sig), &len), ERR_OK);
	assert_int_equal(dnssec_sign(signer, ksk, apex, &set, &VAL, sig, sizeof(sig), &len), ERR_OK);
	unsigned long ours0 = ours, ossl0 = ossl;
	for (unsigned i = 0; i < n; i++) {
		name_n(owner, i, "example.com.");
		if (dnssec_cache_find(c, &k, sig, sizeof(sig), &len) == ERR_OK)
			continue;
		assert_int_equal(dnssec_sign(signer, i % 2 ? zsk : ksk, apex, &set, &VAL, sig,
					     sizeof(sig), &len),
				 ERR_OK);
		k.key_id = dnssec_key_id(i % 2 ? zsk : ksk);
		k.key_tag = dnssec_key_tag(i % 2 ? zsk : ksk);
		assert_int_equal(dnssec_cache_insert(c, &k, sig, len), ERR_OK);
		assert_int_equal(dnssec_nsec_rdata(owner, nx, 1, nsec, sizeof(nsec), &nl), ERR_OK);
	}
	unsigned long mine = ours - ours0, theirs = ossl - ossl0;
	print_message("allocations in %u signatures: r53d %lu, OpenSSL %lu (%.1f per signature)\n",
		      n, mine, theirs, (double)theirs / n);
	assert_int_equal(mine, 0);
	assert_true(theirs > 0); /* the counter works */
	dnssec_cache_free(c);
#else
	skip();
#endif
}

/* ---- references ---- */

enum { REF_THREADS = 4, REF_ROUNDS = 20000 };

/* Take and drop references to the shared key while other threads do the same. */
static void *ref_worker(void *arg)
{
	dnssec_key_t *k = arg;
	for (int i = 0; i < REF_ROUNDS; i++) {
		dnssec_key_t *r = dnssec_key_ref(k);
		if (r != k || dnssec_key_tag(r) != dnssec_key_tag(k))
			return (void *)1;
		dnssec_key_free(r);
	}
	return NULL;
}

/* dnssec_key_ref/dnssec_key_free count references: the key lives until the last one goes
 * (ASan/LSan builds show a leak or a use after free when the count is wrong). */
static void test_key_ref(void **state)
{
	(void)state;
	dnssec_key_t *k = NULL;
	uint8_t apex[255], sig[DNSSEC_RRSIG_MAX];
	wname("example.com.", apex);
	assert_int_equal(dnssec_key_generate(&k, DNSSEC_FLAGS_ZSK), ERR_OK);
	assert_null(dnssec_key_ref(NULL));
	dnssec_key_free(NULL);
	dnssec_key_t *held[3];
	for (int i = 0; i < 3; i++)
		held[i] = dnssec_key_ref(k);
	assert_ptr_equal(held[0], k);
	uint16_t tag = dnssec_key_tag(k);
	dnssec_key_free(k); /* the creator's reference: three are left */
	dnssec_key_free(held[0]);
	dnssec_key_free(held[1]);
	/* the key still works through the last reference */
	assert_int_equal(dnssec_key_tag(held[2]), tag);
	const uint8_t rd[4] = { 192, 0, 2, 1 };
	const uint8_t *rdp[1] = { rd };
	const uint16_t rl[1] = { 4 };
	dnssec_rrset_t set = { .owner = apex, .type = 1, .rclass = 1, .ttl = 60, .count = 1,
			       .rdata = rdp, .rdlen = rl };
	size_t len = 0;
	assert_int_equal(dnssec_sign(signer, held[2], apex, &set, &VAL, sig, sizeof(sig), &len),
			 ERR_OK);
	/* concurrent references from several threads */
	pthread_t th[REF_THREADS];
	for (int i = 0; i < REF_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, ref_worker, held[2]), 0);
	for (int i = 0; i < REF_THREADS; i++) {
		void *rv = (void *)1;
		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	assert_int_equal(dnssec_key_tag(held[2]), tag);
	assert_int_equal(dnssec_sign(signer, held[2], apex, &set, &VAL, sig, sizeof(sig), &len),
			 ERR_OK);
	dnssec_key_free(held[2]); /* the last: freed */
}

/* ---- speed ---- */

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_speed(void **state)
{
	(void)state;
	uint8_t owner[255], apex[255], sig[DNSSEC_RRSIG_MAX];
	wname("example.com.", apex);
	uint8_t rd[3][4] = { { 192, 0, 2, 1 }, { 192, 0, 2, 2 }, { 192, 0, 2, 3 } };
	const uint8_t *rdp[3] = { rd[0], rd[1], rd[2] };
	const uint16_t rl[3] = { 4, 4, 4 };
	const int n = 3000;
	size_t len;
	double t0 = cpu_now();
	for (int i = 0; i < n; i++) {
		name_n(owner, (unsigned)i, "example.com.");
		dnssec_rrset_t set = { .owner = owner, .type = 1, .rclass = 1, .ttl = 60,
				       .count = 3, .rdata = rdp, .rdlen = rl };
		assert_int_equal(dnssec_sign(signer, zsk, apex, &set, &VAL, sig, sizeof(sig), &len),
				 ERR_OK);
	}
	double dt = cpu_now() - t0;
	print_message("dnssec_sign: %d RRsets in %.3f CPU s: %.0f signatures/s on one core\n", n,
		      dt, n / dt);

	/* NXDOMAIN path: NSEC rdata + its signature. */
	uint8_t nsec[DNSSEC_NSEC_MAX];
	static const uint16_t nx[] = { DNSSEC_TYPE_NXNAME };
	t0 = cpu_now();
	for (int i = 0; i < n; i++) {
		name_n(owner, (unsigned)i, "example.com.");
		size_t nl;
		assert_int_equal(dnssec_nsec_rdata(owner, nx, 1, nsec, sizeof(nsec), &nl), ERR_OK);
		const uint8_t *np[1] = { nsec };
		const uint16_t nlen[1] = { (uint16_t)nl };
		dnssec_rrset_t set = { .owner = owner, .type = 47, .rclass = 1, .ttl = 900,
				       .count = 1, .rdata = np, .rdlen = nlen };
		assert_int_equal(dnssec_sign(signer, zsk, apex, &set, &VAL, sig, sizeof(sig), &len),
				 ERR_OK);
	}
	dt = cpu_now() - t0;
	print_message("compact NXDOMAIN (NSEC + RRSIG): %.0f per second on one core\n", n / dt);

	/* Cache hits. */
	dnssec_cache_t *c = NULL;
	assert_int_equal(dnssec_cache_new(&c, 8u << 20), ERR_OK);
	dnssec_cache_key_t k = { .owner = owner, .signer = apex, .type = 1, .rdset_id = 1,
				 .key_id = dnssec_key_id(zsk), .key_tag = dnssec_key_tag(zsk),
				 .val = VAL };
	for (int i = 0; i < 1000; i++) {
		name_n(owner, (unsigned)i, "example.com.");
		len = fake_rrsig(&k, (uint32_t)i, sig);
		assert_int_equal(dnssec_cache_insert(c, &k, sig, len), ERR_OK);
	}
	const int lookups = 200000;
	t0 = cpu_now();
	for (int i = 0; i < lookups; i++) {
		name_n(owner, (unsigned)(i % 1000), "example.com.");
		assert_int_equal(dnssec_cache_find(c, &k, sig, sizeof(sig), &len), ERR_OK);
	}
	dt = cpu_now() - t0;
	print_message("cache hits (incl. building the name): %.0f per second\n", lookups / dt);
	dnssec_cache_free(c);
}

int main(void)
{
#ifdef R53D_COUNT_ALLOC
	if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1)
		return 1;
#endif
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/r53d-dnssec-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_a_shuffled),
		cmocka_unit_test(test_sign_duplicates),
		cmocka_unit_test(test_sign_ns_mixed_case),
		cmocka_unit_test(test_sign_types),
		cmocka_unit_test(test_sign_wildcard),
		cmocka_unit_test(test_sign_dnskey_ksk),
		cmocka_unit_test(test_sign_many_keys),
		cmocka_unit_test(test_sign_short_rs),
		cmocka_unit_test(test_sign_large_and_bad),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_keytag_ds),
		cmocka_unit_test(test_rfc6605_vector),
		cmocka_unit_test(test_nsec_bitmap),
		cmocka_unit_test(test_nsec_successor),
		cmocka_unit_test(test_nsec_signed),
		cmocka_unit_test(test_pem_roundtrip),
		cmocka_unit_test(test_pem_refused),
		cmocka_unit_test(test_cache_basic),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_no_alloc),
		cmocka_unit_test(test_key_ref),
		cmocka_unit_test(test_speed),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	rmdir(tmpdir);
	return rc;
}
