/* SPDX-License-Identifier: MIT */
/*
 * zsign.c -- DNSSEC online signing of responses (zsign.h).
 *
 * zdb_answer() wrote an unsigned response. zsign_answer() reads its sections back (names
 * decompressed into scratch), groups consecutive records of one owner and type into RRsets,
 * and writes the sections again: every authoritative RRset followed by its RRSIG(s), and
 * the denial (compact NSEC, RFC 9824) or the referral's DS proof at the end of the
 * authority section. The records are copied as zdb_answer wrote them, TTLs set and the
 * compression pointers that point past an insertion moved, which gives the bytes the
 * writer would give; when that does not work (duplicates to leave out, no room, offsets
 * past 0x3FFF, a full compression table) they are written again with the wire writer.
 * Signatures come from a small front table, then the worker's cache; a miss signs inline.
 * Everything is allocated in zsign_new().
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

/*
 * The front of the signature cache: a small two-way set-associative table (a new entry
 * goes first in its set, pushing out the second) of whole RRSIG rdata by
 * the same key as dnssec_cache_t's, looked up with a cheap hash (what an entry holds is
 * compared whole, so a collision only costs a miss in front of the real cache, whose
 * keyed hash resists chosen names). It spares the real cache's key hashing on the RRsets
 * a worker answers most.
 */
#define FC_MAX 1024u      /* entries at most */
#define FC_OWNER_MAX 80u  /* longest owner kept */
#define FC_RRSIG_MAX (DNSSEC_RRSIG_FIXED + 64 + DNSSEC_SIG_LEN) /* signer up to 64 bytes */

typedef struct fcent {
	uint64_t hash;        /* 0: empty */
	uint64_t rdset_id, key_id;
	dnssec_validity_t val;
	uint16_t type;
	uint8_t ownerlen;     /* bytes of owner */
	uint8_t signerlen;    /* bytes of the signer (the owner's suffix) */
	uint16_t len;         /* bytes of rrsig */
	uint8_t owner[FC_OWNER_MAX]; /* lower case */
	uint8_t rrsig[FC_RRSIG_MAX];
} fcent_t;

/* One record of the response, decompressed. */
typedef struct zrr {
	const uint8_t *owner; /* owner as written (scratch) */
	const uint8_t *rd;    /* uncompressed rdata (scratch or the packet copy) */
	uint32_t off;         /* where the record starts in the packet copy */
	uint32_t rdoff;       /* where its rdata starts there (the TTL is at rdoff - 6) */
	uint32_t end;         /* where it ends there */
	uint64_t h;           /* hash of the rdata as signed (rrset_prepare) */
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
	wire_comp_t ocomp[WIRE_COMP_MAX]; /* compression targets zdb_answer left (copying) */
	size_t n_ocomp, i_ocomp;
	uint32_t *ins_old;     /* copying: from this offset of the packet copy on ... */
	uint32_t *ins_shift;   /* ... the bytes are this much further on in the response */
	size_t n_ins;
	bool cname;            /* the answer section holds a CNAME */
	fcent_t *fc;           /* the front of the cache (fc_n entries, a power of two; or none) */
	size_t fc_n;
	uint8_t lown[ZDB_MAXNAME]; /* the owner of the RRset at hand, lower-cased */
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
	/* an eighth of the budget at most goes to the front */
	size_t budget = cache_budget ? cache_budget : ZSIGN_CACHE_DEFAULT;
	size_t fc_n = FC_MAX;
	while (fc_n >= 16 && fc_n * sizeof(fcent_t) > budget / 8)
		fc_n /= 2;
	if (fc_n >= 16) {
		s->fc = calloc(fc_n, sizeof(*s->fc));
		s->fc_n = fc_n;
		budget -= fc_n * sizeof(fcent_t);
	}
	int ret = s->fc_n != 0 && s->fc == NULL ? ERR_NOMEM : dnssec_cache_new(&s->cache, budget);
	if (ret == ERR_OK)
		ret = dnssec_signer_new(&s->signer);
	if (ret == ERR_OK) {
		s->pkt = malloc(PKT_MAX);
		s->names = malloc(NAMES_MAX);
		s->rr = calloc(RR_MAX, sizeof(*s->rr));
		s->rdp = calloc(DNSSEC_RRSET_MAX, sizeof(*s->rdp));
		s->rdl = calloc(DNSSEC_RRSET_MAX, sizeof(*s->rdl));
		s->types = calloc(TYPES_MAX, sizeof(*s->types));
		s->ins_old = calloc(RR_MAX + 2, sizeof(*s->ins_old));
		s->ins_shift = calloc(RR_MAX + 2, sizeof(*s->ins_shift));
		if (s->pkt == NULL || s->names == NULL || s->rr == NULL || s->rdp == NULL ||
		    s->rdl == NULL || s->types == NULL || s->ins_old == NULL ||
		    s->ins_shift == NULL)
			ret = ERR_NOMEM;
	}
	if (ret != ERR_OK) {
		zsign_free(s);
		return ret;
	}
	s->st.cache_bytes = dnssec_cache_memory(s->cache) + s->fc_n * sizeof(fcent_t);
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
	free(s->ins_old);
	free(s->ins_shift);
	free(s->fc);
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
	const uint16_t cnt[3] = { res->an, res->ns, res->ar };
	uint8_t name[ZDB_MAXNAME];
	const uint8_t *prev = NULL;
	size_t prevlen = 0;
	uint32_t prevptr = 0; /* the previous owner was this compression pointer (or 0) */
	s->names_used = 0;
	s->n_rr = 0;
	s->cname = false;
	for (uint8_t sec = 0; sec < 3; sec++) {
		for (uint16_t i = 0; i < cnt[sec]; i++) {
			if (s->n_rr == RR_MAX)
				return false;
			zrr_t *rr = &s->rr[s->n_rr];
			rr->off = (uint32_t)off;
			if (prev != NULL && prevptr != 0 && off + 2 <= len &&
			    (uint32_t)wire_get16(pkt + off) == prevptr) {
				off += 2; /* the previous owner's pointer: the same name */
			} else {
				prevptr = off + 2 <= len && (pkt[off] & 0xC0) == 0xC0
						  ? wire_get16(pkt + off)
						  : 0;
				size_t nl = get_name(pkt, len, &off, name);
				if (nl == 0)
					return false;
				if (prev == NULL || prevlen != nl || memcmp(prev, name, nl) != 0) {
					uint8_t *d = names_take(s, nl);
					if (d == NULL)
						return false;
					memcpy(d, name, nl);
					prev = d;
					prevlen = nl;
				}
			}
			if (off + 10 > len)
				return false;
			rr->owner = prev;
			rr->ownerlen = (uint8_t)prevlen;
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
			s->cname |= sec == 0 && rr->type == T_CNAME;
			rr->rdoff = (uint32_t)off;
			off += rdlen;
			rr->end = (uint32_t)off;
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
 * Is an RRset of type at owner (lower-cased, len bytes) authoritative
 * data of zone z, to be signed? Not when the owner is outside the zone, nor at or below a
 * delegation (the NS set and glue), except the DS and NSEC RRsets at the cut itself.
 * *hash receives the owner's zdb_hash when it was computed (the owner is not the apex).
 */
static bool authoritative(const zdb_zone_t *z, const uint8_t *owner, size_t len,
			  uint16_t type, uint64_t *hash)
{
	uint8_t off[ZDB_MAXLABELS + 1];
	size_t alen = z->apex->namelen;
	if (type == DNSSEC_TYPE_RRSIG || len < alen)
		return false;
	int n = 0;
	size_t i = 0;
	while (i < len - alen && n < ZDB_MAXLABELS) {
		off[n++] = (uint8_t)i;
		i += (size_t)owner[i] + 1;
	}
	if (i != len - alen || memcmp(owner + i, z->apex->name, alen) != 0)
		return false;
	/* from the owner up to the apex's child: the first node that exists tells whether a
	 * cut is at or above it (below_cut), then the cut itself is looked for */
	for (int k = 0; k < n; k++) {
		const uint8_t *p = owner + off[k];
		size_t l = len - off[k];
		uint64_t h = zdb_hash(p, l);
		if (k == 0)
			*hash = h;
		const zdb_node_t *node = zdb_table_find(&z->nodes, p, l, h);
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

/* A quick fingerprint of a name (len >= 1 bytes): its length, first and last bytes. Only
 * for choosing a front-cache set: entries are compared whole. */
static uint64_t fold(const uint8_t *name, size_t len)
{
	uint64_t a = 0, b = 0;
	size_t n = len < 8 ? len : 8;
	memcpy(&a, name, n);
	memcpy(&b, name + len - n, n);
	return mix64(a ^ (b << 1 | b >> 63) ^ len);
}

typedef struct rrset {
	const uint8_t *owner;
	uint8_t ownerlen;
	uint16_t type;
	uint32_t ttl;
	size_t count;         /* records in s->rdp/s->rdl */
	uint64_t id;          /* order-independent identity of the records and TTL */
	const uint8_t *lowner; /* the owner lower-cased (for the front cache, which keeps
				  owners up to FC_OWNER_MAX bytes), or NULL */
	uint64_t lhash;       /* its zdb_hash or fold(), for choosing a front-cache set */
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

/* The same for the records [i, j) of the parsed response but duplicates (zrr_t.h). */
static void rrset_id_of(rrset_t *rs, const zsign_t *s, size_t i, size_t j)
{
	uint64_t sum = 0;
	for (size_t k = i; k < j; k++)
		if (!s->rr[k].dup)
			sum += s->rr[k].h;
	rs->id = mix64(sum ^ mix64((uint64_t)rs->ttl << 16 | rs->type) ^ rs->count);
}

/* SIG_SLOW: copying the records as zdb_answer wrote them does not work for this response
 * (duplicates to leave out, no room, offsets past compression's reach): write them again */
enum { SIG_OK, SIG_NOFIT, SIG_FAIL, SIG_SLOW };

/*
 * What an RRSIG's owner should be after its RRset, whose first record starts at off of
 * w: a pointer where the RRset's owner points, or to the owner itself when the writer
 * remembered it (as wire_put_name's search would find: no earlier name equals it, or the
 * owner would be a pointer). 0: write the name (the writer searches).
 */
static uint16_t owner_ref(const wire_t *w, size_t off)
{
	uint8_t l = w->buf[off];
	if ((l & 0xC0) == 0xC0)
		return (uint16_t)(wire_get16(w->buf + off) & 0x3FFF);
	if (l == 0 || off >= 0x3FFF)
		return 0;
	for (size_t i = w->n_comp; i-- > 0 && w->comp[i].off >= off;)
		if (w->comp[i].off == off)
			return (uint16_t)off;
	return 0;
}

/* Write the RRSIG by key over rs (whose records are in s->rdp/rdl): from the cache, or
 * signed now. Its owner: a pointer to optr, or rs->owner when optr is 0. */
static int put_rrsig(zsign_t *s, wire_t *w, const zdb_zone_t *z, const dnssec_key_t *key,
		     const rrset_t *rs, const dnssec_validity_t *val, uint16_t optr,
		     uint16_t *count)
{
	const uint8_t *apex = z->apex->name;
	dnssec_cache_key_t ck = { .owner = rs->owner, .signer = apex, .type = rs->type,
				  .rdset_id = rs->id, .key_id = dnssec_key_id(key),
				  .key_tag = dnssec_key_tag(key), .val = *val };
	size_t len = 0;
	fcent_t *fe = NULL;
	uint64_t fh = 0;
	const uint8_t *sig = s->sig;
	if (s->fc_n != 0 && rs->lowner != NULL && rs->ownerlen <= FC_OWNER_MAX) {
		fh = mix64(rs->lhash ^ mix64(rs->id + ck.key_id) ^
			   ((uint64_t)rs->type << 32 | val->inception)) | 1;
		fe = &s->fc[fh & (s->fc_n - 2)];
		for (int way = 0; way < 2; way++) {
			const fcent_t *e = &fe[way];
			if (e->hash == fh && e->rdset_id == rs->id && e->key_id == ck.key_id &&
			    e->type == rs->type && e->val.inception == val->inception &&
			    e->val.expiration == val->expiration && e->ownerlen == rs->ownerlen &&
			    e->signerlen == z->apex->namelen &&
			    memcmp(e->owner, rs->lowner, rs->ownerlen) == 0) {
				ZS_INC(s->st.cache_hits);
				sig = e->rrsig;
				len = e->len;
				goto put;
			}
		}
	}
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
	if (fe != NULL && len <= FC_RRSIG_MAX) {
		fe[1] = fe[0];
		*fe = (fcent_t){ .hash = fh, .rdset_id = rs->id, .key_id = ck.key_id,
				 .val = *val, .type = rs->type, .ownerlen = rs->ownerlen,
				 .signerlen = (uint8_t)z->apex->namelen, .len = (uint16_t)len };
		memcpy(fe->owner, rs->lowner, rs->ownerlen);
		memcpy(fe->rrsig, s->sig, len);
	}
put:
	if (!wire_put_rr(w, optr, rs->owner, DNSSEC_TYPE_RRSIG, C_IN, rs->ttl, RD_PLAIN, sig,
			 (uint16_t)len))
		return SIG_NOFIT;
	(*count)++;
	return SIG_OK;
}

/* The RRSIGs of rs (optr: as for put_rrsig): every KSK's over the apex DNSKEY RRset, else
 * the ZSK's. */
static int put_rrsigs(zsign_t *s, wire_t *w, const zdb_zone_t *z, const rrset_t *rs,
		      const dnssec_validity_t *val, uint16_t optr, uint16_t *count)
{
	const zdb_sec_t *sec = z->sec;
	uint8_t low[FC_OWNER_MAX];
	rrset_t lrs;
	if (rs->lowner == NULL && rs->ownerlen <= FC_OWNER_MAX && s->fc_n != 0) {
		lrs = *rs;
		for (size_t i = 0; i < rs->ownerlen; i++)
			low[i] = lc(rs->owner[i]);
		lrs.lowner = low;
		lrs.lhash = fold(low, rs->ownerlen);
		rs = &lrs;
	}
	if (rs->type == DNSSEC_TYPE_DNSKEY &&
	    name_eq(rs->owner, rs->ownerlen, z->apex->name, z->apex->namelen)) {
		for (size_t k = 0; k < sec->n_ksk; k++) {
			int r = put_rrsig(s, w, z, sec->ksk[k], rs, val, optr, count);
			if (r != SIG_OK)
				return r;
		}
		return SIG_OK;
	}
	return put_rrsig(s, w, z, sec->zsk, rs, val, optr, count);
}

/* The RRset of one record (rd, rdlen) or of from's records at owner (as written), in rs
 * and s->rdp/rdl, its TTL capped. \return false when from holds more records than
 * dnssec_sign takes. */
static bool rrset_load(zsign_t *s, const uint8_t *owner, uint16_t type, uint32_t ttl,
		       const zdb_rrset_t *from, const uint8_t *rd, uint16_t rdlen, rrset_t *rs)
{
	*rs = (rrset_t){ .owner = owner, .type = type, .ttl = ttl > TTL_MAX ? TTL_MAX : ttl };
	size_t ol = 0;
	while (owner[ol] != 0)
		ol += (size_t)owner[ol] + 1;
	rs->ownerlen = (uint8_t)(ol + 1);
	if (from != NULL) {
		if (from->count > DNSSEC_RRSET_MAX)
			return false;
		uint16_t l = 0;
		const uint8_t *p = NULL;
		for (uint16_t i = 0; i < from->count; i++) {
			p = i == 0 ? zdb_rd_first(from, &l) : zdb_rd_next(p, &l);
			s->rdp[i] = p;
			s->rdl[i] = l;
		}
		rs->count = from->count;
	} else {
		s->rdp[0] = rd;
		s->rdl[0] = rdlen;
		rs->count = 1;
	}
	rrset_id(rs, s);
	return true;
}

/* An RRset of the zone (DS) or of one record (NSEC) with its RRSIG; optr: the owner
 * written as a pointer there (0: written, compressed). */
static int put_signed(zsign_t *s, wire_t *w, const zdb_zone_t *z, const uint8_t *owner,
		      uint16_t optr, uint16_t type, uint32_t ttl, const zdb_rrset_t *from,
		      const uint8_t *rd, uint16_t rdlen, const dnssec_validity_t *val,
		      uint16_t *count)
{
	rrset_t rs;
	if (!rrset_load(s, owner, type, ttl, from, rd, rdlen, &rs))
		return SIG_FAIL;
	size_t first = w->len;
	for (size_t i = 0; i < rs.count; i++) {
		if (!wire_put_rr(w, optr, owner, type, C_IN, rs.ttl, RD_PLAIN, s->rdp[i],
				 s->rdl[i]))
			return SIG_NOFIT;
		(*count)++;
	}
	return put_rrsigs(s, w, z, &rs, val, owner_ref(w, first), count);
}

static const zdb_rrset_t *node_rrset(const zdb_node_t *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->n_rrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

/* The rdata of an NSEC at owner (compact denial) into s->nsec (*len bytes): its bitmap
 * holds NXNAME (nx) or node's types but skip (and RRSIG, NSEC, which dnssec_nsec_rdata
 * adds; none for a NULL node). */
static int nsec_make(zsign_t *s, const uint8_t *owner, bool nx, const zdb_node_t *node,
		     uint16_t skip, uint16_t *len)
{
	size_t n = 0, l = 0, ol = 0;
	while (ol < ZDB_MAXNAME && owner[ol] != 0)
		ol += (size_t)owner[ol] + 1;
	if (nx && ol + 3 <= ZDB_MAXNAME) {
		/* what dnssec_nsec_rdata makes of it: Next "\000.<owner>" (lower case), then
		 * window 0 with RRSIG (46), NSEC (47) and NXNAME (128) */
		static const uint8_t bm[19] = { 0, 17, 0, 0, 0, 0, 0, 0x03, 0, 0, 0,
						0, 0, 0, 0, 0, 0, 0, 0x80 };
		s->nsec[0] = 1;
		s->nsec[1] = 0;
		for (size_t i = 0; i <= ol; i++)
			s->nsec[2 + i] = lc(owner[i]);
		memcpy(s->nsec + ol + 3, bm, sizeof(bm));
		*len = (uint16_t)(ol + 3 + sizeof(bm));
		return SIG_OK;
	}
	if (nx) {
		s->types[n++] = DNSSEC_TYPE_NXNAME;
	} else if (node != NULL) {
		for (uint16_t i = 0; i < node->n_rrsets && n < TYPES_MAX; i++) {
			uint16_t t = node->rrsets[i].type;
			if (t != skip && t != DNSSEC_TYPE_RRSIG && t != DNSSEC_TYPE_NSEC)
				s->types[n++] = t;
		}
	}
	if (dnssec_nsec_rdata(owner, s->types, n, s->nsec, sizeof(s->nsec), &l) != ERR_OK ||
	    l > UINT16_MAX)
		return SIG_FAIL;
	*len = (uint16_t)l;
	return SIG_OK;
}

/* An NSEC at owner (nsec_make's) with its RRSIG. */
static int put_nsec(zsign_t *s, wire_t *w, const zdb_zone_t *z, const uint8_t *owner,
		    uint16_t optr, bool nx, const zdb_node_t *node, uint16_t skip,
		    const dnssec_validity_t *val, uint16_t *count)
{
	uint16_t len = 0;
	int r = nsec_make(s, owner, nx, node, skip, &len);
	if (r != SIG_OK)
		return r;
	return put_signed(s, w, z, owner, optr, DNSSEC_TYPE_NSEC, z->neg_ttl, NULL, s->nsec,
			  len, val, count);
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

/* Whether the writer remembered the query name (labels labels) as its first target. */
static bool qname_remembered(const wire_t *w, uint8_t labels)
{
	return w->n_comp > 0 && w->comp[0].off == WIRE_HDR && w->comp[0].labels == labels;
}

/*
 * The answer to a query of type NSEC or RRSIG at a name that exists (zdb_answer wrote
 * NODATA: node is res->neg_node), at the end of the answer section (after a CNAME chain:
 * at its last target). NSEC: the name's compact NSEC (its types, RRSIG, NSEC) with its
 * RRSIG. RRSIG: the RRSIG(s) of every RRset at node a query of its type gets signed
 * (dynamic groups have no fixed RRset: left out), then the RRSIG over that NSEC, which
 * every existing name has; the RRSIG records themselves are not signed.
 */
static int put_self(zsign_t *s, wire_t *w, const zdb_zone_t *z, const zq_t *q, size_t qend,
		    const zdb_node_t *node, const dnssec_validity_t *val, uint16_t *count)
{
	uint8_t name[ZDB_MAXNAME];
	const uint8_t *owner = q->qname;
	uint16_t optr = WIRE_HDR; /* a pointer to the query name, as compression would write */
	if (s->cname || !qname_remembered(w, q->nlabels)) {
		if (denied_name(s, qend, name) == 0)
			return SIG_FAIL;
		owner = name;
		optr = 0;
	}
	uint16_t nlen = 0;
	int r = nsec_make(s, owner, false, node, 0, &nlen);
	if (r != SIG_OK)
		return r;
	if (q->qtype == DNSSEC_TYPE_NSEC)
		return put_signed(s, w, z, owner, optr, DNSSEC_TYPE_NSEC, z->neg_ttl, NULL,
				  s->nsec, nlen, val, count);
	rrset_t rs;
	for (uint16_t i = 0; i < node->n_rrsets; i++) {
		const zdb_rrset_t *from = &node->rrsets[i];
		if (from->dynamic || from->count == 0 || from->type == DNSSEC_TYPE_RRSIG ||
		    from->type == DNSSEC_TYPE_NSEC ||
		    !rrset_load(s, owner, from->type, from->ttl, from, NULL, 0, &rs))
			continue;
		r = put_rrsigs(s, w, z, &rs, val, optr, count);
		if (r != SIG_OK)
			return r;
	}
	(void)rrset_load(s, owner, DNSSEC_TYPE_NSEC, z->neg_ttl, NULL, s->nsec, nlen, &rs);
	return put_rrsigs(s, w, z, &rs, val, optr, count);
}

/* The records [i, j) of the parsed response as one RRset: leave duplicates out (marked),
 * one TTL (the lowest; capped when signed), whether it is signed. */
static void rrset_prepare(zsign_t *s, const zdb_zone_t *z, size_t i, size_t j, rrset_t *rs,
			  bool *sign, bool *dups)
{
	const zrr_t *r0 = &s->rr[i];
	*rs = (rrset_t){ .owner = r0->owner, .ownerlen = r0->ownerlen, .type = r0->type,
			 .ttl = r0->ttl };
	*sign = false;
	if (r0->rclass == C_IN) {
		for (size_t k = 0; k < r0->ownerlen; k++)
			s->lown[k] = lc(r0->owner[k]);
		rs->lowner = s->lown;
		rs->lhash = 0;
		*sign = authoritative(z, s->lown, r0->ownerlen, r0->type, &rs->lhash);
		if (rs->lhash == 0)
			rs->lhash = fold(s->lown, r0->ownerlen);
	}
	*dups = false;
	for (size_t k = i; k < j; k++) {
		zrr_t *rr = &s->rr[k];
		if (rr->ttl < rs->ttl) /* RFC 2181 5.2: one TTL; several policy RRsets joined */
			rs->ttl = rr->ttl;
		rr->h = mix64(rd_hash(rr->type, rr->rd, rr->rdlen) + rr->rdlen);
		for (size_t d = i; d < k && j - i <= 64 && !rr->dup; d++)
			rr->dup = !s->rr[d].dup && s->rr[d].h == rr->h &&
				  s->rr[d].rdlen == rr->rdlen &&
				  memcmp(s->rr[d].rd, rr->rd, rr->rdlen) == 0;
		*dups |= rr->dup;
	}
	if (*sign && rs->ttl > TTL_MAX)
		rs->ttl = TTL_MAX;
}

/* Write the records [i, j) of the parsed response as one RRset (duplicates left out, one
 * TTL), signed when authoritative. */
static int put_rrset(zsign_t *s, wire_t *w, const zdb_zone_t *z, size_t i, size_t j,
		     const dnssec_validity_t *val, uint16_t *count)
{
	rrset_t rs;
	bool sign, dups;
	rrset_prepare(s, z, i, j, &rs, &sign, &dups);
	size_t first = w->len;
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
	rrset_id_of(&rs, s, i, j);
	return put_rrsigs(s, w, z, &rs, val, owner_ref(w, first), count);
}

/* ---- copying the records as they are --------------------------------------------- */

/* Where offset old of the packet copy is in the response being written. */
static size_t moved(const zsign_t *s, size_t old)
{
	for (size_t k = s->n_ins; k-- > 0;)
		if (s->ins_old[k] <= old)
			return old + s->ins_shift[k];
	return old;
}

/* Bytes from old offset old of the packet copy on are written at w->len from now. */
static void note_shift(zsign_t *s, const wire_t *w, size_t old)
{
	uint32_t sh = (uint32_t)(w->len - old);
	if (s->n_ins > 0 && s->ins_shift[s->n_ins - 1] == sh)
		return;
	if (s->n_ins > 0 && s->ins_old[s->n_ins - 1] == old) {
		s->ins_shift[s->n_ins - 1] = sh;
		return;
	}
	s->ins_old[s->n_ins] = (uint32_t)old;
	s->ins_shift[s->n_ins++] = sh;
}

/* The name copied to p (the response; within end) with its pointer moved; \return the
 * offset after it, 0 when that fails. */
static size_t fix_name(const zsign_t *s, uint8_t *buf, size_t p, size_t end)
{
	while (p < end) {
		uint8_t l = buf[p];
		if ((l & 0xC0) == 0xC0) {
			if (p + 2 > end)
				return 0;
			size_t t = moved(s, wire_get16(buf + p) & 0x3FFFu);
			if (t >= 0x3FFF)
				return 0;
			wire_set16(buf + p, (uint16_t)(0xC000u | t));
			return p + 2;
		}
		if (l == 0)
			return p + 1;
		if (l > 63)
			return 0;
		p += (size_t)l + 1;
	}
	return 0;
}

/* Copy record rr of the packet copy to the end of the response with its TTL set to ttl
 * and its pointers moved; compression targets zdb_answer noted inside it come along. */
static int copy_rr(zsign_t *s, wire_t *w, const zrr_t *rr, uint32_t ttl)
{
	size_t n = rr->end - rr->off, at = w->len;
	if (at + n > w->limit || at + n >= 0x3FFF)
		return SIG_SLOW;
	uint8_t *buf = w->buf;
	memcpy(buf + at, s->pkt + rr->off, n);
	size_t shift = at - rr->off, rd = rr->rdoff + shift, end = rr->end + shift;
	if (fix_name(s, buf, at, rd - 10) != rd - 10)
		return SIG_SLOW;
	buf[rd - 6] = (uint8_t)(ttl >> 24);
	buf[rd - 5] = (uint8_t)(ttl >> 16);
	buf[rd - 4] = (uint8_t)(ttl >> 8);
	buf[rd - 3] = (uint8_t)ttl;
	size_t p;
	switch (rdkind(rr->type)) {
	case RD_NAME:
		p = fix_name(s, buf, rd, end);
		break;
	case RD_MX:
		p = fix_name(s, buf, rd + 2, end);
		break;
	case RD_SOA:
		p = fix_name(s, buf, rd, end);
		p = p != 0 ? fix_name(s, buf, p, end) : 0;
		p = p != 0 ? p + 20 : 0;
		break;
	default:
		p = end;
		break;
	}
	if (p != end)
		return SIG_SLOW;
	while (s->i_ocomp < s->n_ocomp && s->ocomp[s->i_ocomp].off < rr->end) {
		wire_comp_t c = s->ocomp[s->i_ocomp++];
		if (c.off < rr->off || w->n_comp == WIRE_COMP_MAX)
			return SIG_SLOW;
		c.off = (uint16_t)(c.off + shift);
		w->comp[w->n_comp++] = c;
	}
	w->len = at + n;
	return SIG_OK;
}

/* As put_rrset, copying the records from the packet copy instead of writing them again.
 * SIG_SLOW: that does not work here (duplicates, no room). */
static int copy_rrset(zsign_t *s, wire_t *w, const zdb_zone_t *z, size_t i, size_t j,
		      const dnssec_validity_t *val, uint16_t *count)
{
	rrset_t rs;
	bool sign, dups;
	rrset_prepare(s, z, i, j, &rs, &sign, &dups);
	if (dups || (sign && j - i > DNSSEC_RRSET_MAX))
		return SIG_SLOW;
	note_shift(s, w, s->rr[i].off);
	size_t first = w->len;
	for (size_t k = i; k < j; k++) {
		const zrr_t *rr = &s->rr[k];
		int r = copy_rr(s, w, rr, sign ? rs.ttl : rr->ttl);
		if (r != SIG_OK)
			return r;
		(*count)++;
		if (sign) {
			s->rdp[rs.count] = rr->rd;
			s->rdl[rs.count++] = rr->rdlen;
		}
	}
	if (!sign)
		return SIG_OK;
	rrset_id_of(&rs, s, i, j);
	int r = put_rrsigs(s, w, z, &rs, val, owner_ref(w, first), count);
	return r == SIG_NOFIT ? SIG_SLOW : r;
}

/* Whether the NODATA zdb_answer wrote is NSEC or RRSIG asked at a name that exists:
 * answered (put_self), without SOA. */
static bool self_answer(const zq_t *q, const zresult_t *res)
{
	return res->nodata && res->rcode == RC_NOERROR && res->neg_node != NULL &&
	       (q->qtype == DNSSEC_TYPE_NSEC || q->qtype == DNSSEC_TYPE_RRSIG);
}

/*
 * Write the signed sections (cnt: their counts) after the question: copying the records
 * zdb_answer wrote (copy; SIG_SLOW when that does not work) or writing them again.
 */
static int sign_sections(zsign_t *s, wire_t *w, const zdb_zone_t *z, const zq_t *q,
			 bool copy, size_t qend, const zresult_t *res,
			 const dnssec_validity_t *val, uint16_t cnt[3])
{
	bool nxdomain = res->rcode == RC_NXDOMAIN;
	bool self = self_answer(q, res);
	int r = SIG_OK;
	size_t i = 0, old = qend; /* the next record; where it is in the packet copy */
	for (uint8_t sec = 0; sec < 3 && r == SIG_OK; sec++) {
		while (self && sec == 1 && i < s->n_rr && s->rr[i].section == 1)
			old = s->rr[i++].end; /* the NODATA's SOA: left out */
		while (i < s->n_rr && s->rr[i].section == sec && r == SIG_OK) {
			size_t j = i + 1;
			const zrr_t *r0 = &s->rr[i];
			while (j < s->n_rr && s->rr[j].section == sec && s->rr[j].type == r0->type &&
			       s->rr[j].rclass == r0->rclass &&
			       (s->rr[j].owner == r0->owner ||
				name_eq(s->rr[j].owner, s->rr[j].ownerlen, r0->owner,
					r0->ownerlen)))
				j++;
			size_t at = w->len, at_comp = w->n_comp;
			uint16_t at_cnt = cnt[sec];
			if (copy)
				r = copy_rrset(s, w, z, i, j, val, &cnt[sec]);
			else
				r = put_rrset(s, w, z, i, j, val, &cnt[sec]);
			if (r == SIG_NOFIT && sec == 2 && !res->referral) {
				/* the additional section is optional: leave out the rest */
				w->len = at;
				w->n_comp = at_comp;
				cnt[sec] = at_cnt;
				r = SIG_OK;
				i = s->n_rr;
				break;
			}
			old = s->rr[j - 1].end;
			i = j;
		}
		if (sec == 0 && self && r == SIG_OK) {
			r = put_self(s, w, z, q, qend, res->neg_node, val, &cnt[0]);
			if (copy && r == SIG_NOFIT)
				r = SIG_SLOW;
		}
		if (sec != 1 || r != SIG_OK)
			continue;
		/* the end of the authority section: the denial, or the referral's DS proof */
		uint8_t name[ZDB_MAXNAME];
		if (self) {
			/* answered in the answer section */
		} else if (res->referral && res->cut != NULL) {
			const zdb_node_t *cut = res->cut;
			const zdb_rrset_t *ds = node_rrset(cut, T_DS);
			if (ds != NULL && !ds->dynamic && ds->count > 0)
				r = put_signed(s, w, z, cut->name, 0, T_DS, ds->ttl, ds, NULL, 0,
					       val, &cnt[1]);
			else
				r = put_nsec(s, w, z, cut->name, 0, false, cut, 0, val, &cnt[1]);
		} else if ((nxdomain || res->nodata) && !s->cname &&
			   qname_remembered(w, q->nlabels)) {
			/* about the query name: a pointer to it, as compression would write */
			r = put_nsec(s, w, z, q->qname, WIRE_HDR, nxdomain, res->neg_node,
				     q->qtype, val, &cnt[1]);
		} else if (nxdomain || res->nodata) {
			size_t nl = denied_name(s, qend, name);
			if (nl == 0)
				r = SIG_FAIL;
			else
				r = put_nsec(s, w, z, name, 0, nxdomain, res->neg_node, q->qtype,
					     val, &cnt[1]);
		}
		if (copy && r == SIG_NOFIT)
			r = SIG_SLOW;
		if (copy)
			note_shift(s, w, old);
	}
	if (copy && r == SIG_OK && w->len >= 0x3FFF)
		r = SIG_SLOW; /* compression could not reach every name the copy moved */
	return r;
}

void zsign_answer(zsign_t *s, const zdb_t *db, const zq_t *q, bool co, wire_t *w,
		  size_t qend, zresult_t *res, uint64_t now)
{
	(void)db;
	const zdb_zone_t *z = res->zone;
	if (z == NULL || z->sec == NULL)
		return;
	if (res->tc) {
		/* zdb_answer truncated (sections empty): the rcode of the full signed answer,
		 * which the client gets over TCP */
		if (res->rcode == RC_NXDOMAIN && !co)
			res->rcode = RC_NOERROR;
		return;
	}
	if (w->len > PKT_MAX || qend > w->len ||
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
	size_t nq = question_comp(w, qend);
	uint16_t cnt[3] = { 0, 0, 0 };
	int r = SIG_SLOW;
	if (w->n_comp < WIRE_COMP_MAX && len < 0x3FFF) {
		/* copy zdb_answer's records, moving what points past an insertion */
		s->n_ocomp = w->n_comp - nq;
		memcpy(s->ocomp, w->comp + nq, s->n_ocomp * sizeof(*s->ocomp));
		s->i_ocomp = 0;
		s->n_ins = 0;
		w->n_comp = nq;
		w->len = qend;
		r = sign_sections(s, w, z, q, true, qend, res, &val, cnt);
	}
	if (r == SIG_SLOW) {
		w->n_comp = nq;
		w->len = qend;
		cnt[0] = cnt[1] = cnt[2] = 0;
		r = sign_sections(s, w, z, q, false, qend, res, &val, cnt);
	}
	if (r == SIG_FAIL)
		goto fail;
	if (res->rcode == RC_NXDOMAIN && !co)
		res->rcode = RC_NOERROR; /* RFC 9824: NXDOMAIN shown by NXNAME in the NSEC; also
					    when truncated, as the full answer over TCP says */
	if (r == SIG_NOFIT) {
		truncate_all(w, qend, res);
		ZS_INC(s->st.truncated);
		ZS_INC(s->st.answers);
		return;
	}
	res->an = cnt[0];
	res->ns = cnt[1];
	res->ar = cnt[2];
	if (self_answer(q, res)) {
		res->nodata = false; /* answered: no longer NODATA */
		res->neg_node = NULL;
	}
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
