"""The write ledger: every write acknowledged to a client, and which of them were lost.

Definition (Jepsen-style, behaviour reference §20.2): for one key, the acknowledged
writes are ordered by acknowledgement (ack time, then the order they were recorded;
``version`` is that position, 1-based, per key). A write ``w`` is **lost** exactly
when the value the key's current owner holds is neither ``w``'s value nor the value of
any write of the same key acknowledged after ``w``. So an overwritten write is not
lost while a later acknowledged write is visible; once the key holds something no
acknowledged write at or after ``w`` produced (an older value, nothing, or a write that
was never acknowledged), ``w`` is lost.

Values should be unique per write (clients write e.g. ``"c1:17"``); with repeated
values the rule still applies literally (any later-or-equal write with that value).
A deletion is a write whose value is ``None``; an absent key reads as ``None``.
Writes that were applied but never acknowledged are not in the ledger (a visible
unacknowledged value therefore makes the earlier acknowledged writes count as lost).

That rule reads the present only: a write lost at a failover and later overwritten by a
newer acknowledged write would stop counting. So a loss, once seen, is kept: the data
plane calls :meth:`WriteLedger.sweep` at the moments data is lost for good (a replica
promoted without some writes, a node restarting from what persistence kept) and on
every count, and :meth:`WriteLedger.gone` keeps each loss with its moment, the node that
served the key then and why. A write is **at risk** while it is the value a reader sees
and no replica of the serving master holds it yet: a failover now would lose it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AckedWrite:
    """One acknowledged write."""

    key: str
    value: str | None
    version: int
    ack_time: int
    node: str
    client: str


@dataclass(frozen=True, slots=True)
class LostWrite:
    """An acknowledged write found lost: when, who served its key then, and why."""

    write: AckedWrite
    lost_at: int
    owner: str | None
    reason: str


class WriteLedger:
    """Records acknowledged writes and answers :meth:`lost_writes`."""

    def __init__(self) -> None:
        self._by_key: dict[str, list[AckedWrite]] = {}
        self._count = 0
        self._gone: dict[tuple[str, int], LostWrite] = {}  # (key, version) -> the loss

    def __len__(self) -> int:
        return self._count

    def record(
        self, key: str, value: str | None, ack_time: int, node: str, client: str
    ) -> AckedWrite:
        """Record a write acknowledged at ``ack_time`` by ``node`` to ``client``.

        Acks of one key must be recorded in non-decreasing ``ack_time`` (the simulator
        records them as the replies arrive); equal times keep the recording order.
        """
        writes = self._by_key.setdefault(key, [])
        if writes and ack_time < writes[-1].ack_time:
            raise ValueError(
                f"ack of {key!r} at {ack_time} ms is earlier than the previous one "
                f"({writes[-1].ack_time} ms); record acks in time order"
            )
        write = AckedWrite(key, value, len(writes) + 1, ack_time, node, client)
        writes.append(write)
        self._count += 1
        return write

    def written_keys(self) -> list[str]:
        """Every key with at least one acknowledged write, sorted."""
        return sorted(self._by_key)

    def writes(self, key: str | None = None) -> list[AckedWrite]:
        """All writes of ``key`` (or of every key, by key then version)."""
        if key is not None:
            return list(self._by_key.get(key, []))
        return [w for k in sorted(self._by_key) for w in self._by_key[k]]

    def latest(self, key: str) -> AckedWrite | None:
        writes = self._by_key.get(key)
        return writes[-1] if writes else None

    def lost_writes(self, read_current: Callable[[str], str | None]) -> list[AckedWrite]:
        """The acknowledged writes that can no longer be read (see the module docstring).

        ``read_current(key)`` is the value held by the current owner of the key's slot
        (``None`` when the key is absent there or the slot has no owner).
        """
        lost: list[AckedWrite] = []
        for key in sorted(self._by_key):
            writes = self._by_key[key]
            current = read_current(key)
            # The newest acked write whose value is visible covers itself and all
            # writes before it; everything after it (or everything) is lost.
            covered = 0
            for w in reversed(writes):
                if w.value == current:
                    covered = w.version
                    break
            lost.extend(writes[covered:])
        return lost

    def sweep(
        self,
        now: int,
        read_current: Callable[[str], str | None],
        owner_of: Callable[[str], str | None],
        reason: Callable[[AckedWrite, str | None], str],
    ) -> None:
        """Keep every write lost now (:meth:`lost_writes`) that is not kept yet, with
        ``now``, the key's serving node ``owner_of(key)`` and ``reason(write, owner)``."""
        for write in self.lost_writes(read_current):
            ident = (write.key, write.version)
            if ident not in self._gone:
                owner = owner_of(write.key)
                self._gone[ident] = LostWrite(write, now, owner, reason(write, owner))

    def gone(self) -> list[LostWrite]:
        """Every loss kept so far, by the moment it was found, then key and version."""
        return sorted(self._gone.values(), key=lambda g: (g.lost_at, g.write.key, g.write.version))

    def losses(
        self,
        now: int,
        read_current: Callable[[str], str | None],
        owner_of: Callable[[str], str | None],
    ) -> list[LostWrite]:
        """The kept losses (:meth:`gone`), then the writes lost now that were not kept
        (found ``now``, :func:`not_held`). Reading keeps nothing, so every reader at
        the same moment gets the same answer."""
        gone = self.gone()
        kept = {(g.write.key, g.write.version) for g in gone}
        for write in self.lost_writes(read_current):
            if (write.key, write.version) not in kept:
                owner = owner_of(write.key)
                gone.append(LostWrite(write, now, owner, not_held(write, owner)))
        return gone

    def at_risk(
        self,
        read_current: Callable[[str], str | None],
        replicated: Callable[[str, str | None], bool],
    ) -> list[AckedWrite]:
        """Per key, the newest acknowledged write a reader sees now when no replica of
        the serving master holds its value yet (``replicated(key, value)`` is False)."""
        risky: list[AckedWrite] = []
        for key in sorted(self._by_key):
            current = read_current(key)
            for w in reversed(self._by_key[key]):
                if w.value == current:
                    if (key, w.version) not in self._gone and not replicated(key, current):
                        risky.append(w)
                    break
        return risky

    def lost_keys(self, read_current: Callable[[str], str | None]) -> list[str]:
        """Keys with at least one lost write, sorted."""
        return sorted({w.key for w in self.lost_writes(read_current)})

    def extend(self, writes: Iterable[tuple[str, str | None, int, str, str]]) -> None:
        """Record ``(key, value, ack_time, node, client)`` tuples in order."""
        for key, value, ack_time, node, client in writes:
            self.record(key, value, ack_time, node, client)


def write_row(write: AckedWrite) -> dict[str, Any]:
    """An acknowledged write as the data plane reports it (a JSON-ready dict)."""
    return {
        "key": write.key,
        "value": write.value,
        "acked_at": write.ack_time,
        "node": write.node,
        "client": write.client,
    }


def loss_row(loss: LostWrite) -> dict[str, Any]:
    """A lost write: :func:`write_row` plus ``lost_at``, ``owner`` and ``reason``."""
    row = write_row(loss.write)
    row.update(lost_at=loss.lost_at, owner=loss.owner, reason=loss.reason)
    return row


def not_held(write: AckedWrite, owner: str | None) -> str:
    """Why a write found lost on reading is lost: the serving node lacks it."""
    if owner is None:
        return "no live master serves its slot"
    return f"{owner}, which serves its slot, does not hold it"
