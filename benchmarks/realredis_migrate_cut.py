"""Measure what a real Redis 7.0.15 ``MIGRATE`` does when its target is behind a network cut.

Why: rcsim fails such a MIGRATE within ~10 ms (issue 11, item 3.8); Redis blocks the source
process in a synchronous connect/write/read for up to the MIGRATE timeout, and redis-cli passes
60000 ms. This script produces ``tests/data/migrate-behind-cut.json``, the data the data plane
is checked against. It is NOT part of the test suite (it needs root, iptables and
``redis-server``/``redis-cli`` 7.0.15) and ``python -m benchmarks`` does not run it (no
``bench_`` prefix).

Run as root from the repository root::

    python3 benchmarks/realredis_migrate_cut.py --reps 3 --out tests/data/migrate-behind-cut.json

Method (also written into the JSON's ``method`` field):

* 6 ``redis-server`` processes (3 masters + 3 replicas, ``--cluster-replicas 1``), node ``nK``
  on its own loopback address ``127.0.0.(K+1)`` (``bind``, ``cluster-announce-ip`` and
  ``bind-source-addr`` set to it), port ``PORT_BASE + K``, its own temp dir,
  ``cluster-node-timeout 5000``. A fresh cluster per repetition.
* Source = n1 (the master of slot 0), target = n2. Ten keys of one hash tag in a slot of n1;
  ``CLUSTER SETSLOT <slot> IMPORTING`` on the target, then ``MIGRATING`` on the source, in the
  order ``clusterManagerMoveSlot`` (redis-cli 7.0.15) uses.
* ``cached`` cases first migrate one key (so the source caches a connection to the target,
  ``migrateGetSocket``), ``fresh`` cases never talked to the target before.
* The cut: iptables ``INPUT`` DROP rules, both directions, between the source's address and
  the target's, and between ``127.0.0.1`` and the target's (MIGRATE's blocking connect binds
  no source address, so the kernel picks 127.0.0.1 for it; the JSON records the address the
  target saw). Pollers and probes connect from ``127.0.0.100``, which no rule matches.
* Then ``MIGRATE <target> <port> "" 0 <timeout> KEYS <the remaining keys>`` as redis-cli does,
  on its own connection. Meanwhile a prober sends ``PING`` to the source every 20 ms, and
  pollers send ``CLUSTER NODES`` + ``CLUSTER INFO`` to every node every 20 ms (monotonic
  clock, midpoint stamps, changes kept). The cut is removed when MIGRATE replies (or after
  ``heal_after_ms`` for the heal cases), then the run is observed until the cluster settles.

Safety: only 127.0.0.0/8 addresses are used (asserted); every process is started and stopped
here by its PID; every iptables rule carries the comment ``rcsim-migrate-cut`` and is removed
on every exit path (``finally``, SIGINT/SIGTERM/SIGHUP handlers, ``atexit``).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NODE_COUNT = 6
PORT_BASE = 31000
NODE_TIMEOUT_MS = 5000
CLIENT_ADDR = "127.0.0.100"  # pollers, probes and the MIGRATE caller; no rule matches it
DEFAULT_SRC_ADDR = "127.0.0.1"  # what the kernel picks for an unbound connect to 127.0.0.X
POLL_PERIOD_S = 0.020
KEYS_PER_RUN = 10
RULE_TAG = "rcsim-migrate-cut"
SETTLE_LIMIT_S = 30.0
PONG_GAP_S = 3.0  # a gap in the source's pong_recv updates longer than this is recorded

# (name, mode, MIGRATE timeout ms, heal the cut this many ms after MIGRATE was sent, or None)
CASES: list[tuple[str, str, int, int | None]] = [
    ("fresh-2000", "fresh", 2000, None),
    ("cached-2000", "cached", 2000, None),
    ("fresh-10000", "fresh", 10000, None),
    ("cached-10000", "cached", 10000, None),
    ("fresh-60000-heal-5000", "fresh", 60000, 5000),
    ("cached-60000-heal-5000", "cached", 60000, 5000),
    ("cached-60000", "cached", 60000, None),
    ("fresh-60000", "fresh", 60000, None),
]


def node_addr(index: int) -> str:
    """Node nK lives on 127.0.0.(K+1)."""
    return f"127.0.0.{index + 1}"


def check_loopback(*addrs: str) -> None:
    """Refuse anything outside 127.0.0.0/8: this script never touches a real network."""
    for addr in addrs:
        if ipaddress.ip_address(addr) not in ipaddress.ip_network("127.0.0.0/8"):
            raise SystemExit(f"refusing non-loopback address {addr}")


# --------------------------------------------------------------------------- cleanup state

PROCS: dict[int, subprocess.Popen[bytes]] = {}
ACTIVE_RULES: list[list[str]] = []
ADDED_EVER: list[list[str]] = []  # every rule this process added, checked gone at the end
TEMP_DIRS: list[Path] = []


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM by PID, then SIGKILL by PID if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    PROCS.pop(proc.pid, None)


def remove_rules() -> None:
    """Delete every rule this script added (each as often as iptables still lists it)."""
    for rule in list(ACTIVE_RULES):
        while subprocess.run(["iptables", "-w", "-C", *rule], capture_output=True).returncode == 0:
            subprocess.run(["iptables", "-w", "-D", *rule], check=False, capture_output=True)
        ACTIVE_RULES.remove(rule)


def cleanup() -> None:
    """Runs on every exit path: rules first (they outlive processes), then processes, dirs."""
    remove_rules()
    for proc in list(PROCS.values()):
        stop_process(proc)
    for path in list(TEMP_DIRS):
        shutil.rmtree(path, ignore_errors=True)
        TEMP_DIRS.remove(path)


def on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


# --------------------------------------------------------------------------- RESP client


class RespError(str):
    """An error reply, kept verbatim (code included)."""


class Resp:
    """A minimal RESP2 client that keeps error replies exactly as the server sent them."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        check_loopback(host, CLIENT_ADDR)
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(CLIENT_ADDR, 0)
        )
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def send(self, *commands: tuple[str | bytes, ...]) -> None:
        out = bytearray()
        for cmd in commands:
            out += b"*%d\r\n" % len(cmd)
            for arg in cmd:
                raw = arg.encode() if isinstance(arg, str) else arg
                out += b"$%d\r\n%s\r\n" % (len(raw), raw)
        self.sock.sendall(out)

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                return line
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data = bytes(self.buf[:n])
        del self.buf[: n + 2]
        return data

    def read(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError(f"bad RESP line {line!r}")

    def call(self, *args: str | bytes) -> Any:
        self.send(tuple(args))
        return self.read()


# --------------------------------------------------------------------------- the cluster


@dataclass
class Node:
    index: int  # 1-based, in port order
    addr: str
    port: int
    path: Path
    proc: subprocess.Popen[bytes] | None = None
    node_id: str = ""

    @property
    def name(self) -> str:
        return f"n{self.index}"


def start_nodes(root: Path) -> list[Node]:
    nodes = []
    for k in range(1, NODE_COUNT + 1):
        addr, port = node_addr(k), PORT_BASE + k
        check_loopback(addr)
        path = root / f"n{k}"
        path.mkdir()
        conf = path / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    f"port {port}",
                    f"bind {addr}",
                    f"cluster-announce-ip {addr}",
                    f"bind-source-addr {addr}",
                    "protected-mode no",
                    "cluster-enabled yes",
                    "cluster-config-file nodes.conf",
                    f"cluster-node-timeout {NODE_TIMEOUT_MS}",
                    'save ""',
                    "appendonly no",
                    "repl-diskless-sync-delay 0",
                    f"dir {path}",
                    f"logfile {path / 'redis.log'}",
                    "daemonize no",
                    "",
                ]
            )
        )
        proc = subprocess.Popen(
            ["redis-server", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        PROCS[proc.pid] = proc
        nodes.append(Node(k, addr, port, path, proc))
    deadline = time.monotonic() + 10
    for node in nodes:
        while True:
            try:
                c = Resp(node.addr, node.port, 1.0)
                ok = c.call("PING") == "PONG"
                node.node_id = c.call("CLUSTER", "MYID")
                c.close()
                if ok:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} did not start")
            time.sleep(0.05)
    return nodes


def create_cluster(nodes: list[Node]) -> str:
    args = [f"{n.addr}:{n.port}" for n in nodes]
    out = subprocess.run(
        ["redis-cli", "--cluster", "create", *args, "--cluster-replicas", "1", "--cluster-yes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if out.returncode != 0:
        raise RuntimeError(f"cluster create failed: {out.stdout}\n{out.stderr}")
    return out.stdout


def parse_nodes(text: str) -> list[dict[str, Any]]:
    """CLUSTER NODES lines as dicts: id, addr, flags, master, pong_recv, link, slots."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        rows.append(
            {
                "id": parts[0],
                "addr": parts[1].split("@")[0],
                "flags": parts[2].split(","),
                "master": parts[3],
                "ping_sent": int(parts[4]),
                "pong_recv": int(parts[5]),
                "link": parts[7],
                "slots": parts[8:],
            }
        )
    return rows


def info_field(text: str, key: str) -> str:
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def healthy(nodes: list[Node]) -> bool:
    """Every node ok, knows 6 connected nodes with plain flags, one slot map; replicas up."""
    maps = set()
    for node in nodes:
        c = Resp(node.addr, node.port)
        try:
            c.send(("CLUSTER", "NODES"), ("CLUSTER", "INFO"), ("INFO", "replication"))
            rows, info, repl = parse_nodes(c.read()), c.read(), c.read()
        finally:
            c.close()
        if info_field(info, "cluster_state") != "ok" or len(rows) != NODE_COUNT:
            return False
        for row in rows:
            if not set(row["flags"]) <= {"myself", "master", "slave"} or row["link"] != "connected":
                return False
        if info_field(repl, "role") == "slave" and info_field(repl, "master_link_status") != "up":
            return False
        maps.add(tuple(sorted((r["id"], r["master"], " ".join(r["slots"])) for r in rows)))
    return len(maps) == 1


def wait_healthy(nodes: list[Node], limit_s: float = 60.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        with contextlib.suppress(OSError, ConnectionError):
            if healthy(nodes):
                return time.monotonic() - start
        time.sleep(0.1)
    raise RuntimeError("cluster did not become healthy")


# --------------------------------------------------------------------------- observers


@dataclass
class Poller:
    """CLUSTER NODES + CLUSTER INFO every 20 ms on one node; keeps changes and stalls."""

    node: Node
    names: dict[str, str]  # node id -> nK
    watch_id: str  # the source's id: its pong_recv updates are tracked
    stop: threading.Event
    changes: list[dict[str, Any]] = field(default_factory=list)
    stalls: list[tuple[float, float]] = field(default_factory=list)
    pong_updates: list[tuple[float, int]] = field(default_factory=list)
    polls: int = 0
    error: str = ""

    def run(self) -> None:
        try:
            c = Resp(self.node.addr, self.node.port, timeout=600.0)
        except OSError as exc:
            self.error = repr(exc)
            return
        last: tuple[str, str] | None = None
        last_pong = -1
        next_t = time.monotonic()
        while not self.stop.is_set():
            t_a = time.monotonic()
            try:
                c.send(("CLUSTER", "NODES"), ("CLUSTER", "INFO"))
                nodes_text, info = c.read(), c.read()
            except (OSError, ConnectionError) as exc:
                self.error = repr(exc)
                break
            t_b = time.monotonic()
            self.polls += 1
            mid = (t_a + t_b) / 2
            if t_b - t_a > 0.1:
                self.stalls.append((t_a, t_b))
            rows = parse_nodes(nodes_text)
            view = []
            for row in sorted(rows, key=lambda r: self.names.get(r["id"], "?" + r["id"][:6])):
                name = self.names.get(row["id"], "?" + row["id"][:6])
                flags = ",".join(f for f in row["flags"] if f != "myself")
                if "myself" in row["flags"]:
                    name += "*"
                master = self.names.get(row["master"], "-")
                link = "" if row["link"] == "connected" else "/disc"
                view.append(f"{name}:{flags}{'>' + master if master != '-' else ''}{link}")
                if row["id"] == self.watch_id and row["pong_recv"] != last_pong:
                    last_pong = row["pong_recv"]
                    self.pong_updates.append((mid, last_pong))
            state = (info_field(info, "cluster_state"), " ".join(view))
            if state != last:
                self.changes.append({"t": mid, "state": state[0], "view": state[1]})
                last = state
            next_t = max(next_t + POLL_PERIOD_S, time.monotonic())
            time.sleep(max(0.0, next_t - time.monotonic()))
        c.close()


@dataclass
class Prober:
    """PING to the source every 20 ms on its own connection: does the source serve clients?"""

    node: Node
    stop: threading.Event
    samples: list[tuple[float, float]] = field(default_factory=list)
    error: str = ""

    def run(self) -> None:
        try:
            c = Resp(self.node.addr, self.node.port, timeout=600.0)
        except OSError as exc:
            self.error = repr(exc)
            return
        next_t = time.monotonic()
        while not self.stop.is_set():
            t_a = time.monotonic()
            try:
                c.call("PING")
            except (OSError, ConnectionError) as exc:
                self.error = repr(exc)
                break
            self.samples.append((t_a, time.monotonic()))
            next_t = max(next_t + POLL_PERIOD_S, time.monotonic())
            time.sleep(max(0.0, next_t - time.monotonic()))
        c.close()


# --------------------------------------------------------------------------- the cut


def cut_rules(source: Node, target: Node) -> list[list[str]]:
    """INPUT DROP both ways between the source's host and the target's host."""
    check_loopback(source.addr, target.addr, DEFAULT_SRC_ADDR)
    rules = []
    for a in (source.addr, DEFAULT_SRC_ADDR):
        for s, d in ((a, target.addr), (target.addr, a)):
            rules.append(
                ["INPUT", "-s", s, "-d", d, "-m", "comment", "--comment", RULE_TAG, "-j", "DROP"]
            )
    return rules


def apply_rules(rules: list[list[str]], add: bool) -> None:
    """All rules at once (iptables-restore --noflush is atomic per table)."""
    op = "-A" if add else "-D"
    text = "*filter\n" + "".join(f"{op} {' '.join(r)}\n" for r in rules) + "COMMIT\n"
    if add:
        ACTIVE_RULES.extend(rules)
        ADDED_EVER.extend(r for r in rules if r not in ADDED_EVER)
    subprocess.run(["iptables-restore", "-w", "--noflush"], input=text, text=True, check=True)
    if not add:
        for r in rules:
            if r in ACTIVE_RULES:
                ACTIVE_RULES.remove(r)


def syn_drop_probe() -> dict[str, Any]:
    """What an INPUT or OUTPUT DROP does to a non-blocking connect on loopback (no Redis)."""
    import select

    a, b, port = "127.0.0.8", "127.0.0.9", PORT_BASE + 500
    check_loopback(a, b)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((b, port))
    srv.listen(5)
    result: dict[str, Any] = {}
    try:
        for chain in ("none", "OUTPUT", "INPUT"):
            rule = ["-s", a, "-d", b, "-m", "comment", "--comment", RULE_TAG, "-j", "DROP"]
            rules = [[chain, *rule]] if chain != "none" else []
            if rules:
                apply_rules(rules, add=True)
            try:
                s = socket.socket()
                s.bind((a, 0))
                s.setblocking(False)
                rc = s.connect_ex((b, port))
                poller = select.poll()
                poller.register(s, select.POLLOUT)
                t = time.monotonic()
                events = poller.poll(1500)
                waited = round((time.monotonic() - t) * 1000)
                try:
                    sent: str = f"send() wrote {s.send(b'x')} byte"
                except OSError as exc:
                    sent = f"send() failed: {os.strerror(exc.errno or 0)}"
                s.close()
                result[chain] = {
                    "connect_errno": os.strerror(rc) if rc else "0",
                    "writable_within_1500ms": bool(events),
                    "poll_waited_ms": waited,
                    "send": sent,
                }
            finally:
                if rules:
                    apply_rules(rules, add=False)
    finally:
        srv.close()
    return result


TCP_INFO_FMT = "8B24I"  # struct tcp_info up to tcpi_total_retrans (linux/tcp.h)
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 7: "CLOSE"}


def tcp_info(sock: socket.socket) -> dict[str, Any]:
    """State, retransmission count, RTO and total retransmissions of a socket."""
    f = struct.unpack_from(TCP_INFO_FMT, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104))
    return {
        "state": TCP_STATES.get(f[0], str(f[0])),
        "retransmits": f[2],
        "rto_ms": f[8] // 1000,
        "unacked": f[12],
        "total_retrans": f[31],
    }


def watch(sock: socket.socket, seconds: float, until: Callable[[], bool]) -> list[dict[str, Any]]:
    """TCP_INFO every 5 ms; the changes, stamped in ms from the start."""
    start, last, out = time.monotonic(), None, []
    while time.monotonic() - start < seconds and not until():
        info = tcp_info(sock)
        key = (info["state"], info["retransmits"], info["total_retrans"], info["unacked"])
        if key != last:
            out.append({"t_ms": round((time.monotonic() - start) * 1000, 1), **info})
            last = key
        time.sleep(0.005)
    return out


def tcp_schedule_probe(heal_data_after_s: float = 30.0) -> dict[str, Any]:
    """The kernel's retransmission schedule behind an INPUT DROP on loopback: a connect's
    SYNs until it gives up, and one data byte on an established connection, healed after
    ``heal_data_after_s`` (when does it arrive?). Read from TCP_INFO, no Redis involved."""
    a, b, port = "127.0.0.10", "127.0.0.11", PORT_BASE + 501
    check_loopback(a, b)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((b, port))
    srv.listen(5)
    drop = [["INPUT", "-s", a, "-d", b, "-m", "comment", "--comment", RULE_TAG, "-j", "DROP"]]
    result: dict[str, Any] = {"sysctl": {}}
    for name in ("tcp_syn_retries", "tcp_syn_linear_timeouts", "tcp_retries2", "tcp_rto_min_us"):
        path = Path("/proc/sys/net/ipv4") / name
        result["sysctl"][name] = path.read_text().strip() if path.exists() else None
    try:
        apply_rules(drop, add=True)
        try:
            c = socket.socket()
            c.bind((a, 0))
            c.setblocking(False)
            c.connect_ex((b, port))
            t = time.monotonic()
            events = watch(c, 200.0, lambda: tcp_info(c)["state"] != "SYN_SENT")
            err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            result["syn"] = {
                "events": events,
                "gave_up_after_ms": round((time.monotonic() - t) * 1000),
                "so_error": os.strerror(err) if err else "0",
            }
            c.close()
        finally:
            apply_rules(drop, add=False)
        c = socket.create_connection((b, port), timeout=5, source_address=(a, 0))
        peer, _ = srv.accept()
        peer.settimeout(60)
        apply_rules(drop, add=True)
        try:
            c.send(b"x")
            t = time.monotonic()
            events = watch(c, heal_data_after_s, lambda: False)
        finally:
            apply_rules(drop, add=False)
        healed = time.monotonic()
        peer.recv(1)
        arrived = time.monotonic()
        result["data"] = {
            "events": events,
            "healed_at_ms": round((healed - t) * 1000),
            "arrived_at_ms": round((arrived - t) * 1000),
        }
        c.close()
        peer.close()
    finally:
        srv.close()
    return result


# --------------------------------------------------------------------------- one run


def log_lines(node: Node, wall0: float, since_ms: float) -> list[dict[str, Any]]:
    """The node's log lines from since_ms on, t_ms relative to wall0 (the MIGRATE send)."""
    out = []
    path = node.path / "redis.log"
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split(" ", 6)
        if len(parts) < 7 or ":" not in parts[0]:
            continue
        try:
            stamp = datetime.datetime.strptime(" ".join(parts[1:5]), "%d %b %Y %H:%M:%S.%f")
        except ValueError:
            continue
        t_ms = round(stamp.timestamp() * 1000 - wall0 * 1000)
        if t_ms >= since_ms:
            out.append({"node": node.name, "t_ms": t_ms, "line": parts[6]})
    return out


def first(changes: list[dict[str, Any]], pred: Callable[[dict[str, Any]], bool]) -> float | None:
    for ch in changes:
        if pred(ch):
            return float(ch["t_ms"])
    return None


def flag_of(view: str, name: str) -> str:
    """The flags a view string gives node `name` (``n3:slave,fail?>n1/disc`` -> the flags)."""
    for item in view.split():
        key, _, rest = item.partition(":")
        if key.rstrip("*") == name:
            return rest.split(">")[0].split("/")[0]
    return ""


def has_flag(view: str, name: str, flag: str) -> bool:
    return flag in flag_of(view, name).split(",")


def slot_owned(ranges: list[str], slot: int) -> bool:
    """Whether CLUSTER NODES slot fields (``0-5460``, ``7``, ``[..]`` marks) include slot."""
    for rng in ranges:
        if rng.startswith("["):
            continue
        lo, _, hi = rng.partition("-")
        if int(lo) <= slot <= int(hi or lo):
            return True
    return False


def settled_view(view: str) -> bool:
    """No fail/fail? flag, no disconnected link, no unknown or handshake node."""
    return not any(word in view for word in ("fail", "/disc", "?", "handshake", "noaddr"))


def run_once(case: tuple[str, str, int, int | None], rep: int) -> dict[str, Any]:
    name, mode, timeout_ms, heal_after = case
    root = Path(tempfile.mkdtemp(prefix="rcsim-migrate-cut-"))
    TEMP_DIRS.append(root)
    nodes = start_nodes(root)
    run: dict[str, Any] = {"case": name, "rep": rep}
    try:
        create_cluster(nodes)
        run["healthy_after_create_s"] = round(wait_healthy(nodes), 2)
        time.sleep(2.0)  # a little gossip so pong times are spread
        names = {n.node_id: n.name for n in nodes}
        by_id = {n.node_id: n for n in nodes}
        c = Resp(nodes[0].addr, nodes[0].port)
        rows = parse_nodes(c.call("CLUSTER", "NODES"))
        c.close()
        owners = {}
        for row in rows:
            for rng in row["slots"]:
                if not rng.startswith("["):
                    owners[int(rng.split("-")[0])] = row["id"]
        source, target = by_id[owners[0]], by_id[owners[5461]]
        witness = by_id[owners[10923]]
        source_replica = next(by_id[r["id"]] for r in rows if r["master"] == source.node_id)
        run["roles"] = {
            "source": source.name,
            "target": target.name,
            "witness_master": witness.name,
            "source_replica": source_replica.name,
            "topology": sorted(
                f"{names[r['id']]}:{'master' if 'master' in r['flags'] else 'replica of ' + names[r['master']]}"
                for r in rows
            ),
        }
        src = Resp(source.addr, source.port)
        tgt = Resp(target.addr, target.port)
        tag = next(
            f"m{i}" for i in range(1000) if int(src.call("CLUSTER", "KEYSLOT", f"{{m{i}}}")) <= 5460
        )
        slot = int(src.call("CLUSTER", "KEYSLOT", f"{{{tag}}}"))
        keys = [f"{{{tag}}}:{j}" for j in range(KEYS_PER_RUN)]
        for key in keys:
            src.call("SET", key, "v" * 100)
        run["slot"] = slot
        # clusterManagerMoveSlot: IMPORTING on the target first, then MIGRATING on the source
        run["setslot_importing"] = tgt.call(
            "CLUSTER", "SETSLOT", str(slot), "IMPORTING", source.node_id
        )
        run["setslot_migrating"] = src.call(
            "CLUSTER", "SETSLOT", str(slot), "MIGRATING", target.node_id
        )
        batch = src.call("CLUSTER", "GETKEYSINSLOT", str(slot), "10")
        if mode == "cached":
            warm = src.call(
                "MIGRATE", target.addr, str(target.port), "", "0", str(timeout_ms), "KEYS", batch[0]
            )
            run["warmup_migrate_reply"] = warm
            clients = tgt.call("CLIENT", "LIST")
            run["migrate_conn_seen_by_target"] = [
                ln.split()[1] for ln in clients.splitlines() if "cmd=restore-asking" in ln
            ]
            batch = src.call("CLUSTER", "GETKEYSINSLOT", str(slot), "10")
        run["migrate_keys"] = len(batch)
        tgt.close()

        stop = threading.Event()
        pollers = [Poller(n, names, source.node_id, stop) for n in nodes]
        prober = Prober(source, stop)
        threads = [threading.Thread(target=p.run, daemon=True) for p in [*pollers, prober]]
        for t in threads:
            t.start()
        time.sleep(0.3)

        rules = cut_rules(source, target)
        apply_rules(rules, add=True)
        t_cut = time.monotonic()
        time.sleep(0.05)
        mig = Resp(source.addr, source.port, timeout=3 * timeout_ms / 1000 + 60)
        healer: threading.Timer | None = None
        heal_at: list[float] = []
        heal_lock = threading.Lock()

        def heal() -> None:
            with heal_lock:
                if not heal_at:
                    heal_at.append(time.monotonic())
                    apply_rules(rules, add=False)

        wall0 = time.time()
        t0 = time.monotonic()
        if heal_after is not None:
            healer = threading.Timer(heal_after / 1000, heal)
            healer.start()
        mig.send(
            ("MIGRATE", target.addr, str(target.port), "", "0", str(timeout_ms), "KEYS", *batch)
        )
        reply = mig.read()
        t_reply = time.monotonic()
        if healer is not None:
            healer.cancel()
        heal()
        mig.close()

        def rel(t: float) -> float:
            return round((t - t0) * 1000, 1)

        run["cut_before_migrate_ms"] = rel(t_cut)
        run["migrate_reply"] = str(reply)
        run["migrate_reply_is_error"] = isinstance(reply, RespError)
        run["migrate_block_ms"] = rel(t_reply)
        run["heal_ms"] = rel(heal_at[0])

        # observe until every node is ok with no fail/fail?/disconnected entry, or the limit
        settle_deadline = time.monotonic() + SETTLE_LIMIT_S
        settled_at = None
        while time.monotonic() < settle_deadline:
            time.sleep(0.1)
            latest = [p.changes[-1] if p.changes else None for p in pollers]
            if all(
                ch is not None and ch["state"] == "ok" and settled_view(ch["view"]) for ch in latest
            ):
                settled_at = max(ch["t"] for ch in latest if ch is not None)
                if time.monotonic() - settled_at > 1.0:
                    break
        stop.set()
        for t in threads:
            t.join(timeout=10)

        for p in pollers:
            for ch in p.changes:
                ch["t_ms"] = rel(ch.pop("t"))
        run["settled_after_heal_ms"] = (
            max(0.0, round(rel(settled_at) - run["heal_ms"], 1)) if settled_at is not None else None
        )
        pings = prober.samples
        run["ping_probe"] = {
            "count": len(pings),
            "max_latency_ms": round(max((b - a) * 1000 for a, b in pings), 1) if pings else None,
            "answered_while_migrate_pending": sum(1 for a, b in pings if t0 < a and b < t_reply),
            "slow": [[rel(a), round((b - a) * 1000, 1)] for a, b in pings if (b - a) * 1000 > 20.0],
            "error": prober.error,
        }
        observers: dict[str, Any] = {}
        for p in pollers:
            nm = p.node.name
            gaps = [
                (rel(t1), rel(t2))
                for (t1, _), (t2, _) in zip(p.pong_updates, p.pong_updates[1:], strict=False)
                if t2 - t1 > PONG_GAP_S
            ]
            observers[nm] = {
                "polls": p.polls,
                "error": p.error,
                "stalls_ms": [[rel(a), round((b - a) * 1000, 1)] for a, b in p.stalls],
                "source_pfail_ms": first(
                    p.changes, lambda ch: has_flag(ch["view"], source.name, "fail?")
                ),
                "source_fail_ms": first(
                    p.changes, lambda ch: has_flag(ch["view"], source.name, "fail")
                ),
                "state_fail_ms": first(p.changes, lambda ch: ch["state"] == "fail"),
                "source_replica_master_ms": first(
                    p.changes,
                    lambda ch: flag_of(ch["view"], source_replica.name).startswith("master"),
                ),
                "source_becomes_replica_ms": first(
                    p.changes, lambda ch: flag_of(ch["view"], source.name).startswith("slave")
                ),
                "source_pong_gaps_ms": gaps,
                "changes": p.changes,
            }
        run["observers"] = observers
        run["log_events"] = sorted(
            (ev for n in nodes for ev in log_lines(n, wall0, rel(t_cut) - 200)),
            key=lambda e: (e["t_ms"], e["node"]),
        )
        # final slot state: keys on each side, and the MIGRATING/IMPORTING marks
        final: dict[str, Any] = {"views": {}}
        for n in nodes:
            c = Resp(n.addr, n.port)
            c.send(("CLUSTER", "NODES"), ("CLUSTER", "INFO"))
            n_rows, n_info = parse_nodes(c.read()), c.read()
            c.close()
            owner = next((r["id"] for r in n_rows if slot_owned(r["slots"], slot)), None)
            final["views"][n.name] = {
                "cluster_state": info_field(n_info, "cluster_state"),
                "cluster_slots_assigned": int(info_field(n_info, "cluster_slots_assigned")),
                "cluster_slots_fail": int(info_field(n_info, "cluster_slots_fail")),
                "owner_of_slot": names.get(owner) if owner else None,
            }
        for n in (source, target):
            c = Resp(n.addr, n.port)
            me = next(r for r in parse_nodes(c.call("CLUSTER", "NODES")) if "myself" in r["flags"])
            final[n.name] = {
                "role": c.call("ROLE")[0],
                "keys_in_slot": c.call("CLUSTER", "COUNTKEYSINSLOT", str(slot)),
                "open_slot_marks": [s for s in me["slots"] if s.startswith("[")],
            }
            c.close()
        run["final"] = final
        src.close()
    finally:
        remove_rules()
        for n in nodes:
            if n.proc is not None:
                stop_process(n.proc)
        shutil.rmtree(root, ignore_errors=True)
        if root in TEMP_DIRS:
            TEMP_DIRS.remove(root)
    return run


# --------------------------------------------------------------------------- summaries


def stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
        "n": len(values),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case in dict.fromkeys(r["case"] for r in runs):
        rs = [r for r in runs if r["case"] == case]

        def ms(key: str, who: str, rs: list[dict[str, Any]] = rs) -> list[float]:
            vals = []
            for r in rs:
                obs = r["observers"][r["roles"][who]]
                if obs[key] is not None:
                    vals.append(obs[key])
            return vals

        out[case] = {
            "migrate_block_ms": stats([r["migrate_block_ms"] for r in rs]),
            "replies": sorted({r["migrate_reply"] for r in rs}),
            "ping_max_latency_ms": stats(
                [r["ping_probe"]["max_latency_ms"] for r in rs if r["ping_probe"]["max_latency_ms"]]
            ),
            "pings_answered_while_migrate_pending": [
                r["ping_probe"]["answered_while_migrate_pending"] for r in rs
            ],
            "witness_master_sees_source_pfail_ms": stats(ms("source_pfail_ms", "witness_master")),
            "witness_master_sees_source_fail_ms": stats(ms("source_fail_ms", "witness_master")),
            "target_sees_source_pfail_ms": stats(ms("source_pfail_ms", "target")),
            "source_replica_promoted_ms": stats(ms("source_replica_master_ms", "source_replica")),
            "source_reports_itself_replica_ms": stats(ms("source_becomes_replica_ms", "source")),
            "settled_after_heal_ms": stats(
                [r["settled_after_heal_ms"] for r in rs if r["settled_after_heal_ms"] is not None]
            ),
            "runs_with_failover": sum(
                1
                for r in rs
                if r["observers"][r["roles"]["source_replica"]]["source_replica_master_ms"]
            ),
            "witnesses_first_free_link_to_source_ms": stats(
                [v for v in (first_link_free(r) for r in rs) if v is not None]
            ),
            "source_flags_a_peer_after_unblock": sum(1 for r in rs if source_flags_peer(r)),
            "final_per_run": [
                {
                    "source_role": r["final"][r["roles"]["source"]]["role"],
                    "source_keys_in_slot": r["final"][r["roles"]["source"]]["keys_in_slot"],
                    "target_keys_in_slot": r["final"][r["roles"]["target"]]["keys_in_slot"],
                    "target_cluster_state": r["final"]["views"][r["roles"]["target"]][
                        "cluster_state"
                    ],
                    "target_sees_slot_owner": r["final"]["views"][r["roles"]["target"]][
                        "owner_of_slot"
                    ],
                    "others_cluster_state": sorted(
                        {
                            v["cluster_state"]
                            for k, v in r["final"]["views"].items()
                            if k != r["roles"]["target"]
                        }
                    ),
                }
                for r in rs
            ],
            "n": len(rs),
        }
    return out


def first_link_free(run: dict[str, Any]) -> float | None:
    """When a node other than source and target first showed its bus link to the source
    disconnected (clusterCron frees a link whose ping waited NT/2 with no data)."""
    src, tgt = run["roles"]["source"], run["roles"]["target"]
    times = []
    for name, obs in run["observers"].items():
        if name in (src, tgt):
            continue
        for ch in obs["changes"]:
            item = next((x for x in ch["view"].split() if x.startswith(src + ":")), "")
            if item.endswith("/disc") and ch["t_ms"] >= 0:
                times.append(ch["t_ms"])
                break
    return min(times) if times else None


def source_flags_peer(run: dict[str, Any]) -> bool:
    """Did the source, once unblocked, flag any peer fail? or fail?"""
    src = run["roles"]["source"]
    for ch in run["observers"][src]["changes"]:
        for item in ch["view"].split():
            name = item.partition(":")[0]
            if name.rstrip("*") != src and {"fail", "fail?"} & set(
                flag_of(ch["view"], name.rstrip("*")).split(",")
            ):
                return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default="tests/data/migrate-behind-cut.json")
    parser.add_argument("--cases", default="", help="comma-separated case names (default all)")
    parser.add_argument(
        "--probes-only", action="store_true", help="only the kernel probes (no Redis)"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (iptables)", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    atexit.register(cleanup)
    wanted = set(filter(None, args.cases.split(",")))
    cases = [c for c in CASES if not wanted or c[0] in wanted]
    version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True
    ).stdout.strip()
    doc: dict[str, Any] = {
        "redis_version": version,
        "redis_cli_version": subprocess.run(
            ["redis-cli", "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "kernel": os.uname().release,
        "tcp_syn_retries": Path("/proc/sys/net/ipv4/tcp_syn_retries").read_text().strip(),
        "tcp_retries2": Path("/proc/sys/net/ipv4/tcp_retries2").read_text().strip(),
        "cluster_node_timeout_ms": NODE_TIMEOUT_MS,
        "cases": [
            {"name": n, "mode": m, "migrate_timeout_ms": t, "heal_after_ms": h}
            for n, m, t, h in cases
        ],
        "method": __doc__,
        "syn_drop_probe": {},
        "tcp_schedule_probe": {},
        "summary": {},
        "runs": [],
    }
    out = Path(args.out)
    try:
        doc["syn_drop_probe"] = syn_drop_probe()
        doc["tcp_schedule_probe"] = tcp_schedule_probe()
        if args.probes_only:
            doc["cases"] = []
            out.write_text(json.dumps(doc, indent=1) + "\n")
            cases = []
        for case in cases:
            for rep in range(args.reps):
                print(f"{case[0]} rep {rep}", flush=True)
                run = run_once(case, rep)
                print(
                    f"  block {run['migrate_block_ms']} ms reply {run['migrate_reply']!r}"
                    f" settled {run['settled_after_heal_ms']}",
                    flush=True,
                )
                doc["runs"].append(run)
                doc["summary"] = summarize(doc["runs"])
                out.write_text(json.dumps(doc, indent=1) + "\n")
    finally:
        cleanup()
    left = [
        r
        for r in ADDED_EVER
        if subprocess.run(["iptables", "-w", "-C", *r], capture_output=True).returncode == 0
    ]
    if left:
        print(f"WARNING: rules left behind: {left}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
