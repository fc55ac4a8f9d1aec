"""CLIENT TRACKING on the RESP front (docs/redis-rules.md §27): real clients turn it on,
their reads are remembered, and RESP3 connections get ``>2 invalidate [key]`` pushes as
a real 7.0.15 sends them (tests/data/client-tracking.json)."""

from __future__ import annotations

import socket
import time

from simulator.dataplane import install
from simulator.resp.client import ClientState, PortMap
from simulator.resp.commands import Context, dispatch
from simulator.resp.protocol import OK, Error, Map
from simulator.simulation import Simulation
from tests.test_resp_live import HOST, Live, key_on, small_cluster


def resp(sim: Simulation, state: ClientState, node: str, *argv: str) -> object:
    ctx = Context(sim, node, state, PortMap(7500), [state])
    return dispatch(ctx, [a.encode() for a in argv]).replies[0]


def test_client_tracking_parses_like_client_command() -> None:
    """§27.2: clientCommand's checks and CLIENT TRACKINGINFO's map."""
    sim = Simulation(masters=3, seed=1)
    install(sim)
    state = ClientState(1, "resp:test:1", "127.0.0.1:50000", "127.0.0.1:7500", 0)
    assert resp(sim, state, "n1", "CLIENT", "TRACKINGINFO") == Map(
        (("flags", ["off"]), ("redirect", -1), ("prefixes", []))
    )
    assert resp(sim, state, "n1", "CLIENT", "TRACKING", "ON", "PREFIX", "a") == Error(
        "ERR PREFIX option requires BCAST mode to be enabled"
    )
    assert resp(sim, state, "n1", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:") == OK
    overlap = resp(sim, state, "n1", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "us")
    assert isinstance(overlap, Error) and "overlaps with an existing prefix 'user:'" in str(overlap)
    assert resp(sim, state, "n1", "CLIENT", "TRACKING", "ON") == Error(
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
        "and then re-enabling it with a different mode."
    )
    assert resp(sim, state, "n1", "CLIENT", "TRACKINGINFO") == Map(
        (("flags", ["on", "bcast"]), ("redirect", 0), ("prefixes", ["user:"]))
    )
    assert resp(sim, state, "n1", "CLIENT", "TRACKING", "OFF") == OK
    refused = resp(sim, state, "n1", "CLIENT", "TRACKING", "ON", "NOLOOP")
    assert isinstance(refused, Error) and "not modelled" in str(refused)


def read_until(sock: socket.socket, wanted: bytes, timeout: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while wanted not in data:
        assert time.monotonic() < deadline, f"never got {wanted!r}, got {data!r}"
        data += sock.recv(4096)
    return data


def test_a_resp3_tracking_client_gets_an_invalidate_push() -> None:
    """§27.1 (real: standalone.default): GET, then another client's SET sends
    ``>2 invalidate [key]`` on the reader's connection; a second SET sends nothing."""
    live = Live(small_cluster())
    try:
        key = live.call(lambda: key_on(live, "n1"))
        reader = socket.create_connection((HOST, live.port("n1")), timeout=5)
        reader.sendall(b"HELLO 3\r\nCLIENT TRACKING ON\r\n")
        read_until(reader, b"+OK\r\n")
        reader.sendall(f"GET {key}\r\n".encode())
        read_until(reader, b"_\r\n")
        writer = socket.create_connection((HOST, live.port("n1")), timeout=5)
        writer.sendall(f"SET {key} v1\r\nSET {key} v2\r\n".encode())
        read_until(writer, b"+OK\r\n+OK\r\n")
        push = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$%d\r\n%s\r\n" % (len(key), key.encode())
        got = read_until(reader, push)
        reader.sendall(b"PING\r\n")
        rest = read_until(reader, b"+PONG\r\n")
        assert (got + rest).count(b"invalidate") == 1
        reader.close()
        writer.close()
    finally:
        live.close()
