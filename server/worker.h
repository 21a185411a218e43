/* SPDX-License-Identifier: MIT */
/*
 * worker.h -- one DNS worker: a thread, its event_base, its sockets and its counters.
 *
 * Each worker owns one UDP socket and one TCP listener per listen address (all bound with
 * SO_REUSEPORT, so the kernel spreads queries and connections over the workers), a
 * preallocated recvmmsg/sendmmsg batch, a 65537-byte TCP response buffer, its open TCP
 * connections, an answer_ctx_t (rng and counters) and a reader slot in the snapshot domain.
 * It shares nothing writable with other threads except its counters (single writer, read
 * with relaxed loads by the control thread) and its snapshot epoch slot (snap.h).
 *
 * Life cycle, all from the control thread except where noted:
 *   worker_new (sockets bound, event_base built) -> worker_start (thread runs) ->
 *   worker_stop (any thread: wakes the loop through an eventfd) -> worker_join -> worker_free.
 *
 * The lower half of this header is shared by worker.c, udp.c and tcp.c only.
 */
#pragma once

#include <event2/event.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "answer.h"
#include "conf.h"
#include "rrl.h"
#include "snap.h"

/** Network counters of one worker; single writer (the worker), relaxed readers. */
typedef struct worker_stats {
	uint64_t udp_recv_errors;  /**< recvmmsg failures other than EAGAIN/EINTR */
	uint64_t udp_send_errors;  /**< datagrams not sent (sendmmsg error or EAGAIN) */
	uint64_t udp_oversize;     /**< datagrams larger than the receive buffer (dropped) */
	uint64_t tcp_accepted;     /**< TCP connections accepted */
	uint64_t tcp_open;         /**< TCP connections open now (gauge) */
	uint64_t tcp_idle_closed;  /**< closed by the idle timeout */
	uint64_t tcp_evicted;      /**< closed to make room at tcp_max_conns */
	uint64_t tcp_bad_frames;   /**< closed for a frame length < 12 */
	uint64_t tcp_accept_errors; /**< accept failures (EMFILE, ENFILE, ...) */
} worker_stats_t;

/** Increment a single-writer counter so that relaxed readers never see a torn value. */
#define WORKER_STAT_INC(c) \
	__atomic_store_n(&(c), __atomic_load_n(&(c), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED)
/** Add n to a single-writer counter (see WORKER_STAT_INC). */
#define WORKER_STAT_ADD(c, n) \
	__atomic_store_n(&(c), __atomic_load_n(&(c), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)

/** What a worker needs from the configuration; copied by worker_new. */
typedef struct worker_cfg {
	unsigned id;                  /**< 0 .. workers-1; also the snapshot reader slot */
	snap_domain_t *snaps;         /**< borrowed; outlives the worker */
	const conf_listen_t *listen;  /**< listen addresses (ports resolved); borrowed for the call */
	size_t n_listen;              /**< number of listen addresses */
	unsigned tcp_idle_ms;         /**< TCP idle timeout */
	unsigned tcp_max_conns;       /**< TCP connections per worker before eviction */
	unsigned tcp_max_queries;     /**< queries per TCP connection, 0 = unlimited */
	uint64_t seed;                /**< answer_ctx_t seed, distinct per worker */
	int qlog_fd;                  /**< synchronous text query log (tests), -1: off */
	struct qlog_ring *qlog;       /**< this worker's query-log ring (qlog.h), NULL: off;
					   borrowed, outlives the worker */
	rrl_t *rrl;                   /**< response rate limiting (rrl.h), NULL: none; borrowed,
					   outlives the worker */
	bool answer_cache;            /**< keep an answer cache (acache.h) */
	size_t answer_cache_size;     /**< its ring's bytes; 0: ACACHE_DEFAULT_BYTES */
	size_t signature_cache;       /**< DNSSEC: bytes of the worker's signature cache
					   (zsign_new); 0: ZSIGN_CACHE_DEFAULT */
} worker_cfg_t;

typedef struct worker worker_t;

/**
 * Create a worker: open and bind its sockets, build its event_base. Does not start it.
 * \param out  set to the new worker; caller frees with worker_free.
 * \param err  receives "ADDRESS udp: reason" on failure.
 * \retval ERR_OK, ERR_NOMEM, ERR_SYS (socket/bind/listen failed: errno-based message in err).
 * Control thread.
 */
int worker_new(const worker_cfg_t *cfg, worker_t **out, char *err, size_t errlen);

/**
 * Start the worker's thread (signals blocked in it).
 * \retval ERR_OK, ERR_SYS. Control thread.
 */
int worker_start(worker_t *w);

/** Ask the worker's loop to stop. Async-signal-safe write to an eventfd; any thread. */
void worker_stop(worker_t *w);

/** Wait for a started worker's thread to end. Control thread. */
void worker_join(worker_t *w);

/** Close the worker's connections and sockets and free it; after worker_join or when it was
 *  never started. NULL does nothing. Control thread. */
void worker_free(worker_t *w);

/** The worker's answer counters; read with relaxed loads (stats.c). Any thread. */
const answer_stats_t *worker_answer_stats(const worker_t *w);

/** The worker's network counters; read with relaxed loads (stats.c). Any thread. */
const worker_stats_t *worker_net_stats(const worker_t *w);

/** The counters of the worker's DNSSEC signer (zsign_stats; relaxed reads). Any thread
 *  while the worker exists. */
void worker_sign_stats(const worker_t *w, zsign_stats_t *st);

/**
 * Check that a listen address is free for UDP and TCP by binding it without SO_REUSEPORT
 * (SO_REUSEPORT alone would silently share a port with another server), and resolve port 0
 * to a free port, written back into l->addr.
 * \retval ERR_OK, ERR_SYS (message "ADDRESS udp|tcp: reason" in err). Control thread.
 */
int worker_probe_listen(conf_listen_t *l, char *err, size_t errlen);

/** The port of an AF_INET or AF_INET6 address, in host order. */
uint16_t worker_addr_port(const struct sockaddr_storage *ss);

/** Format an address as "1.2.3.4:53" or "[::1]:53" into buf (64 bytes are enough). */
const char *worker_addr_str(const struct sockaddr *sa, char *buf, size_t len);

/* ---- shared by worker.c, udp.c and tcp.c only ---------------------------------------- */

/** Datagrams per recvmmsg/sendmmsg batch. */
#define UDP_BATCH 32
/** Receive buffer per datagram; larger queries are dropped (MSG_TRUNC). */
#define UDP_RBUF 4096
/** Response buffer per datagram: our EDNS size is at most 4096. */
#define UDP_SBUF 4096
/** TCP response buffer: two length bytes and the largest DNS message. */
#define TCP_OBUF (2 + 65535)

/** Control message space for IP_PKTINFO / IPV6_PKTINFO. */
#define UDP_CMSG_SPACE 64

/** One UDP socket of a worker. */
typedef struct udp_sock {
	int fd;                /**< bound, non-blocking; -1 when closed */
	struct event *ev;      /**< EV_READ|EV_PERSIST on fd */
	worker_t *w;           /**< owner */
	bool pktinfo;          /**< wildcard address: reply from the query's destination */
	int family;            /**< AF_INET or AF_INET6 */
} udp_sock_t;

/** One TCP listener of a worker. */
typedef struct tcp_listener {
	int fd;                /**< listening, non-blocking; -1 when closed */
	struct event *ev;      /**< EV_READ|EV_PERSIST on fd */
	worker_t *w;           /**< owner */
	bool paused;           /**< accepting paused (EMFILE); resumed by the worker tick */
} tcp_listener_t;

typedef struct tcp_conn tcp_conn_t;

/** The preallocated UDP batch: message headers, addresses, control data and buffers. */
typedef struct udp_batch {
	struct mmsghdr rmsg[UDP_BATCH];        /**< receive headers */
	struct mmsghdr smsg[UDP_BATCH];        /**< send headers (answered datagrams only) */
	struct iovec riov[UDP_BATCH];          /**< receive iovecs -> rbuf */
	struct iovec siov[UDP_BATCH];          /**< send iovecs -> sbuf */
	struct sockaddr_storage name[UDP_BATCH]; /**< client addresses */
	union {
		char buf[UDP_CMSG_SPACE];      /**< control data (pktinfo) */
		struct cmsghdr align;          /**< alignment for CMSG_* macros */
	} ctl[UDP_BATCH];                      /**< per-datagram control buffers */
	uint8_t rbuf[UDP_BATCH][UDP_RBUF];     /**< query bytes */
	uint8_t sbuf[UDP_BATCH][UDP_SBUF];     /**< response bytes */
} udp_batch_t;

/* The padding is deliberate: the counters other threads read sit on cache lines of their own. */
struct worker { // NOLINT(clang-analyzer-optin.performance.Padding)
	alignas(64) answer_ctx_t actx; /**< rng and answer counters; this worker only */
	alignas(64) worker_stats_t stats; /**< network counters; this worker only */
	unsigned id;                   /**< worker number = snapshot reader slot */
	snap_domain_t *snaps;          /**< borrowed from the daemon */
	struct event_base *base;       /**< this worker's loop; used by this thread only */
	pthread_t thread;              /**< the worker thread */
	bool started;                  /**< thread was created */
	int stop_fd;                   /**< eventfd written by worker_stop */
	struct event *stop_ev;         /**< read event on stop_fd */
	struct event *tick_ev;         /**< 10 ms timer: quiescent point, resume accepting */
	udp_sock_t *udp;               /**< one per listen address */
	tcp_listener_t *tcp;           /**< one per listen address */
	size_t n_listen;               /**< entries in udp and tcp */
	udp_batch_t *batch;            /**< UDP batch buffers (one per worker) */
	uint8_t *tcp_out;              /**< TCP_OBUF response buffer */
	tcp_conn_t *conn_head;         /**< open connections, least recently active first */
	tcp_conn_t *conn_tail;         /**< most recently active */
	unsigned n_conns;              /**< open connections */
	unsigned tcp_idle_ms;          /**< idle timeout */
	unsigned tcp_max_conns;        /**< cap on open connections */
	unsigned tcp_max_queries;      /**< per connection, 0 = unlimited */
	const struct timeval *tcp_idle_tv; /**< common-timeout handle for tcp_idle_ms */
	unsigned ticks;                /**< 10 ms ticks since start (error report pacing) */
	uint64_t reported_errors;      /**< error counters' sum at the last report */
	rrl_t *rrl;                    /**< response rate limiting, or NULL; borrowed */
};

/**
 * Open a UDP socket bound to l with SO_REUSEPORT (IPV6_V6ONLY on v6; pktinfo on wildcards)
 * and register its read event on w->base.
 * \retval ERR_OK, ERR_SYS (message in err). Control thread, from worker_new.
 */
int udp_open(worker_t *w, udp_sock_t *u, const conf_listen_t *l, char *err, size_t errlen);

/** Close a UDP socket and free its event. Idempotent. */
void udp_close(udp_sock_t *u);

/** Allocate and wire up the batch buffers. \retval ERR_OK, ERR_NOMEM. */
int udp_batch_init(worker_t *w);

/**
 * Open a TCP listener bound to l with SO_REUSEPORT and register its accept event.
 * \retval ERR_OK, ERR_SYS (message in err). Control thread, from worker_new.
 */
int tcp_open(worker_t *w, tcp_listener_t *t, const conf_listen_t *l, char *err, size_t errlen);

/** Close a listener and free its event. Idempotent. */
void tcp_close(tcp_listener_t *t);

/** Resume accepting on listeners paused by EMFILE/ENFILE. Worker thread (tick). */
void tcp_resume(worker_t *w);

/** Close every open connection of w. Worker thread, or control thread after join. */
void tcp_close_all(worker_t *w);
