"""``kill-masters`` played for real kills the masters rcsim's seed names (no server
started: the player runs against a stand-in cluster whose nodes record their kills)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from rcsim.verify import victims
from rcsim.verify.clusterview import PeerLine, Snapshot
from rcsim.verify.events import EventLog
from rcsim.verify.player import Player
from rcsim.verify.scenario_api import model, parse_scenario, run

SHARE = """\
name: a share of the masters
cluster: {masters: 6, replicas: 1}
steps:
  - at: 1s
    kill-masters: 50%
  - at: 1200ms
    kill-masters: 25%
run_until: 1500ms
"""


def spec_candidates(scenario: model.Scenario) -> list[victims.Candidate]:
    return [
        victims.Candidate(s.name, s.replica_of is None, True, frozenset(s.slots))
        for s in scenario.cluster.nodes
    ]


def sim_victims(scenario: model.Scenario, seed: int) -> list[list[str]]:
    """The crash events of each kill-masters step in rcsim's own run."""
    sim = run(scenario, seed)
    crashes = [e for e in sim.trace.of_kind("crash")]
    return [[e["node"] for e in crashes if e["t"] == t] for t in (1000, 1200)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_victims_are_rcsims_draw(seed: int) -> None:
    scenario = parse_scenario(SHARE, "s.yaml")
    first, second = sim_victims(scenario, seed)
    draw = victims.stream(seed)
    nodes = spec_candidates(scenario)
    assert victims.victims(nodes, 0.5, draw) == first
    assert len(first) == 3
    left = [
        victims.Candidate(n.name, n.is_master, n.name not in first, n.slots) for n in nodes
    ]  # the same stream goes on for the second action
    assert victims.victims(left, 0.25, draw) == second
    assert len(second) == 1 and second[0] not in first


def test_seeds_draw_different_victims() -> None:
    nodes = spec_candidates(parse_scenario(SHARE, "s.yaml"))
    draws = {tuple(victims.victims(nodes, 0.5, victims.stream(s))) for s in range(1, 9)}
    assert len(draws) > 1


def line(name: str, master: bool, slots: tuple[int, ...] = ()) -> PeerLine:
    role = "master" if master else "replica"
    return PeerLine(name, "127.0.0.1:1@2", frozenset({"myself", role}), None, 1, "connected", slots)


def test_candidates_read_the_nodes_own_views() -> None:
    views = {
        "n1": Snapshot("n1", "ok", {"n1": line("n1", True, (1, 2))}),
        "n2": Snapshot("n2", "ok", {"n2": line("n2", True, ())}),  # a master without slots
        "n3": Snapshot("n3", "ok", {"n3": line("n3", False)}),
        "n4": Snapshot("n4", "ok", {"n4": line("n4", True, (3,))}),
    }
    status = {"n1": "running", "n2": "running", "n3": "running", "n4": "dead"}
    found = victims.candidates(["n1", "n2", "n3", "n4", "n5"], views, status)
    assert [(c.name, c.is_master, c.alive, bool(c.slots)) for c in found] == [
        ("n1", True, True, True),
        ("n2", True, True, False),
        ("n3", False, True, False),
        ("n4", True, False, True),
        ("n5", False, False, False),  # never answered
    ]
    assert victims.victims(found, 1.0, victims.stream(1)) == ["n1"]


# ---------------------------------------------------------------- the player, no servers


@dataclass
class StandInNode:
    name: str
    killed: list[str]
    status: str = "running"

    def kill(self) -> None:
        self.killed.append(self.name)
        self.status = "dead"


@dataclass
class StandInObservations:
    latest: dict[str, Snapshot]

    def views(self) -> dict[str, Snapshot]:
        return dict(self.latest)


@dataclass
class StandInCluster:
    """What Player._kill_masters reads and does on a RealCluster."""

    scenario: model.Scenario
    killed: list[str] = field(default_factory=list)
    nodes: dict[str, StandInNode] = field(default_factory=dict)
    observations: Any = None
    log: EventLog = field(default_factory=lambda: EventLog({}))
    pubsub: Any = None
    caching: Any = None
    t: float = 1000.0

    def __post_init__(self) -> None:
        views: dict[str, Snapshot] = {}
        for spec in self.scenario.cluster.nodes:
            self.nodes[spec.name] = StandInNode(spec.name, self.killed)
            me = line(spec.name, spec.replica_of is None, tuple(spec.slots))
            views[spec.name] = Snapshot(spec.name, "ok", {spec.name: me})
        self.observations = StandInObservations(views)

        class Deliveries:
            @staticmethod
            def count(_channel: str | None, _subscriber: str | None) -> int:
                return 0

        class PubSub:
            deliveries = Deliveries()

        self.pubsub = PubSub()

        class Caching:  # no caching clients (rcsim/verify/cacheclients.py)
            @staticmethod
            def figure(_client: str | None, _metric: str) -> None:
                return None

        self.caching = Caching()

    def refresh_events(self) -> None:
        pass

    def status(self) -> dict[str, str]:
        return {n: node.status for n, node in self.nodes.items()}

    def lost_writes(self) -> int:
        return 0

    def probe(self, _node: str, _key: str) -> None:
        return None

    def stale(self, _node: str) -> None:
        return None

    def now(self) -> float:
        return self.t


@pytest.mark.parametrize("seed", [1, 2])
def test_the_player_kills_rcsims_victims_and_records_them_as_rcsim_does(seed: int) -> None:
    scenario = parse_scenario(SHARE, "s.yaml")
    first, second = sim_victims(scenario, seed)
    cluster = StandInCluster(scenario)
    player = Player(cluster, scenario, seed)  # type: ignore[arg-type]
    steps = [s for s in scenario.steps if isinstance(s.action, model.KillMasters)]
    player._apply(steps[0].index, steps[0].action)  # type: ignore[arg-type]
    assert cluster.killed == first
    for name in first:  # the next poll no longer hears them
        del cluster.observations.latest[name]
    cluster.t = 1200.0
    player._apply(steps[1].index, steps[1].action)  # type: ignore[arg-type]
    assert cluster.killed == first + second
    crashes = [(e["t"], e["node"]) for e in cluster.log.events() if e["kind"] == "crash"]
    assert crashes == [(1000, n) for n in first] + [(1200, n) for n in second]
    assert [(f.node, f.kind, f.t) for f in player.run.faults] == [
        (n, "crash", 1000) for n in first
    ] + [(n, "crash", 1200) for n in second]
    assert player.run.errors == []


def test_the_pairing_of_runs_and_seeds_is_said_up_front() -> None:
    from rcsim.verify.playable import played_differently

    notes = played_differently(parse_scenario(SHARE, "s.yaml"))
    assert notes == [
        "s.yaml:5:5: 'kill-masters': real run k kills the masters rcsim's seed k draws "
        "(rcsim.verify.victims); with --seeds equal to --runs each seed's victims have "
        "their real run"
    ]
