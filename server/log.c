/* SPDX-License-Identifier: MIT */
/* log.c -- logging to stderr or syslog, one write per message. */
#include "log.h"
#include "err.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_bool use_syslog;
static atomic_int max_level = LOG_INFO;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void log_use_syslog(bool on, const char *ident)
{
	if (on)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&use_syslog, on);
}

void log_set_level(int level)
{
	atomic_store(&max_level, level);
}

void log_msg(int level, const char *fmt, ...)
{
	if (level > atomic_load_explicit(&max_level, memory_order_relaxed))
		return;
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	if (atomic_load_explicit(&use_syslog, memory_order_relaxed)) {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		syslog(level, "%s", buf);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ r53d[%s]: ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000L,
			 level_names[level & 7]);
	if (n < 0)
		n = 0;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}

const char *err_str(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_NOMEM: return "out of memory";
	case ERR_INVAL: return "invalid value";
	case ERR_PARSE: return "parse error";
	case ERR_IO: return "I/O error";
	case ERR_EXISTS: return "already exists";
	case ERR_NOTFOUND: return "not found";
	case ERR_LIMIT: return "limit exceeded";
	case ERR_SYS: return "system error";
	case ERR_CONFLICT: return "conflict";
	default: return "unknown error";
	}
}
