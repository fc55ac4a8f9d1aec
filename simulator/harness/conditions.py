"""Checking a scenario condition against the live model, in words a learner understands.

Each check returns a :class:`Check`: whether it holds, what was expected and what was
observed instead. ``expect`` evaluates a condition once; ``wait_for`` evaluates it every
:data:`WAIT_POLL_MS` of simulated time until it holds (see :mod:`simulator.harness.runner`).

Truth versus views: ``owner``, ``covered`` and ``agree`` ask the cluster as a whole
(``Cluster.truth_owner``, ``covered``, ``agree``); ``role``, ``flag``, ``cluster_state``
and ``epoch`` read one node's own view (§2.1), as ``CLUSTER NODES`` / ``CLUSTER INFO``
on that node would show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.harness.cache_checks import check_cache
from simulator.messages import (
    FAIL,
    HANDSHAKE,
    MASTER,
    MYSELF,
    NOADDR,
    NOFAILOVER,
    PFAIL,
    SLAVE,
)
from simulator.replication import UNIX_BASE_MS
from simulator.scenario import model
from simulator.slots import format_slot_ranges

if TYPE_CHECKING:
    from simulator.simulation import Simulation
    from simulator.trace import TraceEvent

FLAG_BITS: dict[str, int] = {
    "master": MASTER,
    "replica": SLAVE,
    "slave": SLAVE,
    "pfail": PFAIL,
    "fail": FAIL,
    "handshake": HANDSHAKE,
    "noaddr": NOADDR,
    "nofailover": NOFAILOVER,
    "myself": MYSELF,
}


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one condition: ``observed`` says what was seen (instead)."""

    passed: bool
    expected: str
    observed: str


def _flag_names(flags: int) -> str:
    names = [name for name, bit in FLAG_BITS.items() if name != "slave" and flags & bit]
    return ",".join(names) or "no flags"


def _ranges(slots: Iterable[int]) -> str:
    return format_slot_ranges(sorted(slots)) or "none"


def lost_writes_count(sim: Simulation) -> int:
    """Acknowledged writes lost so far, from the data plane (0 without one)."""
    dataplane = sim.extras.get("dataplane")
    if dataplane is None:
        return 0
    return len(dataplane.lost_writes())


def delivered_count(sim: Simulation, channel: str | None, subscriber: str | None) -> int:
    """Pub/sub deliveries so far, from the data plane (0 without one)."""
    dataplane = sim.extras.get("dataplane")
    if dataplane is None:
        return 0
    return int(dataplane.delivered(channel, subscriber))


# --------------------------------------------------------------------------- one check per kind


def _cluster_state(sim: Simulation, c: model.ClusterState, _start: int) -> Check:
    cluster = sim.cluster
    if c.node is not None:
        expected = f"{c.node} reports cluster_state:{c.state}"
        node = cluster.nodes.get(c.node)
        if node is None:
            return Check(False, expected, f"{c.node} is not in the cluster")
        if not node.alive:
            return Check(False, expected, f"{c.node} is {node.status}, it reports nothing")
        return Check(node.state == c.state, expected, f"{c.node} reports {node.state}")
    expected = f"every live node reports cluster_state:{c.state}"
    live = cluster.live_nodes()
    wrong = [f"{n.name}:{n.state}" for n in live if n.state != c.state]
    if not live:
        return Check(False, expected, "no node is alive")
    if wrong:
        return Check(False, expected, "not yet: " + ", ".join(wrong))
    return Check(True, expected, f"all {len(live)} live nodes report {c.state}")


def _role(sim: Simulation, c: model.Role, _start: int) -> Check:
    expected = ", ".join(f"{name} is a {role}" for name, role in c.roles.items())
    seen: list[str] = []
    passed = True
    for name, role in c.roles.items():
        node = sim.cluster.nodes.get(name)
        if node is None:
            passed = False
            seen.append(f"{name} is not in the cluster")
            continue
        actual = "master" if node.is_master else "replica"
        if actual != role:
            passed = False
        detail = f" of {node.master_name}" if actual == "replica" and node.master_name else ""
        dead = "" if node.alive else f" ({node.status})"
        seen.append(f"{name} is a {actual}{detail}{dead}")
    return Check(passed, expected, "; ".join(seen))


def _owner(sim: Simulation, c: model.Owner, _start: int) -> Check:
    table = sim.cluster.truth_table()
    expected = "; ".join(f"{name} owns {_ranges(slots)}" for name, slots in c.owners.items())
    seen: list[str] = []
    passed = True
    for name, slots in c.owners.items():
        others: dict[str, list[int]] = {}
        for slot in slots:
            owner = table[slot]
            if owner != name:
                others.setdefault(owner or "nobody", []).append(slot)
        if others:
            passed = False
            parts = [f"{_ranges(s)} owned by {who}" for who, s in sorted(others.items())]
            seen.append(f"{name}: " + ", ".join(parts))
        else:
            seen.append(f"{name} owns them")
    return Check(passed, expected, "; ".join(seen))


def _flag(sim: Simulation, c: model.Flag, _start: int) -> Check:
    wanted = c.has if c.has is not None else c.lacks
    verb = "has" if c.has is not None else "lacks"
    expected = f"in {c.observer}'s view, {c.node} {verb} the {wanted} flag"
    observer = sim.cluster.nodes.get(c.observer)
    if observer is None:
        return Check(False, expected, f"{c.observer} is not in the cluster")
    if not observer.alive:
        return Check(False, expected, f"{c.observer} is {observer.status}: it has no view")
    peer = observer.peers.get(c.node)
    if peer is None:
        return Check(
            c.has is None, expected, f"{c.observer} does not know {c.node} (no such entry)"
        )
    bit = FLAG_BITS[wanted or ""]
    present = bool(peer.flags & bit)
    passed = present if c.has is not None else not present
    return Check(passed, expected, f"{c.observer} sees {c.node} as {_flag_names(peer.flags)}")


def _agree(sim: Simulation, c: model.Agree, _start: int) -> Check:
    actual = sim.cluster.agree()
    expected = "all running nodes agree on every slot's owner"
    if not c.value:
        expected = "some running nodes disagree on a slot's owner"
    observed = "they agree" if actual else _disagreement(sim)
    return Check(actual == c.value, expected, observed)


def _disagreement(sim: Simulation) -> str:
    nodes = sim.cluster.running_nodes()
    if not nodes:
        return "no node is running"
    first = nodes[0]
    reference = first.slots.raw()
    for node in nodes[1:]:
        table = node.slots.raw()
        if table != reference:
            slot = next(s for s in range(len(table)) if table[s] != reference[s])
            return (
                f"they disagree: e.g. slot {slot} is {first.slot_owner(slot) or 'unowned'} "
                f"for {first.name} but {node.slot_owner(slot) or 'unowned'} for {node.name}"
            )
    return "they disagree"


def _covered(sim: Simulation, c: model.Covered, _start: int) -> Check:
    missing = sim.cluster.uncovered()
    expected = "every slot has a live owner" if c.value else "some slot has no live owner"
    observed = (
        "all 16384 slots are served"
        if not missing
        else f"{len(missing)} slots have no live owner ({_ranges(missing)})"
    )
    return Check((not missing) == c.value, expected, observed)


def _lost_writes(sim: Simulation, c: model.LostWrites, _start: int) -> Check:
    lost = lost_writes_count(sim)
    if c.exact is not None:
        expected = f"{c.exact} acknowledged writes lost"
        passed = lost == c.exact
    else:
        low = c.minimum if c.minimum is not None else 0
        high = c.maximum
        expected = f"at least {low}" if high is None else f"between {low} and {high}"
        expected += " acknowledged writes lost"
        passed = lost >= low and (high is None or lost <= high)
    return Check(passed, expected, f"{lost} lost")


def _promoted(sim: Simulation, c: model.Promoted, _start: int) -> Check:
    expected = f"{c.node} has been promoted to master"
    for event in sim.trace.events:
        if event["kind"] == "promoted" and event.get("node") == c.node:
            return Check(
                True,
                expected,
                f"{c.node} replaced {event.get('target')} at {event['t'] / 1000:.3f}s",
            )
    node = sim.cluster.nodes.get(c.node)
    state = "is not in the cluster" if node is None else "has not been promoted"
    if node is not None and node.master_name:
        state += f" (still a replica of {node.master_name})"
    elections = [e for e in sim.trace.events if e["kind"] == "promoted" and e.get("node") != c.node]
    if elections:
        state += f"; {elections[-1]['node']} was promoted instead"
    return Check(False, expected, f"{c.node} {state}")


def _epoch(sim: Simulation, c: model.Epoch, _start: int) -> Check:
    expected = ", ".join(f"{name} has configEpoch {epoch}" for name, epoch in c.epochs.items())
    seen: list[str] = []
    passed = True
    for name, epoch in c.epochs.items():
        node = sim.cluster.nodes.get(name)
        if node is None:
            passed = False
            seen.append(f"{name} is not in the cluster")
            continue
        if node.config_epoch != epoch:
            passed = False
        seen.append(f"{name} has {node.config_epoch}")
    return Check(passed, expected, ", ".join(seen))


def _delivered(sim: Simulation, c: model.Delivered, _start: int) -> Check:
    count = delivered_count(sim, c.channel, c.subscriber)
    scope = []
    if c.subscriber is not None:
        scope.append(f"to {c.subscriber}")
    if c.channel is not None:
        scope.append(f"on {c.channel}")
    where = (" " + " ".join(scope)) if scope else ""
    if c.count is not None:
        return Check(count == c.count, f"{c.count} deliveries{where}", f"{count} delivered")
    minimum = c.minimum if c.minimum is not None else 1
    return Check(count >= minimum, f"at least {minimum} deliveries{where}", f"{count} delivered")


def event_matches(event: TraceEvent, c: model.Event) -> bool:
    if event["kind"] != c.kind:
        return False
    if c.node is not None and event.get("node") != c.node:
        return False
    if c.target is not None and event.get("target") != c.target:
        return False
    return all(event.get(key) == value for key, value in c.fields.items())


def _describe_event(c: model.Event) -> str:
    parts = [c.kind]
    if c.node is not None:
        parts.append(f"by {c.node}")
    if c.target is not None:
        parts.append(f"about {c.target}")
    parts.extend(f"{key}={value}" for key, value in c.fields.items())
    return " ".join(parts)


def _key(sim: Simulation, c: model.Key, _start: int) -> Check:
    """§26.3: a replica keeps a logically expired key (stored) but answers nil (not
    readable) until its master's DEL arrives."""
    dataplane = sim.extras.get("dataplane")
    node = sim.cluster.nodes.get(c.node)
    if dataplane is None or node is None or node.data is None:
        return Check(False, f"{c.key} on {c.node}", f"{c.node} has no keyspace")
    data = dataplane.data(node)
    stored = c.key in data.keys
    when = data.expires.get(c.key)
    readable = stored and (when is None or UNIX_BASE_MS + sim.now <= when)
    wanted = []
    if c.stored is not None:
        wanted.append(("stored" if c.stored else "not stored", c.stored == stored))
    if c.readable is not None:
        wanted.append(("readable" if c.readable else "not readable", c.readable == readable))
    ttl = "" if when is None else f", TTL {when - UNIX_BASE_MS - sim.now} ms"
    seen = f"{'stored' if stored else 'not stored'}, {'readable' if readable else 'not readable'}"
    return Check(
        all(ok for _, ok in wanted),
        f"{c.key} on {c.node}: " + " and ".join(w for w, _ in wanted),
        seen + ttl,
    )


def _stale_keys(sim: Simulation, c: model.StaleKeys, _start: int) -> Check:
    """§26.2: expired keys the active expire cycle has not reached yet."""
    dataplane = sim.extras.get("dataplane")
    node = sim.cluster.nodes.get(c.node)
    if dataplane is None or node is None or node.data is None:
        return Check(False, f"stale keys on {c.node}", f"{c.node} has no keyspace")
    now = UNIX_BASE_MS + sim.now
    stale = sum(1 for when in dataplane.data(node).expires.at.values() if now > when)
    low = c.minimum if c.minimum is not None else 0
    expected = f"at least {low}" if c.maximum is None else f"between {low} and {c.maximum}"
    passed = stale >= low and (c.maximum is None or stale <= c.maximum)
    return Check(passed, f"{expected} expired keys still in {c.node}'s memory", f"{stale}")


def _latency(sim: Simulation, c: model.Latency, _start: int) -> Check:
    """§28.4: the nearest-rank percentile of the client's ``ok`` request latencies."""
    since = sim.now - c.window if c.window is not None else None
    values = sorted(
        e["latency_ms"]
        for e in sim.trace.of_kind("request")
        if e.get("client") == c.client
        and e.get("outcome") == "ok"
        and (since is None or e["t"] >= since)
    )
    window = f" over the last {c.window / 1000:g}s" if c.window is not None else ""
    low = c.minimum if c.minimum is not None else 0
    bound = f"at least {low} ms" if c.maximum is None else f"between {low} and {c.maximum} ms"
    expected = f"p{c.percentile:g} of {c.client}'s latency{window} {bound}"
    if not values:
        return Check(False, expected, "no request answered")
    rank = max(0, min(len(values) - 1, -(-len(values) * c.percentile // 100) - 1))
    seen = values[int(rank)]
    passed = seen >= low and (c.maximum is None or seen <= c.maximum)
    return Check(passed, expected, f"{seen} ms ({len(values)} requests)")


def _requests(sim: Simulation, c: model.Requests, _start: int) -> Check:
    """The share of the client's request attempts (one ``request`` event each) with the outcome."""
    since = sim.now - c.window if c.window is not None else None
    seen = [
        e["outcome"]
        for e in sim.trace.of_kind("request")
        if e.get("client") == c.client and (since is None or e["t"] >= since)
    ]
    window = f" over the last {c.window / 1000:g}s" if c.window is not None else ""
    low = c.minimum if c.minimum is not None else 0.0
    high = c.maximum if c.maximum is not None else 1.0
    expected = f"{low:.0%}-{high:.0%} of {c.client}'s requests{window} answered {c.outcome}"
    if not seen:
        return Check(False, expected, "no request answered")
    share = seen.count(c.outcome) / len(seen)
    return Check(low <= share <= high, expected, f"{share:.0%} of {len(seen)}")


def _event(sim: Simulation, c: model.Event, start: int) -> Check:
    """Without ``within``: the whole trace so far (from the scenario's 0); with it:
    [start, start + within]."""
    what = _describe_event(c)
    events: Sequence[TraceEvent] = sim.trace.events
    origin = getattr(sim.extras.get("driver"), "origin", 0)
    if origin:  # a fresh start (harness/fresh.py): what built the cluster is not the run's
        events = [e for e in events if e["t"] >= origin]
    if c.within is not None:
        end = start + c.within
        matches = [e for e in events if start <= e["t"] <= end and event_matches(e, c)]
        window = f" within {c.within / 1000:g}s of {start / 1000:.3f}s"
    else:
        matches = [e for e in events if event_matches(e, c)]
        window = ""
    if c.count is not None:
        expected = f"exactly {c.count} '{what}' events{window}"
        passed = len(matches) == c.count
    else:
        expected = f"a '{what}' event{window}"
        passed = bool(matches)
    if matches:
        observed = f"{len(matches)} seen, first at {matches[0]['t'] / 1000:.3f}s"
    else:
        same_kind = [e for e in events if e["kind"] == c.kind]
        observed = "none seen"
        if same_kind:
            last = same_kind[-1]
            who = " ".join(f"{k}={last[k]}" for k in ("node", "target") if last.get(k) is not None)
            observed += f" (the last '{c.kind}' was {who or 'unnamed'} at {last['t'] / 1000:.3f}s)"
    return Check(passed, expected, observed)


def _cache(sim: Simulation, c: model.CacheMetric, _start: int) -> Check:
    """A cache-aside figure (docs/caching.md)."""
    return Check(*check_cache(sim, c))


_CHECKERS: dict[type[model.Condition], Callable[[Simulation, Any, int], Check]] = {
    model.ClusterState: _cluster_state,
    model.Role: _role,
    model.Owner: _owner,
    model.Flag: _flag,
    model.Agree: _agree,
    model.Covered: _covered,
    model.LostWrites: _lost_writes,
    model.Promoted: _promoted,
    model.Epoch: _epoch,
    model.Delivered: _delivered,
    model.Key: _key,
    model.StaleKeys: _stale_keys,
    model.CacheMetric: _cache,
    model.Latency: _latency,
    model.Requests: _requests,
    model.Event: _event,
}


def check(sim: Simulation, condition: model.Condition, start: int = 0) -> Check:
    """Evaluate ``condition`` now; ``start`` is the step's start (for ``event.within``)."""
    checker = _CHECKERS.get(type(condition))
    if checker is None:
        return Check(False, type(condition).__name__, "this condition is not supported")
    return checker(sim, condition, start)
