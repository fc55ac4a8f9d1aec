"""The narrow world a node sees: :class:`NodeHost`.

As TigerBeetle's replica sees only its message bus, a :class:`~simulator.node.Node`
sees only this protocol: the clock, the trace, the wire (its bus links), the
directory of node names, the replication link and the data-plane hooks. The
:class:`~simulator.cluster.Cluster` implements it; a node never reaches another
node's state through it, only names, ids and delivery.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from simulator.bus_stats import BusStats
from simulator.links import Link
from simulator.messages import Message


class Clock(Protocol):
    """The engine as a node uses it: the time and its own timers."""

    @property
    def now(self) -> int: ...

    def rng(self, name: str) -> random.Random: ...

    def schedule_at(self, time_ms: float, callback: Any, *args: Any) -> Any: ...

    def cancel(self, timer: Any) -> None: ...


class TraceSink(Protocol):
    """Where a node reports what happened to it."""

    def emit(
        self, t: int, kind: str, node: str | None = None, target: str | None = None, **fields: Any
    ) -> Any: ...


class NodeHost(Protocol):
    """Everything a node may ask of the world around it.

    Hooks that take a node take it as ``Any`` so this module needs no import of the
    node class (the package has no cycle); the host receives the calling node.
    """

    # Read-only here (a property is covariant): the cluster holds an Engine and a Trace.
    @property
    def engine(self) -> Clock: ...
    @property
    def trace(self) -> TraceSink: ...

    names: list[str]  # global node index -> name
    index: dict[str, int]  # name -> global node index
    zobrist: list[int]  # one random key per slot, for claim fingerprints
    slot_index_cache: dict[bytes, tuple[dict[int, int], dict[int, int], dict[int, int]]]
    bus_stats: BusStats  # what each node sends on the bus, by type (counted by BusOutput)
    gossip_rule: str | None  # None: 7.0's gossip; else an older rule (node/gossip_rules.py)
    unix_origin_ms: int  # the unix clock's milliseconds at t=0: gossip times are seconds (§6.3)

    # the wire: bus links are TCP connections (simulator.links)
    def connect(self, src: str, dst: str) -> Link:
        """``connConnect``, non-blocking: my outbound bus link to ``dst``, connecting."""
        ...

    def preconnect(self, src: str, dst: str) -> Link:
        """A bus link already established at the start (the converged cluster)."""
        ...

    # the directory
    def knows(self, name: str) -> bool:
        """Whether a node called ``name`` exists (gossip may name removed nodes)."""
        ...

    def node_id(self, name: str) -> str:
        """The node ID of ``name`` (KeyError when no such node exists)."""
        ...

    def blacklist(self, node: Any, other: str) -> None: ...

    def is_blacklisted(self, node: Any, other: str) -> bool: ...

    # the replication link (replication.c)
    def replication_connect(self, replica: Any) -> None: ...

    def replication_cron(self, master: Any) -> None: ...

    def replication_set_master(self, replica: Any, master: str) -> None: ...

    def replication_unset_master(self, node: Any, old_master: str) -> None: ...

    # the data plane
    def on_slot_owner_changed(self, node: Any, slot: int, previous: int, owner: int) -> None: ...

    def count_keys_in_slot(self, node: Any, slot: int) -> int: ...

    def count_keys(self, node: Any) -> int: ...

    def delete_keys_in_slots(self, node: Any, slots: list[int]) -> None: ...

    def on_publish_message(self, node: Any, message: Message) -> None: ...

    def on_writes_unpaused(self, node: Any) -> None:
        """``unpauseClients``: the writes a manual failover's pause postponed run again."""
        ...

    def on_event_loop_pass(self, node: Any) -> None:
        """``beforeSleep`` after a pass that read a packet or ran the cron, while
        ``node.pass_watch`` is set: blocked clients whose timeout passed are answered."""
        ...
