/* SPDX-License-Identifier: MIT */
/* admin.c -- placeholder until written */
typedef int admin_placeholder_t;
