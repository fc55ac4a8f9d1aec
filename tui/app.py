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
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Footer

from simulator.scenario import parse_duration
from simulator.simulation import ActionError
from simulator.slots import CLUSTER_SLOTS
from tui import panes, render
from tui.modals import BreakpointScreen, ChoiceScreen, HelpScreen, LookupScreen, PromptScreen
from tui.model import BREAKPOINTS, MAX_SPEED, Session
from tui.screens import CaptionsScreen, VerdictScreen
from tui.session_io import export_trace, save_session
from tui.words import injected

TICK_S = 0.05
FRAME_S = 0.1
BUDGET_S = 0.02  # at most 40% of the loop for the simulation; the rest answers keys
COMPACT_WIDTH = 110
COMPACT_HEIGHT = 32
PANES = ("topology", "nodeview", "strip", "election", "clients", "expect", "log")

Stamp = tuple[int, int, bool, float, str | None, int]


class RcsimApp(App[None]):
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
        Binding("slash", "lookup", "key lookup", show=False),
        Binding("c", "toggle_raw", "CLUSTER NODES view", show=False),
        Binding("S", "save", "save session as YAML", show=False),
        Binding("E", "export_svg", "export SVG screenshot", show=False),
        Binding("J", "export_trace", "export trace JSONL", show=False),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
        # What a learner reads at length (tui/screens.py) and the log's scrolling.
        Binding("v", "verdict", "the lesson's verdict, every check", show=False),
        Binding("C", "captions", "every caption so far", show=False),
        Binding("pageup", "log_page(1)", "event log: page up", show=False),
        Binding("pagedown", "log_page(-1)", "event log: page down", show=False),
        Binding("home", "log_oldest", "event log: oldest", show=False),
        Binding("end", "log_follow", "event log: follow the newest", show=False),
    ]

    version: reactive[int] = reactive(0, init=False)  # bumped when the simulation moved
    selected: reactive[str | None] = reactive(None, init=False)
    cursor: reactive[int] = reactive(0, init=False)
    raw_view: reactive[bool] = reactive(False, init=False)

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
            yield panes.NodeViewPane(session, id="nodeview").data_bind(
                RcsimApp.version, RcsimApp.selected, raw=RcsimApp.raw_view
            )
        yield panes.StripPane(session, id="strip").data_bind(RcsimApp.version, RcsimApp.cursor)
        with Horizontal(id="middle"):
            yield panes.ElectionPane(session, id="election").data_bind(RcsimApp.version)
            yield panes.ClientsPane(session, id="clients").data_bind(RcsimApp.version)
            yield panes.ExpectationsPane(session, id="expect").data_bind(RcsimApp.version)
        yield panes.LogPane(session, id="log").data_bind(RcsimApp.version)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#topology", panes.SimPane).focus()
        self._layout_for(self.size.width, self.size.height)
        if self.live:
            self._last_wall = time.perf_counter()
            self.set_interval(self.tick_s, self._timer_tick)
            self.set_interval(FRAME_S, self._frame)
        self.refresh_panes()

    def on_resize(self, event: events.Resize) -> None:
        self._layout_for(event.size.width, event.size.height)
        self.refresh_panes()  # the compact class changes what some panes draw, not their size

    def _layout_for(self, width: int, height: int) -> None:
        compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        self.screen.set_class(compact, "compact")

    @property
    def compact(self) -> bool:
        return self.screen.has_class("compact")

    # ------------------------------------------------------------------ time

    def _timer_tick(self) -> None:
        now = time.perf_counter()
        delta = min(now - self._last_wall, 0.25)
        self._last_wall = now
        self.tick(delta)

    def tick(self, wall_delta: float) -> None:
        """Advance the simulation by ``wall_delta`` seconds of wall time at the current speed."""
        self.session.tick(wall_delta, self.budget_s)
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

    # ------------------------------------------------------------------ navigation keys

    def action_move(self, delta: int) -> None:
        focused = self.focused
        pane = focused.id if focused is not None else "topology"
        if pane == "log":
            self.query_one("#log", panes.LogPane).scroll_by(-delta)
        elif pane == "strip":
            self.action_slot(delta)
        else:
            order = [name for name, _ in self.session.sim.views.order()]
            if order:
                index = order.index(self.selected) if self.selected in order else 0
                self.selected = order[(index + delta) % len(order)]

    def action_pane(self, delta: int) -> None:
        visible = [
            p for p in PANES if not (self.compact and p in ("election", "clients", "expect"))
        ]
        focused = self.focused
        current = focused.id if focused is not None and focused.id in visible else visible[0]
        target = visible[(visible.index(current) + delta) % len(visible)]
        self.query_one(f"#{target}", panes.SimPane).focus()

    def action_slot(self, delta: int) -> None:
        strip = self.query_one("#strip", panes.StripPane)
        step = max(1, CLUSTER_SLOTS // (strip.cells_wide * strip.rows))
        self.cursor = (self.cursor + delta * step) % CLUSTER_SLOTS

    def on_strip_pane_hovered(self, message: panes.StripPane.Hovered) -> None:
        self.cursor = message.cursor

    def action_toggle_raw(self) -> None:
        self.raw_view = not self.raw_view

    # ------------------------------------------------------------------ injections

    def inject(self, action: str, **args: object) -> bool:
        """Apply an action on the live simulation; errors become a notification."""
        try:
            reply = self.session.inject(action, **args)
        except ActionError as error:
            self.notify(str(error), title=f"{action} refused", severity="error")
            self.changed()
            return False
        self.notify(injected(action, args, reply))
        self.changed()
        return True

    def action_crash(self) -> None:
        if self.selected:
            self.inject("kill", node=self.selected)

    def action_pause_node(self) -> None:
        node = self.session.sim.views.node(self.selected)
        if node is not None:
            self.inject("resume" if node.status == "paused" else "pause", node=node.name)

    def action_restart(self) -> None:
        if self.selected:
            self.inject("restart", node=self.selected)

    def action_heal(self) -> None:
        self.inject("heal", groups=None)

    def action_partition(self) -> None:
        views = self.session.sim.views
        selected = self.selected or ""
        node = views.node(selected)
        mine = [selected]
        if node is not None and not node.is_master and node.master_name:
            mine.append(node.master_name)
        rest = [n for n in views.names() if n not in mine]
        names = set(views.names())

        def parse(value: str) -> list[list[str]]:
            return [g.split() for g in value.split("|") if g.split()]

        def check(value: str) -> str | None:
            groups = parse(value)
            if len(groups) < 2:
                return "give at least two groups separated by |"
            unknown = [n for g in groups for n in g if n not in names]
            if unknown:
                return f"unknown node(s): {', '.join(unknown)}"
            return None

        def done(value: str | None) -> None:
            if value:
                self.inject("partition", groups=parse(value))

        self.push_screen(
            PromptScreen(
                "Partition the network into groups",
                f"{' '.join(mine)} | {' '.join(rest)}",
                "nodes separated by spaces, groups by |",
                check,
            ),
            done,
        )

    def action_cut(self) -> None:
        nodes = self.session.sim.views.names()
        names = set(nodes)
        others = [n for n in nodes if n != self.selected]

        def parse(value: str) -> tuple[list[str], list[str]] | None:
            if "->" not in value:
                return None
            left, right = value.split("->", 1)
            return left.split(), right.split()

        def check(value: str) -> str | None:
            parsed = parse(value)
            if parsed is None or not parsed[0] or not parsed[1]:
                return "type: sources -> targets, e.g. n1 -> n2 n3"
            unknown = [n for n in parsed[0] + parsed[1] if n not in names]
            return f"unknown node(s): {', '.join(unknown)}" if unknown else None

        def done(value: str | None) -> None:
            parsed = parse(value or "")
            if parsed is not None:
                self.inject("cut", **{"from": parsed[0], "to": parsed[1]})

        self.push_screen(
            PromptScreen(
                "One-way cut: messages from the left can no longer reach the right",
                f"{self.selected} -> {' '.join(others)}",
                "sources -> targets (e heals every link)",
                check,
            ),
            done,
        )

    def action_failover(self) -> None:
        def done(mode: str | None) -> None:
            if mode and self.selected:
                self.inject("failover", node=self.selected, mode=mode)

        self.push_screen(
            ChoiceScreen(
                f"CLUSTER FAILOVER on {self.selected} (must be a replica)",
                [
                    ("default", "default: wait for the master to catch up, then elect"),
                    ("force", "force: don't wait for the master, still elect"),
                    ("takeover", "takeover: no election, bump the epoch"),
                ],
            ),
            done,
        )

    def action_reshard(self) -> None:
        views = self.session.sim.views
        source = self.selected or ""
        masters = [n for n in views.masters() if n != source]
        target = masters[0] if masters else ""

        def parse(value: str) -> tuple[int, str] | None:
            parts = value.split()
            if len(parts) != 2 or not parts[0].isdigit():
                return None
            return int(parts[0]), parts[1]

        def check(value: str) -> str | None:
            parsed = parse(value)
            if parsed is None:
                return "type: <number of slots> <target master>, e.g. 100 n2"
            if parsed[1] not in views.names():
                return f"unknown node '{parsed[1]}'"
            return None

        def done(value: str | None) -> None:
            parsed = parse(value or "")
            if parsed is not None:
                self.inject("reshard", source=source, target=parsed[1], count=parsed[0])

        self.push_screen(
            PromptScreen(f"Reshard slots from {source}", f"100 {target}", "count target", check),
            done,
        )

    def action_add_node(self) -> None:
        self.inject("add-node", name=None, replica_of=None)

    # ------------------------------------------------------------------ lookup, files, help

    def lookup_text(self, key: str) -> Text:
        return render.key_lookup(self.session.sim.views.key(key))

    def action_lookup(self) -> None:
        self.push_screen(LookupScreen(self.lookup_text))

    def _stem(self) -> str:
        name = (self.session.name or "session").replace("/", "-").replace(" ", "-")
        return f"rcsim-{name}-{self.session.now}ms"

    def action_save(self) -> None:
        path = self.out_dir / f"{self._stem()}.yaml"
        try:
            save_session(self.session, path)
        except (OSError, ValueError) as error:
            self.notify(f"cannot save: {error}", severity="error")
            return
        self.notify(f"saved the session as {path}")

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
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            keys = ", ".join(
                self.get_key_display(Binding(k, binding.action)) for k in binding.key.split(",")
            )
            rows.append((keys, binding.description))
        rows.append(("tab", "next pane (h/l too)"))
        return rows

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

    def action_log_page(self, direction: int) -> None:
        log = self.query_one("#log", panes.LogPane)
        log.scroll_by(direction * log.page)

    def action_log_oldest(self) -> None:
        self.query_one("#log", panes.LogPane).oldest()

    def action_log_follow(self) -> None:
        self.query_one("#log", panes.LogPane).follow()
