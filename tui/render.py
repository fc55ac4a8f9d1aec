"""Rich renderables for each pane, computed from a :class:`tui.model.Session`.

Pure functions of the model (Rich only, no Textual), so the benchmark can time a frame
and the tests can read the text. Colour is never the only signal: flags are words,
owners have a glyph as well as a colour, uncovered slots are ``!`` in reverse video.
"""

from __future__ import annotations

import importlib
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from simulator.cluster import Cluster
from simulator.messages import FAIL, MASTER, PFAIL, SLAVE
from simulator.node import Node
from simulator.slots import CLUSTER_SLOTS, NO_OWNER, format_slot_ranges
from tui.model import OUTCOMES, Session, speed_label
from tui.words import seconds

# 16-colour-safe owner colours (ANSI names survive any palette) and glyphs for monochrome.
OWNER_COLOURS = ("blue", "green", "magenta", "cyan", "yellow", "bright_blue", "bright_green")
OWNER_GLYPHS = ("█", "▓", "▒", "░", "▆", "▄", "▚", "▞", "▇", "▃")
LEVEL_STYLE = {"alert": "bold red", "good": "green", "info": ""}


def owner_style(index: int) -> tuple[str, str]:
    """Glyph and colour for the owner with global index ``index``."""
    return OWNER_GLYPHS[index % len(OWNER_GLYPHS)], OWNER_COLOURS[index % len(OWNER_COLOURS)]


class TruthCache:
    """The truth table (slot → live owner) is costly on big clusters: compute it only when
    the trace grew or half a simulated second passed."""

    def __init__(self) -> None:
        self.key: tuple[int, int, int] | None = None
        self.table: list[str | None] = []

    def get(self, session: Session) -> list[str | None]:
        sim = session.sim
        # Ownership changes come with trace events (promoted, role, update, slot moves);
        # the coarse time term catches the rest within half a simulated second.
        key = (id(sim.cluster), sim.now // 500, len(sim.trace))
        if key != self.key:
            self.table = sim.cluster.truth_table()
            self.key = key
        return self.table


def truth_indices(cluster: Cluster, truth: Sequence[str | None]) -> array:
    """The truth as a node's raw table would hold it (owner index, NO_OWNER), for a C-speed compare."""
    cached = _INDICES.get(id(cluster))
    if cached is not None and cached[0] is truth:
        return cached[1]
    index = cluster.index
    indices = array("H", [NO_OWNER if o is None else index[o] for o in truth])
    _INDICES.clear()
    _INDICES[id(cluster)] = (truth, indices)
    return indices


_INDICES: dict[int, tuple[Sequence[str | None], array]] = {}


# --------------------------------------------------------------------------- header


def header(session: Session, width: int = 80) -> Text:
    sim = session.sim
    state = "▶ playing" if session.playing else "❚❚ paused"
    text = Text()
    text.append(" rcsim ", "bold reverse")
    text.append(f" {session.name or 'cluster'} ", "bold")
    text.append(f" t={seconds(sim.now)} ", "bold cyan")
    text.append(f" {state} {speed_label(session.speed)} ")
    text.append(f" seed {sim.seed} ")
    if session.forks:
        text.append(f" fork {session.forks} ", "yellow")
    if session.break_reason:
        text.append(f" ⏸ break: {session.break_reason} ", "bold reverse red")
    return text


def caption(session: Session) -> Text:
    facts = session.facts
    if not facts.caption:
        description = getattr(session.scenario, "description", None) or ""
        first = description.strip().splitlines()[0] if description.strip() else ""
        return Text(first or "Press ? for help, space to play or pause.", "italic")
    text = Text()
    text.append(f"{seconds(facts.caption_t or 0)}  ", "dim")
    text.append(facts.caption, "bold")
    return text


# --------------------------------------------------------------------------- topology


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


def node_flags(cluster: Cluster, node: Node, partitioned: set[str]) -> list[tuple[str, str]]:
    """Flag words and their style: process status first, then others' beliefs."""
    flags: list[tuple[str, str]] = []
    if node.status != "running":
        flags.append((node.status, "bold reverse red" if node.status == "crashed" else "bold red"))
    if node.name in partitioned:
        flags.append(("partitioned", "bold yellow"))
    fail, pfail, total = _observers_flagging(cluster, node.name)
    if fail:
        flags.append((f"FAIL {fail}/{total}", "bold red"))
    if pfail:
        flags.append((f"pfail {pfail}/{total}", "yellow"))
    if node.state != "ok" and node.alive:
        flags.append(("state:fail", "red"))
    return flags


def partitioned_nodes(cluster: Cluster) -> set[str]:
    described = cluster.network.describe()
    names: set[str] = set()
    groups = described.get("groups") or []
    if isinstance(groups, list) and len(groups) > 1:
        largest = max(groups, key=len)
        for group in groups:
            if group is not largest:
                names.update(str(n) for n in group)
    cuts = described.get("cuts") or []
    if isinstance(cuts, list):
        for pair in cuts:
            names.update(str(n) for n in pair)
    return names


def topology_order(cluster: Cluster) -> list[tuple[Node, int]]:
    """Masters in creation order, each followed by its replicas; (node, depth)."""
    nodes = list(cluster.nodes.values())
    masters = [n for n in nodes if n.is_master]
    placed: set[str] = set()
    order: list[tuple[Node, int]] = []
    for master in masters:
        order.append((master, 0))
        placed.add(master.name)
        for node in nodes:
            if not node.is_master and node.master_name == master.name:
                order.append((node, 1))
                placed.add(node.name)
    order.extend((n, 0) for n in nodes if n.name not in placed)
    return order


def topology(
    session: Session,
    selected: str | None,
    truth: Sequence[str | None],
    height: int | None = None,
    width: int | None = None,
) -> Text:
    cluster = session.sim.cluster
    counts = Counter(truth)
    narrow = width is not None and 0 < width < 50  # drop the offset column, keep the flags
    partitioned = partitioned_nodes(cluster)
    order = topology_order(cluster)
    if height is not None and height >= 2 and len(order) > height - 1:
        index = next((i for i, (n, _) in enumerate(order) if n.name == selected), 0)
        start = max(0, min(index - (height - 1) // 2, len(order) - height + 1))
        order = order[start : start + height - 1]
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(
        "    node  role    slots ep flags\n"
        if narrow
        else "    node  role    slots ep offset flags\n",
        "dim",
    )
    for node, depth in order:
        mark = "▶" if node.name == selected else " "
        glyph, colour = owner_style(node.index)
        line = Text()
        line.append(mark, "bold reverse" if node.name == selected else "")
        if depth:
            line.append(" └")
        else:
            line.append(" ")
            line.append(glyph, colour)
        line.append(f" {node.name:<5}", "bold" if node.is_master else "")
        role = "master" if node.is_master else "replica"
        line.append(f"{role:<7}", "cyan" if node.is_master else "dim")
        slots = f"{counts.get(node.name, 0):>6}" if node.is_master else " " * 6
        line.append(f"{slots} {node.config_epoch:>2}")
        if not narrow:
            line.append(f" {node.repl_offset:>6}")
        for word, style in node_flags(cluster, node, partitioned):
            line.append(" ")
            line.append(word, style)
        text.append_text(line)
        text.append("\n")
    if text.plain.endswith("\n"):
        text.right_crop(1)
    return text


# --------------------------------------------------------------------------- slot strip


def slot_strip(
    session: Session,
    truth: Sequence[str | None],
    cursor: int,
    width: int,
    rows: int = 2,
) -> Text:
    """The 16384 slots as ``rows × width`` cells, each cell the owner of its first slot."""
    cluster = session.sim.cluster
    width = max(8, width)
    cells = width * rows
    per_cell = CLUSTER_SLOTS / cells
    moving: set[int] = set()
    for node in cluster.nodes.values():
        if node.alive:
            moving.update(node.migrating)
            moving.update(node.importing)
    moving_cells = {int(slot / per_cell) for slot in moving}
    cursor_cell = int(cursor / per_cell)
    text = Text(no_wrap=True)
    index_of = cluster.index
    run_chars: list[str] = []
    run_style = ""

    def flush() -> None:
        if run_chars:
            text.append("".join(run_chars), run_style)
            run_chars.clear()

    for row in range(rows):
        for column in range(width):
            cell = row * width + column
            first = int(cell * per_cell)
            last = max(first, int((cell + 1) * per_cell) - 1)
            owners = {truth[first], truth[last]}
            owner = truth[first]
            if None in owners:
                char, style = "!", "bold reverse red"
            elif cell in moving_cells:
                char, style = "»", "bold reverse yellow"
            else:
                glyph, colour = owner_style(index_of.get(owner or "", 0))
                char, style = glyph, colour
            if cell == cursor_cell:
                style = f"{style} underline reverse" if style else "reverse"
                char = "▲" if char not in ("!", "»") else char
            if style != run_style:
                flush()
                run_style = style
            run_chars.append(char)
        flush()
        if row < rows - 1:
            text.append("\n")
    return text


def owner_runs(truth: Sequence[str | None]) -> list[tuple[int, int, str | None]]:
    """Maximal ranges of consecutive slots with one owner (cached for the last table)."""
    if _RUNS and _RUNS[0][0] is truth:
        return _RUNS[0][1]
    runs: list[tuple[int, int, str | None]] = []
    start = 0
    for slot in range(1, CLUSTER_SLOTS + 1):
        if slot == CLUSTER_SLOTS or truth[slot] != truth[start]:
            runs.append((start, slot - 1, truth[start]))
            start = slot
    _RUNS[:] = [(truth, runs)]
    return runs


_RUNS: list[tuple[Sequence[str | None], list[tuple[int, int, str | None]]]] = []


def _run_around(truth: Sequence[str | None], slot: int) -> tuple[int, int]:
    for first, last, _ in owner_runs(truth):
        if first <= slot <= last:
            return first, last
    return slot, slot


def slot_cursor_line(session: Session, truth: Sequence[str | None], cursor: int) -> Text:
    owner = truth[cursor]
    start, end = _run_around(truth, cursor)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"slot {cursor}: ", "bold")
    text.append(f"{start}-{end} → ")
    if owner is None:
        text.append("NOBODY (uncovered)", "bold reverse red")
    else:
        glyph, colour = owner_style(session.sim.cluster.index.get(owner, 0))
        text.append(f"{glyph} {owner}", f"bold {colour}")
    for node in session.sim.cluster.nodes.values():
        if cursor in node.migrating:
            text.append(f"  {node.name} MIGRATING→{node.migrating[cursor]}", "yellow")
        if cursor in node.importing:
            text.append(f"  {node.name} IMPORTING←{node.importing[cursor]}", "yellow")
    uncovered = truth.count(None) if isinstance(truth, list) else 0
    if uncovered:
        text.append(f"  {uncovered} slots uncovered!", "bold reverse red")
    return text


# --------------------------------------------------------------------------- node view


def _flag_words(flags: int) -> str:
    words = []
    if flags & MASTER:
        words.append("master")
    if flags & SLAVE:
        words.append("replica")
    if flags & FAIL:
        words.append("FAIL")
    if flags & PFAIL:
        words.append("pfail")
    return ",".join(words) or "-"


def slot_differences(node: Node, truth: Sequence[str | None], limit: int = 6) -> list[str]:
    """Ranges where ``node``'s own slot map differs from the truth."""
    names = node.cluster.names
    raw = node.slots.raw()
    if raw == truth_indices(node.cluster, truth):
        return []
    diffs: list[tuple[int, int, str | None, str | None]] = []
    for slot in range(CLUSTER_SLOTS):
        owner_index = raw[slot]
        believed = None if owner_index == NO_OWNER else names[owner_index]
        actual = truth[slot]
        if believed == actual:
            continue
        if diffs and diffs[-1][1] == slot - 1 and diffs[-1][2:] == (believed, actual):
            first, _, b, a = diffs[-1]
            diffs[-1] = (first, slot, b, a)
        else:
            diffs.append((slot, slot, believed, actual))
    lines = [
        f"{format_slot_ranges(range(a, b + 1))}: believes {bel or 'nobody'}, truth {act or 'nobody'}"
        for a, b, bel, act in diffs[:limit]
    ]
    if len(diffs) > limit:
        lines.append(f"… {len(diffs) - limit} more differing ranges")
    return lines


def _cluster_nodes_text(cluster: Cluster, name: str) -> str | None:
    try:
        module = importlib.import_module("simulator.introspection")
    except ImportError:
        return None
    function = getattr(module, "cluster_nodes", None)
    if function is None:
        return None
    return str(function(cluster, name))


def node_view(
    session: Session,
    name: str | None,
    truth: Sequence[str | None],
    raw: bool = False,
    max_peers: int = 40,
) -> RenderableType:
    cluster = session.sim.cluster
    node = cluster.nodes.get(name or "")
    if node is None:
        return Text("no node selected (j/k in the topology pane)")
    if raw:
        text = _cluster_nodes_text(cluster, node.name)
        if text is not None:
            return Text(f"CLUSTER NODES on {node.name}\n{text}", no_wrap=True)
    now = session.now
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"{node.name}", "bold")
    head.append(f" {node.status} ", "bold red" if node.status != "running" else "green")
    head.append("master" if node.is_master else f"replica of {node.master_name}")
    head.append("  cluster_state:")
    head.append(node.state, "green" if node.state == "ok" else "bold red")
    head.append(
        f"\ncurrentEpoch {node.current_epoch} lastVoteEpoch {node.last_vote_epoch}"
        f" configEpoch {node.config_epoch} offset {node.repl_offset}"
    )
    rows = Text(no_wrap=True, overflow="ellipsis")
    rows.append(f"{'peer':<6}{'its flags for it':<17}{'ep':>4} {'master':<7}reports (age)\n", "dim")
    shown = 0
    for peer_name, peer in node.peers.items():
        if peer_name == node.name:
            continue
        shown += 1
        if shown > max_peers:
            rows.append(f"… {len(node.peers) - 1 - max_peers} more peers\n", "dim")
            break
        words = _flag_words(peer.flags)
        style = "bold red" if peer.flags & FAIL else "yellow" if peer.flags & PFAIL else ""
        rows.append(f"{peer_name:<6}")
        rows.append(f"{words:<17}", style)
        rows.append(f"{peer.config_epoch:>4} {peer.master or '-':<7}")
        if peer.fail_reports:
            reports = " ".join(
                f"{who}({(now - when) / 1000:.1f}s)" for who, when in peer.fail_reports.items()
            )
            rows.append(reports, "yellow")
        rows.append("\n")
    diffs = slot_differences(node, truth)
    tail = Text()
    if diffs:
        tail.append("slot map differs from the truth:\n", "bold yellow")
        tail.append("\n".join(diffs), "yellow")
    else:
        tail.append("slot map agrees with the truth", "green")
    if node.migrating:
        tail.append(f"\nmigrating: {_slot_map(node.migrating)}", "yellow")
    if node.importing:
        tail.append(f"\nimporting: {_slot_map(node.importing)}", "yellow")
    return Group(head, rows, tail)


def _slot_map(mapping: dict[int, str]) -> str:
    by_peer: dict[str, list[int]] = {}
    for slot, peer in sorted(mapping.items()):
        by_peer.setdefault(peer, []).append(slot)
    return "; ".join(f"{format_slot_ranges(s)} ↔ {p}" for p, s in by_peer.items())


# --------------------------------------------------------------------------- election


def election(session: Session) -> Text:
    facts = session.facts
    text = Text(no_wrap=True, overflow="ellipsis")
    if facts.latest_election is None:
        text.append("No election yet. When a master is marked FAIL, its replicas\n", "dim")
        text.append("rank themselves by offset and ask the masters for votes (§11).", "dim")
        return text
    current = facts.elections[facts.latest_election]
    text.append(f"replacing {current.master}", "bold")
    text.append(f" (since {seconds(current.started)})")
    text.append("  done\n" if current.done else "\n", "green")
    masters = [
        n.name
        for n in session.sim.cluster.nodes.values()
        if n.is_master and n.name != current.master and n.name not in current.candidates
    ]
    for candidate in sorted(current.candidates.values(), key=lambda c: (c.rank, c.name)):
        style = "bold green" if candidate.won else ""
        text.append(f"{candidate.name:<5}", style or "bold")
        text.append(
            f"rank {candidate.rank} off {candidate.offset} delay {candidate.delay_ms}ms "
            f"epoch {candidate.epoch if candidate.epoch is not None else '-'} "
        )
        quorum = candidate.quorum
        votes = len(candidate.votes)
        text.append(
            f"votes {votes}/{quorum if quorum is not None else '?'}",
            "bold green" if quorum and votes >= quorum else "yellow",
        )
        if candidate.won:
            text.append(" WON", "bold green")
        text.append("\n  ")
        for master in masters:
            if master in candidate.votes:
                text.append(f"{master}:✓ ", "green")
            elif master in candidate.denied:
                text.append(f"{master}:✗ ", "red")
            else:
                text.append(f"{master}:· ", "dim")
        text.append("\n")
    if text.plain.endswith("\n"):
        text.right_crop(1)
    return text


# --------------------------------------------------------------------------- clients


def clients(session: Session) -> Text:
    rates = session.request_rates()
    totals = session.request_totals()
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{'':<11}{'/s':>4} {'total':>6}  {'':<11}{'/s':>4} {'total':>6}\n", "dim")
    for row in range(0, len(OUTCOMES), 2):
        for outcome in OUTCOMES[row : row + 2]:
            rate, total = rates.get(outcome, 0.0), totals.get(outcome, 0)
            bad = outcome != "ok" and (rate or total)
            style = "green" if outcome == "ok" and total else ("bold red" if bad else "dim")
            text.append(f"{outcome:<11}{rate:>4.0f} {total:>6}  ", style)
        text.append("\n")
    lost = session.lost_writes()
    text.append("lost writes ", "bold")
    text.append(str(lost), "bold reverse red" if lost else "green")
    if session.dataplane is None:
        text.append("  (no data plane)", "dim")
    return text


# --------------------------------------------------------------------------- expectations


def expectations(session: Session, limit: int = 12) -> Text:
    driver = session.driver
    text = Text(no_wrap=True, overflow="ellipsis")
    results: list[Any] = list(getattr(driver, "results", []) or [])
    if driver is None:
        text.append("no scenario: nothing to check", "dim")
        return text
    if not results:
        text.append("expectations are checked as the lesson reaches them", "dim")
    for result in results[-limit:]:
        mark, style = ("PASS", "green") if result.passed else ("FAIL", "bold red")
        text.append(f"{mark} ", style)
        text.append(f"{seconds(result.at)} {result.condition}: {result.expected}")
        if not result.passed:
            text.append(f" (saw {result.observed})", "red")
        text.append("\n")
    if getattr(driver, "done", False):
        verdict = "all hold" if getattr(driver, "passed", False) else "some failed"
        text.append(f"lesson over: {verdict}", "bold")
    elif text.plain.endswith("\n"):
        text.right_crop(1)
    return text


# --------------------------------------------------------------------------- event log


def event_log(session: Session, lines: int, offset: int = 0) -> Text:
    log = list(session.facts.log)
    end = len(log) - offset
    chosen = log[max(0, end - lines) : max(0, end)]
    text = Text(no_wrap=True, overflow="ellipsis")
    for line in chosen:
        text.append(f"{seconds(line.t):>9} ", "dim")
        style = "bold" if line.kind == "caption" else LEVEL_STYLE.get(line.level, "")
        text.append(("── " if line.kind == "caption" else "") + line.text, style)
        text.append("\n")
    if text.plain.endswith("\n"):
        text.right_crop(1)
    if not chosen:
        text.append("nothing has happened yet", "dim")
    return text
