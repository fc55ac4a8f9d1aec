"""``rcsim sweep SCENARIO --seeds 1-200 [--set PATH=V1,V2] [--jobs N | --dask ADDRESS]
[--json] [--plot F]``: run a scenario over seeds × settings in parallel (local processes,
or an existing Dask cluster) and summarise the milestones."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from rcsim import __version__
from rcsim.commands import EXPECTATION_FAILED, OK, CommandError
from rcsim.plots import plot_format, require_matplotlib, save, sweep_figure
from simulator.harness.sweep import (
    SerialExecutor,
    SweepError,
    dask_executor,
    parse_seeds,
    sweep,
    table,
)
from simulator.scenario import ScenarioError, parse_scenario, resolve


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "sweep",
        help="run a scenario over many seeds and settings; milestone distributions",
        description=(
            "Run SCENARIO once per seed and per combination of --set values, in parallel "
            "processes, and print per setting how many runs passed and the min/median/p95/max "
            "of the failover milestones (ms after the fault) and lost writes."
        ),
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a bundled name")
    parser.add_argument("--seeds", default="1-20", help="seeds: 1-200, 1,5,9 (default 1-20)")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=V1,V2",
        help="sweep a scenario value, e.g. cluster.config.cluster-node-timeout=1000,2000,5000",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: CPU count)"
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the grid on an existing Dask cluster, e.g. tcp://scheduler:8786 "
        "(needs the dask extra: pip install 'rcsim[dask]'; the workers need rcsim too)",
    )
    parser.add_argument(
        "--cron-spread",
        type=int,
        default=100,
        metavar="MS",
        help="nodes' cron phases drawn in [0, MS) (1-100; default 100: started independently; "
        "5: all started at once, as the real-Redis harness did)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--plot",
        metavar="FILE.svg|png",
        help="also draw each milestone's and the lost writes' distribution per setting "
        "(box plots; needs matplotlib: pip install 'rcsim[plot]')",
    )


def make_executor(jobs: int | None) -> Executor:
    count = jobs if jobs is not None else (os.cpu_count() or 1)
    if count < 1:
        raise CommandError(f"--jobs {count}: expected at least 1")
    return SerialExecutor() if count == 1 else ProcessPoolExecutor(max_workers=count)


@contextmanager
def executor_for(args: argparse.Namespace) -> Iterator[Executor]:
    """``--dask ADDRESS``: that Dask cluster's executor; else local processes (``--jobs``)."""
    address = getattr(args, "dask", None)
    if address is None:
        with make_executor(args.jobs) as executor:
            yield executor
        return
    if args.jobs is not None:
        raise CommandError("--jobs and --dask: choose one (the Dask workers set the parallelism)")
    with dask_executor(address) as executor:  # SweepError: no scheduler there
        yield executor


def run(args: argparse.Namespace) -> int:
    try:
        source, text, _ = resolve(args.scenario)
        seeds = parse_seeds(args.seeds)
    except ScenarioError as error:
        sys.stderr.write("".join(line + "\n" for line in error.errors))
        return 2
    except SweepError as error:
        raise CommandError(str(error)) from None
    if not 1 <= args.cron_spread <= 100:
        raise CommandError(f"--cron-spread {args.cron_spread}: expected 1 to 100 ms")
    plot = getattr(args, "plot", None)
    if plot:  # before the runs: a bad name or a missing library costs nothing
        plot_format(plot, "--plot")
        require_matplotlib("--plot")
    try:
        with executor_for(args) as executor:
            summaries = sweep(
                text, source, args.sets, seeds, executor, args.cron_spread, keep_rows=bool(plot)
            )
    except SweepError as error:
        raise CommandError(str(error)) from None
    except ScenarioError as error:
        sys.stderr.write("".join(line + "\n" for line in error.errors))
        return 2
    if plot:
        draw_sweep(plot, args, source, text, [s.pop("rows") for s in summaries], summaries)
    if args.json:
        print(
            json.dumps({"scenario": source, "seeds": args.seeds, "settings": summaries}, indent=2)
        )
    else:
        sys.stdout.write(f"{source}, seeds {args.seeds}\n\n" + table(summaries))
    # docs/cli.md: exit 1 when an expectation fails, for every verb (any run of the grid).
    failed = any(summary["passed"] < summary["runs"] for summary in summaries)
    return EXPECTATION_FAILED if failed else OK


def draw_sweep(
    path: str,
    args: argparse.Namespace,
    source: str,
    text: str,
    rows: list[list[dict[str, Any]]],
    summaries: list[dict[str, Any]],
) -> None:
    """``--plot``: the distributions as an SVG or PNG (rcsim/plots.py)."""
    figure = sweep_figure(
        summaries,
        rows,
        scenario=parse_scenario(text, source).name,
        source=source,
        seeds=args.seeds,
        sets=args.sets,
        cron_spread_ms=args.cron_spread,
        version=__version__,
    )
    save(figure, path, plot_format(path, "--plot"))
