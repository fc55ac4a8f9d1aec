"""``rcsim start``: the main job of ``make run``.

Opens the TUI on the default bundled lesson when a terminal is attached; without
one (CI, pipes) runs the same lesson headless and prints its summary.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("start", help="the main job: the TUI on the default lesson, or headless without a terminal")
    parser.add_argument("--headless", action="store_true", help="never open the TUI")


def run(args: argparse.Namespace) -> int:
    from rcsim.commands import keyslot

    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not args.headless
    del interactive  # the TUI lands with its issue; until then the main job is keyslot's demo
    return keyslot.demo()
