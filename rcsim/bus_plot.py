"""The bus traffic of a sweep as curves: bytes per second per node and messages per second
for the whole cluster against the swept value (``rcsim sweep bus-cost --set
cluster.masters=3,15,50 --plot bus.svg``; docs/fidelity.md "What the bus costs").

The x axis is the first ``--set`` path (numeric values at their value, others evenly
spaced); every combination of the other paths is one line (e.g. one per
``cluster-node-timeout``). A line joins the medians over the seeds; each run is a dot.
The y axis turns logarithmic when the values span more than :data:`LOG_SPAN` (the bus
grows about as N² × N/10, so 6 and 100 nodes differ thirtyfold).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from typing import Any

from simulator.harness.sweep import parse_set

LOG_SPAN = 30.0
PANELS = (
    ("bus_bytes_per_node_s", "bus bytes/s sent per node", "bytes per second (one node)"),
    ("bus_msgs_per_s", "bus messages/s, whole cluster", "messages per second (cluster)"),
)
COLOURS = ("#1e3a8a", "#b91c1c", "#047857", "#a16207", "#7c3aed", "#0e7490", "#be185d")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def bus_panels(
    bytes_axes: Any, msgs_axes: Any, rows: Sequence[Sequence[dict[str, Any]]], sets: Sequence[str]
) -> None:
    """Draw both bus panels from the sweep's per-run ``rows`` (grid order of ``sets``)."""
    axes_values = [parse_set(s) for s in sets]
    first_path, first_values = axes_values[0] if axes_values else ("setting", ["as written"])
    others = axes_values[1:]
    numbers = [_number(v) for v in first_values]
    numeric = all(n is not None for n in numbers)
    xs = [n if numeric and n is not None else float(i) for i, n in enumerate(numbers)]
    series = list(itertools.product(*[[(p, v) for v in values] for p, values in others]))
    for axes, (key, title, unit) in zip((bytes_axes, msgs_axes), PANELS, strict=True):
        everything: list[float] = []
        for index, combo in enumerate(series):
            colour = COLOURS[index % len(COLOURS)]
            label = " ".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in combo) or "median"
            medians: list[tuple[float, float]] = []
            for position, x in enumerate(xs):
                # Grid order: the first path varies slowest (itertools.product in sweep).
                runs = rows[position * len(series) + index]
                values = [float(r[key]) for r in runs if r.get(key) is not None]
                everything += values
                if values:
                    medians.append((x, statistics.median(values)))
                    axes.scatter([x] * len(values), values, s=10, color=colour, alpha=0.5)
            if medians:
                axes.plot(
                    [m[0] for m in medians],
                    [m[1] for m in medians],
                    marker="o",
                    color=colour,
                    linewidth=1.6,
                    label=label,
                )
        axes.set_title(title, fontsize=10)
        axes.set_ylabel(unit)
        axes.set_xlabel(f"{first_path} (swept)", fontsize=8)
        positive = [v for v in everything if v > 0]
        if positive and max(positive) / min(positive) > LOG_SPAN:
            axes.set_yscale("log")
        if not numeric:
            axes.set_xticks(xs)
            axes.set_xticklabels([str(v) for v in first_values], fontsize=8)
        else:
            axes.set_xticks(xs)
            axes.set_xticklabels([f"{x:g}" for x in xs], fontsize=8)
        axes.grid(color="#e5e7eb", linewidth=0.8)
        axes.set_axisbelow(True)
        axes.legend(fontsize=8, loc="best")
