"""One Redis Cluster node: its own view of the cluster and the bus logic of src/cluster.c.

Each method that models a Redis function names it in its docstring so a reader who
knows cluster.c can cross-check; section numbers (§) refer to the behaviour
reference, docs/redis-cluster-behaviour.md in the project's shared docs.

The node never touches another node's state: everything it learns arrives in a
:class:`~simulator.messages.Message` through the cluster's network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.config import NodeConfig
from simulator.messages import (
    FAIL,
    HANDSHAKE,
    MASTER,
    MEET,
    MF_FORCEACK,
    MF_PAUSED,
    MIGRATE_TO,
    MYSELF,
    NOADDR,
    NOFAILOVER,
    PFAIL,
    SLAVE,
    GossipEntry,
    Message,
    MsgType,
    ReplChunk,
)
from simulator.slots import CLUSTER_SLOTS, NO_OWNER, SlotTable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from simulator.cluster import Cluster

# Constants of src/cluster.h and src/cluster.c (§1.1).
CRON_PERIOD_MS = 100
FAIL_REPORT_VALIDITY_MULT = 2
FAIL_UNDO_TIME_MULT = 2
MF_TIMEOUT_MS = 5000
MF_PAUSE_MULT = 2
SLAVE_MIGRATION_DELAY_MS = 5000
MIN_REJOIN_DELAY_MS = 500
MAX_REJOIN_DELAY_MS = 5000
WRITABLE_DELAY_MS = 2000
REPL_PING_BYTES = 14  # "*1\r\n$4\r\nPING\r\n" in the replication stream

RUNNING = "running"
PAUSED = "paused"
CRASHED = "crashed"
STOPPED = "stopped"


class PeerView:
    """What one node believes about another (``clusterNode``, §2.1). One per observer."""

    __slots__ = (
        "config_epoch",
        "ctime",
        "data_received",
        "fail_reports",
        "fail_time",
        "flags",
        "id",
        "index",
        "link",
        "link_ctime",
        "master",
        "name",
        "orphaned_time",
        "ping_sent",
        "pong_received",
        "repl_offset",
        "repl_offset_time",
        "replicas",
        "voted_time",
    )

    def __init__(self, name: str, node_id: str, index: int, flags: int) -> None:
        self.name = name
        self.id = node_id
        self.index = index
        self.flags = flags
        self.config_epoch = 0
        self.master: str | None = None
        self.replicas: list[str] = []
        self.ping_sent = 0
        self.pong_received = 0
        self.data_received = 0
        self.fail_time = 0
        self.voted_time = -(10**12)
        self.repl_offset = 0
        self.repl_offset_time = 0
        self.orphaned_time = 0
        self.fail_reports: dict[str, int] = {}  # reporting master -> last report time
        self.link = False
        self.link_ctime = 0
        self.ctime = 0

    @property
    def is_master(self) -> bool:
        return bool(self.flags & MASTER)

    @property
    def failed(self) -> bool:
        return bool(self.flags & FAIL)

    @property
    def timed_out(self) -> bool:
        return bool(self.flags & PFAIL)


class Node:
    """A Redis node with cluster-enabled yes, as seen from inside its own process."""

    def __init__(
        self, cluster: Cluster, name: str, index: int, node_id: str, port: int, config: NodeConfig
    ) -> None:
        self.cluster = cluster
        self.name = name
        self.index = index
        self.id = node_id
        self.port = port
        self.addr = f"127.0.0.1:{port}"
        self.config = config
        self.status = RUNNING
        self.rng = cluster.engine.rng(f"node:{name}")
        self.phase = self.rng.randrange(CRON_PERIOD_MS)
        self.me = PeerView(name, node_id, index, MYSELF | MASTER)
        self.me.link = True
        self.peers: dict[str, PeerView] = {name: self.me}
        self._peer_list: list[PeerView] = [self.me]
        self.slots = SlotTable()
        self.slot_counts: dict[int, int] = {}  # owner index -> slots bound in my table
        self.owner_not_claiming = bytearray(CLUSTER_SLOTS)
        self.migrating: dict[int, str] = {}
        self.importing: dict[int, str] = {}
        # Per owner: a change counter (for the bitmap cache) and a Zobrist fingerprint of
        # its slots, so comparing a heartbeat's claim with my table is O(1) (§10.1 step 7).
        self._owner_version: dict[int, int] = {}
        self._fingerprint: dict[int, int] = {}
        self._owner_bits: dict[int, int] = {}  # owner index -> bitset of its slots (bit s = slot s)
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.state = "fail"
        self.size = 0
        self.first_call_time = 0
        self.among_minority_time = -(10**12)  # "never": Redis starts it at 0 of the Unix clock
        self.stats_pfail_nodes = 0
        self.iteration = 0
        self.cron_timer: Any = None
        self.inbox: list[Message | ReplChunk] = []
        self.sent = [0] * len(MsgType)
        self.received = [0] * len(MsgType)
        self.mf_end = 0
        self.mf_slave: str | None = None
        self.mf_master_offset = -1
        self.mf_can_start = False
        self._reset_election()
        # Replication bookkeeping the bus needs (data age, rank); the data plane moves offsets.
        self.repl_offset = 0
        self.repl_link_up = False
        self.repl_last_interaction = 0
        self.repl_down_since = 0
        self.writes_paused_until = 0
        self._todo_state = False
        self._todo_failover = False
        self.data: Any = None  # the data plane's per-node state

    # ------------------------------------------------------------------ public view

    @property
    def config_epoch(self) -> int:
        """My configEpoch; a replica shows and advertises its master's (§9.2)."""
        if self.me.flags & SLAVE and self.me.master is not None:
            master = self.peers.get(self.me.master)
            return master.config_epoch if master else 0
        return self.me.config_epoch

    @property
    def is_master(self) -> bool:
        return bool(self.me.flags & MASTER)

    @property
    def master_name(self) -> str | None:
        return self.me.master

    @property
    def alive(self) -> bool:
        return self.status in (RUNNING, PAUSED)

    def slot_owner(self, slot: int) -> str | None:
        owner = self.slots[slot]
        return None if owner == NO_OWNER else self.cluster.names[owner]

    def my_slots(self) -> list[int]:
        return bits_to_slots(self._owner_bits.get(self.index, 0))

    def slots_of(self, name: str) -> list[int]:
        return self.slots.slots_of(self.cluster.index[name])

    def numslots(self, peer: PeerView) -> int:
        return self.slot_counts.get(peer.index, 0)

    def writes_paused(self) -> bool:
        """Whether client writes are paused by a manual failover (§12)."""
        return self.cluster.engine.now < self.writes_paused_until

    def _emit(self, kind: str, target: str | None = None, **fields: Any) -> None:
        self.cluster.trace.emit(self.cluster.engine.now, kind, self.name, target, **fields)

    # ------------------------------------------------------------------ peers and slots

    def add_peer(self, peer: PeerView) -> None:
        """``clusterAddNode``."""
        self.peers[peer.name] = peer
        self._peer_list.append(peer)
        peer.ctime = self.cluster.engine.now

    def remove_peer(self, name: str) -> None:
        """``clusterDelNode``: forget a node, its slots and its failure reports."""
        peer = self.peers.pop(name)
        self._peer_list.remove(peer)
        for slot in self.slots.slots_of(peer.index):
            self._set_slot(slot, NO_OWNER)
        for other in self._peer_list:
            other.fail_reports.pop(name, None)
            if name in other.replicas:
                other.replicas.remove(name)

    def _set_slot(self, slot: int, owner: int) -> None:
        """``clusterDelSlot`` + ``clusterAddSlot`` on my table, keeping counts."""
        previous = self.slots[slot]
        if previous == owner:
            return
        key = self.cluster.zobrist[slot]
        versions = self._owner_version
        prints = self._fingerprint
        bits = self._owner_bits
        mask = 1 << slot
        if previous != NO_OWNER:
            self.slot_counts[previous] -= 1
            versions[previous] = versions.get(previous, 0) + 1
            prints[previous] = prints.get(previous, 0) ^ key
            bits[previous] = bits.get(previous, 0) ^ mask
        if owner != NO_OWNER:
            self.slot_counts[owner] = self.slot_counts.get(owner, 0) + 1
            versions[owner] = versions.get(owner, 0) + 1
            prints[owner] = prints.get(owner, 0) ^ key
            bits[owner] = bits.get(owner, 0) ^ mask
        self.slots[slot] = owner
        if previous == self.index or owner == self.index:
            self.cluster.on_slot_owner_changed(self, slot, previous, owner)
        elif (
            previous != NO_OWNER
            and self.me.master is not None
            and self.cluster.index.get(self.me.master) == previous
        ):
            # My master's shard lost the slot: its shard channels go too (§19).
            self.cluster.on_slot_owner_changed(self, slot, previous, owner)

    def load_slot_table(self, table: SlotTable) -> None:
        """Replace my whole slot table (nodes.conf load), rebuilding counts and fingerprints."""
        self.slots = table.copy()
        key = table.raw().tobytes()
        derived = self.cluster.slot_index_cache.get(key)
        if derived is None:
            counts: dict[int, int] = {}
            prints: dict[int, int] = {}
            zobrist = self.cluster.zobrist
            for slot, owner in enumerate(table.raw()):
                if owner != NO_OWNER:
                    counts[owner] = counts.get(owner, 0) + 1
                    prints[owner] = prints.get(owner, 0) ^ zobrist[slot]
            owner_bits = {owner: table_bits(table, owner) for owner in counts}
            derived = (counts, prints, owner_bits)
            self.cluster.slot_index_cache = {key: derived}
        self.slot_counts = dict(derived[0])
        self._fingerprint = dict(derived[1])
        self._owner_bits = dict(derived[2])
        for owner in self.slot_counts:
            self._owner_version[owner] = self._owner_version.get(owner, 0) + 1

    def assign_slots(self, slots: list[int], owner_name: str) -> None:
        index = self.cluster.index[owner_name]
        for slot in slots:
            self._set_slot(slot, index)
            self.owner_not_claiming[slot] = 0

    def slot_bits(self, owner_index: int) -> int:
        """The slots bound to ``owner_index`` in my table, as a bitset (bit s = slot s)."""
        return self._owner_bits.get(owner_index, 0)

    def _claim_diff(self, owner_index: int, claimed: int) -> list[int]:
        """Slots where ``claimed`` and my table's binding to ``owner_index`` disagree."""
        return bits_to_slots(claimed ^ self._owner_bits.get(owner_index, 0))

    def claim_fingerprint(self) -> int:
        """The Zobrist fingerprint of what my headers claim (see :meth:`claimed_bits`)."""
        if self.me.flags & SLAVE and self.me.master in self.peers:
            return self._fingerprint.get(self.peers[self.me.master].index, 0)
        return self._fingerprint.get(self.index, 0)

    def claimed_bits(self) -> int:
        """What my headers claim: my slots, or my master's if I am a replica (§4.2)."""
        if self.me.flags & SLAVE and self.me.master in self.peers:
            return self.slot_bits(self.peers[self.me.master].index)
        return self.slot_bits(self.index)

    def is_slot_unclaimed(self, slot: int) -> bool:
        """``isSlotUnclaimed``: bound, but the owner's heartbeats stopped claiming it."""
        return bool(self.owner_not_claiming[slot])

    # ------------------------------------------------------------------ messages out

    def _header(self, mtype: MsgType, **extra: Any) -> Message:
        """``clusterBuildMessageHdr``."""
        me = self.me
        master = me.master if me.flags & SLAVE else None
        mflags = MF_PAUSED if (me.flags & MASTER and self.mf_end) else 0
        return Message(
            type=mtype,
            sender=self.name,
            current_epoch=self.current_epoch,
            config_epoch=self.config_epoch,
            offset=self.repl_offset,
            slots=self.claimed_bits(),
            claim_fp=self.claim_fingerprint(),
            master=master,
            flags=me.flags & ~MYSELF,
            state_ok=self.state == "ok",
            mflags=mflags | extra.pop("mflags", 0),
            **extra,
        )

    def _send(self, dst: str, message: Message) -> None:
        self.sent[message.type] += 1
        self.cluster.transmit(self.name, dst, message)

    def send_ping(self, peer: PeerView, mtype: MsgType = MsgType.PING) -> None:
        """``clusterSendPing``: header plus gossip about max(3, N/10) nodes and every PFAIL node (§7)."""
        now = self.cluster.engine.now
        if mtype == MsgType.PING:
            if peer.ping_sent == 0:
                peer.ping_sent = now
        self._send(peer.name, self._header(mtype, gossip=self._gossip()))

    def _gossip(self) -> tuple[GossipEntry, ...]:
        peers = self._peer_list
        total = len(peers)
        fresh = total - 2
        wanted = max(3, total // 10)
        wanted = min(wanted, fresh)
        entries: list[GossipEntry] = []
        chosen: dict[str, None] = {}
        attempts = wanted * 3
        random = self.rng.random  # dictGetRandomKey: uniform over the node table
        while fresh > 0 and len(entries) < wanted and attempts > 0:
            attempts -= 1
            peer = peers[int(random() * total)]
            if peer is self.me or peer.flags & PFAIL:
                continue
            if peer.flags & (HANDSHAKE | NOADDR) or (not peer.link and self.numslots(peer) == 0):
                fresh -= 1
                continue
            if peer.name in chosen:
                continue
            chosen[peer.name] = None
            entries.append(self._gossip_entry(peer))
            fresh -= 1
        if self.stats_pfail_nodes:
            for peer in peers:
                if peer.flags & PFAIL and not peer.flags & (HANDSHAKE | NOADDR):
                    entries.append(self._gossip_entry(peer))
        return tuple(entries)

    @staticmethod
    def _gossip_entry(peer: PeerView) -> GossipEntry:
        """``clusterSetGossipEntry``: times travel in seconds."""
        return GossipEntry(
            peer.name, peer.ping_sent // 1000, peer.pong_received // 1000, peer.flags & ~MYSELF
        )

    def _linked_peers(self, only_local_replicas: bool = False) -> list[PeerView]:
        """Nodes a broadcast reaches: every node I have a link to (not myself, not in
        handshake); with ``only_local_replicas``, only replicas of my master (or of me)."""
        mine = self.me.master if self.me.flags & SLAVE else self.name
        targets = []
        for peer in self._peer_list:
            if peer is self.me or not peer.link or peer.flags & HANDSHAKE:
                continue
            if only_local_replicas and not (
                peer.flags & SLAVE and peer.master is not None and peer.master in (self.name, mine)
            ):
                continue
            targets.append(peer)
        return targets

    def broadcast(self, message: Message) -> None:
        """``clusterBroadcastMessage``: the same packet to every node I have a link to."""
        for peer in self._linked_peers():
            self._send(peer.name, message)

    def broadcast_pong(self, only_local_replicas: bool = False) -> None:
        """``clusterBroadcastPong`` (each copy carries its own random gossip section)."""
        for peer in self._linked_peers(only_local_replicas):
            self._send(peer.name, self._header(MsgType.PONG, gossip=self._gossip()))

    # ------------------------------------------------------------------ cron

    def start(self) -> None:
        """Schedule my 100 ms cron at my own phase."""
        now = self.cluster.engine.now
        nxt = now - (now % CRON_PERIOD_MS) + self.phase
        if nxt <= now:
            nxt += CRON_PERIOD_MS
        self.cron_timer = self.cluster.engine.schedule_at(nxt, self.cron)

    def stop_timers(self) -> None:
        self.cluster.engine.cancel(self.cron_timer)
        self.cron_timer = None

    def cron(self) -> None:
        """``clusterCron``, every 100 ms (§6)."""
        engine = self.cluster.engine
        now = engine.now
        self.cron_timer = engine.schedule_at(now + CRON_PERIOD_MS, self.cron)
        nt = self.config.node_timeout
        self.iteration += 1
        update_state = False
        me = self.me
        peers = self._peer_list

        # Step 1: links, handshake expiry, PFAIL count.
        pfail_nodes = 0
        expired: list[PeerView] = []
        refused: list[PeerView] = []
        for peer in peers:
            flags = peer.flags
            if peer is me or flags & NOADDR:
                continue
            if flags & PFAIL:
                pfail_nodes += 1
            if flags & HANDSHAKE and now - peer.ctime > max(nt, 1000):
                expired.append(peer)
                continue
            if not peer.link and self._connect(peer, now):
                refused.append(peer)
        self.stats_pfail_nodes = pfail_nodes
        for peer in expired:
            self.remove_peer(peer.name)
            self._emit("handshake_timeout", peer.name)

        # Step 2: a random ping once a second, to the oldest pong of 5 random samples.
        if self.iteration % 10 == 0:
            oldest: PeerView | None = None
            random = self.rng.random
            total = len(peers)
            for _ in range(5):
                peer = peers[int(random() * total)]
                if not peer.link or peer.ping_sent != 0 or peer is me or peer.flags & HANDSHAKE:
                    continue
                if oldest is None or peer.pong_received < oldest.pong_received:
                    oldest = peer
            if oldest is not None:
                self.send_ping(oldest)

        # Step 3: per-node checks.
        i_am_replica = bool(me.flags & SLAVE)
        orphaned_masters = 0
        max_slaves = 0
        this_slaves = 0
        half = nt // 2
        mf_slave = self.mf_slave if (self.mf_end and me.flags & MASTER) else None
        for peer in peers:
            flags = peer.flags
            if peer is me or flags & (NOADDR | HANDSHAKE):
                continue
            if i_am_replica and flags & MASTER and not flags & FAIL:
                ok = self._count_ok_replicas(peer)
                if ok == 0 and flags & MIGRATE_TO and self.slot_counts.get(peer.index, 0) > 0:
                    orphaned_masters += 1
                if ok > max_slaves:
                    max_slaves = ok
                if me.master == peer.name:
                    this_slaves = ok
            ping_sent = peer.ping_sent
            if peer.link:
                # Link refresh: a link that is not answering is freed and reconnected.
                if (
                    ping_sent
                    and now - peer.link_ctime > nt
                    and now - ping_sent > half
                    and now - peer.data_received > half
                ):
                    peer.link = False
                elif (ping_sent == 0 and now - peer.pong_received > half) or mf_slave == peer.name:
                    self.send_ping(peer)
                    continue
            if ping_sent == 0:
                continue
            delay = min(now - ping_sent, now - peer.data_received)
            if delay > nt and not flags & (PFAIL | FAIL):
                peer.flags |= PFAIL
                update_state = True
                self._emit("pfail", peer.name, delay_ms=delay)

        for peer in refused:
            peer.link = False  # the connect to a dead process failed

        # Step 4: a replica whose replication is down reconnects to its master.
        if i_am_replica and not self.repl_link_up:
            self.cluster.replication_connect(self)

        # Steps 5-6: manual failover timeout, failover, replica migration.
        if self.mf_end:
            self._manual_failover_check_timeout(now)
        if i_am_replica:
            self._handle_manual_failover()
            self._handle_slave_failover()
            if (
                orphaned_masters
                and max_slaves >= 2
                and this_slaves == max_slaves
                and self.config.get("cluster-allow-replica-migration")
            ):
                self._handle_slave_migration(max_slaves)
        else:
            # replicationCron: PING replicas every repl-ping-replica-period (§20.1).
            self.cluster.replication_cron(self)

        if update_state or self.state == "fail":
            self.update_state()
        if self._todo_failover or self._todo_state:
            self._before_sleep()

    def _connect(self, peer: PeerView, now: int) -> bool:
        """Open my outbound link to ``peer`` (``clusterNodeCronHandleReconnect``).

        The connect is non-blocking: the link exists at once, and the PING (or MEET)
        goes out when the connection completes (``clusterLinkConnectHandler``). To a
        crashed process on loopback the connect fails asynchronously a moment later,
        so the link lives only for the rest of this cron tick; a periodic ping may
        still be queued on it, which is what lets failure detection run. Returns
        whether the link must be dropped at the end of the tick.
        """
        outcome = self.cluster.connect(self.name, peer.name)
        peer.link = True
        peer.link_ctime = now
        if outcome != "ok":
            return outcome == "refused"
        old_ping_sent = peer.ping_sent
        self.send_ping(peer, MsgType.MEET if peer.flags & MEET else MsgType.PING)
        if old_ping_sent:
            peer.ping_sent = old_ping_sent
        peer.flags &= ~MEET
        return False

    # ------------------------------------------------------------------ messages in

    def receive(self, msg: Message) -> None:
        """``clusterProcessPacket`` (§4.2, §10.1)."""
        self.received[msg.type] += 1
        now = self.cluster.engine.now
        sender = self.peers.get(msg.sender)
        if (
            sender is not None
            and sender.flags & HANDSHAKE
            and msg.type
            not in (
                MsgType.PING,
                MsgType.PONG,
                MsgType.MEET,
            )
        ):
            sender = None
        if sender is not None:
            sender.data_received = now
            if not sender.flags & HANDSHAKE:
                if msg.current_epoch > self.current_epoch:
                    self.current_epoch = msg.current_epoch
                if msg.config_epoch > sender.config_epoch:
                    sender.config_epoch = msg.config_epoch
                sender.repl_offset = msg.offset
                sender.repl_offset_time = now
                if (
                    self.mf_end
                    and self.me.flags & SLAVE
                    and self.me.master == msg.sender
                    and msg.mflags & MF_PAUSED
                    and self.mf_master_offset == -1
                ):
                    self.mf_master_offset = msg.offset
                    self._handle_manual_failover()

        mtype = msg.type
        if mtype in (MsgType.PING, MsgType.PONG, MsgType.MEET):
            self._process_heartbeat(msg, sender, now)
        elif mtype == MsgType.FAIL:
            if sender is not None and msg.about is not None:
                failing = self.peers.get(msg.about)
                if failing is not None and not failing.flags & (FAIL | MYSELF):
                    failing.flags = (failing.flags | FAIL) & ~PFAIL
                    failing.fail_time = now
                    self._todo_state = True
                    self._emit("fail", failing.name, via="message", sender=msg.sender)
        elif mtype == MsgType.AUTH_REQUEST:
            if sender is not None:
                self._send_failover_auth_if_needed(sender, msg, now)
        elif mtype == MsgType.AUTH_ACK:
            if sender is not None and sender.flags & MASTER and self.numslots(sender) > 0:
                if msg.current_epoch >= self.failover_auth_epoch:
                    self.failover_auth_count += 1
                    self._todo_failover = True
        elif mtype == MsgType.UPDATE:
            self._process_update(msg, sender)
        elif mtype == MsgType.MFSTART:
            self._process_mfstart(sender, now)
        elif mtype in (MsgType.PUBLISH, MsgType.PUBLISHSHARD):
            if sender is not None:
                self.cluster.on_publish_message(self, msg)
        self._before_sleep()

    def _process_heartbeat(self, msg: Message, sender: PeerView | None, now: int) -> None:
        """The PING/PONG/MEET part of ``clusterProcessPacket`` (§10.1)."""
        mtype = msg.type
        if sender is None and mtype == MsgType.MEET:
            sender = self._add_handshake_peer(msg.sender)
            self._process_gossip(msg, None, now)
        if mtype in (MsgType.PING, MsgType.MEET):
            # The PONG travels back on the connection the PING came in on (unknown senders too).
            self.sent[MsgType.PONG] += 1
            reply = self._header(MsgType.PONG, gossip=self._gossip(), reply=True)
            self.cluster.transmit(self.name, msg.sender, reply)
        if sender is None:
            return
        if sender.flags & HANDSHAKE:
            if not (mtype == MsgType.PONG and msg.reply):
                return
            # Handshake completed on my outbound link: learn the role from the header.
            sender.flags &= ~HANDSHAKE
            sender.flags |= MASTER if msg.master is None else SLAVE
            self._emit("handshake_done", sender.name)
        sender.flags = (sender.flags & ~NOFAILOVER) | (msg.flags & NOFAILOVER)
        if mtype == MsgType.PONG and msg.reply:
            sender.pong_received = now
            sender.ping_sent = 0
            if sender.flags & PFAIL:
                sender.flags &= ~PFAIL
                self._todo_state = True
                self._emit("pfail_cleared", sender.name)
            elif sender.flags & FAIL:
                self._clear_node_failure_if_needed(sender, now)

        # Role switch (step 6).
        if msg.master is None:
            self._set_node_as_master(sender)
        else:
            master = self.peers.get(msg.master)
            if sender.flags & MASTER:
                for slot in self.slots.slots_of(sender.index):
                    self._set_slot(slot, NO_OWNER)
                sender.flags = (sender.flags & ~(MASTER | MIGRATE_TO)) | SLAVE
                self._todo_state = True
            if master is not None and sender.master != master.name:
                if sender.master is not None and sender.master in self.peers:
                    self._remove_replica(self.peers[sender.master], sender.name)
                self._add_replica(master, sender.name)
                sender.master = master.name

        # Slot configuration (steps 7-9).
        sender_master: PeerView | None = (
            sender if sender.flags & MASTER else self.peers.get(sender.master or "")
        )
        dirty = (
            sender_master is not None
            and self._fingerprint.get(sender_master.index, 0) != msg.claim_fp
        )
        if dirty and sender.flags & MASTER:
            self.update_slots_config_with(sender, msg.config_epoch, msg.slots)
        if dirty:
            slots = self.slots
            index = sender.index
            claim = msg.slots
            for slot in self._claim_diff(index, claim):
                if not claim >> slot & 1:
                    continue
                owner = slots[slot]
                if owner == index or owner == NO_OWNER or self.owner_not_claiming[slot]:
                    continue
                owner_view = self.peers[self.cluster.names[owner]]
                if owner_view.config_epoch > msg.config_epoch:
                    self._send_update(sender, owner_view)
                    break

        # Step 10: configEpoch collision.
        if (
            self.me.flags & MASTER
            and sender.flags & MASTER
            and msg.config_epoch == self.me.config_epoch
        ):
            self._handle_config_epoch_collision(sender)

        # Step 11: gossip.
        self._process_gossip(msg, sender, now)

    def _add_handshake_peer(self, name: str) -> PeerView:
        """A MEET from an unknown node adds it in HANDSHAKE (§5.3).

        Simplification: the entry carries the node's real name from the start (Redis
        uses a random temporary ID until the handshake completes).
        """
        peer = PeerView(name, self.cluster.nodes[name].id, self.cluster.index[name], HANDSHAKE)
        self.add_peer(peer)
        return peer

    def _set_node_as_master(self, peer: PeerView) -> None:
        """``clusterSetNodeAsMaster``."""
        if peer.flags & MASTER:
            return
        if peer.master is not None:
            if peer.master in self.peers:
                self._remove_replica(self.peers[peer.master], peer.name)
            if peer is not self.me:
                peer.flags |= MIGRATE_TO
        peer.flags = (peer.flags & ~SLAVE) | MASTER
        peer.master = None
        self._todo_state = True

    def _add_replica(self, master: PeerView, name: str) -> None:
        """``clusterNodeAddSlave``: a master that gains a replica becomes a migration target."""
        if name not in master.replicas:
            master.replicas.append(name)
        master.flags |= MIGRATE_TO

    def _remove_replica(self, master: PeerView, name: str) -> None:
        """``clusterNodeRemoveSlave``."""
        if name in master.replicas:
            master.replicas.remove(name)
        if not master.replicas:
            master.flags &= ~MIGRATE_TO

    def _count_ok_replicas(self, master: PeerView) -> int:
        """``clusterCountNonFailingSlaves``."""
        count = 0
        for name in master.replicas:
            peer = self.peers.get(name)
            if peer is not None and not peer.flags & FAIL:
                count += 1
        return count

    # ------------------------------------------------------------------ gossip and failure detection

    def _process_gossip(self, msg: Message, sender: PeerView | None, now: int) -> None:
        """``clusterProcessGossipSection`` (§7.3)."""
        sender_is_master = sender is not None and bool(sender.flags & MASTER)
        for entry in msg.gossip:
            node = self.peers.get(entry.name)
            if node is not None:
                if sender_is_master and node is not self.me:
                    assert sender is not None
                    if entry.flags & (FAIL | PFAIL):
                        node.fail_reports[sender.name] = now
                        self._mark_node_as_failing_if_needed(node, now)
                    else:
                        node.fail_reports.pop(sender.name, None)
                if (
                    not entry.flags & (PFAIL | FAIL)
                    and node.ping_sent == 0
                    and not self._count_reports(node, now)
                ):
                    pong = entry.pong_received_s * 1000
                    if pong <= now + 500 and pong > node.pong_received:
                        node.pong_received = pong
            elif (
                sender is not None and not entry.flags & NOADDR and entry.name in self.cluster.nodes
            ):
                if self.cluster.is_blacklisted(self, entry.name):
                    continue
                # Transitive discovery (§5.6): add it directly, flags from gossip.
                flags = entry.flags & ~(MYSELF | PFAIL | FAIL | HANDSHAKE)
                peer = PeerView(
                    entry.name,
                    self.cluster.nodes[entry.name].id,
                    self.cluster.index[entry.name],
                    flags,
                )
                self.add_peer(peer)
                self._emit("node_discovered", entry.name, via=msg.sender)

    def _count_reports(self, node: PeerView, now: int) -> int:
        """``clusterNodeFailureReportsCount``, purging reports older than 2·NT (§8.2)."""
        if not node.fail_reports:
            return 0
        maxtime = self.config.node_timeout * FAIL_REPORT_VALIDITY_MULT
        expired = [name for name, t in node.fail_reports.items() if now - t > maxtime]
        for name in expired:
            del node.fail_reports[name]
        return len(node.fail_reports)

    def quorum(self) -> int:
        """``size/2 + 1`` with size = masters serving slots in my view (as of the last state update)."""
        return self.size // 2 + 1

    def _mark_node_as_failing_if_needed(self, node: PeerView, now: int) -> None:
        """``markNodeAsFailingIfNeeded`` (§8.3): PFAIL → FAIL on a quorum of master reports."""
        if not node.flags & PFAIL or node.flags & FAIL:
            return
        failures = self._count_reports(node, now)
        if self.me.flags & MASTER:
            failures += 1
        needed = self.quorum()
        if failures < needed:
            return
        node.flags = (node.flags & ~PFAIL) | FAIL
        node.fail_time = now
        self._emit("fail", node.name, via="quorum", reports=failures, quorum=needed)
        self.broadcast(self._header(MsgType.FAIL, about=node.name))
        self._todo_state = True

    def _clear_node_failure_if_needed(self, node: PeerView, now: int) -> None:
        """``clearNodeFailureIfNeeded`` (§8.5)."""
        if node.flags & SLAVE or self.numslots(node) == 0:
            node.flags &= ~FAIL
            self._todo_state = True
            self._emit(
                "fail_cleared", node.name, reason="no slots" if node.flags & MASTER else "replica"
            )
            return
        if (
            node.flags & MASTER
            and now - node.fail_time > self.config.node_timeout * FAIL_UNDO_TIME_MULT
        ):
            node.flags &= ~FAIL
            self._todo_state = True
            self._emit("fail_cleared", node.name, reason="master reachable after 2*NT")

    # ------------------------------------------------------------------ slot configuration

    def update_slots_config_with(self, sender: PeerView, epoch: int, claimed: int) -> None:
        """``clusterUpdateSlotsConfigWith`` (§10.2): higher configEpoch wins each slot."""
        if sender is self.me:
            return
        curmaster = self.me if self.me.flags & MASTER else self.peers.get(self.me.master or "")
        new_master: PeerView | None = None
        dirty_slots: list[int] = []
        sender_slots = claimed.bit_count()
        migrated_ours = 0
        slots = self.slots
        index = sender.index
        not_claiming = self.owner_not_claiming
        if not_claiming.find(1) != -1:
            # Claimed again: a slot bound to the sender stops being "unclaimed".
            for slot in bytes_to_slots(not_claiming):
                if claimed >> slot & 1 and slots[slot] == index:
                    not_claiming[slot] = 0
        # Only slots where the claim and my binding to the sender differ can change.
        for slot in self._claim_diff(index, claimed):
            owner = slots[slot]
            if claimed >> slot & 1:
                if slot in self.importing:
                    continue
                if (
                    owner == NO_OWNER
                    or not_claiming[slot]
                    or self.peers[self.cluster.names[owner]].config_epoch < epoch
                ):
                    if owner == self.index and self.cluster.count_keys_in_slot(self, slot):
                        dirty_slots.append(slot)
                    if curmaster is not None and owner == curmaster.index:
                        new_master = sender
                        migrated_ours += 1
                    self._set_slot(slot, index)
                    not_claiming[slot] = 0
                    self._todo_state = True
            else:  # bound to the sender, which no longer claims it
                not_claiming[slot] = 1
        if (
            new_master is not None
            and curmaster is not None
            and self.numslots(curmaster) == 0
            and (
                self.config.get("cluster-allow-replica-migration") or sender_slots == migrated_ours
            )
        ):
            self.set_master(sender.name, reason="config change")
        elif (
            self.me.master is not None
            and self.me.master in self.peers
            and self.peers[self.me.master].master is not None
            and self.peers[self.me.master].master != self.name
        ):
            grand = self.peers[self.me.master].master
            assert grand is not None
            self.set_master(grand, reason="sub-replica")
        elif dirty_slots:
            self.cluster.delete_keys_in_slots(self, dirty_slots)

    def _send_update(self, to: PeerView, about: PeerView) -> None:
        """``clusterSendUpdate``: tell a stale node about a newer claim (§10.3)."""
        if not to.link:
            return
        claimed = self.slot_bits(about.index)
        if self.owner_not_claiming.find(1) != -1:
            for slot in bytes_to_slots(self.owner_not_claiming):
                claimed &= ~(1 << slot)  # UPDATE does not advertise unclaimed slots
        message = self._header(
            MsgType.UPDATE,
            about=about.name,
            about_epoch=about.config_epoch,
            about_slots=claimed,
        )
        self._emit("update_sent", to.name, about=about.name, epoch=about.config_epoch)
        self._send(to.name, message)

    def _process_update(self, msg: Message, sender: PeerView | None) -> None:
        """UPDATE receiver (§10.3)."""
        if sender is None or msg.about is None or msg.about_slots is None:
            return
        subject = self.peers.get(msg.about)
        if subject is None or subject.config_epoch >= msg.about_epoch:
            return
        if subject.flags & SLAVE:
            self._set_node_as_master(subject)
        subject.config_epoch = msg.about_epoch
        self._emit("update_received", msg.about, sender=msg.sender, epoch=msg.about_epoch)
        self.update_slots_config_with(subject, msg.about_epoch, msg.about_slots)

    def _handle_config_epoch_collision(self, sender: PeerView) -> None:
        """``clusterHandleConfigEpochCollision`` (§9.2): the smaller ID bumps."""
        if sender.config_epoch != self.me.config_epoch:
            return
        if sender.id <= self.id:
            return
        self.current_epoch += 1
        self.me.config_epoch = self.current_epoch
        self._emit("epoch_collision", sender.name, epoch=self.me.config_epoch)

    def bump_epoch_without_consensus(self) -> bool:
        """``clusterBumpConfigEpochWithoutConsensus`` (§9.2). Returns whether it bumped."""
        max_epoch = max([self.current_epoch, *(p.config_epoch for p in self._peer_list)])
        if self.me.config_epoch == 0 or self.me.config_epoch != max_epoch:
            self.current_epoch += 1
            self.me.config_epoch = self.current_epoch
            self._emit("epoch_bumped", epoch=self.me.config_epoch)
            return True
        return False

    def set_master(self, master_name: str, reason: str) -> None:
        """``clusterSetMaster``: become a replica of ``master_name``."""
        me = self.me
        if me.flags & MASTER:
            me.flags = (me.flags & ~(MASTER | MIGRATE_TO)) | SLAVE
            self.migrating.clear()
            self.importing.clear()
        elif me.master is not None and me.master in self.peers:
            self._remove_replica(self.peers[me.master], self.name)
        me.master = master_name
        self._add_replica(self.peers[master_name], self.name)
        self._reset_manual_failover()
        self._todo_state = True
        self._emit("role", role="replica", master=master_name, reason=reason)
        self.cluster.replication_set_master(self, master_name)

    # ------------------------------------------------------------------ cluster state

    def update_state(self) -> None:
        """``clusterUpdateState`` (§14)."""
        now = self.cluster.engine.now
        if self.first_call_time == 0:
            self.first_call_time = now or 1
        if (
            self.me.flags & MASTER
            and self.state == "fail"
            and now - self.first_call_time < WRITABLE_DELAY_MS
        ):
            return
        new_state = "ok"
        counts = self.slot_counts
        full_coverage = self.config.get("cluster-require-full-coverage")
        if full_coverage and sum(counts.values()) < CLUSTER_SLOTS:
            new_state = "fail"  # an unbound slot
        size = 0
        reachable = 0
        for peer in self._peer_list:
            if not counts.get(peer.index, 0):
                continue
            if full_coverage and peer.flags & FAIL:
                new_state = "fail"  # a slot whose owner is FAIL
            if peer.flags & MASTER:
                size += 1
                if not peer.flags & (FAIL | PFAIL):
                    reachable += 1
        self.size = size
        if reachable < size // 2 + 1:
            new_state = "fail"
            self.among_minority_time = now
        if new_state != self.state:
            rejoin = min(max(self.config.node_timeout, MIN_REJOIN_DELAY_MS), MAX_REJOIN_DELAY_MS)
            if (
                new_state == "ok"
                and self.me.flags & MASTER
                and now - self.among_minority_time < rejoin
            ):
                return
            self.state = new_state
            self._emit("cluster_state", state=new_state)

    def _before_sleep(self) -> None:
        """``clusterBeforeSleep``: work flagged so far runs now; work it flags waits for the next wake."""
        todo_failover, todo_state = self._todo_failover, self._todo_state
        self._todo_failover = self._todo_state = False
        if todo_failover and self.me.flags & SLAVE:
            self._handle_slave_failover()
        if todo_state:
            self.update_state()

    def wake(self) -> None:
        """One event-loop iteration without a bus packet (a client command, a poll)."""
        if self._todo_failover or self._todo_state:
            self._before_sleep()

    # ------------------------------------------------------------------ elections

    def _reset_election(self) -> None:
        self.failover_auth_time = -(10**12)
        self.failover_auth_count = 0
        self.failover_auth_sent = False
        self.failover_auth_rank = 0
        self.failover_auth_epoch = 0
        self.cant_failover_reason = ""

    def slave_rank(self) -> int:
        """``clusterGetSlaveRank``: siblings whose advertised offset beats my processed one."""
        if self.me.master is None or self.me.master not in self.peers:
            return 0
        rank = 0
        for name in self.peers[self.me.master].replicas:
            if name == self.name:
                continue
            peer = self.peers.get(name)
            if peer is None or peer.flags & NOFAILOVER:
                continue
            if peer.repl_offset > self.repl_offset:
                rank += 1
        return rank

    def _data_age(self, now: int) -> int:
        """Replication data age in ms, with second granularity (§11.2)."""
        if self.repl_link_up:
            age = (now // 1000 - self.repl_last_interaction // 1000) * 1000
        else:
            age = (now // 1000 - self.repl_down_since // 1000) * 1000
        nt = self.config.node_timeout
        if age > nt:
            age -= nt
        return age

    def _handle_slave_failover(self) -> None:
        """``clusterHandleSlaveFailover`` (§11)."""
        master = self.peers.get(self.me.master or "")
        if master is None or not (master.flags & FAIL or (self.mf_end and self.mf_can_start)):
            self.cant_failover_reason = ""
            return
        now = self.cluster.engine.now
        nt = self.config.node_timeout
        auth_age = now - self.failover_auth_time
        manual = bool(self.mf_end) and self.mf_can_start
        auth_timeout = max(nt * 2, 2000)
        auth_retry = auth_timeout * 2
        if (
            self.me.flags & MASTER
            or master is None
            or (not master.flags & FAIL and not manual)
            or (self.config.get("cluster-replica-no-failover") and not manual)
            or self.numslots(master) == 0
        ):
            self.cant_failover_reason = ""
            return
        validity = self.config.get("cluster-replica-validity-factor")
        data_age = self._data_age(now)
        limit = self.config.get("repl-ping-replica-period") * 1000 + nt * validity
        if validity and data_age > limit and not manual:
            if self.cant_failover_reason != "data_age":
                self.cant_failover_reason = "data_age"
                self._emit("cant_failover", master.name, reason="data_age", data_age_ms=data_age)
            return

        if auth_age > auth_retry:
            delay = 500 + self.rng.randrange(500)
            self.failover_auth_count = 0
            self.failover_auth_sent = False
            self.failover_auth_rank = self.slave_rank()
            delay += self.failover_auth_rank * 1000
            if self.mf_end:
                delay = 0
                self.failover_auth_rank = 0
                self._todo_failover = True
            self.failover_auth_time = now + delay
            self._emit(
                "election_scheduled",
                master.name,
                rank=self.failover_auth_rank,
                delay_ms=delay,
                offset=self.repl_offset,
                manual=bool(self.mf_end),
            )
            self.broadcast_pong(only_local_replicas=True)
            return

        if not self.failover_auth_sent and not self.mf_end:
            rank = self.slave_rank()
            if rank > self.failover_auth_rank:
                added = (rank - self.failover_auth_rank) * 1000
                self.failover_auth_time += added
                self.failover_auth_rank = rank
                self._emit("election_delayed", master.name, rank=rank, added_ms=added)

        if now < self.failover_auth_time:
            self.cant_failover_reason = "waiting_delay"
            return
        if auth_age > auth_timeout:
            if self.cant_failover_reason != "expired":
                self.cant_failover_reason = "expired"
                self._emit("election_expired", master.name, epoch=self.failover_auth_epoch)
            return

        if not self.failover_auth_sent:
            self.current_epoch += 1
            self.failover_auth_epoch = self.current_epoch
            self.failover_auth_sent = True
            self._emit(
                "election_started",
                master.name,
                epoch=self.failover_auth_epoch,
                quorum=self.quorum(),
                manual=bool(self.mf_end),
            )
            mflags = MF_FORCEACK if self.mf_end else 0
            self.broadcast(self._header(MsgType.AUTH_REQUEST, mflags=mflags))
            self._todo_state = True
            return

        if self.failover_auth_count >= self.quorum():
            if self.me.config_epoch < self.failover_auth_epoch:
                self.me.config_epoch = self.failover_auth_epoch
            self.failover_replace_your_master()
        else:
            self.cant_failover_reason = "waiting_votes"

    def _send_failover_auth_if_needed(self, requester: PeerView, msg: Message, now: int) -> None:
        """``clusterSendFailoverAuthIfNeeded`` (§11.4): a master decides whether to vote."""
        if self.me.flags & SLAVE or self.numslots(self.me) == 0:
            return
        master = self.peers.get(requester.master or "") if requester.flags & SLAVE else None

        def deny(reason: str) -> None:
            self._emit("vote_denied", requester.name, epoch=msg.current_epoch, reason=reason)

        if msg.current_epoch < self.current_epoch:
            deny("request epoch is older than mine")
            return
        if self.last_vote_epoch == self.current_epoch:
            deny(f"already voted for epoch {self.current_epoch}")
            return
        force_ack = bool(msg.mflags & MF_FORCEACK)
        if (
            requester.flags & MASTER
            or master is None
            or (not master.flags & FAIL and not force_ack)
        ):
            if requester.flags & MASTER:
                deny("requester is a master")
            elif master is None:
                deny("requester's master is unknown")
            else:
                deny("its master is not failing")
            return
        if now - master.voted_time < self.config.node_timeout * 2:
            deny(f"voted for a replica of {master.name} less than 2*NT ago")
            return
        slots = self.slots
        for slot in bits_to_slots(msg.slots):
            owner = slots[slot]
            if owner == NO_OWNER or self.owner_not_claiming[slot]:
                continue
            owner_view = self.peers[self.cluster.names[owner]]
            if owner_view.config_epoch <= msg.config_epoch:
                continue
            deny(f"slot {slot} has a newer configEpoch ({owner_view.config_epoch})")
            return
        self.last_vote_epoch = self.current_epoch
        master.voted_time = now
        self._emit("vote", requester.name, epoch=self.current_epoch, master=master.name)
        self._send(requester.name, self._header(MsgType.AUTH_ACK))

    def failover_replace_your_master(self) -> None:
        """``clusterFailoverReplaceYourMaster`` (§11.5)."""
        old = self.me.master
        if self.me.flags & MASTER or old is None or old not in self.peers:
            return
        old_view = self.peers[old]
        self._set_node_as_master(self.me)
        for slot in self.slots.slots_of(old_view.index):
            self._set_slot(slot, self.index)
            self.owner_not_claiming[slot] = 0
        self._emit("promoted", old, epoch=self.me.config_epoch)
        self._emit("role", role="master", master=None, reason="failover")
        self.cluster.replication_unset_master(self, old)
        self.update_state()
        self.broadcast_pong()
        self._reset_manual_failover()

    # ------------------------------------------------------------------ manual failover

    def _reset_mf_fields(self) -> None:
        self.mf_end = 0
        self.mf_slave = None
        self.mf_master_offset = -1
        self.mf_can_start = False

    def _reset_manual_failover(self) -> None:
        """``resetManualFailover``: a master that paused writes for it unpauses them."""
        if self.mf_slave is not None:
            self.writes_paused_until = 0
        self._reset_mf_fields()

    def _manual_failover_check_timeout(self, now: int) -> None:
        """``manualFailoverCheckTimeout``."""
        if self.mf_end and self.mf_end < now:
            self._emit("mf_timeout")
            self._reset_manual_failover()

    def _handle_manual_failover(self) -> None:
        """``clusterHandleManualFailover``: start once my offset reached the paused master's."""
        if not self.mf_end or self.mf_can_start or self.mf_master_offset == -1:
            return
        if self.mf_master_offset == self.repl_offset:
            self.mf_can_start = True
            self._emit("mf_ready", offset=self.repl_offset)
            self._todo_failover = True

    def _process_mfstart(self, sender: PeerView | None, now: int) -> None:
        """MFSTART on a master: pause writes for 2×5 s and ping the replica every tick (§12)."""
        if sender is None or sender.master != self.name:
            return
        self._reset_manual_failover()
        self.mf_end = now + MF_TIMEOUT_MS
        self.mf_slave = sender.name
        self.writes_paused_until = now + MF_TIMEOUT_MS * MF_PAUSE_MULT
        self._emit("mf_paused", sender.name, until=self.writes_paused_until)
        self.send_ping(sender)

    def cluster_failover(self, mode: str) -> str:
        """``CLUSTER FAILOVER [FORCE|TAKEOVER]`` sent to this node; returns the reply (§12)."""
        if self.me.flags & MASTER:
            return "ERR You should send CLUSTER FAILOVER to a replica"
        master = self.peers.get(self.me.master or "")
        if master is None:
            return "ERR I'm a replica but my master is unknown to me"
        if mode == "default" and (master.flags & FAIL or not master.link):
            return "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"
        now = self.cluster.engine.now
        self._reset_manual_failover()
        self.mf_end = now + MF_TIMEOUT_MS
        self._emit("failover_requested", master.name, mode=mode)
        if mode == "takeover":
            self.bump_epoch_without_consensus()
            self.failover_replace_your_master()
        elif mode == "force":
            self.mf_can_start = True
        else:
            self._send(master.name, self._header(MsgType.MFSTART))
        self._before_sleep()
        return "OK"

    # ------------------------------------------------------------------ replica migration

    def _handle_slave_migration(self, max_slaves: int) -> None:
        """``clusterHandleSlaveMigration`` (§13)."""
        if self.state != "ok":
            return
        my_master = self.peers.get(self.me.master or "")
        if my_master is None:
            return
        ok = 0
        for name in my_master.replicas:
            peer = self.peers.get(name)
            if peer is not None and not peer.flags & (FAIL | PFAIL):
                ok += 1
        if ok <= self.config.get("cluster-migration-barrier"):
            return
        now = self.cluster.engine.now
        candidate = self.me
        target: PeerView | None = None
        for peer in self._peer_list:
            okslaves = 0
            orphaned = (
                bool(peer.flags & MASTER)
                and not peer.flags & FAIL
                and bool(peer.flags & MIGRATE_TO)
            )
            if peer.flags & MASTER:
                okslaves = self._count_ok_replicas(peer)
            if okslaves > 0:
                orphaned = False
            if orphaned:
                if target is None and self.numslots(peer) > 0:
                    target = peer
                if not peer.orphaned_time:
                    peer.orphaned_time = now
            else:
                peer.orphaned_time = 0
            if peer.flags & MASTER and okslaves == max_slaves:
                for name in peer.replicas:
                    replica = self.peers.get(name)
                    if replica is not None and replica.id < candidate.id:
                        candidate = replica
        if (
            target is not None
            and candidate is self.me
            and now - target.orphaned_time > SLAVE_MIGRATION_DELAY_MS
        ):
            self._emit("migration", target.name, previous_master=my_master.name)
            self.set_master(target.name, reason="replica migration")

    # ------------------------------------------------------------------ operator commands

    def meet(self, other: str) -> None:
        """``CLUSTER MEET``: add ``other`` in HANDSHAKE|MEET; my cron sends it a MEET (§5)."""
        if other in self.peers:
            return
        peer = PeerView(
            other, self.cluster.nodes[other].id, self.cluster.index[other], HANDSHAKE | MEET
        )
        self.add_peer(peer)

    def forget(self, other: str) -> str:
        """``CLUSTER FORGET``."""
        if other == self.name:
            return "ERR I tried hard but I can't forget myself..."
        if other == self.me.master:
            return "ERR Can't forget my master!"
        if other not in self.peers:
            return f"ERR Unknown node {other}"
        self.remove_peer(other)
        self.cluster.blacklist(self, other)
        self._todo_state = True
        self._before_sleep()
        return "OK"

    def replicate(self, master: str) -> str:
        """``CLUSTER REPLICATE``."""
        peer = self.peers.get(master)
        if peer is None:
            return f"ERR Unknown node {master}"
        if peer is self.me:
            return "ERR Can't replicate myself"
        if not peer.flags & MASTER:
            return "ERR I can only replicate a master, not a replica."
        if self.me.flags & MASTER and (self.numslots(self.me) or self.cluster.count_keys(self)):
            return "ERR To set a master the node must be empty and without assigned slots."
        self.set_master(master, reason="CLUSTER REPLICATE")
        self._before_sleep()
        return "OK"

    # ------------------------------------------------------------------ slot commands (redis-cli)

    def cluster_setslot(self, slot: int, subcommand: str, peer: str = "") -> str:
        """``CLUSTER SETSLOT slot IMPORTING|MIGRATING|STABLE|NODE [node]`` (§16.1); the reply.

        Node names stand in for IDs. SETSLOT NODE on the importing target bumps my
        configEpoch without consensus and broadcasts a PONG; none of the others talks
        to other nodes.
        """
        if self.me.flags & SLAVE:
            return "ERR Please use SETSLOT only with masters."
        if not 0 <= slot < CLUSTER_SLOTS:
            return "ERR Invalid or out of range slot"
        sub = subcommand.upper()
        target = self.peers.get(peer) if peer else None
        mine = self.slots[slot] == self.index
        if sub == "MIGRATING":
            if not mine:
                return f"ERR I'm not the owner of hash slot {slot}"
            if target is None:
                return f"ERR I don't know about node {peer}"
            if target.flags & SLAVE:
                return "ERR Target node is not a master"
            self.migrating[slot] = peer
        elif sub == "IMPORTING":
            if mine:
                return f"ERR I'm already the owner of hash slot {slot}"
            if target is None:
                return f"ERR I don't know about node {peer}"
            if target.flags & SLAVE:
                return "ERR Target node is not a master"
            self.importing[slot] = peer
        elif sub == "STABLE":
            self.migrating.pop(slot, None)
            self.importing.pop(slot, None)
        elif sub == "NODE":
            if target is None:
                return f"ERR Unknown node {peer}"
            if target.flags & SLAVE:
                return "ERR Target node is not a master"
            keys = self.cluster.count_keys_in_slot(self, slot)
            if mine and target is not self.me and keys:
                return (
                    f"ERR Can't assign hashslot {slot} to a different node while I still "
                    "hold keys for this hash slot."
                )
            if keys == 0:
                self.migrating.pop(slot, None)
            self._set_slot(slot, target.index)
            self.owner_not_claiming[slot] = 0
            if (
                mine
                and target is not self.me
                and self.numslots(self.me) == 0
                and self.config.get("cluster-allow-replica-migration")
            ):
                self.set_master(peer, reason="lost my last slot (SETSLOT NODE)")
            if target is self.me and slot in self.importing:
                self.bump_epoch_without_consensus()
                del self.importing[slot]
                self.broadcast_pong()
        else:
            return "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
        self._todo_state = True
        self._before_sleep()
        return "OK"

    def verify_config_with_data(self, slots_with_keys: Iterable[int]) -> list[tuple[int, str]]:
        """``verifyClusterConfigWithData`` at start-up (§16.1, §21.3): a master that loaded
        keys in a slot it neither owns nor imports claims the slot if it is unassigned,
        and otherwise marks it importing from its owner. A replica skips the check (it
        depends on the replication stream). Returns ``(slot, "claimed" | "importing")``."""
        if not self.is_master:
            return []
        changes: list[tuple[int, str]] = []
        for slot in sorted(set(slots_with_keys)):
            owner = self.slots[slot]
            if owner == self.index or slot in self.importing:
                continue
            if owner == NO_OWNER:
                self._set_slot(slot, self.index)
                self.owner_not_claiming[slot] = 0
                changes.append((slot, "claimed"))
            else:
                self.importing[slot] = self.cluster.names[owner]
                changes.append((slot, "importing"))
        if changes:
            self._todo_state = True
        return changes

    def cluster_addslots(self, slots: list[int]) -> str:
        """``CLUSTER ADDSLOTS``: bind unassigned slots to me (no epoch change, §18.5)."""
        for slot in slots:
            if not 0 <= slot < CLUSTER_SLOTS:
                return "ERR Invalid or out of range slot"
            if self.slots[slot] != NO_OWNER:
                return f"ERR Slot {slot} is already busy"
        for slot in slots:
            self.importing.pop(slot, None)
            self._set_slot(slot, self.index)
            self.owner_not_claiming[slot] = 0
        self._todo_state = True
        self._before_sleep()
        return "OK"

    def cluster_delslots(self, slots: list[int]) -> str:
        """``CLUSTER DELSLOTS``: unbind slots in my table (§18.5)."""
        for slot in slots:
            if not 0 <= slot < CLUSTER_SLOTS:
                return "ERR Invalid or out of range slot"
            if self.slots[slot] == NO_OWNER:
                return f"ERR Slot {slot} is already unassigned"
        for slot in slots:
            self._set_slot(slot, NO_OWNER)
        self._todo_state = True
        self._before_sleep()
        return "OK"

    def cluster_bumpepoch(self) -> str:
        """``CLUSTER BUMPEPOCH`` (§9.2)."""
        bumped = self.bump_epoch_without_consensus()
        return f"{'BUMPED' if bumped else 'STILL'} {self.me.config_epoch}"

    # ------------------------------------------------------------------ pub/sub over the bus

    def send_publish(self, channel: str, message: str, sharded: bool = False) -> None:
        """``clusterPropagatePublish`` (PUBLISH to every linked node) or
        ``clusterPropagatePublishShard`` (PUBLISHSHARD to the other members of my shard) (§19)."""
        if not sharded:
            self.broadcast(self._header(MsgType.PUBLISH, channel=channel, payload=message))
            return
        master = self.me.master if self.me.flags & SLAVE else self.name
        view = self.peers.get(master or "")
        if view is None:
            return
        message_out = self._header(MsgType.PUBLISHSHARD, channel=channel, payload=message)
        for name in [view.name, *view.replicas]:
            peer = self.peers.get(name)
            if peer is None or peer is self.me or not peer.link:
                continue
            self._send(name, message_out)


def bits_to_slots(bits: int) -> list[int]:
    """The slots set in a bitset (bit s = slot s), ascending."""
    if not bits:
        return []
    text = format(bits, "b")[::-1]  # slot 0 first
    out: list[int] = []
    start = text.find("1")
    while start != -1:
        out.append(start)
        start = text.find("1", start + 1)
    return out


def bytes_to_slots(bitmap: bytes | bytearray) -> list[int]:
    """Slots set in a 0/1 byte-per-slot map."""
    out: list[int] = []
    start = bitmap.find(1)
    while start != -1:
        out.append(start)
        start = bitmap.find(1, start + 1)
    return out


_ZERO_ONE = bytes.maketrans(b"\x00\x01", b"01")


def table_bits(table: SlotTable, owner: int) -> int:
    """The bitset of the slots ``owner`` holds in ``table`` (one C-speed pass)."""
    bitmap = bytes(map(owner.__eq__, table.raw()))
    return int(bitmap.translate(_ZERO_ONE)[::-1], 2)
