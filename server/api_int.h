/* SPDX-License-Identifier: MIT */
/*
 * api_int.h -- what the Route 53 API's handler files share (server/ only).
 *
 * api.c routes a request (method + path under /2013-04-01/) to one operation handler,
 * parses the query string and the XML body (xmlconv.h) into an api_call_t, checks SigV4,
 * and writes the response: the handler fills c->out (a JSON object in the shape the AWS
 * CLI prints, members in model order) and c->root ("GetHealthCheckResponse"), or calls
 * api_fail(). xmlconv_write() turns c->out into the XML body.
 *
 * A handler that changes something builds a model transaction (model.h) and hands it to
 * api_submit(): the response goes out once the transaction is applied and durable (or the
 * error, if the snapshot build or the store refused it). Handlers run on the control
 * thread, one at a time, never while a transaction is in flight, so they see committed
 * state only.
 */
#pragma once

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "hc.h"
#include "model.h"

typedef struct api api_t;

/** Handler results. */
enum {
	API_DONE = 0,   /**< c->out or the error is set: send it now */
	API_ASYNC = 1,  /**< api_submit() was called: the response is sent later */
};

/** One API request being handled. */
typedef struct api_call {
	api_t *api;                 /**< the API */
	model_t *m;                 /**< the resources */
	struct evhttp_request *req; /**< the HTTP request */
	const char *op;             /**< operation name ("CreateHealthCheck") */
	char path[4][1024];         /**< path parameters in route order, percent-decoded, with
				         /hostedzone/, /change/, /healthcheck/ prefixes removed */
	struct evkeyvalq query;     /**< query parameters, decoded (api_q) */
	json_t *body;               /**< the parsed request body (xmlconv_parse), or NULL */
	char body_root[128];        /**< its root element name, or "" */
	char request_id[40];        /**< UUID, sent as x-amzn-RequestId */
	char region[64];            /**< region of the request's SigV4 scope, or "" */

	/* The response. */
	int status;                 /**< 200 or 201 */
	const char *root;           /**< response root element name */
	json_t *out;                /**< response body (owned), NULL: empty element */
	char location[512];         /**< Location header value, or "" */
	/* or an error */
	int err_status;             /**< HTTP status of the error, 0: no error */
	char err_code[64];          /**< Route 53 error code */
	char err_msg[8192];         /**< its message */
	/* A fleet (store.etcd): a change that lost a race to another node's is handled again
	 * on the newer data, a few times. */
	int (*handler)(struct api_call *c); /**< the operation's handler (run_one) */
	unsigned tries;             /**< how many times it ran */
} api_call_t;

/**
 * Set the error response. Returns API_DONE, so that handlers can `return api_fail(...)`.
 */
int api_fail(api_call_t *c, int http_status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** A query parameter (decoded), or NULL. */
const char *api_q(const api_call_t *c, const char *name);

/**
 * Parse maxitems/maxresults: absent -> def; a decimal 1..cap (larger values are capped);
 * anything else -> InvalidInput set on c and false returned.
 */
bool api_maxitems(api_call_t *c, const char *param, unsigned def, unsigned cap,
		  unsigned *out);

/**
 * Hand a transaction to the daemon; the response (c->out, prepared by the handler before
 * this call) is sent when it is applied and durable. On failure the error replaces it:
 * a snapshot build error becomes `fail_code` (e.g. "InvalidChangeBatch", 400) with the
 * build's message; a store failure 500 InternalFailure. Takes ownership of t.
 * \return API_ASYNC (always; errors are reported through the response).
 */
int api_submit(api_call_t *c, model_txn_t *t, const char *fail_code);

/** The configuration being served (health settings, name_servers, vpcs...). */
const conf_t *api_conf(const api_call_t *c);

/** The health-check system (observations for GetHealthCheckStatus). */
hc_system_t *api_hc(const api_call_t *c);

/** A new ChangeInfo document {Id "/change/C...", Status PENDING, SubmittedAt, Comment?},
 *  added to t under /changes/ID. Returns a new reference to the document (for the
 *  response), NULL when out of memory. */
json_t *api_change_new(api_call_t *c, model_txn_t *t, const char *comment);

/* ---- helpers of api.c the handler files share ---- */

/** A string member of a JSON object, or NULL. */
const char *api_jstr(const json_t *o, const char *k);
/** Remove a leading "/hostedzone/", "/change/", "/healthcheck/"... from an id, in place. */
void api_strip_prefix(char *s);
/** The HostedZone object of a zone's document. */
const json_t *api_zone_hz(const m_zone_t *z);
/** The zone with this bare Id, or NULL with NoSuchHostedZone set on c. */
m_zone_t *api_need_zone(api_call_t *c, const char *id);
/** Whether the body's root element is root; MalformedInput set on c when not. */
bool api_body_is(api_call_t *c, const char *root);
/** Whether canonical name n lies in the zone whose canonical apex is apex. */
bool api_name_in_zone(const char *n, const char *apex);

/* ---- handlers (api.c: zones, changes, test answers; api_rrset.c: record sets; api_hc.c: health
 * checks, CIDR collections, tags, limits; api_dnssec.c: DNSSEC and key-signing keys) ---- */
typedef int (*api_handler_fn)(api_call_t *c);

int api_change_rrsets(api_call_t *c);
int api_list_rrsets(api_call_t *c);
int api_create_health_check(api_call_t *c);
int api_get_health_check(api_call_t *c);
int api_list_health_checks(api_call_t *c);
int api_update_health_check(api_call_t *c);
int api_delete_health_check(api_call_t *c);
int api_get_health_check_status(api_call_t *c);
int api_get_health_check_last_failure_reason(api_call_t *c);
int api_get_health_check_count(api_call_t *c);
int api_get_checker_ip_ranges(api_call_t *c);
int api_create_cidr_collection(api_call_t *c);
int api_list_cidr_collections(api_call_t *c);
int api_change_cidr_collection(api_call_t *c);
int api_list_cidr_locations(api_call_t *c);
int api_list_cidr_blocks(api_call_t *c);
int api_delete_cidr_collection(api_call_t *c);
int api_change_tags_for_resource(api_call_t *c);
int api_list_tags_for_resource(api_call_t *c);
int api_list_tags_for_resources(api_call_t *c);
int api_get_account_limit(api_call_t *c);
/* api_dnssec.c */
int api_create_ksk(api_call_t *c);
int api_activate_ksk(api_call_t *c);
int api_deactivate_ksk(api_call_t *c);
int api_delete_ksk(api_call_t *c);
int api_enable_dnssec(api_call_t *c);
int api_disable_dnssec(api_call_t *c);
int api_get_dnssec(api_call_t *c);
