"""Every bundled lesson passes headless: each expectation holds, no step fails to run."""

from __future__ import annotations

import pytest

from simulator.scenario import load_scenario
from simulator.scenario.bundled import bundled_names
from tests.shared_runs import group, lesson_run, on_group

LESSONS = bundled_names()
SEEDS = {name: load_scenario(name).seed for name in LESSONS}
"""Each lesson's own seed (``seed:`` in its file): the run ``rcsim run LESSON`` makes."""


def test_default_lesson_is_bundled() -> None:
    assert "master-crash" in LESSONS


@pytest.mark.parametrize("name", [on_group(group(n, SEEDS[n]), n) for n in LESSONS])
def test_bundled_lesson_passes_headless(name: str) -> None:
    played = lesson_run(name, SEEDS[name])  # runner.run(load_scenario(name)), shared
    failures = [f"{r.loc}: {r.expected}; seen {r.observed}" for r in played.results if not r.passed]
    assert failures == []
    assert played.errors == ()
    assert played.not_reached == ()
    assert played.results, "a lesson must check something"


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
