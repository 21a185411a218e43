/* SPDX-License-Identifier: MIT */
/*
 * zone_load.c -- RFC 1035 zone file reader on top of ldns.
 *
 * ldns's own file reader drops the argument of $INCLUDE, so we split the file into
 * entries ourselves (an entry is one logical record: lines joined inside parentheses,
 * comments removed outside quotes) and hand each entry to ldns_rr_new_frm_str().
 */
#include "zone_load.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZL_MAX_INCLUDE_DEPTH 8
#define ZL_MAX_ENTRY 65536

/* State shared by a file and its includes. */
typedef struct zl_ctx {
	zl_list_t *out;     /* where records go */
	char *err;          /* error buffer */
	size_t errlen;      /* its size */
	uint32_t ttl;       /* current default TTL */
	bool ttl_set;       /* $TTL seen or a TTL given */
	ldns_rdf *prev;     /* previous owner */
} zl_ctx_t;

static int push_file(zl_list_t *l, const char *path, const char **saved)
{
	char **f = realloc(l->files, (l->n_files + 1) * sizeof(*f));
	if (f == NULL)
		return ERR_NOMEM;
	l->files = f;
	f[l->n_files] = strdup(path);
	if (f[l->n_files] == NULL)
		return ERR_NOMEM;
	*saved = f[l->n_files++];
	return ERR_OK;
}

/* Blob storage: owners and rdata of the records, in 1 MiB chunks freed with the list. */
typedef struct zl_chunk {
	struct zl_chunk *next;
	size_t used, size;
	uint8_t data[];
} zl_chunk_t;

static uint8_t *blob_put(zl_list_t *l, const uint8_t *p, size_t n)
{
	zl_chunk_t *c = l->blob;
	if (c == NULL || c->size - c->used < n) {
		/* Chunks grow from 512 bytes to 1 MiB: a record set of the API holds one list
		 * of a few records, a zone file one list of millions. */
		size_t size = c == NULL ? 512 : (c->size >= (1u << 19) ? (1u << 20) : c->size * 2);
		if (size < n)
			size = n;
		c = malloc(sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		c->used = 0;
		c->size = size;
		c->next = l->blob;
		l->blob = c;
	}
	uint8_t *dst = c->data + c->used;
	if (n > 0)
		memcpy(dst, p, n);
	c->used += n;
	return dst;
}

int zl_push_rr(zl_list_t *l, ldns_rr *rr, const char *file, int line)
{
	int ret = ERR_NOMEM;
	ldns_buffer *buf = NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		zl_rr_t *n = realloc(l->rr, cap * sizeof(*n));
		if (n == NULL)
			goto out;
		l->rr = n;
		l->cap = cap;
	}
	buf = ldns_buffer_new(256);
	if (buf == NULL)
		goto out;
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(buf) > 65535) {
		ret = ERR_PARSE;
		goto out;
	}
	ldns_rdf *o = ldns_rr_owner(rr);
	size_t olen = ldns_rdf_size(o);
	uint8_t *owner = blob_put(l, ldns_rdf_data(o), olen);
	uint8_t *rdata = blob_put(l, ldns_buffer_begin(buf), ldns_buffer_position(buf));
	if (owner == NULL || rdata == NULL)
		goto out;
	for (size_t i = 0; i < olen; i++)
		owner[i] = (uint8_t)tolower(owner[i]);
	l->rr[l->n++] = (zl_rr_t){
		.owner = owner, .ownerlen = (uint8_t)olen, .rdata = rdata,
		.rdlen = (uint16_t)ldns_buffer_position(buf), .ttl = ldns_rr_ttl(rr),
		.type = (uint16_t)ldns_rr_get_type(rr), .rclass = (uint16_t)ldns_rr_get_class(rr),
		.file = file, .line = line,
	};
	ret = ERR_OK;
out:
	ldns_buffer_free(buf);
	ldns_rr_free(rr);
	return ret;
}

/*
 * Read one entry into buf: comments stripped, parentheses removed and their lines joined.
 * Returns 1 with an entry, 0 at end of file, or a negative error.
 */
static int read_entry(FILE *fp, char *buf, size_t cap, int *line, int *start_line, char *err,
		      size_t errlen, const char *file)
{
	size_t n = 0;
	int depth = 0;
	bool quoted = false, escaped = false, comment = false, any = false;
	int c;

	*start_line = *line + 1;
	while ((c = getc(fp)) != EOF) {
		if (c == '\n') {
			(*line)++;
			comment = false;
			if (quoted) {
				snprintf(err, errlen, "%s:%d: newline inside a quoted string", file,
					 *line);
				return ERR_PARSE;
			}
			if (depth == 0) {
				if (any)
					break;
				n = 0;
				*start_line = *line + 1;
				continue;
			}
			c = ' ';
		}
		if (comment)
			continue;
		if (escaped) {
			escaped = false;
		} else if (c == '\\') {
			escaped = true;
		} else if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && c == ';') {
			comment = true;
			continue;
		} else if (!quoted && c == '(') {
			depth++;
			c = ' ';
		} else if (!quoted && c == ')') {
			if (--depth < 0) {
				snprintf(err, errlen, "%s:%d: unbalanced ')'", file, *line + 1);
				return ERR_PARSE;
			}
			c = ' ';
		}
		if (c == '\r')
			c = ' ';
		if (!isspace(c))
			any = true;
		if (n + 2 >= cap) {
			snprintf(err, errlen, "%s:%d: record too long", file, *start_line);
			return ERR_PARSE;
		}
		buf[n++] = (char)c;
	}
	if (depth > 0 || quoted) {
		snprintf(err, errlen, "%s:%d: unterminated %s at end of file", file, *start_line,
			 quoted ? "quoted string" : "'('");
		return ERR_PARSE;
	}
	/* trim trailing blanks */
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	return any ? 1 : 0;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Length of the token at s (a name, number or mnemonic; backslash escapes kept whole). */
static size_t token_len(const char *s)
{
	size_t n = 0;
	while (s[n] != '\0' && !is_blank(s[n])) {
		if (s[n] == '\\' && s[n + 1] != '\0')
			n++;
		n++;
	}
	return n;
}

static bool is_class_token(const char *s, size_t n)
{
	return (n == 2 && (strncasecmp(s, "IN", 2) == 0 || strncasecmp(s, "CH", 2) == 0 ||
			   strncasecmp(s, "HS", 2) == 0 || strncasecmp(s, "CS", 2) == 0)) ||
	       (n > 5 && strncasecmp(s, "CLASS", 5) == 0 && isdigit((unsigned char)s[5]));
}

/* A TTL: digits with optional BIND units (1h30m), as ldns_str2period reads them. */
static bool is_ttl_token(const char *s, size_t n)
{
	if (n == 0 || !isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && strchr("sSmMhHdDwW", s[i]) == NULL)
			return false;
	return true;
}

/*
 * RFC 1035 5.1 allows "<class> <TTL>" as well as "<TTL> <class>" before the type; ldns
 * reads only the second. Swap the two tokens in place when the class comes first.
 */
static void normalise_class_ttl(char *entry)
{
	char *p = entry;
	if (!isspace((unsigned char)*p))
		p += token_len(p); /* the owner */
	while (is_blank(*p))
		p++;
	size_t l1 = token_len(p);
	if (!is_class_token(p, l1))
		return;
	char *q = p + l1;
	while (is_blank(*q))
		q++;
	size_t l2 = token_len(q);
	char cls[16], ttl[64];
	if (!is_ttl_token(q, l2) || l1 >= sizeof(cls) || l2 >= sizeof(ttl))
		return;
	size_t gap = (size_t)(q - p) - l1;
	memcpy(cls, p, l1);
	memcpy(ttl, q, l2);
	memcpy(p, ttl, l2); /* "<class> <TTL>" becomes "<TTL> <class>", same length */
	memset(p + l2, ' ', gap);
	memcpy(p + l2 + gap, cls, l1);
}

/* Split "$DIRECTIVE arg1 [arg2]": returns the number of arguments found (0..2). */
static int directive_args(char *s, char **a1, char **a2)
{
	*a1 = *a2 = NULL;
	char *save = NULL;
	char *tok = strtok_r(s, " \t", &save); /* the directive itself */
	if (tok == NULL)
		return 0;
	*a1 = strtok_r(NULL, " \t", &save);
	if (*a1 == NULL)
		return 0;
	*a2 = strtok_r(NULL, " \t", &save);
	return *a2 ? 2 : 1;
}

static const char *status_reason(ldns_status st)
{
	switch (st) {
	case LDNS_STATUS_SYNTAX_TTL:
		return "bad TTL";
	case LDNS_STATUS_SYNTAX_TYPE_ERR:
		return "unknown or bad record type";
	case LDNS_STATUS_SYNTAX_CLASS_ERR:
		return "bad class";
	case LDNS_STATUS_SYNTAX_RDATA_ERR:
		return "bad rdata";
	default:
		return ldns_get_errorstr_by_id(st);
	}
}

static int load_file(zl_ctx_t *c, const char *path, ldns_rdf **origin, int depth);

/* Entries hold only spaces and tabs as blanks (read_entry turned the rest into spaces). */

/* Does the entry start with the directive name (any case) followed by a blank? */
static bool is_directive(const char *entry, const char *name)
{
	size_t n = strlen(name);
	return strnlen(entry, n + 1) == n + 1 && strncasecmp(entry, name, n) == 0 &&
	       is_blank(entry[n]); /* NOLINT(clang-analyzer-core.CallAndMessage): strnlen checked entry[n] */
}

static int do_include(zl_ctx_t *c, const char *cur, int line, char *entry, ldns_rdf *origin,
		      int depth)
{
	char *a1, *a2;
	if (directive_args(entry, &a1, &a2) < 1) {
		snprintf(c->err, c->errlen, "%s:%d: $INCLUDE needs a file name", cur, line);
		return ERR_PARSE;
	}
	if (depth + 1 > ZL_MAX_INCLUDE_DEPTH) {
		snprintf(c->err, c->errlen, "%s:%d: $INCLUDE nested too deeply", cur, line);
		return ERR_LIMIT;
	}
	char path[4096];
	const char *slash = strrchr(cur, '/');
	if (a1[0] == '/' || slash == NULL)
		snprintf(path, sizeof(path), "%s", a1);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - cur), cur, a1);
	/* The included file starts with the given origin or the current one, and its
	 * $ORIGIN changes do not leak back (RFC 1035 section 5.1). */
	ldns_rdf *sub = NULL;
	if (a2 != NULL) {
		if (ldns_str2rdf_dname(&sub, a2) != LDNS_STATUS_OK || sub == NULL) {
			snprintf(c->err, c->errlen, "%s:%d: bad $INCLUDE origin '%s'", cur, line, a2);
			return ERR_PARSE;
		}
		if (!ldns_dname_str_absolute(a2)) {
			ldns_rdf *abs = ldns_dname_cat_clone(sub, origin);
			ldns_rdf_deep_free(sub);
			sub = abs;
		}
	} else {
		sub = ldns_rdf_clone(origin);
	}
	if (sub == NULL)
		return ERR_NOMEM;
	int ret = load_file(c, path, &sub, depth + 1);
	if (ret == ERR_IO) {
		snprintf(c->err, c->errlen, "%s:%d: $INCLUDE %s: %s", cur, line, path,
			 strerror(errno));
	}
	ldns_rdf_deep_free(sub);
	return ret;
}

static int do_entry(zl_ctx_t *c, const char *file, const char *saved, int line, char *entry,
		    ldns_rdf **origin, int depth)
{
	if (entry[0] == '$') {
		if (is_directive(entry, "$INCLUDE"))
			return do_include(c, file, line, entry, *origin, depth);
		char *a1, *a2;
		if (is_directive(entry, "$ORIGIN")) {
			if (directive_args(entry, &a1, &a2) != 1) {
				snprintf(c->err, c->errlen, "%s:%d: $ORIGIN needs one name", file,
					 line);
				return ERR_PARSE;
			}
			ldns_rdf *o = NULL;
			if (ldns_str2rdf_dname(&o, a1) != LDNS_STATUS_OK || o == NULL) {
				snprintf(c->err, c->errlen, "%s:%d: bad $ORIGIN '%s'", file, line, a1);
				return ERR_PARSE;
			}
			if (!ldns_dname_str_absolute(a1)) {
				ldns_rdf *abs = ldns_dname_cat_clone(o, *origin);
				ldns_rdf_deep_free(o);
				o = abs;
				if (o == NULL)
					return ERR_NOMEM;
			}
			ldns_rdf_deep_free(*origin);
			*origin = o;
			return ERR_OK;
		}
		if (is_directive(entry, "$TTL")) {
			const char *endp = NULL;
			if (directive_args(entry, &a1, &a2) != 1) {
				snprintf(c->err, c->errlen, "%s:%d: $TTL needs one value", file, line);
				return ERR_PARSE;
			}
			uint32_t ttl = ldns_str2period(a1, &endp);
			if (endp == NULL || *endp != '\0' || ttl > 2147483647U) {
				snprintf(c->err, c->errlen, "%s:%d: bad $TTL '%s'", file, line, a1);
				return ERR_PARSE;
			}
			c->ttl = ttl;
			c->ttl_set = true;
			return ERR_OK;
		}
		snprintf(c->err, c->errlen, "%s:%d: unknown directive '%.20s'", file, line, entry);
		return ERR_PARSE;
	}
	if (isspace((unsigned char)entry[0]) && c->prev == NULL) {
		snprintf(c->err, c->errlen, "%s:%d: record without an owner name", file, line);
		return ERR_PARSE;
	}
	normalise_class_ttl(entry);
	ldns_rr *rr = NULL;
	ldns_rdf *prev = c->prev ? ldns_rdf_clone(c->prev) : NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, entry, c->ttl, *origin, &prev);
	if (st != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(prev);
		snprintf(c->err, c->errlen, "%s:%d: %s", file, line, status_reason(st));
		return ERR_PARSE;
	}
	if (prev != c->prev) {
		ldns_rdf_deep_free(c->prev);
		c->prev = prev;
	}
	if (c->prev == NULL || ldns_dname_compare(c->prev, ldns_rr_owner(rr)) != 0) {
		ldns_rdf_deep_free(c->prev);
		c->prev = ldns_rdf_clone(ldns_rr_owner(rr));
	}
	int ret = zl_push_rr(c->out, rr, saved, line);
	if (ret == ERR_PARSE)
		snprintf(c->err, c->errlen, "%s:%d: cannot convert rdata to wire format", file, line);
	return ret;
}

static int load_file(zl_ctx_t *c, const char *path, ldns_rdf **origin, int depth)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return ERR_IO;
	const char *saved = path;
	int ret = push_file(c->out, path, &saved);
	char *buf = malloc(ZL_MAX_ENTRY);
	if (buf == NULL)
		ret = ERR_NOMEM;
	int line = 0, start = 0;
	while (ret == ERR_OK) {
		int r = read_entry(fp, buf, ZL_MAX_ENTRY, &line, &start, c->err, c->errlen, path);
		if (r <= 0) {
			ret = r;
			break;
		}
		ret = do_entry(c, path, saved, start, buf, origin, depth);
		if (ret == ERR_IO) /* an include failed and said why */
			ret = ERR_PARSE;
	}
	free(buf);
	fclose(fp);
	return ret;
}

int zl_load(const char *path, const char *origin, zl_list_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	zl_ctx_t c = { .out = out, .err = err, .errlen = errlen, .ttl = 3600 };
	ldns_rdf *o = NULL;
	if (ldns_str2rdf_dname(&o, origin) != LDNS_STATUS_OK || o == NULL) {
		snprintf(err, errlen, "zone %s: bad zone name", origin);
		return ERR_INVAL;
	}
	int ret = load_file(&c, path, &o, 0);
	if (ret == ERR_IO)
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	ldns_rdf_deep_free(o);
	ldns_rdf_deep_free(c.prev);
	return ret;
}

int zl_list_copy(zl_list_t *dst, const zl_list_t *src)
{
	memset(dst, 0, sizeof(*dst));
	size_t bytes = 0;
	for (size_t i = 0; i < src->n; i++)
		bytes += src->rr[i].ownerlen + src->rr[i].rdlen;
	if (src->n > 0) {
		dst->rr = malloc(src->n * sizeof(*dst->rr));
		if (dst->rr == NULL)
			return ERR_NOMEM;
		dst->cap = src->n;
	}
	for (size_t i = 0; i < src->n; i++) {
		zl_rr_t r = src->rr[i];
		if (bytes > 0 && dst->blob == NULL) {
			zl_chunk_t *c = malloc(sizeof(*c) + bytes);
			if (c == NULL) {
				zl_list_deinit(dst);
				return ERR_NOMEM;
			}
			c->next = NULL;
			c->used = 0;
			c->size = bytes;
			dst->blob = c;
		}
		r.owner = blob_put(dst, src->rr[i].owner, r.ownerlen);
		r.rdata = blob_put(dst, src->rr[i].rdata, r.rdlen);
		dst->rr[dst->n++] = r;
	}
	return ERR_OK;
}

void zl_list_deinit(zl_list_t *l)
{
	free(l->rr);
	while (l->blob != NULL) {
		zl_chunk_t *next = l->blob->next;
		free(l->blob);
		l->blob = next;
	}
	for (size_t i = 0; i < l->n_files; i++)
		free(l->files[i]);
	free(l->files);
	memset(l, 0, sizeof(*l));
}
