"""The rcsim side: the same scenario over M seeds, measured like the real runs.

Milestones come from report.py's own reader over rcsim's trace; ``wait_for`` times are
counted from the step's start, which is rebuilt from the runner's timing rules and the
moments the waits ended; the final roles and slot owners are read from each live node's
``CLUSTER NODES`` text (simulator.introspection) with the same parser as the real
nodes' replies, so both sides are read by one piece of code.

By default the run starts converged, as ``rcsim run`` starts it. With ``fresh=True`` it
starts as verify's real cluster does (rcsim/verify/realcluster.py): its processes started
:data:`START_GAP_MS` apart, the last :data:`MEET_AFTER_MS` before the MEETs, built by
MEET, its replicas REPLICATEd on the first :data:`HEALTH_POLL_MS` check that sees every
node known (``RealCluster._join``), run until healthy, the scenario's clock starting a lag after it drawn from the real
side's (:data:`CALIBRATION_VERIFY_START_LAG_MS`, :mod:`simulator.harness.fresh`); times
read from the trace are then counted from that moment. Not the default: over the kept
reports it brings 4 rows in (no-replica's FAIL among them) and takes 6 out (round 10,
with the discovery rules of redis-rules §5.4 and §5.6; docs/fidelity.md, "What rcsim
does not reproduce", no-replica).
A ``standalone`` topology has no cluster to form and always starts as rcsim runs it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rcsim.verify.cacheclients import cache_figures
from rcsim.verify.clusterview import Snapshot, snapshot
from rcsim.verify.figures import (
    bus_figures_sim,
    counters_of_events,
    idle,
    key_figures,
    stale_figures,
)
from rcsim.verify.measure import Measures, final_state, wait_times
from rcsim.verify.scenario_api import StartLag, metrics, model, run, run_fresh
from simulator.harness import reference as introspection
from simulator.simulation import Simulation

HEALTH_POLL_MS = 50
"""RealCluster._wait checks "healthy" every 0.05 s."""

START_GAP_MS = (21, 40)
"""How far apart verify starts its redis-server processes, one after another in the
scenario's node order, each once the previous one answers PING (NodeProcess.start, 20
ms between PINGs). Measured on this host, 4 rounds of 6 servers: 21-40 ms apart
(docs/fidelity.md); rcsim draws each gap in that range. A calibration of the harness,
not of Redis: a process's cron runs every 100 ms from its start, so this sets the
phases."""


MEET_AFTER_MS = (3, 13)
"""How long after the last process answered PING verify's real side sends the first MEET
(its ADDSLOTSRANGE and SET-CONFIG-EPOCH calls in between): 2.5-13.2 ms over 35 builds of
3-6 nodes (tests/data/verify-start-lag.json, each sample's ``timeline``). With
START_GAP_MS it places every process's start before the MEETs, as on the real side. A
calibration of the harness."""

CALIBRATION_VERIFY_START_LAG_MS: tuple[tuple[int, float], ...] = (
    (3, 26.2),
    (3, 11.6),
    (3, 45.9),
    (6, 30.2),
    (6, 35.1),
    (6, 3.6),
    (6, 25.0),
    (6, 10.4),
    (6, 1.6),
    (6, 22.6),
    (6, 46.7),
    (6, 29.2),
    (4, 2.4),
    (4, 33.0),
    (4, 18.3),
    (6, 32.1),
    (6, 34.3),
    (6, 29.0),
    (6, 48.9),
    (6, 1.8),
    (6, 4.6),
    (6, 13.0),
    (6, 3.8),
    (6, 5.6),
    (30, 560.5),
    (30, 384.2),
    (30, 847.0),
    (3, 21.7),
    (3, 49.1),
    (3, 45.5),
    (6, 8.4),
    (6, 1.6),
    (6, 19.4),
    (6, 38.2),
    (6, 40.8),
    (6, 10.4),
    (6, 40.7),
    (6, 48.9),
    (6, 1.2),
    (4, 1.9),
    (4, 7.9),
    (4, 45.0),
    (6, 32.9),
    (6, 24.3),
    (6, 36.5),
    (6, 16.0),
    (6, 30.7),
    (6, 18.2),
    (6, 19.6),
    (6, 18.5),
    (6, 51.3),
    (6, 32.1),
    (3, 29.4),
    (3, 17.0),
    (3, 20.5),
    (3, 40.8),
    (4, 28.0),
    (4, 40.3),
    (6, 27.8),
    (6, 16.6),
    (6, 47.0),
    (6, 40.9),
)
"""(cluster nodes, ms) pairs: how long after its real cluster turned healthy ``rcsim verify``
started the scenario's clock, measured on this host (tests/data/verify-start-lag.json,
``python -m rcsim.verify.startlag``; tests/test_verify_start_lag.py checks they agree). A
calibration of the harness, not of Redis: the 50 ms health loop, the INFO round trips of
its last check, the keyspace observer's start and the bus counters of an idle scenario."""

START_POLL_STAMP_MS = 20
"""rcsim/verify/poller.py's POLL_MS: a view change is stamped by the poll that saw it, up
to one poll period after it happened (the measured lag counts from that stamp)."""


def start_lag(scenario: model.Scenario) -> StartLag:
    """The measured lags of the cluster size nearest the scenario's (the lag grows with the
    nodes the last health check and the bus counters ask)."""
    nodes = len(scenario.cluster.nodes)
    nearest = min(CALIBRATION_VERIFY_START_LAG_MS, key=lambda s: (abs(s[0] - nodes), s[0]))[0]
    samples = [lag for size, lag in CALIBRATION_VERIFY_START_LAG_MS if size == nearest]
    return StartLag(tuple(samples), START_POLL_STAMP_MS)


def run_as_verify_starts(
    scenario: model.Scenario, seed: int, fresh: bool = False
) -> tuple[Simulation, int]:
    """The run and the engine time of the scenario's 0."""
    if not fresh or scenario.cluster.topology == "standalone":
        return run(scenario, seed), 0
    sim = run_fresh(
        scenario,
        seed,
        start_gap_ms=START_GAP_MS,
        health_poll_ms=HEALTH_POLL_MS,
        start_lag=start_lag(scenario),
        meet_after_ms=MEET_AFTER_MS,
    )
    return sim, int(sim.extras["driver"].origin)


def step_starts(scenario: model.Scenario, results: list[Any]) -> dict[int, float]:
    """When each step started, by the runner's rules (the previous step's end is when
    its wait ended, the moment its wait_for results were recorded)."""
    starts: dict[int, float] = {}
    previous_start = previous_end = 0
    for step in scenario.steps:
        if step.at is not None:
            when = step.at
        elif step.after is not None:
            when = previous_start + step.after
        else:
            when = previous_end
        start = max(when, previous_end)
        waits = [r.at for r in results if r.kind == "wait_for" and r.step == step.index]
        starts[step.index] = start
        previous_start, previous_end = start, max(waits) if waits else start
    return starts


def snapshots(sim: Simulation) -> tuple[dict[str, Snapshot], dict[str, str]]:
    """Each node's CLUSTER NODES / INFO as rcsim prints them, parsed; and its status."""
    cluster = sim.cluster
    names = {node.id: name for name, node in cluster.nodes.items()}
    views: dict[str, Snapshot] = {}
    status: dict[str, str] = {}
    for name, node in cluster.nodes.items():
        status[name] = (
            "running" if node.status == "running" else ("paused" if node.alive else "dead")
        )
        if node.alive:
            text = introspection.cluster_nodes(cluster, name)
            views[name] = snapshot(name, text, introspection.cluster_info(cluster, name), names)
    return views, status


def measure(scenario: model.Scenario, seed: int, fresh: bool = False) -> Measures:
    """One rcsim run of ``scenario`` with ``seed``, measured (``fresh``: from a fresh
    cluster's healthy moment, :func:`run_as_verify_starts`)."""
    sim, origin = run_as_verify_starts(scenario, seed, fresh)
    driver = sim.extras["driver"]
    results = [{**r.as_dict(), "at": r.at - origin} for r in driver.results]
    shifted = [replace(r, at=r.at - origin) for r in driver.results]
    views, status = snapshots(sim)
    figures = metrics(sim, driver)
    return Measures(
        failovers=[{**f, "at": f["at"] - origin} for f in figures["failovers"]],
        waits=wait_times(scenario, results, step_starts(scenario, shifted)),
        final=final_state(views, status),
        results=[{**r, "observable": True} for r in results],
        errors=list(driver.errors),
        lost_writes=int(figures["lost_writes"]) if scenario.clients else None,
        requests={k: v for k, v in sorted(figures["requests"].items()) if v},
        figures={**sim_figures(scenario, sim, results, figures["bus"]), **cache_figures(figures)},
    )


def sim_figures(
    scenario: model.Scenario, sim: Simulation, results: list[Any], bus: Any
) -> dict[str, float | None]:
    """rcsim's side of rcsim.verify.figures: its events counted per node, the stale keys
    its checks saw, and metrics.bus for an idle scenario."""
    out = key_figures(scenario, counters_of_events(sim.trace.events, list(sim.cluster.nodes)))
    out.update(stale_figures(results))
    if idle(scenario):
        out.update(bus_figures_sim(bus))
    return out
