"""The rebalance runs of resharding.json re-run in rcsim (simulator/fidelity_rebalance.py):
the second measurement the reshard cost constants are checked against (issue 11 §4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.fidelity_rebalance import REAL_RUNS, rebalance_rows, rebalance_run

DATA = Path(__file__).parent / "data"


def test_the_real_figures_are_those_of_resharding_json() -> None:
    runs = json.loads((DATA / "resharding.json").read_text())["rebalance_runs"]
    moved = [
        (
            r["initial_masters"],
            r["added_empty_masters"],
            r["slots_changed_owner"],
            r["rebalance_wall_s"],
        )
        for r in runs
        if r["slots_changed_owner"]
    ]
    assert tuple(moved) == REAL_RUNS


@pytest.mark.parametrize(("masters", "added", "slots", "real_s"), REAL_RUNS)
def test_rcsim_moves_as_many_slots_as_the_real_rebalance(
    masters: int, added: int, slots: int, real_s: float
) -> None:
    moved, duration = rebalance_run(masters, added, seed=1)
    assert moved == slots
    assert duration is not None and duration > 0


def test_the_rebalance_rows_are_checked_at_25_percent() -> None:
    rows = rebalance_rows([1])
    assert [r.real_median for r in rows] == [real for *_, real in REAL_RUNS]
    assert all(r.tolerance == 0.25 and not r.range_allowed for r in rows)
    # The per-slot cost grows with the number of masters: one SETSLOT NODE per master.
    per_slot = [r.sim_median / slots for r, (_, _, slots, _) in zip(rows, REAL_RUNS, strict=True)]  # type: ignore[operator]
    assert per_slot[0] < per_slot[1] and per_slot[0] < per_slot[2]
