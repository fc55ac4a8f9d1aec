"""Replica elections: ``clusterHandleSlaveFailover``, ranks, votes, and the promotion (§11).

A replica of a FAIL master waits ``500 + random(500) + rank·1000`` ms, asks the
masters for votes with FAILOVER_AUTH_REQUEST, and on a quorum of ACKs replaces
its master (``clusterFailoverReplaceYourMaster``). Masters vote in
``clusterSendFailoverAuthIfNeeded``.
"""

from __future__ import annotations

from simulator.messages import FAIL, MASTER, MF_FORCEACK, NOFAILOVER, SLAVE, Message, MsgType
from simulator.native import mypyc_attr
from simulator.node.peer import PeerView
from simulator.node.slot_config import SlotConfig
from simulator.node.slotmap import bits_to_slots
from simulator.slots import NO_OWNER


class ElectionState:
    """The ``failover_auth_*`` fields of ``clusterState``, and why I am not failing over."""

    __slots__ = (
        "auth_count",
        "auth_epoch",
        "auth_rank",
        "auth_sent",
        "auth_time",
        "cant_failover_reason",
    )

    def __init__(self) -> None:
        self.auth_time = -(10**12)  # when the election may start (or started)
        self.auth_count = 0  # votes received
        self.auth_sent = False  # the request went out in this election
        self.auth_rank = 0  # my rank among my master's replicas
        self.auth_epoch = 0  # the epoch I asked votes for
        self.cant_failover_reason = ""  # the last reason logged (logged once per change)


@mypyc_attr(allow_interpreted_subclasses=True)
class Elections(SlotConfig):
    """The replica's side of an election, and the master's vote."""

    def _init_layer(self) -> None:
        super()._init_layer()
        self.election = ElectionState()

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
            if peer.repl_offset > self.repl.offset:
                rank += 1
        return rank

    def _data_age(self, now: int) -> int:
        """Replication data age in ms, with second granularity (§11.2)."""
        return self.repl.data_age(now, self.config.node_timeout)

    def _handle_slave_failover(self) -> None:
        """``clusterHandleSlaveFailover`` (§11)."""
        master = self.peers.get(self.me.master or "")
        if master is None or not (master.flags & FAIL or (self.mf.end and self.mf.can_start)):
            self.election.cant_failover_reason = ""
            return
        now = self.engine.now
        nt = self.config.node_timeout
        auth_age = now - self.election.auth_time
        manual = bool(self.mf.end) and self.mf.can_start
        auth_timeout = max(nt * 2, 2000)
        auth_retry = auth_timeout * 2
        if (
            self.me.flags & MASTER
            or master is None
            or (not master.flags & FAIL and not manual)
            or (self.config.get("cluster-replica-no-failover") and not manual)
            or self.numslots(master) == 0
        ):
            self.election.cant_failover_reason = ""
            return
        validity = self.config.get("cluster-replica-validity-factor")
        data_age = self._data_age(now)
        limit = self.config.get("repl-ping-replica-period") * 1000 + nt * validity
        if validity and data_age > limit and not manual:
            if self.election.cant_failover_reason != "data_age":
                self.election.cant_failover_reason = "data_age"
                self._emit("cant_failover", master.name, reason="data_age", data_age_ms=data_age)
            return

        if auth_age > auth_retry:
            delay = 500 + self.rng.randrange(500)
            self.election.auth_count = 0
            self.election.auth_sent = False
            self.election.auth_rank = self.slave_rank()
            delay += self.election.auth_rank * 1000
            if self.mf.end:
                delay = 0
                self.election.auth_rank = 0
                self._todo_failover = True
            self.election.auth_time = now + delay
            self._emit(
                "election_scheduled",
                master.name,
                rank=self.election.auth_rank,
                delay_ms=delay,
                offset=self.repl.offset,
                manual=bool(self.mf.end),
            )
            self.broadcast_pong(only_local_replicas=True)
            return

        if not self.election.auth_sent and not self.mf.end:
            rank = self.slave_rank()
            if rank > self.election.auth_rank:
                added = (rank - self.election.auth_rank) * 1000
                self.election.auth_time += added
                self.election.auth_rank = rank
                self._emit("election_delayed", master.name, rank=rank, added_ms=added)

        if now < self.election.auth_time:
            self.election.cant_failover_reason = "waiting_delay"
            return
        if auth_age > auth_timeout:
            if self.election.cant_failover_reason != "expired":
                self.election.cant_failover_reason = "expired"
                self._emit("election_expired", master.name, epoch=self.election.auth_epoch)
            return

        if not self.election.auth_sent:
            self.current_epoch += 1
            self.election.auth_epoch = self.current_epoch
            self.election.auth_sent = True
            self._emit(
                "election_started",
                master.name,
                epoch=self.election.auth_epoch,
                quorum=self.quorum(),
                manual=bool(self.mf.end),
            )
            mflags = MF_FORCEACK if self.mf.end else 0
            self.broadcast(self._header(MsgType.AUTH_REQUEST, mflags=mflags))
            self._todo_state = True
            return

        if self.election.auth_count >= self.quorum():
            if self.me.config_epoch < self.election.auth_epoch:
                self.me.config_epoch = self.election.auth_epoch
            self.failover_replace_your_master()
        else:
            self.election.cant_failover_reason = "waiting_votes"

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
            owner_view = self.peers[self.host.names[owner]]
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
        self.host.replication_unset_master(self, old)
        self.update_state()
        self.broadcast_pong()
        self._reset_manual_failover()
