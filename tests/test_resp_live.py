"""Real clients against the simulated cluster: redis-py's ``RedisCluster`` (and plain
connections) on loopback sockets, the simulation paced to the wall clock in a
background thread (rcsim/resp_server.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import AskError, MovedError
from redis.retry import Retry

from rcsim.resp_server import Limits, RespFront
from simulator.dataplane import install
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot

HOST = "127.0.0.1"


def free_base(count: int) -> int:
    """A base port whose ``count`` ports are free now, below Linux's ephemeral range
    (32768+, where the clients' own ports come from) and never 7000-7399 (real Redis)."""
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(10000, 32000)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind((HOST, port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range")


class Live:
    """A simulation served on sockets from a background thread (its own event loop);
    :meth:`call` runs a function on that thread (the model is single-threaded)."""

    def __init__(self, sim: Simulation, limits: Limits | None = None) -> None:
        self.sim = sim
        for _ in range(5):  # another process may take a port between the check and bind
            self.base = free_base(len(sim.cluster.nodes))
            self.front = RespFront(sim, self.base, limits=limits)
            self.loop = asyncio.new_event_loop()
            self.ready = threading.Event()
            self.failed = False
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
            assert self.ready.wait(10), "the front did not start"
            if not self.failed:
                return
            self.thread.join(10)
        raise AssertionError("could not bind a port range")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self.stop = asyncio.Event()
        try:
            await self.front.start()
        except OSError:
            self.failed = True
            await self.front.close()
            self.ready.set()
            return
        task = asyncio.get_running_loop().create_task(self.front.run(stop=self.stop))
        self.ready.set()
        await task
        await self.front.close()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn(*args, **kwargs))
            except BaseException as error:
                done.set_exception(error)

        self.loop.call_soon_threadsafe(run)
        return done.result(10)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.call(predicate):
            assert time.monotonic() < deadline, "condition not reached in time"
            time.sleep(0.01)

    def port(self, name: str) -> int:
        return self.base + self.sim.cluster.nodes[name].index

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


def small_cluster() -> Simulation:
    sim = Simulation(masters=3, replicas=1, seed=1, config={"cluster-node-timeout": 1000})
    install(sim)
    return sim


@pytest.fixture
def live() -> Iterator[Live]:
    served = Live(small_cluster())
    yield served
    served.close()


def key_on(live: Live, master: str, prefix: str = "key") -> str:
    """A key whose slot ``master`` owns."""
    owner = live.sim.cluster.truth_table()
    for i in range(10_000):
        key = f"{prefix}:{i}"
        if owner[key_hash_slot(key)] == master:
            return key
    raise AssertionError("no key found")


def cluster_client(live: Live) -> RedisCluster:
    return RedisCluster(
        startup_nodes=[ClusterNode(HOST, live.base)], decode_responses=True, socket_timeout=5
    )


def next_message(pubsub: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sharded = kind in ("ssubscribe", "smessage", "sunsubscribe")
        getter = pubsub.get_sharded_message if sharded else pubsub.get_message
        message = getter(timeout=0.05)
        if message is not None and message["type"] == kind:
            return dict(message)
    raise AssertionError(f"no {kind} message")


# --------------------------------------------------------------------------- data


def test_writes_and_reads_across_slots(live: Live) -> None:
    rc = cluster_client(live)
    keys = [f"user:{i}" for i in range(60)]
    for i, key in enumerate(keys):
        assert rc.set(key, str(i)) is True
    assert [rc.get(k) for k in keys] == [str(i) for i in range(len(keys))]
    slots = {key_hash_slot(k) for k in keys}
    owners = {live.sim.cluster.truth_table()[s] for s in slots}
    assert owners == {"n1", "n2", "n3"}  # every master was written to
    assert rc.incr("counter") == 1 and rc.incr("counter") == 2
    assert rc.exists("user:1") == 1
    assert rc.delete("user:1") == 1 and rc.get("user:1") is None
    assert rc.set("user:2", "x", nx=True) is None
    assert rc.set("user:2", "y", xx=True, ex=10) is True and rc.get("user:2") == "y"
    rc.close()


def test_errors_are_redis_texts(live: Live) -> None:
    r = redis.Redis(HOST, live.base, decode_responses=True)
    raw = socket.create_connection((HOST, live.base), timeout=5)
    raw.sendall(b"MSET a 1 b 2\r\n")
    assert raw.recv(100) == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    raw.close()
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("FOO", "bar")
    assert str(error.value) == "unknown command 'FOO', with args beginning with: 'bar' "
    moved_key = key_on(live, "n2")
    with pytest.raises(MovedError) as moved:
        r.get(moved_key)
    slot = key_hash_slot(moved_key)
    assert str(moved.value) == f"{slot} {HOST}:{live.port('n2')}"  # redis-py drops "MOVED "
    with pytest.raises(redis.ResponseError, match="value is not an integer"):
        r.set(key_on(live, "n1", "text"), "abc")
        r.incr(key_on(live, "n1", "text"))
    r.close()


def test_moved_after_injected_failover_and_the_client_recovers(live: Live) -> None:
    rc = cluster_client(live)
    key = key_on(live, "n1")
    rc.set(key, "before")
    slot = key_hash_slot(key)
    assert rc.nodes_manager.get_node_from_slot(slot).port == live.port("n1")
    assert live.call(live.sim.inject, "failover", node="n4") == "OK"
    sim = live.sim
    live.wait_for(
        lambda: sim.cluster.nodes["n4"].is_master and not sim.cluster.nodes["n1"].is_master
    )
    assert rc.get(key) == "before"  # MOVED from n1, the client follows and refreshes
    assert rc.nodes_manager.get_node_from_slot(slot).port == live.port("n4")
    rc.set(key, "after")
    assert rc.get(key) == "after"
    rc.close()


def test_ask_during_a_live_migration(live: Live) -> None:
    key = key_on(live, "n1")
    slot = key_hash_slot(key)
    source = redis.Redis(HOST, live.port("n1"), decode_responses=True)
    target = redis.Redis(HOST, live.port("n2"), decode_responses=True)
    source_id, target_id = (
        source.execute_command("CLUSTER MYID"),
        target.execute_command("CLUSTER MYID"),
    )
    assert target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id) in (
        "OK",
        True,
    )
    assert source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id) in (
        "OK",
        True,
    )
    with pytest.raises(AskError) as ask:
        source.get(key)
    assert str(ask.value) == f"{slot} {HOST}:{live.port('n2')}"
    rc = cluster_client(live)
    assert rc.set(key, "moved-in") is True  # ASK, then ASKING + SET on the target
    dp = live.sim.extras["dataplane"]
    assert live.call(lambda: dp.data(live.sim.cluster.nodes["n2"]).get(key)) == "moved-in"
    assert rc.get(key) == "moved-in"
    for client in (source, target, rc):
        client.close()


def test_readonly_reads_from_a_replica(live: Live) -> None:
    rc = cluster_client(live)
    key = key_on(live, "n1")
    rc.set(key, "replicated")
    replica = redis.Redis(HOST, live.port("n4"), decode_responses=True)
    with pytest.raises(MovedError):
        replica.get(key)
    assert replica.execute_command("READONLY") in ("OK", True)
    deadline = time.monotonic() + 5
    while replica.get(key) != "replicated":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with pytest.raises(MovedError):
        replica.set(key, "no writes on a replica")
    role = replica.execute_command("ROLE")
    assert role[0] == "slave" and role[2] == live.port("n1")
    replica.close()
    rc.close()


# --------------------------------------------------------------------------- pub/sub


def test_pubsub_across_nodes_and_patterns(live: Live) -> None:
    subscriber = redis.Redis(HOST, live.port("n3"), decode_responses=True)
    publisher = redis.Redis(HOST, live.port("n1"), decode_responses=True)
    pubsub = subscriber.pubsub()
    pubsub.subscribe("news")
    pubsub.psubscribe("user:*")
    assert next_message(pubsub, "subscribe")["channel"] == "news"
    assert next_message(pubsub, "psubscribe")["channel"] == "user:*"
    assert publisher.publish("news", "hello") == 0  # no subscriber on n1 itself (§19)
    message = next_message(pubsub, "message")
    assert (message["channel"], message["data"]) == ("news", "hello")
    publisher.publish("user:42", "logged in")
    message = next_message(pubsub, "pmessage")
    assert (message["pattern"], message["channel"], message["data"]) == (
        "user:*",
        "user:42",
        "logged in",
    )
    pubsub.close()
    publisher.close()
    subscriber.close()


def test_cluster_pubsub_and_sharded_pubsub_with_redis_cluster(live: Live) -> None:
    rc = cluster_client(live)
    pubsub = rc.pubsub()
    pubsub.subscribe("alerts")
    next_message(pubsub, "subscribe")
    rc.publish("alerts", "disk full")
    assert next_message(pubsub, "message")["data"] == "disk full"
    sharded = rc.pubsub()
    sharded.ssubscribe("orders")
    next_message(sharded, "ssubscribe")
    assert rc.spublish("orders", "order-1") == 1
    message = next_message(sharded, "smessage")
    assert (message["channel"], message["data"]) == ("orders", "order-1")
    pubsub.close()
    sharded.close()
    rc.close()


def test_resp3_hello_and_push_messages(live: Live) -> None:
    r3 = redis.Redis(HOST, live.port("n2"), protocol=3, decode_responses=True)
    hello = r3.connection_pool.get_connection().handshake_metadata
    assert hello is not None and hello.get("proto", hello.get(b"proto")) == 3
    pubsub = r3.pubsub()
    pubsub.subscribe("push")
    next_message(pubsub, "subscribe")
    redis.Redis(HOST, live.port("n2")).publish("push", "over resp3")
    assert next_message(pubsub, "message")["data"] == "over resp3"
    raw = socket.create_connection((HOST, live.port("n2")), timeout=5)
    raw.sendall(b"HELLO 3\r\nSUBSCRIBE c\r\n")
    data = b""
    while b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n" not in data:
        data += raw.recv(4096)
    assert data.startswith(b"%7\r\n")
    raw.close()
    pubsub.close()
    r3.close()


# --------------------------------------------------------------------------- faults and safety


def test_crashed_node_refuses_and_restarted_node_listens_again(live: Live) -> None:
    r = redis.Redis(HOST, live.port("n2"), socket_timeout=2, retry=Retry(NoBackoff(), 0))
    assert r.ping() is True
    live.call(live.sim.inject, "kill", node="n2")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, live.port("n2")), timeout=2)
    with pytest.raises(redis.ConnectionError):
        r.ping()
    live.call(live.sim.inject, "restart", node="n2")
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection((HOST, live.port("n2")), timeout=2).close()
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert redis.Redis(HOST, live.port("n2")).ping() is True


def test_paused_node_accepts_but_does_not_answer(live: Live) -> None:
    live.call(live.sim.inject, "pause", node="n3")
    raw = socket.create_connection((HOST, live.port("n3")), timeout=0.3)
    raw.sendall(b"PING\r\n")
    with pytest.raises(TimeoutError):
        raw.recv(100)
    live.call(live.sim.inject, "resume", node="n3")
    raw.settimeout(5)
    assert raw.recv(100) == b"+PONG\r\n"
    raw.close()


def test_malformed_request_gets_an_error_and_the_connection_closes(live: Live) -> None:
    raw = socket.create_connection((HOST, live.base), timeout=5)
    raw.sendall(b"PING\r\n*1\r\n$x\r\nPING\r\n")
    data = b""
    while True:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data == b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    raw.close()
    assert redis.Redis(HOST, live.base).ping() is True  # the node and the pacer carry on


def test_simulated_time_tracks_the_wall_clock(live: Live) -> None:
    r = redis.Redis(HOST, live.base)
    start_sim = live.call(lambda: live.sim.now)
    start_wall = time.monotonic()
    for _ in range(50):
        r.ping()
    time.sleep(0.2)
    elapsed_wall = (time.monotonic() - start_wall) * 1000
    elapsed_sim = live.call(lambda: live.sim.now) - start_sim
    assert elapsed_sim >= 0.5 * elapsed_wall  # time moves with the wall clock...
    # ...and is never far behind it (10 ms on an idle machine; loose bounds here, as the
    # test machine is shared and other threads compete for the GIL).
    assert live.call(lambda: live.front.wall_ms() - live.sim.now) < 100
    r.close()


def test_a_partition_naming_the_client_cuts_it_off_from_the_other_side(live: Live) -> None:
    raw = socket.create_connection((HOST, live.port("n2")), timeout=5)
    raw.sendall(b"CLIENT SETNAME you\r\n")
    assert raw.recv(100) == b"+OK\r\n"
    live.call(live.sim.inject, "partition", groups=[["n1", "n4", "you"], ["n2", "n3", "n5", "n6"]])
    raw.settimeout(0.3)
    raw.sendall(b"PING\r\n")
    with pytest.raises(TimeoutError):
        raw.recv(100)  # n2 is on the other side: nothing comes back
    same_side = redis.Redis(HOST, live.port("n1"), client_name="you")
    assert same_side.ping() is True
    live.call(live.sim.inject, "heal")
    raw.settimeout(5)
    assert raw.recv(100) == b"+PONG\r\n"  # delivered once the network heals
    raw.close()
    same_side.close()


def read_to_eof(raw: socket.socket) -> bytes:
    data = b""
    while chunk := raw.recv(65536):
        data += chunk
    return data


def test_limits_on_clients_request_size_and_output() -> None:
    limits = Limits(max_clients=2, max_output_bytes=64 * 1024, max_bulk_len=16 * 1024)
    live = Live(small_cluster(), limits)
    try:
        first = socket.create_connection((HOST, live.base), timeout=5)
        second = socket.create_connection((HOST, live.base), timeout=5)
        third = socket.create_connection((HOST, live.base), timeout=5)
        assert read_to_eof(third) == b"-ERR max number of clients reached\r\n"
        second.sendall(b"*2\r\n$4\r\nECHO\r\n$20000\r\n")
        assert read_to_eof(second) == b"-ERR Protocol error: invalid bulk length\r\n"
        # A subscriber that never reads is disconnected once its output passes the limit.
        first.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        first.sendall(b"SUBSCRIBE flood\r\n")
        publisher = redis.Redis(HOST, live.base)
        publisher.ping()
        live.wait_for(lambda: len(live.front.clients_of("n1")) == 2)
        for _ in range(5000):  # up to 50 MB: more than the kernel's socket buffers
            publisher.publish("flood", "x" * 10_000)
            if not live.call(lambda: len(live.front.clients_of("n1")) == 2):
                break
        assert live.call(lambda: len(live.front.clients_of("n1"))) == 1  # only the publisher
        publisher.close()
        for raw in (first, second, third):
            raw.close()
    finally:
        live.close()


def test_ask_during_a_live_reshard_and_the_cluster_client_follows(live: Live) -> None:
    """The data plane's resharding (redis-cli --cluster reshard) moves a slot of 20,000
    keys while real clients read it: the source answers ASK for keys already moved,
    RedisCluster follows with ASKING and reads every key, and MOVED follows the end."""
    tag = "{" + key_on(live, "n1", "tag") + "}"
    keys = [f"{tag}:{i}" for i in range(20_000)]
    slot = key_hash_slot(keys[0])
    dp = live.sim.extras["dataplane"]
    live.call(dp.populate, {key: str(i) for i, key in enumerate(keys)})
    source = redis.Redis(HOST, live.port("n1"), decode_responses=True)
    rc = cluster_client(live)
    assert source.get(keys[0]) == "0" and rc.get(keys[0]) == "0"  # connected before it starts
    live.call(live.sim.inject, "reshard", source="n1", target="n2", slots=[slot])
    asked = moved = 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            source.get(keys[0])
        except MovedError:  # (a subclass of AskError in redis-py)
            moved += 1
            break
        except AskError as ask:
            asked += 1
            assert str(ask) == f"{slot} {HOST}:{live.port('n2')}"
        assert rc.get(keys[0]) == "0"
    assert asked > 0 and moved == 1
    assert rc.get(keys[-1]) == str(len(keys) - 1)
    source.close()
    rc.close()


def test_a_paused_node_stops_reading_and_catches_up_after_resume() -> None:
    """Flow control: past max_pending queued requests the front stops reading (memory
    stays bounded while the node is SIGSTOPped); after SIGCONT all are answered in order."""
    live = Live(small_cluster(), Limits(max_pending=50))
    try:
        live.call(live.sim.inject, "pause", node="n3")
        raw = socket.create_connection((HOST, live.port("n3")), timeout=5)
        raw.setblocking(False)
        sent = 0
        request = b"ECHO x\r\n" * 100
        while sent < 64_000:  # 8,000 requests, or until the kernel buffers are full
            try:
                sent += raw.send(request)
            except BlockingIOError:
                break
        live.wait_for(lambda: len(live.front.clients_of("n3")) == 1)
        conns = live.call(lambda: live.front.clients_of("n3"))
        live.wait_for(lambda: len(conns[0].pending) == 50)
        time.sleep(0.05)
        assert live.call(lambda: len(conns[0].pending)) == 50  # not the whole stream
        live.call(live.sim.inject, "resume", node="n3")
        raw.setblocking(True)
        expected = sent // len(b"ECHO x\r\n") * len(b"$1\r\nx\r\n")
        received = 0
        while received < expected:
            chunk = raw.recv(1 << 20)
            assert chunk, "connection closed early"
            received += len(chunk)
        assert received == expected
        raw.close()
    finally:
        live.close()
