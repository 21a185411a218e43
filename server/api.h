/* SPDX-License-Identifier: MIT */
/*
 * api.h -- the Route 53 API (REST-XML, 2013-04-01) on the admin listener.
 *
 * api_new() registers /2013-04-01 with the admin HTTP server. Requests are handled on the
 * control thread in arrival order; while a change is being applied (a snapshot builds on
 * the loader thread and the store commits) later requests wait, so every response reflects
 * committed state. ROUTE53-API.md is the wire contract; api_int.h the handlers' shared
 * internals.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "admin.h"
#include "model.h"

typedef struct api api_t;

/**
 * Create the API and register its routes.
 * \retval ERR_OK, ERR_NOMEM.
 * Control thread.
 */
int api_new(daemon_t *d, admin_t *admin, model_t *m, api_t **out);

/** Free; requests still waiting are answered 503. NULL does nothing. Control thread. */
void api_free(api_t *a);

/** The daemon has no transaction in flight any more: run waiting requests. */
void api_kick(api_t *a);
