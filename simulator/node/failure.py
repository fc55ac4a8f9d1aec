"""Failure detection: failure reports, PFAIL → FAIL on a quorum, and clearing FAIL (§8).

PFAIL itself is set by the cron (:mod:`simulator.node.cron`, §6 step 3); the FAIL
message receiver is with the other packets in :mod:`simulator.node.gossip`.
"""

from __future__ import annotations

from simulator.messages import FAIL, MASTER, PFAIL, SLAVE, MsgType
from simulator.native import mypyc_attr
from simulator.node.bus import BusOutput
from simulator.node.constants import FAIL_REPORT_VALIDITY_MULT, FAIL_UNDO_TIME_MULT
from simulator.node.peer import PeerView


@mypyc_attr(allow_interpreted_subclasses=True)
class FailureDetection(BusOutput):
    """``clusterNodeFailureReportsCount``, ``markNodeAsFailingIfNeeded``, ``clearNodeFailureIfNeeded``."""

    def _count_reports(self, node: PeerView, now: int) -> int:
        """``clusterNodeFailureReportsCount``, purging reports older than 2·NT (§8.2)."""
        if not node.fail_reports:
            return 0
        maxtime = self.config.node_timeout * FAIL_REPORT_VALIDITY_MULT
        expired = [name for name, t in node.fail_reports.items() if now - t > maxtime]
        for name in expired:
            del node.fail_reports[name]
        return len(node.fail_reports)

    def quorum(self) -> int:
        """``size/2 + 1`` with size = masters serving slots in my view (as of the last state update)."""
        return self.size // 2 + 1

    def _mark_node_as_failing_if_needed(self, node: PeerView, now: int) -> None:
        """``markNodeAsFailingIfNeeded`` (§8.3): PFAIL → FAIL on a quorum of master reports."""
        if not node.flags & PFAIL or node.flags & FAIL:
            return
        failures = self._count_reports(node, now)
        if self.me.flags & MASTER:
            failures += 1
        needed = self.quorum()
        if failures < needed:
            return
        node.flags = (node.flags & ~PFAIL) | FAIL
        node.fail_time = now
        self._emit("fail", node.name, via="quorum", reports=failures, quorum=needed)
        self.broadcast(self._header(MsgType.FAIL, about=node.name))
        self._todo_state = True

    def _clear_node_failure_if_needed(self, node: PeerView, now: int) -> None:
        """``clearNodeFailureIfNeeded`` (§8.5)."""
        if node.flags & SLAVE or self.numslots(node) == 0:
            node.flags &= ~FAIL
            self._todo_state = True
            self._emit(
                "fail_cleared", node.name, reason="no slots" if node.flags & MASTER else "replica"
            )
            return
        if (
            node.flags & MASTER
            and now - node.fail_time > self.config.node_timeout * FAIL_UNDO_TIME_MULT
        ):
            node.flags &= ~FAIL
            self._todo_state = True
            self._emit("fail_cleared", node.name, reason="master reachable after 2*NT")
