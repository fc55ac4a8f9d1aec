"""rcsim verify plays the lessons of keys that expire or are evicted (rcsim/verify/keyspace.py,
keystate.py): which notifications the nodes get, how a notification becomes rcsim's trace
events, that those events satisfy the lessons' own conditions, and the ``key`` /
``stale_keys`` checks, all without a real server (the kept reports hold real runs)."""

from __future__ import annotations

import inspect
import threading
from typing import Any

import pytest

from rcsim.verify import keystate
from rcsim.verify.clients import EVICTED_BY, EXPIRED_BY, Workload, lost_count
from rcsim.verify.conditions import World, check
from rcsim.verify.keyspace import Observer, event_of, merged_flags, needed_classes, produces
from rcsim.verify.playable import refusals, unobservable
from rcsim.verify.poller import Observations
from rcsim.verify.realcluster import DEFAULT_CLIENT
from rcsim.verify.resp import RespError
from rcsim.verify.scenario_api import load_scenario, model
from simulator.dataplane import actions, maxmemory
from simulator.dataplane import expiry as rcsim_expiry
from simulator.dataplane.memory import CALIBRATION_EMPTY_USED_MEMORY
from simulator.slots import key_hash_slot

LESSONS = ("eviction-policies", "expire-cycle", "ttl-on-replica", "keyspace-notifications")


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_key_lessons_are_playable_for_real(lesson: str) -> None:
    assert refusals(load_scenario(lesson), partitions=None) == []


def test_what_a_real_node_cannot_say_stays_unobservable() -> None:
    scenario = load_scenario("expire-cycle")
    cycle = [c for s in scenario.steps for c in s.expect if isinstance(c, model.Event)]
    assert unobservable(cycle[0]) == "a 'expire_cycle' event is not observable on a real cluster"
    how = model.Event(loc=scenario.cluster.loc, kind="key_expired", fields={"how": "active"})
    assert unobservable(how) is not None


def test_each_lesson_gets_the_notification_classes_its_conditions_need() -> None:
    assert needed_classes(load_scenario("ttl-on-replica")) == "x"  # key_expired
    assert needed_classes(load_scenario("keyspace-notifications")) == "x"  # its own events
    assert needed_classes(load_scenario("eviction-policies")) == "e"  # key_evicted
    assert needed_classes(load_scenario("expire-cycle")) == ""  # counters only
    assert needed_classes(load_scenario("master-crash")) == ""
    assert merged_flags("Ex", "x") == "Ex"
    assert merged_flags("", "e") == "Ee"
    assert merged_flags("Kx", "e") == "EKex"


def test_a_notification_becomes_rcsims_events() -> None:
    expired = event_of("n4", "__keyevent@0__:expired", "session:42", "", None, 0)
    assert expired == [{"kind": "key_expired", "node": "n4", "key": "session:42"}]
    evicted = event_of("rand", "__keyevent@0__:evicted", "hot:3", "", "allkeys-random", 0)
    assert evicted == [
        {"kind": "key_evicted", "node": "rand", "key": "hot:3", "policy": "allkeys-random"}
    ]
    # the scenario's own flags (Ex) publish "expired": that is a keyspace_event too
    both = event_of("n1", "__keyevent@0__:expired", "user:3", "Ex", None, 1)
    assert both[1] == {
        "kind": "keyspace_event",
        "node": "n1",
        "channel": "__keyevent@0__:expired",
        "message": "user:3",
        "receivers": 1,
    }
    # an evicted event the run added for itself (flags Ex only) is no keyspace_event
    assert produces("Ex", "__keyevent@0__:expired")
    assert not produces("Ex", "__keyevent@0__:evicted")
    assert produces("EA", "__keyevent@0__:evicted")
    assert not produces("Kx", "__keyevent@0__:expired")


def _world(events: list[dict[str, Any]], **extra: Any) -> World:
    return World({}, {}, events, **extra)


def _conditions(scenario: model.Scenario) -> list[model.Condition]:
    return [c for s in scenario.steps for c in (*s.wait_for, *s.expect)] + list(scenario.expect)


def test_the_notification_lesson_passes_on_the_events_a_real_run_gives() -> None:
    scenario = load_scenario("keyspace-notifications")
    events = [
        {"t": 2030, **e}
        for e in event_of("n1", "__keyevent@0__:expired", "user:3", "Ex", None, receivers=1)
    ] + [
        {"t": 2540, **e}
        for e in event_of("n2", "__keyevent@0__:expired", "user:2", "Ex", None, receivers=0)
    ]
    world = _world(events, delivered=lambda channel, subscriber: 1)
    for condition in _conditions(scenario):
        passed, expected, observed = check(world, condition, 0)
        assert passed, (expected, observed)
    # n1's event published to nobody would fail the final expect
    lonely = [dict(e, receivers=0) if e["kind"] == "keyspace_event" else e for e in events]
    verdicts = [check(_world(lonely), c, 0)[0] for c in scenario.expect]
    assert not all(verdicts)


def test_the_ttl_lesson_reads_the_replica_as_rcsim_does() -> None:
    scenario = load_scenario("ttl-on-replica")
    stored_unreadable = _world([], probe=lambda node, key: (True, False))
    key_check = scenario.steps[2].expect[0]
    assert check(stored_unreadable, key_check, 0) == (
        True,
        "session:42 on n4: stored and not readable",
        "stored, not readable",
    )
    assert not check(_world([], probe=lambda node, key: (True, True)), key_check, 0)[0]
    assert check(_world([]), key_check, 0)[2] == "n4 does not answer"
    expired = [
        {"t": 4200, **event_of("n4", "__keyevent@0__:expired", "session:42", "", None, 0)[0]}
    ]
    waits = scenario.steps[4].wait_for
    assert all(check(_world(expired), c, 0)[0] for c in waits)
    assert not any(check(_world([]), c, 0)[0] for c in waits)


def test_stale_keys_are_the_deadlines_passed_less_the_keys_expired() -> None:
    deadlines = sorted([1000.0, 1001.0, 1500.0, 2500.0])
    assert keystate.stale(deadlines, 1600.0, expired=1) == 2
    assert keystate.stale(deadlines, 999.0, expired=0) == 0
    assert keystate.stale(deadlines, 3000.0, expired=5) == 0  # never below zero
    condition = load_scenario("expire-cycle").steps[1].expect[0]
    assert check(_world([], stale=lambda node: 302), condition, 0) == (
        True,
        "at least 30 expired keys still in n1's memory",
        "302",
    )
    assert not check(_world([], stale=lambda node: 29), condition, 0)[0]
    assert check(_world([]), condition, 0)[2] == "n1 has not answered INFO stats"


class FakeConnection:
    def __init__(self, replies: list[Any]) -> None:
        self.replies = replies
        self.sent: list[tuple[Any, ...]] = []

    def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        self.sent.extend(commands)
        return self.replies

    def call(self, *command: Any) -> Any:
        self.sent.append(command)
        return self.replies.pop(0)


def test_a_probe_asks_memory_usage_for_stored_and_exists_for_readable() -> None:
    connection = FakeConnection(["OK", 72, 0])
    assert keystate.probe(connection, "session:42") == (True, False)  # type: ignore[arg-type]
    assert connection.sent == [
        ("READONLY",),
        ("MEMORY", "USAGE", "session:42"),
        ("EXISTS", "session:42"),
    ]
    assert keystate.probe(FakeConnection(["OK", None, 0]), "k") == (False, False)  # type: ignore[arg-type]
    with pytest.raises(RespError):
        keystate.probe(FakeConnection(["OK", RespError("MOVED 1 x:1"), 0]), "k")  # type: ignore[arg-type]


def test_a_real_node_gets_the_room_for_keys_rcsims_model_gives() -> None:
    assert keystate.RCSIM_EMPTY_USED_MEMORY == CALIBRATION_EMPTY_USED_MEMORY
    assert keystate.real_maxmemory(980_000, 2_200_000) == 2_200_000 + 980_000 - 963_904
    assert keystate.maxmemory_of({"maxmemory": "1mb"}) == 1024 * 1024
    assert keystate.maxmemory_of({"maxmemory": 0}) is None
    assert keystate.maxmemory_of({}) is None
    key = keystate.key_in(range(10923, 16384))
    assert 10923 <= key_hash_slot(key) <= 16383
    assert keystate.needs_stats(load_scenario("eviction-policies"))
    assert keystate.needs_stats(load_scenario("ttl-on-replica"))
    assert not keystate.needs_stats(load_scenario("master-crash"))


def test_a_real_node_with_a_backlog_gets_the_room_rcsim_leaves_beside_its_first_block() -> None:
    """§25.1: rcsim's masters with replicas and replicas start with one replication
    buffer block counted; the real node's own count (used_memory less
    mem_not_counted_for_evict) already holds its block, so the room above it matches."""
    specs = load_scenario("eviction-policies").cluster.nodes
    lru5 = next(s for s in specs if s.name == "lru5")
    replica = next(s for s in specs if s.name == "lru5-r")
    assert keystate.has_backlog(lru5, specs) and keystate.has_backlog(replica, specs)
    alone = load_scenario("no-replica").cluster.nodes
    assert alone and not any(keystate.has_backlog(s, alone) for s in alone)
    assert keystate.start_memory({}, True) == 963_904 + 20_504
    assert keystate.start_memory({"repl-backlog-size": 16384}, True) == 963_904 + 16_384 + 128
    assert keystate.start_memory({"repl-backlog-size": "1mb"}, False) == 963_904
    start = keystate.start_memory({}, True)
    assert keystate.real_maxmemory(1_100_000, 990_000, start) == 990_000 + 1_100_000 - start
    info = "# Memory\r\nused_memory:1000000\r\nmem_not_counted_for_evict:3992\r\n"
    assert keystate.used_memory(FakeConnection([info])) == 1_000_000 - 3992  # type: ignore[arg-type]


def test_the_ledger_writers_and_default_client_are_rcsims() -> None:
    assert DEFAULT_CLIENT == actions.DEFAULT_CLIENT
    assert EVICTED_BY == maxmemory.EVICTED_BY
    assert f'"{EXPIRED_BY}")' in inspect.getsource(rcsim_expiry._ledger_delete)


def test_keys_expired_or_evicted_are_deletions_not_lost_writes() -> None:
    acks = [
        (1.0, "a:1", "v1", "n1", "loader"),
        (2.0, "a:1", None, "n1", EXPIRED_BY),  # its TTL passed
        (1.5, "b:1", "v2", "n1", "loader"),
        (3.0, "b:1", None, "n1", EVICTED_BY),
        (1.2, "c:1", "v3", "n1", "loader"),  # no deletion: absent means lost
    ]
    reads = {"a:1": (None, 5.0), "b:1": (None, 5.0), "c:1": (None, 5.0)}
    assert lost_count(acks, set(), reads) == 1


class FakeClient:
    name = "loader"

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []

    def execute(self, emit: Any, *args: str) -> tuple[str, Any, str, float]:
        self.sent.append(args)
        return "ok", "OK", "n1", 10.0

    def close(self) -> None:
        pass


def test_a_write_with_a_ttl_sends_px_and_records_its_deadline() -> None:
    client = FakeClient()
    spec = model.ClientSpec(
        name="loader", rate=0.0, ttl_ms=1000, loc=load_scenario("hello-cluster").cluster.loc
    )
    acks: list[Any] = []
    workload = Workload(
        client,  # type: ignore[arg-type]
        spec,
        acks,
        set(),
        threading.Lock(),
        lambda: 500.0,
        lambda n, f: None,
    )
    workload.command(True, "a:1", "v", ttl_ms=1000)
    workload.command(True, "a:2", "v")
    assert client.sent == [("SET", "a:1", "v", "PX", "1000"), ("SET", "a:2", "v")]
    assert workload.deadlines == [("n1", 1500.0)]
    assert (11.0, "a:1", None, "n1", EXPIRED_BY) in acks


def test_pollers_keep_the_expired_and_evicted_counters() -> None:
    observations = Observations()
    observations.record_stats(
        120.0, "n1", "# Stats\r\nexpired_keys:17\r\nevicted_keys:3\r\nkeyspace_hits:9\r\n"
    )
    assert observations.latest_stats() == {"n1": (120.0, {"expired_keys": 17, "evicted_keys": 3})}


class PushConnection:
    def __init__(self, pushes: list[Any]) -> None:
        self.pushes = pushes

    def read_reply(self) -> Any:
        if not self.pushes:
            raise OSError("closed")
        return self.pushes.pop(0)


def test_the_observer_turns_pushes_into_timed_events() -> None:
    added: list[tuple[float, dict[str, Any]]] = []
    observer = Observer(
        "Ex",
        lambda node: None,
        lambda node, channel: 1 if node == "n1" else 0,
        lambda t, event: added.append((t, event)),
        lambda: 2040.0,
    )
    connection = PushConnection(
        [
            ["psubscribe", "__keyevent@*__:*", 1],
            ["pmessage", "__keyevent@*__:*", "__keyevent@0__:expired", "user:3"],
        ]
    )
    observer._read("n1", connection)  # type: ignore[arg-type]
    assert [event["kind"] for _, event in added] == ["key_expired", "keyspace_event"]
    assert added[1] == (
        2040.0,
        {
            "kind": "keyspace_event",
            "node": "n1",
            "channel": "__keyevent@0__:expired",
            "message": "user:3",
            "receivers": 1,
        },
    )


def test_an_absent_key_was_evicted_last_even_if_the_notification_came_first() -> None:
    # the SET's reply was read after the eviction's notification arrived, but the key is
    # absent on read-back: the server evicted it after the SET (no SET after it ran)
    acks = [
        (1.000, "hot:3", "v1", "rand", "hot"),
        (1.002, "hot:3", None, "rand", EVICTED_BY),
        (1.004, "hot:3", "v2", "rand", "hot"),
    ]
    assert lost_count(acks, set(), {"hot:3": (None, 5.0)}) == 0
    # read back with v2 there, nothing is lost either
    assert lost_count(acks, set(), {"hot:3": ("v2", 5.0)}) == 0
    # without an eviction an absent key's write is lost
    assert lost_count([acks[0], acks[2]], set(), {"hot:3": (None, 5.0)}) == 2
