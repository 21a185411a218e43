#!/bin/sh
# run.sh -- the r53d benchmark (see README.md beside this file). All options go to bench.py:
#   tests/bench/run.sh [--seconds N] [--repeats N] [--only throughput|scale] [--scenario static,...]
exec python3 "$(dirname "$0")/bench.py" "$@"
