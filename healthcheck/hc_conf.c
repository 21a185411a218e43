/* SPDX-License-Identifier: MIT */
/*
 * hc_conf.c -- parse and validate the `health` settings and list-health-checks JSON.
 *
 * Validation follows spec 3.6 and 6; every message names the file and the JSON path
 * ("list-health-checks.json: HealthChecks[3].HealthCheckConfig.Port: must be 1..65535").
 * The result is immutable and carries everything the probes need precomputed: the
 * sockaddr, the Host header and the whole HTTP request, the children as indices.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

#include "hc_int.h"

const char *const hc_region_names[HC_N_REGIONS] = {
	"us-east-1", "us-west-1", "us-west-2", "eu-west-1",
	"ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1",
};

static const char *const type_names[] = {
	[HC_T_HTTP] = "HTTP",
	[HC_T_HTTPS] = "HTTPS",
	[HC_T_HTTP_STR_MATCH] = "HTTP_STR_MATCH",
	[HC_T_HTTPS_STR_MATCH] = "HTTPS_STR_MATCH",
	[HC_T_TCP] = "TCP",
	[HC_T_CALCULATED] = "CALCULATED",
	[HC_T_CLOUDWATCH_METRIC] = "CLOUDWATCH_METRIC",
	[HC_T_RECOVERY_CONTROL] = "RECOVERY_CONTROL",
};

/** HealthCheckConfig members, in the order the CLI prints them (spec 3.6). */
static const char *const config_members[] = {
	"IPAddress", "Port", "Type", "ResourcePath", "FullyQualifiedDomainName",
	"SearchString", "RequestInterval", "FailureThreshold", "MeasureLatency", "Inverted",
	"Disabled", "HealthThreshold", "ChildHealthChecks", "EnableSNI", "Regions",
	"AlarmIdentifier", "InsufficientDataHealthStatus", "RoutingControlArn",
};

#define DEFAULT_USER_AGENT \
	"Amazon-Route53-Health-Check-Service (ref {id}; report http://amzn.to/1vsZADi)"

const char *hc_type_name(hc_type_t type)
{
	if ((size_t)type < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[type];
	return "?";
}

static bool is_http(hc_type_t t)
{
	return t == HC_T_HTTP || t == HC_T_HTTPS || t == HC_T_HTTP_STR_MATCH ||
	       t == HC_T_HTTPS_STR_MATCH;
}

static bool is_https(hc_type_t t)
{
	return t == HC_T_HTTPS || t == HC_T_HTTPS_STR_MATCH;
}

static bool is_str_match(hc_type_t t)
{
	return t == HC_T_HTTP_STR_MATCH || t == HC_T_HTTPS_STR_MATCH;
}

static bool is_endpoint(hc_type_t t)
{
	return is_http(t) || t == HC_T_TCP;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

long hc_conf_find(const hc_conf_t *conf, const char *id)
{
	if (conf == NULL || conf->index_cap == 0)
		return -1;
	size_t mask = conf->index_cap - 1;
	for (size_t i = str_hash(id) & mask;; i = (i + 1) & mask) {
		size_t v = conf->index[i];
		if (v == 0)
			return -1;
		if (strcmp(conf->checks[v - 1].id, id) == 0)
			return (long)(v - 1);
	}
}

void hc_conf_free(hc_conf_t *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < conf->n_checks; i++) {
		hc_check_conf_t *c = &conf->checks[i];
		free(c->id);
		free(c->caller_ref);
		free(c->ip);
		free(c->fqdn);
		free(c->sni);
		free(c->path);
		free(c->search);
		free(c->children);
		free(c->request);
		free(c->endpoint);
	}
	free(conf->checks);
	free(conf->index);
	free(conf->sources);
	free(conf->resolver);
	free(conf->user_agent);
	free(conf->force_check);
	free(conf->force_mode);
	free(conf);
}

/* ---- helpers ---- */

static int get_uint(const json_t *v, long long lo, long long hi, unsigned *out)
{
	if (!json_is_integer(v))
		return -1;
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return -1;
	*out = (unsigned)x;
	return 0;
}

/** Parse an IP address literal (no port) into ss. */
static int parse_ip(const char *text, uint16_t port, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/** Spec HC-12: ranges AWS refuses (RFC 5735, 6598, 5156). */
static bool aws_rejects(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
		static const struct {
			uint32_t net, mask;
		} bad[] = {
			{ 0x00000000, 0xff000000 }, { 0x0a000000, 0xff000000 },
			{ 0x64400000, 0xffc00000 }, { 0x7f000000, 0xff000000 },
			{ 0xa9fe0000, 0xffff0000 }, { 0xac100000, 0xfff00000 },
			{ 0xc0000000, 0xffffff00 }, { 0xc0000200, 0xffffff00 },
			{ 0xc0586300, 0xffffff00 }, { 0xc0a80000, 0xffff0000 },
			{ 0xc6120000, 0xfffe0000 }, { 0xc6336400, 0xffffff00 },
			{ 0xcb007100, 0xffffff00 }, { 0xe0000000, 0xf0000000 },
			{ 0xf0000000, 0xf0000000 },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if ((a & bad[i].mask) == bad[i].net)
				return true;
		return false;
	}
	const uint8_t *b = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	static const uint8_t zero[16];
	if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
		return true;                              /* :: and ::1 */
	if ((b[0] & 0xfe) == 0xfc || b[0] == 0xff)        /* ULA, multicast */
		return true;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)        /* link-local */
		return true;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return true;                              /* documentation */
	if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff)
		return true;                              /* v4-mapped */
	return false;
}

static bool valid_fqdn(const char *s)
{
	size_t n = strlen(s), label = 0;
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 && !(i == n - 1 && i > 0))
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* ---- settings ---- */

static int parse_settings(const json_t *s, const char *file, hc_conf_t *c, json_t **force_out,
			  char *err, size_t errlen)
{
	c->threads = 2;
	c->checkers = 0;
	c->checkers_per_region = 2;
	c->threshold = 0.18;
	*force_out = NULL;
	if (s == NULL || json_is_null(s))
		goto ua;
	if (!json_is_object(s)) {
		hc_errf(err, errlen, file, "health: must be an object");
		return HC_EINVAL;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)s, key, v) {
		if (strcmp(key, "threads") == 0) {
			if (get_uint(v, 1, HC_MAX_THREADS, &c->threads) < 0) {
				hc_errf(err, errlen, file, "health.threads: must be an integer 1..%d",
					HC_MAX_THREADS);
				return HC_EINVAL;
			}
		} else if (strcmp(key, "checkers") == 0) {
			if (get_uint(v, 1, HC_MAX_CHECKERS, &c->checkers) < 0) {
				hc_errf(err, errlen, file,
					"health.checkers: must be an integer 1..%d", HC_MAX_CHECKERS);
				return HC_EINVAL;
			}
		} else if (strcmp(key, "checkers_per_region") == 0) {
			if (get_uint(v, 1, 32, &c->checkers_per_region) < 0) {
				hc_errf(err, errlen, file,
					"health.checkers_per_region: must be an integer 1..32");
				return HC_EINVAL;
			}
		} else if (strcmp(key, "threshold") == 0) {
			if (!json_is_number(v) || json_number_value(v) < 0 ||
			    json_number_value(v) >= 1) {
				hc_errf(err, errlen, file,
					"health.threshold: must be a number, 0 <= threshold < 1");
				return HC_EINVAL;
			}
			c->threshold = json_number_value(v);
		} else if (strcmp(key, "sources") == 0) {
			if (!json_is_array(v) || json_array_size(v) > 1024) {
				hc_errf(err, errlen, file,
					"health.sources: must be an array of IP addresses");
				return HC_EINVAL;
			}
			size_t n = json_array_size(v);
			c->sources = calloc(n ? n : 1, sizeof(*c->sources));
			if (c->sources == NULL)
				return HC_ENOMEM;
			for (size_t i = 0; i < n; i++) {
				const char *t = json_string_value(json_array_get(v, i));
				hc_source_t *src = &c->sources[i];
				if (t == NULL || strlen(t) >= sizeof(src->text) ||
				    parse_ip(t, 0, &src->addr, &src->addrlen) < 0) {
					hc_errf(err, errlen, file,
						"health.sources[%zu]: must be an IPv4 or IPv6 address", i);
					return HC_EINVAL;
				}
				strcpy(src->text, t);
			}
			c->n_sources = n;
		} else if (strcmp(key, "resolver") == 0) {
			struct sockaddr_storage ss;
			int len = sizeof(ss);
			const char *t = json_string_value(v);
			if (t == NULL ||
			    evutil_parse_sockaddr_port(t, (struct sockaddr *)&ss, &len) < 0) {
				hc_errf(err, errlen, file,
					"health.resolver: must be \"ip\", \"ip:port\" or \"[ipv6]:port\"");
				return HC_EINVAL;
			}
			c->resolver = strdup(t);
			if (c->resolver == NULL)
				return HC_ENOMEM;
		} else if (strcmp(key, "force") == 0) {
			if (!json_is_object(v)) {
				hc_errf(err, errlen, file,
					"health.force: must be an object of Id: \"healthy\"|\"unhealthy\"|\"auto\"");
				return HC_EINVAL;
			}
			*force_out = v;
		} else if (strcmp(key, "user_agent") == 0) {
			const char *t = json_string_value(v);
			if (t == NULL || strlen(t) == 0 || strlen(t) > 512 || strpbrk(t, "\r\n")) {
				hc_errf(err, errlen, file,
					"health.user_agent: must be a one-line string of 1..512 characters");
				return HC_EINVAL;
			}
			c->user_agent = strdup(t);
			if (c->user_agent == NULL)
				return HC_ENOMEM;
		} else if (strcmp(key, "strict_addresses") == 0) {
			if (!json_is_boolean(v)) {
				hc_errf(err, errlen, file, "health.strict_addresses: must be true or false");
				return HC_EINVAL;
			}
			c->strict_addresses = json_is_true(v);
		} else {
			hc_errf(err, errlen, file,
				"health.%s: unknown key (expected threads, checkers, checkers_per_region, threshold, sources, resolver, force, user_agent, strict_addresses)",
				key);
			return HC_EINVAL;
		}
	}
ua:
	if (c->user_agent == NULL) {
		c->user_agent = strdup(DEFAULT_USER_AGENT);
		if (c->user_agent == NULL)
			return HC_ENOMEM;
	}
	return HC_OK;
}

/* ---- one check ---- */

/** Build the HTTP request and Host header (spec HC-8..HC-11). */
static int build_request(hc_check_conf_t *cc, const char *ua_tmpl)
{
	char host[300];
	const char *name = cc->fqdn; /* as written (spec HC-9), a trailing dot included */
	bool v6 = cc->ip != NULL && strchr(cc->ip, ':') != NULL;
	uint16_t def = is_https(cc->type) ? 443 : 80;
	if (name != NULL || !v6)
		snprintf(host, sizeof(host), "%s", name != NULL ? name : cc->ip);
	else
		snprintf(host, sizeof(host), "[%s]", cc->ip);
	if (cc->port != def) {
		size_t l = strlen(host);
		snprintf(host + l, sizeof(host) - l, ":%u", cc->port);
	}
	/* user agent: replace every {id} */
	char ua[1024];
	size_t u = 0;
	for (const char *p = ua_tmpl; *p != '\0' && u + 1 < sizeof(ua);) {
		if (strncmp(p, "{id}", 4) == 0) {
			int w = snprintf(ua + u, sizeof(ua) - u, "%s", cc->id);
			u = w < 0 ? u : (size_t)w + u >= sizeof(ua) ? sizeof(ua) - 1 : u + (size_t)w;
			p += 4;
		} else {
			ua[u++] = *p++;
		}
	}
	ua[u] = '\0';
	size_t cap = strlen(cc->path) + strlen(host) + strlen(ua) + 160;
	cc->request = malloc(cap);
	if (cc->request == NULL)
		return HC_ENOMEM;
	int n = snprintf(cc->request, cap,
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n%s"
			 "Connection: close\r\n\r\n",
			 cc->path, host, ua,
			 is_str_match(cc->type) ? "Accept-Encoding: gzip, deflate\r\n" : "");
	if (n < 0 || (size_t)n >= cap)
		return HC_ENOMEM;
	cc->request_len = (size_t)n;
	return HC_OK;
}

#define CFAIL(...)                                               \
	do {                                                     \
		hc_errf(err, errlen, file, __VA_ARGS__);         \
		return HC_EINVAL;                                \
	} while (0)

static int parse_check(const json_t *hc, size_t i, const char *file, const hc_conf_t *c,
		       hc_check_conf_t *cc, char *err, size_t errlen)
{
	char p[64];
	snprintf(p, sizeof(p), "HealthChecks[%zu]", i);
	if (!json_is_object(hc))
		CFAIL("%s: must be an object", p);

	const char *id = json_string_value(json_object_get(hc, "Id"));
	if (id == NULL || id[0] == '\0' || strlen(id) > 64)
		CFAIL("%s.Id: required, a string of 1..64 characters", p);
	for (const char *q = id; *q; q++)
		if (!isgraph((unsigned char)*q) || *q == '"' || *q == '\\' || *q == '/')
			CFAIL("%s.Id: \"%s\": invalid character", p, id);
	if ((cc->id = strdup(id)) == NULL)
		return HC_ENOMEM;

	json_t *v = json_object_get(hc, "CallerReference");
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64)
			CFAIL("%s.CallerReference: must be a string of 1..64 characters", p);
		if ((cc->caller_ref = strdup(json_string_value(v))) == NULL)
			return HC_ENOMEM;
	}
	cc->version = 1;
	v = json_object_get(hc, "HealthCheckVersion");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			CFAIL("%s.HealthCheckVersion: must be an integer >= 1", p);
		cc->version = (long)json_integer_value(v);
	}

	const json_t *cf = json_object_get(hc, "HealthCheckConfig");
	if (!json_is_object(cf))
		CFAIL("%s.HealthCheckConfig: required, an object", p);
	snprintf(p, sizeof(p), "HealthChecks[%zu].HealthCheckConfig", i);

	const char *key;
	json_object_foreach((json_t *)cf, key, v) {
		bool known = false;
		for (size_t m = 0; m < sizeof(config_members) / sizeof(config_members[0]); m++)
			known |= strcmp(key, config_members[m]) == 0;
		if (!known)
			CFAIL("%s.%s: unknown member of HealthCheckConfig", p, key);
	}

	const char *type = json_string_value(json_object_get(cf, "Type"));
	if (type == NULL)
		CFAIL("%s.Type: required", p);
	size_t t;
	for (t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (strcmp(type, type_names[t]) == 0)
			break;
	if (t == sizeof(type_names) / sizeof(type_names[0]))
		CFAIL("%s.Type: \"%s\": must be HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED, CLOUDWATCH_METRIC or RECOVERY_CONTROL",
		      p, type);
	cc->type = (hc_type_t)t;
	bool ep = is_endpoint(cc->type);

	/* members that only some types take */
	static const struct {
		const char *name;
		unsigned types; /* bit per hc_type_t */
	} only[] = {
		{ "IPAddress", 0x1f },
		{ "Port", 0x1f },
		{ "ResourcePath", 0x0f },
		{ "FullyQualifiedDomainName", 0x1f },
		{ "SearchString", 0x0c },
		{ "HealthThreshold", 0x20 },
		{ "ChildHealthChecks", 0x20 },
		{ "AlarmIdentifier", 0x40 },
		{ "InsufficientDataHealthStatus", 0x40 },
		{ "RoutingControlArn", 0x80 },
	};
	for (size_t m = 0; m < sizeof(only) / sizeof(only[0]); m++)
		if (json_object_get(cf, only[m].name) != NULL &&
		    !(only[m].types & (1u << cc->type)))
			CFAIL("%s.%s: not allowed for Type %s", p, only[m].name, type);

	/* Port */
	cc->port = is_https(cc->type) ? 443 : 80;
	v = json_object_get(cf, "Port");
	if (v != NULL) {
		unsigned port;
		if (get_uint(v, 1, 65535, &port) < 0)
			CFAIL("%s.Port: must be 1..65535", p);
		cc->port = (uint16_t)port;
	}

	/* IPAddress */
	v = json_object_get(cf, "IPAddress");
	if (v != NULL) {
		const char *ip = json_string_value(v);
		if (ip == NULL || strlen(ip) > 45 ||
		    parse_ip(ip, cc->port, &cc->addr, &cc->addrlen) < 0)
			CFAIL("%s.IPAddress: must be an IPv4 or IPv6 address", p);
		if (c->strict_addresses && aws_rejects(&cc->addr))
			CFAIL("%s.IPAddress: %s is in a local, private, reserved or multicast range that Route 53 does not check (health.strict_addresses)",
			      p, ip);
		if ((cc->ip = strdup(ip)) == NULL)
			return HC_ENOMEM;
	}

	/* FullyQualifiedDomainName */
	v = json_object_get(cf, "FullyQualifiedDomainName");
	if (v != NULL) {
		const char *f = json_string_value(v);
		if (f == NULL || !valid_fqdn(f))
			CFAIL("%s.FullyQualifiedDomainName: must be a domain name of at most 255 characters",
			      p);
		if ((cc->fqdn = strdup(f)) == NULL || (cc->sni = strdup(f)) == NULL)
			return HC_ENOMEM;
		size_t l = strlen(cc->sni);
		if (l > 1 && cc->sni[l - 1] == '.')
			cc->sni[l - 1] = '\0';
	}
	if (ep && cc->ip == NULL && cc->fqdn == NULL)
		CFAIL("%s: IPAddress or FullyQualifiedDomainName is required for Type %s", p, type);

	/* ResourcePath */
	if (is_http(cc->type)) {
		const char *rp = "/";
		v = json_object_get(cf, "ResourcePath");
		if (v != NULL) {
			rp = json_string_value(v);
			if (rp == NULL || strlen(rp) > 255)
				CFAIL("%s.ResourcePath: must be a string of at most 255 characters", p);
			for (const char *q = rp; *q; q++)
				if (!isgraph((unsigned char)*q))
					CFAIL("%s.ResourcePath: must not contain spaces or control characters",
					      p);
		}
		cc->path = malloc(strlen(rp) + 2);
		if (cc->path == NULL)
			return HC_ENOMEM;
		sprintf(cc->path, "%s%s", rp[0] == '/' ? "" : "/", rp);
	}

	/* SearchString */
	v = json_object_get(cf, "SearchString");
	if (is_str_match(cc->type)) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 255)
			CFAIL("%s.SearchString: required for Type %s, a string of 1..255 characters",
			      p, type);
		cc->search_len = json_string_length(v);
		if ((cc->search = malloc(cc->search_len + 1)) == NULL)
			return HC_ENOMEM;
		memcpy(cc->search, json_string_value(v), cc->search_len + 1);
	}

	/* RequestInterval: 10 or 30; 1..9 is the r53d drill extension */
	cc->interval = 30;
	v = json_object_get(cf, "RequestInterval");
	if (v != NULL) {
		if (get_uint(v, 1, 30, &cc->interval) < 0 ||
		    (cc->interval > 9 && cc->interval != 10 && cc->interval != 30))
			CFAIL("%s.RequestInterval: must be 10 or 30 (or 1..9, an r53d drill extension that Route 53 does not accept)",
			      p);
	}
	cc->failure_threshold = 3;
	v = json_object_get(cf, "FailureThreshold");
	if (v != NULL && get_uint(v, 1, 10, &cc->failure_threshold) < 0)
		CFAIL("%s.FailureThreshold: must be an integer 1..10", p);

	static const char *const bools[] = { "MeasureLatency", "Inverted", "Disabled",
					     "EnableSNI" };
	bool bv[4] = { false, false, false, is_https(cc->type) };
	for (size_t b = 0; b < 4; b++) {
		v = json_object_get(cf, bools[b]);
		if (v == NULL)
			continue;
		if (!json_is_boolean(v))
			CFAIL("%s.%s: must be true or false", p, bools[b]);
		bv[b] = json_is_true(v);
	}
	cc->measure_latency = bv[0];
	cc->inverted = bv[1];
	cc->disabled = bv[2];
	cc->enable_sni = bv[3];

	/* Regions */
	v = json_object_get(cf, "Regions");
	if (v != NULL) {
		if (!json_is_array(v) || json_array_size(v) < 3 || json_array_size(v) > 64)
			CFAIL("%s.Regions: must list 3 or more Regions", p);
		for (size_t r = 0; r < json_array_size(v); r++) {
			const char *rn = json_string_value(json_array_get(v, r));
			size_t x;
			for (x = 0; rn != NULL && x < HC_N_REGIONS; x++)
				if (strcmp(rn, hc_region_names[x]) == 0)
					break;
			if (rn == NULL || x == HC_N_REGIONS)
				CFAIL("%s.Regions[%zu]: must be one of us-east-1, us-west-1, us-west-2, eu-west-1, ap-southeast-1, ap-southeast-2, ap-northeast-1, sa-east-1",
				      p, r);
			for (size_t y = 0; y < cc->n_regions; y++)
				if (cc->regions[y] == x)
					CFAIL("%s.Regions[%zu]: \"%s\" listed twice", p, r, rn);
			cc->regions[cc->n_regions++] = (uint8_t)x;
		}
	} else {
		for (size_t x = 0; x < HC_N_REGIONS; x++)
			cc->regions[cc->n_regions++] = (uint8_t)x;
	}

	/* CALCULATED */
	if (cc->type == HC_T_CALCULATED) {
		json_t *ht = json_object_get(cf, "HealthThreshold");
		if (ht != NULL && get_uint(ht, 0, 256, &cc->health_threshold) < 0)
			CFAIL("%s.HealthThreshold: an integer 0..256", p);
		v = json_object_get(cf, "ChildHealthChecks");
		if (v != NULL && (!json_is_array(v) || json_array_size(v) > 256))
			CFAIL("%s.ChildHealthChecks: must be an array of at most 256 health check Ids",
			      p);
		/* resolved in a second pass; keep the count */
		cc->n_children = v != NULL ? json_array_size(v) : 0;
		if (ht == NULL) /* optional in the API: absent, every child must be healthy */
			cc->health_threshold = (unsigned)cc->n_children;
	}
	if (cc->type == HC_T_CLOUDWATCH_METRIC) {
		v = json_object_get(cf, "AlarmIdentifier");
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "Region")) ||
		    !json_is_string(json_object_get(v, "Name")))
			CFAIL("%s.AlarmIdentifier: required for CLOUDWATCH_METRIC, {\"Region\", \"Name\"}",
			      p);
		v = json_object_get(cf, "InsufficientDataHealthStatus");
		if (v != NULL) {
			const char *s = json_string_value(v);
			if (s == NULL || (strcmp(s, "Healthy") != 0 && strcmp(s, "Unhealthy") != 0 &&
					  strcmp(s, "LastKnownStatus") != 0))
				CFAIL("%s.InsufficientDataHealthStatus: must be Healthy, Unhealthy or LastKnownStatus",
				      p);
			cc->passive_unhealthy = strcmp(s, "Unhealthy") == 0;
		}
	}
	if (cc->type == HC_T_RECOVERY_CONTROL) {
		v = json_object_get(cf, "RoutingControlArn");
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 255)
			CFAIL("%s.RoutingControlArn: required for RECOVERY_CONTROL, a string of 1..255 characters",
			      p);
	}

	/* checkers (spec OC-5) */
	if (ep) {
		cc->k_views = c->checkers ? c->checkers
					  : c->checkers_per_region * (unsigned)cc->n_regions;
		if (cc->k_views > HC_MAX_CHECKERS)
			cc->k_views = HC_MAX_CHECKERS;
		cc->k = cc->disabled ? 0 : cc->k_views;
	}

	/* endpoint text and request */
	char ep_text[320];
	if (!ep)
		snprintf(ep_text, sizeof(ep_text), "%s",
			 cc->type == HC_T_CALCULATED ? "calculated" : type);
	else if (cc->ip != NULL && strchr(cc->ip, ':') != NULL)
		snprintf(ep_text, sizeof(ep_text), "[%s]:%u", cc->ip, cc->port);
	else
		snprintf(ep_text, sizeof(ep_text), "%s:%u", cc->ip ? cc->ip : cc->sni, cc->port);
	if ((cc->endpoint = strdup(ep_text)) == NULL)
		return HC_ENOMEM;
	if (is_http(cc->type))
		return build_request(cc, c->user_agent);
	return HC_OK;
}

static int index_add(hc_conf_t *c, size_t i)
{
	size_t mask = c->index_cap - 1;
	for (size_t h = str_hash(c->checks[i].id) & mask;; h = (h + 1) & mask) {
		if (c->index[h] == 0) {
			c->index[h] = i + 1;
			return 0;
		}
		if (strcmp(c->checks[c->index[h] - 1].id, c->checks[i].id) == 0)
			return (int)(c->index[h] - 1) + 1;
	}
}

int hc_conf_build(const json_t *settings, const char *settings_file, const json_t *checks,
		  const char *checks_file, hc_conf_t **out, char *err, size_t errlen)
{
	const char *file = checks_file;
	json_t *force = NULL;
	int ret;
	hc_conf_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return HC_ENOMEM;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	ret = parse_settings(settings, settings_file, c, &force, err, errlen);
	if (ret != HC_OK)
		goto out;

	/* the list */
	const json_t *list = NULL;
	json_t *single = NULL;
	if (checks != NULL && !json_is_null(checks)) {
		if (!json_is_object(checks)) {
			hc_errf(err, errlen, file,
				"must be an object {\"HealthChecks\": [...]} (list-health-checks output)");
			ret = HC_EINVAL;
			goto out;
		}
		list = json_object_get(checks, "HealthChecks");
		single = json_object_get(checks, "HealthCheck");
		if (list == NULL && single == NULL) {
			hc_errf(err, errlen, file,
				"HealthChecks: required (the output of aws route53 list-health-checks)");
			ret = HC_EINVAL;
			goto out;
		}
		if (list != NULL && !json_is_array(list)) {
			hc_errf(err, errlen, file, "HealthChecks: must be an array");
			ret = HC_EINVAL;
			goto out;
		}
	}
	size_t n = list != NULL ? json_array_size(list) : single != NULL ? 1 : 0;
	c->checks = calloc(n ? n : 1, sizeof(*c->checks));
	c->index_cap = 16;
	while (c->index_cap < 2 * n)
		c->index_cap *= 2;
	c->index = calloc(c->index_cap, sizeof(*c->index));
	if (c->checks == NULL || c->index == NULL) {
		ret = HC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ret = parse_check(list != NULL ? json_array_get(list, i) : single, i, file, c,
				  &c->checks[i], err, errlen);
		c->n_checks = i + 1;
		if (ret != HC_OK)
			goto out;
		int dup = index_add(c, i);
		if (dup != 0) {
			hc_errf(err, errlen, file, "HealthChecks[%zu].Id: \"%s\" duplicates HealthChecks[%d].Id",
				i, c->checks[i].id, dup - 1);
			ret = HC_EINVAL;
			goto out;
		}
		if (c->checks[i].caller_ref != NULL)
			for (size_t j = 0; j < i; j++)
				if (c->checks[j].caller_ref != NULL &&
				    strcmp(c->checks[j].caller_ref, c->checks[i].caller_ref) == 0) {
					hc_errf(err, errlen, file,
						"HealthChecks[%zu].CallerReference: \"%s\" duplicates HealthChecks[%zu].CallerReference",
						i, c->checks[i].caller_ref, j);
					ret = HC_EINVAL;
					goto out;
				}
	}

	/* second pass: children */
	for (size_t i = 0; i < n; i++) {
		hc_check_conf_t *cc = &c->checks[i];
		if (cc->type != HC_T_CALCULATED || cc->n_children == 0)
			continue;
		const json_t *hc = list != NULL ? json_array_get(list, i) : single;
		const json_t *kids =
			json_object_get(json_object_get(hc, "HealthCheckConfig"), "ChildHealthChecks");
		cc->children = calloc(cc->n_children, sizeof(*cc->children));
		if (cc->children == NULL) {
			ret = HC_ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < cc->n_children; k++) {
			const char *kid = json_string_value(json_array_get(kids, k));
			long x = kid != NULL ? hc_conf_find(c, kid) : -1;
			char path[96];
			snprintf(path, sizeof(path),
				 "HealthChecks[%zu].HealthCheckConfig.ChildHealthChecks[%zu]", i, k);
			if (kid == NULL) {
				hc_errf(err, errlen, file, "%s: must be a health check Id (string)", path);
				ret = HC_EINVAL;
				goto out;
			}
			if (x < 0) {
				hc_errf(err, errlen, file, "%s: \"%s\": no health check with this Id", path,
					kid);
				ret = HC_EINVAL;
				goto out;
			}
			if ((size_t)x == i || c->checks[x].type == HC_T_CALCULATED) {
				hc_errf(err, errlen, file,
					"%s: \"%s\" is a CALCULATED check; children cannot be CALCULATED",
					path, kid);
				ret = HC_EINVAL;
				goto out;
			}
			for (size_t y = 0; y < k; y++)
				if (cc->children[y] == (size_t)x) {
					hc_errf(err, errlen, file, "%s: \"%s\" listed twice", path, kid);
					ret = HC_EINVAL;
					goto out;
				}
			cc->children[k] = (size_t)x;
		}
	}

	/* force */
	if (force != NULL) {
		size_t nf = json_object_size(force);
		c->force_check = calloc(nf ? nf : 1, sizeof(*c->force_check));
		c->force_mode = calloc(nf ? nf : 1, sizeof(*c->force_mode));
		if (c->force_check == NULL || c->force_mode == NULL) {
			ret = HC_ENOMEM;
			goto out;
		}
		const char *key;
		json_t *v;
		json_object_foreach(force, key, v) {
			long x = hc_conf_find(c, key);
			hc_force_mode_t m;
			if (x < 0) {
				hc_errf(err, errlen, settings_file,
					"health.force.%s: no health check with this Id", key);
				ret = HC_EINVAL;
				goto out;
			}
			if (!json_is_string(v) || hc_force_parse(json_string_value(v), &m) < 0) {
				hc_errf(err, errlen, settings_file,
					"health.force.%s: must be \"healthy\", \"unhealthy\" or \"auto\"", key);
				ret = HC_EINVAL;
				goto out;
			}
			c->force_check[c->n_force] = (size_t)x;
			c->force_mode[c->n_force++] = m;
		}
	}
	*out = c;
	c = NULL;
	ret = HC_OK;
out:
	hc_conf_free(c);
	return ret;
}

int hc_force_parse(const char *text, hc_force_mode_t *mode)
{
	if (text == NULL)
		return HC_EINVAL;
	size_t n = strlen(text);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	if (n == 7 && strncmp(text, "healthy", 7) == 0)
		*mode = HC_FORCE_HEALTHY;
	else if (n == 9 && strncmp(text, "unhealthy", 9) == 0)
		*mode = HC_FORCE_UNHEALTHY;
	else if (n == 4 && strncmp(text, "auto", 4) == 0)
		*mode = HC_FORCE_AUTO;
	else
		return HC_EINVAL;
	return HC_OK;
}

int hc_conf_check(const json_t *settings, const char *settings_file, const json_t *checks,
		  const char *checks_file, char *err, size_t errlen)
{
	hc_conf_t *c = NULL;
	int ret = hc_conf_build(settings, settings_file, checks, checks_file, &c, err, errlen);
	hc_conf_free(c);
	return ret;
}

void hc_errf(char *err, size_t errlen, const char *file, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	int n = 0;
	if (file != NULL)
		n = snprintf(err, errlen, "%s: ", file);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}
