"""CLUSTER NODES and CLUSTER INFO as data, and one node's snapshot (its own view).

Parsing follows ``clusterGenNodeDescription`` (cluster.c, §18.1): ``id ip:port@cport[,host]
flags master ping-sent pong-recv config-epoch link-state slot...``, where a slot item is
``N``, ``A-B``, ``[N->-id]`` (migrating) or ``[N-<-id]`` (importing). The ping and pong
columns change on every poll and are kept out of :class:`PeerLine`'s equality so pollers
store changes only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CLUSTER_SLOTS = 16384

FLAG_WORDS = {"slave": "replica", "fail?": "pfail"}
"""CLUSTER NODES flag words in the scenario vocabulary (§2.2)."""


@dataclass(frozen=True, slots=True)
class PeerLine:
    """One line of CLUSTER NODES."""

    node_id: str
    address: str
    flags: frozenset[str]
    master_id: str | None
    config_epoch: int
    link: str
    slots: tuple[int, ...] = ()
    migrating: tuple[tuple[int, str], ...] = ()
    importing: tuple[tuple[int, str], ...] = ()

    @property
    def is_master(self) -> bool:
        return "master" in self.flags


def _slot_items(
    items: list[str],
) -> tuple[tuple[int, ...], list[tuple[int, str]], list[tuple[int, str]]]:
    slots: list[int] = []
    migrating: list[tuple[int, str]] = []
    importing: list[tuple[int, str]] = []
    for item in items:
        if item.startswith("["):
            body = item.strip("[]")
            if "->-" in body:
                slot, other = body.split("->-")
                migrating.append((int(slot), other))
            elif "-<-" in body:
                slot, other = body.split("-<-")
                importing.append((int(slot), other))
            continue
        if "-" in item:
            low, high = item.split("-")
            slots.extend(range(int(low), int(high) + 1))
        else:
            slots.append(int(item))
    return tuple(slots), migrating, importing


def parse_nodes(text: str) -> tuple[PeerLine, ...]:
    """Every line of a CLUSTER NODES reply (blank lines ignored)."""
    lines: list[PeerLine] = []
    for raw in text.splitlines():
        parts = raw.split()
        if len(parts) < 8:
            continue
        flags = frozenset(FLAG_WORDS.get(f, f) for f in parts[2].split(",") if f != "noflags")
        slots, migrating, importing = _slot_items(parts[8:])
        lines.append(
            PeerLine(
                node_id=parts[0],
                address=parts[1].split(",", 1)[0],
                flags=flags,
                master_id=None if parts[3] == "-" else parts[3],
                config_epoch=int(parts[6]),
                link=parts[7],
                slots=slots,
                migrating=tuple(migrating),
                importing=tuple(importing),
            )
        )
    return tuple(lines)


INFO_KEPT = (
    "cluster_state",
    "cluster_slots_assigned",
    "cluster_slots_ok",
    "cluster_slots_pfail",
    "cluster_slots_fail",
    "cluster_known_nodes",
    "cluster_size",
    "cluster_current_epoch",
    "cluster_my_epoch",
)
"""The CLUSTER INFO fields a snapshot keeps (the message counters change every poll)."""


def parse_info(text: str) -> dict[str, str]:
    """``key:value`` lines of CLUSTER INFO (or INFO), comments skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one node reported at one poll, with node IDs turned into scenario names.

    ``peers`` maps a name (or the raw ID of a node the run did not start) to its line.
    """

    name: str
    state: str
    peers: Mapping[str, PeerLine]
    info: Mapping[str, str] = field(default_factory=dict)

    @property
    def me(self) -> PeerLine | None:
        return next((p for p in self.peers.values() if "myself" in p.flags), None)

    def my_slots(self) -> tuple[int, ...]:
        me = self.me
        return () if me is None else me.slots

    def role(self) -> str:
        me = self.me
        return "master" if me is None or me.is_master else "replica"

    def master_name(self, names: Mapping[str, str]) -> str | None:
        me = self.me
        if me is None or me.master_id is None:
            return None
        return names.get(me.master_id, me.master_id)

    def flags_of(self, name: str) -> frozenset[str] | None:
        line = self.peers.get(name)
        return None if line is None else line.flags

    def slot_table(self) -> tuple[str | None, ...]:
        """Slot -> owner name in this node's view (None: unassigned)."""
        table: list[str | None] = [None] * CLUSTER_SLOTS
        for name, line in self.peers.items():
            if line.is_master:
                for slot in line.slots:
                    table[slot] = name
        return tuple(table)


def snapshot(name: str, nodes_text: str, info_text: str, names: Mapping[str, str]) -> Snapshot:
    """A node's poll reply as a :class:`Snapshot`; ``names`` maps node ID -> scenario name."""
    peers = {names.get(p.node_id, p.node_id): p for p in parse_nodes(nodes_text)}
    info = parse_info(info_text)
    kept = {key: info[key] for key in INFO_KEPT if key in info}
    return Snapshot(name, kept.get("cluster_state", "fail"), dict(sorted(peers.items())), kept)


def format_ranges(slots: list[int] | tuple[int, ...]) -> str:
    """``0-5460 5462`` (Redis's notation), ``-`` for none."""
    ordered = sorted(slots)
    if not ordered:
        return "-"
    parts: list[str] = []
    start = previous = ordered[0]
    for slot in ordered[1:]:
        if slot == previous + 1:
            previous = slot
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = slot
    parts.append(str(start) if start == previous else f"{start}-{previous}")
    return " ".join(parts)


ALLOWED_FLAGS = frozenset({"master", "replica", "myself"})


def views_healthy(
    views: Mapping[str, Snapshot], running: Sequence[str], names: Mapping[str, str]
) -> bool:
    """The view part of ``RealCluster.healthy``: every running node answered, is ``ok``,
    knows exactly the running nodes with clean flags and connected links, and all agree on
    the slot table and the roles."""
    if any(n not in views for n in running):
        return False
    tables = set()
    for name in running:
        view = views[name]
        if view.state != "ok" or set(view.peers) != set(running):
            return False
        for line in view.peers.values():
            if line.flags - ALLOWED_FLAGS or line.link != "connected":
                return False
        roles = tuple(
            (n, p.is_master, names.get(p.master_id or "", "")) for n, p in view.peers.items()
        )
        tables.add((view.slot_table(), roles))
    return len(tables) == 1
