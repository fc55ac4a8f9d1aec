"""Slot sets as bitsets (bit s = slot s) and byte maps: the compact forms the bus compares."""

from __future__ import annotations

from simulator.slots import SlotTable


def bits_to_slots(bits: int) -> list[int]:
    """The slots set in a bitset (bit s = slot s), ascending."""
    if not bits:
        return []
    text = format(bits, "b")[::-1]  # slot 0 first
    out: list[int] = []
    start = text.find("1")
    while start != -1:
        out.append(start)
        start = text.find("1", start + 1)
    return out


def bytes_to_slots(bitmap: bytes | bytearray) -> list[int]:
    """Slots set in a 0/1 byte-per-slot map."""
    out: list[int] = []
    start = bitmap.find(1)
    while start != -1:
        out.append(start)
        start = bitmap.find(1, start + 1)
    return out


_ZERO_ONE = bytes.maketrans(b"\x00\x01", b"01")


def table_bits(table: SlotTable, owner: int) -> int:
    """The bitset of the slots ``owner`` holds in ``table`` (one C-speed pass)."""
    bitmap = bytes(map(owner.__eq__, table.raw()))
    return int(bitmap.translate(_ZERO_ONE)[::-1], 2)
