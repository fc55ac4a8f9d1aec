"""How soon a real Redis 7.0.15 replica has a write after its master answered it.

Why: rcsim's ``ClusterData.apply_delay_ms`` (simulator/dataplane/model.py) was an
unmeasured 0-1 ms (issue 11 §4). Produces ``tests/data/replica-lag.json``; not part of
the suite (needs ``redis-server``), and ``python -m benchmarks`` does not run it.

    .venv/bin/python -m benchmarks.realredis_replica_lag --out tests/data/replica-lag.json

Method: a standalone master and its replica on 127.0.0.1 (ports 7450/7451, the
real-redis harness's settings, started and stopped here by PID, a fresh temporary
directory), two raw RESP connections with TCP_NODELAY. Per write: ``SET k i`` on the
master; as soon as its ``+OK`` is read, ``GET k`` on the replica, repeated until it
returns ``i``; the time from the ``+OK`` to that reply, and how many GETs it took; 1 ms
between writes. Also the GET's own round trip on the replica (2,000 of a missing key):
a first GET that already sees the write bounds the lag by one such round trip.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import time

from benchmarks.realredis_servers import servers


def measure(writes: int) -> dict[str, float | int]:
    with servers("rcsim-replica-lag-") as started:
        master, replica = started.master_and_replica(7450)
        began = time.perf_counter()
        for _ in range(2000):
            replica.cmd(b"GET", b"nokey")
        poll_rtt = (time.perf_counter() - began) / 2000 * 1e3
        lags: list[float] = []
        polls: list[int] = []
        for i in range(writes):
            value = str(i).encode()
            master.cmd(b"SET", b"k", value)
            began, count = time.perf_counter(), 0
            while True:
                count += 1
                if replica.cmd(b"GET", b"k") == value:
                    break
            lags.append((time.perf_counter() - began) * 1e3)
            polls.append(count)
            time.sleep(0.001)
        cuts = statistics.quantiles(lags, n=20)
        return {
            "writes": writes,
            "poll_rtt_ms": round(poll_rtt, 4),
            "lag_ms_median": round(statistics.median(lags), 4),
            "lag_ms_p5": round(cuts[0], 4),
            "lag_ms_p95": round(cuts[-1], 4),
            "lag_ms_max": round(max(lags), 4),
            "seen_by_the_first_get": sum(1 for n in polls if n == 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--out", default="tests/data/replica-lag.json")
    args = parser.parse_args()
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    runs = [measure(args.writes) for _ in range(args.runs)]
    for run in runs:
        print(json.dumps(run), flush=True)
    report = {
        "redis": version.stdout.strip(),
        "measured": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": f"{os.cpu_count()} CPUs, loopback, load {os.getloadavg()[0]:.1f} at the end",
        "method": (__doc__ or "").split("Method: ")[1],
        "runs": runs,
    }
    with open(args.out, "w") as out:
        json.dump(report, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
