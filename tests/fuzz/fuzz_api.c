/* SPDX-License-Identifier: MIT */
/*
 * fuzz_api.c -- libFuzzer target for the Route 53 API request path: XML bodies through
 * xmlconv_parse and back through xmlconv_write, and, when the input starts with an HTTP
 * request line ("POST /path?query HTTP/1.1", headers, blank line, body), the headers
 * through sigv4_parse and sigv4_verify first.
 *
 * Oracles (each a trap):
 *   - a parsed body written back must parse again to the same root and the same JSON;
 *   - xmlconv_write may refuse a parsed body only with ERR_INVAL (a non-ASCII name);
 *   - any bytes written as an error message or a string value must give a document
 *     that parses (the writer replaces what XML cannot carry);
 *   - sigv4_parse and sigv4_verify agree on whether the header is well formed, and only
 *     return documented codes.
 */
#include "err.h"
#include "sigv4.h"
#include "xmlconv.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 32
#define FUZZ_NOW 1796492073 /* the time of tests/unit/data/sigv4 fixtures */

typedef struct hdrs {
	size_t n;
	char *name[MAXH];
	char *value[MAXH];
} hdrs_t;

static const char *lookup(void *ctx, const char *lower)
{
	const hdrs_t *h = ctx;
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->name[i], lower) == 0)
			return h->value[i];
	return NULL;
}

/* Take the body out of an evbuffer as a string; NULL if out of memory. */
static char *drain(struct evbuffer *b, size_t *len)
{
	*len = evbuffer_get_length(b);
	char *s = malloc(*len + 1);
	if (s == NULL)
		return NULL;
	evbuffer_remove(b, s, *len);
	s[*len] = '\0';
	return s;
}

/* The document in b must parse. */
static void must_parse(struct evbuffer *b)
{
	size_t len;
	char *s = drain(b, &len);
	if (s == NULL)
		return;
	char root[64], err[256];
	json_t *j = NULL;
	int ret = xmlconv_parse(s, len, root, sizeof(root), &j, err, sizeof(err));
	if (ret != ERR_OK && ret != ERR_NOMEM)
		__builtin_trap();
	json_decref(j);
	free(s);
}

/* Write arbitrary bytes as an error message and as a string value; both must parse. */
static void write_bytes(const char *s, size_t n)
{
	char *z = malloc(n + 1);
	struct evbuffer *b = evbuffer_new();
	json_t *o = json_object();
	if (z == NULL || b == NULL || o == NULL)
		goto out;
	memcpy(z, s, n);
	z[n] = '\0'; /* the message stops at the first NUL, as a C string does */
	if (xmlconv_error(b, 400, "MalformedInput", z, z) == ERR_OK)
		must_parse(b);
	if (json_object_set_new(o, "Value", json_stringn_nocheck(s, n)) == 0 &&
	    xmlconv_write(b, "R", o) == ERR_OK)
		must_parse(b);
out:
	json_decref(o);
	if (b != NULL)
		evbuffer_free(b);
	free(z);
}

static void body(const uint8_t *data, size_t size)
{
	char root[128], root2[128], err[256];
	json_t *j = NULL, *j2 = NULL;
	struct evbuffer *b = NULL;
	char *s = NULL;

	int ret = xmlconv_parse((const char *)data, size, root, sizeof(root), &j, err,
				sizeof(err));
	if (ret != ERR_OK) {
		if (ret != ERR_PARSE && ret != ERR_INVAL && ret != ERR_NOMEM)
			__builtin_trap();
		if (ret != ERR_NOMEM && err[0] == '\0')
			__builtin_trap();
		goto out;
	}
	b = evbuffer_new();
	if (b == NULL)
		goto out;
	ret = xmlconv_write(b, root, j);
	if (ret != ERR_OK) {
		if (ret != ERR_INVAL && ret != ERR_NOMEM)
			__builtin_trap();
		goto out;
	}
	size_t len;
	s = drain(b, &len);
	if (s == NULL)
		goto out;
	ret = xmlconv_parse(s, len, root2, sizeof(root2), &j2, err, sizeof(err));
	if (ret == ERR_NOMEM)
		goto out;
	if (ret != ERR_OK || strcmp(root, root2) != 0 || !json_equal(j, j2))
		__builtin_trap();
out:
	free(s);
	if (b != NULL)
		evbuffer_free(b);
	json_decref(j);
	json_decref(j2);
}

/* "METHOD /target HTTP/1.1\r\n" then "Name: value\r\n"... "\r\n" then the body. */
static bool request(const uint8_t *data, size_t size)
{
	size_t m = 0;
	while (m < size && m < 16 && data[m] >= 'A' && data[m] <= 'Z')
		m++;
	if (m == 0 || m + 1 >= size || data[m] != ' ' || data[m + 1] != '/')
		return false;

	char *copy = malloc(size + 1);
	if (copy == NULL)
		return true;
	memcpy(copy, data, size);
	copy[size] = '\0';
	hdrs_t h = { 0 };
	char *method = copy, *p = copy + m;
	*p++ = '\0';
	char *target = p;
	char *eol = strchr(target, '\n');
	if (eol == NULL)
		goto out;
	*eol = '\0';
	if (eol > target && eol[-1] == '\r')
		eol[-1] = '\0';
	char *sp = strchr(target, ' ');
	if (sp != NULL)
		*sp = '\0';
	char *query = strchr(target, '?');
	if (query != NULL)
		*query++ = '\0';
	p = eol + 1;
	while (*p != '\0' && *p != '\r' && *p != '\n' && h.n < MAXH) {
		char *e = strchr(p, '\n');
		if (e != NULL) {
			*e = '\0';
			if (e > p && e[-1] == '\r')
				e[-1] = '\0';
		}
		char *colon = strchr(p, ':');
		if (colon != NULL) {
			*colon = '\0';
			char *v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			h.name[h.n] = p;
			h.value[h.n] = v;
			h.n++;
		}
		if (e == NULL) {
			p += strlen(p);
			break;
		}
		p = e + 1;
	}
	if (*p == '\r')
		p++;
	if (*p == '\n')
		p++;
	/* the body: the rest of the input, NULs included */
	size_t off = (size_t)(p - copy);
	const uint8_t *bd = off < size ? data + off : NULL;
	size_t blen = off < size ? size - off : 0;

	sigv4_req_t r = { .method = method, .path = target, .query = query,
			  .header = lookup, .header_ctx = &h, .body = bd, .body_len = blen };
	/* outputs as large as the input, so that only the syntax decides */
	char *akid = malloc(size + 1), *region = malloc(size + 1), *service = malloc(size + 1);
	char err[256];
	if (akid == NULL || region == NULL || service == NULL) {
		free(akid);
		free(region);
		free(service);
		goto out;
	}
	int pr = sigv4_parse(&r, akid, size + 1, region, size + 1, service, size + 1);
	if (pr != SIGV4_OK && pr != SIGV4_UNSIGNED && pr != SIGV4_MALFORMED)
		__builtin_trap();
	static const sigv4_cred_t creds[] = {
		{ "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
	};
	int vr = sigv4_verify(&r, creds, 1, FUZZ_NOW, region, size + 1, err, sizeof(err));
	free(akid);
	free(region);
	free(service);
	if (vr < SIGV4_SKEW || vr > SIGV4_UNSIGNED)
		__builtin_trap();
	if ((pr == SIGV4_UNSIGNED) != (vr == SIGV4_UNSIGNED))
		__builtin_trap();
	if (pr == SIGV4_MALFORMED && vr != SIGV4_MALFORMED)
		__builtin_trap();
	if (bd != NULL)
		body(bd, blen);
out:
	free(copy);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!request(data, size))
		body(data, size);
	write_bytes((const char *)data, size < 4096 ? size : 4096);
	return 0;
}
