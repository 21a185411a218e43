# SPDX-License-Identifier: MIT
"""dnswire -- a small, strict DNS message codec for the integration tests (stdlib only).

Builds queries byte by byte (so tests can also build broken ones) and decodes responses
into plain Python values. Names inside RDATA are decompressed only for the RFC 1035 types
whose RDATA may be compressed (RFC 3597 section 4); every other RDATA stays raw bytes, so
a server that compresses e.g. SRV targets shows up as a difference.
"""

import random
import socket
import struct
import time

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MX": 15, "TXT": 16,
    "AAAA": 28, "LOC": 29, "SRV": 33, "NAPTR": 35, "DNAME": 39, "DS": 43, "SSHFP": 44, "RRSIG": 46,
    "NSEC": 47, "DNSKEY": 48, "TLSA": 52, "SVCB": 64, "HTTPS": 65, "OPT": 41,
    "IXFR": 251, "AXFR": 252, "ANY": 255, "CAA": 257,
}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4,
          "REFUSED": 5, "YXDOMAIN": 6, "BADVERS": 16}
RCODE_NAMES = {v: k for k, v in RCODES.items()}
CLASS_IN, CLASS_CH = 1, 3

# RDATA of these types may hold compressed names (RFC 1035 / RFC 3597 section 4).
_COMPRESSIBLE = {2: "n", 3: "n", 4: "n", 5: "n", 6: "nn*", 7: "n", 8: "n", 9: "n",
                 12: "n", 14: "nn", 15: "2n", 39: "n"}


def type_code(t):
    """'A' -> 1, 'TYPE65400' -> 65400, 28 -> 28."""
    if isinstance(t, int):
        return t
    t = t.upper()
    if t in TYPES:
        return TYPES[t]
    if t.startswith("TYPE"):
        return int(t[4:])
    raise ValueError("unknown type " + t)


def type_name(code):
    return TYPE_NAMES.get(code, "TYPE%d" % code)


def encode_name(name):
    """Presentation name (absolute or not, '\\.' and '\\DDD' escapes) -> wire bytes."""
    if name in (".", ""):
        return b"\x00"
    labels = []
    cur = bytearray()
    i = 0
    while i < len(name):
        c = name[i]
        if c == "\\":
            if name[i + 1:i + 4].isdigit() and len(name[i + 1:i + 4]) == 3:
                cur.append(int(name[i + 1:i + 4]))
                i += 4
            else:
                cur.append(ord(name[i + 1]))
                i += 2
            continue
        if c == ".":
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur.append(ord(c))
        i += 1
    if cur:
        labels.append(bytes(cur))
    out = bytearray()
    for lab in labels:
        if len(lab) > 63:
            raise ValueError("label too long")
        out.append(len(lab))
        out += lab
    out.append(0)
    return bytes(out)


def name_text(labels):
    """Tuple of label bytes -> presentation text with trailing dot."""
    if not labels:
        return "."
    parts = []
    for lab in labels:
        s = []
        for b in lab:
            ch = chr(b)
            if ch in ".\\\"()$;@ " :
                s.append("\\" + ch)
            elif 0x21 <= b <= 0x7e:
                s.append(ch)
            else:
                s.append("\\%03d" % b)
        parts.append("".join(s))
    return ".".join(parts) + "."


class ParseError(Exception):
    pass


def read_name(msg, off, limit=None):
    """Decode a (possibly compressed) name at off. Returns (labels tuple, next offset).
    Pointers must point strictly backwards (no loops); total length <= 255."""
    labels = []
    end = None
    total = 1
    jumps = 0
    lim = len(msg) if limit is None else limit
    while True:
        if off >= lim:
            raise ParseError("name runs past end")
        ln = msg[off]
        if ln & 0xC0 == 0xC0:
            if off + 1 >= lim:
                raise ParseError("truncated pointer")
            ptr = ((ln & 0x3F) << 8) | msg[off + 1]
            if end is None:
                end = off + 2
            if ptr >= off:
                raise ParseError("forward/loop pointer")
            jumps += 1
            if jumps > 64:
                raise ParseError("too many pointers")
            off = ptr
            continue
        if ln & 0xC0:
            raise ParseError("bad label type")
        if ln == 0:
            off += 1
            break
        if off + 1 + ln > lim:
            raise ParseError("label runs past end")
        labels.append(bytes(msg[off + 1:off + 1 + ln]))
        total += ln + 1
        if total > 255:
            raise ParseError("name too long")
        off += 1 + ln
    return tuple(labels), (end if end is not None else off)


class RR:
    __slots__ = ("name", "type", "cls", "ttl", "rdata", "rdata_lc", "owner_wire_len")

    def __init__(self, name, rtype, cls, ttl, rdata, owner_wire_len=0, rdata_lc=None):
        self.name, self.type, self.cls, self.ttl, self.rdata = name, rtype, cls, ttl, rdata
        self.rdata_lc = rdata if rdata_lc is None else rdata_lc
        self.owner_wire_len = owner_wire_len

    @property
    def owner(self):
        return name_text(self.name)

    def key(self, casefold=False):
        """Comparable identity: (owner, type, class, ttl, rdata). casefold: owner and the
        names inside RDATA in lower case (RFC 4034 6.2 canonical form; a compressed RDATA
        name takes the case of whatever it points at, e.g. the qname)."""
        if casefold:
            return (self.owner.lower(), type_name(self.type), self.cls, self.ttl, self.rdata_lc)
        return (self.owner, type_name(self.type), self.cls, self.ttl, self.rdata)

    def __repr__(self):
        return "%s %d %s %s %s" % (self.owner, self.ttl, self.cls, type_name(self.type),
                                   rdata_text(self.type, self.rdata))


def rdata_text(rtype, rdata):
    """Readable RDATA for messages (names decompressed already)."""
    try:
        if rtype == 1 and len(rdata) == 4:
            return socket.inet_ntop(socket.AF_INET, rdata)
        if rtype == 28 and len(rdata) == 16:
            return socket.inet_ntop(socket.AF_INET6, rdata)
        if rtype in (2, 5, 12):
            return name_text(read_name(rdata, 0)[0])
        if rtype == 15:
            return "%d %s" % (struct.unpack("!H", rdata[:2])[0], name_text(read_name(rdata, 2)[0]))
        if rtype == 6:
            m, o = read_name(rdata, 0)
            r, o = read_name(rdata, o)
            return "%s %s %s" % (name_text(m), name_text(r),
                                 " ".join(str(x) for x in struct.unpack("!5I", rdata[o:o + 20])))
        if rtype == 16:
            out, i = [], 0
            while i < len(rdata):
                ln = rdata[i]
                out.append('"%s"' % rdata[i + 1:i + 1 + ln].decode("latin-1"))
                i += 1 + ln
            return " ".join(out)
    except (ParseError, struct.error, IndexError):
        pass
    return "\\# %d %s" % (len(rdata), rdata.hex())


def _wire_labels(labels, lower=False):
    out = bytearray()
    for lab in labels:
        out.append(len(lab))
        out += lab.lower() if lower else lab
    out.append(0)
    return out


def _canon_rdata(msg, off, rdlen, rtype):
    """RDATA with compressible names expanded (so it compares across servers), and the
    same with those names in lower case."""
    end = off + rdlen
    shape = _COMPRESSIBLE.get(rtype)
    if shape is None:
        raw = bytes(msg[off:end])
        return raw, raw
    out, low = bytearray(), bytearray()
    p = off
    for part in shape:
        if part == "n":
            labels, p = read_name(msg, p, end)
            out += _wire_labels(labels)
            low += _wire_labels(labels, True)
        elif part == "2":
            out += msg[p:p + 2]
            low += msg[p:p + 2]
            p += 2
        elif part == "*":
            out += msg[p:end]
            low += msg[p:end]
            p = end
    if p != end:
        raise ParseError("rdata length mismatch for type %d" % rtype)
    return bytes(out), bytes(low)


class Message:
    """A decoded DNS message."""

    def __init__(self, wire):
        self.wire = bytes(wire)
        if len(wire) < 12:
            raise ParseError("short header")
        (self.id, self.flags, qd, an, ns, ar) = struct.unpack("!6H", wire[:12])
        self.counts = (qd, an, ns, ar)
        off = 12
        self.question = []
        for _ in range(qd):
            labels, off = read_name(wire, off)
            if off + 4 > len(wire):
                raise ParseError("truncated question")
            qt, qc = struct.unpack("!HH", wire[off:off + 4])
            off += 4
            self.question.append((labels, qt, qc))
        self.sections = []
        self.section_end = []
        self.opt = None
        for count in (an, ns, ar):
            rrs = []
            for _ in range(count):
                start = off
                labels, off = read_name(wire, off)
                if off + 10 > len(wire):
                    raise ParseError("truncated RR header")
                rt, rc, ttl, rdlen = struct.unpack("!HHIH", wire[off:off + 10])
                off += 10
                if off + rdlen > len(wire):
                    raise ParseError("rdata runs past end")
                rdata, rdata_lc = _canon_rdata(wire, off, rdlen, rt)
                rrs.append(RR(labels, rt, rc, ttl, rdata, owner_wire_len=off - 10 - start,
                              rdata_lc=rdata_lc))
                off += rdlen
            self.sections.append(rrs)
            self.section_end.append(off)
        if off != len(wire):
            raise ParseError("%d trailing bytes" % (len(wire) - off))
        self.answer, self.authority = self.sections[0], self.sections[1]
        self.additional = []
        for rr in self.sections[2]:
            if rr.type == 41:
                if self.opt is not None:
                    raise ParseError("two OPT records")
                self.opt = rr
            else:
                self.additional.append(rr)

    @property
    def qr(self):
        return bool(self.flags & 0x8000)

    @property
    def opcode(self):
        return (self.flags >> 11) & 0xF

    @property
    def aa(self):
        return bool(self.flags & 0x0400)

    @property
    def tc(self):
        return bool(self.flags & 0x0200)

    @property
    def rd(self):
        return bool(self.flags & 0x0100)

    @property
    def ra(self):
        return bool(self.flags & 0x0080)

    @property
    def rcode(self):
        rc = self.flags & 0xF
        if self.opt is not None:
            rc |= (self.opt.ttl >> 24) << 4
        return rc

    @property
    def rcode_name(self):
        return RCODE_NAMES.get(self.rcode, "RCODE%d" % self.rcode)

    @property
    def edns_udp_size(self):
        return None if self.opt is None else self.opt.cls

    @property
    def edns_version(self):
        return None if self.opt is None else (self.opt.ttl >> 16) & 0xFF

    def rrsets(self, section):
        """{(owner lowercased, type): set of (ttl, rdata)} for one section list."""
        out = {}
        for rr in section:
            out.setdefault((rr.owner.lower(), rr.type), set()).add((rr.ttl, rr.rdata))
        return out

    def __repr__(self):
        lines = ["id=%d rcode=%s flags=%s counts=%s" % (
            self.id, self.rcode_name, flag_text(self.flags), self.counts)]
        for title, sec in (("ANSWER", self.answer), ("AUTHORITY", self.authority),
                           ("ADDITIONAL", self.additional)):
            for rr in sec:
                lines.append("  %s %r" % (title, rr))
        return "\n".join(lines)


def flag_text(flags):
    names = [("qr", 0x8000), ("aa", 0x0400), ("tc", 0x0200), ("rd", 0x0100), ("ra", 0x0080),
             ("ad", 0x0020), ("cd", 0x0010)]
    return " ".join(n for n, b in names if flags & b)


def opt_rr(udp_size=1232, version=0, do=False, options=b"", ext_rcode=0):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return b"\x00" + struct.pack("!HHIH", 41, udp_size, ttl, len(options)) + options


def make_query(qname, qtype="A", qclass=CLASS_IN, qid=None, rd=False, edns=None, do=False,
               opcode=0, flags=None, counts=None, extra=b"", options=b"", edns_version=0):
    """Build a query. edns: None for no OPT, else the advertised UDP size."""
    if qid is None:
        qid = random.randrange(65536)
    if flags is None:
        flags = (opcode << 11) | (0x0100 if rd else 0)
    q = encode_name(qname) + struct.pack("!HH", type_code(qtype), qclass)
    ar = 0
    add = b""
    if edns is not None:
        add = opt_rr(edns, edns_version, do, options)
        ar = 1
    if counts is None:
        counts = (1, 0, 0, ar)
    return struct.pack("!6H", qid, flags, *counts) + q + add + extra


def udp_exchange(port, wire, timeout=2.0, host="127.0.0.1"):
    """Send one datagram, return the reply bytes (matching id) or None on timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                data = s.recv(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                return None
            if len(wire) >= 2 and data[:2] == wire[:2]:
                return data


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def tcp_read_msg(sock):
    ln = struct.unpack("!H", recv_exact(sock, 2))[0]
    return recv_exact(sock, ln)


def tcp_exchange(port, wire, timeout=3.0, host="127.0.0.1"):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        return tcp_read_msg(s)


def query(port, qname, qtype="A", tcp=False, timeout=2.0, **kw):
    """Convenience: build, send over UDP or TCP, decode. None on no reply."""
    wire = make_query(qname, qtype, **kw)
    data = tcp_exchange(port, wire, timeout) if tcp else udp_exchange(port, wire, timeout)
    return None if data is None else Message(data)
