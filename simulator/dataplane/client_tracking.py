"""Client-side caching on the request path: tracking connections, invalidation
messages over the network, and reads served from a client's local cache (§27).

Only a client with a ``local_cache`` ever reaches this module, so a run without one
emits none of its trace kinds (``local_read``, ``invalidation``, ``tracking_lost``,
``cache_flush``).

* A tracking client turns ``CLIENT TRACKING ON`` (``BCAST PREFIX ...`` in BCAST mode)
  on every new connection, pipelined before its first command there; a BCAST client
  opens one to every master of its slot map when it starts (it must, to hear their
  writes).
* Before the node runs a tracking client's command it enforces
  ``tracking-table-max-keys`` (``trackingLimitUsedSlots`` in ``processCommand``); after
  a read it remembers the keys (``trackingRememberKeys``); after the command the node
  sends the BCAST batch (``beforeSleep``). ``serverCron`` (``hz`` times a second) enforces the
  limit again while the table is over it.
* An invalidation travels node -> client with the network's delay and is lost if the
  client is cut off from the node (the connection's later fate is not modelled).
* A node's death closes its tracking connections: the client hears it with the
  network's delay (the kernel's RST/FIN, real-redis README) and, with
  ``flush_on: [disconnect]``, drops what that connection vouched for.
* A ``GET`` of a key in the local cache is answered at once, with no request; it is a
  **stale local read** when the value differs from what the key's owning master holds
  at that moment (:meth:`~simulator.dataplane.model.ClusterData.current_value`); while
  no live master owns the slot (a failover in progress) there is nothing to compare
  with and the read is not counted stale.
"""

from __future__ import annotations

from typing import Any, Protocol

from simulator.dataplane import outcomes
from simulator.dataplane.keyspace import slot_of
from simulator.dataplane.local_cache import LocalCache
from simulator.dataplane.model import ClusterData
from simulator.dataplane.tracking import BCAST, DEFAULT, TrackingTable
from simulator.node import RUNNING, Node

CACHED_READS = frozenset({"GET"})
"""Commands a local cache answers (one key); MGET and EXISTS always go to the server."""


class CachingClient(Protocol):
    """What this module needs of a client (:class:`simulator.dataplane.clients.Client`)."""

    name: str
    cache: LocalCache | None
    slot_map: list[str | None]

    def finish_local(self, op: Any, value: str | None) -> None: ...


class Outbox:
    """A node's :class:`~simulator.dataplane.tracking.TrackingTable` sends through this:
    over the network to the client (a plain object: a rewind deep-copies it)."""

    __slots__ = ("dp", "node")

    def __init__(self, dp: ClusterData[Any, Any], node: str) -> None:
        self.dp = dp
        self.node = node

    def __call__(self, client: str, keys: tuple[str, ...] | None, why: str) -> None:
        dp = self.dp
        network = dp.cluster.network
        if not network.reachable(self.node, client):
            return  # a real client (the RESP front) is no network endpoint: reachable
        delay = network.delay(self.node, client, dp.now)
        if delay is None:
            return
        dp.cluster.engine.schedule(delay, _invalidated, dp, self.node, client, keys, why)

    def wake(self) -> None:
        self.dp.cluster.engine.schedule(0, _broadcast, self.dp, self.node)

    def closed(self, client: str) -> None:
        """The connection closed under the client (RST/FIN from the kernel)."""
        dp = self.dp
        network = dp.cluster.network
        if client not in dp.clients or not network.reachable(self.node, client):
            return
        delay = network.delay(self.node, client, dp.now)
        if delay is not None:
            dp.cluster.engine.schedule(delay, connection_lost, dp, self.node, client, "closed")


def table(dp: ClusterData[Any, Any], node: Node) -> TrackingTable:
    """The node's tracking table (created on first use)."""
    data = dp.data(node)
    if data.tracking is None:
        data.tracking = TrackingTable(Outbox(dp, node.name))
    return data.tracking


def _invalidated(
    dp: ClusterData[Any, Any], node: str, client_name: str, keys: tuple[str, ...] | None, why: str
) -> None:
    client = dp.clients.get(client_name)
    cache = getattr(client, "cache", None)
    dropped = cache.invalidate(node, keys) if isinstance(cache, LocalCache) else 0
    dp.emit(  # the RESP front pushes it to a real client
        "invalidation",
        node,
        client_name,
        keys=None if keys is None else list(keys),
        why=why,
        dropped=dropped,
    )


def connection_lost(dp: ClusterData[Any, Any], node: str, client_name: str, how: str) -> None:
    """The client learned its tracking connection to ``node`` is gone (closed, or a
    request refused); once per connection."""
    client = dp.clients.get(client_name)
    cache = getattr(client, "cache", None)
    if not isinstance(cache, LocalCache) or cache.connections.pop(node, 0) == 0:
        return
    vouched = sum(1 for _, n in cache.entries.values() if n == node)
    dp.emit("tracking_lost", node, client_name, how=how, cached=vouched)
    if cache.flushes_on("disconnect") and vouched:
        flush(dp, client_name, cache, cache.drop_node(node), "disconnect", node)


def flush(
    dp: ClusterData[Any, Any],
    client: str,
    cache: LocalCache,
    dropped: int,
    reason: str,
    node: str | None = None,
    slot: int | None = None,
) -> None:
    cache.flushes += 1
    dp.emit("cache_flush", node, client=client, reason=reason, dropped=dropped, slot=slot)


# ---------------------------------------------------------------------- client side


def start(dp: ClusterData[Any, Any], client: CachingClient) -> None:
    """A BCAST client opens a tracking connection to every master it knows."""
    cache = client.cache
    if cache is None or not cache.options.bcast:
        return
    for name in sorted({n for n in client.slot_map if n is not None}):
        node = dp.cluster.nodes.get(name)
        if node is not None and node.status == RUNNING:
            enable(dp, node, client.name, cache)


def serve_local(dp: ClusterData[Any, Any], client: CachingClient, op: Any) -> bool:
    """Answer a ``GET`` from the local cache if it holds the key (a local hit)."""
    cache = client.cache
    if cache is None or op.command not in CACHED_READS or op.key is None:
        return False
    entry = cache.get(op.key)
    if entry is None:
        cache.misses += 1
        return False
    value, node = entry
    cache.hits += 1
    owned = dp.cluster.truth_owner(slot_of(op.key)) is not None  # no live owner: no truth
    stale = owned and value != dp.current_value(op.key)
    if stale:
        cache.stale += 1
    dp.emit("local_read", node, client=client.name, key=op.key, value=value, stale=stale)
    client.finish_local(op, value)
    return True


def on_reply(dp: ClusterData[Any, Any], client: CachingClient, op: Any, reply: Any) -> None:
    """Keep a read's value; drop the client's own writes; react to MOVED and refusals."""
    cache = client.cache
    if cache is None:
        return
    if reply.outcome == outcomes.OK:
        if op.command in CACHED_READS and op.key is not None:
            node = dp.cluster.nodes.get(op.node)
            if node is not None and table(dp, node).tracking(client.name):
                cache.store(op.key, reply.value, op.node)
        else:
            for key, _ in op.values:
                cache.drop(key)
    elif reply.outcome == outcomes.MOVED and reply.slot is not None:
        moved(dp, client, reply.slot)
    elif reply.connection:
        connection_lost(dp, op.node, client.name, "refused")


def moved(dp: ClusterData[Any, Any], client: CachingClient, slot: int) -> None:
    """The client learned ``slot`` has a new owner."""
    cache = client.cache
    if cache is None or not cache.flushes_on("moved"):
        return
    if any(slot_of(k) == slot for k in cache.entries):
        flush(dp, client.name, cache, cache.drop_slot(slot), "moved", slot=slot)


def map_changed(dp: ClusterData[Any, Any], client: CachingClient, before: list[str | None]) -> None:
    """A refreshed slot map: every slot whose owner changed is a move."""
    cache = client.cache
    if cache is None or not cache.flushes_on("moved") or not cache.entries:
        return
    after = client.slot_map
    for slot in sorted({slot_of(k) for k in cache.entries}):
        if before[slot] != after[slot]:
            moved(dp, client, slot)


# ---------------------------------------------------------------------- server side


def enable(dp: ClusterData[Any, Any], node: Node, client: str, cache: LocalCache) -> None:
    """``CLIENT TRACKING ON`` on a new connection (the client knows it has one now)."""
    options = cache.options
    table(dp, node).enable(client, BCAST if options.bcast else DEFAULT, options.prefixes)
    cache.connections[node.name] = cache.connections.get(node.name, 0) + 1


def before_command(dp: ClusterData[Any, Any], node: Node, client: str, cache: LocalCache) -> None:
    """A new connection turns tracking on first; then ``trackingLimitUsedSlots``."""
    tracking = table(dp, node)
    if not tracking.tracking(client):
        enable(dp, node, client, cache)
    _limit(dp, node, tracking)


def after_command(
    dp: ClusterData[Any, Any], node: Node, client: str, command: str, keys: tuple[str, ...]
) -> None:
    """``call()``: remember a read's keys; ``beforeSleep``: send the BCAST batch."""
    tracking = dp.data(node).tracking
    if tracking is None:
        return
    if command in CACHED_READS or command in ("MGET", "EXISTS"):
        tracking.remember(client, keys)
    tracking.broadcast()
    if _over(node, tracking):
        _schedule_cron(dp, node)


def _broadcast(dp: ClusterData[Any, Any], name: str) -> None:
    """``beforeSleep`` after writes that did not come from a tracking client's command
    (another client's, the replication stream's, an expiry's)."""
    node = dp.cluster.nodes.get(name)
    tracking = None if node is None else dp.data(node).tracking
    if tracking is not None and tracking.pending:
        tracking.broadcast()


def _over(node: Node, tracking: TrackingTable) -> bool:
    max_keys = int(node.config.get("tracking-table-max-keys"))
    return max_keys > 0 and len(tracking.keys) > max_keys


def _limit(dp: ClusterData[Any, Any], node: Node, tracking: TrackingTable) -> None:
    max_keys = int(node.config.get("tracking-table-max-keys"))
    if max_keys and len(tracking.keys) > max_keys:
        tracking.limit(max_keys, dp.cluster.engine.rng(f"tracking:{node.name}"))


def _schedule_cron(dp: ClusterData[Any, Any], node: Node) -> None:
    period = max(1, 1000 // int(node.config.get("hz")))  # serverCron, hz times a second
    due = (dp.now // period + 1) * period
    dp.cluster.engine.schedule_at(due, _cron, dp, node.name, dp.data(node).generation)


def _cron(dp: ClusterData[Any, Any], name: str, generation: int) -> None:
    """``serverCron``'s ``trackingLimitUsedSlots`` while the table is over the limit."""
    node = dp.cluster.nodes.get(name)
    if node is None or node.status != RUNNING or dp.data(node).generation != generation:
        return
    tracking = dp.data(node).tracking
    if tracking is None:
        return
    _limit(dp, node, tracking)
    if _over(node, tracking):
        _schedule_cron(dp, node)
