"""The fit of ``CALIBRATION_CLIENT_RATE_IN_MOVES``, re-run (harness, docs/fidelity.md).

``python -m simulator.fidelity_reshard_fit`` prints pipeline 10's median MOVED lag over
seeds 0-29 for each share of the grid and marks the one nearest the real lag (~1 s a
run, 330 runs). The only statistic it reads is the MOVED lag: the ASK counts, the slots
with an ASK and the durations are the calibration's check, never its fit.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from simulator.fidelity import real_data
from simulator.fidelity_reshard import ReshardRun

FIT_SHARES = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))
"""The grid the calibration was chosen from: 0.50, 0.55 ... 1.00."""

FIT_SEEDS = range(30)


def median_lags(shares: Sequence[float], seeds: Sequence[int]) -> dict[float, float]:
    """share → rcsim's median pipeline-10 MOVED lag (ms) over ``seeds``."""
    return {
        share: statistics.median(
            ReshardRun(10, seed, client_share=share).moved_lag_ms() for seed in seeds
        )
        for share in shares
    }


def fit(shares: Sequence[float] = FIT_SHARES, seeds: Sequence[int] = FIT_SEEDS) -> list[str]:
    """The fit's table, the share nearest the real lag marked."""
    real = real_data()["resharding"]["pipeline10"]["MOVED_lag_ms"]
    lags = median_lags(shares, seeds)
    best = min(shares, key=lambda share: abs(lags[share] - real))
    lines = [f"pipeline 10's MOVED lag, real {real} ms; rcsim median over {len(seeds)} seeds:"]
    lines += [
        f"  share {share:.2f}: {lags[share]:.2f} ms{'  <- nearest' if share == best else ''}"
        for share in shares
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(fit()))
