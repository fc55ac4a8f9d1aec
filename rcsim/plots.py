"""Pictures for reports: a sweep's milestone distributions and bus curves (``rcsim sweep
--plot``); the shared figure and file helpers of :mod:`rcsim.bus_plot`,
:mod:`rcsim.fidelity_plots` and :mod:`rcsim.timeline_plot`.

Drawn with matplotlib (an optional extra: ``pip install 'rcsim[plot]'``), on its Agg
canvas through the object API (``Figure``, never ``pyplot``: no global figure state, no
display needed). Why matplotlib: it is the long-maintained standard for publication
figures in Python, writes SVG and PNG from one figure without a browser or a system
library (plotly's static export needs Kaleido/Chrome, bokeh's a browser), has box plots
built in, and its SVG writer can be made byte-for-byte reproducible.

Reproducible files: the SVG has no date (``metadata={"Date": None}``), a fixed
``svg.hashsalt`` (the ids of clip paths) and its text as ``<text>`` (``svg.fonttype:
none``: no embedded glyphs that depend on the fonts installed), so the same sweep gives
the same bytes. The PNG carries no ``Software`` line.

Nothing in ``simulator/`` imports this module: plotting stays out of the engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcsim.commands import CommandError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("svg", "png")
INSTALL_HINT = "pip install 'rcsim[plot]' (or: pip install matplotlib)"
HASHSALT = "rcsim"
MILESTONE_PANELS = (
    ("first_pfail", "first PFAIL"),
    ("first_fail", "first FAIL"),
    ("promoted", "replica promoted"),
    ("all_ok", "cluster_state ok again"),
)


def plot_format(path: str, flag: str) -> str:
    """``svg`` or ``png`` from ``path``'s extension (checked before any work is done)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        shown = f".{suffix}" if suffix else "no extension"
        raise CommandError(
            f"{flag} {path}: {shown} is not a picture format; name a .svg or .png file"
        )
    return suffix


def require_matplotlib(flag: str) -> Any:
    """The ``matplotlib`` module (Agg backend), or one clear error saying what to install."""
    try:
        matplotlib = importlib.import_module("matplotlib")
        importlib.import_module("matplotlib.figure")
        importlib.import_module("matplotlib.backends.backend_agg")
    except ImportError:
        raise CommandError(
            f"{flag} needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from None
    matplotlib.use("Agg")
    return matplotlib


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, path: str, fmt: str) -> None:
    """Write ``figure`` reproducibly (see the module docstring)."""
    import matplotlib

    metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": None}
    style: dict[Any, Any] = {"svg.hashsalt": HASHSALT, "svg.fonttype": "none"}
    try:
        with matplotlib.rc_context(style):
            figure.savefig(path, format=fmt, metadata=metadata)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from None


# --------------------------------------------------------------------------- sweep


def _axis_title(sets: Sequence[str]) -> str:
    if not sets:
        return "setting (as written)"
    paths = [s.partition("=")[0].strip() for s in sets]
    return "setting: " + ", ".join(paths)


def _ticks(summaries: Sequence[dict[str, Any]], sets: Sequence[str]) -> list[str]:
    """Tick labels: the value alone when one path is swept, else the whole label."""
    labels = [str(s["setting"]) for s in summaries]
    if len(sets) == 1:
        return [label.split("=", 1)[-1] for label in labels]
    return labels


def _rotation(ticks: Sequence[str]) -> int:
    """Tick labels slanted when there are many or they are long (several swept paths)."""
    return 0 if len(ticks) <= 4 and all(len(t) <= 14 for t in ticks) else 30


def _strip(axes: Any, position: int, values: Sequence[float]) -> None:
    """One dot per run beside the box, spread evenly (no random jitter: same bytes)."""
    count = len(values)
    if not count:
        return
    offsets = [(-0.18 + 0.36 * i / (count - 1)) if count > 1 else 0.0 for i in range(count)]
    axes.scatter(
        [position + o for o in offsets],
        values,
        s=8,
        color="#33415580",
        linewidths=0,
        zorder=3,
    )


def _box_panel(
    axes: Any,
    title: str,
    unit: str,
    columns: Sequence[Sequence[float | None]],
    ticks: Sequence[str],
) -> None:
    axes.set_title(title, fontsize=10)
    axes.set_ylabel(unit)
    positions = list(range(1, len(columns) + 1))
    present = [[v for v in column if v is not None] for column in columns]
    boxed = [(p, values) for p, values in zip(positions, present, strict=True) if values]
    if boxed:
        axes.boxplot(
            [values for _, values in boxed],
            positions=[p for p, _ in boxed],
            widths=0.5,
            showfliers=False,
            medianprops={"color": "#b91c1c", "linewidth": 1.5},
            boxprops={"color": "#1e3a8a"},
            whiskerprops={"color": "#1e3a8a"},
            capprops={"color": "#1e3a8a"},
        )
        for position, values in boxed:
            _strip(axes, position, values)
    else:
        axes.text(
            0.5,
            0.5,
            "no run reached this",
            transform=axes.transAxes,
            ha="center",
            va="center",
            color="#6b7280",
        )
    axes.set_xticks(positions)
    labels = []
    for tick, column, values in zip(ticks, columns, present, strict=True):
        missing = len(column) - len(values)
        labels.append(
            f"{tick}\n(n={len(values)})"
            if not missing
            else f"{tick}\n(n={len(values)}, {missing} never)"
        )
    axes.set_xticklabels(labels, fontsize=8, rotation=_rotation(ticks))
    axes.set_xlim(0.4, len(columns) + 0.6)
    axes.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    axes.set_axisbelow(True)


def _counts_axis(axes: Any) -> None:
    """Whole numbers from zero up (a count axis)."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    top = axes.get_ylim()[1]
    axes.set_ylim(0, max(top, 1))


def _reached(rows: Sequence[Sequence[dict[str, Any]]]) -> bool:
    """Whether any run reached any failover milestone (a sweep with a fault)."""
    return any(run.get(key) is not None for s in rows for run in s for key, _ in MILESTONE_PANELS)


def sweep_figure(
    summaries: Sequence[dict[str, Any]],
    rows: Sequence[Sequence[dict[str, Any]]],
    *,
    scenario: str,
    source: str,
    seeds: str,
    sets: Sequence[str],
    cron_spread_ms: int,
    version: str,
) -> Figure:
    """Per setting, a box plot of each failover milestone (ms after the fault), of the
    lost writes, and the runs that passed; below them the bus traffic as curves against
    the swept value (:mod:`rcsim.bus_plot`). A sweep where no run reached a milestone
    (``bus-cost``: no fault) draws the bus curves and the runs that passed only. The
    caption names scenario, seeds, version."""
    from rcsim.bus_plot import bus_panels

    ticks = _ticks(summaries, sets)
    milestones = _reached(rows)
    width = max(10.0, 1.0 + 1.1 * len(summaries) * 3)
    figure = new_figure(min(width, 24.0), 10.5 if milestones else 4.6)
    grid = figure.add_gridspec(3 if milestones else 1, 6)
    if milestones:
        panels = [figure.add_subplot(grid[r, 2 * c : 2 * c + 2]) for r in (0, 1) for c in (0, 1, 2)]
        for axes, (key, title) in zip(panels, MILESTONE_PANELS, strict=False):
            columns = [[run.get(key) for run in setting] for setting in rows]
            _box_panel(axes, title, "ms after the fault (simulated)", columns, ticks)
        _lost_panel(panels[4], rows, ticks)
        passed = panels[5]
        bus = [figure.add_subplot(grid[2, 0:3]), figure.add_subplot(grid[2, 3:6])]
    else:
        panels = []
        bus = [figure.add_subplot(grid[0, 0:2]), figure.add_subplot(grid[0, 2:4])]
        passed = figure.add_subplot(grid[0, 4:6])
    _passed_panel(passed, summaries, ticks)
    for axes in [*panels, passed]:
        axes.set_xlabel(_axis_title(sets), fontsize=8)
    bus_panels(bus[0], bus[1], rows, sets)
    figure.suptitle(f"rcsim sweep: {scenario}", fontsize=13)
    total = sum(int(s["runs"]) for s in summaries)
    caption = (
        f"{source}, seeds {seeds} ({total} runs), cron phases spread over {cron_spread_ms} ms, "
        f"rcsim {version}. "
    )
    if milestones:
        caption += (
            "Milestones of the first failed master, in simulated ms after the fault. Boxes: "
            "quartiles and median (red); whiskers: 1.5 × IQR; dots: one run each; n: runs "
            "that reached the milestone. "
        )
    caption += (
        "Bus: sent over the whole run (metrics.bus); line: median of the seeds, dots: one run each."
    )
    figure.text(0.5, 0.0, caption, ha="center", va="bottom", fontsize=8, wrap=True)
    figure.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))  # type: ignore[call-arg,union-attr]
    return figure


def _lost_panel(axes: Any, rows: Sequence[Sequence[dict[str, Any]]], ticks: Sequence[str]) -> None:
    lost = [[run.get("lost_writes") for run in setting] for setting in rows]
    _box_panel(axes, "acknowledged writes lost", "writes per run", lost, ticks)
    _counts_axis(axes)
    if not any(value for column in lost for value in column):
        axes.text(
            0.5,
            0.6,
            "no acknowledged write lost",
            transform=axes.transAxes,
            ha="center",
            color="#6b7280",
        )


def _passed_panel(axes: Any, summaries: Sequence[dict[str, Any]], ticks: Sequence[str]) -> None:
    counts = [int(s["passed"]) for s in summaries]
    runs = [int(s["runs"]) for s in summaries]
    positions = list(range(1, len(summaries) + 1))
    axes.bar(positions, runs, width=0.5, color="#fecaca", label="runs")
    axes.bar(positions, counts, width=0.5, color="#16a34a", label="passed")
    axes.set_title("runs whose expectations all held", fontsize=10)
    axes.set_ylabel("runs")
    axes.set_xticks(positions)
    axes.set_xticklabels(ticks, fontsize=8, rotation=_rotation(ticks))
    axes.set_xlim(0.4, len(summaries) + 0.6)
    axes.legend(fontsize=8, loc="lower right")
    _counts_axis(axes)
