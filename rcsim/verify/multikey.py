"""A client's ``multi`` share for real: MSET / MGET of two keys.

rcsim's workload client (simulator/dataplane/clients.py ``_next_op``) makes a ``multi``
fraction of its commands multi-key: two keys drawn from the client's key pattern, a
write is ``MSET k1 v.0 k2 v.1``, a read ``MGET k1 k2``. On a cluster two keys of
different slots get ``-CROSSSLOT`` (§3.1, never retried), keys sharing a hash tag work;
on one instance every key is local (§28.1). The real client sends the same commands
with the same routing as its single-key ones (by the first key's slot, as redis-py
does), and each key an acknowledged MSET wrote is one write in the ledger, as in rcsim.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from rcsim.verify.clients import Workload


def pairs(keys: list[str], value: str) -> list[str]:
    """MSET's arguments: each key with the value ``value.j`` (rcsim's ``_pairs``)."""
    out: list[str] = []
    for j, key in enumerate(keys):
        out += [key, f"{value}.{j}"]
    return out


class MultiWorkload(Workload):
    """A workload client with ``multi`` > 0."""

    def __init__(self, *args: Any, multi: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multi = multi

    def draw(self) -> tuple[Callable[..., None], tuple[Any, ...]]:
        write = self.random.random() < self.writes
        if not self.random.random() < self.multi:
            key = self.keys.replace("{i}", str(self.random.randrange(self.key_count)))
            return self._one, (write, key)
        keys = [
            self.keys.replace("{i}", str(self.random.randrange(self.key_count))) for _ in range(2)
        ]
        return self._one_multi, (write, keys)

    def _one_multi(self, write: bool, keys: list[str]) -> None:
        try:
            self.multi_command(write, keys)
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            self.in_flight.discard(threading.current_thread())

    def multi_command(self, write: bool, keys: list[str]) -> tuple[str, Any]:
        """One MGET, or one MSET whose keys are acknowledged together (each key's SETs
        one after the other, as :meth:`Workload.command` sends them)."""
        if not write:
            outcome, reply, _, _ = self.client.execute(self.emit, "MGET", *keys)
            return outcome, reply
        value = f"{self.client.name}:{next(self.sequence)}"
        args = pairs(keys, value)
        values = args[1::2]
        outcome, reply, node, replied = "error", None, "", 0.0
        with contextlib.ExitStack() as stack:
            for key in sorted(set(keys)):  # one order for every thread: no deadlock
                stack.enter_context(self._key_lock(key))
            with self.acks_lock:
                self.in_flight_values.update(values)
            try:
                outcome, reply, node, replied = self.client.execute(self.emit, "MSET", *args)
            finally:
                with self.acks_lock:
                    if outcome == "ok":
                        for key, written in zip(keys, values, strict=True):
                            self.acks.append((replied, key, written, node, self.client.name))
                    self.in_flight_values.difference_update(values)
        return outcome, reply
