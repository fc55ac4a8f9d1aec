"""``rcsim export SCENARIO --at T --format json|dot|graphml|nodes [--node n1]``:
run a scenario to time T and print the topology."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rcsim.commands import OK, USAGE_ERROR, CommandError
from rcsim.commands.run import load, until_ms
from simulator.export import FORMATS, dot, graphml, topology
from simulator.harness.runner import NO_CHECKPOINTS, build
from simulator.views import UnknownNode


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "export",
        help="the topology at time T as JSON, DOT, GraphML or CLUSTER NODES text",
        description="Run SCENARIO up to simulated time T and print the cluster's topology.",
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a bundled name")
    parser.add_argument("--at", required=True, metavar="T", help="simulated time, e.g. 7s")
    parser.add_argument("--format", choices=FORMATS, default="json")
    parser.add_argument(
        "--node", help="for --format nodes: whose CLUSTER NODES (default: the first live node)"
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")


def run(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    if scenario is None:
        return USAGE_ERROR
    at = until_ms(args.at, "--at")
    assert at is not None
    sim = build(scenario, args.seed, checkpoint_ms=NO_CHECKPOINTS)
    sim.run_until(at)
    if args.format == "json":
        text = json.dumps(topology(sim), indent=2) + "\n"
    elif args.format == "dot":
        text = dot(sim)
    elif args.format == "graphml":
        text = graphml(sim)
    else:
        name = args.node
        if name is None:
            live = sim.views.live_names()
            if not live:
                raise CommandError(f"no node is alive at {args.at}")
            name = live[0]
        try:
            text = sim.views.cluster_nodes(name)
        except UnknownNode as error:
            raise CommandError(f"--node: {error}") from None
    sys.stdout.write(text)
    return OK
