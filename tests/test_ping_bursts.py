"""The PING bursts after the converged (create-like) start come from Redis's gossip rules.

§6 step 3c pings a peer whose pong is older than NT/2; §6.3/§7.3 adopt a gossiped pong
time, a whole unix second, when newer. So the observers whose last word about a peer
came from gossip hold the same second and ping it in the same tick NT/2 later, while a
newer pong time (a random ping's) spreads too slowly to spare them
(docs/benchmarks.md, Round 9; ``benchmarks/ping_bursts.py``).
"""

from __future__ import annotations

from benchmarks.ping_bursts import classify


def test_a_burst_is_nt2_pings_of_gossiped_whole_seconds_by_cohorts() -> None:
    rows = classify(50, 14)  # 50+50, NT 15 s: bursts ~NT/2 after the start and again
    burst = max(range(2, 14), key=lambda s: rows[s].pings)
    quiet = min(range(2, 14), key=lambda s: rows[s].pings)
    row = rows[burst]
    assert row.pings >= 2 * rows[quiet].pings
    # Most of the burst: NT/2 pings whose pong time came from gossip (a whole second).
    assert row.nt2_gossip >= 0.8 * row.pings
    assert row.nt2_own <= 0.1 * row.pings
    # Cohorts: many observers ping the same peer holding the same second.
    assert max(row.cohorts.values()) >= 20
    # And for each, some node held a newer pong time (>= 3 s old) that gossip had not
    # brought: the fresh time existed, it did not spread within NT/2.
    assert row.newer_by and min(row.newer_by) > 0
