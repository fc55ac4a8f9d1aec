"""What active expiry costs a real Redis 7.0.15 per key, when its cycles hit their limit.

Why: rcsim's ``activeExpireCycle`` charges ``CALIBRATION_EXPIRE_SAMPLE_US`` per sampled
key and ``CALIBRATION_EXPIRE_DELETE_US`` per expired one
(``simulator/dataplane/expires.py``), bounded only by a run that never reached the slow
cycle's 25 ms limit (issue 11 §4: "no measurement reaches the time limit yet").
Produces ``tests/data/expire-cpu.json``; not part of the suite (needs ``redis-server``).

    .venv/bin/python -m benchmarks.realredis_expire_cpu --out tests/data/expire-cpu.json

Method: one standalone server on 127.0.0.1:7461 (``save ""``, ``appendonly no``, hz 10,
started and stopped here by PID). Per dataset: ``DEBUG POPULATE`` the keys, then
pipelined ``PEXPIREAT`` give ``expiring`` of them one deadline 3 s ahead and the rest
(``lasting``) a deadline a day ahead. From the deadline on, ``INFO stats`` every 100 ms
until every expiring key is gone: ``expire_cycle_cpu_milliseconds`` (the cycles' own
CPU, measured by Redis), ``expired_keys`` and ``expired_time_cap_reached_count``. The
lasting keys are sampled but never expired, which separates the two costs:
CPU = sample_us x sampled + delete_us x expired, with sampled = expired / stale share.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.realredis_servers import Conn, emit, result_header, servers

PORT = 7461
DATASETS = (
    {"name": "all_expiring", "expiring": 400_000, "lasting": 0},
    {"name": "half_expiring", "expiring": 200_000, "lasting": 200_000},
    {"name": "quarter_expiring", "expiring": 100_000, "lasting": 300_000},
)


def _stats(conn: Conn) -> dict[str, int]:
    text = (conn.cmd(b"INFO", b"stats") or b"").decode()
    fields = dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)
    names = ("expired_keys", "expire_cycle_cpu_milliseconds", "expired_time_cap_reached_count")
    return {name: int(fields[name]) for name in names}


def _pexpireat(conn: Conn, first: int, count: int, deadline_ms: int) -> None:
    """Pipelined PEXPIREAT of ``key:<first>`` .. ``key:<first+count-1>`` (DEBUG POPULATE's
    names), in batches, every reply read."""
    batch = 10_000
    when = str(deadline_ms).encode()
    for start in range(first, first + count, batch):
        end = min(start + batch, first + count)
        parts = []
        for i in range(start, end):
            key = b"key:%d" % i
            parts.append(b"*3\r\n$9\r\nPEXPIREAT\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                len(key), key, len(when), when))  # fmt: skip
        conn.sock.sendall(b"".join(parts))
        for _ in range(end - start):
            conn.replies.readline()


def _run(conn: Conn, expiring: int, lasting: int) -> dict[str, object]:
    conn.cmd(b"FLUSHALL")
    conn.cmd(b"DEBUG", b"POPULATE", str(expiring + lasting).encode())
    now_ms = int(time.time() * 1000)
    deadline = now_ms + 3000
    _pexpireat(conn, 0, expiring, deadline)
    _pexpireat(conn, expiring, lasting, now_ms + 86_400_000)
    while time.time() * 1000 < deadline:
        time.sleep(0.01)
    conn.cmd(b"CONFIG", b"RESETSTAT")
    begun = time.perf_counter()
    timeline = []
    while True:
        time.sleep(0.1)
        stats = _stats(conn)
        timeline.append({"t_ms": round((time.perf_counter() - begun) * 1000), **stats})
        if stats["expired_keys"] >= expiring or time.perf_counter() - begun > 120:
            break
    last = timeline[-1]
    return {
        "expiring": expiring,
        "lasting": lasting,
        "expired_keys": last["expired_keys"],
        "expire_cycle_cpu_ms": last["expire_cycle_cpu_milliseconds"],
        "time_cap_reached": last["expired_time_cap_reached_count"],
        "wall_ms_to_expire_all": last["t_ms"],
        "cpu_us_per_expired_key": round(
            last["expire_cycle_cpu_milliseconds"] * 1000 / max(1, last["expired_keys"]), 3
        ),
        "timeline": timeline,
    }


def idle_cycles(hz: int, window_s: int = 30) -> list[dict[str, object]]:
    """What the cycles cost when nothing is due: ``expire_cycle_cpu_milliseconds`` over
    ``window_s`` with no volatile key, 4,000 and 400,000 (each a day ahead), ``hz``
    slow cycles a second (each samples 20 keys and stops)."""
    runs = []
    with servers("rcsim-expire-idle-") as started:
        started.start(PORT, "--enable-debug-command", "local", "--hz", str(hz))
        conn = Conn(PORT)
        for lasting in (0, 4_000, 400_000):
            conn.cmd(b"FLUSHALL")
            if lasting:
                conn.cmd(b"DEBUG", b"POPULATE", str(lasting).encode())
                _pexpireat(conn, 0, lasting, int(time.time() * 1000) + 86_400_000)
            time.sleep(1)
            conn.cmd(b"CONFIG", b"RESETSTAT")
            time.sleep(window_s)
            runs.append({"hz": hz, "lasting": lasting, "window_s": window_s, **_stats(conn)})
    return runs


def measure(reps: int) -> list[dict[str, object]]:
    runs = []
    with servers("rcsim-expire-cpu-") as started:
        started.start(PORT, "--enable-debug-command", "local")
        conn = Conn(PORT)
        for _ in range(reps):
            for dataset in DATASETS:
                run = _run(conn, int(dataset["expiring"]), int(dataset["lasting"]))
                runs.append({"dataset": dataset["name"], **run})
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--out", default="")
    parser.add_argument("--idle", action="store_true", help="only the cycles' idle cost")
    args = parser.parse_args()
    if args.idle:
        idle = {
            **result_header(
                "the active expire cycles' CPU with nothing due",
                f".venv/bin/python -m benchmarks.realredis_expire_cpu --idle --out {args.out}",
            ),
            "runs": idle_cycles(10) + idle_cycles(100),
        }
        print(emit(idle, args.out, indent=1), end="")
        return
    result = {
        **result_header(
            "active expiry's CPU per key on a real server whose cycles hit their limit",
            ".venv/bin/python -m benchmarks.realredis_expire_cpu --out tests/data/expire-cpu.json",
        ),
        "runs": measure(args.reps),
    }
    emit(result, args.out, indent=1)
    summary = [
        {k: run[k] for k in run if k != "timeline"}
        for run in result["runs"]  # type: ignore[union-attr]
    ]
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
