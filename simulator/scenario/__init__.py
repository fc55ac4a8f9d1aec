"""The scenario file format: load with positions, validate strictly, describe as JSON Schema.

Public API (for the runner, the CLI and the TUI)::

    load_scenario(path_or_name) -> Scenario      # raises ScenarioError(errors: list[str])
    parse_scenario(text, source) -> Scenario
    parse_duration("1.5s") -> 1500 ; parse_rate("200/s") -> 200.0
    list_bundled() -> [(name, first line of description)] ; resolve(path_or_name)
    scenario_schema() -> dict ; schema_text() -> str
"""

from __future__ import annotations

from simulator.scenario.bundled import list_bundled, resolve
from simulator.scenario.durations import parse_duration, parse_latency, parse_rate
from simulator.scenario.errors import Loc, ScenarioError
from simulator.scenario.loader import load_scenario, parse_scenario
from simulator.scenario.model import (
    Action,
    AddNode,
    Agree,
    ClientSpec,
    ClusterSpec,
    ClusterState,
    Condition,
    Covered,
    Cut,
    Delivered,
    DelNode,
    Epoch,
    Event,
    Failover,
    Fix,
    Flag,
    Forget,
    Heal,
    Kill,
    LostWrites,
    NetworkSpec,
    NodeSpec,
    Owner,
    Partition,
    Pause,
    Promoted,
    Publish,
    Read,
    Rebalance,
    Reshard,
    Restart,
    Resume,
    Role,
    Scenario,
    SetConfig,
    Shutdown,
    Step,
    Subscribe,
    Workload,
    Write,
)
from simulator.scenario.schema import scenario_schema, schema_text

__all__ = [
    "Action",
    "AddNode",
    "Agree",
    "ClientSpec",
    "ClusterSpec",
    "ClusterState",
    "Condition",
    "Covered",
    "Cut",
    "DelNode",
    "Delivered",
    "Epoch",
    "Event",
    "Failover",
    "Fix",
    "Flag",
    "Forget",
    "Heal",
    "Kill",
    "Loc",
    "LostWrites",
    "NetworkSpec",
    "NodeSpec",
    "Owner",
    "Partition",
    "Pause",
    "Promoted",
    "Publish",
    "Read",
    "Rebalance",
    "Reshard",
    "Restart",
    "Resume",
    "Role",
    "Scenario",
    "ScenarioError",
    "SetConfig",
    "Shutdown",
    "Step",
    "Subscribe",
    "Workload",
    "Write",
    "list_bundled",
    "load_scenario",
    "parse_duration",
    "parse_latency",
    "parse_rate",
    "parse_scenario",
    "resolve",
    "scenario_schema",
    "schema_text",
]
