"""Cluster-bus messages (src/cluster.h ``clusterMsg``), as small immutable records.

Only the header fields whose values change behaviour are modelled (behaviour
reference §4.2); the byte layout, extensions and ports are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final, NamedTuple

# Node flags (src/cluster.h CLUSTER_NODE_*), the bit values of Redis except that MEET
# and MIGRATE_TO trade places (Redis: MEET 128, MIGRATE_TO 256). Every master with a
# replica carries MIGRATE_TO, so with Redis's values its flags are 257, an int CPython
# makes afresh at each write: a 300-node cluster held 45,000 distinct int objects for
# four flag values, one cache miss for each gossip entry that read one. With MIGRATE_TO
# at 128 the common flags are all below 257, the small ints CPython shares (~5 % of a
# 300-node run, docs/benchmarks.md, Round 5). The values never leave the process (CLUSTER
# NODES and the views print names), so nothing else can tell.
MASTER: Final = 1
SLAVE: Final = 2
PFAIL: Final = 4
FAIL: Final = 8
MYSELF: Final = 16
HANDSHAKE: Final = 32
NOADDR: Final = 64
MIGRATE_TO: Final = 128
MEET: Final = 256
NOFAILOVER: Final = 512

# Print order of CLUSTER NODES flags (src/cluster.c redisNodeFlagsTable, §2.2).
FLAG_NAMES: tuple[tuple[int, str], ...] = (
    (MYSELF, "myself"),
    (MASTER, "master"),
    (SLAVE, "slave"),
    (PFAIL, "fail?"),
    (FAIL, "fail"),
    (HANDSHAKE, "handshake"),
    (NOADDR, "noaddr"),
    (NOFAILOVER, "nofailover"),
)

# mflags[0] bits (§4.2).
MF_PAUSED: Final = 1
MF_FORCEACK: Final = 2


class MsgType(IntEnum):
    """Message types and their CLUSTER INFO counter names (§4.3)."""

    PING = 0
    PONG = 1
    MEET = 2
    FAIL = 3
    PUBLISH = 4
    AUTH_REQUEST = 5
    AUTH_ACK = 6
    UPDATE = 7
    MFSTART = 8
    MODULE = 9
    PUBLISHSHARD = 10

    @property
    def counter_name(self) -> str:
        return _COUNTER_NAMES[self]


_COUNTER_NAMES = {
    MsgType.PING: "ping",
    MsgType.PONG: "pong",
    MsgType.MEET: "meet",
    MsgType.FAIL: "fail",
    MsgType.PUBLISH: "publish",
    MsgType.AUTH_REQUEST: "auth-req",
    MsgType.AUTH_ACK: "auth-ack",
    MsgType.UPDATE: "update",
    MsgType.MFSTART: "mfstart",
    MsgType.MODULE: "module",
    MsgType.PUBLISHSHARD: "publishshard",
}


class GossipEntry(NamedTuple):
    """One gossip entry (``clusterSetGossipEntry``): times are in seconds, as on the wire.

    The nodes build and read entries as plain tuples in these fields' order
    (:data:`GossipFields`): a 1,000-node cluster builds and reads millions of them per
    simulated second, and a plain tuple costs a quarter of a named one to build. This
    class names the fields and builds one where speed does not matter (tests)."""

    name: str
    ping_sent_s: int
    pong_received_s: int
    flags: int


GossipFields = tuple[str, int, int, int]
"""A gossip entry as the nodes build it: :class:`GossipEntry`'s fields, a plain tuple."""


class Message(NamedTuple):
    """A cluster-bus packet.

    A named tuple (immutable, and cheap next to a dataclass): the node
    builds its heartbeats with ``tuple.__new__`` in field order (a frozen dataclass
    spent ~3 µs per packet on its ``__init__``; a 300-node cluster sends thousands
    per simulated second).

    ``slots`` is the sender's claim as a bitset, bit s = slot s (Redis sends a 2048-byte
    bitmap; a replica sends its master's); ``claim_fp`` fingerprints it (an XOR of
    per-slot random keys, as in Zobrist hashing) so an unchanged claim compares in O(1).
    ``reply`` marks a PONG answering the receiver's own PING, i.e. one that arrives
    on the receiver's outbound link (only those refresh ``pong_received``, §4.1).
    """

    type: MsgType
    sender: str
    current_epoch: int
    config_epoch: int
    offset: int
    slots: int
    claim_fp: int  # Zobrist fingerprint of ``slots``: equal claims compare in O(1)
    master: str | None
    flags: int
    state_ok: bool
    mflags: int = 0
    reply: bool = False
    gossip: tuple[GossipFields, ...] = ()  # GossipEntry's fields, plain tuples
    about: str | None = None  # FAIL and UPDATE: the node the message is about
    about_epoch: int = 0  # UPDATE: its configEpoch
    about_slots: int | None = None  # UPDATE: its slots (bitset)
    channel: str = ""  # PUBLISH / PUBLISHSHARD
    payload: str = ""


@dataclass(frozen=True, slots=True)
class ReplChunk:
    """A piece of a master's replication stream (not a bus message): the master's
    offset after it, and what the data plane needs to apply it (``None`` for PING,
    :data:`GETACK` for ``REPLCONF GETACK *``)."""

    master: str
    offset: int
    payload: object = None


GETACK: Final = "REPLCONF GETACK *"
"""The payload of the chunk a master sends when a client blocks in WAIT
(``sendGetackToReplicas``): each replica answers it with a REPLCONF ACK at once."""


@dataclass(frozen=True, slots=True)
class ReplAck:
    """``REPLCONF ACK <offset>`` on a replica's link to its master (``replicationSendAck``,
    once a second): the offset the replica processed."""

    replica: str
    offset: int

    @property
    def size(self) -> int:
        """Bytes on the wire: ``*3\\r\\n$8\\r\\nREPLCONF\\r\\n$3\\r\\nACK\\r\\n$N\\r\\n<offset>\\r\\n``."""
        digits = len(str(self.offset))
        return 4 + 14 + 9 + 3 + len(str(digits)) + 2 + digits + 2
