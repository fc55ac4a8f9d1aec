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

from collections.abc import Iterable, Sequence

from simulator.fidelity import (
    Observation,
    Pollers,
    Row,
    _first,
    _new_sim,
    _row,
    _warm_up,
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
    return result


def manual_failover_rows(seeds: Sequence[int]) -> list[Row]:
    """Part A of ``manual-failover.json``: healthy master, each mode, NT 2000 and 15000."""
    rows: list[Row] = []
    for key, metrics in real_data()["manual_failover"].items():
        nt_text, mode = key.split("-")
        nt = int(nt_text.removeprefix("nt"))
        runs = [manual_failover(mode.lower(), nt, seed) for seed in seeds]
        for metric, real in metrics.items():
            row = _row(f"manual {mode} NT={nt}", metric, real, [r[metric] for r in runs])
            if row is not None:
                rows.append(row)
    hung = real_data()["manual_failover_hung"]
    for mode in ("FORCE", "TAKEOVER"):
        runs = [manual_failover(mode.lower(), 15000, seed, hung=True) for seed in seeds]
        row = _row(
            f"manual {mode} hung master",
            "replica_self_master",
            hung[mode]["replica_self_master"],
            [r["replica_self_master"] for r in runs],
        )
        if row is not None:
            rows.append(row)
    return rows
