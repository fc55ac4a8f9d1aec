"""Measure how long a real Redis 7.0.15 full sync takes for a dataset of a given size.

Why: rcsim times a diskless full sync as the RDB's size over ``RDB_BYTES_PER_MS``
(simulator/replication.py, docs/redis-rules.md §20.1), a constant that was an order of
magnitude, never measured (issue 11 §2 and §4). This script produces
``tests/data/full-sync-size.json``, the data that constant is fitted to (one set of
datasets) and checked against (another). It is NOT part of the test suite (it needs
``redis-server`` 7.0.15) and ``python -m benchmarks`` does not run it (no ``bench_``
prefix).

Run from the repository root::

    python3 -m benchmarks.realredis_full_sync --reps 3 --out tests/data/full-sync-size.json

Method (also written into the JSON's ``method`` field): per dataset and repetition, a
master ``redis-server`` on 127.0.0.1 with the real-redis harness's settings (``save ""``,
``appendonly no``, ``repl-diskless-sync yes``, ``repl-diskless-sync-delay 0``; the rest
Redis's defaults, so the replica writes the streamed RDB to disk and loads it,
``repl-diskless-load disabled``), filled with ``DEBUG POPULATE COUNT key SIZE`` (keys
``key:0`` ... ``key:COUNT-1``, string values of SIZE bytes), then a replica started with
``--replicaof``. The sync's duration is read from the two servers' logs (millisecond
stamps, one host clock): from the master's "Starting BGSAVE for SYNC" (the child's fork:
where rcsim starts its transfer) to the replica's "MASTER <-> REPLICA sync: Finished with
success" (where ``master_link_status`` turns ``up``). Standalone servers, not a cluster:
the sync path is the same code (``replication.c``) and a cluster's gossip would only add
noise. Both processes are started and stopped here by their PIDs, in a fresh temporary
directory each.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import time

from benchmarks.realredis_servers import servers
from simulator.replication import RDB_KEY_OVERHEAD_BYTES

PORT = 7390
FIT = ((1_000_000, 10), (2_000_000, 10), (30_000, 1_000), (100_000, 1_000))
"""(keys, value bytes): the datasets the two calibrations are fitted to, the two ends of
the value sizes (10 B values are stored inline, ``embstr``; 1,000 B ones apart, ``raw``)."""
CHECK = ((100_000, 100), (300_000, 100), (1_000_000, 100))
"""The datasets they are checked against: a value size between the fitted ones."""
SMALL = ((1_000, 20), (10_000, 20))
"""A lesson's scale: recorded to show the fixed cost rcsim leaves out (fork, connect)."""
STAMP = re.compile(r"^\d+:[MSCX] (\d+ \w+ \d+ [\d:.]+) [.\-*#] (.*)$")


def command(port: int, *args: str) -> str:
    """One command on a fresh connection, its reply as redis-cli prints it."""
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return out.stdout.strip()


def log_time(path: str, text: str) -> float:
    """The stamp (ms since the epoch, the host's clock) of the first log line with ``text``."""
    with open(path) as log:
        for line in log:
            match = STAMP.match(line.strip())
            if match and text in match.group(2):
                when = datetime.datetime.strptime(match.group(1), "%d %b %Y %H:%M:%S.%f")
                return when.timestamp() * 1000
    raise SystemExit(f"{path}: no line with {text!r}")


def one_sync(count: int, size: int) -> dict[str, float | int]:
    with servers("rcsim-full-sync-") as started:
        sync = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
        started.start(PORT, *sync, "--enable-debug-command", "yes")
        command(PORT, "DEBUG", "POPULATE", str(count), "key", str(size))
        keys = int(command(PORT, "DBSIZE"))
        memory = re.search(r"used_memory:(\d+)", command(PORT, "INFO", "memory"))
        assert memory is not None
        started.start(PORT + 1, *sync, "--replicaof", "127.0.0.1", str(PORT))
        deadline = time.monotonic() + 600
        while "master_link_status:up" not in command(PORT + 1, "INFO", "replication"):
            if time.monotonic() > deadline:
                raise SystemExit(f"{count} keys of {size} B: the replica never synced")
            time.sleep(0.05)
        started_at = log_time(started.log(PORT), "Starting BGSAVE for SYNC")
        received = log_time(started.log(PORT + 1), "Flushing old data")
        loaded = log_time(started.log(PORT + 1), "Done loading RDB")
        finished = log_time(started.log(PORT + 1), "MASTER <-> REPLICA sync: Finished with success")
        return {
            "keys": keys,
            "value_bytes": size,
            "model_rdb_bytes": sum(
                len(f"key:{i}") + size + RDB_KEY_OVERHEAD_BYTES for i in range(count)
            ),
            "used_memory": int(memory.group(1)),
            "sync_ms": round(finished - started_at, 3),
            "transfer_ms": round(received - started_at, 3),
            "load_ms": round(loaded - received, 3),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default="tests/data/full-sync-size.json")
    args = parser.parse_args()
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    runs: dict[str, list[dict[str, float | int]]] = {"fit": [], "check": [], "small": []}
    for part, datasets in (("fit", FIT), ("check", CHECK), ("small", SMALL)):
        for count, size in datasets:
            for _ in range(args.reps):
                run = one_sync(count, size)
                print(part, json.dumps(run), flush=True)
                runs[part].append(run)
    report = {
        "redis": version.stdout.strip(),
        "host": f"{os.cpu_count()} CPUs, loopback, load {os.getloadavg()[0]:.1f} at the end",
        "measured": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "method": (__doc__ or "").split("field): ")[1],
        "model_rdb_bytes": f"sum over keys of len(key) + len(value) + {RDB_KEY_OVERHEAD_BYTES} "
        "(rcsim's RDB size, "
        "simulator/replication.py)",
        **runs,
    }
    with open(args.out, "w") as out:
        json.dump(report, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
