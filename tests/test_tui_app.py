"""The live TUI driven headless (App.run_test + Pilot), by simulated time, never by sleeping.

Each app is built with ``live=False``: no timers run; a test advances the simulation
with keys or with ``app.tick(wall_seconds)``, which is exactly what the timer calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from simulator.harness.runner import build
from simulator.scenario import load_scenario
from simulator.trace import is_notable
from tests.tui_pilot import drive as pilot_drive
from tests.tui_pilot import goto
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.modals import HelpScreen
from tui.words import check_text

Script = Callable[[RcsimApp, Any], Awaitable[None]]


def drive(script: Script, size: tuple[int, int] = (120, 40), tmp: Path | None = None) -> RcsimApp:
    """Run ``script(app, pilot)`` against a paused master-crash lesson."""
    return pilot_drive("master-crash", script, size, out_dir=tmp)


def kinds(app: RcsimApp, kind: str) -> list[dict[str, Any]]:
    return [e for e in app.session.sim.trace.events if e["kind"] == kind]


def test_space_toggles_play_and_tick_advances_by_wall_time_times_speed() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        assert not app.session.playing
        await pilot.press("space")
        assert app.session.playing
        app.tick(0.5)  # half a wall second at 1x
        assert app.session.now == 500
        await pilot.press("plus")
        assert app.session.speed == 2
        app.tick(0.5)
        assert app.session.now == 1500
        await pilot.press("minus", "minus")
        assert app.session.speed == 0.5
        await pilot.press("m")
        app.tick(0.0001)  # max speed: 10 000× (1 s of simulated time here), within budget
        assert app.session.now == 2500
        await pilot.press("space")
        before = app.session.now
        app.tick(1.0)
        assert app.session.now == before

    drive(script)


def test_step_one_event_and_step_to_next_notable_event() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        engine_events = app.session.sim.engine.events_run
        await pilot.press("s")
        assert app.session.sim.engine.events_run == engine_events + 1
        length = len(app.session.sim.trace)
        await pilot.press("n")
        events = app.session.sim.trace.events
        assert len(events) > length
        assert is_notable(events[-1])

    drive(script)


def test_go_to_time_and_step_back_rewind_before_the_failover() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "9s")
        assert app.session.now == 9000
        assert kinds(app, "promoted")
        promoted_at = kinds(app, "promoted")[0]["t"]
        await goto(pilot, "3s")
        assert app.session.now == 3000
        assert not kinds(app, "promoted")
        assert app.session.sim.cluster.nodes["n4"].is_master is False
        await goto(pilot, "9s")
        assert kinds(app, "promoted")[0]["t"] == promoted_at  # the same past replays
        before = app.session.now
        await pilot.press("b")
        assert app.session.now < before
        await pilot.press("left_square_bracket")
        assert app.session.now <= before - 1000

    drive(script)


def test_rewind_then_crash_another_node_forks_the_timeline() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "9s")
        original = list(app.session.sim.trace.events)
        await goto(pilot, "3s")
        await pilot.press("j", "j")  # topology order: n1, n4, n2
        assert app.selected == "n2"
        await pilot.press("x")
        assert app.session.forks == 0 or app.session.forks == 1
        crash = kinds(app, "crash")[-1]
        assert crash["node"] == "n2" and crash["t"] == 3000
        await goto(pilot, "9s")
        events = app.session.sim.trace.events
        prefix = [e for e in original if e["t"] < 3000]
        assert events[: len(prefix)] == prefix
        assert events != original
        # Two masters down out of three: no majority, nobody can be promoted (§11.4).
        assert not kinds(app, "promoted")

    drive(script)


def test_each_injection_key_reaches_the_simulation(tmp_path: Path) -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "1s")
        app.selected = "n3"
        await pilot.press("p")
        assert app.session.sim.cluster.nodes["n3"].status == "paused"
        await pilot.press("p")
        assert app.session.sim.cluster.nodes["n3"].status == "running"
        await pilot.press("x")
        assert app.session.sim.cluster.nodes["n3"].status == "crashed"
        await pilot.press("r")
        assert app.session.sim.cluster.nodes["n3"].status == "running"
        app.selected = "n2"
        await pilot.press("t")
        await pilot.press("enter")  # default groups: n2 | everyone else
        assert kinds(app, "partition")[-1]["groups"][0] == ["n2"]
        await pilot.press("o", "enter")  # one-way: n2 can no longer reach the others
        assert kinds(app, "cut")[-1]["sources"] == ["n2"]
        await pilot.press("e")
        assert kinds(app, "heal")
        app.selected = "n6"
        await pilot.press("f", "down", "enter")  # force
        assert kinds(app, "failover")[-1]["mode"] == "force"
        app.selected = "n2"
        await pilot.press("R", *["backspace"] * 10, *"10 n3", "enter")
        injections = app.session.sim.injections
        assert injections[-1].action == "reshard" and injections[-1].args["count"] == 10
        await pilot.press("a")
        assert app.session.sim.injections[-1].action == "add-node"
        assert "n7" in app.session.sim.cluster.nodes
        actions = [i.action for i in app.session.sim.injections]
        assert actions == [
            "pause",
            "resume",
            "kill",
            "restart",
            "partition",
            "cut",
            "heal",
            "failover",
            "reshard",
            "add-node",
        ]

    drive(script, tmp=tmp_path)


def test_refused_injection_is_reported_not_raised() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        app.selected = "n1"
        await pilot.press("f", "enter")  # n1 is a master: Redis refuses CLUSTER FAILOVER
        await pilot.press("x", "x")  # the second crash is refused: n1 is not running
        assert [i.action for i in app.session.sim.injections] == ["failover", "kill"]

    drive(script)


def test_breakpoint_on_fail_pauses_playback() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("B")
        await pilot.press("enter")  # only the lesson's end is ticked at first
        assert app.session.breakpoints == {"end"}
        await pilot.press("B", "space", "enter")  # tick the first: a node enters FAIL
        assert app.session.breakpoints == {"fail", "end"}
        await pilot.press("space", "m")
        for _ in range(200):
            app.tick(0.05)
            if not app.session.playing:
                break
        assert not app.session.playing
        assert "FAIL" in (app.session.break_reason or "")
        assert kinds(app, "fail")[-1]["t"] == app.session.now  # stopped on that event

    drive(script)


def test_breakpoint_on_cluster_state_change() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        app.session.breakpoints = {"state"}
        app.session.playing = True
        app.session.speed = 1000
        for _ in range(100):
            app.tick(0.05)
            if not app.session.playing:
                break
        assert not app.session.playing
        assert kinds(app, "cluster_state")[-1]["t"] == app.session.now

    drive(script)


def test_compact_layout_at_80x24_shows_every_node() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        assert app.screen.has_class("compact")
        text = str(app.query_one("#topology").render())
        for name in ("n1", "n2", "n3", "n4", "n5", "n6"):
            assert name in text
        assert not app.query_one("#middle").display

    drive(script, size=(80, 24))


def test_roomy_layout_shows_election_clients_expectations() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        assert not app.screen.has_class("compact")
        assert app.query_one("#middle").display
        await goto(pilot, "9s")
        election = str(app.query_one("#election").render())
        assert "replacing n1" in election and "WON" in election

    drive(script, size=(120, 40))


def test_help_lists_every_binding() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = [d for _, d in app.screen.rows]
        for binding in app.BINDINGS:
            assert getattr(binding, "description", "") in described
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

    drive(script)


def test_key_lookup_names_slot_tag_owner_and_beliefs() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        text = app.lookup_text("{user1000}.following").plain
        assert "slot 3443" in text and "{user1000}" in text
        assert "owner (truth): n1" in text
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"foo", "enter")
        await pilot.pause()
        answer = str(app.screen.query_one("#lookup-answer").render())
        assert "slot 12182" in answer

    drive(script)


def test_pane_movement_and_node_switching() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        assert app.focused is not None and app.focused.id == "topology"
        await pilot.press("l")
        assert app.focused is not None and app.focused.id == "nodeview"
        await pilot.press("h")
        assert app.focused is not None and app.focused.id == "topology"
        await pilot.press("k")
        assert app.selected == "n6"  # wraps to the last in topology order
        await pilot.press("c")
        assert app.raw_view
        await pilot.hover("#strip", offset=(60, 1))  # border + padding, then cell 58
        assert app.cursor == 58 * 16384 // (116 * 2)  # 116 cells a row, 2 rows

    drive(script)


def assert_replays_the_session(app: RcsimApp, saved: Path) -> None:
    """The saved scenario, run to where the session stopped, gives the session's trace.
    Inserted steps renumber the lesson's caption events; nothing else may differ."""
    replay = build(load_scenario(str(saved)))
    replay.set_bus_trace()  # as the TUI does (the message view)
    replay.run_until(app.session.now - 1)
    session_events = [e for e in app.session.sim.trace.events if e["t"] < app.session.now]

    def strip(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in e.items() if not (e["kind"] == "caption" and k == "step")}
            for e in events
        ]

    assert strip(replay.trace.events) == strip(session_events)


def test_save_session_replays_to_the_same_trace(tmp_path: Path) -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "1.5s")
        app.selected = "n5"
        await pilot.press("p")  # between two timed lesson steps
        await goto(pilot, "12s")
        app.selected = "n2"
        await pilot.press("x")  # after the lesson's steps
        await goto(pilot, "15s")
        await pilot.press("S", "E", "J")
        await pilot.pause()

    app = drive(script, tmp=tmp_path)
    saved = sorted(tmp_path.glob("*.yaml"))
    assert len(saved) == 1
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".jsonl", ".svg", ".yaml"]
    assert_replays_the_session(app, saved[0])


def test_save_after_crashing_another_node_during_a_wait_replays_the_fork(tmp_path: Path) -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "9s")
        await goto(pilot, "4.5s")  # back before the failover, while the lesson waits for FAIL
        assert app.session.driver.current is not None
        app.selected = "n2"
        await pilot.press("x")
        assert app.session.forks == 1
        await goto(pilot, "12s")
        await pilot.press("S")
        await pilot.pause()

    app = drive(script, tmp=tmp_path)
    assert_replays_the_session(app, next(tmp_path.glob("*.yaml")))


def test_breakpoint_on_a_lost_write_in_the_minority_partition_lesson() -> None:
    session = scenario_session("minority-partition", playing=True)
    session.breakpoints = {"lost"}
    session.speed = 1000
    for _ in range(20):
        session.tick(0.002, 60.0)  # 2 simulated seconds per tick
        if not session.playing:
            break
    assert not session.playing
    assert "lost" in (session.break_reason or "")
    assert session.lost_writes() > 0


def test_breakpoint_when_an_expectation_fails_after_a_fork() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "3s")
        app.selected = "n2"
        await pilot.press("x")  # now no majority can mark n1 FAIL: the lesson's wait fails
        app.session.breakpoints = {"expect"}
        app.session.playing = True
        app.session.speed = 1000
        for _ in range(30):
            app.tick(0.002)
            if not app.session.playing:
                break
        failed = [r for r in app.session.driver.results if not r.passed]
        # The reason names the expectation that failed (issue 16 item 12).
        assert (
            app.session.break_reason
            == f"expectation failed: {failed[-1].condition}: {check_text(failed[-1].expected)}"
        )
        # Stopped right after the failing check (a checkpoint boundary may add one event).
        assert failed and 0 <= app.session.now - failed[-1].at < 100

    drive(script)
