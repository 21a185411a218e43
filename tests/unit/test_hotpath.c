/* SPDX-License-Identifier: MIT */
/*
 * test_hotpath.c -- the UDP query path does not allocate.
 *
 * This executable defines malloc, calloc, realloc, aligned_alloc and posix_memalign
 * itself; the dynamic linker then resolves every allocation in the process to them
 * (libevent's and glibc's included) and they count before passing on to glibc. A real
 * worker thread serves a real UDP socket; after a warm-up, thousands of queries
 * (static answers, NXDOMAIN, weighted, geolocation with ECS, alias trees, ANY, TC,
 * malformed) go through recvmmsg -> answer_build -> sendmmsg, and the count must not
 * move. The same for DNSSEC: DO queries to a signed zone once the signature cache is warm,
 * through the answer cache and without it (every query signed by zsign_answer). Not built
 * with sanitizers, which bring their own allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "dnssec.h"
#include "err.h"
#include "geo.h"
#include "hc_state.h"
#include "qlog.h"
#include "snap.h"
#include "worker.h"
#include "zdb.h"
#include "zsign.h"

/* ---- counting allocator ------------------------------------------------------------ */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_ulong allocs;

void *malloc(size_t n)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	return __libc_realloc(p, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	return __libc_memalign(a, n);
}

int posix_memalign(void **p, size_t a, size_t n)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	*p = __libc_memalign(a, n);
	return *p ? 0 : ENOMEM;
}

/* ---- fixture ----------------------------------------------------------------------- */

static snap_domain_t *domain;
static worker_t *worker;
static conf_listen_t listen_addr; /* the worker's address (port resolved) */
static hc_table_t *hc;
static int client = -1;
static uint16_t port;

static int hc_find(void *c, const char *id, uint32_t *slot)
{
	(void)c;
	*slot = (uint32_t)(id[strlen(id) - 1] % 16); /* any id: a stable slot */
	return ERR_OK;
}

static int setup(void **state)
{
	(void)state;
	char err[512] = "";
	hc = calloc(1, sizeof(*hc) + 16 * sizeof(hc->words[0]));
	hc->n = 16;
	atomic_store(&hc->words[2], HC_WORD_UNHEALTHY); /* some member is unhealthy */
	geo_db_t *geo = NULL;
	const char *paths[] = { GEO_FIXTURE_DIR "/geolite2-city.mmdb" };
	if (geo_db_new(paths, 1, &geo, err, sizeof(err)) != GEO_OK)
		return -1;
	json_t *rs = json_load_file(R53D_TEST_DATA "/policy.json", 0, NULL);
	json_t *colls = json_loads("[{\"CidrCollection\": {\"Id\": \"c-1\", \"Name\": \"o\"},"
				   " \"cidr_blocks\": {\"CidrBlocks\": [{\"CidrBlock\": \"203.0.113.0/24\","
				   " \"LocationName\": \"office\"}]}}]", 0, NULL);
	/* example.com is signed (queries without DO answer as before) */
	dnssec_key_t *ksk = NULL, *zsk = NULL;
	if (dnssec_key_generate(&ksk, DNSSEC_FLAGS_KSK) != ERR_OK ||
	    dnssec_key_generate(&zsk, DNSSEC_FLAGS_ZSK) != ERR_OK)
		return -1;
	zdb_sec_src_t sec = { .ksk = &ksk, .n_ksk = 1, .zsk = zsk };
	zdb_src_t src[2] = {
		{ .id = "Z1", .name = "example.com.", .zone_file = R53D_TEST_DATA "/example.com.zone",
		  .dnssec = &sec },
		{ .id = "/hostedzone/Z1POLICY", .name = "policy.test.",
		  .zone_file = R53D_TEST_DATA "/policy.zone", .record_sets = rs },
	};
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232,
			 .health = hc, .hc_find = hc_find, .geo = geo, .cidr_collections = colls,
			 .nsid = "hotpath-nsid" };
	zdb_t *db = NULL;
	int ret = zdb_build(src, 2, &o, &db, err, sizeof(err));
	dnssec_key_free(ksk); /* the zone keeps its own references */
	dnssec_key_free(zsk);
	json_decref(rs);
	json_decref(colls);
	if (ret != ERR_OK) {
		fprintf(stderr, "zdb_build: %s\n", err);
		return -1;
	}
	if (snap_domain_new(1, &domain) != ERR_OK)
		return -1;
	snap_publish(domain, snap_new(db, geo, NULL, 1));

	conf_listen_t l;
	memset(&l, 0, sizeof(l));
	if (conf_parse_addr("127.0.0.1:0", 0, &l.addr, &l.addrlen) != ERR_OK ||
	    worker_probe_listen(&l, err, sizeof(err)) != ERR_OK) {
		fprintf(stderr, "listen: %s\n", err);
		return -1;
	}
	snprintf(l.text, sizeof(l.text), "127.0.0.1");
	port = worker_addr_port(&l.addr);
	listen_addr = l;
	worker_cfg_t cfg = { .id = 0, .answer_cache = true, .snaps = domain, .listen = &l, .n_listen = 1,
			     .tcp_idle_ms = 1000, .tcp_max_conns = 10, .seed = 1, .qlog_fd = -1 };
	if (worker_new(&cfg, &worker, err, sizeof(err)) != ERR_OK || worker_start(worker) != ERR_OK) {
		fprintf(stderr, "worker: %s\n", err);
		return -1;
	}
	client = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return connect(client, (struct sockaddr *)&sa, sizeof(sa));
}

/* Replace the worker by one that logs into ring (NULL: no query log); same port. */
static int restart_worker(qlog_ring_t *ring)
{
	char err[512] = "";
	worker_stop(worker);
	worker_join(worker);
	worker_free(worker);
	worker_cfg_t cfg = { .id = 0, .answer_cache = true, .snaps = domain, .listen = &listen_addr, .n_listen = 1,
			     .tcp_idle_ms = 1000, .tcp_max_conns = 10, .seed = 1, .qlog_fd = -1,
			     .qlog = ring };
	if (worker_new(&cfg, &worker, err, sizeof(err)) != ERR_OK || worker_start(worker) != ERR_OK) {
		fprintf(stderr, "worker: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(client);
	worker_stop(worker);
	worker_join(worker);
	worker_free(worker);
	snap_domain_free(domain);
	free(hc);
	return 0;
}

/* Queries, made once: name, type, optional ECS (IPv4 /24). */
static uint8_t qbuf[20][300];
static size_t qlen[20];
static size_t nq;

static void add_query(const char *name, uint16_t type, const char *ecs)
{
	uint8_t *q = qbuf[nq];
	size_t n = 12;
	memset(q, 0, 12);
	q[0] = (uint8_t)nq;
	q[5] = 1;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = (size_t)(dot - p);
		q[n++] = (uint8_t)l;
		memcpy(q + n, p, l);
		n += l;
		p = dot + 1;
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	if (ecs != NULL) {
		uint8_t a[4];
		inet_pton(AF_INET, ecs, a);
		uint8_t opt[] = { 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0,
				  a[0], a[1], a[2] };
		q[11] = 1;
		memcpy(q + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	qlen[nq++] = n;
}

/* The same with an OPT record carrying an empty NSID option (RFC 5001). */
static void add_query_nsid(const char *name, uint16_t type)
{
	add_query(name, type, NULL);
	static const uint8_t opt[] = { 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0 };
	uint8_t *q = qbuf[nq - 1];
	q[11] = 1;
	memcpy(q + qlen[nq - 1], opt, sizeof(opt));
	qlen[nq - 1] += sizeof(opt);
}

static void serve_and_count(const char *what);

static void test_no_allocation_per_query(void **state)
{
	(void)state;
	add_query("www.example.com.", 1, NULL);
	add_query("nothere.example.com.", 1, NULL);
	add_query("chain.example.com.", 1, "192.0.2.0");
	add_query("foo.wild.example.com.", 16, NULL);
	add_query("host.sub.example.com.", 1, NULL);
	add_query("big.example.com.", 16, NULL); /* TC */
	add_query("example.com.", 255, NULL);
	add_query("w.policy.test.", 1, NULL);
	add_query("geo.policy.test.", 1, "192.0.2.0");
	add_query("lat.policy.test.", 1, "203.0.113.0");
	add_query("app.policy.test.", 1, NULL);
	add_query("mv.policy.test.", 1, NULL);
	add_query("ip.policy.test.", 1, "203.0.113.0");
	add_query("www.example.org.", 1, NULL); /* REFUSED */
	add_query("ns1.example.com.", 1, NULL); /* its own A not repeated as additional */
	add_query_nsid("www.example.com.", 1); /* NSID in the OPT */
	qbuf[nq][0] = 0xff; /* a malformed one: QDCOUNT 2 */
	memcpy(qbuf[nq], qbuf[0], qlen[0]);
	qbuf[nq][5] = 2;
	qlen[nq] = qlen[0];
	nq++;
	serve_and_count("query log off");
}

/*
 * The same with the query log on (Route 53 format, to a file): each query appends a record
 * to the worker's ring and the logger thread formats and writes them; neither allocates per
 * query (the counter covers the logger thread too), and no line is dropped.
 */
static void test_no_allocation_with_query_log(void **state)
{
	(void)state;
	char path[] = "/tmp/r53d-hotpath-qlog-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd > 2);
	qlog_t *l = NULL;
	qlog_opts_t o = { .rings = 1, .fd = fd, .format = QLOG_ROUTE53, .server_id = "HOT1" };
	assert_int_equal(qlog_new(&o, &l), ERR_OK);
	assert_int_equal(qlog_start(l), ERR_OK);
	assert_int_equal(restart_worker(qlog_ring(l, 0)), 0);
	serve_and_count("query log on");
	qlog_stats_t st;
	qlog_stats(l, &st);
	assert_int_equal(st.queued, 300 + 20000);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(restart_worker(NULL), 0); /* the ring's worker is gone */
	qlog_free(l);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t lines = 0;
	char line[1024];
	while (fgets(line, sizeof(line), f) != NULL)
		lines += strstr(line, " HOT1 127.0.0.1 ") != NULL;
	fclose(f);
	unlink(path);
	assert_int_equal(lines, 300 + 20000);
}

/* Replace the worker by one that applies rate limiting r (NULL: none); same port. */
static int restart_worker_rrl(rrl_t *r)
{
	char err[512] = "";
	worker_stop(worker);
	worker_join(worker);
	worker_free(worker);
	worker_cfg_t cfg = { .id = 0, .answer_cache = true, .snaps = domain, .listen = &listen_addr, .n_listen = 1,
			     .tcp_idle_ms = 1000, .tcp_max_conns = 10, .seed = 1, .qlog_fd = -1,
			     .rrl = r };
	if (worker_new(&cfg, &worker, err, sizeof(err)) != ERR_OK || worker_start(worker) != ERR_OK) {
		fprintf(stderr, "worker: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * The same with response rate limiting on: first a limit far above the offered rate, so
 * that every response is charged to its account and none is limited; then a limit of one
 * response a second with slip 1, so that nearly every response is limited and goes out
 * as an empty TC reply. The tables are built before counting; neither path allocates.
 */
static void test_no_allocation_with_rrl(void **state)
{
	(void)state;
	rrl_t *r = NULL;
	assert_int_equal(rrl_new(1, &r), ERR_OK);
	rrl_conf_t c;
	rrl_conf_default(&c);
	c.responses_per_second = RRL_MAX_RATE;
	snap_defer_t *old = NULL;
	assert_int_equal(rrl_configure(r, &c, &old), ERR_OK);
	assert_int_equal(restart_worker_rrl(r), 0);
	serve_and_count("rrl on, under the limit");
	rrl_stats_t st;
	memset(&st, 0, sizeof(st));
	rrl_stats_sum(r, &st);
	assert_int_equal(st.checked, 300 + 20000);
	assert_int_equal(st.dropped + st.slipped, 0);

	c.responses_per_second = 1;
	c.slip = 1;
	assert_int_equal(rrl_configure(r, &c, &old), ERR_OK); /* the worker may hold the old set */
	serve_and_count("rrl on, limited (slip 1)");
	memset(&st, 0, sizeof(st));
	rrl_stats_sum(r, &st);
	assert_int_equal(st.checked, 2 * (300 + 20000));
	assert_int_equal(st.dropped, 0);
	assert_true(st.slipped > 300 + 20000 - 1000);
	assert_int_equal(restart_worker_rrl(NULL), 0);
	snap_defer_run(old);
	rrl_free(r);
}

/* Replace the worker by one with or without the answer cache; same port. */
static int restart_worker_cache(bool answer_cache)
{
	char err[512] = "";
	worker_stop(worker);
	worker_join(worker);
	worker_free(worker);
	worker_cfg_t cfg = { .id = 0, .answer_cache = answer_cache, .snaps = domain,
			     .listen = &listen_addr, .n_listen = 1, .tcp_idle_ms = 1000,
			     .tcp_max_conns = 10, .seed = 1, .qlog_fd = -1 };
	if (worker_new(&cfg, &worker, err, sizeof(err)) != ERR_OK || worker_start(worker) != ERR_OK) {
		fprintf(stderr, "worker: %s\n", err);
		return -1;
	}
	return 0;
}

/* The same query with an OPT record: EDNS 1232, DO, and CO (RFC 9824) when asked. */
static void add_query_do(const char *name, uint16_t type, bool co)
{
	add_query(name, type, NULL);
	const uint8_t opt[] = { 0, 0, 41, 4, 0xd0, 0, 0, (uint8_t)(0x80 | (co ? 0x40 : 0)), 0, 0, 0 };
	uint8_t *q = qbuf[nq - 1];
	q[11] = 1;
	memcpy(q + qlen[nq - 1], opt, sizeof(opt));
	qlen[nq - 1] += sizeof(opt);
}

static unsigned long serve(const char *what, bool expect_cached);

/*
 * DNSSEC: DO queries to the signed zone (positive, wildcard, CNAME chain, NXDOMAIN as
 * NSEC and, with CO, as NXDOMAIN; NODATA, referral with its NSEC, DNSKEY by the KSK, ANY,
 * a truncated one) allocate nothing once the signature cache is warm: through the answer
 * cache, then with the cache off so that every query is signed by zsign_answer.
 */
static void test_no_allocation_dnssec(void **state)
{
	(void)state;
	nq = 0;
	add_query_do("www.example.com.", 1, false);
	add_query_do("nothere.example.com.", 1, false);
	add_query_do("nothere.example.com.", 1, true);
	add_query_do("www.example.com.", 28, false); /* NODATA */
	add_query_do("chain.example.com.", 1, false);
	add_query_do("foo.wild.example.com.", 16, false);
	add_query_do("host.sub.example.com.", 1, false); /* referral */
	add_query_do("example.com.", 48, false);      /* DNSKEY */
	add_query_do("example.com.", 255, false);
	add_query_do("big.example.com.", 16, false); /* TC */
	add_query_do("WwW.ExAmPlE.CoM.", 1, true);
	add_query("www.example.com.", 1, NULL); /* without DO: unsigned */
	zsign_stats_t z0, z1;
	serve("dnssec, answer cache on", true);
	worker_sign_stats(worker, &z0);
	assert_true(z0.answers > 0);
	assert_true(z0.answers < 20000 / 2); /* most from the answer cache */
	assert_int_equal(z0.failures, 0);
	assert_int_equal(restart_worker_cache(false), 0);
	unsigned long us = serve("dnssec, answer cache off", false);
	worker_sign_stats(worker, &z1);
	printf("hot path, dnssec without the answer cache: %llu answers signed, %llu signatures "
	       "computed, %llu from the signature cache, %.1f us per round trip\n",
	       (unsigned long long)z1.answers, (unsigned long long)z1.signatures,
	       (unsigned long long)z1.cache_hits, (double)us / 20000.0);
	assert_int_equal(z1.failures, 0);
	/* every DO query was signed (11 of the 12) */
	assert_true(z1.answers >= (uint64_t)(300 + 20000) / 12 * 11);
	/* the counted ones from the signature cache: nothing signed after the warm-up */
	assert_true(z1.cache_hits > 20000);
	assert_true(z1.signatures < 300);
	assert_int_equal(restart_worker_cache(true), 0);
}

/* Send the queries, 300 to warm up then 20000 counted, and assert nothing allocated. */
static void serve_and_count(const char *what)
{
	(void)serve(what, true);
}

/* serve_and_count's loop; expect_cached: the answer cache answers most. Returns the
 * microseconds the counted round trips took. */
static unsigned long serve(const char *what, bool expect_cached)
{
	uint8_t resp[4096];
	size_t answered = 0, sent = 0;
	unsigned long before = 0;
	struct timespec t0 = { 0 }, t1 = { 0 };
	for (int round = 0; round < 2; round++) {
		int n = round == 0 ? 300 : 20000; /* round 0 warms up */
		if (round == 1) {
			before = atomic_load(&allocs);
			clock_gettime(CLOCK_MONOTONIC, &t0);
		}
		for (int i = 0; i < n; i++) {
			size_t k = (size_t)i % nq;
			assert_int_equal(send(client, qbuf[k], qlen[k], 0), (ssize_t)qlen[k]);
			struct pollfd pfd = { .fd = client, .events = POLLIN };
			assert_int_equal(poll(&pfd, 1, 2000), 1);
			ssize_t r = recv(client, resp, sizeof(resp), 0);
			assert_true(r >= 12);
			assert_int_equal(resp[0], qbuf[k][0]);
			if (round == 1) {
				sent++;
				answered++;
			}
		}
	}
	unsigned long after = atomic_load(&allocs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t cached = __atomic_load_n(&worker_answer_stats(worker)->cached, __ATOMIC_RELAXED);
	unsigned long us = (unsigned long)((t1.tv_sec - t0.tv_sec) * 1000000L +
					   (t1.tv_nsec - t0.tv_nsec) / 1000);
	printf("hot path, %s: %zu queries answered, %lu allocations, %llu from the answer cache"
	       " so far, %.1f us per round trip\n", what, answered, after - before,
	       (unsigned long long)cached, (double)us / (double)answered);
	assert_int_equal(answered, sent);
	assert_int_equal(after - before, 0);
	/* the counted queries repeat: the cache's hits and stores are on this path too */
	if (expect_cached)
		assert_true(cached > 10000);
	else
		assert_int_equal(cached, 0);
	return us;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_allocation_per_query),
		cmocka_unit_test(test_no_allocation_with_query_log),
		cmocka_unit_test(test_no_allocation_with_rrl),
		cmocka_unit_test(test_no_allocation_dnssec),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
