"""One command executed by one node: ``processCommand``'s checks, then the command (§15, §19, §20).

Routing is :func:`~simulator.dataplane.routing.get_node_by_query` over a :class:`View`
of the node; then, as in src/server.c, ``NOREPLICAS`` for writes (§20.3), then the
client-pause check (a manual failover pauses writes, §12: the command is held and
re-processed from scratch when the pause ends), then the command itself.

Simplified: values are strings; SET takes only the expiry options (§26.1); a blocked WAIT
is held by the caller (:mod:`.clients`, :mod:`simulator.resp.commands`); MIGRATE is only
sent by the resharding executor.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.dataplane import expire_commands, expiry, maxmemory, outcomes
from simulator.dataplane.eviction import ERR_OOM
from simulator.dataplane.model import ClusterData
from simulator.dataplane.routing import (
    ASK,
    CROSSSLOT,
    DOWN,
    DOWN_RO,
    MOVED,
    TRYAGAIN,
    UNBOUND,
    CommandError,
    ConfigLike,
    Request,
    Route,
    Session,
    get_node_by_query,
    parse_command,
)
from simulator.dataplane.standalone_route import READONLY_REPLICA, standalone_route
from simulator.node import Node
from simulator.replication import ExpireOp, StreamOp

OUTCOME_OF_ROUTE = {
    MOVED: outcomes.MOVED,
    ASK: outcomes.ASK,
    TRYAGAIN: outcomes.TRYAGAIN,
    CROSSSLOT: outcomes.CROSSSLOT,
    DOWN: outcomes.CLUSTERDOWN,
    DOWN_RO: outcomes.CLUSTERDOWN,
    UNBOUND: outcomes.CLUSTERDOWN,
    READONLY_REPLICA: outcomes.ERROR,
}
"""The request outcome (:mod:`~simulator.dataplane.outcomes`) of each unserved route."""

HELD = "hold"
"""Not an outcome: writes are paused (§12), the caller holds the request and re-processes it."""

MAY_REPLICATE = frozenset({"PUBLISH", "SPUBLISH"})
"""Not writes, but ``CMD_MAY_REPLICATE`` in 7.0.15 (commands.def): a write pause (the
manual-failover pause, §12) postpones them too (``processCommand``)."""

BLOCKED = "block"
"""Not an outcome: WAIT blocks (``value``: numreplicas, timeout ms, woff) until enough
replicas ACK ``woff`` or the timeout; the caller holds it (§20.3, replica_acks.py)."""

SUBSCRIPTION_COMMANDS = frozenset(
    {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"}
)

ERR_NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
ERR_WAIT_REPLICA = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
    "if a replica is configured to be writable (which is not the default) writes to "
    "replicas are just local and are not propagated."
)
ERR_NOT_INTEGER = "ERR value is not an integer or out of range"
ERR_UNBLOCKED = (  # disconnectAllBlockedClients, when a master becomes a replica
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the node answers. ``outcome`` is a request outcome
    (:data:`simulator.dataplane.outcomes.NAMES`) or :data:`HELD` or :data:`BLOCKED`.
    ``target`` is the redirect target's name, ``offset`` the master's replication offset
    after a write."""

    outcome: str
    text: str
    value: Any = None
    target: str | None = None
    slot: int | None = None
    offset: int = 0
    connection: bool = False


HOLD = Reply(HELD, "")


class View:
    """:class:`~simulator.dataplane.routing.NodeView` over a node and its keyspace."""

    __slots__ = ("_dp", "_node")

    def __init__(self, dp: ClusterData, node: Node) -> None:
        self._dp = dp
        self._node = node

    @property
    def name(self) -> str:
        return self._node.name

    @property
    def is_master(self) -> bool:
        return self._node.is_master

    @property
    def master_name(self) -> str | None:
        return self._node.master_name

    @property
    def state(self) -> str:
        return self._node.state

    @property
    def migrating(self) -> Mapping[int, str]:
        return self._node.migrating

    @property
    def importing(self) -> Mapping[int, str]:
        return self._node.importing

    @property
    def config(self) -> ConfigLike:
        return self._node.config

    def slot_owner(self, slot: int) -> str | None:
        return self._node.slot_owner(slot)

    def addr_of(self, name: str) -> str:
        node = self._dp.cluster.nodes.get(name) or self._dp.cluster.removed.get(name)
        return node.addr if node is not None else f"?:{name}"

    def key_exists(self, key: str) -> bool:
        """``lookupKeyReadWithFlags(..., LOOKUP_NOEXPIRE)``: an expired key is missing."""
        data = self._dp.data(self._node)
        if data.expires and expiry.logically_expired(self._dp, self._node, key):
            return False
        return key in data.keys


def route_on(dp: ClusterData, node: Node, request: Request, session: Session) -> Route:
    """``getNodeByQuery`` with ``cluster-enabled yes``; the standalone checks without (§28.1)."""
    view = View(dp, node)
    if node.cluster_enabled:
        return get_node_by_query(view, request, session)
    return standalone_route(view, request)


def execute(
    dp: ClusterData, node: Node, client: str, argv: tuple[str, ...], session: Session
) -> Reply:
    """Process ``argv`` from ``client`` on ``node`` now (the node is running)."""
    try:
        request = parse_command(argv)
    except CommandError as error:
        session.after_command(argv[0] if argv else "")
        return Reply(outcomes.ERROR, str(error))
    route = route_on(dp, node, request, session)
    if not route.served:
        session.after_command(request.name)
        return Reply(
            OUTCOME_OF_ROUTE[route.kind],
            route.error or route.kind,
            target=route.node,
            slot=route.slot,
        )
    if not maxmemory.before_command(dp, node, request.name):
        session.after_command(request.name)
        return Reply(outcomes.OOM, ERR_OOM, slot=route.slot)
    spec = request.spec
    if spec.write and node.is_master:
        needed = node.config.get("min-replicas-to-write")
        if needed and node.config.get("min-replicas-max-lag") and dp.good_replicas(node) < needed:
            session.after_command(request.name)
            return Reply(outcomes.ERROR, ERR_NOREPLICAS, slot=route.slot)
    if (spec.write or request.name in MAY_REPLICATE) and node.writes_paused():
        return HOLD
    session.after_command(request.name)
    woff = session.woff
    reply = _run(dp, node, client, request, route.slot)
    session.woff = node.repl.offset  # processCommand: c->woff after every call()
    maxmemory.after_command(dp, node, request.name, request.argv[1:])
    if reply.outcome == BLOCKED:  # waitCommand: first try without blocking at all
        numreplicas, timeout = reply.value
        count = dp.acked_replicas(node, woff)
        if count >= numreplicas:
            return Reply(outcomes.OK, str(count), count)
        return Reply(BLOCKED, "", (numreplicas, timeout, woff))
    return reply


def _run(dp: ClusterData, node: Node, client: str, request: Request, slot: int | None) -> Reply:
    data = dp.data(node)
    name = request.name
    argv = request.argv
    expiring = bool(data.expires)  # keys with a TTL: look keys up as Redis does (§26.1)
    get = functools.partial(expire_commands.lookup, dp, node) if expiring else data.get
    if expiring:
        expiry.before_sleep(dp, node)  # the event loop's beforeSleep after this command
    if name == "GET":
        value = get(argv[1])
        return Reply(outcomes.OK, "(nil)" if value is None else value, value, slot=slot)
    if name == "MGET":
        values = [get(k) for k in argv[1:]]
        return Reply(
            outcomes.OK, " ".join("(nil)" if v is None else v for v in values), values, slot=slot
        )
    if name == "EXISTS":
        count = sum(1 for k in argv[1:] if (get(k) is not None if expiring else k in data.keys))
        return Reply(outcomes.OK, str(count), count, slot=slot)
    if name in expire_commands.COMMANDS or (name == "SET" and (len(argv) > 3 or expiring)):
        result = (expire_commands.run_set if name == "SET" else expire_commands.run)(dp, node, argv)
        if result.error is not None:
            return Reply(outcomes.ERROR, result.error, slot=slot)
        text = "(nil)" if result.value is None else str(result.value)
        return Reply(outcomes.OK, text, result.value, slot=slot, offset=result.offset)
    if expiring and name in ("MSET", "DEL", "INCR"):
        for key in request.keys:  # lookupKeyWrite / setKey's lookup
            expiry.expire_if_needed(dp, node, key)
    if name in ("SET", "MSET"):
        pairs = list(zip(argv[1::2], argv[2::2], strict=False))
        ops: list[StreamOp] = [(k, v, dp.next_version()) for k, v in pairs]
        if expiring:  # setKey drops a TTL: PERSIST on the stream (§26.1)
            ops += [ExpireOp(k, None) for k, _ in pairs if data.expires.get(k) is not None]
        offset = dp.write(node, ops)
        return Reply(outcomes.OK, "OK", None, slot=slot, offset=offset)
    if name == "DEL":
        doomed = [k for k in dict.fromkeys(argv[1:]) if k in data.keys]
        offset = dp.write(node, [(k, None, dp.next_version()) for k in doomed]) if doomed else 0
        return Reply(outcomes.OK, str(len(doomed)), len(doomed), slot=slot, offset=offset)
    if name == "INCR":
        current = data.get(argv[1])
        try:
            number = int(current or "0") + 1
        except ValueError:
            return Reply(outcomes.ERROR, ERR_NOT_INTEGER, slot=slot)
        offset = dp.write(node, [(argv[1], str(number), dp.next_version())])
        return Reply(outcomes.OK, str(number), number, slot=slot, offset=offset)
    if name in ("PUBLISH", "SPUBLISH"):
        sharded = name == "SPUBLISH"
        registry = data.pubsub
        published = (registry.spublish if sharded else registry.publish)(argv[1], argv[2])
        for push in published.pushes:
            dp.push(node, push)
        node.send_publish(argv[1], argv[2], sharded=sharded)
        dp.emit(
            "publish",
            node.name,
            channel=argv[1],
            message=argv[2],
            sharded=sharded,
            receivers=published.receivers,
        )
        return Reply(outcomes.OK, str(published.receivers), published.receivers, slot=slot)
    if name in SUBSCRIPTION_COMMANDS:
        # PubSubRegistry has one method per command, named after it.
        method = getattr(data.pubsub, name.lower())
        channels = list(argv[1:])
        unsubscribe = name.endswith("UNSUBSCRIBE")
        replies = method(client, (channels or None) if unsubscribe else channels)
        return Reply(
            outcomes.OK, " ".join(f"{k} {c} {n}" for k, c, n in replies), replies, slot=slot
        )
    if name in ("ASKING", "READONLY", "READWRITE"):
        return Reply(outcomes.OK, "OK")
    if name == "WAIT":
        if not node.is_master:
            return Reply(outcomes.ERROR, ERR_WAIT_REPLICA)
        try:
            numreplicas, timeout = int(argv[1]), int(argv[2])
        except ValueError:
            return Reply(outcomes.ERROR, ERR_NOT_INTEGER)
        if numreplicas < 0 or timeout < 0:
            return Reply(outcomes.ERROR, "ERR timeout is negative")
        return Reply(BLOCKED, "", (numreplicas, timeout))
    return Reply(outcomes.ERROR, f"ERR '{name}' is not supported from simulated clients")


def probe(dp: ClusterData, node: Node, key: str) -> str:
    """What ``GET key`` from a fresh connection would get from ``node``: the value,
    ``(nil)`` or the error text. Changes nothing."""
    request = parse_command(("GET", key))
    route = route_on(dp, node, request, Session())
    if not route.served:
        return route.error or route.kind
    value = dp.data(node).get(key)
    return "(nil)" if value is None else value
