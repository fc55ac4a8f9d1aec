"""What each command of a slot move costs (simulator/dataplane/setslot_cost.py, §16.7):
the calibrations are the idle-host probe's pooled means, the refit of c and k reproduces
the two reshards, and the resharding job charges each SETSLOT by the kind cluster.c runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.dataplane import install
from simulator.dataplane import setslot_cost as cost
from simulator.simulation import Simulation

DATA = Path(__file__).parent / "data"
RESHARD_MS = {10: 508, 1: 2120}  # tests/data/resharding.json, 100 slots of 300 keys


def pooled() -> dict[str, dict[str, float]]:
    data: dict[str, dict[str, float]] = json.loads((DATA / "setslot-cost-idle.json").read_text())[
        "pooled"
    ]
    return data


def test_the_calibrations_are_the_idle_probe_means() -> None:
    means = {kind: summary["mean"] for kind, summary in pooled().items()}
    for kind, value in cost.SETSLOT_COSTS_MS.items():
        assert value == means[kind], kind
    assert means["getkeysinslot_empty"] == cost.CALIBRATION_GETKEYSINSLOT_MS


def test_the_refit_reproduces_both_reshards_per_slot() -> None:
    """Five SETSLOTs (3 masters), B + 1 GETKEYSINSLOTs, B MIGRATEs of two round trips,
    300 keys: the derivation in the module's docstring, within 0.1 %."""
    setslots = sum(cost.SETSLOT_COSTS_MS.values())
    for pipeline, real_ms in RESHARD_MS.items():
        batches = 300 // pipeline
        per_slot = (
            setslots
            + (batches + 1) * cost.CALIBRATION_GETKEYSINSLOT_MS
            + 2 * batches * cost.COMMAND_RTT_MS
            + 300 * cost.KEY_COST_MS
        )
        assert per_slot * 100 == pytest.approx(real_ms, rel=0.001)


def test_the_fitted_round_trip_is_the_measured_ping() -> None:
    """Checked elsewhere: c against the probe's PING round trip on the same idle host."""
    runs = json.loads((DATA / "setslot-cost-idle.json").read_text())["runs"]
    ping = sum(r["ping"]["mean"] for r in runs) / len(runs)
    assert pytest.approx(ping, rel=0.10) == cost.COMMAND_RTT_MS


@pytest.mark.parametrize(
    ("arg", "on", "importing", "kind"),
    [
        ("IMPORTING", "target", False, "importing"),
        ("MIGRATING", "source", False, "migrating"),
        ("NODE", "target", True, "node_on_importing"),
        ("NODE", "source", False, "node_on_source"),
        ("NODE", "other", False, "node_on_third_master"),
        ("NODE", "target", False, "node_on_third_master"),  # no import: no epoch bump
        ("STABLE", "source", False, None),
    ],
)
def test_a_setslot_is_the_kind_cluster_c_runs(
    arg: str, on: str, importing: bool, kind: str | None
) -> None:
    assert cost.setslot_kind(arg, on, importing) == kind


def test_a_refused_or_unmeasured_setslot_is_one_round_trip() -> None:
    assert cost.setslot_cost_ms("node_on_source", ok=False, round_trip_ms=0.02) == 0.02
    assert cost.setslot_cost_ms(None, ok=True, round_trip_ms=0.02) == 0.02
    assert cost.setslot_cost_ms("importing", ok=True, round_trip_ms=0.02) == 0.0766


@pytest.mark.parametrize("masters", [3, 4, 5])
def test_an_empty_slot_move_costs_its_commands_by_kind(masters: int) -> None:
    """redis-cli waits for each reply: one empty slot's move lasts IMPORTING + MIGRATING +
    one empty GETKEYSINSLOT + SETSLOT NODE on the target, the source and every other
    master, as the resharding job schedules it."""
    sim = Simulation(masters=masters, replicas=0, seed=1)
    install(sim)
    start = float(sim.now)
    job = sim.inject("reshard", source="n1", target="n2", slots=[0])
    sim.run_for(50)
    assert job.done and job.error is None and job.moved == 1
    expected = (
        cost.CALIBRATION_SETSLOT_IMPORTING_MS
        + cost.CALIBRATION_SETSLOT_MIGRATING_MS
        + cost.CALIBRATION_GETKEYSINSLOT_MS
        + cost.CALIBRATION_SETSLOT_NODE_IMPORTING_MS
        + cost.CALIBRATION_SETSLOT_NODE_SOURCE_MS
        + (masters - 2) * cost.CALIBRATION_SETSLOT_NODE_OTHER_MS
    )
    assert job.clock - start == pytest.approx(expected)
