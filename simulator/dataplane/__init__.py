"""The data plane: keyspaces, replication, clients and routing, resharding, pub/sub,
persistence and the write ledger (see docs/data-plane.md).

The pure algorithms (redis_cli, routing, pubsub, ledger, persistence) work on plain
values; ``model``, ``server``, ``clients``, ``resharding`` and ``actions`` wire them
into the running cluster. :func:`install` attaches it to a simulation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.dataplane.model import ClusterData
    from simulator.simulation import Simulation


def install(
    sim: Simulation, scenario: Any = None, dataplane: ClusterData | None = None
) -> ClusterData:
    """Attach the data plane to ``sim``, register its actions and start the scenario's
    clients (``sim.extras["dataplane"]``); see :func:`simulator.dataplane.actions.install`."""
    from simulator.dataplane.actions import install as _install

    return _install(sim, scenario, dataplane)


def make_dataplane(scenario: Any = None) -> ClusterData:
    """A fresh data plane to pass as ``Simulation(..., dataplane=...)`` (the runner's hook)."""
    from simulator.dataplane.model import ClusterData

    return ClusterData()
