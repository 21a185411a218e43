/* SPDX-License-Identifier: MIT */
/*
 * hc.h -- health checks: configuration, the checker pool, the published status table.
 *
 * The one public header of healthcheck/ (besides hc_state.h, which it includes, for the
 * inline readers). It depends on nothing else of r53d.
 *
 * Threads:
 *   control thread  the thread that owns an hc_system_t: it calls new, start, reload,
 *                   stop, free, hc_slot_find, hc_force and the introspection functions.
 *                   These calls serialise on an internal control mutex, so admin HTTP
 *                   handlers on another thread may call hc_force / hc_status_json /
 *                   hc_metrics_write concurrently with a reload.
 *   pool threads    `health.threads` threads, each with its own event_base; they run the
 *                   probes and hand results to the aggregator (hc_agg.c) under the
 *                   aggregation mutex. They call the logger.
 *   DNS workers     call only hc_word() / hc_is_healthy() on a table from hc_table().
 * Lock order: control mutex, then aggregation mutex. The logger is called with the
 * aggregation mutex held and must not call back into hc_*.
 *
 * Configuration (DESIGN.md "Configuration"):
 *   checks    the output of `aws route53 list-health-checks`:
 *             {"HealthChecks": [{"Id", "CallerReference", "HealthCheckConfig": {...},
 *             "HealthCheckVersion"}], "IsTruncated", "MaxItems", "Marker", ...}
 *             (a `get-health-check` output, {"HealthCheck": {...}}, is accepted too).
 *   settings  the `health` object:
 *     threads              pool threads, 1..64 (default 2)
 *     checkers             checkers per check, 1..256; default: checkers_per_region x the
 *                          check's Regions (spec OC-5: 2 x 8 = 16 for the default Regions)
 *     checkers_per_region  1..32 (default 2), used when `checkers` is absent
 *     threshold            healthy iff healthy checkers / checkers > threshold, 0 <= t < 1
 *                          (default 0.18, spec HC-18 / OC-6)
 *     sources              local source addresses; checker j of every check binds to
 *                          sources[j % n] (when the families match) before connecting
 *     resolver             "ip" or "ip:port" of the DNS server used for
 *                          FullyQualifiedDomainName endpoints (default: /etc/resolv.conf)
 *     force                {"Id": "healthy" | "unhealthy" | "auto"}
 *     user_agent           User-Agent template; "{id}" is replaced by the check Id
 *                          (default spec HC-10)
 *     strict_addresses     true: reject IPAddress values AWS rejects (spec HC-12)
 *
 * Local extension: RequestInterval 1..9 is accepted for drills and tests. It is NOT a
 * Route 53 value (Route 53 accepts only 10 and 30).
 *
 * CLOUDWATCH_METRIC and RECOVERY_CONTROL checks (spec 6.1: out of scope) are accepted so
 * that AWS exports load unchanged, but nothing probes them: their status is healthy
 * (CLOUDWATCH_METRIC with InsufficientDataHealthStatus "Unhealthy": unhealthy) unless
 * forced; a warning is logged at load.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc_state.h"

struct evbuffer;

/** Return codes (values match server/err.h ERR_*). */
enum {
	HC_OK = 0,        /**< success */
	HC_ENOMEM = -1,   /**< allocation failed */
	HC_EINVAL = -2,   /**< invalid configuration or argument */
	HC_EPARSE = -3,   /**< malformed input */
	HC_EIO = -4,      /**< I/O failure */
	HC_EEXIST = -5,   /**< duplicate definition */
	HC_ENOENT = -6,   /**< no such health check */
	HC_ELIMIT = -7,   /**< a limit was exceeded */
	HC_ESYS = -8,     /**< a system call failed (threads, sockets, event loops) */
};

/** Operator override of a check's status. */
typedef enum hc_force_mode {
	HC_FORCE_AUTO = 0,      /**< no override: probes decide */
	HC_FORCE_HEALTHY = 1,   /**< pinned healthy */
	HC_FORCE_UNHEALTHY = 2, /**< pinned unhealthy */
} hc_force_mode_t;

typedef struct hc_system hc_system_t;

/** Log sink: syslog level (LOG_ERR .. LOG_DEBUG) and a message without newline. */
typedef void (*hc_log_fn)(int syslog_level, const char *msg);

/**
 * Send log messages to fn (NULL restores the default: one line to stderr).
 * Any thread; takes effect for the next message.
 */
void hc_set_logger(hc_log_fn fn);

/**
 * Build a health system from configuration. Nothing runs until hc_system_start().
 * \param settings        the `health` object; borrowed; NULL means all defaults.
 * \param settings_file   file named in messages about settings (e.g. "r53d.json"); may be NULL.
 * \param checks          list-health-checks output; borrowed; NULL means no checks.
 * \param checks_file     file named in messages about checks; may be NULL.
 * \param out             set to the new system; caller frees with hc_system_free().
 * \param err             receives "FILE: JSON.PATH: reason" on failure (errlen bytes).
 * \retval HC_OK, HC_EINVAL (bad configuration), HC_ENOMEM, HC_ESYS.
 * Control thread.
 */
int hc_system_new(const json_t *settings, const char *settings_file, const json_t *checks,
		  const char *checks_file, hc_system_t **out, char *err, size_t errlen);

/**
 * Start the pool threads and the probes.
 * \retval HC_OK, HC_EINVAL (already started), HC_ESYS (thread or event loop creation).
 * Control thread.
 */
int hc_system_start(hc_system_t *sys, char *err, size_t errlen);

/**
 * Replace the configuration, all or nothing. On failure nothing changes. Status, checker
 * views, observations and admin overrides carry over by Id (entries of the new
 * `health.force` are applied on top); slots are stable by Id. When a check's number of
 * checkers changes, all its views restart at its previous aggregate status.
 * In-flight probes of the old configuration are abandoned; each checker starts again
 * at a new random phase. Same parameters and codes as hc_system_new().
 * Control thread.
 */
int hc_system_reload(hc_system_t *sys, const json_t *settings, const char *settings_file,
		     const json_t *checks, const char *checks_file, char *err, size_t errlen);

/**
 * Check a configuration without building anything that runs (for `r53d --check`).
 * \retval as hc_system_new(). Any thread.
 */
int hc_conf_check(const json_t *settings, const char *settings_file, const json_t *checks,
		  const char *checks_file, char *err, size_t errlen);

/** Stop the pool threads (probes in flight are abandoned). Idempotent. Control thread. */
void hc_system_stop(hc_system_t *sys);

/** Stop and free everything, including retired tables. NULL does nothing. Control thread. */
void hc_system_free(hc_system_t *sys);

/**
 * The current status table (acquire load). Borrowed: valid until the retire hook has
 * received it and the caller's grace period has passed (without a hook: until
 * hc_system_free). Any thread.
 */
const hc_table_t *hc_table(const hc_system_t *sys);

/**
 * Receive tables replaced by a reload. fn(ctx, old) must arrange hc_table_free(old) once
 * no reader can hold it (server/snap.c grace period). Without a hook, replaced tables are
 * kept until hc_system_free(). A table is replaced only when a reload needs more slots
 * than it holds (capacity doubles), so that list stays short.
 * Control thread, before or after start.
 */
void hc_set_retire(hc_system_t *sys, void (*fn)(void *ctx, hc_table_t *old), void *ctx);

/**
 * A reload that replaces the table keeps the replaced one up to date (every status word is
 * stored into it too), because the zone snapshot being served reads it and keeps serving
 * if the rest of the reload fails. Once a snapshot built with the current hc_table() is
 * published, call this: the replaced tables go to the retire hook (see hc_set_retire) and
 * are no longer written. NULL does nothing. Control thread.
 */
void hc_tables_release(hc_system_t *sys);

/**
 * The slot of a health check, for record sets' HealthCheckId.
 * \param id    borrowed.
 * \param slot  set on success.
 * \retval HC_OK, HC_ENOENT (no check with this Id in the current configuration: the
 *         caller reports it as a configuration error).
 * Control thread (or any thread not racing a reload).
 */
int hc_slot_find(hc_system_t *sys, const char *id, uint32_t *slot);

/** Number of health checks in the current configuration. Any thread. */
size_t hc_check_count(hc_system_t *sys);

/** The name check id resolves to find its endpoint (FullyQualifiedDomainName without an
 *  IPAddress) into buf, truncated to len; false when it has no such name. */
bool hc_check_fqdn(hc_system_t *sys, const char *id, char *buf, size_t len);

/**
 * Pin or release a check's status (admin POST /healthchecks/ID/force). The status word
 * gets bit 30 while pinned; the transition is logged.
 * \retval HC_OK, HC_ENOENT (unknown Id), HC_EINVAL (bad mode).
 * Any thread except pool threads.
 */
int hc_force(hc_system_t *sys, const char *id, hc_force_mode_t mode);

/**
 * Parse "healthy", "unhealthy" or "auto" (admin request bodies; trailing whitespace ok).
 * \retval HC_OK, HC_EINVAL.
 */
int hc_force_parse(const char *text, hc_force_mode_t *mode);

/**
 * A fleet (server/fleet.h): the checkers of the other nodes. Check id's 18% rule then counts
 * (healthy local views + healthy) / (local checkers + k), and its observations
 * (hc_status_json, GetHealthCheckStatus) list obs after the local ones, with
 * "FleetCheckers" and "FleetHealthyCheckers" beside. k 0 goes back to the local checkers
 * alone. The setting carries over a reload by Id (a changed check keeps it).
 * \param obs  an array of observations ({"Region", "IPAddress", "StatusReport"}), or NULL;
 *             reference stolen.
 * \retval HC_OK, HC_EINVAL (no check id).
 * Any thread except pool threads (takes the aggregation mutex).
 */
int hc_remote_set(hc_system_t *sys, const char *id, unsigned k, unsigned healthy, json_t *obs);

/**
 * GET /healthchecks as a JSON object:
 * {"HealthChecks": [{"Id", "Type", "Slot", "Endpoint", "Status": "Healthy"|"Unhealthy",
 *   "Forced": bool, "ChangeCounter", "HealthyCheckers", "Checkers",
 *   "HealthCheckObservations": [{"Region", "IPAddress",
 *   "StatusReport": {"Status", "CheckedTime"}}],
 *   "LastFailures": [{"Region", "IPAddress", "StatusReport": {"Status", "CheckedTime"}}]}]}
 * HealthCheckObservations: one per checker that has completed a probe, its latest (none
 * for CALCULATED, CLOUDWATCH_METRIC, RECOVERY_CONTROL or Disabled checks). For checks with
 * MeasureLatency, an observation also has "Latency": {"ConnectMs", "FirstByteMs"}, the
 * checker's latest measured TCP connect time and time from connect() to the first
 * response byte (HTTP/HTTPS types only), in ms to 0.001; a field is absent until
 * measured, and "Latency" too (a probe that cannot connect measures nothing). Latencies
 * are not in hc_state_export() and restart empty on a restart.
 * LastFailures: one per checker that has ever failed a probe, its most recent failure
 * (Route 53 GetHealthCheckLastFailureReason). Both carry over a reload by Id unless the
 * check's number of checkers changes.
 * \param out  set to a new reference; caller json_decref()s it.
 * \retval HC_OK, HC_ENOMEM. Any thread except pool threads (takes the aggregation mutex).
 */
int hc_status_json(hc_system_t *sys, json_t **out);

/** hc_status_json() serialised into an evbuffer. \retval HC_OK, HC_ENOMEM. */
int hc_status_write(hc_system_t *sys, struct evbuffer *out);

/**
 * The checker state of every check that changed after `since`, for keeping it across a
 * restart (the store's /hcstate/ID keys, server/model.h). Each system has a change counter
 * that goes up by one, under the aggregation mutex, whenever a checker's view, consecutive
 * count, observation or last failure, or a check's status word changes (so every probe
 * result counts); a check remembers the counter value of its last change.
 * \param since  a counter value from an earlier call; 0 exports every check.
 * \param out    set to a new object (caller json_decref()s it), empty if nothing changed:
 *   {"ID": {"Status": "Healthy" | "Unhealthy",       the published status
 *           "Checkers": [{"Healthy": bool,           the checker's view
 *                         "Streak": N,               consecutive results that disagree
 *                                                    with the view (FailureThreshold)
 *                         "Observation": {"Region", "IPAddress", "StatusReport":
 *                                         {"Status", "CheckedTime"}} | null,
 *                         "LastFailure": {...} | null}, ...]}}
 *   One Checkers entry per checker view (none for CALCULATED, CLOUDWATCH_METRIC and
 *   RECOVERY_CONTROL checks; Disabled checks keep theirs).
 * \param now    set to the current counter value: pass it as `since` next time.
 * \retval HC_OK, HC_ENOMEM.
 * Any thread except pool threads (takes the aggregation mutex, like hc_status_json, but
 * only to copy the changed checks' state: the JSON is built after releasing it).
 */
int hc_state_export(hc_system_t *sys, uint64_t since, json_t **out, uint64_t *now);

/**
 * Restore state exported by hc_state_export() (possibly by an earlier process), as if
 * those probes had just happened. For each check of the current configuration that has an
 * entry in states:
 *   - same number of checkers: every checker's view, consecutive count, observation and
 *     last failure are restored;
 *   - a different number: only the aggregate (every view starts at the stored checkers'
 *     aggregate under the current threshold, as hc_system_reload does);
 *   - CALCULATED, CLOUDWATCH_METRIC and RECOVERY_CONTROL checks: nothing is stored; their
 *     status is recomputed (a CALCULATED check's from its restored children).
 * Then the status word is recomputed (current Disabled, Inverted and force apply) and
 * published; a change is logged as a transition "state restored from the store".
 * Ids not in the configuration are ignored; an entry that is not understood is skipped
 * with a warning (that check keeps its state). One INFO line sums up what was restored.
 * Call it after hc_system_new() or hc_system_reload(). Before hc_system_start() is the
 * intended use; afterwards it is safe too (it takes the control and aggregation mutexes),
 * but it overwrites what the running probes have found so far.
 * \param states  borrowed; NULL does nothing.
 * \retval HC_OK, HC_EINVAL (states is not an object).
 * Any thread except pool threads.
 */
int hc_state_import(hc_system_t *sys, const json_t *states);

/**
 * Append Prometheus text-format metrics (r53d_hc_*): checks by status, transitions,
 * probes by type and result, probe duration histogram, probes started late (> 100 ms)
 * and a start-lateness histogram. For checks with MeasureLatency only, one series per
 * check (label id) of the histograms r53d_hc_connect_seconds and
 * r53d_hc_first_byte_seconds (buckets 0.001 .. 10 s and +Inf; HTTP/HTTPS checks only
 * have first-byte observations); they carry over a reload by Id.
 * \retval HC_OK, HC_ENOMEM. Any thread except pool threads.
 */
int hc_metrics_write(hc_system_t *sys, struct evbuffer *out);

/** Probe statistics since hc_system_new (for benchmarks and tests). */
typedef struct hc_stats {
	uint64_t probes;          /**< probes completed */
	uint64_t probes_ok;       /**< probes that passed */
	uint64_t late;            /**< probes started more than 100 ms after their schedule */
	double lateness_p50_ms;   /**< median start lateness (1 ms resolution) */
	double lateness_p99_ms;   /**< 99th percentile start lateness */
	double lateness_max_ms;   /**< largest bucket seen */
	double duration_p50_ms;   /**< median probe duration */
	double duration_p99_ms;   /**< 99th percentile probe duration */
	uint64_t transitions;     /**< status transitions of all checks */
	unsigned threads;         /**< pool threads running */
	int thread_tids[64];      /**< their kernel thread ids (for /proc/self/task/TID) */
} hc_stats_t;

/** Fill *st. Any thread. */
void hc_stats_get(hc_system_t *sys, hc_stats_t *st);

/** Reset the probe counters and histograms (benchmarks: after warm-up). Any thread. */
void hc_stats_reset(hc_system_t *sys);
