"""The seam UIs read through (simulator/views.py): frozen views that agree with the model,
and a TUI that reaches the simulation only through them and the public Simulation API."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from pathlib import Path

import pytest

from simulator.simulation import Simulation
from simulator.slots import CLUSTER_SLOTS
from simulator.views import NodeView, TruthView, Views
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.panes import TopologyPane

ROOT = Path(__file__).resolve().parent.parent
INTERNAL = ("simulator.node", "simulator.cluster", "simulator.dataplane", "simulator.introspection")
SHARED_WITH_OTHERS = {"session_io.py", "words.py"}  # vocabularies, owned elsewhere


def crashed_master() -> Simulation:
    sim = Simulation(masters=3, replicas=1, seed=1, config={"cluster-node-timeout": 2000})
    sim.run_until(1000)
    sim.inject("kill", node="n1")
    sim.run_until(9000)
    return sim


def test_views_are_frozen() -> None:
    sim = Simulation(masters=3, replicas=1, seed=1)
    node = sim.views.node("n1", peers=10)
    assert node is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.state = "fail"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.peers[0].flags = 0  # type: ignore[misc]


def test_node_view_agrees_with_the_node_it_shows() -> None:
    sim = crashed_master()
    real = sim.cluster.nodes["n5"]
    view = sim.views.node("n5", peers=100)
    assert isinstance(view, NodeView)
    assert (view.name, view.status, view.is_master, view.master_name, view.state) == (
        real.name,
        real.status,
        real.is_master,
        real.master_name,
        real.state,
    )
    assert (view.current_epoch, view.config_epoch) == (real.current_epoch, real.config_epoch)
    assert view.node_timeout == 2000
    assert [p.name for p in view.peers] == [n for n in real.peers if n != "n5"]
    assert all(view.slot_owner(s) == real.slot_owner(s) for s in range(0, CLUSTER_SLOTS, 97))
    few = sim.views.node("n5", peers=2)
    assert few is not None and len(few.peers) == 2 and few.peer_table == len(real.peers)
    assert sim.views.node("nobody") is None


def test_truth_view_is_the_clusters_truth_and_is_cached_until_the_model_moves() -> None:
    sim = crashed_master()
    truth = sim.views.truth()
    assert isinstance(truth, TruthView)
    assert truth.owners == sim.cluster.truth_table()
    assert "n1" not in truth.alive and truth.uncovered == 0
    assert sum(n for _, n in truth.slot_counts) == CLUSTER_SLOTS
    assert sim.views.truth() is truth
    sim.inject("partition", groups=[["n2"], ["n1", "n3", "n4", "n5", "n6"]])
    assert sim.views.truth() is not truth
    assert sim.views.truth().partitioned() == {"n2"}


def test_topology_rows_count_the_observers_that_flag_a_dead_master() -> None:
    sim = crashed_master()
    rows = {r.name: r for r in sim.views.topology()}
    assert rows["n1"].status == "crashed" and rows["n1"].observers_fail == rows["n1"].observers
    assert [name for name, _ in sim.views.order()] == [r.name for r in sim.views.topology()]


def test_election_view_names_the_winner_and_the_voters() -> None:
    sim = crashed_master()
    election = sim.views.election()
    assert election is not None and election.master == "n1" and election.done
    winners = [c for c in election.candidates if c.won]
    assert len(winners) == 1 and winners[0].name == "n4"
    assert set(election.voters) == {"n2", "n3"}
    assert {voter for voter, _ in winners[0].votes} <= set(election.voters)


def test_client_and_lesson_views_without_a_data_plane_or_a_lesson() -> None:
    sim = Simulation(masters=3, replicas=1, seed=1)
    clients = sim.views.clients(("ok", "moved"), {"ok": 3})
    assert not clients.dataplane and clients.totals == (("ok", 3), ("moved", 0))
    assert clients.lost_writes == 0
    assert sim.views.checks() is None and sim.views.lesson is None
    key = sim.views.key("{user1000}.following")
    assert not key.dataplane and key.owner is not None
    assert all(row.believes == key.owner for row in key.nodes)


def test_views_follow_a_rewind() -> None:
    session = scenario_session("master-crash", playing=False)
    session.seek(9000)
    assert session.sim.views.election() is not None
    session.seek(500)
    assert session.sim.views.election() is None
    checks = session.sim.views.checks()
    assert checks is not None and not checks.done


def test_the_election_fold_notices_a_fork_even_when_the_trace_grows_past_where_it_was() -> None:
    sim = crashed_master()
    before = sim.views.election()
    assert before is not None and before.master == "n1"
    length = len(sim.trace)
    sim.rewind(500)
    sim.inject("kill", node="n2")  # another past: n2 fails instead of n1
    sim.inject("caption", text="a fork")
    sim.run_until(30_000)
    assert len(sim.trace) > length
    after = sim.views.election()
    assert after is not None and after.master == "n2"
    assert after == Views(sim).election()  # the same as folding this timeline afresh


def test_a_pane_skips_its_update_when_its_data_did_not_change() -> None:
    app = RcsimApp(scenario_session("master-crash", playing=False), live=False, budget_s=60.0)
    updates: list[str] = []

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            pane = app.query_one("#topology", TopologyPane)
            original = pane.update

            def counting(*args: object, **kwargs: bool) -> None:
                updates.append("topology")
                original(*args, **kwargs)  # type: ignore[arg-type]

            pane.update = counting  # type: ignore[method-assign]
            app.refresh_panes()
            app.refresh_panes()
            assert updates == []  # paused, nothing moved
            app.tick(0.5)  # paused: still nothing
            assert updates == []
            app.selected = "n2"
            assert updates == ["topology"]
            app.session.seek(3000)
            app.refresh_panes()
            assert updates == ["topology", "topology"]

    asyncio.run(main())


def _tui_modules() -> list[Path]:
    paths = sorted((ROOT / "tui").rglob("*.py"))
    return [p for p in paths if p.name not in SHARED_WITH_OTHERS]


def test_the_tui_reads_the_simulation_only_through_the_public_api() -> None:
    for path in [*_tui_modules(), ROOT / "rcsim" / "commands" / "export.py"]:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(INTERNAL), f"{path}: imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith(INTERNAL) for a in node.names), path
                assert all(a.name != "importlib" for a in node.names), path
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("extras", "_actions", "_replayed"), path
            if path.parent.name != "commands" and isinstance(node, ast.Name):
                assert node.id not in ("getattr", "Any"), f"{path}:{node.lineno}: {node.id}"
