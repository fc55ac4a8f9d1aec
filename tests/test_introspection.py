"""CLUSTER NODES / INFO / SLOTS / SHARDS compared with real 7.0.15 output (tests/data/samples)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from simulator import introspection
from simulator.simulation import Simulation

SAMPLES = Path(__file__).parent / "data" / "samples"
NODE_LINE = re.compile(
    r"^[0-9a-f]{40} 127\.0\.0\.1:(\d+)@(\d+) ([a-z?,]+) ([0-9a-f]{40}|-) (\d+) (\d+) (\d+) "
    r"(connected|disconnected)( \d+(-\d+)?)*$"
)


def _sample_lines(folder: str, name: str) -> list[str]:
    return (SAMPLES / folder / name).read_text().splitlines()


def _flags(lines: list[str]) -> set[str]:
    return {line.split()[2] for line in lines}


def _info_keys(text: str) -> list[str]:
    return [line.split(":")[0] for line in text.replace("\r", "").splitlines() if line]


def _after_kill(masters: int, replicas: int, config: dict[str, object], until: int) -> Simulation:
    sim = Simulation(masters=masters, replicas=replicas, seed=3, config=config)
    sim.run_until(2000)
    sim.inject("kill", node="n1")
    sim.run_until(until)
    return sim


def test_every_cluster_nodes_line_has_the_real_shape() -> None:
    real = _sample_lines("healthy-3m3r", "cluster-nodes-from-replica.txt")
    assert all(NODE_LINE.match(line) for line in real)
    sim = Simulation(masters=3, replicas=1, seed=1, config={"cluster-node-timeout": 2000})
    sim.run_until(5000)
    for name in ("n1", "n4"):
        ours = introspection.cluster_nodes(sim.cluster, name).splitlines()
        assert len(ours) == len(real) == 6
        for line in ours:
            match = NODE_LINE.match(line)
            assert match, line
            assert int(match.group(2)) == int(match.group(1)) + 10000  # bus port = port + 10000
        assert sum("myself" in line.split()[2] for line in ours) == 1
        assert _flags(ours) | {"myself,master", "myself,slave"} == _flags(real) | {
            "myself,master",
            "myself,slave",
        }


def test_a_replica_shows_its_masters_config_epoch_and_id() -> None:
    sim = Simulation(masters=3, replicas=1, seed=1)
    sim.run_until(1000)
    lines = {
        line.split()[1].split(":")[1].split("@")[0]: line.split()
        for line in introspection.cluster_nodes(sim.cluster, "n2").splitlines()
    }
    replica, master = lines["7003"], lines["7000"]  # n4 replicates n1
    assert replica[3] == master[0]
    assert replica[6] == master[6] == "1"


def test_pfail_and_nofailover_flags_print_like_redis_during_detection() -> None:
    real = _sample_lines(
        "failed-master-no-failover-3m3r", "cluster-nodes-during-pfail-from-master.txt"
    )
    sim = Simulation(
        masters=3,
        replicas=1,
        seed=3,
        config={"cluster-node-timeout": 2000, "cluster-replica-no-failover": "yes"},
    )
    sim.run_until(2000)
    sim.inject("kill", node="n1")
    assert sim.run_until_condition(
        lambda: bool(sim.cluster.node("n2").peers["n1"].flags & 4), 10_000
    )
    # The cron that set PFAIL also reconnected to n1; the RST refusing it comes in the
    # same millisecond (a real poll cannot land in between): let it come.
    sim.run_until(sim.now)
    ours = introspection.cluster_nodes(sim.cluster, "n2").splitlines()
    suspect = next(line for line in ours if line.split()[2].startswith("master,fail?"))
    fields = suspect.split()
    assert fields[2] == "master,fail?,nofailover"
    assert fields[4] != "0" and fields[7] == "disconnected" and fields[8] == "0-5460"
    assert _flags(ours) == _flags(real)


def test_after_a_failover_the_dead_master_is_listed_failed_without_slots() -> None:
    real = _sample_lines("failed-master-after-failover-3m3r", "cluster-nodes-from-master.txt")
    sim = _after_kill(3, 1, {"cluster-node-timeout": 2000}, 12_000)
    ours = introspection.cluster_nodes(sim.cluster, "n2").splitlines()
    dead = next(line.split() for line in ours if "fail" in line.split()[2])
    assert dead[2] == "master,fail" and dead[7] == "disconnected" and len(dead) == 8
    assert _flags(ours) - {"myself,master"} == _flags(real) - {"myself,master"}


def test_cluster_info_fields_come_in_redis_order_with_the_same_values_when_down() -> None:
    real_text = (SAMPLES / "failed-master-3m0r" / "cluster-info.txt").read_text()
    sim = _after_kill(3, 0, {"cluster-node-timeout": 2000}, 12_000)
    ours = introspection.cluster_info(sim.cluster, "n2")
    real_values = dict(line.split(":", 1) for line in real_text.splitlines() if ":" in line)
    our_values = dict(line.split(":", 1) for line in ours.replace("\r", "").splitlines())
    for key in (
        "cluster_state",
        "cluster_slots_assigned",
        "cluster_slots_ok",
        "cluster_slots_pfail",
        "cluster_slots_fail",
        "cluster_known_nodes",
        "cluster_size",
        "cluster_current_epoch",
    ):
        assert our_values[key] == real_values[key], key
    assert _info_keys(ours)[:9] == _info_keys(real_text)[:9]
    assert _info_keys(ours)[-1] == "total_cluster_links_buffer_limit_exceeded"
    assert ours.endswith("\r\n")


def test_cluster_slots_has_the_real_structure_and_ranges() -> None:
    real = json.loads((SAMPLES / "healthy-3m3r" / "cluster-slots.json").read_text())
    sim = Simulation(masters=3, replicas=1, seed=1)
    sim.run_until(1000)
    ours = introspection.cluster_slots(sim.cluster, "n1")
    assert [(r[0], r[1], len(r)) for r in ours] == [(r[0], r[1], len(r)) for r in real]
    for ours_range, real_range in zip(ours, real, strict=True):
        for node, real_node in zip(ours_range[2:], real_range[2:], strict=True):
            assert [type(v) for v in node] == [type(v) for v in real_node]


def test_cluster_shards_has_the_real_fields() -> None:
    real = json.loads((SAMPLES / "healthy-3m3r" / "cluster-shards.json").read_text())
    real_node_keys = {
        tuple(node[0::2]) for shard in real for node in shard[3]
    }  # RESP2 flat maps: keys at even positions
    sim = Simulation(masters=3, replicas=1, seed=1)
    sim.run_until(1000)
    shards = introspection.cluster_shards(sim.cluster, "n1")
    assert [s["slots"] for s in shards] == [shard[1] for shard in real]
    assert {tuple(node) for s in shards for node in s["nodes"]} == real_node_keys
    assert {n["health"] for s in shards for n in s["nodes"]} == {"online"}


def test_cluster_check_reports_agreement_and_coverage() -> None:
    sim = Simulation(masters=3, replicas=0, seed=1, config={"cluster-node-timeout": 1000})
    sim.run_until(2000)
    ok, lines = introspection.check_report(sim.cluster)
    assert ok and "[OK] All 16384 slots covered." in lines
    sim.inject("kill", node="n1")
    sim.run_until(8000)
    ok, lines = introspection.check_report(sim.cluster)
    assert not ok and "[ERR] Not all 16384 slots are covered by nodes." in lines
