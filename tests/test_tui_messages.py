"""The message view (M) and the cluster graph (G), driven by simulated time (issue 14)."""

from __future__ import annotations

from functools import cache
from typing import Any

from tests.tui_pilot import drive, goto, prompt, shown
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.panes import GraphPane, MessagesPane

SIZE = (120, 40)


def lines(app: RcsimApp, pane: str) -> list[str]:
    return shown(app.query_one(f"#{pane}"))


@cache
def lesson_moments() -> dict[str, int]:
    """When the master-crash lesson's story happens at its seed, read from the run's own
    trace: the tests go to these moments, so a change of timing (a cron phase, the unix
    clock's origin of §6.3, ...) moves them instead of breaking them."""
    session = scenario_session("master-crash", playing=False)
    session.seek(20_000)
    events = session.sim.trace.events

    def first(kind: str, **match: Any) -> int:
        return next(
            e["t"]
            for e in events
            if e["kind"] == kind
            and e.get("target") == "n1"
            and all(e.get(k) == v for k, v in match.items())
        )

    moments = {
        "pfail": first("pfail"),  # the first node suspects n1
        "fail": first("fail"),  # the first node flags n1 FAIL (and broadcasts it)
        "n5_pfail": first("pfail", node="n5"),
        "n5_fail": first("fail", node="n5"),
        "election": first("election_started", node="n4"),
        "promoted": first("promoted", node="n4"),
    }
    assert moments["pfail"] < moments["fail"] <= moments["election"] <= moments["promoted"]
    assert moments["n5_pfail"] < moments["n5_fail"]
    return moments


def at(ms: int) -> str:
    """A moment as the go-to dialog (g) takes it."""
    return f"{ms}ms"


def test_the_master_crash_lesson_as_messages() -> None:
    """A learner watches the PFAIL reports spread, the FAIL reach every node and the
    votes come back, then rewinds: the view follows."""
    seen: dict[str, list[str]] = {}
    moments = lesson_moments()
    # a second after the election starts; "back 2 s" from there is a second before it
    story_at = moments["election"] + 1000

    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("M")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "messages"
        # just before the first FAIL: n1 is PFAIL for some, reports travel in gossip
        await goto(pilot, at(moments["fail"] - 1))
        seen["pfail"] = lines(app, "messages")
        await goto(pilot, at(story_at))  # after the FAIL and the election
        seen["story"] = lines(app, "messages")
        await pilot.press("y")  # FAIL only
        await pilot.pause()
        await pilot.press("z")  # about n1
        await pilot.pause()
        await pilot.press("d")  # and its content
        await pilot.pause()
        seen["fail"] = lines(app, "messages")
        seen["title"] = [str(app.query_one("#messages", MessagesPane).border_title)]
        await pilot.press("y")  # AUTH_REQUEST/ACK
        await pilot.press("z", "z", "z")  # n1 -> n2 -> n3 -> n4, the candidate
        await pilot.pause()
        seen["votes"] = lines(app, "messages")
        await pilot.press("left_square_bracket", "left_square_bracket")  # back 2 s: before it
        await pilot.pause()
        seen["rewound"] = lines(app, "messages")

    drive("master-crash", script, size=SIZE)
    assert any("n1:PFAIL" in line for line in seen["pfail"])
    assert not any("FAIL n1" in line for line in seen["pfail"])
    story = "\n".join(seen["story"])
    assert "n1:PFAIL" in story and "FAIL n1" in story
    assert "AUTH_REQUEST epoch" in story and "AUTH_ACK epoch" in story
    fail = "\n".join(seen["fail"])
    assert "FAIL n1" in fail and "PING" not in fail and "AUTH" not in fail
    marker = next(line for line in seen["fail"] if line.startswith("FAIL "))
    for node in ("n2", "n3", "n4", "n5", "n6"):
        assert node in marker  # the sender and every receiver: every live node
    assert "node n1 (z)" in seen["title"][0]
    votes = [line for line in seen["votes"] if "AUTH_" in line]
    assert any("n4→4 nodes AUTH_REQUEST" in line for line in votes)
    assert sum("AUTH_ACK" in line for line in votes) >= 2  # a majority of 3 masters
    assert not any("AUTH_" in line for line in seen["rewound"])


def test_the_message_view_moves_with_step_and_play() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("M", "w")  # every PING/PONG
        await pilot.pause()
        pane = app.query_one("#messages", MessagesPane)
        before = lines(app, "messages")
        await pilot.press("s")
        for _ in range(30):  # step until a message arrives
            if lines(app, "messages") != before:
                break
            await pilot.press("s")
            await pilot.pause()
        assert lines(app, "messages") != before
        app.session.playing = True
        app.tick(0.5)
        await pilot.pause()
        now_line = next(line for line in lines(app, "messages") if "┄ now" in line)
        assert f"{app.session.now / 1000:>8.3f}" in now_line
        assert pane.cursor == 0
        await pilot.press("k", "k")
        assert pane.cursor == 2
        await pilot.press("M")  # back to the strip and the story panes
        await pilot.pause()
        assert not pane.display and app.query_one("#strip").display

    drive("master-crash", script, size=SIZE)


def test_the_graph_draws_replication_partitions_and_cuts() -> None:
    seen: dict[str, list[str]] = {}

    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("G")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "graph"
        seen["start"] = lines(app, "graph")
        await prompt(pilot, "t", "n1 n4 | n2 n3 n5 n6")
        seen["partition"] = lines(app, "graph")
        await pilot.press("e")
        await pilot.pause()
        await prompt(pilot, "o", "n2 -> n3")
        seen["cut"] = lines(app, "graph")
        await pilot.press("G")
        await pilot.pause()
        assert app.query_one("#topology").display

    drive("master-crash", script, size=SIZE)
    start = "\n".join(seen["start"])
    for label in ("n1 M", "n2 M", "n3 M", "n4 r", "n5 r", "n6 r"):
        assert label in start
    assert ("┆" not in start and "│" in start) or "─" in start
    assert "┆" in "\n".join(seen["partition"])
    assert "×" in "\n".join(seen["cut"])


def test_the_graph_layout_is_networkx_shells_per_side() -> None:
    from simulator.views import TruthView

    session = scenario_session("master-crash", playing=False)
    views = session.sim.views
    rows = views.topology()
    truth = views.truth()
    from tui.panes.graph import layout, relations

    graph = relations(rows, truth)
    assert sorted(graph.edges) == [("n4", "n1"), ("n5", "n2"), ("n6", "n3")]
    positions = layout(graph)
    assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in positions.values())
    split = TruthView(
        owners=truth.owners,
        indices=truth.indices,
        key=truth.key,
        names=truth.names,
        slot_counts=truth.slot_counts,
        uncovered=truth.uncovered,
        alive=truth.alive,
        groups=(("n1", "n4"), ("n2", "n3", "n5", "n6")),
        cuts=(),
    )
    sides = layout(relations(rows, split))
    assert max(sides[n][0] for n in ("n1", "n4")) < min(sides[n][0] for n in ("n2", "n3"))


# ---------------------------------------------------------------- snapshots (new ones)


def lesson_app() -> RcsimApp:
    return RcsimApp(scenario_session("master-crash", playing=False), live=False, budget_s=60.0)


def test_message_view_snapshot_after_the_votes(snap_compare: Any) -> None:
    app = lesson_app()

    async def before(pilot: Any) -> None:
        app.session.seek(lesson_moments()["promoted"] + 1)
        app.refresh_panes()
        await pilot.press("M")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_graph_snapshot_with_a_one_way_cut(snap_compare: Any) -> None:
    app = lesson_app()

    async def before(pilot: Any) -> None:
        app.session.seek(2000)
        app.session.inject("cut", **{"from": ["n2"], "to": ["n3"]})
        app.refresh_panes()
        await pilot.press("G")
        await pilot.pause()
        graph = app.query_one("#graph", GraphPane)
        assert graph.display

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


# ---------------------------------------------------------------- per-node view diffs


def test_belief_changes_name_the_flips_between_two_views() -> None:
    from tui.panes.node_diff import belief_changes

    session = scenario_session("master-crash", playing=False)
    views = session.sim.views
    fail_at = next(
        e["t"]
        for e in _run_until_event(session, "fail")
        if e["kind"] == "fail" and e["target"] == "n1"
    )
    session.seek(fail_at - 1)
    before = views.node("n5", peers=10)
    session.seek(fail_at + 1)
    after = views.node("n5", peers=10)
    assert before is not None and after is not None
    changes = belief_changes(before, after)
    assert "n1 pfail→FAIL" in changes
    assert "cluster_state ok→fail" in changes
    assert belief_changes(after, after) == ()


def _run_until_event(session: Any, kind: str) -> list[dict[str, Any]]:
    session.seek(10_000)
    return [e for e in session.sim.trace.events if e["kind"] == kind]


def test_the_node_view_shows_what_changed_in_the_last_step() -> None:
    seen: dict[str, list[str]] = {}
    moments = lesson_moments()

    async def script(app: RcsimApp, pilot: Any) -> None:
        app.selected = "n5"
        # n5 has n1 as PFAIL, not yet FAIL: the last millisecond before its flip
        await goto(pilot, at(moments["n5_fail"] - 1))
        seen["before"] = lines(app, "nodeview")
        for _ in range(10):  # next notable events until n5 flips n1 to FAIL
            await pilot.press("n")
            await pilot.pause()
            if any("FAIL" in line and "changed" in line for line in lines(app, "nodeview")):
                break
        seen["flip"] = lines(app, "nodeview")
        await goto(pilot, at(moments["n5_fail"] + 10_000))  # a far jump is not a step: no diff
        seen["jump"] = lines(app, "nodeview")

    drive("master-crash", script, size=SIZE)
    assert not any("changed" in line for line in seen["before"])
    flip = next(line for line in seen["flip"] if "changed" in line)
    # the first flip named; the whole list (cluster_state too) is belief_changes' test
    # above — at this width the line ends in an ellipsis
    assert "n1 pfail→FAIL" in flip
    assert not any("changed" in line for line in seen["jump"])


def test_a_crowded_graph_draws_the_masters_in_a_grid_with_their_replica_counts() -> None:
    from tui.panes.graph import draw_graph

    session = scenario_session("master-crash", playing=False)
    views = session.sim.views
    text = draw_graph(views.topology(), views.truth(), None, 20, 5).plain
    assert "masters only" in text
    for label in ("n1 M+1", "n2 M+1", "n3 M+1"):
        assert label in text
    assert " r" not in text.split("\n")[0]


def test_shift_z_filters_by_the_selected_node() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, at(lesson_moments()["election"] + 1000))  # after the votes
        app.selected = "n4"
        await pilot.press("M", "Z")
        await pilot.pause()
        pane = app.query_one("#messages", MessagesPane)
        assert pane.node == "n4"
        rows = [line for line in lines(app, "messages") if "→" in line]
        assert rows and all("n4" in line for line in rows)
        await pilot.press("Z")
        assert pane.node is None

    drive("master-crash", script, size=SIZE)
