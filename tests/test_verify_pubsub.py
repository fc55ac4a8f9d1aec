"""rcsim verify plays pub/sub for real (rcsim/verify/pubsub.py): which command each step
becomes and on which node, how pushes are counted, the ``delivered`` check, and the
reader against a stand-in RESP server on loopback (no real Redis in the unit suite)."""

from __future__ import annotations

import socket
import threading
import time

from rcsim.verify.cleanup import Cleanup
from rcsim.verify.conditions import World, check
from rcsim.verify.pubsub import Deliveries, RealPubSub, delivered_channel, plan, target_node
from rcsim.verify.resp import encode
from rcsim.verify.scenario_api import load_scenario, model
from simulator.scenario.errors import Loc
from simulator.slots import key_hash_slot

AT = Loc("t.yaml", 1, 1)

RANGES = {"n1": range(0, 5461), "n2": range(5461, 10923), "n3": range(10923, 16384)}


def owner_of(slot: int) -> str | None:
    return next((n for n, r in RANGES.items() if slot in r), None)


def running() -> list[str]:
    return ["n6", "n2", "n5", "n1", "n3", "n4"]


def test_the_pubsub_lesson_becomes_these_commands() -> None:
    assert key_hash_slot("{orders}") == 105  # n1's range: SSUBSCRIBE and SPUBLISH go there
    assert plan(load_scenario("pubsub"), owner_of, running) == [
        (0, "n2", ("SUBSCRIBE", "news")),  # the lesson subscribes on n2 (since §6.1)
        (1, "n1", ("SSUBSCRIBE", "{orders}")),
        (2, "n1", ("PUBLISH", "news", "hello")),
        (4, "n1", ("SPUBLISH", "{orders}", "paid")),
        (7, "n1", ("PUBLISH", "news", "lost")),
    ]


def test_a_classic_channel_without_a_node_goes_to_the_first_running_node() -> None:
    assert target_node(None, False, "news", owner_of, running) == "n1"
    assert target_node("n5", True, "news", owner_of, running) == "n5"
    assert target_node(None, True, "user:1", owner_of, running) == owner_of(key_hash_slot("user:1"))


def test_only_messages_count_and_a_pattern_counts_for_its_channel() -> None:
    assert delivered_channel(["message", "news", "hi"]) == "news"
    assert delivered_channel(["smessage", "{orders}", "paid"]) == "{orders}"
    assert delivered_channel(["pmessage", "user:*", "user:1", "x"]) == "user:1"
    assert delivered_channel(["subscribe", "news", 1]) is None
    assert delivered_channel(["sunsubscribe", "{orders}", 0]) is None
    assert delivered_channel("OK") is None


def test_delivered_is_checked_as_rcsim_checks_it() -> None:
    deliveries = Deliveries()
    deliveries.add("news", "reader")
    deliveries.add("{orders}", "shard-reader")
    world = World({}, {}, [], delivered=deliveries.count)
    exact = model.Delivered(loc=AT, subscriber="reader", count=1)
    assert check(world, exact, 0) == (True, "1 deliveries to reader", "1 delivered")
    assert check(world, model.Delivered(loc=AT, channel="news", count=2), 0)[0] is False
    assert check(world, model.Delivered(loc=AT, minimum=2), 0)[0] is True


class StandIn(threading.Thread):
    """A RESP server that confirms one SUBSCRIBE and then pushes two messages."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.peer: str | None = None

    def run(self) -> None:
        conn, (self.peer, _) = self.listener.accept()
        conn.recv(1024)
        conn.sendall(b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
        time.sleep(0.05)
        conn.sendall(encode(("message", "news", "hello")) + encode(("message", "news", "again")))
        time.sleep(0.5)
        conn.close()


def test_the_reader_counts_pushes_from_the_subscribers_own_address() -> None:
    server = StandIn()
    server.start()
    cleanup = Cleanup()
    pubsub = RealPubSub(lambda name: ("127.0.0.1", server.port), owner_of, running, 250, cleanup)
    action = model.Subscribe(loc=AT, channel="news", client="reader", node="n3")
    fields = pubsub.subscribe(action)
    assert fields == {"node": "n3", "client": "reader", "reply": ["subscribe", "news", 1]}
    deadline = time.monotonic() + 5
    while pubsub.deliveries.count("news", "reader") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pubsub.deliveries.count(subscriber="reader") == 2
    assert server.peer == "127.0.0.250"  # a partition can name the subscriber
    pubsub.close()
    assert not any(t.is_alive() for t in pubsub.threads)
