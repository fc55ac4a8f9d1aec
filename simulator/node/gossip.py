"""Messages in: ``clusterProcessPacket``, heartbeats, the gossip section, handshakes (§4, §5, §7, §10.1).

The dispatcher hands each packet type to the section that owns it: FAIL and the
gossip's failure reports to failure detection, AUTH_REQUEST/ACK to elections,
UPDATE to slot configuration, MFSTART to manual failover, PUBLISH to the data plane.
"""

from __future__ import annotations

from typing import Final

from simulator.links import Link
from simulator.messages import (
    FAIL,
    HANDSHAKE,
    MASTER,
    MF_PAUSED,
    MIGRATE_TO,
    MYSELF,
    NOADDR,
    NOFAILOVER,
    PFAIL,
    SLAVE,
    Message,
    MsgType,
)
from simulator.native import mypyc_attr
from simulator.node.constants import MF_PAUSE_MULT, MF_TIMEOUT_MS
from simulator.node.cron import Cron
from simulator.node.peer import PeerView, add_fail_report
from simulator.slots import NO_OWNER

# Pong times learned from gossip are whole unix seconds, so a cluster's 90,000 (300 nodes)
# views hold a few thousand distinct values: one int object per value instead of one per
# write keeps the ones the gossip loops read hot in the cache (ints are immutable).
# Emptied when it grows past _SHARED_MS_MAX (a long sweep: many origins, many seconds).
_SHARED_MS: dict[int, int] = {}
_SHARED_MS_MAX: Final = 1 << 16
_shared_ms = _SHARED_MS.setdefault

_FAILING: Final = FAIL | PFAIL

_PING, _PONG, _MEET = MsgType.PING, MsgType.PONG, MsgType.MEET  # MsgType.X is slow (~10x a global)
_LAST_HEARTBEAT = _MEET  # PING 0, PONG 1, MEET 2: the heartbeat types
assert (MsgType.PING, MsgType.PONG) == (0, 1) and _LAST_HEARTBEAT == 2


@mypyc_attr(allow_interpreted_subclasses=True)
class Gossip(Cron):
    """Processing bus packets: the heartbeat header, gossip entries, and each message type."""

    def receive(self, msg: Message, link: Link | None = None) -> None:
        """``clusterProcessPacket`` (§4.2, §10.1), for a packet read from ``link``."""
        mtype = msg.type
        self.received[mtype] += 1
        now = self.engine.now
        sender = self.peers.get(msg.sender)
        # ``getNodeFromLinkAndMsg``: a node still in handshake has a random name in Redis,
        # so looking the header's name up does not find it: its packets have no sender
        # (§5.4). rcsim keeps the entry under its real name and passes it on as
        # ``handshake`` for the one thing Redis does with it, completing the handshake.
        handshake: PeerView | None = None
        if sender is not None and sender.flags & HANDSHAKE:
            handshake, sender = sender, None
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
                    self.mf.end
                    and self.me.flags & SLAVE
                    and self.me.master == msg.sender
                    and msg.mflags & MF_PAUSED
                    and self.mf.master_offset == -1
                ):
                    self.mf.master_offset = msg.offset
                    self._handle_manual_failover()

        if mtype <= _LAST_HEARTBEAT:  # PING, PONG, MEET
            self._process_heartbeat(msg, sender, now, link, handshake)
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
                if msg.current_epoch >= self.election.auth_epoch:
                    self.election.auth_count += 1
                    self._todo_failover = True
        elif mtype == MsgType.UPDATE:
            self._process_update(msg, sender)
        elif mtype == MsgType.MFSTART:
            self._process_mfstart(sender, now, link)
        elif mtype in (MsgType.PUBLISH, MsgType.PUBLISHSHARD):
            if sender is not None:
                self.host.on_publish_message(self, msg)
        if self._todo_failover or self._todo_state:
            self._before_sleep()
        if self.pass_watch:
            self.host.on_event_loop_pass(self)  # handleBlockedClientsTimeout (§20.3)

    def _process_heartbeat(
        self,
        msg: Message,
        sender: PeerView | None,
        now: int,
        link: Link | None = None,
        handshake: PeerView | None = None,
    ) -> None:
        """The PING/PONG/MEET part of ``clusterProcessPacket`` (§10.1); ``handshake``: my
        entry for the sending address while it is still in handshake (§5.3, §5.4)."""
        mtype = msg.type
        if sender is None and mtype == _MEET:
            if handshake is None:  # (Redis would add a second entry for a second MEET)
                self._add_handshake_peer(msg.sender)
            self._process_gossip(msg, None, now)
        if mtype == _PING or mtype == _MEET:
            # The PONG travels back on the connection the PING came in on (unknown senders too).
            reply = self._heartbeat(_PONG, self._gossip(), True)
            self._reply(link, msg.sender, reply)
        # A PONG answering my PING on my own link (``!link->inbound``): not the PONG a
        # replica sends back for the PING its master sent on an inbound link (MFSTART).
        answer = mtype == _PONG and msg.reply and (link is None or link.outbound)
        if sender is None:
            if handshake is not None and answer:
                self._complete_handshake(handshake, msg, now)
            return
        sender.flags = (sender.flags & ~NOFAILOVER) | (msg.flags & NOFAILOVER)
        if answer:
            sender.pong_received = now
            sender.ping_sent = 0
            self._cron_watch(sender)  # the next NT/2 ping (simulator.node.cron_deadlines)
            if sender.flags & PFAIL:
                sender.flags &= ~PFAIL
                self._todo_state = True
                self._emit("pfail_cleared", sender.name)
            elif sender.flags & FAIL:
                self._clear_node_failure_if_needed(sender, now)

        # Role switch (step 6).
        sender_master: PeerView | None
        if msg.master is None:
            if not sender.flags & MASTER:  # else clusterSetNodeAsMaster does nothing
                self._set_node_as_master(sender)
            sender_master = sender if sender.flags & MASTER else self.peers.get(sender.master or "")
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
            # The sender is a replica now; its master's view is the one just looked up.
            sender_master = master if master is not None else self.peers.get(sender.master or "")

        # Slot configuration (steps 7-9).
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
                owner_view = self.peers[self.host.names[owner]]
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

    def _complete_handshake(self, peer: PeerView, msg: Message, now: int) -> None:
        """The PONG on my outbound link to a node in handshake (§5.4): Redis renames the
        entry, clears HANDSHAKE, takes MASTER or SLAVE from the header's flags and the
        pong time, and nothing else, as the packet had no sender (``getNodeFromLinkAndMsg``
        found none): its slots, its master, its epochs and its gossip section are read
        from the next packet it sends (the PING of its own connect, within a cron tick).
        rcsim processed them in this PONG until round 10 (docs/fidelity.md, fresh start)."""
        peer.flags &= ~HANDSHAKE
        peer.flags |= MASTER if msg.master is None else SLAVE
        self._emit("handshake_done", peer.name)
        peer.pong_received = now
        peer.ping_sent = 0
        self._cron_watch(peer)  # the next NT/2 ping (simulator.node.cron_deadlines)

    def _add_handshake_peer(self, name: str) -> PeerView:
        """A MEET from an unknown node adds it in HANDSHAKE (§5.3).

        Simplification: the entry carries the node's real name from the start (Redis
        uses a random temporary ID until the handshake completes).
        """
        peer = PeerView(name, self.host.node_id(name), self.host.index[name], HANDSHAKE)
        self.add_peer(peer)
        return peer

    def _process_gossip(self, msg: Message, sender: PeerView | None, now: int) -> None:
        """``clusterProcessGossipSection`` (§7.3)."""
        sender_is_master = sender is not None and bool(sender.flags & MASTER)
        reporter = sender.name if sender is not None else ""
        me = self.me
        host = self.host
        # An entry's view by its global index (NodeBase._by_index: the cluster's shared
        # name directory, then my list; an unknown name reads the last slot, None).
        by_index = self._by_index
        if len(by_index) <= len(host.names):
            by_index.extend([None] * (len(host.names) + 1 - len(by_index)))
        index = host.index.get
        horizon = now + 500
        if len(_SHARED_MS) > _SHARED_MS_MAX:
            _SHARED_MS.clear()
        origin = host.unix_origin_ms  # §6.3
        # Entries unpacked in the loop header (the hottest loop of a big cluster, with
        # the builder's): a name, ping_sent and pong_received in seconds, the flags.
        # An entry saying FAIL/PFAIL is a report (from a master) and never a pong time.
        for name, _ping_s, pong_s, eflags in msg.gossip:
            node = by_index[index(name, -1)]
            if node is not None:
                if eflags & _FAILING:
                    if sender_is_master and node is not me:
                        add_fail_report(node, reporter, now)
                        self._mark_node_as_failing_if_needed(node, now)
                    continue  # no pong time from an entry that says it is failing
                reports = node.fail_reports
                if reports:
                    if sender_is_master and node is not me:
                        reports.pop(reporter, None)
                    if reports and self._count_reports(node, now):
                        continue
                if not node.ping_sent:
                    pong = pong_s * 1000 - origin
                    # Not newer: ~70 % of the entries of a converged cluster, tested first.
                    if pong > node.pong_received and pong <= horizon:
                        node.pong_received = _shared_ms(pong, pong)
            elif sender is not None and not eflags & NOADDR and self.host.knows(name):
                if self.host.is_blacklisted(self, name):
                    continue
                # Transitive discovery (§5.6): ``createClusterNode(g->nodename, flags)``
                # keeps the entry's flags, FAIL and PFAIL included.
                flags = eflags & ~(MYSELF | HANDSHAKE)
                peer = PeerView(name, self.host.node_id(name), self.host.index[name], flags)
                self.add_peer(peer)
                self._emit("node_discovered", name, via=msg.sender)

    def _process_mfstart(self, sender: PeerView | None, now: int, link: Link | None = None) -> None:
        """MFSTART on a master: pause writes for 2×5 s and ping the replica every tick (§12).

        The first PING goes back on the link the MFSTART came in on
        (``clusterSendPing(link, PING)``): no ``ping_sent`` (an inbound link has no node),
        and it carries the ACK of the MFSTART (§4.5)."""
        if sender is None or sender.master != self.name:
            return
        self._reset_manual_failover()
        self.mf.end = now + MF_TIMEOUT_MS
        self.mf.slave = sender.name
        self.writes_paused_until = now + MF_TIMEOUT_MS * MF_PAUSE_MULT
        self._emit("mf_paused", sender.name, until=self.writes_paused_until)
        self._reply(link, sender.name, self._heartbeat(MsgType.PING, self._gossip()))
