"""The expensive runs several test files read, each done once per test process.

The golden traces (tests/test_golden_traces.py), the cron-deadline audit
(tests/test_cron_deadlines.py), the captions' timing, the lessons' expectations, the
trace-kind registry and the TUI's plain words all read the same headless runs of the
bundled lessons (and the golden fidelity runs). :func:`lesson_run` and
:func:`golden_run` run each ``(lesson, seed)`` or golden run once per process, with
``CronDeadlines.CRON_AUDIT`` on, and keep what the tests read: the trace's digest, the
events (handed out as copies: a test cannot change another's input), the driver's
results. Each test still asserts its own property of the run.

**The audit reads only** (``CronDeadlines._cron_audit`` puts back the two bookkeeping
fields its counts touch), so an audited run does exactly what the run without it does
and the golden digests can be read from it. A failed audit (:class:`AuditFailure`) is
kept as :attr:`LessonRun.audit_failure` (the cron test fails on it) and the run is made
again without the audit for the others. ``tests/test_cron_deadlines.py`` also checks a
few runs without the audit against the recorded digests directly.

**Where they run.** The cache lives in one process, so the tests sharing a run must run
in the same one: under pytest-xdist (``make test``: ``-n auto``, with ``--dist
loadgroup`` from pyproject.toml's addopts) each test of a shared run carries the
``xdist_group`` mark :func:`group` gives. Seed 1 of every lesson is one group (the
trace-kind and plain-words tests read every lesson at seed 1); each other ``(lesson,
seed)`` and each golden fidelity run is a group of its own. ``tests/conftest.py`` sends
the longest groups first.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from simulator.harness.runner import Result, driver_of, run
from simulator.node.cron_deadlines import CronDeadlines
from simulator.node.peer import PeerView
from simulator.scenario import load_scenario
from simulator.trace import TraceEvent
from tests.golden_traces import digest, runs

ALL_LESSONS_SEED = 1
"""The seed of the one group holding every lesson's run (what the registry tests read)."""


class AuditFailure(Exception):
    """The cron-deadline audit found work the deadlines missed (its assertion's text)."""


@contextmanager
def cron_audit() -> Iterator[None]:
    """``CRON_AUDIT`` on (the audit reads only: ``CronDeadlines._cron_audit``); a failed
    check raises :class:`AuditFailure`, so a run can tell it from its own assertions."""
    audit = CronDeadlines._cron_audit

    def reporting(self: CronDeadlines, due: list[PeerView], now: int, nt: int) -> None:
        try:
            audit(self, due, now, nt)
        except AssertionError as error:
            raise AuditFailure(str(error)) from error

    saved = CronDeadlines.__dict__["CRON_AUDIT"]
    CronDeadlines.CRON_AUDIT = True
    CronDeadlines._cron_audit = reporting  # type: ignore[method-assign]
    try:
        yield
    finally:
        CronDeadlines.CRON_AUDIT = saved
        CronDeadlines._cron_audit = audit  # type: ignore[method-assign]


@dataclass(frozen=True)
class LessonRun:
    """What the tests read of one headless run of a bundled lesson."""

    name: str
    seed: int
    digest: str  # tests/golden_traces.py's digest of the trace
    audit_failure: str | None  # the cron audit's message, None if it held throughout
    results: tuple[Result, ...]  # the driver's checks (frozen dataclasses)
    errors: tuple[str, ...]
    not_reached: tuple[int, ...]
    _events: tuple[TraceEvent, ...]

    def events(self) -> list[TraceEvent]:
        """The trace's events, copies of this run's (change them at will)."""
        return copy.deepcopy(list(self._events))


@dataclass(frozen=True)
class GoldenRun:
    """One golden run: its digest, and whether the cron audit held over it."""

    digest: str
    audit_failure: str | None


_lessons: dict[tuple[str, int], LessonRun | BaseException] = {}
_golden: dict[str, GoldenRun | BaseException] = {}


def _audited(make: Callable[[], Any]) -> tuple[Any, str | None]:
    """``make()`` under the audit; if the audit fails, ``make()`` again without it."""
    try:
        with cron_audit():
            return make(), None
    except AuditFailure as failure:
        return make(), str(failure)


def _cached(table: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
    """``table[key]``, made once; an error is kept and raised again to every reader."""
    if key not in table:
        try:
            table[key] = make()
        except Exception as error:
            table[key] = error
    found = table[key]
    if isinstance(found, BaseException):
        raise found
    return found


def _run_lesson(name: str, seed: int) -> LessonRun:
    sim, failure = _audited(lambda: run(load_scenario(name), seed))
    driver = driver_of(sim)
    return LessonRun(
        name,
        seed,
        digest(sim.trace.events),
        failure,
        tuple(driver.results),
        tuple(driver.errors),
        tuple(driver.not_reached()),
        tuple(sim.trace.events),
    )


def lesson_run(name: str, seed: int) -> LessonRun:
    """The headless run of bundled lesson ``name`` at ``seed`` (``runner.run`` with its
    defaults), made once per process."""
    run_of: LessonRun = _cached(_lessons, (name, seed), lambda: _run_lesson(name, seed))
    return run_of


def _lesson_key(key: str) -> tuple[str, int] | None:
    """``("master-crash", 1)`` for the golden run ``lesson/master-crash/seed1``."""
    kind, _, rest = key.partition("/")
    if kind != "lesson":
        return None
    name, _, seed = rest.rpartition("/seed")
    return name, int(seed)


def _run_golden(key: str) -> GoldenRun:
    lesson = _lesson_key(key)
    if lesson is not None:
        shared = lesson_run(*lesson)
        return GoldenRun(shared.digest, shared.audit_failure)
    value, failure = _audited(runs()[key])
    return GoldenRun(value, failure)


def golden_run(key: str) -> GoldenRun:
    """The golden run ``key`` of :func:`tests.golden_traces.runs`, made once per process."""
    found: GoldenRun = _cached(_golden, key, lambda: _run_golden(key))
    return found


def group(lesson: str | None = None, seed: int | None = None, *, golden: str = "") -> str:
    """The xdist group of the tests reading lesson ``lesson`` at ``seed`` (or of the
    golden run ``golden``)."""
    if golden:
        found = _lesson_key(golden)
        if found is None:
            return f"run:{golden}"
        lesson, seed = found
    if seed == ALL_LESSONS_SEED:
        return f"run:lessons/seed{seed}"
    return f"run:lesson/{lesson}/seed{seed}"


def on_group(name: str, *values: Any) -> Any:
    """``values`` as one parameter set whose test runs in xdist group ``name``."""
    return pytest.param(*values, marks=pytest.mark.xdist_group(name))
