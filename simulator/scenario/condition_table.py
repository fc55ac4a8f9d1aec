"""The condition table: every condition with its YAML key, its dataclass, the spec of its
value and one line of help, and :class:`Conditions`, the spec of an ``expect``/``wait_for``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from simulator.dataplane.outcomes import NAMES as OUTCOME_NAMES
from simulator.scenario import model
from simulator.scenario.cache_specs import CACHE_CONDITION
from simulator.scenario.fields import NODE as _NODE
from simulator.scenario.fields import TEXT as _TEXT
from simulator.scenario.records import As, Field, MapOf, Record, Union, build
from simulator.scenario.specs import (
    Bool,
    Ctx,
    Duration,
    Enum,
    Int,
    Number,
    Ref,
    Slots,
    Spec,
    Str,
    kind_of,
    scalar,
)

FLAGS = ("master", "replica", "pfail", "fail", "handshake", "noaddr", "nofailover", "myself")
"""Flags a ``flag`` condition may test (behaviour reference §2.2; ``replica`` = ``slave``)."""

_SCALAR_FIELD_TYPES = ["string", "integer", "number", "boolean", "null"]


def _event_field(key: str, key_node: yaml.Node, value_node: yaml.Node, ctx: Ctx) -> Any:
    if not isinstance(value_node, yaml.ScalarNode):
        return ctx.error(
            value_node, f"event field '{key}' must be a plain value, got {kind_of(value_node)}"
        )
    return scalar(value_node, ctx, "a plain value")


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
            "key",
            model.Key,
            Record(
                "key",
                [
                    Field("node", _NODE, "the node looked at", required=True),
                    Field("key", _TEXT, "the key", required=True),
                    Field("stored", Bool(), "the key is in the node's memory (DBSIZE counts it)"),
                    Field("readable", Bool(), "a READONLY GET on the node returns it"),
                ],
                any_of=(("stored", "readable"),),
            ),
            "one key on one node: held in memory, and readable (not logically expired, §26.3)",
        ),
        ConditionDef(
            "stale_keys",
            model.StaleKeys,
            Record(
                "stale_keys",
                [
                    Field("node", _NODE, "the node looked at", required=True),
                    Field("min", _COUNT, "at least", attr="minimum"),
                    Field("max", _COUNT, "at most", attr="maximum"),
                ],
                any_of=(("min", "max"),),
            ),
            "keys whose TTL passed that the node still holds in memory (§26.2)",
        ),
        ConditionDef(
            "cache",
            model.CacheMetric,
            CACHE_CONDITION,
            "a cache-aside client's figure, or the database's (docs/caching.md)",
        ),
        ConditionDef(
            "latency",
            model.Latency,
            Record(
                "latency",
                [
                    Field("client", Ref("client"), "a client from 'clients'", required=True),
                    Field(
                        "p",
                        Number(0, 100, what="a percentile"),
                        "the percentile, 0-100 (default 99)",
                        attr="percentile",
                        default=99.0,
                    ),
                    Field("window", Duration(), "only requests answered this long before now"),
                    Field("min", Duration(), "at least this latency", attr="minimum"),
                    Field("max", Duration(), "at most this latency", attr="maximum"),
                ],
                any_of=(("min", "max"),),
            ),
            "a percentile of a client's request latencies (ok replies), e.g. p99 (§28.4)",
        ),
        ConditionDef(
            "requests",
            model.Requests,
            Record(
                "requests",
                [
                    Field("client", Ref("client"), "a client from 'clients'", required=True),
                    Field(
                        "outcome",
                        Enum(*OUTCOME_NAMES, what="request outcome"),
                        "the outcome counted (default ok)",
                        default="ok",
                    ),
                    Field("window", Duration(), "only attempts answered this long before now"),
                    Field("min", Number(0, 1, what="a share"), "at least", attr="minimum"),
                    Field("max", Number(0, 1, what="a share"), "at most", attr="maximum"),
                ],
                any_of=(("min", "max"),),
            ),
            "the share of a client's request attempts with this outcome (ok, crossslot, ...)",
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
        from simulator.scenario.records import key_nodes

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
