/* SPDX-License-Identifier: MIT */
/*
 * daemon.c -- start-up, the control thread, reload orchestration, shutdown.
 *
 * The main thread becomes the control thread. It owns the configuration, publishes zone
 * snapshots (snap.h; it is their only publisher) and runs its own event_base with:
 *   - SIGTERM/SIGINT (stop) and SIGHUP (reload), through libevent's evsignal;
 *   - the admin HTTP endpoint (admin.h), when admin.listen is configured;
 *   - an eventfd on which the loader thread reports a finished reload;
 *   - a reclaim timer that frees retired snapshots once their grace period has ended.
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
#include "err.h"
#include "log.h"
#include "snap.h"
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* How often the control thread looks whether a retired snapshot may be freed. */
#define DAEMON_RECLAIM_MS 20
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

	/* Reloads. The loader_* fields are written by the loader thread while loading is true
	 * and read by the control thread after joining it. */
	int loaded_fd;                /* eventfd: the loader has finished */
	bool loading;                 /* a loader thread runs */
	pthread_t loader;             /* it */
	struct timespec load_start;   /* when it started */
	conf_t *loader_conf;          /* its configuration, on success */
	zdb_t *loader_db;             /* its database, on success */
	int loader_ret;               /* its result */
	char loader_err[DAEMON_ERRLEN]; /* its error message */
	reload_waiter_t *waiting;     /* callers of the running reload */
	reload_waiter_t *queued;      /* callers of the next one */
	bool again;                   /* another reload was asked for while one ran */
	uint64_t reloads_ok;          /* successful reloads */
	uint64_t reloads_failed;      /* failed reloads */
};

/* ---- loading ------------------------------------------------------------------------------ */

int daemon_load(const char *config_path, conf_t **conf, zdb_t **db, char *err, size_t errlen)
{
	zdb_src_t *src = NULL;
	conf_t *c = NULL;
	int ret;

	*conf = NULL;
	*db = NULL;
	ret = conf_load(config_path, &c, err, errlen);
	if (ret != ERR_OK)
		goto out;
	src = calloc(c->n_zones ? c->n_zones : 1, sizeof(*src));
	if (src == NULL) {
		snprintf(err, errlen, "%s: out of memory", config_path);
		ret = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->n_zones; i++) {
		const conf_zone_t *z = &c->zones[i];
		src[i] = (zdb_src_t){
			.id = z->id ? z->id : "",
			.name = z->name,
			.private_zone = z->private_zone,
			.zone_file = z->zone_file,
		};
	}
	zdb_opts_t opts = {
		.cname_chasing = c->cname_chasing,
		.authority_ns = c->authority_ns,
		.wildcard_parent_nxdomain = c->wildcard_parent_nxdomain,
		.edns_udp_size = c->edns_udp_size,
		.chaos_version = c->chaos_version,
		.chaos_id = c->chaos_id,
	};
	ret = zdb_build(src, c->n_zones, &opts, db, err, errlen);
	if (ret != ERR_OK)
		goto out;
	*conf = c;
	c = NULL;
out:
	free(src);
	conf_free(c);
	return ret;
}

int daemon_check(const char *config_path, FILE *out, FILE *errout)
{
	char err[DAEMON_ERRLEN] = "";
	conf_t *conf = NULL;
	zdb_t *db = NULL;

	int ret = daemon_load(config_path, &conf, &db, err, sizeof(err));
	if (ret != ERR_OK) {
		fprintf(errout, "r53d: %s\n", err[0] ? err : err_str(ret));
		return DAEMON_EXIT_CONFIG;
	}
	size_t n = zdb_zone_count(db), names = 0, rrsets = 0, records = 0;
	for (size_t i = 0; i < n; i++) {
		zdb_zone_info_t zi;
		zdb_zone_info(db, i, &zi);
		fprintf(out,
			"zone %s  id %s  %s  %zu names, %zu RRsets, %zu records, SOA serial %" PRIu32
			"\n",
			zi.name, zi.id && zi.id[0] ? zi.id : "-", zi.private_zone ? "private" : "public",
			zi.n_names, zi.n_rrsets, zi.n_records, zi.serial);
		names += zi.n_names;
		rrsets += zi.n_rrsets;
		records += zi.n_records;
	}
	fprintf(out, "total: %zu zone%s, %zu names, %zu RRsets, %zu records\n", n,
		n == 1 ? "" : "s", names, rrsets, records);
	fprintf(out, "%s: configuration OK\n", config_path);
	zdb_free(db);
	conf_free(conf);
	return DAEMON_EXIT_OK;
}

/* ---- reloads ------------------------------------------------------------------------------ */

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void *loader_main(void *arg)
{
	daemon_t *d = arg;
	pthread_setname_np(pthread_self(), "r53d-loader");
	d->loader_err[0] = '\0';
	d->loader_ret = daemon_load(d->config_path, &d->loader_conf, &d->loader_db, d->loader_err,
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

/* Start a loader thread for the queued requests. */
static void reload_start(daemon_t *d)
{
	d->waiting = d->queued;
	d->queued = NULL;
	d->again = false;
	d->loader_conf = NULL;
	d->loader_db = NULL;
	clock_gettime(CLOCK_MONOTONIC, &d->load_start);

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&d->loader, NULL, loader_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), "reload failed: cannot start loader thread: %s",
			 strerror(rc));
		log_msg(LOG_ERR, "%s", msg);
		d->reloads_failed++;
		reload_waiter_t *w = d->waiting;
		d->waiting = NULL;
		notify(w, ERR_SYS, msg);
		return;
	}
	d->loading = true;
}

static bool str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
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
	char *a = n->admin_listen;
	n->admin_listen = o->admin_listen;
	o->admin_listen = a;
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

	int ret = d->loader_ret;
	if (ret == ERR_OK) {
		note_restart_needed(d, d->loader_conf);
		snap_t *s = snap_new(d->loader_db, d->generation + 1);
		d->loader_db = NULL;
		if (s == NULL) {
			conf_free(d->loader_conf);
			d->loader_conf = NULL;
			ret = ERR_NOMEM;
			snprintf(d->loader_err, sizeof(d->loader_err), "out of memory");
		} else {
			snap_publish(d->snaps, s);
			d->generation++;
			keep_fixed_settings(d->loader_conf, d->conf);
			conf_free(d->conf);
			d->conf = d->loader_conf;
			d->loader_conf = NULL;
			static const struct timeval tv = { 0, DAEMON_RECLAIM_MS * 1000 };
			event_add(d->ev_reclaim, &tv);
		}
	}
	if (ret == ERR_OK) {
		d->reloads_ok++;
		snprintf(msg, sizeof(msg), "reloaded %s: generation %" PRIu64 ", %zu zones, %.1f ms",
			 d->config_path, d->generation, zdb_zone_count(snap_current(d->snaps)->db),
			 ms_since(&d->load_start));
		log_msg(LOG_NOTICE, "%s", msg);
	} else {
		d->reloads_failed++;
		snprintf(msg, sizeof(msg), "reload failed, still serving generation %" PRIu64 ": %s",
			 d->generation, d->loader_err[0] ? d->loader_err : err_str(ret));
		log_msg(LOG_ERR, "%s", msg);
	}
	reload_waiter_t *w = d->waiting;
	d->waiting = NULL;
	notify(w, ret, msg);
	if (d->again || d->queued != NULL)
		reload_start(d);
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
	}
	if (d->loading) {
		d->again = true;
		log_msg(LOG_INFO, "reload: one is running; another will follow it");
		return ERR_OK;
	}
	reload_start(d);
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

/* ---- queries from the admin endpoint ------------------------------------------------------ */

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
	t->reloads_ok = d->reloads_ok;
	t->reloads_failed = d->reloads_failed;
	t->generation = d->generation;
	t->zones = zdb_zone_count(daemon_zdb(d));
	t->workers = d->n_workers;
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
	if (daemon_reload(d, NULL, NULL) != ERR_OK)
		log_msg(LOG_ERR, "SIGHUP: reload not started: out of memory");
}

/* ---- start-up and shutdown ---------------------------------------------------------------- */

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
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_stop(d->workers[i]);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_join(d->workers[i]);
	if (d->loading) {
		pthread_join(d->loader, NULL);
		d->loading = false;
		zdb_free(d->loader_db);
		conf_free(d->loader_conf);
	}
	/* Held admin requests must be answered before the HTTP server goes away. */
	notify(d->waiting, ERR_LIMIT, "shutting down");
	notify(d->queued, ERR_LIMIT, "shutting down");
	d->waiting = d->queued = NULL;
	admin_free(d->admin);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_free(d->workers[i]);
	free(d->workers);
	snap_domain_free(d->snaps);
	free_event(&d->ev_term);
	free_event(&d->ev_int);
	free_event(&d->ev_hup);
	free_event(&d->ev_loaded);
	free_event(&d->ev_reclaim);
	if (d->loaded_fd >= 0)
		close(d->loaded_fd);
	if (d->base != NULL)
		event_base_free(d->base);
	free(d->listen);
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
	zdb_t *db = NULL;
	int ret;

	ret = daemon_load(d->config_path, &d->conf, &db, err, sizeof(err));
	if (ret != ERR_OK)
		goto fail;
	const conf_t *c = d->conf;

	/* Sockets: check every address is free, resolve port 0, then bind per worker. */
	d->listen = calloc(c->n_listen, sizeof(*d->listen));
	if (d->listen == NULL)
		goto nomem;
	memcpy(d->listen, c->listen, c->n_listen * sizeof(*d->listen));
	d->n_listen = c->n_listen;
	for (size_t i = 0; i < d->n_listen; i++) {
		ret = worker_probe_listen(&d->listen[i], err, sizeof(err));
		if (ret != ERR_OK)
			goto fail;
	}

	ret = snap_domain_new(c->workers, &d->snaps);
	if (ret != ERR_OK)
		goto nomem;
	snap_t *s = snap_new(db, 1);
	db = NULL;
	if (s == NULL)
		goto nomem;
	snap_publish(d->snaps, s);
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
	d->ev_loaded = event_new(d->base, d->loaded_fd, EV_READ | EV_PERSIST, on_loaded, d);
	d->ev_reclaim = event_new(d->base, -1, EV_PERSIST, on_reclaim, d);
	if (d->ev_term == NULL || d->ev_int == NULL || d->ev_hup == NULL ||
	    d->ev_loaded == NULL || d->ev_reclaim == NULL || event_add(d->ev_term, NULL) != 0 ||
	    event_add(d->ev_int, NULL) != 0 || event_add(d->ev_hup, NULL) != 0 ||
	    event_add(d->ev_loaded, NULL) != 0)
		goto nomem;

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
		if (ret != ERR_OK)
			goto fail;
		log_msg(LOG_NOTICE, "admin HTTP on %s", c->admin_listen);
	}

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
	zdb_free(db);
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

	/* Writes to a closed admin connection must fail with EPIPE, not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	log_msg(LOG_NOTICE, "r53d %s starting with %s", R53D_VERSION, config_path);
	if (daemon_start(d) != ERR_OK)
		goto out;
	if (event_base_dispatch(d->base) < 0)
		log_msg(LOG_ERR, "control thread: event loop failed");
	else
		status = DAEMON_EXIT_OK;
out:
	daemon_free(d);
	if (status == DAEMON_EXIT_OK)
		log_msg(LOG_NOTICE, "stopped");
	return status;
}
