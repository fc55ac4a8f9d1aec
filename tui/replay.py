"""Any run, replayed: open a headless run's trace in the TUI (``rcsim tui --replay``).

A trace written by ``rcsim run --trace`` (or the TUI's ``J``) starts with the
reproduction stamp: rcsim version, seed, scenario name, source and the file's SHA-256.
The replay *re-simulates* that scenario with that seed (the model is deterministic, so
this is the same run, with the TUI's checkpoints: full rewind, injections, every pane)
and checks it: every event of the file must be, byte for byte, the event the
re-simulation emits at that place. It refuses, with one message naming what differs,
a trace from another version, of a bare cluster (no scenario), whose scenario is missing
or changed since, or whose events the re-simulation does not reproduce (a session with
injections: save it with ``S`` and open the saved scenario instead).

Where it opens: ``--at T`` (the start of that millisecond), else at the first failed
expectation (inside its millisecond, just after the check, so the log shows it), else
where the lesson ended. A run cut short (``rcsim run --until T``: the stamp's ``until``)
is re-simulated as that run, judged at T, and opened at most at T.
``open_at_failure`` serves ``rcsim tui SCENARIO --at failure``
too.
"""

from __future__ import annotations

import json
from pathlib import Path

from simulator import __version__
from simulator.harness.runner import build
from simulator.scenario import Scenario, ScenarioError, parse_scenario, resolve
from simulator.trace import event_json
from tui.model import Session

SEARCH_LIMIT_MS = 3_600_000
"""How far ahead ``open_at_failure`` looks for a lesson's end (an hour of simulated time)."""
STEP_LIMIT = 1_000_000
"""Events stepped inside one millisecond to reach a check (a guard, never reached)."""


class ReplayError(ValueError):
    """A trace that cannot be replayed: one message saying what and where."""


def read_trace(path: Path) -> tuple[dict[str, object], list[str]]:
    """The header (the stamp) and the event lines (as written) of a JSONL trace."""
    try:
        with path.open(encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except OSError as error:
        raise ReplayError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ReplayError(f"{path}: not a text file (an rcsim trace is JSON lines)") from None
    if not lines:
        raise ReplayError(f"{path}: empty; expected a trace written by rcsim run --trace")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("kind") != "header":
        raise ReplayError(
            f"{path}:1: not an rcsim trace: the first line is not the stamp "
            'rcsim run --trace writes ({"kind":"header","rcsim":...})'
        )
    return header, lines[1:]


def check_stamp(path: Path, header: dict[str, object]) -> None:
    version = header.get("rcsim")
    if version != __version__:
        raise ReplayError(
            f"{path}: written by rcsim {version}, and this is rcsim {__version__}: another "
            f"model may give another run, so it is not replayed (replay it with rcsim "
            f"{version}, or run the scenario again with --trace)"
        )
    seed = header.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ReplayError(f"{path}:1: the stamp has no valid seed ({seed!r})")
    if header.get("source") is None:
        raise ReplayError(
            f"{path}: a trace of a bare cluster ({header.get('scenario') or 'no scenario'}) "
            "has no scenario file to re-simulate; replay a trace of a lesson or scenario file"
        )


def horizon(path: Path, header: dict[str, object]) -> int | None:
    """The stamp's ``until``: where ``rcsim run --until`` cut the run (None: not cut)."""
    until = header.get("until")
    if until is None:
        return None
    if not isinstance(until, int) or isinstance(until, bool) or until < 0:
        raise ReplayError(f"{path}:1: the stamp's until is {until!r}, not a time in ms")
    return until


def find_scenario(
    path: Path, header: dict[str, object], override: str | None
) -> tuple[Scenario, str]:
    """The scenario the stamp names (``override``: a file given instead), unchanged, and
    its text (for ``S``, save session)."""
    source = str(header["source"])
    candidates = [override] if override else [source]
    if not override and source.startswith("scenarios/") and not Path(source).exists():
        candidates.append(Path(source).stem)  # a bundled lesson, from anywhere
    scenario: Scenario | None = None
    text = ""
    errors: list[str] = []
    for candidate in candidates:
        try:
            source_name, text, sha256 = resolve(candidate)
            scenario = parse_scenario(text, source_name, sha256)
            break
        except ScenarioError as error:
            errors = error.errors
    if scenario is None:
        first = errors[0] if errors else source
        raise ReplayError(
            f"{path}: cannot load the scenario the trace was made from ({first}); "
            f"give its file: rcsim tui FILE.yaml --replay {path}"
        )
    wanted = header.get("sha256")
    if wanted is not None and scenario.sha256 != wanted:
        raise ReplayError(
            f"{path}: {scenario.source} has changed since the trace was written (its "
            f"SHA-256 is {scenario.sha256[:12]}…, the stamp says {str(wanted)[:12]}…): "
            "the re-simulation would be another run"
        )
    return scenario, text


def verify(path: Path, session: Session, lines: list[str]) -> None:
    """Re-simulate up to the file's last event and compare every event, byte for byte."""
    if not lines:
        return
    try:
        last_t = int(json.loads(lines[-1])["t"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ReplayError(f"{path}:{len(lines) + 1}: not a trace event") from None
    session.seek(last_t + 1)
    events = session.sim.trace.events
    for number, line in enumerate(lines, 2):
        index = number - 2
        again = event_json(events[index]) if index < len(events) else "(nothing)"
        if again != line:
            raise ReplayError(
                f"{path}:{number}: the re-simulated run differs from the trace here "
                f"(file: {_short(line)}; re-simulated: {_short(again)}); was it exported "
                "from a TUI session with injections (save it with S and open the saved "
                "scenario) or made with other flags?"
            )
    extra = len([e for e in events if e["t"] <= last_t]) - len(lines)
    if extra > 0:
        raise ReplayError(
            f"{path}: the trace ends early: the re-simulation has {extra} more event(s) up "
            f"to {last_t / 1000:.3f}s (a truncated file?)"
        )


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def open_at_failure(session: Session) -> str:
    """Move to the first failed expectation, just after its check (inside its
    millisecond); if none fails, to where the lesson ended. Returns what it found."""
    driver = session.driver
    if driver is None:
        return "no lesson to check"
    while not driver.done and not any(not r.passed for r in driver.results):
        if session.now >= SEARCH_LIMIT_MS:
            return f"no expectation failed within {SEARCH_LIMIT_MS // 1000} s"
        session.advance_to(session.now + 1000)
        driver = session.driver
        assert driver is not None
    failed = [(i, r) for i, r in enumerate(driver.results) if not r.passed]
    if not failed:
        return f"every expectation held (opened after the last check, at {session.now / 1000:.3f}s)"
    index, result = failed[0]
    session.seek(result.at)
    for _ in range(STEP_LIMIT):
        driver = session.driver
        if driver is not None and len(driver.results) > index:
            break
        session.step_event()
    session.stepped = None
    return f"expectation failed: {result.condition}: {result.expected}"


def replay_session(trace: str, scenario_file: str | None = None, at: int | None = None) -> Session:
    """A paused session of the run ``trace`` recorded, verified, at its opening moment
    (its ``break_reason`` says where and why)."""
    path = Path(trace)
    header, lines = read_trace(path)
    check_stamp(path, header)
    scenario, text = find_scenario(path, header, scenario_file)
    seed = header.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ReplayError(f"{path}:1: the stamp's seed is {seed!r}, not an integer")
    until = horizon(path, header)
    sim = build(scenario, seed, until=until)  # a run cut short ends (is judged) there too
    if any('"kind":"bus_message"' in line for line in lines):
        sim.set_bus_trace()  # recorded with --trace-bus (or exported by the TUI, J)
    session = Session(
        sim,
        name=f"{Path(scenario.source).stem} (replay)",
        scenario=scenario,
        playing=False,
        source_text=text,
    )
    verify(path, session, lines)
    name = path.name
    if until is not None:
        name += f" (cut short: rcsim run --until {until / 1000:.3f}s)"
    if at is not None:
        opened = at if until is None else min(at, until)
        session.seek(opened)
        session.break_reason = f"replay of {name} at {opened / 1000:.3f}s"
        if opened < at:
            session.break_reason += f" (--at {at / 1000:.3f}s is after the run's end)"
    else:
        found = open_at_failure(session)
        session.break_reason = f"replay of {name}: {found}"
    session.sync()
    return session
