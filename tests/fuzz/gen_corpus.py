#!/usr/bin/env python3
"""gen_corpus.py -- write the seed corpus for the fuzz targets (run once; output is committed)."""
import os
import random
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
os.makedirs(out, exist_ok=True)


def name(n):
    b = b""
    for label in n.strip(".").split("."):
        if label:
            b += bytes([len(label)]) + label.encode()
    return b + b"\0"


def query(qname, qtype, qclass=1, flags=0, opt=None, qd=1, an=0, ednsflags=0x8000):
    ar = 1 if opt is not None else 0
    p = struct.pack("!HHHHHH", 0x1234, flags, qd, an, 0, ar) + name(qname) + struct.pack("!HH", qtype, qclass)
    if opt is not None:
        size, version, options = opt
        p += b"\0" + struct.pack("!HHBBHH", 41, size, 0, version, ednsflags, len(options)) + options
    return p


def ecs(family, src, scope, addr):
    body = struct.pack("!HBB", family, src, scope) + addr
    return struct.pack("!HH", 8, len(body)) + body


seeds = {}
names = ["www.example.com", "example.com", "nothere.example.com", "alias.example.com",
         "chain.example.com", "foo.wild.example.com", "host.sub.example.com", "b.example.com",
         "big.example.com", "WwW.ExAmPlE.CoM", "www.example.org", "loop1.example.com"]
types = [1, 2, 5, 6, 15, 16, 28, 33, 43, 255, 252, 65400]
i = 0
for n in names:
    for t in types[:4] + [random.Random(i).choice(types)]:
        seeds["q%03d" % i] = query(n, t)
        i += 1
seeds["edns"] = query("www.example.com", 1, opt=(4096, 0, b""))
seeds["edns_v1"] = query("www.example.com", 1, opt=(4096, 1, b""))
seeds["ecs4"] = query("www.example.com", 1, opt=(1232, 0, ecs(1, 24, 0, bytes([192, 0, 2]))))
seeds["ecs6"] = query("www.example.com", 1, opt=(1232, 0, ecs(2, 56, 0, bytes(7))))
seeds["ecs_bad"] = query("www.example.com", 1, opt=(1232, 0, ecs(1, 33, 0, bytes(5))))
seeds["chaos"] = query("version.bind", 16, qclass=3)
seeds["notify"] = query("example.com", 6, flags=4 << 11)
seeds["qd0"] = query("example.com", 1, qd=0)
seeds["qd2"] = query("example.com", 1, qd=2)
seeds["an1"] = query("example.com", 1, an=1)
seeds["short"] = query("www.example.com", 1)[:20]
seeds["loop"] = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"
seeds["response"] = query("www.example.com", 1, flags=0x8000)
# DNAME substitution: in zone, out of zone, into itself, too long; QCLASS *
seeds["dname_in"] = query("a.dnin.example.com", 1)
seeds["dname_out"] = query("x.y.dn.example.com", 28)
seeds["dname_loop"] = query("x.dnloop.example.com", 1)
seeds["dname_long"] = query("a" * 63 + "." + "b" * 63 + ".dnlong.example.com", 1)
seeds["qclass_any"] = query("www.example.com", 1, qclass=255)
# DNSSEC (the fuzz zone is signed): DO (0x8000), CO (0x4000, RFC 9824), NXNAME (128)
dnssec = [("www.example.com", 1), ("nothere.example.com", 1), ("www.example.com", 28),
          ("chain.example.com", 1), ("dangling.example.com", 1), ("foo.wild.example.com", 16),
          ("foo.wild.example.com", 1), ("host.sub.example.com", 1), ("sub.example.com", 43),
          ("example.com", 48), ("example.com", 255), ("big.example.com", 16),
          ("x.dn.example.com", 1), ("www.example.com", 46), ("www.example.com", 47),
          ("a.b.example.com", 1), ("b.example.com", 1), ("www.example.com", 128)]
for j, (n, t) in enumerate(dnssec):
    seeds["do%02d" % j] = query(n, t, opt=(1232, 0, b""))
    seeds["do_co%02d" % j] = query(n, t, opt=(512, 0, b""), ednsflags=0xC000)
seeds["co_only"] = query("nothere.example.com", 1, opt=(1232, 0, b""), ednsflags=0x4000)
seeds["nxname"] = query("www.example.com", 128)
for k, v in seeds.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(v)
print("wrote %d seeds to %s" % (len(seeds), out))
