/* SPDX-License-Identifier: MIT */
/*
 * hc_testsrv.h -- loopback endpoints for the health-check tests, in one thread.
 *
 * Every listener binds 127.0.0.1 on an ephemeral port. Behaviour can be changed while
 * the server runs (under the server's mutex); counters are read the same way.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ts_mode {
	TS_HTTP,        /**< answer the request with status/body */
	TS_SILENT,      /**< accept and never answer (also: a TLS handshake that stalls) */
	TS_DRIBBLE,     /**< answer 200 one byte per second */
	TS_HUGE_HEADER, /**< status 200 then 20000 bytes of headers */
	TS_EXACT_HEADER, /**< status 200 then header lines of exactly 16384 bytes (HC-6 limit) */
	TS_CLOSE,       /**< accept, read the request, close without answering */
} ts_mode_t;

typedef struct ts_server ts_server_t;
typedef struct ts_listener ts_listener_t;

/** Create the server (listeners and DNS are added before ts_run). Aborts on failure. */
ts_server_t *ts_new(void);
/** Start the server thread. */
void ts_run(ts_server_t *s);
/** Stop the thread and free everything. */
void ts_stop(ts_server_t *s);

/** Add a TCP/HTTP listener (tls: HTTPS with a self-signed cert for www.example.test). */
ts_listener_t *ts_listen(ts_server_t *s, ts_mode_t mode, bool tls);
/** Its port. */
uint16_t ts_port(const ts_listener_t *l);
/** Change mode. */
void ts_set_mode(ts_server_t *s, ts_listener_t *l, ts_mode_t mode);
/** Answer requests ms milliseconds after they arrive (0, the default: at once). */
void ts_set_delay(ts_server_t *s, ts_listener_t *l, unsigned ms);
/** HTTP status and reason for TS_HTTP (default 200 OK). */
void ts_set_status(ts_server_t *s, ts_listener_t *l, int status, const char *reason);
/** Body (copied); chunked: send with Transfer-Encoding: chunked; gzip: 1 gzip it, 2 send it
 *  as "deflate" in raw RFC 1951 form (no zlib wrapper, as many servers do). */
void ts_set_body(ts_server_t *s, ts_listener_t *l, const char *body, size_t len, bool chunked,
		 int gzip);
/**
 * Per-source policy: only peers 127.0.0.x with bit x set in allow (x < 64) get the normal
 * answer; others get 503 (deny_close false) or a closed connection. allow 0: everyone.
 */
void ts_set_allow(ts_server_t *s, ts_listener_t *l, uint64_t allow, bool deny_close);
/** Requests (or connections, for TS_SILENT) seen so far. */
unsigned ts_count(ts_server_t *s, ts_listener_t *l);
/** Copy of the last request head (NUL-terminated, truncated to len). */
void ts_last_request(ts_server_t *s, ts_listener_t *l, char *buf, size_t len);
/** Last SNI name received ("" when none), and TLS handshakes completed. */
unsigned ts_tls_info(ts_server_t *s, ts_listener_t *l, char *sni, size_t len);

/** A port on 127.0.0.1 with nothing listening (connections are refused). */
uint16_t ts_closed_port(void);

/** Start a UDP DNS responder on 127.0.0.1; returns its port. */
uint16_t ts_dns(ts_server_t *s);
/** Answer A queries for name with ip (NULL: NXDOMAIN, the default); "silent": drop. */
void ts_dns_set(ts_server_t *s, const char *name, const char *ip);
void ts_dns_silent(ts_server_t *s, const char *name);
/** DNS queries received. */
unsigned ts_dns_count(ts_server_t *s);
