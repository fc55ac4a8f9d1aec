"""The rcsim side: the same scenario over M seeds, measured like the real runs.

Milestones come from report.py's own reader over rcsim's trace; ``wait_for`` times are
counted from the step's start, which is rebuilt from the runner's timing rules and the
moments the waits ended; the final roles and slot owners are read from each live node's
``CLUSTER NODES`` text (simulator.introspection) with the same parser as the real
nodes' replies, so both sides are read by one piece of code.
"""

from __future__ import annotations

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
from rcsim.verify.scenario_api import metrics, model, run
from simulator.harness import reference as introspection
from simulator.simulation import Simulation


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


def measure(scenario: model.Scenario, seed: int) -> Measures:
    """One rcsim run of ``scenario`` with ``seed``, measured."""
    sim = run(scenario, seed)
    driver = sim.extras["driver"]
    results = [r.as_dict() for r in driver.results]
    views, status = snapshots(sim)
    figures = metrics(sim, driver)
    return Measures(
        failovers=figures["failovers"],
        waits=wait_times(scenario, results, step_starts(scenario, driver.results)),
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
