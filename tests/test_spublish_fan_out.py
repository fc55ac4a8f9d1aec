"""§19 in the one-instance-or-cluster-3-shards lesson: PUBLISH goes over the bus to every
other node, SPUBLISH only to the other members of the channel's shard."""

from __future__ import annotations

from simulator.harness.runner import NO_CHECKPOINTS, build
from simulator.scenario import load_scenario


def test_publish_reaches_every_node_and_spublish_only_the_shard() -> None:
    sim = build(load_scenario("one-instance-or-cluster-3-shards"), checkpoint_ms=NO_CHECKPOINTS)
    sim.set_bus_trace(True)
    sim.run_until(7100)  # PUBLISH news at 7 s, SPUBLISH news at 7.01 s, both on n1
    sent: dict[str, list[str]] = {"PUBLISH": [], "PUBLISHSHARD": []}
    for event in sim.trace.events:
        if event.get("kind") == "bus_message" and event.get("type") in sent:
            assert event.get("node") == "n1"
            sent[str(event["type"])].append(str(event["target"]))
    assert sorted(sent["PUBLISH"]) == ["n2", "n3", "n4", "n5", "n6"]
    assert sent["PUBLISHSHARD"] == ["n4"]  # n1's replica: the shard of slot 5161
