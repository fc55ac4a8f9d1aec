"""The one place ``rcsim verify`` imports the scenario format and harness from.

The scenario package is being split into a format and a harness package; keeping every
import here means a move touches this file only.
"""

from __future__ import annotations

from simulator.harness.conditions import event_matches
from simulator.harness.fresh import StartLag, run_fresh
from simulator.harness.kill_draw import choose_masters, kill_stream
from simulator.harness.report import MILESTONES, metrics
from simulator.harness.report import milestones as milestones_of
from simulator.harness.runner import FAULT_ACTIONS, Fault, run
from simulator.scenario import ScenarioError, load_scenario, model, parse_scenario
from simulator.scenario.bundled import bundled_names

__all__ = [
    "FAULT_ACTIONS",
    "MILESTONES",
    "Fault",
    "ScenarioError",
    "StartLag",
    "bundled_names",
    "choose_masters",
    "event_matches",
    "kill_stream",
    "load_scenario",
    "metrics",
    "milestones_of",
    "model",
    "parse_scenario",
    "run",
    "run_fresh",
]
"""``milestones_of(events, fault)`` is report.py's own milestone reader: the real run's
events use rcsim's trace vocabulary (see :mod:`rcsim.verify.events`), so both sides are
measured by the same code."""
