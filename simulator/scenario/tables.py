"""The tables that define the format: every action and condition, with its YAML key,
its dataclass, the spec of its value and one line of help (an action's help is its doc
in the action registry, :mod:`simulator.actions`).

The validator (:mod:`simulator.scenario.validate`) and the JSON Schema generator
(:mod:`simulator.scenario.schema`) both read these tables, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from simulator.actions import ACTIONS as REGISTRY
from simulator.config import DIRECTIVES, ConfigError, coerce
from simulator.scenario import model
from simulator.scenario.specs import (
    INVALID,
    As,
    Bool,
    Ctx,
    Duration,
    Enum,
    Field,
    Int,
    ListOf,
    Literal,
    MapOf,
    Name,
    Names,
    Number,
    Parsed,
    Rate,
    Record,
    Ref,
    Slots,
    Spec,
    Str,
    Union,
    kind_of,
    scalar,
)
from simulator.slots import CLUSTER_SLOTS

FLAGS = ("master", "replica", "pfail", "fail", "handshake", "noaddr", "nofailover", "myself")
"""Flags a ``flag`` condition may test (behaviour reference §2.2; ``replica`` = ``slave``)."""

MAX_TEXT = 10_000


class DirectiveValue(Spec):
    """A value for one Redis directive, checked by :func:`simulator.config.coerce`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.directive = DIRECTIVES[name]
        self.expected = f"a value for {name}"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if self.directive.kind == "save" and value is None:
            value = ""
        if isinstance(value, float):
            return ctx.error(node, f"{self.name} takes an integer, got {node.value}")
        try:
            return coerce(self.name, value)
        except ConfigError as error:
            return ctx.error(node, str(error))

    def schema(self) -> dict[str, Any]:
        d = self.directive
        if d.kind == "int":
            return {
                "anyOf": [
                    {"type": "integer", "minimum": d.minimum, "maximum": d.maximum},
                    {"type": "string", "pattern": r"^-?[0-9]+$"},
                ]
            }
        if d.kind == "bool":
            return {"anyOf": [{"type": "boolean"}, {"enum": ["yes", "no"]}]}
        if d.kind == "enum":
            return {"enum": list(d.choices)}
        return {"type": ["string", "null"]}


def directive_fields() -> list[Field]:
    return [
        Field(name, DirectiveValue(name), d.help, attr=f"directive:{name}")
        for name, d in DIRECTIVES.items()
    ]


def split_directives(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate ``directive:NAME`` attributes (set) from the others."""
    plain = {k: v for k, v in values.items() if not k.startswith("directive:")}
    config = {
        k.removeprefix("directive:"): v
        for k, v in values.items()
        if k.startswith("directive:") and v is not None and v is not INVALID
    }
    return plain, config


# --------------------------------------------------------------------------- actions

Finish = Callable[[dict[str, Any], Parsed, Ctx], "dict[str, Any] | None"]


@dataclass(frozen=True)
class ActionDef:
    """One action: YAML key, dataclass, value spec, help, and an optional post-step."""

    key: str
    cls: type[model.Action]
    spec: Spec
    doc: str
    finish: Finish | None = None


def _doc(name: str) -> str:
    """The action's one-line doc, from the registry (it describes the action in the schema)."""
    return REGISTRY[name].doc


def _endpoint_groups(min_groups: int) -> ListOf:
    return ListOf(
        ListOf(Ref("endpoint"), min_items=1, what="a list of node or client names"),
        min_items=min_groups,
        what="a list of groups (lists of names)",
    )


def _finish_groups(values: dict[str, Any], parsed: Parsed, ctx: Ctx) -> dict[str, Any] | None:
    """No endpoint may be in two groups; the error points at its place in the later group."""
    groups = values.get("groups")
    if groups is None:
        return values
    first_group: dict[str, int] = {}
    for g, group_node in enumerate(parsed.node.value):
        if not isinstance(group_node, yaml.SequenceNode):
            continue
        for item in group_node.value:
            name = item.value if isinstance(item, yaml.ScalarNode) else None
            if not isinstance(name, str):
                continue
            if first_group.setdefault(name, g) != g:
                ctx.error(item, f"'{name}' is in two groups")
                return None
    return {**values, "groups": tuple(tuple(dict.fromkeys(g)) for g in groups)}


def _finish_cut(values: dict[str, Any], parsed: Parsed, ctx: Ctx) -> dict[str, Any] | None:
    both = [n for n in values["sources"] if n in values["targets"]]
    if both:
        ctx.error(parsed.locs.get("targets", parsed.loc), f"'{both[0]}' is in both 'from' and 'to'")
        return None
    return values


class SlotCountOrSlots(Spec):
    """``slots: 100`` (a count) or ``slots: "0-99"`` (exact slots)."""

    expected = 'a slot count or slots like "0-99"'

    def __init__(self) -> None:
        self.count = Int(1, CLUSTER_SLOTS, what="a slot count")
        self.slots = Slots()

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int":
            return self.count.parse(node, ctx)
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        return self.slots.parse(node, ctx)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [self.count.schema(), self.slots.schema()]}


_PIPELINE_FIELD = Field(
    "pipeline",
    Int(1, 1000, what="a key count"),
    "keys per MIGRATE (redis-cli --cluster-pipeline, §16.2)",
    default=10,
)


def _finish_reshard(values: dict[str, Any], parsed: Parsed, ctx: Ctx) -> dict[str, Any] | None:
    slots = values.pop("slots_or_count")
    if slots is INVALID:
        return None
    if isinstance(slots, int):
        values.update(count=slots, slots=None)
    else:
        values.update(count=len(slots), slots=slots)
    if values["source"] == values["target"] and values["source"] is not INVALID:
        ctx.error(parsed.locs["target"], f"reshard from '{values['source']}' to itself")
        return None
    parsed.locs["count"] = parsed.locs["slots"] = parsed.locs.pop("slots_or_count")
    return values


def _finish_set_config(values: dict[str, Any], parsed: Parsed, ctx: Ctx) -> dict[str, Any] | None:
    plain, config = split_directives(values)
    if not config:
        if not any(k.startswith("directive:") and v is INVALID for k, v in values.items()):
            ctx.error(
                parsed.node,
                "set-config needs at least one directive, e.g. cluster-node-timeout: 5000",
            )
        return None
    return {**plain, "values": config}


def _finish_add_node(values: dict[str, Any], parsed: Parsed, ctx: Ctx) -> dict[str, Any] | None:
    name = values.get("name")
    if name is None:
        taken = set(ctx.endpoints())
        k = len(ctx.nodes) + 1
        while f"n{k}" in taken:
            k += 1
        name = f"n{k}"
    elif name in ctx.endpoints():
        ctx.error(
            parsed.locs.get("name", parsed.loc), f"a node or client named '{name}' already exists"
        )
        return None
    return {**values, "name": name}


def _finish_subscribe(values: dict[str, Any], parsed: Parsed, ctx: Ctx) -> dict[str, Any] | None:
    if values.get("pattern") and values.get("sharded"):
        ctx.error(
            parsed.locs["sharded"],
            "pattern subscriptions cannot be sharded (Redis has no SPSUBSCRIBE)",
        )
        return None
    client = values.get("client")
    if client is None:
        k = len(ctx.subscribers) + 1
        while f"sub{k}" in ctx.endpoints():
            k += 1
        client = f"sub{k}"
    elif client in ctx.nodes:
        ctx.error(parsed.locs["client"], f"'{client}' is a node, not a client")
        return None
    return {**values, "client": client}


_SCALAR_FIELD_TYPES = ["string", "integer", "number", "boolean", "null"]


def _event_field(key: str, key_node: yaml.Node, value_node: yaml.Node, ctx: Ctx) -> Any:
    if not isinstance(value_node, yaml.ScalarNode):
        return ctx.error(
            value_node, f"event field '{key}' must be a plain value, got {kind_of(value_node)}"
        )
    return scalar(value_node, ctx, "a plain value")


_NODE = Ref("node")
_MODE = Enum("default", "force", "takeover", what="failover mode")
_TEXT = Str(max_len=MAX_TEXT, allow_numbers=True)

ACTIONS: dict[str, ActionDef] = {
    a.key: a
    for a in (
        ActionDef(
            "kill",
            model.Kill,
            As("node", _NODE),
            _doc("kill"),
        ),
        ActionDef(
            "pause",
            model.Pause,
            As("node", _NODE),
            _doc("pause"),
        ),
        ActionDef("resume", model.Resume, As("node", _NODE), _doc("resume")),
        ActionDef("restart", model.Restart, As("node", _NODE), _doc("restart")),
        ActionDef("shutdown", model.Shutdown, As("node", _NODE), _doc("shutdown")),
        ActionDef(
            "partition",
            model.Partition,
            As("groups", _endpoint_groups(2)),
            _doc("partition"),
            _finish_groups,
        ),
        ActionDef(
            "cut",
            model.Cut,
            Record(
                "cut",
                [
                    Field(
                        "from",
                        Names(Ref("endpoint")),
                        "who can no longer send",
                        required=True,
                        attr="sources",
                    ),
                    Field(
                        "to",
                        Names(Ref("endpoint")),
                        "whom they can no longer reach",
                        required=True,
                        attr="targets",
                    ),
                ],
            ),
            _doc("cut"),
            _finish_cut,
        ),
        ActionDef(
            "heal",
            model.Heal,
            Union(
                As("groups", Literal(True, "all"), transform=lambda _: None),
                As("groups", _endpoint_groups(1)),
                what="true, all, or a list of groups",
            ),
            _doc("heal"),
            _finish_groups,
        ),
        ActionDef(
            "failover",
            model.Failover,
            Union(
                As("node", _NODE),
                Record(
                    "failover",
                    [
                        Field("node", _NODE, "the replica that takes over", required=True),
                        Field("mode", _MODE, "default, force or takeover (§12)", default="default"),
                    ],
                ),
            ),
            _doc("failover"),
        ),
        ActionDef(
            "reshard",
            model.Reshard,
            Record(
                "reshard",
                [
                    Field("from", _NODE, "the master giving slots", required=True, attr="source"),
                    Field("to", _NODE, "the master receiving them", required=True, attr="target"),
                    Field(
                        "slots",
                        SlotCountOrSlots(),
                        "how many slots (its lowest ones, §16.4) or exactly which",
                        required=True,
                        attr="slots_or_count",
                    ),
                    _PIPELINE_FIELD,
                ],
            ),
            _doc("reshard"),
            _finish_reshard,
        ),
        ActionDef(
            "rebalance",
            model.Rebalance,
            Union(
                As("", Literal(True)),
                Record(
                    "rebalance",
                    [
                        Field(
                            "weights",
                            MapOf(_NODE, Number(0, 1e6, "a weight")),
                            "per-master weights (default 1)",
                            default={},
                        ),
                        Field(
                            "threshold",
                            Number(0, 100, "a percentage"),
                            "percent imbalance that triggers moves",
                            default=2.0,
                        ),
                        Field(
                            "use_empty_masters",
                            Bool(),
                            "give slots to masters with none",
                            default=False,
                        ),
                        _PIPELINE_FIELD,
                    ],
                ),
            ),
            _doc("rebalance"),
        ),
        ActionDef(
            "add-node",
            model.AddNode,
            Union(
                As("name", Name()),
                Record(
                    "add-node",
                    [
                        Field("name", Name(), "the new node's name (default: the next free n<k>)"),
                        Field(
                            "replica_of",
                            _NODE,
                            "make it a replica of this master (default: an empty master)",
                        ),
                    ],
                ),
            ),
            _doc("add-node"),
            _finish_add_node,
        ),
        ActionDef(
            "del-node",
            model.DelNode,
            As("node", _NODE),
            _doc("del-node"),
        ),
        ActionDef("fix", model.Fix, As("", Literal(True)), _doc("fix")),
        ActionDef(
            "set-config",
            model.SetConfig,
            Record(
                "set-config",
                [
                    Field("node", Ref("node", allow_all=True), "a node name or all", default="all"),
                    *directive_fields(),
                ],
            ),
            _doc("set-config"),
            _finish_set_config,
        ),
        ActionDef(
            "write",
            model.Write,
            Record(
                "write",
                [
                    Field("key", _TEXT, "the key", required=True),
                    Field("value", _TEXT, "the value (default: generated)"),
                    Field(
                        "client",
                        Ref("client"),
                        "a client from 'clients' (default: the scenario's own)",
                    ),
                ],
            ),
            _doc("write"),
        ),
        ActionDef(
            "read",
            model.Read,
            Record(
                "read",
                [
                    Field("key", _TEXT, "the key", required=True),
                    Field(
                        "client",
                        Ref("client"),
                        "a client from 'clients' (default: the scenario's own)",
                    ),
                ],
            ),
            _doc("read"),
        ),
        ActionDef(
            "publish",
            model.Publish,
            Record(
                "publish",
                [
                    Field("channel", _TEXT, "the channel", required=True),
                    Field("message", _TEXT, "the message", required=True),
                    Field(
                        "node",
                        _NODE,
                        "the node that receives PUBLISH (default: any / the shard owner)",
                    ),
                    Field("sharded", Bool(), "SPUBLISH instead of PUBLISH", default=False),
                ],
            ),
            _doc("publish"),
        ),
        ActionDef(
            "subscribe",
            model.Subscribe,
            Record(
                "subscribe",
                [
                    Field(
                        "channel",
                        _TEXT,
                        "the channel (a pattern when pattern: true)",
                        required=True,
                    ),
                    Field(
                        "node", _NODE, "the node to subscribe on (default: any / the shard owner)"
                    ),
                    Field("client", Name(), "the subscriber's name (default: sub<k>)"),
                    Field("pattern", Bool(), "PSUBSCRIBE", default=False),
                    Field("sharded", Bool(), "SSUBSCRIBE", default=False),
                ],
            ),
            _doc("subscribe"),
            _finish_subscribe,
        ),
        ActionDef(
            "workload",
            model.Workload,
            Record(
                "workload",
                [
                    Field("client", Ref("client"), "a client from 'clients'", required=True),
                    Field("rate", Rate(), "new request rate, e.g. 0/s to stop"),
                    Field("writes", Number(0, 1, "a fraction"), "new fraction of writes"),
                ],
                any_of=(("rate", "writes"),),
            ),
            _doc("workload"),
        ),
    )
}

# --------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class ConditionDef:
    key: str
    cls: type[model.Condition]
    spec: Spec
    doc: str


_COUNT = Int(0, 10**12, what="a count")

CONDITIONS: dict[str, ConditionDef] = {
    c.key: c
    for c in (
        ConditionDef(
            "cluster_state",
            model.ClusterState,
            Union(
                As("state", Enum("ok", "fail", what="cluster state")),
                Record(
                    "cluster_state",
                    [
                        Field("node", _NODE, "the node asked", required=True),
                        Field(
                            "state",
                            Enum("ok", "fail", what="cluster state"),
                            "ok or fail",
                            required=True,
                        ),
                    ],
                ),
            ),
            "cluster_state of every live node (or of one node), as CLUSTER INFO says (§14)",
        ),
        ConditionDef(
            "role",
            model.Role,
            As(
                "roles",
                MapOf(_NODE, Enum("master", "replica", what="role"), "a mapping node: role"),
            ),
            "each named node has this role in its own view",
        ),
        ConditionDef(
            "owner",
            model.Owner,
            As("owners", MapOf(_NODE, Slots(), "a mapping node: slots")),
            "each named node owns (at least) these slots, in the cluster's agreed truth",
        ),
        ConditionDef(
            "flag",
            model.Flag,
            Record(
                "flag",
                [
                    Field("observer", _NODE, "whose view", required=True),
                    Field("node", _NODE, "the node looked at", required=True),
                    Field("has", Enum(*FLAGS, what="flag"), "a flag it must have"),
                    Field("lacks", Enum(*FLAGS, what="flag"), "a flag it must not have"),
                ],
                one_of=(("has", "lacks"),),
            ),
            "a flag in one node's view of another (§2.2)",
        ),
        ConditionDef(
            "agree",
            model.Agree,
            As("value", Bool()),
            "all live nodes agree on every slot's owner (or not, with false)",
        ),
        ConditionDef(
            "covered",
            model.Covered,
            As("value", Bool()),
            "every slot has a live owner (or not, with false)",
        ),
        ConditionDef(
            "lost_writes",
            model.LostWrites,
            Union(
                As("exact", _COUNT),
                Record(
                    "lost_writes",
                    [
                        Field("min", _COUNT, "at least", attr="minimum"),
                        Field("max", _COUNT, "at most", attr="maximum"),
                    ],
                    any_of=(("min", "max"),),
                ),
            ),
            "acknowledged writes that are gone (§20.2)",
        ),
        ConditionDef(
            "promoted",
            model.Promoted,
            As("node", _NODE),
            "this replica has been promoted to master",
        ),
        ConditionDef(
            "epoch",
            model.Epoch,
            As("epochs", MapOf(_NODE, Int(0, 2**63 - 1, what="an epoch"), "a mapping node: epoch")),
            "each named node's configEpoch (§9.2)",
        ),
        ConditionDef(
            "delivered",
            model.Delivered,
            Record(
                "delivered",
                [
                    Field("channel", _TEXT, "messages published on this channel"),
                    Field("subscriber", Ref("subscriber"), "messages received by this subscriber"),
                    Field("count", _COUNT, "exactly this many deliveries"),
                    Field("min", _COUNT, "at least this many deliveries", attr="minimum"),
                ],
                any_of=(("channel", "subscriber"),),
                one_of=(("count", "min"),),
            ),
            "pub/sub deliveries: one per message received by one subscriber (§19)",
        ),
        ConditionDef(
            "event",
            model.Event,
            Record(
                "event",
                [
                    Field("kind", Str(max_len=64), "the trace event kind", required=True),
                    Field("node", Ref("endpoint"), "the event's node"),
                    Field("target", Ref("endpoint"), "the event's target"),
                    Field("within", Duration(), "only events this soon after the step started"),
                    Field(
                        "count", _COUNT, "exactly this many matching events (default: at least one)"
                    ),
                ],
                extra=_event_field,
                extra_attr="fields",
                extra_schema={"type": _SCALAR_FIELD_TYPES},
            ),
            "a trace event happened; any other key matches that event field",
        ),
    )
}


class Conditions(Spec):
    """``{cond: value, ...}`` or a list of such mappings; all must hold. Parses to a tuple."""

    expected = "a condition or a list of conditions"
    accepts = (yaml.MappingNode, yaml.SequenceNode)

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if isinstance(node, yaml.SequenceNode):
            if not node.value:
                return ctx.error(node, "expected at least one condition")
            items = [self.parse_mapping(child, ctx) for child in node.value]
            return tuple(c for item in items for c in item)
        if isinstance(node, yaml.MappingNode):
            return tuple(self.parse_mapping(node, ctx))
        return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")

    def parse_mapping(self, node: yaml.Node, ctx: Ctx) -> list[model.Condition]:
        if not isinstance(node, yaml.MappingNode):
            ctx.error(node, f"expected a condition like 'cluster_state: ok', got {kind_of(node)}")
            return []
        if not node.value:
            ctx.error(node, "expected a condition like 'cluster_state: ok', got an empty mapping")
            return []
        out: list[model.Condition] = []
        from simulator.scenario.errors import did_you_mean
        from simulator.scenario.specs import key_nodes

        for key, (key_node, value_node) in key_nodes(node, ctx).items():
            definition = CONDITIONS.get(key)
            if definition is None:
                ctx.error(
                    key_node, f"unknown condition '{key}'{did_you_mean(key, list(CONDITIONS))}"
                )
                continue
            condition = build(definition.cls, definition.spec, None, key_node, value_node, ctx)
            if condition is not None:
                out.append(condition)  # type: ignore[arg-type]
        return out

    def schema(self) -> dict[str, Any]:
        return {"$ref": "#/$defs/conditions"}


def build(
    cls: type[model.Located],
    spec: Spec,
    finish: Finish | None,
    key_node: yaml.Node,
    value_node: yaml.Node,
    ctx: Ctx,
) -> model.Located | None:
    """Parse one action or condition value and build its dataclass (None if invalid)."""
    parsed = spec.parse(value_node, ctx)
    if parsed is INVALID:
        return None
    assert isinstance(parsed, Parsed)
    values = dict(parsed.values)
    if any(v is INVALID for k, v in values.items() if not k.startswith("directive:")):
        return None
    if finish is not None:
        done = finish(values, parsed, ctx)
        if done is None:
            return None
        values = done
    return cls(loc=ctx.loc(key_node), locs=dict(parsed.locs), **values)
