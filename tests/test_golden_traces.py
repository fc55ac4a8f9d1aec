"""Behaviour is unchanged by restructuring: every recorded run's trace is byte-identical.

See tests/golden_traces.py for what is recorded and how to regenerate it. The runs are
those the other tests read too, made once (tests/shared_runs.py, audited read-only);
tests/test_cron_deadlines.py checks some of them without the audit as well.
"""

from __future__ import annotations

import pytest

from tests.golden_traces import recorded, runs
from tests.shared_runs import golden_run, group, on_group

RUNS = runs()


def test_every_bundled_lesson_is_recorded() -> None:
    assert sorted(recorded()) == sorted(RUNS)


@pytest.mark.parametrize("name", [on_group(group(golden=name), name) for name in sorted(RUNS)])
def test_trace_is_byte_identical_to_the_recorded_one(name: str) -> None:
    assert golden_run(name).digest == recorded()[name]
