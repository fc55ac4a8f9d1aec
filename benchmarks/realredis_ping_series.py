"""A real idle Redis Cluster's PING count per second (issue 12: are the ping storms real?).

Builds ``masters`` + ``masters`` real ``redis-server`` processes on 127.0.0.1 (the set-up
of tests/data/README.md: ``bind 127.0.0.1``, ``cluster-enabled yes``,
``cluster-node-timeout NT``, ``save ""``, ``appendonly no``,
``repl-diskless-sync-delay 0``; ``redis-cli --cluster create --cluster-replicas 1``),
waits until healthy (every node ``cluster_state:ok`` and knows every node with
``connected`` links and only master/slave/myself flags, every replica's
``master_link_status:up``). From the end of the create (itself a synchronized start)
until ``seconds`` seconds after healthy it reads every node's ``CLUSTER INFO``
``cluster_stats_messages_ping_sent`` once a second (all requests sent before any reply
is read, so the nodes are sampled within a few ms of each other), checking health
between samples until it passes, and prints the JSON record: the cumulative samples,
their stamps, the sample at which the cluster was first healthy and the cluster's
per-second series. Every server started is stopped by its PID at the end.

    .venv/bin/python -m benchmarks.realredis_ping_series 15 90 --port 20000 > out.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rcsim.verify.resp import Connection, encode

CONFIG = """port {port}
bind 127.0.0.1
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout {nt}
save ""
appendonly no
repl-diskless-sync-delay 0
dir {dir}
logfile {dir}/log.txt
"""


def _text(reply: Any) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def _info(reply: Any) -> dict[str, str]:
    text = _text(reply)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _healthy(conns: Sequence[Connection], count: int) -> bool:
    for conn in conns:
        info, nodes, repl = conn.pipeline(
            [("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("INFO", "replication")]
        )
        if _info(info)["cluster_state"] != "ok":
            return False
        lines = _text(nodes).splitlines()
        if len(lines) != count:
            return False
        for line in lines:
            fields = line.split()
            flags = set(fields[2].split(","))
            if not flags <= {"master", "slave", "myself"} or fields[7] != "connected":
                return False
        replication = _info(repl)
        if replication["role"] == "slave" and replication.get("master_link_status") != "up":
            return False
    return True


def _sample(conns: Sequence[Connection]) -> list[int]:
    """Every node's ping_sent counter, all requests out before any reply is read."""
    request = encode(("CLUSTER", "INFO"))
    for conn in conns:
        conn.sock.sendall(request)
    return [int(_info(conn.read_reply())["cluster_stats_messages_ping_sent"]) for conn in conns]


def measure(masters: int, seconds: int, nt: int, port: int) -> dict[str, Any]:
    """Build, wait healthy, sample ``seconds`` + 1 times a second apart; stop every server."""
    count = 2 * masters
    ports = [port + i for i in range(count)]
    procs: list[subprocess.Popen[bytes]] = []
    conns: list[Connection] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for p in ports:
                folder = Path(tmp) / str(p)
                folder.mkdir()
                (folder / "redis.conf").write_text(CONFIG.format(port=p, nt=nt, dir=folder))
                procs.append(
                    subprocess.Popen(["redis-server", str(folder / "redis.conf")], cwd=folder)
                )
            for p in ports:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        conns.append(Connection("127.0.0.1", p, timeout=5.0))
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
            create_start = time.monotonic()
            subprocess.run(
                ["redis-cli", "--cluster", "create"]
                + [f"127.0.0.1:{p}" for p in ports]
                + ["--cluster-replicas", "1", "--cluster-yes"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            create_s = time.monotonic() - create_start
            # Sampled from the end of the create (itself a synchronized start) on; the
            # health check runs between samples until it first passes.
            samples: list[list[int]] = []
            stamps: list[float] = []
            healthy_index: int | None = None
            start = time.monotonic()
            i = 0
            while healthy_index is None or i <= healthy_index + seconds:
                delay = start + i - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                stamps.append(round(time.monotonic() - start, 4))
                samples.append(_sample(conns))
                if healthy_index is None and _healthy(conns, count):
                    healthy_index = i
                if i > 120 and healthy_index is None:
                    raise RuntimeError("not healthy within 120 s")
                i += 1
        finally:
            for conn in conns:
                conn.close()
            for proc in procs:  # by PID, each one we started
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    totals = [sum(s) for s in samples]
    return {
        "nodes": count,
        "masters": masters,
        "replicas_per_master": 1,
        "node_timeout_ms": nt,
        "create_s": round(create_s, 2),
        "healthy_index": healthy_index,
        "stamps_s": stamps,
        "ping_sent_samples": samples,
        "cluster_ping_per_s": [b - a for a, b in itertools.pairwise(totals)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("masters", type=int)
    parser.add_argument("seconds", type=int)
    parser.add_argument("--nt", type=int, default=15000)
    parser.add_argument(
        "--port",
        type=int,
        default=20000,
        help="first port; ports and ports + 10000 stay below the ephemeral range",
    )
    args = parser.parse_args(argv)
    version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[2]
    record = measure(args.masters, args.seconds, args.nt, args.port)
    record["version"] = version
    json.dump(record, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
