"""The event log pane's text: only the rows that fit, newest last (a pure function).

Split from tui/render.py; a big cluster's wave of verdicts (tui/log_words.py) is one
entry, and with ``expanded`` the nodes that said it follow it, millisecond by
millisecond."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from tui.log_words import group_members
from tui.render import LEVEL_STYLE, wrap
from tui.trace_facts import LogLine
from tui.words import seconds

LOG_MARKS = {"caption": "── ", "fork": "⑂ ", "verdict": "══ "}
STAMP = 10  # cells: the time and a space


def _entry(line: LogLine, width: int, expanded: bool) -> list[tuple[str, str]]:
    """One entry's rows (row, style): wrapped under its time, nothing cut off."""
    style = "bold" if line.kind in LOG_MARKS else LEVEL_STYLE.get(line.level, "")
    body = wrap(LOG_MARKS.get(line.kind, "") + line.text, width - STAMP, 0)
    stamp = f"{seconds(line.t):>9} "
    rows = [(stamp + body[0], style)] + [(" " * STAMP + row, style) for row in body[1:]]
    group = line.group
    if expanded and group is not None and group.count > 1:
        members = wrap("in order: " + group_members(group), width - STAMP, 3)
        rows += [(" " * STAMP + row, "dim") for row in members]
    return rows


def event_log(
    log: Sequence[LogLine], lines: int, offset: int = 0, width: int = 200, expanded: bool = False
) -> Text:
    """The newest ``lines`` rows of the log ending ``offset`` entries before its end;
    each entry wrapped to ``width`` under its time (nothing is cut off). Only the
    entries that fit are built, so a log of any length costs the same."""
    end = len(log) - offset
    rows: list[tuple[str, str]] = []  # (row, style), newest last
    index = end - 1
    while index >= 0 and len(rows) < lines:
        rows[:0] = _entry(log[index], width, expanded)
        index -= 1
    rows = rows[-lines:] if lines > 0 else rows
    text = Text(no_wrap=True, overflow="ellipsis")
    for number, (row, style) in enumerate(rows):
        if number:
            text.append("\n")
        text.append(row[:STAMP], "dim")
        text.append(row[STAMP:], style)
    if not rows:
        text.append("nothing has happened yet", "dim")
    return text
