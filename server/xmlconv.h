/* SPDX-License-Identifier: MIT */
/*
 * xmlconv.h -- Route 53 REST-XML (API 2013-04-01) bodies to and from jansson JSON.
 *
 * Requests become exactly the JSON shapes the AWS CLI prints and accepts: the root element
 * names the operation ("ChangeResourceRecordSetsRequest") and its children become one JSON
 * object, e.g.
 *
 *     {"ChangeBatch": {"Comment": "x", "Changes": [{"Action": "CREATE",
 *      "ResourceRecordSet": {"Name": "a.", "Type": "A", "TTL": 60,
 *                            "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}}
 *
 * There are no attributes and no flattened lists in the Route 53 model, so the mapping is
 * driven by element names alone, through three tables in xmlconv.c:
 *
 *   LIST (input and output): a wrapper element whose local name is listed becomes a JSON
 *     array of its child elements, whatever their names; on output each item is written
 *     as the member element the table names:
 *       AddTags->Tag  ChildHealthChecks->ChildHealthCheck  CheckerIpRanges->member
 *       CidrBlocks->member  CidrCollections->member  CidrList->Cidr  CidrLocations->member
 *       Changes->member  DelegationSets->DelegationSet  Dimensions->Dimension
 *       HealthCheckObservations->HealthCheckObservation  HealthChecks->HealthCheck
 *       HostedZoneSummaries->HostedZoneSummary  HostedZones->HostedZone
 *       KeySigningKeys->KeySigningKey  Messages->Message  NameServers->NameServer
 *       RecordData->RecordDataEntry  Regions->Region  RemoveTagKeys->Key
 *       ResetElements->ResettableElementName  ResourceIds->ResourceId
 *       ResourceRecordSets->ResourceRecordSet  ResourceRecords->ResourceRecord
 *       ResourceTagSets->ResourceTagSet  Tags->Tag  VPCs->VPC
 *     (Changes is written with <member>, the CIDR form; ChangeResourceRecordSets requests
 *     use <Change>, and both parse the same. AddTags, RemoveTagKeys, ResourceIds and
 *     Messages only occur in requests; they are in the output table so that every parsed
 *     body can be written back.)
 *   INT: TTL Weight Port RequestInterval FailureThreshold HealthThreshold
 *     HealthCheckVersion CollectionVersion Bias ResourceRecordSetCount Version
 *     EvaluationPeriods Period HealthCheckCount HostedZoneCount Count -- a leaf must hold
 *     a decimal integer (optional leading '-', XML white space around it tolerated) and
 *     becomes a JSON integer. Limit/Value and Tag/Value share the name Value and stay
 *     strings; so do MaxItems (a string in the model) and Threshold (a double that no
 *     request carries).
 *   BOOL: EvaluateTargetHealth MultiValueAnswer PrivateZone MeasureLatency Inverted
 *     Disabled EnableSNI IsTruncated -- a leaf must be "true" or "false" (XML white space
 *     around it tolerated) and becomes a JSON boolean.
 *
 * Parsing rules: namespaces, prefixes and attributes are ignored; element order never
 * matters (objects keep document order, lists keep item order). A leaf (an element with no
 * child elements) is a string holding its text exactly, white space included (CDATA and
 * character references as XML defines them; comments are skipped); an element with child
 * elements is an object, and may hold only white space as text of its own. List items are
 * strings or objects and are never typed by the INT/BOOL tables (no Route 53 list holds
 * numbers). A repeated element name inside an object is an error. Nesting deeper than
 * XMLCONV_MAX_DEPTH elements (the root is depth 1) is an error. A DOCTYPE (any DTD,
 * internal or external), entity declarations and references to undeclared entities, and
 * processing instructions other than the XML declaration are rejected before any of them
 * is acted on; nothing is ever loaded from the network or the file system.
 *
 * Writing rules: see xmlconv_write.
 *
 * Threads: all functions may be called from any thread at once. The first call initialises
 * libxml2 (xmlInitParser, once per process) and silences its default error output in
 * every thread; r53d uses libxml2 nowhere else.
 */
#pragma once

#include <event2/buffer.h>
#include <jansson.h>
#include <stddef.h>

/** The namespace every response root carries. */
#define XMLCONV_NS "https://route53.amazonaws.com/doc/2013-04-01/"

/** Deepest element nesting xmlconv_parse accepts (root = 1). */
#define XMLCONV_MAX_DEPTH 32

/**
 * Parse a request body.
 * \param body    len bytes of XML (need not be NUL-terminated); borrowed. The caller bounds
 *                len (the API's maximum body size); more than INT_MAX is an error.
 * \param root    receives the root element's local name ("ChangeResourceRecordSetsRequest"),
 *                NUL-terminated; rootlen bytes. A longer name is an ERR_PARSE.
 * \param out     on ERR_OK set to a new JSON object of the root's children (caller
 *                decrefs); NULL on failure.
 * \param err     on failure receives a short reason fit for a MalformedInput or InvalidInput
 *                message: "Invalid XML: line 3: ...", "element TTL: expected an integer",
 *                "DOCTYPE is not allowed"; errlen bytes (may be 0).
 * \retval ERR_OK
 * \retval ERR_PARSE  not well-formed XML, forbidden markup (DTD, entities, PIs), or a
 *                    structure error (text mixed with elements, repeated element, depth)
 * \retval ERR_INVAL  a typed leaf (INT or BOOL table) does not hold its type
 * \retval ERR_NOMEM
 * Any thread.
 */
int xmlconv_parse(const char *body, size_t len, char *root, size_t rootlen, json_t **out,
		  char *err, size_t errlen);

/**
 * Append `<?xml version="1.0" encoding="UTF-8"?>\n<ROOT xmlns="XMLCONV_NS">...</ROOT>` to out.
 *
 * body is a JSON object (NULL or {} gives `<ROOT xmlns="..."/>`). Its members are written
 * as child elements in the object's iteration order (jansson keeps insertion order, so
 * build objects in model order). A JSON object becomes an element with children ({} is
 * `<Name/>`); an array becomes its wrapper element with one member element per item, named
 * by the LIST table above (`<Wrapper/>` when empty; an array under a name not in the table,
 * or an array inside an array, is ERR_INVAL); a string is escaped text (& < > as entities,
 * CR as &#xD; so it survives parsing; control characters XML 1.0 cannot carry, U+FFFE,
 * U+FFFF and invalid UTF-8 are replaced by U+FFFD -- a Route 53 value never holds them);
 * an integer is decimal; a real is the shortest %g form (at most %.17g) that reads back
 * exactly, integral values below 1e15 without an exponent (80, not 8e+01); true and false
 * are spelled so. Members (and list items) that are JSON null are skipped.
 * Element names must be ASCII XML names ([A-Za-z_][A-Za-z0-9_.-]*), else ERR_INVAL.
 *
 * \param out   the buffer to append to; nothing is appended unless ERR_OK is returned.
 * \param root  the root element name, e.g. "GetHostedZoneResponse"; borrowed.
 * \param body  borrowed; never modified.
 * \retval ERR_OK, ERR_INVAL (see above, or nesting deeper than 64), ERR_NOMEM.
 * Any thread.
 */
int xmlconv_write(struct evbuffer *out, const char *root, const json_t *body);

/**
 * Append the error body of ROUTE53-API.md 1.6 to out:
 * `<?xml ...?>\n<ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>..</Code>
 * <Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>`.
 * \param http_status  Type is Receiver when >= 500, else Sender.
 * \param code         the error code, e.g. "NoSuchHostedZone"; borrowed, not NULL.
 * \param message      borrowed; NULL writes an empty <Message/>.
 * \param request_id   borrowed; NULL leaves out <RequestId>.
 * \retval ERR_OK, ERR_INVAL (code NULL), ERR_NOMEM (nothing appended).
 * Any thread.
 */
int xmlconv_error(struct evbuffer *out, int http_status, const char *code, const char *message,
		  const char *request_id);
