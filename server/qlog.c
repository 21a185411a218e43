/* SPDX-License-Identifier: MIT */
/*
 * qlog.c -- the query log: per-worker rings drained by one logger thread.
 *
 * A ring is a power-of-two byte array with two free-running 64-bit positions: head (bytes
 * ever appended; the worker's) and tail (bytes ever consumed; the logger's). Records are
 * 8-byte aligned and carry their own length; a record never wraps: when it does not fit
 * before the end of the array, a pad record fills the rest and the record starts at 0.
 * The worker publishes a record with a release store of head and sees free space through
 * an acquire load of tail (cached, so it touches the logger's cache line only when its own
 * view says the ring is full); the logger does the mirror image. Neither ever waits.
 *
 * Records are binary (addresses, name in wire form, ids copied: the snapshot they point
 * into may be gone by the time the logger runs); formatting happens in the logger, which
 * writes a whole buffer (QLOG_OUT bytes, or what one pass over the rings found) per
 * write(2).
 *
 * Waking the logger: while it finds work it naps QLOG_NAP_NS between passes and workers
 * never call it. Once a pass finds nothing, it announces that it sleeps (sleeping = 1, a
 * full fence), looks at every ring once more and blocks on an eventfd; a worker that
 * appends then sees the flag and rings the eventfd once (the exchange lets one worker do
 * it). The worker has no fence between its store of head and its load of the flag (a
 * locked instruction per query would cost more than the rest of qlog_put), so in a rare
 * interleaving both sides read the old values; the logger's wait is therefore bounded by
 * QLOG_IDLE_MS, which bounds how late such a line can be (a later record wakes it sooner).
 */
#include "qlog.h"
#include "err.h"
#include "log.h"
#include "stats.h"
#include "zdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Output buffer of the logger: one write(2) when it is nearly full or a pass ends. */
#define QLOG_OUT (64u << 10)
/* Pause between passes while there is work: batches lines, bounds their delay. */
/* 1 ms: at full rate a pass drains ~25 KB, which stays in the cache the worker shares when
 * both run on one core (naps of 10 ms cost 1.117x log off there, 1 ms 1.085x). */
#define QLOG_NAP_NS 1000000L
/* Release consumed space to the worker at least every this many records. */
#define QLOG_RELEASE_EVERY 512
/* A warning about dropped lines at most this often. */
#define QLOG_WARN_SEC 60
/* Idle wait: the logger looks at the rings (see the file comment), its settings and the
 * drop counters this often anyway. */
#define QLOG_IDLE_MS 100

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* single writer: never a torn value for relaxed readers */
#define BUMP(x, n) STORE(x, LOAD(x) + (n))

enum { REC_PAD = 1, REC_QUERY = 2 };
enum {
	F_TCP = 1,       /* over TCP */
	F_QUESTION = 2,  /* has a question (qname, qtype) */
	F_ECS = 4,       /* has ECS */
	F_ECS6 = 8,      /* the ECS address is IPv6 */
	F_CLIENT4 = 16,  /* client is IPv4 (4 bytes of client) */
	F_CLIENT6 = 32,  /* client is IPv6 */
};

/* One record in a ring. 8-byte aligned; len covers header, data and padding. */
typedef struct rec {
	uint32_t len;          /* bytes to the next record, a multiple of 8 */
	uint8_t kind;          /* REC_PAD or REC_QUERY */
	uint8_t flags;         /* F_* */
	uint16_t qtype;        /* question type */
	uint64_t ts_ns;        /* CLOCK_REALTIME when the answer was made */
	uint8_t client[16];    /* resolver address */
	uint8_t ecs[16];       /* ECS address */
	uint8_t rcode;         /* response code */
	uint8_t policy;        /* enum zdb_policy */
	uint8_t ecs_prefix;    /* ECS source prefix */
	uint8_t qnamelen;      /* bytes of qname in data */
	uint8_t zonelen;       /* bytes of the zone id after it */
	uint8_t setlen;        /* bytes of the SetIdentifier after that */
	uint8_t data[];        /* qname (wire), zone id, set id */
} rec_t;

#define REC_MAX ((offsetof(rec_t, data) + (size_t)3 * 255 + 7) & ~(size_t)7)

struct qlog_ring {
	/* the worker's line */
	alignas(64) _Atomic uint64_t head; /* bytes appended; release by the worker */
	uint64_t cached_tail;  /* the worker's last view of tail */
	uint64_t queued;       /* records appended (worker writes, relaxed readers) */
	uint64_t dropped;      /* records dropped: ring full (worker writes, relaxed readers) */
	uint8_t *buf;          /* size bytes; fixed after qlog_new */
	size_t size;           /* a power of two */
	_Atomic int *sleeping; /* the logger's flag */
	int wake_fd;           /* the logger's eventfd */
	/* the logger's line */
	alignas(64) _Atomic uint64_t tail; /* bytes consumed; release by the logger */
};

/* Cached "YYYY-MM-DDTHH:MM:SS" of one second. */
typedef struct tcache {
	int64_t sec;           /* the second formatted, -1: none */
	char text[80];         /* its text (room for any int fields) */
	size_t len;            /* its length */
} tcache_t;

struct qlog {
	qlog_ring_t *rings;    /* one per worker */
	unsigned n;            /* how many */
	_Atomic int sleeping;  /* the logger blocks on wake_fd (see the file comment) */
	int wake_fd;           /* eventfd: new records after idle, settings, stop */
	pthread_t thread;      /* the logger */
	bool started;          /* thread created */
	_Atomic bool stop;     /* qlog_free: drain and end */

	/* Settings handed from the control thread; under mu. */
	pthread_mutex_t mu;
	_Atomic bool pending;  /* something below waits for the logger */
	int new_fd;            /* descriptor to switch to, or -1 */
	bool new_format_set;   /* new_format/new_server_id are set */
	int new_format;        /* enum qlog_format */
	char *new_server_id;   /* owned */

	/* The logger's own (and the control thread's before start / after join). */
	int fd;                /* where lines go */
	int format;            /* enum qlog_format */
	char *server_id;       /* edge location */
	char *out;             /* QLOG_OUT bytes */
	size_t out_len;        /* bytes in out */
	uint64_t out_lines;    /* lines in out */
	tcache_t tc;           /* timestamp cache */
	uint64_t warned_dropped; /* drops already reported */
	struct timespec warned_at; /* when, CLOCK_MONOTONIC; tv_sec 0: never */

	/* Counters: the logger writes, anyone reads relaxed. */
	uint64_t written, write_errors, lost, bytes, reopens;
};

/* ---- the worker's side -------------------------------------------------------------------- */

static size_t ids_len(const char *s)
{
	return s != NULL ? strnlen(s, 255) : 0;
}

/* Fill a record from an entry whose zone and set ids are zl and sl bytes long; rec has room
 * for REC_MAX bytes. Returns rec->len. */
static uint32_t rec_fill(rec_t *rec, const qlog_entry_t *e, uint64_t ts_ns, size_t zl, size_t sl)
{
	size_t ql = e->qname != NULL ? e->qnamelen : 0;
	uint8_t flags = e->tcp ? F_TCP : 0;

	rec->kind = REC_QUERY;
	rec->qtype = e->qtype;
	rec->ts_ns = ts_ns;
	rec->rcode = e->rcode;
	rec->policy = e->policy;
	rec->qnamelen = (uint8_t)ql;
	rec->zonelen = (uint8_t)zl;
	rec->setlen = (uint8_t)sl;
	if (e->qname != NULL)
		flags |= F_QUESTION;
	if (e->client != NULL && e->client->sa_family == AF_INET) {
		memcpy(rec->client, &((const struct sockaddr_in *)e->client)->sin_addr, 4);
		flags |= F_CLIENT4;
	} else if (e->client != NULL && e->client->sa_family == AF_INET6) {
		memcpy(rec->client, &((const struct sockaddr_in6 *)e->client)->sin6_addr, 16);
		flags |= F_CLIENT6;
	}
	if (e->ecs_addr != NULL) {
		flags |= F_ECS | (e->ecs_family == 1 ? 0 : F_ECS6);
		memcpy(rec->ecs, e->ecs_addr, e->ecs_family == 1 ? 4 : 16);
		rec->ecs_prefix = e->ecs_prefix;
	}
	rec->flags = flags;
	uint8_t *p = rec->data;
	if (ql > 0)
		memcpy(p, e->qname, ql);
	if (zl > 0)
		memcpy(p + ql, e->zone_id, zl);
	if (sl > 0)
		memcpy(p + ql + zl, e->set_id, sl);
	rec->len = (uint32_t)((offsetof(rec_t, data) + ql + zl + sl + 7) & ~(size_t)7);
	return rec->len;
}

uint64_t qlog_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool qlog_put(qlog_ring_t *r, const qlog_entry_t *e)
{
	size_t ql = e->qname != NULL ? e->qnamelen : 0;
	size_t zl = ids_len(e->zone_id), sl = ids_len(e->set_id);
	size_t need = (offsetof(rec_t, data) + ql + zl + sl + 7) & ~(size_t)7;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t pos = (size_t)head & (r->size - 1);
	size_t room = r->size - pos;
	size_t total = need <= room ? need : room + need;

	if (head + total - r->cached_tail > r->size) {
		r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + total - r->cached_tail > r->size) {
			BUMP(r->dropped, 1);
			return false;
		}
	}
	if (need > room) {
		rec_t *pad = (rec_t *)(void *)(r->buf + pos);
		pad->len = (uint32_t)room;
		pad->kind = REC_PAD;
		pos = 0;
	}
	rec_fill((rec_t *)(void *)(r->buf + pos), e, e->ts_ns != 0 ? e->ts_ns : qlog_now_ns(), zl,
		 sl);
	atomic_store_explicit(&r->head, head + total, memory_order_release);
	BUMP(r->queued, 1);
	/* The logger's going to sleep (file comment): no fence here, it would cost more than
	 * the rest of this function on every query. */
	if (atomic_load_explicit(r->sleeping, memory_order_relaxed) &&
	    atomic_exchange_explicit(r->sleeping, 0, memory_order_relaxed)) {
		uint64_t one = 1;
		ssize_t w = write(r->wake_fd, &one, sizeof(one));
		(void)w;
	}
	return true;
}

/* ---- formatting --------------------------------------------------------------------------- */

/* Name in presentation form, as the text log always wrote it ("www.example.com.", "." for
 * the root, \DDD for bytes outside printable ASCII and for '.' and '\' inside labels).
 * Bounded by len bytes of wire name and by out's QLOG_LINE_MAX / 4 room. */
/* A name byte written as it is: printable ASCII but '.' and '\\'. */
static inline bool plain(uint8_t c)
{
	return c > 32 && c < 127 && c != '.' && c != '\\';
}

static size_t name_str(const uint8_t *p, size_t len, char *out)
{
	size_t n = 0, i = 0;
	while (i < len && p[i] != 0 && n + 260 < 1100) {
		uint8_t l = p[i];
		if (i + 1 + l > len)
			break;
		const uint8_t *lab = p + i + 1;
		for (uint8_t k = 0; k < l; k++) {
			uint8_t c = lab[k];
			if (plain(c)) {
				out[n++] = (char)c;
			} else {
				out[n++] = '\\';
				out[n++] = (char)('0' + c / 100);
				out[n++] = (char)('0' + c / 10 % 10);
				out[n++] = (char)('0' + c % 10);
			}
		}
		out[n++] = '.';
		i += 1u + l;
	}
	if (n == 0)
		out[n++] = '.';
	out[n] = '\0';
	return n;
}

/* A string literal at p: its length is known at compile time. */
#define PUT_LIT(p, lit) put_bytes((p), (lit), sizeof(lit) - 1)

static size_t put_bytes(char *p, const void *b, size_t len)
{
	memcpy(p, b, len);
	return len;
}

static size_t put_str(char *p, const char *s)
{
	size_t l = strlen(s);
	memcpy(p, s, l); /* NOLINT(bugprone-not-null-terminated-result): part of a line */
	return l;
}

/* s in quotes: for values that never need escaping (addresses, mnemonics, the time). */
static size_t put_quoted(char *p, const char *s, size_t len)
{
	p[0] = '"';
	memcpy(p + 1, s, len);
	p[len + 1] = '"';
	return len + 2;
}

/* s as a JSON string (quotes included); s is at most 1100 bytes, so 6x fits a line. */
static size_t put_json_str(char *p, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;
	while (i < len && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' &&
	       s[i] != 0x7f)
		i++;
	if (i == len) /* the usual case: nothing to escape */
		return put_quoted(p, s, len);
	size_t n = 0;
	p[n++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			p[n++] = '\\';
			p[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(p + n, "\\u00", 4); /* NOLINT(bugprone-not-null-terminated-result) */
			p[n + 4] = hex[c >> 4];
			p[n + 5] = hex[c & 15];
			n += 6;
		} else {
			p[n++] = (char)c;
		}
	}
	p[n++] = '"';
	return n;
}

/* Decimal digits of v at p. */
static size_t put_uint(char *p, unsigned v)
{
	char tmp[10];
	size_t n = 0, k = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		p[k++] = tmp[--n];
	return k;
}

/* An address in presentation form ("192.0.2.1", "2001:db8::1"); IPv4 without printf. */
static size_t put_addr(char *p, const uint8_t *a, bool v6)
{
	if (!v6) {
		size_t n = 0;
		for (int i = 0; i < 4; i++) {
			if (i > 0)
				p[n++] = '.';
			n += put_uint(p + n, a[i]);
		}
		return n;
	}
	if (inet_ntop(AF_INET6, a, p, INET6_ADDRSTRLEN) == NULL)
		return PUT_LIT(p, "-");
	return strlen(p);
}

/* "2017-12-13T08:16:02.130Z" */
static size_t time_str(tcache_t *tc, uint64_t ts_ns, char *p)
{
	int64_t sec = (int64_t)(ts_ns / 1000000000u);
	unsigned ms = (unsigned)(ts_ns / 1000000u % 1000u);
	if (sec != tc->sec) {
		time_t t = (time_t)sec;
		struct tm tm;
		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		snprintf(tc->text, sizeof(tc->text), "%04d-%02d-%02dT%02d:%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
		tc->len = strlen(tc->text);
		tc->sec = sec;
	}
	memcpy(p, tc->text, tc->len);
	size_t n = tc->len;
	p[n++] = '.';
	p[n++] = (char)('0' + ms / 100);
	p[n++] = (char)('0' + ms / 10 % 10);
	p[n++] = (char)('0' + ms % 10);
	p[n++] = 'Z';
	return n;
}

/* A QTYPE's mnemonic ("AAAA", "ANY", "TYPE65280" for unknown ones). */
static size_t put_type(char *p, uint16_t t)
{
	/* QTYPEs only (RFC 1035 3.2.3, RFC 1995): not in ldns's table of RR types */
	static const char *const qtypes[] = { "IXFR", "AXFR", "MAILB", "MAILA", "ANY" };
	if (t >= 251 && t <= 255)
		return put_str(p, qtypes[t - 251]);
	const ldns_rr_descriptor *d = ldns_rr_descript(t);
	if (d != NULL && d->_type == t && d->_name != NULL)
		return put_str(p, d->_name);
	size_t n = PUT_LIT(p, "TYPE");
	return n + put_uint(p + n, t);
}

/* An RCODE's mnemonic ("NOERROR", "RCODE12" for unnamed ones). */
static size_t put_rcode(char *p, unsigned rc)
{
	const char *s = stats_rcode_name(rc);
	if (s != NULL)
		return put_str(p, s);
	size_t n = PUT_LIT(p, "RCODE");
	return n + put_uint(p + n, rc);
}

/* The resolver address, or "-". */
static size_t put_client(char *p, const rec_t *r)
{
	if (r->flags & (F_CLIENT4 | F_CLIENT6))
		return put_addr(p, r->client, (r->flags & F_CLIENT6) != 0);
	*p = '-';
	return 1;
}

/* The EDNS client subnet ("192.0.2.0/24"), or "-". */
static size_t put_subnet(char *p, const rec_t *r)
{
	if (!(r->flags & F_ECS)) {
		*p = '-';
		return 1;
	}
	size_t n = put_addr(p, r->ecs, (r->flags & F_ECS6) != 0);
	p[n++] = '/';
	return n + put_uint(p + n, r->ecs_prefix);
}

/* One record as one line (with '\n') at buf, which has QLOG_LINE_MAX bytes; no printf on
 * the logger's per-line path, and the text and route53 lines are written in place. */
static size_t format_rec(const rec_t *r, int format, const char *server_id, tcache_t *tc,
			 char *buf)
{
	bool q = (r->flags & F_QUESTION) != 0;
	const char *zone = (const char *)r->data + r->qnamelen;
	size_t zlen = r->zonelen;
	const char *set = zone + r->zonelen;
	const char *policy = zdb_policy_name(r->policy);
	const char *proto = (r->flags & F_TCP) ? "TCP" : "UDP";
	size_t n = 0;

	/* Route 53 prints the bare Id ("Z1D633PJN98FT9"); ours may carry the API's prefix. */
	if (zlen >= 12 && memcmp(zone, "/hostedzone/", 12) == 0) {
		zone += 12;
		zlen -= 12;
	}
	if (format == QLOG_TEXT) {
		n += PUT_LIT(buf + n, "query client=");
		n += put_client(buf + n, r);
		n += PUT_LIT(buf + n, " ecs=");
		n += put_subnet(buf + n, r);
		n += PUT_LIT(buf + n, " name=");
		n += q ? name_str(r->data, r->qnamelen, buf + n) : PUT_LIT(buf + n, "-");
		n += PUT_LIT(buf + n, " type=");
		n += put_uint(buf + n, q ? r->qtype : 0u);
		n += PUT_LIT(buf + n, " rcode=");
		n += put_uint(buf + n, r->rcode);
		n += PUT_LIT(buf + n, " policy=");
		n += put_str(buf + n, policy);
		n += PUT_LIT(buf + n, " set=");
		n += r->setlen > 0 ? put_bytes(buf + n, set, r->setlen) : PUT_LIT(buf + n, "-");
		buf[n++] = '\n';
		return n;
	}
	if (format == QLOG_ROUTE53) {
		n += PUT_LIT(buf + n, "1.0 ");
		n += time_str(tc, r->ts_ns, buf + n);
		buf[n++] = ' ';
		n += zlen > 0 ? put_bytes(buf + n, zone, zlen) : PUT_LIT(buf + n, "-");
		buf[n++] = ' ';
		if (q) {
			/* Route 53 writes names without the final dot; the root stays ".". */
			size_t l = name_str(r->data, r->qnamelen, buf + n);
			n += l > 1 ? l - 1 : l;
			buf[n++] = ' ';
			n += put_type(buf + n, r->qtype);
		} else {
			n += PUT_LIT(buf + n, "- -");
		}
		buf[n++] = ' ';
		n += put_rcode(buf + n, r->rcode);
		buf[n++] = ' ';
		n += (r->flags & F_TCP) ? PUT_LIT(buf + n, "TCP") : PUT_LIT(buf + n, "UDP");
		buf[n++] = ' ';
		n += put_str(buf + n, server_id);
		buf[n++] = ' ';
		n += put_client(buf + n, r);
		buf[n++] = ' ';
		n += put_subnet(buf + n, r);
		buf[n++] = '\n';
		return n;
	}

	/* JSON lines: Route 53's values under snake_case names, plus r53d's policy and set. */
	char client[INET6_ADDRSTRLEN], subnet[INET6_ADDRSTRLEN + 8], name[1104], type[24],
		rcode[24];
	size_t clen = put_client(client, r), slen = put_subnet(subnet, r), namelen = 0, tlen = 0;
	size_t rlen = put_rcode(rcode, r->rcode);
	if (q) {
		namelen = name_str(r->data, r->qnamelen, name);
		if (namelen > 1)
			namelen--;
		tlen = put_type(type, r->qtype);
	}
	n += PUT_LIT(buf + n, "{\"version\":\"1.0\",\"query_timestamp\":\"");
	n += time_str(tc, r->ts_ns, buf + n);
	n += PUT_LIT(buf + n, "\",\"hosted_zone_id\":");
	n += zlen > 0 ? put_json_str(buf + n, zone, zlen) : PUT_LIT(buf + n, "null");
	n += PUT_LIT(buf + n, ",\"query_name\":");
	n += q ? put_json_str(buf + n, name, namelen) : PUT_LIT(buf + n, "null");
	n += PUT_LIT(buf + n, ",\"query_type\":");
	n += q ? put_quoted(buf + n, type, tlen) : PUT_LIT(buf + n, "null");
	n += PUT_LIT(buf + n, ",\"response_code\":");
	n += put_quoted(buf + n, rcode, rlen);
	n += PUT_LIT(buf + n, ",\"protocol\":");
	n += put_quoted(buf + n, proto, 3);
	n += PUT_LIT(buf + n, ",\"edge_location\":");
	n += put_json_str(buf + n, server_id, strlen(server_id));
	n += PUT_LIT(buf + n, ",\"resolver_ip\":");
	n += client[0] != '-' ? put_quoted(buf + n, client, clen) : PUT_LIT(buf + n, "null");
	n += PUT_LIT(buf + n, ",\"edns_client_subnet\":");
	n += subnet[0] != '-' ? put_quoted(buf + n, subnet, slen) : PUT_LIT(buf + n, "null");
	n += PUT_LIT(buf + n, ",\"policy\":");
	n += put_quoted(buf + n, policy, strlen(policy));
	n += PUT_LIT(buf + n, ",\"set_identifier\":");
	n += r->setlen ? put_json_str(buf + n, set, r->setlen) : PUT_LIT(buf + n, "null");
	n += PUT_LIT(buf + n, "}\n");
	return n;
}

size_t qlog_format_entry(const qlog_entry_t *e, int format, const char *server_id,
			 uint64_t ts_ns, char *buf)
{
	union {
		rec_t r;
		uint8_t bytes[REC_MAX];
	} u;
	tcache_t tc = { .sec = -1 };
	memset(&u.r, 0, sizeof(u.r));
	rec_fill(&u.r, e, ts_ns, ids_len(e->zone_id), ids_len(e->set_id));
	return format_rec(&u.r, format, server_id != NULL ? server_id : "r53d", &tc, buf);
}

int qlog_format_parse(const char *name, int *format)
{
	static const char *const names[] = { [QLOG_TEXT] = "text", [QLOG_JSON] = "json",
					     [QLOG_ROUTE53] = "route53" };
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(name, names[i]) == 0) {
			*format = i;
			return ERR_OK;
		}
	return ERR_INVAL;
}

/* ---- the logger --------------------------------------------------------------------------- */

/* Write out the buffer; a failure loses its lines (counted), never blocks the workers. */
static void flush(qlog_t *l)
{
	size_t off = 0;
	while (off < l->out_len) {
		ssize_t w = write(l->fd, l->out + off, l->out_len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			BUMP(l->write_errors, 1);
			BUMP(l->lost, l->out_lines);
			l->out_lines = 0;
			break;
		}
		off += (size_t)w;
	}
	BUMP(l->written, l->out_lines);
	BUMP(l->bytes, off);
	l->out_len = 0;
	l->out_lines = 0;
}

/* Format what ring r holds now. Returns records consumed. */
static size_t drain_ring(qlog_t *l, qlog_ring_t *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = 0;
	while (tail != head) {
		const rec_t *rec = (const rec_t *)(const void *)(r->buf + ((size_t)tail & (r->size - 1)));
		if (rec->kind == REC_QUERY) {
			if (QLOG_OUT - l->out_len < QLOG_LINE_MAX)
				flush(l);
			l->out_len += format_rec(rec, l->format, l->server_id, &l->tc,
						 l->out + l->out_len);
			l->out_lines++;
			n++;
		}
		tail += rec->len;
		if (n % QLOG_RELEASE_EVERY == 0)
			atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	return n;
}

static bool rings_empty(qlog_t *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (atomic_load_explicit(&l->rings[i].head, memory_order_acquire) !=
		    atomic_load_explicit(&l->rings[i].tail, memory_order_relaxed))
			return false;
	return true;
}

/* Apply settings the control thread handed over. */
static void apply_pending(qlog_t *l)
{
	if (!atomic_exchange_explicit(&l->pending, false, memory_order_acquire))
		return;
	pthread_mutex_lock(&l->mu);
	int fd = l->new_fd;
	bool fmt = l->new_format_set;
	int format = l->new_format;
	char *sid = l->new_server_id;
	l->new_fd = -1;
	l->new_format_set = false;
	l->new_server_id = NULL;
	pthread_mutex_unlock(&l->mu);

	flush(l); /* what was formatted goes where and as it was */
	if (fd >= 0) {
		if (l->fd > STDERR_FILENO && l->fd != fd)
			close(l->fd);
		l->fd = fd;
		BUMP(l->reopens, 1);
	}
	if (fmt) {
		l->format = format;
		free(l->server_id);
		l->server_id = sid;
	}
}

/* The once-a-minute warning about lines dropped at full rings. */
static void report_drops(qlog_t *l)
{
	uint64_t d = 0;
	for (unsigned i = 0; i < l->n; i++)
		d += LOAD(l->rings[i].dropped);
	if (d == l->warned_dropped)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (l->warned_at.tv_sec != 0 && now.tv_sec - l->warned_at.tv_sec < QLOG_WARN_SEC)
		return;
	log_msg(LOG_WARNING, "query log: %" PRIu64 " lines dropped (%" PRIu64 " in all): the "
			     "rings were full, the log cannot keep up with the queries",
		d - l->warned_dropped, d);
	l->warned_dropped = d;
	l->warned_at = now;
	if (l->warned_at.tv_sec == 0)
		l->warned_at.tv_sec = 1;
}

static void *logger_main(void *arg)
{
	qlog_t *l = arg;
	for (;;) {
		/* Read before the pass: once the stop is seen, the pass that follows finds
		 * every record the (joined) workers appended. */
		bool stopping = atomic_load_explicit(&l->stop, memory_order_acquire);
		apply_pending(l);
		size_t n = 0;
		for (unsigned i = 0; i < l->n; i++)
			n += drain_ring(l, &l->rings[i]);
		flush(l);
		report_drops(l);
		if (stopping)
			break;
		if (n > 0) {
			struct timespec nap = { 0, QLOG_NAP_NS };
			nanosleep(&nap, NULL);
			continue;
		}
		atomic_store_explicit(&l->sleeping, 1, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		if (rings_empty(l) && !atomic_load_explicit(&l->pending, memory_order_relaxed) &&
		    !atomic_load_explicit(&l->stop, memory_order_relaxed)) {
			struct pollfd pfd = { .fd = l->wake_fd, .events = POLLIN };
			(void)poll(&pfd, 1, QLOG_IDLE_MS);
		}
		atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
		uint64_t v;
		ssize_t r = read(l->wake_fd, &v, sizeof(v)); /* non-blocking: clears it */
		(void)r;
	}
	return NULL;
}

static void wake(qlog_t *l)
{
	uint64_t one = 1;
	ssize_t w = write(l->wake_fd, &one, sizeof(one));
	(void)w;
}

/* ---- life cycle --------------------------------------------------------------------------- */

int qlog_new(const qlog_opts_t *o, qlog_t **out)
{
	*out = NULL;
	if (o->rings == 0)
		return ERR_INVAL;
	size_t size = 4096;
	size_t want = o->ring_bytes ? o->ring_bytes : QLOG_RING_DEFAULT;
	while (size < want && size < ((size_t)1 << 31))
		size <<= 1;
	qlog_t *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return ERR_NOMEM;
	l->fd = -1;
	l->wake_fd = -1;
	l->new_fd = -1;
	l->tc.sec = -1;
	pthread_mutex_init(&l->mu, NULL);
	l->server_id = strndup(o->server_id != NULL ? o->server_id : "r53d", 255);
	l->out = malloc(QLOG_OUT);
	l->rings = aligned_alloc(64, sizeof(*l->rings) * o->rings);
	if (l->server_id == NULL || l->out == NULL || l->rings == NULL)
		goto nomem;
	memset(l->rings, 0, sizeof(*l->rings) * o->rings);
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wake_fd < 0) {
		qlog_free(l);
		return ERR_SYS;
	}
	for (unsigned i = 0; i < o->rings; i++) {
		qlog_ring_t *r = &l->rings[i];
		r->buf = malloc(size);
		if (r->buf == NULL)
			goto nomem;
		l->n = i + 1;
		r->size = size;
		r->sleeping = &l->sleeping;
		r->wake_fd = l->wake_fd;
	}
	l->n = o->rings;
	l->format = o->format;
	l->fd = o->fd;
	*out = l;
	return ERR_OK;
nomem:
	qlog_free(l);
	return ERR_NOMEM;
}

qlog_ring_t *qlog_ring(qlog_t *l, unsigned i)
{
	return i < l->n ? &l->rings[i] : NULL;
}

int qlog_start(qlog_t *l)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&l->thread, NULL, logger_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_msg(LOG_ERR, "query log: cannot start the logger thread: %s", strerror(rc));
		return ERR_SYS;
	}
	pthread_setname_np(l->thread, "r53d-qlog");
	l->started = true;
	return ERR_OK;
}

void qlog_reopen(qlog_t *l, int fd)
{
	pthread_mutex_lock(&l->mu);
	if (l->new_fd > STDERR_FILENO && l->new_fd != fd)
		close(l->new_fd); /* two reopens before the logger saw the first */
	l->new_fd = fd;
	atomic_store_explicit(&l->pending, true, memory_order_release);
	pthread_mutex_unlock(&l->mu);
	wake(l);
}

int qlog_set_format(qlog_t *l, int format, const char *server_id)
{
	char *sid = strndup(server_id != NULL ? server_id : "r53d", 255);
	if (sid == NULL)
		return ERR_NOMEM;
	pthread_mutex_lock(&l->mu);
	free(l->new_server_id);
	l->new_server_id = sid;
	l->new_format = format;
	l->new_format_set = true;
	atomic_store_explicit(&l->pending, true, memory_order_release);
	pthread_mutex_unlock(&l->mu);
	wake(l);
	return ERR_OK;
}

void qlog_stats(const qlog_t *l, qlog_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < l->n; i++) {
		st->queued += LOAD(l->rings[i].queued);
		st->dropped += LOAD(l->rings[i].dropped);
	}
	st->written = LOAD(l->written);
	st->write_errors = LOAD(l->write_errors);
	st->lost = LOAD(l->lost);
	st->bytes = LOAD(l->bytes);
	st->reopens = LOAD(l->reopens);
}

void qlog_free(qlog_t *l)
{
	if (l == NULL)
		return;
	if (l->started) {
		atomic_store_explicit(&l->stop, true, memory_order_release);
		wake(l);
		pthread_join(l->thread, NULL);
	} else if (l->out != NULL) {
		apply_pending(l);
		for (unsigned i = 0; i < l->n; i++)
			drain_ring(l, &l->rings[i]);
		flush(l);
	}
	if (l->new_fd > STDERR_FILENO && l->new_fd != l->fd)
		close(l->new_fd);
	if (l->fd > STDERR_FILENO)
		close(l->fd);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	for (unsigned i = 0; l->rings != NULL && i < l->n; i++)
		free(l->rings[i].buf);
	free(l->rings);
	free(l->out);
	free(l->server_id);
	free(l->new_server_id);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
