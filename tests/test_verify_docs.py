"""docs/fidelity.md's verify tables are generated (rcsim/verify/docs.py): the table format
from a stored report, the summary with a refused scenario, the markers, and the doc
matching the reports kept in tests/data/verify-reports/ (what `make verify-docs` wrote)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rcsim.verify.docs import (
    BEGIN,
    END,
    KEPT_DIR,
    generate,
    load_reports,
    main,
    replace_between,
    summary,
    table,
    title,
)
from rcsim.verify.scenario_api import bundled_names

ROOT = Path(__file__).resolve().parent.parent

REPORT = {
    "scenario": "Master crash and automatic failover",
    "source": "scenarios/master-crash.yaml",
    "server": {"path": "/usr/bin/redis-server", "product": "Redis", "version": "7.0.15"},
    "runs": 3,
    "seeds": [1, 2, 3, 4],
    "rows": [
        {"label": "n1 crash: first PFAIL", "kind": "time", "real": [2000, 2400, 2900],
         "rcsim": [2100, 2166, 2200, 2300]},
        {"label": "step 5 wait_for promoted (line 35)", "kind": "time", "real": [500, 520, None],
         "rcsim": [900, 950, 1000, 1100]},
        {"label": "lost writes", "kind": "count", "real": [0, 0, 0], "rcsim": [0, 0, 0, 0]},
        {"label": "end expect role (line 50)", "kind": "state", "real": ["PASS", "FAIL", "PASS"],
         "rcsim": ["PASS", "PASS", "PASS", "PASS"]},
        {"label": "final role n4", "kind": "state", "real": ["master"] * 3, "rcsim": ["master"] * 4},
        {"label": "final slots n4", "kind": "state", "real": ["0-5460"] * 3,
         "rcsim": ["0-5460"] * 4},
    ],
}  # fmt: skip
REFUSED = {
    "scenario": "Failure reports in a big cluster",
    "source": "scenarios/big-cluster-reports.yaml",
    "refused": [
        "scenarios/big-cluster-reports.yaml:24:16: wait_for the 'fail' event's field(s) via "
        "are not observable on a real cluster"
    ],
}


def test_a_reports_table_has_every_row_and_folds_identical_final_state() -> None:
    lines = table(REPORT).splitlines()
    assert lines[0] == "| milestone | real median [min–max] | rcsim median | ratio | in bounds |"
    assert lines[2] == "| n1 crash: first PFAIL ms | 2400 [2000–2900] | 2183 | 0.91 | yes |"
    assert lines[3] == (
        "| step 5 wait_for promoted (line 35) ms | 510 [500–520] (1× never) | 975 | 1.91 | **no** |"
    )
    assert lines[4] == "| lost writes | 0 [0–0] | 0 | — | yes |"
    assert lines[5] == "| end expect role (line 50) | FAIL / PASS | PASS |  | yes |"
    assert lines[6] == (
        "| final roles and slot owners (2 rows) | identical in every run "
        "| identical in every seed | | yes |"
    )
    assert len(lines) == 7


def test_final_state_that_differs_is_shown_row_by_row() -> None:
    report = json.loads(json.dumps(REPORT))
    report["rows"][4]["rcsim"] = ["replica of n1"] * 4
    lines = table(report).splitlines()
    assert "| final role n4 | master | replica of n1 |  | **no** |" in lines
    assert "| final slots n4 | 0-5460 | 0-5460 |  | yes |" in lines


def test_summary_counts_rows_and_names_refusals_and_other_servers() -> None:
    valkey = {**REPORT, "server": {"product": "Valkey", "version": "9.1.2"}}
    fidelity = {**REPORT, "source": "scenarios/fidelity/manual-force.yaml"}
    lines = summary([REPORT, REFUSED, valkey, fidelity]).splitlines()
    assert lines[2] == (
        "| master-crash | Redis 7.0.15 | 3 × 4 | 5/6 | step 5 wait_for promoted (line 35) ms |"
    )
    assert lines[3] == (
        "| big-cluster-reports | — | refused | — | line 24: wait_for the 'fail' event's "
        "field(s) via are not observable on a real cluster |"
    )
    assert lines[4].startswith("| master-crash on Valkey 9.1.2 | Valkey 9.1.2 |")
    assert title(fidelity) == "fidelity/manual-force"


def test_generate_writes_between_the_markers_only(tmp_path: Path) -> None:
    doc = f"# before\n\n{BEGIN}\nold table\n{END}\n\nafter\n"
    text = replace_between(doc, generate([REPORT, REFUSED]))
    assert text.startswith("# before\n\n" + BEGIN) and text.endswith(END + "\n\nafter\n")
    assert "old table" not in text and "#### master-crash\n\n| milestone |" in text
    assert "#### big-cluster-reports" not in text  # refused: in the summary only
    with pytest.raises(ValueError, match="markers"):
        replace_between("# no markers\n", "x")


def test_main_keeps_trimmed_reports_and_rewrites_the_doc(tmp_path: Path) -> None:
    reports, kept = tmp_path / "build", tmp_path / "kept"
    reports.mkdir()
    (reports / "master-crash.json").write_text(
        json.dumps({**REPORT, "real": [{"huge": 1}], "rcsim": []}), encoding="utf-8"
    )
    (reports / "big-cluster-reports.json").write_text(json.dumps(REFUSED), encoding="utf-8")
    doc = tmp_path / "fidelity.md"
    doc.write_text(f"{BEGIN}\n{END}\n", encoding="utf-8")
    assert main([str(reports), str(doc), "--kept", str(kept)]) == 0
    stored = json.loads((kept / "master-crash.json").read_text(encoding="utf-8"))
    assert "real" not in stored and stored["server"] == {"product": "Redis", "version": "7.0.15"}
    text = doc.read_text(encoding="utf-8")
    assert text.index("| big-cluster-reports |") < text.index(
        "| master-crash |"
    )  # rcsim list order
    assert main([str(tmp_path / "missing"), str(tmp_path / "none.md"), "--kept", str(kept)]) == 2


def test_docs_fidelity_md_shows_the_kept_reports() -> None:
    """`make verify-docs` regenerates the block; this fails when someone edits it by hand
    or forgets to regenerate after `make verify`."""
    doc = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    reports = load_reports(ROOT / KEPT_DIR, bundled_names())
    assert reports, "no kept reports"
    assert replace_between(doc, generate(reports)) == doc
