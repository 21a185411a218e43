#!/bin/sh
# run.sh -- the r53d benchmark against NSD, Knot, gdnsd and a bare echo (see README.md beside
# this file): throughput, policy scenarios, load time and memory, reload. All options go to
# bench.py:
#   tests/bench/run.sh [--seconds N] [--repeats N] [--only throughput|scale|reload]
#                      [--servers r53d,nsd,knot,gdnsd,echo] [--scenario static,...]
exec python3 "$(dirname "$0")/bench.py" "$@"
