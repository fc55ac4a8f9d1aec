"""``kill-masters``: crash a share of the masters at once (the mass-failure experiment).

Which masters die is drawn from the run's seed, on a stream of its own
(``engine.rng("kill-masters")``), so the same seed kills the same masters and no other
random stream moves: a run with the action draws everything else exactly as a run
without it would. The candidates are the live masters that serve slots, in creation
order (never dict or set order); ``round(share × candidates)`` of them die (at least one),
in creation order, each as ``kill`` would kill it (kill -9, §21.3).

Valkey's published 2,000-node recovery benchmark (docs/fidelity.md, "Mass failure")
killed 0.1 / 10 / 25 / 33 / 50 % of the 1,000 primaries with SIGKILL, the same fault.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol


class _Master(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def is_master(self) -> bool: ...

    @property
    def alive(self) -> bool: ...

    def my_slots(self) -> Any: ...


def share_count(share: float, candidates: int) -> int:
    """How many of ``candidates`` masters a ``share`` in (0, 1] kills: the nearest whole
    number (halves up: 50 % of 5 is 3), at least one, at most all."""
    if not 0 < share <= 1:
        raise ValueError(f"kill-masters: share {share:g} is not in (0, 1]")
    if candidates == 0:
        return 0
    return min(candidates, max(1, math.floor(share * candidates + 0.5)))


def choose_masters(nodes: Sequence[_Master], share: float, draw: Any) -> list[str]:
    """The names of the masters to kill: ``share_count`` of the live slot-serving masters
    of ``nodes`` (creation order), sampled with ``draw`` (a ``random.Random``), returned
    in creation order."""
    candidates = [n.name for n in nodes if n.is_master and n.alive and n.my_slots()]
    count = share_count(share, len(candidates))
    if count == 0:
        raise ValueError("kill-masters: no live master serves slots")
    chosen = set(draw.sample(candidates, count))
    return [name for name in candidates if name in chosen]
