"""The data plane: keyspaces, replication, clients and routing, resharding, pub/sub,
persistence and the write ledger (see docs/data-plane.md).

It is built in layers; a module imports only from the layers below its own (never
upwards, not even under ``TYPE_CHECKING`` or inside a function):

1. **values** — ``outcomes`` (the request-outcome registry), ``keyspace``, ``routing``
   (``getNodeByQuery``), ``standalone_route`` (the same without a cluster), ``service``
   (one thread per node), ``pubsub``, ``ledger``, ``persistence``, ``redis_cli`` and
   ``redis_cli_fix`` (redis-cli's planners), ``migrate_cut`` (MIGRATE's timing behind a
   cut), ``setslot_cost`` (what each command of a slot move costs), ``stale_reads`` (the stale-read ledger), ``backing_db`` (the database behind a
   cache, on the engine's clock): pure algorithms on plain values, no cluster.
2. **state** — ``model``: :class:`~simulator.dataplane.model.ClusterData` and each node's
   ``NodeData`` (keyspace, replication stream, persistence, pub/sub delivery, ledger,
   counters); it is the :class:`~simulator.cluster.DataPlane` the bus calls; beside it
   ``key_lookup`` (where a key lives, for the inspector), ``restart_load`` (what a
   restarted node loads) and ``shutdown_wait`` (SHUTDOWN waiting for the replicas).
3. **server** — ``server``: one command executed by one node (``processCommand``).
4. **clients** — ``clients``: client endpoints and the request path (delivery, held and
   blocked requests, refusals, WAIT).
5. **jobs** — ``resharding``: redis-cli's plans executed against the live cluster;
   ``cache_aside``: cache-aside clients driving a client endpoint (docs/caching.md).
6. **actions** — ``actions``: the ``Simulation.inject`` verbs and :func:`install`.

Where the state layer must act above itself (the requests a dying or resumed node
holds, the probe behind ``lookup``), it calls through the
:class:`~simulator.dataplane.model.RequestPath` that :func:`install` registers.
"""

from __future__ import annotations

from typing import Any

from simulator.dataplane.actions import install
from simulator.dataplane.model import ClusterData

__all__ = ["ClusterData", "install", "make_dataplane"]


def make_dataplane(scenario: Any = None) -> ClusterData[Any, Any]:
    """A fresh data plane to pass as ``Simulation(..., dataplane=...)`` (the runner's hook);
    :func:`install` then registers its actions and starts the scenario's clients."""
    return ClusterData()
