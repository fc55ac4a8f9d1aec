"""``rcsim list``: the bundled scenarios, each with the first line of its description."""

from __future__ import annotations

import argparse
from typing import Any

from simulator.scenario import list_bundled


def add_parser(sub: Any) -> None:
    sub.add_parser(
        "list",
        help="list the bundled scenarios",
        description="List the bundled scenarios (use a name wherever a scenario file is expected).",
    )


def run(args: argparse.Namespace) -> int:
    del args
    entries = list_bundled()
    width = max((len(name) for name, _ in entries), default=0)
    for name, description in entries:
        print(f"{name:<{width}}  {description}".rstrip())
    return 0
