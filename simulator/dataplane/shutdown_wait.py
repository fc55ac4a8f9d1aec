"""A graceful SHUTDOWN that waits for the replicas (Redis 7.0, ``prepareForShutdown`` and
``isReadyToShutdown`` in server.c; §21.3).

A master with replicas whose last ACK is not its current offset does not stop at once:
it sends ``REPLCONF GETACK *`` (unless clients are already paused), pauses client
writes, and from then on each ``serverCron`` (every 100 ms) stops it once every replica
has acknowledged the whole stream, or once ``shutdown-timeout`` seconds have passed
(0: never wait). The stream it then saves (and a replica that caught up holds) includes
the GETACK's 37 bytes, so after a restart from that RDB the replica resyncs partially.

Simplified: the pause is the one a manual failover also uses (``writes_paused_until``),
so a manual failover's end would lift it; SHUTDOWN ABORT is not modelled.
"""

from __future__ import annotations

from typing import Any, Protocol

from simulator.cluster import ClusterError
from simulator.messages import GETACK
from simulator.node import GETACK_BYTES, Node

CRON_MS = 100
"""``serverCron``'s period (hz 10): the shutdown ends at the first one past the deadline."""


class Plane(Protocol):
    """What this module uses of :class:`~simulator.dataplane.model.ClusterData`."""

    cluster: Any

    @property
    def now(self) -> int: ...

    def data(self, node: Node) -> Any: ...

    def emit(
        self, kind: str, node: str | None = None, target: str | None = None, **f: Any
    ) -> None: ...


def ready(node: Node) -> bool:
    """``isReadyToShutdown``: every replica connection acknowledged the master's offset."""
    repl = node.repl
    return all(repl.acks.get(name, (-1, 0))[0] == repl.offset for name in repl.streams)


def begin(dp: Plane, node: Node) -> bool:
    """``prepareForShutdown``: True when ``node`` now waits for its replicas (trace
    ``shutdown_wait``); False when it can stop at once."""
    data = dp.data(node)
    if data.shutdown_deadline is not None:
        raise ClusterError(f"{node.name} is already shutting down")
    timeout_s = int(node.config.get("shutdown-timeout"))
    if not timeout_s or ready(node):
        return False
    data.shutdown_deadline = dp.now + timeout_s * 1000
    if not node.writes_paused():
        dp.cluster.replication_stream(node, GETACK_BYTES, GETACK)  # sendGetackToReplicas
    # pauseClients(PAUSE_DURING_SHUTDOWN, LLONG_MAX, ...): until the process ends, which
    # is at the latest the first serverCron past the deadline
    node.writes_paused_until = data.shutdown_deadline + CRON_MS
    dp.emit(
        "shutdown_wait",
        node.name,
        replicas=len(node.repl.streams),
        timeout_ms=timeout_s * 1000,
    )
    return True


def done(dp: Plane, node: Node) -> bool:
    """``serverCron``: stop now, the replicas having caught up or the timeout passed."""
    deadline = dp.data(node).shutdown_deadline
    return deadline is not None and (dp.now >= deadline or ready(node))
