#!/usr/bin/env bash
# check_example.sh -- the demo configuration of contrib/example loads (r53d --check) from a
# copy, with the geo database made the way contrib/demo.sh makes it. Catches a demo that
# names files nobody committed.
#   check_example.sh R53D SOURCE_DIR
set -eu
r53d=$1
top=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$top/contrib/example" "$tmp/example"
rm -rf "$tmp/example/geo"
mkdir -p "$tmp/example/geo"
perl "$top/tests/fixtures/geo/make-mmdb.pl" "$top/tests/fixtures/geo/city.txt" "$tmp/example/geo" >/dev/null
mv "$tmp/example/geo/geolite2-city.mmdb" "$tmp/example/geo/demo-city.mmdb"
out=$("$r53d" --check "$tmp/example/r53d.json")
echo "$out"
# every policy of the demo is there
for p in weighted failover latency geolocation geoproximity multivalue ip-based; do
	echo "$out" | grep -q "$p" || { echo "check_example: no $p record sets in the summary" >&2; exit 1; }
done
# the three VPCs' private zones (a private zone loads only with its VPCs configured) and
# Production's split-view twin beside the public zone
want_zone() { # NAME ID VIEW
	echo "$out" | grep -Eq "^zone $1  id /hostedzone/$2  $3 " ||
		{ echo "check_example: no $3 zone $1 ($2) in the summary" >&2; exit 1; }
}
want_zone securecart.test. Z1SECURECART public
want_zone securecart.test. Z3SECURECARTPROD private
for z in Z2INTERNALDEV Z2INTERNALSTAGING Z2INTERNALPROD; do
	want_zone internal.securecart.test. "$z" private
done
echo "$out" | grep -q "^health checks: 6$" ||
	{ echo "check_example: the demo has 6 health checks (web, checkout, database)" >&2; exit 1; }
echo "1 passed, 0 failed"
