"""One node's data-plane state: :class:`NodeData`, kept in ``node.data``.

Its keyspace, persistence, subscriptions and the requests it holds. The cluster-wide
data plane that acts on it is :class:`~simulator.dataplane.model.ClusterData`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.dataplane.keyspace import Keyspace
from simulator.dataplane.persistence import Persistence
from simulator.dataplane.pubsub import PubSubRegistry
from simulator.node import Node


class NodeData(Keyspace):
    """One node's data: its :class:`Keyspace`, persistence, subscriptions and the
    requests it holds (paused, or behind a blocking MIGRATE). Its replication state is
    ``node.repl`` (:class:`~simulator.replication.Replication`)."""

    def __init__(self, node: Node, now: int) -> None:
        super().__init__()
        self.pubsub = PubSubRegistry()
        self.persistence = Persistence(node.config, now)
        self.generation = 0  # bumped when the process dies: stale events check it
        self.crash_time = 0
        self.power_loss = False
        self.held: list[tuple[str, Any, int]] = []  # (client, op, attempt) while paused
        self.busy = False  # a blocking MIGRATE is running: requests wait for it (§16.2)
        self.resume_waiters: list[tuple[Callable[..., None], tuple[Any, ...]]] = []  # §16.3
        self.blocked: list[tuple[str, Any, int]] = []
        # WAIT (§20.3): (client, op, attempt, woff, numreplicas, deadline) blocked for
        # ACKs, and whether a REPLCONF GETACK is due (``get_ack_from_slaves``)
        self.waiting: list[tuple[str, Any, int, int, int, int | None]] = []
        self.get_ack = False
        self.shutdown_deadline: int | None = None  # SHUTDOWN waiting for replicas (§21.3)
        # ``clients_timeout_table``: the deadlines of blocked clients (simulated and
        # RESP, a heap), and the last event-loop pass that checked it
        self.timeouts: list[int] = []
        self.last_pass = 0
        self.migrate_sockets: dict[str, int] = {}  # MIGRATE's cached sockets: target -> last use
