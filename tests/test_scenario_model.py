"""Loading builds the documented dataclasses, with values normalised and positions kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario import (
    AddNode,
    ClusterState,
    Event,
    Failover,
    Heal,
    Kill,
    Loc,
    LostWrites,
    Promoted,
    Reshard,
    ScenarioError,
    SetConfig,
    Subscribe,
    load_scenario,
    parse_duration,
    parse_latency,
    parse_rate,
    parse_scenario,
)
from simulator.scenario.bundled import resolve
from simulator.scenario.durations import format_duration

BASE = "name: t\ncluster:\n  masters: 3\n  replicas: 1\n"


def errors_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "x.yaml")
    return caught.value.errors


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("250ms", 250),
        ("2s", 2000),
        ("1.5s", 1500),
        ("2m", 120_000),
        ("1h", 3_600_000),
        (2000, 2000),
        ("0", 0),
    ],
)
def test_durations_are_whole_milliseconds(text: str | int, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["2x", "1.5", "-1s", "0.5ms", "31d", "", "s", True])
def test_bad_durations_are_refused(text: str | bool) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.integers(0, 30 * 24 * 3600 * 1000))
def test_formatted_durations_parse_back(ms: int) -> None:
    assert parse_duration(format_duration(ms)) == ms


def test_rates_and_latency() -> None:
    assert parse_rate("200/s") == 200.0
    assert parse_rate("30/m") == 0.5
    assert parse_rate(15) == 15.0
    assert parse_latency("0.1ms..0.5ms") == (0.1, 0.5)
    assert parse_latency("2ms") == (2.0, 2.0)
    with pytest.raises(ValueError):
        parse_rate("fast")


def test_generated_topology_follows_the_naming_rule() -> None:
    scenario = parse_scenario("name: t\ncluster: {masters: 3, replicas: 2}\n")
    nodes = {n.name: n for n in scenario.cluster.nodes}
    assert scenario.cluster.names == [f"n{i}" for i in range(1, 10)]
    assert [nodes[f"n{k}"].replica_of for k in range(4, 10)] == ["n1", "n2", "n3", "n1", "n2", "n3"]
    assert nodes["n1"].slots == tuple(range(0, 5461))
    assert nodes["n3"].slots[-1] == 16383
    assert nodes["n4"].slots == ()


def test_master_crash_bundled_scenario_loads_with_positions() -> None:
    scenario = load_scenario("master-crash")
    assert scenario.source == "scenarios/master-crash.yaml"
    assert len(scenario.sha256) == 64
    kill = scenario.steps[1]
    assert kill.at == 2000
    assert isinstance(kill.action, Kill)
    assert kill.action == Kill(loc=kill.action.loc, node="n1")
    text = resolve("master-crash")[1].splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.strip() == "kill: n1")
    assert kill.action.loc_of("node") == Loc("scenarios/master-crash.yaml", line, 11)
    wait = next(s for s in scenario.steps if s.wait_for and isinstance(s.wait_for[0], Promoted))
    assert wait.wait_for == (Promoted(loc=wait.wait_for[0].loc, node="n4"),)
    assert wait.timeout == 30_000
    assert scenario.run_until == 20_000


def test_actions_are_normalised() -> None:
    scenario = parse_scenario(
        BASE
        + """steps:
  - failover: n4
  - reshard: {from: n1, to: n2, slots: "0-9"}
  - heal: all
  - add-node: {}
  - add-node: {replica_of: n7}
  - set-config: {cluster-node-timeout: "5000", appendonly: yes}
  - subscribe: {channel: c}
"""
    )
    actions = [s.action for s in scenario.steps]
    assert isinstance(actions[0], Failover) and actions[0].mode == "default"
    assert isinstance(actions[1], Reshard)
    assert (actions[1].count, actions[1].slots) == (10, tuple(range(10)))
    assert isinstance(actions[2], Heal) and actions[2].groups is None
    assert isinstance(actions[3], AddNode) and actions[3].name == "n7"
    assert isinstance(actions[4], AddNode) and (actions[4].name, actions[4].replica_of) == (
        "n8",
        "n7",
    )
    assert isinstance(actions[5], SetConfig)
    assert (actions[5].node, dict(actions[5].values)) == (
        "all",
        {"cluster-node-timeout": 5000, "appendonly": True},
    )
    assert isinstance(actions[6], Subscribe) and actions[6].client == "sub1"


def test_conditions_are_normalised() -> None:
    scenario = parse_scenario(
        BASE
        + """expect:
  - cluster_state: {node: n2, state: fail}
    lost_writes: {max: 3}
  - event: {kind: fail, target: n1, within: 3s, epoch: 7}
"""
    )
    state, lost, event = scenario.expect
    assert state == ClusterState(loc=state.loc, state="fail", node="n2")
    assert lost == LostWrites(loc=lost.loc, maximum=3)
    assert event == Event(loc=event.loc, kind="fail", target="n1", within=3000, fields={"epoch": 7})


def test_all_errors_are_reported_at_once_in_file_order() -> None:
    errors = errors_of(
        BASE
        + """steps:
  - pause: n8
  - kil: n1
seeed: 2
"""
    )
    assert errors == [
        "x.yaml:6:12: unknown node 'n8' (known: n1..n6)",
        "x.yaml:7:5: unknown action 'kil' (did you mean 'kill'?)",
        "x.yaml:8:1: unknown key 'seeed' (did you mean 'seed'?)",
    ]


def test_reshard_check_follows_earlier_reshards() -> None:
    errors = errors_of(
        BASE
        + """steps:
  - reshard: {from: n1, to: n2, slots: 5000}
  - reshard: {from: n1, to: n3, slots: 500}
"""
    )
    assert errors == ["x.yaml:7:40: reshard of 500 slots from 'n1', which owns only 461"]


def test_reshard_after_a_fault_is_not_second_guessed() -> None:
    # after kill, n4 may own n1's slots: the validator cannot know, so it does not refuse
    parse_scenario(BASE + "steps:\n  - kill: n1\n  - reshard: {from: n4, to: n2, slots: 100}\n")


def test_wait_for_keeps_at_monotonic_checks_as_lower_bounds() -> None:
    parse_scenario(
        BASE
        + "steps:\n  - at: 2s\n    kill: n1\n  - wait_for: {promoted: n4}\n  - at: 3s\n    caption: x\n"
    )
    assert errors_of(
        BASE + "steps:\n  - after: 2s\n    kill: n1\n  - at: 1s\n    caption: x\n"
    ) == ["x.yaml:8:9: 'at: 1s' goes back in time (the previous step is at 2s or later)"]


def test_added_nodes_and_subscribers_are_known_from_their_step_on() -> None:
    parse_scenario(
        BASE
        + """steps:
  - add-node: n9
  - subscribe: {channel: c, client: reader}
  - partition: [[n9, reader], [n1, n2]]
expect:
  - delivered: {subscriber: reader, count: 0}
  - role: {n9: master}
"""
    )


def test_a_broken_cluster_does_not_make_every_node_name_an_error() -> None:
    text = "name: t\ncluster: {masters: 0}\nsteps:\n  - kill: n1\n  - partition: [[n1], [n2]]\n"
    assert errors_of(text) == ["x.yaml:2:20: expected a number of masters of at least 1, got 0"]


def test_a_broken_client_does_not_make_its_uses_errors() -> None:
    text = BASE + "clients:\n  - name: app\n    rate: x\nsteps:\n  - write: {key: k, client: app}\n"
    assert errors_of(text) == ["x.yaml:7:11: expected a rate like 200/s or 30/m, got 'x'"]


def test_fix_takes_true_or_the_unreachable_masters_option() -> None:
    from simulator.scenario import Fix

    text = BASE + "steps:\n  - fix: true\n  - fix: {with_unreachable_masters: true}\n"
    steps = parse_scenario(text, "x.yaml").steps
    fixes = [step.action for step in steps]
    assert [type(a) for a in fixes] == [Fix, Fix]
    assert [a.with_unreachable_masters for a in fixes if isinstance(a, Fix)] == [False, True]
    errors = errors_of(BASE + "steps:\n  - fix: {with_unreachable: true}\n")
    assert len(errors) == 1 and "x.yaml:6" in errors[0] and "with_unreachable" in errors[0]
