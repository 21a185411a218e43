/* SPDX-License-Identifier: MIT */
/*
 * echo.c -- the kernel-path baseline for the benchmark: a bare UDP "DNS server" that
 * receives a batch of datagrams with recvmmsg, sets QR in each and sends them all back
 * with sendmmsg. It does no DNS work at all, so its CPU per query is the floor that the
 * kernel's UDP path (syscalls, socket buffers, loopback delivery of the replies) costs;
 * a real server can only add to it.
 *
 *   echo ADDR PORT      e.g.  echo 127.0.0.1 5399
 *
 * Built by tests/bench/bench.py with `cc -O2`. Runs until SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 4096

int
main(int argc, char **argv)
{
	static unsigned char bufs[BATCH][BUFSZ];
	static struct sockaddr_in peers[BATCH];
	static struct iovec iov[BATCH];
	static struct mmsghdr in[BATCH], out[BATCH];
	struct sockaddr_in sa;
	int fd, i, n, rcvbuf = 4 << 20;

	if (argc != 3) {
		fprintf(stderr, "usage: echo ADDR PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "echo: bad address %s\n", argv[1]);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("echo: socket/bind");
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		in[i].msg_hdr.msg_iov = &iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
		in[i].msg_hdr.msg_name = &peers[i];
	}
	for (;;) {
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_len = BUFSZ;
			in[i].msg_hdr.msg_namelen = sizeof peers[i];
		}
		n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("echo: recvmmsg");
			return 1;
		}
		for (i = 0; i < n; i++) {
			out[i] = in[i];
			iov[i].iov_len = in[i].msg_len;
			if (in[i].msg_len >= 3)
				bufs[i][2] |= 0x80; /* QR */
		}
		for (i = 0; i < n;) {
			int s = sendmmsg(fd, out + i, (unsigned)(n - i), 0);
			if (s < 0) {
				if (errno == EINTR)
					continue;
				break; /* drop the rest of the batch, like a full socket would */
			}
			i += s;
		}
	}
}
