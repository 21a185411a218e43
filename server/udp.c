/* SPDX-License-Identifier: MIT */
/*
 * udp.c -- DNS over UDP: recvmmsg batch in, answer_build per datagram, sendmmsg batch out.
 *
 * Per readable event the worker runs up to UDP_ROUNDS batches. Per batch the only system
 * calls are one recvmmsg and one sendmmsg (more only when the kernel takes part of the batch),
 * the snapshot is loaded once (snap_enter) and released once (snap_leave), and nothing is
 * allocated: headers, addresses, control data and buffers live in the worker's udp_batch_t.
 *
 * Sockets bound to a wildcard address (0.0.0.0, ::) receive IP_PKTINFO / IPV6_PKTINFO and
 * send each reply with the query's destination address as source, so that a client on a
 * multi-homed host gets its answer from the address it asked.
 */
#include "worker.h"
#include "acache.h"
#include "zanswer.h"
#include "err.h"
#include "log.h"
#include "qlog.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Batches per readable event before the loop serves other sockets. */
#define UDP_ROUNDS 8
/* Socket receive buffer asked for (best effort: capped by net.core.rmem_max). */
#define UDP_RCVBUF (4 * 1024 * 1024)

int udp_batch_init(worker_t *w)
{
	udp_batch_t *b = aligned_alloc(64, (sizeof(*b) + 63) & ~(size_t)63);
	if (b == NULL)
		return ERR_NOMEM;
	memset(b, 0, sizeof(*b));
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		b->riov[i].iov_base = b->rbuf[i];
		b->riov[i].iov_len = UDP_RBUF;
		b->siov[i].iov_base = b->sbuf[i];
		struct msghdr *h = &b->rmsg[i].msg_hdr;
		h->msg_name = &b->name[i];
		h->msg_iov = &b->riov[i];
		h->msg_iovlen = 1;
		h->msg_control = b->ctl[i].buf;
	}
	w->batch = b;
	return ERR_OK;
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

/*
 * Turn the pktinfo received with a query into the control data of its reply, in place at
 * the start of the same buffer: the reply leaves from the address the query was sent to.
 */
static void reply_ctl(struct msghdr *rh, struct msghdr *sh)
{
	sh->msg_control = NULL;
	sh->msg_controllen = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rh); c != NULL; c = CMSG_NXTHDR(rh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			struct cmsghdr *o = (struct cmsghdr *)rh->msg_control;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			sh->msg_control = o;
			sh->msg_controllen = CMSG_SPACE(sizeof(pi));
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			struct cmsghdr *o = (struct cmsghdr *)rh->msg_control;
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			sh->msg_control = o;
			sh->msg_controllen = CMSG_SPACE(sizeof(pi));
			return;
		}
	}
}

/* Send the answered part of a batch; a partial send is retried, errors drop datagrams. */
static void send_batch(worker_t *w, int fd, struct mmsghdr *msgs, unsigned n)
{
	unsigned off = 0;
	while (off < n) {
		int r = sendmmsg(fd, msgs + off, n - off, MSG_DONTWAIT);
		if (r > 0) {
			off += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			/* The socket buffer is full: waiting would stall every other client. */
			WORKER_STAT_ADD(w->stats.udp_send_errors, n - off);
			return;
		}
		/* This datagram cannot be sent (e.g. unreachable destination): skip it. */
		WORKER_STAT_INC(w->stats.udp_send_errors);
		off++;
	}
}

/*
 * Overlap the answer cache's random memory reads for a whole batch (acache_prefetch):
 * every index bucket, then every entry, before the first datagram is answered.
 */
static void prefetch_batch(const worker_t *w, const zdb_t *db, unsigned n)
{
	const udp_batch_t *b = w->batch;
	for (int stage = 0; stage < 2 && n > 1; stage++)
		for (unsigned i = 0; i < n; i++)
			acache_prefetch(w->actx.cache, db, b->rbuf[i], b->rmsg[i].msg_len,
					zdb_answer_view(db, (const struct sockaddr *)&b->name[i]),
					stage);
}

static void udp_on_readable(evutil_socket_t fd, short what, void *arg)
{
	udp_sock_t *u = arg;
	worker_t *w = u->w;
	udp_batch_t *b = w->batch;
	(void)what;

	for (unsigned round = 0; round < UDP_ROUNDS; round++) {
		for (unsigned i = 0; i < UDP_BATCH; i++) {
			struct msghdr *h = &b->rmsg[i].msg_hdr;
			h->msg_namelen = sizeof(b->name[i]);
			h->msg_controllen = u->pktinfo ? sizeof(b->ctl[i].buf) : 0;
			h->msg_flags = 0;
		}
		int n = recvmmsg(fd, b->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				WORKER_STAT_INC(w->stats.udp_recv_errors);
			return;
		}
		const snap_t *s = snap_enter(w->snaps, w->id);
		if (w->actx.qlog != NULL)
			w->actx.qlog_ns = qlog_now_ns(); /* one clock read per batch */
		if (w->actx.cache != NULL) {
			acache_begin(w->actx.cache, s->db, s->generation);
			prefetch_batch(w, s->db, (unsigned)n);
		}
		rrl_set_t *rrl = rrl_enter(w->rrl); /* NULL: off */
		uint32_t now_ms = rrl != NULL ? rrl_now_ms() : 0;
		unsigned ns = 0;
		for (unsigned i = 0; i < (unsigned)n; i++) {
			struct msghdr *rh = &b->rmsg[i].msg_hdr;
			if (rh->msg_flags & MSG_TRUNC) {
				WORKER_STAT_INC(w->stats.udp_oversize);
				continue;
			}
			size_t len = answer_build(&w->actx, s->db, b->rbuf[i], b->rmsg[i].msg_len,
						  b->sbuf[i], UDP_SBUF,
						  (const struct sockaddr *)&b->name[i], false);
			if (len != 0 && rrl != NULL)
				len = rrl_apply(rrl, w->rrl, w->id, (const struct sockaddr *)&b->name[i],
						b->sbuf[i], len, now_ms);
			if (len == 0)
				continue;
			struct msghdr *sh = &b->smsg[ns++].msg_hdr;
			b->siov[i].iov_len = len;
			sh->msg_name = &b->name[i];
			sh->msg_namelen = rh->msg_namelen;
			sh->msg_iov = &b->siov[i];
			sh->msg_iovlen = 1;
			sh->msg_flags = 0;
			if (u->pktinfo) {
				reply_ctl(rh, sh);
			} else {
				sh->msg_control = NULL;
				sh->msg_controllen = 0;
			}
		}
		if (ns > 0)
			send_batch(w, fd, b->smsg, ns);
		snap_leave(w->snaps, w->id);
		if (n < UDP_BATCH)
			return;
	}
}

int udp_open(worker_t *w, udp_sock_t *u, const conf_listen_t *l, char *err, size_t errlen)
{
	char as[64];
	const char *what = "socket";
	int one = 1;

	u->w = w;
	u->family = l->addr.ss_family;
	u->pktinfo = is_wildcard(&l->addr);
	u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		goto fail;
	what = "SO_REUSEPORT";
	if (setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (u->family == AF_INET6) {
		what = "IPV6_V6ONLY";
		if (setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
			goto fail;
		/* Large answers are fragmented at the minimum MTU rather than trusting PMTU
		 * messages an attacker can forge. */
		int omit = IPV6_PMTUDISC_OMIT;
		(void)setsockopt(u->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &omit, sizeof(omit));
		what = "IPV6_RECVPKTINFO";
		if (u->pktinfo &&
		    setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) != 0)
			goto fail;
	} else {
		int omit = IP_PMTUDISC_OMIT;
		(void)setsockopt(u->fd, IPPROTO_IP, IP_MTU_DISCOVER, &omit, sizeof(omit));
		what = "IP_PKTINFO";
		if (u->pktinfo && setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0)
			goto fail;
	}
	int rcvbuf = UDP_RCVBUF;
	(void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	what = "cannot bind";
	if (bind(u->fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0)
		goto fail;
	u->ev = event_new(w->base, u->fd, EV_READ | EV_PERSIST, udp_on_readable, u);
	if (u->ev == NULL || event_add(u->ev, NULL) != 0) {
		snprintf(err, errlen, "%s udp: cannot register event",
			 worker_addr_str((const struct sockaddr *)&l->addr, as, sizeof(as)));
		return ERR_SYS;
	}
	return ERR_OK;
fail:
	snprintf(err, errlen, "%s udp: %s: %s",
		 worker_addr_str((const struct sockaddr *)&l->addr, as, sizeof(as)), what,
		 strerror(errno));
	return ERR_SYS;
}

void udp_close(udp_sock_t *u)
{
	if (u->ev != NULL) {
		event_free(u->ev);
		u->ev = NULL;
	}
	if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
}
