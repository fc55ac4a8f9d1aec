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
from typing import TYPE_CHECKING, NamedTuple

from simulator.messages import ReplChunk

if TYPE_CHECKING:
    from simulator.links import Link

Op = tuple[str, str | None, int]
"""One replicated operation: (key, value or None for a delete, version)."""


class ExpireOp(NamedTuple):
    """``PEXPIREAT key at_ms`` on the replication stream (``PERSIST key`` when ``at_ms``
    is None): a master replicates every TTL as an absolute unix-ms time (§26.1)."""

    key: str
    at_ms: int | None


StreamOp = Op | ExpireOp
"""What a replication stream (and the backlog) carries."""

UNIX_BASE_MS = 1_795_000_000_000
"""The simulated wall clock's origin (``server.unixtime`` at simulated time 0), fixed so
output is deterministic. A ``repl_down_since`` of "never" ages from the Unix epoch."""

# ``server.repl_state`` (server.h). Connecting and the PSYNC handshake take one round
# trip on loopback, which rcsim treats as instant: a link passes through "handshake"
# within one call and rests only in the other states.
REPL_NONE = "none"  # I am a master
REPL_CONNECT = "connect"  # must connect to my master (replicationCron tries once a second)
REPL_HANDSHAKE = "handshake"  # connected; PING, REPLCONF, PSYNC under way
REPL_TRANSFER = "transfer"  # a full sync: receiving and loading the master's RDB
REPL_CONNECTED = "connected"  # streaming: ``server.master`` exists

RDB_KEY_OVERHEAD_BYTES = 9
"""Bytes an RDB spends per string key besides the key and value: a type byte, two
length prefixes and, typically, a few bytes of encoding (rdb.c, ``rdbSaveKeyValuePair``)."""

CALIBRATION_FULL_SYNC_KEY_NS = 1_440
"""Calibration: what a full sync costs per key besides its bytes (the child's encoding,
the replica's parse and insert), 1.44 µs. Fitted together with
:data:`CALIBRATION_RDB_BYTES_PER_MS` to real 7.0.15 diskless syncs on loopback, from the
child's fork to the replica's "Finished with success", of 1-2 M keys of 10 B values and
30-100 k keys of 1,000 B (``tests/data/full-sync-size.json`` ``fit``, medians of 3;
``benchmarks/realredis_full_sync.py``); checked against its 100 B datasets (``check``:
0.87-0.93 of the real durations) by tests/test_full_sync_cost.py."""

CALIBRATION_RDB_BYTES_PER_MS = 190_000
"""Calibration: the RDB's bytes a full sync streams and loads per ms besides the per-key
cost (190 MB/s on loopback), fitted with :data:`CALIBRATION_FULL_SYNC_KEY_NS`. Replaces a
100 MB/s that was never measured and, alone, was 0.2-1.8 of the real durations."""


def rdb_transfer_ms(keys: int, size: int) -> int:
    """How long a full sync of ``keys`` keys and an RDB of ``size`` bytes takes from the
    child's fork until the replica has loaded it, whole ms (rounded up). Simplified: an
    empty dataset costs 0, where Redis spends a few ms on the fork, the connection and
    the replica's flush (4-5 ms for 1,000 keys against 1.6 here, docs/fidelity.md)."""
    if not keys:
        return 0
    scaled = keys * CALIBRATION_FULL_SYNC_KEY_NS * CALIBRATION_RDB_BYTES_PER_MS + size * 1_000_000
    return -(-scaled // (1_000_000 * CALIBRATION_RDB_BYTES_PER_MS))


def full_sync_transfer_ms(keys: dict[str, tuple[str, int]]) -> int:
    """How long the RDB of a dataset takes to stream and load (after the
    ``repl-diskless-sync-delay`` wait): :func:`rdb_transfer_ms` of its keys and size."""
    size = sum(len(k) + len(v) + RDB_KEY_OVERHEAD_BYTES for k, (v, _) in keys.items())
    return rdb_transfer_ms(len(keys), size)


REPL_BLOCK_PAYLOAD_BYTES = 20_440
"""A block of the replication buffer holds this much of the stream (``feedReplicationBuffer``,
replication.c): a write under ``PROTO_REPLY_CHUNK_BYTES`` (16 kB) allocates 16,384 bytes
plus the 40-byte ``replBufBlock`` header, which jemalloc rounds up to its 20,480 class,
and the block takes over the slack (``tail->size = usable_size - sizeof(replBufBlock)``)."""

REPL_BLOCK_MEMORY_BYTES = 20_504
"""What one block adds to ``server.repl_buffer_mem``: the 20,480-byte allocation and its
24-byte ``listNode`` (``feedReplicationBuffer``; trimming subtracts the same sum)."""


def repl_buffer_mem(fed: int, backlog_size: int) -> int:
    """``server.repl_buffer_mem`` after ``fed`` bytes of stream since the backlog was created.

    Blocks of :data:`REPL_BLOCK_PAYLOAD_BYTES` fill one after the other;
    ``incrementalTrimReplicationBacklog`` frees the first block while the backlog would
    still hold more than ``repl-backlog-size`` without it (and never the last block).
    Simplified: a single write over 16 kB gets a block of its own size in Redis (up to
    ``repl-backlog-size``/16), here it fills standard blocks; no replica lags behind the
    backlog's first block (a lagging replica's reference keeps blocks alive, and the part
    beyond the backlog is its output buffer, §25.1)."""
    if fed <= 0:
        return 0
    size = REPL_BLOCK_PAYLOAD_BYTES
    blocks = -(-fed // size)
    trimmed = min(blocks - 1, max(0, -(-(fed - size - backlog_size) // size)))
    return (blocks - trimmed) * REPL_BLOCK_MEMORY_BYTES


REPL_CRON_MS = 1000
"""``replicationCron`` runs once a second (``run_with_period(1000)`` in serverCron, 7.0)."""

REPL_CRON_TICKS = 10
"""``run_with_period(1000)`` at ``hz`` 10: serverCron calls ``replicationCron`` when
``server.cronloops % 10 == 0``, i.e. on its 1st, 11th, 21st... run since the process
started (cronloops counts from 0 and is incremented at the end of each run). clusterCron
runs in every serverCron run and counts them in its ``iteration`` (1 on the first run),
so replicationCron runs on the 100 ms ticks whose iteration is 1 modulo 10: a 1 s grid
phased from the process's start (§20.5)."""


def repl_cron_runs(iteration: int) -> bool:
    """Whether the cron run numbered ``iteration`` (1 = the process's first) runs
    ``replicationCron`` (§20.5, ``run_with_period(1000)``)."""
    return iteration % REPL_CRON_TICKS == 1


def whole_seconds_idle(unix_origin_ms: int, since: int, now: int) -> int:
    """``server.unixtime - slave->lastinteraction``: both in whole unix seconds, so a
    wait that began late in a second counts that second whole (§20.5)."""
    return (unix_origin_ms + now) // 1000 - (unix_origin_ms + since) // 1000


class Replication:
    """``master_repl_offset``, the link to my master, the replication IDs, the backlog,
    a sync in progress and my replicas' ACKs."""

    __slots__ = (
        "acks",
        "backlog",
        "backlog_from",
        "buffer_from",
        "child_until",
        "down_since",
        "fresh",
        "last_interaction",
        "link",
        "next_cron",
        "next_ping",
        "no_replicas_since",
        "obuf_soft_since",
        "offset",
        "pending",
        "replid",
        "replid2",
        "second_offset",
        "state",
        "streams",
        "sync_id",
        "sync_master",
        "waiting",
    )

    def __init__(self) -> None:
        # The stream and the link (``master_repl_offset``, ``repl_state``).
        self.offset = 0  # bytes of the stream I produced (master) or processed (replica)
        self.state = REPL_NONE  # ``server.repl_state``
        self.last_interaction = 0  # ``master->lastinteraction``: data from my master
        # ``repl_down_since``: when my established link to my master dropped; None is
        # Redis's 0, "never connected, down since ever" (server.c, initServerConfig).
        self.down_since: int | None = None
        self.next_ping: int | None = None  # a master's next PING to its replicas (replicationCron)
        self.next_cron: int | None = None  # a replica's next replicationCron pass
        # The history (``replid``, ``replid2``, ``second_replid_offset``).
        self.replid = ""
        self.replid2 = ""
        self.second_offset = -1  # psync offsets up to this one are accepted for replid2
        self.fresh = True  # built with the cluster and never synced: adopts its master's ID
        # The backlog: (end offset, ops) of the last ``repl-backlog-size`` bytes.
        self.backlog: deque[tuple[int, tuple[StreamOp, ...]]] = deque()
        self.backlog_from = 0
        # The replication buffer's memory (§25.1): the offset at which
        # ``createReplicationBacklog`` ran, None while there is no backlog.
        self.buffer_from: int | None = None
        # A replica's sync: a full resync in progress, chunks received but not applied.
        self.sync_master: str | None = None
        self.sync_id = 0  # which full sync is in progress (the data plane numbers them)
        self.pending: deque[tuple[int, ReplChunk]] = deque()
        # A master's replicas: replica -> (offset, time) of its last REPLCONF ACK.
        self.acks: dict[str, tuple[int, int]] = {}
        # The TCP connections (simulator/links, service REPL): a replica's socket to its
        # master (``server.master->conn``: the stream comes in, REPLCONF ACKs go out)
        # and a master's end of each replica's (``server.slaves``: the stream goes out).
        self.link: Link | None = None
        self.streams: dict[str, Link] = {}
        # ``repl_no_slaves_since``: when my last replica left, I started, or I became a
        # master; ``repl-backlog-ttl`` counts from here (§20.1).
        self.no_replicas_since = 0
        # replica -> when its output buffer went over the soft limit (client-output-buffer-limit)
        self.obuf_soft_since: dict[str, int] = {}
        # A master's full syncs (§20.5): replica -> (its PSYNC's time, the replica's
        # sync_id) for each replica in ``SLAVE_STATE_WAIT_BGSAVE_START``, in arrival
        # order; and when the RDB child serving the last ones ends (-1: none ran yet).
        self.waiting: dict[str, tuple[int, int]] = {}
        self.child_until = -1

    # ------------------------------------------------------------------ the stream

    def append(self, nbytes: int) -> int:
        """A master appends ``nbytes`` to its stream; returns the new offset."""
        self.offset += nbytes
        return self.offset

    def append_backlog(self, offset: int, ops: tuple[StreamOp, ...], size: int) -> None:
        """``feedReplicationBacklog``: keep the last ``size`` bytes of the stream."""
        backlog = self.backlog
        backlog.append((offset, ops))
        while backlog and offset - self.backlog_from > size:
            self.backlog_from = backlog.popleft()[0]

    def create_buffer(self) -> None:
        """``createReplicationBacklog`` unless there is one: a master's first replica
        (``syncCommand``), a replica's partial resync after a restart (§25.1)."""
        if self.buffer_from is None:
            self.buffer_from = self.offset

    def full_sync_buffer(self, offset: int) -> None:
        """A finished full sync: ``replicationAttachToNewMaster`` freed the old backlog and
        ``readSyncBulkPayload`` creates one at the master's ``offset``."""
        self.buffer_from = offset

    @property
    def has_backlog(self) -> bool:
        """``server.repl_backlog != NULL``: created by a first replica's sync (or a
        replica's), gone with the process or after ``repl-backlog-ttl`` (§20.1)."""
        return self.buffer_from is not None

    def buffer_mem(self, backlog_size: int) -> int:
        """``server.repl_buffer_mem``: the blocks holding the stream since the backlog was
        created (0 without a backlog)."""
        if self.buffer_from is None:
            return 0
        return repl_buffer_mem(self.offset - self.buffer_from, backlog_size)

    def backlog_expired(self, now: int, unix_origin_ms: int, ttl_s: int) -> bool:
        """``replicationCron``: a master with a backlog and no replica for more than
        ``repl-backlog-ttl`` whole unix seconds frees it (0: never)."""
        if not ttl_s or not self.has_backlog or self.streams:
            return False
        return whole_seconds_idle(unix_origin_ms, self.no_replicas_since, now) > ttl_s

    def free_backlog(self, new_replid: str) -> None:
        """``freeReplicationBacklog`` after ``repl-backlog-ttl``, with a new replication
        ID and no second one: no replica can PSYNC into the old history any more."""
        self.renew_history(new_replid)
        self.buffer_from = None
        self.backlog = deque()
        self.backlog_from = self.offset

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

    @property
    def link_up(self) -> bool:
        """``repl_state == REPL_STATE_CONNECTED``: ``master_link_status:up``."""
        return self.state == REPL_CONNECTED

    def interaction(self, now: int) -> None:
        """Data from my master arrived (``master->lastinteraction``)."""
        self.last_interaction = now

    def connected(self, now: int) -> None:
        """``replicationCreateMasterClient`` after a partial or a finished full sync: the
        link is up and ``repl_down_since`` goes back to 0 (replication.c)."""
        self.state = REPL_CONNECTED
        self.last_interaction = now
        self.down_since = None

    def handshake(self) -> None:
        """The connect to my master completed; PSYNC decides partial or full."""
        self.state = REPL_HANDSHAKE

    def transfer(self) -> None:
        """PSYNC answered FULLRESYNC: the RDB is on its way (``REPL_STATE_TRANSFER``)."""
        self.state = REPL_TRANSFER

    def broken(self, now: int) -> None:
        """``replicationHandleMasterDisconnection``: an established link dropped (a lost
        packet, a dead master, repl-timeout), so ``repl_down_since`` is now; a handshake
        or transfer that fails (``cancelReplicationHandshake``) leaves it alone."""
        if self.state == REPL_CONNECTED:
            self.down_since = now
        if self.state != REPL_NONE:
            self.state = REPL_CONNECT
            self.sync_master = None  # a transfer in progress is abandoned

    def set_master(self, now: int) -> None:
        """``replicationSetMaster``: an established link to my old master is freed (and
        dates ``repl_down_since``); any handshake or transfer is cancelled."""
        if self.state == REPL_CONNECTED:
            self.down_since = now
        self.state = REPL_CONNECT
        self.sync_master = None
        self.waiting = {}  # disconnectSlaves: my own replicas' clients are freed

    def unset_master(self, now: int) -> None:
        """``replicationUnsetMaster``: I am a master; ``repl_down_since`` is reset to 0 and
        my time without replicas starts now (else a failover would free the backlog
        before the replicas reconnect)."""
        self.no_replicas_since = now
        self.state = REPL_NONE
        self.down_since = None
        self.sync_master = None

    def cron_due(self, now: int) -> bool:
        """Whether a replica's ``replicationCron`` runs now (once a second, from its
        first call)."""
        if self.next_cron is not None and now < self.next_cron:
            return False
        self.next_cron = now + REPL_CRON_MS
        return True

    def timed_out(self, now: int, repl_timeout_s: int) -> bool:
        """``replicationCron``: a connected master silent for over repl-timeout seconds."""
        return (
            self.state == REPL_CONNECTED
            and (now // 1000 - self.last_interaction // 1000) > repl_timeout_s
        )

    def link_status(self) -> str:
        """``master_link_status`` as INFO replication prints it."""
        return "up" if self.state == REPL_CONNECTED else "down"

    def last_io_seconds_ago(self, now: int) -> int:
        """``master_last_io_seconds_ago``: -1 without ``server.master`` (not connected)."""
        if self.state != REPL_CONNECTED:
            return -1
        return now // 1000 - self.last_interaction // 1000

    def down_since_seconds(self, now: int) -> int:
        """``master_link_down_since_seconds``: -1 when never connected."""
        if self.down_since is None:
            return -1
        return now // 1000 - self.down_since // 1000

    def data_age(self, now: int, node_timeout: int) -> int:
        """``clusterHandleSlaveFailover``'s data age (§11.2): since the last interaction
        when connected, else since ``repl_down_since``; second granularity, less NT once
        over it. Never connected ages from the Unix epoch, so no election can pass."""
        now_s = (UNIX_BASE_MS + now) // 1000
        if self.state == REPL_CONNECTED:
            age = (now_s - (UNIX_BASE_MS + self.last_interaction) // 1000) * 1000
        elif self.down_since is None:
            age = now_s * 1000
        else:
            age = (now_s - (UNIX_BASE_MS + self.down_since) // 1000) * 1000
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

    def process_restarted(self, now: int) -> None:
        """A new process: no link, never connected, offset 0 until the data plane loads
        one (§21.3); no replicas since its start (``initServer``)."""
        self.offset = 0
        self.no_replicas_since = now
        self.state = REPL_NONE
        self.last_interaction = 0
        self.down_since = None
        self.next_cron = None
        self.sync_master = None
        self.link = None  # the old process's sockets died with it (TcpNet.host_crashed)
        self.streams = {}
        self.obuf_soft_since = {}
        self.waiting = {}
        self.child_until = -1
        self.buffer_from = None  # the backlog lived in the old process's memory

    def new_history(self, replid: str, offset: int) -> None:
        """Start (or load) a history at ``offset`` with an empty backlog (``loadDataFromDisk``)."""
        self.replid, self.offset = replid, offset
        self.replid2, self.second_offset = "", -1
        self.fresh = False
        self.backlog = deque()
        self.backlog_from = offset
        self.acks = {}

    def load_master_history(self, replid: str, saved_replid: str, saved_offset: int) -> None:
        """A master loaded an RDB that recorded ``saved_replid`` up to ``saved_offset``
        (``loadDataFromDisk``, 7.0): a new ID of its own (``initServerConfig``), the
        saved one accepted as its second up to that offset, the stream rebased there,
        and an empty backlog created before the load, so a PSYNC at exactly the saved
        offset is partial. (The DELs of keys found expired while loading, which Redis
        feeds into that backlog, are not modelled: rcsim keeps no TTL across a restart.)"""
        self.new_history(replid, saved_offset)
        self.replid2, self.second_offset = saved_replid, saved_offset + 1
        self.buffer_from = saved_offset

    def renew_history(self, replid: str) -> None:
        """``changeReplicationId`` and ``clearReplicationId2``: a history nobody shares."""
        self.replid, self.replid2, self.second_offset = replid, "", -1
        self.fresh = False

    def applied_offset(self) -> int:
        """The offset of the last write I applied (a replica may have received more)."""
        return self.backlog[-1][0] if self.backlog else self.backlog_from
