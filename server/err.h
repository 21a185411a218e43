/* SPDX-License-Identifier: MIT */
/*
 * err.h -- the one error enum of r53d.
 *
 * Functions that can fail return int: ERR_OK (0) or a negative ERR_* value, and write
 * results through out-parameters. err_str() names a code for logs.
 */
#pragma once

enum {
	ERR_OK = 0,      /**< success */
	ERR_NOMEM = -1,  /**< allocation failed */
	ERR_INVAL = -2,  /**< invalid argument or value */
	ERR_PARSE = -3,  /**< syntax error in a file or message */
	ERR_IO = -4,     /**< I/O failure (open, read, socket) */
	ERR_EXISTS = -5, /**< duplicate definition */
	ERR_NOTFOUND = -6, /**< a referenced object does not exist */
	ERR_LIMIT = -7,  /**< a limit was exceeded */
	ERR_SYS = -8,    /**< a system call failed (see errno) */
	ERR_CONFLICT = -9, /**< a guarded store commit lost a race (a guard key changed) */
};

/** Name of an error code, for logs. Never NULL; any thread. */
const char *err_str(int code);
