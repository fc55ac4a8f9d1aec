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


PARTITION = (
    "name: split and heal\nseed: 4\n"
    + CRASH_CLUSTER
    + """steps:
  - at: 1s
    pause: n2
    caption: n2 stops
  - at: 2s
    partition: [[n1, n4], [n2, n3, n5, n6]]
  - at: 5s
    heal: all
    caption: the network heals
run_until: 7s
"""
)


def test_run_timeline_svg_shows_every_node_the_faults_and_the_captions(
    scenario, write_scenario, tmp_path, capsys
) -> None:
    out = tmp_path / "run.svg"
    assert main(["run", str(scenario), "--quiet", "--timeline", str(out)]) == 0
    assert "PASS: 2/2" in capsys.readouterr().out  # the run prints as before
    svg = out.read_text(encoding="utf-8")
    assert "fast crash" in svg  # the title
    assert f"{scenario}, seed 2, rcsim" in svg and "PASS 2/2 expectations" in svg
    for node in ("n1", "n2", "n3", "n4", "n5", "n6"):
        assert f">{node}<" in svg, node
    assert ">n1 killed<" in svg  # the fault, labelled
    assert "[1] 1.000s  n1 dies" in svg  # the caption, written out
    assert "simulated time (s)" in svg
    for words in ("master (running)", "replica (running)", "crashed", "promoted to master"):
        assert words in svg  # the legend
    again = tmp_path / "again.svg"
    assert main(["run", str(scenario), "--quiet", "--timeline", str(again)]) == 0
    assert out.read_bytes() == again.read_bytes()
    other = write_scenario(PARTITION, "split.yaml")
    assert main(["run", str(other), "--quiet", "--timeline", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    for label in (">n2 pause<", ">partition n1,n4 | n2,n3,n5,n6<", ">heal<", "the network heals"):
        assert label in svg, label


def test_the_timeline_folds_states_from_the_trace() -> None:
    from rcsim.timeline_plot import fold

    events = [
        {"t": 1000, "kind": "crash", "node": "n1", "power_loss": False},
        {"t": 1500, "kind": "pfail", "node": "n2", "target": "n1"},
        {"t": 1600, "kind": "pfail", "node": "n3", "target": "n1"},  # not the first: no mark
        {"t": 2000, "kind": "cluster_state", "node": "n2", "state": "fail"},
        {"t": 3000, "kind": "promoted", "node": "n2", "target": "n1", "epoch": 7},
        {"t": 3000, "kind": "cluster_state", "node": "n2", "state": "ok"},
        {"t": 4000, "kind": "restart", "node": "n1", "role": "replica"},
    ]
    lanes, faults, captions, marks = fold(events, [("n1", "master"), ("n2", "replica")], 5000)
    assert lanes[0].bars == [(0, 1000, "master"), (1000, 4000, "crashed"), (4000, 5000, "replica")]
    assert lanes[1].bars == [(0, 3000, "replica"), (3000, 5000, "master")]
    assert lanes[1].fail_spans == [(2000, 3000)]
    assert faults == [(1000, "n1 killed"), (4000, "n1 restart")]
    assert marks == [("n1", 1500, "pfail"), ("n2", 3000, "promoted")]
    assert captions == []


def test_run_timeline_refuses_another_extension_before_running(scenario, tmp_path, capsys) -> None:
    out = tmp_path / "run.txt"
    assert main(["run", str(scenario), "--timeline", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"rcsim run: --timeline {out}: .txt is not a picture format; name a .svg or .png file\n"
    )
    assert captured.out == "" and not out.exists()


def test_run_timeline_without_matplotlib_says_what_to_install(
    scenario, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["run", str(scenario), "--timeline", str(tmp_path / "t.svg")]) == 2
    assert capsys.readouterr().err == (
        "rcsim run: --timeline needs matplotlib, which is not installed: "
        "pip install 'rcsim[plot]' (or: pip install matplotlib)\n"
    )
