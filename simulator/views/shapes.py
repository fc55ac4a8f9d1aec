"""The frozen views themselves: slotted dataclasses a UI can hold, compare and draw,
and the read-only protocols of the add-ons a UI may follow (the lesson driver)."""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from simulator.messages import FAIL, MASTER, PFAIL, SLAVE
from simulator.slots import NO_OWNER
from simulator.views.bus_traffic import BusView
from simulator.views.cache import CacheClientRow
from simulator.views.local_caches import LocalCacheRow
from simulator.views.memory import MemoryRow

# --------------------------------------------------------------------------- node views


@dataclass(frozen=True, slots=True)
class PeerRow:
    """What one node believes about one peer (its ``clusterNode`` for it, §2.1)."""

    name: str
    flags: int
    config_epoch: int
    master: str | None
    fail_reports: tuple[tuple[str, int], ...]  # (reporter, when), in report order
    ping_sent: int
    pong_received: int

    @property
    def fail(self) -> bool:
        return bool(self.flags & FAIL)

    @property
    def pfail(self) -> bool:
        return bool(self.flags & PFAIL)

    @property
    def flag_words(self) -> str:
        """The flags as words (never colour alone): master, replica, FAIL, pfail."""
        words = []
        if self.flags & MASTER:
            words.append("master")
        if self.flags & SLAVE:
            words.append("replica")
        if self.flags & FAIL:
            words.append("FAIL")
        if self.flags & PFAIL:
            words.append("pfail")
        return ",".join(words) or "-"


@dataclass(frozen=True, slots=True)
class NodeView:
    """One node's own view of the cluster at ``now``. ``peers`` is empty unless asked for;
    ``slot_table`` is a reference to the node's live owner array (read it, never write)."""

    now: int
    name: str
    index: int
    addr: str
    status: str
    alive: bool
    is_master: bool
    master_name: str | None
    state: str
    current_epoch: int
    last_vote_epoch: int
    config_epoch: int
    repl_offset: int
    node_timeout: int
    migrating: tuple[tuple[int, str], ...]  # (slot, peer), by slot
    importing: tuple[tuple[int, str], ...]
    peers: tuple[PeerRow, ...] = ()  # the first ones of its peer table, itself left out
    peer_table: int = 0  # entries in its peer table (itself included), however many are built
    master_link_status: str = ""  # INFO replication on a replica: "up" or "down"; "" on a master
    master_last_io_seconds_ago: int = -1  # INFO replication: -1 unless the link is up
    slot_table: array = field(default_factory=lambda: array("H"), compare=False, repr=False)
    names: Sequence[str] = field(default=(), compare=False, repr=False)
    validity_factor: int = 10  # cluster-replica-validity-factor (§11.2)
    full_coverage: bool = True  # cluster-require-full-coverage (§14)
    memory: MemoryRow | None = None  # with maxmemory set (§25)
    bus: BusView | None = None  # what it sent on the bus so far, by type (views/bus_traffic.py)
    keys: int = 0  # DBSIZE (with a data plane)
    expires: int = 0  # keys with a TTL (INFO keyspace's expires=)
    stale: int = 0  # keys whose TTL passed that it still stores (§26.2, §26.3)

    def slot_owner(self, slot: int) -> str | None:
        """The owner of ``slot`` in this node's own view."""
        owner = self.slot_table[slot]
        return None if owner == NO_OWNER else self.names[owner]


@dataclass(frozen=True, slots=True)
class NodeRow:
    """One node as the topology pane lists it: the process as it really is, its role in
    its own view, and how many running observers flag it PFAIL or FAIL."""

    name: str
    index: int
    depth: int  # 0 master (or unplaced), 1 replica under its master
    status: str
    alive: bool
    is_master: bool
    master_name: str | None
    state: str
    config_epoch: int
    repl_offset: int
    partitioned: bool
    observers_fail: int
    observers_pfail: int
    observers: int


@dataclass(frozen=True, slots=True)
class SlotMove:
    """A slot a node has in MIGRATING or IMPORTING state (``CLUSTER SETSLOT``, §9)."""

    node: str
    alive: bool
    slot: int
    migrating: bool  # False: importing
    peer: str


@dataclass(frozen=True, slots=True)
class TruthView:
    """What is really true: each slot's owner (the live master claiming it with the
    highest configEpoch), who is alive, the network's partitions and cuts."""

    owners: list[str | None] = field(compare=False, repr=False)  # slot -> owner; never write
    indices: array = field(compare=False, repr=False)  # the same as owner indices / NO_OWNER
    key: tuple[int, int, int]  # identity of the table: equal keys, equal tables
    names: tuple[str, ...]  # global node index -> name
    slot_counts: tuple[tuple[str, int], ...]  # owner -> slots it really owns
    uncovered: int  # slots nobody live owns
    alive: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    cuts: tuple[tuple[str, ...], ...]  # (source, target) of each one-way cut

    def index_of(self, name: str | None) -> int:
        """The global index of ``name`` (its colour and glyph); 0 when unknown."""
        if name is None:
            return 0
        try:
            return self.names.index(name)
        except ValueError:
            return 0

    def slot_count(self, name: str) -> int:
        """How many slots ``name`` really owns."""
        return next((n for owner, n in self.slot_counts if owner == name), 0)

    def partitioned(self) -> frozenset[str]:
        """Nodes outside the largest partition group, and both ends of every cut."""
        names: set[str] = set()
        if len(self.groups) > 1:
            largest = max(self.groups, key=len)
            for group in self.groups:
                if group is not largest:
                    names.update(group)
        for pair in self.cuts:
            names.update(pair)
        return frozenset(names)


# --------------------------------------------------------------------------- elections


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One replica's bid to replace a failed master (§11.2-11.4)."""

    name: str
    rank: int
    offset: int
    delay_ms: int
    scheduled_at: int
    epoch: int | None
    quorum: int | None
    votes: tuple[tuple[str, int], ...]  # (voter, epoch)
    denied: tuple[tuple[str, str], ...]  # (voter, reason)
    won: bool


@dataclass(frozen=True, slots=True)
class ElectionView:
    """The newest election: the failed master, its candidates by rank, and the voters in
    creation order: the masters that answered a candidate (a manual failover's own master
    too, §12) and the live masters serving slots that have not (yet)."""

    master: str
    started: int
    done: bool
    candidates: tuple[CandidateView, ...]
    voters: tuple[str, ...]


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class SettingRow:
    """One directive: the cluster's value (what most nodes have, ties to the first node)
    and the nodes whose own value differs from it (``CONFIG SET`` on one node)."""

    directive: str
    value: object
    meaning: str
    differs: tuple[tuple[str, object], ...]  # (node, its value), in creation order


@dataclass(frozen=True, slots=True)
class SettingsView:
    """The directives behind the timings a learner sees (§1.2, §1.3, §11.2, §14)."""

    rows: tuple[SettingRow, ...]

    def value(self, directive: str, node: str | None = None) -> object:
        """The cluster's value of ``directive``, or ``node``'s own when given."""
        row = next(r for r in self.rows if r.directive == directive)
        return dict(row.differs).get(node or "", row.value)


# --------------------------------------------------------------------------- clients, lesson, keys


@dataclass(frozen=True, slots=True)
class ClientView:
    """The clients' request counters by outcome and the acknowledged writes lost;
    ``dataplane`` False when the simulation runs the bus only (no clients)."""

    dataplane: bool
    totals: tuple[tuple[str, int], ...]
    lost_writes: int
    at_risk: int = 0  # acknowledged, seen by readers, on no replica yet (§20.2)
    cache: tuple[CacheClientRow, ...] = ()  # cache-aside clients (docs/caching.md)
    local_caches: tuple[LocalCacheRow, ...] = ()  # client-side caching (§27)


@dataclass(frozen=True, slots=True)
class CheckView:
    """One evaluated expectation of the lesson."""

    at: int
    condition: str
    expected: str
    observed: str
    passed: bool


@dataclass(frozen=True, slots=True)
class LessonView:
    """The lesson's checks so far (the newest ``limit``), and whether it is over."""

    checks: tuple[CheckView, ...]
    done: bool
    passed: bool


@dataclass(frozen=True, slots=True)
class KeyNodeRow:
    """One node's answer for a key: where it believes the slot lives, and the reply a
    fresh client got from it (``None`` when no data plane probed it)."""

    name: str
    status: str
    alive: bool
    is_master: bool
    master_name: str | None
    believes: str | None
    believed_addr: str | None
    reply: str | None
    ttl_ms: int | None = None  # TTL left on this node (< 0: expired, still stored; §26.3)


@dataclass(frozen=True, slots=True)
class KeyView:
    key: str
    slot: int
    tag: str
    tagged: bool
    owner: str | None
    nodes: tuple[KeyNodeRow, ...]
    dataplane: bool
    has_value: bool
    value: object = None


class CheckResult(Protocol):
    @property
    def at(self) -> int: ...
    @property
    def condition(self) -> str: ...
    @property
    def expected(self) -> str: ...
    @property
    def observed(self) -> str: ...
    @property
    def passed(self) -> bool: ...


class LessonDriver(Protocol):
    """The scenario driver's progress, as a UI may read it (read-only)."""

    @property
    def results(self) -> Sequence[CheckResult]: ...
    @property
    def next_step(self) -> int: ...
    @property
    def current(self) -> int | None: ...
    @property
    def step_start(self) -> int: ...
    @property
    def previous_start(self) -> int: ...
    @property
    def done(self) -> bool: ...
    @property
    def passed(self) -> bool: ...


class DataPlaneReader(Protocol):
    @property
    def clients(self) -> Mapping[str, Any]: ...
    def lost_writes(self) -> list[dict[str, Any]]: ...
    def at_risk_writes(self) -> list[dict[str, Any]]: ...
    def requests_by_outcome(self) -> dict[str, int]: ...
    def lookup(self, key: str) -> dict[str, Any]: ...
    def keyspace_counts(self, node: Any) -> tuple[int, int, int]: ...
