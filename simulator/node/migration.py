"""Replica migration: ``clusterHandleSlaveMigration`` (§13).

A replica of the master with the most working replicas moves to an orphaned master.
"""

from __future__ import annotations

from simulator.messages import FAIL, MASTER, MIGRATE_TO, PFAIL
from simulator.native import mypyc_attr
from simulator.node.constants import SLAVE_MIGRATION_DELAY_MS
from simulator.node.election import Elections
from simulator.node.peer import PeerView


@mypyc_attr(allow_interpreted_subclasses=True)
class ReplicaMigration(Elections):
    """Moving a spare replica to a master left without one."""

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
        now = self.engine.now
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
