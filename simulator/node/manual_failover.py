"""Manual failover (``CLUSTER FAILOVER``, §12): its state and the steps that need no messages.

The command itself is in :mod:`simulator.node.commands`; the MFSTART receiver (the
master pausing its clients) in :mod:`simulator.node.gossip`, with the other packets.
"""

from __future__ import annotations

from simulator.native import mypyc_attr
from simulator.node.slot_table import SlotBindings


class ManualFailoverState:
    """``mf_end``, ``mf_slave``, ``mf_master_offset``, ``mf_can_start`` of ``clusterState``."""

    __slots__ = ("can_start", "end", "master_offset", "slave")

    def __init__(self) -> None:
        self.end = 0  # when the manual failover times out; 0 = none in progress
        self.slave: str | None = None  # on the master: the replica that asked for it
        self.master_offset = -1  # on the replica: the paused master's offset, -1 = not known yet
        self.can_start = False  # on the replica: caught up, the election may start


@mypyc_attr(allow_interpreted_subclasses=True)
class ManualFailover(SlotBindings):
    """``resetManualFailover``, ``manualFailoverCheckTimeout``, ``clusterHandleManualFailover``."""

    def _init_layer(self) -> None:
        super()._init_layer()
        self.mf = ManualFailoverState()

    def _reset_mf_fields(self) -> None:
        self.mf = ManualFailoverState()

    def _reset_manual_failover(self) -> None:
        """``resetManualFailover``: a master that paused writes for it unpauses them
        (``unpauseClients``), and the writes the pause postponed run again at once (§12)."""
        if self.mf.slave is not None:
            self.writes_paused_until = 0
            self.host.on_writes_unpaused(self)
        self._reset_mf_fields()

    def _manual_failover_check_timeout(self, now: int) -> None:
        """``manualFailoverCheckTimeout``."""
        if self.mf.end and self.mf.end < now:
            self._emit("mf_timeout")
            self._reset_manual_failover()

    def _handle_manual_failover(self) -> None:
        """``clusterHandleManualFailover``: start once my offset reached the paused master's."""
        if not self.mf.end or self.mf.can_start or self.mf.master_offset == -1:
            return
        if self.mf.master_offset == self.repl.offset:
            self.mf.can_start = True
            self._emit("mf_ready", offset=self.repl.offset)
            self._todo_failover = True
