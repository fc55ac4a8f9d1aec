"""Idle bus traffic (``bus-traffic.json``), re-run in rcsim with the same method.

The real set-up (tests/data/README.md): ``redis-cli --cluster create`` with one replica
per master (15 + 15 and 50 + 50 nodes, NT 15 s), wait until healthy, leave it idle 30 s,
then the difference of every node's ``cluster_stats_messages_*_sent`` over 60 s. rcsim
starts from the converged cluster (the state after create and a few seconds of gossip,
§17.2), lets it run :data:`WARM_NT` node timeouts, so the pong times have been spread by
the pings and the gossip the way a running cluster spreads them, and counts what every
node sends over the next :data:`WINDOW_NT` node timeouts (the traffic ripples with a
period of about NT/2, so a window of whole NTs averages it out).

Why the rates are far below "(N−1)/(NT/2) + 1 pings a second per node": a node pings a
peer only when its last pong from that peer is older than NT/2 (§6 step 3c), and the
gossip of every PING and PONG it receives carries other nodes' pong times for about N/10
peers, which it adopts when they are newer and it has no ping pending (§7.3); so most
peers never look old enough to need a direct ping. What remains is the once-a-second
random ping (§6 step 2) and the pings to peers the gossip did not refresh in time.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from importlib import resources
from typing import Any

from simulator.bus_stats import BusStats
from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.fidelity import HARNESS_PHASE_SPREAD_MS, Row
from simulator.messages import MsgType
from simulator.trace import Trace

WARM_NT = 1
"""Node timeouts run before counting (the converged start's pong times are synthetic)."""
WINDOW_NT = 2
"""Node timeouts counted (60 s on the real cluster; 2 NT = 30 s is as stable, see docs)."""


def real_bus() -> dict[str, Any]:
    """The real idle-traffic summary (packaged from tests/data/bus-traffic.json)."""
    text = resources.files("simulator").joinpath("data/real_redis_bus.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _totals(stats: BusStats, count: int) -> list[tuple[list[int], list[int]]]:
    return [(list(stats.node(i).sent), list(stats.node(i).bytes)) for i in range(count)]


def idle_rates(
    masters: int,
    replicas: int,
    nt: int,
    seed: int,
    warm_nt: int = WARM_NT,
    window_nt: int = WINDOW_NT,
) -> dict[str, float]:
    """One idle cluster: messages and bytes per second over the window, for the whole
    cluster and per node (median), as CLUSTER INFO's ``_sent`` counters would give."""
    engine, trace = Engine(seed), Trace()
    cluster = Cluster(
        engine,
        trace,
        standard_topology(masters, replicas),
        {"cluster-node-timeout": nt},
        cron_phase_spread_ms=HARNESS_PHASE_SPREAD_MS,
    )
    count = len(cluster.nodes)
    engine.run_until(warm_nt * nt)
    before = _totals(cluster.bus_stats, count)
    engine.run_until((warm_nt + window_nt) * nt)
    after = _totals(cluster.bus_stats, count)
    seconds = window_nt * nt / 1000
    ping = [
        (a[0][MsgType.PING] - b[0][MsgType.PING]) / seconds
        for a, b in zip(after, before, strict=True)
    ]
    pong = [
        (a[0][MsgType.PONG] - b[0][MsgType.PONG]) / seconds
        for a, b in zip(after, before, strict=True)
    ]
    sent = [(sum(a[0]) - sum(b[0])) / seconds for a, b in zip(after, before, strict=True)]
    size = [(sum(a[1]) - sum(b[1])) / seconds for a, b in zip(after, before, strict=True)]
    return {
        "nodes": count,
        "ping_sent": sum(ping),
        "pong_sent": sum(pong),
        "sent": sum(sent),
        "node_ping_sent": statistics.median(ping),
        "node_bytes": statistics.median(size),
        "bytes": sum(size),
    }


def bus_rows(seeds: Sequence[int], nodes: Sequence[int] = (30, 100)) -> list[Row]:
    """PING and PONG per second for the cluster, and PING per second of the median node,
    against the real counters (15 %; a cluster total was measured once, so its range is
    the one value); for the real settings with ``nodes`` nodes."""
    rows: list[Row] = []
    for setting in real_bus()["settings"]:
        if setting["nodes"] not in nodes:
            continue
        runs = [
            idle_rates(
                setting["masters"], setting["replicas_per_master"], setting["node_timeout_ms"], seed
            )
            for seed in seeds
        ]
        label = f"{setting['masters']}+{setting['masters'] * setting['replicas_per_master']} idle, NT {setting['node_timeout_ms']}"
        for metric in ("ping_sent", "pong_sent"):
            real = setting["cluster_per_s"][metric]
            rows.append(
                Row(
                    label,
                    f"cluster {metric} /s",
                    real,
                    real,
                    real,
                    _median(r[metric] for r in runs),
                    len(runs),
                )
            )
        real_node = setting["per_node_ping_sent"]
        rows.append(
            Row(
                label,
                "per node ping_sent /s (median node)",
                real_node["median"],
                real_node["min"],
                real_node["max"],
                _median(r["node_ping_sent"] for r in runs),
                len(runs),
            )
        )
    return rows


def _median(values: Any) -> float:
    return float(statistics.median(list(values)))


def format_rows(rows: Sequence[Row]) -> str:
    """The table with one decimal (rates of a few messages a second)."""
    lines = [
        "| experiment | metric | real [min–max] | rcsim median | ratio | ok |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        sim = "—" if row.sim_median is None else f"{row.sim_median:.1f}"
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(
            f"| {row.experiment} | {row.metric} | {row.real_median:.1f} [{row.real_min:.1f}–{row.real_max:.1f}] "
            f"| {sim} | {ratio} | {'yes' if row.within_bounds else 'NO'} |"
        )
    return "\n".join(lines)
