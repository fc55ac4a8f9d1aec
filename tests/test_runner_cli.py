"""``rcsim run / sweep / export``: exit codes, the stamped trace and report, JUnit, and
byte-identical traces for the same scenario and seed."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from rcsim.cli import main
from tests.conftest import CRASH_CLUSTER

FAST = (
    "name: fast crash\nseed: 2\n"
    + CRASH_CLUSTER
    + """steps:
  - at: 1s
    kill: n1
    caption: n1 dies
  - wait_for: {promoted: n4}
    timeout: 20s
run_until: 8s
expect:
  - role: {n4: master}
  - cluster_state: ok
"""
)


@pytest.fixture()
def scenario(write_scenario) -> Path:
    return write_scenario(FAST, "fast.yaml")


def test_run_exits_0_when_every_expectation_holds(scenario: Path, capsys) -> None:
    assert main(["run", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "-- n1 dies" in out
    assert "n4   promoted (replaced n1, epoch" in out
    assert out.rstrip().endswith(f"PASS: 3/3 expectations hold ({scenario})")


def test_run_exits_1_and_says_what_was_seen(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(FAST.replace("role: {n4: master}", "role: {n4: replica}"), encoding="utf-8")
    assert main(["run", str(path), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "seen instead: n4 is a master" in out
    assert "-- n1 dies" not in out  # --quiet: verdict lines only


def test_run_exits_2_on_an_invalid_scenario_with_one_line_per_error(tmp_path, capsys) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ncluster: {masters: 3}\nsteps:\n  - kil: n1\n", encoding="utf-8")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:4:")
    assert "did you mean 'kill'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [["run", "no-such-lesson"], ["run", "master-crash", "--until", "soon"], ["run"]],
)
def test_run_usage_errors_exit_2(args: list[str], capsys) -> None:
    try:
        code = main(args)
    except SystemExit as stop:
        code = int(stop.code or 0)
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


def _trace(scenario: Path, tmp_path: Path, seed: str, name: str) -> bytes:
    out = tmp_path / name
    assert main(["run", str(scenario), "--quiet", "--seed", seed, "--trace", str(out)]) == 0
    return out.read_bytes()


def test_same_scenario_and_seed_give_a_byte_identical_trace(scenario, tmp_path, capsys) -> None:
    first = _trace(scenario, tmp_path, "7", "a.jsonl")
    second = _trace(scenario, tmp_path, "7", "b.jsonl")
    other = _trace(scenario, tmp_path, "8", "c.jsonl")
    assert first == second
    assert first != other


def test_trace_starts_with_the_reproduction_stamp(scenario, tmp_path, capsys) -> None:
    lines = _trace(scenario, tmp_path, "3", "t.jsonl").decode().splitlines()
    header = json.loads(lines[0])
    assert header["kind"] == "header"
    assert header["seed"] == 3
    assert header["scenario"] == "fast crash"
    assert len(header["sha256"]) == 64
    assert header["rcsim"]
    assert all("t" in json.loads(line) for line in lines[1:])


def test_report_holds_every_expectation_and_the_failover_milestones(scenario, tmp_path) -> None:
    out = tmp_path / "r.json"
    assert main(["run", str(scenario), "--quiet", "--report", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["passed"] is True
    assert {"rcsim", "seed", "scenario", "sha256"} <= set(data)
    first = data["expectations"][0]
    assert set(first) >= {"passed", "expected", "observed", "at", "loc"}
    assert len(data["expectations"]) == 3
    metrics = data["metrics"]
    assert metrics["lost_writes"] == 0
    assert isinstance(metrics["requests"], dict)
    (failover,) = metrics["failovers"]
    assert failover["node"] == "n1" and failover["at"] == 1000
    assert 0 < failover["first_pfail"] <= failover["first_fail"] <= failover["promoted"]
    assert failover["promoted"] <= failover["all_ok"]


def test_junit_has_one_testcase_per_expectation(scenario, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(FAST.replace("state: ok", "state: fail"), encoding="utf-8")
    out = tmp_path / "j.xml"
    assert main(["run", str(path), "--quiet", "--junit", str(out)]) == 1
    suite = ElementTree.parse(out).getroot()
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests", "0")) == 3
    assert suite.get("failures") == "1"
    assert sum(1 for c in cases if c.find("failure") is not None) == 1


def test_sweep_counts_passes_and_prints_json(scenario, capsys) -> None:
    code = main(
        [
            "sweep",
            str(scenario),
            "--seeds",
            "1-3",
            "--set",
            "cluster.config.cluster-node-timeout=1000,2000",
            "--jobs",
            "1",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    labels = [s["setting"] for s in data["settings"]]
    assert labels == ["cluster-node-timeout=1000", "cluster-node-timeout=2000"]
    slow, fast = data["settings"][1], data["settings"][0]
    assert fast["runs"] == 3
    assert fast["metrics"]["promoted"]["n"] == 3
    assert slow["metrics"]["first_pfail"]["median"] > fast["metrics"]["first_pfail"]["median"]


@pytest.mark.parametrize(
    "args",
    [
        ["--seeds", "5-1"],
        ["--seeds", "x"],
        ["--set", "cluster.config.cluster-node-timeout=abc"],
        ["--set", "nonsense"],
        ["--jobs", "0"],
    ],
)
def test_sweep_bad_arguments_exit_2(scenario, args: list[str], capsys) -> None:
    assert main(["sweep", str(scenario), "--jobs", "1", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rcsim sweep: ")
    assert "Traceback" not in err


def test_export_json_dot_graphml_and_nodes(scenario, capsys) -> None:
    assert main(["export", str(scenario), "--at", "6s"]) == 0
    data = json.loads(capsys.readouterr().out)
    roles = {n["name"]: (n["role"], n["status"]) for n in data["nodes"]}
    assert roles["n4"] == ("master", "running") and roles["n1"][1] == "crashed"
    assert main(["export", str(scenario), "--at", "6s", "--format", "dot"]) == 0
    assert '"n2" -> "n5" [label="replication"]' in capsys.readouterr().out
    assert main(["export", str(scenario), "--at", "6s", "--format", "graphml"]) == 0
    assert "<graphml" in capsys.readouterr().out
    assert main(["export", str(scenario), "--at", "6s", "--format", "nodes", "--node", "n2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and any("myself,master" in line for line in lines)
    assert main(["export", str(scenario), "--at", "6s", "--format", "nodes", "--node", "n9"]) == 2
