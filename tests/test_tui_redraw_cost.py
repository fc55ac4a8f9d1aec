"""What a redraw of a big cluster's panes reads (issue 12, "The TUI at scale"): the
work behind each frame and key at 300 nodes, checked by what is computed, not timed
(the times are measured in benchmarks/bench_tui_big.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from array import array
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.widgets._footer import FooterKey

from simulator.slots import CLUSTER_SLOTS, NO_OWNER
from simulator.views import NodeView, TruthView
from tui import render
from tui.app import RcsimApp
from tui.footer import SteadyFooter
from tui.launch import cluster_session
from tui.panes import NodeViewPane, TopologyPane


class CountingTable(array):  # type: ignore[type-arg]
    """A node's slot table that counts the single slots read from it."""

    reads = 0

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int):
            CountingTable.reads += 1
        return super().__getitem__(index)


def _crashed_master() -> tuple[NodeView, TruthView]:
    """n2's view after n1 (a master) crashed: it still believes n1 owns n1's slots, the
    truth says nobody does."""
    session = cluster_session(3, 1, seed=1, playing=False)
    session.sim.run_until(500)
    session.inject("kill", node="n1")
    session.sim.run_until(600)
    views = session.sim.views
    node = views.node("n2", peers=3)
    assert node is not None
    return node, views.truth()


def _every_slot(node: NodeView, truth: TruthView) -> list[tuple[int, int, str | None, str | None]]:
    """The differing ranges, slot by slot (what slot_differences computed before)."""
    diffs: list[tuple[int, int, str | None, str | None]] = []
    for slot in range(CLUSTER_SLOTS):
        index = node.slot_table[slot]
        believed = None if index == NO_OWNER else node.names[index]
        actual = truth.owners[slot]
        if believed == actual:
            continue
        if diffs and diffs[-1][1] == slot - 1 and diffs[-1][2:] == (believed, actual):
            diffs[-1] = (diffs[-1][0], slot, believed, actual)
        else:
            diffs.append((slot, slot, believed, actual))
    return diffs


def test_slot_differences_reads_only_the_chunks_that_differ() -> None:
    node, truth = _crashed_master()
    expected = _every_slot(node, truth)
    assert expected and expected[0][2] == "n1" and expected[0][3] is None
    counted = dataclasses.replace(node, slot_table=CountingTable("H", node.slot_table))
    CountingTable.reads = 0
    lines = render.slot_differences(counted, truth)
    assert lines == render.slot_differences(node, truth)
    assert lines[0].endswith("believes n1, truth nobody")
    differing = sum(b - a + 1 for a, b, _, _ in expected)
    assert CountingTable.reads <= differing + 2 * render.DIFF_CHUNK  # not 16,384


def test_slot_differences_merges_ranges_across_chunks() -> None:
    """A range crossing a chunk's edge reads as one, two touching at an edge as two."""
    node, truth = _crashed_master()
    indices = truth.indices
    edges = [
        e
        for e in range(render.DIFF_CHUNK, CLUSTER_SLOTS, render.DIFF_CHUNK)
        if NO_OWNER not in indices[e - 4 : e + 5]
    ]
    table = array("H", indices)
    crossing, touching = edges[0], edges[2]
    for slot in range(crossing - 3, crossing + 5):
        table[slot] = NO_OWNER  # believes nobody
    for slot in range(touching - 2, touching + 2):
        table[slot] = NO_OWNER if slot < touching else (indices[slot] + 1) % 6
    changed = dataclasses.replace(node, slot_table=table)
    expected = _every_slot(changed, truth)
    assert [(a, b) for a, b, _, _ in expected] == [
        (crossing - 3, crossing + 4),
        (touching - 2, touching - 1),
        (touching, touching + 1),
    ]
    lines = render.slot_differences(changed, truth, limit=20)
    assert len(lines) == 3
    assert lines[0].startswith(f"{crossing - 3}-{crossing + 4}: believes nobody")
    assert lines[2].startswith(f"{touching}-{touching + 1}: believes n")


def test_the_footer_is_not_recomposed_when_only_the_focus_or_a_modal_changed() -> None:
    """Textual's footer rebuilt its key widgets at every focus change and every modal
    (37-111 ms of CPU for a PgDn after the node view took the focus, at 300 nodes); the
    app's shown keys do not depend on the focus, so nothing is rebuilt then. A change of
    the shown keys still recomposes it."""
    session = cluster_session(3, 1, seed=1, playing=False)
    session.sim.run_until(500)
    app = RcsimApp(session, live=False)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            footer = app.query_one(SteadyFooter)
            calls: list[int] = []
            recompose = footer.recompose

            async def counted() -> None:
                calls.append(1)
                await recompose()

            footer.recompose = counted  # type: ignore[method-assign]
            labels = _footer_labels(footer)
            assert "play/pause" in labels and "quit" in labels
            for _ in range(3):
                app.query_one("#nodeview", NodeViewPane).focus()
                await pilot.pause()
                app.query_one("#topology", TopologyPane).focus()
                await pilot.pause()
            await pilot.press("N")  # the filter's modal, then closed
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert calls == [] and _footer_labels(footer) == labels
            app.bind("f5", "verdict", description="more help", show=True)
            app.screen.refresh_bindings()
            await pilot.pause()
            assert calls == [1] and "more help" in _footer_labels(footer)

    asyncio.run(main())


def _footer_labels(footer: SteadyFooter) -> str:
    return " ".join(str(key.render()) for key in footer.query(FooterKey))


def test_a_peer_row_names_the_first_reports_and_counts_the_rest() -> None:
    """A failed master's row in a 300-node cluster held ~300 reports (~3,000 characters
    rendered, then cut at the pane's edge, in every paint); it names the first
    ``REPORTS_SHOWN`` and says how many more. A small cluster's rows are unchanged."""
    reports = tuple((f"n{i}", 1000 - i) for i in range(2, 300))
    words = render.report_words(reports, 1500)
    assert words.startswith("n2(0.5s) n3(0.5s)") and words.endswith(f" +{298 - 12} more")
    assert len(words.split()) == render.REPORTS_SHOWN + 2
    node, truth = _crashed_master()
    row = dataclasses.replace(node.peers[0], fail_reports=reports) if node.peers else None
    assert row is not None
    drawn = render.node_view(dataclasses.replace(node, peers=(row,)), truth, max_peers=5)
    assert isinstance(drawn, Group)
    text = "\n".join(t.plain for t in drawn.renderables if isinstance(t, Text))
    assert "+286 more" in text and "n299(" not in text
    few = reports[:5]
    assert render.report_words(few, 1500) == " ".join(
        f"{who}({(1500 - when) / 1000:.1f}s)" for who, when in few
    )
