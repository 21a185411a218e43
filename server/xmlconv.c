/* SPDX-License-Identifier: MIT */
/*
 * xmlconv.c -- Route 53 REST-XML bodies to and from jansson JSON (see xmlconv.h).
 *
 * Parsing builds a libxml2 tree with a parser context of our own, whose SAX hooks stop
 * the parser at the first DOCTYPE, entity declaration or processing instruction, so that
 * no internal subset (billion laughs) or external entity (XXE) is ever expanded; its
 * structured error hook keeps libxml2 quiet and remembers the first fatal error. The tree
 * is then walked once into JSON.
 */
#include "xmlconv.h"
#include "err.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* ---- name tables (each sorted by strcmp; checked once at start-up) ---- */

typedef struct list_name {
	const char *wrapper;
	const char *member;
} list_name_t;

static const list_name_t list_table[] = {
	{ "AddTags", "Tag" },
	{ "Changes", "member" },
	{ "CheckerIpRanges", "member" },
	{ "ChildHealthChecks", "ChildHealthCheck" },
	{ "CidrBlocks", "member" },
	{ "CidrCollections", "member" },
	{ "CidrList", "Cidr" },
	{ "CidrLocations", "member" },
	{ "DelegationSets", "DelegationSet" },
	{ "Dimensions", "Dimension" },
	{ "HealthCheckObservations", "HealthCheckObservation" },
	{ "HealthChecks", "HealthCheck" },
	{ "HostedZoneSummaries", "HostedZoneSummary" },
	{ "HostedZones", "HostedZone" },
	{ "KeySigningKeys", "KeySigningKey" },
	{ "Messages", "Message" },
	{ "NameServers", "NameServer" },
	{ "RecordData", "RecordDataEntry" },
	{ "Regions", "Region" },
	{ "RemoveTagKeys", "Key" },
	{ "ResetElements", "ResettableElementName" },
	{ "ResourceIds", "ResourceId" },
	{ "ResourceRecordSets", "ResourceRecordSet" },
	{ "ResourceRecords", "ResourceRecord" },
	{ "ResourceTagSets", "ResourceTagSet" },
	{ "Tags", "Tag" },
	{ "VPCs", "VPC" },
};

static const char *const int_table[] = {
	"Bias",
	"CollectionVersion",
	"Count",
	"EvaluationPeriods",
	"FailureThreshold",
	"HealthCheckCount",
	"HealthCheckVersion",
	"HealthThreshold",
	"HostedZoneCount",
	"Period",
	"Port",
	"RequestInterval",
	"ResourceRecordSetCount",
	"TTL",
	"Version",
	"Weight",
};

static const char *const bool_table[] = {
	"Disabled",
	"EnableSNI",
	"EvaluateTargetHealth",
	"Inverted",
	"IsTruncated",
	"MeasureLatency",
	"MultiValueAnswer",
	"PrivateZone",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int cmp_name(const void *key, const void *elem)
{
	return strcmp((const char *)key, *(const char *const *)elem);
}

static const char *list_member(const char *wrapper)
{
	/* list_name_t starts with the wrapper pointer, so cmp_name works on it */
	const list_name_t *l = bsearch(wrapper, list_table, NELEM(list_table),
				       sizeof(list_table[0]), cmp_name);
	return l != NULL ? l->member : NULL;
}

static bool in_table(const char *const *table, size_t n, const char *name)
{
	return bsearch(name, table, n, sizeof(table[0]), cmp_name) != NULL;
}

/* ---- libxml2 set-up ---- */

static void quiet_generic(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void quiet_structured(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libxml(void)
{
	xmlInitParser();
	/* defaults for threads created from now on; each call also sets its own thread's */
	xmlThrDefSetGenericErrorFunc(NULL, quiet_generic);
	xmlThrDefSetStructuredErrorFunc(NULL, quiet_structured);
#ifndef NDEBUG
	for (size_t i = 1; i < NELEM(list_table); i++)
		assert(strcmp(list_table[i - 1].wrapper, list_table[i].wrapper) < 0);
	for (size_t i = 1; i < NELEM(int_table); i++)
		assert(strcmp(int_table[i - 1], int_table[i]) < 0);
	for (size_t i = 1; i < NELEM(bool_table); i++)
		assert(strcmp(bool_table[i - 1], bool_table[i]) < 0);
#endif
}

static void xml_setup(void)
{
	pthread_once(&init_once, init_libxml);
	/* libxml2's error globals are per thread: silence this one (r53d has no other user) */
	xmlSetGenericErrorFunc(NULL, quiet_generic);
	xmlSetStructuredErrorFunc(NULL, quiet_structured);
}

/* ---- parsing ---- */

/* What the SAX hooks and the error hook report back; lives in ctxt->_private. */
typedef struct pstate {
	const char *forbidden; /* set when a hook stopped the parser */
	bool have_err;
	bool have_fatal;
	int err_line;
	char err_msg[160];
} pstate_t;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
	va_end(ap);
}

static void stop(void *ctx, const char *what)
{
	xmlParserCtxtPtr ctxt = ctx;
	pstate_t *st = ctxt->_private;
	if (st->forbidden == NULL)
		st->forbidden = what;
	xmlStopParser(ctxt);
}

static void hook_internal_subset(void *ctx, const xmlChar *name, const xmlChar *eid,
				 const xmlChar *sid)
{
	(void)name;
	(void)eid;
	(void)sid;
	stop(ctx, "DOCTYPE is not allowed");
}

static void hook_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
			     const xmlChar *sid, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)pid;
	(void)sid;
	(void)content;
	stop(ctx, "entity declarations are not allowed");
}

static void hook_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	(void)target;
	(void)data;
	stop(ctx, "processing instructions are not allowed");
}

static xmlEntityPtr hook_get_entity(void *ctx, const xmlChar *name)
{
	(void)name;
	/* only reached for non-predefined entities, which need a DTD we never allow */
	stop(ctx, "entity references are not allowed");
	return NULL;
}

static void hook_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = ctx;
	if (ctxt == NULL || ctxt->_private == NULL || e == NULL || e->level < XML_ERR_ERROR)
		return;
	pstate_t *st = ctxt->_private;
	bool fatal = e->level == XML_ERR_FATAL;
	if (st->have_fatal || (st->have_err && !fatal))
		return;
	st->have_err = true;
	st->have_fatal = fatal;
	st->err_line = e->line;
	snprintf(st->err_msg, sizeof(st->err_msg), "%s",
		 e->message != NULL ? e->message : "parse error");
	/* libxml2 messages end with a newline */
	size_t n = strlen(st->err_msg);
	while (n > 0 && (st->err_msg[n - 1] == '\n' || st->err_msg[n - 1] == ' '))
		st->err_msg[--n] = '\0';
}

static const char *local_name(const xmlNode *n)
{
	const char *name = (const char *)n->name;
	const char *colon = strrchr(name, ':');
	return colon != NULL ? colon + 1 : name;
}

static bool is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool all_space(const xmlChar *s)
{
	for (; s != NULL && *s; s++)
		if (!is_xml_space((char)*s))
			return false;
	return true;
}

typedef struct walk {
	char *err;
	size_t errlen;
} walk_t;

/* Concatenated text of a leaf (its text and CDATA children). */
static int leaf_text(const xmlNode *n, char **text, size_t *len)
{
	size_t total = 0;
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
		    c->content != NULL)
			total += strlen((const char *)c->content);
	char *s = malloc(total + 1);
	if (s == NULL)
		return ERR_NOMEM;
	size_t at = 0;
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
		    c->content != NULL) {
			size_t l = strlen((const char *)c->content);
			memcpy(s + at, c->content, l);
			at += l;
		}
	}
	s[at] = '\0';
	*text = s;
	*len = at;
	return ERR_OK;
}

static int typed_int(walk_t *w, const char *name, const char *s, json_t **out)
{
	while (is_xml_space(*s))
		s++;
	const char *p = s;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		goto bad;
	while (*p >= '0' && *p <= '9')
		p++;
	const char *end = p;
	while (is_xml_space(*p))
		p++;
	if (*p != '\0')
		goto bad;
	errno = 0;
	char *e = NULL;
	long long v = strtoll(s, &e, 10);
	if (errno == ERANGE || e != end) {
		seterr(w->err, w->errlen, "element %s: integer out of range", name);
		return ERR_INVAL;
	}
	*out = json_integer((json_int_t)v);
	return *out != NULL ? ERR_OK : ERR_NOMEM;
bad:
	seterr(w->err, w->errlen, "element %s: expected an integer", name);
	return ERR_INVAL;
}

static int typed_bool(walk_t *w, const char *name, const char *s, json_t **out)
{
	while (is_xml_space(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_xml_space(s[n - 1]))
		n--;
	if (n == 4 && memcmp(s, "true", 4) == 0)
		*out = json_true();
	else if (n == 5 && memcmp(s, "false", 5) == 0)
		*out = json_false();
	else {
		seterr(w->err, w->errlen, "element %s: expected true or false", name);
		return ERR_INVAL;
	}
	return ERR_OK;
}

/*
 * Convert element n at depth (root = 1). item: n is a list item, so it is never typed and
 * never a list itself.
 */
static int convert(walk_t *w, const xmlNode *n, int depth, bool item, json_t **out)
{
	const char *name = local_name(n);
	*out = NULL;
	if (depth > XMLCONV_MAX_DEPTH) {
		seterr(w->err, w->errlen, "element %s: nested deeper than %d elements", name,
		       XMLCONV_MAX_DEPTH);
		return ERR_PARSE;
	}
	size_t elements = 0;
	bool text = false;
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		switch (c->type) {
		case XML_ELEMENT_NODE:
			elements++;
			break;
		case XML_TEXT_NODE:
			if (!all_space(c->content))
				text = true;
			break;
		case XML_CDATA_SECTION_NODE:
			text = true; /* even an empty or blank CDATA section is text */
			break;
		case XML_COMMENT_NODE:
			break;
		default:
			seterr(w->err, w->errlen, "element %s: unsupported markup", name);
			return ERR_PARSE;
		}
	}
	const bool is_int = !item && depth > 1 && in_table(int_table, NELEM(int_table), name);
	const bool is_bool = !item && depth > 1 && in_table(bool_table, NELEM(bool_table), name);
	const bool is_list = !item && depth > 1 && list_member(name) != NULL;

	if (elements > 0 && text) {
		seterr(w->err, w->errlen, "element %s: text mixed with child elements", name);
		return ERR_PARSE;
	}
	if (elements > 0 && (is_int || is_bool)) {
		seterr(w->err, w->errlen, "element %s: expected %s", name,
		       is_int ? "an integer" : "true or false");
		return ERR_INVAL;
	}
	if (is_list) {
		if (text) {
			seterr(w->err, w->errlen, "element %s: expected a list of elements", name);
			return ERR_PARSE;
		}
		json_t *arr = json_array();
		if (arr == NULL)
			return ERR_NOMEM;
		for (const xmlNode *c = n->children; c != NULL; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			json_t *v = NULL;
			int ret = convert(w, c, depth + 1, true, &v);
			if (ret == ERR_OK && json_array_append_new(arr, v) != 0)
				ret = ERR_NOMEM;
			if (ret != ERR_OK) {
				json_decref(arr);
				return ret;
			}
		}
		*out = arr;
		return ERR_OK;
	}
	if (depth == 1 && elements == 0 && text) {
		seterr(w->err, w->errlen, "element %s: text where elements were expected", name);
		return ERR_PARSE;
	}
	if (elements == 0 && depth > 1) {
		char *s = NULL;
		size_t len = 0;
		int ret = leaf_text(n, &s, &len);
		if (ret != ERR_OK)
			return ret;
		if (is_int)
			ret = typed_int(w, name, s, out);
		else if (is_bool)
			ret = typed_bool(w, name, s, out);
		else {
			/* libxml2 hands out UTF-8 only */
			*out = json_stringn(s, len);
			if (*out == NULL) {
				seterr(w->err, w->errlen, "element %s: text is not UTF-8", name);
				ret = ERR_PARSE;
			}
		}
		free(s);
		return ret;
	}
	json_t *obj = json_object();
	if (obj == NULL)
		return ERR_NOMEM;
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		const char *cname = local_name(c);
		int ret;
		json_t *v = NULL;
		if (json_object_get(obj, cname) != NULL) {
			seterr(w->err, w->errlen, "element %s: element %s appears more than once",
			       name, cname);
			ret = ERR_PARSE;
		} else {
			ret = convert(w, c, depth + 1, false, &v);
			if (ret == ERR_OK && json_object_set_new(obj, cname, v) != 0)
				ret = ERR_NOMEM;
		}
		if (ret != ERR_OK) {
			json_decref(obj);
			return ret;
		}
	}
	*out = obj;
	return ERR_OK;
}

int xmlconv_parse(const char *body, size_t len, char *root, size_t rootlen, json_t **out,
		  char *err, size_t errlen)
{
	int ret = ERR_PARSE;
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	json_t *obj = NULL;
	pstate_t st = { 0 };
	walk_t w = { err, errlen };

	*out = NULL;
	if (rootlen > 0)
		root[0] = '\0';
	if (errlen > 0)
		err[0] = '\0';
	if (len > (size_t)INT_MAX) {
		seterr(err, errlen, "Invalid XML: body too large");
		return ERR_PARSE;
	}
	if (len == 0 || body == NULL) {
		seterr(err, errlen, "Invalid XML: empty body");
		return ERR_PARSE;
	}
	xml_setup();
	ctxt = xmlCreateMemoryParserCtxt(body, (int)len);
	if (ctxt == NULL) {
		ret = ERR_NOMEM;
		goto out;
	}
	ctxt->_private = &st;
	ctxt->sax->internalSubset = hook_internal_subset;
	ctxt->sax->externalSubset = hook_internal_subset;
	ctxt->sax->entityDecl = hook_entity_decl;
	ctxt->sax->processingInstruction = hook_pi;
	ctxt->sax->getEntity = hook_get_entity;
	ctxt->sax->getParameterEntity = hook_get_entity;
	ctxt->sax->serror = hook_error;
	ctxt->sax->warning = NULL;
	ctxt->sax->error = NULL;
	ctxt->sax->fatalError = NULL;
	/* no NOENT, DTDLOAD, DTDATTR or NOBLANKS: blank text is judged by convert() */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET);
	xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (st.forbidden != NULL) {
		seterr(err, errlen, "%s", st.forbidden);
		goto out;
	}
	if (doc == NULL || !ctxt->wellFormed) {
		if (ctxt->errNo == XML_ERR_NO_MEMORY) {
			ret = ERR_NOMEM;
			goto out;
		}
		if (st.have_err)
			seterr(err, errlen, "Invalid XML: line %d: %s", st.err_line, st.err_msg);
		else
			seterr(err, errlen, "Invalid XML");
		goto out;
	}
	/* belt and braces: nothing but the root element and comments at the top */
	for (const xmlNode *c = doc->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE && c->type != XML_COMMENT_NODE) {
			seterr(err, errlen, "Invalid XML: unsupported markup outside the root");
			goto out;
		}
	}
	const xmlNode *r = xmlDocGetRootElement(doc);
	if (r == NULL) {
		seterr(err, errlen, "Invalid XML: no root element");
		goto out;
	}
	const char *rname = local_name(r);
	if (strlen(rname) >= rootlen) {
		seterr(err, errlen, "root element name too long");
		goto out;
	}
	ret = convert(&w, r, 1, false, &obj);
	if (ret != ERR_OK)
		goto out;
	memcpy(root, rname, strlen(rname) + 1);
	*out = obj;
	obj = NULL;
	ret = ERR_OK;
out:
	if (ret == ERR_NOMEM)
		seterr(err, errlen, "out of memory");
	json_decref(obj);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return ret;
}

/* ---- writing ---- */

#define WRITE_MAX_DEPTH 64

static bool xml_name_ok(const char *s)
{
	if (s == NULL)
		return false;
	char c = *s;
	if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'))
		return false;
	for (s++; *s; s++) {
		c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* Decode one UTF-8 sequence at s (n > 0 bytes). Returns its length, and the code point in
 * *cp, or -1 for an invalid sequence (then skip one byte). */
static int utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	int len;
	uint32_t v, min;
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		v = c & 0x07;
		min = 0x10000;
	} else
		return -1;
	if ((size_t)len > n)
		return -1;
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*cp = v;
	return len;
}

static int put(struct evbuffer *b, const char *s, size_t n)
{
	return evbuffer_add(b, s, n) == 0 ? ERR_OK : ERR_NOMEM;
}

static int puts_(struct evbuffer *b, const char *s)
{
	return put(b, s, strlen(s));
}

/* Escaped element text (see xmlconv_write for the rules). */
static int put_text(struct evbuffer *b, const char *s, size_t n)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0; /* bytes from p - run .. p that need no escaping */
	while (n > 0) {
		uint32_t cp = 0;
		int l = utf8_next(p, n, &cp);
		const char *rep = NULL;
		if (l < 0) {
			rep = fffd;
			l = 1;
		} else if (cp == '&')
			rep = "&amp;";
		else if (cp == '<')
			rep = "&lt;";
		else if (cp == '>')
			rep = "&gt;";
		else if (cp == '\r')
			rep = "&#xD;";
		else if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0xfffe || cp == 0xffff)
			rep = fffd;
		if (rep != NULL) {
			if (run > 0 && put(b, (const char *)p - run, run) != ERR_OK)
				return ERR_NOMEM;
			run = 0;
			if (puts_(b, rep) != ERR_OK)
				return ERR_NOMEM;
		} else
			run += (size_t)l;
		p += l;
		n -= (size_t)l;
	}
	if (run > 0 && put(b, (const char *)p - run, run) != ERR_OK)
		return ERR_NOMEM;
	return ERR_OK;
}

static int put_real(struct evbuffer *b, double d)
{
	char buf[40];
	/* integral values as plain digits (80, not 8e+01), others the shortest %g form */
	if (d > -1e15 && d < 1e15 && (double)(long long)d == d) {
		snprintf(buf, sizeof(buf), "%.0f", d);
		return puts_(b, buf);
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return puts_(b, buf);
}

static int put_value(struct evbuffer *b, const char *name, const json_t *v, int depth);

/* The members of obj as child elements. */
static int put_members(struct evbuffer *b, const json_t *obj, int depth)
{
	const char *key;
	json_t *v;
	/* jansson's iteration API takes a non-const object but does not modify it */
	json_object_foreach((json_t *)obj, key, v) {
		int ret = put_value(b, key, v, depth);
		if (ret != ERR_OK)
			return ret;
	}
	return ERR_OK;
}

static int put_open(struct evbuffer *b, const char *name)
{
	return evbuffer_add_printf(b, "<%s>", name) < 0 ? ERR_NOMEM : ERR_OK;
}

static int put_close(struct evbuffer *b, const char *name)
{
	return evbuffer_add_printf(b, "</%s>", name) < 0 ? ERR_NOMEM : ERR_OK;
}

static int put_empty(struct evbuffer *b, const char *name)
{
	return evbuffer_add_printf(b, "<%s/>", name) < 0 ? ERR_NOMEM : ERR_OK;
}

/* One element <name> holding v (a list item when called for an array's members). */
static int put_value(struct evbuffer *b, const char *name, const json_t *v, int depth)
{
	if (depth > WRITE_MAX_DEPTH)
		return ERR_INVAL;
	if (json_is_null(v))
		return ERR_OK;
	if (!xml_name_ok(name))
		return ERR_INVAL;
	int ret;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (json_object_size(v) == 0)
			return put_empty(b, name);
		if ((ret = put_open(b, name)) != ERR_OK ||
		    (ret = put_members(b, v, depth + 1)) != ERR_OK)
			return ret;
		return put_close(b, name);
	case JSON_ARRAY: {
		const char *member = list_member(name);
		if (member == NULL)
			return ERR_INVAL;
		if (json_array_size(v) == 0)
			return put_empty(b, name);
		if ((ret = put_open(b, name)) != ERR_OK)
			return ret;
		for (size_t i = 0; i < json_array_size(v); i++) {
			const json_t *it = json_array_get(v, i);
			if (json_is_array(it))
				return ERR_INVAL;
			if ((ret = put_value(b, member, it, depth + 1)) != ERR_OK)
				return ret;
		}
		return put_close(b, name);
	}
	case JSON_STRING:
		if (json_string_length(v) == 0)
			return put_empty(b, name);
		if ((ret = put_open(b, name)) != ERR_OK ||
		    (ret = put_text(b, json_string_value(v), json_string_length(v))) != ERR_OK)
			return ret;
		return put_close(b, name);
	case JSON_INTEGER:
		return evbuffer_add_printf(b, "<%s>%" JSON_INTEGER_FORMAT "</%s>", name,
					   json_integer_value(v), name) < 0 ? ERR_NOMEM : ERR_OK;
	case JSON_REAL:
		if ((ret = put_open(b, name)) != ERR_OK ||
		    (ret = put_real(b, json_real_value(v))) != ERR_OK)
			return ret;
		return put_close(b, name);
	case JSON_TRUE:
		return evbuffer_add_printf(b, "<%s>true</%s>", name, name) < 0 ? ERR_NOMEM : ERR_OK;
	case JSON_FALSE:
		return evbuffer_add_printf(b, "<%s>false</%s>", name, name) < 0 ? ERR_NOMEM : ERR_OK;
	default:
		return ERR_OK;
	}
}

static const char xml_decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

int xmlconv_write(struct evbuffer *out, const char *root, const json_t *body)
{
	int ret = ERR_INVAL;
	struct evbuffer *b = NULL;

	if (out == NULL || !xml_name_ok(root) || (body != NULL && !json_is_object(body)))
		return ERR_INVAL;
	b = evbuffer_new();
	if (b == NULL)
		return ERR_NOMEM;
	ret = ERR_NOMEM;
	if (puts_(b, xml_decl) != ERR_OK)
		goto out;
	if (body == NULL || json_object_size(body) == 0) {
		if (evbuffer_add_printf(b, "<%s xmlns=\"" XMLCONV_NS "\"/>", root) < 0)
			goto out;
	} else {
		if (evbuffer_add_printf(b, "<%s xmlns=\"" XMLCONV_NS "\">", root) < 0)
			goto out;
		ret = put_members(b, body, 2);
		if (ret != ERR_OK)
			goto out;
		ret = put_close(b, root);
		if (ret != ERR_OK)
			goto out;
	}
	ret = evbuffer_add_buffer(out, b) == 0 ? ERR_OK : ERR_NOMEM;
out:
	evbuffer_free(b);
	return ret;
}

int xmlconv_error(struct evbuffer *out, int http_status, const char *code, const char *message,
		  const char *request_id)
{
	int ret = ERR_NOMEM;
	struct evbuffer *b = NULL;

	if (out == NULL || code == NULL)
		return ERR_INVAL;
	b = evbuffer_new();
	if (b == NULL)
		return ERR_NOMEM;
	if (puts_(b, xml_decl) != ERR_OK ||
	    puts_(b, "<ErrorResponse xmlns=\"" XMLCONV_NS "\"><Error><Type>") != ERR_OK ||
	    puts_(b, http_status >= 500 ? "Receiver" : "Sender") != ERR_OK ||
	    puts_(b, "</Type><Code>") != ERR_OK || put_text(b, code, strlen(code)) != ERR_OK)
		goto out;
	if (message != NULL && message[0] != '\0') {
		if (puts_(b, "</Code><Message>") != ERR_OK ||
		    put_text(b, message, strlen(message)) != ERR_OK ||
		    puts_(b, "</Message></Error>") != ERR_OK)
			goto out;
	} else if (puts_(b, "</Code><Message/></Error>") != ERR_OK)
		goto out;
	if (request_id != NULL) {
		if (puts_(b, "<RequestId>") != ERR_OK ||
		    put_text(b, request_id, strlen(request_id)) != ERR_OK ||
		    puts_(b, "</RequestId>") != ERR_OK)
			goto out;
	}
	if (puts_(b, "</ErrorResponse>") != ERR_OK)
		goto out;
	ret = evbuffer_add_buffer(out, b) == 0 ? ERR_OK : ERR_NOMEM;
out:
	evbuffer_free(b);
	return ret;
}
