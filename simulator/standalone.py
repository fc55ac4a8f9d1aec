"""One Redis server with ``cluster-enabled no``: a master and its replicas, no cluster bus
(docs/redis-rules.md §28).

:class:`StandaloneCluster` builds the scenario's nodes as :class:`StandaloneNode`
processes: the same replication (``replicationCron``, the stream, PSYNC), the same data
plane and clients, but no ``clusterCron``, so no PING/PONG, no failure detection, no
election and no automatic failover. A crashed standalone master is an outage until it
is restarted (or Sentinel, not modelled, promotes a replica): its replicas keep
replicating nothing and keep refusing writes (``-READONLY``).

Internally the master holds all 16384 slots in every node's table so that the existing
client (which sends a key to its slot's owner) talks to the master directly; no node
ever checks a slot (:mod:`simulator.dataplane.standalone_route`), and nothing reaches
a client that could tell: no ``MOVED``, no ``CROSSSLOT``, no ``CLUSTERDOWN``.

Simplified: PUBLISH/SPUBLISH reach the replicas' subscribers one network delay later
without taking space in the replication offset (Redis propagates them on the
replication stream, ``forceCommandPropagation(c, PROPAGATE_REPL)`` in pubsub.c).
"""

from __future__ import annotations

from collections.abc import Sequence

from simulator.cluster import Cluster
from simulator.dataplane.standalone_route import ERR_CLUSTER_DISABLED
from simulator.messages import SLAVE, Message, MsgType
from simulator.node import CRASHED, CRON_PERIOD_MS, STOPPED, Node
from simulator.topology import ClusterError

TOPOLOGIES = ("cluster", "standalone")
"""``cluster.topology`` in a scenario: Redis Cluster (the default) or one server."""


class StandaloneNode(Node):
    """A Redis process with ``cluster-enabled no`` (§28.1)."""

    cluster_enabled = False

    def cron(self) -> None:
        """``serverCron``'s ``replicationCron`` part, every 100 ms (the replica's half
        gates itself to once a second, as ``run_with_period(1000)`` does); no
        ``clusterCron``: nothing is sent to or expected from peers (§28.1)."""
        engine = self.engine
        tick = max(self.cron_due, engine.now)
        self.cron_due = tick + CRON_PERIOD_MS
        self.cron_timer = engine.schedule_at(int(self.cron_due), self.cron)
        self.iteration += 1  # serverCron's cronloops: replicationCron's 1 s grid (§20.5)
        self.host.replication_cron(self)

    def cluster_failover(self, mode: str) -> str:
        return ERR_CLUSTER_DISABLED

    def send_publish(self, channel: str, message: str, sharded: bool = False) -> None:
        """``publishCommand``/``spublishCommand`` with ``cluster_enabled`` false:
        ``forceCommandPropagation(c, PROPAGATE_REPL)``, so the replicas' subscribers get
        it too (no bus, §28.3). A replica that receives a PUBLISH publishes locally only."""
        if self.me.flags & SLAVE:
            return
        host = self.host
        if not isinstance(host, StandaloneCluster):
            return
        mtype = MsgType.PUBLISHSHARD if sharded else MsgType.PUBLISH
        note = self._header(mtype, channel=channel, payload=message)
        for replica in self.me.replicas:
            host.propagate_publish(self.name, replica, note)


class StandaloneCluster(Cluster):
    """The host of a standalone master and its replicas: the cluster's wire,
    replication and faults, with the cluster-only operations refused."""

    node_class = StandaloneNode

    def propagate_publish(self, src: str, dst: str, message: Message) -> None:
        """The PUBLISH on ``src``'s replication link to ``dst`` (one network delay)."""
        replica = self.nodes.get(dst)
        if replica is None or replica.master_name != src or not replica.repl.link_up:
            return
        if not self.network.reachable(src, dst):
            return
        delay = self.network.delay(src, dst, self.engine.now)
        if delay is not None:
            self.engine.schedule(delay, self._publish_arrives, dst, message)

    def _publish_arrives(self, dst: str, message: Message) -> None:
        node = self.nodes.get(dst)
        if node is None or node.status in (CRASHED, STOPPED):
            return
        self.dataplane.on_publish_message(node, message)

    def failover(self, name: str, mode: str = "default") -> str:
        raise ClusterError(
            f"failover {name}: CLUSTER FAILOVER: {ERR_CLUSTER_DISABLED} (standalone topology: "
            "no automatic or manual cluster failover; restart the master)"
        )

    def add_node(self, name: str | None = None, replica_of: str | None = None) -> Node:
        raise ClusterError(f"add-node: {ERR_CLUSTER_DISABLED} (standalone topology)")

    def del_node(self, name: str) -> None:
        raise ClusterError(f"del-node {name}: {ERR_CLUSTER_DISABLED} (standalone topology)")

    def forget(self, name: str, on_nodes: Sequence[str] | None = None) -> dict[str, str]:
        raise ClusterError(f"forget {name}: {ERR_CLUSTER_DISABLED} (standalone topology)")


def cluster_class(topology: str) -> type[Cluster]:
    """The host class for a scenario's ``cluster.topology``."""
    if topology == "standalone":
        return StandaloneCluster
    if topology == "cluster":
        return Cluster
    raise ValueError(f"unknown topology '{topology}' (one of: {', '.join(TOPOLOGIES)})")
