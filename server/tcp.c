/* SPDX-License-Identifier: MIT */
/*
 * tcp.c -- DNS over TCP (RFC 1035 section 4.2.2, RFC 7766): accept, two-byte framing,
 * pipelined queries, answers in order, idle timeout, a cap on connections.
 *
 * Buffering. Each connection reads into its own buffer (TCP_RBUF_INIT bytes, grown once to
 * the size of a larger frame when one announces itself). Complete frames are answered one
 * by one into the worker's single 65537-byte response buffer and written at once with
 * send(); if the kernel takes only part, the rest moves to the connection's pending buffer
 * (allocated on first need), reading stops, and nothing more is answered on that
 * connection until the pending bytes are gone. So answers go out in query order, a client
 * that does not read costs at most one pending response, and no call ever blocks.
 *
 * Timeouts. The idle timer (tcp_idle_ms, a libevent common timeout) is re-armed when a query
 * is answered and when pending output drains; bytes that do not complete a frame do not
 * re-arm it, so a client trickling a frame or never reading its answers is closed after
 * tcp_idle_ms.
 *
 * The cap. At tcp_max_conns open connections a worker closes its least recently active
 * connection to accept a new one (connections are kept in activity order). New clients are
 * always served, and the connections that lose are the ones that have been silent longest;
 * an attacker holding many idle connections cannot lock real clients out, as it could if
 * the worker stopped accepting.
 *
 * Snapshots. A read event loads the snapshot for the frames it answers and reports a
 * quiescent point when done; a connection never holds a snapshot between events.
 */
#include "worker.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Initial read buffer: enough for any ordinary query and several pipelined ones. */
#define TCP_RBUF_INIT 1024
/* Connections accepted per listener event before the loop serves other events. */
#define TCP_ACCEPT_BURST 32
/* Listen backlog. */
#define TCP_BACKLOG 1024
/* Smallest DNS message: the header. */
#define DNS_HEADER_LEN 12

struct tcp_conn {
	tcp_conn_t *prev;          /* activity list: towards the least recently active */
	tcp_conn_t *next;          /* towards the most recently active */
	worker_t *w;               /* owner */
	int fd;                    /* the connection */
	struct event *rev;         /* EV_READ|EV_PERSIST; deleted while output is pending */
	struct event *wev;         /* EV_WRITE|EV_PERSIST; added while output is pending */
	struct event *tev;         /* idle timer */
	uint8_t *rbuf;             /* received bytes not yet answered */
	uint32_t rcap;             /* size of rbuf */
	uint32_t rlen;             /* bytes in rbuf */
	uint8_t *wbuf;             /* pending output (TCP_OBUF bytes), NULL until needed */
	uint32_t woff;             /* bytes of wbuf already sent */
	uint32_t wlen;             /* bytes in wbuf; 0 = nothing pending */
	unsigned queries;          /* queries answered */
	bool eof;                  /* the client closed its side: answer what is left, close */
	bool done;                 /* tcp_max_queries reached: flush, then close */
	bool draining;             /* our side shut down; discarding input until EOF or idle */
	struct sockaddr_storage peer; /* client address, for answer_build */
};

/* ---- connection list (activity order) ------------------------------------------------- */

static void list_unlink(worker_t *w, tcp_conn_t *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conn_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		w->conn_tail = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(worker_t *w, tcp_conn_t *c)
{
	c->prev = w->conn_tail;
	c->next = NULL;
	if (w->conn_tail != NULL)
		w->conn_tail->next = c;
	else
		w->conn_head = c;
	w->conn_tail = c;
}

/* The connection did something useful: re-arm its idle timer, move it to the tail. */
static void touch(tcp_conn_t *c)
{
	worker_t *w = c->w;
	event_add(c->tev, w->tcp_idle_tv);
	if (w->conn_tail != c) {
		list_unlink(w, c);
		list_append(w, c);
	}
}

static void conn_free(tcp_conn_t *c)
{
	worker_t *w = c->w;
	list_unlink(w, c);
	w->n_conns--;
	WORKER_STAT_ADD(w->stats.tcp_open, (uint64_t)-1);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->tev != NULL)
		event_free(c->tev);
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

/* ---- output ------------------------------------------------------------------------------ */

/*
 * Send len bytes now; keep what the kernel does not take as pending output.
 * \retval ERR_OK (sent or pending), ERR_IO (connection broken), ERR_NOMEM.
 */
static int conn_send(tcp_conn_t *c, const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(c->fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return ERR_IO;
	}
	if (off == len)
		return ERR_OK;
	if (c->wbuf == NULL) {
		c->wbuf = malloc(TCP_OBUF);
		if (c->wbuf == NULL)
			return ERR_NOMEM;
	}
	memcpy(c->wbuf, p + off, len - off);
	c->woff = 0;
	c->wlen = (uint32_t)(len - off);
	event_del(c->rev);
	event_add(c->wev, NULL);
	return ERR_OK;
}

/* ---- input ------------------------------------------------------------------------------- */

/*
 * Answer the complete frames in rbuf, in order, while no output is pending.
 * \retval ERR_OK (keep the connection), ERR_IO / ERR_INVAL / ERR_NOMEM (close it).
 */
static int conn_answer(tcp_conn_t *c)
{
	worker_t *w = c->w;
	const snap_t *s = NULL;
	uint32_t off = 0;
	int ret = ERR_OK;

	while (c->wlen == 0 && !c->done && c->rlen - off >= 2) {
		uint32_t flen = (uint32_t)c->rbuf[off] << 8 | c->rbuf[off + 1];
		if (flen < DNS_HEADER_LEN) {
			WORKER_STAT_INC(w->stats.tcp_bad_frames);
			ret = ERR_INVAL;
			goto out;
		}
		if (c->rlen - off < 2 + flen)
			break;
		if (s == NULL)
			s = snap_enter(w->snaps, w->id);
		size_t len = answer_build(&w->actx, s->db, c->rbuf + off + 2, flen, w->tcp_out + 2,
					  TCP_OBUF - 2, (const struct sockaddr *)&c->peer, true);
		off += 2 + flen;
		c->queries++;
		if (w->tcp_max_queries != 0 && c->queries >= w->tcp_max_queries)
			c->done = true;
		touch(c);
		if (len == 0)
			continue;
		w->tcp_out[0] = (uint8_t)(len >> 8);
		w->tcp_out[1] = (uint8_t)len;
		ret = conn_send(c, w->tcp_out, len + 2);
		if (ret != ERR_OK)
			goto out;
	}
out:
	if (s != NULL)
		snap_leave(w->snaps, w->id);
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return ret;
}

/* Make room for the frame at the start of rbuf if it is larger than the buffer. */
static int conn_reserve(tcp_conn_t *c)
{
	if (c->rlen < 2)
		return ERR_OK;
	uint32_t need = 2 + ((uint32_t)c->rbuf[0] << 8 | c->rbuf[1]);
	if (need <= c->rcap)
		return ERR_OK;
	uint8_t *p = realloc(c->rbuf, need);
	if (p == NULL)
		return ERR_NOMEM;
	c->rbuf = p;
	c->rcap = need;
	return ERR_OK;
}

/*
 * After an event: true when the connection should be closed now. Input ended: close once the
 * answers are out. Query limit reached: once the answers are out, shut our side down and
 * drain what the client still sends until it closes (or the idle timer fires), because
 * closing a socket with unread input sends a reset that can destroy answers in flight.
 */
static bool conn_finished(tcp_conn_t *c)
{
	if (c->wlen != 0)
		return false;
	if (c->eof)
		return true;
	if (!c->done || c->draining)
		return false;
	if (shutdown(c->fd, SHUT_WR) != 0)
		return true;
	c->draining = true;
	c->rlen = 0;
	event_add(c->rev, NULL);
	return false;
}

/* Draining: discard input until EOF. \retval true when the connection should close. */
static bool conn_drain(tcp_conn_t *c)
{
	/* Bounded: a client that keeps sending cannot hold the loop. */
	for (unsigned i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, c->rbuf, c->rcap, MSG_DONTWAIT);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
	return false;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	tcp_conn_t *c = arg;
	(void)what;

	if (c->draining) {
		if (conn_drain(c))
			goto close;
		return;
	}
	for (;;) {
		if (conn_reserve(c) != ERR_OK)
			goto close;
		if (c->rlen == c->rcap)
			break; /* only with answers pending, and then reading is off */
		ssize_t n = recv(fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
		if (n > 0) {
			bool full = (size_t)n == c->rcap - c->rlen;
			c->rlen += (uint32_t)n;
			if (conn_answer(c) != ERR_OK)
				goto close;
			/* A full buffer may mean more is waiting; otherwise let the loop poll. */
			if (full && c->wlen == 0 && !c->done)
				continue;
			break;
		}
		if (n == 0) {
			c->eof = true;
			event_del(c->rev);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		goto close;
	}
	if (conn_finished(c))
		goto close;
	return;
close:
	conn_free(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	tcp_conn_t *c = arg;
	(void)what;

	while (c->woff < c->wlen) {
		ssize_t n = send(fd, c->wbuf + c->woff, c->wlen - c->woff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->woff += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		goto close;
	}
	c->woff = c->wlen = 0;
	event_del(c->wev);
	touch(c);
	/* Pipelined queries that waited behind this answer. */
	if (conn_answer(c) != ERR_OK)
		goto close;
	if (conn_finished(c))
		goto close;
	if (c->wlen == 0 && !c->eof && !c->done)
		event_add(c->rev, NULL);
	return;
close:
	conn_free(c);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	tcp_conn_t *c = arg;
	(void)fd;
	(void)what;
	WORKER_STAT_INC(c->w->stats.tcp_idle_closed);
	conn_free(c);
}

/* ---- accept ---------------------------------------------------------------------------- */

static int conn_new(worker_t *w, int fd, const struct sockaddr_storage *peer)
{
	tcp_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return ERR_NOMEM;
	}
	c->w = w;
	c->fd = fd;
	c->peer = *peer;
	int one = 1;
	/* Pipelined answers must not wait for the client's delayed ACK. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	list_append(w, c);
	w->n_conns++;
	WORKER_STAT_INC(w->stats.tcp_open);
	c->rbuf = malloc(TCP_RBUF_INIT);
	c->rcap = TCP_RBUF_INIT;
	c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	c->tev = evtimer_new(w->base, on_idle, c);
	if (c->rbuf == NULL || c->rev == NULL || c->wev == NULL || c->tev == NULL ||
	    event_add(c->rev, NULL) != 0 || event_add(c->tev, w->tcp_idle_tv) != 0) {
		conn_free(c); /* closes fd */
		return ERR_NOMEM;
	}
	return ERR_OK;
}

static void pause_listener(tcp_listener_t *t)
{
	if (!t->paused) {
		event_del(t->ev);
		t->paused = true;
	}
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	tcp_listener_t *t = arg;
	worker_t *w = t->w;
	(void)what;

	for (unsigned i = 0; i < TCP_ACCEPT_BURST; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			WORKER_STAT_INC(w->stats.tcp_accept_errors);
			if ((errno == EMFILE || errno == ENFILE) && w->conn_head != NULL) {
				/* Out of descriptors: the oldest idle connection makes room. */
				WORKER_STAT_INC(w->stats.tcp_evicted);
				conn_free(w->conn_head);
				continue;
			}
			/* Nothing to close (or ENOMEM, ENOBUFS): stop accepting until the next
			 * tick rather than spin on a listener that stays readable. */
			pause_listener(t);
			return;
		}
		WORKER_STAT_INC(w->stats.tcp_accepted);
		if (w->n_conns >= w->tcp_max_conns && w->conn_head != NULL) {
			WORKER_STAT_INC(w->stats.tcp_evicted);
			conn_free(w->conn_head);
		}
		if (conn_new(w, fd, &peer) != ERR_OK)
			return;
	}
}

void tcp_resume(worker_t *w)
{
	for (size_t i = 0; i < w->n_listen; i++) {
		tcp_listener_t *t = &w->tcp[i];
		if (t->paused && t->ev != NULL && event_add(t->ev, NULL) == 0)
			t->paused = false;
	}
}

void tcp_close_all(worker_t *w)
{
	tcp_conn_t *next;
	for (tcp_conn_t *c = w->conn_head; c != NULL; c = next) {
		next = c->next; /* conn_free unlinks c and frees it */
		conn_free(c);
	}
}

int tcp_open(worker_t *w, tcp_listener_t *t, const conf_listen_t *l, char *err, size_t errlen)
{
	char as[64];
	const char *what = "socket";
	int one = 1;

	t->w = w;
	t->fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		goto fail;
	what = "SO_REUSEADDR";
	if (setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	what = "SO_REUSEPORT";
	if (setsockopt(t->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	what = "IPV6_V6ONLY";
	if (l->addr.ss_family == AF_INET6 &&
	    setsockopt(t->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	what = "cannot bind";
	if (bind(t->fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0)
		goto fail;
	what = "listen";
	if (listen(t->fd, TCP_BACKLOG) != 0)
		goto fail;
	t->ev = event_new(w->base, t->fd, EV_READ | EV_PERSIST, on_accept, t);
	if (t->ev == NULL || event_add(t->ev, NULL) != 0) {
		snprintf(err, errlen, "%s tcp: cannot register event",
			 worker_addr_str((const struct sockaddr *)&l->addr, as, sizeof(as)));
		return ERR_SYS;
	}
	return ERR_OK;
fail:
	snprintf(err, errlen, "%s tcp: %s: %s",
		 worker_addr_str((const struct sockaddr *)&l->addr, as, sizeof(as)), what,
		 strerror(errno));
	return ERR_SYS;
}

void tcp_close(tcp_listener_t *t)
{
	if (t->ev != NULL) {
		event_free(t->ev);
		t->ev = NULL;
	}
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
}
