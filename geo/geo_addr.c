/* SPDX-License-Identifier: MIT */
/*
 * geo_addr.c -- error names, address extraction, masking and CIDR blocks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "geo_int.h"

const char *geo_strerror(int code)
{
	switch (code) {
	case GEO_OK:
		return "ok";
	case GEO_ENOMEM:
		return "out of memory";
	case GEO_EINVAL:
		return "invalid value";
	case GEO_EPARSE:
		return "syntax error";
	case GEO_EIO:
		return "I/O error";
	case GEO_ENOTFOUND:
		return "not found";
	case GEO_ELIMIT:
		return "limit exceeded";
	case GEO_EECS_SHORT:
		return "ECS option too short";
	case GEO_EECS_FAMILY:
		return "ECS family unknown";
	case GEO_EECS_SOURCE:
		return "ECS source prefix too long for its family";
	case GEO_EECS_SCOPE:
		return "ECS scope prefix not 0 in a query";
	case GEO_EECS_ADDRLEN:
		return "ECS address length does not match the source prefix";
	case GEO_EECS_BITS:
		return "ECS address bits set beyond the source prefix";
	default:
		return "unknown error";
	}
}

void geo_loc_clear(geo_loc_t *loc)
{
	memset(loc, 0, sizeof(*loc));
	loc->entry_file = -1;
}

unsigned geo_af_bits(int af)
{
	if (af == AF_INET)
		return 32;
	if (af == AF_INET6)
		return 128;
	return 0;
}

int geo_addr_from_sockaddr(const struct sockaddr *sa, int *af, uint8_t addr[16])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (sa == NULL)
		return GEO_EINVAL;
	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(addr, &sin->sin_addr, 4);
		*af = AF_INET;
		return GEO_OK;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		const uint8_t *b = sin6->sin6_addr.s6_addr;
		if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0) {
			memcpy(addr, b + 12, 4);
			*af = AF_INET;
		} else {
			memcpy(addr, b, 16);
			*af = AF_INET6;
		}
		return GEO_OK;
	}
	return GEO_EINVAL;
}

void geo_addr_mask(int af, uint8_t addr[16], unsigned prefix)
{
	unsigned bits = geo_af_bits(af);
	if (bits == 0)
		return;
	if (prefix > bits)
		prefix = bits;
	unsigned nbytes = bits / 8;
	unsigned full = prefix / 8;
	unsigned rem = prefix % 8;
	if (rem != 0) {
		addr[full] &= (uint8_t)(0xffu << (8 - rem));
		full++;
	}
	if (full < nbytes)
		memset(addr + full, 0, nbytes - full);
}

bool geo_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8;
	unsigned rem = prefix % 8;
	if (full != 0 && memcmp(a, b, full) != 0)
		return false;
	if (rem == 0)
		return true;
	uint8_t m = (uint8_t)(0xffu << (8 - rem));
	return ((a[full] ^ b[full]) & m) == 0;
}

bool geo_cidr_contains(const geo_cidr_t *net, int af, const uint8_t *addr, unsigned prefix)
{
	if (net->af != af || prefix < net->prefix)
		return false;
	return geo_prefix_equal(net->addr, addr, net->prefix);
}

int geo_cidr_parse(const char *text, geo_cidr_t *out, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);

	if (alen == 0 || alen >= INET6_ADDRSTRLEN) {
		geo_err(err, errlen, "\"%s\": not an address or CIDR block", text);
		return GEO_EPARSE;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->af = AF_INET;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->af = AF_INET6;
	} else {
		geo_err(err, errlen, "\"%s\": not an address or CIDR block", text);
		return GEO_EPARSE;
	}
	unsigned bits = geo_af_bits(out->af);
	unsigned long prefix = bits;
	if (slash != NULL) {
		const char *p = slash + 1;
		char *end = NULL;
		if (*p < '0' || *p > '9') {
			geo_err(err, errlen, "\"%s\": bad prefix length", text);
			return GEO_EPARSE;
		}
		errno = 0;
		prefix = strtoul(p, &end, 10);
		if (errno != 0 || *end != '\0' || prefix > bits || end - p > 3) {
			geo_err(err, errlen, "\"%s\": prefix length must be 0..%u", text, bits);
			return GEO_EPARSE;
		}
	}
	out->prefix = (uint8_t)prefix;
	uint8_t masked[16];
	memcpy(masked, out->addr, sizeof(masked));
	geo_addr_mask(out->af, masked, out->prefix);
	if (memcmp(masked, out->addr, sizeof(masked)) != 0) {
		geo_err(err, errlen, "\"%s\": address bits set beyond /%u", text, out->prefix);
		return GEO_EINVAL;
	}
	return GEO_OK;
}

void geo_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
