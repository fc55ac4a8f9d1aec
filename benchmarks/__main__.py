"""Run every ``benchmarks/bench_*.py`` module's ``main() -> str`` and print the sections.

``python -m benchmarks`` runs them all in name order; ``python -m benchmarks engine keyslot``
runs only those whose name (``bench_<name>``) is given. Each ``main()`` returns a markdown
section, so the output can be pasted into docs/benchmarks.md as is.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import machine_info

PREFIX = "bench_"


def available() -> list[str]:
    """Names of the benchmark modules (without the ``bench_`` prefix), sorted."""
    here = str(Path(__file__).parent)
    names = [m.name for m in pkgutil.iter_modules([here]) if m.name.startswith(PREFIX)]
    return sorted(name.removeprefix(PREFIX) for name in names)


def main(argv: Sequence[str] | None = None) -> int:
    wanted = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if any(arg in ("-h", "--help") for arg in wanted):
        print(f"usage: python -m benchmarks [NAME...]\nbenchmarks: {' '.join(names)}")
        return 0
    unknown = [w for w in wanted if w.removeprefix(PREFIX) not in names]
    if unknown:
        sys.stderr.write(
            f"benchmarks: unknown benchmark {', '.join(unknown)} (available: {' '.join(names)})\n"
        )
        return 2
    chosen = [n for n in names if not wanted or n in {w.removeprefix(PREFIX) for w in wanted}]
    print("# rcsim benchmarks\n")
    print(machine_info() + "\n")
    failed: list[str] = []
    for name in chosen:
        try:
            module = importlib.import_module(f"benchmarks.{PREFIX}{name}")
            section = module.main()
        except Exception as error:  # one broken benchmark must not hide the others' results
            failed.append(name)
            print(f"## {PREFIX}{name}: FAILED\n\n`{type(error).__name__}: {error}`\n", flush=True)
            continue
        print(section.rstrip() + "\n", flush=True)
    if failed:
        sys.stderr.write(f"benchmarks: failed: {' '.join(failed)}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
