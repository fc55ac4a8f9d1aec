"""The cluster at a glance, for big clusters: every node's one-word condition, cheap.

A topology pane cannot list 1,000 nodes, and counting for each node how many others
flag it PFAIL or FAIL (:func:`observers_flagging`) is O(nodes) per node, O(nodes²) for
the table: ~1,000,000 peer-table reads a frame at 1,000 nodes. :class:`FlagLog` folds the
trace instead (like :class:`simulator.views.elections.ElectionLog`): a node can only be
flagged PFAIL or FAIL by someone after a ``pfail`` or ``fail`` event named it (§8.1,
§8.2: ``clusterCron`` marks PFAIL, ``markNodeAsFailingIfNeeded`` and a FAIL message mark
FAIL, each traced; a peer discovered through gossip, §5.6, or loaded from ``nodes.conf``
copies flags someone set that way before), so only the nodes ever named so far
("suspects") are counted exactly;
every other node is read in O(1) (process status, partition, its own
``cluster_state``). It also keeps when each node last changed role (``role``,
``promoted``), so a pane can show a recent failover.

:class:`Overview` is the result: one :class:`NodeState` per node in topology order
(masters in creation order, each followed by its replicas) and the summary counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from simulator.cluster import Cluster
from simulator.messages import FAIL, PFAIL
from simulator.node import Node, PeerView
from simulator.trace import TraceEvent
from simulator.views.scan import of_kinds

FLAG_KINDS = frozenset(("pfail", "fail"))
ROLE_KINDS = frozenset(("role", "promoted"))
RECENT_ROLE_MS = 10_000  # a role change this recent keeps its node on show

# The condition words, worst first: a node's word is the first that applies.
CONDITIONS = (
    "crashed",
    "stopped",
    "paused",
    "partitioned",
    "fail",
    "pfail",
    "state:fail",
    "ok",
)


@dataclass(frozen=True, slots=True)
class NodeState:
    """One node as a big cluster's overview summarises it."""

    name: str
    depth: int  # 0 master (or unplaced), 1 replica under its master
    shard: str  # the master it is listed under (itself for a master)
    is_master: bool
    condition: str  # one of CONDITIONS: the worst of what follows
    status: str  # the process: running, crashed, paused, stopped
    partitioned: bool
    state: str  # its own cluster_state
    observers_fail: int  # running observers flagging it FAIL
    observers_pfail: int  # ... PFAIL (and not FAIL)
    role_changed: int | None  # when it last changed role (trace time), if ever

    def recent(self, now: int) -> bool:
        """Whether it changed role within the last ``RECENT_ROLE_MS``."""
        return self.role_changed is not None and now - self.role_changed <= RECENT_ROLE_MS

    def notable(self, now: int) -> bool:
        """Something to look at: its process or flags (not ok, and more than its own
        ``cluster_state`` fail: while slots are down every node says so), or a recent
        role change."""
        return self.condition not in ("ok", "state:fail") or self.recent(now)


@dataclass(frozen=True, slots=True)
class Overview:
    """Every node's condition at ``now``, in topology order."""

    now: int
    nodes: tuple[NodeState, ...]

    def counts(self) -> tuple[tuple[str, int], ...]:
        """How many nodes are in each condition (worst first, zeros left out)."""
        tally = dict.fromkeys(CONDITIONS, 0)
        for node in self.nodes:
            tally[node.condition] += 1
        return tuple((word, n) for word, n in tally.items() if n)

    def flagged(self) -> tuple[int, int]:
        """(nodes some running node flags FAIL, nodes flagged PFAIL but by none FAIL),
        whatever their condition (a crashed master is counted here too)."""
        fail = sum(1 for n in self.nodes if n.observers_fail)
        pfail = sum(1 for n in self.nodes if n.observers_pfail and not n.observers_fail)
        return fail, pfail

    def summary(self) -> str:
        """``287 ok · 3 pfail · 1 fail`` (ok first, then the others worst first)."""
        counts = dict(self.counts())
        words = [f"{counts.pop('ok')} ok"] if "ok" in counts else []
        words += [f"{n} {word}" for word, n in counts.items()]
        return " · ".join(words)


def observers_flagging(cluster: Cluster, name: str) -> tuple[int, int, int]:
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


class FlagLog:
    """The nodes ever named by a ``pfail``/``fail`` event and each node's latest role
    change, folded from the trace. Incremental; rebuilt when the trace got shorter."""

    def __init__(self) -> None:
        self.seen = 0
        self.last: TraceEvent | None = None  # events[seen - 1], to notice a rewound trace
        self.suspects: dict[str, None] = {}  # in the order first named
        self.role_changed: dict[str, int] = {}

    def feed(self, events: Sequence[TraceEvent]) -> None:
        if self.seen and (len(events) < self.seen or events[self.seen - 1] is not self.last):
            self.__init__()  # type: ignore[misc]
        suspects, roles = self.suspects, self.role_changed
        for event in of_kinds(events, self.seen, FLAG_KINDS | ROLE_KINDS):
            kind = event["kind"]
            if kind in FLAG_KINDS:
                target = event.get("target")
                if target is not None:
                    suspects[str(target)] = None
            elif kind in ROLE_KINDS:
                roles[str(event.get("node"))] = event["t"]
                if kind == "promoted" and event.get("target") is not None:
                    roles[str(event["target"])] = event["t"]
        self.seen = len(events)
        self.last = events[-1] if events else None


def overview(
    cluster: Cluster,
    order: Iterable[tuple[Node, int]],
    flags: FlagLog,
    partitioned: frozenset[str],
    now: int,
) -> Overview:
    """Every node of ``order`` (topology order) with its condition."""
    counted = {
        name: observers_flagging(cluster, name) for name in flags.suspects if name in cluster.nodes
    }
    roles = flags.role_changed
    states = []
    shard = ""
    for node, depth in order:
        name = node.name
        if depth == 0:
            shard = name
        fail, pfail, _ = counted.get(name, (0, 0, 0))
        states.append(
            NodeState(
                name=name,
                depth=depth,
                shard=shard,
                is_master=node.is_master,
                condition=_condition(node, name in partitioned, fail, pfail),
                status=node.status,
                partitioned=name in partitioned,
                state=node.state,
                observers_fail=fail,
                observers_pfail=pfail,
                role_changed=roles.get(name),
            )
        )
    return Overview(now, tuple(states))


def _condition(node: Node, partitioned: bool, fail: int, pfail: int) -> str:
    """The worst word that applies (``CONDITIONS``), as the topology's flags rank them."""
    if node.status != "running":
        return node.status if node.status in CONDITIONS else "crashed"
    if partitioned:
        return "partitioned"
    if fail:
        return "fail"
    if pfail:
        return "pfail"
    if node.state != "ok":
        return "state:fail"
    return "ok"


def peer_rows_flagged_first(node: Node, start: int, count: int) -> list[PeerView]:
    """``count`` peers of ``node``'s table from ``start``, those it flags PFAIL/FAIL or
    holds failure reports about first (each part in table order), itself left out."""
    flagged: list[PeerView] = []
    rest: list[PeerView] = []
    me = node.name
    for peer in node.peers.values():
        if peer.name == me:
            continue
        if peer.flags & (PFAIL | FAIL) or peer.fail_reports:
            flagged.append(peer)
        else:
            rest.append(peer)
    return (flagged + rest)[start : start + count]


def peer_rows(node: Node, start: int, count: int) -> list[PeerView]:
    """``count`` peers of ``node``'s table from ``start``, in table order, itself left out."""
    rows: list[PeerView] = []
    skipped = 0
    me = node.name
    for peer in node.peers.values():
        if peer.name == me:
            continue
        if skipped < start:
            skipped += 1
            continue
        if len(rows) == count:
            break
        rows.append(peer)
    return rows
