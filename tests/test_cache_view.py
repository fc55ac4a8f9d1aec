"""The clients lane shows each cache-aside client's hit ratio and stale reads, read
through simulator/views (docs/caching.md)."""

from __future__ import annotations

from simulator.harness.runner import NO_CHECKPOINTS, build
from simulator.scenario import load_scenario
from simulator.views import CacheClientRow
from tui import render


def test_the_clients_lane_shows_hit_ratio_and_stale_reads_of_cache_clients() -> None:
    sim = build(load_scenario("invalidation-lost"), checkpoint_ms=NO_CHECKPOINTS)
    sim.run_until(8000)
    view = sim.views.clients(["ok"], {})
    web, admin = view.cache
    assert isinstance(web, CacheClientRow) and (web.name, admin.name) == ("web", "admin")
    plane = sim.extras["cache"]
    assert web.stale_reads == len(plane.ledger.reads(client="web")) > 0
    summary = plane.clients["web"].summary()
    assert web.hit_ratio is not None and round(web.hit_ratio, 4) == summary["hit_ratio"]
    assert web.db_reads == summary["db_reads"]
    assert admin.hit_ratio is None  # admin only writes
    text = render.clients(view, {}).plain
    assert f"web        hit {web.hit_ratio:.1%} · stale {web.stale_reads}" in text


def test_a_run_without_cache_clients_has_no_cache_rows() -> None:
    sim = build(load_scenario("master-crash"), checkpoint_ms=NO_CHECKPOINTS)
    sim.run_until(1000)
    assert sim.views.clients(["ok"], {}).cache == ()
