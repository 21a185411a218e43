/* SPDX-License-Identifier: MIT */
/* worker.c -- placeholder until written */
typedef int worker_placeholder_t;
