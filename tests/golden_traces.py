"""Golden traces: the SHA-256 of the trace of every bundled lesson and a few fidelity runs.

Restructuring must not change behaviour; these digests prove it. Regenerate (only for a
change that is *meant* to change behaviour, and say why in the commit) with::

    .venv/bin/python -m tests.golden_traces --update
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from simulator.trace import event_json

GOLDEN_FILE = Path(__file__).parent / "data" / "golden-traces.json"
LESSON_SEEDS = (1, 2)


def digest(events: Iterable[dict[str, Any]]) -> str:
    """SHA-256 of the events as ``rcsim run --trace`` writes them (one JSON line each)."""
    sha = hashlib.sha256()
    for event in events:
        sha.update(event_json(event).encode("utf-8"))
        sha.update(b"\n")
    return sha.hexdigest()


def lesson_digest(name: str, seed: int) -> str:
    from simulator.harness.runner import run
    from simulator.scenario import load_scenario

    return digest(run(load_scenario(name), seed).trace.events)


def reshard_digest(pipeline: int) -> str:
    from simulator.fidelity_reshard import ReshardRun

    return digest(ReshardRun(pipeline).sim.trace.events)


def failover_digest(masters: int, replicas: int, nt: int, signal: str, seed: int) -> str:
    from simulator.fidelity import failover_timing

    result = failover_timing(masters, replicas, nt, signal, seed)
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def partition_digest(nt: int, seed: int) -> str:
    from simulator.fidelity import majority_stopped

    result = majority_stopped(nt, seed)
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def runs() -> dict[str, Callable[[], str]]:
    """Every recorded run, by a stable name."""
    from simulator.scenario.bundled import bundled_names

    table: dict[str, Callable[[], str]] = {}
    for name in bundled_names():
        for seed in LESSON_SEEDS:
            table[f"lesson/{name}/seed{seed}"] = lambda n=name, s=seed: lesson_digest(n, s)
    table["fidelity/reshard/pipeline10"] = lambda: reshard_digest(10)
    for masters, replicas, nt, signal, seed in (
        (3, 1, 1000, "SIGKILL", 1),
        (3, 2, 2000, "SIGKILL", 2),
        (3, 1, 5000, "SIGSTOP", 3),
    ):
        key = f"fidelity/failover/{masters}+{replicas}/nt{nt}/{signal}/seed{seed}"
        table[key] = lambda a=(masters, replicas, nt, signal, seed): failover_digest(*a)
    table["fidelity/majority-stopped/nt2000/seed1"] = lambda: partition_digest(2000, 1)
    return table


def recorded() -> dict[str, str]:
    data: dict[str, str] = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    return data


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print("usage: python -m tests.golden_traces --update", file=sys.stderr)
        return 2
    digests = {name: compute() for name, compute in runs().items()}
    GOLDEN_FILE.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(digests)} digests to {GOLDEN_FILE.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
