"""``nodes.conf``: what a node writes on every config change and reads back at start-up.

``clusterSaveConfig`` runs on every change in Redis, so at a crash the file holds
what the node last believed; :meth:`NodesConfFile.save_config` takes that snapshot
and :meth:`NodesConfFile.load_config` is ``clusterLoadConfig`` (§18.1, §21.3). The
host keeps the snapshot between the process's lives, as the disk would.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from simulator.messages import FAIL, HANDSHAKE, MASTER, MYSELF, NOFAILOVER, SLAVE
from simulator.native import mypyc_attr
from simulator.node.commands import ClusterCommands
from simulator.node.peer import NEVER_PONGED, NO_REPORTS, PeerView
from simulator.slots import SlotTable


@mypyc_attr(native_class=False)  # a frozen dataclass: copies as in pure Python
@dataclass(frozen=True)
class NodesConf:
    """One saved ``nodes.conf``: the node table, slot bindings and epochs."""

    peers: dict[str, PeerView]
    slots: SlotTable
    not_claiming: bytearray
    migrating: dict[int, str]
    importing: dict[int, str]
    current_epoch: int
    last_vote_epoch: int


@mypyc_attr(allow_interpreted_subclasses=True)
class NodesConfFile(ClusterCommands):
    """Saving and loading my cluster configuration."""

    def save_config(self) -> NodesConf:
        """``clusterSaveConfig``: a deep snapshot of what I believe now, less the nodes
        still in handshake (``clusterGenNodesDescription(CLUSTER_NODE_HANDSHAKE)``)."""
        return NodesConf(
            peers=copy.deepcopy({n: p for n, p in self.peers.items() if not p.flags & HANDSHAKE}),
            slots=self.slots.copy(),
            not_claiming=bytearray(self.owner_not_claiming),
            migrating=dict(self.migrating),
            importing=dict(self.importing),
            current_epoch=self.current_epoch,
            last_vote_epoch=self.last_vote_epoch,
        )

    def load_config(self, saved: NodesConf) -> None:
        """``clusterLoadConfig``: ping/pong become "now", FAIL gets fail_time now, replicas'
        epoch 0; what the file does not hold (``voted_time``) starts afresh."""
        now = self.engine.now
        self.peers = {}
        self._peer_list = []
        self._by_index = []
        max_epoch = saved.current_epoch
        for name, peer in saved.peers.items():
            peer = copy.copy(peer)
            peer.fail_reports = NO_REPORTS
            peer.link = name == self.name
            peer.ping_sent = now if peer.ping_sent else 0
            # clusterLoadConfig: a saved pong time other than 0 (never) becomes now.
            peer.pong_received = now if peer.pong_received != NEVER_PONGED else NEVER_PONGED
            peer.data_received = 0
            peer.voted_time = PeerView(name, peer.id, peer.index, 0).voted_time
            if peer.flags & FAIL:
                peer.fail_time = now
            if peer.flags & SLAVE:
                peer.config_epoch = 0
            max_epoch = max(max_epoch, peer.config_epoch)
            self.peers[name] = peer
            self._peer_list.append(peer)
            self._index_view(peer)
            if name == self.name:
                self.me = peer
                peer.flags |= MYSELF
        self.load_slot_table(saved.slots)
        self.owner_not_claiming = bytearray(saved.not_claiming)
        self.migrating = dict(saved.migrating)
        self.importing = dict(saved.importing)
        self.current_epoch = max_epoch
        self.last_vote_epoch = saved.last_vote_epoch
        # The replication offset is not in nodes.conf: a restarted node starts at 0
        # unless the data plane loads one from an RDB file (§21.3).
        self.size = sum(1 for p in self.peers.values() if p.flags & MASTER and self.numslots(p))
        # clusterUpdateMyselfFlags: nofailover follows this process's configuration.
        if self.config.get("cluster-replica-no-failover"):
            self.me.flags |= NOFAILOVER
        else:
            self.me.flags &= ~NOFAILOVER
