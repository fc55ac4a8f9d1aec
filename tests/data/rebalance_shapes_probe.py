"""Real ``redis-cli --cluster rebalance`` runs of the three shapes in resharding.json,
three times each, on an idle host: a second measurement of the rebalance rows that
``rcsim fidelity --part reshard`` compares with (issue 11 §4; tests/data/README.md).

Run: ``cd tests/data && python3 rebalance_shapes_probe.py > rebalance-shapes-idle.json``
with redis-server/redis-cli 7.0.15 on the PATH and nothing else busy on the host. Per
round, as resharding.json's rebalance runs: M masters (127.0.0.1:7640 and up, no
replicas, ``save ""``, node-timeout 5000) made by ``redis-cli --cluster create``, 5000
keys (``key:<i>``) written through their owners, E empty masters joined with
``--cluster add-node``, then ``redis-cli --cluster rebalance --cluster-use-empty-masters``
timed as a process. Shapes (M+E): 3+1, 3+2, 4+1. Servers are stopped by PID.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from setslot_cost_probe import Conn, start_servers, stop_servers

FIRST_PORT = 7640
SHAPES = [(3, 1), (3, 2), (4, 1)]
ROUNDS = 3
KEYS = 5000


def _healthy(conns: list[Conn]) -> None:
    for _ in range(400):
        if all("cluster_state:ok" in str(c.cmd("CLUSTER", "INFO")) for c in conns):
            return
        time.sleep(0.05)
    raise RuntimeError("cluster not ok within 20 s")


def one_round(masters: int, empty: int) -> dict[str, object]:
    ports = [FIRST_PORT + i for i in range(masters + empty)]
    tmp = tempfile.mkdtemp(prefix="rebalance-shapes-")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_servers(ports, tmp, procs)
        time.sleep(0.5)
        subprocess.run(
            ["redis-cli", "--cluster", "create"]
            + [f"127.0.0.1:{p}" for p in ports[:masters]]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        conns = [Conn(p) for p in ports]
        _healthy(conns[:masters])
        owner_of: dict[int, int] = {}
        for start, end, *nodes in conns[0].cmd("CLUSTER", "SLOTS"):  # type: ignore[union-attr]
            for slot in range(int(start), int(end) + 1):
                owner_of[slot] = ports.index(int(nodes[0][1]))
        for i in range(KEYS):
            slot = int(conns[0].cmd("CLUSTER", "KEYSLOT", f"key:{i}"))  # type: ignore[call-overload]
            conns[owner_of[slot]].cmd("SET", f"key:{i}", "v")
        for p in ports[masters:]:
            subprocess.run(
                ["redis-cli", "--cluster", "add-node", f"127.0.0.1:{p}", f"127.0.0.1:{ports[0]}"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        _healthy(conns)
        time.sleep(1.0)
        t0 = time.perf_counter()
        reb = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "rebalance",
                f"127.0.0.1:{ports[0]}",
                "--cluster-use-empty-masters",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wall_s = time.perf_counter() - t0
        moved = reb.stdout.decode().count("#")
        return {
            "initial_masters": masters,
            "added_empty_masters": empty,
            "keys": KEYS,
            "rebalance_wall_s": round(wall_s, 3),
            "rebalance_exit_code": reb.returncode,
            "slots_moved": moved,
            "ms_per_slot": round(wall_s * 1000.0 / max(moved, 1), 4),
        }
    finally:
        stop_servers(procs, tmp)


def main() -> None:
    runs = [one_round(m, e) for m, e in SHAPES for _ in range(ROUNDS)]
    shapes = []
    for m, e in SHAPES:
        walls = [
            float(r["rebalance_wall_s"])
            for r in runs
            if r["initial_masters"] == m and r["added_empty_masters"] == e
        ]  # type: ignore[arg-type]
        shapes.append(
            {
                "shape": f"{m}+{e}",
                "rebalance_wall_s_median": statistics.median(walls),
                "min": min(walls),
                "max": max(walls),
            }
        )
    out = {
        "experiment": "real rebalances of resharding.json's three shapes, 3 rounds each, idle host",
        "redis_version": "7.0.15",
        "method": (__doc__ or "").strip(),
        "units": "s for rebalance_wall_s, ms for ms_per_slot",
        "host": os.environ.get("PROBE_HOST_NOTE", ""),
        "shapes": shapes,
        "runs": runs,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
