"""rcsim against the numbers measured on real Redis 7.0.15 (tests/data, via simulator/data).

The experiments re-run the real harness's method (simulator/fidelity.py). Bounds, as
the cluster-bus issue sets them: each median within 15 % of the real median, or
inside the real min–max range where that range is wider.
"""

from __future__ import annotations

import json
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from simulator import fidelity, fidelity_manual, fidelity_partition

DATA = Path(__file__).parent / "data"
SEEDS = range(30)


Run = dict[str, object]
"""One ``fidelity.failover_timing`` result."""


def _runs_for_setting(key: str) -> list[Run]:
    setting = fidelity.real_data()["failover_timing"][key]
    return [
        fidelity.failover_timing(
            setting["masters"], setting["replicas"], setting["nt"], setting["signal"], seed
        )
        for seed in SEEDS
    ]


def _rows_for_setting(key: str, runs: list[Run]) -> list[fidelity.Row]:
    setting = fidelity.real_data()["failover_timing"][key]
    rows = []
    for metric in fidelity.FAILOVER_METRICS:
        real = setting["metrics"][metric]
        values = [fidelity._number(r[metric]) for r in runs]
        rows.append(
            fidelity.Row(
                key,
                metric,
                real["median"],
                real["min"],
                real["max"],
                fidelity.median(values),
                len(runs),
            )
        )
    return rows


@pytest.fixture(scope="module")
def failover_runs() -> dict[str, list[Run]]:
    """Every setting's 30 runs (seeds 0-29), made once: the table below and the rank-0
    test read them."""
    keys = list(fidelity.real_data()["failover_timing"])
    with ProcessPoolExecutor(max_workers=2) as pool:
        return dict(zip(keys, pool.map(_runs_for_setting, keys), strict=True))


@pytest.fixture(scope="module")
def failover_table(failover_runs: dict[str, list[Run]]) -> list[fidelity.Row]:
    return [row for key, runs in failover_runs.items() for row in _rows_for_setting(key, runs)]


def test_packaged_real_medians_match_the_raw_measurements() -> None:
    raw = json.loads((DATA / "failover-timing.json").read_text())
    packaged = fidelity.real_data()["failover_timing"]
    assert len(packaged) == len(raw["settings"]) == 9
    for setting in raw["settings"]:
        key = f"{setting['topology']} {setting['signal']} NT={setting['node_timeout_ms']}"
        for metric in fidelity.FAILOVER_METRICS:
            assert (
                packaged[key]["metrics"][metric]["median"]
                == setting["summary_ms"][metric]["median"]
            )


def test_b_fail_times_pool_the_early_and_late_runs_which_were_alike_until_the_resume() -> None:
    """partition-behaviour.json B: resumed 'early' (0.5 s after the first FAIL) or 'late'
    (3·NT + 3 s after the stop), on a fresh cluster each; so every run's first FAIL and the
    observer's cluster_state:fail came before its SIGCONT, measured by the same procedure,
    and the two settings are one sample of the fail times (only 1 run each at NT 5000:
    6600 and 7658 ms). The packaged pooled figures are those of the raw runs."""
    raw = json.loads((DATA / "partition-behaviour.json").read_text())
    pooled = fidelity.real_data()["partition"]["B_before_resume_pooled"]
    runs = raw["B_single_master_stopped_no_replica"]
    assert {r["resume"] for r in runs} == {"early", "late"}
    for nt_text, metrics in pooled.items():
        setting = [r for r in runs if r["node_timeout_ms"] == int(nt_text)]
        assert {r["resume"] for r in setting} == {"early", "late"}
        fail = [r["after_signal_ms"]["fail_first"] for r in setting]
        state = [r["after_signal_ms"]["state_fail"][str(r["observer_port"])] for r in setting]
        for run, f, s in zip(setting, fail, state, strict=True):
            assert f < run["resume_at_ms"] and s < run["resume_at_ms"]
        for metric, values in (("fail_first", fail), ("state_fail_observer", state)):
            assert metrics[metric]["n"] == len(values)
            assert metrics[metric]["min"] == min(values)
            assert metrics[metric]["max"] == max(values)
            assert metrics[metric]["median"] == round(statistics.median(values), 1)


def test_failover_timing_medians_over_30_seeds_are_within_bounds_for_every_setting(
    failover_table: list[fidelity.Row],
) -> None:
    assert len(failover_table) == 9 * 4
    misses = [
        f"{r.experiment} {r.metric}: real {r.real_median} rcsim {r.sim_median}"
        for r in failover_table
        if not r.within_bounds
    ]
    assert misses == []
    assert all(r.runs == 30 for r in failover_table)


def test_every_failover_run_promotes_a_rank_0_replica(
    failover_runs: dict[str, list[Run]],
) -> None:
    settings = fidelity.real_data()["failover_timing"]
    (key,) = [
        key
        for key, s in settings.items()
        if (s["masters"], s["replicas"], s["nt"], s["signal"]) == (3, 2, 2000, "SIGKILL")
    ]
    for seed in range(10):  # fidelity.failover_timing(3, 2, 2000, "SIGKILL", seed)
        run = failover_runs[key][SEEDS.index(seed)]
        assert run["winner"] is not None and run["winner_rank"] == 0
        delay = run["election_delay"]
        assert isinstance(delay, int) and 500 <= delay < 1000


def test_the_replica_with_the_highest_offset_wins_whenever_offsets_differ() -> None:
    # Real Redis: the non-lagging replica won 6 of 6 times (offset_lag_experiment).
    results = [fidelity.offset_lag(seed) for seed in range(12)]
    for result in results:
        assert result["winner"] is not None and result["winner"] != result["lagging"]
        assert result["ranks"][result["winner"]] == 0
        assert result["ranks"].get(result["lagging"], 1) == 1


def test_two_of_three_masters_hung_survivor_goes_down_and_waits_the_rejoin_delay() -> None:
    # 30 seeds, as docs/fidelity.md: at NT 5 s the survivor's fail time spreads over
    # 5.2-7.7 s (when its pings to the two hung masters happened to go out), too wide
    # for a 6-seed median to sit reliably within 15 %.
    rows = fidelity.majority_stopped_rows(SEEDS)
    assert len(rows) == 6 and all(r.within_bounds for r in rows), fidelity.format_table(rows)
    assert all(fidelity.majority_stopped(1000, s)["promotions"] == 0 for s in range(3))


def test_master_without_replica_fail_and_recovery_times() -> None:
    # B at NT 1000: the four real runs all flagged PFAIL at 1098-1100 ms, one phase of the
    # 5-tick ping cycle the harness happened to hit; rcsim's signal lands anywhere in it,
    # so its absolute FAIL time is not asserted there: the PFAIL -> FAIL interval is, in
    # the test below (docs/fidelity.md, "cron lateness"). B's fail times are checked
    # against the early and late real runs pooled (the test above says why).
    # The late resumes' rows are in (the harness's poll grid is reproduced, module
    # docstring of simulator/fidelity_partition.py). C's rows are draws of a 0-100 ms
    # cron phase (two real runs): tests/test_partition_resume.py checks them on 30 seeds.
    # So B's and D's rows of partition_rows (A's are the test above's, on 30 seeds).
    rows = fidelity_partition.hung_master_rows(range(12))
    rows += fidelity_partition.full_coverage_rows(range(12))
    checked = [
        r
        for r in rows
        if r.experiment.startswith(("B ", "D "))
        and not (
            r.experiment.startswith("B ")
            and "NT=1000" in r.experiment
            and r.metric in ("fail_first", "state_fail_observer")
        )
    ]
    early = [
        r for r in rows if "resume early" in r.experiment and r.metric.startswith("after_resume")
    ]
    assert early and all(r.within_bounds for r in early), fidelity.format_table(early)
    misses = [r for r in checked if not r.within_bounds]
    assert misses == [], fidelity.format_table(misses)


def test_a_hung_master_without_replica_is_failed_one_ping_cycle_after_its_pfail() -> None:
    """§6.1: on Redis the observers' pings to each other go out on the tick PFAIL is
    flagged (before the gossip counts it), so the reports travel one NT/2 ping cycle
    later: real FAIL - PFAIL is 500 ms at NT 1000 and 1010 ms at NT 2000 (both runs)."""
    real = fidelity.real_data()["partition"]["B_single_master_stopped_no_replica"]
    for nt in (1000, 2000):
        runs = [fidelity_partition.single_master_stopped(nt, seed, "late") for seed in range(12)]
        gaps = [r["fail_first"] - r["pfail_first"] for r in runs]  # type: ignore[operator]
        setting = real[f"{nt}-late"]
        want = setting["fail_first"]["median"] - setting["pfail_first"]["median"]
        got = fidelity.median(gaps)
        # 25 %: the interval is a whole number of ticks (4 or 5 at NT 1000), 12 seeds.
        assert got is not None and abs(got - want) <= 0.25 * want, (nt, got, want, gaps)


def test_full_coverage_no_never_takes_the_cluster_down() -> None:
    for seed in range(4):
        run = fidelity_partition.single_master_stopped(2000, seed, "late", full_coverage=False)
        assert run["fail_first"] is not None
        assert run["state_fail_observer"] is None


def test_restarted_master_reports_ok_after_about_2s_and_the_others_at_once() -> None:
    for seed in range(4):
        run = fidelity_partition.killed_and_restarted(seed)
        restarted, others = run["after_restart_restarted_ok"], run["after_restart_others_ok"]
        assert restarted is not None and 2000 <= restarted <= 2150  # real: 2037–2044
        assert others is not None and others <= 120  # real: 35–73


def test_manual_failover_force_and_takeover_promotion_times_match_real_redis() -> None:
    """FORCE waits for the next cron tick, TAKEOVER needs no vote; others learn by heartbeat.

    FORCE's times start with a wait for the replica's next clusterCron, 0-100 ms whatever
    NT is (real: 7-98 ms over 12 runs), so they are checked on FORCE's runs of every
    setting pooled, by rank against the 12 (10 healthy) real runs, and the parts after the
    election's start run by run within the usual bounds; the per-setting FORCE rows (5 and
    2 real runs) are reference rows (docs/fidelity.md, "Manual FORCE: one wait, pooled").
    With DEFAULT the old master and the others learn the new master ~40 ms after it
    promoted itself: its PONG waits on Nagle for the AUTH_REQUEST's delayed ACK (§4.5).
    Other millisecond-level times are reported in docs/fidelity.md, not asserted.
    """
    rows = fidelity_manual.manual_failover_rows(range(8), force_seeds=range(30))
    pooled = [r for r in rows if r.experiment.startswith("manual FORCE NT 2000+15000")]
    checked = pooled + [
        r
        for r in rows
        if (r.metric == "replica_self_master" and "TAKEOVER" in r.experiment)
        or (
            r.metric == "all_see_old_master_as_replica"
            and "NT=15000" in r.experiment
            and "TAKEOVER" not in r.experiment
        )
        or (
            r.metric in ("old_master_self_replica", "all_see_new_master")
            and "DEFAULT" in r.experiment
        )
    ]
    # TAKEOVER's "all see the old master as a replica" at NT 15 s was out of bounds over 30
    # seeds (4474 ms against 3678 [2679-3699]) and is in with §4.5 (3642), but its median
    # moves in whole ~1 s random-ping rounds: an 8-seed median passes or fails by the
    # seeds' luck. docs/fidelity.md lists it under what rcsim does not reproduce.
    assert len(pooled) == 7 and len(checked) == 16
    # Four pooled rows are judged by rank (they include the wait), three by the usual bounds.
    assert sum(r.rank_p is not None for r in pooled) == 4
    assert {r.runs for r in pooled} == {60, 90}  # healthy NT 2000+15000, and + hung
    misses = [r for r in checked if not r.within_bounds]
    assert misses == [], fidelity.format_table(misses)
    # The per-setting FORCE rows of the wait-driven times are shown, not counted.
    references = [r for r in rows if r.reference]
    assert len(references) == 7
    assert all("FORCE" in r.experiment for r in references)


def test_manual_failover_default_never_promotes_with_a_hung_master_but_force_does() -> None:
    for seed in range(3):
        default = fidelity_manual.manual_failover("default", 15000, seed, hung=True)
        assert default["replica_self_master"] is None
        assert default["mf_timeout"] is not None and 5000 <= default["mf_timeout"] <= 5200
        force = fidelity_manual.manual_failover("force", 15000, seed, hung=True)
        # FORCE starts at the replica's next cron tick (<= ~101 ms after the command, which
        # arrives 1 ms after the signal); the poll that sees it comes up to 20 ms later.
        assert force["replica_self_master"] is not None and force["replica_self_master"] <= 122
        takeover = fidelity_manual.manual_failover("takeover", 15000, seed, hung=True)
        assert takeover["replica_self_master"] is not None and takeover["replica_self_master"] <= 21
