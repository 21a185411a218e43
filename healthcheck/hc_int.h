/* SPDX-License-Identifier: MIT */
/*
 * hc_int.h -- internals shared by the files of healthcheck/ (and its unit tests).
 *
 * Object graph:
 *   hc_system_t (hc_pool.c)       owns the slot map and table (hc_state.c), the
 *                                 aggregation mutex, statistics, and the current run.
 *   hc_run_t (hc_pool.c)          one configuration generation: hc_conf_t (hc_conf.c),
 *                                 the aggregation state per check (hc_agg.c), the pool
 *                                 threads and their checkers. A reload builds a new run
 *                                 beside the old one and swaps it in.
 *   hc_checker_t (hc_probe_*.c)   one simulated checker of one check; owned by one pool
 *                                 thread and touched only by it.
 */
#pragma once

#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hc.h"

struct event;
struct event_base;
struct evdns_base;
struct evdns_request;
struct bufferevent;
struct ssl_ctx_st;

/* ---- configuration (hc_conf.c) ---- */

/** Health check types (spec 3.6). */
typedef enum hc_type {
	HC_T_HTTP,
	HC_T_HTTPS,
	HC_T_HTTP_STR_MATCH,
	HC_T_HTTPS_STR_MATCH,
	HC_T_TCP,
	HC_T_CALCULATED,
	HC_T_CLOUDWATCH_METRIC,
	HC_T_RECOVERY_CONTROL,
} hc_type_t;

/** Number of Route 53 checker Regions. */
#define HC_N_REGIONS 8
/** Largest number of pool threads. */
#define HC_MAX_THREADS 64
/** Largest number of checkers per check. */
#define HC_MAX_CHECKERS 256
/** Spec HC-3: search string within the first 5120 bytes of the body. */
#define HC_BODY_SEARCH 5120
/** Spec HC-6: total response header size limit. */
#define HC_HEADER_LIMIT 16384

/** Region names in Route 53 order. */
extern const char *const hc_region_names[HC_N_REGIONS];

/** One health check, validated. All strings owned by the conf. */
typedef struct hc_check_conf {
	char *id;                  /**< Id */
	char *caller_ref;          /**< CallerReference, or NULL */
	long version;              /**< HealthCheckVersion (1 when absent) */
	hc_type_t type;            /**< Type */
	char *ip;                  /**< IPAddress as written, or NULL */
	struct sockaddr_storage addr; /**< IPAddress and Port, when ip != NULL */
	socklen_t addrlen;         /**< length of addr, 0 when ip == NULL */
	char *fqdn;                /**< FullyQualifiedDomainName, or NULL */
	char *sni;                 /**< fqdn without trailing dot, for SNI and resolution */
	uint16_t port;             /**< Port (defaulted per spec 3.6) */
	char *path;                /**< ResourcePath with leading '/', or NULL for non-HTTP */
	char *search;              /**< SearchString, or NULL */
	size_t search_len;         /**< its length */
	unsigned interval;         /**< RequestInterval, seconds */
	unsigned failure_threshold; /**< FailureThreshold */
	bool measure_latency;      /**< MeasureLatency: connect / first-byte times kept */
	bool inverted;             /**< Inverted */
	bool disabled;             /**< Disabled */
	bool enable_sni;           /**< EnableSNI (HTTPS types) */
	bool passive_unhealthy;    /**< CLOUDWATCH_METRIC with InsufficientDataHealthStatus Unhealthy */
	unsigned health_threshold; /**< HealthThreshold (CALCULATED) */
	size_t *children;          /**< ChildHealthChecks as indices into hc_conf_t.checks */
	size_t n_children;         /**< number of children */
	uint8_t regions[HC_N_REGIONS]; /**< Regions as indices into hc_region_names */
	size_t n_regions;          /**< number of Regions (8 when absent) */
	unsigned k;                /**< checkers that probe it (0: CALCULATED, passive, Disabled) */
	unsigned k_views;          /**< checker views kept (k, or what k would be if Disabled) */
	char *request;             /**< the HTTP request bytes, or NULL */
	size_t request_len;        /**< their length */
	char *endpoint;            /**< "addr:port" for messages ("calculated" for CALCULATED) */
} hc_check_conf_t;

/** One source address for checkers. */
typedef struct hc_source {
	struct sockaddr_storage addr; /**< port 0 */
	socklen_t addrlen;            /**< length of addr */
	char text[48];                /**< as written */
} hc_source_t;

/** A whole validated configuration. Immutable once built. */
typedef struct hc_conf {
	unsigned threads;          /**< pool threads */
	unsigned checkers;         /**< fixed checkers per check, 0: per Region */
	unsigned checkers_per_region; /**< used when checkers == 0 */
	double threshold;          /**< aggregation threshold, strict > */
	hc_source_t *sources;      /**< source addresses */
	size_t n_sources;          /**< number of sources */
	char *resolver;            /**< "ip:port" for evdns, or NULL for resolv.conf */
	char *user_agent;          /**< template with {id} */
	bool strict_addresses;     /**< reject AWS-rejected ranges */
	size_t *force_check;       /**< health.force: check indices */
	hc_force_mode_t *force_mode; /**< health.force: modes */
	size_t n_force;            /**< number of force entries */
	hc_check_conf_t *checks;   /**< checks, in file order */
	size_t n_checks;           /**< number of checks */
	size_t *index;             /**< open-addressing hash of Id -> check index + 1 */
	size_t index_cap;          /**< power of two */
} hc_conf_t;

/**
 * Parse and validate settings and checks.
 * \retval HC_OK (*out set; free with hc_conf_free), HC_EINVAL, HC_ENOMEM.
 */
int hc_conf_build(const json_t *settings, const char *settings_file, const json_t *checks,
		  const char *checks_file, hc_conf_t **out, char *err, size_t errlen);

/** Free a conf; NULL does nothing. */
void hc_conf_free(hc_conf_t *conf);

/** Index of a check by Id, or -1. */
long hc_conf_find(const hc_conf_t *conf, const char *id);

/** Name of a type as in the JSON. */
const char *hc_type_name(hc_type_t type);

/* ---- slots and the table (hc_state.c) ---- */

/** Id -> slot map; grows only. Written by the control thread under the agg mutex. */
typedef struct hc_slots {
	char **ids;        /**< ids[slot] */
	uint32_t n;        /**< slots in use */
	uint32_t cap;      /**< capacity of ids */
	uint32_t *hash;    /**< open addressing: slot + 1, 0 empty */
	uint32_t hash_cap; /**< power of two */
} hc_slots_t;

/** Slot of id, reserving a new one if needed. \retval HC_OK, HC_ENOMEM. */
int hc_slots_get(hc_slots_t *s, const char *id, uint32_t *slot);
/** Free the map's memory. */
void hc_slots_deinit(hc_slots_t *s);
/** A zeroed table with room for at least n words (capacity rounded up). NULL on ENOMEM. */
hc_table_t *hc_table_new(uint32_t n);

/* ---- aggregation (hc_agg.c) ---- */

/** A checker's last observation (Route 53 GetHealthCheckStatus). */
typedef struct hc_obs {
	int64_t checked_ms;   /**< wall clock, ms since the epoch; 0: none yet */
	char ip[48];          /**< local address the probe came from */
	char status[168];     /**< "Success: ..." / "Failure: ..." */
} hc_obs_t;

/** MeasureLatency: a checker's latest measurements, ns; 0: not measured yet. */
typedef struct hc_lat {
	uint64_t connect_ns;    /**< TCP connect time of its last connected probe */
	uint64_t first_byte_ns; /**< connect start to first response byte (HTTP/HTTPS) */
} hc_lat_t;

/** Latency histogram buckets, upper bounds in seconds (+Inf is the last bucket). */
#define HC_LAT_BUCKETS { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }
#define HC_LAT_N 14 /**< the bounds above and +Inf */

/** One latency histogram of a check (non-cumulative counts). */
typedef struct hc_lathist {
	uint64_t bucket[HC_LAT_N]; /**< observations per bucket */
	uint64_t sum_ns;           /**< sum of observations */
	uint64_t count;            /**< number of observations */
} hc_lathist_t;

/** Bucket of a latency in ns. */
size_t hc_lat_bucket(uint64_t ns);

/** Aggregation state of one check. Protected by the agg mutex. */
typedef struct hc_agg {
	uint32_t slot;        /**< its table slot */
	unsigned k;           /**< number of views */
	unsigned n_healthy;   /**< views that are healthy */
	uint8_t *view;        /**< per checker: 1 healthy, 0 unhealthy */
	uint8_t *streak;      /**< per checker: consecutive results disagreeing with view */
	hc_obs_t *obs;        /**< per checker: last observation */
	hc_obs_t *fail;       /**< per checker: last failed observation (checked_ms 0: none) */
	hc_lat_t *lat;        /**< per checker: latest latencies; NULL without MeasureLatency */
	hc_lathist_t *hist;   /**< [0] connect, [1] first byte; NULL without MeasureLatency */
	hc_force_mode_t force; /**< operator override */
	bool final_healthy;   /**< status after Disabled/Inverted, before force */
	bool published;       /**< true once a word was stored for this check */
	uint64_t changed;     /**< hc_aggr_t.seq when its state (views, streaks, observations,
			           word) last changed: hc_state_export(since) */
	size_t *parents;      /**< CALCULATED checks that list this one */
	size_t n_parents;     /**< number of parents */
	/* A fleet's other nodes (hc_remote_set): their checkers count in the 18% rule. */
	unsigned remote_k;    /**< their checkers */
	unsigned remote_healthy; /**< those whose view is healthy */
	json_t *remote_obs;   /**< their observations (HealthCheckObservations), or NULL */
} hc_agg_t;

/** Everything the aggregator needs; embedded in hc_system_t. */
typedef struct hc_aggr {
	pthread_mutex_t lock;             /**< the aggregation mutex */
	hc_slots_t slots;                 /**< Id -> slot */
	_Atomic(hc_table_t *) table;      /**< published table */
	hc_table_t **retired;             /**< replaced tables kept without a retire hook */
	size_t n_retired;                 /**< their number */
	hc_table_t **served;              /**< replaced tables that a published zone snapshot
					       may still read: every word store is mirrored
					       into them until hc_tables_release() */
	size_t n_served;                  /**< their number */
	void (*retire)(void *, hc_table_t *); /**< retire hook */
	void *retire_ctx;                 /**< its argument */
	uint64_t to_healthy;              /**< transitions to healthy */
	uint64_t to_unhealthy;            /**< transitions to unhealthy */
	uint64_t seq;                     /**< change counter: +1 at every change of any
					       check's state (hc_agg_t.changed) */
	const hc_conf_t *conf;            /**< current configuration (of the current run) */
	hc_agg_t *agg;                    /**< current aggregation state, conf->n_checks */
} hc_aggr_t;

/** Initialise. \retval HC_OK, HC_ENOMEM, HC_ESYS. */
int hc_aggr_init(hc_aggr_t *a);
/** hc_remote_set, under the agg mutex. */
int hc_agg_remote(hc_aggr_t *a, const char *id, unsigned k, unsigned healthy, json_t *obs);
/** Retire the tables kept up to date for served snapshots (hc_tables_release). Takes the
 *  agg mutex. */
void hc_agg_release_served(hc_aggr_t *a);
/** Free everything including the table and retired tables. */
void hc_aggr_deinit(hc_aggr_t *a);

/**
 * Prepared aggregation state for a new conf (slots reserved, table grown if needed but
 * not published). \retval HC_OK, HC_ENOMEM.
 * Control thread; takes the agg mutex.
 */
int hc_agg_prepare(hc_aggr_t *a, const hc_conf_t *conf, hc_agg_t **out, hc_table_t **newtab);

/**
 * Install prepared state: carry state over by Id from the current one, publish the table,
 * compute and store every word, log transitions. Returns the old agg array (free with
 * hc_agg_free_array(old, old_n)). Cannot fail. Control thread; pool threads stopped.
 */
hc_agg_t *hc_agg_commit(hc_aggr_t *a, const hc_conf_t *conf, hc_agg_t *agg, hc_table_t *newtab);

/** Free an agg array of n checks (NULL ok). */
void hc_agg_free_array(hc_agg_t *agg, size_t n);

/** One probe result. */
typedef struct hc_result {
	bool ok;              /**< passed */
	const char *status;   /**< observation text */
	const char *ip;       /**< local address used */
	int64_t checked_ms;   /**< wall clock ms */
	uint64_t connect_ns;  /**< MeasureLatency: TCP connect time, monotonic; 0: none */
	uint64_t first_byte_ns; /**< MeasureLatency: connect start to first response byte;
				     0: none (TCP checks, or no response) */
} hc_result_t;

/**
 * Apply one checker's result: per-checker FailureThreshold, the threshold rule,
 * Disabled/Inverted, force, calculated parents; store words and log transitions.
 * Pool threads; takes the agg mutex.
 */
void hc_agg_report(hc_aggr_t *a, size_t check, unsigned checker, const hc_result_t *r);

/** Set a force mode. \retval HC_OK, HC_ENOENT. Takes the agg mutex. */
int hc_agg_force(hc_aggr_t *a, const char *id, hc_force_mode_t mode);

/** Pure aggregation rule: healthy iff n_healthy / k > threshold (k == 0: healthy). */
bool hc_agg_rule(unsigned n_healthy, unsigned k, double threshold);

/** Build the status JSON (takes the agg mutex). \retval HC_OK, HC_ENOMEM. */
int hc_agg_status_json(hc_aggr_t *a, json_t **out);

/**
 * Append the MeasureLatency histograms (r53d_hc_connect_seconds and
 * r53d_hc_first_byte_seconds, one series per check that sets MeasureLatency, label id);
 * nothing when no check sets it. \retval 0, -1 (evbuffer out of memory).
 * Takes the agg mutex.
 */
int hc_agg_latency_metrics(hc_aggr_t *a, struct evbuffer *out);

/** hc_state_export() (takes the agg mutex). */
int hc_agg_state_export(hc_aggr_t *a, uint64_t since, json_t **out, uint64_t *now);

/** hc_state_import() (takes the agg mutex). */
int hc_agg_state_import(hc_aggr_t *a, const json_t *states);

/* ---- logging (hc_pool.c) ---- */

/** Log through the configured sink. */
void hc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Append to err: "FILE: " prefix then formatted text. */
void hc_errf(char *err, size_t errlen, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- probes (hc_probe_tcp.c, hc_probe_http.c) ---- */

/** Probe result classes, for metrics. */
typedef enum hc_res {
	HC_RES_OK,
	HC_RES_TIMEOUT,
	HC_RES_REFUSED,
	HC_RES_DNS,
	HC_RES_TLS,
	HC_RES_HTTP_STATUS,
	HC_RES_BAD_RESPONSE,
	HC_RES_NO_MATCH,
	HC_RES_ERROR,
	HC_RES_N,
} hc_res_t;

/** Probe kinds, for metrics. */
enum { HC_KIND_TCP, HC_KIND_HTTP, HC_KIND_HTTPS, HC_KIND_N };

/** Checker states. */
typedef enum hc_cstate {
	HC_CS_IDLE,        /**< waiting for the next probe time */
	HC_CS_RESOLVING,   /**< waiting for evdns */
	HC_CS_CONNECTING,  /**< non-blocking connect in progress */
	HC_CS_STATUS,      /**< TLS handshake / waiting for the status line */
	HC_CS_HEADERS,     /**< reading headers */
	HC_CS_BODY,        /**< reading the body (STR_MATCH) */
} hc_cstate_t;

struct hc_thread;

/** HTTP response parser state of one probe. */
typedef struct hc_http {
	int status;              /**< status code, 0 before the status line */
	char reason[64];         /**< reason phrase */
	size_t header_bytes;     /**< bytes of header lines so far (HC-6) */
	bool chunked;            /**< Transfer-Encoding: chunked */
	int encoding;            /**< 0 identity, 1 gzip/deflate */
	bool raw_deflate;        /**< "deflate" sent without the zlib wrapper: retried raw */
	long long content_length; /**< -1 unknown */
	long long chunk_left;    /**< bytes left in the current chunk, -1: need size line */
	bool chunk_crlf;         /**< a CRLF after chunk data is pending */
	void *z;                 /**< z_stream while decompressing, or NULL */
	size_t body_len;         /**< decoded body bytes in body[] */
	char *body;              /**< HC_BODY_SEARCH bytes (STR_MATCH only) */
} hc_http_t;

/** One simulated checker. Owned by one pool thread. */
typedef struct hc_checker {
	struct hc_thread *thr;     /**< its pool thread */
	const hc_check_conf_t *cc; /**< its check */
	size_t check;              /**< index of the check */
	unsigned idx;              /**< checker number within the check */
	const hc_source_t *src;    /**< source address, or NULL */
	hc_cstate_t state;         /**< where the probe is */
	struct event *timer;       /**< schedule and deadlines */
	struct event *io;          /**< connect completion */
	int fd;                    /**< socket while connecting, -1 otherwise */
	struct bufferevent *bev;   /**< HTTP(S) exchange */
	struct evdns_request *dns; /**< pending resolution */
	struct sockaddr_storage dst; /**< address being probed */
	socklen_t dstlen;          /**< its length */
	char local_ip[48];         /**< local address of the last connection */
	uint64_t due_ns;           /**< when the probe should start (monotonic) */
	uint64_t start_ns;         /**< when it started */
	uint64_t conn_start_ns;    /**< MeasureLatency: when connect() was called */
	uint64_t connect_ns;       /**< MeasureLatency: connect time of this probe; 0: none */
	uint64_t first_byte_ns;    /**< MeasureLatency: connect start to the first response
				        byte of this probe; 0: none */
	bool tls_done;             /**< TLS handshake completed */
	bool no_sni;               /**< retrying without SNI (spec HC-5) */
	hc_http_t http;            /**< response parser */
} hc_checker_t;

/** Histogram buckets: 100 us steps to 10 ms, 1 ms steps to 1 s, 10 ms steps to 10 s, overflow. */
#define HC_HIST_N 1991
/** Per-thread probe statistics; single writer (the thread), relaxed atomics. */
typedef struct hc_tstats {
	_Atomic uint64_t probes[HC_KIND_N][HC_RES_N]; /**< probes by kind and result */
	_Atomic uint64_t late;                /**< probes started > 100 ms late */
	_Atomic uint64_t lateness[HC_HIST_N]; /**< start lateness histogram (hc_hist_bucket) */
	_Atomic uint64_t duration[HC_HIST_N]; /**< probe duration histogram */
	_Atomic uint64_t lateness_sum_us;     /**< sum of lateness, microseconds */
	_Atomic uint64_t duration_sum_us;     /**< sum of durations, microseconds */
	_Atomic int tid;                      /**< kernel thread id while running */
} hc_tstats_t;

/** Histogram bucket of a value in microseconds. */
size_t hc_hist_bucket(uint64_t us);
/** Upper bound of a bucket in microseconds (overflow: UINT64_MAX as double). */
double hc_hist_upper(size_t b);
/** Add one to a single-writer counter. */
static inline void hc_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/** One pool thread. */
typedef struct hc_thread {
	struct hc_run *run;        /**< its run */
	unsigned idx;              /**< thread number */
	pthread_t tid;             /**< pthread */
	bool started;              /**< pthread created */
	struct event_base *base;   /**< its loop */
	struct evdns_base *dnsb;   /**< its resolver, or NULL */
	int wake_fd;               /**< eventfd: stop request */
	struct event *wake_ev;     /**< reads wake_fd */
	hc_checker_t **checkers;   /**< checkers it owns */
	size_t n_checkers;         /**< their number */
	uint64_t rng;              /**< xorshift state for phases */
	hc_tstats_t *stats;        /**< sys statistics slot of this thread number */
} hc_thread_t;

/** One configuration generation. */
typedef struct hc_run {
	struct hc_system *sys;     /**< owner */
	hc_conf_t *conf;           /**< its configuration */
	hc_agg_t *agg;             /**< prepared agg state (moved to the aggregator at commit) */
	hc_table_t *newtab;        /**< prepared table, or NULL */
	hc_checker_t *checkers;    /**< all checkers */
	size_t n_checkers;         /**< their number */
	hc_thread_t *threads;      /**< conf->threads */
	unsigned n_threads;        /**< their number */
	pthread_mutex_t gate_lock; /**< gate: threads wait here until commit */
	pthread_cond_t gate_cond;  /**< signalled when gate changes */
	int gate;                  /**< 0 wait, 1 go, 2 abort */
} hc_run_t;

/** A health system (hc.h). */
struct hc_system {
	pthread_mutex_t ctl;       /**< control mutex: serialises lifecycle and admin calls */
	hc_aggr_t aggr;            /**< the aggregator and the table */
	hc_run_t *run;             /**< current generation */
	bool started;              /**< pool threads running */
	struct ssl_ctx_st *ssl;    /**< TLS client context for HTTPS probes */
	hc_tstats_t *tstats;       /**< HC_MAX_THREADS statistics slots */
	hc_tstats_t *baseline;     /**< sums at the last hc_stats_reset */
};

/** Start a probe now (timer callback when due). Pool thread. */
void hc_probe_start(hc_checker_t *ck);
/** Begin the connect phase to ck->dst. Pool thread. */
void hc_probe_connect(hc_checker_t *ck);
/** Connected socket fd: begin the HTTP(S) exchange. Takes ownership of fd. Pool thread. */
void hc_probe_http_begin(hc_checker_t *ck, int fd);
/** Deadline passed in an HTTP state. Pool thread. */
void hc_probe_http_timeout(hc_checker_t *ck);
/** Release per-probe resources (socket, bufferevent, DNS request, decompressor). */
void hc_probe_cleanup(hc_checker_t *ck);
/** Finish a probe: cleanup, statistics, report, schedule the next. Pool thread. */
void hc_probe_finish(hc_checker_t *ck, hc_res_t res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Arm ck->timer to fire in ms milliseconds. */
void hc_probe_arm(hc_checker_t *ck, unsigned ms);
/** Monotonic time in ns. */
uint64_t hc_now_ns(void);

/** The system-wide TLS client context (HTTPS probes). */
struct ssl_ctx_st *hc_ssl_ctx(const hc_checker_t *ck);

/** Probe timeouts in ms (spec HC-1, HC-2, HC-3, HC-7); tests may not change them. */
#define HC_TCP_CONNECT_MS 10000
#define HC_HTTP_CONNECT_MS 4000
#define HC_HTTP_STATUS_MS 2000
#define HC_HTTP_BODY_MS 2000
/** [CHOICE] budget for resolving FullyQualifiedDomainName. */
#define HC_DNS_MS 4000
