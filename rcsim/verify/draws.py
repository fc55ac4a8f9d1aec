"""A caching client's operations drawn as rcsim draws them, from the same stream.

rcsim's workload client draws each operation from its ``client:<name>`` stream of the
scenario's seed: first the write decision (``random() < writes``), then the key
(``randrange(key_count)``) (simulator/dataplane/clients.py, cache_aside.py's
``next_op``). verify's run loop (:meth:`rcsim.verify.clients.Workload.run`) asks for the
key first, then the write decision. :class:`RcsimDraws` answers those two calls from the
same stream in rcsim's order, so a caching client's operations are, one for one, rcsim's
for that seed: the same keys read and written, in the same order, until rcsim's client
draws from the stream for something else (picking a node to refresh its slot map from,
during an outage), after which the sequences part.
"""

from __future__ import annotations

import random

from simulator.harness.reference import derive_seed


class RcsimDraws:
    """Stands in for the run loop's ``random.Random`` (it calls ``randrange`` for the key,
    then ``random`` for the write decision)."""

    def __init__(self, seed: int, client: str) -> None:
        self.stream = random.Random(derive_seed(seed, f"client:{client}"))
        self._write: float | None = None

    def randrange(self, count: int) -> int:
        """The key's index, after drawing the write decision first (rcsim's order)."""
        self._write = self.stream.random()
        return self.stream.randrange(count)

    def random(self) -> float:
        """The write decision drawn with the last key (a fresh draw if none is pending)."""
        value, self._write = self._write, None
        return self.stream.random() if value is None else value
