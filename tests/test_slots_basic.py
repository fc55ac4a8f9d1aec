"""Key → slot against the real server's answers (tests/data/keyslot-vectors.json)."""

import json
from pathlib import Path

from simulator.slots import create_allocation, key_hash_slot

DATA = Path(__file__).parent / "data"


def test_every_real_redis_keyslot_vector_matches() -> None:
    vectors = json.loads((DATA / "keyslot-vectors.json").read_text())
    assert len(vectors) == 3000
    mismatches = [v for v in vectors if key_hash_slot(bytes.fromhex(v["key_hex"])) != v["slot"]]
    assert mismatches == []


def test_create_allocation_three_masters() -> None:
    assert [str(r) for r in create_allocation(3)] == ["0-5460", "5461-10922", "10923-16383"]
