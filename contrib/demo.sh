#!/usr/bin/env bash
# demo.sh -- install what is missing, build r53d, and serve the SecureCart demo on
# 127.0.0.1 and ::1 port 5353 (admin HTTP on 127.0.0.1:8053), in the foreground.
#
# The demo starts four small HTTP servers on 127.0.0.1:18081..18084 for the health checks
# to probe (blue and green web, checkout primary and secondary). Kill one to rehearse a
# failover; see README.md. Ctrl-C stops r53d and the endpoints.
#   contrib/demo.sh [CONFIG]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
conf=${1:-$top/contrib/example/r53d.json}
"$top/contrib/deps.sh"
cmake -S "$top" -B "$top/build-demo" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$top/build-demo" -j"$(nproc)" --target r53d >/dev/null

# The demo's geo database: made from the readable test data (documentation address
# ranges), so `dig +subnet=198.51.100.0/24` is a client in France, 192.0.2.0/25 Virginia.
geo=$top/contrib/example/geo
if [ ! -s "$geo/demo-city.mmdb" ]; then
	mkdir -p "$geo"
	perl "$top/tests/fixtures/geo/make-mmdb.pl" "$top/tests/fixtures/geo/city.txt" "$geo" >/dev/null
	mv "$geo/geolite2-city.mmdb" "$geo/demo-city.mmdb"
	rm -f "$geo"/dbip-*.mmdb "$geo"/opaque-*.mmdb "$geo"/other.mmdb
fi

"$top/build-demo/server/r53d" --check "$conf"

pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
for port in 18081 18082 18083 18084; do
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$top/contrib/example" \
		>/dev/null 2>&1 &
	pids="$pids $!"
	echo "demo.sh: endpoint 127.0.0.1:$port is pid $!" >&2
done
echo "demo.sh: serving $conf -- try: dig @127.0.0.1 -p 5353 www.securecart.test" >&2
"$top/build-demo/server/r53d" -c "$conf" &
pids="$pids $!"
wait "$!"
