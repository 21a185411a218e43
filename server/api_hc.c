/* SPDX-License-Identifier: MIT */
/*
 * api_hc.c -- Route 53 API handlers for health checks, CIDR collections, tags and the
 * account limits (ROUTE53-API.md 3.12-3.20, 3.22-3.28).
 *
 * Every handler reads the model (model.h) and never changes a document it holds: a write
 * builds new documents, puts them into a transaction and hands it to api_submit(). The
 * response (c->out, in the member order of the service model) is prepared before that.
 *
 * Health-check configurations are validated by the one validator of healthcheck/
 * (hc_conf_check) on top of the few checks only the API makes (RequestInterval 10 or 30,
 * Port required for TCP, children that exist, fields that cannot be updated).
 *
 * List tokens of the CIDR operations (NextToken) are the hex encoding of the sort key of
 * the first item of the next page; a page starts at the first item whose key is >= the
 * token's, so a token stays valid when items are added or removed in between.
 *
 * Thread notes: control thread only (api_int.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h> /* api_int.h embeds struct evkeyvalq */

#include "api_int.h"
#include "err.h"
#include "geo.h"
#include "model.h"

/** The HealthCheckConfig members in model order (ROUTE53-API.md 2). */
static const char *const cfg_order[] = {
	"IPAddress", "Port", "Type", "ResourcePath", "FullyQualifiedDomainName",
	"SearchString", "RequestInterval", "FailureThreshold", "MeasureLatency", "Inverted",
	"Disabled", "HealthThreshold", "ChildHealthChecks", "EnableSNI", "Regions",
	"AlarmIdentifier", "InsufficientDataHealthStatus", "RoutingControlArn",
};

static const char *const hc_types[] = {
	"HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP", "CALCULATED",
	"CLOUDWATCH_METRIC", "RECOVERY_CONTROL",
};

/** UpdateHealthCheckRequest members that change the configuration. */
static const char *const upd_fields[] = {
	"IPAddress", "Port", "ResourcePath", "FullyQualifiedDomainName", "SearchString",
	"FailureThreshold", "Inverted", "Disabled", "HealthThreshold", "ChildHealthChecks",
	"EnableSNI", "Regions", "AlarmIdentifier", "InsufficientDataHealthStatus",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define HC_LIST_DEFAULT 100
#define HC_LIST_MAX 1000
#define CIDR_LIST_DEFAULT 100
#define CIDR_LIST_MAX 1000
#define MAX_TAGS 10
#define LIMIT_HEALTH_CHECKS 200
#define LIMIT_HOSTED_ZONES 500

/* ---- small helpers ---- */

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static const char *str_or(const char *s)
{
	return s != NULL ? s : "";
}

static int nomem(api_call_t *c)
{
	return api_fail(c, 500, "InternalFailure", "out of memory");
}

/** The request body must be an <op>Request element; else MalformedInput. */
static bool body_ok(api_call_t *c, const char *root)
{
	if (c->body != NULL && json_is_object(c->body) && strcmp(c->body_root, root) == 0)
		return true;
	if (c->body_root[0] == '\0')
		api_fail(c, 400, "MalformedInput", "Request body is missing, expected %s", root);
	else
		api_fail(c, 400, "MalformedInput", "Request body is not valid, expected %s",
			 root);
	return false;
}

/** Set the Location header of a create: http://HOST/2013-04-01/KIND/ID. */
static void set_location(api_call_t *c, const char *kind, const char *id)
{
	const char *host = NULL;
	if (c->req != NULL)
		host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
	if (host == NULL || host[0] == '\0' || strpbrk(host, "\r\n/ ") != NULL)
		host = "route53.amazonaws.com";
	snprintf(c->location, sizeof(c->location), "http://%s/2013-04-01/%s/%s", host, kind, id);
}

/** {"NAME": v} with v's reference stolen; NULL when out of memory. */
static json_t *wrap(const char *name, json_t *v)
{
	json_t *o = v != NULL ? json_object() : NULL;
	if (o == NULL || json_object_set_new(o, name, v) < 0) {
		if (o == NULL)
			json_decref(v);
		json_decref(o);
		return NULL;
	}
	return o;
}

/** Length of a JSON string member, or -1 when absent or not a string. */
static long str_len(const json_t *obj, const char *name)
{
	const json_t *v = json_object_get(obj, name);
	return json_is_string(v) ? (long)json_string_length(v) : -1;
}

/** The caller reference record of (kind, ref) (m->refs holds "KIND/REF", REF decoded),
 *  or NULL. */
static json_t *ref_find(const model_t *m, const char *kind, const char *ref)
{
	char key[300];
	snprintf(key, sizeof(key), "%s/%s", kind, ref);
	return json_object_get(m->refs, key);
}

/** Put /callerrefs/KIND/<REF> = {"Id", "Deleted"} into t. */
static int ref_put(model_txn_t *t, const char *kind, const char *ref, const char *id,
		   bool deleted)
{
	char enc[256], key[320];
	if (model_key_part(enc, sizeof(enc), ref) != ERR_OK)
		return ERR_LIMIT;
	snprintf(key, sizeof(key), "/callerrefs/%s/%s", kind, enc);
	json_t *doc = json_pack("{s:s, s:b}", "Id", id, "Deleted", deleted);
	if (doc == NULL)
		return ERR_NOMEM;
	return model_txn_put(t, key, doc);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/** The keys of a JSON object, sorted (caller frees the array, not the strings). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
	size_t k = json_object_size(obj), i = 0;
	const char **keys = malloc((k ? k : 1) * sizeof(*keys));
	const char *key;
	json_t *v;
	if (keys == NULL)
		return NULL;
	json_object_foreach((json_t *)obj, key, v)
		keys[i++] = key;
	qsort(keys, i, sizeof(*keys), cmp_str);
	*n = i;
	return keys;
}

/* ---- pagination tokens (CIDR operations) ---- */

/** Hex-encode s into buf (len >= 2 * strlen(s) + 1). */
static void token_make(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (; *s != '\0' && o + 2 < len; s++) {
		buf[o++] = hex[(unsigned char)*s >> 4];
		buf[o++] = hex[(unsigned char)*s & 15];
	}
	buf[o] = '\0';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/**
 * Decode the nexttoken parameter into buf ("" when absent). A token that is not one of
 * ours fails with InvalidPaginationToken.
 */
static bool token_parse(api_call_t *c, char *buf, size_t len)
{
	const char *tok = api_q(c, "nexttoken");
	buf[0] = '\0';
	if (tok == NULL)
		return true;
	size_t n = strlen(tok);
	bool ok = n > 0 && n % 2 == 0 && n / 2 < len;
	for (size_t i = 0; ok && i < n; i += 2) {
		int hi = hexval(tok[i]), lo = hexval(tok[i + 1]);
		if (hi < 0 || lo < 0) {
			ok = false;
			break;
		}
		int ch = hi << 4 | lo;
		if (ch < 0x20 || ch > 0x7e)
			ok = false;
		else
			buf[i / 2] = (char)ch;
	}
	if (!ok) {
		buf[0] = '\0';
		api_fail(c, 400, "InvalidPaginationToken",
			 "The specified pagination token is not valid: %.200s", tok);
		return false;
	}
	buf[n / 2] = '\0';
	return true;
}

/** One item of a CIDR list, with its sort key. */
typedef struct page_item {
	char key[128];
	json_t *item; /* owned */
} page_item_t;

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const page_item_t *)a)->key, ((const page_item_t *)b)->key);
}

/**
 * Sort items and write the page that the request's nexttoken/maxresults select into
 * c->out as {"NextToken"?, list_name: [...]}. Frees the items' JSON.
 */
static int page_out(api_call_t *c, page_item_t *items, size_t n, const char *list_name,
		    const char *root)
{
	int ret = ERR_INVAL;
	char from[600];
	unsigned max;
	json_t *page = NULL, *list = NULL;
	qsort(items, n, sizeof(*items), cmp_item);
	if (!token_parse(c, from, sizeof(from)) ||
	    !api_maxitems(c, "maxresults", CIDR_LIST_DEFAULT, CIDR_LIST_MAX, &max))
		goto out;
	ret = ERR_NOMEM;
	size_t i = 0;
	while (from[0] != '\0' && i < n && strcmp(items[i].key, from) < 0)
		i++;
	page = json_object();
	list = json_array();
	if (page == NULL || list == NULL)
		goto out;
	for (size_t k = 0; i < n && k < max; i++, k++)
		if (json_array_append(list, items[i].item) < 0)
			goto out;
	if (i < n) {
		char tok[300];
		token_make(tok, sizeof(tok), items[i].key);
		if (json_object_set_new(page, "NextToken", json_string(tok)) < 0)
			goto out;
	}
	int r = json_object_set_new(page, list_name, list);
	list = NULL;
	if (r < 0)
		goto out;
	c->out = page;
	c->root = root;
	page = NULL;
	ret = ERR_OK;
out:
	json_decref(list);
	json_decref(page);
	for (size_t k = 0; k < n; k++)
		json_decref(items[k].item);
	return ret == ERR_NOMEM ? nomem(c) : API_DONE;
}

/* ---- health checks ---- */

static bool type_http(const char *t)
{
	return t != NULL && (strcmp(t, "HTTP") == 0 || strcmp(t, "HTTPS") == 0 ||
			     strcmp(t, "HTTP_STR_MATCH") == 0 || strcmp(t, "HTTPS_STR_MATCH") == 0);
}

static bool type_https(const char *t)
{
	return t != NULL && (strcmp(t, "HTTPS") == 0 || strcmp(t, "HTTPS_STR_MATCH") == 0);
}

/**
 * A new HealthCheckConfig: the members of in, in model order, with the defaults filled in
 * (RequestInterval 30, FailureThreshold 3, Port 80/443 for the HTTP types; MeasureLatency,
 * Inverted, Disabled false; EnableSNI true for the HTTPS types). Members the model does not
 * know are kept at the end, for the validator to reject. NULL when out of memory.
 */
static json_t *hc_cfg_normal(const json_t *in)
{
	const char *type = json_string_value(json_object_get(in, "Type"));
	bool known = in_list(type, hc_types, N_OF(hc_types));
	bool ep = type_http(type) || (type != NULL && strcmp(type, "TCP") == 0);
	json_t *cfg = json_object(), *ret = NULL;
	if (cfg == NULL)
		return NULL;
	for (size_t i = 0; i < N_OF(cfg_order); i++) {
		const char *name = cfg_order[i];
		json_t *v = json_object_get(in, name), *nv;
		if (v != NULL)
			nv = json_deep_copy(v);
		else if (strcmp(name, "Port") == 0 && type_http(type))
			nv = json_integer(type_https(type) ? 443 : 80);
		else if (strcmp(name, "RequestInterval") == 0 && ep)
			nv = json_integer(30);
		else if (strcmp(name, "FailureThreshold") == 0 && ep)
			nv = json_integer(3);
		else if (known && (strcmp(name, "MeasureLatency") == 0 ||
				   strcmp(name, "Inverted") == 0 || strcmp(name, "Disabled") == 0))
			nv = json_false();
		else if (known && strcmp(name, "EnableSNI") == 0)
			nv = json_boolean(type_https(type));
		else
			continue;
		if (nv == NULL || json_object_set_new(cfg, name, nv) < 0)
			goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v) {
		if (in_list(key, cfg_order, N_OF(cfg_order)))
			continue;
		if (json_object_set_new(cfg, key, json_deep_copy(v)) < 0)
			goto out;
	}
	ret = cfg;
	cfg = NULL;
out:
	json_decref(cfg);
	return ret;
}

/** A HealthCheck document {Id, CallerReference, [LinkedService,] HealthCheckConfig,
 *  HealthCheckVersion, [CloudWatchAlarmConfiguration]}; cfg's reference is stolen. */
static json_t *hc_doc(const char *id, const char *ref, const json_t *old, json_t *cfg,
		      json_int_t version)
{
	json_t *d = json_object(), *ret = NULL;
	if (d == NULL || cfg == NULL)
		goto out;
	if (json_object_set_new(d, "Id", json_string(id)) < 0 ||
	    json_object_set_new(d, "CallerReference", json_string(ref)) < 0)
		goto out;
	json_t *ls = json_object_get(old, "LinkedService");
	if (ls != NULL && json_object_set_new(d, "LinkedService", json_deep_copy(ls)) < 0)
		goto out;
	int r = json_object_set_new(d, "HealthCheckConfig", cfg);
	cfg = NULL;
	if (r < 0 || json_object_set_new(d, "HealthCheckVersion", json_integer(version)) < 0)
		goto out;
	json_t *cw = json_object_get(old, "CloudWatchAlarmConfiguration");
	if (cw != NULL &&
	    json_object_set_new(d, "CloudWatchAlarmConfiguration", json_deep_copy(cw)) < 0)
		goto out;
	ret = d;
	d = NULL;
out:
	json_decref(cfg);
	json_decref(d);
	return ret;
}

static int no_such_hc(api_call_t *c, const char *id)
{
	return api_fail(c, 404, "NoSuchHealthCheck", "A health check with id %s does not exist.",
			id);
}

/**
 * Validate a HealthCheck document as the API would store it. create: the checks that only
 * apply to a new check (RequestInterval 10 or 30, TCP needs a Port; req_cfg is the config
 * as the request gave it). On failure InvalidInput is set and false returned.
 */
static bool hc_validate(api_call_t *c, const json_t *doc, const json_t *req_cfg, bool create)
{
	int ret = ERR_INVAL;
	const char *id = json_string_value(json_object_get(doc, "Id"));
	const json_t *cfg = json_object_get(doc, "HealthCheckConfig");
	const char *type = json_string_value(json_object_get(cfg, "Type"));
	json_t *checks = NULL, *list = NULL, *settings = NULL;
	char err[1024];

	if (type == NULL || !in_list(type, hc_types, N_OF(hc_types))) {
		api_fail(c, 400, "InvalidInput",
			 "Invalid parameter : HealthCheckConfig.Type must be one of HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED, CLOUDWATCH_METRIC, RECOVERY_CONTROL");
		goto out;
	}
	if (create) {
		const json_t *ri = json_object_get(req_cfg, "RequestInterval");
		if (ri != NULL && (!json_is_integer(ri) || (json_integer_value(ri) != 10 &&
							     json_integer_value(ri) != 30))) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid parameter : HealthCheckConfig.RequestInterval must be 10 or 30");
			goto out;
		}
		if (strcmp(type, "TCP") == 0 && json_object_get(req_cfg, "Port") == NULL) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid parameter : HealthCheckConfig.Port is required for a TCP health check");
			goto out;
		}
	}
	const json_t *an = json_object_get(json_object_get(cfg, "AlarmIdentifier"), "Name");
	if (an != NULL && (!json_is_string(an) || json_string_length(an) < 1 ||
			   json_string_length(an) > 256)) {
		api_fail(c, 400, "InvalidInput",
			 "Invalid parameter : AlarmIdentifier.Name must be 1..256 characters");
		goto out;
	}

	checks = json_array();
	list = wrap("HealthChecks", checks);
	if (list == NULL || json_array_append(checks, (json_t *)doc) < 0) {
		ret = ERR_NOMEM;
		goto out;
	}
	/* the children, so that the validator can resolve them */
	const json_t *kids = json_object_get(cfg, "ChildHealthChecks");
	for (size_t i = 0; json_is_array(kids) && i < json_array_size(kids); i++) {
		const char *kid = json_string_value(json_array_get(kids, i));
		if (kid == NULL || strlen(kid) > 64) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid parameter : ChildHealthChecks[%zu] must be a health check Id",
				 i);
			goto out;
		}
		json_t *kd = model_hc(c->m, kid);
		if (kd == NULL) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid parameter : ChildHealthChecks: a health check with id %s does not exist.",
				 kid);
			goto out;
		}
		if (id != NULL && strcmp(kid, id) == 0)
			continue;
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = strcmp(kid, json_string_value(json_array_get(kids, k))) == 0;
		if (!dup && json_array_append(checks, kd) < 0) {
			ret = ERR_NOMEM;
			goto out;
		}
	}
	/* the settings without health.force (it may name checks outside this list) */
	const conf_t *conf = api_conf(c);
	if (conf != NULL && json_is_object(conf->health)) {
		settings = json_copy(conf->health);
		if (settings == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
		json_object_del(settings, "force");
	}
	if (hc_conf_check(settings, conf != NULL ? conf->path : NULL, list, "request", err,
			  sizeof(err)) != HC_OK) {
		const char *msg = err;
		if (strncmp(msg, "request: ", 9) == 0)
			msg += 9;
		if (strncmp(msg, "HealthChecks[0].", 16) == 0)
			msg += 16;
		api_fail(c, 400, "InvalidInput", "Invalid parameter : %s", msg);
		goto out;
	}
	ret = ERR_OK;
out:
	json_decref(settings);
	json_decref(list);
	if (ret == ERR_NOMEM)
		nomem(c);
	return ret == ERR_OK;
}

/** Find the live check created with CallerReference ref; *deleted when it was deleted. */
static json_t *hc_by_ref(const model_t *m, const char *ref, bool *deleted)
{
	*deleted = false;
	json_t *r = ref_find(m, "healthcheck", ref);
	if (r != NULL) {
		const char *id = json_string_value(json_object_get(r, "Id"));
		json_t *doc = id != NULL ? model_hc(m, id) : NULL;
		if (json_is_true(json_object_get(r, "Deleted")) || doc == NULL) {
			*deleted = true;
			return NULL;
		}
		return doc;
	}
	const char *key;
	json_t *doc;
	json_object_foreach(m->hcs, key, doc) {
		const char *dr = json_string_value(json_object_get(doc, "CallerReference"));
		if (dr != NULL && strcmp(dr, ref) == 0)
			return doc;
	}
	return NULL;
}

int api_create_health_check(api_call_t *c)
{
	int ret = API_DONE;
	json_t *cfg = NULL, *doc = NULL;
	model_txn_t *t = NULL;
	char id[64];

	if (!body_ok(c, "CreateHealthCheckRequest"))
		return API_DONE;
	const char *ref = json_string_value(json_object_get(c->body, "CallerReference"));
	const json_t *req_cfg = json_object_get(c->body, "HealthCheckConfig");
	if (ref == NULL || ref[0] == '\0' || strlen(ref) > 64)
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : CallerReference is required, 1..64 characters");
	if (!json_is_object(req_cfg))
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : HealthCheckConfig is required");
	if ((cfg = hc_cfg_normal(req_cfg)) == NULL)
		return nomem(c);

	bool deleted;
	json_t *old = hc_by_ref(c->m, ref, &deleted);
	if (deleted || old != NULL) {
		json_t *ocfg = old != NULL ? hc_cfg_normal(json_object_get(old, "HealthCheckConfig"))
					   : NULL;
		bool same = ocfg != NULL && json_equal(ocfg, cfg);
		json_decref(ocfg);
		if (!same) {
			ret = api_fail(c, 409, "HealthCheckAlreadyExists",
				       "A health check with the CallerReference %s already exists%s.",
				       ref, deleted ? " (it was deleted)"
						    : " with a different configuration");
			goto out;
		}
		/* a retry of the same request: the same check */
		const char *oid = json_string_value(json_object_get(old, "Id"));
		if ((c->out = wrap("HealthCheck", json_incref(old))) == NULL) {
			ret = nomem(c);
			goto out;
		}
		c->root = "CreateHealthCheckResponse";
		c->status = 201;
		set_location(c, "healthcheck", oid != NULL ? oid : "");
		goto out;
	}

	model_new_uuid(id, sizeof(id));
	doc = hc_doc(id, ref, NULL, cfg, 1);
	cfg = NULL;
	if (doc == NULL) {
		ret = nomem(c);
		goto out;
	}
	if (!hc_validate(c, doc, req_cfg, true))
		goto out;

	char key[1100];
	snprintf(key, sizeof(key), "/healthchecks/%s", id);
	if ((t = model_txn_new(c->m)) == NULL || model_txn_put(t, key, json_incref(doc)) != ERR_OK ||
	    ref_put(t, "healthcheck", ref, id, false) != ERR_OK ||
	    (c->out = wrap("HealthCheck", json_incref(doc))) == NULL) {
		ret = nomem(c);
		goto out;
	}
	c->root = "CreateHealthCheckResponse";
	c->status = 201;
	set_location(c, "healthcheck", id);
	ret = api_submit(c, t, "InvalidInput");
	t = NULL;
out:
	model_txn_free(t);
	json_decref(doc);
	json_decref(cfg);
	return ret;
}

int api_get_health_check(api_call_t *c)
{
	const char *id = c->path[0];
	json_t *doc = model_hc(c->m, id);
	if (doc == NULL)
		return no_such_hc(c, id);
	if ((c->out = wrap("HealthCheck", json_incref(doc))) == NULL)
		return nomem(c);
	c->root = "GetHealthCheckResponse";
	return API_DONE;
}

int api_list_health_checks(api_call_t *c)
{
	int ret = ERR_NOMEM;
	unsigned max;
	size_t n = 0;
	const char **ids = NULL;
	json_t *page = NULL, *list = NULL;
	const char *marker = api_q(c, "marker");
	char maxs[16];

	if (!api_maxitems(c, "maxitems", HC_LIST_DEFAULT, HC_LIST_MAX, &max))
		return API_DONE;
	if (marker != NULL && strlen(marker) > 64)
		return api_fail(c, 400, "InvalidInput", "Invalid parameter : marker is too long");
	if ((ids = sorted_keys(c->m->hcs, &n)) == NULL)
		return nomem(c);
	size_t i = 0;
	while (marker != NULL && i < n && strcmp(ids[i], marker) < 0)
		i++;
	page = json_object();
	list = json_array();
	if (page == NULL || list == NULL)
		goto out;
	for (size_t k = 0; i < n && k < max; i++, k++)
		if (json_array_append(list, model_hc(c->m, ids[i])) < 0)
			goto out;
	snprintf(maxs, sizeof(maxs), "%u", max);
	int r = json_object_set_new(page, "HealthChecks", list);
	list = NULL;
	if (r < 0 ||
	    (marker != NULL && json_object_set_new(page, "Marker", json_string(marker)) < 0) ||
	    json_object_set_new(page, "IsTruncated", json_boolean(i < n)) < 0 ||
	    (i < n && json_object_set_new(page, "NextMarker", json_string(ids[i])) < 0) ||
	    json_object_set_new(page, "MaxItems", json_string(maxs)) < 0)
		goto out;
	c->out = page;
	c->root = "ListHealthChecksResponse";
	page = NULL;
	ret = ERR_OK;
out:
	json_decref(list);
	json_decref(page);
	free(ids);
	return ret == ERR_NOMEM ? nomem(c) : API_DONE;
}

int api_update_health_check(api_call_t *c)
{
	int ret = API_DONE;
	const char *id = c->path[0];
	json_t *cfg = NULL, *ncfg = NULL, *doc = NULL;
	model_txn_t *t = NULL;

	json_t *old = model_hc(c->m, id);
	if (old == NULL)
		return no_such_hc(c, id);
	if (!body_ok(c, "UpdateHealthCheckRequest"))
		return API_DONE;
	const json_t *ocfg = json_object_get(old, "HealthCheckConfig");
	const char *type = json_string_value(json_object_get(ocfg, "Type"));
	if (type != NULL && strcmp(type, "RECOVERY_CONTROL") == 0)
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : Update is not supported for this health check type.");

	const char *key;
	json_t *v;
	json_object_foreach(c->body, key, v) {
		if (strcmp(key, "Type") == 0 || strcmp(key, "RequestInterval") == 0 ||
		    strcmp(key, "MeasureLatency") == 0)
			return api_fail(c, 400, "InvalidInput",
					"Invalid parameter : %s cannot be changed after a health check is created",
					key);
		if (strcmp(key, "HealthCheckVersion") != 0 && strcmp(key, "ResetElements") != 0 &&
		    !in_list(key, upd_fields, N_OF(upd_fields)))
			return api_fail(c, 400, "InvalidInput",
					"Invalid parameter : %s is not a member of UpdateHealthCheckRequest",
					key);
	}
	json_int_t version = json_integer_value(json_object_get(old, "HealthCheckVersion"));
	if (version < 1)
		version = 1;
	const json_t *rv = json_object_get(c->body, "HealthCheckVersion");
	if (rv != NULL) {
		if (!json_is_integer(rv) || json_integer_value(rv) < 1)
			return api_fail(c, 400, "InvalidInput",
					"Invalid parameter : HealthCheckVersion must be an integer >= 1");
		if (json_integer_value(rv) != version)
			return api_fail(c, 409, "HealthCheckVersionMismatch",
					"The value of HealthCheckVersion in the request (%lld) doesn't match the current version (%lld) of health check %s.",
					(long long)json_integer_value(rv), (long long)version, id);
	}

	if ((cfg = json_deep_copy(ocfg)) == NULL)
		return nomem(c);
	const json_t *reset = json_object_get(c->body, "ResetElements");
	if (reset != NULL) {
		static const char *const resettable[] = { "FullyQualifiedDomainName", "Regions",
							  "ResourcePath", "ChildHealthChecks" };
		if (!json_is_array(reset) || json_array_size(reset) > 64) {
			ret = api_fail(c, 400, "InvalidInput",
				       "Invalid parameter : ResetElements must list at most 64 element names");
			goto out;
		}
		for (size_t i = 0; i < json_array_size(reset); i++) {
			const char *name = json_string_value(json_array_get(reset, i));
			if (!in_list(name, resettable, N_OF(resettable))) {
				ret = api_fail(c, 400, "InvalidInput",
					       "Invalid parameter : ResetElements[%zu] must be FullyQualifiedDomainName, Regions, ResourcePath or ChildHealthChecks",
					       i);
				goto out;
			}
			json_object_del(cfg, name);
		}
	}
	for (size_t i = 0; i < N_OF(upd_fields); i++) {
		json_t *nv = json_object_get(c->body, upd_fields[i]);
		if (nv != NULL && json_object_set_new(cfg, upd_fields[i], json_deep_copy(nv)) < 0) {
			ret = nomem(c);
			goto out;
		}
	}
	const char *ref = json_string_value(json_object_get(old, "CallerReference"));
	if ((ncfg = hc_cfg_normal(cfg)) == NULL ||
	    (doc = hc_doc(id, ref != NULL ? ref : "", old, ncfg, version + 1)) == NULL) {
		ncfg = NULL;
		ret = nomem(c);
		goto out;
	}
	ncfg = NULL;
	if (!hc_validate(c, doc, NULL, false))
		goto out;

	char k[1100];
	snprintf(k, sizeof(k), "/healthchecks/%s", id);
	if ((t = model_txn_new(c->m)) == NULL || model_txn_put(t, k, json_incref(doc)) != ERR_OK ||
	    (c->out = wrap("HealthCheck", json_incref(doc))) == NULL) {
		ret = nomem(c);
		goto out;
	}
	c->root = "UpdateHealthCheckResponse";
	ret = api_submit(c, t, "InvalidInput");
	t = NULL;
out:
	model_txn_free(t);
	json_decref(doc);
	json_decref(ncfg);
	json_decref(cfg);
	return ret;
}

int api_delete_health_check(api_call_t *c)
{
	const char *id = c->path[0];
	json_t *doc = model_hc(c->m, id);
	char key[1100];
	if (doc == NULL)
		return no_such_hc(c, id);

	/* a calculated check that lists it would stop validating */
	const char *pid;
	json_t *p;
	json_object_foreach(c->m->hcs, pid, p) {
		const json_t *kids =
			json_object_get(json_object_get(p, "HealthCheckConfig"), "ChildHealthChecks");
		for (size_t i = 0; i < json_array_size(kids); i++) {
			const char *kid = json_string_value(json_array_get(kids, i));
			if (kid != NULL && strcmp(kid, id) == 0 && strcmp(pid, id) != 0)
				return api_fail(c, 400, "HealthCheckInUse",
						"Health check %s is a child of the calculated health check %s; remove it from ChildHealthChecks first.",
						id, pid);
		}
	}

	model_txn_t *t = model_txn_new(c->m);
	if (t == NULL)
		return nomem(c);
	snprintf(key, sizeof(key), "/healthchecks/%s", id);
	int r = model_txn_put(t, key, NULL);
	if (r == ERR_OK && json_object_get(c->m->hc_tags, id) != NULL) {
		snprintf(key, sizeof(key), "/healthchecks/%s/tags", id);
		r = model_txn_put(t, key, NULL);
	}
	if (r == ERR_OK && json_object_get(c->m->hc_state, id) != NULL) {
		snprintf(key, sizeof(key), "/hcstate/%s", id);
		r = model_txn_put(t, key, NULL);
	}
	const char *ref = json_string_value(json_object_get(doc, "CallerReference"));
	if (r == ERR_OK && ref != NULL && ref[0] != '\0')
		r = ref_put(t, "healthcheck", ref, id, true);
	if (r != ERR_OK) {
		model_txn_free(t);
		return nomem(c);
	}
	c->out = NULL;
	c->root = "DeleteHealthCheckResponse";
	return api_submit(c, t, "InvalidInput");
}

/** Observations of check id from the health system: member (HealthCheckObservations or
 *  LastFailures) of its entry, as c->out under root. */
static int hc_observations(api_call_t *c, const char *member, const char *root)
{
	const char *id = c->path[0];
	json_t *doc = model_hc(c->m, id);
	json_t *st = NULL, *obs = NULL;
	if (doc == NULL)
		return no_such_hc(c, id);
	const char *type =
		json_string_value(json_object_get(json_object_get(doc, "HealthCheckConfig"), "Type"));
	bool calc = type != NULL && strcmp(type, "CALCULATED") == 0;
	if (calc && strcmp(member, "HealthCheckObservations") == 0)
		return api_fail(c, 400, "InvalidInput",
				"You can't use GetHealthCheckStatus to get the status of a calculated health check.");
	hc_system_t *hc = api_hc(c);
	if (!calc && hc != NULL) {
		if (hc_status_json(hc, &st) != HC_OK)
			return nomem(c);
		json_t *list = json_object_get(st, "HealthChecks");
		for (size_t i = 0; i < json_array_size(list); i++) {
			json_t *e = json_array_get(list, i);
			const char *eid = json_string_value(json_object_get(e, "Id"));
			if (eid != NULL && strcmp(eid, id) == 0) {
				obs = json_object_get(e, member);
				break;
			}
		}
	}
	obs = json_is_array(obs) ? json_incref(obs) : json_array();
	json_decref(st);
	if ((c->out = wrap("HealthCheckObservations", obs)) == NULL)
		return nomem(c);
	c->root = root;
	return API_DONE;
}

int api_get_health_check_status(api_call_t *c)
{
	return hc_observations(c, "HealthCheckObservations", "GetHealthCheckStatusResponse");
}

int api_get_health_check_last_failure_reason(api_call_t *c)
{
	return hc_observations(c, "LastFailures", "GetHealthCheckLastFailureReasonResponse");
}

int api_get_health_check_count(api_call_t *c)
{
	c->out = wrap("HealthCheckCount", json_integer((json_int_t)json_object_size(c->m->hcs)));
	if (c->out == NULL)
		return nomem(c);
	c->root = "GetHealthCheckCountResponse";
	return API_DONE;
}

int api_get_checker_ip_ranges(api_call_t *c)
{
	const conf_t *conf = api_conf(c);
	const json_t *src = conf != NULL ? json_object_get(conf->health, "sources") : NULL;
	json_t *list = json_array();
	if (list == NULL)
		return nomem(c);
	for (size_t i = 0; i < json_array_size(src); i++) {
		const char *a = json_string_value(json_array_get(src, i));
		unsigned char buf[16];
		char cidr[80];
		if (a == NULL)
			continue;
		bool v6 = inet_pton(AF_INET6, a, buf) == 1;
		snprintf(cidr, sizeof(cidr), "%s/%s", a, v6 ? "128" : "32");
		if (json_array_append_new(list, json_string(cidr)) < 0) {
			json_decref(list);
			return nomem(c);
		}
	}
	if (json_array_size(list) == 0 &&
	    json_array_append_new(list, json_string("127.0.0.1/32")) < 0) {
		json_decref(list);
		return nomem(c);
	}
	if ((c->out = wrap("CheckerIpRanges", list)) == NULL)
		return nomem(c);
	c->root = "GetCheckerIpRangesResponse";
	return API_DONE;
}

/* ---- CIDR collections ---- */

static bool valid_name(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

static int no_such_coll(api_call_t *c, const char *id)
{
	return api_fail(c, 404, "NoSuchCidrCollectionException",
			"No CIDR collection found with ID: %s", id);
}

/** Whether a record set of any zone routes on collection id (and location loc, if not
 *  NULL). */
static bool coll_used(const model_t *m, const char *id, const char *loc)
{
	for (size_t z = 0; z < m->n_zones; z++) {
		const char *name;
		json_t *sets;
		json_object_foreach(m->zones[z]->by_name, name, sets) {
			for (size_t s = 0; s < json_array_size(sets); s++) {
				const json_t *crc = json_object_get(json_array_get(sets, s),
								    "CidrRoutingConfig");
				const char *cid = json_string_value(json_object_get(crc, "CollectionId"));
				const char *cl = json_string_value(json_object_get(crc, "LocationName"));
				if (cid != NULL && strcmp(cid, id) == 0 &&
				    (loc == NULL || (cl != NULL && strcmp(cl, loc) == 0)))
					return true;
			}
		}
	}
	return false;
}

/** Canonical text of a CIDR block ("192.0.2.0/24", "2001:db8::/48"); false if invalid. */
static bool cidr_canon(const char *text, char *buf, size_t len, char *why, size_t whylen)
{
	geo_cidr_t net;
	char a[INET6_ADDRSTRLEN];
	if (text == NULL || strlen(text) > 50 || strchr(text, '/') == NULL) {
		snprintf(why, whylen, "\"%.60s\": not a CIDR block", text != NULL ? text : "");
		return false;
	}
	if (geo_cidr_parse(text, &net, why, whylen) != GEO_OK)
		return false;
	unsigned maxp = net.af == AF_INET ? 24 : 48;
	if (net.prefix < 1 || net.prefix > maxp) {
		snprintf(why, whylen, "\"%s\": the prefix length must be 1..%u", text, maxp);
		return false;
	}
	if (inet_ntop(net.af, net.addr, a, sizeof(a)) == NULL) {
		snprintf(why, whylen, "\"%s\": not a CIDR block", text);
		return false;
	}
	snprintf(buf, len, "%s/%u", a, net.prefix);
	return true;
}

/** The Collection {Arn, Id, Name, Version} of a stored collection document. */
static json_t *coll_summary(const json_t *doc)
{
	return json_object_get(doc, "Collection");
}

int api_create_cidr_collection(api_call_t *c)
{
	int ret = API_DONE;
	json_t *doc = NULL;
	model_txn_t *t = NULL;
	char id[64], arn[128], key[128];

	if (!body_ok(c, "CreateCidrCollectionRequest"))
		return API_DONE;
	const char *name = json_string_value(json_object_get(c->body, "Name"));
	const char *ref = json_string_value(json_object_get(c->body, "CallerReference"));
	if (!valid_name(name, 64))
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : Name must be 1..64 characters of [0-9A-Za-z_-]");
	bool ascii = ref != NULL && ref[0] != '\0' && strlen(ref) <= 64;
	for (const char *p = ref; ascii && *p != '\0'; p++)
		ascii = (unsigned char)*p < 0x80;
	if (!ascii)
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : CallerReference must be 1..64 ASCII characters");

	/* a retry of the same request, or a conflict */
	json_t *r = ref_find(c->m, "cidrcollection", ref);
	json_t *old = NULL;
	if (r != NULL) {
		const char *oid = json_string_value(json_object_get(r, "Id"));
		old = oid != NULL && !json_is_true(json_object_get(r, "Deleted"))
			      ? model_coll(c->m, oid)
			      : NULL;
		if (old == NULL)
			return api_fail(c, 400, "CidrCollectionAlreadyExistsException",
					"A CIDR collection with the CallerReference %s already existed and was deleted.",
					ref);
	}
	const char *ckey;
	json_t *cd;
	json_object_foreach(c->m->colls, ckey, cd) {
		const char *cref = json_string_value(json_object_get(cd, "CallerReference"));
		const char *cname =
			json_string_value(json_object_get(coll_summary(cd), "Name"));
		if (old == NULL && cref != NULL && strcmp(cref, ref) == 0)
			old = cd;
		else if (cname != NULL && strcmp(cname, name) == 0 && cd != old)
			return api_fail(c, 400, "CidrCollectionAlreadyExistsException",
					"A CIDR collection with the name %s already exists.", name);
	}
	if (old != NULL) {
		const json_t *sum = coll_summary(old);
		const char *oname = json_string_value(json_object_get(sum, "Name"));
		if (oname == NULL || strcmp(oname, name) != 0)
			return api_fail(c, 400, "CidrCollectionAlreadyExistsException",
					"A CIDR collection with the CallerReference %s already exists with a different name.",
					ref);
		if ((c->out = wrap("Collection", json_deep_copy(sum))) == NULL)
			return nomem(c);
		c->root = "CreateCidrCollectionResponse";
		c->status = 201;
		set_location(c, "cidrcollection",
			     str_or(json_string_value(json_object_get(sum, "Id"))));
		return API_DONE;
	}

	model_new_uuid(id, sizeof(id));
	snprintf(arn, sizeof(arn), "arn:aws:route53:::cidrcollection/%s", id);
	doc = json_pack("{s:{s:s, s:s, s:s, s:I}, s:s, s:[]}", "Collection", "Arn", arn, "Id", id,
			"Name", name, "Version", (json_int_t)1, "CallerReference", ref, "Blocks");
	snprintf(key, sizeof(key), "/cidrcollections/%s", id);
	if (doc == NULL || (t = model_txn_new(c->m)) == NULL ||
	    model_txn_put(t, key, json_incref(doc)) != ERR_OK ||
	    ref_put(t, "cidrcollection", ref, id, false) != ERR_OK ||
	    (c->out = wrap("Collection", json_deep_copy(coll_summary(doc)))) == NULL) {
		ret = nomem(c);
		goto out;
	}
	c->root = "CreateCidrCollectionResponse";
	c->status = 201;
	set_location(c, "cidrcollection", id);
	ret = api_submit(c, t, "InvalidInput");
	t = NULL;
out:
	model_txn_free(t);
	json_decref(doc);
	return ret;
}

int api_list_cidr_collections(api_call_t *c)
{
	size_t n = json_object_size(c->m->colls), i = 0;
	page_item_t *items = calloc(n ? n : 1, sizeof(*items));
	const char *key;
	json_t *doc;
	if (items == NULL)
		return nomem(c);
	json_object_foreach(c->m->colls, key, doc) {
		const json_t *sum = coll_summary(doc);
		const char *name = json_string_value(json_object_get(sum, "Name"));
		snprintf(items[i].key, sizeof(items[i].key), "%s %s", name != NULL ? name : "",
			 key);
		if ((items[i].item = json_deep_copy(sum)) == NULL) {
			for (size_t k = 0; k < i; k++)
				json_decref(items[k].item);
			free(items);
			return nomem(c);
		}
		i++;
	}
	int ret = page_out(c, items, i, "CidrCollections", "ListCidrCollectionsResponse");
	free(items);
	return ret;
}

/** One block of a working copy. */
typedef struct wblock {
	char loc[24];
	char cidr[80];
	bool gone;
} wblock_t;

/** A growable working copy of a collection's blocks. */
typedef struct wset {
	wblock_t *b;
	size_t n, cap;
	size_t n_old; /* blocks that came from the stored document */
} wset_t;

static int wset_add(wset_t *ws, const char *loc, const char *cidr)
{
	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? 2 * ws->cap : 16;
		wblock_t *b = realloc(ws->b, cap * sizeof(*b));
		if (b == NULL)
			return ERR_NOMEM;
		ws->b = b;
		ws->cap = cap;
	}
	wblock_t *w = &ws->b[ws->n++];
	memset(w, 0, sizeof(*w));
	snprintf(w->loc, sizeof(w->loc), "%s", loc);
	snprintf(w->cidr, sizeof(w->cidr), "%s", cidr);
	return ERR_OK;
}

/** The stored blocks of collection document doc (canonical text where it parses). */
static int wset_load(wset_t *ws, const json_t *doc)
{
	const json_t *blocks = json_object_get(doc, "Blocks");
	char canon[80], why[160];
	for (size_t i = 0; i < json_array_size(blocks); i++) {
		const json_t *b = json_array_get(blocks, i);
		const char *text = str_or(json_string_value(json_object_get(b, "CidrBlock")));
		if (!cidr_canon(text, canon, sizeof(canon), why, sizeof(why)))
			snprintf(canon, sizeof(canon), "%s", text);
		if (wset_add(ws, str_or(json_string_value(json_object_get(b, "LocationName"))),
			     canon) != ERR_OK)
			return ERR_NOMEM;
	}
	ws->n_old = ws->n;
	return ERR_OK;
}

/** Apply the Changes of a ChangeCidrCollectionRequest in order. \retval ERR_OK, ERR_INVAL
 *  (the error is set on c), ERR_NOMEM. */
static int wset_apply(api_call_t *c, wset_t *ws, const json_t *changes)
{
	size_t total = 0;
	char why[160];
	for (size_t i = 0; i < json_array_size(changes); i++) {
		const json_t *chg = json_array_get(changes, i);
		const char *loc = json_string_value(json_object_get(chg, "LocationName"));
		const char *act = json_string_value(json_object_get(chg, "Action"));
		const json_t *cl = json_object_get(chg, "CidrList");
		if (!valid_name(loc, 16)) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid parameter : Changes[%zu].LocationName must be 1..16 characters of [0-9A-Za-z_-]",
				 i);
			return ERR_INVAL;
		}
		bool put = act != NULL && strcmp(act, "PUT") == 0;
		if (!put && (act == NULL || strcmp(act, "DELETE_IF_EXISTS") != 0)) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid parameter : Changes[%zu].Action must be PUT or DELETE_IF_EXISTS", i);
			return ERR_INVAL;
		}
		if (!json_is_array(cl) || json_array_size(cl) < 1 || json_array_size(cl) > 1000 ||
		    (total += json_array_size(cl)) > 1000) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid parameter : Changes[%zu].CidrList must hold 1..1000 CIDR blocks (at most 1000 in a request)",
				 i);
			return ERR_INVAL;
		}
		for (size_t k = 0; k < json_array_size(cl); k++) {
			char canon[80];
			if (!cidr_canon(json_string_value(json_array_get(cl, k)), canon, sizeof(canon),
					why, sizeof(why))) {
				api_fail(c, 400, "InvalidInput",
					 "Invalid parameter : Changes[%zu].CidrList[%zu]: %s", i, k, why);
				return ERR_INVAL;
			}
			size_t x;
			for (x = 0; x < ws->n; x++)
				if (!ws->b[x].gone && strcmp(ws->b[x].loc, loc) == 0 &&
				    strcmp(ws->b[x].cidr, canon) == 0)
					break;
			if (!put && x < ws->n)
				ws->b[x].gone = true;
			else if (put && x == ws->n && wset_add(ws, loc, canon) != ERR_OK)
				return ERR_NOMEM;
		}
	}
	return ERR_OK;
}

/** The rules on the result: a block is in one location; a location that record sets of
 *  collection id use keeps a block. \retval ERR_OK, ERR_INVAL (the error is set on c). */
static int wset_check(api_call_t *c, const wset_t *ws, const char *id)
{
	for (size_t i = 0; i < ws->n; i++)
		for (size_t k = i + 1; !ws->b[i].gone && k < ws->n; k++)
			if (!ws->b[k].gone && strcmp(ws->b[i].cidr, ws->b[k].cidr) == 0) {
				api_fail(c, 400, "InvalidInput",
					 "Invalid parameter : CIDR block %s would be in two locations (%s and %s) of the collection",
					 ws->b[i].cidr, ws->b[i].loc, ws->b[k].loc);
				return ERR_INVAL;
			}
	for (size_t i = 0; i < ws->n_old; i++) {
		if (!ws->b[i].gone)
			continue;
		bool left = false;
		for (size_t k = 0; k < ws->n && !left; k++)
			left = !ws->b[k].gone && strcmp(ws->b[k].loc, ws->b[i].loc) == 0;
		if (!left && coll_used(c->m, id, ws->b[i].loc)) {
			api_fail(c, 400, "CidrBlockInUseException",
				 "The CIDR block %s can't be deleted: it is the last block of location %s, which record sets still use.",
				 ws->b[i].cidr, ws->b[i].loc);
			return ERR_INVAL;
		}
	}
	return ERR_OK;
}

/** A new collection document: old's members with Collection.Version and Blocks replaced.
 *  NULL when out of memory. */
static json_t *coll_doc_new(const json_t *old, const wset_t *ws, json_int_t version)
{
	json_t *doc = json_object(), *blocks = json_array(), *ret = NULL;
	const char *key;
	json_t *v;
	if (doc == NULL || blocks == NULL)
		goto out;
	for (size_t i = 0; i < ws->n; i++)
		if (!ws->b[i].gone &&
		    json_array_append_new(blocks, json_pack("{s:s, s:s}", "CidrBlock", ws->b[i].cidr,
							    "LocationName", ws->b[i].loc)) < 0)
			goto out;
	json_object_foreach((json_t *)old, key, v) {
		json_t *nv = strcmp(key, "Blocks") == 0 ? json_incref(blocks) : json_deep_copy(v);
		if (nv != NULL && strcmp(key, "Collection") == 0 &&
		    json_object_set_new(nv, "Version", json_integer(version)) < 0) {
			json_decref(nv);
			nv = NULL;
		}
		if (json_object_set_new(doc, key, nv) < 0)
			goto out;
	}
	if (json_object_get(doc, "Blocks") == NULL && json_object_set(doc, "Blocks", blocks) < 0)
		goto out;
	ret = doc;
	doc = NULL;
out:
	json_decref(blocks);
	json_decref(doc);
	return ret;
}

int api_change_cidr_collection(api_call_t *c)
{
	int ret = ERR_NOMEM, res = API_DONE;
	const char *id = c->path[0];
	wset_t ws = { 0 };
	json_t *doc = NULL, *ch = NULL;
	model_txn_t *t = NULL;
	char key[1100];

	json_t *old = model_coll(c->m, id);
	if (old == NULL)
		return no_such_coll(c, id);
	if (!body_ok(c, "ChangeCidrCollectionRequest"))
		return API_DONE;
	json_int_t version = json_integer_value(json_object_get(coll_summary(old), "Version"));
	if (version < 1)
		version = 1;
	const json_t *rv = json_object_get(c->body, "CollectionVersion");
	if (rv != NULL) {
		if (!json_is_integer(rv) || json_integer_value(rv) < 1)
			return api_fail(c, 400, "InvalidInput",
					"Invalid parameter : CollectionVersion must be an integer >= 1");
		if (json_integer_value(rv) != version)
			return api_fail(c, 409, "CidrCollectionVersionMismatchException",
					"The CIDR collection version %lld doesn't match the current version %lld.",
					(long long)json_integer_value(rv), (long long)version);
	}
	const json_t *changes = json_object_get(c->body, "Changes");
	if (!json_is_array(changes) || json_array_size(changes) < 1 ||
	    json_array_size(changes) > 1000)
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : Changes must hold 1..1000 changes");

	if ((ret = wset_load(&ws, old)) != ERR_OK || (ret = wset_apply(c, &ws, changes)) != ERR_OK ||
	    (ret = wset_check(c, &ws, id)) != ERR_OK)
		goto out;
	ret = ERR_NOMEM;
	snprintf(key, sizeof(key), "/cidrcollections/%s", id);
	if ((doc = coll_doc_new(old, &ws, version + 1)) == NULL ||
	    (t = model_txn_new(c->m)) == NULL || model_txn_put(t, key, json_incref(doc)) != ERR_OK ||
	    (ch = api_change_new(c, t, NULL)) == NULL ||
	    (c->out = wrap("Id", json_deep_copy(json_object_get(ch, "Id")))) == NULL)
		goto out;
	c->root = "ChangeCidrCollectionResponse";
	res = api_submit(c, t, "InvalidInput");
	t = NULL;
	ret = ERR_OK;
out:
	model_txn_free(t);
	json_decref(ch);
	json_decref(doc);
	free(ws.b);
	return ret == ERR_NOMEM ? nomem(c) : res;
}

/** The sorted distinct LocationNames of a collection document, as an array of strings. */
static json_t *coll_locations(const json_t *doc)
{
	const json_t *blocks = json_object_get(doc, "Blocks");
	json_t *seen = json_object(), *list = NULL;
	size_t n = 0;
	const char **names = NULL;
	if (seen == NULL)
		return NULL;
	for (size_t i = 0; i < json_array_size(blocks); i++) {
		const char *loc =
			json_string_value(json_object_get(json_array_get(blocks, i), "LocationName"));
		if (loc != NULL && json_object_set_new(seen, loc, json_true()) < 0)
			goto out;
	}
	if ((names = sorted_keys(seen, &n)) == NULL || (list = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(list, json_string(names[i])) < 0) {
			json_decref(list);
			list = NULL;
			goto out;
		}
out:
	free(names);
	json_decref(seen);
	return list;
}

int api_list_cidr_locations(api_call_t *c)
{
	const char *id = c->path[0];
	json_t *doc = model_coll(c->m, id);
	if (doc == NULL)
		return no_such_coll(c, id);
	json_t *locs = coll_locations(doc);
	if (locs == NULL)
		return nomem(c);
	size_t n = json_array_size(locs);
	page_item_t *items = calloc(n ? n : 1, sizeof(*items));
	if (items == NULL) {
		json_decref(locs);
		return nomem(c);
	}
	for (size_t i = 0; i < n; i++) {
		const char *loc = json_string_value(json_array_get(locs, i));
		snprintf(items[i].key, sizeof(items[i].key), "%s", loc);
		if ((items[i].item = json_pack("{s:s}", "LocationName", loc)) == NULL) {
			for (size_t k = 0; k < i; k++)
				json_decref(items[k].item);
			free(items);
			json_decref(locs);
			return nomem(c);
		}
	}
	json_decref(locs);
	int ret = page_out(c, items, n, "CidrLocations", "ListCidrLocationsResponse");
	free(items);
	return ret;
}

int api_list_cidr_blocks(api_call_t *c)
{
	const char *id = c->path[0];
	json_t *doc = model_coll(c->m, id);
	if (doc == NULL)
		return no_such_coll(c, id);
	const char *want = api_q(c, "location");
	const json_t *blocks = json_object_get(doc, "Blocks");
	size_t n = json_array_size(blocks), i = 0;
	bool found = false;
	page_item_t *items = calloc(n ? n : 1, sizeof(*items));
	if (items == NULL)
		return nomem(c);
	for (size_t k = 0; k < n; k++) {
		const json_t *b = json_array_get(blocks, k);
		const char *loc = json_string_value(json_object_get(b, "LocationName"));
		const char *cidr = json_string_value(json_object_get(b, "CidrBlock"));
		if (loc == NULL || cidr == NULL || (want != NULL && strcmp(loc, want) != 0))
			continue;
		found = true;
		snprintf(items[i].key, sizeof(items[i].key), "%s %s", loc, cidr);
		if ((items[i].item = json_pack("{s:s, s:s}", "CidrBlock", cidr, "LocationName",
					       loc)) == NULL) {
			for (size_t x = 0; x < i; x++)
				json_decref(items[x].item);
			free(items);
			return nomem(c);
		}
		i++;
	}
	if (want != NULL && !found) {
		free(items);
		return api_fail(c, 404, "NoSuchCidrLocationException",
				"No CIDR location found with name %s in collection %s.", want, id);
	}
	int ret = page_out(c, items, i, "CidrBlocks", "ListCidrBlocksResponse");
	free(items);
	return ret;
}

int api_delete_cidr_collection(api_call_t *c)
{
	const char *id = c->path[0];
	char key[1100];
	json_t *doc = model_coll(c->m, id);
	if (doc == NULL)
		return no_such_coll(c, id);
	if (json_array_size(json_object_get(doc, "Blocks")) > 0)
		return api_fail(c, 400, "CidrCollectionInUseException",
				"This CIDR collection is in use, and isn't empty.");
	if (coll_used(c->m, id, NULL))
		return api_fail(c, 400, "CidrCollectionInUseException",
				"This CIDR collection is in use: record sets route on it.");
	model_txn_t *t = model_txn_new(c->m);
	if (t == NULL)
		return nomem(c);
	snprintf(key, sizeof(key), "/cidrcollections/%s", id);
	int r = model_txn_put(t, key, NULL);
	const char *ref = json_string_value(json_object_get(doc, "CallerReference"));
	if (r == ERR_OK && ref != NULL && ref[0] != '\0')
		r = ref_put(t, "cidrcollection", ref, id, true);
	if (r != ERR_OK) {
		model_txn_free(t);
		return nomem(c);
	}
	c->out = NULL;
	c->root = "DeleteCidrCollectionResponse";
	return api_submit(c, t, "InvalidInput");
}

/* ---- tags ---- */

/** A taggable resource. */
typedef struct tag_target {
	const char *type;  /* "healthcheck" or "hostedzone" */
	char id[1024];     /* bare Id */
	char key[1100];    /* store key of its tags */
	const json_t *cur; /* current tag array, or NULL */
} tag_target_t;

/** Resolve (type, id); on failure the error is set and false returned. */
static bool tag_target(api_call_t *c, const char *type, const char *id, tag_target_t *tt)
{
	memset(tt, 0, sizeof(*tt));
	if (strcmp(type, "healthcheck") == 0) {
		if (strncmp(id, "/healthcheck/", 13) == 0)
			id += 13;
		tt->type = "healthcheck";
		snprintf(tt->id, sizeof(tt->id), "%s", id);
		if (model_hc(c->m, tt->id) == NULL) {
			no_such_hc(c, tt->id);
			return false;
		}
		snprintf(tt->key, sizeof(tt->key), "/healthchecks/%s/tags", tt->id);
		tt->cur = json_object_get(c->m->hc_tags, tt->id);
		return true;
	}
	if (strcmp(type, "hostedzone") == 0) {
		if (strncmp(id, "/hostedzone/", 12) == 0)
			id += 12;
		tt->type = "hostedzone";
		snprintf(tt->id, sizeof(tt->id), "%s", id);
		m_zone_t *z = model_zone(c->m, tt->id);
		if (z == NULL) {
			api_fail(c, 404, "NoSuchHostedZone", "No hosted zone found with ID: %s", tt->id);
			return false;
		}
		snprintf(tt->key, sizeof(tt->key), "/zones/%s/tags", tt->id);
		tt->cur = z->tags;
		return true;
	}
	api_fail(c, 400, "InvalidInput",
		 "Invalid parameter : ResourceType must be healthcheck or hostedzone, not %.64s", type);
	return false;
}

/** {ResourceType, ResourceId, Tags} of a resolved target; NULL when out of memory. */
static json_t *tag_set(const tag_target_t *tt)
{
	json_t *tags = json_is_array(tt->cur) ? json_deep_copy(tt->cur) : json_array();
	if (tags == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:o}", "ResourceType", tt->type, "ResourceId", tt->id,
			 "Tags", tags);
}

/** cur without the keys of rm, then the tags of add (replacing values in place, new keys
 *  appended). A new array; NULL when out of memory. */
static json_t *tags_merge(const json_t *cur, const json_t *add, const json_t *rm)
{
	json_t *tags = json_array(), *ret = NULL;
	if (tags == NULL)
		return NULL;
	for (size_t i = 0; i < json_array_size(cur); i++) {
		json_t *tag = json_array_get(cur, i);
		const char *k = str_or(json_string_value(json_object_get(tag, "Key")));
		bool drop = false;
		for (size_t r = 0; r < json_array_size(rm) && !drop; r++)
			drop = strcmp(k, str_or(json_string_value(json_array_get(rm, r)))) == 0;
		if (!drop && json_array_append_new(tags, json_deep_copy(tag)) < 0)
			goto out;
	}
	for (size_t i = 0; i < json_array_size(add); i++) {
		const json_t *tag = json_array_get(add, i);
		const char *k = str_or(json_string_value(json_object_get(tag, "Key")));
		const json_t *val = json_object_get(tag, "Value");
		json_t *nt = json_pack("{s:s}", "Key", k);
		if (nt == NULL ||
		    (val != NULL && json_object_set_new(nt, "Value", json_deep_copy(val)) < 0)) {
			json_decref(nt);
			goto out;
		}
		size_t x, n = json_array_size(tags);
		for (x = 0; x < n; x++)
			if (strcmp(k, str_or(json_string_value(
					      json_object_get(json_array_get(tags, x), "Key")))) == 0)
				break;
		if ((x < n ? json_array_set_new(tags, x, nt) : json_array_append_new(tags, nt)) < 0)
			goto out;
	}
	ret = tags;
	tags = NULL;
out:
	json_decref(tags);
	return ret;
}

int api_change_tags_for_resource(api_call_t *c)
{
	tag_target_t tt;
	json_t *tags = NULL;
	model_txn_t *t = NULL;
	int ret = ERR_NOMEM, res = API_DONE;

	if (!tag_target(c, c->path[0], c->path[1], &tt))
		return API_DONE;
	if (!body_ok(c, "ChangeTagsForResourceRequest"))
		return API_DONE;
	const json_t *add = json_object_get(c->body, "AddTags");
	const json_t *rm = json_object_get(c->body, "RemoveTagKeys");
	if (add != NULL && (!json_is_array(add) || json_array_size(add) > MAX_TAGS))
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : AddTags must hold at most %d tags", MAX_TAGS);
	if (rm != NULL && (!json_is_array(rm) || json_array_size(rm) > MAX_TAGS))
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : RemoveTagKeys must hold at most %d keys", MAX_TAGS);
	for (size_t i = 0; i < json_array_size(add); i++) {
		const json_t *tag = json_array_get(add, i);
		long kl = str_len(tag, "Key"), vl = str_len(tag, "Value");
		if (!json_is_object(tag) || kl < 1 || kl > 128 ||
		    (json_object_get(tag, "Value") != NULL && (vl < 0 || vl > 256)))
			return api_fail(c, 400, "InvalidInput",
					"Invalid parameter : AddTags[%zu]: Key must be 1..128 characters, Value at most 256",
					i);
	}
	for (size_t i = 0; i < json_array_size(rm); i++) {
		const char *k = json_string_value(json_array_get(rm, i));
		if (k == NULL || strlen(k) > 128)
			return api_fail(c, 400, "InvalidInput",
					"Invalid parameter : RemoveTagKeys[%zu] must be a key of at most 128 characters",
					i);
	}

	if ((tags = tags_merge(tt.cur, add, rm)) == NULL)
		return nomem(c);
	if (json_array_size(tags) > MAX_TAGS) {
		ret = ERR_INVAL;
		api_fail(c, 400, "InvalidInput",
			 "Invalid parameter : a resource can have at most %d tags; this change would leave %zu",
			 MAX_TAGS, json_array_size(tags));
		goto out;
	}
	c->out = NULL;
	c->root = "ChangeTagsForResourceResponse";
	ret = ERR_OK;
	if (tt.cur != NULL ? json_equal(tags, tt.cur) : json_array_size(tags) == 0)
		goto out; /* nothing changes */
	ret = ERR_NOMEM;
	if ((t = model_txn_new(c->m)) == NULL ||
	    model_txn_put(t, tt.key, json_array_size(tags) > 0 ? json_incref(tags) : NULL) != ERR_OK)
		goto out;
	res = api_submit(c, t, "InvalidInput");
	t = NULL;
	ret = ERR_OK;
out:
	model_txn_free(t);
	json_decref(tags);
	return ret == ERR_NOMEM ? nomem(c) : res;
}

int api_list_tags_for_resource(api_call_t *c)
{
	tag_target_t tt;
	if (!tag_target(c, c->path[0], c->path[1], &tt))
		return API_DONE;
	if ((c->out = wrap("ResourceTagSet", tag_set(&tt))) == NULL)
		return nomem(c);
	c->root = "ListTagsForResourceResponse";
	return API_DONE;
}

int api_list_tags_for_resources(api_call_t *c)
{
	tag_target_t tt;
	json_t *sets = NULL;

	if (strcmp(c->path[0], "healthcheck") != 0 && strcmp(c->path[0], "hostedzone") != 0)
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : ResourceType must be healthcheck or hostedzone");
	if (!body_ok(c, "ListTagsForResourcesRequest"))
		return API_DONE;
	const json_t *ids = json_object_get(c->body, "ResourceIds");
	if (!json_is_array(ids) || json_array_size(ids) < 1 || json_array_size(ids) > 10)
		return api_fail(c, 400, "InvalidInput",
				"Invalid parameter : ResourceIds must hold 1..10 resource Ids");
	if ((sets = json_array()) == NULL)
		return nomem(c);
	for (size_t i = 0; i < json_array_size(ids); i++) {
		const char *id = json_string_value(json_array_get(ids, i));
		if (id == NULL || strlen(id) > 64) {
			json_decref(sets);
			return api_fail(c, 400, "InvalidInput",
					"Invalid parameter : ResourceIds[%zu] must be an Id of at most 64 characters",
					i);
		}
		if (!tag_target(c, c->path[0], id, &tt)) {
			json_decref(sets);
			return API_DONE;
		}
		if (json_array_append_new(sets, tag_set(&tt)) < 0) {
			json_decref(sets);
			return nomem(c);
		}
	}
	if ((c->out = wrap("ResourceTagSets", sets)) == NULL)
		return nomem(c);
	c->root = "ListTagsForResourcesResponse";
	return API_DONE;
}

/* ---- limits ---- */

int api_get_account_limit(api_call_t *c)
{
	static const struct {
		const char *type;
		json_int_t value;
	} limits[] = {
		{ "MAX_HEALTH_CHECKS_BY_OWNER", LIMIT_HEALTH_CHECKS },
		{ "MAX_HOSTED_ZONES_BY_OWNER", LIMIT_HOSTED_ZONES },
		{ "MAX_TRAFFIC_POLICY_INSTANCES_BY_OWNER", 5 },
		{ "MAX_REUSABLE_DELEGATION_SETS_BY_OWNER", 100 },
		{ "MAX_TRAFFIC_POLICIES_BY_OWNER", 50 },
	};
	const char *type = c->path[0];
	for (size_t i = 0; i < N_OF(limits); i++) {
		if (strcmp(type, limits[i].type) != 0)
			continue;
		json_int_t count = 0;
		if (i == 0)
			count = (json_int_t)json_object_size(c->m->hcs);
		else if (i == 1)
			count = (json_int_t)c->m->n_zones;
		c->out = json_pack("{s:{s:s, s:I}, s:I}", "Limit", "Type", limits[i].type, "Value",
				   limits[i].value, "Count", count);
		if (c->out == NULL)
			return nomem(c);
		c->root = "GetAccountLimitResponse";
		return API_DONE;
	}
	return api_fail(c, 400, "InvalidInput",
			"Invalid parameter : Type must be one of MAX_HEALTH_CHECKS_BY_OWNER, MAX_HOSTED_ZONES_BY_OWNER, MAX_TRAFFIC_POLICY_INSTANCES_BY_OWNER, MAX_REUSABLE_DELEGATION_SETS_BY_OWNER, MAX_TRAFFIC_POLICIES_BY_OWNER");
}
