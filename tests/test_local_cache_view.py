"""The clients lane shows each client's local cache (client-side caching, §27): local
hit ratio, stale local reads and invalidations, read through simulator/views."""

from __future__ import annotations

from simulator.harness.runner import NO_CHECKPOINTS, build
from simulator.scenario import load_scenario
from simulator.views import LocalCacheRow
from tui import render


def test_the_clients_lane_shows_stale_local_reads_after_the_failover() -> None:
    sim = build(load_scenario("client-side-caching"), checkpoint_ms=NO_CHECKPOINTS)
    sim.run_until(7500)  # n1 killed at 3 s, n4 promoted, the writer has updated its keys
    view = sim.views.clients(["ok"], {})
    rows = {row.client: row for row in view.local_caches}
    assert sorted(rows) == ["careful", "careless"]
    assert view.local_caches == sim.views.local_caches()
    careful, careless = rows["careful"], rows["careless"]
    assert isinstance(careless, LocalCacheRow)
    assert careless.stale > 0 and careful.stale == 0
    assert careful.flushes >= 1 and careless.flushes == 0
    text = render.clients(view, {}).plain
    for row in (careful, careless):
        reads = row.hits + row.misses
        assert (
            f"{row.client:<11}local {row.hit_ratio:.1%} of {reads} · stale {row.stale}"
            f" · {row.invalidations} invalidated, {row.flushes} flushes"
        ) in text
    assert "careful    " in text and f"stale {careless.stale} ·" in text


def test_a_run_without_local_caches_has_no_local_cache_rows() -> None:
    sim = build(load_scenario("master-crash"), checkpoint_ms=NO_CHECKPOINTS)
    sim.run_until(1000)
    view = sim.views.clients(["ok"], {})
    assert view.local_caches == ()
    assert "local " not in render.clients(view, {}).plain
