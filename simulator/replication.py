"""One node's replication state, in one home: what src/replication.c keeps in ``server``.

Both halves of replication use it: the bus side (the cluster's wire ships the
stream and PINGs, and the cron reconnects a replica whose link dropped, §6 step 4,
§20.1), and the data plane (PSYNC, the backlog, full resyncs, REPLCONF ACKs,
persistence's replication ID and offset). Elections read it too: the data age and
the rank come from the link and the offset (§11.2, §11.3).

Simplification: the object outlives a restart of its process (as the data plane's
per-node state does); :meth:`Replication.process_restarted` resets what a new process
starts without, and the data plane's ``on_restart`` then sets the history it loaded.
"""

from __future__ import annotations

from collections import deque

from simulator.messages import ReplChunk

Op = tuple[str, str | None, int]
"""One replicated operation: (key, value or None for a delete, version)."""


class Replication:
    """``master_repl_offset``, the link to my master, the replication IDs, the backlog,
    a sync in progress and my replicas' ACKs."""

    __slots__ = (
        "acks",
        "backlog",
        "backlog_from",
        "down_since",
        "fresh",
        "last_interaction",
        "link_up",
        "next_ping",
        "offset",
        "pending",
        "replid",
        "replid2",
        "second_offset",
        "sync_master",
    )

    def __init__(self) -> None:
        # The stream and the link (``master_repl_offset``, ``repl_state``).
        self.offset = 0  # bytes of the stream I produced (master) or processed (replica)
        self.link_up = False  # my link to my master is connected (REPL_STATE_CONNECTED)
        self.last_interaction = 0  # ``master->lastinteraction``: data from my master
        self.down_since = 0  # ``repl_down_since``: when my link to my master dropped
        self.next_ping: int | None = None  # a master's next PING to its replicas (replicationCron)
        # The history (``replid``, ``replid2``, ``second_replid_offset``).
        self.replid = ""
        self.replid2 = ""
        self.second_offset = -1  # psync offsets up to this one are accepted for replid2
        self.fresh = True  # built with the cluster and never synced: adopts its master's ID
        # The backlog: (end offset, ops) of the last ``repl-backlog-size`` bytes.
        self.backlog: deque[tuple[int, tuple[Op, ...]]] = deque()
        self.backlog_from = 0
        # A replica's sync: a full resync in progress, chunks received but not applied.
        self.sync_master: str | None = None
        self.pending: deque[tuple[int, ReplChunk]] = deque()
        # A master's replicas: replica -> (offset, time) of its last REPLCONF ACK.
        self.acks: dict[str, tuple[int, int]] = {}

    # ------------------------------------------------------------------ the stream

    def append(self, nbytes: int) -> int:
        """A master appends ``nbytes`` to its stream; returns the new offset."""
        self.offset += nbytes
        return self.offset

    def append_backlog(self, offset: int, ops: tuple[Op, ...], size: int) -> None:
        """``feedReplicationBacklog``: keep the last ``size`` bytes of the stream."""
        backlog = self.backlog
        backlog.append((offset, ops))
        while backlog and offset - self.backlog_from > size:
            self.backlog_from = backlog.popleft()[0]

    def applied(self, offset: int) -> None:
        """A replica processed its master's stream up to ``offset``."""
        if offset > self.offset:
            self.offset = offset

    def resync(self, offset: int) -> None:
        """A partial or full resync: my stream continues from the master's ``offset`` (§20.1)."""
        self.offset = offset

    def schedule_ping(self, when: int) -> None:
        """A master's next PING to its replicas (``replicationCron``, repl-ping-replica-period)."""
        self.next_ping = when

    # ------------------------------------------------------------------ the link to my master

    def interaction(self, now: int) -> None:
        """Data from my master arrived (``master->lastinteraction``)."""
        self.last_interaction = now

    def connected(self, now: int) -> None:
        """My link to my master is up (§20.1)."""
        self.link_up = True
        self.last_interaction = now

    def broken(self, now: int) -> None:
        """My link dropped (a lost packet, a dead master); the cron reconnects (§6 step 4)."""
        if self.link_up:
            self.link_up = False
            self.down_since = now

    def set_master(self, now: int) -> None:
        """``replicationSetMaster``: the link to my old master (if any) drops now."""
        self.link_up = False
        self.down_since = now

    def unset_master(self) -> None:
        """``replicationUnsetMaster``: I am a master; no link."""
        self.link_up = False

    def data_age(self, now: int, node_timeout: int) -> int:
        """Replication data age in ms with second granularity, less NT once over it (§11.2)."""
        if self.link_up:
            age = (now // 1000 - self.last_interaction // 1000) * 1000
        else:
            age = (now // 1000 - self.down_since // 1000) * 1000
        if age > node_timeout:
            age -= node_timeout
        return age

    # ------------------------------------------------------------------ the history

    def shift_replid(self, new_replid: str) -> None:
        """``shiftReplicationId`` on promotion: the old history is accepted up to here."""
        self.sync_master = None
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.replid = new_replid
        self.fresh = False
        self.acks = {}

    def process_restarted(self) -> None:
        """A new process: no link, offset 0 until the data plane loads one (§21.3)."""
        self.offset = 0
        self.link_up = False
        self.last_interaction = 0
        self.down_since = 0

    def new_history(self, replid: str, offset: int) -> None:
        """Start (or load) a history at ``offset`` with an empty backlog (``loadDataFromDisk``)."""
        self.replid, self.offset = replid, offset
        self.replid2, self.second_offset = "", -1
        self.fresh = False
        self.backlog = deque()
        self.backlog_from = offset
        self.acks = {}

    def applied_offset(self) -> int:
        """The offset of the last write I applied (a replica may have received more)."""
        return self.backlog[-1][0] if self.backlog else self.backlog_from
