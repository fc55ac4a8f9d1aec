"""``rcsim validate FILE...``: check scenario files (or bundled names) without running them.

Prints ``FILE: ok`` for each valid file; every error of an invalid one goes to stderr as
``file:line:col: message``. Exit 0 when all are valid, 2 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rcsim.commands import OK, USAGE_ERROR
from simulator.scenario import ScenarioError, load_scenario


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "validate",
        help="check scenario files or bundled scenario names; exit 2 if any is invalid",
        description="Check scenario files strictly: every error with file:line:col, all at once.",
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="a scenario file or a bundled name"
    )


def check(path_or_name: str) -> list[str]:
    """The error lines of one file ([] when valid); never raises."""
    try:
        load_scenario(path_or_name)
    except ScenarioError as error:
        return error.errors
    except Exception as error:  # a bug in the validator must still not print a traceback
        return [
            f"{path_or_name}: internal error in the validator "
            f"({type(error).__name__}: {error}); please report it"
        ]
    return []


def run(args: argparse.Namespace) -> int:
    status = OK
    for name in args.files:
        errors = check(name)
        if errors:
            status = USAGE_ERROR
            sys.stderr.write("".join(line + "\n" for line in errors))
        else:
            print(f"{name}: ok")
    return status
