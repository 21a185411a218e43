/* SPDX-License-Identifier: MIT */
/*
 * test_present.c -- Route 53 presentation (zones/r53present.c): names and their escapes,
 * the wildcard both ways, list order, every common type's Value, and the round trip
 * zone file -> record sets -> r53_load() that must give back the records zl_load() read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "r53json.h"
#include "r53present.h"
#include "zone_load.h"

/* ---- names ---- */

static const char *wname(const uint8_t *w, size_t len)
{
	static char buf[R53P_NAME_BUF];
	return r53p_name(w, len, buf, sizeof(buf));
}

static void test_name(void **state)
{
	(void)state;
	char buf[R53P_NAME_BUF];
	assert_string_equal(wname((const uint8_t *)"\3www\7example\3com", 17), "www.example.com.");
	assert_string_equal(wname((const uint8_t *)"\3WwW\7ExAmPlE\3COM", 17), "www.example.com.");
	assert_string_equal(wname((const uint8_t *)"", 1), ".");
	assert_string_equal(wname((const uint8_t *)"\1*\7example\3com", 15), "\\052.example.com.");
	assert_string_equal(wname((const uint8_t *)"\3a.b\1x", 8), "a\\056b.x.");
	assert_string_equal(wname((const uint8_t *)"\5a-b_c\1x", 10), "a-b_c.x.");
	assert_string_equal(wname((const uint8_t *)"\3a b\1x", 8), "a\\040b.x.");
	assert_string_equal(wname((const uint8_t *)"\4\x00\xff\\@\1x", 9), "\\000\\377\\134\\100.x.");
	assert_string_equal(wname((const uint8_t *)"\2\"(\1x", 7), "\\042\\050.x.");
	/* malformed: truncated label, no root label, label over 63, compression pointer */
	assert_string_equal(wname((const uint8_t *)"\5ab", 4), "");
	assert_string_equal(wname((const uint8_t *)"\2ab", 3), "");
	uint8_t w[300];
	memset(w, 'a', sizeof(w));
	w[0] = 64;
	w[65] = 0;
	assert_string_equal(wname(w, 66), "");
	assert_string_equal(wname((const uint8_t *)"\xc0\x0c", 2), "");
	/* bytes after the root label are not read */
	assert_string_equal(wname((const uint8_t *)"\1a\0zz", 5), "a.");
	/* too small a buffer */
	assert_string_equal(r53p_name((const uint8_t *)"\3www\0", 5, buf, 4), "");
	assert_string_equal(r53p_name((const uint8_t *)"\3www\0", 5, buf, 5), "www.");
	assert_string_equal(r53p_name((const uint8_t *)"\1*\0", 3, buf, 6), "\\052.");
	assert_string_equal(r53p_name((const uint8_t *)"\1*\0", 3, buf, 5), "");
	/* the longest name, every byte escaped: 4 * 250 + 4 dots still fits */
	size_t n = 0;
	for (int l = 0; l < 4; l++) {
		size_t len = l < 3 ? 63 : 61;
		w[n++] = (uint8_t)len;
		memset(w + n, 0xff, len);
		n += len;
	}
	w[n++] = 0;
	assert_int_equal(n, 255);
	assert_int_equal(strlen(r53p_name(w, n, buf, sizeof(buf))), 250 * 4 + 4);
}

static void canon_ok(const char *in, const char *want)
{
	char buf[R53P_NAME_BUF];
	int ret = r53p_name_canon(in, buf, sizeof(buf));
	if (ret != ERR_OK || strcmp(buf, want) != 0)
		fail_msg("r53p_name_canon(\"%s\") = %d \"%s\", want \"%s\"", in, ret, buf, want);
	/* the canonical form is a fixed point and reads back through r53_name() */
	char again[R53P_NAME_BUF];
	assert_int_equal(r53p_name_canon(buf, again, sizeof(again)), ERR_OK);
	assert_string_equal(again, buf);
	uint8_t w[255];
	size_t l = 0;
	assert_int_equal(r53_name(buf, w, &l), ERR_OK);
	assert_string_equal(r53p_name(w, l, again, sizeof(again)), buf);
}

static void canon_bad(const char *in, int want)
{
	char buf[R53P_NAME_BUF];
	int ret = r53p_name_canon(in, buf, sizeof(buf));
	if (ret != want)
		fail_msg("r53p_name_canon(\"%s\") = %d, want %d", in, ret, want);
}

static void test_name_canon(void **state)
{
	(void)state;
	canon_ok("www.example.com", "www.example.com.");
	canon_ok("WWW.Example.COM.", "www.example.com.");
	canon_ok(".", ".");
	/* the wildcard, both ways (and escaped as a character) */
	canon_ok("*.example.com", "\\052.example.com.");
	canon_ok("\\052.example.com.", "\\052.example.com.");
	canon_ok("\\*.EXAMPLE.com", "\\052.example.com.");
	/* octal when all three digits are octal; decimal (RFC 1035) when one is 8 or 9 */
	canon_ok("\\101bc.x", "abc.x.");     /* octal 101 = 'A', lowered */
	canon_ok("\\089.x", "y.x.");         /* decimal 89 = 'Y' */
	canon_ok("\\377\\000.x", "\\377\\000.x.");
	canon_ok("\\255.x", "\\255.x.");     /* octal 255 = 0xad */
	canon_ok("\\199.x", "\\307.x.");     /* decimal 199 */
	canon_ok("a\\.b.x", "a\\056b.x.");
	canon_ok("a\\056b.x", "a\\056b.x.");
	canon_ok("a\\ b.x", "a\\040b.x.");   /* an escaped space is fine */
	canon_ok("a@b.x", "a\\100b.x.");
	canon_ok("_sip._tcp.x", "_sip._tcp.x.");
	canon_ok("a\\\\b.x", "a\\134b.x.");
	/* what r53_name() does with the Route 53 form: octal, the same wire */
	uint8_t w[255];
	size_t len = 0;
	assert_int_equal(r53_name("\\052.example.com", w, &len), ERR_OK);
	assert_int_equal(len, 15);
	assert_memory_equal(w, "\1*\7example\3com", 15);
	assert_int_equal(r53_name("*.example.com.", w, &len), ERR_OK);
	assert_memory_equal(w, "\1*\7example\3com", 15);
	/* octal \400..\777 is no byte (r53_name() used to wrap it to 0x00..0xff) */
	assert_int_equal(r53_name("\\400.example.com", w, &len), ERR_INVAL);
	assert_int_equal(r53_name("\\777.example.com", w, &len), ERR_INVAL);
	assert_int_equal(r53_name("\\377.example.com", w, &len), ERR_OK);
	assert_int_equal(w[1], 0xff);

	canon_bad("", ERR_INVAL);
	canon_bad("..", ERR_INVAL);
	canon_bad(".x", ERR_INVAL);
	canon_bad("a..b", ERR_INVAL);
	canon_bad("a b.x", ERR_INVAL);     /* HZ-12: must be escaped */
	canon_bad("a\tb.x", ERR_INVAL);
	canon_bad("caf\xc3\xa9.x", ERR_INVAL); /* IDN must be punycode (HZ-16) */
	canon_bad("a\\05.x", ERR_INVAL);
	canon_bad("a\\5", ERR_INVAL);
	canon_bad("a\\", ERR_INVAL);
	canon_bad("\\400.x", ERR_INVAL);   /* octal 256 */
	canon_bad("\\999.x", ERR_INVAL);
	/* label and name limits */
	char name[600];
	memset(name, 'a', 63);
	strcpy(name + 63, ".x");
	char want[sizeof(name) + 2];
	snprintf(want, sizeof(want), "%s.", name);
	canon_ok(name, want);
	memset(name, 'a', 64);
	strcpy(name + 64, ".x");
	canon_bad(name, ERR_INVAL);
	/* labels of 63, 63, 63 and 61 octets make 255 wire octets with the root: the most */
	size_t n = 0;
	for (int l = 0; l < 4; l++) {
		memset(name + n, 'b', 63);
		n += 63;
		name[n++] = '.';
	}
	name[n] = '\0';
	canon_bad(name, ERR_INVAL); /* 257 */
	name[n - 2] = '.';
	name[n - 1] = '\0';
	canon_bad(name, ERR_INVAL); /* 256 */
	name[n - 3] = '\0';
	char buf[R53P_NAME_BUF];
	assert_int_equal(r53p_name_canon(name, buf, sizeof(buf)), ERR_OK);
	assert_int_equal(strlen(buf), 63 * 3 + 61 + 4);
	assert_int_equal(r53p_name_canon("*.x", buf, 7), ERR_LIMIT);
	assert_string_equal(buf, "");
	assert_int_equal(r53p_name_canon("*.x", buf, 8), ERR_OK);
	assert_string_equal(buf, "\\052.x.");
}

static void test_name_rev(void **state)
{
	(void)state;
	char buf[R53P_NAME_BUF];
	assert_string_equal(r53p_name_rev("www.example.com.", buf, sizeof(buf)), "com.example.www");
	assert_string_equal(r53p_name_rev("www.example.com", buf, sizeof(buf)), "com.example.www");
	assert_string_equal(r53p_name_rev("example.com.", buf, sizeof(buf)), "com.example");
	assert_string_equal(r53p_name_rev("com.", buf, sizeof(buf)), "com");
	assert_string_equal(r53p_name_rev(".", buf, sizeof(buf)), "");
	assert_string_equal(r53p_name_rev("", buf, sizeof(buf)), "");
	assert_string_equal(r53p_name_rev("\\052.example.com.", buf, sizeof(buf)),
			    "com.example.\\052");
	assert_string_equal(r53p_name_rev("a\\056b.x.", buf, sizeof(buf)), "x.a\\056b");
	/* not canonical, but a backslash still protects a dot */
	assert_string_equal(r53p_name_rev("a\\.b.x.", buf, sizeof(buf)), "x.a\\.b");
	assert_string_equal(r53p_name_rev("a.b\\.", buf, sizeof(buf)), "b\\..a");
	/* strlen + 1 always fits */
	assert_string_equal(r53p_name_rev("ab.cd.", buf, 7), "cd.ab");
	assert_string_equal(r53p_name_rev("ab.cd", buf, 6), "cd.ab");
	assert_string_equal(r53p_name_rev("ab.cd", buf, 5), "");
}

typedef struct pos {
	const char *name, *type, *setid;
} pos_t;

static int cmp_pos(const void *a, const void *b)
{
	const pos_t *x = a, *y = b;
	return r53p_cmp(x->name, x->type, x->setid, y->name, y->type, y->setid);
}

static void test_cmp(void **state)
{
	(void)state;
	/* in Route 53 list order (spec ROUTE53.md 3.5 and the cases around it) */
	static const pos_t want[] = {
		{ "example.com.", "A", NULL },
		{ "example.com.", "MX", NULL },
		{ "example.com.", "NS", NULL },  /* apex NS before SOA */
		{ "example.com.", "SOA", NULL },
		{ "example.com.", "TXT", NULL },
		{ "\\052.example.com.", "A", NULL }, /* '\' (0x5c) before letters */
		{ "_sip._tcp.example.com.", "SRV", NULL }, /* com.example._tcp._sip */
		{ "a-b.example.com.", "A", NULL },   /* com.example.a-b: '-' before '.' */
		{ "x.a.example.com.", "A", NULL },   /* com.example.a.x */
		{ "www.example.com.", "A", NULL },
		{ "www.example.com.", "A", "blue" },
		{ "www.example.com.", "A", "green" },
		{ "www.example.com.", "AAAA", NULL },
		{ "a.www.example.com.", "A", NULL }, /* below www, after every www set */
		{ "a.x.example.com.", "A", NULL },   /* com.example.x.a */
		{ "example.net.", "A", NULL },
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	for (size_t i = 0; i + 1 < n; i++) {
		if (cmp_pos(&want[i], &want[i + 1]) >= 0)
			fail_msg("%s %s %s should sort before %s %s %s", want[i].name, want[i].type,
				 want[i].setid ? want[i].setid : "-", want[i + 1].name,
				 want[i + 1].type, want[i + 1].setid ? want[i + 1].setid : "-");
		assert_true(cmp_pos(&want[i + 1], &want[i]) > 0);
		assert_int_equal(cmp_pos(&want[i], &want[i]), 0);
	}
	/* shuffle and sort back */
	pos_t v[sizeof(want) / sizeof(want[0])];
	for (size_t i = 0; i < n; i++)
		v[i] = want[(i * 7 + 3) % n];
	qsort(v, n, sizeof(v[0]), cmp_pos);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].name, want[i].name);
		assert_string_equal(v[i].type, want[i].type);
	}
}

static void test_type_name(void **state)
{
	(void)state;
	char buf[16];
	static const struct {
		uint16_t type;
		const char *name;
	} t[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" }, { 15, "MX" },
		{ 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" }, { 35, "NAPTR" }, { 43, "DS" },
		{ 44, "SSHFP" }, { 52, "TLSA" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" },
		{ 257, "CAA" }, { 13, "HINFO" }, { 29, "LOC" }, { 39, "DNAME" },
		{ 65534, "TYPE65534" }, { 65400, "TYPE65400" }, { 54, "TYPE54" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(r53p_type_name(t[i].type, buf, sizeof(buf)), t[i].name);
	assert_string_equal(r53p_type_name(65534, buf, 9), "");
	assert_string_equal(r53p_type_name(65534, buf, 10), "TYPE65534");
	assert_string_equal(r53p_type_name(257, buf, 3), "");
}

/* ---- rdata ---- */

/* Wire rdata of "text" as ldns reads it (decimal escapes, zone file syntax). */
static size_t rdata_of(const char *type, const char *text, uint8_t *out)
{
	char line[5000];
	ldns_rr *rr = NULL;
	snprintf(line, sizeof(line), "x. 300 IN %s %s", type, text);
	if (ldns_rr_new_frm_str(&rr, line, 300, NULL, NULL) != LDNS_STATUS_OK)
		fail_msg("ldns cannot read \"%s\"", line);
	ldns_buffer *b = ldns_buffer_new(256);
	assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
	size_t n = ldns_buffer_position(b);
	memcpy(out, ldns_buffer_begin(b), n);
	ldns_buffer_free(b);
	ldns_rr_free(rr);
	return n;
}

static void present(const char *type, const char *text, const char *want)
{
	uint8_t rd[4096];
	char buf[8192];
	size_t n = rdata_of(type, text, rd);
	int ret = r53p_rdata((uint16_t)ldns_get_rr_type_by_name(type), rd, n, buf, sizeof(buf));
	if (ret != ERR_OK || strcmp(buf, want) != 0)
		fail_msg("%s %s: got %d \"%s\", want \"%s\"", type, text, ret, buf, want);
}

static void test_rdata(void **state)
{
	(void)state;
	present("A", "192.0.2.1", "192.0.2.1");
	present("AAAA", "2001:0db8:0:0:0:0:0:1", "2001:db8::1");
	present("AAAA", "::ffff:192.0.2.1", "::ffff:192.0.2.1");
	present("MX", "10 mail.example.com.", "10 mail.example.com.");
	present("TXT", "\"v=spf1 -all\"", "\"v=spf1 -all\"");
	present("TXT", "\"a\" \"b c\" plain", "\"a\" \"b c\" \"plain\"");
	present("TXT", "\"\"", "\"\"");
	/* escaped bytes come out in octal: tab 9, 0xff, and the two \X escapes kept */
	present("TXT", "\"t\\009q\\\"b\\\\e\\255\\000\"", "\"t\\011q\\\"b\\\\e\\377\\000\"");
	present("TXT", "\"semi;colon (paren)\"", "\"semi;colon (paren)\"");
	present("SPF", "\"v=spf1 -all\"", "\"v=spf1 -all\"");
	present("CNAME", "www.example.com.", "www.example.com.");
	present("CNAME", "WWW.Example.com.", "WWW.Example.com."); /* case kept */
	present("CNAME", "*.w.example.com.", "*.w.example.com.");
	present("CNAME", "a\\032b\\.c.example.", "a\\040b\\.c.example.");
	present("NS", "ns-1.awsdns-00.co.uk.", "ns-1.awsdns-00.co.uk.");
	present("PTR", "host.example.com.", "host.example.com.");
	present("SOA", "ns1.x. hostmaster.x. 1 7200 900 1209600 86400",
		"ns1.x. hostmaster.x. 1 7200 900 1209600 86400");
	present("SOA", "ns1.x. hostmaster.x. 2026112201 2h 15M 2w 5m",
		"ns1.x. hostmaster.x. 2026112201 7200 900 1209600 300");
	present("SRV", "1 10 5269 xmpp.example.com.", "1 10 5269 xmpp.example.com.");
	present("SRV", "0 0 0 .", "0 0 0 .");
	present("CAA", "0 issue \"ca.example\"", "0 issue \"ca.example\"");
	present("CAA", "128 iodef \"mailto:x@example.com\"", "128 iodef \"mailto:x@example.com\"");
	present("CAA", "0 issue \"\"", "0 issue \"\"");
	present("CAA", "0 issue \";\"", "0 issue \";\"");
	present("URI", "10 1 \"https://www.example.com/\"", "10 1 \"https://www.example.com/\"");
	present("NAPTR", "100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .",
		"100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .");
	present("NAPTR", "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
		"100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.");
	present("DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
		"60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118");
	present("TLSA", "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6",
		"3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6");
	present("SSHFP", "1 1 123456789ABCDEF67890123456789ABCDEF67890",
		"1 1 123456789abcdef67890123456789abcdef67890");
	present("HTTPS", "1 . alpn=h2,h3", "1 . alpn=h2,h3");
	present("SVCB", "1 svc.example.net. alpn=\"h2,h3\" port=8443",
		"1 svc.example.net. alpn=h2,h3 port=8443");
	present("HINFO", "\"PC\" \"Linux\"", "\"PC\" \"Linux\"");
	present("A", "\\# 4 c0000205", "192.0.2.5");

	char buf[256];
	/* types ldns does not know: RFC 3597 */
	assert_int_equal(r53p_rdata(65534, (const uint8_t *)"\1\2\3", 3, buf, sizeof(buf)), ERR_OK);
	assert_string_equal(buf, "\\# 3 010203");
	assert_int_equal(r53p_rdata(65400, (const uint8_t *)"", 0, buf, sizeof(buf)), ERR_OK);
	assert_string_equal(buf, "\\# 0");
	assert_int_equal(r53p_rdata(65534, (const uint8_t *)"\1\2\3", 3, buf, 11), ERR_LIMIT);
	assert_int_equal(r53p_rdata(65534, (const uint8_t *)"\1\2\3", 3, buf, 12), ERR_OK);
	/* rdata that is not of its type */
	assert_int_equal(r53p_rdata(1, (const uint8_t *)"\xc0\0\2", 3, buf, sizeof(buf)), ERR_INVAL);
	assert_int_equal(r53p_rdata(1, (const uint8_t *)"\xc0\0\2\1\0", 5, buf, sizeof(buf)),
			 ERR_INVAL);
	assert_int_equal(r53p_rdata(1, (const uint8_t *)"", 0, buf, sizeof(buf)), ERR_INVAL);
	assert_int_equal(r53p_rdata(16, (const uint8_t *)"", 0, buf, sizeof(buf)), ERR_INVAL);
	assert_int_equal(r53p_rdata(16, (const uint8_t *)"\5ab", 3, buf, sizeof(buf)), ERR_INVAL);
	assert_int_equal(r53p_rdata(15, (const uint8_t *)"\0\12\xc0\x0c", 4, buf, sizeof(buf)),
			 ERR_INVAL); /* a compressed name */
	assert_int_equal(r53p_rdata(5, (const uint8_t *)"\3www", 4, buf, sizeof(buf)), ERR_INVAL);
	/* too small a buffer: ERR_LIMIT, and "" */
	assert_int_equal(r53p_rdata(1, (const uint8_t *)"\xc0\0\2\1", 4, buf, 9), ERR_LIMIT);
	assert_string_equal(buf, "");
	assert_int_equal(r53p_rdata(1, (const uint8_t *)"\xc0\0\2\1", 4, buf, 10), ERR_OK);
	assert_string_equal(buf, "192.0.2.1");
	/* the documented bound: 4 * rdlen + 64 */
	uint8_t txt[256];
	txt[0] = 255;
	memset(txt + 1, 0x01, 255);
	char big[4 * 256 + 64];
	assert_int_equal(r53p_rdata(16, txt, 256, big, sizeof(big)), ERR_OK);
	assert_int_equal(strlen(big), 2 + 255 * 4);
}

/* ---- zone files to record sets ---- */

/* Route 53's RRType list, as r53json.c accepts it. */
static bool r53_type(const char *t)
{
	static const char *const types[] = { "SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR",
					     "PTR", "SRV", "SPF", "AAAA", "CAA", "DS", "TLSA",
					     "SSHFP", "SVCB", "HTTPS", NULL };
	for (const char *const *p = types; *p != NULL; p++)
		if (strcmp(*p, t) == 0)
			return true;
	return false;
}

/* One record as a comparable string: owner hex / type / ttl / rdata hex. */
static char *rec_key(const uint8_t *owner, size_t olen, uint16_t type, uint32_t ttl,
		     const uint8_t *rd, size_t rdlen)
{
	size_t cap = olen * 2 + rdlen * 2 + 40;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t n = 0;
	for (size_t i = 0; i < olen; i++)
		n += (size_t)snprintf(s + n, cap - n, "%02x", owner[i]);
	n += (size_t)snprintf(s + n, cap - n, "/%u/%u/", type, ttl);
	for (size_t i = 0; i < rdlen; i++)
		n += (size_t)snprintf(s + n, cap - n, "%02x", rd[i]);
	return s;
}

typedef struct keys {
	char **v;
	size_t n, cap;
} keys_t;

static void keys_add(keys_t *k, char *s)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 64;
		k->v = realloc(k->v, k->cap * sizeof(*k->v));
		assert_non_null(k->v);
	}
	k->v[k->n++] = s;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void keys_free(keys_t *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

static void keys_equal(keys_t *a, keys_t *b, const char *what)
{
	if (a->n > 0)
		qsort(a->v, a->n, sizeof(*a->v), cmp_key);
	if (b->n > 0)
		qsort(b->v, b->n, sizeof(*b->v), cmp_key);
	for (size_t i = 0; i < a->n && i < b->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			fail_msg("%s: record %zu differs:\n  zone file %s\n  sets      %s", what, i,
				 a->v[i], b->v[i]);
	if (a->n != b->n)
		fail_msg("%s: %zu records from the zone file, %zu from the record sets", what, a->n,
			 b->n);
}

/*
 * What the record sets must hold: the file's records, each RRset with the lowest TTL of
 * its records and without duplicates (RFC 2181 5, 5.2), split into Route 53 types and
 * the rest.
 */
static void expected(const zl_list_t *l, keys_t *r53, keys_t *other)
{
	for (size_t i = 0; i < l->n; i++) {
		const zl_rr_t *r = &l->rr[i];
		uint32_t ttl = r->ttl;
		bool dup = false;
		for (size_t j = 0; j < l->n; j++) {
			const zl_rr_t *q = &l->rr[j];
			if (q->type != r->type || q->ownerlen != r->ownerlen ||
			    memcmp(q->owner, r->owner, r->ownerlen) != 0)
				continue;
			if (q->ttl < ttl)
				ttl = q->ttl;
			if (j < i && q->rdlen == r->rdlen && memcmp(q->rdata, r->rdata, r->rdlen) == 0)
				dup = true;
		}
		if (dup)
			continue;
		char tn[16];
		r53p_type_name(r->type, tn, sizeof(tn));
		keys_add(r53_type(tn) ? r53 : other,
			 rec_key(r->owner, r->ownerlen, r->type, ttl, r->rdata, r->rdlen));
	}
}

/* r53json.c's reading of a Value: octal escapes to decimal, then ldns. */
static void value_wire(const char *name, const char *type, json_int_t ttl, const char *value,
		       keys_t *out)
{
	char val[20000], line[20200];
	size_t n = 0;
	for (const char *v = value; *v != '\0';) {
		assert_true(n + 8 < sizeof(val));
		if (v[0] == '\\' && v[1] >= '0' && v[1] <= '7' && v[2] >= '0' && v[2] <= '7' &&
		    v[3] >= '0' && v[3] <= '7') {
			int c = (v[1] - '0') * 64 + (v[2] - '0') * 8 + (v[3] - '0');
			n += (size_t)snprintf(val + n, sizeof(val) - n, "\\%03d", c);
			v += 4;
		} else if (v[0] == '\\' && v[1] != '\0') {
			val[n++] = *v++;
			val[n++] = *v++;
		} else {
			val[n++] = *v++;
		}
	}
	val[n] = '\0';
	snprintf(line, sizeof(line), "x. %lld IN %s %s", (long long)ttl, type, val);
	ldns_rr *rr = NULL;
	ldns_rdf *origin = ldns_dname_new_frm_str(".");
	ldns_status st = ldns_rr_new_frm_str(&rr, line, 0, origin, NULL);
	ldns_rdf_deep_free(origin);
	if (st != LDNS_STATUS_OK)
		fail_msg("%s %s value \"%s\" does not read back: %s", name, type, value,
			 ldns_get_errorstr_by_id(st));
	assert_int_equal(r53_fix_at_labels(rr, value), ERR_OK);
	uint8_t owner[255];
	size_t olen = 0;
	assert_int_equal(r53_name(name, owner, &olen), ERR_OK);
	ldns_buffer *b = ldns_buffer_new(256);
	assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
	keys_add(out, rec_key(owner, olen, (uint16_t)ldns_rr_get_type(rr), (uint32_t)ttl,
			      ldns_buffer_begin(b), ldns_buffer_position(b)));
	ldns_buffer_free(b);
	ldns_rr_free(rr);
}

/* The first $ORIGIN of a file, else its name without ".zone". */
static void origin_of(const char *path, char *out, size_t cap)
{
	FILE *fp = fopen(path, "r");
	char line[1024];
	assert_non_null(fp);
	out[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		char o[512];
		if (sscanf(line, "$ORIGIN %511s", o) == 1) {
			snprintf(out, cap, "%s", o);
			break;
		}
	}
	fclose(fp);
	if (out[0] == '\0') {
		const char *base = strrchr(path, '/');
		snprintf(out, cap, "%s", base ? base + 1 : path);
		char *dot = strstr(out, ".zone");
		if (dot != NULL)
			*dot = '\0';
	}
}

typedef struct stats {
	size_t files, converted, sets, records, other_records, skipped_load, refused;
} stats_t;

/*
 * The key property for one file: the record sets read back through r53_load() give the
 * records zl_load() read (Route 53 types); the other types' Values read back to the same
 * wire through the same escape handling, and r53_load() refuses them by type.
 */
static void round_trip(const char *path, stats_t *st)
{
	char origin[512], err[1024] = "";
	zl_list_t l;
	json_t *sets = NULL;

	origin_of(path, origin, sizeof(origin));
	st->files++;
	int ret = zl_load(path, origin, &l, err, sizeof(err));
	if (ret != ERR_OK) {
		zl_list_deinit(&l);
		st->skipped_load++;
		/* r53p_zone_file_sets() fails the same way */
		char err2[1024] = "";
		assert_int_equal(r53p_zone_file_sets(path, origin, &sets, err2, sizeof(err2)), ret);
		assert_null(sets);
		assert_string_equal(err2, err);
		return;
	}
	ret = r53p_zone_file_sets(path, origin, &sets, err, sizeof(err));
	if (ret != ERR_OK) {
		/* only records outside the zone or not of class IN are refused */
		assert_int_equal(ret, ERR_INVAL);
		assert_null(sets);
		if (strstr(err, "out-of-zone record") == NULL && strstr(err, "class must be IN") == NULL)
			fail_msg("%s: unexpected refusal: %s", path, err);
		assert_non_null(strstr(err, path));
		st->refused++;
		zl_list_deinit(&l);
		return;
	}
	st->converted++;
	assert_true(json_is_array(sets));

	keys_t want = { 0 }, want_other = { 0 }, got = { 0 }, got_other = { 0 };
	expected(&l, &want, &want_other);

	json_t *r53sets = json_array();
	size_t i;
	json_t *s, *prev = NULL;
	json_array_foreach(sets, i, s) {
		const char *name = json_string_value(json_object_get(s, "Name"));
		const char *type = json_string_value(json_object_get(s, "Type"));
		json_t *ttl = json_object_get(s, "TTL"), *rrs = json_object_get(s, "ResourceRecords");
		assert_non_null(name);
		assert_non_null(type);
		assert_true(json_is_integer(ttl));
		assert_true(json_is_array(rrs) && json_array_size(rrs) > 0);
		assert_int_equal(json_object_size(s), 4);
		/* Names are printed canonically, and the sets are in list order */
		char canon[R53P_NAME_BUF];
		assert_int_equal(r53p_name_canon(name, canon, sizeof(canon)), ERR_OK);
		assert_string_equal(canon, name);
		if (prev != NULL &&
		    r53p_cmp(json_string_value(json_object_get(prev, "Name")),
			     json_string_value(json_object_get(prev, "Type")), NULL, name, type,
			     NULL) >= 0)
			fail_msg("%s: set %zu (%s %s) out of order", path, i, name, type);
		prev = s;
		st->sets++;
		if (r53_type(type)) {
			assert_int_equal(json_array_append(r53sets, s), 0);
			continue;
		}
		size_t k;
		json_t *v;
		json_array_foreach(rrs, k, v) {
			value_wire(name, type, json_integer_value(ttl),
				   json_string_value(json_object_get(v, "Value")), &got_other);
		}
		/* r53_load() refuses the type (Route 53 has no such RRType) */
		json_t *one = json_pack("{s:[O]}", "ResourceRecordSets", s);
		r53_list_t rl;
		uint8_t apex[255];
		size_t alen = 0;
		assert_int_equal(r53_name(origin, apex, &alen), ERR_OK);
		char e[512] = "";
		assert_int_equal(r53_load(one, path, origin, apex, alen, &rl, e, sizeof(e)), ERR_INVAL);
		assert_non_null(strstr(e, "Type must be one of"));
		r53_list_deinit(&rl);
		json_decref(one);
	}

	/* the Route 53 types through r53_load() */
	json_t *doc = json_pack("{s:o}", "ResourceRecordSets", r53sets);
	uint8_t apex[255];
	size_t alen = 0;
	r53_list_t rl;
	assert_int_equal(r53_name(origin, apex, &alen), ERR_OK);
	ret = r53_load(doc, path, origin, apex, alen, &rl, err, sizeof(err));
	if (ret != ERR_OK)
		fail_msg("%s: r53_load of the record sets: %s", path, err);
	for (size_t k = 0; k < rl.n; k++) {
		const r53_set_t *rs = &rl.v[k];
		for (size_t j = 0; j < rs->vals.n; j++) {
			const zl_rr_t *r = &rs->vals.rr[j];
			assert_int_equal(r->type, rs->type);
			assert_int_equal(r->rclass, LDNS_RR_CLASS_IN);
			keys_add(&got, rec_key(r->owner, r->ownerlen, r->type, r->ttl, r->rdata,
					       r->rdlen));
		}
	}
	st->records += got.n;
	st->other_records += got_other.n;
	keys_equal(&want, &got, path);
	keys_equal(&want_other, &got_other, path);

	r53_list_deinit(&rl);
	json_decref(doc);
	keys_free(&want);
	keys_free(&want_other);
	keys_free(&got);
	keys_free(&got_other);
	json_decref(sets);
	zl_list_deinit(&l);
}

static void walk(const char *dir, stats_t *st)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (d == NULL) {
		fail_msg("cannot open %s", dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char path[2048];
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			walk(path, st);
			continue;
		}
		size_t n = strlen(e->d_name);
		if (n > 5 && strcmp(e->d_name + n - 5, ".zone") == 0)
			round_trip(path, st);
	}
	closedir(d);
}

static void test_round_trip_fixtures(void **state)
{
	(void)state;
	stats_t st = { 0 };
	walk(R53D_FIXTURES "/zones", &st);
	walk(R53D_TEST_DATA, &st);
	print_message("round trip: %zu files, %zu converted (%zu sets, %zu Route 53 records, "
		      "%zu others), %zu do not load, %zu refused\n",
		      st.files, st.converted, st.sets, st.records, st.other_records,
		      st.skipped_load, st.refused);
	assert_true(st.converted >= 10);
	assert_true(st.records >= 100);
	assert_true(st.other_records >= 10);
	assert_true(st.skipped_load >= 3); /* syntax, include-error, include-missing, unknown-type */
	assert_int_equal(st.refused, 1);  /* outofzone.zone */
}

/* A scratch directory for zone files written by the tests. */
static char tmpdir[64];

static const char *write_zone(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Names and values with every awkward byte survive the trip. */
static void test_round_trip_escapes(void **state)
{
	(void)state;
	static const char head[] =
		"$ORIGIN Esc.Test.\n$TTL 300\n"
		"@ SOA ns1 hostmaster 1 7200 900 1209600 86400\n"
		"@ NS ns1\n"
		"ns1 A 192.0.2.1\n"
		"*.W A 192.0.2.2\n"
		"\\034q\\(p\\)\\;s\\\\b\\.d\\@\\$ A 192.0.2.3\n"
		"\\000\\001\\031\\127\\128\\255 A 192.0.2.4\n"
		"sp\\032ace\\009tab TXT \"x\"\n"
		"UPPER.Case A 192.0.2.5\n"
		"c1 CNAME \\034q\\(p\\)\\;s\\\\b\\.d\\@\\$.esc.test.\n"
		"c2 CNAME \\000\\255\\032.Esc.Test.\n"
		"c3 CNAME *.W.esc.test.\n"
		"c4 CNAME \\@.esc.test.\n"
		"\\@ A 192.0.2.6\n"
		"a.*.b A 192.0.2.7\n"
		"c5 CNAME a.*.b.esc.test.\n"
		"mx MX 0 .\n"
		"mx MX 65535 \\(mail\\).esc.test.\n"
		"srv SRV 0 0 1 \\;x.esc.test.\n"
		"naptr NAPTR 1 2 \"a\\\\b\" \"\\\"q\\\"\" \"!^(.*)$!\\\\1\\009!\" .\n"
		"caa CAA 0 issue \"a\\\"b;c\\\\d\\255\"\n"
		"caa CAA 0 tbs \"\"\n"
		"empty TXT \"\"\n"
		"empty TXT \"\" \"\"\n"
		"dup A 192.0.2.9\n"
		"dup A 192.0.2.9\n"
		"dup 60 A 192.0.2.10\n";
	/* one TXT string with every byte value */
	char *text = malloc(sizeof(head) + (size_t)256 * 4 + 64);
	assert_non_null(text);
	size_t n = (size_t)snprintf(text, sizeof(head) + 16, "%sall TXT \"", head);
	for (int c = 0; c < 255; c++) /* 255 bytes: one character-string */
		n += (size_t)sprintf(text + n, "\\%03d", c + 1);
	strcpy(text + n, "\"\n");
	const char *path = write_zone("esc.test.zone", text);
	free(text);

	stats_t st = { 0 };
	round_trip(path, &st);
	assert_int_equal(st.converted, 1);

	json_t *sets = NULL;
	char err[512];
	assert_int_equal(r53p_zone_file_sets(path, "esc.test", &sets, err, sizeof(err)), ERR_OK);
	/* spot checks of the printed names, values and the merged TTL */
	size_t i;
	json_t *s;
	int seen = 0;
	json_array_foreach(sets, i, s) {
		const char *name = json_string_value(json_object_get(s, "Name"));
		const char *type = json_string_value(json_object_get(s, "Type"));
		json_t *rrs = json_object_get(s, "ResourceRecords");
		const char *v0 = json_string_value(json_object_get(json_array_get(rrs, 0), "Value"));
		if (strcmp(name, "\\052.w.esc.test.") == 0) {
			seen |= 1;
		} else if (strcmp(name, "\\042q\\050p\\051\\073s\\134b\\056d\\100\\044.esc.test.") == 0) {
			seen |= 2;
		} else if (strcmp(name, "\\000\\001\\037\\177\\200\\377.esc.test.") == 0) {
			seen |= 4;
		} else if (strcmp(name, "sp\\040ace\\011tab.esc.test.") == 0) {
			seen |= 8;
		} else if (strcmp(name, "upper.case.esc.test.") == 0) {
			seen |= 16;
		} else if (strcmp(name, "c2.esc.test.") == 0) {
			assert_string_equal(v0, "\\000\\377\\040.Esc.Test.");
			seen |= 32;
		} else if (strcmp(name, "dup.esc.test.") == 0) {
			assert_int_equal(json_integer_value(json_object_get(s, "TTL")), 60);
			assert_int_equal(json_array_size(rrs), 2);
			seen |= 64;
		} else if (strcmp(name, "caa.esc.test.") == 0) {
			assert_string_equal(v0, "0 issue \"a\\\"b;c\\\\d\\377\"");
			seen |= 128;
		} else if (strcmp(name, "all.esc.test.") == 0) {
			assert_true(strncmp(v0, "\"\\001\\002", 9) == 0);
			assert_non_null(strstr(v0, " !\\\"#$%&'()*+,-./0123456789:;<=>?@AB"));
			assert_non_null(strstr(v0, "[\\\\]^_`ab"));
			assert_non_null(strstr(v0, "|}~\\177\\200"));
			seen |= 256;
		}
		(void)type;
	}
	assert_int_equal(seen, 511);
	json_decref(sets);
}

static void test_zone_file_sets(void **state)
{
	(void)state;
	json_t *sets = NULL;
	char err[512] = "";

	assert_int_equal(r53p_zone_file_sets(R53D_TEST_DATA "/example.com.zone", "example.com",
					     &sets, err, sizeof(err)),
			 ERR_OK);
	/* apex NS before SOA; the apex sets first; wildcard printed in octal */
	json_t *s0 = json_array_get(sets, 0), *s1 = json_array_get(sets, 1),
	       *s2 = json_array_get(sets, 2);
	assert_string_equal(json_string_value(json_object_get(s0, "Name")), "example.com.");
	assert_string_equal(json_string_value(json_object_get(s0, "Type")), "MX");
	assert_string_equal(json_string_value(json_object_get(s1, "Type")), "NS");
	assert_string_equal(json_string_value(json_object_get(s2, "Type")), "SOA");
	assert_int_equal(json_integer_value(json_object_get(s2, "TTL")), 3600);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(s2, "ResourceRecords"), 0), "Value")),
			    "ns1.example.com. hostmaster.example.com. 2026112201 7200 900 1209600 300");
	char *dump = json_dumps(sets, JSON_COMPACT);
	assert_non_null(strstr(dump, "{\"Name\":\"\\\\052.wild.example.com.\",\"Type\":\"A\","
				     "\"TTL\":3600,\"ResourceRecords\":[{\"Value\":\"192.0.2.50\"}]}"));
	assert_non_null(strstr(dump, "{\"Name\":\"www.example.com.\",\"Type\":\"A\",\"TTL\":3600,"
				     "\"ResourceRecords\":[{\"Value\":\"192.0.2.10\"},{\"Value\":"
				     "\"192.0.2.11\"},{\"Value\":\"192.0.2.12\"},{\"Value\":"
				     "\"192.0.2.13\"}]}"));
	assert_non_null(strstr(dump, "{\"Name\":\"txt.example.com.\",\"Type\":\"TXT\",\"TTL\":3600,"
				     "\"ResourceRecords\":[{\"Value\":\"\\\"v=spf1 -all\\\" "
				     "\\\"second string\\\"\"}]}"));
	assert_non_null(strstr(dump, "{\"Name\":\"unk.example.com.\",\"Type\":\"TYPE65400\","
				     "\"TTL\":3600,\"ResourceRecords\":[{\"Value\":\"\\\\# 4 0a000001\"}]}"));
	free(dump);
	json_decref(sets);

	/* the lowest TTL of an RRset with two (tricky.test: www 300 and 1h30m) */
	assert_int_equal(r53p_zone_file_sets(R53D_FIXTURES "/zones/tricky.test.zone", "tricky.test",
					     &sets, err, sizeof(err)),
			 ERR_OK);
	dump = json_dumps(sets, JSON_COMPACT);
	assert_non_null(strstr(dump, "{\"Name\":\"www.tricky.test.\",\"Type\":\"A\",\"TTL\":300,"));
	assert_non_null(strstr(dump, "{\"Name\":\"a\\\\056b.tricky.test.\","));
	free(dump);
	json_decref(sets);

	/* errors: FILE:LINE: reason */
	sets = (json_t *)1;
	assert_int_equal(r53p_zone_file_sets(R53D_FIXTURES "/zones/bad/outofzone.zone", "example.com",
					     &sets, err, sizeof(err)),
			 ERR_INVAL);
	assert_null(sets);
	assert_non_null(strstr(err, "bad/outofzone.zone:7: out-of-zone record www.example.net."));
	assert_int_equal(r53p_zone_file_sets(R53D_FIXTURES "/zones/bad/syntax.zone", "example.com",
					     &sets, err, sizeof(err)),
			 ERR_PARSE);
	assert_non_null(strstr(err, "bad/syntax.zone:8:"));
	assert_int_equal(r53p_zone_file_sets(R53D_FIXTURES "/zones/bad/include-error.zone",
					     "example.com", &sets, err, sizeof(err)),
			 ERR_PARSE);
	assert_non_null(strstr(err, "include-bad.inc:3:"));
	assert_int_equal(r53p_zone_file_sets(R53D_FIXTURES "/zones/no-such.zone", "example.com",
					     &sets, err, sizeof(err)),
			 ERR_IO);
	const char *path = write_zone("class.zone", "$ORIGIN ch.test.\n$TTL 60\n"
						    "@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n"
						    "ns1 A 192.0.2.1\nv CH TXT \"x\"\n");
	assert_int_equal(r53p_zone_file_sets(path, "ch.test", &sets, err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "class.zone:6: class must be IN"));
	/* a Value longer than 4 characters a byte: an NSEC naming all 65536 types */
	size_t cap = 20000 + 256 * 34 * 2;
	char *z = malloc(cap);
	assert_non_null(z);
	int zn = snprintf(z, cap, "$ORIGIN nsec.test.\n$TTL 60\nn NSEC \\# %d 017800",
			  3 + 256 * 34);
	for (int w = 0; w < 256; w++) {
		zn += snprintf(z + zn, cap - (size_t)zn, "%02x20", w);
		for (int b = 0; b < 32; b++)
			zn += snprintf(z + zn, cap - (size_t)zn, "ff");
	}
	snprintf(z + zn, cap - (size_t)zn, "\n");
	path = write_zone("nsec.zone", z);
	free(z);
	assert_int_equal(r53p_zone_file_sets(path, "nsec.test", &sets, err, sizeof(err)), ERR_OK);
	const char *nsec = json_string_value(json_object_get(
		json_array_get(json_object_get(json_array_get(sets, 0), "ResourceRecords"), 0),
		"Value"));
	assert_non_null(nsec);
	assert_true(strlen(nsec) > 65535 * 4 + 64);
	assert_true(strncmp(nsec, "x. TYPE0 A NS ", 14) == 0);
	assert_non_null(strstr(nsec, " TYPE65535"));
	json_decref(sets);
	/* an empty file is no sets */
	path = write_zone("empty.zone", "; nothing\n");
	assert_int_equal(r53p_zone_file_sets(path, "empty.test", &sets, err, sizeof(err)), ERR_OK);
	assert_true(json_is_array(sets));
	assert_int_equal(json_array_size(sets), 0);
	json_decref(sets);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/r53d-present-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	static const char *const files[] = { "esc.test.zone", "class.zone", "empty.zone",
					     "nsec.zone", NULL };
	for (const char *const *f = files; *f != NULL; f++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", tmpdir, *f);
		unlink(path);
	}
	rmdir(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_name_canon),
		cmocka_unit_test(test_name_rev),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_type_name),
		cmocka_unit_test(test_rdata),
		cmocka_unit_test(test_zone_file_sets),
		cmocka_unit_test(test_round_trip_fixtures),
		cmocka_unit_test(test_round_trip_escapes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
