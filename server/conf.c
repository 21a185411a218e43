/* SPDX-License-Identifier: MIT */
/* conf.c -- placeholder until written */
typedef int conf_placeholder_t;
