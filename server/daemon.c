/* SPDX-License-Identifier: MIT */
/*
 * daemon.c -- start-up, the control thread, reload orchestration, shutdown.
 *
 * The main thread becomes the control thread. It owns the configuration, publishes zone
 * snapshots (snap.h; it is their only publisher) and runs its own event_base with:
 *   - SIGTERM/SIGINT (stop), SIGHUP (reload; reopens the query log) and SIGUSR1 (reopens
 *     the query log, for logrotate), through libevent's evsignal;
 *   - the admin HTTP endpoint (admin.h), when admin.listen is configured;
 *   - an eventfd on which the loader thread reports a finished reload;
 *   - a reclaim timer that frees retired snapshots once their grace period has ended;
 *   - with an LMDB store, a 1 s timer that writes the health checks' changed checker state
 *     to the store (/hcstate/ID), which start-up restores before the first probe.
 *
 * A reload runs conf_load and zdb_build on a loader thread so that the control loop (admin
 * requests, signals) stays responsive however large the zones are. The loader touches no
 * daemon state except its own result fields, which the control thread reads only after
 * pthread_join. One reload runs at a time; requests that arrive meanwhile are served by a
 * single further reload, started as soon as the running one ends, so every caller gets the
 * result of a load that began after it asked.
 *
 * Settings that belong to sockets and threads (listen, workers, tcp, admin.listen) are
 * fixed at start-up: a reload that changes them applies everything else and logs that a
 * restart is needed for them.
 */
#include "daemon.h"
#include "admin.h"
#include "api.h"
#include "fleet.h"
#include "model.h"
#include "r53json.h"
#include "store.h"
#include "err.h"
#include "log.h"
#include "rrl.h"
#include "qlog.h"
#include "snap.h"
#include "worker.h"
#include "dnssec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* How often the control thread looks whether a retired snapshot may be freed. */
#define DAEMON_RECLAIM_MS 20
/* A build that allocated more than this returns the free pages of the heap (malloc_trim). */
#define DAEMON_TRIM_BYTES ((size_t)16 << 20)
/* How often changed checker state is written to the store, and the largest share of the
 * control thread's time that writing it may take (longer writes space out the next ones). */
#define DAEMON_HCSTATE_MS 1000
#define DAEMON_HCSTATE_SHARE 20
#define DAEMON_ERRLEN 2048

/* A caller waiting for a reload to finish. */
typedef struct reload_waiter {
	daemon_reload_cb cb;          /* called once */
	void *arg;                    /* its argument */
	struct reload_waiter *next;   /* next waiter */
} reload_waiter_t;

struct daemon {
	char *config_path;            /* the configuration file, as given */
	conf_t *conf;                 /* the configuration being served */
	struct event_base *base;      /* the control thread's loop */
	struct event *ev_term;        /* SIGTERM */
	struct event *ev_int;         /* SIGINT */
	struct event *ev_hup;         /* SIGHUP */
	struct event *ev_loaded;      /* read event on loaded_fd */
	struct event *ev_reclaim;     /* reclaim timer, pending while snapshots are retired */
	snap_domain_t *snaps;         /* the published snapshot and grace periods */
	uint64_t generation;          /* generation of the published snapshot */
	worker_t **workers;           /* the DNS workers */
	unsigned n_workers;           /* how many */
	conf_listen_t *listen;        /* bound addresses (ports resolved), fixed at start */
	size_t n_listen;              /* how many */
	admin_t *admin;               /* admin endpoint, or NULL */
	hc_system_t *hc;              /* health checks (probes run on its own threads) */
	struct event *ev_hcstate;     /* checker state timer (LMDB store only), or NULL */
	struct event *ev_dnssec;      /* ZSK rollover timer (about once a second) */
	uint64_t hc_state_seen;       /* hc_state_export counter of the last state written */
	bool hc_state_failing;        /* the last write of checker state failed (logged once) */
	struct timespec hc_state_at;  /* when the last write of checker state started */
	double hc_state_ms;           /* and how long it took */
	qlog_t *qlog;                 /* the query log (workers' rings, logger thread), or NULL */
	struct event *ev_usr1;        /* SIGUSR1: reopen the query log */
	rrl_t *rrl;                   /* response rate limiting (the workers' tables) */

	/* Reloads. The loader_* fields are written by the loader thread while loading is true
	 * and read by the control thread after joining it. */
	int loaded_fd;                /* eventfd: the loader has finished */
	bool loading;                 /* a loader thread runs */
	pthread_t loader;             /* it */
	struct timespec load_start;   /* when it started */
	daemon_loaded_t loaded;       /* its result, on success */
	snap_defer_t *hc_retired;     /* health tables the loader's hc reload replaced */
	int loader_ret;               /* its result */
	char loader_err[DAEMON_ERRLEN]; /* its error message */
	/* The Route 53 resources: the store, the model read from it, the API. */
	store_t *store;               /* LMDB or memory */
	model_t *model;               /* what the API serves and the snapshot is built from */
	api_t *api;                   /* the API on the admin listener, or NULL */
	json_t *served_checks;        /* health checks of the snapshot being served */
	r53_cache_t *set_cache;       /* converted record sets between builds (loader) */
	model_sources_t build_src;    /* the running build's sources (loader reads them) */
	conf_t *build_conf;           /* a reload's new configuration, or NULL (d->conf) */
	model_txn_t *build_txn;       /* the running build's transaction (applied, to commit) */
	const zdb_t *build_prev;      /* the served snapshot's zones the build may share */
	struct txn_job *job;          /* the running build's API job, or NULL (a reload) */
	struct txn_job *jobs, *jobs_tail; /* API transactions waiting */
	reload_waiter_t *waiting;     /* callers of the running reload */
	reload_waiter_t *queued;      /* callers of the next one */
	bool again;                   /* a reload without a waiter was asked for */
	bool in_work;                 /* work_next is running (no recursion) */
	bool stopping;                /* shutting down: start nothing new */
	uint64_t reloads_ok;          /* successful reloads */
	uint64_t reloads_failed;      /* failed reloads */
	/* A fleet (store.etcd; fleet.h): revisions come from etcd's watch, API changes go to
	 * etcd and are applied when the watch delivers them. */
	fleet_t *fleet;               /* NULL without etcd */
	struct txn_job *fleet_job;    /* an API change committed, waiting for the watch */
	struct event *ev_fleet;       /* the time limit of fleet_job or fleet_wait */
	uint64_t feed_rev;            /* the running build applies revisions up to this one */
	uint64_t fleet_job_rev;       /* fleet_job's revision */
	uint64_t fleet_wait;          /* API requests wait until this revision is applied */
	struct timespec fleet_until;  /* how long fleet_job or fleet_wait may wait */
	bool build_feed;              /* the running build applies delivered revisions */
	bool build_check;             /* the running build only validates an API change */
	bool dnssec_pending;          /* a ZSK rollover step is being applied */
	char dnssec_step[160];        /* its log line, written once the step is stored */
};

/* An API transaction waiting to be applied. */
typedef struct txn_job {
	model_txn_t *t;               /* owned */
	daemon_txn_cb cb;             /* called once */
	void *arg;                    /* its argument */
	struct txn_job *next;         /* next waiting */
} txn_job_t;

/* ---- loading ------------------------------------------------------------------------------ */

void daemon_loaded_free(daemon_loaded_t *l)
{
	zdb_free(l->db);
	geo_db_free(l->geo);
	geo_latency_free(l->latency);
	conf_free(l->conf);
	memset(l, 0, sizeof(*l));
}

/* zdb_build's HealthCheckId -> slot lookup: a check deleted through the API while record
 * sets still name it counts as healthy (ROUTE53-API.md 3.16, README). */
typedef struct slot_ctx {
	hc_system_t *hc;
	const json_t *deleted;
} slot_ctx_t;

static int find_slot(void *ctx, const char *id, uint32_t *slot)
{
	const slot_ctx_t *sc = ctx;
	if (hc_slot_find(sc->hc, id, slot) == HC_OK)
		return ERR_OK;
	if (json_object_get(sc->deleted, id) != NULL) {
		*slot = UINT32_MAX; /* ZDB_NO_HC: no check, healthy */
		return ERR_OK;
	}
	return ERR_NOTFOUND;
}

static bool check_fqdn(void *ctx, const char *id, char *buf, size_t len)
{
	const slot_ctx_t *sc = ctx;
	return hc_check_fqdn(sc->hc, id, buf, len);
}

static void zone_warn(const char *msg)
{
	log_msg(LOG_WARNING, "%s", msg);
}

/* geo.database and geo.latency (inline object or a file relative to the configuration). */
static int load_geo(const conf_t *c, daemon_loaded_t *out, char *err, size_t errlen)
{
	static const char *const keys[] = { "database", "latency", NULL };
	char where[4200];
	const char *key;
	json_t *v;

	if (c->geo == NULL)
		return ERR_OK;
	json_object_foreach(c->geo, key, v) {
		bool known = false;
		for (const char *const *k = keys; *k != NULL && !known; k++)
			known = strcmp(*k, key) == 0;
		if (!known) {
			snprintf(err, errlen, "%s: geo.%s: unknown key", c->path, key);
			return ERR_INVAL;
		}
	}
	json_t *db = json_object_get(c->geo, "database");
	if (db != NULL) {
		snprintf(where, sizeof(where), "%s: geo.database", c->path);
		int ret = geo_db_new_json(db, c->dir, where, &out->geo, err, errlen);
		if (ret != GEO_OK)
			return ret;
	}
	json_t *lat = json_object_get(c->geo, "latency");
	if (lat == NULL)
		return ERR_OK;
	json_t *doc = NULL;
	if (json_is_string(lat)) {
		const char *p = json_string_value(lat);
		char path[4096];
		if (p[0] == '/' || c->dir == NULL)
			snprintf(path, sizeof(path), "%s", p);
		else
			snprintf(path, sizeof(path), "%s/%s", c->dir, p);
		json_error_t je;
		doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		if (doc == NULL) {
			snprintf(err, errlen, "%s: geo.latency: cannot load %.1024s: line %d column %d: %s",
				 c->path, path, je.line, je.column, je.text);
			return ERR_PARSE;
		}
		snprintf(where, sizeof(where), "%s: geo.latency", path);
		lat = doc;
	} else {
		snprintf(where, sizeof(where), "%s: geo.latency", c->path);
	}
	int ret = geo_latency_new(lat, where, &out->latency, err, errlen);
	json_decref(doc);
	return ret;
}

/* The file health_checks came from, for messages. */
static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Build everything a snapshot needs from configuration c and the model's sources: geo, the
 * health checks (new, or reloaded with src->checks so that new HealthCheckIds have slots),
 * then zdb_build. On failure after the health checks were reloaded, they are put back to
 * old/old_checks (state carries over by Id, hc.h), and nothing else has changed.
 * Start-up: the main thread. Later: the loader thread, the only caller of hc reload then.
 */
static int daemon_build(const conf_t *c, const model_sources_t *src, hc_system_t **hc,
			const conf_t *old, const json_t *old_checks, r53_cache_t *cache,
			const zdb_t *prev, daemon_loaded_t *out, char *err, size_t errlen)
{
	daemon_loaded_t l = { 0 };
	bool hc_reloaded = false;
	int ret;

	struct timespec t0, t1, t2;
	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = load_geo(c, &l, err, errlen);
	if (ret != ERR_OK)
		goto out;
	if (*hc == NULL) {
		ret = hc_system_new(c->health, c->path, src->checks, "health checks", hc, err,
				    errlen);
	} else {
		ret = hc_system_reload(*hc, c->health, c->path, src->checks, "health checks", err,
				       errlen);
		hc_reloaded = ret == HC_OK;
	}
	if (ret != HC_OK)
		goto out;
	slot_ctx_t sc = { .hc = *hc, .deleted = src->deleted_hcs };
	zdb_opts_t opts = {
		.cname_chasing = c->cname_chasing,
		.authority_ns = c->authority_ns,
		.wildcard_parent_nxdomain = c->wildcard_parent_nxdomain,
		.edns_udp_size = c->edns_udp_size,
		.chaos_version = c->chaos_version,
		.chaos_id = c->chaos_id,
		.nsid = c->nsid,
		.health = hc_table(*hc),
		.hc_find = find_slot,
		.hc_ctx = &sc,
		.hc_fqdn = check_fqdn,
		.warn = zone_warn,
		.geo = l.geo,
		.latency = l.latency,
		.cidr_collections = src->colls,
		.vpcs = c->vpcs,
		.api_lenient = true,
		.set_cache = cache,
		.prev = prev,
	};
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ret = zdb_build(src->src, src->n_src, &opts, &l.db, err, errlen);
	if (ret == ERR_OK)
		r53_cache_sweep(cache);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	log_msg(LOG_DEBUG, "build: geo and health %.1f ms, zones %.1f ms",
		ms_since(&t0) - ms_since(&t1), ms_since(&t1) - ms_since(&t2));
	if (ret != ERR_OK)
		goto out;
	{
		zdb_build_stats_t bs;
		zdb_build_stats(l.db, &bs);
		log_msg(LOG_INFO, "snapshot built in %.1f ms, %zu zones compiled, %zu shared, %zu bytes allocated",
			bs.seconds * 1e3, bs.compiled, bs.shared, bs.bytes_built);
		/* a big build leaves its transient data (parsed records, build tables) free in
		 * the heap: give those pages back */
		if (bs.bytes_built > DAEMON_TRIM_BYTES)
			malloc_trim(0);
	}
	*out = l;
	memset(&l, 0, sizeof(l));
	hc_reloaded = false;
out:
	if (hc_reloaded && old != NULL) {
		char e2[512];
		if (hc_system_reload(*hc, old->health, old->path, old_checks, "health checks", e2,
				     sizeof(e2)) != HC_OK)
			log_msg(LOG_ERR, "cannot restore the health checks: %s", e2);
	}
	daemon_loaded_free(&l);
	return ret;
}

/* Zones the configuration defines are named in messages as it names them
 * ("CONFIG: hosted_zones[2]"), whatever the store says about them now. */
static void sources_where(model_sources_t *s, const conf_t *c)
{
	for (size_t i = 0; i < s->n_src; i++) {
		zdb_src_t *z = &s->src[i];
		const char *sid = strncmp(z->id, "/hostedzone/", 12) == 0 ? z->id + 12 : z->id;
		for (size_t k = 0; k < c->n_zones; k++) {
			const conf_zone_t *cz = &c->zones[k];
			const char *cid = cz->id ? cz->id : "";
			if (strncmp(cid, "/hostedzone/", 12) == 0)
				cid += 12;
			if (z->name == NULL || strcasecmp(z->name, cz->name) != 0 ||
			    (cid[0] != '\0' && strcmp(cid, sid) != 0))
				continue;
			z->where = cz->where;
			if (cz->record_sets_file != NULL)
				z->record_sets_file = cz->record_sets_file;
			break;
		}
	}
}

/* Open the store the configuration names (LMDB) or a memory one. */
static int open_store(const conf_t *c, store_t **st, char *err, size_t errlen)
{
	if (c->store_etcd != NULL)
		return fleet_open_store(c, st, err, errlen);
	if (c->store_path != NULL)
		return store_open_lmdb(c->store_path, st, err, errlen);
	return store_open_mem(st);
}

static void import_warn(const char *msg)
{
	log_msg(LOG_WARNING, "%s", msg);
}

/*
 * The first load: configuration, store, model, the configuration's new resources imported
 * (not yet committed: *txn, applied to the model), the snapshot built. The caller commits
 * *txn once it is sure to serve (start-up) or drops it (--check).
 */
typedef struct first_load {
	conf_t *conf;
	store_t *store;
	model_t *model;
	model_txn_t *txn;
	model_sources_t src;
	daemon_loaded_t loaded;
	r53_cache_t *cache;
	uint64_t load_rev; /* the store's revision the model was read at */
} first_load_t;

static void first_load_free(first_load_t *f)
{
	model_txn_free(f->txn);
	r53_cache_free(f->cache);
	model_sources_free(&f->src);
	daemon_loaded_free(&f->loaded);
	model_free(f->model);
	store_close(f->store);
	conf_free(f->conf);
	memset(f, 0, sizeof(*f));
}

static int first_load(const char *config_path, const char *reimport, hc_system_t **hc,
		      first_load_t *f, void (*warn)(const char *), char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	int ret = conf_load(config_path, &f->conf, err, errlen);
	if (ret != ERR_OK)
		return ret;
	ret = open_store(f->conf, &f->store, err, errlen);
	if (ret != ERR_OK)
		return ret;
	ret = model_open(f->store, &f->model, err, errlen);
	if (ret != ERR_OK)
		return ret;
	f->load_rev = store_revision(f->store);
	f->model->name_servers = json_incref(f->conf->name_servers);
	ret = model_set_dnssec(f->model, &f->conf->dnssec);
	if (ret != ERR_OK)
		return ret;
	f->txn = model_txn_new(f->model);
	if (f->txn == NULL)
		return ERR_NOMEM;
	ret = model_import(f->model, f->conf, reimport, f->txn, warn, err, errlen);
	if (ret == ERR_OK)
		ret = model_txn_apply(f->txn);
	if (ret == ERR_OK)
		ret = model_sources_make(f->model, &f->src);
	if (ret == ERR_OK)
		sources_where(&f->src, f->conf);
	if (ret == ERR_NOMEM)
		snprintf(err, errlen, "%s: out of memory", config_path);
	if (ret != ERR_OK)
		return ret;
	f->cache = r53_cache_new();
	return daemon_build(f->conf, &f->src, hc, NULL, NULL, f->cache, NULL, &f->loaded, err,
			    errlen);
}

/* --check: the health-check module's warnings and errors only (it narrates "added"). */
static void hc_log_quiet(int level, const char *msg)
{
	if (level <= LOG_WARNING)
		log_msg(level, "%s", msg);
}

static void check_warn(const char *msg)
{
	fprintf(stderr, "r53d: warning: %s\n", msg);
}

int daemon_check(const char *config_path, FILE *out, FILE *errout)
{
	char err[DAEMON_ERRLEN] = "";
	hc_system_t *hc = NULL;
	first_load_t f;

	hc_set_logger(hc_log_quiet);
	int ret = first_load(config_path, NULL, &hc, &f, check_warn, err, sizeof(err));
	if (ret != ERR_OK) {
		fprintf(errout, "r53d: %s\n", err[0] ? err : err_str(ret));
		first_load_free(&f);
		hc_system_free(hc);
		return DAEMON_EXIT_CONFIG;
	}
	daemon_loaded_t l = f.loaded;
	size_t n = zdb_zone_count(l.db), names = 0, rrsets = 0, records = 0;
	size_t by_policy[9] = { 0 };
	for (size_t i = 0; i < n; i++) {
		zdb_zone_info_t zi;
		zdb_zone_info(l.db, i, &zi);
		fprintf(out,
			"zone %s  id %s  %s  %zu names, %zu RRsets, %zu records, SOA serial %" PRIu32
			"\n",
			zi.name, zi.id && zi.id[0] ? zi.id : "-", zi.private_zone ? "private" : "public",
			zi.n_names, zi.n_rrsets, zi.n_records, zi.serial);
		names += zi.n_names;
		rrsets += zi.n_rrsets;
		records += zi.n_records;
		for (size_t p = 0; p < 9; p++)
			by_policy[p] += zi.by_policy[p];
	}
	fprintf(out, "total: %zu zone%s, %zu names, %zu RRsets, %zu records\n", n,
		n == 1 ? "" : "s", names, rrsets, records);
	bool any = false;
	for (int p = POL_SIMPLE; p <= POL_CIDR; p++) {
		if (by_policy[p] == 0)
			continue;
		fprintf(out, "%s %s %zu", any ? "," : "record sets by policy:", zdb_policy_name(p),
			by_policy[p]);
		any = true;
	}
	if (any)
		fputc('\n', out);
	fprintf(out, "health checks: %zu\n", hc_check_count(hc));
	if (l.geo != NULL)
		fprintf(out, "geo: %zu database file%s\n", geo_db_file_count(l.geo),
			geo_db_file_count(l.geo) == 1 ? "" : "s");
	if (l.latency != NULL)
		fprintf(out, "geo.latency: %zu rules\n", geo_latency_rule_count(l.latency));
	fprintf(out, "store: %s\n", store_describe(f.store));
	fprintf(out, "%s: configuration OK\n", config_path);
	first_load_free(&f);
	hc_system_free(hc);
	return DAEMON_EXIT_OK;
}

int daemon_export(const char *config_path, const char *dir, FILE *errout)
{
	char err[DAEMON_ERRLEN] = "";
	hc_system_t *hc = NULL;
	first_load_t f;

	hc_set_logger(hc_log_quiet);
	int ret = first_load(config_path, NULL, &hc, &f, check_warn, err, sizeof(err));
	if (ret == ERR_OK)
		ret = model_export(f.model, dir, err, sizeof(err));
	if (ret != ERR_OK)
		fprintf(errout, "r53d: %s\n", err[0] ? err : err_str(ret));
	first_load_free(&f);
	hc_system_free(hc);
	return ret == ERR_OK ? DAEMON_EXIT_OK : DAEMON_EXIT_CONFIG;
}

int daemon_reimport(const char *config_path, const char *id, FILE *out, FILE *errout)
{
	char err[DAEMON_ERRLEN] = "";
	hc_system_t *hc = NULL;
	first_load_t f;
	char bare[256];

	snprintf(bare, sizeof(bare), "%s",
		 strncmp(id, "/hostedzone/", 12) == 0 ? id + 12 : id);
	hc_set_logger(hc_log_quiet);
	int ret = first_load(config_path, bare, &hc, &f, check_warn, err, sizeof(err));
	if (ret == ERR_OK && f.conf->store_path == NULL) {
		snprintf(err, sizeof(err), "%s: --reimport needs a store (store.path)", config_path);
		ret = ERR_INVAL;
	}
	if (ret == ERR_OK && model_txn_commit(f.txn, NULL) != ERR_OK) {
		snprintf(err, sizeof(err), "store %s: commit failed", store_describe(f.store));
		ret = ERR_IO;
	}
	if (ret != ERR_OK)
		fprintf(errout, "r53d: %s\n", err[0] ? err : err_str(ret));
	else
		fprintf(out, "%s: replaced from %s (restart r53d to serve it)\n", bare, config_path);
	first_load_free(&f);
	hc_system_free(hc);
	return ret == ERR_OK ? DAEMON_EXIT_OK : DAEMON_EXIT_CONFIG;
}

/* ---- reloads ------------------------------------------------------------------------------ */

static void *loader_main(void *arg)
{
	daemon_t *d = arg;
	pthread_setname_np(pthread_self(), "r53d-loader");
	d->loader_err[0] = '\0';
	const conf_t *c = d->build_conf ? d->build_conf : d->conf;
	d->loader_ret = daemon_build(c, &d->build_src, &d->hc, d->conf, d->served_checks,
				     d->set_cache, d->build_prev, &d->loaded, d->loader_err,
				     sizeof(d->loader_err));
	uint64_t one = 1;
	ssize_t n = write(d->loaded_fd, &one, sizeof(one));
	(void)n;
	return NULL;
}

/* Call and free a list of waiters. */
static void notify(reload_waiter_t *list, int ret, const char *msg)
{
	while (list != NULL) {
		reload_waiter_t *w = list;
		list = w->next;
		if (w->cb != NULL)
			w->cb(w->arg, ret, msg);
		free(w);
	}
}

static bool str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static void work_next(daemon_t *d);

/* Start the loader thread on d->build_src; on failure report it like a failed build. */
static int loader_spawn(daemon_t *d, char *err, size_t errlen)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&d->loader, NULL, loader_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start loader thread: %s", strerror(rc));
		return ERR_SYS;
	}
	d->loading = true;
	return ERR_OK;
}

/* Finish an API transaction job: its callback, then free it. */
static void job_finish(txn_job_t *j, int ret, const char *msg)
{
	if (j->cb != NULL)
		j->cb(j->arg, ret, msg);
	model_txn_free(j->t);
	free(j);
}

/* Start a reload for the queued requests: the configuration is read here, its new
 * resources imported into the model, and the snapshot built on the loader thread. */
static void reload_start(daemon_t *d)
{
	char err[DAEMON_ERRLEN] = "", msg[DAEMON_ERRLEN + 64];
	conf_t *n = NULL;
	model_txn_t *t = NULL;

	d->waiting = d->queued;
	d->queued = NULL;
	d->again = false;
	clock_gettime(CLOCK_MONOTONIC, &d->load_start);
	int ret = conf_load(d->config_path, &n, err, sizeof(err));
	if (ret == ERR_OK && str_differs(n->store_path, d->conf->store_path))
		log_msg(LOG_WARNING, "reload: store changed; restart r53d to apply it");
	if (ret == ERR_OK) {
		t = model_txn_new(d->model);
		ret = t ? model_import(d->model, n, NULL, t, import_warn, err, sizeof(err))
			: ERR_NOMEM;
	}
	if (ret == ERR_OK)
		ret = model_txn_apply(t);
	if (ret == ERR_OK) {
		json_decref(d->model->name_servers);
		d->model->name_servers = json_incref(n->name_servers);
		ret = model_set_dnssec(d->model, &n->dnssec);
		if (ret == ERR_OK)
			ret = model_sources_make(d->model, &d->build_src);
		if (ret != ERR_OK)
			model_txn_rollback(t);
		else
			sources_where(&d->build_src, n);
	}
	if (ret == ERR_OK) {
		d->build_conf = n;
		d->build_txn = t;
		/* zones whose files and record sets did not change are shared (zdb_build) */
		d->build_prev = snap_current(d->snaps)->db;
		d->job = NULL;
		ret = loader_spawn(d, err, sizeof(err));
		if (ret == ERR_OK)
			return;
		d->build_conf = NULL;
		d->build_txn = NULL;
		model_sources_free(&d->build_src);
		model_txn_rollback(t);
	}
	if (ret == ERR_NOMEM && err[0] == '\0')
		snprintf(err, sizeof(err), "out of memory");
	if (model_set_dnssec(d->model, &d->conf->dnssec) != ERR_OK) /* the old keys again */
		log_msg(LOG_ERR, "reload: out of memory restoring the dnssec keys");
	d->reloads_failed++;
	snprintf(msg, sizeof(msg), "reload failed, still serving generation %" PRIu64 ": %s",
		 d->generation, err[0] ? err : err_str(ret));
	log_msg(LOG_ERR, "%s", msg);
	model_txn_free(t);
	conf_free(n);
	reload_waiter_t *w = d->waiting;
	d->waiting = NULL;
	notify(w, ret, msg);
}

/* Record the epoch from which the changes of t are served (GetChange INSYNC). */
static void note_changes(daemon_t *d, const model_txn_t *t, uint64_t epoch)
{
	for (size_t i = 0; i < model_txn_size(t); i++) {
		const char *k = model_txn_key(t, i);
		if (strncmp(k, "/changes/", 9) == 0)
			json_object_set_new(d->model->change_gen, k + 9, json_integer((json_int_t)epoch));
	}
}

/*
 * Zones a transaction does not touch are shared with the snapshot being served (a change
 * compiles only its zone), unless it changes health checks or CIDR collections, which
 * compiled zones refer to.
 */
static void mark_unchanged(model_sources_t *s, const model_txn_t *t)
{
	for (size_t i = 0; i < model_txn_size(t); i++) {
		const char *k = model_txn_key(t, i);
		if (strncmp(k, "/cidrcollections/", 17) == 0 ||
		    (strncmp(k, "/healthchecks/", 14) == 0 && strchr(k + 14, '/') == NULL))
			return;
	}
	for (size_t z = 0; z < s->n_src; z++) {
		const char *id = s->src[z].id;
		const char *bare = strncmp(id, "/hostedzone/", 12) == 0 ? id + 12 : id;
		size_t bl = strlen(bare);
		bool touched = false;
		for (size_t i = 0; i < model_txn_size(t) && !touched; i++) {
			const char *k = model_txn_key(t, i);
			touched = strncmp(k, "/zones/", 7) == 0 && strncmp(k + 7, bare, bl) == 0 &&
				  (k[7 + bl] == '\0' || k[7 + bl] == '/');
		}
		s->src[z].unchanged = !touched;
	}
}

/* ---- fleets (store.etcd; fleet.h) ---------------------------------------------------------- */

/* How long an acknowledged API change waits for the watch to bring it back before it is
 * answered anyway (it is committed: Route 53 answers PENDING), and how long API requests
 * wait for a revision a lost race showed. */
#define DAEMON_FLEET_JOB_MS 5000
#define DAEMON_FLEET_WAIT_MS 3000

static void fleet_kick(void *arg)
{
	work_next(arg);
}

static void on_fleet_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	work_next(arg);
}

static void fleet_arm(daemon_t *d, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, &d->fleet_until);
	d->fleet_until.tv_sec += (time_t)(ms / 1000);
	d->fleet_until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (d->fleet_until.tv_nsec >= 1000000000L) {
		d->fleet_until.tv_sec++;
		d->fleet_until.tv_nsec -= 1000000000L;
	}
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	event_add(d->ev_fleet, &tv);
}

/* The waits that have ended: the API change applied here, the revision reached. */
static void fleet_check(daemon_t *d)
{
	if (d->fleet == NULL)
		return;
	uint64_t applied = fleet_applied_rev(d->fleet);
	bool late = ms_since(&d->fleet_until) >= 0;
	if (d->fleet_job != NULL && (applied >= d->fleet_job_rev || late)) {
		txn_job_t *j = d->fleet_job;
		d->fleet_job = NULL;
		if (applied < d->fleet_job_rev)
			log_msg(LOG_WARNING, "fleet: change at revision %" PRIu64 " committed but not "
					     "delivered back yet (applied %" PRIu64 "); answered",
				d->fleet_job_rev, applied);
		else
			log_msg(LOG_INFO, "change committed at revision %" PRIu64 " and applied, %.1f ms",
				d->fleet_job_rev, ms_since(&d->load_start));
		job_finish(j, ERR_OK, NULL);
	}
	if (d->fleet_wait != 0 && (applied >= d->fleet_wait || late))
		d->fleet_wait = 0;
	if (d->fleet_job == NULL && d->fleet_wait == 0)
		event_del(d->ev_fleet);
}

/* Commit an API change (validated, not applied) to etcd; it is answered once applied. */
static void fleet_job_commit(daemon_t *d, txn_job_t *j)
{
	uint64_t rev = 0, wait = 0;
	int ret = fleet_commit(d->fleet, d->model, j->t, &rev, &wait);
	if (ret == ERR_OK) {
		d->fleet_job = j;
		d->fleet_job_rev = rev;
		fleet_arm(d, DAEMON_FLEET_JOB_MS);
		fleet_check(d);
		return;
	}
	const char *msg = "the change could not be stored";
	if (ret == ERR_CONFLICT) {
		d->fleet_wait = wait;
		fleet_arm(d, DAEMON_FLEET_WAIT_MS);
		msg = "another change to the same resource was made at the same time; try again";
	} else if (ret == ERR_IO) {
		msg = "etcd is unavailable (no endpoint answered, or the cluster has no quorum): the change was not made";
	} else if (ret == ERR_LIMIT) {
		msg = "the change is too large for one etcd transaction (--max-txn-ops, --max-request-bytes)";
	}
	log_msg(ret == ERR_CONFLICT ? LOG_INFO : LOG_WARNING, "fleet: commit: %s (%s)", msg,
		err_str(ret));
	job_finish(j, ret, msg);
}

/* Build a snapshot for what the watch delivered up to rev: every zone (t NULL, a resync) or
 * the zones t touched. ERR_OK: the loader runs (on failure nothing is held). */
static int start_feed_build(daemon_t *d, model_txn_t *t, uint64_t rev, char *err, size_t errlen)
{
	int ret = model_sources_make(d->model, &d->build_src);
	if (ret != ERR_OK)
		return ret;
	sources_where(&d->build_src, d->conf);
	if (t != NULL)
		mark_unchanged(&d->build_src, t);
	d->build_prev = snap_current(d->snaps)->db;
	d->build_conf = NULL;
	d->build_txn = t;
	d->job = NULL;
	d->build_feed = true;
	d->feed_rev = rev;
	ret = loader_spawn(d, err, errlen);
	if (ret == ERR_OK)
		return ERR_OK;
	d->build_feed = false;
	d->build_txn = NULL;
	model_sources_free(&d->build_src);
	return ret;
}

/* Reload everything from etcd into the model (after compaction lost the feed's place), then
 * build every zone. */
static void fleet_resync(daemon_t *d)
{
	char err[DAEMON_ERRLEN] = "";
	model_t *m2 = NULL;
	clock_gettime(CLOCK_MONOTONIC, &d->load_start);
	int ret = model_open(d->store, &m2, err, sizeof(err));
	if (ret != ERR_OK) {
		log_msg(LOG_ERR, "fleet: resync: %s; trying again", err[0] ? err : err_str(ret));
		fleet_arm(d, 1000);
		d->fleet_wait = UINT64_MAX; /* hold API requests; the timer retries */
		return;
	}
	uint64_t rev = store_revision(d->store);
	/* the model's contents change, not the model (the API holds it) */
	model_t *m = d->model;
#define SWAP(f)                                                                                    \
	do {                                                                                       \
		__typeof__(m->f) x_ = m->f;                                                        \
		m->f = m2->f;                                                                      \
		m2->f = x_;                                                                        \
	} while (0)
	SWAP(zones);
	SWAP(n_zones);
	SWAP(cap_zones);
	SWAP(hcs);
	SWAP(hc_tags);
	SWAP(colls);
	SWAP(changes);
	SWAP(refs);
	SWAP(imports);
	SWAP(hc_state);
#undef SWAP
	model_free(m2);
	d->fleet_wait = 0;
	ret = fleet_resync_done(d->fleet, rev);
	if (ret != ERR_OK)
		log_msg(LOG_ERR, "fleet: resync: cannot restart the feed: %s", err_str(ret));
	log_msg(LOG_NOTICE, "fleet: reloaded everything at revision %" PRIu64, rev);
	ret = start_feed_build(d, NULL, rev, err, sizeof(err));
	if (ret == ERR_OK)
		return;
	log_msg(LOG_ERR, "fleet: resync: cannot build: %s", err[0] ? err : err_str(ret));
	fleet_applied(d->fleet, rev, true);
}

/* Apply the revisions the watch delivered: to the model, then one snapshot for them all
 * (only the zones they touch are compiled). */
static void fleet_apply_start(daemon_t *d)
{
	char err[DAEMON_ERRLEN] = "";
	if (fleet_resync_needed(d->fleet)) {
		fleet_resync(d);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &d->load_start);
	uint64_t rev = 0;
	model_txn_t *t = model_txn_new(d->model);
	int ret = t != NULL ? fleet_take(d->fleet, d->model, t, &rev) : ERR_NOMEM;
	if (ret == ERR_OK)
		ret = model_txn_apply(t);
	if (ret != ERR_OK) {
		log_msg(LOG_ERR, "fleet: cannot apply revision %" PRIu64 ": %s", rev, err_str(ret));
		model_txn_free(t);
		fleet_applied(d->fleet, rev, false);
		return;
	}
	if (!model_txn_needs_build(t)) {
		model_txn_free(t);
		fleet_applied(d->fleet, rev, true);
		return;
	}
	ret = start_feed_build(d, t, rev, err, sizeof(err));
	if (ret == ERR_OK)
		return;
	log_msg(LOG_ERR, "fleet: revision %" PRIu64 " is in the model but not served: %s", rev,
		err[0] ? err : err_str(ret));
	model_txn_free(t);
	fleet_applied(d->fleet, rev, true);
}

/* A fleet build has finished (on_loaded): t and job as taken from the daemon. */
static void fleet_loaded(daemon_t *d, model_txn_t *t, txn_job_t *job, int ret)
{
	if (d->build_check) {
		/* An API change validated: nothing of it is served until the watch brings it. */
		d->build_check = false;
		if (ret == ERR_OK) {
			daemon_loaded_free(&d->loaded);
			char e2[512];
			if (hc_system_reload(d->hc, d->conf->health, d->conf->path, d->served_checks,
					     "health checks", e2, sizeof(e2)) != HC_OK)
				log_msg(LOG_ERR, "cannot restore the health checks: %s", e2);
		}
		model_txn_rollback(t);
		model_sources_free(&d->build_src);
		if (ret == ERR_OK)
			fleet_job_commit(d, job);
		else
			job_finish(job, ret, d->loader_err);
		work_next(d);
		return;
	}
	d->build_feed = false;
	if (ret == ERR_OK) {
		daemon_loaded_t *l = &d->loaded;
		snap_t *s = snap_new(l->db, l->geo, l->latency, d->generation + 1);
		l->db = NULL;
		l->geo = NULL;
		l->latency = NULL;
		daemon_loaded_free(l);
		if (s == NULL) {
			ret = ERR_NOMEM;
		} else {
			snap_t *prev = snap_current(d->snaps);
			snap_publish(d->snaps, s);
			hc_tables_release(d->hc);
			snap_defer(prev, d->hc_retired);
			d->hc_retired = NULL;
			d->generation++;
			json_decref(d->served_checks);
			d->served_checks = json_incref(d->build_src.checks);
			static const struct timeval tv = { 0, (suseconds_t)DAEMON_RECLAIM_MS * 1000 };
			event_add(d->ev_reclaim, &tv);
			const zdb_t *db = snap_current(d->snaps)->db;
			log_msg(LOG_INFO,
				"fleet: revision %" PRIu64 " applied: generation %" PRIu64
				", %.1f ms, %zu of %zu zones compiled",
				d->feed_rev, d->generation, ms_since(&d->load_start),
				zdb_zone_count(db) - zdb_shared_count(db), zdb_zone_count(db));
		}
	}
	if (ret != ERR_OK)
		log_msg(LOG_ERR, "fleet: revision %" PRIu64 " is in the model but not served: %s",
			d->feed_rev, d->loader_err[0] ? d->loader_err : err_str(ret));
	model_sources_free(&d->build_src);
	model_txn_free(t);
	fleet_applied(d->fleet, d->feed_rev, true);
	work_next(d);
}

/* Start the next API transaction. */
static void txn_start(daemon_t *d)
{
	char err[DAEMON_ERRLEN] = "";
	txn_job_t *j = d->jobs;
	d->jobs = j->next;
	if (d->jobs == NULL)
		d->jobs_tail = NULL;
	clock_gettime(CLOCK_MONOTONIC, &d->load_start);
	if (d->fleet != NULL && !model_txn_needs_build(j->t)) {
		fleet_job_commit(d, j); /* nothing to validate by a build */
		return;
	}
	int ret = model_txn_apply(j->t);
	if (ret != ERR_OK) {
		job_finish(j, ret, "out of memory");
		return;
	}
	if (!model_txn_needs_build(j->t)) {
		if (model_txn_commit(j->t, NULL) != ERR_OK) {
			model_txn_rollback(j->t);
			job_finish(j, ERR_IO, "the store could not commit the change");
			return;
		}
		note_changes(d, j->t, 0);
		job_finish(j, ERR_OK, NULL);
		return;
	}
	ret = model_sources_make(d->model, &d->build_src);
	log_msg(LOG_DEBUG, "change: apply and sources %.1f ms", ms_since(&d->load_start));
	if (ret == ERR_OK) {
		sources_where(&d->build_src, d->conf);
		mark_unchanged(&d->build_src, j->t);
		d->build_prev = snap_current(d->snaps)->db;
		d->build_conf = NULL;
		d->build_txn = j->t;
		d->job = j;
		d->build_check = d->fleet != NULL; /* a fleet validates, then commits to etcd */
		ret = loader_spawn(d, err, sizeof(err));
		if (ret == ERR_OK)
			return;
		d->build_check = false;
		d->build_txn = NULL;
		d->job = NULL;
		model_sources_free(&d->build_src);
	}
	model_txn_rollback(j->t);
	job_finish(j, ret, err[0] ? err : "out of memory");
}

/* Run what waits: reloads first, then API transactions, then waiting API requests. */
static void work_next(daemon_t *d)
{
	if (d->in_work)
		return;
	d->in_work = true;
	while (!d->loading && !d->stopping) {
		if (d->queued != NULL || d->again) {
			reload_start(d);
			continue;
		}
		fleet_check(d);
		if (fleet_pending(d->fleet) && d->fleet_wait != UINT64_MAX) {
			fleet_apply_start(d);
			continue;
		}
		if (d->fleet_job != NULL)
			break; /* the change is answered when the watch brings it back */
		if (d->jobs != NULL) {
			txn_start(d);
			continue;
		}
		api_kick(d->api);
		if (d->jobs == NULL && d->queued == NULL && !d->again)
			break;
	}
	d->in_work = false;
}

int daemon_submit(daemon_t *d, model_txn_t *t, daemon_txn_cb cb, void *arg)
{
	txn_job_t *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		model_txn_free(t);
		return ERR_NOMEM;
	}
	j->t = t;
	j->cb = cb;
	j->arg = arg;
	if (d->jobs_tail != NULL)
		d->jobs_tail->next = j;
	else
		d->jobs = j;
	d->jobs_tail = j;
	work_next(d);
	return ERR_OK;
}

bool daemon_busy(const daemon_t *d)
{
	return d->loading || d->jobs != NULL || d->queued != NULL || d->again ||
	       (d->fleet != NULL && (fleet_pending(d->fleet) || d->fleet_job != NULL ||
				     d->fleet_wait > fleet_applied_rev(d->fleet)));
}

bool daemon_gen_synced(const daemon_t *d, uint64_t epoch)
{
	if (d->fleet != NULL) /* epoch: the change's etcd revision (fleet_take) */
		return epoch == 0 || fleet_insync(d->fleet, epoch);
	return epoch == 0 || snap_reached(d->snaps, epoch);
}

const conf_t *daemon_conf(const daemon_t *d)
{
	return d->conf;
}

/* Log the settings a reload cannot apply to running sockets and threads. */
static void note_restart_needed(const daemon_t *d, const conf_t *n)
{
	const conf_t *o = d->conf;
	bool listen = n->n_listen != d->n_listen;
	for (size_t i = 0; !listen && i < n->n_listen; i++)
		listen = strcmp(n->listen[i].text, o->listen[i].text) != 0;
	if (listen)
		log_msg(LOG_WARNING, "reload: listen addresses changed; restart r53d to apply them");
	if (n->workers != d->n_workers)
		log_msg(LOG_WARNING, "reload: workers changed (%u -> %u); restart r53d to apply",
			d->n_workers, n->workers);
	if (n->tcp_idle_ms != o->tcp_idle_ms || n->tcp_max_conns != o->tcp_max_conns ||
	    n->tcp_max_queries != o->tcp_max_queries)
		log_msg(LOG_WARNING, "reload: tcp settings changed; restart r53d to apply them");
	if (str_differs(n->admin_listen, o->admin_listen))
		log_msg(LOG_WARNING, "reload: admin.listen changed; restart r53d to apply it");
}

/*
 * The running settings must stay those of start-up: the new configuration keeps the old
 * values of what was not applied, so that the next comparison is again against the truth.
 */
static void keep_fixed_settings(conf_t *n, conf_t *o)
{
	conf_listen_t *l = n->listen;
	size_t nl = n->n_listen;
	n->listen = o->listen;
	n->n_listen = o->n_listen;
	o->listen = l;
	o->n_listen = nl;
	n->workers = o->workers;
	n->tcp_idle_ms = o->tcp_idle_ms;
	n->tcp_max_conns = o->tcp_max_conns;
	n->tcp_max_queries = o->tcp_max_queries;
	/* the workers' caches are made at start */
	if (n->answer_cache != o->answer_cache || n->answer_cache_size != o->answer_cache_size ||
	    n->dnssec.signature_cache != o->dnssec.signature_cache)
		log_msg(LOG_WARNING, "reload: answer_cache, answer_cache_size and "
				     "dnssec.signature_cache apply at start; restart r53d to change them");
	n->answer_cache = o->answer_cache;
	n->answer_cache_size = o->answer_cache_size;
	n->dnssec.signature_cache = o->dnssec.signature_cache;
	char *a = n->admin_listen;
	n->admin_listen = o->admin_listen;
	o->admin_listen = a;
}

/* Open the query log named by the configuration; "-" is stderr. */
static int qlog_open(const char *path, int *fd, char *err, size_t errlen)
{
	if (strcmp(path, "-") == 0) {
		*fd = STDERR_FILENO;
		return ERR_OK;
	}
	int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (f < 0) {
		snprintf(err, errlen, "query_log %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	*fd = f;
	return ERR_OK;
}

/*
 * Apply query_log, query_log_format and server_id on reload. The logger switches to the new
 * file (a new name; SIGHUP itself already reopened the old name for logrotate) and format
 * for the lines it has not written yet. Switching the log on or off changes what the workers
 * were started with: that needs a restart, and n keeps the running value.
 */
static void qlog_reload(daemon_t *d, conf_t *n)
{
	char err[512];
	const char *o = d->conf->query_log, *p = n->query_log;
	bool applied = true;
	if ((o == NULL) != (p == NULL)) {
		log_msg(LOG_WARNING, "reload: query_log turned on or off; restart r53d to apply it");
		applied = false;
	} else if (p != NULL && qlog_set_format(d->qlog, n->query_log_format, n->server_id) !=
					ERR_OK) {
		log_msg(LOG_ERR, "reload: query_log_format: out of memory; the format stays");
	}
	if (applied && p != NULL && strcmp(o, p) != 0) {
		int f = -1;
		if (qlog_open(p, &f, err, sizeof(err)) != ERR_OK) {
			log_msg(LOG_ERR, "reload: %s; the query log stays %s", err, o);
			applied = false;
		} else {
			qlog_reopen(d->qlog, f);
		}
	}
	if (!applied) {
		char *keep = d->conf->query_log;
		d->conf->query_log = n->query_log;
		n->query_log = keep;
	}
}

/* Reopen the query log under its name, for logrotate (SIGHUP, SIGUSR1). */
static void qlog_rotate(daemon_t *d, const char *why)
{
	char err[512];
	const char *path = d->conf->query_log;
	int f = -1;
	if (d->qlog == NULL || strcmp(path, "-") == 0)
		return;
	if (qlog_open(path, &f, err, sizeof(err)) != ERR_OK) {
		log_msg(LOG_ERR, "%s: %s; the query log stays the file open before", why, err);
		return;
	}
	qlog_reopen(d->qlog, f);
	log_msg(LOG_INFO, "%s: query log %s reopened", why, path);
}

/*
 * Apply rrl on reload: changed settings get fresh tables, published before the new
 * snapshot; the old tables go with the snapshot being served, after its grace period.
 */
static void rrl_reload(daemon_t *d, const conf_t *n)
{
	snap_defer_t *old = NULL;
	bool was_on = rrl_on(d->rrl);
	if (rrl_configure(d->rrl, &n->rrl, &old) != ERR_OK)
		log_msg(LOG_ERR, "reload: rrl: out of memory; the old rate limits stay");
	else if (old != NULL || was_on != rrl_on(d->rrl))
		log_msg(LOG_NOTICE, "reload: rrl %s (%u responses per second)",
			rrl_on(d->rrl) ? "applied" : "off", n->rrl.responses_per_second);
	snap_defer(snap_current(d->snaps), old);
}

static void on_loaded(evutil_socket_t fd, short what, void *arg)
{
	daemon_t *d = arg;
	char msg[DAEMON_ERRLEN + 64];
	uint64_t v;
	(void)what;

	ssize_t n = read(fd, &v, sizeof(v));
	(void)n;
	if (!d->loading)
		return;
	pthread_join(d->loader, NULL);
	d->loading = false;

	/* Health tables replaced during the load may still be read through the snapshot being
	 * served: they go when it goes. */
	snap_defer(snap_current(d->snaps), d->hc_retired);
	d->hc_retired = NULL;

	model_txn_t *t = d->build_txn;
	conf_t *nconf = d->build_conf;
	txn_job_t *job = d->job;
	d->build_txn = NULL;
	d->build_conf = NULL;
	d->job = NULL;
	int ret = d->loader_ret;
	if (d->build_feed || d->build_check) {
		fleet_loaded(d, t, job, ret);
		return;
	}
	if (ret == ERR_OK && t != NULL && model_txn_commit(t, NULL) != ERR_OK) {
		/* Not durable: nothing of it may be served. */
		ret = ERR_IO;
		snprintf(d->loader_err, sizeof(d->loader_err), "store %s: the commit failed",
			 store_describe(d->store));
		daemon_loaded_free(&d->loaded);
		char e2[512];
		if (hc_system_reload(d->hc, d->conf->health, d->conf->path, d->served_checks,
				     "health checks", e2, sizeof(e2)) != HC_OK)
			log_msg(LOG_ERR, "cannot restore the health checks: %s", e2);
	}
	if (ret != ERR_OK && t != NULL)
		model_txn_rollback(t);
	if (ret == ERR_OK) {
		daemon_loaded_t *l = &d->loaded;
		if (nconf != NULL) {
			note_restart_needed(d, nconf);
			qlog_reload(d, nconf);
			rrl_reload(d, nconf);
		}
		snap_t *s = snap_new(l->db, l->geo, l->latency, d->generation + 1);
		l->db = NULL;
		l->geo = NULL;
		l->latency = NULL;
		daemon_loaded_free(l);
		if (s == NULL) {
			ret = ERR_NOMEM;
			snprintf(d->loader_err, sizeof(d->loader_err), "out of memory");
		} else {
			snap_t *prev = snap_current(d->snaps);
			snap_publish(d->snaps, s);
			/* health tables replaced by this load were kept up to date for prev's
			 * readers (hc_tables_release): they go when prev goes */
			hc_tables_release(d->hc);
			snap_defer(prev, d->hc_retired);
			d->hc_retired = NULL;
			d->generation++;
			if (nconf != NULL) {
				keep_fixed_settings(nconf, d->conf);
				conf_free(d->conf);
				d->conf = nconf;
				nconf = NULL;
			}
			json_decref(d->served_checks);
			d->served_checks = json_incref(d->build_src.checks);
			if (t != NULL)
				note_changes(d, t, snap_epoch(d->snaps));
			static const struct timeval tv = { 0, (suseconds_t)DAEMON_RECLAIM_MS * 1000 };
			event_add(d->ev_reclaim, &tv);
		}
	}
	model_sources_free(&d->build_src);
	conf_free(nconf);
	if (job != NULL) {
		if (ret == ERR_OK) {
			const zdb_t *db = snap_current(d->snaps)->db;
			log_msg(LOG_INFO,
				"change applied: generation %" PRIu64 ", %.1f ms, %zu of %zu zones compiled",
				d->generation, ms_since(&d->load_start),
				zdb_zone_count(db) - zdb_shared_count(db), zdb_zone_count(db));
		}
		job_finish(job, ret, ret == ERR_OK ? NULL : d->loader_err);
		work_next(d);
		return;
	}
	model_txn_free(t);
	if (ret == ERR_OK) {
		d->reloads_ok++;
		snprintf(msg, sizeof(msg), "reloaded %s: generation %" PRIu64 ", %zu zones, %.1f ms",
			 d->config_path, d->generation, zdb_zone_count(snap_current(d->snaps)->db),
			 ms_since(&d->load_start));
		log_msg(LOG_NOTICE, "%s", msg);
	} else {
		d->reloads_failed++;
		if (model_set_dnssec(d->model, &d->conf->dnssec) != ERR_OK) /* the old keys again */
			log_msg(LOG_ERR, "reload: out of memory restoring the dnssec keys");
		snprintf(msg, sizeof(msg), "reload failed, still serving generation %" PRIu64 ": %s",
			 d->generation, d->loader_err[0] ? d->loader_err : err_str(ret));
		log_msg(LOG_ERR, "%s", msg);
	}
	reload_waiter_t *w = d->waiting;
	d->waiting = NULL;
	notify(w, ret, msg);
	work_next(d);
}

int daemon_reload(daemon_t *d, daemon_reload_cb cb, void *arg)
{
	if (cb != NULL) {
		reload_waiter_t *w = calloc(1, sizeof(*w));
		if (w == NULL)
			return ERR_NOMEM;
		w->cb = cb;
		w->arg = arg;
		w->next = d->queued;
		d->queued = w;
	} else {
		d->again = true;
	}
	if (d->loading)
		log_msg(LOG_INFO, "reload: one is running; another will follow it");
	work_next(d);
	return ERR_OK;
}

static void on_reclaim(evutil_socket_t fd, short what, void *arg)
{
	daemon_t *d = arg;
	(void)fd;
	(void)what;
	if (snap_reclaim(d->snaps) == 0) {
		event_del(d->ev_reclaim);
		log_msg(LOG_DEBUG, "snapshots: old generations freed after their grace period");
	}
}

/* ---- checker state ------------------------------------------------------------------------ */

/*
 * Write the checker state that changed since the last write to the store, one /hcstate/ID
 * key per check, in one commit (every probe result changes its check's document: with a
 * few hundred checks that is a few hundred small documents a second). Skipped while a
 * transaction or reload is in flight, whose rollback must find the model as it left it,
 * and (unless final) until 1/DAEMON_HCSTATE_SHARE of the control thread's time has passed
 * since the last write began (thousands of checks: a write every few seconds). Nothing is
 * lost by skipping: the counter moves on only after a commit.
 */
static void hcstate_flush(daemon_t *d, bool final)
{
	json_t *st = NULL;
	uint64_t now = 0;
	struct timespec t0;
	if (d->hc == NULL || d->model == NULL || daemon_busy(d))
		return;
	if (!final && ms_since(&d->hc_state_at) < DAEMON_HCSTATE_SHARE * d->hc_state_ms)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (hc_state_export(d->hc, d->hc_state_seen, &st, &now) != HC_OK) {
		log_msg(LOG_ERR, "health: out of memory exporting the checker state");
		return;
	}
	model_txn_t *t = json_object_size(st) > 0 ? model_txn_new(d->model) : NULL;
	int ret = json_object_size(st) == 0 || t != NULL ? ERR_OK : ERR_NOMEM;
	const char *id;
	json_t *doc;
	json_object_foreach(st, id, doc) {
		char key[300];
		if (ret != ERR_OK)
			break;
		snprintf(key, sizeof(key), "/hcstate/%s", id); /* Ids: 1..64 characters, no '/' */
		ret = model_txn_put(t, key, json_incref(doc));
	}
	if (ret == ERR_OK && t != NULL) {
		ret = model_txn_apply(t);
		if (ret == ERR_OK && (ret = model_txn_commit(t, NULL)) != ERR_OK)
			model_txn_rollback(t);
	}
	if (ret == ERR_OK) {
		d->hc_state_seen = now;
		if (d->hc_state_failing)
			log_msg(LOG_NOTICE, "store %s: checker state written again",
				store_describe(d->store));
		d->hc_state_failing = false;
	} else if (!d->hc_state_failing) {
		log_msg(LOG_ERR, "store %s: cannot write the checker state of %zu checks: %s; "
				 "retrying",
			store_describe(d->store), json_object_size(st), err_str(ret));
		d->hc_state_failing = true;
	}
	d->hc_state_at = t0;
	d->hc_state_ms = ms_since(&t0);
	if (json_object_size(st) > 0)
		log_msg(LOG_DEBUG, "health: checker state of %zu checks written in %.1f ms",
			json_object_size(st), d->hc_state_ms);
	model_txn_free(t);
	json_decref(st);
}

static void on_hcstate(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hcstate_flush(arg, false);
}

/* ---- ZSK rollover (RFC 7583 pre-publication) ---------------------------------------------- */

/*
 * Once a second, per signing zone, at most one step, each its own transaction:
 *   - the active ZSK is older than zsk_lifetime - zsk_prepublish and has no successor:
 *     a new ZSK is made "published" (in the DNSKEY RRset, not signing);
 *   - the successor has been published zsk_prepublish seconds: it becomes "active" and
 *     the old one "retired" (still published: signatures by it may be cached);
 *   - a key retired zsk_retire seconds ago is removed.
 * Cheap when nothing is due: a pass over the zones' dnssec documents, no allocation. In a
 * fleet every node runs it; the write is guarded (fleet_commit), so when two nodes take
 * the same step one wins and the other's conflict is dropped (it sees the new state next).
 * The step's log line is written once it is stored: by the node that won, not by the
 * others (a successor they made and lost was never published).
 */
static void roll_done(void *arg, int ret, const char *msg)
{
	daemon_t *d = arg;
	d->dnssec_pending = false;
	if (ret == ERR_OK)
		log_msg(LOG_INFO, "dnssec: %s", d->dnssec_step);
	else if (ret == ERR_CONFLICT)
		log_msg(LOG_DEBUG, "dnssec: rollover step made by another node first (%s)",
			d->dnssec_step);
	else
		log_msg(LOG_WARNING, "dnssec: rollover step not applied (%s): %s", d->dnssec_step,
			msg ? msg : err_str(ret));
	d->dnssec_step[0] = '\0';
}

/* The entry of zsks in state st (the first), or NULL. */
static const json_t *zsk_in(const json_t *zsks, const char *st, size_t *idx)
{
	size_t i;
	json_t *v;
	json_array_foreach(zsks, i, v) {
		const char *s = json_string_value(json_object_get(v, "State"));
		if (s != NULL && strcmp(s, st) == 0) {
			if (idx != NULL)
				*idx = i;
			return v;
		}
	}
	return NULL;
}

static uint64_t zsk_since(const json_t *z)
{
	json_int_t v = json_integer_value(json_object_get(z, "Since"));
	return v > 0 ? (uint64_t)v : 0;
}

static unsigned zsk_tag(const daemon_t *d, const json_t *z)
{
	const dnssec_key_t *k = z ? model_zsk_key(d->model, z) : NULL;
	return k ? dnssec_key_tag(k) : 0;
}

/* The next step due for one zone's document: a new document (owned) or NULL; its log line
 * in d->dnssec_step (roll_done writes it). */
static json_t *roll_step(daemon_t *d, const char *zid, const json_t *doc, uint64_t now)
{
	char *step = d->dnssec_step;
	size_t len = sizeof(d->dnssec_step);
	const conf_dnssec_t *c = &d->conf->dnssec;
	const json_t *zsks = json_object_get(doc, "ZSKs");
	size_t ia = 0, ip = 0, ir = 0;
	const json_t *act = zsk_in(zsks, "active", &ia);
	const json_t *pub = zsk_in(zsks, "published", &ip);
	const json_t *ret = zsk_in(zsks, "retired", &ir);
	if (act == NULL)
		return NULL;
	if (ret != NULL && now >= zsk_since(ret) + c->zsk_retire) {
		snprintf(step, len, "zone %s: retired zone-signing key %u removed", zid,
			 zsk_tag(d, ret));
		json_t *n = json_deep_copy(doc);
		json_array_remove(json_object_get(n, "ZSKs"), ir);
		return n;
	}
	if (pub != NULL) {
		if (now < zsk_since(pub) + c->zsk_prepublish)
			return NULL;
		if (ret != NULL)
			return NULL; /* the previous retiree goes first (zsk_retire) */
		snprintf(step, len, "zone %s: zone-signing key %u active, %u retired", zid,
			 zsk_tag(d, pub), zsk_tag(d, act));
		json_t *n = json_deep_copy(doc);
		json_t *nz = json_object_get(n, "ZSKs");
		json_object_set_new(json_array_get(nz, ip), "State", json_string("active"));
		json_object_set_new(json_array_get(nz, ip), "Since", json_integer((json_int_t)now));
		json_object_set_new(json_array_get(nz, ia), "State", json_string("retired"));
		json_object_set_new(json_array_get(nz, ia), "Since", json_integer((json_int_t)now));
		return n;
	}
	if (now < zsk_since(act) + (c->zsk_lifetime - c->zsk_prepublish))
		return NULL;
	dnssec_key_t *k = NULL;
	char *pem = NULL;
	json_t *n = NULL;
	if (dnssec_key_generate(&k, DNSSEC_FLAGS_ZSK) == ERR_OK &&
	    dnssec_key_to_pem(k, &pem, NULL) == ERR_OK) {
		n = json_deep_copy(doc);
		json_array_append_new(json_object_get(n, "ZSKs"),
				      json_pack("{s:s,s:s,s:I}", "Pem", pem, "State", "published",
						"Since", (json_int_t)now));
		snprintf(step, len, "zone %s: zone-signing key %u published (active: %u)", zid,
			 (unsigned)dnssec_key_tag(k), zsk_tag(d, act));
	} else {
		log_msg(LOG_ERR, "dnssec: zone %s: cannot make a zone-signing key", zid);
	}
	dnssec_pem_free(pem);
	dnssec_key_free(k);
	return n;
}

static void dnssec_roll(daemon_t *d)
{
	if (d->model == NULL || d->dnssec_pending || d->stopping || daemon_busy(d))
		return;
	uint64_t now = (uint64_t)time(NULL);
	model_t *m = d->model;
	for (size_t i = 0; i < m->n_zones; i++) {
		const m_zone_t *z = m->zones[i];
		const json_t *doc = z->doc ? model_zone_dnssec(z) : NULL;
		const char *ss = json_string_value(json_object_get(doc, "ServeSignature"));
		if (ss == NULL || strcmp(ss, "SIGNING") != 0)
			continue;
		json_t *n = roll_step(d, z->id, doc, now);
		if (n == NULL)
			continue;
		char key[300];
		snprintf(key, sizeof(key), "/zones/%s/dnssec", z->id);
		model_txn_t *t = model_txn_new(m);
		if (t == NULL || model_txn_put(t, key, n) != ERR_OK) {
			model_txn_free(t);
			return;
		}
		d->dnssec_pending = true;
		if (daemon_submit(d, t, roll_done, d) != ERR_OK)
			d->dnssec_pending = false;
		return;
	}
}

static void on_dnssec(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dnssec_roll(arg);
}

/* ---- queries from the admin endpoint ------------------------------------------------------ */

model_t *daemon_model(const daemon_t *d)
{
	return d->model;
}

hc_system_t *daemon_health(const daemon_t *d)
{
	return d->hc;
}

const zdb_t *daemon_zdb(const daemon_t *d)
{
	return snap_current(d->snaps)->db;
}

uint64_t daemon_generation(const daemon_t *d)
{
	return d->generation;
}

void daemon_stats(const daemon_t *d, stats_totals_t *t)
{
	memset(t, 0, sizeof(*t));
	stats_sum_workers(t, d->workers, d->n_workers);
	rrl_stats_sum(d->rrl, &t->rrl);
	t->rrl_rate = rrl_rate(d->rrl);
	t->reloads_ok = d->reloads_ok;
	t->reloads_failed = d->reloads_failed;
	t->generation = d->generation;
	t->zones = zdb_zone_count(daemon_zdb(d));
	zdb_build_stats_t bs;
	zdb_build_stats(daemon_zdb(d), &bs);
	t->build_seconds = bs.seconds;
	t->build_bytes = bs.bytes_built;
	t->snapshot_bytes = bs.bytes_total;
	t->zones_compiled = bs.compiled;
	t->zones_shared = bs.shared;
	t->workers = d->n_workers;
	if (d->qlog != NULL) {
		t->qlog_on = true;
		qlog_stats(d->qlog, &t->qlog);
	}
}

/* ---- signals ------------------------------------------------------------------------------ */

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	daemon_t *d = arg;
	(void)what;
	log_msg(LOG_NOTICE, "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(d->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	daemon_t *d = arg;
	(void)sig;
	(void)what;
	log_msg(LOG_NOTICE, "SIGHUP: reloading %s", d->config_path);
	qlog_rotate(d, "SIGHUP");
	if (daemon_reload(d, NULL, NULL) != ERR_OK)
		log_msg(LOG_ERR, "SIGHUP: reload not started: out of memory");
}

static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	qlog_rotate(arg, "SIGUSR1");
}

/* ---- start-up and shutdown ---------------------------------------------------------------- */

/* The health-check module's log sink. */
static void hc_log(int level, const char *msg)
{
	log_msg(level, "%s", msg);
}

static void free_hc_table(void *p)
{
	hc_table_free(p);
}

/*
 * The health-check module retires a replaced table (hc_tables_release, after a publish; or
 * hc_system_reload on the loader when memory is short), so the list is the loader's while
 * it runs and the control thread's otherwise.
 */
static void on_hc_retire(void *ctx, hc_table_t *old)
{
	daemon_t *d = ctx;
	snap_defer_t *x = malloc(sizeof(*x));
	if (x == NULL) {
		/* Never free what a reader may hold: keeping it is the safe failure. */
		log_msg(LOG_ERR, "health: out of memory; a replaced status table is kept");
		return;
	}
	x->fn = free_hc_table;
	x->p = old;
	x->next = d->hc_retired;
	d->hc_retired = x;
}

static uint64_t random_seed(unsigned i)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s) || s == 0) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		s = (uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 32) ^ ((uint64_t)getpid() << 16) ^
		    (i + 1) * 0x9e3779b97f4a7c15ULL;
	}
	return s;
}

static void free_event(struct event **ev)
{
	if (*ev != NULL) {
		event_free(*ev);
		*ev = NULL;
	}
}

/* Everything daemon_run acquired, in reverse order; safe on a partly built daemon. */
static void daemon_free(daemon_t *d)
{
	d->stopping = true;
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_stop(d->workers[i]);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_join(d->workers[i]);
	if (d->loading) {
		pthread_join(d->loader, NULL);
		d->loading = false;
		daemon_loaded_free(&d->loaded);
		if (d->build_txn != NULL)
			model_txn_rollback(d->build_txn);
		if (d->job != NULL)
			job_finish(d->job, ERR_LIMIT, "r53d is shutting down");
		else
			model_txn_free(d->build_txn);
		d->job = NULL;
		d->build_txn = NULL;
		model_sources_free(&d->build_src);
		conf_free(d->build_conf);
		d->build_conf = NULL;
	}
	while (d->jobs != NULL) {
		txn_job_t *j = d->jobs;
		d->jobs = j->next;
		job_finish(j, ERR_LIMIT, "r53d is shutting down");
	}
	if (d->fleet_job != NULL) /* committed: answered as such */
		job_finish(d->fleet_job, ERR_OK, NULL);
	d->fleet_job = NULL;
	/* leave the fleet: the lease is revoked, so INSYNC stops waiting for this node */
	fleet_free(d->fleet);
	d->fleet = NULL;
	if (d->store != NULL && store_is_shared(d->store)) {
		/* its connections and timers live on d->base: close it while the base exists */
		store_close(d->store);
		d->store = NULL;
		if (d->model != NULL)
			d->model->store = NULL;
	}
	api_free(d->api);
	d->api = NULL;
	/* No reader is left: tables retired by an unfinished reload can go now. */
	snap_defer_run(d->hc_retired);
	d->hc_retired = NULL;
	if (d->hc != NULL)
		hc_system_stop(d->hc);
	/* Held admin requests must be answered before the HTTP server goes away. */
	notify(d->waiting, ERR_LIMIT, "shutting down");
	notify(d->queued, ERR_LIMIT, "shutting down");
	d->waiting = d->queued = NULL;
	admin_free(d->admin);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_free(d->workers[i]);
	free(d->workers);
	rrl_free(d->rrl); /* after the workers; replaced sets go with their snapshots */
	d->rrl = NULL;
	qlog_free(d->qlog); /* after the workers: writes what their rings still hold */
	d->qlog = NULL;
	snap_domain_free(d->snaps);
	hc_system_free(d->hc);
	free_event(&d->ev_term);
	free_event(&d->ev_int);
	free_event(&d->ev_hup);
	free_event(&d->ev_usr1);
	free_event(&d->ev_loaded);
	free_event(&d->ev_reclaim);
	free_event(&d->ev_hcstate);
	free_event(&d->ev_dnssec);
	free_event(&d->ev_fleet);
	if (d->loaded_fd >= 0)
		close(d->loaded_fd);
	if (d->base != NULL)
		event_base_free(d->base);
	free(d->listen);
	json_decref(d->served_checks);
	r53_cache_free(d->set_cache);
	model_free(d->model);
	store_close(d->store);
	conf_free(d->conf);
	free(d->config_path);
	free(d);
}

static void log_listening(const daemon_t *d)
{
	char line[1024];
	size_t off = 0;
	for (size_t i = 0; i < d->n_listen && off < sizeof(line); i++) {
		char as[64];
		worker_addr_str((const struct sockaddr *)&d->listen[i].addr, as, sizeof(as));
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", i ? ", " : "", as);
	}
	size_t zones = zdb_zone_count(daemon_zdb(d));
	log_msg(LOG_NOTICE, "listening on %s udp+tcp, %u worker%s, %zu zone%s", line, d->n_workers,
		d->n_workers == 1 ? "" : "s", zones, zones == 1 ? "" : "s");
}

/* Build the daemon up to running workers; on failure log why and return non-zero. */
static int daemon_start(daemon_t *d)
{
	char err[DAEMON_ERRLEN] = "";
	daemon_loaded_t l = { 0 };
	int ret;

	hc_set_logger(hc_log);
	first_load_t f;
	ret = first_load(d->config_path, NULL, &d->hc, &f, import_warn, err, sizeof(err));
	if (ret == ERR_OK && model_txn_size(f.txn) > 0 && model_txn_commit(f.txn, NULL) != ERR_OK) {
		snprintf(err, sizeof(err), "store %s: cannot commit the configuration's import",
			 store_describe(f.store));
		ret = ERR_IO;
	}
	if (ret != ERR_OK) {
		first_load_free(&f);
		goto fail;
	}
	d->conf = f.conf;
	d->store = f.store;
	d->model = f.model;
	uint64_t load_rev = f.load_rev;
	d->served_checks = json_incref(f.src.checks);
	d->set_cache = f.cache;
	f.cache = NULL;
	l = f.loaded;
	f.conf = NULL;
	f.store = NULL;
	f.model = NULL;
	memset(&f.loaded, 0, sizeof(f.loaded));
	first_load_free(&f);
	hc_set_retire(d->hc, on_hc_retire, d);
	/* The checker views, observations and status the last run stored, before the first
	 * probe and the first query (hc.h: hc_state_import). */
	if (hc_state_import(d->hc, d->model->hc_state) != HC_OK)
		log_msg(LOG_WARNING, "health: the stored checker state is not understood; not restored");
	const conf_t *c = d->conf;
	if (c->store_path != NULL || c->store_etcd != NULL)
		log_msg(LOG_NOTICE, "store: %s (revision %" PRIu64 ")", store_describe(d->store),
			store_revision(d->store));
	else
		log_msg(LOG_NOTICE, "store: memory only: changes made through the API are lost when "
				    "r53d stops (set store.path to keep them)");
	if (c->admin_listen != NULL && c->api_credentials == NULL) {
		struct sockaddr_storage ss;
		socklen_t sl;
		bool loop = false;
		if (conf_parse_addr(c->admin_listen, 8053, &ss, &sl) == ERR_OK) {
			if (ss.ss_family == AF_INET)
				loop = (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
			else if (ss.ss_family == AF_INET6)
				loop = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
		}
		if (!loop) {
			snprintf(err, sizeof(err),
				 "%s: admin.listen %s is not a loopback address and api.credentials is not set: the Route 53 API would accept changes from anyone. Set api.credentials (SigV4 is then verified) or listen on 127.0.0.1 / ::1",
				 c->path, c->admin_listen);
			ret = ERR_INVAL;
			goto fail;
		}
	}

	/* Sockets: check every address is free, resolve port 0, then bind per worker. */
	d->listen = calloc(c->n_listen, sizeof(*d->listen));
	if (d->listen == NULL)
		goto nomem;
	memcpy(d->listen, c->listen, c->n_listen * sizeof(*d->listen));
	d->n_listen = c->n_listen;
	for (size_t i = 0; i < d->n_listen; i++) {
		for (size_t j = 0; j < i; j++) {
			const conf_listen_t *a = &d->listen[i], *b = &d->listen[j];
			if (a->addrlen == b->addrlen && memcmp(&a->addr, &b->addr, a->addrlen) == 0 &&
			    worker_addr_port(&a->addr) != 0) {
				snprintf(err, sizeof(err), "%s: listen[%zu]: %s is listen[%zu] again",
					 c->path, i, a->text, j);
				ret = ERR_INVAL;
				goto fail;
			}
		}
		ret = worker_probe_listen(&d->listen[i], err, sizeof(err));
		if (ret != ERR_OK)
			goto fail;
	}

	if (c->query_log != NULL) {
		int qfd = -1;
		ret = qlog_open(c->query_log, &qfd, err, sizeof(err));
		if (ret != ERR_OK)
			goto fail;
		qlog_opts_t qo = { .rings = c->workers, .fd = qfd, .format = c->query_log_format,
				   .server_id = c->server_id };
		ret = qlog_new(&qo, &d->qlog);
		if (ret != ERR_OK && qfd > STDERR_FILENO)
			close(qfd);
		if (ret == ERR_OK)
			ret = qlog_start(d->qlog);
		if (ret != ERR_OK) {
			snprintf(err, sizeof(err), "query_log %s: %s", c->query_log, err_str(ret));
			goto fail;
		}
	}

	ret = snap_domain_new(c->workers, &d->snaps);
	if (ret != ERR_OK)
		goto nomem;
	snap_t *s = snap_new(l.db, l.geo, l.latency, 1);
	memset(&l, 0, sizeof(l));
	if (s == NULL)
		goto nomem;
	snap_publish(d->snaps, s);
	hc_tables_release(d->hc); /* nothing read the tables the first build replaced */
	d->generation = 1;

	d->base = event_base_new();
	d->loaded_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->base == NULL || d->loaded_fd < 0) {
		snprintf(err, sizeof(err), "control thread: %s", strerror(errno));
		ret = ERR_SYS;
		goto fail;
	}
	d->ev_term = evsignal_new(d->base, SIGTERM, on_stop_signal, d);
	d->ev_int = evsignal_new(d->base, SIGINT, on_stop_signal, d);
	d->ev_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	d->ev_usr1 = evsignal_new(d->base, SIGUSR1, on_usr1, d);
	d->ev_loaded = event_new(d->base, d->loaded_fd, EV_READ | EV_PERSIST, on_loaded, d);
	d->ev_reclaim = event_new(d->base, -1, EV_PERSIST, on_reclaim, d);
	if (d->ev_term == NULL || d->ev_int == NULL || d->ev_hup == NULL || d->ev_usr1 == NULL ||
	    event_add(d->ev_usr1, NULL) != 0 ||
	    d->ev_loaded == NULL || d->ev_reclaim == NULL || event_add(d->ev_term, NULL) != 0 ||
	    event_add(d->ev_int, NULL) != 0 || event_add(d->ev_hup, NULL) != 0 ||
	    event_add(d->ev_loaded, NULL) != 0)
		goto nomem;
	if (c->store_path != NULL) {
		static const struct timeval hcs_tv = {
			DAEMON_HCSTATE_MS / 1000, (suseconds_t)(DAEMON_HCSTATE_MS % 1000) * 1000
		};
		d->ev_hcstate = event_new(d->base, -1, EV_PERSIST, on_hcstate, d);
		if (d->ev_hcstate == NULL || event_add(d->ev_hcstate, &hcs_tv) != 0)
			goto nomem;
	}

	{
		static const struct timeval roll_tv = { 1, 0 };
		d->ev_dnssec = event_new(d->base, -1, EV_PERSIST, on_dnssec, d);
		if (d->ev_dnssec == NULL || event_add(d->ev_dnssec, &roll_tv) != 0)
			goto nomem;
	}

	snap_defer_t *no_old = NULL; /* nothing was applied before */
	if (rrl_new(c->workers, &d->rrl) != ERR_OK ||
	    rrl_configure(d->rrl, &c->rrl, &no_old) != ERR_OK)
		goto nomem;
	if (rrl_on(d->rrl))
		log_msg(LOG_NOTICE, "rrl: %u responses per second per account, slip %u, /%u and /%u, "
				    "window %u s, %zu exempt networks",
			c->rrl.responses_per_second, c->rrl.slip, c->rrl.ipv4_prefix,
			c->rrl.ipv6_prefix, c->rrl.window, c->rrl.n_exempt);
	d->workers = calloc(c->workers, sizeof(*d->workers));
	if (d->workers == NULL)
		goto nomem;
	for (unsigned i = 0; i < c->workers; i++) {
		worker_cfg_t wc = {
			.id = i,
			.snaps = d->snaps,
			.listen = d->listen,
			.n_listen = d->n_listen,
			.tcp_idle_ms = c->tcp_idle_ms,
			.tcp_max_conns = c->tcp_max_conns,
			.tcp_max_queries = c->tcp_max_queries,
			.seed = random_seed(i),
			.qlog_fd = -1,
			.qlog = d->qlog != NULL ? qlog_ring(d->qlog, i) : NULL,
			.rrl = d->rrl,
			.answer_cache = c->answer_cache,
			.answer_cache_size = c->answer_cache_size,
			.signature_cache = c->dnssec.signature_cache,
		};
		ret = worker_new(&wc, &d->workers[i], err, sizeof(err));
		if (ret != ERR_OK)
			goto fail;
		d->n_workers = i + 1;
	}

	if (c->admin_listen != NULL) {
		ret = admin_new(d->base, c->admin_listen, &d->admin, err, sizeof(err));
		if (ret == ERR_OK)
			ret = admin_register_core(d->admin, d);
		if (ret == ERR_OK)
			ret = api_new(d, d->admin, d->model, &d->api);
		if (ret != ERR_OK)
			goto fail;
		log_msg(LOG_NOTICE, "admin HTTP on %s", c->admin_listen);
	}

	if (c->store_etcd != NULL) {
		/* a fleet node: the watch from the revision the model was read at */
		d->ev_fleet = event_new(d->base, -1, 0, on_fleet_timer, d);
		if (d->ev_fleet == NULL || fleet_new(d->store, c, load_rev, &d->fleet) != ERR_OK)
			goto nomem;
		fleet_set_health(d->fleet, d->hc);
		ret = fleet_start(d->fleet, d->base, fleet_kick, d, err, sizeof(err));
		if (ret != ERR_OK)
			goto fail;
		log_msg(LOG_NOTICE, "fleet: node %s (%s) on etcd, loaded at revision %" PRIu64,
			c->store_etcd_node_id, c->store_etcd_region, load_rev);
	}

	ret = hc_system_start(d->hc, err, sizeof(err));
	if (ret != HC_OK)
		goto fail;
	for (unsigned i = 0; i < d->n_workers; i++) {
		ret = worker_start(d->workers[i]);
		if (ret != ERR_OK) {
			snprintf(err, sizeof(err), "worker %u: cannot start thread", i);
			goto fail;
		}
	}
	log_listening(d);
	return ERR_OK;
nomem:
	snprintf(err, sizeof(err), "start-up: out of memory");
	ret = ERR_NOMEM;
fail:
	daemon_loaded_free(&l);
	log_msg(LOG_ERR, "%s", err[0] ? err : err_str(ret));
	return ret;
}

int daemon_run(const char *config_path)
{
	int status = DAEMON_EXIT_CONFIG;
	daemon_t *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		log_msg(LOG_ERR, "start-up: out of memory");
		return DAEMON_EXIT_CONFIG;
	}
	d->loaded_fd = -1;
	d->config_path = strdup(config_path);
	if (d->config_path == NULL)
		goto out;

	/* Writes to a closed admin connection must fail with EPIPE, not kill the process; a
	 * SIGHUP that arrives while the zones load (before its handler exists) is not fatal. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	log_msg(LOG_NOTICE, "r53d %s starting with %s", R53D_VERSION, config_path);
	if (daemon_start(d) != ERR_OK)
		goto out;
	if (event_base_dispatch(d->base) < 0)
		log_msg(LOG_ERR, "control thread: event loop failed");
	else
		status = DAEMON_EXIT_OK;
	/* what changed since the last tick, so that a clean restart loses nothing */
	if (d->ev_hcstate != NULL)
		hcstate_flush(d, true);
out:
	daemon_free(d);
	if (status == DAEMON_EXIT_OK)
		log_msg(LOG_NOTICE, "stopped");
	return status;
}
