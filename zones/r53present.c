/* SPDX-License-Identifier: MIT */
/*
 * r53present.c -- print names, types and rdata the way the Route 53 API does, and turn a
 * zone file into record sets.
 *
 * ldns formats rdata fields; we only rewrite its RFC 1035 decimal escapes ("\009") into
 * the octal ones Route 53 prints ("\011"), which is what r53json.c reads back.
 */
#include "r53present.h"
#include "err.h"
#include "zone_load.h"

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R53P_WIRE_MAX 255
#define R53P_TYPE_BUF 16
#define R53P_TEXT_MAX (64u << 20) /* the longest Value we print: 64 MiB */

static inline bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_odigit(int c)
{
	return c >= '0' && c <= '7';
}

static inline int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Characters Route 53 prints as themselves in a name (HZ-14). */
static inline bool name_plain(int c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_';
}

const char *r53p_name(const uint8_t *wire, size_t len, char *buf, size_t buflen)
{
	size_t pos = 0, n = 0;
	if (buflen == 0)
		return "";
	buf[0] = '\0';
	if (len > R53P_WIRE_MAX)
		len = R53P_WIRE_MAX;
	while (pos < len) {
		uint8_t l = wire[pos++];
		if (l == 0) {
			if (n == 0) { /* the root */
				if (buflen < 2)
					return buf;
				buf[n++] = '.';
			}
			buf[n] = '\0';
			return buf;
		}
		if (l > 63 || pos + l > len)
			break;
		for (size_t i = 0; i < l; i++) {
			int c = ascii_lower(wire[pos + i]);
			if (name_plain(c)) {
				if (n + 1 >= buflen)
					goto out;
				buf[n++] = (char)c;
			} else {
				if (n + 4 >= buflen)
					goto out;
				snprintf(buf + n, 5, "\\%03o", (unsigned)c);
				n += 4;
			}
		}
		pos += l;
		if (n + 1 >= buflen)
			goto out;
		buf[n++] = '.';
	}
out:
	buf[0] = '\0'; /* malformed (no root label) or does not fit */
	return buf;
}

/* Parse an API name (see r53p_name_canon) into lower-cased wire form. */
static int parse_name(const char *s, uint8_t *out, size_t *outlen)
{
	size_t n = 1, lab = 0;
	out[0] = 0;
	if (strcmp(s, ".") == 0) {
		*outlen = 1;
		return ERR_OK;
	}
	if (*s == '\0')
		return ERR_INVAL;
	while (*s != '\0') {
		int c;
		if (*s == '.') {
			if (out[lab] == 0)
				return ERR_INVAL; /* empty label */
			s++;
			if (*s == '\0')
				break;
			if (n >= R53P_WIRE_MAX - 1)
				return ERR_INVAL;
			lab = n;
			out[n++] = 0;
			continue;
		}
		if (*s == '\\') {
			if (is_digit(s[1])) {
				if (!is_digit(s[2]) || !is_digit(s[3]))
					return ERR_INVAL;
				if (is_odigit(s[1]) && is_odigit(s[2]) && is_odigit(s[3]))
					c = (s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0');
				else
					c = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
				if (c > 255)
					return ERR_INVAL;
				s += 4;
			} else if (s[1] != '\0') {
				c = (unsigned char)s[1];
				s += 2;
			} else {
				return ERR_INVAL;
			}
		} else {
			c = (unsigned char)*s++;
			if (c <= 0x20 || c >= 0x7f)
				return ERR_INVAL; /* HZ-12: must be escaped */
		}
		if (out[lab] == 63 || n >= R53P_WIRE_MAX - 1)
			return ERR_INVAL;
		out[lab]++;
		out[n++] = (uint8_t)ascii_lower(c);
	}
	out[n++] = 0;
	*outlen = n;
	return ERR_OK;
}

int r53p_name_canon(const char *text, char *buf, size_t buflen)
{
	uint8_t wire[R53P_WIRE_MAX];
	size_t len = 0;
	if (buflen > 0)
		buf[0] = '\0';
	if (text == NULL || parse_name(text, wire, &len) != ERR_OK)
		return ERR_INVAL;
	if (r53p_name(wire, len, buf, buflen)[0] == '\0')
		return ERR_LIMIT; /* wire is valid, so only the size can fail */
	return ERR_OK;
}

const char *r53p_name_rev(const char *canon, char *buf, size_t buflen)
{
	size_t len = strlen(canon), total = len, i = 0, start = 0;
	if (buflen == 0)
		return "";
	/* Is the last character an unescaped separator (the trailing dot)? */
	while (i < len) {
		if (canon[i] == '\\') { /* NOLINT(clang-analyzer-core.UndefinedBinaryOperatorResult): i < strlen(canon) */
			i += 2;
			continue;
		}
		if (canon[i] == '.' && i + 1 == len)
			total = len - 1;
		i++;
	}
	if (total + 1 > buflen) {
		buf[0] = '\0';
		return buf;
	}
	/* A label at [start, i) of the input lands at [total - i, total - start). */
	i = 0;
	while (i <= total) {
		if (i == total || canon[i] == '.') {
			memcpy(buf + total - i, canon + start, i - start);
			if (i < total)
				buf[total - 1 - i] = '.';
			start = ++i;
			continue;
		}
		i += canon[i] == '\\' ? 2 : 1;
		if (i > total)
			i = total;
	}
	buf[total] = '\0';
	return buf;
}

static int cmp_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

int r53p_cmp(const char *name_a, const char *type_a, const char *setid_a, const char *name_b,
	     const char *type_b, const char *setid_b)
{
	char ra[R53P_NAME_BUF], rb[R53P_NAME_BUF];
	int c;
	if (strlen(name_a) < sizeof(ra) && strlen(name_b) < sizeof(rb))
		c = strcmp(r53p_name_rev(name_a, ra, sizeof(ra)), r53p_name_rev(name_b, rb, sizeof(rb)));
	else
		c = strcmp(name_a, name_b);
	if (c == 0)
		c = cmp_str(type_a, type_b);
	if (c == 0)
		c = cmp_str(setid_a, setid_b);
	return c;
}

/* The ldns descriptor of a type, or NULL when ldns has no format for it. */
static const ldns_rr_descriptor *known_type(uint16_t type)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d == NULL || d->_type != type || d->_name == NULL ||
	    strncmp(d->_name, "TYPE", 4) == 0)
		return NULL;
	return d;
}

const char *r53p_type_name(uint16_t type, char *buf, size_t buflen)
{
	const ldns_rr_descriptor *d = known_type(type);
	int n;
	if (buflen == 0)
		return "";
	if (d != NULL)
		n = snprintf(buf, buflen, "%s", d->_name);
	else
		n = snprintf(buf, buflen, "TYPE%u", (unsigned)type);
	if (n < 0 || (size_t)n >= buflen)
		buf[0] = '\0';
	return buf;
}

/* RFC 3597 generic form: "\# 3 010203", "\# 0". */
static int rdata_generic(const uint8_t *rdata, size_t rdlen, char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "\\# %zu%s", rdlen, rdlen > 0 ? " " : "");
	if (n < 0 || (size_t)n + rdlen * 2 >= buflen) {
		if (buflen > 0)
			buf[0] = '\0';
		return ERR_LIMIT;
	}
	for (size_t i = 0; i < rdlen; i++)
		snprintf(buf + n + i * 2, 3, "%02x", rdata[i]);
	return ERR_OK;
}

/*
 * Copy ldns presentation text into buf, writing each escaped byte as Route 53 does:
 * "\DDD" (decimal) becomes "\ooo" (octal), and a raw byte outside 0x20-0x7E (ldns leaves
 * a tab raw inside strings) becomes "\ooo" too. "\X" escapes are kept.
 */
static int to_route53(const char *src, size_t len, char *buf, size_t buflen)
{
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)src[i];
		int v = -1;
		size_t take = 1;
		if (c == '\\' && i + 3 < len && is_digit(src[i + 1]) && is_digit(src[i + 2]) &&
		    is_digit(src[i + 3])) {
			v = (src[i + 1] - '0') * 100 + (src[i + 2] - '0') * 10 + (src[i + 3] - '0');
			if (v > 255)
				return ERR_INVAL;
			take = 4;
		} else if (c == '\\' && i + 1 < len) {
			take = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			v = c;
		}
		size_t need = v >= 0 ? 4 : take;
		if (n + need >= buflen) {
			if (buflen > 0)
				buf[0] = '\0';
			return ERR_LIMIT;
		}
		if (v >= 0) {
			snprintf(buf + n, 5, "\\%03o", (unsigned)v);
		} else {
			memcpy(buf + n, src + i, take);
		}
		n += need;
		i += take;
	}
	if (buflen == 0)
		return ERR_LIMIT;
	buf[n] = '\0';
	return ERR_OK;
}

int r53p_rdata(uint16_t type, const uint8_t *rdata, size_t rdlen, char *buf, size_t buflen)
{
	int ret = ERR_NOMEM;
	uint8_t *wire = NULL;
	ldns_rr *rr = NULL;
	ldns_buffer *check = NULL, *text = NULL;
	const ldns_rr_descriptor *d = known_type(type);
	size_t pos = 0;

	if (buflen > 0)
		buf[0] = '\0';
	if (rdlen > 65535)
		return ERR_INVAL;
	if (d == NULL)
		return rdata_generic(rdata, rdlen, buf, buflen);
	wire = malloc(rdlen + 2);
	rr = ldns_rr_new();
	check = ldns_buffer_new(rdlen + 16);
	text = ldns_buffer_new(rdlen * 4 + 64);
	if (wire == NULL || rr == NULL || check == NULL || text == NULL)
		goto out;
	ldns_write_uint16(wire, (uint16_t)rdlen);
	if (rdlen > 0)
		memcpy(wire + 2, rdata, rdlen);
	ldns_rr_set_type(rr, type);
	ldns_status st = ldns_wire2rdf(rr, wire, rdlen + 2, &pos);
	if (st != LDNS_STATUS_OK) {
		ret = st == LDNS_STATUS_MEM_ERR ? ERR_NOMEM : ERR_INVAL;
		goto out;
	}
	ret = ERR_INVAL;
	if (pos != rdlen + 2)
		goto out;
	/* A final string that runs to the end of the rdata may be empty (CAA 0 issue "",
	 * URI 1 1 ""), and then ldns makes no field for it. */
	size_t empty_tail = 0;
	for (size_t i = ldns_rr_rd_count(rr); i < ldns_rr_descriptor_minimum(d); i++) {
		if (ldns_rr_descriptor_field_type(d, i) != LDNS_RDF_TYPE_LONG_STR)
			goto out;
		empty_tail++;
	}
	if (ldns_rr_rd_count(rr) == 0) { /* empty rdata of a type that allows it */
		ret = rdata_generic(rdata, rdlen, buf, buflen);
		goto out;
	}
	/* What ldns split must put back the same bytes: no compressed names, no junk. */
	if (ldns_rr_rdata2buffer_wire(check, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(check) != rdlen ||
	    memcmp(ldns_buffer_begin(check), rdata, rdlen) != 0)
		goto out;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		if (i > 0)
			ldns_buffer_printf(text, " ");
		st = ldns_rdf2buffer_str(text, ldns_rr_rdf(rr, i));
		if (st != LDNS_STATUS_OK) {
			ret = st == LDNS_STATUS_MEM_ERR ? ERR_NOMEM : ERR_INVAL;
			goto out;
		}
	}
	for (size_t i = 0; i < empty_tail; i++)
		ldns_buffer_printf(text, " \"\"");
	if (ldns_buffer_status(text) != LDNS_STATUS_OK) {
		ret = ERR_NOMEM;
		goto out;
	}
	ret = to_route53((const char *)ldns_buffer_begin(text), ldns_buffer_position(text), buf,
			 buflen);
out:
	ldns_buffer_free(text);
	ldns_buffer_free(check);
	ldns_rr_free(rr);
	free(wire);
	return ret;
}

/* One record set being built: its JSON and its sort key (see r53p_cmp). */
typedef struct pset {
	json_t *obj;      /* the ResourceRecordSet */
	char *rev;        /* r53p_name_rev() of its Name (malloc) */
	const char *type; /* its Type (in obj) */
} pset_t;

/* A record of the list and its place in file order, for grouping. */
typedef struct prr {
	const zl_rr_t *r;
	size_t i;
} prr_t;

static int cmp_prr(const void *a, const void *b)
{
	const prr_t *pa = a, *pb = b;
	const zl_rr_t *x = pa->r, *y = pb->r;
	size_t l = x->ownerlen < y->ownerlen ? x->ownerlen : y->ownerlen;
	int c = memcmp(x->owner, y->owner, l);
	if (c != 0)
		return c;
	if (x->ownerlen != y->ownerlen)
		return x->ownerlen < y->ownerlen ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return pa->i < pb->i ? -1 : pa->i > pb->i; /* file order inside a set */
}

static int cmp_pset(const void *a, const void *b)
{
	const pset_t *x = a, *y = b;
	int c = strcmp(x->rev, y->rev);
	return c != 0 ? c : strcmp(x->type, y->type);
}

static bool in_zone(const uint8_t *n, size_t len, const uint8_t *apex, size_t alen)
{
	if (len < alen || memcmp(n + len - alen, apex, alen) != 0)
		return false;
	size_t off = 0;
	while (off < len - alen)
		off += (size_t)n[off] + 1;
	return off == len - alen;
}

/* Add key: value to o, taking the reference to value. */
static int set_new(json_t *o, const char *key, json_t *value)
{
	if (value == NULL)
		return ERR_NOMEM;
	return json_object_set_new(o, key, value) == 0 ? ERR_OK : ERR_NOMEM;
}

/* Build the record set of rr[0..n) (one owner and type, file order) into ps. */
static int build_set(const prr_t *rr, size_t n, char **text, size_t *textcap, pset_t *ps,
		     char *err, size_t errlen)
{
	const zl_rr_t *first = rr[0].r;
	json_t *rrs = json_array();
	int ret = ERR_NOMEM;
	uint32_t ttl = first->ttl;
	char name[R53P_NAME_BUF], rev[R53P_NAME_BUF], type[R53P_TYPE_BUF];

	r53p_name(first->owner, first->ownerlen, name, sizeof(name));
	r53p_type_name(first->type, type, sizeof(type));
	ps->obj = json_object();
	ps->rev = strdup(r53p_name_rev(name, rev, sizeof(rev)));
	if (ps->obj == NULL || ps->rev == NULL || rrs == NULL)
		goto out;
	for (size_t k = 0; k < n; k++) {
		const zl_rr_t *r = rr[k].r;
		bool dup = false;
		if (r->ttl < ttl) /* RFC 2181 5.2 */
			ttl = r->ttl;
		for (size_t j = 0; j < k && !dup; j++) { /* RFC 2181 5: no duplicates */
			const zl_rr_t *q = rr[j].r;
			dup = q->rdlen == r->rdlen && memcmp(q->rdata, r->rdata, r->rdlen) == 0;
		}
		if (dup)
			continue;
		ret = r53p_rdata(r->type, r->rdata, r->rdlen, *text, *textcap);
		/* type bitmaps (NSEC, WKS) print longer than 4 characters a byte */
		while (ret == ERR_LIMIT && *textcap < R53P_TEXT_MAX) {
			char *t = realloc(*text, *textcap * 4);
			if (t == NULL) {
				ret = ERR_NOMEM;
				goto out;
			}
			*text = t;
			*textcap *= 4;
			ret = r53p_rdata(r->type, r->rdata, r->rdlen, *text, *textcap);
		}
		if (ret != ERR_OK) {
			snprintf(err, errlen, "%s:%d: %s rdata of %s cannot be presented (%s)", r->file,
				 r->line, type, name, err_str(ret));
			goto out;
		}
		json_t *v = json_object();
		ret = v == NULL ? ERR_NOMEM : set_new(v, "Value", json_string(*text));
		if (ret == ERR_OK && json_array_append_new(rrs, v) != 0)
			ret = ERR_NOMEM;
		else if (ret != ERR_OK)
			json_decref(v);
		if (ret != ERR_OK)
			goto out;
	}
	if ((ret = set_new(ps->obj, "Name", json_string(name))) != ERR_OK ||
	    (ret = set_new(ps->obj, "Type", json_string(type))) != ERR_OK ||
	    (ret = set_new(ps->obj, "TTL", json_integer(ttl))) != ERR_OK)
		goto out;
	ret = set_new(ps->obj, "ResourceRecords", rrs);
	rrs = NULL;
	ps->type = json_string_value(json_object_get(ps->obj, "Type"));
out:
	json_decref(rrs);
	return ret;
}

int r53p_zone_file_sets(const char *path, const char *origin, json_t **out, char *err,
			size_t errlen)
{
	zl_list_t l;
	ldns_rdf *apex = NULL;
	prr_t *idx = NULL;
	size_t nsets = 0;
	pset_t *sets = NULL;
	char *text = NULL;
	size_t textcap = 65535 * 4 + 64;
	json_t *arr = NULL;
	int ret;

	*out = NULL;
	ret = zl_load(path, origin, &l, err, errlen);
	if (ret != ERR_OK)
		goto out;
	ret = ERR_NOMEM;
	apex = ldns_dname_new_frm_str(origin);
	if (apex == NULL) {
		snprintf(err, errlen, "zone %s: bad zone name", origin);
		ret = ERR_INVAL;
		goto out;
	}
	ldns_dname2canonical(apex);
	idx = malloc((l.n ? l.n : 1) * sizeof(*idx));
	sets = calloc(l.n ? l.n : 1, sizeof(*sets));
	text = malloc(textcap);
	arr = json_array();
	if (idx == NULL || sets == NULL || text == NULL || arr == NULL)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		const zl_rr_t *r = &l.rr[i];
		char nb[R53P_NAME_BUF];
		idx[i] = (prr_t){ .r = r, .i = i };
		ret = ERR_INVAL;
		if (r->rclass != LDNS_RR_CLASS_IN) {
			snprintf(err, errlen, "%s:%d: class must be IN", r->file, r->line);
			goto out;
		}
		if (!in_zone(r->owner, r->ownerlen, ldns_rdf_data(apex), ldns_rdf_size(apex))) {
			snprintf(err, errlen, "%s:%d: out-of-zone record %s", r->file, r->line,
				 r53p_name(r->owner, r->ownerlen, nb, sizeof(nb)));
			goto out;
		}
	}
	qsort(idx, l.n, sizeof(*idx), cmp_prr);
	for (size_t i = 0; i < l.n;) {
		size_t j = i + 1;
		const zl_rr_t *r = idx[i].r;
		while (j < l.n && idx[j].r->type == r->type && idx[j].r->ownerlen == r->ownerlen &&
		       memcmp(idx[j].r->owner, r->owner, r->ownerlen) == 0)
			j++;
		ret = build_set(idx + i, j - i, &text, &textcap, &sets[nsets], err, errlen);
		nsets++; /* its obj and rev are released below either way */
		if (ret != ERR_OK)
			goto out;
		i = j;
	}
	qsort(sets, nsets, sizeof(*sets), cmp_pset);
	ret = ERR_OK;
	for (size_t i = 0; i < nsets && ret == ERR_OK; i++)
		if (json_array_append(arr, sets[i].obj) != 0)
			ret = ERR_NOMEM;
	if (ret == ERR_OK) {
		*out = arr;
		arr = NULL;
	}
out:
	for (size_t i = 0; i < nsets; i++) {
		json_decref(sets[i].obj);
		free(sets[i].rev);
	}
	json_decref(arr);
	free(text);
	free(sets);
	free(idx);
	ldns_rdf_deep_free(apex);
	zl_list_deinit(&l);
	return ret;
}
