#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""etcd_cluster.py -- a throw-away etcd 3.4 cluster (1 or 3 members) on free loopback ports,
for the tests of the etcd store and of r53d fleets (spec/FLEET.md section 2).

Each member has its own client and peer port (never 2379/2380), its own data directory
under one temporary directory, and its own log file there; members are stopped by the PIDs
this harness recorded, never by name. Talks to etcd only through its JSON gateway.

As a library:
    with EtcdCluster(3) as c:          # started, every member healthy, a leader elected
        c.endpoints                    # ["http://127.0.0.1:PORT", ...]
        i = c.leader()                 # index of the leader
        c.kill(i)                      # SIGKILL by PID; c.stop(i) for SIGTERM
        c.pause(i); c.resume(i)        # SIGSTOP / SIGCONT: a member that goes silent
        c.restart(i)                   # same ports and data directory
        c.put("/k", "v"); c.get("/k"); c.compact(rev); c.revision()
    # on exit: every member killed, the directory removed (also after a failure)

As a process (for the C tests): `etcd_cluster.py serve --members N` starts the cluster,
prints one JSON line {"endpoints": [...], "pids": [...], "dir": ...}, then reads commands
on stdin, one per line, answering each with one JSON line:
    leader | kill I | stop I | pause I | resume I | restart I | compact REV | revision |
    wait_leader | info | quit
End of input (the test finished or died) stops the cluster and removes its directory.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ETCD = os.environ.get("R53D_ETCD", "/usr/bin/etcd")


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def free_port(avoid=()):
    """A TCP port free on 127.0.0.1 right now (never 2379/2380)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p not in (2379, 2380) and p not in avoid:
            return p
    raise RuntimeError("no free port")


def call(endpoint, path, body, timeout=3.0):
    """POST body (a dict) to the JSON gateway; the decoded answer, or raise."""
    req = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode())


class Member:
    def __init__(self, name, client_port, peer_port, datadir, logpath):
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.datadir = datadir
        self.logpath = logpath
        self.proc = None

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.client_port

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class EtcdCluster:
    def __init__(self, members=1, progress_interval="1s", extra_args=(), keep_dir=False):
        if members < 1:
            raise ValueError("members >= 1")
        self.dir = tempfile.mkdtemp(prefix="r53d-etcd-")
        self.progress_interval = progress_interval
        self.extra_args = list(extra_args)
        self.keep_dir = keep_dir
        used = set()
        self.members = []
        for i in range(members):
            cp = free_port(used)
            used.add(cp)
            pp = free_port(used)
            used.add(pp)
            name = "m%d" % (i + 1)
            self.members.append(Member(name, cp, pp, os.path.join(self.dir, name + ".etcd"),
                                       os.path.join(self.dir, name + ".log")))
        self.token = "r53d-test-%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000000)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def endpoints(self):
        return [m.endpoint for m in self.members]

    def _argv(self, m):
        cluster = ",".join("%s=http://127.0.0.1:%d" % (x.name, x.peer_port) for x in self.members)
        return [ETCD, "--name", m.name, "--data-dir", m.datadir,
                "--listen-client-urls", m.endpoint, "--advertise-client-urls", m.endpoint,
                "--listen-peer-urls", "http://127.0.0.1:%d" % m.peer_port,
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % m.peer_port,
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", self.token,
                "--experimental-watch-progress-notify-interval", self.progress_interval,
                "--max-txn-ops", "2048", "--logger", "zap", "--log-outputs", "stderr"
                ] + self.extra_args

    def _spawn(self, m):
        log = open(m.logpath, "ab")
        try:
            m.proc = subprocess.Popen(self._argv(m), stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def start(self, timeout=20.0):
        try:
            for m in self.members:
                self._spawn(m)
            self.wait_healthy(timeout)
        except BaseException:
            self.close()
            raise
        return self

    def healthy(self, i, timeout=1.0):
        m = self.members[i]
        if not m.alive():
            return False
        try:
            req = urllib.request.Request(m.endpoint + "/health")
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode()).get("health") == "true"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def wait_healthy(self, timeout=20.0, which=None):
        """Every member (or those in which) reports /health true; raise after timeout."""
        which = range(len(self.members)) if which is None else which
        end = time.monotonic() + timeout
        pending = set(which)
        while pending and time.monotonic() < end:
            for i in list(pending):
                if not self.members[i].alive():
                    raise RuntimeError("etcd %s exited; see %s" % (self.members[i].name,
                                                                   self.members[i].logpath))
                if self.healthy(i):
                    pending.discard(i)
            if pending:
                time.sleep(0.05)
        if pending:
            raise RuntimeError("etcd members %s not healthy after %.0f s" %
                               (sorted(self.members[i].name for i in pending), timeout))

    def status(self, i, timeout=1.0):
        return call(self.members[i].endpoint, "/v3/maintenance/status", {}, timeout)

    def leader(self, timeout=10.0):
        """Index of the current leader, as a live member reports it; raise after timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, m in enumerate(self.members):
                if not m.alive():
                    continue
                try:
                    st = self.status(i)
                except (OSError, ValueError, urllib.error.URLError):
                    continue
                lid = st.get("leader")
                if not lid or lid == "0":
                    continue
                for j in range(len(self.members)):
                    if not self.members[j].alive():
                        continue
                    try:
                        if self.status(j)["header"]["member_id"] == lid:
                            return j
                    except (OSError, ValueError, KeyError, urllib.error.URLError):
                        pass
            time.sleep(0.05)
        raise RuntimeError("no etcd leader after %.0f s" % timeout)

    def kill(self, i, sig=signal.SIGKILL):
        """Signal member i by its PID and reap it."""
        m = self.members[i]
        if m.proc is not None and m.proc.poll() is None:
            os.kill(m.proc.pid, sig)
            try:
                m.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(m.proc.pid, signal.SIGKILL)
                m.proc.wait(timeout=10)

    def stop(self, i):
        self.kill(i, signal.SIGTERM)

    def pause(self, i):
        """SIGSTOP member i: its connections stay open and go silent."""
        os.kill(self.members[i].proc.pid, signal.SIGSTOP)

    def resume(self, i):
        os.kill(self.members[i].proc.pid, signal.SIGCONT)

    def restart(self, i, wait=True):
        """Start member i again on its ports and data directory (it rejoins)."""
        self.kill(i)
        self._spawn(self.members[i])
        if wait:
            self.wait_healthy(20.0, [i])

    def close(self):
        for i in range(len(self.members)):
            try:
                self.kill(i)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    # -- data, through any live member ---------------------------------------------------

    def _any(self, path, body, timeout=3.0):
        last = None
        for m in self.members:
            if not m.alive():
                continue
            try:
                return call(m.endpoint, path, body, timeout)
            except (OSError, ValueError, urllib.error.URLError) as e:
                last = e
        raise RuntimeError("no etcd member answered %s: %s" % (path, last))

    def put(self, key, value, lease=None):
        body = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = str(lease)
        return int(self._any("/v3/kv/put", body)["header"]["revision"])

    def get(self, key):
        kvs = self._any("/v3/kv/range", {"key": b64(key)}).get("kvs", [])
        return base64.b64decode(kvs[0].get("value", "")).decode() if kvs else None

    def revision(self):
        return int(self._any("/v3/kv/range", {"key": b64("\0"), "count_only": True})
                   ["header"]["revision"])

    def compact(self, rev):
        return self._any("/v3/kv/compaction", {"revision": str(rev), "physical": True})


def serve(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="etcd_cluster.py serve")
    ap.add_argument("--members", type=int, default=1)
    ap.add_argument("--progress", default="1s")
    a = ap.parse_args(argv)
    c = EtcdCluster(a.members, progress_interval=a.progress)

    def bye(*_):
        c.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGHUP, bye)
    try:
        c.start()
    except Exception as e:  # noqa: BLE001 - reported to the parent, then exit
        print(json.dumps({"error": str(e)}), flush=True)
        return 1
    info = lambda: {"endpoints": c.endpoints,  # noqa: E731
                    "pids": [m.pid if m.alive() else 0 for m in c.members], "dir": c.dir}
    print(json.dumps(info()), flush=True)
    try:
        for line in sys.stdin:
            w = line.split()
            if not w:
                continue
            try:
                if w[0] == "quit":
                    break
                elif w[0] == "leader" or w[0] == "wait_leader":
                    out = {"leader": c.leader()}
                elif w[0] == "kill":
                    c.kill(int(w[1]))
                    out = {"ok": True}
                elif w[0] == "stop":
                    c.stop(int(w[1]))
                    out = {"ok": True}
                elif w[0] == "pause":
                    c.pause(int(w[1]))
                    out = {"ok": True}
                elif w[0] == "resume":
                    c.resume(int(w[1]))
                    out = {"ok": True}
                elif w[0] == "restart":
                    c.restart(int(w[1]))
                    out = {"ok": True}
                elif w[0] == "compact":
                    c.compact(int(w[1]))
                    out = {"ok": True}
                elif w[0] == "revision":
                    out = {"revision": c.revision()}
                elif w[0] == "info":
                    out = info()
                else:
                    out = {"error": "unknown command " + w[0]}
            except Exception as e:  # noqa: BLE001 - one JSON line per command, always
                out = {"error": str(e)}
            print(json.dumps(out), flush=True)
    finally:
        c.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        sys.exit(serve(sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
