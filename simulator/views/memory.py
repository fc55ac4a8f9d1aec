"""A node's memory as INFO memory / INFO stats would show it (§25): for the node view."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.cluster import INITIAL_REPL_OFFSET
from simulator.dataplane.eviction import Eviction
from simulator.dataplane.memory import (
    CALIBRATION_EMPTY_USED_MEMORY,
    not_counted_repl_buffer,
    used_memory_of,
)
from simulator.node import Node
from simulator.replication import repl_buffer_mem


@dataclass(frozen=True, slots=True)
class MemoryRow:
    """``used_memory`` (the model's), ``maxmemory``, the policy and ``evicted_keys``."""

    used: int
    maxmemory: int
    policy: str
    evicted: int

    @property
    def share(self) -> float:
        """used / maxmemory (0 without a limit)."""
        return self.used / self.maxmemory if self.maxmemory else 0.0


def memory_row(node: Node) -> MemoryRow | None:
    """The node's memory, or None when ``maxmemory`` is not set and it never evicted (so
    views of clusters without maxmemory are as before)."""
    maxmemory = int(node.config.get("maxmemory"))
    eviction = getattr(node.data, "eviction", None)
    if not maxmemory and eviction is None:
        return None
    policy = str(node.config.get("maxmemory-policy"))
    if isinstance(eviction, Eviction):
        return MemoryRow(eviction.used_memory, maxmemory, policy, eviction.evicted)
    keys = getattr(node.data, "keys", None)
    used = used_memory_of(keys) if isinstance(keys, dict) else 0
    return MemoryRow(used, maxmemory, policy, 0)


def converged_start_memory(backlog_size: int, has_backlog: bool) -> int:
    """What ``maxmemory`` counts on a node of a converged cluster before any write: an
    empty server and, on a node with a replication backlog (a master with replicas, a
    replica), the block holding the stream since the initial sync (§25.1). ``rcsim
    verify`` gives a real node the same room above its own count."""
    if not has_backlog:
        return CALIBRATION_EMPTY_USED_MEMORY
    buffer = repl_buffer_mem(INITIAL_REPL_OFFSET, backlog_size)
    return CALIBRATION_EMPTY_USED_MEMORY + buffer - not_counted_repl_buffer(buffer, backlog_size)
