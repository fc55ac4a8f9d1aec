"""benchmarks/ab_pairs.py: both children run, untraced and ``--traced`` (the TUI's
simulation, every bus message traced: docs/benchmarks.md Round 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

import benchmarks.ab_pairs as ab

ROOT = str(Path(__file__).resolve().parents[1])


def test_traced_child_builds_the_tui_s_session_and_times_it() -> None:
    assert "cluster_session" in ab.TRACED_CHILD and "cluster_session" not in ab.CHILD
    assert ab.ratio(ROOT, "3", "1", "1", traced=True) > 0


def test_traced_flag_anywhere_picks_the_traced_child(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[bool] = []

    def fake_ratio(spec: str, masters: str, seconds: str, warm: str, traced: bool) -> float:
        seen.append(traced)
        return 1.0

    monkeypatch.setattr(ab, "ratio", fake_ratio)
    assert ab.main(["--traced", "3", "1", ROOT, ROOT, "2"]) == 0
    assert seen == [True] * 4
    assert ab.main(["3", "1", ROOT, ROOT, "1", "2"]) == 0
    assert seen[4:] == [False, False]
    assert "B/A" in capsys.readouterr().out
