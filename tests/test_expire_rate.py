"""The active expire cycle against a real Redis 7.0.15 whose cycles hit their limit and
whose tail is sparse (redis-rules §26.2; tests/data/expire-cpu.json): how fast it
expires, and what it costs per key."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from simulator.dataplane.expires import FAST, SLOW, ExpireTable, active_expire_cycle

REAL = json.loads((Path(__file__).parent / "data" / "expire-cpu.json").read_text())
DUE = 1_000_000  # the unix ms the expiring keys are due at
WINDOW_MS = 120_000


def _runs(dataset: str) -> list[dict[str, float]]:
    return [run for run in REAL["runs"] if run["dataset"] == dataset]


def _play(expiring: int, lasting: int) -> tuple[int, float]:
    """DEBUG POPULATE's names, the first ``expiring`` due at once and the rest a day
    later; a slow cycle every 100 ms and the fast one after it, as the cron and
    ``beforeSleep`` run them, for at most 120 s: (keys expired, cycle µs)."""
    table = ExpireTable()
    for i in range(expiring):
        table.set(f"key:{i}", DUE)
    for i in range(expiring, expiring + lasting):
        table.set(f"key:{i}", DUE + 86_400_000)
    expired, cpu_us, now = 0, 0.0, DUE + 1
    while now < DUE + WINDOW_MS and expired < expiring:
        for kind in (SLOW, FAST):
            result = active_expire_cycle(table, now, kind)
            if result.ran:
                expired += len(result.expired)
                cpu_us += result.elapsed_us
        table.resize_if_needed()
        now += 100
    return expired, cpu_us


def test_a_sparse_tail_expires_at_redis_s_rate() -> None:
    """A quarter of the keys due: each cycle stops at the first sample of 20 with at
    most 2 expired, so the cursor crawls (real: 68,654-73,664 expired in 120 s). With
    the old CRC-32 bucket index sequential names sat in runs of buckets, samples kept
    finding expired keys, and all 100,000 went in 42 s."""
    real = statistics.median(run["expired_keys"] for run in _runs("quarter_expiring"))
    expired, _ = _play(100_000, 300_000)
    assert abs(expired / real - 1) < 0.15


def test_cpu_per_expired_key_when_the_cycles_hit_their_limit() -> None:
    """Every key due, or half of them: the slow cycle hits its 25 ms limit and the fast
    one follows. The model's µs per expired key (SAMPLE_US per sampled, DELETE_US per
    expired) against the quietest real run's ``expire_cycle_cpu_milliseconds`` per
    expired key (a loaded host inflates it, up to 2.8 µs)."""
    for dataset, expiring, lasting in (
        ("all_expiring", 400_000, 0),
        ("half_expiring", 200_000, 200_000),
    ):
        real = min(run["cpu_us_per_expired_key"] for run in _runs(dataset))
        expired, cpu_us = _play(expiring, lasting)
        assert expired == expiring
        assert 0.8 < (cpu_us / expired) / real < 1.3, dataset
