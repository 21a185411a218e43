/* SPDX-License-Identifier: MIT */
/*
 * geo_ecs.c -- EDNS Client Subnet (RFC 7871): parse a query's option, decide whether to use
 * it, compute the response scope, write the response option, and locate the client.
 *
 * Wire format of the option payload (after OPTION-CODE 8 and OPTION-LENGTH):
 *   FAMILY (2) | SOURCE PREFIX-LENGTH (1) | SCOPE PREFIX-LENGTH (1) | ADDRESS (ceil(S/8))
 * An authoritative server rejects a malformed option with FORMERR (RFC 7871 §7.2.1;
 * address length and stray bits §6; spec ECS-5.4).
 */
#include <netinet/in.h>
#include <string.h>

#include "geo.h"

static unsigned family_bits(uint16_t family)
{
	if (family == GEO_ECS_FAMILY_IPV4)
		return 32;
	if (family == GEO_ECS_FAMILY_IPV6)
		return 128;
	return 0;
}

int geo_ecs_parse(const uint8_t *data, size_t len, geo_ecs_t *out)
{
	if (data == NULL || len < 4)
		return GEO_EECS_SHORT;
	uint16_t family = (uint16_t)((data[0] << 8) | data[1]);
	uint8_t source = data[2];
	uint8_t scope = data[3];
	unsigned bits = family_bits(family);
	if (bits == 0)
		return GEO_EECS_FAMILY;
	if (source > bits)
		return GEO_EECS_SOURCE;
	if (scope != 0)
		return GEO_EECS_SCOPE;
	size_t alen = ((size_t)source + 7) / 8;
	if (len - 4 != alen)
		return GEO_EECS_ADDRLEN;
	if (source % 8 != 0) {
		uint8_t last = data[4 + alen - 1];
		uint8_t keep = (uint8_t)(0xffu << (8 - source % 8));
		if ((last & (uint8_t)~keep) != 0)
			return GEO_EECS_BITS;
	}
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->source_prefix = source;
	out->scope_prefix = scope;
	if (alen != 0)
		memcpy(out->addr, data + 4, alen);
	return GEO_OK;
}

bool geo_ecs_usable(const geo_ecs_t *ecs, bool private_zone)
{
	return ecs != NULL && !private_zone && ecs->source_prefix != 0;
}

uint8_t geo_ecs_scope(const geo_ecs_t *ecs, bool location_used, bool private_zone)
{
	if (!location_used || !geo_ecs_usable(ecs, private_zone))
		return 0;
	return ecs->source_prefix;
}

size_t geo_ecs_wire_len(const geo_ecs_t *ecs)
{
	return 8 + ((size_t)ecs->source_prefix + 7) / 8;
}

int geo_ecs_write(const geo_ecs_t *ecs, uint8_t scope, uint8_t *buf, size_t cap, size_t *written)
{
	unsigned bits = family_bits(ecs->family);
	if (bits == 0 || ecs->source_prefix > bits)
		return GEO_EINVAL;
	size_t need = geo_ecs_wire_len(ecs);
	if (buf == NULL || cap < need)
		return GEO_ELIMIT;
	if (scope > bits)
		scope = (uint8_t)bits;
	size_t alen = need - 8;
	size_t optlen = need - 4;
	buf[0] = 0;
	buf[1] = GEO_ECS_OPTION_CODE;
	buf[2] = (uint8_t)(optlen >> 8);
	buf[3] = (uint8_t)optlen;
	buf[4] = (uint8_t)(ecs->family >> 8);
	buf[5] = (uint8_t)ecs->family;
	buf[6] = ecs->source_prefix;
	buf[7] = scope;
	if (alen != 0) {
		memcpy(buf + 8, ecs->addr, alen);
		/* Echo the network address only: clear anything past the source prefix. */
		if (ecs->source_prefix % 8 != 0)
			buf[8 + alen - 1] &= (uint8_t)(0xffu << (8 - ecs->source_prefix % 8));
	}
	if (written != NULL)
		*written = need;
	return GEO_OK;
}

int geo_client_locate(const geo_db_t *db, const geo_ecs_t *ecs, const struct sockaddr *src,
		      geo_loc_t *out)
{
	return geo_client_locate_ex(db, ecs, src, true, out);
}

int geo_client_locate_ex(const geo_db_t *db, const geo_ecs_t *ecs, const struct sockaddr *src,
			 bool want_coords, geo_loc_t *out)
{
	int af;
	uint8_t addr[16];
	uint8_t prefix;
	bool from_ecs = geo_ecs_usable(ecs, false);

	if (from_ecs) {
		af = ecs->family == GEO_ECS_FAMILY_IPV4 ? AF_INET : AF_INET6;
		memcpy(addr, ecs->addr, sizeof(addr));
		prefix = ecs->source_prefix;
		geo_addr_mask(af, addr, prefix);
	} else if (geo_addr_from_sockaddr(src, &af, addr) == GEO_OK) {
		prefix = (uint8_t)geo_af_bits(af);
	} else {
		geo_loc_clear(out);
		return GEO_ENOTFOUND;
	}
	int ret = geo_db_lookup_ex(db, af, addr, want_coords, out);
	/* An IPv4-mapped IPv6 subnet was looked up as IPv4: count its prefix in IPv4 bits. */
	if (af == AF_INET6 && out->af == AF_INET)
		prefix = prefix > 96 ? (uint8_t)(prefix - 96) : 0;
	out->src_prefix = prefix;
	out->from_ecs = from_ecs;
	return ret;
}
