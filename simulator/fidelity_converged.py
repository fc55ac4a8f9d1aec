"""The converged-cluster failover of ``failover-converged.json``, re-run in rcsim (issue 11 §5).

The real set-up (tests/data/README.md): 3 masters + 3 replicas, the six processes started
one by one a random 0–1000 ms apart (so their cron phases are unrelated), ``redis-cli
--cluster create``; once healthy the cluster runs 40 s untouched, then master n1 gets
SIGKILL at a random moment. Pollers on the five remaining nodes every 20 ms; times are
from the signal to the first poll that shows the first PFAIL, the first FAIL, the
replica promoted (its own view) and every remaining node ``ok``.

Unlike :func:`simulator.fidelity.failover_timing` the nodes' cron phases are drawn over
the whole 100 ms period (rcsim's default, no harness setting), and by the time of the
kill 40 s of gossip have shaped who pings whom when (the pong times gossip refreshes,
in whole seconds, and the cron's period of a little over 100 ms).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from simulator.fidelity import (
    NO_CHECKPOINTS,
    Pollers,
    Row,
    healthy,
    median,
    run_until_true,
)
from simulator.messages import FAIL, PFAIL
from simulator.node import Node
from simulator.simulation import Simulation

METRICS = ("first_pfail_any", "first_fail_any", "promotion_self", "all_ok")
TOLERANCE = 0.15  # issue 11 §5: the converged medians within 15 %, no min–max allowance
CONVERGE_MS = 40_000  # "after the cluster is healthy it runs 40 s untouched"
KILL_WINDOW_MS = 1000  # ... then the signal at a random moment (here: of the next second)


def real_converged() -> dict[str, Any]:
    """The real summary per NT (packaged from tests/data/failover-converged.json)."""
    text = resources.files("simulator").joinpath("data/real_redis_converged.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def converged_failover(nt: int, seed: int) -> dict[str, int | None]:
    """One run: a cluster created fresh, healthy, 40 s of running, then SIGKILL of n1."""
    sim = Simulation(
        masters=3,
        replicas=1,
        config={"cluster-node-timeout": nt},
        seed=seed,
        converged=False,
        checkpoint_ms=NO_CHECKPOINTS,
    )
    victim = "n1"
    remaining = [n for n in sim.cluster.nodes if n != victim]
    candidates = [spec.name for spec in sim.specs if spec.replica_of == victim]
    times: dict[str, int] = {}
    ok_after: dict[str, int] = {}

    def observe(name: str, node: Node, now: int) -> None:
        if "signal" not in times:
            return
        if name in candidates and node.is_master:
            times.setdefault("promotion_self", now)
        peer = node.peers.get(victim)
        if peer is not None and peer.flags & (PFAIL | FAIL):
            times.setdefault("first_pfail_any", now)
        if peer is not None and peer.flags & FAIL:
            times.setdefault("first_fail_any", now)
        if "first_fail_any" in times:
            if node.state == "ok":
                ok_after.setdefault(name, now)
            else:
                ok_after.pop(name, None)

    if not run_until_true(sim, lambda: healthy(sim), 60_000, slice_ms=100):
        raise RuntimeError("the fresh cluster never became healthy")
    kill_at = sim.now + CONVERGE_MS + sim.engine.rng("experiment").randrange(KILL_WINDOW_MS)
    Pollers(sim, remaining, observe)
    sim.run_until(kill_at)
    sim.inject("kill", node=victim)
    times["signal"] = sim.now

    def done() -> bool:
        return "promotion_self" in times and len(ok_after) == len(remaining)

    run_until_true(sim, done, kill_at + 30 * nt)
    result: dict[str, int | None] = {
        key: times[key] - kill_at if key in times else None
        for key in ("first_pfail_any", "first_fail_any", "promotion_self")
    }
    result["all_ok"] = (
        max(ok_after.values()) - kill_at
        if len(ok_after) == len(remaining) and "promotion_self" in times
        else None
    )
    return result


def converged_rows(seeds: Sequence[int]) -> list[Row]:
    """The converged table: per NT and milestone, rcsim's median [min–max] next to the real one."""
    real = real_converged()
    rows = []
    for setting in real["settings"]:
        nt = setting["node_timeout_ms"]
        runs = [converged_failover(nt, seed) for seed in seeds]
        for metric in METRICS:
            summary = setting["summary_ms"][metric]
            values = [run[metric] for run in runs]
            present = [v for v in values if v is not None]
            rows.append(
                Row(
                    f"3m+3r converged NT={nt}",
                    metric,
                    summary["median"],
                    summary["min"],
                    summary["max"],
                    median(values),
                    len(runs),
                    tolerance=TOLERANCE,
                    range_allowed=False,
                    sim_min=min(present) if present else None,
                    sim_max=max(present) if present else None,
                )
            )
    return rows
