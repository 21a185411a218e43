/* SPDX-License-Identifier: MIT */
/* stats.c -- sum the workers' counters and print them for Prometheus. */
#include "stats.h"
#include "err.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdbool.h>

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

const char *stats_rcode_name(unsigned rcode)
{
	static const char *const names[ANSWER_RCODES] = {
		[0] = "NOERROR",  [1] = "FORMERR",   [2] = "SERVFAIL", [3] = "NXDOMAIN",
		[4] = "NOTIMP",   [5] = "REFUSED",   [6] = "YXDOMAIN", [7] = "YXRRSET",
		[8] = "NXRRSET",  [9] = "NOTAUTH",   [10] = "NOTZONE", [11] = "DSOTYPENI",
		[16] = "BADVERS", [17] = "BADKEY",   [18] = "BADTIME", [19] = "BADMODE",
		[20] = "BADNAME", [21] = "BADALG",   [22] = "BADTRUNC", [23] = "BADCOOKIE",
	};
	return rcode < ANSWER_RCODES ? names[rcode] : NULL;
}

void stats_sum_workers(stats_totals_t *t, worker_t *const *workers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const answer_stats_t *a = worker_answer_stats(workers[i]);
		const worker_stats_t *s = worker_net_stats(workers[i]);
		t->answer.queries += LOAD(a->queries);
		t->answer.cached += LOAD(a->cached);
		t->answer.dropped += LOAD(a->dropped);
		t->answer.truncated += LOAD(a->truncated);
		t->answer.tcp += LOAD(a->tcp);
		for (unsigned r = 0; r < ANSWER_RCODES; r++)
			t->answer.rcode[r] += LOAD(a->rcode[r]);
		for (unsigned p = 0; p < sizeof(a->policy) / sizeof(a->policy[0]); p++)
			t->answer.policy[p] += LOAD(a->policy[p]);
		t->net.udp_recv_errors += LOAD(s->udp_recv_errors);
		t->net.udp_send_errors += LOAD(s->udp_send_errors);
		t->net.udp_oversize += LOAD(s->udp_oversize);
		t->net.tcp_accepted += LOAD(s->tcp_accepted);
		t->net.tcp_open += LOAD(s->tcp_open);
		t->net.tcp_idle_closed += LOAD(s->tcp_idle_closed);
		t->net.tcp_evicted += LOAD(s->tcp_evicted);
		t->net.tcp_bad_frames += LOAD(s->tcp_bad_frames);
		t->net.tcp_accept_errors += LOAD(s->tcp_accept_errors);
		zsign_stats_t z;
		worker_sign_stats(workers[i], &z);
		zsign_stats_t *d = &t->answer.dnssec;
		d->answers += z.answers;
		d->signatures += z.signatures;
		d->cache_hits += z.cache_hits;
		d->failures += z.failures;
		d->truncated += z.truncated;
		d->cache_bytes += z.cache_bytes;
		d->cache_entries += z.cache_entries;
	}
}

/* One metric without labels, with its HELP and TYPE lines; true when out of memory. */
static bool metric(struct evbuffer *out, const char *name, const char *type, const char *help,
		   uint64_t v)
{
	return evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help,
				   name, type, name, v) < 0;
}

/* DNSSEC online signing (zsign.h); the series exist with no signed zone too (all zero). */
static bool format_dnssec(const zsign_stats_t *d, struct evbuffer *out)
{
	bool ret = false;
	ret |= metric(out, "r53d_dnssec_signed_answers_total", "counter",
		      "Responses signed (DO queries answered from signed zones, answer cache hits "
		      "not included).", d->answers);
	ret |= metric(out, "r53d_dnssec_signatures_total", "counter",
		      "RRSIGs computed (signature cache misses).", d->signatures);
	ret |= metric(out, "r53d_dnssec_signature_cache_hits_total", "counter",
		      "RRSIGs taken from the workers' signature caches.", d->cache_hits);
	ret |= metric(out, "r53d_dnssec_signing_failures_total", "counter",
		      "Signing failures (answered SERVFAIL).", d->failures);
	ret |= metric(out, "r53d_dnssec_signature_cache_bytes", "gauge",
		      "Memory of the workers' signature caches.", d->cache_bytes);
	ret |= metric(out, "r53d_dnssec_signature_cache_entries", "gauge",
		      "Signatures held in the workers' signature caches.", d->cache_entries);
	return ret;
}

/* Response rate limiting (rrl.h); the series exist with RRL off too (all zero). */
static bool format_rrl(const stats_totals_t *t, struct evbuffer *out)
{
	const rrl_stats_t *r = &t->rrl;
	bool ret = false;
	ret |= metric(out, "r53d_rrl_responses_per_second", "gauge",
		      "rrl.responses_per_second applied (0: rate limiting off).", t->rrl_rate);
	ret |= metric(out, "r53d_rrl_checked_total", "counter",
		      "UDP responses checked by rate limiting (all but the exempt).", r->checked);
	ret |= metric(out, "r53d_rrl_accounted_total", "counter",
		      "Checked UDP responses charged to their own account (their network was over "
		      "the rate; the others took the fast path).", r->accounted);
	ret |= metric(out, "r53d_rrl_exempt_total", "counter",
		      "UDP responses to exempt networks (never limited).", r->exempt);
	ret |= metric(out, "r53d_rrl_dropped_total", "counter",
		      "Rate-limited UDP responses dropped.", r->dropped);
	ret |= metric(out, "r53d_rrl_slipped_total", "counter",
		      "Rate-limited UDP responses sent empty with TC (slip).", r->slipped);
	ret |= evbuffer_add_printf(out, "# HELP r53d_rrl_limited_total Rate-limited UDP responses "
				   "(dropped or slipped), by kind of answer.\n"
				   "# TYPE r53d_rrl_limited_total counter\n") < 0;
	for (unsigned k = 0; k < RRL_KINDS; k++)
		ret |= evbuffer_add_printf(out, "r53d_rrl_limited_total{kind=\"%s\"} %" PRIu64 "\n",
					   rrl_kind_name(k), r->limited[k]) < 0;
	ret |= metric(out, "r53d_rrl_replaced_total", "counter",
		      "Tracked accounts replaced by new ones (the workers' tables are full).",
		      r->replaced);
	return ret;
}

int stats_format_prometheus(const stats_totals_t *t, struct evbuffer *out)
{
	bool ret = false; /* true once an append failed */
	const answer_stats_t *a = &t->answer;
	const worker_stats_t *n = &t->net;

	ret |= metric(out, "r53d_queries_total", "counter",
		      "DNS messages handed to the answer code (UDP and TCP).", a->queries);
	ret |= metric(out, "r53d_answer_cache_hits_total", "counter",
		      "UDP queries answered from the worker's answer cache.", a->cached);
	ret |= evbuffer_add_printf(out, "# HELP r53d_responses_total DNS responses sent, by rcode.\n"
				   "# TYPE r53d_responses_total counter\n") < 0;
	for (unsigned r = 0; r < ANSWER_RCODES; r++) {
		const char *name = stats_rcode_name(r);
		/* The usual codes always appear, so that rate() has a series from the start. */
		bool always = r <= 5 || r == 16;
		if (!always && a->rcode[r] == 0)
			continue;
		if (name != NULL)
			ret |= evbuffer_add_printf(out, "r53d_responses_total{rcode=\"%s\"} %" PRIu64
						   "\n", name, a->rcode[r]) < 0;
		else
			ret |= evbuffer_add_printf(out, "r53d_responses_total{rcode=\"RCODE%u\"} %"
						   PRIu64 "\n", r, a->rcode[r]) < 0;
	}
	ret |= evbuffer_add_printf(out, "# HELP r53d_answers_by_policy_total Answers by the routing "
				   "policy of the record set chosen (plain: zone-file data).\n"
				   "# TYPE r53d_answers_by_policy_total counter\n") < 0;
	for (int p = POL_NONE; p <= POL_CIDR; p++)
		ret |= evbuffer_add_printf(out, "r53d_answers_by_policy_total{policy=\"%s\"} %" PRIu64
					   "\n", zdb_policy_name(p), a->policy[p]) < 0;
	ret |= metric(out, "r53d_dropped_total", "counter",
		      "DNS messages not answered (responses, too short, malformed beyond reply).",
		      a->dropped);
	ret |= metric(out, "r53d_truncated_total", "counter",
		      "UDP responses sent with TC set.", a->truncated);
	ret |= metric(out, "r53d_tcp_queries_total", "counter", "DNS queries received over TCP.",
		      a->tcp);
	ret |= metric(out, "r53d_udp_receive_errors_total", "counter",
		      "recvmmsg failures.", n->udp_recv_errors);
	ret |= metric(out, "r53d_udp_send_errors_total", "counter",
		      "UDP responses that could not be sent.", n->udp_send_errors);
	ret |= metric(out, "r53d_udp_oversize_total", "counter",
		      "UDP queries larger than the receive buffer (dropped).", n->udp_oversize);
	ret |= metric(out, "r53d_tcp_connections_total", "counter", "TCP connections accepted.",
		      n->tcp_accepted);
	ret |= metric(out, "r53d_tcp_connections", "gauge", "TCP connections open.", n->tcp_open);
	ret |= evbuffer_add_printf(
		       out,
		       "# HELP r53d_tcp_closed_total TCP connections closed by the server, by reason.\n"
		       "# TYPE r53d_tcp_closed_total counter\n"
		       "r53d_tcp_closed_total{reason=\"idle\"} %" PRIu64 "\n"
		       "r53d_tcp_closed_total{reason=\"evicted\"} %" PRIu64 "\n"
		       "r53d_tcp_closed_total{reason=\"bad_frame\"} %" PRIu64 "\n",
		       n->tcp_idle_closed, n->tcp_evicted, n->tcp_bad_frames) < 0;
	ret |= metric(out, "r53d_tcp_accept_errors_total", "counter",
		      "accept() failures (EMFILE, ENFILE, ...).", n->tcp_accept_errors);
	ret |= evbuffer_add_printf(out,
				   "# HELP r53d_reloads_total Configuration reloads, by result.\n"
				   "# TYPE r53d_reloads_total counter\n"
				   "r53d_reloads_total{result=\"success\"} %" PRIu64 "\n"
				   "r53d_reloads_total{result=\"failure\"} %" PRIu64 "\n",
				   t->reloads_ok, t->reloads_failed) < 0;
	ret |= metric(out, "r53d_zones", "gauge", "Hosted zones being served.", t->zones);
	ret |= metric(out, "r53d_snapshot_generation", "gauge",
		      "Generation of the zone snapshot being served (1 at start).", t->generation);
	ret |= metric(out, "r53d_workers", "gauge", "DNS worker threads.", t->workers);
	ret |= evbuffer_add_printf(out,
				   "# HELP r53d_snapshot_build_seconds Time to build the snapshot being served.\n"
				   "# TYPE r53d_snapshot_build_seconds gauge\n"
				   "r53d_snapshot_build_seconds %.6f\n",
				   t->build_seconds) < 0;
	ret |= metric(out, "r53d_snapshot_build_bytes", "gauge",
		      "Bytes the build of the snapshot being served allocated (zones it compiled, views).",
		      t->build_bytes);
	ret |= metric(out, "r53d_snapshot_bytes", "gauge",
		      "Bytes of the snapshot being served, shared zones included.", t->snapshot_bytes);
	ret |= metric(out, "r53d_snapshot_zones_compiled", "gauge",
		      "Zones the build of the snapshot being served compiled.", t->zones_compiled);
	ret |= metric(out, "r53d_snapshot_zones_shared", "gauge",
		      "Zones the snapshot being served shares with the one before it (not compiled).",
		      t->zones_shared);
	const qlog_stats_t *q = &t->qlog;
	ret |= metric(out, "r53d_query_log_enabled", "gauge", "1 when the query log is on.",
		      t->qlog_on ? 1 : 0);
	ret |= metric(out, "r53d_query_log_lines_total", "counter",
		      "Query-log lines written.", q->written);
	ret |= metric(out, "r53d_query_log_dropped_total", "counter",
		      "Query-log lines dropped because a worker's ring was full (never waited for).",
		      q->dropped);
	ret |= metric(out, "r53d_query_log_write_errors_total", "counter",
		      "Failed writes of the query log.", q->write_errors);
	ret |= metric(out, "r53d_query_log_lost_total", "counter",
		      "Query-log lines lost to failed writes.", q->lost);
	ret |= metric(out, "r53d_query_log_bytes_total", "counter",
		      "Bytes written to the query log.", q->bytes);
	ret |= metric(out, "r53d_query_log_reopens_total", "counter",
		      "Query-log files reopened (SIGHUP, SIGUSR1, a new path).", q->reopens);
	ret |= format_rrl(t, out);
	ret |= format_dnssec(&a->dnssec, out);
	return ret ? ERR_NOMEM : ERR_OK;
}
