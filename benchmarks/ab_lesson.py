"""A/B pairs on a bundled lesson: two source trees run it headless, alternately, CPU time.

``.venv/bin/python -m benchmarks.ab_lesson LESSON SEED UNTIL_S TREE_A TREE_B PAIRS`` runs
``LESSON`` at ``SEED`` to ``UNTIL_S`` simulated seconds (what ``rcsim run LESSON --seed
SEED --until UNTIL_S`` does, without the printing), once per tree per pair, each in a
fresh process with that tree on ``PYTHONPATH``, and prints each run's CPU seconds (the
build and the run, not the imports), B/A per pair, and the digest of each run's trace:
a change that should be pure speed must print one digest. Alternating the trees in one
run is what makes the ratio meaningful on a shared host (docs/benchmarks.md, Round 3).

The lessons' CPU is not the converged idle cluster's (:mod:`benchmarks.ab_pairs`): e.g.
mass-failure spends much of its time on the survivors' reconnects to the dead masters.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import hashlib, io, sys, time
from simulator.harness.runner import run
from simulator.scenario import load_scenario
from simulator.trace import write_jsonl
lesson, seed, until = sys.argv[1], int(sys.argv[2]), int(float(sys.argv[3]) * 1000)
scenario = load_scenario(lesson)
t = time.process_time()
sim = run(scenario, seed, until=until)
cpu = time.process_time() - t
stream = io.StringIO()
write_jsonl(sim.trace.events, stream)
print(cpu, hashlib.sha256(stream.getvalue().encode()).hexdigest()[:16], sim.engine.events_run)
"""


def one(tree: str, lesson: str, seed: str, until: str) -> tuple[float, str, str]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, lesson, seed, until],
        env=env,
        cwd=os.path.abspath(tree),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), out[1], out[2]


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    lesson, seed, until, tree_a, tree_b, pairs = argv
    ratios = []
    for pair in range(int(pairs)):
        # Alternate which tree goes first: the second run of a pair finds warmer caches.
        order = [(tree_a, "A"), (tree_b, "B")] if pair % 2 == 0 else [(tree_b, "B"), (tree_a, "A")]
        cpu: dict[str, float] = {}
        for tree, side in order:
            seconds, digest, events = one(tree, lesson, seed, until)
            cpu[side] = seconds
            print(f"pair {pair + 1} {side}: {seconds:7.2f} s CPU  trace {digest}  {events} events")
        ratios.append(cpu["A"] / cpu["B"])
        print(f"pair {pair + 1}: A/B = {ratios[-1]:.3f}", flush=True)
    ratios.sort()
    print(f"A/B median {ratios[len(ratios) // 2]:.3f} over {len(ratios)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
