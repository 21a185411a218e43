/* SPDX-License-Identifier: MIT */
/*
 * acache.c -- the per-worker answer cache (see acache.h for what is kept and why).
 *
 * Layout. The ring is a log of entries, each 8-byte aligned and never split at the ring's
 * end; a log position only grows, so an entry at position p is intact while
 * head - p <= ring size. The index is an array of 4-slot buckets (one 64-byte line); a
 * slot holds the entry's log position, 32 bits of the key's hash and the cache
 * generation it was stored in. A lookup reads one bucket and one entry.
 *
 * An entry: header, shuffle metadata (16-bit words), the key (the query from byte 2 on),
 * and the response after the question (the question itself is the query's).
 *
 * Shuffling in place. Each run of records of one RRset (same section, owner, type and
 * class; more than one record) is a *set*: owner parts O_0..O_n-1 and bodies (type, class,
 * TTL, length, rdata) B_0..B_n-1. A hit keeps the owner parts in their order and permutes
 * the bodies (Fisher-Yates, as the full path does), so the set keeps its length and
 * nothing after it moves; compression pointers whose target lies in a set (e.g. the
 * additional section's owner names that point into NS rdata) are rewritten through the
 * permutation. A response is not kept when a pointer inside a set points into another
 * record of the same set (that pointer could end up pointing forwards).
 */
#include "acache.h"
#include "err.h"
#include "zanswer.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define KEY_MAX 512      /* longer queries are not kept */
#define RESP_MAX 4096    /* longer responses are not kept */
#define SETS_MAX 8       /* shuffled RRsets per response */
#define SET_RR_MAX 32    /* records per shuffled RRset (larger ones are rotated, not kept) */
#define RELS_MAX 64      /* pointers to rewrite per response */
#define RRS_MAX 96       /* records per response */
#define PTRS_MAX 192     /* compression pointers per response */
#define META_MAX (SETS_MAX * (2 + 2 * SET_RR_MAX) + 4 * RELS_MAX)
#define BUCKET 4
#define HUGE_PAGE ((size_t)2 << 20)

#define T_NS 2
#define T_MD 3
#define T_MF 4
#define T_CNAME 5
#define T_SOA 6
#define T_MB 7
#define T_MG 8
#define T_MR 9
#define T_PTR 12
#define T_MINFO 14
#define T_MX 15
#define T_RP 17
#define T_AFSDB 18
#define T_RT 21
#define T_SRV 33
#define T_KX 36
#define T_DNAME 39
#define T_OPT 41

typedef struct slot {
	uint64_t pos; /* log position + 1; 0: empty */
	uint32_t tag; /* high half of the key's hash */
	uint32_t gen; /* cache generation of the entry */
} slot_t;

typedef struct ent {
	uint16_t keylen;  /* query length - 2 */
	uint16_t rlen;    /* response length */
	uint16_t qend;    /* offset past the question */
	uint16_t nmeta;   /* 16-bit metadata words */
	int32_t view;     /* zdb_answer_view() of the client */
	uint8_t nsets;    /* shuffled sets */
	uint8_t nrel;     /* pointers to rewrite */
	uint8_t rcode;    /* for the counters */
	uint8_t policy;   /* for the counters */
	uint8_t tc;       /* for the counters */
	uint8_t hdr[12];  /* the response header (id ignored) */
	uint8_t ndeps;    /* health words the answer depends on (slot, word pairs) */
	uint8_t pad[2];   /* to 32 bytes */
	const char *zone_id; /* for the query log: HostedZone.Id (in the generation's snapshot) */
	const char *chosen;  /* for the query log: SetIdentifier, or NULL (the same) */
	const void *decided; /* a chance decision to take again on each hit, or NULL */
	uint64_t outcome; /* with decided: the outcome this response is for */
	bool private_zone; /* with decided: the zone is private */
} ent_t;

struct acache {
	uint8_t *ring;        /* rsize bytes */
	size_t rsize;         /* a power of two */
	slot_t *idx;          /* (mask + 1) * BUCKET slots */
	size_t isize;         /* their bytes */
	uint32_t *door;       /* doorkeeper: tags of queries seen once (dmask + 1 words) */
	uint64_t dmask;       /* doorkeeper size - 1 */
	uint64_t mask;        /* buckets - 1 */
	uint64_t head;        /* next log position */
	uint32_t gen;         /* entries of other generations are dead */
	const zdb_t *db;      /* snapshot of the current generation */
	const hc_table_t *hc; /* its health table */
	uint64_t db_gen;      /* its snapshot generation */
	acache_stats_t stats; /* counters */
};

static size_t pow2_floor(size_t n)
{
	size_t p = 1;
	while (p <= n / 2)
		p <<= 1;
	return p;
}

/*
 * Large, randomly accessed memory, mapped: zero pages until written (an idle worker's cache
 * costs no resident memory), and on huge pages where the system allows it (a hit reads two
 * random places; with 4 KiB pages each would also miss the TLB).
 */
static void *big_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (size >= HUGE_PAGE)
		(void)madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static void big_free(void *p, size_t size)
{
	if (p != NULL)
		(void)munmap(p, size);
}

int acache_new(size_t bytes, acache_t **out)
{
	*out = NULL;
	if (bytes < ((size_t)64 << 10))
		bytes = (size_t)64 << 10;
	acache_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ERR_NOMEM;
	c->rsize = pow2_floor(bytes);
	/* about one bucket slot per 128 ring bytes: twice the entries a full ring holds */
	size_t buckets = pow2_floor(c->rsize / ((size_t)128 * BUCKET));
	c->mask = buckets - 1;
	c->isize = buckets * BUCKET * sizeof(slot_t);
	c->ring = big_alloc(c->rsize);
	c->idx = big_alloc(c->isize);
	c->dmask = c->rsize / 64 / sizeof(uint32_t) - 1;
	c->door = big_alloc((c->dmask + 1) * sizeof(uint32_t));
	if (c->ring == NULL || c->idx == NULL || c->door == NULL) {
		acache_free(c);
		return ERR_NOMEM;
	}
	c->gen = 1;
	*out = c;
	return ERR_OK;
}

void acache_free(acache_t *c)
{
	if (c == NULL)
		return;
	big_free(c->ring, c->rsize);
	big_free(c->idx, c->isize);
	big_free(c->door, (c->dmask + 1) * sizeof(uint32_t));
	free(c);
}

void acache_clear(acache_t *c)
{
	c->gen++;
	if (c->gen == 0) { /* after 2^32 generations: forget every slot for real */
		memset(c->idx, 0, (c->mask + 1) * BUCKET * sizeof(slot_t));
		c->gen = 1;
	}
}

void acache_begin(acache_t *c, const zdb_t *db, uint64_t generation)
{
	if (c->db == db && c->db_gen == generation)
		return;
	c->db = db;
	c->db_gen = generation;
	c->hc = db != NULL ? zdb_options(db)->health : NULL;
	acache_clear(c);
}

const acache_stats_t *acache_stats(const acache_t *c)
{
	return &c->stats;
}

static uint64_t key_hash(const uint8_t *p, size_t n, int view)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n ^ ((uint64_t)(uint32_t)view << 32);
	uint64_t w;
	while (n >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	h *= 0x9E3779B97F4A7C15ULL;
	h ^= h >> 32;
	return h;
}

static inline const uint32_t *ent_deps(const ent_t *e)
{
	return (const uint32_t *)(const void *)((const uint8_t *)e + sizeof(ent_t));
}

static inline const uint16_t *ent_meta(const ent_t *e)
{
	return (const uint16_t *)(const void *)((const uint8_t *)e + sizeof(ent_t) +
						(size_t)8 * e->ndeps);
}

static inline const uint8_t *ent_key(const ent_t *e)
{
	return (const uint8_t *)e + sizeof(ent_t) + (size_t)8 * e->ndeps + (size_t)2 * e->nmeta;
}

static inline const uint8_t *ent_tail(const ent_t *e)
{
	return ent_key(e) + e->keylen;
}

static inline bool slot_live(const acache_t *c, const slot_t *s)
{
	return s->pos != 0 && s->gen == c->gen && c->head - (s->pos - 1) <= c->rsize;
}

static inline const ent_t *slot_ent(const acache_t *c, const slot_t *s)
{
	return (const ent_t *)(const void *)(c->ring + ((s->pos - 1) & (c->rsize - 1)));
}

/*
 * Metadata words. A set: start, n, then n pairs (owner part length, body length). A pointer
 * to rewrite: its position and its target, each as a piece code and an offset in the
 * piece; code PIECE_ABS: the offset is absolute (the place does not move), else
 * set << 8 | PIECE_BODY? | record.
 */
#define PIECE_ABS 0xFFFFu
#define PIECE_BODY 0x80u

static inline void copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
	while (n >= 8) {
		memcpy(d, s, 8);
		d += 8;
		s += 8;
		n -= 8;
	}
	while (n-- > 0)
		*d++ = *s++;
}

/* Write the sets of e into out in a fresh random order and rewrite the pointers. */
static void reshuffle(const ent_t *e, uint8_t *out, uint64_t rng[2])
{
	uint16_t new_start[SETS_MAX][2][SET_RR_MAX];
	bool any = false;
	const uint16_t *w = ent_meta(e);
	const uint8_t *tmpl = ent_tail(e) - e->qend; /* template offsets as in the response */
	for (unsigned s = 0; s < e->nsets; s++) {
		uint16_t start = w[0], n = w[1];
		const uint16_t *len = w + 2;
		if (n < 2 || n > SET_RR_MAX)
			return; /* cannot happen: scan_response writes 2..SET_RR_MAX */
		uint16_t old_b[SET_RR_MAX], old_o[SET_RR_MAX];
		uint8_t perm[SET_RR_MAX];
		uint16_t o = start;
		for (uint16_t i = 0; i < n; i++) {
			old_o[i] = o;
			o = (uint16_t)(o + len[(size_t)2 * i]);
			old_b[i] = o;
			o = (uint16_t)(o + len[(size_t)2 * i + 1]);
			perm[i] = (uint8_t)i;
		}
		bool moved = false;
		for (uint16_t i = (uint16_t)(n - 1); i > 0; i--) {
			uint16_t j = (uint16_t)(zdb_rng_next(rng) % (i + 1u));
			uint8_t t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
			moved |= j != i;
		}
		w += 2 + 2 * n;
		if (!moved) { /* the order of the template: nothing moves */
			memcpy(new_start[s][0], old_o, n * sizeof(old_o[0]));
			memcpy(new_start[s][1], old_b, n * sizeof(old_b[0]));
			continue;
		}
		any = true;
		uint16_t p = start;
		for (uint16_t i = 0; i < n; i++) {
			uint16_t ol = len[(size_t)2 * i];
			new_start[s][0][i] = p;
			copy_small(out + p, tmpl + old_o[i], ol);
			p = (uint16_t)(p + ol);
			uint8_t k = perm[i];
			uint16_t bl = len[(size_t)2 * k + 1];
			new_start[s][1][k] = p;
			copy_small(out + p, tmpl + old_b[k], bl);
			p = (uint16_t)(p + bl);
		}
	}
	for (unsigned r = 0; any && r < e->nrel; r++, w += 4) {
		uint16_t pos = w[1], tgt = w[3];
		if (w[0] != PIECE_ABS)
			pos = (uint16_t)(pos + new_start[w[0] >> 8][(w[0] & PIECE_BODY) != 0][w[0] & 0x7F]);
		if (w[2] != PIECE_ABS)
			tgt = (uint16_t)(tgt + new_start[w[2] >> 8][(w[2] & PIECE_BODY) != 0][w[2] & 0x7F]);
		out[pos] = (uint8_t)(0xC0 | (tgt >> 8));
		out[pos + 1] = (uint8_t)tgt;
	}
}

void acache_prefetch(const acache_t *c, const zdb_t *db, const uint8_t *pkt, size_t len,
		     int view, int stage)
{
	if (db != c->db || len < 12 || len - 2 > KEY_MAX)
		return;
	uint64_t h = key_hash(pkt + 2, len - 2, view);
	const slot_t *b = &c->idx[(h & c->mask) * BUCKET];
	if (stage == 0) {
		__builtin_prefetch(b);
		return;
	}
	uint32_t tag = (uint32_t)(h >> 32);
	for (unsigned i = 0; i < BUCKET; i++) {
		if (b[i].tag == tag && slot_live(c, &b[i])) {
			const uint8_t *e = (const uint8_t *)slot_ent(c, &b[i]);
			__builtin_prefetch(e);
			__builtin_prefetch(e + 64);
			__builtin_prefetch(e + 128);
			__builtin_prefetch(e + 192);
			__builtin_prefetch(e + 256);
			return;
		}
	}
}

/* The health words a policy answer was decided on are unchanged. */
static bool deps_hold(const acache_t *c, const ent_t *e)
{
	const uint32_t *d = ent_deps(e);
	for (unsigned i = 0; i < e->ndeps; i++)
		if (hc_word(c->hc, d[(size_t)2 * i]) != d[(size_t)2 * i + 1])
			return false;
	return true;
}

size_t acache_answer(acache_t *c, const zdb_t *db, const uint8_t *pkt, size_t len, int view,
		     uint64_t rng[2], uint8_t *out, size_t outcap, acache_info_t *info)
{
	if (db != c->db || len < 12 || len - 2 > KEY_MAX)
		return 0;
	uint64_t h = key_hash(pkt + 2, len - 2, view);
	const slot_t *b = &c->idx[(h & c->mask) * BUCKET];
	uint32_t tag = (uint32_t)(h >> 32);
	bool decided = false;
	uint64_t outcome = 0;
	for (unsigned i = 0; i < BUCKET; i++) {
		const slot_t *s = &b[i];
		if (s->tag != tag || !slot_live(c, s))
			continue;
		const ent_t *e = slot_ent(c, s);
		if (e->keylen != len - 2 || e->view != view ||
		    memcmp(ent_key(e), pkt + 2, len - 2) != 0)
			continue;
		if (e->decided != NULL) {
			/* chance decides (weighted): decide now, then find that outcome's response */
			if (!decided)
				outcome = zdb_answer_redecide(db, e->decided, e->private_zone, rng);
			decided = true;
			if (outcome != e->outcome)
				continue;
		}
		if (e->rlen > outcap || !deps_hold(c, e))
			break; /* a health word changed: the full path decides again */
		out[0] = pkt[0];
		out[1] = pkt[1];
		memcpy(out + 2, e->hdr + 2, 10);
		memcpy(out + 12, pkt + 12, e->qend - 12u);
		memcpy(out + e->qend, ent_tail(e), (size_t)e->rlen - e->qend);
		if (e->nsets > 0)
			reshuffle(e, out, rng);
		info->rcode = e->rcode;
		info->policy = e->policy;
		info->tc = e->tc != 0;
		info->zone_id = e->zone_id;
		info->chosen = e->chosen;
		c->stats.hits++;
		return e->rlen;
	}
	c->stats.misses++;
	return 0;
}

/* ---- storing: find the sets and the pointers of a response ----------------------------- */

typedef struct scan {
	const uint8_t *r;   /* the response */
	size_t len;         /* its length */
	uint16_t ptr_pos[PTRS_MAX], ptr_tgt[PTRS_MAX];
	unsigned n_ptrs;
} scan_t;

/* Walk the name at off; *end past it. Records its pointer. False: malformed. */
static bool walk_name(scan_t *sc, size_t off, size_t *end)
{
	for (unsigned labels = 0; labels < 128 && off < sc->len; labels++) {
		uint8_t l = sc->r[off];
		if ((l & 0xC0) == 0xC0) {
			if (off + 2 > sc->len || sc->n_ptrs == PTRS_MAX)
				return false;
			size_t t = (size_t)(l & 0x3F) << 8 | sc->r[off + 1];
			if (t >= off)
				return false;
			sc->ptr_pos[sc->n_ptrs] = (uint16_t)off;
			sc->ptr_tgt[sc->n_ptrs++] = (uint16_t)t;
			*end = off + 2;
			return true;
		}
		if (l > 63)
			return false;
		if (l == 0) {
			*end = off + 1;
			return true;
		}
		off += (size_t)l + 1;
	}
	return false;
}

/* Names in the rdata [rd, end) of a type that may carry compressed names. */
static bool walk_rdata(scan_t *sc, uint16_t type, size_t rd, size_t end)
{
	size_t a = 0, b = 0;
	switch (type) {
	case T_NS:
	case T_MD:
	case T_MF:
	case T_CNAME:
	case T_MB:
	case T_MG:
	case T_MR:
	case T_PTR:
	case T_DNAME:
		return walk_name(sc, rd, &a) && a == end;
	case T_SOA:
		return walk_name(sc, rd, &a) && walk_name(sc, a, &b) && b + 20 == end;
	case T_MINFO:
	case T_RP:
		return walk_name(sc, rd, &a) && walk_name(sc, a, &b) && b == end;
	case T_MX:
	case T_AFSDB:
	case T_RT:
	case T_KX:
		return rd + 2 < end && walk_name(sc, rd + 2, &a) && a == end;
	case T_SRV:
		return rd + 6 < end && walk_name(sc, rd + 6, &a) && a == end;
	default:
		return true;
	}
}

/* The name at off, lower-cased and uncompressed, into buf; its length or 0. */
static size_t flat_name(const uint8_t *r, size_t len, size_t off, uint8_t buf[256])
{
	size_t n = 0;
	for (unsigned hops = 0; hops < 128 && off < len; hops++) {
		uint8_t l = r[off];
		if ((l & 0xC0) == 0xC0) {
			if (off + 1 >= len)
				return 0;
			size_t t = (size_t)(l & 0x3F) << 8 | r[off + 1];
			if (t >= off)
				return 0;
			off = t;
			continue;
		}
		if (l > 63 || n + l + 1 > 255 || off + l + 1 > len)
			return 0;
		buf[n++] = l;
		if (l == 0)
			return n;
		for (uint8_t i = 1; i <= l; i++) {
			uint8_t ch = r[off + i];
			buf[n++] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
		}
		off += (size_t)l + 1;
	}
	return 0;
}

typedef struct rr {
	uint16_t o, b, e; /* owner start, body start, end */
	uint16_t type, cls;
	uint8_t sect;
} rr_t;

/* The piece (PIECE_* code) holding offset t of the response, and t's offset in it. */
static void locate(const rr_t *rrs, const unsigned *first, const unsigned *n, unsigned nsets,
		   uint16_t t, uint16_t *code, uint16_t *delta)
{
	for (unsigned s = 0; s < nsets; s++) {
		const rr_t *a = &rrs[first[s]], *z = &rrs[first[s] + n[s] - 1];
		if (t < a->o || t >= z->e)
			continue;
		for (unsigned i = 0; i < n[s]; i++) {
			const rr_t *x = &a[i];
			if (t >= x->o && t < x->b) {
				*code = (uint16_t)(s << 8 | i);
				*delta = (uint16_t)(t - x->o);
				return;
			}
			if (t >= x->b && t < x->e) {
				*code = (uint16_t)(s << 8 | PIECE_BODY | i);
				*delta = (uint16_t)(t - x->b);
				return;
			}
		}
	}
	*code = PIECE_ABS;
	*delta = t;
}

/*
 * Find the sets and the pointers to rewrite; write the metadata (set: start, n, n pairs
 * of lengths; then pointer position and target pairs). False: do not keep this response.
 */
static bool scan_response(const uint8_t *r, size_t len, size_t qend, uint16_t *meta,
			  unsigned *nmeta, uint8_t *nsets, uint8_t *nrel)
{
	scan_t sc = { .r = r, .len = len, .n_ptrs = 0 };
	rr_t rrs[RRS_MAX];
	unsigned an = wire_get16(r + 6), ns = wire_get16(r + 8), ar = wire_get16(r + 10);
	unsigned total = an + ns + ar;
	if (total > RRS_MAX)
		return false;
	size_t off = qend;
	for (unsigned k = 0; k < total; k++) {
		size_t ob = 0;
		rr_t *x = &rrs[k];
		x->o = (uint16_t)off;
		if (!walk_name(&sc, off, &ob) || ob + 10 > len)
			return false;
		x->b = (uint16_t)ob;
		x->type = wire_get16(r + ob);
		x->cls = wire_get16(r + ob + 2);
		size_t rd = ob + 10, end = rd + wire_get16(r + ob + 8);
		if (end > len || !walk_rdata(&sc, x->type, rd, end))
			return false;
		x->e = (uint16_t)end;
		x->sect = (uint8_t)(k < an ? 0 : k < an + ns ? 1 : 2);
		off = end;
	}
	if (off != len)
		return false;

	/* sets: runs of one RRset */
	unsigned nm = 0, n_sets = 0;
	unsigned set_first[SETS_MAX], set_n[SETS_MAX];
	for (unsigned k = 0; k < total;) {
		unsigned j = k + 1;
		uint8_t a[256], b[256];
		size_t al = 0;
		while (j < total && rrs[j].sect == rrs[k].sect && rrs[j].type == rrs[k].type &&
		       rrs[j].cls == rrs[k].cls && rrs[k].type != T_OPT) {
			const uint8_t *ok = r + rrs[k].o, *oj = r + rrs[j].o;
			size_t lk = (size_t)(rrs[k].b - rrs[k].o), lj = (size_t)(rrs[j].b - rrs[j].o);
			/* the same bytes, or a pointer to the other: the same owner */
			bool same = (lk == lj && memcmp(ok, oj, lk) == 0) ||
				    (lj == 2 && (oj[0] & 0xC0) == 0xC0 &&
				     (size_t)((oj[0] & 0x3F) << 8 | oj[1]) == rrs[k].o);
			if (!same) {
				if (al == 0)
					al = flat_name(r, len, rrs[k].o, a);
				size_t bl = flat_name(r, len, rrs[j].o, b);
				if (al == 0 || bl != al || memcmp(a, b, al) != 0)
					break;
			}
			j++;
		}
		unsigned n = j - k;
		if (n > 1) {
			if (n > SET_RR_MAX || n_sets == SETS_MAX)
				return false;
			set_first[n_sets] = k;
			set_n[n_sets] = n;
			n_sets++;
			meta[nm++] = rrs[k].o;
			meta[nm++] = (uint16_t)n;
			for (unsigned i = k; i < j; i++) {
				meta[nm++] = (uint16_t)(rrs[i].b - rrs[i].o);
				meta[nm++] = (uint16_t)(rrs[i].e - rrs[i].b);
			}
		}
		k = j;
	}

	/* pointers into a set, as piece and offset */
	unsigned n_rel = 0;
	for (unsigned p = 0; p < sc.n_ptrs; p++) {
		uint16_t pos = sc.ptr_pos[p], tgt = sc.ptr_tgt[p];
		uint16_t pc = PIECE_ABS, pd = pos, tc = PIECE_ABS, td = tgt;
		locate(rrs, set_first, set_n, n_sets, tgt, &tc, &td);
		if (tc == PIECE_ABS)
			continue; /* the target does not move */
		locate(rrs, set_first, set_n, n_sets, pos, &pc, &pd);
		/* from inside the same set only into its first owner, which stays first */
		if (pc != PIECE_ABS && (pc >> 8) == (tc >> 8) && tc != ((tc >> 8) << 8))
			return false;
		if (n_rel == RELS_MAX)
			return false;
		meta[nm++] = pc;
		meta[nm++] = pd;
		meta[nm++] = tc;
		meta[nm++] = td;
		n_rel++;
	}
	*nmeta = nm;
	*nsets = (uint8_t)n_sets;
	*nrel = (uint8_t)n_rel;
	return true;
}

void acache_store(acache_t *c, const zdb_t *db, const uint8_t *pkt, size_t len, int view,
		  const uint8_t *resp, size_t rlen, size_t qend, const acache_info_t *info)
{
	if (db != c->db || len < 12 || len - 2 > KEY_MAX || rlen > RESP_MAX || qend < 12 ||
	    qend > len || qend > rlen || info->n_deps > ACACHE_DEPS)
		return;
	/* Doorkeeper: a query is kept the second time it is seen, so a flood of names asked
	 * once (random subdomains) costs one store of a tag each, not entries. */
	uint64_t h = key_hash(pkt + 2, len - 2, view);
	uint32_t tag = (uint32_t)(h >> 32);
	uint32_t *door = &c->door[(h >> 20) & c->dmask];
	if (*door != (tag | 1u)) {
		*door = tag | 1u;
		c->stats.deferred++;
		return;
	}
	uint16_t meta[META_MAX];
	unsigned nmeta = 0;
	uint8_t nsets = 0, nrel = 0;
	if (!scan_response(resp, rlen, qend, meta, &nmeta, &nsets, &nrel)) {
		c->stats.refused++;
		return;
	}
	size_t keylen = len - 2, tail = rlen - qend;
	size_t deps = (size_t)8 * info->n_deps;
	size_t mlen = (size_t)2 * nmeta;
	size_t size = (sizeof(ent_t) + deps + mlen + keylen + tail + 7) & ~(size_t)7;
	if (size > c->rsize / 8) {
		c->stats.refused++;
		return;
	}

	slot_t *b = &c->idx[(h & c->mask) * BUCKET];
	/* the same query if it is there, else a dead slot, else the oldest entry */
	slot_t *victim = NULL;
	for (unsigned i = 0; i < BUCKET; i++) {
		slot_t *s = &b[i];
		if (!slot_live(c, s)) {
			if (victim == NULL)
				victim = s;
			continue;
		}
		const ent_t *e = slot_ent(c, s);
		if (s->tag == tag && e->keylen == keylen && e->view == view &&
		    e->decided == info->decided && e->outcome == info->outcome &&
		    memcmp(ent_key(e), pkt + 2, keylen) == 0) {
			victim = s;
			break;
		}
	}
	if (victim == NULL) {
		victim = &b[0];
		for (unsigned i = 1; i < BUCKET; i++)
			if (b[i].pos < victim->pos)
				victim = &b[i];
	}

	uint64_t off = c->head & (c->rsize - 1);
	if (off + size > c->rsize)
		c->head += c->rsize - off; /* never split an entry at the end of the ring */
	ent_t *e = (ent_t *)(void *)(c->ring + (c->head & (c->rsize - 1)));
	memset(e, 0, sizeof(*e));
	e->keylen = (uint16_t)keylen;
	e->rlen = (uint16_t)rlen;
	e->qend = (uint16_t)qend;
	e->nmeta = (uint16_t)nmeta;
	e->view = view;
	e->nsets = nsets;
	e->nrel = nrel;
	e->rcode = info->rcode;
	e->policy = info->policy;
	e->tc = info->tc ? 1 : 0;
	e->ndeps = info->n_deps;
	e->zone_id = info->zone_id;
	e->chosen = info->chosen;
	e->decided = info->decided;
	e->outcome = info->outcome;
	e->private_zone = info->private_zone;
	memcpy(e->hdr, resp, 12);
	uint8_t *p = (uint8_t *)e + sizeof(ent_t);
	for (unsigned i = 0; i < info->n_deps; i++) {
		uint32_t pair[2] = { info->dep_slot[i], info->dep_word[i] };
		memcpy(p, pair, sizeof(pair));
		p += sizeof(pair);
	}
	memcpy(p, meta, mlen);
	memcpy(p + mlen, pkt + 2, keylen);
	memcpy(p + mlen + keylen, resp + qend, tail);
	victim->pos = c->head + 1;
	victim->tag = tag;
	victim->gen = c->gen;
	c->head += size;
	c->stats.stores++;
}
