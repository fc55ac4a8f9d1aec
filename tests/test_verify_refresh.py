"""``rcsim verify SCENARIO --against REPORT`` (rcsim/verify/refresh.py): the rcsim side
re-run against a report's real runs, without real servers. With the model unchanged it
gives back the report's own rows (from raw runs and from kept, trimmed rows); it refuses
a report of another scenario or without real runs; its output feeds rcsim/verify/docs.py.

The "real" runs here are rcsim runs with other seeds, in the real runs' format: what
matters is that the rows are rebuilt as a real verify builds them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rcsim.cli import main
from rcsim.verify import docs
from rcsim.verify.compare import rows
from rcsim.verify.refresh import RefreshError, refresh
from rcsim.verify.scenario_api import load_scenario
from rcsim.verify.simside import measure

ROOT = Path(__file__).resolve().parent.parent
KEPT = ROOT / docs.KEPT_DIR
SCENARIO = "scenarios/no-replica.yaml"  # a crash, waits, final state; ~0.1 s a seed


def _full_report() -> dict[str, Any]:
    """A report as ``rcsim verify --report`` writes it: 2 "real" runs (seeds 7, 8), seeds 1-2."""
    scenario = load_scenario(str(ROOT / SCENARIO))
    real = [measure(scenario, seed) for seed in (7, 8)]
    sim = [measure(scenario, seed) for seed in (1, 2)]
    table = rows(real, sim)
    report = {
        "scenario": scenario.name,
        "source": SCENARIO,
        "sha256": scenario.sha256,
        "server": {"path": "/usr/bin/redis-server", "product": "Redis", "version": "7.0.15"},
        "runs": 2,
        "seeds": [1, 2],
        "rows": [r.as_dict() for r in table],
        "real": [m.as_dict() for m in real],
        "rcsim": [m.as_dict() for m in sim],
        "in_bounds": all(r.in_bounds() for r in table),
    }
    result: dict[str, Any] = json.loads(json.dumps(report))  # as read back from the file
    return result


def test_a_full_report_is_rebuilt_exactly_when_the_model_has_not_changed() -> None:
    report = _full_report()
    scenario = load_scenario(str(ROOT / SCENARIO))
    refreshed, table = refresh(scenario, report, [1, 2], "r.json")
    assert json.loads(json.dumps(refreshed)) == report
    assert any(r.kind == "time" and r.label.startswith("n1 crash") for r in table)


def test_a_kept_trimmed_report_gives_the_same_rows(tmp_path: Path) -> None:
    build, kept = tmp_path / "build", tmp_path / "kept"
    build.mkdir()
    full = _full_report()
    (build / "no-replica.json").write_text(json.dumps(full), encoding="utf-8")
    docs.store(build, kept)  # what `make verify-docs` keeps: rows only, no raw runs
    trimmed = json.loads((kept / "no-replica.json").read_text(encoding="utf-8"))
    assert "real" not in trimmed and "rcsim" not in trimmed
    scenario = load_scenario(str(ROOT / SCENARIO))
    refreshed, _ = refresh(scenario, trimmed, [1, 2], "kept.json")
    assert refreshed["rows"] == full["rows"]
    assert refreshed["in_bounds"] == full["in_bounds"]


def test_more_seeds_keep_the_real_values_and_change_only_the_rcsim_side() -> None:
    report = _full_report()
    for key in ("real", "rcsim"):
        del report[key]
    scenario = load_scenario(str(ROOT / SCENARIO))
    refreshed, _ = refresh(scenario, report, [1, 2, 3], "kept.json")
    assert [r["label"] for r in refreshed["rows"]] == [r["label"] for r in report["rows"]]
    assert [r["real"] for r in refreshed["rows"]] == [r["real"] for r in report["rows"]]
    assert all(len(r["rcsim"]) == 3 for r in refreshed["rows"])
    assert [r["rcsim"][:2] for r in refreshed["rows"]] == [r["rcsim"] for r in report["rows"]]


def test_the_cli_refreshes_a_kept_report_deterministically_and_docs_read_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = KEPT / "no-replica.json"
    first, second = tmp_path / "a" / "no-replica.json", tmp_path / "b.json"
    first.parent.mkdir()
    args = ["verify", str(ROOT / SCENARIO), "--against", str(source), "--seeds", "2"]
    code = main([*args, "--report", str(first)])
    assert code in (0, 1)
    out = capsys.readouterr().out
    assert "| milestone | real median [min–max] | rcsim median |" in out
    assert "3 kept real runs, 2 seeds" in out
    assert main([*args, "--report", str(second)]) == code
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")
    old = json.loads(source.read_text(encoding="utf-8"))
    new = json.loads(first.read_text(encoding="utf-8"))
    assert new["seeds"] == [1, 2] and new["sha256"] == old["sha256"]
    assert [r["real"] for r in new["rows"]] == [r["real"] for r in old["rows"]]
    # the refreshed report feeds the docs generator like a measured one
    doc = tmp_path / "fidelity.md"
    doc.write_text(f"{docs.BEGIN}\n{docs.END}\n", encoding="utf-8")
    kept = tmp_path / "kept"
    assert docs.main([str(first.parent), str(doc), "--kept", str(kept)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert "#### no-replica" in text and "| Redis 7.0.15 | 3 × 2 |" in text


def test_a_report_of_another_scenario_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "hello-cluster", "--against", str(KEPT / "no-replica.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert "measured on another version of the scenario" in err and "Traceback" not in err


def test_reports_without_real_runs_are_refused(tmp_path: Path) -> None:
    scenario = load_scenario(str(ROOT / SCENARIO))
    report = _full_report()
    with pytest.raises(RefreshError, match="refused for real"):
        refresh(scenario, {"source": SCENARIO, "refused": ["x: y"]}, [1], "r.json")
    with pytest.raises(RefreshError, match="neither the real runs nor their rows"):
        refresh(scenario, {**report, "real": None, "rows": []}, [1], "r.json")
    with pytest.raises(RefreshError, match="real run 2 lacks its measures"):
        refresh(scenario, {**report, "real": [report["real"][0], {}]}, [1], "r.json")
    with pytest.raises(RefreshError, match="no scenario SHA-256"):
        refresh(scenario, {**report, "sha256": None}, [1], "r.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["verify", SCENARIO, "--against", str(bad)]) == 2
    assert (
        main(["verify", SCENARIO, "--against", str(KEPT / "no-replica.json"), "--runs", "2"]) == 2
    )
