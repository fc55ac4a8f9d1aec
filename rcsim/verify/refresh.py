"""``rcsim verify SCENARIO --against REPORT``: re-run only the rcsim side of a report
against the real runs it holds, without real servers.

The model keeps changing, so the rcsim columns of a kept report (``tests/data/verify-
reports/``) go stale while its real columns stay true. A report holds the real runs
either raw (``real``: every run's :class:`~rcsim.verify.measure.Measures`, as ``rcsim
verify --report`` writes them) or, once kept, only as the per-run values of its rows.
From raw runs the table is rebuilt exactly as a real verify builds it
(:func:`rcsim.verify.compare.rows`); from rows, each kept row keeps its real values and
takes the new rcsim values of the row of the same label. A row only rcsim now has is
added with "never" (times, counts) or "-" (final state) for every real run, as ``rows``
would; an expectation's verdict only rcsim has is left out, as it was not observable
for real (``rows`` leaves those out too).

The report must be of the same scenario file (its SHA-256: the real runs played those
steps), and hold the real runs; otherwise :class:`RefreshError` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rcsim.verify.compare import Row, rows
from rcsim.verify.measure import Measures
from rcsim.verify.scenario_api import model
from rcsim.verify.simside import measure

FINAL_PREFIXES = ("final role ", "final slots ")
"""Final-state row labels (compare.rows); other state rows are expectations' verdicts."""
MEASURE_FIELDS = ("failovers", "waits", "final", "results", "errors", "lost_writes", "requests")
"""Every raw run has these; ``figures`` (rcsim.verify.figures) came later and may be absent."""


class RefreshError(ValueError):
    """The report cannot be refreshed against this scenario (one line: why)."""


def check(scenario: model.Scenario, report: Mapping[str, Any], where: str) -> None:
    """Refuse a report of another scenario, a refused one, or one without real runs."""
    if report.get("refused"):
        raise RefreshError(f"{where}: the scenario was refused for real, there are no real runs")
    sha = report.get("sha256")
    if not sha:
        raise RefreshError(f"{where}: the report has no scenario SHA-256 to check against")
    if sha != scenario.sha256:
        raise RefreshError(
            f"{where}: measured on another version of the scenario (report's SHA-256 "
            f"{str(sha)[:12]}…, {scenario.source}'s {scenario.sha256[:12]}…): "
            f"its real runs played other steps; re-measure with `rcsim verify {scenario.source}`"
        )
    runs = report.get("runs")
    if not isinstance(runs, int) or runs < 1:
        raise RefreshError(f"{where}: the report has no real run count ('runs')")
    raw = report.get("real")
    if raw is not None:
        if not isinstance(raw, list) or len(raw) != runs:
            raise RefreshError(f"{where}: 'real' holds {len(raw or [])} runs, 'runs' says {runs}")
        for number, run in enumerate(raw, 1):
            if not isinstance(run, dict) or any(key not in run for key in MEASURE_FIELDS):
                raise RefreshError(f"{where}: real run {number} lacks its measures")
        return
    kept = report.get("rows")
    if not isinstance(kept, list) or not kept:
        raise RefreshError(f"{where}: the report holds neither the real runs nor their rows")
    for row in kept:
        if not isinstance(row, dict) or not isinstance(row.get("real"), list):
            raise RefreshError(f"{where}: a row lacks its real values")
        if len(row["real"]) != runs:
            raise RefreshError(
                f"{where}: row {row.get('label')!r} has {len(row['real'])} real values "
                f"for {runs} runs"
            )


def real_measures(report: Mapping[str, Any]) -> list[Measures] | None:
    """The raw real runs of a full report; None for a kept (trimmed) one."""
    raw = report.get("real")
    if raw is None:
        return None
    return [
        Measures(**{key: run[key] for key in MEASURE_FIELDS}, figures=run.get("figures", {}))
        for run in raw
    ]


def merge(
    kept: Sequence[Mapping[str, Any]], runs: int, seeds: int, fresh: Sequence[Row]
) -> list[Row]:
    """Kept rows' real values (``runs`` each) with ``fresh`` rows' rcsim values (``seeds``
    each; see the module doc)."""
    by_label = {row.label: row for row in fresh}
    out: list[Row] = []
    for data in kept:
        label, kind = str(data["label"]), str(data["kind"])
        new = by_label.get(label)
        missing: Any = "-" if kind == "state" else None
        sim = new.sim if new is not None else (missing,) * seeds
        out.append(Row(label, kind, tuple(data["real"]), tuple(sim)))
    known = {row.label for row in out}
    for row in fresh:
        if row.label in known:
            continue
        if row.kind == "state" and not row.label.startswith(FINAL_PREFIXES):
            continue  # a verdict the real runs could not observe (compare.rows drops it)
        missing = "-" if row.kind == "state" else None
        out.append(Row(row.label, row.kind, (missing,) * runs, row.sim))
    return out


def refresh(
    scenario: model.Scenario,
    report: Mapping[str, Any],
    seeds: Sequence[int],
    where: str,
    fresh: bool = False,
) -> tuple[dict[str, Any], list[Row]]:
    """The report with its rcsim side re-run over ``seeds`` (``fresh``: from a fresh
    cluster, rcsim.verify.simside); and its new table."""
    check(scenario, report, where)
    sim = [measure(scenario, seed, fresh) for seed in seeds]
    real = real_measures(report)
    if real is not None:
        table = rows(real, sim)
        real_errors = any(m.errors for m in real)
    else:
        table = merge(report["rows"], int(report["runs"]), len(sim), rows(sim, sim))
        old = [
            Row(str(r["label"]), str(r["kind"]), tuple(r["real"]), tuple(r.get("rcsim", ())))
            for r in report["rows"]
        ]
        # A kept report says only whether it passed: failed with every row in bounds means
        # a real step failed, which a new rcsim side does not change.
        real_errors = report.get("in_bounds") is False and all(r.in_bounds() for r in old)
    failed = [r for r in table if not r.in_bounds()]
    out = dict(report)
    out["seeds"] = list(seeds)
    out["rows"] = [r.as_dict() for r in table]
    if "rcsim" in out or real is not None:
        out["rcsim"] = [m.as_dict() for m in sim]
    out["in_bounds"] = not failed and not real_errors
    return out, table
