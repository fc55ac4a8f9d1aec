"""The per-node service model (docs/redis-rules.md §28.4): one thread per node runs each
command for its cost, so a node saturates, its queue grows and latency rises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.dataplane import install
from simulator.dataplane.actions import add_client
from simulator.dataplane.model import ClusterData
from simulator.dataplane.service import (
    CALIBRATION_CALL_US,
    CALIBRATION_KEY_US,
    CALIBRATION_OVERHEAD_US,
    CALIBRATION_RECEIVER_CALL_US,
    CALIBRATION_SUBSCRIBER_WRITE_US,
    ServiceModel,
    cost_us,
)
from simulator.harness.runner import build, run_to_end
from simulator.scenario import parse_scenario
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot

DATA = json.loads((Path(__file__).parent / "data" / "service-costs.json").read_text())
CPU = json.loads((Path(__file__).parent / "data" / "service-cpu.json").read_text())["measured"]
GET_US = CALIBRATION_OVERHEAD_US + CALIBRATION_CALL_US


def one_node(scale: float, topology: str = "standalone") -> tuple[Simulation, ClusterData]:
    sim = Simulation(masters=1, replicas=0, seed=1, topology=topology)
    dp = install(sim)
    dp.service = ServiceModel(scale=scale)
    return sim, dp


def latencies(sim: Simulation, since: int = 0, until: int | None = None) -> list[int]:
    return sorted(
        e["latency_ms"]
        for e in sim.trace.of_kind("request")
        if e["outcome"] == "ok" and e["t"] >= since and (until is None or e["t"] < until)
    )


def p(values: list[int], q: float) -> int:
    return values[min(len(values) - 1, int(len(values) * q))]


def test_service_model_is_off_by_default() -> None:
    sim = Simulation(masters=1, replicas=0, seed=1, topology="standalone")
    assert install(sim).service is None


def test_command_costs_follow_the_calibration() -> None:
    assert cost_us(("GET", "k")) == GET_US
    assert cost_us(("SET", "k", "v")) == GET_US
    mset = ("MSET", *[x for i in range(10) for x in (f"k{i}", "v")])
    assert cost_us(mset) == GET_US + 9 * CALIBRATION_KEY_US
    one = CALIBRATION_RECEIVER_CALL_US + CALIBRATION_SUBSCRIBER_WRITE_US
    assert cost_us(("PUBLISH", "ch", "m"), receivers=100) == pytest.approx(GET_US + 100 * one)
    shared = GET_US + 100 * CALIBRATION_RECEIVER_CALL_US  # the pass already wrote to them
    assert cost_us(("PUBLISH", "ch", "m"), receivers=100, written=0) == pytest.approx(shared)


def test_calibration_matches_the_measured_usec_per_call() -> None:
    """tests/data/service-costs.json: INFO commandstats on Redis 7.0.15."""
    measured = DATA["measured"]
    one_key = (measured["get"]["usec_per_call"] + measured["set"]["usec_per_call"]) / 2
    assert abs(CALIBRATION_CALL_US - one_key) / one_key < 0.25
    per_key = (measured["mset_10_keys"]["usec_per_call"] - CALIBRATION_CALL_US) / 9
    assert abs(CALIBRATION_KEY_US - per_key) / per_key < 0.25


def _cpu(workload: str) -> float:
    return float(CPU[workload]["cpu_us_per_command_median"])


def _per_extra_key(workload: str) -> float:
    return (CPU[workload]["usec_per_call_median"] - CPU["get"]["usec_per_call_median"]) / 9


def test_the_one_key_cost_against_the_real_server_cpu_per_command() -> None:
    """A different measurement from the rates OVERHEAD_US came from: the real server's
    own CPU time per GET and SET, 50 clients (tests/data/service-cpu.json). The model's
    8 µs is 0.65 of it on this 2-core VM (every syscall dear; an earlier run gave 0.88),
    within the band the docs state; one client (a pass per command) costs 3-5x more."""
    real = (_cpu("get") + _cpu("set")) / 2
    assert 0.5 <= GET_US / real <= 1.0
    assert _cpu("get_1_client") > 2 * _cpu("get")


def test_the_per_key_cost_against_mget_and_exists() -> None:
    """KEY_US was fitted on MSET's ``usec_per_call``; checked on MGET's, a read of the
    same ten keys (within 25 %), and EXISTS's, which builds no values (the model charges
    it up to 1.5x too much: stated in docs/fidelity.md)."""
    assert abs(CALIBRATION_KEY_US / _per_extra_key("mget_10_keys") - 1) < 0.25
    assert 1.0 < CALIBRATION_KEY_US / _per_extra_key("exists_10_keys") < 1.6


def _per_subscriber(publishers: int) -> float:
    """The real server's CPU per subscriber a PUBLISH reaches (100 subscribers)."""
    if publishers == 1:
        return (_cpu("publish_100_subscribers_1_client") - _cpu("get_1_client")) / 100
    return (_cpu("publish_100_subscribers") - _cpu("publish_0_subscribers")) / 100


def _closed_loop_per_subscriber(publishers: int, subscribers: int = 100) -> float:
    """redis-benchmark's shape on the model: ``publishers`` connections, each sending its
    next PUBLISH 50 µs (a loopback round trip) after its reply; the node's busy time per
    PUBLISH, less one with no subscriber, per subscriber."""
    model = ServiceModel()
    arrivals = [(i * 0.001, i) for i in range(publishers)]
    argv = ("PUBLISH", "news", "m")
    for _ in range(4000):
        arrivals.sort()
        now, who = arrivals.pop(0)
        done = model.admit("n1", 0, now, argv, subscribers)
        arrivals.append((done + 0.05, who))
    queue = model.queues["n1"]
    per_publish_us = queue.busy_ms * 1000 / queue.queued  # admitted; none finished here
    return (per_publish_us - cost_us(argv)) / subscribers


def test_a_subscriber_costs_one_write_per_event_loop_pass() -> None:
    """``handleClientsWithPendingWrites`` writes each subscriber once per pass: a PUBLISH
    on an idle node pays every write; one that arrived by the start of the same pass
    shares them; one that arrived while the pass ran opens the next and pays again."""
    model = ServiceModel(scale=1000)  # µs become ms
    argv = ("PUBLISH", "news", "m")
    alone = cost_us(argv, 10)
    first = model.admit("n1", 0, 0.0, argv, 10)
    assert first == pytest.approx(alone)
    same_pass = model.admit("n1", 0, 0.0, argv, 10)  # arrived with the first
    assert same_pass - first == pytest.approx(cost_us(argv, 10, written=0))
    next_pass = model.admit("n1", 0, 1.0, argv, 10)  # read once the thread is free
    assert next_pass - same_pass == pytest.approx(alone)
    joins_it = model.admit("n1", 0, 2.0, argv, 10)  # still before that pass starts
    assert joins_it - next_pass == pytest.approx(cost_us(argv, 10, written=0))
    other_channel = model.admit("n1", 0, 2.0, ("PUBLISH", "other", "m"), 10)
    assert other_channel - joins_it == pytest.approx(alone)
    idle_again = model.admit("n1", 0, other_channel + 5, argv, 10)
    assert idle_again - (other_channel + 5) == pytest.approx(alone)


def test_the_write_per_pass_matches_both_real_regimes() -> None:
    """tests/data/service-cpu.json, 100 subscribers: one publisher (a pass per PUBLISH)
    costs 4.7 µs per subscriber, the fit; 50 publishers, whose passes carry up to 50
    messages per write, 0.24, which the model was not fitted to (within 25 %)."""
    assert abs(_closed_loop_per_subscriber(1) / _per_subscriber(1) - 1) < 0.05
    assert abs(_closed_loop_per_subscriber(50) / _per_subscriber(50) - 1) < 0.25
    assert _per_subscriber(50) < _per_subscriber(1) / 10


def test_service_time_adds_to_latency() -> None:
    """A GET that costs 8 ms (scale 1000) on an idle node answers 8 ms later."""
    sim, dp = one_node(scale=1000)
    app = add_client(dp, "app")
    op = app.command("GET", "k")
    sim.run_for(100)
    assert op.outcome == "ok"
    assert latencies(sim) == [int(GET_US * 1000 / 1000)]
    sim, dp = one_node(scale=1)
    op = add_client(dp, "app").command("GET", "k")
    sim.run_for(100)
    assert latencies(sim) == [0]  # 8 µs: within the millisecond


def test_commands_queue_behind_each_other_on_one_thread() -> None:
    """Ten GETs sent at once finish 8, 16, ..., 80 ms later (FIFO, one at a time)."""
    sim, dp = one_node(scale=1000)
    app = add_client(dp, "app")
    ops = [app.command("GET", f"k{i}") for i in range(10)]
    sim.run_for(200)
    assert all(op.outcome == "ok" for op in ops)
    assert latencies(sim) == [8 * (i + 1) for i in range(10)]
    assert dp.service is not None and dp.service.queues["n1"].max_queued == 10


def test_a_saturated_node_queue_grows() -> None:
    """Capacity 1250/s (800 µs a command at scale 100); 1500/s arrive: the backlog and the
    latency grow every second; at 1000/s they stay flat."""
    sim, dp = one_node(scale=100)
    service = dp.service
    assert service is not None
    add_client(dp, "app", rate=1000, writes=0.5).set_workload()
    sim.run_for(2000)
    assert p(latencies(sim, 1000, 2000), 0.99) <= 10
    add_client(dp, "burst", rate=500, writes=0.5).set_workload()
    backlog = []
    for _ in range(3):
        sim.run_for(500)
        backlog.append(service.queues["n1"].queued)
    assert backlog[0] < backlog[1] < backlog[2]
    assert backlog[2] > 200  # ~ (1500 - 1250)/s x 1.5 s
    assert p(latencies(sim, 3000), 0.5) > 100
    assert service.utilisation("n1", 1500) == 1.0


def test_a_node_that_dies_drops_its_queue() -> None:
    sim, dp = one_node(scale=1000)
    app = add_client(dp, "app", timeout_ms=10_000)
    ops = [app.command("GET", f"k{i}") for i in range(5)]
    sim.run_for(20)  # two done
    sim.inject("kill", node="n1")
    sim.run_for(50)
    assert [op.outcome for op in ops[:2]] == ["ok", "ok"]
    first_try = [e for e in sim.trace.of_kind("request") if e["t"] < 70]
    assert [e["outcome"] for e in first_try] == ["ok", "ok", "error", "error", "error"]


HOT = """
name: hot shard
seed: 1
cluster:
  masters: 3
  service: {scale: 100}
clients:
  - name: spread
    rate: 1200/s
    keys: "user:{i}"
  - name: hot
    rate: 1200/s
    keys: "{hot}:{i}"
run_until: 3s
"""


def test_a_hot_shard_shows_in_latency_percentiles() -> None:
    """The same load is fine spread over three shards (400/s each, capacity 1250/s) and
    saturates the one shard that owns every key of a hash tag (1200/s + its third of the
    spread)."""
    sim = build(parse_scenario(HOT, "hot.yaml"))
    run_to_end(sim)
    hot_owner = sim.cluster.truth_owner(key_hash_slot("{hot}:1"))
    by_client: dict[str, list[int]] = {"spread": [], "hot": []}
    cold: list[int] = []
    for e in sim.trace.of_kind("request"):
        if e["outcome"] == "ok" and e["t"] >= 1000:
            by_client[e["client"]].append(e["latency_ms"])
            if e["client"] == "spread" and e["node"] != hot_owner:
                cold.append(e["latency_ms"])
    hot = sorted(by_client["hot"])
    assert p(sorted(cold), 0.99) <= 5
    assert p(hot, 0.99) > 50 * max(1, p(sorted(cold), 0.99))


SATURATE = """
name: saturate
seed: 1
cluster:
  masters: 1
  topology: standalone
  service: {scale: 100}
clients:
  - name: app
    rate: 1500/s
  - name: pairs
    rate: 50/s
    multi: 1
run_until: 2s
"""


def test_latency_condition_reads_a_percentile_of_the_ok_requests() -> None:
    from simulator.harness.conditions import check
    from simulator.scenario import model
    from simulator.scenario.errors import Loc

    sim = build(parse_scenario(SATURATE, "s.yaml"))
    run_to_end(sim)
    loc = Loc("t", 1, 1)
    app = sorted(
        e["latency_ms"]
        for e in sim.trace.of_kind("request")
        if e["client"] == "app" and e["outcome"] == "ok"
    )
    p99 = check(sim, model.Latency(loc=loc, client="app", window=1000, minimum=100))
    assert p99.passed, p99.observed
    p1 = check(sim, model.Latency(loc=loc, client="app", percentile=1, maximum=50))
    rank = -(-len(app) // 100)  # nearest rank: the ceil(1 % of n)-th smallest
    assert p1.passed and p1.observed == f"{app[rank - 1]} ms ({len(app)} requests)"
    worst = model.Latency(loc=loc, client="app", percentile=100, maximum=app[-1] - 1)
    assert not check(sim, worst).passed


def test_requests_condition_counts_the_share_of_an_outcome() -> None:
    """MSET/MGET of two keys (``multi: 1``): fine on one instance, CROSSSLOT on a cluster."""
    from simulator.harness.conditions import check
    from simulator.scenario import model
    from simulator.scenario.errors import Loc

    loc = Loc("t", 1, 1)
    sim = build(parse_scenario(SATURATE, "s.yaml"))
    run_to_end(sim)
    assert check(
        sim, model.Requests(loc=loc, client="pairs", outcome="crossslot", maximum=0)
    ).passed
    text = SATURATE.replace("  topology: standalone\n", "").replace("masters: 1", "masters: 3")
    sim = build(parse_scenario(text, "c.yaml"))
    run_to_end(sim)
    share = check(sim, model.Requests(loc=loc, client="pairs", outcome="crossslot", minimum=0.9))
    assert share.passed, share.observed
    commands = {e["command"] for e in sim.trace.of_kind("request") if e["client"] == "pairs"}
    assert commands == {"MSET", "MGET"}


def test_the_report_shows_each_nodes_busy_share_and_longest_queue() -> None:
    from simulator.harness.report import metrics
    from simulator.harness.runner import driver_of

    sim = build(parse_scenario(SATURATE, "s.yaml"))
    run_to_end(sim)
    service = metrics(sim, driver_of(sim))["service"]
    assert list(service) == ["n1"]
    assert service["n1"]["busy"] > 0.9  # 1,550/s offered to a 1,250/s thread
    assert service["n1"]["max_queued"] > 100
    plain = build(parse_scenario(SATURATE.replace("  service: {scale: 100}\n", ""), "p.yaml"))
    run_to_end(plain)
    assert "service" not in metrics(plain, driver_of(plain))
