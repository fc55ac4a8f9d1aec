"""The real-Redis experiments, re-run in rcsim with the same method.

Each experiment rebuilds what the harness did on real Redis 7.0.15 (the shared
real-redis README): a fresh cluster, pollers that send ``CLUSTER NODES`` +
``CLUSTER INFO`` to every remaining node every 20 ms, a signal, and times measured
from the signal as the first poll that shows the change. Polls also wake the
node's event loop, as real ones do, which is what lets flagged work
(``clusterBeforeSleep``) run between cron ticks.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from simulator.messages import FAIL, MASTER, PFAIL
from simulator.node import RUNNING, Node
from simulator.simulation import Simulation

POLL_PERIOD_MS = 20
# The harness started every redis-server at once, so their crons ran within a few ms
# of each other (the real PFAIL times of all observers fall within ~5 ms).
HARNESS_PHASE_SPREAD_MS = 5
NO_CHECKPOINTS = None  # headless: no checkpoints, no rewind

Observation = Callable[[str, Node, int], None]


class Pollers:
    """One poller per observed node, every 20 ms.

    By default each at a random phase. With ``grid_at`` every poller polls at
    ``grid_at + 20·k``: the real harness's pollers kept a 20 ms grid that its signals
    fell on (every poll-based time in partition-behaviour.json and failover-timing.json
    lies within a few ms of a multiple of 20 ms after the signal; docs/fidelity.md,
    "The harness's poll grid"), which matters for a milestone a fixed few ms after a
    second signal (SIGCONT, restart) sent at a known lateness after the grid.
    ``offsets`` shifts a node's polls by whole ms off that grid (the manual-failover
    harness's pollers each kept their own phase: :func:`simulator.fidelity_manual.locked_pollers`).
    """

    def __init__(
        self,
        sim: Simulation,
        nodes: Iterable[str],
        observe: Observation,
        grid_at: int | None = None,
        offsets: Mapping[str, int] | None = None,
    ) -> None:
        self.sim = sim
        self.observe = observe
        if grid_at is not None:
            now = sim.engine.now
            for name in nodes:
                shift = 0 if offsets is None else offsets.get(name, 0)
                first = now + (grid_at + shift - now) % POLL_PERIOD_MS
                sim.engine.schedule_at(first, self.poll, name)
            return
        rng = sim.engine.rng("pollers")
        for name in nodes:
            sim.engine.schedule(rng.randrange(POLL_PERIOD_MS), self.poll, name)

    def poll(self, name: str) -> None:
        self.sim.engine.schedule(POLL_PERIOD_MS, self.poll, name)
        node = self.sim.cluster.nodes.get(name)
        if node is None or node.status != RUNNING:
            return
        node.wake()
        self.observe(name, node, self.sim.engine.now)


def _first(times: dict[str, int], key: str, t: int) -> None:
    if key not in times:
        times[key] = t


def _new_sim(masters: int, replicas: int, nt: int, seed: int, **config: Any) -> Simulation:
    """A fresh cluster built the way ``redis-cli --cluster create`` builds it (MEET, REPLICATE)."""
    settings = {"cluster-node-timeout": nt, **config}
    return Simulation(
        masters=masters,
        replicas=replicas,
        config=settings,
        seed=seed,
        converged=False,
        checkpoint_ms=NO_CHECKPOINTS,
        cron_phase_spread_ms=HARNESS_PHASE_SPREAD_MS,
    )


def run_until_true(
    sim: Simulation, predicate: Callable[[], bool], limit: int, slice_ms: int = 10
) -> bool:
    """Advance in ``slice_ms`` slices until ``predicate()`` holds or ``limit`` is reached.

    Milestones come from the pollers' observations, so checking the stop condition
    every few ms only decides when to stop, cheaply (no per-event predicate).
    """
    while not predicate():
        if sim.now >= limit:
            return False
        sim.run_until(min(limit, sim.now + slice_ms))
    return True


def healthy(sim: Simulation) -> bool:
    """The harness's "healthy": all ok, everyone knows everyone, agreement, replicas linked."""
    nodes = list(sim.cluster.nodes.values())
    roles = {n.name: n.master_name for n in nodes}
    for node in nodes:
        if node.state != "ok" or len(node.peers) != len(nodes):
            return False
        if not node.is_master and not node.repl_link_up:
            return False
        # ... and it agrees with everyone about roles ("all nodes agree on ... roles").
        for name, peer in node.peers.items():
            if peer.master != roles[name] or bool(peer.flags & MASTER) != (roles[name] is None):
                return False
    replicas = sum(1 for spec in sim.specs if spec.role == "replica")
    return sim.cluster.agree() and sum(1 for n in nodes if not n.is_master) == replicas


def _warm_up(sim: Simulation, nt: int) -> int:
    """Wait until healthy (checked every 100 ms, as the harness polls), then 0.3 s of polling."""
    if not run_until_true(sim, lambda: healthy(sim), 60_000, slice_ms=100):
        raise RuntimeError("the fresh cluster never became healthy")
    # The signal lands at a random moment of the nodes' 100 ms cron period.
    return sim.now + 300 + sim.engine.rng("experiment").randrange(100)


# ---------------------------------------------------------------------------- failover timing


def failover_timing(
    masters: int, replicas: int, nt: int, signal: str, seed: int
) -> dict[str, float | str | None]:
    """``failover-timing.json``: SIGKILL or SIGSTOP a master, time PFAIL, FAIL, promotion, all ok."""
    sim = _new_sim(masters, replicas, nt, seed)
    victim = f"n{seed % masters + 1}"
    remaining = [n for n in sim.cluster.nodes if n != victim]
    candidates = [spec.name for spec in sim.specs if spec.replica_of == victim]
    times: dict[str, int] = {}
    promoted: list[str] = []
    ok_after: dict[str, int] = {}

    def observe(name: str, node: Node, now: int) -> None:
        if name in candidates and node.is_master and not promoted:
            promoted.append(name)
            _first(times, "promotion_self", now)
        peer = node.peers.get(victim)
        if peer is not None:
            if peer.flags & PFAIL:
                _first(times, "first_pfail_any", now)
            if peer.flags & FAIL:
                _first(times, "first_pfail_any", now)
                _first(times, "first_fail_any", now)
        if "first_fail_any" in times:
            if node.state == "ok":
                ok_after.setdefault(name, now)
            else:
                ok_after.pop(name, None)

    start = _warm_up(sim, nt)
    Pollers(sim, remaining, observe)
    sim.run_until(start)
    sim.inject("kill" if signal == "SIGKILL" else "pause", node=victim)
    trace_start = len(sim.trace)

    def done() -> bool:
        return "promotion_self" in times and len(ok_after) == len(remaining)

    run_until_true(sim, done, start + 30 * nt)
    result: dict[str, float | str | None] = {
        key: (times[key] - start if key in times else None)
        for key in ("first_pfail_any", "first_fail_any", "promotion_self")
    }
    result["all_ok"] = (
        (max(ok_after.values()) - start) if len(ok_after) == len(remaining) and promoted else None
    )
    result["winner"] = promoted[0] if promoted else None
    scheduled = [
        e
        for e in sim.trace.events[trace_start:]
        if e["kind"] == "election_scheduled" and e.get("node") in promoted
    ]
    result["winner_rank"] = scheduled[0]["rank"] if scheduled else None
    result["election_delay"] = scheduled[0]["delay_ms"] if scheduled else None
    return result


def offset_lag(seed: int, nt: int = 2000) -> dict[str, Any]:
    """``offset_lag_experiment``: one replica of the victim lags; the other must win."""
    sim = _new_sim(3, 2, nt, seed)
    victim = f"n{seed % 3 + 1}"
    replicas = [spec.name for spec in sim.specs if spec.replica_of == victim]
    lagging = replicas[seed % 2]
    start = _warm_up(sim, nt)
    sim.run_until(start)
    # Writes the lagging replica never received: the master and the other replica move
    # ahead (40 MB, as in the real run), and heartbeats carry the new offsets around.
    ahead = 40_000_000
    sim.cluster.node(victim).repl_offset += ahead
    for name in replicas:
        if name != lagging:
            sim.cluster.node(name).repl_offset += ahead
    start += 2 * nt
    sim.run_until(start)
    sim.inject("kill", node=victim)
    mark = len(sim.trace)
    run_until_true(
        sim, lambda: sim.trace.first("promoted", target=victim) is not None, start + 30 * nt
    )
    promoted = [e for e in sim.trace.events[mark:] if e["kind"] == "promoted"]
    ranks = {
        e["node"]: e["rank"] for e in sim.trace.events[mark:] if e["kind"] == "election_scheduled"
    }
    return {
        "lagging": lagging,
        "winner": promoted[0]["node"] if promoted else None,
        "ranks": ranks,
    }


# ---------------------------------------------------------------------------- partitions (SIGSTOP)


def majority_stopped(nt: int, seed: int) -> dict[str, float | None]:
    """A: two of three masters hung; the survivor goes fail, no promotion, rejoin delay on resume."""
    sim = _new_sim(3, 1, nt, seed)
    survivor, stopped = "n1", ["n2", "n3"]
    times: dict[str, int] = {}
    phase = {"resumed": 0}

    def observe(name: str, node: Node, now: int) -> None:
        if name != survivor:
            return
        if not phase["resumed"] and node.state == "fail":
            _first(times, "survivor_state_fail", now)
        if phase["resumed"] and node.state == "ok":
            _first(times, "after_resume_survivor_state_ok", now - phase["resumed"])

    start = _warm_up(sim, nt)
    Pollers(sim, list(sim.cluster.nodes), observe)
    sim.run_until(start)
    for name in stopped:
        sim.inject("pause", node=name)
    sim.run_until(start + max(3 * nt, nt + 4000))
    for name in stopped:
        sim.inject("resume", node=name)
    phase["resumed"] = sim.now
    run_until_true(sim, lambda: "after_resume_survivor_state_ok" in times, sim.now + 10 * nt)
    promotions = sum(1 for e in sim.trace.events if e["kind"] == "promoted")
    return {
        "survivor_state_fail": times["survivor_state_fail"] - start
        if "survivor_state_fail" in times
        else None,
        "after_resume_survivor_state_ok": times.get("after_resume_survivor_state_ok"),
        "promotions": promotions,
    }


# ---------------------------------------------------------------------------- summaries


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the side-by-side table."""

    experiment: str
    metric: str
    real_median: float
    real_min: float
    real_max: float
    sim_median: float | None
    runs: int
    tolerance: float = 0.15  # the share of the real median the rcsim median may be off
    range_allowed: bool = True  # whether inside the real min–max also counts as in bounds
    sim_min: float | None = None  # rcsim's spread, shown when given
    sim_max: float | None = None
    # An absolute bound (ms) for times near zero, where a share of the median means
    # nothing: log lines have 1 ms resolution and rcsim's clock whole milliseconds.
    abs_tolerance_ms: float = 0.0
    # A reference row is printed for comparison but does not set the exit code: a real
    # figure whose conditions were not recorded (e.g. one run, host load unknown), bounded
    # instead by a controlled re-measurement in another row (docs/fidelity.md).
    reference: bool = False
    # For a time that is mostly one uniform draw (the manual FORCE election waits for the
    # next cron tick, 0-100 ms): the two-sided rank-sum p of rcsim's runs against the real
    # runs (:func:`rank_sum_p`). When given, it alone decides :attr:`within_bounds`: a
    # median of a handful of such draws moves by tens of ms from sample to sample.
    rank_p: float | None = None

    @property
    def passes(self) -> bool:
        """What ``rcsim fidelity``'s exit code counts: in bounds, or a reference row."""
        return self.reference or self.within_bounds

    @property
    def ratio(self) -> float | None:
        if self.sim_median is None or not self.real_median:
            return None
        return self.sim_median / self.real_median

    @property
    def within_bounds(self) -> bool:
        """Within 15 % (:attr:`tolerance`) of the real median, or inside the real min–max
        where that is wider."""
        if self.sim_median is None:
            return False
        if self.rank_p is not None:
            return self.rank_p >= RANK_TEST_ALPHA
        off = abs(self.sim_median - self.real_median)
        if off <= max(self.tolerance * self.real_median, self.abs_tolerance_ms):
            return True
        return self.range_allowed and self.real_min <= self.sim_median <= self.real_max


RANK_TEST_ALPHA = 0.05
"""A rank-sum row is out of bounds when rcsim's runs and the real runs differ at this level."""


def rank_sum_p(real: Sequence[float], sim: Sequence[float]) -> float:
    """Two-sided p of the Mann-Whitney rank-sum test (normal approximation with the tie
    and continuity corrections): how likely samples this far apart in rank are if both
    come from one distribution. Distribution-free, so it suits a few real runs of a time
    that is spread over a whole cron period."""
    n, m = len(real), len(sim)
    if not n or not m:
        raise ValueError("both samples need at least one value")
    pooled = sorted([(v, 0) for v in real] + [(v, 1) for v in sim])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        size = j - i + 1
        ties += size**3 - size
        i = j + 1
    u = sum(r for r, (_, side) in zip(ranks, pooled, strict=True) if side == 0) - n * (n + 1) / 2
    total = n + m
    variance = n * m / 12 * (total + 1 - ties / (total * (total - 1)))
    if variance <= 0:
        return 1.0
    z = max(0.0, abs(u - n * m / 2) - 0.5) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2))


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None


def real_data() -> dict[str, Any]:
    """The real-Redis medians rcsim is checked against (packaged with rcsim)."""
    text = resources.files("simulator").joinpath("data/real_redis_medians.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


FAILOVER_METRICS = ("first_pfail_any", "first_fail_any", "promotion_self", "all_ok")


def failover_rows(seeds: Sequence[int]) -> list[Row]:
    rows: list[Row] = []
    for key, setting in real_data()["failover_timing"].items():
        runs = [
            failover_timing(
                setting["masters"], setting["replicas"], setting["nt"], setting["signal"], seed
            )
            for seed in seeds
        ]
        for metric in FAILOVER_METRICS:
            real = setting["metrics"][metric]
            rows.append(
                Row(
                    key,
                    metric,
                    real["median"],
                    real["min"],
                    real["max"],
                    median([_number(r[metric]) for r in runs]),
                    len(runs),
                )
            )
    return rows


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def format_table(rows: Sequence[Row]) -> str:
    lines = [
        "| experiment | metric | real median [min–max] | rcsim median | ratio | ok |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        # Times of a few ms (log lines) keep their tenth of a ms, and show no ratio.
        near_zero = bool(row.abs_tolerance_ms) and abs(row.real_max) < 10
        f = ".1f" if near_zero else ".0f"
        sim = "—" if row.sim_median is None else f"{row.sim_median:{f}}"
        if row.sim_min is not None and row.sim_max is not None:
            sim += f" [{row.sim_min:{f}}–{row.sim_max:{f}}]"
        ratio = "—" if row.ratio is None or near_zero else f"{row.ratio:.2f}"
        lines.append(
            f"| {row.experiment} | {row.metric} | {row.real_median:{f}} [{row.real_min:{f}}–{row.real_max:{f}}] "
            f"| {sim} | {ratio} | {ok_cell(row)} |"
        )
    return "\n".join(lines)


def ok_cell(row: Row) -> str:
    """``yes``/``NO``; a reference row says so, lower-case, so ``| NO |`` finds failures."""
    if row.reference:
        return f"reference ({'yes' if row.within_bounds else 'no'})"
    return "yes" if row.within_bounds else "NO"


def _row(
    experiment: str, metric: str, real: dict[str, Any] | None, values: Sequence[float | None]
) -> Row | None:
    if not real or real.get("median") is None:
        return None
    return Row(
        experiment, metric, real["median"], real["min"], real["max"], median(values), len(values)
    )


def majority_stopped_rows(seeds: Sequence[int]) -> list[Row]:
    """``partition-behaviour.json`` A: two of three masters hung, per NT."""
    rows: list[Row] = []
    for nt_text, metrics in real_data()["partition"]["A_majority_masters_stopped"].items():
        runs = [majority_stopped(int(nt_text), seed) for seed in seeds]
        for metric in ("survivor_state_fail", "after_resume_survivor_state_ok"):
            row = _row(
                f"A two of three masters hung NT={nt_text}",
                metric,
                metrics[metric],
                [r[metric] for r in runs],
            )
            if row is not None:
                rows.append(row)
    return rows
