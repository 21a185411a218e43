/* SPDX-License-Identifier: MIT */
/*
 * policy.c -- candidate lists, health filtering and picks for every routing policy.
 *
 * The structure follows spec 5.2 line by line: candidates(), healthy(), pick(),
 * select() and materialize(). Candidate lists hold member indices on the stack (a group
 * has at most 100 members, spec 1.8; larger groups are rejected at load).
 */
#include "policy.h"
#include "zanswer.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_CAND 128

static void explain(pol_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void explain(pol_ctx_t *c, const char *fmt, ...)
{
	if (c->why == NULL || c->why->len + 1 >= c->why->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->why->buf + c->why->len, c->why->cap - c->why->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->why->len += (size_t)n < c->why->cap - c->why->len ? (size_t)n
								       : c->why->cap - c->why->len - 1;
}

const geo_loc_t *pol_client_loc(pol_ctx_t *c)
{
	if (!c->loc_done) {
		c->loc_done = true;
		if (c->private_zone && c->vpc_region >= 0) {
			geo_loc_from_region(c->vpc_region, &c->loc);
		} else {
			const geo_ecs_t *ecs = c->private_zone ? NULL : c->ecs;
			geo_client_locate_ex(c->db->opts.geo, ecs, c->src, false, &c->loc);
		}
		if (c->why != NULL) {
			char a[64] = "-";
			if (c->loc.af != 0)
				inet_ntop(c->loc.af, c->loc.addr, a, sizeof(a));
			explain(c, "client %s/%u (%s): continent=%s country=%s subdivision=%s; ", a,
				c->loc.src_prefix, c->loc.from_ecs ? "ECS" : "source address",
				c->loc.continent[0] ? c->loc.continent : "?",
				c->loc.country[0] ? c->loc.country : "?",
				c->loc.subdivision[0] ? c->loc.subdivision : "-");
		}
	}
	c->location_used = true;
	return &c->loc;
}

static bool own_ok(const pol_ctx_t *c, const zdb_member_t *m)
{
	return m->hc == ZDB_NO_HC || c->hc == NULL || hc_is_healthy(c->hc, m->hc);
}

static bool healthy(pol_ctx_t *c, const zdb_member_t *m)
{
	if (!own_ok(c, m))
		return false;
	if (m->alias && m->eth) {
		pol_out_t probe = { .n = 0 };
		c->depth++;
		int r = c->depth > ZDB_ALIAS_DEPTH ? POL_FAIL : pol_select(c, m->target, true, &probe);
		c->depth--;
		return r == POL_OK;
	}
	return true;
}

/* Sort candidates by metric, ties by name (OC-17). Small n: insertion sort. */
static void sort_by(uint16_t *idx, double *metric, const char **name, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint16_t ti = idx[i];
		double tm = metric[i];
		const char *tn = name[i];
		size_t j = i;
		while (j > 0 && geo_rank_cmp(tm, tn, metric[j - 1], name[j - 1]) < 0) {
			idx[j] = idx[j - 1];
			metric[j] = metric[j - 1];
			name[j] = name[j - 1];
			j--;
		}
		idx[j] = ti;
		metric[j] = tm;
		name[j] = tn;
	}
}

static size_t cand_latency(pol_ctx_t *c, const zdb_group_t *g, uint16_t *idx)
{
	double metric[MAX_CAND];
	const char *name[MAX_CAND];
	pol_client_loc(c);
	geo_loc_coords(c->db->opts.geo, &c->loc); /* the estimate needs them */
	const geo_loc_t *loc = &c->loc;
	/* POL-L3: a cn-north-1 record always answers clients inside China */
	bool china = !c->private_zone && strcmp(loc->country, "CN") == 0;
	for (uint16_t i = 0; i < g->n; i++) {
		double ms = INFINITY;
		if (geo_latency_ms(c->db->opts.latency, loc, g->m[i].region, &ms, NULL) != GEO_OK)
			ms = INFINITY;
		idx[i] = i;
		name[i] = geo_region_get(g->m[i].region)->name;
		if (china && strcmp(name[i], "cn-north-1") == 0)
			ms = -1.0;
		metric[i] = ms;
	}
	sort_by(idx, metric, name, g->n);
	if (c->why != NULL)
		for (uint16_t i = 0; i < g->n; i++)
			explain(c, "%s %s %.0f ms; ", g->m[idx[i]].set_id, name[i], metric[i]);
	return g->n;
}

static size_t cand_geoprox(pol_ctx_t *c, const zdb_group_t *g, uint16_t *idx)
{
	double metric[MAX_CAND];
	const char *name[MAX_CAND];
	pol_client_loc(c);
	geo_loc_coords(c->db->opts.geo, &c->loc);
	const geo_loc_t *loc = &c->loc;
	for (uint16_t i = 0; i < g->n; i++) {
		const zdb_member_t *m = &g->m[i];
		double d = INFINITY;
		if (loc->has_coords)
			d = geo_bias_distance(geo_distance_km(loc->lat, loc->lon, m->lat, m->lon),
					      m->bias);
		idx[i] = i;
		metric[i] = d;
		name[i] = m->set_id;
	}
	sort_by(idx, metric, name, g->n);
	if (c->why != NULL)
		for (uint16_t i = 0; i < g->n; i++)
			explain(c, "%s biased distance %.0f km; ", name[i], metric[i]);
	return g->n;
}

static size_t cand_geoloc(pol_ctx_t *c, const zdb_group_t *g, uint16_t *idx)
{
	const geo_loc_t *loc = pol_client_loc(c);
	int at[4] = { -1, -1, -1, -1 }; /* by level: default, continent, country, subdivision */
	for (uint16_t i = 0; i < g->n; i++) {
		const zdb_member_t *m = &g->m[i];
		switch (m->geo_level) {
		case GEO_LVL_SUBDIVISION:
			if (loc->subdivision[0] && strcmp(m->geo_cc, loc->country) == 0 &&
			    strcmp(m->geo_code, loc->subdivision) == 0)
				at[GEO_LVL_SUBDIVISION] = i;
			break;
		case GEO_LVL_COUNTRY:
			if (loc->country[0] && strcmp(m->geo_code, loc->country) == 0)
				at[GEO_LVL_COUNTRY] = i;
			break;
		case GEO_LVL_CONTINENT:
			if (loc->continent[0] && strcmp(m->geo_code, loc->continent) == 0)
				at[GEO_LVL_CONTINENT] = i;
			break;
		default:
			at[GEO_LVL_DEFAULT] = i;
			break;
		}
	}
	size_t n = 0;
	for (int lvl = GEO_LVL_SUBDIVISION; lvl >= GEO_LVL_DEFAULT; lvl--) {
		if (at[lvl] < 0)
			continue;
		/* POL-G7: in a private zone an unhealthy match falls back to the default only */
		if (c->private_zone && n == 1 && lvl != GEO_LVL_DEFAULT)
			continue;
		idx[n++] = (uint16_t)at[lvl];
	}
	if (c->why != NULL) {
		explain(c, "applicable chain:");
		for (size_t i = 0; i < n; i++)
			explain(c, " %s", g->m[idx[i]].set_id);
		explain(c, "%s; ", n ? "" : " none (no answer)");
	}
	return n;
}

static size_t cand_cidr(pol_ctx_t *c, const zdb_group_t *g, uint16_t *idx)
{
	const geo_loc_t *loc = pol_client_loc(c);
	const zdb_cidr_coll_t *coll = g->coll;
	int matched = -1;
	/*
	 * POL-I3: the longest matching block (ties: lowest location name) among the locations
	 * this group has records for; a collection is shared by many names, and a block of a
	 * location the group does not use must not hide a shorter one it does.
	 */
	for (size_t b = 0; loc->af != 0 && b < coll->n_blocks && matched < 0; b++) {
		if (!geo_cidr_contains(&coll->blocks[b].net, loc->af, loc->addr, loc->src_prefix))
			continue;
		for (uint16_t i = 0; i < g->n && matched < 0; i++)
			if (g->m[i].cidr_loc == coll->blocks[b].loc)
				matched = coll->blocks[b].loc;
	}
	size_t n = 0;
	int star = -1;
	for (uint16_t i = 0; i < g->n; i++) {
		if (g->m[i].cidr_loc == -1)
			star = i;
		else if (matched >= 0 && g->m[i].cidr_loc == matched)
			idx[n++] = i;
	}
	if (star >= 0)
		idx[n++] = (uint16_t)star;
	explain(c, "CIDR location %s; ", matched >= 0 ? coll->locs[matched] : "(none matched)");
	return n;
}

static size_t candidates(pol_ctx_t *c, const zdb_group_t *g, uint16_t *idx)
{
	size_t n = 0;
	switch (g->policy) {
	case POL_LATENCY:
		return cand_latency(c, g, idx);
	case POL_GEOPROXIMITY:
		return cand_geoprox(c, g, idx);
	case POL_GEOLOCATION:
		return cand_geoloc(c, g, idx);
	case POL_CIDR:
		return cand_cidr(c, g, idx);
	case POL_FAILOVER:
		for (int role = ZDB_PRIMARY; role <= ZDB_SECONDARY; role++)
			for (uint16_t i = 0; i < g->n; i++)
				if (g->m[i].failover == role)
					idx[n++] = i;
		return n;
	default: /* simple, weighted, multivalue */
		for (uint16_t i = 0; i < g->n; i++)
			idx[i] = i;
		return g->n;
	}
}

static int materialize(pol_ctx_t *c, const zdb_member_t *m, pol_out_t *out)
{
	if (!m->alias) {
		if (out->n < ZDB_MV_MAX)
			out->rs[out->n++] = &m->values;
		return POL_OK;
	}
	if (++c->depth > ZDB_ALIAS_DEPTH) {
		c->depth--;
		return POL_SERVFAIL;
	}
	int r = pol_select(c, m->target, false, out);
	c->depth--;
	return r;
}

/* Weighted draw over S (OC-12: r = rand mod sum, cumulative sums in SetIdentifier order). */
static uint16_t pick_weighted(pol_ctx_t *c, const zdb_group_t *g, const uint16_t *s, size_t n)
{
	uint32_t sum = 0;
	if (n == 0)
		return s[0]; /* callers pass at least one candidate */
	for (size_t i = 0; i < n; i++)
		sum += g->m[s[i]].weight;
	if (sum == 0) /* all zero: equal odds (POL-W3) */
		return s[zdb_rng_next(c->rng) % n];
	uint32_t r = (uint32_t)(zdb_rng_next(c->rng) % sum);
	for (size_t i = 0; i < n; i++) {
		if (r < g->m[s[i]].weight)
			return s[i];
		r -= g->m[s[i]].weight;
	}
	return s[n - 1];
}

static int pick(pol_ctx_t *c, const zdb_group_t *g, uint16_t *s, size_t n, pol_out_t *out)
{
	if (g->policy == POL_MULTIVALUE) {
		/* a random subset of at most 8, shuffled (POL-M2, M3, M5) */
		size_t k = n < ZDB_MV_MAX ? n : ZDB_MV_MAX;
		for (size_t i = 0; i < k; i++) {
			size_t j = i + (size_t)(zdb_rng_next(c->rng) % (n - i));
			uint16_t t = s[i];
			s[i] = s[j];
			s[j] = t;
			materialize(c, &g->m[s[i]], out);
		}
		if (c->depth == 0)
			c->chosen = k == 1 ? g->m[s[0]].set_id : "(multivalue)";
		return POL_OK;
	}
	uint16_t i = s[0];
	if (g->policy == POL_WEIGHTED) {
		/* candidates with weight > 0 when there are any (POL-W2) */
		uint16_t nz[MAX_CAND];
		size_t k = 0;
		for (size_t j = 0; j < n; j++)
			if (g->m[s[j]].weight > 0)
				nz[k++] = s[j];
		i = k ? pick_weighted(c, g, nz, k) : pick_weighted(c, g, s, n);
	}
	if (c->depth == 0)
		c->chosen = g->m[i].set_id;
	explain(c, "chose %s; ", g->m[i].set_id[0] ? g->m[i].set_id : "(simple)");
	return materialize(c, &g->m[i], out);
}

int pol_select(pol_ctx_t *c, const zdb_rrset_t *rs, bool strict, pol_out_t *out)
{
	const zdb_group_t *g = rs->group;
	if (!rs->dynamic) {
		/* plain data; a simple record set with a health check matters to ETH aliases */
		if (strict && g != NULL && !own_ok(c, &g->m[0]))
			return POL_FAIL;
		if (!strict && out->n < ZDB_MV_MAX)
			out->rs[out->n++] = rs;
		return POL_OK;
	}
	if (c->depth == 0)
		c->policy = g->policy;
	uint16_t cand[MAX_CAND], h[MAX_CAND];
	size_t n = candidates(c, g, cand);
	if (n == 0)
		return strict ? POL_FAIL : POL_NOANSWER;
	if (g->policy == POL_SIMPLE && !strict)
		return pick(c, g, cand, 1, out); /* POL-S3: health is irrelevant */
	size_t k = 0;
	if (g->policy == POL_WEIGHTED) {
		for (size_t i = 0; i < n; i++)
			if (g->m[cand[i]].weight > 0 && healthy(c, &g->m[cand[i]]))
				h[k++] = cand[i];
		if (k == 0) /* POL-W4 step 2: the zero-weight standby records */
			for (size_t i = 0; i < n; i++)
				if (g->m[cand[i]].weight == 0 && healthy(c, &g->m[cand[i]]))
					h[k++] = cand[i];
	} else {
		for (size_t i = 0; i < n; i++) {
			bool ok = healthy(c, &g->m[cand[i]]);
			if (c->why != NULL)
				explain(c, "%s %s; ", g->m[cand[i]].set_id[0] ? g->m[cand[i]].set_id : "(simple)",
					ok ? "healthy" : "unhealthy");
			if (ok)
				h[k++] = cand[i];
		}
	}
	if (k > 0) /* STRICT only asks whether a healthy answer exists */
		return strict ? POL_OK : pick(c, g, h, k, out);
	if (strict)
		return POL_FAIL;
	explain(c, "no healthy candidate: last resort; ");
	return pick(c, g, cand, n, out); /* last resort (TREE-7) */
}
