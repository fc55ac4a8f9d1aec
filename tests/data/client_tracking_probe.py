"""Probe CLIENT TRACKING on a real Redis 7.0.15 and write client-tracking.json.

Run from the repository root:  python3 tests/data/client_tracking_probe.py
It starts redis-server processes on 127.0.0.1:7600 (one instance) and 7601-7606
(a 3-master + 3-replica cluster) in a fresh temporary directory, stops them by PID,
and writes tests/data/client-tracking.json.  A raw RESP3 client (HELLO 3) reads the
push messages exactly as the server sends them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
OUT = Path(__file__).with_name("client-tracking.json")


class Push:
    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"Push({self.items!r})"


class Conn:
    """A raw RESP2/3 connection: replies and push messages, in arrival order."""

    def __init__(self, port: int, resp3: bool = True) -> None:
        self.port = port
        self.sock = socket.create_connection((HOST, port))
        self.buf = b""
        self.pushes: list[tuple[float, Any]] = []
        self.closed = False
        if resp3:
            self.call("HELLO", "3")

    def send(self, *args: str) -> None:
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            b = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(b), b)
        self.sock.sendall(out)

    def _fill(self, timeout: float | None) -> bool:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            raise EOFError
        self.buf += data
        return True

    def _line(self, timeout: float | None) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill(timeout):
                raise TimeoutError
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _parse(self, timeout: float | None) -> Any:
        line = self._line(timeout)
        t, rest = line[:1], line[1:].decode()
        if t in (b"+",):
            return rest
        if t in (b"-", b"!"):
            return ("ERR", rest)
        if t == b":":
            return int(rest)
        if t == b",":
            return float(rest)
        if t == b"#":
            return rest == "t"
        if t == b"_":
            return None
        if t in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill(timeout)
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data.decode(errors="replace")
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            items = [self._parse(timeout) for _ in range(n)]
            return Push(items) if t == b">" else items
        if t == b"%":
            n = int(rest)
            out = {}
            for _ in range(n):
                k = self._parse(timeout)
                out[k] = self._parse(timeout)
            return out
        raise ValueError(f"unknown RESP type {line!r}")

    def read(self, timeout: float | None = 2.0) -> Any:
        """The next reply; push messages met on the way are stored."""
        while True:
            msg = self._parse(timeout)
            if isinstance(msg, Push):
                self.pushes.append((time.monotonic(), msg.items))
                continue
            return msg

    def call(self, *args: str) -> Any:
        self.send(*args)
        return self.read()

    def drain(self, wait: float = 0.3) -> list[Any]:
        """Push messages that arrive within `wait` seconds (and any already read)."""
        end = time.monotonic() + wait
        try:
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                msg = self._parse(left)
                if isinstance(msg, Push):
                    self.pushes.append((time.monotonic(), msg.items))
        except TimeoutError:
            pass
        except EOFError:
            self.pushes.append((time.monotonic(), ["<connection closed>"]))
        got = [p for _, p in self.pushes]
        self.pushes = []
        return got


class Servers:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rcsim-tracking-"))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, port: int, cluster: bool, extra: list[str] | None = None) -> None:
        d = self.dir / str(port)
        d.mkdir(exist_ok=True)
        conf = [
            f"port {port}",
            f"bind {HOST}",
            'save ""',
            "appendonly no",
            "repl-diskless-sync-delay 0",
            f"dir {d}",
            f"logfile {d}/log",
        ]
        if cluster:
            conf += [
                "cluster-enabled yes",
                "cluster-node-timeout 2000",
                f"cluster-config-file {d}/nodes.conf",
            ]
        conf += extra or []
        (d / "redis.conf").write_text("\n".join(conf) + "\n")
        self.procs[port] = subprocess.Popen(["redis-server", str(d / "redis.conf")])
        for _ in range(100):
            try:
                socket.create_connection((HOST, port)).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on {port} did not start")

    def kill(self, port: int) -> None:
        p = self.procs.pop(port)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()

    def stop_all(self) -> None:
        for port in list(self.procs):
            self.kill(port)
        shutil.rmtree(self.dir, ignore_errors=True)


def info_field(c: Conn, section: str, field: str) -> str:
    text = c.call("INFO", section)
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return ""


def standalone(s: Servers) -> dict[str, Any]:
    port = 7600
    s.start(port, cluster=False)
    out: dict[str, Any] = {}
    w = Conn(port)  # the writer: no tracking
    w.call("SET", "k1", "v1")

    # default mode: remember, one invalidation, then forget
    a = Conn(port)
    a.call("CLIENT", "TRACKING", "ON")
    get1 = a.call("GET", "k1")
    a.call("GET", "missing")
    keys_after_read = int(info_field(w, "stats", "tracking_total_keys"))
    w.call("SET", "k1", "v2")
    first = a.drain()
    w.call("SET", "k1", "v3")
    second = a.drain()
    keys_after_write = int(info_field(w, "stats", "tracking_total_keys"))
    w.call("SET", "missing", "x")
    missing = a.drain()
    a.call("GET", "k1")
    a.call("SET", "k1", "own-write")
    own = a.drain()
    out["default"] = {
        "read_reply": get1,
        "tracking_total_keys_after_two_reads": keys_after_read,
        "pushes_after_first_write_by_other": first,
        "pushes_after_second_write_without_reread": second,
        "tracking_total_keys_after_write": keys_after_write,
        "pushes_after_write_to_key_read_while_missing": missing,
        "pushes_after_own_write_without_noloop": own,
    }

    # NOLOOP and OPTIN
    n = Conn(port)
    n.call("CLIENT", "TRACKING", "ON", "NOLOOP")
    n.call("GET", "k2")
    n.call("SET", "k2", "own")
    own_noloop = n.drain()
    n.call("GET", "k2")
    w.call("SET", "k2", "other")
    other_noloop = n.drain()
    o = Conn(port)
    o.call("CLIENT", "TRACKING", "ON", "OPTIN")
    o.call("GET", "k3")
    w.call("SET", "k3", "a")
    optin_plain = o.drain()
    o.call("CLIENT", "CACHING", "YES")
    o.call("GET", "k3")
    w.call("SET", "k3", "b")
    optin_caching = o.drain()
    out["noloop"] = {"pushes_after_own_write": own_noloop, "pushes_after_other_write": other_noloop}
    out["optin"] = {
        "pushes_after_write_read_without_caching_yes": optin_plain,
        "pushes_after_write_read_after_caching_yes": optin_caching,
    }

    # expiry and eviction invalidate too (signalModifiedKey from deleteExpiredKeyAndPropagate)
    a.call("SET", "ttlkey", "v", "PX", "100")
    a2 = Conn(port)
    a2.call("CLIENT", "TRACKING", "ON")
    a2.call("GET", "ttlkey")
    time.sleep(0.4)
    out["expiry"] = {"pushes_when_active_expire_deletes_key": a2.drain(0.5)}

    # BCAST with a prefix
    b = Conn(port)
    b.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:")
    w.call("SET", "user:1", "a")
    b1 = b.drain()
    w.call("SET", "user:1", "b")
    b2 = b.drain()
    w.call("SET", "other:1", "a")
    b3 = b.drain()
    w.call("MSET", "user:2", "x", "user:3", "y", "other:2", "z")
    b4 = b.drain()
    overlap = b.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "us")
    keys_bcast = int(info_field(w, "stats", "tracking_total_keys"))
    prefixes = int(info_field(w, "stats", "tracking_total_prefixes"))
    out["bcast"] = {
        "pushes_after_write_never_read": b1,
        "pushes_after_second_write": b2,
        "pushes_after_write_outside_prefix": b3,
        "pushes_after_mset_two_in_prefix_one_out": b4,
        "overlapping_prefixes_reply": overlap,
        "tracking_total_prefixes": prefixes,
        "tracking_total_keys_with_only_bcast_reads": keys_bcast,
    }

    # tracking-table-max-keys
    w.call("FLUSHALL")
    for c in (a, a2, n, o, b):
        c.drain(0.1)
    w.call("CONFIG", "SET", "tracking-table-max-keys", "10")
    lim = Conn(port)
    lim.call("CLIENT", "TRACKING", "ON")
    for i in range(20):
        lim.call("GET", f"lim:{i}")
    time.sleep(0.3)  # serverCron runs trackingLimitUsedSlots too
    pushes = lim.drain(0.5)
    evicted = sorted(
        k
        for p in pushes
        if isinstance(p, list) and p and p[0] == "invalidate"
        for k in (p[1] or [])
    )
    out["tracking_table_max_keys"] = {
        "max_keys": 10,
        "keys_read": 20,
        "invalidations_received": len(evicted),
        "keys_invalidated": evicted,
        "tracking_total_keys_after": int(info_field(w, "stats", "tracking_total_keys")),
    }
    w.call("CONFIG", "SET", "tracking-table-max-keys", "1000000")

    # FLUSHALL and FLUSHDB: one null invalidation to every tracking client, even
    # one that never read anything, and BCAST clients too
    f1 = Conn(port)
    f1.call("CLIENT", "TRACKING", "ON")
    f1.call("GET", "k1")
    f2 = Conn(port)
    f2.call("CLIENT", "TRACKING", "ON")
    fb = Conn(port)
    fb.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "zz")
    w.call("FLUSHALL")
    out["flushall"] = {
        "pushes_tracking_client_that_read": f1.drain(),
        "pushes_tracking_client_that_read_nothing": f2.drain(),
        "pushes_bcast_client": fb.drain(),
        "tracking_total_keys_after": int(info_field(w, "stats", "tracking_total_keys")),
    }
    f1.call("GET", "k1")
    w.call("FLUSHDB")
    out["flushdb"] = {"pushes": f1.drain()}

    # REDIRECT to a RESP2 connection subscribed to __redis__:invalidate
    r = Conn(port, resp3=False)
    rid = r.call("CLIENT", "ID")
    r.send("SUBSCRIBE", "__redis__:invalidate")
    r.read()
    t = Conn(port, resp3=False)
    t.call("CLIENT", "TRACKING", "ON", "REDIRECT", str(rid))
    t.call("GET", "rk")
    w.call("SET", "rk", "v")
    msgs = []
    try:
        while True:
            msgs.append(r.read(0.3))
    except TimeoutError:
        pass
    out["redirect_resp2"] = {"messages_on_subscriber": msgs}

    # the client disconnects and reconnects: the new connection tracks nothing
    a3 = Conn(port)
    a3.call("CLIENT", "TRACKING", "ON")
    a3.call("GET", "dk")
    a3.sock.close()
    a4 = Conn(port)
    a4.call("CLIENT", "TRACKING", "ON")
    w.call("SET", "dk", "v")
    out["reconnect"] = {"pushes_on_new_connection_after_write": a4.drain()}
    out["tracking_info_default"] = a4.call("CLIENT", "TRACKINGINFO")
    s.kill(port)
    return out


def cluster_slots(c: Conn) -> list[Any]:
    return c.call("CLUSTER", "SLOTS")


def owner_port(c: Conn, key: str) -> int:
    slot = c.call("CLUSTER", "KEYSLOT", key)
    for row in cluster_slots(c):
        if row[0] <= slot <= row[1]:
            return int(row[2][1])
    raise RuntimeError("no owner")


def wait_ok(ports: list[int], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ok = True
        for p in ports:
            try:
                c = Conn(p, resp3=False)
                if "cluster_state:ok" not in c.call("CLUSTER", "INFO"):
                    ok = False
                c.sock.close()
            except OSError:
                ok = False
        if ok:
            return
        time.sleep(0.2)
    raise RuntimeError("cluster not ok")


def wait_role(port: int, role: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        c = Conn(port, resp3=False)
        info = c.call("INFO", "replication")
        c.sock.close()
        if f"role:{role}" in info:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{port} never became {role}")


def replica_of(ports: list[int], master_port: int) -> int:
    for p in ports:
        if p == master_port:
            continue
        c = Conn(p, resp3=False)
        info = c.call("INFO", "replication")
        c.sock.close()
        if "role:slave" in info and f"master_port:{master_port}" in info:
            return p
    raise RuntimeError("no replica")


def make_cluster(s: Servers, ports: list[int]) -> None:
    for p in ports:
        s.start(p, cluster=True)
    subprocess.run(
        [
            "redis-cli",
            "--cluster",
            "create",
            *[f"{HOST}:{p}" for p in ports],
            "--cluster-replicas",
            "1",
            "--cluster-yes",
        ],
        check=True,
        capture_output=True,
    )
    wait_ok(ports)
    # wait for every replica link
    time.sleep(1.5)


def cluster_runs(s: Servers) -> dict[str, Any]:
    ports = list(range(7601, 7607))
    make_cluster(s, ports)
    out: dict[str, Any] = {}
    probe = Conn(ports[0])
    key = "ft:{a}"
    mport = owner_port(probe, key)
    rport = replica_of(ports, mport)

    # (a1) SIGKILL of the master: the tracking client sees its connection close, and no
    # invalidation ever; the promoted replica tracks nothing for it.
    w = Conn(mport)
    w.call("SET", key, "v1")
    time.sleep(0.2)
    tr = Conn(mport)
    tr.call("CLIENT", "TRACKING", "ON")
    tr.call("GET", key)
    rd = Conn(rport)
    rd.call("READONLY")
    rd.call("CLIENT", "TRACKING", "ON")
    replica_read = rd.call("GET", key)
    w.call("SET", key, "v2")
    first = tr.drain()
    replica_pushes = rd.drain()
    tr.call("GET", key)
    rd.call("GET", key)
    t0 = time.monotonic()
    s.kill(mport)
    killed = tr.drain(0.5)
    replica_after_kill = rd.drain(0.2)
    wait_role(rport, "master")
    wait_ok([p for p in ports if p != mport], timeout=30)
    promoted_after_s = round(time.monotonic() - t0, 2)
    nm = Conn(rport)
    new_master_tracking = int(info_field(nm, "stats", "tracking_total_keys"))
    # the replica-side tracking client (same connection, now on a master) still tracks the key
    nm.call("SET", key, "v3")
    promoted_conn_pushes = rd.drain()
    out["master_killed"] = {
        "pushes_on_master_client_after_write": first,
        "pushes_on_replica_tracking_client_after_replicated_write": replica_pushes,
        "replica_read_reply": replica_read,
        "master_client_after_sigkill": killed,
        "replica_client_after_master_sigkill": replica_after_kill,
        "promoted_and_cluster_ok_after_s": promoted_after_s,
        "promoted_tracking_total_keys": new_master_tracking,
        "pushes_on_client_connected_to_promoted_replica_after_write": promoted_conn_pushes,
    }
    # the old master returns as a replica of the promoted one: full sync flushes
    s.start(mport, cluster=True)
    time.sleep(0.2)
    back = Conn(mport)
    back.call("CLIENT", "TRACKING", "ON")
    wait_role(mport, "slave")
    time.sleep(1.5)
    out["master_killed"]["returning_master_role"] = info_field(back, "replication", "role")
    out["master_killed"]["pushes_on_client_of_returning_master_during_resync"] = back.drain(0.5)

    # (a2) CLUSTER FAILOVER (manual): the client of the old master keeps its connection;
    # the old master, now a replica, applies the new master's writes and invalidates.
    key2 = "mf:{b}"
    mp2 = owner_port(probe, key2)
    rp2 = replica_of(ports, mp2)
    w2 = Conn(mp2)
    w2.call("SET", key2, "v1")
    time.sleep(0.2)
    t2 = Conn(mp2)
    t2.call("CLIENT", "TRACKING", "ON")
    t2.call("GET", key2)
    rc = Conn(rp2, resp3=False)
    fo = rc.call("CLUSTER", "FAILOVER")
    time.sleep(2)
    during = t2.drain(0.2)
    moved = t2.call("GET", key2)
    nw = Conn(rp2)
    nw.call("SET", key2, "v2")
    after_write = t2.drain(0.5)
    out["manual_failover"] = {
        "failover_reply": fo,
        "pushes_on_old_master_client_during_failover": during,
        "get_on_old_master_after_failover": moved,
        "pushes_on_old_master_client_after_write_on_new_master": after_write,
    }

    # (b) a slot migrated away: MIGRATE deletes the key on the source and signals it
    key3 = "mig:{c}"
    src = owner_port(probe, key3)
    dst = next(
        p
        for p in ports
        if p != src and "role:master" in Conn(p, resp3=False).call("INFO", "replication")
    )
    slot = probe.call("CLUSTER", "KEYSLOT", key3)
    ws = Conn(src)
    ws.call("SET", key3, "v1")
    ws.call("SET", "other" + key3, "o1")
    t3 = Conn(src)
    t3.call("CLIENT", "TRACKING", "ON")
    t3.call("GET", key3)
    t3.call("GET", "other" + key3)
    cs, cd = Conn(src, resp3=False), Conn(dst, resp3=False)
    src_id, dst_id = cs.call("CLUSTER", "MYID"), cd.call("CLUSTER", "MYID")
    cd.call("CLUSTER", "SETSLOT", str(slot), "IMPORTING", src_id)
    cs.call("CLUSTER", "SETSLOT", str(slot), "MIGRATING", dst_id)
    before_migrate = t3.drain(0.2)
    mig = cs.call("MIGRATE", HOST, str(dst), "", "0", "5000", "KEYS", key3)
    after_migrate = t3.drain()
    ask = t3.call("GET", key3)
    mig2 = cs.call("MIGRATE", HOST, str(dst), "", "0", "5000", "KEYS", "other" + key3)
    after_migrate2 = t3.drain()
    for p in ports:
        try:
            c = Conn(p, resp3=False)
            c.call("CLUSTER", "SETSLOT", str(slot), "NODE", dst_id)
        except OSError:
            pass
    time.sleep(0.3)
    moved3 = t3.call("GET", key3)
    wd = Conn(dst)
    wd.call("SET", key3, "v2")
    after_dst_write = t3.drain()
    out["slot_migrated"] = {
        "pushes_on_setslot_migrating": before_migrate,
        "migrate_reply": mig,
        "pushes_after_migrate_of_read_key": after_migrate,
        "get_on_source_during_migration": ask,
        "migrate_reply_second": mig2,
        "pushes_after_migrate_of_second_key": after_migrate2,
        "get_on_source_after_setslot_node": moved3,
        "pushes_after_write_on_target": after_dst_write,
    }

    # (b2) a slot taken by another master's higher configEpoch (no MIGRATE): the loser
    # deletes the slot's keys with delKeysInSlot (clusterUpdateSlotsConfigWith's dirty slots)
    key5 = "upd:{e}"
    lp = owner_port(probe, key5)
    wp = next(
        p
        for p in ports
        if p != lp and "role:master" in Conn(p, resp3=False).call("INFO", "replication")
    )
    slot5 = probe.call("CLUSTER", "KEYSLOT", key5)
    wl = Conn(lp)
    wl.call("SET", key5, "v1")
    t5 = Conn(lp)
    t5.call("CLIENT", "TRACKING", "ON")
    t5.call("GET", key5)
    cw = Conn(wp, resp3=False)
    setslot = cw.call("CLUSTER", "SETSLOT", str(slot5), "NODE", cw.call("CLUSTER", "MYID"))
    bump = cw.call("CLUSTER", "BUMPEPOCH")
    time.sleep(3)
    kept = Conn(lp, resp3=False).call("CLUSTER", "COUNTKEYSINSLOT", str(slot5))
    out["slot_taken_by_update"] = {
        "setslot_reply": setslot,
        "bumpepoch_reply": bump,
        "keys_left_in_slot_on_loser": kept,
        "pushes_on_losers_tracking_client": t5.drain(0.5),
        "loser_log_lines": [
            line.split(" ", 4)[-1]
            for line in (s.dir / str(lp) / "log").read_text().splitlines()
            if "dirty" in line.lower() or "deleting" in line.lower()
        ],
    }

    # (c) FLUSHALL on a cluster master
    key4 = "fl:{d}"
    fp = owner_port(probe, key4)
    wf = Conn(fp)
    wf.call("SET", key4, "v")
    t4 = Conn(fp)
    t4.call("CLIENT", "TRACKING", "ON")
    t4.call("GET", key4)
    wf.call("FLUSHALL")
    out["cluster_flushall"] = {"pushes": t4.drain()}
    return out


def main() -> int:
    if not shutil.which("redis-server"):
        print("redis-server not found", file=sys.stderr)
        return 1
    version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True
    ).stdout.strip()
    s = Servers()
    try:
        data: dict[str, Any] = {
            "redis": version,
            "method": "tests/data/client_tracking_probe.py: raw RESP3 (HELLO 3) connections; one instance on 127.0.0.1:7600, then a 3-master + 3-replica cluster on 7601-7606 (cluster-node-timeout 2000). Each `pushes_*` list is every push message the tracking connection received within 0.3 s after the step (['<connection closed>'] when the socket closed).",
            "standalone": standalone(s),
            "cluster": cluster_runs(s),
        }
    finally:
        s.stop_all()
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
