"""``rcsim sweep --plot`` and ``rcsim run --timeline``: pictures for reports (issue 14).

The files are read back as text (SVG keeps its words as ``<text>``), so the tests check
what a reader would see: titles, units, the settings, the scenario and seeds, the nodes
and the faults; and the same run gives the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
run_until: 6s
expect:
  - role: {n4: master}
"""
)

SWEEP = ["--seeds", "1-3", "--set", "cluster.config.cluster-node-timeout=1000,2000", "--jobs", "1"]


@pytest.fixture()
def scenario(write_scenario) -> Path:
    return write_scenario(FAST, "fast.yaml")


def test_sweep_plot_svg_names_what_a_report_reader_needs(scenario, tmp_path, capsys) -> None:
    out = tmp_path / "sweep.svg"
    assert main(["sweep", str(scenario), *SWEEP, "--plot", str(out)]) == 0
    assert "cluster-node-timeout=1000: 3/3 passed" in capsys.readouterr().out  # table as before
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "</svg>" in svg
    for words in (
        "rcsim sweep: fast crash",  # the title is the scenario's name
        "first PFAIL",
        "first FAIL",
        "replica promoted",
        "cluster_state ok again",
        "acknowledged writes lost",
        "ms after the fault (simulated)",  # the unit on the axis
        "setting: cluster.config.cluster-node-timeout",
        f"{scenario}, seeds 1-3 (6 runs)",  # the caption: scenario and seeds
    ):
        assert words in svg, words
    assert svg.count(">1000<") >= 1 and svg.count(">2000<") >= 1  # the swept values
    assert "(n=3)" in svg


def test_the_same_sweep_gives_the_same_svg_bytes(scenario, tmp_path) -> None:
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    assert main(["sweep", str(scenario), *SWEEP, "--plot", str(first)]) == 0
    assert main(["sweep", str(scenario), *SWEEP, "--plot", str(second), "--json"]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert b"<dc:date>" not in first.read_bytes()  # no wall-clock date in the file


def test_sweep_plot_png_and_json_stays_as_it_was(scenario, tmp_path, capsys) -> None:
    out = tmp_path / "sweep.png"
    assert (
        main(
            ["sweep", str(scenario), "--seeds", "1-2", "--jobs", "1", "--json", "--plot", str(out)]
        )
        == 0
    )
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert '"rows"' not in capsys.readouterr().out  # the per-run rows only feed the picture


def test_sweep_plot_refuses_another_extension_before_running(scenario, tmp_path, capsys) -> None:
    out = tmp_path / "sweep.pdf"
    assert main(["sweep", str(scenario), *SWEEP, "--plot", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"rcsim sweep: --plot {out}: .pdf is not a picture format; name a .svg or .png file\n"
    )
    assert not out.exists()


def test_sweep_plot_without_matplotlib_says_what_to_install(
    scenario, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    out = tmp_path / "sweep.svg"
    assert main(["sweep", str(scenario), *SWEEP, "--plot", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "rcsim sweep: --plot needs matplotlib, which is not installed: "
        "pip install 'rcsim[plot]' (or: pip install matplotlib)\n"
    )
    assert captured.out == ""  # refused before any run
    assert not out.exists()
