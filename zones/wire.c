/* SPDX-License-Identifier: MIT */
/*
 * wire.c -- response writer with name compression (RFC 1035 4.1.4).
 */
#include "wire.h"
#include "zdb_int.h"

#include <string.h>

static inline uint8_t lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

void wire_init(wire_t *w, uint8_t *buf, size_t len, size_t limit)
{
	w->buf = buf;
	w->len = len;
	w->limit = limit;
	w->n_comp = 0;
}

static uint8_t count_labels(const uint8_t *name)
{
	uint8_t n = 0;
	while (*name != 0) {
		name += *name + 1;
		n++;
	}
	return n;
}

/* The label at off is uncompressed (we only remember what we write plainly). */
static void remember(wire_t *w, size_t off, uint8_t labels)
{
	if (off < 0x3FFF && w->n_comp < WIRE_COMP_MAX && labels > 0)
		w->comp[w->n_comp++] = (wire_comp_t){ .off = (uint16_t)off, .labels = labels,
						      .len0 = w->buf[off], .c0 = lc(w->buf[off + 1]) };
}

void wire_remember(wire_t *w, uint16_t off, const uint8_t *name)
{
	uint8_t labels = count_labels(name);
	while (*name != 0 && labels > 0) {
		remember(w, off, labels);
		off = (uint16_t)(off + *name + 1);
		name += *name + 1;
		labels--;
	}
}

/*
 * Does the packet name at off equal name (same number of labels known)? Packet names
 * were written by us, so pointers there are valid and go backwards; the hop count is
 * bounded anyway.
 */
static bool pkt_name_eq(const uint8_t *pkt, size_t off, const uint8_t *name)
{
	for (int hops = 0; hops < 64;) {
		uint8_t l = pkt[off];
		if ((l & 0xC0) == 0xC0) {
			off = (size_t)(l & 0x3F) << 8 | pkt[off + 1];
			hops++;
			continue;
		}
		if (l != *name)
			return false;
		if (l == 0)
			return true;
		for (uint8_t i = 1; i <= l; i++)
			if (lc(pkt[off + i]) != lc(name[i]))
				return false;
		off += (size_t)l + 1;
		name += l + 1;
	}
	return false;
}

bool wire_put_name(wire_t *w, const uint8_t *name)
{
	uint8_t labels = count_labels(name);
	const uint8_t *p = name;
	size_t start = w->len;
	size_t n_comp = w->n_comp;
	uint8_t left = labels;

	while (*p != 0) {
		uint8_t len0 = p[0], c0 = lc(p[1]);
		for (size_t i = 0; i < n_comp; i++) {
			const wire_comp_t *e = &w->comp[i];
			if (e->labels != left || e->len0 != len0 || e->c0 != c0 ||
			    !pkt_name_eq(w->buf, e->off, p))
				continue;
			if (w->len + 2 > w->limit)
				goto nofit;
			w->buf[w->len++] = (uint8_t)(0xC0 | (w->comp[i].off >> 8));
			w->buf[w->len++] = (uint8_t)w->comp[i].off;
			return true;
		}
		size_t l = (size_t)*p + 1;
		if (w->len + l > w->limit)
			goto nofit;
		memcpy(w->buf + w->len, p, l);
		remember(w, w->len, left);
		w->len += l;
		p += l;
		left--;
	}
	if (w->len + 1 > w->limit)
		goto nofit;
	w->buf[w->len++] = 0;
	return true;
nofit:
	w->len = start;
	w->n_comp = n_comp;
	return false;
}

static bool put_bytes(wire_t *w, const void *p, size_t n)
{
	if (w->len + n > w->limit)
		return false;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return true;
}

/* Length of the uncompressed name at p within n bytes, or 0. */
static size_t rd_name_len(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (p[i] == 0)
			return i + 1;
		i += (size_t)p[i] + 1;
	}
	return 0;
}

bool wire_put_rr(wire_t *w, uint16_t owner_ptr, const uint8_t *owner, uint16_t type,
		 uint16_t rclass, uint32_t ttl, uint8_t rdkind, const uint8_t *rdata,
		 uint16_t rdlen)
{
	size_t start = w->len;
	size_t n_comp = w->n_comp;
	uint8_t fixed[10];

	if (owner_ptr != 0) {
		if (w->len + 2 > w->limit)
			return false;
		wire_set16(w->buf + w->len, (uint16_t)(0xC000 | owner_ptr));
		w->len += 2;
	} else if (!wire_put_name(w, owner)) {
		return false;
	}
	wire_set16(fixed, type);
	wire_set16(fixed + 2, rclass);
	fixed[4] = (uint8_t)(ttl >> 24);
	fixed[5] = (uint8_t)(ttl >> 16);
	fixed[6] = (uint8_t)(ttl >> 8);
	fixed[7] = (uint8_t)ttl;
	fixed[8] = 0;
	fixed[9] = 0;
	if (!put_bytes(w, fixed, 10))
		goto nofit;
	size_t rdstart = w->len;
	bool ok;
	switch (rdkind) {
	case RD_NAME:
		ok = rd_name_len(rdata, rdlen) == rdlen && wire_put_name(w, rdata);
		break;
	case RD_MX:
		ok = rdlen > 2 && rd_name_len(rdata + 2, rdlen - 2u) == rdlen - 2u &&
		     put_bytes(w, rdata, 2) && wire_put_name(w, rdata + 2);
		break;
	case RD_SOA: {
		size_t a = rd_name_len(rdata, rdlen);
		size_t b = a ? rd_name_len(rdata + a, rdlen - a) : 0;
		ok = a && b && a + b + 20 == rdlen && wire_put_name(w, rdata) &&
		     wire_put_name(w, rdata + a) && put_bytes(w, rdata + a + b, 20);
		break;
	}
	default:
		ok = put_bytes(w, rdata, rdlen);
		break;
	}
	if (!ok)
		goto nofit;
	wire_set16(w->buf + rdstart - 2, (uint16_t)(w->len - rdstart));
	return true;
nofit:
	w->len = start;
	w->n_comp = n_comp;
	return false;
}
