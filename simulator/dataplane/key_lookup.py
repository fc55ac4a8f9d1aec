"""Where a key lives, as the TUI's key inspector and the tests ask it: slot and hash tag
(§3), the true owner, every node's belief, the reply a fresh client would get from each
live node, and the TTLs it holds (§26). Read-only: nothing here changes the model."""

from __future__ import annotations

from typing import Any, Protocol

from simulator.dataplane import expiry
from simulator.node import RUNNING
from simulator.slots import hashed_part, key_hash_slot


class Plane(expiry.Plane, Protocol):
    """What this module uses of :class:`~simulator.dataplane.model.ClusterData`."""

    def request_path(self) -> Any: ...

    def current_value(self, key: str) -> str | None: ...


def key_lookup(dp: Plane, key: str) -> dict[str, Any]:
    """The inspector's record of ``key`` (see the module's docstring)."""
    probe = dp.request_path().probe
    slot = key_hash_slot(key)
    part, tagged = hashed_part(key)
    nodes = dp.cluster.nodes.values()
    return {
        "key": key,
        "slot": slot,
        "tag": part.decode("utf-8", "replace") if tagged else None,
        "owner": dp.cluster.truth_owner(slot),
        "beliefs": {n.name: n.slot_owner(slot) for n in nodes if n.alive},
        "value": dp.current_value(key),
        "replies": {n.name: probe(dp, n, key) for n in nodes if n.status == RUNNING},
        "ttls": expiry.ttls(dp, key),  # ms left per node holding it with a TTL
    }
