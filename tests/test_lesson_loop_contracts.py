"""The CLI and report contracts of issue 16 (items 2 and 3): exit codes, the report's
fields and numbering, JUnit's errors and skips, error messages that name the option,
and the TUI's saved files (trace header, schema modeline)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from rcsim.cli import main
from tests.conftest import CRASH_CLUSTER
from tui.launch import scenario_session
from tui.session_io import SCHEMA, export_trace, save_session

ROOT = Path(__file__).resolve().parent.parent

FAILING = (
    "name: always fails\nseed: 2\n"
    + CRASH_CLUSTER
    + """steps:
  - at: 1s
    kill: n1
  - at: 2s
    kill: n1
  - wait_for: {promoted: n5}
    timeout: 30s
  - caption: never reached
run_until: 8s
expect:
  - role: {n4: replica}
"""
)


@pytest.fixture()
def failing(write_scenario) -> Path:
    return write_scenario(FAILING, "failing.yaml")


def test_sweep_exits_1_when_a_run_fails_an_expectation(failing: Path, capsys) -> None:
    assert main(["sweep", str(failing), "--seeds", "1-2", "--jobs", "1"]) == 1
    assert "0/2 passed" in capsys.readouterr().out


def test_sweep_names_the_whole_bad_path(failing: Path, capsys) -> None:
    assert main(["sweep", str(failing), "--seeds", "1", "--jobs", "1", "--set", "nope.path=1"]) == 2
    err = capsys.readouterr().err
    assert "--set nope.path=1" in err and "with path=1" not in err


def test_export_names_the_at_option(failing: Path, capsys) -> None:
    assert main(["export", str(failing), "--at", "99d"]) == 2
    err = capsys.readouterr().err
    assert "--at 99d" in err and "--until" not in err


def test_report_numbers_steps_from_1_and_places_errors_where_the_check_is(
    failing: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "r.json"
    assert main(["run", str(failing), "--report", str(out)]) == 1
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    refused = next(e for e in data["expectations"] if e["kind"] == "action")
    assert refused["step"] == 2  # the second step, as the text says
    assert "step 2" in text
    (error,) = data["errors"]
    assert error.split(": ", 1)[0].endswith(refused["loc"].split(":", 1)[1])
    assert data["not_reached"] == [3, 4]
    (failover,) = data["metrics"]["failovers"]
    assert "promoted_node" in failover


def test_promoted_node_is_null_when_nobody_was_promoted(tmp_path: Path) -> None:
    path = tmp_path / "nobody.yaml"
    path.write_text(
        "name: no replica\ncluster: {masters: 3, replicas: 0, config: {cluster-node-timeout: 1000}}\n"
        "steps:\n  - at: 1s\n    kill: n1\nrun_until: 5s\n",
        encoding="utf-8",
    )
    out = tmp_path / "r.json"
    main(["run", str(path), "--quiet", "--report", str(out)])
    (failover,) = json.loads(out.read_text())["metrics"]["failovers"]
    assert failover["promoted_node"] is None and failover["promoted"] is None


def test_junit_counts_a_refused_action_as_an_error_and_skips_unreached_steps(
    failing: Path, tmp_path: Path
) -> None:
    out = tmp_path / "j.xml"
    assert main(["run", str(failing), "--quiet", "--junit", str(out)]) == 1
    suite = ElementTree.parse(out).getroot()
    cases = suite.findall("testcase")
    assert suite.get("errors") == "1"
    assert suite.get("failures") == "1"  # the final role check
    assert suite.get("skipped") == "2"
    assert int(suite.get("tests", "0")) == len(cases)
    assert sum(1 for c in cases if c.find("error") is not None) == 1
    assert sum(1 for c in cases if c.find("skipped") is not None) == 2


def test_the_tui_trace_export_has_the_run_header(tmp_path: Path) -> None:
    session = scenario_session("master-crash", playing=False)
    session.seek(3000)
    export_trace(session, tmp_path / "tui.jsonl")
    assert main(["run", "master-crash", "--quiet", "--trace", str(tmp_path / "run.jsonl")]) == 0
    tui = json.loads((tmp_path / "tui.jsonl").read_text().splitlines()[0])
    run = json.loads((tmp_path / "run.jsonl").read_text().splitlines()[0])
    assert tui == run
    assert tui["rcsim"] and len(tui["sha256"]) == 64


def test_a_saved_session_points_at_the_schema_from_where_it_is(tmp_path: Path) -> None:
    session = scenario_session("master-crash", playing=False)
    session.seek(1500)
    session.inject("kill", node="n3")
    deep = ROOT / "build" / "lesson-loop-test"
    deep.mkdir(parents=True, exist_ok=True)
    try:
        inside = save_session(session, deep / "s.yaml")
        first = inside.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../docs/scenario.schema.json"
        assert (inside.parent / first.split("=", 1)[1]).resolve() == SCHEMA
    finally:
        (deep / "s.yaml").unlink(missing_ok=True)
        deep.rmdir()
    outside = save_session(session, tmp_path / "s.yaml")
    assert "$schema" not in outside.read_text().splitlines()[0]
    assert main(["validate", str(outside)]) == 0


def test_an_injection_that_cannot_apply_fails_the_run_and_says_injection(
    tmp_path: Path, capsys
) -> None:
    path = tmp_path / "late.yaml"
    path.write_text(
        "name: injected twice\ncluster: {masters: 3, replicas: 1}\nrun_until: 3s\n"
        "injections:\n  - at: 1s\n    kill: n1\n  - at: 2s\n    kill: n1\n",
        encoding="utf-8",
    )
    assert main(["run", str(path), "--quiet"]) == 1
    out = capsys.readouterr()
    assert "injection kill" in out.out
    assert "late.yaml:8:" in out.err
