"""From a YAML node tree to a :class:`~simulator.scenario.model.Scenario`, checking
everything: types, unknown keys, names, slot ranges, times, reshards.

The top level, the cluster, the clients and the steps are :class:`~.specs.Spec`
objects too, so :mod:`simulator.scenario.schema` describes exactly what is parsed here.
"""

from __future__ import annotations

from typing import Any

import yaml

from simulator.scenario import model
from simulator.scenario.durations import format_duration
from simulator.scenario.errors import Loc, describe_names, did_you_mean
from simulator.scenario.specs import (
    INVALID,
    Ctx,
    Duration,
    Enum,
    Field,
    Int,
    Latency,
    ListOf,
    Name,
    Number,
    Parsed,
    Rate,
    Record,
    Slots,
    Spec,
    Str,
    key_nodes,
    kind_of,
)
from simulator.scenario.tables import ACTIONS, Conditions, build, directive_fields, split_directives
from simulator.slots import CLUSTER_SLOTS, create_allocation, format_slot_ranges

MAX_NODES = 1000
"""The most nodes a scenario may start with or add (a bigger cluster is surely a typo)."""

MAX_STEPS = 10_000
MAX_CLIENTS = 1000

# Actions after which the static slot map can no longer be predicted (a failover may follow).
_UNPREDICTABLE = frozenset(
    {"kill", "pause", "shutdown", "restart", "partition", "cut", "failover", "rebalance", "fix"}
)


# --------------------------------------------------------------------------- cluster

_NODE_RECORD = Record(
    "a node",
    [
        Field("name", Name(), "the node's name", required=True),
        Field(
            "role",
            Enum("master", "replica", what="role"),
            "master or replica (default: replica if replica_of is set)",
        ),
        Field("slots", Slots(), 'a master\'s slots, e.g. "0-5460 5462" (default: none)'),
        Field("replica_of", Name(), "the master this replica follows"),
        Field(
            "config",
            Record("node config", directive_fields()),
            "this node's own directives, over the cluster's",
        ),
    ],
)

_CONFIG = Record("cluster config", directive_fields())


class ClusterSpecParser(Spec):
    """``cluster:``: ``masters``/``replicas`` or a ``nodes`` list, plus ``config``."""

    accepts: tuple[type, ...] = (yaml.MappingNode,)
    expected = "a mapping (cluster)"

    def __init__(self) -> None:
        self.record = Record(
            "cluster",
            [
                Field(
                    "masters",
                    Int(1, MAX_NODES, what="a number of masters"),
                    "how many masters (n1..nM)",
                ),
                Field(
                    "replicas",
                    Int(0, MAX_NODES, what="a number of replicas"),
                    "replicas per master",
                    default=0,
                ),
                Field(
                    "nodes",
                    ListOf(_NODE_RECORD, min_items=1, max_items=MAX_NODES),
                    "an explicit node list",
                ),
                Field(
                    "config",
                    _CONFIG,
                    "Redis directives for every node, e.g. cluster-node-timeout: 2000",
                ),
                Field(
                    "start",
                    Enum("converged", "meet", what="cluster start"),
                    "converged (as after redis-cli --cluster create and some gossip) or meet "
                    "(every node starts alone: ADDSLOTS, MEET, REPLICATE, as redis-cli does)",
                    default="converged",
                ),
            ],
            one_of=(("masters", "nodes"),),
        )

    def schema(self) -> dict[str, Any]:
        return self.record.schema()

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        parsed = self.record.parse(node, ctx)
        if parsed is INVALID:
            return INVALID
        assert isinstance(parsed, Parsed)
        v = parsed.values
        config: dict[str, Any] = {}
        if isinstance(v["config"], Parsed):
            config = split_directives(v["config"].values)[1]
        by_key = key_nodes(node, ctx) if isinstance(node, yaml.MappingNode) else {}
        if "nodes" in by_key and "replicas" in by_key:
            ctx.error(
                by_key["replicas"][0], "'replicas' goes with 'masters', not with a 'nodes' list"
            )
        nodes: tuple[model.NodeSpec, ...] | None = None
        if isinstance(v["masters"], int) and isinstance(v["replicas"], int):
            nodes = self.generated(v["masters"], v["replicas"], parsed, ctx)
        elif isinstance(v["nodes"], tuple) and "masters" not in by_key:
            nodes = self.listed(v["nodes"], by_key["nodes"][1], ctx)
        if nodes is None:
            return INVALID
        ctx.nodes.extend(n.name for n in nodes)
        ctx.cluster = model.ClusterSpec(
            loc=parsed.loc,
            locs=parsed.locs,
            nodes=nodes,
            config=config,
            masters=v["masters"] if "masters" in by_key else None,
            replicas=v["replicas"] if "masters" in by_key else None,
            start=v["start"] if isinstance(v["start"], str) else "converged",
        )
        return ctx.cluster

    def generated(
        self, masters: int, replicas: int, parsed: Parsed, ctx: Ctx
    ) -> tuple[model.NodeSpec, ...] | None:
        """n1..nM masters with redis-cli's create ranges (§17.1); replica n(M+k) follows
        n((k-1) mod M + 1). Simplification: real create may permute replicas (§17.2 step 6)."""
        total = masters * (1 + replicas)
        if total > MAX_NODES:
            ctx.error(
                parsed.locs.get("replicas", parsed.loc),
                f"{masters} masters with {replicas} replica{'s' if replicas != 1 else ''} each "
                f"make {total} nodes; "
                f"the limit is {MAX_NODES}",
            )
            return None
        if masters > CLUSTER_SLOTS:
            return None
        loc = parsed.locs.get("masters", parsed.loc)
        out = [
            model.NodeSpec(loc=loc, name=f"n{i + 1}", role="master", slots=tuple(r))
            for i, r in enumerate(create_allocation(masters))
        ]
        for k in range(1, masters * replicas + 1):
            out.append(
                model.NodeSpec(
                    loc=parsed.locs.get("replicas", loc),
                    name=f"n{masters + k}",
                    role="replica",
                    replica_of=f"n{(k - 1) % masters + 1}",
                )
            )
        return tuple(out)

    def listed(
        self, items: tuple[Any, ...], list_node: yaml.Node, ctx: Ctx
    ) -> tuple[model.NodeSpec, ...] | None:
        """An explicit ``nodes:`` list: unique names, replicas of masters, no slot overlaps."""
        ok = True
        roles: dict[str, str] = {}
        for item in items:
            v = item.values
            name = v["name"]
            if name is INVALID:
                ok = False
                continue
            if name in roles:
                ctx.error(item.locs["name"], f"duplicate node name '{name}'")
                ok = False
                continue
            role = v["role"] or ("replica" if v["replica_of"] is not None else "master")
            roles[name] = role if role is not INVALID else "master"
        owned: dict[int, str] = {}
        out: list[model.NodeSpec] = []
        for item in items:
            v = item.values
            name, role = v["name"], v["role"]
            if (
                name is INVALID
                or role is INVALID
                or v["slots"] is INVALID
                or v["replica_of"] is INVALID
            ):
                ok = False
                continue
            role = role or ("replica" if v["replica_of"] is not None else "master")
            slots: tuple[int, ...] = v["slots"] or ()
            master = v["replica_of"]
            if role == "master" and master is not None:
                ctx.error(
                    item.locs["replica_of"], f"'{name}' is a master; only replicas have replica_of"
                )
                ok = False
            if role == "replica":
                if master is None:
                    ctx.error(item.loc, f"replica '{name}' needs replica_of: <master name>")
                    ok = False
                elif master not in roles:
                    names = list(roles)
                    hint = did_you_mean(master, names) or f" (known: {describe_names(names)})"
                    ctx.error(item.locs["replica_of"], f"unknown node '{master}'{hint}")
                    ok = False
                elif master == name:
                    ctx.error(item.locs["replica_of"], f"'{name}' cannot replicate itself")
                    ok = False
                elif roles[master] != "master":
                    ctx.error(
                        item.locs["replica_of"],
                        f"'{name}' replicates '{master}', which is not a master",
                    )
                    ok = False
                if slots:
                    ctx.error(item.locs["slots"], f"replica '{name}' cannot own slots")
                    ok = False
            clash = sorted({owned[s] for s in slots if s in owned})
            if clash:
                overlap = [s for s in slots if s in owned]
                ctx.error(
                    item.locs["slots"],
                    f"slots {format_slot_ranges(overlap)} of '{name}' "
                    f"are already owned by '{clash[0]}'",
                )
                ok = False
            for s in slots:
                owned.setdefault(s, name)
            config = (
                split_directives(v["config"].values)[1] if isinstance(v["config"], Parsed) else {}
            )
            out.append(
                model.NodeSpec(
                    loc=item.loc,
                    locs=item.locs,
                    name=name,
                    role=role,
                    slots=slots,
                    replica_of=master,
                    config=config,
                )
            )
        if ok and not any(n.role == "master" for n in out):
            ctx.error(list_node, "the cluster needs at least one master")
            ok = False
        return tuple(out) if ok else None


# --------------------------------------------------------------------------- clients and network

_CLIENT_RECORD = Record(
    "a client",
    [
        Field("name", Name(), "the client's name (may appear in partitions)", required=True),
        Field("rate", Rate(), "requests per second, e.g. 200/s", required=True),
        Field(
            "writes",
            Number(0, 1, "a fraction"),
            "fraction of requests that are writes",
            default=0.5,
        ),
        Field(
            "keys", Str(max_len=200), "key template; {i} becomes 0..key_count-1", default="key:{i}"
        ),
        Field(
            "key_count",
            Int(1, 100_000_000, what="a key count"),
            "how many distinct keys",
            default=1000,
        ),
    ],
)


class ClientsParser(ListOf):
    def __init__(self) -> None:
        super().__init__(_CLIENT_RECORD, max_items=MAX_CLIENTS, what="a list of clients")

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        items = super().parse(node, ctx)
        if items is INVALID or len(items) != len(node.value):
            ctx.unchecked.add("client")  # some client's name is unknown: do not guess
        if items is INVALID:
            return INVALID
        out: list[model.ClientSpec] = []
        for item in items:
            v = item.values
            name = v["name"]
            if name is INVALID:
                ctx.unchecked.add("client")
                continue
            if name in ctx.nodes:
                ctx.error(item.locs["name"], f"client name '{name}' is already a node name")
                continue
            if name in ctx.clients:
                ctx.error(item.locs["name"], f"duplicate client name '{name}'")
                continue
            if any(x is INVALID for x in v.values()):
                ctx.clients.append(name)  # its error is reported; later uses of it are fine
                continue
            if "{i}" not in v["keys"] and v["key_count"] > 1:
                ctx.error(
                    item.locs["keys"],
                    f"key template {v['keys']!r} needs '{{i}}' (it names {v['key_count']} keys)",
                )
                continue
            ctx.clients.append(name)
            out.append(model.ClientSpec(loc=item.loc, locs=item.locs, **v))
        return tuple(out)


_NETWORK = Record(
    "network",
    [
        Field(
            "latency", Latency(), "one-way delay per message: 1ms or 0.1ms..0.5ms (seeded uniform)"
        ),
        Field(
            "loss",
            Number(0, 1, "a probability"),
            "probability that a message is dropped",
            default=0.0,
        ),
    ],
)


class NetworkParser(Spec):
    accepts: tuple[type, ...] = (yaml.MappingNode,)
    expected = "a mapping (network)"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        parsed = _NETWORK.parse(node, ctx)
        if parsed is INVALID or any(v is INVALID for v in parsed.values.values()):
            return INVALID
        return model.NetworkSpec(loc=parsed.loc, locs=parsed.locs, **parsed.values)

    def schema(self) -> dict[str, Any]:
        return _NETWORK.schema()


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
        state = _StaticState(ctx.cluster)
        steps = []
        for index, child in enumerate(node.value):
            step = parse_step(child, index, state, ctx)
            if step is not None:
                steps.append(step)
        return tuple(steps)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"$ref": "#/$defs/step"}}


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
    Field("network", NetworkParser(), "link latency and loss"),
    Field("clients", ClientsParser(), "background workload clients", default=()),
    Field("steps", StepsParser(), "what happens, in order", default=()),
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
