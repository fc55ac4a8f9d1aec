"""The rebalance runs of resharding.json re-run in rcsim (simulator/fidelity_rebalance.py):
the second measurement the reshard cost constants are checked against (issue 11 §4)."""

from __future__ import annotations

import json
import statistics
from functools import cache
from pathlib import Path

import pytest

from simulator.fidelity import Row
from simulator.fidelity_rebalance import (
    IDLE_HOST_RUNS_S,
    IDLE_SHAPES_S,
    REAL_RUNS,
    idle_runs,
    rebalance_rows,
    rebalance_run,
)

DATA = Path(__file__).parent / "data"


@cache
def rows() -> tuple[Row, ...]:
    """``rcsim fidelity --part reshard``'s rebalance rows, one seed (rcsim's rebalance
    draws nothing that changes its duration)."""
    return tuple(rebalance_rows([1]))


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


def test_the_idle_host_figures_are_those_of_the_probe() -> None:
    rounds = json.loads((DATA / "rebalance-probe-idle.json").read_text())["rounds"]
    assert tuple(r["rebalance_wall_s"] for r in rounds) == IDLE_HOST_RUNS_S
    assert all(r["slots_moved"] == REAL_RUNS[0][2] for r in rounds)


def test_the_idle_shapes_are_those_of_the_shapes_probe() -> None:
    runs = json.loads((DATA / "rebalance-shapes-idle.json").read_text())["runs"]
    by_shape: dict[tuple[int, int], tuple[float, ...]] = {}
    for r in runs:
        shape = (r["initial_masters"], r["added_empty_masters"])
        by_shape[shape] = (*by_shape.get(shape, ()), r["rebalance_wall_s"])
        slots = next(s for m, a, s, _ in REAL_RUNS if (m, a) == shape)
        assert r["slots_moved"] == slots and r["rebalance_exit_code"] == 0
    assert by_shape == IDLE_SHAPES_S


@pytest.mark.parametrize(("masters", "added", "slots", "real_s"), REAL_RUNS)
def test_rcsim_moves_as_many_slots_as_the_real_rebalance(
    masters: int, added: int, slots: int, real_s: float
) -> None:
    moved, duration = rebalance_run(masters, added, seed=1)
    assert moved == slots
    assert duration is not None and duration > 0


def test_the_rebalance_rows_are_checked_at_25_percent() -> None:
    table = rows()
    assert [r.real_median for r in table[:3]] == [real * 1000 for *_, real in REAL_RUNS]
    for real_row, idle_row, (masters, added, _, _) in zip(
        table[:3], table[3:], REAL_RUNS, strict=True
    ):
        assert idle_row.real_median == statistics.median(idle_runs(masters, added)) * 1000
        assert idle_row.sim_median == real_row.sim_median  # the same rcsim runs
    assert all(r.tolerance == 0.25 and not r.range_allowed for r in table)
    # The per-slot cost grows with the number of masters: one SETSLOT NODE per master.
    per_slot = [
        r.sim_median / slots for r, (_, _, slots, _) in zip(table[:3], REAL_RUNS, strict=True)
    ]  # type: ignore[operator]
    assert per_slot[0] < per_slot[1] and per_slot[0] < per_slot[2]


def test_the_rebalances_take_the_measured_time_within_25_percent() -> None:
    """The SETSLOT costs by kind (simulator/dataplane/setslot_cost.py, §16.7) make up a
    rebalance of nearly empty slots: without them rcsim took 0.19–0.25× the real time.
    Within 25 %: 3+1 and 3+2 of resharding.json, and all three shapes re-measured on the
    idle host the costs were measured on (3 rounds each; rebalance-shapes-idle.json). Out:
    resharding.json's single 4+1 run (3.02 s, 0.92 ms a slot against 3+2's 0.77 with the
    same seven SETSLOTs a move), 1.46× the idle host's 4+1 median (2.07 s [2.04–2.39]):
    docs/fidelity.md. The list of rows out of bounds is pinned, so a change in either
    direction shows."""
    table = rows()
    assert [r.experiment for r in table if not r.within_bounds] == [
        "rebalance 4+1 masters, 3280 slots"
    ]
    ratios = [r.ratio for r in table]
    assert all(ratio is not None and ratio > 0.7 for ratio in ratios), ratios
