"""How the real harness timed ``manual-failover.json``: pollers locked to the command.

The real harness started its pollers, let them run, sent 200 small writes to the master
and then ``CLUSTER FAILOVER`` (the shared real-redis README: pollers for 0.3 s before the
signal; ``method``: the writes "just before the command"). Each poller thread polls every
20 ms from its own start, so every poll falls at the same phase of the 20 ms period
*relative to the command*, run after run, instead of at a random one. The raw runs show
it: the first poll that shows a change, taken modulo 20 ms (``P mod 20``, signed), is

- for the old master, whose change comes 29–156 ms after the command (DEFAULT and
  FORCE, 20 runs): −5.0 to −2.0 ms, median −3.6, in every run;
- for the replica whose promotion comes 8–100 ms after the command (FORCE, 10 runs):
  −4.4 to +2.1, median −1.2; the masters' pollers ran a few ms ahead of the replicas'
  (the harness started them in port order, masters first);
- for the last node to list the new master (DEFAULT and FORCE, 40–160 ms): −0.1 to +3.5
  bar one run, median +1.1.

A uniform random phase (what :class:`simulator.fidelity.Pollers` draws) puts the first
poll after an event at the command's millisecond anywhere in the next 20 ms, median
10 ms; the real pollers put it at 15–21 ms in most runs. That is the whole gap of the
rows that were out (DEFAULT "replica reports master" 20 [18–22] against 10; TAKEOVER's
old-master and every-node rows 17–22 against 13–17): a property of how they were
measured, not of Redis. So the manual-failover experiment here polls as the harness did:

- :data:`CALIBRATION_MANUAL_POLL_PHASE_MS`: each poller's phase relative to the command,
  drawn per run from its role's window, the whole-ms span of the far samples above
  (masters −5…−2, replicas −4…+2). Fitted on the changes 8–160 ms after the command
  only; checked on the changes within the command's first few ms (DEFAULT's promotion,
  TAKEOVER's three rows), which it was not fitted to (``tests/test_fidelity_manual.py``).
- :data:`CALIBRATION_COMMAND_ARRIVAL_MS`: the times are from when the harness sent the
  command; the server logs receiving it ("Manual failover user request accepted",
  "Forced failover user request accepted", "Taking over the master") 0.4–1.6 ms later,
  median 0.8 (30 runs; −0.2 to 1.6 with the log's 1 ms resolution): 1 ms here.

What stays different: on the real host the election and the takeover's broadcast take
1–3 ms more than in rcsim (won 1–2 ms after the request was accepted; the old master
reconfigures 2–3 ms after "Taking over", behind the fsynced nodes.conf save of
``clusterFailoverReplaceYourMaster`` on a loaded 2-core host); rcsim does them in the
command's millisecond (loopback without latency, §4.5).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from simulator.fidelity import (
    Observation,
    Pollers,
    Row,
    _first,
    _new_sim,
    _row,
    _warm_up,
    median,
    rank_sum_p,
    real_data,
    run_until_true,
)
from simulator.messages import MASTER, SLAVE
from simulator.node import Node
from simulator.simulation import Simulation

CALIBRATION_MANUAL_POLL_PHASE_MS: dict[str, tuple[int, int]] = {
    "master": (-5, -2),
    "replica": (-4, 2),
}
"""Where each real poller's polls fell relative to the command, mod 20 ms, by the role of
the node it polled (inclusive whole-ms window; manual-failover.json's changes 8–160 ms
after the command: old masters −5.0…−2.0, promoted replicas under FORCE −4.4…+2.1)."""

CALIBRATION_COMMAND_ARRIVAL_MS = 1
"""From the harness's send to the server's log line of the command (median 0.8 ms over
the 30 healthy-master runs of manual-failover.json)."""


def locked_pollers(
    sim: Simulation,
    nodes: Iterable[str],
    observe: Observation,
    signal: int,
    roles: dict[str, str],
) -> Pollers:
    """Pollers whose 20 ms period keeps one phase relative to the command at ``signal``,
    drawn per run from the polled node's role window
    (:data:`CALIBRATION_MANUAL_POLL_PHASE_MS`)."""
    rng = sim.engine.rng("pollers")
    names = list(nodes)
    offsets = {}
    for name in names:
        low, high = CALIBRATION_MANUAL_POLL_PHASE_MS[roles[name]]
        offsets[name] = rng.randint(low, high)
    return Pollers(sim, names, observe, grid_at=signal, offsets=offsets)


def manual_failover(mode: str, nt: int, seed: int, hung: bool = False) -> dict[str, float | None]:
    """``manual-failover.json``: CLUSTER FAILOVER on a replica of a healthy (or hung) master.

    Times are from the harness's send of the command (``start``); the command reaches
    the replica :data:`CALIBRATION_COMMAND_ARRIVAL_MS` later, and the pollers keep the
    real harness's phase relative to it (:func:`locked_pollers`)."""
    sim = _new_sim(3, 1, nt, seed)
    old_master = f"n{seed % 3 + 1}"
    replica = next(spec.name for spec in sim.specs if spec.replica_of == old_master)
    times: dict[str, int] = {}
    sees_new: dict[str, int] = {}
    sees_old_as_replica: dict[str, int] = {}
    everyone = list(sim.cluster.nodes)

    def observe(name: str, node: Node, now: int) -> None:
        if name == replica and node.is_master:
            _first(times, "replica_self_master", now)
        if name == old_master and not node.is_master:
            _first(times, "old_master_self_replica", now)
        new_view = node.peers.get(replica)
        if new_view is not None and new_view.flags & MASTER:
            sees_new.setdefault(name, now)
        old_view = node.peers.get(old_master)
        if old_view is not None and old_view.flags & SLAVE:
            sees_old_as_replica.setdefault(name, now)

    start = _warm_up(sim, nt)
    roles = {spec.name: "replica" if spec.replica_of else "master" for spec in sim.specs}
    locked_pollers(sim, everyone, observe, start, roles)
    sim.run_until(start)
    if hung:  # SIGSTOP "just before the command"
        sim.inject("pause", node=old_master)
    sim.run_until(start + CALIBRATION_COMMAND_ARRIVAL_MS)  # polls of that ms come first
    sim.inject("failover", node=replica, mode=mode)
    limit = start + (8000 if hung else max(10 * nt, 10_000))
    observed = [n for n in everyone if not (hung and n == old_master)]

    def done() -> bool:
        if hung:
            return "replica_self_master" in times or sim.trace.first("mf_timeout") is not None
        return len(sees_old_as_replica) == len(everyone) and len(sees_new) == len(everyone)

    run_until_true(sim, done, limit)
    result: dict[str, float | None] = {
        k: times[k] - start if k in times else None
        for k in ("replica_self_master", "old_master_self_replica")
    }
    result["all_see_new_master"] = (
        max(sees_new[n] for n in observed) - start if all(n in sees_new for n in observed) else None
    )
    result["all_see_old_master_as_replica"] = (
        max(sees_old_as_replica.values()) - start
        if len(sees_old_as_replica) == len(everyone)
        else None
    )
    timeout = sim.trace.first("mf_timeout", node=replica)
    result["mf_timeout"] = timeout["t"] - start if timeout else None
    # From the command's arrival to the election's start: the real logs' "Forced failover
    # user request accepted" to "Starting a failover election" (election_start_waits).
    election = sim.trace.first("election_started", node=replica)
    arrival = start + CALIBRATION_COMMAND_ARRIVAL_MS
    result["election_start"] = election["t"] - start if election else None
    result["election_start_wait"] = election["t"] - arrival if election else None
    return result


FORCE_WAIT_DRIVEN = ("replica_self_master", "old_master_self_replica", "all_see_new_master")
"""FORCE's times that start with the wait for the replica's next cron tick (0-100 ms,
uniform): checked on all FORCE runs pooled (:func:`force_pooled_rows`); the per-setting
rows of 5 (hung: 2) real runs are printed as reference rows."""


def _minus(run: Mapping[str, float | None], later: str, earlier: str) -> float | None:
    a, b = run.get(later), run.get(earlier)
    return None if a is None or b is None else a - b


def _pooled_row(metric: str, real: Sequence[float], sim: Sequence[float | None], label: str) -> Row:
    """One metric of FORCE's pooled runs. A time that includes the cron wait is judged by
    the rank-sum test (:func:`simulator.fidelity.rank_sum_p`); one measured from the
    election's start (the wait taken out run by run) by the usual 15 % / min-max bounds."""
    present = [v for v in sim if v is not None]
    sim_median = median(present)
    ranked = "election_start_wait" in metric or metric in FORCE_WAIT_DRIVEN
    p = rank_sum_p(real, present) if ranked and present else None
    return Row(
        f"manual FORCE {label}",
        metric if p is None else f"{metric} (rank-sum p {p:.2f})",
        float(statistics.median(real)),
        min(real),
        max(real),
        sim_median,
        len(present),
        sim_min=min(present) if present else None,
        sim_max=max(present) if present else None,
        rank_p=p,
    )


def force_pooled_rows(runs: Sequence[Mapping[str, Any]]) -> list[Row]:
    """FORCE's runs of every setting (NT 2000, NT 15000, hung master) as one sample.

    The forced election starts at the replica's next ``clusterCron`` whatever NT is
    (``clusterHandleSlaveFailover`` runs there; a manual failover has no election delay),
    and the real logs show it: from "Forced failover user request accepted" to "Starting
    a failover election" 25-98 ms at NT 2000, 7-67 ms at NT 15000, 39 and 56 ms with the
    master hung. ``runs`` are rcsim's (``manual_failover`` results with a ``setting`` key);
    the real runs are ``manual_failover_force_runs`` in the packaged data."""
    real = real_data()["manual_failover_force_runs"]
    healthy = [r for r in real if r["setting"] != "hung"]
    sim_healthy = [r for r in runs if r["setting"] != "hung"]
    every = "NT 2000+15000+hung, 12 real runs"
    pooled_healthy = "NT 2000+15000, 10 real runs"
    rows = [
        _pooled_row(
            "election_start_wait",
            [r["election_start_wait"] for r in real],
            [r["election_start_wait"] for r in runs],
            every,
        ),
        _pooled_row(
            "replica_self_master",
            [r["replica_self_master"] for r in real],
            [r["replica_self_master"] for r in runs],
            every,
        ),
        _pooled_row(
            "replica_self_master - election_start",
            [r["replica_self_master"] - r["election_start"] for r in real],
            [_minus(r, "replica_self_master", "election_start") for r in runs],
            every,
        ),
    ]
    for metric in ("old_master_self_replica", "all_see_new_master"):
        rows.append(
            _pooled_row(
                metric,
                [r[metric] for r in healthy],
                [r[metric] for r in sim_healthy],
                pooled_healthy,
            )
        )
        rows.append(
            _pooled_row(
                f"{metric} - replica_self_master",
                [r[metric] - r["replica_self_master"] for r in healthy],
                [_minus(r, metric, "replica_self_master") for r in sim_healthy],
                pooled_healthy,
            )
        )
    return rows


def manual_failover_rows(
    seeds: Sequence[int], force_seeds: Sequence[int] | None = None
) -> list[Row]:
    """Part A of ``manual-failover.json``: healthy master, each mode, NT 2000 and 15000;
    part B's FORCE and TAKEOVER with the master hung; FORCE's runs pooled.

    ``force_seeds`` (default ``seeds``) are FORCE's: its pooled rows compare rcsim's runs
    with 12 real ones by rank, so rcsim's own sample must not be the noisier one (seeds
    0-7 and 0-19 happen to draw late waits, median 62-64: docs/fidelity.md)."""
    rows: list[Row] = []
    force_runs: list[dict[str, Any]] = []
    for key, metrics in real_data()["manual_failover"].items():
        nt_text, mode = key.split("-")
        nt = int(nt_text.removeprefix("nt"))
        mode_seeds = seeds if mode != "FORCE" or force_seeds is None else force_seeds
        runs = [manual_failover(mode.lower(), nt, seed) for seed in mode_seeds]
        if mode == "FORCE":
            force_runs += [{"setting": nt_text, **run} for run in runs]
        for metric, real in metrics.items():
            row = _row(f"manual {mode} NT={nt}", metric, real, [r[metric] for r in runs])
            if row is not None:
                if mode == "FORCE" and metric in FORCE_WAIT_DRIVEN:
                    row = dataclasses.replace(row, reference=True)
                rows.append(row)
    hung = real_data()["manual_failover_hung"]
    for mode in ("FORCE", "TAKEOVER"):
        mode_seeds = seeds if mode != "FORCE" or force_seeds is None else force_seeds
        runs = [manual_failover(mode.lower(), 15000, seed, hung=True) for seed in mode_seeds]
        if mode == "FORCE":
            force_runs += [{"setting": "hung", **run} for run in runs]
        row = _row(
            f"manual {mode} hung master",
            "replica_self_master",
            hung[mode]["replica_self_master"],
            [r["replica_self_master"] for r in runs],
        )
        if row is not None:
            rows.append(dataclasses.replace(row, reference=mode == "FORCE"))
    return rows + force_pooled_rows(force_runs)
