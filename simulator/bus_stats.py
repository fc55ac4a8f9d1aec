"""What the cluster bus carries: messages and bytes each node sends, by message type.

Counted at one place, where a node hands a packet to its link (``clusterSendMessage``,
:meth:`simulator.node.bus.BusOutput._send` and ``_reply``), so it counts exactly what
``CLUSTER INFO``'s ``cluster_stats_messages_<type>_sent`` counts (a packet with no link
to go on is not sent, and not counted). Counting is two integer additions into
per-node lists; nothing is allocated per message.

Sizes are what Redis 7.0.15 puts on the wire (``totlen`` of ``clusterMsg``,
src/cluster.h and src/cluster.c; docs/redis-rules.md §4.4):

* every packet starts with the fixed header, ``offsetof(clusterMsg, data)`` = 2256
  bytes (``CLUSTERMSG_MIN_LEN``): signature, lengths, epochs, offset, sender name, the
  16384-bit slot bitmap (2048 bytes), ``slaveof``, ``myip``, ports, flags, state;
* PING, PONG and MEET (``clusterSendPing``) add one ``clusterMsgDataGossip`` of 104
  bytes per gossip entry (name 40, ping_sent 4, pong_received 4, ip 46, port 2,
  cport 2, flags 2, pport 2, unused 2), then the ping extensions: only the hostname
  extension exists in 7.0, sent only when ``cluster-announce-hostname`` is set, which
  rcsim does not model, so it adds nothing here (it would add
  8 + EIGHT_BYTE_ALIGN(len + 1));
* FAIL adds ``clusterMsgDataFail`` (40: the failing node's name);
* UPDATE adds ``clusterMsgDataUpdate`` (8 + 40 + 2048: configEpoch, name, bitmap);
* PUBLISH and PUBLISHSHARD add ``sizeof(clusterMsgDataPublish) - 8`` = 8 plus the
  channel and the message (``clusterSendPublish``);
* MODULE adds ``sizeof(clusterMsgModule) - 3`` = 13 plus the payload;
* AUTH_REQUEST, AUTH_ACK and MFSTART are the header alone.

The counters belong to the cluster (:class:`BusStats`, indexed by the node's global
index), so they outlive a node's restarts and cover the whole run; the process's own
``CLUSTER INFO`` counters (``node.sent``) restart from zero with the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.messages import Message, MsgType

HEADER_BYTES = 2256
"""``offsetof(clusterMsg, data)`` in Redis 7.0.15 (``static_assert`` in cluster.h)."""
GOSSIP_BYTES = 104
"""``sizeof(clusterMsgDataGossip)``."""
FAIL_BYTES = HEADER_BYTES + 40
"""``clusterBuildMessageHdr``: header + ``sizeof(clusterMsgDataFail)``."""
UPDATE_BYTES = HEADER_BYTES + 8 + 40 + 2048
"""``clusterBuildMessageHdr``: header + ``sizeof(clusterMsgDataUpdate)``."""
PUBLISH_FIXED_BYTES = HEADER_BYTES + 8
"""``clusterSendPublish``: header + ``sizeof(clusterMsgDataPublish) - 8``, then the bulk data."""
MODULE_FIXED_BYTES = HEADER_BYTES + 13
"""``clusterSendModule``: header + ``sizeof(clusterMsgModule) - 3``, then the payload."""

TYPES: tuple[MsgType, ...] = tuple(MsgType)
TYPE_NAMES: tuple[str, ...] = tuple(t.name for t in MsgType)
"""Message types as the report names them: ``PING``, ``PONG``, ``MEET``, ``FAIL``, ..."""

_LAST_HEARTBEAT = 2
assert (MsgType.PING, MsgType.PONG, MsgType.MEET) == (0, 1, _LAST_HEARTBEAT)


def wire_bytes(message: Message) -> int:
    """The packet's ``totlen`` as Redis 7.0.15 computes it (see the module text)."""
    mtype = message.type
    if mtype <= _LAST_HEARTBEAT:
        return HEADER_BYTES + GOSSIP_BYTES * len(message.gossip)
    if mtype is MsgType.FAIL:
        return FAIL_BYTES
    if mtype is MsgType.UPDATE:
        return UPDATE_BYTES
    if mtype is MsgType.PUBLISH or mtype is MsgType.PUBLISHSHARD:
        return (
            PUBLISH_FIXED_BYTES
            + len(message.channel.encode("utf-8"))
            + len(message.payload.encode("utf-8"))
        )
    if mtype is MsgType.MODULE:
        return MODULE_FIXED_BYTES + len(message.payload.encode("utf-8"))
    return HEADER_BYTES


class NodeTraffic:
    """One node's counters: messages and bytes sent, by message type (list index = type)."""

    __slots__ = ("bytes", "sent")

    def __init__(self) -> None:
        self.sent = [0] * len(TYPES)
        self.bytes = [0] * len(TYPES)

    def count(self, message: Message) -> int:
        """Count ``message`` as sent; return its size on the wire (what the link carries)."""
        mtype = message.type
        if mtype <= _LAST_HEARTBEAT:  # PING, PONG, MEET: the common case, inlined
            size = HEADER_BYTES + GOSSIP_BYTES * len(message.gossip)
        else:
            size = wire_bytes(message)
        self.sent[mtype] += 1
        self.bytes[mtype] += size
        return size


class BusStats:
    """Every node's :class:`NodeTraffic`, by global node index (the cluster owns it)."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        self.nodes: list[NodeTraffic] = []

    def node(self, index: int) -> NodeTraffic:
        """The counters of the node with global ``index`` (a restarted process keeps them)."""
        while len(self.nodes) <= index:
            self.nodes.append(NodeTraffic())
        return self.nodes[index]


@dataclass(frozen=True, slots=True)
class TypeCount:
    """Messages and bytes of one type over ``seconds`` of simulated time."""

    sent: int
    bytes: int
    seconds: float

    @property
    def sent_per_s(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_per_s(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "bytes": self.bytes,
            "sent_per_s": round(self.sent_per_s, 3),
            "bytes_per_s": round(self.bytes_per_s, 1),
        }


def counts(
    sent: list[int], sizes: list[int], seconds: float, every_type: bool
) -> dict[str, TypeCount]:
    """By type name (all types, or only those sent), plus ``"total"`` last."""
    out: dict[str, TypeCount] = {}
    for mtype, name in zip(TYPES, TYPE_NAMES, strict=True):
        if every_type or sent[mtype]:
            out[name] = TypeCount(sent[mtype], sizes[mtype], seconds)
    out["total"] = TypeCount(sum(sent), sum(sizes), seconds)
    return out


def report(stats: BusStats, names: list[str], elapsed_ms: int) -> dict[str, Any]:
    """``metrics.bus`` of the JSON report (docs/cli.md): the whole cluster's and each
    node's messages and bytes sent by type over ``elapsed_ms``, with rates per second."""
    seconds = elapsed_ms / 1000
    total_sent = [0] * len(TYPES)
    total_bytes = [0] * len(TYPES)
    per_node: dict[str, Any] = {}
    for index, name in enumerate(names):
        traffic = stats.node(index)
        for mtype in TYPES:
            total_sent[mtype] += traffic.sent[mtype]
            total_bytes[mtype] += traffic.bytes[mtype]
        mine = counts(traffic.sent, traffic.bytes, seconds, every_type=False)
        per_node[name] = {
            "by_type": {k: v.as_dict() for k, v in mine.items() if k != "total"},
            "total": mine["total"].as_dict(),
        }
    cluster = counts(total_sent, total_bytes, seconds, every_type=True)
    return {
        "seconds": seconds,
        "by_type": {k: v.as_dict() for k, v in cluster.items() if k != "total"},
        "total": cluster["total"].as_dict(),
        "per_node": per_node,
    }
