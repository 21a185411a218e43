#!/usr/bin/env bash
# demo.sh -- install what is missing, build r53d, and serve the example configuration
# (the SecureCart demo) on 127.0.0.1 and ::1 port 5353, in the foreground. Ctrl-C stops it.
#   contrib/demo.sh [CONFIG]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
conf=${1:-$top/contrib/example/r53d.json}
"$top/contrib/deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$top/build" -j"$(nproc)" --target r53d >/dev/null
"$top/build/server/r53d" --check "$conf"
echo "demo.sh: serving $conf -- try: dig @127.0.0.1 -p 5353 shop.securecart.test" >&2
exec "$top/build/server/r53d" -c "$conf"
