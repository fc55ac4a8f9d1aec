"""The Textual app: a thin shell over :class:`tui.model.Session` and :mod:`tui.render`.

The simulation advances from a timer in small slices of simulated time
(``wall delta × speed``) with a wall-clock budget per tick, so keys are answered
between slices; redraws are coalesced by a slower frame timer. Tests call
:meth:`RcsimApp.tick` with a chosen wall delta instead of waiting.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Static

from simulator.scenario import parse_duration
from simulator.simulation import ActionError
from simulator.slots import CLUSTER_SLOTS, hashed_part, key_hash_slot
from tui import render
from tui.modals import BreakpointScreen, ChoiceScreen, HelpScreen, LookupScreen, PromptScreen
from tui.model import BREAKPOINTS, MAX_SPEED, Session
from tui.session_io import export_trace, save_session

TICK_S = 0.05
FRAME_S = 0.1
BUDGET_S = 0.02  # at most 40% of the loop for the simulation; the rest answers keys
COMPACT_WIDTH = 110
COMPACT_HEIGHT = 32
PANES = ("topology", "nodeview", "strip", "election", "clients", "expect", "log")


class Pane(Static, can_focus=True):
    """A focusable, bordered pane whose content the app replaces each frame."""


class StripPane(Pane):
    """The slot strip: hovering names the slot range under the mouse."""

    def on_mouse_move(self, event: events.MouseMove) -> None:
        offset = event.get_content_offset(self)
        app = self.app
        if offset is not None and isinstance(app, RcsimApp):
            app.hover_cell(offset.x, offset.y)


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
    ]

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
        self.selected: str | None = next(iter(session.sim.cluster.nodes), None)
        self.cursor = 0
        self.raw_view = False
        self.log_offset = 0
        self.dirty = True
        self.truth = render.TruthCache()
        self._last_wall = time.perf_counter()
        self.frames = 0
        self._next_frame = 0.0

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield Static(id="caption")
        with Horizontal(id="main"):
            yield Pane(id="topology", classes="pane")
            yield Pane(id="nodeview", classes="pane")
        yield StripPane(id="strip", classes="pane")
        with Horizontal(id="middle"):
            yield Pane(id="election", classes="pane")
            yield Pane(id="clients", classes="pane")
            yield Pane(id="expect", classes="pane")
        yield Pane(id="log", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        titles = {
            "topology": "topology (truth)",
            "nodeview": "node's own view",
            "strip": "16384 slots",
            "election": "election",
            "clients": "clients",
            "expect": "expectations",
            "log": "event log",
        }
        for pane, title in titles.items():
            self.query_one(f"#{pane}", Pane).border_title = title
        self.query_one("#topology", Pane).focus()
        self._layout_for(self.size.width, self.size.height)
        if self.live:
            self._last_wall = time.perf_counter()
            self.set_interval(self.tick_s, self._timer_tick)
            self.set_interval(FRAME_S, self._frame)
        self.refresh_panes()
        self.call_after_refresh(self.refresh_panes)  # again, now that panes have sizes

    def on_resize(self, event: Any) -> None:
        self._layout_for(event.size.width, event.size.height)
        self.dirty = True
        if not self.live:
            self.refresh_panes()

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
        if self.session.tick(wall_delta, self.budget_s):
            self.dirty = True
        if not self.session.playing and self.session.break_reason:
            self.dirty = True
        if not self.live:
            self.refresh_panes()

    def _frame(self) -> None:
        """Coalesced redraw; a slow frame (big cluster) spaces out the next ones so the
        simulation and the keys keep at least two thirds of the loop."""
        now = time.perf_counter()
        if self.dirty and now >= self._next_frame:
            self.refresh_panes()
            spent = time.perf_counter() - now
            self._next_frame = now + max(FRAME_S, 3 * spent)

    def changed(self) -> None:
        """Something the learner did: redraw now (keys are rare; ticks are coalesced)."""
        self.refresh_panes()

    # ------------------------------------------------------------------ drawing

    def refresh_panes(self) -> None:
        session = self.session
        session.sync()
        self.dirty = False
        self.frames += 1
        cluster = session.sim.cluster
        if self.selected not in cluster.nodes:
            self.selected = next(iter(cluster.nodes), None)
        truth = self.truth.get(session)
        self.query_one("#header", Static).update(render.header(session), layout=False)
        self.query_one("#caption", Static).update(render.caption(session))
        topology = self.query_one("#topology", Pane)
        topology.update(
            render.topology(
                session,
                self.selected,
                truth,
                height=topology.content_size.height,
                width=topology.content_size.width,
            ),
            layout=False,
        )
        nodeview = self.query_one("#nodeview", Pane)
        nodeview.border_title = f"{self.selected}'s own view" + (
            " (CLUSTER NODES)" if self.raw_view else ""
        )
        nodeview.update(
            render.node_view(
                session,
                self.selected,
                truth,
                raw=self.raw_view,
                max_peers=max(3, nodeview.content_size.height - 5),
            ),
            layout=False,
        )
        strip = self.query_one("#strip", Pane)
        rows = 1 if self.compact else 2
        width = max(16, strip.content_size.width)
        strip_text = render.slot_strip(session, truth, self.cursor, width, rows)
        strip_text.append("\n")
        strip_text.append_text(render.slot_cursor_line(session, truth, self.cursor))
        strip.update(strip_text, layout=False)
        if not self.compact:
            self.query_one("#election", Pane).update(render.election(session), layout=False)
            self.query_one("#clients", Pane).update(render.clients(session), layout=False)
            self.query_one("#expect", Pane).update(render.expectations(session), layout=False)
        log = self.query_one("#log", Pane)
        log.update(
            render.event_log(session, max(1, log.content_size.height), self.log_offset),
            layout=False,
        )

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
                self.session.breakpoints = active
                self.notify("breakpoints: " + (", ".join(sorted(active)) or "none"))
                self.changed()

        self.push_screen(BreakpointScreen(BREAKPOINTS, self.session.breakpoints), done)

    # ------------------------------------------------------------------ navigation keys

    def action_move(self, delta: int) -> None:
        focused = self.focused
        pane = focused.id if focused is not None else "topology"
        if pane == "log":
            self.log_offset = max(0, self.log_offset - delta)
        elif pane == "strip":
            self.action_slot(delta)
            return
        else:
            order = [n.name for n, _ in render.topology_order(self.session.sim.cluster)]
            if order:
                index = order.index(self.selected) if self.selected in order else 0
                self.selected = order[(index + delta) % len(order)]
        self.changed()

    def action_pane(self, delta: int) -> None:
        visible = [
            p for p in PANES if not (self.compact and p in ("election", "clients", "expect"))
        ]
        focused = self.focused
        current = focused.id if focused is not None and focused.id in visible else visible[0]
        target = visible[(visible.index(current) + delta) % len(visible)]
        self.query_one(f"#{target}", Pane).focus()

    def action_slot(self, delta: int) -> None:
        strip = self.query_one("#strip", Pane)
        cells = max(16, strip.content_size.width) * (1 if self.compact else 2)
        step = max(1, CLUSTER_SLOTS // cells)
        self.cursor = (self.cursor + delta * step) % CLUSTER_SLOTS
        self.changed()

    def hover_cell(self, x: int, y: int) -> None:
        """Move the slot cursor to the strip cell at content offset (x, y)."""
        strip = self.query_one("#strip", Pane)
        width = max(16, strip.content_size.width)
        rows = 1 if self.compact else 2
        if not (0 <= x < width and 0 <= y < rows):
            return
        cursor = int((y * width + x) * CLUSTER_SLOTS / (width * rows))
        if cursor != self.cursor:
            self.cursor = cursor
            self.changed()

    def action_toggle_raw(self) -> None:
        self.raw_view = not self.raw_view
        self.changed()

    # ------------------------------------------------------------------ injections

    def inject(self, action: str, **args: Any) -> bool:
        """Apply an action on the live simulation; errors become a notification."""
        try:
            reply = self.session.inject(action, **args)
        except ActionError as error:
            self.notify(str(error), title=f"{action} refused", severity="error")
            self.changed()
            return False
        words = " ".join(f"{k}={v}" for k, v in args.items() if v is not None)
        self.notify(f"{action} {words}" + (f": {reply}" if reply else ""))
        self.changed()
        return True

    def action_crash(self) -> None:
        if self.selected:
            self.inject("kill", node=self.selected)

    def action_pause_node(self) -> None:
        node = self.session.sim.cluster.nodes.get(self.selected or "")
        if node is not None:
            self.inject("resume" if node.status == "paused" else "pause", node=node.name)

    def action_restart(self) -> None:
        if self.selected:
            self.inject("restart", node=self.selected)

    def action_heal(self) -> None:
        self.inject("heal", groups=None)

    def action_partition(self) -> None:
        cluster = self.session.sim.cluster
        selected = self.selected or ""
        node = cluster.nodes.get(selected)
        mine = [selected]
        if node is not None and not node.is_master and node.master_name:
            mine.append(node.master_name)
        rest = [n for n in cluster.nodes if n not in mine]
        names = set(cluster.nodes)

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
        cluster = self.session.sim.cluster
        names = set(cluster.nodes)
        others = [n for n in cluster.nodes if n != self.selected]

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
        cluster = self.session.sim.cluster
        source = self.selected or ""
        masters = [n.name for n in cluster.nodes.values() if n.is_master and n.name != source]
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
            if parsed[1] not in cluster.nodes:
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
        session = self.session
        cluster = session.sim.cluster
        slot = key_hash_slot(key)
        part, tagged = hashed_part(key)
        text = Text()
        text.append(f"{key!r} → slot {slot}", "bold")
        tag = part.decode("utf-8", "replace")
        text.append(f"  (hash tag {{{tag}}})\n" if tagged else "  (no hash tag)\n")
        text.append(f"owner (truth): {cluster.truth_owner(slot) or 'NOBODY'}\n")
        dataplane = session.dataplane
        lookup = getattr(dataplane, "lookup", None)
        info: dict[str, Any] = lookup(key) if lookup is not None else {}
        replies: dict[str, str] = info.get("replies", {})
        for node in cluster.nodes.values():
            if not node.alive:
                text.append(f"{node.name:<5} ({node.status})\n", "dim")
                continue
            believed = node.slot_owner(slot)
            text.append(f"{node.name:<5} believes {believed or 'nobody':<6}")
            if node.name in replies:
                reply = replies[node.name]
            elif believed == node.name or (not node.is_master and believed == node.master_name):
                reply = "served here" if believed == node.name else f"MOVED (replica of {believed})"
            elif believed is None:
                reply = "CLUSTERDOWN Hash slot not served"
            else:
                reply = f"MOVED {slot} {cluster.nodes[believed].addr if believed in cluster.nodes else '?'}"
            style = (
                "green"
                if not reply.startswith(("MOVED", "ASK", "CLUSTERDOWN", "TRY"))
                else "yellow"
            )
            text.append(f"  GET → {reply}\n", style)
        if "value" in info:
            text.append(f"current value: {info['value']!r}\n", "bold")
        elif dataplane is None:
            text.append("(no data plane: values are not simulated here)\n", "dim")
        return text

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
