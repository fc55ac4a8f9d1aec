"""``kill-masters`` on a real cluster: the victims rcsim's seed names.

rcsim draws the victims of ``kill-masters`` on a stream of their own,
``engine.rng("kill-masters")`` (simulator/kill_share.py), sampled over the live slot-serving masters in
creation order. A real run replays the same draw with the same code
(``choose_masters``, through simulator/harness/kill_draw.py), the candidates read from what the real
nodes report, so real run *k* (seed *k*, as ``rcsim verify`` pairs them: seeds 1..runs)
kills exactly the masters rcsim's seed *k* kills. Each victim then dies as ``kill`` kills
a node (SIGKILL), one after the other in creation order, within milliseconds.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rcsim.verify.clusterview import Snapshot
from rcsim.verify.scenario_api import choose_masters, kill_stream


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node as kill_share.choose_masters reads it (name, role, alive, its slots)."""

    name: str
    is_master: bool
    alive: bool
    slots: frozenset[int]

    def my_slots(self) -> frozenset[int]:
        return self.slots


def stream(seed: int) -> random.Random:
    """The ``kill-masters`` stream of a run with ``seed`` (the engine's own derivation,
    simulator/harness/kill_draw.py)."""
    return kill_stream(seed)


def candidates(
    order: Sequence[str], views: Mapping[str, Snapshot], status: Mapping[str, str]
) -> list[Candidate]:
    """The nodes in creation order as their own latest answers describe them: a node is
    alive unless killed or shut down (a paused master is alive in rcsim too)."""
    out: list[Candidate] = []
    for name in order:
        view = views.get(name)
        alive = status.get(name, "dead") != "dead" and view is not None
        me = None if view is None else view.me
        slots = frozenset(me.slots) if me is not None else frozenset()
        out.append(Candidate(name, view is not None and view.role() == "master", alive, slots))
    return out


def victims(nodes: Sequence[Candidate], share: float, draw: random.Random) -> list[str]:
    """The masters to kill, in creation order (rcsim's own choice, same draw)."""
    return choose_masters(nodes, share, draw)
