"""RESP3 for client-side caching on the real side (rcsim/verify/resp.py,
rcsim/verify/tracking.py): push frames and the other RESP3 types are parsed, and a
tracking client keeps, invalidates, flushes and reports its local cache as rcsim's does.
No Redis: a scripted peer on a loopback socket plays the node's side of the protocol."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from rcsim.verify.resp import Connection, Push, RespError
from rcsim.verify.scenario_api import model
from rcsim.verify.tracking import (
    LocalCacheWorkload,
    TrackingClient,
    invalidated_keys,
    tracking_command,
)
from simulator.harness.reference import CacheOptions
from simulator.scenario.errors import Loc


def reader_over(sock: socket.socket) -> Connection:
    """A Connection reading from an already connected socket."""
    connection = Connection.__new__(Connection)
    connection.host, connection.port, connection.sock, connection._buffer = "peer", 0, sock, b""
    return connection


def test_resp3_frames_are_parsed() -> None:
    near, far = socket.socketpair()
    reader = reader_over(near)
    far.sendall(
        b">2\r\n$10\r\ninvalidate\r\n*2\r\n$6\r\nuser:1\r\n$6\r\nuser:2\r\n"
        b">2\r\n$10\r\ninvalidate\r\n_\r\n"
        b"%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n"
        b"_\r\n#t\r\n#f\r\n,1.5\r\n(12345678901234567890\r\n=8\r\ntxt:abcd\r\n"
        b"~2\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3\r\n$1\r\nx\r\n!9\r\nERR bad x\r\n"
        b"*2\r\n$3\r\nGET\r\n$-1\r\n"
    )
    first = reader.read_reply()
    assert isinstance(first, Push) and first == ["invalidate", ["user:1", "user:2"]]
    assert invalidated_keys(first) == (True, ("user:1", "user:2"))
    flush = reader.read_reply()
    assert isinstance(flush, Push) and invalidated_keys(flush) == (True, None)
    assert reader.read_reply() == {"server": "redis", "proto": 3}
    assert [reader.read_reply() for _ in range(6)] == [
        None,
        True,
        False,
        1.5,
        12345678901234567890,
        "abcd",
    ]
    assert reader.read_reply() == [1, 2]
    assert reader.read_reply() == "x"  # the attribute is skipped, its reply kept
    error = reader.read_reply()
    assert isinstance(error, RespError) and str(error) == "ERR bad x"
    plain = reader.read_reply()
    assert plain == ["GET", None] and not isinstance(plain, Push)
    assert invalidated_keys(Push(["message", "x"])) == (False, None)
    near.close()
    far.close()


def test_tracking_command_has_the_mode_and_prefixes() -> None:
    assert tracking_command(CacheOptions()) == ("CLIENT", "TRACKING", "ON")
    bcast = CacheOptions("bcast", ("user:", "page:"), ())
    assert tracking_command(bcast) == (
        "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "page:",
    )  # fmt: skip


def bulk(value: str | None) -> bytes:
    if value is None:
        return b"$-1\r\n"
    return b"$%d\r\n%s\r\n" % (len(value), value.encode())


def invalidate(*keys: str) -> bytes:
    return b">2\r\n$10\r\ninvalidate\r\n*%d\r\n" % len(keys) + b"".join(bulk(k) for k in keys)


class ScriptedNode:
    """One node's side of one connection: HELLO and CLIENT TRACKING answered, each GET
    answered from ``values`` followed by ``after[key]`` (e.g. an invalidation)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = ("127.0.0.1", self.listener.getsockname()[1])
        self.values: dict[str, str] = {}
        self.after: dict[str, bytes] = {}
        self.commands: list[list[Any]] = []
        self.peer: socket.socket | None = None
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        peer, _ = self.listener.accept()
        self.peer = peer
        self.ready.set()
        reader = reader_over(peer)
        try:
            while True:
                command = reader.read_reply()
                self.commands.append(command)
                word = str(command[0]).upper()
                if word == "HELLO":
                    peer.sendall(b"%1\r\n$5\r\nproto\r\n:3\r\n")
                elif word == "CLIENT":
                    peer.sendall(b"+OK\r\n")
                elif word == "GET":
                    key = str(command[1])
                    peer.sendall(bulk(self.values.get(key)) + self.after.pop(key, b""))
                else:
                    peer.sendall(b"-ERR unknown\r\n")
        except (OSError, ConnectionError):
            pass

    def push(self, frame: bytes) -> None:
        assert self.peer is not None
        self.peer.sendall(frame)

    def die(self) -> None:
        """The node's process is gone: the kernel closes its sockets."""
        assert self.peer is not None
        self.peer.shutdown(socket.SHUT_RDWR)
        self.peer.close()
        self.listener.close()


def until(predicate: Callable[[], bool]) -> None:
    for _ in range(500):
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("the condition never held")


def reader_client(
    node: ScriptedNode, flush_on: tuple[str, ...], current: dict[str, str]
) -> tuple[LocalCacheWorkload, TrackingClient, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []

    def log(t: float, kind: str, where: str | None = None, **fields: Any) -> None:
        events.append({"kind": kind, "node": where, **fields})

    client = TrackingClient(
        "careful",
        "127.0.0.1",
        lambda: [node.address],
        lambda address: "n1",
        CacheOptions("default", (), flush_on),
        lambda: 0.0,
        log,
    )
    client.slots = [node.address] * 16384
    spec = model.ClientSpec(
        name="careful", rate=0.0, writes=0.0, keys="user:{i}", key_count=4, loc=Loc("t", 1, 1)
    )
    workload = LocalCacheWorkload(
        client,
        spec,
        lambda key: (True, current.get(key)),
        1,
        [],
        set(),
        threading.Lock(),
        lambda: 0.0,
        lambda _node, fields: events.append({"kind": "request", **fields}),
    )
    return workload, client, events


@pytest.mark.parametrize("flush_on", [("disconnect",), ()])
def test_a_tracking_client_caches_is_invalidated_and_loses_its_connection(
    flush_on: tuple[str, ...],
) -> None:
    node = ScriptedNode()
    current = {"user:1": "a1", "user:2": "b1"}
    node.values.update(current)
    workload, client, events = reader_client(node, flush_on, current)
    try:
        assert workload.command(False, "user:1") == ("ok", "a1")  # a request: a miss
        assert node.commands[:2] == [["HELLO", "3"], ["CLIENT", "TRACKING", "ON"]]
        assert client.cache.get("user:1") == ("a1", "n1")
        assert workload.command(False, "user:1") == ("ok", "a1")  # from memory
        assert [e["kind"] for e in events] == ["request", "local_read"]
        assert events[-1] == {
            "kind": "local_read", "node": "n1", "client": "careful", "key": "user:1",
            "value": "a1", "stale": False,
        }  # fmt: skip

        current["user:1"] = "a2"  # the master changed it; the message is still on its way
        workload.command(False, "user:1")
        assert events[-1]["stale"] is True and client.cache.stale == 1
        node.push(invalidate("user:1"))
        until(lambda: client.cache.get("user:1") is None)
        assert events[-1] == {
            "kind": "invalidation", "node": "n1", "target": "careful", "keys": ["user:1"],
            "dropped": 1,
        }  # fmt: skip

        # the reply and an invalidation sent right after it, in one packet: the value is
        # stored before the message is read, so the message drops it
        node.after["user:2"] = invalidate("user:2")
        assert workload.command(False, "user:2") == ("ok", "b1")
        until(lambda: client.cache.invalidations == 2)
        assert client.cache.get("user:2") is None

        workload.command(False, "user:1")
        assert client.cache.get("user:1") == ("a1", "n1")
        node.die()
        until(lambda: any(e["kind"] == "tracking_lost" for e in events))
        lost = [e for e in events if e["kind"] == "tracking_lost"]
        assert lost == [
            {
                "kind": "tracking_lost",
                "node": "n1",
                "target": "careful",
                "how": "closed",
                "cached": 1,
            }
        ]
        flushes = [e for e in events if e["kind"] == "cache_flush"]
        if flush_on:
            assert flushes == [
                {"kind": "cache_flush", "node": "n1", "client": "careful", "reason": "disconnect",
                 "dropped": 1, "slot": None}
            ]  # fmt: skip
            assert client.cache.get("user:1") is None
        else:  # careless: keeps what nobody will ever invalidate
            assert flushes == []
            assert workload.command(False, "user:1") == ("ok", "a1")
    finally:
        client.close()
