"""Keys that expire: part E of eviction-expiry.json (100,000 keys with TTLs uniform in
1–10 s and 100,000 without, 14 s of simulated time) — how long rcsim takes to run the
active expire cycle over them (``simulator.fidelity_expiry.expiry_curve``, one seed)."""

from __future__ import annotations

import time

from benchmarks.common import table
from simulator.fidelity_expiry import N_PLAIN, N_TTL, RUN_MS, expiry_curve, summarise


def main() -> str:
    start = time.process_time()
    curve = expiry_curve(seed=0)
    cpu = time.process_time() - start
    result = summarise(curve)
    rows = [
        [
            f"{N_TTL:,} + {N_PLAIN:,}",
            f"{RUN_MS / 1000:.0f} s",
            f"{cpu:.2f} s",
            f"{result['peak_keys']:,.0f}",
            f"{result['zero_at_ms']} ms",
        ]
    ]
    header = ["keys (TTL + plain)", "simulated", "CPU", "peak backlog", "zero at"]
    return "## Active expiry, part E (`bench_expiry`)\n\n" + table(header, rows)
