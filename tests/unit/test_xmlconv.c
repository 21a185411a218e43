/* SPDX-License-Identifier: MIT */
/*
 * test_xmlconv.c -- Route 53 XML <-> JSON: every XML example of ROUTE53-API.md (requests
 * parse to the CLI's JSON shapes; responses written back byte for byte), lists (<member>,
 * <Cidr>, empty wrappers), typed leaves, order independence, exact text, the writer's
 * escaping, the error body, and the inputs that must be refused (DOCTYPE, XXE, billion
 * laughs, PIs, unclosed tags, depth, repeated elements) -- without a word on stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "err.h"
#include "xmlconv.h"

#define NS "https://route53.amazonaws.com/doc/2013-04-01/"
#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/* ---- helpers ---- */

static char last_err[256];

/* Parse xml; returns the error code, the object in *out (or NULL), root in root. */
static int parse(const char *xml, char *root, json_t **out)
{
	char rbuf[128];
	json_t *j = NULL;
	int ret = xmlconv_parse(xml, strlen(xml), root != NULL ? root : rbuf, sizeof(rbuf), &j,
				last_err, sizeof(last_err));
	if (ret == ERR_OK) {
		assert_non_null(j);
		assert_true(json_is_object(j));
		assert_string_equal(last_err, "");
	} else {
		assert_null(j);
		assert_true(last_err[0] != '\0');
	}
	if (out != NULL)
		*out = j;
	else
		json_decref(j);
	return ret;
}

/* Parse xml, which must succeed. */
static json_t *ok(const char *xml)
{
	json_t *j = NULL;
	int ret = parse(xml, NULL, &j);
	if (ret != ERR_OK)
		fail_msg("parse failed (%d): %s\n%s", ret, last_err, xml);
	return j;
}

/* The JSON text of j, compact and in iteration order; caller frees. */
static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(s);
	return s;
}

/* Parse xml and compare with the JSON text want (key order ignored). */
static void expect_json(const char *xml, const char *want)
{
	json_t *j = ok(xml);
	json_error_t je;
	json_t *w = json_loads(want, 0, &je);
	if (w == NULL)
		fail_msg("bad JSON in test: %s", je.text);
	if (!json_equal(j, w)) {
		char *got = dump(j);
		fail_msg("got  %s\nwant %s", got, want);
	}
	json_decref(w);
	json_decref(j);
}

/* Parse xml, which must fail with code and an error containing needle. */
static void expect_fail(const char *xml, int code, const char *needle)
{
	int ret = parse(xml, NULL, NULL);
	if (ret != code)
		fail_msg("got %d (%s), want %d for\n%s", ret, last_err, code, xml);
	if (needle != NULL && strstr(last_err, needle) == NULL)
		fail_msg("error [%s] lacks [%s]", last_err, needle);
}

/* Write and return the document as a string (caller frees); ret receives the code. */
static char *write_doc(const char *root, const json_t *body, int *ret)
{
	struct evbuffer *b = evbuffer_new();
	assert_non_null(b);
	assert_int_equal(evbuffer_add(b, "x", 1), 0); /* what was there stays */
	*ret = xmlconv_write(b, root, body);
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	assert_non_null(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	assert_int_equal(s[0], 'x');
	memmove(s, s + 1, n);
	if (*ret != ERR_OK)
		assert_string_equal(s, "");
	return s;
}

static char *write_ok(const char *root, const json_t *body)
{
	int ret;
	char *s = write_doc(root, body, &ret);
	assert_int_equal(ret, ERR_OK);
	assert_true(strncmp(s, DECL, strlen(DECL)) == 0);
	return s;
}

/* The element markup of a document: no declaration, no blanks between tags. */
static char *minify(const char *xml)
{
	if (strncmp(xml, "<?xml", 5) == 0)
		xml = strstr(xml, "?>") + 2;
	char *s = malloc(strlen(xml) + 1);
	assert_non_null(s);
	size_t o = 0;
	for (const char *p = xml; *p; p++) {
		if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
			/* drop a blank run that sits between '>' and '<' (or at either end) */
			const char *q = p;
			while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')
				q++;
			if ((o == 0 || s[o - 1] == '>') && (*q == '<' || *q == '\0')) {
				p = q - 1;
				continue;
			}
		}
		s[o++] = *p;
	}
	s[o] = '\0';
	return s;
}

/* ---- the examples of ROUTE53-API.md ---- */

typedef struct example {
	const char *op, *kind, *xml;
} example_t;

static const example_t examples[] = {
	{ "CreateHostedZone", "request",
	  "<CreateHostedZoneRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<Name>example.com</Name><CallerReference>ref-1</CallerReference>"
	  "<HostedZoneConfig><Comment>hello</Comment><PrivateZone>false</PrivateZone>"
	  "</HostedZoneConfig></CreateHostedZoneRequest>\n" },
	{ "CreateHostedZone", "response",
	  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	  "<CreateHostedZoneResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <HostedZone>\n"
	  "    <Id>/hostedzone/Z1PA6795UKMFR9</Id>\n"
	  "    <Name>example.com.</Name>\n"
	  "    <CallerReference>ref-1</CallerReference>\n"
	  "    <Config><Comment>hello</Comment><PrivateZone>false</PrivateZone></Config>\n"
	  "    <ResourceRecordSetCount>2</ResourceRecordSetCount>\n"
	  "  </HostedZone>\n"
	  "  <ChangeInfo>\n"
	  "    <Id>/change/C1PA6795UKMFR9</Id>\n"
	  "    <Status>PENDING</Status>\n"
	  "    <SubmittedAt>2026-12-05T17:34:33.123Z</SubmittedAt>\n"
	  "  </ChangeInfo>\n"
	  "  <DelegationSet>\n"
	  "    <NameServers>\n"
	  "      <NameServer>ns1.r53d.test</NameServer>\n"
	  "      <NameServer>ns2.r53d.test</NameServer>\n"
	  "    </NameServers>\n"
	  "  </DelegationSet>\n"
	  "</CreateHostedZoneResponse>\n" },
	{ "GetHostedZone", "response",
	  "<GetHostedZoneResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <HostedZone><Id>/hostedzone/Z1PA6795UKMFR9</Id><Name>example.com.</Name>"
	  "<CallerReference>ref-1</CallerReference><Config><PrivateZone>"
	  "false</PrivateZone></Config><ResourceRecordSetCount>8</ResourceRecordSetCount>"
	  "</HostedZone>\n"
	  "  <DelegationSet><NameServers><NameServer>ns1.r53d.test</NameServer>"
	  "<NameServer>ns2.r53d.test</NameServer></NameServers></DelegationSet>\n"
	  "</GetHostedZoneResponse>\n" },
	{ "ListHostedZones", "response",
	  "<ListHostedZonesResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <HostedZones>\n"
	  "    <HostedZone><Id>/hostedzone/Z1PA6795UKMFR9</Id><Name>example.com.</Name>"
	  "<CallerReference>ref-1</CallerReference><Config><PrivateZone>"
	  "false</PrivateZone></Config><ResourceRecordSetCount>8</ResourceRecordSetCount>"
	  "</HostedZone>\n"
	  "  </HostedZones>\n"
	  "  <IsTruncated>true</IsTruncated>\n"
	  "  <NextMarker>Z2682N5HXP0BZ4</NextMarker>\n"
	  "  <MaxItems>1</MaxItems>\n"
	  "</ListHostedZonesResponse>\n" },
	{ "ListHostedZonesByName", "response",
	  "<ListHostedZonesByNameResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <HostedZones>\n"
	  "    <HostedZone><Id>/hostedzone/Z1PA6795UKMFR9</Id><Name>example.com.</Name>"
	  "<CallerReference>ref-1</CallerReference><Config><PrivateZone>"
	  "false</PrivateZone></Config><ResourceRecordSetCount>8</ResourceRecordSetCount>"
	  "</HostedZone>\n"
	  "  </HostedZones>\n"
	  "  <DNSName>example.com.</DNSName>\n"
	  "  <IsTruncated>true</IsTruncated>\n"
	  "  <NextDNSName>example.net.</NextDNSName>\n"
	  "  <NextHostedZoneId>Z3M3LMPEXAMPLE</NextHostedZoneId>\n"
	  "  <MaxItems>1</MaxItems>\n"
	  "</ListHostedZonesByNameResponse>\n" },
	{ "ListHostedZonesByVPC", "response",
	  "<ListHostedZonesByVPCResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <HostedZoneSummaries>\n"
	  "    <HostedZoneSummary><HostedZoneId>Z1PA6795UKMFR9</HostedZoneId><Name>"
	  "priv.example.</Name><Owner><OwningAccount>123456789012</OwningAccount></Owner>"
	  "</HostedZoneSummary>\n"
	  "  </HostedZoneSummaries>\n"
	  "  <MaxItems>100</MaxItems>\n"
	  "</ListHostedZonesByVPCResponse>\n" },
	{ "DeleteHostedZone", "response",
	  "<DeleteHostedZoneResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status>"
	  "<SubmittedAt>2026-12-05T17:40:00.000Z</SubmittedAt></ChangeInfo>"
	  "</DeleteHostedZoneResponse>\n" },
	{ "ChangeResourceRecordSets", "request",
	  "<ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <ChangeBatch>\n"
	  "    <Comment>failover drill</Comment>\n"
	  "    <Changes>\n"
	  "      <Change>\n"
	  "        <Action>UPSERT</Action>\n"
	  "        <ResourceRecordSet>\n"
	  "          <Name>www.example.com</Name><Type>A</Type><SetIdentifier>"
	  "primary</SetIdentifier><Failover>PRIMARY</Failover><TTL>60</TTL>\n"
	  "          <ResourceRecords><ResourceRecord><Value>192.0.2.1</Value>"
	  "</ResourceRecord><ResourceRecord><Value>192.0.2.2</Value></ResourceRecord>"
	  "</ResourceRecords>\n"
	  "          <HealthCheckId>02ec8401-9879-4259-91fa-04e66d094674</HealthCheckId>\n"
	  "        </ResourceRecordSet>\n"
	  "      </Change>\n"
	  "      <Change>\n"
	  "        <Action>CREATE</Action>\n"
	  "        <ResourceRecordSet>\n"
	  "          <Name>alias.example.com</Name><Type>A</Type>\n"
	  "          <AliasTarget><HostedZoneId>Z2</HostedZoneId><DNSName>"
	  "x.example.com</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth>"
	  "</AliasTarget>\n"
	  "          <GeoLocation><CountryCode>US</CountryCode><SubdivisionCode>"
	  "CA</SubdivisionCode></GeoLocation>\n"
	  "          <SetIdentifier>geo</SetIdentifier>\n"
	  "        </ResourceRecordSet>\n"
	  "      </Change>\n"
	  "      <Change>\n"
	  "        <Action>DELETE</Action>\n"
	  "        <ResourceRecordSet>\n"
	  "          <Name>c.example.com</Name><Type>A</Type><SetIdentifier>"
	  "cidr</SetIdentifier>\n"
	  "          <CidrRoutingConfig><CollectionId>"
	  "c8c02a84-aaaa-bbbb-cccc-111111111111</CollectionId><LocationName>"
	  "loc1</LocationName></CidrRoutingConfig>\n"
	  "          <GeoProximityLocation><Coordinates><Latitude>49.22</Latitude>"
	  "<Longitude>-74.01</Longitude></Coordinates><Bias>10</Bias>"
	  "</GeoProximityLocation>\n"
	  "          <MultiValueAnswer>true</MultiValueAnswer><Weight>10</Weight><Region>"
	  "us-east-1</Region><TTL>0</TTL>\n"
	  "          <ResourceRecords><ResourceRecord><Value>1.2.3.4</Value>"
	  "</ResourceRecord></ResourceRecords>\n"
	  "        </ResourceRecordSet>\n"
	  "      </Change>\n"
	  "    </Changes>\n"
	  "  </ChangeBatch>\n"
	  "</ChangeResourceRecordSetsRequest>\n" },
	{ "ChangeResourceRecordSets", "response",
	  "<ChangeResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status>"
	  "<SubmittedAt>2017-02-10T01:36:41.958Z</SubmittedAt><Comment>"
	  "failover drill</Comment></ChangeInfo></ChangeResourceRecordSetsResponse>\n" },
	{ "ListResourceRecordSets", "response",
	  "<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <ResourceRecordSets>\n"
	  "    <ResourceRecordSet><Name>example.com.</Name><Type>NS</Type><TTL>"
	  "172800</TTL><ResourceRecords><ResourceRecord><Value>ns1.r53d.test.</Value>"
	  "</ResourceRecord></ResourceRecords></ResourceRecordSet>\n"
	  "    <ResourceRecordSet><Name>example.com.</Name><Type>SOA</Type><TTL>900</TTL>"
	  "<ResourceRecords><ResourceRecord><Value>"
	  "ns1.r53d.test. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400</Value>"
	  "</ResourceRecord></ResourceRecords></ResourceRecordSet>\n"
	  "    <ResourceRecordSet><Name>www.example.com.</Name><Type>A</Type>"
	  "<SetIdentifier>primary</SetIdentifier><Failover>PRIMARY</Failover><TTL>"
	  "60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value>"
	  "</ResourceRecord></ResourceRecords><HealthCheckId>"
	  "02ec8401-9879-4259-91fa-04e66d094674</HealthCheckId></ResourceRecordSet>\n"
	  "    <ResourceRecordSet><Name>\\052.example.com.</Name><Type>A</Type>"
	  "<AliasTarget><HostedZoneId>Z1PA6795UKMFR9</HostedZoneId><DNSName>"
	  "www.example.com.</DNSName><EvaluateTargetHealth>false</EvaluateTargetHealth>"
	  "</AliasTarget></ResourceRecordSet>\n"
	  "  </ResourceRecordSets>\n"
	  "  <IsTruncated>true</IsTruncated>\n"
	  "  <NextRecordName>www.example.com.</NextRecordName>\n"
	  "  <NextRecordType>A</NextRecordType>\n"
	  "  <NextRecordIdentifier>secondary</NextRecordIdentifier>\n"
	  "  <MaxItems>4</MaxItems>\n"
	  "</ListResourceRecordSetsResponse>\n" },
	{ "GetChange", "response",
	  "<GetChangeResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>INSYNC</Status>"
	  "<SubmittedAt>2017-02-10T01:36:41.958Z</SubmittedAt><Comment>"
	  "failover drill</Comment></ChangeInfo></GetChangeResponse>\n" },
	{ "CreateHealthCheck", "request",
	  "<CreateHealthCheckRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<CallerReference>hc-1</CallerReference><HealthCheckConfig><IPAddress>"
	  "192.0.2.10</IPAddress><Port>80</Port><Type>HTTP</Type><ResourcePath>"
	  "/health</ResourcePath><RequestInterval>10</RequestInterval><FailureThreshold>"
	  "2</FailureThreshold><Regions><Region>us-east-1</Region><Region>"
	  "us-west-1</Region><Region>eu-west-1</Region></Regions><EnableSNI>"
	  "false</EnableSNI></HealthCheckConfig></CreateHealthCheckRequest>\n" },
	{ "CreateHealthCheck", "response",
	  "<CreateHealthCheckResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <HealthCheck>\n"
	  "    <Id>02ec8401-9879-4259-91fa-04e66d094674</Id>\n"
	  "    <CallerReference>hc-1</CallerReference>\n"
	  "    <HealthCheckConfig>\n"
	  "      <IPAddress>192.0.2.10</IPAddress><Port>80</Port><Type>HTTP</Type>"
	  "<ResourcePath>/health</ResourcePath>\n"
	  "      <RequestInterval>10</RequestInterval><FailureThreshold>"
	  "2</FailureThreshold><MeasureLatency>false</MeasureLatency>\n"
	  "      <Inverted>false</Inverted><Disabled>false</Disabled><EnableSNI>"
	  "false</EnableSNI>\n"
	  "      <Regions><Region>us-east-1</Region><Region>us-west-1</Region><Region>"
	  "eu-west-1</Region></Regions>\n"
	  "    </HealthCheckConfig>\n"
	  "    <HealthCheckVersion>1</HealthCheckVersion>\n"
	  "  </HealthCheck>\n"
	  "</CreateHealthCheckResponse>\n" },
	{ "ListHealthChecks", "response",
	  "<ListHealthChecksResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <HealthChecks>\n"
	  "    <HealthCheck><Id>02ec8401-9879-4259-91fa-04e66d094674</Id>"
	  "<CallerReference>hc-1</CallerReference><HealthCheckConfig><IPAddress>"
	  "192.0.2.10</IPAddress><Port>80</Port><Type>HTTP</Type><ResourcePath>"
	  "/health</ResourcePath><RequestInterval>10</RequestInterval><FailureThreshold>"
	  "2</FailureThreshold></HealthCheckConfig><HealthCheckVersion>"
	  "1</HealthCheckVersion></HealthCheck>\n"
	  "  </HealthChecks>\n"
	  "  <IsTruncated>false</IsTruncated>\n"
	  "  <MaxItems>100</MaxItems>\n"
	  "</ListHealthChecksResponse>\n" },
	{ "UpdateHealthCheck", "request",
	  "<UpdateHealthCheckRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<HealthCheckVersion>2</HealthCheckVersion><Inverted>true</Inverted><Disabled>"
	  "false</Disabled><ResetElements><ResettableElementName>"
	  "ResourcePath</ResettableElementName><ResettableElementName>"
	  "Regions</ResettableElementName></ResetElements></UpdateHealthCheckRequest>\n" },
	{ "GetHealthCheckStatus", "response",
	  "<GetHealthCheckStatusResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <HealthCheckObservations>\n"
	  "    <HealthCheckObservation>\n"
	  "      <Region>us-east-1</Region>\n"
	  "      <IPAddress>15.177.2.1</IPAddress>\n"
	  "      <StatusReport><Status>Success: HTTP Status Code 200, OK</Status>"
	  "<CheckedTime>2026-12-05T17:48:16.751Z</CheckedTime></StatusReport>\n"
	  "    </HealthCheckObservation>\n"
	  "    <HealthCheckObservation>\n"
	  "      <Region>eu-west-1</Region>\n"
	  "      <IPAddress>15.177.50.1</IPAddress>\n"
	  "      <StatusReport><Status>"
	  "Failure: Resolved IP: 192.0.2.10. The connection was closed by the endpoint.</Status>"
	  "<CheckedTime>2026-12-05T17:48:19.002Z</CheckedTime></StatusReport>\n"
	  "    </HealthCheckObservation>\n"
	  "  </HealthCheckObservations>\n"
	  "</GetHealthCheckStatusResponse>\n" },
	{ "GetHealthCheckCount", "response",
	  "<GetHealthCheckCountResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<HealthCheckCount>3</HealthCheckCount></GetHealthCheckCountResponse>\n" },
	{ "GetHostedZoneCount", "response",
	  "<GetHostedZoneCountResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<HostedZoneCount>2</HostedZoneCount></GetHostedZoneCountResponse>\n" },
	{ "GetCheckerIpRanges", "response",
	  "<GetCheckerIpRangesResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<CheckerIpRanges><member>15.177.0.0/18</member><member>"
	  "54.183.255.128/26</member></CheckerIpRanges></GetCheckerIpRangesResponse>\n" },
	{ "TestDNSAnswer", "response",
	  "<TestDNSAnswerResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\n"
	  "  <Nameserver>ns1.r53d.test</Nameserver>\n"
	  "  <RecordName>www.example.com</RecordName>\n"
	  "  <RecordType>A</RecordType>\n"
	  "  <RecordData><RecordDataEntry>192.0.2.1</RecordDataEntry></RecordData>\n"
	  "  <ResponseCode>NOERROR</ResponseCode>\n"
	  "  <Protocol>UDP</Protocol>\n"
	  "</TestDNSAnswerResponse>\n" },
	{ "CreateCidrCollection", "response",
	  "<CreateCidrCollectionResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<Collection><Arn>"
	  "arn:aws:route53:::cidrcollection/c8c02a84-aaaa-bbbb-cccc-111111111111</Arn>"
	  "<Id>c8c02a84-aaaa-bbbb-cccc-111111111111</Id><Name>coll1</Name><Version>"
	  "1</Version></Collection></CreateCidrCollectionResponse>\n" },
	{ "ListCidrCollections", "response",
	  "<ListCidrCollectionsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<CidrCollections><member><Arn>"
	  "arn:aws:route53:::cidrcollection/c8c02a84-aaaa-bbbb-cccc-111111111111</Arn>"
	  "<Id>c8c02a84-aaaa-bbbb-cccc-111111111111</Id><Name>coll1</Name><Version>"
	  "2</Version></member></CidrCollections></ListCidrCollectionsResponse>\n" },
	{ "ChangeCidrCollection", "request",
	  "<ChangeCidrCollectionRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<CollectionVersion>1</CollectionVersion><Changes><member><LocationName>"
	  "loc1</LocationName><Action>PUT</Action><CidrList><Cidr>192.0.2.0/24</Cidr>"
	  "<Cidr>198.51.100.0/24</Cidr></CidrList></member><member><LocationName>"
	  "loc2</LocationName><Action>DELETE_IF_EXISTS</Action><CidrList><Cidr>"
	  "203.0.113.0/24</Cidr></CidrList></member></Changes>"
	  "</ChangeCidrCollectionRequest>\n" },
	{ "ListCidrLocations", "response",
	  "<ListCidrLocationsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<CidrLocations><member><LocationName>loc1</LocationName></member><member>"
	  "<LocationName>loc2</LocationName></member></CidrLocations>"
	  "</ListCidrLocationsResponse>\n" },
	{ "ListCidrBlocks", "response",
	  "<ListCidrBlocksResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<CidrBlocks><member><CidrBlock>192.0.2.0/24</CidrBlock><LocationName>"
	  "loc1</LocationName></member></CidrBlocks></ListCidrBlocksResponse>\n" },
	{ "ChangeTagsForResource", "request",
	  "<ChangeTagsForResourceRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<AddTags><Tag><Key>env</Key><Value>prod</Value></Tag><Tag><Key>team</Key>"
	  "<Value>dns</Value></Tag></AddTags><RemoveTagKeys><Key>old</Key>"
	  "</RemoveTagKeys></ChangeTagsForResourceRequest>\n" },
	{ "ListTagsForResource", "response",
	  "<ListTagsForResourceResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<ResourceTagSet><ResourceType>healthcheck</ResourceType><ResourceId>"
	  "02ec8401-9879-4259-91fa-04e66d094674</ResourceId><Tags><Tag><Key>Name</Key>"
	  "<Value>primary-web</Value></Tag></Tags></ResourceTagSet>"
	  "</ListTagsForResourceResponse>\n" },
	{ "GetHostedZoneLimit", "response",
	  "<GetHostedZoneLimitResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<Limit><Type>MAX_RRSETS_BY_ZONE</Type><Value>10000</Value></Limit><Count>"
	  "8</Count></GetHostedZoneLimitResponse>\n" },
	{ "UpdateHostedZoneComment", "request",
	  "<UpdateHostedZoneCommentRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<Comment>new c</Comment></UpdateHostedZoneCommentRequest>" },
	{ "AssociateVPCWithHostedZone", "request",
	  "<AssociateVPCWithHostedZoneRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<VPC><VPCRegion>us-east-1</VPCRegion><VPCId>vpc-2</VPCId></VPC><Comment>"
	  "hi</Comment></AssociateVPCWithHostedZoneRequest>" },
	{ "CreateCidrCollection", "request",
	  "<CreateCidrCollectionRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<Name>coll1</Name><CallerReference>cr-1</CallerReference>"
	  "</CreateCidrCollectionRequest>" },
	{ "ListTagsForResources", "request",
	  "<ListTagsForResourcesRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	  "<ResourceIds><ResourceId>Z1</ResourceId><ResourceId>Z2</ResourceId>"
	  "</ResourceIds></ListTagsForResourcesRequest>" },
	{ "Error", "response",
	  "<?xml version=\"1.0\"?>\n"
	  "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error>"
	  "<Type>Sender</Type><Code>NoSuchHostedZone</Code><Message>"
	  "No hosted zone found with ID: Z0NOPE</Message></Error><RequestId>"
	  "aaaaaaaa-2222-3333-4444-555555555555</RequestId></ErrorResponse>" },
	{ "InvalidChangeBatch", "response",
	  "<?xml version=\"1.0\"?>\n"
	  "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error>"
	  "<Type>Sender</Type><Code>InvalidChangeBatch</Code><Message>"
	  "[Tried to create resource record set [name='a.example.com.', type='A'] but it already exists, Tried to delete resource record set [name='b.example.com.', type='A'] but it was not found]</Message>"
	  "</Error><RequestId>11111111-2222-3333-4444-555555555555</RequestId>"
	  "</ErrorResponse>" },
};

#define N_EXAMPLES (sizeof(examples) / sizeof(examples[0]))

static const char *example(const char *op, const char *kind)
{
	for (size_t i = 0; i < N_EXAMPLES; i++)
		if (strcmp(examples[i].op, op) == 0 && strcmp(examples[i].kind, kind) == 0)
			return examples[i].xml;
	fail_msg("no example %s %s", op, kind);
	return NULL;
}

/* Every example: parse, write back, parse again to the same JSON and root; responses are
 * written back exactly as the spec shows them (blanks between elements aside). */
static void test_spec_examples(void **state)
{
	(void)state;
	assert_true(N_EXAMPLES >= 30);
	for (size_t i = 0; i < N_EXAMPLES; i++) {
		const example_t *e = &examples[i];
		char root[128], root2[128], want_root[128];
		json_t *j = NULL, *j2 = NULL;
		if (parse(e->xml, root, &j) != ERR_OK)
			fail_msg("%s %s: %s", e->op, e->kind, last_err);
		if (strcmp(e->kind, "response") == 0 && strstr(e->xml, "<ErrorResponse") != NULL)
			snprintf(want_root, sizeof(want_root), "ErrorResponse");
		else
			snprintf(want_root, sizeof(want_root), "%s%s", e->op,
				 strcmp(e->kind, "request") == 0 ? "Request" : "Response");
		assert_string_equal(root, want_root);
		char *out = write_ok(root, j);
		if (parse(out, root2, &j2) != ERR_OK)
			fail_msg("%s %s: written back: %s\n%s", e->op, e->kind, last_err, out);
		assert_string_equal(root2, root);
		if (!json_equal(j, j2))
			fail_msg("%s %s: round trip changed the JSON", e->op, e->kind);
		if (strcmp(e->kind, "response") == 0) {
			char *want = minify(e->xml), *got = minify(out);
			if (strcmp(want, got) != 0)
				fail_msg("%s response:\ngot  %s\nwant %s", e->op, got, want);
			free(want);
			free(got);
		}
		free(out);
		json_decref(j);
		json_decref(j2);
	}
}

/* The JSON shapes the CLI prints and accepts. */
static void test_request_shapes(void **state)
{
	(void)state;
	expect_json(example("ChangeResourceRecordSets", "request"),
		    "{\"ChangeBatch\": {\"Comment\": \"failover drill\", \"Changes\": ["
		    "{\"Action\": \"UPSERT\", \"ResourceRecordSet\": {\"Name\": \"www.example.com\","
		    " \"Type\": \"A\", \"SetIdentifier\": \"primary\", \"Failover\": \"PRIMARY\","
		    " \"TTL\": 60, \"ResourceRecords\": [{\"Value\": \"192.0.2.1\"},"
		    " {\"Value\": \"192.0.2.2\"}],"
		    " \"HealthCheckId\": \"02ec8401-9879-4259-91fa-04e66d094674\"}},"
		    "{\"Action\": \"CREATE\", \"ResourceRecordSet\": {\"Name\": \"alias.example.com\","
		    " \"Type\": \"A\", \"AliasTarget\": {\"HostedZoneId\": \"Z2\","
		    " \"DNSName\": \"x.example.com\", \"EvaluateTargetHealth\": true},"
		    " \"GeoLocation\": {\"CountryCode\": \"US\", \"SubdivisionCode\": \"CA\"},"
		    " \"SetIdentifier\": \"geo\"}},"
		    "{\"Action\": \"DELETE\", \"ResourceRecordSet\": {\"Name\": \"c.example.com\","
		    " \"Type\": \"A\", \"SetIdentifier\": \"cidr\", \"CidrRoutingConfig\": {"
		    "\"CollectionId\": \"c8c02a84-aaaa-bbbb-cccc-111111111111\","
		    " \"LocationName\": \"loc1\"}, \"GeoProximityLocation\": {\"Coordinates\": {"
		    "\"Latitude\": \"49.22\", \"Longitude\": \"-74.01\"}, \"Bias\": 10},"
		    " \"MultiValueAnswer\": true, \"Weight\": 10, \"Region\": \"us-east-1\","
		    " \"TTL\": 0, \"ResourceRecords\": [{\"Value\": \"1.2.3.4\"}]}}]}}");
	expect_json(example("ChangeCidrCollection", "request"),
		    "{\"CollectionVersion\": 1, \"Changes\": ["
		    "{\"LocationName\": \"loc1\", \"Action\": \"PUT\","
		    " \"CidrList\": [\"192.0.2.0/24\", \"198.51.100.0/24\"]},"
		    "{\"LocationName\": \"loc2\", \"Action\": \"DELETE_IF_EXISTS\","
		    " \"CidrList\": [\"203.0.113.0/24\"]}]}");
	expect_json(example("UpdateHealthCheck", "request"),
		    "{\"HealthCheckVersion\": 2, \"Inverted\": true, \"Disabled\": false,"
		    " \"ResetElements\": [\"ResourcePath\", \"Regions\"]}");
	expect_json(example("ChangeTagsForResource", "request"),
		    "{\"AddTags\": [{\"Key\": \"env\", \"Value\": \"prod\"},"
		    " {\"Key\": \"team\", \"Value\": \"dns\"}], \"RemoveTagKeys\": [\"old\"]}");
	expect_json(example("CreateHealthCheck", "request"),
		    "{\"CallerReference\": \"hc-1\", \"HealthCheckConfig\": {"
		    "\"IPAddress\": \"192.0.2.10\", \"Port\": 80, \"Type\": \"HTTP\","
		    " \"ResourcePath\": \"/health\", \"RequestInterval\": 10,"
		    " \"FailureThreshold\": 2, \"Regions\": [\"us-east-1\", \"us-west-1\","
		    " \"eu-west-1\"], \"EnableSNI\": false}}");
	expect_json(example("CreateHostedZone", "request"),
		    "{\"Name\": \"example.com\", \"CallerReference\": \"ref-1\","
		    " \"HostedZoneConfig\": {\"Comment\": \"hello\", \"PrivateZone\": false}}");
	expect_json(example("ListTagsForResources", "request"),
		    "{\"ResourceIds\": [\"Z1\", \"Z2\"]}");
	/* the output-only typed names, and the ones that stay strings */
	expect_json(example("GetHostedZoneLimit", "response"),
		    "{\"Limit\": {\"Type\": \"MAX_RRSETS_BY_ZONE\", \"Value\": \"10000\"},"
		    " \"Count\": 8}");
	expect_json(example("ListHostedZones", "response"),
		    "{\"HostedZones\": [{\"Id\": \"/hostedzone/Z1PA6795UKMFR9\","
		    " \"Name\": \"example.com.\", \"CallerReference\": \"ref-1\","
		    " \"Config\": {\"PrivateZone\": false}, \"ResourceRecordSetCount\": 8}],"
		    " \"IsTruncated\": true, \"NextMarker\": \"Z2682N5HXP0BZ4\", \"MaxItems\": \"1\"}");
	expect_json(example("GetCheckerIpRanges", "response"),
		    "{\"CheckerIpRanges\": [\"15.177.0.0/18\", \"54.183.255.128/26\"]}");
}

/* ---- lists ---- */

static void test_lists(void **state)
{
	(void)state;
	/* empty wrappers, however written */
	expect_json("<R><Changes/></R>", "{\"Changes\": []}");
	expect_json("<R><Changes></Changes></R>", "{\"Changes\": []}");
	expect_json("<R><Changes>\n  \t</Changes></R>", "{\"Changes\": []}");
	expect_json("<R><Changes><!-- none --></Changes></R>", "{\"Changes\": []}");
	/* member names do not matter, order of items does */
	expect_json("<R><CidrList><Cidr>b</Cidr><member>a</member><X>c</X></CidrList></R>",
		    "{\"CidrList\": [\"b\", \"a\", \"c\"]}");
	expect_json("<R><Changes><member><Action>PUT</Action></member>"
		    "<Change><Action>CREATE</Action></Change></Changes></R>",
		    "{\"Changes\": [{\"Action\": \"PUT\"}, {\"Action\": \"CREATE\"}]}");
	/* a repeated item name is fine in a list, items may be empty */
	expect_json("<R><Regions><Region>us-east-1</Region><Region/><Region>a</Region>"
		    "</Regions></R>",
		    "{\"Regions\": [\"us-east-1\", \"\", \"a\"]}");
	/* items are never typed, never lists themselves */
	expect_json("<R><ChildHealthChecks><TTL>5</TTL><Inverted>x</Inverted>"
		    "<Tags><Key>k</Key></Tags></ChildHealthChecks></R>",
		    "{\"ChildHealthChecks\": [\"5\", \"x\", {\"Key\": \"k\"}]}");
	/* but their children are */
	expect_json("<R><ResourceRecordSets><ResourceRecordSet><TTL>7</TTL>"
		    "<ResourceRecords><ResourceRecord><Value>v</Value></ResourceRecord>"
		    "</ResourceRecords></ResourceRecordSet></ResourceRecordSets></R>",
		    "{\"ResourceRecordSets\": [{\"TTL\": 7, \"ResourceRecords\": [{\"Value\": \"v\"}]}]}");
	/* every input wrapper of the table */
	static const char *const wrappers[] = {
		"AddTags", "Changes", "CheckerIpRanges", "ChildHealthChecks", "CidrBlocks",
		"CidrCollections", "CidrList", "CidrLocations", "DelegationSets", "Dimensions",
		"HealthCheckObservations", "HealthChecks", "HostedZoneSummaries", "HostedZones",
		"KeySigningKeys", "Messages", "NameServers", "RecordData", "Regions",
		"RemoveTagKeys", "ResetElements", "ResourceIds", "ResourceRecordSets",
		"ResourceRecords", "ResourceTagSets", "Tags", "VPCs",
	};
	for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++) {
		char xml[256], want[128];
		snprintf(xml, sizeof(xml), "<R><%s><a>1</a><b>2</b></%s></R>", wrappers[i],
			 wrappers[i]);
		snprintf(want, sizeof(want), "{\"%s\": [\"1\", \"2\"]}", wrappers[i]);
		expect_json(xml, want);
	}
	/* a near miss is an ordinary element */
	expect_json("<R><Change><Action>A</Action></Change></R>",
		    "{\"Change\": {\"Action\": \"A\"}}");
	/* a list wrapper with text is not a list */
	expect_fail("<R><Changes>abc</Changes></R>", ERR_PARSE, "Changes");
	expect_fail("<R><Changes>abc<Change/></Changes></R>", ERR_PARSE, "Changes");
}

/* ---- typed leaves ---- */

static void test_typed(void **state)
{
	(void)state;
	expect_json("<R><TTL>60</TTL></R>", "{\"TTL\": 60}");
	expect_json("<R><TTL> \n60\t</TTL></R>", "{\"TTL\": 60}");
	expect_json("<R><Bias>-99</Bias></R>", "{\"Bias\": -99}");
	expect_json("<R><TTL>2147483647</TTL></R>", "{\"TTL\": 2147483647}");
	expect_json("<R><Count>9223372036854775807</Count></R>",
		    "{\"Count\": 9223372036854775807}");
	expect_json("<R><Count>-9223372036854775808</Count></R>",
		    "{\"Count\": -9223372036854775808}");
	expect_json("<R><TTL>007</TTL></R>", "{\"TTL\": 7}");
	static const char *const ints[] = {
		"TTL", "Weight", "Port", "RequestInterval", "FailureThreshold", "HealthThreshold",
		"HealthCheckVersion", "CollectionVersion", "Bias", "ResourceRecordSetCount",
		"Version", "EvaluationPeriods", "Period", "HealthCheckCount", "HostedZoneCount",
		"Count",
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		char xml[128], want[64];
		snprintf(xml, sizeof(xml), "<R><%s>12</%s></R>", ints[i], ints[i]);
		snprintf(want, sizeof(want), "{\"%s\": 12}", ints[i]);
		expect_json(xml, want);
		snprintf(xml, sizeof(xml), "<R><%s>1x</%s></R>", ints[i], ints[i]);
		expect_fail(xml, ERR_INVAL, "expected an integer");
	}
	static const char *const bad_ints[] = { "", " ", "+5", "6 0", "abc", "1.5", "0x10", "-",
						"1e3", "--1" };
	for (size_t i = 0; i < sizeof(bad_ints) / sizeof(bad_ints[0]); i++) {
		char xml[128];
		snprintf(xml, sizeof(xml), "<R><TTL>%s</TTL></R>", bad_ints[i]);
		expect_fail(xml, ERR_INVAL, "element TTL: expected an integer");
	}
	expect_fail("<R><TTL/></R>", ERR_INVAL, "element TTL: expected an integer");
	expect_fail("<R><TTL>99999999999999999999</TTL></R>", ERR_INVAL, "out of range");
	expect_fail("<R><TTL>-9223372036854775809</TTL></R>", ERR_INVAL, "out of range");
	expect_fail("<R><TTL><V>1</V></TTL></R>", ERR_INVAL, "element TTL: expected an integer");

	static const char *const bools[] = { "EvaluateTargetHealth", "MultiValueAnswer",
					     "PrivateZone", "MeasureLatency", "Inverted",
					     "Disabled", "EnableSNI", "IsTruncated" };
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		char xml[128], want[64];
		snprintf(xml, sizeof(xml), "<R><%s>true</%s></R>", bools[i], bools[i]);
		snprintf(want, sizeof(want), "{\"%s\": true}", bools[i]);
		expect_json(xml, want);
		snprintf(xml, sizeof(xml), "<R><%s>false</%s></R>", bools[i], bools[i]);
		snprintf(want, sizeof(want), "{\"%s\": false}", bools[i]);
		expect_json(xml, want);
	}
	expect_json("<R><Inverted>\n true </Inverted></R>", "{\"Inverted\": true}");
	static const char *const bad_bools[] = { "True", "FALSE", "1", "0", "yes", "", "truex",
						 "t rue" };
	for (size_t i = 0; i < sizeof(bad_bools) / sizeof(bad_bools[0]); i++) {
		char xml[128];
		snprintf(xml, sizeof(xml), "<R><Disabled>%s</Disabled></R>", bad_bools[i]);
		expect_fail(xml, ERR_INVAL, "element Disabled: expected true or false");
	}
	/* typed by element name alone, at any depth */
	expect_json("<R><A><B><C><Weight>3</Weight></C></B></A></R>",
		    "{\"A\": {\"B\": {\"C\": {\"Weight\": 3}}}}");
	/* names that stay strings */
	expect_json("<R><Value>10</Value><MaxItems>100</MaxItems><Threshold>80.5</Threshold>"
		    "<Id>1</Id></R>",
		    "{\"Value\": \"10\", \"MaxItems\": \"100\", \"Threshold\": \"80.5\","
		    " \"Id\": \"1\"}");
	/* the root element itself is never typed */
	expect_json("<TTL><x>1</x></TTL>", "{\"x\": \"1\"}");
}

/* ---- order, text, namespaces ---- */

static void test_order_independent(void **state)
{
	(void)state;
	json_t *a = ok("<ChangeResourceRecordSetsRequest xmlns=\"" NS "\"><ChangeBatch>"
		       "<Changes><Change><Action>CREATE</Action><ResourceRecordSet>"
		       "<Name>a.</Name><Type>A</Type><TTL>1</TTL><ResourceRecords>"
		       "<ResourceRecord><Value>1.1.1.1</Value></ResourceRecord>"
		       "</ResourceRecords></ResourceRecordSet></Change></Changes>"
		       "<Comment>c</Comment></ChangeBatch></ChangeResourceRecordSetsRequest>");
	json_t *b = ok("<ChangeResourceRecordSetsRequest xmlns=\"" NS "\"><ChangeBatch>"
		       "<Comment>c</Comment><Changes><Change><ResourceRecordSet><ResourceRecords>"
		       "<ResourceRecord><Value>1.1.1.1</Value></ResourceRecord>"
		       "</ResourceRecords><TTL>1</TTL><Type>A</Type><Name>a.</Name>"
		       "</ResourceRecordSet><Action>CREATE</Action></Change></Changes>"
		       "</ChangeBatch></ChangeResourceRecordSetsRequest>");
	assert_true(json_equal(a, b));
	/* and document order is kept in the object (for writing it back) */
	char *s = dump(json_object_get(json_object_get(a, "ChangeBatch"), "Changes"));
	assert_non_null(strstr(s, "{\"Action\":\"CREATE\",\"ResourceRecordSet\":{\"Name\":"));
	free(s);
	json_decref(a);
	json_decref(b);
}

static void test_text(void **state)
{
	(void)state;
	/* TXT values: quotes, inner and outer blanks, entities, character references */
	expect_json("<R><Value>\"v=spf1  -all\"</Value></R>", "{\"Value\": \"\\\"v=spf1  -all\\\"\"}");
	expect_json("<R><Value>  a  b  </Value></R>", "{\"Value\": \"  a  b  \"}");
	expect_json("<R><Value>   </Value></R>", "{\"Value\": \"   \"}");
	expect_json("<R><Value/></R>", "{\"Value\": \"\"}");
	expect_json("<R><Value>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</Value></R>",
		    "{\"Value\": \"a & b <c> \\\"d\\\" 'e'\"}");
	expect_json("<R><Value>&#65;&#x42;&#xe9;&#x1F600;</Value></R>",
		    "{\"Value\": \"AB\\u00e9\\ud83d\\ude00\"}");
	expect_json("<R><Value><![CDATA[<x> & y]]></Value></R>", "{\"Value\": \"<x> & y\"}");
	expect_json("<R><Value>a<![CDATA[b]]>c<!-- no -->d</Value></R>", "{\"Value\": \"abcd\"}");
	expect_json("<R><Value>line1\nline2\r\nline3&#13;</Value></R>",
		    "{\"Value\": \"line1\\nline2\\nline3\\r\"}");
	expect_json("<R><Value>\xc3\xa9\xe2\x82\xac</Value></R>", "{\"Value\": \"\\u00e9\\u20ac\"}");
	/* a declared encoding is honoured */
	expect_json("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><R><Value>\xe9</Value></R>",
		    "{\"Value\": \"\\u00e9\"}");
	/* namespaces, prefixes and attributes are ignored */
	expect_json("<r53:R xmlns:r53=\"" NS "\"><r53:Name a=\"1\">x</r53:Name>"
		    "<Other xmlns=\"urn:x\"><TTL>3</TTL></Other></r53:R>",
		    "{\"Name\": \"x\", \"Other\": {\"TTL\": 3}}");
	/* comments anywhere, XML declaration, BOM, blank text between elements */
	expect_json("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- a -->\n"
		    "<R>\n  <A>1</A>\n  <!-- b -->\n  <B><C>2</C></B>\n</R>\n<!-- c -->\n",
		    "{\"A\": \"1\", \"B\": {\"C\": \"2\"}}");
	/* an empty root */
	expect_json("<R/>", "{}");
	expect_json("<R>\n</R>", "{}");
	char root[4];
	json_t *j = NULL;
	assert_int_equal(xmlconv_parse("<ABC/>", 6, root, sizeof(root), &j, last_err,
				       sizeof(last_err)), ERR_OK);
	assert_string_equal(root, "ABC");
	json_decref(j);
	assert_int_equal(xmlconv_parse("<ABCD/>", 7, root, sizeof(root), &j, last_err,
				       sizeof(last_err)), ERR_PARSE);
	assert_null(j);
	/* len is honoured: no NUL needed, trailing bytes ignored */
	assert_int_equal(xmlconv_parse("<R><A>1</A></R>garbage", 15, root, sizeof(root), &j,
				       NULL, 0), ERR_OK);
	json_decref(j);
}

/* ---- what must be refused ---- */

static void test_refused(void **state)
{
	(void)state;
	/* run them all with stderr captured: libxml2 must print nothing */
	fflush(stderr);
	int saved = dup(2);
	FILE *cap = tmpfile();
	assert_true(saved >= 0 && cap != NULL);
	dup2(fileno(cap), 2);

	expect_fail("<!DOCTYPE R><R/>", ERR_PARSE, "DOCTYPE");
	expect_fail("<?xml version=\"1.0\"?>\n<!DOCTYPE R [ <!ELEMENT R ANY> ]><R/>", ERR_PARSE,
		    "DOCTYPE");
	/* XXE */
	expect_fail("<?xml version=\"1.0\"?><!DOCTYPE R [ <!ENTITY x SYSTEM "
		    "\"file:///etc/passwd\"> ]><R><Name>&x;</Name></R>",
		    ERR_PARSE, "DOCTYPE");
	expect_fail("<!DOCTYPE R SYSTEM \"http://127.0.0.1:1/evil.dtd\"><R/>", ERR_PARSE,
		    "DOCTYPE");
	expect_fail("<!DOCTYPE R PUBLIC \"-//X//Y\" \"file:///etc/passwd\"><R/>", ERR_PARSE,
		    "DOCTYPE");
	expect_fail("<!DOCTYPE R [ <!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p; ]><R/>",
		    ERR_PARSE, "DOCTYPE");
	/* billion laughs */
	expect_fail("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
		    " <!ENTITY lol \"lol\">\n"
		    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		    "]>\n<lolz>&lol9;</lolz>",
		    ERR_PARSE, "DOCTYPE");
	/* entities without a DTD, processing instructions */
	expect_fail("<R><Name>&x;</Name></R>", ERR_PARSE, NULL);
	expect_fail("<?xml-stylesheet href=\"a\"?><R/>", ERR_PARSE, "processing instruction");
	expect_fail("<R><?php echo 1; ?></R>", ERR_PARSE, "processing instruction");
	expect_fail("<R/><?x?>", ERR_PARSE, "processing instruction");
	/* not well-formed */
	expect_fail("<R><A>1</A>", ERR_PARSE, "Invalid XML: line 1");
	expect_fail("<R>\n<A>1</B>\n</R>", ERR_PARSE, "Invalid XML: line 2");
	expect_fail("<R><A>1</A></R><R/>", ERR_PARSE, "Invalid XML");
	expect_fail("<R></R>text", ERR_PARSE, "Invalid XML");
	expect_fail("{\"json\": true}", ERR_PARSE, "Invalid XML");
	expect_fail("   ", ERR_PARSE, "Invalid XML");
	expect_fail("<R a=\"1\" a=\"2\"/>", ERR_PARSE, "Invalid XML");
	expect_fail("<R>\x01</R>", ERR_PARSE, "Invalid XML");
	expect_fail("<R><A>\xff\xfe</A></R>", ERR_PARSE, "Invalid XML");
	expect_fail("<?xml version=\"1.0\"?>", ERR_PARSE, "Invalid XML");
	char root[8];
	json_t *j = NULL;
	assert_int_equal(xmlconv_parse("", 0, root, sizeof(root), &j, last_err, sizeof(last_err)),
			 ERR_PARSE);
	assert_int_equal(xmlconv_parse(NULL, 0, root, sizeof(root), &j, NULL, 0), ERR_PARSE);
	/* structure */
	expect_fail("<R><TTL>1</TTL><TTL>2</TTL></R>", ERR_PARSE, "element TTL appears more than once");
	expect_fail("<R><A><B>1</B></A><A><B>1</B></A></R>", ERR_PARSE, "element A appears");
	expect_fail("<R><A>x<B>1</B></A></R>", ERR_PARSE, "element A: text mixed");
	expect_fail("<R><A><B>1</B>x</A></R>", ERR_PARSE, "element A: text mixed");
	expect_fail("<R><A><![CDATA[ ]]><B>1</B></A></R>", ERR_PARSE, "element A: text mixed");
	expect_fail("<R>text</R>", ERR_PARSE, "text");

	/* depth: 32 levels are fine, 33 are not */
	char deep[2048];
	for (int levels = 32; levels <= 33; levels++) {
		size_t o = 0;
		for (int i = 0; i < levels; i++)
			o += (size_t)sprintf(deep + o, "<E%d>", i);
		o += (size_t)sprintf(deep + o, "x");
		for (int i = levels - 1; i >= 0; i--)
			o += (size_t)sprintf(deep + o, "</E%d>", i);
		if (levels == 32) {
			json_t *d = ok(deep);
			json_decref(d);
		} else {
			expect_fail(deep, ERR_PARSE, "nested deeper than 32");
		}
	}
	/* far deeper than libxml2's own limit: still a clean error */
	size_t big = 300 * 8 + 16;
	char *huge = malloc(big);
	assert_non_null(huge);
	size_t o = 0;
	for (int i = 0; i < 300; i++)
		o += (size_t)sprintf(huge + o, "<a>");
	for (int i = 0; i < 300; i++)
		o += (size_t)sprintf(huge + o, "</a>");
	expect_fail(huge, ERR_PARSE, NULL);
	free(huge);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fseek(cap, 0, SEEK_END);
	long n = ftell(cap);
	if (n != 0) {
		char buf[512] = "";
		fseek(cap, 0, SEEK_SET);
		size_t r = fread(buf, 1, sizeof(buf) - 1, cap);
		buf[r] = '\0';
		fail_msg("libxml2 wrote to stderr: %s", buf);
	}
	fclose(cap);
}

/* A big body with a big text node parses. */
static void test_large(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	char *xml = malloc(n + 64);
	assert_non_null(xml);
	strcpy(xml, "<R><Value>");
	size_t o = strlen(xml);
	memset(xml + o, 'a', n);
	o += n;
	strcpy(xml + o, "</Value></R>");
	json_t *j = ok(xml);
	assert_int_equal(json_string_length(json_object_get(j, "Value")), n);
	json_decref(j);
	free(xml);
}

/* ---- writing ---- */

static void expect_write(const char *root, const char *json, const char *want_markup)
{
	json_error_t je;
	json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (j == NULL)
		fail_msg("bad JSON in test: %s", je.text);
	char *s = write_ok(root, j);
	const char *markup = s + strlen(DECL);
	if (strcmp(markup, want_markup) != 0)
		fail_msg("got  %s\nwant %s", markup, want_markup);
	free(s);
	json_decref(j);
}

static void expect_write_fails(const char *root, const json_t *j)
{
	int ret;
	char *s = write_doc(root, j, &ret);
	assert_int_equal(ret, ERR_INVAL);
	free(s);
}

static void test_write(void **state)
{
	(void)state;
	char *s = write_ok("DeleteHealthCheckResponse", NULL);
	assert_string_equal(s, DECL "<DeleteHealthCheckResponse xmlns=\"" NS "\"/>");
	free(s);
	expect_write("X", "{}", "<X xmlns=\"" NS "\"/>");
	/* members in insertion order; types */
	expect_write("X",
		     "{\"b\": 1, \"a\": -2, \"t\": true, \"f\": false, \"n\": null, \"s\": \"\","
		     " \"o\": {}, \"r\": 0.1, \"r2\": 80.0, \"r3\": 1e300, \"r4\": -2.5}",
		     "<X xmlns=\"" NS "\"><b>1</b><a>-2</a><t>true</t><f>false</f><s/><o/>"
		     "<r>0.1</r><r2>80</r2><r3>1e+300</r3><r4>-2.5</r4></X>");
	/* lists and their member names */
	expect_write("X",
		     "{\"HostedZones\": [], \"CidrList\": [\"a\", null, \"b\"],"
		     " \"Changes\": [{\"Action\": \"PUT\"}],"
		     " \"ResetElements\": [\"Regions\"], \"CheckerIpRanges\": [\"1/8\"],"
		     " \"ResourceRecords\": [{\"Value\": \"v\"}], \"RecordData\": [\"x\"],"
		     " \"NameServers\": [\"ns1.\"], \"VPCs\": [{\"VPCId\": \"v\"}]}",
		     "<X xmlns=\"" NS "\"><HostedZones/><CidrList><Cidr>a</Cidr><Cidr>b</Cidr>"
		     "</CidrList><Changes><member><Action>PUT</Action></member></Changes>"
		     "<ResetElements><ResettableElementName>Regions</ResettableElementName>"
		     "</ResetElements><CheckerIpRanges><member>1/8</member></CheckerIpRanges>"
		     "<ResourceRecords><ResourceRecord><Value>v</Value></ResourceRecord>"
		     "</ResourceRecords><RecordData><RecordDataEntry>x</RecordDataEntry>"
		     "</RecordData><NameServers><NameServer>ns1.</NameServer></NameServers>"
		     "<VPCs><VPC><VPCId>v</VPCId></VPC></VPCs></X>");
	/* escaping: & < > only; quotes stay; CR survives as a reference */
	expect_write("X", "{\"Value\": \"\\\"v=spf1 -all\\\" a&b <c> 'd' ]]>\"}",
		     "<X xmlns=\"" NS "\"><Value>\"v=spf1 -all\" a&amp;b &lt;c&gt; 'd' ]]&gt;"
		     "</Value></X>");
	expect_write("X", "{\"v\": \"a\\tb\\nc\\rd\"}",
		     "<X xmlns=\"" NS "\"><v>a\tb\nc&#xD;d</v></X>");
	/* what XML 1.0 cannot carry becomes U+FFFD */
	expect_write("X", "{\"v\": \"a\\u0000b\\u0001c\\u001fd\\ufffe\\uffffe\\u00e9\\ud83d\\ude00\"}",
		     "<X xmlns=\"" NS "\"><v>a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd"
		     "d\xef\xbf\xbd\xef\xbf\xbd" "e\xc3\xa9\xf0\x9f\x98\x80</v></X>");
	json_t *bad = json_object();
	json_object_set_new(bad, "v", json_stringn_nocheck("a\xff" "b\xc3", 4));
	s = write_ok("X", bad);
	assert_string_equal(s, DECL "<X xmlns=\"" NS "\"><v>a\xef\xbf\xbd" "b\xef\xbf\xbd</v></X>");
	free(s);
	json_decref(bad);

	/* refused: unknown list wrapper, nested arrays, bad names, non-object bodies */
	json_t *j = json_loads("{\"Foo\": [1]}", 0, NULL);
	expect_write_fails("X", j);
	json_decref(j);
	j = json_loads("{\"Tags\": [[1]]}", 0, NULL);
	expect_write_fails("X", j);
	json_decref(j);
	j = json_loads("{\"a b\": 1}", 0, NULL);
	expect_write_fails("X", j);
	json_decref(j);
	j = json_loads("{\"1a\": 1}", 0, NULL);
	expect_write_fails("X", j);
	json_decref(j);
	j = json_loads("{\"\": 1}", 0, NULL);
	expect_write_fails("X", j);
	json_decref(j);
	j = json_loads("{\"x\": {\"<y\": 1}}", 0, NULL);
	expect_write_fails("X", j);
	json_decref(j);
	j = json_loads("[1]", 0, NULL);
	expect_write_fails("X", j);
	json_decref(j);
	j = json_string("x");
	expect_write_fails("X", j);
	json_decref(j);
	expect_write_fails("bad root", NULL);
	expect_write_fails("", NULL);
	expect_write_fails(NULL, NULL);
	/* too deep */
	j = json_object();
	json_t *cur = j;
	for (int i = 0; i < 100; i++) {
		json_t *n = json_object();
		json_object_set_new(cur, "d", n);
		cur = n;
	}
	json_object_set_new(cur, "v", json_integer(1));
	expect_write_fails("X", j);
	json_decref(j);
}

/* Anything written parses back to the same JSON. */
static void test_write_round_trip(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"{\"Value\": \"\\\"a  b\\\" & <c> \\r\\n\\t x \"}",
		"{\"Value\": \"   \"}",
		"{\"Value\": \"\"}",
		"{\"A\": {\"B\": {\"TTL\": -1, \"Inverted\": false}}}",
		"{\"Tags\": [{\"Key\": \"k\", \"Value\": \"\"}, \"s\", {\"Key\": \"\\u00e9\"}]}",
		"{\"HostedZones\": [], \"IsTruncated\": true, \"MaxItems\": \"100\"}",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *j = json_loads(docs[i], 0, NULL);
		assert_non_null(j);
		char *s = write_ok("R", j);
		json_t *back = ok(s);
		if (!json_equal(j, back)) {
			char *got = dump(back);
			fail_msg("round trip of %s gave %s via %s", docs[i], got, s);
		}
		json_decref(back);
		free(s);
		json_decref(j);
	}
}

/* ---- the error body ---- */

static char *error_doc(int status, const char *code, const char *msg, const char *rid)
{
	struct evbuffer *b = evbuffer_new();
	assert_non_null(b);
	assert_int_equal(xmlconv_error(b, status, code, msg, rid), ERR_OK);
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	assert_non_null(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static void test_error_body(void **state)
{
	(void)state;
	/* exactly the spec's examples (1.6 and 4.1), declaration aside */
	static const struct {
		const char *op;
		int status;
		const char *code, *msg, *rid;
	} cases[] = {
		{ "Error", 404, "NoSuchHostedZone", "No hosted zone found with ID: Z0NOPE",
		  "aaaaaaaa-2222-3333-4444-555555555555" },
		{ "InvalidChangeBatch", 400, "InvalidChangeBatch",
		  "[Tried to create resource record set [name='a.example.com.', type='A'] but it "
		  "already exists, Tried to delete resource record set [name='b.example.com.', "
		  "type='A'] but it was not found]",
		  "11111111-2222-3333-4444-555555555555" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = error_doc(cases[i].status, cases[i].code, cases[i].msg, cases[i].rid);
		assert_true(strncmp(s, DECL, strlen(DECL)) == 0);
		char *want = minify(example(cases[i].op, "response"));
		assert_string_equal(s + strlen(DECL), want);
		free(want);
		free(s);
	}
	char *s = error_doc(503, "ServiceUnavailable", "a <b> & c", NULL);
	json_t *j = NULL;
	char root[64];
	assert_int_equal(parse(s, root, &j), ERR_OK);
	assert_string_equal(root, "ErrorResponse");
	json_t *w = json_loads("{\"Error\": {\"Type\": \"Receiver\", \"Code\": "
			       "\"ServiceUnavailable\", \"Message\": \"a <b> & c\"}}", 0, NULL);
	assert_true(json_equal(j, w));
	json_decref(w);
	json_decref(j);
	free(s);
	s = error_doc(400, "MalformedInput", NULL, "r1");
	assert_non_null(strstr(s, "<Type>Sender</Type><Code>MalformedInput</Code><Message/>"
				  "</Error><RequestId>r1</RequestId>"));
	free(s);
	s = error_doc(499, "X", "", "r");
	assert_non_null(strstr(s, "<Type>Sender</Type>"));
	free(s);
	s = error_doc(500, "InternalFailure", "m", "r");
	assert_non_null(strstr(s, "<Type>Receiver</Type>"));
	free(s);
	struct evbuffer *b = evbuffer_new();
	assert_int_equal(xmlconv_error(b, 400, NULL, "m", "r"), ERR_INVAL);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

/* ---- threads ---- */

static void *parse_loop(void *arg)
{
	(void)arg;
	const char *xml = example("ChangeResourceRecordSets", "request");
	for (int i = 0; i < 200; i++) {
		char root[64], err[128];
		json_t *j = NULL;
		if (xmlconv_parse(xml, strlen(xml), root, sizeof(root), &j, err, sizeof(err)) != 0)
			return (void *)1;
		json_decref(j);
		const char *bad = "<!DOCTYPE R [<!ENTITY a \"b\">]><R>&a;</R>";
		if (xmlconv_parse(bad, strlen(bad), root, sizeof(root), &j, err, sizeof(err)) !=
		    ERR_PARSE)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, parse_loop, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *r = NULL;
		pthread_join(t[i], &r);
		assert_null(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads), /* first: races the one-time initialisation */
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_request_shapes),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_typed),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_round_trip),
		cmocka_unit_test(test_error_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
