"""A saved TUI session replays headless to the same trace, byte for byte (issue 16 item 1).

The session is the TUI's own model (``tui.launch.scenario_session``, ``Session.seek`` and
``Session.inject``, which the keys call) and the file is written by the TUI's saver
(``tui.session_io.save_session``, the ``S`` key); the replay is the headless runner
(``simulator.harness.runner.run``, what ``rcsim run`` does). The property test draws, for
every bundled lesson, injections of every action a TUI key makes, at times before, during
and after the lesson's steps and its end, sometimes going back in time first (a fork).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from simulator.actions import ACTIONS
from simulator.harness.runner import NO_CHECKPOINTS, build, driver_of, run
from simulator.scenario import load_scenario
from simulator.scenario.bundled import bundled_names
from simulator.simulation import ActionError
from simulator.trace import TraceEvent, write_jsonl
from tui.launch import scenario_session
from tui.model import Session
from tui.session_io import save_session

ROOT = Path(__file__).resolve().parent.parent

# The slow lessons (big clusters, busy clients) get one example each, the others two.
HEAVY = frozenset(
    {
        "add-node-rebalance",
        "big-cluster-reports",
        "open-slot",
        "live-resharding",
        "mass-failure",
        "minority-partition",
        "validity-window",
    }
)
EXAMPLES = 2

# Every action a TUI key injects, plus the other cluster and redis-cli verbs a learner
# may reach from the TUI (fix, rebalance, del-node, set-config).
KEY_ACTIONS = (
    "kill",
    "pause",
    "resume",
    "restart",
    "partition",
    "cut",
    "heal",
    "failover",
    "reshard",
    "add-node",
    "fix",
    "rebalance",
    "del-node",
    "set-config",
    "shutdown",
    "forget",
)


def jsonl(events: list[TraceEvent]) -> str:
    stream = io.StringIO()
    write_jsonl(events, stream)
    return stream.getvalue()


def action_args(data: st.DataObject, session: Session, action: str) -> dict[str, Any]:
    """Arguments as the TUI's key handlers build them, drawn from the live cluster."""
    views = session.sim.views
    names = list(views.names())
    masters = list(views.masters()) or names
    node = data.draw(st.sampled_from(names), label="node")
    if action in ("kill", "pause", "resume", "restart", "del-node", "shutdown"):
        return {"node": node}
    if action == "partition":
        cut = data.draw(st.integers(1, len(names) - 1), label="split")
        return {"groups": [names[:cut], names[cut:]]}
    if action == "cut":
        return {"from": [node], "to": [n for n in names if n != node]}
    if action == "heal":
        return {"groups": None}
    if action == "failover":
        mode = data.draw(st.sampled_from(("default", "force", "takeover")), label="mode")
        return {"node": node, "mode": mode}
    if action == "reshard":
        source = data.draw(st.sampled_from(masters), label="source")
        target = data.draw(st.sampled_from(masters), label="target")
        count = data.draw(st.integers(1, 40), label="count")
        return {"source": source, "target": target, "count": count}
    if action == "add-node":
        return {"name": None, "replica_of": None}
    if action == "forget":  # X: every other node, or the one typed
        everyone = data.draw(st.booleans(), label="everyone")
        other = data.draw(st.sampled_from(names), label="on")
        return {"node": node, "on_nodes": None if everyone else [other]}
    if action == "set-config":
        timeout = data.draw(st.sampled_from((1000, 2000, 5000)), label="NT")
        return {"node": node, "settings": {"cluster-node-timeout": timeout}}
    return {}


def replay_matches(session: Session, saved: Path, *, whole: bool = True) -> None:
    """``rcsim run --trace-bus`` on the saved file gives the session's trace, byte for byte, over the
    time both cover; it reaches every injection, and applies each without an error.
    ``whole=False`` replays headless only as far as the session went (to save time)."""
    scenario = load_scenario(str(saved))
    if whole:
        replay = run(scenario, trace_bus=True)  # the TUI traces the bus (rcsim run --trace-bus)
    else:
        replay = build(scenario, checkpoint_ms=NO_CHECKPOINTS)
        replay.set_bus_trace()
        # to the session's moment: events inside the last whole millisecond can sit at
        # fractional times (sub-millisecond client sends), so stopping at now - 1 would
        # leave some of those the horizon below compares undone
        replay.run_until(session.now)
    lesson = session.driver
    assert lesson is not None
    # the lesson's own refused actions, no more: every saved injection applies
    assert len(driver_of(replay).errors) == len(getattr(lesson, "errors", []))
    last = max((i.t for i in session.sim.injections), default=0)
    assert replay.now >= last
    horizon = min(replay.now, session.now - 1)
    mine = [e for e in session.sim.trace.events if e["t"] <= horizon]
    theirs = [e for e in replay.trace.events if e["t"] <= horizon]
    assert jsonl(theirs) == jsonl(mine)


def play(lesson: str, data: st.DataObject, out: Path) -> Session:
    scenario = load_scenario(lesson)
    end = scenario.run_until or 20_000
    marks = sorted({s.at for s in scenario.steps if s.at is not None} | {end})
    near_a_step = st.builds(
        lambda t, d: max(0, t + d), st.sampled_from(marks), st.integers(-20, 60)
    )
    when = st.one_of(st.integers(0, end + 3000), near_a_step)
    session = scenario_session(lesson, playing=False)
    for _ in range(data.draw(st.integers(1, 3), label="injections")):
        t = data.draw(when, label="t")
        session.seek(t)  # earlier than now: a rewind, and the injection forks
        action = data.draw(st.sampled_from(KEY_ACTIONS), label="action")
        if not session.has_action(action) and ACTIONS[action].owner == "dataplane":
            continue
        with contextlib.suppress(ActionError):  # refused, as the TUI reports: not recorded
            session.inject(action, **action_args(data, session, action))
    last = max((i.t for i in session.sim.injections), default=0)
    session.seek(last + 1000)
    save_session(session, out)
    return session


@pytest.mark.parametrize("lesson", bundled_names())
def test_saved_session_replays_byte_for_byte(lesson: str, tmp_path: Path) -> None:
    @settings(
        max_examples=1 if lesson in HEAVY else EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is seconds
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def check(data: st.DataObject) -> None:
        saved = tmp_path / f"{lesson}.yaml"
        session = play(lesson, data, saved)
        replay_matches(session, saved, whole=False)

    check()


def test_every_injection_key_is_drawn() -> None:
    """The property covers every action the TUI's keys inject (tui/app.py, tui/app_inject.py)."""
    source = "\n".join(
        (ROOT / "tui" / name).read_text(encoding="utf-8") for name in ("app.py", "app_inject.py")
    )
    injected = set()
    for line in source.splitlines():
        if "self.inject(" in line or "inject(\n" in line:
            injected.update(w for w in re.findall(r'"([a-z-]+)"', line) if w in ACTIONS)
    assert injected, "no injection found in tui/app.py or tui/app_inject.py"
    assert injected <= set(KEY_ACTIONS)


# ---------------------------------------------------------------- the cases


def save_after(lesson: str, at: int, action: str, tmp: Path, **args: Any) -> Session:
    session = scenario_session(lesson, playing=False)
    session.seek(at)
    session.inject(action, **args)
    session.seek(session.now + 3000)
    save_session(session, tmp / f"{lesson}.yaml")
    return session


def test_an_injection_after_the_lessons_end_extends_run_until(tmp_path: Path) -> None:
    """master-crash: g 25s, x on n3, S: the file used to fail to load (run_until 20s)."""
    session = save_after("master-crash", 25_000, "kill", tmp_path, node="n3")
    saved = tmp_path / "master-crash.yaml"
    scenario = load_scenario(str(saved))
    assert scenario.run_until is not None and scenario.run_until >= 25_001
    replay_matches(session, saved)


@pytest.mark.parametrize("lesson", ["live-resharding", "paused-master-returns"])
def test_a_wait_already_true_when_it_starts_keeps_its_time(lesson: str, tmp_path: Path) -> None:
    """g 6s, a, S: the finished wait used to be moved after the injection."""
    session = save_after(lesson, 6000, "add-node", tmp_path, name=None, replica_of=None)
    saved = tmp_path / f"{lesson}.yaml"
    original = yaml.safe_load((ROOT / "scenarios" / f"{lesson}.yaml").read_text(encoding="utf-8"))
    document = yaml.safe_load(saved.read_text(encoding="utf-8"))
    assert document["steps"] == original["steps"]  # the lesson's steps are untouched
    replay_matches(session, saved)


def test_manual_failover_steps_pass_at_their_time_in_the_replay(tmp_path: Path) -> None:
    session = save_after("manual-failover", 6000, "add-node", tmp_path, name=None, replica_of=None)
    replay = run(load_scenario(str(tmp_path / "manual-failover.yaml")))
    driver = session.driver
    assert driver is not None
    lesson = [(r.condition, r.at, r.passed) for r in driver.results]
    replayed = [(r.condition, r.at, r.passed) for r in driver_of(replay).results]
    assert replayed[: len(lesson)] == lesson


def test_a_hand_written_injection_needs_at_and_one_action(tmp_path: Path) -> None:
    from simulator.scenario import ScenarioError

    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\ncluster: {masters: 3, replicas: 1}\nrun_until: 5s\n"
        "injections:\n  - kill: n1\n  - at: 6s\n    kill: n2\n    wait_for: {agree: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as raised:
        load_scenario(str(path))
    text = "\n".join(raised.value.errors)
    assert "needs 'at:'" in text
    assert "'wait_for' is for steps" in text
    assert "before an injection" in text
