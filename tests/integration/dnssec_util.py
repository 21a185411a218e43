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
