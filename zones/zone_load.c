/* SPDX-License-Identifier: MIT */
/* zone_load.c -- placeholder until written */
typedef int zone_load_placeholder_t;
