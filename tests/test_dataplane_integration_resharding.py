"""Live resharding under load (§16), compared with tests/data/resharding.json: the
redirections a one-thread client sees, the final slot counts, open slots after a crash
mid-move and ``fix``, rebalance, and TRYAGAIN/CROSSSLOT for multi-key commands."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path

import pytest

from simulator import fidelity
from simulator.cluster import NodeSpec
from simulator.dataplane import install
from simulator.dataplane.actions import add_client
from simulator.dataplane.model import ClusterData
from simulator.dataplane.redis_cli import apply_moves, rebalance_plan
from simulator.dataplane.resharding import Job, load_cluster
from simulator.fidelity_reshard import (
    MOVED_SLOTS,
    ReshardRun,
    max_per_cell_interval,
    poisson_interval,
    slot_tags,
)
from simulator.fidelity_reshard import run_job as finish_job
from simulator.fidelity_reshard_client import moved_lag_ms
from simulator.simulation import ActionError, Simulation

DATA = json.loads((Path(__file__).parent / "data" / "resharding.json").read_text())
RUNS = {run["cluster_pipeline"]: run for run in DATA["reshard_runs"]}


TAGS = slot_tags()


def tag_for(slot: int) -> str:
    return TAGS[slot]


def run_job(sim: Simulation, job: Job) -> None:
    assert finish_job(sim, job)


@pytest.fixture(scope="module")
def reshard_10() -> ReshardRun:
    return ReshardRun(10)


@pytest.fixture(scope="module")
def reshard_1() -> ReshardRun:
    return ReshardRun(1)


def test_reshard_moves_the_sources_lowest_slots_and_ends_with_the_measured_layout(
    reshard_10: ReshardRun,
) -> None:
    sim, dp, job = reshard_10.sim, reshard_10.dp, reshard_10.job
    real = RUNS["default (10)"]
    assert job.error is None and job.moved == real["moved_slot_count"] == 100
    assert job.keys_moved == real["keys_in_moved_slots"]
    counts = [len(sim.cluster.node(n).my_slots()) for n in ("n1", "n2", "n3")]
    assert counts == [t["slot_count"] for t in real["final_topology"]]
    assert sim.cluster.agree()
    assert [s for s in range(100) if sim.cluster.truth_owner(s) != "n2"] == []
    n1, n2 = dp.data(sim.cluster.node("n1")), dp.data(sim.cluster.node("n2"))
    assert sum(len(n2.keys_in_slot(s)) for s in range(100)) == 30000
    assert sum(len(n1.keys_in_slot(s)) for s in range(100)) == 0
    assert dp.lost_writes() == []


def test_the_client_sees_one_moved_per_slot_and_about_as_many_asks_as_real(
    reshard_10: ReshardRun,
) -> None:
    """Real run: 100 MOVED (one per moved slot), 11 ASK in 11 slots, no other errors.

    One real run of 11 events: Poisson noise alone gives 5.5–22 as its 95 % range, so
    the median of three seeds must land there, and no slot may see more than 2."""
    dp = reshard_10.dp
    real = RUNS["default (10)"]
    outcomes = dp.requests_by_outcome()
    assert outcomes["moved"] == real["client_counts"]["MOVED"] == 100
    assert outcomes["error"] == outcomes["timeout"] == outcomes["tryagain"] == 0
    moved_slots = sorted(e["slot"] for e in reshard_10.redirects() if e["outcome"] == "moved")
    assert moved_slots == list(range(100))
    asks = sorted([outcomes["ask"]] + [ReshardRun(10, seed).dp.outcomes["ask"] for seed in (2, 3)])
    real_asks = real["client_counts"]["ASK"]
    assert real_asks / 2 <= asks[1] <= real_asks * 2, asks
    per_slot = reshard_10.asks_per_slot()
    assert max(per_slot.values()) <= 2 * real["redirects_per_slot_summary"]["max_ASK_per_slot"]


def test_the_packaged_reshard_figures_match_the_raw_measurements() -> None:
    """``rcsim fidelity --part reshard`` compares with a packaged copy; it must agree."""
    packaged = fidelity.real_data()["resharding"]
    for key, raw in (("pipeline10", RUNS["default (10)"]), ("pipeline1", RUNS[1])):
        summary = raw["redirects_per_slot_summary"]
        assert packaged[key]["ASK"] == raw["client_counts"]["ASK"]
        assert packaged[key]["MOVED"] == raw["client_counts"]["MOVED"]
        assert packaged[key]["slots_with_ASK"] == summary["slots_with_ASK"]
        assert packaged[key]["max_ASK_per_slot"] == summary["max_ASK_per_slot"]
        assert packaged[key]["reshard_wall_ms"] == raw["reshard_wall_ms"]
        rate = raw["client_ops_before_reshard"] / raw["reshard_started_at_client_ms"] * 1000
        assert packaged[key]["client_ops_per_s_before"] == pytest.approx(rate, abs=0.1)
        after = raw["client_ops_total"] - raw["client_ops_before_reshard"]
        assert packaged[key]["client_ops_after_start"] == after


def test_the_reshard_takes_the_measured_time(reshard_10: ReshardRun, reshard_1: ReshardRun) -> None:
    """The cost model's two numbers come from these two durations (model.COMMAND_RTT_MS);
    this checks the derivation holds in the running job: 508 ms and 2120 ms real."""
    for run, real in ((reshard_10, RUNS["default (10)"]), (reshard_1, RUNS[1])):
        assert run.job.error is None and run.job.moved == 100
        assert run.duration_ms == pytest.approx(real["reshard_wall_ms"], rel=0.05)


def test_redirections_follow_ask_then_moved_then_the_new_owner(
    reshard_10: ReshardRun,
) -> None:
    """Per slot: the source serves, may answer ASK (the key already left), answers MOVED
    once the move is done, and the client then goes straight to the target."""
    sim = reshard_10.sim
    target_addr = sim.cluster.node("n2").addr
    per_slot: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for e in sim.trace.of_kind("request"):
        if e["slot"] < 100:
            per_slot[e["slot"]].append((e["node"], e["outcome"]))
    for slot, seq in per_slot.items():
        moved_at = [i for i, (_, outcome) in enumerate(seq) if outcome == "moved"]
        assert len(moved_at) == 1, slot
        before, after = seq[: moved_at[0]], seq[moved_at[0] + 1 :]
        assert all(node == "n1" or outcome == "ok" for node, outcome in before)
        assert all((node, outcome) == ("n2", "ok") for node, outcome in after)
    for e in reshard_10.redirects():
        kind = "MOVED" if e["outcome"] == "moved" else "ASK"
        assert e["reply"] == f"{kind} {e['slot']} {target_addr}"
    asked = [e for e in sim.trace.of_kind("request") if e.get("asking")]
    assert asked and all(e["node"] == "n2" and e["outcome"] == "ok" for e in asked)


def test_pipeline_1_means_many_more_asks_as_measured(
    reshard_10: ReshardRun, reshard_1: ReshardRun
) -> None:
    """Real, --cluster-pipeline 1: 100 MOVED, 94 ASK in 58 slots, at most 4 in one slot.

    The real client, a Python thread on the same two cores as redis-cli and both nodes,
    slowed during the move; the experiment's client does too, by a harness calibration
    fitted on pipeline 10's MOVED lag with the client's measured jitter
    (simulator/fidelity_reshard_client.py), which leaves rcsim ~30 % low here (median of
    10 seeds 66, seed 1 61; the real op counts say the real client lost less of its rate
    in this run than in pipeline 10's: docs/fidelity.md). The bounds allow that, and no
    more; the ASK rate per slot must still be over 4 times pipeline 10's (real: 8.5)."""
    run = reshard_1
    real = RUNS[1]
    outcomes = run.dp.requests_by_outcome()
    assert outcomes["moved"] == real["client_counts"]["MOVED"] == 100
    assert outcomes["error"] == outcomes["timeout"] == outcomes["tryagain"] == 0
    per_slot = run.asks_per_slot()
    summary = real["redirects_per_slot_summary"]
    real_asks = real["client_counts"]["ASK"]
    assert 0.6 * real_asks <= outcomes["ask"] <= 1.5 * real_asks
    assert 0.75 * summary["slots_with_ASK"] <= len(per_slot) <= 1.5 * summary["slots_with_ASK"]
    assert 2 <= max(per_slot.values()) <= 6  # real: 4
    real_10 = RUNS["default (10)"]["client_counts"]["ASK"]
    assert real_asks > 4 * real_10
    assert outcomes["ask"] > 4 * reshard_10.dp.outcomes["ask"]


def _poisson_draw(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of one slot's ASKs."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def test_the_most_asks_in_one_slot_is_the_largest_of_100_poisson_counts() -> None:
    """The real pipeline-10 run's 11 ASKs fell in 11 slots, but 11 ASKs spread over 100
    equally open slots share a slot with probability 1 - Π(1 - i/100) = 0.43: the most in
    one slot is the largest of 100 chance counts, so its bound is that maximum's 95 %
    range over the plausible totals (the total's own Poisson interval), checked here by
    drawing such runs."""
    ten, one = RUNS["default (10)"], RUNS[1]
    assert max_per_cell_interval(ten["client_counts"]["ASK"], MOVED_SLOTS) == (1, 3)
    assert max_per_cell_interval(one["client_counts"]["ASK"], MOVED_SLOTS) == (3, 6)
    distinct = math.prod(1 - i / 100 for i in range(11))
    assert 0.55 < distinct < 0.6  # max 1 and max 2 are both ordinary outcomes of 11 ASKs
    rng = random.Random(7)
    for count, (low, high) in ((11, (1, 3)), (94, (3, 6))):
        low_total, high_total = poisson_interval(count)
        at_low = [max(_poisson_draw(rng, low_total / 100) for _ in range(100)) for _ in range(2000)]
        at_high = [
            max(_poisson_draw(rng, high_total / 100) for _ in range(100)) for _ in range(2000)
        ]
        # Each end is the quantile: at most 2.5 % beyond it, more than 2.5 % at or beyond it.
        assert sum(m < low for m in at_low) <= 0.035 * len(at_low)
        assert sum(m > high for m in at_high) <= 0.035 * len(at_high)
        assert sum(m >= high for m in at_high) > 0.025 * len(at_high)


def test_rcsims_most_asks_in_one_slot_fall_in_the_chance_range(
    reshard_10: ReshardRun, reshard_1: ReshardRun
) -> None:
    """Seed 1, each run's most ASKs in one slot against the chance range of the largest
    of 100 counts for that run's own total: pipeline 10 1 of 10 ASKs (range 1–3; real 1
    of 11), pipeline 1 2 of 61 (range 2–5; real 4 of 94, range 3–6). Against the real
    totals' ranges this is the fidelity table's row (10-seed medians 1 and 3, in bounds);
    here it checks that rcsim spreads its ASKs over the slots as chance does."""
    for run in (reshard_10, reshard_1):
        low, high = max_per_cell_interval(run.dp.outcomes["ask"], MOVED_SLOTS)
        assert low <= max(run.asks_per_slot().values()) <= high


def assert_fix_closes_slot_0(sim: Simulation, dp: ClusterData, keys: list[str]) -> None:
    """``redis-cli --cluster fix`` closes the open slot 0: no marks left anywhere, one
    owner everyone agrees on, holding every key, and no acknowledged write lost."""
    fixer = sim.inject("fix")
    run_job(sim, fixer)
    sim.run_for(2000)
    assert fixer.error is None
    assert all(not n.migrating and not n.importing for n in sim.cluster.nodes.values())
    owner = sim.cluster.truth_owner(0)
    assert owner is not None and sim.cluster.agree()
    assert sorted(dp.data(sim.cluster.node(owner)).keys_in_slot(0)) == sorted(keys)
    assert dp.lost_writes() == []


def test_a_target_crash_mid_move_leaves_the_slot_open_and_fix_closes_it() -> None:
    sim = Simulation(
        masters=3,
        replicas=0,
        seed=2,
        config={"cluster-node-timeout": 5000, "appendonly": True},
    )
    dp = install(sim)
    dp.key_cost_ms = 1.0  # slow enough to crash in the middle
    tag = tag_for(0)
    keys = [f"{{{tag}}}:{j}" for j in range(300)]
    for key in keys:
        sim.inject("write", key=key, value=f"v-{key}")
    sim.run_for(50)
    job = sim.inject("reshard", source="n1", target="n2", count=1)
    sim.run_for(100)
    assert 0 < sum(e["keys"] for e in sim.trace.of_kind("migrate")) < 300
    sim.inject("kill", node="n2")
    run_job(sim, job)
    assert job.error is not None and "IOERR" in job.error
    assert sim.cluster.node("n1").migrating == {0: "n2"}
    left = next(k for k in keys if k not in dp.data(sim.cluster.node("n1")).keys)
    stayed = next(k for k in keys if k in dp.data(sim.cluster.node("n1")).keys)
    t_read = sim.now
    gone, here = sim.inject("read", key=left), sim.inject("read", key=stayed)
    sim.run_for(2000)
    assert (here.outcome, here.result) == ("ok", f"v-{stayed}")
    asks = [e for e in sim.trace.of_kind("request") if e["key"] == left and e["t"] >= t_read]
    assert asks[0]["outcome"] == "ask" and asks[0]["reply"].startswith("ASK 0 ")
    assert gone.outcome == "error"
    with pytest.raises(ActionError, match="fix your cluster problems"):
        sim.inject("reshard", source="n1", target="n3", count=1)
    sim.inject("restart", node="n2")
    sim.run_for(3000)
    assert sim.cluster.node("n2").importing == {0: "n1"}
    assert_fix_closes_slot_0(sim, dp, keys)


def test_a_source_crash_inside_a_migrate_keeps_that_batch_and_leaves_the_slot_open() -> None:
    """kill -9 of the source while a MIGRATE blocks it: redis-cli gets an I/O error and
    stops; the batch never left (the source deletes keys only after the target's reply,
    §16.2), with AOF the source comes back with every key it still had, both nodes keep
    their marks (nodes.conf), and ``fix`` finishes the move without losing a write."""
    sim = Simulation(
        masters=3, replicas=0, seed=7, config={"cluster-node-timeout": 5000, "appendonly": True}
    )
    dp = install(sim)
    dp.key_cost_ms = 1.0
    keys = [f"{{{tag_for(0)}}}:{j}" for j in range(50)]
    for key in keys:
        sim.inject("write", key=key, value=f"v-{key}")
    sim.run_for(50)
    job = sim.inject("reshard", source="n1", target="n2", count=1)
    n1 = sim.cluster.node("n1")
    sim.run_until_condition(
        lambda: bool(sim.trace.of_kind("migrate")) and dp.data(n1).busy, sim.now + 1000
    )
    moved_before = sum(e["keys"] for e in sim.trace.of_kind("migrate"))
    assert 0 < moved_before < 50
    sim.inject("kill", node="n1")
    run_job(sim, job)
    assert job.error is not None and "I/O error" in job.error
    assert sum(e["keys"] for e in sim.trace.of_kind("migrate")) == moved_before
    n2 = sim.cluster.node("n2")
    assert n2.importing == {0: "n1"} and len(dp.data(n2).keys_in_slot(0)) == moved_before
    sim.inject("restart", node="n1")
    sim.run_for(3000)
    n1 = sim.cluster.node("n1")
    assert n1.migrating == {0: "n2"} and len(dp.data(n1).keys_in_slot(0)) == 50 - moved_before
    assert_fix_closes_slot_0(sim, dp, keys)


def test_a_paused_source_holds_the_reshard_until_it_resumes() -> None:
    """SIGSTOP of the source mid-move: the kernel holds redis-cli's commands, so the job
    waits (no error) and finishes the move after SIGCONT."""
    sim = Simulation(masters=3, replicas=0, seed=8, config={"cluster-node-timeout": 5000})
    dp = install(sim)
    dp.key_cost_ms = 1.0
    keys = [f"{{{tag_for(0)}}}:{j}" for j in range(50)]
    for key in keys:
        sim.inject("write", key=key, value="v")
    sim.run_for(50)
    job = sim.inject("reshard", source="n1", target="n2", count=1)
    sim.run_until_condition(lambda: bool(sim.trace.of_kind("migrate")), sim.now + 1000)
    sim.inject("pause", node="n1")
    sim.run_for(1000)
    paused_moves = len(sim.trace.of_kind("migrate"))
    sim.run_for(1000)
    assert not job.done and len(sim.trace.of_kind("migrate")) == paused_moves
    sim.inject("resume", node="n1")
    run_job(sim, job)
    assert job.error is None and job.keys_moved == 50
    assert sorted(dp.data(sim.cluster.node("n2")).keys_in_slot(0)) == sorted(keys)


def _paused_mid_move(seed: int = 8) -> tuple[Simulation, Job]:
    sim = Simulation(masters=3, replicas=0, seed=seed, config={"cluster-node-timeout": 5000})
    dp = install(sim)
    dp.key_cost_ms = 1.0
    for j in range(50):
        sim.inject("write", key=f"{{{tag_for(0)}}}:{j}", value="v")
    sim.run_for(50)
    job = sim.inject("reshard", source="n1", target="n2", count=1)
    sim.run_until_condition(lambda: bool(sim.trace.of_kind("migrate")), sim.now + 1000)
    sim.inject("pause", node="n1")
    return sim, job


def test_a_paused_node_answers_redis_cli_when_it_resumes_not_on_a_poll() -> None:
    """redis-cli blocks in its read with no timeout of its own (redis-rules §16.3): the
    held command goes on in the event after SIGCONT, not on a 100 ms re-check (which
    would have run 50 ms after this resume)."""
    sim, job = _paused_mid_move()
    paused_at = sim.now
    sim.run_until(paused_at + 1050)
    moves = len(sim.trace.of_kind("migrate"))
    sim.inject("resume", node="n1")
    resumed = sim.now
    sim.run_until_condition(lambda: len(sim.trace.of_kind("migrate")) > moves, resumed + 1000)
    # the batch's own 10 ms (10 keys at key_cost_ms 1.0), nothing more
    assert sim.trace.of_kind("migrate")[moves]["t"] - resumed < 12
    run_job(sim, job)
    assert job.error is None and job.keys_moved == 50


def test_a_paused_node_killed_fails_redis_cli_s_held_command_at_once() -> None:
    """The process dies with redis-cli's command in its kernel buffer: the connection
    resets and redis-cli stops on the error then, not on a later poll."""
    sim, job = _paused_mid_move()
    sim.run_for(1050)
    sim.inject("kill", node="n1")
    killed = sim.now
    sim.run_for(10)
    assert job.done and job.error is not None
    done = sim.trace.of_kind("reshard_done")[-1]
    assert not done["ok"] and done["t"] - killed < 1


def test_rebalance_executes_redis_clis_plan() -> None:
    specs = [
        NodeSpec("n1", "master", tuple(range(0, 5481))),
        NodeSpec("n2", "master", tuple(range(5481, 10923))),
        NodeSpec("n3", "master", tuple(range(10923, 16384))),
    ]
    sim = Simulation(specs, seed=4, config={"cluster-node-timeout": 5000})
    dp = install(sim)
    dp.populate({f"{{{tag_for(s)}}}:x": "v" for s in range(40)})  # the source's lowest slots
    masters = load_cluster(dp).masters
    plan = rebalance_plan(masters, threshold=0.1)
    expected = {m.name: len(m.slots) for m in apply_moves(masters, plan.moves)}
    job = sim.inject("rebalance", threshold=0.1)
    run_job(sim, job)
    sim.run_for(500)
    assert {n: len(sim.cluster.node(n).my_slots()) for n in ("n1", "n2", "n3")} == expected
    assert expected == {"n1": 5461, "n2": 5462, "n3": 5461}  # the rounding fix
    moved = {s for m in plan.moves for s in m.slots}
    assert moved == set(range(20))
    n2 = dp.data(sim.cluster.node("n2"))
    assert all(n2.get(f"{{{tag_for(s)}}}:x") == "v" for s in moved)
    assert all(dp.lookup(f"{{{tag_for(s)}}}:x")["value"] == "v" for s in range(40))
    assert sim.inject("rebalance", threshold=0.1) is None  # "No rebalancing needed"


def test_multi_key_commands_get_tryagain_mid_migration_and_crossslot_across_slots() -> None:
    sim = Simulation(masters=3, replicas=0, seed=5, config={"cluster-node-timeout": 5000})
    dp = install(sim)
    dp.key_cost_ms = 0.5
    tag = tag_for(7)
    dp.populate({f"{{{tag}}}:{j}": "v" for j in range(200)})
    add_client(dp, "multi", keys=f"{{{tag}}}:{{i}}", key_count=200, multi=1.0, writes=0.0)
    add_client(dp, "spread", keys="k{i}", key_count=1000, multi=1.0, writes=0.5)
    sim.inject("workload", client="multi", rate=500)
    sim.inject("workload", client="spread", rate=50)
    job = sim.inject("reshard", source="n1", target="n3", slots=[7])
    run_job(sim, job)
    sim.run_for(200)
    tryagain = [e for e in sim.trace.of_kind("request") if e["outcome"] == "tryagain"]
    assert tryagain and all(e["client"] == "multi" and e["command"] == "MGET" for e in tryagain)
    assert tryagain[0]["reply"] == "TRYAGAIN Multiple keys request during rehashing of slot"
    crossslot = [e for e in sim.trace.of_kind("request") if e["outcome"] == "crossslot"]
    assert crossslot and {e["client"] for e in crossslot} == {"spread"}


def test_rcsim_fidelity_reshard_prints_both_runs_next_to_real_redis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command a user runs to see the comparison above (docs/fidelity.md)."""
    from rcsim.cli import main

    code = main(["fidelity", "--part", "reshard", "--seeds", "1"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| reshard")]
    assert len(rows) == 15
    assert code in (0, 1)  # 1 when a row is out of bounds (one seed's counts are chance)
    ask_10 = next(r for r in rows if "pipeline10 | ASK |" in r)
    assert "11 [5–20]" in ask_10  # the Poisson interval (one seed's count is chance)
    walls = [r for r in rows if "| reshard_wall_ms |" in r]
    assert len(walls) == 2 and all(r.endswith("| yes |") for r in walls)
    moved = [r for r in rows if "| MOVED |" in r]
    assert all("| 100 [100–100] | 100 |" in r for r in moved)
    rebalances = [line for line in out.splitlines() if line.startswith("| rebalance")]
    assert [r.split("|")[1].strip() for r in rebalances] == [
        "rebalance 3+1 masters, 4096 slots, idle host",
        "rebalance 3+2 masters, 6556 slots, idle host",
        "rebalance 4+1 masters, 3280 slots, idle host",
        "rebalance 3+1 masters, 4096 slots, one run, host load not recorded",
        "rebalance 3+2 masters, 6556 slots, one run, host load not recorded",
        "rebalance 4+1 masters, 3280 slots, one run, host load not recorded",
    ]
    assert all(r.endswith("| yes |") for r in rebalances[:3])
    assert rebalances[5].endswith("| 0.74 | reference (no) |")
    assert main(["fidelity", "--part", "reshard", "--seeds", "0"]) == 2
    assert "--seeds must be between 1 and 1000" in capsys.readouterr().err


def test_a_request_reaching_a_source_blocked_in_migrate_waits_and_then_gets_ask() -> None:
    """MIGRATE is synchronous (§16.2): the source serves nothing until the target has the
    batch; a GET for one of its keys that arrived meanwhile is answered afterwards with
    ASK, and one for a key still there is served from the source."""
    sim = Simulation(masters=3, replicas=0, seed=6, config={"cluster-node-timeout": 5000})
    dp = install(sim)
    dp.command_cost_ms, dp.key_cost_ms = 1.0, 1.0  # a batch of 10 blocks n1 for 11 ms
    tag = tag_for(3)
    keys = [f"{{{tag}}}:{j}" for j in range(20)]
    dp.populate(dict.fromkeys(keys, "v"))
    app = add_client(dp, "app")
    first_batch = dp.data(sim.cluster.node("n1")).keys_in_slot(3, 10)
    later = next(k for k in keys if k not in first_batch)
    job = sim.inject("reshard", source="n1", target="n2", slots=[3])
    sim.run_until_condition(lambda: dp.data(sim.cluster.node("n1")).busy, sim.now + 100)
    blocked_at = sim.now
    gone, kept = app.command("GET", first_batch[0]), app.command("GET", later)
    sim.run_until_condition(lambda: gone.done and kept.done, sim.now + 100)
    run_job(sim, job)
    attempts = [e for e in sim.trace.of_kind("request") if e["client"] == "app"]
    first = [e for e in attempts if e["key"] == first_batch[0]]
    assert [(e["node"], e["outcome"]) for e in first] == [("n1", "ask"), ("n2", "ok")]
    assert first[0]["t"] >= blocked_at + 10 and first[0]["latency_ms"] >= 10
    assert [(e["node"], e["outcome"]) for e in attempts if e["key"] == later] == [("n1", "ok")]
    assert gone.result == kept.result == "v"


def test_the_real_client_slowed_during_the_move() -> None:
    """Why the reshard experiment's client is slowed while redis-cli moves slots
    (``CALIBRATION_CLIENT_RATE_IN_MOVES``, fitted on this statistic; docs/fidelity.md):
    the real client's first request to each slot after its move (its MOVED) came ~25 ms
    after the move with pipeline 10, over three times the 7.5 ms its pre-reshard rate to
    one hot slot implies. The move times are the least-squares line of MOVED time
    against slot number; the lag is measured from that line's lower envelope
    (:func:`simulator.fidelity_reshard_client.moved_lag_ms`)."""
    run = RUNS["default (10)"]
    moved = {e[2]: e[0] for e in run["redirect_events"] if e[1] == "MOVED"}
    lag = moved_lag_ms(moved)
    before = run["client_ops_before_reshard"] / run["reshard_started_at_client_ms"]  # ops/ms
    per_hot_slot = before * 0.8 / 200
    assert 20 <= lag <= 30
    assert lag > 3 * (1 / per_hot_slot)
