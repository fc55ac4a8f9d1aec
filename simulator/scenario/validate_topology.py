"""Validating a scenario's topology: the ``cluster`` (masters and replicas, or explicit
nodes with slots and config), the ``clients`` and the ``network``.
"""

from __future__ import annotations

from typing import Any

import yaml

from simulator.node.gossip_rules import GOSSIP_RULES
from simulator.scenario import model
from simulator.scenario.cache_specs import CACHE
from simulator.scenario.errors import describe_names, did_you_mean
from simulator.scenario.local_cache import LocalCacheParser
from simulator.scenario.records import Field, ListOf, Parsed, Record, RecordOf, key_nodes
from simulator.scenario.specs import (
    INVALID,
    Ctx,
    Duration,
    Enum,
    Int,
    Latency,
    Name,
    Number,
    Rate,
    Slots,
    Spec,
    Str,
)
from simulator.scenario.tables import directive_fields, split_directives
from simulator.slots import CLUSTER_SLOTS, create_allocation, format_slot_ranges
from simulator.standalone import TOPOLOGIES

MAX_NODES = 1000
"""The most nodes a scenario may start with or add (a bigger cluster is surely a typo)."""

MAX_CLIENTS = 1000


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

_SERVICE = Record(
    "cluster service",
    [
        Field(
            "scale",
            Number(0.001, 1_000_000, what="a cost multiplier"),
            "every command's cost times this (default 1: Redis 7.0 on a current CPU); a "
            "bigger scale is a slower machine, and saturates a node at a lower rate",
            default=1.0,
        ),
    ],
)

_BEHAVIOUR = Record(
    "cluster behaviour",
    [
        Field(
            "gossip",
            Enum(*GOSSIP_RULES, what="gossip rule"),
            "which nodes a ping's gossip section names: redis-7.0 (random ones plus every "
            "PFAIL node), redis-3.0 (random ones, biased to PFAIL/FAIL) or redis-3.0-rc1 "
            "(3 random ones, the rule of redis/redis#2285)",
            default=GOSSIP_RULES[0],
        ),
    ],
)


def _gossip_rule(behaviour: Any) -> str:
    if isinstance(behaviour, Parsed) and isinstance(behaviour.values.get("gossip"), str):
        return str(behaviour.values["gossip"])
    return GOSSIP_RULES[0]


def _service_scale(service: Any) -> float | None:
    if not isinstance(service, Parsed):
        return None
    scale = service.values.get("scale")
    return float(scale) if isinstance(scale, float) else 1.0


def _standalone_ok(nodes: tuple[model.NodeSpec, ...], start: Any, parsed: Parsed, ctx: Ctx) -> bool:
    """``topology: standalone`` is one master (it serves every key) and its replicas."""
    loc = parsed.locs.get("topology", parsed.loc)
    masters = [n.name for n in nodes if n.role == "master"]
    if len(masters) != 1:
        ctx.error(
            loc,
            f"a standalone topology has exactly one master, not {len(masters)} "
            f"({describe_names(masters)}); write masters: 1 (replicas may follow it)",
        )
        return False
    if start == "meet":
        ctx.error(loc, "a standalone topology has no cluster bus: 'start: meet' needs a cluster")
        return False
    return True


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
                Field(
                    "topology",
                    Enum(*TOPOLOGIES, what="topology"),
                    "cluster (Redis Cluster, the default) or standalone (one master with "
                    "cluster-enabled no and its replicas: no bus, no slots, no MOVED, no "
                    "automatic failover)",
                    default="cluster",
                ),
                Field(
                    "service",
                    _SERVICE,
                    "turns on the service model: each node runs commands one at a time, each "
                    "for its cost in microseconds, so a node saturates and queues (§28.4)",
                ),
                Field(
                    "behaviour",
                    _BEHAVIOUR,
                    "rules of an older Redis, for lessons about them (default: Redis 7.0's)",
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
        topology = v["topology"] if isinstance(v["topology"], str) else "cluster"
        if topology == "standalone" and not _standalone_ok(nodes, v["start"], parsed, ctx):
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
            gossip=_gossip_rule(v["behaviour"]),
            topology=topology,
            service_scale=_service_scale(v["service"]),
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
            "multi",
            Number(0, 1, "a fraction"),
            "fraction of requests that are MSET/MGET of two keys (CROSSSLOT on a cluster "
            "unless the template has a hash tag)",
            default=0.0,
        ),
        Field(
            "key_count",
            Int(1, 100_000_000, what="a key count"),
            "how many distinct keys",
            default=1000,
        ),
        Field(
            "ttl",
            Duration(minimum=1),
            "writes are SET ... PX ttl: every key written expires this long after (§26.1)",
            attr="ttl_ms",
        ),
        Field("cache", CACHE, "a cache-aside client in front of the database"),
        Field(
            "local_cache",
            LocalCacheParser(),
            "client-side caching: reads kept locally, invalidated by CLIENT TRACKING",
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
            if v.get("cache") is not None and v.get("ttl_ms") is not None:
                ctx.error(item.locs["ttl_ms"], "a cache-aside client's TTL is its cache's ttl")
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


NETWORK = RecordOf(_NETWORK, model.NetworkSpec)
"""The top-level ``network`` record."""
