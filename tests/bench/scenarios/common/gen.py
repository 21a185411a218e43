#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen.py OUTDIR -- the files the policy scenarios need that are not committed: the test
MMDB files, written by tests/fixtures/geo/make-mmdb.pl from tests/fixtures/geo/city.txt
(the same script and source as the unit tests' fixture; Debian: libmaxmind-db-writer-perl).
The scenarios use OUTDIR/geolite2-city.mmdb (GeoLite2 City schema)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GEO = os.path.join(HERE, "..", "..", "..", "fixtures", "geo")

if len(sys.argv) != 2:
    sys.exit("usage: gen.py OUTDIR")
os.makedirs(sys.argv[1], exist_ok=True)
subprocess.run(["perl", os.path.join(GEO, "make-mmdb.pl"), os.path.join(GEO, "city.txt"),
                sys.argv[1]], check=True, timeout=120)
if not os.path.exists(os.path.join(sys.argv[1], "geolite2-city.mmdb")):
    sys.exit("gen.py: make-mmdb.pl wrote no geolite2-city.mmdb")
