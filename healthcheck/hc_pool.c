/* SPDX-License-Identifier: MIT */
/*
 * hc_pool.c -- the health system's lifecycle, the checker threads, statistics, metrics.
 *
 * A configuration generation is an hc_run_t: the validated conf, the prepared aggregation
 * state and table, `threads` pool threads (each with its own event_base, evdns_base and a
 * wake-up eventfd) and the checkers, dealt round-robin over the threads. Reload builds a
 * complete new run beside the old one -- including its threads, which wait at a gate --
 * so every failure happens before anything changes. Commit then stops the old threads
 * (eventfd -> event_base_loopbreak in their own loop -> join), hands the state over by
 * Id in the aggregator, opens the gate, and frees the old run. Nothing ever calls into
 * another thread's event_base.
 *
 * Checker schedule (spec HC-15/HC-16): the first probe of every checker is at a random
 * phase in [0, RequestInterval); afterwards the next probe starts RequestInterval after
 * the previous one finished (response received or timed out).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "hc_int.h"

/* ---- logging ---- */

static _Atomic(hc_log_fn) g_logger;

void hc_set_logger(hc_log_fn fn)
{
	atomic_store_explicit(&g_logger, fn, memory_order_release);
}

void hc_log(int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
	hc_log_fn fn = atomic_load_explicit(&g_logger, memory_order_acquire);
	if (fn != NULL)
		fn(level, buf);
	else
		fprintf(stderr, "%s\n", buf);
}

/* ---- histograms ---- */

size_t hc_hist_bucket(uint64_t us)
{
	if (us < 10000)
		return (size_t)(us / 100);
	if (us < 1000000)
		return 100 + (size_t)((us - 10000) / 1000);
	if (us < 10000000)
		return 1090 + (size_t)((us - 1000000) / 10000);
	return HC_HIST_N - 1;
}

double hc_hist_upper(size_t b)
{
	if (b < 100)
		return (double)(b + 1) * 100;
	if (b < 1090)
		return 10000 + (double)(b - 100 + 1) * 1000;
	if (b < HC_HIST_N - 1)
		return 1000000 + (double)(b - 1090 + 1) * 10000;
	return 1e300;
}

uint64_t hc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct ssl_ctx_st *hc_ssl_ctx(const hc_checker_t *ck)
{
	return ck->thr->run->sys->ssl;
}

/* ---- runs ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	hc_thread_t *thr = arg;
	uint64_t v;
	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		hc_log(LOG_ERR, "health: pool thread %u: eventfd read: %s", thr->idx, strerror(errno));
	event_base_loopbreak(thr->base);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	hc_checker_t *ck = arg;
	(void)fd;
	(void)what;
	switch (ck->state) {
	case HC_CS_IDLE:
		hc_probe_start(ck);
		break;
	case HC_CS_RESOLVING:
		hc_probe_finish(ck, HC_RES_DNS, "Failure: DNS resolution failed: timed out after %d s",
				HC_DNS_MS / 1000);
		break;
	case HC_CS_CONNECTING:
		hc_probe_finish(ck, HC_RES_TIMEOUT,
				"Failure: Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall.");
		break;
	default:
		hc_probe_http_timeout(ck);
		break;
	}
}

static void *thread_main(void *arg)
{
	hc_thread_t *thr = arg;
	hc_run_t *run = thr->run;
	char name[16];
	snprintf(name, sizeof(name), "hc-pool-%u", thr->idx);
	pthread_setname_np(pthread_self(), name);
	/*
	 * Signals go to other threads. Blocking SIGPIPE here also means that a write to a
	 * connection the endpoint has closed (libevent and OpenSSL use write/writev, not
	 * send with MSG_NOSIGNAL) fails with EPIPE instead of killing the process, whatever
	 * the embedding program does with SIGPIPE.
	 */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	pthread_mutex_lock(&run->gate_lock);
	while (run->gate == 0)
		pthread_cond_wait(&run->gate_cond, &run->gate_lock);
	int gate = run->gate;
	pthread_mutex_unlock(&run->gate_lock);
	if (gate != 1)
		return NULL;

	atomic_store_explicit(&thr->stats->tid, (int)gettid(), memory_order_relaxed);
	uint64_t now = hc_now_ns();
	for (size_t i = 0; i < thr->n_checkers; i++) {
		hc_checker_t *ck = thr->checkers[i];
		unsigned ms = (unsigned)(rng_next(&thr->rng) % (ck->cc->interval * 1000ull));
		ck->state = HC_CS_IDLE;
		ck->due_ns = now + ms * 1000000ull;
		hc_probe_arm(ck, ms);
	}
	event_base_dispatch(thr->base);
	atomic_store_explicit(&thr->stats->tid, 0, memory_order_relaxed);
	return NULL;
}

static void gate_set(hc_run_t *run, int v)
{
	pthread_mutex_lock(&run->gate_lock);
	run->gate = v;
	pthread_cond_broadcast(&run->gate_cond);
	pthread_mutex_unlock(&run->gate_lock);
}

/**
 * Run each (stopped) loop once so that deferred callbacks, such as evdns reporting the
 * cancellation of a resolution, run and free their memory. Our events are all deleted by
 * then, so nothing else fires. Control thread, with the pool threads joined.
 */
static void run_drain(hc_run_t *run)
{
	for (unsigned t = 0; t < run->n_threads; t++)
		if (run->threads[t].base != NULL && !run->threads[t].started)
			event_base_loop(run->threads[t].base, EVLOOP_NONBLOCK);
}

/** Join the run's threads (gate must be open or aborted) and reset its checkers. */
static void run_join(hc_run_t *run)
{
	for (unsigned t = 0; t < run->n_threads; t++) {
		hc_thread_t *thr = &run->threads[t];
		if (!thr->started)
			continue;
		uint64_t one = 1;
		if (write(thr->wake_fd, &one, sizeof(one)) < 0)
			hc_log(LOG_ERR, "health: pool thread %u: eventfd write: %s", t, strerror(errno));
		pthread_join(thr->tid, NULL);
		thr->started = false;
	}
	for (size_t i = 0; i < run->n_checkers; i++) {
		hc_checker_t *ck = &run->checkers[i];
		hc_probe_cleanup(ck);
		if (ck->timer != NULL)
			event_del(ck->timer);
		ck->state = HC_CS_IDLE;
	}
	run_drain(run);
	run->gate = 0;
}

/** Create the run's threads; they wait at the gate. On failure none remain. */
static int run_spawn(hc_run_t *run, char *err, size_t errlen)
{
	run->gate = 0;
	for (unsigned t = 0; t < run->n_threads; t++) {
		hc_thread_t *thr = &run->threads[t];
		int e = pthread_create(&thr->tid, NULL, thread_main, thr);
		if (e != 0) {
			hc_errf(err, errlen, NULL, "health: cannot create pool thread: %s", strerror(e));
			gate_set(run, 2);
			run_join(run);
			return HC_ESYS;
		}
		thr->started = true;
	}
	return HC_OK;
}

static void run_free(hc_run_t *run)
{
	if (run == NULL)
		return;
	for (size_t i = 0; i < run->n_checkers; i++) {
		hc_checker_t *ck = &run->checkers[i];
		hc_probe_cleanup(ck);
		if (ck->timer != NULL)
			event_free(ck->timer);
		free(ck->io);
		free(ck->http.body);
	}
	if (run->threads == NULL)
		run->n_threads = 0; /* allocation failed: no thread state to free */
	run_drain(run);
	for (unsigned t = 0; t < run->n_threads; t++) {
		hc_thread_t *thr = &run->threads[t];
		if (thr->wake_ev != NULL)
			event_free(thr->wake_ev);
		if (thr->wake_fd >= 0)
			close(thr->wake_fd);
		if (thr->dnsb != NULL)
			evdns_base_free(thr->dnsb, 0);
		if (thr->base != NULL)
			event_base_free(thr->base);
		free(thr->checkers);
	}
	if (run->agg != NULL)
		hc_agg_free_array(run->agg, run->conf->n_checks);
	hc_table_free(run->newtab);
	free(run->checkers);
	free(run->threads);
	pthread_mutex_destroy(&run->gate_lock);
	pthread_cond_destroy(&run->gate_cond);
	hc_conf_free(run->conf);
	free(run);
}

static int thread_init(hc_run_t *run, hc_thread_t *thr, unsigned idx, bool need_dns, char *err,
		       size_t errlen)
{
	hc_system_t *sys = run->sys;
	thr->run = run;
	thr->idx = idx;
	thr->stats = &sys->tstats[idx];
	if (getrandom(&thr->rng, sizeof(thr->rng), 0) != sizeof(thr->rng) || thr->rng == 0)
		thr->rng = hc_now_ns() | 1;
	thr->base = event_base_new();
	if (thr->base == NULL)
		goto fail;
	thr->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (thr->wake_fd < 0)
		goto fail;
	thr->wake_ev = event_new(thr->base, thr->wake_fd, EV_READ | EV_PERSIST, wake_cb, thr);
	if (thr->wake_ev == NULL || event_add(thr->wake_ev, NULL) < 0)
		goto fail;
	if (need_dns) {
		const char *r = run->conf->resolver;
		thr->dnsb = evdns_base_new(thr->base, r == NULL ? EVDNS_BASE_INITIALIZE_NAMESERVERS : 0);
		if (thr->dnsb == NULL)
			goto fail;
		if (r != NULL && evdns_base_nameserver_ip_add(thr->dnsb, r) != 0) {
			hc_errf(err, errlen, NULL, "health.resolver: %s: cannot use this address", r);
			return HC_EINVAL;
		}
		evdns_base_set_option(thr->dnsb, "timeout:", "2");
		evdns_base_set_option(thr->dnsb, "attempts:", "2");
		evdns_base_set_option(thr->dnsb, "randomize-case:", "0");
	}
	return HC_OK;
fail:
	hc_errf(err, errlen, NULL, "health: pool thread %u: cannot create its event loop: %s", idx,
		strerror(errno));
	return HC_ESYS;
}

/** Build a complete run for conf (takes ownership of conf); threads not created. */
static int run_new(hc_system_t *sys, hc_conf_t *conf, hc_run_t **out, char *err, size_t errlen)
{
	int ret = HC_ENOMEM;
	hc_run_t *run = calloc(1, sizeof(*run));
	if (run == NULL) {
		hc_conf_free(conf);
		return HC_ENOMEM;
	}
	run->sys = sys;
	run->conf = conf;
	pthread_mutex_init(&run->gate_lock, NULL);
	pthread_cond_init(&run->gate_cond, NULL);
	ret = hc_agg_prepare(&sys->aggr, conf, &run->agg, &run->newtab);
	if (ret != HC_OK)
		goto out;
	ret = HC_ENOMEM;
	bool need_dns = false;
	for (size_t i = 0; i < conf->n_checks; i++) {
		run->n_checkers += conf->checks[i].k;
		need_dns |= conf->checks[i].k > 0 && conf->checks[i].ip == NULL;
	}
	run->n_threads = conf->threads;
	run->threads = calloc(run->n_threads, sizeof(*run->threads));
	run->checkers = calloc(run->n_checkers ? run->n_checkers : 1, sizeof(*run->checkers));
	if (run->threads == NULL || run->checkers == NULL)
		goto out;
	for (unsigned t = 0; t < run->n_threads; t++)
		run->threads[t].wake_fd = -1;
	for (unsigned t = 0; t < run->n_threads; t++) {
		ret = thread_init(run, &run->threads[t], t, need_dns, err, errlen);
		if (ret != HC_OK)
			goto out;
		size_t mine = run->n_checkers / run->n_threads + 1;
		run->threads[t].checkers = calloc(mine, sizeof(hc_checker_t *));
		if (run->threads[t].checkers == NULL) {
			ret = HC_ENOMEM;
			goto out;
		}
	}
	ret = HC_ENOMEM;
	size_t g = 0;
	size_t evsize = event_get_struct_event_size();
	for (size_t i = 0; i < conf->n_checks; i++) {
		const hc_check_conf_t *cc = &conf->checks[i];
		for (unsigned j = 0; j < cc->k; j++, g++) {
			hc_checker_t *ck = &run->checkers[g];
			hc_thread_t *thr = &run->threads[g % run->n_threads];
			ck->thr = thr;
			ck->cc = cc;
			ck->check = i;
			ck->idx = j;
			ck->fd = -1;
			if (conf->n_sources > 0)
				ck->src = &conf->sources[j % conf->n_sources];
			ck->timer = evtimer_new(thr->base, timer_cb, ck);
			ck->io = calloc(1, evsize);
			if (ck->timer == NULL || ck->io == NULL)
				goto out;
			if (cc->search != NULL && (ck->http.body = malloc(HC_BODY_SEARCH)) == NULL)
				goto out;
			thr->checkers[thr->n_checkers++] = ck;
		}
	}
	*out = run;
	run = NULL;
	ret = HC_OK;
out:
	run_free(run);
	return ret;
}

/** Swap in a prepared run: stop the old threads, hand over state, start the new ones. */
static void run_commit(hc_system_t *sys, hc_run_t *run)
{
	hc_run_t *old = sys->run;
	if (old != NULL && sys->started)
		run_join(old);
	hc_agg_t *oldagg = hc_agg_commit(&sys->aggr, run->conf, run->agg, run->newtab);
	run->agg = NULL;
	run->newtab = NULL;
	pthread_mutex_lock(&sys->aggr.lock);
	sys->run = run;
	pthread_mutex_unlock(&sys->aggr.lock);
	if (sys->started)
		gate_set(run, 1);
	if (old != NULL) {
		hc_agg_free_array(oldagg, old->conf->n_checks);
		run_free(old);
	}
}

static void warn_passive(const hc_conf_t *conf)
{
	for (size_t i = 0; i < conf->n_checks; i++) {
		const hc_check_conf_t *cc = &conf->checks[i];
		if (cc->type == HC_T_CLOUDWATCH_METRIC || cc->type == HC_T_RECOVERY_CONTROL)
			hc_log(LOG_WARNING,
			       "check %s (%s): type %s is not probed locally; its status is %s unless forced (POST /healthchecks/%s/force)",
			       cc->id, cc->endpoint, hc_type_name(cc->type),
			       cc->passive_unhealthy ? "unhealthy" : "healthy", cc->id);
	}
}

/* ---- the public lifecycle ---- */

int hc_system_new(const json_t *settings, const char *settings_file, const json_t *checks,
		  const char *checks_file, hc_system_t **out, char *err, size_t errlen)
{
	hc_conf_t *conf = NULL;
	hc_run_t *run = NULL;
	int ret = hc_conf_build(settings, settings_file, checks, checks_file, &conf, err, errlen);
	if (ret != HC_OK)
		return ret;
	hc_system_t *sys = calloc(1, sizeof(*sys));
	if (sys == NULL) {
		hc_conf_free(conf);
		return HC_ENOMEM;
	}
	pthread_mutex_init(&sys->ctl, NULL);
	ret = hc_aggr_init(&sys->aggr);
	if (ret != HC_OK) {
		free(sys);
		hc_conf_free(conf);
		return ret;
	}
	sys->tstats = calloc(HC_MAX_THREADS, sizeof(*sys->tstats));
	sys->baseline = calloc(1, sizeof(*sys->baseline));
	sys->ssl = SSL_CTX_new(TLS_client_method());
	if (sys->tstats == NULL || sys->baseline == NULL || sys->ssl == NULL) {
		hc_conf_free(conf);
		ret = HC_ENOMEM;
		goto fail;
	}
	/* spec HC-4: no certificate validation; TLS 1.0 and later */
	SSL_CTX_set_verify(sys->ssl, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(sys->ssl, TLS1_VERSION);
	SSL_CTX_set_cipher_list(sys->ssl, "DEFAULT:@SECLEVEL=0");
	SSL_CTX_set_session_cache_mode(sys->ssl, SSL_SESS_CACHE_OFF);
	ret = run_new(sys, conf, &run, err, errlen);
	if (ret != HC_OK)
		goto fail;
	warn_passive(run->conf);
	run_commit(sys, run);
	*out = sys;
	return HC_OK;
fail:
	hc_system_free(sys);
	return ret;
}

int hc_system_start(hc_system_t *sys, char *err, size_t errlen)
{
	pthread_mutex_lock(&sys->ctl);
	int ret = HC_EINVAL;
	if (sys->started) {
		hc_errf(err, errlen, NULL, "health: already started");
		goto out;
	}
	ret = run_spawn(sys->run, err, errlen);
	if (ret != HC_OK)
		goto out;
	sys->started = true;
	gate_set(sys->run, 1);
	hc_log(LOG_INFO, "health: %zu checks, %zu checkers on %u threads", sys->run->conf->n_checks,
	       sys->run->n_checkers, sys->run->n_threads);
out:
	pthread_mutex_unlock(&sys->ctl);
	return ret;
}

int hc_system_reload(hc_system_t *sys, const json_t *settings, const char *settings_file,
		     const json_t *checks, const char *checks_file, char *err, size_t errlen)
{
	hc_conf_t *conf = NULL;
	hc_run_t *run = NULL;
	int ret = hc_conf_build(settings, settings_file, checks, checks_file, &conf, err, errlen);
	if (ret != HC_OK)
		return ret;
	pthread_mutex_lock(&sys->ctl);
	ret = run_new(sys, conf, &run, err, errlen);
	if (ret == HC_OK && sys->started)
		ret = run_spawn(run, err, errlen);
	if (ret != HC_OK) {
		run_free(run);
		pthread_mutex_unlock(&sys->ctl);
		return ret;
	}
	warn_passive(run->conf);
	run_commit(sys, run);
	hc_log(LOG_INFO, "health: reloaded: %zu checks, %zu checkers on %u threads",
	       run->conf->n_checks, run->n_checkers, run->n_threads);
	pthread_mutex_unlock(&sys->ctl);
	return HC_OK;
}

void hc_system_stop(hc_system_t *sys)
{
	if (sys == NULL)
		return;
	pthread_mutex_lock(&sys->ctl);
	if (sys->started && sys->run != NULL)
		run_join(sys->run);
	sys->started = false;
	pthread_mutex_unlock(&sys->ctl);
}

void hc_system_free(hc_system_t *sys)
{
	if (sys == NULL)
		return;
	hc_system_stop(sys);
	if (sys->run != NULL) {
		hc_agg_free_array(sys->aggr.agg, sys->run->conf->n_checks);
		sys->aggr.agg = NULL;
		sys->aggr.conf = NULL;
		run_free(sys->run);
	}
	hc_aggr_deinit(&sys->aggr);
	if (sys->ssl != NULL)
		SSL_CTX_free(sys->ssl);
	free(sys->tstats);
	free(sys->baseline);
	pthread_mutex_destroy(&sys->ctl);
	free(sys);
}

const hc_table_t *hc_table(const hc_system_t *sys)
{
	return atomic_load_explicit((_Atomic(hc_table_t *) *)&sys->aggr.table,
				    memory_order_acquire);
}

void hc_tables_release(hc_system_t *sys)
{
	if (sys != NULL)
		hc_agg_release_served(&sys->aggr);
}

void hc_set_retire(hc_system_t *sys, void (*fn)(void *ctx, hc_table_t *old), void *ctx)
{
	pthread_mutex_lock(&sys->aggr.lock);
	sys->aggr.retire = fn;
	sys->aggr.retire_ctx = ctx;
	pthread_mutex_unlock(&sys->aggr.lock);
}

int hc_slot_find(hc_system_t *sys, const char *id, uint32_t *slot)
{
	pthread_mutex_lock(&sys->aggr.lock);
	long x = hc_conf_find(sys->aggr.conf, id);
	if (x >= 0)
		*slot = sys->aggr.agg[x].slot;
	pthread_mutex_unlock(&sys->aggr.lock);
	return x >= 0 ? HC_OK : HC_ENOENT;
}

bool hc_check_fqdn(hc_system_t *sys, const char *id, char *buf, size_t len)
{
	bool found = false;
	pthread_mutex_lock(&sys->aggr.lock);
	long x = hc_conf_find(sys->aggr.conf, id);
	const hc_check_conf_t *cc = x >= 0 ? &sys->aggr.conf->checks[x] : NULL;
	if (cc != NULL && cc->fqdn != NULL && cc->ip == NULL && len > 0) {
		snprintf(buf, len, "%s", cc->fqdn);
		found = true;
	}
	pthread_mutex_unlock(&sys->aggr.lock);
	return found;
}

size_t hc_check_count(hc_system_t *sys)
{
	pthread_mutex_lock(&sys->aggr.lock);
	size_t n = sys->aggr.conf != NULL ? sys->aggr.conf->n_checks : 0;
	pthread_mutex_unlock(&sys->aggr.lock);
	return n;
}

int hc_force(hc_system_t *sys, const char *id, hc_force_mode_t mode)
{
	pthread_mutex_lock(&sys->ctl);
	int ret = hc_agg_force(&sys->aggr, id, mode);
	pthread_mutex_unlock(&sys->ctl);
	return ret;
}

int hc_remote_set(hc_system_t *sys, const char *id, unsigned k, unsigned healthy, json_t *obs)
{
	return hc_agg_remote(&sys->aggr, id, k, healthy, obs);
}

int hc_status_json(hc_system_t *sys, json_t **out)
{
	return hc_agg_status_json(&sys->aggr, out);
}

int hc_state_export(hc_system_t *sys, uint64_t since, json_t **out, uint64_t *now)
{
	return hc_agg_state_export(&sys->aggr, since, out, now);
}

int hc_state_import(hc_system_t *sys, const json_t *states)
{
	pthread_mutex_lock(&sys->ctl);
	int ret = hc_agg_state_import(&sys->aggr, states);
	pthread_mutex_unlock(&sys->ctl);
	return ret;
}

int hc_status_write(hc_system_t *sys, struct evbuffer *out)
{
	json_t *j = NULL;
	int ret = hc_status_json(sys, &j);
	if (ret != HC_OK)
		return ret;
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s == NULL)
		return HC_ENOMEM;
	ret = evbuffer_add(out, s, strlen(s)) == 0 && evbuffer_add(out, "\n", 1) == 0 ? HC_OK
										       : HC_ENOMEM;
	free(s);
	return ret;
}

/* ---- statistics ---- */

/** Sum every thread's statistics minus the baseline into *sum (plain copy). */
static void stats_sum(hc_system_t *sys, hc_tstats_t *sum, bool minus_baseline)
{
	memset(sum, 0, sizeof(*sum));
#define ADD(field) \
	atomic_store_explicit(&sum->field, atomic_load_explicit(&sum->field, memory_order_relaxed) + \
		atomic_load_explicit(&t->field, memory_order_relaxed), memory_order_relaxed)
	for (unsigned i = 0; i < HC_MAX_THREADS; i++) {
		hc_tstats_t *t = &sys->tstats[i];
		for (int k = 0; k < HC_KIND_N; k++)
			for (int r = 0; r < HC_RES_N; r++)
				ADD(probes[k][r]);
		ADD(late);
		ADD(lateness_sum_us);
		ADD(duration_sum_us);
		for (size_t b = 0; b < HC_HIST_N; b++) {
			ADD(lateness[b]);
			ADD(duration[b]);
		}
	}
#undef ADD
	if (!minus_baseline)
		return;
	hc_tstats_t *b0 = sys->baseline;
#define SUB(field) \
	atomic_store_explicit(&sum->field, atomic_load_explicit(&sum->field, memory_order_relaxed) - \
		atomic_load_explicit(&b0->field, memory_order_relaxed), memory_order_relaxed)
	for (int k = 0; k < HC_KIND_N; k++)
		for (int r = 0; r < HC_RES_N; r++)
			SUB(probes[k][r]);
	SUB(late);
	SUB(lateness_sum_us);
	SUB(duration_sum_us);
	for (size_t b = 0; b < HC_HIST_N; b++) {
		SUB(lateness[b]);
		SUB(duration[b]);
	}
#undef SUB
}

static double quantile_ms(const _Atomic uint64_t *h, double q)
{
	uint64_t total = 0;
	for (size_t b = 0; b < HC_HIST_N; b++)
		total += atomic_load_explicit(&h[b], memory_order_relaxed);
	if (total == 0)
		return 0;
	uint64_t want = (uint64_t)(q * (double)total);
	if (want == 0)
		want = 1;
	uint64_t acc = 0;
	for (size_t b = 0; b < HC_HIST_N; b++) {
		acc += atomic_load_explicit(&h[b], memory_order_relaxed);
		if (acc >= want)
			return hc_hist_upper(b) / 1000.0;
	}
	return hc_hist_upper(HC_HIST_N - 1) / 1000.0;
}

void hc_stats_get(hc_system_t *sys, hc_stats_t *st)
{
	hc_tstats_t *sum = malloc(sizeof(*sum));
	memset(st, 0, sizeof(*st));
	if (sum == NULL)
		return;
	stats_sum(sys, sum, true);
	for (int k = 0; k < HC_KIND_N; k++)
		for (int r = 0; r < HC_RES_N; r++) {
			uint64_t v = atomic_load_explicit(&sum->probes[k][r], memory_order_relaxed);
			st->probes += v;
			if (r == HC_RES_OK)
				st->probes_ok += v;
		}
	st->late = atomic_load_explicit(&sum->late, memory_order_relaxed);
	st->lateness_p50_ms = quantile_ms(sum->lateness, 0.50);
	st->lateness_p99_ms = quantile_ms(sum->lateness, 0.99);
	st->lateness_max_ms = quantile_ms(sum->lateness, 1.0);
	st->duration_p50_ms = quantile_ms(sum->duration, 0.50);
	st->duration_p99_ms = quantile_ms(sum->duration, 0.99);
	free(sum);
	pthread_mutex_lock(&sys->aggr.lock);
	st->transitions = sys->aggr.to_healthy + sys->aggr.to_unhealthy;
	st->threads = sys->run != NULL && sys->started ? sys->run->n_threads : 0;
	pthread_mutex_unlock(&sys->aggr.lock);
	for (unsigned i = 0; i < st->threads && i < 64; i++)
		st->thread_tids[i] = atomic_load_explicit(&sys->tstats[i].tid, memory_order_relaxed);
}

void hc_stats_reset(hc_system_t *sys)
{
	pthread_mutex_lock(&sys->ctl);
	stats_sum(sys, sys->baseline, false);
	pthread_mutex_unlock(&sys->ctl);
}

/* ---- Prometheus ---- */

static const char *const kind_names[HC_KIND_N] = { "tcp", "http", "https" };
static const char *const res_names[HC_RES_N] = {
	"success", "timeout", "refused", "dns", "tls", "http_status", "bad_response",
	"string_mismatch", "error",
};

static int hist_write(struct evbuffer *out, const char *name, const char *help,
		      const _Atomic uint64_t *h, uint64_t sum_us)
{
	static const double le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				     0.25,  0.5,    1,     2,    4,     10 };
	int r = evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	uint64_t acc = 0, total = 0;
	size_t b = 0;
	for (size_t i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
		for (; b < HC_HIST_N && hc_hist_upper(b) <= le[i] * 1e6 + 0.5; b++)
			acc += atomic_load_explicit(&h[b], memory_order_relaxed);
		r |= evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, le[i], acc);
	}
	for (size_t i = 0; i < HC_HIST_N; i++)
		total += atomic_load_explicit(&h[i], memory_order_relaxed);
	r |= evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %" PRIu64 "\n",
				 name, total, name, (double)sum_us / 1e6, name, total);
	return r < 0 ? -1 : 0;
}

int hc_metrics_write(hc_system_t *sys, struct evbuffer *out)
{
	hc_tstats_t *sum = malloc(sizeof(*sum));
	if (sum == NULL)
		return HC_ENOMEM;
	stats_sum(sys, sum, false);
	size_t healthy = 0, unhealthy = 0, forced = 0;
	uint64_t up, down;
	pthread_mutex_lock(&sys->aggr.lock);
	const hc_table_t *t = atomic_load_explicit(&sys->aggr.table, memory_order_relaxed);
	size_t n = sys->aggr.conf != NULL ? sys->aggr.conf->n_checks : 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t w = hc_word(t, sys->aggr.agg[i].slot);
		if (w & HC_WORD_UNHEALTHY)
			unhealthy++;
		else
			healthy++;
		forced += (w & HC_WORD_FORCED) != 0;
	}
	up = sys->aggr.to_healthy;
	down = sys->aggr.to_unhealthy;
	pthread_mutex_unlock(&sys->aggr.lock);

	int r = evbuffer_add_printf(out,
		"# HELP r53d_hc_checks Health checks by current status.\n"
		"# TYPE r53d_hc_checks gauge\n"
		"r53d_hc_checks{status=\"healthy\"} %zu\nr53d_hc_checks{status=\"unhealthy\"} %zu\n"
		"# HELP r53d_hc_checks_forced Health checks pinned by an operator.\n"
		"# TYPE r53d_hc_checks_forced gauge\nr53d_hc_checks_forced %zu\n"
		"# HELP r53d_hc_transitions_total Health status transitions.\n"
		"# TYPE r53d_hc_transitions_total counter\n"
		"r53d_hc_transitions_total{to=\"healthy\"} %" PRIu64 "\n"
		"r53d_hc_transitions_total{to=\"unhealthy\"} %" PRIu64 "\n"
		"# HELP r53d_hc_probes_total Probes completed, by type and result.\n"
		"# TYPE r53d_hc_probes_total counter\n",
		healthy, unhealthy, forced, up, down);
	for (int k = 0; k < HC_KIND_N; k++)
		for (int x = 0; x < HC_RES_N; x++)
			r |= evbuffer_add_printf(out,
				"r53d_hc_probes_total{type=\"%s\",result=\"%s\"} %" PRIu64 "\n",
				kind_names[k], res_names[x],
				atomic_load_explicit(&sum->probes[k][x], memory_order_relaxed));
	r |= evbuffer_add_printf(out,
		"# HELP r53d_hc_probes_late_total Probes started more than 100 ms after their schedule.\n"
		"# TYPE r53d_hc_probes_late_total counter\nr53d_hc_probes_late_total %" PRIu64 "\n",
		atomic_load_explicit(&sum->late, memory_order_relaxed));
	r |= hist_write(out, "r53d_hc_probe_duration_seconds",
			"Time from probe start to result.", sum->duration,
			atomic_load_explicit(&sum->duration_sum_us, memory_order_relaxed));
	r |= hist_write(out, "r53d_hc_probe_lateness_seconds",
			"How late probes started relative to their schedule.", sum->lateness,
			atomic_load_explicit(&sum->lateness_sum_us, memory_order_relaxed));
	r |= hc_agg_latency_metrics(&sys->aggr, out);
	free(sum);
	return r < 0 ? HC_ENOMEM : HC_OK;
}
