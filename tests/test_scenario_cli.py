"""``rcsim validate``, ``rcsim list`` and ``rcsim schema``: exit codes and output lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rcsim.cli import main
from simulator.scenario import list_bundled


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_validate_valid_files_and_bundled_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: t\ncluster: {masters: 1}\n")
    code, out, err = run(["validate", str(good), "master-crash"], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"{good}: ok", "master-crash: ok"]


def test_validate_mixed_files_exits_2_and_reports_only_the_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("good.yaml").write_text("name: t\ncluster: {masters: 1}\n")
    Path("bad.yaml").write_text("name: t\ncluster: {masters: 1}\nsteps:\n  - kill: n2\n")
    code, out, err = run(["validate", "good.yaml", "bad.yaml"], capsys)
    assert code == 2
    assert out == "good.yaml: ok\n"
    assert err == "bad.yaml:4:11: unknown node 'n2' (known: n1)\n"


def test_validate_missing_file_directory_and_unknown_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("dir.yaml").mkdir()
    code, _, err = run(["validate", "missing.yaml", "dir.yaml", "master-crahs"], capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("missing.yaml: no such file or bundled scenario (bundled: ")
    assert "master-crash" in lines[0]
    assert lines[1:] == [
        "dir.yaml: is a directory, expected a scenario file",
        "master-crahs: no such file or bundled scenario (did you mean 'master-crash'?)",
    ]


def test_validate_without_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate"])
    assert caught.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_list_prints_each_bundled_scenario_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(list_bundled())
    assert any(
        line.startswith("master-crash ") and line.endswith("takes over the slots.")
        for line in lines
    )


def test_schema_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schema.json"
    code, out, _ = run(["schema", "-o", str(target)], capsys)
    assert (code, out) == (0, "")
    assert json.loads(target.read_text())["$schema"].endswith("2020-12/schema")
    code, _, err = run(["schema", "-o", str(tmp_path / "no" / "such" / "dir.json")], capsys)
    assert code == 2
    assert err.startswith("rcsim schema: cannot write")
