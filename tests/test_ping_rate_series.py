"""benchmarks/ping_rate_series.py: the cluster's PINGs per simulated second (issue 12)."""

from __future__ import annotations

from benchmarks.ping_rate_series import ping_series, summary


def test_series_counts_every_ping_of_every_second_deterministically() -> None:
    first = ping_series(3, 6, nt=2000, seed=4)
    assert len(first) == 6
    assert all(count > 0 for count in first)  # every node pings at least once a second
    assert ping_series(3, 6, nt=2000, seed=4) == first


def test_summary_gives_the_peak_over_the_median() -> None:
    result = summary([10, 20, 30, 90])
    assert result["median"] == 25
    assert result["peak"] == 90
    assert result["peak_over_median"] == 3.6
