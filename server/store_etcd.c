/* SPDX-License-Identifier: MIT */
/*
 * store_etcd.c -- the store on an etcd 3.4 cluster, over its HTTP/JSON gateway (libevent's
 * evhttp client and jansson; spec/FLEET.md sections 1 and 5).
 *
 * Synchronous calls (get, range, commit, leases) run a private event_base of the store: one
 * request at a time, on a keep-alive connection to the pinned endpoint, with a timer that
 * bounds each attempt. Why a private loop and not a thread: the store is used by one thread
 * (the control thread) and its callers want an answer before they go on (the API answers
 * only after the commit), so a thread would add a queue, locks and a wake-up for nothing;
 * a private base runs none of the caller's callbacks meanwhile (no re-entrance), and the
 * time limits bound how long the control thread can wait (DNS workers never wait: they
 * do not use the store).
 *
 * Failover (FLEET.md 1.4): a refused or reset connection, an attempt timeout, HTTP 5xx
 * (etcd: "no leader", "request timed out", "context deadline exceeded") move to the next
 * endpoint, round robin, with a short pause after each full round, until the call's time
 * limit. Every request carries Grpc-Metadata-hasleader: true, so a member cut off from
 * the leader refuses at once instead of waiting out etcd's 7 s. 4xx answers are final.
 *
 * The feed is a watch stream on the caller's event_base, on a connection of its own
 * (evhttp serves one request at a time per connection). Each message is one JSON object
 * and a newline; chunk boundaries are not message boundaries, so bytes are gathered in an
 * evbuffer and split on '\n'. Events are grouped by mod_revision and delivered one
 * revision per call. A stream that ends (EOF, error message, idle timeout: etcd's progress
 * notifications keep a healthy stream busy) is reopened on the next endpoint from the last
 * delivered revision + 1, after a backoff while it keeps failing. A watch cancelled with a
 * compact_revision stops the feed and calls lost(): the caller reloads.
 * evhttp objects are never freed inside their own callbacks: a finished stream is moved to
 * a list that an event (activated by hand) frees from the top of the loop.
 *
 * Revisions: etcd's. s->rev is the highest header revision seen in an answer or the
 * highest revision delivered by the feed.
 */
#include "store_int.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

/* One member of the cluster. */
typedef struct ep {
	char *url;                     /* as configured, for logs */
	char *host;                    /* numeric address or name, no brackets */
	char *hosthdr;                 /* "host:port" for the Host header */
	uint16_t port;                 /* TCP port */
	struct evhttp_connection *con; /* keep-alive connection on the private base, or NULL */
} ep_t;

typedef struct etcd_store etcd_store_t;

/* One watch stream (FLEET.md 1.3). */
typedef struct stream {
	etcd_store_t *es;              /* the store; borrowed */
	struct evhttp_connection *con; /* on the feed's base; owned */
	struct stream *next;           /* in the list of finished streams */
	size_t ep;                     /* endpoint index */
	bool created;                  /* etcd confirmed the watcher */
} stream_t;

/* The asynchronous feed. */
typedef struct feed {
	struct event_base *base; /* the caller's loop; borrowed */
	store_feed_cbs_t cbs;    /* what to call */
	bool on;                 /* delivering */
	uint64_t next;           /* the next revision to deliver */
	uint64_t last;           /* the last revision delivered or reported by progress */
	size_t ep;               /* endpoint of the next stream */
	stream_t *cur;           /* the live stream, or NULL */
	stream_t *dead;          /* finished streams, freed by reap_ev */
	struct evbuffer *line;   /* bytes of the current stream not yet split into messages */
	struct event *reap_ev;   /* frees dead streams (activated by hand) */
	struct event *retry_ev;  /* opens the next stream */
	unsigned fails;          /* streams in a row that ended before etcd created a watcher */
} feed_t;

/* The kept lease (store_lease_keep): one keepalive per tick on a connection of its own. */
typedef struct keep {
	struct event_base *base;       /* the caller's loop; borrowed */
	int64_t id;                    /* the lease; 0: none kept */
	int64_t sent_id;               /* the lease of the keepalive in flight */
	void (*lost)(void *ctx, int64_t id); /* the lease is gone */
	void *ctx;                     /* for lost; borrowed */
	size_t ep;                     /* endpoint of the next keepalive */
	struct evhttp_connection *con; /* on base, or NULL */
	bool busy;                     /* a keepalive is in flight */
	bool bad;                      /* con failed: free it before the next keepalive */
	uint64_t ok_at;                /* now_ms() of the last renewal; 0: none yet */
	struct event *tick;            /* every every_ms (persistent) */
} keep_t;

struct etcd_store {
	store_t base;            /* must be first */
	char *desc;              /* "etcd URL,... prefix P" */
	char *prefix;            /* etcd key prefix, ends with '/' */
	size_t plen;             /* bytes of prefix */
	ep_t *eps;               /* the members */
	size_t n_eps;            /* entries of eps */
	size_t cur;              /* the pinned endpoint */
	struct event_base *sb;   /* private base of the synchronous calls */
	unsigned attempt_ms;     /* one attempt */
	unsigned call_ms;        /* one call */
	unsigned idle_ms;        /* watch idle timeout */
	unsigned page;           /* keys per range page */
	feed_t feed;             /* the feed */
	keep_t keep;             /* the kept lease */
};

/* ---------------------------------------------------------------------------------------
 * Small helpers: base64, integers as JSON strings, time
 */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of len bytes, NUL-terminated; caller frees. NULL: out of memory. */
static char *b64_enc(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t olen = (len + 2) / 3 * 4;
	char *out = malloc(olen + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64chars[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode base64 (padding optional); *out is malloc'd with a NUL after *olen bytes. */
static int b64_dec(const char *in, char **out, size_t *olen)
{
	size_t len = strlen(in), n = 0;
	unsigned acc = 0;
	int bits = 0;
	char *o = malloc(len / 4 * 3 + 4);

	*out = NULL;
	*olen = 0;
	if (o == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '=')
			break;
		int v = b64_val(in[i]);
		if (v < 0) {
			free(o);
			return ERR_PARSE;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	o[n] = '\0';
	*out = o;
	*olen = n;
	return ERR_OK;
}

/* An int64 field of an etcd answer: a JSON string (or a number); absent means 0. */
static uint64_t ju64(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	return 0;
}

static int64_t ji64(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	return 0;
}

static json_t *jstr_u64(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	return json_string(b);
}

static json_t *jstr_i64(int64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRId64, v);
	return json_string(b);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void see_rev(etcd_store_t *es, uint64_t rev)
{
	if (rev > es->base.rev)
		es->base.rev = rev;
}

/* ---------------------------------------------------------------------------------------
 * Keys: store key "/a/b" <-> etcd key PREFIX "a/b"
 */

/* json string of base64(prefix + key + 1 [+ extra byte]); NULL when out of memory. */
static json_t *jkey(const etcd_store_t *es, const char *key, size_t klen)
{
	size_t len = es->plen + klen;
	char *k = malloc(len + 1);
	json_t *j = NULL;

	if (k == NULL)
		return NULL;
	memcpy(k, es->prefix, es->plen);
	memcpy(k + es->plen, key, klen);
	char *b = b64_enc(k, len);
	if (b != NULL)
		j = json_string(b);
	free(b);
	free(k);
	return j;
}

/* The range_end of every key starting with bytes[0..len): the prefix with its last byte
 * below 0xff incremented and the rest cut; "\0" (every key above) if all are 0xff. */
static json_t *jrange_end(const char *bytes, size_t len)
{
	char *e = malloc(len + 1);
	json_t *j = NULL;

	if (e == NULL)
		return NULL;
	memcpy(e, bytes, len);
	while (len > 0 && (unsigned char)e[len - 1] == 0xff)
		len--;
	if (len == 0) {
		e[0] = '\0';
		len = 1;
	} else {
		e[len - 1] = (char)((unsigned char)e[len - 1] + 1);
	}
	char *b = b64_enc(e, len);
	if (b != NULL)
		j = json_string(b);
	free(b);
	free(e);
	return j;
}

/* Decode an etcd key of an answer into a store key ("/" + what follows the prefix).
 * ERR_NOTFOUND for keys outside the prefix or with a NUL byte (skipped). */
static int store_key_of(const etcd_store_t *es, const char *b64key, char **out)
{
	char *raw = NULL;
	size_t rl = 0;
	int ret = b64_dec(b64key, &raw, &rl);

	*out = NULL;
	if (ret != ERR_OK)
		return ret;
	if (rl < es->plen || memcmp(raw, es->prefix, es->plen) != 0 || memchr(raw, '\0', rl)) {
		free(raw);
		return ERR_NOTFOUND;
	}
	/* the prefix's last byte is '/': keep it as the store key's first */
	memmove(raw, raw + es->plen - 1, rl - es->plen + 2);
	*out = raw;
	return ERR_OK;
}

/* ---------------------------------------------------------------------------------------
 * Synchronous requests with failover
 */

typedef struct call {
	struct event_base *sb; /* to break out of */
	bool done;             /* the request finished (well or not) */
	bool timed_out;        /* the attempt's timer fired first */
	int code;              /* HTTP status; 0: no answer */
	struct evbuffer *body; /* the answer's body */
} call_t;

static void call_done(struct evhttp_request *req, void *arg)
{
	call_t *c = arg;
	c->done = true;
	if (req != NULL) {
		c->code = evhttp_request_get_response_code(req);
		evbuffer_add_buffer(c->body, evhttp_request_get_input_buffer(req));
	}
	event_base_loopbreak(c->sb);
}

static void call_timeout(evutil_socket_t fd, short what, void *arg)
{
	call_t *c = arg;
	(void)fd;
	(void)what;
	c->timed_out = true;
	event_base_loopbreak(c->sb);
}

static void drop_con(ep_t *ep)
{
	if (ep->con != NULL)
		evhttp_connection_free(ep->con); /* frees a pending request without its callback */
	ep->con = NULL;
}

/* Add the headers every request carries. */
static int add_headers(struct evhttp_request *req, const ep_t *ep)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(h, "Host", ep->hosthdr) != 0 ||
	    evhttp_add_header(h, "Content-Type", "application/json") != 0 ||
	    evhttp_add_header(h, "Grpc-Metadata-hasleader", "true") != 0)
		return ERR_NOMEM;
	return ERR_OK;
}

/* What one attempt came to. */
enum { AT_OK, AT_RETRY, AT_FINAL };

/* One POST to one endpoint within ms; fills c. AT_RETRY when another endpoint may do. */
static int attempt(etcd_store_t *es, ep_t *ep, const char *path, const char *body, size_t blen,
		   unsigned ms, call_t *c)
{
	struct evhttp_request *req;
	struct event *tmo;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000 };

	if (ep->con == NULL) {
		/* evhttp's own timeouts: a whole attempt (the timer below cuts a shorter one) */
		struct timeval ctv = { .tv_sec = es->attempt_ms / 1000,
				       .tv_usec = (long)(es->attempt_ms % 1000) * 1000 };
		ep->con = evhttp_connection_base_new(es->sb, NULL, ep->host, ep->port);
		if (ep->con == NULL)
			return AT_RETRY;
		evhttp_connection_set_timeout_tv(ep->con, &ctv);
	}
	req = evhttp_request_new(call_done, c);
	if (req == NULL)
		return AT_FINAL;
	if (add_headers(req, ep) != ERR_OK ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), body, blen) != 0) {
		evhttp_request_free(req);
		return AT_FINAL;
	}
	if (evhttp_make_request(ep->con, req, EVHTTP_REQ_POST, path) != 0) {
		/* evhttp frees req on failure */
		drop_con(ep);
		return AT_RETRY;
	}
	tmo = evtimer_new(es->sb, call_timeout, c);
	if (tmo == NULL || evtimer_add(tmo, &tv) != 0) {
		if (tmo != NULL)
			event_free(tmo);
		drop_con(ep);
		return AT_FINAL;
	}
	while (!c->done && !c->timed_out)
		event_base_loop(es->sb, EVLOOP_ONCE);
	event_free(tmo);
	if (!c->done || c->code == 0) {
		drop_con(ep); /* a timed-out request dies with its connection */
		return AT_RETRY;
	}
	if (c->code >= 500)
		return AT_RETRY;
	return c->code == 200 ? AT_OK : AT_FINAL;
}

/* The error of a final non-200 answer: its body is {"error","message","code"}. */
static int final_error(const etcd_store_t *es, const char *path, int code, const json_t *j)
{
	const char *msg = json_string_value(json_object_get(j, "message"));
	json_int_t gc = json_integer_value(json_object_get(j, "code"));

	if (msg == NULL)
		msg = "";
	if (gc == 5 || code == 404)
		return ERR_NOTFOUND;
	if (strstr(msg, "too many operations") != NULL || strstr(msg, "too large") != NULL ||
	    code == 413)
		return ERR_LIMIT;
	if (gc == 11 && strstr(msg, "compacted") != NULL)
		return ERR_EXISTS; /* internal: the revision asked for was compacted */
	log_msg(LOG_WARNING, "store %s: %s: HTTP %d: %s", es->desc, path, code, msg);
	return ERR_INVAL;
}

/*
 * POST body (freed here) to path on the pinned endpoint, failing over until the call's
 * limit. *out: the parsed 200 answer (caller decrefs).
 * \retval ERR_OK, ERR_IO (unavailable), ERR_NOTFOUND (404), ERR_LIMIT, ERR_EXISTS
 *         (compacted), ERR_INVAL (another 4xx), ERR_PARSE (not JSON), ERR_NOMEM.
 */
static int request(etcd_store_t *es, const char *path, json_t *body, json_t **out)
{
	char *text = json_dumps(body, JSON_COMPACT);
	size_t tlen = text != NULL ? strlen(text) : 0;
	uint64_t deadline = now_ms() + es->call_ms;
	int ret = ERR_IO;
	size_t tried = 0;
	unsigned pause = 50;

	json_decref(body);
	*out = NULL;
	if (text == NULL)
		return ERR_NOMEM;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		unsigned ms = es->attempt_ms;
		if (now + ms > deadline)
			ms = (unsigned)(deadline - now);
		ep_t *ep = &es->eps[es->cur];
		call_t c = { .sb = es->sb, .body = evbuffer_new() };
		if (c.body == NULL) {
			ret = ERR_NOMEM;
			break;
		}
		int at = attempt(es, ep, path, text, tlen, ms, &c);
		if (at != AT_RETRY) {
			json_error_t jerr;
			size_t blen = evbuffer_get_length(c.body);
			const char *bytes = (const char *)evbuffer_pullup(c.body, -1);
			json_t *j = blen > 0 ? json_loadb(bytes, blen, 0, &jerr) : NULL;
			if (at == AT_OK) {
				ret = json_is_object(j) ? ERR_OK : ERR_PARSE;
				if (ret == ERR_OK) {
					*out = j;
					j = NULL;
					see_rev(es, ju64(json_object_get(*out, "header"), "revision"));
				}
			} else {
				ret = c.code == 0 ? ERR_NOMEM : final_error(es, path, c.code, j);
			}
			json_decref(j);
			evbuffer_free(c.body);
			free(text);
			return ret;
		}
		if (tried == 0) /* once per call: an outage must not flood the log */
			log_msg(LOG_INFO, "store %s: %s on %s: %s; trying the next member", es->desc,
				path, ep->url,
				c.timed_out ? "timed out" : c.code ? "unavailable" : "no answer");
		evbuffer_free(c.body);
		es->cur = (es->cur + 1) % es->n_eps;
		if (++tried % es->n_eps == 0) {
			now = now_ms();
			if (now + pause >= deadline)
				break;
			sleep_ms(pause);
			if (pause < 800)
				pause *= 2;
		}
	}
	log_msg(LOG_WARNING, "store %s: %s: etcd unavailable", es->desc, path);
	free(text);
	return ret;
}

/* ---------------------------------------------------------------------------------------
 * get, range, commit
 */

static int etcd_get_rev(store_t *s, const char *key, char **val, size_t *vlen, uint64_t *mod_rev)
{
	etcd_store_t *es = (etcd_store_t *)s;
	json_t *ans = NULL, *body;
	int ret;

	if (key[0] != '/')
		return ERR_NOTFOUND;
	body = json_object();
	if (body == NULL || json_object_set_new(body, "key", jkey(es, key + 1, strlen(key + 1))))
		return json_decref(body), ERR_NOMEM;
	ret = request(es, "/v3/kv/range", body, &ans);
	if (ret == ERR_NOTFOUND || ret == ERR_EXISTS || ret == ERR_INVAL || ret == ERR_PARSE)
		ret = ERR_IO;
	if (ret != ERR_OK)
		return ret;
	const json_t *kv = json_array_get(json_object_get(ans, "kvs"), 0);
	if (kv == NULL) {
		ret = ERR_NOTFOUND;
	} else {
		const char *v = json_string_value(json_object_get(kv, "value"));
		ret = b64_dec(v != NULL ? v : "", val, vlen);
		*mod_rev = ju64(kv, "mod_revision");
	}
	json_decref(ans);
	return ret;
}

static int etcd_get(store_t *s, const char *key, char **val, size_t *vlen)
{
	uint64_t mr = 0;
	return etcd_get_rev(s, key, val, vlen, &mr);
}

static int etcd_range(store_t *s, const char *prefix, store_kv_fn fn, void *ctx, uint64_t *rev)
{
	etcd_store_t *es = (etcd_store_t *)s;
	const char *p = prefix[0] == '/' ? prefix + 1 : "";
	bool none = prefix[0] != '\0' && prefix[0] != '/';
	size_t plen = strlen(p);
	uint64_t at = 0;
	json_t *from = NULL, *end = NULL;
	int ret = ERR_NOMEM;
	char *full = malloc(es->plen + plen + 1);

	if (full == NULL)
		return ERR_NOMEM;
	memcpy(full, es->prefix, es->plen);
	memcpy(full + es->plen, p, plen + 1);
	from = jkey(es, p, plen);
	end = jrange_end(full, es->plen + plen);
	if (from == NULL || end == NULL)
		goto out;
	for (;;) {
		json_t *ans = NULL, *body = json_object();
		if (body == NULL)
			goto out;
		json_object_set(body, "key", from);
		json_object_set(body, "range_end", end);
		json_object_set_new(body, "limit", jstr_u64(none ? 1 : es->page));
		if (none)
			json_object_set_new(body, "count_only", json_true());
		if (at != 0)
			json_object_set_new(body, "revision", jstr_u64(at));
		ret = request(es, "/v3/kv/range", body, &ans);
		if (ret != ERR_OK) {
			if (ret != ERR_NOMEM)
				ret = ERR_IO; /* incl. a compaction between pages: the caller retries */
			goto out;
		}
		if (at == 0)
			at = ju64(json_object_get(ans, "header"), "revision");
		const json_t *kvs = json_object_get(ans, "kvs");
		const char *lastkey = NULL;
		size_t i;
		const json_t *kv;
		json_array_foreach(kvs, i, kv) {
			const char *kb = json_string_value(json_object_get(kv, "key"));
			const char *vb = json_string_value(json_object_get(kv, "value"));
			char *k = NULL, *v = NULL;
			size_t vl = 0;
			if (kb == NULL)
				continue;
			lastkey = kb;
			if (none)
				continue;
			ret = store_key_of(es, kb, &k);
			if (ret == ERR_NOTFOUND)
				continue;
			if (ret == ERR_OK)
				ret = b64_dec(vb != NULL ? vb : "", &v, &vl);
			if (ret == ERR_OK)
				ret = fn(ctx, k, v, vl);
			free(k);
			free(v);
			if (ret != ERR_OK) {
				json_decref(ans);
				goto out;
			}
		}
		bool more = !none && json_is_true(json_object_get(ans, "more")) && lastkey != NULL;
		if (more) {
			/* the next page starts right after the last key: last key + "\0" */
			char *raw = NULL;
			size_t rl = 0;
			ret = b64_dec(lastkey, &raw, &rl);
			char *b = ret == ERR_OK ? b64_enc(raw, rl + 1) : NULL;
			json_decref(from);
			from = b != NULL ? json_string(b) : NULL;
			free(b);
			free(raw);
		}
		json_decref(ans);
		if (!more)
			break;
		if (from == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
	}
	ret = ERR_OK;
	if (rev != NULL)
		*rev = at;
out:
	json_decref(from);
	json_decref(end);
	free(full);
	return ret;
}

/* One op of a commit, for sorting. */
typedef struct sop {
	const store_op_t *op; /* borrowed */
	size_t idx;           /* position: the later of equal keys wins */
} sop_t;

static int sop_cmp(const void *a, const void *b)
{
	const sop_t *x = a, *y = b;
	int c = strcmp(x->op->key, y->op->key);
	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx ? 1 : 0;
}

/* The txn body: guards as compares; the last op of each key as a put or a delete. */
static int txn_body(etcd_store_t *es, const store_op_t *ops, size_t n, const store_guard_t *g,
		    size_t ng, int64_t lease, json_t **out)
{
	json_t *body = json_object(), *cmp = json_array(), *succ = json_array();
	sop_t *sorted = calloc(n, sizeof(*sorted));
	int ret = ERR_NOMEM;

	*out = NULL;
	if (body == NULL || cmp == NULL || succ == NULL || sorted == NULL)
		goto out;
	for (size_t i = 0; i < ng; i++) {
		if (g[i].key[0] != '/') {
			ret = ERR_INVAL;
			goto out;
		}
		json_t *c = json_object();
		if (c == NULL || json_array_append_new(cmp, c) != 0)
			goto out;
		if (json_object_set_new(c, "key", jkey(es, g[i].key + 1, strlen(g[i].key + 1))) ||
		    json_object_set_new(c, "target", json_string("MOD")) ||
		    json_object_set_new(c, "result", json_string("EQUAL")) ||
		    json_object_set_new(c, "mod_revision", jstr_u64(g[i].mod_rev)))
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (ops[i].key[0] != '/') {
			ret = ERR_INVAL;
			goto out;
		}
		sorted[i] = (sop_t){ &ops[i], i };
	}
	qsort(sorted, n, sizeof(*sorted), sop_cmp);
	for (size_t i = 0; i < n; i++) {
		const store_op_t *op = sorted[i].op;
		if (i + 1 < n && strcmp(op->key, sorted[i + 1].op->key) == 0)
			continue; /* a later op of this key wins */
		json_t *r = json_object(), *w = json_object();
		if (r == NULL || w == NULL || json_array_append_new(succ, w) != 0) {
			json_decref(r);
			json_decref(w);
			goto out;
		}
		if (json_object_set_new(w, op->val != NULL ? "request_put" : "request_delete_range",
					r) != 0 ||
		    json_object_set_new(r, "key", jkey(es, op->key + 1, strlen(op->key + 1))) != 0)
			goto out;
		if (op->val != NULL) {
			char *b = b64_enc(op->val, op->vlen);
			if (b == NULL || json_object_set_new(r, "value", json_string(b)) != 0) {
				free(b);
				goto out;
			}
			free(b);
			if (lease != 0 && json_object_set_new(r, "lease", jstr_i64(lease)) != 0)
				goto out;
		}
	}
	if (json_object_set(body, "compare", cmp) != 0 ||
	    json_object_set(body, "success", succ) != 0)
		goto out;
	*out = body;
	body = NULL;
	ret = ERR_OK;
out:
	json_decref(body);
	json_decref(cmp);
	json_decref(succ);
	free(sorted);
	return ret;
}

static int etcd_commit_guarded(store_t *s, const store_op_t *ops, size_t n,
			       const store_guard_t *g, size_t ng, int64_t lease)
{
	etcd_store_t *es = (etcd_store_t *)s;
	json_t *body = NULL, *ans = NULL;
	int ret = txn_body(es, ops, n, g, ng, lease, &body);

	if (ret != ERR_OK)
		return ret;
	ret = request(es, "/v3/kv/txn", body, &ans);
	if (ret == ERR_EXISTS || ret == ERR_PARSE)
		ret = ERR_IO;
	if (ret != ERR_OK)
		return ret; /* ERR_NOTFOUND: the lease is unknown */
	if (!json_is_true(json_object_get(ans, "succeeded"))) {
		ret = ERR_CONFLICT; /* a failed compare: "succeeded" is absent */
	} else {
		/* header.revision is the txn's revision (or the current one if it changed nothing) */
		s->rev = ju64(json_object_get(ans, "header"), "revision");
		ret = ERR_OK;
	}
	json_decref(ans);
	return ret;
}

static int etcd_commit(store_t *s, const store_op_t *ops, size_t n)
{
	return etcd_commit_guarded(s, ops, n, NULL, 0, 0);
}

/* ---------------------------------------------------------------------------------------
 * Leases
 */

static int etcd_lease_grant(store_t *s, unsigned ttl, int64_t *id, unsigned *granted)
{
	etcd_store_t *es = (etcd_store_t *)s;
	json_t *ans = NULL, *body = json_object();
	int ret;

	if (body == NULL || json_object_set_new(body, "TTL", jstr_u64(ttl)) != 0)
		return json_decref(body), ERR_NOMEM;
	ret = request(es, "/v3/lease/grant", body, &ans);
	if (ret != ERR_OK)
		return ret == ERR_NOMEM || ret == ERR_INVAL ? ret : ERR_IO;
	*id = ji64(ans, "ID");
	if (granted != NULL)
		*granted = (unsigned)ju64(ans, "TTL");
	json_decref(ans);
	return *id != 0 ? ERR_OK : ERR_IO;
}

static int etcd_lease_keepalive(store_t *s, int64_t id, unsigned *ttl)
{
	etcd_store_t *es = (etcd_store_t *)s;
	json_t *ans = NULL, *body = json_object();
	int ret;

	if (body == NULL || json_object_set_new(body, "ID", jstr_i64(id)) != 0)
		return json_decref(body), ERR_NOMEM;
	ret = request(es, "/v3/lease/keepalive", body, &ans);
	if (ret != ERR_OK)
		return ret == ERR_NOMEM || ret == ERR_NOTFOUND ? ret : ERR_IO;
	/* one POST = one renewal; an unknown lease answers 200 without a TTL (FLEET.md 1.2);
	 * a stream error (no leader) is a 200 with {"error": ...} instead of "result" */
	const json_t *res = json_object_get(ans, "result");
	int64_t left = ji64(res, "TTL");
	json_decref(ans);
	if (res == NULL)
		return ERR_IO;
	if (left <= 0)
		return ERR_NOTFOUND;
	if (ttl != NULL)
		*ttl = (unsigned)left;
	return ERR_OK;
}

static int etcd_lease_revoke(store_t *s, int64_t id)
{
	etcd_store_t *es = (etcd_store_t *)s;
	json_t *ans = NULL, *body = json_object();
	int ret;

	if (body == NULL || json_object_set_new(body, "ID", jstr_i64(id)) != 0)
		return json_decref(body), ERR_NOMEM;
	ret = request(es, "/v3/lease/revoke", body, &ans);
	json_decref(ans);
	if (ret != ERR_OK)
		return ret == ERR_NOMEM || ret == ERR_NOTFOUND ? ret : ERR_IO;
	return ERR_OK;
}

/* ---------------------------------------------------------------------------------------
 * The kept lease: asynchronous keepalives on the caller's loop
 */

static void keep_done(struct evhttp_request *req, void *arg)
{
	etcd_store_t *es = arg;
	keep_t *k = &es->keep;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	json_t *j = NULL;

	k->busy = false;
	if (k->id == 0 || k->sent_id != k->id)
		return; /* unkept or replaced meanwhile */
	if (code == 200) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(in);
		json_error_t jerr;
		j = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr);
	}
	const json_t *res = json_object_get(j, "result");
	if (res == NULL) {
		/* no answer, 5xx, or a stream error such as "no leader": next endpoint */
		log_msg(LOG_INFO, "store %s: lease keepalive on %s failed (HTTP %d)", es->desc,
			es->eps[k->ep].url, code);
		k->bad = true;
		k->ep = (k->ep + 1) % es->n_eps;
	} else if (ji64(res, "TTL") > 0) {
		k->ok_at = now_ms();
	} else {
		int64_t id = k->id;
		log_msg(LOG_WARNING, "store %s: lease %" PRId64 " is gone (expired or revoked)",
			es->desc, id);
		k->id = 0;
		evtimer_del(k->tick);
		k->lost(k->ctx, id);
	}
	json_decref(j);
}

static void keep_tick(evutil_socket_t fd, short what, void *arg)
{
	etcd_store_t *es = arg;
	keep_t *k = &es->keep;
	struct evhttp_request *req;
	char body[64];
	(void)fd;
	(void)what;

	if (k->id == 0)
		return;
	if (k->busy) /* no answer within a tick: give up on this endpoint */
		k->ep = (k->ep + 1) % es->n_eps;
	if (k->con != NULL && (k->bad || k->busy)) {
		evhttp_connection_free(k->con); /* a pending keepalive goes with it, silently */
		k->con = NULL;
	}
	k->busy = k->bad = false;
	ep_t *ep = &es->eps[k->ep];
	if (k->con == NULL) {
		k->con = evhttp_connection_base_new(k->base, NULL, ep->host, ep->port);
		if (k->con == NULL)
			return;
		struct timeval tv = { .tv_sec = es->attempt_ms / 1000,
				      .tv_usec = (long)(es->attempt_ms % 1000) * 1000 };
		evhttp_connection_set_timeout_tv(k->con, &tv);
	}
	snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", k->id);
	req = evhttp_request_new(keep_done, es);
	if (req == NULL)
		return;
	if (add_headers(req, ep) != ERR_OK ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body)) != 0) {
		evhttp_request_free(req);
		return;
	}
	if (evhttp_make_request(k->con, req, EVHTTP_REQ_POST, "/v3/lease/keepalive") != 0) {
		k->bad = true; /* req freed by evhttp */
		return;
	}
	k->busy = true;
	k->sent_id = k->id;
}

static void etcd_lease_unkeep(store_t *s)
{
	keep_t *k = &((etcd_store_t *)s)->keep;
	k->id = 0;
	k->ok_at = 0;
	if (k->tick != NULL)
		evtimer_del(k->tick);
	/* the connection may be inside its callback now: the next tick or close frees it */
	k->bad = true;
}

static int etcd_lease_keep(store_t *s, struct event_base *base, int64_t id, unsigned every_ms,
			   void (*lost)(void *ctx, int64_t id), void *ctx)
{
	etcd_store_t *es = (etcd_store_t *)s;
	keep_t *k = &es->keep;
	struct timeval tv = { .tv_sec = every_ms / 1000, .tv_usec = (long)(every_ms % 1000) * 1000 };

	if (k->base != NULL && k->base != base)
		return ERR_INVAL;
	if (k->tick == NULL) {
		k->tick = event_new(base, -1, EV_PERSIST, keep_tick, es);
		if (k->tick == NULL)
			return ERR_NOMEM;
		k->base = base;
	}
	etcd_lease_unkeep(s);
	k->id = id;
	k->lost = lost;
	k->ctx = ctx;
	k->ep = es->cur;
	k->ok_at = now_ms(); /* granted or renewed by the caller just now */
	return evtimer_add(k->tick, &tv) == 0 ? ERR_OK : ERR_NOMEM;
}

static uint64_t etcd_lease_kept_age_ms(const store_t *s)
{
	const keep_t *k = &((const etcd_store_t *)s)->keep;
	if (k->id == 0 || k->ok_at == 0)
		return UINT64_MAX;
	return now_ms() - k->ok_at;
}

/* ---------------------------------------------------------------------------------------
 * The feed: a watch stream
 */

static void feed_connect(etcd_store_t *es);

static void stream_free(stream_t *st)
{
	if (st->con != NULL)
		evhttp_connection_free(st->con); /* frees its request without callbacks */
	free(st);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	feed_t *f = arg;
	(void)fd;
	(void)what;
	while (f->dead != NULL) {
		stream_t *st = f->dead;
		f->dead = st->next;
		stream_free(st);
	}
}

/* Retire the live stream (freed later, outside evhttp's callbacks). */
static void stream_retire(feed_t *f)
{
	stream_t *st = f->cur;
	if (st == NULL)
		return;
	f->cur = NULL;
	st->next = f->dead;
	f->dead = st;
	event_active(f->reap_ev, EV_TIMEOUT, 0);
	if (f->line != NULL)
		evbuffer_drain(f->line, evbuffer_get_length(f->line));
}

/* The live stream ended: open another one on the next endpoint after a pause. */
static void stream_ended(etcd_store_t *es, stream_t *st, const char *why)
{
	feed_t *f = &es->feed;
	if (st != f->cur)
		return; /* an old stream's late callback */
	stream_retire(f);
	if (!f->on)
		return;
	if (!st->created)
		f->fails++;
	unsigned ms = 0;
	if (f->fails > 0) {
		ms = 100u << (f->fails < 5 ? f->fails - 1 : 4); /* 100 ms .. 1.6 s */
	}
	/* while etcd stays down: the 1st, 2nd, 4th, 8th, ... failure in a row only */
	if (f->fails <= 2 || (f->fails & (f->fails - 1)) == 0)
		log_msg(f->fails > 1 ? LOG_WARNING : LOG_INFO,
			"store %s: watch on %s ended (%s); resuming from revision %" PRIu64
			" on %s in %u ms",
			es->desc, es->eps[st->ep].url, why, f->next,
			es->eps[(st->ep + 1) % es->n_eps].url, ms);
	f->ep = (st->ep + 1) % es->n_eps;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000 };
	evtimer_add(f->retry_ev, &tv);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	etcd_store_t *es = arg;
	(void)fd;
	(void)what;
	if (es->feed.on && es->feed.cur == NULL)
		feed_connect(es);
}

/* Deliver the events of one message, one revision per call. false: stop reading (the feed
 * was stopped or restarted by a callback). */
static bool deliver_events(etcd_store_t *es, stream_t *st, const json_t *events)
{
	feed_t *f = &es->feed;
	size_t n = json_array_size(events), i = 0;
	store_op_t *ops = calloc(n > 0 ? n : 1, sizeof(*ops));
	char **bufs = calloc(n > 0 ? 2 * n : 1, sizeof(*bufs));
	bool go = true;

	if (ops == NULL || bufs == NULL) {
		/* cannot deliver: reopen the stream from the same revision later */
		free(ops);
		free(bufs);
		stream_ended(es, st, "out of memory");
		return false;
	}
	while (i < n && go) {
		const json_t *kv0 = json_object_get(json_array_get(events, i), "kv");
		uint64_t rev = ju64(kv0, "mod_revision");
		size_t m = 0, nb = 0, j = i;
		for (; j < n; j++) {
			const json_t *ev = json_array_get(events, j);
			const json_t *kv = json_object_get(ev, "kv");
			if (ju64(kv, "mod_revision") != rev)
				break;
			const char *kb = json_string_value(json_object_get(kv, "key"));
			char *k = NULL, *v = NULL;
			size_t vl = 0;
			if (kb == NULL || store_key_of(es, kb, &k) != ERR_OK)
				continue;
			bufs[nb++] = k;
			bool del = json_is_string(json_object_get(ev, "type")) &&
				   strcmp(json_string_value(json_object_get(ev, "type")), "DELETE") == 0;
			if (!del) {
				const char *vb = json_string_value(json_object_get(kv, "value"));
				if (b64_dec(vb != NULL ? vb : "", &v, &vl) != ERR_OK)
					v = NULL;
				if (v == NULL)
					continue;
				bufs[nb++] = v;
			}
			ops[m++] = (store_op_t){ .key = k, .val = v, .vlen = vl };
		}
		i = j;
		if (rev >= f->next) {
			f->next = rev + 1;
			f->last = rev;
			see_rev(es, rev);
			if (m > 0)
				f->cbs.rev(f->cbs.ctx, rev, ops, m);
			go = f->cur == st;
		}
		for (size_t b = 0; b < nb; b++)
			free(bufs[b]);
	}
	free(ops);
	free(bufs);
	return go;
}

/* One message of the stream. false: stop reading. */
static bool on_message(etcd_store_t *es, stream_t *st, const char *line, size_t len)
{
	feed_t *f = &es->feed;
	json_error_t jerr;
	json_t *j = json_loadb(line, len, 0, &jerr);
	bool go = true;

	if (j == NULL) {
		stream_ended(es, st, "unreadable message");
		return false;
	}
	const json_t *err = json_object_get(j, "error");
	const json_t *res = json_object_get(j, "result");
	if (err != NULL || res == NULL) {
		const char *m = json_string_value(json_object_get(err, "message"));
		char why[160];
		snprintf(why, sizeof(why), "etcd: %s", m != NULL ? m : "error");
		stream_ended(es, st, why);
		go = false;
	} else if (json_is_true(json_object_get(res, "canceled"))) {
		uint64_t crev = ju64(res, "compact_revision");
		if (crev > 0) {
			log_msg(LOG_WARNING,
				"store %s: watch from revision %" PRIu64
				" lost: compacted up to %" PRIu64 "; the caller resyncs",
				es->desc, f->next, crev);
			stream_retire(f);
			f->on = false;
			f->cbs.lost(f->cbs.ctx, crev);
		} else {
			const char *m = json_string_value(json_object_get(res, "cancel_reason"));
			stream_ended(es, st, m != NULL ? m : "watch canceled");
		}
		go = false;
	} else if (json_is_true(json_object_get(res, "created"))) {
		st->created = true;
		f->fails = 0;
	} else if (json_array_size(json_object_get(res, "events")) > 0) {
		go = deliver_events(es, st, json_object_get(res, "events"));
	} else {
		/* progress: every event up to header.revision has been sent (FLEET.md 1.3) */
		uint64_t h = ju64(json_object_get(res, "header"), "revision");
		if (h > 0 && h + 1 >= f->next) {
			f->next = h + 1;
			f->last = h;
			see_rev(es, h);
			if (f->cbs.progress != NULL)
				f->cbs.progress(f->cbs.ctx, h);
			go = f->cur == st;
		}
	}
	json_decref(j);
	return go;
}

static void watch_chunk(struct evhttp_request *req, void *arg)
{
	stream_t *st = arg;
	etcd_store_t *es = st->es;
	feed_t *f = &es->feed;

	if (st != f->cur)
		return;
	if (evhttp_request_get_response_code(req) != 200) {
		return; /* the error body arrives whole in watch_done */
	}
	evbuffer_add_buffer(f->line, evhttp_request_get_input_buffer(req));
	for (;;) {
		size_t len = 0;
		char *line = evbuffer_readln(f->line, &len, EVBUFFER_EOL_LF);
		if (line == NULL)
			break;
		bool go = len == 0 || on_message(es, st, line, len);
		free(line);
		if (!go || st != f->cur)
			break;
	}
}

static void watch_done(struct evhttp_request *req, void *arg)
{
	stream_t *st = arg;
	char why[64];
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	if (code == 0)
		snprintf(why, sizeof(why), "connection failed or timed out");
	else if (code == 200)
		snprintf(why, sizeof(why), "stream closed");
	else
		snprintf(why, sizeof(why), "HTTP %d", code);
	stream_ended(st->es, st, why);
}

static void feed_connect(etcd_store_t *es)
{
	feed_t *f = &es->feed;
	ep_t *ep = &es->eps[f->ep];
	stream_t *st = calloc(1, sizeof(*st));
	json_t *cr = json_object(), *body = json_object();
	char *text = NULL;
	struct evhttp_request *req = NULL;
	struct timeval tv = { .tv_sec = es->idle_ms / 1000,
			      .tv_usec = (long)(es->idle_ms % 1000) * 1000 };

	if (st == NULL || cr == NULL || body == NULL)
		goto fail;
	st->es = es;
	st->ep = f->ep;
	/* whole prefix: every store key */
	if (json_object_set_new(cr, "key", jkey(es, "", 0)) != 0 ||
	    json_object_set_new(cr, "range_end", jrange_end(es->prefix, es->plen)) != 0 ||
	    json_object_set_new(cr, "start_revision", jstr_u64(f->next)) != 0 ||
	    json_object_set_new(cr, "progress_notify", json_true()) != 0 ||
	    json_object_set(body, "create_request", cr) != 0)
		goto fail;
	text = json_dumps(body, JSON_COMPACT);
	st->con = evhttp_connection_base_new(f->base, NULL, ep->host, ep->port);
	req = evhttp_request_new(watch_done, st);
	if (text == NULL || st->con == NULL || req == NULL)
		goto fail;
	evhttp_connection_set_timeout_tv(st->con, &tv);
	evhttp_request_set_chunked_cb(req, watch_chunk);
	if (add_headers(req, ep) != ERR_OK ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text)) != 0)
		goto fail;
	f->cur = st;
	if (evhttp_make_request(st->con, req, EVHTTP_REQ_POST, "/v3/watch") != 0) {
		req = NULL; /* freed by evhttp */
		stream_ended(es, st, "cannot send the request");
		goto out;
	}
	req = NULL;
	st = NULL;
	goto out;
fail:
	if (req != NULL)
		evhttp_request_free(req);
	req = NULL;
	if (st != NULL) {
		if (f->cur == st)
			f->cur = NULL;
		stream_free(st);
	}
	st = NULL;
	/* out of memory: try again later */
	if (f->on) {
		struct timeval again = { .tv_sec = 1, .tv_usec = 0 };
		evtimer_add(f->retry_ev, &again);
	}
out:
	free(text);
	json_decref(cr);
	json_decref(body);
}

static void etcd_feed_stop(store_t *s)
{
	etcd_store_t *es = (etcd_store_t *)s;
	feed_t *f = &es->feed;
	f->on = false;
	stream_retire(f);
	if (f->retry_ev != NULL)
		evtimer_del(f->retry_ev);
}

static int etcd_feed_start(store_t *s, struct event_base *base, uint64_t from_rev,
			   const store_feed_cbs_t *cbs)
{
	etcd_store_t *es = (etcd_store_t *)s;
	feed_t *f = &es->feed;

	if (f->base != NULL && f->base != base)
		return ERR_INVAL;
	if (f->base == NULL) {
		f->line = evbuffer_new();
		f->reap_ev = event_new(base, -1, 0, reap_cb, f);
		f->retry_ev = evtimer_new(base, retry_cb, es);
		if (f->line == NULL || f->reap_ev == NULL || f->retry_ev == NULL) {
			if (f->line != NULL)
				evbuffer_free(f->line);
			if (f->reap_ev != NULL)
				event_free(f->reap_ev);
			if (f->retry_ev != NULL)
				event_free(f->retry_ev);
			f->line = NULL;
			f->reap_ev = f->retry_ev = NULL;
			return ERR_NOMEM;
		}
		f->base = base;
	}
	etcd_feed_stop(s);
	f->cbs = *cbs;
	f->next = from_rev;
	f->last = from_rev - 1;
	f->fails = 0;
	f->ep = es->cur;
	f->on = true;
	feed_connect(es);
	return ERR_OK;
}

static uint64_t etcd_feed_revision(const store_t *s)
{
	return ((const etcd_store_t *)s)->feed.last;
}

/* ---------------------------------------------------------------------------------------
 * Open and close
 */

static void etcd_close(store_t *s)
{
	etcd_store_t *es = (etcd_store_t *)s;
	feed_t *f = &es->feed;

	f->on = false;
	stream_retire(f);
	reap_cb(-1, 0, f);
	if (f->reap_ev != NULL)
		event_free(f->reap_ev);
	if (f->retry_ev != NULL)
		event_free(f->retry_ev);
	if (f->line != NULL)
		evbuffer_free(f->line);
	if (es->keep.tick != NULL)
		event_free(es->keep.tick);
	if (es->keep.con != NULL)
		evhttp_connection_free(es->keep.con);
	for (size_t i = 0; i < es->n_eps; i++) {
		drop_con(&es->eps[i]);
		free(es->eps[i].url);
		free(es->eps[i].host);
		free(es->eps[i].hosthdr);
	}
	free(es->eps);
	if (es->sb != NULL)
		event_base_free(es->sb);
	free(es->prefix);
	free(es->desc);
	free(es);
}

static const store_vtab_t etcd_vtab = {
	.close = etcd_close,
	.get = etcd_get,
	.range = etcd_range,
	.commit = etcd_commit,
	.get_rev = etcd_get_rev,
	.commit_guarded = etcd_commit_guarded,
	.lease_grant = etcd_lease_grant,
	.lease_keepalive = etcd_lease_keepalive,
	.lease_revoke = etcd_lease_revoke,
	.lease_keep = etcd_lease_keep,
	.lease_unkeep = etcd_lease_unkeep,
	.lease_kept_age_ms = etcd_lease_kept_age_ms,
	.feed_start = etcd_feed_start,
	.feed_stop = etcd_feed_stop,
	.feed_revision = etcd_feed_revision,
};

/* "http://HOST:PORT" (an optional trailing '/'), HOST a name, IPv4 or [IPv6]. */
static int parse_endpoint(const char *url, ep_t *ep)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	int ret = ERR_INVAL;
	const char *scheme, *host, *path;
	int port;

	if (u == NULL)
		return ERR_INVAL;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	port = evhttp_uri_get_port(u);
	bool path_ok = path == NULL || path[0] == '\0' || strcmp(path, "/") == 0;
	if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL || host[0] == '\0' ||
	    port <= 0 || port > 65535 || !path_ok || evhttp_uri_get_query(u) != NULL ||
	    evhttp_uri_get_userinfo(u) != NULL)
		goto out;
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
		ep->host = strndup(host + 1, hl - 2);
	else
		ep->host = strdup(host);
	ep->url = strdup(url);
	ep->hosthdr = malloc(hl + 8);
	ep->port = (uint16_t)port;
	if (ep->host == NULL || ep->url == NULL || ep->hosthdr == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	snprintf(ep->hosthdr, hl + 8, "%s:%d", host, port);
	ret = ERR_OK;
out:
	evhttp_uri_free(u);
	return ret;
}

int store_open_etcd(const store_etcd_params_t *p, store_t **out, char *err, size_t errlen)
{
	etcd_store_t *es = NULL;
	const char *prefix = p->prefix != NULL ? p->prefix : "/r53d/v1/";
	size_t plen = strlen(prefix), dl;
	int ret = ERR_NOMEM;

	*out = NULL;
	if (p->n_endpoints == 0 || p->endpoints == NULL) {
		snprintf(err, errlen, "store etcd: no endpoints");
		return ERR_INVAL;
	}
	if (plen < 2 || prefix[0] != '/' || prefix[plen - 1] != '/') {
		snprintf(err, errlen, "store etcd: prefix \"%s\" must start and end with '/'",
			 prefix);
		return ERR_INVAL;
	}
	es = calloc(1, sizeof(*es));
	if (es == NULL)
		goto fail;
	es->prefix = strdup(prefix);
	es->plen = plen;
	es->eps = calloc(p->n_endpoints, sizeof(*es->eps));
	es->sb = event_base_new();
	if (es->prefix == NULL || es->eps == NULL || es->sb == NULL)
		goto fail;
	dl = plen + 32;
	for (size_t i = 0; i < p->n_endpoints; i++) {
		ret = parse_endpoint(p->endpoints[i], &es->eps[i]);
		es->n_eps = i + 1;
		if (ret == ERR_INVAL)
			snprintf(err, errlen,
				 "store etcd: endpoint \"%s\" is not http://HOST:PORT",
				 p->endpoints[i]);
		if (ret != ERR_OK)
			goto fail_quiet;
		dl += strlen(p->endpoints[i]) + 1;
	}
	es->desc = malloc(dl);
	if (es->desc == NULL)
		goto fail;
	{
		size_t o = (size_t)snprintf(es->desc, dl, "etcd ");
		for (size_t i = 0; i < es->n_eps; i++)
			o += (size_t)snprintf(es->desc + o, dl - o, "%s%s", i ? "," : "",
					      es->eps[i].url);
		snprintf(es->desc + o, dl - o, " prefix %s", prefix);
	}
	es->attempt_ms = p->attempt_ms ? p->attempt_ms : 2000;
	es->call_ms = p->call_ms ? p->call_ms : 8000;
	es->idle_ms = p->watch_idle_ms ? p->watch_idle_ms : 15000;
	es->page = p->page_keys ? p->page_keys : 1000;
	store_base_init(&es->base, &etcd_vtab, es->desc);
	*out = &es->base;
	return ERR_OK;
fail:
	ret = ERR_NOMEM;
	snprintf(err, errlen, "store etcd: out of memory");
fail_quiet:
	if (es != NULL) {
		es->base.vt = &etcd_vtab;
		etcd_close(&es->base);
	}
	return ret;
}
