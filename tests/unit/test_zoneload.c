/* SPDX-License-Identifier: MIT */
/*
 * test_zoneload.c -- the zone file reader (zones/zone_load.c, libzscanner): what a new
 * parser could get wrong. Multi-line records and their start lines, escapes in names,
 * $INCLUDE with an origin, the largest rdata, a file without a final newline, NUL bytes,
 * names grown past 255 bytes by $ORIGIN, records the scanner refuses and ldns reads, and
 * an error naming FILE:LINE for every broken file (fixtures in tests/fixtures/zones/parser,
 * large or binary files written to a scratch directory by the tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "zone_load.h"

#define P R53D_FIXTURES "/zones/parser/"

static char tmpdir[64];

/* Write a scratch file (n bytes of text) and return its path (static buffer). */
static const char *put(const char *name, const char *text, size_t n)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, n, fp), n);
	fclose(fp);
	return path;
}

static const char *puts0(const char *name, const char *text)
{
	return put(name, text, strlen(text));
}

/* Name text to lower-cased wire (what zl_rr_t.owner holds). */
static size_t wire(const char *name, uint8_t *out)
{
	ldns_rdf *d = NULL;
	assert_int_equal(ldns_str2rdf_dname(&d, name), LDNS_STATUS_OK);
	size_t n = ldns_rdf_size(d);
	memcpy(out, ldns_rdf_data(d), n);
	ldns_rdf_deep_free(d);
	for (size_t i = 0; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (uint8_t)(out[i] + 32);
	return n;
}

/* The k-th record (0-based) with this owner and type, or NULL. */
static const zl_rr_t *find(const zl_list_t *l, const char *owner, uint16_t type, int k)
{
	uint8_t o[256];
	size_t n = wire(owner, o);
	for (size_t i = 0; i < l->n; i++)
		if (l->rr[i].type == type && l->rr[i].ownerlen == n &&
		    memcmp(l->rr[i].owner, o, n) == 0 && k-- == 0)
			return &l->rr[i];
	return NULL;
}

static void rdata_is(const zl_rr_t *r, const void *want, size_t n)
{
	assert_non_null(r);
	assert_int_equal(r->rdlen, n);
	assert_memory_equal(r->rdata, want, n);
}

/* Load a file that must fail: the code and "FILE:LINE:" in the message. */
static void expect_error(const char *path, const char *origin, int code, const char *file,
			 int line)
{
	zl_list_t l;
	char err[1024] = "", want[300];
	int ret = zl_load(path, origin, &l, err, sizeof(err));
	zl_list_deinit(&l);
	snprintf(want, sizeof(want), "%s:%d:", file, line);
	if (ret != code || strstr(err, want) == NULL)
		fail_msg("%s: got %d '%s', want %d with '%s'", path, ret, err, code, want);
}

static void load_ok(const char *path, const char *origin, zl_list_t *l)
{
	char err[1024] = "";
	int ret = zl_load(path, origin, l, err, sizeof(err));
	if (ret != ERR_OK)
		fail_msg("%s: %d %s", path, ret, err);
}

static void test_multiline(void **state)
{
	(void)state;
	zl_list_t l;
	load_ok(P "multiline.zone", "parser.test.", &l);
	assert_int_equal(l.n, 11);

	const zl_rr_t *soa = find(&l, "parser.test.", LDNS_RR_TYPE_SOA, 0);
	assert_non_null(soa);
	assert_int_equal(soa->line, 4);
	assert_int_equal(soa->ttl, 300);
	static const uint8_t soa_tail[] = { 0x78, 0xc4, 0x25, 0x35, 0, 0, 0x1c, 0x20, 0, 0, 0x03,
					    0x84, 0, 0x12, 0x75, 0, 0, 0, 0x01, 0x2c };
	assert_memory_equal(soa->rdata + soa->rdlen - 20, soa_tail, 20);
	/* the blank owner after a multi-line record is its owner; the line after it counts */
	const zl_rr_t *ns = find(&l, "parser.test.", LDNS_RR_TYPE_NS, 0);
	assert_non_null(ns);
	assert_int_equal(ns->line, 9);
	assert_int_equal(find(&l, "ns1.parser.test.", LDNS_RR_TYPE_A, 0)->line, 10);

	/* strings over four lines, with ';' and '(' inside quotes and comments between */
	static const char txt[] = "\015first string;"
				  "\021second ( string )"
				  "\014third\"string"
				  "\010unquoted";
	const zl_rr_t *t = find(&l, "long.parser.test.", LDNS_RR_TYPE_TXT, 0);
	rdata_is(t, txt, sizeof(txt) - 1);
	assert_int_equal(t->line, 12);
	assert_int_equal(find(&l, "after.parser.test.", LDNS_RR_TYPE_A, 0)->line, 16);
	const zl_rr_t *p = find(&l, "paren.parser.test.", LDNS_RR_TYPE_A, 0);
	rdata_is(p, "\300\000\002\003", 4);
	assert_int_equal(p->line, 17);

	/* TTL and class in either order; the default TTL stays $TTL */
	const zl_rr_t *a = find(&l, "a.parser.test.", LDNS_RR_TYPE_A, 0);
	assert_int_equal(a->ttl, 60);
	assert_int_equal(a->rclass, LDNS_RR_CLASS_IN);
	assert_int_equal(a->line, 19);
	assert_int_equal(find(&l, "b.parser.test.", LDNS_RR_TYPE_A, 0)->ttl, 120);
	const zl_rr_t *b6 = find(&l, "b.parser.test.", LDNS_RR_TYPE_AAAA, 0);
	assert_int_equal(b6->ttl, 300);
	assert_int_equal(b6->line, 21);
	assert_int_equal(find(&l, "c.parser.test.", LDNS_RR_TYPE_TXT, 0)->ttl, 5400);
	rdata_is(find(&l, "empty.parser.test.", LDNS_RR_TYPE_TXT, 0), "\0", 1);
	for (size_t i = 0; i < l.n; i++)
		assert_non_null(strstr(l.rr[i].file, "parser/multiline.zone"));
	zl_list_deinit(&l);
}

static void test_escapes(void **state)
{
	(void)state;
	zl_list_t l;
	load_ok(P "escapes.zone", "escapes.test.", &l);
	assert_non_null(find(&l, "abc.escapes.test.", LDNS_RR_TYPE_A, 0));
	const zl_rr_t *r = find(&l, "a\\.b.escapes.test.", LDNS_RR_TYPE_A, 0);
	assert_non_null(r);
	assert_int_equal(r->owner[0], 3);
	assert_memory_equal(r->owner + 1, "a.b", 3);
	r = find(&l, "sp\\032ace.escapes.test.", LDNS_RR_TYPE_A, 0);
	assert_non_null(r);
	assert_memory_equal(r->owner, "\006sp ace", 7);
	r = find(&l, "\\000\\255.escapes.test.", LDNS_RR_TYPE_A, 0);
	assert_non_null(r);
	assert_memory_equal(r->owner, "\002\000\377", 3);
	/* owners lower-cased, names in rdata as written */
	r = find(&l, "upper.case.escapes.test.", LDNS_RR_TYPE_CNAME, 0);
	assert_non_null(r);
	assert_memory_equal(r->owner, "\005upper\004case", 11);
	rdata_is(r, "\006Target\007Escapes\004TEST\000", 21);
	r = find(&l, "semi\\;colon.escapes.test.", LDNS_RR_TYPE_TXT, 0);
	rdata_is(r, "\003a;b", 4);
	zl_list_deinit(&l);

	/* \@ is the label "@", also in rdata (ldns read such a name as the origin) */
	const char *path = puts0("at.zone", "$ORIGIN at.test.\n\\@ A 192.0.2.1\n"
					    "c CNAME \\@.at.test.\nd CNAME \\064.x.\ne CNAME @\n");
	load_ok(path, "at.test.", &l);
	assert_non_null(find(&l, "\\@.at.test.", LDNS_RR_TYPE_A, 0));
	rdata_is(find(&l, "c.at.test.", LDNS_RR_TYPE_CNAME, 0), "\001@\002at\004test\000", 11);
	rdata_is(find(&l, "d.at.test.", LDNS_RR_TYPE_CNAME, 0), "\001@\001x\000", 5);
	rdata_is(find(&l, "e.at.test.", LDNS_RR_TYPE_CNAME, 0), "\002at\004test\000", 9);
	zl_list_deinit(&l);
}

static void test_include_origin(void **state)
{
	(void)state;
	zl_list_t l;
	load_ok(P "include.zone", "include.test.", &l);
	/* relative origin argument: sub.include.test.; $ORIGIN inside stays inside */
	const zl_rr_t *r = find(&l, "sub.include.test.", LDNS_RR_TYPE_A, 0);
	assert_non_null(r);
	assert_non_null(strstr(r->file, "parser/inc/sub.inc"));
	assert_int_equal(r->line, 2);
	assert_non_null(find(&l, "www.sub.include.test.", LDNS_RR_TYPE_A, 0));
	assert_non_null(find(&l, "x.deeper.sub.include.test.", LDNS_RR_TYPE_A, 0));
	r = find(&l, "after1.include.test.", LDNS_RR_TYPE_A, 0);
	assert_non_null(r);
	assert_non_null(strstr(r->file, "parser/include.zone"));
	assert_int_equal(r->line, 8);
	/* absolute origin argument */
	assert_non_null(find(&l, "www.other.include.test.", LDNS_RR_TYPE_A, 0));
	assert_non_null(find(&l, "x.deeper.other.include.test.", LDNS_RR_TYPE_A, 0));
	assert_non_null(find(&l, "after2.include.test.", LDNS_RR_TYPE_A, 0));
	/* no origin argument: the includer's; a blank owner in the included file */
	r = find(&l, "plain.include.test.", LDNS_RR_TYPE_TXT, 0);
	assert_non_null(r);
	assert_int_equal(r->line, 3);
	assert_non_null(strstr(r->file, "parser/inc/plain.inc"));
	assert_non_null(find(&l, "after3.include.test.", LDNS_RR_TYPE_A, 0));
	assert_int_equal(l.n, 14);
	assert_int_equal(l.n_files, 4);
	zl_list_deinit(&l);

	/* an error inside the included file names that file and its line */
	expect_error(P "bad-include.zone", "include.test.", ERR_PARSE, "parser/inc/bad.inc", 3);
	/* a missing include names the including line and the file */
	const char *path = puts0("missing.zone", "$ORIGIN m.test.\n\n$INCLUDE nope.inc\n");
	expect_error(path, "m.test.", ERR_PARSE, "missing.zone", 3);
	/* a file including itself stops at the nesting limit */
	expect_error(P "bad-loop.zone", "bad.test.", ERR_LIMIT, "parser/bad-loop.zone", 4);
	/* an include path relative to the including file's directory, also when nested */
	char text[512];
	snprintf(text, sizeof(text), "$ORIGIN r.test.\n$INCLUDE %s/inc/sub.inc\n", P);
	path = puts0("abs.zone", text);
	load_ok(path, "r.test.", &l);
	assert_non_null(find(&l, "x.deeper.r.test.", LDNS_RR_TYPE_A, 0));
	zl_list_deinit(&l);
}

static void test_bad_files(void **state)
{
	(void)state;
	static const struct {
		const char *file, *origin;
		int line;
	} bad[] = {
		{ "bad-paren.zone", "bad.test.", 5 },
		{ "bad-unterminated.zone", "bad.test.", 5 },
		{ "bad-quote.zone", "bad.test.", 4 },
		{ "bad-escape.zone", "bad.test.", 5 },
		{ "bad-multiline-rdata.zone", "bad.test.", 6 },
		{ "bad-owner.zone", "bad.test.", 4 },
		{ "bad-txt-long.zone", "bad.test.", 4 },
		{ "bad-directive.zone", "bad.test.", 4 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[512], name[300];
		snprintf(path, sizeof(path), P "%s", bad[i].file);
		snprintf(name, sizeof(name), "parser/%s", bad[i].file);
		expect_error(path, bad[i].origin, ERR_PARSE, name, bad[i].line);
	}
	zl_list_t l;
	char err[512] = "";
	assert_int_equal(zl_load(P "no-such.zone", "x.test.", &l, err, sizeof(err)), ERR_IO);
	assert_non_null(strstr(err, "no-such.zone: cannot open"));
	zl_list_deinit(&l);
	assert_int_equal(zl_load(P "multiline.zone", "bad..name", &l, err, sizeof(err)), ERR_INVAL);
	zl_list_deinit(&l);
}

/* The largest rdata: TYPE65280 \# 65535 (a generated file), and one byte more. */
static void test_big_rdata(void **state)
{
	(void)state;
	size_t cap = 65536 * 2 + 4096, n = 0;
	char *z = malloc(cap);
	assert_non_null(z);
	n += (size_t)snprintf(z + n, cap - n, "$ORIGIN big.test.\nbig 60 TYPE65280 \\# 65535 (\n");
	for (int i = 0; i < 65535; i++) {
		n += (size_t)snprintf(z + n, cap - n, "%02x", i % 251);
		if (i % 32 == 31)
			z[n++] = '\n';
	}
	n += (size_t)snprintf(z + n, cap - n, " )\nnext A 192.0.2.1\n");
	const char *path = put("big.zone", z, n);
	zl_list_t l;
	load_ok(path, "big.test.", &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.rr[0].type, 65280);
	assert_int_equal(l.rr[0].rdlen, 65535);
	for (int i = 0; i < 65535; i++)
		if (l.rr[0].rdata[i] != i % 251)
			fail_msg("byte %d", i);
	assert_int_equal(l.rr[0].line, 2);
	assert_int_equal(l.rr[1].line, 2051);
	/* a copy holds the same */
	zl_list_t copy;
	assert_int_equal(zl_list_copy(&copy, &l), ERR_OK);
	assert_int_equal(copy.n, 2);
	assert_memory_equal(copy.rr[0].rdata, l.rr[0].rdata, 65535);
	zl_list_deinit(&copy);
	zl_list_deinit(&l);

	/* 65536 bytes do not fit */
	n = (size_t)snprintf(z, cap, "$ORIGIN big.test.\nbig 60 TYPE65280 \\# 65536 ");
	for (int i = 0; i < 65536; i++)
		n += (size_t)snprintf(z + n, cap - n, "00");
	z[n++] = '\n';
	path = put("big2.zone", z, n);
	expect_error(path, "big.test.", ERR_PARSE, "big2.zone", 2);
	/* and a TXT record of 65535 bytes, 257 strings split over lines */
	n = (size_t)snprintf(z, cap, "$ORIGIN big.test.\nt TXT (\n");
	for (int s = 0; s < 257; s++) {
		int len = s < 256 ? 254 : 65535 - 256 * 255 - 1;
		z[n++] = '"';
		memset(z + n, 'a' + s % 26, (size_t)len);
		n += (size_t)len;
		n += (size_t)snprintf(z + n, cap - n, "\"\n");
	}
	n += (size_t)snprintf(z + n, cap - n, ")");
	path = put("bigtxt.zone", z, n);
	load_ok(path, "big.test.", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.rr[0].rdlen, 65535);
	assert_int_equal(l.rr[0].rdata[0], 254);
	zl_list_deinit(&l);
	free(z);
}

static void test_no_final_newline(void **state)
{
	(void)state;
	zl_list_t l;
	const char *path = puts0("nonl.zone", "$ORIGIN n.test.\na A 192.0.2.1\nb A 192.0.2.2");
	load_ok(path, "n.test.", &l);
	assert_int_equal(l.n, 2);
	rdata_is(find(&l, "b.n.test.", LDNS_RR_TYPE_A, 0), "\300\000\002\002", 4);
	assert_int_equal(l.rr[1].line, 3);
	zl_list_deinit(&l);
	/* a comment last, a multi-line record last, a directive last */
	path = puts0("nonl2.zone", "$ORIGIN n.test.\na A 192.0.2.1 ; c");
	load_ok(path, "n.test.", &l);
	assert_int_equal(l.n, 1);
	zl_list_deinit(&l);
	path = puts0("nonl3.zone", "$ORIGIN n.test.\nt TXT ( \"x\"\n \"y\" )");
	load_ok(path, "n.test.", &l);
	assert_int_equal(l.n, 1);
	rdata_is(&l.rr[0], "\001x\001y", 4);
	zl_list_deinit(&l);
	path = puts0("nonl4.zone", "$ORIGIN n.test.\n$TTL 60");
	load_ok(path, "n.test.", &l);
	assert_int_equal(l.n, 0);
	zl_list_deinit(&l);
	/* and a bad last record without its newline */
	path = puts0("nonl5.zone", "$ORIGIN n.test.\na A 192.0.2.1\nb A 192.0.2.");
	expect_error(path, "n.test.", ERR_PARSE, "nonl5.zone", 3);
	/* an empty file, and a file of blank lines and comments only */
	load_ok(puts0("empty.zone", ""), "n.test.", &l);
	assert_int_equal(l.n, 0);
	zl_list_deinit(&l);
	load_ok(puts0("blank.zone", "\n \n\t; c\n( )\n"), "n.test.", &l);
	assert_int_equal(l.n, 0);
	zl_list_deinit(&l);
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char z1[] = "$ORIGIN n.test.\na A 192.0.2.1\nb A 192.0.2.2\0junk\n";
	expect_error(put("nul1.zone", z1, sizeof(z1) - 1), "n.test.", ERR_PARSE, "nul1.zone", 3);
	static const char z2[] = "$ORIGIN n.test.\n\n\n; comment \0\na A 192.0.2.1\n";
	expect_error(put("nul2.zone", z2, sizeof(z2) - 1), "n.test.", ERR_PARSE, "nul2.zone", 4);
	static const char z3[] = "$ORIGIN n.test.\nt TXT ( \"a\"\n\"b\0c\" )\n";
	expect_error(put("nul3.zone", z3, sizeof(z3) - 1), "n.test.", ERR_PARSE, "nul3.zone", 3);
	static const char z4[] = "\0";
	expect_error(put("nul4.zone", z4, 1), "n.test.", ERR_PARSE, "nul4.zone", 1);
}

/* Relative $ORIGINs growing the origin past 255 bytes; names too long in records. */
static void test_deep_origin(void **state)
{
	(void)state;
	size_t cap = 10000 * 12 + 256, n = 0;
	char *z = malloc(cap);
	assert_non_null(z);
	n += (size_t)snprintf(z + n, cap - n, "$ORIGIN deep.test.\n");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(z + n, cap - n, "$ORIGIN a\n");
	/* deep.test. is 11 bytes; each "a" adds 2: 122 of them make 255, the 123rd fails */
	expect_error(put("deep.zone", z, n), "deep.test.", ERR_PARSE, "deep.zone", 124);

	/* a record at the deepest origin that fits (a 255-byte owner), then one below it */
	n = (size_t)snprintf(z, cap, "$ORIGIN deep.test.\n");
	for (int i = 0; i < 122; i++)
		n += (size_t)snprintf(z + n, cap - n, "$ORIGIN a\n");
	n += (size_t)snprintf(z + n, cap - n, "@ A 192.0.2.1\n");
	zl_list_t l;
	load_ok(put("deep2.zone", z, n), "deep.test.", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.rr[0].ownerlen, 255);
	assert_int_equal(l.rr[0].line, 124);
	zl_list_deinit(&l);
	n += (size_t)snprintf(z + n, cap - n, "b A 192.0.2.2\n");
	expect_error(put("deep2.zone", z, n), "deep.test.", ERR_PARSE, "deep2.zone", 125);

	/* one 10,000-label name on a line: $ORIGIN, an owner, a name in rdata */
	n = (size_t)snprintf(z, cap, "$ORIGIN deep.test.\n\n$ORIGIN ");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(z + n, cap - n, "a.");
	z[n++] = '\n';
	expect_error(put("deep3.zone", z, n), "deep.test.", ERR_PARSE, "deep3.zone", 3);
	n = (size_t)snprintf(z, cap, "$ORIGIN deep.test.\n");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(z + n, cap - n, "a.");
	n += (size_t)snprintf(z + n, cap - n, " A 192.0.2.1\n");
	expect_error(put("deep4.zone", z, n), "deep.test.", ERR_PARSE, "deep4.zone", 2);
	n = (size_t)snprintf(z, cap, "$ORIGIN deep.test.\nx CNAME ");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(z + n, cap - n, "a.");
	z[n++] = '\n';
	expect_error(put("deep5.zone", z, n), "deep.test.", ERR_PARSE, "deep5.zone", 2);
	/* a relative owner that fits alone but not with the origin */
	n = (size_t)snprintf(z, cap, "$ORIGIN deep.test.\n");
	for (int i = 0; i < 122; i++)
		n += (size_t)snprintf(z + n, cap - n, "a.");
	n += (size_t)snprintf(z + n, cap - n, "b A 192.0.2.1\n");
	expect_error(put("deep6.zone", z, n), "deep.test.", ERR_PARSE, "deep6.zone", 2);
	/* the same in the rdata of a record ldns reads (class CH): ldns does not check */
	n = (size_t)snprintf(z, cap, "$ORIGIN deep.test.\n\nx CH CNAME ");
	for (int i = 0; i < 122; i++)
		n += (size_t)snprintf(z + n, cap - n, "a.");
	n += (size_t)snprintf(z + n, cap - n, "b\n");
	expect_error(put("deep7.zone", z, n), "deep.test.", ERR_PARSE, "deep7.zone", 3);
	free(z);
}

/* Records libzscanner refuses and ldns reads (as the old reader did), and what follows. */
static void test_ldns_fallback(void **state)
{
	(void)state;
	const char *path = puts0("fb.zone", "$ORIGIN fb.test.\n$TTL 300\n"
					    "ch CH TXT \"chaos\"\n"
					    "\tA 192.0.2.1\n"
					    "hs 60 CLASS4 TYPE1 \\# 4 c0000202\n"
					    "mb MB mail\n"
					    "utf TXT \"caf\xc3\xa9\"\n"
					    "\tA 192.0.2.4\n"
					    "caf\xc3\xa9 A 192.0.2.5\n"
					    "after A 192.0.2.6\n");
	zl_list_t l;
	load_ok(path, "fb.test.", &l);
	assert_int_equal(l.n, 8);
	const zl_rr_t *r = find(&l, "ch.fb.test.", LDNS_RR_TYPE_TXT, 0);
	assert_non_null(r);
	assert_int_equal(r->rclass, LDNS_RR_CLASS_CH);
	assert_int_equal(r->line, 3);
	/* the previous owner after a record ldns read */
	r = find(&l, "ch.fb.test.", LDNS_RR_TYPE_A, 0);
	assert_non_null(r);
	assert_int_equal(r->line, 4);
	r = find(&l, "hs.fb.test.", LDNS_RR_TYPE_A, 0);
	assert_non_null(r);
	assert_int_equal(r->rclass, 4);
	assert_int_equal(r->ttl, 60);
	rdata_is(find(&l, "mb.fb.test.", LDNS_RR_TYPE_MB, 0), "\004mail\002fb\004test\000", 14);
	rdata_is(find(&l, "utf.fb.test.", LDNS_RR_TYPE_TXT, 0), "\005caf\303\251", 6);
	assert_non_null(find(&l, "utf.fb.test.", LDNS_RR_TYPE_A, 0));
	assert_non_null(find(&l, "caf\\195\\169.fb.test.", LDNS_RR_TYPE_A, 0));
	r = find(&l, "after.fb.test.", LDNS_RR_TYPE_A, 0);
	assert_non_null(r);
	assert_int_equal(r->line, 10);
	assert_int_equal(r->ttl, 300);
	zl_list_deinit(&l);

	/* refused by both: the scanner's reason, the line */
	expect_error(puts0("fb2.zone", "$ORIGIN fb.test.\nok A 192.0.2.1\nx CH A 1.2.3\n"),
		     "fb.test.", ERR_PARSE, "fb2.zone", 3);
	expect_error(puts0("fb3.zone", "$ORIGIN fb.test.\nok A 192.0.2.1\n\nx IN FOOBAR 1\n"),
		     "fb.test.", ERR_PARSE, "fb3.zone", 4);
}

static void test_crlf_and_defaults(void **state)
{
	(void)state;
	zl_list_t l;
	/* CRLF line ends; no $TTL: 3600; the origin's case kept in relative rdata names */
	const char *path = puts0("crlf.zone", "$ORIGIN Crlf.Test.\r\na A 192.0.2.1\r\n"
					      "m MX 10 ( mail\r\n )\r\n");
	load_ok(path, "crlf.test.", &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.rr[0].ttl, 3600);
	rdata_is(&l.rr[1], "\000\012\004mail\004Crlf\004Test\000", 18);
	zl_list_deinit(&l);
	/* the zone name is the first origin */
	load_ok(puts0("noorigin.zone", "www A 192.0.2.1\n"), "Zone.Test", &l);
	assert_non_null(find(&l, "www.zone.test.", LDNS_RR_TYPE_A, 0));
	zl_list_deinit(&l);
}

/* zl_push_rr (JSON record sets) still converts ldns records; owners are lower-cased. */
static void test_push_rr(void **state)
{
	(void)state;
	zl_list_t l;
	memset(&l, 0, sizeof(l));
	for (int i = 0; i < 3; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, "WWW.Example.COM. 60 IN A 192.0.2.1", 0,
						     NULL, NULL),
				 LDNS_STATUS_OK);
		assert_int_equal(zl_push_rr(&l, rr, "json", -1), ERR_OK);
	}
	assert_int_equal(l.n, 3);
	assert_memory_equal(l.rr[2].owner, "\003www\007example\003com", 17);
	assert_int_equal(l.rr[2].line, -1);
	assert_string_equal(l.rr[2].file, "json");
	zl_list_deinit(&l);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/r53d-zoneload-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_include_origin),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_big_rdata),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_deep_origin),
		cmocka_unit_test(test_ldns_fallback),
		cmocka_unit_test(test_crlf_and_defaults),
		cmocka_unit_test(test_push_rr),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
