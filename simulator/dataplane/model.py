"""The data plane wired into the cluster: keyspaces, replication streams, persistence,
pub/sub delivery and the write ledger (behaviour reference §15–21).

:class:`ClusterData` is the :class:`~simulator.cluster.DataPlane` the bus calls; each
node's state is a :class:`NodeData` in ``node.data``. Everything that happens later is
an engine event with a bound method and explicit arguments (deepcopy-safe), and all
randomness comes from named engine streams.

Simplifications (also in docs/data-plane.md): values are strings; a write is replicated
as the resulting value (so replaying it is idempotent); a node restarted from nothing or
the AOF gets a new replication ID (its replicas full-resync), one restarted from an RDB
keeps the history the RDB recorded (§21.3); while a full resync waits, the replica keeps
serving its old data and ignores the stream (the snapshot covers it). Replica ACKs
travel on the replication link, once a second and on a GETACK (WAIT, replica_acks.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from simulator.cluster import Cluster, DataPlane
from simulator.dataplane import expiry, replica_acks, restart_load, shutdown_wait
from simulator.dataplane.key_lookup import key_lookup
from simulator.dataplane.keyspace import slot_of
from simulator.dataplane.ledger import WriteLedger, loss_row, write_row
from simulator.dataplane.node_data import NodeData
from simulator.dataplane.outcomes import NAMES as OUTCOME_NAMES
from simulator.dataplane.persistence import ReplInfo
from simulator.dataplane.pubsub import PubSubRegistry, Push
from simulator.dataplane.service import ServiceModel
from simulator.dataplane.setslot_cost import COMMAND_RTT_MS, KEY_COST_MS
from simulator.dataplane.stream import resp_size
from simulator.messages import Message, MsgType, ReplChunk
from simulator.node import RUNNING, Node
from simulator.replication import ExpireOp, Op, StreamOp, full_sync_transfer_ms
from simulator.slots import CLUSTER_SLOTS

SERVER_CRON_MS = 100
"""``serverCron`` runs ``hz`` (10) times a second and checks the save points on every
pass (§21.1); the node's clusterCron runs in it too, on its own timer here."""

ClientT = TypeVar("ClientT")
JobT = TypeVar("JobT")


@dataclass(frozen=True, slots=True)
class RequestPath:
    """The request path of the layers above, which :func:`simulator.dataplane.install`
    registers (this layer never imports them): what a node's death, SIGCONT, the end of
    a client pause or a replica's ACK does to the requests it holds
    (:mod:`~simulator.dataplane.clients`), and what a ``GET`` from a fresh connection
    gets (:func:`simulator.dataplane.server.probe`, for
    :meth:`ClusterData.lookup`). Plain module functions: a deep copy (a rewind) shares it."""

    refuse: Callable[[ClusterData[Any, Any], str, str, Any, int], None]
    process_held: Callable[[ClusterData[Any, Any], Node], None]
    pause_ended: Callable[[ClusterData[Any, Any], str, int], None]
    serve_waiting: Callable[[ClusterData[Any, Any], Node], None]
    event_loop_pass: Callable[[ClusterData[Any, Any], Node], None]
    probe: Callable[[ClusterData[Any, Any], Node, str], str]

    def __deepcopy__(self, memo: dict[int, Any]) -> RequestPath:
        return self


class ClusterData(DataPlane, Generic[ClientT, JobT]):
    """The data plane's state: per-node data, the write ledger, counters, and the clients
    and jobs of the layers above (typed by them: ``ClusterData[Client, Job]``)."""

    def __init__(
        self,
        apply_delay_ms: tuple[int, int] = (0, 0),  # on arrival: tests/data/replica-lag.json
        key_cost_ms: float = KEY_COST_MS,
        command_cost_ms: float = COMMAND_RTT_MS,
    ) -> None:
        self.apply_delay_ms = apply_delay_ms
        self.key_cost_ms = key_cost_ms
        self.command_cost_ms = command_cost_ms
        self.ledger = WriteLedger()
        self.clients: dict[str, ClientT] = {}
        self.jobs: list[JobT] = []
        self.outcomes: dict[str, int] = dict.fromkeys(OUTCOME_NAMES, 0)
        self.deliveries: dict[tuple[str, str], int] = {}  # (channel, client) -> count
        self.version = 0
        self._sync_seq = 0  # numbers full syncs, so a cancelled one's timer is ignored
        self.requests: RequestPath | None = None  # registered by install()
        self.service: ServiceModel | None = None  # one thread per node (§28.4); None: off
        self._ready = False

    # ------------------------------------------------------------------ wiring

    def attach(self, cluster: Cluster) -> None:
        self.cluster = cluster
        for node in getattr(cluster, "nodes", {}).values():  # attached after the build
            if node.data is None:
                self.init_node(node)

    def init_node(self, node: Node) -> None:
        replid = self.new_replid()
        node.data = NodeData(node, self.cluster.engine.now)
        node.repl.replid = replid
        self._start_server_cron(node)

    def new_replid(self) -> str:
        return f"{self.cluster.engine.rng('replid').getrandbits(160):040x}"

    def ready(self) -> None:
        """Replicas built with the cluster share their master's replication ID (as after
        their initial sync); call once the cluster exists (done lazily by every hook)."""
        if self._ready:
            return
        self._ready = True
        for node in self.cluster.nodes.values():
            repl = node.repl
            master = self.cluster.nodes.get(node.master_name or "")
            if repl.fresh and master is not None and master.repl.fresh:
                repl.replid = master.repl.replid
                repl.backlog_from = min(repl.backlog_from, repl.offset)

    @staticmethod
    def data(node: Node) -> NodeData:
        data = node.data
        assert isinstance(data, NodeData), f"{node.name} has no data plane state"
        return data

    @property
    def now(self) -> int:
        return self.cluster.engine.now

    def emit(self, kind: str, node: str | None = None, target: str | None = None, **f: Any) -> None:
        self.cluster.trace.emit(self.cluster.engine.now, kind, node, target, **f)

    # ------------------------------------------------------------------ writes on a node

    def next_version(self) -> int:
        self.version += 1
        return self.version

    def apply_local(self, node: Node, ops: Iterable[StreamOp]) -> None:
        """Apply ops to ``node``'s keyspace and persistence (no replication)."""
        data = self.data(node)
        now = self.now
        for op in ops:
            if isinstance(op, ExpireOp):
                expiry.apply_op(self, node, op)  # PEXPIREAT / PERSIST (§26.1)
                data.persistence.record_expire(now, op.key, op.at_ms)
                continue
            key, value, version = op
            data.put(key, value, version)
            data.persistence.record_write(now, key, value)

    def write(self, node: Node, ops: Sequence[StreamOp]) -> int:
        """A master executes writes: apply, then append to its replication stream (§20.1).
        Returns the master's offset after them (what WAIT waits for)."""
        self.ready()
        self.apply_local(node, ops)
        payload = tuple(ops)
        offset = self.cluster.replication_stream(node, resp_size(ops), payload)
        if node.repl.has_backlog:  # a lone master keeps none (§20.1)
            self._append_backlog(node, offset, payload)
        return offset

    def _append_backlog(self, node: Node, offset: int, ops: tuple[StreamOp, ...]) -> None:
        node.repl.append_backlog(offset, ops, node.config.get("repl-backlog-size"))

    def populate(self, items: dict[str, str]) -> None:
        """Load keys directly into every slot owner and its replicas (a fixture, as if
        they had been written and replicated before the simulation; not in the ledger)."""
        self.ready()
        table = self.cluster.truth_table()
        for key, value in items.items():
            owner = table[slot_of(key)]
            if owner is None:
                continue
            version = self.next_version()
            for node in self.cluster.nodes.values():
                if node.name == owner or (node.master_name == owner and not node.is_master):
                    self.data(node).put(key, value, version)
                    self.data(node).persistence.record_write(self.now, key, value)

    # ------------------------------------------------------------------ replication (§20.1)

    def apply_replication(self, replica: Node, chunk: ReplChunk) -> None:
        self.ready()
        data = self.data(replica)
        repl = replica.repl
        if chunk.payload is None or repl.sync_master is not None:
            return
        if chunk.offset <= repl.offset:
            return  # already covered by a snapshot or a partial resync
        low, high = self.apply_delay_ms
        delay = low if low >= high else self.cluster.engine.rng("repl-apply").randint(low, high)
        due = self.now + delay
        if repl.pending:
            due = max(due, repl.pending[-1][0])
        if due <= self.now and not repl.pending:
            self._apply_chunk(replica, chunk)
            return
        repl.pending.append((due, chunk))
        self.cluster.engine.schedule_at(due, self._apply_due, replica.name, data.generation)

    def _apply_chunk(self, replica: Node, chunk: ReplChunk) -> None:
        ops = chunk.payload
        assert isinstance(ops, tuple)
        self.apply_local(replica, ops)
        self._append_backlog(replica, chunk.offset, ops)

    def _apply_due(self, name: str, generation: int) -> None:
        node = self.cluster.nodes.get(name)
        if node is None or self.data(node).generation != generation:
            return
        pending = node.repl.pending
        while pending and pending[0][0] <= self.now:
            self._apply_chunk(node, pending.popleft()[1])

    def _flush_pending(self, node: Node) -> None:
        pending = node.repl.pending
        while pending:
            self._apply_chunk(node, pending.popleft()[1])

    def on_replication_connected(self, replica: Node, master: Node) -> None:
        """PSYNC (§20.1): partial when the replica's history is the master's (or the
        master's previous one up to the promotion offset) and the backlog still covers
        it, and the link is up at once; otherwise a full resync, whose link is up only
        once the RDB is loaded (``REPL_STATE_TRANSFER`` until then)."""
        self.ready()
        self._flush_pending(replica)
        rd, md = replica.repl, master.repl
        offset = rd.offset
        same = rd.replid == md.replid or (
            md.replid2 != "" and rd.replid == md.replid2 and offset + 1 <= md.second_offset
        )
        md.acks[replica.name] = (offset, self.now)
        had_backlog = md.has_backlog
        if not had_backlog:
            # ``syncCommand``: a backlog created from scratch has no valid past, so the
            # master takes a new replication ID and clears the second one (§20.1).
            md.renew_history(self.new_replid())
        md.create_buffer()
        if had_backlog and same and md.backlog_from <= offset <= md.offset:
            rd.create_buffer()  # a restarted replica's backlog starts with the PSYNC
            for end, ops in md.backlog:
                if end > offset:
                    self.apply_local(replica, ops)
                    self._append_backlog(replica, end, ops)
            rd.resync(md.offset)
            rd.replid, rd.fresh, rd.sync_master = md.replid, False, None
            rd.connected(self.now)
            self.emit("psync", replica.name, master.name, mode="partial", offset=offset)
            return
        rd.transfer()
        rd.sync_master = master.name
        self._sync_seq += 1
        rd.sync_id = self._sync_seq
        self.emit("psync", replica.name, master.name, mode="full", offset=offset)
        self.cluster.wait_full_sync(replica, master)  # the master's replicationCron (§20.5)

    def begin_full_sync(self, replica: Node, master: Node) -> int:
        """The master's RDB child starts streaming to ``replica`` (§20.5): the dataset
        arrives and is loaded :func:`full_sync_transfer_ms` later."""
        delay = full_sync_transfer_ms(self.data(master).keys)
        self.cluster.engine.schedule(
            delay,
            self._finish_full_sync,
            replica.name,
            master.name,
            self.data(replica).generation,
            replica.repl.sync_id,
        )
        return delay

    def _finish_full_sync(self, name: str, master_name: str, generation: int, sync_id: int) -> None:
        replica = self.cluster.nodes.get(name)
        master = self.cluster.nodes.get(master_name)
        if replica is None or self.data(replica).generation != generation:
            return
        rd, repl = self.data(replica), replica.repl
        if repl.sync_master != master_name or repl.sync_id != sync_id:
            return  # cancelled (cancelReplicationHandshake) or superseded
        repl.sync_master = None
        network = self.cluster.network
        if (
            master is None
            or master.status != RUNNING
            or not master.is_master
            or replica.master_name != master_name
            or not replica.alive
            or not network.reachable(master_name, name)
            or not network.reachable(name, master_name)
        ):
            repl.broken(self.now)  # the transfer failed: the cron reconnects
            return
        md, mrepl = self.data(master), master.repl
        rd.replace(dict(md.keys), dict(md.expires.at))  # the RDB keeps the TTLs
        expiry.ensure_cron(self, replica)
        repl.pending.clear()
        repl.replid, repl.fresh = mrepl.replid, False
        repl.backlog = deque()
        repl.backlog_from = mrepl.offset
        repl.full_sync_buffer(mrepl.offset)
        repl.resync(mrepl.offset)
        repl.connected(self.now)
        rd.persistence.full_sync(
            self.now,
            {k: v for k, (v, _) in md.keys.items()},
            (mrepl.replid, mrepl.offset),
            dict(md.expires.at),
        )
        mrepl.acks[name] = (repl.offset, self.now)
        self.emit("full_sync", name, master_name, keys=len(rd.keys), offset=repl.offset)

    def on_promoted(self, node: Node, old_master: str) -> None:
        """A new replication history; the old one is accepted up to here (§11.5, §20.1)."""
        self.ready()
        self._flush_pending(node)
        node.repl.shift_replid(self.new_replid())
        self.sweep_losses(f"{node.name} replaced {old_master} without it (failover)")

    def on_backlog_freed(self, master: Node) -> None:
        """``changeReplicationId`` + ``freeReplicationBacklog`` (repl-backlog-ttl, §20.1)."""
        master.repl.free_backlog(self.new_replid())

    def good_replicas(self, master: Node) -> int:
        """``min-replicas-to-write``'s count (:mod:`.replica_acks`)."""
        return replica_acks.good_replicas(self, master)

    def acked_replicas(self, master: Node, offset: int) -> int:
        """WAIT's count (``replicationCountAcksByOffset``, :mod:`.replica_acks`)."""
        return replica_acks.acked_replicas(self, master, offset)

    def on_replica_ack(self, node: Node) -> None:
        """The ``beforeSleep`` after an ACK was read: timeouts first, then
        ``processClientsWaitingReplicas`` answers the WAITs this ACK satisfies.
        As ``on_set_master``, ``disconnectAllBlockedClients``: UNBLOCKED errors (§20.3)."""
        if node.pass_watch:
            self.on_event_loop_pass(node)
        if self.data(node).waiting:
            self.request_path().serve_waiting(self, node)

    on_set_master = on_replica_ack

    def on_event_loop_pass(self, node: Node) -> None:
        """``handleBlockedClientsTimeout`` in a pass's ``beforeSleep`` (§20.3)."""
        self.request_path().event_loop_pass(self, node)

    # ------------------------------------------------------------------ the server cron

    def _start_server_cron(self, node: Node) -> None:
        data = self.data(node)
        phase = self.cluster.engine.rng(f"server-cron:{node.name}").randrange(SERVER_CRON_MS)
        self.cluster.engine.schedule(phase + 1, self._server_cron, node.name, data.generation)

    def _server_cron(self, name: str, generation: int) -> None:
        """``serverCron``, every 100 ms: the RDB save points (§21.1)."""
        node = self.cluster.nodes.get(name)
        if node is None or self.data(node).generation != generation:
            return
        self.cluster.engine.schedule(SERVER_CRON_MS, self._server_cron, name, generation)
        if node.status != RUNNING:
            return
        data = self.data(node)
        if data.shutdown_deadline is not None and shutdown_wait.done(self, node):
            self.cluster.finish_shutdown(name)  # finishShutdown from serverCron
            return
        data.persistence.maybe_snapshot(self.now, self.saved_repl_info(node))
        # REPLCONF ACK: replicationCron sends it on the TCP link (cluster_replication.py).

    # ------------------------------------------------------------------ bus hooks

    def count_keys_in_slot(self, node: Node, slot: int) -> int:
        if not isinstance(node.data, NodeData):
            return 0
        return len(node.data.by_slot.get(slot, ()))

    def count_keys(self, node: Node) -> int:
        return len(node.data.keys) if isinstance(node.data, NodeData) else 0

    def delete_keys_in_slots(self, node: Node, slots: list[int]) -> None:
        """``delKeysInSlot`` (§10.2): deletions are propagated to my replicas."""
        data = self.data(node)
        ops: list[Op] = [
            (key, None, self.next_version()) for slot in slots for key in data.keys_in_slot(slot)
        ]
        if not ops:
            return
        with data.untracked():  # dbDelete only: no invalidation
            if node.is_master:
                self.write(node, ops)
            else:
                self.apply_local(node, ops)
        self.emit("keys_deleted", node.name, slots=len(slots), keys=len(ops))

    def on_slot_owner_changed(self, node: Node, slot: int, previous: int, owner: int) -> None:
        """My shard lost ``slot``: its shard-channel subscribers get ``sunsubscribe`` (§19)."""
        data = node.data
        if not isinstance(data, NodeData) or owner == previous:
            return
        mine = node.index if node.is_master else self.cluster.index.get(node.master_name or "")
        if previous != mine or not data.pubsub.shard_channels():
            return
        for push in data.pubsub.drop_slot(slot):
            self.push(node, push)

    def on_publish_message(self, node: Node, message: Message) -> None:
        """A PUBLISH/PUBLISHSHARD from the bus: deliver locally, never forward (§19)."""
        data = node.data
        if not isinstance(data, NodeData):
            return
        registry = data.pubsub
        if message.type == MsgType.PUBLISHSHARD:
            published = registry.spublish(message.channel, message.payload)
        else:
            published = registry.publish(message.channel, message.payload)
        for push in published.pushes:
            self.push(node, push)

    def push(self, node: Node, push: Push) -> None:
        """Send a pushed message to a subscriber; lost if the subscriber is cut off (§19)."""
        network = self.cluster.network
        if not network.reachable(node.name, push.client):
            return
        delay = network.delay(node.name, push.client, self.now)
        if delay is None:
            return
        self.cluster.engine.schedule(
            delay, self._delivered, node.name, push.client, push.kind, push.fields
        )

    def _delivered(self, node: str, client: str, kind: str, fields: tuple[Any, ...]) -> None:
        channel = str(fields[1] if kind == "pmessage" else fields[0])
        if kind != "sunsubscribe":
            key = (channel, client)
            self.deliveries[key] = self.deliveries.get(key, 0) + 1
        message = fields[-1] if kind != "sunsubscribe" else None
        self.emit("deliver", node, client, channel=channel, push=kind, message=message)

    def on_crash(self, node: Node, power_loss: bool) -> None:
        data = self.data(node)
        self._wake(data)
        data.generation += 1
        data.migrate_sockets.clear()
        data.crash_time = self.now
        data.power_loss = power_loss
        node.repl.pending.clear()
        node.repl.sync_master = None
        data.pubsub = PubSubRegistry()  # the subscribers' connections are gone
        data.tracking_crash()  # and the tracking clients'
        waiting = [(client, op, attempt) for client, op, attempt, *_ in data.waiting]
        held, data.held = data.held + data.blocked + waiting, []
        data.blocked, data.busy, data.waiting, data.get_ack = [], False, [], False
        data.shutdown_deadline = None
        data.timeouts, node.pass_watch = [], False
        for client, op, attempt in held:
            self._refuse(node.name, client, op, attempt)

    def begin_shutdown(self, node: Node) -> bool:
        return shutdown_wait.begin(self, node)

    def on_shutdown(self, node: Node) -> None:
        data = self.data(node)
        data.persistence.shutdown(self.now, self.saved_repl_info(node))
        self.on_crash(node, power_loss=False)

    def saved_repl_info(self, node: Node) -> ReplInfo | None:
        """What an RDB saved now records as its replication ID and offset
        (``rdbPopulateSaveInfo``): the history the data belongs to; a master's whole
        stream (``master_repl_offset``, GETACKs included), a replica's up to the last
        write it applied (it may have received more). A master without a backlog records
        none: it is in no replication chain."""
        self.ready()
        repl = node.repl
        if node.is_master:
            return (repl.replid, repl.offset) if repl.has_backlog else None
        return repl.replid, min(repl.applied_offset(), repl.offset)

    def on_restart(self, node: Node) -> None:
        """Load what persistence kept (:func:`~simulator.dataplane.restart_load.load`,
        §21.3); then a master checks its keys against its slots
        (``verifyClusterConfigWithData``)."""
        restart_load.load(self, node)
        for slot, change in node.verify_config_with_data(
            slot for slot, keys in self.data(node).by_slot.items() if keys
        ):
            owner = node.importing.get(slot)
            self.emit(
                "setslot",
                node.name,
                owner,
                slot=slot,
                arg="IMPORTING" if change == "importing" else "ADDSLOTS",
                reply="OK",
                by="verifyClusterConfigWithData",
            )
        self._start_server_cron(node)
        if node.is_master:
            self.sweep_losses(f"{node.name} restarted with only what persistence kept")

    def on_resume(self, node: Node) -> None:
        data = self.data(node)
        self._wake(data)
        if data.held:
            self.request_path().process_held(self, node)
        replica_acks.resume_acks(self, node)

    def on_writes_unpaused(self, node: Node) -> None:
        """``unpauseClients`` unblocks the postponed clients and ``beforeSleep`` re-runs
        their commands in the same event-loop pass (§12): the next event here, once the
        packet that ended the pause has been processed. Most get MOVED to the winner."""
        data = self.data(node)
        if data.held:
            release = self.request_path().pause_ended
            self.cluster.engine.schedule(0, release, self, node.name, data.generation)
        replica_acks.resume_acks(self, node)

    def _wake(self, data: NodeData) -> None:
        """A paused process resumed or died: redis-cli's commands its kernel held
        (resharding.py) get their answer, or their error, in the next event."""
        waiters, data.resume_waiters = data.resume_waiters, []
        for callback, args in waiters:
            self.cluster.engine.schedule(0, callback, *args)

    def _refuse(self, node: str, client: str, op: Any, attempt: int) -> None:
        self.request_path().refuse(self, node, client, op, attempt)

    def request_path(self) -> RequestPath:
        """The layers above (held requests exist only once clients do, after install)."""
        if self.requests is None:
            raise RuntimeError("no request path: attach clients with simulator.dataplane.install")
        return self.requests

    # ------------------------------------------------------------------ truth and queries

    def current_value(self, key: str) -> str | None:
        """The value a client reads from the key's current owner (the truth), following
        an open migration to the target when the key already moved (§15)."""
        slot = slot_of(key)
        owner_name = self.cluster.truth_owner(slot)
        if owner_name is None:
            return None
        owner = self.cluster.nodes[owner_name]
        value = expiry.live_value(self, owner, key)  # nil once logically expired (§26.3)
        if value is None and slot in owner.migrating:
            target = self.cluster.nodes.get(owner.migrating[slot])
            if target is not None and target.alive:
                return self.data(target).get(key)
        return value

    def lost_writes(self) -> list[dict[str, Any]]:
        """Acknowledged writes lost for good (§20.2, :meth:`WriteLedger.losses`)."""
        losses = self.ledger.losses(self.now, self.current_value, self._owner_of)
        return [loss_row(loss) for loss in losses]

    def at_risk_writes(self) -> list[dict[str, Any]]:
        """Acknowledged writes a reader sees now that no replica of the serving master
        holds yet: a failover now would lose them (§20.2)."""
        return [write_row(w) for w in self.ledger.at_risk(self.current_value, self._replicated)]

    def sweep_losses(self, why: str) -> None:
        """Keep the writes lost at this moment, with ``why`` (a failover, a restart):
        a later write of the same key must not hide that they were lost."""
        self.ledger.sweep(self.now, self.current_value, self._owner_of, lambda w, o: why)

    def _owner_of(self, key: str) -> str | None:
        return self.cluster.truth_owner(slot_of(key))

    def _replicated(self, key: str, value: str | None) -> bool:
        owner = self._owner_of(key)
        return any(
            n.alive and n.master_name == owner and self.data(n).get(key) == value
            for n in self.cluster.nodes.values()
            if owner is not None and n.name != owner
        )

    def delivered(self, channel: str | None = None, subscriber: str | None = None) -> int:
        """Messages received by subscribers (optionally of one channel / one subscriber)."""
        return sum(
            n
            for (ch, client), n in self.deliveries.items()
            if (channel is None or ch == channel) and (subscriber is None or client == subscriber)
        )

    def requests_by_outcome(self) -> dict[str, int]:
        return dict(self.outcomes)

    request_outcomes = requests_by_outcome

    def lookup(self, key: str) -> dict[str, Any]:
        """Where ``key`` lives (:func:`~simulator.dataplane.key_lookup.key_lookup`)."""
        return key_lookup(self, key)

    def keyspace_counts(self, node: Node) -> tuple[int, int, int]:
        """(keys, with a TTL, expired but stored) for the node view (§26)."""
        return expiry.keyspace_counts(self, node)

    def slot_keys(self, node: str) -> dict[int, int]:
        """Keys per slot on ``node`` (for redis-cli's planners)."""
        data = self.data(self.cluster.node(node))
        return {slot: len(keys) for slot, keys in data.by_slot.items() if 0 <= slot < CLUSTER_SLOTS}
