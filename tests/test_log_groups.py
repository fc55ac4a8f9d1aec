"""A big cluster's waves of identical verdicts folded into groups (issue 12, the event
log at 1,000 nodes): simulator/views/log_groups.py, read without a screen."""

from __future__ import annotations

import json
from collections import Counter

from simulator.simulation import Simulation
from simulator.trace import TraceEvent
from simulator.views.log_groups import GROUPED_KINDS, VerdictFold, VerdictGroup, subject


def ev(t: int, kind: str, node: str, target: str = "", **fields: object) -> TraceEvent:
    event: TraceEvent = {"t": t, "kind": kind, "node": node, **fields}
    if target:
        event["target"] = target
    return event


def fold(events: list[TraceEvent]) -> list[VerdictGroup]:
    """The groups in the order they were opened."""
    verdicts = VerdictFold()
    groups: list[VerdictGroup] = []
    for event in events:
        group, new = verdicts.join(event)
        assert new == (group not in groups)
        if new:
            groups.append(group)
    return groups


def test_one_wave_about_one_node_is_one_group_in_order() -> None:
    events = [
        ev(100, "fail", "n7", "n12", via="quorum", reports=3, quorum=3),
        ev(101, "fail", "n9", "n12", via="message", sender="n7"),
        ev(101, "fail", "n3", "n12", via="message", sender="n7"),
        ev(105, "fail", "n4", "n12", via="message", sender="n9"),
    ]
    [group] = fold(events)
    assert group.subject == ("fail", "n12", "")
    assert group.count == 4 and group.told == 3
    assert group.first is events[0] and group.last == 105
    assert group.members() == (("n7", 100), ("n9", 101), ("n3", 101), ("n4", 105))


def test_waves_split_by_subject_kind_and_value() -> None:
    groups = fold(
        [
            ev(1, "pfail", "n2", "n1"),
            ev(1, "pfail", "n2", "n5"),  # about another node
            ev(2, "pfail", "n3", "n1"),
            ev(3, "fail", "n2", "n1", via="quorum"),  # another kind
            ev(4, "vote", "n2", "n4", epoch=7),
            ev(4, "vote", "n3", "n4", epoch=7),
            ev(9, "vote", "n5", "n4", epoch=8),  # another epoch: another election
            ev(5, "cluster_state", "n2", state="fail"),
            ev(5, "cluster_state", "n3", state="fail"),
        ]
    )
    assert [(g.subject, g.count) for g in groups] == [
        (("pfail", "n1", ""), 2),
        (("pfail", "n5", ""), 1),
        (("fail", "n1", ""), 1),
        (("vote", "n4", "7"), 2),
        (("vote", "n4", "8"), 1),
        (("cluster_state", "", "fail"), 2),
    ]


def test_the_opposite_verdict_or_a_repeated_observer_ends_a_wave() -> None:
    groups = fold(
        [
            ev(1, "fail", "n2", "n1", via="quorum"),
            ev(2, "fail", "n3", "n1", via="message"),
            ev(8, "fail_cleared", "n2", "n1", reason="no slots"),  # n1 came back
            ev(9, "fail_cleared", "n3", "n1", reason="no slots"),
            ev(20, "fail", "n4", "n1", via="quorum"),  # it failed again: a new wave
            ev(21, "fail", "n2", "n1", via="message"),
            ev(30, "cluster_state", "n2", state="fail"),
            ev(31, "cluster_state", "n2", state="ok"),  # ends the fail state's wave
            ev(32, "cluster_state", "n3", state="fail"),
            ev(40, "pfail", "n2", "n6"),
            ev(41, "pfail", "n2", "n6"),  # n2 again (cleared in between): a new episode
        ]
    )
    assert [(g.subject[0], g.subject[2], g.count, g.first["t"]) for g in groups] == [
        ("fail", "", 2, 1),
        ("fail_cleared", "", 2, 8),
        ("fail", "", 2, 20),
        ("cluster_state", "fail", 1, 30),
        ("cluster_state", "ok", 1, 31),
        ("cluster_state", "fail", 1, 32),
        ("pfail", "", 1, 40),
        ("pfail", "", 1, 41),
    ]


def test_a_sixty_node_failure_folds_every_verdict_once_and_leaves_the_trace_alone() -> None:
    sim = Simulation(masters=30, replicas=1, seed=1, config={"cluster-node-timeout": 2000})
    sim.run_until(500)
    sim.inject("kill", node="n1")
    sim.run_until(7000)
    sim.inject("restart", node="n1")
    sim.run_until(10_000)
    events = sim.trace.events
    before = json.dumps(events, sort_keys=True)
    grouped = [e for e in events if e["kind"] in GROUPED_KINDS]
    groups = fold(grouped)
    assert json.dumps(events, sort_keys=True) == before  # folding changes no event
    # Every verdict joined exactly one group, the groups' members in trace order.
    joined = sorted((t, g.subject, n) for g in groups for n, t in g.members())
    assert joined == sorted((e["t"], subject(e), str(e["node"])) for e in grouped)
    by_subject = Counter(g.subject for g in groups)
    # n1's failure: one wave each of PFAIL, FAIL and FAIL cleared, from all 59 others.
    for kind in ("pfail", "fail", "fail_cleared"):
        assert by_subject[(kind, "n1", "")] == 1
        [wave] = [g for g in groups if g.subject == (kind, "n1", "")]
        assert wave.count == 59 and len({n for n, _ in wave.members()}) == 59
    fail = next(g for g in groups if g.subject == ("fail", "n1", ""))
    quorum = sum(1 for e in grouped if e["kind"] == "fail" and e.get("via") == "quorum")
    assert fail.told == 59 - quorum > 0
    # The election's winner got every master's vote but the dead one's in one group.
    [votes] = [g for g in groups if g.kind == "vote"]
    assert votes.count == 29
    assert len(groups) < len(grouped) / 20
