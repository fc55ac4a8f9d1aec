"""``rcsim tui [SCENARIO] [--seed N] [--at T|failure]``: watch, step, rewind and break a
simulation live; ``rcsim tui --replay TRACE.jsonl``: open a headless run's trace."""

from __future__ import annotations

import argparse
from typing import Any

from rcsim.commands import OK, USAGE_ERROR, CommandError
from rcsim.resp_cli import add_resp_arguments, run_tui_with_resp


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "tui",
        help="the live Textual UI on a lesson or scenario (default: master-crash)",
        description="Open the live UI. Press ? inside for every key.",
    )
    parser.add_argument(
        "scenario", nargs="?", metavar="SCENARIO", help="a scenario file or bundled name"
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument(
        "--masters",
        type=int,
        help="no lesson: a bare cluster of this many masters (with --replicas per master) "
        "and cluster-node-timeout 2000 ms (not Redis's 15 s, so failures show in seconds)",
    )
    parser.add_argument(
        "--replicas", type=int, default=1, help="replicas per master (with --masters)"
    )
    parser.add_argument("--paused", action="store_true", help="start paused")
    parser.add_argument(
        "--replay",
        metavar="TRACE",
        help="open the run a trace recorded (rcsim run --trace): its stamp's scenario and "
        "seed, re-simulated and checked against the file, at the first failed expectation "
        "(or --at); SCENARIO names the file if it moved",
    )
    parser.add_argument(
        "--at",
        metavar="T",
        help="open paused at simulated time T (e.g. 5.2s), or 'failure': just after the "
        "first failed expectation",
    )
    add_resp_arguments(parser)


def make_app(args: argparse.Namespace) -> Any:
    """The app for ``args`` (shared by ``rcsim serve`` and ``rcsim start``)."""
    from simulator.scenario import ScenarioError
    from tui.app import RcsimApp
    from tui.launch import cluster_session, scenario_session

    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed < 2**63:
        raise CommandError(f"--seed {seed}: expected an integer from 0 to 2^63-1")
    at = _at(getattr(args, "at", None))
    playing = not getattr(args, "paused", False) and at is None
    masters = getattr(args, "masters", None)
    replay = getattr(args, "replay", None)
    if replay:
        if masters is not None or seed is not None:
            raise CommandError("--replay takes the scenario and seed from the trace's stamp")
        return RcsimApp(_replay(replay, getattr(args, "scenario", None), at))
    if masters is not None:
        if getattr(args, "scenario", None):
            raise CommandError("give either SCENARIO or --masters, not both")
        replicas = getattr(args, "replicas", 1)
        if not 1 <= masters <= 500 or not 0 <= replicas <= 5:
            raise CommandError("--masters must be 1..500 and --replicas 0..5")
        session = cluster_session(masters, replicas, seed or 0, playing=playing)
        return RcsimApp(_open_at(session, at))
    try:
        session = scenario_session(getattr(args, "scenario", None), seed, playing=playing)
    except ScenarioError as error:
        raise CommandError("\n".join(error.errors), USAGE_ERROR) from None
    return RcsimApp(_open_at(session, at))


FAILURE = -1  # --at failure


def _at(text: str | None) -> int | None:
    """``--at``: ms, ``FAILURE`` for the word ``failure``, None when absent."""
    if text is None:
        return None
    if text.strip().lower() == "failure":
        return FAILURE
    from simulator.scenario import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise CommandError(f"--at {text}: {error} (or 'failure')") from None


def _open_at(session: Any, at: int | None) -> Any:
    """Move a new session to ``--at`` (paused there; the header says why)."""
    from tui.replay import open_at_failure

    if at == FAILURE:
        session.break_reason = open_at_failure(session)
    elif at is not None:
        session.seek(at)
    return session


def _replay(trace: str, scenario: str | None, at: int | None) -> Any:
    from tui.replay import ReplayError, replay_session

    try:
        return replay_session(trace, scenario, None if at == FAILURE else at)
    except ReplayError as error:
        raise CommandError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    app = make_app(args)
    if getattr(args, "resp", False):
        run_tui_with_resp(app, args)
        return OK
    app.run()
    return OK
