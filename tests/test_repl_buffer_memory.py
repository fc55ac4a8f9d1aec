"""The replication buffer counts toward maxmemory (docs/redis-rules.md §25.1).

Redis 7.0 keeps the backlog and the replicas' output buffers in one list of blocks
(``feedReplicationBuffer``), trims it to ``repl-backlog-size``
(``incrementalTrimReplicationBacklog``) and counts it toward maxmemory up to about that
size (``freeMemoryGetNotCountedMemory``). Each test is named after the rule it checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simulator.dataplane import install
from simulator.dataplane.maxmemory import state
from simulator.dataplane.memory import CALIBRATION_EMPTY_USED_MEMORY, not_counted_repl_buffer
from simulator.dataplane.routing import Session
from simulator.dataplane.server import execute
from simulator.harness import runner
from simulator.replication import (
    REPL_BLOCK_MEMORY_BYTES,
    REPL_BLOCK_PAYLOAD_BYTES,
    repl_buffer_mem,
)
from simulator.scenario import load_scenario
from simulator.simulation import Simulation
from simulator.views.memory import converged_start_memory

MB = 1_048_576
DATA = Path(__file__).parent / "data"


def test_a_block_holds_20440_bytes_of_stream_and_costs_20504() -> None:
    assert repl_buffer_mem(0, MB) == 0
    assert repl_buffer_mem(1, MB) == REPL_BLOCK_MEMORY_BYTES == 20_504
    assert repl_buffer_mem(REPL_BLOCK_PAYLOAD_BYTES, MB) == 20_504
    assert repl_buffer_mem(REPL_BLOCK_PAYLOAD_BYTES + 1, MB) == 2 * 20_504


def test_the_first_block_is_trimmed_once_the_backlog_holds_more_than_its_size_without_it() -> None:
    # 52 blocks hold 1,062,880 bytes: more than 1 MB, and 51 would not.
    assert repl_buffer_mem(52 * REPL_BLOCK_PAYLOAD_BYTES, MB) == 52 * 20_504
    assert repl_buffer_mem(52 * REPL_BLOCK_PAYLOAD_BYTES + 1, MB) == 53 * 20_504
    assert repl_buffer_mem(MB + REPL_BLOCK_PAYLOAD_BYTES + 1, MB) == 52 * 20_504
    for fed in (2 * MB, 10 * MB + 12_345, 1 << 32):
        assert repl_buffer_mem(fed, MB) in (52 * 20_504, 53 * 20_504)
    # The 16 kB minimum backlog keeps one or two blocks, never fewer than one.
    assert {repl_buffer_mem(n * 7_001, 16_384) for n in range(1, 200)} == {20_504, 41_008}


def test_maxmemory_counts_the_buffer_only_up_to_the_backlog_size_and_its_bookkeeping() -> None:
    counted_cap = MB + (MB // 16_384 + 1) * 64  # evict.c's extra_approx_size
    assert counted_cap == 1_052_736
    assert not_counted_repl_buffer(20_504, MB) == 0
    assert not_counted_repl_buffer(MB, MB) == 0
    assert not_counted_repl_buffer(counted_cap, MB) == 0
    assert not_counted_repl_buffer(53 * 20_504, MB) == 53 * 20_504 - counted_cap
    assert not_counted_repl_buffer(20_504, 16_384) == 20_504 - (16_384 + 2 * 64)


def cluster(masters: int, replicas: int, **config: Any) -> tuple[Simulation, Any]:
    sim = Simulation(masters=masters, replicas=replicas, seed=3, config=config)
    return sim, install(sim)


def test_a_converged_master_with_replicas_and_its_replicas_start_with_one_block() -> None:
    sim, dp = cluster(1, 1, maxmemory=2_000_000)
    for node in sim.cluster.nodes.values():
        eviction = state(dp, node)
        assert eviction is not None
        assert eviction.repl_buffer_mem == REPL_BLOCK_MEMORY_BYTES
        assert eviction.counted_memory == converged_start_memory(MB, True)
    sim, dp = cluster(1, 0, maxmemory=2_000_000)
    (alone,) = sim.cluster.nodes.values()
    eviction = state(dp, alone)
    assert eviction is not None and eviction.repl_buffer_mem == 0  # never had a replica
    assert eviction.counted_memory == CALIBRATION_EMPTY_USED_MEMORY


def test_the_write_stream_grows_the_masters_memory_a_block_at_a_time() -> None:
    sim, dp = cluster(1, 1, maxmemory=10_000_000)
    master = next(n for n in sim.cluster.nodes.values() if n.is_master)
    eviction = state(dp, master)
    assert eviction is not None
    session, steps = Session(), []
    for i in range(400):
        execute(dp, master, "c", ("SET", f"k{i}", "x" * 100), session)
        steps.append(eviction.repl_buffer_mem)
    fed = master.repl.offset - (master.repl.buffer_from or 0)
    assert steps[-1] == -(-fed // REPL_BLOCK_PAYLOAD_BYTES) * REPL_BLOCK_MEMORY_BYTES
    assert sorted(set(steps)) == [
        k * REPL_BLOCK_MEMORY_BYTES for k in range(1, len(set(steps)) + 1)
    ]
    assert eviction.used_memory == eviction.keyspace_memory + steps[-1]


def test_a_full_sync_gives_the_replica_a_new_backlog_at_the_masters_offset() -> None:
    sim, dp = cluster(1, 1)
    master = next(n for n in sim.cluster.nodes.values() if n.is_master)
    replica = next(n for n in sim.cluster.nodes.values() if not n.is_master)
    session = Session()
    for i in range(300):
        execute(dp, master, "c", ("SET", f"k{i}", "x" * 100), session)
    sim.run_for(100)
    assert replica.repl.buffer_mem(MB) > REPL_BLOCK_MEMORY_BYTES  # it fed the stream
    sim.inject("kill", node=replica.name)
    sim.run_for(1000)
    sim.inject("restart", node=replica.name)  # no persistence: restarts empty, full sync
    assert replica.repl.buffer_from is None  # the backlog died with the process
    sim.run_for(8000)
    assert replica.repl.link_up
    (synced,) = [e for e in sim.cluster.trace.events if e["kind"] == "full_sync"]
    assert synced["offset"] > 300 * 100  # the master's offset when the RDB was loaded
    assert replica.repl.buffer_from == synced["offset"]
    assert replica.repl.buffer_mem(MB) <= REPL_BLOCK_MEMORY_BYTES


def test_a_new_block_makes_the_next_command_evict_a_block_of_keys_at_once() -> None:
    room = 200_000
    start = converged_start_memory(MB, True)
    sim, dp = cluster(1, 1, maxmemory=start + room, **{"maxmemory-policy": "allkeys-lru"})
    master = next(n for n in sim.cluster.nodes.values() if n.is_master)
    session = Session()
    for i in range(6_000):
        execute(dp, master, "c", ("SET", f"key:{i}", "v" * 20), session)
        sim.run_for(1)
    evicted = [e for e in sim.cluster.trace.events if e["kind"] == "key_evicted"]
    by_ms: dict[int, int] = {}
    for event in evicted:
        by_ms[event["t"]] = by_ms.get(event["t"], 0) + 1
    bursts = [n for n in by_ms.values() if n > 100]
    # ~20.5 kB of keys at ~100 bytes a key go at once, each time a block is added.
    assert bursts and all(150 <= n <= 260 for n in bursts)
    eviction = state(dp, master)
    # The last SET (and its stream) is paid for by the next command's performEvictions.
    assert eviction is not None and eviction.counted_memory <= start + room + 1000


def test_the_replicated_shards_first_evict_when_the_real_ones_do() -> None:
    """fidelity/eviction-room: the real shards first evict at 10.5-13.9 s; the buffer's
    blocks are what brings rcsim's first eviction there (19.7 s without them)."""
    report = json.loads((DATA / "verify-reports" / "fidelity-eviction-room.json").read_text())
    (row,) = [row for row in report["rows"] if row["label"].startswith("step 1 wait_for event")]
    low, high = min(row["real"]), max(row["real"])
    scenario = load_scenario("scenarios/fidelity/eviction-room.yaml")
    sim = runner.run(scenario, 1)
    first = min(e["t"] for e in sim.cluster.trace.events if e["kind"] == "key_evicted")
    assert low * 0.85 <= first <= high * 1.15
