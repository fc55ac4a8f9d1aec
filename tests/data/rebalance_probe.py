"""A real ``redis-cli --cluster rebalance`` and the SETSLOT probe on the same host, back to
back, so host load affects both alike (issue 11 §4; tests/data/README.md).

Run: ``cd tests/data && python3 rebalance_probe.py > rebalance-probe.json`` with
redis-server/redis-cli 7.0.15 on the PATH. Per round: 3 masters (127.0.0.1:7630-7632,
no replicas, ``save ""``, node-timeout 5000) made by ``redis-cli --cluster create``, 5000
random keys (``key:<i>``), an empty master (7633) joined with ``--cluster add-node``, then
``redis-cli --cluster rebalance --cluster-use-empty-masters`` timed as a process
(4096 slots move, as in resharding.json's first rebalance run); then, on the same 4-master
cluster, 200 empty-slot moves timed command by command as setslot_cost_probe.py does.
Servers are stopped by PID.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time

from setslot_cost_probe import Conn, start_servers, stop_servers, summary

PORTS = [7630, 7631, 7632, 7633]
ROUNDS = 3
KEYS = 5000
MOVES = 200


def one_round() -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix="rebalance-")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_servers(PORTS, tmp, procs)
        time.sleep(0.5)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *[f"127.0.0.1:{p}" for p in PORTS[:3]],
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        conns = [Conn(p) for p in PORTS]
        for _ in range(200):
            if all("cluster_state:ok" in str(c.cmd("CLUSTER", "INFO")) for c in conns[:3]):
                break
            time.sleep(0.05)
        for i in range(KEYS):
            slot = int(conns[0].cmd("CLUSTER", "KEYSLOT", f"key:{i}"))  # type: ignore[call-overload]
            owner = 0 if slot <= 5460 else 1 if slot <= 10922 else 2
            conns[owner].cmd("SET", f"key:{i}", "v")
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "add-node",
                f"127.0.0.1:{PORTS[3]}",
                f"127.0.0.1:{PORTS[0]}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(400):  # the new node knows the slot map (else RESTORE gets CLUSTERDOWN)
            if all("cluster_state:ok" in str(c.cmd("CLUSTER", "INFO")) for c in conns):
                break
            time.sleep(0.05)
        time.sleep(1.0)
        t0 = time.perf_counter()
        reb = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "rebalance",
                f"127.0.0.1:{PORTS[0]}",
                "--cluster-use-empty-masters",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wall_s = time.perf_counter() - t0
        output = reb.stdout.decode()
        moved = output.count("#")
        sys.stderr.write(output[-600:].replace("#", "") + "\n")
        time.sleep(1.0)
        ids = [str(c.cmd("CLUSTER", "MYID")) for c in conns]
        # move empty slots the new node n3 got, n3 -> n1 and back
        owned = [
            slot
            for start, end, *nodes in conns[3].cmd("CLUSTER", "SLOTS")  # type: ignore[union-attr]
            if int(nodes[0][1]) == PORTS[3]
            for slot in range(int(start), int(end) + 1)
        ]
        slots = [s for s in owned if conns[3].cmd("CLUSTER", "COUNTKEYSINSLOT", s) == 0]
        slots = slots[: MOVES // 2]
        totals: list[float] = []
        for src, dst in ((3, 1), (1, 3)):
            for slot in slots:
                t1 = time.perf_counter()
                conns[dst].cmd("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
                conns[src].cmd("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
                conns[src].cmd("CLUSTER", "GETKEYSINSLOT", slot, 10)
                conns[dst].cmd("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
                conns[src].cmd("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
                for third in range(len(PORTS)):
                    if third not in (src, dst):
                        conns[third].cmd("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
                totals.append((time.perf_counter() - t1) * 1000.0)
            time.sleep(0.5)
        return {
            "rebalance_wall_s": round(wall_s, 3),
            "rebalance_exit_code": reb.returncode,
            "slots_moved": moved,
            "rebalance_ms_per_slot": round(wall_s * 1000.0 / max(moved, 1), 4),
            "empty_move_ms": summary(totals),
            "empty_move_samples": [round(x, 4) for x in totals],
        }
    finally:
        stop_servers(procs, tmp)


def main() -> None:
    rounds = [one_round() for _ in range(ROUNDS)]
    out = {
        "experiment": "real rebalance (3+1 masters, 5000 keys) and empty-slot moves, same host, back to back",
        "method": (__doc__ or "").strip(),
        "units": "s for rebalance_wall_s, ms otherwise",
        "rounds": rounds,
        "ratio_rebalance_per_slot_to_empty_move_mean": [
            round(float(r["rebalance_ms_per_slot"]) / float(r["empty_move_ms"]["mean"]), 3)  # type: ignore[index]
            for r in rounds
        ],
        "median_ratio": None,
    }
    out["median_ratio"] = statistics.median(out["ratio_rebalance_per_slot_to_empty_move_mean"])  # type: ignore[arg-type]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
