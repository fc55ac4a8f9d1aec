"""A scenario run from a freshly created cluster, as ``rcsim verify`` builds its real one.

``rcsim verify`` starts each real redis-server once the previous one answers PING, joins
them as ``redis-cli --cluster create`` does (ADDSLOTS, SET-CONFIG-EPOCH, MEET, then
REPLICATE; §17.2), polls until the cluster is healthy and only then starts the scenario's
clock (rcsim/verify/realcluster.py). A cluster that young is not the converged start
(pong ages drawn per peer, §17.2): each node met its peers together, so it pings all of
them in the same cron tick, and a PFAIL report crosses one NT/2 cycle later than in a
cluster that has run for a while (§7.1; docs/fidelity.md, "What rcsim does not
reproduce").

:func:`run_fresh` builds the cluster by MEET, runs it until the same "healthy" the real
harness waits for, polled as often, and starts the scenario there: its time 0 is that
moment (``ScenarioDriver.origin``); the data plane and its clients start then, and the
bus counters restart then, as the real side reads them at its time 0.
"""

from __future__ import annotations

from simulator.fidelity import healthy, run_until_true
from simulator.harness.runner import (
    NO_CHECKPOINTS,
    new_simulation,
    run_to_end,
    start_scenario,
)
from simulator.node.cron import CRON_PERIOD_MS
from simulator.scenario import model
from simulator.simulation import Simulation

HEALTHY_LIMIT_MS = 60_000
"""rcsim/verify/realcluster.py's HEALTHY_TIMEOUT_S."""


class FreshStartError(RuntimeError):
    """The MEET-built cluster never became healthy."""


def stagger_starts(sim: Simulation, gap_ms: tuple[int, int]) -> None:
    """Each process started ``gap_ms`` (drawn in that range) after the one before it, in
    creation order, the first at a random point of the 100 ms grid: a cron runs every
    100 ms from its process's start, so this sets each node's phase. Done before anything
    ran, so it is the same as having started them so (stream ``fresh-start``).
    Simplified: every process is there from time 0 (the MEETs, in the real harness sent
    once all answer PING, are sent at 0)."""
    rng = sim.engine.rng("fresh-start")
    at = rng.randrange(CRON_PERIOD_MS)
    for node in sim.cluster.nodes.values():
        node.stop_timers()
        node.phase = at % CRON_PERIOD_MS
        # clusterCron's ``static iteration`` counts from the process start (the random
        # ping every 10th, §6.2): one started a period later is a tick behind.
        node.iteration = -(at // CRON_PERIOD_MS)
        node.start()
        at += rng.randint(*gap_ms)


def build_fresh(
    scenario: model.Scenario,
    seed: int | None,
    *,
    start_gap_ms: tuple[int, int],
    health_poll_ms: int,
    until: int | None = None,
) -> Simulation:
    """The scenario's cluster built by MEET from processes started ``start_gap_ms`` apart
    (:func:`stagger_starts`), run until healthy (checked every ``health_poll_ms``), with
    the scenario scheduled from that moment."""
    sim = new_simulation(scenario, seed, NO_CHECKPOINTS, CRON_PERIOD_MS, converged=False)
    stagger_starts(sim, start_gap_ms)
    if not run_until_true(sim, lambda: healthy(sim), HEALTHY_LIMIT_MS, slice_ms=health_poll_ms):
        raise FreshStartError(
            f"{scenario.name}: the cluster built by MEET was not healthy within "
            f"{HEALTHY_LIMIT_MS // 1000} s (seed {sim.seed})"
        )
    for traffic in sim.cluster.bus_stats.nodes:  # in place: nodes hold its count methods
        traffic.sent[:] = [0] * len(traffic.sent)
        traffic.bytes[:] = [0] * len(traffic.bytes)
    start_scenario(sim, scenario, until, origin=sim.now)
    return sim


def run_fresh(
    scenario: model.Scenario,
    seed: int | None = None,
    *,
    start_gap_ms: tuple[int, int],
    health_poll_ms: int,
) -> Simulation:
    """:func:`build_fresh`, run to the end (headless, no checkpoints)."""
    sim = build_fresh(scenario, seed, start_gap_ms=start_gap_ms, health_poll_ms=health_poll_ms)
    run_to_end(sim)
    return sim
