"""The rebalance runs of ``resharding.json``, re-run in rcsim (§16.5, §16.7).

The real set-up (tests/data/README.md): 3 or 4 masters, no replicas, 5000 random keys;
empty masters joined with ``redis-cli --cluster add-node``, then ``redis-cli --cluster
rebalance --cluster-use-empty-masters``. Thousands of nearly empty slots move (~0.3 keys
each), so the duration is the per-slot cost: the SETSLOTs (one SETSLOT NODE per master,
each saving nodes.conf before it replies) and GETKEYSINSLOT, charged by kind as measured
on an idle host (:mod:`simulator.dataplane.setslot_cost`). This is the check, on
different measurements, of the reshard constants (the SETSLOT costs, and
``COMMAND_RTT_MS``, ``KEY_COST_MS`` fitted on the two 100-slot reshards with them in
place). The rows that set the exit code compare rcsim with the three shapes re-measured
on an idle host, 3 rounds each (``rebalance-shapes-idle.json``; the 3+1 pooled with
``rebalance-probe-idle.json``'s 3 rounds). resharding.json's own rebalances are one run
each on a host whose load was not recorded; they are printed as reference rows: the
4+1 run (3.02 s) is 1.46× the idle host's 4+1 median, and its 0.92 ms a slot against
the same file's 3+2 run's 0.77 (same seven SETSLOTs a move) shows the load changed
between the runs (docs/fidelity.md). Simplified: the empty
masters are part of the converged start state (add-node's handshake is done), no client
runs, redis-cli's start-up and cluster check (10 ms in the real runs that moved nothing)
are not timed.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from simulator.dataplane import install
from simulator.fidelity import Row, median
from simulator.simulation import Simulation
from simulator.topology import NodeSpec, standard_topology

KEYS = 5000
JOB_LIMIT_MS = 60_000
TOLERANCE = 0.25

REAL_RUNS: tuple[tuple[int, int, int, float], ...] = (
    (3, 1, 4096, 2.60),
    (3, 2, 6556, 5.07),
    (4, 1, 3280, 3.02),
)
"""``rebalance_runs`` of tests/data/resharding.json that moved slots: initial masters,
added empty masters, slots moved, ``rebalance_wall_s`` (one run each)."""

IDLE_HOST_RUNS_S: tuple[float, ...] = (2.155, 2.44, 2.326)
"""``rebalance_wall_s`` of the 3 rounds of tests/data/rebalance-probe-idle.json: the 3+1
rebalance of :data:`REAL_RUNS`' first row, on the idle host of the SETSLOT costs."""

IDLE_SHAPES_S: dict[tuple[int, int], tuple[float, ...]] = {
    (3, 1): (2.251, 2.381, 2.39),
    (3, 2): (4.179, 4.164, 4.13),
    (4, 1): (2.065, 2.039, 2.392),
}
"""``rebalance_wall_s`` of tests/data/rebalance-shapes-idle.json (``rebalance_shapes_probe.py``),
by (initial masters, added empty masters): each shape of :data:`REAL_RUNS`, 3 rounds."""


def idle_runs(masters: int, added: int) -> tuple[float, ...]:
    """Every idle-host run of one shape (the 3+1 probe's rounds pooled with the shapes')."""
    extra = IDLE_HOST_RUNS_S if (masters, added) == (3, 1) else ()
    return (*extra, *IDLE_SHAPES_S[(masters, added)])


def rebalance_run(masters: int, added: int, seed: int = 1) -> tuple[int, float | None]:
    """Slots moved and the rebalance's duration in seconds (``None`` if it did not end)."""
    specs = standard_topology(masters, 0) + [
        NodeSpec(f"n{masters + k + 1}", "master", ()) for k in range(added)
    ]
    sim = Simulation(specs, seed=seed, config={"cluster-node-timeout": 5000})
    dp = install(sim)
    dp.populate({f"key:{i}": "v" for i in range(KEYS)})
    started = sim.now
    job = sim.inject("rebalance", use_empty_masters=True)
    deadline = sim.now + JOB_LIMIT_MS
    while job is not None and not job.done and sim.now < deadline:
        sim.run_for(100)
    done = sim.trace.of_kind("reshard_done")
    if job is None or not done:
        return 0, None
    return job.moved, (done[-1]["t"] - started) / 1000.0


REFERENCE_NOTE = "one run, host load not recorded"
"""What the reference rows of resharding.json's single runs say in their name."""


def rebalance_rows(seeds: Sequence[int]) -> list[Row]:
    """The three rebalance shapes, ``len(seeds)`` re-runs each, in ms, bounds 25 %: first
    against the idle-host re-measurements (3 rounds each, the 3+1 pooled with the probe's
    3), which set the exit code; then the same rcsim runs against resharding.json's single
    runs as reference rows (:attr:`Row.reference`): one run each on a host whose load was
    not recorded, which disagree with each other (0.92 ms a slot for 4+1, 0.77 for 3+2,
    the same seven SETSLOTs a move; 0.63 and 0.64 on the idle host)."""
    bounded: list[Row] = []
    references: list[Row] = []
    for masters, added, slots, real_s in REAL_RUNS:
        runs = [rebalance_run(masters, added, seed) for seed in seeds]
        durations = [d for _, d in runs if d is not None]
        sim_s = median(durations) if len(durations) == len(runs) else None
        sim = None if sim_s is None else sim_s * 1000
        idle = idle_runs(masters, added)
        shape = f"rebalance {masters}+{added} masters, {slots} slots"
        bounded.append(
            Row(
                f"{shape}, idle host",
                "rebalance_wall_ms",
                statistics.median(idle) * 1000,
                min(idle) * 1000,
                max(idle) * 1000,
                sim,
                len(runs),
                tolerance=TOLERANCE,
                range_allowed=False,
            )
        )
        references.append(
            Row(
                f"{shape}, {REFERENCE_NOTE}",
                "rebalance_wall_ms",
                real_s * 1000,
                real_s * 1000,
                real_s * 1000,
                sim,
                len(runs),
                tolerance=TOLERANCE,
                range_allowed=False,
                reference=True,
            )
        )
    return bounded + references
