"""The eviction harness's growth calibrations (simulator/fidelity_evict.py, issue 11 §4)
on runs they were not fitted to: tests/data/eviction-growth.json, parts A and C of
eviction-expiry.json on Redis 7.0.15 with a raw RESP client instead of redis-py, at
2,000,000 bytes (the original size) and 3,000,000 (about twice the keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.dataplane.memory import CALIBRATION_EMPTY_USED_MEMORY
from simulator.fidelity_evict import CALIBRATION_ADD_GROWTH_BYTES_PER_KEY, lru_test

DATA = json.loads((Path(__file__).parent / "data" / "eviction-growth.json").read_text())
RUNS: list[dict[str, Any]] = DATA["runs"]
SIZES = sorted({run["maxmemory"] for run in RUNS})


def runs(policy: str, maxmemory: int) -> list[dict[str, Any]]:
    return [r for r in RUNS if r["policy"] == policy and r["maxmemory"] == maxmemory]


def replay(run: dict[str, Any], add_growth: int = CALIBRATION_ADD_GROWTH_BYTES_PER_KEY) -> Any:
    """rcsim's harness on a real run's shape: its size, its added keys, its client's
    footprint (the raw client's empty server is ~47 kB under redis-py's)."""
    client_bytes = run["used_memory_empty"] - CALIBRATION_EMPTY_USED_MEMORY
    return lru_test(
        run["policy"], 5, run["added_keys"], 1, run["maxmemory"], client_bytes, add_growth
    )


def test_the_data_is_two_sizes_of_both_parts_on_7_0_15() -> None:
    assert DATA["redis"].startswith("Redis server v=7.0.15")
    assert SIZES == [2_000_000, 3_000_000]
    for size in SIZES:
        assert len(runs("allkeys-lru", size)) >= 2 and len(runs("volatile-ttl", size)) >= 2


@pytest.mark.parametrize("maxmemory", SIZES)
def test_the_read_phase_growth_is_the_server_s_not_the_harness_s(maxmemory: int) -> None:
    """CALIBRATION_ACCESS_GROWTH_BYTES (27,300) was fitted on redis-py at 2,000,000: the
    358 evictions while keys are only read. The raw client evicts as many at both sizes
    (358-359), so the growth is the server's, and the harness replays it within 2 %."""
    for run in runs("allkeys-lru", maxmemory):
        real = run["evicted_during_fill_and_second_phase"]
        assert abs(replay(run)["evicted_during_fill_and_access"] / real - 1) <= 0.02


@pytest.mark.parametrize("maxmemory", SIZES)
def test_the_expire_growth_holds_with_another_client_and_size(maxmemory: int) -> None:
    """CALIBRATION_EXPIRE_GROWTH_BYTES_PER_KEY (9) was fitted on part C's 4,495 evictions
    during the EXPIREs; with the raw client 4,702-4,703 (2 MB) and ~9,046 (3 MB) keys
    go, and the harness replays both within 2 %."""
    for run in runs("volatile-ttl", maxmemory):
        real = run["evicted_during_fill_and_second_phase"]
        assert abs(replay(run)["evicted_during_fill_and_access"] / real - 1) <= 0.02


@pytest.mark.parametrize("maxmemory", SIZES)
def test_the_growth_per_added_key_belongs_to_the_redis_py_harness(maxmemory: int) -> None:
    """CALIBRATION_ADD_GROWTH_BYTES_PER_KEY (8) was fitted on redis-py's part A, where
    5,550 added keys evicted 6,178. With the raw client each added key evicts ~1.01
    keys at both sizes: ~1 byte of growth, not 8. The calibration is the original
    harness's client, so on these runs it over-evicts; a 1-byte growth replays them."""
    for run in runs("allkeys-lru", maxmemory):
        evicted_by_adding = run["evicted_keys"] - run["evicted_during_fill_and_second_phase"]
        assert 1.0 < evicted_by_adding / run["added_keys"] < 1.03
        assert replay(run)["evicted_keys"] > run["evicted_keys"] * 1.05
        assert abs(replay(run, add_growth=1)["evicted_keys"] / run["evicted_keys"] - 1) <= 0.03


@pytest.mark.parametrize("maxmemory", SIZES)
def test_the_first_eviction_at_both_sizes(maxmemory: int) -> None:
    """The memory model (70 bytes + key + value, the table) with the raw client's
    footprint: the first eviction 0.7 % early at 2,000,000 bytes and 4 % early at
    3,000,000, where the real server held 85 bytes a key against 87 (not explained)."""
    for run in runs("allkeys-lru", maxmemory):
        real = run["keys_inserted_before_first_eviction"]
        ours = replay(run)["keys_inserted_before_first_eviction"]
        assert 0.95 <= ours / real <= 1.0
