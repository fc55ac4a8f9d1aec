"""The settings view (``i``): the directives behind the timings on screen, and what
they mean in milliseconds for this cluster (behaviour reference §1.3)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from simulator.views import SettingsView
from tui.words import seconds

SHORT = {
    "cluster-node-timeout": "NT",
    "cluster-replica-validity-factor": "validity factor",
    "repl-ping-replica-period": "ping period (s)",
    "cluster-require-full-coverage": "full coverage",
    "cluster-replica-no-failover": "no failover",
    "cluster-allow-reads-when-down": "reads when down",
    "cluster-migration-barrier": "migration barrier",
}


def _word(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def settings_table(view: SettingsView) -> Text:
    """Per directive: its short name, value for the cluster, the nodes that differ, and
    (dim, below) what it means."""
    text = Text()
    text.append(f"{'':<18}{'directive':<34}{'cluster':<9}nodes that differ\n", "dim")
    for row in view.rows:
        differs = " ".join(f"{node}:{_word(value)}" for node, value in row.differs)
        text.append(f"{SHORT.get(row.directive, ''):<18}", "bold")
        text.append(f"{row.directive:<34}{_word(row.value):<9}")
        text.append(differs or "-", "bold yellow" if differs else "dim")
        text.append(f"\n{'':<18}{row.meaning}\n", "dim")
    text.rstrip()
    return text


def timings(view: SettingsView) -> Text:
    """The derived timings of §1.3 at the cluster's values, in plain words."""
    nt = int(str(view.value("cluster-node-timeout")))
    factor = int(str(view.value("cluster-replica-validity-factor")))
    ping = int(str(view.value("repl-ping-replica-period")))
    coverage = view.value("cluster-require-full-coverage")
    auth = max(2 * nt, 2000)
    text = Text()
    text.append(f"What they mean here (the cluster's NT = {nt} ms):\n", "bold")
    lines = [
        f"a node is suspected (PFAIL) after NT without an answer: {seconds(nt)}; FAIL "
        f"needs a majority of masters' reports, each valid for 2 × NT = {seconds(2 * nt)}",
        "a replica asks for votes 500 ms + random 0-500 ms + 1000 ms × its rank after "
        "it learns its master FAILed (§11.3)",
        f"an election without a majority is given up after max(2 × NT, 2 s) = "
        f"{seconds(auth)} and retried after {seconds(2 * auth)}; a master votes for one "
        f"replica of a failed master at most every 2 × NT = {seconds(2 * nt)} (§11.4)",
    ]
    if factor:
        limit = ping * 1000 + nt * factor
        lines.append(
            f"a replica out of touch with its master for more than NT + {ping} s "
            f"+ NT × {factor} = {seconds(nt + limit)} refuses to fail over (§11.2)"
        )
    else:
        lines.append("validity factor 0: a replica never refuses to fail over (§11.2)")
    lines.append(
        "full coverage yes: one unserved slot puts cluster_state:fail on every node "
        "that sees it (§14)"
        if coverage
        else "full coverage no: the slots still served keep being served (§14)"
    )
    rejoin = min(max(nt, 500), 5000)
    lines.append(
        f"a master back in the majority waits {seconds(rejoin)} (NT, clamped to "
        f"0.5-5 s) before it says cluster_state:ok again (§14)"
    )
    for line in lines:
        text.append(f"• {line}\n")
    text.append("Per-node values apply to that node's own timers; C sets them.", "dim")
    return text


class SettingsScreen(ModalScreen[None]):
    """The settings view: a table of directives and the timings they give."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,i", "dismiss", "close")]

    def __init__(self, view: SettingsView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box", id="settings-box"):
            yield Static(Text("Settings behind the timings (escape closes)", style="bold"))
            yield Static(settings_table(self.view), id="settings-table")
            yield Static(timings(self.view), id="settings-timings")
