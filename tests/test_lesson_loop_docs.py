"""The docs list what the command line offers (issue 16, "Docs and defaults"): every verb
of ``rcsim --help`` has its section in docs/cli.md, every flag of ``rcsim tui`` and
``rcsim serve`` is in docs/tui.md, and the defaults that surprise are stated."""

from __future__ import annotations

import argparse
from pathlib import Path

from rcsim.cli import VERBS, build_parser
from simulator.actions import ACTIONS

ROOT = Path(__file__).resolve().parent.parent


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def flags(parser: argparse.ArgumentParser) -> list[str]:
    out: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        out += [o for o in action.option_strings if o.startswith("--")] or [str(action.metavar)]
    return out


def test_cli_md_has_a_section_for_every_verb_of_rcsim_help() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    verbs = list(subparsers())
    assert verbs == list(VERBS)
    assert [v for v in verbs if f"## `rcsim {v}" not in text] == []


def test_tui_md_lists_every_flag_of_tui_and_serve() -> None:
    text = (ROOT / "docs" / "tui.md").read_text(encoding="utf-8")
    parsers = subparsers()
    for verb in ("tui", "serve"):
        assert [f for f in flags(parsers[verb]) if f"`{f}" not in text] == [], verb


def test_the_bare_clusters_node_timeout_is_said_everywhere() -> None:
    from tui.launch import cluster_session

    session = cluster_session(3, 1, playing=False)
    assert "NT=2s" in session.name  # the header shows the name
    help_text = subparsers()["tui"].format_help()
    assert "2000 ms" in help_text
    assert "2000 ms" in (ROOT / "docs" / "tui.md").read_text(encoding="utf-8")


def test_restart_and_write_defaults_are_documented() -> None:
    assert "crash" in ACTIONS["restart"].doc  # restarting a running node crashes it first
    assert "app" in ACTIONS["write"].doc  # without clients, a client named app is made
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    assert "crash plus restart" in text and "client named `app`" in text
