"""The fit of ``CALIBRATION_CLIENT_RATE_IN_MOVES``, re-run (harness, docs/fidelity.md).

``python -m simulator.fidelity_reshard_fit`` prints pipeline 10's median MOVED lag over
seeds 0-29 for each share of the coarse grid, then for each hundredth between the two
coarse shares whose lags bracket the real one, and marks the share nearest the real lag
(~2 s a run, ~450 runs on two processes). The only statistic it reads is the MOVED lag:
the ASK counts, the slots with an ASK and the durations are the calibration's check,
never its fit. The client has its measured per-command jitter
(``CALIBRATION_CLIENT_OWN_TIME_FACTORS``), so the lag falls smoothly with the share and
the fine grid is worth running.

``python -m simulator.fidelity_reshard_fit --pipeline 1`` fits
``CALIBRATION_CLIENT_RATE_IN_MOVES_PIPELINE_1`` the same way on the one statistic of
pipeline 1's client it reads, its requests a ms while redis-cli ran (the real 20.21 from
the op counts, ``real_ops_per_ms_in_moves``), over seeds 0-9 (~5 s a run, ~150 runs).
"""

from __future__ import annotations

import itertools
import statistics
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from simulator.fidelity import real_data
from simulator.fidelity_reshard import ReshardRun
from simulator.fidelity_reshard_client import real_ops_per_ms_in_moves

FIT_SHARES = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))
"""The coarse grid: 0.50, 0.55 ... 1.00."""

FIT_SEEDS = range(30)


FIT_SEEDS_PIPELINE_1 = range(10)
"""Pipeline 1's statistic is a rate over ~40,000 requests, not the mean of ~30 waits:
its seeds agree within a few per cent, so ten do (docs/fidelity.md)."""


def lag(share: float, seed: int) -> float:
    """rcsim's pipeline-10 MOVED lag (ms) with the client at ``share`` in the moves."""
    return ReshardRun(10, seed, client_share=share).moved_lag_ms()


def ops_in_moves(share: float, seed: int) -> float:
    """rcsim's pipeline-1 client requests a ms in the moves with the client at ``share``."""
    return ReshardRun(1, seed, client_share=share).ops_per_ms_in_moves()


def median_lags(
    shares: Sequence[float],
    seeds: Sequence[int],
    workers: int = 2,
    statistic: Callable[[float, int], float] = lag,
) -> dict[float, float]:
    """share → rcsim's median of ``statistic`` (pipeline 10's MOVED lag) over ``seeds``."""
    pairs = [(share, seed) for share in shares for seed in seeds]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        lags = list(pool.map(statistic, [p[0] for p in pairs], [p[1] for p in pairs]))
    return {
        share: statistics.median(lags[i * len(seeds) : (i + 1) * len(seeds)])
        for i, share in enumerate(shares)
    }


def fine_shares(lags: dict[float, float], real: float) -> list[float]:
    """The hundredths strictly between the two neighbouring coarse shares whose lags lie
    on either side of ``real`` (none if no pair does)."""
    shares = sorted(lags)
    for low, high in itertools.pairwise(shares):
        if min(lags[low], lags[high]) <= real <= max(lags[low], lags[high]):
            steps = round((high - low) * 100)
            return [round(low + i / 100, 2) for i in range(1, steps)]
    return []


def fit(
    shares: Sequence[float] = FIT_SHARES, seeds: Sequence[int] = FIT_SEEDS, refine: bool = True
) -> list[str]:
    """The fit's table (coarse grid, then the fine one), the share nearest the real lag
    marked."""
    real = real_data()["resharding"]["pipeline10"]["MOVED_lag_ms"]
    lags = median_lags(shares, seeds)
    if refine:
        lags |= median_lags(fine_shares(lags, real), seeds)
    best = min(sorted(lags), key=lambda share: abs(lags[share] - real))
    lines = [f"pipeline 10's MOVED lag, real {real} ms; rcsim median over {len(seeds)} seeds:"]
    lines += [
        f"  share {share:.2f}: {lags[share]:.2f} ms{'  <- nearest' if share == best else ''}"
        for share in sorted(lags)
    ]
    return lines


def fit_pipeline_1(
    shares: Sequence[float] = FIT_SHARES,
    seeds: Sequence[int] = FIT_SEEDS_PIPELINE_1,
    refine: bool = True,
) -> list[str]:
    """The fit of ``CALIBRATION_CLIENT_RATE_IN_MOVES_PIPELINE_1``: as :func:`fit`, on the
    one statistic of pipeline 1's client it reads, the requests a ms in the moves
    (``real_ops_per_ms_in_moves``); never the ASK count or the redirections."""
    real = round(real_ops_per_ms_in_moves(real_data()["resharding"]["pipeline1"]), 2)
    rates = median_lags(shares, seeds, statistic=ops_in_moves)
    if refine:
        rates |= median_lags(fine_shares(rates, real), seeds, statistic=ops_in_moves)
    best = min(sorted(rates), key=lambda share: abs(rates[share] - real))
    lines = [
        f"pipeline 1's client requests a ms in the moves, real {real}; "
        f"rcsim median over {len(seeds)} seeds:"
    ]
    lines += [
        f"  share {share:.2f}: {rates[share]:.2f}{'  <- nearest' if share == best else ''}"
        for share in sorted(rates)
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(fit_pipeline_1() if sys.argv[1:] == ["--pipeline", "1"] else fit()))
