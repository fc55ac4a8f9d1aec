"""The TUI's panes, each a widget owning its state (see :mod:`tui.panes.base`)."""

from tui.panes.base import SimPane
from tui.panes.cluster import NodeViewPane, StripPane, TopologyPane
from tui.panes.story import (
    CaptionBar,
    ClientsPane,
    ElectionPane,
    ExpectationsPane,
    HeaderBar,
    LogPane,
)

__all__ = [
    "CaptionBar",
    "ClientsPane",
    "ElectionPane",
    "ExpectationsPane",
    "HeaderBar",
    "LogPane",
    "NodeViewPane",
    "SimPane",
    "StripPane",
    "TopologyPane",
]
