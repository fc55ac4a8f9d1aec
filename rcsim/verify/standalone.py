"""``topology: standalone`` for real: one ``redis-server`` with ``cluster-enabled no`` (§28).

The master and its replicas are started as rcsim's standalone topology builds them
(simulator/standalone.py): each replica has ``replicaof`` its master in its config, so a
restarted replica follows it again, and a restarted master (no persistence) comes back
empty and is full-synced from. A server without the cluster answers no ``CLUSTER``
command, so its poller asks ``INFO replication`` every 20 ms and describes the node as
rcsim's introspection does (simulator/harness/reference.py): a master claims all 16384
slots, a replica names its master. The clients send every key to the master, as rcsim's
clients do on one instance (the master's slot map has every slot, §28.1): after a crash
they keep asking it and get connection errors until it is back, as no Sentinel tells
them otherwise (§28.2).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from rcsim.verify.clients import Address, ClusterClient
from rcsim.verify.clusterview import CLUSTER_SLOTS, PeerLine, Snapshot, parse_info
from rcsim.verify.poller import Clock, Observations, Poller
from rcsim.verify.resp import Connection
from rcsim.verify.scenario_api import model
from rcsim.verify.server import BUS_PORT_INCR, NodeProcess, node_address


class RealCluster(Protocol):
    """What this module uses of rcsim.verify.realcluster.RealCluster."""

    scenario: model.Scenario
    names: dict[str, str]
    clock: Clock
    observations: Observations
    with_stats: bool

    def _settings(self, spec: model.NodeSpec) -> dict[str, Any]: ...

    def add_process(self, name: str, settings: Mapping[str, Any]) -> NodeProcess: ...

    def running(self) -> list[str]: ...


HEALTHY_TIMEOUT_S = 60.0


def is_standalone(scenario: model.Scenario) -> bool:
    return scenario.cluster.topology == "standalone"


def directives(scenario: model.Scenario, spec: model.NodeSpec) -> dict[str, Any]:
    """What a standalone node's config adds: no cluster; a replica follows its master."""
    out: dict[str, Any] = {"cluster-enabled": "no"}
    if spec.replica_of is not None:
        names = [s.name for s in scenario.cluster.nodes]
        host, port = node_address(names.index(spec.replica_of))
        out["replicaof"] = f"{host} {port}"
    return out


def describe(
    name: str, info_text: str, address: Address, slots: tuple[int, ...], names: dict[Address, str]
) -> Snapshot:
    """A node's ``INFO replication`` as the snapshot rcsim's introspection gives it: a
    master's line with its slots (all of them, rcsim's standalone table), or a replica's
    line naming its master by scenario name (standalone node IDs are the names)."""
    info = parse_info(info_text)
    host, port = address
    me_address = f"{host}:{port}@{port + BUS_PORT_INCR}"
    kept = {"role": info.get("role", "")}
    if info.get("role") == "slave":
        master = (info.get("master_host", ""), int(info.get("master_port", "0") or 0))
        master_name = names.get(master, f"{master[0]}:{master[1]}")
        kept["master_link_status"] = info.get("master_link_status", "")
        me = PeerLine(
            name, me_address, frozenset({"myself", "replica"}), master_name, 0, "connected"
        )
    else:
        me = PeerLine(
            name, me_address, frozenset({"myself", "master"}), None, 0, "connected", slots
        )
    return Snapshot(name, "ok", {name: me}, kept)


class StandalonePoller(Poller):
    """Polls ``INFO replication`` (with ``stats``, ``INFO stats`` too)."""

    def __init__(
        self, *args: Any, address: Address, slots: tuple[int, ...], names: dict[Address, str]
    ) -> None:
        super().__init__(*args)
        self.address = address
        self.slots = slots
        self.by_address = names

    def poll_once(self, connection: Connection) -> None:
        sent = self.clock.now_ms()
        commands: list[tuple[str | int | bytes, ...]] = [("INFO", "replication")]
        if self.stats:
            commands.append(("INFO", "stats"))
        replies = connection.pipeline(commands)
        t = (sent + self.clock.now_ms()) / 2
        if self.stats and isinstance(replies[1], str):
            self.observations.record_stats(t, self.node, replies[1])
        if isinstance(replies[0], str):
            view = describe(self.node, replies[0], self.address, self.slots, self.by_address)
            self.observations.record(t, self.node, view)


def poller(cluster: RealCluster, node: NodeProcess) -> Poller:
    specs = {s.name: s for s in cluster.scenario.cluster.nodes}
    spec = specs.get(node.name)
    slots = tuple(spec.slots) if spec is not None and spec.replica_of is None else ()
    if spec is not None and spec.replica_of is None and not slots:
        slots = tuple(range(CLUSTER_SLOTS))
    names = {node_address(k): s.name for k, s in enumerate(cluster.scenario.cluster.nodes)}
    return StandalonePoller(
        node.name,
        node.connect,
        cluster.names,
        cluster.clock,
        cluster.observations,
        cluster.with_stats,
        address=(node.host, node.port),
        slots=slots,
        names=names,
    )


def healthy(cluster: RealCluster) -> bool:
    """Every node answers; every replica's link to its master is up."""
    views = cluster.observations.views()
    for name in cluster.running():
        view = views.get(name)
        if view is None:
            return False
        if view.role() == "replica" and view.info.get("master_link_status") != "up":
            return False
    return True


def build(cluster: RealCluster) -> None:
    """Start the master and its replicas, then wait until every replica is in sync."""
    for spec in cluster.scenario.cluster.nodes:
        settings = {**cluster._settings(spec), **directives(cluster.scenario, spec)}
        cluster.add_process(spec.name, settings)
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while not healthy(cluster):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"gave up waiting for the replicas to sync after {HEALTHY_TIMEOUT_S:g}s"
            )
        time.sleep(0.05)


def master_address(scenario: model.Scenario) -> Address:
    """The address every key goes to: the first master's (rcsim's standalone has one)."""
    names = [s.name for s in scenario.cluster.nodes]
    first = next(s.name for s in scenario.cluster.nodes if s.replica_of is None)
    return node_address(names.index(first))


class StandaloneClient(ClusterClient):
    """Every slot maps to the master: no ``CLUSTER SLOTS`` on one instance."""

    def __init__(self, *args: Any, master: Address) -> None:
        super().__init__(*args)
        self.slots = [master] * CLUSTER_SLOTS
        self.master = master

    def refresh(self) -> None:
        self.slots = [self.master] * CLUSTER_SLOTS
