"""The JSON Schema is generated from the validator's tables, committed as
docs/scenario.schema.json, and accepts every bundled scenario and documented example."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from rcsim.cli import main
from simulator.scenario import list_bundled, load_scenario, resolve, scenario_schema, schema_text
from simulator.scenario.tables import ACTIONS, CONDITIONS

ROOT = Path(__file__).parent.parent
COMMITTED = ROOT / "docs" / "scenario.schema.json"


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(scenario_schema())


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(scenario_schema())


def test_committed_schema_equals_generated_output() -> None:
    assert COMMITTED.read_text("utf-8") == schema_text(), (
        "run: rcsim schema -o docs/scenario.schema.json"
    )


def test_rcsim_schema_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == scenario_schema()


def test_schema_lists_every_action_and_condition() -> None:
    schema = scenario_schema()
    assert set(schema["$defs"]["step"]["properties"]) >= set(ACTIONS)
    assert set(schema["$defs"]["condition"]["properties"]) == set(CONDITIONS)


@pytest.mark.parametrize("name", [n for n, _ in list_bundled()])
def test_bundled_scenario_matches_schema(name: str) -> None:
    _, text, _ = resolve(name)
    assert text.startswith("# yaml-language-server: $schema=../docs/scenario.schema.json\n")
    assert [e.message for e in validator().iter_errors(yaml.safe_load(text))] == []
    load_scenario(name)  # and the validator accepts it too


@pytest.mark.parametrize(
    "data",
    [
        {"cluster": {"masters": 3}},  # no name
        {"name": "x", "cluster": {"masters": 3}, "steps": [{"kil": "n1"}]},
        {"name": "x", "cluster": {"masters": 3}, "steps": [{"at": "2 parsecs", "kill": "n1"}]},
        {"name": "x", "cluster": {"masters": 3, "config": {"cluster-node-timout": 5}}},
        {"name": "x", "cluster": {"masters": 3}, "expect": [{"cluster_state": "down"}]},
        {
            "name": "x",
            "cluster": {"masters": 3},
            "steps": [{"failover": {"node": "n4", "mode": "x"}}],
        },
    ],
)
def test_schema_refuses_what_the_validator_refuses(data: dict[str, object]) -> None:
    from simulator.scenario import ScenarioError, parse_scenario

    assert list(validator().iter_errors(data)) != []
    with pytest.raises(ScenarioError):
        parse_scenario(yaml.safe_dump(data), "x.yaml")
