/* SPDX-License-Identifier: MIT */
/* zdb.c -- placeholder until written */
typedef int zdb_placeholder_t;
