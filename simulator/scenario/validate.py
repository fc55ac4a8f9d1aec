"""From a YAML node tree to a :class:`~simulator.scenario.model.Scenario`, checking
everything: types, unknown keys, names, slot ranges, times, reshards.

The top level, the cluster, the clients and the steps are :class:`~.specs.Spec`
objects too, so :mod:`simulator.scenario.schema` describes exactly what is parsed here.

The cluster, clients and network are validated by :mod:`.validate_topology`.
"""

from __future__ import annotations

from typing import Any

import yaml

from simulator.scenario import model
from simulator.scenario.cache_specs import DATABASE
from simulator.scenario.durations import format_duration
from simulator.scenario.errors import Loc, did_you_mean
from simulator.scenario.records import Field, ListOf, Record, key_nodes
from simulator.scenario.specs import (
    INVALID,
    Ctx,
    Duration,
    Int,
    Spec,
    Str,
    kind_of,
)
from simulator.scenario.tables import ACTIONS, Conditions, build
from simulator.scenario.validate_topology import (
    NETWORK,
    ClientsParser,
    ClusterSpecParser,
)
from simulator.slots import format_slot_ranges

MAX_STEPS = 10_000

# Actions after which the static slot map can no longer be predicted (a failover may follow).
CLUSTER_ONLY_ACTIONS = frozenset(
    {"failover", "reshard", "rebalance", "fix", "add-node", "del-node", "forget"}
)
"""Actions refused on ``cluster.topology: standalone`` (cluster-enabled no, §28)."""

_UNPREDICTABLE = frozenset(
    {
        "kill",
        "kill-masters",
        "pause",
        "shutdown",
        "restart",
        "partition",
        "cut",
        "failover",
        "rebalance",
        "fix",
        "forget",
    }
)


# --------------------------------------------------------------------------- steps

STEP_FIELDS: list[Field] = [
    Field("at", Duration(), "absolute simulated time of the step"),
    Field("after", Duration(), "time since the previous step started"),
    Field("wait_for", Conditions(), "wait until these hold (after the action, if any)"),
    Field(
        "timeout", Duration(minimum=1), "how long wait_for may wait (default 60s)", default=60_000
    ),
    Field("expect", Conditions(), "checks at this moment (after the action and wait_for)"),
    Field("caption", Str(max_len=10_000), "narration shown to learners"),
]


class StepsParser(ListOf):
    """The ``steps`` list; tracks known names, times and (while predictable) slot owners."""

    def __init__(self) -> None:
        super().__init__(StepSpec(), max_items=MAX_STEPS, what="a list of steps")

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if len(node.value) > MAX_STEPS:
            return ctx.error(node, f"at most {MAX_STEPS} steps are allowed, got {len(node.value)}")
        state = _StaticState(None if ctx.injected else ctx.cluster)
        if ctx.injected and ctx.cluster is not None:
            state.roles = {n.name: n.role for n in ctx.cluster.nodes}
        steps = []
        for index, child in enumerate(node.value):
            step = parse_step(child, index, state, ctx)
            if step is not None:
                steps.append(step)
        return tuple(steps)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"$ref": "#/$defs/step"}}


class InjectionsParser(ListOf):
    """The ``injections`` list (what ``rcsim tui`` saves): each entry is ``at:`` plus one
    action (or a caption), in time order, run at the start of that millisecond."""

    def __init__(self) -> None:
        super().__init__(StepSpec(), max_items=MAX_STEPS, what="a list of injections")

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if len(node.value) > MAX_STEPS:
            return ctx.error(node, f"at most {MAX_STEPS} injections, got {len(node.value)}")
        state = _StaticState(None)
        injections = []
        previous = 0
        for index, child in enumerate(node.value):
            state.earliest = 0  # each injection has its own 'at' (checked below)
            step = parse_step(child, index, state, ctx)
            if step is None:
                continue
            where = ctx.loc(child)
            extra = [k for k in ("after", "wait_for", "timeout", "expect") if k in step.locs]
            if step.at is None:
                ctx.error(where, "an injection needs 'at:' (when it happens)")
            elif step.at < previous:
                ctx.error(
                    step.locs["at"],
                    f"'at: {format_duration(step.at)}' goes back in time (the previous "
                    f"injection is at {format_duration(previous)})",
                )
            for key in extra:
                ctx.error(step.locs[key], f"'{key}' is for steps, not injections")
            if step.action is None and step.caption is None:
                ctx.error(where, "an injection needs an action (or a caption)")
            if step.action is not None and step.caption is not None:
                ctx.error(step.locs["caption"], "an injection is one action or one caption")
            previous = max(previous, step.at or 0)
            injections.append(step)
        return tuple(injections)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"$ref": "#/$defs/step", "required": ["at"]}}


class StepSpec(Spec):
    """One step (only used for its schema; :func:`parse_step` does the parsing)."""

    accepts: tuple[type, ...] = (yaml.MappingNode,)
    expected = "a step"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for f in STEP_FIELDS:
            properties[f.key] = {"description": f.doc, **f.spec.schema()}
        for key, definition in ACTIONS.items():
            properties[key] = {"description": definition.doc, **definition.spec.schema()}
        return {
            "type": "object",
            "description": "one step: at most one action, plus optional timing, wait_for, "
            "expect, caption",
            "properties": properties,
            "additionalProperties": False,
            "minProperties": 1,
        }


class _StaticState:
    """What is known about the cluster before a step, without running it."""

    def __init__(self, cluster: model.ClusterSpec | None) -> None:
        self.earliest = 0  # lower bound of the previous step's start, ms
        self.slots: dict[str, set[int]] | None = None  # None: unknown (no cluster, or a fault)
        self.roles: dict[str, str] = {}
        if cluster is not None:
            self.slots = {n.name: set(n.slots) for n in cluster.nodes}
            self.roles = {n.name: n.role for n in cluster.nodes}


def parse_step(node: yaml.Node, index: int, state: _StaticState, ctx: Ctx) -> model.Step | None:
    """One step: timing, at most one action, wait_for/timeout, expect, caption."""
    if not isinstance(node, yaml.MappingNode):
        ctx.error(node, f"expected a step (a mapping like 'kill: n1'), got {kind_of(node)}")
        return None
    if not node.value:
        ctx.error(node, "empty step: give an action, wait_for, expect or caption")
        return None
    pairs = key_nodes(node, ctx)
    fields = {f.key: f for f in STEP_FIELDS}
    action_keys = [k for k in pairs if k in ACTIONS]
    for key, (key_node, _value) in pairs.items():
        if key not in fields and key not in ACTIONS:
            choices = list(ACTIONS) + list(fields)
            ctx.error(key_node, f"unknown action '{key}'{did_you_mean(key, choices)}")
    for extra in action_keys[1:]:
        ctx.error(
            pairs[extra][0], f"one action per step: '{action_keys[0]}' and '{extra}' are both here"
        )
    values: dict[str, Any] = {}
    locs: dict[str, Loc] = {}
    for f in STEP_FIELDS:
        if f.key in pairs and f.key not in ("wait_for", "expect"):
            values[f.name] = f.spec.parse(pairs[f.key][1], ctx)
            locs[f.name] = ctx.loc(pairs[f.key][1])
        else:
            values[f.name] = f.default
    if "at" in pairs and "after" in pairs:
        ctx.error(pairs["after"][0], "use either 'at' or 'after' in a step, not both")
    if "timeout" in pairs and "wait_for" not in pairs:
        ctx.error(pairs["timeout"][0], "'timeout' only goes with 'wait_for'")
    # timing: absolute times must not go backwards
    start = state.earliest
    at, after = values["at"], values["after"]
    if isinstance(at, int):
        if at < state.earliest:
            ctx.error(
                pairs["at"][1],
                f"'at: {format_duration(at)}' goes back in time (the previous step is at "
                f"{format_duration(state.earliest)} or later)",
            )
        start = max(at, state.earliest)
    elif isinstance(after, int):
        start = state.earliest + after
    state.earliest = start
    action = None
    if action_keys:
        key = action_keys[0]
        key_node, value_node = pairs[key]
        definition = ACTIONS[key]
        built = build(definition.cls, definition.spec, definition.finish, key_node, value_node, ctx)
        if built is not None:
            assert isinstance(built, model.Action)
            action = built
            _apply_static(action, state, ctx)
    # conditions are parsed after the action, so an added node or subscriber is known
    for key in ("wait_for", "expect"):
        if key in pairs:
            parsed = Conditions().parse(pairs[key][1], ctx)
            values[key] = parsed if parsed is not INVALID else ()
            locs[key] = ctx.loc(pairs[key][1])
        else:
            values[key] = ()
    if any(v is INVALID for v in values.values()):
        return None
    return model.Step(loc=ctx.loc(node), locs=locs, index=index, action=action, **values)


def _apply_static(action: model.Action, state: _StaticState, ctx: Ctx) -> None:
    """Check a reshard against the predicted slot map, then update names and the map."""
    if (
        action.yaml_key in CLUSTER_ONLY_ACTIONS
        and getattr(ctx.cluster, "topology", "") == "standalone"
    ):
        ctx.error(
            action.loc,
            f"'{action.yaml_key}' needs a cluster: a standalone topology has no slots and "
            "no cluster failover (§28.2)",
        )
        return
    if isinstance(action, model.AddNode):
        ctx.nodes.append(action.name)
        state.roles[action.name] = "replica" if action.replica_of else "master"
        if state.slots is not None:
            state.slots[action.name] = set()
        if (
            action.replica_of
            and state.slots is not None
            and state.roles.get(action.replica_of) == "replica"
        ):
            ctx.error(
                action.loc_of("replica_of"), f"'{action.replica_of}' is a replica, not a master"
            )
        return
    if isinstance(action, model.Subscribe):
        if action.client not in ctx.subscribers:
            ctx.subscribers.append(action.client)
        return
    if isinstance(action, model.Reshard):
        _check_reshard(action, state, ctx)
        return
    if isinstance(action, model.DelNode) and state.slots is not None:
        owned = state.slots.get(action.node, set())
        if owned:
            ctx.error(
                action.loc_of("node"),
                f"del-node '{action.node}': it still owns {len(owned)} slots "
                "(reshard them away first)",
            )
        return
    if action.yaml_key in _UNPREDICTABLE:
        state.slots = None


def _check_reshard(action: model.Reshard, state: _StaticState, ctx: Ctx) -> None:
    if state.slots is None:
        return
    source = state.slots.get(action.source, set())
    target_role = state.roles.get(action.target)
    if target_role == "replica":
        ctx.error(
            action.loc_of("target"), f"reshard target '{action.target}' is a replica, not a master"
        )
        state.slots = None
        return
    if action.slots is not None:
        missing = [s for s in action.slots if s not in source]
        if missing:
            owns = format_slot_ranges(source) if source else "none"
            ctx.error(
                action.loc_of("slots"),
                f"'{action.source}' does not own slots {format_slot_ranges(missing)} "
                f"(it owns {owns})",
            )
            state.slots = None
            return
        moved = set(action.slots)
    else:
        if action.count > len(source):
            ctx.error(
                action.loc_of("count"),
                f"reshard of {action.count} slots from '{action.source}', "
                f"which owns only {len(source)}",
            )
            state.slots = None
            return
        moved = set(sorted(source)[: action.count])  # redis-cli takes the lowest slots (§16.4)
    state.slots[action.source] = source - moved
    state.slots.setdefault(action.target, set()).update(moved)


# --------------------------------------------------------------------------- the top level

TOP_FIELDS: list[Field] = [
    Field("name", Str(max_len=200), "a short title", required=True),
    Field(
        "description",
        Str(max_len=10_000),
        "what the scenario shows; its first line is listed by rcsim list",
    ),
    Field(
        "seed",
        Int(0, 2**63 - 1, what="a seed"),
        "seed of every random choice (default 0; --seed overrides)",
        default=0,
    ),
    Field("cluster", ClusterSpecParser(), "the starting cluster", required=True),
    Field("network", NETWORK, "link latency and loss"),
    Field("clients", ClientsParser(), "background workload clients", default=()),
    Field("database", DATABASE, "the backing database of cache-aside clients"),
    Field("steps", StepsParser(), "what happens, in order", default=()),
    Field(
        "injections",
        InjectionsParser(),
        "actions made live (rcsim tui saves them): each at the start of its 'at' millisecond, "
        "apart from the steps",
        default=(),
    ),
    Field("run_until", Duration(), "when the run ends (default: last step + 5s)"),
    Field("expect", Conditions(), "checks at the end of the run"),
]

TOP = Record("the scenario", TOP_FIELDS)


def build_scenario(
    root: yaml.Node | None, ctx: Ctx, source: str, sha256: str
) -> model.Scenario | None:
    """The whole file; None when any error was recorded in ``ctx``."""
    start = Loc(ctx.file, 1, 1)
    if root is None:
        ctx.error(start, "empty scenario: expected a mapping with at least 'name' and 'cluster'")
        return None
    if not isinstance(root, yaml.MappingNode):
        ctx.error(root, f"a scenario is a mapping (name:, cluster:, steps: …), got {kind_of(root)}")
        return None
    pairs = key_nodes(root, ctx)
    for key, (key_node, _value) in pairs.items():
        if key not in {f.key for f in TOP_FIELDS}:
            ctx.error(
                key_node, f"unknown key '{key}'{did_you_mean(key, [f.key for f in TOP_FIELDS])}"
            )
    values: dict[str, Any] = {}
    locs: dict[str, Loc] = {}
    ctx.injected = "injections" in pairs
    for f in TOP_FIELDS:
        if f.key in pairs:
            values[f.name] = f.spec.parse(pairs[f.key][1], ctx)
            locs[f.name] = ctx.loc(pairs[f.key][1])
        elif f.required:
            ctx.error(root, f"missing required key '{f.key}' in the scenario")
            values[f.name] = INVALID
        else:
            values[f.name] = f.default
        if f.key == "cluster" and values[f.name] is INVALID:
            ctx.unchecked.add("node")  # its names are unknown: do not flag every later use
    if values["network"] is None:
        values["network"] = model.NetworkSpec(loc=start)
    if values["expect"] is None:
        values["expect"] = ()
    _check_run_until(values, locs, ctx)
    if ctx.problems or any(v is INVALID for v in values.values()):
        return None
    return model.Scenario(loc=ctx.loc(root), locs=locs, source=source, sha256=sha256, **values)


def _check_run_until(values: dict[str, Any], locs: dict[str, Loc], ctx: Ctx) -> None:
    run_until, steps = values.get("run_until"), values.get("steps")
    if not isinstance(run_until, int) or not isinstance(steps, tuple):
        return
    injections = values.get("injections")
    for injection in injections if isinstance(injections, tuple) else ():
        if injection.at is not None and injection.at > run_until:
            ctx.error(
                locs["run_until"],
                f"run_until {format_duration(run_until)} is before an injection "
                f"(at {format_duration(injection.at)})",
            )
            break
    earliest = 0
    for step in steps:
        if step.at is not None:
            earliest = max(earliest, step.at)
        elif step.after is not None:
            earliest += step.after
    if run_until < earliest:
        ctx.error(
            locs["run_until"],
            f"run_until {format_duration(run_until)} is before the last step "
            f"({format_duration(earliest)} or later)",
        )
