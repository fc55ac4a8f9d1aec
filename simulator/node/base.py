"""The node's own state and its public view: who I am, my node table, roles, cluster state.

The lowest layer of :class:`~simulator.node.Node`. Each layer above it adds one
section of src/cluster.c (see the package docstring); this one holds what every
section reads: ``myself``, the node table (``clusterAddNode``), the role links
between masters and replicas, and ``clusterUpdateState`` (§14).
"""

from __future__ import annotations

from typing import Any

from simulator.config import NodeConfig
from simulator.links import Link
from simulator.messages import (
    FAIL,
    MASTER,
    MIGRATE_TO,
    MYSELF,
    NOFAILOVER,
    PFAIL,
    SLAVE,
    MsgType,
)
from simulator.native import mypyc_attr
from simulator.node.constants import (
    CRON_PERIOD_MS,
    MAX_REJOIN_DELAY_MS,
    MIN_REJOIN_DELAY_MS,
    PAUSED,
    RUNNING,
    WRITABLE_DELAY_MS,
)
from simulator.node.host import NodeHost
from simulator.node.peer import PeerView
from simulator.node.slotmap import bits_to_slots
from simulator.replication import Replication
from simulator.slots import CLUSTER_SLOTS, NO_OWNER, SlotTable


@mypyc_attr(allow_interpreted_subclasses=True)
class NodeBase:
    """A Redis node with cluster-enabled yes, as seen from inside its own process."""

    def __init__(
        self,
        host: NodeHost,
        name: str,
        index: int,
        node_id: str,
        port: int,
        config: NodeConfig,
        phase_spread_ms: int = CRON_PERIOD_MS,
    ) -> None:
        self.host = host
        self.engine = host.engine
        self._trace = host.trace
        self.name = name
        self.index = index
        self.id = node_id
        self.port = port
        self.addr = f"127.0.0.1:{port}"
        self.config = config
        self.status = RUNNING
        self.rng = host.engine.rng(f"node:{name}")
        # My cron's phase. Two draws, as the runs recorded in the golden traces made
        # them: a default one, then one within the spread the harness asked for.
        self.phase = self.rng.randrange(CRON_PERIOD_MS)
        self.phase = self.rng.randrange(phase_spread_ms)
        self.me = PeerView(name, node_id, index, MYSELF | MASTER)
        self.me.link = True
        if config.get("cluster-replica-no-failover"):
            self.me.flags |= NOFAILOVER
        self.peers: dict[str, PeerView] = {name: self.me}
        self._peer_list: list[PeerView] = [self.me]
        # My views by global node index (None: no view), one slot more than the cluster
        # has nodes, the last always None: the gossip receiver finds an entry's view by
        # the cluster's one name directory (``host.index``, shared by every node, so
        # it stays in the cache) instead of my own ``peers`` dict (§7.3).
        self._by_index: list[PeerView | None] = []
        self._index_view(self.me)
        # My outbound bus links (``node->link``), connecting or established, by peer name;
        # ``peer.link`` says whether one exists. Inbound links are the TCP model's.
        self.links: dict[str, Link] = {}
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
        # When my cron is due, to the microsecond (the engine runs it in that millisecond),
        # and the stream its lateness is drawn from (its own, so other draws are unchanged).
        self.cron_due = 0.0
        self.cron_rng = host.engine.rng(f"cron:{name}")
        self.sent = [0] * len(MsgType)
        self.received = [0] * len(MsgType)
        self._bus_tx = host.bus_stats.node(index).count  # bus traffic (simulator/bus_stats.py)
        # None: Redis 7.0's gossip; else an older rule (node/gossip_rules.py).
        self.gossip_rule: str | None = host.gossip_rule
        # Replication (replication.c): the bus reads the link and the offset (data age,
        # rank); the cluster's wire and the data plane move them.
        self.repl = Replication()
        self.writes_paused_until = 0
        self._todo_state = False
        self._todo_failover = False
        self.data: Any = None  # the data plane's per-node state
        # A blocked client's timeout is pending (WAIT, §20.3): every event-loop pass (a
        # packet read, a cron tick) tells the host, as ``beforeSleep`` checks the table.
        self.pass_watch = False
        self._init_layer()

    def _init_layer(self) -> None:
        """Each layer's own state, after the base's: a layer overrides this and calls
        ``super()._init_layer()`` first (lower layers first, as constructors chained with
        ``super().__init__`` did). A hook without arguments, so no layer restates the
        constructor's signature (mypyc, ``make fast``, mis-forwards ``*args`` through
        ``super().__init__``)."""

    # ------------------------------------------------------------------ public view

    @property
    def config_epoch(self) -> int:
        """My configEpoch; a replica shows and advertises its master's (§9.2)."""
        if self.me.flags & SLAVE and self.me.master is not None:
            master = self.peers.get(self.me.master)
            return master.config_epoch if master else 0
        return self.me.config_epoch

    @property
    def repl_offset(self) -> int:
        """My replication offset (``master_repl_offset``), as :attr:`repl` keeps it."""
        return self.repl.offset

    @repl_offset.setter
    def repl_offset(self, offset: int) -> None:
        self.repl.offset = offset

    @property
    def repl_link_up(self) -> bool:
        """Whether my link to my master is connected."""
        return self.repl.link_up

    @repl_link_up.setter
    def repl_link_up(self, up: bool) -> None:
        if up:
            self.repl.connected(self.engine.now)
        else:
            self.repl.broken(self.engine.now)

    @property
    def repl_last_interaction(self) -> int:
        return self.repl.last_interaction

    @property
    def repl_down_since(self) -> int | None:
        """``repl_down_since``; None is Redis's 0, never connected."""
        return self.repl.down_since

    @repl_down_since.setter
    def repl_down_since(self, t: int | None) -> None:
        self.repl.down_since = t

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
        return None if owner == NO_OWNER else self.host.names[owner]

    def my_slots(self) -> list[int]:
        return bits_to_slots(self._owner_bits.get(self.index, 0))

    def my_slot_bits(self) -> int:
        """:meth:`my_slots` as a bitset (bit s = slot s)."""
        return self._owner_bits.get(self.index, 0)

    def slots_of(self, name: str) -> list[int]:
        return self.slots.slots_of(self.host.index[name])

    def numslots(self, peer: PeerView) -> int:
        return self.slot_counts.get(peer.index, 0)

    def writes_paused(self) -> bool:
        """Whether client writes are paused by a manual failover (§12)."""
        return self.engine.now < self.writes_paused_until

    def _emit(self, kind: str, target: str | None = None, **fields: Any) -> None:
        self._trace.emit(self.engine.now, kind, self.name, target, **fields)

    # ------------------------------------------------------------------ node table and roles

    def add_peer(self, peer: PeerView) -> None:
        """``clusterAddNode``."""
        self.peers[peer.name] = peer
        self._peer_list.append(peer)
        self._index_view(peer)
        peer.ctime = self.engine.now

    def _index_view(self, peer: PeerView) -> None:
        """Put ``peer`` in :attr:`_by_index` (its table takes it in)."""
        by_index = self._by_index
        size = max(len(self.host.names), peer.index + 1) + 1
        if len(by_index) < size:
            by_index.extend([None] * (size - len(by_index)))
        by_index[peer.index] = peer

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
            master.replicas = (*master.replicas, name)
        master.flags |= MIGRATE_TO

    def _remove_replica(self, master: PeerView, name: str) -> None:
        """``clusterNodeRemoveSlave``."""
        if name in master.replicas:
            master.replicas = tuple(r for r in master.replicas if r != name)
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

    # ------------------------------------------------------------------ cluster state

    def update_state(self) -> None:
        """``clusterUpdateState`` (§14)."""
        now = self.engine.now
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
