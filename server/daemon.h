/* SPDX-License-Identifier: MIT */
/*
 * daemon.h -- the r53d process: start-up, the control thread, reloads, shutdown.
 *
 * daemon_run() is the whole server: it loads the configuration and the zones, publishes the
 * first snapshot, binds every socket, starts the workers and then runs the control thread's
 * event_base (signals, admin HTTP, reload completion, snapshot reclamation) until SIGTERM or
 * SIGINT. A reload (SIGHUP or POST /reload) loads the configuration and builds the zones on a
 * loader thread, then the control thread publishes the new snapshot, or keeps the old one
 * and reports why.
 *
 * All functions taking a daemon_t run on the control thread only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "model.h"
#include "hc.h"
#include "stats.h"
#include "zdb.h"

/** Exit statuses (DESIGN.md "Interfaces"). */
enum {
	DAEMON_EXIT_OK = 0,     /**< clean shutdown, or --check passed */
	DAEMON_EXIT_CONFIG = 1, /**< configuration, zone or start-up (bind) error */
	DAEMON_EXIT_USAGE = 2,  /**< command-line usage error (main.c) */
};

typedef struct daemon daemon_t;

/**
 * Serve until SIGTERM/SIGINT.
 * \param config_path  the configuration file; borrowed.
 * \return DAEMON_EXIT_OK after a clean shutdown, DAEMON_EXIT_CONFIG when start-up fails
 *         (the reason is logged).
 * Main thread, once; it becomes the control thread.
 */
int daemon_run(const char *config_path);

/**
 * --check: load the configuration, build the zones, print a summary to out.
 * \return DAEMON_EXIT_OK, or DAEMON_EXIT_CONFIG with the error printed to errout.
 * Any thread.
 */
int daemon_check(const char *config_path, FILE *out, FILE *errout);

/** What one load produces: everything a snapshot is made of. */
typedef struct daemon_loaded {
	conf_t *conf;           /**< unused (NULL): the configuration is kept by the caller */
	zdb_t *db;              /**< the compiled zones */
	geo_db_t *geo;          /**< geo.database, opened, or NULL */
	geo_latency_t *latency; /**< geo.latency, compiled, or NULL */
} daemon_loaded_t;

/** Free whatever l holds and clear it. Any thread. */
void daemon_loaded_free(daemon_loaded_t *l);

/** --export DIR: write the stored resources (with the configuration's imports) as the AWS
 *  CLI output files the configuration reads. \return DAEMON_EXIT_OK or _CONFIG. */
int daemon_export(const char *config_path, const char *dir, FILE *errout);

/** --reimport ID: replace the stored copy of a hosted zone, health check or CIDR collection
 *  with the configuration file's. \return DAEMON_EXIT_OK or _CONFIG. */
int daemon_reimport(const char *config_path, const char *id, FILE *out, FILE *errout);

/**
 * Called once when a requested reload has finished.
 * \param ret  ERR_OK when the new snapshot is serving; otherwise the error, old data kept.
 * \param msg  a one-line description ("reloaded: generation 3, 2 zones" or the error);
 *             borrowed for the call.
 */
typedef void (*daemon_reload_cb)(void *arg, int ret, const char *msg);

/**
 * Request a reload. It runs on a loader thread; cb (may be NULL) is called on the control
 * thread when a reload that started after this request has finished. Requests that arrive
 * during a reload are served together by one more reload after it. At shutdown pending
 * callbacks are called with ERR_LIMIT ("shutting down").
 * \retval ERR_OK (cb will be called exactly once), ERR_NOMEM (cb will not be called).
 */
int daemon_reload(daemon_t *d, daemon_reload_cb cb, void *arg);

/** The configuration being served (control thread). */
const conf_t *daemon_conf(const daemon_t *d);

/** Called once when a submitted transaction has been applied and is durable (ret ERR_OK),
 *  or refused: the snapshot build failed (ERR_INVAL/ERR_PARSE/..., msg says why), the store
 *  failed (ERR_IO), or the daemon is shutting down (ERR_LIMIT). msg borrowed for the call. */
typedef void (*daemon_txn_cb)(void *arg, int ret, const char *msg);

/**
 * Apply a model transaction: apply it to the model, build and validate a new snapshot from
 * the model on the loader thread (when the transaction changes what DNS serves or the health
 * checks), commit it to the store, publish, and call cb. Transactions and reloads run one
 * at a time in order. Takes ownership of t.
 * 
etval ERR_OK (cb will be called exactly once), ERR_NOMEM (t freed, cb not called).
 */
int daemon_submit(daemon_t *d, model_txn_t *t, daemon_txn_cb cb, void *arg);

/** Whether a transaction or reload is being applied or waits to be. */
bool daemon_busy(const daemon_t *d);

/** Whether every DNS worker now answers from snapshot generation gen or a later one. */
bool daemon_gen_synced(const daemon_t *d, uint64_t gen);

/** The database being served; valid until the control thread publishes again. */
const zdb_t *daemon_zdb(const daemon_t *d);

/** The generation of the snapshot being served (1 at start-up). */
uint64_t daemon_generation(const daemon_t *d);

/** Fill t (cleared first) with the current totals. */
void daemon_stats(const daemon_t *d, stats_totals_t *t);

/** The health-check system (for the admin /healthchecks handlers); never NULL while
 *  serving. Its functions serialise internally (hc.h). */
hc_system_t *daemon_health(const daemon_t *d);

struct model;
/** The Route 53 resources being served (control thread only; admin GET /dnssec). */
struct model *daemon_model(const daemon_t *d);
