/* SPDX-License-Identifier: MIT */
/*
 * zsign.c -- DNSSEC online signing of responses (zsign.h).
 *
 * zdb_answer() wrote an unsigned response. zsign_answer() reads its sections back (names
 * decompressed into scratch), groups consecutive records of one owner and type into RRsets,
 * and writes the sections again with the wire writer: every authoritative RRset followed
 * by its RRSIG(s), and the denial (compact NSEC, RFC 9824) or the referral's DS proof at
 * the end of the authority section. Signatures come from the worker's cache; a miss signs
 * inline. Everything is allocated in zsign_new().
 */
#include "zsign.h"
#include "dnssec.h"
#include "err.h"
#include "zdb_int.h"

#include <stdlib.h>
#include <string.h>

#define T_NS 2
#define T_SOA 6
#define T_CNAME 5
#define T_MB 7
#define T_MG 8
#define T_MR 9
#define T_PTR 12
#define T_MX 15
#define T_DS 43
#define C_IN 1
#define RC_NOERROR 0
#define RC_SERVFAIL 2
#define RC_NXDOMAIN 3
#define RC_YXDOMAIN 6
#define TTL_MAX 604800u   /* Route 53's limit for signed zones */

#define PKT_MAX 65536u    /* a copy of the response */
#define RR_MAX 6144u      /* records in a response: 65535 / 11 bytes at least each */
#define NAMES_MAX ((size_t)512 * 1024) /* decompressed owners and rdata names */
#define TYPES_MAX 65536u  /* types of one node, for an NSEC bitmap */

/* One record of the response, decompressed. */
typedef struct zrr {
	const uint8_t *owner; /* owner as written (scratch) */
	const uint8_t *rd;    /* uncompressed rdata (scratch or the packet copy) */
	uint32_t ttl;
	uint16_t type, rclass;
	uint16_t rdlen;
	uint8_t ownerlen;
	uint8_t section;      /* 0 answer, 1 authority, 2 additional */
	bool dup;             /* a duplicate of an earlier record of its RRset: left out */
} zrr_t;

struct zsign {
	dnssec_signer_t *signer;
	dnssec_cache_t *cache;
	uint8_t *pkt;          /* the response as zdb_answer wrote it */
	uint8_t *names;        /* decompressed names and rdata */
	size_t names_used;
	zrr_t *rr;             /* its records */
	size_t n_rr;
	const uint8_t **rdp;   /* one RRset's rdata for dnssec_sign */
	uint16_t *rdl;
	uint16_t *types;       /* a node's types for an NSEC bitmap */
	uint8_t sig[DNSSEC_RRSIG_MAX];
	uint8_t nsec[DNSSEC_NSEC_MAX];
	uint32_t window;       /* inception of the last window used (relaxed atomics) */
	zsign_stats_t st;      /* counters (single writer, relaxed atomics) */
};

#define ZS_INC(c) \
	__atomic_store_n(&(c), __atomic_load_n(&(c), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED)
#define ZS_SET(c, v) __atomic_store_n(&(c), (v), __ATOMIC_RELAXED)
#define ZS_GET(c) __atomic_load_n(&(c), __ATOMIC_RELAXED)

int zsign_new(zsign_t **out, size_t cache_budget)
{
	*out = NULL;
	zsign_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ERR_NOMEM;
	int ret = dnssec_cache_new(&s->cache, cache_budget ? cache_budget : ZSIGN_CACHE_DEFAULT);
	if (ret == ERR_OK)
		ret = dnssec_signer_new(&s->signer);
	if (ret == ERR_OK) {
		s->pkt = malloc(PKT_MAX);
		s->names = malloc(NAMES_MAX);
		s->rr = calloc(RR_MAX, sizeof(*s->rr));
		s->rdp = calloc(DNSSEC_RRSET_MAX, sizeof(*s->rdp));
		s->rdl = calloc(DNSSEC_RRSET_MAX, sizeof(*s->rdl));
		s->types = calloc(TYPES_MAX, sizeof(*s->types));
		if (s->pkt == NULL || s->names == NULL || s->rr == NULL || s->rdp == NULL ||
		    s->rdl == NULL || s->types == NULL)
			ret = ERR_NOMEM;
	}
	if (ret != ERR_OK) {
		zsign_free(s);
		return ret;
	}
	s->st.cache_bytes = dnssec_cache_memory(s->cache);
	*out = s;
	return ERR_OK;
}

void zsign_free(zsign_t *s)
{
	if (s == NULL)
		return;
	dnssec_signer_free(s->signer);
	dnssec_cache_free(s->cache);
	free(s->pkt);
	free(s->names);
	free(s->rr);
	free(s->rdp);
	free(s->rdl);
	free(s->types);
	free(s);
}

bool zsign_wanted(const zresult_t *res)
{
	const zdb_zone_t *z = res->zone;
	return z != NULL && z->sec != NULL;
}

uint32_t zsign_window(const zsign_t *s)
{
	return ZS_GET(s->window);
}

void zsign_stats(const zsign_t *s, zsign_stats_t *st)
{
	st->answers = ZS_GET(s->st.answers);
	st->signatures = ZS_GET(s->st.signatures);
	st->cache_hits = ZS_GET(s->st.cache_hits);
	st->failures = ZS_GET(s->st.failures);
	st->truncated = ZS_GET(s->st.truncated);
	st->cache_bytes = ZS_GET(s->st.cache_bytes);
	st->cache_entries = ZS_GET(s->st.cache_entries);
}

/* ---- reading the response back ---------------------------------------------------- */

/*
 * Decompress the name at *off of pkt (len bytes) into out (255 bytes); *off moves past it.
 * \return its length, 0 when malformed.
 */
static size_t get_name(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out)
{
	size_t o = *off, n = 0, end = 0;
	bool jumped = false;
	for (int hops = 0;;) {
		if (o >= len)
			return 0;
		uint8_t l = pkt[o];
		if ((l & 0xC0) == 0xC0) {
			if (o + 1 >= len || ++hops > 64)
				return 0;
			if (!jumped)
				end = o + 2;
			jumped = true;
			o = (size_t)(l & 0x3F) << 8 | pkt[o + 1];
			continue;
		}
		if (l > 63 || o + 1 + l > len || n + 1 + l > ZDB_MAXNAME)
			return 0;
		memcpy(out + n, pkt + o, (size_t)l + 1);
		n += (size_t)l + 1;
		o += (size_t)l + 1;
		if (l == 0)
			break;
	}
	*off = jumped ? end : o;
	return n;
}

/* Room for n bytes of scratch, or NULL. */
static uint8_t *names_take(zsign_t *s, size_t n)
{
	if (NAMES_MAX - s->names_used < n)
		return NULL;
	uint8_t *p = s->names + s->names_used;
	s->names_used += n;
	return p;
}

/* How wire_put_rr writes a type's rdata (zone_build's rdkind_of). */
static uint8_t rdkind(uint16_t type)
{
	switch (type) {
	case T_NS:
	case T_CNAME:
	case T_PTR:
	case T_MB:
	case T_MG:
	case T_MR:
		return RD_NAME;
	case T_MX:
		return RD_MX;
	case T_SOA:
		return RD_SOA;
	default:
		return RD_PLAIN;
	}
}

/* The rdata of rr at off (rdlen bytes), names decompressed when the writer compressed
 * them. */
static bool get_rdata(zsign_t *s, size_t off, uint16_t rdlen, zrr_t *rr)
{
	const uint8_t *pkt = s->pkt;
	size_t end = off + rdlen;
	uint8_t a[ZDB_MAXNAME], b[ZDB_MAXNAME];
	size_t o = off, la, lb, pre = 0, post = 0;
	switch (rdkind(rr->type)) {
	case RD_PLAIN:
		rr->rd = pkt + off;
		rr->rdlen = rdlen;
		return true;
	case RD_MX:
		pre = 2;
		break;
	case RD_SOA:
		post = 20;
		break;
	default:
		break;
	}
	if (rdlen < pre + post + 1)
		return false;
	o += pre;
	la = get_name(pkt, end, &o, a);
	lb = 0;
	if (la == 0)
		return false;
	if (post != 0 && (lb = get_name(pkt, end, &o, b)) == 0)
		return false;
	if (o + post != end)
		return false;
	size_t n = pre + la + lb + post;
	uint8_t *d = names_take(s, n);
	if (d == NULL || n > UINT16_MAX)
		return false;
	memcpy(d, pkt + off, pre);
	memcpy(d + pre, a, la);
	memcpy(d + pre + la, b, lb);
	memcpy(d + pre + la + lb, pkt + o, post);
	rr->rd = d;
	rr->rdlen = (uint16_t)n;
	return true;
}

/* Read the records of the response (s->pkt, len bytes; sections from qend). */
static bool parse(zsign_t *s, size_t len, size_t qend, const zresult_t *res)
{
	const uint8_t *pkt = s->pkt;
	size_t off = qend;
	uint16_t cnt[3] = { res->an, res->ns, res->ar };
	uint8_t name[ZDB_MAXNAME];
	const uint8_t *prev = NULL;
	size_t prevlen = 0;
	s->names_used = 0;
	s->n_rr = 0;
	for (uint8_t sec = 0; sec < 3; sec++) {
		for (uint16_t i = 0; i < cnt[sec]; i++) {
			if (s->n_rr == RR_MAX)
				return false;
			zrr_t *rr = &s->rr[s->n_rr];
			size_t nl = get_name(pkt, len, &off, name);
			if (nl == 0 || off + 10 > len)
				return false;
			if (prev == NULL || prevlen != nl || memcmp(prev, name, nl) != 0) {
				uint8_t *d = names_take(s, nl);
				if (d == NULL)
					return false;
				memcpy(d, name, nl);
				prev = d;
				prevlen = nl;
			}
			rr->owner = prev;
			rr->ownerlen = (uint8_t)nl;
			rr->section = sec;
			rr->type = wire_get16(pkt + off);
			rr->rclass = wire_get16(pkt + off + 2);
			rr->ttl = (uint32_t)pkt[off + 4] << 24 | (uint32_t)pkt[off + 5] << 16 |
				  (uint32_t)pkt[off + 6] << 8 | pkt[off + 7];
			uint16_t rdlen = wire_get16(pkt + off + 8);
			off += 10;
			if (off + rdlen > len || !get_rdata(s, off, rdlen, rr))
				return false;
			rr->dup = false;
			off += rdlen;
			s->n_rr++;
		}
	}
	return off == len;
}

/* ---- names ------------------------------------------------------------------------- */

static inline uint8_t lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool name_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	if (al != bl)
		return false;
	for (size_t i = 0; i < al; i++)
		if (lc(a[i]) != lc(b[i]))
			return false;
	return true;
}

/*
 * Lower-case name (len bytes) into out and note its label offsets; \return the labels,
 * or -1 when it is not below (or at) apex (lower-cased, alen bytes).
 */
static int name_in_zone(const uint8_t *name, size_t len, const uint8_t *apex, size_t alen,
			uint8_t *out, uint8_t *off)
{
	if (len < alen)
		return -1;
	int n = 0;
	size_t i = 0;
	while (i < len - alen && n < ZDB_MAXLABELS) {
		off[n++] = (uint8_t)i;
		i += (size_t)name[i] + 1;
	}
	if (i != len - alen)
		return -1;
	for (size_t k = 0; k < len; k++)
		out[k] = lc(name[k]);
	if (memcmp(out + i, apex, alen) != 0)
		return -1;
	off[n] = (uint8_t)i;
	return n;
}

/*
 * Is an RRset of type at owner authoritative data of zone z, to be signed? Not when the
 * owner is outside the zone, nor at or below a delegation (the NS set and glue), except
 * the DS and NSEC RRsets at the cut itself.
 */
static bool authoritative(const zdb_zone_t *z, const uint8_t *owner, size_t len,
			  uint16_t type)
{
	uint8_t name[ZDB_MAXNAME], off[ZDB_MAXLABELS + 1];
	if (type == DNSSEC_TYPE_RRSIG)
		return false;
	int n = name_in_zone(owner, len, z->apex->name, z->apex->namelen, name, off);
	if (n < 0)
		return false;
	/* from the owner up to the apex's child: the first node that exists tells whether a
	 * cut is at or above it (below_cut), then the cut itself is looked for */
	for (int k = 0; k < n; k++) {
		const uint8_t *p = name + off[k];
		size_t l = len - off[k];
		const zdb_node_t *node = zdb_table_find(&z->nodes, p, l, zdb_hash(p, l));
		if (node == NULL)
			continue;
		if (!node->below_cut)
			return true;
		if (node->is_cut)
			return k == 0 && (type == T_DS || type == DNSSEC_TYPE_NSEC);
	}
	return true;
}

/* ---- writing ----------------------------------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

typedef struct rrset {
	const uint8_t *owner;
	uint8_t ownerlen;
	uint16_t type;
	uint32_t ttl;
	size_t count;         /* records in s->rdp/s->rdl */
	uint64_t id;          /* order-independent identity of the records and TTL */
} rrset_t;

/*
 * Hash of one record's rdata as signed: the names of the types the writer compresses are
 * lower-cased (RFC 4034 6.2 lists them all), since decompression gives them the case of
 * whatever name they point to (the query name's, 0x20): the RRSIG is the same.
 */
static uint64_t rd_hash(uint16_t type, const uint8_t *rd, uint16_t len)
{
	uint8_t k = rdkind(type);
	uint8_t tmp[2 * ZDB_MAXNAME + 22];
	if (k == RD_PLAIN || len > sizeof(tmp))
		return zdb_hash(rd, len);
	size_t fixed_head = k == RD_MX ? 2 : 0, fixed_tail = k == RD_SOA ? 20 : 0;
	if (fixed_head + fixed_tail > len)
		return zdb_hash(rd, len);
	for (size_t i = 0; i < len; i++)
		tmp[i] = i < fixed_head || i >= len - fixed_tail ? rd[i] : lc(rd[i]);
	return zdb_hash(tmp, len);
}

/* The identity of rs from its records (in s->rdp/rdl). */
static void rrset_id(rrset_t *rs, const zsign_t *s)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < rs->count; i++)
		sum += mix64(rd_hash(rs->type, s->rdp[i], s->rdl[i]) + s->rdl[i]);
	rs->id = mix64(sum ^ mix64((uint64_t)rs->ttl << 16 | rs->type) ^ rs->count);
}

enum { SIG_OK, SIG_NOFIT, SIG_FAIL };

/* Write the RRSIG by key over rs (whose records are in s->rdp/rdl): from the cache, or
 * signed now. */
static int put_rrsig(zsign_t *s, wire_t *w, const zdb_zone_t *z, const dnssec_key_t *key,
		     const rrset_t *rs, const dnssec_validity_t *val, uint16_t *count)
{
	const uint8_t *apex = z->apex->name;
	dnssec_cache_key_t ck = { .owner = rs->owner, .signer = apex, .type = rs->type,
				  .rdset_id = rs->id, .key_id = dnssec_key_id(key),
				  .key_tag = dnssec_key_tag(key), .val = *val };
	size_t len = 0;
	if (dnssec_cache_find(s->cache, &ck, s->sig, sizeof(s->sig), &len) == ERR_OK) {
		ZS_INC(s->st.cache_hits);
	} else {
		dnssec_rrset_t set = { .owner = rs->owner, .type = rs->type, .rclass = C_IN,
				       .ttl = rs->ttl, .labels = 0, .count = rs->count,
				       .rdata = s->rdp, .rdlen = s->rdl };
		if (dnssec_sign(s->signer, key, apex, &set, val, s->sig, sizeof(s->sig), &len) !=
		    ERR_OK)
			return SIG_FAIL;
		ZS_INC(s->st.signatures);
		(void)dnssec_cache_insert(s->cache, &ck, s->sig, len); /* too long: not kept */
	}
	if (!wire_put_rr(w, 0, rs->owner, DNSSEC_TYPE_RRSIG, C_IN, rs->ttl, RD_PLAIN, s->sig,
			 (uint16_t)len))
		return SIG_NOFIT;
	(*count)++;
	return SIG_OK;
}

/* The RRSIGs of rs: every KSK's over the apex DNSKEY RRset, else the ZSK's. */
static int put_rrsigs(zsign_t *s, wire_t *w, const zdb_zone_t *z, const rrset_t *rs,
		      const dnssec_validity_t *val, uint16_t *count)
{
	const zdb_sec_t *sec = z->sec;
	if (rs->type == DNSSEC_TYPE_DNSKEY &&
	    name_eq(rs->owner, rs->ownerlen, z->apex->name, z->apex->namelen)) {
		for (size_t k = 0; k < sec->n_ksk; k++) {
			int r = put_rrsig(s, w, z, sec->ksk[k], rs, val, count);
			if (r != SIG_OK)
				return r;
		}
		return SIG_OK;
	}
	return put_rrsig(s, w, z, sec->zsk, rs, val, count);
}

/* A single-record RRset (NSEC, DS from the zone) with its RRSIG. */
static int put_signed(zsign_t *s, wire_t *w, const zdb_zone_t *z, const uint8_t *owner,
		      uint16_t type, uint32_t ttl, const zdb_rrset_t *from, const uint8_t *rd,
		      uint16_t rdlen, const dnssec_validity_t *val, uint16_t *count)
{
	rrset_t rs = { .owner = owner, .type = type, .ttl = ttl > TTL_MAX ? TTL_MAX : ttl };
	size_t ol = 0;
	while (owner[ol] != 0)
		ol += (size_t)owner[ol] + 1;
	rs.ownerlen = (uint8_t)(ol + 1);
	if (from != NULL) {
		uint16_t l = 0;
		const uint8_t *p = NULL;
		for (uint16_t i = 0; i < from->count && i < DNSSEC_RRSET_MAX; i++) {
			p = i == 0 ? zdb_rd_first(from, &l) : zdb_rd_next(p, &l);
			s->rdp[i] = p;
			s->rdl[i] = l;
		}
		rs.count = from->count < DNSSEC_RRSET_MAX ? from->count : DNSSEC_RRSET_MAX;
	} else {
		s->rdp[0] = rd;
		s->rdl[0] = rdlen;
		rs.count = 1;
	}
	for (size_t i = 0; i < rs.count; i++) {
		if (!wire_put_rr(w, 0, owner, type, C_IN, rs.ttl, RD_PLAIN, s->rdp[i], s->rdl[i]))
			return SIG_NOFIT;
		(*count)++;
	}
	rrset_id(&rs, s);
	return put_rrsigs(s, w, z, &rs, val, count);
}

static const zdb_rrset_t *node_rrset(const zdb_node_t *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->n_rrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

/* An NSEC at owner (compact denial) whose bitmap holds NXNAME (nx) or node's types but
 * skip (and RRSIG, NSEC, which dnssec_nsec_rdata adds; none for a NULL node); with its
 * RRSIG. */
static int put_nsec(zsign_t *s, wire_t *w, const zdb_zone_t *z, const uint8_t *owner,
		    bool nx, const zdb_node_t *node, uint16_t skip, const dnssec_validity_t *val,
		    uint16_t *count)
{
	size_t n = 0, len = 0;
	if (nx) {
		s->types[n++] = DNSSEC_TYPE_NXNAME;
	} else if (node != NULL) {
		for (uint16_t i = 0; i < node->n_rrsets && n < TYPES_MAX; i++) {
			uint16_t t = node->rrsets[i].type;
			if (t != skip && t != DNSSEC_TYPE_RRSIG && t != DNSSEC_TYPE_NSEC)
				s->types[n++] = t;
		}
	}
	if (dnssec_nsec_rdata(owner, s->types, n, s->nsec, sizeof(s->nsec), &len) != ERR_OK ||
	    len > UINT16_MAX)
		return SIG_FAIL;
	return put_signed(s, w, z, owner, DNSSEC_TYPE_NSEC, z->neg_ttl, NULL, s->nsec,
			  (uint16_t)len, val, count);
}

/* The caller's compression targets (the question): those before qend. */
static size_t question_comp(const wire_t *w, size_t qend)
{
	size_t n = 0;
	while (n < w->n_comp && w->comp[n].off < qend)
		n++;
	return n;
}

/* Cut everything after the question and set TC. */
static void truncate_all(wire_t *w, size_t qend, zresult_t *res)
{
	w->len = qend;
	w->n_comp = question_comp(w, qend);
	res->an = res->ns = res->ar = 0;
	res->tc = true;
}

/* The name a denial is about: the last CNAME target of the answer, or the query name;
 * into out (255 bytes). \return its length, 0 on failure. */
static size_t denied_name(const zsign_t *s, size_t qend, uint8_t *out)
{
	for (size_t i = s->n_rr; i-- > 0;) {
		const zrr_t *rr = &s->rr[i];
		if (rr->section == 0 && rr->type == T_CNAME) {
			memcpy(out, rr->rd, rr->rdlen);
			return rr->rdlen;
		}
	}
	size_t off = WIRE_HDR;
	return get_name(s->pkt, qend, &off, out);
}

/* Write the records [i, j) of the parsed response as one RRset (duplicates left out, one
 * TTL), signed when authoritative. */
static int put_rrset(zsign_t *s, wire_t *w, const zdb_zone_t *z, size_t i, size_t j,
		     const dnssec_validity_t *val, uint16_t *count)
{
	const zrr_t *r0 = &s->rr[i];
	rrset_t rs = { .owner = r0->owner, .ownerlen = r0->ownerlen, .type = r0->type,
		       .ttl = r0->ttl };
	bool sign = r0->rclass == C_IN && authoritative(z, r0->owner, r0->ownerlen, r0->type);
	for (size_t k = i; k < j; k++) {
		zrr_t *rr = &s->rr[k];
		if (rr->ttl < rs.ttl) /* RFC 2181 5.2: one TTL; several policy RRsets joined */
			rs.ttl = rr->ttl;
		for (size_t d = i; d < k && j - i <= 64 && !rr->dup; d++)
			rr->dup = !s->rr[d].dup && s->rr[d].rdlen == rr->rdlen &&
				  memcmp(s->rr[d].rd, rr->rd, rr->rdlen) == 0;
	}
	if (sign && rs.ttl > TTL_MAX)
		rs.ttl = TTL_MAX;
	for (size_t k = i; k < j; k++) {
		const zrr_t *rr = &s->rr[k];
		if (rr->dup)
			continue;
		if (!wire_put_rr(w, 0, rr->owner, rr->type, rr->rclass, sign ? rs.ttl : rr->ttl,
				 rdkind(rr->type), rr->rd, rr->rdlen))
			return SIG_NOFIT;
		(*count)++;
		if (sign && rs.count < DNSSEC_RRSET_MAX) {
			s->rdp[rs.count] = rr->rd;
			s->rdl[rs.count++] = rr->rdlen;
		} else if (sign) {
			return SIG_FAIL;
		}
	}
	if (!sign)
		return SIG_OK;
	rrset_id(&rs, s);
	return put_rrsigs(s, w, z, &rs, val, count);
}

void zsign_answer(zsign_t *s, const zdb_t *db, const zq_t *q, bool co, wire_t *w,
		  size_t qend, zresult_t *res, uint64_t now)
{
	(void)db;
	const zdb_zone_t *z = res->zone;
	if (z == NULL || z->sec == NULL || res->tc || w->len > PKT_MAX || qend > w->len ||
	    (res->rcode != RC_NOERROR && res->rcode != RC_NXDOMAIN && res->rcode != RC_YXDOMAIN))
		return;
	dnssec_validity_t val;
	dnssec_validity_at(now, DNSSEC_WINDOW_PERIOD, DNSSEC_WINDOW_SKEW, DNSSEC_WINDOW_LIFETIME,
			   &val);
	ZS_SET(s->window, val.inception);

	size_t len = w->len;
	memcpy(s->pkt, w->buf, len);
	if (!parse(s, len, qend, res))
		goto fail;
	w->n_comp = question_comp(w, qend);
	w->len = qend;
	uint16_t cnt[3] = { 0, 0, 0 };
	bool nxdomain = res->rcode == RC_NXDOMAIN;
	int r = SIG_OK;
	size_t i = 0;
	for (uint8_t sec = 0; sec < 3 && r == SIG_OK; sec++) {
		while (i < s->n_rr && s->rr[i].section == sec && r == SIG_OK) {
			size_t j = i + 1;
			while (j < s->n_rr && s->rr[j].section == sec &&
			       s->rr[j].type == s->rr[i].type && s->rr[j].rclass == s->rr[i].rclass &&
			       name_eq(s->rr[j].owner, s->rr[j].ownerlen, s->rr[i].owner,
				       s->rr[i].ownerlen))
				j++;
			size_t at = w->len, at_comp = w->n_comp;
			uint16_t at_cnt = cnt[sec];
			r = put_rrset(s, w, z, i, j, &val, &cnt[sec]);
			if (r == SIG_NOFIT && sec == 2 && !res->referral) {
				/* the additional section is optional: leave out the rest */
				w->len = at;
				w->n_comp = at_comp;
				cnt[sec] = at_cnt;
				r = SIG_OK;
				i = s->n_rr;
				break;
			}
			i = j;
		}
		if (sec != 1 || r != SIG_OK)
			continue;
		/* the end of the authority section: the denial, or the referral's DS proof */
		uint8_t name[ZDB_MAXNAME];
		if (res->referral && res->cut != NULL) {
			const zdb_node_t *cut = res->cut;
			const zdb_rrset_t *ds = node_rrset(cut, T_DS);
			if (ds != NULL && !ds->dynamic && ds->count > 0)
				r = put_signed(s, w, z, cut->name, T_DS, ds->ttl, ds, NULL, 0, &val,
					       &cnt[1]);
			else
				r = put_nsec(s, w, z, cut->name, false, cut, 0, &val, &cnt[1]);
		} else if (nxdomain || res->nodata) {
			size_t nl = denied_name(s, qend, name);
			if (nl == 0)
				r = SIG_FAIL;
			else
				r = put_nsec(s, w, z, name, nxdomain, res->neg_node, q->qtype,
					     &val, &cnt[1]);
		}
	}
	if (r == SIG_FAIL)
		goto fail;
	if (r == SIG_NOFIT) {
		truncate_all(w, qend, res);
		ZS_INC(s->st.truncated);
		ZS_INC(s->st.answers);
		return;
	}
	res->an = cnt[0];
	res->ns = cnt[1];
	res->ar = cnt[2];
	if (nxdomain && !co)
		res->rcode = RC_NOERROR; /* RFC 9824: NXDOMAIN shown by NXNAME in the NSEC */
	ZS_INC(s->st.answers);
	ZS_SET(s->st.cache_entries, dnssec_cache_count(s->cache));
	return;
fail:
	w->len = qend;
	w->n_comp = question_comp(w, qend);
	res->an = res->ns = res->ar = 0;
	res->rcode = RC_SERVFAIL;
	ZS_INC(s->st.failures);
}
