/* SPDX-License-Identifier: MIT */
/* query.c -- placeholder until written */
typedef int query_placeholder_t;
