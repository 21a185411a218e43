#!/usr/bin/env bash
# demo.sh -- install what is missing, build r53d, and serve the SecureCart demo on
# 127.0.0.1 and ::1 port 5353 (admin HTTP on 127.0.0.1:8053), in the foreground.
#
# The demo starts six small endpoints for the health checks to probe: HTTP servers on
# 127.0.0.1:18081..18084 (blue and green web, checkout primary and secondary) and two TCP
# listeners on 18085 and 18086 (Production's database, primary and secondary). Kill one to
# rehearse a failover; see README.md. Ctrl-C stops r53d and the endpoints.
#
# Three VPCs (Dev, Staging, Production) are the client sources 127.0.0.11, .12 and .13:
# `dig -b 127.0.0.13 ...` asks as an instance in Production would.
#
#   contrib/demo.sh [--resolvers] [CONFIG]
#   --resolvers   once r53d answers, also start one Unbound resolver per VPC
#                 (contrib/resolver/resolvers.py, port 5300; stopped on exit)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
resolvers=false
while [ $# -gt 0 ]; do
	case "$1" in
	--resolvers) resolvers=true; shift ;;
	-h|--help) sed -n '2,/^set /s/^# \{0,1\}//p' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "demo.sh: unknown option $1 (usage: contrib/demo.sh [--resolvers] [CONFIG])" >&2; exit 2 ;;
	*) break ;;
	esac
done
conf=${1:-$top/contrib/example/r53d.json}
resolvers_py=$top/contrib/resolver/resolvers.py
if $resolvers && [ ! -f "$resolvers_py" ]; then
	echo "demo.sh: --resolvers needs $resolvers_py, which is not there (this checkout has no contrib/resolver/); run without --resolvers" >&2
	exit 2
fi
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

run=$top/build-demo/run
pids=""
resolvers_started=false
cleanup() {
	if $resolvers_started; then
		resolvers_started=false
		/usr/bin/python3 "$resolvers_py" stop --dir "$run/resolvers" || true
	fi
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	pids=""
	rm -f "$run"/*.pid
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# each process's pid is also in build-demo/run/NAME.pid, for `kill $(cat ...)` in a drill
mkdir -p "$run"
started() {
	pids="$pids $2"
	echo "$2" > "$run/$1.pid"
}
for port in 18081 18082 18083 18084; do
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$top/contrib/example" \
		>/dev/null 2>&1 &
	started "endpoint-$port" $!
	echo "demo.sh: endpoint 127.0.0.1:$port is pid $!" >&2
done
# The database endpoints: TCP listeners that accept and close (the checks are TCP).
for port in 18085 18086; do
	python3 -c 'import socketserver as s, sys
s.TCPServer.allow_reuse_address = True
s.TCPServer(("127.0.0.1", int(sys.argv[1])), s.BaseRequestHandler).serve_forever()' "$port" \
		>/dev/null 2>&1 &
	started "endpoint-$port" $!
	echo "demo.sh: endpoint 127.0.0.1:$port is pid $!" >&2
done
echo "demo.sh: serving $conf -- try: dig @127.0.0.1 -p 5353 www.securecart.test" >&2
"$top/build-demo/server/r53d" -c "$conf" &
r53d=$!
started r53d "$r53d"
echo "demo.sh: r53d is pid $r53d" >&2
if $resolvers; then
	# the resolvers send their first queries to r53d: wait until it answers
	up=false
	for _ in $(seq 100); do
		kill -0 "$r53d" 2>/dev/null || break
		if dig @127.0.0.1 -p 5353 +time=1 +tries=1 securecart.test SOA 2>/dev/null |
			grep -q 'status: NOERROR'; then
			up=true
			break
		fi
		sleep 0.1
	done
	if $up; then
		resolvers_started=true
		/usr/bin/python3 "$resolvers_py" start --config "$conf" --dir "$run/resolvers" --port 5300
	else
		echo "demo.sh: r53d does not answer on 127.0.0.1:5353; the resolvers are not started" >&2
	fi
fi
wait "$r53d"
