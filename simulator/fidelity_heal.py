"""The after-heal experiment of ``partition-heal.json``, re-run in rcsim (issue 11 §5).

The real set-up (tests/data/README.md): 3 masters + 3 replicas, NT 5000, a fresh
cluster; once healthy it runs 10 s, then master n1 is cut off from every other node
(iptables DROP both ways, ``{n1} | {n2 … n6}``) for 3·NT, so n1 is FAIL and its replica
has been promoted long before the heal. Pollers on every node (from an address no rule
matches, so n1 is polled too) every 20 ms; times are from the heal to the first poll
that shows, on every node at once:

* ``all_ok``: ``cluster_state:ok`` (n1 included);
* ``no_fail_flags``: no node flags any node ``fail`` or ``fail?``;
* ``n1_replica_everywhere``: every node lists n1 as a replica of the winner;
* ``settled``: all three.

What decides these times is the TCP links (:mod:`simulator.links`): the links cut by
the partition come back at the next SYN retransmission or reconnect after the heal, and
the connect handler's PING ends the silence (docs/tcp-links.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from simulator.fidelity import Pollers, Row, _new_sim, _warm_up, median, run_until_true
from simulator.messages import FAIL, PFAIL, SLAVE
from simulator.node import Node

METRICS = ("all_ok", "no_fail_flags", "n1_replica_everywhere", "settled")
TOLERANCE = 0.25  # issue 11 §5: the after-heal medians within 25 %
RUN_BEFORE_CUT_MS = 10_000
LIMIT_AFTER_HEAL_MS = 60_000


def real_heal() -> dict[str, Any]:
    """The real after-heal summary (packaged from tests/data/partition-heal.json)."""
    text = resources.files("simulator").joinpath("data/real_redis_heal.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def partition_heal(seed: int, nt: int = 5000, cut_ms: int | None = None) -> dict[str, Any]:
    """One run: cut n1 off for ``cut_ms`` (3·NT), heal, time the four marks from the heal."""
    sim = _new_sim(3, 1, nt, seed)
    victim = "n1"
    everyone = list(sim.cluster.nodes)
    winner: list[str] = []
    latest: dict[str, tuple[bool, bool, bool]] = {}  # node -> (ok, no flag, n1 a replica)
    marks: dict[str, int] = {}
    heal = {"t": 0}

    def observe(name: str, node: Node, now: int) -> None:
        if not heal["t"]:
            return
        if not winner:
            promoted = sim.trace.first("promoted", target=victim)
            if promoted is not None:
                winner.append(str(promoted["node"]))
        n1 = node.peers.get(victim)
        latest[name] = (
            node.state == "ok",
            not any(p.flags & (FAIL | PFAIL) for p in node.peers.values()),
            bool(winner) and n1 is not None and bool(n1.flags & SLAVE) and n1.master == winner[0],
        )
        if len(latest) < len(everyone):
            return
        views = list(latest.values())
        for index, metric in enumerate(METRICS[:3]):
            if all(view[index] for view in views):
                marks.setdefault(metric, now - heal["t"])
        if all(all(view) for view in views):
            marks.setdefault("settled", now - heal["t"])

    start = _warm_up(sim, nt) + RUN_BEFORE_CUT_MS
    Pollers(sim, everyone, observe)
    sim.run_until(start)
    sim.inject("partition", groups=[[victim], [n for n in everyone if n != victim]])
    sim.run_until(start + (3 * nt if cut_ms is None else cut_ms))
    sim.inject("heal")
    heal["t"] = sim.now
    run_until_true(sim, lambda: "settled" in marks, heal["t"] + LIMIT_AFTER_HEAL_MS)
    result: dict[str, Any] = {metric: marks.get(metric) for metric in METRICS}
    result["winner"] = winner[0] if winner else None
    return result


def heal_rows(seeds: Sequence[int]) -> list[Row]:
    """The after-heal table: rcsim's medians next to the real ones."""
    real = real_heal()
    runs = [partition_heal(seed, real["node_timeout_ms"], real["partition_ms"]) for seed in seeds]
    cut_s = real["partition_ms"] // 1000
    experiment = f"{real['topology']} NT={real['node_timeout_ms']} n1 cut off {cut_s} s, healed"
    rows = []
    for metric in METRICS:
        summary = real["summary_ms_after_heal"][metric]
        rows.append(
            Row(
                experiment,
                metric,
                summary["median"],
                summary["min"],
                summary["max"],
                median([run[metric] for run in runs]),
                len(runs),
                tolerance=TOLERANCE,
            )
        )
    return rows
