/* SPDX-License-Identifier: MIT */
/*
 * hc_testsrv.c -- loopback HTTP/HTTPS/TCP endpoints and a tiny DNS responder for the
 * health-check tests. One thread, one event_base; the test thread only touches the
 * behaviour fields under the mutex. Listeners and the DNS socket are created before
 * ts_run() starts the thread, so no other thread ever touches the event_base.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "hc_testsrv.h"

#define MAX_NAMES 16

struct ts_listener {
	ts_server_t *srv;
	struct evconnlistener *lev;
	uint16_t port;
	bool tls;
	/* behaviour, under srv->lock */
	ts_mode_t mode;
	int status;
	char reason[64];
	char *body;
	size_t body_len;
	bool chunked;
	int gzip; /* 0 none, 1 gzip, 2 raw deflate */
	uint64_t allow;
	bool deny_close;
	unsigned delay_ms; /* wait this long after the request before answering */
	unsigned count;
	char last[2048];
	char sni[256];
	unsigned handshakes;
	struct ts_listener *next;
};

typedef struct conn {
	ts_listener_t *l;
	struct bufferevent *bev;
	struct event *tick;
	bool allowed;
	bool answered;
	char *resp;
	size_t resp_len, pos;
	uint64_t answer_ns; /* delayed answer: not before this CLOCK_MONOTONIC time */
	struct conn *prev, *next;
} conn_t;

struct ts_server {
	pthread_t tid;
	bool running;
	struct event_base *base;
	struct event *stop_ev;
	pthread_mutex_t lock;
	SSL_CTX *ctx;
	ts_listener_t *listeners;
	conn_t *conns;
	int dns_fd;
	struct event *dns_ev;
	unsigned dns_count;
	struct {
		char name[256];
		char ip[64];
		bool silent;
	} names[MAX_NAMES];
	size_t n_names;
	int stop_pipe[2];
};

/* ---- TLS material ---- */

static SSL_CTX *make_ctx(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (key == NULL || x == NULL || ctx == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"www.example.test",
				   -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
						  "DNS:www.example.test");
	if (ext != NULL) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, key, EVP_sha256()) == 0 || SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		abort();
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

/* ---- connections ---- */

static void conn_free(conn_t *c)
{
	ts_server_t *s = c->l->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->tick)
		event_free(c->tick);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c->resp);
	free(c);
}

static void write_done_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_t *c = arg;
	(void)fd;
	(void)what;
	if (c->pos < c->resp_len) {
		bufferevent_write(c->bev, c->resp + c->pos, 1);
		c->pos++;
	}
}

static char *gzip_body(const char *in, size_t n, size_t *out_len, int window_bits)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
	size_t cap = deflateBound(&z, n) + 64;
	char *out = malloc(cap);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

static void respond(conn_t *c)
{
	ts_listener_t *l = c->l;
	ts_server_t *s = l->srv;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	pthread_mutex_lock(&s->lock);
	ts_mode_t mode = l->mode;
	bool deny_close = l->deny_close;
	int status = l->status;
	char reason[64];
	snprintf(reason, sizeof(reason), "%s", l->reason);
	size_t blen = l->body_len;
	char *body = blen ? malloc(blen) : NULL;
	if (blen)
		memcpy(body, l->body, blen);
	bool chunked = l->chunked;
	int gz = l->gzip;
	pthread_mutex_unlock(&s->lock);

	if (mode == TS_CLOSE || (!c->allowed && deny_close)) {
		free(body);
		conn_free(c);
		return;
	}
	if (!c->allowed) {
		status = 503;
		snprintf(reason, sizeof(reason), "Service Unavailable");
	}
	if (mode == TS_DRIBBLE) {
		const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
		c->resp = strdup(r);
		c->resp_len = strlen(r);
		c->tick = event_new(s->base, -1, EV_PERSIST, tick_cb, c);
		struct timeval tv = { 1, 0 };
		event_add(c->tick, &tv);
		free(body);
		return;
	}
	if (mode == TS_EXACT_HEADER) {
		/* header lines (with their CRLF) total exactly 16384 bytes: the limit, allowed */
		static const char cl[] = "Content-Length: 0\r\n";
		size_t left = 16384 - (sizeof(cl) - 1);
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n%s", cl);
		char pad[1024];
		memset(pad, 'a', sizeof(pad));
		while (left > 0) {
			size_t line = left > 1000 ? 1000 : left; /* "X-P: " + pad + CRLF */
			if (left - line > 0 && left - line < 8)
				line -= 8; /* keep the last line long enough for its name */
			evbuffer_add_printf(out, "X-P: %.*s\r\n", (int)(line - 7), pad);
			left -= line;
		}
		evbuffer_add_printf(out, "\r\n");
		bufferevent_setcb(c->bev, NULL, write_done_cb, NULL, c);
		free(body);
		return;
	}
	if (mode == TS_HUGE_HEADER) {
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 400; i++)
			evbuffer_add_printf(out, "X-Filler-%03d: %s\r\n", i,
					    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		evbuffer_add_printf(out, "Content-Length: 0\r\n\r\n");
		bufferevent_setcb(c->bev, NULL, write_done_cb, NULL, c);
		free(body);
		return;
	}
	if (gz && blen) {
		size_t zl;
		char *z = gzip_body(body, blen, &zl, gz == 2 ? -15 : 31);
		free(body);
		body = z;
		blen = zl;
	}
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nServer: hc-testsrv\r\nConnection: close\r\n%s",
			    status, reason,
			    gz == 2 ? "Content-Encoding: deflate\r\n" : gz ? "Content-Encoding: gzip\r\n" : "");
	if (chunked) {
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n\r\n");
		for (size_t off = 0; off < blen; off += 1000) {
			size_t n = blen - off < 1000 ? blen - off : 1000;
			evbuffer_add_printf(out, "%zx;ext=1\r\n", n);
			evbuffer_add(out, body + off, n);
			evbuffer_add(out, "\r\n", 2);
		}
		evbuffer_add_printf(out, "0\r\n\r\n");
	} else {
		evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n", blen);
		if (blen)
			evbuffer_add(out, body, blen);
	}
	free(body);
	bufferevent_setcb(c->bev, NULL, write_done_cb, NULL, c);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void delay_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_t *c = arg;
	(void)fd;
	(void)what;
	/* libevent's timers follow a coarse clock and may fire a few ms early: the delay is
	 * a lower bound the tests rely on */
	uint64_t now = mono_ns();
	if (now < c->answer_ns) {
		uint64_t us = (c->answer_ns - now) / 1000 + 1;
		struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
		evtimer_add(c->tick, &tv);
		return;
	}
	event_free(c->tick);
	c->tick = NULL;
	respond(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	conn_t *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	ts_listener_t *l = c->l;
	pthread_mutex_lock(&l->srv->lock);
	bool silent = l->mode == TS_SILENT;
	pthread_mutex_unlock(&l->srv->lock);
	if (c->answered || silent) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (p.pos < 0)
		return;
	c->answered = true;
	pthread_mutex_lock(&l->srv->lock);
	l->count++;
	size_t n = (size_t)p.pos + 4 < sizeof(l->last) - 1 ? (size_t)p.pos + 4 : sizeof(l->last) - 1;
	evbuffer_copyout(in, l->last, n);
	l->last[n] = '\0';
	unsigned delay_ms = l->delay_ms;
	pthread_mutex_unlock(&l->srv->lock);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (delay_ms > 0) {
		c->answer_ns = mono_ns() + delay_ms * 1000000ull;
		c->tick = evtimer_new(l->srv->base, delay_cb, c);
		struct timeval tv = { delay_ms / 1000, (suseconds_t)(delay_ms % 1000) * 1000 };
		evtimer_add(c->tick, &tv);
		return;
	}
	respond(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn_t *c = arg;
	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		const char *sni = ssl ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
		pthread_mutex_lock(&c->l->srv->lock);
		snprintf(c->l->sni, sizeof(c->l->sni), "%s", sni ? sni : "");
		c->l->handshakes++;
		pthread_mutex_unlock(&c->l->srv->lock);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(c);
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	ts_listener_t *l = arg;
	ts_server_t *s = l->srv;
	(void)lev;
	(void)salen;
	conn_t *c = calloc(1, sizeof(*c));
	c->l = l;
	pthread_mutex_lock(&s->lock);
	ts_mode_t mode = l->mode;
	uint64_t allow = l->allow;
	if (mode == TS_SILENT)
		l->count++;
	pthread_mutex_unlock(&s->lock);
	c->allowed = true;
	if (allow != 0 && sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((struct sockaddr_in *)sa)->sin_addr.s_addr);
		unsigned last = a & 0xff;
		c->allowed = last < 64 && (allow & (1ull << last));
	}
	if (l->tls && mode != TS_SILENT) {
		SSL *ssl = SSL_new(s->ctx);
		c->bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							BEV_OPT_CLOSE_ON_FREE);
	} else {
		c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- DNS ---- */

static void dns_cb(evutil_socket_t fd, short what, void *arg)
{
	ts_server_t *s = arg;
	uint8_t q[512], r[600];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	(void)what;
	ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (n < 17)
		return;
	/* qname */
	char name[256];
	size_t pos = 12, nl = 0;
	while (pos < (size_t)n && q[pos] != 0) {
		size_t ll = q[pos];
		if (pos + 1 + ll >= (size_t)n || nl + ll + 1 >= sizeof(name))
			return;
		if (nl)
			name[nl++] = '.';
		for (size_t i = 0; i < ll; i++) {
			char ch = (char)q[pos + 1 + i];
			name[nl++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
		}
		pos += 1 + ll;
	}
	name[nl] = '\0';
	pos++;
	if (pos + 4 > (size_t)n)
		return;
	uint16_t qtype = (uint16_t)(q[pos] << 8 | q[pos + 1]);
	size_t qend = pos + 4;
	pthread_mutex_lock(&s->lock);
	s->dns_count++;
	const char *ip = NULL;
	bool silent = false;
	for (size_t i = 0; i < s->n_names; i++)
		if (strcmp(s->names[i].name, name) == 0) {
			ip = s->names[i].silent ? NULL : s->names[i].ip;
			silent = s->names[i].silent;
		}
	char ipbuf[64];
	if (ip)
		snprintf(ipbuf, sizeof(ipbuf), "%s", ip);
	pthread_mutex_unlock(&s->lock);
	if (silent)
		return;
	memcpy(r, q, qend);
	r[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	r[3] = ip ? 0 : 3;
	r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
	size_t len = qend;
	if (ip && qtype == 1) {
		r[7] = 1;
		uint8_t rr[16] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4 };
		inet_pton(AF_INET, ipbuf, rr + 12);
		memcpy(r + len, rr, 16);
		len += 16;
	}
	sendto(fd, r, len, 0, (struct sockaddr *)&from, fl);
}

uint16_t ts_dns(ts_server_t *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	sin.sin_addr.s_addr = htonl(0x7f000001);
	s->dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (bind(s->dns_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		abort();
	socklen_t l = sizeof(sin);
	getsockname(s->dns_fd, (struct sockaddr *)&sin, &l);
	s->dns_ev = event_new(s->base, s->dns_fd, EV_READ | EV_PERSIST, dns_cb, s);
	event_add(s->dns_ev, NULL);
	return ntohs(sin.sin_port);
}

void ts_dns_set(ts_server_t *s, const char *name, const char *ip)
{
	pthread_mutex_lock(&s->lock);
	if (s->n_names < MAX_NAMES) {
		snprintf(s->names[s->n_names].name, 256, "%s", name);
		snprintf(s->names[s->n_names].ip, 64, "%s", ip);
		s->names[s->n_names++].silent = false;
	}
	pthread_mutex_unlock(&s->lock);
}

void ts_dns_silent(ts_server_t *s, const char *name)
{
	pthread_mutex_lock(&s->lock);
	if (s->n_names < MAX_NAMES) {
		snprintf(s->names[s->n_names].name, 256, "%s", name);
		s->names[s->n_names++].silent = true;
	}
	pthread_mutex_unlock(&s->lock);
}

unsigned ts_dns_count(ts_server_t *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->dns_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- lifecycle ---- */

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	char b;
	(void)what;
	if (read(fd, &b, 1) < 0)
		return;
	event_base_loopbreak(arg);
}

ts_server_t *ts_new(void)
{
	ts_server_t *s = calloc(1, sizeof(*s));
	s->base = event_base_new();
	pthread_mutex_init(&s->lock, NULL);
	s->ctx = make_ctx();
	s->dns_fd = -1;
	if (pipe(s->stop_pipe) < 0)
		abort();
	s->stop_ev = event_new(s->base, s->stop_pipe[0], EV_READ | EV_PERSIST, stop_cb, s->base);
	event_add(s->stop_ev, NULL);
	return s;
}

static void *ts_main(void *arg)
{
	ts_server_t *s = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	event_base_dispatch(s->base);
	return NULL;
}

void ts_run(ts_server_t *s)
{
	if (pthread_create(&s->tid, NULL, ts_main, s) != 0)
		abort();
	s->running = true;
}

void ts_stop(ts_server_t *s)
{
	if (s == NULL)
		return;
	if (s->running) {
		if (write(s->stop_pipe[1], "x", 1) < 0)
			abort();
		pthread_join(s->tid, NULL);
	}
	while (s->conns)
		conn_free(s->conns); /* NOLINT(clang-analyzer-unix.Malloc): conn_free unlinks it first */
	for (ts_listener_t *l = s->listeners, *nx; l; l = nx) {
		nx = l->next;
		evconnlistener_free(l->lev);
		free(l->body);
		free(l);
	}
	if (s->dns_ev) {
		event_free(s->dns_ev);
		close(s->dns_fd);
	}
	event_free(s->stop_ev);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	event_base_free(s->base);
	SSL_CTX_free(s->ctx);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

ts_listener_t *ts_listen(ts_server_t *s, ts_mode_t mode, bool tls)
{
	ts_listener_t *l = calloc(1, sizeof(*l));
	struct sockaddr_in sin = { .sin_family = AF_INET };
	sin.sin_addr.s_addr = htonl(0x7f000001);
	l->srv = s;
	l->tls = tls;
	l->mode = mode;
	l->status = 200;
	snprintf(l->reason, sizeof(l->reason), "OK");
	l->lev = evconnlistener_new_bind(s->base, accept_cb, l,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
					 (struct sockaddr *)&sin, sizeof(sin));
	if (l->lev == NULL)
		abort();
	socklen_t len = sizeof(sin);
	getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&sin, &len);
	l->port = ntohs(sin.sin_port);
	l->next = s->listeners;
	s->listeners = l;
	return l;
}

uint16_t ts_port(const ts_listener_t *l)
{
	return l->port;
}

void ts_set_mode(ts_server_t *s, ts_listener_t *l, ts_mode_t mode)
{
	pthread_mutex_lock(&s->lock);
	l->mode = mode;
	pthread_mutex_unlock(&s->lock);
}

void ts_set_delay(ts_server_t *s, ts_listener_t *l, unsigned ms)
{
	pthread_mutex_lock(&s->lock);
	l->delay_ms = ms;
	pthread_mutex_unlock(&s->lock);
}

void ts_set_status(ts_server_t *s, ts_listener_t *l, int status, const char *reason)
{
	pthread_mutex_lock(&s->lock);
	l->status = status;
	snprintf(l->reason, sizeof(l->reason), "%s", reason);
	pthread_mutex_unlock(&s->lock);
}

void ts_set_body(ts_server_t *s, ts_listener_t *l, const char *body, size_t len, bool chunked,
		 int gzip)
{
	pthread_mutex_lock(&s->lock);
	free(l->body);
	l->body = malloc(len ? len : 1);
	memcpy(l->body, body, len);
	l->body_len = len;
	l->chunked = chunked;
	l->gzip = gzip;
	pthread_mutex_unlock(&s->lock);
}

void ts_set_allow(ts_server_t *s, ts_listener_t *l, uint64_t allow, bool deny_close)
{
	pthread_mutex_lock(&s->lock);
	l->allow = allow;
	l->deny_close = deny_close;
	pthread_mutex_unlock(&s->lock);
}

unsigned ts_count(ts_server_t *s, ts_listener_t *l)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = l->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void ts_last_request(ts_server_t *s, ts_listener_t *l, char *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	snprintf(buf, len, "%s", l->last);
	pthread_mutex_unlock(&s->lock);
}

unsigned ts_tls_info(ts_server_t *s, ts_listener_t *l, char *sni, size_t len)
{
	pthread_mutex_lock(&s->lock);
	snprintf(sni, len, "%s", l->sni);
	unsigned n = l->handshakes;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint16_t ts_closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	sin.sin_addr.s_addr = htonl(0x7f000001);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		abort();
	socklen_t l = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &l);
	close(fd);
	return ntohs(sin.sin_port);
}
