"""Gossip sections in isolation: build and read time per section, warm and cold (CPU time).

``.venv/bin/python -m benchmarks.gossip_sections MASTERS [SECTIONS]`` builds a converged
``MASTERS`` + ``MASTERS`` cluster, runs it 2 s, then times ``SECTIONS`` calls (3,000 by
default) of the gossip builder (``BusOutput._gossip``) and reader
(``Gossip._process_gossip``) two ways: *warm*, the same node again and again (its peer
views stay in the cache), and *cold*, a different node each call, as in a run (each
entry touches a peer view the cache no longer holds). The gap between the two is memory
traffic, not byte code (docs/benchmarks.md, Round 4). The calls consume the nodes'
random streams, so this measures a copy of the cluster that is thrown away.
"""

from __future__ import annotations

import sys
import time

from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.messages import Message, MsgType
from simulator.node import Node
from simulator.trace import Trace


def _per_call(start: float, calls: int) -> float:
    """Microseconds of CPU per call since ``start``."""
    return (time.process_time() - start) / calls * 1e6


def measure(masters: int, calls: int) -> dict[str, float]:
    """Build and read µs per section, warm and cold, and the entries per section."""
    engine = Engine(1)
    cluster = Cluster(engine, Trace(), standard_topology(masters, 1), {})
    engine.run_until(2000)
    nodes: list[Node] = list(cluster.nodes.values())
    count = len(nodes)
    stride = 7919  # a prime: consecutive calls land on unrelated nodes

    first = nodes[0]
    start = time.process_time()
    for _ in range(calls):
        first._gossip()
    build_warm = _per_call(start, calls)
    start = time.process_time()
    for i in range(calls):
        nodes[i * stride % count]._gossip()
    build_cold = _per_call(start, calls)

    sent: list[tuple[Node, Message]] = []
    for i in range(calls):
        node = nodes[i * stride % count]
        sent.append((node, node._heartbeat(MsgType.PING, node._gossip())))
    now = engine.now
    start = time.process_time()
    done = 0
    for i, (sender, msg) in enumerate(sent):
        receiver = nodes[(i * 104729 + 1) % count]
        if receiver is not sender:
            receiver._process_gossip(msg, receiver.peers.get(sender.name), now)
            done += 1
    read_cold = _per_call(start, done)
    receiver = nodes[5]
    sender, msg = sent[0]
    view = receiver.peers.get(sender.name)
    start = time.process_time()
    for _ in range(calls):
        receiver._process_gossip(msg, view, now)
    read_warm = _per_call(start, calls)
    return {
        "entries": float(len(msg.gossip)),
        "build_warm_us": build_warm,
        "build_cold_us": build_cold,
        "read_warm_us": read_warm,
        "read_cold_us": read_cold,
    }


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or not all(a.isdigit() for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    masters = int(argv[0])
    calls = int(argv[1]) if len(argv) == 2 else 3000
    r = measure(masters, calls)
    print(
        f"{2 * masters} nodes, {r['entries']:.0f} entries per section: "
        f"build warm {r['build_warm_us']:.1f} µs, cold {r['build_cold_us']:.1f} µs; "
        f"read warm {r['read_warm_us']:.1f} µs, cold {r['read_cold_us']:.1f} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
