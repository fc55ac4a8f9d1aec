"""``sim.views``: builds the frozen views of :mod:`simulator.views.shapes` on request."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from simulator.cluster import Cluster
from simulator.config import DIRECTIVES
from simulator.introspection import cluster_nodes
from simulator.node import Node, PeerView
from simulator.slots import NO_OWNER, hashed_part, key_hash_slot
from simulator.trace import Trace, TraceEvent
from simulator.views.bus import BusLog, MessageQuery, MessageWindow
from simulator.views.bus_spill import BusSpill
from simulator.views.bus_traffic import bus_view
from simulator.views.cache import cache_rows
from simulator.views.elections import ElectionLog
from simulator.views.local_caches import LocalCacheRow, local_cache_rows
from simulator.views.memory import memory_row
from simulator.views.overview import (
    FlagLog,
    Overview,
    observers_flagging,
    overview,
    peer_rows,
    peer_rows_flagged_first,
)
from simulator.views.pending import next_event
from simulator.views.shapes import (
    CheckView,
    ClientView,
    DataPlaneReader,
    ElectionView,
    KeyNodeRow,
    KeyView,
    LessonDriver,
    LessonView,
    NodeRow,
    NodeView,
    PeerRow,
    SettingRow,
    SettingsView,
    SlotMove,
    TruthView,
)
from simulator.views.writes import LostWriteRow, WriteRiskView, lost_row


class ViewSource(Protocol):
    """What the views read of a simulation (``Simulation`` is one): a protocol, so the
    facade can hold its ``Views`` without the two modules importing each other."""

    cluster: Cluster
    trace: Trace
    extras: dict[str, Any]

    @property
    def now(self) -> int: ...
    @property
    def injections(self) -> Sequence[Any]: ...
    @property
    def applied_injections(self) -> int: ...


SETTINGS = (
    "cluster-node-timeout",
    "cluster-replica-validity-factor",
    "repl-ping-replica-period",
    "cluster-require-full-coverage",
    "cluster-replica-no-failover",
    "cluster-allow-reads-when-down",
    "cluster-migration-barrier",
)
"""The directives that explain the timings on screen: PFAIL after NT (§1.3, §8.1),
the failover's data-age limit (§11.2), the cluster state on an uncovered slot (§14)."""


# --------------------------------------------------------------------------- the accessor


class Views:
    """``sim.views``: builds the frozen views on request. Always reads the simulation's
    current cluster, so it stays right across rewinds (which replace the cluster)."""

    def __init__(self, sim: ViewSource) -> None:
        self._sim = sim
        self._truth: TruthView | None = None
        self._truth_of: Cluster | None = None  # held, so its id cannot be reused meanwhile
        self._truth_inputs: object = None  # what the cached truth was computed from
        self._truth_count = 0  # truths computed (their keys differ)
        self._elections = ElectionLog()
        self._bus = BusLog()
        self._spill = BusSpill()
        self._flags = FlagLog()
        self._overview: tuple[Cluster, int, int, Overview] | None = None

    @property
    def _cluster(self) -> Cluster:
        return self._sim.cluster

    # ------------------------------------------------------------------ nodes

    def names(self) -> tuple[str, ...]:
        """Every node, in creation order."""
        return tuple(self._cluster.nodes)

    def live_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self._cluster.live_nodes())

    def node(
        self,
        name: str | None,
        *,
        peers: int = 0,
        peers_from: int = 0,
        flagged_first: bool = False,
    ) -> NodeView | None:
        """``name``'s own view with ``peers`` rows of its peer table from row
        ``peers_from`` (a pane asks for what fits; ``flagged_first``: the peers it flags
        PFAIL/FAIL or holds reports about come first); None if there is no such node."""
        node = self._cluster.nodes.get(name or "")
        if node is None:
            return None
        rows: list[PeerRow] = []
        if peers > 0:
            pick = peer_rows_flagged_first if flagged_first else peer_rows
            rows = [_peer_row(peer) for peer in pick(node, peers_from, peers)]
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
            master_link_status="" if node.is_master else node.repl.link_status(),
            master_last_io_seconds_ago=node.repl.last_io_seconds_ago(self._sim.now),
            slot_table=node.slots.raw(),
            names=self._cluster.names,
            validity_factor=int(node.config.get("cluster-replica-validity-factor")),
            full_coverage=bool(node.config.get("cluster-require-full-coverage")),
            memory=memory_row(node),
            bus=bus_view(self._cluster.bus_stats, node.index, self._sim.now),
            **self._keyspace(node),
        )

    def _keyspace(self, node: Any) -> dict[str, int]:
        dataplane = self._dataplane
        if dataplane is None or node.data is None:
            return {}
        keys, expires, stale = dataplane.keyspace_counts(node)
        return {"keys": keys, "expires": expires, "stale": stale}

    def masters(self) -> tuple[str, ...]:
        """Nodes that are masters in their own view, in creation order."""
        return tuple(n.name for n in self._cluster.nodes.values() if n.is_master)

    def order(self) -> tuple[tuple[str, int], ...]:
        """Masters in creation order, each followed by its replicas: (name, depth)."""
        return tuple((n.name, depth) for n, depth in _topology_order(self._cluster))

    def topology(self, placed: Iterable[tuple[str, int]] | None = None) -> tuple[NodeRow, ...]:
        """Rows for ``placed`` ((name, depth) pairs, e.g. the slice of :meth:`order` a
        pane shows; default every node) with the flags the others hold for each: each
        row costs O(nodes) when the trace ever named the node PFAIL/FAIL (else nobody
        flags it: simulator/views/overview.py), so a pane asks only for the rows it draws."""
        cluster = self._cluster
        partitioned = self.truth().partitioned()
        rows = []
        nodes = cluster.nodes
        if placed is None:
            placed = self.order()
        flags = self._flags
        flags.feed(self._sim.trace.events)
        running = sum(1 for n in nodes.values() if n.status == "running")
        for name, depth in placed:
            node = nodes[name]
            if name in flags.suspects:
                fail, pfail, total = observers_flagging(cluster, node.name)
            else:
                fail, pfail, total = 0, 0, running - (node.status == "running")
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

    def overview(self) -> Overview:
        """Every node's one-word condition in topology order, for a big cluster's
        collapsed topology (simulator/views/overview.py: only the nodes the trace ever
        named PFAIL/FAIL are counted observer by observer). Cached per moment."""
        sim = self._sim
        cluster = sim.cluster
        cached = self._overview
        if cached is not None and cached[:3] == (cluster, sim.now, len(sim.trace)):
            return cached[3]
        self._flags.feed(sim.trace.events)
        partitioned = self.truth().partitioned()
        view = overview(cluster, _topology_order(cluster), self._flags, partitioned, sim.now)
        self._overview = (cluster, sim.now, len(sim.trace), view)
        return view

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

    def fold(self, *, bus: bool = False) -> None:
        """Fold the trace's new events into the incremental logs the views read (the
        overview's flags, the elections; the message index when ``bus``) now, so the
        next view asked for folds only what comes after (a UI calls it between frames)."""
        events = self._sim.trace.events
        self._flags.feed(events)
        self._elections.feed(events)
        if bus:
            self._bus.feed(events)

    # ------------------------------------------------------------------ truth

    def truth(self) -> TruthView:
        """The truth, cached while what it is computed from is unchanged: each node's
        status, role, configEpoch and slot bitset, and the network's groups and cuts
        (:func:`_truth_inputs`, O(nodes) to compare; the table itself is O(slots))."""
        sim = self._sim
        cluster = sim.cluster
        inputs = _truth_inputs(cluster)
        cached = self._truth
        if cached is not None and self._truth_of is cluster and self._truth_inputs == inputs:
            return cached
        owners = cluster.truth_table()
        index = cluster.index
        described = cluster.network.describe()
        counts = Counter(owners)
        self._truth_count += 1
        self._truth = TruthView(
            owners=owners,
            indices=array("H", [NO_OWNER if o is None else index[o] for o in owners]),
            key=(id(cluster), self._truth_count, sim.now),
            names=tuple(cluster.names),
            slot_counts=tuple((o, n) for o, n in counts.items() if o is not None),
            uncovered=counts.get(None, 0),
            alive=tuple(n.name for n in cluster.nodes.values() if n.alive),
            groups=_name_lists(described, "groups"),
            cuts=_name_lists(described, "cuts"),
        )
        self._truth_of = cluster
        self._truth_inputs = inputs
        return self._truth

    # ------------------------------------------------------------------ bus messages

    def messages(self, query: MessageQuery) -> MessageWindow:
        """The bus messages of ``query`` (simulator/views/bus.py), from the trace."""
        self._bus.feed(self._sim.trace.events)
        return self._bus.window(query)

    def spill_bus(self) -> int:
        """Move the heartbeats no message view reads out of memory (a long session of a
        big cluster: simulator/views/bus_spill.py); returns how many are spilled in all.
        Cheap until the trace grew by ``spill.every`` events (or a look left some for the
        next: ``spill.step``), but for the message index, fed with what is new. The folds that notice a rewind by the last event they read
        are fed first (stubs replace old events in place)."""
        spill = self._spill
        events = self._sim.trace.events
        # The index the spill reads, fed at every call: what the slice since the last
        # one traced (at 300 nodes fed only at a look, 20,000 events at once: ~40 ms).
        self._bus.feed(events)
        if not spill.behind and 0 <= len(events) - spill.checked < spill.every:
            return spill.spilled
        self._flags.feed(events)
        self._elections.feed(events)
        spill.compact(self._bus, events)
        return spill.spilled

    def whole_trace(self) -> Iterator[TraceEvent]:
        """The trace's events with every spilled heartbeat read back (for an export)."""
        events = self._sim.trace.events
        self._bus.feed(events)  # notices a rewind's cut, which the spill follows
        self._spill.follow_cut(self._bus)
        return self._spill.events(events)

    # ------------------------------------------------------------------ election

    def election(self) -> ElectionView | None:
        """The newest election folded from the trace, or None before the first one."""
        log = self._elections
        log.feed(self._sim.trace.events)
        if log.latest is None:
            return None
        current = log.elections[log.latest]
        # Who answered (a manual failover's own master votes too, §12) and the live
        # masters really serving slots that may still answer; never a dead bystander.
        answered = {voter for c in current.candidates.values() for voter in (*c.votes, *c.denied)}
        serving = {owner for owner, _ in self.truth().slot_counts}
        voters = tuple(
            n.name
            for n in self._cluster.nodes.values()
            if n.name in answered
            or (
                n.alive
                and n.is_master
                and n.name in serving
                and n.name != current.master
                and n.name not in current.candidates
            )
        )
        candidates = sorted(current.candidates.values(), key=lambda c: (c.rank, c.name))
        return ElectionView(
            current.master,
            current.started,
            current.done,
            tuple(c.frozen() for c in candidates),
            voters,
        )

    # ------------------------------------------------------------------ settings

    def settings(self) -> SettingsView:
        """The directives behind failure detection, failover and coverage (``SETTINGS``),
        the cluster's value of each and the nodes that differ from it."""
        nodes = list(self._cluster.nodes.values())
        rows = []
        for directive in SETTINGS:
            values = [(n.name, n.config.get(directive)) for n in nodes]
            counts = Counter(repr(v) for _, v in values)
            # The most common value; ties go to the one the first node has.
            common = max(values, key=lambda nv: counts[repr(nv[1])])[1] if values else None
            differs = tuple((name, v) for name, v in values if v != common)
            rows.append(SettingRow(directive, common, DIRECTIVES[directive].help, differs))
        return SettingsView(tuple(rows))

    # ------------------------------------------------------------------ data plane and lesson

    @property
    def _dataplane(self) -> DataPlaneReader | None:
        dataplane: DataPlaneReader | None = self._sim.extras.get("dataplane")
        return dataplane

    @property
    def has_dataplane(self) -> bool:
        return self._dataplane is not None

    def client_names(self) -> tuple[str, ...]:
        """The data plane's client endpoints (a partition or a cut may name them)."""
        dataplane = self._dataplane
        return () if dataplane is None else tuple(dataplane.clients)

    def lost_writes(self) -> int:
        dataplane = self._dataplane
        return 0 if dataplane is None else len(dataplane.lost_writes())

    def write_risk(self) -> WriteRiskView | None:
        """Acknowledged writes at risk now and lost so far (None without a data plane)."""
        dataplane = self._dataplane
        if dataplane is None:
            return None
        return WriteRiskView(len(dataplane.at_risk_writes()), len(dataplane.lost_writes()))

    def local_caches(self) -> tuple[LocalCacheRow, ...]:
        """The clients' local caches (client-side caching); empty when none has one."""
        dataplane = self._dataplane
        return () if dataplane is None else local_cache_rows(dataplane.clients)

    def lost_write_rows(self) -> tuple[LostWriteRow, ...]:
        """Every lost write, in the order it was lost: key, who acked it, when, why."""
        dataplane = self._dataplane
        if dataplane is None:
            return ()
        return tuple(lost_row(row) for row in dataplane.lost_writes())

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
        dataplane = self._dataplane
        return ClientView(
            counts is not None,
            tuple((o, totals.get(o, 0)) for o in outcomes),
            self.lost_writes(),
            0 if dataplane is None else len(dataplane.at_risk_writes()),
            cache_rows(self._sim.extras.get("cache")),
            () if dataplane is None else local_cache_rows(dataplane.clients),
        )

    @property
    def lesson(self) -> LessonDriver | None:
        """The scenario driver's live progress (read-only), or None without a lesson."""
        driver: LessonDriver | None = self._sim.extras.get("driver")
        return driver

    def next_event(self) -> str | None:
        """What the next single step will run, in words (None: nothing is queued)."""
        return next_event(self._sim)

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
                    info.get("ttls", {}).get(node.name),
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


def _topology_order(cluster: Cluster) -> list[tuple[Node, int]]:
    nodes = list(cluster.nodes.values())
    replicas: dict[str, list[Node]] = {}
    for node in nodes:
        if not node.is_master and node.master_name is not None:
            replicas.setdefault(node.master_name, []).append(node)
    placed: set[str] = set()
    order: list[tuple[Node, int]] = []
    for master in (n for n in nodes if n.is_master):
        order.append((master, 0))
        placed.add(master.name)
        for node in replicas.get(master.name, ()):
            order.append((node, 1))
            placed.add(node.name)
    order.extend((n, 0) for n in nodes if n.name not in placed)
    return order


def _truth_inputs(cluster: Cluster) -> tuple[object, ...]:
    """Everything :meth:`Views.truth` reads: the node names, each node's status, role,
    configEpoch and own slot bitset (an int compared at C speed), the network's groups
    and cuts. Equal inputs, equal truth."""
    nodes = tuple(
        (node.name, node.status, node.is_master, node.me.config_epoch, node.slot_bits(node.index))
        for node in cluster.nodes.values()
    )
    return nodes, cluster.network.describe(), tuple(cluster.names)


def _name_lists(described: dict[str, object], key: str) -> tuple[tuple[str, ...], ...]:
    """``Network.describe()``'s ``groups`` or ``cuts``: lists of node names."""
    value = described.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(tuple(str(n) for n in item) for item in value if isinstance(item, list))
