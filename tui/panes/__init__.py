"""The TUI's panes, each a widget owning its state (see :mod:`tui.panes.base`)."""

from tui.panes.base import SimPane
from tui.panes.cluster import NodeViewPane, StripPane, TopologyPane
from tui.panes.graph import GraphPane
from tui.panes.messages import MessagesPane
from tui.panes.node_diff import NodeDiffPane
from tui.panes.story import (
    ALL_CHECKS,
    CaptionBar,
    ClientsPane,
    ElectionPane,
    ExpectationsPane,
    HeaderBar,
    LogPane,
)

__all__ = [
    "ALL_CHECKS",
    "CaptionBar",
    "ClientsPane",
    "ElectionPane",
    "ExpectationsPane",
    "GraphPane",
    "HeaderBar",
    "LogPane",
    "MessagesPane",
    "NodeDiffPane",
    "NodeViewPane",
    "SimPane",
    "StripPane",
    "TopologyPane",
]
