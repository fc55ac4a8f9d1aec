"""What ``redis-cli --cluster reshard`` answers right after ``add-node``, on Redis 7.0.15.

Three masters on loopback (NT 2000); ``add-node`` introduces a fourth to the second
master; then, from the first master (which has not heard of the new node yet), a
reshard of 10 slots to the new node is tried every ~20 ms until it runs. Each change of
answer is recorded with its time since add-node returned: the target "is not known or
not a master" while the entry does not know it, then "Nodes don't agree about
configuration!" while the new node has not learned every owner, then exit 0.

    .venv/bin/python -m benchmarks.realredis_add_node_reshard --runs 3 \\
        --out tests/data/add-node-reshard.json
"""

from __future__ import annotations

import argparse
import os
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

PORTS = (7470, 7471, 7472, 7473)


def answer(done: subprocess.CompletedProcess[str]) -> str:
    """The reshard's exit code and its first error line, without colours."""
    lines = [ANSI_COLOUR.sub("", line) for line in done.stdout.splitlines()]
    errors = [line for line in lines if line.startswith(("***", "[ERR]"))]
    return f"rc={done.returncode} {errors[0] if errors else ''}".strip()


def one_run() -> list[dict[str, object]]:
    with servers("rcsim-add-node-") as started:
        for port in PORTS:
            started.start(port, "--cluster-enabled", "yes", "--cluster-config-file",
                          os.path.join(started.directory, f"nodes-{port}.conf"),
                          "--cluster-node-timeout", "2000")  # fmt: skip
        create = ["redis-cli", "--cluster", "create",
                  *[f"127.0.0.1:{p}" for p in PORTS[:3]], "--cluster-yes"]  # fmt: skip
        subprocess.run(create, capture_output=True, check=True)
        while not all(b"cluster_state:ok" in (Conn(p).cmd(b"CLUSTER", b"INFO") or b"")
                      for p in PORTS[:3]):  # fmt: skip
            time.sleep(0.1)
        time.sleep(1)
        add = [
            "redis-cli",
            "--cluster",
            "add-node",
            f"127.0.0.1:{PORTS[3]}",
            f"127.0.0.1:{PORTS[1]}",
        ]
        subprocess.run(add, capture_output=True, check=True)
        start = time.monotonic()
        new_id = (Conn(PORTS[3]).cmd(b"CLUSTER", b"MYID") or b"").decode()
        reshard = ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{PORTS[0]}",
                   "--cluster-from", "all", "--cluster-to", new_id,
                   "--cluster-slots", "10", "--cluster-yes"]  # fmt: skip
        timeline: list[dict[str, object]] = []
        for _ in range(500):
            at = (time.monotonic() - start) * 1000
            said = answer(subprocess.run(reshard, capture_output=True, text=True))
            said = said.replace(new_id, "<new node>")
            if not timeline or timeline[-1]["answer"] != said:
                timeline.append({"ms": round(at), "answer": said})
            if said == "rc=0":
                break
            time.sleep(0.02)
        return timeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    command = f"python -m benchmarks.realredis_add_node_reshard --runs {args.runs}"
    command += f" --out {args.out}" if args.out else ""
    result = result_header("redis-cli --cluster reshard right after add-node", command)
    result["load_before"] = load_average()
    result["runs"] = [one_run() for _ in range(args.runs)]
    result["load_after"] = load_average()
    print(emit(result, args.out), end="")


if __name__ == "__main__":
    main()
