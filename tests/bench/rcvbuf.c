/* SPDX-License-Identifier: MIT
 * rcvbuf.c -- LD_PRELOAD shim for the benchmark's peer servers: every UDP socket that binds
 * gets SO_RCVBUF = $BENCH_RCVBUF bytes (default 4 MiB, what r53d asks for; the kernel caps
 * it at net.core.rmem_max) just before bind(). Knot keeps the OS default (~208 kB) and has no
 * option for it; under dnsperf's bursts that drops queries, and each lost query stalls one
 * of dnsperf's slots for its timeout, so every server gets the same buffer instead.
 * Built by bench.py: cc -O2 -shared -fPIC -o rcvbuf.so rcvbuf.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	static int (*real_bind)(int, const struct sockaddr *, socklen_t);
	if (real_bind == NULL)
		real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	int type = 0;
	socklen_t tl = sizeof(type);
	if (addr != NULL && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM) {
		const char *e = getenv("BENCH_RCVBUF");
		int want = e != NULL ? atoi(e) : 4 * 1024 * 1024;
		int cur = 0;
		socklen_t cl = sizeof(cur);
		/* Never shrink what the server set itself (the kernel reports twice the request). */
		if (want > 0 && getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &cl) == 0 && cur / 2 < want)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	}
	return real_bind(fd, addr, len);
}
