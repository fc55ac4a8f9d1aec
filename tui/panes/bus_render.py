"""The message view's drawing: a time-space diagram of bus messages, in Rich text.

One lane per node (columns), time running down, one row per message (a broadcast is one
row with a head on every receiver), the newest at the bottom just above the ``now``
line. Not to scale in time: the gutter gives each row's arrival time, and a message
that spent time on the wire says ``+N ms``. Pure functions (no Textual), so tests and
the benchmark call them directly. Colour is never the only signal: the type is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from simulator.views import BusMessage, MessageWindow

GUTTER = 9  # "  12.345 " : the arrival time in seconds
TYPE_STYLE = {
    "PING": "cyan",
    "PONG": "cyan",
    "MEET": "bold white",
    "FAIL": "bold red",
    "PUBLISH": "blue",
    "PUBLISHSHARD": "blue",
    "AUTH_REQUEST": "bold magenta",
    "AUTH_ACK": "bold green",
    "UPDATE": "bold blue",
    "MFSTART": "bold yellow",
}
REPORT_STYLE = "bold yellow"  # a PING/PONG carrying a PFAIL report


def row_style(row: BusMessage) -> str:
    if row.type in ("PING", "PONG") and any("fail?" in g.flags for g in row.gossip):
        return REPORT_STYLE
    return TYPE_STYLE.get(row.type, "")


def lanes_for(
    names: Sequence[str], rows: Sequence[BusMessage], room: int, keep: str | None = None
) -> tuple[tuple[str, ...], int]:
    """The lanes to draw and each one's width: every node when they fit (up to 6 columns
    each), else only the nodes the rows involve (and ``keep``), one column each."""
    if names and room // len(names) >= 1:
        return tuple(names), max(1, min(6, room // len(names)))
    involved = {keep} if keep else set()
    for row in rows:
        involved.add(row.src)
        involved.update(row.dsts)
    chosen = tuple(n for n in names if n in involved)[: max(1, room)]
    return chosen, max(1, min(6, room // max(1, len(chosen))))


def header(lanes: Sequence[str], width: int) -> Text:
    text = Text(" " * GUTTER, no_wrap=True, overflow="ellipsis")
    if width >= 3:
        for name in lanes:
            text.append(name[: width - 1].center(width), "bold")
    else:
        text.append(f"lanes {lanes[0]}…{lanes[-1]} (too many to name)" if lanes else "", "dim")
    return text


def diagram_row(row: BusMessage, lanes: Sequence[str], width: int, selected: bool = False) -> Text:
    """One message: ``●`` at the sender, ``▶``/``◀`` at each receiver, ``─`` between."""
    column = {name: i * width + width // 2 for i, name in enumerate(lanes)}
    cells = [" "] * (len(lanes) * width)
    for x in column.values():
        cells[x] = "│"
    src = column.get(row.src)
    heads = [column[d] for d in row.dsts if d in column]
    ends = [x for x in (src, *heads) if x is not None]
    if ends:
        for x in range(min(ends), max(ends) + 1):
            cells[x] = "─" if cells[x] != "│" else "┼"
    for x in heads:
        cells[x] = "◀" if src is not None and x < src else "▶"
    if src is not None:
        cells[src] = "●"
    style = row_style(row)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{row.t / 1000:>8.3f} ", "reverse" if selected else "dim")
    lane_text = "".join(cells)
    low = min(ends) if ends else 0
    high = max(ends) + 1 if ends else 0
    text.append(lane_text[:low], "dim")
    text.append(lane_text[low:high], style)
    text.append(lane_text[high:], "dim")
    label = f" {row.src}→{_receivers(row)} {row.summary()}"
    if row.flight_ms:
        label += f" +{row.flight_ms}ms"
    text.append(label, style + (" reverse" if selected else ""))
    return text


def _receivers(row: BusMessage) -> str:
    if len(row.dsts) <= 2:
        return ",".join(row.dsts)
    return f"{len(row.dsts)} nodes"


def details(row: BusMessage | None, room: int) -> Text:
    """The selected message's content: times, epoch, subject, every gossip entry
    (PFAIL and FAIL flags stand out)."""
    text = Text(no_wrap=False)
    if row is None:
        text.append("no message selected", "dim")
        return text
    text.append(f"{row.type}", row_style(row) or "bold")
    text.append(f" {row.src} → {', '.join(row.dsts)}")
    text.append(
        f"  sent {row.sent / 1000:.3f}s, arrived {row.t / 1000:.3f}s"
        f" ({row.flight_ms} ms on the wire) · sender's currentEpoch {row.epoch}",
        "dim",
    )
    if row.about:
        text.append(f" · about {row.about}", "bold")
    if row.about_epoch is not None:
        text.append(f" (configEpoch {row.about_epoch})")
    if row.channel:
        text.append(f" · channel {row.channel}")
    if row.gossip:
        text.append("\ngossip: ")
        for i, entry in enumerate(row.gossip):
            if i:
                text.append(" · ", "dim")
            style = "bold red" if entry.flags.endswith("fail") or ",fail," in entry.flags else ""
            if "fail?" in entry.flags:
                style = REPORT_STYLE
            text.append(f"{entry.name} {entry.flags}", style)
    return text


def message_view(
    window: MessageWindow,
    names: Sequence[str],
    width: int,
    cursor: int,
    show_details: bool,
    now: int,
) -> Text:
    """The whole pane: lane names, the rows (``cursor`` counts up from the newest), the
    ``now`` line, and the selected message's content when ``show_details``."""
    room = max(1, width - GUTTER - 28)
    lanes, lane_width = lanes_for(names, window.rows, room, window.query.node)
    out = header(lanes, lane_width)
    rows = window.rows
    if not window.traced:
        out.append(
            "\nno bus messages traced (a replayed trace has them only if its run used"
            " rcsim run --trace-bus)",
            "dim",
        )
    elif not rows:
        out.append("\nno message matches the filters yet", "dim")
    selected = len(rows) - 1 - cursor
    for i, row in enumerate(rows):
        out.append("\n")
        out.append_text(diagram_row(row, lanes, lane_width, selected=i == selected))
    out.append(f"\n{now / 1000:>8.3f} ", "bold")
    out.append("┄" * max(0, len(lanes) * lane_width), "bold")
    out.append(" now", "bold")
    if show_details:
        out.append("\n")
        out.append_text(details(rows[selected] if 0 <= selected < len(rows) else None, width))
    return out
