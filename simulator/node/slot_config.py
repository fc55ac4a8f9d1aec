"""Slot configuration: ``clusterUpdateSlotsConfigWith``, UPDATE messages, configEpoch rules (§9, §10).

Also ``clusterSetMaster`` (a node that loses its slots to another follows it).
"""

from __future__ import annotations

from simulator.messages import MASTER, MIGRATE_TO, SLAVE, Message, MsgType
from simulator.native import mypyc_attr
from simulator.node.failure import FailureDetection
from simulator.node.peer import PeerView
from simulator.node.slotmap import bytes_to_slots
from simulator.slots import NO_OWNER


@mypyc_attr(allow_interpreted_subclasses=True)
class SlotConfig(FailureDetection):
    """Who owns a slot when two claims disagree: the higher configEpoch wins (§10.2)."""

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
                    or self.peers[self.host.names[owner]].config_epoch < epoch
                ):
                    if owner == self.index and self.host.count_keys_in_slot(self, slot):
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
            self.host.delete_keys_in_slots(self, dirty_slots)

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
        """``clusterBumpConfigEpochWithoutConsensus`` (§9.4). Returns whether it bumped."""
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
        self.host.replication_set_master(self, master_name)
