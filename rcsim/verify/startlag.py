"""How late the real side's time 0 comes after its cluster turned healthy.

``rcsim verify`` (rcsim/verify/session.py) builds the real cluster, waits until it is
healthy (``RealCluster._wait``: the pollers' latest views, checked every 50 ms, plus an
``INFO replication`` round trip per replica), then starts the keyspace observer when the
scenario's conditions need one, reads the bus counters of an idle scenario, and only then
restarts the clock (``start_clock``): that is the scenario's 0. This module measures the
gap between the moment the cluster *was* healthy and that 0, on the same run, without
adding a request to it:

- the pollers' change history up to ``start_clock`` (CLUSTER NODES + CLUSTER INFO every
  20 ms, stamped at the midpoint of request and reply) gives the last moment the views
  turned healthy (:func:`views_healthy`, the view part of ``RealCluster.healthy``);
- each replica's log gives, with Redis's millisecond stamps, when its full sync finished
  (``MASTER <-> REPLICA sync: Finished with success``: ``master_link_status:up`` from
  then on, the rest of ``RealCluster.healthy``);
- the healthy moment is the later of the two; the lag is the new origin minus it.

What it leaves out: a view change is stamped when a poll saw it, up to one poll period
(20 ms) after it happened; the lag measured here is from that stamp.

``python -m rcsim.verify.startlag SCENARIO... --runs N --out FILE`` builds each scenario's
cluster N times as verify builds it (the same ``create`` and ``start_clock``, no steps
played, no firewall) and writes every lag (tests/data/verify-start-lag.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rcsim.verify.cleanup import Cleanup
from rcsim.verify.clusterview import Snapshot, views_healthy
from rcsim.verify.logevents import LINE, log_time_ms
from rcsim.verify.poller import POLL_MS, Sample
from rcsim.verify.realcluster import RealCluster
from rcsim.verify.scenario_api import load_scenario, model
from rcsim.verify.server import ServerBinary, identify

SYNC_DONE = "MASTER <-> REPLICA sync: Finished with success"


def views_healthy_since(
    history: Sequence[Sample], running: Sequence[str], names: Mapping[str, str]
) -> float | None:
    """When the views last turned healthy: the start of the last healthy stretch of
    ``history`` (a view may change after the wait saw it healthy, before time 0)."""
    latest: dict[str, Snapshot] = {}
    since: float | None = None
    last: float | None = None
    for sample in history:
        if sample.view is None:
            latest.pop(sample.node, None)
        else:
            latest[sample.node] = sample.view
        if views_healthy(latest, running, names):
            since = sample.t if since is None else since
            last = since
        else:
            since = None
    return last


def sync_done_ms(log: Path) -> float | None:
    """Unix ms of the last finished full sync a replica's log reports."""
    done = None
    for line in log.read_text(errors="replace").splitlines():
        match = LINE.match(line)
        if match is not None and match.group(2).startswith(SYNC_DONE):
            done = log_time_ms(match.group(1))
    return done


def start_lag_ms(
    history: Sequence[Sample],
    running: Sequence[str],
    names: Mapping[str, str],
    replica_logs: Mapping[str, Path],
    wall_origin_ms: float,
    origin_ms: float,
) -> dict[str, float]:
    """The healthy moment and the lag of time 0 after it, on the building clock (``t`` of
    ``history``; Unix ms minus ``wall_origin_ms`` for log stamps); ``origin_ms`` is when
    ``start_clock`` restarted that clock."""
    views_at = views_healthy_since(history, running, names)
    if views_at is None:
        raise ValueError("the pollers' history never shows the cluster healthy")
    synced = [sync_done_ms(log) for log in replica_logs.values()]
    if any(s is None for s in synced):
        raise ValueError("a replica's log reports no finished sync")
    sync_at = max((s - wall_origin_ms for s in synced if s is not None), default=views_at)
    healthy_at = max(views_at, sync_at)
    return {
        "views_healthy_ms": round(views_at, 1),
        "replicas_synced_ms": round(sync_at, 1),
        "healthy_ms": round(healthy_at, 1),
        "time0_ms": round(origin_ms, 1),
        "lag_ms": round(origin_ms - healthy_at, 1),
    }


def timed_cluster(
    scenario: model.Scenario, binary: ServerBinary, workdir: Path, cleanup: Cleanup
) -> Any:
    """A ``RealCluster`` that also notes, on its building clock, when each process answered
    PING (its start) and when each command of the join was sent (MEET, REPLICATE...)."""

    class TimedCluster(RealCluster):
        timeline: list[tuple[float, str, str]]

        def add_process(self, name: str, settings: Mapping[str, Any]) -> Any:
            spawned = self.clock.now_ms()
            node = super().add_process(name, settings)
            self.timeline.append((round(spawned, 1), name, "spawn"))
            self.timeline.append((round(self.clock.now_ms(), 1), name, "answers"))
            plain = node.call

            def call(*args: str | int, timeout: float = 5.0) -> Any:
                if args[:1] == ("CLUSTER",):
                    self.timeline.append((round(self.clock.now_ms(), 1), name, str(args[1])))
                return plain(*args, timeout=timeout)

            setattr(node, "call", call)  # noqa: B010 - an instance's own wrapper
            return node

    cluster = TimedCluster(scenario, binary, workdir, cleanup, None)
    cluster.timeline = []
    return cluster


def first(timeline: Sequence[tuple[float, str, str]], what: str) -> float | None:
    return next((t for t, _, w in timeline if w == what), None)


def measure_once(scenario: model.Scenario, binary: ServerBinary) -> dict[str, Any]:
    """Build ``scenario``'s cluster as ``rcsim verify`` does, start its clock, and measure."""
    cleanup = Cleanup()
    with cleanup.guard():
        workdir = Path(tempfile.mkdtemp(prefix="rcsim-startlag-"))
        cleanup.push(f"directory {workdir}", lambda: shutil.rmtree(workdir, ignore_errors=True))
        cluster = timed_cluster(scenario, binary, workdir, cleanup)
        cluster.create()
        history = cluster.observations.samples()
        building_origin, wall_origin = cluster.clock.origin, cluster.clock.wall_origin_ms
        cluster.start_clock()
        origin_ms = (cluster.clock.origin - building_origin) * 1000.0
        replicas = {
            s.name: cluster.nodes[s.name].directory / "server.log"
            for s in scenario.cluster.nodes
            if s.replica_of is not None
        }
        running = [n for n, p in cluster.nodes.items() if p.status == "running"]
        measured: dict[str, Any] = start_lag_ms(
            history, running, cluster.names, replicas, wall_origin, origin_ms
        )
        timeline = cluster.timeline
        measured["timeline"] = {
            "spawned_ms": [t for t, _, w in timeline if w == "spawn"],
            "answered_ms": [t for t, _, w in timeline if w == "answers"],
            "first_meet_ms": first(timeline, "MEET"),
            "first_replicate_ms": first(timeline, "REPLICATE"),
        }
    return measured


def write(out: Path, command: str, binary: ServerBinary, samples: list[dict[str, Any]]) -> None:
    """The measurement file (rewritten after every run, so a failed run loses nothing)."""
    lags = [s["lag_ms"] for s in samples]
    report = {
        "what": "rcsim verify's real side: ms from the cluster's healthy moment to the "
        "scenario's time 0 (start_clock)",
        "method": __doc__,
        "command": command,
        "server": {"product": binary.product, "version": binary.version},
        "host": {"machine": platform.machine(), "measured": time.strftime("%Y-%m-%d")},
        "poll_ms": POLL_MS,
        "summary": {
            "n": len(lags),
            "median": statistics.median(lags),
            "min": min(lags),
            "max": max(lags),
        },
        "samples": samples,
    }
    out.write_text(json.dumps(report, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rcsim.verify.startlag", description=__doc__)
    parser.add_argument("scenarios", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server", default="redis-server")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    binary = identify(shutil.which(args.server) or args.server)
    command = (
        ".venv/bin/python -m rcsim.verify.startlag "
        + " ".join(str(s) for s in args.scenarios)
        + f" --runs {args.runs} --out {args.out}"
    )
    samples: list[dict[str, Any]] = []
    for source in args.scenarios:
        scenario = load_scenario(str(source))
        nodes = len(scenario.cluster.nodes)
        for run in range(1, args.runs + 1):
            try:
                measured = measure_once(scenario, binary)
            except (RuntimeError, ValueError, OSError) as error:
                print(f"{source} run {run}: not measured: {error}", file=sys.stderr)
                continue
            samples.append({"scenario": str(source), "nodes": nodes, "run": run, **measured})
            print(f"{source} run {run}: {measured}", file=sys.stderr)
            write(args.out, command, binary, samples)
    return 0 if samples else 1


if __name__ == "__main__":
    raise SystemExit(main())
