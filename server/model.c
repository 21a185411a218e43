/* SPDX-License-Identifier: MIT */
/*
 * model.c -- the Route 53 resources in memory, mirrored key by key in the store (model.h).
 */
#include "model.h"
#include "dnssec.h"
#include "err.h"
#include "log.h"
#include "r53json.h"
#include "r53present.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

/* ---- keys ------------------------------------------------------------------------------ */

enum mkind { K_BAD = 0, K_ZONE, K_SET, K_ZTAGS, K_HC, K_HCTAGS, K_COLL, K_CHANGE, K_REF,
	     K_IMPORT, K_HCSTATE, K_ZDNSSEC };

typedef struct mkey {
	int kind;
	char id[256];      /* zone, health check, collection, change id; import KIND/ID */
	char name[1100];   /* record set name */
	char type[32];     /* record set type */
	char setid[512];   /* SetIdentifier (decoded) */
	bool has_setid;
	char ref[1200];    /* caller reference "KIND/REF" (decoded) */
} mkey_t;

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copy [s, s+n) percent-decoded into buf. */
static bool part_decode(const char *s, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return false;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = h * 16 + l;
			i += 2;
		}
		if (o + 1 >= len)
			return false;
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return true;
}

/* Copy [s, s+n) into buf. */
static bool part_copy(const char *s, size_t n, char *buf, size_t len)
{
	if (n == 0 || n >= len)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

int model_key_part(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = *p > 0x20 && *p < 0x7f && *p != '/' && *p != '%';
		if (o + (plain ? 1 : 3) >= len)
			return ERR_LIMIT;
		if (plain) {
			buf[o++] = (char)*p;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		}
	}
	if (o >= len)
		return ERR_LIMIT;
	buf[o] = '\0';
	return ERR_OK;
}

int model_key_set(char *buf, size_t len, const char *zone_id, const char *name,
		  const char *type, const char *setid)
{
	int n;
	if (setid != NULL) {
		char enc[600];
		if (model_key_part(enc, sizeof(enc), setid) != ERR_OK)
			return ERR_LIMIT;
		n = snprintf(buf, len, "/zones/%s/rrsets/%s/%s/%s", zone_id, name, type, enc);
	} else {
		n = snprintf(buf, len, "/zones/%s/rrsets/%s/%s", zone_id, name, type);
	}
	return n < 0 || (size_t)n >= len ? ERR_LIMIT : ERR_OK;
}

/* Split a key into its parts. */
static bool key_parse(const char *key, mkey_t *k)
{
	memset(k, 0, sizeof(*k));
	const char *p, *slash;
	if (strncmp(key, "/zones/", 7) == 0) {
		p = key + 7;
		slash = strchr(p, '/');
		if (slash == NULL) {
			k->kind = K_ZONE;
			return part_copy(p, strlen(p), k->id, sizeof(k->id));
		}
		if (!part_copy(p, (size_t)(slash - p), k->id, sizeof(k->id)))
			return false;
		p = slash;
		if (strcmp(p, "/tags") == 0) {
			k->kind = K_ZTAGS;
			return true;
		}
		if (strcmp(p, "/dnssec") == 0) {
			k->kind = K_ZDNSSEC;
			return true;
		}
		if (strncmp(p, "/rrsets/", 8) != 0)
			return false;
		p += 8;
		slash = strchr(p, '/');
		if (slash == NULL || !part_copy(p, (size_t)(slash - p), k->name, sizeof(k->name)))
			return false;
		p = slash + 1;
		slash = strchr(p, '/');
		if (slash == NULL) {
			k->kind = K_SET;
			return part_copy(p, strlen(p), k->type, sizeof(k->type));
		}
		if (!part_copy(p, (size_t)(slash - p), k->type, sizeof(k->type)))
			return false;
		k->has_setid = true;
		k->kind = K_SET;
		return part_decode(slash + 1, strlen(slash + 1), k->setid, sizeof(k->setid)) &&
		       k->setid[0] != '\0';
	}
	if (strncmp(key, "/healthchecks/", 14) == 0) {
		p = key + 14;
		slash = strchr(p, '/');
		if (slash == NULL) {
			k->kind = K_HC;
			return part_copy(p, strlen(p), k->id, sizeof(k->id));
		}
		k->kind = K_HCTAGS;
		return strcmp(slash, "/tags") == 0 &&
		       part_copy(p, (size_t)(slash - p), k->id, sizeof(k->id));
	}
	if (strncmp(key, "/cidrcollections/", 17) == 0) {
		k->kind = K_COLL;
		return strchr(key + 17, '/') == NULL &&
		       part_copy(key + 17, strlen(key + 17), k->id, sizeof(k->id));
	}
	if (strncmp(key, "/changes/", 9) == 0) {
		k->kind = K_CHANGE;
		return part_copy(key + 9, strlen(key + 9), k->id, sizeof(k->id));
	}
	if (strncmp(key, "/callerrefs/", 12) == 0) {
		p = key + 12;
		slash = strchr(p, '/');
		if (slash == NULL)
			return false;
		size_t kl = (size_t)(slash - p) + 1;
		if (kl >= sizeof(k->ref))
			return false;
		memcpy(k->ref, p, kl); /* "KIND/" */
		k->kind = K_REF;
		return part_decode(slash + 1, strlen(slash + 1), k->ref + kl, sizeof(k->ref) - kl);
	}
	if (strncmp(key, "/imports/", 9) == 0) {
		k->kind = K_IMPORT;
		return part_copy(key + 9, strlen(key + 9), k->id, sizeof(k->id));
	}
	if (strncmp(key, "/hcstate/", 9) == 0) {
		k->kind = K_HCSTATE;
		return strchr(key + 9, '/') == NULL &&
		       part_copy(key + 9, strlen(key + 9), k->id, sizeof(k->id));
	}
	return false;
}

/* ---- zones ----------------------------------------------------------------------------- */

static void zone_view_clear(m_zone_t *z)
{
	for (size_t i = 0; i < z->n_sets; i++)
		free(z->sets[i].rkey);
	z->n_sets = 0;
}

static void zone_free(m_zone_t *z)
{
	if (z == NULL)
		return;
	zone_view_clear(z);
	free(z->sets);
	json_decref(z->doc);
	json_decref(z->by_name);
	json_decref(z->tags);
	json_decref(z->file_sets);
	json_decref(z->dnssec);
	free(z->id);
	free(z);
}

/* Index of zone id, or where it would go (*found false). */
static size_t zone_pos(const model_t *m, const char *id, bool *found)
{
	size_t lo = 0, hi = m->n_zones;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->zones[mid]->id, id);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static m_zone_t *zone_get(model_t *m, const char *id, bool create)
{
	bool found;
	size_t i = zone_pos(m, id, &found);
	if (found)
		return m->zones[i];
	if (!create)
		return NULL;
	if (m->n_zones == m->cap_zones) {
		size_t cap = m->cap_zones ? m->cap_zones * 2 : 16;
		m_zone_t **v = realloc(m->zones, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		m->zones = v;
		m->cap_zones = cap;
	}
	m_zone_t *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	z->id = strdup(id);
	z->by_name = json_object();
	if (z->id == NULL || z->by_name == NULL) {
		zone_free(z);
		return NULL;
	}
	memmove(&m->zones[i + 1], &m->zones[i], (m->n_zones - i) * sizeof(*m->zones));
	m->zones[i] = z;
	m->n_zones++;
	return z;
}

static void zone_remove(model_t *m, const char *id)
{
	bool found;
	size_t i = zone_pos(m, id, &found);
	if (!found)
		return;
	zone_free(m->zones[i]);
	memmove(&m->zones[i], &m->zones[i + 1], (m->n_zones - i - 1) * sizeof(*m->zones));
	m->n_zones--;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The SetIdentifier of a set document, or NULL. */
static const char *doc_setid(const json_t *doc)
{
	return jstr(doc, "SetIdentifier");
}

static bool same_setid(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Put (doc) or delete (NULL) the set (name, type, setid) of zone z. */
static int zone_set_put(m_zone_t *z, const char *name, const char *type, const char *setid,
			json_t *doc)
{
	json_t *arr = json_object_get(z->by_name, name);
	size_t n = json_array_size(arr);
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(arr, i);
		const char *t = jstr(d, "Type");
		if (t != NULL && strcmp(t, type) == 0 && same_setid(doc_setid(d), setid)) {
			z->dirty = true;
			if (doc != NULL)
				return json_array_set(arr, i, doc) == 0 ? ERR_OK : ERR_NOMEM;
			json_array_remove(arr, i);
			z->n_total--;
			if (json_array_size(arr) == 0)
				json_object_del(z->by_name, name);
			return ERR_OK;
		}
	}
	if (doc == NULL)
		return ERR_OK;
	if (arr == NULL) {
		arr = json_array();
		if (arr == NULL || json_object_set_new(z->by_name, name, arr) != 0)
			return ERR_NOMEM;
	}
	if (json_array_append(arr, doc) != 0)
		return ERR_NOMEM;
	z->n_total++;
	z->dirty = true;
	return ERR_OK;
}

static int cmp_view(const void *a, const void *b)
{
	const m_set_t *x = a, *y = b;
	int c = strcmp(x->rkey, y->rkey);
	if (c != 0)
		return c;
	c = strcmp(x->type, y->type);
	if (c != 0)
		return c;
	if (x->setid == NULL || y->setid == NULL)
		return (x->setid != NULL) - (y->setid != NULL);
	return strcmp(x->setid, y->setid);
}

static int zone_sort(m_zone_t *z)
{
	if (!z->dirty && z->n_sets == z->n_total)
		return ERR_OK;
	zone_view_clear(z);
	if (z->cap_sets < z->n_total) {
		m_set_t *v = realloc(z->sets, z->n_total * sizeof(*v));
		if (v == NULL)
			return ERR_NOMEM;
		z->sets = v;
		z->cap_sets = z->n_total;
	}
	const char *name;
	json_t *arr;
	char rk[1100];
	json_object_foreach(z->by_name, name, arr) {
		size_t i;
		json_t *d;
		json_array_foreach(arr, i, d) {
			if (z->n_sets >= z->cap_sets)
				break;
			r53p_name_rev(name, rk, sizeof(rk));
			m_set_t *s = &z->sets[z->n_sets];
			s->rkey = strdup(rk);
			if (s->rkey == NULL)
				return ERR_NOMEM;
			s->name = name;
			s->type = jstr(d, "Type") ? jstr(d, "Type") : "";
			s->setid = doc_setid(d);
			s->doc = d;
			z->n_sets++;
		}
	}
	qsort(z->sets, z->n_sets, sizeof(*z->sets), cmp_view);
	z->dirty = false;
	return ERR_OK;
}

m_zone_t *model_zone(const model_t *m, const char *id)
{
	if (id == NULL)
		return NULL;
	m_zone_t *z = zone_get((model_t *)m, id, false);
	if (z == NULL || z->doc == NULL)
		return NULL;
	if (zone_sort(z) != ERR_OK)
		log_msg(LOG_ERR, "zone %s: out of memory sorting its record sets", id);
	return z;
}

json_t *model_zone_file_sets(m_zone_t *z, char *err, size_t errlen)
{
	const char *file = jstr(z->doc, "ZoneFile");
	if (file == NULL)
		return NULL;
	if (z->file_sets != NULL)
		return z->file_sets;
	const char *name = jstr(json_object_get(z->doc, "HostedZone"), "Name");
	json_t *out = NULL;
	if (r53p_zone_file_sets(file, name ? name : ".", &out, err, errlen) != ERR_OK)
		return NULL;
	z->file_sets = out;
	return out;
}

size_t model_set_lower(const m_zone_t *z, const char *name, const char *type,
		       const char *setid)
{
	if (name == NULL)
		return 0;
	char rk[1100];
	r53p_name_rev(name, rk, sizeof(rk));
	m_set_t key = { .rkey = rk, .type = type ? type : "", .setid = setid };
	size_t lo = 0, hi = z->n_sets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_view(&z->sets[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

m_set_t *model_set_find(const m_zone_t *z, const char *name, const char *type,
			const char *setid)
{
	size_t i = model_set_lower(z, name, type, setid);
	if (i < z->n_sets && strcmp(z->sets[i].name, name) == 0 &&
	    strcmp(z->sets[i].type, type) == 0 && same_setid(z->sets[i].setid, setid))
		return &z->sets[i];
	return NULL;
}

/* ---- apply ----------------------------------------------------------------------------- */

static int obj_put(json_t *obj, const char *k, json_t *doc)
{
	if (doc == NULL) {
		json_object_del(obj, k);
		return ERR_OK;
	}
	return json_object_set(obj, k, doc) == 0 ? ERR_OK : ERR_NOMEM;
}

int model_apply(model_t *m, const char *key, json_t *doc)
{
	mkey_t *k = malloc(sizeof(*k));
	int ret = ERR_PARSE;
	if (k == NULL)
		return ERR_NOMEM;
	if (!key_parse(key, k))
		goto out;
	m_zone_t *z;
	switch (k->kind) {
	case K_ZONE:
		if (doc == NULL) {
			zone_remove(m, k->id);
			ret = ERR_OK;
			break;
		}
		ret = ERR_NOMEM;
		z = zone_get(m, k->id, true);
		if (z == NULL)
			break;
		json_incref(doc);
		json_decref(z->doc);
		z->doc = doc;
		json_decref(z->file_sets);
		z->file_sets = NULL;
		ret = ERR_OK;
		break;
	case K_SET:
		z = zone_get(m, k->id, doc != NULL);
		if (z == NULL) {
			ret = doc == NULL ? ERR_OK : ERR_NOMEM;
			break;
		}
		ret = zone_set_put(z, k->name, k->type, k->has_setid ? k->setid : NULL, doc);
		break;
	case K_ZTAGS:
		z = zone_get(m, k->id, doc != NULL);
		ret = ERR_OK;
		if (z != NULL) {
			json_incref(doc);
			json_decref(z->tags);
			z->tags = doc;
		}
		break;
	case K_ZDNSSEC:
		z = zone_get(m, k->id, doc != NULL);
		ret = doc == NULL || z != NULL ? ERR_OK : ERR_NOMEM;
		if (z != NULL) {
			json_incref(doc);
			json_decref(z->dnssec);
			z->dnssec = doc;
		}
		break;
	case K_HC:
		ret = obj_put(m->hcs, k->id, doc);
		break;
	case K_HCTAGS:
		ret = obj_put(m->hc_tags, k->id, doc);
		break;
	case K_COLL:
		ret = obj_put(m->colls, k->id, doc);
		break;
	case K_CHANGE:
		ret = obj_put(m->changes, k->id, doc);
		break;
	case K_REF:
		ret = obj_put(m->refs, k->ref, doc);
		break;
	case K_IMPORT:
		ret = obj_put(m->imports, k->id, doc);
		break;
	case K_HCSTATE:
		ret = obj_put(m->hc_state, k->id, doc);
		break;
	default:
		break;
	}
out:
	free(k);
	return ret;
}

/* The document the model holds at key (new reference), or NULL. */
static json_t *model_lookup(const model_t *m, const char *key)
{
	mkey_t *k = malloc(sizeof(*k));
	json_t *doc = NULL;
	if (k == NULL || !key_parse(key, k))
		goto out;
	m_zone_t *z;
	switch (k->kind) {
	case K_ZONE:
		z = zone_get((model_t *)m, k->id, false);
		doc = z ? z->doc : NULL;
		break;
	case K_SET: {
		z = zone_get((model_t *)m, k->id, false);
		json_t *arr = z ? json_object_get(z->by_name, k->name) : NULL;
		size_t i;
		json_t *d;
		json_array_foreach(arr, i, d) {
			const char *t = jstr(d, "Type");
			if (t != NULL && strcmp(t, k->type) == 0 &&
			    same_setid(doc_setid(d), k->has_setid ? k->setid : NULL)) {
				doc = d;
				break;
			}
		}
		break;
	}
	case K_ZTAGS:
		z = zone_get((model_t *)m, k->id, false);
		doc = z ? z->tags : NULL;
		break;
	case K_ZDNSSEC:
		z = zone_get((model_t *)m, k->id, false);
		doc = z ? z->dnssec : NULL;
		break;
	case K_HC:
		doc = json_object_get(m->hcs, k->id);
		break;
	case K_HCTAGS:
		doc = json_object_get(m->hc_tags, k->id);
		break;
	case K_COLL:
		doc = json_object_get(m->colls, k->id);
		break;
	case K_CHANGE:
		doc = json_object_get(m->changes, k->id);
		break;
	case K_REF:
		doc = json_object_get(m->refs, k->ref);
		break;
	case K_IMPORT:
		doc = json_object_get(m->imports, k->id);
		break;
	case K_HCSTATE:
		doc = json_object_get(m->hc_state, k->id);
		break;
	default:
		break;
	}
out:
	free(k);
	return json_incref(doc);
}

json_t *model_hc(const model_t *m, const char *id)
{
	return id ? json_object_get(m->hcs, id) : NULL;
}

json_t *model_coll(const model_t *m, const char *id)
{
	return id ? json_object_get(m->colls, id) : NULL;
}

/* A parsed key of a document, found again by the SHA-256 of its PEM text and its flags. */
typedef struct m_keyent {
	uint8_t digest[32];    /* SHA-256 of the PEM text */
	uint16_t flags;        /* DNSKEY flags it was parsed with */
	bool used;             /* seen by the current model_sources_make */
	dnssec_key_t *key;     /* one reference */
} m_keyent_t;

struct m_keycache {
	m_keyent_t *ent;       /* parsed document keys */
	size_t n, cap;
	char **arns;           /* dnssec.kms_keys ARNs (owned) */
	dnssec_key_t **kms;    /* their keys (one reference each) */
	size_t n_kms;
	uint32_t dnskey_ttl;   /* dnssec.dnskey_ttl */
	bool sweeping;         /* model_sources_make marks what it uses */
};

static void kms_clear(m_keycache_t *c)
{
	for (size_t i = 0; i < c->n_kms; i++) {
		free(c->arns[i]);
		dnssec_key_free(c->kms[i]);
	}
	free(c->arns);
	free(c->kms);
	c->arns = NULL;
	c->kms = NULL;
	c->n_kms = 0;
}

static void keycache_free(m_keycache_t *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		dnssec_key_free(c->ent[i].key);
	free(c->ent);
	kms_clear(c);
	free(c);
}

/* ---- open and free --------------------------------------------------------------------- */

typedef struct open_ctx {
	model_t *m;
	char *err;
	size_t errlen;
} open_ctx_t;

static int open_kv(void *arg, const char *key, const char *val, size_t vlen)
{
	open_ctx_t *o = arg;
	json_error_t je;
	if (strncmp(key, "/live/", 6) == 0)
		return ERR_OK; /* a fleet's nodes and votes (fleet.h), not a resource */
	json_t *doc = json_loadb(val, vlen, 0, &je);
	if (doc == NULL) {
		snprintf(o->err, o->errlen, "store: key %s: not JSON: %s", key, je.text);
		return ERR_PARSE;
	}
	int ret = model_apply(o->m, key, doc);
	json_decref(doc);
	if (ret == ERR_PARSE) {
		/* A key of a later version, or debris: keep serving the rest. */
		log_msg(LOG_WARNING, "store: key %s: not understood; ignored", key);
		ret = ERR_OK;
	}
	return ret;
}

int model_open(store_t *store, model_t **out, char *err, size_t errlen)
{
	model_t *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (m == NULL)
		return ERR_NOMEM;
	m->store = store;
	m->hcs = json_object();
	m->hc_tags = json_object();
	m->colls = json_object();
	m->changes = json_object();
	m->change_gen = json_object();
	m->refs = json_object();
	m->imports = json_object();
	m->hc_state = json_object();
	m->keys = calloc(1, sizeof(*m->keys)); /* model_set_dnssec fills it */
	if (m->keys != NULL)
		m->keys->dnskey_ttl = 3600;
	if (!m->hcs || !m->hc_tags || !m->colls || !m->changes || !m->change_gen || !m->refs ||
	    !m->imports || !m->hc_state || !m->keys) {
		model_free(m);
		return ERR_NOMEM;
	}
	if (store != NULL) {
		open_ctx_t o = { m, err, errlen };
		int ret = store_range(store, "", open_kv, &o, NULL);
		if (ret != ERR_OK) {
			if (ret == ERR_IO)
				snprintf(err, errlen, "store %s: cannot read", store_describe(store));
			model_free(m);
			return ret;
		}
	}
	*out = m;
	return ERR_OK;
}

void model_free(model_t *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_zones; i++)
		zone_free(m->zones[i]);
	free(m->zones);
	json_decref(m->hcs);
	json_decref(m->hc_tags);
	json_decref(m->colls);
	json_decref(m->changes);
	json_decref(m->change_gen);
	json_decref(m->refs);
	json_decref(m->imports);
	json_decref(m->hc_state);
	json_decref(m->name_servers);
	keycache_free(m->keys);
	free(m);
}

/* ---- transactions ---------------------------------------------------------------------- */

typedef struct txn_op {
	char *key;
	json_t *doc;  /* new document (owned), NULL: delete */
	json_t *old;  /* what the model held before apply (owned), NULL: nothing */
} txn_op_t;

struct model_txn {
	model_t *m;
	txn_op_t *ops;
	size_t n, cap;
	json_t *index;  /* key -> integer index into ops */
	bool applied;
};

model_txn_t *model_txn_new(model_t *m)
{
	model_txn_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->m = m;
	t->index = json_object();
	if (t->index == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

int model_txn_put(model_txn_t *t, const char *key, json_t *doc)
{
	json_t *ix = json_object_get(t->index, key);
	if (ix != NULL) {
		txn_op_t *op = &t->ops[json_integer_value(ix)];
		json_decref(op->doc);
		op->doc = doc;
		return ERR_OK;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		txn_op_t *v = realloc(t->ops, cap * sizeof(*v));
		if (v == NULL)
			goto nomem;
		t->ops = v;
		t->cap = cap;
	}
	char *k = strdup(key);
	if (k == NULL)
		goto nomem;
	if (json_object_set_new(t->index, key, json_integer((json_int_t)t->n)) != 0) {
		free(k);
		goto nomem;
	}
	t->ops[t->n++] = (txn_op_t){ .key = k, .doc = doc, .old = NULL };
	return ERR_OK;
nomem:
	json_decref(doc);
	return ERR_NOMEM;
}

json_t *model_txn_get(const model_txn_t *t, const char *key, bool *touched)
{
	json_t *ix = json_object_get(t->index, key);
	if (touched != NULL)
		*touched = ix != NULL;
	return ix ? t->ops[json_integer_value(ix)].doc : NULL;
}

const char *model_txn_key(const model_txn_t *t, size_t i)
{
	return i < t->n ? t->ops[i].key : NULL;
}

size_t model_txn_size(const model_txn_t *t)
{
	return t->n;
}

bool model_txn_needs_build(const model_txn_t *t)
{
	for (size_t i = 0; i < t->n; i++) {
		mkey_t k;
		if (!key_parse(t->ops[i].key, &k))
			continue;
		if (k.kind == K_ZONE || k.kind == K_SET || k.kind == K_HC || k.kind == K_COLL ||
		    k.kind == K_ZDNSSEC)
			return true;
	}
	return false;
}

int model_txn_apply(model_txn_t *t)
{
	size_t i;
	for (i = 0; i < t->n; i++) {
		txn_op_t *op = &t->ops[i];
		json_decref(op->old);
		op->old = model_lookup(t->m, op->key);
		if (model_apply(t->m, op->key, op->doc) != ERR_OK)
			goto fail;
	}
	t->applied = true;
	return ERR_OK;
fail:
	while (i-- > 0) {
		txn_op_t *op = &t->ops[i];
		model_apply(t->m, op->key, op->old);
	}
	return ERR_NOMEM;
}

void model_txn_rollback(model_txn_t *t)
{
	if (!t->applied)
		return;
	for (size_t i = t->n; i-- > 0;) {
		txn_op_t *op = &t->ops[i];
		if (model_apply(t->m, op->key, op->old) != ERR_OK)
			log_msg(LOG_ERR, "rollback of %s failed: out of memory", op->key);
	}
	t->applied = false;
}

int model_txn_commit(model_txn_t *t, uint64_t *rev)
{
	if (t->m->store == NULL || t->n == 0)
		return ERR_OK;
	int ret = ERR_NOMEM;
	store_op_t *ops = calloc(t->n, sizeof(*ops));
	char **vals = calloc(t->n, sizeof(*vals));
	if (ops == NULL || vals == NULL)
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		ops[i].key = t->ops[i].key;
		if (t->ops[i].doc != NULL) {
			vals[i] = json_dumps(t->ops[i].doc, JSON_COMPACT | JSON_ENCODE_ANY);
			if (vals[i] == NULL)
				goto out;
			ops[i].val = vals[i];
			ops[i].vlen = strlen(vals[i]);
		}
	}
	ret = store_commit(t->m->store, ops, t->n, rev);
out:
	for (size_t i = 0; vals != NULL && i < t->n; i++)
		free(vals[i]);
	free(vals);
	free(ops);
	return ret;
}

void model_txn_free(model_txn_t *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->ops[i].key);
		json_decref(t->ops[i].doc);
		json_decref(t->ops[i].old);
	}
	free(t->ops);
	json_decref(t->index);
	free(t);
}

/* ---- DNSSEC keys ----------------------------------------------------------------------- */

int model_set_dnssec(model_t *m, const conf_dnssec_t *d)
{
	m_keycache_t *c = m->keys;
	size_t n = d->n_kms;
	char **arns = calloc(n ? n : 1, sizeof(*arns));
	dnssec_key_t **kms = calloc(n ? n : 1, sizeof(*kms));
	if (arns == NULL || kms == NULL) {
		free(arns);
		free(kms);
		return ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		arns[i] = strdup(d->kms_arns[i]);
		if (arns[i] == NULL) {
			while (i-- > 0) {
				free(arns[i]);
				dnssec_key_free(kms[i]);
			}
			free(arns);
			free(kms);
			return ERR_NOMEM;
		}
		kms[i] = dnssec_key_ref(d->kms_loaded[i]);
	}
	kms_clear(c);
	c->arns = arns;
	c->kms = kms;
	c->n_kms = n;
	c->dnskey_ttl = d->dnskey_ttl ? d->dnskey_ttl : 3600;
	return ERR_OK;
}

uint32_t model_dnskey_ttl(const model_t *m)
{
	return m->keys->dnskey_ttl;
}

const json_t *model_zone_dnssec(const m_zone_t *z)
{
	return z->dnssec;
}

/* The key of PEM text (parsed once), or NULL when it does not parse. */
static dnssec_key_t *cached_key(m_keycache_t *c, const char *pem, uint16_t flags)
{
	if (pem == NULL)
		return NULL;
	uint8_t dg[32];
	unsigned dl = 0;
	if (EVP_Digest(pem, strlen(pem), dg, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		if (c->ent[i].flags == flags && memcmp(c->ent[i].digest, dg, 32) == 0) {
			c->ent[i].used = true;
			return c->ent[i].key;
		}
	}
	dnssec_key_t *k = NULL;
	if (dnssec_key_from_pem(&k, pem, strlen(pem), flags) != ERR_OK)
		return NULL; /* (never the text in a message) */
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		m_keyent_t *v = realloc(c->ent, cap * sizeof(*v));
		if (v == NULL) {
			dnssec_key_free(k);
			return NULL;
		}
		c->ent = v;
		c->cap = cap;
	}
	m_keyent_t *e = &c->ent[c->n++];
	memcpy(e->digest, dg, 32);
	e->flags = flags;
	e->used = true;
	e->key = k;
	return k;
}

dnssec_key_t *model_ksk_key(const model_t *m, const json_t *ksk)
{
	const char *arn = jstr(ksk, "KmsArn");
	m_keycache_t *c = m->keys;
	for (size_t i = 0; arn != NULL && i < c->n_kms; i++)
		if (strcmp(c->arns[i], arn) == 0)
			return c->kms[i];
	return cached_key(c, jstr(ksk, "Pem"), DNSSEC_FLAGS_KSK);
}

dnssec_key_t *model_zsk_key(const model_t *m, const json_t *zsk)
{
	return cached_key(m->keys, jstr(zsk, "Pem"), DNSSEC_FLAGS_ZSK);
}

/* Drop the cached keys no document used since the last sweep began. */
static void keycache_sweep(m_keycache_t *c)
{
	size_t o = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->ent[i].used) {
			c->ent[i].used = false;
			c->ent[o++] = c->ent[i];
		} else {
			dnssec_key_free(c->ent[i].key);
		}
	}
	c->n = o;
}

/* Fill sec for a zone's dnssec document; false when the zone is not signed (no usable
 * active KSK or no active ZSK). Every key stored in sec holds a reference. */
static bool zone_sec(const model_t *m, const json_t *doc, zdb_sec_src_t *sec, bool *nomem)
{
	memset(sec, 0, sizeof(*sec));
	*nomem = false;
	const char *ss = jstr(doc, "ServeSignature");
	if (ss == NULL || strcmp(ss, "SIGNING") != 0)
		return false;
	const json_t *ksks = json_object_get(doc, "KeySigningKeys");
	const json_t *zsks = json_object_get(doc, "ZSKs");
	dnssec_key_t **ksk = calloc(json_array_size(ksks) + 1, sizeof(*ksk));
	dnssec_key_t **pub = calloc(json_array_size(zsks) + 1, sizeof(*pub));
	if (ksk == NULL || pub == NULL) {
		free(ksk);
		free(pub);
		*nomem = true;
		return false;
	}
	sec->ksk = ksk;
	sec->publish = pub;
	size_t i;
	json_t *v;
	json_array_foreach(ksks, i, v) {
		const char *st = jstr(v, "Status");
		dnssec_key_t *k = st && strcmp(st, "ACTIVE") == 0 ? model_ksk_key(m, v) : NULL;
		if (k != NULL)
			ksk[sec->n_ksk++] = dnssec_key_ref(k);
	}
	json_array_foreach(zsks, i, v) {
		const char *st = jstr(v, "State");
		dnssec_key_t *k = model_zsk_key(m, v);
		if (k == NULL || st == NULL)
			continue;
		if (strcmp(st, "active") == 0 && sec->zsk == NULL)
			sec->zsk = dnssec_key_ref(k);
		else
			pub[sec->n_publish++] = dnssec_key_ref(k);
	}
	sec->dnskey_ttl = m->keys->dnskey_ttl;
	return sec->n_ksk > 0 && sec->zsk != NULL;
}

static void sec_clear(zdb_sec_src_t *sec)
{
	for (size_t i = 0; i < sec->n_ksk; i++)
		dnssec_key_free(sec->ksk[i]);
	for (size_t i = 0; i < sec->n_publish; i++)
		dnssec_key_free(sec->publish[i]);
	dnssec_key_free(sec->zsk);
	free((void *)sec->ksk);
	free((void *)sec->publish);
	memset(sec, 0, sizeof(*sec));
}

/* ---- sources of a build ---------------------------------------------------------------- */

static char *src_str(model_sources_t *s, const char *pre, const char *a)
{
	char buf[1200];
	snprintf(buf, sizeof(buf), "%s%s", pre, a);
	char *p = strdup(buf);
	if (p == NULL)
		return NULL;
	char **v = realloc(s->strs, (s->n_strs + 1) * sizeof(*v));
	if (v == NULL) {
		free(p);
		return NULL;
	}
	s->strs = v;
	s->strs[s->n_strs++] = p;
	return p;
}

int model_sources_make(const model_t *m, model_sources_t *s)
{
	memset(s, 0, sizeof(*s));
	s->hold = json_array();
	s->src = calloc(m->n_zones ? m->n_zones : 1, sizeof(*s->src));
	s->sec = calloc(m->n_zones + 1, sizeof(*s->sec)); /* + 1: model_sources_free's bound */
	json_t *checks = json_array();
	s->checks = json_pack("{s:o}", "HealthChecks", checks);
	s->colls = json_array();
	s->deleted_hcs = json_object();
	if (s->hold == NULL || s->src == NULL || s->sec == NULL || s->checks == NULL ||
	    s->colls == NULL || s->deleted_hcs == NULL)
		goto nomem;
	const char *rk;
	json_t *rv;
	json_object_foreach(m->refs, rk, rv) {
		const char *hid = jstr(rv, "Id");
		if (strncmp(rk, "healthcheck/", 12) == 0 && hid != NULL &&
		    json_is_true(json_object_get(rv, "Deleted")) &&
		    json_object_get(m->hcs, hid) == NULL)
			json_object_set_new(s->deleted_hcs, hid, json_true());
	}
	for (size_t i = 0; i < m->n_zones; i++) {
		const m_zone_t *z = m->zones[i];
		if (z->doc == NULL)
			continue;
		const json_t *hz = json_object_get(z->doc, "HostedZone");
		zdb_src_t *o = &s->src[s->n_src];
		o->id = src_str(s, "/hostedzone/", z->id);
		o->name = jstr(hz, "Name");
		o->private_zone = json_is_true(json_object_get(json_object_get(hz, "Config"),
							      "PrivateZone"));
		o->zone_file = jstr(z->doc, "ZoneFile");
		o->vpcs = json_object_get(z->doc, "VPCs");
		o->where = src_str(s, "hosted zone ", z->id);
		o->record_sets_file = src_str(s, "hosted zone ", z->id);
		if (o->id == NULL || o->where == NULL || o->record_sets_file == NULL)
			goto nomem;
		if (o->name == NULL)
			continue;
		json_incref(z->doc);
		if (json_array_append_new(s->hold, z->doc) != 0)
			goto nomem;
		if (z->n_total > 0) {
			json_t *arr = json_array();
			json_t *rs = json_pack("{s:o}", "ResourceRecordSets", arr);
			if (rs == NULL || json_array_append_new(s->hold, rs) != 0)
				goto nomem;
			const char *nm;
			json_t *v;
			json_object_foreach(z->by_name, nm, v) {
				if (json_array_extend(arr, v) != 0)
					goto nomem;
			}
			o->record_sets = rs;
		}
		if (z->dnssec != NULL && !o->private_zone) {
			bool nomem;
			if (zone_sec(m, z->dnssec, &s->sec[s->n_src], &nomem))
				o->dnssec = &s->sec[s->n_src];
			else if (nomem)
				goto nomem;
		}
		s->n_src++;
	}
	const char *id;
	json_t *v;
	json_object_foreach(m->hcs, id, v) {
		if (json_array_append(checks, v) != 0)
			goto nomem;
	}
	keycache_sweep(m->keys);
	json_object_foreach(m->colls, id, v) {
		json_t *c = json_pack("{s:{s:s?,s:s?},s:s,s:{s:O?}}", "CidrCollection", "Id",
				      jstr(json_object_get(v, "Collection"), "Id"), "Name",
				      jstr(json_object_get(v, "Collection"), "Name"), "where",
				      "cidr collection", "cidr_blocks", "CidrBlocks",
				      json_object_get(v, "Blocks"));
		if (c == NULL || json_array_append_new(s->colls, c) != 0)
			goto nomem;
	}
	return ERR_OK;
nomem:
	model_sources_free(s);
	return ERR_NOMEM;
}

void model_sources_free(model_sources_t *s)
{
	for (size_t i = 0; s->sec != NULL && s->src != NULL && i <= s->n_src; i++)
		sec_clear(&s->sec[i]);
	free(s->sec);
	free(s->src);
	json_decref(s->checks);
	json_decref(s->colls);
	json_decref(s->deleted_hcs);
	json_decref(s->hold);
	for (size_t i = 0; i < s->n_strs; i++)
		free(s->strs[i]);
	free(s->strs);
	memset(s, 0, sizeof(*s));
}

/* ---- ids and time ---------------------------------------------------------------------- */

void model_new_id(char *buf, size_t len, const char *prefix, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint8_t r[64];
	if (n > sizeof(r))
		n = sizeof(r);
	if (getrandom(r, n, 0) != (ssize_t)n) {
		for (size_t i = 0; i < n; i++)
			r[i] = (uint8_t)rand();
	}
	size_t o = (size_t)snprintf(buf, len, "%s", prefix);
	for (size_t i = 0; i < n && o + 1 < len; i++)
		buf[o++] = al[r[i] % 36];
	if (o < len)
		buf[o] = '\0';
}

void model_new_uuid(char *buf, size_t len)
{
	uint8_t r[16];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (uint8_t)rand();
	}
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
	snprintf(buf, len,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
		 r[15]);
}

void model_now_iso(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
}

/* ---- import from the configuration ----------------------------------------------------- */

static void sha_hex(const char *s, size_t n, char out[65])
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL);
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Fingerprint of a JSON value (canonical dump) plus an extra string. */
static void fingerprint(const json_t *v, const char *extra, char out[65])
{
	char *d = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	size_t dl = d ? strlen(d) : 0, el = extra ? strlen(extra) : 0;
	char *all = malloc(dl + el + 2);
	if (all == NULL) {
		free(d);
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	if (d)
		memcpy(all, d, dl); /* NOLINT(bugprone-not-null-terminated-result): bytes hashed */
	all[dl] = '\n';
	if (extra)
		memcpy(all + dl + 1, extra, el); /* NOLINT(bugprone-not-null-terminated-result) */
	sha_hex(all, dl + 1 + el, out);
	free(all);
	free(d);
}

static int put_import(model_txn_t *t, const char *kind, const char *id, const char *fp)
{
	char key[300];
	snprintf(key, sizeof(key), "/imports/%s/%s", kind, id);
	return model_txn_put(t, key, json_pack("{s:s}", "Fingerprint", fp));
}

/* Is the fingerprint recorded for KIND/ID different from fp? (false when none recorded) */
static bool import_differs(const model_t *m, const char *kind, const char *id, const char *fp)
{
	char k[300];
	snprintf(k, sizeof(k), "%s/%s", kind, id);
	const char *old = jstr(json_object_get(m->imports, k), "Fingerprint");
	return old != NULL && strcmp(old, fp) != 0;
}

/* A canonical copy of a record set document: Name (and AliasTarget) in Route 53 form. */
static json_t *canon_set(const json_t *src, char *name, size_t namelen)
{
	json_t *d = json_deep_copy(src);
	const char *n = jstr(src, "Name");
	if (d == NULL || n == NULL || r53p_name_canon(n, name, namelen) != ERR_OK) {
		json_decref(d);
		return NULL;
	}
	json_object_set_new(d, "Name", json_string(name));
	json_t *at = json_object_get(d, "AliasTarget");
	if (at != NULL) {
		char tn[1100];
		const char *dn = jstr(at, "DNSName");
		const char *hz = jstr(at, "HostedZoneId");
		if (dn != NULL && r53p_name_canon(dn, tn, sizeof(tn)) == ERR_OK)
			json_object_set_new(at, "DNSName", json_string(tn));
		if (hz != NULL && strncmp(hz, "/hostedzone/", 12) == 0)
			json_object_set_new(at, "HostedZoneId", json_string(hz + 12));
	}
	return d;
}

static const char *bare_zone_id(const char *id)
{
	if (id == NULL)
		return "";
	return strncmp(id, "/hostedzone/", 12) == 0 ? id + 12 : id;
}

/* The import of one configured zone into t. */
static int import_zone(model_t *m, const conf_zone_t *cz, const char *id, bool replace,
		       model_txn_t *t, char *err, size_t errlen)
{
	int ret;
	char key[1400];
	r53_list_t sets = { 0 };
	uint8_t apex[256];
	size_t alen = 0;

	if (r53_name(cz->name, apex, &alen) != ERR_OK) {
		snprintf(err, errlen, "%s: HostedZone.Name \"%s\" is not a domain name", cz->where,
			 cz->name);
		return ERR_INVAL;
	}
	if (replace) {
		/* Drop what the store has for it (a later put of the same key wins). */
		m_zone_t *z = zone_get(m, id, false);
		if (z != NULL) {
			const char *nm;
			json_t *arr;
			json_object_foreach(z->by_name, nm, arr) {
				size_t i;
				json_t *d;
				json_array_foreach(arr, i, d) {
					if (model_key_set(key, sizeof(key), id, nm, jstr(d, "Type"),
							  doc_setid(d)) == ERR_OK &&
					    model_txn_put(t, key, NULL) != ERR_OK)
						return ERR_NOMEM;
				}
			}
		}
	}
	char hid[300];
	snprintf(hid, sizeof(hid), "/hostedzone/%s", id);
	json_t *doc = json_pack("{s:{s:s,s:s,s:s+,s:{s:b}}}", "HostedZone", "Id", hid, "Name",
				cz->name, "CallerReference", "r53d-config-", id, "Config",
				"PrivateZone", cz->private_zone);
	if (doc == NULL)
		return ERR_NOMEM;
	if (cz->vpcs != NULL)
		json_object_set(doc, "VPCs", cz->vpcs);
	if (cz->zone_file != NULL)
		json_object_set_new(doc, "ZoneFile", json_string(cz->zone_file));
	snprintf(key, sizeof(key), "/zones/%s", id);
	ret = model_txn_put(t, key, doc);
	if (ret != ERR_OK)
		return ret;
	if (cz->record_sets != NULL) {
		ret = r53_load(cz->record_sets, cz->record_sets_file ? cz->record_sets_file : cz->where,
			       cz->name, apex, alen, &sets, err, errlen);
		if (ret != ERR_OK)
			goto out;
		for (size_t i = 0; i < sets.n; i++) {
			char name[1100];
			json_t *d = canon_set(sets.v[i].json, name, sizeof(name));
			const char *type = jstr(sets.v[i].json, "Type");
			if (d == NULL || type == NULL ||
			    model_key_set(key, sizeof(key), id, name, type, doc_setid(d)) != ERR_OK) {
				json_decref(d);
				snprintf(err, errlen, "%s: cannot store record set %zu", sets.v[i].where,
					 i);
				ret = ERR_INVAL;
				goto out;
			}
			ret = model_txn_put(t, key, d);
			if (ret != ERR_OK)
				goto out;
		}
	}
	ret = ERR_OK;
out:
	r53_list_deinit(&sets);
	return ret;
}

static json_t *zone_fingerprint_src(const conf_zone_t *cz)
{
	return json_pack("{s:s,s:b,s:O?,s:O?,s:s?}", "name", cz->name, "private",
			 cz->private_zone, "vpcs", cz->vpcs, "record_sets", cz->record_sets,
			 "zone_file", cz->zone_file);
}

static void derive_zone_id(const char *name, char *buf, size_t len)
{
	char h[65];
	char lower[1100];
	size_t i;
	for (i = 0; name[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
	lower[i] = '\0';
	sha_hex(lower, i, h);
	snprintf(buf, len, "Z");
	for (size_t k = 0; k < 20 && k + 2 < len; k++) {
		char c = h[k];
		buf[1 + k] = (char)(c >= 'a' ? c - 32 : c);
		buf[2 + k] = '\0';
	}
}

int model_import(model_t *m, const conf_t *conf, const char *only, model_txn_t *t,
		 void (*warn)(const char *msg), char *err, size_t errlen)
{
	int ret;
	bool matched = false;
	char fp[65], msg[1600];

	for (size_t i = 0; i < conf->n_zones; i++) {
		const conf_zone_t *cz = &conf->zones[i];
		char id[128];
		const char *b = bare_zone_id(cz->id);
		if (b[0] != '\0')
			snprintf(id, sizeof(id), "%s", b);
		else
			derive_zone_id(cz->name, id, sizeof(id));
		json_t *src = zone_fingerprint_src(cz);
		fingerprint(src, NULL, fp);
		json_decref(src);
		bool have = zone_get(m, id, false) != NULL &&
			    zone_get(m, id, false)->doc != NULL;
		bool want = only ? strcmp(only, id) == 0 : !have;
		if (only != NULL && strcmp(only, id) == 0)
			matched = true;
		if (!want) {
			if (have && only == NULL && import_differs(m, "zone", id, fp) && warn) {
				snprintf(msg, sizeof(msg),
					 "%s: hosted zone %s (%s) changed in the configuration since it was imported; the stored copy is served (r53d --reimport %s takes the file's)",
					 cz->where, id, cz->name, id);
				warn(msg);
			}
			continue;
		}
		ret = import_zone(m, cz, id, have, t, err, errlen);
		if (ret == ERR_OK)
			ret = put_import(t, "zone", id, fp);
		if (ret != ERR_OK)
			return ret;
	}

	size_t n;
	json_t *hc;
	json_array_foreach(json_object_get(conf->health_checks, "HealthChecks"), n, hc) {
		const char *id = jstr(hc, "Id");
		if (id == NULL)
			continue;
		fingerprint(hc, NULL, fp);
		bool have = json_object_get(m->hcs, id) != NULL;
		bool want = only ? strcmp(only, id) == 0 : !have;
		if (only != NULL && strcmp(only, id) == 0)
			matched = true;
		if (!want) {
			if (have && only == NULL && import_differs(m, "healthcheck", id, fp) && warn) {
				snprintf(msg, sizeof(msg),
					 "%s: health check %s changed in the configuration since it was imported; the stored copy is used (r53d --reimport %s takes the file's)",
					 conf->health_checks_file ? conf->health_checks_file : conf->path,
					 id, id);
				warn(msg);
			}
			continue;
		}
		json_t *d = json_deep_copy(hc);
		if (d == NULL)
			return ERR_NOMEM;
		if (json_object_get(d, "CallerReference") == NULL)
			json_object_set_new(d, "CallerReference", json_sprintf("r53d-config-%s", id));
		if (json_object_get(d, "HealthCheckVersion") == NULL)
			json_object_set_new(d, "HealthCheckVersion", json_integer(1));
		char key[300];
		snprintf(key, sizeof(key), "/healthchecks/%s", id);
		ret = model_txn_put(t, key, d);
		if (ret == ERR_OK)
			ret = put_import(t, "healthcheck", id, fp);
		if (ret != ERR_OK)
			return ret;
	}

	json_t *cc;
	json_array_foreach(conf->cidr_collections, n, cc) {
		const json_t *c = json_object_get(cc, "CidrCollection");
		const char *id = jstr(c, "Id"), *name = jstr(c, "Name");
		if (id == NULL || name == NULL)
			continue;
		const json_t *blocks = json_object_get(json_object_get(cc, "cidr_blocks"),
						       "CidrBlocks");
		json_t *fsrc = json_pack("{s:s,s:O?}", "name", name, "blocks", blocks);
		fingerprint(fsrc, NULL, fp);
		json_decref(fsrc);
		bool have = json_object_get(m->colls, id) != NULL;
		bool want = only ? strcmp(only, id) == 0 : !have;
		if (only != NULL && strcmp(only, id) == 0)
			matched = true;
		if (!want) {
			if (have && only == NULL && import_differs(m, "cidrcollection", id, fp) &&
			    warn) {
				snprintf(msg, sizeof(msg),
					 "%s: CIDR collection %s changed in the configuration since it was imported; the stored copy is used (r53d --reimport %s takes the file's)",
					 conf->path, id, id);
				warn(msg);
			}
			continue;
		}
		json_t *blk = json_array();
		size_t k;
		json_t *bv;
		json_array_foreach(blocks, k, bv) {
			json_array_append_new(blk, json_pack("{s:s?,s:s?}", "CidrBlock",
							     jstr(bv, "CidrBlock"), "LocationName",
							     jstr(bv, "LocationName")));
		}
		json_t *d = json_pack("{s:{s:s+,s:s,s:s,s:i},s:s+,s:o}", "Collection", "Arn",
				      "arn:aws:route53:::cidrcollection/", id, "Id", id, "Name", name,
				      "Version", 1, "CallerReference", "r53d-config-", id, "Blocks",
				      blk);
		char key[300];
		snprintf(key, sizeof(key), "/cidrcollections/%s", id);
		ret = d ? model_txn_put(t, key, d) : ERR_NOMEM;
		if (ret == ERR_OK)
			ret = put_import(t, "cidrcollection", id, fp);
		if (ret != ERR_OK)
			return ret;
	}
	if (only != NULL && !matched) {
		snprintf(err, errlen, "%s: no hosted zone, health check or CIDR collection with Id %s",
			 conf->path, only);
		return ERR_NOTFOUND;
	}
	return ERR_OK;
}

/* ---- export ---------------------------------------------------------------------------- */

static int write_json(const char *dir, const char *file, json_t *v, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (v == NULL || json_dump_file(v, path, JSON_INDENT(4)) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, v ? strerror(errno) : "no memory");
		json_decref(v);
		return ERR_IO;
	}
	json_decref(v);
	return ERR_OK;
}

int model_export(const model_t *m, const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return ERR_IO;
	}
	json_t *zones = json_array();
	json_t *conf_zones = json_array();
	int ret = ERR_OK;
	for (size_t i = 0; i < m->n_zones && ret == ERR_OK; i++) {
		m_zone_t *z = model_zone(m, m->zones[i]->id);
		if (z == NULL)
			continue;
		json_t *sets = json_array();
		json_t *fs = model_zone_file_sets(z, err, errlen);
		if (jstr(z->doc, "ZoneFile") != NULL && fs == NULL) {
			json_decref(sets);
			ret = ERR_IO;
			break;
		}
		/* Merge the zone file's sets (sorted) with the stored ones (sorted). */
		size_t a = 0, nb = json_array_size(fs);
		for (size_t k = 0; k < z->n_sets || a < nb;) {
			json_t *f = a < nb ? json_array_get(fs, a) : NULL;
			bool take_file = false;
			if (f != NULL && k < z->n_sets) {
				char rk[1100];
				r53p_name_rev(jstr(f, "Name"), rk, sizeof(rk));
				m_set_t key = { .rkey = rk, .type = jstr(f, "Type"), .setid = NULL };
				take_file = cmp_view(&key, &z->sets[k]) < 0;
			} else {
				take_file = f != NULL;
			}
			if (take_file) {
				json_array_append(sets, f);
				a++;
			} else {
				json_array_append(sets, z->sets[k].doc);
				k++;
			}
		}
		json_t *hz = json_deep_copy(json_object_get(z->doc, "HostedZone"));
		json_object_set_new(hz, "ResourceRecordSetCount",
				    json_integer((json_int_t)json_array_size(sets)));
		json_array_append(zones, hz);
		char file[300], gfile[300];
		snprintf(file, sizeof(file), "list-resource-record-sets-%s.json", z->id);
		snprintf(gfile, sizeof(gfile), "get-hosted-zone-%s.json", z->id);
		json_t *get = json_pack("{s:O}", "HostedZone", hz);
		if (json_object_get(z->doc, "VPCs"))
			json_object_set(get, "VPCs", json_object_get(z->doc, "VPCs"));
		json_decref(hz);
		ret = write_json(dir, gfile, get, err, errlen);
		if (ret == ERR_OK)
			ret = write_json(dir, file, json_pack("{s:o}", "ResourceRecordSets", sets),
					 err, errlen);
		else
			json_decref(sets);
		json_array_append_new(conf_zones, json_pack("{s:s,s:s}", "HostedZone", gfile,
							    "record_sets", file));
	}
	if (ret == ERR_OK)
		ret = write_json(dir, "list-hosted-zones.json",
				 json_pack("{s:O,s:b,s:s}", "HostedZones", zones, "IsTruncated", 0,
					   "MaxItems", "100"),
				 err, errlen);
	json_decref(zones);
	json_t *hcs = json_array();
	const char *id;
	json_t *v;
	json_object_foreach(m->hcs, id, v) {
		json_array_append(hcs, v);
	}
	if (ret == ERR_OK)
		ret = write_json(dir, "list-health-checks.json",
				 json_pack("{s:O,s:b,s:s}", "HealthChecks", hcs, "IsTruncated", 0,
					   "MaxItems", "100"),
				 err, errlen);
	json_t *colls = json_array();
	json_object_foreach(m->colls, id, v) {
		char file[300];
		snprintf(file, sizeof(file), "list-cidr-blocks-%s.json", id);
		if (ret == ERR_OK)
			ret = write_json(dir, file,
					 json_pack("{s:O?}", "CidrBlocks", json_object_get(v, "Blocks")),
					 err, errlen);
		const json_t *c = json_object_get(v, "Collection");
		json_array_append_new(colls, json_pack("{s:{s:s?,s:s?},s:s}", "CidrCollection", "Id",
						       jstr(c, "Id"), "Name", jstr(c, "Name"),
						       "cidr_blocks", file));
	}
	json_t *conf = json_pack("{s:o,s:s,s:o}", "hosted_zones", conf_zones, "health_checks",
				 "list-health-checks.json", "cidr_collections", colls);
	json_decref(hcs);
	if (ret == ERR_OK)
		ret = write_json(dir, "hosted-zones.json", conf, err, errlen);
	else
		json_decref(conf);
	return ret;
}
