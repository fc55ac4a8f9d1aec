"""maxmemory and eviction (docs/redis-rules.md §25): each rule's test is named after it."""

from __future__ import annotations

import random
from typing import Any

import pytest

from simulator.config import DIRECTIVES, NodeConfig
from simulator.dataplane import install
from simulator.dataplane.dicttable import DictTable
from simulator.dataplane.eviction import (
    ERR_OOM,
    EVPOOL_SIZE,
    LFU_INIT_VAL,
    POLICIES,
    Eviction,
)
from simulator.dataplane.keyspace import Keyspace
from simulator.dataplane.memory import CALIBRATION_EMPTY_USED_MEMORY, used_memory_of
from simulator.dataplane.model import ClusterData
from simulator.dataplane.routing import Session
from simulator.dataplane.server import execute
from simulator.fidelity_evict import Server, eviction_rows, fill, lru_test, noeviction_test
from simulator.simulation import Simulation
from simulator.views.memory import converged_start_memory


class Clock:
    def __init__(self) -> None:
        self.now = 0


def attached(policy: str, maxmemory: int = 0, **config: Any) -> tuple[Keyspace, Eviction, Clock]:
    clock = Clock()
    settings = {"maxmemory": maxmemory, "maxmemory-policy": policy, **config}
    keyspace = Keyspace()
    eviction = Eviction(NodeConfig(settings), clock, random.Random(7))
    keyspace.eviction = eviction
    return keyspace, eviction, clock


def delete_from(keyspace: Keyspace) -> Any:
    return lambda key: keyspace.put(key, None, 0)


# ---------------------------------------------------------------- §25.1 memory model


def test_memory_model_reaches_maxmemory_after_as_many_keys_as_the_real_server() -> None:
    inserted, _ = fill(Server("allkeys-lru", 5, seed=0))
    assert abs(inserted - 11_755) <= 0.02 * 11_755


def test_memory_model_counts_keys_values_table_and_ttls() -> None:
    keyspace, eviction, _ = attached("allkeys-lru")
    assert eviction.used_memory == CALIBRATION_EMPTY_USED_MEMORY
    keyspace.put("a", "x" * 100, 1)
    one = eviction.used_memory
    keyspace.put("a", "x" * 10, 2)
    assert eviction.used_memory == one - 90
    eviction.note_expire("a", 5000)
    assert eviction.used_memory > one - 90  # the expires dictEntry and its table
    keyspace.put("a", None, 3)
    assert eviction.used_memory == CALIBRATION_EMPTY_USED_MEMORY + 8 * 4 * 2
    keyspace.put("b", "v", 4)
    # the TTL table stays (never shrunk); the rest is what a node without the state shows
    assert eviction.used_memory - 8 * 4 == used_memory_of(keyspace.keys)
    assert used_memory_of({}) == CALIBRATION_EMPTY_USED_MEMORY


# ---------------------------------------------------------------- §25.2 performEvictions, -OOM


def test_perform_evictions_frees_until_used_memory_fits() -> None:
    keyspace, eviction, _ = attached(
        "allkeys-random", maxmemory=CALIBRATION_EMPTY_USED_MEMORY + 5000
    )
    for i in range(100):
        keyspace.put(f"k{i}", "v", i)
    assert eviction.perform(delete_from(keyspace))
    assert eviction.used_memory <= CALIBRATION_EMPTY_USED_MEMORY + 5000
    assert eviction.evicted == 100 - len(keyspace.keys) > 0


def test_noeviction_refuses_denyoom_commands_with_oom_but_serves_get_and_del() -> None:
    result = noeviction_test(seed=3)
    assert result["error"] == ERR_OOM
    assert result["get_still_works"] and result["del_allowed"]


def test_volatile_policy_without_ttl_keys_cannot_free() -> None:
    keyspace, eviction, _ = attached("volatile-lru", maxmemory=CALIBRATION_EMPTY_USED_MEMORY + 500)
    for i in range(20):
        keyspace.put(f"k{i}", "v", i)
    assert not eviction.perform(delete_from(keyspace))
    eviction.note_expire("k3", 10_000)
    eviction.perform(delete_from(keyspace))
    assert "k3" not in keyspace.keys


def cluster(**config: Any) -> tuple[Simulation, ClusterData[Any, Any]]:
    sim = Simulation(masters=3, replicas=1, seed=5, config={"cluster-node-timeout": 2000, **config})
    return sim, install(sim)


START = converged_start_memory(1_048_576, True)
"""A master with a replica counts the replication buffer's first block too (§25.1)."""


def test_perform_evictions_on_a_master_sends_dels_to_its_replicas() -> None:
    sim, dp = cluster(**{"maxmemory": START + 3000, "maxmemory-policy": "allkeys-lru"})
    owner = sim.cluster.node(dp.lookup("{t}0")["owner"])
    replica = next(n for n in sim.cluster.nodes.values() if n.master_name == owner.name)
    session = Session()
    for i in range(60):
        reply = execute(dp, owner, "c1", ("SET", f"{{t}}{i}", "value"), session)
        assert reply.outcome == "ok"
        sim.run_for(2)
    sim.run_for(20)
    kept = set(dp.data(owner).keys)
    assert 0 < len(kept) < 60
    assert set(dp.data(replica).keys) == kept  # the replica took the evictions as DELs
    evicted = [e for e in sim.cluster.trace.events if e["kind"] == "key_evicted"]
    assert len(evicted) == 60 - len(kept)
    assert dp.lost_writes() == []  # evicted is not lost


def test_noeviction_replies_oom_as_a_request_outcome() -> None:
    sim, dp = cluster(**{"maxmemory": START + 1000})
    owner = sim.cluster.node(dp.lookup("{t}0")["owner"])
    session = Session()
    outcomes = [execute(dp, owner, "c1", ("SET", f"{{t}}{i}", "v"), session) for i in range(40)]
    refused = [r for r in outcomes if r.outcome == "oom"]
    assert refused and refused[0].text == ERR_OOM
    assert execute(dp, owner, "c1", ("GET", "{t}0"), session).outcome == "ok"
    assert execute(dp, owner, "c1", ("DEL", "{t}0"), session).text == "1"


def test_nodes_without_maxmemory_have_no_eviction_state() -> None:
    sim, dp = cluster()
    owner = sim.cluster.node(dp.lookup("k")["owner"])
    execute(dp, owner, "c1", ("SET", "k", "v"), Session())
    assert dp.data(owner).eviction is None


# ---------------------------------------------------------------- §25.3 pool and sampling


def test_eviction_pool_holds_at_most_16_sorted_candidates() -> None:
    keyspace, eviction, clock = attached("allkeys-lru", maxmemory=1, **{"maxmemory-samples": 10})
    for i in range(200):
        clock.now = i * 1000
        keyspace.put(f"k{i}", "v", i)
    for _ in range(5):
        eviction._populate(eviction.keys, "allkeys-lru")
    assert len(eviction.pool) == EVPOOL_SIZE
    scores = [idle for idle, _ in eviction.pool]
    assert scores == sorted(scores)


def test_eviction_pool_skips_ghosts() -> None:
    keyspace, eviction, _ = attached("allkeys-lru", maxmemory=1)
    for i in range(50):
        keyspace.put(f"k{i}", "v", i)
    eviction._populate(eviction.keys, "allkeys-lru")
    for _, key in list(eviction.pool):
        keyspace.put(key, None, 0)
    best = eviction.best_key()
    assert best is not None and best in keyspace.keys


def test_dict_get_some_keys_walks_buckets_and_favours_chain_heads() -> None:
    table = DictTable(b"salt")
    for i in range(3000):
        table.add(str(i))
    assert table.size == 4096
    rng = random.Random(1)
    sample = table.some_keys(rng, 5)
    assert len(sample) == 5 == len(set(sample))
    heads = {chain[0] for chain in table.buckets if len(chain) > 1}
    tails = {chain[-1] for chain in table.buckets if len(chain) > 1}
    counts = {"head": 0, "tail": 0}
    for _ in range(4000):
        for key in table.some_keys(rng, 5):
            if key in heads:
                counts["head"] += 1
            elif key in tails:
                counts["tail"] += 1
    assert counts["head"] > 1.1 * counts["tail"]


@pytest.mark.parametrize(
    ("samples", "low", "high"), [(3, 17.5, 29.1), (5, 8.1, 13.5), (10, 1.87, 3.87)]
)
def test_lru_approximation_error_matches_the_real_test_lru(
    samples: int, low: float, high: float
) -> None:
    assert low <= lru_test("allkeys-lru", samples, 5550, seed=11)["error_pct"] <= high


# ---------------------------------------------------------------- §25.4 LRU clock


def test_lru_clock_has_one_second_resolution() -> None:
    keyspace, eviction, clock = attached("allkeys-lru")
    clock.now = 1_000
    keyspace.put("a", "v", 1)
    clock.now = 1_999
    keyspace.put("b", "v", 2)
    assert eviction.meta["a"] == eviction.meta["b"] == 1
    clock.now = 5_500
    assert eviction._idle("a", "allkeys-lru") == 4_000
    eviction.touch("a")
    assert eviction._idle("a", "allkeys-lru") == 0


# ---------------------------------------------------------------- §25.5 LFU counter


def test_lfu_counter_starts_at_init_val_grows_logarithmically_and_decays() -> None:
    keyspace, eviction, clock = attached("allkeys-lfu")
    keyspace.put("a", "v", 1)
    assert eviction.meta["a"] & 255 == LFU_INIT_VAL
    eviction.touch("a")
    assert eviction.meta["a"] & 255 == LFU_INIT_VAL + 1  # p = 1 at the initial value
    for _ in range(1000):
        eviction.touch("a")
    counter = eviction.meta["a"] & 255
    assert LFU_INIT_VAL + 5 < counter < LFU_INIT_VAL + 30  # ~ log growth, far below 1000
    clock.now = 3 * 60_000  # three idle minutes with lfu-decay-time 1
    assert eviction._lfu_decayed(eviction.meta["a"]) == counter - 3


# ---------------------------------------------------------------- §25.6 random policies


def test_random_policies_evict_without_regard_to_access() -> None:
    error = lru_test("allkeys-random", 5, 5550, seed=2)["error_pct"]
    assert 43 <= error <= 72  # real 57 %: random, far from LRU's 11 %


# ---------------------------------------------------------------- §25.7 replicas


def test_replica_ignores_maxmemory_by_default() -> None:
    keyspace, eviction, _ = attached("allkeys-lru", maxmemory=CALIBRATION_EMPTY_USED_MEMORY + 100)
    for i in range(20):
        keyspace.put(f"k{i}", "v", i)
    assert eviction.perform(delete_from(keyspace), replica=True)
    assert len(keyspace.keys) == 20
    assert DIRECTIVES["replica-ignore-maxmemory"].default is True


def test_config_policies_are_the_eviction_policies() -> None:
    assert DIRECTIVES["maxmemory-policy"].choices == POLICIES


def test_fidelity_eviction_rows_are_within_the_issue_bounds() -> None:
    rows = eviction_rows((0, 1))
    outside = [
        f"{r.experiment} {r.metric}: {r.sim} vs {r.real}" for r in rows if not r.within_bounds
    ]
    assert outside == []
    assert len(rows) == 5 * 13 + 2 + 2


def test_replica_with_replica_ignore_maxmemory_no_evicts_by_itself() -> None:
    keyspace, eviction, _ = attached(
        "allkeys-lru",
        maxmemory=CALIBRATION_EMPTY_USED_MEMORY + 300,
        **{"replica-ignore-maxmemory": "no"},
    )
    for i in range(20):
        keyspace.put(f"k{i}", "v", i)
    assert eviction.perform(delete_from(keyspace), replica=True)
    assert len(keyspace.keys) < 20


def test_lfu_keeps_the_frequently_read_keys_better_than_the_rest() -> None:
    from simulator.fidelity_evict import lfu_test

    result = lfu_test(5350, 10, 16, seed=4)
    assert result["hot_survival"] > result["cold_survival"] + 0.1


def test_lesson_keys_evicted_only_when_maxmemory_is_set() -> None:
    sim, dp = cluster()
    owner = sim.cluster.node(dp.lookup("{t}0")["owner"])
    for i in range(500):
        execute(dp, owner, "c1", ("SET", f"{{t}}{i}", "v" * 100), Session())
    assert not [e for e in sim.cluster.trace.events if e["kind"] == "key_evicted"]


def test_maxmemory_takes_redis_memory_units() -> None:
    from simulator.config import ConfigError, coerce

    assert coerce("maxmemory", "100mb") == 100 * 1024 * 1024
    assert coerce("maxmemory", "2m") == 2_000_000
    assert coerce("maxmemory", 1234) == 1234
    with pytest.raises(ConfigError, match="maxmemory takes bytes or a size like 100mb"):
        coerce("maxmemory", "lots")


@pytest.mark.parametrize("policy", [p for p in POLICIES if p.startswith("volatile")])
def test_volatile_policies_evict_only_keys_with_a_ttl(policy: str) -> None:
    keyspace, eviction, clock = attached(policy, maxmemory=CALIBRATION_EMPTY_USED_MEMORY + 3000)
    for i in range(60):
        clock.now = i * 1000
        keyspace.put(f"k{i}", "v", i)
        if i % 2:
            eviction.note_expire(f"k{i}", 100_000 + i)
    assert eviction.perform(delete_from(keyspace))
    assert all(f"k{i}" in keyspace.keys for i in range(0, 60, 2))  # no TTL: kept
    assert eviction.evicted > 0


@pytest.mark.parametrize("policy", [p for p in POLICIES if p.startswith("allkeys")])
def test_allkeys_policies_evict_any_key(policy: str) -> None:
    keyspace, eviction, _ = attached(policy, maxmemory=CALIBRATION_EMPTY_USED_MEMORY + 3000)
    for i in range(60):
        keyspace.put(f"k{i}", "v", i)
    assert eviction.perform(delete_from(keyspace))
    assert eviction.used_memory <= CALIBRATION_EMPTY_USED_MEMORY + 3000 < eviction.used_memory + 80


def test_the_packaged_eviction_figures_match_the_raw_measurements() -> None:
    """``rcsim fidelity --part eviction`` compares with a packaged copy; it must agree."""
    import json
    from pathlib import Path

    from simulator.fidelity_evict import real_eviction

    raw = json.loads((Path(__file__).parent / "data" / "eviction-expiry.json").read_text())
    packaged = real_eviction()
    for part in ("lru", "lfu", "volatile_ttl"):
        assert len(packaged[part]) == len(raw[part])
        for mine, theirs in zip(packaged[part], raw[part], strict=True):
            assert all(theirs[key] == value for key, value in mine.items())
    assert packaged["noeviction"] == raw["noeviction"]


def test_rcsim_fidelity_part_eviction(capsys: pytest.CaptureFixture[str]) -> None:
    from rcsim.cli import main

    assert main(["fidelity", "--part", "eviction", "--seeds", "1"]) in (0, 1)
    out = capsys.readouterr().out
    assert "| allkeys-lru samples 10 | error % | 2.87 [2.70–3.06] |" in out
    assert "| noeviction | keys before the refused SET |" in out


def test_volatile_policies_see_ttls_set_by_expire_and_set_ex() -> None:
    """§25.3 with §26.1: the volatile-* policies sample ``db->expires``; a TTL given by
    ``SET ... EX``, ``EXPIRE`` (before or after maxmemory applies) reaches the eviction
    state, and ``PERSIST`` takes it away again (ExpireTable.listener -> note_expire)."""
    sim, dp = cluster(
        **{"maxmemory": CALIBRATION_EMPTY_USED_MEMORY + 100_000, "maxmemory-policy": "volatile-ttl"}
    )
    owner = sim.cluster.node(dp.lookup("{t}0")["owner"])
    session = Session()
    assert execute(dp, owner, "c1", ("SET", "{t}ex", "v", "EX", "100"), session).outcome == "ok"
    assert execute(dp, owner, "c1", ("SET", "{t}later", "v"), session).outcome == "ok"
    assert execute(dp, owner, "c1", ("EXPIRE", "{t}later", "50"), session).text == "1"
    assert execute(dp, owner, "c1", ("SET", "{t}plain", "v"), session).outcome == "ok"
    eviction = dp.data(owner).eviction
    assert eviction is not None
    assert set(eviction.expires) == {"{t}ex", "{t}later"}
    assert eviction.expires["{t}later"] < eviction.expires["{t}ex"]  # volatile-ttl's order
    assert execute(dp, owner, "c1", ("PERSIST", "{t}ex"), session).text == "1"
    assert set(eviction.expires) == {"{t}later"}
