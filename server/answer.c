/* SPDX-License-Identifier: MIT */
/*
 * answer.c -- one query in, one response out.
 *
 * answer_build() parses, decides the rcode for protocol-level cases (FORMERR, NOTIMP,
 * BADVERS, REFUSED for classes and transfers, CHAOS), hands IN questions to
 * zdb_answer(), signs the answer for a DO query to a signed zone (zsign_answer), then
 * finishes the header and appends OPT. Every outcome passes through finish(): the single
 * place where flags, counts and counters are set.
 */
#include "answer.h"
#include "acache.h"
#include "dnssec.h"
#include "geo.h"
#include "qlog.h"
#include "query.h"
#include "wire.h"
#include "zanswer.h"
#include "zsign.h"

#include <ldns/ldns.h>
#include <arpa/inet.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The counters have one writer (this worker) and are read by the admin thread (stats.c):
 * relaxed atomic load and store, no read-modify-write (same as WORKER_STAT_INC). */
#define ANS_INC(c) \
	__atomic_store_n(&(c), __atomic_load_n(&(c), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED)

#define OPT_RR_LEN 11
#define OPT_NSID 3
#define RCODE_BADVERS 16
#define CLASS_CH 3
#define OPT_FLAG_DO 0x80 /* the high byte of the OPT flags (RFC 3225) */
#define OPT_FLAG_CO 0x40 /* Compact Answers OK (RFC 9824 5) */

void answer_ctx_init(answer_ctx_t *ctx, uint64_t seed)
{
	memset(ctx, 0, sizeof(*ctx));
	/* splitmix64 to spread the seed; the state must not be all zero */
	for (int i = 0; i < 2; i++) {
		uint64_t z = (seed += 0x9E3779B97F4A7C15ULL);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		ctx->rng[i] = z ^ (z >> 31);
	}
	if (ctx->rng[0] == 0 && ctx->rng[1] == 0)
		ctx->rng[0] = 1;
	ctx->qlog_fd = -1;
}

/*
 * One query-log record: client, ECS, name, type, rcode, protocol, zone, policy, chosen
 * SetIdentifier. Only called when the log is on. Into the worker's ring (qlog.h: no
 * formatting, no system call here), or as one text line written at once (ctx->qlog_fd).
 */
static void qlog(const answer_ctx_t *ctx, const query_t *q, const struct sockaddr *src,
		 const geo_ecs_t *ecs, const zresult_t *res, unsigned rcode, bool tcp)
{
	qlog_entry_t e = {
		.client = src,
		.ecs_addr = ecs != NULL ? ecs->addr : NULL,
		.ecs_family = ecs != NULL ? (uint8_t)ecs->family : 0,
		.ecs_prefix = ecs != NULL ? ecs->source_prefix : 0,
		.qname = q->has_question ? q->zq.qname : NULL,
		.qnamelen = q->has_question ? (uint8_t)q->zq.qnamelen : 0,
		.qtype = q->has_question ? q->zq.qtype : 0,
		.rcode = (uint8_t)rcode,
		.policy = res->policy,
		.tcp = tcp,
		.zone_id = res->zone_id,
		.set_id = res->chosen,
		.ts_ns = tcp ? 0 : ctx->qlog_ns,
	};
	if (ctx->qlog != NULL) {
		qlog_put(ctx->qlog, &e);
		return;
	}
	char line[QLOG_LINE_MAX];
	size_t len = qlog_format_entry(&e, QLOG_TEXT, NULL, 0, line);
	ssize_t w = write(ctx->qlog_fd, line, len);
	(void)w;
}

/* The query-log record of an answer from the cache: the query parsed again (the same bytes
 * as one that parsed before), zone, policy and set from the cache entry. */
static void qlog_hit(const answer_ctx_t *ctx, const uint8_t *pkt, size_t len,
		     const struct sockaddr *src, const acache_info_t *ci)
{
	query_t q;
	geo_ecs_t ecs;
	const geo_ecs_t *ecsp = NULL;
	zresult_t res = { .policy = ci->policy, .chosen = ci->chosen, .zone_id = ci->zone_id };
	if (query_parse(pkt, len, &q) == QP_DROP)
		return;
	if (q.ecs != NULL && geo_ecs_parse(q.ecs, q.ecs_len, &ecs) == GEO_OK)
		ecsp = &ecs;
	qlog(ctx, &q, src, ecsp, &res, ci->rcode, false);
}

/* CHAOS TXT for version.bind / id.server and friends; false: refuse. */
static bool chaos(const zdb_opts_t *opts, const query_t *q, wire_t *w, zresult_t *res)
{
	static const uint8_t version_bind[] = "\7version\4bind";
	static const uint8_t version_server[] = "\7version\6server";
	static const uint8_t id_server[] = "\2id\6server";
	static const uint8_t hostname_bind[] = "\10hostname\4bind";
	const zq_t *z = &q->zq;
	const char *text = NULL;

	if (z->qtype != LDNS_RR_TYPE_TXT && z->qtype != LDNS_RR_TYPE_ANY)
		return false;
#define IS(n) (z->qnamelen == sizeof(n) && memcmp(z->qname, n, sizeof(n)) == 0)
	if (IS(version_bind) || IS(version_server))
		text = opts->chaos_version;
	else if (IS(id_server) || IS(hostname_bind))
		text = opts->chaos_id;
#undef IS
	if (text == NULL)
		return false;
	uint8_t rd[256];
	size_t tl = strlen(text);
	if (tl > 255)
		tl = 255;
	rd[0] = (uint8_t)tl;
	memcpy(rd + 1, text, tl); /* NOLINT(bugprone-not-null-terminated-result): TXT data */
	if (wire_put_rr(w, WIRE_HDR, NULL, LDNS_RR_TYPE_TXT, CLASS_CH, 0, 0, rd,
			(uint16_t)(tl + 1)))
		res->an = 1;
	else
		res->tc = true;
	res->aa = true;
	return true;
}

uint32_t answer_sign_window_at(uint64_t now)
{
	dnssec_validity_t v;
	dnssec_validity_at(now, DNSSEC_WINDOW_PERIOD, DNSSEC_WINDOW_SKEW, DNSSEC_WINDOW_LIFETIME,
			   &v);
	return v.inception;
}

/* Responses in the cache were signed in ctx->sign_window; a new window empties it. */
static void sign_window_is(answer_ctx_t *ctx, uint32_t window)
{
	if (window == ctx->sign_window)
		return;
	if (ctx->cache != NULL)
		acache_clear(ctx->cache);
	ctx->sign_window = window;
}

void answer_sign_tick(answer_ctx_t *ctx, uint64_t now)
{
	if (ctx->sign != NULL && ctx->cache != NULL)
		sign_window_is(ctx, answer_sign_window_at(now));
}

/* Sign what zdb_answer wrote (a DO query, a signed zone): one coarse clock read. */
static void sign(answer_ctx_t *ctx, const zdb_t *db, const query_t *q, wire_t *w,
		 size_t qend, zresult_t *res)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0)
		ts.tv_sec = time(NULL);
	zsign_answer(ctx->sign, db, &q->zq, q->edns_co, w, qend, res, (uint64_t)ts.tv_sec);
	sign_window_is(ctx, zsign_window(ctx->sign));
}

/* co: echo the CO flag (asked, and the answer was signed: RFC 9824 5). */
static size_t finish(answer_ctx_t *ctx, const zdb_opts_t *opts, const query_t *q, wire_t *w,
		     const zresult_t *res, unsigned rcode, bool with_opt, bool co,
		     const geo_ecs_t *ecs)
{
	uint8_t *h = w->buf;
	wire_set16(h, q->id);
	h[2] = (uint8_t)(0x80 | (q->opcode << 3) | (res->aa ? 0x04 : 0) | (res->tc ? 0x02 : 0) |
			 (q->rd ? 0x01 : 0));
	h[3] = (uint8_t)((q->cd ? 0x10 : 0) | (rcode & 0x0F));
	wire_set16(h + 4, q->has_question ? 1 : 0);
	wire_set16(h + 6, res->an);
	wire_set16(h + 8, res->ns);
	uint16_t ar = res->ar;
	if (with_opt) {
		/* room for OPT was kept out of w->limit */
		uint8_t *o = w->buf + w->len;
		o[0] = 0;
		wire_set16(o + 1, 41);
		wire_set16(o + 3, opts->edns_udp_size);
		o[5] = (uint8_t)(rcode >> 4);
		o[6] = 0;
		o[7] = (uint8_t)((q->edns_do ? OPT_FLAG_DO : 0) | (co ? OPT_FLAG_CO : 0));
		o[8] = 0;
		wire_set16(o + 9, 0);
		w->len += OPT_RR_LEN;
		ar++;
		size_t rdlen = 0;
		/* NSID (RFC 5001 2.2): only when asked for; room kept out of w->limit */
		if (q->nsid && opts->nsid != NULL) {
			uint8_t *p = w->buf + w->len;
			wire_set16(p, OPT_NSID);
			wire_set16(p + 2, opts->nsid_len);
			memcpy(p + 4, opts->nsid, opts->nsid_len);
			w->len += 4u + opts->nsid_len;
			rdlen += 4u + opts->nsid_len;
		}
		/* ECS (RFC 7871, spec ECS-5): echo with the scope the answer depended on; not
		 * for private zones. Room for it was kept out of w->limit too. */
		size_t el = 0;
		if (ecs != NULL && !res->private_zone &&
		    geo_ecs_write(ecs, geo_ecs_scope(ecs, res->location_used, false),
				  w->buf + w->len, GEO_ECS_MAX_WIRE, &el) == GEO_OK) {
			w->len += el;
			rdlen += el;
		}
		wire_set16(o + 9, (uint16_t)rdlen);
	}
	wire_set16(h + 10, ar);
	ANS_INC(ctx->stats.rcode[rcode < ANSWER_RCODES ? rcode : ANSWER_RCODES - 1]);
	ANS_INC(ctx->stats.policy[res->policy < 9 ? res->policy : 0]);
	if (res->tc)
		ANS_INC(ctx->stats.truncated);
	return w->len;
}

size_t answer_build(answer_ctx_t *ctx, const zdb_t *db, const uint8_t *pkt, size_t len,
		    uint8_t *out, size_t outcap, const struct sockaddr *src, bool tcp)
{
	const zdb_opts_t *opts = zdb_options(db);
	query_t q;
	zresult_t res;
	wire_t w;
	unsigned rcode = LDNS_RCODE_NOERROR;
	bool co = false, is_signed = false;

	geo_ecs_t ecs;
	const geo_ecs_t *ecsp = NULL;

	/* The same query bytes from the same view: the response kept in the cache. */
	int view = -1;
	bool cache = ctx->cache != NULL && !tcp && outcap >= 512 && ctx->qlog_fd < 0;
	if (cache) {
		acache_info_t ci;
		view = zdb_answer_view(db, src);
		size_t n = acache_answer(ctx->cache, db, pkt, len, view, ctx->rng, out, outcap, &ci);
		if (n != 0) {
			ANS_INC(ctx->stats.queries);
			ANS_INC(ctx->stats.cached);
			ANS_INC(ctx->stats.rcode[ci.rcode < ANSWER_RCODES ? ci.rcode : ANSWER_RCODES - 1]);
			ANS_INC(ctx->stats.policy[ci.policy < 9 ? ci.policy : 0]);
			if (ci.tc)
				ANS_INC(ctx->stats.truncated);
			if (ctx->qlog != NULL)
				qlog_hit(ctx, pkt, len, src, &ci);
			return n;
		}
	}

	ANS_INC(ctx->stats.queries);
	if (tcp)
		ANS_INC(ctx->stats.tcp);
	int st = query_parse(pkt, len, &q);
	if (st == QP_DROP || outcap < 512) {
		ANS_INC(ctx->stats.dropped);
		return 0;
	}
	q.zq.tcp = tcp;
	q.zq.src = src;
	q.zq.ecs = NULL;
	memset(&res, 0, sizeof(res));
	if (st == QP_OK && q.ecs != NULL) {
		if (geo_ecs_parse(q.ecs, q.ecs_len, &ecs) != GEO_OK)
			st = QP_FORMERR; /* RFC 7871 7.1.1, spec ECS-5.4 */
		else
			q.zq.ecs = ecsp = &ecs;
	}

	/* Header and (when it parsed) the question, byte for byte: case is preserved. */
	size_t qlen = q.has_question ? q.qend - WIRE_HDR : 0;
	memcpy(out + WIRE_HDR, pkt + WIRE_HDR, qlen);
	size_t limit = outcap;
	if (!tcp) {
		size_t udp = q.edns ? q.edns_size : 512;
		if (udp > opts->edns_udp_size)
			udp = opts->edns_udp_size;
		if (udp < 512)
			udp = 512;
		if (limit > udp)
			limit = udp;
	}
	bool with_opt = q.edns && (st == QP_OK || st == QP_BADVERS);
	size_t reserve = with_opt ? OPT_RR_LEN + (ecsp ? geo_ecs_wire_len(ecsp) : 0) : 0;
	if (with_opt && q.nsid && opts->nsid != NULL)
		reserve += 4u + opts->nsid_len;
	wire_init(&w, out, WIRE_HDR + qlen, limit - reserve);

	switch (st) {
	case QP_FORMERR:
		rcode = LDNS_RCODE_FORMERR;
		break;
	case QP_NOTIMP:
		rcode = LDNS_RCODE_NOTIMPL;
		break;
	case QP_BADVERS:
		rcode = RCODE_BADVERS;
		break;
	default: {
		uint16_t qt = q.zq.qtype, qc = q.zq.qclass;
		if (qt == DNSSEC_TYPE_NXNAME) {
			rcode = LDNS_RCODE_FORMERR; /* RFC 9824 3.5 */
		} else if (qc == CLASS_CH) {
			if (!chaos(opts, &q, &w, &res))
				rcode = LDNS_RCODE_REFUSED;
		} else if ((qc != LDNS_RR_CLASS_IN && qc != LDNS_RR_CLASS_ANY) ||
			   qt == LDNS_RR_TYPE_AXFR || qt == LDNS_RR_TYPE_IXFR) {
			rcode = LDNS_RCODE_REFUSED; /* no transfers (spec NEG-8) */
		} else {
			wire_remember(&w, WIRE_HDR, q.zq.qname);
			zdb_answer(db, &q.zq, ctx->rng, &w, &res);
			if (q.edns_do && ctx->sign != NULL && zsign_wanted(&res)) {
				sign(ctx, db, &q, &w, WIRE_HDR + qlen, &res);
				is_signed = true;
				co = q.edns_co;
			}
			rcode = res.rcode;
		}
		break;
	}
	}
	size_t n = finish(ctx, opts, &q, &w, &res, rcode, with_opt, co, ecsp);
	/* kept: a response that is a function of the bytes, the view and the health words,
	 * or of those and one chance decision about the query name that a hit takes again */
	bool fixed = !res.dynamic || (!res.random && !res.src_dependent && !res.deps_overflow);
	/* a signing failure (SERVFAIL) is answered, never kept: the next query signs again */
	if (is_signed && rcode == LDNS_RCODE_SERVFAIL)
		cache = false;
	bool redo = res.dynamic && res.random && res.decided != NULL && res.n_decisions == 1 &&
		    !res.location_used && !res.src_dependent && !res.deps_overflow &&
		    res.policy != POL_MULTIVALUE;
	if (cache && (fixed || redo)) {
		acache_info_t ci = { .rcode = (uint8_t)rcode, .policy = res.policy, .tc = res.tc,
				     .n_deps = res.n_deps, .dep_slot = res.dep_slot,
				     .dep_word = res.dep_word, .zone_id = res.zone_id,
				     .chosen = res.chosen, .decided = redo ? res.decided : NULL,
				     .outcome = redo ? res.outcome : 0,
				     .private_zone = res.private_zone };
		acache_store(ctx->cache, db, pkt, len, view, out, n,
			     q.has_question ? q.qend : WIRE_HDR, &ci);
	}
	if (ctx->qlog != NULL || ctx->qlog_fd >= 0)
		qlog(ctx, &q, src, ecsp, &res, rcode, tcp);
	return n;
}
