/* SPDX-License-Identifier: MIT */
/* zone_build.c -- placeholder until written */
typedef int zone_build_placeholder_t;
