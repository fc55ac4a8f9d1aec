"""A big cluster's TUI (issue 12): the collapsed topology, its filter and search, the
node view's scrolled peer table; driven headless by simulated time at 30+30 nodes (the
collapse starts above ``COLLAPSE_ABOVE`` = 40 nodes, so the lessons' 6 stay in full)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text

from simulator.simulation import Simulation
from simulator.views import NodeView
from simulator.views.overview import observers_flagging
from tui.app import RcsimApp
from tui.launch import cluster_session, scenario_session
from tui.panes import NodeViewPane, TopologyPane
from tui.render_overview import COLLAPSE_ABOVE, NodeFilter

SIZE = (120, 40)
Script = Callable[[RcsimApp, Any], Awaitable[None]]


def big_app(masters: int = 30) -> RcsimApp:
    """A paused bare cluster of ``masters`` masters with one replica each (NT 2 s)."""
    session = cluster_session(masters, 1, seed=1, playing=False)
    return RcsimApp(session, live=False, budget_s=60.0)


def drive(app: RcsimApp, script: Script, size: tuple[int, int] = SIZE) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            app.refresh_panes()
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())


async def at(app: RcsimApp, pilot: Any, t: int) -> None:
    """Play to simulated time ``t`` (ms) and let the panes redraw."""
    app.session.seek(t)
    app.refresh_panes()
    await pilot.pause()


def topology_text(app: RcsimApp) -> str:
    pane = app.query_one("#topology", TopologyPane)
    drawn = pane.draw(pane.data())
    assert isinstance(drawn, Text)
    return drawn.plain


def listed(app: RcsimApp) -> list[str]:
    """The node names the topology lists, in order (folded lines and headings left out)."""
    names = []
    for line in topology_text(app).splitlines():
        words = line[1:].split()
        if len(words) >= 2 and words[1][:1] == "n" and words[1][1:].isdigit():
            names.append(words[1])
    return names


# --------------------------------------------------------------------------- the view


def brute_force(sim: Simulation) -> dict[str, tuple[int, int]]:
    """Observers flagging each node FAIL and PFAIL, every node's table read (O(nodes²))."""
    counts = {name: observers_flagging(sim.cluster, name) for name in sim.cluster.nodes}
    rows = {
        r.name: (r.observers_fail, r.observers_pfail, r.observers) for r in sim.views.topology()
    }
    assert rows == counts  # the topology's rows skip the nodes nobody was seen flagging
    return {name: (fail, pfail) for name, (fail, pfail, _) in counts.items()}


def test_the_overview_counts_flags_exactly_while_reading_only_the_nodes_the_trace_named() -> None:
    sim = Simulation(masters=10, replicas=1, seed=3, config={"cluster-node-timeout": 2000})
    sim.run_until(1000)
    sim.inject("kill", node="n2")
    sim.inject(
        "partition", groups=[["n5", "n15"], [f"n{i}" for i in range(1, 21) if i not in (5, 15)]]
    )
    for t in (2500, 3500, 5000, 9000):
        sim.run_until(t)
        view = sim.views.overview()
        assert {n.name: (n.observers_fail, n.observers_pfail) for n in view.nodes} == (
            brute_force(sim)
        )
        if t == 9000:  # n12 took over n2: both changed role recently
            assert {n.name for n in view.nodes if n.recent(t)} == {"n2", "n12"}
    conditions = {n.name: n.condition for n in view.nodes}
    assert conditions["n2"] == "crashed"
    assert conditions["n5"] == conditions["n15"] == "partitioned"
    assert view.flagged()[0] >= 1  # n2 is FAIL for the majority by 9 s
    assert sum(n for _, n in view.counts()) == 20
    assert [n.name for n in view.nodes] == [name for name, _ in sim.views.order()]
    sim.inject("heal", groups=None)
    sim.run_until(20_000)  # the partition healed: n5/n15 answer again, flags clear
    view = sim.views.overview()
    assert all(
        (n.observers_fail, n.observers_pfail) == brute_force(sim)[n.name] for n in view.nodes
    )
    # The replica that took over changed role, but more than 10 s ago: no longer shown.
    took_over = next(n for n in view.nodes if n.name == "n12")
    assert took_over.is_master and took_over.role_changed is not None
    assert not took_over.recent(view.now) and not took_over.notable(view.now)


def test_the_overview_follows_a_rewind() -> None:
    sim = Simulation(masters=10, replicas=1, seed=3, config={"cluster-node-timeout": 2000})
    sim.run_until(1000)
    sim.inject("kill", node="n2")
    sim.run_until(6000)
    assert sim.views.overview().flagged() != (0, 0)
    sim.rewind(900)
    view = sim.views.overview()
    assert view.flagged() == (0, 0) and view.counts() == (("ok", 20),)


def test_a_node_filter_matches_names_globs_and_conditions() -> None:
    sim = Simulation(masters=10, replicas=1, seed=3, config={"cluster-node-timeout": 2000})
    sim.run_until(1000)
    sim.inject("kill", node="n2")
    sim.run_until(6000)
    view = sim.views.overview()

    def names(value: str) -> list[str]:
        flt = NodeFilter.parse(value)
        assert flt is not None
        return [n.name for n in view.nodes if flt.matches(n, view.now)]

    assert NodeFilter.parse("  , ") is None
    assert set(names("n1?")) == {f"n{i}" for i in range(10, 20)}
    assert "n2" in names("crashed") and names("crashed") == ["n2"]
    assert names("fail") == ["n2"]  # the crashed master, FAIL for the others
    assert set(names("n3, crashed")) == {"n2", "n3"}
    assert "n12" in names("changed") and "n12" in names("master")
    assert "n2" not in names("ok")


# --------------------------------------------------------------------------- the panes


def test_a_lesson_of_six_nodes_is_listed_in_full_as_before() -> None:
    app = RcsimApp(scenario_session("master-crash", playing=False), live=False, budget_s=60.0)

    async def script(app: RcsimApp, pilot: Any) -> None:
        assert len(app.session.sim.views.names()) <= COLLAPSE_ABOVE
        assert not app.query_one("#topology", TopologyPane).collapsed
        text = topology_text(app)
        assert "nodes:" not in text and "⋯" not in text
        assert listed(app) == [name for name, _ in app.session.sim.views.order()]

    drive(app, script)


def test_sixty_nodes_collapse_to_shards_and_a_failing_master_expands() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        assert app.query_one("#topology", TopologyPane).collapsed
        text = topology_text(app)
        assert text.splitlines()[0].startswith("60 nodes: 60 ok")
        # Only the selected node's shard in full; the other 29 shards in one line.
        assert listed(app) == ["n1", "n31"]
        assert "n2–n30: 29 shards ok (58 nodes)" in text
        await at(app, pilot, 1000)
        app.session.inject("kill", node="n7")
        await at(app, pilot, 3500)  # past NT: the others flag n7 PFAIL
        text = topology_text(app)
        assert "59 ok · 1 crashed; flagged 1 pfail" in text
        assert listed(app) == ["n1", "n31", "n7", "n37"]  # n7's shard, with its replica
        assert "n2–n6: 5 shards ok (10 nodes)" in text and "n8–n30" in text
        row = next(line for line in text.splitlines() if " n7 " in line)
        assert "crashed" in row and "pfail" in row
        await at(app, pilot, 9000)  # FAIL, then n37's election
        text = topology_text(app)
        assert "flagged 1 FAIL" in text
        row = next(line for line in text.splitlines() if " n7 " in line)
        assert "FAIL" in row
        assert "n37" in listed(app)  # promoted: a recent role change keeps it on show
        await pilot.press("A")  # every node, as many as fit around the selected one
        order = [name for name, _ in app.session.sim.views.order()]
        assert "⋯" not in topology_text(app) and listed(app) == order[: len(listed(app))]
        assert len(listed(app)) > 6
        await pilot.press("A")
        assert len(listed(app)) < 10

    drive(big_app(), script)


def test_the_filter_lists_matching_nodes_and_j_moves_among_them() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await at(app, pilot, 1000)
        app.session.inject("kill", node="n7")
        app.session.inject("kill", node="n9")
        await at(app, pilot, 9000)
        await pilot.press("N", *"fail", "enter")
        pane = app.query_one("#topology", TopologyPane)
        assert pane.node_filter == NodeFilter(("fail",))
        assert listed(app) == ["n7", "n9"]
        assert app.selected == "n7"  # jumped to the first match
        assert "filter 'fail': 2 match" in topology_text(app)
        await pilot.press("j")
        assert app.selected == "n9"
        await pilot.press("j")
        assert app.selected == "n7"  # wraps among the matches only
        await pilot.press("N", "ctrl+u", *"nobody", "enter")
        assert "no node matches the filter" in topology_text(app)
        await pilot.press("N", "ctrl+u", "enter")  # empty: every node again (collapsed)
        assert pane.node_filter is None
        assert "filter" not in topology_text(app)

    drive(big_app(), script)


def test_search_by_name_selects_the_node_and_expands_its_shard() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await at(app, pilot, 1500)
        await pilot.press("N", *"n45", "enter")
        assert app.selected == "n45"  # the exact name, not n145 (none here) or others
        assert listed(app) == ["n45"]
        await pilot.press("N", "ctrl+u", "enter")  # back to the collapsed list
        assert listed(app) == ["n15", "n45"]  # n45 is n15's replica: its shard in full
        text = topology_text(app)
        assert "n1–n14: 14 shards ok (28 nodes)" in text
        assert "n16–n30: 15 shards ok (30 nodes)" in text

    drive(big_app(), script)


def test_the_node_view_of_a_big_cluster_lists_flagged_peers_first_and_scrolls() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await at(app, pilot, 1000)
        app.session.inject("kill", node="n29")
        await at(app, pilot, 3500)
        pane = app.query_one("#nodeview", NodeViewPane)
        node = pane.data()[0]
        assert isinstance(node, NodeView)
        assert node.peers[0].name == "n29" and node.peers[0].pfail  # flagged first
        assert len(node.peers) <= pane.max_peers + 1  # only the rows in view are built
        pane.focus()
        await pilot.press("pagedown")
        assert pane.first == pane.max_peers
        later = pane.data()[0]
        assert isinstance(later, NodeView) and "n29" not in [p.name for p in later.peers]
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown", "pagedown")
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown", "pagedown")
        last = pane.data()[0]
        assert isinstance(last, NodeView) and pane.first == 59 - pane.max_peers
        assert last.peers[-1].name == "n60"  # the end of n1's table
        await pilot.press("pageup")
        assert pane.first == 59 - 2 * pane.max_peers
        await pilot.press("j")  # another node: its table from the top
        assert pane.first == 0

    drive(big_app(), script)


def test_snapshot_of_sixty_nodes_after_a_master_failed(snap_compare: Any) -> None:
    """The collapsed topology at a fixed size, n7 FAIL and n37 promoted (docs/tui.md)."""
    app = big_app()

    async def before(pilot: Any) -> None:
        app.session.seek(1000)
        app.session.inject("kill", node="n7")
        app.session.seek(9000)
        app.selected = "n2"
        app.refresh_panes()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
