"""Measure the latency of each CLUSTER SETSLOT kind and of GETKEYSINSLOT on an empty slot
on a real Redis 7.0.15 cluster (issue 11 §4: the rebalance's per-slot cost).

Run: ``python3 tests/data/setslot_cost_probe.py > tests/data/setslot-cost.json`` with
``redis-server`` 7.0.15 on the PATH. Starts 4 masters (no replicas) on 127.0.0.1:7620-7623
in a fresh temporary directory (``save ""``, ``appendonly no``, node-timeout 5000),
creates the cluster with redis-cli, then moves empty slots back and forth between two
masters exactly as redis-cli's ``clusterManagerMoveSlot`` does (IMPORTING on the target,
MIGRATING on the source, GETKEYSINSLOT on the source, SETSLOT NODE on the target, the
source, then the other masters), three times on a fresh cluster, timing every command from a raw RESP client
(one TCP connection per node, perf_counter around send+reply). Stops its servers by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PORTS = [7620, 7621, 7622, 7623]
REPS = 200
RUNS = 3


class Conn:
    def __init__(self, port: int) -> None:
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")

    def cmd(self, *args: str | int) -> object:
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.s.sendall(b"".join(parts))
        return self.read()

    def read(self) -> object:
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return [self.read() for _ in range(max(n, 0))]
        raise RuntimeError(f"bad reply {line!r}")

    def timed(self, *args: str | int) -> float:
        t0 = time.perf_counter()
        self.cmd(*args)
        return (time.perf_counter() - t0) * 1000.0


def summary(xs: list[float]) -> dict[str, float | int]:
    s = sorted(xs)
    return {
        "median": round(statistics.median(s), 4),
        "mean": round(statistics.fmean(s), 4),
        "p10": round(s[len(s) // 10], 4),
        "p90": round(s[(len(s) * 9) // 10], 4),
        "min": round(s[0], 4),
        "max": round(s[-1], 4),
        "n": len(s),
    }


def start_servers(
    ports: list[int],
    tmp: str,
    procs: list[subprocess.Popen[bytes]],
    node_timeout: int = 5000,
) -> None:
    """One cluster-enabled redis-server per port on 127.0.0.1 (node-timeout 5000 unless
    given, no persistence), each in its own directory under ``tmp``; appended to ``procs``
    so the caller's ``finally`` stops every one started, even if a later one fails."""
    for p in ports:
        d = os.path.join(tmp, str(p))
        os.makedirs(d)
        conf = os.path.join(d, "redis.conf")
        with open(conf, "w") as fh:
            fh.write(
                f"port {p}\nbind 127.0.0.1\ncluster-enabled yes\n"
                f'cluster-node-timeout {node_timeout}\nsave ""\nappendonly no\ndir {d}\n'
                f"logfile {d}/log\n"
            )
        procs.append(subprocess.Popen(["redis-server", conf]))


def stop_servers(procs: list[subprocess.Popen[bytes]], tmp: str) -> None:
    """Stop every server :func:`start_servers` started (by its PID: SIGTERM, then wait)
    and remove their directories."""
    for pr in procs:
        if pr.poll() is None:
            pr.terminate()
    for pr in procs:
        pr.wait(timeout=10)
    shutil.rmtree(tmp, ignore_errors=True)


def one_run() -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix="setslot-")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_servers(PORTS, tmp, procs)
        time.sleep(0.5)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *[f"127.0.0.1:{p}" for p in PORTS],
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        conns = [Conn(p) for p in PORTS]
        ids = [str(c.cmd("CLUSTER", "MYID")) for c in conns]
        for _ in range(200):
            if all("cluster_state:ok" in str(c.cmd("CLUSTER", "INFO")) for c in conns):
                break
            time.sleep(0.05)
        time.sleep(1.0)
        kinds = [
            "importing",
            "migrating",
            "getkeysinslot_empty",
            "node_on_importing",
            "node_on_source",
            "node_on_third_master",
            "move_total",
        ]
        res: dict[str, list[float]] = {k: [] for k in kinds}
        a, b = 0, 1  # n0 owns 0..4095, n1 the next range: move n0's slots to n1 and back
        slots = list(range(0, REPS // 2))
        for direction in (0, 1):
            src, dst = (a, b) if direction == 0 else (b, a)
            for slot in slots:
                t0 = time.perf_counter()
                res["importing"].append(
                    conns[dst].timed("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
                )
                res["migrating"].append(
                    conns[src].timed("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
                )
                res["getkeysinslot_empty"].append(
                    conns[src].timed("CLUSTER", "GETKEYSINSLOT", slot, 10)
                )
                res["node_on_importing"].append(
                    conns[dst].timed("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
                )
                res["node_on_source"].append(
                    conns[src].timed("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
                )
                for third in range(len(PORTS)):
                    if third not in (src, dst):
                        res["node_on_third_master"].append(
                            conns[third].timed("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
                        )
                res["move_total"].append((time.perf_counter() - t0) * 1000.0)
            time.sleep(0.5)
        ping = [conns[0].timed("PING") for _ in range(REPS)]
        version = str(conns[0].cmd("INFO", "server")).split("redis_version:")[1].split("\r")[0]
        return {
            "redis_version": version,
            "ping": summary(ping),
            "summary": {k: summary(v) for k, v in res.items()},
            "samples": {k: [round(x, 4) for x in v] for k, v in res.items()},
        }
    finally:
        stop_servers(procs, tmp)


def main() -> None:
    runs = [one_run() for _ in range(RUNS)]
    samples: dict[str, list[float]] = runs[0]["samples"]  # type: ignore[assignment]
    out = {
        "experiment": "latency of CLUSTER SETSLOT kinds and GETKEYSINSLOT on an empty slot",
        "redis_version": runs[0]["redis_version"],
        "method": (__doc__ or "").strip(),
        "masters": len(PORTS),
        "units": "ms, client-side round trip",
        "note": (
            f"{RUNS} runs, one after the other, a fresh cluster each, on a 2-core host shared"
            " with other work; 'pooled' summarises every sample of all runs, which is what"
            " simulator/dataplane/setslot_cost.py uses"
        ),
        "pooled": {
            k: summary([x for r in runs for x in r["samples"][k]])  # type: ignore[index]
            for k in samples
        },
        "runs": runs,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
