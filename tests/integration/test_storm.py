# SPDX-License-Identifier: MIT
"""Storm: 100,000 random and mutated UDP packets, then slow, partial, oversized and garbage
TCP frames, many half-open connections, resets and a client that never reads. Afterwards
the same r53d process must still answer correctly, and exit 0 on SIGTERM.

Every reply that does come back must be a well-formed DNS response (QR set, parses strictly,
at most 1232 bytes over UDP). Bounded: the UDP phase is paced by probe queries (so the
packets are processed, not dropped by the kernel) and has a deadline; every TCP step has
timeouts. Seed: R53D_STORM_SEED (default 1); packets: R53D_STORM_PACKETS (default 100000).
"""

import os
import random
import select
import socket
import struct
import time
import unittest

import dnswire
from dnswire import encode_name, make_query, opt_rr
from harness import SLOW, ServerCase, a

NPACKETS = int(os.environ.get("R53D_STORM_PACKETS", "100000"))
SEED = int(os.environ.get("R53D_STORM_SEED", "1"))
UDP_DEADLINE = 45.0      # seconds for the whole UDP phase (scaled by SLOW)
BATCH = 64

NAMES = ["www.example.com.", "example.com.", "medium.example.com.", "big.example.com.",
         "nothere.example.com.", "x.w.example.com.", "b.w.example.com.", "host.sub.example.com.",
         "sub.example.com.", "alias.example.com.", "chain1.example.com.", "loop1.example.com.",
         "_sip._tcp.example.com.", "child.example.com.", "www.example.org.", "version.bind.",
         "*.w.example.com.", "multi.example.com.", "WwW.ExAmPlE.cOm."]
TYPES = [1, 28, 2, 6, 15, 16, 33, 5, 43, 255, 252, 251, 65400, 0, 41, 46]


def ecs(family=1, src=24, scope=0, addr=b"\xc0\x00\x02"):
    return struct.pack("!HHHBB", 8, 4 + len(addr), family, src, scope) + addr


def base_queries(rng):
    out = []
    for name in NAMES:
        for t in rng.sample(TYPES, 5):
            out.append(make_query(name, t))
            out.append(make_query(name, t, edns=rng.choice([512, 1232, 4096, 65535, 0]),
                                  do=rng.random() < 0.3))
            out.append(make_query(name, t, edns=1232, options=ecs()))
            out.append(make_query(name, t, edns=1232,
                                  options=struct.pack("!HH", 10, 8) + b"\x01" * 8))
    out.append(make_query("version.bind.", "TXT", qclass=3))
    return out


class Mutator:
    def __init__(self, rng):
        self.r = rng
        self.bases = base_queries(rng)
        self.ops = [self.bitflip, self.bitflip, self.truncate, self.truncate, self.append,
                    self.counts, self.pointer, self.pointer_loop, self.huge_label,
                    self.long_name, self.bad_opt, self.bad_opt, self.random_bytes,
                    self.flags, self.qtype_class, self.splice, self.extra_records,
                    self.oversize, self.bad_ecs, self.byte_set]

    def packet(self):
        r = self.r
        p = bytearray(r.choice(self.bases))
        p[0:2] = struct.pack("!H", r.getrandbits(16))
        for _ in range(1 if r.random() < 0.7 else r.randint(2, 4)):
            p = r.choice(self.ops)(p)
        return bytes(p[:65000])

    def bitflip(self, p):
        for _ in range(self.r.randint(1, 8)):
            if p:
                i = self.r.randrange(len(p))
                p[i] ^= 1 << self.r.randrange(8)
        return p

    def byte_set(self, p):
        if p:
            p[self.r.randrange(len(p))] = self.r.choice([0, 0xff, 0xc0, 0x3f, 0x40, 0x29, 1])
        return p

    def truncate(self, p):
        return p[:self.r.randrange(len(p) + 1)]

    def append(self, p):
        return p + bytes(self.r.getrandbits(8) for _ in range(self.r.randint(1, 40)))

    def counts(self, p):
        if len(p) >= 12:
            i = self.r.choice([4, 6, 8, 10])
            p[i:i + 2] = struct.pack("!H", self.r.choice([0, 1, 2, 3, 0xff, 0xffff,
                                                           self.r.getrandbits(16)]))
        return p

    def pointer(self, p):
        if len(p) > 14:
            i = self.r.randrange(12, len(p) - 1)
            off = self.r.choice([0, 12, 13, len(p), 0x3fff, self.r.randrange(len(p) + 8)])
            p[i:i + 2] = struct.pack("!H", 0xC000 | (off & 0x3fff))
        return p

    def pointer_loop(self, p):
        kind = self.r.randrange(3)
        hdr = p[:12] if len(p) >= 12 else bytearray(12)
        if kind == 0:      # the qname points at itself
            body = b"\xc0\x0c\x00\x01\x00\x01"
        elif kind == 1:    # two pointers pointing at each other
            body = b"\x01a\xc0\x0e\x00\x01\x00\x01"[:2] + b"\xc0\x12\xc0\x0c\x00\x01\x00\x01"
        else:              # a long chain of backward pointers ending in a loop
            body = b"\x01a" + b"".join(struct.pack("!H", 0xC000 | (12 + 2 * k)) for k in range(40))
            body += b"\x00\x01\x00\x01"
        return bytearray(hdr) + body

    def huge_label(self, p):
        n = self.r.choice([63, 64, 100, 127, 191, 255])
        body = bytes([n]) + b"x" * self.r.choice([n, n // 2, 3]) + b"\x00\x00\x01\x00\x01"
        return bytearray(p[:12] if len(p) >= 12 else bytes(12)) + body

    def long_name(self, p):
        labels = self.r.randint(100, 200)
        body = b"\x01a" * labels + b"\x00\x00\x01\x00\x01"
        return bytearray(p[:12] if len(p) >= 12 else bytes(12)) + body

    def bad_opt(self, p):
        r = self.r
        q = make_query(r.choice(NAMES), r.choice(TYPES), counts=(1, 0, 0, 1))
        kind = r.randrange(8)
        if kind == 0:     # rdlen longer than the packet
            opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, r.choice([4, 100, 0xffff]))
        elif kind == 1:   # option length overruns rdata
            o = struct.pack("!HH", r.getrandbits(16), 50) + b"ab"
            opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(o)) + o
        elif kind == 2:   # many options
            o = b"".join(struct.pack("!HH", r.getrandbits(16), 2) + b"xy" for _ in range(300))
            opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(o)) + o
        elif kind == 3:   # odd version / flags / ext rcode
            opt = opt_rr(r.choice([0, 1, 511]), version=r.choice([0, 1, 255]),
                         do=True, ext_rcode=r.getrandbits(8))
        elif kind == 4:   # owner not root
            opt = b"\x01x\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
        elif kind == 5:   # two OPT
            opt = opt_rr() + opt_rr()
            q = q[:10] + b"\x00\x02" + q[12:]
        elif kind == 6:   # truncated OPT header
            opt = b"\x00\x00\x29\x04"
        else:             # option with length 0xffff
            o = struct.pack("!HH", 8, 0xffff)
            opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(o)) + o
        return bytearray(q + opt)

    def bad_ecs(self, p):
        r = self.r
        fam = r.choice([1, 2, 0, 3, 0xffff])
        src = r.choice([0, 8, 24, 32, 33, 56, 128, 129, 255])
        scope = r.choice([0, 24, 255])
        addr = bytes(r.getrandbits(8) for _ in range(r.choice([0, 1, 3, 4, 16, 17, 40])))
        return bytearray(make_query(r.choice(NAMES), 1, edns=1232,
                                    options=ecs(fam, src, scope, addr)))

    def random_bytes(self, p):
        n = self.r.choice([0, 1, 5, 11, 12, 13, 30, 100, 512, 1500])
        return bytearray(self.r.getrandbits(8) for _ in range(n))

    def flags(self, p):
        if len(p) >= 4:
            p[2:4] = struct.pack("!H", self.r.getrandbits(16))
        return p

    def qtype_class(self, p):
        r = self.r
        return bytearray(make_query(r.choice(NAMES), r.getrandbits(16),
                                    qclass=r.choice([1, 3, 4, 254, 255, r.getrandbits(16)])))

    def splice(self, p):
        other = self.r.choice(self.bases)
        i = self.r.randrange(len(p) + 1)
        j = self.r.randrange(len(other) + 1)
        return p[:i] + other[j:]

    def extra_records(self, p):
        r = self.r
        rr = encode_name(r.choice(NAMES)) + struct.pack("!HHIH", r.choice([1, 2, 5, 6, 41]), 1,
                                                         300, 4) + b"\x7f\x00\x00\x01"
        which = r.choice([6, 8, 10])
        q = bytearray(make_query(r.choice(NAMES), 1))
        q[which:which + 2] = b"\x00\x01"
        return q + rr

    def oversize(self, p):
        return p + bytes(self.r.choice([600, 1300, 4000]))


def check_reply(data):
    """Every reply must be a well-formed response. Returns an error text or None."""
    if len(data) < 12:
        return "reply shorter than a header: %s" % data.hex()
    if not data[2] & 0x80:
        return "reply without QR: %s" % data[:12].hex()
    if len(data) > 1232:
        return "UDP reply of %d bytes (> 1232)" % len(data)
    try:
        dnswire.Message(data)
    except dnswire.ParseError as e:
        return "malformed reply (%s): %s" % (e, data[:64].hex())
    return None


def frame(w):
    return struct.pack("!H", len(w)) + w


class StormTest(ServerCase):
    SERVER_ARGS = {"tcp": {"idle_timeout_ms": 2000, "max_connections": 600}}

    def probe(self, sock, qid):
        sock.send(make_query("www.example.com.", "A", qid=qid))
        deadline = time.monotonic() + 3 * SLOW
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(4096)
            except socket.timeout:
                break
            if data[:2] == struct.pack("!H", qid):
                m = dnswire.Message(data)
                self.assertEqual(sorted(r.rdata for r in m.answer),
                                 sorted(a("192.0.2.%d" % i) for i in (80, 81, 82)))
                return True
        return False

    def test_1_udp_storm(self):
        rng = random.Random(SEED)
        mut = Mutator(rng)
        storm = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        storm.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        storm.connect(("127.0.0.1", self.srv.port))
        storm.setblocking(False)
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect(("127.0.0.1", self.srv.port))
        sent = replies = 0
        errors = []
        lost_probes = 0
        t0 = time.monotonic()
        deadline = t0 + UDP_DEADLINE * SLOW

        def drain():
            nonlocal replies
            while True:
                try:
                    data = storm.recv(65535)
                except (BlockingIOError, InterruptedError):
                    return
                except ConnectionRefusedError:
                    errors.append("ICMP port unreachable: r53d is gone")
                    return
                replies += 1
                e = check_reply(data)
                if e and len(errors) < 20:
                    errors.append(e)

        try:
            while sent < NPACKETS and time.monotonic() < deadline:
                for _ in range(min(BATCH, NPACKETS - sent)):
                    pkt = mut.packet()
                    try:
                        storm.send(pkt)
                    except BlockingIOError:
                        select.select([], [storm], [], 0.05)
                        try:
                            storm.send(pkt)
                        except BlockingIOError:
                            pass
                    except ConnectionRefusedError:
                        errors.append("send refused: r53d is gone")
                        break
                    sent += 1
                if not self.probe(probe, 0xBEEF ^ (sent & 0xff)):
                    lost_probes += 1
                    self.assertTrue(self.srv.alive(), "r53d died after %d packets:\n%s" % (
                        sent, self.srv.log()))
                    self.assertLess(lost_probes, 20, "r53d stopped answering probes")
                drain()
                if errors and errors[-1].startswith(("ICMP", "send refused")):
                    break
            time.sleep(0.2)
            drain()
        finally:
            storm.close()
            probe.close()
        elapsed = time.monotonic() - t0
        print("\n  storm: %d packets sent in %.1fs, %d replies, %d probes lost" % (
            sent, elapsed, replies, lost_probes))
        self.assertEqual(errors, [], "bad replies during the storm")
        self.assertEqual(sent, NPACKETS, "storm did not finish within %.0fs" %
                         (UDP_DEADLINE * SLOW))
        self.assertAnswering()

    def test_2_tcp_slow_writers(self):
        conns = []
        q = [frame(make_query("www.example.com.", "A", qid=300 + i, edns=1232)) for i in range(8)]
        try:
            for _ in q:
                conns.append(socket.create_connection(("127.0.0.1", self.srv.port), timeout=3))
            pos = [0] * len(q)
            while any(pos[i] < len(q[i]) for i in range(len(q))):     # all bytes, 30 ms apart
                for i, s in enumerate(conns):
                    if pos[i] < len(q[i]):
                        s.send(q[i][pos[i]:pos[i] + 1])
                        pos[i] += 1
                time.sleep(0.03)
            for i, s in enumerate(conns):
                m = dnswire.Message(dnswire.tcp_read_msg(s))
                self.assertEqual(m.id, 300 + i)
                self.assertEqual(len(m.answer), 3)
        finally:
            for s in conns:
                s.close()

    def test_3_tcp_partial_and_garbage_frames(self):
        rng = random.Random(SEED + 1)
        mut = Mutator(rng)
        good = frame(make_query("www.example.com.", "A", qid=7))
        cases = []
        for i in range(40):                                   # a prefix, then close
            cases.append(("partial", good[:rng.randrange(len(good))], False))
        for i in range(40):                                   # mutated messages, framed
            cases.append(("mutated", frame(mut.packet()), True))
        cases += [
            ("zero-length", b"\x00\x00", True),
            ("tiny", b"\x00\x05hello", True),
            ("response", frame(make_query("www.example.com.", "A", flags=0x8000)), True),
            ("65535 garbage", b"\xff\xff" + bytes(rng.getrandbits(8) for _ in range(65535)),
             True),
            ("40000 announced, 100 sent", b"\x9c\x40" + bytes(100), False),
            ("length only", b"\x01\x00", False),
            ("huge query", frame(make_query("www.example.com.", "A", edns=1232) + bytes(60000)),
             True),
        ]
        for label, data, wait in cases:
            s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=3)
            try:
                s.sendall(data)
                if wait:
                    # a reply (well-formed) or a close; never a hang past the idle timeout
                    s.settimeout(4 * SLOW)
                    try:
                        hdr = s.recv(2)
                        if len(hdr) == 2:
                            body = dnswire.recv_exact(s, struct.unpack("!H", hdr)[0])
                            m = dnswire.Message(body)
                            self.assertTrue(m.qr, label)
                    except (socket.timeout, ConnectionResetError, EOFError):
                        pass
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                s.close()
        self.assertAnswering()
        m = dnswire.Message(dnswire.tcp_exchange(self.srv.port, make_query("www.example.com.")))
        self.assertEqual(len(m.answer), 3)

    def test_4_half_open_and_resets(self):
        half = []
        try:
            for i in range(300):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(3)
                s.connect(("127.0.0.1", self.srv.port))
                if i % 3 == 0:
                    s.send(b"\x00")          # half a length prefix
                half.append(s)
            # while 300 connections hang: UDP and a fresh TCP connection are served
            self.assertAnswering()
            m = dnswire.Message(dnswire.tcp_exchange(self.srv.port,
                                                     make_query("mail.example.com.")))
            self.assertEqual(m.answer[0].rdata, a("192.0.2.25"))
            # resets in the middle of a reply
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=3)
                s.sendall(frame(make_query("big.example.com.", "TXT")) * 5)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
        finally:
            for s in half:
                s.close()
        time.sleep(0.2)
        self.assertAnswering()

    def test_5_client_that_never_reads(self):
        hog = socket.create_connection(("127.0.0.1", self.srv.port), timeout=3)
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            q = frame(make_query("big.example.com.", "TXT"))
            hog.setblocking(False)
            pushed = 0
            t_end = time.monotonic() + 2.0
            while time.monotonic() < t_end and pushed < 4000:
                try:
                    hog.send(q)
                    pushed += 1
                except (BlockingIOError, InterruptedError):
                    time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    break
            # the server has replies it cannot write to hog; others must not wait for it
            t0 = time.monotonic()
            self.assertAnswering()
            m = dnswire.Message(dnswire.tcp_exchange(self.srv.port,
                                                     make_query("www.example.com.")))
            self.assertEqual(len(m.answer), 3)
            self.assertLess(time.monotonic() - t0, 2.0 * SLOW, "a non-reading client stalls "
                            "the server")
        finally:
            hog.close()
        self.assertAnswering()

    def test_9_still_answers_correctly(self):
        self.assertAnswering()
        r = self.srv.dig("x.w.example.com", "A")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual(r.rdatas("ANSWER", "A"), ["192.0.2.200"], r)
        r = self.srv.dig("big.example.com", "TXT", "+tcp")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual(len(r.answer), 1)
        m = self.srv.q("nothere.example.com.", edns=1232)
        self.assertEqual(m.rcode_name, "NXDOMAIN")
        self.assertEqual(m.authority[0].ttl, 300)


if __name__ == "__main__":
    unittest.main()
