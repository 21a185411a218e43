/* SPDX-License-Identifier: MIT */
/*
 * rrl.c -- response rate limiting: configuration, per-worker tables, the per-response check.
 *
 * The design (accounts, kinds, credit, slip, window, workers) is in rrl.h. Here:
 *
 * Credit is kept in integer units chosen so that nothing is rounded: a response costs
 * 1000 x workers units and an account earns responses_per_second units per millisecond,
 * which is responses_per_second / workers responses a second for each worker's account.
 * An account holds at most one second's worth (at least one response).
 *
 * A table is an array of 4-way sets of 16-byte entries (one cache line per set). The
 * account's 64-bit keyed hash picks the set by its low bits and is stored as a 32-bit tag
 * from its high bits. A new account takes, in this order: a free entry, an entry idle
 * longer than the window, the oldest entry that has not been limited, the oldest entry.
 * The hash key is random per configuration, so a client cannot aim at another's set.
 */
#include "rrl.h"
#include "err.h"
#include "snap.h"

#include <netinet/in.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define RRL_WAYS 4
/* Networks tracked per worker for the fast path (16 bytes each, 4-way sets). */
#define RRL_NETS 4096u
#define DNS_HDR 12
#define TYPE_NS 2
#define TYPE_SOA 6
#define FLAG_AA 0x04
#define FLAG_TC 0x02
#define RCODE_NXDOMAIN 3
/* Entry flag: limited since the account last had full credit. */
#define ENTRY_LIMITED 1u

#define STAT_INC(c) \
	__atomic_store_n(&(c), __atomic_load_n(&(c), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED)
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* One account. */
typedef struct rrl_entry {
	uint32_t tag;    /* high 32 bits of the account's hash, | 1; 0: free */
	uint32_t stamp;  /* ms (rrl_now_ms) of the last response charged or limited */
	uint32_t credit; /* credit units; a response costs set->cost */
	uint16_t slip;   /* limited responses since the last slip */
	uint16_t flags;  /* ENTRY_LIMITED */
} rrl_entry_t;

/* One client network, for the fast path. */
typedef struct rrl_net {
	uint32_t tag;    /* high 32 bits of the network's hash, | 1; 0: free */
	uint32_t stamp;  /* ms of the last credit update */
	uint32_t credit; /* credit units, at most set->net_cap */
	uint32_t hot;    /* ms until which its responses go to their accounts (| 1); 0: not */
} rrl_net_t;

struct rrl_set {
	rrl_conf_t conf;     /* the configuration applied (exempt owned) */
	uint64_t seed[2];    /* hash key, random */
	uint64_t refill;     /* credit units earned per ms: responses_per_second */
	uint64_t cost;       /* units per response: 1000 x workers */
	uint64_t cap;        /* most credit an account holds: max(rate x 1000, cost) */
	uint64_t net_cap;    /* most credit a network holds on the fast path: max(cap/16, cost) */
	uint32_t window_ms;  /* window in ms */
	uint32_t sets;       /* sets per table, a power of two */
	uint32_t mask4;      /* IPv4 network mask, network byte order */
	uint64_t mask6[2];   /* IPv6 network mask, in memory order of the address */
	unsigned n_tables;   /* workers */
	rrl_entry_t *tables[]; /* one per worker; 64-byte aligned, sets x RRL_WAYS entries,
				  followed by RRL_NETS rrl_net_t */
};

/* One worker's counters, on its own cache line. */
typedef struct rrl_slot {
	alignas(64) rrl_stats_t s; /* written by that worker only */
} rrl_slot_t;

struct rrl {
	_Atomic(rrl_set_t *) set; /* published set; NULL when off */
	rrl_conf_t conf;          /* the configuration applied; control thread only */
	unsigned n_workers;       /* workers */
	rrl_slot_t *slots;        /* n_workers counter slots */
};

/* ---- configuration ---------------------------------------------------------------------- */

void rrl_conf_default(rrl_conf_t *c)
{
	memset(c, 0, sizeof(*c));
	c->slip = 2;
	c->ipv4_prefix = 24;
	c->ipv6_prefix = 56;
	c->window = 15;
}

void rrl_conf_clear(rrl_conf_t *c)
{
	free(c->exempt);
	rrl_conf_default(c);
}

static int conf_copy(rrl_conf_t *dst, const rrl_conf_t *src)
{
	*dst = *src;
	dst->exempt = NULL;
	if (src->n_exempt > 0) {
		dst->exempt = malloc(src->n_exempt * sizeof(*dst->exempt));
		if (dst->exempt == NULL)
			return ERR_NOMEM;
		memcpy(dst->exempt, src->exempt, src->n_exempt * sizeof(*dst->exempt));
	}
	return ERR_OK;
}

bool rrl_conf_equal(const rrl_conf_t *a, const rrl_conf_t *b)
{
	if (a->responses_per_second != b->responses_per_second)
		return false;
	if (a->responses_per_second == 0)
		return true; /* off is off, whatever the other settings */
	return a->slip == b->slip && a->ipv4_prefix == b->ipv4_prefix &&
	       a->ipv6_prefix == b->ipv6_prefix && a->window == b->window &&
	       a->n_exempt == b->n_exempt &&
	       (a->n_exempt == 0 ||
		memcmp(a->exempt, b->exempt, a->n_exempt * sizeof(*a->exempt)) == 0);
}

static int bad(char *path, size_t pathlen, const char *p, char *why, size_t whylen,
	       const char *w)
{
	snprintf(path, pathlen, "%s", p);
	snprintf(why, whylen, "%s", w);
	return ERR_INVAL;
}

/* An integer member in lo..hi; absent keeps *out. */
static int get_num(const json_t *obj, const char *key, unsigned lo, unsigned hi, unsigned *out,
		   char *path, size_t pathlen, char *why, size_t whylen)
{
	const json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return ERR_OK;
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
	    json_integer_value(v) > (json_int_t)hi) {
		snprintf(path, pathlen, "rrl.%s", key);
		snprintf(why, whylen, "must be an integer in %u..%u", lo, hi);
		return ERR_INVAL;
	}
	*out = (unsigned)json_integer_value(v);
	return ERR_OK;
}

int rrl_conf_parse(const json_t *v, rrl_conf_t *c, char *path, size_t pathlen, char *why,
		   size_t whylen)
{
	static const char *const keys[] = { "responses_per_second", "slip", "ipv4_prefix",
					    "ipv6_prefix", "window", "exempt", NULL };
	rrl_conf_clear(c);
	if (v == NULL)
		return ERR_OK;
	if (!json_is_object(v))
		return bad(path, pathlen, "rrl", why, whylen,
			   "must be an object {\"responses_per_second\": N, \"slip\": N, "
			   "\"ipv4_prefix\": N, \"ipv6_prefix\": N, \"window\": N, \"exempt\": [CIDR...]}");
	const char *key;
	const json_t *m;
	json_object_foreach((json_t *)v, key, m) {
		bool known = false;
		for (const char *const *k = keys; *k != NULL && !known; k++)
			known = strcmp(*k, key) == 0;
		if (!known) {
			snprintf(path, pathlen, "rrl.%s", key);
			snprintf(why, whylen, "unknown key");
			return ERR_INVAL;
		}
	}
	int ret;
	if ((ret = get_num(v, "responses_per_second", 0, RRL_MAX_RATE, &c->responses_per_second,
			   path, pathlen, why, whylen)) != ERR_OK ||
	    (ret = get_num(v, "slip", 0, RRL_MAX_SLIP, &c->slip, path, pathlen, why, whylen)) !=
		    ERR_OK ||
	    (ret = get_num(v, "ipv4_prefix", 0, 32, &c->ipv4_prefix, path, pathlen, why,
			   whylen)) != ERR_OK ||
	    (ret = get_num(v, "ipv6_prefix", 0, 128, &c->ipv6_prefix, path, pathlen, why,
			   whylen)) != ERR_OK ||
	    (ret = get_num(v, "window", 1, RRL_MAX_WINDOW, &c->window, path, pathlen, why,
			   whylen)) != ERR_OK)
		return ret;
	const json_t *ex = json_object_get(v, "exempt");
	if (ex == NULL)
		return ERR_OK;
	if (!json_is_array(ex))
		return bad(path, pathlen, "rrl.exempt", why, whylen,
			   "must be an array of CIDR blocks (\"192.0.2.0/24\", \"2001:db8::/32\")");
	size_t n = json_array_size(ex);
	if (n == 0)
		return ERR_OK;
	c->exempt = calloc(n, sizeof(*c->exempt));
	if (c->exempt == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_array_get(ex, i);
		char gerr[200] = "not a CIDR block";
		if (!json_is_string(s) ||
		    geo_cidr_parse(json_string_value(s), &c->exempt[i], gerr, sizeof(gerr)) != GEO_OK) {
			snprintf(path, pathlen, "rrl.exempt[%zu]", i);
			snprintf(why, whylen, "%s", json_is_string(s) ? gerr : "must be a CIDR string");
			rrl_conf_clear(c);
			return ERR_INVAL;
		}
		c->n_exempt = i + 1;
	}
	return ERR_OK;
}

/* ---- sets and the daemon object --------------------------------------------------------- */

static void set_free(void *p)
{
	rrl_set_t *s = p;
	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->n_tables; i++)
		free(s->tables[i]);
	free(s->conf.exempt);
	free(s);
}

/* Network masks as words that the address words are ANDed with. */
static void make_masks(rrl_set_t *s)
{
	uint8_t m[16];
	memset(m, 0, sizeof(m));
	memset(m, 0xff, 4);
	geo_addr_mask(AF_INET, m, s->conf.ipv4_prefix);
	memcpy(&s->mask4, m, 4);
	memset(m, 0xff, sizeof(m));
	geo_addr_mask(AF_INET6, m, s->conf.ipv6_prefix);
	memcpy(s->mask6, m, sizeof(m));
}

static rrl_set_t *set_new(unsigned n_workers, const rrl_conf_t *c)
{
	rrl_set_t *s = calloc(1, sizeof(*s) + n_workers * sizeof(s->tables[0]));
	if (s == NULL)
		return NULL;
	if (conf_copy(&s->conf, c) != ERR_OK) {
		free(s);
		return NULL;
	}
	s->n_tables = n_workers;
	s->sets = RRL_TABLE_ENTRIES / RRL_WAYS;
	size_t bytes = (size_t)RRL_TABLE_ENTRIES * sizeof(rrl_entry_t) +
		       (size_t)RRL_NETS * sizeof(rrl_net_t);
	for (unsigned i = 0; i < n_workers; i++) {
		s->tables[i] = aligned_alloc(64, bytes);
		if (s->tables[i] == NULL) {
			set_free(s);
			return NULL;
		}
		memset(s->tables[i], 0, bytes);
	}
	if (getrandom(s->seed, sizeof(s->seed), 0) != (ssize_t)sizeof(s->seed)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s->seed[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ts.tv_sec;
		s->seed[1] = (uint64_t)(uintptr_t)s * 0xBF58476D1CE4E5B9ULL ^ s->seed[0];
	}
	s->refill = c->responses_per_second;
	s->cost = 1000ull * n_workers;
	s->cap = (uint64_t)c->responses_per_second * 1000u;
	if (s->cap < s->cost)
		s->cap = s->cost;
	s->net_cap = s->cap / 16;
	if (s->net_cap < s->cost)
		s->net_cap = s->cost;
	s->window_ms = c->window * 1000u;
	make_masks(s);
	return s;
}

int rrl_new(unsigned n_workers, rrl_t **out)
{
	*out = NULL;
	if (n_workers == 0)
		return ERR_INVAL;
	rrl_t *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ERR_NOMEM;
	r->slots = aligned_alloc(64, n_workers * sizeof(*r->slots));
	if (r->slots == NULL) {
		free(r);
		return ERR_NOMEM;
	}
	memset(r->slots, 0, n_workers * sizeof(*r->slots));
	r->n_workers = n_workers;
	rrl_conf_default(&r->conf);
	atomic_init(&r->set, NULL);
	*out = r;
	return ERR_OK;
}

void rrl_free(rrl_t *r)
{
	if (r == NULL)
		return;
	set_free(atomic_load_explicit(&r->set, memory_order_relaxed));
	rrl_conf_clear(&r->conf);
	free(r->slots);
	free(r);
}

int rrl_configure(rrl_t *r, const rrl_conf_t *c, snap_defer_t **retired)
{
	*retired = NULL;
	if (rrl_conf_equal(&r->conf, c))
		return ERR_OK;
	rrl_conf_t copy;
	if (conf_copy(&copy, c) != ERR_OK)
		return ERR_NOMEM;
	rrl_set_t *ns = NULL;
	if (c->responses_per_second > 0 && (ns = set_new(r->n_workers, c)) == NULL) {
		free(copy.exempt);
		return ERR_NOMEM;
	}
	rrl_set_t *old = atomic_load_explicit(&r->set, memory_order_relaxed);
	snap_defer_t *d = NULL;
	if (old != NULL) {
		d = calloc(1, sizeof(*d));
		if (d == NULL) {
			set_free(ns);
			free(copy.exempt);
			return ERR_NOMEM;
		}
		d->fn = set_free;
		d->p = old;
	}
	atomic_store_explicit(&r->set, ns, memory_order_release);
	rrl_conf_clear(&r->conf);
	r->conf = copy;
	*retired = d;
	return ERR_OK;
}

bool rrl_on(const rrl_t *r)
{
	return r != NULL && r->conf.responses_per_second > 0;
}

unsigned rrl_rate(const rrl_t *r)
{
	return r == NULL ? 0 : r->conf.responses_per_second;
}

rrl_set_t *rrl_enter(rrl_t *r)
{
	return r == NULL ? NULL : atomic_load_explicit(&r->set, memory_order_acquire);
}

uint32_t rrl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* a few ms of resolution is plenty */
	return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

void rrl_stats_sum(const rrl_t *r, rrl_stats_t *t)
{
	if (r == NULL)
		return;
	for (unsigned i = 0; i < r->n_workers; i++) {
		const rrl_stats_t *s = &r->slots[i].s;
		t->checked += LOAD(s->checked);
		t->accounted += LOAD(s->accounted);
		t->exempt += LOAD(s->exempt);
		t->dropped += LOAD(s->dropped);
		t->slipped += LOAD(s->slipped);
		t->replaced += LOAD(s->replaced);
		for (unsigned k = 0; k < RRL_KINDS; k++)
			t->limited[k] += LOAD(s->limited[k]);
	}
}

const char *rrl_kind_name(unsigned kind)
{
	static const char *const names[RRL_KINDS] = { "positive", "nodata", "nxdomain", "referral",
						      "error" };
	return kind < RRL_KINDS ? names[kind] : "unknown";
}

/* ---- the per-response check --------------------------------------------------------------- */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* 64 x 64 -> 128-bit multiply, folded (the mixing step of wyhash). */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	unsigned __int128 m = (unsigned __int128)a * b;
	return (uint64_t)m ^ (uint64_t)(m >> 64);
}

#define K0 0xa0761d6478bd642fULL
#define K1 0xe7037ed1a0b428dbULL

/*
 * Case folding for the hash: bit 5 set in every byte, so A-Z hash as a-z. Other bytes that
 * differ only in bit 5 (a label length 3 and '#', '@' and '`') hash alike too: such names
 * share an account, which is harmless (one instruction per eight bytes instead of an exact
 * ASCII fold's ten).
 */
static inline uint64_t lower8(uint64_t x)
{
	return x | 0x2020202020202020ULL;
}

/* Mix a wire name (n bytes, any case) into h: eight bytes at a time, the last word being
 * the name's last eight bytes (overlapping the one before), and the length. */
static uint64_t hash_name(uint64_t h, const uint8_t *p, size_t n)
{
	uint64_t w = 0;
	if (n >= 8) {
		const uint8_t *last = p + n - 8;
		for (; p < last; p += 8) {
			memcpy(&w, p, 8);
			h = mum(h ^ lower8(w), K1);
		}
		memcpy(&w, last, 8);
	} else {
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)p[i] << (8 * i);
	}
	return mum(h ^ lower8(w) ^ n, K1);
}

/* Offset just past the (possibly compressed) name at off, or 0 when it is malformed. */
static size_t skip_name(const uint8_t *r, size_t len, size_t off)
{
	for (unsigned i = 0; i < 128 && off < len; i++) {
		uint8_t l = r[off];
		if ((l & 0xC0) == 0xC0)
			return off + 2 <= len ? off + 2 : 0;
		if (l & 0xC0)
			return 0;
		off += (size_t)l + 1;
		if (l == 0)
			return off <= len ? off : 0;
	}
	return 0;
}

/* Offset just past the question's name, which is never compressed; 0 when malformed. */
static size_t qname_end(const uint8_t *r, size_t len)
{
	size_t off = DNS_HDR;
	while (off < len) {
		uint8_t l = r[off];
		if (l & 0xC0)
			return 0;
		off += (size_t)l + 1;
		if (l == 0)
			return off <= len ? off : 0;
	}
	return 0;
}

/* The name at off, decompressed into out (256 bytes); its length, or 0 when malformed. */
static size_t flat_name(const uint8_t *r, size_t len, size_t off, uint8_t *out)
{
	size_t n = 0;
	for (unsigned jumps = 0; off < len;) {
		uint8_t l = r[off];
		if ((l & 0xC0) == 0xC0) {
			if (off + 1 >= len || ++jumps > 64)
				return 0;
			off = (size_t)(l & 0x3F) << 8 | r[off + 1];
			continue;
		}
		if ((l & 0xC0) != 0 || n + l + 1 > 255 || off + 1 + l > len)
			return 0;
		memcpy(out + n, r + off, (size_t)l + 1);
		n += (size_t)l + 1;
		off += (size_t)l + 1;
		if (l == 0)
			return n;
	}
	return 0;
}

/* What a response is, for its account. */
typedef struct rrl_class {
	unsigned kind;        /* enum rrl_kind */
	uint16_t qtype;       /* positive answers only */
	const uint8_t *name;  /* the name of the account, or NULL (errors) */
	size_t nlen;          /* its length */
	size_t qend;          /* end of the question, 0 without one */
	uint8_t flat[256];    /* a decompressed owner name */
} rrl_class_t;

static void classify(const uint8_t *r, size_t len, rrl_class_t *c)
{
	c->kind = RRL_ERROR;
	c->qtype = 0;
	c->name = NULL;
	c->nlen = 0;
	c->qend = 0;
	if (len < DNS_HDR || get16(r + 4) != 1)
		return;
	size_t qn = qname_end(r, len);
	if (qn == 0 || qn + 4 > len)
		return;
	c->qend = qn + 4;
	unsigned rcode = r[3] & 0x0F, an = get16(r + 6), ns = get16(r + 8);
	if (rcode != 0 && rcode != RCODE_NXDOMAIN)
		return;
	if (rcode == 0 && (an > 0 || (r[2] & FLAG_TC))) {
		c->kind = RRL_POSITIVE;
		c->qtype = get16(r + qn);
		c->name = r + DNS_HDR;
		c->nlen = qn - DNS_HDR;
		return;
	}
	/* the authority section's first owner: SOA (zone) or NS (delegation) */
	size_t off = c->qend;
	for (unsigned i = 0; i < an && off != 0; i++) {
		off = skip_name(r, len, off);
		off = (off == 0 || off + 10 > len) ? 0 : off + 10 + get16(r + off + 8);
	}
	size_t own = off, te = (off != 0 && ns > 0) ? skip_name(r, len, off) : 0;
	size_t fl = (te != 0 && te + 2 <= len) ? flat_name(r, len, own, c->flat) : 0;
	if (rcode == RCODE_NXDOMAIN) {
		c->kind = RRL_NXDOMAIN;
		c->name = fl ? c->flat : r + DNS_HDR; /* without a SOA: by qname */
		c->nlen = fl ? fl : qn - DNS_HDR;
		return;
	}
	if (fl == 0)
		return; /* NOERROR without answer or authority (e.g. BADVERS): an error */
	uint16_t type = get16(r + te);
	c->kind = (type == TYPE_NS && !(r[2] & FLAG_AA)) ? RRL_REFERRAL : RRL_NODATA;
	c->name = c->flat;
	c->nlen = fl;
}

/* Rewrite the response as header and question only, TC set; 0 (drop) without a header. */
static size_t slip_reply(uint8_t *r, size_t len, size_t qend)
{
	if (len < DNS_HDR)
		return 0;
	r[2] |= FLAG_TC;
	if (qend == 0) {
		r[4] = r[5] = 0;
		qend = DNS_HDR;
	}
	memset(r + 6, 0, 6);
	return qend;
}

static bool is_exempt(const rrl_set_t *s, const struct sockaddr *src)
{
	int af;
	uint8_t a[16];
	if (geo_addr_from_sockaddr(src, &af, a) != GEO_OK)
		return false;
	for (size_t i = 0; i < s->conf.n_exempt; i++)
		if (geo_cidr_contains(&s->conf.exempt[i], af, a, geo_af_bits(af)))
			return true;
	return false;
}

/* A new account's entry in set: see the file comment for the order. */
static rrl_entry_t *victim(const rrl_set_t *s, rrl_entry_t *set, uint32_t now, rrl_stats_t *st)
{
	rrl_entry_t *best = NULL;
	uint32_t best_age = 0;
	bool best_lim = true;
	for (unsigned i = 0; i < RRL_WAYS; i++) {
		rrl_entry_t *e = &set[i];
		uint32_t age = now - e->stamp;
		if (e->tag == 0 || age > s->window_ms)
			return e;
		bool lim = (e->flags & ENTRY_LIMITED) != 0;
		if (best == NULL || (best_lim && !lim) || (lim == best_lim && age > best_age)) {
			best = e;
			best_age = age;
			best_lim = lim;
		}
	}
	STAT_INC(st->replaced);
	return best;
}

/*
 * The fast path: true when the response may go without looking at its account, because
 * its whole network is within the rate. A network's credit works like an account's, with
 * a sixteenth of the capacity; when it runs out, the network turns hot for the window
 * (renewed while it keeps running out) and its responses are charged to their accounts.
 * An account's responses are a part of its network's, so while the network stays within
 * the rate no account can exceed it; what a network sends on the fast path just before it
 * turns hot (at most a sixteenth of a second's worth) is not charged to the accounts.
 */
static bool net_fast(const rrl_set_t *s, unsigned worker, uint64_t h, uint32_t now)
{
	rrl_net_t *set = (rrl_net_t *)(void *)((uint8_t *)s->tables[worker] +
					       (size_t)RRL_TABLE_ENTRIES * sizeof(rrl_entry_t)) +
			 (size_t)(h & (RRL_NETS / RRL_WAYS - 1)) * RRL_WAYS;
	uint32_t tag = (uint32_t)(h >> 32) | 1u;
	rrl_net_t *n = NULL;
	for (unsigned i = 0; i < RRL_WAYS && n == NULL; i++)
		if (set[i].tag == tag)
			n = &set[i];
	if (n == NULL) {
		/* a free entry, else the oldest that is not hot, else the oldest */
		uint32_t best_age = 0;
		bool best_hot = true;
		for (unsigned i = 0; i < RRL_WAYS; i++) {
			rrl_net_t *x = &set[i];
			uint32_t age = now - x->stamp;
			bool hot = x->hot != 0 && (int32_t)(x->hot - now) > 0;
			if (x->tag == 0) {
				n = x;
				break;
			}
			if (n == NULL || (best_hot && !hot) || (hot == best_hot && age > best_age)) {
				n = x;
				best_age = age;
				best_hot = hot;
			}
		}
		n->tag = tag;
		n->credit = (uint32_t)s->net_cap;
		n->hot = 0;
	} else {
		uint64_t cr = n->credit + (uint64_t)(now - n->stamp) * s->refill;
		n->credit = (uint32_t)(cr > s->net_cap ? s->net_cap : cr);
		if (n->hot != 0 && (int32_t)(n->hot - now) <= 0)
			n->hot = 0;
	}
	n->stamp = now;
	if (n->credit >= s->cost) {
		n->credit -= (uint32_t)s->cost;
		return n->hot == 0;
	}
	n->hot = (now + s->window_ms) | 1u;
	return false;
}

size_t rrl_apply(rrl_set_t *s, rrl_t *r, unsigned worker, const struct sockaddr *src,
		 uint8_t *resp, size_t len, uint32_t now_ms)
{
	rrl_stats_t *st = &r->slots[worker].s;
	uint64_t h;
	if (src->sa_family == AF_INET) {
		uint32_t a;
		memcpy(&a, &((const struct sockaddr_in *)src)->sin_addr, 4);
		h = mum(s->seed[0] ^ K0 ^ AF_INET, (a & s->mask4) ^ s->seed[1]);
	} else if (src->sa_family == AF_INET6) {
		uint64_t a[2];
		memcpy(a, &((const struct sockaddr_in6 *)src)->sin6_addr, 16);
		h = mum(s->seed[0] ^ K0 ^ AF_INET6, (a[0] & s->mask6[0]) ^ s->seed[1]);
		h = mum(h ^ (a[1] & s->mask6[1]), K1);
	} else {
		return len;
	}
	if (s->conf.n_exempt > 0 && is_exempt(s, src)) {
		STAT_INC(st->exempt);
		return len;
	}
	STAT_INC(st->checked);
	if (net_fast(s, worker, h, now_ms))
		return len;
	STAT_INC(st->accounted);
	rrl_class_t c;
	classify(resp, len, &c);
	h = mum(h ^ ((uint64_t)c.kind << 16 | c.qtype), K0);
	if (c.name != NULL)
		h = hash_name(h, c.name, c.nlen);
	h = mum(h ^ s->seed[1], K0);

	rrl_entry_t *set = s->tables[worker] + (size_t)(h & (s->sets - 1)) * RRL_WAYS;
	uint32_t tag = (uint32_t)(h >> 32) | 1u;
	rrl_entry_t *e = NULL;
	for (unsigned i = 0; i < RRL_WAYS; i++) {
		if (set[i].tag == tag) {
			e = &set[i];
			break;
		}
	}
	if (e == NULL) {
		e = victim(s, set, now_ms, st);
		e->tag = tag;
		e->credit = (uint32_t)s->cap;
		e->slip = 0;
		e->flags = 0;
	} else {
		uint32_t dt = now_ms - e->stamp;
		if (dt > s->window_ms) {
			e->credit = (uint32_t)s->cap;
			e->slip = 0;
			e->flags = 0;
		} else if (dt > 0) {
			uint64_t cr = e->credit + (uint64_t)dt * s->refill;
			if (cr >= s->cap) {
				cr = s->cap;
				e->flags = 0;
			}
			e->credit = (uint32_t)cr;
		}
	}
	e->stamp = now_ms;
	if (e->credit >= s->cost) {
		e->credit -= (uint32_t)s->cost;
		return len;
	}
	e->flags = ENTRY_LIMITED;
	STAT_INC(st->limited[c.kind]);
	if (s->conf.slip > 0 && ++e->slip >= s->conf.slip) {
		e->slip = 0;
		STAT_INC(st->slipped);
		return slip_reply(resp, len, c.qend);
	}
	STAT_INC(st->dropped);
	return 0;
}
