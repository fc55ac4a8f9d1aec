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

Then what else wakes the loop (``beforeSleep`` runs ``handleBlockedClientsTimeout``
after every pass, not only serverCron's): ``WAIT 2 T`` sent without reading its reply,
a ``PING`` from a second connection ``WAKE_AFTER_MS`` after it, then the WAIT's reply,
timed from the PING. Last, the replica is stopped (by PID) and ``WAIT 1 T`` asked of
the master alone: does its GETACK still move ``master_repl_offset`` (fed to the backlog
with no replica to send it to)?
"""

from __future__ import annotations

import argparse
import re
import select
import statistics
import time

from benchmarks.realredis_servers import Conn, emit, result_header, servers

TIMEOUT_MS = 50
WAKE_AFTER_MS = 60  # 10 ms past the timeout: most trials see no serverCron pass between


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
        woken = _woken_by_a_command(master, Conn(7452), max(trials // 10, 1))
        before = int(_info(master)["master_repl_offset"])
        started.processes[1].terminate()
        started.processes[1].wait(timeout=30)
        while "connected_slaves:0" not in "\n".join(f"{k}:{v}" for k, v in _info(master).items()):
            time.sleep(0.05)
        lone_reply = master.cmd(b"WAIT", b"1", str(TIMEOUT_MS).encode())
        lone_growth = int(_info(master)["master_repl_offset"]) - before
    return {
        "trials": trials,
        "blocked_wait_ms": _summary(blocked_ms),
        "offset_growth_after_blocked_wait": sorted(set(growth)),
        "master_offset_minus_acked_offset": sorted(set(behind)),
        "unblocked_wait_ms": _summary(again_ms),
        "offset_growth_after_unblocked_wait": sorted(set(again_growth)),
        "timeout_wait": {"timeout_ms": TIMEOUT_MS, **_summary(timeout_ms)},
        "timeout_wait_woken_by_a_command": woken,
        "wait_with_no_replica": {
            "reply": (lone_reply or b"").decode(),
            "offset_growth": lone_growth,
        },
    }


def _woken_by_a_command(master: Conn, other: Conn, trials: int) -> dict[str, object]:
    """``WAIT 2 TIMEOUT_MS`` (one replica), then a PING from ``other`` WAKE_AFTER_MS
    after it: the WAIT's reply timed from the PING's send, for the trials in which it
    had not come before the PING (a serverCron pass in between answers those)."""
    after_ping, before_ping = [], 0
    for i in range(trials):
        sent = time.perf_counter()
        master.send(b"WAIT", b"2", str(TIMEOUT_MS).encode())
        time.sleep(max(0.0, sent + WAKE_AFTER_MS / 1000 - time.perf_counter()))
        if select.select([master.sock], [], [], 0)[0]:
            before_ping += 1
            assert master.reply() == b":1"
        else:
            pinged = time.perf_counter()
            other.send(b"PING")
            assert master.reply() == b":1"
            after_ping.append((time.perf_counter() - pinged) * 1000)
            assert other.reply() == b"+PONG"
        time.sleep(0.13 + (i % 7) / 100)  # another cron phase each trial
    return {
        "timeout_ms": TIMEOUT_MS,
        "ping_after_ms": WAKE_AFTER_MS,
        "trials": trials,
        "answered_before_the_ping": before_ping,
        "answered_after_the_ping_ms": _summary(after_ping),
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
        **result_header(
            "WAIT on a real master with one replica over loopback",
            ".venv/bin/python -m benchmarks.realredis_wait --out tests/data/wait-getack.json",
        ),
        **measure(args.trials),
    }
    print(emit(result, args.out), end="")


if __name__ == "__main__":
    main()
