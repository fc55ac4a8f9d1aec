"""What one command costs a real Redis 7.0.15 thread, in CPU time, all of it.

Why: rcsim's service model (``simulator/dataplane/service.py``) charges each command
``CALIBRATION_OVERHEAD_US`` outside ``call()`` (estimated from redis.io's benchmark page),
``CALIBRATION_CALL_US`` inside it, ``CALIBRATION_KEY_US`` per extra key (fitted on MSET
alone) and what a subscriber a PUBLISH reaches costs (then one estimated number,
now ``CALIBRATION_SUBSCRIBER_WRITE_US`` per pass, fitted here).
None of the three estimated or fitted ones had been checked against another
measurement (issue 11 §4). Produces ``tests/data/service-cpu.json``; not part of the
suite (needs ``redis-server`` and ``redis-benchmark``).

    .venv/bin/python -m benchmarks.realredis_service_cpu --out tests/data/service-cpu.json

Method: one standalone server on 127.0.0.1:7460 (``save ""``, ``appendonly no``, started
and stopped here by PID), 100,000 keys ``key:000000000000``... written first. Per
workload: ``INFO cpu`` and ``INFO commandstats`` before and after a ``redis-benchmark``
run (50 connections, no pipelining, random keys among the 100,000). The server's own
CPU time (``used_cpu_user + used_cpu_sys``: its main thread does all the work) over the
commands it ran is the cost of one command, read, parse, ``call()``, reply write and
event-loop share included; wall-clock rates are not used, so a busy host matters less.
``usec_per_call`` is the part inside ``call()``. PUBLISH runs with 0 and 100 subscribers
(raw sockets that SUBSCRIBE and are drained by a thread here). GET and PUBLISH to 100
subscribers also run from one connection: with 50, one event-loop pass serves many
commands and one socket write carries many messages to a subscriber. 3 runs each.
"""

from __future__ import annotations

import argparse
import select
import socket
import statistics
import subprocess
import threading

from benchmarks.realredis_servers import Conn, emit, load_average, result_header, servers

PORT = 7460
KEYS = 100_000
REQUESTS = 200_000
REPS = 3


def _info(conn: Conn, section: bytes) -> dict[str, str]:
    text = (conn.cmd(b"INFO", section) or b"").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def _cpu_s(conn: Conn) -> float:
    info = _info(conn, b"cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _stats(conn: Conn, command: str) -> tuple[int, float]:
    raw = _info(conn, b"commandstats").get(f"cmdstat_{command}", "")
    fields = dict(part.split("=") for part in raw.split(",") if "=" in part)
    return int(fields.get("calls", 0)), float(fields.get("usec_per_call", 0.0))


def _bench(*args: str, requests: int = REQUESTS, clients: int = 50) -> None:
    subprocess.run(
        ["redis-benchmark", "-p", str(PORT), "-c", str(clients), "-n", str(requests),
         "-r", str(KEYS), "-q", *args],
        check=True, capture_output=True,
    )  # fmt: skip


def _measure(
    conn: Conn, command: str, *args: str, requests: int = REQUESTS, clients: int = 50
) -> dict[str, object]:
    """``REPS`` runs; per run the server's CPU µs per command and ``usec_per_call``."""
    cpu, inside = [], []
    for _ in range(REPS):
        conn.cmd(b"CONFIG", b"RESETSTAT")
        before = _cpu_s(conn)
        _bench(*args, requests=requests, clients=clients)
        after = _cpu_s(conn)
        calls, usec_per_call = _stats(conn, command)
        cpu.append(round((after - before) * 1e6 / calls, 3))
        inside.append(usec_per_call)
    return {
        "clients": clients,
        "calls_per_run": requests,
        "cpu_us_per_command": cpu,
        "cpu_us_per_command_median": statistics.median(cpu),
        "usec_per_call": inside,
        "usec_per_call_median": statistics.median(inside),
    }


class Subscribers:
    """``count`` raw connections subscribed to ``channel``, drained by a thread."""

    def __init__(self, count: int, channel: bytes) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select(self.socks, [], [], 0.05)
            for sock in ready:
                sock.recv(1 << 16)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.socks:
            sock.close()


def measure() -> dict[str, object]:
    keys10 = ["key:__rand_int__"] * 10  # each placeholder draws its own key
    with servers("rcsim-service-cpu-") as started:
        started.start(PORT)
        conn = Conn(PORT)
        _bench("-t", "set", requests=KEYS)  # the keys the reads find
        result: dict[str, object] = {
            "get": _measure(conn, "get", "-t", "get"),
            "set": _measure(conn, "set", "-t", "set"),
            "mset_10_keys": _measure(conn, "mset", "-t", "mset"),
            "mget_10_keys": _measure(conn, "mget", "MGET", *keys10),
            "exists_10_keys": _measure(conn, "exists", "EXISTS", *keys10),
            "publish_0_subscribers": _measure(
                conn, "publish", "PUBLISH", "ch", "hello", requests=50_000
            ),
            "get_1_client": _measure(conn, "get", "-t", "get", requests=50_000, clients=1),
        }
        subscribers = Subscribers(100, b"ch")
        try:
            result["publish_100_subscribers"] = _measure(
                conn, "publish", "PUBLISH", "ch", "hello", requests=20_000
            )
            result["publish_100_subscribers_1_client"] = _measure(
                conn, "publish", "PUBLISH", "ch", "hello", requests=10_000, clients=1
            )
        finally:
            subscribers.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    result = {
        **result_header(
            "CPU time per command of one real Redis thread (all of it, and inside call())",
            ".venv/bin/python -m benchmarks.realredis_service_cpu --out tests/data/service-cpu.json",
        ),
        "load_before": load_average(),
        "measured": measure(),
        "load_after": load_average(),
    }
    print(emit(result, args.out), end="")


if __name__ == "__main__":
    main()
