"""A big cluster's topology, collapsed: what to list and how (pure functions).

Above ``COLLAPSE_ABOVE`` nodes the topology pane lists the shards (a master and the
replicas under it) that hold something notable — a node crashed, paused, stopped,
partitioned or flagged FAIL/PFAIL by others, a role change in the last 10 simulated
seconds, the selected node — node by node, and folds each run of quiet shards into one
line (``⋯ n2–n40: 39 shards ok (78 nodes)``). A node whose only trouble is its own
``cluster_state`` fail does not expand its shard (while slots are uncovered every node
says so). A summary line comes first:
``300 nodes: 287 ok · 3 pfail · 1 crashed; flagged 1 FAIL · 3 pfail``. A filter (``N``)
lists only the nodes that match it. The pane draws only the lines that fit
(:func:`window`), and builds the full rows (:meth:`simulator.views.Views.topology`) only
for those."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from simulator.views import CONDITIONS, NodeRow, NodeState, Overview, TruthView
from tui import render

COLLAPSE_ABOVE = 40  # nodes; a lesson's 6-12 nodes are always listed in full

# Filter words that name a condition or a role rather than a node.
STATE_WORDS = (
    *CONDITIONS,  # the overview's condition words (simulator/views/overview.py)
    "master",
    "replica",
    "changed",  # a role change in the last 10 s
    "notable",  # what the collapsed list expands: not ok (beyond state:fail), or changed
)


@dataclass(frozen=True, slots=True)
class NodeFilter:
    """What ``N`` typed: words separated by spaces or commas; a node matches when any
    word does. A word is a condition or role (``STATE_WORDS``), a glob on the name
    (``n1?``, ``n4*``) or else a part of the name (``n45`` also finds ``n145``)."""

    words: tuple[str, ...]

    @classmethod
    def parse(cls, value: str) -> NodeFilter | None:
        """None for an empty filter (every node)."""
        words = tuple(w for w in value.replace(",", " ").lower().split() if w)
        return cls(words) if words else None

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def matches(self, node: NodeState, now: int) -> bool:
        name = node.name.lower()
        for word in self.words:
            if word in STATE_WORDS:
                if _state_matches(word, node, now):
                    return True
            elif any(c in word for c in "*?["):
                if fnmatch.fnmatchcase(name, word):
                    return True
            elif word in name:
                return True
        return False


def _state_matches(word: str, node: NodeState, now: int) -> bool:
    if word == "master":
        return node.is_master
    if word == "replica":
        return not node.is_master
    if word == "changed":
        return node.recent(now)
    if word == "notable":
        return node.notable(now)
    if word == "fail":
        return node.observers_fail > 0
    if word == "pfail":
        return node.observers_pfail > 0
    if word == "partitioned":
        return node.partitioned
    if word == "state:fail":
        return node.status == "running" and node.state != "ok"
    if word == "ok":
        return node.condition == "ok"
    return node.status == word


@dataclass(frozen=True, slots=True)
class NodeLine:
    """One node, listed as the full topology lists it."""

    name: str
    depth: int


@dataclass(frozen=True, slots=True)
class GroupLine:
    """A run of quiet shards, folded: first and last master, shards and nodes."""

    first: str
    last: str
    shards: int
    nodes: int


Line = NodeLine | GroupLine


def collapsed_lines(view: Overview, selected: str | None) -> list[Line]:
    """Notable shards node by node, runs of quiet shards folded into one line each."""
    now = view.now
    shards: list[list[NodeState]] = []
    for node in view.nodes:
        if node.depth == 0 or not shards:
            shards.append([node])
        else:
            shards[-1].append(node)
    lines: list[Line] = []
    quiet: list[list[NodeState]] = []

    def fold() -> None:
        if quiet:
            nodes = sum(len(shard) for shard in quiet)
            lines.append(GroupLine(quiet[0][0].name, quiet[-1][0].name, len(quiet), nodes))
            quiet.clear()

    for shard in shards:
        if any(n.name == selected or n.notable(now) for n in shard):
            fold()
            lines.extend(NodeLine(n.name, n.depth) for n in shard)
        else:
            quiet.append(shard)
    fold()
    return lines


def filtered_lines(view: Overview, node_filter: NodeFilter) -> list[Line]:
    """The nodes ``node_filter`` matches, in topology order."""
    return [NodeLine(n.name, n.depth) for n in view.nodes if node_filter.matches(n, view.now)]


def selected_line(lines: Sequence[Line], selected: str | None) -> int:
    """The index of the selected node's line (0 when it is not listed)."""
    for index, line in enumerate(lines):
        if isinstance(line, NodeLine) and line.name == selected:
            return index
    return 0


def window(count: int, index: int, height: int) -> slice:
    """The lines that fit ``height`` rows, scrolled to keep ``index`` in the middle."""
    if height <= 0 or count <= height:
        return slice(0, count)
    start = max(0, min(index - (height - 1) // 2, count - height))
    return slice(start, start + height)


def summary(view: Overview, node_filter: NodeFilter | None, matched: int) -> Text:
    """``300 nodes: 287 ok · 3 pfail · 1 fail`` (each node once, by its worst
    condition), ``; flagged 2 FAIL · 3 pfail`` (nodes others flag, whatever their
    process does), and the filter when one is set."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{len(view.nodes)} nodes: ", "bold")
    for number, (word, count) in enumerate(_ordered(view)):
        if number:
            text.append(" · ", "dim")
        text.append(f"{count} {word}", "green" if word == "ok" else _STYLE.get(word, "yellow"))
    fail, pfail = view.flagged()  # whatever their process does: a dead master too
    if fail or pfail:
        text.append("; flagged ", "dim")
        if fail:
            text.append(f"{fail} FAIL", "bold red")
        if pfail:
            text.append(" · " if fail else "", "dim")
            text.append(f"{pfail} pfail", "yellow")
    if node_filter is not None:
        text.append(f"\nfilter {node_filter.text!r}: {matched} match (N: change, empty: all)")
    return text


_STYLE = {"crashed": "bold red", "fail": "bold red", "stopped": "red", "paused": "red"}


def _ordered(view: Overview) -> list[tuple[str, int]]:
    counts = dict(view.counts())
    ok = [("ok", counts.pop("ok"))] if "ok" in counts else []
    return ok + list(counts.items())


def group_line(line: GroupLine) -> Text:
    """``  ⋯ n2–n40: 39 shards ok (78 nodes)``."""
    span = line.first if line.shards == 1 else f"{line.first}–{line.last}"
    shards = "shard" if line.shards == 1 else "shards"
    return Text(f"  ⋯ {span}: {line.shards} {shards} ok ({line.nodes} nodes)", "dim")


def collapsed_topology(
    head: Text,
    lines: Sequence[Line],
    rows: Sequence[NodeRow],
    truth: TruthView,
    selected: str | None,
    width: int,
) -> Text:
    """The summary ``head``, the heading, then ``lines`` (the window that fits): nodes
    as the full topology draws them (``rows``, in the same order), folded runs dimmed."""
    counts = dict(truth.slot_counts)
    narrow = 0 < width < 50
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append_text(head)
    text.append("\n")
    text.append(render.topology_heading(narrow), "dim")
    by_name = {row.name: row for row in rows}
    for number, line in enumerate(lines):
        if number:
            text.append("\n")
        if isinstance(line, GroupLine):
            text.append_text(group_line(line))
        else:
            text.append_text(render.topology_row(by_name[line.name], counts, selected, narrow))
    if not lines:
        text.append("no node matches the filter", "dim")
    return text
