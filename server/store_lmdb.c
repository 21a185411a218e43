/* SPDX-License-Identifier: MIT */
/*
 * store_lmdb.c -- the LMDB store (store.h), one environment in one directory.
 *
 * Layout: two named databases. "kv" holds the keys; "meta" holds "rev", the last committed
 * revision as 8 bytes big-endian, written in the same write transaction as the commit's
 * keys, so a crash leaves all of a commit or none of it. The environment uses LMDB's
 * default durability (no MDB_NOSYNC, MDB_NOMETASYNC or MDB_WRITEMAP): a commit is on disk
 * when mdb_txn_commit() returns.
 *
 * Long keys: LMDB keys are at most 511 bytes, ours up to 2048 (and the code takes any
 * length). A key of more than LMDB_HEAD (400) bytes is stored under its first 400 bytes,
 * '#' and the 64 hex digits of its SHA-256 (465 bytes; short keys have at most 400, so the
 * two kinds never meet), and its value carries the real key. Every value starts with a
 * tag byte:
 *   'S' value                  the LMDB key is the real key
 *   'L' len(4, BE) key value   the LMDB key is the mapped key; key is the real key
 * Order: store_range walks the LMDB keys in byte order. That is the byte order of the real
 * keys, except that long keys sharing their first 400 bytes come in the order of their
 * hashes rather than of their remaining bytes.
 *
 * Map size: 1 GiB at first (or what the store already has, if more). A write transaction
 * that fills the map is aborted, the map doubled (mdb_env_set_mapsize) and the commit
 * retried, up to LMDB_MAP_MAX.
 *
 * Open: MDB_NOTLS (a read transaction belongs to no thread), and mdb_reader_check() frees
 * the reader slots of processes that were killed. A failed commit aborts its transaction
 * (nothing applied), is logged with LMDB's reason, and returns ERR_IO (ERR_NOMEM for
 * ENOMEM). One write transaction holds at most about 128k dirty pages (LMDB's
 * MDB_IDL_UM_MAX); a bigger commit fails with MDB_TXN_FULL.
 */
#include "store_int.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define LMDB_HEAD 400                         /* bytes of a long key kept in its LMDB key */
#define LMDB_MKEY_LEN (LMDB_HEAD + 1 + 64)    /* length of a mapped long key */
#define LMDB_MAP_INIT ((size_t)1 << 30)       /* initial map size: 1 GiB */
#if SIZE_MAX > 0xffffffffu
#define LMDB_MAP_MAX ((size_t)1 << 40)        /* growth stops here: 1 TiB */
#else
#define LMDB_MAP_MAX ((size_t)1 << 31)        /* 32-bit address space: 2 GiB */
#endif
#define LMDB_TAG_SHORT 'S'
#define LMDB_TAG_LONG 'L'
#define LMDB_REV_KEY "rev"

typedef struct lmdb_store {
	store_t base;   /* must be first */
	MDB_env *env;   /* the environment */
	MDB_dbi kv;     /* "kv": the keys */
	MDB_dbi meta;   /* "meta": the revision */
	size_t mapsize; /* current map size */
	bool broken;    /* a failed remap left the environment unusable: everything fails */
	char *dir;      /* the directory; owned */
	char *desc;     /* "lmdb DIR"; owned */
} lmdb_store_t;

static int lmdb_err(int rc)
{
	return rc == ENOMEM ? ERR_NOMEM : ERR_IO;
}

/* The LMDB key of key: key itself, or its mapped form written into buf. 0 or an errno. */
static int lmdb_map_key(const char *key, size_t klen, char buf[LMDB_MKEY_LEN], MDB_val *mk)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (klen <= LMDB_HEAD) {
		mk->mv_size = klen;
		mk->mv_data = (void *)key;
		return 0;
	}
	if (EVP_Digest(key, klen, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return EIO;
	memcpy(buf, key, LMDB_HEAD);
	buf[LMDB_HEAD] = '#';
	for (unsigned int i = 0; i < mdlen; i++) {
		buf[LMDB_HEAD + 1 + 2 * i] = hex[md[i] >> 4];
		buf[LMDB_HEAD + 2 + 2 * i] = hex[md[i] & 0x0f];
	}
	mk->mv_size = LMDB_MKEY_LEN;
	mk->mv_data = buf;
	return 0;
}

/* Split one stored entry into the real key and value. 0 or MDB_CORRUPTED. */
static int lmdb_decode(const MDB_val *mk, const MDB_val *data, const char **key, size_t *klen,
		       const char **val, size_t *vlen)
{
	const unsigned char *p = data->mv_data;
	size_t len;

	if (data->mv_size < 1)
		return MDB_CORRUPTED;
	if (p[0] == LMDB_TAG_SHORT) {
		*key = mk->mv_data;
		*klen = mk->mv_size;
		*val = (const char *)p + 1;
		*vlen = data->mv_size - 1;
		return 0;
	}
	if (p[0] != LMDB_TAG_LONG || data->mv_size < 5)
		return MDB_CORRUPTED;
	len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | (size_t)p[4];
	if (len > data->mv_size - 5)
		return MDB_CORRUPTED;
	*key = (const char *)p + 5;
	*klen = len;
	*val = (const char *)p + 5 + len;
	*vlen = data->mv_size - 5 - len;
	return 0;
}

/* Begin a transaction, following a map grown by another process. 0 or an LMDB error. */
static int lmdb_begin(lmdb_store_t *ls, unsigned int flags, MDB_txn **txn)
{
	int rc = MDB_PANIC;

	*txn = NULL;
	if (ls->broken)
		return MDB_PANIC;
	for (int tries = 0; tries < 3; tries++) {
		rc = mdb_txn_begin(ls->env, NULL, flags, txn);
		if (rc != MDB_MAP_RESIZED)
			return rc;
		rc = mdb_env_set_mapsize(ls->env, 0);
		if (rc != 0) {
			ls->broken = true;
			return rc;
		}
		MDB_envinfo info;
		if (mdb_env_info(ls->env, &info) == 0)
			ls->mapsize = info.me_mapsize;
	}
	return rc;
}

static int lmdb_read_rev(MDB_txn *txn, MDB_dbi meta, uint64_t *rev)
{
	MDB_val k = { sizeof(LMDB_REV_KEY) - 1, (void *)LMDB_REV_KEY }, d;
	const unsigned char *p;
	int rc = mdb_get(txn, meta, &k, &d);

	*rev = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (d.mv_size != 8)
		return MDB_CORRUPTED;
	p = d.mv_data;
	for (int i = 0; i < 8; i++)
		*rev = *rev << 8 | p[i];
	return 0;
}

static int lmdb_write_rev(MDB_txn *txn, MDB_dbi meta, uint64_t rev)
{
	unsigned char b[8];
	MDB_val k = { sizeof(LMDB_REV_KEY) - 1, (void *)LMDB_REV_KEY }, d;

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(rev >> (56 - 8 * i));
	d.mv_size = sizeof(b);
	d.mv_data = b;
	return mdb_put(txn, meta, &k, &d, 0);
}

static void lmdb_close(store_t *s)
{
	lmdb_store_t *ls = (lmdb_store_t *)s;

	if (ls->env != NULL)
		mdb_env_close(ls->env);
	free(ls->desc);
	free(ls->dir);
	free(ls);
}

static int lmdb_get(store_t *s, const char *key, char **val, size_t *vlen)
{
	lmdb_store_t *ls = (lmdb_store_t *)s;
	size_t klen = strlen(key);
	char kbuf[LMDB_MKEY_LEN];
	MDB_txn *txn = NULL;
	MDB_val mk, d;
	const char *rk = NULL, *rv = NULL;
	size_t rklen = 0, rvlen = 0;
	char *copy;
	int ret = ERR_IO;
	int rc = lmdb_map_key(key, klen, kbuf, &mk);

	if (rc == 0)
		rc = lmdb_begin(ls, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_get(txn, ls->kv, &mk, &d);
	if (rc == MDB_NOTFOUND) {
		ret = ERR_NOTFOUND;
		goto out;
	}
	if (rc == 0)
		rc = lmdb_decode(&mk, &d, &rk, &rklen, &rv, &rvlen);
	if (rc == 0 && (rklen != klen || memcmp(rk, key, klen) != 0))
		rc = MDB_CORRUPTED; /* a long key under another key's hash */
	if (rc != 0) {
		log_msg(LOG_ERR, "store %s: get: %s", ls->dir, mdb_strerror(rc));
		ret = lmdb_err(rc);
		goto out;
	}
	copy = malloc(rvlen + 1);
	if (copy == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	memcpy(copy, rv, rvlen);
	copy[rvlen] = '\0';
	*val = copy;
	*vlen = rvlen;
	ret = ERR_OK;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return ret;
}

static int lmdb_range(store_t *s, const char *prefix, store_kv_fn fn, void *ctx, uint64_t *rev)
{
	lmdb_store_t *ls = (lmdb_store_t *)s;
	size_t plen = strlen(prefix);
	size_t slen = plen < LMDB_HEAD ? plen : LMDB_HEAD; /* what the LMDB keys must start with */
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k = { slen, (void *)prefix }, d;
	char *buf = NULL; /* "key\0value\0" of the current entry */
	size_t bcap = 0;
	uint64_t r = 0;
	int ret = ERR_IO;
	int rc = lmdb_begin(ls, MDB_RDONLY, &txn);

	if (rc == 0)
		rc = lmdb_read_rev(txn, ls->meta, &r);
	if (rc == 0)
		rc = mdb_cursor_open(txn, ls->kv, &cur);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &d, slen > 0 ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0) {
		const char *rk = NULL, *rv = NULL;
		size_t rklen = 0, rvlen = 0;

		if (k.mv_size < slen || memcmp(k.mv_data, prefix, slen) != 0)
			break;
		rc = lmdb_decode(&k, &d, &rk, &rklen, &rv, &rvlen);
		if (rc != 0)
			break;
		/* a prefix longer than LMDB_HEAD: the LMDB keys cannot tell, the real key can */
		if (plen == slen || (rklen >= plen && memcmp(rk, prefix, plen) == 0)) {
			size_t need;
			if (rklen > SIZE_MAX / 2 || rvlen > SIZE_MAX / 2 - 2) {
				rc = ENOMEM;
				break;
			}
			need = rklen + rvlen + 2;
			if (buf == NULL || bcap < need) {
				size_t want = need < 256 ? 256 : need;
				char *nb = realloc(buf, want);
				if (nb == NULL) {
					rc = ENOMEM;
					break;
				}
				buf = nb;
				bcap = want;
			}
			memcpy(buf, rk, rklen);
			buf[rklen] = '\0';
			memcpy(buf + rklen + 1, rv, rvlen);
			buf[rklen + 1 + rvlen] = '\0';
			ret = fn(ctx, buf, buf + rklen + 1, rvlen);
			if (ret != 0)
				goto out;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_msg(LOG_ERR, "store %s: range '%.64s': %s", ls->dir, prefix, mdb_strerror(rc));
		ret = lmdb_err(rc);
		goto out;
	}
	if (rev != NULL)
		*rev = r;
	ret = ERR_OK;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	free(buf);
	return ret;
}

/* One attempt at a commit in one write transaction. 0 (and *newrev) or an LMDB error,
 * with the transaction aborted. */
static int lmdb_commit_once(lmdb_store_t *ls, const store_op_t *ops, size_t n,
			    uint64_t *newrev)
{
	char kbuf[LMDB_MKEY_LEN];
	MDB_txn *txn = NULL;
	uint64_t rev = 0;
	int rc = lmdb_begin(ls, 0, &txn);

	if (rc == 0)
		rc = lmdb_read_rev(txn, ls->meta, &rev);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const store_op_t *op = &ops[i];
		size_t klen = strlen(op->key);
		bool is_long = klen > LMDB_HEAD;
		size_t hdr = is_long ? 5 + klen : 1;
		MDB_val mk, d;
		unsigned char *p;

		rc = lmdb_map_key(op->key, klen, kbuf, &mk);
		if (rc != 0)
			break;
		if (op->val == NULL) {
			rc = mdb_del(txn, ls->kv, &mk, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
			continue;
		}
		if (klen > UINT32_MAX || op->vlen > SIZE_MAX - hdr) {
			rc = MDB_BAD_VALSIZE;
			break;
		}
		d.mv_size = hdr + op->vlen;
		d.mv_data = NULL;
		rc = mdb_put(txn, ls->kv, &mk, &d, MDB_RESERVE);
		if (rc != 0)
			break;
		p = d.mv_data;
		if (is_long) {
			p[0] = LMDB_TAG_LONG;
			p[1] = (unsigned char)(klen >> 24);
			p[2] = (unsigned char)(klen >> 16);
			p[3] = (unsigned char)(klen >> 8);
			p[4] = (unsigned char)klen;
			memcpy(p + 5, op->key, klen);
		} else {
			p[0] = LMDB_TAG_SHORT;
		}
		if (op->vlen > 0)
			memcpy(p + hdr, op->val, op->vlen);
	}
	if (rc == 0)
		rc = lmdb_write_rev(txn, ls->meta, rev + 1);
	if (rc == 0) {
		rc = mdb_txn_commit(txn); /* frees txn, even on failure */
		txn = NULL;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc == 0)
		*newrev = rev + 1;
	return rc;
}

/* Double the map; no transaction may be open. 0 or an LMDB error. */
static int lmdb_grow(lmdb_store_t *ls)
{
	size_t want = ls->mapsize * 2;
	MDB_envinfo info;
	int rc = mdb_env_set_mapsize(ls->env, want);

	if (rc != 0) {
		/* LMDB unmapped the old map before the new mmap failed; without a map every
		 * transaction would crash, so the store refuses all work until reopened */
		ls->broken = true;
		log_msg(LOG_ERR, "store %s: growing the map to %zu MiB: %s", ls->dir, want >> 20,
			mdb_strerror(rc));
		return rc;
	}
	if (mdb_env_info(ls->env, &info) == 0)
		ls->mapsize = info.me_mapsize;
	log_msg(LOG_NOTICE, "store %s: map size grown to %zu MiB", ls->dir, ls->mapsize >> 20);
	return 0;
}

static int lmdb_commit(store_t *s, const store_op_t *ops, size_t n)
{
	lmdb_store_t *ls = (lmdb_store_t *)s;
	uint64_t rev = 0;
	int rc;

	for (;;) {
		rc = lmdb_commit_once(ls, ops, n, &rev);
		if (rc != MDB_MAP_FULL || ls->mapsize > LMDB_MAP_MAX / 2)
			break;
		rc = lmdb_grow(ls);
		if (rc != 0)
			break;
	}
	if (rc != 0) {
		log_msg(LOG_ERR, "store %s: commit of %zu operations: %s", ls->dir, n,
			mdb_strerror(rc));
		return lmdb_err(rc);
	}
	s->rev = rev;
	return ERR_OK;
}

static const store_vtab_t lmdb_vtab = {
	.close = lmdb_close,
	.get = lmdb_get,
	.range = lmdb_range,
	.commit = lmdb_commit,
};

int store_open_lmdb_sized(const char *dir, size_t mapsize, store_t **out, char *err,
			  size_t errlen)
{
	lmdb_store_t *ls = NULL;
	MDB_txn *txn = NULL;
	MDB_envinfo info;
	const char *what = NULL; /* the failed step, for err */
	uint64_t rev = 0;
	size_t dlen;
	int dead = 0;
	int rc = 0;
	int ret = ERR_NOMEM;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (dir == NULL || dir[0] == '\0') {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "store: no directory given");
		return ERR_IO;
	}
	dlen = strlen(dir);
	ls = calloc(1, sizeof(*ls));
	if (ls == NULL)
		goto out;
	ls->dir = strdup(dir);
	ls->desc = malloc(dlen + sizeof("lmdb "));
	if (ls->dir == NULL || ls->desc == NULL)
		goto out;
	memcpy(ls->desc, "lmdb ", 5);
	memcpy(ls->desc + 5, dir, dlen + 1);
	store_base_init(&ls->base, &lmdb_vtab, ls->desc);

	ret = ERR_IO;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = errno;
		what = "mkdir";
		goto out;
	}
	what = "mdb_env_create";
	rc = mdb_env_create(&ls->env);
	if (rc != 0) {
		ls->env = NULL;
		goto out;
	}
	what = "mdb_env_set_maxdbs";
	rc = mdb_env_set_maxdbs(ls->env, 2);
	if (rc != 0)
		goto out;
	what = "mdb_env_open";
	rc = mdb_env_open(ls->env, dir, MDB_NOTLS, 0600);
	if (rc != 0)
		goto out;
	what = "mdb_reader_check";
	rc = mdb_reader_check(ls->env, &dead);
	if (rc != 0)
		goto out;
	if (dead > 0)
		log_msg(LOG_NOTICE, "store %s: cleared %d stale readers", dir, dead);
	what = "key size";
	if (mdb_env_get_maxkeysize(ls->env) < LMDB_MKEY_LEN) {
		rc = MDB_BAD_VALSIZE;
		goto out;
	}
	/* an existing store keeps its (maybe grown) size; a smaller one gets mapsize */
	what = "mdb_env_info";
	rc = mdb_env_info(ls->env, &info);
	if (rc != 0)
		goto out;
	if (info.me_mapsize < mapsize) {
		what = "mdb_env_set_mapsize";
		rc = mdb_env_set_mapsize(ls->env, mapsize);
		if (rc != 0)
			goto out;
		what = "mdb_env_info";
		rc = mdb_env_info(ls->env, &info);
		if (rc != 0)
			goto out;
	}
	ls->mapsize = info.me_mapsize;

	what = "mdb_txn_begin";
	rc = lmdb_begin(ls, 0, &txn);
	if (rc != 0)
		goto out;
	what = "open database kv";
	rc = mdb_dbi_open(txn, "kv", MDB_CREATE, &ls->kv);
	if (rc != 0)
		goto out;
	what = "open database meta";
	rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &ls->meta);
	if (rc != 0)
		goto out;
	what = "read revision";
	rc = lmdb_read_rev(txn, ls->meta, &rev);
	if (rc != 0)
		goto out;
	what = "mdb_txn_commit";
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	ls->base.rev = rev;
	*out = &ls->base;
	ls = NULL;
	ret = ERR_OK;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (ret != ERR_OK && what != NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "store %s: %s: %s", dir, what, mdb_strerror(rc));
	else if (ret != ERR_OK && err != NULL && errlen > 0)
		snprintf(err, errlen, "store %s: %s", dir, err_str(ret));
	if (ret != ERR_OK && rc != 0)
		ret = lmdb_err(rc);
	if (ls != NULL)
		lmdb_close(&ls->base);
	return ret;
}

int store_open_lmdb(const char *dir, store_t **out, char *err, size_t errlen)
{
	return store_open_lmdb_sized(dir, LMDB_MAP_INIT, out, err, errlen);
}
