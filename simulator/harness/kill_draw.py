"""The victims ``kill-masters`` draws, for tools outside the model (``rcsim verify``).

rcsim's ``_kill_masters`` (simulator/simulation.py) samples the live slot-serving masters
with ``engine.rng("kill-masters")`` (simulator/kill_share.py). A real run that must kill
the same masters replays that draw here: the same stream of the same seed, the same
sampling code, so the names match rcsim's run with that seed
(tests/test_verify_killmasters.py compares them with rcsim's own crash events).
"""

from __future__ import annotations

import random

from simulator.engine import Engine
from simulator.kill_share import choose_masters

STREAM = "kill-masters"
"""The random stream of the action (simulator/simulation.py's ``_kill_masters``)."""


def kill_stream(seed: int) -> random.Random:
    """The ``kill-masters`` stream of a run with ``seed``, as the engine derives it."""
    return Engine(seed).rng(STREAM)


__all__ = ["STREAM", "choose_masters", "kill_stream"]
