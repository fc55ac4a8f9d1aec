"""The converged start's bus links are as old as a real cluster's at ``rcsim verify``'s
time 0 (issue 11 §4, ``link_ctime``; the cron's link refresh reads it, redis-rules §6).
Real Redis 7.0.15: tests/data/link-ages.json (the ranges were taken from it) and
tests/data/link-ages-check.json (two other cluster shapes, not used to set them)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from simulator.node.constants import (
    CALIBRATION_LINK_AGE_MS,
    CALIBRATION_LINK_AGE_WITH_REPLICAS_MS,
)
from simulator.simulation import Simulation

DATA = Path(__file__).parent / "data"


def real_builds(name: str, scenario: str) -> list[list[float]]:
    """Every build's outbound link ages (ms at time 0) for one scenario of a data file."""
    report = json.loads((DATA / name).read_text())
    assert report["redis"].startswith("Redis server v=7.0.15")
    (entry,) = [s for s in report["scenarios"] if s["scenario"] == f"scenarios/{scenario}"]
    runs: list[dict[str, Any]] = entry["runs"]
    return [[age for node in run["ages_ms"].values() for age in node] for run in runs]


def converged_ages(masters: int, replicas: int, seeds: range) -> list[int]:
    """How old the converged start's outbound links are at time 0, over ``seeds``."""
    ages = []
    for seed in seeds:
        sim = Simulation(masters=masters, replicas=replicas, seed=seed)
        for node in sim.cluster.nodes.values():
            for name, peer in node.peers.items():
                if name != node.name and node.links.get(name) is not None:
                    ages.append(sim.now - int(peer.link_ctime))
    return ages


@pytest.mark.parametrize(
    ("masters", "replicas", "scenario"), [(3, 0, "no-replica.yaml"), (3, 1, "master-crash.yaml")]
)
def test_the_converged_start_s_links_are_as_old_as_a_real_build_s_at_time_0(
    masters: int, replicas: int, scenario: str
) -> None:
    """A real build opens its links while its nodes discover each other and is healthy
    when the last handshake completes (masters only) or, with replicas, when their full
    syncs end after ``repl-diskless-sync-delay``: 0-3 s against 5-7 s. The old 1-5 s
    draw was younger than every real link of a cluster with replicas."""
    real = [age for build in real_builds("link-ages.json", scenario) for age in build]
    ours = converged_ages(masters, replicas, range(1, 6))
    assert min(real) - 50 <= min(ours) and max(ours) <= max(real) + 50
    assert abs(statistics.median(ours) / statistics.median(real) - 1) <= 0.25


def test_the_link_ages_hold_on_builds_they_were_not_fitted_to() -> None:
    """link-ages-check.json: persistence-trap (2+2) builds fall inside the range with
    replicas, every link; hello-cluster (3 masters) builds inside the masters' range but
    for one build whose discovery took ~5 s (its oldest links 4.9 s)."""
    young, old = CALIBRATION_LINK_AGE_WITH_REPLICAS_MS
    for build in real_builds("link-ages-check.json", "persistence-trap.yaml"):
        assert all(young <= age <= old for age in build)
    young, old = CALIBRATION_LINK_AGE_MS
    builds = real_builds("link-ages-check.json", "hello-cluster.yaml")
    inside = [build for build in builds if all(young <= age <= old for age in build)]
    outside = [build for build in builds if build not in inside]
    assert len(inside) >= 2 * len(builds) / 3
    assert all(max(build) > 4500 for build in outside)
