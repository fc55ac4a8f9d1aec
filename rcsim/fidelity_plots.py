"""Pictures of the caching experiments against real Redis (``rcsim fidelity --part expiry
--plot FILE`` and ``--part eviction --plot FILE``; docs/fidelity.md, issue 13's data).

- **expiry**: keys whose TTL passed but still in memory, every 100 ms after the writes;
  each real run (Redis 7.0.15, ``eviction-expiry.json`` part E) and each rcsim seed a thin
  line, rcsim's median over the seeds a thick one, and the table's bounds (peak within
  25 %, zero within 1 s) as marks.
- **eviction**: for every test-lru.rb setting (``allkeys-lru`` samples 3, 5, 10,
  ``allkeys-random``, ``volatile-ttl``) the share of the first key set that survived, by
  tenth of that set (oldest read first), the real runs against rcsim's mean with the
  table's bound as a band; then the script's error %, the evicted keys, and the LFU test's
  hot and cold survival, real against rcsim.

Same file conventions as :mod:`rcsim.plots` (reproducible SVG, text kept as text).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rcsim.plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from simulator.fidelity import Row
    from simulator.fidelity_evict import Row as EvictRow

REAL = "#1e3a8a"  # real Redis
SIM = "#c2410c"  # rcsim
BAND = "#fed7aa"
Curve = Sequence[tuple[int, int]]


# --------------------------------------------------------------------------- expiry


def expiry_figure(
    curves: Sequence[Curve], real: dict[str, Any], rows: Sequence[Row], *, version: str
) -> Figure:
    """rcsim's curves (one per seed) against the real runs' (``real_expiry()``)."""
    figure = new_figure(10.0, 5.6)
    axes = figure.subplots()
    for index, run in enumerate(real["runs"]):
        points = run["curve"]
        axes.plot(
            [t / 1000 for t, _ in points],
            [v for _, v in points],
            color=REAL,
            linewidth=1.0,
            alpha=0.7,
            label=f"real Redis 7.0.15 ({len(real['runs'])} runs)" if index == 0 else None,
        )
    for index, curve in enumerate(curves):
        axes.plot(
            [t / 1000 for t, _ in curve],
            [v for _, v in curve],
            color=SIM,
            linewidth=0.6,
            alpha=0.35,
            label="rcsim, one seed each" if index == 0 else None,
        )
    if curves:
        times = [t for t, _ in curves[0]]
        middle = [statistics.median(c[i][1] for c in curves) for i in range(len(times))]
        axes.plot(
            [t / 1000 for t in times],
            middle,
            color=SIM,
            linewidth=2.2,
            label=f"rcsim, median of {len(curves)} seed{'s' if len(curves) > 1 else ''}",
        )
    summary = real["summary"]
    peak = summary["peak_keys"]["median"]
    axes.axhspan(0.75 * peak, 1.25 * peak, color=BAND, alpha=0.35, label="real peak ± 25 %")
    zero = summary["zero_at_ms"]["median"] / 1000
    axes.axvspan(zero - 1, zero + 1, color="#bfdbfe", alpha=0.4, label="real zero ± 1 s")
    axes.set_xlabel("seconds after the writes")
    axes.set_ylabel("keys expired but still in memory")
    axes.set_ylim(bottom=0)
    axes.grid(color="#e5e7eb", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.legend(fontsize=8, loc="upper right")
    axes.set_title(
        "Active expiry: logically expired keys still in memory, rcsim against real Redis",
        fontsize=12,
    )
    verdicts = "; ".join(
        f"{row.metric} real {row.real_median:.0f}, rcsim "
        + ("-" if row.sim_median is None else f"{row.sim_median:.0f}")
        + f" ({'ok' if row.within_bounds else 'OUT OF BOUNDS'})"
        for row in rows
    )
    caption = (
        f"{real['n_ttl']:,} keys with PX uniform in {real['ttl_ms_uniform'][0]}–"
        f"{real['ttl_ms_uniform'][1]} ms and {real['n_plain']:,} without, hz {real['hz']}, "
        f"active-expire-effort {real['active_expire_effort']}; real time from the write "
        f"pipeline's midpoint, rcsim writes all at 0; rcsim {version}.\n{verdicts}."
    )
    figure.text(0.5, 0.0, caption, ha="center", va="bottom", fontsize=8, wrap=True)
    figure.get_layout_engine().set(rect=(0, 0.08, 1, 1))  # type: ignore[call-arg,union-attr]
    return figure


# --------------------------------------------------------------------------- eviction


def _find(rows: Sequence[EvictRow], experiment: str, metric: str) -> EvictRow | None:
    return next((r for r in rows if r.experiment == experiment and r.metric == metric), None)


def _bound(row: EvictRow) -> float:
    return max(row.relative * abs(row.real), row.absolute)


def _survival_panel(
    axes: Any, name: str, runs: Sequence[dict[str, Any]], rows: Sequence[EvictRow]
) -> None:
    tenths = list(range(1, 11))
    found = [_find(rows, name, f"survival, tenth {t}") for t in tenths]
    scored = [r for r in found if r is not None]
    if len(scored) == len(tenths):
        axes.fill_between(
            tenths,
            [r.real - _bound(r) for r in scored],
            [r.real + _bound(r) for r in scored],
            color=BAND,
            alpha=0.5,
            label="bound (real mean ± 0.1)",
        )
    for index, run in enumerate(runs):
        axes.plot(
            tenths,
            run["survival_by_tenth"],
            color=REAL,
            linewidth=1.0,
            alpha=0.7,
            marker=".",
            label=f"real Redis ({len(runs)} runs)" if index == 0 else None,
        )
    sims = [r.sim for r in scored if r.sim is not None]
    if len(sims) == len(tenths):
        axes.plot(tenths, sims, color=SIM, linewidth=2.0, marker="o", label="rcsim mean")
    error = _find(rows, name, "error %")
    shown = (
        ""
        if error is None or error.sim is None
        else f" (error {error.real:.1f} / {error.sim:.1f} %)"
    )
    axes.set_title(name + shown, fontsize=9)
    axes.set_xticks(tenths)
    axes.set_ylim(-0.05, 1.08)
    axes.set_xlabel("tenth of the first key set (1 = read first)", fontsize=8)
    axes.set_ylabel("share surviving")
    axes.grid(color="#e5e7eb", linewidth=0.8)
    axes.set_axisbelow(True)


def _pairs_panel(
    axes: Any, title: str, unit: str, pairs: Sequence[tuple[str, EvictRow | None]]
) -> None:
    """Bars: real mean (with its min–max) beside rcsim's mean, per label."""
    present = [(label, row) for label, row in pairs if row is not None]
    positions = list(range(len(present)))
    axes.bar(
        [p - 0.2 for p in positions],
        [row.real for _, row in present],
        width=0.4,
        color=REAL,
        yerr=[
            [row.real - row.real_min for _, row in present],
            [row.real_max - row.real for _, row in present],
        ],
        capsize=2,
        label="real Redis (mean, min–max)",
    )
    axes.bar(
        [p + 0.2 for p in positions],
        [row.sim if row.sim is not None else 0.0 for _, row in present],
        width=0.4,
        color=SIM,
        label="rcsim mean",
    )
    axes.set_xticks(positions)
    axes.set_xticklabels([label for label, _ in present], fontsize=7, rotation=25, ha="right")
    axes.set_title(title, fontsize=9)
    axes.set_ylabel(unit)
    axes.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    axes.set_axisbelow(True)


def eviction_figure(
    rows: Sequence[EvictRow], real: dict[str, Any], *, seeds: int, version: str
) -> Figure:
    """The survival curves, error %, evicted keys and LFU survival, real against rcsim."""
    settings: dict[str, list[dict[str, Any]]] = {}
    for run in [*real["lru"], *real["volatile_ttl"]]:
        settings.setdefault(f"{run['policy']} samples {run['samples']}", []).append(run)
    figure = new_figure(17.0, 8.5)
    grid = figure.subplots(2, 4)
    panels = [axes for row in grid for axes in row]
    names = list(settings)
    for axes, name in zip(panels, names, strict=False):
        _survival_panel(axes, name, settings[name], rows)
    panels[0].legend(fontsize=7, loc="lower right")
    short = [n.replace(" samples ", " ") for n in names]
    rest = panels[len(names) :]
    _pairs_panel(
        rest[0],
        "test-lru.rb error % (lower is closer to true LRU)",
        "error %",
        [(s, _find(rows, n, "error %")) for s, n in zip(short, names, strict=True)],
    )
    rest[0].legend(fontsize=7)
    _pairs_panel(
        rest[1],
        "keys evicted in the whole test",
        "keys",
        [(s, _find(rows, n, "evicted_keys")) for s, n in zip(short, names, strict=True)],
    )
    if len(rest) > 2:
        lfu = "allkeys-lfu samples 5"
        _pairs_panel(
            rest[2],
            "allkeys-lfu: share surviving",
            "share",
            [
                ("hot (every 10th, read 16×)", _find(rows, lfu, "hot_survival")),
                ("cold (read once)", _find(rows, lfu, "cold_survival")),
            ],
        )
        rest[2].set_ylim(0, 1.05)
    figure.suptitle(
        f"maxmemory eviction ({real['maxmemory']:,} bytes): rcsim (mean of {seeds} seeds) "
        "against real Redis 7.0.15",
        fontsize=12,
    )
    out = sum(1 for row in rows if not row.within_bounds)
    caption = (
        "Redis's utils/lru/test-lru.rb: fill until the first eviction, read the first set in "
        "id order, add keys; which of the first set survived. Band: the table's bound "
        f"(docs/fidelity.md); rcsim {version}.\n{len(rows) - out} of {len(rows)} rows "
        "within bounds."
    )
    figure.text(0.5, 0.0, caption, ha="center", va="bottom", fontsize=8, wrap=True)
    figure.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))  # type: ignore[call-arg,union-attr]
    return figure


# --------------------------------------------------------------------------- the command


PLOTTED = ("expiry", "eviction")


def check_plot(path: str, part: str) -> None:
    """``--plot`` before any run: a picture format, a part that has a picture, matplotlib."""
    from rcsim.commands import CommandError
    from rcsim.plots import plot_format, require_matplotlib

    plot_format(path, "--plot")
    if part not in PLOTTED:
        raise CommandError(
            f"--plot {path}: only --part expiry and --part eviction have a picture, "
            f"not --part {part}"
        )
    require_matplotlib("--plot")


def expiry_rows_drawn(path: str, seeds: Sequence[int]) -> list[Row]:
    """Run part E once per seed, draw the curves to ``path`` and return the table's rows."""
    from rcsim import __version__
    from rcsim.plots import plot_format, save
    from simulator.fidelity_expiry import expiry_curve, expiry_rows, real_expiry

    curves = [expiry_curve(seed) for seed in seeds]
    rows = expiry_rows(seeds, curves)
    figure = expiry_figure(curves, real_expiry(), rows, version=__version__)
    save(figure, path, plot_format(path, "--plot"))
    return rows


def draw_eviction(path: str, rows: Sequence[EvictRow], seeds: int) -> None:
    from rcsim import __version__
    from rcsim.plots import plot_format, save
    from simulator.fidelity_evict import real_eviction

    figure = eviction_figure(rows, real_eviction(), seeds=seeds, version=__version__)
    save(figure, path, plot_format(path, "--plot"))
