"""Checking the ``cache`` condition: one figure of a cache-aside client or of the backing
database against its bounds (docs/caching.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.scenario import model

if TYPE_CHECKING:
    from simulator.simulation import Simulation


def cache_figure(sim: Simulation, client: str | None, metric: str) -> Any:
    """The figure now (None when there is no such client or no cache-aside client)."""
    plane = sim.extras.get("cache")
    if plane is None:
        return None
    return figure_of(plane.metrics(), client, metric)


def figure_of(figures: dict[str, Any], client: str | None, metric: str) -> Any:
    """One figure of a ``metrics.cache`` dict: a client's, the stale-read ledger's, or the
    database's (rcsim verify reads its real run's figures with it too)."""
    if client is not None:
        return figures["clients"].get(client, {}).get(metric)
    if metric in ("stale_reads", "stale_open"):
        return figures[metric]
    if metric == "stale_keys":
        return len(figures["stale_keys"])
    return figures["database"].get(metric)


def check_cache(sim: Simulation, c: model.CacheMetric) -> tuple[bool, str, str]:
    """(passed, expected, observed) for a ``cache`` condition."""
    if c.client:
        who = f"{c.client}'s"
    elif c.metric.startswith("stale"):
        who = "the stale-read ledger's"
    else:
        who = "the database's"
    low = c.minimum if c.minimum is not None else 0
    bound = f"at least {low:g}" if c.maximum is None else f"between {low:g} and {c.maximum:g}"
    expected = f"{who} {c.metric} {bound}"
    value = cache_figure(sim, c.client, c.metric)
    if value is None:
        return False, expected, "no such figure (no cache-aside client, or none answered yet)"
    passed = value >= low and (c.maximum is None or value <= c.maximum)
    return passed, expected, f"{value:g}"
