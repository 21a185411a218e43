/* SPDX-License-Identifier: MIT */
/*
 * zanswer.c -- find the node for a question and compose the response sections.
 *
 * lookup() classifies a name in one pass of hash lookups: exact node, wildcard
 * (RFC 4592: only "*.<closest encloser>"), name error, a referral (the highest delegation
 * at or above the name), a DNAME redirection (RFC 6672), or no zone. zdb_answer() turns
 * that into sections: answer (following in-zone CNAME chains and DNAME substitutions),
 * authority (NS on positive answers, SOA with the
 * RFC 2308 TTL on negative ones, the child NS on referrals) and additional (addresses of
 * in-zone NS/MX/SRV targets, glue). Optional sections are dropped when they do not fit;
 * required ones set TC.
 */
#include "zanswer.h"
#include "policy.h"
#include "zdb_int.h"

#include <ldns/ldns.h>
#include <string.h>

#define MAX_CHASE 8
#define MAX_TARGETS 16

enum lk_kind { LK_NONE, LK_EXACT, LK_WILD, LK_NX, LK_REFERRAL, LK_DNAME };

typedef struct lookup {
	enum lk_kind kind;
	const zdb_node_t *node; /* exact/wildcard node, closest encloser, or the cut */
	const zdb_zone_t *zone; /* zone of the node */
} lookup_t;

/*
 * Additional-section candidates, deduplicated. answered/answered_a/answered_aaaa name the
 * address RRsets already in the answer section, which the additional section leaves out
 * (RFC 2181 9: no RRset twice in a response; NSD does the same).
 */
typedef struct targets {
	const zdb_node_t *node[MAX_TARGETS];
	bool required[MAX_TARGETS];
	size_t n;
	const zdb_node_t *answered;
	bool answered_a, answered_aaaa;
} targets_t;

/* The highest delegation or DNAME owner at or above the node at label i of name, in zone z
 * whose apex is at label a, or NULL. */
static const zdb_node_t *find_cut(const zdb_zone_t *z, const uint8_t *name, size_t len,
				  const uint8_t *off, uint8_t i, uint8_t a)
{
	for (unsigned k = (unsigned)a + 1; k-- > i;) {
		const uint8_t *p = name + off[k];
		size_t l = len - off[k];
		const zdb_node_t *n = zdb_table_find(&z->nodes, p, l, zdb_hash(p, l));
		if (n != NULL && (n->is_cut || n->is_dname))
			return n;
	}
	return NULL;
}

static void lookup_in(const zdb_view_t *view, const uint8_t *name, size_t len,
		      const uint8_t *off, uint8_t nlabels, uint16_t qtype, lookup_t *lk)
{
	uint8_t a = 0, i = 0;
	const zdb_zone_t *z = zdb_view_find(view, name, len, off, nlabels, nlabels, &a);
	if (z == NULL) {
		lk->kind = LK_NONE;
		lk->node = NULL;
		lk->zone = NULL;
		return;
	}
	uint64_t h = zdb_hash(name, len);
	const zdb_node_t *n = zdb_table_find(&z->nodes, name, len, h);
	bool exact = n != NULL;
	while (n == NULL && i < a) {
		i++;
		n = zdb_table_find(&z->nodes, name + off[i], len - off[i],
				   zdb_hash(name + off[i], len - off[i]));
	}
	if (n == NULL)
		n = z->apex; /* cannot happen: the apex is in the table */
	if (exact && a == 0 && qtype == LDNS_RR_TYPE_DS && nlabels > 0) {
		/* DS at a hosted child's apex: the parent's delegation answers (HZ-35) */
		uint8_t pa = 0;
		const zdb_zone_t *pz = zdb_view_find(view, name, len, off, nlabels, nlabels - 1u, &pa);
		const zdb_node_t *pn = pz ? zdb_table_find(&pz->nodes, name, len, h) : NULL;
		if (pn != NULL && pn->is_cut) {
			z = pz;
			n = pn;
			a = pa;
		}
	}
	lk->zone = z;
	const zdb_node_t *cut = n->below_cut ? find_cut(z, name, len, off, i, a) : NULL;
	const zdb_node_t *wild = NULL;
	if (!exact && n->has_wild && len - off[i] + 2 <= ZDB_MAXNAME) {
		uint8_t wn[ZDB_MAXNAME];
		wn[0] = 1;
		wn[1] = '*';
		memcpy(wn + 2, name + off[i], len - off[i]);
		wild = zdb_table_find(&z->nodes, wn, len - off[i] + 2, zdb_hash(wn, len - off[i] + 2));
	}
	if (cut != NULL && cut->is_cut && !(exact && cut == n && qtype == LDNS_RR_TYPE_DS)) {
		lk->kind = LK_REFERRAL;
		lk->node = cut;
	} else if (cut != NULL && !cut->is_cut && !(exact && cut == n)) {
		lk->kind = LK_DNAME; /* RFC 6672 3.2: a name below a DNAME owner */
		lk->node = cut;
	} else if (exact) {
		lk->kind = LK_EXACT;
		lk->node = n;
	} else if (wild != NULL) {
		lk->kind = LK_WILD;
		lk->node = wild;
	} else {
		lk->kind = LK_NX;
		lk->node = n;
	}
}

/*
 * A query from a VPC sees the most specific of its private zones that encloses the name,
 * and only when there is none the public zones (spec PZ-5).
 */
static void lookup(const zdb_t *db, const zdb_vpc_t *vpc, const uint8_t *name, size_t len,
		   const uint8_t *off, uint8_t nlabels, uint16_t qtype, lookup_t *lk)
{
	if (vpc != NULL) {
		lookup_in(&vpc->view, name, len, off, nlabels, qtype, lk);
		if (lk->kind != LK_NONE)
			return;
	}
	lookup_in(&db->public_view, name, len, off, nlabels, qtype, lk);
}

/* The VPC a client address belongs to (first match), or NULL: the public view. */
static const zdb_vpc_t *find_vpc(const zdb_t *db, const struct sockaddr *src)
{
	int af;
	uint8_t addr[16];
	if (db->n_vpcs == 0 || src == NULL || geo_addr_from_sockaddr(src, &af, addr) != GEO_OK)
		return NULL;
	unsigned bits = geo_af_bits(af);
	for (size_t i = 0; i < db->n_vpcs; i++)
		for (size_t k = 0; k < db->vpcs[i].n_nets; k++)
			if (geo_cidr_contains(&db->vpcs[i].nets[k], af, addr, bits))
				return &db->vpcs[i];
	return NULL;
}

int zdb_answer_view(const zdb_t *db, const struct sockaddr *src)
{
	const zdb_vpc_t *v = find_vpc(db, src);
	return v != NULL ? (int)(v - db->vpcs) : -1;
}

static const zdb_rrset_t *find_rrset(const zdb_node_t *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->n_rrsets; i++) {
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
		if (n->rrsets[i].type > type)
			break;
	}
	return NULL;
}

/* Write a whole RRset in random order (Route 53 "simple": values shuffled per query). */
static bool put_rrset(wire_t *w, uint16_t optr, const uint8_t *owner, const zdb_rrset_t *rs,
		      uint64_t rng[2], uint16_t *count)
{
	size_t len = w->len, n_comp = w->n_comp;
	uint16_t n = rs->count;
	const uint8_t *rd[32];
	uint16_t rl[32];
	uint16_t rot = 0;

	if (n <= 32) {
		/* the records in random order */
		uint16_t l = 0;
		const uint8_t *p = NULL;
		for (uint16_t i = 0; i < n; i++) {
			p = i == 0 ? zdb_rd_first(rs, &l) : zdb_rd_next(p, &l);
			rd[i] = p;
			rl[i] = l;
		}
		for (uint16_t i = n - 1; n > 1 && i > 0; i--) {
			uint16_t j = (uint16_t)(zdb_rng_next(rng) % (i + 1u));
			const uint8_t *tp = rd[i];
			uint16_t tl = rl[i];
			rd[i] = rd[j];
			rl[i] = rl[j];
			rd[j] = tp;
			rl[j] = tl;
		}
		for (uint16_t i = 0; i < n; i++) {
			if (!wire_put_rr(w, optr, owner, rs->type, LDNS_RR_CLASS_IN, rs->ttl,
					 rs->rdkind, rd[i], rl[i]))
				goto nofit;
		}
		*count = (uint16_t)(*count + n);
		return true;
	}
	/* many records: all of them, rotated by a random amount */
	rot = (uint16_t)(zdb_rng_next(rng) % n);
	for (int pass = 0; pass < 2; pass++) {
		uint16_t l = 0;
		const uint8_t *p = NULL;
		for (uint16_t k = 0; k < n; k++) {
			p = k == 0 ? zdb_rd_first(rs, &l) : zdb_rd_next(p, &l);
			if ((pass == 0) != (k >= rot))
				continue;
			if (!wire_put_rr(w, optr, owner, rs->type, LDNS_RR_CLASS_IN, rs->ttl,
					 rs->rdkind, p, l))
				goto nofit;
		}
	}
	*count = (uint16_t)(*count + n);
	return true;
nofit:
	w->len = len;
	w->n_comp = n_comp;
	return false;
}

/* Per-query policy state, set up on the first dynamic RRset only. */
typedef struct qstate {
	const zdb_t *db;
	const zq_t *q;
	uint64_t *rng;
	zresult_t *res;
	const zdb_zone_t *zone;
	struct pol_explain *why;
	int vpc_region;
	bool init;
	pol_ctx_t pc;
} qstate_t;

enum { PUT_OK, PUT_NOFIT, PUT_NOANSWER, PUT_SERVFAIL };

static void qstate_init(qstate_t *s)
{
	if (s->init)
		return;
	s->init = true;
	s->res->dynamic = true;
	memset(&s->pc, 0, sizeof(s->pc));
	s->pc.db = s->db;
	s->pc.hc = s->db->opts.health;
	s->pc.rng = s->rng;
	s->pc.ecs = s->q->ecs;
	s->pc.src = s->q->src;
	s->pc.private_zone = s->zone->private_zone;
	s->pc.vpc_region = s->zone->private_zone ? s->vpc_region : -1;
	s->pc.why = s->why;
}

/* Note that a decision read health word slot (once per slot; too many: overflow). */
static void dep_add(zresult_t *res, const hc_table_t *hc, uint32_t slot)
{
	for (uint8_t i = 0; i < res->n_deps; i++)
		if (res->dep_slot[i] == slot)
			return;
	if (res->n_deps == ZRESULT_DEPS) {
		res->deps_overflow = true;
		return;
	}
	res->dep_slot[res->n_deps] = slot;
	res->dep_word[res->n_deps++] = hc_word(hc, slot);
}

/* Every health word the evaluation of rs can read: its members' and, through aliases,
 * their targets' (read before the evaluation: a change during it shows as a mismatch). */
static void deps_of(zresult_t *res, const hc_table_t *hc, const zdb_rrset_t *rs, int depth)
{
	const zdb_group_t *g = rs->group;
	if (g == NULL)
		return;
	if (depth > ZDB_ALIAS_DEPTH) {
		res->deps_overflow = true;
		return;
	}
	for (uint16_t i = 0; i < g->n && !res->deps_overflow; i++) {
		const zdb_member_t *m = &g->m[i];
		if (m->hc != ZDB_NO_HC)
			dep_add(res, hc, m->hc);
		if (m->alias && m->target != NULL)
			deps_of(res, hc, m->target, depth + 1);
	}
}

/*
 * pol_select for the answer, noting what the decision depended on (zresult_t: health
 * words, chance, the client's source address), so that the server can tell whether the
 * same query bytes would get the same answer again.
 */
static uint64_t outcome_fp(int r, const pol_out_t *out)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL * (uint64_t)(r + 1);
	for (uint8_t i = 0; i < out->n; i++) {
		h ^= (uint64_t)(uintptr_t)out->rs[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h ^ out->n;
}

uint64_t zdb_answer_redecide(const zdb_t *db, const void *decided, bool private_zone,
			     uint64_t rng[2])
{
	const zdb_rrset_t *rs = decided;
	pol_ctx_t pc;
	memset(&pc, 0, sizeof(pc));
	pc.db = db;
	pc.hc = db->opts.health;
	pc.rng = rng;
	pc.private_zone = private_zone;
	pc.vpc_region = -1;
	pol_out_t out = { .n = 0 };
	int r = pol_select(&pc, rs, false, &out);
	return outcome_fp(r, &out);
}

static int select_tracked(qstate_t *s, const zdb_rrset_t *rs, pol_out_t *out, bool top)
{
	zresult_t *res = s->res;
	deps_of(res, s->pc.hc, rs, 0);
	uint64_t r0 = s->rng[0], r1 = s->rng[1];
	int r = pol_select(&s->pc, rs, false, out);
	if (s->rng[0] != r0 || s->rng[1] != r1)
		res->random = true;
	if (res->n_decisions++ == 0 && top) {
		res->decided = rs;
		res->outcome = outcome_fp(r, out);
	}
	if (s->pc.loc_done && !s->pc.loc.from_ecs &&
	    !(s->pc.private_zone && s->pc.vpc_region >= 0))
		res->src_dependent = true;
	return r;
}

/*
 * Write an RRset to the answer section: plain data as it is, a record-set group through
 * its routing policy (every chosen value RRset with its own TTL, owner = the query name).
 * *first receives the first value RRset written (for CNAME chasing and additional data).
 */
static int put_answer(qstate_t *s, wire_t *w, uint16_t optr, const uint8_t *owner,
		      const zdb_rrset_t *rs, const zdb_rrset_t **first)
{
	if (!rs->dynamic) {
		*first = rs;
		return put_rrset(w, optr, owner, rs, s->rng, &s->res->an) ? PUT_OK : PUT_NOFIT;
	}
	qstate_init(s);
	pol_out_t out = { .n = 0 };
	s->pc.depth = 0;
	int r = select_tracked(s, rs, &out, optr == WIRE_HDR);
	s->res->location_used |= s->pc.location_used;
	if (s->res->policy == 0) {
		s->res->policy = s->pc.policy;
		s->res->chosen = s->pc.chosen;
	}
	if (r == POL_SERVFAIL)
		return PUT_SERVFAIL;
	if (r != POL_OK || out.n == 0)
		return PUT_NOANSWER;
	size_t len = w->len, n_comp = w->n_comp;
	uint16_t an = s->res->an;
	*first = out.rs[0];
	for (uint8_t i = 0; i < out.n; i++) {
		if (!put_rrset(w, optr, owner, out.rs[i], s->rng, &s->res->an)) {
			w->len = len;
			w->n_comp = n_comp;
			s->res->an = an;
			return PUT_NOFIT;
		}
	}
	return PUT_OK;
}

static void add_target(targets_t *t, const zdb_node_t *n, bool required)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (t->node[i] == n)
			return;
	if (t->n < MAX_TARGETS) {
		t->required[t->n] = required;
		t->node[t->n++] = n;
	}
}

static void add_targets_of(targets_t *t, const zdb_rrset_t *rs)
{
	if (rs->target == NULL)
		return;
	for (uint16_t i = 0; i < rs->count; i++)
		add_target(t, rs->target[i], false);
}

/*
 * A target's address RRset for the additional section: plain data as it is; a routing-policy
 * group evaluated for the same client (spec NEG-9), when s allows (not for glue).
 */
static bool put_target_addrs(qstate_t *s, wire_t *w, const zdb_node_t *node,
			     const zdb_rrset_t *rs, uint64_t rng[2], zresult_t *res)
{
	if (!rs->dynamic)
		return put_rrset(w, 0, node->name, rs, rng, &res->ar);
	if (s == NULL)
		return true;
	qstate_init(s);
	struct pol_explain *why = s->pc.why;
	const char *chosen = s->pc.chosen;
	s->pc.why = NULL; /* the explanation is about the answer */
	s->pc.depth = 0;
	pol_out_t out = { .n = 0 };
	int r = select_tracked(s, rs, &out, false);
	s->pc.why = why;
	s->pc.chosen = chosen;
	if (r != POL_OK)
		return true; /* nothing for this client: the section is optional */
	res->location_used |= s->pc.location_used;
	size_t len = w->len, n_comp = w->n_comp;
	uint16_t ar = res->ar;
	for (uint8_t i = 0; i < out.n; i++) {
		if (!put_rrset(w, 0, node->name, out.rs[i], rng, &res->ar)) {
			w->len = len;
			w->n_comp = n_comp;
			res->ar = ar;
			return false;
		}
	}
	return true;
}

/* Addresses of the targets; false when a required one does not fit. */
static bool put_additional(qstate_t *s, wire_t *w, const targets_t *t, uint64_t rng[2],
			   zresult_t *res)
{
	static const uint16_t types[2] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	bool room = true;
	for (size_t i = 0; i < t->n; i++) {
		for (int k = 0; k < 2; k++) {
			if (t->node[i] == t->answered &&
			    (k == 0 ? t->answered_a : t->answered_aaaa))
				continue; /* already in the answer section */
			const zdb_rrset_t *rs = find_rrset(t->node[i], types[k]);
			if (rs == NULL)
				continue;
			if (room && put_target_addrs(s, w, t->node[i], rs, rng, res))
				continue;
			room = false;
			if (t->required[i])
				return false;
		}
	}
	return true;
}

/* Cut everything after the question and set TC. */
static void truncate_all(wire_t *w, size_t qend, zresult_t *res)
{
	w->len = qend;
	w->n_comp = 0;
	res->an = res->ns = res->ar = 0;
	res->tc = true;
}

static bool name_below(const uint8_t *name, size_t len, const uint8_t *apex, size_t alen)
{
	if (len < alen || memcmp(name + len - alen, apex, alen) != 0)
		return false;
	size_t off = 0;
	while (off < len - alen)
		off += (size_t)name[off] + 1;
	return off == len - alen;
}

/*
 * The referral to cut: its NS set in authority, glue in additional. After a CNAME or DNAME
 * (after_chain) the answer section holds the chain and AA stays set, as NSD's does; a
 * plain referral is not authoritative.
 */
static void referral(wire_t *w, size_t qend, const zdb_node_t *cut, uint64_t rng[2],
		     zresult_t *res, bool after_chain)
{
	const zdb_rrset_t *ns = find_rrset(cut, LDNS_RR_TYPE_NS);
	if (!after_chain)
		res->aa = false;
	res->referral = true;
	res->cut = cut;
	if (ns == NULL || !put_rrset(w, 0, cut->name, ns, rng, &res->ns)) {
		truncate_all(w, qend, res);
		return;
	}
	targets_t t = { .n = 0 };
	if (ns->target != NULL) {
		for (uint16_t i = 0; i < ns->count; i++) {
			const zdb_node_t *g = ns->target[i];
			if (g != NULL)
				add_target(&t, g,
					   name_below(g->name, g->namelen, cut->name, cut->namelen));
		}
	}
	if (!put_additional(NULL, w, &t, rng, res))
		truncate_all(w, qend, res);
}

static void negative(wire_t *w, size_t qend, const zdb_zone_t *zone, zresult_t *res)
{
	const zdb_rrset_t *soa = zone->soa;
	uint16_t sl = 0;
	const uint8_t *sd = zdb_rd_first(soa, &sl);
	if (!wire_put_rr(w, 0, zone->apex->name, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN,
			 zone->neg_ttl, soa->rdkind, sd, sl)) {
		truncate_all(w, qend, res);
		return;
	}
	res->ns++;
}

/* NODATA: the SOA, and for the signer (zsign.h) the node whose types the denial shows. */
static void nodata(wire_t *w, size_t qend, const zdb_zone_t *zone, const zdb_node_t *node,
		   zresult_t *res)
{
	res->nodata = true;
	res->neg_node = node;
	negative(w, qend, zone, res);
}

/* ANY (RFC 8482): over UDP one RRset, over TCP all of them. */
static int put_any(qstate_t *s, wire_t *w, uint16_t optr, const uint8_t *owner,
		   const zdb_node_t *n, targets_t *t)
{
	uint16_t an = s->res->an;
	for (uint16_t i = 0; i < n->n_rrsets; i++) {
		const zdb_rrset_t *first = NULL;
		int r = put_answer(s, w, optr, owner, &n->rrsets[i], &first);
		if (r == PUT_NOFIT || r == PUT_SERVFAIL)
			return r;
		if (r == PUT_OK) {
			add_targets_of(t, first);
			t->answered = n;
			if (n->rrsets[i].type == LDNS_RR_TYPE_A)
				t->answered_a = true;
			else if (n->rrsets[i].type == LDNS_RR_TYPE_AAAA)
				t->answered_aaaa = true;
			if (!s->q->tcp)
				break; /* one RRset over UDP: the first that has data for the client */
		}
	}
	return s->res->an > an ? PUT_OK : PUT_NOANSWER; /* NEG-3: groups with nothing */
}

/* Lower-case a wire name into out and fill label offsets; returns length or 0. */
static size_t name_prepare(const uint8_t *src, size_t max, uint8_t *out, uint8_t *off,
			   uint8_t *nlabels)
{
	size_t i = 0;
	uint8_t n = 0;
	while (i < max && src[i] != 0) {
		uint8_t l = src[i];
		if (l > 63 || i + l + 1 >= max || n >= 127)
			return 0;
		off[n++] = (uint8_t)i;
		out[i] = l;
		for (uint8_t k = 1; k <= l; k++) {
			uint8_t c = src[i + k];
			out[i + k] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
		i += (size_t)l + 1;
	}
	if (i >= max)
		return 0;
	out[i] = 0;
	off[n] = (uint8_t)i;
	*nlabels = n;
	return i + 1;
}

enum { DN_OK, DN_NOFIT, DN_TOOLONG };

/*
 * DNAME substitution (RFC 6672 2.2, 3.2): write the DNAME RRset of d and a CNAME from the
 * current name (cur, curlen bytes, written at optr or as cur) to that name with d's owner
 * replaced by the DNAME target, with the DNAME's TTL. The new name goes to out (*outlen).
 * DN_TOOLONG: the new name would exceed 255 bytes (YXDOMAIN), the DNAME alone is written.
 */
static int put_dname(wire_t *w, uint16_t optr, const uint8_t *cur, size_t curlen,
		     const zdb_node_t *d, uint64_t rng[2], zresult_t *res, uint8_t *out,
		     size_t *outlen)
{
	const zdb_rrset_t *rs = find_rrset(d, LDNS_RR_TYPE_DNAME);
	if (rs == NULL || curlen <= d->namelen)
		return DN_NOFIT; /* cannot happen: lookup found d above cur */
	if (!put_rrset(w, 0, d->name, rs, rng, &res->an))
		return DN_NOFIT;
	size_t prefix = curlen - d->namelen;
	uint16_t dl = 0;
	const uint8_t *dd = zdb_rd_first(rs, &dl);
	size_t tlen = dl;
	if (prefix + tlen > ZDB_MAXNAME)
		return DN_TOOLONG;
	memcpy(out, cur, prefix);
	memcpy(out + prefix, dd, tlen);
	*outlen = prefix + tlen;
	if (!wire_put_rr(w, optr, optr != 0 ? NULL : cur, LDNS_RR_TYPE_CNAME, LDNS_RR_CLASS_IN,
			 rs->ttl, RD_NAME, out, (uint16_t)*outlen))
		return DN_NOFIT;
	res->an++;
	return DN_OK;
}

static void answer_in(const zdb_t *db, const zq_t *q, uint64_t rng[2], wire_t *w,
		      zresult_t *res, struct pol_explain *why)
{
	const size_t qend = w->len;
	lookup_t lk;
	targets_t t = { .n = 0 };

	memset(res, 0, sizeof(*res));
	const zdb_vpc_t *vpc = find_vpc(db, q->src);
	lookup(db, vpc, q->qname, q->qnamelen, q->label_off, q->nlabels, q->qtype, &lk);
	if (lk.kind == LK_NONE) {
		res->rcode = LDNS_RCODE_REFUSED;
		return;
	}
	const zdb_zone_t *zone = lk.zone;
	res->private_zone = zone->private_zone;
	res->zone_id = zone->id;
	res->zone = zone;
	if (lk.kind == LK_REFERRAL) {
		referral(w, qend, lk.node, rng, res, false);
		return;
	}
	res->aa = true;
	if (lk.kind == LK_NX ||
	    (lk.kind == LK_EXACT && lk.node->n_rrsets == 0 && lk.node->has_wild &&
	     db->opts.wildcard_parent_nxdomain)) {
		res->rcode = LDNS_RCODE_NXDOMAIN;
		negative(w, qend, zone, res);
		return;
	}

	qstate_t st; /* pc stays uninitialised until a policy group needs it */
	st.db = db;
	st.q = q;
	st.rng = rng;
	st.res = res;
	st.zone = zone;
	st.why = why;
	st.vpc_region = vpc != NULL ? vpc->region : -1;
	st.init = false;
	const zdb_node_t *node = lk.node;
	uint16_t optr = WIRE_HDR; /* the qname in the question */
	const uint8_t *owner = NULL;
	const uint8_t *cur = w->buf + WIRE_HDR; /* the name being answered, as written */
	size_t curlen = q->qnamelen;
	const zdb_node_t *seen[MAX_CHASE + 1];
	uint8_t tname[255], toff[128], tlabels;
	uint8_t syn[2][ZDB_MAXNAME]; /* DNAME-synthesised names: the current one and the next */
	int sk = 0;
	const zdb_node_t *dnames[MAX_CHASE + 1]; /* DNAMEs applied, to stop at a loop */
	int n_dnames = 0;
	int r;

	for (int depth = 0;; depth++) {
		if (lk.kind == LK_DNAME) {
			bool again = false;
			for (int k = 0; k < n_dnames && !again; k++)
				again = dnames[k] == lk.node;
			if (again || n_dnames > MAX_CHASE)
				break; /* a DNAME loop: the answer so far (NSD stops there too) */
			dnames[n_dnames++] = lk.node;
			size_t synlen = 0;
			int d = put_dname(w, optr, cur, curlen, lk.node, rng, res, syn[sk], &synlen);
			if (d == DN_NOFIT) {
				truncate_all(w, qend, res);
				return;
			}
			if (d == DN_TOOLONG) {
				res->rcode = LDNS_RCODE_YXDOMAIN;
				return;
			}
			owner = cur = syn[sk];
			curlen = synlen;
			sk ^= 1;
			optr = 0;
			size_t tlen = 0; /* a CNAME query ends at the synthesised CNAME */
			if (db->opts.cname_chasing && depth < MAX_CHASE &&
			    q->qtype != LDNS_RR_TYPE_CNAME)
				tlen = name_prepare(cur, curlen, tname, toff, &tlabels);
			if (tlen == 0)
				break;
			lookup(db, vpc, tname, tlen, toff, tlabels, q->qtype, &lk);
			if (lk.zone != zone)
				break;
			if (lk.kind == LK_NX) {
				res->rcode = LDNS_RCODE_NXDOMAIN;
				negative(w, qend, zone, res);
				return;
			}
			if (lk.kind == LK_DNAME)
				continue;
			if (lk.kind == LK_REFERRAL) {
				/* RFC 1034 4.3.2 step 3b: the new name lies below a delegation */
				referral(w, qend, lk.node, rng, res, true);
				return;
			}
			if (lk.kind != LK_EXACT && lk.kind != LK_WILD)
				break;
			node = lk.node;
		}
		seen[depth] = node;
		const zdb_rrset_t *first = NULL;
		const zdb_rrset_t *cn = find_rrset(node, LDNS_RR_TYPE_CNAME);
		if (q->qtype == LDNS_RR_TYPE_ANY && cn == NULL) {
			if (node->n_rrsets == 0) {
				nodata(w, qend, zone, node, res);
				return;
			}
			r = put_any(&st, w, optr, owner, node, &t);
		} else {
			const zdb_rrset_t *rs = find_rrset(node, q->qtype);
			if (rs == NULL && cn == NULL) {
				nodata(w, qend, zone, node, res);
				return;
			}
			r = put_answer(&st, w, optr, owner, rs ? rs : cn, &first);
			if (r == PUT_OK && rs != NULL) {
				add_targets_of(&t, first);
				t.answered = node;
				t.answered_a = q->qtype == LDNS_RR_TYPE_A;
				t.answered_aaaa = q->qtype == LDNS_RR_TYPE_AAAA;
			}
			if (r == PUT_OK && rs == NULL && q->qtype != LDNS_RR_TYPE_ANY &&
			    db->opts.cname_chasing && depth < MAX_CHASE) {
				/* follow the CNAME inside the zone */
				uint16_t fl = 0;
				const uint8_t *fd = zdb_rd_first(first, &fl);
				size_t tlen = name_prepare(fd, fl, tname, toff, &tlabels);
				if (tlen > 0) {
					lookup(db, vpc, tname, tlen, toff, tlabels, q->qtype, &lk);
					if (lk.kind == LK_NX && lk.zone == zone) {
						res->rcode = LDNS_RCODE_NXDOMAIN; /* RFC 6604 */
						negative(w, qend, zone, res);
						return;
					}
					if (lk.kind == LK_REFERRAL && lk.zone == zone) {
						/* RFC 1034 4.3.2: restart at the target, which lies
						 * below a delegation: the chain, then the referral */
						referral(w, qend, lk.node, rng, res, true);
						return;
					}
					if (lk.kind == LK_DNAME && lk.zone == zone) {
						owner = cur = fd;
						curlen = tlen;
						optr = 0;
						continue;
					}
					bool loop = false;
					for (int k = 0; k <= depth && !loop; k++)
						loop = seen[k] == lk.node && lk.kind == LK_EXACT;
					if ((lk.kind == LK_EXACT || lk.kind == LK_WILD) && lk.zone == zone &&
					    !loop) {
						node = lk.node;
						optr = 0;
						owner = cur = fd;
						curlen = tlen;
						continue;
					}
				}
			}
		}
		if (r == PUT_NOFIT) {
			truncate_all(w, qend, res);
			return;
		}
		if (r == PUT_SERVFAIL) {
			w->len = qend;
			res->an = 0;
			res->rcode = LDNS_RCODE_SERVFAIL;
			return;
		}
		if (r == PUT_NOANSWER) {
			/* a policy with nothing for this client, maybe after a CNAME: NODATA */
			nodata(w, qend, zone, node, res);
			return;
		}
		break;
	}

	/* Positive answer: NS in authority (Route 53, NEG-9), then addresses. */
	/* not for the apex NS itself, nor for DS (answered at a delegation, by the parent) */
	bool apex_ns = (node == zone->apex && q->qtype == LDNS_RR_TYPE_NS && optr != 0) ||
		       (node->is_cut && q->qtype == LDNS_RR_TYPE_DS && optr != 0);
	if (db->opts.authority_ns && !apex_ns && zone->ns != NULL) {
		if (!put_rrset(w, 0, zone->apex->name, zone->ns, rng, &res->ns))
			return; /* optional: leave it and the additional section out */
		add_targets_of(&t, zone->ns);
	}
	put_additional(&st, w, &t, rng, res);
}

/* Offset just past n RRs that start at off in the packet (written by us: well formed). */
static size_t skip_rrs(const uint8_t *buf, size_t off, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		while (buf[off] != 0 && (buf[off] & 0xC0) != 0xC0)
			off += (size_t)buf[off] + 1;
		off += buf[off] == 0 ? 1 : 2;
		off += 10 + wire_get16(buf + off + 8);
	}
	return off;
}

static void answer(const zdb_t *db, const zq_t *q, uint64_t rng[2], wire_t *w, zresult_t *res,
		   struct pol_explain *why)
{
	const size_t qend = w->len;
	answer_in(db, q, rng, w, res, why);
	/*
	 * QCLASS * (RFC 1035 3.2.5): a server cannot be authoritative for every class, so the
	 * answer is not authoritative (RFC 6895 3.2) and carries only the answer section, as
	 * NSD's does; referrals stay as they are, also after a CNAME or DNAME (NSD's keep AA).
	 */
	if (q->qclass == LDNS_RR_CLASS_ANY && res->aa && !res->referral) {
		res->aa = false;
		if (!res->tc) {
			w->len = skip_rrs(w->buf, qend, res->an);
			w->n_comp = 0;
			res->ns = res->ar = 0;
		}
	}
}

void zdb_answer(const zdb_t *db, const zq_t *q, uint64_t rng[2], wire_t *w, zresult_t *res)
{
	answer(db, q, rng, w, res, NULL);
}

void zdb_answer_explain(const zdb_t *db, const zq_t *q, uint64_t rng[2], wire_t *w,
			zresult_t *res, struct pol_explain *why)
{
	answer(db, q, rng, w, res, why);
}
