"""The ``CLUSTER`` commands a node answers: MEET, FORGET, REPLICATE, FAILOVER, SETSLOT,
ADDSLOTS, DELSLOTS, BUMPEPOCH; the start-up check of slots against data; PUBLISH over the bus.

Each returns the reply Redis would send (``"OK"`` or an ``ERR ...`` line).
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.messages import FAIL, HANDSHAKE, MASTER, MEET, SLAVE, MsgType
from simulator.native import mypyc_attr
from simulator.node.constants import MF_TIMEOUT_MS
from simulator.node.gossip import Gossip
from simulator.node.peer import PeerView
from simulator.slots import CLUSTER_SLOTS, NO_OWNER


@mypyc_attr(allow_interpreted_subclasses=True)
class ClusterCommands(Gossip):
    """Operator and redis-cli commands (§5, §12, §16, §18)."""

    def meet(self, other: str) -> None:
        """``CLUSTER MEET``: add ``other`` in HANDSHAKE|MEET; my cron sends it a MEET (§5)."""
        if other in self.peers:
            return
        peer = PeerView(other, self.host.node_id(other), self.host.index[other], HANDSHAKE | MEET)
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
        self.host.blacklist(self, other)
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
        if self.me.flags & MASTER and (self.numslots(self.me) or self.host.count_keys(self)):
            return "ERR To set a master the node must be empty and without assigned slots."
        self.set_master(master, reason="CLUSTER REPLICATE")
        self._before_sleep()
        return "OK"

    # ------------------------------------------------------------------ slot commands (redis-cli)

    def cluster_failover(self, mode: str) -> str:
        """``CLUSTER FAILOVER [FORCE|TAKEOVER]`` sent to this node; returns the reply (§12)."""
        if self.me.flags & MASTER:
            return "ERR You should send CLUSTER FAILOVER to a replica"
        master = self.peers.get(self.me.master or "")
        if master is None:
            return "ERR I'm a replica but my master is unknown to me"
        if mode == "default" and (master.flags & FAIL or not master.link):
            return "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"
        now = self.engine.now
        self._reset_manual_failover()
        self.mf.end = now + MF_TIMEOUT_MS
        self._emit("failover_requested", master.name, mode=mode)
        if mode == "takeover":
            self.bump_epoch_without_consensus()
            self.failover_replace_your_master()
        elif mode == "force":
            self.mf.can_start = True
        else:
            self._send(master.name, self._header(MsgType.MFSTART))
        self._before_sleep()
        return "OK"

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
            keys = self.host.count_keys_in_slot(self, slot)
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
                self.importing[slot] = self.host.names[owner]
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

    def cluster_set_config_epoch(self, epoch: int) -> str:
        """``CLUSTER SET-CONFIG-EPOCH``: only on a fresh node that knows no other (§17.2)."""
        if epoch < 0:
            return f"ERR Invalid config epoch specified: {epoch}"
        if len(self.peers) > 1:
            return "ERR The user can assign a config epoch only when the node does not know any other node."
        if self.me.config_epoch != 0:
            return "ERR Node config epoch is already non-zero"
        self.me.config_epoch = epoch
        self.current_epoch = max(self.current_epoch, epoch)
        return "OK"

    def cluster_bumpepoch(self) -> str:
        """``CLUSTER BUMPEPOCH`` (§9.4)."""
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
