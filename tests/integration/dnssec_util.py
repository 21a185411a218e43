# SPDX-License-Identifier: MIT
"""dnssec_util.py -- DNSSEC arithmetic the integration tests compute themselves, never by
asking r53d: wire names, key tags (RFC 4034 appendix B) and DS digests (RFC 4509)."""

import hashlib


def wire_name(name):
    """Uncompressed, lower-cased wire form of a presentation name."""
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.lower().encode()
    return out + b"\0"


def key_tag(rdata):
    """RFC 4034 appendix B, over DNSKEY rdata."""
    acc = 0
    for i, b in enumerate(rdata):
        acc += b if i & 1 else b << 8
    return (acc + ((acc >> 16) & 0xFFFF)) & 0xFFFF


def ds_digest(owner, rdata):
    """(key tag, upper-case hex SHA-256 DS digest) of a DNSKEY owned by owner."""
    return key_tag(rdata), hashlib.sha256(wire_name(owner) + rdata).hexdigest().upper()


def ds_record(owner, rdata):
    """The DS as Route 53's GetDNSSEC prints it: "TAG 13 2 HEX"."""
    return "%d 13 2 %s" % ds_digest(owner, rdata)


# ---- python3-ldns (Debian's, under /usr/bin/python3 only: import ldns inside) ------------

def ldns_pkt(hexwire):
    """An ldns packet from a reply in hex; SystemExit when ldns cannot parse it."""
    import ldns   # noqa: only under /usr/bin/python3
    data = bytes.fromhex(hexwire)
    buf = ldns.ldns_buffer(len(data))
    for b in data:
        buf.write_u8(b)
    buf.flip()
    st, p = ldns.ldns_buffer2pkt_wire(buf)
    if st != ldns.LDNS_STATUS_OK:
        raise SystemExit("ldns_buffer2pkt_wire: %s" % ldns.ldns_get_errorstr_by_id(st))
    return p


def ldns_rrs(lst):
    """The records of an ldns RR list (None: none)."""
    return [] if lst is None else [lst.rr(i) for i in range(lst.rr_count())]
