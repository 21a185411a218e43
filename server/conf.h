/* SPDX-License-Identifier: MIT */
/*
 * conf.h -- the JSON configuration (DESIGN.md "Configuration").
 *
 * conf_load() reads the whole file with jansson, checks every key it knows, rejects unknown
 * top-level keys, and resolves relative paths against the configuration file's directory.
 * AWS-shaped values may be inline or a path to a file holding them; conf keeps them as
 * jansson objects for the modules that compile them. A conf_t is immutable once loaded.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rrl.h"

/** One listen address ("127.0.0.1:5353" or "[::1]:5353"). */
typedef struct conf_listen {
	struct sockaddr_storage addr; /**< parsed address and port */
	socklen_t addrlen;            /**< length of addr */
	char text[64];                /**< as written in the configuration */
} conf_listen_t;

/** One entry of hosted_zones[]. */
typedef struct conf_zone {
	char *id;          /**< HostedZone.Id ("/hostedzone/Z1..."), or "" when absent */
	char *name;        /**< HostedZone.Name, presentation form with trailing dot */
	bool private_zone; /**< HostedZone.Config.PrivateZone */
	char *zone_file;   /**< absolute path of zone_file, or NULL */
	json_t *record_sets; /**< record_sets JSON (owned reference), or NULL */
	char *record_sets_file; /**< file record_sets came from (for messages), or NULL */
	json_t *vpcs;      /**< VPCs beside HostedZone (owned reference), or NULL */
	char *where;       /**< JSON path of this entry, e.g. "hosted_zones[2]" */
} conf_zone_t;

/** The "dnssec" section: where KSKs come from, ZSK rollover timing, the signature cache. */
typedef struct conf_dnssec {
	json_t *kms_keys;        /**< dnssec.kms_keys: KeyManagementServiceArn -> PKCS#8 PEM
				      file path (made absolute), or NULL (owned reference). Every
				      file is checked at load: readable, P-256, not group/world
				      accessible (else the configuration is refused) */
	size_t signature_cache;  /**< dnssec.signature_cache: bytes per worker for the RRSIG
				      cache (default ZSIGN_CACHE_DEFAULT, 32 MiB; read at start) */
	uint32_t dnskey_ttl;     /**< dnssec.dnskey_ttl: TTL of the DNSKEY RRset (default 3600) */
	uint32_t zsk_lifetime;   /**< dnssec.zsk_lifetime: seconds a ZSK signs before its
				      successor takes over (default 30 days) */
	uint32_t zsk_prepublish; /**< dnssec.zsk_prepublish: seconds the successor is published
				      before it signs (RFC 7583 pre-publication; default 1 day,
				      must be >= dnskey_ttl) */
	uint32_t zsk_retire;     /**< dnssec.zsk_retire: seconds the old ZSK stays published
				      after it stopped signing (default 8 days: the one-week TTL
				      cap of its signatures and a day) */
	char **kms_arns;         /**< the ARNs of kms_keys, in file order (owned) */
	struct dnssec_key **kms_loaded; /**< their keys, loaded at conf_load (one reference
					     each, released by conf_free) */
	size_t n_kms;            /**< entries of kms_arns and kms_loaded */
} conf_dnssec_t;

/** The key kms_keys maps arn to (borrowed from conf), or NULL. */
struct dnssec_key *conf_kms_key(const conf_dnssec_t *d, const char *arn);

/** The whole configuration. */
typedef struct conf {
	char *path;        /**< configuration file as given */
	char *dir;         /**< its directory, for relative paths */
	conf_listen_t *listen; /**< listen addresses */
	size_t n_listen;       /**< number of listen addresses */
	unsigned workers;      /**< DNS worker threads (default: online CPUs) */
	unsigned tcp_idle_ms;  /**< tcp.idle_timeout_ms, default 10000 */
	unsigned tcp_max_conns; /**< tcp.max_connections per worker, default 1000 */
	unsigned tcp_max_queries; /**< tcp.max_queries per connection, default 0 = no limit */
	bool cname_chasing;    /**< follow CNAME chains inside a zone (default true) */
	bool answer_cache;     /**< per-worker cache of UDP responses (acache.h; default true;
				    read at start: a reload does not change it) */
	size_t answer_cache_size; /**< answer_cache_size: bytes of each worker's answer-cache
				       ring (default ACACHE_DEFAULT_BYTES, 64 MiB; read at
				       start). Signed (DO) answers are ~4x larger than unsigned
				       ones: a signed zone's working set may need more */
	bool authority_ns;     /**< add the zone's NS set to positive answers (default true) */
	bool wildcard_parent_nxdomain; /**< spec HZ-29 compatibility flag (default false) */
	uint16_t edns_udp_size; /**< largest UDP answer we send and advertise (default 1232) */
	char *chaos_version;   /**< answer for version.bind / version.server CH TXT, NULL: refuse */
	char *chaos_id;        /**< answer for id.server / hostname.bind CH TXT, NULL: refuse */
	char *nsid;            /**< NSID option text (RFC 5001, at most 128 bytes; default
				    chaos_id), NULL: no NSID */
	char *admin_listen;    /**< admin.listen ("127.0.0.1:8053"), NULL: no admin endpoint */
	char *query_log;       /**< query_log file path, "-" for stderr, NULL: off */
	int query_log_format;  /**< query_log_format (enum qlog_format), default text */
	char *server_id;       /**< server_id: the edge location in the query log (default the
				    host name, else "r53d"); never NULL after conf_load */
	json_t *geo;           /**< "geo" object, or NULL (owned reference) */
	json_t *health;        /**< "health" object, or NULL (owned reference) */
	json_t *health_checks; /**< list-health-checks output, or NULL (owned reference) */
	char *health_checks_file; /**< file health_checks came from, or NULL */
	json_t *cidr_collections; /**< cidr_collections array, or NULL (owned reference) */
	json_t *vpcs;          /**< vpcs array, or NULL (owned reference) */
	char *store_path;      /**< store.path (absolute), NULL: memory only */
	json_t *store_etcd;    /**< store.etcd object (fleets), or NULL (owned reference) */
	char **store_etcd_endpoints; /**< store.etcd.endpoints: "http://HOST:PORT" URLs (owned:
				      the array and each string), NULL without store.etcd */
	size_t store_etcd_n_endpoints; /**< entries of store_etcd_endpoints */
	char *store_etcd_prefix;  /**< store.etcd.prefix, default "/r53d/v1/" (owned) */
	char *store_etcd_node_id; /**< store.etcd.node_id, default the host name (owned) */
	char *store_etcd_region;  /**< store.etcd.region: the node's label in health
				       observations, default "local" (owned) */
	json_t *api_credentials; /**< api.credentials [{"AccessKeyId", "SecretAccessKey"}], or
				      NULL: any signature (or none) accepted (owned reference) */
	size_t api_max_body;   /**< api.max_body_bytes, default 1 MiB */
	json_t *name_servers;  /**< name_servers: array of names for zones created through the
				    API (owned reference; defaults filled in) */
	rrl_conf_t rrl;        /**< rrl: response rate limiting (responses_per_second 0: off) */
	conf_dnssec_t dnssec;  /**< dnssec: signing (keys, rollover, signature cache) */
	conf_zone_t *zones;    /**< hosted zones, in file order */
	size_t n_zones;        /**< number of hosted zones */
} conf_t;

/**
 * Load and check a configuration file.
 * \param path  the file; borrowed.
 * \param out   set to a new conf_t on success; caller frees with conf_free.
 * \param err   receives "FILE: JSON-PATH: reason" (or "FILE:LINE:COL: reason") on failure.
 * \retval ERR_OK, ERR_IO (cannot read), ERR_PARSE (bad JSON), ERR_INVAL (bad value).
 * Any thread; no global state.
 */
int conf_load(const char *path, conf_t **out, char *err, size_t errlen);

/** Free a configuration; NULL does nothing. */
void conf_free(conf_t *conf);

/**
 * Parse "host:port", "[v6]:port" or a bare address (then default_port).
 * \retval ERR_OK or ERR_INVAL.
 */
int conf_parse_addr(const char *text, uint16_t default_port, struct sockaddr_storage *ss,
		    socklen_t *len);
