"""Per-node view diffs: what changed in a node's own view since the last step.

The node view (:class:`NodeDiffPane`, the ``#nodeview`` pane) remembers the view it
drew last; when the simulation moved by at most :data:`STEP_WINDOW_MS` since then (a
step, a frame of play, one second back or forward, not a far jump), it compares the
beliefs — the node's role, master, cluster state, epochs, vote, and for each peer in
its table the flags (PFAIL, FAIL, role), master, configEpoch and failure reports — and
shows the flips on a highlighted first line (reverse video in the step that made them;
then kept, plain, until the next change or :data:`STEP_WINDOW_MS` later).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text

from simulator.views import NodeView, PeerRow
from tui.model import Session
from tui.panes.cluster import NodeData, NodeViewPane

STEP_WINDOW_MS = 3000


@dataclass(frozen=True, slots=True)
class BeliefChange:
    """The flips between the view at ``before`` and the one at ``after`` (ms)."""

    node: str
    before: int
    after: int
    items: tuple[str, ...]


def _role(view: NodeView) -> str:
    return "master" if view.is_master else f"replica of {view.master_name}"


def _peer_changes(before: PeerRow, after: PeerRow) -> list[str]:
    items = []
    name = after.name
    if before.flag_words != after.flag_words:
        old_words, new_words = before.flag_words.split(","), after.flag_words.split(",")
        gone = ",".join(w for w in old_words if w not in new_words) or "-"
        came = ",".join(w for w in new_words if w not in old_words) or "-"
        items.append(f"{name} {gone}→{came}")
    if before.master != after.master:
        items.append(f"{name}'s master {before.master or '-'}→{after.master or '-'}")
    if before.config_epoch != after.config_epoch:
        items.append(f"{name} configEpoch {before.config_epoch}→{after.config_epoch}")
    reporters_before = {who for who, _ in before.fail_reports}
    reporters_after = {who for who, _ in after.fail_reports}
    added = sorted(reporters_after - reporters_before)
    if added:
        items.append(f"{' '.join(added)} report{'s' if len(added) == 1 else ''} {name}")
    return items


def belief_changes(before: NodeView, after: NodeView) -> tuple[str, ...]:
    """What ``after`` believes differently from ``before`` (the same node), in words."""
    items: list[str] = []
    if before.status != after.status:
        items.append(f"process {before.status}→{after.status}")
    if _role(before) != _role(after):
        items.append(f"{_role(before)}→{_role(after)}")
    if before.state != after.state:
        items.append(f"cluster_state {before.state}→{after.state}")
    for label, old, new in (
        ("currentEpoch", before.current_epoch, after.current_epoch),
        ("lastVoteEpoch", before.last_vote_epoch, after.last_vote_epoch),
        ("configEpoch", before.config_epoch, after.config_epoch),
    ):
        if old != new:
            items.append(f"{label} {old}→{new}")
    earlier = {peer.name: peer for peer in before.peers}
    about_peers: list[str] = []
    for peer in after.peers:
        old_peer = earlier.get(peer.name)
        if old_peer is not None:
            about_peers.extend(_peer_changes(old_peer, peer))
    return (*about_peers, *items)  # what it believes about others first


class BeliefTracker:
    """The last view drawn and the last change seen (sticky for one step window)."""

    def __init__(self) -> None:
        self.previous: NodeView | None = None
        self.change: BeliefChange | None = None
        self.fresh = False  # the change was made by the latest move

    def see(self, view: NodeView | None) -> BeliefChange | None:
        previous, self.previous = self.previous, view
        self.fresh = False
        if view is None or previous is None or previous.name != view.name:
            self.change = None
            return None
        if previous == view:
            return self.change
        if abs(view.now - previous.now) > STEP_WINDOW_MS:
            self.change = None
            return None
        items = belief_changes(previous, view)
        if items:
            self.change = BeliefChange(view.name, previous.now, view.now, items)
            self.fresh = True
        elif self.change is not None and abs(view.now - self.change.after) > STEP_WINDOW_MS:
            self.change = None
        return self.change


def change_line(change: BeliefChange, fresh: bool) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    when = (
        f"at {change.after / 1000:.3f}s"
        if change.before == change.after
        else f"{change.before / 1000:.3f}s→{change.after / 1000:.3f}s"
    )
    text.append(f"changed {when}: ", "bold yellow reverse" if fresh else "yellow")
    text.append(" · ".join(change.items), "bold yellow" if fresh else "yellow")
    return text


class NodeDiffPane(NodeViewPane):
    """The node's own view with what changed in it since the last step on top."""

    def __init__(self, session: Session, *, id: str, classes: str = "pane") -> None:
        super().__init__(session, id=id, classes=classes)
        self.tracker = BeliefTracker()
        self._change: BeliefChange | None = None

    def data(self) -> NodeData:
        node, truth, raw, max_peers, column, first = super().data()
        self._change = None if raw else self.tracker.see(node)
        if self._change is not None:
            max_peers -= 1  # the change line takes a row
        return node, truth, raw, max_peers, column, first

    def draw(self, data: NodeData) -> RenderableType:
        drawn = super().draw(data)
        change = self._change
        if change is None or data[0] is None:
            return drawn
        return Group(change_line(change, self.tracker.fresh), drawn)


__all__ = ["STEP_WINDOW_MS", "BeliefChange", "BeliefTracker", "NodeDiffPane", "belief_changes"]
