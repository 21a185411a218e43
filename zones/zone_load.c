/* SPDX-License-Identifier: MIT */
/*
 * zone_load.c -- RFC 1035 zone file reader on top of libzscanner (Knot DNS's scanner).
 *
 * A file is read into memory and split into entries here (an entry is one logical record
 * or directive: lines joined inside parentheses, comments and quotes respected), which
 * gives every record its file and start line and lets us keep our own directive rules:
 * relative $ORIGIN, $INCLUDE with an origin and paths relative to the including file,
 * $TTL and the previous owner shared with included files. Each record entry goes to the
 * scanner as it stands in the file; the scanner writes wire-format owner and rdata.
 *
 * The scanner knows only class IN and the type mnemonics Knot implements, and reads
 * unquoted text as ASCII only. A record it refuses is handed to ldns_rr_new_frm_str() as
 * the old reader did (its text with comments and parentheses removed), so every file the
 * ldns reader took still loads; when ldns refuses it too, the scanner's reason is given.
 */
#include "zone_load.h"
#include "err.h"

#include <libzscanner/scanner.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZL_MAX_INCLUDE_DEPTH 8
#define ZL_CLASS_IN 1

/* Blob storage: owners and rdata of the records, in chunks freed with the list. */
typedef struct zl_chunk {
	struct zl_chunk *next;
	size_t used, size;
	uint8_t data[];
} zl_chunk_t;

/* State shared by a file and its includes. */
typedef struct zl_ctx {
	zl_list_t *out;     /* where records go */
	char *err;          /* error buffer */
	size_t errlen;      /* its size */
	zs_scanner_t *s;    /* one scanner: default TTL and previous owner carry over */
	int cs0, top0;      /* the scanner's state at the start of a line (after zs_init) */
	int stack0[ZS_RAGEL_STACK_SIZE];
} zl_ctx_t;

/* One entry of a file: bytes [start, end) (end is past its newline, if any). */
typedef struct zl_entry {
	size_t start, end;
	int line;           /* line of its first byte */
} zl_entry_t;

/* "FILE:LINE: reason" into the error buffer; returns ERR_PARSE. */
static int fail(zl_ctx_t *c, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(zl_ctx_t *c, const char *file, int line, const char *fmt, ...)
{
	int n = snprintf(c->err, c->errlen, "%s:%d: ", file, line);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start just above */
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return ERR_PARSE;
}

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

static int grow_rr(zl_list_t *l)
{
	if (l->n < l->cap)
		return ERR_OK;
	size_t cap = l->cap ? l->cap * 2 : 4;
	zl_rr_t *n = realloc(l->rr, cap * sizeof(*n));
	if (n == NULL)
		return ERR_NOMEM;
	l->rr = n;
	l->cap = cap;
	return ERR_OK;
}

/*
 * Append one wire record. The owner is lower-cased; a record with the owner of the one
 * before it shares its bytes.
 */
static int push_wire(zl_list_t *l, const uint8_t *owner, size_t olen, const uint8_t *rdata,
		     size_t rdlen, uint16_t type, uint16_t rclass, uint32_t ttl, const char *file,
		     int line)
{
	uint8_t low[256];
	if (olen == 0 || olen > 255 || rdlen > 65535)
		return ERR_PARSE;
	if (grow_rr(l) != ERR_OK)
		return ERR_NOMEM;
	for (size_t i = 0; i < olen; i++) /* ASCII only (RFC 4343) */
		low[i] = owner[i] >= 'A' && owner[i] <= 'Z' ? (uint8_t)(owner[i] + 32) : owner[i];
	const uint8_t *o;
	if (l->n > 0 && l->rr[l->n - 1].ownerlen == olen &&
	    memcmp(l->rr[l->n - 1].owner, low, olen) == 0)
		o = l->rr[l->n - 1].owner;
	else
		o = blob_put(l, low, olen);
	const uint8_t *rd = blob_put(l, rdata, rdlen);
	if (o == NULL || rd == NULL)
		return ERR_NOMEM;
	l->rr[l->n++] = (zl_rr_t){
		.owner = o, .ownerlen = (uint8_t)olen, .rdata = rd, .rdlen = (uint16_t)rdlen,
		.ttl = ttl, .type = type, .rclass = rclass, .file = file, .line = line,
	};
	return ERR_OK;
}

int zl_push_rr(zl_list_t *l, ldns_rr *rr, const char *file, int line)
{
	int ret = ERR_NOMEM;
	ldns_buffer *buf = ldns_buffer_new(256);
	if (buf == NULL)
		goto out;
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(buf) > 65535) {
		ret = ERR_PARSE;
		goto out;
	}
	ldns_rdf *o = ldns_rr_owner(rr);
	ret = push_wire(l, ldns_rdf_data(o), ldns_rdf_size(o), ldns_buffer_begin(buf),
			ldns_buffer_position(buf), (uint16_t)ldns_rr_get_type(rr),
			(uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr), file, line);
out:
	ldns_buffer_free(buf);
	ldns_rr_free(rr);
	return ret;
}

/* ---- splitting a file into entries ---- */

/* Bytes the splitter looks at; everything else is part of a token. */
enum { CH_TOKEN = 0, CH_BLANK, CH_SPECIAL };
static const unsigned char ch_class[256] = {
	[' '] = CH_BLANK, ['\t'] = CH_BLANK, ['\v'] = CH_BLANK, ['\f'] = CH_BLANK,
	['\0'] = CH_SPECIAL, ['\n'] = CH_SPECIAL, ['\r'] = CH_SPECIAL, ['\\'] = CH_SPECIAL,
	['"'] = CH_SPECIAL, [';'] = CH_SPECIAL, ['('] = CH_SPECIAL, [')'] = CH_SPECIAL,
};

/* Is p (n bytes left) a backslash and three digits above 255? */
static bool ddd_over_255(const char *p, size_t n)
{
	if (n < 4 || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    !isdigit((unsigned char)p[3]))
		return false;
	return (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0') > 255;
}

/*
 * Find the next entry from *pos (line *line): blank lines and comments are skipped,
 * lines are joined inside parentheses. CRs become blanks (in buf). Returns 1 with an
 * entry, 0 at the end of the file, ERR_PARSE with a message.
 */
static int next_entry(zl_ctx_t *c, const char *file, char *buf, size_t len, size_t *pos,
		      int *line, zl_entry_t *e)
{
	size_t i = *pos;
	int depth = 0, cur = *line;
	bool quoted = false, escaped = false, any = false;

	e->start = e->end = i;
	e->line = cur;
	while (i < len) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch_class[ch] != CH_SPECIAL) {
			if (escaped)
				escaped = false;
			if (ch_class[ch] == CH_TOKEN)
				any = true;
			i++;
			continue;
		}
		switch (ch) {
		case '\n':
			if (quoted)
				return fail(c, file, cur, "newline inside a quoted string");
			cur++;
			i++;
			escaped = false;
			if (depth == 0) {
				if (any)
					goto done;
				e->start = i;
				e->line = cur;
			}
			continue;
		case '\0':
			return fail(c, file, cur, "NUL byte in the file");
		case '\r':
			buf[i++] = ' ';
			escaped = false;
			continue;
		case ';':
			if (escaped || quoted)
				break;
			/* a comment: to the end of the line */
			while (i < len && buf[i] != '\n') {
				if (buf[i] == '\0')
					return fail(c, file, cur, "NUL byte in the file");
				i++;
			}
			continue;
		case '\\':
			if (escaped)
				break;
			/* \DDD must be a byte value; libzscanner would wrap \256 to 0 in names */
			if (ddd_over_255(buf + i, len - i))
				return fail(c, file, cur, "escape \\%.3s is not a byte value",
					    buf + i + 1);
			escaped = true;
			any = true;
			i++;
			continue;
		case '"':
			if (!escaped)
				quoted = !quoted;
			break;
		case '(':
			if (!escaped && !quoted) {
				depth++;
				i++;
				continue;
			}
			break;
		case ')':
			if (!escaped && !quoted) {
				if (--depth < 0)
					return fail(c, file, cur, "unbalanced ')'");
				i++;
				continue;
			}
			break;
		default:
			break;
		}
		/* an ordinary byte of a token (escaped, or quoted) */
		escaped = false;
		any = true;
		i++;
	}
	if (depth > 0 || quoted)
		return fail(c, file, e->line, "unterminated %s at end of file",
			    quoted ? "quoted string" : "'('");
	if (!any) {
		*pos = i;
		*line = cur;
		return 0;
	}
done:
	e->end = i;
	*pos = i;
	*line = cur;
	return 1;
}

/*
 * The text of an entry as the old line reader gave it to ldns: comments removed,
 * parentheses and line breaks turned into blanks, trailing blanks trimmed. Caller frees.
 */
static char *entry_text(const char *p, size_t n)
{
	char *out = calloc(1, n + 1); /* zeroed: the analyzer loses track of the loop below */
	if (out == NULL)
		return NULL;
	size_t k = 0;
	bool quoted = false, escaped = false;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (escaped) {
			escaped = false;
		} else if (ch == '\\') {
			escaped = true;
		} else if (ch == '"') {
			quoted = !quoted;
		} else if (!quoted && ch == ';') {
			while (i + 1 < n && p[i + 1] != '\n')
				i++;
			continue;
		} else if (!quoted && (ch == '(' || ch == ')')) {
			ch = ' ';
		}
		if (ch == '\n' || ch == '\r')
			ch = ' ';
		out[k++] = ch;
	}
	while (k > 0 && isspace((unsigned char)out[k - 1]))
		k--;
	out[k] = '\0';
	return out;
}

/* ---- directives ---- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
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

/* Does the entry start with the directive name (any case) followed by a blank? */
static bool is_directive(const char *entry, const char *name)
{
	size_t n = strlen(name);
	return strnlen(entry, n + 1) == n + 1 && strncasecmp(entry, name, n) == 0 &&
	       is_blank(entry[n]); /* NOLINT(clang-analyzer-core.CallAndMessage): strnlen checked entry[n] */
}

/*
 * A name of a directive to wire: absolute, or relative to the current origin.
 * Returns ERR_OK, or ERR_PARSE with a reason in why.
 */
static int directive_name(zl_ctx_t *c, const char *text, uint8_t *wire, size_t *len,
			  const char **why)
{
	ldns_rdf *d = NULL;
	if (ldns_str2rdf_dname(&d, text) != LDNS_STATUS_OK || d == NULL) {
		*why = "not a domain name";
		return ERR_PARSE;
	}
	size_t n = ldns_rdf_size(d);
	if (n < 1 || n > 255) {
		ldns_rdf_deep_free(d);
		*why = "not a domain name";
		return ERR_PARSE;
	}
	if (ldns_dname_str_absolute(text)) {
		memcpy(wire, ldns_rdf_data(d), n);
		*len = n;
	} else {
		/* the relative labels (without the root label), then the origin */
		size_t olen = c->s->zone_origin_length;
		if (n - 1 + olen > 255) {
			ldns_rdf_deep_free(d);
			*why = "name longer than 255 bytes with the origin";
			return ERR_PARSE;
		}
		memcpy(wire, ldns_rdf_data(d), n - 1);
		memcpy(wire + n - 1, c->s->zone_origin, olen);
		*len = n - 1 + olen;
	}
	ldns_rdf_deep_free(d);
	return ERR_OK;
}

static int load_file(zl_ctx_t *c, const char *path, int depth);

static int do_include(zl_ctx_t *c, const char *cur, int line, char *entry, int depth)
{
	char *a1, *a2;
	if (directive_args(entry, &a1, &a2) < 1)
		return fail(c, cur, line, "$INCLUDE needs a file name");
	if (depth + 1 > ZL_MAX_INCLUDE_DEPTH) {
		fail(c, cur, line, "$INCLUDE nested too deeply");
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
	zs_scanner_t *s = c->s;
	uint8_t saved[255], sub[255];
	size_t saved_len = s->zone_origin_length, sub_len = saved_len;
	memcpy(saved, s->zone_origin, saved_len);
	memcpy(sub, saved, saved_len);
	if (a2 != NULL) {
		const char *why = NULL;
		if (directive_name(c, a2, sub, &sub_len, &why) != ERR_OK)
			return fail(c, cur, line, "bad $INCLUDE origin '%.300s': %s", a2, why);
	}
	memcpy(s->zone_origin, sub, sub_len);
	s->zone_origin_length = (uint32_t)sub_len;
	int ret = load_file(c, path, depth + 1);
	if (ret == ERR_IO)
		fail(c, cur, line, "$INCLUDE %s: %s", path, strerror(errno));
	memcpy(s->zone_origin, saved, saved_len);
	s->zone_origin_length = (uint32_t)saved_len;
	return ret;
}

static int do_directive(zl_ctx_t *c, const char *file, int line, char *entry, int depth)
{
	char *a1, *a2;
	if (is_directive(entry, "$INCLUDE"))
		return do_include(c, file, line, entry, depth);
	if (is_directive(entry, "$ORIGIN")) {
		if (directive_args(entry, &a1, &a2) != 1)
			return fail(c, file, line, "$ORIGIN needs one name");
		uint8_t o[255];
		size_t olen = 0;
		const char *why = NULL;
		if (directive_name(c, a1, o, &olen, &why) != ERR_OK)
			return fail(c, file, line, "bad $ORIGIN '%.300s': %s", a1, why);
		memcpy(c->s->zone_origin, o, olen);
		c->s->zone_origin_length = (uint32_t)olen;
		return ERR_OK;
	}
	if (is_directive(entry, "$TTL")) {
		const char *endp = NULL;
		if (directive_args(entry, &a1, &a2) != 1)
			return fail(c, file, line, "$TTL needs one value");
		uint32_t ttl = ldns_str2period(a1, &endp);
		if (endp == NULL || *endp != '\0' || ttl > 2147483647U)
			return fail(c, file, line, "bad $TTL '%.64s'", a1);
		c->s->default_ttl = ttl;
		return ERR_OK;
	}
	return fail(c, file, line, "unknown directive '%.20s'", entry);
}

/* ---- records ---- */

/* Back to the state the scanner is in at the start of a file (after an error). */
static void scanner_reset(zl_ctx_t *c)
{
	zs_scanner_t *s = c->s;
	s->cs = c->cs0;
	s->top = c->top0;
	memcpy(s->stack, c->stack0, sizeof(s->stack));
	s->multiline = false;
	s->long_string = false;
	s->comma_list = false;
	s->r_data_tail = 0;
	s->state = ZS_STATE_NONE;
	s->error.code = ZS_OK;
	s->error.fatal = false;
}

/* A token of the class/TTL swap below (a name, number or mnemonic; escapes kept whole). */
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

/*
 * A record the scanner refused (or read differently from our split): ldns reads its text.
 * err_line/reason: the scanner's complaint, reported when ldns refuses the record too.
 */
static int ldns_record(zl_ctx_t *c, const char *file, const char *saved, const char *buf,
		       const zl_entry_t *e, int err_line, const char *reason)
{
	zs_scanner_t *s = c->s;
	char *text = entry_text(buf + e->start, e->end - e->start);
	if (text == NULL)
		return ERR_NOMEM;
	ldns_rdf *prev = NULL, *origin = NULL;
	ldns_rr *rr = NULL;
	int ret = ERR_NOMEM;
	if (isspace((unsigned char)text[0]) && s->r_owner_length == 0) {
		ret = fail(c, file, e->line, "record without an owner name");
		goto out;
	}
	origin = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, s->zone_origin_length, s->zone_origin);
	if (s->r_owner_length > 0)
		prev = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, s->r_owner_length, s->r_owner);
	if (origin == NULL || (s->r_owner_length > 0 && prev == NULL))
		goto out;
	normalise_class_ttl(text);
	/* ldns frees prev and sets it to the record's owner when one is given */
	ldns_status st = ldns_rr_new_frm_str(&rr, text, s->default_ttl, origin, &prev);
	if (st != LDNS_STATUS_OK) {
		if (reason != NULL)
			ret = fail(c, file, err_line, "%s", reason);
		else
			ret = fail(c, file, e->line, "%s", status_reason(st));
		goto out;
	}
	/* ldns joins relative names to the origin without a length check */
	ldns_rdf *o = ldns_rr_owner(rr);
	bool long_name = ldns_rdf_size(o) > 255;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		ldns_rdf *f = ldns_rr_rdf(rr, i);
		if (ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME && ldns_rdf_size(f) > 255)
			long_name = true;
	}
	if (long_name) {
		ldns_rr_free(rr);
		ret = fail(c, file, e->line, "domain name longer than 255 bytes");
		goto out;
	}
	/* the owner of this record is the previous owner of the next */
	memcpy(s->r_owner, ldns_rdf_data(o), ldns_rdf_size(o));
	s->r_owner_length = (uint32_t)ldns_rdf_size(o);
	ret = zl_push_rr(c->out, rr, saved, e->line);
	if (ret == ERR_PARSE)
		fail(c, file, e->line, "cannot convert rdata to wire format");
out:
	scanner_reset(c);
	ldns_rdf_deep_free(prev);
	ldns_rdf_deep_free(origin);
	free(text);
	return ret;
}

/*
 * The scanner cuts a TXT or SPF string longer than 255 bytes into several; the old reader
 * (like NSD) refused it. A 255-byte string with another after it may be such a cut.
 */
static bool split_string(const zs_scanner_t *s)
{
	if (s->r_type != 16 && s->r_type != 99)
		return false;
	for (uint32_t i = 0; i < s->r_data_length; i += 1u + s->r_data[i])
		if (s->r_data[i] == 255 && i + 256 < s->r_data_length)
			return true;
	return false;
}

/* The scanner's reason for an error, and up to 40 bytes of the line where it stopped. */
static void scanner_reason(const zs_scanner_t *s, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "%s", zs_strerror(s->error.code));
	const uint8_t *b = s->buffer, *end = s->buffer + s->buffer_length;
	while (b < end && (*b == ' ' || *b == '\t'))
		b++;
	if (b == end || *b == '\0' || n + 48 > cap)
		return;
	n += (size_t)snprintf(out + n, cap - n, " at '");
	for (int k = 0; b < end && *b != '\0' && k < 40; b++, k++)
		out[n++] = *b == '\t' ? ' ' : isprint(*b) ? (char)*b : '?';
	snprintf(out + n, cap - n, "'");
}

/*
 * One record entry through the scanner. It starts at a line start; the newline before it
 * (the end of the previous entry, or a blank or comment line) goes in as well, so the
 * scanner, which stops on the newline that ends a record, always starts from a newline.
 */
static int do_record(zl_ctx_t *c, const char *file, const char *saved, const char *buf,
		     const zl_entry_t *e)
{
	zs_scanner_t *s = c->s;
	const char *from = buf + e->start;
	if (e->start > 0) {
		from--;
		s->line_counter = (uint64_t)e->line - 1;
	} else {
		scanner_reset(c);
		s->line_counter = (uint64_t)e->line;
	}
	bool nl = buf[e->end - 1] == '\n';
	if (zs_set_input_string(s, from, (size_t)(buf + e->end - from)) != 0 ||
	    zs_parse_record(s) != 0)
		s->state = ZS_STATE_ERROR;
	if (s->state == ZS_STATE_DATA &&
	    (nl ? s->input.current == buf + e->end - 1 : s->input.start != from)) {
		if (split_string(s))
			return ldns_record(c, file, saved, buf, e, e->line,
					   "a character-string longer than 255 bytes");
		int ret = push_wire(c->out, s->r_owner, s->r_owner_length, s->r_data,
				    s->r_data_length, s->r_type, s->r_class, s->r_ttl, saved,
				    e->line);
		if (ret == ERR_PARSE)
			fail(c, file, e->line, "bad record");
		return ret;
	}
	if (s->state == ZS_STATE_ERROR) {
		int line = (int)s->line_counter;
		if (line < e->line)
			line = e->line;
		char reason[160];
		scanner_reason(s, reason, sizeof(reason));
		return ldns_record(c, file, saved, buf, e, line, reason);
	}
	/* the scanner saw the entry end elsewhere than we did */
	return ldns_record(c, file, saved, buf, e, e->line, NULL);
}

/* Read a whole file (regular or not) into a new buffer. ERR_IO with errno set. */
static int read_all(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	struct stat st;
	size_t cap = 65536, n = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 1;
	char *buf = malloc(cap);
	int ret = buf ? ERR_OK : ERR_NOMEM;
	while (ret == ERR_OK) {
		if (n == cap) {
			char *b = realloc(buf, cap * 2);
			if (b == NULL) {
				ret = ERR_NOMEM;
				break;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = ERR_IO;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	int saved_errno = errno;
	close(fd);
	if (ret != ERR_OK) {
		free(buf);
		errno = saved_errno;
		return ret;
	}
	*out = buf;
	*len = n;
	return ERR_OK;
}

static int load_file(zl_ctx_t *c, const char *path, int depth)
{
	char *buf = NULL;
	size_t len = 0;
	int ret = read_all(path, &buf, &len);
	if (ret != ERR_OK)
		return ret;
	const char *saved = path;
	ret = push_file(c->out, path, &saved);
	size_t pos = 0;
	int line = 1;
	zl_entry_t e;
	while (ret == ERR_OK) {
		int r = next_entry(c, path, buf, len, &pos, &line, &e);
		if (r <= 0) {
			ret = r;
			break;
		}
		if (buf[e.start] == '$') {
			char *text = entry_text(buf + e.start, e.end - e.start);
			if (text == NULL) {
				ret = ERR_NOMEM;
				break;
			}
			ret = do_directive(c, path, e.line, text, depth);
			free(text);
			if (ret == ERR_IO) /* an include failed and said why */
				ret = ERR_PARSE;
		} else {
			ret = do_record(c, path, saved, buf, &e);
		}
	}
	free(buf);
	return ret;
}

int zl_load(const char *path, const char *origin, zl_list_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	ldns_rdf *o = NULL;
	if (ldns_str2rdf_dname(&o, origin) != LDNS_STATUS_OK || o == NULL ||
	    ldns_rdf_size(o) > 255) {
		ldns_rdf_deep_free(o);
		snprintf(err, errlen, "zone %s: bad zone name", origin);
		return ERR_INVAL;
	}
	zl_ctx_t c = { .out = out, .err = err, .errlen = errlen };
	c.s = malloc(sizeof(*c.s));
	if (c.s == NULL || zs_init(c.s, ".", ZL_CLASS_IN, 3600) != 0) {
		free(c.s);
		ldns_rdf_deep_free(o);
		snprintf(err, errlen, "%s: cannot set up the zone scanner", path);
		return ERR_NOMEM;
	}
	c.cs0 = c.s->cs;
	c.top0 = c.s->top;
	memcpy(c.stack0, c.s->stack, sizeof(c.stack0));
	memcpy(c.s->zone_origin, ldns_rdf_data(o), ldns_rdf_size(o));
	c.s->zone_origin_length = (uint32_t)ldns_rdf_size(o);
	ldns_rdf_deep_free(o);

	int ret = load_file(&c, path, 0);
	if (ret == ERR_IO)
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	else if (ret == ERR_NOMEM) /* nothing else says it */
		snprintf(err, errlen, "%s: out of memory", path);
	zs_deinit(c.s);
	free(c.s);
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
