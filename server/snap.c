/* SPDX-License-Identifier: MIT */
/* snap.c -- placeholder until written */
typedef int snap_placeholder_t;
