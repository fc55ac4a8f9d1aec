"""A run's lanes, folded from its trace: what each node's process was over time (master,
replica, paused, crashed, shut down), when it reported ``cluster_state:fail``, the
faults, the captions, and marks where a node was first flagged PFAIL / marked FAIL (in
any node's view) or promoted. Pure data for pictures: ``rcsim run --timeline``
(rcsim/timeline_plot.py) and the TUI's timeline (``T``, tui/render_timeline.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

STATES = ("master", "replica", "paused", "crashed", "stopped")
"""What a lane shows, in legend order (``stopped``: shut down or removed)."""

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

Mark = tuple[str, int, str]
"""``(node, t, what)``: ``pfail``, ``fail`` (first flag about the node) or ``promoted``."""


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
