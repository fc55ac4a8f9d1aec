"""A reshard of named slots, by the commands ``redis-cli --cluster reshard`` sends per slot.

``redis-cli`` only moves a count of slots (the source's first ones), so a scenario that
names its slots is played with redis-cli's own per-slot procedure
(``clusterManagerMoveSlot``, redis-cli.c 7.0, §16.4): ``CLUSTER SETSLOT s IMPORTING src``
on the target, ``SETSLOT s MIGRATING dst`` on the source, then ``CLUSTER GETKEYSINSLOT s
pipeline`` + ``MIGRATE host port "" 0 60000 KEYS ...`` until the slot is empty, then
``SETSLOT s NODE dst`` on every master. The first error stops the job, leaving the slot
open, as redis-cli does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rcsim.verify.resp import Connection, RespError

MIGRATE_TIMEOUT_MS = 60_000  # CLUSTER_MANAGER_MIGRATE_TIMEOUT


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    node_id: str


Call = Callable[..., object]
"""``call(endpoint, *args)``: one command to one node, its reply (errors raised)."""


def call(endpoint: Endpoint, *args: str | int) -> object:
    connection = Connection(endpoint.host, endpoint.port, MIGRATE_TIMEOUT_MS / 1000 + 10)
    try:
        return connection.call(*args)
    finally:
        connection.close()


def move_slot(
    _call: Call,
    source: Endpoint,
    target: Endpoint,
    masters: Sequence[Endpoint],
    slot: int,
    pipeline: int,
) -> int:
    """Move one slot; the number of keys moved. Raises :class:`RespError` or ``OSError``."""
    _call(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
    _call(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
    moved = 0
    while True:
        keys = _call(source, "CLUSTER", "GETKEYSINSLOT", slot, pipeline)
        if not isinstance(keys, list) or not keys:
            break
        _call(
            source,
            "MIGRATE",
            target.host,
            target.port,
            "",
            0,
            MIGRATE_TIMEOUT_MS,
            "KEYS",
            *[str(k) for k in keys],
        )
        moved += len(keys)
    for master in masters:
        _call(master, "CLUSTER", "SETSLOT", slot, "NODE", target.node_id)
    return moved


def move_slots(
    source: Endpoint,
    target: Endpoint,
    masters: Sequence[Endpoint],
    slots: Sequence[int],
    pipeline: int,
    _call: Call = call,
) -> str | None:
    """Move every slot in order; None when all moved, else the error that stopped the job."""
    for slot in slots:
        try:
            move_slot(_call, source, target, masters, slot, pipeline)
        except (RespError, OSError, ConnectionError) as error:
            return f"slot {slot}: {error}"
    return None
