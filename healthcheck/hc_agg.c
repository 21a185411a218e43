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
		free(agg[i].parents);
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
	atomic_store_explicit(w, word, memory_order_relaxed);
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
		if (g->k == 0)
			continue;
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
		if (a->retire != NULL) {
			a->retire(a->retire_ctx, cur);
		} else {
			hc_table_t **r = realloc(a->retired, (a->n_retired + 1) * sizeof(*r));
			if (r != NULL) {
				a->retired = r;
				a->retired[a->n_retired++] = cur;
			} else {
				/* cannot free safely and cannot record: leak rather than crash */
				hc_log(LOG_ERR, "health: out of memory retiring a status table");
			}
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

/** Append one observation per checker of obs[0..k) that has one to list. */
static int obs_append(json_t *list, const hc_check_conf_t *cc, const hc_obs_t *obs, unsigned k)
{
	for (unsigned j = 0; j < k; j++) {
		if (obs[j].checked_ms == 0)
			continue;
		char t[40];
		iso_time(obs[j].checked_ms, t, sizeof(t));
		json_t *e = json_pack("{s:s, s:s, s:{s:s, s:s}}", "Region",
				      hc_region_names[cc->regions[j % cc->n_regions]], "IPAddress",
				      obs[j].ip, "StatusReport", "Status", obs[j].status,
				      "CheckedTime", t);
		if (e == NULL || json_array_append_new(list, e) < 0)
			return HC_ENOMEM;
	}
	return HC_OK;
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
		if (obs_append(obs, cc, g->obs, g->k) != HC_OK ||
		    obs_append(fails, cc, g->fail, g->k) != HC_OK)
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
