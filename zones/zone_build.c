/* SPDX-License-Identifier: MIT */
/*
 * zone_build.c -- validate loaded records and compile them into a snapshot.
 *
 * Per zone: records are checked (in zone, class IN, one SOA at the apex, apex NS, CNAME
 * alone at its name and not at the apex), grouped by owner and type, converted to wire
 * rdata once, and placed in nodes; every ancestor between a name and the apex becomes a
 * node too (an empty non-terminal when it has no data), so the answer code finds closest
 * enclosers with hash lookups only. Then the view table is filled with every zone's nodes,
 * the most specific hosted zone owning each name.
 */
#include "zdb_int.h"
#include "err.h"
#include "zone_load.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A record during the build. */
typedef struct brec {
	const zl_rr_t *src;   /* loaded record */
	uint8_t owner[ZDB_MAXNAME]; /* lower-cased owner */
	uint8_t ownerlen;     /* its length */
	uint16_t type;        /* RR type */
} brec_t;

/* Growable build-time table (same probing as zdb_table_t). */
typedef struct btab {
	zdb_node_t **slot;
	uint64_t mask;
	size_t n;
} btab_t;

static uint8_t name_labels(const uint8_t *n)
{
	uint8_t l = 0;
	while (*n != 0) {
		n += *n + 1;
		l++;
	}
	return l;
}

static void name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (uint8_t)tolower(src[i]);
}

/* Is name (wire) equal to or below apex (wire)? Both lower-cased. */
static bool name_in(const uint8_t *name, size_t len, const uint8_t *apex, size_t alen)
{
	if (len < alen || memcmp(name + len - alen, apex, alen) != 0)
		return false;
	/* the suffix must start at a label boundary */
	size_t off = 0;
	while (off < len - alen)
		off += (size_t)name[off] + 1;
	return off == len - alen;
}

static size_t pow2_at_least(size_t n)
{
	size_t s = 16;
	while (s < n)
		s <<= 1;
	return s;
}

static zdb_node_t *btab_find(btab_t *t, const uint8_t *name, size_t len, uint64_t h)
{
	for (uint64_t i = h & t->mask;; i = (i + 1) & t->mask) {
		zdb_node_t *n = t->slot[i];
		if (n == NULL)
			return NULL;
		if (n->hash == h && n->namelen == len && memcmp(n->name, name, len) == 0)
			return n;
	}
}

static void btab_put(btab_t *t, zdb_node_t *node)
{
	uint64_t i = node->hash & t->mask;
	while (t->slot[i] != NULL)
		i = (i + 1) & t->mask;
	t->slot[i] = node;
	t->n++;
}

/* Find or create the node for name; creates with no RRsets. */
static zdb_node_t *get_node(zdb_t *db, btab_t *t, const zdb_zone_t *zone, const uint8_t *name,
			    size_t len)
{
	uint64_t h = zdb_hash(name, len);
	zdb_node_t *n = btab_find(t, name, len, h);
	if (n != NULL)
		return n;
	n = zdb_alloc(db, sizeof(*n));
	uint8_t *copy = zdb_alloc(db, len);
	if (n == NULL || copy == NULL)
		return NULL;
	memcpy(copy, name, len);
	n->name = copy;
	n->namelen = (uint8_t)len;
	n->hash = h;
	n->labels = name_labels(name);
	n->is_wild = name[0] == 1 && name[1] == '*';
	n->zone = zone;
	btab_put(t, n);
	return n;
}

static int cmp_brec(const void *a, const void *b)
{
	const brec_t *x = a, *y = b;
	if (x->ownerlen != y->ownerlen)
		return x->ownerlen < y->ownerlen ? -1 : 1;
	int c = memcmp(x->owner, y->owner, x->ownerlen);
	if (c != 0)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->src < y->src ? -1 : (x->src > y->src);
}

static uint8_t rdkind_of(uint16_t type)
{
	switch (type) {
	case LDNS_RR_TYPE_NS:
	case LDNS_RR_TYPE_CNAME:
	case LDNS_RR_TYPE_PTR:
	case LDNS_RR_TYPE_MB:
	case LDNS_RR_TYPE_MG:
	case LDNS_RR_TYPE_MR:
		return RD_NAME;
	case LDNS_RR_TYPE_MX:
		return RD_MX;
	case LDNS_RR_TYPE_SOA:
		return RD_SOA;
	default:
		return RD_PLAIN;
	}
}

/* Offset in rdata of the name whose addresses go in the additional section, or -1. */
static int target_offset(uint16_t type)
{
	switch (type) {
	case LDNS_RR_TYPE_NS:
		return 0;
	case LDNS_RR_TYPE_MX:
		return 2;
	case LDNS_RR_TYPE_SRV:
		return 6;
	default:
		return -1;
	}
}

/* Length of an uncompressed wire name at p within end, or 0 if malformed. */
static size_t wire_name_len(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *s = p;
	while (p < end) {
		if (*p == 0)
			return (size_t)(p - s) + 1;
		if (*p > 63)
			return 0;
		p += *p + 1;
	}
	return 0;
}

typedef struct bctx {
	zdb_t *db;
	char *err;
	size_t errlen;
} bctx_t;

static int berr(bctx_t *b, const zl_rr_t *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int berr(bctx_t *b, const zl_rr_t *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(b->err, b->errlen, "%s:%d: %s", r->file, r->line, msg);
	return ERR_INVAL;
}

/* Compile one RRset from records [i, j) of sorted recs into rs. */
static int build_rrset(bctx_t *b, const brec_t *recs, size_t i, size_t j, zdb_rrset_t *rs)
{
	size_t n = j - i;
	if (n > 65535) {
		snprintf(b->err, b->errlen, "%s:%d: more than 65535 records in one RRset",
			 recs[i].src->file, recs[i].src->line);
		return ERR_LIMIT;
	}
	const uint8_t **rd = zdb_alloc(b->db, n * sizeof(*rd));
	uint16_t *rl = zdb_alloc(b->db, n * sizeof(*rl));
	ldns_buffer *buf = ldns_buffer_new(512);
	if (rd == NULL || rl == NULL || buf == NULL) {
		ldns_buffer_free(buf);
		return ERR_NOMEM;
	}
	rs->type = recs[i].type;
	rs->ttl = ldns_rr_ttl(recs[i].src->rr);
	rs->rdkind = rdkind_of(rs->type);
	size_t out = 0;
	for (size_t k = i; k < j; k++) {
		ldns_buffer_clear(buf);
		if (ldns_rr_rdata2buffer_wire(buf, recs[k].src->rr) != LDNS_STATUS_OK ||
		    ldns_buffer_position(buf) > 65535) {
			ldns_buffer_free(buf);
			return berr(b, recs[k].src, "%s", "cannot convert rdata to wire format");
		}
		size_t len = ldns_buffer_position(buf);
		/* RFC 2181 5: an RRset holds no duplicate records */
		bool dup = false;
		for (size_t d = 0; d < out && !dup; d++)
			dup = rl[d] == len && memcmp(rd[d], ldns_buffer_begin(buf), len) == 0;
		if (dup)
			continue;
		uint8_t *copy = zdb_alloc(b->db, len ? len : 1);
		if (copy == NULL) {
			ldns_buffer_free(buf);
			return ERR_NOMEM;
		}
		memcpy(copy, ldns_buffer_begin(buf), len);
		rd[out] = copy;
		rl[out] = (uint16_t)len;
		out++;
	}
	ldns_buffer_free(buf);
	rs->count = (uint16_t)out;
	rs->rdata = rd;
	rs->rdlen = rl;
	if (rs->type == LDNS_RR_TYPE_SOA && out > 1)
		return berr(b, recs[i].src, "%s", "more than one SOA record");
	if (rs->type == LDNS_RR_TYPE_CNAME && out > 1)
		return berr(b, recs[i].src, "%s", "more than one CNAME record at one name");
	return ERR_OK;
}

/* Resolve NS/MX/SRV targets to in-zone nodes, for additional-section addresses. */
static int link_targets(bctx_t *b, btab_t *t, zdb_rrset_t *rs)
{
	int off = target_offset(rs->type);
	if (off < 0)
		return ERR_OK;
	const zdb_node_t **tg = zdb_alloc(b->db, rs->count * sizeof(*tg));
	if (tg == NULL)
		return ERR_NOMEM;
	for (size_t k = 0; k < rs->count; k++) {
		if (rs->rdlen[k] <= off)
			continue;
		const uint8_t *p = rs->rdata[k] + off;
		size_t len = wire_name_len(p, rs->rdata[k] + rs->rdlen[k]);
		if (len == 0)
			continue;
		uint8_t low[ZDB_MAXNAME];
		name_lower(low, p, len);
		tg[k] = btab_find(t, low, len, zdb_hash(low, len));
	}
	rs->target = tg;
	return ERR_OK;
}

/* Load and compile one zone; its nodes are left in *tp (caller frees tp->slot). */
static int build_zone(bctx_t *b, const zdb_src_t *src, zdb_zone_t *zone, btab_t *tp)
{
	zl_list_t list;
	brec_t *recs = NULL;
	btab_t t = { 0 };
	int ret;
	uint8_t apex[ZDB_MAXNAME];
	size_t alen;

	memset(&list, 0, sizeof(list));
	zone->name = strdup(src->name);
	zone->id = strdup(src->id ? src->id : "");
	zone->private_zone = src->private_zone;
	if (zone->name == NULL || zone->id == NULL)
		return ERR_NOMEM;
	{
		ldns_rdf *a = NULL;
		if (ldns_str2rdf_dname(&a, src->name) != LDNS_STATUS_OK || a == NULL) {
			snprintf(b->err, b->errlen, "zone %s: not a valid zone name", src->name);
			return ERR_INVAL;
		}
		alen = ldns_rdf_size(a);
		name_lower(apex, ldns_rdf_data(a), alen);
		ldns_rdf_deep_free(a);
	}
	if (src->zone_file == NULL) {
		snprintf(b->err, b->errlen, "zone %s: no zone_file (record_sets are not supported yet)",
			 src->name);
		return ERR_INVAL;
	}
	ret = zl_load(src->zone_file, src->name, &list, b->err, b->errlen);
	if (ret != ERR_OK)
		goto out;

	recs = calloc(list.n ? list.n : 1, sizeof(*recs));
	if (recs == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	size_t bound = 1;
	for (size_t i = 0; i < list.n; i++) {
		const zl_rr_t *r = &list.rr[i];
		ldns_rdf *o = ldns_rr_owner(r->rr);
		brec_t *br = &recs[i];
		br->src = r;
		br->ownerlen = (uint8_t)ldns_rdf_size(o);
		name_lower(br->owner, ldns_rdf_data(o), br->ownerlen);
		br->type = (uint16_t)ldns_rr_get_type(r->rr);
		if (ldns_rr_get_class(r->rr) != LDNS_RR_CLASS_IN) {
			ret = berr(b, r, "%s", "class must be IN");
			goto out;
		}
		if (!name_in(br->owner, br->ownerlen, apex, alen)) {
			char *s = ldns_rdf2str(o);
			ret = berr(b, r, "out-of-zone record %s", s ? s : "?");
			free(s);
			goto out;
		}
		if (br->type == LDNS_RR_TYPE_SOA &&
		    (br->ownerlen != alen || memcmp(br->owner, apex, alen) != 0)) {
			ret = berr(b, r, "%s", "SOA record not at the zone apex");
			goto out;
		}
		if (br->type == LDNS_RR_TYPE_CNAME && br->ownerlen == alen &&
		    memcmp(br->owner, apex, alen) == 0) {
			ret = berr(b, r, "%s", "CNAME at the zone apex");
			goto out;
		}
		bound += (size_t)(name_labels(br->owner) - name_labels(apex)) + 1;
	}
	qsort(recs, list.n, sizeof(*recs), cmp_brec);

	t.slot = calloc(pow2_at_least(bound * 2), sizeof(*t.slot));
	if (t.slot == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	t.mask = pow2_at_least(bound * 2) - 1;
	zdb_node_t *apex_node = get_node(b->db, &t, zone, apex, alen);
	if (apex_node == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}

	/* Nodes with data, their RRsets, and the empty non-terminals above them. */
	for (size_t i = 0; i < list.n;) {
		size_t j = i;
		size_t ntypes = 0;
		while (j < list.n && recs[j].ownerlen == recs[i].ownerlen &&
		       memcmp(recs[j].owner, recs[i].owner, recs[i].ownerlen) == 0) {
			if (j == i || recs[j].type != recs[j - 1].type)
				ntypes++;
			j++;
		}
		zdb_node_t *node = get_node(b->db, &t, zone, recs[i].owner, recs[i].ownerlen);
		zdb_rrset_t *sets = zdb_alloc(b->db, ntypes * sizeof(*sets));
		if (node == NULL || sets == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
		size_t s = 0;
		const zl_rr_t *cname_src = NULL, *other_src = NULL;
		for (size_t k = i; k < j;) {
			size_t m = k;
			while (m < j && recs[m].type == recs[k].type)
				m++;
			ret = build_rrset(b, recs, k, m, &sets[s++]);
			if (ret != ERR_OK)
				goto out;
			if (recs[k].type == LDNS_RR_TYPE_CNAME)
				cname_src = recs[k].src;
			else if (recs[k].type != LDNS_RR_TYPE_RRSIG &&
				 recs[k].type != LDNS_RR_TYPE_NSEC && other_src == NULL)
				other_src = recs[k].src;
			k = m;
		}
		if (cname_src != NULL && other_src != NULL) {
			char *ts = ldns_rr_type2str(ldns_rr_get_type(other_src->rr));
			ret = berr(b, cname_src,
				   "CNAME and other data at the same name (%s at line %d; RFC 1034 3.6.2)",
				   ts ? ts : "?", other_src->line);
			free(ts);
			goto out;
		}
		node->rrsets = sets;
		node->n_rrsets = (uint16_t)s;
		zone->n_names++;
		zone->n_rrsets += s;
		for (size_t k = 0; k < s; k++) {
			zone->n_records += sets[k].count;
			if (sets[k].type == LDNS_RR_TYPE_NS && node != apex_node)
				node->is_cut = true;
		}
		/* ancestors up to the apex */
		const uint8_t *p = recs[i].owner;
		size_t len = recs[i].ownerlen;
		while (len > alen) {
			len -= (size_t)*p + 1;
			p += *p + 1;
			if (get_node(b->db, &t, zone, p, len) == NULL) {
				ret = ERR_NOMEM;
				goto out;
			}
		}
		i = j;
	}

	/* Apex records. */
	for (size_t k = 0; k < apex_node->n_rrsets; k++) {
		if (apex_node->rrsets[k].type == LDNS_RR_TYPE_SOA)
			zone->soa = &apex_node->rrsets[k];
		if (apex_node->rrsets[k].type == LDNS_RR_TYPE_NS)
			zone->ns = &apex_node->rrsets[k];
	}
	const char *zf = src->zone_file;
	if (zone->soa == NULL) {
		snprintf(b->err, b->errlen, "%s: zone %s has no SOA record at its apex", zf,
			 src->name);
		ret = ERR_INVAL;
		goto out;
	}
	if (zone->ns == NULL) {
		snprintf(b->err, b->errlen, "%s: zone %s has no NS records at its apex", zf,
			 src->name);
		ret = ERR_INVAL;
		goto out;
	}
	{
		const uint8_t *rd = zone->soa->rdata[0];
		uint16_t rl = zone->soa->rdlen[0];
		if (rl < 22) {
			snprintf(b->err, b->errlen, "%s: zone %s: malformed SOA", zf, src->name);
			ret = ERR_INVAL;
			goto out;
		}
		const uint8_t *tail = rd + rl - 20;
		zone->serial = (uint32_t)tail[0] << 24 | (uint32_t)tail[1] << 16 |
			       (uint32_t)tail[2] << 8 | tail[3];
		uint32_t minimum = (uint32_t)tail[16] << 24 | (uint32_t)tail[17] << 16 |
				   (uint32_t)tail[18] << 8 | tail[19];
		zone->neg_ttl = minimum < zone->soa->ttl ? minimum : zone->soa->ttl;
	}
	zone->apex = apex_node;

	/* Per node: delegation above, wildcard child, additional-section targets. */
	for (uint64_t i = 0; i <= t.mask; i++) {
		zdb_node_t *n = t.slot[i];
		if (n == NULL)
			continue;
		const uint8_t *p = n->name;
		size_t len = n->namelen;
		const zdb_node_t *cut = NULL;
		while (len > alen) {
			zdb_node_t *a = btab_find(&t, p, len, zdb_hash(p, len));
			if (a != NULL && a->is_cut)
				cut = a; /* keep the highest one */
			len -= (size_t)*p + 1;
			p += *p + 1;
		}
		n->cut = cut;
		if (n->is_wild) {
			const uint8_t *pp = n->name + 2;
			size_t plen = n->namelen - 2u;
			zdb_node_t *parent = btab_find(&t, pp, plen, zdb_hash(pp, plen));
			if (parent != NULL)
				parent->wild = n;
		}
		for (size_t k = 0; k < n->n_rrsets; k++) {
			ret = link_targets(b, &t, (zdb_rrset_t *)&n->rrsets[k]);
			if (ret != ERR_OK)
				goto out;
		}
	}
	ret = ERR_OK;
out:
	if (ret == ERR_OK)
		*tp = t;
	else
		free(t.slot);
	free(recs);
	zl_list_deinit(&list);
	return ret;
}

/* Is the node's name inside a more specific hosted zone than its own? */
static bool shadowed(const btab_t *apexes, const zdb_node_t *n)
{
	const uint8_t *p = n->name;
	size_t len = n->namelen;
	size_t alen = n->zone->apex->namelen;
	while (len > alen) {
		if (btab_find((btab_t *)apexes, p, len, zdb_hash(p, len)) != NULL)
			return true;
		len -= (size_t)*p + 1;
		p += *p + 1;
	}
	return false;
}

static int build_view(bctx_t *b, btab_t *tabs, bool private_view)
{
	size_t total = 0, nz = 0;
	for (size_t z = 0; z < b->db->n_zones; z++) {
		if (b->db->zones[z].private_zone == private_view) {
			total += tabs[z].n;
			nz++;
		}
	}
	btab_t ap = { 0 };
	ap.mask = pow2_at_least(nz * 2) - 1;
	ap.slot = calloc(ap.mask + 1, sizeof(*ap.slot));
	size_t size = pow2_at_least(total * 2);
	const zdb_node_t **slot = calloc(size, sizeof(*slot));
	if (ap.slot == NULL || slot == NULL) {
		free(ap.slot);
		free(slot);
		return ERR_NOMEM;
	}
	for (size_t z = 0; z < b->db->n_zones; z++) {
		const zdb_zone_t *zone = &b->db->zones[z];
		if (zone->private_zone != private_view)
			continue;
		zdb_node_t *apex = (zdb_node_t *)zone->apex;
		if (btab_find(&ap, apex->name, apex->namelen, apex->hash) != NULL) {
			snprintf(b->err, b->errlen,
				 "zone %s: another %s hosted zone has the same name", zone->name,
				 private_view ? "private" : "public");
			free(ap.slot);
			free(slot);
			return ERR_EXISTS;
		}
		btab_put(&ap, apex);
	}
	zdb_table_t *view = &b->db->public_view;
	view->slot = slot;
	view->mask = size - 1;
	for (size_t z = 0; z < b->db->n_zones; z++) {
		if (b->db->zones[z].private_zone != private_view)
			continue;
		for (uint64_t i = 0; i <= tabs[z].mask; i++) {
			const zdb_node_t *n = tabs[z].slot[i];
			if (n == NULL || shadowed(&ap, n))
				continue;
			uint64_t k = n->hash & view->mask;
			while (slot[k] != NULL)
				k = (k + 1) & view->mask;
			slot[k] = n;
		}
	}
	free(ap.slot);
	return ERR_OK;
}

int zdb_build(const zdb_src_t *src, size_t n_src, const zdb_opts_t *opts, zdb_t **out,
	      char *err, size_t errlen)
{
	int ret = ERR_NOMEM;
	zdb_t *db = calloc(1, sizeof(*db));
	btab_t *tabs = calloc(n_src ? n_src : 1, sizeof(*tabs));
	bctx_t b = { .db = db, .err = err, .errlen = errlen };

	*out = NULL;
	if (db == NULL || tabs == NULL)
		goto out;
	db->zones = calloc(n_src ? n_src : 1, sizeof(*db->zones));
	if (db->zones == NULL)
		goto out;
	db->opts = *opts;
	db->opts.chaos_version = NULL;
	db->opts.chaos_id = NULL;
	if (opts->chaos_version != NULL) {
		char *s = zdb_alloc(db, strlen(opts->chaos_version) + 1);
		if (s == NULL)
			goto out;
		strcpy(s, opts->chaos_version);
		db->opts.chaos_version = s;
	}
	if (opts->chaos_id != NULL) {
		char *s = zdb_alloc(db, strlen(opts->chaos_id) + 1);
		if (s == NULL)
			goto out;
		strcpy(s, opts->chaos_id);
		db->opts.chaos_id = s;
	}
	for (size_t i = 0; i < n_src; i++) {
		db->n_zones = i + 1;
		ret = build_zone(&b, &src[i], &db->zones[i], &tabs[i]);
		if (ret != ERR_OK)
			goto out;
	}
	ret = build_view(&b, tabs, false);
out:
	if (ret == ERR_NOMEM && err != NULL && errlen > 0)
		snprintf(err, errlen, "out of memory while building zones");
	for (size_t i = 0; tabs != NULL && i < n_src; i++)
		free(tabs[i].slot);
	free(tabs);
	if (ret != ERR_OK) {
		zdb_free(db);
		return ret;
	}
	*out = db;
	return ERR_OK;
}
