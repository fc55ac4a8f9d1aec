"""Every broken scenario in tests/scenarios/broken is refused with exactly its expected line.

Each file starts with ``# expect: <file>:<line>:<col>: <message>``; ``rcsim validate``
must exit 2 and print that one line on stderr, nothing on stdout, and no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rcsim.cli import main

BROKEN = Path(__file__).parent / "scenarios" / "broken"
FILES = sorted(BROKEN.glob("*.yaml"))


def expected_line(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    return first.removeprefix("# expect: ")


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_scenario_reports_its_one_error(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(BROKEN)
    code = main(["validate", path.name])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert err == expected_line(path) + "\n"
