"""getNodeByQuery (§15): every row of the check order, the [obs] notes, exact texts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simulator.config import NodeConfig
from simulator.dataplane.pubsub import PubSubRegistry
from simulator.dataplane.routing import (
    ASK,
    CROSSSLOT,
    DOWN,
    DOWN_RO,
    MOVED,
    SERVE,
    TRYAGAIN,
    UNBOUND,
    CommandError,
    Route,
    Session,
    get_node_by_query,
    parse_command,
    route_command,
)
from simulator.slots import key_hash_slot

PUBSUB = json.loads((Path(__file__).parent / "data" / "pubsub.json").read_text())


def key_in_slot(slot: int, prefix: str = "k") -> str:
    """The first ``<prefix><n>`` hashing to ``slot``."""
    n = 0
    while key_hash_slot(f"{prefix}{n}") != slot:
        n += 1
    return f"{prefix}{n}"


@dataclass
class View:
    """A node's own view, as the bus will provide it."""

    name: str
    owners: Mapping[int, str]
    is_master: bool = True
    master_name: str | None = None
    state: str = "ok"
    migrating: dict[int, str] = field(default_factory=dict)
    importing: dict[int, str] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    config: NodeConfig = field(default_factory=NodeConfig)
    ports: Mapping[str, int] = field(default_factory=dict)

    def slot_owner(self, slot: int) -> str | None:
        return self.owners.get(slot)

    def addr_of(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def key_exists(self, key: str) -> bool:
        return key in self.keys


PORTS = {"a": 7000, "b": 7001, "c": 7002, "ra": 7003}
K = key_in_slot(100)  # owned by a
K2 = key_in_slot(100, "j")  # same slot, different key
OTHER = key_in_slot(3999)  # owned by c
UNOWNED = key_in_slot(16000)


def owners(**extra: str) -> dict[int, str]:
    table = {100: "a", 3999: "c"}
    table.update({int(k[1:]): v for k, v in extra.items()})
    return table


def route(view: View, *argv: str, session: Session | None = None) -> Route:
    return get_node_by_query(view, parse_command(argv), session or Session())


def test_moved_carries_slot_and_owner_address() -> None:
    r = route(View("a", owners(), ports=PORTS), "GET", OTHER)
    assert r == Route(MOVED, 3999, "c", "MOVED 3999 127.0.0.1:7002")


def test_own_slot_is_served_and_keyless_commands_always_are() -> None:
    a = View("a", owners(), ports=PORTS)
    assert route(a, "SET", K, "v").kind == SERVE
    for argv in (("PUBLISH", "ch", "m"), ("ASKING",), ("READONLY",), ("WAIT", "1", "0")):
        assert route(a, *argv).kind == SERVE
    a.state = "fail"
    assert route(a, "PUBLISH", "ch", "m").kind == SERVE  # state does not affect keyless


def test_unbound_first_key_wins_over_crossslot() -> None:
    a = View("a", owners(), ports=PORTS)
    assert route(a, "MGET", UNOWNED, K).error == "CLUSTERDOWN Hash slot not served"
    assert route(a, "MGET", UNOWNED, K).kind == UNBOUND
    r = route(a, "MGET", K, OTHER)
    assert (r.kind, r.error) == (CROSSSLOT, "CROSSSLOT Keys in request don't hash to the same slot")
    # a later key in an unbound slot is just another slot: CROSSSLOT
    assert route(a, "MGET", K, UNOWNED).kind == CROSSSLOT


def test_crossslot_comes_before_cluster_down() -> None:
    a = View("a", owners(), state="fail", ports=PORTS)
    assert route(a, "MSET", K, "1", OTHER, "2").kind == CROSSSLOT
    assert route(a, "GET", K).error == "CLUSTERDOWN The cluster is down"


def test_cluster_down_rules_for_reads_writes_and_shard_pubsub() -> None:
    a = View("a", owners(), state="fail", ports=PORTS)
    assert route(a, "GET", K).kind == DOWN
    assert route(a, "SPUBLISH", K, "m").kind == SERVE  # allow-pubsubshard-when-down default yes
    a.config.set("cluster-allow-pubsubshard-when-down", "no")
    assert route(a, "SSUBSCRIBE", K).kind == DOWN
    a.config.set("cluster-allow-reads-when-down", "yes")
    assert route(a, "GET", K).kind == SERVE
    r = route(a, "SET", K, "v")
    assert (r.kind, r.error) == (
        DOWN_RO,
        "CLUSTERDOWN The cluster is down and only accepts read commands",
    )
    # [obs] reads of another master's slot still get MOVED while down
    assert route(a, "GET", OTHER).kind == MOVED


def test_replica_in_fail_state_refuses_even_with_readonly() -> None:
    ra = View("ra", owners(), is_master=False, master_name="a", state="fail", ports=PORTS)
    assert route(ra, "GET", K, session=Session(readonly=True)).kind == DOWN


def test_migrating_source_serves_existing_asks_for_missing_tryagain_for_mixed() -> None:
    a = View("a", owners(), migrating={100: "b"}, keys={K}, ports=PORTS)
    assert route(a, "GET", K).kind == SERVE
    assert route(a, "GET", K2) == Route(ASK, 100, "b", "ASK 100 127.0.0.1:7001")
    assert route(a, "SET", K2, "v").kind == ASK  # writes of missing keys too
    r = route(a, "MGET", K, K2)
    assert (r.kind, r.error) == (
        TRYAGAIN,
        "TRYAGAIN Multiple keys request during rehashing of slot",
    )
    assert route(a, "MGET", K2, K2).kind == ASK  # all missing => ASK


def test_migrate_is_served_locally_on_open_slots() -> None:
    a = View("a", owners(), migrating={100: "b"}, ports=PORTS)
    assert route(a, "MIGRATE", "127.0.0.1", "7001", "", "0", "60000", "KEYS", K2).kind == SERVE
    b = View("b", owners(), importing={100: "a"}, ports=PORTS)
    assert route(b, "MIGRATE", "127.0.0.1", "7002", K, "0", "1000").kind == SERVE
    # without an open slot MIGRATE routes like any write
    c = View("c", owners(), ports=PORTS)
    assert route(c, "MIGRATE", "127.0.0.1", "7001", K, "0", "1000").kind == MOVED


def test_importing_target_needs_asking_and_asking_is_one_shot() -> None:
    """[obs] ``ASKING; SET k v; GET k`` on the importing node => OK, OK, MOVED."""
    b = View("b", owners(), importing={100: "a"}, ports=PORTS)
    session = Session()
    assert route_command(b, ["GET", K], session) == Route(
        MOVED, 100, "a", "MOVED 100 127.0.0.1:7000"
    )
    assert route_command(b, ["ASKING"], session).kind == SERVE
    assert route_command(b, ["SET", K, "v"], session).kind == SERVE
    b.keys.add(K)
    assert route_command(b, ["GET", K], session).kind == MOVED
    # a redirected command also consumes the flag
    route_command(b, ["ASKING"], session)
    route_command(b, ["GET", OTHER], session)
    assert not session.asking


def test_importing_with_asking_multiple_keys_missing_is_tryagain() -> None:
    b = View("b", owners(), importing={100: "a"}, keys={K}, ports=PORTS)
    asking = Session(asking=True)
    assert route(b, "MGET", K, K2, session=asking).kind == TRYAGAIN
    b.keys.add(K2)
    assert route(b, "MGET", K, K2, session=asking).kind == SERVE
    # the same key repeated is not "multiple keys"
    b.keys.clear()
    assert route(b, "MGET", K, K, session=asking).kind == SERVE


def test_restore_asking_carries_the_asking_flag() -> None:
    b = View("b", owners(), importing={100: "a"}, ports=PORTS)
    assert route(b, "RESTORE-ASKING", K, "0", "payload").kind == SERVE


def test_readonly_replica_serves_reads_of_its_master_only() -> None:
    ra = View("ra", owners(), is_master=False, master_name="a", ports=PORTS)
    assert route(ra, "GET", K).kind == MOVED  # no READONLY
    ro = Session(readonly=True)
    assert route(ra, "GET", K, session=ro).kind == SERVE
    assert route(ra, "SET", K, "v", session=ro) == Route(
        MOVED, 100, "a", "MOVED 100 127.0.0.1:7000"
    )
    assert route(ra, "GET", OTHER, session=ro).kind == MOVED
    session = Session()
    for cmd in (["READONLY"], ["READWRITE"]):
        route_command(ra, cmd, session)
    assert not session.readonly


def test_sharded_pubsub_is_never_asked_during_migration() -> None:
    a = View("a", owners(), migrating={100: "b"}, ports=PORTS)
    assert route(a, "SPUBLISH", K2, "m").kind == SERVE
    b = View("b", owners(), importing={100: "a"}, ports=PORTS)
    assert route(b, "SSUBSCRIBE", K2).kind == MOVED


def test_parse_errors_are_redis_texts() -> None:
    with pytest.raises(CommandError, match="ERR wrong number of arguments for 'get' command"):
        parse_command(["GET"])
    with pytest.raises(
        CommandError, match="ERR unknown command 'FOO', with args beginning with: 'x' "
    ):
        parse_command(["FOO", "x"])
    with pytest.raises(CommandError, match="wrong number of arguments for 'mset'"):
        parse_command(["MSET", "a", "1", "b"])
    assert parse_command(
        ["MIGRATE", "h", "1", "", "0", "5", "COPY", "AUTH", "pw", "KEYS", "x", "y"]
    ).keys == ("x", "y")
    assert parse_command(["MIGRATE", "h", "1", "k", "0", "5", "KEYS", "x"]).keys == ()


# ---------------------------------------------------------------- pubsub.json, sharded

SHARD = PUBSUB["sharded"]
CHANNEL = SHARD["channel"]
SLOT = SHARD["channel_slot"]
CLUSTER_PORTS = {"M": 21240, "N": 21241, "R": 21243, "NR": 21244}


def _cluster() -> dict[str, View]:
    """M owns the channel's slot, N owns slot 9000; R and NR are their replicas."""

    def view(name: str, master: str | None = None) -> View:
        return View(
            name,
            {SLOT: "M", 9000: "N"},
            is_master=master is None,
            master_name=master,
            ports=CLUSTER_PORTS,
        )

    return {"M": view("M"), "N": view("N"), "R": view("R", "M"), "NR": view("NR", "N")}


def _reply(route: Route) -> str:
    return f"ERR-REPLY: {route.error}"


def test_pubsub_json_subscribe_cases() -> None:
    views = _cluster()
    node_of = {
        "SSUBSCRIBE on owner master M": "M",
        "SSUBSCRIBE on replica R (no READONLY)": "R",
        "READONLY then SSUBSCRIBE on replica R": "R",
        "SSUBSCRIBE on non-owner master N": "N",
        "READONLY then SSUBSCRIBE on replica of non-owner N": "NR",
        "SSUBSCRIBE two channels in different slots (on M)": "M",
        "SSUBSCRIBE two channels in the same slot (on M)": "M",
        "SUBSCRIBE then SSUBSCRIBE on the same connection (on M)": "M",
    }
    other_slot_channel = key_in_slot(9000)
    for case, expected in SHARD["subscribe_cases"].items():
        node = views[node_of[case]]
        registry = PubSubRegistry()
        session = Session()
        got: list[object] = []
        commands: list[list[str]] = []
        if case.startswith("READONLY"):
            commands.append(["READONLY"])
        if "different slots" in case:
            commands.append(["SSUBSCRIBE", CHANNEL, other_slot_channel])
        elif "same slot" in case:
            commands.append(["SSUBSCRIBE", CHANNEL, CHANNEL.replace("chan", "chan2")])
        elif case.startswith("SUBSCRIBE then"):
            commands += [["SUBSCRIBE", "news"], ["SSUBSCRIBE", CHANNEL]]
        else:
            commands.append(["SSUBSCRIBE", CHANNEL])
        for argv in commands:
            r = route_command(node, argv, session)
            if not r.served:
                got.append(_reply(r))
            elif argv[0] == "READONLY":
                got.append("OK")
            elif argv[0] == "SUBSCRIBE":
                got.extend(list(x) for x in registry.subscribe("c", argv[1:]))
            else:
                got.extend(list(x) for x in registry.ssubscribe("c", argv[1:]))
        assert got == expected, case


def test_pubsub_json_spublish_deliveries() -> None:
    views = _cluster()
    registries = {name: PubSubRegistry() for name in views}
    listeners = {"M": ("M", "c1"), "R": ("R", "c2"), "R-readonly": ("R", "c3")}
    for node, client in listeners.values():
        registries[node].ssubscribe(client, [CHANNEL])
    shard = {"M": ["M", "R"], "R": ["M", "R"], "N": ["N", "NR"], "NR": ["N", "NR"]}
    node_of = {
        "SPUBLISH on owner master M": "M",
        "SPUBLISH on replica R (no READONLY)": "R",
        "SPUBLISH on non-owner master N": "N",
        "SPUBLISH on replica of N": "NR",
        "READONLY then SPUBLISH on replica R": "R",
    }
    for delivery in SHARD["spublish_deliveries"]:
        node = node_of[delivery["case"]]
        session = Session(readonly=delivery["case"].startswith("READONLY"))
        r = route_command(views[node], ["SPUBLISH", CHANNEL, "hi"], session)
        received: set[str] = set()
        if r.served:
            reply: object = registries[node].spublish(CHANNEL, "hi").receivers
            for member in shard[node]:  # the bus: PUBLISHSHARD to the own shard
                for push in registries[member].spublish(CHANNEL, "hi").pushes:
                    received.add(
                        next(k for k, v in listeners.items() if v == (member, push.client))
                    )
        else:
            reply = _reply(r)
        assert reply == delivery["reply"], delivery["case"]
        assert received == set(delivery["received_by"]), delivery["case"]
