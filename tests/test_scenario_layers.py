"""The scenario format is apart from the harness: the format package never imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMAT = ROOT / "simulator" / "scenario"
FORBIDDEN = ("simulator.harness", "simulator.simulation", "simulator.cluster", "tui", "rcsim")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_format_package_does_not_import_the_harness_or_the_model_of_a_run() -> None:
    for path in sorted(FORMAT.glob("*.py")):
        for name in sorted(imported(path)):
            bad = [f for f in FORBIDDEN if name == f or name.startswith(f + ".")]
            assert not bad, f"{path.relative_to(ROOT)} imports {name}"


def test_format_modules_stay_small() -> None:
    for path in sorted([*FORMAT.glob("*.py"), *(ROOT / "simulator" / "harness").glob("*.py")]):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 600, f"{path.relative_to(ROOT)} has {lines} lines"
