"""The Textual app: a thin shell over :class:`tui.model.Session` and the panes.

The simulation advances from a timer in small slices of simulated time
(``wall delta × speed``) with a wall-clock budget per tick, so keys are answered
between slices. Each pane (:mod:`tui.panes`) owns what it shows and redraws itself;
the app only bumps ``version`` when the simulation moved, at most once per frame
timer tick, and binds its selection, cursor and view toggles into the panes that
show them. Tests call :meth:`RcsimApp.tick` with a chosen wall delta instead of waiting.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import reactive

from simulator.scenario import parse_duration
from simulator.slots import CLUSTER_SLOTS
from tui import pacing, panes, render
from tui.app_inject import InjectKeys
from tui.footer import SteadyFooter
from tui.frame_path import FramePath
from tui.heap import Heap
from tui.modals import BreakpointScreen, ChoiceScreen, HelpScreen, LookupScreen, PromptScreen
from tui.model import BREAKPOINTS, MAX_SPEED, Session
from tui.panes.lost_writes import LostWritesScreen, lost_writes_text
from tui.render_timeline import session_timeline
from tui.screens import CaptionsScreen, TimelineScreen, VerdictScreen
from tui.session_io import export_trace, save_session
from tui.settings import SettingsScreen

TICK_S = 0.05
FRAME_S = 0.1
SETTLE_S = 0.25  # how often the heap's new objects are collected and frozen (tui/heap.py)
BUDGET_S = 0.02  # at most 40% of the loop for the simulation; the rest answers keys
COMPACT_WIDTH = 110
COMPACT_HEIGHT = 32

Stamp = tuple[int, int, bool, float, str | None, int]


class RcsimApp(InjectKeys):
    """rcsim's live view of one simulation."""

    CSS_PATH = "app.tcss"
    TITLE = "rcsim"
    ENABLE_COMMAND_PALETTE = False  # every action has its own key; keeps the footer clear
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "play/pause"),
        Binding("s", "step_event", "step event", show=False),
        Binding("n", "next_notable", "next"),
        Binding("b", "step_back", "back"),
        Binding("left_square_bracket", "back_second", "back 1 s", show=False),
        Binding("right_square_bracket", "forward_second", "forward 1 s", show=False),
        Binding("plus,equals_sign", "faster", "faster", show=False),
        Binding("minus", "slower", "slower", show=False),
        Binding("m", "max_speed", "max speed", show=False),
        Binding("g", "goto", "go to time", show=False),
        Binding("B", "breakpoints", "breakpoints", show=False),
        Binding("j,down", "move(1)", "next node / down", show=False),
        Binding("k,up", "move(-1)", "previous node / up", show=False),
        Binding("h", "pane(-1)", "pane left", show=False),
        Binding("l", "pane(1)", "pane right", show=False),
        Binding("left", "slot(-1)", "slot cursor left", show=False),
        Binding("right", "slot(1)", "slot cursor right", show=False),
        Binding("x", "crash", "crash"),
        Binding("p", "pause_node", "pause/resume node", show=False),
        Binding("r", "restart", "restart node", show=False),
        Binding("t", "partition", "partition", show=False),
        Binding("o", "cut", "one-way cut from the node", show=False),
        Binding("e", "heal", "heal network", show=False),
        Binding("f", "failover", "failover"),
        Binding("R", "reshard", "reshard", show=False),
        Binding("a", "add_node", "add node", show=False),
        Binding("F", "fix", "fix (redis-cli --cluster fix)", show=False),
        Binding("W", "rebalance", "rebalance (redis-cli --cluster rebalance)", show=False),
        Binding("D", "del_node", "del-node: remove the selected empty node", show=False),
        Binding("X", "forget", "CLUSTER FORGET the selected node", show=False),
        Binding("C", "set_config", "set-config (CONFIG SET)", show=False),
        Binding("i", "settings", "settings behind the timings", show=False),
        Binding("slash", "lookup", "key lookup", show=False),
        Binding("L", "lost_writes", "list the lost writes", show=False),
        Binding("c", "toggle_raw", "CLUSTER NODES view", show=False),
        Binding("N", "node_filter", "filter the topology by name or condition", show=False),
        Binding("A", "show_all", "a big cluster's topology: every node / collapsed", show=False),
        Binding("M", "bus_view", "message view: the bus messages, time running down", show=False),
        Binding("G", "graph_view", "the cluster as a graph (topology table again)", show=False),
        Binding("S", "save", "save session as YAML", show=False),
        Binding("E", "export_svg", "export SVG screenshot", show=False),
        Binding("J", "export_trace", "export trace JSONL", show=False),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
        # What a learner reads at length (tui/screens.py) and the log's scrolling.
        Binding("v", "verdict", "the lesson's verdict, every check", show=False),
        Binding("H", "captions", "caption history: every caption so far", show=False),
        Binding("T", "timeline", "timeline: the run so far as a picture", show=False),
        Binding("pageup", "page(1)", "event log (node view's peers, focused): page up", show=False),
        Binding("pagedown", "page(-1)", "event log (node view's peers): page down", show=False),
        Binding("home", "log_oldest", "event log: oldest", show=False),
        Binding("end", "log_follow", "event log: follow the newest", show=False),
    ]

    version: reactive[int] = reactive(0, init=False, repaint=False)  # sim moved (panes repaint)

    def __init__(
        self,
        session: Session,
        *,
        live: bool = True,
        out_dir: Path | None = None,
        tick_s: float = TICK_S,
        budget_s: float = BUDGET_S,
    ) -> None:
        super().__init__()
        self.session = session
        self.live = live
        self.out_dir = out_dir or Path.cwd()
        self.tick_s = tick_s
        self.budget_s = budget_s
        self.set_reactive(RcsimApp.selected, next(iter(session.sim.views.names()), None))
        self._last_wall = time.perf_counter()
        self._shown: Stamp | None = None  # the simulation as the panes last saw it
        self.frames = 0
        self._next_frame = 0.0
        self.heap = Heap()  # live only: keeps full collections out of frames (tui/heap.py)
        self.frame_path = FramePath(self, self._settle)  # nothing long before a paint
        if session.driver is not None:
            session.set_breakpoints(session.breakpoints | {"end"})  # pause on the verdict

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        session = self.session
        yield panes.HeaderBar(session, id="header", classes="").data_bind(RcsimApp.version)
        yield panes.CaptionBar(session, id="caption", classes="").data_bind(RcsimApp.version)
        with Horizontal(id="main"):
            yield panes.TopologyPane(session, id="topology").data_bind(
                RcsimApp.version, RcsimApp.selected
            )
            yield panes.GraphPane(session, id="graph").data_bind(
                RcsimApp.version, RcsimApp.selected
            )
            yield panes.NodeDiffPane(session, id="nodeview").data_bind(
                RcsimApp.version, RcsimApp.selected, raw=RcsimApp.raw_view
            )
        yield panes.MessagesPane(session, id="messages").data_bind(
            RcsimApp.version, RcsimApp.selected
        )
        yield panes.StripPane(session, id="strip").data_bind(RcsimApp.version, RcsimApp.cursor)
        with Horizontal(id="middle"):
            yield panes.ElectionPane(session, id="election").data_bind(RcsimApp.version)
            yield panes.ClientsPane(session, id="clients").data_bind(RcsimApp.version)
            yield panes.ExpectationsPane(session, id="expect").data_bind(RcsimApp.version)
        yield panes.LogPane(session, id="log").data_bind(RcsimApp.version)
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.query_one("#topology", panes.SimPane).focus()
        self._layout_for(self.size.width, self.size.height)
        if self.live:
            self._last_wall = time.perf_counter()
            self.set_interval(self.tick_s, self._timer_tick)
            self.set_interval(FRAME_S, self._frame)
            self.set_interval(SETTLE_S, self.frame_path.settle_soon)
        self.refresh_panes()  # and after its paint the first settle: the whole heap once

    def on_unmount(self) -> None:
        self.heap.release()

    def _settle(self) -> None:
        sim = self.session.sim
        self.heap.settle(sim.engine, len(sim.trace))

    def on_resize(self, event: events.Resize) -> None:
        self._layout_for(event.size.width, event.size.height)
        self.refresh_panes()  # the compact class changes what some panes draw, not their size

    def _layout_for(self, width: int, height: int) -> None:
        compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        self.screen.set_class(compact, "compact")

    # ------------------------------------------------------------------ time

    async def _timer_tick(self) -> None:
        now = time.perf_counter()
        delta, self._last_wall = min(now - self._last_wall, 0.25), now
        await pacing.fill(self, delta)  # slices, yielding to keys between them

    def tick(self, wall_delta: float) -> None:
        """Advance the simulation by ``wall_delta`` seconds of wall time at the current speed."""
        self.session.tick(wall_delta, self.budget_s)
        self.after_slice()
        if not self.live:
            self.refresh_panes()

    def _stamp(self) -> Stamp:
        session = self.session
        sim = session.sim
        return (
            sim.now,
            len(sim.trace),
            session.playing,
            session.speed,
            session.break_reason,
            session.forks,
        )

    def _frame(self) -> None:
        """Coalesced redraw when the simulation moved; a slow frame (big cluster) spaces
        out the next ones so the simulation and the keys keep two thirds of the loop."""
        now = time.perf_counter()
        if self._stamp() != self._shown and now >= self._next_frame:
            self.refresh_panes()
            spent = time.perf_counter() - now
            self._next_frame = now + max(FRAME_S, 3 * spent)

    def changed(self) -> None:
        """Something the learner did to the simulation: redraw now (keys are rare)."""
        self.refresh_panes()

    def refresh_panes(self) -> None:
        """Fold the new trace events, then let every pane redraw what changed for it."""
        session = self.session
        session.sync()
        self._shown = self._stamp()
        self.frames += 1
        names = session.sim.views.names()
        if self.selected not in names:
            self.selected = next(iter(names), None)
        self.version += 1
        if session.verdict_due:
            session.verdict_due = False
            self.action_verdict()
        self.frame_drawn()  # its paint next; a settle due (a rewind's too) after it

    # ------------------------------------------------------------------ playback keys

    def action_toggle_play(self) -> None:
        session = self.session
        session.playing = not session.playing
        session.break_reason = None
        self._last_wall = time.perf_counter()
        self.changed()

    def action_step_event(self) -> None:
        self.session.playing = False
        self.session.step_event()
        self.changed()

    def action_next_notable(self) -> None:
        self.session.playing = False
        found = self.session.step_notable()
        if not found:
            self.notify("no notable event in the next 60 s")
        self.changed()

    def action_step_back(self) -> None:
        self.session.playing = False
        self.session.step_back()
        self.changed()

    def action_back_second(self) -> None:
        self.session.playing = False
        self.session.seek(self.session.now - 1000)
        self.changed()

    def action_forward_second(self) -> None:
        self.session.playing = False
        self.session.seek(self.session.now + 1000)
        self.changed()

    def action_faster(self) -> None:
        self.session.faster()
        self.changed()

    def action_slower(self) -> None:
        self.session.slower()
        self.changed()

    def action_max_speed(self) -> None:
        self.session.speed = MAX_SPEED
        self.changed()

    def action_goto(self) -> None:
        def check(value: str) -> str | None:
            try:
                parse_duration(value)
            except ValueError as error:
                return f"{value!r}: {error}"
            return None

        def done(value: str | None) -> None:
            if value:
                self.session.playing = False
                self.session.seek(parse_duration(value))
                self.changed()

        self.push_screen(
            PromptScreen(
                "Go to simulated time",
                f"{self.session.now / 1000:g}s",
                "e.g. 3s, 2500ms, 1m; earlier times rewind through checkpoints",
                check,
            ),
            done,
        )

    def action_breakpoints(self) -> None:
        def done(active: set[str] | None) -> None:
            if active is not None:
                self.session.set_breakpoints(active)
                self.notify("breakpoints: " + (", ".join(sorted(active)) or "none"))
                self.changed()

        self.push_screen(BreakpointScreen(BREAKPOINTS, self.session.breakpoints), done)

    def action_settings(self) -> None:
        self.push_screen(SettingsScreen(self.session.sim.views.settings()))

    # ------------------------------------------------------------------ lookup, files, help

    def lookup_text(self, key: str) -> Text:
        """A key's placement; a bare number is a slot: the slot cursor jumps to it."""
        slot = key.strip()
        if slot.isdigit() and int(slot) < CLUSTER_SLOTS:
            self.cursor = int(slot)
            views = self.session.sim.views
            text = Text(f"slot cursor moved to slot {slot} (a key named {slot}: type it quoted)\n")
            text.append_text(render.slot_cursor_line(views.truth(), views.slot_moves(), int(slot)))
            return text
        if len(slot) > 1 and slot[0] == slot[-1] and slot[0] in "'\"":
            key = slot[1:-1]
        return render.key_lookup(self.session.sim.views.key(key))

    def action_lookup(self) -> None:
        self.push_screen(LookupScreen(self.lookup_text))

    def _stem(self) -> str:
        name = (self.session.name or "session").replace("/", "-").replace(" ", "-")
        return f"rcsim-{name}-{self.session.now}ms"

    def action_save(self) -> None:
        self.save()

    def save(self) -> bool:
        path = self.out_dir / f"{self._stem()}.yaml"
        try:
            save_session(self.session, path)
        except (OSError, ValueError) as error:
            self.notify(f"cannot save: {error}", severity="error")
            return False
        self.notify(f"saved the session as {path}")
        return True

    async def action_quit(self) -> None:
        """``q``: quit; with injections not saved yet (``S``), ask first."""
        if not self.session.unsaved:
            self.exit()
            return

        def done(choice: str | None) -> None:
            if choice == "quit" or (choice == "save" and self.save()):
                self.exit()

        count = len(self.session.sim.injections)
        self.push_screen(
            ChoiceScreen(
                f"Quit? {count} injected action(s) are not saved",
                [
                    ("save", "save the session as YAML (S), then quit"),
                    ("quit", "quit without saving"),
                    ("cancel", "cancel: keep going"),
                ],
            ),
            done,
        )

    def action_export_svg(self) -> None:
        path = self.save_screenshot(f"{self._stem()}.svg", str(self.out_dir))
        self.notify(f"screenshot: {path}")

    def action_export_trace(self) -> None:
        path = self.out_dir / f"{self._stem()}.jsonl"
        try:
            count = export_trace(self.session, path)
        except OSError as error:
            self.notify(f"cannot write {path}: {error.strerror or error}", severity="error")
            return
        self.notify(f"{count} trace events written to {path}")

    def help_rows(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for binding in [*self.BINDINGS, *panes.MessagesPane.BINDINGS, *panes.LogPane.BINDINGS]:
            assert isinstance(binding, Binding)
            keys = ", ".join(
                self.get_key_display(Binding(k, binding.action)) for k in binding.key.split(",")
            )
            rows.append((keys, binding.description))
        rows.append(("tab", "next pane (h/l too)"))
        return rows

    def action_lost_writes(self) -> None:
        views = self.session.sim.views
        self.push_screen(
            LostWritesScreen(lost_writes_text(views.write_risk(), views.lost_write_rows()))
        )

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_rows()))

    # ------------------------------------------------------------------ reading at length

    def action_verdict(self) -> None:
        """Pause and show every check of the lesson with its verdict (scrollable)."""
        self.session.playing = False
        view = self.session.sim.views.checks(panes.ALL_CHECKS)
        self.push_screen(VerdictScreen(render.verdict(view)))

    def action_captions(self) -> None:
        self.push_screen(CaptionsScreen(render.caption_history(self.session.facts.captions)))

    def action_timeline(self) -> None:
        width = min(int(self.size.width * 0.96), 170) - 5  # #timeline-box, inside its border
        self.push_screen(TimelineScreen(session_timeline(self.session, width)))

    def action_log_oldest(self) -> None:
        self.query_one("#log", panes.LogPane).oldest()

    def action_log_follow(self) -> None:
        self.query_one("#log", panes.LogPane).follow()
