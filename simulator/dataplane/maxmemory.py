"""``maxmemory`` on a node of the data plane: the glue between the command path and
:mod:`~simulator.dataplane.eviction` (§25).

A node gets its :class:`~simulator.dataplane.eviction.Eviction` when it first runs a
command with ``maxmemory`` set (the keys it already holds start with fresh LRU/LFU
fields). Before each command, ``processCommand`` runs ``performEvictions``: a master
deletes each evicted key through :meth:`ClusterData.write`, so the deletion goes down
the replication stream as a ``DEL`` (``propagateDeletion``) and the replicas, which
ignore ``maxmemory`` by default (``replica-ignore-maxmemory yes``), delete it when the
stream arrives. Each eviction is a ``key_evicted`` trace event; nodes without
``maxmemory`` emit none and pay nothing.
"""

from __future__ import annotations

from typing import Any

from simulator.dataplane.eviction import DENYOOM, TOUCHING_READS, Eviction
from simulator.dataplane.model import ClusterData
from simulator.node import Node

EVICTED_BY = "(evicted)"
"""The ledger's client name for an eviction: a key a client wrote and the master
evicted is deleted, not lost (§20.2 counts only writes that vanish)."""


def state(dp: ClusterData[Any, Any], node: Node) -> Eviction | None:
    """The node's eviction state, created once ``maxmemory`` is set."""
    data = dp.data(node)
    eviction = data.eviction
    if eviction is None and node.config.get("maxmemory"):
        engine = dp.cluster.engine
        eviction = Eviction(node.config, engine, engine.rng(f"eviction:{node.name}"), node.repl)
        eviction.load(data.keys)
        for key, when in data.expires.at.items():  # the TTLs set before maxmemory was
            eviction.note_expire(key, when)
        data.expires.listener = eviction.note_expire
        data.eviction = eviction
    return eviction


def before_command(dp: ClusterData[Any, Any], node: Node, name: str) -> bool:
    """``performEvictions`` before a command; False refuses a ``denyoom`` command with
    ``-OOM`` (:data:`~simulator.dataplane.eviction.ERR_OOM`)."""
    eviction = state(dp, node)
    if eviction is None:
        return True
    replica = not node.is_master

    def delete(key: str) -> None:
        if replica:
            dp.apply_local(node, [(key, None, dp.next_version())])
        else:
            dp.write(node, [(key, None, dp.next_version())])
            if dp.ledger.latest(key) is not None:
                dp.ledger.record(key, None, dp.now, node.name, EVICTED_BY)
        dp.emit(
            "key_evicted",
            node.name,
            key=key,
            policy=eviction.policy,
            used_memory=eviction.counted_memory,
            maxmemory=int(node.config.get("maxmemory")),
        )

    return eviction.perform(delete, replica=replica) or name not in DENYOOM


def after_command(dp: ClusterData[Any, Any], node: Node, name: str, keys: tuple[str, ...]) -> None:
    """``lookupKey`` of a read: update the LRU clock or the LFU counter of its keys."""
    eviction = dp.data(node).eviction
    if eviction is not None and name in TOUCHING_READS:
        for key in keys:
            eviction.touch(key)
