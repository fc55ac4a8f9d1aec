"""One real run, start to finish: a temporary directory, the cluster, the steps, and
everything undone afterwards (processes by PID, the iptables chain, the directory),
whatever happens, Ctrl-C included."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rcsim.verify.cleanup import Cleanup
from rcsim.verify.firewall import Firewall
from rcsim.verify.measure import Measures, real_measures
from rcsim.verify.player import Player
from rcsim.verify.realcluster import RealCluster
from rcsim.verify.scenario_api import model
from rcsim.verify.server import ServerBinary


def needs_firewall(scenario: model.Scenario) -> bool:
    return any(
        isinstance(s.action, model.Partition | model.Cut | model.Heal) for s in scenario.steps
    )


def real_run(
    scenario: model.Scenario, binary: ServerBinary, keep: Path | None = None, seed: int = 1
) -> Measures:
    """Play ``scenario`` once on a fresh real cluster; ``keep`` copies the node logs there.
    ``seed`` names what rcsim draws from its seed (the victims of ``kill-masters``)."""
    cleanup = Cleanup()
    with cleanup.guard():
        workdir = Path(tempfile.mkdtemp(prefix="rcsim-verify-"))
        cleanup.push(f"directory {workdir}", lambda: shutil.rmtree(workdir, ignore_errors=True))
        firewall = None
        if needs_firewall(scenario):
            firewall = Firewall(f"RCSIM-VERIFY-{os.getpid()}", owners=True)
            cleanup.push("iptables chain", firewall.teardown)
            firewall.setup()
        cluster = RealCluster(scenario, binary, workdir, cleanup, firewall)
        cluster.create()
        cluster.start_clock()
        cluster.start_clients()
        run = Player(cluster, scenario, seed).play()
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for name, node in cluster.nodes.items():
                log = node.directory / "server.log"
                if log.exists():
                    shutil.copy(log, keep / f"{name}.log")
        measures = real_measures(scenario, run)
    if cleanup.errors:
        measures.errors.extend(f"cleanup: {e}" for e in cleanup.errors)
    return measures
