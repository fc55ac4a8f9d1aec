"""The child of tests/test_compiled.py: golden runs in a process that imports the build.

``RCSIM_COMPILED=1 python -m tests.compiled_golden NAME...`` prints one JSON object:
whether the node package running is the compiled one, each named golden run's digest
(tests/golden_traces.py), a run's digests before and after a rewind (checkpoints pickle
the compiled objects), and whether a deep copy's timers call the copy.
"""

from __future__ import annotations

import copy
import json
import sys

from simulator.compiled import running_compiled
from tests.golden_traces import digest, runs


def rewound_run_digests() -> tuple[str, str]:
    """A lesson run to 60 s with checkpoints (pickles of the model), rewound to 20 s and
    run to 60 s again: the two traces' digests (the TUI's rewind)."""
    from simulator.harness.runner import build
    from simulator.scenario import load_scenario

    sim = build(load_scenario("master-crash"), 1)
    sim.run_until(60_000)
    first = digest(sim.trace.events)
    sim.rewind(20_000)
    sim.run_until(60_000)
    return first, digest(sim.trace.events)


def deep_copy_rebinds_timers() -> bool:
    """A deep copy of a node: its cron timer calls the copy, not the original (compiled
    methods are builtin methods, which ``copy`` would share; simulator/compiled.py)."""
    from simulator.harness.runner import build
    from simulator.scenario import load_scenario

    sim = build(load_scenario("master-crash"), 1, checkpoint_ms=None)
    sim.run_until(1_000)
    node = next(iter(sim.cluster.nodes.values()))
    twin = copy.deepcopy(node)
    return twin is not node and twin.cron_timer.callback.__self__ is twin


def main(names: list[str]) -> int:
    table = runs()
    result = {
        "compiled": running_compiled(),
        "digests": {name: table[name]() for name in names},
        "rewound": rewound_run_digests(),
        "copy_rebinds": deep_copy_rebinds_timers(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
