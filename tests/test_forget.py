"""CLUSTER FORGET as an operator uses it (docs/redis-rules.md §1.1, §16.6): the step
``forget`` sends it to every running node (or to those ``on`` names). Each test is named
after the rule it checks."""

from __future__ import annotations

import pytest

from simulator.harness import runner
from simulator.scenario import ScenarioError, parse_scenario
from simulator.simulation import ActionError, Simulation

NT = 2000


def grown() -> Simulation:
    """3 masters + 3 replicas and a 7th node, an empty master every node knows."""
    sim = Simulation(masters=3, replicas=1, seed=4, config={"cluster-node-timeout": NT})
    sim.inject("add-node", name="n7")
    sim.run_for(10_000)
    assert all("n7" in n.peers for n in sim.cluster.nodes.values())
    return sim


def test_a_dead_node_leaves_every_table_with_forget_where_del_node_refuses() -> None:
    sim = grown()
    sim.inject("kill", node="n7")
    sim.run_for(4 * NT)
    with pytest.raises(ActionError, match=r"No such node ID n7.*forget: n7"):
        sim.inject("del-node", node="n7")
    replies = sim.inject("forget", node="n7")
    assert replies == {name: "OK" for name in ("n1", "n2", "n3", "n4", "n5", "n6")}
    sim.run_for(70_000)  # past the blacklist: nobody knows it, so nobody re-teaches it
    running = [n for n in sim.cluster.nodes.values() if n.name != "n7"]
    assert all("n7" not in n.peers for n in running)
    events = [e for e in sim.cluster.trace.events if e["kind"] == "forget"]
    assert [(e["node"], e["target"], e["reply"]) for e in events] == [
        (name, "n7", "OK") for name in ("n1", "n2", "n3", "n4", "n5", "n6")
    ]


def test_a_node_not_told_re_teaches_the_forgotten_node_once_the_blacklist_expires() -> None:
    sim = grown()
    assert sim.inject("forget", node="n7", on_nodes=["n1"]) == {"n1": "OK"}
    n1 = sim.cluster.node("n1")
    sim.run_for(55_000)  # the blacklist (60 s) keeps the others' gossip about n7 out
    assert "n7" not in n1.peers
    sim.run_for(20_000)
    assert "n7" in n1.peers  # gossip from a node that knows it brought it back


def test_a_replica_refuses_to_forget_its_master() -> None:
    sim = Simulation(masters=3, replicas=1, seed=4, config={"cluster-node-timeout": NT})
    replica = next(n for n in sim.cluster.nodes.values() if n.master_name == "n1")
    replies = sim.inject("forget", node="n1")
    assert replies[replica.name] == "ERR Can't forget my master!"
    assert all(reply == "OK" for name, reply in replies.items() if name != replica.name)
    assert "n1" in replica.peers


def test_a_node_that_does_not_run_cannot_answer_forget() -> None:
    sim = grown()
    sim.inject("kill", node="n2")
    assert sim.inject("forget", node="n7", on_nodes=["n2", "n3"]) == {
        "n2": "(not running)",
        "n3": "OK",
    }


SCENARIO = """
name: forget
cluster: {masters: 3, replicas: 1, config: {cluster-node-timeout: 2000}}
steps:
  - add-node: {name: n7}
  - at: 10s
    kill: n7
  - wait_for: {flag: {observer: n1, node: n7, has: fail}}
  - forget: n7
    expect:
      - event: {kind: forget, node: n2, target: n7, reply: OK}
  - forget: {node: n7, on_nodes: [n1]}
    expect:
      - event: {kind: forget, node: n1, target: n7, reply: ERR Unknown node n7}
"""


def test_a_scenario_forgets_a_dead_node_on_every_node_or_on_some() -> None:
    scenario = parse_scenario(SCENARIO)
    sim = runner.run(scenario, 1)
    driver = runner.driver_of(sim)
    assert driver.passed, [r for r in driver.results if not r.passed]
    events = [e for e in sim.cluster.trace.events if e["kind"] == "forget"]
    assert len(events) == 7  # six nodes, then n1 again


def test_forget_is_refused_on_a_standalone_instance_and_names_known_nodes() -> None:
    standalone = SCENARIO.replace(
        "{masters: 3, replicas: 1,", "{masters: 1, replicas: 1, topology: standalone,"
    )
    with pytest.raises(ScenarioError, match="forget"):
        parse_scenario(standalone.split("  - add-node")[0] + "  - forget: n2\n")
    with pytest.raises(ScenarioError, match=r"<scenario>:\d+:\d+:.*n9"):
        parse_scenario(SCENARIO + "  - forget: {node: n1, on_nodes: [n9]}\n")


def test_the_headless_timeline_says_who_forgot_whom() -> None:
    from simulator.harness.report import timeline

    sim = runner.run(parse_scenario(SCENARIO), 1)
    lines = [line for line in timeline(sim.cluster.trace.events) if "FORGET" in line]
    assert any("n2   CLUSTER FORGET n7 -> OK" in line for line in lines), lines


def test_the_blacklist_expires_when_it_does_on_a_real_cluster() -> None:
    """fidelity/forget-blacklist: n1 re-learns the node it alone forgot once its 60 s
    blacklist expires; the kept real runs (Redis 7.0.15) bound rcsim's moment."""
    import json
    from pathlib import Path

    from simulator.scenario import load_scenario

    data = Path(__file__).parent / "data" / "verify-reports" / "fidelity-forget-blacklist.json"
    (row,) = [r for r in json.loads(data.read_text())["rows"] if r["label"].startswith("step 5")]
    sim = runner.run(load_scenario("scenarios/fidelity/forget-blacklist.yaml"), 1)
    driver = runner.driver_of(sim)
    assert driver.passed
    waited = next(r for r in driver.results if r.step == 4).at - 16_000
    assert min(row["real"]) * 0.97 <= waited <= max(row["real"]) * 1.03
