"""benchmarks/ab_inproc.py: both versions run, and this tree's functions are put back."""

from __future__ import annotations

from pathlib import Path

from benchmarks.ab_inproc import measure
from simulator.node.bus import BusOutput

ROOT = Path(__file__).resolve().parents[1]


def test_measure_runs_both_versions_and_restores_this_trees() -> None:
    mine = BusOutput.__dict__["_gossip"]
    base_s, new_s = measure(str(ROOT), 3, 2, ["simulator.node.bus:BusOutput:_gossip"])
    assert base_s > 0 and new_s > 0
    assert BusOutput.__dict__["_gossip"] is mine
