"""What one run (real or rcsim) is compared on: milestones per fault, ``wait_for`` times,
final roles and slot owners, and the verdict of every expectation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rcsim.verify.clusterview import Snapshot, format_ranges
from rcsim.verify.conditions import World
from rcsim.verify.player import RealRun
from rcsim.verify.scenario_api import milestones_of, model


@dataclass
class Measures:
    """One run's figures; the comparison reads these only."""

    failovers: list[dict[str, Any]]
    waits: dict[str, int | None]  # row label -> ms from the step's start (None: timed out)
    final: dict[str, str]  # row label -> value
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lost_writes: int | None = None  # None: the scenario has no clients
    requests: dict[str, int] = field(default_factory=dict)  # outcome -> attempts
    figures: dict[str, float | None] = field(default_factory=dict)  # rcsim.verify.figures

    def as_dict(self) -> dict[str, Any]:
        return {
            "figures": self.figures,
            "failovers": self.failovers,
            "waits": self.waits,
            "final": self.final,
            "lost_writes": self.lost_writes,
            "requests": self.requests,
            "results": self.results,
            "errors": self.errors,
        }


def condition_label(condition: model.Condition) -> str:
    """A short, stable row label: ``flag`` at its line."""
    return f"{condition.yaml_key} (line {condition.loc.line})"


def wait_times(
    scenario: model.Scenario, results: Sequence[Mapping[str, Any]], starts: Mapping[int, float]
) -> dict[str, int | None]:
    """Per step with ``wait_for``: ms from the step's start to the end of the wait."""
    out: dict[str, int | None] = {}
    for step in scenario.steps:
        if not step.wait_for or step.index not in starts:
            continue
        mine = [r for r in results if r["kind"] == "wait_for" and r["step"] == step.index]
        label = f"step {step.index + 1} wait_for " + ", ".join(
            condition_label(c) for c in step.wait_for
        )
        if mine and all(r["passed"] for r in mine):
            out[label] = round(max(r["at"] for r in mine) - starts[step.index])
        else:
            out[label] = None
    return out


def final_state(views: Mapping[str, Snapshot], status: Mapping[str, str]) -> dict[str, str]:
    """Each live node's role (in its own view) and each master's slots (the truth)."""
    world = World(views, status, ())
    out: dict[str, str] = {}
    for name in sorted(world.alive(), key=_natural):
        view = views[name]
        master = view.master_name({})
        if view.role() == "replica":
            out[f"final role {name}"] = f"replica of {_name_of(views, master)}"
        else:
            out[f"final role {name}"] = "master"
    owners: dict[str, list[int]] = {}
    for slot, owner in enumerate(world.truth_table()):
        owners.setdefault(owner or "nobody", []).append(slot)
    for owner in sorted(owners, key=_natural):
        out[f"final slots {owner}"] = format_ranges(owners[owner])
    return out


def _name_of(views: Mapping[str, Snapshot], node_id: str | None) -> str:
    """The scenario name of a master ID as the snapshots' peers map it."""
    for view in views.values():
        for name, line in view.peers.items():
            if line.node_id == node_id:
                return name
    return node_id or "?"


def _natural(name: str) -> tuple[str, int]:
    digits = name.lstrip("abcdefghijklmnopqrstuvwxyz")
    return (name[: len(name) - len(digits)], int(digits) if digits.isdigit() else -1)


def real_measures(scenario: model.Scenario, run: RealRun) -> Measures:
    """One real run's figures, with report.py's milestone reader over its events."""
    world = run.world
    return Measures(
        failovers=[milestones_of(run.events, fault) for fault in run.faults],
        waits=wait_times(scenario, run.results, run.step_starts),
        final={} if world is None else final_state(world.views, world.status),
        results=run.results,
        errors=run.errors,
        lost_writes=run.lost_writes if scenario.clients else None,
        requests=run.requests,
        figures=dict(run.figures),
    )
