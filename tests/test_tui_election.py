"""The election pane and the node list are right (issue 16, item 11)."""

from __future__ import annotations

from typing import Any

from tests.tui_pilot import drive, goto, shown
from tui.app import RcsimApp
from tui.panes import ElectionPane, NodeViewPane


async def manual_failover_of_n5(app: RcsimApp, pilot: Any) -> None:
    """master-crash to 12 s (n1 dead, n4 promoted), then CLUSTER FAILOVER on n5."""
    await goto(pilot, "12s")
    app.selected = "n5"
    await pilot.press("f", "d")
    await goto(pilot, "16s")


def test_after_a_manual_failover_the_voters_are_those_who_voted_not_the_dead() -> None:
    """n5's manual failover is voted for by n3 and n4; the crashed n1 serves nothing and
    cannot vote. n5's own master n2 would vote too (§12), but its AUTH_REQUEST waits for
    n2's delayed ACK and n2's own ping learns the new master first (§12.1)."""

    async def script(app: RcsimApp, pilot: Any) -> None:
        await manual_failover_of_n5(app, pilot)
        votes = [
            e["node"]
            for e in app.session.sim.trace.events
            if e["kind"] == "vote" and e["target"] == "n5"
        ]
        assert sorted(votes) == ["n3", "n4"]  # in arrival order, which §4.5 moves
        view = app.session.sim.views.election()
        assert view is not None and view.master == "n2"
        assert view.voters == ("n3", "n4")
        text = "\n".join(shown(app.query_one("#election", ElectionPane)))
        assert "n3:✓ n4:✓" in text
        assert "n1:" not in text

    drive("master-crash", script)


def test_the_vote_count_is_visible_at_140_columns() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "9s")
        pane = app.query_one("#election", ElectionPane)
        assert pane.content_size.width < 50  # a third of the screen
        text = "\n".join(shown(pane))
        assert "votes 2/2 WON" in text
        assert "n2:✓ n3:✓" in text

    drive("master-crash", script, size=(140, 42))


def test_cluster_nodes_shows_flags_and_slots_at_140_columns() -> None:
    """`c` gives CLUSTER NODES the width of the screen; what is still cut scrolls
    sideways with ←/→ while the pane has the focus."""

    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "12s")
        await pilot.press("c")
        await pilot.pause()
        pane = app.query_one("#nodeview", NodeViewPane)
        text = "\n".join(shown(pane))
        raw = app.session.sim.views.cluster_nodes(str(app.selected))
        for line in raw.splitlines():
            assert line in text  # whole: id, address, flags, epochs, link, slots
        assert "connected 0-5460" in text
        await pilot.press("c")
        await pilot.pause()
        assert app.query_one("#topology").display

    drive("master-crash", script, size=(140, 42))


def test_cluster_nodes_scrolls_sideways_on_a_narrow_screen() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "12s")
        await pilot.press("c")
        await pilot.pause()
        pane = app.query_one("#nodeview", NodeViewPane)
        assert app.focused is pane
        before = app.cursor
        assert "connected 5461-10922" not in "\n".join(shown(pane))
        await pilot.press(*["right"] * 4)
        await pilot.pause()
        assert app.cursor == before  # the slot cursor stays put
        assert "connected 5461-10922" in "\n".join(shown(pane))

    drive("master-crash", script, size=(80, 24))
