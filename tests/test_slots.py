"""Hash slots (simulator/slots.py) against real Redis 7.0.15 and independent oracles.

Key → slot: behaviour reference §3.1 and the 3000 ``CLUSTER KEYSLOT`` answers in
tests/data/keyslot-vectors.json. Create allocation: §17.1 and the ranges a real
``redis-cli --cluster create`` produced (tests/data/create-allocation.json).
"""

from __future__ import annotations

import binascii
import ctypes
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.slots import (
    CLUSTER_SLOTS,
    NO_OWNER,
    SLOT_MASK,
    SlotRange,
    SlotTable,
    count_slots,
    crc16,
    create_allocation,
    format_slot_ranges,
    hashed_part,
    key_hash_slot,
    key_hash_slots,
    merge_slots,
    parse_slot_ranges,
    slot_runs,
    subtract_slots,
)

DATA = Path(__file__).parent / "data"
VECTORS: list[dict[str, Any]] = json.loads((DATA / "keyslot-vectors.json").read_text())
CREATE = json.loads((DATA / "create-allocation.json").read_text())

PROPERTY = settings(max_examples=200, deadline=None)


# --------------------------------------------------------------------------- oracles


def bit_serial_crc16(data: bytes) -> int:
    """CRC16-XMODEM one bit at a time, as §3.1 spells it out (independent of crcmod)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


_TAG = re.compile(rb"[^{]*\{([^}]*)\}", re.DOTALL)


def oracle_slot(key: bytes) -> int:
    """§3.1 written as a regex: the first ``{``, up to the first ``}`` after it, non-empty."""
    match = _TAG.match(key)
    part = match.group(1) if match and match.group(1) else key
    return bit_serial_crc16(part) & 0x3FFF


# --------------------------------------------------------------------------- key -> slot


def test_crc16_check_value_is_xmodem() -> None:
    assert crc16(b"123456789") == 0x31C3
    assert bit_serial_crc16(b"123456789") == 0x31C3


def test_every_real_redis_keyslot_vector_matches_key_hash_slot() -> None:
    assert len(VECTORS) == 3000
    mismatches = [v for v in VECTORS if key_hash_slot(bytes.fromhex(v["key_hex"])) != v["slot"]]
    assert mismatches == []


def test_every_real_redis_keyslot_vector_matches_the_bulk_form() -> None:
    keys = [bytes.fromhex(v["key_hex"]) for v in VECTORS]
    assert key_hash_slots(keys) == [v["slot"] for v in VECTORS]


def test_text_keys_hash_as_their_utf8_bytes() -> None:
    texts = [v for v in VECTORS if v["key"] is not None]
    assert len(texts) == 3000 - 536  # the README's count of keys without a text form
    assert all(v["key"].encode("utf-8") == bytes.fromhex(v["key_hex"]) for v in texts)
    assert [key_hash_slot(v["key"]) for v in texts] == [v["slot"] for v in texts]
    assert key_hash_slots(v["key"] for v in texts) == [v["slot"] for v in texts]


def test_vectors_agree_with_the_independent_bit_serial_oracle() -> None:
    # Guards the oracle itself, so the properties below test against something proven.
    sample = VECTORS[::7]
    assert [oracle_slot(bytes.fromhex(v["key_hex"])) for v in sample] == [v["slot"] for v in sample]


# §3.1 table: key, the bytes that are hashed, slot (all confirmed with CLUSTER KEYSLOT).
REFERENCE_TABLE: list[tuple[str, str, int]] = [
    ("123456789", "123456789", 12739),
    ("foo", "foo", 12182),
    ("bar", "bar", 5061),
    ("{user1000}.following", "user1000", 3443),
    ("{user1000}.followers", "user1000", 3443),
    ("user1000", "user1000", 3443),
    ("foo{}{bar}", "foo{}{bar}", 8363),
    ("foo{{bar}}zap", "{bar", 4015),
    ("foo{bar}{zap}", "bar", 5061),
    ("{}", "{}", 15257),
    ("{}x", "{}x", 10595),
    ("a{b", "a{b", 13340),
    ("a}b{c}", "c", 7365),
    ("{{a}}", "{a", 10276),
    ("{a}", "a", 15495),
    ("", "", 0),
]


@pytest.mark.parametrize(("key", "part", "slot"), REFERENCE_TABLE)
def test_reference_edge_case_table(key: str, part: str, slot: int) -> None:
    assert key_hash_slot(key) == slot
    assert key_hash_slot(key.encode()) == slot
    assert hashed_part(key) == (part.encode(), part != key)
    assert key_hash_slot(part) == slot


def test_slot_of_123456789_is_the_crc_itself() -> None:
    assert key_hash_slot("123456789") == 0x31C3 & SLOT_MASK == 12739


def test_hashed_part_examples() -> None:
    assert hashed_part(b"\x00{\xff\xfe}x") == (b"\xff\xfe", True)
    assert hashed_part("{") == (b"{", False)
    assert hashed_part("}{") == (b"}{", False)
    assert hashed_part("{ }") == (b" ", True)
    assert hashed_part("a{b}c{d}") == (b"b", True)
    assert hashed_part("{a}}") == (b"a", True)
    assert hashed_part("é{ü}") == ("ü".encode(), True)


prefixes = st.binary(max_size=20).map(lambda b: b.replace(b"{", b""))
tags = st.binary(min_size=1, max_size=20).map(lambda b: b.replace(b"}", b"")).filter(bool)
anything = st.binary(max_size=64)
brace_heavy = st.lists(
    st.sampled_from([b"{", b"}", b"a", b"\x00", b"\xff", b"{}"]), max_size=16
).map(b"".join)


@PROPERTY
@given(prefix=prefixes, tag=tags, suffix=anything)
def test_hash_tag_rule_key_hashes_like_its_tag(prefix: bytes, tag: bytes, suffix: bytes) -> None:
    key = prefix + b"{" + tag + b"}" + suffix
    assert hashed_part(key) == (tag, True)
    assert key_hash_slot(key) == key_hash_slot(tag) == bit_serial_crc16(tag) & 0x3FFF


@PROPERTY
@given(key=st.one_of(anything, brace_heavy))
def test_slot_is_always_within_0_to_16383(key: bytes) -> None:
    assert 0 <= key_hash_slot(key) <= 16383


@PROPERTY
@given(data=anything)
def test_crc16_agrees_with_bit_serial_and_binascii(data: bytes) -> None:
    assert crc16(data) == bit_serial_crc16(data) == binascii.crc_hqx(data, 0)


@PROPERTY
@given(key=st.one_of(anything, brace_heavy))
def test_key_hash_slot_agrees_with_the_regex_oracle(key: bytes) -> None:
    assert key_hash_slot(key) == oracle_slot(key)


@PROPERTY
@given(text=st.text(max_size=30))
def test_str_keys_hash_as_utf8(text: str) -> None:
    assert key_hash_slot(text) == key_hash_slot(text.encode("utf-8"))


@PROPERTY
@given(keys=st.lists(st.one_of(anything, brace_heavy, st.text(max_size=10)), max_size=30))
def test_bulk_form_equals_one_call_per_key(keys: list[bytes | str]) -> None:
    assert key_hash_slots(keys) == [key_hash_slot(k) for k in keys]
    assert key_hash_slots(iter(keys)) == [key_hash_slot(k) for k in keys]


# --------------------------------------------------------------------------- ranges


def test_parse_slot_ranges_accepts_redis_notation() -> None:
    assert parse_slot_ranges("0-3 5 7-8") == [0, 1, 2, 3, 5, 7, 8]
    assert parse_slot_ranges("7-8,0-1") == [0, 1, 7, 8]
    assert parse_slot_ranges("  16383  ") == [16383]
    assert parse_slot_ranges("") == []
    assert parse_slot_ranges(42) == [42]
    assert parse_slot_ranges(["1-2", 5, "4"]) == [1, 2, 4, 5]
    assert parse_slot_ranges("0-5 3-8 8") == list(range(9))  # overlaps merge
    assert len(parse_slot_ranges("0-16383")) == CLUSTER_SLOTS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "not a slot or slot range: 'abc'"),
        ("5-", "not a slot or slot range: '5-'"),
        ("-5", "not a slot or slot range: '-5'"),
        ("1-2-3", "not a slot or slot range: '1-2-3'"),
        ("1.5", "not a slot or slot range: '1.5'"),
        ("16384", "slot out of range 0-16383: '16384'"),
        ("0-16384", "slot out of range 0-16383: '0-16384'"),
        ("10-5", "slot range goes backwards: '10-5'"),
        ("0-10 x", "not a slot or slot range: 'x'"),
    ],
)
def test_parse_slot_ranges_names_the_bad_token(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_slot_ranges(text)
    assert str(error.value) == message


def test_parse_slot_ranges_rejects_negative_ints() -> None:
    with pytest.raises(ValueError, match="'-1'"):
        parse_slot_ranges(-1)


def test_slot_runs_and_format() -> None:
    assert slot_runs([5, 1, 2, 3, 9, 2]) == [SlotRange(1, 3), SlotRange(5, 5), SlotRange(9, 9)]
    assert format_slot_ranges([5, 1, 2, 3, 9]) == "1-3 5 9"
    assert format_slot_ranges([]) == ""
    assert slot_runs([]) == []
    assert format_slot_ranges(range(CLUSTER_SLOTS)) == "0-16383"
    assert format_slot_ranges([0, 16383]) == "0 16383"


def test_merge_subtract_count() -> None:
    assert merge_slots([3, 1], range(2, 5), []) == [1, 2, 3, 4]
    assert merge_slots() == []
    assert subtract_slots(range(10), [0, 5, 9, 42]) == [1, 2, 3, 4, 6, 7, 8]
    assert subtract_slots([], [1]) == []
    assert count_slots("0-5460") == 5461
    assert count_slots("0-10 5-20 100") == 22


def test_slot_range_value_object() -> None:
    r = SlotRange(10, 12)
    assert (len(r), list(r), str(r)) == (3, [10, 11, 12], "10-12")
    assert str(SlotRange(7, 7)) == "7"
    for first, last in ((-1, 3), (5, 4), (0, 16384)):
        with pytest.raises(ValueError, match="invalid slot range"):
            SlotRange(first, last)


slot_sets = st.sets(st.integers(min_value=0, max_value=CLUSTER_SLOTS - 1), max_size=200)


@PROPERTY
@given(slots=slot_sets)
def test_format_then_parse_round_trips(slots: set[int]) -> None:
    text = format_slot_ranges(slots)
    assert parse_slot_ranges(text) == sorted(slots)
    assert count_slots(text) == len(slots)
    runs = slot_runs(slots)
    assert sum(len(r) for r in runs) == len(slots)
    # maximal runs: consecutive runs never touch
    assert all(a.last + 1 < b.first for a, b in itertools.pairwise(runs))


@PROPERTY
@given(a=slot_sets, b=slot_sets)
def test_merge_and_subtract_are_set_union_and_difference(a: set[int], b: set[int]) -> None:
    assert merge_slots(a, b) == sorted(a | b)
    assert subtract_slots(a, b) == sorted(a - b)


# --------------------------------------------------------------------------- owner table


def test_slot_table_starts_unbound() -> None:
    table = SlotTable()
    assert table[0] == table[16383] == NO_OWNER
    assert table.unbound() == list(range(CLUSTER_SLOTS))
    assert table.owner_runs() == [(0, 16383, NO_OWNER)]
    assert len(table.raw()) == CLUSTER_SLOTS


def test_slot_table_assign_query_and_runs() -> None:
    table = SlotTable()
    table.assign(range(0, 100), 1)
    table.assign(parse_slot_ranges("200-299"), 2)
    table[150] = 1
    assert table[150] == 1 and table[99] == 1 and table[100] == NO_OWNER
    assert table.slots_of(2) == list(range(200, 300))
    assert table.count_of(1) == 101
    assert len(table.unbound()) == CLUSTER_SLOTS - 201
    assert table.owner_runs() == [
        (0, 99, 1),
        (100, 149, NO_OWNER),
        (150, 150, 1),
        (151, 199, NO_OWNER),
        (200, 299, 2),
        (300, 16383, NO_OWNER),
    ]


def test_slot_table_copy_is_independent_and_equal_by_content() -> None:
    table = SlotTable()
    table.assign(range(10), 3)
    clone = table.copy()
    assert clone == table and clone is not table
    clone[0] = 4
    assert table[0] == 3 and clone != table
    assert table != "not a table"
    with pytest.raises(TypeError):
        hash(table)


# --------------------------------------------------------------------------- create allocation


def _as_pairs(ranges: list[SlotRange]) -> list[tuple[int, int]]:
    return [(r.first, r.last) for r in ranges]


@pytest.mark.parametrize(
    "result",
    CREATE["results"],
    ids=lambda r: f"{r['masters_requested']}m-r{r['replicas']}-{r['rep']}",
)
def test_create_allocation_matches_real_redis_cli(result: dict[str, Any]) -> None:
    masters = sorted(result["masters"], key=lambda m: m["index"])
    assert [m["index"] for m in masters] == list(range(result["masters_requested"]))
    real = [[tuple(pair) for pair in m["slots"]] for m in masters]
    assert real == [[pair] for pair in _as_pairs(create_allocation(result["masters_requested"]))]
    assert [m["slot_count"] for m in masters] == [
        len(r) for r in create_allocation(result["masters_requested"])
    ]


REFERENCE_17_1 = {
    3: "0-5460, 5461-10922, 10923-16383",
    4: "0-4095, 4096-8191, 8192-12287, 12288-16383",
    5: "0-3276, 3277-6553, 6554-9829, 9830-13106, 13107-16383",
    6: "0-2730, 2731-5460, 5461-8191, 8192-10922, 10923-13652, 13653-16383",
    7: "0-2340, 2341-4680, 4681-7021, 7022-9361, 9362-11702, 11703-14042, 14043-16383",
    8: ", ".join(f"{i * 2048}-{i * 2048 + 2047}" for i in range(8)),
    9: "0-1819, 1820-3640, 3641-5460, 5461-7281, 7282-9101, 9102-10922, 10923-12742, "
    "12743-14563, 14564-16383",
    10: "0-1637, 1638-3276, 3277-4914, 4915-6553, 6554-8191, 8192-9829, 9830-11468, "
    "11469-13106, 13107-14745, 14746-16383",
}


@pytest.mark.parametrize("masters", sorted(REFERENCE_17_1))
def test_create_allocation_reference_table(masters: int) -> None:
    assert ", ".join(str(r) for r in create_allocation(masters)) == REFERENCE_17_1[masters]


def closed_form(masters: int) -> list[tuple[int, int]]:
    """§17.1 closed form in exact integers: last_i = floor((i+1)·16384/M − 1 + 1/2)."""
    ranges = []
    first = 0
    for i in range(masters):
        last = (2 * (i + 1) * CLUSTER_SLOTS - masters) // (2 * masters)
        if i == masters - 1:
            last = CLUSTER_SLOTS - 1
        ranges.append((first, last))
        first = last + 1
    return ranges


def _f32(x: float) -> float:
    return float(ctypes.c_float(x).value)


def float32_loop(masters: int) -> list[tuple[int, int]]:
    """redis-cli's loop with C ``float`` emulated through ctypes (independent of slots.py)."""
    spn = _f32(CLUSTER_SLOTS / _f32(masters))
    cursor, first, ranges = 0.0, 0, []
    for i in range(masters):
        value = _f32(_f32(cursor + spn) - 1)
        last = int(value + 0.5)  # lround for a non-negative value
        if last > CLUSTER_SLOTS or i == masters - 1:
            last = CLUSTER_SLOTS - 1
        last = max(last, first)
        ranges.append((first, last))
        first = last + 1
        cursor = _f32(cursor + spn)
    return ranges


@pytest.mark.parametrize("masters", range(3, 78))
def test_float32_loop_equals_closed_form_up_to_77_masters(masters: int) -> None:
    assert _as_pairs(create_allocation(masters)) == closed_form(masters)


def test_78_masters_is_where_float32_accumulation_moves_a_boundary() -> None:
    # §17.1: identical up to 77; at 78 the float32 cursor of master 67 rounds up one slot.
    ours = _as_pairs(create_allocation(78))
    exact = closed_form(78)
    assert [i for i in range(78) if ours[i] != exact[i]] == [67, 68]
    assert ours[67] == (14073, 14283) and exact[67] == (14073, 14282)
    assert ours == float32_loop(78)


# Every count up to 300, then a stride through 2000 (every count would take ~40 s).
MANY_MASTERS = sorted({*range(1, 301), *range(301, 2001, 17), 1000, 1500, 2000})


def test_up_to_2000_masters_ranges_are_contiguous_cover_all_and_match_the_c_loop() -> None:
    differs = []
    for masters in MANY_MASTERS:
        ranges = _as_pairs(create_allocation(masters))
        assert len(ranges) == masters
        assert ranges[0][0] == 0 and ranges[-1][1] == CLUSTER_SLOTS - 1
        assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))
        assert all(first <= last for first, last in ranges)
        if masters % 50 == 0 or masters < 100:
            assert ranges == float32_loop(masters)
        if ranges != closed_form(masters):
            differs.append(masters)
    assert differs[0] == 78
    assert 1000 in differs and 2000 in differs


def test_create_allocation_at_the_limits() -> None:
    assert _as_pairs(create_allocation(1)) == [(0, 16383)]
    assert _as_pairs(create_allocation(16384)) == [(s, s) for s in range(16384)]
    assert _as_pairs(create_allocation(7541))[-1] == (16383, 16383)


@pytest.mark.parametrize(
    ("masters", "message"),
    [
        (0, "at least one master"),
        (-3, "at least one master"),
        (16385, "at most 16384 masters"),
        (7542, "allocation for 7542 masters runs past slot 16383"),
        (16376, "allocation for 16376 masters runs past slot 16383"),
    ],
)
def test_create_allocation_refuses_what_redis_cli_cannot_build(masters: int, message: str) -> None:
    # For 7542 masters redis-cli's float32 cursor overshoots and the last master would get
    # slot 16384, which CLUSTER ADDSLOTS refuses: a clear ValueError instead.
    with pytest.raises(ValueError, match=message):
        create_allocation(masters)
    if masters > 16384 or masters < 1:
        return
    assert float32_loop(masters)[-1][1] >= CLUSTER_SLOTS
