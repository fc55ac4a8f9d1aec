"""What the test files share, defined once.

``CRASH_CLUSTER`` is the small cluster most runner and CLI tests start from (3 masters,
1 replica each, NT 1 s, so a failover takes ~2 s of simulated time), and
``KILL_N1_AND_WAIT`` the two steps that crash n1 and wait for n4's promotion.
``write_scenario`` writes a scenario text to a temporary file, as a user would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

CRASH_CLUSTER = """\
cluster:
  masters: 3
  replicas: 1
  config: {cluster-node-timeout: 1000}
"""

KILL_N1_AND_WAIT = """\
  - at: 1s
    kill: n1
  - wait_for: {promoted: n4}
    timeout: 20s
"""


@pytest.fixture()
def write_scenario(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write_scenario(text, name)``: the text saved as ``tmp_path/name``."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# pytest-xdist (``make test``) runs the suite with ``--dist loadgroup
# --no-loadscope-reorder`` (pyproject.toml's addopts): tests with the same
# ``xdist_group`` mark run in one worker, and work goes out in collection order.
#
# Two kinds of tests share work that must be done once, so they share a worker:
# the readers of a shared run (marked in their files, tests/shared_runs.py), and the
# tests using one module-scoped fixture (grouped here: spread over two workers, the
# fixture, a fidelity table or a resharding run, was made once in each).
#
# The two workers end together only if the long units go out early: the longest groups
# of shared runs first, then every other group, then the rest of the suite in its order.
LONG_GROUPS = (
    "run:lessons/seed1",  # every lesson at seed 1, mass-failure's 200 nodes included
    "run:lesson/mass-failure/seed2",
    "run:lesson/big-cluster-reports/seed2",
    "run:lesson/validity-window/seed2",
)


def _group_of(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    return None if mark is None else str(mark.args[0] if mark.args else mark.kwargs["name"])


def _module_fixture_group(item: pytest.Item) -> str | None:
    """``fixture:MODULE`` if ``item`` uses a module-scoped fixture of its own module."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for definitions in info.name2fixturedefs.values():
        for definition in definitions:
            if definition.scope == "module" and definition.baseid == item.nodeid.split("::")[0]:
                return f"fixture:{definition.baseid}"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _group_of(item) is None and (name := _module_fixture_group(item)) is not None:
            item.add_marker(pytest.mark.xdist_group(name))

    def rank(item: pytest.Item) -> int:
        name = _group_of(item)
        if name is None:
            return len(LONG_GROUPS) + 1
        return LONG_GROUPS.index(name) if name in LONG_GROUPS else len(LONG_GROUPS)

    items.sort(key=rank)  # stable: each rank keeps the collection order
