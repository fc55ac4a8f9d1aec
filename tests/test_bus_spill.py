"""Old heartbeats spilled to disk (simulator/views/bus_spill.py, issue 12): the message
view shows the same windows, an export writes the same trace, a rewind cuts the spill.

The limits are shrunk (the message view scans 20 messages, keeps 40 whole, writes
chunks of 50) so a 6-node cluster spills within a few simulated seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator.views.bus as bus
import simulator.views.bus_spill as bus_spill
from simulator.trace import event_json
from simulator.views import MessageQuery, MessageWindow
from simulator.views.bus_spill import is_stub
from tui.launch import cluster_session
from tui.model import Session
from tui.session_io import export_trace

SCAN = 20
END_MS = 8_000
QUERIES = [
    MessageQuery(until=0, rows=rows, types=types, node=node, heartbeats=heartbeats)
    for rows, types, node, heartbeats in (
        (10, None, None, "reports"),
        (10, None, None, "all"),
        (10, None, None, "hide"),
        (5, frozenset(("PING",)), "n2", "all"),
        (5, None, "n1", "reports"),
    )
]


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bus, "SCAN_LIMIT", SCAN)
    monkeypatch.setattr(bus_spill, "SCAN_LIMIT", SCAN)
    monkeypatch.setattr(bus_spill, "CHUNK", 50)


def _session(spill: bool) -> Session:
    session = cluster_session(3, 1, seed=3, playing=False)
    if spill:
        session.sim.views._spill = bus_spill.BusSpill(keep=2 * SCAN, every=0)
    return session


def _play(session: Session, spill: bool, until: int, step: int = 100) -> None:
    """Run to ``until`` in ``step`` ms slices, syncing (and spilling) after each."""
    sim = session.sim
    while sim.now < until:
        if sim.now < 500 <= sim.now + step:
            sim.run_until(500)
            if "n1" in sim.views.live_names():
                session.inject("kill", node="n1")  # PFAIL reports, FAIL, an election
        sim.run_until(min(until, sim.now + step))
        if spill:
            session.sync()
        else:
            session.facts.feed(sim.trace.events)


def _windows(session: Session) -> list[MessageWindow]:
    now = session.sim.now
    return [
        session.sim.views.messages(
            MessageQuery(q.until or now, q.rows, q.types, q.node, q.heartbeats)
        )
        for q in QUERIES
    ]


def _whole(session: Session) -> list[str]:
    return [event_json(e) for e in session.sim.views.whole_trace()]


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], list[MessageWindow], list[str]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bus, "SCAN_LIMIT", SCAN)
        session = _session(spill=False)
        _play(session, spill=False, until=END_MS)
        log = [line.text for line in session.facts.log]
        return _whole(session), _windows(session), log


def test_spilled_heartbeats_leave_the_views_and_the_export_unchanged(
    reference: tuple[list[str], list[MessageWindow], list[str]], tmp_path: Path
) -> None:
    trace, windows, log = reference
    session = _session(spill=True)
    _play(session, spill=True, until=END_MS)
    events = session.sim.trace.events
    stubs = [e for e in events if is_stub(e)]
    assert len(stubs) > len(events) // 2  # most of a quiet cluster's trace is heartbeats
    assert any("gossip" in s for s in stubs)  # PFAIL reports about n1 spilled too
    assert len({id(s) for s in stubs}) < len(stubs)  # shared: one per ms, type and reports
    assert _windows(session) == windows
    assert any(w.hidden for w in windows) and all(w.rows for w in windows[:3])
    assert [line.text for line in session.facts.log] == log
    assert _whole(session) == trace
    path = tmp_path / "trace.jsonl"
    export_trace(session, path)
    assert path.read_text(encoding="utf-8").splitlines()[1:] == trace


def test_a_rewind_below_the_spilled_heartbeats_cuts_the_spill_and_replays_the_same(
    reference: tuple[list[str], list[MessageWindow], list[str]],
) -> None:
    trace, windows, _ = reference
    session = _session(spill=True)
    _play(session, spill=True, until=END_MS)
    spilled = session.sim.views.spill_bus()
    session.seek(1_200)  # below most of what was spilled (a checkpoint at 0 or 5 s)
    cut = len(session.sim.trace.events)
    assert _whole(session) == trace[:cut]  # the export after the rewind: the prefix
    assert session.sim.views.spill_bus() < spilled
    _play(session, spill=True, until=END_MS)
    assert _windows(session) == windows
    assert _whole(session) == trace


def test_the_spill_never_keeps_fewer_than_a_window_scans() -> None:
    with pytest.raises(ValueError, match="SCAN_LIMIT"):
        bus_spill.BusSpill(keep=SCAN - 1)


@pytest.mark.parametrize(
    ("step", "entries", "most"), [(7, 10**9, 7), (10**9, 1, 1)], ids=["heartbeats", "entries"]
)
def test_a_look_spills_a_step_at_most_and_the_next_ones_catch_up(
    reference: tuple[list[str], list[MessageWindow], list[str]],
    step: int,
    entries: int,
    most: int,
) -> None:
    """A look spills ``step`` heartbeats at most, and stops once they held ``entries``
    gossip entries (every heartbeat carries one at least: with 1, one heartbeat a look),
    so no fold stops the TUI for long at any size; a look left behind is followed
    by one at every fold, each spilling what the trace grew meanwhile and up to a step
    more, until none is left: the same windows, log and export."""
    trace, windows, log = reference
    session = _session(spill=True)
    views = session.sim.views
    views._spill = bus_spill.BusSpill(keep=2 * SCAN, every=0, step=step, entries=entries)
    spill, sim = views._spill, session.sim
    _play(session, spill=True, until=500)  # n1 killed at 500 ms, as in the reference
    steps = []
    while sim.now < END_MS:
        sim.run_until(sim.now + 20)
        before, checked, behind = spill.spilled, spill.checked, spill.behind
        session.sync()  # one look (Session.fold)
        grew = len(sim.trace.events) - checked if behind else 0
        steps.append((spill.spilled - before, grew))
    assert all(spilled <= most + grew for spilled, grew in steps)
    assert max(spilled for spilled, _ in steps) > most  # behind: it caught up faster
    while spill.behind:
        session.sync()
    assert _windows(session) == windows
    assert [line.text for line in session.facts.log] == log
    assert _whole(session) == trace
