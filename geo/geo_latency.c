/* SPDX-License-Identifier: MIT */
/*
 * geo_latency.c -- the operator latency table (configuration key geo.latency, spec OC-3).
 *
 * The JSON rules are compiled once into flat arrays: a matrix of RTTs (rule x Region, a
 * negative value where the rule does not name the Region), per family a list of CIDR rule
 * indices sorted by prefix length, longest first, and direct-index tables for country
 * (26 x 26 letters) and continent rules. A lookup scans the CIDR list of the client's
 * family, then reads two table slots; it never touches JSON and never allocates.
 */
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "geo_int.h"

/** Largest RTT accepted, ms. */
#define LAT_MAX_MS 100000.0

static const char *const continent_codes[] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA" };
#define N_CONTINENTS 7

/** One compiled rule. */
typedef struct lat_rule {
	geo_lat_src_t kind; /**< GEO_LAT_CIDR, GEO_LAT_COUNTRY or GEO_LAT_CONTINENT */
	geo_cidr_t net;     /**< the block, for GEO_LAT_CIDR */
	char code[3];       /**< country or continent code, for the other kinds */
} lat_rule_t;

struct geo_latency {
	size_t n_rules;        /**< rules, in JSON order */
	size_t n_regions;      /**< columns of rtt (geo_region_count() at build time) */
	lat_rule_t *rules;     /**< n_rules rules */
	double *rtt;           /**< n_rules x n_regions ms; < 0: the rule does not name the Region */
	uint32_t *cidr[2];     /**< rule indices of IPv4 [0] / IPv6 [1] CIDR rules, longest prefix first */
	size_t n_cidr[2];      /**< lengths of cidr[] */
	int32_t country[26 * 26]; /**< rule index per country code (AA..ZZ), -1: none */
	int32_t continent[N_CONTINENTS]; /**< rule index per continent (continent_codes order), -1: none */
};

static int continent_index(const char *code)
{
	for (int i = 0; i < N_CONTINENTS; i++)
		if (strcmp(code, continent_codes[i]) == 0)
			return i;
	return -1;
}

static int country_slot(const char *cc)
{
	if (cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' || cc[2] != '\0')
		return -1;
	return (cc[0] - 'A') * 26 + (cc[1] - 'A');
}

static void upper2(char dst[3], const char *s)
{
	dst[0] = geo_upper(s[0]);
	dst[1] = geo_upper(s[1]);
	dst[2] = '\0';
}

/** Parse a rule's "client" string into r. */
static int parse_client(const char *text, lat_rule_t *r, const char *path, char *err,
			size_t errlen)
{
	static const char p_country[] = "country:";
	static const char p_continent[] = "continent:";
	char msg[160];

	memset(r, 0, sizeof(*r));
	if (strncmp(text, p_country, sizeof(p_country) - 1) == 0) {
		const char *c = text + sizeof(p_country) - 1;
		if (strlen(c) != 2 || geo_country_continent(c) == NULL) {
			geo_err(err, errlen, "%s: \"%s\": unknown country", path, text);
			return GEO_EINVAL;
		}
		r->kind = GEO_LAT_COUNTRY;
		upper2(r->code, c);
		return GEO_OK;
	}
	if (strncmp(text, p_continent, sizeof(p_continent) - 1) == 0) {
		const char *c = text + sizeof(p_continent) - 1;
		char code[3] = { 0 };
		if (strlen(c) == 2)
			upper2(code, c);
		if (!geo_continent_valid(code)) {
			geo_err(err, errlen, "%s: \"%s\": unknown continent (AF AN AS EU NA OC SA)",
				path, text);
			return GEO_EINVAL;
		}
		r->kind = GEO_LAT_CONTINENT;
		memcpy(r->code, code, 3);
		return GEO_OK;
	}
	if (strlen(text) == 2 && strchr(text, ':') == NULL && strchr(text, '.') == NULL) {
		char code[3];
		upper2(code, text);
		bool is_country = geo_country_continent(code) != NULL;
		bool is_continent = geo_continent_valid(code);
		if (is_country && is_continent) {
			geo_err(err, errlen,
				"%s: \"%s\" is both a country and a continent: write \"country:%s\" "
				"or \"continent:%s\"",
				path, text, code, code);
			return GEO_EINVAL;
		}
		if (!is_country && !is_continent) {
			geo_err(err, errlen, "%s: \"%s\": unknown country or continent", path, text);
			return GEO_EINVAL;
		}
		r->kind = is_country ? GEO_LAT_COUNTRY : GEO_LAT_CONTINENT;
		memcpy(r->code, code, 3);
		return GEO_OK;
	}
	int ret = geo_cidr_parse(text, &r->net, msg, sizeof(msg));
	if (ret != GEO_OK) {
		geo_err(err, errlen, "%s: %s (expected a CIDR block, country or continent)", path,
			msg);
		return GEO_EINVAL;
	}
	r->kind = GEO_LAT_CIDR;
	return GEO_OK;
}

static bool same_client(const lat_rule_t *a, const lat_rule_t *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind != GEO_LAT_CIDR)
		return strcmp(a->code, b->code) == 0;
	return a->net.af == b->net.af && a->net.prefix == b->net.prefix &&
	       memcmp(a->net.addr, b->net.addr, sizeof(a->net.addr)) == 0;
}

static int parse_rtt(geo_latency_t *lt, size_t ri, const json_t *rtt, const char *path,
		     char *err, size_t errlen)
{
	const char *region;
	const json_t *v;

	if (!json_is_object(rtt) || json_object_size(rtt) == 0) {
		geo_err(err, errlen, "%s: expected an object {\"region\": ms, ...} naming at least "
			"one region", path);
		return GEO_EINVAL;
	}
	json_object_foreach((json_t *)rtt, region, v) {
		int idx = geo_region_find(region);
		if (idx < 0) {
			geo_err(err, errlen, "%s.%s: unknown region", path, region);
			return GEO_EINVAL;
		}
		if (!json_is_number(v)) {
			geo_err(err, errlen, "%s.%s: expected a number of milliseconds", path, region);
			return GEO_EINVAL;
		}
		double ms = json_number_value(v);
		if (!(ms >= 0.0 && ms <= LAT_MAX_MS)) {
			geo_err(err, errlen, "%s.%s: %g ms out of range 0..%g", path, region, ms,
				LAT_MAX_MS);
			return GEO_EINVAL;
		}
		lt->rtt[ri * lt->n_regions + (size_t)idx] = ms;
	}
	return GEO_OK;
}

static int parse_rule(geo_latency_t *lt, size_t i, const json_t *rule, const char *where,
		      char *err, size_t errlen)
{
	char path[256];
	char sub[288];
	const char *key;
	const json_t *v;

	(void)snprintf(path, sizeof(path), "%s.rules[%zu]", where, i);
	if (!json_is_object(rule)) {
		geo_err(err, errlen, "%s: expected an object {\"client\": ..., \"rtt_ms\": {...}}",
			path);
		return GEO_EINVAL;
	}
	json_object_foreach((json_t *)rule, key, v) {
		if (strcmp(key, "client") != 0 && strcmp(key, "rtt_ms") != 0) {
			geo_err(err, errlen, "%s.%s: unknown key (expected client, rtt_ms)", path,
				key);
			return GEO_EINVAL;
		}
	}
	const json_t *client = json_object_get(rule, "client");
	(void)snprintf(sub, sizeof(sub), "%s.client", path);
	if (!json_is_string(client)) {
		geo_err(err, errlen, "%s: expected a CIDR block, country or continent string",
			sub);
		return GEO_EINVAL;
	}
	int ret = parse_client(json_string_value(client), &lt->rules[i], sub, err, errlen);
	if (ret != GEO_OK)
		return ret;
	for (size_t j = 0; j < i; j++) {
		if (same_client(&lt->rules[j], &lt->rules[i])) {
			geo_err(err, errlen, "%s: \"%s\" already has a rule: %s.rules[%zu]", sub,
				json_string_value(client), where, j);
			return GEO_EINVAL;
		}
	}
	(void)snprintf(sub, sizeof(sub), "%s.rtt_ms", path);
	return parse_rtt(lt, i, json_object_get(rule, "rtt_ms"), sub, err, errlen);
}

/** Insertion sort of CIDR rule indices: longest prefix first, JSON order among equals. */
static void sort_cidr(const geo_latency_t *lt, uint32_t *idx, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t x = idx[i];
		size_t j = i;
		while (j > 0 && lt->rules[idx[j - 1]].net.prefix < lt->rules[x].net.prefix) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = x;
	}
}

static int compile(geo_latency_t *lt)
{
	for (size_t f = 0; f < 2; f++) {
		lt->cidr[f] = calloc(lt->n_rules > 0 ? lt->n_rules : 1, sizeof(uint32_t));
		if (lt->cidr[f] == NULL)
			return GEO_ENOMEM;
	}
	for (size_t i = 0; i < sizeof(lt->country) / sizeof(lt->country[0]); i++)
		lt->country[i] = -1;
	for (size_t i = 0; i < N_CONTINENTS; i++)
		lt->continent[i] = -1;
	for (size_t i = 0; i < lt->n_rules; i++) {
		const lat_rule_t *r = &lt->rules[i];
		if (r->kind == GEO_LAT_CIDR) {
			size_t f = r->net.af == AF_INET ? 0 : 1;
			lt->cidr[f][lt->n_cidr[f]++] = (uint32_t)i;
		} else if (r->kind == GEO_LAT_COUNTRY) {
			lt->country[country_slot(r->code)] = (int32_t)i;
		} else {
			lt->continent[continent_index(r->code)] = (int32_t)i;
		}
	}
	sort_cidr(lt, lt->cidr[0], lt->n_cidr[0]);
	sort_cidr(lt, lt->cidr[1], lt->n_cidr[1]);
	return GEO_OK;
}

int geo_latency_new(const json_t *obj, const char *where, geo_latency_t **out, char *err,
		    size_t errlen)
{
	int ret = GEO_EINVAL;
	geo_latency_t *lt = NULL;
	const char *key;
	const json_t *v;

	*out = NULL;
	if (where == NULL)
		where = "geo.latency";
	if (!json_is_object(obj)) {
		geo_err(err, errlen, "%s: expected an object {\"rules\": [...]}", where);
		return GEO_EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		if (strcmp(key, "rules") != 0) {
			geo_err(err, errlen, "%s.%s: unknown key (expected rules)", where, key);
			return GEO_EINVAL;
		}
	}
	const json_t *rules = json_object_get(obj, "rules");
	if (!json_is_array(rules)) {
		geo_err(err, errlen, "%s.rules: expected an array", where);
		return GEO_EINVAL;
	}
	if (json_array_size(rules) > INT32_MAX) {
		geo_err(err, errlen, "%s.rules: too many rules", where);
		return GEO_ELIMIT;
	}
	lt = calloc(1, sizeof(*lt));
	if (lt == NULL)
		return GEO_ENOMEM;
	lt->n_rules = json_array_size(rules);
	lt->n_regions = geo_region_count();
	size_t cells = lt->n_rules * lt->n_regions;
	lt->rules = calloc(lt->n_rules > 0 ? lt->n_rules : 1, sizeof(*lt->rules));
	lt->rtt = malloc((cells > 0 ? cells : 1) * sizeof(*lt->rtt));
	if (lt->rules == NULL || lt->rtt == NULL) {
		ret = GEO_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cells; i++)
		lt->rtt[i] = -1.0;
	size_t i;
	json_array_foreach(rules, i, v) {
		ret = parse_rule(lt, i, v, where, err, errlen);
		if (ret != GEO_OK)
			goto out;
	}
	ret = compile(lt);
	if (ret != GEO_OK)
		goto out;
	*out = lt;
	lt = NULL;
out:
	geo_latency_free(lt);
	return ret;
}

void geo_latency_free(geo_latency_t *lt)
{
	if (lt == NULL)
		return;
	free(lt->cidr[0]);
	free(lt->cidr[1]);
	free(lt->rtt);
	free(lt->rules);
	free(lt);
}

size_t geo_latency_rule_count(const geo_latency_t *lt)
{
	return lt != NULL ? lt->n_rules : 0;
}

/** RTT of rule ri to region, < 0 when the rule does not name it. */
static double cell(const geo_latency_t *lt, int32_t ri, int region)
{
	if (ri < 0)
		return -1.0;
	return lt->rtt[(size_t)ri * lt->n_regions + (size_t)region];
}

static int from_table(const geo_latency_t *lt, const geo_loc_t *c, int region, double *ms,
		      geo_lat_src_t *src)
{
	if (c->af == AF_INET || c->af == AF_INET6) {
		size_t f = c->af == AF_INET ? 0 : 1;
		for (size_t k = 0; k < lt->n_cidr[f]; k++) {
			uint32_t ri = lt->cidr[f][k];
			if (!geo_cidr_contains(&lt->rules[ri].net, c->af, c->addr, c->src_prefix))
				continue;
			double v = cell(lt, (int32_t)ri, region);
			if (v >= 0.0) {
				*ms = v;
				*src = GEO_LAT_CIDR;
				return GEO_OK;
			}
		}
	}
	int slot = country_slot(c->country);
	if (slot >= 0) {
		double v = cell(lt, lt->country[slot], region);
		if (v >= 0.0) {
			*ms = v;
			*src = GEO_LAT_COUNTRY;
			return GEO_OK;
		}
	}
	int ci = continent_index(c->continent);
	if (ci >= 0) {
		double v = cell(lt, lt->continent[ci], region);
		if (v >= 0.0) {
			*ms = v;
			*src = GEO_LAT_CONTINENT;
			return GEO_OK;
		}
	}
	return GEO_ENOTFOUND;
}

int geo_latency_ms(const geo_latency_t *lt, const geo_loc_t *client, int region, double *ms,
		   geo_lat_src_t *src)
{
	geo_lat_src_t dummy;
	const geo_region_t *r = geo_region_get(region);

	if (src == NULL)
		src = &dummy;
	if (r == NULL || client == NULL)
		return GEO_EINVAL;
	if (lt != NULL && (size_t)region < lt->n_regions &&
	    from_table(lt, client, region, ms, src) == GEO_OK)
		return GEO_OK;
	if (!client->has_coords)
		return GEO_ENOTFOUND;
	*ms = geo_latency_estimate_ms(geo_distance_km(client->lat, client->lon, r->lat, r->lon));
	*src = GEO_LAT_ESTIMATE;
	return GEO_OK;
}
