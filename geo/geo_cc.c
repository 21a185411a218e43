/* SPDX-License-Identifier: MIT */
/*
 * geo_cc.c -- Route 53's country -> continent table and the US state names.
 *
 * The country table is spec section 3.3 (Route 53 Developer Guide,
 * resource-record-sets-values-geo.html) verbatim, sorted by code for binary search; spec
 * OC-2 says to use it instead of a GeoIP database's continent field. Editing: keep the rows
 * sorted (the unit test checks the order and the per-continent counts).
 */
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "geo_int.h"

/** One row of the country table. */
typedef struct cc_row {
	char cc[3];   /**< ISO 3166-1 alpha-2, upper case */
	char cont[3]; /**< Route 53 continent code */
} cc_row_t;

static const cc_row_t cc_table[] = {
	{"AD", "EU"}, {"AE", "AS"}, {"AF", "AS"}, {"AG", "NA"}, {"AI", "NA"}, {"AL", "EU"},
	{"AM", "AS"}, {"AO", "AF"}, {"AQ", "AN"}, {"AR", "SA"}, {"AS", "OC"}, {"AT", "EU"},
	{"AU", "OC"}, {"AW", "NA"}, {"AX", "EU"}, {"AZ", "AS"}, {"BA", "EU"}, {"BB", "NA"},
	{"BD", "AS"}, {"BE", "EU"}, {"BF", "AF"}, {"BG", "EU"}, {"BH", "AS"}, {"BI", "AF"},
	{"BJ", "AF"}, {"BL", "NA"}, {"BM", "NA"}, {"BN", "AS"}, {"BO", "SA"}, {"BQ", "NA"},
	{"BR", "SA"}, {"BS", "NA"}, {"BT", "AS"}, {"BW", "AF"}, {"BY", "EU"}, {"BZ", "NA"},
	{"CA", "NA"}, {"CC", "AS"}, {"CD", "AF"}, {"CF", "AF"}, {"CG", "AF"}, {"CH", "EU"},
	{"CI", "AF"}, {"CK", "OC"}, {"CL", "SA"}, {"CM", "AF"}, {"CN", "AS"}, {"CO", "SA"},
	{"CR", "NA"}, {"CU", "NA"}, {"CV", "AF"}, {"CW", "NA"}, {"CY", "EU"}, {"CZ", "EU"},
	{"DE", "EU"}, {"DJ", "AF"}, {"DK", "EU"}, {"DM", "NA"}, {"DO", "NA"}, {"DZ", "AF"},
	{"EC", "SA"}, {"EE", "EU"}, {"EG", "AF"}, {"ER", "AF"}, {"ES", "EU"}, {"ET", "AF"},
	{"FI", "EU"}, {"FJ", "OC"}, {"FK", "SA"}, {"FM", "OC"}, {"FO", "EU"}, {"FR", "EU"},
	{"GA", "AF"}, {"GB", "EU"}, {"GD", "NA"}, {"GE", "AS"}, {"GF", "SA"}, {"GG", "EU"},
	{"GH", "AF"}, {"GI", "EU"}, {"GL", "NA"}, {"GM", "AF"}, {"GN", "AF"}, {"GP", "NA"},
	{"GQ", "AF"}, {"GR", "EU"}, {"GS", "AN"}, {"GT", "NA"}, {"GU", "OC"}, {"GW", "AF"},
	{"GY", "SA"}, {"HK", "AS"}, {"HN", "NA"}, {"HR", "EU"}, {"HT", "NA"}, {"HU", "EU"},
	{"ID", "AS"}, {"IE", "EU"}, {"IL", "AS"}, {"IM", "EU"}, {"IN", "AS"}, {"IO", "AS"},
	{"IQ", "AS"}, {"IR", "AS"}, {"IS", "EU"}, {"IT", "EU"}, {"JE", "EU"}, {"JM", "NA"},
	{"JO", "AS"}, {"JP", "AS"}, {"KE", "AF"}, {"KG", "AS"}, {"KH", "AS"}, {"KI", "OC"},
	{"KM", "AF"}, {"KN", "NA"}, {"KP", "AS"}, {"KR", "AS"}, {"KW", "AS"}, {"KY", "NA"},
	{"KZ", "AS"}, {"LA", "AS"}, {"LB", "AS"}, {"LC", "NA"}, {"LI", "EU"}, {"LK", "AS"},
	{"LR", "AF"}, {"LS", "AF"}, {"LT", "EU"}, {"LU", "EU"}, {"LV", "EU"}, {"LY", "AF"},
	{"MA", "AF"}, {"MC", "EU"}, {"MD", "EU"}, {"ME", "EU"}, {"MF", "NA"}, {"MG", "AF"},
	{"MH", "OC"}, {"MK", "EU"}, {"ML", "AF"}, {"MM", "AS"}, {"MN", "AS"}, {"MO", "AS"},
	{"MP", "OC"}, {"MQ", "NA"}, {"MR", "AF"}, {"MS", "NA"}, {"MT", "EU"}, {"MU", "AF"},
	{"MV", "AS"}, {"MW", "AF"}, {"MX", "NA"}, {"MY", "AS"}, {"MZ", "AF"}, {"NA", "AF"},
	{"NC", "OC"}, {"NE", "AF"}, {"NF", "OC"}, {"NG", "AF"}, {"NI", "NA"}, {"NL", "EU"},
	{"NO", "EU"}, {"NP", "AS"}, {"NR", "OC"}, {"NU", "OC"}, {"NZ", "OC"}, {"OM", "AS"},
	{"PA", "NA"}, {"PE", "SA"}, {"PF", "OC"}, {"PG", "OC"}, {"PH", "AS"}, {"PK", "AS"},
	{"PL", "EU"}, {"PM", "NA"}, {"PN", "OC"}, {"PR", "NA"}, {"PS", "AS"}, {"PT", "EU"},
	{"PW", "OC"}, {"PY", "SA"}, {"QA", "AS"}, {"RE", "AF"}, {"RO", "EU"}, {"RS", "EU"},
	{"RU", "EU"}, {"RW", "AF"}, {"SA", "AS"}, {"SB", "OC"}, {"SC", "AF"}, {"SD", "AF"},
	{"SE", "EU"}, {"SG", "AS"}, {"SH", "AF"}, {"SI", "EU"}, {"SJ", "EU"}, {"SK", "EU"},
	{"SL", "AF"}, {"SM", "EU"}, {"SN", "AF"}, {"SO", "AF"}, {"SR", "SA"}, {"SS", "AF"},
	{"ST", "AF"}, {"SV", "NA"}, {"SX", "NA"}, {"SY", "AS"}, {"SZ", "AF"}, {"TC", "NA"},
	{"TD", "AF"}, {"TF", "AN"}, {"TG", "AF"}, {"TH", "AS"}, {"TJ", "AS"}, {"TK", "OC"},
	{"TL", "OC"}, {"TM", "AS"}, {"TN", "AF"}, {"TO", "OC"}, {"TR", "EU"}, {"TT", "NA"},
	{"TV", "OC"}, {"TW", "AS"}, {"TZ", "AF"}, {"UA", "EU"}, {"UG", "AF"}, {"UM", "OC"},
	{"US", "NA"}, {"UY", "SA"}, {"UZ", "AS"}, {"VA", "EU"}, {"VC", "NA"}, {"VE", "SA"},
	{"VG", "NA"}, {"VI", "NA"}, {"VN", "AS"}, {"VU", "OC"}, {"WF", "OC"}, {"WS", "OC"},
	{"XK", "EU"}, {"YE", "AS"}, {"YT", "AF"}, {"ZA", "AF"}, {"ZM", "AF"}, {"ZW", "AF"},
};

#define CC_COUNT (sizeof(cc_table) / sizeof(cc_table[0]))

static const char *const continents[] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA" };

static int cc_cmp(const void *key, const void *elt)
{
	const char *k = key;
	const cc_row_t *r = elt;
	return strncmp(k, r->cc, 2);
}

const char *geo_country_continent(const char *cc)
{
	if (cc == NULL || cc[0] == '\0' || cc[1] == '\0' || cc[2] != '\0')
		return NULL;
	char key[3] = { geo_upper(cc[0]), geo_upper(cc[1]), '\0' };
	const cc_row_t *r = bsearch(key, cc_table, CC_COUNT, sizeof(cc_table[0]), cc_cmp);
	return r != NULL ? r->cont : NULL;
}

bool geo_continent_valid(const char *code)
{
	if (code == NULL)
		return false;
	for (size_t i = 0; i < sizeof(continents) / sizeof(continents[0]); i++)
		if (strcmp(code, continents[i]) == 0)
			return true;
	return false;
}

size_t geo_country_count(void)
{
	return CC_COUNT;
}

const char *geo_country_at(size_t i, const char **continent)
{
	if (i >= CC_COUNT)
		return NULL;
	if (continent != NULL)
		*continent = cc_table[i].cont;
	return cc_table[i].cc;
}

/** A US state (or DC) name and its USPS code. */
typedef struct us_state {
	const char *name; /**< English name as GeoIP databases spell it */
	char code[3];     /**< USPS code */
} us_state_t;

static const us_state_t us_states[] = {
	{ "Alabama", "AL" },        { "Alaska", "AK" },        { "Arizona", "AZ" },
	{ "Arkansas", "AR" },       { "California", "CA" },    { "Colorado", "CO" },
	{ "Connecticut", "CT" },    { "Delaware", "DE" },      { "District of Columbia", "DC" },
	{ "Florida", "FL" },        { "Georgia", "GA" },       { "Hawaii", "HI" },
	{ "Idaho", "ID" },          { "Illinois", "IL" },      { "Indiana", "IN" },
	{ "Iowa", "IA" },           { "Kansas", "KS" },        { "Kentucky", "KY" },
	{ "Louisiana", "LA" },      { "Maine", "ME" },         { "Maryland", "MD" },
	{ "Massachusetts", "MA" },  { "Michigan", "MI" },      { "Minnesota", "MN" },
	{ "Mississippi", "MS" },    { "Missouri", "MO" },      { "Montana", "MT" },
	{ "Nebraska", "NE" },       { "Nevada", "NV" },        { "New Hampshire", "NH" },
	{ "New Jersey", "NJ" },     { "New Mexico", "NM" },    { "New York", "NY" },
	{ "North Carolina", "NC" }, { "North Dakota", "ND" },  { "Ohio", "OH" },
	{ "Oklahoma", "OK" },       { "Oregon", "OR" },        { "Pennsylvania", "PA" },
	{ "Rhode Island", "RI" },   { "South Carolina", "SC" }, { "South Dakota", "SD" },
	{ "Tennessee", "TN" },      { "Texas", "TX" },         { "Utah", "UT" },
	{ "Vermont", "VT" },        { "Virginia", "VA" },      { "Washington", "WA" },
	{ "West Virginia", "WV" },  { "Wisconsin", "WI" },     { "Wyoming", "WY" },
};

#define US_COUNT (sizeof(us_states) / sizeof(us_states[0]))

const char *geo_us_state_code(const char *name, size_t len)
{
	if (name == NULL)
		return NULL;
	/* "Washington, D.C." is how some sources spell DC. */
	static const char dc_alt[] = "Washington, D.C.";
	if (len == sizeof(dc_alt) - 1 && strncmp(name, dc_alt, len) == 0)
		return "DC";
	for (size_t i = 0; i < US_COUNT; i++) {
		const char *s = us_states[i].name;
		if (strlen(s) != len)
			continue;
		size_t j = 0;
		while (j < len && geo_upper(name[j]) == geo_upper(s[j]))
			j++;
		if (j == len)
			return us_states[i].code;
	}
	return NULL;
}

bool geo_us_state_valid(const char *code)
{
	if (code == NULL)
		return false;
	for (size_t i = 0; i < US_COUNT; i++)
		if (strcmp(code, us_states[i].code) == 0)
			return true;
	return false;
}
