"""The ``rcsim`` command: one verb per module in :mod:`rcsim.commands`.

Exit codes: 0 success, 1 an expectation failed, 2 invalid input or usage
(as ``redis-cli --cluster`` and Maelstrom do). No input prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rcsim import __version__
from rcsim.commands import USAGE_ERROR, CommandError

# verb -> module in rcsim.commands; each module has ``add_parser(subparsers)`` and ``run(args)``.
VERBS: dict[str, str] = {
    "start": "start",
    "keyslot": "keyslot",
    "validate": "validate",
    "schema": "schema",
    "list": "list_cmd",
    "run": "run",
    "sweep": "sweep",
    "export": "export",
    "tui": "tui",
    "serve": "serve",
    "fidelity": "fidelity",
    "verify": "verify",
}


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and one clear line, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(USAGE_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rcsim",
        description="Redis Cluster topology simulator: a faithful model of Redis 7.0 cluster behaviour.",
    )
    parser.add_argument("--version", action="version", version=f"rcsim {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for module_name in VERBS.values():
        module = importlib.import_module(f"rcsim.commands.{module_name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 0
    module = importlib.import_module(f"rcsim.commands.{VERBS[args.verb]}")
    try:
        return int(module.run(args))
    except CommandError as error:
        sys.stderr.write(f"rcsim {args.verb}: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
