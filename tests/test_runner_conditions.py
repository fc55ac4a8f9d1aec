"""Conditions against the live model: each says passed, what was expected and, in words,
what was observed instead."""

from __future__ import annotations

from simulator.harness.conditions import check
from simulator.harness.runner import run
from simulator.scenario import parse_scenario
from tests.conftest import CRASH_CLUSTER, KILL_N1_AND_WAIT

BASE = "name: c\n" + CRASH_CLUSTER + "steps:\n" + KILL_N1_AND_WAIT + "run_until: 6s\nexpect:\n"


def _checks(conditions: str) -> list:
    scenario = parse_scenario(BASE + conditions, "c.yaml")
    sim = run(scenario)
    return [check(sim, c, 0) for c in scenario.expect]


def test_view_conditions_read_each_nodes_own_view() -> None:
    results = _checks(
        """
  - flag: {observer: n2, node: n1, has: fail}
  - flag: {observer: n2, node: n4, lacks: replica}
  - flag: {observer: n2, node: n1, has: myself}
  - role: {n4: master, n5: replica}
  - cluster_state: {node: n1, state: ok}
  - epoch: {n2: 2}
"""
    )
    assert [r.passed for r in results] == [True, True, False, True, False, True]
    assert results[2].observed == "n2 sees n1 as master,fail"
    assert results[4].observed == "n1 is crashed, it reports nothing"


def test_truth_conditions_ask_the_cluster() -> None:
    results = _checks(
        """
  - owner: {n4: 0-5460, n2: "0"}
  - covered: true
  - agree: false
"""
    )
    assert [r.passed for r in results] == [False, True, False]
    assert results[0].observed == "n4 owns them; n2: 0 owned by n4"
    assert results[2].observed == "they agree"


def test_event_counts_and_windows() -> None:
    results = _checks(
        """
  - event: {kind: promoted, node: n4, count: 1}
  - event: {kind: crash, node: n1, within: 999ms}
  - event: {kind: crash, node: n1, within: 1s}
  - event: {kind: promoted, node: n5}
  - promoted: n5
"""
    )
    assert [r.passed for r in results] == [True, False, True, False, False]
    assert "the last 'promoted' was node=n4 target=n1" in results[3].observed
    assert "n4 was promoted instead" in results[4].observed


def test_data_conditions_count_from_the_data_plane() -> None:
    results = _checks(
        """
  - lost_writes: 0
  - lost_writes: {min: 1}
  - delivered: {channel: news, count: 0}
"""
    )
    assert [r.passed for r in results] == [True, False, True]
    assert results[1].observed == "0 lost"
