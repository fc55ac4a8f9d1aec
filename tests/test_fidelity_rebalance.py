"""The rebalance runs of resharding.json re-run in rcsim (simulator/fidelity_rebalance.py):
the second measurement the reshard cost constants are checked against (issue 11 §4)."""

from __future__ import annotations

import dataclasses
import json
import statistics
from functools import cache
from pathlib import Path

import pytest

from simulator.fidelity import Row, format_table
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
    idle, references = table[:3], table[3:]
    assert [r.real_median for r in references] == [real * 1000 for *_, real in REAL_RUNS]
    for idle_row, reference, (masters, added, _, _) in zip(
        idle, references, REAL_RUNS, strict=True
    ):
        assert idle_row.real_median == statistics.median(idle_runs(masters, added)) * 1000
        assert idle_row.real_min == min(idle_runs(masters, added)) * 1000
        assert reference.sim_median == idle_row.sim_median  # the same rcsim runs
    assert all(r.tolerance == 0.25 and not r.range_allowed for r in table)
    # The per-slot cost grows with the number of masters: one SETSLOT NODE per master.
    per_slot = [r.sim_median / slots for r, (_, _, slots, _) in zip(idle, REAL_RUNS, strict=True)]  # type: ignore[operator]
    assert per_slot[0] < per_slot[1] and per_slot[0] < per_slot[2]


def test_the_rebalances_take_the_idle_hosts_time_within_25_percent() -> None:
    """The SETSLOT costs by kind (simulator/dataplane/setslot_cost.py, §16.7) make up a
    rebalance of nearly empty slots: without them rcsim took 0.19–0.25× the real time.
    The rows that set the exit code are the three shapes re-measured on the idle host the
    costs were measured on, 3 rounds each (rebalance-shapes-idle.json): all within 10 %
    (a different measurement from the single-slot moves the costs were fitted on)."""
    idle = rows()[:3]
    assert [r.experiment for r in idle] == [
        "rebalance 3+1 masters, 4096 slots, idle host",
        "rebalance 3+2 masters, 6556 slots, idle host",
        "rebalance 4+1 masters, 3280 slots, idle host",
    ]
    assert not any(r.reference for r in idle)
    assert all(r.within_bounds and r.passes for r in idle)
    assert all(r.ratio is not None and 0.9 < r.ratio < 1.1 for r in idle), [r.ratio for r in idle]


def test_resharding_jsons_single_runs_are_reference_rows() -> None:
    """resharding.json's rebalances are one run each, host load not recorded: printed,
    marked, never setting the exit code. The 4+1 run is out of 25 % (0.74×) and would be
    the only row out; it is the load, by the file's own figures: its 4+1 and 3+2 runs send
    the same seven SETSLOTs a move (5 masters), yet spent 0.92 and 0.77 ms a slot (+19 %),
    where the idle host spends the same on both (within 1 %). The list of reference rows
    out of bounds is pinned, so a change in either direction shows."""
    references = rows()[3:]
    assert all(r.reference and r.passes for r in references)
    assert all(r.experiment.endswith(", one run, host load not recorded") for r in references)
    assert [r.experiment for r in references if not r.within_bounds] == [
        "rebalance 4+1 masters, 3280 slots, one run, host load not recorded"
    ]
    assert all(r.ratio is not None and r.ratio > 0.7 for r in references)
    per_slot = {(m, a): real_s / slots for m, a, slots, real_s in REAL_RUNS}
    idle_per_slot = {
        (m, a): statistics.median(idle_runs(m, a)) / slots for m, a, slots, _ in REAL_RUNS
    }
    assert per_slot[(4, 1)] / per_slot[(3, 2)] > 1.15
    assert abs(idle_per_slot[(4, 1)] / idle_per_slot[(3, 2)] - 1) < 0.01
    table = format_table(references)
    assert "| 0.74 | reference (no) |" in table and "| NO |" not in table


def test_a_reference_row_out_of_bounds_does_not_set_the_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rcsim fidelity`` exits 1 on a row out of bounds, but not on a reference row."""
    from rcsim.cli import main
    from simulator import fidelity_reshard

    reference = rows()[5]
    assert reference.reference and not reference.within_bounds
    monkeypatch.setattr(fidelity_reshard, "reshard_rows", lambda seeds: [*rows()[:3], reference])
    assert main(["fidelity", "--part", "reshard", "--seeds", "1"]) == 0
    assert "| reference (no) |" in capsys.readouterr().out
    bounding = dataclasses.replace(reference, reference=False)
    monkeypatch.setattr(fidelity_reshard, "reshard_rows", lambda seeds: [*rows()[:3], bounding])
    assert main(["fidelity", "--part", "reshard", "--seeds", "1"]) == 1
    assert "| NO |" in capsys.readouterr().out
