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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rcsim.plots import new_figure

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
FAULT_KINDS = (
    "crash",
    "pause",
    "resume",
    "restart",
    "shutdown",
    "partition",
    "cut",
    "heal",
    "failover",
    "node_added",
    "node_removed",
)
CAPTION_WIDTH = 150


@dataclass
class Lane:
    """One node's bars: ``(start, end, state)`` and its ``cluster_state:fail`` spans."""

    name: str
    role: str
    status: str = "running"
    since: int = 0
    bars: list[tuple[int, int, str]] = field(default_factory=list)
    state_fail_since: int | None = None
    fail_spans: list[tuple[int, int]] = field(default_factory=list)

    def shown(self) -> str:
        return self.role if self.status == "running" else self.status

    def change(self, t: int, *, status: str | None = None, role: str | None = None) -> None:
        before = self.shown()
        if status is not None:
            self.status = status
        if role is not None:
            self.role = role
        if self.shown() != before:
            self._close(t, before)

    def _close(self, t: int, state: str) -> None:
        if t > self.since:
            self.bars.append((self.since, t, state))
        self.since = t

    def finish(self, end: int) -> None:
        self._close(end, self.shown())
        if self.state_fail_since is not None:
            self.fail_spans.append((self.state_fail_since, end))
            self.state_fail_since = None


def fault_label(event: dict[str, Any]) -> str:
    kind = event["kind"]
    node = event.get("node") or ""
    if kind == "partition":
        return "partition " + " | ".join(",".join(g) for g in event.get("groups", []))
    if kind == "cut":
        sources = ",".join(event.get("sources", []))
        return f"cut {sources} -/-> {','.join(event.get('targets', []))}"
    if kind == "heal":
        groups = event.get("groups")
        return "heal" if groups is None else "heal " + " | ".join(",".join(g) for g in groups)
    if kind == "failover":
        return f"{node} CLUSTER FAILOVER {str(event.get('mode', '')).upper()}".strip()
    words = {"node_added": "joins", "node_removed": "removed", "crash": "killed"}
    return f"{node} {words.get(kind, kind)}"


def fold(
    events: Iterable[dict[str, Any]], roles: Sequence[tuple[str, str]], end: int
) -> tuple[list[Lane], list[tuple[int, str]], list[tuple[int, str]], list[tuple[str, int, str]]]:
    """Lanes, faults ``(t, label)``, captions ``(t, text)`` and marks ``(node, t, what)``."""
    lanes = {name: Lane(name, role) for name, role in roles}
    faults: list[tuple[int, str]] = []
    captions: list[tuple[int, str]] = []
    marks: list[tuple[str, int, str]] = []
    flagged: set[tuple[str, str]] = set()
    for event in events:
        kind, t = event["kind"], int(event["t"])
        node = event.get("node")
        target = event.get("target")
        if kind == "caption":
            captions.append((t, str(event.get("text", ""))))
            continue
        if kind in FAULT_KINDS:
            faults.append((t, fault_label(event)))
        if kind == "node_added" and node is not None and node not in lanes:
            lanes[node] = Lane(node, "master", since=t)
            lanes[node].bars.append((0, t, "absent"))
        lane = lanes.get(node) if node is not None else None
        if kind in ("pfail", "fail") and target is not None and (kind, target) not in flagged:
            flagged.add((kind, target))
            marks.append((target, t, kind))
        elif kind == "fail_cleared" and target is not None:
            flagged.discard(("fail", target))
            flagged.discard(("pfail", target))
        elif kind == "promoted" and node is not None:
            marks.append((node, t, "promoted"))
        if lane is None:
            continue
        if kind == "crash":
            lane.change(t, status="crashed")
        elif kind == "pause":
            lane.change(t, status="paused")
        elif kind == "resume":
            lane.change(t, status="running")
        elif kind == "shutdown" or kind == "node_removed":
            lane.change(t, status="stopped")
        elif kind == "restart":
            role = event.get("role")
            lane.change(t, status="running", role=str(role) if role else None)
        elif kind == "role":
            lane.change(t, role="master" if event.get("role") == "master" else "replica")
        elif kind == "promoted":
            lane.change(t, role="master")
        elif kind == "cluster_state":
            if event.get("state") == "fail" and lane.state_fail_since is None:
                lane.state_fail_since = t
            elif event.get("state") == "ok" and lane.state_fail_since is not None:
                lane.fail_spans.append((lane.state_fail_since, t))
                lane.state_fail_since = None
    for lane in lanes.values():
        lane.finish(end)
    return list(lanes.values()), faults, captions, marks


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
