"""The ``bus_message`` trace kind (issue 14): off by default, on with a flag, and the
message view's index over it (simulator/views/bus.py)."""

from __future__ import annotations

import json
from pathlib import Path

from rcsim.cli import main
from simulator.harness.runner import build, run
from simulator.scenario import load_scenario
from simulator.simulation import Simulation
from simulator.trace_kinds import KINDS
from simulator.views import MessageQuery


def lesson(trace_bus: bool) -> Simulation:
    return run(load_scenario("master-crash"), 1, trace_bus=trace_bus)


def test_off_by_default_and_on_with_the_flag_without_changing_any_other_event() -> None:
    quiet, loud = lesson(False), lesson(True)
    assert not any(e["kind"] == "bus_message" for e in quiet.trace.events)
    messages = [e for e in loud.trace.events if e["kind"] == "bus_message"]
    assert len(messages) > 100
    others = [e for e in loud.trace.events if e["kind"] != "bus_message"]
    assert others == quiet.trace.events  # tracing the bus changes nothing else
    for event in messages:
        assert set(event) - {"t", "kind"} <= KINDS["bus_message"].keys
        assert event["sent"] <= event["t"]
        assert event["node"] != event["target"]


def test_rcsim_run_trace_bus_writes_the_messages(tmp_path: Path, capsys: object) -> None:
    plain, bus = tmp_path / "plain.jsonl", tmp_path / "bus.jsonl"
    assert main(["run", "master-crash", "--quiet", "--trace", str(plain)]) == 0
    assert main(["run", "master-crash", "--quiet", "--trace-bus", "--trace", str(bus)]) == 0
    kinds = [json.loads(line).get("kind") for line in plain.read_text().splitlines()]
    assert "bus_message" not in kinds
    events = [json.loads(line) for line in bus.read_text().splitlines()]
    fails = [e for e in events if e.get("kind") == "bus_message" and e["type"] == "FAIL"]
    assert fails and all(e["about"] == "n1" for e in fails)


def test_the_lesson_s_story_is_in_the_messages() -> None:
    """PFAIL reports about n1 travel in gossip before the FAIL, the FAIL reaches every
    live node, the candidate's AUTH_REQUEST carries its election epoch and each vote
    comes back as an AUTH_ACK for that epoch."""
    sim = lesson(True)
    events = sim.trace.events
    fail_at = next(e["t"] for e in events if e["kind"] == "fail" and e["target"] == "n1")
    reports = [
        e
        for e in events
        if e["kind"] == "bus_message"
        and e["t"] <= fail_at
        and ["n1", "master,fail?"] in e.get("gossip", [])
    ]
    assert reports, "no PFAIL report about n1 travelled before the FAIL"
    fail = [e for e in events if e["kind"] == "bus_message" and e["type"] == "FAIL"]
    marker = next(e["node"] for e in events if e["kind"] == "fail" and e["target"] == "n1")
    reached = {e["target"] for e in fail if e["node"] == marker}
    assert reached == {"n2", "n3", "n4", "n5", "n6"} - {marker}
    started = next(e for e in events if e["kind"] == "election_started")
    requests = [e for e in events if e["kind"] == "bus_message" and e["type"] == "AUTH_REQUEST"]
    assert {e["node"] for e in requests} == {started["node"]}
    assert {e["epoch"] for e in requests} == {started["epoch"]}
    votes = {e["node"] for e in events if e["kind"] == "vote"}
    acks = [e for e in events if e["kind"] == "bus_message" and e["type"] == "AUTH_ACK"]
    assert {e["node"] for e in acks} == votes
    assert {e["epoch"] for e in acks} == {started["epoch"]}


def tui_lesson() -> Simulation:
    sim = build(load_scenario("master-crash"), 1)
    sim.set_bus_trace()
    return sim


def test_the_window_folds_a_broadcast_and_filters_by_type_and_node() -> None:
    sim = tui_lesson()
    sim.run_until(8000)
    window = sim.views.messages(MessageQuery(8000, 10, types=frozenset({"FAIL"}), node="n1"))
    # every master that reached FAIL by itself broadcasts it (§8.4): each broadcast is one
    # row, from its sender to every other live node
    assert window.rows
    for fail in window.rows:
        assert fail.type == "FAIL" and fail.about == "n1"
        assert {fail.src, *fail.dsts} == {"n2", "n3", "n4", "n5", "n6"}
    assert len({fail.src for fail in window.rows}) == len(window.rows)
    default = sim.views.messages(MessageQuery(8000, 200))
    assert default.hidden > 0  # plain heartbeats thinned out
    for row in default.rows:
        assert row.type not in ("PING", "PONG") or "n1" in row.reports
    every = sim.views.messages(MessageQuery(8000, 200, heartbeats="all"))
    assert any(r.type == "PING" and not r.reports for r in every.rows)
    none = sim.views.messages(MessageQuery(8000, 200, heartbeats="hide"))
    assert {r.type for r in none.rows} == {"FAIL", "AUTH_REQUEST", "AUTH_ACK", "UPDATE"} & {
        r.type for r in default.rows
    }
    assert [r.t for r in default.rows] == sorted(r.t for r in default.rows)


def test_the_window_follows_a_rewind() -> None:
    sim = tui_lesson()
    sim.run_until(9000)
    query = MessageQuery(4900, 30, heartbeats="all")
    sim.views.messages(query)  # index up to 9 s
    sim.rewind(5000)
    after = sim.views.messages(query)
    fresh = tui_lesson()
    fresh.run_until(5000)
    assert after == fresh.views.messages(query)
    sim.run_until(9000)
    assert sim.views.messages(MessageQuery(9000, 30)).rows  # folds the replayed events


def test_the_index_notices_a_rewind_even_after_the_trace_grew_back() -> None:
    sim = tui_lesson()
    sim.run_until(6000)
    query = MessageQuery(5900, 40, heartbeats="all")
    sim.views.messages(query)
    sim.rewind(3000)
    sim.run_until(6000)  # longer than before the rewind again: new event objects
    fresh = tui_lesson()
    fresh.run_until(6000)
    assert sim.views.messages(query) == fresh.views.messages(query)


def test_a_trace_recorded_with_trace_bus_replays_in_the_tui_with_its_messages(
    tmp_path: Path, capsys: object
) -> None:
    from tui.replay import replay_session

    plain, bus = tmp_path / "plain.jsonl", tmp_path / "bus.jsonl"
    assert main(["run", "master-crash", "--quiet", "--trace", str(plain)]) == 0
    assert main(["run", "master-crash", "--quiet", "--trace-bus", "--trace", str(bus)]) == 0
    with_bus = replay_session(str(bus), at=7000)  # verified byte for byte on the way
    rows = with_bus.sim.views.messages(MessageQuery(7000, 50)).rows
    assert any(r.type == "FAIL" and r.about == "n1" for r in rows)
    without = replay_session(str(plain), at=7000)
    assert not without.sim.views.messages(MessageQuery(7000, 50)).traced


def test_trace_bus_with_resp_traces_the_messages(tmp_path: Path, capsys: object) -> None:
    """``rcsim run --resp --trace-bus``: the wall-clock run traces the bus too (1.5 s of
    wall time, no client needed)."""
    from tests.test_resp_live import free_base

    trace = tmp_path / "resp.jsonl"
    argv = ["run", "master-crash", "--quiet", "--resp", "--until", "1.5s"]
    argv += ["--base-port", str(free_base(6)), "--trace-bus", "--trace", str(trace)]
    main(argv)
    kinds = [json.loads(line)["kind"] for line in trace.read_text(encoding="utf-8").splitlines()]
    assert kinds[0] == "header" and kinds.count("bus_message") > 20
