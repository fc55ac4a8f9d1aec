"""Behaviour is unchanged by restructuring: every recorded run's trace is byte-identical.

See tests/golden_traces.py for what is recorded and how to regenerate it.
"""

from __future__ import annotations

import pytest

from tests.golden_traces import recorded, runs

RUNS = runs()


def test_every_bundled_lesson_is_recorded() -> None:
    assert sorted(recorded()) == sorted(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_trace_is_byte_identical_to_the_recorded_one(name: str) -> None:
    assert RUNS[name]() == recorded()[name]
