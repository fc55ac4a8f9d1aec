"""Hash slots: key → slot, slot-range notation, owner tables and the create allocation.

Everything here must agree with a real Redis 7.0.15 server to the last slot
(behaviour reference §3 and §17.1; tests compare with ``CLUSTER KEYSLOT`` answers).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import crcmod.predefined

CLUSTER_SLOTS: Final = 16384
"""Number of hash slots (src/cluster.h ``CLUSTER_SLOTS``)."""

SLOT_MASK: Final = 0x3FFF

# CRC16-XMODEM: poly 0x1021, init 0, no reflection, xorout 0 (src/crc16.c). crcmod's
# predefined "xmodem" is exactly that; its "crc-16" is a different (reflected) CRC.
_crc16 = crcmod.predefined.mkPredefinedCrcFun("xmodem")


def crc16(data: bytes) -> int:
    """The CRC16 Redis uses for key hashing (check value: ``crc16(b"123456789") == 0x31C3``)."""
    return int(_crc16(data))


def _as_bytes(key: bytes | str) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def hashed_part(key: bytes | str) -> tuple[bytes, bool]:
    """Which bytes of ``key`` Redis hashes, and whether they are a hash tag.

    The tag is the substring between the first ``{`` and the first ``}`` after it,
    and only when that substring is non-empty (src/cluster.c ``keyHashSlot``).
    """
    data = _as_bytes(key)
    start = data.find(b"{")
    if start == -1:
        return data, False
    end = data.find(b"}", start + 1)
    if end == -1 or end == start + 1:
        return data, False
    return data[start + 1 : end], True


def key_hash_slot(key: bytes | str) -> int:
    """The hash slot of ``key``, as ``CLUSTER KEYSLOT`` answers it."""
    data = key.encode("utf-8") if isinstance(key, str) else key
    start = data.find(b"{")
    if start != -1:
        end = data.find(b"}", start + 1)
        if end != -1 and end != start + 1:
            data = data[start + 1 : end]
    return int(_crc16(data)) & SLOT_MASK


def key_hash_slots(keys: Iterable[bytes | str]) -> list[int]:
    """Bulk form of :func:`key_hash_slot`: one call for many keys, no per-call overhead."""
    crc = _crc16
    out: list[int] = []
    append = out.append
    for key in keys:
        data = key.encode("utf-8") if isinstance(key, str) else key
        start = data.find(b"{")
        if start != -1:
            end = data.find(b"}", start + 1)
            if end != -1 and end != start + 1:
                data = data[start + 1 : end]
        append(crc(data) & SLOT_MASK)
    return out


# --------------------------------------------------------------------------- ranges


@dataclass(frozen=True, slots=True)
class SlotRange:
    """An inclusive range of slots, ``first..last``."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if not (0 <= self.first <= self.last < CLUSTER_SLOTS):
            raise ValueError(f"invalid slot range {self.first}-{self.last}")

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.first, self.last + 1))

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def parse_slot_ranges(text: str | int | Sequence[str | int]) -> list[int]:
    """Parse Redis's notation (``"0-5460 5462 6000-6100"``) into a sorted list of slots.

    Raises ``ValueError`` with a message naming the bad token.
    """
    if isinstance(text, int):
        tokens: list[str] = [str(text)]
    elif isinstance(text, str):
        tokens = text.replace(",", " ").split()
    else:
        tokens = [str(t) for t in text]
    slots: set[int] = set()
    for token in tokens:
        first_s, sep, last_s = token.partition("-")
        try:
            first = int(first_s)
            last = int(last_s) if sep else first
        except ValueError:
            raise ValueError(f"not a slot or slot range: {token!r}") from None
        if not (0 <= first < CLUSTER_SLOTS) or not (0 <= last < CLUSTER_SLOTS):
            raise ValueError(f"slot out of range 0-16383: {token!r}")
        if last < first:
            raise ValueError(f"slot range goes backwards: {token!r}")
        slots.update(range(first, last + 1))
    return sorted(slots)


def slot_runs(slots: Iterable[int]) -> list[SlotRange]:
    """Maximal runs of consecutive slots (``clusterGenNodesSlotsInfo``)."""
    runs: list[SlotRange] = []
    first = prev = -2
    for slot in sorted(set(slots)):
        if slot == prev + 1:
            prev = slot
            continue
        if first >= 0:
            runs.append(SlotRange(first, prev))
        first = prev = slot
    if first >= 0:
        runs.append(SlotRange(first, prev))
    return runs


def format_slot_ranges(slots: Iterable[int]) -> str:
    """Format slots in Redis's notation, e.g. ``"0-5460 5462"``."""
    return " ".join(str(r) for r in slot_runs(slots))


def merge_slots(*groups: Iterable[int]) -> list[int]:
    """The union of slot groups, sorted."""
    merged: set[int] = set()
    for group in groups:
        merged.update(group)
    return sorted(merged)


def subtract_slots(slots: Iterable[int], remove: Iterable[int]) -> list[int]:
    """``slots`` without ``remove``, sorted."""
    return sorted(set(slots).difference(remove))


def count_slots(text: str) -> int:
    """How many slots a range expression names."""
    return len(parse_slot_ranges(text))


# --------------------------------------------------------------------------- owner table

NO_OWNER: Final = 0xFFFF


class SlotTable:
    """A compact owner table: one unsigned 16-bit node index per slot (``NO_OWNER`` = unbound).

    Node indexes are the simulator's own small integers, not Redis IDs; 32 KiB per table.
    """

    __slots__ = ("_owners",)

    def __init__(self, owners: array | None = None) -> None:
        self._owners = owners if owners is not None else array("H", [NO_OWNER]) * CLUSTER_SLOTS

    def copy(self) -> SlotTable:
        return SlotTable(array("H", self._owners))

    def __getitem__(self, slot: int) -> int:
        return self._owners[slot]

    def __setitem__(self, slot: int, owner: int) -> None:
        self._owners[slot] = owner

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlotTable) and self._owners == other._owners

    __hash__ = None  # type: ignore[assignment]

    def assign(self, slots: Iterable[int], owner: int) -> None:
        owners = self._owners
        for slot in slots:
            owners[slot] = owner

    def slots_of(self, owner: int) -> list[int]:
        return [s for s, o in enumerate(self._owners) if o == owner]

    def count_of(self, owner: int) -> int:
        return self._owners.count(owner)

    def unbound(self) -> list[int]:
        return self.slots_of(NO_OWNER)

    def raw(self) -> array:
        """The underlying array (read-only by convention)."""
        return self._owners

    def owner_runs(self) -> list[tuple[int, int, int]]:
        """``(first, last, owner)`` for each maximal run of one owner, in slot order."""
        runs: list[tuple[int, int, int]] = []
        owners = self._owners
        start = 0
        for slot in range(1, CLUSTER_SLOTS + 1):
            if slot == CLUSTER_SLOTS or owners[slot] != owners[start]:
                runs.append((start, slot - 1, owners[start]))
                start = slot
        return runs


# --------------------------------------------------------------------------- create allocation


def _f32(value: float) -> float:
    """Round to IEEE-754 single precision, as C's ``float`` arithmetic does."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _lround(value: float) -> int:
    """C's ``lround``: round half away from zero."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def create_allocation(masters: int) -> list[SlotRange]:
    """The slot ranges ``redis-cli --cluster create`` gives ``masters`` masters.

    Reproduces the float32 loop of src/redis-cli.c ``clusterManagerCommandCreate``
    (behaviour reference §17.1), including its rounding for large ``masters``.

    Raises ``ValueError`` when no valid allocation exists: ``masters`` outside
    1..16384, or a ``masters`` for which the float32 cursor overshoots and the loop would
    hand out slot 16384 (the smallest such count is 7542). redis-cli itself writes past
    its slot array there and the server then refuses ``CLUSTER ADDSLOTS 16384``, so the
    simulator refuses up front instead of building a cluster Redis cannot build.
    """
    if masters < 1:
        raise ValueError("at least one master is needed")
    if masters > CLUSTER_SLOTS:
        raise ValueError(f"at most {CLUSTER_SLOTS} masters can own slots")
    slots_per_node = _f32(CLUSTER_SLOTS / _f32(float(masters)))
    cursor = 0.0
    first = 0
    ranges: list[SlotRange] = []
    for i in range(masters):
        last = _lround(_f32(_f32(cursor + slots_per_node) - 1.0))
        if last > CLUSTER_SLOTS or i == masters - 1:
            last = CLUSTER_SLOTS - 1
        if last < first:
            last = first
        if last >= CLUSTER_SLOTS:
            raise ValueError(
                f"redis-cli's allocation for {masters} masters runs past slot "
                f"{CLUSTER_SLOTS - 1}: master {i} would get {first}-{last}"
            )
        ranges.append(SlotRange(first, last))
        first = last + 1
        cursor = _f32(cursor + slots_per_node)
    return ranges
