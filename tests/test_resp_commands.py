"""The RESP command table (simulator/resp/commands.py) on a model, without sockets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.dataplane import install
from simulator.resp.client import ClientState, PortMap
from simulator.resp.commands import Context, dispatch, unknown_command
from simulator.resp.protocol import Error, Map, Push, Simple, Verbatim, encode
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot

BASE = 7500


@pytest.fixture
def sim() -> Simulation:
    sim = Simulation(masters=3, replicas=1, seed=1)
    install(sim)
    sim.run_until(100)
    return sim


def client(n: int = 1) -> ClientState:
    return ClientState(n, f"resp:test:{n}", "127.0.0.1:50000", f"127.0.0.1:{BASE}", 0)


def run(sim: Simulation, node: str, *argv: str, who: ClientState | None = None) -> list[object]:
    state = who or client()
    ctx = Context(sim, node, state, PortMap(BASE), [state])
    outcome = dispatch(ctx, [a.encode() for a in argv])
    assert not outcome.hold and outcome.blocked is None
    return outcome.replies


def one(sim: Simulation, node: str, *argv: str, who: ClientState | None = None) -> object:
    replies = run(sim, node, *argv, who=who)
    assert len(replies) == 1
    return replies[0]


def key_on(sim: Simulation, master: str) -> str:
    owners = sim.cluster.truth_table()
    return next(f"k{i}" for i in range(10_000) if owners[key_hash_slot(f"k{i}")] == master)


def test_strings_on_the_owner(sim: Simulation) -> None:
    key = key_on(sim, "n1")
    assert one(sim, "n1", "SET", key, "1") == Simple("OK")
    assert one(sim, "n1", "GET", key) == "1"
    assert one(sim, "n1", "INCR", key) == 2
    assert one(sim, "n1", "INCRBY", key, "10") == 12
    assert one(sim, "n1", "DECR", key) == 11
    assert one(sim, "n1", "SET", key, "x", "NX") is None
    assert one(sim, "n1", "SET", key, "y", "XX", "GET") == "11"
    assert one(sim, "n1", "SET", key, "z", "EX", "0") == Error(
        "ERR invalid expire time in 'set' command"
    )
    assert one(sim, "n1", "SET", key, "z", "EX", "1", "PX", "5") == Error("ERR syntax error")
    assert one(sim, "n1", "INCR", key) == Error("ERR value is not an integer or out of range")
    assert one(sim, "n1", "EXISTS", key, key) == 2
    assert one(sim, "n1", "DEL", key) == 1
    assert one(sim, "n1", "DBSIZE") == 0


def test_redirects_use_the_front_ports(sim: Simulation) -> None:
    key = key_on(sim, "n2")
    slot = key_hash_slot(key)
    assert one(sim, "n1", "GET", key) == Error(f"MOVED {slot} 127.0.0.1:{BASE + 1}")
    assert one(sim, "n1", "MGET", "a", "b") == Error(
        "CROSSSLOT Keys in request don't hash to the same slot"
    )
    nodes = one(sim, "n1", "CLUSTER", "NODES")
    assert isinstance(nodes, Verbatim)
    assert f"127.0.0.1:{BASE}@{BASE + 10000} myself,master" in nodes.text
    assert "127.0.0.1:70" not in nodes.text


def test_unknown_commands_and_arity(sim: Simulation) -> None:
    assert one(sim, "n1", "FOO", "a", "b") == Error(
        "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
    )
    long = unknown_command(["x", "a" * 200, "b"])
    assert long == f"ERR unknown command 'x', with args beginning with: '{'a' * 128}' "
    assert one(sim, "n1", "GET") == Error("ERR wrong number of arguments for 'get' command")
    assert one(sim, "n1", "CLUSTER", "KEYSLOT") == Error(
        "ERR wrong number of arguments for 'cluster|keyslot' command"
    )
    assert one(sim, "n1", "CLUSTER", "nope") == Error(
        "ERR unknown subcommand 'nope'. Try CLUSTER HELP."
    )
    assert one(sim, "n1", "client", "SETINFO", "lib-name", "x") == Error(
        "ERR unknown subcommand 'SETINFO'. Try CLIENT HELP."
    )


def test_hello_switches_protocol(sim: Simulation) -> None:
    me = client()
    assert one(sim, "n1", "HELLO", "4", who=me) == Error("NOPROTO unsupported protocol version")
    assert one(sim, "n1", "HELLO", "x", who=me) == Error(
        "ERR Protocol version is not an integer or out of range"
    )
    reply = one(sim, "n1", "HELLO", "3", "SETNAME", "app", who=me)
    assert isinstance(reply, Map) and dict(reply.pairs)["proto"] == 3
    assert me.proto == 3 and me.name == "app"
    assert one(sim, "n1", "CLIENT", "GETNAME", who=me) == "app"
    assert one(sim, "n1", "CLIENT", "SETNAME", "a b", who=me) == Error(
        "ERR Client names cannot contain spaces, newlines or special characters."
    )


def test_resp2_subscribed_mode(sim: Simulation) -> None:
    me = client()
    replies = run(sim, "n1", "SUBSCRIBE", "a", "b", who=me)
    assert replies == [Push(("subscribe", "a", 1)), Push(("subscribe", "b", 2))]
    assert one(sim, "n1", "GET", "x", who=me) == Error(
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        "RESET are allowed in this context"
    )
    assert one(sim, "n1", "PING", who=me) == ["pong", ""]
    assert run(sim, "n1", "UNSUBSCRIBE", who=me) == [
        Push(("unsubscribe", "a", 1)),
        Push(("unsubscribe", "b", 0)),
    ]
    assert one(sim, "n1", "PING", who=me) == Simple("PONG")


def test_sharded_subscribe_is_routed(sim: Simulation) -> None:
    channel = key_on(sim, "n2")
    slot = key_hash_slot(channel)
    assert one(sim, "n1", "SSUBSCRIBE", channel) == Error(f"MOVED {slot} 127.0.0.1:{BASE + 1}")
    assert one(sim, "n2", "SSUBSCRIBE", channel) == Push(("ssubscribe", channel, 1))


def test_cluster_introspection_from_the_node_own_view(sim: Simulation) -> None:
    my_id = one(sim, "n1", "CLUSTER", "MYID")
    assert my_id == sim.cluster.nodes["n1"].id
    slots = one(sim, "n1", "CLUSTER", "SLOTS")
    assert isinstance(slots, list)
    assert slots[0][:2] == [0, 5460] and slots[0][2][:2] == ["127.0.0.1", BASE]
    assert one(sim, "n1", "CLUSTER", "KEYSLOT", "foo") == 12182
    assert one(sim, "n1", "CLUSTER", "COUNTKEYSINSLOT", "99999") == Error("ERR Invalid slot")
    assert one(sim, "n1", "CLUSTER", "GETKEYSINSLOT", "1", "-1") == Error(
        "ERR Invalid slot or number of keys"
    )
    replicas = one(sim, "n1", "CLUSTER", "REPLICAS", str(my_id))
    assert isinstance(replicas, list) and len(replicas) == 1 and " slave " in replicas[0]
    assert one(sim, "n1", "CLUSTER", "FAILOVER") == Error(
        "ERR You should send CLUSTER FAILOVER to a replica"
    )
    info = one(sim, "n1", "CLUSTER", "INFO")
    assert isinstance(info, Verbatim) and info.text.startswith("cluster_state:ok\r\n")
    # A partitioned node answers from what it believes.
    sim.inject("partition", groups=[["n1"], ["n2", "n3", "n4", "n5", "n6"]])
    sim.run_until(sim.now + 30_000)
    mine = one(sim, "n1", "CLUSTER", "NODES")
    theirs = one(sim, "n2", "CLUSTER", "NODES")
    assert isinstance(mine, Verbatim) and isinstance(theirs, Verbatim)
    assert mine.text != theirs.text
    assert one(sim, "n1", "CLUSTER", "INFO").text.startswith("cluster_state:fail")  # type: ignore[attr-defined]


def test_info_role_and_command(sim: Simulation) -> None:
    info = one(sim, "n4", "INFO", "replication")
    assert isinstance(info, Verbatim)
    assert info.text.startswith("# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n")
    assert f"master_port:{BASE}\r\n" in info.text
    assert one(sim, "n4", "ROLE") == [
        "slave",
        "127.0.0.1",
        BASE,
        "connected",
        sim.cluster.nodes["n4"].repl_offset,
    ]
    everything = one(sim, "n1", "INFO")
    assert isinstance(everything, Verbatim) and "cluster_enabled:1" in everything.text
    table = one(sim, "n1", "COMMAND")
    assert isinstance(table, list) and any(entry[0] == "get" for entry in table)
    assert one(sim, "n1", "COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == ["a", "b"]
    assert b"%" in encode(one(sim, "n1", "COMMAND", "DOCS", "get"), 3)


def test_write_on_replica_is_moved_and_readonly_reads(sim: Simulation) -> None:
    key = key_on(sim, "n1")
    one(sim, "n1", "SET", key, "v")
    sim.run_until(sim.now + 50)
    me = client()
    assert isinstance(one(sim, "n4", "GET", key, who=me), Error)
    assert one(sim, "n4", "READONLY", who=me) == Simple("OK")
    assert one(sim, "n4", "GET", key, who=me) == "v"
    assert one(sim, "n4", "SET", key, "w", who=me) == Error(
        f"MOVED {key_hash_slot(key)} 127.0.0.1:{BASE}"
    )


def test_non_utf8_arguments_are_refused_not_crashed(sim: Simulation) -> None:
    state = client()
    ctx = Context(sim, "n1", state, PortMap(BASE), [state])
    outcome = dispatch(ctx, [b"SET", b"\xff", b"v"])
    assert outcome.replies == [Error("ERR rcsim models text values: arguments must be valid UTF-8")]


COMMAND_NAMES = sorted(
    {"GET", "SET", "DEL", "EXISTS", "INCR", "INCRBY", "DECR", "DECRBY", "MGET", "MSET"}
    | {"PUBLISH", "SPUBLISH", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE"}
    | {"PUNSUBSCRIBE", "SUNSUBSCRIBE", "PING", "ECHO", "HELLO", "CLIENT", "INFO", "ROLE"}
    | {"DBSIZE", "READONLY", "READWRITE", "ASKING", "CLUSTER", "COMMAND", "PUBSUB", "WAIT"}
    | {"SELECT", "AUTH", "TIME", "QUIT", "NOSUCH"}
)
WORDS = st.sampled_from(
    [
        "0",
        "1",
        "-1",
        "16384",
        "3",
        "x",
        "k1",
        "{t}a",
        "NX",
        "XX",
        "GET",
        "EX",
        "PX",
        "NODES",
        "SLOTS",
        "SHARDS",
        "INFO",
        "MYID",
        "KEYSLOT",
        "COUNTKEYSINSLOT",
        "GETKEYSINSLOT",
        "REPLICAS",
        "SETSLOT",
        "ADDSLOTS",
        "DELSLOTS",
        "FORGET",
        "MIGRATING",
        "IMPORTING",
        "STABLE",
        "NODE",
        "SETNAME",
        "ID",
        "LIST",
        "DOCS",
        "COUNT",
        "GETKEYS",
        "NUMSUB",
        "NUMPAT",
        "CHANNELS",
        "AUTH",
        "default",
        "2",
        "3",
        "_",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(COMMAND_NAMES), st.lists(WORDS | st.text(max_size=8), max_size=5)
        ),
        min_size=1,
        max_size=8,
    )
)
def test_fuzz_commands_always_get_a_reply(
    sim: Simulation, commands: list[tuple[str, list[str]]]
) -> None:
    """Any command with any arguments is answered (or held) and encodes; nothing raises.
    (FAILOVER, SHUTDOWN and MEET change the cluster and are left out.)"""
    me = client()
    for i, (name, args) in enumerate(commands):
        if name == "CLUSTER" and args and args[0].lower() in ("failover", "meet", "reset"):
            continue
        ctx = Context(sim, ("n1", "n4")[i % 2], me, PortMap(BASE), [me])
        outcome = dispatch(ctx, [name.encode(), *(a.encode() for a in args)])
        for reply in outcome.replies:
            encode(reply, me.proto)


def test_real_client_requests_are_traced_like_simulated_ones(sim: Simulation) -> None:
    """So the TUI's request counters and event log show a learner's own redirects."""
    key = key_on(sim, "n2")
    before = dict(sim.extras["dataplane"].requests_by_outcome())
    me = client()
    one(sim, "n1", "GET", key, who=me)
    one(sim, "n2", "INCRBY", key, "5", who=me)
    one(sim, "n1", "PING", who=me)  # not a data-plane request
    events = [e for e in sim.trace.events if e["kind"] == "request"]
    assert [(e["node"], e["command"], e["outcome"]) for e in events[-2:]] == [
        ("n1", "GET", "moved"),
        ("n2", "INCRBY", "ok"),
    ]
    assert events[-2]["reply"] == f"MOVED {key_hash_slot(key)} 127.0.0.1:{BASE + 1}"
    assert events[-2]["client"] == me.key
    after = sim.extras["dataplane"].requests_by_outcome()
    assert after["moved"] == before["moved"] + 1 and after["ok"] == before["ok"] + 1
