/* SPDX-License-Identifier: MIT */
/*
 * hc_agg.c -- the aggregator: per-checker thresholds, the 18% rule, calculated checks,
 * Disabled/Inverted, operator overrides, and the only code that stores status words.
 *
 * Every function here that touches state runs under hc_aggr_t.lock, so there is exactly
 * one writer of the table at any moment (STYLE.md section 4). Pool threads call
 * hc_agg_report() once per probe; the control thread calls prepare/commit on reload and
 * hc_agg_force() for the admin API.
 *
 * Status of one check (spec HC-17..HC-28):
 *   view[j]  each checker's view; flips after FailureThreshold consecutive results that
 *            disagree with it; starts healthy (HC-19, OC-20).
 *   base     Disabled ? healthy : endpoint: healthy views / K > threshold (strict);
 *            CALCULATED: healthy children >= HealthThreshold, where a child's status is
 *            its published status (after its own Disabled/Inverted and any force);
 *            CLOUDWATCH_METRIC / RECOVERY_CONTROL: healthy unless
 *            InsufficientDataHealthStatus is Unhealthy.
 *   final    Inverted ? !base : base   (HC-21, OC-22)
 *   word     force == AUTO ? final : forced value, with bit 30 while forced.
 * A calculated check is re-evaluated whenever a child's published status changes.
 *
 * MeasureLatency: each checker's latest connect and first-byte times (hc_lat_t) and two
 * histograms per check (hc_lathist_t) live beside the observations, allocated with them
 * at prepare time and updated by hc_agg_report() under the same mutex.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/buffer.h>

#include "hc_int.h"

bool hc_agg_rule(unsigned n_healthy, unsigned k, double threshold)
{
	if (k == 0)
		return true;
	return (double)n_healthy / (double)k > threshold;
}

int hc_aggr_init(hc_aggr_t *a)
{
	memset(a, 0, sizeof(*a));
	if (pthread_mutex_init(&a->lock, NULL) != 0)
		return HC_ESYS;
	hc_table_t *t = hc_table_new(0);
	if (t == NULL) {
		pthread_mutex_destroy(&a->lock);
		return HC_ENOMEM;
	}
	atomic_init(&a->table, t);
	return HC_OK;
}

void hc_aggr_deinit(hc_aggr_t *a)
{
	hc_table_free(atomic_load_explicit(&a->table, memory_order_relaxed));
	for (size_t i = 0; i < a->n_retired; i++)
		hc_table_free(a->retired[i]);
	free(a->retired);
	for (size_t i = 0; i < a->n_served; i++)
		hc_table_free(a->served[i]);
	free(a->served);
	hc_slots_deinit(&a->slots);
	pthread_mutex_destroy(&a->lock);
}

void hc_agg_free_array(hc_agg_t *agg, size_t n)
{
	if (agg == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(agg[i].view);
		free(agg[i].streak);
		free(agg[i].obs);
		free(agg[i].fail);
		free(agg[i].lat);
		free(agg[i].hist);
		free(agg[i].parents);
		json_decref(agg[i].remote_obs);
	}
	free(agg);
}

int hc_agg_prepare(hc_aggr_t *a, const hc_conf_t *conf, hc_agg_t **out, hc_table_t **newtab)
{
	int ret = HC_ENOMEM;
	size_t n = conf->n_checks;
	hc_agg_t *agg = calloc(n ? n : 1, sizeof(*agg));
	*newtab = NULL;
	if (agg == NULL)
		return HC_ENOMEM;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < n; i++)
		if (hc_slots_get(&a->slots, conf->checks[i].id, &agg[i].slot) < 0) {
			pthread_mutex_unlock(&a->lock);
			goto out;
		}
	hc_table_t *cur = atomic_load_explicit(&a->table, memory_order_relaxed);
	uint32_t need = a->slots.n;
	pthread_mutex_unlock(&a->lock);
	if (need > cur->n && (*newtab = hc_table_new(need)) == NULL)
		goto out;

	for (size_t i = 0; i < n; i++) {
		const hc_check_conf_t *cc = &conf->checks[i];
		hc_agg_t *g = &agg[i];
		g->k = cc->k_views;
		g->n_healthy = g->k;
		if (g->k > 0) {
			g->view = malloc(g->k);
			g->streak = calloc(g->k, 1);
			g->obs = calloc(g->k, sizeof(*g->obs));
			g->fail = calloc(g->k, sizeof(*g->fail));
			if (g->view == NULL || g->streak == NULL || g->obs == NULL ||
			    g->fail == NULL)
				goto out;
			memset(g->view, 1, g->k);
			if (cc->measure_latency) {
				g->lat = calloc(g->k, sizeof(*g->lat));
				g->hist = calloc(2, sizeof(*g->hist));
				if (g->lat == NULL || g->hist == NULL)
					goto out;
			}
		}
	}
	/* parents of each child */
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < conf->checks[i].n_children; c++)
			agg[conf->checks[i].children[c]].n_parents++;
	for (size_t i = 0; i < n; i++) {
		if (agg[i].n_parents == 0)
			continue;
		agg[i].parents = calloc(agg[i].n_parents, sizeof(size_t));
		if (agg[i].parents == NULL)
			goto out;
		agg[i].n_parents = 0;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < conf->checks[i].n_children; c++) {
			hc_agg_t *kid = &agg[conf->checks[i].children[c]];
			kid->parents[kid->n_parents++] = i;
		}
	*out = agg;
	agg = NULL;
	ret = HC_OK;
out:
	if (ret != HC_OK) {
		hc_table_free(*newtab);
		*newtab = NULL;
	}
	hc_agg_free_array(agg, n);
	return ret;
}

static hc_table_t *cur_table(hc_aggr_t *a)
{
	return atomic_load_explicit(&a->table, memory_order_relaxed);
}

/** Status before force. */
static bool final_status(hc_aggr_t *a, size_t i, char *why, size_t whylen)
{
	const hc_check_conf_t *cc = &a->conf->checks[i];
	hc_agg_t *g = &a->agg[i];
	bool base;
	if (cc->disabled) {
		base = true;
		snprintf(why, whylen, "Disabled");
	} else if (cc->type == HC_T_CALCULATED) {
		unsigned ok = 0;
		for (size_t c = 0; c < cc->n_children; c++)
			ok += hc_is_healthy(cur_table(a), a->agg[cc->children[c]].slot);
		base = ok >= cc->health_threshold;
		snprintf(why, whylen, "%u of %zu children healthy, HealthThreshold %u", ok,
			 cc->n_children, cc->health_threshold);
	} else if (cc->type == HC_T_CLOUDWATCH_METRIC || cc->type == HC_T_RECOVERY_CONTROL) {
		base = !cc->passive_unhealthy;
		snprintf(why, whylen, "%s is not probed locally", hc_type_name(cc->type));
	} else if (g->remote_k > 0) {
		base = hc_agg_rule(g->n_healthy + g->remote_healthy, g->k + g->remote_k,
				   a->conf->threshold);
		snprintf(why, whylen, "%u of %u checkers healthy (%u of %u here)",
			 g->n_healthy + g->remote_healthy, g->k + g->remote_k, g->n_healthy, g->k);
	} else {
		base = hc_agg_rule(g->n_healthy, g->k, a->conf->threshold);
		snprintf(why, whylen, "%u of %u checkers healthy", g->n_healthy, g->k);
	}
	if (cc->inverted) {
		size_t l = strlen(why);
		snprintf(why + l, whylen - l, ", Inverted");
	}
	return cc->inverted ? !base : base;
}

/**
 * Recompute check i and store its word; on a health change, log the transition once
 * and re-evaluate its calculated parents. reason: what just happened (may be NULL).
 */
static void update(hc_aggr_t *a, size_t i, const char *reason, bool added)
{
	const hc_check_conf_t *cc = &a->conf->checks[i];
	hc_agg_t *g = &a->agg[i];
	char why[128];
	g->final_healthy = final_status(a, i, why, sizeof(why));
	bool eff = g->force == HC_FORCE_AUTO ? g->final_healthy : g->force == HC_FORCE_HEALTHY;
	_Atomic uint32_t *w = &cur_table(a)->words[g->slot];
	uint32_t old = atomic_load_explicit(w, memory_order_relaxed);
	bool was = (old & HC_WORD_UNHEALTHY) == 0;
	uint32_t counter = old & HC_WORD_COUNTER;
	bool changed = g->published && was != eff;
	if (changed)
		counter = (counter + 1) & HC_WORD_COUNTER;
	uint32_t word = (eff ? 0 : HC_WORD_UNHEALTHY) |
			(g->force != HC_FORCE_AUTO ? HC_WORD_FORCED : 0) | counter;
	if (!g->published && !eff)
		counter = (counter + 1) & HC_WORD_COUNTER, word = (word & ~HC_WORD_COUNTER) | counter;
	if (word != old || !g->published)
		g->changed = ++a->seq;
	atomic_store_explicit(w, word, memory_order_relaxed);
	/* the tables a served snapshot may still read see the same word (see hc_agg_commit) */
	for (size_t t = 0; t < a->n_served; t++)
		if (g->slot < a->served[t]->n)
			atomic_store_explicit(&a->served[t]->words[g->slot], word,
					      memory_order_relaxed);
	if (added)
		hc_log(LOG_INFO, "check %s (%s): added, %s, %s (%s)", cc->id, cc->endpoint,
		       hc_type_name(cc->type), eff ? "healthy" : "unhealthy",
		       g->force != HC_FORCE_AUTO ? "forced" : why);
	bool flipped = g->published ? was != eff : !eff;
	g->published = true;
	if (changed) {
		if (eff)
			a->to_healthy++;
		else
			a->to_unhealthy++;
		if (g->force != HC_FORCE_AUTO)
			hc_log(LOG_NOTICE, "check %s (%s): %s -> %s: forced %s by operator (%s)",
			       cc->id, cc->endpoint, was ? "healthy" : "unhealthy",
			       eff ? "healthy" : "unhealthy", eff ? "healthy" : "unhealthy", why);
		else
			hc_log(LOG_NOTICE, "check %s (%s): %s -> %s: %s (%s)", cc->id, cc->endpoint,
			       was ? "healthy" : "unhealthy", eff ? "healthy" : "unhealthy",
			       reason != NULL ? reason : "status recomputed", why);
	}
	if (!flipped)
		return;
	for (size_t p = 0; p < g->n_parents; p++) {
		char r[160];
		snprintf(r, sizeof(r), "child %s became %s", cc->id, eff ? "healthy" : "unhealthy");
		if (a->agg[g->parents[p]].published)
			update(a, g->parents[p], r, false);
	}
}

/* Hand a replaced table to the retire hook (or keep it until deinit). Under the lock. */
static void retire_table(hc_aggr_t *a, hc_table_t *t)
{
	if (a->retire != NULL) {
		a->retire(a->retire_ctx, t);
		return;
	}
	hc_table_t **r = realloc(a->retired, (a->n_retired + 1) * sizeof(*r));
	if (r != NULL) {
		a->retired = r;
		a->retired[a->n_retired++] = t;
	} else {
		/* cannot free safely and cannot record: leak rather than crash */
		hc_log(LOG_ERR, "health: out of memory retiring a status table");
	}
}

void hc_agg_release_served(hc_aggr_t *a)
{
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n_served; i++)
		retire_table(a, a->served[i]);
	a->n_served = 0;
	pthread_mutex_unlock(&a->lock);
}

hc_agg_t *hc_agg_commit(hc_aggr_t *a, const hc_conf_t *conf, hc_agg_t *agg, hc_table_t *newtab)
{
	pthread_mutex_lock(&a->lock);
	hc_agg_t *old = a->agg;
	const hc_conf_t *oldconf = a->conf;
	for (size_t i = 0; i < conf->n_checks; i++) {
		hc_agg_t *g = &agg[i];
		long x = hc_conf_find(oldconf, conf->checks[i].id);
		if (x < 0)
			continue;
		hc_agg_t *o = &old[x];
		g->force = o->force;
		g->published = o->published;
		g->changed = o->changed;
		g->remote_k = o->remote_k;
		g->remote_healthy = o->remote_healthy;
		g->remote_obs = o->remote_obs;
		o->remote_obs = NULL;
		if (g->k == 0)
			continue;
		if (g->hist != NULL && o->hist != NULL)
			memcpy(g->hist, o->hist, 2 * sizeof(*g->hist));
		if (g->lat != NULL && o->lat != NULL && o->k == g->k)
			memcpy(g->lat, o->lat, g->k * sizeof(*g->lat));
		if (o->k == g->k) {
			memcpy(g->view, o->view, g->k);
			memcpy(g->streak, o->streak, g->k);
			memcpy(g->obs, o->obs, g->k * sizeof(*g->obs));
			memcpy(g->fail, o->fail, g->k * sizeof(*g->fail));
			g->n_healthy = o->n_healthy;
		} else {
			/* checker count changed: every view starts at the old aggregate */
			bool base = hc_agg_rule(o->n_healthy, o->k, oldconf->threshold);
			memset(g->view, base, g->k);
			g->n_healthy = base ? g->k : 0;
			g->changed = ++a->seq;
		}
	}
	for (size_t f = 0; f < conf->n_force; f++)
		agg[conf->force_check[f]].force = conf->force_mode[f];

	if (newtab != NULL) {
		hc_table_t *cur = cur_table(a);
		for (uint32_t s = 0; s < cur->n; s++)
			atomic_store_explicit(&newtab->words[s],
					      atomic_load_explicit(&cur->words[s], memory_order_relaxed),
					      memory_order_relaxed);
		atomic_store_explicit(&a->table, newtab, memory_order_release);
		/*
		 * The zone snapshot being served reads cur, and keeps serving if the reload
		 * that needed the larger table fails later (a bad zone): cur stays written
		 * (update() mirrors every word into it) until the caller publishes a snapshot
		 * built with the new table and calls hc_tables_release().
		 */
		hc_table_t **s = realloc(a->served, (a->n_served + 1) * sizeof(*s));
		if (s != NULL) {
			a->served = s;
			a->served[a->n_served++] = cur;
		} else {
			hc_log(LOG_ERR, "health: out of memory keeping a status table up to date; "
					"health changes reach answers after the next reload");
			retire_table(a, cur);
		}
	}
	a->agg = agg;
	a->conf = conf;
	/* endpoints first, then calculated checks over the new children */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < conf->n_checks; i++)
			if ((conf->checks[i].type == HC_T_CALCULATED) == (pass == 1))
				update(a, i, "configuration reloaded", !agg[i].published);
	pthread_mutex_unlock(&a->lock);
	return old;
}

void hc_agg_report(hc_aggr_t *a, size_t check, unsigned checker, const hc_result_t *r)
{
	pthread_mutex_lock(&a->lock);
	if (a->conf == NULL || check >= a->conf->n_checks || checker >= a->agg[check].k) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	const hc_check_conf_t *cc = &a->conf->checks[check];
	hc_agg_t *g = &a->agg[check];
	hc_obs_t *o = &g->obs[checker];
	o->checked_ms = r->checked_ms;
	snprintf(o->ip, sizeof(o->ip), "%s", r->ip != NULL ? r->ip : "");
	snprintf(o->status, sizeof(o->status), "%s", r->status);
	if (!r->ok)
		g->fail[checker] = *o;
	if (g->lat != NULL) {
		hc_lat_t *l = &g->lat[checker];
		const uint64_t v[2] = { r->connect_ns, r->first_byte_ns };
		for (int h = 0; h < 2; h++) {
			if (v[h] == 0)
				continue;
			g->hist[h].bucket[hc_lat_bucket(v[h])]++;
			g->hist[h].sum_ns += v[h];
			g->hist[h].count++;
		}
		if (r->connect_ns != 0)
			l->connect_ns = r->connect_ns;
		if (r->first_byte_ns != 0)
			l->first_byte_ns = r->first_byte_ns;
	}
	g->changed = ++a->seq;
	uint8_t res = r->ok ? 1 : 0;
	if (g->view[checker] == res) {
		g->streak[checker] = 0;
	} else if (++g->streak[checker] >= cc->failure_threshold) {
		g->view[checker] = res;
		g->streak[checker] = 0;
		g->n_healthy += res ? 1 : (unsigned)-1;
		char reason[220];
		snprintf(reason, sizeof(reason), "checker %u (%s): %s", checker,
			 hc_region_names[cc->regions[checker % cc->n_regions]], r->status);
		update(a, check, reason, false);
	}
	pthread_mutex_unlock(&a->lock);
}

int hc_agg_remote(hc_aggr_t *a, const char *id, unsigned k, unsigned healthy, json_t *obs)
{
	pthread_mutex_lock(&a->lock);
	long i = a->conf != NULL ? hc_conf_find(a->conf, id) : -1;
	if (i < 0) {
		pthread_mutex_unlock(&a->lock);
		json_decref(obs);
		return HC_EINVAL;
	}
	hc_agg_t *g = &a->agg[i];
	bool moved = g->remote_k != k || g->remote_healthy != healthy;
	g->remote_k = k;
	g->remote_healthy = healthy > k ? k : healthy;
	json_decref(g->remote_obs);
	g->remote_obs = obs;
	if (moved && g->published) {
		char reason[96];
		snprintf(reason, sizeof(reason), "the fleet's other nodes: %u of %u checkers healthy",
			 g->remote_healthy, k);
		update(a, (size_t)i, reason, false);
	}
	pthread_mutex_unlock(&a->lock);
	return HC_OK;
}

int hc_agg_force(hc_aggr_t *a, const char *id, hc_force_mode_t mode)
{
	if (mode != HC_FORCE_AUTO && mode != HC_FORCE_HEALTHY && mode != HC_FORCE_UNHEALTHY)
		return HC_EINVAL;
	pthread_mutex_lock(&a->lock);
	long x = hc_conf_find(a->conf, id);
	if (x < 0) {
		pthread_mutex_unlock(&a->lock);
		return HC_ENOENT;
	}
	a->agg[x].force = mode;
	update(a, (size_t)x,
	       mode == HC_FORCE_AUTO ? "operator released the override" : "operator override",
	       false);
	pthread_mutex_unlock(&a->lock);
	return HC_OK;
}

static void iso_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

/** Observation o of a checker in region as {Region, IPAddress, StatusReport{Status,
 *  CheckedTime}}; NULL when out of memory. */
static json_t *obs_json(const char *region, const hc_obs_t *o)
{
	char t[40];
	iso_time(o->checked_ms, t, sizeof(t));
	return json_pack("{s:s, s:s, s:{s:s, s:s}}", "Region", region, "IPAddress", o->ip,
			 "StatusReport", "Status", o->status, "CheckedTime", t);
}

/** ns as milliseconds rounded to 0.001 ms. */
static double lat_ms(uint64_t ns)
{
	uint64_t us = (ns + 500) / 1000; /* whole microseconds */
	return (double)us / 1000.0;
}

/** {"ConnectMs", "FirstByteMs"} of l (a field is absent until measured); NULL: ENOMEM. */
static json_t *lat_json(const hc_lat_t *l)
{
	json_t *j = json_object();
	if (j == NULL)
		return NULL;
	if ((l->connect_ns != 0 &&
	     json_object_set_new(j, "ConnectMs", json_real(lat_ms(l->connect_ns))) < 0) ||
	    (l->first_byte_ns != 0 &&
	     json_object_set_new(j, "FirstByteMs", json_real(lat_ms(l->first_byte_ns))) < 0)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/** Append one observation per checker of obs[0..k) that has one to list; with lat (not
 *  NULL: MeasureLatency), each one that has a measurement gets "Latency". */
static int obs_append(json_t *list, const hc_check_conf_t *cc, const hc_obs_t *obs,
		      const hc_lat_t *lat, unsigned k)
{
	for (unsigned j = 0; j < k; j++) {
		if (obs[j].checked_ms == 0)
			continue;
		json_t *e = obs_json(hc_region_names[cc->regions[j % cc->n_regions]], &obs[j]);
		if (e == NULL || json_array_append_new(list, e) < 0)
			return HC_ENOMEM;
		if (lat == NULL || (lat[j].connect_ns == 0 && lat[j].first_byte_ns == 0))
			continue;
		if (json_object_set_new(e, "Latency", lat_json(&lat[j])) < 0)
			return HC_ENOMEM;
	}
	return HC_OK;
}

size_t hc_lat_bucket(uint64_t ns)
{
	static const double le[] = HC_LAT_BUCKETS;
	_Static_assert(sizeof(le) / sizeof(le[0]) == HC_LAT_N - 1, "HC_LAT_N");
	size_t b = 0;
	while (b < HC_LAT_N - 1 && (double)ns > le[b] * 1e9)
		b++;
	return b;
}

/** One histogram family over every check with MeasureLatency (h: 0 connect, 1 first byte). */
static int lat_family(hc_aggr_t *a, struct evbuffer *out, int h, const char *name,
		      const char *help)
{
	static const double le[] = HC_LAT_BUCKETS;
	int r = evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < a->conf->n_checks; i++) {
		const hc_lathist_t *hs = a->agg[i].hist;
		const char *id = a->conf->checks[i].id;
		if (hs == NULL)
			continue;
		hs += h;
		uint64_t acc = 0;
		for (size_t b = 0; b < HC_LAT_N - 1; b++) {
			acc += hs->bucket[b];
			r |= evbuffer_add_printf(out, "%s_bucket{id=\"%s\",le=\"%g\"} %" PRIu64 "\n",
						 name, id, le[b], acc);
		}
		r |= evbuffer_add_printf(out,
			"%s_bucket{id=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
			"%s_sum{id=\"%s\"} %.6f\n%s_count{id=\"%s\"} %" PRIu64 "\n",
			name, id, hs->count, name, id, (double)hs->sum_ns / 1e9, name, id,
			hs->count);
	}
	return r < 0 ? -1 : 0;
}

int hc_agg_latency_metrics(hc_aggr_t *a, struct evbuffer *out)
{
	int r = 0;
	pthread_mutex_lock(&a->lock);
	bool any = false;
	for (size_t i = 0; a->conf != NULL && i < a->conf->n_checks; i++)
		any |= a->agg[i].hist != NULL;
	if (any) {
		r |= lat_family(a, out, 0, "r53d_hc_connect_seconds",
				"MeasureLatency: TCP connect time of probes, per health check.");
		r |= lat_family(a, out, 1, "r53d_hc_first_byte_seconds",
				"MeasureLatency: time from connect to the first response byte of "
				"HTTP(S) probes, per health check.");
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

int hc_agg_status_json(hc_aggr_t *a, json_t **out)
{
	json_t *root = json_object();
	json_t *list = json_array();
	if (root == NULL || list == NULL || json_object_set_new(root, "HealthChecks", list) < 0) {
		json_decref(root);
		return HC_ENOMEM;
	}
	pthread_mutex_lock(&a->lock);
	size_t n = a->conf != NULL ? a->conf->n_checks : 0;
	for (size_t i = 0; i < n; i++) {
		const hc_check_conf_t *cc = &a->conf->checks[i];
		hc_agg_t *g = &a->agg[i];
		uint32_t w = hc_word(cur_table(a), g->slot);
		json_t *obs = json_array();
		json_t *fails = json_array();
		json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:s*, s:I, s:I, s:I, s:o, s:o}",
				      "Id", cc->id, "Type", hc_type_name(cc->type), "Slot",
				      (json_int_t)g->slot, "Endpoint", cc->endpoint, "Status",
				      (w & HC_WORD_UNHEALTHY) ? "Unhealthy" : "Healthy", "Forced",
				      (w & HC_WORD_FORCED) != 0, "Force",
				      g->force == HC_FORCE_AUTO ? NULL
				      : g->force == HC_FORCE_HEALTHY ? "healthy" : "unhealthy",
				      "ChangeCounter", (json_int_t)(w & HC_WORD_COUNTER),
				      "HealthyCheckers", (json_int_t)g->n_healthy, "Checkers",
				      (json_int_t)g->k, "HealthCheckObservations", obs,
				      "LastFailures", fails);
		if (o == NULL || json_array_append_new(list, o) < 0)
			goto nomem;
		if (obs_append(obs, cc, g->obs, g->lat, g->k) != HC_OK ||
		    obs_append(fails, cc, g->fail, NULL, g->k) != HC_OK)
			goto nomem;
		if (g->remote_obs != NULL && (json_array_extend(obs, g->remote_obs) < 0 ||
					      json_object_set_new(o, "FleetCheckers",
								  json_integer(g->remote_k)) < 0 ||
					      json_object_set_new(o, "FleetHealthyCheckers",
								  json_integer(g->remote_healthy)) < 0))
			goto nomem;
	}
	pthread_mutex_unlock(&a->lock);
	*out = root;
	return HC_OK;
nomem:
	pthread_mutex_unlock(&a->lock);
	json_decref(root);
	return HC_ENOMEM;
}

/* ---- persistence: hc_state_export / hc_state_import ---- */

/*
 * The export copies the state of the checks that changed while it holds the aggregation
 * mutex (a few hundred bytes per checker) and builds the JSON after releasing it, so that
 * pool threads reporting results wait for a copy, not for thousands of json_pack calls.
 */

/** One check's state, copied under the agg mutex. */
typedef struct st_copy {
	char id[72];                   /**< Id (at most 64 characters) */
	bool unhealthy;                /**< its published status */
	unsigned k;                    /**< number of checker views */
	uint8_t regions[HC_N_REGIONS]; /**< its Regions, for the observations' Region */
	size_t n_regions;              /**< their number */
	uint8_t *view;                 /**< k views (in the export's one block) */
	uint8_t *streak;               /**< k consecutive counts */
	hc_obs_t *obs;                 /**< k observations */
	hc_obs_t *fail;                /**< k last failures */
} st_copy_t;

/** A checker's observation for the stored state: the object, or null when it has none. */
static json_t *obs_or_null(const st_copy_t *c, const hc_obs_t *o, unsigned j)
{
	return o->checked_ms != 0 ? obs_json(hc_region_names[c->regions[j % c->n_regions]], o)
				  : json_null();
}

/** The exported state of one copied check; NULL when out of memory. */
static json_t *state_doc(const st_copy_t *c)
{
	json_t *list = json_array();
	json_t *doc = json_pack("{s:s, s:o}", "Status", c->unhealthy ? "Unhealthy" : "Healthy",
				"Checkers", list);
	if (doc == NULL)
		return NULL;
	for (unsigned j = 0; j < c->k; j++) {
		json_t *e = json_pack("{s:b, s:i, s:o, s:o}", "Healthy", c->view[j] != 0, "Streak",
				      (int)c->streak[j], "Observation", obs_or_null(c, &c->obs[j], j),
				      "LastFailure", obs_or_null(c, &c->fail[j], j));
		if (e == NULL || json_array_append_new(list, e) < 0) {
			json_decref(doc);
			return NULL;
		}
	}
	return doc;
}

/** Copy the checks that changed after since into *copies / *block (caller frees both).
 *  \retval HC_OK, HC_ENOMEM. Agg mutex held. */
static int state_copy(hc_aggr_t *a, uint64_t since, st_copy_t **copies, size_t *n_copies,
		      void **block)
{
	size_t n = a->conf != NULL ? a->conf->n_checks : 0, m = 0, views = 0;
	for (size_t i = 0; i < n; i++)
		if (since == 0 || a->agg[i].changed > since) {
			m++;
			views += a->agg[i].k;
		}
	*copies = NULL;
	*block = NULL;
	*n_copies = 0;
	if (m == 0)
		return HC_OK;
	st_copy_t *c = calloc(m, sizeof(*c));
	hc_obs_t *obs = malloc(views > 0 ? views * (2 * sizeof(hc_obs_t) + 2) : 1);
	if (c == NULL || obs == NULL) {
		free(c);
		free(obs);
		return HC_ENOMEM;
	}
	*copies = c;
	*block = obs;
	uint8_t *bytes = (uint8_t *)(obs + 2 * views);
	for (size_t i = 0; i < n; i++) {
		const hc_check_conf_t *cc = &a->conf->checks[i];
		const hc_agg_t *g = &a->agg[i];
		if (since != 0 && g->changed <= since)
			continue;
		snprintf(c->id, sizeof(c->id), "%s", cc->id);
		c->unhealthy = !hc_is_healthy(cur_table(a), g->slot);
		c->k = g->k;
		memcpy(c->regions, cc->regions, sizeof(c->regions));
		c->n_regions = cc->n_regions;
		c->obs = obs;
		c->fail = obs + g->k;
		c->view = bytes;
		c->streak = bytes + g->k;
		if (g->k > 0) {
			memcpy(c->obs, g->obs, g->k * sizeof(*g->obs));
			memcpy(c->fail, g->fail, g->k * sizeof(*g->fail));
			memcpy(c->view, g->view, g->k);
			memcpy(c->streak, g->streak, g->k);
		}
		obs += 2 * (size_t)g->k;
		bytes += 2 * (size_t)g->k;
		c++;
	}
	*n_copies = m;
	return HC_OK;
}

int hc_agg_state_export(hc_aggr_t *a, uint64_t since, json_t **out, uint64_t *now)
{
	st_copy_t *copies;
	size_t n;
	void *block;
	pthread_mutex_lock(&a->lock);
	int ret = state_copy(a, since, &copies, &n, &block);
	uint64_t seq = a->seq;
	pthread_mutex_unlock(&a->lock);
	json_t *root = ret == HC_OK ? json_object() : NULL;
	if (root == NULL)
		ret = HC_ENOMEM;
	for (size_t i = 0; i < n && ret == HC_OK; i++) {
		json_t *doc = state_doc(&copies[i]);
		if (doc == NULL || json_object_set_new(root, copies[i].id, doc) < 0)
			ret = HC_ENOMEM;
	}
	free(copies);
	free(block);
	if (ret != HC_OK) {
		json_decref(root);
		return ret;
	}
	*out = root;
	*now = seq;
	return HC_OK;
}

/** Milliseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.mmmZ" (iso_time's form); -1 when
 *  s is not one. */
static int64_t iso_parse(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = s != NULL ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (p == NULL || p[0] != '.' || strlen(p) != 5 || p[4] != 'Z')
		return -1;
	int ms = 0;
	for (int d = 1; d <= 3; d++) {
		if (p[d] < '0' || p[d] > '9')
			return -1;
		ms = ms * 10 + (p[d] - '0');
	}
	time_t t = timegm(&tm);
	if (t <= 0)
		return -1;
	return (int64_t)t * 1000 + ms;
}

/** A stored observation (null or absent: none) into *o. \return false if malformed. */
static bool obs_parse(const json_t *v, hc_obs_t *o)
{
	memset(o, 0, sizeof(*o));
	if (v == NULL || json_is_null(v))
		return true;
	const json_t *sr = json_object_get(v, "StatusReport");
	const char *ip = json_string_value(json_object_get(v, "IPAddress"));
	const char *st = json_string_value(json_object_get(sr, "Status"));
	int64_t ms = iso_parse(json_string_value(json_object_get(sr, "CheckedTime")));
	if (ip == NULL || st == NULL || ms <= 0)
		return false;
	o->checked_ms = ms;
	snprintf(o->ip, sizeof(o->ip), "%s", ip);
	snprintf(o->status, sizeof(o->status), "%s", st);
	return true;
}

/** One stored checker {"Healthy", "Streak", "Observation", "LastFailure"}.
 *  \return false if malformed (the outputs are then unspecified). */
static bool checker_parse(const json_t *e, uint8_t *view, uint8_t *streak, hc_obs_t *obs,
			  hc_obs_t *fail)
{
	const json_t *h = json_object_get(e, "Healthy");
	const json_t *s = json_object_get(e, "Streak");
	json_int_t n = s != NULL ? json_integer_value(s) : 0;
	if (!json_is_boolean(h) || (s != NULL && !json_is_integer(s)) || n < 0 || n > UINT8_MAX)
		return false;
	*view = json_is_true(h) ? 1 : 0;
	*streak = (uint8_t)n;
	return obs_parse(json_object_get(e, "Observation"), obs) &&
	       obs_parse(json_object_get(e, "LastFailure"), fail);
}

/** What state_restore did. */
enum { RESTORE_BAD = -1, RESTORE_NONE, RESTORE_FULL, RESTORE_STATUS };

/**
 * Restore check i from its stored state doc: every checker when the number of checkers is
 * the same, else every view at the stored aggregate (as a reload does); then recompute and
 * store its word. Nothing changes when doc is malformed. Agg mutex held.
 */
static int state_restore(hc_aggr_t *a, size_t i, const json_t *doc)
{
	const hc_check_conf_t *cc = &a->conf->checks[i];
	hc_agg_t *g = &a->agg[i];
	const json_t *list = json_object_get(doc, "Checkers");
	const char *st = json_string_value(json_object_get(doc, "Status"));
	size_t n = json_array_size(list);
	unsigned nh = 0;
	if (!json_is_array(list) || st == NULL ||
	    (strcmp(st, "Healthy") != 0 && strcmp(st, "Unhealthy") != 0) || n > HC_MAX_CHECKERS)
		return RESTORE_BAD;
	for (size_t j = 0; j < n; j++) {
		uint8_t v, s;
		hc_obs_t o, f;
		if (!checker_parse(json_array_get(list, j), &v, &s, &o, &f))
			return RESTORE_BAD;
		nh += v;
	}
	if (g->k == 0)
		return RESTORE_NONE; /* CALCULATED, passive types: the caller recomputes them */
	int ret;
	if (n == g->k) {
		for (unsigned j = 0; j < g->k; j++)
			(void)checker_parse(json_array_get(list, j), &g->view[j], &g->streak[j],
					    &g->obs[j], &g->fail[j]);
		g->n_healthy = nh;
		ret = RESTORE_FULL;
	} else {
		/* the number of checkers changed: every view starts at the stored aggregate */
		bool base;
		if (n > 0) {
			base = hc_agg_rule(nh, (unsigned)n, a->conf->threshold);
		} else {
			bool was = strcmp(st, "Healthy") == 0;
			base = cc->inverted ? !was : was;
		}
		memset(g->view, base, g->k);
		memset(g->streak, 0, g->k);
		g->n_healthy = base ? g->k : 0;
		ret = RESTORE_STATUS;
	}
	g->changed = ++a->seq;
	update(a, i, "state restored from the store", false);
	return ret;
}

int hc_agg_state_import(hc_aggr_t *a, const json_t *states)
{
	size_t full = 0, status_only = 0, bad = 0;
	if (states == NULL)
		return HC_OK;
	if (!json_is_object(states))
		return HC_EINVAL;
	pthread_mutex_lock(&a->lock);
	size_t n = a->conf != NULL ? a->conf->n_checks : 0;
	for (size_t i = 0; i < n; i++) {
		const hc_check_conf_t *cc = &a->conf->checks[i];
		const json_t *doc = json_object_get(states, cc->id);
		if (doc == NULL)
			continue;
		int r = state_restore(a, i, doc);
		if (r == RESTORE_BAD) {
			hc_log(LOG_WARNING,
			       "check %s (%s): its stored checker state is not understood; it starts afresh",
			       cc->id, cc->endpoint);
			bad++;
		}
		full += r == RESTORE_FULL;
		status_only += r == RESTORE_STATUS;
	}
	/* calculated checks over their restored children (a child that flipped has already
	 * re-evaluated its parents; this covers the rest and changes nothing otherwise) */
	for (size_t i = 0; i < n; i++)
		if (a->conf->checks[i].type == HC_T_CALCULATED)
			update(a, i, "children restored from the store", false);
	pthread_mutex_unlock(&a->lock);
	if (full + status_only + bad > 0)
		hc_log(LOG_INFO,
		       "health: checker state restored for %zu checks (%zu more with a different number of checkers: status only; %zu not understood)",
		       full, status_only, bad);
	return HC_OK;
}
