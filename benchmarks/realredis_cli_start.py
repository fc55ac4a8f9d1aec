"""How long ``redis-cli --cluster fix`` takes on its own, on Redis 7.0.15 (issue 11).

The open-slot verify report's first ``fix`` (refused: one master unreachable) ends
54 ms [30-195] after verify started it, where rcsim's redis-cli starts at once. This
separates redis-cli's own time (exec, connect to every node, ``CLUSTER NODES`` each, the
check) from the harness's: on a 3-master cluster with 3 replicas it times, ``--runs``
times each, ``redis-cli --version`` (the exec alone) and ``redis-cli --cluster fix``
with nothing to fix and with one master killed (the refusal), wall clock around the
process, and records the host's load.

    .venv/bin/python -m benchmarks.realredis_cli_start --out tests/data/redis-cli-start.json
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import time

from benchmarks.realredis_servers import (
    ANSI_COLOUR,
    Conn,
    emit,
    load_average,
    result_header,
    servers,
)

PORT = 7460
NODES = 6


def timed(args: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000, done.returncode, done.stdout.strip()


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def wait_ok(ports: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(b"cluster_state:ok" in (Conn(p).cmd(b"CLUSTER", b"INFO") or b"") for p in ports):
            return
        time.sleep(0.1)
    raise SystemExit("the cluster did not become ok")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    ports = [PORT + i for i in range(NODES)]
    result = result_header(
        "redis-cli --cluster fix's own wall time, 3 masters + 3 replicas on loopback",
        "python -m benchmarks.realredis_cli_start" + (f" --out {args.out}" if args.out else ""),
    )
    with servers("rcsim-cli-start-") as started:
        processes = [
            started.start(p, "--cluster-enabled", "yes", "--cluster-config-file",
                          os.path.join(started.directory, f"nodes-{p}.conf"),
                          "--cluster-node-timeout", "2000")
            for p in ports
        ]  # fmt: skip
        create = ["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                  "--cluster-replicas", "1", "--cluster-yes"]  # fmt: skip
        subprocess.run(create, capture_output=True, check=True)
        wait_ok(ports)
        time.sleep(2)
        entry = f"127.0.0.1:{ports[1]}"
        result["load_before"] = load_average()
        exec_ms = [timed(["redis-cli", "--version"])[0] for _ in range(args.runs)]
        clean = [
            timed(["redis-cli", "--cluster", "fix", entry, "--cluster-yes"])
            for _ in range(args.runs)
        ]
        os.kill(processes[0].pid, signal.SIGKILL)  # a master: its replica takes over
        processes[0].wait()
        wait_ok(ports[1:])
        time.sleep(2)
        Conn(ports[1]).cmd(b"CLUSTER", b"SETSLOT", b"100", b"IMPORTING", node_id(ports[2]))
        refused = [
            timed(["redis-cli", "--cluster", "fix", entry, "--cluster-yes"])
            for _ in range(args.runs)
        ]
        result["load_after"] = load_average()
    result["runs"] = args.runs
    result["exec_ms"] = summary(exec_ms)
    result["fix_nothing_to_fix_ms"] = summary([t for t, _, _ in clean])
    result["fix_nothing_to_fix_exit_codes"] = sorted({c for _, c, _ in clean})
    result["fix_refused_ms"] = summary([t for t, _, _ in refused])
    result["fix_refused_exit_codes"] = sorted({c for _, c, _ in refused})
    warning = [line for line in refused[-1][2].splitlines() if "unreachable masters" in line]
    result["fix_refused_warning"] = ANSI_COLOUR.sub("", warning[-1]) if warning else None
    print(emit(result, args.out), end="")


def node_id(port: int) -> bytes:
    reply = Conn(port).cmd(b"CLUSTER", b"MYID")
    assert isinstance(reply, bytes)
    return reply


if __name__ == "__main__":
    main()
