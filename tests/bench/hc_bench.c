/* SPDX-License-Identifier: MIT */
/*
 * hc_bench.c -- health checker pool benchmark (not run by CTest).
 *
 * 10,000 health checks x 8 checkers at RequestInterval 10 s = 8,000 probes/s against
 * local endpoints: a forked child process serves a few ports on 127.0.0.1 with one
 * epoll loop (TCP: accept and close; HTTP: read the request, answer 200, then close when
 * the checker has closed). The server lets the checker close first on purpose: with
 * ~8,000 connections/s between a few loopback addresses, TIME_WAIT on the server side
 * makes the kernel reject SYNs that reuse a recent 4-tuple (1 s SYN retransmits), which
 * measures the loopback, not the pool. Checker-side TIME_WAIT is handled by port
 * selection (IP_BIND_ADDRESS_NO_PORT, tcp_tw_reuse).
 * Checker j binds source 127.0.0.(2+j). TCP and HTTP mixes are run one after the other
 * and reported apart: probes/s, pass ratio, pool CPU (utime+stime of the pool threads
 * from /proc/self/task/TID/stat, in cores), endpoint-server CPU, probe start lateness
 * p50/p99/max and probe duration p50/p99.
 *
 * Build: cmake --build BUILD --target hc_bench
 * Run:   BUILD/tests/hc_bench [--checks 10000] [--checkers 8] [--interval 10]
 *            [--threads 2] [--warmup 12] [--seconds 30] [--mix tcp|http|both]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hc.h"

#define N_PORTS 16

/* ---- endpoint server (child process) ---- */

static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

static void serve(int *lfd, int n, int http)
{
	int ep = epoll_create1(0);
	/* per-fd request progress: bytes of "\r\n\r\n" matched */
	static unsigned char seen[1 << 20];
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd[i] | (1 << 30) };
		epoll_ctl(ep, EPOLL_CTL_ADD, lfd[i], &ev);
	}
	struct epoll_event evs[512];
	for (;;) {
		int k = epoll_wait(ep, evs, 512, -1);
		for (int e = 0; e < k; e++) {
			int tag = evs[e].data.fd;
			if (tag & (1 << 30)) {
				int l = tag & ~(1 << 30);
				for (;;) {
					int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					if (!http || fd >= (1 << 20)) {
						close(fd);
						continue;
					}
					seen[fd] = 0;
					struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			int fd = tag;
			char buf[4096];
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				close(fd);
				continue;
			}
			static const char end[] = "\r\n\r\n";
			bool done = false;
			for (ssize_t i = 0; i < r && !done && seen[fd] < 4; i++) {
				seen[fd] = buf[i] == end[seen[fd]] ? seen[fd] + 1 : (buf[i] == '\r' ? 1 : 0);
				done = seen[fd] == 4;
			}
			if (done && seen[fd] == 4) {
				if (write(fd, resp, sizeof(resp) - 1) < 0) {
					/* the checker went away */
				}
				seen[fd] = 5; /* answered: wait for the checker's FIN */
			}
		}
	}
}

/* ---- measurement ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** utime+stime in seconds of /proc/PID/task/TID/stat (tid 0: the whole process). */
static double cpu_of(pid_t pid, int tid)
{
	char path[96], buf[1024];
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	unsigned long ut = 0, st = 0;
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double pool_cpu(hc_system_t *sys)
{
	hc_stats_t st;
	hc_stats_get(sys, &st);
	double sum = 0;
	for (unsigned i = 0; i < st.threads; i++)
		sum += cpu_of(getpid(), st.thread_tids[i]);
	return sum;
}

static void quiet(int level, const char *msg)
{
	if (level <= 3)
		fprintf(stderr, "%s\n", msg);
}

static int run_mix(const char *mix, int checks, int checkers, int interval, int threads,
		   double warmup, double seconds)
{
	int http = strcmp(mix, "http") == 0;
	int lfd[N_PORTS];
	uint16_t port[N_PORTS];
	for (int i = 0; i < N_PORTS; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(0x7f000001);
		lfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd[i], (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd[i], 4096) < 0) {
			perror("listen");
			return 1;
		}
		socklen_t len = sizeof(sin);
		getsockname(lfd[i], (struct sockaddr *)&sin, &len);
		port[i] = ntohs(sin.sin_port);
	}
	pid_t child = fork();
	if (child == 0) {
		serve(lfd, N_PORTS, http);
		_exit(0);
	}
	for (int i = 0; i < N_PORTS; i++)
		close(lfd[i]);

	json_t *list = json_array();
	for (int i = 0; i < checks; i++) {
		char id[32];
		snprintf(id, sizeof(id), "bench-%05d", i);
		json_array_append_new(list, json_pack("{s:s, s:{s:s, s:i, s:s, s:i, s:i}}", "Id", id,
			"HealthCheckConfig", "IPAddress", "127.0.0.1", "Port", port[i % N_PORTS],
			"Type", http ? "HTTP" : "TCP", "RequestInterval", interval,
			"FailureThreshold", 3));
	}
	json_t *cj = json_pack("{s:o}", "HealthChecks", list);
	json_t *sources = json_array();
	for (int j = 0; j < 8; j++) {
		char ip[16];
		snprintf(ip, sizeof(ip), "127.0.0.%d", 2 + j);
		json_array_append_new(sources, json_string(ip));
	}
	json_t *settings = json_pack("{s:i, s:i, s:o}", "threads", threads, "checkers", checkers,
				     "sources", sources);
	hc_system_t *sys = NULL;
	char err[512];
	if (hc_system_new(settings, "bench", cj, "bench", &sys, err, sizeof(err)) != HC_OK ||
	    hc_system_start(sys, err, sizeof(err)) != HC_OK) {
		fprintf(stderr, "hc_bench: %s\n", err);
		kill(child, SIGKILL);
		return 1;
	}
	json_decref(cj);
	json_decref(settings);

	struct timespec w = { (time_t)warmup, (long)((warmup - (time_t)warmup) * 1e9) };
	nanosleep(&w, NULL);
	hc_stats_reset(sys);
	double c0 = pool_cpu(sys), s0 = cpu_of(child, 0), t0 = now_s();
	struct timespec m = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
	nanosleep(&m, NULL);
	double c1 = pool_cpu(sys), s1 = cpu_of(child, 0), t1 = now_s();
	hc_stats_t st;
	hc_stats_get(sys, &st);
	double el = t1 - t0;
	printf("%-4s %6d checks x %d checkers @ %d s, %d threads: %7.0f probes/s (target %.0f), "
	       "%.2f%% pass; pool CPU %.2f cores, server CPU %.2f cores; lateness p50 %.1f ms, "
	       "p99 %.1f ms, max %.1f ms, late(>100ms) %" PRIu64 "; duration p50 %.1f ms, p99 %.1f ms\n",
	       mix, checks, checkers, interval, threads, (double)st.probes / el,
	       (double)checks * checkers / interval,
	       st.probes ? 100.0 * (double)st.probes_ok / (double)st.probes : 0.0, (c1 - c0) / el,
	       (s1 - s0) / el, st.lateness_p50_ms, st.lateness_p99_ms, st.lateness_max_ms, st.late,
	       st.duration_p50_ms, st.duration_p99_ms);
	/* the most common failure texts, to tell endpoint trouble from pool trouble */
	json_t *status = NULL;
	if (st.probes_ok < st.probes && hc_status_json(sys, &status) == HC_OK) {
		json_t *counts = json_object();
		json_t *lst = json_object_get(status, "HealthChecks");
		for (size_t i = 0; i < json_array_size(lst); i++) {
			json_t *obs = json_object_get(json_array_get(lst, i), "HealthCheckObservations");
			for (size_t j = 0; j < json_array_size(obs); j++) {
				const char *t = json_string_value(json_object_get(
					json_object_get(json_array_get(obs, j), "StatusReport"), "Status"));
				if (t == NULL || strncmp(t, "Failure", 7) != 0)
					continue;
				json_t *c = json_object_get(counts, t);
				json_object_set_new(counts, t, json_integer(c ? json_integer_value(c) + 1 : 1));
			}
		}
		const char *k;
		json_t *v;
		json_object_foreach(counts, k, v)
			printf("     last observation %6" JSON_INTEGER_FORMAT "x: %s\n", json_integer_value(v), k);
		json_decref(counts);
		json_decref(status);
	}
	fflush(stdout);
	hc_system_free(sys);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int checks = 10000, checkers = 8, interval = 10, threads = 2;
	double warmup = 12, seconds = 30;
	const char *mix = "both";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--checks") == 0)
			checks = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--checkers") == 0)
			checkers = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--interval") == 0)
			interval = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--warmup") == 0)
			warmup = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--mix") == 0)
			mix = argv[i + 1];
		else {
			fprintf(stderr, "usage: hc_bench [--checks N] [--checkers K] [--interval S] "
					"[--threads T] [--warmup S] [--seconds S] [--mix tcp|http|both]\n");
			return 2;
		}
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	hc_set_logger(quiet);
	int rc = 0;
	if (strcmp(mix, "tcp") == 0 || strcmp(mix, "both") == 0)
		rc |= run_mix("tcp", checks, checkers, interval, threads, warmup, seconds);
	if (strcmp(mix, "http") == 0 || strcmp(mix, "both") == 0)
		rc |= run_mix("http", checks, checkers, interval, threads, warmup, seconds);
	return rc;
}
