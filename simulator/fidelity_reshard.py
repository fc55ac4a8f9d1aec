"""The reshard-under-load experiment of ``resharding.json``, re-run in rcsim (§16).

The real set-up (tests/data/README.md): 3 masters without replicas, node timeout 5 s;
300 keys in each of the source's first 200 slots and 3000 keys elsewhere; one client
thread sending one command at a time, half SET and half GET, 80 % of them to the hot
keys, with its own slot map (MOVED updates it, ASK sends ASKING + the command once).
After a second, ``redis-cli --cluster reshard`` moves 100 slots from the first master
to the second, with ``--cluster-pipeline`` 10 (the default) or 1.

What is compared: the redirections the client saw (MOVED, ASK, in how many slots, the
most in one slot) and how long the reshard took. The client's rate is the rate the real
one reached in the second before the reshard (33.2k and 30.0k ops/s), and a share of it
while redis-cli moves slots, with the per-command spread of a real client on such a host
from the reshard on (the harness's shared host: :mod:`simulator.fidelity_reshard_client`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from simulator.dataplane import install
from simulator.dataplane.actions import add_client
from simulator.fidelity import Row, median, real_data
from simulator.fidelity_rebalance import rebalance_rows
from simulator.fidelity_reshard_client import (
    calibrated_share,
    exponential_mean_interval,
    first_moved_times,
    jitter,
    moved_excess_ms,
    moved_lag_ms,
    ops_per_ms_in_moves,
    real_ops_per_ms_in_moves,
    slow_during_job,
)
from simulator.simulation import Simulation
from simulator.slots import CLUSTER_SLOTS, key_hash_slot

if TYPE_CHECKING:
    from simulator.dataplane.model import ClusterData
    from simulator.dataplane.resharding import Job

HOT_SLOTS = 200
KEYS_PER_HOT_SLOT = 300
COLD_KEYS = 3000
HOT_SHARE = 0.8
MOVED_SLOTS = 100
WARM_UP_MS = 10
JOB_LIMIT_MS = 60_000
TAIL_MS = 200
"""After the job: long enough for the client to touch every moved slot once more."""


@cache
def slot_tags() -> tuple[str, ...]:
    """A hash tag for every slot: the first ``t<i>`` that hashes there (computed once:
    it hashes ~170,000 candidates)."""
    tags: dict[int, str] = {}
    i = 0
    while len(tags) < CLUSTER_SLOTS:
        tags.setdefault(key_hash_slot(f"t{i}"), f"t{i}")
        i += 1
    return tuple(tags[slot] for slot in range(CLUSTER_SLOTS))


def run_job(sim: Simulation, job: Job, limit_ms: int = JOB_LIMIT_MS) -> bool:
    """Run until redis-cli's job is done (``True``) or ``limit_ms`` passed (``False``)."""
    deadline = sim.now + limit_ms
    while not job.done and sim.now < deadline:
        sim.run_for(20)
    return job.done


def loaded_cluster(
    rate: float, seed: int = 1, hot_slots: int = HOT_SLOTS, per_slot: int = KEYS_PER_HOT_SLOT
) -> tuple[Simulation, ClusterData]:
    """The measured starting state with the one-thread client already running."""
    sim = Simulation(masters=3, replicas=0, seed=seed, config={"cluster-node-timeout": 5000})
    dp = install(sim)
    tags = slot_tags()
    hot = [f"{{{tags[slot]}}}:{j}" for slot in range(hot_slots) for j in range(per_slot)]
    cold: list[str] = []
    i = 0
    while len(cold) < COLD_KEYS:
        key = f"cold:{i}"
        i += 1
        if key_hash_slot(key) >= hot_slots:
            cold.append(key)
    dp.populate(dict.fromkeys(hot + cold, "v0"))
    # Each cold key appears this many times in the pick list, so 80 % of picks are hot.
    weight = round((1 - HOT_SHARE) / HOT_SHARE * len(hot) / len(cold))
    add_client(dp, "app", key_list=hot + cold * weight, writes=0.5, closed_loop=True).set_workload(
        rate=rate
    )
    sim.run_for(WARM_UP_MS)
    return sim, dp


class ReshardRun:
    """One re-run: 100 slots from n1 to n2 while the client runs."""

    def __init__(
        self,
        pipeline: int,
        seed: int = 1,
        client_share: float | None = None,
        client_jitter: bool = True,
    ) -> None:
        """``client_share``: the client's share of its rate in the moves, by default the
        run's calibration (:func:`~simulator.fidelity_reshard_client.calibrated_share`)."""
        self.real: dict[str, Any] = real_data()["resharding"][f"pipeline{pipeline}"]
        self.sim, self.dp = loaded_cluster(self.real["client_ops_per_s_before"], seed)
        if client_jitter:  # the real client's per-command spread, from the reshard on
            jitter(self.sim, self.dp.clients["app"])
        started = self.started = self.sim.now
        self.job: Job = self.sim.inject(
            "reshard", source="n1", target="n2", count=MOVED_SLOTS, pipeline=pipeline
        )
        # The real client slowed while redis-cli ran (the harness's shared host, not Redis).
        share = calibrated_share(pipeline) if client_share is None else client_share
        slow_during_job(self.sim, self.dp.clients["app"], share, self.job)
        run_job(self.sim, self.job)
        done = self.sim.trace.of_kind("reshard_done")
        self.duration_ms: int | None = done[-1]["t"] - started if done else None
        self.sim.run_for(TAIL_MS)

    def redirects(self) -> list[dict[str, Any]]:
        return [e for e in self.sim.trace.of_kind("request") if e["outcome"] in ("moved", "ask")]

    def moved_lag_ms(self) -> float:
        """:func:`~simulator.fidelity_reshard_client.moved_lag_ms` of this run's MOVED replies."""
        return moved_lag_ms(first_moved_times(self.sim.trace.events))

    def moved_excess_ms(self) -> float:
        """:func:`~simulator.fidelity_reshard_client.moved_excess_ms` of this run."""
        return moved_excess_ms([(e["t"], e["outcome"], e["slot"]) for e in self.redirects()])[0]

    def ops_per_ms_in_moves(self) -> float:
        """The client's completed requests a ms while redis-cli ran (its own count)."""
        if self.duration_ms is None:
            raise ValueError("the reshard did not finish")
        end = self.started + self.duration_ms
        return ops_per_ms_in_moves(self.sim.trace.events, "app", self.started, end)

    def asks_per_slot(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for e in self.redirects():
            if e["outcome"] == "ask":
                counts[e["slot"]] += 1
        return dict(counts)

    def metrics(self) -> dict[str, float | None]:
        outcomes = self.dp.requests_by_outcome()
        per_slot = self.asks_per_slot()
        return {
            "reshard_wall_ms": self.duration_ms,
            "MOVED": outcomes["moved"],
            "MOVED_lag_ms": self.moved_lag_ms(),
            "client_ops_per_ms_in_moves": self.ops_per_ms_in_moves(),
            "MOVED_excess_ms": self.moved_excess_ms(),
            "ASK": outcomes["ask"],
            "slots_with_ASK": len(per_slot),
            "max_ASK_per_slot": max(per_slot.values(), default=0),
        }


def poisson_interval(count: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Garwood) interval for the mean of a Poisson count seen once: how far a
    second real run of the same experiment could plausibly land."""
    tail = (1 - level) / 2

    def cdf(k: int, mean: float) -> float:
        return sum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k + 1))

    def solve(target: float, k: int) -> float:
        low, high = 1e-9, 10.0 * (count + 10)
        for _ in range(100):
            mid = (low + high) / 2
            if cdf(k, mid) > target:
                low = mid
            else:
                high = mid
        return (low + high) / 2

    lower = 0.0 if count == 0 else solve(1 - tail, count - 1)
    return lower, solve(tail, count)


def max_per_cell_interval(count: int, cells: int, level: float = 0.95) -> tuple[int, int]:
    """Where the largest of ``cells`` chance counts may fall in a run whose total is
    plausibly ``count`` (the most ASKs in one slot, §16.3).

    Every moved slot is open for the same stretch of the reshard, so a slot's ASKs are a
    Poisson count of mean ``total / cells``, and the largest of ``cells`` such counts is
    below ``m`` with probability ``F(m)^cells`` (``F`` the Poisson distribution
    function). The low end is that maximum's lower ``(1 - level) / 2`` quantile at the
    low end of ``count``'s own Poisson interval, the high end its upper quantile at the
    high end: one real run's maximum is a draw from this range, not a property of the
    model. (11 ASKs in 100 slots land in 11 different slots with probability
    ``Π(1 - i/100)``, i < 11: 0.57.)"""
    tail = (1 - level) / 2
    low_total, high_total = poisson_interval(count, level)

    def quantile(total: float, share: float) -> int:
        mean = total / cells
        term = cdf = math.exp(-mean)
        m = 0
        while cdf**cells < share:
            m += 1
            term *= mean / m
            cdf += term
        return m

    return quantile(low_total, tail), quantile(high_total, 1 - tail)


METRICS = (
    "reshard_wall_ms",
    "MOVED",
    "MOVED_lag_ms",
    "client_ops_per_ms_in_moves",
    "MOVED_excess_ms",
    "ASK",
    "slots_with_ASK",
    "max_ASK_per_slot",
)
"""The rows of each reshard. ``MOVED_lag_ms`` (how long after its move the client first
reached a slot, :func:`~simulator.fidelity_reshard_client.moved_lag_ms`) is the statistic
``CALIBRATION_CLIENT_RATE_IN_MOVES`` was fitted on, pipeline 10's only: with pipeline 1
the real redis-cli's pace varied (its MOVED times bend away from a line, so the
statistic measures that, 119 ms, not the client). ``client_ops_per_ms_in_moves`` (the
client's requests a ms while redis-cli ran, from the real op counts with
``HARNESS_TAIL_MS``) is what ``CALIBRATION_CLIENT_RATE_IN_MOVES_PIPELINE_1`` was fitted
on, and pipeline 10's check; ``MOVED_excess_ms`` (the client's wait for a slot once a
later one had moved, :func:`~simulator.fidelity_reshard_client.moved_excess_ms`, bounded
by the 95 % interval of the real mean of that many exponential waits) and the
redirection rows check both."""

OPS_IN_MOVES = "client_ops_per_ms_in_moves"

COUNTED = ("ASK", "slots_with_ASK")
"""Metrics that are counts of chance encounters: bounded by their Poisson interval.
The most ASKs in one slot is the largest of 100 such counts
(:func:`max_per_cell_interval`); MOVED (one per slot by construction) and the duration
use the usual 15 % rule."""


def reshard_rows(seeds: Sequence[int]) -> list[Row]:
    """Both measured reshards (:func:`reshard_run_rows`), then the three rebalances of the
    same file (:mod:`simulator.fidelity_rebalance`): the check, on a different
    measurement, of the cost constants fitted on the reshards."""
    rows: list[Row] = []
    for key in real_data()["resharding"]:
        rows += reshard_run_rows(key, seeds)
    return rows + rebalance_rows(seeds)


def reshard_run_rows(key: str, seeds: Sequence[int]) -> list[Row]:
    """One measured reshard (``pipeline10`` or ``pipeline1``), ``len(seeds)`` re-runs."""
    pipeline = real_data()["resharding"][key]["pipeline"]
    return rows_of_runs(key, [ReshardRun(pipeline, seed).metrics() for seed in seeds])


def rows_of_runs(key: str, runs: Sequence[dict[str, float | None]]) -> list[Row]:
    """The rows of measured reshard ``key`` from its re-runs' :meth:`ReshardRun.metrics`
    (apart from :func:`reshard_run_rows` so that tests/test_fidelity_reshard_client.py
    can build them from runs it also reads for other checks, made once)."""
    real = real_data()["resharding"][key]
    rows: list[Row] = []
    for metric in METRICS:
        if metric not in real and metric != OPS_IN_MOVES:
            continue  # MOVED_lag_ms: pipeline 10 only (the calibration's fit)
        value = real_ops_per_ms_in_moves(real) if metric == OPS_IN_MOVES else real[metric]
        if metric in COUNTED:
            low, high = poisson_interval(real[metric])
        elif metric == "MOVED_excess_ms":
            low, high = exponential_mean_interval(value, real["MOVED_excess_count"])
        elif metric == "max_ASK_per_slot":
            low, high = max_per_cell_interval(real["ASK"], MOVED_SLOTS)
        else:
            low, high = value, value
        rows.append(
            Row(
                f"reshard 100 slots under load, {key}",
                metric,
                value,
                low,
                high,
                median([r[metric] for r in runs]),
                len(runs),
            )
        )
    return rows
