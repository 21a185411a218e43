/* SPDX-License-Identifier: MIT */
/* sigv4.c -- AWS Signature Version 4 verification (see sigv4.h). */
#include "sigv4.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define ALGORITHM "AWS4-HMAC-SHA256"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
}

/* ---- the Authorization header ---- */

/* A piece of the header string. */
typedef struct slice {
	const char *p;
	size_t n;
} slice_t;

typedef struct auth {
	slice_t akid, date, region, service, aws4_request;
	slice_t signed_headers;
	uint8_t sig[SHA256_DIGEST_LENGTH];
} auth_t;

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool slice_eq(slice_t s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* RFC 9110 tchar, lower case only (SigV4 signs lower-case names). */
static bool header_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool split_credential(slice_t v, auth_t *a)
{
	slice_t *part[5] = { &a->akid, &a->date, &a->region, &a->service, &a->aws4_request };
	const char *p = v.p, *end = v.p + v.n;
	for (int i = 0; i < 5; i++) {
		const char *q = p;
		while (q < end && *q != '/')
			q++;
		if (q == p || (i < 4 && q == end) || (i == 4 && q != end))
			return false;
		part[i]->p = p;
		part[i]->n = (size_t)(q - p);
		p = q + 1;
	}
	if (a->date.n != 8)
		return false;
	for (size_t i = 0; i < 8; i++)
		if (a->date.p[i] < '0' || a->date.p[i] > '9')
			return false;
	for (size_t i = 0; i < v.n; i++)
		if ((unsigned char)v.p[i] <= ' ' || v.p[i] == 0x7f)
			return false;
	return slice_eq(a->aws4_request, "aws4_request");
}

static bool check_signed_headers(slice_t v)
{
	if (v.n == 0)
		return false;
	size_t len = 0;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] == ';') {
			if (len == 0)
				return false;
			len = 0;
		} else if (header_name_char(v.p[i]))
			len++;
		else
			return false;
	}
	return len > 0;
}

static bool decode_signature(slice_t v, uint8_t *sig)
{
	if (v.n != (size_t)2 * SHA256_DIGEST_LENGTH)
		return false;
	for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		int hi = hexval(v.p[2 * i]), lo = hexval(v.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		sig[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Parse "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". */
static int parse_auth(const char *h, auth_t *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	size_t alen = strlen(ALGORITHM);
	while (is_blank(*h))
		h++;
	if (strncmp(h, ALGORITHM, alen) != 0 || !is_blank(h[alen])) {
		seterr(err, errlen, "Authorization header: algorithm must be " ALGORITHM);
		return SIGV4_MALFORMED;
	}
	bool have_cred = false, have_sh = false, have_sig = false;
	const char *p = h + alen;
	for (;;) {
		while (is_blank(*p))
			p++;
		const char *comp = p;
		while (*p != '\0' && *p != ',')
			p++;
		slice_t c = { comp, (size_t)(p - comp) };
		while (c.n > 0 && is_blank(c.p[c.n - 1]))
			c.n--;
		const char *eq = memchr(c.p, '=', c.n);
		if (eq == NULL) {
			seterr(err, errlen, "Authorization header: component without '='");
			return SIGV4_MALFORMED;
		}
		slice_t key = { c.p, (size_t)(eq - c.p) };
		slice_t val = { eq + 1, c.n - key.n - 1 };
		bool ok;
		if (slice_eq(key, "Credential") && !have_cred) {
			have_cred = true;
			ok = split_credential(val, a);
		} else if (slice_eq(key, "SignedHeaders") && !have_sh) {
			have_sh = true;
			a->signed_headers = val;
			ok = check_signed_headers(val);
		} else if (slice_eq(key, "Signature") && !have_sig) {
			have_sig = true;
			ok = decode_signature(val, a->sig);
		} else {
			seterr(err, errlen, "Authorization header: unexpected component '%.*s'",
			       (int)(key.n > 40 ? 40 : key.n), key.p);
			return SIGV4_MALFORMED;
		}
		if (!ok) {
			seterr(err, errlen, "Authorization header: bad %.*s", (int)key.n, key.p);
			return SIGV4_MALFORMED;
		}
		if (*p == '\0')
			break;
		p++; /* ',' */
	}
	if (!have_cred || !have_sh || !have_sig) {
		seterr(err, errlen, "Authorization header: missing %s",
		       !have_cred ? "Credential" : !have_sh ? "SignedHeaders" : "Signature");
		return SIGV4_MALFORMED;
	}
	return SIGV4_OK;
}

static bool copy_out(slice_t s, char *dst, size_t dstlen)
{
	if (dst == NULL || s.n >= dstlen)
		return false;
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return true;
}

static void clear(char *dst, size_t dstlen)
{
	if (dst != NULL && dstlen > 0)
		dst[0] = '\0';
}

int sigv4_parse(const sigv4_req_t *r, char *akid, size_t akidlen, char *region,
		size_t regionlen, char *service, size_t servicelen)
{
	clear(akid, akidlen);
	clear(region, regionlen);
	clear(service, servicelen);
	const char *h = r->header(r->header_ctx, "authorization");
	if (h == NULL)
		return SIGV4_UNSIGNED;
	auth_t a;
	int ret = parse_auth(h, &a, NULL, 0);
	if (ret != SIGV4_OK)
		return ret;
	if (!copy_out(a.akid, akid, akidlen) || !copy_out(a.region, region, regionlen) ||
	    !copy_out(a.service, service, servicelen)) {
		clear(akid, akidlen);
		clear(region, regionlen);
		clear(service, servicelen);
		return SIGV4_MALFORMED;
	}
	return SIGV4_OK;
}

/* ---- dates ---- */

static bool digits(const char *s, size_t n, int *v)
{
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

static bool make_time(struct tm *tm, time_t *t)
{
	if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1 || tm->tm_mday > 31 ||
	    tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60 || tm->tm_year < 70)
		return false;
	struct tm copy = *tm;
	*t = timegm(&copy);
	/* reject dates timegm had to normalise (Feb 30) */
	return *t != (time_t)-1 && copy.tm_mday == tm->tm_mday && copy.tm_mon == tm->tm_mon;
}

/* "20150830T123600Z" */
static bool parse_iso_basic(const char *s, time_t *t)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se;
	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z' || !digits(s, 4, &y) ||
	    !digits(s + 4, 2, &mo) || !digits(s + 6, 2, &d) || !digits(s + 9, 2, &h) ||
	    !digits(s + 11, 2, &mi) || !digits(s + 13, 2, &se))
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return make_time(&tm, t);
}

/* RFC 9110 IMF-fixdate: "Sun, 30 Aug 2015 12:36:00 GMT" */
static bool parse_http_date(const char *s, time_t *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = { 0 };
	int d, y, h, mi, se;
	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0 ||
	    !digits(s + 5, 2, &d) || !digits(s + 12, 4, &y) || !digits(s + 17, 2, &h) ||
	    !digits(s + 20, 2, &mi) || !digits(s + 23, 2, &se))
		return false;
	int mon = -1;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months + (size_t)3 * (size_t)i, 3) == 0)
			mon = i;
	if (mon < 0)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return make_time(&tm, t);
}

#define ISO_LEN 80 /* "20150830T123600Z" is 16; room for any int snprintf may print */

static void fmt_iso_basic(time_t t, char out[ISO_LEN])
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, ISO_LEN, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- the canonical request ---- */

typedef struct sb {
	char *p;
	size_t len, cap;
	bool fail;
} sb_t;

static void sb_add(sb_t *s, const char *d, size_t n)
{
	if (s->fail)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *p = realloc(s->p, cap);
		if (p == NULL) {
			s->fail = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, d, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_str(sb_t *s, const char *d)
{
	sb_add(s, d, strlen(d));
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* Percent-decode s[0..n) and re-encode it per RFC 3986 into out; returns bytes written. */
static size_t reencode(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = (unsigned char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		}
		if (unreserved(c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

/*
 * Append the canonical URI of path as botocore, the CRT signer and the other SDKs compute
 * it for every service but S3: dot segments and empty segments removed (RFC 3986 5.2.4,
 * plus AWS's "//" rule), then each byte but unreserved ones and '/' percent-encoded --
 * so the path as received (already encoded once) is encoded a second time.
 * Returns false when out of memory.
 */
static bool canonical_uri(sb_t *s, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	if (path == NULL || *path == '\0') {
		sb_add(s, "/", 1);
		return true;
	}
	size_t plen = strlen(path), nseg = 1;
	for (size_t i = 0; i < plen; i++)
		if (path[i] == '/')
			nseg++;
	slice_t *seg = calloc(nseg, sizeof(*seg));
	if (seg == NULL)
		return false;
	size_t n = 0;
	for (const char *p = path, *end = path + plen; p <= end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		if (slash == NULL)
			slash = end;
		slice_t x = { p, (size_t)(slash - p) };
		if (slice_eq(x, "..")) {
			if (n > 0)
				n--;
		} else if (x.n > 0 && !slice_eq(x, ".")) {
			seg[n++] = x;
		}
		p = slash + 1;
	}
	if (path[0] == '/')
		sb_add(s, "/", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sb_add(s, "/", 1);
		for (size_t j = 0; j < seg[i].n; j++) {
			unsigned char c = (unsigned char)seg[i].p[j];
			if (unreserved(c)) {
				sb_add(s, (const char *)&c, 1);
			} else {
				char e[3] = { '%', hex[c >> 4], hex[c & 15] };
				sb_add(s, e, 3);
			}
		}
	}
	if (n > 0 && path[plen - 1] == '/')
		sb_add(s, "/", 1);
	free(seg);
	return true;
}

typedef struct qpair {
	const char *name;
	const char *value;
} qpair_t;

static int cmp_qpair(const void *a, const void *b)
{
	const qpair_t *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Append the canonical query string of q. Returns false when out of memory. */
static bool canonical_query(sb_t *s, const char *q)
{
	if (q == NULL || *q == '\0')
		return true;
	size_t qlen = strlen(q), npairs = 1;
	for (size_t i = 0; i < qlen; i++)
		if (q[i] == '&')
			npairs++;
	qpair_t *pairs = calloc(npairs, sizeof(*pairs));
	char *buf = malloc(3 * qlen + 2 * npairs + 1);
	bool ok = false;
	if (pairs == NULL || buf == NULL)
		goto out;
	size_t n = 0, at = 0;
	const char *p = q, *end = q + qlen;
	while (p <= end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (amp > p) {
			const char *eq = memchr(p, '=', (size_t)(amp - p));
			const char *nend = eq != NULL ? eq : amp;
			pairs[n].name = buf + at;
			at += reencode(p, (size_t)(nend - p), buf + at) + 1;
			pairs[n].value = buf + at;
			if (eq != NULL)
				at += reencode(eq + 1, (size_t)(amp - eq - 1), buf + at) + 1;
			else
				buf[at++] = '\0';
			n++;
		}
		p = amp + 1;
	}
	qsort(pairs, n, sizeof(*pairs), cmp_qpair);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sb_add(s, "&", 1);
		sb_str(s, pairs[i].name);
		sb_add(s, "=", 1);
		sb_str(s, pairs[i].value);
	}
	ok = true;
out:
	free(buf);
	free(pairs);
	return ok;
}

/* Append a header value trimmed, with inner runs of white space collapsed to one space. */
static void canonical_value(sb_t *s, const char *v)
{
	bool pending = false, any = false;
	for (; *v; v++) {
		char c = *v;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
			pending = any;
			continue;
		}
		if (pending)
			sb_add(s, " ", 1);
		pending = false;
		any = true;
		sb_add(s, v, 1);
	}
}

static void hex_encode(const uint8_t *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool hmac(const uint8_t *key, size_t keylen, const void *data, size_t len,
		 uint8_t out[SHA256_DIGEST_LENGTH])
{
	unsigned int olen = 0;
	return HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &olen) != NULL &&
	       olen == SHA256_DIGEST_LENGTH;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

int sigv4_verify(const sigv4_req_t *r, const sigv4_cred_t *creds, size_t n, time_t now,
		 char *region, size_t regionlen, char *err, size_t errlen)
{
	int ret = SIGV4_MISMATCH;
	sb_t cr = { 0 }, sts = { 0 };
	char *kbuf = NULL;
	size_t klen = 0;
	bool oom = false;
	auth_t a;

	clear(region, regionlen);
	clear(err, errlen);
	const char *h = r->header(r->header_ctx, "authorization");
	if (h == NULL) {
		seterr(err, errlen, "the request is not signed");
		return SIGV4_UNSIGNED;
	}
	ret = parse_auth(h, &a, err, errlen);
	if (ret != SIGV4_OK)
		return ret;
	if (region != NULL && regionlen > 0 && !copy_out(a.region, region, regionlen)) {
		seterr(err, errlen, "Authorization header: region too long");
		return SIGV4_MALFORMED;
	}

	const sigv4_cred_t *cred = NULL;
	for (size_t i = 0; i < n && cred == NULL; i++) {
		const char *id = creds[i].access_key_id;
		if (id != NULL && strlen(id) == a.akid.n && memcmp(id, a.akid.p, a.akid.n) == 0)
			cred = &creds[i];
	}
	if (cred == NULL || cred->secret == NULL) {
		seterr(err, errlen, "The security token included in the request is invalid.");
		return SIGV4_UNKNOWN_KEY;
	}

	/* the request time */
	char amzdate[ISO_LEN];
	time_t t;
	const char *d = r->header(r->header_ctx, "x-amz-date");
	bool date_ok;
	if (d != NULL) {
		date_ok = parse_iso_basic(d, &t);
	} else {
		d = r->header(r->header_ctx, "date");
		date_ok = d != NULL && (parse_http_date(d, &t) || parse_iso_basic(d, &t));
	}
	if (!date_ok) {
		seterr(err, errlen, "%s",
		       d == NULL ? "Authorization header requires existence of either a "
				   "'X-Amz-Date' or a 'Date' header."
				 : "the X-Amz-Date (or Date) header is not a valid date");
		return SIGV4_MALFORMED;
	}
	fmt_iso_basic(t, amzdate);

	/* host must be signed */
	bool host = false;
	for (const char *p = a.signed_headers.p, *end = p + a.signed_headers.n; p < end;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		if (semi == NULL)
			semi = end;
		if (semi - p == 4 && memcmp(p, "host", 4) == 0)
			host = true;
		p = semi + 1;
	}
	if (!host) {
		seterr(err, errlen, "'Host' must be a 'SignedHeader' in the AWS Authorization.");
		return SIGV4_MALFORMED;
	}
	ret = SIGV4_MISMATCH;
	if (memcmp(a.date.p, amzdate, 8) != 0) {
		seterr(err, errlen,
		       "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
		       "of date from HTTP: '%.8s' != '%.8s', from '%s'.",
		       a.date.p, amzdate, amzdate);
		goto out;
	}

	/* payload hash */
	uint8_t digest[SHA256_DIGEST_LENGTH];
	char body_hex[2 * SHA256_DIGEST_LENGTH + 1];
	static const uint8_t empty = 0;
	if (SHA256(r->body_len > 0 ? r->body : &empty, r->body_len, digest) == NULL) {
		oom = true;
		goto out;
	}
	hex_encode(digest, sizeof(digest), body_hex);
	const char *payload = body_hex;
	const char *csha = r->header(r->header_ctx, "x-amz-content-sha256");
	if (csha != NULL) {
		if (is_hex64(csha)) {
			if (strcasecmp(csha, body_hex) != 0) {
				seterr(err, errlen, "The provided 'x-amz-content-sha256' header "
						    "does not match what was computed.");
				goto out;
			}
		} else if (r->body_len > 0) {
			seterr(err, errlen, "x-amz-content-sha256 '%.40s' is not supported "
					    "with a request body", csha);
			goto out;
		}
		payload = csha;
	}

	/* canonical request */
	sb_str(&cr, r->method);
	sb_add(&cr, "\n", 1);
	if (!canonical_uri(&cr, r->path)) {
		oom = true;
		goto out;
	}
	sb_add(&cr, "\n", 1);
	if (!canonical_query(&cr, r->query)) {
		oom = true;
		goto out;
	}
	sb_add(&cr, "\n", 1);
	for (const char *p = a.signed_headers.p, *end = p + a.signed_headers.n; p < end;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		if (semi == NULL)
			semi = end;
		char name[128];
		size_t nl = (size_t)(semi - p);
		if (nl >= sizeof(name)) {
			seterr(err, errlen, "signed header name too long");
			ret = SIGV4_MALFORMED;
			goto out;
		}
		memcpy(name, p, nl);
		name[nl] = '\0';
		const char *v = r->header(r->header_ctx, name);
		if (v == NULL) {
			seterr(err, errlen, "signed header '%s' is missing from the request", name);
			goto out;
		}
		sb_add(&cr, name, nl);
		sb_add(&cr, ":", 1);
		canonical_value(&cr, v);
		sb_add(&cr, "\n", 1);
		p = semi + 1;
	}
	sb_add(&cr, "\n", 1);
	sb_add(&cr, a.signed_headers.p, a.signed_headers.n);
	sb_add(&cr, "\n", 1);
	sb_str(&cr, payload);
	if (cr.fail) {
		oom = true;
		goto out;
	}

	/* string to sign */
	char cr_hex[2 * SHA256_DIGEST_LENGTH + 1];
	if (SHA256((const uint8_t *)cr.p, cr.len, digest) == NULL) {
		oom = true;
		goto out;
	}
	hex_encode(digest, sizeof(digest), cr_hex);
	sb_str(&sts, ALGORITHM "\n");
	sb_str(&sts, amzdate);
	sb_add(&sts, "\n", 1);
	sb_add(&sts, a.date.p, a.date.n);
	sb_add(&sts, "/", 1);
	sb_add(&sts, a.region.p, a.region.n);
	sb_add(&sts, "/", 1);
	sb_add(&sts, a.service.p, a.service.n);
	sb_str(&sts, "/aws4_request\n");
	sb_str(&sts, cr_hex);
	if (sts.fail) {
		oom = true;
		goto out;
	}

	/* signing key: HMAC chain from "AWS4" + secret */
	size_t slen = strlen(cred->secret);
	klen = 4 + slen;
	kbuf = malloc(klen);
	if (kbuf == NULL) {
		oom = true;
		goto out;
	}
	memcpy(kbuf, "AWS4", 4);
	memcpy(kbuf + 4, cred->secret, slen);
	uint8_t k1[SHA256_DIGEST_LENGTH], k2[SHA256_DIGEST_LENGTH], sig[SHA256_DIGEST_LENGTH];
	bool hok = hmac((const uint8_t *)kbuf, klen, a.date.p, a.date.n, k1) &&
		   hmac(k1, sizeof(k1), a.region.p, a.region.n, k2) &&
		   hmac(k2, sizeof(k2), a.service.p, a.service.n, k1) &&
		   hmac(k1, sizeof(k1), "aws4_request", 12, k2) &&
		   hmac(k2, sizeof(k2), sts.p, sts.len, sig);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	if (!hok) {
		oom = true;
		goto out;
	}
	if (CRYPTO_memcmp(sig, a.sig, sizeof(sig)) != 0) {
		seterr(err, errlen,
		       "The request signature we calculated does not match the signature you "
		       "provided. Check your AWS Secret Access Key and signing method. "
		       "(canonical request SHA-256 %s)", cr_hex);
		goto out;
	}

	/* only a correctly signed request learns that it is stale */
	if (t < now - SIGV4_MAX_SKEW || t > now + SIGV4_MAX_SKEW) {
		char nowb[ISO_LEN], limb[ISO_LEN];
		bool early = t < now;
		fmt_iso_basic(now, nowb);
		fmt_iso_basic(early ? now - SIGV4_MAX_SKEW : now + SIGV4_MAX_SKEW, limb);
		seterr(err, errlen,
		       early ? "Signature expired: %s is now earlier than %s (%s - 15 min.)"
			     : "Signature not yet current: %s is still later than %s (%s + 15 min.)",
		       amzdate, limb, nowb);
		ret = SIGV4_SKEW;
		goto out;
	}
	ret = SIGV4_OK;
out:
	if (oom) {
		seterr(err, errlen, "internal error: out of memory while verifying the signature");
		ret = SIGV4_MISMATCH;
	}
	if (kbuf != NULL) {
		OPENSSL_cleanse(kbuf, klen);
		free(kbuf);
	}
	free(cr.p);
	free(sts.p);
	return ret;
}
