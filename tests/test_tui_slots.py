"""The slot strip tells the truth at the cursor (issue 16, item 10)."""

from __future__ import annotations

from typing import Any

from tests.tui_pilot import drive, goto, shown
from tui import render
from tui.app import RcsimApp
from tui.panes import StripPane


def test_the_cursor_cell_says_it_holds_an_open_migration() -> None:
    """At 5.002 s live-resharding has slot 5474 MIGRATING n2 → n1; with the cursor on
    another slot of the same cell, the cursor line still names the open migration."""

    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "5002ms")
        moves = app.session.sim.views.slot_moves()
        assert {m.slot for m in moves} == {5474}
        strip = app.query_one("#strip", StripPane)
        first, last = render.cell_range(5474, strip.cells_wide, strip.rows)
        assert first < 5474 or last > 5474  # a cell holds more than one slot here
        app.cursor = first if first != 5474 else last
        await pilot.pause()
        line = shown(strip)[-1]
        assert "slot 5474 n2 MIGRATING→n1" in line
        assert "slot 5474 n1 IMPORTING←n2" in line

    drive("live-resharding", script)


def test_slash_takes_a_slot_number_and_moves_the_cursor_there() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("slash", *"12000", "enter")
        await pilot.pause()
        assert app.cursor == 12000
        await pilot.press("escape")
        await pilot.pause()
        assert "slot 12000: 10923-16383" in shown(app.query_one("#strip"))[-1]

    drive("master-crash", script)


def test_a_quoted_number_is_still_a_key() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        assert "'12000' → slot" in app.lookup_text('"12000"').plain
        assert app.cursor == 0

    drive("master-crash", script)


def test_the_cursor_stays_visible_on_uncovered_cells() -> None:
    """At 5 s of master-crash n1 is dead and not yet replaced: slots 0-5460 are
    uncovered (``!`` in reverse red); the cursor cell is still a ▲, not reversed."""

    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "5s")
        assert app.session.sim.views.truth().uncovered == 5461
        app.cursor = 100
        await pilot.pause()
        strip = app.query_one("#strip", StripPane)
        top = shown(strip)[0]
        assert top.count("▲") == 1 and top.index("▲") == int(100 / (16384 / (2 * strip.cells_wide)))
        assert "!" in top
        text = render.slot_strip(
            app.session.sim.views.truth(), (), 100, strip.cells_wide, strip.rows
        )
        cursor_styles = [str(span.style) for span in text.spans if "underline" in str(span.style)]
        assert cursor_styles and all("reverse" not in style for style in cursor_styles)

    drive("master-crash", script)


def test_a_resize_while_paused_redraws_the_strip_for_the_new_size() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        strip = app.query_one("#strip", StripPane)
        assert len(shown(strip)[0].rstrip()) == strip.content_size.width
        for size in ((80, 24), (120, 40), (100, 30)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            lines = shown(strip)
            cells = lines[0].strip()
            assert len(cells) == strip.content_size.width, size
            assert strip.rows == (1 if app.compact else 2)
            assert lines[strip.rows].strip().startswith("slot 0:")

    drive("master-crash", script)
