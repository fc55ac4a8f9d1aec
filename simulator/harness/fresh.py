"""A scenario run from a freshly created cluster, as ``rcsim verify`` builds its real one.

``rcsim verify`` starts each real redis-server once the previous one answers PING, joins
them as ``redis-cli --cluster create`` does (ADDSLOTS, SET-CONFIG-EPOCH, MEET, then
REPLICATE as soon as its 50 ms loop sees every node known; §17.2), polls until the cluster is healthy and only then starts the scenario's
clock (rcsim/verify/realcluster.py). A cluster that young is not the converged start
(pong ages drawn per peer, §17.2): each node met its peers together, so it pings all of
them in the same cron tick, and a PFAIL report crosses one NT/2 cycle later than in a
cluster that has run for a while (§7.1; docs/fidelity.md, "What rcsim does not
reproduce").

:func:`run_fresh` builds the cluster by MEET from processes started before the MEETs
(:func:`stagger_starts`), runs it until the same "healthy" the real harness waits for, and
starts the scenario there or a drawn lag later (:class:`StartLag`, measured on the real
side): its time 0 is that moment (``ScenarioDriver.origin``); the data plane and its
clients start then, and the bus counters restart then, as the real side reads them at its
time 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from simulator.fidelity import healthy, run_until_true
from simulator.harness.runner import (
    NO_CHECKPOINTS,
    new_simulation,
    run_to_end,
    start_scenario,
)
from simulator.messages import HANDSHAKE, NOADDR
from simulator.node.cron import CRON_PERIOD_MS
from simulator.scenario import model
from simulator.simulation import Simulation

HEALTHY_LIMIT_MS = 60_000
"""rcsim/verify/realcluster.py's HEALTHY_TIMEOUT_S."""


@dataclass(frozen=True, slots=True)
class StartLag:
    """How late the harness starts the scenario's clock after the cluster turned healthy:
    a lag drawn from ``samples_ms`` (measured, each equally likely), plus, when the last
    thing to turn healthy is a node's view rather than a replica's link, up to
    ``stamp_ms`` more (the poll that saw the view came that much after the change)."""

    samples_ms: Sequence[float]
    stamp_ms: int

    def draw(self, sim: Simulation, view_last: bool) -> int:
        """One lag in whole ms, from the seed (stream ``fresh-start-lag``)."""
        rng = sim.engine.rng("fresh-start-lag")
        stamp = rng.uniform(0, self.stamp_ms) if view_last else 0.0
        return round(stamp + rng.choice(list(self.samples_ms)))


class FreshStartError(RuntimeError):
    """The MEET-built cluster never became healthy."""


def stagger_starts(
    sim: Simulation, gap_ms: tuple[int, int], meet_after_ms: tuple[int, int] = (0, 0)
) -> None:
    """Each process started ``gap_ms`` (drawn in that range) after the one before it, in
    creation order, and the MEETs sent ``meet_after_ms`` (drawn) after the last one
    answered: the MEETs are at time 0 (the cluster sends them as it is built), so every
    process started before 0. Done before anything ran, so it is the same as having
    started them so (stream ``fresh-start``). Each process's start sets what counts from
    it in Redis: its cron's phase (``serverCron`` every 100 ms from the start), clusterCron's
    ``static iteration`` (the random ping every 10th, §6.2) and ``clusterUpdateState``'s
    first call (the writable delay of a master, §14), made by its first cron, 1 ms in.
    Simplified: a process does nothing before 0 (it has no peer to talk to then).
    With ``meet_after_ms`` (0, 0) the last process starts at 0 and the first one at a
    random point of the 100 ms grid before it."""
    rng = sim.engine.rng("fresh-start")
    nodes = list(sim.cluster.nodes.values())
    if meet_after_ms == (0, 0):
        at = rng.randrange(CRON_PERIOD_MS)
        starts = []
        for _ in nodes:
            starts.append(at)
            at += rng.randint(*gap_ms)
        # the old rule: the first at 0-99 ms, the others after it (tests/test_fresh*)
    else:
        at = -rng.randint(*meet_after_ms)
        starts = [at]
        for _ in nodes[1:]:
            at -= rng.randint(*gap_ms)
            starts.append(at)
        starts.reverse()
    for node, start in zip(nodes, starts, strict=True):
        node.stop_timers()
        node.phase = start % CRON_PERIOD_MS
        # clusterCron's ``static iteration`` counts its runs from the process start: one
        # started a period later is a tick behind, one started before 0 ticks ahead.
        node.iteration = -(start // CRON_PERIOD_MS)
        if start < 0:
            node.first_call_time = start + 1
        node.start()


def all_known(sim: Simulation) -> bool:
    """``RealCluster._all_know``: every node's view lists every node, none of them still
    in handshake or without an address."""
    nodes = sim.cluster.nodes
    count = len(nodes)
    return all(
        len(node.peers) == count
        and not any(peer.flags & (HANDSHAKE | NOADDR) for peer in node.peers.values())
        for node in nodes.values()
    )


def replicate_when_all_known(sim: Simulation, poll_ms: int) -> None:
    """``RealCluster._join``: after the MEETs (time 0) the real side checks every
    ``poll_ms`` (its ``_wait`` loop, 50 ms) until every node knows every other, then sends
    each replica's ``CLUSTER REPLICATE`` in the scenario's order, at once; not redis-cli's
    once-a-second poll of :meth:`Cluster._replicate_when_known`, which the cluster's plan
    is taken from. Simplified: the check reads the nodes' views as they are, where the
    real side reads its 20 ms pollers' latest (up to 20 ms older)."""
    plan = sim.cluster.take_replicate_plan()
    if not plan:
        return
    if not run_until_true(sim, lambda: all_known(sim), HEALTHY_LIMIT_MS, slice_ms=poll_ms):
        raise FreshStartError(
            f"the cluster built by MEET did not know every node within "
            f"{HEALTHY_LIMIT_MS // 1000} s (seed {sim.seed})"
        )
    for name, master in plan.items():
        sim.cluster.node(name).replicate(master)


def build_fresh(
    scenario: model.Scenario,
    seed: int | None,
    *,
    start_gap_ms: tuple[int, int],
    health_poll_ms: int,
    start_lag: StartLag | None = None,
    meet_after_ms: tuple[int, int] = (0, 0),
    until: int | None = None,
) -> Simulation:
    """The scenario's cluster built by MEET from processes started ``start_gap_ms`` apart
    (:func:`stagger_starts`), its replicas REPLICATEd once every node knows every other
    (:func:`replicate_when_all_known`, checked every ``health_poll_ms``), run until healthy (checked every ``health_poll_ms``), with
    the scenario scheduled from that moment; with ``start_lag``, healthy is found to the
    ms and the scenario starts a drawn lag after it (:meth:`StartLag.draw`)."""
    sim = new_simulation(scenario, seed, NO_CHECKPOINTS, CRON_PERIOD_MS, converged=False)
    stagger_starts(sim, start_gap_ms, meet_after_ms)
    replicate_when_all_known(sim, health_poll_ms)
    poll_ms = 1 if start_lag is not None else health_poll_ms
    if not run_until_true(sim, lambda: healthy(sim), HEALTHY_LIMIT_MS, slice_ms=poll_ms):
        raise FreshStartError(
            f"{scenario.name}: the cluster built by MEET was not healthy within "
            f"{HEALTHY_LIMIT_MS // 1000} s (seed {sim.seed})"
        )
    if start_lag is not None:
        # With replicas the last to turn healthy is a replica's link (its full sync ends
        # seconds after the views agree), which the real side reads from the log, exactly.
        replicas = any(not node.is_master for node in sim.cluster.nodes.values())
        sim.run_until(sim.now + start_lag.draw(sim, view_last=not replicas))
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
    start_lag: StartLag | None = None,
    meet_after_ms: tuple[int, int] = (0, 0),
) -> Simulation:
    """:func:`build_fresh`, run to the end (headless, no checkpoints)."""
    sim = build_fresh(
        scenario,
        seed,
        start_gap_ms=start_gap_ms,
        health_poll_ms=health_poll_ms,
        start_lag=start_lag,
        meet_after_ms=meet_after_ms,
    )
    run_to_end(sim)
    return sim
