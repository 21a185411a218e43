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

/**
 * Load a configuration and build its snapshot database: conf_load, then zdb_build with the
 * zones and options converted from it. Used at start-up, by --check and by the loader thread.
 * \param conf  set to the new configuration; caller frees with conf_free.
 * \param db    set to the new database; caller frees with zdb_free.
 * \param err   receives the error ("FILE: JSON-PATH: reason", "FILE:LINE: reason").
 * \retval ERR_OK or the ERR_* of conf_load / zdb_build.
 * Any thread; touches no daemon state.
 */
int daemon_load(const char *config_path, conf_t **conf, zdb_t **db, char *err, size_t errlen);

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

/** The database being served; valid until the control thread publishes again. */
const zdb_t *daemon_zdb(const daemon_t *d);

/** The generation of the snapshot being served (1 at start-up). */
uint64_t daemon_generation(const daemon_t *d);

/** Fill t (cleared first) with the current totals. */
void daemon_stats(const daemon_t *d, stats_totals_t *t);
