"""Frozen, read-only views of a running simulation: the seam UIs read through.

A UI (the TUI, an exporter) asks ``sim.views`` for exactly what one pane shows: one
node's own view of the cluster (``NodeView``), the truth (``TruthView``), the topology
rows, the latest election (``ElectionView``), the clients' counters (``ClientView``),
the lesson's checks (``LessonView``), a key's placement (``KeyView``). Each is a frozen
slotted dataclass built on request, so nothing a UI holds can change the model, and a
pane can compare the view it drew with a new one to skip a redraw. Only this module
reads the cluster's and the nodes' attributes for UIs: those ``docs/architecture.md``
lists as readable, plus ``index``, ``alive``, ``repl_offset`` and ``slots.raw()`` (for a
C-speed comparison of a node's slot map with the truth).

Building must stay cheap (the TUI draws ~10-20 frames a second at 100+ nodes), so
views are per pane, and the truth table is cached until the trace grows or half a
simulated second passes.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from simulator.cluster import Cluster, UnknownNode
from simulator.introspection import cluster_nodes
from simulator.messages import FAIL, MASTER, PFAIL, SLAVE
from simulator.node import Node, PeerView
from simulator.slots import NO_OWNER, hashed_part, key_hash_slot
from simulator.trace import TraceEvent

if TYPE_CHECKING:
    from simulator.simulation import Simulation

__all__ = [
    "CandidateView",
    "CheckView",
    "ClientView",
    "ElectionView",
    "KeyNodeRow",
    "KeyView",
    "LessonDriver",
    "LessonView",
    "NodeRow",
    "NodeView",
    "PeerRow",
    "SlotMove",
    "TruthView",
    "UnknownNode",
    "Views",
]

ELECTION_KINDS = frozenset(
    ("election_scheduled", "election_started", "vote", "vote_denied", "promoted")
)


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
    slot_table: array = field(default_factory=lambda: array("H"), compare=False, repr=False)
    names: Sequence[str] = field(default=(), compare=False, repr=False)

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
    """The newest election: the failed master, its candidates by rank, and the other
    masters (the voters) in creation order."""

    master: str
    started: int
    done: bool
    candidates: tuple[CandidateView, ...]
    voters: tuple[str, ...]


@dataclass
class _Candidate:
    name: str
    rank: int = 0
    offset: int = 0
    delay_ms: int = 0
    scheduled_at: int = 0
    epoch: int | None = None
    quorum: int | None = None
    votes: dict[str, int] = field(default_factory=dict)
    denied: dict[str, str] = field(default_factory=dict)
    won: bool = False

    def frozen(self) -> CandidateView:
        return CandidateView(
            self.name,
            self.rank,
            self.offset,
            self.delay_ms,
            self.scheduled_at,
            self.epoch,
            self.quorum,
            tuple(self.votes.items()),
            tuple(self.denied.items()),
            self.won,
        )


@dataclass
class _Election:
    master: str
    started: int
    candidates: dict[str, _Candidate] = field(default_factory=dict)
    done: bool = False


class ElectionLog:
    """Elections folded from the trace (``election_scheduled`` … ``promoted``), newest
    round per failed master. Incremental; rebuilt when the trace got shorter (rewind)."""

    def __init__(self) -> None:
        self.seen = 0
        self.elections: dict[str, _Election] = {}
        self.latest: str | None = None

    def feed(self, events: Sequence[TraceEvent]) -> None:
        if len(events) < self.seen:
            self.__init__()  # type: ignore[misc]
        for index in range(self.seen, len(events)):
            event = events[index]
            if event["kind"] in ELECTION_KINDS:
                self._one(event)
        self.seen = len(events)

    def _one(self, event: TraceEvent) -> None:
        kind = event["kind"]
        node = str(event.get("node"))
        target = str(event.get("target"))
        if kind == "election_scheduled":
            election = self.elections.get(target)
            if election is None or election.done:
                election = _Election(target, event["t"])
                self.elections[target] = election
            election.candidates[node] = _Candidate(
                node,
                rank=int(event.get("rank", 0)),
                offset=int(event.get("offset", 0)),
                delay_ms=int(event.get("delay_ms", 0)),
                scheduled_at=event["t"],
            )
            self.latest = target
        elif kind == "election_started":
            candidate = self._candidate(target, node)
            if candidate is not None:
                candidate.epoch = event.get("epoch")
                candidate.quorum = event.get("quorum")
                candidate.votes = {}
                candidate.denied = {}
        elif kind in ("vote", "vote_denied"):
            for election in self.elections.values():
                bidder = election.candidates.get(target)
                if bidder is None or election.done:
                    continue
                if kind == "vote":
                    bidder.votes[node] = int(event.get("epoch", 0))
                else:
                    bidder.denied[node] = str(event.get("reason", ""))
        elif kind == "promoted":
            candidate = self._candidate(target, node)
            if candidate is not None:
                candidate.won = True
            election = self.elections.get(target)
            if election is not None:
                election.done = True

    def _candidate(self, master: str, name: str) -> _Candidate | None:
        election = self.elections.get(master)
        return None if election is None else election.candidates.get(name)


# --------------------------------------------------------------------------- clients, lesson, keys


@dataclass(frozen=True, slots=True)
class ClientView:
    """The clients' request counters by outcome and the acknowledged writes lost;
    ``dataplane`` False when the simulation runs the bus only (no clients)."""

    dataplane: bool
    totals: tuple[tuple[str, int], ...]
    lost_writes: int


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


class _Result(Protocol):
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
    def results(self) -> Sequence[_Result]: ...
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


class _DataPlane(Protocol):
    def lost_writes(self) -> list[dict[str, Any]]: ...
    def requests_by_outcome(self) -> dict[str, int]: ...
    def lookup(self, key: str) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- the accessor


class Views:
    """``sim.views``: builds the frozen views on request. Always reads the simulation's
    current cluster, so it stays right across rewinds (which replace the cluster)."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._truth: TruthView | None = None
        self._elections = ElectionLog()

    @property
    def _cluster(self) -> Cluster:
        return self._sim.cluster

    # ------------------------------------------------------------------ nodes

    def names(self) -> tuple[str, ...]:
        """Every node, in creation order."""
        return tuple(self._cluster.nodes)

    def live_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self._cluster.live_nodes())

    def node(self, name: str | None, *, peers: int = 0) -> NodeView | None:
        """``name``'s own view with the first ``peers`` rows of its peer table (a pane
        asks for what fits); None if there is no such node."""
        node = self._cluster.nodes.get(name or "")
        if node is None:
            return None
        rows: list[PeerRow] = []
        if peers > 0:
            for peer in node.peers.values():
                if peer.name == node.name:
                    continue
                if len(rows) == peers:
                    break
                rows.append(_peer_row(peer))
        return NodeView(
            now=self._sim.now,
            name=node.name,
            index=node.index,
            addr=node.addr,
            status=node.status,
            alive=node.alive,
            is_master=node.is_master,
            master_name=node.master_name,
            state=node.state,
            current_epoch=node.current_epoch,
            last_vote_epoch=node.last_vote_epoch,
            config_epoch=node.config_epoch,
            repl_offset=node.repl_offset,
            node_timeout=node.config.node_timeout,
            migrating=tuple(sorted(node.migrating.items())),
            importing=tuple(sorted(node.importing.items())),
            peers=tuple(rows),
            peer_table=len(node.peers),
            slot_table=node.slots.raw(),
            names=self._cluster.names,
        )

    def masters(self) -> tuple[str, ...]:
        """Nodes that are masters in their own view, in creation order."""
        return tuple(n.name for n in self._cluster.nodes.values() if n.is_master)

    def order(self) -> tuple[tuple[str, int], ...]:
        """Masters in creation order, each followed by its replicas: (name, depth)."""
        return tuple((n.name, depth) for n, depth in _topology_order(self._cluster))

    def topology(self) -> tuple[NodeRow, ...]:
        """Every node in topology order with the flags others hold for it (O(nodes²))."""
        cluster = self._cluster
        partitioned = self.truth().partitioned()
        rows = []
        for node, depth in _topology_order(cluster):
            fail, pfail, total = _observers_flagging(cluster, node.name)
            rows.append(
                NodeRow(
                    name=node.name,
                    index=node.index,
                    depth=depth,
                    status=node.status,
                    alive=node.alive,
                    is_master=node.is_master,
                    master_name=node.master_name,
                    state=node.state,
                    config_epoch=node.config_epoch,
                    repl_offset=node.repl_offset,
                    partitioned=node.name in partitioned,
                    observers_fail=fail,
                    observers_pfail=pfail,
                    observers=total,
                )
            )
        return tuple(rows)

    def slot_moves(self) -> tuple[SlotMove, ...]:
        """Every MIGRATING/IMPORTING slot, node by node (its migrating, then importing)."""
        moves: list[SlotMove] = []
        for node in self._cluster.nodes.values():
            alive = node.alive
            for slot, peer in node.migrating.items():
                moves.append(SlotMove(node.name, alive, slot, True, peer))
            for slot, peer in node.importing.items():
                moves.append(SlotMove(node.name, alive, slot, False, peer))
        return tuple(moves)

    def cluster_nodes(self, name: str) -> str:
        """``CLUSTER NODES`` as ``name`` would print it (raises :class:`UnknownNode`)."""
        return cluster_nodes(self._cluster, name)

    # ------------------------------------------------------------------ truth

    def truth(self) -> TruthView:
        """The truth, cached: ownership changes come with trace events (promoted, role,
        slot moves); the coarse time term catches the rest within half a second."""
        sim = self._sim
        cluster = sim.cluster
        key = (id(cluster), sim.now // 500, len(sim.trace))
        cached = self._truth
        if cached is not None and cached.key == key:
            return cached
        owners = cluster.truth_table()
        index = cluster.index
        described = cluster.network.describe()
        counts = Counter(owners)
        self._truth = TruthView(
            owners=owners,
            indices=array("H", [NO_OWNER if o is None else index[o] for o in owners]),
            key=key,
            names=tuple(cluster.names),
            slot_counts=tuple((o, n) for o, n in counts.items() if o is not None),
            uncovered=counts.get(None, 0),
            alive=tuple(n.name for n in cluster.nodes.values() if n.alive),
            groups=_name_lists(described, "groups"),
            cuts=_name_lists(described, "cuts"),
        )
        return self._truth

    # ------------------------------------------------------------------ election

    def election(self) -> ElectionView | None:
        """The newest election folded from the trace, or None before the first one."""
        log = self._elections
        log.feed(self._sim.trace.events)
        if log.latest is None:
            return None
        current = log.elections[log.latest]
        voters = tuple(
            n.name
            for n in self._cluster.nodes.values()
            if n.is_master and n.name != current.master and n.name not in current.candidates
        )
        candidates = sorted(current.candidates.values(), key=lambda c: (c.rank, c.name))
        return ElectionView(
            current.master,
            current.started,
            current.done,
            tuple(c.frozen() for c in candidates),
            voters,
        )

    # ------------------------------------------------------------------ data plane and lesson

    @property
    def _dataplane(self) -> _DataPlane | None:
        dataplane: _DataPlane | None = self._sim.extras.get("dataplane")
        return dataplane

    @property
    def has_dataplane(self) -> bool:
        return self._dataplane is not None

    def lost_writes(self) -> int:
        dataplane = self._dataplane
        return 0 if dataplane is None else len(dataplane.lost_writes())

    def request_counts(self) -> dict[str, int] | None:
        """Requests so far by outcome, or None without a data plane."""
        dataplane = self._dataplane
        if dataplane is None:
            return None
        return {str(k): int(v) for k, v in dataplane.requests_by_outcome().items()}

    def clients(self, outcomes: Iterable[str], fallback: dict[str, int]) -> ClientView:
        """Counters for ``outcomes`` (``fallback``, e.g. counted from the trace, when
        there is no data plane)."""
        counts = self.request_counts()
        totals = fallback if counts is None else counts
        return ClientView(
            counts is not None,
            tuple((o, totals.get(o, 0)) for o in outcomes),
            self.lost_writes(),
        )

    @property
    def lesson(self) -> LessonDriver | None:
        """The scenario driver's live progress (read-only), or None without a lesson."""
        driver: LessonDriver | None = self._sim.extras.get("driver")
        return driver

    def checks(self, limit: int = 12) -> LessonView | None:
        """The newest ``limit`` checks of the lesson, or None without a lesson."""
        driver = self.lesson
        if driver is None:
            return None
        checks = tuple(
            CheckView(r.at, r.condition, r.expected, r.observed, r.passed)
            for r in list(driver.results)[-limit:]
        )
        return LessonView(checks, driver.done, driver.done and driver.passed)

    def key(self, key: str) -> KeyView:
        """Where ``key`` lives: slot, hash tag, the true owner, each node's belief and,
        with a data plane, the reply a fresh client gets from each running node."""
        cluster = self._cluster
        slot = key_hash_slot(key)
        part, tagged = hashed_part(key)
        dataplane = self._dataplane
        info = {} if dataplane is None else dataplane.lookup(key)
        replies: dict[str, str] = info.get("replies", {})
        rows = []
        for node in cluster.nodes.values():
            believed = node.slot_owner(slot) if node.alive else None
            owner = cluster.nodes.get(believed or "")
            rows.append(
                KeyNodeRow(
                    node.name,
                    node.status,
                    node.alive,
                    node.is_master,
                    node.master_name,
                    believed,
                    None if owner is None else owner.addr,
                    replies.get(node.name),
                )
            )
        return KeyView(
            key=key,
            slot=slot,
            tag=part.decode("utf-8", "replace"),
            tagged=tagged,
            owner=cluster.truth_owner(slot),
            nodes=tuple(rows),
            dataplane=dataplane is not None,
            has_value="value" in info,
            value=info.get("value"),
        )


# --------------------------------------------------------------------------- helpers


def _peer_row(peer: PeerView) -> PeerRow:
    return PeerRow(
        name=peer.name,
        flags=peer.flags,
        config_epoch=peer.config_epoch,
        master=peer.master,
        fail_reports=tuple(peer.fail_reports.items()),
        ping_sent=peer.ping_sent,
        pong_received=peer.pong_received,
    )


def _observers_flagging(cluster: Cluster, name: str) -> tuple[int, int, int]:
    """(observers with FAIL, with PFAIL, running observers) for node ``name``."""
    fail = pfail = total = 0
    for other in cluster.nodes.values():
        if other.name == name or other.status != "running":
            continue
        total += 1
        peer = other.peers.get(name)
        if peer is None:
            continue
        if peer.flags & FAIL:
            fail += 1
        elif peer.flags & PFAIL:
            pfail += 1
    return fail, pfail, total


def _topology_order(cluster: Cluster) -> list[tuple[Node, int]]:
    nodes = list(cluster.nodes.values())
    placed: set[str] = set()
    order: list[tuple[Node, int]] = []
    for master in (n for n in nodes if n.is_master):
        order.append((master, 0))
        placed.add(master.name)
        for node in nodes:
            if not node.is_master and node.master_name == master.name:
                order.append((node, 1))
                placed.add(node.name)
    order.extend((n, 0) for n in nodes if n.name not in placed)
    return order


def _name_lists(described: dict[str, object], key: str) -> tuple[tuple[str, ...], ...]:
    """``Network.describe()``'s ``groups`` or ``cuts``: lists of node names."""
    value = described.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(tuple(str(n) for n in item) for item in value if isinstance(item, list))
