"""benchmarks/ab_inproc.py: both versions run, and this tree's functions are put back."""

from __future__ import annotations

from pathlib import Path

import benchmarks.ab_inproc as ab
from benchmarks.ab_inproc import measure
from simulator.node.bus import BusOutput

ROOT = Path(__file__).resolve().parents[1]


def test_measure_runs_both_versions_and_restores_this_trees() -> None:
    mine = BusOutput.__dict__["_gossip"]
    base_s, new_s = measure(str(ROOT), 3, 2, ["simulator.node.bus:BusOutput:_gossip"])
    assert base_s > 0 and new_s > 0
    assert BusOutput.__dict__["_gossip"] is mine


def test_measure_after_a_longer_warm_up_times_the_seconds_after_it() -> None:
    """``--warm``: the timed seconds come after the warm-up (docs/benchmarks.md, Round 8)."""
    ran_to: list[int] = []
    run_until = ab.Engine.run_until

    def spy(self: ab.Engine, until: int, limit_ms: int | None = None) -> bool:
        ran_to.append(int(until))
        return run_until(self, until, limit_ms)

    ab.Engine.run_until = spy  # type: ignore[method-assign]
    try:
        measure(str(ROOT), 3, 2, ["simulator.node.bus:BusOutput:_gossip"], warm=5)
    finally:
        ab.Engine.run_until = run_until  # type: ignore[method-assign]
    assert ran_to[:2] == [5000, 5000]  # both simulations warmed up to 5 s, untimed
    assert sorted(ran_to[2:]) == [6000, 6000, 7000, 7000]  # then seconds 5-6 and 6-7


def test_fixed_keeps_one_version_per_simulation_for_the_whole_run() -> None:
    """``--fixed``: each simulation is built, warmed up and timed with one version only."""
    target = "simulator.node.bus:BusOutput:_gossip"
    mine = BusOutput.__dict__["_gossip"]
    seen: dict[int, set[bool]] = {}
    run_until = ab.Engine.run_until

    def spy(self: ab.Engine, until: int, limit_ms: int | None = None) -> bool:
        seen.setdefault(id(self), set()).add(BusOutput.__dict__["_gossip"] is mine)
        return run_until(self, until, limit_ms)

    ab.Engine.run_until = spy  # type: ignore[method-assign]
    try:
        for order in ("base-first", "new-first"):
            seen.clear()
            base_s, new_s = measure(str(ROOT), 3, 4, [target], fixed=order)
            assert base_s > 0 and new_s > 0
            assert sorted(map(sorted, seen.values())) == [[False], [True]]
    finally:
        ab.Engine.run_until = run_until  # type: ignore[method-assign]
    assert BusOutput.__dict__["_gossip"] is mine
