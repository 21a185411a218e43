/* SPDX-License-Identifier: MIT */
/*
 * hc_probe_http.c -- the HTTP and HTTPS exchange of a probe (spec 6.2, 6.3).
 *
 * Starts on a connected socket: a plain bufferevent for HTTP, an OpenSSL bufferevent in
 * connecting state for HTTPS (no certificate validation, SNI when EnableSNI; when the
 * certificate does not name the FQDN the handshake is retried once without SNI, HC-5;
 * the retry has its own connect and status deadlines, so one probe lasts at most 4+2+4+2 s).
 * The request is precomputed in the conf. Deadlines, all absolute (a byte-dribbling
 * server cannot extend them):
 *   status line      2 s after the TCP connection was established, TLS included (HC-1, HC-7)
 *   headers (+body)  2 s after the status line (HC-3)
 * Pass: status 2xx/3xx and syntactically valid headers of at most 16384 bytes in total
 * (HC-6); STR_MATCH types additionally need SearchString inside the first 5120 bytes of
 * the body, after chunked decoding and gzip/deflate decompression (HC-3).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "hc_int.h"

static bool str_match(const hc_checker_t *ck)
{
	return ck->cc->search != NULL;
}

static bool https(const hc_checker_t *ck)
{
	return ck->cc->type == HC_T_HTTPS || ck->cc->type == HC_T_HTTPS_STR_MATCH;
}

static void succeed(hc_checker_t *ck)
{
	hc_probe_finish(ck, HC_RES_OK, "Success: HTTP Status Code %d, %s", ck->http.status,
			ck->http.reason);
}

static void no_match(hc_checker_t *ck, const char *how)
{
	hc_probe_finish(ck, HC_RES_NO_MATCH,
			"Failure: HTTP Status Code %d, %s. The search string was not found in the first %d bytes of the response body%s",
			ck->http.status, ck->http.reason, HC_BODY_SEARCH, how);
}

/** Parse "HTTP/1.x NNN reason". */
static int parse_status(hc_checker_t *ck, const char *line, size_t len)
{
	if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) ||
	    line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
	    (len > 12 && line[12] != ' '))
		return -1;
	ck->http.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	size_t r = len > 13 ? len - 13 : 0;
	if (r >= sizeof(ck->http.reason))
		r = sizeof(ck->http.reason) - 1;
	for (size_t i = 0; i < r; i++)
		ck->http.reason[i] = isprint((unsigned char)line[13 + i]) ? line[13 + i] : '?';
	ck->http.reason[r] = '\0';
	return 0;
}

static bool tchar(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/** One header line (RFC 7230 3.2: token ":" OWS value OWS; no obs-fold). */
static int parse_header(hc_checker_t *ck, char *line, size_t len)
{
	size_t i = 0;
	while (i < len && tchar((unsigned char)line[i]))
		i++;
	if (i == 0 || i == len || line[i] != ':')
		return -1;
	for (size_t j = i + 1; j < len; j++) {
		unsigned char c = (unsigned char)line[j];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	line[i] = '\0';
	char *v = line + i + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	if (strcasecmp(line, "Transfer-Encoding") == 0) {
		ck->http.chunked = strcasestr(v, "chunked") != NULL;
	} else if (strcasecmp(line, "Content-Encoding") == 0) {
		if (strcasecmp(v, "gzip") == 0 || strcasecmp(v, "x-gzip") == 0 ||
		    strcasecmp(v, "deflate") == 0)
			ck->http.encoding = 1;
		else if (strcasecmp(v, "identity") != 0)
			ck->http.encoding = 2; /* unsupported: searched as is, and will not match */
	} else if (strcasecmp(line, "Content-Length") == 0) {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < 0)
			return -1;
		ck->http.content_length = n;
	}
	return 0;
}

/** Add decoded body bytes; returns 1 when the probe finished. */
static int body_feed(hc_checker_t *ck, const char *data, size_t n)
{
	hc_http_t *h = &ck->http;
	if (h->encoding == 1) {
		z_stream *z = h->z;
		if (z == NULL) {
			z = calloc(1, sizeof(*z));
			if (z == NULL || inflateInit2(z, 15 + 32) != Z_OK) {
				free(z);
				hc_probe_finish(ck, HC_RES_ERROR, "Failure: out of memory");
				return 1;
			}
			h->z = z;
		}
		z->next_in = (Bytef *)data;
		z->avail_in = (uInt)n;
		bool fresh = z->total_in == 0;
		while (z->avail_in > 0 && h->body_len < HC_BODY_SEARCH) {
			z->next_out = (Bytef *)h->body + h->body_len;
			z->avail_out = (uInt)(HC_BODY_SEARCH - h->body_len);
			int zr = inflate(z, Z_NO_FLUSH);
			h->body_len = HC_BODY_SEARCH - z->avail_out;
			if (zr == Z_STREAM_END)
				break;
			if (zr == Z_DATA_ERROR && fresh && !h->raw_deflate && h->body_len == 0) {
				/* many servers send "deflate" as a raw stream (RFC 1951, no header) */
				h->raw_deflate = true;
				if (inflateEnd(z) != Z_OK || inflateInit2(z, -15) != Z_OK)
					goto undecodable;
				z->next_in = (Bytef *)data;
				z->avail_in = (uInt)n;
				continue;
			}
			if (zr != Z_OK) {
undecodable:
				hc_probe_finish(ck, HC_RES_BAD_RESPONSE,
						"Failure: HTTP Status Code %d, %s. The response body could not be decompressed",
						h->status, h->reason);
				return 1;
			}
		}
	} else {
		size_t room = HC_BODY_SEARCH - h->body_len;
		if (n > room)
			n = room;
		memcpy(h->body + h->body_len, data, n);
		h->body_len += n;
	}
	if (memmem(h->body, h->body_len, ck->cc->search, ck->cc->search_len) != NULL) {
		succeed(ck);
		return 1;
	}
	if (h->body_len >= HC_BODY_SEARCH) {
		no_match(ck, "");
		return 1;
	}
	return 0;
}

/** Consume body bytes from input; returns 1 when the probe finished. */
static int body_read(hc_checker_t *ck, struct evbuffer *in)
{
	hc_http_t *h = &ck->http;
	char buf[4096];
	for (;;) {
		if (h->chunked) {
			if (h->chunk_crlf || h->chunk_left < 0) {
				size_t eol;
				struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
				if (p.pos < 0) {
					if (evbuffer_get_length(in) > 1024)
						goto bad;
					return 0;
				}
				char line[1025];
				if (p.pos > 1024)
					goto bad;
				evbuffer_remove(in, line, (size_t)p.pos);
				evbuffer_drain(in, eol);
				line[p.pos] = '\0';
				if (h->chunk_crlf) {
					if (p.pos != 0)
						goto bad;
					h->chunk_crlf = false;
					continue;
				}
				char *end;
				long long sz = strtoll(line, &end, 16);
				if (end == line || sz < 0 || (*end != '\0' && *end != ';' && *end != ' '))
					goto bad;
				if (sz == 0) {
					no_match(ck, "");
					return 1;
				}
				h->chunk_left = sz;
				continue;
			}
			size_t avail = evbuffer_get_length(in);
			if (avail == 0)
				return 0;
			size_t take = avail < (size_t)h->chunk_left ? avail : (size_t)h->chunk_left;
			if (take > sizeof(buf))
				take = sizeof(buf);
			evbuffer_remove(in, buf, take);
			h->chunk_left -= (long long)take;
			if (h->chunk_left == 0) {
				h->chunk_left = -1;
				h->chunk_crlf = true;
			}
			if (body_feed(ck, buf, take))
				return 1;
			continue;
		}
		if (h->content_length == 0) {
			no_match(ck, "");
			return 1;
		}
		size_t avail = evbuffer_get_length(in);
		if (avail == 0)
			return 0;
		size_t take = avail < sizeof(buf) ? avail : sizeof(buf);
		if (h->content_length > 0 && (long long)take > h->content_length)
			take = (size_t)h->content_length;
		evbuffer_remove(in, buf, take);
		if (h->content_length > 0)
			h->content_length -= (long long)take;
		if (body_feed(ck, buf, take))
			return 1;
	}
bad:
	hc_probe_finish(ck, HC_RES_BAD_RESPONSE,
			"Failure: HTTP Status Code %d, %s. Malformed chunked response body",
			h->status, h->reason);
	return 1;
}

/** Process what has arrived; returns 1 when the probe finished. */
static int process(hc_checker_t *ck)
{
	struct evbuffer *in = bufferevent_get_input(ck->bev);
	hc_http_t *h = &ck->http;
	while (ck->state == HC_CS_STATUS || ck->state == HC_CS_HEADERS) {
		size_t eol = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
		size_t have = evbuffer_get_length(in);
		/* HC-6: the header lines count, not the status line nor the blank line ending them */
		size_t counted = ck->state == HC_CS_HEADERS ? h->header_bytes : 0;
		if (p.pos < 0) {
			if (counted + have > HC_HEADER_LIMIT)
				goto too_big;
			return 0;
		}
		if ((size_t)p.pos > HC_HEADER_LIMIT)
			goto too_big;
		if (ck->state == HC_CS_HEADERS && p.pos > 0) {
			h->header_bytes += (size_t)p.pos + eol;
			if (h->header_bytes > HC_HEADER_LIMIT)
				goto too_big;
		}
		char line[HC_HEADER_LIMIT + 1];
		evbuffer_remove(in, line, (size_t)p.pos);
		evbuffer_drain(in, eol);
		line[p.pos] = '\0';
		if (ck->state == HC_CS_STATUS) {
			if (parse_status(ck, line, (size_t)p.pos) < 0) {
				hc_probe_finish(ck, HC_RES_BAD_RESPONSE,
						"Failure: Malformed HTTP status line");
				return 1;
			}
			if (h->status < 200 || h->status >= 400) {
				hc_probe_finish(ck, HC_RES_HTTP_STATUS, "Failure: HTTP Status Code %d, %s",
						h->status, h->reason);
				return 1;
			}
			ck->state = HC_CS_HEADERS;
			hc_probe_arm(ck, HC_HTTP_BODY_MS);
			continue;
		}
		if (p.pos == 0) {
			if (!str_match(ck)) {
				succeed(ck);
				return 1;
			}
			ck->state = HC_CS_BODY;
			break;
		}
		if (parse_header(ck, line, (size_t)p.pos) < 0) {
			hc_probe_finish(ck, HC_RES_BAD_RESPONSE,
					"Failure: HTTP Status Code %d, %s. Malformed response header",
					h->status, h->reason);
			return 1;
		}
	}
	if (ck->state == HC_CS_BODY)
		return body_read(ck, in);
	return 0;
too_big:
	hc_probe_finish(ck, HC_RES_BAD_RESPONSE,
			"Failure: The response headers exceed %d bytes", HC_HEADER_LIMIT);
	return 1;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	hc_checker_t *ck = arg;
	/* MeasureLatency: the first response byte (after TLS: the first decrypted byte) */
	if (ck->cc->measure_latency && ck->first_byte_ns == 0 &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		uint64_t now = hc_now_ns();
		ck->first_byte_ns = now > ck->conn_start_ns ? now - ck->conn_start_ns : 1;
	}
	process(ck);
}

/** HC-5: the certificate does not name the FQDN we sent as SNI. */
static bool sni_mismatch(hc_checker_t *ck)
{
	if (ck->no_sni || !ck->cc->enable_sni || ck->cc->sni == NULL)
		return false;
	SSL *ssl = bufferevent_openssl_get_ssl(ck->bev);
	X509 *cert = ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;
	if (cert == NULL)
		return false;
	bool bad = X509_check_host(cert, ck->cc->sni, 0, 0, NULL) != 1;
	X509_free(cert);
	return bad;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	hc_checker_t *ck = arg;
	hc_http_t *h = &ck->http;
	if (what & BEV_EVENT_CONNECTED) {
		ck->tls_done = true;
		if (sni_mismatch(ck)) {
			/* retry once without SNI */
			ck->no_sni = true;
			bufferevent_free(ck->bev);
			ck->bev = NULL;
			hc_probe_connect(ck);
		}
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (process(ck))
			return;
		if (ck->state == HC_CS_BODY) {
			no_match(ck, " (connection closed)");
			return;
		}
		hc_probe_finish(ck, HC_RES_BAD_RESPONSE,
				ck->state == HC_CS_STATUS
					? "Failure: The connection was closed before an HTTP status line was received"
					: "Failure: The connection was closed before the end of the response headers");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = https(ck) ? bufferevent_get_openssl_error(bev) : 0;
		if (e != 0) {
			const char *r = ERR_reason_error_string(e);
			hc_probe_finish(ck, HC_RES_TLS, "Failure: TLS %s failed: %s",
					ck->tls_done ? "connection" : "handshake", r != NULL ? r : "error");
			return;
		}
		int se = EVUTIL_SOCKET_ERROR();
		if (https(ck) && !ck->tls_done)
			hc_probe_finish(ck, HC_RES_TLS, "Failure: TLS handshake failed: %s",
					se != 0 ? strerror(se) : "connection closed");
		else
			hc_probe_finish(ck, HC_RES_ERROR, "Failure: %s%s",
					h->status != 0 ? "error reading the response: " : "",
					se != 0 ? strerror(se) : "connection error");
	}
}

void hc_probe_http_begin(hc_checker_t *ck, int fd)
{
	struct event_base *base = ck->thr->base;
	hc_http_t *h = &ck->http;
	char *body = h->body;
	memset(h, 0, sizeof(*h));
	h->body = body;
	h->content_length = -1;
	h->chunk_left = -1;
	ck->tls_done = false;
	if (https(ck)) {
		SSL *ssl = SSL_new(hc_ssl_ctx(ck));
		if (ssl == NULL) {
			close(fd);
			hc_probe_finish(ck, HC_RES_ERROR, "Failure: cannot create a TLS session");
			return;
		}
		unsigned char ipbuf[16];
		if (ck->cc->enable_sni && ck->cc->sni != NULL && !ck->no_sni &&
		    inet_pton(AF_INET, ck->cc->sni, ipbuf) != 1 &&
		    inet_pton(AF_INET6, ck->cc->sni, ipbuf) != 1) /* RFC 6066 3: no IP literals */
			SSL_set_tlsext_host_name(ssl, ck->cc->sni);
		ck->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
							 BEV_OPT_CLOSE_ON_FREE);
		if (ck->bev == NULL) {
			SSL_free(ssl);
			close(fd);
			hc_probe_finish(ck, HC_RES_ERROR, "Failure: cannot create a TLS connection");
			return;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(ck->bev, 1);
	} else {
		ck->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (ck->bev == NULL) {
			close(fd);
			hc_probe_finish(ck, HC_RES_ERROR, "Failure: cannot create a connection buffer");
			return;
		}
	}
	bufferevent_setcb(ck->bev, read_cb, NULL, event_cb, ck);
	bufferevent_setwatermark(ck->bev, EV_READ, 0, 65536);
	if (bufferevent_write(ck->bev, ck->cc->request, ck->cc->request_len) < 0 ||
	    bufferevent_enable(ck->bev, EV_READ | EV_WRITE) < 0) {
		hc_probe_finish(ck, HC_RES_ERROR, "Failure: cannot send the request");
		return;
	}
	ck->state = HC_CS_STATUS;
	hc_probe_arm(ck, HC_HTTP_STATUS_MS);
}

void hc_probe_http_timeout(hc_checker_t *ck)
{
	switch (ck->state) {
	case HC_CS_STATUS:
		if (https(ck) && !ck->tls_done)
			hc_probe_finish(ck, HC_RES_TIMEOUT,
					"Failure: TLS handshake timed out (%d s after connecting)",
					HC_HTTP_STATUS_MS / 1000);
		else
			hc_probe_finish(ck, HC_RES_TIMEOUT,
					"Failure: Timed out waiting for the HTTP status line (%d s after connecting)",
					HC_HTTP_STATUS_MS / 1000);
		break;
	case HC_CS_HEADERS:
		hc_probe_finish(ck, HC_RES_TIMEOUT,
				"Failure: HTTP Status Code %d, %s. Timed out reading the response headers",
				ck->http.status, ck->http.reason);
		break;
	default:
		no_match(ck, " (timed out reading the body)");
		break;
	}
}
