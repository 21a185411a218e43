/* SPDX-License-Identifier: MIT */
/*
 * hc_probe_tcp.c -- one probe's common path: start, resolve, connect, finish.
 *
 * Every step is non-blocking and bounded by ck->timer, which is re-armed with the
 * deadline of the current phase (spec HC-1, HC-2, HC-7):
 *   resolving   HC_DNS_MS (FullyQualifiedDomainName without IPAddress, evdns, IPv4 only)
 *   connecting  10 s for TCP, 4 s for HTTP(S)
 * A TCP check passes when the connection is established and then closes it (FIN,
 * spec HC-2). HTTP(S) continues in hc_probe_http.c. A source address, when configured,
 * is bound before connect with IP_BIND_ADDRESS_NO_PORT so that the kernel picks the
 * port at connect time from the whole 4-tuple space.
 * MeasureLatency: the connect time runs from connect() to the connection being
 * established (monotonic clock, pool thread); hc_probe_http.c adds the time to the first
 * response byte, counted from the same connect(). Both go to the aggregator with the result.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <zlib.h>

#include "hc_int.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static int kind_of(const hc_check_conf_t *cc)
{
	if (cc->type == HC_T_TCP)
		return HC_KIND_TCP;
	if (cc->type == HC_T_HTTPS || cc->type == HC_T_HTTPS_STR_MATCH)
		return HC_KIND_HTTPS;
	return HC_KIND_HTTP;
}

void hc_probe_arm(hc_checker_t *ck, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(ck->timer, &tv);
}

void hc_probe_cleanup(hc_checker_t *ck)
{
	if (ck->dns != NULL) {
		/* the callback still runs, with DNS_ERR_CANCEL, and ignores it */
		evdns_cancel_request(ck->thr->dnsb, ck->dns);
		ck->dns = NULL;
	}
	if (ck->fd >= 0) {
		event_del(ck->io);
		close(ck->fd);
		ck->fd = -1;
	}
	if (ck->bev != NULL) {
		bufferevent_free(ck->bev);
		ck->bev = NULL;
	}
	if (ck->http.z != NULL) {
		inflateEnd(ck->http.z);
		free(ck->http.z);
		ck->http.z = NULL;
	}
}

void hc_probe_finish(hc_checker_t *ck, hc_res_t res, const char *fmt, ...)
{
	char text[sizeof(((hc_obs_t *)0)->status)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
	hc_probe_cleanup(ck);

	uint64_t now = hc_now_ns();
	uint64_t us = (now - ck->start_ns) / 1000;
	hc_tstats_t *st = ck->thr->stats;
	hc_count(&st->probes[kind_of(ck->cc)][res], 1);
	hc_count(&st->duration[hc_hist_bucket(us)], 1);
	hc_count(&st->duration_sum_us, us);

	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	hc_result_t r = {
		.ok = res == HC_RES_OK,
		.status = text,
		/* the checker's address (HC-29); before any socket (DNS failed): this host */
		.ip = ck->local_ip[0] != '\0' ? ck->local_ip
		      : ck->src != NULL	    ? ck->src->text
					    : "127.0.0.1",
		.checked_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000,
		.connect_ns = ck->connect_ns,
		.first_byte_ns = ck->first_byte_ns,
	};
	hc_agg_report(&ck->thr->run->sys->aggr, ck->check, ck->idx, &r);

	/* spec HC-16: the interval runs from the end of this probe */
	ck->state = HC_CS_IDLE;
	ck->due_ns = now + ck->cc->interval * 1000000000ull;
	hc_probe_arm(ck, ck->cc->interval * 1000);
}

static void dns_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	hc_checker_t *ck = arg;
	(void)ttl;
	if (result == DNS_ERR_CANCEL || result == DNS_ERR_SHUTDOWN)
		return;
	if (ck->state != HC_CS_RESOLVING)
		return; /* a late answer to a probe that already timed out */
	ck->dns = NULL;
	if (result != DNS_ERR_NONE) {
		hc_probe_finish(ck, HC_RES_DNS, "Failure: DNS resolution failed: %s",
				evdns_err_to_string(result));
		return;
	}
	if (type != DNS_IPv4_A || count < 1) {
		hc_probe_finish(ck, HC_RES_DNS, "Failure: DNS resolution failed: no A record for %s",
				ck->cc->sni);
		return;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&ck->dst;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(ck->cc->port);
	memcpy(&sin->sin_addr, addresses, 4); /* spec HC-13: the first address */
	ck->dstlen = sizeof(*sin);
	hc_probe_connect(ck);
}

void hc_probe_start(hc_checker_t *ck)
{
	uint64_t now = hc_now_ns();
	uint64_t late_us = now > ck->due_ns ? (now - ck->due_ns) / 1000 : 0;
	hc_tstats_t *st = ck->thr->stats;
	hc_count(&st->lateness[hc_hist_bucket(late_us)], 1);
	hc_count(&st->lateness_sum_us, late_us);
	if (late_us > 100000)
		hc_count(&st->late, 1);
	ck->start_ns = now;
	ck->connect_ns = 0;
	ck->first_byte_ns = 0;
	ck->local_ip[0] = '\0';
	ck->no_sni = false;
	const hc_check_conf_t *cc = ck->cc;
	if (cc->ip != NULL) {
		memcpy(&ck->dst, &cc->addr, cc->addrlen);
		ck->dstlen = cc->addrlen;
		hc_probe_connect(ck);
		return;
	}
	ck->state = HC_CS_RESOLVING;
	hc_probe_arm(ck, HC_DNS_MS);
	struct evdns_request *req = evdns_base_resolve_ipv4(ck->thr->dnsb, cc->sni,
							     DNS_QUERY_NO_SEARCH, dns_cb, ck);
	if (req == NULL) {
		if (ck->state == HC_CS_RESOLVING)
			hc_probe_finish(ck, HC_RES_DNS,
					"Failure: DNS resolution failed: cannot send the query");
		return;
	}
	if (ck->state == HC_CS_RESOLVING) /* the callback has not run synchronously */
		ck->dns = req;
}

static void local_addr(hc_checker_t *ck, int fd)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	const void *a = ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
						: (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	inet_ntop(ss.ss_family, a, ck->local_ip, sizeof(ck->local_ip));
}

/** Monotonic ns since t, at least 1 (0 means "not measured"). */
static uint64_t since_ns(uint64_t t)
{
	uint64_t now = hc_now_ns();
	return now > t ? now - t : 1;
}

static void connected(hc_checker_t *ck, int fd)
{
	if (ck->cc->measure_latency)
		ck->connect_ns = since_ns(ck->conn_start_ns);
	local_addr(ck, fd);
	if (ck->cc->type == HC_T_TCP) {
		close(fd);
		hc_probe_finish(ck, HC_RES_OK, "Success: TCP connection established");
		return;
	}
	hc_probe_http_begin(ck, fd);
}

static void connect_failed(hc_checker_t *ck, int e)
{
	if (e == ECONNREFUSED)
		hc_probe_finish(ck, HC_RES_REFUSED, "Failure: Connection refused");
	else if (e == ETIMEDOUT)
		hc_probe_finish(ck, HC_RES_TIMEOUT,
				"Failure: Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall.");
	else
		hc_probe_finish(ck, HC_RES_ERROR, "Failure: Connection failed: %s", strerror(e));
}

static void io_cb(evutil_socket_t fd, short what, void *arg)
{
	hc_checker_t *ck = arg;
	int e = 0;
	socklen_t len = sizeof(e);
	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e == EINPROGRESS) {
		event_add(ck->io, NULL);
		return;
	}
	ck->fd = -1; /* ownership moves on (or the socket is closed below) */
	if (e != 0) {
		close(fd);
		connect_failed(ck, e);
		return;
	}
	connected(ck, fd);
}

void hc_probe_connect(hc_checker_t *ck)
{
	int family = ck->dst.ss_family;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		hc_probe_finish(ck, HC_RES_ERROR, "Failure: cannot create a socket: %s",
				strerror(errno));
		return;
	}
	if (ck->src != NULL && ck->src->addr.ss_family == family) {
		int one = 1;
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&ck->src->addr, ck->src->addrlen) < 0) {
			int e = errno;
			close(fd);
			hc_probe_finish(ck, HC_RES_ERROR, "Failure: cannot bind source address %s: %s",
					ck->src->text, strerror(e));
			return;
		}
	}
	if (ck->cc->measure_latency)
		ck->conn_start_ns = hc_now_ns();
	if (connect(fd, (const struct sockaddr *)&ck->dst, ck->dstlen) == 0) {
		connected(ck, fd);
		return;
	}
	int e = errno;
	/* the kernel has chosen the source address by now: observations of failed probes
	 * name the checker too, as GetHealthCheckStatus does */
	local_addr(ck, fd);
	if (e != EINPROGRESS) {
		close(fd);
		connect_failed(ck, e);
		return;
	}
	ck->state = HC_CS_CONNECTING;
	ck->fd = fd;
	event_assign(ck->io, ck->thr->base, fd, EV_WRITE, io_cb, ck);
	event_add(ck->io, NULL);
	hc_probe_arm(ck, ck->cc->type == HC_T_TCP ? HC_TCP_CONNECT_MS : HC_HTTP_CONNECT_MS);
}
