/* SPDX-License-Identifier: MIT */
/*
 * admin.h -- the admin HTTP endpoint (libevent evhttp) on the control thread.
 *
 * The server listens only where the configuration's admin.listen says. Requests are routed
 * by path prefix to handlers registered with admin_register(); admin_register_core adds
 * GET /zones, GET /metrics, POST /reload, GET /healthchecks,
 * POST /healthchecks/ID/force (body healthy, unhealthy or auto) and GET /testdnsanswer
 * (also as /2013-04-01/testdnsanswer, Route 53's path). A new endpoint is one
 * more registration:
 *
 *     admin_register(a, "/views", views_handle, ctx);
 *
 * receives GET /views with rest "" and GET /views/ID with rest "/ID", and answers with
 * admin_reply / admin_reply_json (now, or later for a long operation, as /reload does).
 *
 * Threads: everything here runs on the control thread, which owns the event_base given to
 * admin_new. Handlers run on it too and must not block.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evhttp_request;
struct evbuffer;
typedef struct daemon daemon_t;

typedef struct admin admin_t;

/**
 * A request handler.
 * \param req   the request (libevent); the handler must answer it exactly once, now or
 *              later, with admin_reply* (or evhttp_send_reply).
 * \param rest  the path after the registered prefix: "" or "/..."; borrowed for the call.
 * \param arg   as given to admin_register.
 */
typedef void (*admin_fn)(struct evhttp_request *req, const char *rest, void *arg);

/**
 * Listen for admin requests on listen ("127.0.0.1:8053", "[::1]:8053").
 * \param out  set to the new endpoint; caller frees with admin_free.
 * \param err  receives "admin ADDRESS: reason" on failure.
 * \retval ERR_OK, ERR_INVAL (bad address), ERR_SYS (socket/bind/listen), ERR_NOMEM.
 * Control thread.
 */
int admin_new(struct event_base *base, const char *listen, admin_t **out, char *err,
	      size_t errlen);

/** Close the endpoint and its connections. NULL does nothing. Control thread. */
void admin_free(admin_t *a);

/** Raise the largest request body evhttp accepts (default 64 KiB). Control thread. */
void admin_set_max_body(admin_t *a, size_t n);

/**
 * Route requests whose path is prefix, or starts with prefix followed by '/', to fn.
 * The longest matching prefix wins; registering a prefix again replaces its handler.
 * \param prefix  "/name", copied.
 * \retval ERR_OK, ERR_INVAL (prefix not starting with '/'), ERR_NOMEM.
 * Control thread.
 */
int admin_register(admin_t *a, const char *prefix, admin_fn fn, void *arg);

/** Register the core endpoints (zones, metrics, reload, health checks) for daemon d.
 *  Control thread. */
int admin_register_core(admin_t *a, daemon_t *d);

/** Send a reply with a body of len bytes and the given Content-Type. */
void admin_reply(struct evhttp_request *req, int code, const char *content_type,
		 const char *body, size_t len);

/** Send a JSON reply; takes ownership of (decrefs) body. 500 if it cannot be encoded. */
void admin_reply_json(struct evhttp_request *req, int code, json_t *body);

/** Send {"status":"error","error":msg} with the given code. */
void admin_reply_error(struct evhttp_request *req, int code, const char *msg);

/** Reply 405 unless the request's method is one of the EVHTTP_REQ_* bits in allowed
 *  (HEAD is accepted wherever GET is). \return 1 when the request may go on, 0 if answered. */
int admin_method_ok(struct evhttp_request *req, unsigned allowed);
