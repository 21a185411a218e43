/* SPDX-License-Identifier: MIT */
/*
 * zdb_bytes.c -- where the bytes of one compiled zone go, by structure, in today's layout
 * and (computed from the same counts) in the layout before issue 10. Not built by CMake:
 *
 *   B=build-rel; cc -O2 -std=c11 -D_GNU_SOURCE -Izones -Iserver -Igeo -Ihealthcheck \
 *     tests/bench/zdb_bytes.c $B/zones/libr53d_zones.a $B/geo/libr53d_geo.a \
 *     $B/healthcheck/libr53d_healthcheck.a $B/server/libr53d_base.a \
 *     -lldns -ljansson -lmaxminddb -lzscanner -lm -o /tmp/zdb_bytes
 *   /tmp/zdb_bytes tests/bench/out/zone-1000000-s1/bench.test.zone bench.test.
 */
#include "zdb_int.h"
#include <stdio.h>
#include <stdlib.h>
static size_t r16(size_t n) { return (n + 15) & ~(size_t)15; }
static size_t r8(size_t n) { return (n + 7) & ~(size_t)7; }
static size_t p2(size_t n) { size_t s = 16; while (s < n) s <<= 1; return s; }
int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: zdb_bytes ZONEFILE ORIGIN\n");
		return 2;
	}
	zdb_src_t src = { .id = "/hostedzone/Z", .name = argv[2], .zone_file = argv[1] };
	zdb_opts_t o = { 0 };
	zdb_t *db; char err[512];
	if (zdb_build(&src, 1, &o, &db, err, sizeof(err)) != 0) { fprintf(stderr, "%s\n", err); return 1; }
	const zdb_zone_t *z = &db->zones[0];
	size_t nodes = 0, names = 0, rrsets = 0, rd = 0, tg = 0, n_nodes = 0, n_rrsets = 0, n_rec = 0;
	size_t o_node = 0, o_name = 0, o_rrsets = 0, o_ptr = 0, o_len = 0, o_rd = 0, o_tg = 0;
	for (uint64_t i = 0; i <= z->nodes.mask; i++) {
		const zdb_node_t *n = z->nodes.slot[i];
		if (n == NULL) continue;
		n_nodes++;
		nodes += r8(sizeof(*n) + n->namelen) - n->namelen; names += n->namelen;
		o_node += 80; o_name += r16(n->namelen);
		rrsets += n->n_rrsets * sizeof(zdb_rrset_t);
		if (n->n_rrsets) o_rrsets += r16(n->n_rrsets * 56u);
		for (uint16_t k = 0; k < n->n_rrsets; k++) {
			const zdb_rrset_t *rs = &n->rrsets[k];
			n_rrsets++; n_rec += rs->count;
			o_ptr += r16(8u * rs->count); o_len += r16(2u * rs->count);
			uint16_t l = 0; const uint8_t *p = NULL;
			for (uint16_t c = 0; c < rs->count; c++) {
				p = c ? zdb_rd_next(p, &l) : zdb_rd_first(rs, &l);
				rd += 2u + l; o_rd += r16(l ? l : 1);
			}
			if (rs->target) { tg += 8u * rs->count; o_tg += r16(8u * rs->count); }
		}
	}
	size_t table = (z->nodes.mask + 1) * 8, arena = db->blobs[0]->bytes;
	size_t sum = nodes + names + rrsets + rd + tg + table;
	size_t o_nodes_arr = r16(8 * n_nodes), o_view = p2(n_nodes * 2) * 8;
	size_t o_sum = o_node + o_name + o_rrsets + o_ptr + o_len + o_rd + o_tg + o_nodes_arr;
#define M(x) ((double)(x) / 1048576.0)
	printf("%zu nodes, %zu RRsets, %zu records\n", n_nodes, n_rrsets, n_rec);
	printf("| structure | before (MiB) | after (MiB) |\n|---|---|---|\n");
	printf("| node structs | %.1f | %.1f |\n", M(o_node), M(nodes));
	printf("| owner names | %.1f | %.1f |\n", M(o_name), M(names));
	printf("| RRset structs | %.1f | %.1f |\n", M(o_rrsets), M(rrsets));
	printf("| rdata pointer arrays | %.1f | 0 |\n", M(o_ptr));
	printf("| rdata length arrays | %.1f | (in rdata) |\n", M(o_len));
	printf("| rdata | %.1f | %.1f |\n", M(o_rd), M(rd));
	printf("| additional-target arrays | %.1f | %.1f |\n", M(o_tg), M(tg));
	printf("| zone node list (blob) | %.1f | 0 |\n", M(o_nodes_arr));
	printf("| name hash table | %.1f (view, %zu slots) | %.1f (zone, %zu slots) |\n", M(o_view), o_view / 8, M(table), table / 8);
	printf("| arena slack | ? | %.1f |\n", M(arena - sum));
	printf("| total | %.1f + slack | %.1f |\n", M(o_sum + o_view), M(arena));
	zdb_free(db);
	return 0;
}
