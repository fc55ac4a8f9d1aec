"""Sweep helpers (seed ranges, --set grid, any Executor) and the partition view of export."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from simulator.export import dot, graph, topology
from simulator.harness.runner import build
from simulator.harness.sweep import SweepError, parse_seeds, percentile, settings, sweep
from simulator.scenario import parse_scenario
from tests.conftest import CRASH_CLUSTER, KILL_N1_AND_WAIT

TEXT = "name: s\n" + CRASH_CLUSTER + "steps:\n" + KILL_N1_AND_WAIT + "run_until: 6s\n"


def test_seed_ranges_keep_order_and_drop_repeats() -> None:
    assert parse_seeds("3-5,1,4") == [3, 4, 5, 1]
    with pytest.raises(SweepError):
        parse_seeds("5-3")


def test_set_builds_a_validated_grid() -> None:
    grid = settings(TEXT, "s.yaml", ["cluster.config.cluster-node-timeout=1000,3000", "seed=1,2"])
    assert [s.label for s in grid] == [
        "cluster-node-timeout=1000 seed=1",
        "cluster-node-timeout=1000 seed=2",
        "cluster-node-timeout=3000 seed=1",
        "cluster-node-timeout=3000 seed=2",
    ]
    assert parse_scenario(grid[2].text, "x").cluster.config["cluster-node-timeout"] == 3000
    with pytest.raises(SweepError, match="cluster-node-timeout"):
        settings(TEXT, "s.yaml", ["cluster.config.cluster-node-timeout=-5"])


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.95) == 95
    assert percentile([7], 0.95) == 7


def test_sweep_runs_on_any_executor_and_is_deterministic() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = sweep(TEXT, "s.yaml", [], [1, 2], pool)
    with ThreadPoolExecutor(max_workers=1) as pool:
        again = sweep(TEXT, "s.yaml", [], [1, 2], pool)
    assert first == again
    (summary,) = first
    assert summary["passed"] == 2
    assert summary["metrics"]["promoted"]["n"] == 2


def test_export_shows_blocked_links_while_partitioned() -> None:
    text = TEXT.replace(
        "  - at: 1s\n    kill: n1\n  - wait_for: {promoted: n4}\n    timeout: 20s\n",
        "  - at: 1s\n    partition: [[n1], [n2, n3, n4, n5, n6]]\n",
    )
    sim = build(parse_scenario(text, "p.yaml"))
    sim.run_until(1500)
    g = graph(sim)
    assert g.edges["n1", "n2"]["kind"] == "blocked"
    assert g.edges["n1", "n4"]["kind"] == "replication"
    assert topology(sim)["network"]["partitioned"] is True
    assert '"n2" -> "n1" [label="blocked", style=dotted' in dot(sim)
