/* SPDX-License-Identifier: MIT */
/*
 * r53present.h -- Route 53 presentation of names, types, rdata and whole zones (zones/ only).
 *
 * The API keeps every hosted zone as AWS CLI JSON record sets, so what a zone file holds
 * must be printed the way `aws route53 list-resource-record-sets` prints it:
 *
 * - Names (spec ROUTE53.md HZ-14, ROUTE53-API.md 1.3): lower case, trailing dot, and every
 *   byte other than a-z 0-9 - _ as a backslash and three OCTAL digits, so "*" is "\052"
 *   and a dot inside a label "\056". The root is ".".
 * - Values: the standard presentation form (ldns), except that an escaped byte is written
 *   as three octal digits (Route 53's form; r53json.c reads it back), never RFC 1035
 *   decimal.
 *
 * All functions are pure and thread-safe; none keeps a pointer to its arguments.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/** A buffer this large holds any name printed by r53p_name() or r53p_name_canon(). */
#define R53P_NAME_BUF 1024

/**
 * Route 53 output form of a wire name: "www.example.com.", "\052.example.com.", root ".".
 * Upper-case letters are lowered.
 * \param wire   uncompressed wire name (borrowed); at most len bytes are read.
 * \param buf    where the text goes (borrowed); R53P_NAME_BUF bytes always suffice.
 * \retval buf; "" when the name does not fit or the wire is malformed (truncated, a label
 *         over 63 octets, a compression pointer, longer than 255 octets).
 */
const char *r53p_name(const uint8_t *wire, size_t len, char *buf, size_t buflen);

/**
 * Canonical Route 53 form of a name given to the API, into buf.
 *
 * Accepts any case, with or without the trailing dot. Escapes:
 * - "\ooo", a backslash and exactly three OCTAL digits (0-7), is one byte in octal, as
 *   Route 53 prints it and as AWS documents for its API ("\052" is "*");
 * - "\DDD", three decimal digits of which at least one is 8 or 9, is one byte in RFC 1035
 *   decimal, since it cannot be octal ("\089" is "Y", printed "y");
 * - a backslash and any other non-digit character is that character ("\." is a dot
 *   inside a label, "\*" a star).
 * So "*.example.com", "\052.example.com." and "\*.EXAMPLE.com" all give
 * "\052.example.com.". The root is ".".
 * Rejected (ERR_INVAL): an empty name or label, a label over 63 octets, a name over 255
 * octets in wire form, a backslash and a digit not followed by two more digits, an escape
 * over 255 ("\400" octal, "\999" decimal), and unescaped bytes 0x00-0x20 and 0x7F-0xFF
 * (HZ-12: they must be written as escapes).
 * \param text  NUL-terminated (borrowed).
 * \param buf   R53P_NAME_BUF bytes always suffice; ERR_LIMIT when smaller and too small.
 * \retval ERR_OK, ERR_INVAL, ERR_LIMIT.
 */
int r53p_name_canon(const char *text, char *buf, size_t buflen);

/**
 * The ListResourceRecordSets sort key of a canonical name: its labels in reverse order
 * joined by '.', no trailing dot ("www.example.com." gives "com.example.www"; the root
 * gives ""). A backslash escapes the next character when labels are split.
 * \param canon borrowed.
 * \retval buf; "" when it does not fit (strlen(canon) + 1 bytes always suffice).
 */
const char *r53p_name_rev(const char *canon, char *buf, size_t buflen);

/**
 * Order of two record sets in Route 53 list order: the bytes of r53p_name_rev() of the
 * names, then the type mnemonics (byte order), then the SetIdentifiers (NULL first, then
 * byte order). Names must be canonical (r53p_name_canon()); names too long to be
 * canonical (over R53P_NAME_BUF - 1 characters) are compared as plain bytes.
 * All pointers borrowed. \retval <0, 0 or >0 like strcmp().
 */
int r53p_cmp(const char *name_a, const char *type_a, const char *setid_a, const char *name_b,
	     const char *type_b, const char *setid_b);

/**
 * Route 53 presentation of one record's rdata, as list-resource-record-sets shows a Value:
 * A "192.0.2.1", AAAA "2001:db8::1", MX "10 mail.example.com.", TXT "\"a\" \"b\"", SOA
 * "ns1.x. hostmaster.x. 1 7200 900 1209600 86400", CAA "0 issue \"ca.example\"", and so
 * on. ldns formats the fields; escaped bytes come out as "\ooo" octal (a raw tab inside a
 * string too). Types ldns does not know are written in RFC 3597 form ("\# 4 0a000001").
 * Names inside rdata keep their case.
 * \param rdata uncompressed wire rdata (borrowed).
 * \param buf   where the text goes (borrowed); 4 * rdlen + 64 bytes suffice for every type
 *              but those with type or port bitmaps (NSEC, NSEC3, CSYNC, WKS).
 * \retval ERR_OK; ERR_INVAL when the rdata is not a valid record of the type (too short,
 *         trailing bytes, compressed names); ERR_LIMIT when buf is too small;
 *         ERR_NOMEM.
 */
int r53p_rdata(uint16_t type, const uint8_t *rdata, size_t rdlen, char *buf, size_t buflen);

/**
 * Type mnemonic: "A", "HINFO", "TYPE65534" for a type ldns has no name for.
 * \retval buf; "" when it does not fit (16 bytes always suffice).
 */
const char *r53p_type_name(uint16_t type, char *buf, size_t buflen);

/**
 * Read a zone file (zl_load()) and return its data as Route 53 record sets: a new JSON
 * array of {"Name", "Type", "TTL", "ResourceRecords": [{"Value": ...}, ...]}, one per
 * (owner, type), sorted with r53p_cmp(). Values keep file order; duplicate records are
 * dropped (RFC 2181 5) and the set's TTL is the lowest of its records (RFC 2181 5.2),
 * as zone_build.c does for a zone file.
 *
 * Every type is written, including those outside Route 53's RRType list (HINFO, LOC,
 * DNAME, TYPEnnn in RFC 3597 form...): r53_load() rejects those, so a caller that stores
 * the result as a hosted zone must decide what to do with them.
 * \param path, origin  the file and the zone name (presentation form); borrowed.
 * \param out   on success a new array; the caller owns the reference (json_decref).
 *              NULL on failure.
 * \param err   "FILE:LINE: reason" on failure.
 * \retval ERR_OK; what zl_load() returns (ERR_IO, ERR_PARSE, ERR_LIMIT...); ERR_INVAL for a
 *         record outside the zone or not of class IN, or rdata that cannot be presented;
 *         ERR_NOMEM.
 */
int r53p_zone_file_sets(const char *path, const char *origin, json_t **out, char *err,
			size_t errlen);
