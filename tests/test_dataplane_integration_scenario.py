"""The data plane reached from scenario files: clients become workloads, the data
verbs run as steps, and the conditions read ``sim.extras["dataplane"]``."""

from __future__ import annotations

from simulator.dataplane.model import ClusterData
from simulator.harness.runner import build, run_to_end
from simulator.scenario.loader import parse_scenario

MINORITY = """
name: The isolated master keeps acking writes that are lost after the heal
seed: 1
cluster:
  masters: 3
  replicas: 1
  config:
    cluster-node-timeout: 2000
clients:
  - name: app
    rate: 200/s
    writes: 1
    keys: "{a}:{i}"
    key_count: 50
steps:
  - at: 1s
    partition: [[n3, app], [n1, n2, n4, n5, n6]]
  - at: 6s
    workload: {client: app, rate: 0/s}
  - at: 6s
    heal: all
run_until: 15s
expect:
  - lost_writes: {min: 1}
  - role: {n6: master, n3: replica}
"""

DATA_VERBS = """
name: Data verbs
seed: 2
cluster:
  masters: 3
  replicas: 1
steps:
  - subscribe: {channel: news, node: n2, client: reader}
  - subscribe: {channel: "{orders}", sharded: true, client: shard-reader}
  - write: {key: "user:1", value: alice}
  - read: {key: "user:1"}
  - publish: {channel: news, message: hello, node: n1}
  - publish: {channel: "{orders}", message: paid, sharded: true}
  - after: 100ms
    reshard: {from: n1, to: n2, slots: 10}
  - after: 2s
    rebalance: true
  - after: 100ms
    fix: true
run_until: 5s
expect:
  - delivered: {subscriber: reader, count: 1}
  - delivered: {subscriber: shard-reader, count: 1}
  - lost_writes: 0
"""


def run(text: str) -> tuple[bool, ClusterData, list[str]]:
    sim = build(parse_scenario(text))
    driver = run_to_end(sim)
    dp = sim.extras["dataplane"]
    assert isinstance(dp, ClusterData) and dp is sim.cluster.dataplane
    failed = [
        f"{r.condition}: expected {r.expected}, saw {r.observed}"
        for r in driver.results
        if not r.passed
    ]
    return driver.passed, dp, failed


def test_a_minority_partition_scenario_shows_lost_writes() -> None:
    passed, dp, failed = run(MINORITY)
    assert passed, failed
    lost = dp.lost_writes()
    assert lost and {w["node"] for w in lost} == {"n3"} and {w["client"] for w in lost} == {"app"}
    assert dp.requests_by_outcome()["ok"] > 0


def test_every_data_verb_runs_from_a_scenario() -> None:
    passed, dp, failed = run(DATA_VERBS)
    assert passed, failed
    assert dp.lookup("user:1")["value"] == "alice"
    # 10 slots apart is within rebalance's 2 % threshold: no job, a caption instead
    assert [job.label for job in dp.jobs] == ["reshard", "fix"]
    assert all(job.done and job.error is None for job in dp.jobs)


PIPELINE = """
name: Keys per MIGRATE
seed: 3
cluster:
  masters: 3
  replicas: 0
steps:
  - write: {key: "{t0}:a", value: "1"}
  - write: {key: "{t0}:b", value: "2"}
  - write: {key: "{t0}:c", value: "3"}
  - after: 100ms
    reshard: {from: n3, to: n2, slots: "SLOT", pipeline: PIPE}
run_until: 2s
expect:
  - owner: {n2: SLOT}
  - lost_writes: 0
"""


def _migrate_batches(pipeline: int | None) -> list[int]:
    from simulator.slots import key_hash_slot

    slot = str(key_hash_slot("{t0}"))
    text = PIPELINE.replace("SLOT", slot)
    text = text.replace("PIPE", str(pipeline)) if pipeline else text.replace(", pipeline: PIPE", "")
    sim = build(parse_scenario(text, "pipeline.yaml"))
    run_to_end(sim)
    assert sim.extras["driver"].passed
    return [e["keys"] for e in sim.trace.of_kind("migrate")]


def test_the_reshard_step_takes_redis_clis_pipeline() -> None:
    """``pipeline`` is ``--cluster-pipeline``: keys per MIGRATE (default 10)."""
    assert _migrate_batches(None) == [3]
    assert _migrate_batches(1) == [1, 1, 1]
    assert _migrate_batches(2) == [2, 1]
