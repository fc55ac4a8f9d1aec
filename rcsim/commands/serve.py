"""``rcsim serve``: the same TUI in a browser on localhost (textual-serve), for classrooms."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from rcsim.commands import OK, CommandError
from rcsim.resp_cli import add_resp_arguments, resp_command_line


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "serve",
        help="serve the TUI in a browser on localhost (needs the 'serve' extra)",
        description="Serve `rcsim tui` over HTTP with textual-serve: each browser tab gets its own session.",
    )
    parser.add_argument(
        "scenario", nargs="?", metavar="SCENARIO", help="a scenario file or bundled name"
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument(
        "--replay",
        metavar="TRACE",
        help="every session opens the run this trace recorded (as rcsim tui --replay)",
    )
    parser.add_argument(
        "--at",
        metavar="T",
        help="open paused at simulated time T, or 'failure' (as rcsim tui --at)",
    )
    parser.add_argument(
        "--host", default="localhost", help="address to listen on (default localhost)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    add_resp_arguments(parser)


def command_line(args: argparse.Namespace) -> str:
    """The ``rcsim tui`` command each browser session runs."""
    parts = [sys.executable, "-m", "rcsim", "tui"]
    if args.scenario:
        parts.append(args.scenario)
    if args.seed is not None:
        parts += ["--seed", str(args.seed)]
    replay = getattr(args, "replay", None)
    if replay:
        parts += ["--replay", str(Path(replay).resolve())]  # whatever the session's cwd
    at = getattr(args, "at", None)
    if at is not None:
        parts += ["--at", at]
    return shlex.join(parts + resp_command_line(args))


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise CommandError(f"--port {args.port}: expected 1..65535")
    from rcsim.commands.tui import make_app

    make_app(args)  # a bad trace, scenario or --at: one message here, not in every tab
    try:
        from textual_serve.server import Server
    except ImportError:
        raise CommandError("textual-serve is not installed: pip install -e '.[serve]'") from None
    server = Server(command_line(args), host=args.host, port=args.port, title="rcsim")
    server.serve()
    return OK
