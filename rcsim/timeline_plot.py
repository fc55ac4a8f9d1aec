"""``rcsim run --timeline FILE.svg|png``: a run's timeline as a picture for a report.

One row per node, a bar over simulated time coloured by what the process was (a master,
a replica, paused, crashed, shut down), a thin strip under it while the node reported
``cluster_state:fail``, marks where a node was first flagged PFAIL / marked FAIL (in
any node's view) and where a replica was promoted; a dashed line and a label per fault
(kill, pause, partition, heal, ...), and the captions, numbered on the time axis and
written out underneath. Folded from the trace alone (plus the scenario's initial roles),
drawn by matplotlib like the sweep's picture (:mod:`rcsim.plots`, same reproducible SVG).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rcsim.plots import new_figure
from simulator.harness.lanes import fold

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = {
    "master": "#2563eb",
    "replica": "#93c5fd",
    "paused": "#f59e0b",
    "crashed": "#4b5563",
    "stopped": "#d1d5db",
}
LEGEND = {
    "master": "master (running)",
    "replica": "replica (running)",
    "paused": "paused (SIGSTOP)",
    "crashed": "crashed",
    "stopped": "shut down / removed",
}
STATE_FAIL = "#dc2626"
CAPTION_WIDTH = 150


def timeline_figure(
    events: Sequence[dict[str, Any]],
    roles: Sequence[tuple[str, str]],
    end: int,
    *,
    title: str,
    subtitle: str,
) -> Figure:
    """The picture (see the module docstring); ``roles``: each node's initial role."""
    lanes, faults, captions, marks = fold(events, roles, end)
    caption_lines = [
        textwrap.wrap(
            f"[{number}] {t / 1000:.3f}s  {text}",
            CAPTION_WIDTH,
            subsequent_indent="      ",
        )
        for number, (t, text) in enumerate(captions, 1)
    ]
    lines = sum(len(wrapped) for wrapped in caption_lines)
    by_time: dict[int, list[str]] = {}
    for t, label in faults:
        by_time.setdefault(t, []).append(label)
    labels = {t: "; ".join(dict.fromkeys(names)) for t, names in by_time.items()}
    longest = max((len(label) for label in labels.values()), default=0)
    lane_height = min(3.0, 0.2 + 0.058 * longest) if labels else 0.05
    rows_height = 0.9 + 0.32 * len(lanes)
    text_height = 0.2 + 0.14 * lines if lines else 0.05
    figure = new_figure(13.0, lane_height + rows_height + text_height + 1.0)
    faults_ax, axes, notes = figure.subplots(
        3,
        1,
        height_ratios=[lane_height, rows_height, text_height],
        gridspec_kw={"hspace": 0.0},
    )
    seconds = 1000.0
    for row, lane in enumerate(lanes):
        for start, stop, state in lane.bars:
            if state == "absent":
                continue
            axes.barh(
                row,
                (stop - start) / seconds,
                left=start / seconds,
                height=0.62,
                color=COLOURS[state],
                hatch="//" if state == "crashed" else None,
                edgecolor="white" if state == "crashed" else COLOURS[state],
                linewidth=0,
            )
        for start, stop in lane.fail_spans:
            axes.barh(
                row + 0.4,
                (stop - start) / seconds,
                left=start / seconds,
                height=0.12,
                color=STATE_FAIL,
                linewidth=0,
            )
    rows = {lane.name: row for row, lane in enumerate(lanes)}
    styles = {
        "pfail": ("v", "#f97316", "first PFAIL flag about it"),
        "fail": ("X", "#b91c1c", "marked FAIL (first node)"),
        "promoted": ("*", "#facc15", "promoted to master"),
    }
    for what, (marker, colour, _) in styles.items():
        points = [(t / seconds, rows[n]) for n, t, w in marks if w == what and n in rows]
        if points:
            axes.scatter(
                [p[0] for p in points],
                [p[1] for p in points],
                marker=marker,
                s=90,
                color=colour,
                edgecolors="black",
                linewidths=0.6,
                zorder=4,
            )
    end_s = max(end, 1) / seconds
    faults_ax.axis("off")
    faults_ax.set_xlim(0, end_s)
    faults_ax.set_ylim(0, 1)
    for t, label in labels.items():
        axes.axvline(t / seconds, color="#111827", linestyle="--", linewidth=0.9, zorder=3)
        faults_ax.text(t / seconds, 0.02, label, rotation=90, ha="center", va="bottom", fontsize=8)
    captions_at: dict[int, list[str]] = {}  # captions closer than 1/80 of the run share a tick
    for number, (t, _) in enumerate(captions, 1):
        near = [at for at in captions_at if abs(t - at) * 80 <= max(end, 1)]
        captions_at.setdefault(near[-1] if near else t, []).append(str(number))
    top = axes.secondary_xaxis("top")
    top.set_xticks([t / seconds for t in captions_at])
    top.set_xticklabels(
        ["[" + ",".join(numbers) + "]" for numbers in captions_at.values()], fontsize=7
    )
    top.tick_params(length=3, pad=1, colors="#374151")
    axes.set_yticks(range(len(lanes)))
    axes.set_yticklabels([lane.name for lane in lanes])
    axes.set_ylim(len(lanes) - 0.35, -0.6)
    axes.set_xlim(0, end_s)
    axes.set_xlabel("simulated time (s); [n] on top: caption n, written out below")
    axes.set_ylabel("node")
    axes.grid(axis="x", color="#e5e7eb", linewidth=0.8)
    axes.set_axisbelow(True)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Patch(facecolor=COLOURS[s], hatch="//" if s == "crashed" else None, label=LEGEND[s])
        for s in COLOURS
    ]
    handles.append(Patch(facecolor=STATE_FAIL, label="cluster_state:fail (thin strip)"))
    for marker, colour, label in styles.values():
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                linestyle="none",
                markerfacecolor=colour,
                markeredgecolor="black",
                markersize=9,
                label=label,
            )
        )
    handles.append(Line2D([], [], color="#111827", linestyle="--", label="fault (labelled)"))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    faults_ax.set_title("faults", fontsize=8, loc="left", color="#6b7280")
    figure.suptitle(f"{title}\n{subtitle}", fontsize=11)
    notes.axis("off")
    text = "\n".join(line for wrapped in caption_lines for line in wrapped)
    notes.text(0.0, 1.0, text, ha="left", va="top", fontsize=8, transform=notes.transAxes)
    return figure
