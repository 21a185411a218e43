/* SPDX-License-Identifier: MIT */
/* wire.c -- placeholder until written */
typedef int wire_placeholder_t;
