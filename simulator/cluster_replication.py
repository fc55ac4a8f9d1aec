"""Replication, the wire side: a master's stream to its replicas, ``replicationCron``
and the PSYNC handshake (§6 step 4, §20.1).

A mixin of :class:`simulator.cluster.Cluster` (split out of it to keep that module to
one job): the chunks travel on the cluster's network, the data plane
(:class:`simulator.cluster.DataPlane`) applies them.
"""

from __future__ import annotations

from typing import Protocol

from simulator.engine import Engine
from simulator.messages import ReplChunk
from simulator.network import Network
from simulator.node import CRASHED, PAUSED, REPL_PING_BYTES, RUNNING, STOPPED, Node
from simulator.replication import REPL_CONNECT
from simulator.trace import Trace


class ReplicationHooks(Protocol):
    """What replication calls on the data plane (:class:`simulator.cluster.DataPlane`)."""

    def apply_replication(self, replica: Node, chunk: ReplChunk) -> None: ...

    def on_replication_connected(self, replica: Node, master: Node) -> None: ...

    def on_promoted(self, node: Node, old_master: str) -> None: ...


class ReplicationWire:
    """The cluster's half of replication (the node's half is :mod:`simulator.replication`)."""

    engine: Engine
    trace: Trace
    network: Network
    nodes: dict[str, Node]
    dataplane: ReplicationHooks

    def _deliver(self, src: str, dst: str, chunk: ReplChunk) -> None:
        """A replication chunk arrives (the bus travels on :attr:`tcp`'s links)."""
        node = self.nodes.get(dst)
        if node is None or node.status in (CRASHED, STOPPED):
            return
        if not self.network.reachable(src, dst):
            self._replication_broken(node)
            return
        if node.status == PAUSED:
            node.buffer(chunk)
            return
        self._apply_chunk(node, chunk)

    def replication_stream(self, master: Node, nbytes: int, payload: object = None) -> int:
        """Append ``nbytes`` to ``master``'s stream and ship it to its connected replicas."""
        offset = master.repl.append(nbytes)
        chunk = ReplChunk(master.name, offset, payload)
        for name in master.me.replicas:
            replica = self.nodes.get(name)
            if replica is None or replica.master_name != master.name or not replica.repl.link_up:
                continue
            self.transmit_chunk(master.name, name, chunk)
        return offset

    def transmit_chunk(self, src: str, dst: str, chunk: ReplChunk) -> None:
        delay = (
            self.network.delay(src, dst, self.engine.now)
            if self.network.reachable(src, dst)
            else None
        )
        if delay is None:
            replica = self.nodes.get(dst)
            if replica is not None:
                self._replication_broken(replica)
            return
        self.engine.schedule(delay, self._deliver, src, dst, chunk)

    def _apply_chunk(self, replica: Node, chunk: ReplChunk) -> None:
        repl = replica.repl
        if replica.master_name != chunk.master or not repl.link_up:
            return
        repl.interaction(self.engine.now)
        self.dataplane.apply_replication(replica, chunk)
        repl.applied(chunk.offset)

    def _replication_broken(self, replica: Node) -> None:
        """A lost packet on the replication link: the link drops; cron reconnects (simplified TCP)."""
        replica.repl.broken(self.engine.now)

    def replication_cron(self, node: Node) -> None:
        """``replicationCron``: a master PINGs its replicas every repl-ping-replica-period
        (§20.1); a replica, once a second, drops a master silent for repl-timeout and
        reconnects a link that is down (§6 step 4)."""
        if not node.is_master:
            self._replica_cron(node)
            return
        master = node
        now = self.engine.now
        repl = master.repl
        due = repl.next_ping
        if due is not None and now < due:
            return
        period = master.config.get("repl-ping-replica-period") * 1000
        if due is None:
            repl.schedule_ping(now + period)
            return
        if master.writes_paused():
            return
        repl.schedule_ping(now + period)
        if master.me.replicas:
            self.replication_stream(master, REPL_PING_BYTES)

    def _replica_cron(self, replica: Node) -> None:
        """The replica's half of ``replicationCron`` (replication.c, once a second)."""
        now = self.engine.now
        repl = replica.repl
        if not repl.cron_due(now):
            return
        if repl.timed_out(now, replica.config.get("repl-timeout")):
            self.trace.emit(now, "repl_timeout", replica.name, replica.master_name)
            repl.broken(now)
        if repl.state == REPL_CONNECT:
            self.replication_connect(replica)

    def replication_connect(self, replica: Node) -> None:
        """``connectWithMaster`` and the PSYNC handshake (§6 step 4, §20.1): if the master
        answers, the data plane decides partial (connected now) or full (a transfer)."""
        master = self.nodes.get(replica.master_name or "")
        if master is None or master.status != RUNNING:
            return
        if not (
            self.network.reachable(replica.name, master.name)
            and self.network.reachable(master.name, replica.name)
        ):
            return
        if not master.is_master:
            return
        replica.repl.handshake()
        self.dataplane.on_replication_connected(replica, master)
        self.trace.emit(
            self.engine.now, "sync", replica.name, master.name, offset=replica.repl_offset
        )

    def replication_set_master(self, replica: Node, master: str) -> None:
        """``replicationSetMaster``: free the old link, connect at once."""
        replica.repl.set_master(self.engine.now)
        self.replication_connect(replica)

    def replication_unset_master(self, node: Node, old_master: str) -> None:
        node.repl.unset_master()
        self.dataplane.on_promoted(node, old_master)
