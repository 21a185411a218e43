/* SPDX-License-Identifier: MIT */
/*
 * answer.c -- one query in, one response out.
 *
 * answer_build() parses, decides the rcode for protocol-level cases (FORMERR, NOTIMP,
 * BADVERS, REFUSED for classes and transfers, CHAOS), hands IN questions to
 * zdb_answer(), then finishes the header and appends OPT. Every outcome passes through
 * finish(): the single place where flags, counts and counters are set.
 */
#include "answer.h"
#include "geo.h"
#include "query.h"
#include "wire.h"
#include "zanswer.h"

#include <ldns/ldns.h>
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#define OPT_RR_LEN 11
#define OPT_NSID 3
#define RCODE_BADVERS 16
#define CLASS_CH 3

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
 * One query-log line: client, ECS, name, type, rcode, policy, chosen SetIdentifier.
 * Only called when the log is on; one write(2) per line, so lines never interleave.
 */
static void qlog(const answer_ctx_t *ctx, const query_t *q, const struct sockaddr *src,
		 const geo_ecs_t *ecs, const zresult_t *res, unsigned rcode)
{
	char line[768], client[INET6_ADDRSTRLEN + 8] = "-", subnet[INET6_ADDRSTRLEN + 8] = "-";
	char name[1100] = "-";
	if (src != NULL && src->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)src)->sin_addr, client, sizeof(client));
	else if (src != NULL && src->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)src)->sin6_addr, client, sizeof(client));
	if (ecs != NULL) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(ecs->family == 1 ? AF_INET : AF_INET6, ecs->addr, a, sizeof(a));
		snprintf(subnet, sizeof(subnet), "%s/%u", a, ecs->source_prefix);
	}
	if (q->has_question) {
		size_t n = 0;
		const uint8_t *p = q->zq.qname;
		while (*p != 0 && n + 260 < sizeof(name)) {
			for (uint8_t i = 1; i <= *p; i++) {
				uint8_t c = p[i];
				if (c > 32 && c < 127 && c != '.' && c != '\\')
					name[n++] = (char)c;
				else
					n += (size_t)snprintf(name + n, sizeof(name) - n, "\\%03u", c);
			}
			name[n++] = '.';
			p += *p + 1;
		}
		if (n == 0)
			name[n++] = '.';
		name[n] = '\0';
	}
	int len = snprintf(line, sizeof(line), "query client=%s ecs=%s name=%s type=%u rcode=%u policy=%s set=%s\n",
			   client, subnet, name, q->has_question ? (unsigned)q->zq.qtype : 0u, rcode,
			   zdb_policy_name(res->policy), res->chosen ? res->chosen : "-");
	if (len > 0) {
		ssize_t w = write(ctx->qlog_fd, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
		(void)w;
	}
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

static size_t finish(answer_ctx_t *ctx, const zdb_opts_t *opts, const query_t *q, wire_t *w,
		     const zresult_t *res, unsigned rcode, bool with_opt, const geo_ecs_t *ecs)
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
		o[7] = q->edns_do ? 0x80 : 0;
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
	ctx->stats.rcode[rcode < ANSWER_RCODES ? rcode : ANSWER_RCODES - 1]++;
	ctx->stats.policy[res->policy < 9 ? res->policy : 0]++;
	if (res->tc)
		ctx->stats.truncated++;
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

	geo_ecs_t ecs;
	const geo_ecs_t *ecsp = NULL;

	ctx->stats.queries++;
	if (tcp)
		ctx->stats.tcp++;
	int st = query_parse(pkt, len, &q);
	if (st == QP_DROP || outcap < 512) {
		ctx->stats.dropped++;
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
		if (qc == CLASS_CH) {
			if (!chaos(opts, &q, &w, &res))
				rcode = LDNS_RCODE_REFUSED;
		} else if ((qc != LDNS_RR_CLASS_IN && qc != LDNS_RR_CLASS_ANY) ||
			   qt == LDNS_RR_TYPE_AXFR || qt == LDNS_RR_TYPE_IXFR) {
			rcode = LDNS_RCODE_REFUSED; /* no transfers (spec NEG-8) */
		} else {
			wire_remember(&w, WIRE_HDR, q.zq.qname);
			zdb_answer(db, &q.zq, ctx->rng, &w, &res);
			rcode = res.rcode;
		}
		break;
	}
	}
	size_t n = finish(ctx, opts, &q, &w, &res, rcode, with_opt, ecsp);
	if (ctx->qlog_fd >= 0)
		qlog(ctx, &q, src, ecsp, &res, rcode);
	return n;
}
