"""The comparison: one row per milestone, real runs against rcsim seeds.

Times: the real median [min–max] and rcsim's median; in bounds when rcsim's median is
within 15 % of the real median or inside the real range, or within
:data:`RESOLUTION_MS` of the real median (a real time is only known to a poll period,
and a wait's end to one more: 15 % of 50 ms is below what can be measured). A milestone that never
happened counts as "never": both sides never is in bounds, one side only is not.
Counts (lost writes, keys evicted or expired, rcsim.verify.figures) and rates (bus
messages/s) as times, without the resolution allowance. States (final roles,
slot owners, expectation verdicts): in bounds when every rcsim seed
gave a value some real run gave and, when the real runs agree, the same value.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rcsim.verify.figures import kind_of
from rcsim.verify.measure import Measures
from rcsim.verify.scenario_api import MILESTONES

TOLERANCE = 0.15
RESOLUTION_MS = 40.0
"""Two poll periods of 20 ms: the pollers' stamp and the player's check of a wait."""
MILESTONE_WORDS = {
    "first_pfail": "first PFAIL",
    "first_fail": "first FAIL",
    "promoted": "promotion",
    "all_ok": "every node ok",
}


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table; ``kind`` is ``time`` (ms), ``count``, ``rate`` or ``state``."""

    label: str
    kind: str
    real: tuple[Any, ...]
    sim: tuple[Any, ...]

    def in_bounds(self) -> bool:
        if self.kind == "state":
            return state_in_bounds(self.real, self.sim)
        if self.kind in ("count", "rate"):
            return time_in_bounds(self.real, self.sim, resolution=0.0)
        return time_in_bounds(self.real, self.sim)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "real": list(self.real),
            "rcsim": list(self.sim),
            "in_bounds": self.in_bounds(),
        }


def _present(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if v is not None]


def _mostly_never(values: Sequence[Any]) -> bool:
    return len(_present(values)) * 2 < len(values)


def time_in_bounds(
    real: Sequence[Any], sim: Sequence[Any], resolution: float = RESOLUTION_MS
) -> bool:
    """Times (and counts, with ``resolution`` 0): 15 %, the real range, or the resolution."""
    if not real or not sim:
        return False
    if _mostly_never(real) or _mostly_never(sim):
        return _mostly_never(real) == _mostly_never(sim)
    real_values, sim_median = _present(real), statistics.median(_present(sim))
    real_median = statistics.median(real_values)
    if min(real_values) <= sim_median <= max(real_values):
        return True
    if abs(sim_median - real_median) <= resolution:
        return True
    return real_median > 0 and abs(sim_median / real_median - 1) <= TOLERANCE


def state_in_bounds(real: Sequence[Any], sim: Sequence[Any]) -> bool:
    if not real or not sim:
        return False
    if len(set(real)) == 1:
        return set(sim) == set(real)
    return set(sim) <= set(real)


def _fault_keys(measures: Measures) -> list[tuple[str, dict[str, Any]]]:
    """``n1 crash`` (``#2`` for a second fault of the same node and kind) -> milestones."""
    seen: dict[str, int] = {}
    out: list[tuple[str, dict[str, Any]]] = []
    for milestones in measures.failovers:
        key = f"{milestones['node']} {milestones['fault']}"
        seen[key] = seen.get(key, 0) + 1
        out.append((key if seen[key] == 1 else f"{key} #{seen[key]}", milestones))
    return out


def _ordered_union(groups: Sequence[Sequence[str]]) -> list[str]:
    out: list[str] = []
    for group in groups:
        out.extend(k for k in group if k not in out)
    return out


def _verdicts(measures: Measures) -> dict[str, str]:
    out: dict[str, str] = {}
    for result in measures.results:
        if result["kind"] not in ("expect", "final"):
            continue
        where = "end" if result["step"] is None else f"step {result['step'] + 1}"
        line = str(result["loc"]).split(":")[-2] if str(result["loc"]).count(":") >= 2 else "?"
        label = f"{where} expect {result['condition']} (line {line})"
        value = (
            "n/a"
            if not result.get("observable", True)
            else ("PASS" if result["passed"] else "FAIL")
        )
        out[label] = value
    return out


def rows(real: Sequence[Measures], sim: Sequence[Measures]) -> list[Row]:
    """Every row of the table, in scenario order: faults' milestones, waits, final state."""
    table: list[Row] = []
    real_faults = [dict(_fault_keys(m)) for m in real]
    sim_faults = [dict(_fault_keys(m)) for m in sim]
    for key in _ordered_union([list(f) for f in real_faults + sim_faults]):
        for milestone in MILESTONES:
            table.append(
                Row(
                    f"{key}: {MILESTONE_WORDS.get(milestone, milestone)}",
                    "time",
                    tuple(f.get(key, {}).get(milestone) for f in real_faults),
                    tuple(f.get(key, {}).get(milestone) for f in sim_faults),
                )
            )
    for key in _ordered_union([list(m.waits) for m in [*real, *sim]]):
        table.append(
            Row(
                key,
                "time",
                tuple(m.waits.get(key) for m in real),
                tuple(m.waits.get(key) for m in sim),
            )
        )
    if any(m.lost_writes is not None for m in [*real, *sim]):
        table.append(
            Row(
                "lost writes",
                "count",
                tuple(m.lost_writes for m in real),
                tuple(m.lost_writes for m in sim),
            )
        )
    for key in _ordered_union([list(m.figures) for m in [*real, *sim]]):
        table.append(
            Row(
                key,
                kind_of(key),
                tuple(m.figures.get(key) for m in real),
                tuple(m.figures.get(key) for m in sim),
            )
        )
    real_verdicts = [_verdicts(m) for m in real]
    sim_verdicts = [_verdicts(m) for m in sim]
    for key in _ordered_union([list(v) for v in real_verdicts + sim_verdicts]):
        real_values = tuple(v.get(key, "-") for v in real_verdicts)
        if all(value == "n/a" for value in real_values):
            continue  # not observable for real: listed up front, not compared
        table.append(Row(key, "state", real_values, tuple(v.get(key, "-") for v in sim_verdicts)))
    for key in _ordered_union([list(m.final) for m in [*real, *sim]]):
        table.append(
            Row(
                key,
                "state",
                tuple(m.final.get(key, "-") for m in real),
                tuple(m.final.get(key, "-") for m in sim),
            )
        )
    return table


# --------------------------------------------------------------------------- text


def _ms(value: float) -> str:
    return f"{value:.0f}"


def _number(row: Row, value: float) -> str:
    """A rate with one decimal; times and counts whole."""
    return f"{value:.1f}" if row.kind == "rate" else _ms(value)


def _state_cell(values: Sequence[Any]) -> str:
    """Final-state values seen, each once; " / " because "|" would split a Markdown cell."""
    return " / ".join(str(v) for v in sorted(set(values), key=str))


def _never(values: Sequence[Any], present: list[float]) -> str:
    """How many runs never reached the milestone, as a suffix ("" when all did)."""
    never = len(values) - len(present)
    return f" ({never}× never)" if never else ""


def real_cell(row: Row) -> str:
    if row.kind == "state":
        return _state_cell(row.real)
    present = _present(row.real)
    if not present:
        return "never"
    median, low, high = statistics.median(present), min(present), max(present)
    cell = f"{_number(row, median)} [{_number(row, low)}–{_number(row, high)}]"
    return cell + _never(row.real, present)


def sim_cell(row: Row) -> str:
    if row.kind == "state":
        return _state_cell(row.sim)
    present = _present(row.sim)
    if not present:
        return "never"
    return _number(row, statistics.median(present)) + _never(row.sim, present)


def ratio_cell(row: Row) -> str:
    if row.kind == "state":
        return ""
    real, sim = _present(row.real), _present(row.sim)
    if not real or not sim or statistics.median(real) == 0:
        return "—"
    return f"{statistics.median(sim) / statistics.median(real):.2f}"


def markdown(table: Sequence[Row]) -> str:
    """The table as Markdown (what the terminal and docs/fidelity.md show)."""
    lines = [
        "| milestone | real median [min–max] | rcsim median | ratio | in bounds |",
        "|---|---|---|---|---|",
    ]
    for row in table:
        mark = "yes" if row.in_bounds() else "**no**"
        unit = " ms" if row.kind == "time" else ""
        lines.append(
            f"| {row.label}{unit} | {real_cell(row)} | {sim_cell(row)} | {ratio_cell(row)} | {mark} |"
        )
    return "\n".join(lines) + "\n"
