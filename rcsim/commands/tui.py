"""``rcsim tui [SCENARIO] [--seed N]``: watch, step, rewind and break a simulation live."""

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
    add_resp_arguments(parser)


def make_app(args: argparse.Namespace) -> Any:
    """The app for ``args`` (shared by ``rcsim serve`` and ``rcsim start``)."""
    from simulator.scenario import ScenarioError
    from tui.app import RcsimApp
    from tui.launch import cluster_session, scenario_session

    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed < 2**63:
        raise CommandError(f"--seed {seed}: expected an integer from 0 to 2^63-1")
    playing = not getattr(args, "paused", False)
    masters = getattr(args, "masters", None)
    if masters is not None:
        if getattr(args, "scenario", None):
            raise CommandError("give either SCENARIO or --masters, not both")
        replicas = getattr(args, "replicas", 1)
        if not 1 <= masters <= 500 or not 0 <= replicas <= 5:
            raise CommandError("--masters must be 1..500 and --replicas 0..5")
        return RcsimApp(cluster_session(masters, replicas, seed or 0, playing=playing))
    try:
        session = scenario_session(getattr(args, "scenario", None), seed, playing=playing)
    except ScenarioError as error:
        raise CommandError("\n".join(error.errors), USAGE_ERROR) from None
    return RcsimApp(session)


def run(args: argparse.Namespace) -> int:
    app = make_app(args)
    if getattr(args, "resp", False):
        run_tui_with_resp(app, args)
        return OK
    app.run()
    return OK
