"""Every bundled lesson passes headless: each expectation holds, no step fails to run."""

from __future__ import annotations

import pytest

from simulator.harness.runner import driver_of, run
from simulator.scenario import load_scenario
from simulator.scenario.bundled import bundled_names

LESSONS = bundled_names()


def test_default_lesson_is_bundled() -> None:
    assert "master-crash" in LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_bundled_lesson_passes_headless(name: str) -> None:
    scenario = load_scenario(name)
    driver = driver_of(run(scenario))
    failures = [f"{r.loc}: {r.expected}; seen {r.observed}" for r in driver.results if not r.passed]
    assert failures == []
    assert driver.errors == []
    assert driver.not_reached() == []
    assert driver.results, "a lesson must check something"


@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_step_has_a_caption(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.description
    missing = [step.index + 1 for step in scenario.steps if not step.caption]
    assert missing == []


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_carries_the_schema_modeline(name: str) -> None:
    from simulator.scenario.bundled import resolve

    _, text, _ = resolve(name)
    assert text.startswith("# yaml-language-server: $schema=../docs/scenario.schema.json\n")
