"""Which peers the next ``clusterCron`` tick must look at, found by their deadlines.

Redis's ``clusterCron`` (§6) visits every node of the table every 100 ms. Almost none
needs anything: a peer needs work only when its link is missing, its handshake is
older than ``max(NT, 1 s)``, its pong is older than NT/2 with no ping pending, or a
pending ping is older than NT/2 (link refresh) or NT (PFAIL). Each of these is a
deadline computed from the peer's fields, so each node keeps a heap of
``deadline << SEQ_BITS | seq`` integers and a tick visits only the peers whose deadline
has come, in the order of the node table (``seq`` is the order :meth:`add_peer` added
them, and finds the peer in ``_cron_by_seq``), with
exactly the per-peer code of the full scan. A simulated cluster is then O(work) per
tick instead of O(nodes), and does the same thing at the same tick as Redis's scan.

Rule for code that changes a peer: a deadline can only move *earlier* when a link is
lost, ``ping_sent`` is reset or restored, or PFAIL/FAIL/HANDSHAKE are cleared with a
ping pending; whoever does that calls :meth:`CronDeadlines._cron_watch` on the peer
(an early entry is always harmless: the tick re-checks and re-files the peer). Fields
that only ever move deadlines later (``data_received``, a fresher ``pong_received``,
setting PFAIL/FAIL) need no call. Anything wholesale (a restart, ``nodes.conf``
loaded, NT changed) makes the next tick scan every peer, as Redis does, and re-file
them all. ``CRON_AUDIT`` (tests) checks at every tick that no peer left out needed work.

The per-tick aggregates follow the same idea: the PFAIL count (``stats_pfail_nodes``)
counts only the peers PFAIL was ever set on since the last scan, and the replica
migration's "orphaned master" test looks only at masters that had no working replica
when the roles last changed (any role change, removal, or :meth:`update_state`, which
Redis runs after every FAIL, recomputes them).
"""

from __future__ import annotations

from heapq import heappop, heappush
from operator import attrgetter
from typing import Any

from simulator.messages import FAIL, HANDSHAKE, MASTER, MIGRATE_TO, NOADDR, PFAIL, SLAVE
from simulator.node.migration import ReplicaMigration
from simulator.node.peer import PeerView

NEVER = 1 << 62  # a deadline that never comes (a NOADDR peer: the cron skips it)
# A heap entry is one int, ``deadline << SEQ_BITS | seq``: ordered as (deadline, seq)
# tuples were, but untracked by the collector (a 300-node cluster files ~90,000 of them)
# and compared without a tuple's element-by-element protocol. When ``seq`` would
# overflow, the next tick rescans every peer and renumbers them.
SEQ_BITS = 24
_SEQ_MASK = (1 << SEQ_BITS) - 1
_SEQ_LIMIT = _SEQ_MASK  # the last number add_peer gives (tests lower it)

_by_seq = attrgetter("seq")


def cron_deadline(peer: PeerView, nt: int) -> int:
    """The first time (ms) ``clusterCron`` may have work for ``peer`` if nothing changes.

    The conditions are those of :meth:`simulator.node.cron.Cron.cron` (``now - x > y``
    on whole milliseconds is ``now >= x + y + 1``)."""
    flags = peer.flags
    if flags & NOADDR:
        return NEVER
    if not peer.link:
        return 0  # reconnect at the next tick
    if flags & HANDSHAKE:
        return peer.ctime + max(nt, 1000) + 1  # handshake timeout
    ping_sent = peer.ping_sent
    half = nt // 2
    if ping_sent == 0:
        return peer.pong_received + half + 1  # the NT/2 ping
    received = peer.data_received
    # Link refresh: link older than NT, ping and data older than NT/2.
    deadline = max(peer.link_ctime + nt, ping_sent + half, received + half) + 1
    if not flags & (PFAIL | FAIL):
        deadline = min(deadline, max(ping_sent, received) + nt + 1)  # PFAIL
    return deadline


class CronDeadlines(ReplicaMigration):
    """The heap of peer deadlines and the aggregates the cron reads each tick."""

    CRON_AUDIT = False  # tests: check every tick that the deadlines missed no work

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cron_heap: list[int] = []  # deadline << SEQ_BITS | seq
        self._cron_by_seq: list[PeerView | None] = [None]  # seq -> peer (None: removed)
        self._cron_seq = 1
        self._cron_full = True  # the next tick scans every peer and re-files them
        self._cron_nt = -1
        self._cron_table: list[PeerView] | None = None  # the node table the heap indexes
        self._pfail_watch: dict[PeerView, None] = {}  # peers PFAIL was set on
        self._orphan_watch: list[PeerView] | None = None  # None: recompute

    # ------------------------------------------------------------------ filing peers

    def _cron_watch(self, peer: PeerView) -> None:
        """File ``peer`` at its deadline unless it is already filed at or before it."""
        deadline = cron_deadline(peer, self.config.node_timeout)
        due = peer.due
        if (due is None or deadline < due) and deadline != NEVER and peer is not self.me:
            peer.due = deadline
            heappush(self._cron_heap, deadline << SEQ_BITS | peer.seq)

    def add_peer(self, peer: PeerView) -> None:
        super().add_peer(peer)
        seq = self._cron_seq
        if seq <= _SEQ_LIMIT:
            self._cron_seq = seq + 1
            self._cron_by_seq.append(peer)
        else:  # out of numbers: the next tick scans every peer and renumbers them all
            self._cron_full = True
            seq = 0  # filed under seq 0, which names no peer, until then
        peer.seq = seq
        peer.due = None
        self._cron_watch(peer)
        if peer.flags & PFAIL:
            self._pfail_watch[peer] = None
        self._orphan_watch = None

    def remove_peer(self, name: str) -> None:
        peer = self.peers.get(name)
        super().remove_peer(name)
        if peer is not None:
            peer.due = None  # its heap entries are stale from now on
            if peer.seq:
                self._cron_by_seq[peer.seq] = None
            self._pfail_watch.pop(peer, None)
        self._orphan_watch = None

    def _set_node_as_master(self, peer: PeerView) -> None:
        if not peer.flags & MASTER:  # else a no-op (every heartbeat of a master calls it)
            self._orphan_watch = None
        super()._set_node_as_master(peer)

    def _remove_replica(self, master: PeerView, name: str) -> None:
        super()._remove_replica(master, name)
        self._orphan_watch = None

    def update_state(self) -> None:
        self._orphan_watch = None  # a FAIL (always followed by this) may orphan a master
        super().update_state()

    def _mark_pfail(self, peer: PeerView) -> None:
        peer.flags |= PFAIL
        self._pfail_watch[peer] = None

    # ------------------------------------------------------------------ one tick

    def _due_peers(self, now: int, nt: int) -> list[PeerView]:
        """The peers this tick must visit, in node-table order (all of them after a
        restart, a reload or a change of NT)."""
        table = self._peer_list
        if self._cron_full or nt != self._cron_nt or table is not self._cron_table:
            self._cron_full = False
            self._cron_nt = nt
            self._cron_table = table
            self._cron_heap = []
            self._cron_by_seq = [None, *table]
            for seq, peer in enumerate(table, 1):
                peer.seq = seq
                peer.due = None
            self._cron_seq = len(table) + 1
            self._pfail_watch = {p: None for p in table if p.flags & PFAIL}
            self._orphan_watch = None
            return list(table)
        heap = self._cron_heap
        by_seq = self._cron_by_seq
        due: list[PeerView] = []
        limit = (now + 1) << SEQ_BITS  # the entries below it are due: deadline <= now
        while heap and heap[0] < limit:
            key = heappop(heap)
            seq = key & _SEQ_MASK
            filed = by_seq[seq]
            if filed is None or filed.due != key >> SEQ_BITS:
                continue  # a stale entry: the peer was re-filed or removed
            # Most deadlines that come are moot: gossip refreshed the pong time since
            # (only a ping of our own is spared by it). File those again at once.
            actual = cron_deadline(filed, nt)
            if actual > now:
                if actual == NEVER:
                    filed.due = None
                else:
                    filed.due = actual
                    heappush(heap, actual << SEQ_BITS | seq)
                continue
            filed.due = None
            due.append(filed)
        mf_slave = self.mf.slave if (self.mf.end and self.me.flags & MASTER) else None
        if mf_slave is not None:
            slave = self.peers.get(mf_slave)
            if slave is not None and slave not in due:
                due.append(slave)  # pinged every tick during a manual failover (§12)
        if len(due) > 1:
            due.sort(key=_by_seq)
        if self.CRON_AUDIT:
            self._cron_audit(due, now, nt)
        return due

    def _refile(self, visited: list[PeerView]) -> None:
        """After a tick: file again every peer it visited (those still in the table)."""
        peers = self.peers
        for peer in visited:
            if peers.get(peer.name) is peer:
                self._cron_watch(peer)

    def _count_pfail(self) -> int:
        """``stats_pfail_nodes``: PFAIL peers (not NOADDR), from those PFAIL was set on."""
        watch = self._pfail_watch
        count = 0
        gone = []
        for peer in watch:
            flags = peer.flags
            if flags & PFAIL:
                if not flags & NOADDR and peer is not self.me:
                    count += 1
            else:
                gone.append(peer)
        for peer in gone:
            del watch[peer]
        return count

    def _orphaned_masters(self) -> int:
        """How many masters step 3 of the cron counts as orphaned (no working replica,
        ``MIGRATE_TO``, serving slots), looking only at those that had no working
        replica when the roles last changed."""
        watch = self._orphan_watch
        if watch is None:
            watch = self._orphan_watch = [
                p for p in self._peer_list if p.flags & MASTER and self._count_ok_replicas(p) == 0
            ]
        count = 0
        me = self.me
        for peer in watch:
            flags = peer.flags
            if (
                peer is not me
                and flags & MASTER
                and not flags & (FAIL | NOADDR | HANDSHAKE)
                and flags & MIGRATE_TO
                and self.slot_counts.get(peer.index, 0) > 0
                and self._count_ok_replicas(peer) == 0
            ):
                count += 1
        return count

    def _replica_counts(self) -> tuple[int, int, int]:
        """Step 3's full count: orphaned masters, the most working replicas of a master,
        and my master's (only needed when some master is orphaned)."""
        orphaned_masters = max_slaves = this_slaves = 0
        me = self.me
        for peer in self._peer_list:
            flags = peer.flags
            if peer is me or flags & (NOADDR | HANDSHAKE):
                continue
            if flags & MASTER and not flags & FAIL:
                ok = self._count_ok_replicas(peer)
                if ok == 0 and flags & MIGRATE_TO and self.slot_counts.get(peer.index, 0) > 0:
                    orphaned_masters += 1
                if ok > max_slaves:
                    max_slaves = ok
                if me.master == peer.name:
                    this_slaves = ok
        return orphaned_masters, max_slaves, this_slaves

    # ------------------------------------------------------------------ the audit (tests)

    def _cron_audit(self, due: list[PeerView], now: int, nt: int) -> None:
        """Fail if a peer left out of ``due`` needs work this tick, or an aggregate is off.

        Reads only: the two counts it compares prune ``_pfail_watch`` and fill
        ``_orphan_watch`` as a side effect, so both are put back afterwards and an audited
        run does exactly what the run without the audit does (the golden digests are read
        from audited runs: tests/shared_runs.py)."""
        pfail_watch = dict(self._pfail_watch)  # the same entries in the same order
        orphan_watch = self._orphan_watch
        try:
            self._audit_checks(due, now, nt)
        finally:
            self._pfail_watch = pfail_watch
            self._orphan_watch = orphan_watch

    def _audit_checks(self, due: list[PeerView], now: int, nt: int) -> None:
        half = nt // 2
        chosen = set(map(id, due))
        for peer in self._peer_list:
            flags = peer.flags
            if peer is self.me or flags & NOADDR or id(peer) in chosen:
                continue
            ping_sent = peer.ping_sent
            work = (
                (flags & HANDSHAKE and now - peer.ctime > max(nt, 1000))
                or not peer.link
                or (
                    not flags & HANDSHAKE
                    and (
                        (
                            ping_sent
                            and now - peer.link_ctime > nt
                            and now - ping_sent > half
                            and now - peer.data_received > half
                        )
                        or (ping_sent == 0 and now - peer.pong_received > half)
                        or (
                            ping_sent
                            and min(now - ping_sent, now - peer.data_received) > nt
                            and not flags & (PFAIL | FAIL)
                        )
                    )
                )
            )
            assert not work, f"{self.name} t={now}: the deadlines missed {peer.name}"
        pfail = sum(
            1
            for p in self._peer_list
            if p is not self.me and p.flags & PFAIL and not p.flags & NOADDR
        )
        assert self._count_pfail() == pfail, f"{self.name} t={now}: PFAIL count"
        if not self.me.flags & SLAVE:
            return
        assert self._orphaned_masters() == self._replica_counts()[0], (
            f"{self.name} t={now}: orphaned masters"
        )
