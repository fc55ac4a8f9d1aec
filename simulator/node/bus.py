"""Messages out: ``clusterBuildMessageHdr``, ``clusterSendPing`` with its gossip section, broadcasts.

Every packet a node sends goes through :meth:`BusOutput._send` onto my outbound link
to the peer (``node->link``), or through :meth:`BusOutput._reply` onto the link the
request came in on; both are TCP connections (:mod:`simulator.links`).
"""

from __future__ import annotations

from itertools import repeat
from math import floor
from typing import Any, Final

from simulator.links import Link
from simulator.messages import (
    HANDSHAKE,
    MASTER,
    MF_PAUSED,
    MYSELF,
    NOADDR,
    PFAIL,
    SLAVE,
    GossipFields,
    Message,
    MsgType,
)
from simulator.native import mypyc_attr
from simulator.node.gossip_rules import legacy_gossip
from simulator.node.manual_failover import ManualFailover
from simulator.node.peer import PeerView

_new = tuple.__new__
# The field order :meth:`BusOutput._heartbeat` builds a Message in.
assert Message._fields == (
    "type",
    "sender",
    "current_epoch",
    "config_epoch",
    "offset",
    "slots",
    "claim_fp",
    "master",
    "flags",
    "state_ok",
    "mflags",
    "reply",
    "gossip",
    "about",
    "about_epoch",
    "about_slots",
    "channel",
    "payload",
)
_RARE: Final = MYSELF | PFAIL | HANDSHAKE | NOADDR  # peers the gossip builder looks at twice
_NOT_MYSELF: Final = ~MYSELF
_PING = MsgType.PING  # a local: an enum member read from its class costs ~10x a global


@mypyc_attr(allow_interpreted_subclasses=True)
class BusOutput(ManualFailover):
    """Building and sending bus packets (§4.2, §7)."""

    def _cron_watch(self, peer: PeerView) -> None:
        """File ``peer`` for the cron at its new deadline (:mod:`simulator.node.cron_deadlines`)."""

    def _header(self, mtype: MsgType, **extra: Any) -> Message:
        """``clusterBuildMessageHdr``."""
        me = self.me
        master = me.master if me.flags & SLAVE else None
        mflags = MF_PAUSED if (me.flags & MASTER and self.mf.end) else 0
        return Message(
            type=mtype,
            sender=self.name,
            current_epoch=self.current_epoch,
            config_epoch=self.config_epoch,
            offset=self.repl.offset,
            slots=self.claimed_bits(),
            claim_fp=self.claim_fingerprint(),
            master=master,
            flags=me.flags & ~MYSELF,
            state_ok=self.state == "ok",
            mflags=mflags | extra.pop("mflags", 0),
            **extra,
        )

    def _heartbeat(
        self, mtype: MsgType, gossip: tuple[GossipFields, ...], reply: bool = False
    ) -> Message:
        """:meth:`_header` of a PING, PONG or MEET with its gossip section, inlined: the
        same fields (``config_epoch``, ``claimed_bits`` and ``claim_fingerprint`` read
        from my master's view if I am a replica that knows it), built in field order."""
        me = self.me
        flags = me.flags
        owner = self.index
        config_epoch = me.config_epoch
        master = None
        if flags & SLAVE:
            master = me.master
            if master is not None:
                view = self.peers.get(master)
                if view is None:
                    config_epoch = 0
                else:
                    config_epoch = view.config_epoch
                    owner = view.index
        mflags = MF_PAUSED if (flags & MASTER and self.mf.end) else 0
        return _new(
            Message,
            (
                mtype,
                self.name,
                self.current_epoch,
                config_epoch,
                self.repl.offset,
                self._owner_bits.get(owner, 0),
                self._fingerprint.get(owner, 0),
                master,
                flags & ~MYSELF,
                self.state == "ok",
                mflags,
                reply,
                gossip,
                None,
                0,
                None,
                "",
                "",
            ),
        )

    def _send(self, dst: str, message: Message) -> None:
        """``clusterSendMessage(node->link, ...)``: nothing goes out without a link (a
        connecting one queues it until the handshake completes)."""
        link = self.links.get(dst)
        if link is not None:
            self.sent[message.type] += 1
            link.send(message, self._bus_tx(message))  # counts it; its size on the wire

    def _reply(self, link: Link | None, dst: str, message: Message) -> None:
        """``clusterSendPing(link, PONG)``: the answer goes back on the connection the
        request came in on (``link`` None: a packet handed in directly; my own link)."""
        if link is None:
            link = self.links.get(dst)
        if link is not None:
            self.sent[message.type] += 1
            link.send(message, self._bus_tx(message))  # counts it; its size on the wire

    def send_ping(self, peer: PeerView, mtype: MsgType = MsgType.PING) -> None:
        """``clusterSendPing``: header plus gossip about max(3, N/10) nodes and every PFAIL node (§7)."""
        now = self.engine.now
        if mtype == _PING:
            # Every PING stamps ping_sent, pending or not (``clusterSendPing``): the
            # master's every-tick PING to its mf_slave pushes it on (§12). A later
            # stamp only moves deadlines later, so only a first one is re-filed.
            first = peer.ping_sent == 0
            peer.ping_sent = now
            if first:
                self._cron_watch(peer)  # a pong from the future may have filed it later
        self._send(peer.name, self._heartbeat(mtype, self._gossip()))

    def _gossip(self) -> tuple[GossipFields, ...]:
        """The gossip section of a PING/PONG/MEET (``clusterSendPing``, §7.1): max(3, N/10)
        entries drawn at random from the node table (``dictGetRandomKey``), at most
        3 × wanted draws, then every PFAIL node (as many as the last cron counted).

        The hottest loop of a big cluster (with :meth:`Gossip._process_gossip`). An entry
        is a plain tuple in :class:`~simulator.messages.GossipEntry`'s field order
        (building the named tuple cost ~4× as much); a draw's position is ``floor`` of
        ``random() * total``, the same int as ``int()`` (the product is never negative)
        for two thirds of the cost (``int()`` is a type call in CPython 3.11); the draws
        run in a ``for`` over the 3 × wanted attempts, leaving as soon as ``wanted``
        entries are in or no fresh node is left, which is exactly when Redis's ``while``
        stops: same draws, same entries."""
        if self.gossip_rule is not None:  # an older Redis's rule (cluster.behaviour.gossip)
            return legacy_gossip(self, self.gossip_rule)
        peers = self._peer_list
        total = len(peers)
        fresh = total - 2
        wanted = max(3, total // 10)
        wanted = min(wanted, fresh)
        entries: list[GossipFields] = []
        if wanted > 0:  # i.e. fresh > 0: Redis's while loop runs at all
            chosen = bytearray(total)  # by table position: one peer per position
            random = self.rng.random  # dictGetRandomKey: uniform over the node table
            origin = self.host.unix_origin_ms  # gossip times are unix seconds (§6.3)
            origin_s = origin // 1000  # a ping_sent of 0
            me = self.me
            slot_counts = self.slot_counts
            append = entries.append
            left = wanted
            for _ in repeat(None, wanted * 3):
                pos = floor(random() * total)  # = int(...), ~60 ns less (docstring)
                peer = peers[pos]
                flags = peer.flags
                if flags & _RARE:  # one test for the common peer (``me`` has MYSELF)
                    if peer is me or flags & PFAIL:
                        continue
                    if flags & (HANDSHAKE | NOADDR):
                        fresh -= 1
                        if not fresh:
                            break
                        continue
                    flags &= _NOT_MYSELF
                if not peer.link and not slot_counts.get(peer.index):
                    fresh -= 1
                    if not fresh:
                        break
                    continue
                if chosen[pos]:
                    continue
                chosen[pos] = 1
                ping_sent = peer.ping_sent
                # clusterSetGossipEntry, inline (flags without MYSELF: see above).
                append(
                    (
                        peer.name,
                        (ping_sent + origin) // 1000 if ping_sent else origin_s,
                        (peer.pong_received + origin) // 1000,
                        flags,
                    )
                )
                left -= 1
                fresh -= 1
                if not left or not fresh:
                    break
        # At most stats_pfail_nodes PFAIL entries (as counted by the last cron run).
        pfail_wanted = self.stats_pfail_nodes
        if pfail_wanted > 0:
            for peer in peers:
                if peer.flags & PFAIL and not peer.flags & (HANDSHAKE | NOADDR):
                    entries.append(self._gossip_entry(peer))
                    pfail_wanted -= 1
                    if pfail_wanted <= 0:
                        break
        return tuple(entries)

    def _gossip_entry(self, peer: PeerView) -> GossipFields:
        """``clusterSetGossipEntry``: times travel in whole unix seconds (§6.3)."""
        origin = self.host.unix_origin_ms
        return (
            peer.name,
            (peer.ping_sent + origin) // 1000,
            (peer.pong_received + origin) // 1000,
            peer.flags & ~MYSELF,
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
            self._send(peer.name, self._heartbeat(MsgType.PONG, self._gossip()))
