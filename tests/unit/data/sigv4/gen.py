#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate SigV4 fixtures signed by the real botocore, for tests/unit/test_sigv4.c.

Run with Debian's python3-botocore:  /usr/bin/python3 gen.py  (writes *.req here).
The clock is frozen at 2026-12-05T17:34:33Z so the output is reproducible; the test passes
that time as "now". Credentials: AKIDEXAMPLE / the AWS documentation example secret.

Fixture format (one file per request, parsed by test_sigv4.c):
    method GET
    path /2013-04-01/...          (exactly as sent on the wire)
    query a=b&c=d                 (raw, as sent; line absent when there is no query)
    region eu-west-1              (the region botocore signed for)
    now 1796492073                (Unix time of the signature)
    header name: value            (every header sent, lower-case name; host included)
    # ...                         (comment: which signer made it)
    body                          (last line; the raw body follows to end of file)
"""
import calendar
import contextlib
import datetime
import os
import sys
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.session

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN/+="
ENDPOINT = "http://127.0.0.1:18953"
FROZEN = datetime.datetime(2026, 12, 5, 17, 34, 33)
HERE = os.path.dirname(os.path.abspath(__file__))

RRSET_BODY = (
    '<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    "<ChangeBatch><Comment>sigv4 fixture</Comment><Changes><Change><Action>CREATE</Action>"
    "<ResourceRecordSet><Name>www.example.com.</Name><Type>TXT</Type><TTL>60</TTL>"
    '<ResourceRecords><ResourceRecord><Value>"v=spf1  -all" &amp; more</Value>'
    "</ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes>"
    "</ChangeBatch></ChangeResourceRecordSetsRequest>"
).encode()


def write(name, signer, method, url, headers, body, region):
    parts = urlsplit(url)
    lines = [f"# signed by {signer} (tests/unit/data/sigv4/gen.py)",
             f"method {method}", f"path {parts.path}"]
    if parts.query:
        lines.append(f"query {parts.query}")
    lines.append(f"region {region}")
    lines.append(f"now {calendar.timegm(FROZEN.timetuple())}")
    names = {k.lower() for k in headers}
    if "host" not in names:
        lines.append(f"header host: {botocore.auth._host_from_url(url)}")
    for k, v in headers.items():
        if isinstance(v, bytes):
            v = v.decode()
        lines.append(f"header {k.lower()}: {v}")
    lines.append("body")
    data = ("\n".join(lines) + "\n").encode() + (body or b"")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print("wrote", name, file=sys.stderr)


def sign_direct(name, method, url, body, region, extra_headers=None):
    """botocore.auth.SigV4Auth over a hand-built botocore.awsrequest.AWSRequest."""
    creds = botocore.credentials.Credentials(AKID, SECRET)
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body,
                                         headers=dict(extra_headers or {}))
    botocore.auth.SigV4Auth(creds, "route53", region).add_auth(req)
    prepared = req.prepare()
    write(name, "botocore.auth.SigV4Auth", method, prepared.url, dict(prepared.headers), prepared.body, region)


class Captured(Exception):
    pass


def sign_client(name, region, op, token=None, **kwargs):
    """A real route53 client (serializer, handlers, signer); the request is captured
    before it is sent."""
    session = botocore.session.get_session()
    client = session.create_client(
        "route53", region_name=region, endpoint_url=ENDPOINT,
        aws_access_key_id=AKID, aws_secret_access_key=SECRET, aws_session_token=token)

    def capture(request, **_):
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        cls = botocore.auth.AUTH_TYPE_MAPS["v4"]
        write(name, f"route53 client, {cls.__module__}.{cls.__name__}", request.method,
              request.url, dict(request.headers), body, region)
        raise Captured()

    client.meta.events.register("before-send.route53", capture)
    try:
        getattr(client, op)(**kwargs)
    except Captured:
        return
    raise SystemExit(f"{name}: request was not captured")


def main():
    with contextlib.ExitStack() as stack:
        # freeze the clock of both signers: botocore's own and, when awscrt is installed
        # (as on Debian), the CRT one that clients then use for "v4"
        for target in ("botocore.auth.datetime", "botocore.crt.auth.datetime"):
            try:
                dt = stack.enter_context(mock.patch(target))
            except (ImportError, AttributeError):
                continue
            dt.datetime.utcnow.return_value = FROZEN
            dt.datetime.strptime = datetime.datetime.strptime
            dt.timezone = datetime.timezone
        # the two requests the brief names, through SigV4Auth + AWSRequest
        sign_direct("direct-get-rrset.req", "GET",
                    ENDPOINT + "/2013-04-01/hostedzone/Z1/rrset"
                    "?name=www.example.com.&type=A&identifier=a%20b",
                    None, "eu-west-1")
        sign_direct("direct-post-rrset.req", "POST",
                    ENDPOINT + "/2013-04-01/hostedzone/Z1/rrset/", RRSET_BODY, "eu-west-1")
        # a signed x-amz-content-sha256 header (S3 style), which replaces the body hash
        import hashlib
        sign_direct("direct-content-sha256.req", "POST",
                    ENDPOINT + "/2013-04-01/hostedzone/Z1/rrset/", RRSET_BODY, "us-west-2",
                    {"X-Amz-Content-SHA256": hashlib.sha256(RRSET_BODY).hexdigest()})
        # the full client, as the CLI drives it
        sign_client("client-list-rrsets.req", "eu-west-1", "list_resource_record_sets",
                    HostedZoneId="/hostedzone/Z1", StartRecordName="www.example.com.",
                    StartRecordType="A", StartRecordIdentifier="a b+c/d~e",
                    MaxItems="10")
        sign_client("client-change-rrsets.req", "us-east-1", "change_resource_record_sets",
                    HostedZoneId="Z1",
                    ChangeBatch={"Comment": "c", "Changes": [{
                        "Action": "UPSERT",
                        "ResourceRecordSet": {"Name": "a.example.com.", "Type": "A",
                                              "TTL": 60,
                                              "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
        # a path segment botocore must percent-encode (the signer encodes it again)
        sign_client("client-tags-encoded-path.req", "ap-southeast-2",
                    "list_tags_for_resource", ResourceType="healthcheck",
                    ResourceId="hc a:b")
        # temporary credentials: x-amz-security-token is signed too
        sign_client("client-session-token.req", "eu-west-1", "get_hosted_zone_count",
                    token=TOKEN)


if __name__ == "__main__":
    main()
