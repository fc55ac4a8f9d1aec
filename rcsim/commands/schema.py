"""``rcsim schema``: the JSON Schema of the scenario format, generated from the validator's
own definitions (docs/scenario.schema.json is this output)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rcsim.commands import CommandError
from simulator.scenario import schema_text


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "schema",
        help="print the JSON Schema (draft 2020-12) of scenario files",
        description="Print the JSON Schema of scenario files, for editors (yaml-language-server).",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def run(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {args.output}: {error.strerror or error}") from None
    else:
        sys.stdout.write(text)
    return 0
