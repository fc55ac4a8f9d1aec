"""``rcsim start [LESSON] [--resp]``: the main job of ``make run``.

Opens the TUI on a bundled lesson (the default one unless LESSON is given) when a
terminal is attached; without one (CI, pipes) runs the same lesson headless and prints
its summary, as ``rcsim run``. With ``--resp`` every node also listens on a loopback
port (as ``rcsim tui --resp`` / ``rcsim run --resp``): headless, the lesson then runs
paced to the wall clock, serving real clients such as ``redis-cli -c -p 7000``, until
its ``run_until`` or Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rcsim.commands import USAGE_ERROR
from rcsim.resp_cli import add_resp_arguments


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "start",
        help="the main job: the TUI on a lesson (default master-crash), or headless without a terminal",
        description="Open the TUI on LESSON (a bundled name or a scenario file); without a "
        "terminal run it headless. With --resp real clients can connect (redis-cli -c -p 7000).",
    )
    parser.add_argument(
        "lesson",
        nargs="?",
        metavar="LESSON",
        help="a bundled lesson or a scenario file (default: master-crash; `rcsim list` names them)",
    )
    parser.add_argument("--headless", action="store_true", help="never open the TUI")
    add_resp_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from rcsim.commands import run as run_cmd
    from tui.launch import DEFAULT_LESSON

    lesson = args.lesson or DEFAULT_LESSON
    if run_cmd.load(lesson) is None:  # one clear message (the bundled names) before anything
        return USAGE_ERROR
    resp = {"resp": args.resp, "base_port": args.base_port, "bind": args.bind}
    named = lesson if args.lesson else "the default lesson"
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not args.headless
    if interactive:
        from rcsim.commands import tui

        return tui.run(
            argparse.Namespace(scenario=lesson, seed=None, masters=None, paused=False, **resp)
        )
    if args.resp:
        print(
            f"(no terminal: serving {named} headless, paced to the wall clock; "
            "`rcsim start` in a terminal opens the live UI)\n",
            flush=True,
        )
    else:
        print(
            f"(no terminal: running {named} headless; `rcsim tui` opens the live UI)\n",
            flush=True,
        )
    return run_cmd.run(
        argparse.Namespace(
            scenario=lesson,
            seed=None,
            until=None,
            trace=None,
            report=None,
            junit=None,
            quiet=False,
            **resp,
        )
    )
