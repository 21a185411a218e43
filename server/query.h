/* SPDX-License-Identifier: MIT */
/*
 * query.h -- parse a DNS query from raw bytes: header, one question, EDNS OPT.
 *
 * Our own small parser (STYLE 1.5): no allocation, no ldns, every read bounds-checked.
 * Only what the answer needs is kept; other additional records (e.g. TSIG) are walked for
 * well-formedness and ignored.
 */
#pragma once

#include "zanswer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** query_parse() results. */
enum query_status {
	QP_OK = 0,   /**< a well-formed QUERY */
	QP_FORMERR,  /**< malformed: answer FORMERR */
	QP_NOTIMP,   /**< opcode other than QUERY: answer NOTIMP */
	QP_BADVERS,  /**< EDNS version > 0: answer BADVERS */
	QP_DROP,     /**< send nothing: a response, or too short to carry an id */
};

/** A parsed query. */
typedef struct query {
	uint16_t id;        /**< message id */
	uint8_t opcode;     /**< OPCODE */
	bool rd, cd;        /**< RD and CD flags, copied to the response */
	bool has_question;  /**< the question parsed (it is echoed even on errors) */
	size_t qend;        /**< offset just past the question */
	zq_t zq;            /**< the question for the answer code */
	bool edns;          /**< an OPT record was present and valid */
	uint8_t edns_version; /**< EDNS version */
	uint16_t edns_size; /**< requestor's UDP payload size (>= 512) */
	bool edns_do;       /**< DO bit (0x8000 of the OPT flags) */
	bool edns_co;       /**< CO bit, Compact denial OK (RFC 9824 5: 0x4000 of the OPT
				 flags): NXDOMAIN stays NXDOMAIN in a signed answer */
	const uint8_t *ecs; /**< EDNS Client Subnet option payload (in the packet), or NULL */
	uint16_t ecs_len;   /**< its length */
	bool nsid;          /**< an empty NSID option was present (RFC 5001 2.1) */
} query_t;

/**
 * Parse a query.
 * \param pkt, len  the datagram or TCP message; borrowed (q->ecs points into it).
 * \return an enum query_status value. Any thread.
 */
int query_parse(const uint8_t *pkt, size_t len, query_t *q);
