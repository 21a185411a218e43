/* SPDX-License-Identifier: MIT */
/*
 * api_rrset.c -- the Route 53 API's record sets: ChangeResourceRecordSets (validated in
 * order on a working copy of the zone, every error collected, all or nothing, DELETE
 * matching exactly; ROUTE53-API.md 3.9 and 4) and ListResourceRecordSets (Route 53's order
 * and pagination, 3.10). Routing, the queue and the other operations are api.c's.
 */
#include "api_int.h"
#include "err.h"
#include "r53json.h"
#include "r53present.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- record sets ----------------------------------------------------------------------- */

static const char *const RRTYPES[] = { "SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR",
				       "PTR", "SRV", "SPF", "AAAA", "CAA", "DS", "TLSA", "SSHFP",
				       "SVCB", "HTTPS", NULL };

static bool rrtype_ok(const char *t)
{
	for (const char *const *p = RRTYPES; *p; p++)
		if (strcmp(*p, t) == 0)
			return true;
	return false;
}

static const char *const ROUTING[] = { "Weight", "Region", "GeoLocation", "Failover",
				       "MultiValueAnswer", "CidrRoutingConfig",
				       "GeoProximityLocation", NULL };

/* The record set in model order, names canonical, AliasTarget.HostedZoneId bare. */
static json_t *set_canon(const json_t *in, char *err, size_t errlen)
{
	static const char *const order[] = { "Name", "Type", "SetIdentifier", "Weight", "Region",
					     "GeoLocation", "Failover", "MultiValueAnswer", "TTL",
					     "ResourceRecords", "AliasTarget", "HealthCheckId",
					     "TrafficPolicyInstanceId", "CidrRoutingConfig",
					     "GeoProximityLocation", NULL };
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v) {
		bool known = false;
		for (const char *const *p = order; *p && !known; p++)
			known = strcmp(*p, k) == 0;
		if (!known) {
			snprintf(err, errlen, "Invalid request: unknown element ResourceRecordSet/%s", k);
			json_decref(out);
			return NULL;
		}
	}
	for (const char *const *p = order; *p; p++) {
		json_t *x = json_object_get(in, *p);
		if (x == NULL)
			continue;
		if (strcmp(*p, "Name") == 0) {
			char canon[1100];
			if (!json_is_string(x) ||
			    r53p_name_canon(json_string_value(x), canon, sizeof(canon)) != ERR_OK) {
				snprintf(err, errlen, "Invalid request: %s is not a valid DNS name",
					 json_string_value(x) ? json_string_value(x) : "Name");
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, "Name", json_string(canon));
		} else if (strcmp(*p, "AliasTarget") == 0 && json_is_object(x)) {
			json_t *at = json_object();
			const char *hz = api_jstr(x, "HostedZoneId"), *dn = api_jstr(x, "DNSName");
			if (hz != NULL) {
				char b[300];
				snprintf(b, sizeof(b), "%s", hz);
				api_strip_prefix(b);
				json_object_set_new(at, "HostedZoneId", json_string(b));
			}
			if (dn != NULL) {
				char canon[1100];
				if (r53p_name_canon(dn, canon, sizeof(canon)) == ERR_OK)
					json_object_set_new(at, "DNSName", json_string(canon));
				else
					json_object_set(at, "DNSName", json_object_get(x, "DNSName"));
			}
			if (json_object_get(x, "EvaluateTargetHealth") != NULL)
				json_object_set(at, "EvaluateTargetHealth",
						json_object_get(x, "EvaluateTargetHealth"));
			json_object_set_new(out, "AliasTarget", at);
		} else {
			json_object_set(out, *p, x);
		}
	}
	return out;
}

/* "[name='x.', type='A'(, set-identifier='s')]" */
static void set_desc(const json_t *s, char *buf, size_t len)
{
	const char *sid = api_jstr(s, "SetIdentifier");
	if (sid != NULL)
		snprintf(buf, len, "[name='%s', type='%s', set-identifier='%s']", api_jstr(s, "Name"),
			 api_jstr(s, "Type"), sid);
	else
		snprintf(buf, len, "[name='%s', type='%s']", api_jstr(s, "Name"), api_jstr(s, "Type"));
}

/* Values of a set as a sorted array of strings, for comparisons. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool values_equal(const json_t *a, const json_t *b)
{
	size_t n = json_array_size(a);
	if (n != json_array_size(b))
		return false;
	if (n == 0)
		return true;
	const char **x = calloc(n, sizeof(*x)), **y = calloc(n, sizeof(*y));
	bool eq = x != NULL && y != NULL;
	for (size_t i = 0; eq && i < n; i++) {
		x[i] = api_jstr(json_array_get(a, i), "Value");
		y[i] = api_jstr(json_array_get(b, i), "Value");
		eq = x[i] != NULL && y[i] != NULL;
	}
	if (eq) {
		qsort(x, n, sizeof(*x), cmp_str);
		qsort(y, n, sizeof(*y), cmp_str);
		for (size_t i = 0; eq && i < n; i++)
			eq = strcmp(x[i], y[i]) == 0;
	}
	free(x);
	free(y);
	return eq;
}

/* DELETE matching (spec 4.3): TTL, values and alias exactly; other fields when given. */
static bool delete_matches(const json_t *req, const json_t *cur)
{
	if (!json_equal(json_object_get(req, "TTL"), json_object_get(cur, "TTL")) &&
	    (json_object_get(req, "TTL") != NULL || json_object_get(cur, "TTL") != NULL))
		return false;
	if ((json_object_get(req, "ResourceRecords") == NULL) !=
		    (json_object_get(cur, "ResourceRecords") == NULL) ||
	    !values_equal(json_object_get(req, "ResourceRecords"),
			  json_object_get(cur, "ResourceRecords")))
		return false;
	const json_t *ra = json_object_get(req, "AliasTarget"), *ca = json_object_get(cur, "AliasTarget");
	if ((ra == NULL) != (ca == NULL))
		return false;
	if (ra != NULL) {
		if (!json_equal(json_object_get(ra, "DNSName"), json_object_get(ca, "DNSName")) ||
		    !json_equal(json_object_get(ra, "HostedZoneId"), json_object_get(ca, "HostedZoneId")))
			return false;
		bool re = json_is_true(json_object_get(ra, "EvaluateTargetHealth"));
		bool ce = json_is_true(json_object_get(ca, "EvaluateTargetHealth"));
		if (re != ce)
			return false;
	}
	static const char *const opt[] = { "HealthCheckId", "Weight", "Region", "GeoLocation",
					   "Failover", "CidrRoutingConfig", "GeoProximityLocation",
					   NULL };
	for (const char *const *p = opt; *p; p++) {
		const json_t *x = json_object_get(req, *p);
		if (x != NULL && !json_equal(x, json_object_get(cur, *p)))
			return false;
	}
	const json_t *mv = json_object_get(req, "MultiValueAnswer");
	if (mv != NULL && json_is_true(mv) != json_is_true(json_object_get(cur, "MultiValueAnswer")))
		return false;
	return true;
}

/* The working copy of a batch: per touched name, the sets at that name now. */
typedef struct wcopy {
	m_zone_t *z;
	json_t *file_by_name; /* ZoneFile zones: name -> array of the file's sets */
	json_t *orig;  /* name -> array as before the batch */
	json_t *cur;   /* name -> array as the batch left it */
} wcopy_t;

static json_t *wc_at(wcopy_t *w, const char *name)
{
	json_t *a = json_object_get(w->cur, name);
	if (a != NULL)
		return a;
	json_t *o = json_array();
	json_array_extend(o, json_object_get(w->z->by_name, name));
	if (w->file_by_name != NULL)
		json_array_extend(o, json_object_get(w->file_by_name, name));
	json_object_set_new(w->orig, name, o);
	a = json_copy(o);
	json_object_set_new(w->cur, name, a);
	return a;
}

static size_t wc_find(const json_t *arr, const char *type, const char *sid)
{
	size_t i;
	json_t *d;
	json_array_foreach(arr, i, d) {
		const char *ds = api_jstr(d, "SetIdentifier");
		if (strcmp(api_jstr(d, "Type"), type) == 0 &&
		    (sid == NULL ? ds == NULL : (ds != NULL && strcmp(ds, sid) == 0)))
			return i;
	}
	return SIZE_MAX;
}

/* Append "msg" to the collected messages. */
static void add_msg(char *msgs, size_t len, size_t *nmsg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add_msg(char *msgs, size_t len, size_t *nmsg, const char *fmt, ...)
{
	size_t o = strlen(msgs);
	if (*nmsg > 0 && o + 2 < len) {
		memcpy(msgs + o, ", ", 3);
		o += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	if (o < len)
		vsnprintf(msgs + o, len - o, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
	(*nmsg)++;
}

/* Conflicts of a new set s at its name (arr holds the others, without s). */
static bool check_conflicts(const json_t *arr, const json_t *s, const char *apex, char *msgs,
			    size_t len, size_t *nmsg)
{
	const char *name = api_jstr(s, "Name"), *type = api_jstr(s, "Type");
	const char *sid = api_jstr(s, "SetIdentifier");
	if (strcmp(type, "CNAME") == 0 && strcmp(name, apex) == 0) {
		add_msg(msgs, len, nmsg,
			"RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s",
			name, apex);
		return false;
	}
	size_t i;
	json_t *d;
	json_array_foreach(arr, i, d) {
		const char *dt = api_jstr(d, "Type");
		const char *ds = api_jstr(d, "SetIdentifier");
		if (strcmp(type, "CNAME") == 0 && strcmp(dt, "CNAME") != 0) {
			add_msg(msgs, len, nmsg,
				"RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s",
				name, apex);
			return false;
		}
		if (strcmp(type, "CNAME") != 0 && strcmp(dt, "CNAME") == 0) {
			add_msg(msgs, len, nmsg,
				"RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type  CNAME with the same DNS name already exists in zone %s",
				type, name, apex);
			return false;
		}
		if (strcmp(dt, type) == 0 && ((sid == NULL) != (ds == NULL))) {
			add_msg(msgs, len, nmsg,
				"RRSet with DNS name %s, type %s cannot be created as other RRSets exist with the same name and type.",
				name, type);
			return false;
		}
	}
	return true;
}

/*
 * Field checks of one new set with the one record-set validator (r53json.c). A value that
 * is not valid rdata is InvalidChangeBatch ("Invalid Resource Record", collected with the
 * others); a bad field (enum, range, shape) is InvalidInput, set on c at once.
 * \return 1 ok, 0 a value problem (message added), -1 InvalidInput set on c.
 */
static int check_fields(api_call_t *c, const json_t *s, const char *zone, size_t idx,
			char *msgs, size_t len, size_t *nmsg)
{
	uint8_t apex[256];
	size_t alen;
	r53_list_t l = { 0 };
	char err[1024], where[64];
	if (r53_name(zone, apex, &alen) != ERR_OK)
		return 1;
	json_t *doc = json_pack("{s:[O]}", "ResourceRecordSets", s);
	snprintf(where, sizeof(where), "Changes[%zu]", idx);
	int ret = r53_load(doc, where, zone, apex, alen, &l, err, sizeof(err));
	r53_list_deinit(&l);
	json_decref(doc);
	if (ret == ERR_OK)
		return 1;
	/* "Changes[i]: ResourceRecordSets[0].X: reason" -> "Changes[i].ResourceRecordSet.X: reason" */
	char clean[1100];
	const char *p = strstr(err, "ResourceRecordSets[0]");
	if (p != NULL && strncmp(err, where, strlen(where)) == 0)
		snprintf(clean, sizeof(clean), "%s.ResourceRecordSet%s", where,
			 p + strlen("ResourceRecordSets[0]"));
	else
		snprintf(clean, sizeof(clean), "%s", err);
	if (strstr(clean, "ResourceRecords") != NULL) {
		add_msg(msgs, len, nmsg, "Invalid Resource Record: FATAL problem: %s", clean);
		return 0;
	}
	api_fail(c, 400, "InvalidInput", "Invalid request: %s", clean);
	return -1;
}

/* Bump the SOA serial of the working copy (unless the batch set the SOA itself). */
static void bump_serial(wcopy_t *w, const char *apex, bool soa_touched)
{
	if (soa_touched)
		return;
	json_t *arr = wc_at(w, apex);
	size_t i = wc_find(arr, "SOA", NULL);
	if (i == SIZE_MAX)
		return;
	json_t *soa = json_array_get(arr, i);
	const char *v = api_jstr(json_array_get(json_object_get(soa, "ResourceRecords"), 0), "Value");
	char mname[600], rname[600];
	unsigned long serial, refresh, retry, expire, minimum;
	if (v == NULL || sscanf(v, "%599s %599s %lu %lu %lu %lu %lu", mname, rname, &serial,
				&refresh, &retry, &expire, &minimum) != 7)
		return;
	char nv[1400];
	snprintf(nv, sizeof(nv), "%s %s %lu %lu %lu %lu %lu", mname, rname,
		 (serial + 1) & 0xffffffffUL ? (serial + 1) & 0xffffffffUL : 1, refresh, retry,
		 expire, minimum);
	json_t *ns = json_deep_copy(soa);
	json_object_set_new(ns, "ResourceRecords", json_pack("[{s:s}]", "Value", nv));
	json_array_set_new(arr, i, ns);
}

static json_t *file_by_name(json_t *fs)
{
	json_t *o = json_object();
	size_t i;
	json_t *d;
	json_array_foreach(fs, i, d) {
		const char *n = api_jstr(d, "Name");
		json_t *a = json_object_get(o, n);
		if (a == NULL) {
			a = json_array();
			json_object_set_new(o, n, a);
		}
		json_array_append(a, d);
	}
	return o;
}

int api_change_rrsets(api_call_t *c)
{
	m_zone_t *z = api_need_zone(c, c->path[0]);
	if (z == NULL || !api_body_is(c, "ChangeResourceRecordSetsRequest"))
		return API_DONE;
	const json_t *batch = json_object_get(c->body, "ChangeBatch");
	const json_t *changes = json_object_get(batch, "Changes");
	const char *comment = api_jstr(batch, "Comment");
	if (!json_is_array(changes) || json_array_size(changes) == 0)
		return api_fail(c, 400, "InvalidInput",
				"Invalid request: ChangeBatch.Changes must hold at least one Change");
	if (comment != NULL && strlen(comment) > 256)
		return api_fail(c, 400, "InvalidInput", "Comment: at most 256 characters");
	const char *apex = api_jstr(api_zone_hz(z), "Name");

	size_t records = 0;
	size_t i;
	json_t *ch;
	json_array_foreach(changes, i, ch) {
		size_t n = json_array_size(json_object_get(json_object_get(ch, "ResourceRecordSet"),
							   "ResourceRecords"));
		const char *act = api_jstr(ch, "Action");
		records += act && strcmp(act, "UPSERT") == 0 ? 2 * n : n;
	}
	if (records > 1000)
		return api_fail(c, 400, "InvalidChangeBatch",
				"[Number of records limit of 1000 exceeded.]");

	char *msgs = calloc(1, 65536);
	if (msgs == NULL)
		return api_fail(c, 500, "InternalFailure", "out of memory");
	size_t nmsg = 0;
	wcopy_t w = { .z = z, .orig = json_object(), .cur = json_object() };
	json_t *fs = NULL;
	if (api_jstr(z->doc, "ZoneFile") != NULL) {
		char err[1024];
		fs = model_zone_file_sets(z, err, sizeof(err));
		if (fs == NULL) {
			api_fail(c, 500, "InternalFailure", "zone file of %s: %s", z->id, err);
			goto out;
		}
		w.file_by_name = file_by_name(fs);
	}
	bool soa_touched = false;
	json_array_foreach(changes, i, ch) {
		const char *act = api_jstr(ch, "Action");
		const json_t *rrs = json_object_get(ch, "ResourceRecordSet");
		const char *name = api_jstr(rrs, "Name"), *type = api_jstr(rrs, "Type");
		const char *sid = api_jstr(rrs, "SetIdentifier");
		char err[1100], desc[1400];
		if (act == NULL || (strcmp(act, "CREATE") != 0 && strcmp(act, "DELETE") != 0 &&
				    strcmp(act, "UPSERT") != 0)) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid XML ; cvc-enumeration-valid: Value '%s' is not facet-valid with respect to enumeration '[CREATE, DELETE, UPSERT]'. It must be a value from the enumeration.",
				 act ? act : "");
			goto out;
		}
		if (!json_is_object(rrs) || name == NULL || type == NULL) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid request: Change %zu needs a ResourceRecordSet with Name and Type", i);
			goto out;
		}
		if (!rrtype_ok(type)) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid XML ; cvc-enumeration-valid: Value '%s' is not facet-valid with respect to enumeration for Type.",
				 type);
			goto out;
		}
		bool alias = json_object_get(rrs, "AliasTarget") != NULL;
		bool vals = json_object_get(rrs, "TTL") != NULL &&
			    json_object_get(rrs, "ResourceRecords") != NULL;
		bool partial = !alias && (json_object_get(rrs, "TTL") != NULL ||
					  json_object_get(rrs, "ResourceRecords") != NULL) && !vals;
		if (alias == vals || partial || (alias && (json_object_get(rrs, "TTL") ||
							    json_object_get(rrs, "ResourceRecords")))) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found %s in Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=%s]",
				 alias ? "more than one" : "none", act, name, type, sid ? sid : "null");
			goto out;
		}
		bool routed = false;
		for (const char *const *p = ROUTING; *p; p++)
			routed = routed || json_object_get(rrs, *p) != NULL;
		if (routed && sid == NULL) {
			api_fail(c, 400, "InvalidInput",
				 "Invalid request: Missing field 'SetIdentifier' in Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=null]",
				 act, name, type);
			goto out;
		}
		const char *hcid = api_jstr(rrs, "HealthCheckId");
		if (hcid != NULL && strcmp(act, "DELETE") != 0 && model_hc(c->m, hcid) == NULL) {
			api_fail(c, 404, "NoSuchHealthCheck", "A health check with id %s does not exist.",
				 hcid);
			goto out;
		}
		json_t *s = set_canon(rrs, err, sizeof(err));
		if (s == NULL) {
			api_fail(c, 400, "InvalidInput", "%s", err);
			goto out;
		}
		const char *cn = api_jstr(s, "Name");
		set_desc(s, desc, sizeof(desc));
		if (!api_name_in_zone(cn, apex)) {
			add_msg(msgs, 65536, &nmsg, "RRSet with DNS name %s is not permitted in zone %s",
				cn, apex);
			json_decref(s);
			continue;
		}
		if (strcmp(type, "SOA") == 0)
			soa_touched = true;
		json_t *arr = wc_at(&w, cn);
		size_t at = wc_find(arr, type, sid);
		if (strcmp(act, "DELETE") == 0) {
			if (at == SIZE_MAX)
				add_msg(msgs, 65536, &nmsg,
					"Tried to delete resource record set %s but it was not found", desc);
			else if (!delete_matches(s, json_array_get(arr, at)))
				add_msg(msgs, 65536, &nmsg,
					"Tried to delete resource record set %s but the values provided do not match the current values",
					desc);
			else
				json_array_remove(arr, at);
			json_decref(s);
			continue;
		}
		if (strcmp(act, "CREATE") == 0 && at != SIZE_MAX) {
			add_msg(msgs, 65536, &nmsg,
				"Tried to create resource record set %s but it already exists", desc);
			json_decref(s);
			continue;
		}
		int fc = check_fields(c, s, apex, i, msgs, 65536, &nmsg);
		if (fc < 0) {
			json_decref(s);
			goto out;
		}
		if (fc == 0) {
			json_decref(s);
			continue;
		}
		json_t *others = json_copy(arr);
		if (at != SIZE_MAX)
			json_array_remove(others, at);
		bool ok = check_conflicts(others, s, apex, msgs, 65536, &nmsg);
		json_decref(others);
		if (!ok) {
			json_decref(s);
			continue;
		}
		if (at != SIZE_MAX)
			json_array_set_new(arr, at, s);
		else
			json_array_append_new(arr, s);
	}
	if (nmsg > 0) {
		api_fail(c, 400, "InvalidChangeBatch", "[%s]", msgs);
		goto out;
	}
	bump_serial(&w, apex, soa_touched);

	/* The transaction: materialise a zone-file zone, then every difference. */
	model_txn_t *t = model_txn_new(c->m);
	char key[1400];
	if (fs != NULL) {
		json_t *doc = json_deep_copy(z->doc);
		json_object_del(doc, "ZoneFile");
		snprintf(key, sizeof(key), "/zones/%s", z->id);
		model_txn_put(t, key, doc);
		size_t k;
		json_t *d;
		json_array_foreach(fs, k, d) {
			if (model_key_set(key, sizeof(key), z->id, api_jstr(d, "Name"), api_jstr(d, "Type"),
					  NULL) == ERR_OK)
				model_txn_put(t, key, json_incref(d));
		}
	}
	const char *nm;
	json_t *arr;
	json_object_foreach(w.orig, nm, arr) {
		json_t *now = json_object_get(w.cur, nm);
		size_t k;
		json_t *d;
		json_array_foreach(arr, k, d) {
			if (wc_find(now, api_jstr(d, "Type"), api_jstr(d, "SetIdentifier")) == SIZE_MAX &&
			    model_key_set(key, sizeof(key), z->id, nm, api_jstr(d, "Type"),
					  api_jstr(d, "SetIdentifier")) == ERR_OK)
				model_txn_put(t, key, NULL);
		}
		json_array_foreach(now, k, d) {
			size_t o = wc_find(arr, api_jstr(d, "Type"), api_jstr(d, "SetIdentifier"));
			if (o != SIZE_MAX && json_array_get(arr, o) == d && fs == NULL)
				continue;
			if (model_key_set(key, sizeof(key), z->id, nm, api_jstr(d, "Type"),
					  api_jstr(d, "SetIdentifier")) == ERR_OK)
				model_txn_put(t, key, json_incref(d));
		}
	}
	json_t *ci = api_change_new(c, t, comment);
	c->out = json_pack("{s:o}", "ChangeInfo", ci);
	c->root = "ChangeResourceRecordSetsResponse";
	json_decref(w.orig);
	json_decref(w.cur);
	json_decref(w.file_by_name);
	free(msgs);
	return api_submit(c, t, "InvalidChangeBatch");
out:
	json_decref(w.orig);
	json_decref(w.cur);
	json_decref(w.file_by_name);
	free(msgs);
	return API_DONE;
}

/* Lower bound in a sorted array of set documents. */
static size_t doc_lower(const json_t *arr, const char *rk, const char *type, const char *sid)
{
	size_t lo = 0, hi = json_array_size(arr);
	char b[1100];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const json_t *d = json_array_get(arr, mid);
		int r = strcmp(r53p_name_rev(api_jstr(d, "Name"), b, sizeof(b)), rk);
		if (r == 0)
			r = strcmp(api_jstr(d, "Type"), type ? type : "");
		if (r == 0) {
			const char *ds = api_jstr(d, "SetIdentifier");
			r = (ds == NULL || sid == NULL) ? (ds != NULL) - (sid != NULL) : strcmp(ds, sid);
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int api_list_rrsets(api_call_t *c)
{
	m_zone_t *z = api_need_zone(c, c->path[0]);
	if (z == NULL)
		return API_DONE;
	unsigned max;
	if (!api_maxitems(c, "maxitems", 300, 300, &max))
		return API_DONE;
	const char *name = api_q(c, "name"), *type = api_q(c, "type");
	const char *sid = api_q(c, "identifier");
	char canon[1100], rk[1100];
	if (type != NULL && name == NULL)
		return api_fail(c, 400, "InvalidInput",
				"The input is not valid: you must specify name if you specify type");
	if (sid != NULL && type == NULL)
		return api_fail(c, 400, "InvalidInput",
				"The input is not valid: you must specify type if you specify identifier");
	if (type != NULL && !rrtype_ok(type))
		return api_fail(c, 400, "InvalidInput", "%s is not a valid record type", type);
	if (name != NULL && r53p_name_canon(name, canon, sizeof(canon)) != ERR_OK)
		return api_fail(c, 400, "InvalidInput", "%s is not a valid DNS name", name);
	rk[0] = '\0';
	if (name != NULL)
		r53p_name_rev(canon, rk, sizeof(rk));
	size_t k = name ? model_set_lower(z, canon, type, sid) : 0;
	json_t *fs = NULL;
	if (api_jstr(z->doc, "ZoneFile") != NULL) {
		char err[1024];
		fs = model_zone_file_sets(z, err, sizeof(err));
		if (fs == NULL)
			return api_fail(c, 500, "InternalFailure", "zone file of %s: %s", z->id, err);
	}
	size_t a = name ? doc_lower(fs, rk, type, sid) : 0, nb = json_array_size(fs);
	json_t *list = json_array();
	const json_t *next = NULL;
	while (k < z->n_sets || a < nb) {
		const json_t *f = a < nb ? json_array_get(fs, a) : NULL;
		bool take_file = f != NULL;
		if (f != NULL && k < z->n_sets) {
			char b[1100];
			const m_set_t *s = &z->sets[k];
			int r = strcmp(r53p_name_rev(api_jstr(f, "Name"), b, sizeof(b)), s->rkey);
			if (r == 0)
				r = strcmp(api_jstr(f, "Type"), s->type);
			if (r == 0)
				r = s->setid != NULL ? -1 : 0;
			take_file = r < 0;
		}
		const json_t *d = take_file ? f : z->sets[k].doc;
		if (json_array_size(list) == max) {
			next = d;
			break;
		}
		json_array_append(list, (json_t *)d);
		if (take_file)
			a++;
		else
			k++;
	}
	c->out = json_pack("{s:o,s:b}", "ResourceRecordSets", list, "IsTruncated", next != NULL);
	if (next != NULL) {
		json_object_set(c->out, "NextRecordName", json_object_get(next, "Name"));
		json_object_set(c->out, "NextRecordType", json_object_get(next, "Type"));
		if (json_object_get(next, "SetIdentifier"))
			json_object_set(c->out, "NextRecordIdentifier",
					json_object_get(next, "SetIdentifier"));
	}
	json_object_set_new(c->out, "MaxItems", json_sprintf("%u", max));
	c->root = "ListResourceRecordSetsResponse";
	return API_DONE;
}
