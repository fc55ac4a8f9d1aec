"""Where a value came from, and the collected errors of one scenario file.

Validation never stops at the first problem: every error goes into a :class:`Problems`
list, and the file is rejected with all of them at once, sorted by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.config import suggest


@dataclass(frozen=True, slots=True, order=True)
class Loc:
    """A position in a scenario file: 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class ScenarioError(Exception):
    """A scenario that cannot be used; ``errors`` holds one ``file:line:col: message`` each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


@dataclass
class Problems:
    """The errors found so far in one file."""

    file: str
    found: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, loc: Loc, message: str) -> None:
        self.found.append((loc.line, loc.col, message))

    def lines(self) -> list[str]:
        """One line per error, sorted by position, duplicates dropped."""
        unique = sorted(set(self.found))
        return [f"{self.file}:{line}:{col}: {message}" for line, col, message in unique]

    def __bool__(self) -> bool:
        return bool(self.found)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'kill'?)`` when a choice is close to ``word``, else ``""``."""
    hint = suggest(word, choices)
    return f" (did you mean '{hint}'?)" if hint else ""


def describe_names(names: list[str], limit: int = 12) -> str:
    """``n1..n6, app``: runs of ``n<k>`` names compressed, long lists cut short."""
    parts: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if len(run) > 2:
            parts.append(f"n{run[0]}..n{run[-1]}")
        else:
            parts.extend(f"n{k}" for k in run)
        run.clear()

    for name in names:
        number = name[1:] if name.startswith("n") else ""
        if number.isdigit() and not number.startswith("0"):
            k = int(number)
            if run and k != run[-1] + 1:
                flush()
            run.append(k)
            continue
        flush()
        parts.append(name)
    flush()
    if not parts:
        return "none"
    if len(parts) > limit:
        return ", ".join(parts[:limit]) + f", … ({len(names)} in all)"
    return ", ".join(parts)
