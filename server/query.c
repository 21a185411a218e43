/* SPDX-License-Identifier: MIT */
/*
 * query.c -- the query parser: header, question, OPT (RFC 1035 4.1, RFC 6891).
 */
#include "query.h"

#include <string.h>

#define T_OPT 41
#define OPT_NSID 3
#define OPT_ECS 8
#define EDNS_DO 0x8000u /* RFC 3225 */
#define EDNS_CO 0x4000u /* RFC 9824 5 */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

/* Skip a possibly compressed name in an additional record; 0 on error. */
static size_t skip_name(const uint8_t *pkt, size_t len, size_t off)
{
	size_t total = 0;
	while (off < len) {
		uint8_t l = pkt[off];
		if ((l & 0xC0) == 0xC0)
			return off + 2 <= len ? off + 2 : 0;
		if (l > 63)
			return 0;
		total += (size_t)l + 1;
		if (total > 255)
			return 0;
		off += (size_t)l + 1;
		if (l == 0)
			return off <= len ? off : 0;
	}
	return 0;
}

/* The question name: no compression, lower-cased copy, label offsets. */
static int parse_qname(const uint8_t *pkt, size_t len, size_t *offp, zq_t *zq)
{
	size_t off = *offp, n = 0;
	uint8_t labels = 0;
	for (;;) {
		if (off >= len)
			return QP_FORMERR;
		uint8_t l = pkt[off];
		if (l > 63) /* pointers cannot point anywhere useful yet; 0x40/0x80 are reserved */
			return QP_FORMERR;
		if (n + l + 1 > 255 || off + l + 1 > len)
			return QP_FORMERR;
		zq->label_off[labels] = (uint8_t)n;
		zq->qname[n++] = l;
		if (l == 0)
			break;
		for (uint8_t i = 1; i <= l; i++) {
			uint8_t c = pkt[off + i];
			zq->qname[n++] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
		off += (size_t)l + 1;
		labels++;
	}
	zq->qnamelen = (uint8_t)n;
	zq->nlabels = labels;
	*offp = off + 1;
	return QP_OK;
}

static int parse_opt(const uint8_t *pkt, size_t off, size_t rdlen, uint16_t rclass,
		     uint32_t ttl, query_t *q)
{
	q->edns = true;
	q->edns_size = rclass < 512 ? 512 : rclass;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_do = (ttl & EDNS_DO) != 0;
	q->edns_co = (ttl & EDNS_CO) != 0;
	size_t end = off + rdlen;
	while (off < end) {
		if (end - off < 4)
			return QP_FORMERR;
		uint16_t code = get16(pkt + off), olen = get16(pkt + off + 2);
		off += 4;
		if (olen > end - off)
			return QP_FORMERR;
		if (code == OPT_ECS) {
			if (q->ecs != NULL)
				return QP_FORMERR; /* RFC 7871 7.1.1: at most one */
			q->ecs = pkt + off;
			q->ecs_len = olen;
		} else if (code == OPT_NSID && olen == 0) {
			q->nsid = true; /* RFC 5001 2.1: a request is empty; others are ignored */
		}
		off += olen;
	}
	return QP_OK;
}

int query_parse(const uint8_t *pkt, size_t len, query_t *q)
{
	q->has_question = false;
	q->edns = false;
	q->edns_version = 0;
	q->edns_size = 512;
	q->edns_do = false;
	q->edns_co = false;
	q->ecs = NULL;
	q->ecs_len = 0;
	q->nsid = false;
	q->qend = 12;
	if (len < 12)
		return QP_DROP;
	q->id = get16(pkt);
	if (pkt[2] & 0x80)
		return QP_DROP; /* a response: never answer it */
	q->opcode = (pkt[2] >> 3) & 0x0F;
	q->rd = (pkt[2] & 0x01) != 0;
	q->cd = (pkt[3] & 0x10) != 0;
	q->zq.tcp = false;
	uint16_t qd = get16(pkt + 4), an = get16(pkt + 6), ns = get16(pkt + 8),
		 ar = get16(pkt + 10);

	if (qd == 1) {
		size_t off = 12;
		if (parse_qname(pkt, len, &off, &q->zq) == QP_OK && off + 4 <= len) {
			q->zq.qtype = get16(pkt + off);
			q->zq.qclass = get16(pkt + off + 2);
			q->qend = off + 4;
			q->has_question = true;
		}
	}
	if (q->opcode != 0)
		return QP_NOTIMP;
	if (!q->has_question || an != 0 || ns != 0)
		return QP_FORMERR;

	size_t off = q->qend;
	bool seen_opt = false;
	for (uint16_t i = 0; i < ar; i++) {
		size_t name = off;
		off = skip_name(pkt, len, off);
		if (off == 0 || len - off < 10)
			return QP_FORMERR;
		uint16_t type = get16(pkt + off), rclass = get16(pkt + off + 2);
		uint32_t ttl = (uint32_t)get16(pkt + off + 4) << 16 | get16(pkt + off + 6);
		uint16_t rdlen = get16(pkt + off + 8);
		off += 10;
		if (rdlen > len - off)
			return QP_FORMERR;
		if (type == T_OPT) {
			/* RFC 6891 6.1.1: one OPT, owner the root */
			if (seen_opt || pkt[name] != 0)
				return QP_FORMERR;
			seen_opt = true;
			if (parse_opt(pkt, off, rdlen, rclass, ttl, q) != QP_OK)
				return QP_FORMERR;
		}
		off += rdlen;
	}
	if (off != len)
		return QP_FORMERR; /* trailing bytes */
	if (q->edns && q->edns_version > 0)
		return QP_BADVERS;
	return QP_OK;
}
