"""The reshard experiment's measuring client while redis-cli moves slots
(simulator/fidelity_reshard_client.py): one harness calibration, fitted on pipeline 10's
MOVED lag, checked on the reshard rows it was not fitted to (docs/fidelity.md)."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from simulator import fidelity
from simulator.fidelity import Row
from simulator.fidelity_reshard import ReshardRun, reshard_run_rows
from simulator.fidelity_reshard_client import (
    CALIBRATION_CLIENT_RATE_IN_MOVES,
    first_moved_times,
    moved_lag_ms,
)
from simulator.fidelity_reshard_fit import FIT_SHARES, fit

DATA = json.loads((Path(__file__).parent / "data" / "resharding.json").read_text())
RUNS = {run["cluster_pipeline"]: run for run in DATA["reshard_runs"]}
SEEDS = range(10)
"""As the table in docs/fidelity.md (``rcsim fidelity --part reshard --seeds 10``)."""


def real_first_moved(pipeline: str) -> dict[int, float]:
    events = RUNS[pipeline]["redirect_events"]  # [t_ms, type, slot, from, to, cmd]
    return {e[2]: e[0] for e in events if e[1] == "MOVED"}


def test_the_packaged_moved_lag_is_the_statistic_of_the_real_pipeline_10_run() -> None:
    lag = moved_lag_ms(real_first_moved("default (10)"))
    assert round(lag, 2) == fidelity.real_data()["resharding"]["pipeline10"]["MOVED_lag_ms"]
    assert "MOVED_lag_ms" not in fidelity.real_data()["resharding"]["pipeline1"]


def test_the_statistic_would_measure_the_real_redis_clis_pace_with_pipeline_1() -> None:
    """Why pipeline 1's MOVED lag is no check: its real move times bend away from one line
    (redis-cli's pace varied), so the statistic is ~5× pipeline 10's, where the moves
    were ~4× slower and the client faster."""
    assert moved_lag_ms(real_first_moved(1)) > 100


def test_moved_lag_is_the_mean_height_above_the_lines_lower_envelope() -> None:
    # Slots moving every 5 ms; odd slots reached 10 ms late: the line sits 5 ms above the
    # even ones, so the lower envelope is the even slots and the mean lag 5 ms.
    times = {slot: 5.0 * slot + (10.0 if slot % 2 else 0.0) for slot in range(100)}
    assert moved_lag_ms(times) == pytest.approx(5.0, abs=0.2)
    assert moved_lag_ms({slot: 5.0 * slot for slot in range(10)}) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="at least two slots"):
        moved_lag_ms({3: 1.0})


def test_first_moved_times_keeps_each_slots_first_moved() -> None:
    events = [
        {"t": 5, "kind": "request", "slot": 1, "outcome": "moved"},
        {"t": 6, "kind": "request", "slot": 1, "outcome": "moved"},
        {"t": 7, "kind": "request", "slot": 2, "outcome": "ask"},
        {"t": 8, "kind": "reshard_done"},
    ]
    assert first_moved_times(events) == {1: 5.0}


def _lag_and_rates(share: float, seed: int) -> tuple[float, float, float, float]:
    """MOVED lag; the client's requests a ms before, during and after redis-cli's job;
    the client's rate setting at the end."""
    run = ReshardRun(10, seed, client_share=share)
    started = run.sim.trace.of_kind("reshard_started")[0]["t"]
    done = run.sim.trace.of_kind("reshard_done")[0]["t"]
    requests = [e["t"] for e in run.sim.trace.of_kind("request")]
    during = sum(1 for t in requests if started <= t < done) / (done - started)
    after = sum(1 for t in requests if t >= done) / (run.sim.now - done)
    return run.moved_lag_ms(), during, after, run.dp.clients["app"].rate


def test_the_client_runs_at_the_calibrated_share_only_while_redis_cli_moves() -> None:
    _, during, after, rate = _lag_and_rates(CALIBRATION_CLIENT_RATE_IN_MOVES, 1)
    _, during_full, after_full, rate_full = _lag_and_rates(1.0, 1)
    real = fidelity.real_data()["resharding"]["pipeline10"]["client_ops_per_s_before"]
    assert rate == rate_full == real  # restored at reshard_done
    assert during < 0.8 * during_full
    assert after == pytest.approx(after_full, rel=0.05)


@cache
def _lags(share: float) -> tuple[float, ...]:
    with ProcessPoolExecutor(max_workers=2) as pool:
        return tuple(lag for lag, *_ in pool.map(_lag_and_rates, [share] * 10, SEEDS))


def test_the_calibrated_share_gives_the_real_moved_lag_and_the_unslowed_client_does_not() -> None:
    """The fit (over seeds 0-29 in docs/fidelity.md) seen on the table's 10 seeds: at the
    calibrated share the median lag is within 15 % of the real 25.0 ms; at the rate the
    client had before the reshard it is ~40 % short (a client reaching a slot ~0.7× as
    often as rcsim's, the observation that named the calibration)."""
    real = fidelity.real_data()["resharding"]["pipeline10"]["MOVED_lag_ms"]
    calibrated = fidelity.median(list(_lags(CALIBRATION_CLIENT_RATE_IN_MOVES)))
    unslowed = fidelity.median(list(_lags(1.0)))
    assert calibrated is not None and unslowed is not None
    assert abs(calibrated - real) <= 0.15 * real
    assert unslowed < 0.7 * real


@cache
def reshard_table() -> tuple[Row, ...]:
    """``rcsim fidelity --part reshard --seeds 10``'s reshard rows (not the rebalances)."""
    keys = list(fidelity.real_data()["resharding"])
    with ProcessPoolExecutor(max_workers=2) as pool:
        parts = pool.map(reshard_run_rows, keys, [SEEDS] * len(keys))
        return tuple(row for rows in parts for row in rows)


def test_the_reshard_rows_with_the_slowed_client() -> None:
    """The check on what the calibration was not fitted to: both durations, MOVED, both
    ASK counts, the slots with an ASK and the most in one slot. Pipeline 1's ASK count
    moved from 116 (+23 %, above its Poisson 95 % interval 76-115) to 75, one below it;
    not tuned on it (docs/fidelity.md). The list of rows out of bounds is pinned, so a
    change in either direction shows."""
    table = reshard_table()
    assert [(r.experiment.rsplit(", ", 1)[1], r.metric) for r in table] == [
        ("pipeline10", "reshard_wall_ms"),
        ("pipeline10", "MOVED"),
        ("pipeline10", "MOVED_lag_ms"),
        ("pipeline10", "ASK"),
        ("pipeline10", "slots_with_ASK"),
        ("pipeline10", "max_ASK_per_slot"),
        ("pipeline1", "reshard_wall_ms"),
        ("pipeline1", "MOVED"),
        ("pipeline1", "ASK"),
        ("pipeline1", "slots_with_ASK"),
        ("pipeline1", "max_ASK_per_slot"),
    ]
    out = [(r.experiment.rsplit(", ", 1)[1], r.metric) for r in table if not r.within_bounds]
    assert out == [("pipeline1", "ASK")]
    ask_1 = next(r for r in table if r.experiment.endswith("pipeline1") and r.metric == "ASK")
    assert ask_1.sim_median is not None and ask_1.real_min - 5 <= ask_1.sim_median < 94


def test_the_fit_reads_only_the_moved_lag_and_marks_the_nearest_share() -> None:
    """``python -m simulator.fidelity_reshard_fit`` on a two-share, two-seed grid: the
    unslowed client is ~10 ms short of the real lag, the calibrated share near it."""
    lines = fit((CALIBRATION_CLIENT_RATE_IN_MOVES, 1.0), range(2))
    assert lines[0] == "pipeline 10's MOVED lag, real 25.04 ms; rcsim median over 2 seeds:"
    assert lines[1].startswith(f"  share {CALIBRATION_CLIENT_RATE_IN_MOVES:.2f}: ")
    assert lines[1].endswith("<- nearest") and not lines[2].endswith("<- nearest")
    assert FIT_SHARES[0] == 0.5 and FIT_SHARES[-1] == 1.0 and len(FIT_SHARES) == 11
    assert CALIBRATION_CLIENT_RATE_IN_MOVES in FIT_SHARES
