/* SPDX-License-Identifier: MIT */
/*
 * zone_load.h -- read an RFC 1035 zone file into wire-format records (zones/ only).
 *
 * Our own splitter handles parentheses, quotes, comments and the $ORIGIN, $TTL and
 * $INCLUDE directives, and remembers the file and line of every record; libzscanner
 * (Knot DNS) converts each record's text to wire (RFC 3597 \# form for unknown types).
 * The few records it refuses (classes other than IN, type mnemonics Knot lacks, raw
 * non-ASCII text) are read by ldns as before.
 */
#pragma once

#include <ldns/ldns.h>
#include <stddef.h>

/**
 * One loaded record, already in wire form, and where it came from. Owners and rdata live
 * in the list's blob (chunks of up to 1 MiB, no allocation per record); records in a row
 * with the same owner share its bytes.
 */
typedef struct zl_rr {
	const uint8_t *owner; /**< owner, lower-cased wire (in the list's blob) */
	const uint8_t *rdata; /**< rdata, uncompressed wire (in the list's blob) */
	uint32_t ttl;         /**< TTL */
	uint16_t type;        /**< RR type */
	uint16_t rclass;      /**< class */
	uint16_t rdlen;       /**< bytes of rdata */
	uint8_t ownerlen;     /**< bytes of owner */
	const char *file;     /**< file it came from (owned by the list), or a JSON path */
	int line;             /**< line where the record starts; -1 for JSON record sets */
} zl_rr_t;

struct zl_chunk;

/** Records of one zone file and its includes (or of one JSON record set). */
typedef struct zl_list {
	zl_rr_t *rr;      /**< records in file order */
	size_t n, cap;    /**< count and capacity */
	char **files;     /**< file names referenced by rr[].file */
	size_t n_files;   /**< number of file names */
	struct zl_chunk *blob; /**< storage of owners and rdata */
} zl_list_t;

/**
 * Convert an ldns record into the list (owner lower-cased, rdata to wire) and free it.
 * \param rr    taken over (freed on success and failure).
 * \param file  borrowed; must outlive the list.
 * \retval ERR_OK, ERR_NOMEM, ERR_PARSE (rdata does not convert).
 */
int zl_push_rr(zl_list_t *l, ldns_rr *rr, const char *file, int line);

/**
 * Read a zone file. $INCLUDE paths are relative to the including file's directory; an
 * included file starts at the given origin (relative to the current one) or the current
 * one, and its $ORIGIN stays inside it, while $TTL and the previous owner carry over.
 * Records without a TTL get $TTL, else 3600.
 * \param path   the file; borrowed.
 * \param origin the zone name (presentation form), the initial $ORIGIN.
 * \param out    filled on success and on failure (free with zl_list_deinit either way).
 * \param err    "FILE:LINE: reason" on failure (the included file and its line for an
 *               error inside an include).
 * \retval 0 ok, ERR_IO (cannot open), ERR_PARSE (syntax, NUL byte, name over 255 bytes,
 *         missing include), ERR_NOMEM, ERR_LIMIT (includes nested over 8 deep),
 *         ERR_INVAL (bad zone name).
 */
int zl_load(const char *path, const char *origin, zl_list_t *out, char *err, size_t errlen);

/**
 * Copy a list's records (owners and rdata into one new chunk). File names are not copied:
 * the copy's rr[].file pointers are src's, so src's files must outlive dst.
 * \retval ERR_OK, ERR_NOMEM (dst is then empty).
 */
int zl_list_copy(zl_list_t *dst, const zl_list_t *src);

/** Free the records and names of a list. */
void zl_list_deinit(zl_list_t *l);
