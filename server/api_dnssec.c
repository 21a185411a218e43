/* SPDX-License-Identifier: MIT */
/*
 * api_dnssec.c -- the Route 53 DNSSEC operations: key-signing keys (Create, Activate,
 * Deactivate, Delete), EnableHostedZoneDNSSEC, DisableHostedZoneDNSSEC and GetDNSSEC.
 *
 * Everything a zone's signing needs is one document, /zones/ID/dnssec (model.h). Every
 * write replaces it in a model transaction with a ChangeInfo, like ChangeResourceRecordSets:
 * the change is PENDING until the snapshot that serves it is published (INSYNC then).
 * Private keys ("Pem") stay in that document: responses are built field by field from the
 * public half (dnssec_key_present), never by copying the document.
 */
#include "api_int.h"
#include "dnssec.h"
#include "err.h"
#include "log.h"

#include <event2/http.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KSK_MAX 2 /* key-signing keys per zone (Route 53's limit) */

/* ---- helpers --------------------------------------------------------------------------- */

static bool zone_is_private(const m_zone_t *z)
{
	return json_is_true(json_object_get(json_object_get(api_zone_hz(z), "Config"),
					    "PrivateZone"));
}

/* The zone's apex as an uncompressed wire name into buf (256 bytes). */
static bool apex_wire(const m_zone_t *z, uint8_t buf[256])
{
	const char *name = api_jstr(api_zone_hz(z), "Name");
	ldns_rdf *r = NULL;
	if (name == NULL || ldns_str2rdf_dname(&r, name) != LDNS_STATUS_OK || r == NULL)
		return false;
	size_t n = ldns_rdf_size(r);
	bool ok = n <= 255;
	if (ok)
		memcpy(buf, ldns_rdf_data(r), n);
	ldns_rdf_deep_free(r);
	return ok;
}

/* A writable copy of the zone's dnssec document (a new, unsigned one when it has none). */
static json_t *doc_copy(const m_zone_t *z)
{
	const json_t *d = model_zone_dnssec(z);
	if (d != NULL)
		return json_deep_copy(d);
	return json_pack("{s:s,s:[],s:[]}", "ServeSignature", "NOT_SIGNING", "KeySigningKeys",
			 "ZSKs");
}

static bool doc_signing(const json_t *d)
{
	const char *s = api_jstr(d, "ServeSignature");
	return s != NULL && strcmp(s, "SIGNING") == 0;
}

/* The KSK entry named name in doc, or NULL (*idx its index). */
static json_t *ksk_find(const json_t *doc, const char *name, size_t *idx)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doc, "KeySigningKeys"), i, v) {
		const char *n = api_jstr(v, "Name");
		if (n != NULL && name != NULL && strcmp(n, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return v;
		}
	}
	return NULL;
}

/* Number of KSKs of doc whose status is ACTIVE (and, when usable, whose key this node has). */
static size_t ksk_active(const api_call_t *c, const json_t *doc, bool usable)
{
	size_t i, n = 0;
	json_t *v;
	json_array_foreach(json_object_get(doc, "KeySigningKeys"), i, v) {
		const char *st = api_jstr(v, "Status");
		if (st != NULL && strcmp(st, "ACTIVE") == 0 &&
		    (!usable || model_ksk_key(c->m, v) != NULL))
			n++;
	}
	return n;
}

/* Put doc as the zone's dnssec document in a new transaction (deleted when it says
 * nothing: not signing, no KSK), with a ChangeInfo; the response is {ChangeInfo}.
 * Takes doc. */
static int submit_doc(api_call_t *c, const m_zone_t *z, json_t *doc, const char *root,
		      json_t *extra_name_ksk)
{
	char key[300];
	model_txn_t *t = model_txn_new(c->m);
	if (t == NULL) {
		json_decref(doc);
		json_decref(extra_name_ksk);
		return api_fail(c, 500, "InternalFailure", "out of memory");
	}
	snprintf(key, sizeof(key), "/zones/%s/dnssec", z->id);
	if (doc != NULL && !doc_signing(doc) &&
	    json_array_size(json_object_get(doc, "KeySigningKeys")) == 0) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc != NULL || model_zone_dnssec(z) != NULL)
		model_txn_put(t, key, doc);
	json_t *ci = api_change_new(c, t, NULL);
	if (ci == NULL) {
		model_txn_free(t);
		json_decref(extra_name_ksk);
		return api_fail(c, 500, "InternalFailure", "out of memory");
	}
	c->out = json_pack("{s:o}", "ChangeInfo", ci);
	if (extra_name_ksk != NULL)
		json_object_set_new(c->out, "KeySigningKey", extra_name_ksk);
	c->root = root;
	return api_submit(c, t, "InvalidInput");
}

/* A KSK as GetDNSSEC shows it, in model order; never the private key. */
static json_t *ksk_out(const api_call_t *c, const m_zone_t *z, const json_t *k)
{
	json_t *o = json_pack("{s:s?,s:s?}", "Name", api_jstr(k, "Name"), "KmsArn",
			      api_jstr(k, "KmsArn"));
	if (o == NULL)
		return NULL;
	const dnssec_key_t *key = model_ksk_key(c->m, k);
	uint8_t owner[256];
	dnssec_present_t p;
	bool have = key != NULL && apex_wire(z, owner) &&
		    dnssec_key_present(key, owner, &p) == ERR_OK;
	if (have) {
		json_object_set_new(o, "Flag", json_integer(p.flag));
		json_object_set_new(o, "SigningAlgorithmMnemonic",
				    json_string(p.signing_alg_mnemonic));
		json_object_set_new(o, "SigningAlgorithmType", json_integer(p.signing_alg_type));
		json_object_set_new(o, "DigestAlgorithmMnemonic",
				    json_string(p.digest_alg_mnemonic));
		json_object_set_new(o, "DigestAlgorithmType", json_integer(p.digest_alg_type));
		json_object_set_new(o, "KeyTag", json_integer(p.key_tag));
		json_object_set_new(o, "DigestValue", json_string(p.digest_value));
		json_object_set_new(o, "PublicKey", json_string(p.public_key));
		json_object_set_new(o, "DSRecord", json_string(p.ds_record));
		json_object_set_new(o, "DNSKEYRecord", json_string(p.dnskey_record));
		json_object_set_new(o, "Status", json_string(api_jstr(k, "Status")
								     ? api_jstr(k, "Status")
								     : "INACTIVE"));
	} else {
		json_object_set_new(o, "Status", json_string("ACTION_NEEDED"));
		json_object_set_new(o, "StatusMessage",
				    json_string("The key of this KeyManagementServiceArn is not "
						"available: map the ARN to a key file in "
						"dnssec.kms_keys of the r53d configuration."));
	}
	if (api_jstr(k, "CreatedDate") != NULL)
		json_object_set(o, "CreatedDate", json_object_get(k, "CreatedDate"));
	if (api_jstr(k, "LastModifiedDate") != NULL)
		json_object_set(o, "LastModifiedDate", json_object_get(k, "LastModifiedDate"));
	return o;
}

/* The zone for a KSK operation's HostedZoneId: exists and is public. */
static m_zone_t *ksk_zone(api_call_t *c, const char *hzid)
{
	char id[256];
	snprintf(id, sizeof(id), "%s", hzid ? hzid : "");
	api_strip_prefix(id);
	m_zone_t *z = api_need_zone(c, id);
	if (z != NULL && zone_is_private(z)) {
		api_fail(c, 400, "InvalidArgument",
			 "Operation is unsupported for private hosted zones: %s", id);
		return NULL;
	}
	return z;
}

/* The zone of an operation on an existing KSK (Activate, Deactivate, Delete): exists and is
 * public. Their model lists no NoSuchHostedZone, so an unknown zone is NoSuchKeySigningKey:
 * the Go SDK v2 types only the codes an operation's model lists (others become a generic
 * error), and Terraform takes only a typed NoSuchKeySigningKey from Deactivate for "already
 * gone": NoSuchHostedZone would fail the destroy of a key whose zone was deleted. */
static m_zone_t *ksk_key_zone(api_call_t *c)
{
	char id[sizeof(c->path[0])];
	snprintf(id, sizeof(id), "%s", c->path[0]);
	api_strip_prefix(id);
	if (model_zone(c->m, id) == NULL) {
		api_fail(c, 404, "NoSuchKeySigningKey",
			 "No key-signing key named %s in hosted zone %s: no such hosted zone",
			 c->path[1], id);
		return NULL;
	}
	return ksk_zone(c, c->path[0]);
}

/* Name: 3..128 letters, digits, underscores and hyphens. The API reference names letters,
 * digits and underscores, but Terraform's acceptance tests name their KSKs
 * "tf-acc-test-<n>" and pass against Route 53, so hyphens are accepted there. */
static bool ksk_name_ok(const char *n)
{
	size_t l = n ? strlen(n) : 0;
	if (l < 3 || l > 128)
		return false;
	for (size_t i = 0; i < l; i++) {
		char ch = n[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID (a customer managed key). */
static bool kms_arn_ok(const char *a)
{
	if (a == NULL || strlen(a) > 2048)
		return false;
	char buf[2100];
	snprintf(buf, sizeof(buf), "%s", a);
	char *f[6];
	char *p = buf;
	for (int i = 0; i < 5; i++) {
		char *colon = strchr(p, ':');
		if (colon == NULL)
			return false;
		*colon = '\0';
		f[i] = p;
		p = colon + 1;
	}
	f[5] = p;
	if (strcmp(f[0], "arn") != 0 || strncmp(f[1], "aws", 3) != 0 || strcmp(f[2], "kms") != 0 ||
	    f[3][0] == '\0' || strlen(f[4]) != 12 || strncmp(f[5], "key/", 4) != 0 ||
	    f[5][4] == '\0' || strchr(f[5] + 4, '/') != NULL)
		return false;
	for (const char *d = f[4]; *d; d++)
		if (*d < '0' || *d > '9')
			return false;
	return true;
}

/* A new key's PEM as a JSON string (the text wiped after the copy). */
static json_t *new_pem(uint16_t flags, dnssec_key_t **keep)
{
	dnssec_key_t *k = NULL;
	char *pem = NULL;
	json_t *s = NULL;
	if (dnssec_key_generate(&k, flags) == ERR_OK && dnssec_key_to_pem(k, &pem, NULL) == ERR_OK)
		s = json_string(pem);
	dnssec_pem_free(pem);
	if (keep != NULL && s != NULL)
		*keep = k;
	else
		dnssec_key_free(k);
	return s;
}

/* ---- operations ------------------------------------------------------------------------ */

int api_create_ksk(api_call_t *c)
{
	if (!api_body_is(c, "CreateKeySigningKeyRequest"))
		return API_DONE;
	const char *ref = api_jstr(c->body, "CallerReference");
	const char *hz = api_jstr(c->body, "HostedZoneId");
	const char *arn = api_jstr(c->body, "KeyManagementServiceArn");
	const char *name = api_jstr(c->body, "Name");
	const char *status = api_jstr(c->body, "Status");
	if (ref == NULL || ref[0] == '\0' || strlen(ref) > 128 || hz == NULL || arn == NULL ||
	    name == NULL || status == NULL)
		return api_fail(c, 400, "InvalidInput",
				"CallerReference (1..128 characters), HostedZoneId, "
				"KeyManagementServiceArn, Name and Status are required");
	m_zone_t *z = ksk_zone(c, hz);
	if (z == NULL)
		return API_DONE;
	if (!ksk_name_ok(name))
		return api_fail(c, 400, "InvalidKeySigningKeyName",
				"The key-signing key name is not valid: 3 to 128 letters, digits, "
				"underscores and hyphens");
	if (strcmp(status, "ACTIVE") != 0 && strcmp(status, "INACTIVE") != 0)
		return api_fail(c, 400, "InvalidKeySigningKeyStatus",
				"Status must be ACTIVE or INACTIVE");
	if (!kms_arn_ok(arn))
		return api_fail(c, 400, "InvalidKMSArn",
				"The KeyManagementServiceArn is not valid: expected "
				"arn:aws:kms:REGION:ACCOUNT:key/KEY-ID");
	json_t *doc = doc_copy(z);
	if (doc == NULL)
		return api_fail(c, 500, "InternalFailure", "out of memory");
	json_t *ksks = json_object_get(doc, "KeySigningKeys");
	if (ksks == NULL) {
		ksks = json_array();
		json_object_set_new(doc, "KeySigningKeys", ksks);
	}
	size_t i;
	json_t *v;
	json_array_foreach(ksks, i, v) {
		const char *n = api_jstr(v, "Name"), *a = api_jstr(v, "KmsArn");
		if ((n != NULL && strcmp(n, name) == 0) || (a != NULL && strcmp(a, arn) == 0)) {
			json_decref(doc);
			return api_fail(c, 409, "KeySigningKeyAlreadyExists",
					"A key-signing key with the name %s or the "
					"KeyManagementServiceArn %s already exists in zone %s",
					name, arn, z->id);
		}
	}
	if (json_array_size(ksks) >= KSK_MAX) {
		json_decref(doc);
		return api_fail(c, 400, "TooManyKeySigningKeys",
				"A hosted zone has at most %d key-signing keys", KSK_MAX);
	}
	char now[40];
	model_now_iso(now, sizeof(now));
	json_t *k = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", name, "KmsArn", arn, "Status",
			      status, "CreatedDate", now, "LastModifiedDate", now);
	if (k == NULL) {
		json_decref(doc);
		return api_fail(c, 500, "InternalFailure", "out of memory");
	}
	/* The user's key when the configuration maps the ARN; else one of r53d's own. */
	if (conf_kms_key(&api_conf(c)->dnssec, arn) == NULL) {
		json_t *pem = new_pem(DNSSEC_FLAGS_KSK, NULL);
		if (pem == NULL) {
			json_decref(k);
			json_decref(doc);
			return api_fail(c, 500, "InternalFailure", "cannot generate a key");
		}
		json_object_set_new(k, "Pem", pem);
	}
	json_array_append(ksks, k);
	json_t *out = ksk_out(c, z, k);
	json_decref(k);
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
	char *enc = evhttp_uriencode(name, -1, 0);
	snprintf(c->location, sizeof(c->location),
		 "http://%s/2013-04-01/keysigningkey/%s/%s", host ? host : "route53.amazonaws.com",
		 z->id, enc ? enc : name);
	free(enc);
	c->status = 201;
	log_msg(LOG_INFO, "dnssec: zone %s: key-signing key %s created (%s)", z->id, name,
		status);
	return submit_doc(c, z, doc, "CreateKeySigningKeyResponse", out);
}

/* A writable copy of the dnssec document of z holding the KSK the path names (*k, at *idx),
 * or NULL with the error answered (NoSuchKeySigningKey, out of memory). */
static json_t *ksk_doc(api_call_t *c, const m_zone_t *z, json_t **k, size_t *idx)
{
	json_t *doc = doc_copy(z);
	if (doc == NULL) {
		api_fail(c, 500, "InternalFailure", "out of memory");
		return NULL;
	}
	*k = ksk_find(doc, c->path[1], idx);
	if (*k == NULL || model_zone_dnssec(z) == NULL) {
		json_decref(doc);
		api_fail(c, 404, "NoSuchKeySigningKey", "No key-signing key named %s in hosted zone %s",
			 c->path[1], z->id);
		return NULL;
	}
	return doc;
}

/* Activate (true) or deactivate a KSK. */
static int ksk_set_status(api_call_t *c, bool active)
{
	m_zone_t *z = ksk_key_zone(c);
	if (z == NULL)
		return API_DONE;
	const char *root = active ? "ActivateKeySigningKeyResponse"
				  : "DeactivateKeySigningKeyResponse";
	json_t *k = NULL;
	json_t *doc = ksk_doc(c, z, &k, NULL);
	if (doc == NULL)
		return API_DONE;
	const char *st = api_jstr(k, "Status");
	bool was = st != NULL && strcmp(st, "ACTIVE") == 0;
	if (!active && was && doc_signing(doc) && ksk_active(c, doc, false) <= 1) {
		json_decref(doc);
		return api_fail(c, 400, "KeySigningKeyInUse",
				"The key-signing key %s is the only active one of hosted zone %s, "
				"which is signed: disable DNSSEC signing, or add or activate another "
				"key-signing key first",
				c->path[1], z->id);
	}
	char now[40];
	model_now_iso(now, sizeof(now));
	json_object_set_new(k, "Status", json_string(active ? "ACTIVE" : "INACTIVE"));
	json_object_set_new(k, "LastModifiedDate", json_string(now));
	log_msg(LOG_INFO, "dnssec: zone %s: key-signing key %s %s", z->id, c->path[1],
		active ? "activated" : "deactivated");
	return submit_doc(c, z, doc, root, NULL);
}

int api_activate_ksk(api_call_t *c)
{
	return ksk_set_status(c, true);
}

int api_deactivate_ksk(api_call_t *c)
{
	return ksk_set_status(c, false);
}

int api_delete_ksk(api_call_t *c)
{
	m_zone_t *z = ksk_key_zone(c);
	if (z == NULL)
		return API_DONE;
	size_t idx = 0;
	json_t *k = NULL;
	json_t *doc = ksk_doc(c, z, &k, &idx);
	if (doc == NULL)
		return API_DONE;
	const char *st = api_jstr(k, "Status");
	if (st == NULL || strcmp(st, "INACTIVE") != 0) {
		api_fail(c, 400, "InvalidKeySigningKeyStatus",
			 "The key-signing key %s is %s: deactivate it before deleting it", c->path[1],
			 st ? st : "not inactive");
		json_decref(doc); /* after the message: st points into it */
		return API_DONE;
	}
	json_array_remove(json_object_get(doc, "KeySigningKeys"), idx);
	log_msg(LOG_INFO, "dnssec: zone %s: key-signing key %s deleted", z->id, c->path[1]);
	return submit_doc(c, z, doc, "DeleteKeySigningKeyResponse", NULL);
}

int api_enable_dnssec(api_call_t *c)
{
	m_zone_t *z = ksk_zone(c, c->path[0]);
	if (z == NULL)
		return API_DONE;
	json_t *doc = doc_copy(z);
	if (doc == NULL)
		return api_fail(c, 500, "InternalFailure", "out of memory");
	if (ksk_active(c, doc, false) == 0) {
		json_decref(doc);
		return api_fail(c, 400, "KeySigningKeyWithActiveStatusNotFound",
				"Hosted zone %s has no key-signing key with status ACTIVE", z->id);
	}
	if (ksk_active(c, doc, true) == 0) {
		json_decref(doc);
		return api_fail(c, 400, "InvalidKMSArn",
				"No active key-signing key of hosted zone %s has a key available: "
				"map its KeyManagementServiceArn in dnssec.kms_keys",
				z->id);
	}
	json_t *zsks = json_object_get(doc, "ZSKs");
	if (zsks == NULL) {
		zsks = json_array();
		json_object_set_new(doc, "ZSKs", zsks);
	}
	bool have_active = false;
	size_t i;
	json_t *v;
	json_array_foreach(zsks, i, v) {
		const char *st = api_jstr(v, "State");
		if (st != NULL && strcmp(st, "active") == 0 && model_zsk_key(c->m, v) != NULL)
			have_active = true;
	}
	if (!have_active) {
		dnssec_key_t *k = NULL;
		json_t *pem = new_pem(DNSSEC_FLAGS_ZSK, &k);
		if (pem == NULL) {
			json_decref(doc);
			return api_fail(c, 500, "InternalFailure", "cannot generate a key");
		}
		json_array_clear(zsks);
		json_array_append_new(zsks, json_pack("{s:o,s:s,s:I}", "Pem", pem, "State", "active",
						      "Since", (json_int_t)time(NULL)));
		log_msg(LOG_INFO, "dnssec: zone %s: zone-signing key %u made, active", z->id,
			(unsigned)dnssec_key_tag(k));
		dnssec_key_free(k);
	}
	json_object_set_new(doc, "ServeSignature", json_string("SIGNING"));
	log_msg(LOG_INFO, "dnssec: zone %s: signing enabled", z->id);
	return submit_doc(c, z, doc, "EnableHostedZoneDNSSECResponse", NULL);
}

int api_disable_dnssec(api_call_t *c)
{
	m_zone_t *z = ksk_zone(c, c->path[0]);
	if (z == NULL)
		return API_DONE;
	json_t *doc = doc_copy(z);
	if (doc == NULL)
		return api_fail(c, 500, "InternalFailure", "out of memory");
	json_object_set_new(doc, "ServeSignature", json_string("NOT_SIGNING"));
	json_object_set_new(doc, "ZSKs", json_array());
	if (model_zone_dnssec(z) != NULL)
		log_msg(LOG_INFO, "dnssec: zone %s: signing disabled", z->id);
	return submit_doc(c, z, doc, "DisableHostedZoneDNSSECResponse", NULL);
}

int api_get_dnssec(api_call_t *c)
{
	m_zone_t *z = api_need_zone(c, c->path[0]);
	if (z == NULL)
		return API_DONE;
	const json_t *doc = model_zone_dnssec(z);
	json_t *ksks = json_array();
	json_t *status = json_object();
	if (ksks == NULL || status == NULL) {
		json_decref(ksks);
		json_decref(status);
		return api_fail(c, 500, "InternalFailure", "out of memory");
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doc, "KeySigningKeys"), i, v) {
		json_t *o = ksk_out(c, z, v);
		if (o != NULL)
			json_array_append_new(ksks, o);
	}
	bool zsk = false;
	json_array_foreach(json_object_get(doc, "ZSKs"), i, v) {
		const char *st = api_jstr(v, "State");
		if (st != NULL && strcmp(st, "active") == 0 && model_zsk_key(c->m, v) != NULL)
			zsk = true;
	}
	if (doc == NULL || !doc_signing(doc) || zone_is_private(z)) {
		json_object_set_new(status, "ServeSignature", json_string("NOT_SIGNING"));
	} else if (ksk_active(c, doc, true) > 0 && zsk) {
		json_object_set_new(status, "ServeSignature", json_string("SIGNING"));
	} else {
		json_object_set_new(status, "ServeSignature", json_string("ACTION_NEEDED"));
		json_object_set_new(status, "StatusMessage",
				    json_string("No active key-signing key of this zone has a key "
						"available to r53d (dnssec.kms_keys); the zone is "
						"served unsigned."));
	}
	c->out = json_pack("{s:o,s:o}", "Status", status, "KeySigningKeys", ksks);
	c->root = "GetDNSSECResponse";
	return API_DONE;
}
