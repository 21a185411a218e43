/* SPDX-License-Identifier: MIT */
/*
 * r53json.c -- read Route 53 record sets (list-resource-record-sets output and change
 * batches) and check each one against spec 3.2/3.3.
 */
#include "r53json.h"
#include "err.h"
#include "geo.h"
#include "zdb_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R53_MAX_VALUES 400
#define R53_MAX_VALUE_LEN 4000

/* Error sink. */
typedef struct rerr {
	char *buf;
	size_t len;
} rerr_t;

static int fail(rerr_t *e, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(rerr_t *e, const char *where, const char *fmt, ...)
{
	int n = snprintf(e->buf, e->len, "%s: ", where);
	if (n < 0 || (size_t)n >= e->len)
		return ERR_INVAL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
	return ERR_INVAL;
}

static int name_wire(const char *s, uint8_t *out, size_t *len, bool lower);

int r53_name(const char *s, uint8_t *out, size_t *len)
{
	return name_wire(s, out, len, true);
}

/* A name in Route 53's presentation (\DDD octal) to wire; lower: fold to lower case. */
static int name_wire(const char *s, uint8_t *out, size_t *len, bool lower)
{
	size_t n = 0, lab = 0;
	out[0] = 0;
	if (strcmp(s, ".") == 0) {
		*len = 1;
		return ERR_OK;
	}
	if (*s == '\0' || *s == '.')
		return ERR_INVAL;
	while (*s != '\0') {
		int c;
		if (*s == '.') {
			if (out[lab] == 0)
				return ERR_INVAL; /* empty label (RR-18) */
			s++;
			if (*s == '\0')
				break;
			lab = ++n;
			if (n >= 255)
				return ERR_INVAL;
			out[lab] = 0;
			continue;
		}
		if (*s == '\\') {
			if (s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
			    s[3] <= '7') {
				c = (s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0');
				if (c > 255)
					return ERR_INVAL; /* \400..\777 is no byte */
				s += 4;
			} else if (s[1] != '\0') {
				c = (unsigned char)s[1];
				s += 2;
			} else {
				return ERR_INVAL;
			}
		} else {
			c = (unsigned char)*s++;
		}
		if (out[lab] == 63 || n + 2 >= 255)
			return ERR_INVAL;
		out[lab]++;
		out[++n] = (uint8_t)(lower ? tolower(c) : c);
	}
	if (out[lab] == 0)
		return ERR_INVAL;
	out[++n] = 0;
	*len = n + 1;
	return *len <= 255 ? ERR_OK : ERR_INVAL;
}

const char *r53_name_str(const uint8_t *name, char *buf, size_t len)
{
	ldns_rdf *r = ldns_dname_new_frm_data((uint16_t)(strlen((const char *)name) + 1), name);
	char *s = r ? ldns_rdf2str(r) : NULL;
	snprintf(buf, len, "%s", s ? s : "?");
	free(s);
	ldns_rdf_deep_free(r);
	return buf;
}

/* Route 53 writes \DDD in octal; ldns reads \DDD as decimal. */
static int value_for_ldns(const char *v, char *out, size_t cap)
{
	size_t n = 0;
	while (*v != '\0') {
		if (n + 5 >= cap)
			return ERR_LIMIT;
		if (v[0] == '\\' && v[1] >= '0' && v[1] <= '7' && v[2] >= '0' && v[2] <= '7' &&
		    v[3] >= '0' && v[3] <= '7') {
			int c = (v[1] - '0') * 64 + (v[2] - '0') * 8 + (v[3] - '0');
			n += (size_t)snprintf(out + n, cap - n, "\\%03d", c);
			v += 4;
		} else if (v[0] == '\\' && v[1] != '\0') {
			out[n++] = *v++;
			out[n++] = *v++;
		} else {
			out[n++] = *v++;
		}
	}
	out[n] = '\0';
	return ERR_OK;
}

static const char *const rr_types[] = { "SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR",
					"PTR", "SRV", "SPF", "AAAA", "CAA", "DS", "TLSA",
					"SSHFP", "SVCB", "HTTPS", NULL };

static bool known_type(const char *t)
{
	for (const char *const *p = rr_types; *p != NULL; p++)
		if (strcmp(*p, t) == 0)
			return true;
	return false;
}

static int str_field(rerr_t *e, const char *where, json_t *o, const char *key, size_t maxlen,
		     const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (v == NULL)
		return ERR_OK;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > maxlen)
		return fail(e, where, "%s must be a string of 1..%zu characters", key, maxlen);
	*out = json_string_value(v);
	return ERR_OK;
}

/*
 * ldns reads a name whose first label is '@' (@.x., \@.x. or \100.x.) as the origin,
 * i.e. the root here. Such names are taken again from the value's own tokens, in order:
 * each root name ldns made is matched with the next token that starts with that label.
 */
static bool at_label_token(const char *t)
{
	size_t k = 0;
	if (t[0] == '@')
		k = 1; /* Route 53 prints '@' unescaped: a label, never the origin */
	else if (t[0] == '\\' && t[1] == '@')
		k = 2;
	else if (t[0] == '\\' && strncmp(t + 1, "100", 3) == 0)
		k = 4;
	return k > 0 && (t[k] == '.' || t[k] == '\0' || t[k] == ' ' || t[k] == '\t');
}

int r53_fix_at_labels(ldns_rr *rr, const char *value)
{
	const char *p = value;
	for (size_t f = 0; f < ldns_rr_rd_count(rr); f++) {
		ldns_rdf *d = ldns_rr_rdf(rr, f);
		if (ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME || ldns_rdf_size(d) != 1)
			continue;
		/* the next token starting with an '@' label, if any */
		const char *tok = NULL;
		while (*p != '\0' && tok == NULL) {
			while (*p == ' ' || *p == '\t')
				p++;
			const char *start = p;
			while (*p != '\0' && *p != ' ' && *p != '\t')
				p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
			if (p > start && at_label_token(start))
				tok = start;
		}
		if (tok == NULL)
			return ERR_OK; /* a real "." */
		char buf[1024];
		size_t tl = (size_t)(p - tok);
		if (tl >= sizeof(buf))
			return ERR_INVAL;
		memcpy(buf, tok, tl);
		buf[tl] = '\0';
		uint8_t wire[256];
		size_t wl = 0;
		if (name_wire(buf, wire, &wl, false) != ERR_OK)
			return ERR_INVAL;
		ldns_rdf *nd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wl, wire);
		if (nd == NULL)
			return ERR_NOMEM;
		ldns_rdf_deep_free(ldns_rr_set_rdf(rr, nd, f));
	}
	return ERR_OK;
}

static int parse_values(rerr_t *e, r53_set_t *s, json_t *rrs, const char *type)
{
	if (!json_is_array(rrs) || json_array_size(rrs) == 0)
		return fail(e, s->where, "ResourceRecords must be a non-empty list of {\"Value\": ...}");
	if (json_array_size(rrs) > R53_MAX_VALUES)
		return fail(e, s->where, "more than %d values in one record set", R53_MAX_VALUES);
	if ((s->type == LDNS_RR_TYPE_CNAME || s->type == LDNS_RR_TYPE_SOA) &&
	    json_array_size(rrs) != 1)
		return fail(e, s->where, "a %s record set holds exactly one value", type);
	size_t i;
	json_t *r;
	json_array_foreach(rrs, i, r) {
		json_t *v = json_object_get(r, "Value");
		if (!json_is_object(r) || !json_is_string(v))
			return fail(e, s->where, "ResourceRecords[%zu].Value missing or not a string", i);
		if (json_string_length(v) > R53_MAX_VALUE_LEN)
			return fail(e, s->where, "ResourceRecords[%zu].Value longer than 4000 characters", i);
		char text[R53_MAX_VALUE_LEN * 2 + 64];
		char val[R53_MAX_VALUE_LEN * 2];
		if (value_for_ldns(json_string_value(v), val, sizeof(val)) != ERR_OK)
			return fail(e, s->where, "ResourceRecords[%zu].Value too long", i);
		snprintf(text, sizeof(text), "x. %u IN %s %s", s->ttl, type, val);
		ldns_rr *rr = NULL;
		ldns_rdf *origin = ldns_dname_new_frm_str(".");
		ldns_status st = ldns_rr_new_frm_str(&rr, text, s->ttl, origin, NULL);
		ldns_rdf_deep_free(origin);
		if (st != LDNS_STATUS_OK)
			return fail(e, s->where, "ResourceRecords[%zu].Value \"%s\" is not a valid %s value: %s",
				    i, json_string_value(v), type, ldns_get_errorstr_by_id(st));
		if (r53_fix_at_labels(rr, json_string_value(v)) != ERR_OK) {
			ldns_rr_free(rr);
			return fail(e, s->where, "ResourceRecords[%zu].Value \"%s\" is not a valid %s value",
				    i, json_string_value(v), type);
		}
		ldns_rdf *owner = ldns_dname_new_frm_data(s->namelen, s->name);
		if (owner == NULL) {
			ldns_rr_free(rr);
			return ERR_NOMEM;
		}
		ldns_rdf_deep_free(ldns_rr_owner(rr));
		ldns_rr_set_owner(rr, owner);
		int ret = zl_push_rr(&s->vals, rr, s->where, -1);
		if (ret == ERR_PARSE)
			return fail(e, s->where, "ResourceRecords[%zu].Value does not convert to wire format", i);
		if (ret != ERR_OK)
			return ret;
	}
	return ERR_OK;
}

static int parse_geo(rerr_t *e, r53_set_t *s, json_t *g)
{
	const char *cont = NULL, *cc = NULL, *sub = NULL;
	if (!json_is_object(g))
		return fail(e, s->where, "GeoLocation must be an object");
	if (str_field(e, s->where, g, "ContinentCode", 2, &cont) != ERR_OK ||
	    str_field(e, s->where, g, "CountryCode", 2, &cc) != ERR_OK ||
	    str_field(e, s->where, g, "SubdivisionCode", 3, &sub) != ERR_OK)
		return ERR_INVAL;
	if (cont != NULL && (cc != NULL || sub != NULL))
		return fail(e, s->where, "GeoLocation: ContinentCode cannot be combined with CountryCode or SubdivisionCode");
	if (cont == NULL && cc == NULL)
		return fail(e, s->where, "GeoLocation needs ContinentCode or CountryCode");
	if (sub != NULL && cc == NULL)
		return fail(e, s->where, "GeoLocation: SubdivisionCode requires CountryCode");
	if (cont != NULL) {
		if (!geo_continent_valid(cont))
			return fail(e, s->where, "GeoLocation.ContinentCode \"%s\" is not one of AF AN AS EU NA OC SA", cont);
		s->geo_level = GEO_LVL_CONTINENT;
		snprintf(s->geo_code, sizeof(s->geo_code), "%s", cont);
		return ERR_OK;
	}
	if (strcmp(cc, "*") == 0) {
		if (sub != NULL)
			return fail(e, s->where, "GeoLocation: the default location \"*\" takes no SubdivisionCode");
		s->geo_level = GEO_LVL_DEFAULT;
		snprintf(s->geo_code, sizeof(s->geo_code), "*");
		return ERR_OK;
	}
	if (geo_country_continent(cc) == NULL || islower((unsigned char)cc[0]) ||
	    islower((unsigned char)cc[1]))
		return fail(e, s->where, "GeoLocation.CountryCode \"%s\" is not a country Route 53 supports (ISO 3166 alpha-2, upper case)", cc);
	if (sub != NULL) {
		if (strcmp(cc, "US") != 0 || !geo_us_state_valid(sub))
			return fail(e, s->where, "GeoLocation.SubdivisionCode \"%s\" is not a supported subdivision of %s (US states only)", sub, cc);
		s->geo_level = GEO_LVL_SUBDIVISION;
		snprintf(s->geo_code, sizeof(s->geo_code), "%s", sub);
		snprintf(s->geo_cc, sizeof(s->geo_cc), "%s", cc);
		return ERR_OK;
	}
	s->geo_level = GEO_LVL_COUNTRY;
	snprintf(s->geo_code, sizeof(s->geo_code), "%s", cc);
	return ERR_OK;
}

static int parse_prox(rerr_t *e, r53_set_t *s, json_t *g)
{
	if (!json_is_object(g))
		return fail(e, s->where, "GeoProximityLocation must be an object");
	json_t *reg = json_object_get(g, "AWSRegion"), *lz = json_object_get(g, "LocalZoneGroup"),
	       *co = json_object_get(g, "Coordinates"), *bias = json_object_get(g, "Bias");
	int n = (reg != NULL) + (lz != NULL) + (co != NULL);
	if (n != 1)
		return fail(e, s->where, "GeoProximityLocation needs exactly one of AWSRegion, LocalZoneGroup, Coordinates");
	if (bias != NULL) {
		if (!json_is_integer(bias) || json_integer_value(bias) < -99 || json_integer_value(bias) > 99)
			return fail(e, s->where, "GeoProximityLocation.Bias must be an integer in -99..99");
		s->bias = (int8_t)json_integer_value(bias);
	}
	if (co != NULL) {
		json_t *la = json_object_get(co, "Latitude"), *lo = json_object_get(co, "Longitude");
		if (!json_is_string(la) || !json_is_string(lo) ||
		    geo_coord_parse(json_string_value(la), true, &s->lat) != GEO_OK ||
		    geo_coord_parse(json_string_value(lo), false, &s->lon) != GEO_OK)
			return fail(e, s->where, "GeoProximityLocation.Coordinates needs Latitude (-90..90) and Longitude (-180..180) as strings with at most 2 decimals");
		s->prox_coords = true;
		return ERR_OK;
	}
	const char *name = json_string_value(reg ? reg : lz);
	if (name == NULL)
		return fail(e, s->where, "GeoProximityLocation.%s must be a string", reg ? "AWSRegion" : "LocalZoneGroup");
	char rname[65];
	snprintf(rname, sizeof(rname), "%s", name);
	if (lz != NULL) {
		/* A Local Zone group ("us-east-1-bue-1") is placed at its parent Region. */
		int dashes = 0;
		for (char *p = rname; *p != '\0'; p++)
			if (*p == '-' && ++dashes == 3)
				*p = '\0';
	}
	s->region = (int16_t)geo_region_find(rname);
	if (s->region < 0)
		return fail(e, s->where, "GeoProximityLocation: unknown %s \"%s\" (not in the region table)",
			    reg ? "AWSRegion" : "LocalZoneGroup", name);
	const geo_region_t *r = geo_region_get(s->region);
	s->lat = r->lat;
	s->lon = r->lon;
	s->prox_coords = true;
	return ERR_OK;
}

static int parse_alias(rerr_t *e, r53_set_t *s, json_t *a)
{
	json_t *hz = json_object_get(a, "HostedZoneId"), *dn = json_object_get(a, "DNSName"),
	       *eth = json_object_get(a, "EvaluateTargetHealth");
	if (!json_is_object(a) || !json_is_string(hz) || !json_is_string(dn) || !json_is_boolean(eth))
		return fail(e, s->where, "AliasTarget needs HostedZoneId, DNSName and EvaluateTargetHealth");
	size_t len;
	if (r53_name(json_string_value(dn), s->tname, &len) != ERR_OK)
		return fail(e, s->where, "AliasTarget.DNSName \"%s\" is not a valid name", json_string_value(dn));
	s->tnamelen = (uint8_t)len;
	s->eth = json_is_true(eth);
	s->alias = true;
	s->alias_zone = strdup(json_string_value(hz));
	return s->alias_zone ? ERR_OK : ERR_NOMEM;
}

static bool name_in_zone(const uint8_t *n, size_t len, const uint8_t *apex, size_t alen)
{
	if (len < alen || memcmp(n + len - alen, apex, alen) != 0)
		return false;
	size_t off = 0;
	while (off < len - alen)
		off += (size_t)n[off] + 1;
	return off == len - alen;
}

/* Check and convert one ResourceRecordSet. */
static int parse_set(rerr_t *e, json_t *o, r53_set_t *s, const char *zone, const uint8_t *apex,
		     size_t alen)
{
	static const char *const keys[] = {
		"Name", "Type", "SetIdentifier", "Weight", "Region", "GeoLocation", "Failover",
		"MultiValueAnswer", "TTL", "ResourceRecords", "AliasTarget", "HealthCheckId",
		"TrafficPolicyInstanceId", "CidrRoutingConfig", "GeoProximityLocation", NULL,
	};
	s->region = -1;
	if (!json_is_object(o))
		return fail(e, s->where, "must be a ResourceRecordSet object");
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		bool ok = false;
		for (const char *const *k = keys; *k && !ok; k++)
			ok = strcmp(*k, key) == 0;
		if (!ok)
			return fail(e, s->where, "unknown field %s", key);
	}
	json_t *name = json_object_get(o, "Name"), *type = json_object_get(o, "Type");
	if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 1024)
		return fail(e, s->where, "Name missing or not a string of 1..1024 characters");
	size_t nl;
	if (r53_name(json_string_value(name), s->name, &nl) != ERR_OK)
		return fail(e, s->where, "Name \"%s\" is not a valid DNS name (empty label, label over 63 or name over 255 octets)", json_string_value(name));
	s->namelen = (uint8_t)nl;
	if (!name_in_zone(s->name, nl, apex, alen))
		return fail(e, s->where, "RRSet with DNS name %s is not permitted in zone %s",
			    json_string_value(name), zone);
	if (!json_is_string(type) || !known_type(json_string_value(type)))
		return fail(e, s->where, "Type must be one of SOA A TXT NS CNAME MX NAPTR PTR SRV SPF AAAA CAA DS TLSA SSHFP SVCB HTTPS");
	const char *ts = json_string_value(type);
	s->type = (uint16_t)ldns_get_rr_type_by_name(ts);

	/* The routing-policy marker (RR-3, RR-4). */
	json_t *w = json_object_get(o, "Weight"), *reg = json_object_get(o, "Region"),
	       *geo = json_object_get(o, "GeoLocation"), *fo = json_object_get(o, "Failover"),
	       *mv = json_object_get(o, "MultiValueAnswer"), *cidr = json_object_get(o, "CidrRoutingConfig"),
	       *prox = json_object_get(o, "GeoProximityLocation");
	if (mv != NULL && !json_is_boolean(mv))
		return fail(e, s->where, "MultiValueAnswer must be true or false");
	int markers = (w != NULL) + (reg != NULL) + (geo != NULL) + (fo != NULL) + json_is_true(mv) +
		      (cidr != NULL) + (prox != NULL);
	if (markers > 1)
		return fail(e, s->where, "more than one routing policy (Weight, Region, GeoLocation, Failover, MultiValueAnswer, CidrRoutingConfig, GeoProximityLocation)");
	const char *sid = NULL;
	if (str_field(e, s->where, o, "SetIdentifier", 128, &sid) != ERR_OK)
		return ERR_INVAL;
	if (markers == 1 && sid == NULL)
		return fail(e, s->where, "Invalid request: Missing field 'SetIdentifier' (required with a routing policy)");
	if (markers == 0 && sid != NULL)
		return fail(e, s->where, "SetIdentifier given without a routing policy");
	if (sid != NULL && (s->set_id = strdup(sid)) == NULL)
		return ERR_NOMEM;
	s->policy = POL_SIMPLE;
	if (w != NULL) {
		if (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > 255)
			return fail(e, s->where, "Weight must be an integer in 0..255");
		s->weight = (uint16_t)json_integer_value(w);
		s->policy = POL_WEIGHTED;
	} else if (reg != NULL) {
		if (!json_is_string(reg) || (s->region = (int16_t)geo_region_find(json_string_value(reg))) < 0)
			return fail(e, s->where, "Region \"%s\" is not in the region table", json_is_string(reg) ? json_string_value(reg) : "?");
		s->policy = POL_LATENCY;
	} else if (geo != NULL) {
		if (parse_geo(e, s, geo) != ERR_OK)
			return ERR_INVAL;
		s->policy = POL_GEOLOCATION;
	} else if (fo != NULL) {
		if (json_is_string(fo) && strcmp(json_string_value(fo), "PRIMARY") == 0)
			s->failover = ZDB_PRIMARY;
		else if (json_is_string(fo) && strcmp(json_string_value(fo), "SECONDARY") == 0)
			s->failover = ZDB_SECONDARY;
		else
			return fail(e, s->where, "Failover must be PRIMARY or SECONDARY");
		s->policy = POL_FAILOVER;
	} else if (json_is_true(mv)) {
		s->policy = POL_MULTIVALUE;
	} else if (cidr != NULL) {
		const char *cid = NULL, *loc = NULL;
		if (!json_is_object(cidr) ||
		    str_field(e, s->where, cidr, "CollectionId", 64, &cid) != ERR_OK ||
		    str_field(e, s->where, cidr, "LocationName", 16, &loc) != ERR_OK || cid == NULL ||
		    loc == NULL)
			return fail(e, s->where, "CidrRoutingConfig needs CollectionId and LocationName (1..16 characters)");
		for (const char *p = loc; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '*')
				return fail(e, s->where, "CidrRoutingConfig.LocationName \"%s\": only [0-9A-Za-z_-*]", loc);
		s->cidr_coll = strdup(cid);
		s->cidr_loc = strdup(loc);
		if (s->cidr_coll == NULL || s->cidr_loc == NULL)
			return ERR_NOMEM;
		s->policy = POL_CIDR;
	} else if (prox != NULL) {
		if (parse_prox(e, s, prox) != ERR_OK)
			return ERR_INVAL;
		s->policy = POL_GEOPROXIMITY;
	}
	if (s->type == LDNS_RR_TYPE_NS && s->name[0] == 1 && s->name[1] == '*')
		return fail(e, s->where, "NS record sets cannot be wildcards (HZ-26)");
	if (s->policy != POL_SIMPLE &&
	    (s->type == LDNS_RR_TYPE_NS || s->type == LDNS_RR_TYPE_SOA || s->type == LDNS_RR_TYPE_DS))
		return fail(e, s->where, "%s record sets can only use the simple routing policy", ts);
	if (s->policy == POL_MULTIVALUE && s->type == LDNS_RR_TYPE_CNAME)
		return fail(e, s->where, "multivalue answer record sets cannot be CNAME");

	const char *hc = NULL;
	if (str_field(e, s->where, o, "HealthCheckId", 64, &hc) != ERR_OK)
		return ERR_INVAL;
	if (hc != NULL && (s->hc_id = strdup(hc)) == NULL)
		return ERR_NOMEM;

	json_t *ttl = json_object_get(o, "TTL"), *rrs = json_object_get(o, "ResourceRecords"),
	       *alias = json_object_get(o, "AliasTarget");
	if (alias != NULL) {
		if (ttl != NULL)
			return fail(e, s->where, "an alias record set takes no TTL (the target's TTL is used)");
		if (rrs != NULL)
			return fail(e, s->where, "an alias record set takes no ResourceRecords");
		if (s->policy == POL_MULTIVALUE)
			return fail(e, s->where, "multivalue answer record sets cannot be aliases");
		if (s->type == LDNS_RR_TYPE_NS || s->type == LDNS_RR_TYPE_SOA)
			return fail(e, s->where, "%s record sets cannot be aliases", ts);
		return parse_alias(e, s, alias);
	}
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 0 || json_integer_value(ttl) > 2147483647)
		return fail(e, s->where, "TTL must be an integer in 0..2147483647 (required without AliasTarget)");
	s->ttl = (uint32_t)json_integer_value(ttl);
	return parse_values(e, s, rrs, ts);
}

static void set_free(r53_set_t *s)
{
	zl_list_deinit(&s->vals);
	free(s->set_id);
	free(s->hc_id);
	free(s->alias_zone);
	free(s->cidr_coll);
	free(s->cidr_loc);
	json_decref(s->json);
	memset(s, 0, sizeof(*s));
}

/* Index of the set with the same (name, type, SetIdentifier), or -1. */
static long find_set(const r53_list_t *l, const r53_set_t *s)
{
	for (size_t i = 0; i < l->n; i++) {
		const r53_set_t *t = &l->v[i];
		if (t->namelen == s->namelen && t->type == s->type &&
		    memcmp(t->name, s->name, s->namelen) == 0 &&
		    ((t->set_id == NULL && s->set_id == NULL) ||
		     (t->set_id && s->set_id && strcmp(t->set_id, s->set_id) == 0)))
			return (long)i;
	}
	return -1;
}

static int push(r53_list_t *l, r53_set_t *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		r53_set_t *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *s;
	memset(s, 0, sizeof(*s));
	return ERR_OK;
}

/* ---- the conversion cache ---- */

typedef struct r53_centry {
	const json_t *doc;     /* the key (a reference is held) */
	char zone[256];        /* the zone it was converted for */
	unsigned mark;         /* sweep generation of its last use */
	r53_set_t set;         /* the converted set */
} r53_centry_t;

struct r53_cache {
	r53_centry_t **slot;   /* open addressing by doc pointer; NULL empty */
	size_t cap, n;         /* slots (power of two), entries */
	unsigned mark;         /* current sweep generation */
};

static size_t cache_hash(const json_t *p, size_t mask)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & mask;
}

r53_cache_t *r53_cache_new(void)
{
	r53_cache_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->cap = 1024;
	c->slot = calloc(c->cap, sizeof(*c->slot));
	if (c->slot == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static void centry_free(r53_centry_t *e)
{
	set_free(&e->set);
	json_decref((json_t *)e->doc);
	free(e);
}

static r53_centry_t *cache_find(const r53_cache_t *c, const json_t *doc, const char *zone)
{
	size_t mask = c->cap - 1;
	for (size_t i = cache_hash(doc, mask);; i = (i + 1) & mask) {
		r53_centry_t *e = c->slot[i];
		if (e == NULL)
			return NULL;
		if (e->doc == doc)
			return strcmp(e->zone, zone) == 0 ? e : NULL;
	}
}

static void cache_insert_slot(r53_centry_t **slot, size_t cap, r53_centry_t *e)
{
	size_t mask = cap - 1;
	size_t i = cache_hash(e->doc, mask);
	while (slot[i] != NULL)
		i = (i + 1) & mask;
	slot[i] = e;
}

/* Rebuild the table at capacity cap, keeping only entries marked `keep` (or all). */
static int cache_rehash(r53_cache_t *c, size_t cap, bool sweep)
{
	r53_centry_t **ns = calloc(cap, sizeof(*ns));
	if (ns == NULL)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < c->cap; i++) {
		r53_centry_t *e = c->slot[i];
		if (e == NULL)
			continue;
		if (sweep && e->mark != c->mark) {
			centry_free(e);
			continue;
		}
		cache_insert_slot(ns, cap, e);
		n++;
	}
	free(c->slot);
	c->slot = ns;
	c->cap = cap;
	c->n = n;
	return ERR_OK;
}

/* Remember a converted set (a copy) for doc; failures only lose the caching. */
static void cache_put(r53_cache_t *c, const json_t *doc, const char *zone, const r53_set_t *s)
{
	if ((c->n + 1) * 2 > c->cap && cache_rehash(c, c->cap * 2, false) != ERR_OK)
		return;
	if (strlen(zone) >= sizeof(((r53_centry_t *)0)->zone))
		return;
	r53_centry_t *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return;
	e->set = *s;
	e->set.json = NULL;
	e->set.set_id = s->set_id ? strdup(s->set_id) : NULL;
	e->set.hc_id = s->hc_id ? strdup(s->hc_id) : NULL;
	e->set.alias_zone = s->alias_zone ? strdup(s->alias_zone) : NULL;
	e->set.cidr_coll = s->cidr_coll ? strdup(s->cidr_coll) : NULL;
	e->set.cidr_loc = s->cidr_loc ? strdup(s->cidr_loc) : NULL;
	memset(&e->set.vals, 0, sizeof(e->set.vals));
	if ((s->set_id && !e->set.set_id) || (s->hc_id && !e->set.hc_id) ||
	    (s->alias_zone && !e->set.alias_zone) || (s->cidr_coll && !e->set.cidr_coll) ||
	    (s->cidr_loc && !e->set.cidr_loc) || zl_list_copy(&e->set.vals, &s->vals) != ERR_OK) {
		set_free(&e->set);
		free(e);
		return;
	}
	for (size_t i = 0; i < e->set.vals.n; i++)
		e->set.vals.rr[i].file = e->set.where;
	snprintf(e->zone, sizeof(e->zone), "%s", zone);
	e->doc = json_incref((json_t *)doc);
	e->mark = c->mark;
	cache_insert_slot(c->slot, c->cap, e);
	c->n++;
}

/* A copy of a cached set into *s (where and json set by the caller). */
static int cache_copy(const r53_centry_t *e, r53_set_t *s)
{
	char where[sizeof(s->where)];
	memcpy(where, s->where, sizeof(where));
	*s = e->set;
	memcpy(s->where, where, sizeof(where));
	s->json = NULL;
	s->set_id = e->set.set_id ? strdup(e->set.set_id) : NULL;
	s->hc_id = e->set.hc_id ? strdup(e->set.hc_id) : NULL;
	s->alias_zone = e->set.alias_zone ? strdup(e->set.alias_zone) : NULL;
	s->cidr_coll = e->set.cidr_coll ? strdup(e->set.cidr_coll) : NULL;
	s->cidr_loc = e->set.cidr_loc ? strdup(e->set.cidr_loc) : NULL;
	int ret = zl_list_copy(&s->vals, &e->set.vals);
	if (ret != ERR_OK || (e->set.set_id && !s->set_id) || (e->set.hc_id && !s->hc_id) ||
	    (e->set.alias_zone && !s->alias_zone) || (e->set.cidr_coll && !s->cidr_coll) ||
	    (e->set.cidr_loc && !s->cidr_loc)) {
		set_free(s);
		return ERR_NOMEM;
	}
	return ERR_OK;
}

void r53_cache_sweep(r53_cache_t *c)
{
	if (c == NULL)
		return;
	size_t cap = 1024;
	size_t live = 0;
	for (size_t i = 0; i < c->cap; i++)
		live += c->slot[i] != NULL && c->slot[i]->mark == c->mark;
	while (cap < live * 2 + 2)
		cap *= 2;
	cache_rehash(c, cap, true);
	c->mark++;
}

void r53_cache_free(r53_cache_t *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slot[i] != NULL)
			centry_free(c->slot[i]);
	free(c->slot);
	free(c);
}

size_t r53_cache_size(const r53_cache_t *c)
{
	return c ? c->n : 0;
}

static _Thread_local r53_cache_t *load_cache; /* the cache of the r53_load_cached call running (one thread) */

/* Apply one document: a listing or a change batch. */
static int apply_doc(rerr_t *e, const json_t *doc, const char *file, const char *prefix,
		     const char *zone, const uint8_t *apex, size_t alen, r53_list_t *l)
{
	json_t *sets = json_object_get(doc, "ResourceRecordSets");
	json_t *changes = json_object_get(doc, "Changes");
	char where[192];
	int ret = ERR_OK;

	if (json_is_array(sets)) {
		size_t i;
		json_t *o;
		json_array_foreach(sets, i, o) {
			r53_set_t s;
			memset(&s, 0, sizeof(s));
			snprintf(s.where, sizeof(s.where), "%s: %sResourceRecordSets[%zu]", file, prefix, i);
			r53_centry_t *ce = load_cache ? cache_find(load_cache, o, zone) : NULL;
			if (ce != NULL) {
				ce->mark = load_cache->mark;
				ret = cache_copy(ce, &s);
			} else {
				ret = parse_set(e, o, &s, zone, apex, alen);
				if (ret == ERR_OK && load_cache != NULL)
					cache_put(load_cache, o, zone, &s);
			}
			/* duplicates: checked once for the whole list (check_dups), not per set */
			s.json = json_incref(o);
			if (ret == ERR_OK)
				ret = push(l, &s);
			set_free(&s);
			if (ret != ERR_OK)
				return ret;
		}
		return ERR_OK;
	}
	if (!json_is_array(changes)) {
		snprintf(where, sizeof(where), "%s: %s(top)", file, prefix);
		return fail(e, where, "expected {\"ResourceRecordSets\": [...]} (list-resource-record-sets) or {\"Changes\": [...]} (a change batch)");
	}
	/* RR-14: a batch is atomic; a failure leaves the list as the caller frees it anyway */
	size_t i;
	json_t *c;
	json_array_foreach(changes, i, c) {
		r53_set_t s;
		memset(&s, 0, sizeof(s));
		snprintf(s.where, sizeof(s.where), "%s: %sChanges[%zu].ResourceRecordSet", file, prefix, i);
		json_t *act = json_object_get(c, "Action");
		const char *a = json_string_value(act);
		if (a == NULL || (strcmp(a, "CREATE") != 0 && strcmp(a, "UPSERT") != 0 && strcmp(a, "DELETE") != 0)) {
			snprintf(where, sizeof(where), "%s: %sChanges[%zu].Action", file, prefix, i);
			return fail(e, where, "must be CREATE, UPSERT or DELETE");
		}
		json_t *o = json_object_get(c, "ResourceRecordSet");
		ret = parse_set(e, o, &s, zone, apex, alen);
		s.json = json_incref(o);
		long at = ret == ERR_OK ? find_set(l, &s) : -1;
		char nb[300];
		if (ret == ERR_OK && strcmp(a, "CREATE") == 0) {
			if (at >= 0)
				ret = fail(e, s.where, "Tried to create resource record set [name='%s', type='%s'] but it already exists",
					   r53_name_str(s.name, nb, sizeof(nb)), json_string_value(json_object_get(o, "Type")));
			else
				ret = push(l, &s);
		} else if (ret == ERR_OK && strcmp(a, "UPSERT") == 0) {
			if (at >= 0) {
				set_free(&l->v[at]);
				l->v[at] = s;
				memset(&s, 0, sizeof(s));
			} else {
				ret = push(l, &s);
			}
		} else if (ret == ERR_OK) {
			if (at < 0 || !json_equal(l->v[at].json, o)) {
				ret = fail(e, s.where, "Tried to delete resource record set [name='%s', type='%s'] but it was not found (or its values do not match)",
					   r53_name_str(s.name, nb, sizeof(nb)), json_string_value(json_object_get(o, "Type")));
			} else {
				set_free(&l->v[at]);
				l->v[at] = l->v[--l->n];
			}
		}
		set_free(&s);
		if (ret != ERR_OK)
			return ret;
	}
	return ERR_OK;
}

static int r53_load_docs(const json_t *doc, const char *file, const char *zone,
			 const uint8_t *apex, size_t alen, r53_list_t *out, char *err,
			 size_t errlen);

/* Order of two sets by (name, type, SetIdentifier), then by position. */
static const r53_list_t *dup_list;

static int cmp_dup(const void *a, const void *b)
{
	const r53_set_t *x = &dup_list->v[*(const size_t *)a], *y = &dup_list->v[*(const size_t *)b];
	if (x->namelen != y->namelen)
		return x->namelen < y->namelen ? -1 : 1;
	int c = memcmp(x->name, y->name, x->namelen);
	if (c != 0)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->set_id == NULL || y->set_id == NULL) {
		if ((x->set_id == NULL) != (y->set_id == NULL))
			return x->set_id == NULL ? -1 : 1;
	} else if ((c = strcmp(x->set_id, y->set_id)) != 0) {
		return c;
	}
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static bool same_key(const r53_set_t *x, const r53_set_t *y)
{
	return x->namelen == y->namelen && x->type == y->type &&
	       memcmp(x->name, y->name, x->namelen) == 0 &&
	       ((x->set_id == NULL && y->set_id == NULL) ||
		(x->set_id && y->set_id && strcmp(x->set_id, y->set_id) == 0));
}

/* A (name, type, SetIdentifier) defined twice: the later definition is the error. One
 * sort instead of a comparison of every pair (10,000 sets: 50 million memcmp). */
static int check_dups(rerr_t *e, const r53_list_t *l)
{
	if (l->n < 2)
		return ERR_OK;
	size_t *ix = malloc(l->n * sizeof(*ix));
	if (ix == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < l->n; i++)
		ix[i] = i;
	dup_list = l;
	qsort(ix, l->n, sizeof(*ix), cmp_dup);
	dup_list = NULL;
	size_t bad = SIZE_MAX;
	for (size_t i = 1; i < l->n; i++) {
		if (same_key(&l->v[ix[i - 1]], &l->v[ix[i]]) && (bad == SIZE_MAX || ix[i] < bad))
			bad = ix[i];
	}
	free(ix);
	if (bad != SIZE_MAX)
		return fail(e, l->v[bad].where, "a record set with this Name, Type and SetIdentifier already exists");
	return ERR_OK;
}

int r53_load(const json_t *doc, const char *file, const char *zone, const uint8_t *apex,
	     size_t alen, r53_list_t *out, char *err, size_t errlen)
{
	return r53_load_cached(doc, file, zone, apex, alen, NULL, out, err, errlen);
}

int r53_load_cached(const json_t *doc, const char *file, const char *zone, const uint8_t *apex,
		    size_t alen, r53_cache_t *cache, r53_list_t *out, char *err, size_t errlen)
{
	load_cache = cache;
	int ret = r53_load_docs(doc, file, zone, apex, alen, out, err, errlen);
	load_cache = NULL;
	if (ret == ERR_OK) {
		rerr_t e = { .buf = err, .len = errlen };
		ret = check_dups(&e, out);
	}
	return ret;
}

static int r53_load_docs(const json_t *doc, const char *file, const char *zone,
			 const uint8_t *apex, size_t alen, r53_list_t *out, char *err,
			 size_t errlen)
{
	rerr_t e = { .buf = err, .len = errlen };
	memset(out, 0, sizeof(*out));
	if (file == NULL)
		file = "record_sets";
	if (json_is_array(doc)) {
		size_t i;
		json_t *d;
		json_array_foreach(doc, i, d) {
			char prefix[32];
			const char *f = json_string_value(json_object_get(d, "r53d:file"));
			snprintf(prefix, sizeof(prefix), "[%zu].", i);
			int ret = apply_doc(&e, d, f ? f : file, f ? "" : prefix, zone, apex, alen, out);
			if (ret != ERR_OK)
				return ret;
		}
		return ERR_OK;
	}
	return apply_doc(&e, doc, file, "", zone, apex, alen, out);
}

void r53_list_deinit(r53_list_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		set_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
