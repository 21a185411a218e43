/* SPDX-License-Identifier: MIT */
/* fuzz_query.c -- libFuzzer target for the query parser. */
#include "query.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	query_t q;
	int st = query_parse(data, size, &q);
	if (st == QP_OK) {
		/* invariants the answer code relies on */
		if (q.qend > size || q.zq.qnamelen == 0 || q.zq.qname[q.zq.qnamelen - 1] != 0)
			__builtin_trap();
		if (q.ecs != NULL && (q.ecs < data || q.ecs + q.ecs_len > data + size))
			__builtin_trap();
	}
	return 0;
}
