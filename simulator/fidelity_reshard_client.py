"""The reshard experiment's measuring client while redis-cli moves slots (harness, §16.3).

``resharding.json`` was measured on one 2-core host shared by the client thread,
redis-cli and the three servers. During the moves the real client ran slower than in
the second before them, which rcsim's one-thread client (``closed_loop``, started at the
real pre-reshard rate) does not do by itself: rcsim has no CPU-contention model. That
slowdown is a property of the *measurement's harness*, not of Redis, so it lives here,
in the fidelity experiment, and nowhere in the model or in user scenarios.

It is one calibration per measured run: the share of its pre-reshard rate the client's
own side runs at from redis-cli's first command to its last (the time the client spends
waiting on a server is the model's, unchanged). :data:`CALIBRATION_CLIENT_RATE_IN_MOVES`
(pipeline 10) is fitted on one statistic only, :func:`moved_lag_ms` of that run's MOVED
replies (how long after its move the client first reached a slot);
:data:`CALIBRATION_CLIENT_RATE_IN_MOVES_PIPELINE_1` on one statistic of its own run,
the client's requests a ms in the moves from the op counts. How much the host slowed the
client depended on what redis-cli was doing (both runs' op counts and MOVED replies say
so), so one share does not carry over. Each is checked on what it was not fitted to:
the ASK counts, the slots with an ASK, the most in one slot, the MOVED replies' timing
(:func:`moved_excess_ms`) and both durations (docs/fidelity.md, "How much the reshard
experiment's shared host slowed its measuring client").

Nor is a real client's time per command exact: with ``ReshardRun``'s ``client_jitter``,
:func:`jitter` draws it, command by command, from
:data:`CALIBRATION_CLIENT_OWN_TIME_FACTORS`, the spread of a real one-thread client's
per-command time on the same kind of host (measured, not fitted). Without it rcsim's
client locks onto redis-cli's MIGRATE-batch cycle and the MOVED lag is a step in the
share, not a slope (docs/fidelity.md).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.dataplane.clients import Client
    from simulator.dataplane.resharding import Job
    from simulator.simulation import Simulation
    from simulator.trace import TraceEvent

CALIBRATION_CLIENT_RATE_IN_MOVES = 0.60
"""The measuring client's own-side rate during redis-cli's moves with pipeline 10, as a
share of its rate in the second before them. Fitted on pipeline 10's MOVED lag only (real 25.04 ms,
:func:`moved_lag_ms` of ``resharding.json``'s ``redirect_events``; ``MOVED_lag_ms`` in
``simulator/data/real_redis_medians.json``), with the client's jitter
(:data:`CALIBRATION_CLIENT_OWN_TIME_FACTORS`) in place: of the shares 0.50, 0.55, ...
1.00 and the hundredths between the two that bracket the real lag, the one whose rcsim
median over seeds 0-29 comes nearest, 24.82 ms (0.55 gives 25.68, 0.65 22.62, 1.00
14.88: table in docs/fidelity.md; 0.65 before the jitter, when the lag was a step)."""


CALIBRATION_CLIENT_RATE_IN_MOVES_PIPELINE_1 = 0.75
"""The same share for the run with ``--cluster-pipeline 1``, fitted on that run's own
measurement of the client in the moves: the requests a ms :func:`real_ops_per_ms_in_moves`
gives from its op counts (20.21), matched by rcsim's median over seeds 0-9
(:func:`ops_per_ms_in_moves`; ``python -m simulator.fidelity_reshard_fit --pipeline 1``):
of the shares 0.50, 0.55 ... 1.00 and the hundredths between the two that bracket it,
0.75 comes nearest, 20.24 (0.60, pipeline 10's share, gives 16.27; 0.70 18.70; 0.80
21.75; 1.00 27.59).
Pipeline 10's share does not carry over: the slowdown is the shared host's, and the
real op counts and MOVED replies both say the client lost less of its rate while
redis-cli moved keys one by one (docs/fidelity.md). Checked on what it was not fitted
to: the ASK count, the slots with an ASK, the most in one slot, and the MOVED replies'
timing (:func:`moved_excess_ms`)."""

HARNESS_TAIL_MS = 1000.0
"""How long the real client ran on after redis-cli returned: assumed to be the second
it ran before (tests/data/README.md: "After 1 s the harness runs redis-cli"), since
``resharding.json`` holds only the whole run's op count. Checked on pipeline 10: with
it the real client made 10.9 requests a ms in that run's moves, rcsim's client at the
share fitted on the MOVED lag alone 11.0 (a tail of 0.9 s would give 17.4)."""


def calibrated_share(pipeline: int) -> float:
    """The calibrated share of the client's rate in the moves for a measured run."""
    return (
        CALIBRATION_CLIENT_RATE_IN_MOVES_PIPELINE_1
        if pipeline == 1
        else CALIBRATION_CLIENT_RATE_IN_MOVES
    )


def real_ops_per_ms_in_moves(real: Mapping[str, float]) -> float:
    """The real client's requests a ms from redis-cli's start to its end: the requests
    after the start less :data:`HARNESS_TAIL_MS` at the pre-reshard rate, over the
    reshard's duration (``real``: a run of ``real_redis_medians.json``'s
    ``resharding``)."""
    tail = HARNESS_TAIL_MS * real["client_ops_per_s_before"] / 1000
    return (real["client_ops_after_start"] - tail) / real["reshard_wall_ms"]


def ops_per_ms_in_moves(
    events: Sequence[TraceEvent], client: str, start: float, end: float
) -> float:
    """rcsim's side of :func:`real_ops_per_ms_in_moves`: the requests ``client`` completed
    (its ``ok`` replies) from ``start`` to ``end``, a ms."""
    done = sum(
        1
        for e in events
        if e["kind"] == "request"
        and e["client"] == client
        and e["outcome"] == "ok"
        and start <= e["t"] <= end
    )
    return done / (end - start)


def moved_excess_ms(redirects: Sequence[tuple[float, str, int]]) -> tuple[float, int]:
    """How long the client took to reach a slot once it had surely moved: for each moved
    slot but the last, the wait from the first redirection of any later slot (redis-cli
    moves one slot at a time, so the slot was done by then) to the slot's own first
    MOVED, where that came later; their mean (ms) and how many. A request stream to a
    slot with no memory makes each such wait exponential with the mean gap between the
    client's requests to one slot, whatever redis-cli's pace, so this reads the client's
    rate in the moves from the redirections alone, without :func:`moved_lag_ms`'s line.
    ``redirects``: ``(t_ms, "moved" | "ask", slot)`` in any order."""
    moved: dict[int, float] = {}
    first: dict[int, float] = {}
    for t, kind, slot in sorted(redirects):
        if kind.lower() == "moved":
            moved.setdefault(slot, t)
        first.setdefault(slot, t)
    slots = sorted(first)
    waits: list[float] = []
    for i, slot in enumerate(slots[:-1]):
        surely_moved = min(first[later] for later in slots[i + 1 :])
        if slot in moved and moved[slot] > surely_moved:
            waits.append(moved[slot] - surely_moved)
    if not waits:
        raise ValueError("moved_excess_ms needs a slot reached after a later one")
    return statistics.fmean(waits), len(waits)


def exponential_mean_interval(mean: float, count: int, level: float = 0.95) -> tuple[float, float]:
    """Where the true mean of exponential waits lies, given ``count`` of them averaging
    ``mean``: their sum is Gamma(count); its quantiles found from the Poisson
    distribution function (P(Gamma(n) <= x) = P(Poisson(x) >= n))."""
    tail = (1 - level) / 2

    def gamma_quantile(share: float) -> float:
        low, high = 0.0, 10.0 * (count + 10)
        for _ in range(100):
            mid = (low + high) / 2
            term = below = math.exp(-mid)
            for i in range(1, count):
                term *= mid / i
                below += term
            if 1 - below < share:
                low = mid
            else:
                high = mid
        return (low + high) / 2

    total = mean * count
    return total / gamma_quantile(1 - tail), total / gamma_quantile(tail)


def _own_time_factors() -> tuple[float, ...]:
    text = resources.files("simulator").joinpath("data/real_redis_client_own_time.json")
    runs: list[list[float]] = json.loads(text.read_text())["runs"]
    return tuple(sample / statistics.fmean(run) for run in runs for sample in run)


CALIBRATION_CLIENT_OWN_TIME_FACTORS = _own_time_factors()
"""The measuring client's own time per command as multiples of its mean, one per real
command: the 600 client-side round trips of ``CLUSTER GETKEYSINSLOT`` on an empty slot
(next to no server work) that ``tests/data/setslot-cost-idle.json`` holds, from a
one-thread raw RESP client over loopback on a 2-core host shared with other work, each
divided by its run's mean (packaged as ``simulator/data/real_redis_client_own_time.json``).
Their median is 0.93, their 10th-90th percentiles 0.82-1.17, the largest 4.5: a client
on a shared host is mostly a little faster than its mean and now and then descheduled.
A measurement, not a fit; its mean is 1, so the client's rate stays the one it is set
to. Simplified: the whole round trip's spread is put on the client's own side (the
server's part of an empty GETKEYSINSLOT is a few microseconds), and draws are
independent (the real stalls may come in runs)."""


def jitter(
    sim: Simulation,
    client: Client,
    factors: tuple[float, ...] = CALIBRATION_CLIENT_OWN_TIME_FACTORS,
) -> None:
    """Give ``client`` a per-command own time of ``1000/rate`` ms times a factor drawn
    from ``factors`` for each command, from the seeded stream ``<client>:own-time``
    (its own stream: the keys the client picks are the ones it picks without jitter)."""
    rng = sim.engine.rng(f"{client.name}:own-time")

    def own_time(period: float) -> float:
        return period * factors[rng.randrange(len(factors))]

    client.own_time = own_time


def moved_lag_ms(first_moved: Mapping[int, float]) -> float:
    """How long after its move the client first reached a slot, on average: the mean of
    each slot's first-MOVED time above the lower envelope of the least-squares line of
    those times against slot number (the slots move one after another at a steady pace,
    so the line's lowest point marks a slot reached at once). ``first_moved``: slot →
    time of its MOVED reply, ms (at least two slots)."""
    slots = sorted(first_moved)
    if len(slots) < 2:
        raise ValueError("moved_lag_ms needs the MOVED times of at least two slots")
    mean_slot = sum(slots) / len(slots)
    mean_t = sum(first_moved[s] for s in slots) / len(slots)
    slope = sum((s - mean_slot) * (first_moved[s] - mean_t) for s in slots) / sum(
        (s - mean_slot) ** 2 for s in slots
    )
    residuals = [first_moved[s] - (mean_t + slope * (s - mean_slot)) for s in slots]
    low = min(residuals)
    return sum(r - low for r in residuals) / len(residuals)


def first_moved_times(events: list[TraceEvent]) -> dict[int, float]:
    """slot → time of the first MOVED reply a client got for it, from ``request`` events."""
    times: dict[int, float] = {}
    for e in events:
        if e["kind"] == "request" and e["outcome"] == "moved":
            times.setdefault(e["slot"], float(e["t"]))
    return times


def slow_during_job(sim: Simulation, client: Client, share: float, job: Job) -> None:
    """Run ``client`` at ``share`` of its rate until redis-cli's ``job`` is done (its
    ``reshard_done`` event), then at its rate again from that instant on (a closed-loop
    client takes the new rate from its next command)."""
    rate = client.rate
    client.set_workload(rate=rate * share)

    def restore(event: TraceEvent) -> None:
        if event["kind"] == "reshard_done" and job.done:
            client.set_workload(rate=rate)
            sim.trace.unsubscribe(restore)

    sim.trace.subscribe(restore)
