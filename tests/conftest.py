"""What the test files share, defined once.

``CRASH_CLUSTER`` is the small cluster most runner and CLI tests start from (3 masters,
1 replica each, NT 1 s, so a failover takes ~2 s of simulated time), and
``KILL_N1_AND_WAIT`` the two steps that crash n1 and wait for n4's promotion.
``write_scenario`` writes a scenario text to a temporary file, as a user would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from simulator.scenario import load_scenario
from simulator.scenario.bundled import bundled_names

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
# The two workers end together only if the long units go out early: the groups of shared
# runs first, the longest first (:func:`run_cost`, derived from the lessons' files, so a
# new big lesson goes first without anyone listing it), then every other group, then the
# rest of the suite in its order.


@cache
def _lesson_cost(name: str) -> int:
    """A lesson run's rough cost: nodes² × simulated ms (each node's cron visits and pings
    its peers, so the work per simulated second grows as the square of the cluster). Only
    the ranking matters: mass-failure (200 nodes, 90 s) is ~60 s of CPU, the 100- and
    120-node lessons ~5-10 s, the 6-node ones well under 3 s (tests/shared_runs.py)."""
    scenario = load_scenario(name)
    # Without run_until a run ends 5 s after its last step: 10 s is guess enough here.
    return len(scenario.cluster.nodes) ** 2 * (scenario.run_until or 10_000)


def run_cost(group: str) -> int:
    """The estimated cost of shared-run group ``group`` (:func:`tests.shared_runs.group`):
    the lesson's, the sum of every lesson's for the group of all lessons at one seed, 0
    for a golden fidelity run (a few seconds at most) and for any other group."""
    kind, _, rest = group.partition(":")
    if kind != "run":
        return 0
    if rest.startswith("lessons/seed"):
        return sum(_lesson_cost(name) for name in bundled_names())
    if rest.startswith("lesson/"):
        return _lesson_cost(rest.split("/")[1])
    return 0


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

    costs = {name: run_cost(name) for item in items if (name := _group_of(item)) is not None}

    def rank(item: pytest.Item) -> tuple[int, int]:
        name = _group_of(item)
        if name is None:
            return (2, 0)
        return (0, -costs[name]) if costs[name] else (1, 0)

    items.sort(key=rank)  # stable: each rank keeps the collection order
