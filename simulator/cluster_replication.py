"""Replication, the wire side: a master's stream to its replicas, ``replicationCron``
and the PSYNC handshake (§6 step 4, §20.1, §20.4).

A mixin of :class:`simulator.cluster.Cluster` (split out of it to keep that module to
one job). The stream travels on a TCP connection of the cluster's TCP model
(:mod:`simulator.links`, service :data:`REPL`, the node's own port), the same sockets
the bus uses: a write sent while the path is cut waits in the master's socket and is
retransmitted at the next RTO (200 ms doubling, capped), in order, so a cut shorter
than ``repl-timeout`` only delays it (§20.4). The data plane
(:class:`simulator.cluster.DataPlane`) applies the chunks.
"""

from __future__ import annotations

from typing import Protocol

from simulator.engine import Engine
from simulator.links import CLOSED, Link, TcpNet
from simulator.messages import GETACK, ReplAck, ReplChunk
from simulator.network import Network
from simulator.node import REPL_PING_BYTES, RUNNING, Node
from simulator.replication import (
    REPL_CONNECT,
    REPL_TRANSFER,
    repl_cron_runs,
    whole_seconds_idle,
)
from simulator.trace import Trace

REPL = "repl"
"""The TCP service replication connects to: the master's client port, not its bus port."""

# ``client-output-buffer-limit replica 256mb 64mb 60`` (config.c's default for the
# replica class): a master frees a replica whose output buffer (what its socket did
# not take) is over the hard limit, or over the soft one for 60 s straight
# (``checkClientOutputBufferLimits``).
REPLICA_OBUF_HARD_BYTES = 256 * 1024 * 1024
REPLICA_OBUF_SOFT_BYTES = 64 * 1024 * 1024
REPLICA_OBUF_SOFT_SECONDS = 60


class ReplicationHooks(Protocol):
    """What replication calls on the data plane (:class:`simulator.cluster.DataPlane`)."""

    def apply_replication(self, replica: Node, chunk: ReplChunk) -> None: ...

    def on_replication_connected(self, replica: Node, master: Node) -> None: ...

    def begin_full_sync(self, replica: Node, master: Node) -> int: ...

    def on_promoted(self, node: Node, old_master: str) -> None: ...

    def on_backlog_freed(self, master: Node) -> None: ...

    def on_replica_ack(self, master: Node) -> None: ...

    def on_set_master(self, node: Node) -> None: ...


class ReplicationSockets:
    """The process's callbacks for its replication sockets (a ``LinkHandler``): the
    replica's end reads the stream (``readSyncBulkPayload`` then ``readQueryFromClient``
    on ``server.master``), the master's end reads REPLCONF ACKs; an error on either frees
    the client (``freeClient`` → ``replicationHandleMasterDisconnection`` on a replica)."""

    def __init__(self, wire: ReplicationWire) -> None:
        self.wire = wire

    def on_established(self, link: Link) -> None:
        """Never called: the handshake is instant (``preconnected``, §20.4)."""

    def on_refused(self, link: Link) -> None:
        """Never called (see :meth:`on_established`)."""

    def on_failed(self, link: Link) -> None:
        """Never called (see :meth:`on_established`)."""

    def on_accepted(self, link: Link) -> None:
        """The master's end is registered by :meth:`ReplicationWire.replication_connect`."""

    def on_message(self, link: Link, message: object) -> None:
        if isinstance(message, ReplChunk):
            self.wire._chunk_arrived(link, message)
        elif isinstance(message, ReplAck):
            self.wire._ack_arrived(link, message)

    def on_error(self, link: Link, reason: str) -> None:
        self.wire._socket_lost(link, reason)


class ReplicationWire:
    """The cluster's half of replication (the node's half is :mod:`simulator.replication`)."""

    engine: Engine
    trace: Trace
    network: Network
    tcp: TcpNet
    nodes: dict[str, Node]
    dataplane: ReplicationHooks
    repl_sockets: ReplicationSockets
    unix_origin_ms: int
    # client-output-buffer-limit for the replica class: (hard, soft, soft seconds).
    replica_obuf_limit: tuple[int, int, int] = (
        REPLICA_OBUF_HARD_BYTES,
        REPLICA_OBUF_SOFT_BYTES,
        REPLICA_OBUF_SOFT_SECONDS,
    )

    # ------------------------------------------------------------------ the stream

    def replication_stream(self, master: Node, nbytes: int, payload: object = None) -> int:
        """``replicationFeedSlaves``: append ``nbytes`` to ``master``'s stream and write it
        to every replica connection it holds (``server.slaves``). Without a backlog and
        a replica nothing is fed and the offset stays (a lone master, or one that freed
        its backlog after repl-backlog-ttl)."""
        streams = master.repl.streams
        if not streams and not master.repl.has_backlog:
            return master.repl.offset
        offset = master.repl.append(nbytes)
        if not streams:
            return offset
        chunk = ReplChunk(master.name, offset, payload)
        for name, link in list(streams.items()):
            if link.state == CLOSED:
                self._drop_stream(master, name, None)
                continue
            if not self.replica_online(name, link):
                continue  # full sync: the RDB's end state carries it (§20.1, simplified)
            link.send(chunk, nbytes)
            self._check_output_buffer(master, name, link)
        return offset

    def replica_online(self, name: str, link: Link) -> bool:
        """``SLAVE_STATE_ONLINE``: the replica on the master's end ``link`` is not in a
        full sync on it (read from the replica's state, a shortcut for the master's)."""
        replica = self.nodes.get(name)
        return not (
            replica is not None
            and replica.repl.state == REPL_TRANSFER
            and replica.repl.link is link.peer
        )

    def _check_output_buffer(self, master: Node, name: str, link: Link) -> None:
        """``checkClientOutputBufferLimits`` for a replica client: the bytes its socket
        did not take are Redis's output buffer (``send_queue_bytes``)."""
        hard, soft, soft_s = self.replica_obuf_limit
        used = link.send_queue_bytes
        since = master.repl.obuf_soft_since
        now = self.engine.now
        if used <= soft:
            since.pop(name, None)
            if used <= hard:
                return
        elif name not in since:
            since[name] = now
        over_soft = name in since and now - since[name] >= soft_s * 1000
        if used > hard or over_soft:
            self.trace.emit(
                now, "repl_replica_dropped", master.name, name,
                reason="output_buffer_limit", bytes=used,
            )  # fmt: skip
            self._drop_stream(master, name, "output_buffer_limit")

    def _chunk_arrived(self, link: Link, chunk: ReplChunk) -> None:
        """The replica reads a piece of the stream from ``server.master``."""
        replica = self.nodes.get(link.local)
        if replica is None or replica.repl.link is not link:
            return  # a socket this process already dropped
        self._apply_chunk(replica, chunk)

    def _apply_chunk(self, replica: Node, chunk: ReplChunk) -> None:
        repl = replica.repl
        if replica.master_name != chunk.master or not repl.link_up:
            return
        repl.interaction(self.engine.now)
        if chunk.payload is GETACK:
            # replconfCommand: the ACK goes out while GETACK runs, so its offset is the
            # one before it (reploff counts a command once it ran; wait-getack.json).
            self._send_ack(replica)
        else:
            self.dataplane.apply_replication(replica, chunk)
        repl.applied(chunk.offset)

    def _ack_arrived(self, link: Link, ack: ReplAck) -> None:
        """``REPLCONF ACK`` (``replconfCommand``): the replica's offset and ``repl_ack_time``."""
        master = self.nodes.get(link.local)
        if master is None or master.repl.streams.get(ack.replica) is not link:
            return
        master.repl.acks[ack.replica] = (ack.offset, self.engine.now)
        self.dataplane.on_replica_ack(master)  # processClientsWaitingReplicas (WAIT)

    def _socket_lost(self, link: Link, reason: str) -> None:
        """An error on a replication socket (RST, FIN, ``tcp_retries2``): the client is
        freed; on the replica that is ``replicationHandleMasterDisconnection``."""
        node = self.nodes.get(link.local)
        if node is None:
            return
        if node.repl.link is link:
            node.repl.link = None
            node.repl.broken(self.engine.now)
        elif node.repl.streams.get(link.remote) is link:
            self._drop_stream(node, link.remote, None)

    def _drop_stream(self, master: Node, name: str, reason: str | None) -> None:
        """``freeClient`` of a replica: its socket (and what it held) is gone."""
        link = master.repl.streams.pop(name, None)
        master.repl.obuf_soft_since.pop(name, None)
        if link is not None and not master.repl.streams:
            master.repl.no_replicas_since = self.engine.now  # freeClient of my last replica
        if link is not None and reason is not None:
            link.close(reason)

    def _close_master_link(self, replica: Node, reason: str) -> None:
        """The replica frees ``server.master``: its socket, with the ACKs it held, is gone."""
        link = replica.repl.link
        replica.repl.link = None
        if link is not None:
            link.close(reason)

    # ------------------------------------------------------------------ replicationCron

    def replication_cron(self, node: Node) -> None:
        """``replicationCron``: a master PINGs its replicas every repl-ping-replica-period
        (§20.1) and frees replicas silent for repl-timeout; a replica, once a second,
        drops a master silent for repl-timeout, reconnects a link that is down (§6 step
        4) and sends its REPLCONF ACK (§20.4)."""
        if not node.is_master:
            self._replica_cron(node)
            return
        master = node
        now = self.engine.now
        repl = master.repl
        if repl_cron_runs(master.iteration):  # once a second, from my start (§20.5)
            if repl.streams:
                self._master_timeouts(master, now)
            if repl.waiting:
                self._start_pending_fork(master, now)
            ttl_s = master.config.get("repl-backlog-ttl")
            if repl.backlog_expired(now, self.unix_origin_ms, ttl_s):
                self.dataplane.on_backlog_freed(master)
                self.trace.emit(now, "backlog_freed", master.name, None, ttl_s=ttl_s)
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

    def _master_timeouts(self, master: Node, now: int) -> None:
        """``replicationCron``, "Disconnect timedout slaves": an online replica whose last
        REPLCONF ACK (``repl_ack_time``) is over repl-timeout seconds old is freed."""
        timeout_s = master.config.get("repl-timeout")
        for name in list(master.repl.streams):
            replica = self.nodes.get(name)
            if replica is not None and replica.repl.state == REPL_TRANSFER:
                continue  # not online yet (its RDB transfer has its own timeouts)
            ack = master.repl.acks.get(name)
            if ack is None or now // 1000 - ack[1] // 1000 <= timeout_s:
                continue
            self.trace.emit(now, "repl_replica_dropped", master.name, name, reason="timeout")
            self._drop_stream(master, name, "repl_timeout")

    # ------------------------------------------------------------------ full syncs (§20.5)

    def wait_full_sync(self, replica: Node, master: Node) -> None:
        """``syncCommand`` answered FULLRESYNC (the replica is in ``REPL_TRANSFER`` with
        its ``sync_id``): with ``repl-diskless-sync-delay`` 0 and no RDB child running the
        master forks at once; otherwise the replica waits for the ``replicationCron``
        that finds it idle that many whole seconds (``WAIT_BGSAVE_START``, "Delay next
        BGSAVE for diskless SYNC"; a replica that arrives while a socket-target child
        runs waits for the next one)."""
        now = self.engine.now
        repl = master.repl
        repl.waiting[replica.name] = (now, replica.repl.sync_id)
        if master.config.get("repl-diskless-sync-delay") == 0 and now >= repl.child_until:
            self._start_pending_fork(master, now)

    def _start_pending_fork(self, master: Node, now: int) -> None:
        """``replicationStartPendingFork``: ``shouldStartChildReplication`` holds when no
        child runs and the longest-waiting replica has waited at least
        ``repl-diskless-sync-delay`` whole seconds; then one RDB child serves every waiting
        replica (``startBgsaveForReplication``)."""
        repl = master.repl
        waiting = {
            name: since
            for name, (since, sync_id) in repl.waiting.items()
            if self._still_waiting(master, name, sync_id)
        }
        repl.waiting = {name: repl.waiting[name] for name in waiting}
        if not waiting or now < repl.child_until:
            return
        delay_s = master.config.get("repl-diskless-sync-delay")
        idle = max(
            whole_seconds_idle(self.unix_origin_ms, since, now) for since in waiting.values()
        )
        if idle < delay_s:
            return
        repl.waiting = {}
        child_ms = 0
        for name in waiting:
            replica = self.nodes[name]
            transfer_ms = self.dataplane.begin_full_sync(replica, master)
            child_ms = max(child_ms, transfer_ms)
            self.trace.emit(
                now, "rdb_transfer", master.name, name,
                waited_ms=now - waiting[name], transfer_ms=transfer_ms,
            )  # fmt: skip
        repl.child_until = now + child_ms

    def _still_waiting(self, master: Node, name: str, sync_id: int) -> bool:
        """The replica's full sync with ``master`` is the one that asked (not cancelled,
        restarted or superseded meanwhile)."""
        replica = self.nodes.get(name)
        return (
            replica is not None
            and replica.repl.state == REPL_TRANSFER
            and replica.repl.sync_master == master.name
            and replica.repl.sync_id == sync_id
        )

    def _replica_cron(self, replica: Node) -> None:
        """The replica's half of ``replicationCron`` (replication.c, once a second)."""
        now = self.engine.now
        repl = replica.repl
        if not repl.cron_due(now):
            return
        if repl.timed_out(now, replica.config.get("repl-timeout")):
            self.trace.emit(now, "repl_timeout", replica.name, replica.master_name)
            self._close_master_link(replica, "repl_timeout")
            repl.broken(now)
        if repl.state == REPL_CONNECT:
            self.replication_connect(replica)
        if repl.link_up and repl.sync_master is None:
            self._send_ack(replica)

    def _send_ack(self, replica: Node) -> None:
        """``replicationSendAck``: REPLCONF ACK with the offset the replica processed."""
        link = replica.repl.link
        if link is not None:
            ack = ReplAck(replica.name, replica.repl.offset)
            link.send(ack, ack.size)

    # ------------------------------------------------------------------ the link

    def replication_connect(self, replica: Node) -> None:
        """``connectWithMaster`` and the PSYNC handshake (§6 step 4, §20.1): if the master
        answers, a TCP connection carries the stream from now on, and the data plane
        decides partial (connected now) or full (a transfer)."""
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
        self.open_replication_link(replica, master)
        master.repl.acks[replica.name] = (replica.repl_offset, self.engine.now)  # repl_ack_time
        replica.repl.handshake()
        self.dataplane.on_replication_connected(replica, master)
        self.trace.emit(
            self.engine.now, "sync", replica.name, master.name, offset=replica.repl_offset
        )

    def open_replication_link(self, replica: Node, master: Node) -> None:
        """The TCP connection from ``replica`` to ``master``'s port: the replica's end is
        ``server.master``'s socket, the master's is in ``server.slaves``. Its handshake is
        instant, as the PSYNC one is (§20.4); an older connection is freed first."""
        self._close_master_link(replica, "reconnect")
        link = self.tcp.preconnected(replica.name, master.name, REPL, self.repl_sockets)
        replica.repl.link = link
        assert link.peer is not None
        old = master.repl.streams.get(replica.name)
        if old is not None and old is not link.peer:
            self._drop_stream(master, replica.name, "reconnect")
        master.repl.streams[replica.name] = link.peer

    def replication_set_master(self, replica: Node, master: str) -> None:
        """``replicationSetMaster``: free the old link, unblock the clients blocked on
        this node (WAIT) with an error, connect at once."""
        self._close_master_link(replica, "set_master")
        self.dataplane.on_set_master(replica)
        replica.repl.set_master(self.engine.now)
        self.replication_connect(replica)

    def replication_unset_master(self, node: Node, old_master: str) -> None:
        """``replicationUnsetMaster``: ``server.master`` is freed (its socket closes)."""
        self._close_master_link(node, "unset_master")
        node.repl.unset_master(self.engine.now)
        self.dataplane.on_promoted(node, old_master)
