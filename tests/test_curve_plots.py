"""The curves of issue 14's pictures: a sweep's bus traffic against the swept value, and
the caching experiments (``rcsim fidelity --part expiry|eviction --plot``) against real
Redis.

The files are read back as text (SVG keeps its words as ``<text>``): the series' labels,
titles and captions a reader sees; the drawn data are checked on the matplotlib axes
(each line's points are the medians of the runs given).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from rcsim.cli import main

IDLE = """name: idle bus
seed: 1
cluster:
  masters: 3
  replicas: 0
steps:
  - at: 1s
    caption: nothing happens
run_until: 3s
"""

BUS_SWEEP = [
    "--seeds",
    "1-2",
    "--set",
    "cluster.masters=3,4",
    "--set",
    "cluster.config.cluster-node-timeout=2000,5000",
    "--jobs",
    "1",
]


def test_bus_sweep_plot_draws_the_bus_curves_one_line_per_timeout(
    write_scenario, tmp_path, capsys
) -> None:
    scenario = write_scenario(IDLE, "idle.yaml")
    out = tmp_path / "bus.svg"
    assert main(["sweep", str(scenario), *BUS_SWEEP, "--plot", str(out)]) == 0
    assert "masters=4 cluster-node-timeout=5000: 2/2 passed" in capsys.readouterr().out
    svg = out.read_text(encoding="utf-8")
    for words in (
        "bus bytes/s sent per node",
        "bus messages/s, whole cluster",
        "bytes per second (one node)",
        "cluster.masters (swept)",  # the x axis is the first swept path
        "cluster-node-timeout=2000",  # one line per value of the second
        "cluster-node-timeout=5000",
        "runs whose expectations all held",
        "line: median of the seeds",
    ):
        assert words in svg, words
    assert "first PFAIL" not in svg  # no fault: no empty milestone panels


def test_bus_panels_join_the_medians_of_the_runs() -> None:
    from rcsim.bus_plot import bus_panels
    from rcsim.plots import new_figure

    def runs(*values: int) -> list[dict[str, int]]:
        return [{"bus_bytes_per_node_s": v, "bus_msgs_per_s": v // 100} for v in values]

    # Grid order of the sweep: masters outer, timeout inner.
    rows = [runs(1000, 1200, 1100), runs(500, 700), runs(9000, 9100), runs(4000)]
    figure = new_figure(8, 4)
    left, right = figure.subplots(1, 2)
    bus_panels(
        left, right, rows, ["cluster.masters=3,50", "cluster.config.cluster-node-timeout=2000,5000"]
    )
    lines = {line.get_label(): line for line in left.get_lines()}
    assert set(lines) == {"cluster-node-timeout=2000", "cluster-node-timeout=5000"}
    assert list(lines["cluster-node-timeout=2000"].get_xdata()) == [3.0, 50.0]
    assert list(lines["cluster-node-timeout=2000"].get_ydata()) == [1100.0, 9050.0]
    assert list(lines["cluster-node-timeout=5000"].get_ydata()) == [600.0, 4000.0]
    assert left.get_yscale() == "linear"  # 500 to 9100: not thirtyfold
    msgs = {line.get_label(): list(line.get_ydata()) for line in right.get_lines()}
    assert msgs["cluster-node-timeout=2000"] == [11.0, 90.5]


def test_a_sweep_with_a_fault_keeps_its_milestones_and_adds_the_bus(
    write_scenario, tmp_path
) -> None:
    from tests.test_plots import FAST

    scenario = write_scenario(FAST, "fast.yaml")
    out = tmp_path / "sweep.svg"
    assert main(["sweep", str(scenario), "--seeds", "1-2", "--jobs", "1", "--plot", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    for words in ("first PFAIL", "replica promoted", "bus bytes/s sent per node", "median"):
        assert words in svg, words


def _table_value(text: str, metric: str) -> str:
    """rcsim's median of a fidelity row, as the table printed it."""
    match = re.search(rf"\| {metric} \| [^|]+ \| ([0-9.]+) \|", text)
    assert match, metric
    return match.group(1)


def test_fidelity_expiry_plot_draws_rcsim_against_the_real_runs(tmp_path, capsys) -> None:
    out = tmp_path / "expiry.svg"
    assert main(["fidelity", "--part", "expiry", "--seeds", "1", "--plot", str(out)]) == 0
    table = capsys.readouterr().out
    svg = out.read_text(encoding="utf-8")
    for words in (
        "Active expiry: logically expired keys still in memory",
        "real Redis 7.0.15 (4 runs)",
        "rcsim, one seed each",
        "rcsim, median of 1 seed",
        "real peak ± 25 %",
        "real zero ± 1 s",
        "seconds after the writes",
        "keys expired but still in memory",
    ):
        assert words in svg, words
    peak = _table_value(table, "peak_keys")  # the caption's figures are the table's
    assert f"peak_keys real 34820, rcsim {float(peak):.0f} (ok)" in svg


def test_expiry_figure_lines_are_the_real_runs_the_seeds_and_their_median() -> None:
    from rcsim.fidelity_plots import expiry_figure
    from simulator.fidelity_expiry import expiry_rows, real_expiry

    curves = [
        [(100, 0), (200, 10), (300, 4)],
        [(100, 2), (200, 30), (300, 0)],
        [(100, 1), (200, 20), (300, 6)],
    ]
    real = real_expiry()
    figure = expiry_figure(curves, real, expiry_rows([0, 1, 2], curves), version="test")
    axes = figure.axes[0]
    lines = axes.get_lines()
    assert len(lines) == len(real["runs"]) + len(curves) + 1
    median = lines[-1]
    assert median.get_label() == "rcsim, median of 3 seeds"
    assert list(median.get_xdata()) == [0.1, 0.2, 0.3]
    assert list(median.get_ydata()) == [1, 20, 4]
    first_real = real["runs"][0]["curve"]
    assert list(lines[0].get_ydata()) == [v for _, v in first_real]


def test_fidelity_eviction_plot_draws_survival_error_and_lfu(tmp_path, capsys) -> None:
    out = tmp_path / "eviction.svg"
    assert main(["fidelity", "--part", "eviction", "--seeds", "1", "--plot", str(out)]) == 0
    table = capsys.readouterr().out
    svg = out.read_text(encoding="utf-8")
    for words in (
        "allkeys-lru samples 3",
        "allkeys-lru samples 5",
        "allkeys-lru samples 10",
        "allkeys-random samples 5",
        "volatile-ttl samples 5",
        "real Redis (3 runs)",
        "rcsim mean",
        "test-lru.rb error %",
        "keys evicted in the whole test",
        "allkeys-lfu: share surviving",
        "tenth of the first key set (1 = read first)",
    ):
        assert words in svg, words
    rows = table.count("| yes |") + table.count("| NO |")
    assert f"{table.count('| yes |')} of {rows} rows within bounds" in svg


def test_eviction_survival_line_is_rcsims_mean_per_tenth() -> None:
    from rcsim.fidelity_plots import eviction_figure
    from simulator.fidelity_evict import Row, real_eviction

    name = "allkeys-lru samples 5"
    rows = [
        Row(name, f"survival, tenth {t}", 0.5, 0.4, 0.6, t / 10, 1, 0.0, 0.1) for t in range(1, 11)
    ]
    figure = eviction_figure(rows, real_eviction(), seeds=1, version="test")
    panel = next(a for a in figure.axes if a.get_title().startswith(name))
    ours = [line for line in panel.get_lines() if line.get_label() == "rcsim mean"]
    assert len(ours) == 1
    assert list(ours[0].get_ydata()) == [t / 10 for t in range(1, 11)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--part", "bus", "--plot", "x.svg"],
            "--plot x.svg: only --part expiry and --part eviction have a picture, not --part bus",
        ),
        (["--part", "all", "--plot", "x.svg"], "not --part all"),
        (["--part", "expiry", "--plot", "x.pdf"], "--plot x.pdf: .pdf is not a picture format"),
    ],
)
def test_fidelity_plot_refuses_before_any_run(args, message, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["fidelity", *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("rcsim fidelity: ") and message in captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""  # one line, no table
    assert not any(Path(tmp_path).iterdir())


def test_fidelity_plot_without_matplotlib_says_what_to_install(
    capsys, monkeypatch, tmp_path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "e.svg"
    assert main(["fidelity", "--part", "expiry", "--plot", str(out)]) == 2
    assert capsys.readouterr().err == (
        "rcsim fidelity: --plot needs matplotlib, which is not installed: "
        "pip install 'rcsim[plot]' (or: pip install matplotlib)\n"
    )
    assert not out.exists()
