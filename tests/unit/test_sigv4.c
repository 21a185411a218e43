/* SPDX-License-Identifier: MIT */
/*
 * test_sigv4.c -- SigV4 verification against the AWS SigV4 test-suite vectors (2015-08-30,
 * service "service", us-east-1; each signature re-checked with botocore's SigV4Auth) and
 * against Route 53 requests signed by the real botocore and its CRT signer
 * (data/sigv4/NAME.req, made by data/sigv4/gen.py), plus tampering and malformed headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigv4.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_NOW 1440938160 /* 20150830T123600Z */
#define MAXH 32
#define MIN ((time_t)60)

/* ---- a request: headers, path, query, body ---- */

typedef struct treq {
	char method[16];
	char path[512];
	char query[1024];
	bool has_query;
	char region[64];
	time_t now;
	size_t nh;
	char name[MAXH][64];
	char value[MAXH][512];
	uint8_t body[8192];
	size_t body_len;
	char file[256];
} treq_t;

/* Copy src into dst[n], which must hold it. */
static void put_str(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);
	assert_true(l < n);
	memcpy(dst, src, l + 1);
}

static const char *lookup(void *ctx, const char *lower)
{
	treq_t *t = ctx;
	for (size_t i = 0; i < t->nh; i++)
		if (strcasecmp(t->name[i], lower) == 0)
			return t->value[i];
	return NULL;
}

static void set_header(treq_t *t, const char *name, const char *value)
{
	for (size_t i = 0; i < t->nh; i++) {
		if (strcasecmp(t->name[i], name) == 0) {
			put_str(t->value[i], sizeof(t->value[i]), value);
			return;
		}
	}
	assert_true(t->nh < MAXH);
	put_str(t->name[t->nh], sizeof(t->name[0]), name);
	put_str(t->value[t->nh], sizeof(t->value[0]), value);
	t->nh++;
}

static void del_header(treq_t *t, const char *name)
{
	for (size_t i = 0; i < t->nh; i++) {
		if (strcasecmp(t->name[i], name) == 0) {
			t->nh--;
			memmove(t->name[i], t->name[t->nh], sizeof(t->name[0]));
			memmove(t->value[i], t->value[t->nh], sizeof(t->value[0]));
			return;
		}
	}
}

static sigv4_req_t req_of(treq_t *t)
{
	sigv4_req_t r = {
		.method = t->method,
		.path = t->path,
		.query = t->has_query ? t->query : NULL,
		.header = lookup,
		.header_ctx = t,
		.body = t->body_len ? t->body : NULL,
		.body_len = t->body_len,
	};
	return r;
}

static const sigv4_cred_t good_cred[] = { { AKID, SECRET } };

static char last_err[512]; /* of the last verify() */

static int verify(treq_t *t, const sigv4_cred_t *c, size_t n, time_t now, char *region,
		  size_t rl)
{
	sigv4_req_t r = req_of(t);
	int ret = sigv4_verify(&r, c, n, now, region, rl, last_err, sizeof(last_err));
	if (ret == SIGV4_OK)
		assert_string_equal(last_err, "");
	else
		assert_true(last_err[0] != '\0');
	return ret;
}

/* verify() must give want; on failure name the request and quote the reason. */
#define EXPECT(t, want, ...)                                                               \
	do {                                                                               \
		int got_ = verify((t), __VA_ARGS__);                                       \
		if (got_ != (want))                                                        \
			fail_msg("%s: got %d, want %s: %s", (t)->file, got_, #want, last_err); \
	} while (0)

/* ---- the AWS test-suite vectors ---- */

typedef struct vec {
	const char *name, *method, *path, *query;
	const char *headers; /* "Name:value\n"... besides Host and X-Amz-Date */
	const char *body;
	const char *signed_headers, *sig;
} vec_t;

static const vec_t vectors[] = {
	{ "get-vanilla", "GET", "/", NULL, "", "", "host;x-amz-date",
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-query", "GET", "/", "", "", "", "host;x-amz-date",
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-empty-query-key", "GET", "/", "Param1=value1", "", "", "host;x-amz-date",
	  "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb" },
	{ "get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", "", "",
	  "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
	{ "get-vanilla-query-unreserved", "GET", "/",
	  "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
	  "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	  "", "", "host;x-amz-date",
	  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197" },
	{ "get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar", "", "", "host;x-amz-date",
	  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },
	/* the same, percent-encoded on the wire as clients send it */
	{ "get-vanilla-utf8-query (encoded)", "GET", "/", "%E1%88%B4=bar", "", "",
	  "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },
	{ "get-header-value-trim", "GET", "/", NULL, "My-Header1: value1\nMy-Header2: \"a   b   c\"\n",
	  "", "host;my-header1;my-header2;x-amz-date",
	  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
	{ "get-space", "GET", "/example space/", NULL, "", "", "host;x-amz-date",
	  "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741" },
	{ "get-utf8", "GET", "/\xe1\x88\xb4", NULL, "", "", "host;x-amz-date",
	  "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },
	{ "get-slashes", "GET", "//example//", NULL, "", "", "host;x-amz-date",
	  "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84" },
	{ "get-slash-pointless-dot", "GET", "/./example", NULL, "", "", "host;x-amz-date",
	  "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5" },
	{ "get-relative-relative", "GET", "/example1/example2/../..", NULL, "", "",
	  "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "post-vanilla", "POST", "/", NULL, "", "", "host;x-amz-date",
	  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
	{ "post-vanilla-query", "POST", "/", "Param1=value1", "", "", "host;x-amz-date",
	  "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },
	{ "post-header-value-case", "POST", "/", NULL, "My-Header1:VALUE1\n", "",
	  "host;my-header1;x-amz-date",
	  "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d" },
	{ "post-x-www-form-urlencoded", "POST", "/", NULL,
	  "Content-Type:application/x-www-form-urlencoded\n", "Param1=value1",
	  "content-type;host;x-amz-date",
	  "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
};

static void vec_build(const vec_t *v, treq_t *t, const char *sig)
{
	memset(t, 0, sizeof(*t));
	put_str(t->file, sizeof(t->file), v->name);
	put_str(t->method, sizeof(t->method), v->method);
	put_str(t->path, sizeof(t->path), v->path);
	if (v->query != NULL) {
		t->has_query = true;
		put_str(t->query, sizeof(t->query), v->query);
	}
	set_header(t, "Host", "example.amazonaws.com");
	set_header(t, "X-Amz-Date", "20150830T123600Z");
	for (const char *p = v->headers; *p;) {
		const char *nl = strchr(p, '\n'), *colon = strchr(p, ':');
		char name[64], value[512];
		snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
		snprintf(value, sizeof(value), "%.*s", (int)(nl - colon - 1), colon + 1);
		set_header(t, name, value);
		p = nl + 1;
	}
	t->body_len = strlen(v->body);
	memcpy(t->body, v->body, t->body_len);
	char auth[512];
	snprintf(auth, sizeof(auth),
		 "AWS4-HMAC-SHA256 Credential=" AKID "/20150830/us-east-1/service/aws4_request, "
		 "SignedHeaders=%s, Signature=%s",
		 v->signed_headers, sig != NULL ? sig : v->sig);
	set_header(t, "Authorization", auth);
}

static void test_suite_vectors(void **state)
{
	(void)state;
	treq_t *t = malloc(sizeof(*t));
	assert_non_null(t);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char region[32];
		vec_build(&vectors[i], t, NULL);
		EXPECT(t, SIGV4_OK, good_cred, 1, SUITE_NOW, region, sizeof(region));
		assert_string_equal(region, "us-east-1");
		/* one flipped hex digit of the signature */
		char bad[65];
		put_str(bad, sizeof(bad), vectors[i].sig);
		bad[10] = bad[10] == '0' ? '1' : '0';
		vec_build(&vectors[i], t, bad);
		EXPECT(t, SIGV4_MISMATCH, good_cred, 1, SUITE_NOW, region, sizeof(region));
	}
	free(t);
}

/* The Date header instead of X-Amz-Date (signature computed independently in Python). */
static void test_date_header(void **state)
{
	(void)state;
	treq_t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	strcpy(t->method, "GET");
	strcpy(t->path, "/");
	set_header(t, "Host", "example.amazonaws.com");
	set_header(t, "Date", "Sun, 30 Aug 2015 12:36:00 GMT");
	set_header(t, "Authorization",
		   "AWS4-HMAC-SHA256 Credential=" AKID "/20150830/us-east-1/service/aws4_request,"
		   "SignedHeaders=date;host,Signature="
		   "1262aceaf1a79c7f0b69fda81cd744572fcbe2e4c23b647b4de183cd5a0f1075");
	EXPECT(t, SIGV4_OK, good_cred, 1, SUITE_NOW, NULL, 0);
	/* neither date header */
	del_header(t, "Date");
	EXPECT(t, SIGV4_MALFORMED, good_cred, 1, SUITE_NOW, NULL, 0);
	set_header(t, "Date", "Sun, 30 Aug 2015 12:36:00 PST");
	EXPECT(t, SIGV4_MALFORMED, good_cred, 1, SUITE_NOW, NULL, 0);
	free(t);
}

/* x-amz-content-sha256: UNSIGNED-PAYLOAD is accepted only without a body. */
static void test_unsigned_payload(void **state)
{
	(void)state;
	treq_t *t = malloc(sizeof(*t));
	assert_non_null(t);
	vec_t v = vectors[0];
	v.signed_headers = "host;x-amz-content-sha256;x-amz-date";
	v.sig = "9b02fb7b5d0076fa47a0adda28c71e74ba4588334bc0139b8cd6bb87f16afe16";
	vec_build(&v, t, NULL);
	set_header(t, "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD");
	EXPECT(t, SIGV4_OK, good_cred, 1, SUITE_NOW, NULL, 0);
	t->body_len = 3;
	t->body[0] = 'a';
	t->body[1] = 'b';
	t->body[2] = 'c';
	EXPECT(t, SIGV4_MISMATCH, good_cred, 1, SUITE_NOW, NULL, 0);
	free(t);
}

/* ---- botocore fixtures ---- */

static void load_fixture(const char *name, treq_t *t)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/sigv4/%s", R53D_TEST_DATA, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	memset(t, 0, sizeof(*t));
	put_str(t->file, sizeof(t->file), name);
	char line[2048];
	bool body = false;
	while (!body && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#')
			continue;
		if (strcmp(line, "body") == 0) {
			body = true;
		} else if (strncmp(line, "method ", 7) == 0) {
			put_str(t->method, sizeof(t->method), line + 7);
		} else if (strncmp(line, "path ", 5) == 0) {
			put_str(t->path, sizeof(t->path), line + 5);
		} else if (strncmp(line, "query ", 6) == 0) {
			t->has_query = true;
			put_str(t->query, sizeof(t->query), line + 6);
		} else if (strncmp(line, "region ", 7) == 0) {
			put_str(t->region, sizeof(t->region), line + 7);
		} else if (strncmp(line, "now ", 4) == 0) {
			t->now = (time_t)strtoll(line + 4, NULL, 10);
		} else if (strncmp(line, "header ", 7) == 0) {
			char *colon = strchr(line + 7, ':');
			assert_non_null(colon);
			*colon = '\0';
			set_header(t, line + 7, colon + 2);
		} else {
			fail_msg("%s: bad line %s", name, line);
		}
	}
	assert_true(body);
	t->body_len = fread(t->body, 1, sizeof(t->body), f);
	assert_true(feof(f));
	fclose(f);
	assert_true(t->now > 0);
	assert_true(t->method[0] != '\0' && t->path[0] != '\0' && t->region[0] != '\0');
}

/* Run fn on every data/sigv4/NAME.req; returns the number run. */
static size_t each_fixture(void (*fn)(treq_t *t))
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/sigv4", R53D_TEST_DATA);
	DIR *d = opendir(dir);
	assert_non_null(d);
	treq_t *t = malloc(sizeof(*t));
	assert_non_null(t);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".req") != 0)
			continue;
		load_fixture(e->d_name, t);
		fn(t);
		n++;
	}
	closedir(d);
	free(t);
	return n;
}

static void fx_ok(treq_t *t)
{
	char region[64], akid[64], reg2[64], service[64];
	EXPECT(t, SIGV4_OK, good_cred, 1, t->now, region, sizeof(region));
	assert_string_equal(region, t->region);
	sigv4_req_t r = req_of(t);
	assert_int_equal(sigv4_parse(&r, akid, sizeof(akid), reg2, sizeof(reg2), service,
				     sizeof(service)),
			 SIGV4_OK);
	assert_string_equal(akid, AKID);
	assert_string_equal(reg2, t->region);
	assert_string_equal(service, "route53");
	/* a few minutes either way is fine */
	EXPECT(t, SIGV4_OK, good_cred, 1, t->now + 14 * MIN, NULL, 0);
	EXPECT(t, SIGV4_OK, good_cred, 1, t->now - 14 * MIN, NULL, 0);
}

static void test_botocore_fixtures(void **state)
{
	(void)state;
	assert_true(each_fixture(fx_ok) >= 7);
}

static void fx_wrong_secret(treq_t *t)
{
	const sigv4_cred_t c[] = { { AKID, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ" } };
	EXPECT(t, SIGV4_MISMATCH, c, 1, t->now, NULL, 0);
	/* wrong secret and stale: the signature is judged first */
	EXPECT(t, SIGV4_MISMATCH, c, 1, t->now + 3600, NULL, 0);
}

static void fx_unknown_key(treq_t *t)
{
	const sigv4_cred_t c[] = { { "AKIDOTHER", SECRET }, { "AKIDEXAMPLE2", SECRET } };
	EXPECT(t, SIGV4_UNKNOWN_KEY, c, 2, t->now, NULL, 0);
	EXPECT(t, SIGV4_UNKNOWN_KEY, NULL, 0, t->now, NULL, 0);
	/* the right key among others */
	const sigv4_cred_t c2[] = { { "AKIDOTHER", "x" }, { AKID, SECRET } };
	EXPECT(t, SIGV4_OK, c2, 2, t->now, NULL, 0);
}

static void fx_skew(treq_t *t)
{
	EXPECT(t, SIGV4_SKEW, good_cred, 1, t->now + 16 * MIN, NULL, 0);
	EXPECT(t, SIGV4_SKEW, good_cred, 1, t->now - 16 * MIN, NULL, 0);
	EXPECT(t, SIGV4_OK, good_cred, 1, t->now + 15 * MIN, NULL, 0);
}

static void fx_tamper(treq_t *t)
{
	treq_t *c = malloc(sizeof(*c));
	assert_non_null(c);
	if (t->body_len > 0) {
		*c = *t;
		c->body[c->body_len / 2] ^= 1;
		EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
		*c = *t;
		c->body_len--;
		EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
	}
	if (t->has_query) {
		*c = *t;
		char *p = strstr(c->query, "type=A");
		assert_non_null(p);
		p[5] = 'B';
		EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
		*c = *t;
		c->has_query = false;
		EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
		/* an extra parameter */
		*c = *t;
		strcat(c->query, "&x=1");
		EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
		/* the same pairs in another order are the same canonical query */
		*c = *t;
		char *amp = strchr(t->query, '&');
		snprintf(c->query, sizeof(c->query), "%s&%.*s", amp + 1, (int)(amp - t->query),
			 t->query);
		EXPECT(c, SIGV4_OK, good_cred, 1, c->now, NULL, 0);
	}
	/* path, method, host, date */
	*c = *t;
	strcat(c->path, "x");
	EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
	*c = *t;
	strcpy(c->method, strcmp(t->method, "GET") == 0 ? "DELETE" : "GET");
	EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
	*c = *t;
	set_header(c, "host", "127.0.0.1:18954");
	EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
	*c = *t;
	set_header(c, "x-amz-date", "20261205T173434Z");
	EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
	/* a signed header removed */
	*c = *t;
	del_header(c, "host");
	EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, NULL, 0);
	/* unsigned headers may change */
	*c = *t;
	set_header(c, "user-agent", "curl/8");
	set_header(c, "amz-sdk-request", "attempt=2");
	EXPECT(c, SIGV4_OK, good_cred, 1, c->now, NULL, 0);
	/* signed headers are compared trimmed and with blanks collapsed */
	*c = *t;
	char v[600];
	snprintf(v, sizeof(v), "  %s \t", lookup(t, "host"));
	set_header(c, "host", v);
	EXPECT(c, SIGV4_OK, good_cred, 1, c->now, NULL, 0);
	/* a different region in the scope breaks the signature */
	*c = *t;
	const char *a = lookup(t, "authorization");
	char auth[600];
	const char *r = strstr(a, t->region);
	snprintf(auth, sizeof(auth), "%.*sus-west-1%s", (int)(r - a), a, r + strlen(t->region));
	set_header(c, "authorization", auth);
	char region[64];
	EXPECT(c, SIGV4_MISMATCH, good_cred, 1, c->now, region, sizeof(region));
	assert_string_equal(region, "us-west-1");
	free(c);
}

static void test_negative(void **state)
{
	(void)state;
	assert_true(each_fixture(fx_wrong_secret) >= 7);
	assert_true(each_fixture(fx_unknown_key) >= 7);
	assert_true(each_fixture(fx_skew) >= 7);
	assert_true(each_fixture(fx_tamper) >= 7);
}

/* x-amz-content-sha256 must describe the body actually sent. */
static void test_content_sha256(void **state)
{
	(void)state;
	treq_t *t = malloc(sizeof(*t));
	assert_non_null(t);
	load_fixture("direct-content-sha256.req", t);
	EXPECT(t, SIGV4_OK, good_cred, 1, t->now, NULL, 0);
	t->body[0] = '[';
	EXPECT(t, SIGV4_MISMATCH, good_cred, 1, t->now, NULL, 0);
	free(t);
}

/* ---- Authorization header syntax ---- */

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"Basic QUtJRDpzZWNyZXQ=",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 ",
		"AWS4-HMAC-SHA1 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		/* missing components */
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date",
		"AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		/* bad credential scopes */
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request/x, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015083/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015083x/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830//service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws5_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		/* bad signed headers */
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=Host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		/* bad signatures */
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3g",
		/* duplicate, unknown, trailing components */
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Foo=bar, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31,",
	};
	treq_t *t = malloc(sizeof(*t));
	assert_non_null(t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vec_build(&vectors[0], t, NULL);
		set_header(t, "Authorization", bad[i]);
		sigv4_req_t r = req_of(t);
		char akid[64] = "x", region[64] = "x", service[64] = "x";
		int ret = sigv4_parse(&r, akid, sizeof(akid), region, sizeof(region), service,
				      sizeof(service));
		if (ret != SIGV4_MALFORMED)
			fail_msg("parse accepted [%s]", bad[i]);
		assert_string_equal(akid, "");
		char err[256];
		ret = sigv4_verify(&r, good_cred, 1, SUITE_NOW, region, sizeof(region), err,
				   sizeof(err));
		if (ret != SIGV4_MALFORMED)
			fail_msg("verify gave %d for [%s]", ret, bad[i]);
		assert_true(err[0] != '\0');
	}

	/* components in another order, no blanks after the commas: fine */
	vec_build(&vectors[0], t, NULL);
	set_header(t, "Authorization",
		   "AWS4-HMAC-SHA256 Signature="
		   "5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31,"
		   "SignedHeaders=host;x-amz-date,"
		   "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request");
	EXPECT(t, SIGV4_OK, good_cred, 1, SUITE_NOW, NULL, 0);

	/* host not signed */
	vec_build(&vectors[0], t, NULL);
	set_header(t, "Authorization",
		   "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
		   "aws4_request, SignedHeaders=x-amz-date, Signature="
		   "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	EXPECT(t, SIGV4_MALFORMED, good_cred, 1, SUITE_NOW, NULL, 0);

	/* credential date is not the request's date */
	vec_build(&vectors[0], t, NULL);
	set_header(t, "Authorization",
		   "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/"
		   "aws4_request, SignedHeaders=host;x-amz-date, Signature="
		   "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	EXPECT(t, SIGV4_MISMATCH, good_cred, 1, SUITE_NOW, NULL, 0);

	/* bad X-Amz-Date values */
	static const char *const dates[] = { "20150830T123600", "20150830 123600Z",
					     "20151330T123600Z", "20150230T123600Z",
					     "2015-08-30T12:36:00Z", "" };
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		vec_build(&vectors[0], t, NULL);
		set_header(t, "X-Amz-Date", dates[i]);
		EXPECT(t, SIGV4_MALFORMED, good_cred, 1, SUITE_NOW, NULL, 0);
	}

	/* outputs too small for the values */
	vec_build(&vectors[0], t, NULL);
	sigv4_req_t r = req_of(t);
	char akid[4], region[64], service[64];
	assert_int_equal(sigv4_parse(&r, akid, sizeof(akid), region, sizeof(region), service,
				     sizeof(service)),
			 SIGV4_MALFORMED);
	char small[4];
	EXPECT(t, SIGV4_MALFORMED, good_cred, 1, SUITE_NOW, small, sizeof(small));

	/* no Authorization at all */
	del_header(t, "Authorization");
	r = req_of(t);
	assert_int_equal(sigv4_parse(&r, akid, sizeof(akid), region, sizeof(region), service,
				     sizeof(service)),
			 SIGV4_UNSIGNED);
	EXPECT(t, SIGV4_UNSIGNED, good_cred, 1, SUITE_NOW, NULL, 0);
	free(t);
}

/* Odd query strings canonicalise without crashing and still verify when signed so. */
static void test_query_edges(void **state)
{
	(void)state;
	treq_t *t = malloc(sizeof(*t));
	assert_non_null(t);
	static const char *const q[] = { "&&", "=", "a", "%", "%zz=%4", "a=%41&a=%3d&&b",
					 "x=1+2", "%00=%FF" };
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		vec_build(&vectors[0], t, NULL);
		t->has_query = true;
		put_str(t->query, sizeof(t->query), q[i]);
		/* the vanilla signature was made for an empty query */
		if (strcmp(q[i], "&&") == 0)
			EXPECT(t, SIGV4_OK, good_cred, 1, SUITE_NOW, NULL, 0);
		else
			EXPECT(t, SIGV4_MISMATCH, good_cred, 1, SUITE_NOW, NULL, 0);
	}
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite_vectors),
		cmocka_unit_test(test_date_header),
		cmocka_unit_test(test_unsigned_payload),
		cmocka_unit_test(test_botocore_fixtures),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_content_sha256),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_query_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
