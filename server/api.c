/* SPDX-License-Identifier: MIT */
/*
 * api.c -- the Route 53 API: routing, SigV4, XML in and out, the request queue, and the
 * operations on hosted zones, record sets and changes (api_hc.c has the others).
 *
 * ROUTE53-API.md is the contract. Every request gets a request id (x-amzn-RequestId and
 * x-amz-request-id, and <RequestId> in errors). Requests run one at a time in arrival
 * order; one that changes something hands a model transaction to the daemon and the queue
 * waits until it is applied and durable (or refused), so no request ever sees state that
 * could still be rolled back.
 */
#include "api.h"
#include "api_int.h"
#include "daemon.h"
#include "err.h"
#include "log.h"
#include "r53json.h"
#include "r53present.h"
#include "sigv4.h"
#include "testdns.h"
#include "xmlconv.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define API_PREFIX "/2013-04-01"

/* A request waiting for its turn (or for its transaction). */
typedef struct api_wait {
	api_call_t *c;
	api_handler_fn fn;
	struct api_wait *next;
} api_wait_t;

struct api {
	daemon_t *d;
	model_t *m;
	admin_t *admin;
	api_wait_t *head, *tail; /* requests waiting for their turn */
	api_call_t *inflight;    /* the request whose transaction is being applied */
	const char *inflight_fail; /* its error code for a build failure */
};

/* ---- small helpers --------------------------------------------------------------------- */

const char *api_jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int api_fail(api_call_t *c, int http_status, const char *code, const char *fmt, ...)
{
	va_list ap;
	c->err_status = http_status;
	snprintf(c->err_code, sizeof(c->err_code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(c->err_msg, sizeof(c->err_msg), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
	return API_DONE;
}

const char *api_q(const api_call_t *c, const char *name)
{
	return evhttp_find_header(&c->query, name);
}

bool api_maxitems(api_call_t *c, const char *param, unsigned def, unsigned cap,
		  unsigned *out)
{
	const char *v = api_q(c, param);
	*out = def;
	if (v == NULL)
		return true;
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || n == 0) {
		api_fail(c, 400, "InvalidInput", "%s: \"%s\" is not a positive integer", param, v);
		return false;
	}
	*out = n > cap ? cap : (unsigned)n;
	return true;
}

const conf_t *api_conf(const api_call_t *c)
{
	return daemon_conf(c->api->d);
}

hc_system_t *api_hc(const api_call_t *c)
{
	return daemon_health(c->api->d);
}

json_t *api_change_new(api_call_t *c, model_txn_t *t, const char *comment)
{
	char id[32], cid[48], now[40], key[64];
	model_new_id(id, sizeof(id), "C", 20);
	snprintf(cid, sizeof(cid), "/change/%s", id);
	model_now_iso(now, sizeof(now));
	json_t *ci = json_pack("{s:s,s:s,s:s}", "Id", cid, "Status", "PENDING", "SubmittedAt", now);
	if (ci == NULL)
		return NULL;
	if (comment != NULL)
		json_object_set_new(ci, "Comment", json_string(comment));
	snprintf(key, sizeof(key), "/changes/%s", id);
	if (model_txn_put(t, key, json_incref(ci)) != ERR_OK) {
		json_decref(ci);
		return NULL;
	}
	(void)c;
	return ci;
}

/* Strip "/hostedzone/", "hostedzone/", "/change/"... from an id. */
void api_strip_prefix(char *s)
{
	static const char *const pre[] = { "/hostedzone/", "hostedzone/", "/change/", "change/",
					   "/healthcheck/", "healthcheck/", "/delegationset/",
					   NULL };
	for (const char *const *p = pre; *p; p++) {
		size_t l = strlen(*p);
		if (strncmp(s, *p, l) == 0) {
			memmove(s, s + l, strlen(s + l) + 1);
			return;
		}
	}
}

/* ---- responses ------------------------------------------------------------------------- */

static void add_ids(api_call_t *c, struct evkeyvalq *h)
{
	evhttp_add_header(h, "x-amzn-RequestId", c->request_id);
	evhttp_add_header(h, "x-amz-request-id", c->request_id);
	evhttp_add_header(h, "Content-Type", "text/xml");
}

static void call_free(api_call_t *c)
{
	if (c == NULL)
		return;
	evhttp_clear_headers(&c->query);
	json_decref(c->body);
	json_decref(c->out);
	free(c);
}

/* Send c's response (or error) and free c. */
static void call_send(api_call_t *c)
{
	struct evbuffer *b = evbuffer_new();
	struct evhttp_request *req = c->req;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	int status = c->status ? c->status : 200;
	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		call_free(c);
		return;
	}
	if (c->err_status == 0 && xmlconv_write(b, c->root ? c->root : "Response", c->out) != ERR_OK) {
		evbuffer_drain(b, evbuffer_get_length(b));
		api_fail(c, 500, "InternalFailure", "the response could not be written");
	}
	if (c->err_status != 0) {
		status = c->err_status;
		xmlconv_error(b, status, c->err_code, c->err_msg, c->request_id);
		if (status >= 500)
			log_msg(LOG_ERR, "api %s: %s: %s", c->op ? c->op : "?", c->err_code, c->err_msg);
	} else if (c->location[0] != '\0') {
		evhttp_add_header(h, "Location", c->location);
	}
	add_ids(c, h);
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
	call_free(c);
}

/* ---- the queue ------------------------------------------------------------------------- */

static void run_next(api_t *a);

/* How many times a change that lost a race in a fleet is handled (api_call_t.tries). */
#define API_TRIES 6

static void run_one(api_call_t *c, api_handler_fn fn)
{
	c->handler = fn;
	c->tries++;
	int r = fn(c);
	if (r == API_ASYNC)
		return; /* a->inflight set by api_submit (or already answered) */
	call_send(c);
}

static void run_next(api_t *a)
{
	while (a->inflight == NULL && a->head != NULL && !daemon_busy(a->d)) {
		api_wait_t *w = a->head;
		a->head = w->next;
		if (a->head == NULL)
			a->tail = NULL;
		api_call_t *c = w->c;
		api_handler_fn fn = w->fn;
		free(w);
		run_one(c, fn);
	}
}

void api_kick(api_t *a)
{
	if (a != NULL)
		run_next(a);
}

/*
 * A snapshot build's message as an API error text: without the build's own location
 * ("hosted zone ID: ResourceRecordSets[12]: ", meaningless to the caller) and with bare
 * zone ids. Returns a static buffer (control thread).
 */
static const char *build_msg(const char *msg)
{
	static char out[4096];
	if (msg == NULL)
		return "invalid change";
	const char *p = msg;
	if (strncmp(p, "hosted zone ", 12) == 0) {
		const char *colon = strstr(p, ": ");
		if (colon != NULL)
			p = colon + 2;
	}
	if (strncmp(p, "ResourceRecordSets[", 19) == 0) {
		const char *colon = strstr(p, ": ");
		if (colon != NULL)
			p = colon + 2;
	}
	size_t o = 0;
	while (*p != '\0' && o + 1 < sizeof(out)) {
		if (strncmp(p, "/hostedzone/", 12) == 0) {
			p += 12;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
	return out;
}

static void txn_done(void *arg, int ret, const char *msg)
{
	api_call_t *c = arg;
	api_t *a = c->api;
	if (ret == ERR_CONFLICT && c->tries < API_TRIES && c->handler != NULL) {
		/* Another node changed the same resource first: handle the request again once
		 * this node has applied that change (daemon_busy holds the queue until then). */
		api_wait_t *w = calloc(1, sizeof(*w));
		if (w != NULL) {
			json_decref(c->out);
			c->out = NULL;
			c->root = NULL;
			c->status = 0;
			c->location[0] = '\0';
			w->c = c;
			w->fn = c->handler;
			w->next = a->head;
			a->head = w;
			if (a->tail == NULL)
				a->tail = w;
			if (a->inflight == c)
				a->inflight = NULL;
			run_next(a);
			return;
		}
	}
	if (ret != ERR_OK) {
		json_decref(c->out);
		c->out = NULL;
		if (ret == ERR_CONFLICT)
			api_fail(c, 400, "PriorRequestNotComplete", "%s",
				 "The request was rejected because Route 53 was still processing a prior request.");
		else if (ret == ERR_IO && c->m->store != NULL && store_is_shared(c->m->store))
			api_fail(c, 503, "ServiceUnavailable", "%s",
				 msg ? msg : "the store is unavailable");
		else if (ret == ERR_IO || ret == ERR_SYS || ret == ERR_LIMIT)
			api_fail(c, ret == ERR_LIMIT ? 503 : 500,
				 ret == ERR_LIMIT ? "ServiceUnavailable" : "InternalFailure", "%s",
				 msg ? msg : "the change could not be stored");
		else if (a->inflight_fail != NULL &&
			 strcmp(a->inflight_fail, "InvalidChangeBatch") == 0)
			api_fail(c, 400, "InvalidChangeBatch", "[%s]", build_msg(msg));
		else
			api_fail(c, 400, a->inflight_fail ? a->inflight_fail : "InvalidInput", "%s",
				 msg ? msg : "invalid request");
	}
	if (a->inflight == c)
		a->inflight = NULL;
	call_send(c);
	run_next(a);
}

int api_submit(api_call_t *c, model_txn_t *t, const char *fail_code)
{
	api_t *a = c->api;
	a->inflight = c;
	a->inflight_fail = fail_code;
	int ret = daemon_submit(a->d, t, txn_done, c);
	if (ret != ERR_OK) {
		/* daemon_submit frees t and does not call back on failure */
		a->inflight = NULL;
		json_decref(c->out);
		c->out = NULL;
		api_fail(c, 500, "InternalFailure", "cannot apply the change: %s", err_str(ret));
		call_send(c);
	}
	return API_ASYNC;
}

/* ---- hosted zones ---------------------------------------------------------------------- */

const json_t *api_zone_hz(const m_zone_t *z)
{
	return json_object_get(z->doc, "HostedZone");
}

static size_t zone_count(const api_call_t *c, m_zone_t *z)
{
	size_t n = z->n_total;
	if (api_jstr(z->doc, "ZoneFile") == NULL)
		return n;
	if (z->file_sets != NULL)
		return n + json_array_size(z->file_sets);
	/* A zone file not converted to record sets yet (a big one takes seconds, and only a
	 * listing needs it): the served zone's RRsets, one per name and type. */
	const zdb_t *db = daemon_zdb(c->api->d);
	char hid[300];
	snprintf(hid, sizeof(hid), "/hostedzone/%s", z->id);
	for (size_t i = 0; i < zdb_zone_count(db); i++) {
		zdb_zone_info_t zi;
		zdb_zone_info(db, i, &zi);
		if (zi.id != NULL && strcmp(zi.id, hid) == 0)
			return zi.n_rrsets;
	}
	return n;
}

/* The HostedZone element in model order, with ResourceRecordSetCount. */
static json_t *zone_out(const api_call_t *c, m_zone_t *z)
{
	const json_t *hz = api_zone_hz(z);
	json_t *cfg = json_object();
	const json_t *oc = json_object_get(hz, "Config");
	if (api_jstr(oc, "Comment") != NULL)
		json_object_set(cfg, "Comment", json_object_get(oc, "Comment"));
	json_object_set_new(cfg, "PrivateZone",
			    json_boolean(json_is_true(json_object_get(oc, "PrivateZone"))));
	return json_pack("{s:s?,s:s?,s:s?,s:o,s:I}", "Id", api_jstr(hz, "Id"), "Name",
			 api_jstr(hz, "Name"), "CallerReference", api_jstr(hz, "CallerReference"),
			 "Config", cfg, "ResourceRecordSetCount", (json_int_t)zone_count(c, z));
}

static bool zone_private(const m_zone_t *z)
{
	return json_is_true(json_object_get(json_object_get(api_zone_hz(z), "Config"), "PrivateZone"));
}

/* Append a name server as a DelegationSet shows it: without the trailing dot. */
static void ns_append(json_t *out, const char *s)
{
	size_t l = s ? strlen(s) : 0;
	if (l > 0)
		json_array_append_new(out, json_stringn(s, l > 1 && s[l - 1] == '.' ? l - 1 : l));
}

/* The name servers of a zone: its apex NS values, else the configured ones. */
static json_t *zone_ns(api_call_t *c, m_zone_t *z)
{
	json_t *out = json_array();
	const char *apex = api_jstr(api_zone_hz(z), "Name");
	m_set_t *ns = apex ? model_set_find(z, apex, "NS", NULL) : NULL;
	json_t *rr = ns ? json_object_get(ns->doc, "ResourceRecords") : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(rr, i, v) {
		ns_append(out, api_jstr(v, "Value"));
	}
	if (json_array_size(out) == 0) {
		json_array_foreach(api_conf(c)->name_servers, i, v) {
			ns_append(out, json_string_value(v));
		}
	}
	return out;
}

m_zone_t *api_need_zone(api_call_t *c, const char *id)
{
	m_zone_t *z = model_zone(c->m, id);
	if (z == NULL)
		api_fail(c, 404, "NoSuchHostedZone", "No hosted zone found with ID: %s", id);
	return z;
}

bool api_body_is(api_call_t *c, const char *root)
{
	if (c->body == NULL || strcmp(c->body_root, root) != 0) {
		api_fail(c, 400, "MalformedInput", "Invalid XML ; expected %s", root);
		return false;
	}
	return true;
}

/* Number of labels of a canonical name (the root has 0). */
static int name_labels(const char *canon)
{
	int n = 0;
	for (const char *p = canon; *p; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			if (p[0] >= '0' && p[0] <= '9' && p[1] && p[2])
				p += 2;
			continue;
		}
		if (*p == '.')
			n++;
	}
	return n;
}

/* Does canonical name n lie in zone apex (both canonical)? */
bool api_name_in_zone(const char *n, const char *apex)
{
	size_t ln = strlen(n), la = strlen(apex);
	if (strcmp(apex, ".") == 0)
		return true;
	if (ln < la || strcmp(n + ln - la, apex) != 0)
		return false;
	if (ln == la)
		return true;
	/* the character before the apex must be a label separator (not escaped) */
	if (n[ln - la - 1] != '.')
		return false;
	size_t bs = 0;
	for (size_t i = ln - la - 1; i > 0 && n[i - 1] == '\\'; i--)
		bs++;
	return bs % 2 == 0;
}

static int op_create_hosted_zone(api_call_t *c)
{
	if (!api_body_is(c, "CreateHostedZoneRequest"))
		return API_DONE;
	const char *name = api_jstr(c->body, "Name");
	const char *ref = api_jstr(c->body, "CallerReference");
	const json_t *cfg = json_object_get(c->body, "HostedZoneConfig");
	const json_t *vpc = json_object_get(c->body, "VPC");
	char canon[1100], key[1400], refk[700];
	if (name == NULL || ref == NULL || ref[0] == '\0' || strlen(ref) > 128)
		return api_fail(c, 400, "InvalidInput",
				"Invalid request: Name and CallerReference (1..128 characters) are required");
	if (json_object_get(c->body, "DelegationSetId") != NULL)
		return api_fail(c, 400, "NoSuchDelegationSet",
				"Reusable delegation sets are not supported by r53d");
	if (r53p_name_canon(name, canon, sizeof(canon)) != ERR_OK || name_labels(canon) < 2)
		return api_fail(c, 400, "InvalidDomainName", "%s is reserved by AWS!%s", name,
				name_labels(canon) < 2 ? "" : " (not a valid domain name)");
	if (api_jstr(cfg, "Comment") != NULL && strlen(api_jstr(cfg, "Comment")) > 256)
		return api_fail(c, 400, "InvalidInput", "Comment: at most 256 characters");
	bool priv = vpc != NULL || json_is_true(json_object_get(cfg, "PrivateZone"));
	if (priv && (api_jstr(vpc, "VPCId") == NULL || api_jstr(vpc, "VPCRegion") == NULL))
		return api_fail(c, 400, "InvalidVPCId",
				"A private hosted zone needs a VPC (VPCId and VPCRegion)");
	char rk[800];
	model_key_part(rk, sizeof(rk), ref);
	snprintf(refk, sizeof(refk), "hostedzone/%s", ref);
	if (json_object_get(c->m->refs, refk) != NULL)
		return api_fail(c, 409, "HostedZoneAlreadyExists",
				"A hosted zone has already been created with the specified caller reference: %s",
				ref);

	char id[32], hid[48];
	do
		model_new_id(id, sizeof(id), "Z", 20);
	while (model_zone(c->m, id) != NULL);
	snprintf(hid, sizeof(hid), "/hostedzone/%s", id);
	model_txn_t *t = model_txn_new(c->m);
	if (t == NULL)
		return api_fail(c, 500, "InternalFailure", "out of memory");
	json_t *config = json_object();
	if (api_jstr(cfg, "Comment") != NULL)
		json_object_set(config, "Comment", json_object_get(cfg, "Comment"));
	json_object_set_new(config, "PrivateZone", json_boolean(priv));
	json_t *doc = json_pack("{s:{s:s,s:s,s:s,s:o}}", "HostedZone", "Id", hid, "Name", canon,
				"CallerReference", ref, "Config", config);
	if (priv)
		json_object_set_new(doc, "VPCs",
				    json_pack("[{s:s,s:s}]", "VPCRegion", api_jstr(vpc, "VPCRegion"),
					      "VPCId", api_jstr(vpc, "VPCId")));
	snprintf(key, sizeof(key), "/zones/%s", id);
	model_txn_put(t, key, doc);

	/* SOA and NS as Route 53 makes them (spec 1.2). */
	const json_t *nss = api_conf(c)->name_servers;
	const char *ns1 = json_string_value(json_array_get(nss, 0));
	char soa[600];
	snprintf(soa, sizeof(soa), "%s awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400", ns1);
	json_t *nsrr = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(nss, i, v) {
		json_array_append_new(nsrr, json_pack("{s:O}", "Value", v));
	}
	json_t *nsset = json_pack("{s:s,s:s,s:i,s:o}", "Name", canon, "Type", "NS", "TTL", 172800,
				  "ResourceRecords", nsrr);
	json_t *soaset = json_pack("{s:s,s:s,s:i,s:[{s:s}]}", "Name", canon, "Type", "SOA", "TTL",
				   900, "ResourceRecords", "Value", soa);
	model_key_set(key, sizeof(key), id, canon, "NS", NULL);
	model_txn_put(t, key, nsset);
	model_key_set(key, sizeof(key), id, canon, "SOA", NULL);
	model_txn_put(t, key, soaset);
	snprintf(key, sizeof(key), "/callerrefs/hostedzone/%s", rk);
	model_txn_put(t, key, json_pack("{s:s,s:b}", "Id", id, "Deleted", 0));
	json_t *ci = api_change_new(c, t, NULL);

	json_t *hz = json_pack("{s:s,s:s,s:s,s:O,s:i}", "Id", hid, "Name", canon,
			       "CallerReference", ref, "Config",
			       json_object_get(json_object_get(doc, "HostedZone"), "Config"),
			       "ResourceRecordSetCount", 2);
	c->out = json_pack("{s:o,s:o}", "HostedZone", hz, "ChangeInfo", ci);
	if (priv) {
		json_object_set_new(c->out, "VPC", json_pack("{s:s,s:s}", "VPCRegion",
							     api_jstr(vpc, "VPCRegion"), "VPCId",
							     api_jstr(vpc, "VPCId")));
	} else {
		json_t *ns = json_array();
		json_array_foreach(nss, i, v) {
			ns_append(ns, json_string_value(v));
		}
		json_object_set_new(c->out, "DelegationSet", json_pack("{s:o}", "NameServers", ns));
	}
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
	snprintf(c->location, sizeof(c->location), "http://%s" API_PREFIX "/hostedzone/%s",
		 host ? host : "route53.amazonaws.com", id);
	c->root = "CreateHostedZoneResponse";
	c->status = 201;
	return api_submit(c, t, "InvalidInput");
}

static int op_get_hosted_zone(api_call_t *c)
{
	m_zone_t *z = api_need_zone(c, c->path[0]);
	if (z == NULL)
		return API_DONE;
	c->out = json_pack("{s:o}", "HostedZone", zone_out(c, z));
	if (zone_private(z))
		json_object_set(c->out, "VPCs", json_object_get(z->doc, "VPCs"));
	else
		json_object_set_new(c->out, "DelegationSet", json_pack("{s:o}", "NameServers",
								       zone_ns(c, z)));
	c->root = "GetHostedZoneResponse";
	return API_DONE;
}

static int op_list_hosted_zones(api_call_t *c)
{
	unsigned max;
	if (!api_maxitems(c, "maxitems", 100, 100, &max))
		return API_DONE;
	const char *marker = api_q(c, "marker");
	const char *type = api_q(c, "hostedzonetype");
	if (type != NULL && strcmp(type, "PrivateHostedZone") != 0)
		return api_fail(c, 400, "InvalidInput", "hostedzonetype must be PrivateHostedZone");
	if (api_q(c, "delegationsetid") != NULL)
		return api_fail(c, 400, "NoSuchDelegationSet",
				"Reusable delegation sets are not supported by r53d");
	char mk[256] = "";
	if (marker != NULL) {
		snprintf(mk, sizeof(mk), "%s", marker);
		api_strip_prefix(mk);
	}
	json_t *list = json_array();
	const char *next = NULL;
	model_t *m = c->m;
	for (size_t i = 0; i < m->n_zones; i++) {
		m_zone_t *z = m->zones[i];
		if (z->doc == NULL || (mk[0] && strcmp(z->id, mk) < 0))
			continue;
		if (type != NULL && !zone_private(z))
			continue;
		if (json_array_size(list) == max) {
			next = z->id;
			break;
		}
		json_array_append_new(list, zone_out(c, model_zone(m, z->id)));
	}
	c->out = json_pack("{s:o}", "HostedZones", list);
	if (marker != NULL)
		json_object_set_new(c->out, "Marker", json_string(marker));
	json_object_set_new(c->out, "IsTruncated", json_boolean(next != NULL));
	if (next != NULL)
		json_object_set_new(c->out, "NextMarker", json_string(next));
	json_object_set_new(c->out, "MaxItems", json_sprintf("%u", max));
	c->root = "ListHostedZonesResponse";
	return API_DONE;
}

typedef struct zsort {
	char rk[1100];
	m_zone_t *z;
} zsort_t;

static int cmp_zsort(const void *a, const void *b)
{
	const zsort_t *x = a, *y = b;
	int r = strcmp(x->rk, y->rk);
	return r ? r : strcmp(x->z->id, y->z->id);
}

static int op_list_hosted_zones_by_name(api_call_t *c)
{
	unsigned max;
	if (!api_maxitems(c, "maxitems", 100, 100, &max))
		return API_DONE;
	const char *dns = api_q(c, "dnsname");
	const char *hzid = api_q(c, "hostedzoneid");
	char canon[1100] = "", rk[1100] = "", hid[256] = "";
	if (hzid != NULL && dns == NULL)
		return api_fail(c, 400, "InvalidInput",
				"hostedzoneid is only allowed together with dnsname");
	if (dns != NULL) {
		if (r53p_name_canon(dns, canon, sizeof(canon)) != ERR_OK)
			return api_fail(c, 400, "InvalidDomainName", "%s is not a valid domain name",
					dns);
		r53p_name_rev(canon, rk, sizeof(rk));
	}
	if (hzid != NULL) {
		snprintf(hid, sizeof(hid), "%s", hzid);
		api_strip_prefix(hid);
	}
	model_t *m = c->m;
	zsort_t *v = calloc(m->n_zones ? m->n_zones : 1, sizeof(*v));
	if (v == NULL)
		return api_fail(c, 500, "InternalFailure", "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < m->n_zones; i++) {
		if (m->zones[i]->doc == NULL)
			continue;
		r53p_name_rev(api_jstr(api_zone_hz(m->zones[i]), "Name"), v[n].rk, sizeof(v[n].rk));
		v[n++].z = m->zones[i];
	}
	qsort(v, n, sizeof(*v), cmp_zsort);
	json_t *list = json_array();
	size_t i = 0;
	if (dns != NULL) {
		while (i < n && (strcmp(v[i].rk, rk) < 0 ||
				 (hid[0] && strcmp(v[i].rk, rk) == 0 && strcmp(v[i].z->id, hid) < 0)))
			i++;
	}
	m_zone_t *next = NULL;
	for (; i < n; i++) {
		if (json_array_size(list) == max) {
			next = v[i].z;
			break;
		}
		json_array_append_new(list, zone_out(c, model_zone(m, v[i].z->id)));
	}
	c->out = json_pack("{s:o}", "HostedZones", list);
	if (dns != NULL)
		json_object_set_new(c->out, "DNSName", json_string(canon));
	if (hzid != NULL)
		json_object_set_new(c->out, "HostedZoneId", json_string(hid));
	json_object_set_new(c->out, "IsTruncated", json_boolean(next != NULL));
	if (next != NULL) {
		json_object_set_new(c->out, "NextDNSName", json_string(api_jstr(api_zone_hz(next), "Name")));
		json_object_set_new(c->out, "NextHostedZoneId", json_string(next->id));
	}
	json_object_set_new(c->out, "MaxItems", json_sprintf("%u", max));
	free(v);
	c->root = "ListHostedZonesByNameResponse";
	return API_DONE;
}

static int op_list_hosted_zones_by_vpc(api_call_t *c)
{
	unsigned max;
	if (!api_maxitems(c, "maxitems", 100, 100, &max))
		return API_DONE;
	const char *vpcid = api_q(c, "vpcid"), *region = api_q(c, "vpcregion");
	const char *tok = api_q(c, "nexttoken");
	if (vpcid == NULL || region == NULL)
		return api_fail(c, 400, "InvalidInput", "vpcid and vpcregion are required");
	size_t start = 0;
	if (tok != NULL) {
		char *end;
		if (strncmp(tok, "r53d:", 5) != 0 ||
		    (start = strtoul(tok + 5, &end, 10), *end != '\0'))
			return api_fail(c, 400, "InvalidPaginationToken",
					"The specified pagination token is not valid: %s", tok);
	}
	json_t *list = json_array();
	model_t *m = c->m;
	size_t seen = 0;
	bool more = false;
	for (size_t i = 0; i < m->n_zones && !more; i++) {
		m_zone_t *z = m->zones[i];
		if (z->doc == NULL || !zone_private(z))
			continue;
		size_t k;
		json_t *v;
		bool in = false;
		json_array_foreach(json_object_get(z->doc, "VPCs"), k, v) {
			if (api_jstr(v, "VPCId") && strcmp(api_jstr(v, "VPCId"), vpcid) == 0 &&
			    api_jstr(v, "VPCRegion") && strcmp(api_jstr(v, "VPCRegion"), region) == 0)
				in = true;
		}
		if (!in || seen++ < start)
			continue;
		if (json_array_size(list) == max) {
			more = true;
			break;
		}
		json_array_append_new(list, json_pack("{s:s,s:s?,s:{s:s}}", "HostedZoneId", z->id,
						       "Name", api_jstr(api_zone_hz(z), "Name"), "Owner",
						       "OwningAccount", "000000000000"));
	}
	c->out = json_pack("{s:o,s:s++}", "HostedZoneSummaries", list, "MaxItems", "", "", "");
	json_object_set_new(c->out, "MaxItems", json_sprintf("%u", max));
	if (more)
		json_object_set_new(c->out, "NextToken",
				    json_sprintf("r53d:%zu", start + json_array_size(list)));
	c->root = "ListHostedZonesByVPCResponse";
	return API_DONE;
}

static int op_update_hosted_zone_comment(api_call_t *c)
{
	m_zone_t *z = api_need_zone(c, c->path[0]);
	if (z == NULL || !api_body_is(c, "UpdateHostedZoneCommentRequest"))
		return API_DONE;
	const char *comment = api_jstr(c->body, "Comment");
	if (comment != NULL && strlen(comment) > 256)
		return api_fail(c, 400, "InvalidInput", "Comment: at most 256 characters");
	json_t *doc = json_deep_copy(z->doc);
	json_t *cfg = json_object_get(json_object_get(doc, "HostedZone"), "Config");
	if (cfg == NULL) {
		cfg = json_object();
		json_object_set_new(json_object_get(doc, "HostedZone"), "Config", cfg);
	}
	bool priv = json_is_true(json_object_get(cfg, "PrivateZone"));
	json_object_clear(cfg);
	if (comment != NULL)
		json_object_set_new(cfg, "Comment", json_string(comment));
	json_object_set_new(cfg, "PrivateZone", json_boolean(priv));
	model_txn_t *t = model_txn_new(c->m);
	char key[300];
	snprintf(key, sizeof(key), "/zones/%s", z->id);
	model_txn_put(t, key, doc);
	json_t *hz = zone_out(c, z);
	json_object_set(hz, "Config", cfg);
	c->out = json_pack("{s:o}", "HostedZone", hz);
	c->root = "UpdateHostedZoneCommentResponse";
	return api_submit(c, t, "InvalidInput");
}

static int op_delete_hosted_zone(api_call_t *c)
{
	m_zone_t *z = api_need_zone(c, c->path[0]);
	if (z == NULL)
		return API_DONE;
	const char *apex = api_jstr(api_zone_hz(z), "Name");
	size_t extra = 0;
	for (size_t i = 0; i < z->n_sets; i++) {
		const m_set_t *s = &z->sets[i];
		if (!(strcmp(s->name, apex) == 0 && s->setid == NULL &&
		      (strcmp(s->type, "SOA") == 0 || strcmp(s->type, "NS") == 0)))
			extra++;
	}
	if (api_jstr(z->doc, "ZoneFile") != NULL) {
		char err[256];
		json_t *fs = model_zone_file_sets(z, err, sizeof(err));
		size_t i;
		json_t *d;
		json_array_foreach(fs, i, d) {
			const char *ty = api_jstr(d, "Type");
			if (!(strcmp(api_jstr(d, "Name"), apex) == 0 && ty &&
			      (strcmp(ty, "SOA") == 0 || strcmp(ty, "NS") == 0)))
				extra++;
		}
	}
	if (extra > 0)
		return api_fail(c, 400, "HostedZoneNotEmpty",
				"The specified hosted zone contains non-required resource record sets and so cannot be deleted.");
	const char *ss = api_jstr(model_zone_dnssec(z), "ServeSignature");
	if (ss != NULL && strcmp(ss, "SIGNING") == 0)
		return api_fail(c, 400, "HostedZoneNotEmpty",
				"The specified hosted zone has DNSSEC signing enabled and so cannot be deleted: disable DNSSEC signing first.");
	model_txn_t *t = model_txn_new(c->m);
	char key[1400];
	for (size_t i = 0; i < z->n_sets; i++) {
		model_key_set(key, sizeof(key), z->id, z->sets[i].name, z->sets[i].type,
			      z->sets[i].setid);
		model_txn_put(t, key, NULL);
	}
	snprintf(key, sizeof(key), "/zones/%s/tags", z->id);
	model_txn_put(t, key, NULL);
	if (model_zone_dnssec(z) != NULL) { /* key-signing keys of a zone not signing */
		snprintf(key, sizeof(key), "/zones/%s/dnssec", z->id);
		model_txn_put(t, key, NULL);
	}
	snprintf(key, sizeof(key), "/zones/%s", z->id);
	model_txn_put(t, key, NULL);
	json_t *ci = api_change_new(c, t, NULL);
	c->out = json_pack("{s:o}", "ChangeInfo", ci);
	c->root = "DeleteHostedZoneResponse";
	return api_submit(c, t, "InvalidInput");
}

static int vpc_change(api_call_t *c, bool add)
{
	m_zone_t *z = api_need_zone(c, c->path[0]);
	if (z == NULL ||
	    !api_body_is(c, add ? "AssociateVPCWithHostedZoneRequest" : "DisassociateVPCFromHostedZoneRequest"))
		return API_DONE;
	const json_t *vpc = json_object_get(c->body, "VPC");
	const char *vid = api_jstr(vpc, "VPCId"), *vr = api_jstr(vpc, "VPCRegion");
	if (vid == NULL || vid[0] == '\0')
		return api_fail(c, 400, "InvalidVPCId", "The VPC ID is not valid: a VPCId is required");
	if (!zone_private(z))
		return api_fail(c, 400, add ? "PublicZoneVPCAssociation" : "VPCAssociationNotFound",
				add ? "You're trying to associate a VPC with a public hosted zone. Amazon Route 53 doesn't support associating a VPC with a public hosted zone."
				    : "The VPC %s is not associated with the public hosted zone %s", vid, z->id);
	json_t *doc = json_deep_copy(z->doc);
	json_t *vpcs = json_object_get(doc, "VPCs");
	if (vpcs == NULL) {
		vpcs = json_array();
		json_object_set_new(doc, "VPCs", vpcs);
	}
	size_t i, at = SIZE_MAX;
	json_t *v;
	json_array_foreach(vpcs, i, v) {
		if (api_jstr(v, "VPCId") && strcmp(api_jstr(v, "VPCId"), vid) == 0)
			at = i;
	}
	if (add) {
		if (at != SIZE_MAX) {
			json_decref(doc);
			return api_fail(c, 400, "ConflictingDomainExists",
					"The VPC %s is already associated with hosted zone %s", vid, z->id);
		}
		if (json_array_size(vpcs) >= 300) {
			json_decref(doc);
			return api_fail(c, 400, "LimitsExceeded", "A private zone can be associated with at most 300 VPCs");
		}
		json_array_append_new(vpcs, json_pack("{s:s,s:s}", "VPCRegion", vr ? vr : "us-east-1",
						      "VPCId", vid));
	} else {
		if (at == SIZE_MAX) {
			json_decref(doc);
			return api_fail(c, 404, "VPCAssociationNotFound",
					"The specified VPC %s is not associated with hosted zone %s", vid,
					z->id);
		}
		if (json_array_size(vpcs) == 1) {
			json_decref(doc);
			return api_fail(c, 400, "LastVPCAssociation",
					"The VPC that you're trying to disassociate from the private hosted zone is the last VPC that is associated with the hosted zone. Amazon Route 53 doesn't support disassociating the last VPC from a hosted zone.");
		}
		json_array_remove(vpcs, at);
	}
	model_txn_t *t = model_txn_new(c->m);
	char key[300];
	snprintf(key, sizeof(key), "/zones/%s", z->id);
	model_txn_put(t, key, doc);
	json_t *ci = api_change_new(c, t, api_jstr(c->body, "Comment"));
	c->out = json_pack("{s:o}", "ChangeInfo", ci);
	c->root = add ? "AssociateVPCWithHostedZoneResponse" : "DisassociateVPCFromHostedZoneResponse";
	return api_submit(c, t, "InvalidInput");
}

static int op_associate_vpc(api_call_t *c)
{
	return vpc_change(c, true);
}

static int op_disassociate_vpc(api_call_t *c)
{
	return vpc_change(c, false);
}

static int op_get_hosted_zone_count(api_call_t *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->m->n_zones; i++)
		n += c->m->zones[i]->doc != NULL;
	c->out = json_pack("{s:I}", "HostedZoneCount", (json_int_t)n);
	c->root = "GetHostedZoneCountResponse";
	return API_DONE;
}

static int op_get_hosted_zone_limit(api_call_t *c)
{
	m_zone_t *z = api_need_zone(c, c->path[0]);
	if (z == NULL)
		return API_DONE;
	const char *type = c->path[1];
	json_int_t value, count;
	if (strcmp(type, "MAX_RRSETS_BY_ZONE") == 0) {
		value = 10000;
		count = (json_int_t)zone_count(c, z);
	} else if (strcmp(type, "MAX_VPCS_ASSOCIATED_BY_ZONE") == 0) {
		if (!zone_private(z))
			return api_fail(c, 400, "HostedZoneNotPrivate",
					"The specified hosted zone is a public hosted zone, not a private hosted zone.");
		value = 300;
		count = (json_int_t)json_array_size(json_object_get(z->doc, "VPCs"));
	} else {
		return api_fail(c, 400, "InvalidInput",
				"Type must be MAX_RRSETS_BY_ZONE or MAX_VPCS_ASSOCIATED_BY_ZONE");
	}
	c->out = json_pack("{s:{s:s,s:I},s:I}", "Limit", "Type", type, "Value", value, "Count",
			   count);
	c->root = "GetHostedZoneLimitResponse";
	return API_DONE;
}

/* ---- changes and test answers ---------------------------------------------------------- */

static int op_get_change(api_call_t *c)
{
	const json_t *ci = json_object_get(c->m->changes, c->path[0]);
	if (ci == NULL)
		return api_fail(c, 404, "NoSuchChange", "A change with the specified change ID does not exist: %s",
				c->path[0]);
	json_t *out = json_deep_copy(ci);
	const json_t *g = json_object_get(c->m->change_gen, c->path[0]);
	bool insync = g == NULL || daemon_gen_synced(c->api->d, (uint64_t)json_integer_value(g));
	json_object_set_new(out, "Status", json_string(insync ? "INSYNC" : "PENDING"));
	/* Model order: Id, Status, SubmittedAt, Comment. */
	json_t *o = json_pack("{s:O?,s:O?,s:O?}", "Id", json_object_get(out, "Id"), "Status",
			      json_object_get(out, "Status"), "SubmittedAt",
			      json_object_get(out, "SubmittedAt"));
	if (json_object_get(out, "Comment"))
		json_object_set(o, "Comment", json_object_get(out, "Comment"));
	json_decref(out);
	c->out = json_pack("{s:o}", "ChangeInfo", o);
	c->root = "GetChangeResponse";
	return API_DONE;
}

static int op_test_dns_answer(api_call_t *c)
{
	const char *hz = api_q(c, "hostedzoneid");
	if (hz == NULL || api_q(c, "recordname") == NULL || api_q(c, "recordtype") == NULL)
		return api_fail(c, 400, "InvalidInput",
				"hostedzoneid, recordname and recordtype are required");
	char id[256], full[300];
	snprintf(id, sizeof(id), "%s", hz);
	api_strip_prefix(id);
	m_zone_t *z = api_need_zone(c, id);
	if (z == NULL)
		return API_DONE;
	if (zone_private(z)) /* "only supports querying public hosted zones" (the model docs) */
		return api_fail(c, 400, "InvalidInput",
				"TestDNSAnswer only supports public hosted zones; %s is private", id);
	snprintf(full, sizeof(full), "/hostedzone/%s", id);
	testdns_params_t p = {
		.hostedzoneid = full,
		.recordname = api_q(c, "recordname"),
		.recordtype = api_q(c, "recordtype"),
		.resolverip = api_q(c, "resolverip"),
		.edns0clientsubnetip = api_q(c, "edns0clientsubnetip"),
		.edns0clientsubnetmask = api_q(c, "edns0clientsubnetmask"),
	};
	json_t *out = NULL;
	int code = testdns_answer(daemon_zdb(c->api->d), &p, &out);
	if (code != 200) {
		const char *e = api_jstr(out, "error");
		api_fail(c, code == 404 ? 404 : 400, code == 404 ? "NoSuchHostedZone" : "InvalidInput",
			 "%s", e ? e : "invalid test");
		json_decref(out);
		return API_DONE;
	}
	static const char *const keep[] = { "Nameserver", "RecordName", "RecordType",
					    "RecordData", "ResponseCode", "Protocol", NULL };
	/* The name server that answered: the zone's first, as Route 53 names one of its own. */
	json_t *ns = zone_ns(c, z);
	if (json_array_size(ns) > 0)
		json_object_set(out, "Nameserver", json_array_get(ns, 0));
	json_decref(ns);
	c->out = json_object();
	for (const char *const *k = keep; *k; k++) {
		json_t *v = json_object_get(out, *k);
		if (v != NULL)
			json_object_set(c->out, *k, v);
	}
	json_decref(out);
	c->root = "TestDNSAnswerResponse";
	return API_DONE;
}

static int op_not_implemented(api_call_t *c)
{
	return api_fail(c, 501, "NotImplemented", "%s is not implemented by r53d", c->op);
}

/* ---- routing --------------------------------------------------------------------------- */

typedef struct route {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *pattern; /* segments, '*' a parameter */
	const char *op;
	api_handler_fn fn;
} route_t;

static const route_t ROUTES[] = {
	{ "POST", "hostedzone", "CreateHostedZone", op_create_hosted_zone },
	{ "GET", "hostedzone", "ListHostedZones", op_list_hosted_zones },
	{ "GET", "hostedzone/*", "GetHostedZone", op_get_hosted_zone },
	{ "POST", "hostedzone/*", "UpdateHostedZoneComment", op_update_hosted_zone_comment },
	{ "DELETE", "hostedzone/*", "DeleteHostedZone", op_delete_hosted_zone },
	{ "POST", "hostedzone/*/rrset", "ChangeResourceRecordSets", api_change_rrsets },
	{ "GET", "hostedzone/*/rrset", "ListResourceRecordSets", api_list_rrsets },
	{ "POST", "hostedzone/*/associatevpc", "AssociateVPCWithHostedZone", op_associate_vpc },
	{ "POST", "hostedzone/*/disassociatevpc", "DisassociateVPCFromHostedZone",
	  op_disassociate_vpc },
	{ "GET", "hostedzone/*/dnssec", "GetDNSSEC", api_get_dnssec },
	{ "POST", "hostedzone/*/enable-dnssec", "EnableHostedZoneDNSSEC", api_enable_dnssec },
	{ "POST", "hostedzone/*/disable-dnssec", "DisableHostedZoneDNSSEC", api_disable_dnssec },
	{ "POST", "keysigningkey", "CreateKeySigningKey", api_create_ksk },
	{ "POST", "keysigningkey/*/*/activate", "ActivateKeySigningKey", api_activate_ksk },
	{ "POST", "keysigningkey/*/*/deactivate", "DeactivateKeySigningKey", api_deactivate_ksk },
	{ "DELETE", "keysigningkey/*/*", "DeleteKeySigningKey", api_delete_ksk },
	{ "POST", "hostedzone/*/features", "UpdateHostedZoneFeatures", op_not_implemented },
	{ "POST", "hostedzone/*/authorizevpcassociation", "CreateVPCAssociationAuthorization",
	  op_not_implemented },
	{ "GET", "hostedzone/*/authorizevpcassociation", "ListVPCAssociationAuthorizations",
	  op_not_implemented },
	{ "POST", "hostedzone/*/deauthorizevpcassociation", "DeleteVPCAssociationAuthorization",
	  op_not_implemented },
	{ "GET", "hostedzonesbyname", "ListHostedZonesByName", op_list_hosted_zones_by_name },
	{ "GET", "hostedzonesbyvpc", "ListHostedZonesByVPC", op_list_hosted_zones_by_vpc },
	{ "GET", "hostedzonecount", "GetHostedZoneCount", op_get_hosted_zone_count },
	{ "GET", "hostedzonelimit/*/*", "GetHostedZoneLimit", op_get_hosted_zone_limit },
	{ "GET", "change/*", "GetChange", op_get_change },
	{ "GET", "testdnsanswer", "TestDNSAnswer", op_test_dns_answer },
	{ "POST", "healthcheck", "CreateHealthCheck", api_create_health_check },
	{ "GET", "healthcheck", "ListHealthChecks", api_list_health_checks },
	{ "GET", "healthcheck/*", "GetHealthCheck", api_get_health_check },
	{ "POST", "healthcheck/*", "UpdateHealthCheck", api_update_health_check },
	{ "DELETE", "healthcheck/*", "DeleteHealthCheck", api_delete_health_check },
	{ "GET", "healthcheck/*/status", "GetHealthCheckStatus", api_get_health_check_status },
	{ "GET", "healthcheck/*/lastfailurereason", "GetHealthCheckLastFailureReason",
	  api_get_health_check_last_failure_reason },
	{ "GET", "healthcheckcount", "GetHealthCheckCount", api_get_health_check_count },
	{ "GET", "checkeripranges", "GetCheckerIpRanges", api_get_checker_ip_ranges },
	{ "POST", "cidrcollection", "CreateCidrCollection", api_create_cidr_collection },
	{ "GET", "cidrcollection", "ListCidrCollections", api_list_cidr_collections },
	{ "POST", "cidrcollection/*", "ChangeCidrCollection", api_change_cidr_collection },
	{ "GET", "cidrcollection/*", "ListCidrLocations", api_list_cidr_locations },
	{ "DELETE", "cidrcollection/*", "DeleteCidrCollection", api_delete_cidr_collection },
	{ "GET", "cidrcollection/*/cidrblocks", "ListCidrBlocks", api_list_cidr_blocks },
	{ "POST", "tags/*/*", "ChangeTagsForResource", api_change_tags_for_resource },
	{ "GET", "tags/*/*", "ListTagsForResource", api_list_tags_for_resource },
	{ "POST", "tags/*", "ListTagsForResources", api_list_tags_for_resources },
	{ "GET", "accountlimit/*", "GetAccountLimit", api_get_account_limit },
	{ NULL, NULL, NULL, NULL },
};

/* Families of the model that r53d does not implement (NotImplemented, 501). */
static const char *const UNIMPLEMENTED[] = { "trafficpolicy", "trafficpolicies",
					     "trafficpolicyinstance", "trafficpolicyinstances",
					     "trafficpolicyinstancecount", "trafficpolicycount",
					     "queryloggingconfig", "delegationset",
					     "reusabledelegationsetlimit", "geolocation",
					     "geolocations", NULL };

static bool segment_decode(const char *s, size_t n, char *out, size_t len)
{
	char *tmp = strndup(s, n);
	if (tmp == NULL)
		return false;
	size_t dl = 0;
	char *d = evhttp_uridecode(tmp, 0, &dl);
	free(tmp);
	if (d == NULL)
		return false;
	bool ok = dl < len;
	if (ok)
		memcpy(out, d, dl + 1);
	free(d);
	return ok;
}

/* Match rest ("/hostedzone/Z1/rrset/") against a pattern; fill c->path. */
static bool route_match(const char *pattern, const char *rest, api_call_t *c)
{
	const char *p = pattern, *r = rest;
	int np = 0;
	while (*r == '/')
		r++;
	for (;;) {
		const char *pe = strchr(p, '/');
		size_t pl = pe ? (size_t)(pe - p) : strlen(p);
		const char *re = strchr(r, '/');
		size_t rl = re ? (size_t)(re - r) : strlen(r);
		if (rl == 0)
			return false;
		if (pl == 1 && p[0] == '*') {
			if (np >= 4 || !segment_decode(r, rl, c->path[np], sizeof(c->path[np])))
				return false;
			api_strip_prefix(c->path[np]);
			np++;
		} else if (pl != rl || strncmp(p, r, pl) != 0) {
			return false;
		}
		r += rl;
		while (*r == '/')
			r++;
		if (pe == NULL)
			return *r == '\0';
		p = pe + 1;
		if (*r == '\0')
			return false;
	}
}

static const char *req_header(void *ctx, const char *lower_name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(ctx), lower_name);
}

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

/* SigV4: verify when credentials are configured; otherwise only read the region. */
static bool check_auth(api_call_t *c, const char *method, const char *rawpath,
		       const char *rawquery, const uint8_t *body, size_t blen)
{
	sigv4_req_t r = { .method = method, .path = rawpath, .query = rawquery,
			  .header = req_header, .header_ctx = c->req, .body = body,
			  .body_len = blen };
	const json_t *creds = api_conf(c)->api_credentials;
	char err[512];
	if (creds == NULL) {
		char akid[256], service[64];
		if (sigv4_parse(&r, akid, sizeof(akid), c->region, sizeof(c->region), service,
				sizeof(service)) != SIGV4_OK)
			c->region[0] = '\0';
		return true;
	}
	size_t n = json_array_size(creds);
	sigv4_cred_t cr[32];
	if (n > 32)
		n = 32;
	for (size_t i = 0; i < n; i++) {
		const json_t *x = json_array_get(creds, i);
		cr[i].access_key_id = api_jstr(x, "AccessKeyId");
		cr[i].secret = api_jstr(x, "SecretAccessKey");
	}
	int v = sigv4_verify(&r, cr, n, time(NULL), c->region, sizeof(c->region), err, sizeof(err));
	switch (v) {
	case SIGV4_OK:
		return true;
	case SIGV4_UNSIGNED:
		api_fail(c, 403, "MissingAuthenticationToken",
			 "Request is missing Authentication Token");
		return false;
	case SIGV4_MALFORMED:
		api_fail(c, 400, "IncompleteSignature", "%s", err);
		return false;
	case SIGV4_UNKNOWN_KEY:
		api_fail(c, 403, "InvalidClientTokenId",
			 "The security token included in the request is invalid.");
		return false;
	case SIGV4_SKEW:
		api_fail(c, 403, "RequestExpired", "%s", err);
		return false;
	default:
		api_fail(c, 403, "SignatureDoesNotMatch",
			 "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
		return false;
	}
}

static void api_handle(struct evhttp_request *req, const char *rest, void *arg)
{
	api_t *a = arg;
	api_call_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	c->query.tqh_first = NULL;
	c->query.tqh_last = &c->query.tqh_first;
	c->api = a;
	c->m = a->m;
	c->req = req;
	c->op = "Unknown";
	model_new_uuid(c->request_id, sizeof(c->request_id));

	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *rawpath = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *rawquery = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *method = method_name(evhttp_request_get_command(req));
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t blen = evbuffer_get_length(in);
	const uint8_t *body = blen ? evbuffer_pullup(in, -1) : NULL;
	const conf_t *conf = api_conf(c);
	api_handler_fn fn = NULL;

	if (blen > conf->api_max_body) {
		api_fail(c, 400, "InvalidInput", "The request body is larger than %zu bytes",
			 conf->api_max_body);
		goto send;
	}
	if (!check_auth(c, method, rawpath ? rawpath : "/", rawquery, body, blen))
		goto send;
	for (const route_t *r = ROUTES; r->method != NULL; r++) {
		if (strcmp(r->method, method) == 0 && route_match(r->pattern, rest, c)) {
			c->op = r->op;
			fn = r->fn;
			break;
		}
	}
	if (fn == NULL) {
		const char *s = rest;
		while (*s == '/')
			s++;
		size_t l = strcspn(s, "/");
		for (const char *const *u = UNIMPLEMENTED; *u; u++) {
			if (strlen(*u) == l && strncmp(s, *u, l) == 0) {
				api_fail(c, 501, "NotImplemented",
					 "%s %s" API_PREFIX "%s is not implemented by r53d", method, "",
					 rest);
				goto send;
			}
		}
		api_fail(c, 400, "InvalidAction",
			 "The action %s " API_PREFIX "%s is not valid for this web service", method,
			 rest);
		goto send;
	}
	if (rawquery != NULL && evhttp_parse_query_str(rawquery, &c->query) != 0) {
		api_fail(c, 400, "InvalidInput", "the query string is malformed");
		goto send;
	}
	if (strcmp(method, "POST") == 0 && blen > 0) {
		char err[512];
		int ret = xmlconv_parse((const char *)body, blen, c->body_root, sizeof(c->body_root),
					&c->body, err, sizeof(err));
		if (ret != ERR_OK) {
			api_fail(c, 400, ret == ERR_INVAL ? "InvalidInput" : "MalformedInput", "%s", err);
			goto send;
		}
	}
	if (a->inflight != NULL || a->head != NULL || daemon_busy(a->d)) {
		api_wait_t *w = calloc(1, sizeof(*w));
		if (w == NULL) {
			api_fail(c, 503, "ServiceUnavailable", "out of memory");
			goto send;
		}
		w->c = c;
		w->fn = fn;
		if (a->tail)
			a->tail->next = w;
		else
			a->head = w;
		a->tail = w;
		return;
	}
	run_one(c, fn);
	return;
send:
	call_send(c);
}

int api_new(daemon_t *d, admin_t *admin, model_t *m, api_t **out)
{
	api_t *a = calloc(1, sizeof(*a));
	*out = NULL;
	if (a == NULL)
		return ERR_NOMEM;
	a->d = d;
	a->m = m;
	a->admin = admin;
	admin_set_max_body(admin, daemon_conf(d)->api_max_body + 65536);
	int ret = admin_register(admin, API_PREFIX, api_handle, a);
	if (ret != ERR_OK) {
		free(a);
		return ret;
	}
	*out = a;
	return ERR_OK;
}

void api_free(api_t *a)
{
	if (a == NULL)
		return;
	while (a->head != NULL) {
		api_wait_t *w = a->head;
		a->head = w->next;
		api_fail(w->c, 503, "ServiceUnavailable", "r53d is shutting down");
		call_send(w->c);
		free(w);
	}
	free(a);
}
