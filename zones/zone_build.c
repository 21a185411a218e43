/* SPDX-License-Identifier: MIT */
/*
 * zone_build.c -- validate loaded records and compile them into a snapshot.
 *
 * Per zone: records are checked (in zone, class IN, one SOA at the apex, apex NS, CNAME
 * alone at its name and not at the apex), grouped by owner and type, converted to wire
 * rdata once, and placed in nodes; every ancestor between a name and the apex becomes a
 * node too (an empty non-terminal when it has no data), so the answer code finds closest
 * enclosers with hash lookups only. Each zone lives in a blob of its own (one arena, one
 * node table) that later snapshots share while the zone's sources do not change
 * (same_source: a reload or an API change compiles only the zones it touches). Then each
 * view (public, one per VPC) gets a table of its zones by apex name.
 *
 * Memory layout, for a million names in about 130 MiB: a node is 24 bytes with its owner
 * name right after it; an RRset is 40 bytes with its records packed in one block (2-byte
 * length, rdata); rare links (the delegation above a name, the wildcard child) are flags
 * the answer code resolves in the zone's table; allocations are 8-byte aligned (rdata
 * 1-byte) in 4 KiB..1 MiB arena chunks.
 */
#include "zdb_int.h"
#include "dnssec.h"
#include "err.h"
#include "r53json.h"
#include "zone_load.h"

#include <ctype.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* A record during the build. */
typedef struct brec {
	const zl_rr_t *src;   /* loaded record (zone file, or a value of a simple record set) */
	const r53_set_t *set; /* the record set it came from, or NULL (zone file) */
	const uint8_t *owner; /* lower-cased owner: the ldns owner lower-cased in place, or the
				 set's name (small records keep a million-name load in cache) */
	uint8_t ownerlen;     /* its length */
	uint16_t type;        /* RR type */
	uint32_t seq;         /* its owner's place in the order owners first appear */
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
	while (*n != 0) { /* NOLINT(clang-analyzer-core.UndefinedBinaryOperatorResult): names are whole wire names */
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
		if (n->hash == (uint32_t)h && n->namelen == len && memcmp(n->name, name, len) == 0)
			return n;
	}
}

static bool btab_put(btab_t *t, zdb_node_t *node)
{
	if ((t->n + 1) * 4 > (t->mask + 1) * 3) {
		/* more empty non-terminals than expected: grow (on failure, probe a fuller
		 * table while there is room) */
		uint64_t mask = t->mask * 2 + 1;
		zdb_node_t **slot = calloc(mask + 1, sizeof(*slot));
		for (uint64_t k = 0; slot != NULL && k <= t->mask; k++) {
			zdb_node_t *n = t->slot[k];
			if (n == NULL)
				continue;
			uint64_t j = n->hash & mask;
			while (slot[j] != NULL)
				j = (j + 1) & mask;
			slot[j] = n;
		}
		if (slot != NULL) {
			free(t->slot);
			t->slot = slot;
			t->mask = mask;
		} else if (t->n + 1 > t->mask) {
			return false;
		}
	}
	uint64_t i = node->hash & t->mask;
	while (t->slot[i] != NULL)
		i = (i + 1) & t->mask;
	t->slot[i] = node;
	t->n++;
	return true;
}

/* Find or create the node for name, whose hash is h; creates with no RRsets. */
static zdb_node_t *get_node_h(zdb_t *db, btab_t *t, const zdb_zone_t *zone,
			      const uint8_t *name, size_t len, uint64_t h)
{
	zdb_node_t *n = btab_find(t, name, len, h);
	if (n != NULL)
		return n;
	n = zdb_alloc(db, sizeof(*n) + len); /* the name follows the node */
	if (n == NULL)
		return NULL;
	memcpy(n->name, name, len);
	n->namelen = (uint8_t)len;
	n->hash = (uint32_t)h;
	n->labels = name_labels(n->name); /* NOLINT(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	n->is_wild = n->name[0] == 1 && n->name[1] == '*'; /* NOLINT(clang-analyzer-core.UndefinedBinaryOperatorResult): copied above */
	(void)zone;
	if (!btab_put(t, n))
		return NULL;
	return n;
}

/* Find or create the node for name; creates with no RRsets. */
static zdb_node_t *get_node(zdb_t *db, btab_t *t, const zdb_zone_t *zone, const uint8_t *name,
			    size_t len)
{
	return get_node_h(db, t, zone, name, len, zdb_hash(name, len));
}

/* Records of one owner: by type, then record set, then file order. */
static int cmp_brec(const void *a, const void *b)
{
	const brec_t *x = a, *y = b;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->set != y->set)
		return x->set < y->set ? -1 : 1;
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
	const zdb_opts_t *opts;
	char *err;
	size_t errlen;
	bool uses_colls;   /* the zone being built has a group pointing into db->colls */
	zdb_zblob_t *zb;   /* the blob of the zone being built */
} bctx_t;

/* The identity and times of a file now; false when it cannot be read. */
static bool file_stat(const char *path, zdb_zfile_t *f)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return false;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	f->size = (uint64_t)st.st_size;
	f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	f->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	return true;
}

/* Remember that the zone being built refers to health check id (arena copy) at slot. */
static int note_hc(bctx_t *b, const char *id, uint32_t slot)
{
	zdb_zblob_t *zb = b->zb;
	if (zb == NULL)
		return ERR_OK;
	zdb_hcref_t *v = realloc(zb->hcs, (zb->n_hcs + 1) * sizeof(*v));
	if (v == NULL)
		return ERR_NOMEM;
	zb->hcs = v;
	v[zb->n_hcs].id = id;
	v[zb->n_hcs++].slot = slot;
	return ERR_OK;
}

static int berr(bctx_t *b, const zl_rr_t *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* r->line < 0: a record from record_sets, r->file is its JSON path */
static int berr(bctx_t *b, const zl_rr_t *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above; clang 14 false positive */
	va_end(ap);
	if (r->line < 0)
		snprintf(b->err, b->errlen, "%s: %s", r->file, msg);
	else
		snprintf(b->err, b->errlen, "%s:%d: %s", r->file, r->line, msg);
	return ERR_INVAL;
}

static int serr(bctx_t *b, const r53_set_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Spec HC-14: a health check that finds its endpoint by resolving the name of the
 * weighted/latency/failover record set it is attached to checks whatever the policy
 * answered: AWS warns, so do we. (With an IPAddress the name is only the Host header.)
 */
static void hc14_warn(const bctx_t *b, const r53_set_t *s)
{
	const zdb_opts_t *o = b->opts;
	char fq[300], nb[300];
	if (o->warn == NULL || o->hc_fqdn == NULL ||
	    (s->policy != POL_WEIGHTED && s->policy != POL_LATENCY && s->policy != POL_FAILOVER) ||
	    !o->hc_fqdn(o->hc_ctx, s->hc_id, fq, sizeof(fq)))
		return;
	size_t fl = strlen(fq);
	if (fl > 0 && fq[fl - 1] == '.')
		fq[--fl] = '\0';
	const char *name = r53_name_str(s->name, nb, sizeof(nb));
	size_t nl = strlen(name);
	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	if (fl != nl || strncasecmp(fq, name, nl) != 0)
		return;
	char msg[700];
	snprintf(msg, sizeof(msg),
		 "%s: HealthCheckId \"%s\" probes %s, the name of the record set it is attached "
		 "to: it checks whatever the routing policy answers, so its status is unpredictable "
		 "(HC-14); give the check an IPAddress or another name",
		 s->where, s->hc_id, fq);
	o->warn(msg);
}

static int serr(bctx_t *b, const r53_set_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above; clang 14 false positive */
	va_end(ap);
	snprintf(b->err, b->errlen, "%s: %s", s->where, msg);
	return ERR_INVAL;
}

/* Compile records (all of one owner and type) into rs: wire rdata, duplicates dropped. */
static int build_values(bctx_t *b, const zl_rr_t *const *rr, size_t n, zdb_rrset_t *rs)
{
	if (n == 0 || rr[0] == NULL)
		return ERR_INVAL;
	if (n > 65535)
		return berr(b, rr[0], "more than 65535 records in one RRset");
	/* one block: per record a 2-byte length and the rdata (zdb_rrset_t.rd) */
	size_t total = 0;
	for (size_t k = 0; k < n; k++)
		total += 2u + rr[k]->rdlen;
	uint8_t *rd = zdb_alloc_al(b->db, total, 1);
	if (rd == NULL)
		return ERR_NOMEM;
	rs->type = rr[0]->type;
	rs->ttl = rr[0]->ttl;
	rs->rdkind = rdkind_of(rs->type);
	size_t out = 0, used = 0;
	for (size_t k = 0; k < n; k++) {
		uint16_t len = rr[k]->rdlen;
		if (rr[k]->ttl < rs->ttl) /* RFC 2181 5.2: one TTL per RRset, the lowest */
			rs->ttl = rr[k]->ttl;
		/* RFC 2181 5: an RRset holds no duplicate records */
		bool dup = false;
		for (size_t d = 0, at = 0; d < out && !dup; d++) {
			uint16_t dl;
			memcpy(&dl, rd + at, 2);
			dup = dl == len && memcmp(rd + at + 2, rr[k]->rdata, len) == 0;
			at += 2u + dl;
		}
		if (dup)
			continue;
		memcpy(rd + used, &len, 2);
		if (len > 0)
			memcpy(rd + used + 2, rr[k]->rdata, len);
		used += 2u + len;
		out++;
	}
	rs->count = (uint16_t)out;
	rs->rd = rd;
	if (rs->type == LDNS_RR_TYPE_SOA && out > 1)
		return berr(b, rr[0], "more than one SOA record");
	if (rs->type == LDNS_RR_TYPE_CNAME && out > 1)
		return berr(b, rr[0], "more than one CNAME record at one name");
	return ERR_OK;
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const zdb_member_t *)a)->set_id, ((const zdb_member_t *)b)->set_id);
}

static const zdb_cidr_coll_t *find_coll(const zdb_t *db, const char *id)
{
	for (size_t i = 0; i < db->n_colls; i++)
		if (strcmp(db->colls[i].id, id) == 0)
			return &db->colls[i];
	return NULL;
}

static int coll_loc(const zdb_cidr_coll_t *c, const char *name)
{
	for (size_t i = 0; i < c->n_locs; i++)
		if (strcmp(c->locs[i], name) == 0)
			return (int)i;
	return -1;
}

/* Check a group of record sets (one name and type, spec 3.3) and compile it into rs. */
static int build_group(bctx_t *b, const r53_set_t *const *sets, size_t n, zdb_rrset_t *rs,
		       zdb_zone_t *zone)
{
	if (n == 0 || sets[0] == NULL)
		return ERR_INVAL; /* cannot happen: every record of a group has its set */
	const r53_set_t *s0 = sets[0];
	uint8_t policy = s0->policy;
	size_t limit = policy == POL_GEOPROXIMITY ? 30 : policy == POL_SIMPLE ? 1 : 100;
	for (size_t i = 1; i < n; i++)
		if (sets[i]->policy != policy || policy == POL_SIMPLE)
			return serr(b, sets[i], "a name and type cannot mix routing policies or hold two simple record sets (RR-1); other set: %s", s0->where);
	if (n > limit)
		return serr(b, sets[n - 1], "more than %zu record sets with this name and type under the %s policy", limit, zdb_policy_name(policy));

	zdb_group_t *g = zdb_alloc(b->db, sizeof(*g));
	zdb_member_t *m = zdb_alloc(b->db, n * sizeof(*m));
	if (g == NULL || m == NULL)
		return ERR_NOMEM;
	g->policy = policy;
	g->type = s0->type;
	g->n = (uint16_t)n;
	g->m = m;
	int primaries = 0, secondaries = 0, stars = 0;
	for (size_t i = 0; i < n; i++) {
		const r53_set_t *s = sets[i];
		zdb_member_t *x = &m[i];
		const char *sid = s->set_id ? s->set_id : "";
		char *copy = zdb_alloc(b->db, strlen(sid) + 1);
		if (copy == NULL)
			return ERR_NOMEM;
		strcpy(copy, sid);
		x->set_id = copy;
		x->hc = ZDB_NO_HC;
		x->region = s->region;
		x->weight = s->weight;
		x->failover = s->failover;
		x->geo_level = s->geo_level;
		memcpy(x->geo_code, s->geo_code, sizeof(x->geo_code));
		memcpy(x->geo_cc, s->geo_cc, sizeof(x->geo_cc));
		x->lat = s->lat;
		x->lon = s->lon;
		x->bias = s->bias;
		x->alias = s->alias;
		x->eth = s->eth;
		x->cidr_loc = -1;
		if (s->hc_id != NULL) {
			char *hid = zdb_alloc(b->db, strlen(s->hc_id) + 1);
			if (hid == NULL)
				return ERR_NOMEM;
			strcpy(hid, s->hc_id);
			x->hc_id = hid;
			if (b->opts->hc_find == NULL ||
			    b->opts->hc_find(b->opts->hc_ctx, s->hc_id, &x->hc) != ERR_OK)
				return serr(b, s, "HealthCheckId \"%s\" is not defined in health_checks", s->hc_id);
			if (note_hc(b, hid, x->hc) != ERR_OK)
				return ERR_NOMEM;
			hc14_warn(b, s);
		}
		if (s->alias) {
			const char *zid = zone->id;
			const char *tz = s->alias_zone;
			if (strncmp(zid, "/hostedzone/", 12) == 0)
				zid += 12;
			if (strncmp(tz, "/hostedzone/", 12) == 0)
				tz += 12;
			if (zid[0] != '\0' && strcmp(zid, tz) != 0)
				return serr(b, s, "AliasTarget.HostedZoneId \"%s\" is not this zone (%s): aliases to other zones and AWS resources are not supported (spec OC-8)", s->alias_zone, zone->id);
			uint8_t *tn = zdb_alloc(b->db, s->tnamelen);
			if (tn == NULL)
				return ERR_NOMEM;
			memcpy(tn, s->tname, s->tnamelen);
			x->target_name = tn;
		} else {
			const zl_rr_t **vals = calloc(s->vals.n ? s->vals.n : 1, sizeof(*vals));
			if (vals == NULL)
				return ERR_NOMEM;
			for (size_t k = 0; k < s->vals.n; k++)
				vals[k] = &s->vals.rr[k];
			int ret = build_values(b, vals, s->vals.n, &x->values);
			free(vals);
			if (ret != ERR_OK)
				return ret;
		}
		if (policy == POL_FAILOVER) {
			primaries += s->failover == ZDB_PRIMARY;
			secondaries += s->failover == ZDB_SECONDARY;
			if (primaries > 1 || secondaries > 1)
				return serr(b, s, "a failover group has at most one PRIMARY and one SECONDARY (RR-6)");
		}
		if (policy == POL_CIDR) {
			const zdb_cidr_coll_t *c = find_coll(b->db, s->cidr_coll);
			if (c == NULL)
				return serr(b, s, "CidrRoutingConfig.CollectionId \"%s\" is not in cidr_collections", s->cidr_coll);
			if (g->coll != NULL && g->coll != c)
				return serr(b, s, "every record of an IP-based group must use the same CollectionId (RR-9)");
			g->coll = c;
			b->uses_colls = true;
			if (strcmp(s->cidr_loc, "*") == 0) {
				if (++stars > 1)
					return serr(b, s, "at most one \"*\" location per IP-based group (RR-9)");
			} else if ((x->cidr_loc = (int16_t)coll_loc(c, s->cidr_loc)) < 0) {
				return serr(b, s, "CidrRoutingConfig.LocationName \"%s\" is not a location of collection %s", s->cidr_loc, c->id);
			}
		}
		for (size_t k = 0; k < i; k++) {
			const zdb_member_t *y = &m[k];
			if (strcmp(y->set_id, x->set_id) == 0)
				return serr(b, s, "SetIdentifier \"%s\" is used twice for this name and type", x->set_id);
			if (policy == POL_LATENCY && y->region == x->region)
				return serr(b, s, "two latency records for Region %s (RR-7)", geo_region_get(x->region)->name);
			if (policy == POL_GEOLOCATION && y->geo_level == x->geo_level &&
			    strcmp(y->geo_code, x->geo_code) == 0 && strcmp(y->geo_cc, x->geo_cc) == 0)
				return serr(b, s, "two geolocation records for the same location (RR-8)");
			if (policy == POL_CIDR && y->cidr_loc == x->cidr_loc && x->cidr_loc >= 0)
				return serr(b, s, "two IP-based records for location %s (RR-9)", s->cidr_loc);
		}
	}
	qsort(m, n, sizeof(*m), cmp_member);
	zone->by_policy[policy] += n;
	if (policy == POL_SIMPLE && !m[0].alias) {
		*rs = m[0].values; /* plain data; the group lets ETH aliases test its check */
		rs->group = g;
		return ERR_OK;
	}
	rs->type = g->type;
	rs->group = g;
	rs->dynamic = true;
	return ERR_OK;
}

/* Compile one RRset from records [i, j) of sorted recs into rs. */
static int build_rrset(bctx_t *b, const brec_t *recs, size_t i, size_t j, zdb_rrset_t *rs,
		       zdb_zone_t *zone)
{
	size_t n = j - i, nfile = 0;
	for (size_t k = i; k < j; k++)
		nfile += recs[k].set == NULL;
	if (nfile > 0 && nfile < n) {
		const brec_t *f = recs[i].set == NULL ? &recs[i] : &recs[j - 1];
		const brec_t *js = recs[i].set != NULL ? &recs[i] : &recs[j - 1];
		return berr(b, f->src, "this name and type is also defined in record_sets (%s); define it in one place", js->set->where);
	}
	if (nfile == 0) {
		const r53_set_t **sets = calloc(n, sizeof(*sets));
		size_t ns = 0;
		if (sets == NULL)
			return ERR_NOMEM;
		for (size_t k = i; k < j; k++)
			if (ns == 0 || sets[ns - 1] != recs[k].set)
				sets[ns++] = recs[k].set;
		int ret = build_group(b, sets, ns, rs, zone);
		free(sets);
		return ret;
	}
	const zl_rr_t **rr = calloc(n, sizeof(*rr));
	if (rr == NULL)
		return ERR_NOMEM;
	for (size_t k = 0; k < n; k++)
		rr[k] = recs[i + k].src;
	int ret = build_values(b, rr, n, rs);
	free(rr);
	return ret;
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
	uint16_t rl = 0;
	const uint8_t *rd = NULL;
	for (size_t k = 0; k < rs->count; k++) {
		rd = k == 0 ? zdb_rd_first(rs, &rl) : zdb_rd_next(rd, &rl);
		if (rl <= off)
			continue;
		const uint8_t *p = rd + off;
		size_t len = wire_name_len(p, rd + rl);
		if (len == 0)
			continue;
		uint8_t low[ZDB_MAXNAME];
		name_lower(low, p, len);
		tg[k] = btab_find(t, low, len, zdb_hash(low, len));
	}
	rs->target = tg;
	return ERR_OK;
}

static const zdb_rrset_t *node_rrset(const zdb_node_t *n, uint16_t type)
{
	for (uint16_t i = 0; n != NULL && i < n->n_rrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

/* The set of a member, for messages: find it again by SetIdentifier and name. */
static const r53_set_t *set_of(const r53_list_t *sets, const zdb_group_t *g,
			       const zdb_member_t *m)
{
	for (size_t i = 0; i < sets->n; i++) {
		const r53_set_t *s = &sets->v[i];
		if (s->type == g->type && s->namelen == g->node->namelen &&
		    memcmp(s->name, g->node->name, s->namelen) == 0 &&
		    strcmp(s->set_id ? s->set_id : "", m->set_id) == 0)
			return s;
	}
	return &sets->v[0];
}

/* Resolve alias targets (same zone, same type: AL-1, AL-2, RR-17). */
static int link_aliases(bctx_t *b, btab_t *t, const zdb_zone_t *zone, const uint8_t *apex,
			size_t alen, zdb_rrset_t *rs, const r53_list_t *sets)
{
	const zdb_group_t *g = rs->group;
	for (uint16_t i = 0; i < g->n; i++) {
		zdb_member_t *m = (zdb_member_t *)&g->m[i];
		if (!m->alias)
			continue;
		char nb[300], tb[300];
		size_t tl = strlen((const char *)m->target_name) + 1;
		const r53_set_t *s = set_of(sets, g, m);
		char *ts = ldns_rr_type2str(g->type);
		int ret = ERR_OK;
		if (!name_in(m->target_name, tl, apex, alen)) {
			ret = serr(b, s, "Tried to create an alias that targets %s, type %s in zone %s, but the alias target name does not lie within the target zone",
				   r53_name_str(m->target_name, tb, sizeof(tb)), ts ? ts : "?", zone->id);
		} else {
			const zdb_node_t *tn = btab_find(t, m->target_name, tl, zdb_hash(m->target_name, tl));
			m->target = node_rrset(tn, g->type);
			if (m->target == NULL)
				ret = serr(b, s, "Tried to create an alias that targets %s, type %s in zone %s, but that target was not found",
					   r53_name_str(m->target_name, tb, sizeof(tb)), ts ? ts : "?", zone->id);
		}
		(void)nb;
		free(ts);
		if (ret != ERR_OK)
			return ret;
	}
	return ERR_OK;
}

/* Depth-first search over alias edges; a cycle is a configuration error (AL-11). */
static int alias_dfs(bctx_t *b, const zdb_rrset_t *rs, const zdb_rrset_t **stack, int depth,
		     const r53_list_t *sets)
{
	const zdb_group_t *g = rs->group;
	if (g == NULL || !rs->dynamic)
		return ERR_OK;
	for (int k = 0; k < depth; k++) {
		if (stack[k] == rs) {
			char nb[300];
			const r53_set_t *s = set_of(sets, g, &g->m[0]);
			return serr(b, s, "alias loop through %s (AL-11)", r53_name_str(g->node->name, nb, sizeof(nb)));
		}
	}
	if (depth >= 64)
		return ERR_OK; /* deeper chains answer SERVFAIL at depth 16 */
	stack[depth] = rs;
	for (uint16_t i = 0; i < g->n; i++) {
		if (g->m[i].alias && g->m[i].target != NULL) {
			int ret = alias_dfs(b, g->m[i].target, stack, depth + 1, sets);
			if (ret != ERR_OK)
				return ret;
		}
	}
	return ERR_OK;
}

static int check_alias_loops(bctx_t *b, btab_t *t, const r53_list_t *sets)
{
	const zdb_rrset_t *stack[65];
	for (uint64_t i = 0; sets->n > 0 && i <= t->mask; i++) {
		const zdb_node_t *n = t->slot[i];
		for (uint16_t k = 0; n != NULL && k < n->n_rrsets; k++) {
			int ret = alias_dfs(b, &n->rrsets[k], stack, 0, sets);
			if (ret != ERR_OK)
				return ret;
		}
	}
	return ERR_OK;
}

/* Remember the zone file and its includes as they are now (zdb_zfile_t). */
static int note_files(zdb_zblob_t *zb, const char *zone_file, const zl_list_t *list)
{
	size_t n = list->n_files ? list->n_files : 1;
	zb->zone_file = strdup(zone_file);
	zb->files = calloc(n, sizeof(*zb->files));
	if (zb->zone_file == NULL || zb->files == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *path = list->n_files ? list->files[i] : zone_file;
		zb->n_files = i + 1;
		zb->files[i].path = strdup(path);
		if (zb->files[i].path == NULL)
			return ERR_NOMEM;
		if (!file_stat(path, &zb->files[i]))
			zb->files[i].ino = 0; /* cannot tell whether it changes: never shared */
	}
	return ERR_OK;
}

/* Load and compile one zone (into zb's arena, which b->db->arena is during the build). */
/* DNSSEC (zdb_src_t.dnssec): Route 53 caps every TTL of a signed zone at one week. */
#define SIGNED_TTL_MAX 604800u
#define DNSKEY_TTL_DEFAULT 3600u

/* The keys src signs with when its zone is signed (public, a ZSK and a KSK), else NULL. */
static const zdb_sec_src_t *sec_of(const zdb_src_t *src)
{
	const zdb_sec_src_t *k = src->dnssec;
	if (k == NULL || src->private_zone || k->zsk == NULL || k->n_ksk == 0 || k->ksk == NULL)
		return NULL;
	for (size_t i = 0; i < k->n_ksk; i++)
		if (k->ksk[i] == NULL)
			return NULL;
	return k;
}

/* The DNSKEY RRset's TTL for k. */
static uint32_t sec_dnskey_ttl(const zdb_sec_src_t *k)
{
	uint32_t t = k->dnskey_ttl != 0 ? k->dnskey_ttl : DNSKEY_TTL_DEFAULT;
	return t < SIGNED_TTL_MAX ? t : SIGNED_TTL_MAX;
}

/* Key i of k's DNSKEY list (KSKs, the ZSK, the published keys), NULL for none (a NULL
 * published entry is skipped); n receives the list's length. */
static const dnssec_key_t *sec_key(const zdb_sec_src_t *k, size_t i)
{
	if (i < k->n_ksk)
		return k->ksk[i];
	if (i == k->n_ksk)
		return k->zsk;
	i -= k->n_ksk + 1;
	return i < k->n_publish && k->publish != NULL ? k->publish[i] : NULL;
}

/* Does key i of k's list come before in the list with the same DNSKEY (published twice)? */
static bool sec_key_dup(const zdb_sec_src_t *k, size_t i)
{
	const dnssec_key_t *key = sec_key(k, i);
	for (size_t j = 0; j < i; j++) {
		const dnssec_key_t *o = sec_key(k, j);
		if (o != NULL && memcmp(dnssec_key_dnskey(o), dnssec_key_dnskey(key),
					DNSSEC_DNSKEY_RDLEN) == 0)
			return true;
	}
	return false;
}

static const zdb_rrset_t *find_type(const zdb_node_t *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->n_rrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

/*
 * Was zone z signed with the keys src asks for (or both unsigned)? The same KSKs and ZSK
 * (dnssec_key_id, in order), and the same DNSKEY RRset at its apex (every key's DNSKEY,
 * in order, and the TTL): a zone that changes keys or signing state is compiled again.
 */
static bool same_keys(const zdb_zone_t *z, const zdb_src_t *src)
{
	const zdb_sec_src_t *k = sec_of(src);
	const zdb_sec_t *s = z->sec;
	if (k == NULL || s == NULL)
		return k == NULL && s == NULL;
	if (s->n_ksk != k->n_ksk || dnssec_key_id(s->zsk) != dnssec_key_id(k->zsk) ||
	    s->dnskey_ttl != sec_dnskey_ttl(k))
		return false;
	for (size_t i = 0; i < k->n_ksk; i++)
		if (dnssec_key_id(s->ksk[i]) != dnssec_key_id(k->ksk[i]))
			return false;
	const zdb_rrset_t *rs = find_type(z->apex, DNSSEC_TYPE_DNSKEY);
	if (rs == NULL || rs->dynamic || rs->ttl != s->dnskey_ttl)
		return false;
	uint16_t l = 0, seen = 0;
	const uint8_t *p = NULL;
	for (size_t i = 0; i < k->n_ksk + 1 + k->n_publish; i++) {
		const dnssec_key_t *key = sec_key(k, i);
		if (key == NULL || sec_key_dup(k, i))
			continue;
		if (seen == rs->count)
			return false;
		p = seen++ == 0 ? zdb_rd_first(rs, &l) : zdb_rd_next(p, &l);
		if (l != DNSSEC_DNSKEY_RDLEN || memcmp(p, dnssec_key_dnskey(key), l) != 0)
			return false;
	}
	return seen == rs->count;
}

static uint32_t cap_ttl(uint32_t t)
{
	return t < SIGNED_TTL_MAX ? t : SIGNED_TTL_MAX;
}

/*
 * Make zone a signed zone (before its apex records are noted): the signing keys in
 * zone->sec (references, released with the blob), the DNSKEY RRset at the apex (replacing
 * one the data had), every TTL capped at one week.
 */
static int sign_zone(bctx_t *b, const zdb_sec_src_t *k, zdb_zone_t *zone, zdb_node_t *apex,
		     zdb_node_t *const *byseq, size_t nseq)
{
	zdb_sec_t *sec = zdb_alloc(b->db, sizeof(*sec));
	const dnssec_key_t **ksk = zdb_alloc(b->db, k->n_ksk * sizeof(*ksk));
	if (sec == NULL || ksk == NULL)
		return ERR_NOMEM;
	/* the zone holds references from here on: zdb_zblob_unref releases them */
	sec->zsk = dnssec_key_ref(k->zsk);
	for (size_t i = 0; i < k->n_ksk; i++)
		ksk[i] = dnssec_key_ref(k->ksk[i]);
	sec->ksk = ksk;
	sec->n_ksk = k->n_ksk;
	sec->dnskey_ttl = sec_dnskey_ttl(k);
	zone->sec = sec;

	/* the DNSKEY records: every key once, in list order */
	size_t nkeys = 0;
	for (size_t i = 0; i < k->n_ksk + 1 + k->n_publish; i++)
		nkeys += sec_key(k, i) != NULL && !sec_key_dup(k, i);
	uint8_t *rd = zdb_alloc_al(b->db, nkeys * (2u + DNSSEC_DNSKEY_RDLEN), 1);
	if (rd == NULL)
		return ERR_NOMEM;
	size_t used = 0;
	for (size_t i = 0; i < k->n_ksk + 1 + k->n_publish; i++) {
		const dnssec_key_t *key = sec_key(k, i);
		if (key == NULL || sec_key_dup(k, i))
			continue;
		uint16_t len = DNSSEC_DNSKEY_RDLEN;
		memcpy(rd + used, &len, 2);
		memcpy(rd + used + 2, dnssec_key_dnskey(key), len);
		used += 2u + len;
	}
	/* the apex's RRsets with the DNSKEY RRset in its place (sorted by type) */
	const zdb_rrset_t *old = find_type(apex, DNSSEC_TYPE_DNSKEY);
	size_t n = apex->n_rrsets + (old == NULL);
	zdb_rrset_t *rsv = zdb_alloc(b->db, n * sizeof(*rsv));
	if (rsv == NULL)
		return ERR_NOMEM;
	size_t o = 0;
	bool put = false;
	zdb_rrset_t dk = { .type = DNSSEC_TYPE_DNSKEY, .count = (uint16_t)nkeys,
			   .ttl = sec->dnskey_ttl, .rdkind = RD_PLAIN, .rd = rd };
	for (uint16_t i = 0; i < apex->n_rrsets; i++) {
		const zdb_rrset_t *rs = &apex->rrsets[i];
		if (!put && rs->type >= DNSSEC_TYPE_DNSKEY) {
			rsv[o++] = dk;
			put = true;
		}
		if (rs->type == DNSSEC_TYPE_DNSKEY) {
			zone->n_records -= rs->dynamic && rs->group != NULL ? rs->group->n : rs->count;
			continue;
		}
		rsv[o++] = *rs;
	}
	if (!put)
		rsv[o++] = dk;
	/* group members keep pointing at their nodes; aliases are linked after this */
	apex->rrsets = rsv;
	apex->n_rrsets = (uint16_t)o;
	zone->n_rrsets += old == NULL;
	zone->n_records += nkeys;

	/* one week at most, for every TTL (the SOA's too: the negative TTL follows) */
	for (size_t q = 0; q < nseq; q++) {
		zdb_node_t *node = byseq[q];
		for (uint16_t i = 0; node != NULL && i < node->n_rrsets; i++) {
			zdb_rrset_t *rs = (zdb_rrset_t *)&node->rrsets[i];
			rs->ttl = cap_ttl(rs->ttl);
			const zdb_group_t *g = rs->group;
			for (uint16_t m = 0; g != NULL && m < g->n; m++) {
				zdb_member_t *mb = (zdb_member_t *)&g->m[m];
				mb->values.ttl = cap_ttl(mb->values.ttl);
			}
		}
	}
	return ERR_OK;
}

static int build_zone(bctx_t *b, const zdb_src_t *src, zdb_zone_t *zone, zdb_zblob_t *zb)
{
	zl_list_t list;
	r53_list_t sets = { 0 };
	brec_t *recs = NULL;
	btab_t t = { 0 };
	zdb_node_t **byseq = NULL; /* nodes with data, in the order their owners first appear */
	size_t *start = NULL;      /* per owner: where its records start in recs */
	size_t nseq = 0;           /* owners */
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
	if (src->zone_file == NULL && src->record_sets == NULL) {
		snprintf(b->err, b->errlen, "zone %s: needs zone_file or record_sets", src->name);
		return ERR_INVAL;
	}
	if (src->zone_file != NULL) {
		ret = zl_load(src->zone_file, src->name, &list, b->err, b->errlen);
		if (ret == ERR_IO && src->where != NULL) {
			char msg[512];
			snprintf(msg, sizeof(msg), "%s", b->err);
			snprintf(b->err, b->errlen, "%s.zone_file: %s", src->where, msg);
		}
		if (ret != ERR_OK)
			goto out;
	}
	if (src->record_sets != NULL) {
		ret = r53_load_cached(src->record_sets, src->record_sets_file, src->name, apex,
				      alen, b->opts->set_cache, &sets, b->err, b->errlen);
		if (ret != ERR_OK)
			goto out;
	}
	/* One build record per zone-file record, per value of a simple JSON set (plain data),
	 * and per other JSON set (a policy or alias group member). */
	size_t nrec = list.n;
	for (size_t i = 0; i < sets.n; i++) {
		bool plain = sets.v[i].policy == POL_SIMPLE && !sets.v[i].alias;
		nrec += plain ? sets.v[i].vals.n : 1;
	}
	recs = calloc(nrec ? nrec : 1, sizeof(*recs));
	if (recs == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	size_t nr = 0;
	for (size_t i = 0; i < list.n; i++)
		recs[nr++].src = &list.rr[i];
	for (size_t i = 0; i < sets.n; i++) {
		const r53_set_t *st = &sets.v[i];
		if (st->policy == POL_SIMPLE && !st->alias) {
			for (size_t k = 0; k < st->vals.n; k++) {
				recs[nr].set = st;
				recs[nr++].src = &st->vals.rr[k];
			}
		} else {
			recs[nr].set = st;
			recs[nr].type = st->type;
			recs[nr].ownerlen = st->namelen;
			recs[nr++].owner = st->name;
		}
	}
	for (size_t i = 0; i < nrec; i++) {
		brec_t *br = &recs[i];
		zl_rr_t where = { .file = br->set ? br->set->where : "?", .line = -1 };
		const zl_rr_t *r = br->src ? br->src : &where;
		if (br->src != NULL) {
			br->ownerlen = r->ownerlen;
			br->owner = r->owner;
			br->type = r->type;
			if (r->rclass != LDNS_RR_CLASS_IN) {
				ret = berr(b, r, "%s", "class must be IN");
				goto out;
			}
		}
		if (br->owner == NULL || br->ownerlen == 0) { /* every record has a source */
			ret = berr(b, r, "%s", "record without an owner name");
			goto out;
		}
		if (!name_in(br->owner, br->ownerlen, apex, alen)) {
			char nb[300];
			ret = berr(b, r, "out-of-zone record %s", r53_name_str(br->owner, nb, sizeof(nb)));
			goto out;
		}
		if (br->type == LDNS_RR_TYPE_SOA &&
		    (br->ownerlen != alen || memcmp(br->owner, apex, alen) != 0)) {
			ret = berr(b, r, "%s", "SOA record not at the zone apex");
			goto out;
		}
		if (br->type == LDNS_RR_TYPE_CNAME && br->ownerlen == alen &&
		    memcmp(br->owner, apex, alen) == 0) {
			ret = berr(b, r, "%s", "CNAME at the zone apex (HZ-21)");
			goto out;
		}
	}
	/* Group the records by owner without sorting names: each owner's node is made in the
	 * order owners first appear (a counting sort by that order keeps file order within an
	 * owner), then the records of one owner are sorted by type. */
	{
		size_t size = pow2_at_least(nrec + nrec / 3 + 2);
		t.slot = calloc(size, sizeof(*t.slot));
		t.mask = size - 1;
	}
	byseq = calloc(nrec + 1, sizeof(*byseq));
	start = calloc(nrec + 2, sizeof(*start));
	if (t.slot == NULL || byseq == NULL || start == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	zdb_node_t *apex_node = get_node(b->db, &t, zone, apex, alen);
	if (apex_node == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	byseq[nseq++] = apex_node;
	/* the table is far bigger than the caches: hash PF records ahead and prefetch their
	 * slots, then (PF/2 ahead) the nodes those slots point to */
	enum { PF = 16 };
	uint64_t ring[PF] = { 0 };
	for (size_t i = 0; i < nrec + PF; i++) {
		uint64_t hr = ring[i % PF]; /* record i - PF's hash, when i >= PF */
		if (i < nrec) {
			uint64_t h = zdb_hash(recs[i].owner, recs[i].ownerlen);
			ring[i % PF] = h;
			__builtin_prefetch(&t.slot[h & t.mask]);
		}
		if (i >= PF / 2 && i - PF / 2 < nrec) {
			const zdb_node_t *ahead = t.slot[ring[(i - PF / 2) % PF] & t.mask];
			if (ahead != NULL)
				__builtin_prefetch(ahead);
		}
		if (i < PF)
			continue;
		size_t r = i - PF;
		size_t before = t.n;
		zdb_node_t *node;
		if (r > 0 && recs[r].ownerlen == recs[r - 1].ownerlen &&
		    memcmp(recs[r].owner, recs[r - 1].owner, recs[r].ownerlen) == 0)
			node = byseq[recs[r - 1].seq]; /* the same owner as the line before */
		else
			node = get_node_h(b->db, &t, zone, recs[r].owner, recs[r].ownerlen, hr);
		if (node == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
		if (t.n != before) {
			node->build_seq = nseq;
			byseq[nseq++] = node;
		}
		recs[r].seq = (uint32_t)node->build_seq;
		start[recs[r].seq + 1]++;
	}
	for (size_t q = 1; q <= nseq; q++)
		start[q] += start[q - 1];
	{
		brec_t *sorted = malloc((nrec ? nrec : 1) * sizeof(*sorted));
		if (sorted == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < nrec; i++)
			sorted[start[recs[i].seq]++] = recs[i];
		free(recs);
		recs = sorted;
	}
	/* start[q] is now the end of owner q's records */
	for (size_t q = 0, i = 0; q < nseq; i = start[q++]) {
		if (start[q] - i > 1)
			qsort(recs + i, start[q] - i, sizeof(*recs), cmp_brec);
	}

	/* Nodes with data and their RRsets. */
	for (size_t q = 0, i = 0; q < nseq; i = start[q++]) {
		size_t j = start[q];
		size_t ntypes = 0;
		if (j == i)
			continue; /* the apex without records: no SOA, reported below */
		for (size_t k = i; k < j; k++)
			ntypes += k == i || recs[k].type != recs[k - 1].type;
		zdb_node_t *node = byseq[q];
		zdb_rrset_t *rsv = zdb_alloc(b->db, ntypes * sizeof(*rsv));
		if (node == NULL || rsv == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
		size_t s = 0;
		const brec_t *cname_rec = NULL, *other_rec = NULL;
		for (size_t k = i; k < j;) {
			size_t m = k;
			while (m < j && recs[m].type == recs[k].type)
				m++;
			ret = build_rrset(b, recs, k, m, &rsv[s], zone);
			if (ret != ERR_OK)
				goto out;
			if (rsv[s].group != NULL)
				((zdb_group_t *)rsv[s].group)->node = node;
			s++;
			if (recs[k].type == LDNS_RR_TYPE_CNAME)
				cname_rec = &recs[k];
			else if (recs[k].type != LDNS_RR_TYPE_RRSIG &&
				 recs[k].type != LDNS_RR_TYPE_NSEC && other_rec == NULL)
				other_rec = &recs[k];
			k = m;
		}
		if (cname_rec != NULL && other_rec != NULL) {
			char *ts = ldns_rr_type2str(other_rec->type);
			char at[256];
			if (other_rec->src != NULL && other_rec->src->line >= 0)
				snprintf(at, sizeof(at), "line %d", other_rec->src->line);
			else
				snprintf(at, sizeof(at), "%s", other_rec->set->where);
			zl_rr_t w = { .file = cname_rec->set ? cname_rec->set->where : "?", .line = -1 };
			ret = berr(b, cname_rec->src ? cname_rec->src : &w,
				   "CNAME and other data at the same name (%s at %s; RFC 1034 3.6.2, HZ-22)",
				   ts ? ts : "?", at);
			free(ts);
			goto out;
		}
		zdb_rrset_t *sets_ = rsv;
		node->rrsets = sets_;
		node->n_rrsets = (uint16_t)s;
		zone->n_names++;
		zone->n_rrsets += s;
		for (size_t k = 0; k < s; k++) {
			zone->n_records += (sets_[k].dynamic && sets_[k].group != NULL) ? sets_[k].group->n
									  : sets_[k].count;
			if (sets_[k].type == LDNS_RR_TYPE_DNAME && !sets_[k].dynamic)
				node->is_dname = true;
			if (sets_[k].type == LDNS_RR_TYPE_NS && node != apex_node) {
				node->is_cut = true;
				if (zone->private_zone) {
					const brec_t *r0 = &recs[i];
					zl_rr_t w = { .file = r0->set ? r0->set->where : "?", .line = -1 };
					ret = berr(b, r0->src ? r0->src : &w, "private zones cannot delegate subdomains with NS records (HZ-33)");
					goto out;
				}
			}
		}
	}
	/* The empty non-terminals between each name and the apex; the delegation or DNAME at
	 * or above each node (below_cut) and the wildcard children, computed from the apex
	 * down along each name; no data below a DNAME. */
	for (size_t q = 0, i = 0; q < nseq; i = start[q++]) {
		if (start[q] == i)
			continue;
		zdb_node_t *node = byseq[q];
		zdb_node_t *chain[ZDB_MAXLABELS + 1]; /* ancestors, the parent first */
		size_t nc = 0;
		const uint8_t *p = node->name;
		size_t len = node->namelen;
		while (len > alen && nc < ZDB_MAXLABELS) {
			len -= (size_t)*p + 1;
			p += *p + 1;
			zdb_node_t *anc = len == alen ? apex_node : get_node(b->db, &t, zone, p, len);
			if (anc == NULL) {
				ret = ERR_NOMEM;
				goto out;
			}
			if (anc->is_dname) {
				const brec_t *r0 = &recs[i];
				zl_rr_t w = { .file = r0->set ? r0->set->where : "?", .line = -1 };
				char nb[1024];
				ret = berr(b, r0->src ? r0->src : &w,
					   "data below the DNAME at %s (RFC 6672 2.3)",
					   r53_name_str(anc->name, nb, sizeof(nb)));
				goto out;
			}
			chain[nc++] = anc;
		}
		bool below = false;
		for (size_t k = nc; k-- > 0;) {
			zdb_node_t *a = chain[k];
			below |= a->is_cut || a->is_dname;
			a->below_cut = below;
			if (a->is_wild && k + 1 < nc)
				chain[k + 1]->has_wild = true;
		}
		node->below_cut = below || node->is_cut || node->is_dname;
		if (node->is_wild && nc > 0)
			chain[0]->has_wild = true;
	}

	/* A signed zone: its keys, the DNSKEY RRset, TTLs capped (private zones never). */
	if (sec_of(src) != NULL && apex_node->n_rrsets > 0) {
		ret = sign_zone(b, sec_of(src), zone, apex_node, byseq, nseq);
		if (ret != ERR_OK)
			goto out;
	}
	/* Apex records. */
	for (size_t k = 0; k < apex_node->n_rrsets; k++) {
		if (apex_node->rrsets[k].type == LDNS_RR_TYPE_SOA)
			zone->soa = &apex_node->rrsets[k];
		if (apex_node->rrsets[k].type == LDNS_RR_TYPE_NS)
			zone->ns = &apex_node->rrsets[k];
	}
	const char *zf = src->zone_file ? src->zone_file
			 : src->record_sets_file ? src->record_sets_file : "record_sets";
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
		uint16_t rl = 0;
		const uint8_t *rd = zone->soa->count > 0 ? zdb_rd_first(zone->soa, &rl) : NULL;
		if (rd == NULL || rl < 22) {
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

	/* Per node with data: additional-section targets, alias targets. */
	for (size_t q = 0; q < nseq; q++) {
		zdb_node_t *n = byseq[q];
		for (size_t k = 0; k < n->n_rrsets; k++) {
			zdb_rrset_t *rs = (zdb_rrset_t *)&n->rrsets[k];
			ret = link_targets(b, &t, rs);
			if (ret == ERR_OK && rs->group != NULL)
				ret = link_aliases(b, &t, zone, apex, alen, rs, &sets);
			if (ret != ERR_OK)
				goto out;
		}
	}
	ret = check_alias_loops(b, &t, &sets);
	if (ret != ERR_OK)
		goto out;
	/* the zone's table (the blob frees it), sized for its nodes (load at most 3/4): the
	 * build's own when that has the size (it was sized for the records) */
	{
		size_t size = pow2_at_least(t.n + t.n / 3 + 1);
		zone->n_nodes = t.n;
		if (t.mask + 1 == size) {
			zone->nodes.slot = (const zdb_node_t **)t.slot;
			zone->nodes.mask = t.mask;
			t.slot = NULL;
		} else {
			const zdb_node_t **slot = calloc(size, sizeof(*slot));
			if (slot == NULL) {
				ret = ERR_NOMEM;
				goto out;
			}
			zone->nodes.slot = slot;
			zone->nodes.mask = size - 1;
			for (uint64_t i = 0; i <= t.mask; i++) {
				const zdb_node_t *n = t.slot[i];
				if (n == NULL)
					continue;
				uint64_t k = n->hash & zone->nodes.mask;
				while (slot[k] != NULL)
					k = (k + 1) & zone->nodes.mask;
				slot[k] = n;
			}
		}
	}
	if (src->zone_file != NULL && zb != NULL)
		ret = note_files(zb, src->zone_file, &list);
	if (ret == ERR_OK && src->record_sets != NULL && zb != NULL)
		zb->record_sets = json_incref((json_t *)src->record_sets);
out:
	free(t.slot);
	free(byseq);
	free(start);
	free(recs);
	r53_list_deinit(&sets);
	zl_list_deinit(&list);
	return ret;
}

/*
 * Fill view with the zones for which member[z] is true, by apex name. Two zones of one name
 * in a view are an error (HZ-5), or with dup_ok the first one answers and the others are
 * left out with a warning.
 */
static int build_view(bctx_t *b, const bool *member, zdb_view_t *view, const char *what,
		      bool dup_ok)
{
	zdb_t *db = b->db;
	size_t nz = 0;
	for (size_t z = 0; z < db->n_zones; z++)
		nz += member[z];
	size_t size = pow2_at_least(nz * 2);
	const zdb_zone_t **slot = calloc(size, sizeof(*slot));
	if (slot == NULL)
		return ERR_NOMEM;
	view->slot = slot;
	view->mask = size - 1;
	view->min_labels = UINT8_MAX;
	view->max_labels = 0;
	for (size_t z = 0; z < db->n_zones; z++) {
		const zdb_zone_t *zone = &db->zones[z];
		if (!member[z])
			continue;
		const zdb_node_t *apex = zone->apex;
		const zdb_zone_t *other = NULL;
		uint64_t k = apex->hash & view->mask;
		for (; slot[k] != NULL; k = (k + 1) & view->mask) {
			const zdb_node_t *a = slot[k]->apex;
			if (a->namelen == apex->namelen && memcmp(a->name, apex->name, a->namelen) == 0) {
				other = slot[k];
				break;
			}
		}
		if (other != NULL && dup_ok) {
			/* Route 53 allows two public zones of one name (each with its own name
			 * servers); one view can answer for one of them: the first. */
			if (b->opts->warn != NULL) {
				char msg[600];
				snprintf(msg, sizeof(msg), "zone %s (%s): %s already has a public hosted zone of this name (%s); DNS answers from that one",
					 zone->name, zone->id, what, other->id);
				b->opts->warn(msg);
			}
			continue;
		}
		if (other != NULL) {
			snprintf(b->err, b->errlen, "zone %s: another hosted zone of %s has the same name (HZ-5)",
				 zone->name, what);
			return ERR_EXISTS;
		}
		slot[k] = zone;
		if (apex->labels < view->min_labels)
			view->min_labels = apex->labels;
		if (apex->labels > view->max_labels)
			view->max_labels = apex->labels;
	}
	return ERR_OK;
}

static char *arena_str(zdb_t *db, const char *s)
{
	char *c = zdb_alloc(db, strlen(s) + 1);
	if (c != NULL)
		strcpy(c, s);
	return c;
}

/* vpcs[]: {"VPCId", "VPCRegion", "sources": [CIDR, ...]} (DESIGN.md, spec OC-9). */
static int build_vpcs(bctx_t *b, const json_t *vpcs)
{
	zdb_t *db = b->db;
	size_t n = json_array_size(vpcs);
	if (n == 0)
		return ERR_OK;
	db->vpcs = calloc(n, sizeof(*db->vpcs));
	if (db->vpcs == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(vpcs, i);
		const char *id = json_string_value(json_object_get(v, "VPCId"));
		const char *region = json_string_value(json_object_get(v, "VPCRegion"));
		const json_t *src = json_object_get(v, "sources");
		zdb_vpc_t *vp = &db->vpcs[i];
		db->n_vpcs = i + 1;
		if (id == NULL || region == NULL || !json_is_array(src)) {
			snprintf(b->err, b->errlen, "vpcs[%zu]: needs VPCId, VPCRegion and sources (a list of CIDR blocks)", i);
			return ERR_INVAL;
		}
		vp->region = geo_region_find(region);
		if (vp->region < 0) {
			snprintf(b->err, b->errlen, "vpcs[%zu].VPCRegion: \"%s\" is not in the region table", i, region);
			return ERR_INVAL;
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(db->vpcs[k].id, id) == 0) {
				snprintf(b->err, b->errlen, "vpcs[%zu].VPCId: %s is defined twice", i, id);
				return ERR_EXISTS;
			}
		}
		vp->id = arena_str(db, id);
		vp->nets = zdb_alloc(db, (json_array_size(src) + 1) * sizeof(*vp->nets));
		if (vp->id == NULL || vp->nets == NULL)
			return ERR_NOMEM;
		for (size_t k = 0; k < json_array_size(src); k++) {
			const char *t = json_string_value(json_array_get(src, k));
			char gerr[128];
			if (t == NULL || geo_cidr_parse(t, &vp->nets[k], gerr, sizeof(gerr)) != GEO_OK) {
				snprintf(b->err, b->errlen, "vpcs[%zu].sources[%zu]: not a CIDR block", i, k);
				return ERR_INVAL;
			}
			vp->n_nets++;
		}
	}
	return ERR_OK;
}

/* Which VPCs a private zone is associated with (HostedZone VPCs: [{VPCRegion, VPCId}]). */
static int zone_vpcs(bctx_t *b, const zdb_src_t *src, size_t z, bool *assoc)
{
	const zdb_zone_t *zone = &b->db->zones[z];
	size_t n = json_array_size(src->vpcs);
	if (!zone->private_zone)
		return ERR_OK;
	if (n == 0 && !b->db->opts.api_lenient) {
		snprintf(b->err, b->errlen, "%s: private zone %s is associated with no VPC (VPCs)",
			 src->where ? src->where : "hosted_zones", zone->name);
		return ERR_INVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_object_get(json_array_get(src->vpcs, i), "VPCId"));
		size_t k = 0;
		while (id != NULL && k < b->db->n_vpcs && strcmp(b->db->vpcs[k].id, id) != 0)
			k++;
		if (id != NULL && k == b->db->n_vpcs && b->db->opts.api_lenient)
			continue;
		if (id == NULL || k == b->db->n_vpcs) {
			snprintf(b->err, b->errlen, "%s: VPCs[%zu]: VPC %s is not in the configuration's vpcs",
				 src->where ? src->where : "hosted_zones", i, id ? id : "(no VPCId)");
			return ERR_NOTFOUND;
		}
		assoc[k * b->db->n_zones + z] = true;
	}
	return ERR_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_block(const void *a, const void *b)
{
	const zdb_cidr_block_t *x = a, *y = b;
	if (x->net.prefix != y->net.prefix)
		return x->net.prefix > y->net.prefix ? -1 : 1;
	return x->loc - y->loc;
}

/* cidr_collections: [{CidrCollection: {Id, Name}, cidr_blocks: {CidrBlocks: [...]}, where}] */
static int build_colls(bctx_t *b, const json_t *colls)
{
	zdb_t *db = b->db;
	size_t n = json_array_size(colls);
	if (n == 0)
		return ERR_OK;
	db->colls = zdb_alloc(db, n * sizeof(*db->colls));
	if (db->colls == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(colls, i);
		const json_t *cc = json_object_get(c, "CidrCollection");
		const char *where = json_string_value(json_object_get(c, "where"));
		const json_t *blocks = json_object_get(json_object_get(c, "cidr_blocks"), "CidrBlocks");
		const char *id = json_string_value(json_object_get(cc, "Id"));
		const char *name = json_string_value(json_object_get(cc, "Name"));
		if (where == NULL)
			where = "cidr_collections";
		if (id == NULL || name == NULL) {
			snprintf(b->err, b->errlen, "%s: cidr_collections[%zu].CidrCollection needs Id and Name", where, i);
			return ERR_INVAL;
		}
		if (!json_is_array(blocks)) {
			snprintf(b->err, b->errlen, "%s: cidr_collections[%zu].cidr_blocks must be the output of list-cidr-blocks ({\"CidrBlocks\": [...]})", where, i);
			return ERR_INVAL;
		}
		zdb_cidr_coll_t *co = &db->colls[i];
		db->n_colls = i + 1;
		for (size_t k = 0; k < i; k++) {
			if (strcmp(db->colls[k].id, id) == 0) {
				snprintf(b->err, b->errlen, "%s: cidr_collections[%zu]: collection Id %s defined twice", where, i, id);
				return ERR_EXISTS;
			}
		}
		size_t nb = json_array_size(blocks);
		co->id = arena_str(db, id);
		co->name = arena_str(db, name);
		co->locs = zdb_alloc(db, (nb ? nb : 1) * sizeof(*co->locs));
		co->blocks = zdb_alloc(db, (nb ? nb : 1) * sizeof(*co->blocks));
		if (co->id == NULL || co->name == NULL || co->locs == NULL || co->blocks == NULL)
			return ERR_NOMEM;
		for (size_t k = 0; k < nb; k++) {
			const json_t *bl = json_array_get(blocks, k);
			const char *loc = json_string_value(json_object_get(bl, "LocationName"));
			if (loc == NULL || strlen(loc) > 16 || strcmp(loc, "*") == 0) {
				snprintf(b->err, b->errlen, "%s: CidrBlocks[%zu].LocationName missing, longer than 16, or \"*\"", where, k);
				return ERR_INVAL;
			}
			bool seen = false;
			for (size_t l = 0; l < co->n_locs && !seen; l++)
				seen = strcmp(co->locs[l], loc) == 0;
			if (!seen && (co->locs[co->n_locs++] = arena_str(db, loc)) == NULL)
				return ERR_NOMEM;
		}
		qsort(co->locs, co->n_locs, sizeof(*co->locs), cmp_str);
		for (size_t k = 0; k < nb; k++) {
			const json_t *bl = json_array_get(blocks, k);
			const char *text = json_string_value(json_object_get(bl, "CidrBlock"));
			const char *loc = json_string_value(json_object_get(bl, "LocationName"));
			zdb_cidr_block_t *blk = &co->blocks[k];
			char gerr[128];
			if (text == NULL || geo_cidr_parse(text, &blk->net, gerr, sizeof(gerr)) != GEO_OK) {
				snprintf(b->err, b->errlen, "%s: CidrBlocks[%zu].CidrBlock \"%s\" is not a CIDR block", where, k, text ? text : "");
				return ERR_INVAL;
			}
			unsigned maxp = blk->net.af == AF_INET ? 24 : 48;
			if (blk->net.prefix < 1 || blk->net.prefix > maxp) {
				snprintf(b->err, b->errlen, "%s: CidrBlocks[%zu].CidrBlock %s: prefix must be /1../%u (use the \"*\" location for everything else)", where, k, text, maxp);
				return ERR_INVAL;
			}
			blk->loc = (int16_t)coll_loc(co, loc);
			co->n_blocks++;
		}
		qsort(co->blocks, co->n_blocks, sizeof(*co->blocks), cmp_block);
	}
	return ERR_OK;
}

/* Compile zone i into a blob of its own: the arena is swapped for the build. */
static int compile_zone(bctx_t *b, const zdb_src_t *src, size_t i)
{
	zdb_t *db = b->db;
	zdb_zblob_t *zb = calloc(1, sizeof(*zb));
	if (zb == NULL)
		return ERR_NOMEM;
	atomic_init(&zb->refs, 1);
	db->blobs[i] = zb;
	zdb_arena_chunk_t *saved = db->arena;
	db->arena = NULL;
	b->uses_colls = false;
	b->zb = zb;
	int ret = build_zone(b, src, &zb->zone, zb);
	b->zb = NULL;
	zb->arena = db->arena;
	zb->bytes = zdb_arena_bytes(zb->arena) + (zb->zone.nodes.slot != NULL ?
		    (zb->zone.nodes.mask + 1) * sizeof(*zb->zone.nodes.slot) : 0);
	zb->uses_colls = b->uses_colls;
	db->arena = saved;
	db->zones[i] = zb->zone;
	db->bytes_built += zb->bytes;
	return ret;
}

/* Zone i is blob zb of the previous snapshot: take a reference. */
static void share_zone(zdb_t *db, zdb_zblob_t *zb, size_t i)
{
	atomic_fetch_add_explicit(&zb->refs, 1, memory_order_relaxed);
	db->blobs[i] = zb;
	db->zones[i] = zb->zone;
}

/* The same documents: the same json_t, or containers of the same documents. */
static bool same_docs(const json_t *a, const json_t *b)
{
	if (a == b)
		return true;
	if (a == NULL || b == NULL || json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		size_t n = json_array_size(a);
		if (json_array_size(b) != n)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!same_docs(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		const json_t *v;
		json_object_foreach((json_t *)a, k, v) {
			if (!same_docs(v, json_object_get(b, k)))
				return false;
		}
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b) != 0;
}

/*
 * Is zone source src what blob zb was built from? Its files by identity, size and times
 * (the zone file and every file it included), its record sets by document identity (the
 * model replaces a document it changes, never edits one), and the health checks it refers
 * to still at the same slots.
 */
static bool same_source(const zdb_zblob_t *zb, const zdb_src_t *src, const zdb_opts_t *opts)
{
	if (zb->zone.private_zone != src->private_zone)
		return false;
	if ((zb->zone_file == NULL) != (src->zone_file == NULL) ||
	    (src->zone_file != NULL && strcmp(zb->zone_file, src->zone_file) != 0))
		return false;
	if (src->zone_file != NULL && zb->n_files == 0)
		return false;
	for (size_t k = 0; k < zb->n_files; k++) {
		zdb_zfile_t f;
		const zdb_zfile_t *o = &zb->files[k];
		if (o->ino == 0 || !file_stat(o->path, &f) || f.dev != o->dev || f.ino != o->ino ||
		    f.size != o->size || f.mtime_ns != o->mtime_ns || f.ctime_ns != o->ctime_ns)
			return false;
	}
	if (!same_docs(zb->record_sets, src->record_sets))
		return false;
	for (size_t k = 0; k < zb->n_hcs; k++) {
		uint32_t slot;
		if (opts->hc_find == NULL ||
		    opts->hc_find(opts->hc_ctx, zb->hcs[k].id, &slot) != ERR_OK ||
		    slot != zb->hcs[k].slot)
			return false;
	}
	return true;
}

/*
 * Which zones of prev the build can share (share[i] set): those of the same Id and name
 * that the caller says are unchanged or that were built from the same sources
 * (same_source), unless their groups point into prev's CIDR collections.
 */
static int plan_sharing(const zdb_src_t *src, size_t n, const zdb_opts_t *opts,
			zdb_zblob_t ***out)
{
	const zdb_t *prev = opts->prev;
	zdb_zblob_t **share = calloc(n ? n : 1, sizeof(*share));
	bool *kept = prev ? calloc(prev->n_zones ? prev->n_zones : 1, sizeof(*kept)) : NULL;
	*out = share;
	if (share == NULL || (prev != NULL && kept == NULL)) {
		free(kept);
		return ERR_NOMEM;
	}
	if (prev == NULL || prev->blobs == NULL) {
		free(kept);
		return ERR_OK;
	}
	for (size_t i = 0; i < n; i++) {
		if (src[i].id == NULL || src[i].id[0] == '\0' || src[i].name == NULL)
			continue;
		for (size_t j = 0; j < prev->n_zones; j++) {
			zdb_zblob_t *zb = prev->blobs[j];
			if (zb != NULL && !kept[j] && !zb->uses_colls &&
			    strcmp(prev->zones[j].id, src[i].id) == 0 &&
			    strcasecmp(prev->zones[j].name, src[i].name) == 0 &&
			    (src[i].unchanged || same_source(zb, &src[i], opts)) &&
			    same_keys(&zb->zone, &src[i])) {
				share[i] = zb;
				kept[j] = true;
				break;
			}
		}
	}
	free(kept);
	return ERR_OK;
}

int zdb_build(const zdb_src_t *src, size_t n_src, const zdb_opts_t *opts, zdb_t **out,
	      char *err, size_t errlen)
{
	int ret = ERR_NOMEM;
	zdb_t *db = calloc(1, sizeof(*db));
	bctx_t b = { .db = db, .opts = opts, .err = err, .errlen = errlen };
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	*out = NULL;
	if (db == NULL)
		goto out;
	db->zones = calloc(n_src ? n_src : 1, sizeof(*db->zones));
	if (db->zones == NULL)
		goto out;
	db->opts = *opts;
	db->opts.chaos_version = NULL;
	db->opts.chaos_id = NULL;
	db->opts.nsid = NULL;
	db->opts.nsid_len = 0;
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
	if (opts->nsid != NULL) {
		size_t nl = strnlen(opts->nsid, ZDB_NSID_MAX);
		char *s = zdb_alloc(db, nl + 1);
		if (s == NULL)
			goto out;
		memcpy(s, opts->nsid, nl);
		s[nl] = '\0';
		db->opts.nsid = s;
		db->opts.nsid_len = (uint16_t)nl;
	}
	ret = build_colls(&b, opts->cidr_collections);
	if (ret == ERR_OK)
		ret = build_vpcs(&b, opts->vpcs);
	if (ret != ERR_OK)
		goto out;
	db->blobs = calloc(n_src ? n_src : 1, sizeof(*db->blobs));
	if (db->blobs == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	{
		zdb_zblob_t **share = NULL;
		ret = plan_sharing(src, n_src, opts, &share);
		if (ret != ERR_OK) {
			free(share);
			goto out;
		}
		for (size_t i = 0; i < n_src && ret == ERR_OK; i++) {
			db->n_zones = i + 1;
			if (share[i] != NULL)
				share_zone(db, share[i], i);
			else
				ret = compile_zone(&b, &src[i], i);
			db->n_shared += share[i] != NULL;
		}
		free(share);
		if (ret != ERR_OK)
			goto out;
	}
	{
		/* the public view, then one view per VPC with its private zones */
		size_t nz = n_src ? n_src : 1;
		bool *member = calloc(nz * (db->n_vpcs + 1), sizeof(*member));
		if (member == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
		bool *assoc = member + nz;
		for (size_t z = 0; z < n_src && ret == ERR_OK; z++) {
			member[z] = !db->zones[z].private_zone;
			ret = zone_vpcs(&b, &src[z], z, assoc);
		}
		if (ret == ERR_OK)
			ret = build_view(&b, member, &db->public_view, "the public view",
					 db->opts.api_lenient);
		for (size_t v = 0; v < db->n_vpcs && ret == ERR_OK; v++) {
			char what[128];
			snprintf(what, sizeof(what), "VPC %s", db->vpcs[v].id);
			ret = build_view(&b, assoc + v * nz, &db->vpcs[v].view, what, false);
		}
		free(member);
	}
out:
	if (ret == ERR_NOMEM && err != NULL && errlen > 0)
		snprintf(err, errlen, "out of memory while building zones");
	if (ret != ERR_OK) {
		zdb_free(db);
		return ret;
	}
	/* what the build cost: the zones it compiled, and the snapshot's own memory */
	{
		size_t own = zdb_arena_bytes(db->arena) + sizeof(*db) +
			     n_src * (sizeof(*db->zones) + sizeof(*db->blobs)) +
			     (db->public_view.mask + 1) * sizeof(*db->public_view.slot) +
			     db->n_vpcs * sizeof(*db->vpcs);
		for (size_t v = 0; v < db->n_vpcs; v++)
			own += (db->vpcs[v].view.mask + 1) * sizeof(*db->vpcs[v].view.slot);
		db->bytes_built += own;
		db->bytes_total = own;
		for (size_t i = 0; i < db->n_zones; i++)
			db->bytes_total += db->blobs[i]->bytes;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	db->build_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	*out = db;
	return ERR_OK;
}
