/* SPDX-License-Identifier: MIT */
/* fuzz_answer.c -- libFuzzer target: answer_build over UDP and TCP on a fixed zone, and
 * over UDP through the answer cache (a store, then a hit of the same length). The zone is
 * DNSSEC-signed (keys generated at start) and both contexts have a signer: queries with DO
 * are answered signed (zsign_answer), with compact denial and the CO flag. */
#include "acache.h"
#include "answer.h"
#include "dnssec.h"
#include "zdb.h"
#include "zsign.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static zdb_t *db;
static answer_ctx_t ctx, cached;
static uint8_t out[65535], out2[4096];

static void load(void)
{
	dnssec_key_t *ksk = NULL, *zsk = NULL;
	if (dnssec_key_generate(&ksk, DNSSEC_FLAGS_KSK) != 0 ||
	    dnssec_key_generate(&zsk, DNSSEC_FLAGS_ZSK) != 0)
		abort();
	zdb_sec_src_t sec = { .ksk = &ksk, .n_ksk = 1, .zsk = zsk };
	zdb_src_t src = { .id = "Z1", .name = "example.com.", .zone_file = R53D_FUZZ_ZONE,
			  .dnssec = &sec };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232,
			 .chaos_version = "fuzz" };
	char err[512];
	if (zdb_build(&src, 1, &o, &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_answer: %s\n", err);
		abort();
	}
	dnssec_key_free(ksk);
	dnssec_key_free(zsk);
	answer_ctx_init(&ctx, 1);
	answer_ctx_init(&cached, 2);
	/* one signer for both contexts (one thread): the cache's responses carry the RRSIGs
	 * the full path made */
	if (zsign_new(&ctx.sign, ZSIGN_CACHE_DEFAULT) != 0)
		abort();
	cached.sign = ctx.sign;
	if (acache_new((size_t)1 << 20, &cached.cache) != 0)
		abort();
	acache_begin(cached.cache, db, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (db == NULL)
		load();
	size_t n = answer_build(&ctx, db, data, size, out, 512, NULL, false);
	if (n > 512 || (n > 0 && n < 12))
		__builtin_trap();
	/* the cache: the first answer may store, the second may hit: then just as long */
	size_t c1 = answer_build(&cached, db, data, size, out2, sizeof(out2), NULL, false);
	uint64_t hits = acache_stats(cached.cache)->hits;
	size_t c2 = answer_build(&cached, db, data, size, out2, sizeof(out2), NULL, false);
	bool hit = acache_stats(cached.cache)->hits > hits;
	if ((hit && c1 != c2) || c2 > sizeof(out2) || (c2 > 0 && c2 < 12))
		__builtin_trap();
	n = answer_build(&ctx, db, data, size, out, sizeof(out), NULL, true);
	if (n > sizeof(out) || (n > 0 && n < 12))
		__builtin_trap();
	return 0;
}
