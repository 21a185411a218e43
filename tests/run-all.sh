#!/usr/bin/env bash
# run-all.sh -- install what is missing, build, and run every test: unit, integration and
# fuzz-corpus replay in a normal build, then again under ASan+UBSan, then the
# ThreadSanitizer tests. Prints "N passed, N failed" at the end; exits non-zero on failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)

"$top/contrib/deps.sh" || { echo "run-all: dependency install failed" >&2; exit 1; }

passed=0
failed=0
pass() {
	local name=$1 dir=$2; shift 2
	echo "=== $name: configure and build ($dir)"
	if ! cmake -S "$top" -B "$top/$dir" "$@" >"$top/$dir.cmake.log" 2>&1 ||
	   ! cmake --build "$top/$dir" -j"$jobs" >"$top/$dir.build.log" 2>&1; then
		cat "$top/$dir.cmake.log" "$top/$dir.build.log" | tail -40
		echo "=== $name: BUILD FAILED"
		failed=$((failed + 1))
		return
	fi
	echo "=== $name: ctest"
	local log="$top/$dir.ctest.log"
	# A failed test runs once more (its first failure stays in the log above the rerun): one
	# timing flake is known, an empty NOERROR answer right after a health flip that
	# test_health saw twice in about twenty runs (issue 11 asks for its cause). A real failure
	# fails both times.
	(cd "$top/$dir" && ctest --output-on-failure -j"$jobs" --repeat until-pass:2 ${CTEST_ARGS:-}) 2>&1 | tee "$log"
	local p f
	p=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2 \1/p' "$log" | tail -1)
	if [ -z "$p" ]; then
		echo "=== $name: ctest did not report"
		failed=$((failed + 1))
		return
	fi
	set -- $p
	f=$2
	passed=$((passed + $1 - f))
	failed=$((failed + f))
}

pass "release" build-ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
# The etcd tests (the etcd store against real 1- and 3-member clusters, the 3-node fleet:
# about 100 s) run in the release pass only, to keep CI under 20 minutes; their code passed
# them under ASan+UBSan when it was written (ctest -L etcd in an R53D_ASAN build).
CTEST_ARGS="-LE etcd" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	pass "asan+ubsan" build-ci-asan -DCMAKE_BUILD_TYPE=Debug -DR53D_ASAN=ON -DR53D_UBSAN=ON
CTEST_ARGS="-L tsan" TSAN_OPTIONS=halt_on_error=1 \
	pass "tsan" build-ci-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DR53D_TSAN=ON

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
