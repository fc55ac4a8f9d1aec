"""Where a command goes on a node with ``cluster-enabled no`` (docs/redis-rules.md §28.1).

``processCommand`` (src/server.c) calls ``getNodeByQuery`` only ``if
(server.cluster_enabled && ...)``: a standalone server has no slots, so it never answers
``MOVED``, ``ASK``, ``TRYAGAIN``, ``CROSSSLOT`` or ``CLUSTERDOWN``; every key of any
slot is its own. What remains is the replica check further down the same function:
``if (server.masterhost && server.repl_slave_ro && !obey_client && is_write_command)``
a replica answers ``-READONLY`` (``replica-read-only yes`` is the default and the only
setting modelled). Reads are served by a replica without ``READONLY`` (that command
is a cluster one).
"""

from __future__ import annotations

from simulator.dataplane.routing import SERVE, NodeView, Request, Route
from simulator.slots import key_hash_slot

READONLY_REPLICA = "READONLY"
"""The route kind of a write sent to a standalone replica (an ``error`` outcome)."""

ERR_READONLY = "READONLY You can't write against a read only replica."

ERR_CLUSTER_DISABLED = "ERR This instance has cluster support disabled"
"""The reply of ``CLUSTER``, ``READONLY``, ``READWRITE`` and ``ASKING`` with the cluster
disabled (``clusterCommand``, ``readonlyCommand``, ... check ``server.cluster_enabled``)."""


def standalone_route(view: NodeView, request: Request) -> Route:
    """The standalone half of ``processCommand``'s checks: serve, or ``-READONLY`` for a
    write on a replica. ``slot`` is the first key's (for the trace only: no node checks it)."""
    slot = key_hash_slot(request.keys[0]) if request.keys else None
    if request.spec.write and not view.is_master:
        return Route(READONLY_REPLICA, slot, None, ERR_READONLY)
    return Route(SERVE, slot, view.name)
