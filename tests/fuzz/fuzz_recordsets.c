/* SPDX-License-Identifier: MIT */
/*
 * fuzz_recordsets.c -- libFuzzer target: Route 53 record-set JSON through zdb_build (parse,
 * per-set checks, groups, aliases, loops), then a few queries against whatever loaded.
 */
#include "answer.h"
#include "zdb.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hc_find(void *ctx, const char *id, uint32_t *slot)
{
	(void)ctx;
	*slot = (uint32_t)strlen(id) % 4;
	return id[0] == 'h' ? 0 : -6;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *rs = json_loadb((const char *)data, size, 0, NULL);
	if (rs == NULL)
		return 0;
	zdb_src_t src = { .id = "/hostedzone/Z1POLICY", .name = "policy.test.",
			  .zone_file = R53D_FUZZ_POLICY_ZONE, .record_sets = rs };
	zdb_opts_t o = { .cname_chasing = true, .authority_ns = true, .edns_udp_size = 1232,
			 .hc_find = hc_find };
	zdb_t *db = NULL;
	char err[512];
	if (zdb_build(&src, 1, &o, &db, err, sizeof(err)) == 0) {
		static const char *const names[] = { "\3www\6policy\4test", "\1w\6policy\4test",
						     "\3app\6policy\4test", "\6policy\4test" };
		static uint8_t out[4096];
		answer_ctx_t ctx;
		answer_ctx_init(&ctx, 1);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			uint8_t q[300] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
			size_t n = strlen(names[i]) + 1;
			memcpy(q + 12, names[i], n);
			q[12 + n + 1] = 1; /* A */
			q[12 + n + 3] = 1; /* IN */
			size_t len = answer_build(&ctx, db, q, 12 + n + 4, out, sizeof(out), NULL, false);
			if (len > 1232)
				__builtin_trap();
		}
		zdb_free(db);
	}
	json_decref(rs);
	return 0;
}
