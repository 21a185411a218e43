#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tf_replay.py -- the Terraform AWS provider's Route 53 call sequences replayed with boto3
against r53d (spec/ROUTE53-TERRAFORM.md §12), every field Terraform reads back compared with
what was sent, and every pitfall of §13 asserted. test_terraform.py runs it with Debian's
/usr/bin/python3 (python3-boto3), whatever python runs the test module:

    /usr/bin/python3 tf_replay.py --endpoint http://127.0.0.1:PORT --dns-port N
        [--access-key K --secret-key S] [--strict-auth] [--force-health] SCENARIO ...

Scenarios:
  main           aws_route53_zone (tags) + aws_route53_health_check x3 + aws_route53_record of
                 every flavour (failover pair with a health check, simple, AAAA, \\052 wildcard,
                 TXT, weighted, alias, multivalue, geolocation, CNAME): create (in parallel,
                 like terraform's 10 workers), refresh (no diff), update (tags+comment, health
                 check without HealthCheckVersion, UPSERT, set_identifier rename and type change
                 as one DELETE+CREATE batch), destroy in Terraform's order; dig checks between.
  private        private zone (VPC, no PrivateZone), the NS lookup Terraform uses for private
                 zones, aws_route53_zone_association, ListHostedZonesByVPC, VPC association
                 authorisation.
  force_destroy  force_destroy = true: list all, DELETE in chunks of 100 as listed, GetDNSSEC
                 NOT_SIGNING, DeleteHostedZone, GetChange after the zone is gone.
  cidr           aws_route53_cidr_collection + aws_route53_cidr_location + a CIDR-routed
                 record answered by dig from 127.0.0.1.
  wire           raw requests as the Go SDK v2 (Terraform) sends them: XML declaration, other
                 member order, more signed headers, /rrset without slash, names with \\052,
                 upper case, with and without trailing dot; ErrorResponse shape and codes;
                 atomic batches; timestamps and request ids.
  dnssec         aws_route53_key_signing_key + aws_route53_hosted_zone_dnssec (§8, §9, from
                 key_signing_key.go and hosted_zone_dnssec.go): KSK create (ACTIVE, INACTIVE;
                 one as the Go SDK writes it), GetChange + the GetDNSSEC status waiters, Read
                 twice with no diff and import; KSK status updates (KeySigningKeyInUse for the
                 only active KSK of a signed zone); signing_status SIGNING <-> NOT_SIGNING,
                 create with NOT_SIGNING; destroy (Disable; Deactivate then Delete) with only
                 the error codes SDKv2 can type for each operation taken as "gone"; reads and
                 destroys after out-of-band deletes of a KSK and of the zone. The parent's NS
                 and DS records (DS from ds_record) answered by dig; ldns-key2ds of the served
                 DNSKEY = ds_record; delv validates with ds_record as the trust anchor.
  auth           with --strict-auth (api.credentials configured in r53d): another region's
                 scope verifies; wrong secret, unknown key, no signature, tampered body are
                 refused with 403 and the right code. Without it: unsigned requests pass.

Progress goes to stderr. The last line on stdout is "RESULT {json}" with "checks" (count),
"failures" (list of strings), "notes" (measurements, choices observed). Exit status 0 when
no check failed, 1 otherwise, 3 when boto3 cannot be imported. Only loopback endpoints.
"""
import argparse
import datetime
import hashlib
import http.client
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# Nothing from the environment may redirect or sign for us.
for _k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
           "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ROUTE_53"):
    os.environ.pop(_k, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ.setdefault("AWS_CONFIG_FILE", "/dev/null")
os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

try:
    import boto3
    import botocore
    import botocore.config
    import botocore.exceptions
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as _e:  # reported by the caller as a failure, not a skip
    print("RESULT " + json.dumps({"checks": 0, "failures": [
        "%s cannot import boto3 (%s): install Debian's python3-boto3 (contrib/deps.sh)"
        % (sys.executable, _e)], "notes": []}))
    sys.exit(3)

import harness  # noqa: E402  (dig wrappers; stdlib only)

NS = "{https://route53.amazonaws.com/doc/2013-04-01/}"
XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ZONE_ID_RE = re.compile(r"^/hostedzone/Z[A-Z0-9]{8,31}$")
CHANGE_ID_RE = re.compile(r"^/change/C[A-Z0-9]{8,31}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INSYNC_LIMIT = 15.0   # Terraform's first GetChange poll comes after 15 s (pitfall 4)
POLL = 0.01           # emulator-speed waiter (Terraform: 15 s)


# ------------------------------------------------------------------------------ reporting

class Abort(Exception):
    """A failure after which the rest of the scenario makes no sense."""


class Report:
    def __init__(self):
        self.checks = 0
        self.failures = []
        self.notes = []
        self.scenario = "-"
        self.lock = threading.Lock()
        self.insync = []   # seconds from the mutating call's reply to INSYNC

    def check(self, cond, what, detail=""):
        with self.lock:
            self.checks += 1
            if not cond:
                msg = "[%s] %s" % (self.scenario, what)
                if detail != "":
                    msg += ": %s" % (detail,)
                self.failures.append(msg)
                log("  FAIL " + msg)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want, what, "got %r, want %r" % (got, want))

    def need(self, cond, what, detail=""):
        if not self.check(cond, what, detail):
            raise Abort(what)

    def note(self, text):
        with self.lock:
            self.notes.append("[%s] %s" % (self.scenario, text))
        log("  note " + text)


R = Report()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def code(e):
    return e.response.get("Error", {}).get("Code")


def http_status(e):
    return e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def errtext(e):
    if isinstance(e, botocore.exceptions.ClientError):
        return "%s %s (HTTP %s): %s" % (e.operation_name, code(e), http_status(e),
                                        e.response.get("Error", {}).get("Message"))
    return "%s: %s" % (type(e).__name__, e)


def expect_error(what, want_code, want_status, fn, *a, **kw):
    """fn(*a, **kw) must fail with want_code (and want_status if not None)."""
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        R.eq(code(e), want_code, what + ": error code")
        if want_status is not None:
            R.eq(http_status(e), want_status, what + ": HTTP status")
        return e
    R.check(False, what, "succeeded, want %s" % want_code)
    return None


# ------------------------------------------------------------------------------ context

class Ctx:
    def __init__(self, a):
        self.endpoint = a.endpoint.rstrip("/")
        self.dns_port = a.dns_port
        self.ak, self.sk = a.access_key, a.secret_key
        self.strict = a.strict_auth
        self.force_health = a.force_health
        self.r53 = self.client("us-east-1")   # Terraform signs Route 53 as us-east-1 (§1.1)

    def client(self, region, ak=None, sk=None):
        cfg = botocore.config.Config(retries={"max_attempts": 6, "mode": "standard"},
                                     connect_timeout=5, read_timeout=30)
        return boto3.session.Session().client(
            "route53", endpoint_url=self.endpoint, region_name=region, config=cfg,
            aws_access_key_id=ak or self.ak, aws_secret_access_key=sk or self.sk)

    # A request built by hand (what the Go SDK v2 sends differs from botocore).
    def raw(self, method, path, body=b"", headers=None, sign=True, region="us-east-1",
            ak=None, sk=None, send_body=None):
        hdrs = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
        if sign:
            req = AWSRequest(method=method, url=self.endpoint + path, data=body, headers=hdrs)
            SigV4Auth(Credentials(ak or self.ak, sk or self.sk), "route53", region).add_auth(req)
            hdrs = dict(req.headers.items())
        u = urllib.parse.urlsplit(self.endpoint)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            c.request(method, path, body=body if send_body is None else send_body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def admin(self, method, path, body=None):
        u = urllib.parse.urlsplit(self.endpoint)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        try:
            c.request(method, path, body=body,
                      headers={"Content-Type": "text/plain"} if body is not None else {})
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def dig(self, qname, qtype):
        return harness.dig(self.dns_port, qname, qtype)


# ------------------------------------------------------------------------------ Terraform helpers

_ctr, _ctr_lock = itertools.count(1), threading.Lock()


def tf_unique_id(prefix="terraform-"):
    """terraform-plugin-sdk helper/id PrefixedUniqueId (§1.5)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    with _ctr_lock:
        n = next(_ctr)
    return f"{prefix}{now:%Y%m%d%H%M%S}{now.microsecond // 100:04d}{n:08x}"


def norm(name):
    """internal/dns/normalize.go Normalize (v6): lower, no trailing dot, \\ooo escapes."""
    name = name.rstrip(".").lower()
    return "".join(c if (c.isalnum() or c in "-._\\") else "\\%03o" % ord(c) for c in name)


def expand_record_name(name, zone_name):
    """record.go expandRecordName: no trailing dot."""
    rn, zone = norm(name), zone_name.rstrip(".")
    if not rn.endswith(zone):
        rn = zone if name == "" else f"{rn}.{zone}"
    return rn


def bare(zid):
    return zid.split("/")[-1]


def wait_insync(ctx, change_id, what):
    """change_info.go waitChangeInsync, at emulator speed. Returns seconds to INSYNC."""
    R.check(isinstance(change_id, str) and CHANGE_ID_RE.match(change_id or ""),
            what + ": ChangeInfo.Id is /change/C...", change_id)
    t0 = time.monotonic()
    deadline = t0 + INSYNC_LIMIT
    polls = 0
    while True:
        ci = ctx.r53.get_change(Id=change_id)["ChangeInfo"]
        polls += 1
        st = ci.get("Status")
        if not R.check(st in ("PENDING", "INSYNC"), what + ": GetChange Status",
                       "%r (Terraform: unexpected state)" % st):
            raise Abort(what)
        if polls == 1:
            R.eq(ci.get("Id"), change_id, what + ": GetChange echoes the Id")
            R.check(isinstance(ci.get("SubmittedAt"), datetime.datetime),
                    what + ": GetChange SubmittedAt parses", ci.get("SubmittedAt"))
        if st == "INSYNC":
            dt = time.monotonic() - t0
            with R.lock:
                R.insync.append(dt)
            return dt
        if time.monotonic() > deadline:
            R.need(False, what + ": INSYNC within %.0f s (Terraform's first poll)" % INSYNC_LIMIT,
                   "still PENDING after %d polls" % polls)
        time.sleep(POLL)


def check_change_info(ci, what):
    R.need(ci is not None, what + ": ChangeInfo present (pitfall 4)")
    R.check(CHANGE_ID_RE.match(ci.get("Id", "")), what + ": ChangeInfo.Id", ci.get("Id"))
    R.check(ci.get("Status") in ("PENDING", "INSYNC"), what + ": ChangeInfo.Status",
            ci.get("Status"))
    R.check(isinstance(ci.get("SubmittedAt"), datetime.datetime),
            what + ": ChangeInfo.SubmittedAt parses", ci.get("SubmittedAt"))


def list_tags(ctx, rtype, rid, what):
    out = ctx.r53.list_tags_for_resource(ResourceType=rtype, ResourceId=rid)
    # tags_gen.go ListTags dereferences output.ResourceTagSet with no nil check (pitfall 9)
    R.need("ResourceTagSet" in out, what + ": ResourceTagSet present (pitfall 9)", out)
    ts = out["ResourceTagSet"]
    R.eq(ts.get("ResourceId"), rid, what + ": ResourceTagSet.ResourceId")
    R.eq(ts.get("ResourceType"), rtype, what + ": ResourceTagSet.ResourceType")
    return {t["Key"]: t["Value"] for t in ts.get("Tags", [])}


def all_rrsets(ctx, zid, maxitems=None, what="list all"):
    """Every set of a zone through ListResourceRecordSets paging (bounded); checks the
    Next* fields are consistent and the paging terminates without repeats (pitfall 5)."""
    kw = {"HostedZoneId": zid}
    if maxitems:
        kw["MaxItems"] = str(maxitems)
    out, seen = [], set()
    for page in range(20000):
        p = ctx.r53.list_resource_record_sets(**kw)
        if maxitems:
            R.check(len(p["ResourceRecordSets"]) <= int(maxitems),
                    what + ": page holds at most MaxItems sets",
                    "%d > %s" % (len(p["ResourceRecordSets"]), maxitems))
            if page == 0:
                R.eq(p.get("MaxItems"), str(maxitems), what + ": MaxItems echoed")
        for r in p["ResourceRecordSets"]:
            k = (r["Name"], r["Type"], r.get("SetIdentifier"))
            R.check(k not in seen, what + ": no set listed twice", k)
            seen.add(k)
            out.append(r)
        if not p["IsTruncated"]:
            R.check("NextRecordName" not in p, what + ": no NextRecordName on the last page",
                    p.get("NextRecordName"))
            return out
        R.need("NextRecordName" in p and "NextRecordType" in p,
               what + ": IsTruncated comes with NextRecordName/Type", p)
        kw["StartRecordName"] = p["NextRecordName"]
        kw["StartRecordType"] = p["NextRecordType"]
        if "NextRecordIdentifier" in p:
            kw["StartRecordIdentifier"] = p["NextRecordIdentifier"]
        else:
            kw.pop("StartRecordIdentifier", None)
    R.need(False, what + ": paging terminates")


def _unescape(name):
    return re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), name)


TYPE_CODES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
              "AAAA": 28, "SRV": 33, "NAPTR": 35, "DS": 43, "SPF": 99, "CAA": 257}


def order_keys(r):
    """The candidate sort keys of §13.5: reversed labels (escaped or not), then the type
    (name or code), then the set identifier."""
    name = r["Name"].lower()
    keys = []
    for nm in (name, _unescape(name)):
        labels = [x.encode("latin-1") for x in nm.rstrip(".").split(".")][::-1]
        for tkey in (r["Type"], TYPE_CODES.get(r["Type"], 65536)):
            keys.append((labels, tkey, (r.get("SetIdentifier") or "").encode()))
    return keys


def check_listing(ctx, zid, zone, what):
    """ListResourceRecordSets semantics Terraform relies on (pitfall 5)."""
    full = all_rrsets(ctx, zid, None, what + " (default page)")
    for r in full:
        R.check(r["Name"] == r["Name"].lower() and r["Name"].endswith("."),
                what + ": names lower-case with a trailing dot", r["Name"])
        R.check("*" not in r["Name"], what + ": '*' listed as \\052", r["Name"])
    # sorted under one consistent key variant
    variants = [i for i in range(4)
                if all(order_keys(full[j])[i] < order_keys(full[j + 1])[i]
                       for j in range(len(full) - 1))]
    R.check(variants, what + ": sets in reversed-label order, then type, then SetIdentifier",
            [(r["Name"], r["Type"], r.get("SetIdentifier")) for r in full])
    for mi in (1, 2, 7):
        paged = all_rrsets(ctx, zid, mi, what + " (MaxItems %d)" % mi)
        R.eq([(r["Name"], r["Type"], r.get("SetIdentifier")) for r in paged],
             [(r["Name"], r["Type"], r.get("SetIdentifier")) for r in full],
             what + ": paging with MaxItems %d gives the same sets" % mi)
    # StartRecordName/Type/Identifier: the first set >= the start, MaxItems 1
    for i, r in enumerate(full):
        kw = dict(HostedZoneId=zid, StartRecordName=r["Name"], StartRecordType=r["Type"],
                  MaxItems="1")
        if r.get("SetIdentifier"):
            kw["StartRecordIdentifier"] = r["SetIdentifier"]
        p = ctx.r53.list_resource_record_sets(**kw)
        got = [(x["Name"], x["Type"], x.get("SetIdentifier")) for x in p["ResourceRecordSets"]]
        R.eq(got, [(r["Name"], r["Type"], r.get("SetIdentifier"))],
             what + ": MaxItems 1 read at its own name/type/identifier")
        more = i + 1 < len(full)
        R.eq(p["IsTruncated"], more, what + ": IsTruncated after %s %s" % (r["Name"], r["Type"]))
        if more:
            n = full[i + 1]
            R.eq((p.get("NextRecordName"), p.get("NextRecordType"), p.get("NextRecordIdentifier")),
                 (n["Name"], n["Type"], n.get("SetIdentifier")),
                 what + ": Next* name the following set")
    # a start that names no set: the first set after it
    if variants:
        v = variants[0]
        zone_fq = zone.rstrip(".") + "."
        for probe_name in ("aaaa." + zone_fq, "mm." + zone_fq, "zzzz." + zone_fq):
            pk = order_keys({"Name": probe_name, "Type": "A"})[v]
            want = next(((x["Name"], x["Type"], x.get("SetIdentifier")) for x in full
                         if order_keys(x)[v] >= pk), None)
            p = ctx.r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName=probe_name,
                                                  StartRecordType="A", MaxItems="1")
            got = [(x["Name"], x["Type"], x.get("SetIdentifier")) for x in p["ResourceRecordSets"]]
            R.eq(got, [want] if want else [], what + ": start at absent %s A" % probe_name)
    return full


# ---------- aws_route53_zone

def zone_create(ctx, name, comment="Managed by Terraform", tags=None, vpc=None):
    kw = dict(Name=name, CallerReference=tf_unique_id(), HostedZoneConfig={"Comment": comment})
    if vpc:
        kw["VPC"] = vpc   # no PrivateZone: Terraform never sends it (pitfall 8)
    out = ctx.r53.create_hosted_zone(**kw)
    what = "CreateHostedZone %s" % name
    R.eq(out["ResponseMetadata"]["HTTPStatusCode"], 201, what + ": HTTP 201")
    R.check(out.get("Location"), what + ": Location header")
    hz = out["HostedZone"]
    R.need(ZONE_ID_RE.match(hz.get("Id", "")), what + ": HostedZone.Id is /hostedzone/Z...",
           hz.get("Id"))
    zid = bare(hz["Id"])
    R.eq(hz.get("Name"), name.lower().rstrip(".") + ".", what + ": Name lower-case, trailing dot")
    R.eq(hz.get("Config", {}).get("Comment"), comment, what + ": Config.Comment echoed")
    R.eq(hz.get("Config", {}).get("PrivateZone", False), bool(vpc), what + ": Config.PrivateZone")
    R.eq(hz.get("ResourceRecordSetCount"), 2, what + ": ResourceRecordSetCount (SOA + NS)")
    check_change_info(out.get("ChangeInfo"), what)
    if vpc:
        R.check("DelegationSet" not in out, what + ": no DelegationSet for a private zone")
        R.eq(out.get("VPC", {}).get("VPCId"), vpc["VPCId"], what + ": VPC echoed")
    else:
        ds = out.get("DelegationSet", {})
        R.check(ds.get("NameServers"), what + ": DelegationSet.NameServers non-empty", ds)
        R.check("Id" not in ds, what + ": no DelegationSet.Id (not reusable)", ds.get("Id"))
    # pitfall 3: read-after-write, before any wait
    try:
        g = ctx.r53.get_hosted_zone(Id=zid)
        R.eq(bare(g["HostedZone"]["Id"]), zid, what + ": GetHostedZone right after create")
    except botocore.exceptions.ClientError as e:
        R.check(False, what + ": GetHostedZone right after create (pitfall 3)", errtext(e))
    if out.get("ChangeInfo"):
        wait_insync(ctx, out["ChangeInfo"]["Id"], what)
    if tags:
        ctx.r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zid,
                                         AddTags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return zid, zone_read(ctx, zid, comment, tags or {}, what)


def zone_read(ctx, zid, want_comment, want_tags, what="zone read"):
    """zone.go resourceZoneRead + the tags interceptor."""
    out = ctx.r53.get_hosted_zone(Id=zid)
    hz = out["HostedZone"]
    R.eq(bare(hz["Id"]), zid, what + ": HostedZone.Id")
    R.check(hz["Id"].startswith("/hostedzone/"), what + ": Id as /hostedzone/<id>", hz["Id"])
    R.eq(hz.get("Config", {}).get("Comment"), want_comment,
         what + ": Config.Comment (else UpdateHostedZoneComment on every apply)")
    if hz.get("Config", {}).get("PrivateZone"):
        # R2: StartRecordName = zone (normalised, no dot), type NS, no MaxItems; first set
        p = ctx.r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName=norm(hz["Name"]),
                                              StartRecordType="NS")
        first = p["ResourceRecordSets"][0] if p["ResourceRecordSets"] else {}
        R.eq((first.get("Name"), first.get("Type")), (hz["Name"], "NS"),
             what + ": private zone NS lookup returns the apex NS set first")
        ns = [r["Value"] for r in first.get("ResourceRecords", [])]
        R.check("DelegationSet" not in out, what + ": no DelegationSet for a private zone")
        R.check(out.get("VPCs"), what + ": VPCs listed for a private zone", out.get("VPCs"))
    else:
        ds = out.get("DelegationSet") or {}
        ns = ds.get("NameServers", [])
        R.check("Id" not in ds, what + ": no DelegationSet.Id (delegation_set_id drift forces "
                "replacement)", ds.get("Id"))
        if ns:
            soa = ctx.r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName=hz["Name"],
                                                    StartRecordType="SOA", MaxItems="1")
            s = soa["ResourceRecordSets"][0] if soa["ResourceRecordSets"] else {}
            R.eq((s.get("Name"), s.get("Type")), (hz["Name"], "SOA"), what + ": apex SOA listed")
            if s.get("ResourceRecords"):
                R.eq(s["ResourceRecords"][0]["Value"].split()[0].rstrip("."),
                     ns[0].rstrip("."), what + ": NameServers[0] is the SOA primary (pitfall 8)")
    R.need(ns, what + ": name servers non-empty (else provider panic on nameServers[0])")
    feats = hz.get("Features") or {}
    R.check(feats.get("AcceleratedRecoveryStatus", "DISABLED") != "ENABLED",
            what + ": no accelerated recovery ENABLED (pitfall 14)", feats)
    tags = list_tags(ctx, "hostedzone", zid, what)
    R.eq(tags, want_tags, what + ": tags")
    return hz


def zone_update_comment_and_tags(ctx, zid, old_tags, new_tags, comment):
    add = [{"Key": k, "Value": v} for k, v in new_tags.items() if old_tags.get(k) != v]
    rm = [k for k in old_tags if k not in new_tags]
    if add or rm:   # interceptor first, one call with both lists (pitfall 9)
        kw = {"AddTags": add} if add else {}
        if rm:
            kw["RemoveTagKeys"] = rm
        ctx.r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zid, **kw)
    out = ctx.r53.update_hosted_zone_comment(Id=zid, Comment=comment)
    R.eq(out["HostedZone"].get("Config", {}).get("Comment"), comment,
         "UpdateHostedZoneComment: response echoes the comment")
    return zone_read(ctx, zid, comment, new_tags, "zone read after update")


def zone_delete(ctx, zid, what="zone delete"):
    """zone.go resourceZoneDelete / deleteHostedZone (v6), with the GetDNSSEC of D5."""
    hz = ctx.r53.get_hosted_zone(Id=zid)["HostedZone"]   # D1: any error aborts the destroy
    R.check((hz.get("Features") or {}).get("AcceleratedRecoveryStatus") != "ENABLED",
            what + ": accelerated recovery not ENABLED")
    dnssec_not_signing(ctx, zid, what)
    try:
        out = ctx.r53.delete_hosted_zone(Id=zid)
    except botocore.exceptions.ClientError as e:
        if code(e) == "NoSuchHostedZone":
            return
        raise
    check_change_info(out.get("ChangeInfo"), what)
    # D7: the change must outlive the zone (pitfall 4)
    wait_insync(ctx, out["ChangeInfo"]["Id"], what + " (GetChange after the zone is gone)")
    expect_error(what + ": GetHostedZone afterwards (CheckDestroy)", "NoSuchHostedZone", 404,
                 ctx.r53.get_hosted_zone, Id=zid)
    expect_error(what + ": DeleteHostedZone again (Terraform: success)", "NoSuchHostedZone", 404,
                 ctx.r53.delete_hosted_zone, Id=zid)


def dnssec_not_signing(ctx, zid, what):
    """force_destroy D5 / pitfall 13: GetDNSSEC must answer NOT_SIGNING."""
    try:
        d = ctx.r53.get_dnssec(HostedZoneId=zid)
    except botocore.exceptions.ClientError as e:
        R.check(code(e) == "DNSSECNotFound", what + ": GetDNSSEC (pitfall 13)", errtext(e))
        return
    R.eq(d.get("Status", {}).get("ServeSignature"), "NOT_SIGNING", what + ": GetDNSSEC status")
    R.eq(d.get("KeySigningKeys", []), [], what + ": GetDNSSEC KeySigningKeys empty")


# ---------- aws_route53_health_check

HC_CFG = {"Type": "HTTP", "IPAddress": "192.0.2.10", "Port": 80, "ResourcePath": "/healthz",
          "RequestInterval": 30, "FailureThreshold": 3}
# Defaults filled by the server (decisions.md; TPA#1645): HTTPS -> Port 443, EnableSNI true
HC_HTTPS = {"Type": "HTTPS", "IPAddress": "192.0.2.11", "FullyQualifiedDomainName":
            "www.replay.example", "ResourcePath": "/", "RequestInterval": 30}
HC_HTTPS_READ = dict(HC_HTTPS, Port=443, FailureThreshold=3, EnableSNI=True)
HC_TCP = {"Type": "TCP", "IPAddress": "192.0.2.12", "Port": 443, "RequestInterval": 30,
          "FailureThreshold": 3}


def hc_create(ctx, cfg, tags=None, reference_name=None, read_want=None):
    ref = tf_unique_id((reference_name + "-terraform-") if reference_name else "terraform-")
    out = ctx.r53.create_health_check(CallerReference=ref, HealthCheckConfig=cfg)
    what = "CreateHealthCheck %s" % cfg["Type"]
    R.eq(out["ResponseMetadata"]["HTTPStatusCode"], 201, what + ": HTTP 201")
    hc = out["HealthCheck"]
    R.need(UUID_RE.match(hc.get("Id", "")), what + ": Id is a lower-case UUID", hc.get("Id"))
    R.eq(hc.get("CallerReference"), ref, what + ": CallerReference echoed")
    R.eq(hc.get("HealthCheckVersion"), 1, what + ": HealthCheckVersion starts at 1")
    hcid = hc["Id"]
    if tags:
        ctx.r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hcid,
                                         AddTags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return hcid, hc_read(ctx, hcid, read_want or cfg, tags or {}, what)


def hc_read(ctx, hcid, want, want_tags, what="health check read"):
    """health_check.go resourceHealthCheckRead: every field sent comes back (pitfall 10)."""
    out = ctx.r53.get_health_check(HealthCheckId=hcid)
    R.need(out.get("HealthCheck") and out["HealthCheck"].get("HealthCheckConfig"),
           what + ": HealthCheck.HealthCheckConfig present (else 'empty result')")
    c = out["HealthCheck"]["HealthCheckConfig"]
    for k, v in want.items():
        R.eq(c.get(k), v, what + ": HealthCheckConfig.%s" % k)
    R.eq(c.get("Type"), want["Type"].upper(), what + ": Type upper-case (ForceNew)")
    R.eq(c.get("RequestInterval"), want.get("RequestInterval", 30),
         what + ": RequestInterval (ForceNew)")
    R.eq(c.get("MeasureLatency", False), want.get("MeasureLatency", False),
         what + ": MeasureLatency (ForceNew)")
    R.check("Regions" not in c or "Regions" in want,
            what + ": no Regions unless set (else regions drift)", c.get("Regions"))
    tags = list_tags(ctx, "healthcheck", hcid, what)
    R.eq(tags, want_tags, what + ": tags")
    return out["HealthCheck"]


def hc_delete(ctx, hcid, what="health check delete"):
    try:
        ctx.r53.delete_health_check(HealthCheckId=hcid)
    except botocore.exceptions.ClientError as e:
        if code(e) != "NoSuchHealthCheck":
            raise
    expect_error(what + ": GetHealthCheck afterwards", "NoSuchHealthCheck", 404,
                 ctx.r53.get_health_check, HealthCheckId=hcid)
    expect_error(what + ": DeleteHealthCheck again (Terraform: success)", "NoSuchHealthCheck",
                 404, ctx.r53.delete_health_check, HealthCheckId=hcid)


# ---------- aws_route53_record
# A record is given as its HCL would be: name (relative), type, ttl, records, set_identifier,
# failover, weight, multivalue, geo, cidr, health_check_id, alias {name, zone_id, eth}.

def is_txt(rtype):
    return rtype in ("TXT", "SPF")


def expand_rrset(rec, zone_name):
    """record.go expandResourceRecordSet."""
    rs = {"Name": expand_record_name(rec["name"], zone_name), "Type": rec["type"]}
    if "records" in rec:
        rs["TTL"] = rec["ttl"]
        rs["ResourceRecords"] = [{"Value": '"%s"' % v if is_txt(rec["type"]) else v}
                                 for v in rec["records"]]
    if "alias" in rec:
        al = rec["alias"]
        rs["AliasTarget"] = {"DNSName": al["name"], "EvaluateTargetHealth": al["eth"],
                             "HostedZoneId": al["zone_id"]}
    if rec.get("set_identifier"):
        rs["SetIdentifier"] = rec["set_identifier"]
    if rec.get("failover"):
        rs["Failover"] = rec["failover"]
    if "weight" in rec:
        rs["Weight"] = rec["weight"]
    if rec.get("multivalue"):
        rs["MultiValueAnswer"] = True      # only when true
    if rec.get("geo"):
        rs["GeoLocation"] = rec["geo"]
    if rec.get("cidr"):
        rs["CidrRoutingConfig"] = rec["cidr"]
    if rec.get("health_check_id"):
        rs["HealthCheckId"] = rec["health_check_id"]
    return rs


def fqdn(rec, zone_name):
    return expand_record_name(rec["name"], zone_name) + "."


def rr_find(ctx, zid, rec, what):
    """record.go findResourceRecordSetByFourPartKey (MaxItems 1 without set identifier,
    100 with; paging only while Next* stay on the same name and type)."""
    zname = ctx.r53.get_hosted_zone(Id=zid)["HostedZone"]["Name"]
    start = expand_record_name(rec["name"], zname) + "."
    rtype, set_id = rec["type"], rec.get("set_identifier", "")
    mi = "100" if set_id else "1"
    kw = dict(HostedZoneId=zid, StartRecordName=start, StartRecordType=rtype, MaxItems=mi)
    hits = []
    for _ in range(1000):
        p = ctx.r53.list_resource_record_sets(**kw)
        R.check(len(p["ResourceRecordSets"]) <= int(mi), what + ": MaxItems %s honoured" % mi,
                len(p["ResourceRecordSets"]))
        if mi == "1" and p["ResourceRecordSets"]:
            f = p["ResourceRecordSets"][0]
            # with MaxItems 1 the set returned first must be the record itself
            if rec.get("_exists", True):
                R.eq((f["Name"], f["Type"]), (start, rtype),
                     what + ": MaxItems 1 lookup returns the record itself")
        hits += [r for r in p["ResourceRecordSets"]
                 if r["Name"].lower() == start and r["Type"].upper() == rtype
                 and r.get("SetIdentifier", "") == set_id]
        if not p["IsTruncated"]:
            break
        if p["NextRecordName"].lower() != start or p["NextRecordType"] != rtype:
            break
        kw.update(StartRecordName=p["NextRecordName"], StartRecordType=p["NextRecordType"])
        if "NextRecordIdentifier" in p:
            kw["StartRecordIdentifier"] = p["NextRecordIdentifier"]
        else:
            kw.pop("StartRecordIdentifier", None)
    R.check(len(hits) <= 1, what + ": at most one match", hits)
    return hits[0] if hits else None


def rr_compare(rec, got, zone_name, what):
    """resourceRecordRead: the fields Terraform stores must equal the configuration."""
    R.eq(got["Name"], fqdn(rec, zone_name), what + ": Name (lower, escaped, trailing dot)")
    R.eq(got["Type"], rec["type"], what + ": Type")
    R.eq(got.get("SetIdentifier", ""), rec.get("set_identifier", ""), what + ": SetIdentifier")
    R.eq(got.get("Failover"), rec.get("failover"), what + ": Failover")
    R.eq(got.get("Weight"), rec.get("weight"), what + ": Weight")
    R.eq(got.get("MultiValueAnswer", False), rec.get("multivalue", False),
         what + ": MultiValueAnswer")
    R.eq(got.get("GeoLocation"), rec.get("geo"), what + ": GeoLocation")
    R.eq(got.get("CidrRoutingConfig"), rec.get("cidr"), what + ": CidrRoutingConfig")
    R.eq(got.get("HealthCheckId"), rec.get("health_check_id"), what + ": HealthCheckId")
    if "records" in rec:
        R.eq(got.get("TTL"), rec["ttl"], what + ": TTL")
        vals = [r["Value"] for r in got.get("ResourceRecords", [])]
        sent = [v["Value"] for v in expand_rrset(rec, zone_name)["ResourceRecords"]]
        # values come back as sent, byte for byte (TXT quoting: pitfall 15; others: the
        # records set would show a diff)
        R.eq(sorted(vals), sorted(sent), what + ": ResourceRecords values as sent")
        if is_txt(rec["type"]):
            R.eq(sorted(v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v for v in vals),
                 sorted(rec["records"]), what + ": TXT after expandTxtEntry")
    if "alias" in rec:
        at = got.get("AliasTarget")
        R.need(at, what + ": AliasTarget listed")
        R.check("TTL" not in got and "ResourceRecords" not in got,
                what + ": alias set lists no TTL/ResourceRecords", got)
        R.eq(at.get("DNSName", "").lower().rstrip("."), rec["alias"]["name"].lower().rstrip("."),
             what + ": AliasTarget.DNSName (normalised)")
        R.eq(at.get("HostedZoneId"), rec["alias"]["zone_id"],
             what + ": AliasTarget.HostedZoneId round-trips exactly")
        R.eq(at.get("EvaluateTargetHealth"), rec["alias"]["eth"],
             what + ": AliasTarget.EvaluateTargetHealth")


def rr_put(ctx, zid, rec, action="CREATE", what=None):
    """resourceRecordCreate / in-place Update: GetHostedZone, one change, GetChange, Read."""
    what = what or "%s %s %s %s" % (action, rec["name"], rec["type"], rec.get("set_identifier", ""))
    zhz = ctx.r53.get_hosted_zone(Id=zid)["HostedZone"]
    rs = expand_rrset(rec, zhz["Name"])
    deadline = time.time() + 60        # RetryWhenIsA NoSuchHostedZone, 1 min
    while True:
        try:
            out = ctx.r53.change_resource_record_sets(
                HostedZoneId=bare(zhz["Id"]),
                ChangeBatch={"Comment": "Managed by Terraform",
                             "Changes": [{"Action": action, "ResourceRecordSet": rs}]})
            break
        except botocore.exceptions.ClientError as e:
            if code(e) != "NoSuchHostedZone" or time.time() > deadline:
                R.need(False, what, errtext(e))
            time.sleep(1)
    check_change_info(out.get("ChangeInfo"), what)
    wait_insync(ctx, out["ChangeInfo"]["Id"], what)
    got = rr_find(ctx, zid, rec, what + " read")    # pitfall 3: at once after INSYNC
    R.need(got is not None, what + ": found right after INSYNC (pitfall 3)")
    rr_compare(rec, got, zhz["Name"], what)
    return got


def rr_delete(ctx, zid, rec, what=None):
    """resourceRecordDelete: DELETE the set exactly as listed; InvalidChangeBatch ignored."""
    what = what or "destroy %s %s %s" % (rec["name"], rec["type"], rec.get("set_identifier", ""))
    rr = rr_find(ctx, zid, rec, what)
    if rr is None:
        R.check(False, what + ": the record to destroy is listed")
        return
    try:
        out = ctx.r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={
            "Comment": "Deleted by Terraform",
            "Changes": [{"Action": "DELETE", "ResourceRecordSet": rr}]})
    except botocore.exceptions.ClientError as e:
        # Terraform would swallow InvalidChangeBatch here and leave the record behind
        R.check(False, what + ": DELETE of the set exactly as listed (pitfall 6)", errtext(e))
        return
    wait_insync(ctx, out["ChangeInfo"]["Id"], what)
    gone = dict(rec, _exists=False)
    R.check(rr_find(ctx, zid, gone, what + " re-read") is None, what + ": gone after INSYNC")


# ---------- DNS checks

def dig_expect(ctx, qname, qtype, want, ttl=None, what=None, wait=0.0):
    """dig must answer NOERROR/AA with exactly these rdatas (sorted); want None: NXDOMAIN,
    "REFUSED": REFUSED. Retries for up to `wait` seconds (health flips)."""
    what = what or "dig %s %s" % (qname, qtype)
    deadline = time.monotonic() + wait
    while True:
        d = ctx.dig(qname, qtype)
        if want == "REFUSED":
            ok = d.status == "REFUSED"
        elif want is None:
            ok = d.status == "NXDOMAIN" and "aa" in d.flags
        else:
            got = sorted(r[4] for r in d.answer if r[3] == qtype)
            ok = d.status == "NOERROR" and "aa" in d.flags and got == sorted(want)
            if ok and ttl is not None:
                ok = all(r[1] == ttl for r in d.answer if r[3] == qtype)
        if ok or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    R.check(ok, what, "want %s%s, dig said:\n%s" % (
        want, "" if ttl is None else " TTL %d" % ttl, d.text))
    return d


def force_health(ctx, hcid, mode):
    st, body = ctx.admin("POST", "/healthchecks/%s/force" % hcid, mode)
    R.check(st == 200, "POST /healthchecks/%s/force %s" % (hcid, mode), "%s %s" % (st, body))


# ---------- aws_route53_key_signing_key and aws_route53_hosted_zone_dnssec (§8, §9)
#
# key_signing_key.go @00a35305 and hosted_zone_dnssec.go @25f80865. The provider matches errors
# with errs.IsA[*awstypes.X]: SDKv2's generated deserialiser builds the typed error only for
# the codes the operation's model lists and a smithy.GenericAPIError for any other code, so a
# code outside an operation's model never matches (tf_is). The status waiters are
# StateChangeConf with Target only (no Pending): other states are polled through; a nil
# result ("not found") is polled through NotFoundChecks (20) times. At emulator speed here.

KSK_FLOW_LIMIT = 15.0     # Terraform: 5 min, first poll after MinTimeout 5 s
NOT_FOUND_CHECKS = 20     # plugin-SDK StateChangeConf default
KSK_COMPUTED = ("digest_algorithm_mnemonic", "digest_algorithm_type", "digest_value",
                "dnskey_record", "ds_record", "flag", "key_tag", "public_key",
                "signing_algorithm_mnemonic", "signing_algorithm_type")
DELV = "/usr/bin/delv"
LDNS_KEY2DS = "/usr/bin/ldns-key2ds"


def tf_is(ctx, e, op, want):
    """errs.IsA[*awstypes.<want>](err) for an error of operation op under SDKv2."""
    if not isinstance(e, botocore.exceptions.ClientError) or code(e) != want:
        return False
    modeled = {s.name for s in ctx.r53.meta.service_model.operation_model(op).error_shapes}
    R.check(want in modeled, "%s answers %s, which its model does not list: SDKv2 makes it a "
            "GenericAPIError and Terraform's %s check never matches" % (op, want, want))
    return want in modeled


def kms_arn():
    """aws_kms_key.arn's shape."""
    return "arn:aws:kms:us-east-1:123456789012:key/%s" % uuid.uuid4()


def ksk_find(ctx, zid, name):
    """findKeySigningKeyByTwoPartKey: the KSK, or None for "not found"; other errors raise."""
    try:
        out = ctx.r53.get_dnssec(HostedZoneId=zid)
    except botocore.exceptions.ClientError as e:
        if tf_is(ctx, e, "GetDNSSEC", "NoSuchHostedZone") or \
                tf_is(ctx, e, "GetDNSSEC", "NoSuchKeySigningKey"):
            return None
        raise
    for k in out.get("KeySigningKeys", []):
        if k.get("Name") == name:
            return k
    return None


def ksk_state(zid, k):
    """resourceKeySigningKeyRead's d.Set calls (a nil pointer sets "" or 0)."""
    return {
        "digest_algorithm_mnemonic": k.get("DigestAlgorithmMnemonic", ""),
        "digest_algorithm_type": k.get("DigestAlgorithmType", 0),
        "digest_value": k.get("DigestValue", ""),
        "dnskey_record": k.get("DNSKEYRecord", ""),
        "ds_record": k.get("DSRecord", ""),
        "flag": k.get("Flag", 0),
        "hosted_zone_id": zid,
        "key_management_service_arn": k.get("KmsArn", ""),
        "key_tag": k.get("KeyTag", 0),
        "name": k.get("Name", ""),
        "public_key": k.get("PublicKey", ""),
        "signing_algorithm_mnemonic": k.get("SigningAlgorithmMnemonic", ""),
        "signing_algorithm_type": k.get("SigningAlgorithmType", 0),
        "status": k.get("Status", ""),
    }


def ksk_check_material(st, what):
    """The acceptance test's checks (key_signing_key_test.go TestAccRoute53KeySigningKey_basic)."""
    R.eq(st["digest_algorithm_mnemonic"], "SHA-256", what + ": digest_algorithm_mnemonic")
    R.eq(st["digest_algorithm_type"], 2, what + ": digest_algorithm_type")
    R.check(re.match(r"^[0-9A-F]+$", st["digest_value"]), what + ": digest_value ^[0-9A-F]+$",
            st["digest_value"])
    R.check(re.match(r"^257 [0-9]+ [0-9]+ [0-9A-Za-z+/]+={0,3}$", st["dnskey_record"]),
            what + ": dnskey_record ^257 n n base64$", st["dnskey_record"])
    R.check(re.match(r"^[0-9]+ [0-9]+ [0-9]+ [0-9A-F]+$", st["ds_record"]),
            what + ": ds_record ^n n n HEX$", st["ds_record"])
    R.eq(st["flag"], 257, what + ": flag")
    R.check(isinstance(st["key_tag"], int) and 0 <= st["key_tag"] <= 65535,
            what + ": key_tag numeric", st["key_tag"])
    R.check(re.match(r"^[0-9A-Za-z+/]+={0,3}$", st["public_key"]), what + ": public_key base64",
            st["public_key"])
    R.eq(st["signing_algorithm_mnemonic"], "ECDSAP256SHA256", what + ": signing_algorithm_mnemonic")
    R.eq(st["signing_algorithm_type"], 13, what + ": signing_algorithm_type")
    # the fields agree with each other: DNSKEY = "257 3 13 <PublicKey>", DS = "tag 13 2 digest"
    R.eq(st["dnskey_record"], "257 3 13 " + st["public_key"], what + ": dnskey_record = "
         "257 3 13 public_key")
    R.eq(st["ds_record"], "%d 13 2 %s" % (st["key_tag"], st["digest_value"]),
         what + ": ds_record = key_tag 13 2 digest_value")


def ksk_wait_status(ctx, zid, name, status, what):
    """waitKeySigningKeyStatusUpdated: GetDNSSEC until the KSK's Status == status."""
    deadline = time.monotonic() + KSK_FLOW_LIMIT
    misses = 0
    while True:
        k = ksk_find(ctx, zid, name)
        if k is None:
            misses += 1
            R.need(misses <= NOT_FOUND_CHECKS, what + ": KSK found by the status waiter")
        else:
            if k.get("Status") == status:
                return k
            R.need(k.get("Status") != "INTERNAL_FAILURE", what + ": status INTERNAL_FAILURE",
                   k.get("StatusMessage"))
        R.need(time.monotonic() < deadline, what + ": KSK status %s within %.0f s"
               % (status, KSK_FLOW_LIMIT), k)
        time.sleep(POLL)


def ksk_read(ctx, zid, name, new=False, what="KSK read"):
    """resourceKeySigningKeyRead: the state, or None when the resource is gone."""
    k = ksk_find(ctx, zid, name)
    if k is None:
        R.need(not new, what + ": a new KSK is found (IsNewResource: not-found is an error)")
        return None
    st = ksk_state(zid, k)
    ksk_check_material(st, what)
    return st


def ksk_plan(ctx, cfg, state, what):
    """terraform plan after apply: refresh (Read) twice, no diff, nothing changed outside."""
    for i in (1, 2):
        got = ksk_read(ctx, cfg["hosted_zone_id"], cfg["name"], what="%s (refresh %d)" % (what, i))
        R.need(got is not None, what + ": still there on refresh %d" % i)
        for a in ("hosted_zone_id", "key_management_service_arn", "name", "status"):
            R.eq(got[a], cfg[a], "%s refresh %d: %s reads back as configured (else a diff)"
                 % (what, i, a))
        R.eq(got, state, "%s refresh %d: every stored attribute reads back identically" % (what, i))
    # import (ImportStateVerify): the ID is "zone,name", read from scratch
    zone, name = ("%s,%s" % (cfg["hosted_zone_id"], cfg["name"])).split(",", 1)
    R.eq(ksk_read(ctx, zone, name, what=what + " (import)"), state, what + ": import verifies")


def ksk_create(ctx, cfg, what=None):
    """resourceKeySigningKeyCreate: CreateKeySigningKey, GetChange, status waiter, Read."""
    what = what or "create KSK %s (%s)" % (cfg["name"], cfg["status"])
    out = ctx.r53.create_key_signing_key(
        CallerReference=tf_unique_id(), HostedZoneId=cfg["hosted_zone_id"], Name=cfg["name"],
        Status=cfg["status"], KeyManagementServiceArn=cfg["key_management_service_arn"])
    R.eq(out["ResponseMetadata"]["HTTPStatusCode"], 201, what + ": HTTP 201")
    check_change_info(out.get("ChangeInfo"), what)
    wait_insync(ctx, out["ChangeInfo"]["Id"], what)
    ksk_wait_status(ctx, cfg["hosted_zone_id"], cfg["name"], cfg["status"], what)
    st = ksk_read(ctx, cfg["hosted_zone_id"], cfg["name"], new=True, what=what + " (read)")
    ksk_plan(ctx, cfg, st, what + ", plan")
    return st


def ksk_update(ctx, cfg, state, status, what=None):
    """resourceKeySigningKeyUpdate (status changed): Activate/Deactivate, GetChange, waiter."""
    what = what or "update KSK %s %s -> %s" % (cfg["name"], state["status"], status)
    op = ctx.r53.activate_key_signing_key if status == "ACTIVE" else \
        ctx.r53.deactivate_key_signing_key
    out = op(HostedZoneId=cfg["hosted_zone_id"], Name=cfg["name"])
    check_change_info(out.get("ChangeInfo"), what)
    wait_insync(ctx, out["ChangeInfo"]["Id"], what)
    ksk_wait_status(ctx, cfg["hosted_zone_id"], cfg["name"], status, what)
    cfg = dict(cfg, status=status)
    st = ksk_read(ctx, cfg["hosted_zone_id"], cfg["name"], what=what + " (read)")
    R.need(st is not None, what + ": still there")
    for a in KSK_COMPUTED:
        R.eq(st[a], state[a], what + ": %s unchanged by a status change" % a)
    ksk_plan(ctx, cfg, st, what + ", plan")
    return cfg, st


def ksk_destroy(ctx, cfg, state_status, what=None):
    """resourceKeySigningKeyDelete: Deactivate when the state says ACTIVE/ACTION_NEEDED
    (NoSuchKeySigningKey: done), then Delete (NoSuchHostedZone/NoSuchKeySigningKey: done)."""
    what = what or "destroy KSK %s" % cfg["name"]
    zid, name = cfg["hosted_zone_id"], cfg["name"]
    if state_status in ("ACTIVE", "ACTION_NEEDED"):
        try:
            out = ctx.r53.deactivate_key_signing_key(HostedZoneId=zid, Name=name)
        except botocore.exceptions.ClientError as e:
            if tf_is(ctx, e, "DeactivateKeySigningKey", "NoSuchKeySigningKey"):
                return "gone"
            R.need(False, what + ": DeactivateKeySigningKey", errtext(e))
        check_change_info(out.get("ChangeInfo"), what + " (deactivate)")
        wait_insync(ctx, out["ChangeInfo"]["Id"], what + " (deactivate)")
    try:
        out = ctx.r53.delete_key_signing_key(HostedZoneId=zid, Name=name)
    except botocore.exceptions.ClientError as e:
        if tf_is(ctx, e, "DeleteKeySigningKey", "NoSuchHostedZone") or \
                tf_is(ctx, e, "DeleteKeySigningKey", "NoSuchKeySigningKey"):
            return "gone"
        R.need(False, what + ": DeleteKeySigningKey", errtext(e))
    check_change_info(out.get("ChangeInfo"), what + " (delete)")
    wait_insync(ctx, out["ChangeInfo"]["Id"], what + " (delete)")
    # CheckDestroy: FindKeySigningKeyByTwoPartKey is "not found"
    R.check(ksk_find(ctx, zid, name) is None, what + ": gone afterwards (CheckDestroy)")
    return "deleted"


def dnssec_find(ctx, zid):
    """findHostedZoneDNSSECByZoneID: the GetDNSSEC output, None for "not found"."""
    try:
        out = ctx.r53.get_dnssec(HostedZoneId=zid)
    except botocore.exceptions.ClientError as e:
        if tf_is(ctx, e, "GetDNSSEC", "DNSSECNotFound") or \
                tf_is(ctx, e, "GetDNSSEC", "NoSuchHostedZone"):
            return None
        raise
    R.need(out.get("Status") is not None, "GetDNSSEC: Status present (nil: empty result error)")
    return out


def dnssec_read(ctx, zid, new=False, what="hosted_zone_dnssec read"):
    """resourceHostedZoneDNSSECRead: {hosted_zone_id, signing_status}, None when gone."""
    out = dnssec_find(ctx, zid)
    if out is None:
        R.need(not new, what + ": found (IsNewResource)")
        return None
    return {"hosted_zone_id": zid, "signing_status": out["Status"].get("ServeSignature", "")}


def dnssec_wait(ctx, zid, status, what):
    """waitHostedZoneDNSSECStatusUpdated."""
    deadline = time.monotonic() + KSK_FLOW_LIMIT
    misses = 0
    while True:
        out = dnssec_find(ctx, zid)
        if out is None:
            misses += 1
            R.need(misses <= NOT_FOUND_CHECKS, what + ": GetDNSSEC found by the status waiter")
        else:
            ss = out["Status"].get("ServeSignature")
            if ss == status:
                return out
            R.need(ss != "INTERNAL_FAILURE", what + ": INTERNAL_FAILURE",
                   out["Status"].get("StatusMessage"))
        R.need(time.monotonic() < deadline, what + ": ServeSignature %s within %.0f s"
               % (status, KSK_FLOW_LIMIT), out and out.get("Status"))
        time.sleep(POLL)


def dnssec_disable_call(ctx, zid, what):
    """hostedZoneDNSSECDisable: retried on KeySigningKeyInParentDSRecord (5 min; bounded)."""
    for _ in range(50):
        try:
            return ctx.r53.disable_hosted_zone_dnssec(HostedZoneId=zid)
        except botocore.exceptions.ClientError as e:
            if not tf_is(ctx, e, "DisableHostedZoneDNSSEC", "KeySigningKeyInParentDSRecord"):
                R.need(False, what + ": DisableHostedZoneDNSSEC", errtext(e))
            time.sleep(POLL)
    R.need(False, what + ": DisableHostedZoneDNSSEC still KeySigningKeyInParentDSRecord")


def dnssec_apply(ctx, zid, status, new, what=None):
    """resourceHostedZoneDNSSECCreate / Update: Enable or Disable, GetChange, waiter, Read;
    then the plan (two refreshes, no diff; import verifies)."""
    what = what or "hosted_zone_dnssec %s %s" % ("create" if new else "update", status)
    if status == "SIGNING":
        out = ctx.r53.enable_hosted_zone_dnssec(HostedZoneId=zid)
    else:
        out = dnssec_disable_call(ctx, zid, what)
    check_change_info(out.get("ChangeInfo"), what)
    wait_insync(ctx, out["ChangeInfo"]["Id"], what)
    dnssec_wait(ctx, zid, status, what)
    st = dnssec_read(ctx, zid, new=new, what=what + " (read)")
    R.eq(st, {"hosted_zone_id": zid, "signing_status": status}, what + ": state")
    for i in (1, 2):
        R.eq(dnssec_read(ctx, zid, what=what), st, what + ": refresh %d, no diff" % i)
    return st


def dnssec_destroy(ctx, zid, what="hosted_zone_dnssec destroy"):
    """resourceHostedZoneDNSSECDelete: Disable; DNSSECNotFound/NoSuchHostedZone = success."""
    try:
        out = ctx.r53.disable_hosted_zone_dnssec(HostedZoneId=zid)
    except botocore.exceptions.ClientError as e:
        if tf_is(ctx, e, "DisableHostedZoneDNSSEC", "DNSSECNotFound") or \
                tf_is(ctx, e, "DisableHostedZoneDNSSEC", "NoSuchHostedZone"):
            return "gone"
        R.need(False, what + ": DisableHostedZoneDNSSEC", errtext(e))
    check_change_info(out.get("ChangeInfo"), what)
    wait_insync(ctx, out["ChangeInfo"]["Id"], what)
    # CheckDestroy: not found, or found and not SIGNING
    d = dnssec_find(ctx, zid)
    R.check(d is None or d["Status"].get("ServeSignature") != "SIGNING",
            what + ": not SIGNING afterwards (CheckDestroy)", d and d["Status"])
    return "disabled"


def dig_raw(ctx, qname, qtype, *opts):
    p = subprocess.run(
        [harness.DIG, "@127.0.0.1", "-p", str(ctx.dns_port), "+norec", "+nocookie", "+tries=1",
         "+timeout=2", "+nocmd", "+nostats", "+noall", "+answer", "-t", qtype, "-q", qname]
        + list(opts), stdout=-1, stderr=-2, timeout=20)
    return p.stdout.decode("utf-8", "replace")


def dig_answer(ctx, qname, qtype):
    """[(type, rdata with dig's chunking spaces in hex/base64 removed)] of the answer."""
    out = []
    for line in dig_raw(ctx, qname, qtype).splitlines():
        f = line.split()
        if len(f) >= 5 and not line.startswith(";"):
            rd = f[4:]
            if f[3] in ("DS", "DNSKEY") and len(rd) > 3:
                rd = rd[:3] + ["".join(rd[3:])]
            out.append((f[3], " ".join(rd)))
    return out


def dnssec_dns_checks(ctx, zname, ksk_states, what):
    """The zone as a resolver sees it: each active KSK's dnskey_record in the DNSKEY RRset;
    ldns-key2ds of the DNSKEY served gives the ds_record Terraform stores; delv (BIND's
    validator) validates www with that ds_record as the only trust anchor."""
    text = dig_raw(ctx, zname, "DNSKEY", "+dnssec")
    keys = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 8 and f[3] == "DNSKEY":
            rd = " ".join(f[4:7] + ["".join(f[7:])])
            keys[rd] = "%s %s IN DNSKEY %s" % (f[0], f[1], rd)
    R.check(any(" RRSIG " in x or "\tRRSIG\t" in x for x in text.splitlines()),
            what + ": DNSKEY RRset signed", text)
    tmp = tempfile.mkdtemp(prefix="tf-dnssec-")
    try:
        for st in ksk_states:
            R.check(st["dnskey_record"] in keys, what + ": %s's dnskey_record served"
                    % st["name"], "%s not in\n%s" % (st["dnskey_record"], text))
            if st["dnskey_record"] not in keys:
                continue
            kf = os.path.join(tmp, "k.key")
            with open(kf, "w") as f:
                f.write(keys[st["dnskey_record"]] + "\n")
            p = subprocess.run([LDNS_KEY2DS, "-n", "-2", kf], stdout=-1, stderr=-2, timeout=20)
            ds = p.stdout.decode().split()
            R.check(p.returncode == 0 and len(ds) >= 8 and ds[3] == "DS", what +
                    ": ldns-key2ds reads the served DNSKEY", p.stdout.decode())
            if len(ds) >= 8:
                R.eq("%s %s %s %s" % (ds[4], ds[5], ds[6], "".join(ds[7:]).upper()),
                     st["ds_record"], what + ": ldns-key2ds(served DNSKEY) = ds_record")
            tag, alg, dt, dg = st["ds_record"].split()
            ta = os.path.join(tmp, "anchor.conf")
            with open(ta, "w") as f:
                f.write('trust-anchors { %s static-ds %s %s %s "%s"; };\n'
                        % (zname, tag, alg, dt, dg))
            p = subprocess.run([DELV, "@127.0.0.1", "-p", str(ctx.dns_port), "-a", ta,
                        "+root=" + zname.rstrip("."), "www." + zname, "A"],
                       stdout=-1, stderr=-2, timeout=30)
            out = p.stdout.decode("utf-8", "replace")
            R.check(p.returncode == 0 and "; fully validated" in out and "192.0.2.53" in out,
                    what + ": delv validates www with %s's ds_record as trust anchor"
                    % st["name"], out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def dnssec_dns_unsigned(ctx, zname, what):
    text = dig_raw(ctx, "www." + zname, "A", "+dnssec")
    R.check("192.0.2.53" in text and "RRSIG" not in text, what + ": www answered unsigned",
            text)
    text = dig_raw(ctx, zname, "DNSKEY", "+dnssec")
    R.check("DNSKEY" not in text, what + ": no DNSKEY served", text)


# ------------------------------------------------------------------------------ scenarios

def scenario_main(ctx):
    zone = "replay.example"
    with ThreadPoolExecutor(10) as ex:       # zone and health checks: no dependency
        fz = ex.submit(zone_create, ctx, zone, tags={"env": "replay", "owner": "dns-team"})
        fh = ex.submit(hc_create, ctx, HC_CFG, {"Name": "primary-web"})
        fh2 = ex.submit(hc_create, ctx, HC_HTTPS, None, "web-default", HC_HTTPS_READ)
        fh3 = ex.submit(hc_create, ctx, HC_TCP)
        (zid, hz), (hcid, _), (hc2, _), (hc3, _) = fz.result(), fh.result(), fh2.result(), fh3.result()
    zname = hz["Name"]
    recs = {
        "primary": dict(name="www", type="A", ttl=60, records=["192.0.2.10"],
                        set_identifier="primary", failover="PRIMARY", health_check_id=hcid),
        "secondary": dict(name="www", type="A", ttl=60, records=["198.51.100.20"],
                          set_identifier="secondary", failover="SECONDARY"),
        "www6": dict(name="www", type="AAAA", ttl=300, records=["2001:db8::10"]),
        "simple": dict(name="simple", type="A", ttl=300, records=["192.0.2.1", "192.0.2.2"]),
        "wild": dict(name="*.wild", type="A", ttl=60, records=["192.0.2.40"]),
        "txt": dict(name="txt", type="TXT", ttl=300, records=["v=spf1 -all"]),
        "blue": dict(name="w", type="A", ttl=60, records=["192.0.2.31"], set_identifier="blue",
                     weight=100),
        "green": dict(name="w", type="A", ttl=60, records=["192.0.2.32"],
                      set_identifier="green", weight=0),
        "m1": dict(name="mv", type="A", ttl=60, records=["192.0.2.51"], set_identifier="m1",
                   multivalue=True),
        "m2": dict(name="mv", type="A", ttl=60, records=["192.0.2.52"], set_identifier="m2",
                   multivalue=True),
        "geo": dict(name="geo", type="A", ttl=60, records=["192.0.2.61"],
                    set_identifier="default", geo={"CountryCode": "*"}),
        "api": dict(name="api", type="CNAME", ttl=300, records=["simple.replay.example"]),
        "kind": dict(name="kind", type="A", ttl=60, records=["192.0.2.70"]),
        "ref": dict(name="ref", type="A", ttl=60, records=["192.0.2.80"],
                    health_check_id=hc3),
    }
    # ---- terraform apply (create): records in parallel, two of them race on www A
    log("main: create %d records in parallel" % len(recs))
    with ThreadPoolExecutor(10) as ex:
        futs = {k: ex.submit(rr_put, ctx, zid, r) for k, r in recs.items()}
        for k, f in futs.items():
            try:
                f.result()
            except Abort:
                pass
    recs["alias"] = dict(name="alias", type="A",
                         alias=dict(name="simple.replay.example", zone_id=zid, eth=False))
    try:
        rr_put(ctx, zid, recs["alias"])
    except Abort:
        pass

    # ---- terraform plan (refresh): no diff anywhere
    log("main: refresh")
    zone_read(ctx, zid, "Managed by Terraform", {"env": "replay", "owner": "dns-team"},
              "refresh zone")
    hc_read(ctx, hcid, HC_CFG, {"Name": "primary-web"}, "refresh hc")
    hc_read(ctx, hc2, HC_HTTPS_READ, {}, "refresh hc (defaults)")
    hc_read(ctx, hc3, HC_TCP, {}, "refresh hc (tcp)")
    for k, r in recs.items():
        got = rr_find(ctx, zid, r, "refresh " + k)
        if R.check(got is not None, "refresh %s: found" % k):
            rr_compare(r, got, zname, "refresh " + k)
    full = check_listing(ctx, zid, zname, "listing")
    R.eq(ctx.r53.get_hosted_zone(Id=zid)["HostedZone"].get("ResourceRecordSetCount"),
         len(full), "ResourceRecordSetCount equals the sets listed")

    # ---- DNS answers what Terraform created
    log("main: dig")
    if ctx.force_health:
        force_health(ctx, hcid, "healthy")
        dig_expect(ctx, "www." + zname, "A", ["192.0.2.10"], 60, "dig www A (primary healthy)", 3)
        force_health(ctx, hcid, "unhealthy")
        dig_expect(ctx, "www." + zname, "A", ["198.51.100.20"], 60,
                   "dig www A (primary unhealthy -> secondary)", 3)
        force_health(ctx, hcid, "healthy")
        dig_expect(ctx, "www." + zname, "A", ["192.0.2.10"], 60, "dig www A (back)", 3)
    else:
        d = ctx.dig("www." + zname, "A")
        R.check(d.status == "NOERROR" and [r[4] for r in d.answer] in
                (["192.0.2.10"], ["198.51.100.20"]), "dig www A (primary or secondary)", d.text)
    dig_expect(ctx, "www." + zname, "AAAA", ["2001:db8::10"], 300)
    dig_expect(ctx, "simple." + zname, "A", ["192.0.2.1", "192.0.2.2"], 300)
    dig_expect(ctx, "anything.wild." + zname, "A", ["192.0.2.40"], 60, "dig wildcard")
    dig_expect(ctx, "txt." + zname, "TXT", ['"v=spf1 -all"'], 300)
    for _ in range(5):
        dig_expect(ctx, "w." + zname, "A", ["192.0.2.31"], 60, "dig weighted (green weight 0)")
    dig_expect(ctx, "alias." + zname, "A", ["192.0.2.1", "192.0.2.2"], None, "dig alias A")
    dig_expect(ctx, "mv." + zname, "A", ["192.0.2.51", "192.0.2.52"], 60, "dig multivalue")
    dig_expect(ctx, "geo." + zname, "A", ["192.0.2.61"], 60, "dig geolocation default")
    dig_expect(ctx, "api." + zname, "CNAME", ["simple.replay.example."], 300, "dig CNAME")
    dig_expect(ctx, "ref." + zname, "A", ["192.0.2.80"], 60)

    # ---- pitfall 10: a health check still referenced by a record can be deleted
    try:
        ctx.r53.delete_health_check(HealthCheckId=hc3)
        R.check(True, "DeleteHealthCheck while a record references it")
    except botocore.exceptions.ClientError as e:
        R.check(False, "DeleteHealthCheck while a record references it (pitfall 10)", errtext(e))
    got = rr_find(ctx, zid, recs["ref"], "ref after its check is deleted")
    R.check(got and got.get("HealthCheckId") == hc3,
            "record keeps the HealthCheckId of the deleted check", got)
    dig_expect(ctx, "ref." + zname, "A", ["192.0.2.80"], 60,
               "dig record whose check is deleted (treated healthy)")

    # ---- terraform apply (update)
    log("main: update")
    zone_update_comment_and_tags(ctx, zid, {"env": "replay", "owner": "dns-team"},
                                 {"env": "replay2"}, "updated by replay")
    ctx.r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hcid,
                                     AddTags=[{"Key": "Name", "Value": "primary-web-2"}])
    ctx.r53.update_health_check(HealthCheckId=hcid, FailureThreshold=2, Port=8080)  # no version
    hcr = hc_read(ctx, hcid, dict(HC_CFG, FailureThreshold=2, Port=8080),
                  {"Name": "primary-web-2"}, "hc after update")
    # pitfall 9: "aws:" keys ignored or kept consistently (Terraform's IgnoreSystem skips them)
    try:
        ctx.r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hc2,
                                         AddTags=[{"Key": "aws:cloudformation:stack-name",
                                                   "Value": "x"}])
        t = list_tags(ctx, "healthcheck", hc2, "aws: tag")
        R.check(t in ({}, {"aws:cloudformation:stack-name": "x"}),
                "an aws: tag is either ignored or kept as given", t)
        if t:
            ctx.r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hc2,
                                             RemoveTagKeys=["aws:cloudformation:stack-name"])
            R.eq(list_tags(ctx, "healthcheck", hc2, "aws: tag removed"), {},
                 "an aws: tag kept can be removed")
        R.note("aws: tag keys are %s" % ("kept" if t else "ignored"))
    except botocore.exceptions.ClientError as e:
        R.check(code(e) == "InvalidInput" and http_status(e) == 400,
                "an aws: tag refused consistently (InvalidInput)", errtext(e))
        R.note("aws: tag keys are refused: %s" % errtext(e))
    R.eq(hcr.get("HealthCheckVersion"), 2, "HealthCheckVersion +1 after UpdateHealthCheck")
    recs["primary"] = dict(recs["primary"], ttl=120)
    rr_put(ctx, zid, recs["primary"], "UPSERT", "UPSERT primary TTL 120")
    recs["blue"] = dict(recs["blue"], weight=50)
    rr_put(ctx, zid, recs["blue"], "UPSERT", "UPSERT weight 50")
    recs["txt"] = dict(recs["txt"], records=["v=spf1 include:_spf.replay.example -all"])
    rr_put(ctx, zid, recs["txt"], "UPSERT", "UPSERT txt value")
    # set_identifier rename and type change: ONE batch [DELETE old-from-state, CREATE new]
    for key, new in (("secondary", dict(recs["secondary"], set_identifier="backup")),
                     ("kind", dict(recs["kind"], type="AAAA", records=["2001:db8::70"]))):
        old = expand_rrset(recs[key], zname)
        out = ctx.r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={
            "Comment": "Managed by Terraform",
            "Changes": [{"Action": "DELETE", "ResourceRecordSet": old},
                        {"Action": "CREATE", "ResourceRecordSet": expand_rrset(new, zname)}]})
        wait_insync(ctx, out["ChangeInfo"]["Id"], "update %s (DELETE+CREATE batch)" % key)
        R.check(rr_find(ctx, zid, dict(recs[key], _exists=False), key + " old gone") is None,
                "update %s: old set gone" % key)
        got = rr_find(ctx, zid, new, key + " new")
        if R.check(got is not None, "update %s: new set present" % key):
            rr_compare(new, got, zname, "update " + key)
        recs[key] = new
    for k, r in recs.items():   # refresh after update: no diff
        got = rr_find(ctx, zid, r, "refresh2 " + k)
        if R.check(got is not None, "refresh after update %s: found" % k):
            rr_compare(r, got, zname, "refresh after update " + k)
    check_listing(ctx, zid, zname, "listing after update")
    if ctx.force_health:
        dig_expect(ctx, "www." + zname, "A", ["192.0.2.10"], 120, "dig www A after UPSERT", 3)
    dig_expect(ctx, "kind." + zname, "AAAA", ["2001:db8::70"], 60, "dig type-changed record")
    dig_expect(ctx, "kind." + zname, "A", [], None, "dig type-changed record: old type gone")
    dig_expect(ctx, "txt." + zname, "TXT", ['"v=spf1 include:_spf.replay.example -all"'], 300)

    # ---- terraform destroy: reverse dependency order: the alias first (its HCL names
    # simple's fqdn), then the other records in parallel, then zone and checks in parallel
    log("main: destroy")
    try:
        rr_delete(ctx, zid, recs["alias"])
    except Abort:
        pass
    with ThreadPoolExecutor(10) as ex:
        for f in [ex.submit(rr_delete, ctx, zid, r) for k, r in recs.items() if k != "alias"]:
            try:
                f.result()
            except Abort:
                pass
    # a DELETE of a set already gone: InvalidChangeBatch (Terraform ignores it; pitfall 2)
    gone = expand_rrset(recs["simple"], zname)
    e = expect_error("DELETE of a missing set", "InvalidChangeBatch", 400,
                     ctx.r53.change_resource_record_sets, HostedZoneId=zid,
                     ChangeBatch={"Comment": "Deleted by Terraform",
                                  "Changes": [{"Action": "DELETE", "ResourceRecordSet": gone}]})
    if e is not None:
        R.check("but it was not found" in e.response["Error"].get("Message", ""),
                "InvalidChangeBatch message names the missing set", e.response["Error"])
    dig_expect(ctx, "simple." + zname, "A", None, None, "dig destroyed record: NXDOMAIN")
    R.eq(ctx.r53.get_hosted_zone(Id=zid)["HostedZone"].get("ResourceRecordSetCount"), 2,
         "only SOA and NS left before the zone delete")
    with ThreadPoolExecutor(10) as ex:
        fs = [ex.submit(zone_delete, ctx, zid), ex.submit(hc_delete, ctx, hcid),
              ex.submit(hc_delete, ctx, hc2), ex.submit(hc_delete, ctx, hc3)]
        for f in fs:
            f.result()
    dig_expect(ctx, zname, "SOA", "REFUSED", None, "dig deleted zone: REFUSED")


def scenario_private(ctx):
    zone = "private.replay.test"
    vpc1 = {"VPCRegion": "us-east-1", "VPCId": "vpc-0replay1"}
    vpc2 = {"VPCRegion": "us-east-1", "VPCId": "vpc-0replay2"}
    zid, hz = zone_create(ctx, zone, vpc=vpc1)
    out = ctx.r53.get_hosted_zone(Id=zid)
    R.eq(out["HostedZone"]["Config"].get("PrivateZone"), True, "VPC without PrivateZone: private")
    R.eq([(v.get("VPCId"), v.get("VPCRegion")) for v in out.get("VPCs", [])],
         [("vpc-0replay1", "us-east-1")], "GetHostedZone VPCs")
    sets = all_rrsets(ctx, zid, None, "private zone")
    R.eq(sorted((r["Name"], r["Type"]) for r in sets), [(hz["Name"], "NS"), (hz["Name"], "SOA")],
         "private zone has apex NS and SOA")
    ns = next((r for r in sets if r["Type"] == "NS"), {})
    R.check(all(not v["Value"].rstrip(".").endswith(zone) for v in ns.get("ResourceRecords", [])),
            "private zone NS values are name servers, not record names (TPA#37681)", ns)
    # aws_route53_zone_association
    a = ctx.r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=vpc2,
                                               Comment="Managed by Terraform")
    check_change_info(a.get("ChangeInfo"), "AssociateVPCWithHostedZone")
    wait_insync(ctx, a["ChangeInfo"]["Id"], "AssociateVPCWithHostedZone")
    by = ctx.r53.list_hosted_zones_by_vpc(VPCId=vpc2["VPCId"], VPCRegion=vpc2["VPCRegion"])
    s = [x for x in by.get("HostedZoneSummaries", []) if x.get("HostedZoneId") == zid]
    R.check(s, "ListHostedZonesByVPC: HostedZoneId bare and equal to the zone id (pitfall 12)",
            by.get("HostedZoneSummaries"))
    if s:
        R.check(s[0].get("Owner", {}).get("OwningAccount"),
                "ListHostedZonesByVPC: Owner.OwningAccount present (pitfall 12)", s[0])
        R.eq(s[0].get("Name"), hz["Name"], "ListHostedZonesByVPC: Name")
    out = ctx.r53.get_hosted_zone(Id=zid)
    R.eq(sorted(v.get("VPCId") for v in out.get("VPCs", [])), ["vpc-0replay1", "vpc-0replay2"],
         "GetHostedZone lists both VPCs")
    zone_read(ctx, zid, "Managed by Terraform", {}, "private zone read")
    # aws_route53_vpc_association_authorization (pitfall 12)
    try:
        c = ctx.r53.create_vpc_association_authorization(
            HostedZoneId=zid, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-0replay3"})
        R.eq(c.get("HostedZoneId"), zid, "CreateVPCAssociationAuthorization: bare HostedZoneId")
        R.eq(c.get("VPC", {}).get("VPCId"), "vpc-0replay3",
             "CreateVPCAssociationAuthorization: VPC.VPCId")
        la = ctx.r53.list_vpc_association_authorizations(HostedZoneId=zid)
        R.check(any(v.get("VPCId") == "vpc-0replay3" for v in la.get("VPCs", [])),
                "ListVPCAssociationAuthorizations lists it", la)
        ctx.r53.delete_vpc_association_authorization(
            HostedZoneId=zid, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-0replay3"})
    except botocore.exceptions.ClientError as e:
        if code(e) == "NotImplemented":
            R.eq(http_status(e), 501, "VPC association authorisation: NotImplemented is 501")
            R.note("VPC association authorisation not implemented (501 NotImplemented)")
        else:
            R.check(False, "VPC association authorisation", errtext(e))
    d = ctx.r53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC=vpc2,
                                                  Comment="Managed by Terraform")
    wait_insync(ctx, d["ChangeInfo"]["Id"], "DisassociateVPCFromHostedZone")
    by = ctx.r53.list_hosted_zones_by_vpc(VPCId=vpc2["VPCId"], VPCRegion=vpc2["VPCRegion"])
    R.check(not any(x.get("HostedZoneId") == zid for x in by.get("HostedZoneSummaries", [])),
            "ListHostedZonesByVPC: gone after disassociation", by)
    expect_error("DisassociateVPCFromHostedZone again (Terraform: success)",
                 "VPCAssociationNotFound", 404, ctx.r53.disassociate_vpc_from_hosted_zone,
                 HostedZoneId=zid, VPC=vpc2)
    zone_delete(ctx, zid, "private zone delete")


def scenario_force_destroy(ctx):
    zone = "force.replay.test"
    zid, hz = zone_create(ctx, zone, tags={"env": "force"})
    zname = hz["Name"]
    n = 250
    changes = [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": "h%03d.%s" % (i, zone), "Type": "A", "TTL": 60,
        "ResourceRecords": [{"Value": "192.0.2.%d" % (i % 250 + 1)}]}} for i in range(n)]
    changes += [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "\\052.%s" % zone, "Type": "TXT",
                                                   "TTL": 60, "ResourceRecords": [{"Value": '"w"'}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "wt.%s" % zone, "Type": "A", "TTL": 60,
                                                   "SetIdentifier": "a", "Weight": 1,
                                                   "ResourceRecords": [{"Value": "192.0.2.1"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "wt.%s" % zone, "Type": "A", "TTL": 60,
                                                   "SetIdentifier": "b", "Weight": 2,
                                                   "ResourceRecords": [{"Value": "192.0.2.2"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "al.%s" % zone, "Type": "A",
                                                   "AliasTarget": {"HostedZoneId": zid,
                                                                   "DNSName": "h001.%s" % zone,
                                                                   "EvaluateTargetHealth": False}}},
    ]
    for i in range(0, len(changes), 100):
        out = ctx.r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={
            "Comment": "setup", "Changes": changes[i:i + 100]})
        wait_insync(ctx, out["ChangeInfo"]["Id"], "force_destroy setup batch")
    total = len(changes) + 2
    R.eq(ctx.r53.get_hosted_zone(Id=zid)["HostedZone"].get("ResourceRecordSetCount"), total,
         "ResourceRecordSetCount after setup")
    dig_expect(ctx, "h007." + zname, "A", ["192.0.2.8"], 60)
    # a destroy without force_destroy: HostedZoneNotEmpty (Terraform shows the error)
    expect_error("DeleteHostedZone of a non-empty zone", "HostedZoneNotEmpty", 400,
                 ctx.r53.delete_hosted_zone, Id=zid)
    # force_destroy: D1 .. D7
    ctx.r53.get_hosted_zone(Id=zid)
    sets = all_rrsets(ctx, zid, None, "force_destroy D3")
    R.eq(len(sets), total, "force_destroy D3: every set listed")
    dels = [r for r in sets if not (r["Name"] == zname and r["Type"] in ("NS", "SOA"))]
    for i in range(0, len(dels), 100):
        try:
            out = ctx.r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={
                "Comment": "Deleted by Terraform",
                "Changes": [{"Action": "DELETE", "ResourceRecordSet": r} for r in dels[i:i + 100]]})
        except botocore.exceptions.ClientError as e:
            R.need(False, "force_destroy D4: DELETE chunk of sets exactly as listed", errtext(e))
        wait_insync(ctx, out["ChangeInfo"]["Id"], "force_destroy D4")
    R.eq(ctx.r53.get_hosted_zone(Id=zid)["HostedZone"].get("ResourceRecordSetCount"), 2,
         "force_destroy: only SOA and NS left")
    dig_expect(ctx, "h007." + zname, "A", None, None, "dig after force_destroy deletes: NXDOMAIN")
    zone_delete(ctx, zid, "force_destroy D5-D7")
    dig_expect(ctx, "h007." + zname, "A", "REFUSED", None, "dig deleted zone: REFUSED")


def scenario_cidr(ctx):
    name = "replay-offices"
    out = ctx.r53.create_cidr_collection(Name=name, CallerReference=tf_unique_id())
    col = out["Collection"]
    cid = col.get("Id", "")
    R.eq(out["ResponseMetadata"]["HTTPStatusCode"], 201, "CreateCidrCollection: HTTP 201")
    R.check(UUID_RE.match(cid), "CreateCidrCollection: Id is a UUID", cid)
    R.eq(col.get("Arn"), "arn:aws:route53:::cidrcollection/" + cid,
         "CreateCidrCollection: ARN without account (pitfall 11)")
    R.eq(col.get("Version"), 1, "CreateCidrCollection: Version 1")
    R.eq(col.get("Name"), name, "CreateCidrCollection: Name")

    def read_collection():
        kw, found = {}, None
        for _ in range(1000):
            p = ctx.r53.list_cidr_collections(**kw)
            for c in p.get("CidrCollections", []):
                if c.get("Id") == cid:
                    found = c
            if not p.get("NextToken"):
                break
            kw["NextToken"] = p["NextToken"]
        R.need(found, "ListCidrCollections finds the collection")
        R.eq(found.get("Arn"), col.get("Arn"), "ListCidrCollections: Arn")
        R.eq(found.get("Name"), name, "ListCidrCollections: Name")
        return found

    def blocks(loc):
        kw, out = dict(CollectionId=cid, LocationName=loc), []
        for _ in range(1000):
            p = ctx.r53.list_cidr_blocks(**kw)
            out += [b["CidrBlock"] for b in p.get("CidrBlocks", [])]
            if not p.get("NextToken"):
                break
            kw["NextToken"] = p["NextToken"]
        return sorted(out)

    # aws_route53_cidr_location create: ListCidrCollections -> ChangeCidrCollection PUT
    v = read_collection()["Version"]
    ctx.r53.change_cidr_collection(Id=cid, CollectionVersion=v, Changes=[
        {"Action": "PUT", "LocationName": "office", "CidrList": ["127.0.0.0/24", "192.0.2.0/24"]}])
    v2 = read_collection()["Version"]
    R.eq(v2, v + 1, "ChangeCidrCollection: Version +1")
    R.eq(blocks("office"), ["127.0.0.0/24", "192.0.2.0/24"], "ListCidrBlocks after PUT")
    # stale CollectionVersion
    expect_error("ChangeCidrCollection with a stale version",
                 "CidrCollectionVersionMismatchException", 409, ctx.r53.change_cidr_collection,
                 Id=cid, CollectionVersion=v, Changes=[
                     {"Action": "PUT", "LocationName": "office", "CidrList": ["10.0.0.0/8"]}])
    # update: PUT added (with version), DELETE_IF_EXISTS removed (version omitted)
    ctx.r53.change_cidr_collection(Id=cid, CollectionVersion=v2, Changes=[
        {"Action": "PUT", "LocationName": "office", "CidrList": ["198.51.100.0/24"]}])
    ctx.r53.change_cidr_collection(Id=cid, Changes=[
        {"Action": "DELETE_IF_EXISTS", "LocationName": "office", "CidrList": ["192.0.2.0/24"]}])
    ctx.r53.change_cidr_collection(Id=cid, Changes=[   # idempotent
        {"Action": "DELETE_IF_EXISTS", "LocationName": "office", "CidrList": ["192.0.2.0/24"]}])
    R.eq(blocks("office"), ["127.0.0.0/24", "198.51.100.0/24"], "ListCidrBlocks after update")
    R.check(read_collection()["Version"] > v2, "Version rises on each change")
    locs = ctx.r53.list_cidr_locations(CollectionId=cid)
    R.eq([x.get("LocationName") for x in locs.get("CidrLocations", [])], ["office"],
         "ListCidrLocations")
    try:
        R.eq(blocks("nowhere"), [], "ListCidrBlocks of an unknown location: empty")
    except botocore.exceptions.ClientError as e:
        R.eq(code(e), "NoSuchCidrLocationException", "ListCidrBlocks of an unknown location")
    # a CIDR-routed record (aws_route53_record cidr_routing_policy)
    zid, hz = zone_create(ctx, "cidr.replay.test")
    zname = hz["Name"]
    office = dict(name="office", type="A", ttl=60, records=["192.0.2.91"], set_identifier="office",
                  cidr={"CollectionId": cid, "LocationName": "office"})
    default = dict(name="office", type="A", ttl=60, records=["192.0.2.92"], set_identifier="other",
                   cidr={"CollectionId": cid, "LocationName": "*"})
    for r in (office, default):
        rr_put(ctx, zid, r)
    dig_expect(ctx, "office." + zname, "A", ["192.0.2.91"], 60,
               "dig CIDR-routed record from 127.0.0.1 (location office)")
    expect_error("DeleteCidrCollection while non-empty", "CidrCollectionInUseException", 400,
                 ctx.r53.delete_cidr_collection, Id=cid)
    # destroy: records, location (DELETE_IF_EXISTS of the blocks in state), collection
    for r in (office, default):
        rr_delete(ctx, zid, r)
    zone_delete(ctx, zid, "cidr zone delete")
    v = read_collection()["Version"]
    ctx.r53.change_cidr_collection(Id=cid, CollectionVersion=v, Changes=[
        {"Action": "DELETE_IF_EXISTS", "LocationName": "office",
         "CidrList": ["127.0.0.0/24", "198.51.100.0/24"]}])
    ctx.r53.delete_cidr_collection(Id=cid)
    expect_error("DeleteCidrCollection again (Terraform: success)",
                 "NoSuchCidrCollectionException", 404, ctx.r53.delete_cidr_collection, Id=cid)
    expect_error("ListCidrBlocks of a deleted collection", "NoSuchCidrCollectionException", 404,
                 ctx.r53.list_cidr_blocks, CollectionId=cid, LocationName="office")


def scenario_dnssec(ctx):
    """aws_route53_key_signing_key + aws_route53_hosted_zone_dnssec (§8, §9), with a DS record
    in the parent zone (aws_route53_record type DS from ds_record), checked with dig,
    ldns-key2ds and delv."""
    pzid, phz = zone_create(ctx, "tfsec.test")
    zid, hz = zone_create(ctx, "child.tfsec.test")
    zname = hz["Name"]
    www = dict(name="www", type="A", ttl=300, records=["192.0.2.53"])
    rr_put(ctx, zid, www)
    # the acceptance test's names: sdkacctest.RandomWithPrefix("tf-acc-test")
    k1 = {"hosted_zone_id": zid, "name": "tf-acc-test-%d" % (uuid.uuid4().int % 10 ** 18),
          "key_management_service_arn": kms_arn(), "status": "ACTIVE"}
    s1 = ksk_create(ctx, k1, "create KSK 1 (ACTIVE, the default)")
    d = dnssec_apply(ctx, zid, "SIGNING", True, "hosted_zone_dnssec create (SIGNING)")
    dnssec_dns_checks(ctx, zname, [s1], "signing with KSK 1")
    # the parent's delegation: aws_route53_record NS (records = the child zone's
    # name_servers) and DS (records = [aws_route53_key_signing_key.ds_record])
    ns = ctx.r53.get_hosted_zone(Id=zid)["DelegationSet"]["NameServers"]
    ns_rec = dict(name="child", type="NS", ttl=172800, records=sorted(ns))
    rr_put(ctx, pzid, ns_rec, what="parent NS record (delegation)")
    ds_rec = dict(name="child", type="DS", ttl=300, records=[s1["ds_record"]])
    rr_put(ctx, pzid, ds_rec, what="parent DS record from ds_record")
    ans = dig_answer(ctx, zname, "DS")
    R.eq(ans, [("DS", s1["ds_record"])], "dig DS of the child: the parent's DS record answers")

    # KSK 1 -> INACTIVE while it is the only active KSK of a signed zone: apply fails
    e = expect_error("update KSK 1 -> INACTIVE, the zone's only active KSK, while signing",
                     "KeySigningKeyInUse", 400, ctx.r53.deactivate_key_signing_key,
                     HostedZoneId=zid, Name=k1["name"])
    if e is not None:
        tf_is(ctx, e, "DeactivateKeySigningKey", "KeySigningKeyInUse")
    R.eq(ksk_read(ctx, zid, k1["name"], what="KSK 1 after the refused deactivation"), s1,
         "KSK 1 unchanged by the refused deactivation")
    # a second KSK (its create request as the Go SDK v2 writes it: XML declaration, other
    # member order), then KSK 1 INACTIVE and back ACTIVE while signing
    k2 = {"hosted_zone_id": zid, "name": "tf_ksk_2", "key_management_service_arn": kms_arn(),
          "status": "ACTIVE"}
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<CreateKeySigningKeyRequest xmlns="%s">'
            '<Status>%s</Status><Name>%s</Name><KeyManagementServiceArn>%s'
            '</KeyManagementServiceArn><HostedZoneId>%s</HostedZoneId><CallerReference>%s'
            '</CallerReference></CreateKeySigningKeyRequest>'
            % (XMLNS, k2["status"], k2["name"], k2["key_management_service_arn"], zid,
               tf_unique_id())).encode()
    st, rh, data = ctx.raw("POST", "/2013-04-01/keysigningkey", body,
                           dict(GO_HEADERS, **{"Content-Length": str(len(body))}))
    R.need(st == 201, "Go-SDK-style CreateKeySigningKey: 201", "%s %r" % (st, data[:400]))
    root = xml_root(data, "CreateKeySigningKeyResponse")
    R.need(root is not None and root.tag == NS + "CreateKeySigningKeyResponse",
           "CreateKeySigningKeyResponse root")
    R.check(rh.get("location"), "CreateKeySigningKey: Location header")
    wait_insync(ctx, root.findtext(NS + "ChangeInfo/" + NS + "Id"), "create KSK 2")
    ksk_wait_status(ctx, zid, k2["name"], "ACTIVE", "create KSK 2")
    s2 = ksk_read(ctx, zid, k2["name"], new=True, what="create KSK 2 (read)")
    ksk_plan(ctx, k2, s2, "create KSK 2, plan")
    R.check(s2["key_tag"] != s1["key_tag"] or s2["public_key"] != s1["public_key"],
            "KSK 2 is another key")
    dnssec_dns_checks(ctx, zname, [s1, s2], "signing with KSKs 1 and 2")
    k1, s1 = ksk_update(ctx, k1, s1, "INACTIVE", "update KSK 1 -> INACTIVE (KSK 2 active)")
    dnssec_dns_checks(ctx, zname, [s2], "signing with KSK 2, KSK 1 inactive")
    k1, s1 = ksk_update(ctx, k1, s1, "ACTIVE", "update KSK 1 -> ACTIVE again")
    dnssec_dns_checks(ctx, zname, [s1, s2], "KSK 1 active again")
    R.eq(ksk_destroy(ctx, k2, s2["status"], "destroy KSK 2 (ACTIVE: deactivate, delete)"),
         "deleted", "KSK 2 destroyed")
    dnssec_dns_checks(ctx, zname, [s1], "KSK 2 destroyed")
    R.eq(dnssec_read(ctx, zid), d, "hosted_zone_dnssec unchanged by the KSK changes")

    # signing_status SIGNING -> NOT_SIGNING -> SIGNING
    # (TestAccRoute53HostedZoneDNSSEC_signingStatus)
    d = dnssec_apply(ctx, zid, "NOT_SIGNING", False)
    dnssec_dns_unsigned(ctx, zname, "NOT_SIGNING")
    R.eq(ksk_read(ctx, zid, k1["name"], what="KSK 1 while not signing"), s1,
         "KSK 1 unchanged by DisableHostedZoneDNSSEC")
    d = dnssec_apply(ctx, zid, "SIGNING", False)
    dnssec_dns_checks(ctx, zname, [s1], "signing again")
    # destroy the DNSSEC resource, then create it with signing_status NOT_SIGNING: Disable on
    # a zone that is not signing must succeed (the create path tolerates no error)
    R.eq(dnssec_destroy(ctx, zid), "disabled", "hosted_zone_dnssec destroyed")
    dnssec_dns_unsigned(ctx, zname, "after the DNSSEC resource's destroy")
    d = dnssec_apply(ctx, zid, "NOT_SIGNING", True, "hosted_zone_dnssec create (NOT_SIGNING)")
    R.check(dnssec_destroy(ctx, zid, "hosted_zone_dnssec (NOT_SIGNING) destroy")
            in ("disabled", "gone"), "destroy of a NOT_SIGNING hosted_zone_dnssec")
    # destroy order: the DS record (depends on the KSK), then the KSK
    rr_delete(ctx, pzid, ds_rec, "destroy the parent DS record")
    rr_delete(ctx, pzid, ns_rec, "destroy the parent NS record")
    R.eq(ksk_destroy(ctx, k1, s1["status"], "destroy KSK 1 (ACTIVE: deactivate, delete)"),
         "deleted", "KSK 1 destroyed")

    # TestAccRoute53KeySigningKey_status: created INACTIVE, -> ACTIVE -> INACTIVE, destroyed
    # with state INACTIVE (no DeactivateKeySigningKey)
    k3 = {"hosted_zone_id": zid, "name": "tf-acc-test-%d" % (uuid.uuid4().int % 10 ** 18),
          "key_management_service_arn": kms_arn(), "status": "INACTIVE"}
    s3 = ksk_create(ctx, k3, "create KSK 3 (INACTIVE)")
    k3, s3 = ksk_update(ctx, k3, s3, "ACTIVE", "update KSK 3 -> ACTIVE (not signing)")
    k3, s3 = ksk_update(ctx, k3, s3, "INACTIVE", "update KSK 3 -> INACTIVE (not signing)")
    R.eq(ksk_destroy(ctx, k3, s3["status"], "destroy KSK 3 (INACTIVE: delete only)"),
         "deleted", "KSK 3 destroyed")
    dnssec_not_signing(ctx, zid, "after every KSK is destroyed")

    # deleted outside Terraform (TestAcc..._disappears): the refresh drops the KSK, shows the
    # DNSSEC resource NOT_SIGNING (a diff to SIGNING, not an error); apply brings both back
    k4 = {"hosted_zone_id": zid, "name": "tf_ksk_4", "key_management_service_arn": kms_arn(),
          "status": "ACTIVE"}
    s4 = ksk_create(ctx, k4, "create KSK 4")
    dnssec_apply(ctx, zid, "SIGNING", True, "hosted_zone_dnssec create (SIGNING) with KSK 4")
    out = ctx.r53.disable_hosted_zone_dnssec(HostedZoneId=zid)            # out of band
    wait_insync(ctx, out["ChangeInfo"]["Id"], "out-of-band disable")
    out = ctx.r53.deactivate_key_signing_key(HostedZoneId=zid, Name=k4["name"])
    wait_insync(ctx, out["ChangeInfo"]["Id"], "out-of-band deactivate")
    out = ctx.r53.delete_key_signing_key(HostedZoneId=zid, Name=k4["name"])
    wait_insync(ctx, out["ChangeInfo"]["Id"], "out-of-band delete")
    R.eq(ksk_read(ctx, zid, k4["name"], what="refresh after out-of-band KSK delete"), None,
         "KSK deleted outside Terraform: refresh removes it from state (no error)")
    R.eq(dnssec_read(ctx, zid, what="refresh after out-of-band disable"),
         {"hosted_zone_id": zid, "signing_status": "NOT_SIGNING"},
         "DNSSEC disabled outside Terraform: refresh reads NOT_SIGNING (plan: update)")
    s4b = ksk_create(ctx, k4, "re-create KSK 4 after its out-of-band delete")
    R.check(s4b["public_key"] != s4["public_key"], "the re-created KSK is a new key")
    dnssec_apply(ctx, zid, "SIGNING", False, "hosted_zone_dnssec update back to SIGNING")
    dnssec_dns_checks(ctx, zname, [s4b], "signing with the re-created KSK 4")

    # the zone deleted outside Terraform (DNSSEC disabled first: a signing zone cannot be
    # deleted), KSK 4 left in it: refresh drops both resources; so does a destroy run with
    # -refresh=false (Deactivate answers a code Terraform takes for "gone")
    out = ctx.r53.disable_hosted_zone_dnssec(HostedZoneId=zid)
    wait_insync(ctx, out["ChangeInfo"]["Id"], "out-of-band disable before the zone delete")
    rr_delete(ctx, zid, www, "out-of-band delete of www")
    try:
        out = ctx.r53.delete_hosted_zone(Id=zid)
        wait_insync(ctx, out["ChangeInfo"]["Id"], "out-of-band zone delete")
    except botocore.exceptions.ClientError as e:
        R.need(False, "DeleteHostedZone of a zone with a KSK, not signing", errtext(e))
    R.eq(ksk_read(ctx, zid, k4["name"], what="refresh after the zone's delete"), None,
         "zone deleted outside Terraform: KSK refresh removes it (NoSuchHostedZone)")
    R.eq(dnssec_read(ctx, zid, what="refresh after the zone's delete"), None,
         "zone deleted outside Terraform: DNSSEC refresh removes it (NoSuchHostedZone)")
    R.eq(dnssec_destroy(ctx, zid, "hosted_zone_dnssec destroy, zone gone"), "gone",
         "hosted_zone_dnssec destroy with -refresh=false after the zone's delete")
    R.eq(ksk_destroy(ctx, k4, "ACTIVE", "KSK destroy, zone gone"), "gone",
         "KSK destroy with -refresh=false after the zone's delete")
    zone_delete(ctx, pzid, "parent zone delete")


def xml_root(data, what):
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        R.check(False, what + ": well-formed XML", "%s: %r" % (e, data[:300]))
        return None


def check_error_response(ctx, st, hdrs, data, want_status, want_code, what):
    """Pitfall 2: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>."""
    R.eq(st, want_status, what + ": HTTP status")
    root = xml_root(data, what)
    if root is None:
        return
    R.eq(root.tag, NS + "ErrorResponse", what + ": root element with the Route 53 xmlns")
    R.eq(root.findtext(NS + "Error/" + NS + "Code"), want_code, what + ": Error/Code")
    R.eq(root.findtext(NS + "Error/" + NS + "Type"), "Sender", what + ": Error/Type")
    R.check(root.findtext(NS + "Error/" + NS + "Message"), what + ": Error/Message present")
    rid = root.findtext(NS + "RequestId")
    R.check(rid, what + ": RequestId in the body")
    R.eq(hdrs.get("x-amzn-requestid"), rid, what + ": x-amzn-RequestId header = body RequestId")


GO_HEADERS = {"Content-Type": "application/xml", "amz-sdk-request": "attempt=1; max=25",
              "User-Agent": "APN/1.0 HashiCorp/1.0 Terraform/1.9.0 aws-sdk-go-v2/1.30.0"}


def scenario_wire(ctx):
    zone = "wire.replay.test"
    zid, hz = zone_create(ctx, zone)
    zname = hz["Name"]
    # Go SDK v2 style: XML declaration, another member order, names as typed, more headers
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Changes>'
            '<Change><ResourceRecordSet><ResourceRecords><ResourceRecord><Value>192.0.2.80</Value>'
            '</ResourceRecord></ResourceRecords><TTL>60</TTL><Type>A</Type>'
            '<Name>\\052.Star.WIRE.replay.test</Name></ResourceRecordSet><Action>CREATE</Action>'
            '</Change><Change><Action>CREATE</Action><ResourceRecordSet><Type>TXT</Type>'
            '<Name>MiXeD.Wire.Replay.Test.</Name><TTL>30</TTL><ResourceRecords><ResourceRecord>'
            '<Value>"a b" "c&amp;d"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>'
            '</Change><Change><ResourceRecordSet><SetIdentifier>one</SetIdentifier><Weight>5</Weight>'
            '<ResourceRecords><ResourceRecord><Value>192.0.2.81</Value></ResourceRecord>'
            '</ResourceRecords><Name>weighted.wire.replay.test</Name><TTL>60</TTL><Type>A</Type>'
            '</ResourceRecordSet><Action>UPSERT</Action></Change></Changes>'
            '<Comment>Managed by Terraform</Comment></ChangeBatch></ChangeResourceRecordSetsRequest>'
            % XMLNS).encode()
    hdrs = dict(GO_HEADERS, **{"Content-Length": str(len(body)),
                               "amz-sdk-invocation-id": str(uuid.uuid4()),
                               "X-Amz-Content-Sha256": hashlib.sha256(body).hexdigest()})
    st, rh, data = ctx.raw("POST", "/2013-04-01/hostedzone/%s/rrset" % zid, body, hdrs)
    R.need(st == 200, "Go-SDK-style ChangeResourceRecordSets (other member order, XML "
           "declaration, /rrset without slash, more signed headers; pitfalls 1, 16)",
           "%s %r" % (st, data[:500]))
    root = xml_root(data, "ChangeResourceRecordSetsResponse")
    if root is not None:
        R.eq(root.tag, NS + "ChangeResourceRecordSetsResponse", "response root with xmlns")
        ci = root.find(NS + "ChangeInfo")
        R.check(ci is not None, "response ChangeInfo")
        if ci is not None:
            R.check(ISO_MS.match(ci.findtext(NS + "SubmittedAt") or ""),
                    "SubmittedAt ISO 8601 UTC with milliseconds (pitfall 4)",
                    ci.findtext(NS + "SubmittedAt"))
            R.eq(ci.findtext(NS + "Comment"), "Managed by Terraform", "ChangeInfo Comment")
            wait_insync(ctx, ci.findtext(NS + "Id"), "Go-SDK-style batch")
    R.check(rh.get("x-amzn-requestid"), "x-amzn-RequestId header on success")
    R.check("xml" in rh.get("content-type", ""), "Content-Type text/xml", rh.get("content-type"))
    names = {(r["Name"], r["Type"]): r for r in all_rrsets(ctx, zid, None, "wire list")}
    R.check(("\\052.star.wire.replay.test.", "A") in names,
            "\\052 and upper case in: listed as \\052.star.wire.replay.test.", sorted(names))
    R.check(("mixed.wire.replay.test.", "TXT") in names,
            "name with trailing dot and upper case: listed lower-case", sorted(names))
    t = names.get(("mixed.wire.replay.test.", "TXT"))
    if t:
        R.eq([v["Value"] for v in t["ResourceRecords"]], ['"a b" "c&d"'],
             "TXT value byte for byte (pitfall 15)")
    dig_expect(ctx, "x.star." + zname, "A", ["192.0.2.80"], 60, "dig wildcard created with \\052")
    dig_expect(ctx, "mixed." + zname, "TXT", ['"a b" "c&d"'], 30)
    dig_expect(ctx, "weighted." + zname, "A", ["192.0.2.81"], 60)
    # botocore with the same names in other spellings finds them (MaxItems 1 lookups)
    for start in ("*.star.wire.replay.test", "\\052.STAR.wire.replay.test."):
        p = ctx.r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName=start,
                                              StartRecordType="A", MaxItems="1")
        R.eq([(r["Name"], r["Type"]) for r in p["ResourceRecordSets"]],
             [("\\052.star.wire.replay.test.", "A")], "StartRecordName %r" % start)

    # ErrorResponse shapes and codes (pitfall 2)
    st, rh, data = ctx.raw("GET", "/2013-04-01/hostedzone/ZNOSUCHZONE0000000000")
    check_error_response(ctx, st, rh, data, 404, "NoSuchHostedZone", "GetHostedZone unknown")
    st, rh, data = ctx.raw("GET", "/2013-04-01/change/CNOSUCHCHANGE000000000")
    check_error_response(ctx, st, rh, data, 404, "NoSuchChange", "GetChange unknown")
    st, rh, data = ctx.raw("GET", "/2013-04-01/healthcheck/%s" % uuid.uuid4())
    check_error_response(ctx, st, rh, data, 404, "NoSuchHealthCheck", "GetHealthCheck unknown")
    st, rh, data = ctx.raw("GET", "/2013-04-01/tags/hostedzone/ZNOSUCHZONE0000000000")
    check_error_response(ctx, st, rh, data, 404, "NoSuchHostedZone", "ListTagsForResource unknown")
    bad = ('<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Changes><Change>'
           '<Action>DELETE</Action><ResourceRecordSet><Name>nope.%s</Name><Type>A</Type>'
           '<TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value>'
           '</ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes>'
           '</ChangeBatch></ChangeResourceRecordSetsRequest>' % (XMLNS, zone))
    st, rh, data = ctx.raw("POST", "/2013-04-01/hostedzone/%s/rrset/" % zid, bad)
    check_error_response(ctx, st, rh, data, 400, "InvalidChangeBatch", "DELETE of a missing set")
    st, rh, data = ctx.raw("POST", "/2013-04-01/hostedzone/%s/rrset/" % zid,
                           "<ChangeResourceRecordSetsRequest><ChangeBatch><Chan")
    check_error_response(ctx, st, rh, data, 400, "MalformedInput", "malformed XML")
    for fn, kw, want, status in (
            (ctx.r53.get_hosted_zone, {"Id": "ZNOSUCHZONE0000000000"}, "NoSuchHostedZone", 404),
            (ctx.r53.get_change, {"Id": "CNOSUCHCHANGE000000000"}, "NoSuchChange", 404),
            (ctx.r53.get_health_check, {"HealthCheckId": str(uuid.uuid4())}, "NoSuchHealthCheck",
             404)):
        e = expect_error("boto3 %s" % want, want, status, fn, **kw)
        if e is not None:
            R.check(isinstance(e, getattr(ctx.r53.exceptions, want)),
                    "boto3 raises client.exceptions.%s" % want, type(e))
    expect_error("ListResourceRecordSets type without name", "InvalidInput", 400,
                 ctx.r53.list_resource_record_sets, HostedZoneId=zid, StartRecordType="A")

    # atomic batches (pitfall 7): one bad change, nothing applied; all messages collected
    ok = {"Action": "CREATE", "ResourceRecordSet": {"Name": "new." + zone, "Type": "A", "TTL": 60,
                                                    "ResourceRecords": [{"Value": "192.0.2.99"}]}}
    dup = {"Action": "CREATE", "ResourceRecordSet": {
        "Name": "mixed." + zone, "Type": "TXT", "TTL": 30,
        "ResourceRecords": [{"Value": '"a b" "c&d"'}]}}
    missing = {"Action": "DELETE", "ResourceRecordSet": {
        "Name": "nope." + zone, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}}
    e = expect_error("batch [CREATE ok, CREATE existing, DELETE missing]", "InvalidChangeBatch",
                     400, ctx.r53.change_resource_record_sets, HostedZoneId=zid,
                     ChangeBatch={"Changes": [ok, dup, missing]})
    if e is not None:
        m = e.response["Error"].get("Message", "")
        R.check(m.startswith("[") and m.endswith("]") and "but it already exists" in m
                and "but it was not found" in m,
                "InvalidChangeBatch collects every message as [m1, m2]", m)
    R.check(rr_find(ctx, zid, dict(name="new", type="A", _exists=False), "atomic") is None,
            "failed batch applied nothing")
    # DELETE then CREATE of the same set in one batch works; deleting it twice does not
    cur = names.get(("mixed.wire.replay.test.", "TXT"))
    if cur:
        new = dict(cur, TTL=31)
        out = ctx.r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
            {"Action": "DELETE", "ResourceRecordSet": cur},
            {"Action": "CREATE", "ResourceRecordSet": new}]})
        wait_insync(ctx, out["ChangeInfo"]["Id"], "DELETE+CREATE same name")
        expect_error("DELETE the same set twice in one batch", "InvalidChangeBatch", 400,
                     ctx.r53.change_resource_record_sets, HostedZoneId=zid,
                     ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": new},
                                              {"Action": "DELETE", "ResourceRecordSet": new}]})
        # pitfall 6: a DELETE whose values differ is refused with InvalidChangeBatch
        expect_error("DELETE with a different TTL", "InvalidChangeBatch", 400,
                     ctx.r53.change_resource_record_sets, HostedZoneId=zid,
                     ChangeBatch={"Changes": [{"Action": "DELETE",
                                               "ResourceRecordSet": dict(new, TTL=99)}]})
    # concurrent batches on one zone serialise (or PriorRequestNotComplete, retried)
    with ThreadPoolExecutor(10) as ex:
        fs = [ex.submit(ctx.r53.change_resource_record_sets, HostedZoneId=zid, ChangeBatch={
            "Comment": "Managed by Terraform", "Changes": [{"Action": "CREATE", "ResourceRecordSet": {
                "Name": "par%d.%s" % (i, zone), "Type": "A", "TTL": 60,
                "ResourceRecords": [{"Value": "192.0.2.%d" % (100 + i)}]}}]}) for i in range(10)]
        for i, f in enumerate(fs):
            try:
                wait_insync(ctx, f.result()["ChangeInfo"]["Id"], "parallel batch %d" % i)
            except botocore.exceptions.ClientError as e:
                R.check(False, "10 parallel batches on one zone succeed (pitfall 7)", errtext(e))
    names = {(r["Name"], r["Type"]) for r in all_rrsets(ctx, zid, None, "after parallel")}
    R.check(all(("par%d.%s" % (i, zname), "A") in names for i in range(10)),
            "every parallel batch applied", sorted(names))
    # clean up like force_destroy
    sets = all_rrsets(ctx, zid, None, "wire cleanup")
    dels = [r for r in sets if not (r["Name"] == zname and r["Type"] in ("NS", "SOA"))]
    out = ctx.r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={
        "Comment": "Deleted by Terraform",
        "Changes": [{"Action": "DELETE", "ResourceRecordSet": r} for r in dels]})
    wait_insync(ctx, out["ChangeInfo"]["Id"], "wire cleanup")
    zone_delete(ctx, zid, "wire zone delete")


def scenario_auth(ctx):
    if not ctx.strict:
        # no credentials configured: any signature or none is accepted (loopback only)
        st, _, data = ctx.raw("GET", "/2013-04-01/hostedzone", sign=False)
        R.eq(st, 200, "unsigned request accepted without api.credentials")
        st, _, data = ctx.raw("GET", "/2013-04-01/hostedzone", ak="AKIDWHATEVER",
                              sk="whatever", region="eu-west-1")
        R.eq(st, 200, "any signature accepted without api.credentials")
        return
    # the right key, another region's scope (ROUTE53-API §1.4: never hard-code us-east-1)
    for region in ("eu-west-1", "ap-southeast-2"):
        try:
            ctx.client(region).list_hosted_zones()
            R.check(True, "signed for %s: accepted" % region)
        except botocore.exceptions.ClientError as e:
            R.check(False, "signed for %s: accepted (pitfall 1)" % region, errtext(e))
    wrong = ctx.client("us-east-1", ctx.ak, ctx.sk + "x")
    expect_error("wrong secret", "SignatureDoesNotMatch", 403, wrong.list_hosted_zones)
    unknown = ctx.client("us-east-1", "AKIDUNKNOWN000000000", ctx.sk)
    expect_error("unknown access key", "InvalidClientTokenId", 403, unknown.list_hosted_zones)
    st, rh, data = ctx.raw("GET", "/2013-04-01/hostedzone", sign=False)
    check_error_response(ctx, st, rh, data, 403, "MissingAuthenticationToken", "unsigned request")
    # a signed body changed on the way is refused (the payload hash is verified)
    body = ('<CreateHostedZoneRequest xmlns="%s"><Name>tamper.replay.test</Name><CallerReference>'
            '%s</CallerReference></CreateHostedZoneRequest>' % (XMLNS, tf_unique_id())).encode()
    st, rh, data = ctx.raw("POST", "/2013-04-01/hostedzone", body, dict(GO_HEADERS),
                           send_body=body.replace(b"tamper", b"tamp3r"))
    check_error_response(ctx, st, rh, data, 403, "SignatureDoesNotMatch", "tampered body")
    # a signed query string
    st, rh, data = ctx.raw("GET", "/2013-04-01/hostedzone?maxitems=1", b"")
    R.eq(st, 200, "signed GET with a query string")
    # with more signed headers (SDKv2 style; pitfall 1): content-length;content-type;host;...
    st, rh, data = ctx.raw("POST", "/2013-04-01/hostedzone", body,
                           dict(GO_HEADERS, **{"Content-Length": str(len(body)),
                                               "amz-sdk-invocation-id": str(uuid.uuid4())}))
    R.eq(st, 201, "CreateHostedZone signed with SDKv2's header set")
    root = xml_root(data, "signed create") if st == 201 else None
    if root is not None:
        zid = bare(root.findtext(NS + "HostedZone/" + NS + "Id") or "")
        ctx.r53.delete_hosted_zone(Id=zid)


SCENARIOS = {"main": scenario_main, "private": scenario_private,
             "force_destroy": scenario_force_destroy, "cidr": scenario_cidr,
             "wire": scenario_wire, "auth": scenario_auth, "dnssec": scenario_dnssec}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--dns-port", type=int, required=True)
    ap.add_argument("--access-key", default="test")
    ap.add_argument("--secret-key", default="test")
    ap.add_argument("--strict-auth", action="store_true",
                    help="r53d has api.credentials: run the refusal checks")
    ap.add_argument("--force-health", action="store_true",
                    help="flip the failover check through POST /healthchecks/ID/force")
    ap.add_argument("scenarios", nargs="+", choices=sorted(SCENARIOS) + ["all"])
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.endpoint)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        print("tf_replay: loopback endpoints only", file=sys.stderr)
        return 2
    ctx = Ctx(a)
    names = sorted(SCENARIOS) if "all" in a.scenarios else a.scenarios
    t0 = time.monotonic()
    for name in names:
        R.scenario = name
        log("scenario %s" % name)
        try:
            SCENARIOS[name](ctx)
        except Abort as e:
            R.failures.append("[%s] aborted after: %s" % (name, e))
        except botocore.exceptions.ClientError as e:
            R.failures.append("[%s] unexpected error: %s\n%s" % (name, errtext(e),
                                                                 traceback.format_exc(limit=4)))
        except Exception as e:  # noqa: BLE001 - reported, never hidden
            R.failures.append("[%s] unexpected %s\n%s" % (name, errtext(e), traceback.format_exc()))
    R.scenario = "-"
    if R.insync:
        s = sorted(R.insync)
        R.notes.append("GetChange INSYNC after %d changes: median %.0f ms, max %.0f ms" % (
            len(s), 1000 * s[len(s) // 2], 1000 * s[-1]))
    R.notes.append("%d checks in %.1f s" % (R.checks, time.monotonic() - t0))
    print("RESULT " + json.dumps({"checks": R.checks, "failures": R.failures,
                                  "notes": R.notes}), flush=True)
    return 1 if R.failures else 0


if __name__ == "__main__":
    sys.exit(main())
