"""Idle bus traffic against real Redis 7.0.15 (tests/data/bus-traffic.json): an idle
15+15 and 50+50 cluster, NT 15 s, ``cluster_stats_messages_{ping,pong}_sent`` per second
for the whole cluster within 15 % (issue 12, docs/fidelity.md "Bus traffic").

The real rates are far below "every peer every NT/2 plus one random ping a second"
((N−1)/(NT/2) + 1: 4.9 and 14.2 PING/s per node): pong times learned from gossip spare
most direct pings (§7.3), which the model must reproduce, not just count.

Runtime (2 shared cores): the 30-node case ~0.5 s per seed, the 100-node case ~3.5 s
(45 s of simulated time: 1 NT warm-up, 2 NT counted).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.fidelity_bus import bus_rows, idle_rates, real_bus

DATA = Path(__file__).parent / "data"
TOLERANCE = 0.15


def _real(nodes: int) -> dict:
    raw = json.loads((DATA / "bus-traffic.json").read_text())
    (setting,) = [s for s in raw["settings"] if s["nodes"] == nodes]
    return setting


def test_packaged_bus_summary_matches_the_raw_measurements() -> None:
    packaged = {s["nodes"]: s for s in real_bus()["settings"]}
    for nodes in (30, 100):
        raw = _real(nodes)
        mine = packaged[nodes]
        assert mine["node_timeout_ms"] == raw["node_timeout_ms"] == 15000
        for metric in ("ping_sent", "pong_sent"):
            assert mine["cluster_per_s"][metric] == raw["cluster_per_s"][metric]
        assert mine["per_node_ping_sent"]["median"] == raw["per_node_median_per_s"]["ping_sent"]


@pytest.mark.parametrize(("masters", "seeds"), [(15, (0, 1, 2)), (50, (0,))])
def test_idle_ping_and_pong_rates_match_real_redis(masters: int, seeds: tuple[int, ...]) -> None:
    real = _real(2 * masters)
    nt = real["node_timeout_ms"]
    for seed in seeds:
        rates = idle_rates(masters, 1, nt, seed)
        for metric in ("ping_sent", "pong_sent"):
            want = real["cluster_per_s"][metric]
            assert abs(rates[metric] - want) <= TOLERANCE * want, (
                seed,
                metric,
                rates[metric],
                want,
            )
        # Every PING is answered by one PONG, and an idle cluster sends nothing else.
        assert rates["sent"] == pytest.approx(rates["ping_sent"] + rates["pong_sent"])
        # Far below the naive estimate of a ping to every peer every NT/2.
        naive = (2 * masters - 1) / (nt / 2000) + 1
        assert rates["node_ping_sent"] < 0.6 * naive


def test_bus_rows_put_rcsim_next_to_real_redis() -> None:
    rows = bus_rows([0], nodes=(30,))
    assert {r.experiment for r in rows} == {"15+15 idle, NT 15000"}
    assert [r.metric for r in rows] == [
        "cluster ping_sent /s",
        "cluster pong_sent /s",
        "per node ping_sent /s (median node)",
    ]
    assert all(r.within_bounds for r in rows), rows
