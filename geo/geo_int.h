/* SPDX-License-Identifier: MIT */
/*
 * geo_int.h -- helpers shared by the files of geo/; not part of the public interface.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * printf into err (errlen bytes, always NUL-terminated); does nothing when err is NULL or
 * errlen is 0. Any thread.
 */
void geo_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** ASCII upper case of c; other bytes unchanged (no locale). Any thread. */
static inline char geo_upper(char c)
{
	if (c >= 'a' && c <= 'z')
		return (char)(c - 'a' + 'A');
	return c;
}

/** True when the first prefix bits of a and b are equal. Any thread. */
bool geo_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix);
