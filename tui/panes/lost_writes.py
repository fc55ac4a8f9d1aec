"""The lost-writes list (``L``): which acknowledged writes were lost, who acknowledged
them and when, and why (§20.2), read through ``sim.views``."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from simulator.views import LostWriteRow, WriteRiskView


def risk_line(risk: WriteRiskView | None) -> Text:
    """``at risk N · lost M``, the clients pane's last line."""
    text = Text()
    if risk is None:
        return text.append("no data plane: no writes", "dim")
    text.append("at risk ", "bold")
    text.append(str(risk.at_risk), "bold yellow" if risk.at_risk else "green")
    text.append(" · lost ", "bold")
    text.append(str(risk.lost), "bold reverse red" if risk.lost else "green")
    if risk.lost:
        text.append("  L lists them", "dim")
    return text


def lost_writes_text(risk: WriteRiskView | None, rows: tuple[LostWriteRow, ...]) -> Text:
    """The modal's body: the two counts, what they mean, then one line per lost write."""
    text = Text()
    text.append("Lost writes (escape closes)\n", "bold")
    text.append_text(risk_line(risk))
    text.append(
        "\nat risk: acknowledged, seen by readers, on no replica yet (a failover now "
        "loses them)\nlost: acknowledged, then gone for good (§20.2)\n\n",
        "dim",
    )
    if not rows:
        return text.append("No acknowledged write has been lost.")
    for row in rows:
        text.append(f"{row.key}", "bold")
        text.append(f" = {row.value}  acknowledged by {row.acked_by} to {row.client} ")
        text.append(f"at {row.acked_at / 1000:.3f}s")
        text.append(f", lost at {row.lost_at / 1000:.3f}s: ", "red")
        text.append(f"{row.reason}\n")
    text.right_crop(1)
    return text


class LostWritesScreen(ModalScreen[None]):
    """Every lost write, scrollable."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,L", "dismiss", "close")]

    def __init__(self, body: Text) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box", id="lost-writes-box"):
            yield Static(self.body, id="lost-writes")
