"""CLI verbs. Each module exposes ``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

OK = 0
EXPECTATION_FAILED = 1
USAGE_ERROR = 2


class CommandError(Exception):
    """A user-facing failure: one line on stderr, then exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = USAGE_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code
