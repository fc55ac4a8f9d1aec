"""How old a real cluster's bus links are at ``rcsim verify``'s time 0.

Why: rcsim's converged start gives every outbound bus link an age drawn from 1-5 s
(``Node.bootstrap``, ``link_ctime``), a guess at "a few seconds of gossip after the
create" that nothing had checked (docs/fidelity.md, issue 11 §4). The age matters to one
rule: the cron frees a link older than the node timeout whose PING has waited NT/2
with no data for NT/2 (``clusterCron``'s link refresh, redis-rules §6).

Method: build each scenario's cluster on Redis 7.0.15 exactly as ``rcsim verify`` does
(``RealCluster.create`` then ``start_clock``: processes on 127.0.0.X, MEETs, REPLICATEs
once every node is known, waited until healthy), then read ``CLUSTER LINKS`` on every
node and take, for each outbound link (``direction to``, Redis's ``node->link``), the
time 0 minus its ``create-time`` (both Unix ms).
Not part of the suite (needs ``redis-server``); ``python -m benchmarks`` does not run it.

    .venv/bin/python -m benchmarks.realredis_link_ages scenarios/master-crash.yaml \\
        scenarios/no-replica.yaml --runs 5 --out tests/data/link-ages.json
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.realredis_servers import emit, result_header
from rcsim.verify.cleanup import Cleanup
from rcsim.verify.realcluster import RealCluster
from rcsim.verify.scenario_api import load_scenario, model
from rcsim.verify.server import identify


def outbound_ages(links: list[list[Any]], time0_ms: float) -> list[float]:
    """The age at time 0 (Unix ms) of each outbound link in one ``CLUSTER LINKS`` reply
    (its create-times are Unix ms too)."""
    ages = []
    for link in links:
        fields = dict(zip(link[::2], link[1::2], strict=False))
        if fields.get("direction") == "to":
            ages.append(round(time0_ms - int(fields["create-time"]), 1))
    return ages


def measure_once(scenario: model.Scenario, server: str) -> dict[str, Any]:
    """One build: every node's outbound link ages at time 0, and how long the reads took."""
    cleanup = Cleanup()
    with cleanup.guard():
        workdir = Path(tempfile.mkdtemp(prefix="rcsim-linkages-"))
        cleanup.push(f"directory {workdir}", lambda: shutil.rmtree(workdir, ignore_errors=True))
        cluster = RealCluster(scenario, identify(server), workdir, cleanup, None)
        cluster.create()
        cluster.start_clock()
        time0_ms = time.time() * 1000
        ages: dict[str, list[float]] = {}
        for name, node in sorted(cluster.nodes.items()):
            ages[name] = sorted(outbound_ages(node.call("CLUSTER", "LINKS"), time0_ms))
        read_ms = round(time.time() * 1000 - time0_ms, 1)
    return {"ages_ms": ages, "read_ms": read_ms}


def summary(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "min": ordered[0],
        "median": round(statistics.median(ordered), 1),
        "max": ordered[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--server", default="redis-server")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    server = shutil.which(args.server) or args.server
    results = []
    for source in args.scenarios:
        scenario = load_scenario(str(source))
        runs = []
        for run in range(1, args.runs + 1):
            measured = measure_once(scenario, server)
            runs.append(measured)
            print(f"{source} run {run}: {measured}", flush=True)
        every = [age for r in runs for node in r["ages_ms"].values() for age in node]
        results.append(
            {"scenario": str(source), "nodes": len(scenario.cluster.nodes),
             "outbound_link_age_at_time0_ms": summary(every), "runs": runs}
        )  # fmt: skip
    report = {
        **result_header(
            "ages of a real cluster's outbound bus links at rcsim verify's time 0",
            ".venv/bin/python -m benchmarks.realredis_link_ages "
            + " ".join(str(s) for s in args.scenarios)
            + f" --runs {args.runs} --out {args.out}",
        ),
        "scenarios": results,
    }
    print(emit(report, args.out, indent=1), end="")


if __name__ == "__main__":
    main()
