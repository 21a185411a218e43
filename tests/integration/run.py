#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run r53d integration tests.

    run.py --r53d BUILD/server/r53d [--nsd /usr/sbin/nsd] [--slow 3] [-k SUBSTR] [MODULE ...]

MODULE is a test file name without .py (test_answers, test_protocol, test_tcp, test_config,
test_nsd_diff, test_storm); none given runs them all. Prints one line per test, details of
each failure, and closes with "N passed, N failed, N skipped"; exits 1 on any failure or
error, 0 otherwise.
"""

import argparse
import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TestResult):
    def __init__(self, verbose=True):
        super().__init__()
        self.passed = []
        self.verbose = verbose
        self._t0 = {}

    def _line(self, test, word, extra=""):
        t = max(0.0, time.monotonic() - self._t0.get(id(test), time.monotonic()))
        print("%-7s %s (%.2fs)%s" % (word, test.id(), t, extra), flush=True)

    def startTest(self, test):
        self._t0[id(test)] = time.monotonic()
        super().startTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)
        self._line(test, "PASS")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, "ERROR")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            print("FAIL    %s" % subtest.id(), flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, "SKIP", " -- " + reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(test, "XFAIL")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(test, "XPASS")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--r53d", default=None, help="the r53d binary to test")
    ap.add_argument("--target", default="r53d", choices=("r53d", "nsd"),
                    help="nsd: run the answer/protocol tests against NSD to calibrate them")
    ap.add_argument("--nsd", default="/usr/sbin/nsd", help="NSD for the differential test")
    ap.add_argument("--slow", type=float, default=None,
                    help="scale every wait (sanitizer builds: 3)")
    ap.add_argument("-k", dest="pattern", default=None, help="only tests whose id contains this")
    ap.add_argument("modules", nargs="*")
    args = ap.parse_args()

    os.environ["R53D_TEST_TARGET"] = args.target
    os.environ["R53D"] = os.path.abspath(args.r53d) if args.r53d else ""
    os.environ["NSD"] = args.nsd
    if args.slow is not None:
        os.environ["R53D_TEST_SLOW"] = str(args.slow)
    if args.target == "r53d" and not os.access(os.environ["R53D"], os.X_OK):
        print("r53d binary not found or not executable: %s" % args.r53d)
        print("0 passed, 1 failed")
        return 1

    modules = args.modules or sorted(f[:-3] for f in os.listdir(HERE)
                                     if f.startswith("test_") and f.endswith(".py"))
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in modules:
        name = name[:-3] if name.endswith(".py") else name
        suite.addTests(loader.loadTestsFromName(name))

    def flatten(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from flatten(t)
            else:
                yield t

    if args.pattern:
        suite = unittest.TestSuite(t for t in flatten(suite) if args.pattern in t.id())

    result = Result()
    t0 = time.monotonic()
    suite.run(result)
    elapsed = time.monotonic() - t0

    for kind, items in (("FAIL", result.failures), ("ERROR", result.errors)):
        for test, tb in items:
            print("=" * 78)
            print("%s: %s" % (kind, test.id() if hasattr(test, "id") else test))
            print("-" * 78)
            print(tb)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = len(result.passed)
    skipped = len(result.skipped)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print("(%.1fs)" % elapsed)
    print(line, flush=True)
    if passed + failed == 0 and skipped == 0:
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.exit(1)
