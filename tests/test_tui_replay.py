"""Any run, replayed (issue 14): ``rcsim tui --replay TRACE`` re-simulates the run a
trace's stamp names, checks it against the file and opens it at the first failed
expectation (or ``--at``); a trace it cannot reproduce is refused with one message.
The JUnit failure message gives the command that opens the run there."""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
from pathlib import Path
from xml.etree import ElementTree

import pytest

from rcsim.cli import build_parser, main
from rcsim.commands.tui import make_app
from simulator import __version__
from tests.conftest import CRASH_CLUSTER
from tests.tui_pilot import shown
from tui.app import RcsimApp
from tui.replay import ReplayError, replay_session

FAILING = (
    "name: fast crash\nseed: 2\n"
    + CRASH_CLUSTER
    + """steps:
  - at: 1s
    kill: n1
    caption: n1 dies
  - wait_for: {promoted: n4}
    timeout: 20s
    expect:
      - role: {n4: replica}
run_until: 8s
expect:
  - role: {n4: master}
"""
)


@pytest.fixture()
def failing_run(tmp_path: Path) -> tuple[Path, Path, int]:
    """A scenario whose step-2 expectation fails, its trace, and the failure's time."""
    scenario = tmp_path / "failing.yaml"
    scenario.write_text(FAILING, encoding="utf-8")
    trace = tmp_path / "run.jsonl"
    report = tmp_path / "report.json"
    assert (
        main(["run", str(scenario), "--quiet", "--trace", str(trace), "--report", str(report)]) == 1
    )
    failed = [e for e in json.loads(report.read_text())["expectations"] if not e["passed"]]
    assert failed and failed[0]["condition"] == "role"
    return scenario, trace, int(failed[0]["at"])


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["tui", *argv])


def test_the_replay_opens_paused_at_the_first_failed_expectation(failing_run) -> None:
    _, trace, at = failing_run
    app = make_app(_args("--replay", str(trace)))
    session = app.session
    assert session.now == at and not session.playing
    results = session.driver.results
    assert not results[-1].passed and results[-1].condition == "role"  # just after the check
    assert session.break_reason == (
        "replay of run.jsonl: expectation failed: role: n4 is a replica"
    )
    assert session.name == "failing (replay)"


def test_pilot_the_replayed_run_shows_the_failure_and_rewinds(failing_run) -> None:
    """The real app, driven headless: the header says where it opened, the log shows the
    failed check, and rewinding to 0.5 s then playing forward gives the same run."""
    _, trace, at = failing_run
    app = make_app(_args("--replay", str(trace)))
    assert isinstance(app, RcsimApp)
    app.live = False
    seen: dict[str, object] = {}

    async def main_() -> None:
        async with app.run_test(size=(140, 42)) as pilot:
            await pilot.pause()
            seen["now"] = app.session.now
            seen["header"] = "\n".join(shown(app.query_one("#header")))
            seen["log"] = "\n".join(shown(app.query_one("#log")))
            await pilot.press("g", *["backspace"] * 12, *"0.5s", "enter")
            await pilot.pause()
            seen["rewound"] = app.session.now
            await pilot.press("g", *["backspace"] * 12, *"8s", "enter")
            await pilot.pause()

    asyncio.run(main_())
    assert seen["now"] == at
    assert "replay of run.jsonl" in str(seen["header"])
    assert "n4 is a replica" in str(seen["log"])
    assert seen["rewound"] == 500
    lines = trace.read_text(encoding="utf-8").splitlines()[1:]
    events = [
        json.dumps(e, separators=(",", ":"), ensure_ascii=False)
        for e in app.session.sim.trace.events
    ]
    assert events[: len(lines)] == lines  # rewound and replayed: the same run, byte for byte


def test_replay_at_a_time(failing_run) -> None:
    _, trace, _ = failing_run
    session = make_app(_args("--replay", str(trace), "--at", "1.5s")).session
    assert session.now == 1500 and session.clean
    assert session.break_reason == "replay of run.jsonl at 1.500s"


def test_the_junit_failure_says_the_exact_command_that_opens_it(failing_run, tmp_path) -> None:
    scenario, trace, at = failing_run
    junit = tmp_path / "j.xml"
    assert (
        main(["run", str(scenario), "--quiet", "--trace", str(trace), "--junit", str(junit)]) == 1
    )
    (failure,) = [f for f in ElementTree.parse(junit).getroot().iter("failure")]
    command = f"rcsim tui --replay {trace}"
    assert failure.get("message", "").endswith(f"open it in the TUI: {command}")
    assert (failure.text or "").endswith(f"Open this run in the TUI at this check: {command}")
    argv = shlex.split(command)
    assert make_app(build_parser().parse_args(argv[1:])).session.now == at
    # Without --trace: the scenario re-run with its seed, at the failure.
    assert main(["run", str(scenario), "--quiet", "--junit", str(junit)]) == 1
    (failure,) = [f for f in ElementTree.parse(junit).getroot().iter("failure")]
    command = f"rcsim tui {scenario} --seed 2 --at failure"
    assert (failure.text or "").endswith(command)
    session = make_app(build_parser().parse_args(shlex.split(command)[1:])).session
    assert session.now == at and not session.driver.results[-1].passed


def _rewrite(trace: Path, line: int, change) -> None:
    lines = trace.read_text(encoding="utf-8").splitlines()
    lines[line] = json.dumps(change(json.loads(lines[line])), separators=(",", ":"))
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_trace_from_another_version_is_refused(failing_run, capsys) -> None:
    _, trace, _ = failing_run
    _rewrite(trace, 0, lambda header: {**header, "rcsim": "0.0.1"})
    assert main(["tui", "--replay", str(trace)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"rcsim tui: {trace}: written by rcsim 0.0.1, and this is rcsim {__version__}: "
    )
    assert "Traceback" not in err


def test_a_trace_the_re_simulation_does_not_reproduce_is_refused(failing_run, capsys) -> None:
    _, trace, _ = failing_run
    _rewrite(trace, 3, lambda event: {**event, "t": event["t"] + 1})
    assert main(["tui", "--replay", str(trace)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rcsim tui: {trace}:4: the re-simulated run differs from the trace here")


def test_a_changed_or_missing_scenario_is_refused_and_a_moved_one_can_be_named(
    failing_run, tmp_path, capsys
) -> None:
    scenario, trace, at = failing_run
    moved = tmp_path / "moved.yaml"
    scenario.rename(moved)
    assert main(["tui", "--replay", str(trace)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rcsim tui: {trace}: cannot load the scenario the trace was made from")
    assert f"give its file: rcsim tui FILE.yaml --replay {trace}" in err
    assert make_app(_args(str(moved), "--replay", str(trace))).session.now == at
    moved.write_text(FAILING.replace("seed: 2", "seed: 3"), encoding="utf-8")
    with pytest.raises(ReplayError, match="has changed since the trace was written"):
        replay_session(str(trace), str(moved))


def test_not_a_trace_and_a_bare_cluster_are_refused(tmp_path, capsys) -> None:
    text = tmp_path / "notes.jsonl"
    text.write_text('{"t":0,"kind":"caption"}\n', encoding="utf-8")
    bare = tmp_path / "bare.jsonl"
    bare.write_text(
        json.dumps(
            {"kind": "header", "rcsim": __version__, "seed": 0, "scenario": "3x2", "source": None}
        )
        + "\n",
        encoding="utf-8",
    )
    assert main(["tui", "--replay", str(text)]) == 2
    assert main(["tui", "--replay", str(bare)]) == 2
    assert main(["tui", "--replay", str(tmp_path / "none.jsonl")]) == 2
    assert main(["tui", "--replay", str(bare), "--seed", "4"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"rcsim tui: {text}:1: not an rcsim trace")
    assert err[1].startswith(f"rcsim tui: {bare}: a trace of a bare cluster (3x2)")
    assert err[2] == f"rcsim tui: {tmp_path / 'none.jsonl'}: cannot read: No such file or directory"
    assert err[3] == "rcsim tui: --replay takes the scenario and seed from the trace's stamp"


def test_at_failure_on_a_passing_lesson_opens_where_it_ended() -> None:
    session = make_app(_args("master-crash", "--at", "failure")).session
    assert not session.playing and session.driver.done
    assert session.break_reason.startswith("every expectation held (opened after the last check")
    assert main(["tui", "master-crash", "--at", "soon"]) == 2


def test_rcsim_serve_passes_replay_and_at_on_to_each_session(failing_run) -> None:
    """Each browser tab runs ``rcsim tui``: with the same trace (absolute: the session's
    cwd may differ) and moment; a bad one is refused once, before serving."""
    from rcsim.commands.serve import command_line

    _, trace, _ = failing_run
    args = build_parser().parse_args(["serve", "--replay", str(trace), "--at", "failure"])
    argv = shlex.split(command_line(args))
    assert argv[argv.index("tui") + 1 :] == ["--replay", str(trace.resolve()), "--at", "failure"]
    session = make_app(build_parser().parse_args(argv[argv.index("tui") :])).session
    assert session.break_reason.startswith("replay of run.jsonl: expectation failed")
    args = build_parser().parse_args(["serve", "--at", "2s", "master-crash"])
    assert shlex.split(command_line(args))[-3:] == ["master-crash", "--at", "2s"]
    assert main(["serve", "--replay", str(trace.parent / "none.jsonl")]) == 2


def test_a_run_cut_short_by_until_replays_only_that_far(tmp_path: Path) -> None:
    """``rcsim run --until 3s --trace`` stamps the horizon; the replay is that run (its
    final checks at 3 s, where n4 is not yet a master), not the full lesson, and says so."""
    trace = tmp_path / "cut.jsonl"
    assert main(["run", "master-crash", "--quiet", "--until", "3s", "--trace", str(trace)]) == 1
    header = json.loads(trace.read_text(encoding="utf-8").splitlines()[0])
    assert header["until"] == 3000 and header["seed"] == 1  # the older fields unchanged
    session = replay_session(str(trace))
    assert session.now == 3000 and session.driver.done
    assert session.break_reason == (
        "replay of cut.jsonl (cut short: rcsim run --until 3.000s): "
        "expectation failed: role: n4 is a master"
    )
    later = replay_session(str(trace), at=5000)
    assert later.now == 3000
    assert later.break_reason.endswith("at 3.000s (--at 5.000s is after the run's end)")
    assert replay_session(str(trace), at=2000).now == 2000
    _rewrite(trace, 0, lambda h: {**h, "until": "3s"})
    with pytest.raises(ReplayError, match="the stamp's until is '3s', not a time in ms"):
        replay_session(str(trace))


def test_a_replay_without_bus_messages_says_how_to_get_them(failing_run) -> None:
    """Recorded without ``--trace-bus``: the message view (M) says why it is empty."""
    _, trace, _ = failing_run
    app = make_app(_args("--replay", str(trace)))
    app.live = False
    seen: list[str] = []

    async def main_() -> None:
        async with app.run_test(size=(140, 42)) as pilot:
            await pilot.press("M")
            await pilot.pause()
            seen.extend(shown(app.query_one("#messages")))

    asyncio.run(main_())
    text = " ".join(line.strip() for line in seen)
    assert "no bus messages traced" in text
    assert "rcsim run --trace-bus" in text
