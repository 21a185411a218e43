/* SPDX-License-Identifier: MIT */
/*
 * worker.c -- one DNS worker thread: its event_base, its sockets, its life cycle.
 *
 * The loop of a worker runs three kinds of events: UDP readable (udp.c), TCP accept and
 * connection I/O (tcp.c), and two of its own: a 10 ms tick that reports a quiescent point
 * to the snapshot domain (so an idle worker never holds up a grace period), resumes
 * paused listeners and empties the answer cache when the DNSSEC validity window changes
 * (answer_sign_tick), and an eventfd by which the control thread asks it to stop. No other
 * thread ever touches the worker's event_base (STYLE.md section 3, "Threads").
 */
#include "worker.h"
#include "acache.h"
#include "err.h"
#include "log.h"
#include "zsign.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WORKER_TICK_MS 10
/* Recurring socket errors are logged at most once per this many ticks (10 s). */
#define WORKER_REPORT_TICKS 1000

const char *worker_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}

uint16_t worker_addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

/* Bind a plain socket of the given type to addr (no SO_REUSEPORT); return the fd or -1. */
static int probe_one(const struct sockaddr_storage *addr, socklen_t len, int type)
{
	int fd = socket(addr->ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	if (addr->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int worker_probe_listen(conf_listen_t *l, char *err, size_t errlen)
{
	char as[64];
	bool any_port = worker_addr_port(&l->addr) == 0;

	/* Port 0: take the port the kernel gives the UDP probe, and hope TCP has it free too;
	 * a few tries make a collision vanishingly rare. */
	for (int attempt = 0; attempt < (any_port ? 16 : 1); attempt++) {
		struct sockaddr_storage a = l->addr;
		int ufd = probe_one(&a, l->addrlen, SOCK_DGRAM);
		if (ufd < 0) {
			snprintf(err, errlen, "%s udp: cannot bind: %s",
				 worker_addr_str((struct sockaddr *)&a, as, sizeof(as)),
				 strerror(errno));
			return ERR_SYS;
		}
		if (any_port) {
			socklen_t sl = sizeof(a);
			if (getsockname(ufd, (struct sockaddr *)&a, &sl) != 0) {
				snprintf(err, errlen, "%s: getsockname: %s", l->text, strerror(errno));
				close(ufd);
				return ERR_SYS;
			}
		}
		int tfd = probe_one(&a, l->addrlen, SOCK_STREAM);
		int terr = errno;
		close(ufd);
		if (tfd >= 0) {
			close(tfd);
			l->addr = a;
			return ERR_OK;
		}
		if (!any_port || terr != EADDRINUSE) {
			snprintf(err, errlen, "%s tcp: cannot bind: %s",
				 worker_addr_str((struct sockaddr *)&a, as, sizeof(as)),
				 strerror(terr));
			return ERR_SYS;
		}
		addr_set_port(&a, 0);
	}
	snprintf(err, errlen, "%s: no port free for both udp and tcp", l->text);
	return ERR_SYS;
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	worker_t *w = arg;
	uint64_t v;
	(void)what;
	ssize_t n = read(fd, &v, sizeof(v));
	(void)n;
	event_base_loopbreak(w->base);
}

/* Log socket errors counted since the last report, at most once per 10 s. */
static void report_errors(worker_t *w)
{
	const worker_stats_t *s = &w->stats;
	uint64_t sum = s->udp_recv_errors + s->udp_send_errors + s->tcp_accept_errors;
	if (sum == w->reported_errors)
		return;
	w->reported_errors = sum;
	log_msg(LOG_WARNING,
		"worker %u: socket errors so far: udp receive %" PRIu64 ", udp send %" PRIu64
		", tcp accept %" PRIu64 " (see /metrics)",
		w->id, s->udp_recv_errors, s->udp_send_errors, s->tcp_accept_errors);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	worker_t *w = arg;
	(void)fd;
	(void)what;
	snap_leave(w->snaps, w->id);
	tcp_resume(w);
	if (w->actx.sign != NULL) {
		struct timespec ts;
		if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0)
			answer_sign_tick(&w->actx, (uint64_t)ts.tv_sec);
	}
	if (++w->ticks % WORKER_REPORT_TICKS == 0)
		report_errors(w);
}

int worker_new(const worker_cfg_t *cfg, worker_t **out, char *err, size_t errlen)
{
	int ret = ERR_NOMEM;
	struct event_config *ecfg = NULL;
	worker_t *w;

	*out = NULL;
	w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	if (w == NULL) {
		snprintf(err, errlen, "worker %u: out of memory", cfg->id);
		return ERR_NOMEM;
	}
	memset(w, 0, sizeof(*w));
	w->id = cfg->id;
	w->snaps = cfg->snaps;
	w->stop_fd = -1;
	w->tcp_idle_ms = cfg->tcp_idle_ms;
	w->tcp_max_conns = cfg->tcp_max_conns ? cfg->tcp_max_conns : 1;
	w->tcp_max_queries = cfg->tcp_max_queries;
	answer_ctx_init(&w->actx, cfg->seed);
	w->actx.qlog_fd = cfg->qlog_fd;
	w->rrl = cfg->rrl;
	w->actx.qlog = cfg->qlog;

	/* The base is used by one thread only: no locks inside libevent. */
	ecfg = event_config_new();
	if (ecfg == NULL || event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK) != 0)
		goto nomem;
	w->base = event_base_new_with_config(ecfg);
	if (w->base == NULL) {
		snprintf(err, errlen, "worker %u: cannot create event base", cfg->id);
		ret = ERR_SYS;
		goto out;
	}
	struct timeval idle = { .tv_sec = cfg->tcp_idle_ms / 1000,
				.tv_usec = (suseconds_t)(cfg->tcp_idle_ms % 1000) * 1000 };
	w->tcp_idle_tv = event_base_init_common_timeout(w->base, &idle);
	if (w->tcp_idle_tv == NULL)
		goto nomem;

	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->stop_fd < 0) {
		snprintf(err, errlen, "worker %u: eventfd: %s", cfg->id, strerror(errno));
		ret = ERR_SYS;
		goto out;
	}
	w->stop_ev = event_new(w->base, w->stop_fd, EV_READ | EV_PERSIST, on_stop, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	if (w->stop_ev == NULL || w->tick_ev == NULL)
		goto nomem;
	struct timeval tick = { .tv_sec = 0, .tv_usec = (suseconds_t)WORKER_TICK_MS * 1000 };
	if (event_add(w->stop_ev, NULL) != 0 || event_add(w->tick_ev, &tick) != 0)
		goto nomem;

	w->tcp_out = malloc(TCP_OBUF);
	w->udp = calloc(cfg->n_listen, sizeof(*w->udp));
	w->tcp = calloc(cfg->n_listen, sizeof(*w->tcp));
	if (w->tcp_out == NULL || w->udp == NULL || w->tcp == NULL ||
	    udp_batch_init(w) != ERR_OK ||
	    (cfg->answer_cache && acache_new(cfg->answer_cache_size != 0 ? cfg->answer_cache_size
						      : ACACHE_DEFAULT_BYTES,
				      &w->actx.cache) != ERR_OK))
		goto nomem;
	ret = zsign_new(&w->actx.sign,
			cfg->signature_cache != 0 ? cfg->signature_cache : ZSIGN_CACHE_DEFAULT);
	if (ret != ERR_OK) {
		snprintf(err, errlen, "worker %u: DNSSEC signer: %s", cfg->id, err_str(ret));
		goto out;
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		w->udp[i].fd = -1;
		w->tcp[i].fd = -1;
	}
	w->n_listen = cfg->n_listen;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		ret = udp_open(w, &w->udp[i], &cfg->listen[i], err, errlen);
		if (ret != ERR_OK)
			goto out;
		ret = tcp_open(w, &w->tcp[i], &cfg->listen[i], err, errlen);
		if (ret != ERR_OK)
			goto out;
	}
	*out = w;
	w = NULL;
	ret = ERR_OK;
	goto out;
nomem:
	snprintf(err, errlen, "worker %u: out of memory", cfg->id);
	ret = ERR_NOMEM;
out:
	if (ecfg != NULL)
		event_config_free(ecfg);
	worker_free(w);
	return ret;
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "r53d-w%u", w->id);
	pthread_setname_np(pthread_self(), name);
	snap_leave(w->snaps, w->id);
	log_msg(LOG_DEBUG, "worker %u: running", w->id);
	if (event_base_dispatch(w->base) < 0)
		log_msg(LOG_ERR, "worker %u: event loop failed", w->id);
	/* Leaving the loop is a quiescent point too: no snapshot is held any more. */
	snap_leave(w->snaps, w->id);
	log_msg(LOG_DEBUG, "worker %u: stopped", w->id);
	return NULL;
}

int worker_start(worker_t *w)
{
	sigset_t all, old;
	sigfillset(&all);
	/* Signals go to the control thread: the worker inherits a fully blocked mask. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_msg(LOG_ERR, "worker %u: cannot start thread: %s", w->id, strerror(rc));
		return ERR_SYS;
	}
	w->started = true;
	return ERR_OK;
}

void worker_stop(worker_t *w)
{
	uint64_t one = 1;
	if (w->stop_fd >= 0) {
		ssize_t n = write(w->stop_fd, &one, sizeof(one));
		(void)n;
	}
}

void worker_join(worker_t *w)
{
	if (w->started) {
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void worker_free(worker_t *w)
{
	if (w == NULL)
		return;
	tcp_close_all(w);
	for (size_t i = 0; i < w->n_listen; i++) {
		udp_close(&w->udp[i]);
		tcp_close(&w->tcp[i]);
	}
	if (w->stop_ev != NULL)
		event_free(w->stop_ev);
	if (w->tick_ev != NULL)
		event_free(w->tick_ev);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	if (w->base != NULL)
		event_base_free(w->base);
	free(w->udp);
	free(w->tcp);
	free(w->batch);
	acache_free(w->actx.cache);
	zsign_free(w->actx.sign);
	free(w->tcp_out);
	free(w);
}

const answer_stats_t *worker_answer_stats(const worker_t *w)
{
	return &w->actx.stats;
}

const worker_stats_t *worker_net_stats(const worker_t *w)
{
	return &w->stats;
}

void worker_sign_stats(const worker_t *w, zsign_stats_t *st)
{
	if (w->actx.sign != NULL)
		zsign_stats(w->actx.sign, st);
	else
		memset(st, 0, sizeof(*st));
}
