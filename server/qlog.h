/* SPDX-License-Identifier: MIT */
/*
 * qlog.h -- the query log, off the hot path.
 *
 * Each DNS worker owns one ring (qlog_ring_t): a fixed-size, lock-free, single-producer
 * single-consumer byte ring, allocated at start. A worker appends one compact binary record
 * per answered query (qlog_put: a few stores and one memcpy of the name; no formatting, no
 * system call, no allocation, no lock); when its ring is full the record is dropped and
 * counted, never waited for. One logger thread drains every ring, formats the records
 * ("text", "json" or Route 53's "route53" format) into one buffer and writes it with one
 * write(2) per batch. The logger is told of new records by a 1 ms nap while there is work
 * and, once idle, by an eventfd that the first record after the idle moment rings (so a
 * worker makes a system call at most once per logger wake-up, never per query at load).
 *
 * Threads: qlog_put from the ring's one worker; qlog_new/start/reopen/set_format/stats/free
 * from the control thread; the logger thread is private to qlog.c. Shared state: the ring
 * head (written by the worker, release) and tail (written by the logger, release); the
 * per-ring counters (single writer, relaxed readers); the logger's pending settings (a
 * mutex between the control thread and the logger only: workers never take it).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** Line formats (configuration key query_log_format). */
enum qlog_format {
	QLOG_TEXT = 0,  /**< "query client=... ecs=... name=... type=N rcode=N policy=... set=..." */
	QLOG_JSON,      /**< one JSON object per line */
	QLOG_ROUTE53,   /**< Route 53 public DNS query log: "1.0 TIME ZONE NAME TYPE RCODE PROTO
			     EDGE RESOLVER ECS" */
};

/** Ring size per worker when the caller does not choose one (bytes, a power of two). */
#define QLOG_RING_DEFAULT (4u << 20)

/** Room for the longest line any format makes (a 255-byte name escaped, 255-byte ids and
 *  SetIdentifier JSON-escaped). */
#define QLOG_LINE_MAX 8192

typedef struct qlog qlog_t;
typedef struct qlog_ring qlog_ring_t;

/** One query as the answer code sees it; every pointer borrowed for the call only. */
typedef struct qlog_entry {
	const struct sockaddr *client; /**< resolver address (AF_INET/AF_INET6), or NULL */
	const uint8_t *ecs_addr;       /**< ECS address bytes (4 or 16), or NULL: no ECS */
	uint8_t ecs_family;            /**< ECS family: 1 IPv4, 2 IPv6 */
	uint8_t ecs_prefix;            /**< ECS source prefix length */
	const uint8_t *qname;          /**< question name, wire form (lower case), or NULL */
	uint8_t qnamelen;              /**< its length in bytes, root label included */
	uint16_t qtype;                /**< question type (0 without a question) */
	uint8_t rcode;                 /**< response code sent (16 = BADVERS) */
	uint8_t policy;                /**< routing policy of the answer (enum zdb_policy) */
	bool tcp;                      /**< the query came over TCP */
	const char *zone_id;           /**< HostedZone.Id that answered, or NULL */
	const char *set_id;            /**< SetIdentifier chosen, or NULL */
	uint64_t ts_ns;                /**< when (qlog_now_ns), or 0: qlog_put reads the clock */
} qlog_entry_t;

/** Counters of a query log, summed over its rings. */
typedef struct qlog_stats {
	uint64_t queued;        /**< records put into the rings */
	uint64_t dropped;       /**< records dropped because a ring was full */
	uint64_t written;       /**< lines written to the log */
	uint64_t write_errors;  /**< failed write(2) calls (their lines are lost) */
	uint64_t lost;          /**< lines lost to those failures */
	uint64_t bytes;         /**< bytes written */
	uint64_t reopens;       /**< files reopened (SIGHUP, SIGUSR1, a new path) */
} qlog_stats_t;

/** How to build a query log. */
typedef struct qlog_opts {
	unsigned rings;         /**< one per worker (at least 1) */
	size_t ring_bytes;      /**< bytes per ring, rounded up to a power of two (at least
				     4096); 0: QLOG_RING_DEFAULT */
	int fd;                 /**< where lines go; the log owns it when > 2 (closes it) */
	int format;             /**< enum qlog_format */
	const char *server_id;  /**< edge location written by the route53 and json formats;
				     copied; NULL: "r53d" */
} qlog_opts_t;

/**
 * Create a query log and its rings (the logger thread does not run yet).
 * \param out set to the new log; caller frees with qlog_free.
 * \retval ERR_OK, ERR_NOMEM, ERR_INVAL (no rings), ERR_SYS (eventfd).
 * On failure the log does not own o->fd. Control thread.
 */
int qlog_new(const qlog_opts_t *o, qlog_t **out);

/** Ring i (0 <= i < rings) for worker i; borrowed, lives as long as the log. */
qlog_ring_t *qlog_ring(qlog_t *l, unsigned i);

/** Start the logger thread (signals blocked in it). \retval ERR_OK, ERR_SYS. Control thread. */
int qlog_start(qlog_t *l);

/**
 * Switch to a newly opened descriptor (log rotation, a new path): lines not yet written go
 * to fd, and the logger closes the old descriptor (when > 2). The log owns fd when > 2.
 * Control thread.
 */
void qlog_reopen(qlog_t *l, int fd);

/**
 * Change the line format and the edge location (a reload). Lines still in the rings are
 * written in the new format. \retval ERR_OK, ERR_NOMEM (nothing changed). Control thread.
 */
int qlog_set_format(qlog_t *l, int format, const char *server_id);

/** Sum the counters (relaxed loads: a total may lag). Any thread while the log lives. */
void qlog_stats(const qlog_t *l, qlog_stats_t *st);

/**
 * Stop the logger after it has written every record in the rings, close the descriptor
 * (when > 2) and free the log. No worker may put records any more (join them first).
 * NULL does nothing. Control thread.
 */
void qlog_free(qlog_t *l);

/**
 * Append one record to a ring; never blocks, never allocates. A full ring drops the record
 * and counts it. \return true when queued. The ring's worker thread only.
 */
bool qlog_put(qlog_ring_t *r, const qlog_entry_t *e);

/**
 * Format one entry as a line ending in '\n' (no NUL) the way the logger would, with ts_ns
 * (UNIX time in nanoseconds) as its time. For tests and for the synchronous path.
 * \param buf at least QLOG_LINE_MAX bytes. \return the line's length. Any thread.
 */
size_t qlog_format_entry(const qlog_entry_t *e, int format, const char *server_id,
			 uint64_t ts_ns, char *buf);

/** The time for records (CLOCK_REALTIME in UNIX nanoseconds). Any thread. */
uint64_t qlog_now_ns(void);

/** Parse a format name ("text", "json", "route53"). \retval ERR_OK, ERR_INVAL. */
int qlog_format_parse(const char *name, int *format);
