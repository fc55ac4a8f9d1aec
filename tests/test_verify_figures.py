"""The counts and rates rcsim verify compares besides milestones (rcsim/verify/figures.py):
keys evicted / expired per node, stale keys, bus messages per second, read alike from
rcsim's run and from a real node's counters; their rows and cells; old reports without
them still load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rcsim.verify import docs
from rcsim.verify.compare import Row, markdown, rows
from rcsim.verify.figures import (
    bus_figures_real,
    bus_figures_sim,
    counters_of_events,
    idle,
    key_figures,
    kind_of,
    stale_figures,
)
from rcsim.verify.measure import Measures
from rcsim.verify.refresh import real_measures
from rcsim.verify.scenario_api import load_scenario, parse_scenario, run
from rcsim.verify.simside import measure


def test_only_an_idle_scenario_is_compared_on_its_bus() -> None:
    assert idle(load_scenario("bus-cost"))
    assert idle(load_scenario("hello-cluster"))
    assert not idle(load_scenario("master-crash"))  # a kill
    assert not idle(load_scenario("expire-cycle"))  # clients


def test_keys_are_counted_per_node_from_rcsims_events_and_from_real_counters() -> None:
    scenario = load_scenario("eviction-policies")
    events = [
        {"t": 1, "kind": "key_evicted", "node": "rand", "key": "a"},
        {"t": 2, "kind": "key_evicted", "node": "rand", "key": "b"},
        {"t": 3, "kind": "key_evicted", "node": "lru5", "key": "c"},
        {"t": 4, "kind": "pfail", "node": "lru5", "target": "rand"},
    ]
    names = [n.name for n in scenario.cluster.nodes]
    sim = key_figures(scenario, counters_of_events(events, names))
    assert sim == {
        "evicted keys lru5": 1,
        "evicted keys lru10": 0,
        "evicted keys rand": 2,
        "evicted keys lru5-r": 0,
        "evicted keys lru10-r": 0,
        "evicted keys rand-r": 0,
    }
    real = key_figures(scenario, {"rand": {"evicted_keys": 250}, "lru5": {"evicted_keys": 9}})
    assert real["evicted keys rand"] == 250
    assert real["evicted keys lru10"] is None  # never answered INFO stats
    ttl = key_figures(load_scenario("ttl-on-replica"), {"n4": {"expired_keys": 1}})
    assert ttl["expired keys n4"] == 1 and "evicted keys n1" not in ttl


def test_stale_keys_expectations_become_counts_labelled_as_their_verdicts() -> None:
    results: list[dict[str, Any]] = [
        {
            "kind": "expect",
            "step": 1,
            "condition": "stale_keys",
            "observed": "302",
            "loc": "scenarios/expire-cycle.yaml:33:9",
        },
        {
            "kind": "final",
            "step": None,
            "condition": "stale_keys",
            "observed": "n1 has not answered INFO stats",
            "loc": "scenarios/expire-cycle.yaml:51:5",
        },
        {
            "kind": "wait_for",
            "step": 5,
            "condition": "stale_keys",
            "observed": "0",
            "loc": "x:43:5",
        },
        {"kind": "expect", "step": 1, "condition": "role", "observed": "3", "loc": "x:1:1"},
    ]
    assert stale_figures(results) == {
        "step 2 stale keys (line 33)": 302,
        "end stale keys (line 51)": None,
    }


def test_bus_rows_read_rcsims_metrics_and_two_reads_of_real_counters() -> None:
    sim = bus_figures_sim(
        {
            "by_type": {"PING": {"sent_per_s": 77.8}, "PONG": {"sent_per_s": 77.9}},
            "total": {"sent_per_s": 156.0},
        }
    )
    assert sim == {"bus PING msg/s": 77.8, "bus PONG msg/s": 77.9, "bus all msg/s": 156.0}
    start = {"n1": {"ping": 100, "pong": 90, "fail": 1}, "n2": {"ping": 50, "pong": 60}}
    end = {
        "n1": {"ping": 130, "pong": 120, "fail": 1},
        "n2": {"ping": 80, "pong": 90},
        "n3": {"ping": 5},
    }
    real = bus_figures_real(start, end, 10_000)
    assert real == {"bus PING msg/s": 6.0, "bus PONG msg/s": 6.0, "bus all msg/s": 12.0}
    assert kind_of("bus PING msg/s") == "rate" and kind_of("evicted keys n1") == "count"


def _measures(figures: dict[str, Any]) -> Measures:
    return Measures(failovers=[], waits={}, final={}, figures=figures)


def test_figure_rows_are_compared_as_counts_and_rates() -> None:
    real = [
        _measures({"bus PING msg/s": v, "evicted keys rand": e})
        for v, e in ((78.4, 250), (78.0, 240))
    ]
    sim = [_measures({"bus PING msg/s": 76.0, "evicted keys rand": 300})]
    table = rows(real, sim)
    assert table == [
        Row("bus PING msg/s", "rate", (78.4, 78.0), (76.0,)),
        Row("evicted keys rand", "count", (250, 240), (300,)),
    ]
    assert table[0].in_bounds() and not table[1].in_bounds()  # 300 / 245 = 1.22
    text = markdown(table)
    assert "| bus PING msg/s | 78.2 [78.0–78.4] | 76.0 | 0.97 | yes |" in text
    assert "| evicted keys rand | 245 [240–250] | 300 | 1.22 | **no** |" in text


def test_a_raw_report_from_before_the_figures_still_loads() -> None:
    run_data: dict[str, Any] = {
        "failovers": [],
        "waits": {},
        "final": {},
        "results": [],
        "errors": [],
        "lost_writes": None,
        "requests": {},
    }
    loaded = real_measures({"real": [run_data]})
    assert loaded is not None and loaded[0].figures == {}
    assert real_measures({"real": [{**run_data, "figures": {"bus all msg/s": 6.0}}]})[
        0
    ].figures == {  # type: ignore[index]
        "bus all msg/s": 6.0
    }


def test_rcsims_side_counts_the_ttl_lessons_one_expiry_on_the_promoted_replica() -> None:
    figures = measure(load_scenario("ttl-on-replica"), 1).figures
    assert figures == {f"expired keys n{k}": (1 if k == 4 else 0) for k in range(1, 7)}


def test_rcsims_side_measures_an_idle_clusters_bus() -> None:
    figures = measure(load_scenario("hello-cluster"), 1).figures
    assert set(figures) == {"bus PING msg/s", "bus PONG msg/s", "bus all msg/s"}
    assert 2.0 < (figures["bus PING msg/s"] or 0) < 5.0  # 3 nodes: ~1 random ping/s each


SET_PX = """
name: SET PX in the ledger
description: writes with a TTL; the ledger records key and value, not the PX option
seed: 1
cluster: {masters: 3}
clients:
  - {name: loader, rate: 200/s, writes: 1, keys: "a:{i}", key_count: 1000000, ttl: 500ms}
steps:
  - at: 1s
    workload: {client: loader, rate: 0/s}
run_until: 3s
"""


def test_rcsims_ledger_takes_a_set_with_px_as_one_write_of_its_key() -> None:
    sim = run(parse_scenario(SET_PX, "set-px.yaml"), 1)
    ledger = sim.extras["dataplane"].ledger
    assert "PX" not in ledger.written_keys()
    assert len(ledger.written_keys()) > 150
    # every key expired and was deleted by 3 s: deletions, not lost writes
    assert len(sim.extras["dataplane"].lost_writes()) == 0


KEPT = Path(__file__).resolve().parent.parent / docs.KEPT_DIR


@pytest.mark.parametrize(
    "name",
    ["ttl-on-replica", "keyspace-notifications", "eviction-policies", "bus-cost", "hello-cluster"],
)
def test_the_kept_real_reports_hold_every_figure_row_rcsim_gives(name: str) -> None:
    """The figure labels of rcsim's side must be the kept real rows' (a renamed label would
    leave the real column "never" after `make verify-refresh`)."""
    report = json.loads((KEPT / f"{name}.json").read_text(encoding="utf-8"))
    assert not report.get("refused")
    kept = {row["label"]: row for row in report["rows"]}
    figures = measure(load_scenario(report["source"]), 1).figures
    assert figures
    for label in figures:
        assert label in kept, label
        assert any(value is not None for value in kept[label]["real"]), label


def test_the_kept_expire_cycle_report_holds_its_stale_and_expired_rows() -> None:
    report = json.loads((KEPT / "expire-cycle.json").read_text(encoding="utf-8"))
    labels = {row["label"] for row in report["rows"]}
    assert {f"expired keys n{k}" for k in range(1, 7)} <= labels
    assert "step 2 stale keys (line 34)" in labels
