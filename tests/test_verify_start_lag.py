"""The real side's time-0 lag: how it is measured (rcsim/verify/startlag.py), the calibration
kept from the measurement (tests/data/verify-start-lag.json), and rcsim's fresh start
drawing from it (simulator/harness/fresh.py, rcsim/verify/simside.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rcsim.verify import freshcheck
from rcsim.verify.clusterview import snapshot
from rcsim.verify.poller import POLL_MS, Sample
from rcsim.verify.scenario_api import load_scenario
from rcsim.verify.simside import (
    CALIBRATION_VERIFY_START_LAG_MS,
    HEALTH_POLL_MS,
    START_GAP_MS,
    START_POLL_STAMP_MS,
    start_lag,
)
from rcsim.verify.startlag import start_lag_ms, sync_done_ms, views_healthy_since
from simulator.fidelity import healthy
from simulator.harness import reference
from simulator.harness.fresh import build_fresh, replicate_when_all_known, stagger_starts
from simulator.harness.runner import NO_CHECKPOINTS, new_simulation
from simulator.node.cron import CRON_PERIOD_MS
from simulator.simulation import Simulation

DATA = Path(__file__).parent / "data" / "verify-start-lag.json"
NO_REPLICA = load_scenario("scenarios/no-replica.yaml")
MASTER_CRASH = load_scenario("scenarios/master-crash.yaml")


def test_the_calibration_is_the_measurement_kept_in_tests_data() -> None:
    data = json.loads(DATA.read_text())
    measured = tuple((s["nodes"], s["lag_ms"]) for s in data["samples"])
    assert measured == CALIBRATION_VERIFY_START_LAG_MS
    assert len(measured) >= 10 and len({s["scenario"] for s in data["samples"]}) >= 5
    assert data["server"] == {"product": "Redis", "version": "7.0.15"}
    assert START_POLL_STAMP_MS == data["poll_ms"] == POLL_MS


def test_each_scenario_draws_from_the_lags_measured_on_the_nearest_cluster_size() -> None:
    sizes = {size for size, _ in CALIBRATION_VERIFY_START_LAG_MS}
    for scenario in (NO_REPLICA, MASTER_CRASH):
        nodes = len(scenario.cluster.nodes)
        lag = start_lag(scenario)
        nearest = min(sizes, key=lambda s: (abs(s - nodes), s))
        assert sorted(lag.samples_ms) == sorted(
            ms for size, ms in CALIBRATION_VERIFY_START_LAG_MS if size == nearest
        )


def polled_history(sim: Simulation, until: int) -> list[Sample]:
    """What verify's pollers would record of rcsim's nodes: each node's CLUSTER NODES and
    CLUSTER INFO every POLL_MS, changes only (rcsim/verify/poller.py)."""
    names = {node.id: name for name, node in sim.cluster.nodes.items()}
    history: list[Sample] = []
    latest: dict[str, object] = {}
    while sim.now < until:
        sim.run_until(sim.now + POLL_MS)
        for name in sim.cluster.nodes:
            view = snapshot(
                name,
                reference.cluster_nodes(sim.cluster, name),
                reference.cluster_info(sim.cluster, name),
                names,
            )
            if latest.get(name) != view:
                latest[name] = view
                history.append(Sample(float(sim.now), name, view))
    return history


def test_the_measured_healthy_moment_is_the_poll_that_first_saw_every_view_healthy() -> None:
    """Played on rcsim's own MEET-built cluster (3 masters): the view part of verify's check,
    replayed over a polled history, turns true on the first poll at or after the moment
    rcsim's ``healthy`` does (within one poll period), and the lag counts from there."""
    sim = new_simulation(NO_REPLICA, 3, NO_CHECKPOINTS, CRON_PERIOD_MS, converged=False)
    stagger_starts(sim, START_GAP_MS)
    probe = new_simulation(NO_REPLICA, 3, NO_CHECKPOINTS, CRON_PERIOD_MS, converged=False)
    stagger_starts(probe, START_GAP_MS)
    while not healthy(probe):
        probe.run_until(probe.now + 1)
    history = polled_history(sim, probe.now + 500)
    names = {node.id: name for name, node in sim.cluster.nodes.items()}
    seen = views_healthy_since(history, list(sim.cluster.nodes), names)
    assert seen is not None and 0 <= seen - probe.now < POLL_MS, (seen, probe.now)
    measured = start_lag_ms(history, list(sim.cluster.nodes), names, {}, 0.0, seen + 37.0)
    assert measured["healthy_ms"] == round(seen, 1) and measured["lag_ms"] == 37.0
    early = [s for s in history if s.t < seen]
    assert views_healthy_since(early, list(sim.cluster.nodes), names) is None


def test_a_replicas_finished_sync_is_read_from_its_log_to_the_millisecond(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "7:S 30 Nov 2026 12:14:05.123 * Connecting to MASTER 127.0.0.20:7100\n"
        "7:S 30 Nov 2026 12:14:10.456 * MASTER <-> REPLICA sync: Finished with success\n"
    )
    first = sync_done_ms(log)
    assert first is not None
    log.write_text(log.read_text() + "7:S 30 Nov 2026 12:14:11.000 * Ready\n")
    assert sync_done_ms(log) == first
    (tmp_path / "none.log").write_text("7:S 30 Nov 2026 12:14:05.123 * Ready\n")
    assert sync_done_ms(tmp_path / "none.log") is None


def origin_and_healthy(seed: int) -> tuple[int, int, Simulation]:
    """The fresh start's time 0 and, replayed to the ms on a twin, its healthy moment."""
    sim = build_fresh(
        MASTER_CRASH,
        seed,
        start_gap_ms=START_GAP_MS,
        health_poll_ms=HEALTH_POLL_MS,
        start_lag=start_lag(MASTER_CRASH),
    )
    twin = new_simulation(MASTER_CRASH, seed, NO_CHECKPOINTS, CRON_PERIOD_MS, converged=False)
    stagger_starts(twin, START_GAP_MS)
    replicate_when_all_known(twin, HEALTH_POLL_MS)
    while not healthy(twin):
        twin.run_until(twin.now + 1)
    return int(sim.extras["driver"].origin), twin.now, sim


def test_the_fresh_start_begins_the_scenario_a_measured_lag_after_healthy() -> None:
    """With replicas the last to turn healthy is a replica's link, stamped exactly: the
    lag is one of the measured ones, drawn from the seed."""
    lags = start_lag(MASTER_CRASH).samples_ms
    drawn = []
    for seed in range(1, 7):
        origin, healthy_at, _ = origin_and_healthy(seed)
        drawn.append(origin - healthy_at)
        assert any(abs(origin - healthy_at - lag) <= 0.5 for lag in lags), (seed, drawn)
    assert len(set(drawn)) >= 3, drawn  # the seed draws it: not one lag for every seed


def test_same_seed_same_fresh_start_and_same_trace() -> None:
    first, _, a = origin_and_healthy(5)
    again, _, b = origin_and_healthy(5)
    assert first == again
    a.run_until(first + 4000)
    b.run_until(again + 4000)
    assert a.trace.events == b.trace.events


def test_freshcheck_refreshes_a_report_from_a_fresh_cluster_and_lists_what_moved(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``python -m rcsim.verify.freshcheck``, the check docs/fidelity.md quotes: no-replica's
    FAIL row and its wait come in (real 3870 [3121-3961]); a refused report is skipped
    with its reason."""
    kept = Path(__file__).parent / "data" / "verify-reports"
    assert freshcheck.main([str(kept / "no-replica.json"), str(kept / "mass-failure.json")]) == 0
    out, err = capsys.readouterr()
    assert "  IN  n1 crash: first FAIL: real [3121, 3870, 3961]" in out
    assert "  IN  step 2 wait_for flag (line 17)" in out
    assert "mass-failure.json: skipped: " in err and "refused" in err
    old = [{"label": "a", "in_bounds": True, "rcsim": [1, 2, 3]}]
    new = [{"label": "a", "in_bounds": False, "real": [5], "rcsim": [7, 8, 9]}]
    assert freshcheck.changes(old, new) == ["  OUT a: real [5], rcsim 2.0 -> 8.0"]
    assert freshcheck.changes(old, old) == []
