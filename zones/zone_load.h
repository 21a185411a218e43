/* SPDX-License-Identifier: MIT */
/*
 * zone_load.h -- read an RFC 1035 zone file into ldns records (zones/ only).
 *
 * Our own small line reader handles parentheses, quotes, comments and the $ORIGIN, $TTL
 * and $INCLUDE directives, and remembers the file and line of every record; ldns converts
 * each record's text (every type it knows, and RFC 3597 \# form for the rest).
 */
#pragma once

#include <ldns/ldns.h>
#include <stddef.h>

/** One loaded record and where it came from. */
typedef struct zl_rr {
	ldns_rr *rr;      /**< the record (owned by the list) */
	const char *file; /**< file it came from (owned by the list) */
	int line;         /**< line where the record starts */
} zl_rr_t;

/** Records of one zone file and its includes. */
typedef struct zl_list {
	zl_rr_t *rr;      /**< records in file order */
	size_t n, cap;    /**< count and capacity */
	char **files;     /**< file names referenced by rr[].file */
	size_t n_files;   /**< number of file names */
} zl_list_t;

/**
 * Read a zone file.
 * \param path   the file; borrowed.
 * \param origin the zone name (presentation form), the initial $ORIGIN.
 * \param out    filled on success and on failure (free with zl_list_deinit either way).
 * \param err    "FILE:LINE: reason" on failure.
 * \retval 0 ok, ERR_IO (cannot open), ERR_PARSE (syntax), ERR_NOMEM, ERR_LIMIT.
 */
int zl_load(const char *path, const char *origin, zl_list_t *out, char *err, size_t errlen);

/** Free the records and names of a list. */
void zl_list_deinit(zl_list_t *l);
