"""Keys and memory on a real node, read as rcsim's ``key`` / ``stale_keys`` conditions
and ``maxmemory`` read them (§25, §26).

* ``key {stored, readable}`` (§26.3): ``MEMORY USAGE key`` looks the key up in the
  keyspace without the expiry check (``memoryCommand``, object.c: ``dictFind`` on
  ``db->dict``), so it answers for a key still in memory, expired or not: *stored*.
  ``EXISTS`` after ``READONLY`` goes through ``lookupKeyRead``, which on a replica hides a
  logically expired key (since 3.2) and on a master deletes it: *readable*. Both are
  asked in one pipeline (READONLY, MEMORY USAGE, EXISTS): on a master the MEMORY USAGE
  answers before EXISTS could expire the key.
* ``stale_keys`` (§26.2): keys whose TTL has passed and that are still in memory. The
  clients know every TTL they set (the deadline: when the SET was sent + the TTL, on the
  run's clock; its reply may be read late when the host is loaded), the node counts what it expired (``INFO stats expired_keys``, polled with
  the views): stale = deadlines passed at the poll - keys expired by then. It holds for
  the lessons' workloads, where every key with a TTL is written once (no overwrite resets
  a deadline) and nothing deletes keys but expiry.
* ``maxmemory``: a real cluster node uses far more than rcsim's empty node
  (``CALIBRATION_EMPTY_USED_MEMORY``, measured on a non-cluster server): 1,638,400 bytes
  empty in cluster mode on 7.0.15 (the per-slot key tables), and each client connection
  ~43 kB more. A scenario's ``maxmemory`` is the room rcsim's model gives, so a real node
  gets the same room for keys: its ``maxmemory`` is set to its own ``used_memory`` at the
  run's start (the pollers and the workload clients connected, and on a master the
  replication buffer's first 16 kB block allocated by one SET + DEL of a key of its own)
  plus the scenario's ``maxmemory`` minus rcsim's empty node. Said as a translation in
  docs/fidelity.md. Later blocks (one per 16 kB of replication stream, counted up to
  ``repl-backlog-size``, ``freeMemoryGetNotCountedMemory``) are the real node's own.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from rcsim.verify.resp import Connection, RespError
from rcsim.verify.scenario_api import model
from simulator.config import DIRECTIVES, memtoull
from simulator.slots import key_hash_slot
from simulator.views.memory import converged_start_memory

RCSIM_EMPTY_USED_MEMORY = 963_904
"""simulator/dataplane/memory.py's CALIBRATION_EMPTY_USED_MEMORY (not public API;
tests/test_verify_keystate.py checks they agree)."""


def has_ttls(scenario: model.Scenario) -> bool:
    return any(c.ttl_ms for c in scenario.clients) or any(
        isinstance(s.action, model.Write) and s.action.ttl_ms for s in scenario.steps
    )


def maxmemory_of(config: Mapping[str, Any]) -> int | None:
    """The ``maxmemory`` directive in bytes (None or 0: not set)."""
    value = config.get("maxmemory")
    if value is None:
        return None
    number = memtoull("maxmemory", value) if isinstance(value, str) else int(value)
    return number or None


def needs_stats(scenario: model.Scenario) -> bool:
    """Whether the pollers read ``INFO stats`` (keys with TTLs or maxmemory)."""
    configs = [scenario.cluster.config] + [
        {**scenario.cluster.config, **n.config} for n in scenario.cluster.nodes
    ]
    return has_ttls(scenario) or any(maxmemory_of(c) for c in configs)


def real_maxmemory(
    scenario_bytes: int, counted_memory: int, rcsim_start: int = RCSIM_EMPTY_USED_MEMORY
) -> int:
    """The real node's maxmemory: what its maxmemory counts now plus the room rcsim's
    model gives above its own start (``converged_start_memory``: an empty server, and a
    replication buffer block on a node with a backlog)."""
    return counted_memory + max(0, scenario_bytes - rcsim_start)


def start_memory(config: Mapping[str, Any], has_backlog: bool) -> int:
    """What rcsim's node counts toward maxmemory before any write (§25.1)."""
    value = config.get("repl-backlog-size", DIRECTIVES["repl-backlog-size"].default)
    backlog = memtoull("repl-backlog-size", value) if isinstance(value, str) else int(value)
    return converged_start_memory(backlog, has_backlog)


def has_backlog(spec: model.NodeSpec, specs: Sequence[model.NodeSpec]) -> bool:
    """A replica, or a master with a replica, has a replication backlog after the sync."""
    return spec.replica_of is not None or any(n.replica_of == spec.name for n in specs)


def used_memory(connection: Connection) -> int:
    """``used_memory`` less ``mem_not_counted_for_evict``: what maxmemory counts."""
    fields = {}
    for line in str(connection.call("INFO", "memory")).splitlines():
        name, _, value = line.partition(":")
        if name in ("used_memory", "mem_not_counted_for_evict"):
            fields[name] = int(value)
    if "used_memory" not in fields:
        raise ValueError("INFO memory has no used_memory line")
    return fields["used_memory"] - fields.get("mem_not_counted_for_evict", 0)


def probe(connection: Connection, key: str) -> tuple[bool, bool]:
    """(stored, readable) of ``key`` on the node behind ``connection`` (see the doc)."""
    _, usage, exists = connection.pipeline(
        [("READONLY",), ("MEMORY", "USAGE", key), ("EXISTS", key)]
    )
    for reply in (usage, exists):
        if isinstance(reply, RespError):
            raise reply
    return usage is not None, bool(exists)


def key_in(slots: Sequence[int]) -> str:
    """A key of one of ``slots`` (the first ``rcsim-verify:N`` that hashes there)."""
    wanted = set(slots)
    for n in range(1_000_000):
        key = f"rcsim-verify:{n}"
        if key_hash_slot(key) in wanted:
            return key
    raise ValueError("no key found for these slots")


def stale(deadlines: Sequence[float], t: float, expired: int) -> int:
    """Keys whose deadline passed by ``t`` (``deadlines`` sorted) less those expired."""
    return max(0, bisect.bisect_right(deadlines, t) - expired)
