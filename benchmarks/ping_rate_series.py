"""The whole cluster's PING count per simulated second, to see whether traffic is steady.

Issue 12 / docs/benchmarks.md "Round 7" found "ping storms" every ~NT/2 in the
converged 300-node cluster. This prints, per simulated second, the PINGs every node
sent (``BusStats``, as ``CLUSTER INFO``'s ``cluster_stats_messages_ping_sent`` would
count them), for the converged start or a cluster built by MEET (``--fresh``), and a
summary (peak / median) comparable to the real cluster's series
(tests/data/real-redis-ping-series.json).

    .venv/bin/python -m benchmarks.ping_rate_series 15 40          # 15+15, 0-40 s
    .venv/bin/python -m benchmarks.ping_rate_series 150 40 --spread 100
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence

from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.messages import MsgType
from simulator.trace import Trace


def ping_series(
    masters: int,
    seconds: int,
    *,
    nt: int = 15000,
    seed: int = 1,
    spread_ms: int = 100,
    converged: bool = True,
) -> list[int]:
    """PINGs the whole cluster sent in each simulated second 0..seconds-1 (masters with
    one replica each, node timeout ``nt``, cron phases spread over ``spread_ms``)."""
    engine = Engine(seed)
    cluster = Cluster(
        engine,
        Trace(),
        standard_topology(masters, 1),
        {"cluster-node-timeout": nt},
        converged=converged,
        cron_phase_spread_ms=spread_ms,
    )
    stats = cluster.bus_stats
    count = len(cluster.nodes)

    def total() -> int:
        return sum(stats.node(i).sent[MsgType.PING] for i in range(count))

    series: list[int] = []
    last = total()
    for second in range(seconds):
        engine.run_until((second + 1) * 1000)
        now = total()
        series.append(now - last)
        last = now
    return series


def summary(series: Sequence[int]) -> dict[str, float]:
    """Peak, median and their ratio of a per-second series (the storm measure)."""
    median = statistics.median(series)
    peak = max(series)
    return {
        "median": median,
        "peak": peak,
        "peak_over_median": peak / median if median else float("inf"),
        "mean": statistics.fmean(series),
    }


def ripple_period(series: Sequence[int], lags: range = range(3, 13)) -> tuple[int, float]:
    """The lag (seconds) at which the series best correlates with itself, and that
    correlation: storms every ~NT/2 give a lag near NT/2 with a high correlation."""
    mean = statistics.fmean(series)
    dev = [v - mean for v in series]
    power = sum(d * d for d in dev) or 1.0
    best = (lags[0], -2.0)
    for lag in lags:
        pairs = len(dev) - lag
        corr = sum(dev[i] * dev[i + lag] for i in range(pairs)) / power * len(dev) / pairs
        if corr > best[1]:
            best = (lag, corr)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("masters", type=int)
    parser.add_argument("seconds", type=int)
    parser.add_argument("--nt", type=int, default=15000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--spread", type=int, default=100, help="cron phase spread, ms")
    parser.add_argument("--fresh", action="store_true", help="build by MEET, not converged")
    parser.add_argument("--skip", type=int, default=0, help="seconds left out of the summary")
    args = parser.parse_args(argv)
    series = ping_series(
        args.masters,
        args.seconds,
        nt=args.nt,
        seed=args.seed,
        spread_ms=args.spread,
        converged=not args.fresh,
    )
    print(" ".join(str(v) for v in series))
    print({k: round(v, 2) for k, v in summary(series[args.skip :]).items()})
    lag, corr = ripple_period(series[args.skip :])
    print(f"ripple: best lag {lag} s, autocorrelation {corr:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
