"""One real instance (``topology: standalone``), ``multi`` clients and the load checks,
without a server: the plan the player follows and what it reads back."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rcsim.verify import loadchecks, standalone
from rcsim.verify.clients import ClusterClient, Workload, outcome_of
from rcsim.verify.multikey import MultiWorkload, pairs
from rcsim.verify.resp import RespError
from rcsim.verify.scenario_api import load_scenario, model, parse_scenario
from rcsim.verify.server import config_text, node_address

INSTANCE = load_scenario("one-instance-or-cluster")

MASTER_INFO = """# Replication\r
role:master\r
connected_slaves:1\r
slave0:ip=127.0.0.21,port=7101,state=online,offset=42,lag=0\r
"""
REPLICA_INFO = """# Replication\r
role:slave\r
master_host:127.0.0.20\r
master_port:7100\r
master_link_status:up\r
"""


def test_a_replica_follows_its_master_by_config() -> None:
    """replicaof in its redis.conf: a restarted replica follows its master again."""
    n1, n2 = INSTANCE.cluster.nodes
    assert standalone.directives(INSTANCE, n1) == {"cluster-enabled": "no"}
    assert standalone.directives(INSTANCE, n2) == {
        "cluster-enabled": "no",
        "replicaof": "127.0.0.20 7100",
    }
    text = config_text("127.0.0.21", 7101, Path("/d"), standalone.directives(INSTANCE, n2))
    assert "cluster-enabled no\n" in text and "replicaof 127.0.0.20 7100\n" in text
    assert standalone.master_address(INSTANCE) == node_address(0) == ("127.0.0.20", 7100)


def test_info_replication_reads_as_rcsims_view() -> None:
    names = {node_address(0): "n1", node_address(1): "n2"}
    master = standalone.describe("n1", MASTER_INFO, node_address(0), tuple(range(16384)), names)
    assert master.role() == "master" and len(master.my_slots()) == 16384
    assert master.state == "ok"
    replica = standalone.describe("n2", REPLICA_INFO, node_address(1), (), names)
    assert replica.role() == "replica"
    assert replica.master_name({}) == "n1"
    assert replica.info["master_link_status"] == "up"
    down = REPLICA_INFO.replace("link_status:up", "link_status:down")
    assert standalone.describe("n2", down, node_address(1), (), names).info == {
        "role": "slave",
        "master_link_status": "down",
    }


def test_every_key_goes_to_the_master() -> None:
    client = standalone.StandaloneClient(
        "app", "127.0.0.200", lambda: [], lambda a: "n1", master=("127.0.0.20", 7100)
    )
    assert set(client.slots) == {("127.0.0.20", 7100)}
    client.slots[5] = None
    client.refresh()  # no CLUSTER SLOTS on one instance: the map stays the master's
    assert set(client.slots) == {("127.0.0.20", 7100)}


def test_a_standalone_lesson_is_no_longer_refused_for_its_clients_or_service() -> None:
    from rcsim.verify.playable import refusals

    assert refusals(INSTANCE, None) == []
    assert [c.multi for c in INSTANCE.clients] == [0.0, 1.0, 1.0]


# ---------------------------------------------------------------- multi-key clients


class Replies(ClusterClient):
    """A client whose node answers from a script (no socket)."""

    def __init__(self, reply: Any) -> None:
        super().__init__("orders", "127.0.0.201", lambda: [], lambda a: "n1")
        self.slots = [("127.0.0.20", 7100)] * 16384
        self.reply = reply
        self.sent: list[tuple[Any, ...]] = []

    def _send(self, address: Any, commands: list[tuple[Any, ...]]) -> list[Any]:
        self.sent.extend(commands)
        return [self.reply] * len(commands)

    def refresh(self) -> None:
        pass


def workload(client: ClusterClient, multi: float) -> tuple[MultiWorkload, list[Any], list[Any]]:
    spec = model.ClientSpec(
        name="orders", rate=0.0, keys="order:{i}", multi=multi, loc=INSTANCE.cluster.loc
    )
    acks: list[Any] = []
    events: list[Any] = []
    w = MultiWorkload(
        client,
        spec,
        acks,
        set(),
        threading.Lock(),
        lambda: 0.0,
        lambda node, fields: events.append(fields),
        multi=multi,
    )
    return w, acks, events


def test_an_acknowledged_mset_is_one_write_per_key() -> None:
    client = Replies("OK")
    w, acks, events = workload(client, 1.0)
    assert w.multi_command(True, ["order:1", "order:2"]) == ("ok", "OK")
    assert client.sent == [("MSET", "order:1", "orders:1.0", "order:2", "orders:1.1")]
    assert [(a[1], a[2], a[4]) for a in acks] == [
        ("order:1", "orders:1.0", "orders"),
        ("order:2", "orders:1.1", "orders"),
    ]
    assert w.in_flight_values == set()
    assert events[0]["command"] == "MSET" and events[0]["outcome"] == "ok"
    assert "latency_ms" in events[0]
    assert pairs(["a", "b"], "v") == ["a", "v.0", "b", "v.1"]


def test_crossslot_is_final_and_acknowledges_nothing() -> None:
    """-CROSSSLOT is never retried (rcsim's outcome), and nothing was written."""
    client = Replies(RespError("CROSSSLOT Keys in request don't hash to the same slot"))
    w, acks, events = workload(client, 1.0)
    assert w.multi_command(True, ["order:1", "order:2"])[0] == "crossslot"
    assert len(client.sent) == 1 and acks == []
    assert [e["outcome"] for e in events] == ["crossslot"]
    assert w.multi_command(False, ["order:1", "order:2"])[0] == "crossslot"
    assert client.sent[-1] == ("MGET", "order:1", "order:2")


def test_oom_is_final_too() -> None:
    assert outcome_of(RespError("OOM command not allowed when used memory > 'maxmemory'.")) == "oom"
    client = Replies(RespError("OOM command not allowed when used memory > 'maxmemory'."))
    w, acks, _ = workload(client, 0.0)
    assert w.command(True, "user:1")[0] == "oom"
    assert len(client.sent) == 1 and acks == []


def test_the_multi_share_draws_two_keys() -> None:
    w, _, _ = workload(Replies("OK"), 1.0)
    target, args = w.draw()
    assert target == w._one_multi and len(args[1]) == 2
    assert all(k.startswith("order:") for k in args[1])
    single, _, _ = workload(Replies("OK"), 0.0)
    target, args = single.draw()
    assert target == single._one and isinstance(args[1], str)
    assert isinstance(single, Workload)


# ---------------------------------------------------------------- requests / latency


def request(t: int, outcome: str, latency: float, client: str = "app") -> dict[str, Any]:
    return {"t": t, "kind": "request", "client": client, "outcome": outcome, "latency_ms": latency}


def test_requests_and_latency_follow_rcsims_rules() -> None:
    events = [request(100, "ok", 1.0), request(900, "ok", 3.0), request(950, "error", 0.2)]
    events += [request(960, "ok", 50.0, client="other")]
    share = parse_scenario(
        "name: x\ncluster: {masters: 1}\nclients: [{name: app, rate: 1/s}]\n"
        "expect:\n  - requests: {client: app, outcome: ok, window: 500ms, min: 0.5}\n"
        "  - latency: {client: app, p: 99, max: 2ms}\n",
        "x.yaml",
    ).expect
    requests_c, latency_c = share
    assert isinstance(requests_c, model.Requests) and isinstance(latency_c, model.Latency)
    assert loadchecks.requests(events, 1000, requests_c) == (
        True,
        "50%-100% of app's requests over the last 0.5s answered ok",
        "50% of 2",
    )
    passed, _, seen = loadchecks.latency(events, 1000, latency_c)
    assert not passed and seen == "3.0 ms (2 requests)"  # p99 of the ok ones, whole run
    assert loadchecks.requests([], 1000, requests_c)[2] == "no request answered"


def test_the_service_model_is_a_note_not_a_refusal() -> None:
    from rcsim.verify.playable import played_differently

    assert played_differently(INSTANCE) == [
        "scenarios/one-instance-or-cluster.yaml:11:3: 'service' (rcsim's per-command cost, "
        "scaled x100) is not imitated: the real server runs at its own speed, so the same "
        "rates load it far less"
    ]
    assert played_differently(load_scenario("master-crash")) == []


def test_the_real_cluster_plans_one_instance_without_starting_it(tmp_path: Path) -> None:
    """Which client, workload, poller and config each part of the run gets (no process)."""
    from rcsim.verify.cleanup import Cleanup
    from rcsim.verify.realcluster import RealCluster
    from rcsim.verify.server import NodeProcess, ServerBinary

    binary = ServerBinary("/nonexistent/redis-server", "Redis", "7.0.15")
    cluster = RealCluster(INSTANCE, binary, tmp_path, Cleanup(), None)
    assert cluster.standalone
    client = cluster._client("app", "127.0.0.200")
    assert isinstance(client, standalone.StandaloneClient)
    assert client.master == ("127.0.0.20", 7100)
    app, orders, _ = INSTANCE.clients
    assert type(cluster._workload_of(client, app)) is Workload
    multi = cluster._workload_of(cluster._client("orders", "127.0.0.201"), orders)
    assert isinstance(multi, MultiWorkload) and multi.multi == 1.0
    n2 = INSTANCE.cluster.nodes[1]
    settings = {**cluster._settings(n2), **standalone.directives(INSTANCE, n2)}
    node = NodeProcess("n2", 1, binary, tmp_path, settings, Cleanup())
    assert not node.clustered
    conf = node.config_path.read_text()
    assert "cluster-enabled no\n" in conf and "replicaof 127.0.0.20 7100\n" in conf
    assert "maxmemory" not in conf  # set once the clients are connected (keystate)
    poller = standalone.poller(cluster, node)
    assert isinstance(poller, standalone.StandalonePoller) and poller.slots == ()
    clustered = RealCluster(load_scenario("master-crash"), binary, tmp_path, Cleanup(), None)
    assert not clustered.standalone
    assert type(clustered._client("app", "127.0.0.200")) is ClusterClient
