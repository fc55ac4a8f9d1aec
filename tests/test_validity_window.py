"""The validity-window lesson (redis/redis#3025): detection slower than the replica's
data-age limit leaves the slots down; the same cluster with Redis 7.0's gossip fails
over inside the same window (§7.1, §11.2)."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.harness.runner import run
from simulator.scenario import parse_scenario, resolve
from simulator.simulation import Simulation

KILL_MS = 2000
NT_MS = 15000
LIMIT_MS = 1000 + NT_MS * 1  # repl-ping-replica-period·1000 + NT·validity factor (§11.2)


def lesson(gossip: str) -> Simulation:
    source, text, _ = resolve("validity-window")
    text = text.replace("gossip: redis-3.0", f"gossip: {gossip}")
    return run(parse_scenario(text, source))


def first(sim: Simulation, kind: str, **fields: Any) -> dict[str, Any]:
    return next(
        e
        for e in sim.trace.events
        if e["kind"] == kind and all(e.get(k) == v for k, v in fields.items())
    )


@pytest.fixture(scope="module")
def legacy() -> Simulation:
    return lesson("redis-3.0")


def test_fail_comes_after_the_window_and_the_replica_refuses(legacy: Simulation) -> None:
    fail = first(legacy, "fail", target="n1")
    # The window closes when the age, less NT, passes the limit: 2·NT + 1 s after the crash.
    assert fail["t"] - KILL_MS > NT_MS + LIMIT_MS
    refusal = first(legacy, "cant_failover", node="n51")
    assert refusal["reason"] == "data_age" and refusal["target"] == "n1"
    assert refusal["data_age_ms"] > LIMIT_MS
    assert refusal["t"] - fail["t"] < 1000  # at n51's next cron tick
    assert not [e for e in legacy.trace.events if e["kind"] in ("election_scheduled", "promoted")]


def test_with_7_0_gossip_the_same_window_is_wide_enough() -> None:
    sim = lesson("redis-7.0")
    fail = first(sim, "fail", target="n1")
    promoted = first(sim, "promoted", node="n51")
    assert fail["t"] - KILL_MS < 1.7 * NT_MS
    assert promoted["t"] - KILL_MS < NT_MS + LIMIT_MS
    assert not [e for e in sim.trace.events if e["kind"] == "cant_failover"]
