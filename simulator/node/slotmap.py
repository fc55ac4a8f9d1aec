"""Slot sets as bitsets (bit s = slot s) and byte maps: the compact forms the bus compares."""

from __future__ import annotations

from simulator.slots import SlotTable


def bits_to_slots(bits: int) -> list[int]:
    """The slots set in a bitset (bit s = slot s), ascending."""
    if not bits:
        return []
    # Slot s is character top - s of the binary text, which starts with a 1 (slot top):
    # read it from its end, a run of slots at a time (a master's share, a resharded
    # batch are ranges), without reversing it.
    text = format(bits, "b")
    top = len(text) - 1
    out: list[int] = []
    extend = out.extend
    rfind = text.rfind
    end = rfind("1")
    while True:
        begin = rfind("0", 0, end)  # the run is characters begin + 1 .. end
        extend(range(top - end, top - begin))
        if begin <= 0:
            return out
        end = rfind("1", 0, begin)  # found: character 0 is a 1


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
