/* SPDX-License-Identifier: MIT */
/* zanswer.c -- placeholder until written */
typedef int zanswer_placeholder_t;
