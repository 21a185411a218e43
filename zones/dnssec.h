/* SPDX-License-Identifier: MIT */
/*
 * dnssec.h -- DNSSEC signing as Route 53 does it: ECDSA P-256 keys (algorithm 13),
 * DNSKEY/DS material and its GetDNSSEC presentation, RRSIGs over wire RRsets,
 * compact-denial NSEC records (RFC 9824) and a bounded per-worker signature cache.
 *
 * Names are uncompressed wire names (length-prefixed labels ending in the root label).
 * Rdata is uncompressed wire rdata, as zone_build prepares it.
 *
 * Threads: a dnssec_key_t is immutable after creation and may be shared by every thread
 * (it holds an OpenSSL EVP_PKEY, which is safe for concurrent use with separate
 * contexts). A dnssec_signer_t and a dnssec_cache_t belong to one thread (a worker):
 * no locks inside, no allocation by us after creation (OpenSSL's ECDSA allocates its
 * own temporaries).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSSEC_ALG_ECDSAP256SHA256 13 /**< RFC 6605 */
#define DNSSEC_DIGEST_SHA256 2        /**< RFC 4509 */
#define DNSSEC_FLAGS_ZSK 256          /**< DNSKEY flags: zone key */
#define DNSSEC_FLAGS_KSK 257          /**< DNSKEY flags: zone key + SEP */
#define DNSSEC_PROTOCOL 3             /**< DNSKEY protocol, always 3 */
#define DNSSEC_PUBKEY_LEN 64          /**< P-256 public key x || y */
#define DNSSEC_SIG_LEN 64             /**< P-256 signature r || s */
#define DNSSEC_DNSKEY_RDLEN (4 + DNSSEC_PUBKEY_LEN) /**< flags, protocol, alg, key */
#define DNSSEC_DS_RDLEN (4 + 32)      /**< tag, alg, digest type, SHA-256 */
#define DNSSEC_RRSIG_FIXED 18         /**< RRSIG rdata before the signer name */
#define DNSSEC_RRSIG_MAX (DNSSEC_RRSIG_FIXED + 255 + DNSSEC_SIG_LEN) /**< largest RRSIG rdata */
#define DNSSEC_BITMAP_MAX (256 * 34)  /**< largest NSEC type bitmap */
#define DNSSEC_NSEC_MAX (255 + DNSSEC_BITMAP_MAX) /**< largest NSEC rdata */
#define DNSSEC_TYPE_RRSIG 46
#define DNSSEC_TYPE_NSEC 47
#define DNSSEC_TYPE_DNSKEY 48
#define DNSSEC_TYPE_NXNAME 128        /**< RFC 9824 meta-type marking a nonexistent name */
#define DNSSEC_RRSET_MAX 4096         /**< records per RRset dnssec_sign accepts */

/* ------------------------------------------------------------------------------------ */
/* Keys                                                                                 */
/* ------------------------------------------------------------------------------------ */

/** An ECDSA P-256 key pair with its DNSKEY rdata (opaque; immutable once made). */
typedef struct dnssec_key dnssec_key_t;

/**
 * Generate a new P-256 key pair.
 * \param out    receives the key; caller frees with dnssec_key_free
 * \param flags  DNSSEC_FLAGS_KSK or DNSSEC_FLAGS_ZSK
 * \retval ERR_OK, ERR_INVAL (flags), ERR_NOMEM (OpenSSL failed). Any thread.
 */
int dnssec_key_generate(dnssec_key_t **out, uint16_t flags);

/**
 * Read a key from PKCS#8 PEM text ("BEGIN PRIVATE KEY"; unencrypted; P-256 only).
 * \param pem  the text (borrowed; need not be NUL-terminated), len its bytes
 * \retval ERR_OK, ERR_PARSE (not an unencrypted PEM private key), ERR_INVAL (not EC
 *         P-256, or bad flags), ERR_NOMEM. Any thread.
 */
int dnssec_key_from_pem(dnssec_key_t **out, const char *pem, size_t len, uint16_t flags);

/**
 * Read a key from a PKCS#8 PEM file. The file must be a regular file that neither group
 * nor others may access (mode & 077 == 0): private keys are refused otherwise.
 * \param err  receives a message naming the file on failure (may be NULL); errlen its size
 * \retval ERR_OK, ERR_IO (cannot open or read), ERR_INVAL (permissions, not a regular
 *         file, not P-256), ERR_PARSE, ERR_LIMIT (larger than 64 KiB). Control thread.
 */
int dnssec_key_load_file(dnssec_key_t **out, const char *path, uint16_t flags, char *err,
			 size_t errlen);

/**
 * Serialise the private key as PKCS#8 PEM (unencrypted), for the store.
 * \param pem  receives a NUL-terminated string; caller frees with dnssec_pem_free
 * \param len  receives its length (without the NUL); may be NULL
 * \retval ERR_OK, ERR_NOMEM. Any thread.
 */
int dnssec_key_to_pem(const dnssec_key_t *key, char **pem, size_t *len);

/** Wipe and free PEM text from dnssec_key_to_pem. NULL does nothing. */
void dnssec_pem_free(char *pem);

/**
 * Take another reference to a key (a snapshot's zone holding it, a worker). Atomic; any
 * thread. \return key (NULL gives NULL). The key stays immutable: the count is its only
 * changing part, which is why a const key may be referenced.
 */
dnssec_key_t *dnssec_key_ref(const dnssec_key_t *key);

/** Drop one reference to a key (dnssec_key_generate/_from_pem/_load_file give the first);
 *  the last one frees it. NULL does nothing. Atomic; any thread. No signer may still use
 *  a freed key. */
void dnssec_key_free(dnssec_key_t *key);

/** DNSKEY rdata of the key: DNSSEC_DNSKEY_RDLEN bytes (borrowed from the key). */
const uint8_t *dnssec_key_dnskey(const dnssec_key_t *key);

/** Key tag (RFC 4034 appendix B) of the key's DNSKEY rdata. */
uint16_t dnssec_key_tag(const dnssec_key_t *key);

/** DNSKEY flags the key was made with (257 or 256). */
uint16_t dnssec_key_flags(const dnssec_key_t *key);

/**
 * A 64-bit identity of the key's public half (first bytes of SHA-256 over the DNSKEY
 * rdata): the same key loaded twice has the same id. For cache keys.
 */
uint64_t dnssec_key_id(const dnssec_key_t *key);

/** Key tag (RFC 4034 appendix B) of any DNSKEY rdata (len bytes). */
uint16_t dnssec_keytag(const uint8_t *dnskey, size_t len);

/**
 * DS rdata (digest type 2, SHA-256) for a DNSKEY: digest over owner | DNSKEY rdata.
 * \param owner  wire name of the DNSKEY's owner (the zone apex; any case)
 * \param dnskey the DNSKEY rdata, len bytes (>= 4)
 * \param ds     receives DNSSEC_DS_RDLEN bytes
 * \retval ERR_OK, ERR_INVAL (bad name or rdata), ERR_NOMEM.
 */
int dnssec_ds(const uint8_t *owner, const uint8_t *dnskey, size_t len,
	      uint8_t ds[DNSSEC_DS_RDLEN]);

/** A key as Route 53's GetDNSSEC shows it (KeySigningKey fields derived from the key). */
typedef struct dnssec_present {
	uint16_t flag;          /**< Flag: 257 */
	uint16_t key_tag;       /**< KeyTag */
	int signing_alg_type;   /**< SigningAlgorithmType: 13 */
	const char *signing_alg_mnemonic; /**< SigningAlgorithmMnemonic: "ECDSAP256SHA256" */
	int digest_alg_type;    /**< DigestAlgorithmType: 2 */
	const char *digest_alg_mnemonic;  /**< DigestAlgorithmMnemonic: "SHA-256" */
	char digest_value[65];  /**< DigestValue: the DS digest, upper-case hex */
	char public_key[89];    /**< PublicKey: base64 of the 64-byte key */
	char ds_record[96];     /**< DSRecord: "KEYTAG 13 2 HEX" */
	char dnskey_record[112]; /**< DNSKEYRecord: "257 3 13 BASE64" */
} dnssec_present_t;

/**
 * Fill the GetDNSSEC presentation of a key published at owner (the zone apex).
 * \retval ERR_OK, ERR_INVAL (bad owner), ERR_NOMEM.
 */
int dnssec_key_present(const dnssec_key_t *key, const uint8_t *owner, dnssec_present_t *out);

/* ------------------------------------------------------------------------------------ */
/* Signing                                                                              */
/* ------------------------------------------------------------------------------------ */

/** An RRset to sign, as it will be answered. All pointers are borrowed. */
typedef struct dnssec_rrset {
	const uint8_t *owner;   /**< owner name (wire, any case): the name asked, also for
				     wildcard-expanded answers */
	uint16_t type;          /**< RR type covered */
	uint16_t rclass;        /**< class (IN) */
	uint32_t ttl;           /**< original TTL */
	uint8_t labels;         /**< RRSIG Labels field; 0 = the owner's own count (leading
				     "*" excluded, RFC 4034 3.1.3). Fewer labels than the owner
				     has means a wildcard signature over "*.<last labels>" */
	size_t count;           /**< records (1..DNSSEC_RRSET_MAX) */
	const uint8_t *const *rdata; /**< count rdata pointers (uncompressed wire) */
	const uint16_t *rdlen;  /**< count rdata lengths */
} dnssec_rrset_t;

/** Validity window of a signature (RFC 4034 3.1.5; seconds, serial arithmetic). */
typedef struct dnssec_validity {
	uint32_t inception;  /**< Signature Inception */
	uint32_t expiration; /**< Signature Expiration */
} dnssec_validity_t;

/** Default window policy: windows start on day boundaries, an hour early (clock skew),
 *  and last 14 days, so a signature served at any moment is valid for at least 13 more
 *  days: more than the one-week TTL limit Route 53 applies to signed zones. */
#define DNSSEC_WINDOW_PERIOD 86400u
#define DNSSEC_WINDOW_SKEW 3600u
#define DNSSEC_WINDOW_LIFETIME (14u * 86400u)

/**
 * The validity window in force at now (seconds since the epoch): inception = now rounded
 * down to a multiple of period, less skew; expiration = that multiple plus lifetime. Every
 * worker computes the same window for a whole period, so signatures (and cache entries)
 * are shared; a new window begins each period, which refreshes every signature.
 * period must be > 0 and lifetime > period.
 */
void dnssec_validity_at(uint64_t now, uint32_t period, uint32_t skew, uint32_t lifetime,
			dnssec_validity_t *out);

/** Per-thread signing context (opaque): digest context, per-key sign contexts, scratch. */
typedef struct dnssec_signer dnssec_signer_t;

/**
 * Make a signing context for one thread; allocates its scratch (~200 KiB) once.
 * \retval ERR_OK, ERR_NOMEM.
 */
int dnssec_signer_new(dnssec_signer_t **out);

/** Free a signing context. NULL does nothing. */
void dnssec_signer_free(dnssec_signer_t *s);

/**
 * Sign an RRset (RFC 4034 3.1.8.1, 6; RFC 4035 5.3.2; RFC 6605): the records are put in
 * canonical form (owner and the names inside the rdata of the types RFC 4034 6.2 lists,
 * as amended by RFC 6840 5.1, lower-cased), sorted canonically with duplicates dropped,
 * hashed with SHA-256 after the RRSIG rdata, and signed; the DER signature is turned
 * into r || s.
 * \param s       the thread's signer
 * \param key     signing key (borrowed; shared)
 * \param signer  signer name: the zone apex (wire, any case; written lower-cased)
 * \param rr      the RRset
 * \param val     validity window
 * \param out     receives the RRSIG rdata; outlen its room (DNSSEC_RRSIG_MAX is enough)
 * \param rdlen   receives the RRSIG rdata length
 * \retval ERR_OK, ERR_INVAL (bad name/rdata, labels larger than the owner's),
 *         ERR_LIMIT (too many records, out too small), ERR_NOMEM (OpenSSL failed).
 * Thread of s. No allocation by r53d.
 */
int dnssec_sign(dnssec_signer_t *s, const dnssec_key_t *key, const uint8_t *signer,
		const dnssec_rrset_t *rr, const dnssec_validity_t *val, uint8_t *out,
		size_t outlen, size_t *rdlen);

/* ------------------------------------------------------------------------------------ */
/* Compact denial (RFC 9824)                                                            */
/* ------------------------------------------------------------------------------------ */

/**
 * The immediate canonical successor of a name (RFC 4471 3.1.2, "absolute method"), as
 * RFC 9824 uses for the Next Domain Name: "\000.<name>" when that fits in 255 octets,
 * otherwise the name with its first label lengthened or incremented.
 * \param name  wire name (any case; the result is lower-cased)
 * \param out   receives the successor (up to 255 bytes); outlen its room
 * \param len   receives its length
 * \retval ERR_OK, ERR_INVAL (bad name; the root's successor "\000." works), ERR_LIMIT.
 */
int dnssec_name_successor(const uint8_t *name, uint8_t *out, size_t outlen, size_t *len);

/**
 * Encode a set of types as an NSEC type bitmap (RFC 4034 4.1.2): ascending windows,
 * each with its shortest bitmap. Duplicates and order do not matter.
 * \retval ERR_OK, ERR_LIMIT (out too small).
 */
int dnssec_type_bitmap(const uint16_t *types, size_t n, uint8_t *out, size_t outlen,
		       size_t *len);

/**
 * NSEC rdata for a compact-denial answer at owner: Next Domain Name is the owner's
 * successor (dnssec_name_successor); the bitmap holds the given types plus RRSIG and NSEC.
 * For NXDOMAIN pass types = { DNSSEC_TYPE_NXNAME } (RFC 9824 3.2: RRSIG NSEC NXNAME); for
 * NODATA the types present at the name (none for an empty non-terminal).
 * \retval ERR_OK, ERR_INVAL (bad name), ERR_LIMIT (out too small; DNSSEC_NSEC_MAX is
 *         always enough).
 */
int dnssec_nsec_rdata(const uint8_t *owner, const uint16_t *types, size_t n, uint8_t *out,
		      size_t outlen, size_t *len);

/* ------------------------------------------------------------------------------------ */
/* Signature cache                                                                      */
/* ------------------------------------------------------------------------------------ */

/**
 * A cache entry's key. The RRSIG for it is a pure function of these fields (the
 * signature's randomness aside), so a hit may be answered as is.
 */
typedef struct dnssec_cache_key {
	const uint8_t *owner;  /**< owner as asked (wire, any case); must end in signer */
	const uint8_t *signer; /**< signer name (the zone apex; wire, any case) */
	uint16_t type;         /**< type covered */
	uint64_t rdset_id;     /**< identity of the RRset's content: must change whenever the
				    records or the TTL change (e.g. a hash of the rdata set,
				    or a per-snapshot record-set id) */
	uint64_t key_id;       /**< dnssec_key_id() of the signing key */
	uint16_t key_tag;      /**< its key tag */
	dnssec_validity_t val; /**< validity window */
} dnssec_cache_key_t;

/** Counters of a cache (single writer: its thread). */
typedef struct dnssec_cache_stats {
	uint64_t hits;      /**< lookups answered */
	uint64_t misses;    /**< lookups not answered */
	uint64_t inserts;   /**< entries stored (new or replaced) */
	uint64_t evictions; /**< entries pushed out by CLOCK */
	uint64_t refused;   /**< inserts refused: name part too long for a slot */
} dnssec_cache_stats_t;

/** Bounded signature cache, one per worker (opaque). */
typedef struct dnssec_cache dnssec_cache_t;

/** Bytes of one cache slot; memory is budget / (slot + index share). */
#define DNSSEC_CACHE_SLOT 192
/** Longest owner part (owner minus the signer suffix) a slot holds. */
#define DNSSEC_CACHE_PREFIX_MAX 78

/**
 * Make a cache that uses at most budget bytes (slots and index; the struct itself
 * aside). Everything is allocated here; lookups and inserts never allocate.
 * \retval ERR_OK, ERR_INVAL (budget below 16 slots), ERR_NOMEM. Any thread.
 */
int dnssec_cache_new(dnssec_cache_t **out, size_t budget);

/** Free a cache. NULL does nothing. */
void dnssec_cache_free(dnssec_cache_t *c);

/**
 * Find the RRSIG for key; on a hit, copy its rdata to out and mark it recently used.
 * \retval ERR_OK (hit; *len set), ERR_NOTFOUND (miss), ERR_LIMIT (outlen too small),
 *         ERR_INVAL (owner does not end in signer). Thread of c.
 */
int dnssec_cache_find(dnssec_cache_t *c, const dnssec_cache_key_t *key, uint8_t *out,
		      size_t outlen, size_t *len);

/**
 * Store the RRSIG rdata for key (replacing an entry with the same key), evicting by
 * CLOCK when the cache is full.
 * \retval ERR_OK, ERR_INVAL (rrsig does not match key: type, window, tag, signer),
 *         ERR_LIMIT (owner part longer than DNSSEC_CACHE_PREFIX_MAX; not cached).
 * Thread of c.
 */
int dnssec_cache_insert(dnssec_cache_t *c, const dnssec_cache_key_t *key,
			const uint8_t *rrsig, size_t len);

/** Bytes the cache allocated for slots and index (<= the budget). */
size_t dnssec_cache_memory(const dnssec_cache_t *c);

/** Number of slots (the most entries held at once). */
size_t dnssec_cache_capacity(const dnssec_cache_t *c);

/** Entries held now. */
size_t dnssec_cache_count(const dnssec_cache_t *c);

/** Counters so far. */
void dnssec_cache_stats(const dnssec_cache_t *c, dnssec_cache_stats_t *st);
