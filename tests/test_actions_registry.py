"""The action registry is the one vocabulary of actions: every consumer matches it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator import actions
from simulator.actions import ACTIONS
from simulator.dataplane import actions as dataplane_actions
from simulator.harness.runner import action_call
from simulator.scenario import load_scenario, parse_scenario
from simulator.scenario.bundled import bundled_names
from simulator.scenario.tables import ACTIONS as TABLES
from simulator.simulation import CLUSTER_VERBS, Injection, Simulation
from tui.session_io import injection_step

ROOT = Path(__file__).resolve().parent.parent

# One call of every action a scenario can name, as Simulation.inject takes it.
SAMPLES: dict[str, dict[str, Any]] = {
    "kill": {"node": "n1"},
    "kill-masters": {"share": 0.5},
    "pause": {"node": "n1"},
    "resume": {"node": "n1"},
    "restart": {"node": "n1"},
    "shutdown": {"node": "n1"},
    "del-node": {"node": "n4"},
    "forget": {"node": "n4", "on_nodes": ["n1", "n2"]},
    "partition": {"groups": [["n1"], ["n2", "n3"]]},
    "cut": {"from": ["n1"], "to": ["n2", "n3"]},
    "heal": {"groups": None},
    "failover": {"node": "n4", "mode": "force"},
    "add-node": {"name": "n9", "replica_of": "n1"},
    "set-config": {"node": "all", "settings": {"cluster-node-timeout": 3000}},
    "reshard": {"source": "n1", "target": "n2", "count": 10, "slots": None, "pipeline": 10},
    "rebalance": {
        "weights": {"n1": 2.0},
        "threshold": 2.0,
        "use_empty_masters": True,
        "pipeline": 10,
    },
    "fix": {},
    "write": {"key": "k", "value": "v", "client": "app"},
    "read": {"key": "k", "client": "app"},
    "expire": {"key": "k", "ttl": 5000, "client": "app"},
    "publish": {"channel": "c", "message": "m", "node": "n1", "sharded": False},
    "subscribe": {"channel": "c", "node": "n2", "client": "s1", "pattern": True, "sharded": False},
    "workload": {"client": "app", "rate": 5.0, "writes": 0.5},
}

BASE = {
    "name": "t",
    "cluster": {"masters": 3, "replicas": 1},
    "clients": [{"name": "app", "rate": "10/s"}],
}


def test_the_scenario_tables_name_exactly_the_scenario_actions() -> None:
    assert sorted(TABLES) == sorted(n for n, a in ACTIONS.items() if a.scenario)
    for name, definition in TABLES.items():
        assert definition.doc == ACTIONS[name].doc


def test_every_action_has_exactly_one_handler() -> None:
    assert sorted(CLUSTER_VERBS) == sorted(actions.names("cluster"))
    assert sorted(dataplane_actions.ACTIONS) == sorted(actions.names("dataplane"))


def test_every_handler_takes_the_registered_arguments() -> None:
    import inspect

    for name, handler in dataplane_actions.ACTIONS.items():
        params = list(inspect.signature(handler).parameters)[1:]
        assert tuple(params) == ACTIONS[name].arg_names, name


def test_only_registered_verbs_can_be_added() -> None:
    sim = Simulation(masters=3, replicas=0)
    with pytest.raises(ValueError, match="not a registered action"):
        sim.register_action("explode", lambda sim: None)


def test_samples_cover_every_scenario_action() -> None:
    assert sorted(SAMPLES) == sorted(n for n, a in ACTIONS.items() if a.scenario)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_session_saver_writes_every_action_back_to_the_same_call(name: str) -> None:
    """inject(name, **args) -> saved step -> parsed scenario -> the runner's call: same."""
    step = injection_step(Injection(1000, 0, name, SAMPLES[name]))
    assert name in step
    text = yaml.safe_dump({**BASE, "steps": [step]}, sort_keys=False)
    scenario = parse_scenario(text, "saved.yaml")
    action = scenario.steps[0].action
    assert action is not None
    verb, args = action_call(action)
    assert verb == name
    expected = SAMPLES[name]
    assert {k: v for k, v in args.items() if v is not None} == {
        k: v for k, v in expected.items() if v is not None
    }


def test_the_runner_calls_registered_actions_with_registered_arguments() -> None:
    for lesson in bundled_names():
        for step in load_scenario(lesson).steps:
            if step.action is None:
                continue
            verb, args = action_call(step.action)
            assert verb in ACTIONS
            assert set(args) <= set(ACTIONS[verb].arg_names), (lesson, verb)
            assert set(ACTIONS[verb].required) <= set(args), (lesson, verb)


def test_the_tui_injects_only_registered_actions_a_session_can_save() -> None:
    injected: set[str] = set()
    sources = ("app.py", "app_inject.py")  # the keys, and the injection actions they run
    trees = [ast.parse((ROOT / "tui" / name).read_text(encoding="utf-8")) for name in sources]
    for node in (node for tree in trees for node in ast.walk(tree)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "inject"
            and node.args
        ):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                injected.add(first.value)
            elif isinstance(first, ast.IfExp):
                injected.update(
                    c.value
                    for c in (first.body, first.orelse)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                )
    assert injected, "no injections found in tui/app.py or tui/app_inject.py"
    assert {"kill", "forget", "reshard"} <= injected
    assert sorted(injected - set(SAMPLES)) == []


def test_inject_refuses_arguments_the_registry_does_not_list() -> None:
    from simulator.simulation import ActionError

    sim = Simulation(masters=3, replicas=0)
    with pytest.raises(ActionError, match="kill: unknown argument 'nodes'"):
        sim.inject("kill", nodes="n1")
    with pytest.raises(ActionError, match="pause: missing argument 'node'"):
        sim.inject("pause")
    assert sim.injections == []
