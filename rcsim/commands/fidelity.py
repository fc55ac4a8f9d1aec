"""``rcsim fidelity``: re-run the real-Redis experiments and print rcsim next to real Redis.

The tables in docs/fidelity.md are this command's output.
"""

from __future__ import annotations

import argparse
from typing import Any

from rcsim import fidelity_plots
from rcsim.commands import CommandError

PARTS = (
    "failover",
    "converged",
    "manual",
    "partition",
    "heal",
    "reshard",
    "eviction",
    "bus",
    "expiry",
)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "fidelity", help="compare rcsim with the timings measured on real Redis 7.0.15"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=30,
        help="runs per setting (default 30; a reshard run takes about 3 s and 11 s)",
    )
    parser.add_argument(
        "--part", choices=(*PARTS, "all"), default="all", help="which experiments (default all)"
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.svg|png",
        help="with --part expiry or eviction: also draw rcsim against the real runs "
        "(needs matplotlib: pip install 'rcsim[plot]'; rcsim/fidelity_plots.py)",
    )


def run(args: argparse.Namespace) -> int:
    from simulator import (
        fidelity,
        fidelity_bus,
        fidelity_converged,
        fidelity_evict,
        fidelity_expiry,
        fidelity_heal,
        fidelity_manual,
        fidelity_partition,
        fidelity_reshard,
    )

    if not 1 <= args.seeds <= 1000:
        raise CommandError(f"--seeds must be between 1 and 1000, not {args.seeds}")
    seeds = range(args.seeds)
    parts = PARTS if args.part == "all" else (args.part,)
    plot = getattr(args, "plot", None)
    if plot:  # before the runs: a bad name or a missing library costs nothing
        fidelity_plots.check_plot(plot, args.part)
    builders = {
        "failover": ("Automatic failover (failover-timing.json)", fidelity.failover_rows),
        "converged": (
            "Automatic failover in a converged cluster (failover-converged.json)",
            fidelity_converged.converged_rows,
        ),
        "manual": ("Manual failover (manual-failover.json)", fidelity_manual.manual_failover_rows),
        "partition": (
            "SIGSTOP partitions (partition-behaviour.json)",
            fidelity_partition.partition_rows,
        ),
        "heal": ("After a partition heals (partition-heal.json)", fidelity_heal.heal_rows),
        "reshard": (
            "Reshard under load (resharding.json); for ASK counts [low–high] is the Poisson"
            " 95 % interval of the one real run",
            fidelity_reshard.reshard_rows,
        ),
        "bus": ("Idle bus traffic (bus-traffic.json), messages per second", fidelity_bus.bus_rows),
        "expiry": (
            "Active expiry, 100k TTL keys (eviction-expiry.json part E): logically expired keys"
            " still in memory",
            fidelity_expiry.expiry_rows,
        ),
    }
    all_ok = True
    for part in parts:
        if part == "eviction":
            evict_rows = fidelity_evict.eviction_rows(seeds)
            all_ok = all_ok and all(r.within_bounds for r in evict_rows)
            if plot:
                fidelity_plots.draw_eviction(plot, evict_rows, args.seeds)
            print(
                "## maxmemory eviction (eviction-expiry.json parts A-D), rcsim's mean over"
                f" {args.seeds} seeds against the mean of the 3 real runs\n"
            )
            print(fidelity_evict.format_rows(evict_rows))
            print()
            continue
        title, build = builders[part]
        rows = fidelity_plots.expiry_rows_drawn(plot, seeds) if plot else build(seeds)
        all_ok = all_ok and all(r.passes for r in rows)
        unit = {
            "reshard": "",
            "heal": ", times in ms after the heal, bounds 25 %",
            "converged": ", times in ms after the signal, rcsim [min–max], bounds 15 %",
            "bus": ", over 2 NT after 1 NT idle",
            "expiry": ", times in ms after the writes; peak within 25 %, zero within 1 s",
        }.get(part, ", times in ms after the signal")
        print(f"## {title}, {args.seeds} seeds per setting{unit}\n")
        print(fidelity_bus.format_rows(rows) if part == "bus" else fidelity.format_table(rows))
        print()
    return 0 if all_ok else 1
