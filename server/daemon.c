/* SPDX-License-Identifier: MIT */
/* daemon.c -- placeholder until written */
typedef int daemon_placeholder_t;
