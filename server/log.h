/* SPDX-License-Identifier: MIT */
/*
 * log.h -- logging to stderr or syslog.
 *
 * Messages start with their subject ("zone example.com: ..."). Nothing per query above
 * LOG_DEBUG. log_msg() formats into a stack buffer and issues one write, so it never
 * interleaves and never allocates; it may be called from any thread.
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

/** Send messages to syslog (true) or stderr (false, the default). Main thread, at start. */
void log_use_syslog(bool on, const char *ident);

/** Drop messages above this level (LOG_ERR .. LOG_DEBUG; default LOG_INFO). Any thread. */
void log_set_level(int level);

/** Log one message at a syslog level. Any thread. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
