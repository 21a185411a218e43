/* SPDX-License-Identifier: MIT */
/*
 * fleet.c -- a node of a fleet of r53d on etcd: the feed queue, guarded commits, the node's
 * registration under its lease, INSYNC (fleet.h).
 */
#include "fleet.h"
#include "err.h"
#include "hc.h"
#include "log.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The node's lease: its TTL (etcd's minimum is 2 s) and how often it is renewed. */
#define FLEET_LEASE_TTL 5
#define FLEET_KEEP_MS 1000
/* "applied" is written at most this often. */
#define FLEET_PUBLISH_MS 100
/* After etcd failed to take a write of ours, wait this long before the next one, doubling
 * up to FLEET_BACKOFF_MAX_MS while it keeps failing (the calls are synchronous: each failure
 * holds the control loop for the store's time limit). While the lease's keepalives (which
 * do not block) fail for FLEET_KEEP_STALE_MS, no write of ours is tried at all. */
#define FLEET_BACKOFF_MS 2000
#define FLEET_BACKOFF_MAX_MS 16000
#define FLEET_KEEP_STALE_MS 3000
/* Registration attempts while etcd is away or the node is catching up. */
#define FLEET_RETRY_MS 300
/* Health: how often the local checkers' views are looked at (and changes published), the
 * heartbeat (the node key's "at"), and when another node's votes are stale. */
#define FLEET_HC_MS 500
#define FLEET_HEARTBEAT_MS 2000
#define FLEET_STALE_MS 10000
/* Keys per etcd txn when publishing votes (etcd's default --max-txn-ops is 128). */
#define FLEET_HC_BATCH 100

/* One key of a queued revision: a document, or NULL for a delete. */
typedef struct fleet_kv {
	char *key;
	json_t *doc;
} fleet_kv_t;

typedef struct fleet_rev {
	uint64_t rev;
	fleet_kv_t *kv;
	size_t n;
	struct fleet_rev *next;
} fleet_rev_t;

struct fleet {
	store_t *st;                 /* borrowed */
	struct event_base *base;     /* the control loop */
	char *node_id, *region;
	char node_key[128];          /* /live/node/NODE */
	fleet_kick_fn kick;
	void *kick_ctx;

	fleet_rev_t *head, *tail;    /* revisions to apply */
	uint64_t seen;               /* the highest revision the feed delivered */
	uint64_t applied;            /* the highest revision applied and served */
	uint64_t load_rev;           /* the revision the model was loaded at */
	bool resync;                 /* the feed was lost to compaction */
	bool building;               /* revisions taken are being applied (fleet_take) */

	json_t *nodes;               /* NODE -> {"region", "applied"}: /live/node/ as seen */

	int64_t lease;               /* 0: none */
	bool registered;             /* the node key is in etcd (as far as we know) */
	uint64_t reg_target;         /* catch up to this before registering again */
	uint64_t published;          /* "applied" last written */
	bool dirty;                  /* "applied" must be written */
	struct timespec last_put;    /* when the node key was last written */
	struct timespec quiet_until; /* no writes of ours before this (etcd failed) */
	unsigned backoff_ms;         /* the next quiet time */
	struct event *ev_pub;        /* the rate-limited write of "applied" */
	struct event *ev_reg;        /* registration retries */

	/* Health votes: /live/hc/ID/NODE = {"k", "healthy", "obs"} on the node's lease. */
	hc_system_t *hc;             /* borrowed; NULL: no votes */
	json_t *votes;               /* ID -> NODE -> doc, as seen (other nodes' and ours) */
	json_t *remote_set;          /* ID -> true: hc_remote_set was given votes for it */
	json_t *mine;                /* ID -> "k/healthy" last published by this node */
	uint64_t hc_since;           /* hc_state_export counter of the last publication */
	struct event *ev_hc;         /* the health tick */
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double ts_ms(const struct timespec *t)
{
	return (double)t->tv_sec * 1e3 + (double)t->tv_nsec / 1e6;
}

static void ts_set(struct timespec *t, double plus_ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	double ms = ts_ms(t) + plus_ms;
	t->tv_sec = (time_t)(ms / 1e3);
	t->tv_nsec = (long)((ms - (double)t->tv_sec * 1e3) * 1e6);
}

static void arm(struct event *ev, double ms)
{
	if (ms < 1)
		ms = 1;
	struct timeval tv = { (time_t)(ms / 1e3), (suseconds_t)((long)ms % 1000 * 1000) };
	event_add(ev, &tv);
}

int fleet_open_store(const conf_t *c, store_t **st, char *err, size_t errlen)
{
	store_etcd_params_t p = {
		.endpoints = (const char *const *)c->store_etcd_endpoints,
		.n_endpoints = c->store_etcd_n_endpoints,
		.prefix = c->store_etcd_prefix,
		/* writes answer 503 within ~5 s when etcd has no quorum */
		.attempt_ms = 2000,
		.call_ms = 5000,
	};
	int ret = store_open_etcd(&p, st, err, errlen);
	if (ret != ERR_OK && err[0] == '\0')
		snprintf(err, errlen, "%s: store.etcd: %s", c->path, err_str(ret));
	return ret;
}

/* ---- the live keys ------------------------------------------------------------------------ */

static void remote_one(fleet_t *f, const char *id);
static void on_hc(evutil_socket_t fd, short what, void *arg);

/* /live/hc/ID/NODE */
static void vote_apply(fleet_t *f, const char *key, const char *val, size_t vlen)
{
	const char *id = key + 9;
	const char *slash = strrchr(id, '/');
	if (slash == NULL || slash == id || slash[1] == '\0')
		return;
	char cid[128];
	size_t l = (size_t)(slash - id);
	if (l >= sizeof(cid))
		return;
	memcpy(cid, id, l);
	cid[l] = '\0';
	const char *node = slash + 1;
	json_t *per = json_object_get(f->votes, cid);
	if (val == NULL) {
		json_object_del(per, node);
		if (per != NULL && json_object_size(per) == 0)
			json_object_del(f->votes, cid);
	} else {
		json_t *doc = json_loadb(val, vlen, 0, NULL);
		if (!json_is_object(doc)) {
			json_decref(doc);
			return;
		}
		if (per == NULL) {
			per = json_object();
			if (per == NULL || json_object_set_new(f->votes, cid, per) < 0) {
				json_decref(doc);
				return;
			}
		}
		json_object_set_new(per, node, doc);
	}
	if (strcmp(node, f->node_id) != 0)
		remote_one(f, cid);
}

static void live_apply(fleet_t *f, const char *key, const char *val, size_t vlen)
{
	if (strncmp(key, "/live/hc/", 9) == 0) {
		vote_apply(f, key, val, vlen);
		return;
	}
	if (strncmp(key, "/live/node/", 11) != 0)
		return;
	const char *id = key + 11;
	if (val == NULL) {
		json_object_del(f->nodes, id);
		if (strcmp(id, f->node_id) == 0 && f->registered) {
			/* our key went (the lease expired while etcd could not hear us) */
			log_msg(LOG_WARNING, "fleet: this node's registration expired; registering again");
			f->registered = false;
			f->reg_target = f->seen;
			arm(f->ev_reg, FLEET_RETRY_MS);
		}
		return;
	}
	json_t *doc = json_loadb(val, vlen, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return;
	}
	json_object_set_new(f->nodes, id, doc);
}

static int live_kv(void *ctx, const char *key, const char *val, size_t vlen)
{
	live_apply(ctx, key, val, vlen);
	return 0;
}

/* ---- the feed ----------------------------------------------------------------------------- */

static void free_rev(fleet_rev_t *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->kv[i].key);
		json_decref(r->kv[i].doc);
	}
	free(r->kv);
	free(r);
}

static void drop_queue(fleet_t *f)
{
	while (f->head != NULL) {
		fleet_rev_t *r = f->head;
		f->head = r->next;
		free_rev(r);
	}
	f->tail = NULL;
}

static void on_rev(void *ctx, uint64_t rev, const store_op_t *ops, size_t n)
{
	fleet_t *f = ctx;
	fleet_rev_t *r = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(ops[i].key, "/live/", 6) == 0) {
			live_apply(f, ops[i].key, ops[i].val, ops[i].vlen);
			continue;
		}
		if (r == NULL) {
			r = calloc(1, sizeof(*r));
			if (r != NULL)
				r->kv = calloc(n, sizeof(*r->kv));
			if (r == NULL || r->kv == NULL) {
				free(r);
				log_msg(LOG_ERR, "fleet: out of memory at revision %" PRIu64
						 "; reloading everything", rev);
				f->resync = true;
				return;
			}
			r->rev = rev;
		}
		json_t *doc = NULL;
		if (ops[i].val != NULL) {
			json_error_t je;
			doc = json_loadb(ops[i].val, ops[i].vlen, JSON_DECODE_ANY, &je);
			if (doc == NULL) {
				log_msg(LOG_WARNING, "fleet: revision %" PRIu64 ": key %s is not JSON (%s); ignored",
					rev, ops[i].key, je.text);
				continue;
			}
		}
		r->kv[r->n].key = strdup(ops[i].key);
		r->kv[r->n].doc = doc;
		if (r->kv[r->n].key == NULL) {
			json_decref(doc);
			continue;
		}
		r->n++;
	}
	if (rev > f->seen)
		f->seen = rev;
	if (r != NULL && r->n > 0) {
		if (f->tail != NULL)
			f->tail->next = r;
		else
			f->head = r;
		f->tail = r;
	} else {
		if (r != NULL)
			free_rev(r);
		if (f->head == NULL && !f->building && rev > f->applied)
			f->applied = rev; /* nothing to build: applied as delivered */
	}
	f->kick(f->kick_ctx);
}

static void on_progress(void *ctx, uint64_t rev)
{
	fleet_t *f = ctx;
	if (rev > f->seen)
		f->seen = rev;
	if (f->head == NULL && !f->building && rev > f->applied) {
		f->applied = rev;
		f->kick(f->kick_ctx);
	}
}

static void on_lost(void *ctx, uint64_t compact_rev)
{
	fleet_t *f = ctx;
	log_msg(LOG_WARNING, "fleet: etcd compacted the revisions not applied yet (up to %" PRIu64
			     "); reloading everything", compact_rev);
	drop_queue(f);
	f->resync = true;
	f->kick(f->kick_ctx);
}

static int feed_from(fleet_t *f, uint64_t from)
{
	store_feed_cbs_t cbs = { .rev = on_rev, .progress = on_progress, .lost = on_lost,
				 .ctx = f };
	return store_feed_start(f->st, f->base, from, &cbs);
}

bool fleet_pending(const fleet_t *f)
{
	return f != NULL && (f->head != NULL || f->resync);
}

bool fleet_resync_needed(const fleet_t *f)
{
	return f != NULL && f->resync;
}

int fleet_resync_done(fleet_t *f, uint64_t rev)
{
	f->resync = false;
	f->building = false;
	f->seen = rev;
	f->applied = rev;
	f->dirty = true;
	/* /live/ again: expiries during the gap were compacted away too */
	json_object_clear(f->nodes);
	if (store_range(f->st, "/live/", live_kv, f, NULL) != ERR_OK)
		log_msg(LOG_WARNING, "fleet: cannot read the live nodes; they return with the feed");
	return feed_from(f, rev + 1);
}

int fleet_take(fleet_t *f, model_t *m, model_txn_t *t, uint64_t *rev)
{
	*rev = f->seen;
	f->building = true;
	while (f->head != NULL) {
		fleet_rev_t *r = f->head;
		for (size_t i = 0; i < r->n; i++) {
			fleet_kv_t *kv = &r->kv[i];
			if (strncmp(kv->key, "/changes/", 9) == 0 && kv->doc != NULL)
				json_object_set_new(m->change_gen, kv->key + 9,
						    json_integer((json_int_t)r->rev));
			if (model_txn_put(t, kv->key, kv->doc) != ERR_OK) {
				kv->doc = NULL;
				return ERR_NOMEM;
			}
			kv->doc = NULL;
		}
		f->head = r->next;
		if (f->head == NULL)
			f->tail = NULL;
		free_rev(r);
	}
	return ERR_OK;
}

/* ---- registration ------------------------------------------------------------------------- */

static bool quiet(const fleet_t *f)
{
	uint64_t age = f->registered && f->lease != 0 ? store_lease_kept_age_ms(f->st) : 0;
	if (age != UINT64_MAX && age > FLEET_KEEP_STALE_MS)
		return true; /* etcd does not hear our keepalives: it would not take a write */
	return now_ms() < ts_ms(&f->quiet_until);
}

/* etcd failed a call of ours: stay quiet for a while (longer each time). */
static void etcd_failed(fleet_t *f)
{
	if (f->backoff_ms < FLEET_BACKOFF_MS)
		f->backoff_ms = FLEET_BACKOFF_MS;
	ts_set(&f->quiet_until, f->backoff_ms);
	if (f->backoff_ms < FLEET_BACKOFF_MAX_MS)
		f->backoff_ms *= 2;
}

/* Write the node key with "applied"; ERR_NOTFOUND: the lease is gone. */
static int put_node(fleet_t *f)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	json_t *doc = json_pack("{s:s,s:I,s:I}", "region", f->region, "applied",
				(json_int_t)f->applied, "at",
				(json_int_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000);
	char *txt = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (txt == NULL)
		return ERR_NOMEM;
	uint64_t applied = f->applied;
	store_op_t op = { .key = f->node_key, .val = txt, .vlen = strlen(txt) };
	int ret = store_commit_guarded(f->st, &op, 1, NULL, 0, f->lease, NULL);
	free(txt);
	clock_gettime(CLOCK_MONOTONIC, &f->last_put);
	if (ret == ERR_OK) {
		f->published = applied;
		f->dirty = f->applied > applied;
		f->backoff_ms = 0;
	} else if (ret == ERR_IO) {
		etcd_failed(f);
	}
	return ret;
}

static void on_lease_lost(void *ctx, int64_t id)
{
	fleet_t *f = ctx;
	if (id != f->lease)
		return;
	log_msg(LOG_WARNING, "fleet: the node's lease expired; registering again once caught up");
	f->lease = 0;
	f->registered = false;
	f->reg_target = f->seen > store_revision(f->st) ? f->seen : store_revision(f->st);
	arm(f->ev_reg, FLEET_RETRY_MS);
}

/* Register: a lease, the node key on it, the lease kept alive. Only once caught up. */
static void try_register(fleet_t *f)
{
	if (f->registered)
		return;
	if (quiet(f) || f->applied < f->reg_target || f->head != NULL || f->resync) {
		arm(f->ev_reg, FLEET_RETRY_MS);
		return;
	}
	int ret = ERR_OK;
	if (f->lease == 0) {
		unsigned granted = 0;
		ret = store_lease_grant(f->st, FLEET_LEASE_TTL, &f->lease, &granted);
		if (ret != ERR_OK) {
			f->lease = 0;
			etcd_failed(f);
			arm(f->ev_reg, FLEET_RETRY_MS);
			return;
		}
		store_lease_keep(f->st, f->base, f->lease, FLEET_KEEP_MS, on_lease_lost, f);
	}
	ret = put_node(f);
	if (ret == ERR_NOTFOUND) {
		f->lease = 0;
		store_lease_unkeep(f->st);
	}
	if (ret != ERR_OK) {
		arm(f->ev_reg, FLEET_RETRY_MS);
		return;
	}
	f->registered = true;
	/* votes go under this lease: all of them again */
	json_object_clear(f->mine);
	f->hc_since = 0;
	log_msg(LOG_NOTICE, "fleet: node %s (%s) registered, applied revision %" PRIu64,
		f->node_id, f->region, f->published);
}

static void on_reg(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	try_register(arg);
}

static void publish(fleet_t *f)
{
	if (!f->registered || !f->dirty)
		return;
	double since = now_ms() - ts_ms(&f->last_put);
	if (quiet(f) || since < FLEET_PUBLISH_MS) {
		double wait = FLEET_PUBLISH_MS - since;
		if (quiet(f)) {
			wait = ts_ms(&f->quiet_until) - now_ms();
			if (wait < FLEET_RETRY_MS)
				wait = FLEET_RETRY_MS;
		}
		if (!event_pending(f->ev_pub, EV_TIMEOUT, NULL))
			arm(f->ev_pub, wait);
		return;
	}
	int ret = put_node(f);
	if (ret == ERR_NOTFOUND) {
		store_lease_unkeep(f->st);
		on_lease_lost(f, f->lease);
	} else if (ret != ERR_OK && !event_pending(f->ev_pub, EV_TIMEOUT, NULL)) {
		arm(f->ev_pub, FLEET_BACKOFF_MS);
	}
}

static void on_pub(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	publish(arg);
}

void fleet_applied(fleet_t *f, uint64_t rev, bool cfg)
{
	f->building = false;
	if (rev > f->applied)
		f->applied = rev;
	if (f->head == NULL && f->seen > f->applied)
		f->applied = f->seen; /* live-only revisions delivered meanwhile */
	if (cfg && f->applied > f->published) {
		f->dirty = true;
		publish(f);
	}
}

uint64_t fleet_applied_rev(const fleet_t *f)
{
	return f->applied;
}

/* ---- commits ------------------------------------------------------------------------------ */

/* The key that guards key k ("/zones/Z" for every key of zone Z), or "" for none. */
static void guard_key(const char *k, char *out, size_t len)
{
	out[0] = '\0';
	if (strncmp(k, "/zones/", 7) == 0) {
		const char *slash = strchr(k + 7, '/');
		size_t l = slash ? (size_t)(slash - k) : strlen(k);
		if (l < len) {
			memcpy(out, k, l);
			out[l] = '\0';
		}
		return;
	}
	if (strncmp(k, "/healthchecks/", 14) == 0 || strncmp(k, "/cidrcollections/", 17) == 0) {
		const char *p = k + (k[1] == 'h' ? 14 : 17);
		const char *slash = strchr(p, '/');
		size_t l = slash ? (size_t)(slash - k) : strlen(k);
		if (l < len) {
			memcpy(out, k, l);
			out[l] = '\0';
		}
		return;
	}
	if (strncmp(k, "/changes/", 9) == 0 || strncmp(k, "/callerrefs/", 12) == 0)
		snprintf(out, len, "%s", k);
}

int fleet_commit(fleet_t *f, model_t *m, model_txn_t *t, uint64_t *rev, uint64_t *wait)
{
	size_t n = model_txn_size(t);
	int ret = ERR_NOMEM;
	*wait = 0;
	/* every op, plus a put of each touched zone's document (the zone's guard) */
	store_op_t *ops = calloc(2 * n + 1, sizeof(*ops));
	char **vals = calloc(2 * n + 1, sizeof(*vals));
	store_guard_t *g = calloc(n + 1, sizeof(*g));
	char **gkeys = calloc(n + 1, sizeof(*gkeys));
	size_t no = 0, ng = 0;
	if (ops == NULL || vals == NULL || g == NULL || gkeys == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *k = model_txn_key(t, i);
		bool touched = false;
		json_t *doc = model_txn_get(t, k, &touched);
		ops[no].key = k;
		if (doc != NULL) {
			vals[no] = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
			if (vals[no] == NULL)
				goto out;
			ops[no].val = vals[no];
			ops[no].vlen = strlen(vals[no]);
		}
		no++;
		char gk[512];
		guard_key(k, gk, sizeof(gk));
		bool dup = gk[0] == '\0';
		for (size_t j = 0; j < ng && !dup; j++)
			dup = strcmp(gkeys[j], gk) == 0;
		if (dup)
			continue;
		if ((gkeys[ng] = strdup(gk)) == NULL)
			goto out;
		g[ng].key = gkeys[ng];
		ng++;
	}
	/* Each guard: the key's revision in etcd now, which this node must have applied (else
	 * it validated against old data: wait for the feed, then the caller tries again). */
	for (size_t j = 0; j < ng; j++) {
		char *v = NULL;
		size_t vl = 0;
		uint64_t mr = 0;
		ret = store_get_rev(f->st, gkeys[j], &v, &vl, &mr);
		free(v);
		if (ret != ERR_OK && ret != ERR_NOTFOUND)
			goto out;
		if (mr > f->applied) {
			*wait = mr;
			ret = ERR_CONFLICT;
			goto out;
		}
		g[j].mod_rev = mr;
		bool touched = false;
		model_txn_get(t, gkeys[j], &touched);
		if (strncmp(gkeys[j], "/zones/", 7) != 0 || touched || mr == 0)
			continue;
		/* the txn changes the zone's record sets only: put the zone again, so that its
		 * revision moves (the next writer's guard) */
		m_zone_t *z = model_zone(m, gkeys[j] + 7);
		if (z == NULL || z->doc == NULL) {
			*wait = mr;
			ret = ERR_CONFLICT;
			goto out;
		}
		vals[no] = json_dumps(z->doc, JSON_COMPACT | JSON_ENCODE_ANY);
		if (vals[no] == NULL) {
			ret = ERR_NOMEM;
			goto out;
		}
		ops[no].key = gkeys[j];
		ops[no].val = vals[no];
		ops[no].vlen = strlen(vals[no]);
		no++;
	}
	ret = store_commit_guarded(f->st, ops, no, g, ng, 0, rev);
	if (ret == ERR_CONFLICT)
		*wait = store_revision(f->st);
out:
	for (size_t i = 0; vals != NULL && i < 2 * n + 1; i++)
		free(vals[i]);
	for (size_t j = 0; gkeys != NULL && j < ng; j++)
		free(gkeys[j]);
	free(vals);
	free(ops);
	free(g);
	free(gkeys);
	return ret;
}

/* ---- INSYNC ------------------------------------------------------------------------------- */

bool fleet_insync(const fleet_t *f, uint64_t rev)
{
	if (f->applied < rev)
		return false;
	const char *id;
	json_t *n;
	json_object_foreach(f->nodes, id, n) {
		if (strcmp(id, f->node_id) == 0)
			continue; /* this node: f->applied */
		json_int_t a = json_integer_value(json_object_get(n, "applied"));
		if (a < 0 || (uint64_t)a < rev)
			return false;
	}
	return true;
}

size_t fleet_nodes(const fleet_t *f, bool *registered)
{
	if (registered != NULL)
		*registered = f->registered;
	return json_object_size(f->nodes);
}

/* ---- life --------------------------------------------------------------------------------- */

int fleet_new(store_t *st, const conf_t *c, uint64_t load_rev, fleet_t **out)
{
	fleet_t *f = calloc(1, sizeof(*f));
	*out = NULL;
	if (f == NULL)
		return ERR_NOMEM;
	f->st = st;
	f->node_id = strdup(c->store_etcd_node_id);
	f->region = strdup(c->store_etcd_region);
	f->nodes = json_object();
	f->votes = json_object();
	f->remote_set = json_object();
	f->mine = json_object();
	f->load_rev = load_rev;
	f->seen = load_rev;
	f->applied = load_rev;
	f->reg_target = load_rev;
	if (f->node_id == NULL || f->region == NULL || f->nodes == NULL || f->votes == NULL ||
	    f->remote_set == NULL || f->mine == NULL) {
		fleet_free(f);
		return ERR_NOMEM;
	}
	snprintf(f->node_key, sizeof(f->node_key), "/live/node/%s", f->node_id);
	*out = f;
	return ERR_OK;
}

int fleet_start(fleet_t *f, struct event_base *base, fleet_kick_fn kick, void *ctx, char *err,
		size_t errlen)
{
	f->base = base;
	f->kick = kick;
	f->kick_ctx = ctx;
	f->ev_pub = evtimer_new(base, on_pub, f);
	f->ev_reg = evtimer_new(base, on_reg, f);
	f->ev_hc = evtimer_new(base, on_hc, f);
	if (f->ev_pub == NULL || f->ev_reg == NULL || f->ev_hc == NULL)
		return ERR_NOMEM;
	arm(f->ev_hc, FLEET_HC_MS);
	int ret = store_range(f->st, "/live/", live_kv, f, NULL);
	if (ret != ERR_OK) {
		snprintf(err, errlen, "store %s: cannot read the live nodes: %s",
			 store_describe(f->st), err_str(ret));
		return ret;
	}
	ret = feed_from(f, f->load_rev + 1);
	if (ret != ERR_OK) {
		snprintf(err, errlen, "store %s: cannot start the feed: %s", store_describe(f->st),
			 err_str(ret));
		return ret;
	}
	try_register(f);
	return ERR_OK;
}

void fleet_free(fleet_t *f)
{
	if (f == NULL)
		return;
	if (f->st != NULL && f->base != NULL) {
		store_feed_stop(f->st);
		store_lease_unkeep(f->st);
		if (f->lease != 0 && store_lease_revoke(f->st, f->lease) == ERR_OK)
			log_msg(LOG_INFO, "fleet: node %s left the fleet", f->node_id);
	}
	if (f->ev_pub != NULL)
		event_free(f->ev_pub);
	if (f->ev_reg != NULL)
		event_free(f->ev_reg);
	if (f->ev_hc != NULL)
		event_free(f->ev_hc);
	json_decref(f->votes);
	json_decref(f->remote_set);
	json_decref(f->mine);
	drop_queue(f);
	json_decref(f->nodes);
	free(f->node_id);
	free(f->region);
	free(f);
}

/* ---- health votes ------------------------------------------------------------------------- */

static int64_t wall_ms(void)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	return (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
}

/* Another node counts while its key exists (its lease) and its heartbeat is fresh. */
static bool node_fresh(const fleet_t *f, const char *node, int64_t now)
{
	json_t *n = json_object_get(f->nodes, node);
	if (n == NULL || strcmp(node, f->node_id) == 0)
		return false;
	json_int_t at = json_integer_value(json_object_get(n, "at"));
	return now - at <= FLEET_STALE_MS;
}

/* Give the health system the fresh votes of the other nodes for check id. */
static void remote_one(fleet_t *f, const char *id)
{
	if (f->hc == NULL)
		return;
	json_t *per = json_object_get(f->votes, id);
	int64_t now = wall_ms();
	unsigned k = 0, healthy = 0;
	json_t *obs = json_array();
	const char *node;
	json_t *v;
	json_object_foreach(per, node, v) {
		if (!node_fresh(f, node, now))
			continue;
		json_int_t vk = json_integer_value(json_object_get(v, "k"));
		json_int_t vh = json_integer_value(json_object_get(v, "healthy"));
		if (vk <= 0 || vk > 1000 || vh < 0)
			continue;
		k += (unsigned)vk;
		healthy += (unsigned)(vh > vk ? vk : vh);
		json_t *o = json_object_get(v, "obs");
		if (obs != NULL && json_is_array(o))
			json_array_extend(obs, o);
	}
	if (k == 0 && json_object_get(f->remote_set, id) == NULL) {
		json_decref(obs);
		return;
	}
	if (hc_remote_set(f->hc, id, k, healthy, k > 0 ? obs : NULL) != HC_OK)
		k = 0; /* not a check here (yet): try again at the next tick */
	else if (k == 0)
		json_decref(obs);
	if (k > 0)
		json_object_set_new(f->remote_set, id, json_true());
	else
		json_object_del(f->remote_set, id);
}

/* Every check with votes, and those that had some: freshness moves with time. */
static void remote_all(fleet_t *f)
{
	const char *id;
	json_t *v;
	void *tmp;
	json_object_foreach(f->votes, id, v) {
		remote_one(f, id);
	}
	json_object_foreach_safe(f->remote_set, tmp, id, v) {
		if (json_object_get(f->votes, id) == NULL)
			remote_one(f, id);
	}
}

/* Publish the local checkers' views of the checks whose count of healthy views changed. */
static void votes_publish(fleet_t *f)
{
	if (f->hc == NULL || !f->registered || f->lease == 0 || quiet(f))
		return;
	json_t *st = NULL;
	uint64_t now = 0;
	if (hc_state_export(f->hc, f->hc_since, &st, &now) != HC_OK)
		return;
	size_t cap = json_object_size(st), n = 0;
	store_op_t *ops = calloc(cap + 1, sizeof(*ops));
	char **keys = calloc(cap + 1, sizeof(*keys));
	char **vals = calloc(cap + 1, sizeof(*vals));
	json_t *sums = json_object();
	int ret = ERR_NOMEM;
	if (ops == NULL || keys == NULL || vals == NULL || sums == NULL)
		goto out;
	const char *id;
	json_t *e;
	json_object_foreach(st, id, e) {
		json_t *ck = json_object_get(e, "Checkers");
		size_t k = json_array_size(ck), h = 0, nobs = 0, j;
		json_t *c;
		json_t *obs = json_array();
		json_array_foreach(ck, j, c) {
			if (json_is_true(json_object_get(c, "Healthy")))
				h++;
			json_t *o = json_object_get(c, "Observation");
			if (json_is_object(o) && obs != NULL) {
				json_t *x = json_deep_copy(o);
				json_object_set_new(x, "Region", json_string(f->region));
				json_array_append_new(obs, x);
				nobs++;
			}
		}
		/* published again when the count of healthy views or of checkers with an
		 * observation changes (not at every probe) */
		char sum[64];
		snprintf(sum, sizeof(sum), "%zu/%zu/%zu", k, h, nobs);
		const char *was = json_string_value(json_object_get(f->mine, id));
		if (k == 0 || (was != NULL && strcmp(was, sum) == 0)) {
			json_decref(obs);
			continue;
		}
		json_t *doc = json_pack("{s:I,s:I,s:o}", "k", (json_int_t)k, "healthy",
					(json_int_t)h, "obs", obs ? obs : json_array());
		vals[n] = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
		size_t kl = strlen(id) + strlen(f->node_id) + 16;
		keys[n] = malloc(kl);
		if (vals[n] == NULL || keys[n] == NULL) {
			n++;
			goto out;
		}
		snprintf(keys[n], kl, "/live/hc/%s/%s", id, f->node_id);
		ops[n].key = keys[n];
		ops[n].val = vals[n];
		ops[n].vlen = strlen(vals[n]);
		json_object_set_new(sums, id, json_string(sum));
		n++;
	}
	ret = ERR_OK;
	for (size_t i = 0; i < n && ret == ERR_OK; i += FLEET_HC_BATCH) {
		size_t m = n - i < FLEET_HC_BATCH ? n - i : FLEET_HC_BATCH;
		ret = store_commit_guarded(f->st, ops + i, m, NULL, 0, f->lease, NULL);
	}
	if (ret == ERR_OK) {
		json_object_update(f->mine, sums);
		f->hc_since = now;
	} else if (ret == ERR_IO) {
		etcd_failed(f);
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	free(ops);
	free(keys);
	free(vals);
	json_decref(sums);
	json_decref(st);
}

static void on_hc(evutil_socket_t fd, short what, void *arg)
{
	fleet_t *f = arg;
	(void)fd;
	(void)what;
	/* the heartbeat: other nodes count this node's votes while it is fresh */
	if (f->registered && !quiet(f) && now_ms() - ts_ms(&f->last_put) >= FLEET_HEARTBEAT_MS) {
		int ret = put_node(f);
		if (ret == ERR_NOTFOUND) {
			store_lease_unkeep(f->st);
			on_lease_lost(f, f->lease);
		}
	}
	votes_publish(f);
	remote_all(f);
	arm(f->ev_hc, FLEET_HC_MS);
}

void fleet_set_health(fleet_t *f, hc_system_t *hc)
{
	f->hc = hc;
}
