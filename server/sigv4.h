/* SPDX-License-Identifier: MIT */
/*
 * sigv4.h -- AWS Signature Version 4 verification, as botocore and the AWS SDKs sign
 * Route 53 requests (ROUTE53-API.md 1.4).
 *
 * Only the Authorization-header form is handled (AWS4-HMAC-SHA256); a request without an
 * Authorization header is SIGV4_UNSIGNED (aws --no-sign-request, curl) and the caller
 * decides whether to accept it. Presigned URLs (X-Amz-Signature in the query) are not
 * recognised and count as unsigned.
 *
 * Canonical request (what both sides hash):
 *   METHOD \n
 *   the URI path as received (still percent-encoded), with dot segments and empty
 *     segments removed, percent-encoded once more (A-Za-z0-9-_.~ and / kept): what
 *     botocore, the CRT signer and the other SDKs do for every service but S3; for the
 *     paths of Route 53 (letters, digits, -, /) that is the path unchanged \n
 *   the query: pairs split on '&' (empty pieces dropped), name and value split at the
 *     first '=' (none: empty value), each percent-decoded ('+' stays a '+') and re-encoded
 *     per RFC 3986 (A-Za-z0-9-_.~ kept, everything else %XX upper case), sorted by name
 *     then value, joined by '&' \n
 *   for each name of SignedHeaders, in the order given: "name:value\n", value trimmed and
 *     inner runs of white space collapsed to one space \n
 *   SignedHeaders \n
 *   the x-amz-content-sha256 header if present, else hex SHA-256 of the body.
 * String to sign: "AWS4-HMAC-SHA256\n" X-Amz-Date "\n" date/region/service/aws4_request
 * "\n" hex SHA-256 of the canonical request; key: HMAC chain from "AWS4" + secret over the
 * scope's date, region, service and "aws4_request". Region and service always come from
 * the request's own credential scope.
 *
 * Extra checks beyond the signature: host must be among the SignedHeaders; the credential
 * date must equal the date of X-Amz-Date; when x-amz-content-sha256 holds a hash it must be
 * the body's SHA-256, and any other value (UNSIGNED-PAYLOAD, STREAMING-...) is accepted
 * only with an empty body; X-Amz-Date must be within SIGV4_MAX_SKEW seconds of now.
 *
 * Threads: no state; any thread.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Largest accepted difference between X-Amz-Date and now, in seconds (AWS: 15 min). */
#define SIGV4_MAX_SKEW ((time_t)15 * 60)

/** One access key pair. Both strings borrowed. */
typedef struct sigv4_cred {
	const char *access_key_id;
	const char *secret;
} sigv4_cred_t;

/** A request as received. Every pointer is borrowed for the duration of the call. */
typedef struct sigv4_req {
	const char *method; /**< "GET"; not NULL */
	const char *path;   /**< URI path exactly as received, still percent-encoded
			         ("/2013-04-01/hostedzone/Z1/rrset/") */
	const char *query;  /**< raw query string without '?', or NULL */
	/** Header value lookup: lower_name is lower case, the lookup is case-insensitive;
	 *  NULL if absent. A header sent more than once should come back as the values joined
	 *  with ',' (RFC 9110 5.3), which is what SigV4 signs. */
	const char *(*header)(void *ctx, const char *lower_name); /**< not NULL */
	void *header_ctx;     /**< passed to header */
	const uint8_t *body;  /**< the body, or NULL when body_len is 0 */
	size_t body_len;
} sigv4_req_t;

/** Results of sigv4_parse and sigv4_verify, with the AWS error code each maps to. */
enum {
	SIGV4_OK = 0,
	SIGV4_UNSIGNED = 1,     /**< no Authorization header */
	SIGV4_MALFORMED = -1,   /**< IncompleteSignature (400): header or date unusable */
	SIGV4_UNKNOWN_KEY = -2, /**< InvalidClientTokenId (403) */
	SIGV4_MISMATCH = -3,    /**< SignatureDoesNotMatch (403); also, failing closed, when
				     memory runs out */
	SIGV4_SKEW = -4,        /**< RequestExpired (403): X-Amz-Date more than 15 min from now */
};

/**
 * Parse the Authorization header ("AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/REGION/SERVICE/
 * aws4_request, SignedHeaders=a;b, Signature=<64 hex>"; components in any order, blanks
 * after the commas optional) into access key, region and service, without verifying.
 * \param akid, region, service  receive NUL-terminated copies (sizes given); a value that
 *                               does not fit makes the header SIGV4_MALFORMED.
 * \retval SIGV4_OK, SIGV4_UNSIGNED (no header; outputs set to ""), SIGV4_MALFORMED.
 */
int sigv4_parse(const sigv4_req_t *r, char *akid, size_t akidlen, char *region,
		size_t regionlen, char *service, size_t servicelen);

/**
 * Verify r against creds[0..n): the Credential's key id picks the secret.
 * \param now     the current time, for the skew check.
 * \param region  receives the credential scope's region whenever the header parsed
 *                (even on failure); regionlen bytes.
 * \param err     receives a human-readable reason on failure (never anything secret);
 *                errlen bytes (may be 0).
 * \retval SIGV4_OK, SIGV4_UNSIGNED, SIGV4_MALFORMED, SIGV4_UNKNOWN_KEY, SIGV4_MISMATCH,
 *         SIGV4_SKEW (only for a request whose signature is otherwise correct).
 */
int sigv4_verify(const sigv4_req_t *r, const sigv4_cred_t *creds, size_t n, time_t now,
		 char *region, size_t regionlen, char *err, size_t errlen);
