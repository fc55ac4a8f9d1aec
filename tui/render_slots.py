"""The slot strip's renderers: the 16384 slots as cells coloured and glyphed by owner,
and the cursor line that says what the cursor's cell holds (open migrations included).
Pure functions (Rich only), split from :mod:`tui.render`, which re-exports them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from simulator.slots import CLUSTER_SLOTS
from simulator.views import SlotMove, TruthView

# 16-colour-safe owner colours (ANSI names survive any palette) and glyphs for monochrome.
OWNER_COLOURS = ("blue", "green", "magenta", "cyan", "yellow", "bright_blue", "bright_green")
OWNER_GLYPHS = ("█", "▓", "▒", "░", "▆", "▄", "▚", "▞", "▇", "▃")


def owner_style(index: int) -> tuple[str, str]:
    """Glyph and colour for the owner with global index ``index``."""
    return OWNER_GLYPHS[index % len(OWNER_GLYPHS)], OWNER_COLOURS[index % len(OWNER_COLOURS)]


# --------------------------------------------------------------------------- slot strip


def slot_strip(
    truth: TruthView,
    moves: Sequence[SlotMove],
    cursor: int,
    width: int,
    rows: int = 2,
) -> Text:
    """The 16384 slots as ``rows × width`` cells, each cell the owner of its first slot."""
    owners = truth.owners
    width = max(8, width)
    cells = width * rows
    moving_cells = {cell_of(move.slot, cells) for move in moves if move.alive}
    cursor_cell = cell_of(cursor, cells)
    text = Text(no_wrap=True)
    index_of = {name: i for i, name in enumerate(truth.names)}
    run_chars: list[str] = []
    run_style = ""

    def flush() -> None:
        if run_chars:
            text.append("".join(run_chars), run_style)
            run_chars.clear()

    for row in range(rows):
        for column in range(width):
            cell = row * width + column
            first = cell_first(cell, cells)
            last = max(first, cell_first(cell + 1, cells) - 1)
            pair = {owners[first], owners[last]}
            owner = owners[first]
            if None in pair:
                char, style = "!", "bold reverse red"
            elif cell in moving_cells:
                char, style = "»", "bold reverse yellow"
            else:
                glyph, colour = owner_style(index_of.get(owner or "", 0))
                char, style = glyph, colour
            if cell == cursor_cell:
                # Always ▲, never reversed: on an uncovered (!) or moving (») cell, which
                # are reversed already, a reversed cursor would vanish.
                base = style.replace("reverse", "").split()
                style = " ".join([*base, "underline"]) if base else "bold underline"
                char = "▲"
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


def cell_first(cell: int, cells: int) -> int:
    """The first slot of strip cell ``cell`` of ``cells`` (integer arithmetic, so a
    slot and its cell always agree)."""
    return cell * CLUSTER_SLOTS // cells


def cell_of(slot: int, cells: int) -> int:
    """The strip cell holding ``slot``: the last cell whose first slot is <= it."""
    return ((slot + 1) * cells - 1) // CLUSTER_SLOTS


def cell_range(cursor: int, width: int, rows: int = 2) -> tuple[int, int]:
    """The first and last slot of the strip cell holding slot ``cursor``."""
    cells = max(8, width) * rows
    cell = cell_of(cursor, cells)
    first = cell_first(cell, cells)
    return first, max(first, cell_first(cell + 1, cells) - 1)


def slot_cursor_line(
    truth: TruthView,
    moves: Sequence[SlotMove],
    cursor: int,
    cell: tuple[int, int] | None = None,
) -> Text:
    """The cursor's slot: its owner run, open migrations of that slot, and (``cell``:
    the slots of the cursor's strip cell) the other open migrations the cell hides."""
    owner = truth.owners[cursor]
    start, end = _run_around(truth.owners, cursor)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"slot {cursor}: ", "bold")
    text.append(f"{start}-{end} → ")
    if owner is None:
        text.append("NOBODY (uncovered)", "bold reverse red")
    else:
        glyph, colour = owner_style(truth.index_of(owner))
        text.append(f"{glyph} {owner}", f"bold {colour}")
    first, last = cell if cell is not None else (cursor, cursor)
    for move in moves:
        if not first <= move.slot <= last:
            continue
        where = "" if move.slot == cursor else f" slot {move.slot}"
        if move.migrating:
            text.append(f"  »{where} {move.node} MIGRATING→{move.peer}", "yellow")
        else:
            text.append(f"  »{where} {move.node} IMPORTING←{move.peer}", "yellow")
    if cell is not None and first != last:
        text.append(f"  (cell {first}-{last})", "dim")
    if truth.uncovered:
        text.append(f"  {truth.uncovered} slots uncovered!", "bold reverse red")
    return text
