/* SPDX-License-Identifier: MIT */
/* testdns.c -- /testdnsanswer: one query through the answer path, explained. */
#include "testdns.h"
#include "answer.h"
#include "policy.h"
#include "query.h"
#include "wire.h"
#include "zanswer.h"
#include "zdb_int.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int error(json_t **out, int code, const char *msg)
{
	*out = json_pack("{s:s}", "error", msg);
	return code;
}

static const zdb_zone_t *find_zone(const zdb_t *db, const char *id)
{
	if (strncmp(id, "/hostedzone/", 12) == 0)
		id += 12;
	for (size_t i = 0; i < db->n_zones; i++) {
		const char *zid = db->zones[i].id;
		if (strncmp(zid, "/hostedzone/", 12) == 0)
			zid += 12;
		if (strcmp(zid, id) == 0)
			return &db->zones[i];
	}
	return NULL;
}

int testdns_answer(const zdb_t *db, const testdns_params_t *p, json_t **out)
{
	if (p->hostedzoneid == NULL || p->recordname == NULL || p->recordtype == NULL)
		return error(out, 400, "hostedzoneid, recordname and recordtype are required");
	const zdb_zone_t *zone = find_zone(db, p->hostedzoneid);
	if (zone == NULL)
		return error(out, 404, "NoSuchHostedZone: no hosted zone with that id");
	ldns_rr_type type = ldns_get_rr_type_by_name(p->recordtype);
	if (type == 0)
		return error(out, 400, "recordtype is not a record type");
	ldns_rdf *dn = ldns_dname_new_frm_str(p->recordname);
	if (dn == NULL)
		return error(out, 400, "recordname is not a valid name");
	ldns_dname2canonical(dn);
	ldns_rdf *apex = ldns_dname_new_frm_data(zone->apex->namelen, zone->apex->name);
	bool inside = apex != NULL && (ldns_dname_compare(dn, apex) == 0 || ldns_dname_is_subdomain(dn, apex));
	ldns_rdf_deep_free(apex);
	if (!inside) {
		ldns_rdf_deep_free(dn);
		return error(out, 404, "recordname is not in the hosted zone");
	}

	/* The resolver address. */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	const char *rip = p->resolverip ? p->resolverip : "127.0.0.1";
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, rip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, rip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
	} else {
		ldns_rdf_deep_free(dn);
		return error(out, 400, "resolverip is not an IP address");
	}

	/* The query: header, question, and OPT with ECS when asked. */
	uint8_t q[600];
	size_t n = 12;
	memset(q, 0, sizeof(q));
	q[1] = 1;
	q[5] = 1;
	memcpy(q + n, ldns_rdf_data(dn), ldns_rdf_size(dn));
	n += ldns_rdf_size(dn);
	ldns_rdf_deep_free(dn);
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	if (p->edns0clientsubnetip != NULL) {
		uint8_t a[16];
		int fam = strchr(p->edns0clientsubnetip, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(fam, p->edns0clientsubnetip, a) != 1)
			return error(out, 400, "edns0clientsubnetip is not an IP address");
		int bits = fam == AF_INET ? 32 : 128;
		int mask = p->edns0clientsubnetmask ? atoi(p->edns0clientsubnetmask)
						     : (fam == AF_INET ? 24 : 64);
		if (mask < 0 || mask > bits)
			return error(out, 400, "edns0clientsubnetmask is out of range");
		for (int i = mask; i < bits; i++) /* the resolver truncates (ECS-6) */
			a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		size_t alen = ((size_t)mask + 7) / 8;
		q[11] = 1;
		uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, (uint8_t)(8 + alen), 0, 8, 0,
				  (uint8_t)(4 + alen), 0, (uint8_t)(fam == AF_INET ? 1 : 2),
				  (uint8_t)mask, 0 };
		memcpy(q + n, opt, sizeof(opt));
		n += sizeof(opt);
		memcpy(q + n, a, alen);
		n += alen;
	}

	query_t qq;
	if (query_parse(q, n, &qq) != QP_OK)
		return error(out, 400, "cannot build a query from these parameters");
	geo_ecs_t ecs;
	qq.zq.tcp = false;
	qq.zq.src = (const struct sockaddr *)&ss;
	qq.zq.ecs = NULL;
	if (qq.ecs != NULL) {
		if (geo_ecs_parse(qq.ecs, qq.ecs_len, &ecs) != GEO_OK)
			return error(out, 400, "invalid client subnet");
		qq.zq.ecs = &ecs;
	}
	static uint8_t buf[65535];
	memcpy(buf, q, qq.qend);
	wire_t w;
	wire_init(&w, buf, qq.qend, sizeof(buf));
	wire_remember(&w, WIRE_HDR, qq.zq.qname);
	char text[4096];
	pol_explain_t why = { .buf = text, .cap = sizeof(text), .len = 0 };
	text[0] = '\0';
	zresult_t res;
	uint64_t rng[2] = { (uint64_t)time(NULL) | 1, 0x9E3779B97F4A7C15ULL };
	zdb_answer_explain(db, &qq.zq, rng, &w, &res, &why);
	wire_set16(buf + 6, res.an);
	wire_set16(buf + 8, res.ns);
	wire_set16(buf + 10, res.ar);
	buf[2] = 0x80;
	buf[3] = res.rcode;

	ldns_pkt *pkt = NULL;
	json_t *data = json_array();
	if (ldns_wire2pkt(&pkt, buf, w.len) == LDNS_STATUS_OK) {
		ldns_rr_list *an = ldns_pkt_answer(pkt);
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			ldns_buffer *b = ldns_buffer_new(256);
			for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
				if (k)
					ldns_buffer_printf(b, " ");
				ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, k));
			}
			char *s = ldns_buffer_export2str(b);
			json_array_append_new(data, json_string(s ? s : ""));
			free(s);
			ldns_buffer_free(b);
		}
		ldns_pkt_free(pkt);
	}
	char *rc = ldns_pkt_rcode2str(res.rcode);
	char ecs_text[80] = "";
	if (qq.zq.ecs != NULL)
		snprintf(ecs_text, sizeof(ecs_text), "%s/%s", p->edns0clientsubnetip,
			 p->edns0clientsubnetmask ? p->edns0clientsubnetmask : "default");
	*out = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:{s:s, s:s?, s:s?, s:b, s:s}}",
			 "Nameserver", "r53d", "RecordName", p->recordname, "RecordType",
			 p->recordtype, "RecordData", data, "ResponseCode", rc ? rc : "?",
			 "Protocol", "UDP", "Explanation", "Policy",
			 zdb_policy_name(res.policy), "SetIdentifier", res.chosen, "ClientSubnet",
			 ecs_text[0] ? ecs_text : NULL, "LocationUsed", res.location_used, "Steps",
			 text);
	free(rc);
	return *out ? 200 : error(out, 500, "out of memory");
}
