"""Request outcomes, defined once: what one attempt of a client command ends in (§15).

Every ``request`` trace event carries one of :data:`NAMES` in its ``outcome`` field;
:class:`~simulator.dataplane.model.ClusterData` counts them in this order
(``requests_by_outcome``), and the headless report and the TUI show them in this order.
A command's final result (``Op.outcome``) is one of them too. This module is the bottom
of the data plane: it imports nothing, so any consumer can read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request outcome: its name (the trace's ``outcome`` value) and what it means."""

    name: str
    doc: str


OK = "ok"
MOVED = "moved"
ASK = "ask"
TRYAGAIN = "tryagain"
CROSSSLOT = "crossslot"
CLUSTERDOWN = "clusterdown"
TIMEOUT = "timeout"
OOM = "oom"
ERROR = "error"

OUTCOMES: tuple[Outcome, ...] = (
    Outcome(OK, "served: the reply is the command's result"),
    Outcome(MOVED, "-MOVED: another node owns the slot; the client updates its map, retries"),
    Outcome(ASK, "-ASK: the key already left a migrating slot; ASKING + command to the target"),
    Outcome(TRYAGAIN, "-TRYAGAIN: a multi-key command during a slot migration; retried later"),
    Outcome(CROSSSLOT, "-CROSSSLOT: the keys hash to different slots; never retried"),
    Outcome(CLUSTERDOWN, "-CLUSTERDOWN: cluster state fail or slot unbound (§14); retried"),
    Outcome(TIMEOUT, "no reply within the client's timeout (lost, partitioned or paused node)"),
    Outcome(OOM, "-OOM: maxmemory reached and nothing could be evicted (§25.2); not retried"),
    Outcome(ERROR, "any other error, a refused connection, or a command that gave up"),
)
"""Every outcome, in the order counters, reports and panes list them."""

NAMES: tuple[str, ...] = tuple(o.name for o in OUTCOMES)
"""The outcome names in order (``dict.fromkeys(NAMES, 0)`` is an empty tally)."""

DOCS: dict[str, str] = {o.name: o.doc for o in OUTCOMES}
"""One line per outcome name, for legends and help texts."""
