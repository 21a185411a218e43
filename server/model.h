/* SPDX-License-Identifier: MIT */
/*
 * model.h -- the Route 53 resources as the API sees them, mirrored in the store.
 *
 * Every resource is a JSON document in the shape the AWS CLI prints, kept in memory and
 * stored under one key of the store's flat key space:
 *
 *   /zones/ID                          {"HostedZone": {Id, Name, CallerReference, Config,
 *                                        ResourceRecordSetCount}, "DelegationSet": {...} |
 *                                        "VPCs": [...], "ZoneFile": PATH?, "Serial": N}
 *   /zones/ID/rrsets/NAME/TYPE         a simple ResourceRecordSet (NAME canonical, r53present.h)
 *   /zones/ID/rrsets/NAME/TYPE/SETID   a routed one (SETID percent-encoded: '/', '%')
 *   /zones/ID/tags                     [{"Key", "Value"}]
 *   /zones/ID/dnssec                   {"ServeSignature": "SIGNING" | "NOT_SIGNING",
 *                                        "KeySigningKeys": [{Name, KmsArn, Status ("ACTIVE" |
 *                                        "INACTIVE"), CreatedDate, LastModifiedDate, "Pem"?}],
 *                                        "ZSKs": [{"Pem", "State": "published" | "active" |
 *                                        "retired", "Since": epoch seconds}]}. "Pem" (PKCS#8,
 *                                        private) is there for keys r53d made: every ZSK, a
 *                                        KSK whose KmsArn dnssec.kms_keys did not map when it
 *                                        was created. It never leaves r53d: no API response,
 *                                        admin output, export, log line or error holds it
 *   /healthchecks/ID                   HealthCheck {Id, CallerReference, HealthCheckConfig,
 *                                        HealthCheckVersion}
 *   /healthchecks/ID/tags              [{"Key", "Value"}]
 *   /cidrcollections/ID                {"Collection": {Arn, Id, Name, Version},
 *                                        "CallerReference", "Blocks": [{CidrBlock,
 *                                        LocationName}]}
 *   /changes/ID                        ChangeInfo {Id, Status, SubmittedAt, Comment?}
 *   /callerrefs/KIND/REF               {"Id", "Deleted": bool}  (KIND hostedzone,
 *                                        healthcheck, cidrcollection; REF percent-encoded)
 *   /imports/KIND/ID                   {"Fingerprint": hex}: what the configuration file
 *                                        said when the resource was imported from it
 *   /hcstate/ID                        the health check's checker state (hc_state_export:
 *                                        {"Status", "Checkers": [...]}), written by the
 *                                        daemon about once a second; may outlive the check
 *
 * IDs in keys are bare ("Z0123...", a health check UUID, "C0123..."). Documents held by the
 * model are never modified in place: a change replaces the document, so a reader (the loader
 * thread building a snapshot) may hold references to them.
 *
 * Writes go through transactions: model_txn_* collects key/document pairs; apply changes the
 * in-memory model at once (so that the snapshot build sees the new state), commit writes the
 * same pairs to the store, rollback puts the old documents back. The daemon serialises
 * transactions: one is applied-but-not-committed at a time.
 *
 * Thread notes: control thread only, except model_sources_*, whose result the loader reads.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"
#include "zdb.h"

/** One record set of a zone in the sorted view (borrowed from the zone's documents). */
typedef struct m_set {
	const char *name;  /**< canonical name ("www.example.com.", "\\052.example.com.") */
	const char *type;  /**< type mnemonic ("A") */
	const char *setid; /**< SetIdentifier, or NULL */
	char *rkey;        /**< the name with its labels reversed (r53p_name_rev), owned */
	json_t *doc;       /**< the ResourceRecordSet (borrowed from by_name) */
} m_set_t;

/** One hosted zone. */
typedef struct m_zone {
	char *id;          /**< bare Id */
	json_t *doc;       /**< the /zones/ID document (owned reference); NULL while only
			        record sets of it have been read (store order) */
	json_t *by_name;   /**< canonical name -> array of its ResourceRecordSet documents */
	size_t n_total;    /**< number of record sets (stored; not the zone file's) */
	m_set_t *sets;     /**< sorted view in ListResourceRecordSets order: valid after
			        model_zone() returned the zone, until the next change */
	size_t n_sets, cap_sets;
	bool dirty;        /**< the sorted view must be rebuilt */
	json_t *tags;      /**< tag array (owned), or NULL */
	json_t *file_sets; /**< cache: the zone file's record sets, sorted (ZoneFile zones) */
	json_t *dnssec;    /**< the /zones/ID/dnssec document (owned), or NULL */
} m_zone_t;

struct dnssec_key;
typedef struct m_keycache m_keycache_t;

typedef struct model {
	store_t *store;    /**< where everything is kept (borrowed) */
	m_zone_t **zones;  /**< zones sorted by Id */
	size_t n_zones, cap_zones;
	json_t *hcs;       /**< Id -> HealthCheck document */
	json_t *hc_tags;   /**< Id -> tag array */
	json_t *colls;     /**< Id -> collection document */
	json_t *changes;   /**< Id -> ChangeInfo document */
	json_t *change_gen; /**< Id -> integer: the snapshot generation that serves it (memory
			         only; absent: served since start-up) */
	json_t *refs;      /**< "KIND/REF" -> {"Id", "Deleted"} */
	json_t *imports;   /**< "KIND/ID" -> {"Fingerprint"} */
	json_t *hc_state;  /**< health check Id -> its checker state (hc_state_import input) */
	json_t *name_servers; /**< array of strings: NS names of new zones (from conf) */
	m_keycache_t *keys; /**< parsed DNSSEC keys of the documents (PEM digest -> key), and
			         the keys dnssec.kms_keys maps (model_set_dnssec) */
} model_t;

/**
 * Create a model and read everything the store holds into it.
 * \retval ERR_OK, ERR_NOMEM, ERR_IO, ERR_PARSE (a stored document is not JSON: err names
 *         its key).
 */
int model_open(store_t *store, model_t **out, char *err, size_t errlen);

/** Free a model (not its store); NULL does nothing. */
void model_free(model_t *m);

/** Apply one stored key/value (val NULL: deleted) to the in-memory model; used when
 *  loading the store and by transactions. \retval ERR_OK, ERR_PARSE, ERR_NOMEM. */
int model_apply(model_t *m, const char *key, json_t *doc);

/* ---- lookups (borrowed results, valid until the next change) ---- */

/** A zone by bare Id, with its sorted view up to date; NULL when absent (or only a stub). */
m_zone_t *model_zone(const model_t *m, const char *id);
/** The zone file's record sets of a ZoneFile zone (cached), or NULL. */
json_t *model_zone_file_sets(m_zone_t *z, char *err, size_t errlen);
json_t *model_hc(const model_t *m, const char *id);
json_t *model_coll(const model_t *m, const char *id);
/** Index of the first set at or after (name, type, setid) in list order (name NULL: 0). */
size_t model_set_lower(const m_zone_t *z, const char *name, const char *type,
		       const char *setid);
/** Exact lookup of a set; NULL when absent. */
m_set_t *model_set_find(const m_zone_t *z, const char *name, const char *type,
			const char *setid);

/* ---- DNSSEC ---- */

/** Take the dnssec section of the configuration: the DNSKEY TTL and the keys of kms_keys
 *  (the model holds its own references). \retval ERR_OK, ERR_NOMEM (nothing changed). */
int model_set_dnssec(model_t *m, const conf_dnssec_t *d);
/** The DNSKEY TTL model_set_dnssec gave (3600 before). */
uint32_t model_dnskey_ttl(const model_t *m);
/**
 * The key of a KSK entry of a dnssec document: the configured file's key when its KmsArn
 * is mapped, else its "Pem" (parsed once, cached); NULL when neither (ACTION_NEEDED).
 * Borrowed: valid until the next model_sources_make or model_set_dnssec.
 */
struct dnssec_key *model_ksk_key(const model_t *m, const json_t *ksk);
/** The key of a ZSK entry ("Pem"); NULL when unreadable. Borrowed like model_ksk_key. */
struct dnssec_key *model_zsk_key(const model_t *m, const json_t *zsk);
/** The dnssec document of a zone, or NULL. */
const json_t *model_zone_dnssec(const m_zone_t *z);

/* ---- keys ---- */

/** "/zones/ID/rrsets/NAME/TYPE[/SETID]" into buf. \retval ERR_OK or ERR_LIMIT. */
int model_key_set(char *buf, size_t len, const char *zone_id, const char *name,
		  const char *type, const char *setid);
/** Percent-encode '/', '%' and bytes outside 0x21..0x7e of s into buf (for key parts). */
int model_key_part(char *buf, size_t len, const char *s);

/* ---- transactions ---- */

typedef struct model_txn model_txn_t;

/** A new, empty transaction. NULL when out of memory. */
model_txn_t *model_txn_new(model_t *m);
/** Add a put (doc, reference stolen) or a delete (doc NULL) of key. A later put of the same
 *  key replaces the earlier one. \retval ERR_OK, ERR_NOMEM. */
int model_txn_put(model_txn_t *t, const char *key, json_t *doc);
/** The document this transaction puts at key: NULL if it does not touch it or deletes it. */
json_t *model_txn_get(const model_txn_t *t, const char *key, bool *touched);
/** Number of operations. */
size_t model_txn_size(const model_txn_t *t);
/** Whether the transaction changes what DNS serves or the health checks (not only tags,
 *  changes, caller references, imports and checker state). */
bool model_txn_needs_build(const model_txn_t *t);
/** Apply to the in-memory model (remembering the old documents). \retval ERR_OK, ERR_NOMEM
 *  (then nothing is applied). */
int model_txn_apply(model_txn_t *t);
/** Write the transaction to the store (durable on return). \retval ERR_OK, ERR_IO,
 *  ERR_NOMEM; on failure the caller rolls back. */
int model_txn_commit(model_txn_t *t, uint64_t *rev);
/** Put back what model_txn_apply replaced. */
void model_txn_rollback(model_txn_t *t);
/** Free; NULL does nothing. */
void model_txn_free(model_txn_t *t);
/** Key of operation i (0 <= i < model_txn_size). */
const char *model_txn_key(const model_txn_t *t, size_t i);

/* ---- what the snapshot build reads ---- */

/** Sources of one build, made from the model on the control thread and read by the loader.
 *  Holds its own references to every document it points into. */
typedef struct model_sources {
	zdb_src_t *src;      /**< one per zone */
	size_t n_src;        /**< how many */
	json_t *checks;      /**< {"HealthChecks": [...]}: the health_checks input of hc */
	json_t *colls;       /**< the cidr_collections input of zdb_build */
	json_t *deleted_hcs; /**< Id -> true for deleted health checks: record sets that still
				  name one treat it as healthy (ROUTE53-API.md 3.16) */
	json_t *hold;        /**< references held for src (record-set arrays, strings) */
	zdb_sec_src_t *sec;  /**< DNSSEC keys of src[i] (src[i].dnssec points here); every
				  key pointer in them holds a reference, released by
				  model_sources_free */
	char **strs;         /**< strings owned for src */
	size_t n_strs;       /**< how many */
} model_sources_t;

/** Fill *s from the model. \retval ERR_OK, ERR_NOMEM. */
int model_sources_make(const model_t *m, model_sources_t *s);
/** Release *s (any thread) and clear it. */
void model_sources_free(model_sources_t *s);

/* ---- the configuration file as seed ---- */

/**
 * Add to t the import of every hosted zone, health check and CIDR collection of the
 * configuration whose Id the model does not have yet (Route 53 record sets of a zone are
 * normalised; a zone_file is kept as "ZoneFile"). For those it has, compare the fingerprint
 * of what the configuration says with the one recorded at import, and report differences
 * through warn (the stored copy stays the one served; --reimport replaces it).
 * \param only  when non-NULL, import (replacing) only the resource with this bare Id, even
 *              if the model has it (r53d --reimport).
 * \param err   "FILE: JSON-PATH: reason".
 * \retval ERR_OK, ERR_INVAL, ERR_NOMEM, ERR_NOTFOUND (only names nothing in the file).
 */
int model_import(model_t *m, const conf_t *conf, const char *only, model_txn_t *t,
		 void (*warn)(const char *msg), char *err, size_t errlen);

/** Write the AWS CLI files (list-hosted-zones.json, list-resource-record-sets-ID.json,
 *  list-health-checks.json, list-cidr-collections.json) into dir. */
int model_export(const model_t *m, const char *dir, char *err, size_t errlen);

/* ---- helpers shared by the API handlers ---- */

/** A new random Id: prefix followed by n upper-case letters and digits. */
void model_new_id(char *buf, size_t len, const char *prefix, size_t n);
/** A new lower-case UUID (version 4). */
void model_new_uuid(char *buf, size_t len);
/** The current time as ISO 8601 with milliseconds ("2026-12-05T17:34:33.123Z"). */
void model_now_iso(char *buf, size_t len);
