"""Keys that expire, on a node (§26): lazy expiry, the expire cron, deletion and its
keyspace notifications. The expires table and the cycle itself are in
:mod:`simulator.dataplane.expires`.

* **Lazy** (``expireIfNeeded``, db.c 7.0.15): a command that reads a key past its
  deadline gets nothing; a master deletes the key then (a ``DEL`` on the replication
  stream and an ``expired`` notification), a replica keeps it until the master's ``DEL``
  arrives (§26.3), and a master under a client pause does not delete (§12).
* **Active** (``databasesCron`` → ``activeExpireCycle(SLOW)``, ``hz`` times a second,
  and ``beforeSleep`` → ``activeExpireCycle(FAST)``): only on a master (``iAmMaster``);
  the ``DEL``\\ s of a cycle are propagated together at its end
  (``propagatePendingCommands``). The cron ticks on every node that holds keys with a
  TTL, so a replica promoted by a failover starts expiring at its next tick.
* **Notifications** (``notifyKeyspaceEvent``, notify.c): published on the node's own
  pub/sub only, never on the cluster bus (§26.4).

Simplified: a cycle's modelled running time does not delay other events on the node;
the cron's phase is drawn per node from the seeded stream ``expire-cron:<node>``;
``beforeSleep`` runs right after each cron tick and after each command the node serves.

The trace events (``key_expired``, ``expire_cycle``, ``keyspace_event``) only exist when
keys have TTLs.
"""

from __future__ import annotations

from typing import Any, Protocol

from simulator.dataplane.expires import FAST, SLOW, active_expire_cycle
from simulator.dataplane.pubsub import Push
from simulator.keyspace_events import EXPIRED, channels, parse_flags
from simulator.node import RUNNING, Node
from simulator.replication import UNIX_BASE_MS, ExpireOp


class Plane(Protocol):
    """What this module uses of :class:`~simulator.dataplane.model.ClusterData`."""

    cluster: Any
    ledger: Any

    @property
    def now(self) -> int: ...

    def data(self, node: Node) -> Any: ...

    def write(self, node: Node, ops: list[Any]) -> int: ...

    def next_version(self) -> int: ...

    def emit(
        self, kind: str, node: str | None = None, target: str | None = None, **f: Any
    ) -> None: ...

    def push(self, node: Node, push: Push) -> None: ...


def unix_ms(dp: Plane) -> int:
    """``mstime()`` at the simulated now (deadlines are absolute unix ms, as in Redis)."""
    return UNIX_BASE_MS + dp.now


def ttl_ms(dp: Plane, node: Node, key: str) -> int | None:
    """Milliseconds left on ``key``'s TTL on ``node`` (None: no TTL), for views."""
    when = dp.data(node).expires.get(key)
    return None if when is None else when - unix_ms(dp)


def ttls(dp: Plane, key: str) -> dict[str, int]:
    """Per node that stores ``key`` with a TTL, the ms left (negative: expired, not yet
    deleted there), for the key view."""
    now = unix_ms(dp)
    out = {}
    for node in dp.cluster.nodes.values():
        data = node.data
        when = data.expires.get(key) if data is not None and data.expires else None
        if when is not None:
            out[node.name] = when - now
    return out


def keyspace_counts(dp: Plane, node: Node) -> tuple[int, int, int]:
    """(keys, keys with a TTL, keys whose TTL passed still stored) on ``node``."""
    data = dp.data(node)
    table = data.expires
    if not table:
        return len(data.keys), 0, 0
    now = unix_ms(dp)
    return len(data.keys), len(table), sum(1 for when in table.at.values() if now > when)


def logically_expired(dp: Plane, node: Node, key: str) -> bool:
    """``keyIsExpired``: the key has a deadline and ``now > when``."""
    table = dp.data(node).expires
    if not table:
        return False
    when = table.get(key)
    return when is not None and unix_ms(dp) > when


def live_value(dp: Plane, node: Node, key: str) -> str | None:
    """The key's value as a reader sees it on ``node`` (None once logically expired)."""
    data = dp.data(node)
    if data.expires and logically_expired(dp, node, key):
        return None
    value: str | None = data.get(key)
    return value


def apply_op(dp: Plane, node: Node, op: ExpireOp) -> None:
    """``PEXPIREAT`` / ``PERSIST`` from a master (or this master's own, applied)."""
    data = dp.data(node)
    if op.at_ms is None:
        data.expires.discard(op.key)
    elif op.key in data.keys:
        data.expires.set(op.key, op.at_ms)
        ensure_cron(dp, node)


def expire_if_needed(dp: Plane, node: Node, key: str) -> bool:
    """``expireIfNeeded`` (db.c 7.0.15): True when ``key`` is logically expired (the
    caller then treats it as missing). Only a master that is not paused deletes."""
    if not logically_expired(dp, node, key):
        return False
    if not node.is_master:
        return True  # §26.3: the replica waits for the master's DEL
    if node.writes_paused():
        return True  # checkClientPauseTimeoutAndReturnIfPaused
    delete_expired(dp, node, [key], "lazy")
    return True


def delete_expired(dp: Plane, node: Node, keys: list[str], how: str) -> None:
    """``deleteExpiredKeyAndPropagate`` for ``keys``: delete, one ``DEL`` each on the
    replication stream, an ``expired`` notification each (§26.1, §26.4)."""
    if not keys:
        return
    dp.write(node, [(key, None, dp.next_version()) for key in keys])
    now = dp.now
    for key in keys:
        _ledger_delete(dp, node, key, now)
        dp.emit("key_expired", node.name, key=key, how=how)
        notify(dp, node, EXPIRED, "expired", key)


def _ledger_delete(dp: Plane, node: Node, key: str, now: int) -> None:
    """An expiry is a deletion the server did: for a key clients wrote, the ledger
    records it so the vanished value is not counted as a lost write (§20.2)."""
    latest = dp.ledger.latest(key)
    if latest is not None:
        dp.ledger.record(key, None, max(now, latest.ack_time), node.name, "expire")


def notify(dp: Plane, node: Node, cls: str, event: str, key: str) -> None:
    """``notifyKeyspaceEvent``: publish on this node's channels only (§26.4)."""
    flags = node.config.get("notify-keyspace-events")
    if not flags:
        return
    registry = dp.data(node).pubsub
    for channel, message in channels(parse_flags(flags), cls, event, key):
        published = registry.publish(channel, message)
        for push in published.pushes:
            dp.push(node, push)
        dp.emit(
            "keyspace_event",
            node.name,
            channel=channel,
            message=message,
            receivers=published.receivers,
        )


# ---------------------------------------------------------------------- the cron


def ensure_cron(dp: Plane, node: Node) -> None:
    """Start ``node``'s expire cron if it holds TTLs and its process has none ticking."""
    data = dp.data(node)
    table = data.expires
    if not table or table.cron == data.generation:
        return
    table.cron = data.generation
    period = 1000 // node.config.get("hz")
    phase = dp.cluster.engine.rng(f"expire-cron:{node.name}").randrange(period)
    dp.cluster.engine.schedule(phase + 1, _cron, dp, node.name, data.generation)


def _cron(dp: Plane, name: str, generation: int) -> None:
    """``databasesCron``'s expiry: the slow cycle on a master, then the table resize;
    stops when no key has a TTL left (restarted by :func:`ensure_cron`)."""
    node = dp.cluster.nodes.get(name)
    if node is None:
        return
    data = dp.data(node)
    table = data.expires
    if data.generation != generation or table.cron != generation:
        return
    if not table:
        table.cron = -1
        return
    dp.cluster.engine.schedule(1000 // node.config.get("hz"), _cron, dp, name, generation)
    if node.status != RUNNING:
        return
    if node.is_master:
        run_cycle(dp, node, SLOW)
        before_sleep(dp, node)
    table.resize_if_needed()


def before_sleep(dp: Plane, node: Node) -> None:
    """``beforeSleep``'s fast cycle (a master with TTLs that is not paused)."""
    table = dp.data(node).expires
    if table and node.is_master and node.status == RUNNING:
        run_cycle(dp, node, FAST)


def run_cycle(dp: Plane, node: Node, kind: str) -> None:
    """One ``activeExpireCycle``: delete what it expired, trace the cycle."""
    if node.writes_paused():
        return  # checkClientPauseTimeoutAndReturnIfPaused
    table = dp.data(node).expires
    result = active_expire_cycle(
        table,
        unix_ms(dp),
        kind,
        hz=node.config.get("hz"),
        effort=node.config.get("active-expire-effort"),
    )
    if not result.ran:
        return
    delete_expired(dp, node, result.expired, "active")
    if result.expired or result.timelimit_exit:
        dp.emit(
            "expire_cycle",
            node.name,
            cycle=kind,
            sampled=result.sampled,
            expired=len(result.expired),
            time_us=round(result.elapsed_us),
            timelimit=result.timelimit_exit,
        )
