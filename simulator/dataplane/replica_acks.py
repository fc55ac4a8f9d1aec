"""WAIT's half in the node (§20.3): ``REPLCONF GETACK`` out, replicas' ACKs counted.

Redis 7.0.15 (``src/replication.c``, ``src/server.c``): ``waitCommand`` counts the
replicas whose last ACK reached the client's ``woff`` (``replicationCountAcksByOffset``)
and, with too few, blocks the client and asks for ACKs (``replicationRequestAckFromSlaves``
sets ``get_ack_from_slaves``). ``beforeSleep`` of the same event-loop pass feeds one
``REPLCONF GETACK *`` to the stream (37 bytes, counted in the offset) unless clients are
paused; each replica answers it at once with a REPLCONF ACK of the offset before it; and
the ``beforeSleep`` after an ACK arrives answers the clients it satisfies
(``processClientsWaitingReplicas``). Measured on 7.0.15: tests/data/wait-getack.json.

The clients' half (blocking, answering, the timeout) is in :mod:`.clients` for simulated
clients and in :mod:`simulator.resp.commands` for RESP ones.
"""

from __future__ import annotations

from typing import Any, Protocol

from simulator.messages import GETACK
from simulator.node import GETACK_BYTES, RUNNING, Node


class Plane(Protocol):
    """What this module uses of :class:`~simulator.dataplane.model.ClusterData`."""

    cluster: Any

    def data(self, node: Node) -> Any: ...


def acked_replicas(dp: Plane, master: Node, offset: int) -> int:
    """``replicationCountAcksByOffset``: the online replicas connected to ``master``
    whose last REPLCONF ACK reached ``offset``."""
    acks = master.repl.acks
    count = 0
    for name, link in master.repl.streams.items():
        ack = acks.get(name)
        if ack is not None and ack[0] >= offset and dp.cluster.replica_online(name, link):
            count += 1
    return count


def timeout_noticed_at(node: Node, now: int) -> int:
    """When a WAIT whose timeout has passed is answered: on the node's next serverCron
    pass, which is what wakes an idle Redis (wait-getack.json: a 50 ms timeout answered
    after 50-150 ms). Simplified: a bus packet that wakes it sooner does not count."""
    return max(int(node.cron_due), now)


def request_acks(dp: Plane, master: Node) -> None:
    """``replicationRequestAckFromSlaves``: one GETACK in this pass's ``beforeSleep``
    (the next event here), however many clients blocked in the pass."""
    data = dp.data(master)
    if not data.get_ack:
        data.get_ack = True
        dp.cluster.engine.schedule(0, send_getack, dp, master.name, data.generation)


def resume_acks(dp: Plane, node: Node) -> None:
    """A pause ended (the client pause, or SIGSTOP): a GETACK it held back goes now."""
    data = dp.data(node)
    if data.get_ack:
        dp.cluster.engine.schedule(0, send_getack, dp, node.name, data.generation)


def send_getack(dp: Plane, name: str, generation: int) -> None:
    """``beforeSleep``: ``if (get_ack_from_slaves && !paused) sendGetackToReplicas()``.

    Simplified: fed only while a replica is connected (Redis also appends it to a
    backlog that has none: the offset then moves by 37 bytes that no replica needs)."""
    node = dp.cluster.nodes.get(name)
    if node is None:
        return
    data = dp.data(node)
    if data.generation != generation or not data.get_ack or node.status != RUNNING:
        return  # a SIGSTOPped node sends it on SIGCONT (resume_acks)
    if node.writes_paused():  # "they'll be sent after the pause"
        end = node.writes_paused_until
        dp.cluster.engine.schedule_at(end, send_getack, dp, name, generation)
        return
    data.get_ack = False
    if node.is_master and node.repl.streams:
        dp.cluster.replication_stream(node, GETACK_BYTES, GETACK)
