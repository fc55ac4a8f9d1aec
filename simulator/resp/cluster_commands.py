"""``CLUSTER ...`` from a real client: src/cluster.c ``clusterCommand`` (7.0) over the model.

Every answer comes from the receiving node's own view (:mod:`simulator.introspection`),
so a partitioned node's ``CLUSTER NODES`` shows what it believes. Node IDs in
arguments are looked up in that view. ``CLUSTER FAILOVER`` goes through
``Simulation.inject`` (recorded, so a rewind replays it); the slot and membership
commands call the node's own methods, as a real node runs them on its own state.
Addresses are shown through the front's :class:`~simulator.resp.client.PortMap`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.introspection import (
    cluster_info,
    cluster_nodes,
    cluster_shards,
    cluster_slots,
    node_line,
)
from simulator.messages import SLAVE
from simulator.resp.client import PortMap
from simulator.resp.protocol import OK, Error, Map, Simple, Verbatim
from simulator.simulation import ActionError
from simulator.slots import CLUSTER_SLOTS, key_hash_slot

if TYPE_CHECKING:
    from simulator.node import Node
    from simulator.simulation import Simulation

ERR_NOT_INTEGER = "ERR value is not an integer or out of range"
ERR_BAD_SLOT = "ERR Invalid or out of range slot"

HELP = [
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "BUMPEPOCH",
    "COUNTKEYSINSLOT <slot>",
    "DELSLOTS <slot> [<slot> ...]",
    "FAILOVER [FORCE|TAKEOVER]",
    "FORGET <node-id>",
    "GETKEYSINSLOT <slot> <count>",
    "INFO",
    "KEYSLOT <key>",
    "MEET <ip> <port> [<bus-port>]",
    "MYID",
    "NODES",
    "REPLICATE <node-id>",
    "REPLICAS <node-id>",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "SHARDS",
    "SLAVES <node-id>",
    "SLOTS",
    "HELP",
    "    Print this help.",
]


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _slot(text: str) -> int | Error:
    """``getSlotOrReply``."""
    slot = _int(text)
    if slot is None or not 0 <= slot < CLUSTER_SLOTS:
        return Error(ERR_BAD_SLOT)
    return slot


def _name_of(node: Node, node_id: str) -> str:
    """The peer with this ID in ``node``'s view (by name: the model's key), or the ID."""
    for peer in node.peers.values():
        if peer.id == node_id:
            return peer.name
    return node_id


def _status(reply: str) -> Any:
    return Error(reply) if reply.startswith("ERR") else Simple(reply)


def cluster(sim: Simulation, node: Node, argv: list[str], ports: PortMap, proto: int) -> Any:
    """The reply to ``CLUSTER argv[1] ...`` (arity already checked)."""
    c = sim.cluster
    sub = argv[1].lower()
    if sub == "nodes":
        return Verbatim(ports.text(cluster_nodes(c, node.name)))
    if sub == "info":
        return Verbatim(cluster_info(c, node.name))
    if sub == "myid":
        return node.id
    if sub == "slots":
        return [
            [entry[0], entry[1], *(_endpoint(e, ports) for e in entry[2:])]
            for entry in cluster_slots(c, node.name)
        ]
    if sub == "shards":
        return [_shard(shard, ports) for shard in cluster_shards(c, node.name)]
    if sub == "keyslot":
        return key_hash_slot(argv[2])
    if sub == "countkeysinslot":
        slot = _int(argv[2])
        if slot is None:
            return Error(ERR_NOT_INTEGER)
        if not 0 <= slot < CLUSTER_SLOTS:
            return Error("ERR Invalid slot")
        return c.count_keys_in_slot(node, slot)
    if sub == "getkeysinslot":
        count, slot = _int(argv[3]), _int(argv[2])
        if count is None or slot is None:
            return Error(ERR_NOT_INTEGER)
        if count < 0 or not 0 <= slot < CLUSTER_SLOTS:
            return Error("ERR Invalid slot or number of keys")
        data = sim.extras["dataplane"].data(node)
        return data.keys_in_slot(slot, count)
    if sub in ("replicas", "slaves"):
        return _replicas(sim, node, argv[2], ports)
    if sub == "failover":
        return _failover(sim, node, argv)
    if sub == "setslot":
        return _setslot(node, argv)
    if sub in ("addslots", "delslots"):
        slots: list[int] = []
        for text in argv[2:]:
            parsed = _slot(text)
            if isinstance(parsed, Error):
                return parsed
            slots.append(parsed)
        method = node.cluster_addslots if sub == "addslots" else node.cluster_delslots
        return _status(method(slots))
    if sub == "forget":
        return _status(node.forget(_name_of(node, argv[2])))
    if sub == "replicate":
        return _status(node.replicate(_name_of(node, argv[2])))
    if sub == "bumpepoch":
        return Simple(node.cluster_bumpepoch())
    if sub == "meet":
        return _meet(sim, node, argv, ports)
    return HELP


def _endpoint(endpoint: list[Any], ports: PortMap) -> list[Any]:
    """``[ip, port, id, {metadata}]``: the metadata is a map (RESP3), empty here."""
    ip, port, node_id = endpoint[0], endpoint[1], endpoint[2]
    return [ip, ports.port(port), node_id, Map(())]


def _shard(shard: dict[str, Any], ports: PortMap) -> Map:
    nodes = []
    for member in shard["nodes"]:
        fields = dict(member)
        fields["port"] = ports.port(fields["port"])
        nodes.append(Map(tuple(fields.items())))
    return Map((("slots", list(shard["slots"])), ("nodes", nodes)))


def _replicas(sim: Simulation, node: Node, node_id: str, ports: PortMap) -> Any:
    """``CLUSTER REPLICAS``: the replicas' ``CLUSTER NODES`` lines, in my view."""
    name = _name_of(node, node_id)
    peer = node.peers.get(name)
    if peer is None:
        return Error(f"ERR Unknown node {node_id}")
    if peer.flags & SLAVE:
        return Error("ERR The specified node is not a master")
    lines = []
    for replica in peer.replicas:
        view = node.peers.get(replica)
        if view is not None:
            lines.append(ports.text(node_line(sim.cluster, node, view)))
    return lines


def _failover(sim: Simulation, node: Node, argv: list[str]) -> Any:
    if len(argv) > 3:
        return Error("ERR syntax error")
    mode = argv[2].lower() if len(argv) == 3 else "default"
    if mode not in ("default", "force", "takeover") or (len(argv) == 3 and mode == "default"):
        return Error("ERR syntax error")
    try:
        reply = sim.inject("failover", node=node.name, mode=mode)
    except ActionError as error:
        return Error(f"ERR {error}")
    return _status(str(reply))


def _setslot(node: Node, argv: list[str]) -> Any:
    """``CLUSTER SETSLOT <slot> IMPORTING|MIGRATING|NODE <id> | STABLE``."""
    slot = _slot(argv[2])
    if isinstance(slot, Error):
        return slot
    action = argv[3].lower()
    if action == "stable" and len(argv) == 4:
        return _status(node.cluster_setslot(slot, "STABLE"))
    if action in ("importing", "migrating", "node") and len(argv) == 5:
        return _status(node.cluster_setslot(slot, action.upper(), _name_of(node, argv[4])))
    return Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")


def _meet(sim: Simulation, node: Node, argv: list[str], ports: PortMap) -> Any:
    """``CLUSTER MEET ip port``: handshake with the simulated node at that address (an
    address no simulated node has is accepted, and the handshake never completes)."""
    port = _int(argv[3])
    if port is None or not 0 < port < 65536:
        return Error(f"ERR Invalid base port specified: {argv[3]}")
    if argv[2] not in ("127.0.0.1", "localhost", "::1"):
        return Error(f"ERR Invalid node address specified: {argv[2]}:{argv[3]}")
    for other in sim.cluster.nodes.values():
        if ports.port(other.port) == port and other.name != node.name:
            node.meet(other.name)
    return OK
