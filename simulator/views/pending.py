"""The next engine event in plain words, for the TUI's single step (``s``).

The engine's events are callbacks; this names the ones the simulation schedules (the
cluster's bus and cron, the lesson driver, the data plane's clients, replication and
``redis-cli`` jobs) by the callback's name and its arguments, so a learner stepping one
event sees which node did what. Read-only: it peeks at the queue, it never pops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from simulator.cluster import Cluster
from simulator.links.link import Link
from simulator.messages import Message, ReplAck, ReplChunk


class PendingSource(Protocol):
    """What the next event is read from (``Simulation`` is one): the cluster's engine
    and the recorded injections a step may replay first."""

    @property
    def cluster(self) -> Cluster: ...
    @property
    def injections(self) -> Sequence[Any]: ...
    @property
    def applied_injections(self) -> int: ...


def _owner(callback: Any) -> str:
    """The ``name`` of the object a bound callback belongs to ('' for a function)."""
    return str(getattr(getattr(callback, "__self__", None), "name", "") or "")


def _deliver(args: tuple[Any, ...]) -> str:
    src, dst, message = args[0], args[1], args[2]
    if isinstance(message, ReplChunk):
        return f"replication data from {src} reaches {dst}"
    if isinstance(message, ReplAck):
        return f"{src}'s REPLCONF ACK reaches {dst}"
    if isinstance(message, Message):
        return f"{src}'s {message.type.name} message reaches {dst}"
    return f"a message from {src} reaches {dst}"


def _step(args: tuple[Any, ...]) -> int:
    return int(args[0]) + 1 if args and isinstance(args[0], int) else 0


def describe_timer(callback: Any, args: tuple[Any, ...]) -> str:
    """One event, named by who runs it and what it does."""
    name = getattr(callback, "__name__", "")
    owner = _owner(callback)
    first = str(args[0]) if args and isinstance(args[0], str) else ""
    words = {
        "cron": f"{owner} runs clusterCron (pings, failure detection, elections)",
        "_replicate_when_known": f"{first} tries to start replicating from {args[1] if len(args) > 1 else 'its master'}",
        "_begin_step": f"the lesson starts step {_step(args)}",
        "_poll": f"the lesson checks whether step {_step(args)}'s wait is over",
        "_final": "the lesson makes its final checks",
        "_apply_due": f"{first} applies the replication stream it received",
        "_server_cron": f"{first} runs serverCron",
        "_send": f"client {owner} sends a command",
        "on_reply": f"client {owner} reads a reply",
        "_timeout": f"client {owner}'s command times out",
        "_next_op": f"client {owner} starts its next command",
        "deliver": f"a client's command reaches {args[1] if len(args) > 1 else 'a node'}",
        "pause_ended": f"{args[1] if len(args) > 1 else 'a node'} runs the writes its client pause held",
        "send_getack": f"{args[1] if len(args) > 1 else 'a master'} asks its replicas for an ACK (REPLCONF GETACK, for WAIT)",
        "_run": "redis-cli (reshard, rebalance or fix) takes its next step",
        "_migrate_block": "redis-cli sends a MIGRATE batch",
        "poll": f"the fidelity probe polls {first}",
    }
    if name == "_deliver" and len(args) >= 3:
        return _deliver(args)
    if name == "_arrive":  # a TCP link's next segment (simulator/links)
        link = getattr(callback, "__self__", None)
        if isinstance(link, Link):
            return _deliver((link.local, link.remote, link.arriving))
    return words.get(name, "an internal timer of the simulation")


def _plain(value: Any) -> str:
    """A list of names as ``n1 n2``, a list of groups as ``n1 n4 | n2 n3``."""
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, list | tuple) for v in value):
            return " | ".join(" ".join(str(n) for n in group) for group in value)
        return " ".join(str(v) for v in value)
    return str(value)


def next_event(sim: PendingSource) -> str | None:
    """What :meth:`Simulation.step` will run next, in words; None when nothing is queued."""
    injections = sim.injections
    applied = sim.applied_injections
    engine = sim.cluster.engine
    next_time = engine.peek()
    if applied < len(injections):
        injection = injections[applied]
        if engine.events_run >= injection.events and (
            next_time is None or next_time >= injection.t or engine.now >= injection.t
        ):
            args = " ".join(_plain(v) for v in injection.args.values() if v is not None)
            return f"your recorded injection replays: {injection.action} {args}".rstrip()
    if next_time is None:
        return None
    timer = engine.next_timer()
    if timer is None:
        return None
    return describe_timer(timer.callback, tuple(timer.args))
