"""The ``--resp`` flags shared by ``rcsim run``, ``rcsim tui`` and ``rcsim serve``."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import Any

from rcsim.commands import CommandError
from rcsim.resp_server import DEFAULT_BASE_PORT, LOOPBACK, RespFront, serve_simulation
from simulator.harness.runner import NO_CHECKPOINTS, build
from simulator.scenario.model import Scenario
from simulator.simulation import Simulation


def add_resp_arguments(parser: Any) -> None:
    parser.add_argument(
        "--resp",
        action="store_true",
        help="every node listens on 127.0.0.1:(base-port + index) and speaks RESP; "
        "simulated time follows the wall clock",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        default=DEFAULT_BASE_PORT,
        metavar="N",
        help=f"with --resp: the first node's port (default {DEFAULT_BASE_PORT})",
    )
    parser.add_argument(
        "--bind",
        default=LOOPBACK,
        metavar="ADDR",
        help="with --resp: address to listen on (default 127.0.0.1; others are reachable "
        "from the network: only on a trusted one)",
    )


def check_resp_arguments(args: argparse.Namespace, nodes: int) -> None:
    """Refuse impossible ports; warn when listening beyond loopback."""
    base = args.base_port
    if base < 1 or base + nodes - 1 > 65535:
        raise CommandError(
            f"--base-port {base}: the {nodes} nodes need ports {base}..{base + nodes - 1} within 1..65535"
        )
    try:
        address = ipaddress.ip_address(args.bind)
    except ValueError:
        raise CommandError(f"--bind {args.bind}: expected an IP address") from None
    if not address.is_loopback:
        sys.stderr.write(
            f"warning: --bind {args.bind}: the simulated nodes accept connections from the "
            "network, without a password\n"
        )


def banner(front: RespFront) -> str:
    lines = [f"RESP: {name} on {address}" for name, address in front.addresses()]
    lines.append(
        "simulated time follows the wall clock; try `redis-cli -c -p "
        f"{front.ports.base}`; Ctrl-C to stop"
    )
    return "".join(line + "\n" for line in lines)


def run_with_resp(scenario: Scenario, args: argparse.Namespace, until: int | None) -> Simulation:
    """``rcsim run --resp``: the scenario paced to the wall clock with every node on a
    socket, until ``--until`` (simulated = wall time) or Ctrl-C."""
    seed = args.seed
    if seed is not None and not 0 <= seed < 2**63:
        raise CommandError(f"--seed {seed}: expected an integer from 0 to 2^63-1")
    sim = build(scenario, seed, until=until, checkpoint_ms=NO_CHECKPOINTS)
    sim.set_bus_trace(getattr(args, "trace_bus", False))  # rcsim run --resp --trace-bus
    check_resp_arguments(args, len(sim.cluster.nodes))

    def ready(front: RespFront) -> None:
        sys.stdout.write(banner(front))
        sys.stdout.flush()

    try:
        serve_simulation(sim, args.base_port, args.bind, until, on_ready=ready)
    except OSError as error:
        raise CommandError(str(error)) from None
    return sim


RESP_TICK_S = 0.005
"""The TUI's tick with ``--resp``: simulated time then lags the wall clock by at most
about 5 ms (the default 50 ms tick is enough for watching, not for real clients)."""


def run_tui_with_resp(app: Any, args: argparse.Namespace, **run_options: Any) -> None:
    """``rcsim tui --resp``: the TUI drives time (pause it and nothing is answered;
    rewind it and the real clients are disconnected); the front serves requests at the
    TUI's current simulated time, right after each tick. ``run_options`` go to
    ``App.run_async`` (tests run it headless with a pilot)."""
    import asyncio

    session = app.session
    check_resp_arguments(args, len(session.sim.cluster.nodes))
    app.tick_s = RESP_TICK_S

    async def main() -> None:
        front = RespFront(session.sim, args.base_port, args.bind)
        front.paced = False
        front.held = lambda: not session.playing  # pausing the TUI pauses every reply
        try:
            await front.start()
        except OSError as error:
            await front.close()
            raise CommandError(str(error)) from None

        async def follow() -> None:
            while True:
                front.after_advance()
                await asyncio.sleep(0.002)

        task = asyncio.get_running_loop().create_task(follow())
        try:
            await app.run_async(**run_options)
        finally:
            task.cancel()
            await front.close()

    asyncio.run(main())


def resp_command_line(args: argparse.Namespace) -> list[str]:
    """The ``--resp`` flags to pass on (``rcsim serve`` runs ``rcsim tui`` per browser
    session: only one session at a time can hold the ports)."""
    if not getattr(args, "resp", False):
        return []
    return ["--resp", "--base-port", str(args.base_port), "--bind", args.bind]
