"""Key → slot throughput: ``key_hash_slot`` per key, ``key_hash_slots`` in bulk, and the floor.

The floor is ``binascii.crc_hqx(key, 0) & 0x3FFF`` (CRC16-XMODEM in C, no hash-tag
handling): no Python implementation of the §3.1 rule can beat it. One extra row applies
the same tag rule around ``binascii.crc_hqx`` to show what the CRC function costs.
"""

from __future__ import annotations

import binascii

from benchmarks.common import REPEATS, best_wall_and_cpu, rate, table
from simulator.slots import SLOT_MASK, key_hash_slot, key_hash_slots

KEYS = 1_000_000


def make_keys(count: int = KEYS) -> list[bytes]:
    """Deterministic mix: half plain keys, half with a hash tag (some sharing tags)."""
    keys: list[bytes] = []
    for i in range(count):
        if i % 2:
            keys.append(f"{{user{i % 10_007}}}:profile:{i}".encode())
        else:
            keys.append(f"session:{i:08d}:token".encode())
    return keys


def per_key(keys: list[bytes]) -> list[int]:
    slot = key_hash_slot
    return [slot(key) for key in keys]


def bulk(keys: list[bytes]) -> list[int]:
    return key_hash_slots(keys)


def baseline(keys: list[bytes]) -> list[int]:
    crc = binascii.crc_hqx
    return [crc(key, 0) & 0x3FFF for key in keys]


def tag_rule_binascii(keys: list[bytes]) -> list[int]:
    """The §3.1 tag rule inlined around ``binascii.crc_hqx`` instead of crcmod."""
    crc = binascii.crc_hqx
    out: list[int] = []
    append = out.append
    for data in keys:
        start = data.find(b"{")
        if start != -1:
            end = data.find(b"}", start + 1)
            if end != -1 and end != start + 1:
                data = data[start + 1 : end]
        append(crc(data, 0) & SLOT_MASK)
    return out


def main() -> str:
    keys = make_keys()
    runs = {
        "per_key": lambda: per_key(keys),
        "bulk": lambda: bulk(keys),
        "baseline": lambda: baseline(keys),
        "binascii_tags": lambda: tag_rule_binascii(keys),
    }
    expected = per_key(keys)
    if bulk(keys) != expected or tag_rule_binascii(keys) != expected:
        raise AssertionError("the slot functions disagree")
    best = best_wall_and_cpu(runs, REPEATS)
    wall = {name: best[name][0] for name in runs}
    cpu = {name: best[name][1] for name in runs}
    labels = {
        "per_key": "`key_hash_slot` per key",
        "bulk": "`key_hash_slots` (bulk)",
        "baseline": "`binascii.crc_hqx(k, 0) & 0x3FFF` (no tags; baseline)",
        "binascii_tags": "tag rule + `binascii.crc_hqx` (reference only)",
    }
    rows = [
        [
            labels[name],
            f"{wall[name]:.3f}",
            rate(KEYS, wall[name]),
            rate(KEYS, cpu[name]),
            f"{wall[name] / wall['baseline']:.2f}×",
            f"{cpu[name] / cpu['baseline']:.2f}×",
        ]
        for name in runs
    ]
    header = ["function", "best wall s", "keys/s (wall)", "keys/s (CPU)"]
    header += ["time/baseline (wall)", "time/baseline (CPU)"]
    return (
        "## Key → slot (`bench_keyslot`)\n\n"
        f"{KEYS:,} keys, half plain (`session:00000000:token`), half tagged "
        "(`{user123}:profile:1`).\n\n"
        + table(header, rows)
        + f"\n\nBulk over per-key: {wall['per_key'] / wall['bulk']:.2f}× faster (wall), "
        f"{cpu['per_key'] / cpu['bulk']:.2f}× (CPU).\n"
    )
