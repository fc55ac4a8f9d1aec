"""WAIT's half in the node (§20.3): ``REPLCONF GETACK`` out, replicas' ACKs counted
(and counted by age for ``min-replicas-to-write``).

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

import heapq
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


def good_replicas(dp: Plane, master: Node) -> int:
    """``refreshGoodSlavesCount``: replicas whose last ACK is at most
    ``min-replicas-max-lag`` seconds old (§20.3)."""
    lag = master.config.get("min-replicas-max-lag")
    now_s = dp.cluster.engine.now // 1000
    count = 0
    for name, (_, t) in master.repl.acks.items():
        replica = dp.cluster.nodes.get(name)
        if (
            replica is not None
            and replica.master_name == master.name
            and replica.repl.link_up
            and now_s - t // 1000 <= lag
        ):
            count += 1
    return count


def block(dp: Plane, node: Node, timeout: int) -> int | None:
    """A WAIT blocks (``waitCommand``): ask for ACKs in this pass
    (:func:`request_acks`) and, with a timeout, put its deadline in the table
    (``addClientToTimeoutTable``); returns the deadline (None: it waits for ever).

    From then on every event-loop pass of ``node`` checks the table
    (``node.pass_watch``), whatever woke it: a bus packet or socket event, a command,
    an ACK or the cron (wait-getack.json: a 50 ms WAIT was answered 0.2 ms after a
    PING from another connection 60 ms after it; 50-150 ms after it with nothing but
    serverCron)."""
    request_acks(dp, node)
    if timeout <= 0:
        return None
    deadline: int = dp.cluster.engine.now + timeout
    heapq.heappush(dp.data(node).timeouts, deadline)
    node.pass_watch = True
    return deadline


def timeouts_passed(dp: Plane, node: Node, now: int) -> bool:
    """One pass's ``handleBlockedClientsTimeout`` over the table: records the pass (RESP
    WAITs read it), drops the deadlines it passed (``timeout < now``) and says whether
    any did. Simplified: the data plane's own serverCron timer (phased apart from
    clusterCron in rcsim, the same pass in Redis) is not one."""
    data = dp.data(node)
    data.last_pass = now
    timeouts = data.timeouts
    passed = bool(timeouts) and timeouts[0] < now
    while timeouts and timeouts[0] < now:
        heapq.heappop(timeouts)
    node.pass_watch = bool(timeouts)
    return passed


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

    Fed to the stream with no replica connected too: ``replicationFeedSlaves`` writes it
    to the backlog, so the offset moves by 37 bytes no replica needs (wait-getack.json:
    ``WAIT 1 50`` on a master whose replica was stopped, +37), unless the master has no
    backlog (it never had a replica, or freed it after ``repl-backlog-ttl``, §20.1)."""
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
    if node.is_master:
        dp.cluster.replication_stream(node, GETACK_BYTES, GETACK)
