"""Why the converged cluster's PINGs come in bursts: every PING classified, second by second.

``.venv/bin/python -m benchmarks.ping_bursts MASTERS SECONDS [STRIDE]`` runs a converged
``MASTERS`` + ``MASTERS`` cluster (seed 1, NT 15 s) from t = 0 and prints, per simulated
second, the PINGs sent and of those the *NT/2 pings* (``clusterCron``: no ping pending and
the pong older than NT/2, §6 step 3c) split by where the sender's pong time came from —
its own PONG (any millisecond) or gossip (a whole unix second, §6.3/§7.3: ``(pong +
origin) % 1000 == 0``) — then the largest *cohort* (senders pinging one peer with the same
pong time), and, for every STRIDE-th NT/2 ping (default 1), by how much the newest pong
time of that peer that any node held and that was at least 3 s old was newer than the
sender's (0 or less: nobody had a newer one in time for gossip to bring it; more: it
existed, gossip had not brought it; docs/benchmarks.md, Round 9).
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.node.bus import BusOutput
from simulator.node.peer import PeerView
from simulator.trace import Trace

NT = 15000


@dataclass
class Second:
    """One simulated second's PINGs (see the module docstring)."""

    pings: int = 0
    nt2_own: int = 0
    nt2_gossip: int = 0
    cohorts: Counter[tuple[str, int]] = field(default_factory=Counter)
    newer_by: list[int] = field(default_factory=list)


def classify(masters: int, seconds: int, stride: int = 1) -> list[Second]:
    """One row per simulated second (see the module docstring)."""
    engine = Engine(1)
    cluster = Cluster(engine, Trace(), standard_topology(masters, 1), {"cluster-node-timeout": NT})
    origin = cluster.unix_origin_ms
    nodes = list(cluster.nodes.values())
    rows = [Second() for _ in range(seconds)]
    counted = [0]
    send_ping = BusOutput.send_ping

    def wrapped(self: BusOutput, peer: PeerView, *args: Any) -> None:  # send_ping's signature
        now = self.engine.now
        row = rows[min(now // 1000, seconds - 1)]
        row.pings += 1
        if not args and peer.ping_sent == 0 and now - peer.pong_received > NT // 2:
            gossip = (peer.pong_received + origin) % 1000 == 0
            if gossip:
                row.nt2_gossip += 1
            else:
                row.nt2_own += 1
            row.cohorts[(peer.name, peer.pong_received)] += 1
            counted[0] += 1
            if counted[0] % stride == 0:
                held = [
                    n.peers[peer.name].pong_received
                    for n in nodes
                    if n.name != peer.name and peer.name in n.peers
                ]
                older = [v for v in held if v <= now - 3000]
                row.newer_by.append(max(older, default=peer.pong_received) - peer.pong_received)
        send_ping(self, peer, *args)

    BusOutput.send_ping = wrapped  # type: ignore[method-assign,assignment]
    try:
        engine.run_until(seconds * 1000)
    finally:
        BusOutput.send_ping = send_ping  # type: ignore[method-assign]
    return rows


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or not all(a.isdigit() for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    stride = int(argv[2]) if len(argv) == 3 else 1
    print("second PINGs NT/2-own NT/2-gossip biggest-cohort sampled none-newer median-newer-ms")
    for second, row in enumerate(classify(int(argv[0]), int(argv[1]), stride)):
        newer = row.newer_by
        cohort = max(row.cohorts.values(), default=0)
        none_newer = sum(1 for v in newer if v <= 0)
        median = statistics.median(newer) if newer else 0
        print(
            f"{second} {row.pings} {row.nt2_own} {row.nt2_gossip} {cohort} "
            f"{len(newer)} {none_newer} {median:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
