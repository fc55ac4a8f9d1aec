"""The TUI's picture of the run so far (``T``, issue 14): node state lanes in character
cells (tui/render_timeline.py), driven by simulated time through the real app."""

from __future__ import annotations

from typing import Any

from tests.tui_pilot import drive, goto
from tui.app import RcsimApp
from tui.render_timeline import timeline_text
from tui.screens import TimelineScreen


def test_timeline_key_draws_the_run_so_far() -> None:
    seen: dict[str, str] = {}

    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "8s")
        await pilot.press("T")
        await pilot.pause()
        assert isinstance(app.screen, TimelineScreen)
        seen["text"] = app.screen.plain
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TimelineScreen)

    drive("master-crash", script)
    text = seen["text"]
    rows = {line.split()[0]: line for line in text.splitlines() if line[:2] in {"n1", "n2", "n4"}}
    assert set(rows) == {"n1", "n2", "n4"}
    assert "★" in rows["n4"] and "▼" in rows["n1"] and "✖" in rows["n1"]
    assert "2.000s  n1 killed" in text  # the fault, listed
    assert "[1]" in text and "Three masters (n1..n3)" in text  # the captions
    assert "now (8.000s)" in text


def test_cells_show_a_short_fault_and_the_state_at_the_end_of_each_slice() -> None:
    events = [
        {"t": 3000, "kind": "pause", "node": "n1"},
        {"t": 3010, "kind": "resume", "node": "n1"},  # 10 ms: shorter than a cell
        {"t": 6000, "kind": "crash", "node": "n2", "power_loss": False},
    ]
    text = timeline_text(events, [("n1", "master"), ("n2", "replica")], 10_000, 10_000, 27)
    lines = text.plain.splitlines()
    axis, n1, n2 = lines[0], lines[1], lines[2]
    assert axis[7 + 6] == "!" and axis[7 + 12] == "!"  # 20 columns of 500 ms each
    # styles per cell: the pause wins its 500 ms cell; n2 crashed from 6 s on
    styles = {span.start: str(span.style) for span in text.spans}
    start_n1 = len(lines[0]) + 1 + 7
    start_n2 = start_n1 + 20 + 1 + 7
    assert "#f59e0b" in styles[start_n1 + 6]  # paused
    assert "#2563eb" in styles[start_n1 + 7]  # master again
    assert "#60a5fa" in styles[start_n2 + 11] and "#4b5563" in styles[start_n2 + 12]
    assert n1.startswith("n1") and n2.startswith("n2")
