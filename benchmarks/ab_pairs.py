"""A/B pairs: two source trees' converged idle cluster, run alternately, CPU time.

``.venv/bin/python -m benchmarks.ab_pairs MASTERS SECONDS TREE_A TREE_B PAIRS`` runs a
``MASTERS`` + ``MASTERS`` cluster for ``SECONDS`` simulated seconds after a 2 s warm-up,
once per tree per pair, each in a fresh process with that tree on ``PYTHONPATH``, and
prints each side's ratio to real time and B/A per pair (docs/benchmarks.md, Round 3).
Alternating the trees in one run is what makes the ratio meaningful on a shared host.
"""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import sys, time
from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.trace import Trace
m, s = int(sys.argv[1]), int(sys.argv[2])
engine = Engine(1)
Cluster(engine, Trace(), standard_topology(m, 1), {})
engine.run_until(2000)
t = time.process_time()
engine.run_until(2000 + s * 1000)
print(s / (time.process_time() - t))
"""


def ratio(tree: str, masters: str, seconds: str) -> float:
    """Simulated seconds per CPU second of one run of ``tree``."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, masters, seconds],
        cwd=tree,
        env={"PYTHONPATH": tree},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout)


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    masters, seconds, tree_a, tree_b, pairs = argv
    a_runs: list[float] = []
    b_runs: list[float] = []
    for _ in range(int(pairs)):
        a_runs.append(ratio(tree_a, masters, seconds))
        b_runs.append(ratio(tree_b, masters, seconds))
    print("A", a_runs, "B", b_runs, "B/A", [b / a for a, b in zip(a_runs, b_runs, strict=True)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
