"""Scenario conditions checked against what the real nodes report.

The same meanings as rcsim's checks (simulator/scenario/conditions.py): ``role``,
``flag``, ``cluster_state`` and ``epoch`` read one node's own view; ``owner``,
``covered`` and ``agree`` ask the cluster as a whole, where the "truth" is, as in
``Cluster.truth_table``, every live master's own slots, higher configEpoch winning.
A paused node answers nothing, so its last answer stands for it (rcsim keeps a paused
node's state as it was, too). ``lost_writes`` reads every written key back (the
clients' ledger is rcsim's own); ``delivered`` counts the push messages the real
subscribers received (:mod:`rcsim.verify.pubsub`), as rcsim's data plane counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rcsim.verify import loadchecks
from rcsim.verify.clusterview import CLUSTER_SLOTS, Snapshot, format_ranges
from rcsim.verify.events import Event
from rcsim.verify.scenario_api import event_matches, model

Verdict = tuple[bool, str, str]
"""(passed, expected, observed), as rcsim's ``Check``."""


@dataclass(frozen=True, slots=True)
class World:
    """The real cluster at one moment: each node's latest answer, process status, events."""

    views: Mapping[str, Snapshot]
    status: Mapping[str, str]  # name -> running | paused | dead
    events: Sequence[Event]
    lost_writes: Callable[[], int] = lambda: 0
    delivered: Callable[[str | None, str | None], int] = lambda channel, subscriber: 0
    probe: Callable[[str, str], tuple[bool, bool] | None] = lambda node, key: None
    stale: Callable[[str], int | None] = lambda node: None
    cache: Callable[[str | None, str], Any] = lambda client, metric: None
    now: float = 0.0  # ms on the run's clock (the windows of requests / latency)

    def alive(self) -> list[str]:
        return [n for n, s in self.status.items() if s != "dead" and n in self.views]

    def running(self) -> list[str]:
        return [n for n, s in self.status.items() if s == "running" and n in self.views]

    def truth_table(self) -> list[str | None]:
        claims = [self.views[n] for n in self.alive() if self.views[n].role() == "master"]
        claims.sort(key=lambda v: (v.me.config_epoch if v.me else 0, v.name))
        table: list[str | None] = [None] * CLUSTER_SLOTS
        for view in claims:
            for slot in view.me.slots if view.me else ():
                table[slot] = view.name
        return table


def _cluster_state(world: World, c: model.ClusterState, _start: int) -> Verdict:
    if c.node is not None:
        expected = f"{c.node} reports cluster_state:{c.state}"
        if world.status.get(c.node, "dead") == "dead" or c.node not in world.views:
            return False, expected, f"{c.node} is not running, it reports nothing"
        state = world.views[c.node].state
        return state == c.state, expected, f"{c.node} reports {state}"
    expected = f"every live node reports cluster_state:{c.state}"
    live = world.alive()
    wrong = [f"{n}:{world.views[n].state}" for n in live if world.views[n].state != c.state]
    if not live:
        return False, expected, "no node is alive"
    if wrong:
        return False, expected, "not yet: " + ", ".join(wrong)
    return True, expected, f"all {len(live)} live nodes report {c.state}"


def _role(world: World, c: model.Role, _start: int) -> Verdict:
    expected = ", ".join(f"{name} is a {role}" for name, role in c.roles.items())
    seen: list[str] = []
    passed = True
    for name, role in c.roles.items():
        view = world.views.get(name)
        if view is None:
            passed = False
            seen.append(f"{name} never answered")
            continue
        actual = view.role()
        passed = passed and actual == role
        seen.append(f"{name} is a {actual}")
    return passed, expected, "; ".join(seen)


def _owner(world: World, c: model.Owner, _start: int) -> Verdict:
    table = world.truth_table()
    expected = "; ".join(f"{name} owns {format_ranges(slots)}" for name, slots in c.owners.items())
    wrong = [
        f"{name}: {format_ranges([s for s in slots if table[s] != name])} owned elsewhere"
        for name, slots in c.owners.items()
        if any(table[s] != name for s in slots)
    ]
    return not wrong, expected, "; ".join(wrong) or "they own them"


def _flag(world: World, c: model.Flag, _start: int) -> Verdict:
    wanted = c.has if c.has is not None else c.lacks
    verb = "has" if c.has is not None else "lacks"
    expected = f"in {c.observer}'s view, {c.node} {verb} the {wanted} flag"
    view = world.views.get(c.observer)
    if view is None or world.status.get(c.observer, "dead") == "dead":
        return False, expected, f"{c.observer} is not running: it has no view"
    flags = view.flags_of(c.node)
    if flags is None:
        return c.has is None, expected, f"{c.observer} does not know {c.node}"
    present = wanted in flags
    passed = present if c.has is not None else not present
    return passed, expected, f"{c.observer} sees {c.node} as {','.join(sorted(flags))}"


def _agree(world: World, c: model.Agree, _start: int) -> Verdict:
    tables = {world.views[n].slot_table() for n in world.running()}
    agree = len(tables) <= 1
    expected = "all running nodes agree on every slot's owner"
    if not c.value:
        expected = "some running nodes disagree on a slot's owner"
    return agree == c.value, expected, "they agree" if agree else "they disagree"


def _covered(world: World, c: model.Covered, _start: int) -> Verdict:
    missing = [slot for slot, owner in enumerate(world.truth_table()) if owner is None]
    expected = "every slot has a live owner" if c.value else "some slot has no live owner"
    observed = (
        f"{len(missing)} slots have no live owner" if missing else "all 16384 slots are served"
    )
    return (not missing) == c.value, expected, observed


def _lost_writes(world: World, c: model.LostWrites, _start: int) -> Verdict:
    lost = world.lost_writes()
    if c.exact is not None:
        return lost == c.exact, f"{c.exact} acknowledged writes lost", f"{lost} lost"
    low = c.minimum if c.minimum is not None else 0
    high = c.maximum
    expected = f"at least {low}" if high is None else f"between {low} and {high}"
    passed = lost >= low and (high is None or lost <= high)
    return passed, expected + " acknowledged writes lost", f"{lost} lost"


def _promoted(world: World, c: model.Promoted, _start: int) -> Verdict:
    expected = f"{c.node} has been promoted to master"
    for event in world.events:
        if event["kind"] == "promoted" and event.get("node") == c.node:
            return (
                True,
                expected,
                f"{c.node} replaced {event.get('target')} at {event['t'] / 1000:.3f}s",
            )
    return False, expected, f"{c.node} has not been promoted"


def _config_epoch(world: World, name: str) -> int | None:
    view = world.views.get(name)
    me = None if view is None else view.me
    return None if me is None else me.config_epoch


def _epoch(world: World, c: model.Epoch, _start: int) -> Verdict:
    expected = ", ".join(f"{name} has configEpoch {epoch}" for name, epoch in c.epochs.items())
    seen = {name: _config_epoch(world, name) for name in c.epochs}
    passed = all(seen[name] == epoch for name, epoch in c.epochs.items())
    return passed, expected, ", ".join(f"{name} has {epoch}" for name, epoch in seen.items())


def _event(world: World, c: model.Event, start: int) -> Verdict:
    events = [e for e in world.events if event_matches(e, c)]
    if c.within is not None:
        events = [e for e in events if start <= e["t"] <= start + c.within]
    what = " ".join(
        [c.kind] + [f"{k}={v}" for k, v in (("node", c.node), ("target", c.target)) if v]
    )
    if c.count is not None:
        return len(events) == c.count, f"exactly {c.count} '{what}' events", f"{len(events)} seen"
    observed = f"first at {events[0]['t'] / 1000:.3f}s" if events else "none seen"
    return bool(events), f"a '{what}' event", observed


def _delivered(world: World, c: model.Delivered, _start: int) -> Verdict:
    count = world.delivered(c.channel, c.subscriber)
    scope = [f"to {c.subscriber}"] if c.subscriber is not None else []
    scope += [f"on {c.channel}"] if c.channel is not None else []
    where = (" " + " ".join(scope)) if scope else ""
    if c.count is not None:
        return count == c.count, f"{c.count} deliveries{where}", f"{count} delivered"
    minimum = c.minimum if c.minimum is not None else 1
    return count >= minimum, f"at least {minimum} deliveries{where}", f"{count} delivered"


def _key(world: World, c: model.Key, _start: int) -> Verdict:
    """As rcsim's: stored (in memory, expired or not) and readable (§26.3,
    rcsim.verify.keystate)."""
    wanted = []
    if c.stored is not None:
        wanted.append("stored" if c.stored else "not stored")
    if c.readable is not None:
        wanted.append("readable" if c.readable else "not readable")
    expected = f"{c.key} on {c.node}: " + " and ".join(wanted)
    seen = world.probe(c.node, c.key)
    if seen is None:
        return False, expected, f"{c.node} does not answer"
    stored, readable = seen
    passed = (c.stored is None or c.stored == stored) and (
        c.readable is None or c.readable == readable
    )
    observed = (
        f"{'stored' if stored else 'not stored'}, {'readable' if readable else 'not readable'}"
    )
    return passed, expected, observed


def _stale_keys(world: World, c: model.StaleKeys, _start: int) -> Verdict:
    """Expired keys still in memory (§26.2, rcsim.verify.keystate); the observed text is
    the bare number, as rcsim's (rcsim.verify.figures reads it)."""
    low = c.minimum if c.minimum is not None else 0
    expected = f"at least {low}" if c.maximum is None else f"between {low} and {c.maximum}"
    expected += f" expired keys still in {c.node}'s memory"
    stale = world.stale(c.node)
    if stale is None:
        return False, expected, f"{c.node} has not answered INFO stats"
    passed = stale >= low and (c.maximum is None or stale <= c.maximum)
    return passed, expected, f"{stale}"


def _cache(world: World, c: model.CacheMetric, _start: int) -> Verdict:
    """A cache-aside figure (rcsim.verify.cacheaside), worded as rcsim's check_cache."""
    who = (
        f"{c.client}'s"
        if c.client
        else ("the stale-read ledger's" if c.metric.startswith("stale") else "the database's")
    )
    low = c.minimum if c.minimum is not None else 0
    bound = f"at least {low:g}" if c.maximum is None else f"between {low:g} and {c.maximum:g}"
    expected = f"{who} {c.metric} {bound}"
    value = world.cache(c.client, c.metric)
    if value is None:
        return False, expected, "no such figure (no cache-aside client, or none answered yet)"
    passed = value >= low and (c.maximum is None or value <= c.maximum)
    return passed, expected, f"{value:g}"


CHECKERS: dict[type[model.Condition], Callable[[World, Any, int], Verdict]] = {
    model.ClusterState: _cluster_state,
    model.Role: _role,
    model.Owner: _owner,
    model.Flag: _flag,
    model.Agree: _agree,
    model.Covered: _covered,
    model.Promoted: _promoted,
    model.LostWrites: _lost_writes,
    model.Epoch: _epoch,
    model.Event: _event,
    model.Delivered: _delivered,
    model.Key: _key,
    model.StaleKeys: _stale_keys,
    model.CacheMetric: _cache,
    model.Requests: lambda w, c, _s: loadchecks.requests(w.events, w.now, c),
    model.Latency: lambda w, c, _s: loadchecks.latency(w.events, w.now, c),
}


def check(world: World, condition: model.Condition, start: int) -> Verdict:
    """Evaluate one condition now; ``start`` is the step's start (for ``event.within``)."""
    checker = CHECKERS.get(type(condition))
    if checker is None:
        return False, condition.yaml_key, "not observable on a real cluster"
    return checker(world, condition, start)
