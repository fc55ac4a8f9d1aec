"""Frozen, read-only views of a running simulation: the seam UIs read through.

A UI (the TUI, an exporter) asks ``sim.views`` for exactly what one pane shows: one
node's own view of the cluster (``NodeView``), the truth (``TruthView``), the topology
rows, the latest election (``ElectionView``), the clients' counters (``ClientView``),
the lesson's checks (``LessonView``), a key's placement (``KeyView``), the writes at
risk and lost (``WriteRiskView``, ``LostWriteRow``), what a node sent on the bus
(``BusView``, in ``NodeView.bus``), every node's condition at a glance for a big
cluster (``Overview``, ``NodeState``). Each is a frozen
slotted dataclass built on request, so nothing a UI holds can change the model, and a
pane can compare the view it drew with a new one to skip a redraw. Only this package
reads the cluster's and the nodes' attributes for UIs: those ``docs/architecture.md``
lists as readable, plus ``index``, ``alive``, ``repl_offset`` and ``slots.raw()`` (for a
C-speed comparison of a node's slot map with the truth).

Building must stay cheap (the TUI draws ~10-20 frames a second at 100+ nodes), so
views are per pane, and the truth table is cached until the trace grows or half a
simulated second passes.
"""

from simulator.cluster import UnknownNode
from simulator.dataplane.outcomes import NAMES as REQUEST_OUTCOMES
from simulator.dataplane.redis_cli import MIGRATE_PIPELINE
from simulator.views.accessor import Views
from simulator.views.bus import (
    TYPE_ORDER,
    BusMessage,
    GossipRow,
    Heartbeats,
    MessageQuery,
    MessageWindow,
)
from simulator.views.bus_traffic import BusTypeRow, BusView
from simulator.views.cache import CacheClientRow
from simulator.views.elections import ElectionLog
from simulator.views.local_caches import LocalCacheRow
from simulator.views.memory import MemoryRow
from simulator.views.overview import CONDITIONS, NodeState, Overview
from simulator.views.shapes import (
    CandidateView,
    CheckView,
    ClientView,
    ElectionView,
    KeyNodeRow,
    KeyView,
    LessonDriver,
    LessonView,
    NodeRow,
    NodeView,
    PeerRow,
    SettingRow,
    SettingsView,
    SlotMove,
    TruthView,
)
from simulator.views.writes import LostWriteRow, WriteRiskView

__all__ = [
    "CONDITIONS",
    "MIGRATE_PIPELINE",
    "REQUEST_OUTCOMES",
    "TYPE_ORDER",
    "BusMessage",
    "BusTypeRow",
    "BusView",
    "CacheClientRow",
    "CandidateView",
    "CheckView",
    "ClientView",
    "ElectionLog",
    "ElectionView",
    "GossipRow",
    "Heartbeats",
    "KeyNodeRow",
    "KeyView",
    "LessonDriver",
    "LessonView",
    "LocalCacheRow",
    "LostWriteRow",
    "MemoryRow",
    "MessageQuery",
    "MessageWindow",
    "NodeRow",
    "NodeState",
    "NodeView",
    "Overview",
    "PeerRow",
    "SettingRow",
    "SettingsView",
    "SlotMove",
    "TruthView",
    "UnknownNode",
    "Views",
    "WriteRiskView",
]
