"""The TUI's command-line verbs: bad input exits 2 with one clear message, ``start``
without a terminal runs the default lesson headless, ``serve`` runs ``rcsim tui``."""

from __future__ import annotations

import argparse
import sys

import pytest

from rcsim.cli import main
from rcsim.commands.serve import command_line
from rcsim.commands.tui import make_app
from tui.app import RcsimApp


def test_tui_unknown_scenario_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tui", "no-such-lesson"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rcsim tui: no-such-lesson: no such file or bundled scenario")
    assert "Traceback" not in err


def test_tui_bad_seed_and_bad_sizes_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tui", "--seed", "-1"]) == 2
    assert main(["tui", "--masters", "0"]) == 2
    assert main(["tui", "master-crash", "--masters", "3"]) == 2
    assert capsys.readouterr().err.count("rcsim tui:") == 3


def test_tui_builds_the_lesson_or_a_bare_cluster() -> None:
    lesson = make_app(argparse.Namespace(scenario=None, seed=3, masters=None, paused=True))
    assert isinstance(lesson, RcsimApp)
    assert lesson.session.name == "master-crash" and lesson.session.sim.seed == 3
    assert not lesson.session.playing
    bare = make_app(argparse.Namespace(scenario=None, seed=None, masters=4, replicas=0))
    assert len(bare.session.sim.cluster.nodes) == 4 and bare.session.driver is None


def test_start_without_a_terminal_runs_the_default_lesson_headless(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["start", "--headless"]) == 0
    out = capsys.readouterr().out
    assert "running the default lesson headless" in out
    assert "PASS:" in out and "master-crash" in out


def test_serve_runs_rcsim_tui_with_the_same_arguments() -> None:
    args = argparse.Namespace(scenario="pubsub", seed=5)
    assert command_line(args) == f"{sys.executable} -m rcsim tui pubsub --seed 5"


def test_serve_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err
