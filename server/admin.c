/* SPDX-License-Identifier: MIT */
/*
 * admin.c -- the admin HTTP endpoint: evhttp on the control thread, a prefix router, and the
 * core handlers (GET /zones, GET /metrics, POST /reload).
 *
 * POST /reload answers when the reload it asked for has finished: the request is held
 * (evhttp lets a handler reply later) and answered from the daemon's completion callback:
 * 200 {"status":"ok"} when the new snapshot serves, 409 with the error when the
 * configuration or a zone is invalid (the old data keeps serving), 500 for internal
 * failures (out of memory, a thread that cannot start), 503 when the server shuts down first.
 */
#include "admin.h"
#include "conf.h"
#include "daemon.h"
#include "err.h"
#include "hc.h"
#include "log.h"
#include "dnssec.h"
#include "model.h"
#include "stats.h"
#include "testdns.h"
#include "zdb.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest request body accepted (bodies are words like "healthy"). */
#define ADMIN_MAX_BODY 65536
/* Seconds an admin connection may stay silent. */
#define ADMIN_TIMEOUT_S 30

/* One registered prefix. */
typedef struct admin_route {
	char *prefix;  /* "/zones" */
	size_t len;    /* strlen(prefix) */
	admin_fn fn;   /* handler */
	void *arg;     /* its argument */
} admin_route_t;

struct admin {
	struct evhttp *http;     /* the server */
	admin_route_t *routes;   /* registered prefixes */
	size_t n_routes;         /* entries in routes */
	char listen[64];         /* address, for messages */
};

void admin_reply(struct evhttp_request *req, int code, const char *content_type,
		 const char *body, size_t len)
{
	struct evbuffer *buf = evbuffer_new();
	if (buf == NULL || evbuffer_add(buf, body, len) != 0) {
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

void admin_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))
			  : NULL;
	json_decref(body);
	if (text == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	size_t len = strlen(text);
	/* json_dumps has no final newline; curl users like one. */
	char *withnl = realloc(text, len + 2);
	if (withnl != NULL) {
		text = withnl;
		text[len++] = '\n';
		text[len] = '\0';
	}
	admin_reply(req, code, "application/json", text, len);
	free(text);
}

void admin_reply_error(struct evhttp_request *req, int code, const char *msg)
{
	admin_reply_json(req, code, json_pack("{s:s,s:s}", "status", "error", "error", msg));
}

int admin_method_ok(struct evhttp_request *req, unsigned allowed)
{
	unsigned m = (unsigned)evhttp_request_get_command(req);
	if (m == EVHTTP_REQ_HEAD && (allowed & EVHTTP_REQ_GET))
		return 1;
	if (m & allowed)
		return 1;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Allow", (allowed & EVHTTP_REQ_POST) ? "POST" : "GET, HEAD");
	admin_reply_error(req, 405, "method not allowed");
	return 0;
}

int admin_register(admin_t *a, const char *prefix, admin_fn fn, void *arg)
{
	if (prefix == NULL || prefix[0] != '/' || fn == NULL)
		return ERR_INVAL;
	size_t len = strlen(prefix);
	while (len > 1 && prefix[len - 1] == '/')
		len--;
	for (size_t i = 0; i < a->n_routes; i++) {
		if (a->routes[i].len == len && memcmp(a->routes[i].prefix, prefix, len) == 0) {
			a->routes[i].fn = fn;
			a->routes[i].arg = arg;
			return ERR_OK;
		}
	}
	admin_route_t *r = realloc(a->routes, (a->n_routes + 1) * sizeof(*r));
	if (r == NULL)
		return ERR_NOMEM;
	a->routes = r;
	char *p = strndup(prefix, len);
	if (p == NULL)
		return ERR_NOMEM;
	a->routes[a->n_routes++] = (admin_route_t){ .prefix = p, .len = len, .fn = fn, .arg = arg };
	return ERR_OK;
}

/* Route a request to the handler with the longest matching prefix. */
static void admin_dispatch(struct evhttp_request *req, void *arg)
{
	admin_t *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || path[0] == '\0')
		path = "/";
	const admin_route_t *best = NULL;
	for (size_t i = 0; i < a->n_routes; i++) {
		const admin_route_t *r = &a->routes[i];
		bool match = strncmp(path, r->prefix, r->len) == 0 &&
			     (path[r->len] == '\0' || path[r->len] == '/' || r->len == 1);
		if (match && (best == NULL || r->len > best->len))
			best = r;
	}
	if (best == NULL) {
		admin_reply_error(req, 404, "no such endpoint");
		return;
	}
	best->fn(req, path + (best->len == 1 ? 0 : best->len), best->arg);
}

/* A path that should end at the prefix ("" or "/"): 404 otherwise. */
static int no_rest(struct evhttp_request *req, const char *rest)
{
	if (rest[0] == '\0' || strcmp(rest, "/") == 0)
		return 1;
	admin_reply_error(req, 404, "no such endpoint");
	return 0;
}

/* ---- core handlers ----------------------------------------------------------------------- */

static void handle_zones(struct evhttp_request *req, const char *rest, void *arg)
{
	daemon_t *d = arg;
	if (!no_rest(req, rest) || !admin_method_ok(req, EVHTTP_REQ_GET))
		return;
	const zdb_t *db = daemon_zdb(d);
	json_t *zones = json_array();
	json_t *root = json_pack("{s:I,s:o}", "generation", (json_int_t)daemon_generation(d),
				 "zones", zones);
	if (root == NULL) {
		admin_reply_error(req, 500, "out of memory");
		return;
	}
	size_t n = zdb_zone_count(db);
	for (size_t i = 0; i < n; i++) {
		zdb_zone_info_t info;
		zdb_zone_info(db, i, &info);
		json_t *z = json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I}", "name", info.name, "id",
				      info.id ? info.id : "", "private", info.private_zone,
				      "names", (json_int_t)info.n_names, "rrsets",
				      (json_int_t)info.n_rrsets, "records",
				      (json_int_t)info.n_records, "serial", (json_int_t)info.serial);
		if (z == NULL || json_array_append_new(zones, z) != 0) {
			json_decref(root);
			admin_reply_error(req, 500, "out of memory");
			return;
		}
	}
	admin_reply_json(req, 200, root);
}

/* GET /dnssec: the public DNSSEC state of every zone with a dnssec document (model.h): its
 * serving status, KSKs (name, status, key tag, DS record) and ZSKs (key tag, state, since).
 * Built field by field: the documents' private keys ("Pem") never reach the output. */
static void handle_dnssec(struct evhttp_request *req, const char *rest, void *arg)
{
	daemon_t *d = arg;
	if (!no_rest(req, rest) || !admin_method_ok(req, EVHTTP_REQ_GET))
		return;
	const model_t *m = daemon_model(d);
	json_t *zones = json_array();
	json_t *root = json_pack("{s:o}", "zones", zones);
	if (root == NULL || m == NULL) {
		json_decref(root);
		admin_reply_error(req, m == NULL ? 503 : 500, "no model");
		return;
	}
	for (size_t i = 0; i < m->n_zones; i++) {
		const m_zone_t *z = m->zones[i];
		const json_t *doc = z->doc ? model_zone_dnssec(z) : NULL;
		if (doc == NULL)
			continue;
		const char *name =
			json_string_value(json_object_get(json_object_get(z->doc, "HostedZone"), "Name"));
		uint8_t owner[256];
		bool have_owner = false;
		ldns_rdf *r = NULL;
		if (name != NULL && ldns_str2rdf_dname(&r, name) == LDNS_STATUS_OK && r != NULL &&
		    ldns_rdf_size(r) <= sizeof(owner)) {
			memcpy(owner, ldns_rdf_data(r), ldns_rdf_size(r));
			have_owner = true;
		}
		ldns_rdf_deep_free(r);
		json_t *ksks = json_array(), *zsks = json_array();
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(doc, "KeySigningKeys"), k, v) {
			const dnssec_key_t *key = model_ksk_key(m, v);
			dnssec_present_t p;
			bool ok = key != NULL && have_owner &&
				  dnssec_key_present(key, owner, &p) == ERR_OK;
			json_t *o = json_pack("{s:s?,s:s?,s:s?}", "name",
					      json_string_value(json_object_get(v, "Name")), "kms_arn",
					      json_string_value(json_object_get(v, "KmsArn")), "status",
					      ok ? json_string_value(json_object_get(v, "Status"))
						 : "ACTION_NEEDED");
			if (o != NULL && ok) {
				json_object_set_new(o, "key_tag", json_integer(p.key_tag));
				json_object_set_new(o, "ds_record", json_string(p.ds_record));
			}
			json_array_append_new(ksks, o);
		}
		json_array_foreach(json_object_get(doc, "ZSKs"), k, v) {
			const dnssec_key_t *key = model_zsk_key(m, v);
			json_array_append_new(
				zsks, json_pack("{s:I,s:s?,s:O?}", "key_tag",
						(json_int_t)(key ? dnssec_key_tag(key) : 0), "state",
						json_string_value(json_object_get(v, "State")), "since",
						json_object_get(v, "Since")));
		}
		json_t *o = json_pack("{s:s,s:s?,s:s?,s:o,s:o}", "id", z->id, "name", name,
				      "serve_signature",
				      json_string_value(json_object_get(doc, "ServeSignature")),
				      "ksks", ksks, "zsks", zsks);
		if (o == NULL || json_array_append_new(zones, o) != 0) {
			json_decref(root);
			admin_reply_error(req, 500, "out of memory");
			return;
		}
	}
	admin_reply_json(req, 200, root);
}

static void handle_metrics(struct evhttp_request *req, const char *rest, void *arg)
{
	daemon_t *d = arg;
	if (!no_rest(req, rest) || !admin_method_ok(req, EVHTTP_REQ_GET))
		return;
	stats_totals_t t;
	daemon_stats(d, &t);
	struct evbuffer *buf = evbuffer_new();
	if (buf == NULL || stats_format_prometheus(&t, buf) != ERR_OK ||
	    hc_metrics_write(daemon_health(d), buf) != HC_OK) {
		if (buf != NULL)
			evbuffer_free(buf);
		admin_reply_error(req, 500, "out of memory");
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, NULL, buf);
	evbuffer_free(buf);
}

/* Completion of a reload requested by POST /reload: answer the held request. */
static void reload_done(void *arg, int ret, const char *msg)
{
	struct evhttp_request *req = arg;
	if (ret == ERR_OK) {
		admin_reply_json(req, 200, json_pack("{s:s,s:s}", "status", "ok", "message", msg));
		return;
	}
	int code = 409;
	if (ret == ERR_NOMEM || ret == ERR_SYS)
		code = 500;
	else if (ret == ERR_LIMIT)
		code = 503;
	admin_reply_error(req, code, msg);
}

static void handle_reload(struct evhttp_request *req, const char *rest, void *arg)
{
	daemon_t *d = arg;
	if (!no_rest(req, rest) || !admin_method_ok(req, EVHTTP_REQ_POST))
		return;
	log_msg(LOG_INFO, "admin: reload requested");
	if (daemon_reload(d, reload_done, req) != ERR_OK)
		admin_reply_error(req, 500, "out of memory");
}

/* ---- health checks ------------------------------------------------------------------------ */

/* POST /healthchecks/ID/force with body healthy, unhealthy or auto. */
static void health_force(struct evhttp_request *req, hc_system_t *hc, const char *id_enc)
{
	char body[64];
	char *id = NULL;
	hc_force_mode_t mode;

	if (!admin_method_ok(req, EVHTTP_REQ_POST | EVHTTP_REQ_PUT))
		return;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len >= sizeof(body)) {
		admin_reply_error(req, 400, "body must be healthy, unhealthy or auto");
		return;
	}
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	if (hc_force_parse(body, &mode) != HC_OK) {
		admin_reply_error(req, 400, "body must be healthy, unhealthy or auto");
		return;
	}
	id = evhttp_uridecode(id_enc, 0, NULL);
	if (id == NULL) {
		admin_reply_error(req, 500, "out of memory");
		return;
	}
	int ret = hc_force(hc, id, mode);
	if (ret == HC_OK) {
		static const char *const names[] = { "auto", "healthy", "unhealthy" };
		log_msg(LOG_NOTICE, "admin: health check %s forced %s", id, names[mode]);
		admin_reply_json(req, 200, json_pack("{s:s,s:s,s:s}", "status", "ok", "Id", id,
						     "force", names[mode]));
	} else if (ret == HC_ENOENT) {
		admin_reply_error(req, 404, "no health check with this Id");
	} else {
		admin_reply_error(req, 400, "cannot force this health check");
	}
	free(id);
}

/* GET /healthchecks, POST /healthchecks/ID/force. */
static void handle_health(struct evhttp_request *req, const char *rest, void *arg)
{
	hc_system_t *hc = daemon_health(arg);
	if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
		if (!admin_method_ok(req, EVHTTP_REQ_GET))
			return;
		json_t *j = NULL;
		if (hc_status_json(hc, &j) != HC_OK) {
			admin_reply_error(req, 500, "out of memory");
			return;
		}
		admin_reply_json(req, 200, j);
		return;
	}
	/* rest is "/ID/force" */
	const char *id = rest + 1;
	const char *slash = strchr(id, '/');
	if (slash == NULL || slash == id || strcmp(slash, "/force") != 0) {
		admin_reply_error(req, 404, "no such endpoint");
		return;
	}
	char idbuf[256];
	size_t n = (size_t)(slash - id);
	if (n >= sizeof(idbuf)) {
		admin_reply_error(req, 404, "no health check with this Id");
		return;
	}
	memcpy(idbuf, id, n);
	idbuf[n] = '\0';
	health_force(req, hc, idbuf);
}

/* ---- TestDNSAnswer ---------------------------------------------------------------------- */

/* GET /testdnsanswer?hostedzoneid=..&recordname=..&recordtype=..[&resolverip=..]
 * [&edns0clientsubnetip=..&edns0clientsubnetmask=..], also under Route 53's own path
 * /2013-04-01/testdnsanswer. Runs on the control thread against the served snapshot. */
static void handle_testdns(struct evhttp_request *req, const char *rest, void *arg)
{
	daemon_t *d = arg;
	struct evkeyvalq q;
	if (!no_rest(req, rest) || !admin_method_ok(req, EVHTTP_REQ_GET))
		return;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
	/* evhttp_parse_query_str initialises q, also for an empty string. */
	if (evhttp_parse_query_str(qs ? qs : "", &q) != 0) {
		evhttp_clear_headers(&q);
		admin_reply_error(req, 400, "malformed query string");
		return;
	}
	testdns_params_t p = {
		.hostedzoneid = evhttp_find_header(&q, "hostedzoneid"),
		.recordname = evhttp_find_header(&q, "recordname"),
		.recordtype = evhttp_find_header(&q, "recordtype"),
		.resolverip = evhttp_find_header(&q, "resolverip"),
		.edns0clientsubnetip = evhttp_find_header(&q, "edns0clientsubnetip"),
		.edns0clientsubnetmask = evhttp_find_header(&q, "edns0clientsubnetmask"),
	};
	json_t *out = NULL;
	int code = testdns_answer(daemon_zdb(d), &p, &out);
	evhttp_clear_headers(&q);
	admin_reply_json(req, code, out);
}

int admin_register_core(admin_t *a, daemon_t *d)
{
	int ret = admin_register(a, "/zones", handle_zones, d);
	if (ret == ERR_OK)
		ret = admin_register(a, "/metrics", handle_metrics, d);
	if (ret == ERR_OK)
		ret = admin_register(a, "/reload", handle_reload, d);
	if (ret == ERR_OK)
		ret = admin_register(a, "/healthchecks", handle_health, d);
	if (ret == ERR_OK)
		ret = admin_register(a, "/testdnsanswer", handle_testdns, d);
	if (ret == ERR_OK)
		ret = admin_register(a, "/dnssec", handle_dnssec, d);
	return ret; /* /2013-04-01/testdnsanswer is the API's (api.c), in XML */
}

/* ---- life cycle -------------------------------------------------------------------------- */

int admin_new(struct event_base *base, const char *listen_text, admin_t **out, char *err,
	      size_t errlen)
{
	int ret = ERR_NOMEM;
	int fd = -1;
	const char *what = "socket";
	struct sockaddr_storage ss;
	socklen_t sl;
	admin_t *a;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "admin %s: out of memory", listen_text);
		return ERR_NOMEM;
	}
	snprintf(a->listen, sizeof(a->listen), "%s", listen_text);
	if (conf_parse_addr(listen_text, 8053, &ss, &sl) != ERR_OK) {
		snprintf(err, errlen, "admin %s: not an address", listen_text);
		ret = ERR_INVAL;
		goto out;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto sysfail;
	int one = 1;
	what = "SO_REUSEADDR";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto sysfail;
	what = "IPV6_V6ONLY";
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto sysfail;
	/* Accepted sockets inherit it: a response written in pieces (evhttp writes 16 KiB at a
	 * time) must not wait for the client's delayed ACK (40 ms per large API page). */
	what = "TCP_NODELAY";
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		goto sysfail;
	what = "cannot bind";
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
		goto sysfail;
	what = "listen";
	if (listen(fd, 64) != 0)
		goto sysfail;
	a->http = evhttp_new(base);
	if (a->http == NULL) {
		snprintf(err, errlen, "admin %s: out of memory", listen_text);
		goto out;
	}
	evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
	evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(a->http, admin_dispatch, a);
	/* evhttp's listener closes fd from now on. */
	if (evhttp_accept_socket_with_handle(a->http, fd) == NULL) {
		snprintf(err, errlen, "admin %s: cannot accept connections", listen_text);
		ret = ERR_SYS;
		goto out;
	}
	fd = -1;
	*out = a;
	a = NULL;
	ret = ERR_OK;
	goto out;
sysfail:
	snprintf(err, errlen, "admin %s: %s: %s", listen_text, what, strerror(errno));
	ret = ERR_SYS;
out:
	if (fd >= 0)
		close(fd);
	admin_free(a);
	return ret;
}

void admin_set_max_body(admin_t *a, size_t n)
{
	evhttp_set_max_body_size(a->http, n > ADMIN_MAX_BODY ? n : ADMIN_MAX_BODY);
}

void admin_free(admin_t *a)
{
	if (a == NULL)
		return;
	if (a->http != NULL)
		evhttp_free(a->http);
	for (size_t i = 0; i < a->n_routes; i++)
		free(a->routes[i].prefix);
	free(a->routes);
	free(a);
}
