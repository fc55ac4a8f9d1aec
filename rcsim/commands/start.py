"""``rcsim start``: the main job of ``make run``.

Opens the TUI on the default bundled lesson when a terminal is attached; without
one (CI, pipes) runs the same lesson headless and prints its summary, as ``rcsim run``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "start", help="the main job: the TUI on the default lesson, or headless without a terminal"
    )
    parser.add_argument("--headless", action="store_true", help="never open the TUI")


def run(args: argparse.Namespace) -> int:
    from tui.launch import DEFAULT_LESSON

    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not args.headless
    if interactive:
        from rcsim.commands import tui

        return tui.run(
            argparse.Namespace(scenario=DEFAULT_LESSON, seed=None, masters=None, paused=False)
        )
    from rcsim.commands import run as run_cmd

    print("(no terminal: running the default lesson headless; `rcsim tui` opens the live UI)\n")
    return run_cmd.run(
        argparse.Namespace(
            scenario=DEFAULT_LESSON,
            seed=None,
            until=None,
            trace=None,
            report=None,
            junit=None,
            quiet=False,
        )
    )
