"""The gossip rules of older Redis versions (``cluster.behaviour.gossip``,
simulator/node/gossip_rules.py, docs/redis-rules.md §7.1), next to 7.0's."""

from __future__ import annotations

import pytest

from rcsim.verify.playable import refusals
from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.harness.sweep import run_one, settings
from simulator.messages import PFAIL
from simulator.scenario import ScenarioError, load_scenario, parse_scenario, resolve
from simulator.trace import Trace


def _node_with_suspects(rule: str | None, suspects: int) -> tuple[Cluster, object]:
    """n2 of a converged 30+30 cluster, flagging the first ``suspects`` masters PFAIL."""
    engine, trace = Engine(4), Trace()
    cluster = Cluster(engine, trace, standard_topology(30, 1), {}, gossip_rule=rule)
    node = cluster.node("n2")
    for i in range(3, 3 + suspects):
        node.peers[f"n{i}"].flags |= PFAIL
    node.stats_pfail_nodes = suspects  # as clusterCron counts them
    return cluster, node


def _sections(node: object, count: int = 300) -> list[tuple[str, ...]]:
    return [tuple(e[0] for e in node._gossip()) for _ in range(count)]  # type: ignore[attr-defined]


def test_redis_7_0_appends_every_pfail_node_to_every_section() -> None:
    _, node = _node_with_suspects(None, 4)
    suspects = {"n3", "n4", "n5", "n6"}
    for names in _sections(node):
        assert suspects <= set(names)
        assert len(names) == 6 + 4  # max(3, 60/10) random healthy nodes, then the suspects
        assert not suspects & set(names[:6])


def test_redis_3_0_rc1_names_three_random_nodes_and_no_suspect_on_purpose() -> None:
    _, node = _node_with_suspects("redis-3.0-rc1", 4)
    sections = _sections(node)
    assert all(len(names) == 3 and len(set(names)) == 3 for names in sections)
    with_suspect = sum(1 for names in sections if {"n3", "n4", "n5", "n6"} & set(names))
    # Chance alone: 3 draws among 59 other nodes, 4 of them suspects (~19 % of sections).
    assert 0.08 * len(sections) < with_suspect < 0.35 * len(sections)


def test_redis_3_0_names_n_over_10_nodes_biased_towards_suspects_appends_none() -> None:
    _, node = _node_with_suspects("redis-3.0", 4)
    sections = _sections(node)
    assert all(len(names) <= 6 and len(set(names)) == len(names) for names in sections)
    with_suspect = sum(1 for names in sections if {"n3", "n4", "n5", "n6"} & set(names))
    # The first 5 draws take only PFAIL/FAIL nodes (each hits one of the 4 suspects among
    # 60 with p = 1/15): ~54 % of sections name a suspect, against ~35 % for 6 unbiased
    # draws, and none is appended, so many sections name none.
    assert 0.42 * len(sections) < with_suspect < 0.7 * len(sections)


def test_the_scenario_key_selects_the_rule_and_rejects_unknown_ones() -> None:
    text = "name: g\ncluster:\n  masters: 3\n  behaviour:\n    gossip: {}\n"
    assert parse_scenario(text.format("redis-3.0"), "g.yaml").cluster.gossip == "redis-3.0"
    plain = parse_scenario("name: g\ncluster: {masters: 3}\n", "g.yaml")
    assert plain.cluster.gossip == "redis-7.0"
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text.format("redis-2.8"), "g.yaml")
    assert "unknown gossip rule 'redis-2.8'" in "\n".join(error.value.errors)


def test_the_lesson_reaches_fail_once_its_cluster_gossips_as_redis_7_0() -> None:
    """big-cluster-reports (60+60, NT 1 s) never reaches FAIL with redis-3.0-rc1 (its own
    expectations, checked with every bundled lesson); the same file with Redis 7.0's rule
    marks n1 FAIL within 2 s of the crash and promotes n61."""
    source, text, _ = resolve("big-cluster-reports")
    assert "gossip: redis-3.0-rc1" in text
    (setting,) = settings(text, source, ["cluster.behaviour.gossip=redis-7.0"])
    row = run_one(setting.text, setting.source, seed=1)
    assert row["first_fail"] is not None and row["first_fail"] < 2000
    assert row["promoted"] is not None
    assert row["passed"] is False  # its "no FAIL" expectations fail, as they should


def test_rcsim_verify_refuses_an_older_gossip_rule() -> None:
    reasons = refusals(load_scenario("big-cluster-reports"), None)
    assert any("'behaviour: gossip: redis-3.0-rc1' is an older Redis's rule" in r for r in reasons)
