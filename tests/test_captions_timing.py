"""Every bundled lesson's captions appear when the thing they explain happens (issue 16).

A step's caption is shown when its action happens, or, for a step that only waits, when
the wait ends (docs/scenario-format.md). A waiting step is tied to the moment its
conditions became true, which the trace records as an event (a ``pfail``, a
``cluster_state`` change, a ``promoted``...). This test finds that moment from the trace
and checks that the caption comes no earlier than it and at most :data:`MAX_DELAY_MS`
after it: the runner re-checks a wait every ``WAIT_POLL_MS`` (10 ms) of simulated time.
A wait that was already true long before it started (a caption explaining something
that happened seconds earlier) fails here.

A step with a caption and neither an action nor a wait is *narration* of a state, not
an event; each such step is listed in :data:`NARRATION`, so a new caption timed by a
guessed ``at:``/``after:`` is caught until its author ties it to an event or lists it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from simulator.harness import runner
from simulator.harness.conditions import event_matches
from simulator.scenario import list_bundled, load_scenario, model
from tests.shared_runs import group, lesson_run, on_group

MAX_DELAY_MS = runner.WAIT_POLL_MS
"""A waiting step's caption comes at most one poll period after its event."""

SEEDS = (1, 2)
ONE_SEED = frozenset({"mass-failure"})
"""Lessons checked at seed 1 only: the 200-node run costs 60–100 s of CPU a seed, and its
second seed (other victims of the same 10 % kill, the same caption checks) took the
suite past CI's 15 minutes on 2 cores."""

NARRATION: dict[str, set[int]] = {
    "add-node-rebalance": {4},
    "big-cluster-reports": {0, 3, 4},
    "bus-cost": {0, 1, 2},
    "hello-cluster": {0, 1, 2, 3},
    "live-resharding": {0, 4},
    "majority-down": {4, 5},
    "mass-failure": {0},
    "master-crash": {0, 5},
    "minority-partition": {0},
    "persistence-trap": set(),
    "pubsub": {9},
    "real-clients": {0, 1, 2},
    "replica-migration": {0, 4},
    "replica-ranking": {0, 5},
    "no-replica": set(),
    "open-slot": set(),
    "paused-master-returns": {4},
    "manual-failover": set(),
    "eviction-policies": {0, 2},
    "ttl-on-replica": {2},
    "keyspace-notifications": {5},
    "expire-cycle": {0, 1},
    "cache-stampede": {0, 4},
    "invalidation-lost": {5, 6},
    "one-instance-or-cluster": {0, 2, 5, 10, 12},
    "one-instance-or-cluster-3-shards": {0, 2, 4, 5, 13, 16},
    "validity-window": {0, 5},
    "client-side-caching": set(),
}
"""Per lesson, the steps whose caption narrates a state at a chosen time (by index)."""

Event = dict[str, Any]


def _last(events: Sequence[Event], until: int, **fields: Any) -> int | None:
    times = [
        e["t"]
        for e in events
        if e["t"] <= until and all(e.get(key) == value for key, value in fields.items())
    ]
    return times[-1] if times else None


def _became_true(events: Sequence[Event], c: model.Condition, shown: int) -> int:
    """When ``c`` became true, from the trace (the event that made it true)."""
    found: int | None
    if isinstance(c, model.Event) and c.within is None and c.count is None:
        matches = [e["t"] for e in events if event_matches(e, c)]
        found = matches[0] if matches else None
    elif isinstance(c, model.Promoted):
        found = _last(events, shown, kind="promoted", node=c.node)
    elif isinstance(c, model.Flag) and c.has in ("pfail", "fail"):
        found = _last(events, shown, kind=c.has, node=c.observer, target=c.node)
    elif isinstance(c, model.Flag) and c.has == "master":
        found = max(
            (
                t
                for kind in ("node_discovered", "handshake_done")
                if (t := _last(events, shown, kind=kind, node=c.observer, target=c.node))
                is not None
            ),
            default=None,
        )
    elif isinstance(c, model.ClusterState):
        fields: dict[str, Any] = {"kind": "cluster_state", "state": c.state}
        if c.node is not None:
            fields["node"] = c.node
        found = _last(events, shown, **fields)
    elif isinstance(c, model.Role):
        # A node without a role event has had its role since the start (replica-ranking's
        # n7 is a replica throughout; it follows the winner ~40 ms after the promotion,
        # §4.5, after the wait that its role already satisfied).
        found = max(
            (_last(events, shown, kind="role", node=name) or 0 for name in c.roles),
            default=None,
        )
    elif isinstance(c, model.Delivered) and c.count is not None:
        fields = {"kind": "deliver"}
        if c.subscriber is not None:
            fields["target"] = c.subscriber
        if c.channel is not None:
            fields["channel"] = c.channel
        times = [e["t"] for e in events if all(e.get(k) == v for k, v in fields.items())]
        found = times[c.count - 1] if len(times) >= c.count else None
    elif isinstance(c, model.Covered) and c.value:
        found = _last(events, shown, kind="promoted")  # the last orphaned slots got an owner
    elif isinstance(c, model.StaleKeys) and c.maximum == 0:
        found = _last(events, shown, kind="key_expired", node=c.node)  # the last dead key went
    else:
        raise AssertionError(f"no trace event ties {c.yaml_key} at {c.loc}: extend this test")
    assert found is not None and found >= 0, f"{c.yaml_key} at {c.loc}: no event made it true"
    return found


def _cases() -> list[Any]:
    return [
        on_group(group(name, seed), name, seed)
        for name, _ in list_bundled()
        for seed in (SEEDS[:1] if name in ONE_SEED else SEEDS)
    ]


@pytest.mark.parametrize(("lesson", "seed"), _cases())
def test_captions_come_with_their_events(lesson: str, seed: int) -> None:
    scenario = load_scenario(lesson)
    events: list[Event] = lesson_run(lesson, seed).events()  # runner.run(scenario, seed)
    shown: dict[int, list[int]] = {}
    for event in events:
        if event["kind"] == "caption":
            shown.setdefault(event["step"], []).append(event["t"])
    narration = NARRATION[lesson]
    for step in scenario.steps:
        if not step.caption:
            continue
        assert len(shown.get(step.index, [])) == 1, f"step {step.index + 1}: caption shown once"
        t = shown[step.index][0]
        if step.action is not None:
            continue  # shown with the action, which happens then
        if not step.wait_for:
            assert step.index in narration, (
                f"{lesson} step {step.index + 1}: a caption timed by at/after explains no "
                "event; tie it with wait_for, or list it in NARRATION if it narrates a state"
            )
            continue
        assert step.index not in narration, f"{lesson} step {step.index + 1} waits: not narration"
        tied = max(_became_true(events, c, t) for c in step.wait_for)
        assert tied <= t <= tied + MAX_DELAY_MS, (
            f"{lesson} seed {seed} step {step.index + 1}: caption at {t} ms, "
            f"its event at {tied} ms (allowed: up to {MAX_DELAY_MS} ms after)"
        )


def test_every_bundled_lesson_is_listed() -> None:
    assert sorted(NARRATION) == sorted(name for name, _ in list_bundled())


@pytest.mark.xdist_group(group("live-resharding", 1))
def test_live_resharding_shows_asks_for_a_while() -> None:
    """At 1× speed a learner sees the ASK caption while ASKs happen, for over a second."""
    events = lesson_run("live-resharding", 1).events()
    asks = [e["t"] for e in events if e["kind"] == "request" and e.get("outcome") == "ask"]
    captions = [e for e in events if e["kind"] == "caption"]
    ask_caption = next(e["t"] for e in captions if "-ASK" in e["text"])
    next_caption = min(e["t"] for e in captions if e["t"] > ask_caption)
    assert asks[0] <= ask_caption <= asks[0] + MAX_DELAY_MS
    assert next_caption - ask_caption >= 1500
    assert asks[-1] - ask_caption >= 1500
