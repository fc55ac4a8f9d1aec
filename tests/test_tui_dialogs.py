"""What a learner wants to do from the TUI (issue 16, items 14-16): partitions and cuts
that name clients, fix / rebalance / del-node / set-config keys, a reshard of chosen
slots, why a reshard right after add-node fails, and the settings behind the timings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input

from tests.tui_pilot import drive, goto, prompt, shown
from tui.app import RcsimApp
from tui.panes import NodeViewPane
from tui.session_io import session_document
from tui.settings import SettingsScreen


def events(app: RcsimApp, kind: str) -> list[dict[str, Any]]:
    return [e for e in app.session.sim.trace.events if e["kind"] == kind]


def log_lines(app: RcsimApp) -> list[str]:
    app.session.sync()
    return [line.text for line in app.session.facts.log]


# --------------------------------------------------------------------------- item 14


def test_partition_dialog_prefills_and_accepts_client_endpoints() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "1s")
        app.selected = "n1"
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.query_one(Input).value == "n1 app | n2 n3 n4 n5 n6"
        await pilot.press("ctrl+u", *"n1 n4 app | n2 n3 n5 n6", "enter")
        await pilot.pause()
        assert events(app, "partition")[-1]["groups"] == [
            ["n1", "n4", "app"],
            ["n2", "n3", "n5", "n6"],
        ]

    drive("minority-partition", script)


def test_cut_dialog_accepts_a_client_and_names_unknown_endpoints() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "1s")
        await prompt(pilot, "o", "n1 -> nobody")
        hint = app.screen.query_one("#prompt-hint")
        assert "unknown node or client(s): nobody" in str(hint.render())
        await pilot.press("ctrl+u", *"app -> n1", "enter")
        await pilot.pause()
        cut = events(app, "cut")[-1]
        assert (cut["sources"], cut["targets"]) == (["app"], ["n1"])

    drive("minority-partition", script)


# --------------------------------------------------------------------------- item 15


def test_reshard_dialog_moves_the_chosen_slot_ranges() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "12s")
        app.selected = "n2"
        await prompt(pilot, "R", "5461-5465,5470 n3")
        await goto(pilot, "14s")
        moved = [e["slot"] for e in events(app, "slot_moved") if e["target"] == "n3"]
        assert moved == [5461, 5462, 5463, 5464, 5465, 5470]
        assert app.session.sim.views.truth().owners[5470] == "n3"

    drive("master-crash", script)


def test_reshard_dialog_refuses_slots_the_source_does_not_serve() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "12s")
        app.selected = "n2"
        await prompt(pilot, "R", "0-10 n3")
        assert "n2 does not serve slot 0" in str(app.screen.query_one("#prompt-hint").render())
        await pilot.press("escape")
        assert not events(app, "reshard_started")

    drive("master-crash", script)


async def choose(pilot: Any, key: str, option: str) -> None:
    """Open a choice with ``key`` and pick ``option`` by its first letter."""
    await pilot.press(key)
    await pilot.pause()
    await pilot.press(option)
    await pilot.pause()


def test_a_reshard_to_a_node_not_yet_known_everywhere_is_explained_and_fix_runs() -> None:
    """add-node introduces n7 to n2 only. 200 ms later n7 has not learned every slot's
    owner, so redis-cli refuses the reshard (the nodes disagree); 300 ms later it starts
    and fails on n3 with ``ERR Unknown node n7``; the log says why in plain words. F runs
    fix, which exits 1 while the nodes disagree (the log says why) and passes once gossip
    has spread n7."""

    async def reshard(pilot: Any) -> None:
        await pilot.press("R")
        await pilot.pause()
        assert pilot.app.screen.query_one(Input).value == "100 n7"  # the empty master
        await pilot.press("ctrl+u", *"10 n7", "enter")
        await pilot.pause()

    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "12s")
        await pilot.press("a")
        await goto(pilot, "12200ms")
        app.selected = "n2"
        await reshard(pilot)
        assert not events(app, "reshard_started")  # refused: n7's map is not complete
        await goto(pilot, "12300ms")
        await reshard(pilot)
        await goto(pilot, "12400ms")
        done = events(app, "reshard_done")[-1]
        assert "Unknown node n7" in str(done["error"])
        lines = log_lines(app)
        why = [line for line in lines if line.startswith("why it failed:")]
        assert why and "n3 does not know n7 yet" in why[-1]
        assert "gossip" in why[-1] and "wait" in why[-1]
        await choose(pilot, "F", "f")  # n3 still maps the slots to n2: redis-cli exits 1
        await goto(pilot, "12500ms")
        done = events(app, "reshard_done")[-1]
        assert (done["job"], done["ok"]) == ("fix", False)
        why = [line for line in log_lines(app) if line.startswith("why it failed:")]
        assert "do not agree" in why[-1] and "gossip" in why[-1]
        await goto(pilot, "20s")  # gossip: n3 learns n7 and rebinds the slots
        await choose(pilot, "F", "f")
        await goto(pilot, "20100ms")
        assert events(app, "reshard_done")[-1]["ok"] is True

    drive("master-crash", script)


def test_rebalance_and_del_node_keys() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "12s")
        await pilot.press("a", "a")
        await goto(pilot, "16s")
        app.selected = "n8"
        await pilot.press("D")  # empty: removed
        await pilot.pause()
        assert [e["node"] for e in events(app, "node_removed")] == ["n8"]
        await pilot.press("W", "e")  # rebalance, empty masters too
        await goto(pilot, "40s")
        assert events(app, "reshard_started")[-1]["job"] == "rebalance"
        assert app.session.sim.views.truth().slot_count("n7") > 0
        app.selected = "n7"
        await pilot.press("D")  # it serves slots now: refused, nothing removed
        await pilot.pause()
        assert [e["node"] for e in events(app, "node_removed")] == ["n8"]

    drive("master-crash", script)


def test_set_config_in_a_fork_what_if_nt_were_5_s() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "9s")
        await goto(pilot, "1s")
        await pilot.press("C")
        await pilot.pause()
        assert app.screen.query_one(Input).value == "cluster-node-timeout 2000 all"
        await pilot.press("ctrl+u", *"cluster-node-timeout 5000 all", "enter")
        await pilot.pause()
        assert app.session.forks == 1
        views = app.session.sim.views
        assert {views.node(n).node_timeout for n in views.names()} == {5000}  # type: ignore[union-attr]
        assert "NT 5000ms" in "\n".join(shown(app.query_one("#nodeview", NodeViewPane)))
        await prompt(pilot, "C", "cluster-node-timout 1 all")
        assert "did you mean 'cluster-node-timeout'" in str(
            app.screen.query_one("#prompt-hint").render()
        )

    drive("master-crash", script)


def test_help_lists_the_new_keys() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        rows = dict(app.help_rows())
        for key in ("F", "W", "D", "C", "i"):
            assert key in rows, key

    drive("master-crash", script)


# --------------------------------------------------------------------------- item 16


def test_settings_view_shows_the_cluster_and_the_nodes_that_differ() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await prompt(pilot, "C", "cluster-replica-validity-factor 0 n5")
        settings = app.session.sim.views.settings()
        assert settings.value("cluster-node-timeout") == 2000
        assert settings.value("cluster-replica-validity-factor") == 10
        assert settings.value("cluster-replica-validity-factor", "n5") == 0
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        table = "\n".join(shown(screen.query_one("#settings-table")))
        assert "NT                cluster-node-timeout              2000" in table
        assert "n5:0" in table
        timings = "\n".join(shown(screen.query_one("#settings-timings")))
        assert "PFAIL) after NT without an answer: 2.000s" in timings
        await pilot.press("escape")
        await pilot.pause()
        app.selected = "n5"
        await pilot.pause()
        text = "\n".join(shown(app.query_one("#nodeview", NodeViewPane)))
        assert "NT 2000ms · validity ×0 · full coverage yes" in text

    drive("master-crash", script)


def test_docs_keys_table_lists_the_new_keys() -> None:
    table = (Path(__file__).parent.parent / "docs" / "tui.md").read_text()
    for key in ("F", "W", "D", "C", "i"):
        assert f"\n| `{key}` |" in table, key


# --------------------------------------------------------------------------- forget


def test_forget_key_tells_every_other_node_and_the_saved_session_says_so() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "12s")  # n1 crashed at 2 s, n4 took over its slots
        app.selected = "n1"
        await pilot.press("X")
        await pilot.pause()
        assert app.screen.query_one(Input).value == "n2 n3 n4 n5 n6"
        await pilot.press("enter")
        await pilot.pause()
        told = events(app, "forget")
        assert [(e["node"], e["target"], e["reply"]) for e in told] == [
            (n, "n1", "OK") for n in ("n2", "n3", "n4", "n5", "n6")
        ]
        assert all("n1" not in app.session.sim.cluster.node(n).peers for n in ("n2", "n6"))
        steps = session_document(app.session)["injections"]
        assert steps[-1]["forget"] == {"node": "n1"}  # every other node: the short form

    drive("master-crash", script)


def test_forget_on_one_node_only_and_an_unknown_name_is_named() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "12s")
        app.selected = "n1"
        await prompt(pilot, "X", "n2 n9")
        hint = app.screen.query_one("#prompt-hint")
        assert "unknown node(s): n9" in str(hint.render())
        await pilot.press("ctrl+u", *"n2", "enter")
        await pilot.pause()
        assert [e["node"] for e in events(app, "forget")] == ["n2"]
        assert "n1" not in app.session.sim.cluster.node("n2").peers
        assert "n1" in app.session.sim.cluster.node("n3").peers  # not told: still knows it
        steps = session_document(app.session)["injections"]
        assert steps[-1]["forget"] == {"node": "n1", "on_nodes": ["n2"]}

    drive("master-crash", script)
