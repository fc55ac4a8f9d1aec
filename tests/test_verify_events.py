"""Real polls become rcsim trace events, and report.py's milestone reader reads them."""

from __future__ import annotations

from rcsim.verify.clusterview import PeerLine, Snapshot
from rcsim.verify.conditions import World, check
from rcsim.verify.events import EventLog
from rcsim.verify.poller import Sample
from rcsim.verify.scenario_api import Fault, milestones_of, model

IDS = {"id1": "n1", "id2": "n2", "id4": "n4"}


def line(
    node_id: str, flags: set[str], master: str | None = None, slots: range = range(0)
) -> PeerLine:
    return PeerLine(
        node_id, "127.0.0.20:7100@17100", frozenset(flags), master, 1, "connected", tuple(slots)
    )


def view(
    name: str, state: str, me_flags: set[str], n1_flags: set[str], master: str | None = None
) -> Snapshot:
    ids = {v: k for k, v in IDS.items()}
    peers = {
        "n1": line("id1", n1_flags | ({"myself"} if name == "n1" else set()), slots=range(0, 5461)),
        name: line(ids[name], me_flags | {"myself"}, master),
    }
    return Snapshot(name, state, dict(sorted(peers.items())))


def samples() -> list[Sample]:
    return [
        Sample(0, "n2", view("n2", "ok", {"master"}, {"master"})),
        Sample(0, "n4", view("n4", "ok", {"replica"}, {"master"}, "id1")),
        Sample(2504.4, "n2", view("n2", "ok", {"master"}, {"master", "pfail"})),
        Sample(3010, "n2", view("n2", "fail", {"master"}, {"master", "fail"})),
        Sample(3600, "n4", view("n4", "fail", {"replica"}, {"master", "fail"}, "id1")),
        Sample(3650, "n4", view("n4", "ok", {"master"}, {"master", "fail"})),
        Sample(3700, "n2", view("n2", "ok", {"master"}, {"master", "fail"})),
        Sample(3800, "n2", None),  # stopped answering: no event of its own
    ]


def test_changes_become_trace_events() -> None:
    log = EventLog(IDS)
    log.add(2000, "crash", "n1")
    log.consume(samples())
    kinds = [(e["t"], e["kind"], e.get("node"), e.get("target")) for e in log.events()]
    assert kinds == [
        (2000, "crash", "n1", None),
        (2504, "pfail", "n2", "n1"),
        (3010, "fail", "n2", "n1"),
        (3010, "cluster_state", "n2", None),
        (3600, "fail", "n4", "n1"),
        (3600, "cluster_state", "n4", None),
        (3650, "role", "n4", None),
        (3650, "promoted", "n4", "n1"),
        (3650, "cluster_state", "n4", None),
        (3700, "cluster_state", "n2", None),
    ]


def test_consume_is_incremental() -> None:
    log = EventLog(IDS)
    everything = samples()
    log.consume(everything[:3])
    log.consume(everything)
    assert len(log.events()) == 9


def test_report_milestones_read_real_events() -> None:
    log = EventLog(IDS)
    log.add(2000, "crash", "n1")
    log.consume(samples())
    fault = Fault("n1", "crash", 2000, {"n1": "ok", "n2": "ok", "n4": "ok"})
    milestones = milestones_of(log.events(), fault)
    assert milestones["first_pfail"] == 504
    assert milestones["first_fail"] == 1010
    assert milestones["promoted"] == 1650
    assert milestones["promoted_node"] == "n4"
    assert milestones["all_ok"] == 1700


def test_conditions_on_the_real_world() -> None:
    log = EventLog(IDS)
    log.consume(samples())
    last = {s.node: s.view for s in samples() if s.view is not None}
    world = World(last, {"n1": "dead", "n2": "running", "n4": "running"}, log.events())
    loc = model.Loc("x.yaml", 1, 1)
    assert check(world, model.Promoted(loc=loc, node="n4"), 0)[0]
    assert check(world, model.Flag(loc=loc, observer="n2", node="n1", has="fail"), 0)[0]
    assert not check(world, model.Flag(loc=loc, observer="n1", node="n2", has="fail"), 0)[0]
    assert check(world, model.ClusterState(loc=loc, state="ok"), 0)[0]
    assert check(world, model.Role(loc=loc, roles={"n4": "master"}), 0)[0]
    assert check(world, model.Event(loc=loc, kind="pfail", target="n1", within=600), 2000)[0]
    assert not check(world, model.Event(loc=loc, kind="pfail", target="n1", within=400), 2000)[0]
    # n1 is dead, n4 claims nothing in this sketch: slots 0-5460 have no live owner
    assert not check(world, model.Covered(loc=loc), 0)[0]
