# SPDX-License-Identifier: MIT
"""DNS over TCP (RFC 7766): framing, pipelining, pieces, idle timeout, connection cap."""

import select
import socket
import struct
import time
import unittest

import dnswire
from dnswire import make_query, tcp_read_msg
from harness import SLOW, ServerCase, a

WWW_A = sorted(a("192.0.2.%d" % i) for i in (80, 81, 82))


def frame(wire):
    return struct.pack("!H", len(wire)) + wire


def connect(port, timeout=3.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait_eof(sock, timeout):
    """Seconds until the peer closes (EOF or reset), or None if still open after timeout."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
        if not data:
            return time.monotonic() - t0
    return None


class TcpTest(ServerCase):
    SERVER_ARGS = {"tcp": {"idle_timeout_ms": 1000, "max_connections": 64}}

    def test_dig_and_kdig_over_tcp(self):
        r = self.srv.dig("www.example.com", "A", "+tcp")
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual(r.rdatas("ANSWER", "A"), ["192.0.2.80", "192.0.2.81", "192.0.2.82"], r)
        r = self.srv.kdig("nothere.example.com", "A", "+tcp")
        self.assertEqual(r.status, "NXDOMAIN", r)
        self.assertIn("aa", r.flags)

    def test_dig_keepopen_several_queries(self):
        r = self.srv.dig("www.example.com", "A", "+tcp", "+keepopen", "mail.example.com", "A",
                         "example.com", "SOA")
        self.assertEqual(r.text.count("status: NOERROR"), 3, r)
        self.assertIn("192.0.2.25", r.text)

    def test_several_queries_one_connection_sequential(self):
        with connect(self.srv.port) as s:
            for i, (name, want) in enumerate((("www.example.com.", 3), ("mail.example.com.", 1),
                                              ("multi.example.com.", 8))):
                q = make_query(name, "A", qid=100 + i)
                s.sendall(frame(q))
                m = dnswire.Message(tcp_read_msg(s))
                self.assertEqual(m.id, 100 + i)
                self.assertEqual(len(m.answer), want, m)

    def test_pipelined_queries(self):
        names = ["www.example.com.", "nothere.example.com.", "mail.example.com.",
                 "x.w.example.com.", "big.example.com."] * 4
        qs = [make_query(n, "TXT" if n.startswith("big") else "A", qid=1000 + i)
              for i, n in enumerate(names)]
        with connect(self.srv.port) as s:
            s.sendall(b"".join(frame(q) for q in qs))    # one write
            got = {}
            for _ in qs:
                m = dnswire.Message(tcp_read_msg(s))
                got[m.id] = m
        self.assertEqual(sorted(got), [1000 + i for i in range(len(qs))],
                         "one reply per query (any order, RFC 7766 6.2.1.1)")
        for i, n in enumerate(names):
            m = got[1000 + i]
            self.assertEqual(dnswire.name_text(m.question[0][0]), n)
            self.assertFalse(m.tc)
        self.assertEqual(got[1001].rcode_name, "NXDOMAIN")
        self.assertEqual(len(got[1004].answer[0].rdata), 12 * 205, "big answer whole over TCP")

    def test_query_written_in_pieces(self):
        q = make_query("www.example.com.", "A", qid=4242, edns=1232)
        data = frame(q)
        with connect(self.srv.port) as s:
            for i in range(len(data)):        # one byte at a time
                s.send(data[i:i + 1])
                time.sleep(0.01)
            m = dnswire.Message(tcp_read_msg(s))
        self.assertEqual(m.id, 4242)
        self.assertEqual(sorted(r.rdata for r in m.answer), WWW_A)

    def test_length_then_message_later(self):
        q = make_query("mail.example.com.", "A", qid=77)
        with connect(self.srv.port) as s:
            s.send(struct.pack("!H", len(q)))
            time.sleep(0.2)
            s.send(q[:7])
            time.sleep(0.2)
            s.send(q[7:] + frame(make_query("www.example.com.", "A", qid=78))[:5])
            m = dnswire.Message(tcp_read_msg(s))
            self.assertEqual((m.id, m.answer[0].rdata), (77, a("192.0.2.25")))
            s.send(frame(make_query("www.example.com.", "A", qid=78))[5:])
            m = dnswire.Message(tcp_read_msg(s))
            self.assertEqual(m.id, 78)

    def test_idle_timeout_closes(self):
        with connect(self.srv.port) as s:
            t = wait_eof(s, 6 * SLOW)
        self.assertIsNotNone(t, "idle connection still open after %ds" % (6 * SLOW))
        self.assertGreater(t, 0.5, "closed long before the 1000 ms idle timeout")
        self.assertLess(t, 4 * SLOW)

    def test_idle_timeout_after_query(self):
        with connect(self.srv.port) as s:
            s.sendall(frame(make_query("www.example.com.", "A", qid=5)))
            self.assertEqual(dnswire.Message(tcp_read_msg(s)).id, 5)
            t = wait_eof(s, 6 * SLOW)
        self.assertIsNotNone(t)
        self.assertGreater(t, 0.5)

    def test_activity_keeps_connection(self):
        with connect(self.srv.port) as s:
            for i in range(4):               # 4 x 0.6 s > 1 s idle timeout, never idle 1 s
                time.sleep(0.6)
                s.sendall(frame(make_query("www.example.com.", "A", qid=i)))
                self.assertEqual(dnswire.Message(tcp_read_msg(s)).id, i)

    def test_tcp_no_truncation_no_size_cap(self):
        m = dnswire.Message(dnswire.tcp_exchange(self.srv.port,
                                                 make_query("big.example.com.", "TXT")))
        self.assertFalse(m.tc)
        self.assertGreater(len(m.wire), 2000)
        self.assertIsNone(m.opt)

    def test_client_close_before_reply(self):
        for _ in range(20):
            s = connect(self.srv.port)
            s.sendall(frame(make_query("big.example.com.", "TXT")))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()                          # RST; the server's write must not kill it
        time.sleep(0.2)
        self.assertAnswering()
        m = dnswire.Message(dnswire.tcp_exchange(self.srv.port, make_query("www.example.com.")))
        self.assertEqual(len(m.answer), 3)


class TcpMaxQueriesTest(ServerCase):
    SERVER_ARGS = {"tcp": {"idle_timeout_ms": 3000, "max_queries": 3}}

    def test_connection_closed_after_max_queries(self):
        with connect(self.srv.port) as s:
            for i in range(3):
                s.sendall(frame(make_query("www.example.com.", "A", qid=i)))
                self.assertEqual(dnswire.Message(tcp_read_msg(s)).id, i)
            try:
                s.sendall(frame(make_query("www.example.com.", "A", qid=3)))
            except (BrokenPipeError, ConnectionResetError):
                return
            t = wait_eof(s, 2 * SLOW)
            self.assertIsNotNone(t, "a 4th query was served or the connection stayed open")

    def test_pipelined_beyond_max(self):
        with connect(self.srv.port) as s:
            s.sendall(b"".join(frame(make_query("www.example.com.", "A", qid=i))
                               for i in range(6)))
            got = []
            try:
                while True:
                    got.append(dnswire.Message(tcp_read_msg(s)).id)
            except (EOFError, ConnectionResetError, socket.timeout):
                pass
        self.assertEqual(sorted(got), [0, 1, 2], "exactly max_queries replies, then close")


class TcpCapTest(ServerCase):
    CAP = 4
    SERVER_ARGS = {"tcp": {"idle_timeout_ms": 3000, "max_connections": CAP}}

    def test_connection_cap(self):
        """CAP connections each hold a half-written query; connection CAP+1 must not be
        served while they are open, unless the server evicted one of them to make room
        (also a cap). Once they close, TCP service resumes."""
        held = []
        extra = None
        try:
            for i in range(self.CAP):
                s = connect(self.srv.port)
                q = frame(make_query("www.example.com.", "A", qid=i))
                s.sendall(q[:9])
                held.append((s, q))
            time.sleep(0.3)
            extra = connect(self.srv.port)
            try:
                extra.sendall(frame(make_query("www.example.com.", "A", qid=99)))
            except OSError:
                pass
            extra.settimeout(1.5)
            served = False
            try:
                served = len(extra.recv(2)) > 0
            except (socket.timeout, ConnectionResetError):
                pass
            # UDP is unaffected by the TCP cap
            self.assertIsNotNone(self.srv.q("www.example.com.", timeout=2))
            # finish the held queries: each is answered, or was closed by the server
            answered = evicted = 0
            for i, (s, q) in enumerate(held):
                try:
                    s.sendall(q[9:])
                    m = dnswire.Message(tcp_read_msg(s))
                    self.assertEqual(m.id, i)
                    answered += 1
                except (OSError, EOFError):
                    evicted += 1
            if served:
                self.assertGreater(evicted, 0, "connection %d served while %d others were "
                                   "open, with a cap of %d" % (self.CAP + 1, self.CAP, self.CAP))
            else:
                self.assertEqual(answered, self.CAP, "held connections must still be served")
            for s, _ in held:
                s.close()
            held = []
            extra.close()
            extra = None
            deadline = time.monotonic() + 5 * SLOW
            ok = False
            while time.monotonic() < deadline and not ok:
                try:
                    data = dnswire.tcp_exchange(self.srv.port, make_query("www.example.com."),
                                                timeout=1.0)
                    ok = dnswire.Message(data).rcode == 0
                except (OSError, EOFError):
                    time.sleep(0.1)
            self.assertTrue(ok, "no TCP service after the held connections closed")
        finally:
            for s, _ in held:
                s.close()
            if extra is not None:
                extra.close()


if __name__ == "__main__":
    unittest.main()
