"""In-process A/B of a few functions: two identical simulations, the same simulated seconds.

``.venv/bin/python -m benchmarks.ab_inproc [--warm W] [--fixed base-first|new-first] BASE_TREE MASTERS SECONDS TARGET...``
builds the same ``MASTERS`` + ``MASTERS`` cluster twice in one process (same seed, so the
same simulation), runs both to ``W`` s (default 2; 60 or more for the steady state after
the create-like start's ping bursts, docs/benchmarks.md Round 8), then runs them second by
second to ``W + SECONDS`` s: in
each simulated second one simulation runs with the *base* versions of the ``TARGET``
functions (compiled from ``BASE_TREE``'s source of their module) and the other with this
tree's, and the CPU time of each is added to its version's total. A ``TARGET`` is
``module:Class:method[,method…]`` (``-`` for module-level functions), e.g.
``simulator.node.bus:BusOutput:_gossip``.

Why: :mod:`benchmarks.ab_pairs` times two processes one after the other, so a change of a
few per cent drowns in what the shared host does meanwhile (±10 % per pair,
docs/benchmarks.md, Round 7). Here both versions do exactly the same work (the behaviour
is byte-identical, so the two simulations stay equal) in the same wall-clock second, and
which simulation runs which version, and which runs first, alternate every second (the
simulation built second is a few per cent faster, and the converged cluster's ping
storms make seconds unequal). Only for changes confined to the named functions, and only
in pure Python (it swaps them on the classes).

``--fixed base-first|new-first`` (before the other arguments): each simulation keeps one
version for the whole run, built, warmed up and timed with it (the run order still
alternates every two seconds), for changes whose state the other version cannot read
(e.g. calendar entries in a new format); the simulation built second runs a few per cent
faster, so run it both ways (docs/benchmarks.md, Round 9).
"""

from __future__ import annotations

import gc
import importlib
import sys
import time
import types
from pathlib import Path

from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.trace import Trace

Swap = tuple[object, str, object, object]  # owner, name, base version, this tree's


def load_swaps(base: str, targets: list[str]) -> list[Swap]:
    """For each target, the function of this tree and the one of ``base`` (its module's
    source executed into a fresh module object, so it reads its own module globals)."""
    swaps: list[Swap] = []
    for target in targets:
        module_name, cls, names = target.split(":")
        current = importlib.import_module(module_name)
        old = types.ModuleType(module_name)
        path = Path(base, *module_name.split(".")).with_suffix(".py")
        exec(compile(path.read_text(), str(path), "exec"), old.__dict__)
        for name in names.split(","):
            if cls == "-":
                swaps.append((current, name, old.__dict__[name], current.__dict__[name]))
            else:
                owner = getattr(current, cls)
                swaps.append((owner, name, getattr(old, cls).__dict__[name], owner.__dict__[name]))
    return swaps


def use(swaps: list[Swap], new: bool) -> None:
    for owner, name, base_version, new_version in swaps:
        setattr(owner, name, new_version if new else base_version)


def measure(
    base: str,
    masters: int,
    seconds: int,
    targets: list[str],
    warm: int = 2,
    fixed: str | None = None,
) -> tuple[float, float]:
    """CPU seconds of the base versions and of this tree's over the same simulated span
    (``seconds`` after ``warm``; the warm-up runs this tree's versions, untimed). With
    ``fixed`` ("base-first" or "new-first"), simulation 0 runs one version and simulation
    1 the other for the whole run, the first named built first."""
    if fixed not in (None, "base-first", "new-first"):
        raise ValueError(f"fixed: {fixed!r} (base-first or new-first)")
    swaps = load_swaps(base, targets)
    versions = [fixed == "new-first", fixed == "base-first"]  # simulation -> new?
    sims = []
    for i in range(2):
        if fixed:
            use(swaps, versions[i])
        engine = Engine(1)
        Cluster(engine, Trace(), standard_topology(masters, 1), {})
        sims.append(engine)
    gc.collect()
    gc.freeze()  # both clusters out of the full passes (the second build unfroze the first)
    for i, engine in enumerate(sims):
        if fixed:
            use(swaps, versions[i])
        engine.run_until(warm * 1000)
    totals = [0.0, 0.0]  # base, new
    for k in range(seconds):
        until = (warm + k + 1) * 1000
        first = (k // 2) % 2  # which simulation runs first this second
        for i in (first, 1 - first):
            # which version simulation i runs this second
            new = versions[i] if fixed else (i + k) % 2 == 1
            use(swaps, new)
            start = time.process_time()
            sims[i].run_until(until)
            totals[new] += time.process_time() - start
    use(swaps, True)
    gc.unfreeze()
    return totals[0], totals[1]


def main(argv: list[str]) -> int:
    warm = 2
    fixed: str | None = None
    while len(argv) > 1 and argv[0] in ("--warm", "--fixed"):
        if argv[0] == "--warm" and argv[1].isdigit():
            warm = int(argv[1])
        elif argv[0] == "--fixed" and argv[1] in ("base-first", "new-first"):
            fixed = argv[1]
        else:
            break
        argv = argv[2:]
    if len(argv) < 4 or not (argv[1].isdigit() and argv[2].isdigit()):
        print(__doc__, file=sys.stderr)
        return 2
    base_s, new_s = measure(argv[0], int(argv[1]), int(argv[2]), argv[3:], warm, fixed)
    print(f"base {base_s:.3f} s, new {new_s:.3f} s of CPU: new is {base_s / new_s:.3f}x as fast")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
