"""Rich renderables for each pane, computed from a :class:`tui.model.Session`.

Pure functions of the model (Rich only, no Textual), so the benchmark can time a frame
and the tests can read the text. Colour is never the only signal: flags are words,
owners have a glyph as well as a colour, uncovered slots are ``!`` in reverse video.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from simulator.slots import CLUSTER_SLOTS, NO_OWNER, format_slot_ranges
from simulator.views import (
    BusView,
    CheckView,
    ClientView,
    ElectionView,
    KeyView,
    LessonView,
    NodeRow,
    NodeView,
    TruthView,
)
from tui.model import Session, speed_label
from tui.render_slots import (  # re-exported: the panes and tests call render.<name>
    OWNER_COLOURS as OWNER_COLOURS,
)
from tui.render_slots import (
    OWNER_GLYPHS as OWNER_GLYPHS,
)
from tui.render_slots import (
    cell_first as cell_first,
)
from tui.render_slots import (
    cell_of as cell_of,
)
from tui.render_slots import (
    cell_range as cell_range,
)
from tui.render_slots import (
    owner_runs as owner_runs,
)
from tui.render_slots import (
    owner_style as owner_style,
)
from tui.render_slots import (
    slot_cursor_line as slot_cursor_line,
)
from tui.render_slots import (
    slot_strip as slot_strip,
)
from tui.words import check_text, plain, seconds

LEVEL_STYLE = {"alert": "bold red", "good": "green", "info": ""}


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
    if session.stepped:
        text.append(f" stepped: {session.stepped}")
    return text


def wrap(text: str, width: int, indent: int = 0) -> list[str]:
    """``text`` in rows of at most ``width`` cells, later rows indented by ``indent``."""
    width = max(indent + 10, width)
    return textwrap.wrap(text, width, subsequent_indent=" " * indent, break_on_hyphens=False) or [
        ""
    ]


def latest_captions(captions: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """The captions of the latest caption's millisecond (several steps may share it)."""
    if not captions:
        return []
    last = captions[-1][0]
    return [c for c in captions if c[0] == last]


def caption(session: Session, width: int = 80, max_rows: int = 4) -> Text:
    """The latest caption(s), whole: wrapped to ``width``; cut at ``max_rows`` rows with
    a pointer to the caption history (``H``) when even that is too short."""
    facts = session.facts
    shown = latest_captions(facts.captions)
    if not shown:
        scenario = session.scenario
        description = (scenario.description if scenario is not None else None) or ""
        first = description.strip().splitlines()[0] if description.strip() else ""
        return Text(first or "Press ? for help, space to play or pause.", "italic")
    stamp = f"{seconds(shown[0][0])}  "
    head_width = len(stamp)
    wrapped: list[list[str]] = []
    for _, words in shown:
        wrapped.append(wrap(stamp + words, width, head_width))
        stamp = " " * head_width
    if sum(len(w) for w in wrapped) > max_rows:
        # Too long for the bar: every caption of the moment keeps its first rows, so two
        # captions in one millisecond are both seen; the history (H) has them whole.
        share = max(1, max_rows // len(wrapped))
        more = " … (H: whole captions)"
        cut: list[list[str]] = []
        for rows_of_one in wrapped:
            if len(rows_of_one) > share:
                last = rows_of_one[share - 1][: width - 2] + " …"
                rows_of_one = [*rows_of_one[: share - 1], last]
            cut.append(rows_of_one)
        wrapped = cut[:max_rows]
        final = wrapped[-1]
        final[-1] = final[-1].removesuffix(" …")[: max(0, width - len(more))] + more
    rows = [row for w in wrapped for row in w]
    text = Text(no_wrap=True)
    for index, row in enumerate(rows):
        if index:
            text.append("\n")
        head = row[:head_width] if index == 0 else ""
        text.append(head, "dim")
        text.append(row[len(head) :], "bold")
    return text


def caption_history(captions: Sequence[tuple[int, str]]) -> Text:
    """Every caption so far with its time, for the caption history (``H``)."""
    text = Text()
    if not captions:
        text.append("no caption yet", "dim")
    for index, (t, words) in enumerate(captions):
        if index:
            text.append("\n")
        text.append(f"{seconds(t):>9}  ", "dim")
        text.append(words, "bold")
    return text


# --------------------------------------------------------------------------- topology


def node_flags(row: NodeRow) -> list[tuple[str, str]]:
    """Flag words and their style: process status first, then others' beliefs."""
    flags: list[tuple[str, str]] = []
    if row.status != "running":
        flags.append((row.status, "bold reverse red" if row.status == "crashed" else "bold red"))
    if row.partitioned:
        flags.append(("partitioned", "bold yellow"))
    if row.observers_fail:
        flags.append((f"FAIL {row.observers_fail}/{row.observers}", "bold red"))
    if row.observers_pfail:
        flags.append((f"pfail {row.observers_pfail}/{row.observers}", "yellow"))
    if row.state != "ok" and row.alive:
        flags.append(("state:fail", "red"))
    return flags


def topology_window(names: Sequence[str], selected: str | None, height: int) -> slice:
    """The rows of the topology that fit ``height`` lines (one is the heading),
    scrolled to keep ``selected`` in the middle."""
    if height < 2 or len(names) <= height - 1:
        return slice(0, len(names))
    index = names.index(selected) if selected in names else 0
    start = max(0, min(index - (height - 1) // 2, len(names) - height + 1))
    return slice(start, start + height - 1)


def topology(
    rows: Sequence[NodeRow],
    truth: TruthView,
    selected: str | None,
    width: int | None = None,
) -> Text:
    """One line per row (see :func:`topology_window`), ``selected`` marked."""
    counts = dict(truth.slot_counts)
    narrow = width is not None and 0 < width < 50  # drop the offset column, keep the flags
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(topology_heading(narrow), "dim")
    for node in rows:
        text.append_text(topology_row(node, counts, selected, narrow))
        text.append("\n")
    if text.plain.endswith("\n"):
        text.right_crop(1)
    return text


def topology_heading(narrow: bool) -> str:
    return (
        "    node  role    slots ep flags\n"
        if narrow
        else "    node  role    slots ep offset flags\n"
    )


def topology_row(node: NodeRow, counts: dict[str, int], selected: str | None, narrow: bool) -> Text:
    """One node of the topology: mark, owner glyph, name, role, slots, epoch, flags."""
    mark = "▶" if node.name == selected else " "
    glyph, colour = owner_style(node.index)
    line = Text()
    line.append(mark, "bold reverse" if node.name == selected else "")
    if node.depth:
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
    for word, style in node_flags(node):
        line.append(" ")
        line.append(word, style)
    return line


# --------------------------------------------------------------------------- node view


REPORTS_SHOWN = 12
"""Failure reports a peer row lists by name (then ``+N more``): the row is cut at the
pane's edge (60-100 columns), and a 300-node cluster's row for a failed master held
~300 reports, ~3,000 characters that Textual rendered and then cropped in every paint
of the node view (3 ms of the paint's 5, and its redraw, at 300 nodes)."""


def report_words(reports: Sequence[tuple[str, int]], now: int) -> str:
    """``who(age)`` for the first :data:`REPORTS_SHOWN` reports, and how many more."""
    words = " ".join(f"{who}({(now - when) / 1000:.1f}s)" for who, when in reports[:REPORTS_SHOWN])
    more = len(reports) - REPORTS_SHOWN
    return f"{words} +{more} more" if more > 0 else words


DIFF_CHUNK = 256
"""Slots compared at once (two array slices, C speed) before :func:`slot_differences`
looks at the slots of a chunk that differs one by one: after a master's crash every
node's map differs from the truth in that master's slots only, and the 16,384-slot
loop took 5-9 ms of each redraw of the node view at 300 nodes (a frame, a key)."""


def slot_differences(node: NodeView, truth: TruthView, limit: int = 6) -> list[str]:
    """Ranges where ``node``'s own slot map differs from the truth."""
    table, indices = node.slot_table, truth.indices
    if table == indices:
        return []
    diffs: list[tuple[int, int, str | None, str | None]] = []
    owners, names = truth.owners, node.names
    for chunk in range(0, CLUSTER_SLOTS, DIFF_CHUNK):
        end = chunk + DIFF_CHUNK
        if table[chunk:end] == indices[chunk:end]:
            continue  # owner indices equal: the same owners' names
        for slot in range(chunk, end):
            owner_index = table[slot]
            believed = None if owner_index == NO_OWNER else names[owner_index]
            actual = owners[slot]
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


def node_view(
    node: NodeView | None,
    truth: TruthView,
    raw_text: str | None = None,
    max_peers: int = 40,
    first: int = -1,
) -> RenderableType:
    """A node's own view: its state and epochs, its peer table (the first ``max_peers``
    rows of ``node.peers``), how its slot map differs from the truth; or ``raw_text``
    (its CLUSTER NODES) when given. ``first`` >= 0: a big cluster's table, flagged
    peers first, ``node.peers`` starting at row ``first`` (it scrolls)."""
    if node is None:
        return Text("no node selected (j/k in the topology pane)")
    if raw_text is not None:
        return Text(f"CLUSTER NODES on {node.name}\n{raw_text}", no_wrap=True)
    now = node.now
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
    # The settings behind its timings (i lists them all, for every node).
    head.append(
        f"\nNT {node.node_timeout}ms · validity ×{node.validity_factor}"
        f" · full coverage {'yes' if node.full_coverage else 'no'}",
        "dim",
    )
    if node.memory is not None:
        memory = node.memory
        limit = f"{memory.maxmemory:,}" if memory.maxmemory else "no limit"
        head.append(
            f"\nmemory {memory.used:,} / {limit} bytes · {memory.policy}"
            f" · evicted {memory.evicted:,}",
            "bold yellow" if memory.maxmemory and memory.share >= 1 else "",
        )
    if node.bus is not None:
        head.append("\n" + bus_line(node.bus), "dim")
    if node.expires:  # only once keys have TTLs (§26)
        head.append(f"\nkeys {node.keys} · {node.expires} with a TTL")
        if node.stale:
            why = "waits for its master's DEL" if not node.is_master else "not sampled yet"
            head.append(f" · {node.stale} expired but stored ({why})", "yellow")
    rows = Text(no_wrap=True, overflow="ellipsis")
    rows.append(f"{'peer':<6}{'its flags for it':<17}{'ep':>4} {'master':<7}reports (age)\n", "dim")
    for peer in node.peers[:max_peers]:
        style = "bold red" if peer.fail else "yellow" if peer.pfail else ""
        rows.append(f"{peer.name:<6}")
        rows.append(f"{peer.flag_words:<17}", style)
        rows.append(f"{peer.config_epoch:>4} {peer.master or '-':<7}")
        if peer.fail_reports:
            rows.append(report_words(peer.fail_reports, now), "yellow")
        rows.append("\n")
    if first >= 0:
        shown = min(len(node.peers), max_peers)
        rows.append(
            f"peers {first + 1}–{first + shown} of {node.peer_table - 1}, flagged first"
            " (PgUp/PgDn, wheel)\n",
            "dim",
        )
    elif len(node.peers) > max_peers:
        rows.append(f"… {node.peer_table - 1 - max_peers} more peers\n", "dim")
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


def bus_line(bus: BusView) -> str:
    """``bus sent 5.2 msg/s 12.4 kB/s: PING 2.6/s PONG 2.6/s`` (averages since the start)."""
    kinds = " ".join(f"{row.type} {bus.per_s(row.sent):.1f}/s" for row in bus.rows)
    return f"bus sent {bus.per_s(bus.sent):.1f} msg/s {bus.per_s(bus.bytes) / 1000:.1f} kB/s" + (
        f": {kinds}" if kinds else ""
    )


def _slot_map(pairs: Sequence[tuple[int, str]]) -> str:
    by_peer: dict[str, list[int]] = {}
    for slot, peer in pairs:
        by_peer.setdefault(peer, []).append(slot)
    return "; ".join(f"{format_slot_ranges(s)} ↔ {p}" for p, s in by_peer.items())


# --------------------------------------------------------------------------- election


def election(view: ElectionView | None) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if view is None:
        # Short lines: the pane is a third of the screen.
        text.append("No election yet. When a master is\n", "dim")
        text.append("marked FAIL, its replicas rank\n", "dim")
        text.append("themselves by offset and ask the\n", "dim")
        text.append("masters for votes (§11).", "dim")
        return text
    text.append(f"replacing {view.master}", "bold")
    text.append(f" (since {seconds(view.started)})")
    text.append("  done\n" if view.done else "\n", "green")
    for candidate in view.candidates:
        # The votes first: a narrow pane (a third of 140 columns) must still show them.
        style = "bold green" if candidate.won else ""
        text.append(f"{candidate.name:<5}", style or "bold")
        text.append(f"rank {candidate.rank} ")
        quorum = candidate.quorum
        votes = len(candidate.votes)
        text.append(
            f"votes {votes}/{quorum if quorum is not None else '?'}",
            "bold green" if quorum and votes >= quorum else "yellow",
        )
        if candidate.won:
            text.append(" WON", "bold green")
        text.append(
            f"  epoch {candidate.epoch if candidate.epoch is not None else '-'}"
            f" off {candidate.offset} delay {candidate.delay_ms}ms",
            "dim",
        )
        text.append("\n  ")
        voted = {voter for voter, _ in candidate.votes}
        denied = {voter for voter, _ in candidate.denied}
        for master in view.voters:
            if master in voted:
                text.append(f"{master}:✓ ", "green")
            elif master in denied:
                text.append(f"{master}:✗ ", "red")
            else:
                text.append(f"{master}:· ", "dim")
        text.append("\n")
    if text.plain.endswith("\n"):
        text.right_crop(1)
    return text


# --------------------------------------------------------------------------- clients


def clients(view: ClientView, rates: dict[str, float]) -> Text:
    outcomes = [outcome for outcome, _ in view.totals]
    totals = dict(view.totals)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{'':<11}{'/s':>4} {'total':>6}  {'':<11}{'/s':>4} {'total':>6}\n", "dim")
    for row in range(0, len(outcomes), 2):
        for outcome in outcomes[row : row + 2]:
            rate, total = rates.get(outcome, 0.0), totals.get(outcome, 0)
            bad = outcome != "ok" and (rate or total)
            style = "green" if outcome == "ok" and total else ("bold red" if bad else "dim")
            text.append(f"{outcome:<11}{rate:>4.0f} {total:>6}  ", style)
        text.append("\n")
    text.append("at risk ", "bold")
    text.append(str(view.at_risk), "bold yellow" if view.at_risk else "green")
    text.append(" · lost ", "bold")
    text.append(str(view.lost_writes), "bold reverse red" if view.lost_writes else "green")
    if view.lost_writes:
        text.append("  L lists", "dim")
    for cached in view.cache:  # cache-aside clients (docs/caching.md)
        text.append(f"\n{cached.name:<11}", "bold")
        ratio = "-" if cached.hit_ratio is None else f"{cached.hit_ratio:.1%}"
        text.append(
            f"hit {ratio}", "green" if cached.hit_ratio and cached.hit_ratio > 0.9 else "yellow"
        )
        text.append(" · stale ", "bold")
        text.append(str(cached.stale_reads), "bold reverse red" if cached.stale_reads else "green")
        text.append(f" · db {cached.db_reads} reads, queue {cached.db_queue}", "dim")
    for local in view.local_caches:  # client-side caching, CLIENT TRACKING (§27)
        text.append(f"\n{local.client:<11}", "bold")
        reads = local.hits + local.misses
        ratio = f"{local.hit_ratio:.1%}" if reads else "-"
        text.append(f"local {ratio} of {reads}", "green" if local.hit_ratio > 0.9 else "yellow")
        text.append(" · stale ", "bold")
        text.append(str(local.stale), "bold reverse red" if local.stale else "green")
        text.append(f" · {local.invalidations} invalidated, {local.flushes} flushes", "dim")
    if not view.dataplane:
        text.append("  (no data plane)", "dim")
    return text


# --------------------------------------------------------------------------- expectations


def check_row(check: CheckView) -> Text:
    """One check: PASS/FAIL as a word, its time, condition, expectation, what was seen."""
    text = Text()
    mark, style = ("PASS", "green") if check.passed else ("FAIL", "bold red")
    text.append(f"{mark} ", style)
    text.append(f"{seconds(check.at)} {check.condition}: {check_text(check.expected)}")
    if not check.passed:
        text.append(f" (saw {check_text(check.observed)})", "red")
    return text


def verdict_words(view: LessonView) -> str:
    failed = sum(1 for c in view.checks if not c.passed)
    if not view.checks:
        return "lesson over: no checks were made"
    if not failed:
        return f"lesson over: all {len(view.checks)} checks hold"
    return f"lesson over: {failed} of {len(view.checks)} checks failed"


def expectations(view: LessonView | None, rows: int = 6) -> Text:
    """The verdict first once the lesson is over, then the newest checks that fit
    ``rows``, with how many earlier ones ``v`` shows."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if view is None:
        text.append("no scenario: nothing to check", "dim")
        return text
    lines: list[Text] = []
    if view.done:
        lines.append(Text(verdict_words(view), "bold green" if view.passed else "bold reverse red"))
    if not view.checks:
        lines.append(Text("expectations are checked as the lesson reaches them", "dim"))
    room = max(1, rows - len(lines))
    checks = list(view.checks)
    if len(checks) > room:
        hidden = len(checks) - (room - 1)
        lines.append(Text(f"… {hidden} earlier checks (v: all of them)", "dim"))
        checks = checks[hidden:]
    lines.extend(check_row(c) for c in checks)
    return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)


def verdict(view: LessonView | None) -> Text:
    """The whole verdict for the verdict screen: the outcome, then every check."""
    text = Text()
    if view is None:
        text.append("no lesson: nothing was checked", "dim")
        return text
    if view.done:
        text.append(verdict_words(view), "bold green" if view.passed else "bold reverse red")
    else:
        text.append("the lesson is not over yet; the checks so far:", "bold")
    for check in view.checks:
        text.append("\n")
        text.append_text(check_row(check))
    return text


# --------------------------------------------------------------------------- key lookup


def key_lookup(view: KeyView) -> Text:
    """A key's slot and hash tag, its true owner, and each node's belief and reply."""
    text = Text()
    text.append(f"{view.key!r} → slot {view.slot}", "bold")
    text.append(f"  (hash tag {{{view.tag}}})\n" if view.tagged else "  (no hash tag)\n")
    text.append(f"owner (truth): {view.owner or 'NOBODY'}\n")
    for node in view.nodes:
        if not node.alive:
            text.append(f"{node.name:<5} ({node.status})\n", "dim")
            continue
        believed = node.believes
        text.append(f"{node.name:<5} believes {believed or 'nobody':<6}")
        if node.reply is not None:
            reply = node.reply
        elif believed == node.name or (not node.is_master and believed == node.master_name):
            reply = "served here" if believed == node.name else f"MOVED (replica of {believed})"
        elif believed is None:
            reply = "CLUSTERDOWN Hash slot not served"
        else:
            reply = f"MOVED {view.slot} {node.believed_addr or '?'}"
        style = (
            "green" if not reply.startswith(("MOVED", "ASK", "CLUSTERDOWN", "TRY")) else "yellow"
        )
        text.append(f"  GET → {reply}", style)
        if node.ttl_ms is not None and node.ttl_ms >= 0:
            text.append(f"  TTL {node.ttl_ms / 1000:.1f}s")
        elif node.ttl_ms is not None:
            text.append(f"  expired {-node.ttl_ms / 1000:.1f}s ago, still stored", "yellow")
        text.append("\n")
    if view.has_value and view.value is None:
        text.append("no value: the key was never written, or was deleted\n", "bold")
    elif view.has_value:
        shown = f'"{view.value}"' if isinstance(view.value, str) else plain(view.value)
        text.append(f"current value: {shown}\n", "bold")
    elif not view.dataplane:
        text.append("(no data plane: values are not simulated here)\n", "dim")
    return text
