"""How a real 7.0.15 cluster built as ``rcsim verify`` builds it comes to know itself.

Per build (RealCluster.create of a scenario, here master-crash: 3 masters + 3 replicas,
NT 2000): the build's timeline (spawn, PING answered, each CLUSTER command), each node's
set of known nodes (no handshake/noaddr flag) whenever its 20 ms poller saw it change,
and from the servers' logs (``loglevel debug`` or ``notice``): every heartbeat received
("<type> packet received: <sender or NULL>") with the GOSSIP entries it carried, the
random pings ("Pinging node"), "Ready to accept connections", the master's "Starting
BGSAVE for SYNC" and the replica's "MASTER <-> REPLICA sync: Finished with success".
Times are ms from the first MEET. docs/fidelity.md ("What rcsim does not reproduce",
no-replica, round 10) quotes it.

Run (from the repository root, with redis-server 7.0.15 on the PATH, under
``flock /tmp/rcsim-verify.lock``): ``.venv/bin/python tests/data/meet_discovery_probe.py
scenarios/master-crash.yaml RUNS LOGLEVEL OUT.json``. Loopback only (127.0.0.20+, ports
7100+); the servers are stopped by PID (rcsim.verify.cleanup).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rcsim.verify.cleanup import Cleanup
from rcsim.verify.logevents import LINE, log_time_ms
from rcsim.verify.scenario_api import load_scenario
from rcsim.verify.server import identify
from rcsim.verify.startlag import timed_cluster

KEPT = ("packet received:", "GOSSIP ", "Pinging node", "Ready to accept", "Starting BGSAVE for SYNC",
        "sync: Finished with success", "Connecting with Node")


def build_once(scenario: Any, binary: Any, loglevel: str) -> dict[str, Any]:
    cleanup = Cleanup()
    with cleanup.guard():
        workdir = Path(tempfile.mkdtemp(prefix="rcsim-meet-probe-"))
        cluster = timed_cluster(scenario, binary, workdir, cleanup)
        settings = cluster._settings
        cluster._settings = lambda spec: {**settings(spec), "loglevel": loglevel}
        cluster.create()
        time.sleep(0.5)
        history = cluster.observations.samples()
        wall0 = cluster.clock.wall_origin_ms
        ids = dict(cluster.names)
        meet = next(t for t, _, w in cluster.timeline if w == "MEET")

        def name(text: str) -> str:
            for node_id, node in ids.items():
                text = text.replace(node_id, node)
            return text

        known: dict[str, list[tuple[float, list[str]]]] = {}
        for sample in history:
            if sample.view is None:
                continue
            ok = sorted(p for p, line in sample.view.peers.items()
                        if not {"handshake", "noaddr"} & set(line.flags))
            seq = known.setdefault(sample.node, [])
            if not seq or seq[-1][1] != ok:
                seq.append((round(sample.t - meet, 1), ok))
        logs: dict[str, list[tuple[float, str]]] = {}
        for node, process in cluster.nodes.items():
            lines = []
            for line in (process.directory / "server.log").read_text(errors="replace").splitlines():
                match = LINE.match(line)
                if match and any(k in match.group(2) for k in KEPT):
                    t = log_time_ms(match.group(1)) - wall0 - meet
                    lines.append((round(t, 1), name(re.sub(r"\s+", " ", match.group(2)))[:120]))
            logs[node] = lines
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "timeline": [(round(t - meet, 1), n, w) for t, n, w in cluster.timeline],
        "known": known,
        "log": logs,
    }


def main(argv: list[str]) -> int:
    source, runs, loglevel, out = argv[0], int(argv[1]), argv[2], Path(argv[3])
    scenario = load_scenario(source)
    binary = identify(shutil.which("redis-server") or "redis-server")
    builds = [build_once(scenario, binary, loglevel) for _ in range(runs)]
    out.write_text(json.dumps({"scenario": source, "server": binary.version,
                               "loglevel": loglevel, "builds": builds}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
