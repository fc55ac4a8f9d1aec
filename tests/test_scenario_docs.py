"""Every YAML example in docs/scenario-format.md validates, and together they use every
action and every condition (so each one is documented with an example)."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from simulator.scenario import Scenario, parse_scenario, scenario_schema
from simulator.scenario.tables import ACTIONS, CONDITIONS

DOC = Path(__file__).parent.parent / "docs" / "scenario-format.md"

# Fragments are validated inside this scenario; the fragment's own top-level keys win.
BASE = {
    "name": "name: documentation example\n",
    "cluster": "cluster:\n  masters: 3\n  replicas: 1\n",
    "clients": "clients:\n  - name: app\n    rate: 100/s\n",
}


def yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", DOC.read_text("utf-8"), flags=re.S | re.M)


def as_scenario(block: str) -> str:
    """The block itself when it is a whole scenario, else the block inside BASE."""
    keys = yaml.safe_load(block)
    assert isinstance(keys, dict), block
    if "name" in keys:
        return block
    return "".join(text for key, text in BASE.items() if key not in keys) + block


BLOCKS = yaml_blocks()


def test_the_document_has_examples() -> None:
    assert len(BLOCKS) >= 15


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_documented_example_validates(index: int) -> None:
    parse_scenario(as_scenario(BLOCKS[index]), f"docs example {index}")


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_documented_example_matches_the_json_schema(index: int) -> None:
    data = yaml.safe_load(as_scenario(BLOCKS[index]))
    checker = jsonschema.Draft202012Validator(scenario_schema())
    assert [e.message for e in checker.iter_errors(data)] == []


def _used(scenario: Scenario) -> tuple[set[str], set[str]]:
    actions = {s.action.yaml_key for s in scenario.steps if s.action is not None}
    conditions = {c.yaml_key for c in scenario.expect}
    for step in scenario.steps:
        conditions.update(c.yaml_key for c in step.wait_for + step.expect)
    return actions, conditions


def test_every_action_and_condition_has_an_example() -> None:
    actions: set[str] = set()
    conditions: set[str] = set()
    for index, block in enumerate(BLOCKS):
        used = _used(parse_scenario(as_scenario(block), f"docs example {index}"))
        actions |= used[0]
        conditions |= used[1]
    assert set(ACTIONS) - actions == set()
    assert set(CONDITIONS) - conditions == set()


def test_every_top_level_key_is_documented() -> None:
    from simulator.scenario.validate import TOP_FIELDS

    text = DOC.read_text("utf-8")
    assert [f.key for f in TOP_FIELDS if f"`{f.key}`" not in text] == []
