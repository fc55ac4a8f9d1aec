"""The action table: every scenario action with its YAML key, its dataclass, the spec of
its value and its help, which is the action's doc in the registry (:mod:`simulator.actions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from simulator.actions import ACTIONS as REGISTRY
from simulator.scenario import model
from simulator.scenario.fields import NODE as _NODE
from simulator.scenario.fields import TEXT as _TEXT
from simulator.scenario.fields import directive_fields, split_directives
from simulator.scenario.records import (
    As,
    Field,
    Finish,
    ListOf,
    MapOf,
    Names,
    Parsed,
    Record,
    Union,
)
from simulator.scenario.specs import (
    INVALID,
    Bool,
    Ctx,
    Duration,
    Enum,
    Int,
    Literal,
    Name,
    Number,
    Rate,
    Ref,
    Slots,
    Spec,
    kind_of,
)
from simulator.slots import CLUSTER_SLOTS

# --------------------------------------------------------------------------- actions


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


class Share(Spec):
    """A share of a whole: ``25%`` (more than 0, at most 100) or a number in (0, 1].
    Parses to the fraction (``25%`` → 0.25)."""

    expected = "a share like 25% or 0.25"
    PATTERN = r"^[0-9]+(\.[0-9]+)?%$"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        value = yaml.safe_load(node.value) if node.tag != "tag:yaml.org,2002:str" else node.value
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                share = float(value.strip()[:-1]) / 100
            except ValueError:
                return ctx.error(node, f"expected {self.expected}, got {value}")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            share = float(value)
        else:
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if not 0 < share <= 1:
            return ctx.error(node, f"expected a share above 0 and at most 100%, got {node.value}")
        return share

    def schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "string", "pattern": self.PATTERN},
                {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            ]
        }


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


_MODE = Enum("default", "force", "takeover", what="failover mode")

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
            "kill-masters",
            model.KillMasters,
            Union(
                As("share", Share()),
                Record(
                    "kill-masters",
                    [Field("share", Share(), "how many: 25% or 0.25 of them", required=True)],
                ),
            ),
            _doc("kill-masters"),
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
        ActionDef(
            "forget",
            model.Forget,
            Union(
                As("node", _NODE),
                Record(
                    "forget",
                    [
                        Field("node", _NODE, "the node to forget", required=True),
                        Field(
                            "on_nodes",
                            Names(Ref("node")),
                            "the nodes that run CLUSTER FORGET (default: every running "
                            "node but it)",
                        ),
                    ],
                ),
            ),
            _doc("forget"),
        ),
        ActionDef(
            "fix",
            model.Fix,
            Union(
                As("", Literal(True)),
                Record(
                    "fix",
                    [
                        Field(
                            "with_unreachable_masters",
                            Bool(),
                            "--cluster-fix-with-unreachable-masters: fix even though some "
                            "masters cannot be reached (redis-cli refuses otherwise)",
                            default=False,
                        ),
                    ],
                ),
            ),
            _doc("fix"),
        ),
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
                    Field("ttl", Duration(minimum=1), "SET ... PX: the key expires", attr="ttl_ms"),
                ],
            ),
            _doc("write"),
        ),
        ActionDef(
            "expire",
            model.Expire,
            Record(
                "expire",
                [
                    Field("key", _TEXT, "the key", required=True),
                    Field(
                        "ttl",
                        Duration(),
                        "time to live (PEXPIRE; 0 deletes the key)",
                        required=True,
                        attr="ttl_ms",
                    ),
                    Field(
                        "client",
                        Ref("client"),
                        "a client from 'clients' (default: the scenario's own)",
                    ),
                ],
            ),
            _doc("expire"),
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
