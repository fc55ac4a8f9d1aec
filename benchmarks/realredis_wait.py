"""How a real Redis 7.0.15 master answers ``WAIT``: how soon, and what it costs the
replication stream.

Why: rcsim answered a blocked WAIT on a 10 ms poll of its replicas' offsets
(``PAUSE_POLL_MS``, issue 11 §4). Redis instead sends ``REPLCONF GETACK *`` down the
stream in ``beforeSleep`` and answers when the replica's ``REPLCONF ACK`` comes back
(``waitCommand``, ``sendGetackToReplicas``, ``processClientsWaitingReplicas``).
Produces ``tests/data/wait-getack.json``; not part of the suite (needs
``redis-server``), and ``python -m benchmarks`` does not run it.

    .venv/bin/python -m benchmarks.realredis_wait --out tests/data/wait-getack.json

Method: a standalone master and its replica on 127.0.0.1 (ports 7452/7453, the
real-redis harness's settings, started and stopped here by PID), raw RESP connections
with TCP_NODELAY. Per trial: ``SET k i``, then ``WAIT 1 1000`` (timed), then the
master's ``INFO replication``: how far ``master_repl_offset`` moved past the offset
right after the SET, and what the replica's ACKed ``offset`` is. Then ``WAIT 1 0``
again with no write in between (answered without blocking), and ``WAIT 2 T`` with
only one replica (answered at its timeout), timed.
"""

from __future__ import annotations

import argparse
import datetime
import re
import statistics
import time

from benchmarks.realredis_servers import Conn, emit, redis_version, servers

TIMEOUT_MS = 50


def _info(conn: Conn) -> dict[str, str]:
    text = (conn.cmd(b"INFO", b"replication") or b"").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def _acked(info: dict[str, str]) -> int:
    match = re.search(r"offset=(\d+)", info.get("slave0", ""))
    return int(match.group(1)) if match else -1


def measure(trials: int) -> dict[str, object]:
    with servers("rcsim-wait-") as started:
        master, _ = started.master_and_replica(7452)
        time.sleep(1.5)  # past the first replication PING and ACKs
        blocked_ms, growth, behind, again_ms, again_growth, timeout_ms = [], [], [], [], [], []
        for i in range(trials):
            master.cmd(b"SET", b"k", str(i).encode())
            after_set = int(_info(master)["master_repl_offset"])
            began = time.perf_counter()
            reply = master.cmd(b"WAIT", b"1", b"1000")
            blocked_ms.append((time.perf_counter() - began) * 1000)
            assert reply == b":1", reply
            info = _info(master)
            offset = int(info["master_repl_offset"])
            growth.append(offset - after_set)
            behind.append(offset - _acked(info))
            began = time.perf_counter()
            assert master.cmd(b"WAIT", b"1", b"0") == b":1"
            again_ms.append((time.perf_counter() - began) * 1000)
            again_growth.append(int(_info(master)["master_repl_offset"]) - offset)
            if i % 10 == 0:
                began = time.perf_counter()
                assert master.cmd(b"WAIT", b"2", str(TIMEOUT_MS).encode()) == b":1"
                timeout_ms.append((time.perf_counter() - began) * 1000)
            time.sleep(0.002)
    return {
        "trials": trials,
        "blocked_wait_ms": _summary(blocked_ms),
        "offset_growth_after_blocked_wait": sorted(set(growth)),
        "master_offset_minus_acked_offset": sorted(set(behind)),
        "unblocked_wait_ms": _summary(again_ms),
        "offset_growth_after_unblocked_wait": sorted(set(again_growth)),
        "timeout_wait": {"timeout_ms": TIMEOUT_MS, **_summary(timeout_ms)},
    }


def _summary(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 3),
        "p90": round(ordered[int(len(ordered) * 0.9)], 3),
        "max": round(ordered[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    result = {
        "what": "WAIT on a real master with one replica over loopback",
        "redis": redis_version(),
        "date": datetime.date.today().isoformat(),
        "command": ".venv/bin/python -m benchmarks.realredis_wait --out tests/data/wait-getack.json",
        **measure(args.trials),
    }
    print(emit(result, args.out), end="")


if __name__ == "__main__":
    main()
