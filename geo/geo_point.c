/* SPDX-License-Identifier: MIT */
/*
 * geo_point.c -- coordinates: great-circle distance, the AWS Region table, the geoproximity
 * bias, the latency estimate and the tie rule.
 *
 * The Region table is the editable table of spec OC-4 (coordinates: approximate city
 * centres) joined with OC-10 (continent, country, US state). The first 22 rows are the
 * spec's values verbatim; the rows after them are Regions AWS opened later, added so that
 * exported configurations naming them load (approximate coordinates of the host city).
 * Add a Region by appending a row; indices are positions in this array.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"

static const geo_region_t regions[] = {
	/* spec OC-4 / OC-10 */
	{ "us-east-1", "Ashburn", 39.04, -77.49, "NA", "US", "VA" },
	{ "us-east-2", "Columbus", 39.96, -83.00, "NA", "US", "OH" },
	{ "us-west-1", "San Francisco", 37.77, -122.42, "NA", "US", "CA" },
	{ "us-west-2", "Boardman", 45.84, -119.70, "NA", "US", "OR" },
	{ "ca-central-1", "Montreal", 45.50, -73.57, "NA", "CA", "" },
	{ "sa-east-1", "Sao Paulo", -23.55, -46.63, "SA", "BR", "" },
	{ "eu-west-1", "Dublin", 53.35, -6.26, "EU", "IE", "" },
	{ "eu-west-2", "London", 51.51, -0.13, "EU", "GB", "" },
	{ "eu-west-3", "Paris", 48.86, 2.35, "EU", "FR", "" },
	{ "eu-central-1", "Frankfurt", 50.11, 8.68, "EU", "DE", "" },
	{ "eu-north-1", "Stockholm", 59.33, 18.07, "EU", "SE", "" },
	{ "eu-south-1", "Milan", 45.46, 9.19, "EU", "IT", "" },
	{ "ap-northeast-1", "Tokyo", 35.68, 139.69, "AS", "JP", "" },
	{ "ap-northeast-2", "Seoul", 37.57, 126.98, "AS", "KR", "" },
	{ "ap-northeast-3", "Osaka", 34.69, 135.50, "AS", "JP", "" },
	{ "ap-southeast-1", "Singapore", 1.35, 103.82, "AS", "SG", "" },
	{ "ap-southeast-2", "Sydney", -33.87, 151.21, "OC", "AU", "" },
	{ "ap-south-1", "Mumbai", 19.08, 72.88, "AS", "IN", "" },
	{ "ap-east-1", "Hong Kong", 22.32, 114.17, "AS", "HK", "" },
	{ "me-south-1", "Bahrain", 26.07, 50.56, "AS", "BH", "" },
	{ "af-south-1", "Cape Town", -33.92, 18.42, "AF", "ZA", "" },
	{ "cn-north-1", "Beijing", 39.90, 116.40, "AS", "CN", "" },
	/* the rest of the Region enum of spec 3.2 */
	{ "cn-northwest-1", "Zhongwei", 37.51, 105.19, "AS", "CN", "" },
	{ "us-gov-west-1", "Boardman", 45.84, -119.70, "NA", "US", "OR" },
	{ "us-gov-east-1", "Columbus", 39.96, -83.00, "NA", "US", "OH" },
	{ "ca-west-1", "Calgary", 51.05, -114.07, "NA", "CA", "" },
	{ "mx-central-1", "Queretaro", 20.59, -100.39, "NA", "MX", "" },
	{ "eu-central-2", "Zurich", 47.37, 8.54, "EU", "CH", "" },
	{ "eu-south-2", "Zaragoza", 41.65, -0.88, "EU", "ES", "" },
	{ "il-central-1", "Tel Aviv", 32.09, 34.78, "AS", "IL", "" },
	{ "me-central-1", "Abu Dhabi", 24.45, 54.38, "AS", "AE", "" },
	{ "ap-south-2", "Hyderabad", 17.39, 78.49, "AS", "IN", "" },
	{ "ap-southeast-3", "Jakarta", -6.21, 106.85, "AS", "ID", "" },
	{ "ap-southeast-4", "Melbourne", -37.81, 144.96, "OC", "AU", "" },
	{ "ap-southeast-5", "Kuala Lumpur", 3.14, 101.69, "AS", "MY", "" },
	{ "ap-southeast-6", "Auckland", -36.85, 174.76, "OC", "NZ", "" },
	{ "ap-southeast-7", "Bangkok", 13.76, 100.50, "AS", "TH", "" },
	{ "ap-east-2", "Taipei", 25.03, 121.57, "AS", "TW", "" },
	{ "eusc-de-east-1", "Brandenburg", 52.41, 12.53, "EU", "DE", "" }, /* European Sovereign Cloud */
};

/* pi, spelled out: M_PI is not C11. */
#define GEO_PI 3.14159265358979323846

#define REGION_COUNT ((int)(sizeof(regions) / sizeof(regions[0])))

static double rad(double deg)
{
	return deg * (GEO_PI / 180.0);
}

double geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	double dlat = rad(lat2 - lat1);
	double dlon = rad(lon2 - lon1);
	double s1 = sin(dlat / 2.0);
	double s2 = sin(dlon / 2.0);
	double a = s1 * s1 + cos(rad(lat1)) * cos(rad(lat2)) * s2 * s2;
	if (a > 1.0)
		a = 1.0;
	return 2.0 * GEO_EARTH_RADIUS_KM * asin(sqrt(a));
}

double geo_bias_distance(double km, int bias)
{
	if (bias > 99)
		bias = 99;
	if (bias < -99)
		bias = -99;
	if (bias > 0)
		return km * (1.0 - bias / 100.0);
	if (bias < 0)
		return km / (1.0 + bias / 100.0);
	return km;
}

double geo_latency_estimate_ms(double km)
{
	return km / 100.0 + 5.0;
}

int geo_rank_cmp(double a, const char *a_name, double b, const char *b_name)
{
	if (a < b)
		return -1;
	if (a > b)
		return 1;
	/* Byte order, as memcmp: strcmp compares as unsigned char. */
	int c = strcmp(a_name != NULL ? a_name : "", b_name != NULL ? b_name : "");
	return (c > 0) - (c < 0);
}

size_t geo_region_count(void)
{
	return (size_t)REGION_COUNT;
}

const geo_region_t *geo_region_get(int i)
{
	if (i < 0 || i >= REGION_COUNT)
		return NULL;
	return &regions[i];
}

int geo_region_find(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < REGION_COUNT; i++)
		if (strcmp(regions[i].name, name) == 0)
			return i;
	return -1;
}

int geo_loc_from_region(int region, geo_loc_t *out)
{
	const geo_region_t *r = geo_region_get(region);
	if (r == NULL)
		return GEO_EINVAL;
	geo_loc_clear(out);
	memcpy(out->continent, r->continent, sizeof(out->continent));
	memcpy(out->country, r->country, sizeof(out->country));
	memcpy(out->subdivision, r->subdivision, sizeof(out->subdivision));
	out->found = true;
	out->has_coords = true;
	out->lat = r->lat;
	out->lon = r->lon;
	return GEO_OK;
}

int geo_coord_parse(const char *text, bool latitude, double *out)
{
	const char *p = text;
	unsigned max_int = latitude ? 2 : 3;
	double limit = latitude ? 90.0 : 180.0;
	bool neg = false;

	if (p == NULL)
		return GEO_EPARSE;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	unsigned n = 0;
	long ip = 0;
	while (*p >= '0' && *p <= '9' && n <= max_int) {
		ip = ip * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || n > max_int)
		return GEO_EPARSE;
	long frac = 0;
	long scale = 1;
	if (*p == '.') {
		p++;
		unsigned f = 0;
		while (*p >= '0' && *p <= '9' && f <= 2) {
			frac = frac * 10 + (*p++ - '0');
			scale *= 10;
			f++;
		}
		if (f > 2)
			return GEO_EPARSE;
	}
	if (*p != '\0')
		return GEO_EPARSE;
	double v = (double)ip + (double)frac / (double)scale;
	if (v > limit)
		return GEO_EINVAL;
	*out = neg ? -v : v;
	return GEO_OK;
}
