/* SPDX-License-Identifier: MIT */
/*
 * conf.c -- load and check the JSON configuration.
 *
 * Every error names the file and the JSON path (or line and column for JSON syntax) of
 * the offending value. AWS-shaped values may be given inline or as a string naming a file
 * that holds the AWS CLI output; such files are read here so that later stages see plain
 * jansson objects and can still name the file in their messages.
 */
#include "conf.h"
#include "acache.h"
#include "dnssec.h"
#include "err.h"
#include "qlog.h"
#include "zsign.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONF_DEFAULT_PORT 53

/* Error sink: "FILE: PATH: reason". */
typedef struct cerr {
	const char *file; /* configuration file */
	char *buf;        /* caller's buffer */
	size_t len;       /* its size */
} cerr_t;

static int fail(cerr_t *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(cerr_t *e, const char *path, const char *fmt, ...)
{
	if (e->buf == NULL || e->len == 0)
		return ERR_INVAL;
	int n = snprintf(e->buf, e->len, "%s: %s: ", e->file, path);
	if (n < 0 || (size_t)n >= e->len)
		return ERR_INVAL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
	return ERR_INVAL;
}

static char *xstrdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* Resolve a path relative to the configuration file's directory. */
static char *resolve_path(const conf_t *c, const char *p)
{
	if (p[0] == '/' || c->dir == NULL)
		return strdup(p);
	size_t n = strlen(c->dir) + strlen(p) + 2;
	char *out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s/%s", c->dir, p);
	return out;
}

int conf_parse_addr(const char *text, uint16_t default_port, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_s = NULL;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL)
			return ERR_INVAL;
		hl = (size_t)(end - text - 1);
		if (hl >= sizeof(host))
			return ERR_INVAL;
		memcpy(host, text + 1, hl);
		host[hl] = '\0';
		if (end[1] == ':')
			port_s = end + 2;
		else if (end[1] != '\0')
			return ERR_INVAL;
	} else {
		const char *colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL; /* bare IPv6 address */
		hl = colon ? (size_t)(colon - text) : strlen(text);
		if (hl >= sizeof(host))
			return ERR_INVAL;
		memcpy(host, text, hl);
		host[hl] = '\0';
		if (colon != NULL)
			port_s = colon + 1;
	}
	unsigned long port = default_port;
	if (port_s != NULL) {
		char *end;
		errno = 0;
		port = strtoul(port_s, &end, 10);
		if (errno != 0 || *port_s == '\0' || *end != '\0' || port > 65535)
			return ERR_INVAL;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return ERR_OK;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return ERR_OK;
	}
	return ERR_INVAL;
}

/*
 * An AWS-shaped value: inline JSON, or a string naming a file that holds it. On success
 * *out holds a new reference and *file the file it came from (NULL when inline).
 */
static int load_aws_value(conf_t *c, cerr_t *e, const char *path, json_t *v, json_t **out,
			  char **file)
{
	*out = NULL;
	if (file != NULL)
		*file = NULL;
	if (!json_is_string(v)) {
		*out = json_incref(v);
		return ERR_OK;
	}
	char *fp = resolve_path(c, json_string_value(v));
	if (fp == NULL)
		return ERR_NOMEM;
	json_error_t je;
	json_t *j = json_load_file(fp, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		int ret = fail(e, path, "cannot load %s: line %d column %d: %s", fp, je.line,
			       je.column, je.text);
		free(fp);
		return ret;
	}
	*out = j;
	if (file != NULL)
		*file = fp;
	else
		free(fp);
	return ERR_OK;
}

static int get_bool(cerr_t *e, json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return ERR_OK;
	if (!json_is_boolean(v))
		return fail(e, key, "must be true or false");
	*out = json_is_true(v);
	return ERR_OK;
}

static int get_uint(cerr_t *e, const char *path, json_t *v, unsigned long lo, unsigned long hi,
		    unsigned *out)
{
	if (v == NULL)
		return ERR_OK;
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
	    json_integer_value(v) > (json_int_t)hi)
		return fail(e, path, "must be an integer in %lu..%lu", lo, hi);
	*out = (unsigned)json_integer_value(v);
	return ERR_OK;
}

/* Reject keys of obj that are not in the NULL-terminated list. */
static int check_keys(cerr_t *e, const char *path, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *k = known; *k != NULL && !ok; k++)
			ok = strcmp(*k, key) == 0;
		if (!ok) {
			char p[256];
			snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", key);
			return fail(e, p, "unknown key");
		}
	}
	return ERR_OK;
}

static int load_listen(conf_t *c, cerr_t *e, json_t *v)
{
	if (v == NULL) {
		v = json_pack("[s]", "127.0.0.1:53");
		if (v == NULL)
			return ERR_NOMEM;
	} else {
		json_incref(v);
	}
	int ret = ERR_OK;
	if (!json_is_array(v) || json_array_size(v) == 0) {
		ret = fail(e, "listen", "must be a non-empty array of \"host:port\" strings");
		goto out;
	}
	c->listen = calloc(json_array_size(v), sizeof(*c->listen));
	if (c->listen == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	size_t i;
	json_t *a;
	json_array_foreach(v, i, a) {
		char path[32];
		snprintf(path, sizeof(path), "listen[%zu]", i);
		conf_listen_t *l = &c->listen[i];
		if (!json_is_string(a) || json_string_length(a) >= sizeof(l->text) ||
		    conf_parse_addr(json_string_value(a), CONF_DEFAULT_PORT, &l->addr,
				    &l->addrlen) != ERR_OK) {
			ret = fail(e, path, "not an address: expected \"127.0.0.1:5353\" or \"[::1]:5353\"");
			goto out;
		}
		snprintf(l->text, sizeof(l->text), "%s", json_string_value(a));
		c->n_listen++;
	}
out:
	json_decref(v);
	return ret;
}

static int load_chaos(conf_t *c, cerr_t *e, json_t *v)
{
	static const char *const keys[] = { "version", "id", NULL };
	if (v == NULL || json_is_false(v))
		return ERR_OK;
	if (!json_is_object(v))
		return fail(e, "chaos", "must be an object {\"version\": TEXT, \"id\": TEXT} or false");
	int ret = check_keys(e, "chaos", v, keys);
	if (ret != ERR_OK)
		return ret;
	json_t *s = json_object_get(v, "version");
	if (s != NULL && (!json_is_string(s) || json_string_length(s) > 255))
		return fail(e, "chaos.version", "must be a string of at most 255 bytes");
	json_t *t = json_object_get(v, "id");
	if (t != NULL && (!json_is_string(t) || json_string_length(t) > 255))
		return fail(e, "chaos.id", "must be a string of at most 255 bytes");
	c->chaos_version = xstrdup(json_string_value(s));
	c->chaos_id = xstrdup(json_string_value(t));
	return ERR_OK;
}

/* nsid: a string of 1..128 bytes, or false; absent: chaos.id (cut to 128 bytes). */
static int load_nsid(conf_t *c, cerr_t *e, json_t *v)
{
	if (v != NULL && json_is_false(v))
		return ERR_OK;
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 128)
			return fail(e, "nsid", "must be a string of 1 to 128 bytes, or false");
		c->nsid = xstrdup(json_string_value(v));
		return c->nsid != NULL ? ERR_OK : ERR_NOMEM;
	}
	if (c->chaos_id == NULL || c->chaos_id[0] == '\0')
		return ERR_OK;
	c->nsid = strndup(c->chaos_id, 128);
	return c->nsid != NULL ? ERR_OK : ERR_NOMEM;
}

static int load_tcp(conf_t *c, cerr_t *e, json_t *v)
{
	static const char *const keys[] = { "idle_timeout_ms", "max_connections", "max_queries",
					    NULL };
	if (v == NULL)
		return ERR_OK;
	if (!json_is_object(v))
		return fail(e, "tcp", "must be an object");
	int ret = check_keys(e, "tcp", v, keys);
	if (ret == ERR_OK)
		ret = get_uint(e, "tcp.idle_timeout_ms", json_object_get(v, "idle_timeout_ms"), 100,
			       3600000, &c->tcp_idle_ms);
	if (ret == ERR_OK)
		ret = get_uint(e, "tcp.max_connections", json_object_get(v, "max_connections"), 1,
			       1000000, &c->tcp_max_conns);
	if (ret == ERR_OK)
		ret = get_uint(e, "tcp.max_queries", json_object_get(v, "max_queries"), 0,
			       UINT_MAX, &c->tcp_max_queries);
	return ret;
}

static int load_admin(conf_t *c, cerr_t *e, json_t *v)
{
	static const char *const keys[] = { "listen", NULL };
	if (v == NULL)
		return ERR_OK;
	if (!json_is_object(v))
		return fail(e, "admin", "must be an object {\"listen\": \"127.0.0.1:8053\"}");
	int ret = check_keys(e, "admin", v, keys);
	if (ret != ERR_OK)
		return ret;
	json_t *l = json_object_get(v, "listen");
	if (l == NULL)
		return ERR_OK;
	struct sockaddr_storage ss;
	socklen_t len;
	if (!json_is_string(l) || conf_parse_addr(json_string_value(l), 8053, &ss, &len) != ERR_OK)
		return fail(e, "admin.listen", "not an address: expected \"127.0.0.1:8053\"");
	c->admin_listen = xstrdup(json_string_value(l));
	return c->admin_listen ? ERR_OK : ERR_NOMEM;
}

/* An etcd client URL: "http://HOST:PORT" or "http://[V6]:PORT", optionally with a '/'. */
static bool etcd_url_ok(const char *u)
{
	if (strncmp(u, "http://", 7) != 0)
		return false;
	const char *h = u + 7, *colon;
	if (*h == '[') {
		const char *rb = strchr(h, ']');
		if (rb == NULL || rb == h + 1 || rb[1] != ':')
			return false;
		colon = rb + 1;
	} else {
		colon = strrchr(h, ':');
		if (colon == NULL || colon == h || memchr(h, '/', (size_t)(colon - h)) != NULL)
			return false;
	}
	char *end = NULL;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	return errno == 0 && end != colon + 1 && port > 0 && port <= 65535 &&
	       (*end == '\0' || strcmp(end, "/") == 0);
}

/* A node id or region: 1..64 characters of [A-Za-z0-9._-] (they become etcd key parts). */
static bool etcd_word_ok(const char *w)
{
	size_t n = strlen(w);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = w[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* store.etcd: {"endpoints": [URL, ...], "prefix", "node_id", "region"} */
static int load_store_etcd(conf_t *c, cerr_t *e, json_t *et)
{
	static const char *const keys[] = { "endpoints", "prefix", "node_id", "region", NULL };
	char path[64];
	if (!json_is_object(et))
		return fail(e, "store.etcd", "must be an object {\"endpoints\": "
					     "[\"http://127.0.0.1:23791\"], ...}");
	int ret = check_keys(e, "store.etcd", et, keys);
	if (ret != ERR_OK)
		return ret;
	json_t *eps = json_object_get(et, "endpoints");
	if (!json_is_array(eps) || json_array_size(eps) == 0)
		return fail(e, "store.etcd.endpoints",
			    "needs an array of etcd client URLs (\"http://127.0.0.1:23791\")");
	c->store_etcd_endpoints = calloc(json_array_size(eps) + 1, sizeof(char *));
	if (c->store_etcd_endpoints == NULL)
		return ERR_NOMEM;
	size_t i;
	json_t *u;
	json_array_foreach(eps, i, u) {
		snprintf(path, sizeof(path), "store.etcd.endpoints[%zu]", i);
		if (!json_is_string(u) || !etcd_url_ok(json_string_value(u)))
			return fail(e, path, "not an etcd client URL: expected "
					     "\"http://HOST:PORT\" (https is not supported)");
		c->store_etcd_endpoints[i] = strdup(json_string_value(u));
		if (c->store_etcd_endpoints[i] == NULL)
			return ERR_NOMEM;
		c->store_etcd_n_endpoints = i + 1;
	}
	json_t *p = json_object_get(et, "prefix");
	const char *pv = "/r53d/v1/";
	if (p != NULL) {
		pv = json_string_value(p);
		size_t pl = pv != NULL ? strlen(pv) : 0;
		if (pl < 2 || pv[0] != '/' || pv[pl - 1] != '/' || strchr(pv, '\\') != NULL)
			return fail(e, "store.etcd.prefix",
				    "must be a key prefix that starts and ends with '/' (\"/r53d/v1/\")");
	}
	json_t *n = json_object_get(et, "node_id");
	char host[256] = "";
	const char *nv = NULL;
	if (n != NULL) {
		nv = json_string_value(n);
		if (nv == NULL || !etcd_word_ok(nv))
			return fail(e, "store.etcd.node_id", "must be 1 to 64 characters of "
							     "A-Z a-z 0-9 . _ - (unique in the fleet)");
	} else if (gethostname(host, sizeof(host) - 1) == 0 && etcd_word_ok(host)) {
		nv = host;
	} else {
		return fail(e, "store.etcd.node_id",
			    "missing, and the host name cannot serve as one: give a node_id");
	}
	json_t *r = json_object_get(et, "region");
	const char *rv = "local";
	if (r != NULL) {
		rv = json_string_value(r);
		if (rv == NULL || !etcd_word_ok(rv))
			return fail(e, "store.etcd.region",
				    "must be 1 to 64 characters of A-Z a-z 0-9 . _ - (\"us-east-1\")");
	}
	c->store_etcd_prefix = strdup(pv);
	c->store_etcd_node_id = strdup(nv);
	c->store_etcd_region = strdup(rv);
	if (c->store_etcd_prefix == NULL || c->store_etcd_node_id == NULL ||
	    c->store_etcd_region == NULL)
		return ERR_NOMEM;
	c->store_etcd = json_incref(et);
	return ERR_OK;
}

/* store: {"path": DIR} (LMDB) or {"etcd": {...}} (fleets). */
static int load_store(conf_t *c, cerr_t *e, json_t *v)
{
	static const char *const keys[] = { "path", "etcd", NULL };
	if (v == NULL || json_is_null(v))
		return ERR_OK;
	if (!json_is_object(v))
		return fail(e, "store", "must be an object {\"path\": DIR}");
	int ret = check_keys(e, "store", v, keys);
	if (ret != ERR_OK)
		return ret;
	json_t *p = json_object_get(v, "path");
	json_t *et = json_object_get(v, "etcd");
	if (p != NULL && et != NULL)
		return fail(e, "store", "give either path (LMDB) or etcd, not both");
	if (et != NULL)
		return load_store_etcd(c, e, et);
	if (p == NULL)
		return fail(e, "store", "needs path: the directory of the LMDB store");
	if (!json_is_string(p) || json_string_length(p) == 0)
		return fail(e, "store.path", "must be a directory path");
	c->store_path = resolve_path(c, json_string_value(p));
	return c->store_path ? ERR_OK : ERR_NOMEM;
}

/* api: {"credentials": [{"AccessKeyId", "SecretAccessKey"}], "max_body_bytes": N} */
static int load_api(conf_t *c, cerr_t *e, json_t *v)
{
	static const char *const keys[] = { "credentials", "max_body_bytes", NULL };
	c->api_max_body = 1 << 20;
	if (v == NULL)
		return ERR_OK;
	if (!json_is_object(v))
		return fail(e, "api", "must be an object {\"credentials\": [...]}");
	int ret = check_keys(e, "api", v, keys);
	if (ret != ERR_OK)
		return ret;
	unsigned mb = (unsigned)c->api_max_body;
	if ((ret = get_uint(e, "api.max_body_bytes", json_object_get(v, "max_body_bytes"), 1024,
			    64u << 20, &mb)) != ERR_OK)
		return ret;
	c->api_max_body = mb;
	json_t *cr = json_object_get(v, "credentials");
	if (cr == NULL)
		return ERR_OK;
	if (!json_is_array(cr) || json_array_size(cr) == 0)
		return fail(e, "api.credentials", "must be a non-empty array of {\"AccessKeyId\", \"SecretAccessKey\"}");
	size_t i;
	json_t *x;
	json_array_foreach(cr, i, x) {
		char p[64];
		snprintf(p, sizeof(p), "api.credentials[%zu]", i);
		static const char *const ck[] = { "AccessKeyId", "SecretAccessKey", NULL };
		if (!json_is_object(x))
			return fail(e, p, "must be an object {\"AccessKeyId\", \"SecretAccessKey\"}");
		if ((ret = check_keys(e, p, x, ck)) != ERR_OK)
			return ret;
		const char *a = json_string_value(json_object_get(x, "AccessKeyId"));
		const char *s = json_string_value(json_object_get(x, "SecretAccessKey"));
		if (a == NULL || s == NULL || a[0] == '\0' || s[0] == '\0')
			return fail(e, p, "needs AccessKeyId and SecretAccessKey strings");
	}
	c->api_credentials = json_incref(cr);
	return ERR_OK;
}

/* name_servers: the NS names of zones created through the API. */
static int load_name_servers(conf_t *c, cerr_t *e, json_t *v)
{
	if (v == NULL) {
		c->name_servers = json_pack("[ssss]", "ns-1.r53d.test.", "ns-2.r53d.test.",
					    "ns-3.r53d.test.", "ns-4.r53d.test.");
		return c->name_servers ? ERR_OK : ERR_NOMEM;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 13)
		return fail(e, "name_servers", "must be an array of 1 to 13 host names");
	json_t *out = json_array();
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		const char *n = json_string_value(x);
		size_t l = n ? strlen(n) : 0;
		if (l == 0 || l > 253 || strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != l) {
			json_decref(out);
			char p[64];
			snprintf(p, sizeof(p), "name_servers[%zu]", i);
			return fail(e, p, "not a host name");
		}
		json_array_append_new(out, n[l - 1] == '.' ? json_string(n) : json_sprintf("%s.", n));
	}
	c->name_servers = out;
	return ERR_OK;
}

/* "HostedZone": inline object, or a file holding get-hosted-zone output. */
static int load_zone(conf_t *c, cerr_t *e, size_t idx, json_t *v)
{
	static const char *const keys[] = { "HostedZone", "VPCs", "zone_file", "record_sets",
					    "DelegationSet", NULL };
	conf_zone_t *z = &c->zones[idx];
	char where[64], p[160];
	snprintf(where, sizeof(where), "hosted_zones[%zu]", idx);
	z->where = strdup(where);
	if (z->where == NULL)
		return ERR_NOMEM;
	if (!json_is_object(v))
		return fail(e, where, "must be an object with HostedZone and zone_file/record_sets");
	int ret = check_keys(e, where, v, keys);
	if (ret != ERR_OK)
		return ret;

	json_t *hz_raw = json_object_get(v, "HostedZone");
	snprintf(p, sizeof(p), "%s.HostedZone", where);
	if (hz_raw == NULL)
		return fail(e, p, "missing");
	json_t *hz_doc = NULL;
	ret = load_aws_value(c, e, p, hz_raw, &hz_doc, NULL);
	if (ret != ERR_OK)
		return ret;
	/* A get-hosted-zone file wraps the object: {"HostedZone": {...}, "VPCs": [...]}. */
	json_t *hz = hz_doc;
	json_t *vpcs = json_object_get(v, "VPCs");
	if (json_is_object(hz_doc) && json_is_object(json_object_get(hz_doc, "HostedZone"))) {
		hz = json_object_get(hz_doc, "HostedZone");
		if (vpcs == NULL)
			vpcs = json_object_get(hz_doc, "VPCs");
	}
	if (!json_is_object(hz)) {
		ret = fail(e, p, "must be an object (get-hosted-zone shape)");
		goto out;
	}
	json_t *name = json_object_get(hz, "Name");
	if (!json_is_string(name) || json_string_length(name) == 0) {
		snprintf(p, sizeof(p), "%s.HostedZone.Name", where);
		ret = fail(e, p, "missing or not a string");
		goto out;
	}
	json_t *id = json_object_get(hz, "Id");
	if (id != NULL && !json_is_string(id)) {
		snprintf(p, sizeof(p), "%s.HostedZone.Id", where);
		ret = fail(e, p, "must be a string");
		goto out;
	}
	json_t *cfg = json_object_get(hz, "Config");
	json_t *priv = json_is_object(cfg) ? json_object_get(cfg, "PrivateZone") : NULL;
	if (priv != NULL && !json_is_boolean(priv)) {
		snprintf(p, sizeof(p), "%s.HostedZone.Config.PrivateZone", where);
		ret = fail(e, p, "must be true or false");
		goto out;
	}
	z->private_zone = json_is_true(priv);
	z->name = xstrdup(json_string_value(name));
	z->id = xstrdup(id ? json_string_value(id) : "");
	if (z->name == NULL || z->id == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	if (vpcs != NULL)
		z->vpcs = json_incref(vpcs);

	json_t *zf = json_object_get(v, "zone_file");
	if (zf != NULL) {
		if (!json_is_string(zf)) {
			snprintf(p, sizeof(p), "%s.zone_file", where);
			ret = fail(e, p, "must be a file path");
			goto out;
		}
		z->zone_file = resolve_path(c, json_string_value(zf));
		if (z->zone_file == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
	}
	json_t *rs = json_object_get(v, "record_sets");
	if (rs != NULL) {
		snprintf(p, sizeof(p), "%s.record_sets", where);
		ret = load_aws_value(c, e, p, rs, &z->record_sets, &z->record_sets_file);
		if (ret != ERR_OK)
			goto out;
		/* An array of documents applied in order: each may be a file too. The file's
		 * name rides along in the document for messages ("r53d:file"). */
		size_t k;
		json_t *item;
		json_array_foreach(z->record_sets, k, item) {
			if (!json_is_string(item))
				continue;
			char pk[200];
			json_t *doc = NULL;
			char *file = NULL;
			snprintf(pk, sizeof(pk), "%s.record_sets[%zu]", where, k);
			ret = load_aws_value(c, e, pk, item, &doc, &file);
			if (ret != ERR_OK)
				goto out;
			if (json_is_object(doc))
				json_object_set_new(doc, "r53d:file", json_string(file));
			free(file);
			json_array_set_new(z->record_sets, k, doc);
		}
	}
	if (zf == NULL && rs == NULL)
		ret = fail(e, where, "needs zone_file or record_sets");
out:
	json_decref(hz_doc);
	return ret;
}

static int load_zones_arr(conf_t *c, cerr_t *e, json_t *v);

static int load_zones(conf_t *c, cerr_t *e, json_t *v)
{
	if (v == NULL) /* zones may all come from the store and the API */
		v = json_array();
	else
		json_incref(v);
	int r = load_zones_arr(c, e, v);
	json_decref(v);
	return r;
}

static int load_zones_arr(conf_t *c, cerr_t *e, json_t *v)
{
	if (!json_is_array(v))
		return fail(e, "hosted_zones", "must be an array");
	c->zones = calloc(json_array_size(v) + 1, sizeof(*c->zones));
	if (c->zones == NULL)
		return ERR_NOMEM;
	size_t i;
	json_t *z;
	json_array_foreach(v, i, z) {
		c->n_zones = i + 1;
		int ret = load_zone(c, e, i, z);
		if (ret != ERR_OK)
			return ret;
	}
	return ERR_OK;
}

/*
 * cidr_collections[]: {"CidrCollection": {...}, "cidr_blocks": INLINE-OR-FILE}. Files are
 * read here so that the zone compiler sees one JSON value per collection.
 */
static int load_cidr_collections(conf_t *c, cerr_t *e, json_t *v)
{
	if (!json_is_array(v))
		return fail(e, "cidr_collections", "must be an array");
	json_t *copy = json_array();
	if (copy == NULL)
		return ERR_NOMEM;
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item) {
		char p[96];
		snprintf(p, sizeof(p), "cidr_collections[%zu]", i);
		if (!json_is_object(item) || !json_is_object(json_object_get(item, "CidrCollection"))) {
			json_decref(copy);
			return fail(e, p, "must be {\"CidrCollection\": {\"Id\", \"Name\"}, \"cidr_blocks\": ...}");
		}
		json_t *blocks_raw = json_object_get(item, "cidr_blocks");
		json_t *blocks = NULL;
		char *file = NULL;
		snprintf(p, sizeof(p), "cidr_collections[%zu].cidr_blocks", i);
		if (blocks_raw == NULL) {
			json_decref(copy);
			return fail(e, p, "missing (the output of list-cidr-blocks)");
		}
		int ret = load_aws_value(c, e, p, blocks_raw, &blocks, &file);
		if (ret != ERR_OK) {
			json_decref(copy);
			return ret;
		}
		json_t *entry = json_pack("{s:O, s:o, s:s}", "CidrCollection",
					  json_object_get(item, "CidrCollection"), "cidr_blocks", blocks,
					  "where", file ? file : c->path);
		free(file);
		if (entry == NULL || json_array_append_new(copy, entry) != 0) {
			json_decref(copy);
			return ERR_NOMEM;
		}
	}
	c->cidr_collections = copy;
	return ERR_OK;
}

/* query_log_format ("text", "json", "route53") and server_id (the edge location written
 * in the log: one word; default the host name, else "r53d"). */
static int load_qlog_format(conf_t *c, cerr_t *e, json_t *root)
{
	json_t *f = json_object_get(root, "query_log_format");
	c->query_log_format = QLOG_TEXT;
	if (f != NULL && (!json_is_string(f) ||
			  qlog_format_parse(json_string_value(f), &c->query_log_format) != ERR_OK))
		return fail(e, "query_log_format", "must be \"text\", \"json\" or \"route53\"");
	json_t *sid = json_object_get(root, "server_id");
	char host[256] = "";
	const char *v = "r53d";
	if (sid != NULL) {
		if (!json_is_string(sid))
			return fail(e, "server_id", "must be a string");
		v = json_string_value(sid);
	} else if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') {
		v = host;
	}
	size_t n = strlen(v);
	bool ok = n > 0 && n <= 64;
	for (size_t i = 0; ok && i < n; i++)
		ok = v[i] > 32 && v[i] < 127;
	if (!ok) {
		if (sid != NULL)
			return fail(e, "server_id", "must be 1 to 64 printable characters without "
						    "spaces (an edge location such as \"FRA6\")");
		v = "r53d"; /* a host name we cannot write as one field */
	}
	c->server_id = strdup(v);
	return c->server_id == NULL ? ERR_NOMEM : ERR_OK;
}

/* rrl: response rate limiting (rrl.h reads and checks the object). */
static int load_rrl(conf_t *c, cerr_t *e, json_t *v)
{
	char path[64] = "rrl", why[256] = "";
	int ret = rrl_conf_parse(v, &c->rrl, path, sizeof(path), why, sizeof(why));
	return ret == ERR_INVAL ? fail(e, path, "%s", why) : ret;
}

/* dnssec: KSK files by KMS ARN, ZSK rollover timing, the signature cache. Every key file
 * is loaded here, so that a bad one refuses the configuration (never its contents in the
 * message: dnssec_key_load_file names the file and the reason only). */
static int load_dnssec(conf_t *c, cerr_t *e, json_t *v)
{
	static const char *const keys[] = { "kms_keys", "signature_cache", "dnskey_ttl",
					    "zsk_lifetime", "zsk_prepublish", "zsk_retire", NULL };
	conf_dnssec_t *d = &c->dnssec;
	d->signature_cache = ZSIGN_CACHE_DEFAULT;
	d->dnskey_ttl = 3600;
	d->zsk_lifetime = 30u * 86400u;
	d->zsk_prepublish = 86400u;
	d->zsk_retire = 8u * 86400u;
	if (v == NULL)
		return ERR_OK;
	if (!json_is_object(v))
		return fail(e, "dnssec", "must be an object");
	int ret = check_keys(e, "dnssec", v, keys);
	if (ret != ERR_OK)
		return ret;
	json_t *sc = json_object_get(v, "signature_cache");
	if (sc != NULL) {
		if (!json_is_integer(sc) || json_integer_value(sc) < 65536 ||
		    json_integer_value(sc) > ((json_int_t)1 << 40))
			return fail(e, "dnssec.signature_cache",
				    "must be an integer in 65536..1099511627776 (bytes per worker)");
		d->signature_cache = (size_t)json_integer_value(sc);
	}
	unsigned u;
	u = d->dnskey_ttl;
	if ((ret = get_uint(e, "dnssec.dnskey_ttl", json_object_get(v, "dnskey_ttl"), 1, 604800,
			    &u)) != ERR_OK)
		return ret;
	d->dnskey_ttl = u;
	u = d->zsk_lifetime;
	if ((ret = get_uint(e, "dnssec.zsk_lifetime", json_object_get(v, "zsk_lifetime"), 2,
			    UINT32_MAX, &u)) != ERR_OK)
		return ret;
	d->zsk_lifetime = u;
	u = d->zsk_prepublish;
	if ((ret = get_uint(e, "dnssec.zsk_prepublish", json_object_get(v, "zsk_prepublish"), 1,
			    UINT32_MAX, &u)) != ERR_OK)
		return ret;
	d->zsk_prepublish = u;
	u = d->zsk_retire;
	if ((ret = get_uint(e, "dnssec.zsk_retire", json_object_get(v, "zsk_retire"), 1,
			    UINT32_MAX, &u)) != ERR_OK)
		return ret;
	d->zsk_retire = u;
	if (d->zsk_prepublish < d->dnskey_ttl)
		return fail(e, "dnssec.zsk_prepublish",
			    "must be at least dnssec.dnskey_ttl (%u): resolvers must see the next "
			    "ZSK before it signs",
			    d->dnskey_ttl);
	if (d->zsk_lifetime <= d->zsk_prepublish)
		return fail(e, "dnssec.zsk_lifetime", "must be larger than dnssec.zsk_prepublish (%u)",
			    d->zsk_prepublish);

	json_t *km = json_object_get(v, "kms_keys");
	if (km == NULL)
		return ERR_OK;
	if (!json_is_object(km))
		return fail(e, "dnssec.kms_keys",
			    "must be an object mapping KeyManagementServiceArn to a key file");
	size_t n = json_object_size(km);
	d->kms_keys = json_object();
	d->kms_arns = calloc(n ? n : 1, sizeof(*d->kms_arns));
	d->kms_loaded = calloc(n ? n : 1, sizeof(*d->kms_loaded));
	if (d->kms_keys == NULL || d->kms_arns == NULL || d->kms_loaded == NULL)
		return ERR_NOMEM;
	const char *arn;
	json_t *fv;
	json_object_foreach(km, arn, fv) {
		char p[512];
		snprintf(p, sizeof(p), "dnssec.kms_keys[\"%.400s\"]", arn);
		if (!json_is_string(fv) || json_string_length(fv) == 0)
			return fail(e, p, "must be the path of a PKCS#8 PEM file (ECDSA P-256)");
		char *fp = resolve_path(c, json_string_value(fv));
		if (fp == NULL)
			return ERR_NOMEM;
		char why[600] = "";
		struct dnssec_key *k = NULL;
		ret = dnssec_key_load_file(&k, fp, DNSSEC_FLAGS_KSK, why, sizeof(why));
		if (ret != ERR_OK) {
			ret = ret == ERR_NOMEM ? ERR_NOMEM
					       : fail(e, p, "%s", why[0] ? why : err_str(ret));
			free(fp);
			return ret;
		}
		d->kms_arns[d->n_kms] = strdup(arn);
		d->kms_loaded[d->n_kms] = k;
		if (d->kms_arns[d->n_kms] == NULL) {
			dnssec_key_free(k);
			d->kms_loaded[d->n_kms] = NULL;
			free(fp);
			return ERR_NOMEM;
		}
		d->n_kms++;
		ret = json_object_set_new(d->kms_keys, arn, json_string(fp)) == 0 ? ERR_OK
										  : ERR_NOMEM;
		free(fp);
		if (ret != ERR_OK)
			return ret;
	}
	return ERR_OK;
}

struct dnssec_key *conf_kms_key(const conf_dnssec_t *d, const char *arn)
{
	for (size_t i = 0; arn != NULL && i < d->n_kms; i++)
		if (strcmp(d->kms_arns[i], arn) == 0)
			return d->kms_loaded[i];
	return NULL;
}

static int load_top(conf_t *c, cerr_t *e, json_t *root)
{
	static const char *const keys[] = {
		"listen", "workers", "admin", "geo", "health", "health_checks",
		"cidr_collections", "vpcs", "hosted_zones", "cname_chasing", "authority_ns",
		"wildcard_parent_nxdomain", "edns_udp_size", "chaos", "nsid", "tcp", "query_log",
		"query_log_format", "server_id",
		"store", "api", "name_servers", "rrl", "answer_cache", "answer_cache_size", "dnssec", NULL,
	};
	if (!json_is_object(root))
		return fail(e, "(top)", "the configuration must be a JSON object");
	int ret = check_keys(e, "", root, keys);
	if (ret != ERR_OK)
		return ret;

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	c->workers = ncpu > 0 ? (unsigned)ncpu : 1;
	c->tcp_idle_ms = 10000;
	c->tcp_max_conns = 1000;
	c->cname_chasing = true;
	c->answer_cache = true;
	c->authority_ns = true;
	c->edns_udp_size = 1232;

	if ((ret = load_listen(c, e, json_object_get(root, "listen"))) != ERR_OK)
		return ret;
	if ((ret = get_uint(e, "workers", json_object_get(root, "workers"), 1, 256,
			    &c->workers)) != ERR_OK)
		return ret;
	if ((ret = get_bool(e, root, "cname_chasing", &c->cname_chasing)) != ERR_OK ||
	    (ret = get_bool(e, root, "answer_cache", &c->answer_cache)) != ERR_OK ||
	    (ret = get_bool(e, root, "authority_ns", &c->authority_ns)) != ERR_OK ||
	    (ret = get_bool(e, root, "wildcard_parent_nxdomain", &c->wildcard_parent_nxdomain)) !=
		    ERR_OK)
		return ret;
	c->answer_cache_size = ACACHE_DEFAULT_BYTES;
	json_t *acs = json_object_get(root, "answer_cache_size");
	if (acs != NULL) {
		if (!json_is_integer(acs) || json_integer_value(acs) < 65536 ||
		    json_integer_value(acs) > ((json_int_t)1 << 40))
			return fail(e, "answer_cache_size",
				    "must be an integer in 65536..1099511627776 (bytes per worker)");
		c->answer_cache_size = (size_t)json_integer_value(acs);
	}
	unsigned usz = c->edns_udp_size;
	if ((ret = get_uint(e, "edns_udp_size", json_object_get(root, "edns_udp_size"), 512, 4096,
			    &usz)) != ERR_OK)
		return ret;
	c->edns_udp_size = (uint16_t)usz;
	if ((ret = load_chaos(c, e, json_object_get(root, "chaos"))) != ERR_OK ||
	    (ret = load_nsid(c, e, json_object_get(root, "nsid"))) != ERR_OK ||
	    (ret = load_tcp(c, e, json_object_get(root, "tcp"))) != ERR_OK ||
	    (ret = load_admin(c, e, json_object_get(root, "admin"))) != ERR_OK)
		return ret;

	json_t *ql = json_object_get(root, "query_log");
	if (ql != NULL && !json_is_false(ql)) {
		if (!json_is_string(ql))
			return fail(e, "query_log", "must be a file path, \"-\" (stderr) or false");
		const char *qs = json_string_value(ql);
		c->query_log = strcmp(qs, "-") == 0 ? strdup(qs) : resolve_path(c, qs);
		if (c->query_log == NULL)
			return ERR_NOMEM;
	}
	if ((ret = load_qlog_format(c, e, root)) != ERR_OK)
		return ret;

	if ((ret = load_store(c, e, json_object_get(root, "store"))) != ERR_OK ||
	    (ret = load_api(c, e, json_object_get(root, "api"))) != ERR_OK ||
	    (ret = load_name_servers(c, e, json_object_get(root, "name_servers"))) != ERR_OK ||
	    (ret = load_rrl(c, e, json_object_get(root, "rrl"))) != ERR_OK ||
	    (ret = load_dnssec(c, e, json_object_get(root, "dnssec"))) != ERR_OK)
		return ret;

	json_t *v;
	if ((v = json_object_get(root, "geo")) != NULL) {
		if (!json_is_object(v))
			return fail(e, "geo", "must be an object");
		c->geo = json_incref(v);
	}
	if ((v = json_object_get(root, "health")) != NULL) {
		if (!json_is_object(v))
			return fail(e, "health", "must be an object");
		c->health = json_incref(v);
	}
	if ((v = json_object_get(root, "health_checks")) != NULL &&
	    (ret = load_aws_value(c, e, "health_checks", v, &c->health_checks,
				  &c->health_checks_file)) != ERR_OK)
		return ret;
	if ((v = json_object_get(root, "cidr_collections")) != NULL &&
	    (ret = load_cidr_collections(c, e, v)) != ERR_OK)
		return ret;
	if ((v = json_object_get(root, "vpcs")) != NULL) {
		if (!json_is_array(v))
			return fail(e, "vpcs", "must be an array");
		c->vpcs = json_incref(v);
	}
	return load_zones(c, e, json_object_get(root, "hosted_zones"));
}

int conf_load(const char *path, conf_t **out, char *err, size_t errlen)
{
	cerr_t e = { .file = path, .buf = err, .len = errlen };
	json_error_t je;
	int ret;

	*out = NULL;
	conf_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ERR_NOMEM;
	c->path = strdup(path);
	const char *slash = strrchr(path, '/');
	c->dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	if (c->path == NULL || c->dir == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		bool io = je.line <= 0 && je.position == 0;
		if (err != NULL && errlen > 0) {
			if (io)
				snprintf(err, errlen, "%s: %s", path, je.text);
			else
				snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column,
					 je.text);
		}
		ret = io ? ERR_IO : ERR_PARSE;
		goto out;
	}
	ret = load_top(c, &e, root);
	json_decref(root);
	if (ret == ERR_NOMEM && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: out of memory", path);
out:
	if (ret != ERR_OK) {
		conf_free(c);
		return ret;
	}
	*out = c;
	return ERR_OK;
}

void conf_free(conf_t *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_zones; i++) {
		conf_zone_t *z = &c->zones[i];
		free(z->id);
		free(z->name);
		free(z->zone_file);
		free(z->record_sets_file);
		free(z->where);
		json_decref(z->record_sets);
		json_decref(z->vpcs);
	}
	free(c->zones);
	free(c->listen);
	free(c->chaos_version);
	free(c->chaos_id);
	free(c->nsid);
	free(c->admin_listen);
	free(c->query_log);
	free(c->server_id);
	free(c->store_path);
	json_decref(c->store_etcd);
	for (size_t i = 0; i < c->store_etcd_n_endpoints; i++)
		free(c->store_etcd_endpoints[i]);
	free(c->store_etcd_endpoints);
	free(c->store_etcd_prefix);
	free(c->store_etcd_node_id);
	free(c->store_etcd_region);
	json_decref(c->api_credentials);
	json_decref(c->name_servers);
	rrl_conf_clear(&c->rrl);
	json_decref(c->dnssec.kms_keys);
	for (size_t i = 0; i < c->dnssec.n_kms; i++) {
		free(c->dnssec.kms_arns[i]);
		dnssec_key_free(c->dnssec.kms_loaded[i]);
	}
	free(c->dnssec.kms_arns);
	free(c->dnssec.kms_loaded);
	free(c->health_checks_file);
	json_decref(c->geo);
	json_decref(c->health);
	json_decref(c->health_checks);
	json_decref(c->cidr_collections);
	json_decref(c->vpcs);
	free(c->path);
	free(c->dir);
	free(c);
}
