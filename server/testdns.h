/* SPDX-License-Identifier: MIT */
/*
 * testdns.h -- Route 53's TestDNSAnswer, locally: why does this query get this answer?
 *
 * testdns_answer() builds the query the parameters describe (name, type, resolver address,
 * optional ECS subnet), runs it through the same answer path as the workers, and returns
 * the TestDNSAnswer JSON shape (Nameserver, RecordName, RecordType, RecordData,
 * ResponseCode, Protocol) plus an explanation: the client location, the policy, each
 * candidate's health and the rule that chose.
 */
#pragma once

#include <jansson.h>

#include "zdb.h"

/** Parameters, as the TestDNSAnswer API names them; NULL for absent. */
typedef struct testdns_params {
	const char *hostedzoneid;          /**< required */
	const char *recordname;            /**< required */
	const char *recordtype;            /**< required */
	const char *resolverip;            /**< default 127.0.0.1 */
	const char *edns0clientsubnetip;   /**< optional */
	const char *edns0clientsubnetmask; /**< optional; default /24 (IPv4) or /64 (IPv6), ECS-4 */
} testdns_params_t;

/**
 * Answer a test query.
 * \param db   the current snapshot; borrowed.
 * \param out  receives a new JSON object (caller decrefs): the answer, or {"error": ...}.
 * \return 200 on success, 400 for bad parameters, 404 for an unknown zone or a name
 *         outside it. Control thread (it allocates; it is not on the query path).
 */
int testdns_answer(const zdb_t *db, const testdns_params_t *p, json_t **out);
