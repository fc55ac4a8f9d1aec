"""The run so far as a picture in the terminal (``T``): the lanes of ``rcsim run
--timeline`` (:mod:`simulator.harness.lanes`) drawn in character cells with Rich.

Why Rich and not a terminal plotting library: this picture is a Gantt chart, a grid of
coloured intervals, one row per node, which Rich (already the TUI's renderer, through
Textual) draws cell for cell; plotext, the usual terminal plotting library, draws
points, lines and bars with braille or block markers, not categorical intervals, and
would add a dependency for less.

Each cell covers ``span / width`` ms; it shows the state that covered the end of that
slice, except that a crash, a shutdown or a pause anywhere in it wins (a short fault is
never dropped). A thin red ``▁`` marks a slice in which the node reported
``cluster_state:fail``; ``▼`` first PFAIL flag about the node, ``✖`` marked FAIL,
``★`` promoted. Above: ``!`` at each fault, each caption's number (its last digit), and
``┃`` where the session is now.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from simulator.harness.lanes import Lane, fold
from simulator.trace import TraceEvent
from tui.model import Session

STYLE = {
    "master": "on #2563eb",
    "replica": "on #60a5fa",
    "paused": "on #f59e0b",
    "crashed": "on #4b5563",
    "stopped": "on #9ca3af",
    "absent": "",
}
WORDS = {
    "master": "master",
    "replica": "replica",
    "paused": "paused",
    "crashed": "crashed",
    "stopped": "shut down / removed",
}
PRIORITY = ("crashed", "stopped", "paused")
MARKS = {
    "pfail": ("▼", "bold #f97316"),
    "fail": ("✖", "bold #fecaca"),
    "promoted": ("★", "bold #facc15"),
}
LABEL_WIDTH = 6


def _cell_state(lane: Lane, start: float, stop: float) -> str:
    seen: list[str] = []
    last = "absent"
    for begin, end, state in lane.bars:
        if begin < stop and end > start:
            seen.append(state)
            last = state
    for state in PRIORITY:
        if state in seen:
            return state
    return last


def _fails(lane: Lane, start: float, stop: float) -> bool:
    return any(begin < stop and end > start for begin, end in lane.fail_spans)


def timeline_text(
    events: Sequence[TraceEvent],
    roles: Sequence[tuple[str, str]],
    now: int,
    end: int,
    width: int,
) -> Text:
    """The picture of ``[0, end]`` in ``width`` columns (plus the labels), ``now`` marked."""
    end = max(end, now, 1)
    lanes, faults, captions, marks = fold(events, roles, end)
    columns = max(10, width - LABEL_WIDTH - 1)
    slice_ms = end / columns

    def column(t: float) -> int:
        return min(columns - 1, int(t / slice_ms))

    out = Text()
    axis = [" "] * columns
    for t, _ in faults:
        axis[column(t)] = "!"
    for number, (t, _) in enumerate(captions, 1):
        if axis[column(t)] == " ":
            axis[column(t)] = str(number % 10)
    now_column = column(now) if now < end else columns - 1
    out.append(f"{'':<{LABEL_WIDTH}} ")
    for index, char in enumerate(axis):
        style = "bold reverse" if index == now_column else ("bold red" if char == "!" else "dim")
        out.append(char if index != now_column or char != " " else "┃", style)
    out.append("\n")
    cells: dict[tuple[str, int], tuple[str, str]] = {}
    for node, t, what in marks:
        cells[(node, column(t))] = MARKS[what]
    for lane in lanes:
        out.append(f"{lane.name:<{LABEL_WIDTH}} ", "bold")
        for index in range(columns):
            start, stop = index * slice_ms, (index + 1) * slice_ms
            state = _cell_state(lane, start, stop)
            char, style = cells.get(
                (lane.name, index), ("▁" if _fails(lane, start, stop) else " ", "#ef4444")
            )
            if index == now_column and char == " ":
                char, style = "┃", "bold white"
            out.append(char, f"{style} {STYLE[state]}".strip())
        out.append("\n")
    ticks = [" "] * columns
    labels = 5
    for k in range(labels + 1):
        at = column(k * end / labels)
        label = f"{k * end / labels / 1000:.1f}s"
        at = min(at, columns - len(label))
        ticks[at : at + len(label)] = list(label)
    out.append(f"{'':<{LABEL_WIDTH}} " + "".join(ticks) + "\n\n", "dim")
    out.append("legend  ")
    for state, words in WORDS.items():
        out.append("  ", STYLE[state])
        out.append(f" {words}  ")
    out.append("\n        ")
    out.append("▁", "#ef4444")
    out.append(" cluster_state:fail  ")
    for what, words in (
        ("pfail", "first PFAIL"),
        ("fail", "marked FAIL"),
        ("promoted", "promoted"),
    ):
        char, style = MARKS[what]
        out.append(char, style + " on #374151")
        out.append(f" {words}  ")
    out.append("┃", "bold")
    out.append(f" now ({now / 1000:.3f}s)  ")
    out.append("!", "bold red")
    out.append(" fault\n")
    if faults:
        out.append("\nfaults\n", "bold")
        for t, label in faults:
            out.append(f"  {t / 1000:>9.3f}s  {label}\n")
    if captions:
        out.append("\ncaptions\n", "bold")
        for number, (t, text) in enumerate(captions, 1):
            out.append(f"  [{number}] {t / 1000:>9.3f}s  {text}\n")
    return out


def initial_roles(session: Session) -> list[tuple[str, str]]:
    """Each node's role at the start: the scenario's, or a bare cluster's layout (its
    first ``masters`` nodes are masters, as redis-cli lays them out)."""
    scenario = session.scenario
    if scenario is not None:
        return [(node.name, node.role) for node in scenario.cluster.nodes]
    masters = session.cluster_spec.get("masters", 0)
    count = masters if isinstance(masters, int) else 0
    names = session.sim.views.names()
    return [(name, "master" if i < count else "replica") for i, name in enumerate(names)]


def session_timeline(session: Session, width: int) -> Text:
    """The session's run so far (to the furthest moment reached: a rewind keeps the
    future it has seen on screen only up to now, since the trace was cut there)."""
    sim = session.sim
    return timeline_text(sim.trace.events, initial_roles(session), sim.now, sim.now, width)
