"""Shared helpers for the benchmarks: best-of-N timing, machine info, markdown tables."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence

REPEATS = 3


def best_of(run: Callable[[], object], repeats: int = REPEATS) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``run()``, in seconds.

    Best-of (not mean) because noise on a shared machine only ever adds time.
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def best_of_each(
    runs: Mapping[str, Callable[[], object]], repeats: int = REPEATS
) -> dict[str, float]:
    """Best-of wall-clock timings (``perf_counter``) of several contenders, in seconds.

    Rounds are interleaved (a, b, c, a, b, c, ...) so a noisy neighbour's load is spread
    over all contenders instead of penalising whichever ran during the busy second.
    """
    return {name: wall for name, (wall, _) in best_wall_and_cpu(runs, repeats).items()}


def best_wall_and_cpu(
    runs: Mapping[str, Callable[[], object]], repeats: int = REPEATS
) -> dict[str, tuple[float, float]]:
    """Like :func:`best_of_each`, plus the best CPU time (``process_time``) of each.

    On a shared machine the CPU time is the steadier figure: it does not count the time
    the process waited for a core, which wall time does.
    """
    best = dict.fromkeys(runs, (float("inf"), float("inf")))
    for _ in range(repeats):
        for name, run in runs.items():
            cpu_start = time.process_time()
            start = time.perf_counter()
            run()
            wall = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def machine_info() -> str:
    """One line describing where the numbers were measured."""
    return (
        f"Machine: {os.cpu_count()} CPUs (nproc), {platform.machine()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}; best of {REPEATS} interleaved runs, wall time "
        "from time.perf_counter, CPU time from time.process_time."
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rate(count: int, seconds: float) -> str:
    """``count / seconds`` with thousands separators."""
    return f"{count / seconds:,.0f}"
