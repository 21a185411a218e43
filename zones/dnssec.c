/* SPDX-License-Identifier: MIT */
/*
 * dnssec.c -- ECDSA P-256 keys, DS/DNSKEY material, RRSIGs over wire RRsets, compact
 * denial NSEC records and the per-worker signature cache.
 *
 * Signing does not use EVP_DigestSign: a signer keeps one EVP_MD_CTX for SHA-256 and
 * one EVP_PKEY_CTX per key, initialised once (EVP_PKEY_sign_init) and reused for every
 * signature, so a signature costs one hash and one EVP_PKEY_sign. The records are put in
 * canonical form in the signer's scratch (allocated with it), sorted there by index and
 * fed to the hash one by one.
 *
 * The cache is a CLOCK over fixed 192-byte slots with a chained hash index, all
 * allocated at creation. A slot holds the RRSIG without its signer name (the caller
 * passes the signer, the zone apex, with every lookup) and the owner without the signer
 * suffix, so a typical entry (random label under a zone) fits. The index hash is
 * SipHash-2-4 with a per-cache random key, so chosen query names cannot build long chains.
 */
#include "dnssec.h"
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

/* ---- names --------------------------------------------------------------------------- */

static inline uint8_t lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Length of a wire name (root label included) read at most avail bytes; 0 if invalid. */
static size_t name_len_n(const uint8_t *n, size_t avail)
{
	size_t p = 0;
	for (;;) {
		if (p >= avail)
			return 0;
		uint8_t l = n[p];
		if (l > 63)
			return 0;
		p += (size_t)l + 1;
		if (p > 255)
			return 0;
		if (l == 0)
			return p;
	}
}

static size_t name_len(const uint8_t *n)
{
	return n == NULL ? 0 : name_len_n(n, 255);
}

static unsigned name_labels(const uint8_t *n)
{
	unsigned c = 0;
	while (*n != 0) {
		n += *n + 1;
		c++;
	}
	return c;
}

static void name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = lc(src[i]);
}

/* Lower-case the name at rd[*p] in place (bounded by len); false if malformed. */
static bool rd_name_lower(uint8_t *rd, size_t len, size_t *p)
{
	size_t n = name_len_n(rd + *p, len - *p);
	if (n == 0)
		return false;
	/* Label length octets are <= 63, never letters, so lower-casing all bytes is safe. */
	for (size_t i = 0; i < n; i++)
		rd[*p + i] = lc(rd[*p + i]);
	*p += n;
	return true;
}

static bool rd_skip(size_t len, size_t *p, size_t n)
{
	if (len - *p < n)
		return false;
	*p += n;
	return true;
}

static bool rd_skip_cstr(const uint8_t *rd, size_t len, size_t *p)
{
	if (*p >= len)
		return false;
	return rd_skip(len, p, (size_t)rd[*p] + 1);
}

/*
 * Canonical rdata (RFC 4034 6.2 as amended by RFC 6840 5.1: NSEC names keep their
 * case): lower-case the embedded names of the listed types in place. The same list as
 * ldns_rr2canonical. false if the rdata is malformed.
 */
static bool rdata_canon(uint16_t type, uint8_t *rd, size_t len)
{
	size_t p = 0;
	switch (type) {
	case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12: /* NS..PTR */
	case 30: /* NXT: name, bitmap */
	case 39: /* DNAME */
		return rd_name_lower(rd, len, &p);
	case 6: case 14: case 17: /* SOA (then 20 octets), MINFO, RP: two names */
		if (!rd_name_lower(rd, len, &p))
			return false;
		return rd_name_lower(rd, len, &p);
	case 15: case 18: case 21: case 36: /* MX, AFSDB, RT, KX */
		return rd_skip(len, &p, 2) && rd_name_lower(rd, len, &p);
	case 26: /* PX */
		if (!rd_skip(len, &p, 2) || !rd_name_lower(rd, len, &p))
			return false;
		return rd_name_lower(rd, len, &p);
	case 33: /* SRV */
		return rd_skip(len, &p, 6) && rd_name_lower(rd, len, &p);
	case 35: /* NAPTR */
		return rd_skip(len, &p, 4) && rd_skip_cstr(rd, len, &p) &&
		       rd_skip_cstr(rd, len, &p) && rd_skip_cstr(rd, len, &p) &&
		       rd_name_lower(rd, len, &p);
	case 24: case 46: /* SIG, RRSIG */
		return rd_skip(len, &p, 18) && rd_name_lower(rd, len, &p);
	case 38: { /* A6 */
		if (len < 1 || rd[0] > 128)
			return false;
		uint8_t plen = rd[0];
		p = 1;
		if (!rd_skip(len, &p, (size_t)(128 - plen + 7) / 8))
			return false;
		return plen == 0 || rd_name_lower(rd, len, &p);
	}
	default:
		return true;
	}
}

/* ---- helpers ------------------------------------------------------------------------- */

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
}

/* ---- keys ---------------------------------------------------------------------------- */

struct dnssec_key {
	EVP_PKEY *pkey;        /**< the key pair (owned) */
	uint64_t serial;       /**< process-unique number: names this object in signers */
	uint64_t id;           /**< first 8 bytes of SHA-256(DNSKEY rdata) */
	uint16_t flags;        /**< DNSKEY flags */
	uint16_t tag;          /**< key tag */
	uint8_t dnskey[DNSSEC_DNSKEY_RDLEN]; /**< DNSKEY rdata */
	atomic_uint refs;      /**< references (dnssec_key_ref); the last free frees it */
};

static atomic_uint_fast64_t key_serial = 1;

uint16_t dnssec_keytag(const uint8_t *dnskey, size_t len)
{
	uint32_t ac = 0;
	for (size_t i = 0; i < len; i++)
		ac += (i & 1) ? dnskey[i] : (uint32_t)dnskey[i] << 8;
	ac += (ac >> 16) & 0xFFFF;
	return (uint16_t)(ac & 0xFFFF);
}

static bool is_p256(EVP_PKEY *pkey)
{
	char group[64];
	size_t glen = 0;
	if (!EVP_PKEY_is_a(pkey, "EC"))
		return false;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), &glen) != 1)
		return false;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* Wrap an EC P-256 EVP_PKEY (taking ownership) into a key. */
static int key_make(EVP_PKEY *pkey, uint16_t flags, dnssec_key_t **out)
{
	int ret = ERR_INVAL;
	BIGNUM *x = NULL, *y = NULL;
	dnssec_key_t *k = NULL;
	uint8_t md[32];

	if (!is_p256(pkey))
		goto out;
	ret = ERR_NOMEM;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		goto out;
	put16(k->dnskey, flags);
	k->dnskey[2] = DNSSEC_PROTOCOL;
	k->dnskey[3] = DNSSEC_ALG_ECDSAP256SHA256;
	if (BN_bn2binpad(x, k->dnskey + 4, 32) != 32 || BN_bn2binpad(y, k->dnskey + 36, 32) != 32)
		goto out;
	if (EVP_Digest(k->dnskey, sizeof(k->dnskey), md, NULL, EVP_sha256(), NULL) != 1)
		goto out;
	k->id = 0;
	for (int i = 0; i < 8; i++)
		k->id = k->id << 8 | md[i];
	k->flags = flags;
	k->tag = dnssec_keytag(k->dnskey, sizeof(k->dnskey));
	k->serial = atomic_fetch_add_explicit(&key_serial, 1, memory_order_relaxed);
	atomic_init(&k->refs, 1);
	k->pkey = pkey;
	pkey = NULL;
	*out = k;
	k = NULL;
	ret = ERR_OK;
out:
	free(k);
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ret;
}

static bool flags_ok(uint16_t flags)
{
	return flags == DNSSEC_FLAGS_KSK || flags == DNSSEC_FLAGS_ZSK;
}

int dnssec_key_generate(dnssec_key_t **out, uint16_t flags)
{
	if (!flags_ok(flags))
		return ERR_INVAL;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL) {
		ERR_clear_error();
		return ERR_NOMEM;
	}
	return key_make(pkey, flags, out);
}

/* Never prompt: an encrypted key is an error, not a question on a terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static const char PKCS8_BEGIN[] = "-----BEGIN PRIVATE KEY-----";

int dnssec_key_from_pem(dnssec_key_t **out, const char *pem, size_t len, uint16_t flags)
{
	if (!flags_ok(flags) || pem == NULL || len > INT32_MAX)
		return ERR_INVAL;
	if (memmem(pem, len, PKCS8_BEGIN, sizeof(PKCS8_BEGIN) - 1) == NULL)
		return ERR_PARSE;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return ERR_NOMEM;
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		ERR_clear_error();
		return ERR_PARSE;
	}
	return key_make(pkey, flags, out);
}

#define KEY_FILE_MAX 65536

int dnssec_key_load_file(dnssec_key_t **out, const char *path, uint16_t flags, char *err,
			 size_t errlen)
{
	int ret = ERR_IO;
	char *buf = NULL;
	size_t got = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		set_err(err, errlen, "dnssec key %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		set_err(err, errlen, "dnssec key %s: %s", path, strerror(errno));
		goto out;
	}
	ret = ERR_INVAL;
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "dnssec key %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		set_err(err, errlen,
			"dnssec key %s: mode %04o lets group or others read it; refusing a "
			"private key that is not private (chmod 600 %s)",
			path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	ret = ERR_LIMIT;
	if (st.st_size > KEY_FILE_MAX) {
		set_err(err, errlen, "dnssec key %s: larger than %d bytes", path, KEY_FILE_MAX);
		goto out;
	}
	ret = ERR_NOMEM;
	buf = malloc(KEY_FILE_MAX);
	if (buf == NULL)
		goto out;
	ret = ERR_IO;
	for (;;) {
		ssize_t r = read(fd, buf + got, KEY_FILE_MAX - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "dnssec key %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == KEY_FILE_MAX) {
			ret = ERR_LIMIT;
			set_err(err, errlen, "dnssec key %s: larger than %d bytes", path,
				KEY_FILE_MAX);
			goto out;
		}
	}
	ret = dnssec_key_from_pem(out, buf, got, flags);
	if (ret == ERR_PARSE)
		set_err(err, errlen,
			"dnssec key %s: not an unencrypted PKCS#8 PEM private key "
			"(BEGIN PRIVATE KEY)",
			path);
	else if (ret == ERR_INVAL)
		set_err(err, errlen, "dnssec key %s: not an ECDSA P-256 key", path);
	else if (ret != ERR_OK)
		set_err(err, errlen, "dnssec key %s: %s", path, err_str(ret));
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, KEY_FILE_MAX);
		free(buf);
	}
	close(fd);
	return ret;
}

int dnssec_key_to_pem(const dnssec_key_t *key, char **pem, size_t *len)
{
	int ret = ERR_NOMEM;
	char *data = NULL;
	BIO *bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		goto out;
	if (PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	long n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || data == NULL)
		goto out;
	char *copy = malloc((size_t)n + 1);
	if (copy == NULL)
		goto out;
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*pem = copy;
	if (len != NULL)
		*len = (size_t)n;
	ret = ERR_OK;
out:
	BIO_free(bio); /* a secmem BIO wipes its buffer */
	ERR_clear_error();
	return ret;
}

void dnssec_pem_free(char *pem)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
}

dnssec_key_t *dnssec_key_ref(const dnssec_key_t *key)
{
	dnssec_key_t *k = (dnssec_key_t *)key; /* the count is the one mutable part */
	if (k != NULL)
		atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
	return k;
}

void dnssec_key_free(dnssec_key_t *key)
{
	/* acq_rel: every holder's use of the key happens before the last one frees it */
	if (key == NULL || atomic_fetch_sub_explicit(&key->refs, 1, memory_order_acq_rel) != 1)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

const uint8_t *dnssec_key_dnskey(const dnssec_key_t *key)
{
	return key->dnskey;
}

uint16_t dnssec_key_tag(const dnssec_key_t *key)
{
	return key->tag;
}

uint16_t dnssec_key_flags(const dnssec_key_t *key)
{
	return key->flags;
}

uint64_t dnssec_key_id(const dnssec_key_t *key)
{
	return key->id;
}

int dnssec_ds(const uint8_t *owner, const uint8_t *dnskey, size_t len,
	      uint8_t ds[DNSSEC_DS_RDLEN])
{
	uint8_t lname[255];
	size_t nl = name_len(owner);
	if (nl == 0 || dnskey == NULL || len < 4)
		return ERR_INVAL;
	name_lower(lname, owner, nl);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return ERR_NOMEM;
	int ok = EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, lname, nl) == 1 && EVP_DigestUpdate(ctx, dnskey, len) == 1 &&
		 EVP_DigestFinal_ex(ctx, ds + 4, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return ERR_NOMEM;
	}
	put16(ds, dnssec_keytag(dnskey, len));
	ds[2] = dnskey[3];
	ds[3] = DNSSEC_DIGEST_SHA256;
	return ERR_OK;
}

int dnssec_key_present(const dnssec_key_t *key, const uint8_t *owner, dnssec_present_t *out)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t ds[DNSSEC_DS_RDLEN];
	int ret = dnssec_ds(owner, key->dnskey, sizeof(key->dnskey), ds);
	if (ret != ERR_OK)
		return ret;
	memset(out, 0, sizeof(*out));
	out->flag = key->flags;
	out->key_tag = key->tag;
	out->signing_alg_type = DNSSEC_ALG_ECDSAP256SHA256;
	out->signing_alg_mnemonic = "ECDSAP256SHA256";
	out->digest_alg_type = DNSSEC_DIGEST_SHA256;
	out->digest_alg_mnemonic = "SHA-256";
	for (size_t i = 0; i < 32; i++) {
		out->digest_value[2 * i] = hex[ds[4 + i] >> 4];
		out->digest_value[2 * i + 1] = hex[ds[4 + i] & 15];
	}
	out->digest_value[64] = '\0';
	/* 64 bytes -> 88 base64 characters and a NUL. */
	if (EVP_EncodeBlock((unsigned char *)out->public_key, key->dnskey + 4,
			    DNSSEC_PUBKEY_LEN) != 88)
		return ERR_NOMEM;
	snprintf(out->ds_record, sizeof(out->ds_record), "%u %u %u %s", (unsigned)key->tag,
		 (unsigned)DNSSEC_ALG_ECDSAP256SHA256, (unsigned)DNSSEC_DIGEST_SHA256,
		 out->digest_value);
	snprintf(out->dnskey_record, sizeof(out->dnskey_record), "%u %u %u %s",
		 (unsigned)key->flags, (unsigned)DNSSEC_PROTOCOL,
		 (unsigned)DNSSEC_ALG_ECDSAP256SHA256, out->public_key);
	return ERR_OK;
}

/* ---- signing ------------------------------------------------------------------------- */

#define SIGNER_KEYS 4              /* sign contexts kept per signer (ZSKs, KSKs in use) */
#define SIGNER_CANON ((size_t)128 * 1024)  /* canonical rdata of one RRset */

struct dnssec_signer {
	EVP_MD *sha256;               /**< SHA-256, fetched once (no implicit fetch per hash) */
	EVP_MD_CTX *md;               /**< SHA-256 context, reinitialised per signature */
	struct {
		uint64_t serial;      /**< key serial the context was made for (0: none) */
		EVP_PKEY_CTX *ctx;    /**< EVP_PKEY_sign_init'ed context (holds a key ref) */
	} keys[SIGNER_KEYS];          /**< sign contexts by key */
	unsigned next_key;            /**< round-robin replacement in keys */
	uint8_t *canon;               /**< SIGNER_CANON bytes: canonical rdata */
	uint32_t *off;                /**< DNSSEC_RRSET_MAX offsets into canon */
	uint16_t *len;                /**< DNSSEC_RRSET_MAX rdata lengths */
	uint16_t *idx;                /**< DNSSEC_RRSET_MAX sorted record order */
	uint16_t *tmp;                /**< DNSSEC_RRSET_MAX merge sort scratch */
};

int dnssec_signer_new(dnssec_signer_t **out)
{
	dnssec_signer_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ERR_NOMEM;
	s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->md = EVP_MD_CTX_new();
	s->canon = malloc(SIGNER_CANON);
	s->off = malloc(DNSSEC_RRSET_MAX * sizeof(*s->off));
	s->len = malloc(DNSSEC_RRSET_MAX * sizeof(*s->len));
	s->idx = malloc(DNSSEC_RRSET_MAX * sizeof(*s->idx));
	s->tmp = malloc(DNSSEC_RRSET_MAX * sizeof(*s->tmp));
	if (s->sha256 == NULL || s->md == NULL || s->canon == NULL || s->off == NULL ||
	    s->len == NULL || s->idx == NULL || s->tmp == NULL) {
		ERR_clear_error();
		dnssec_signer_free(s);
		return ERR_NOMEM;
	}
	*out = s;
	return ERR_OK;
}

void dnssec_signer_free(dnssec_signer_t *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < SIGNER_KEYS; i++)
		EVP_PKEY_CTX_free(s->keys[i].ctx);
	EVP_MD_CTX_free(s->md);
	EVP_MD_free(s->sha256);
	free(s->canon);
	free(s->off);
	free(s->len);
	free(s->idx);
	free(s->tmp);
	free(s);
}

static EVP_PKEY_CTX *signer_ctx(dnssec_signer_t *s, const dnssec_key_t *key)
{
	for (unsigned i = 0; i < SIGNER_KEYS; i++)
		if (s->keys[i].ctx != NULL && s->keys[i].serial == key->serial)
			return s->keys[i].ctx;
	unsigned i = s->next_key++ % SIGNER_KEYS;
	EVP_PKEY_CTX_free(s->keys[i].ctx);
	s->keys[i].ctx = NULL;
	s->keys[i].serial = 0;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, s->sha256) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	s->keys[i].ctx = ctx;
	s->keys[i].serial = key->serial;
	return ctx;
}

/* Canonical RR order: rdata as left-justified octet strings, shorter first on a tie. */
static int rd_cmp(const dnssec_signer_t *s, uint16_t a, uint16_t b)
{
	size_t la = s->len[a], lb = s->len[b];
	int c = memcmp(s->canon + s->off[a], s->canon + s->off[b], la < lb ? la : lb);
	if (c != 0)
		return c;
	return la < lb ? -1 : (la > lb ? 1 : 0);
}

/* Stable bottom-up merge sort of s->idx[0..n) (no allocation). */
static void sort_records(dnssec_signer_t *s, size_t n)
{
	uint16_t *a = s->idx, *b = s->tmp;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				b[k++] = rd_cmp(s, a[i], a[j]) <= 0 ? a[i++] : a[j++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		uint16_t *t = a;
		a = b;
		b = t;
	}
	if (a != s->idx)
		memcpy(s->idx, a, n * sizeof(*a));
}

/* DER ECDSA-Sig-Value length field at d[*p]; false if malformed. */
static bool der_len(const uint8_t *d, size_t n, size_t *p, size_t *len)
{
	if (*p >= n)
		return false;
	uint8_t b = d[(*p)++];
	if (b < 0x80) {
		*len = b;
	} else if (b == 0x81) {
		if (*p >= n || d[*p] < 0x80)
			return false;
		*len = d[(*p)++];
	} else {
		return false;
	}
	return *len <= n - *p;
}

/* One DER INTEGER into a 32-byte big-endian field. */
static bool der_int(const uint8_t *d, size_t n, size_t *p, uint8_t out[32])
{
	size_t len;
	if (*p >= n || d[(*p)++] != 0x02 || !der_len(d, n, p, &len) || len == 0)
		return false;
	const uint8_t *v = d + *p;
	*p += len;
	if (v[0] & 0x80)
		return false; /* negative: never from ECDSA */
	while (len > 0 && v[0] == 0) {
		v++;
		len--;
	}
	if (len > 32)
		return false;
	memset(out, 0, 32 - len);
	memcpy(out + 32 - len, v, len);
	return true;
}

/* RFC 6605 4: the signature is r || s, each 32 octets. */
static bool der_to_rs(const uint8_t *d, size_t n, uint8_t out[DNSSEC_SIG_LEN])
{
	size_t p = 0, seq;
	if (n < 2 || d[p++] != 0x30 || !der_len(d, n, &p, &seq) || p + seq != n)
		return false;
	return der_int(d, n, &p, out) && der_int(d, n, &p, out + 32) && p == n;
}

int dnssec_sign(dnssec_signer_t *s, const dnssec_key_t *key, const uint8_t *signer,
		const dnssec_rrset_t *rr, const dnssec_validity_t *val, uint8_t *out,
		size_t outlen, size_t *rdlen)
{
	uint8_t owner[255];
	size_t ol = name_len(rr->owner), sl = name_len(signer);
	if (ol == 0 || sl == 0)
		return ERR_INVAL;
	if (rr->count == 0 || rr->count > DNSSEC_RRSET_MAX)
		return rr->count == 0 ? ERR_INVAL : ERR_LIMIT;
	if (outlen < DNSSEC_RRSIG_FIXED + sl + DNSSEC_SIG_LEN)
		return ERR_LIMIT;

	/* The owner as signed: lower-cased, and "*.<labels>" for a wildcard signature. */
	unsigned nlab = name_labels(rr->owner);
	unsigned own = nlab;
	if (nlab > 0 && rr->owner[0] == 1 && rr->owner[1] == '*')
		own--;
	unsigned labels = rr->labels == 0 ? own : rr->labels;
	if (labels > own)
		return ERR_INVAL;
	const uint8_t *src = rr->owner;
	size_t sol = ol;
	if (labels < nlab) {
		for (unsigned i = 0; i < nlab - labels; i++) {
			sol -= (size_t)*src + 1;
			src += *src + 1;
		}
		if (sol + 2 > 255)
			return ERR_INVAL;
		owner[0] = 1;
		owner[1] = '*';
		name_lower(owner + 2, src, sol);
		sol += 2;
	} else {
		name_lower(owner, rr->owner, ol);
	}

	/* Canonical rdata into scratch. */
	size_t used = 0;
	for (size_t i = 0; i < rr->count; i++) {
		size_t l = rr->rdlen[i];
		if (l > SIGNER_CANON - used)
			return ERR_LIMIT;
		memcpy(s->canon + used, rr->rdata[i], l);
		if (!rdata_canon(rr->type, s->canon + used, l))
			return ERR_INVAL;
		s->off[i] = (uint32_t)used;
		s->len[i] = (uint16_t)l;
		s->idx[i] = (uint16_t)i;
		used += l;
	}
	sort_records(s, rr->count);

	/* RRSIG rdata up to the signature (RFC 4034 3.1). */
	put16(out, rr->type);
	out[2] = DNSSEC_ALG_ECDSAP256SHA256;
	out[3] = (uint8_t)labels;
	put32(out + 4, rr->ttl);
	put32(out + 8, val->expiration);
	put32(out + 12, val->inception);
	put16(out + 16, key->tag);
	name_lower(out + DNSSEC_RRSIG_FIXED, signer, sl);
	size_t hdr = DNSSEC_RRSIG_FIXED + sl;

	EVP_PKEY_CTX *pctx = signer_ctx(s, key);
	if (pctx == NULL)
		goto fail;
	if (EVP_DigestInit_ex2(s->md, s->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(s->md, out, hdr) != 1)
		goto fail;
	uint8_t tail[10];
	put16(tail, rr->type);
	put16(tail + 2, rr->rclass);
	put32(tail + 4, rr->ttl);
	for (size_t i = 0; i < rr->count; i++) {
		uint16_t r = s->idx[i];
		if (i > 0 && rd_cmp(s, s->idx[i - 1], r) == 0)
			continue; /* duplicate (RFC 4034 6.3) */
		put16(tail + 8, s->len[r]);
		if (EVP_DigestUpdate(s->md, owner, sol) != 1 ||
		    EVP_DigestUpdate(s->md, tail, sizeof(tail)) != 1 ||
		    EVP_DigestUpdate(s->md, s->canon + s->off[r], s->len[r]) != 1)
			goto fail;
	}
	uint8_t digest[32];
	uint8_t der[80];
	size_t derlen = sizeof(der);
	if (EVP_DigestFinal_ex(s->md, digest, NULL) != 1 ||
	    EVP_PKEY_sign(pctx, der, &derlen, digest, sizeof(digest)) != 1)
		goto fail;
	if (!der_to_rs(der, derlen, out + hdr))
		goto fail;
	*rdlen = hdr + DNSSEC_SIG_LEN;
	return ERR_OK;
fail:
	ERR_clear_error();
	return ERR_NOMEM;
}

void dnssec_validity_at(uint64_t now, uint32_t period, uint32_t skew, uint32_t lifetime,
			dnssec_validity_t *out)
{
	uint64_t start = now - now % period;
	/* RFC 4034 3.1.5: 32-bit serial-number times, so truncation is the encoding. */
	out->inception = (uint32_t)(start - skew);
	out->expiration = (uint32_t)(start + lifetime);
}

/* ---- compact denial ------------------------------------------------------------------ */

int dnssec_name_successor(const uint8_t *name, uint8_t *out, size_t outlen, size_t *len)
{
	uint8_t n[255];
	size_t nl = name_len(name);
	if (nl == 0)
		return ERR_INVAL;
	name_lower(n, name, nl);
	if (nl + 2 <= 255) { /* "\000.<name>" */
		if (outlen < nl + 2)
			return ERR_LIMIT;
		out[0] = 1;
		out[1] = 0;
		memcpy(out + 2, n, nl);
		*len = nl + 2;
		return ERR_OK;
	}
	if (n[0] < 63 && nl + 1 <= 255) { /* lengthen the first label by a zero octet */
		if (outlen < nl + 1)
			return ERR_LIMIT;
		out[0] = (uint8_t)(n[0] + 1);
		memcpy(out + 1, n + 1, n[0]);
		out[1 + n[0]] = 0;
		memcpy(out + 2 + n[0], n + 1 + n[0], nl - 1 - n[0]);
		*len = nl + 1;
		return ERR_OK;
	}
	/*
	 * Maximum length: increment the last octet of the first label that can be (skipping
	 * upper case, which sorts as lower case) and cut the label after it; a label of only
	 * 0xff octets has no successor below its parent, so move up one label.
	 */
	size_t p = 0;
	while (n[p] != 0) {
		uint8_t l = n[p];
		for (int i = l; i >= 1; i--) {
			uint8_t c = n[p + (size_t)i];
			if (c == 0xff)
				continue;
			c++;
			if (c == 'A')
				c = 'Z' + 1;
			size_t rest = nl - (p + 1 + l);
			size_t olen = 1 + (size_t)i + rest;
			if (outlen < olen)
				return ERR_LIMIT;
			out[0] = (uint8_t)i;
			memcpy(out + 1, n + p + 1, (size_t)i - 1);
			out[i] = c;
			memcpy(out + 1 + i, n + p + 1 + l, rest);
			*len = olen;
			return ERR_OK;
		}
		p += (size_t)l + 1;
	}
	return ERR_LIMIT;
}

/* Bitmap of the union of two type lists (RFC 4034 4.1.2). */
static int bitmap2(const uint16_t *a, size_t na, const uint16_t *b, size_t nb, uint8_t *out,
		   size_t outlen, size_t *len)
{
	size_t p = 0;
	int cur = -1;
	for (;;) {
		int win = 256;
		for (size_t i = 0; i < na + nb; i++) {
			int w = (i < na ? a[i] : b[i - na]) >> 8;
			if (w > cur && w < win)
				win = w;
		}
		if (win == 256)
			break;
		uint8_t map[32] = { 0 };
		size_t maplen = 0;
		for (size_t i = 0; i < na + nb; i++) {
			uint16_t t = i < na ? a[i] : b[i - na];
			if ((t >> 8) != win)
				continue;
			uint8_t lo = (uint8_t)t;
			map[lo >> 3] |= (uint8_t)(0x80 >> (lo & 7));
			if ((size_t)(lo >> 3) + 1 > maplen)
				maplen = (size_t)(lo >> 3) + 1;
		}
		if (outlen - p < 2 + maplen)
			return ERR_LIMIT;
		out[p] = (uint8_t)win;
		out[p + 1] = (uint8_t)maplen;
		memcpy(out + p + 2, map, maplen);
		p += 2 + maplen;
		cur = win;
	}
	*len = p;
	return ERR_OK;
}

int dnssec_type_bitmap(const uint16_t *types, size_t n, uint8_t *out, size_t outlen,
		       size_t *len)
{
	static const uint16_t none[1] = { 0 };
	return bitmap2(types, n, none, 0, out, outlen, len);
}

int dnssec_nsec_rdata(const uint8_t *owner, const uint16_t *types, size_t n, uint8_t *out,
		      size_t outlen, size_t *len)
{
	static const uint16_t always[] = { DNSSEC_TYPE_RRSIG, DNSSEC_TYPE_NSEC };
	size_t nl, bl;
	int ret = dnssec_name_successor(owner, out, outlen, &nl);
	if (ret != ERR_OK)
		return ret;
	ret = bitmap2(always, 2, types, n, out + nl, outlen - nl, &bl);
	if (ret != ERR_OK)
		return ret;
	*len = nl + bl;
	return ERR_OK;
}

/* ---- signature cache ----------------------------------------------------------------- */

typedef struct cslot {
	uint64_t hash;      /**< SipHash of the whole key (0 never stored: slot unused) */
	uint64_t rdset_id;  /**< key: RRset identity */
	uint64_t key_id;    /**< key: signing key identity */
	uint32_t next;      /**< hash chain: next slot index + 1, 0 = end */
	uint8_t plen;       /**< bytes of prefix */
	uint8_t ref;        /**< CLOCK reference bit */
	uint8_t used;       /**< slot holds an entry */
	uint8_t pad;        /**< (unused) */
	uint8_t fixed[DNSSEC_RRSIG_FIXED]; /**< RRSIG rdata before the signer name */
	uint8_t sig[DNSSEC_SIG_LEN];       /**< the signature */
	uint8_t prefix[DNSSEC_CACHE_PREFIX_MAX]; /**< owner minus the signer (lower case) */
} cslot_t;

_Static_assert(sizeof(cslot_t) == DNSSEC_CACHE_SLOT, "cache slot size");

struct dnssec_cache {
	cslot_t *slot;       /**< n slots */
	uint32_t *bucket;    /**< nb chain heads: slot index + 1, 0 = empty */
	size_t n;            /**< slots */
	size_t nb;           /**< buckets (power of two) */
	size_t count;        /**< slots in use (filled in order until n) */
	size_t hand;         /**< CLOCK hand */
	uint64_t k0, k1;     /**< SipHash key */
	dnssec_cache_stats_t st; /**< counters */
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                           \
	do {                                                                               \
		v0 += v1;                                                                  \
		v1 = ROTL(v1, 13);                                                         \
		v1 ^= v0;                                                                  \
		v0 = ROTL(v0, 32);                                                         \
		v2 += v3;                                                                  \
		v3 = ROTL(v3, 16);                                                         \
		v3 ^= v2;                                                                  \
		v0 += v3;                                                                  \
		v3 = ROTL(v3, 21);                                                         \
		v3 ^= v0;                                                                  \
		v2 += v1;                                                                  \
		v1 = ROTL(v1, 17);                                                         \
		v1 ^= v2;                                                                  \
		v2 = ROTL(v2, 32);                                                         \
	} while (0)

static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	size_t end = len - (len % 8);
	for (size_t i = 0; i < end; i += 8) {
		uint64_t m = 0;
		for (int j = 7; j >= 0; j--)
			m = m << 8 | in[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t j = 0; j < len % 8; j++)
		b |= (uint64_t)in[end + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int dnssec_cache_new(dnssec_cache_t **out, size_t budget)
{
	size_t n = budget / (sizeof(cslot_t) + 2 * sizeof(uint32_t));
	if (n < 16 || n > UINT32_MAX / 2)
		return ERR_INVAL;
	size_t nb = 1;
	while (nb < n)
		nb <<= 1;
	dnssec_cache_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ERR_NOMEM;
	c->slot = calloc(n, sizeof(*c->slot));
	c->bucket = calloc(nb, sizeof(*c->bucket));
	uint64_t k[2];
	if (c->slot == NULL || c->bucket == NULL ||
	    RAND_bytes((unsigned char *)k, sizeof(k)) != 1) {
		ERR_clear_error();
		dnssec_cache_free(c);
		return ERR_NOMEM;
	}
	c->k0 = k[0];
	c->k1 = k[1];
	c->n = n;
	c->nb = nb;
	*out = c;
	return ERR_OK;
}

void dnssec_cache_free(dnssec_cache_t *c)
{
	if (c == NULL)
		return;
	free(c->slot);
	free(c->bucket);
	free(c);
}

size_t dnssec_cache_memory(const dnssec_cache_t *c)
{
	return c->n * sizeof(cslot_t) + c->nb * sizeof(uint32_t);
}

size_t dnssec_cache_capacity(const dnssec_cache_t *c)
{
	return c->n;
}

size_t dnssec_cache_count(const dnssec_cache_t *c)
{
	return c->count;
}

void dnssec_cache_stats(const dnssec_cache_t *c, dnssec_cache_stats_t *st)
{
	*st = c->st;
}

/* A key taken apart: lower-cased owner prefix, lengths, hash. */
typedef struct ckey {
	uint8_t prefix[255]; /**< owner without the signer suffix, lower case */
	size_t plen;         /**< its bytes */
	size_t sl;           /**< bytes of the signer name */
	uint8_t fixed[DNSSEC_RRSIG_FIXED]; /**< type, window, tag at their RRSIG offsets */
	uint64_t hash;       /**< SipHash of everything */
} ckey_t;

static int ckey_make(const dnssec_cache_t *c, const dnssec_cache_key_t *k, ckey_t *ck)
{
	uint8_t buf[255 + 255 + DNSSEC_RRSIG_FIXED + 16]; /* owner, signer, fixed, ids */
	size_t ol = name_len(k->owner), sl = name_len(k->signer);
	if (ol == 0 || sl == 0 || sl > ol)
		return ERR_INVAL;
	/* The signer must be the owner's suffix at a label boundary. */
	size_t p = 0;
	while (ol - p > sl)
		p += (size_t)k->owner[p] + 1;
	if (ol - p != sl)
		return ERR_INVAL;
	for (size_t i = 0; i < sl; i++)
		if (lc(k->owner[p + i]) != lc(k->signer[i]))
			return ERR_INVAL;
	ck->plen = p;
	ck->sl = sl;
	name_lower(ck->prefix, k->owner, p);
	memset(ck->fixed, 0, sizeof(ck->fixed));
	put16(ck->fixed, k->type);
	put32(ck->fixed + 8, k->val.expiration);
	put32(ck->fixed + 12, k->val.inception);
	put16(ck->fixed + 16, k->key_tag);
	name_lower(buf, k->owner, ol);
	name_lower(buf + ol, k->signer, sl);
	size_t q = ol + sl;
	memcpy(buf + q, ck->fixed, sizeof(ck->fixed));
	q += sizeof(ck->fixed);
	for (int i = 0; i < 8; i++) {
		buf[q + (size_t)i] = (uint8_t)(k->rdset_id >> (8 * i));
		buf[q + 8 + (size_t)i] = (uint8_t)(k->key_id >> (8 * i));
	}
	q += 16;
	ck->hash = siphash24(c->k0, c->k1, buf, q) | 1; /* never 0 */
	return ERR_OK;
}

static bool slot_match(const cslot_t *s, const dnssec_cache_key_t *k, const ckey_t *ck)
{
	return s->hash == ck->hash && s->rdset_id == k->rdset_id && s->key_id == k->key_id &&
	       s->plen == ck->plen && memcmp(s->fixed, ck->fixed, 2) == 0 &&
	       memcmp(s->fixed + 8, ck->fixed + 8, 10) == 0 &&
	       memcmp(s->prefix, ck->prefix, ck->plen) == 0;
}

static cslot_t *cache_lookup(dnssec_cache_t *c, const dnssec_cache_key_t *k, const ckey_t *ck)
{
	for (uint32_t i = c->bucket[ck->hash & (c->nb - 1)]; i != 0; i = c->slot[i - 1].next)
		if (slot_match(&c->slot[i - 1], k, ck))
			return &c->slot[i - 1];
	return NULL;
}

int dnssec_cache_find(dnssec_cache_t *c, const dnssec_cache_key_t *key, uint8_t *out,
		      size_t outlen, size_t *len)
{
	ckey_t ck;
	int ret = ckey_make(c, key, &ck);
	if (ret != ERR_OK)
		return ret;
	cslot_t *s = ck.plen <= DNSSEC_CACHE_PREFIX_MAX ? cache_lookup(c, key, &ck) : NULL;
	if (s == NULL) {
		c->st.misses++;
		return ERR_NOTFOUND;
	}
	size_t need = DNSSEC_RRSIG_FIXED + ck.sl + DNSSEC_SIG_LEN;
	if (outlen < need)
		return ERR_LIMIT;
	memcpy(out, s->fixed, DNSSEC_RRSIG_FIXED);
	name_lower(out + DNSSEC_RRSIG_FIXED, key->signer, ck.sl);
	memcpy(out + DNSSEC_RRSIG_FIXED + ck.sl, s->sig, DNSSEC_SIG_LEN);
	*len = need;
	s->ref = 1;
	c->st.hits++;
	return ERR_OK;
}

static void cache_unlink(dnssec_cache_t *c, size_t idx)
{
	uint32_t *pp = &c->bucket[c->slot[idx].hash & (c->nb - 1)];
	while (*pp != 0) {
		if (*pp == idx + 1) {
			*pp = c->slot[idx].next;
			return;
		}
		pp = &c->slot[*pp - 1].next;
	}
}

int dnssec_cache_insert(dnssec_cache_t *c, const dnssec_cache_key_t *key,
			const uint8_t *rrsig, size_t len)
{
	ckey_t ck;
	int ret = ckey_make(c, key, &ck);
	if (ret != ERR_OK)
		return ret;
	/* The RRSIG must be the one for this key. */
	if (len != DNSSEC_RRSIG_FIXED + ck.sl + DNSSEC_SIG_LEN ||
	    memcmp(rrsig, ck.fixed, 2) != 0 || memcmp(rrsig + 8, ck.fixed + 8, 10) != 0)
		return ERR_INVAL;
	for (size_t i = 0; i < ck.sl; i++)
		if (lc(rrsig[DNSSEC_RRSIG_FIXED + i]) != lc(key->signer[i]))
			return ERR_INVAL;
	if (ck.plen > DNSSEC_CACHE_PREFIX_MAX) {
		c->st.refused++;
		return ERR_LIMIT;
	}
	cslot_t *s = cache_lookup(c, key, &ck);
	if (s == NULL) {
		size_t idx;
		if (c->count < c->n) {
			idx = c->count++;
		} else {
			/* CLOCK: clear reference bits until an unreferenced slot comes round. */
			for (;;) {
				idx = c->hand;
				c->hand = (c->hand + 1) % c->n;
				if (c->slot[idx].ref == 0)
					break;
				c->slot[idx].ref = 0;
			}
			cache_unlink(c, idx);
			c->st.evictions++;
		}
		s = &c->slot[idx];
		s->hash = ck.hash;
		s->rdset_id = key->rdset_id;
		s->key_id = key->key_id;
		s->plen = (uint8_t)ck.plen;
		s->used = 1;
		memcpy(s->prefix, ck.prefix, ck.plen);
		uint32_t *head = &c->bucket[ck.hash & (c->nb - 1)];
		s->next = *head;
		*head = (uint32_t)(idx + 1);
	}
	s->ref = 0; /* a new entry must be hit once before it earns a second round */
	memcpy(s->fixed, rrsig, DNSSEC_RRSIG_FIXED);
	memcpy(s->sig, rrsig + DNSSEC_RRSIG_FIXED + ck.sl, DNSSEC_SIG_LEN);
	c->st.inserts++;
	return ERR_OK;
}
