"""Eviction speed: one run of Redis's LRU test (``rcsim fidelity --part eviction``).

A run fills a 2,000,000-byte node with ``SET <id> foo`` (~11,750 keys), reads every key,
then adds 5,550 keys, each of which evicts: about 23,000 commands and 6,500 evictions
through the keyspace, the bucket table and the eviction pool
(:mod:`simulator.fidelity_evict`). Reported: the best CPU time per run and evictions per
CPU second, for LRU with 5 and 10 samples and for random.
"""

from __future__ import annotations

from benchmarks.common import best_wall_and_cpu, rate, table
from simulator.fidelity_evict import lru_test

SETTINGS = (("allkeys-lru", 5), ("allkeys-lru", 10), ("allkeys-random", 5))
EVICTIONS: dict[str, int] = {}


def _run(policy: str, samples: int) -> None:
    EVICTIONS[f"{policy} {samples}"] = lru_test(policy, samples, 5550, seed=0)["evicted_keys"]


def main() -> str:
    runs = {f"{p} {s}": (lambda p=p, s=s: _run(p, s)) for p, s in SETTINGS}
    best = best_wall_and_cpu(runs, repeats=3)
    rows = [
        [name, f"{cpu:.2f}", f"{EVICTIONS[name]:,}", rate(EVICTIONS[name], cpu)]
        for name, (_, cpu) in best.items()
    ]
    header = ("policy, samples", "CPU s per run", "evictions", "evictions / CPU s")
    return "## bench_eviction: one LRU-test run\n\n" + table(header, rows)
