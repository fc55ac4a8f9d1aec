"""Which peers the next ``clusterCron`` tick must look at, found by their deadlines.

Redis's ``clusterCron`` (§6) visits every node of the table every 100 ms. Almost none
needs anything: a peer needs work only when its link is missing, its handshake is
older than ``max(NT, 1 s)``, its pong is older than NT/2 with no ping pending, or a
pending ping is older than NT/2 (link refresh) or NT (PFAIL). Each of these is a
deadline computed from the peer's fields, so each node files
its peers in a calendar by deadline (below) and a tick visits only the
peers whose deadline has come, in the order of the node table (``seq`` is the order
:meth:`add_peer` added them, and finds the peer in ``_cron_by_seq``), with
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

The calendar: entries go into buckets of ``2**BUCKET_SHIFT`` ms of deadline (a dict from
``deadline >> BUCKET_SHIFT`` to a list), and a tick takes out every bucket up to the one
holding ``now``, keeping that one's entries not yet due; a deadline already past when it
is filed goes into the next tick's first bucket, at its start. A binary heap did the same with
a sift per entry, ~16 comparisons each reading an int object scattered in memory (a
300-node cluster files ~90,000 of them): most of them cache misses, 8 % of an idle run.
A bucket costs one append to file and one read to take out.
"""

from __future__ import annotations

from operator import attrgetter
from typing import ClassVar, Final

from simulator.messages import FAIL, HANDSHAKE, MASTER, MIGRATE_TO, NOADDR, PFAIL, SLAVE
from simulator.native import mypyc_attr
from simulator.node.migration import ReplicaMigration
from simulator.node.peer import PeerView

NEVER: Final = 1 << 62  # a deadline that never comes (a NOADDR peer: the cron skips it)
# An entry is a peer's ``seq`` (its number in ``_cron_by_seq``); the deadline is the
# peer's ``due``, and an entry is stale unless ``due`` is in the entry's bucket. The seq
# ints are shared by every node (:func:`_shared_seq`): a list of them allocates nothing
# per entry and reads ints that stay in the cache. When the numbers run out, the next
# tick rescans every peer and renumbers them.
BUCKET_SHIFT: Final = 7  # a calendar bucket holds 128 ms of deadlines (a tick is ~100 ms)
_SEQ_LIMIT = (1 << 24) - 1  # the last number add_peer gives (tests lower it)
_SEQ_INTS: list[int] = []  # n -> one int object n, shared by every node's table


def _shared_seq(n: int) -> int:
    """The shared int object for ``n`` (ints are values: sharing changes nothing else)."""
    if n < len(_SEQ_INTS):
        return _SEQ_INTS[n]
    if n < 1 << 16:
        _SEQ_INTS.extend(range(len(_SEQ_INTS), n + 1024))
        return _SEQ_INTS[n]
    return n


_by_seq = attrgetter("seq")
# Flags that take a peer off the common path of :func:`cron_deadline` (an established
# link, no ping pending: the deadline is the NT/2 ping), which the hot loops inline.
_SLOW: Final = NOADDR | HANDSHAKE


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


@mypyc_attr(allow_interpreted_subclasses=True)
class CronDeadlines(ReplicaMigration):
    """The calendar of peer deadlines and the aggregates the cron reads each tick."""

    # tests: check every tick that the deadlines missed no work. A ClassVar, so mypyc
    # (make fast) reads it from the class and a test setting it on the class is obeyed.
    CRON_AUDIT: ClassVar[bool] = False

    def _init_layer(self) -> None:
        super()._init_layer()
        # The calendar: deadline >> BUCKET_SHIFT -> entries (seq of a peer filed there);
        # no bucket below _cron_cursor (the one the last tick left partly due) is used.
        self._cron_cal: dict[int, list[int]] = {}
        self._cron_cursor = 0
        self._cron_by_seq: list[PeerView | None] = [None]  # seq -> peer (None: removed)
        self._cron_seq = 1
        self._cron_full = True  # the next tick scans every peer and re-files them
        self._cron_nt = -1
        self._cron_table: list[PeerView] | None = None  # the node table the calendar indexes
        self._pfail_watch: dict[PeerView, None] = {}  # peers PFAIL was set on
        self._orphan_watch: list[PeerView] | None = None  # None: recompute

    # ------------------------------------------------------------------ filing peers

    def _cron_watch(self, peer: PeerView) -> None:
        """File ``peer`` at its deadline unless it is already filed at or before it.

        Nothing is filed while the next tick is a full scan (it re-files every peer), and
        the deadline is computed with the NT of the last tick: if NT has changed since,
        the next tick is a full scan too (:meth:`_due_peers`)."""
        if self._cron_full:
            return
        if peer.link and not peer.ping_sent and not peer.flags & _SLOW:
            deadline = peer.pong_received + self._cron_nt // 2 + 1  # the NT/2 ping
        else:
            deadline = cron_deadline(peer, self._cron_nt)
        due = peer.due
        if (due is None or deadline < due) and deadline != NEVER and peer is not self.me:
            bucket = deadline >> BUCKET_SHIFT
            cursor = self._cron_cursor
            if bucket < cursor:  # already due: at the next tick's first bucket
                bucket = cursor
                deadline = cursor << BUCKET_SHIFT  # still <= the next tick's now
                if due is not None and deadline >= due:
                    return
            peer.due = deadline
            entries = self._cron_cal.get(bucket)
            if entries is None:
                self._cron_cal[bucket] = [peer.seq]
            else:
                entries.append(peer.seq)

    def add_peer(self, peer: PeerView) -> None:
        super().add_peer(peer)
        seq = self._cron_seq
        if seq <= _SEQ_LIMIT:
            self._cron_seq = seq + 1
            self._cron_by_seq.append(peer)
        else:  # out of numbers: the next tick scans every peer and renumbers them all
            self._cron_full = True
            seq = 0  # filed under seq 0, which names no peer, until then
        peer.seq = _shared_seq(seq)
        peer.due = None
        self._cron_watch(peer)
        if peer.flags & PFAIL:
            self._pfail_watch[peer] = None
        self._orphan_watch = None

    def remove_peer(self, name: str) -> None:
        peer = self.peers.get(name)
        super().remove_peer(name)
        if peer is not None:
            peer.due = None  # its calendar entries are stale from now on
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
            self._cron_cal = {}
            self._cron_cursor = now >> BUCKET_SHIFT
            self._cron_by_seq = [None, *table]
            for seq, peer in enumerate(table, 1):
                peer.seq = _shared_seq(seq)
                peer.due = None
            self._cron_seq = len(table) + 1
            self._pfail_watch = {p: None for p in table if p.flags & PFAIL}
            self._orphan_watch = None
            return list(table)
        due: list[PeerView] = []
        cal = self._cron_cal
        cursor = self._cron_cursor
        last = now >> BUCKET_SHIFT  # the bucket holding now: maybe only partly due
        if cal:
            by_seq = self._cron_by_seq
            half_plus_one = nt // 2 + 1
            keep: list[int] = []  # entries of the last bucket not due yet
            for bucket in range(cursor, last + 1):
                entries = cal.pop(bucket, None)
                if entries is None:
                    continue
                for seq in entries:
                    filed = by_seq[seq]
                    if filed is None:
                        continue  # removed since
                    deadline = filed.due
                    if deadline is None or deadline >> BUCKET_SHIFT != bucket:
                        continue  # a stale entry: the peer was visited or re-filed since
                    if deadline > now:
                        keep.append(seq)  # the last bucket: not due yet
                        continue
                    # Most deadlines that come are moot: gossip refreshed the pong time
                    # since (only a ping of our own is spared by it). File those again.
                    if filed.link and not filed.ping_sent and not filed.flags & _SLOW:
                        actual = filed.pong_received + half_plus_one  # cron_deadline, inlined
                    else:
                        actual = cron_deadline(filed, nt)
                    if actual > now:
                        if actual == NEVER:
                            filed.due = None
                            continue
                        filed.due = actual
                        at = actual >> BUCKET_SHIFT
                        later = cal.get(at)
                        if later is None:
                            cal[at] = [seq]
                        else:
                            later.append(seq)
                        continue
                    filed.due = None
                    due.append(filed)
            if keep:
                later = cal.get(last)
                if later is None:
                    cal[last] = keep
                else:
                    later.extend(keep)
        self._cron_cursor = last
        if self.mf.end and self.me.flags & MASTER and self.mf.slave is not None:
            mf_slave = self.mf.slave
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
