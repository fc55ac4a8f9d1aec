"""CLUSTER NODES / INFO / SLOTS / SHARDS as a given node would answer them (§18).

Everything is printed from the asking node's own view, so two nodes may answer
differently: that disagreement is the lesson. Times are shown as Unix
milliseconds (simulated time plus a fixed base) because that is what Redis prints.
"""

from __future__ import annotations

from typing import Any

from simulator.cluster import BASE_PORT, Cluster
from simulator.messages import FAIL, FLAG_NAMES, MASTER, MYSELF, NOADDR, PFAIL, SLAVE, MsgType
from simulator.node import Node, PeerView
from simulator.replication import REPL_TRANSFER, UNIX_BASE_MS
from simulator.slots import CLUSTER_SLOTS, NO_OWNER, format_slot_ranges

BUS_PORT_INCR = 10000  # CLUSTER_PORT_INCR


def unix_ms(t: int) -> int:
    return UNIX_BASE_MS + t


def flags_text(flags: int) -> str:
    """``representClusterNodeFlags``: fixed order, ``noflags`` when empty."""
    names = [name for bit, name in FLAG_NAMES if flags & bit]
    return ",".join(names) if names else "noflags"


def _peer_address(cluster: Cluster, peer: PeerView) -> str:
    if peer.flags & NOADDR:
        return ":0@0"
    port = _port(peer)
    return f"127.0.0.1:{port}@{port + BUS_PORT_INCR}"


def _port(peer: PeerView) -> int:
    """A node's client port: fixed by its index at creation (127.0.0.1:7000+i)."""
    return BASE_PORT + peer.index


def _shown_epoch(node: Node, peer: PeerView) -> int:
    """Column 7: a replica shows its master's configEpoch."""
    if peer.flags & SLAVE and peer.master is not None and peer.master in node.peers:
        return node.peers[peer.master].config_epoch
    if peer is node.me:
        return node.config_epoch
    return peer.config_epoch


def node_line(cluster: Cluster, node: Node, peer: PeerView) -> str:
    """One line of CLUSTER NODES (``clusterGenNodeDescription``)."""
    master_id = "-"
    if peer.flags & SLAVE and peer.master is not None and peer.master in node.peers:
        master_id = node.peers[peer.master].id
    ping = unix_ms(peer.ping_sent) if peer.ping_sent else 0
    pong = unix_ms(peer.pong_received)  # never answered (NEVER_PONGED): 0, the epoch
    link = "connected" if (peer.link or peer.flags & MYSELF) else "disconnected"
    parts = [
        peer.id,
        _peer_address(cluster, peer),
        flags_text(peer.flags),
        master_id,
        str(ping),
        str(pong),
        str(_shown_epoch(node, peer)),
        link,
    ]
    if peer.flags & MASTER:
        ranges = format_slot_ranges(node.slots.slots_of(peer.index))
        if ranges:
            parts.append(ranges)
    if peer is node.me:
        for slot, target in sorted(node.migrating.items()):
            parts.append(f"[{slot}->-{_id_of(cluster, target)}]")
        for slot, source in sorted(node.importing.items()):
            parts.append(f"[{slot}-<-{_id_of(cluster, source)}]")
    return " ".join(parts)


def _id_of(cluster: Cluster, name: str) -> str:
    node = cluster.nodes.get(name) or cluster.removed.get(name)
    return node.id if node is not None else name


def cluster_nodes(cluster: Cluster, name: str) -> str:
    """``CLUSTER NODES`` as node ``name`` answers it (one line per node, ``\\n``-terminated)."""
    node = cluster.node(name)
    return "".join(node_line(cluster, node, peer) + "\n" for peer in node.peers.values())


def cluster_info(cluster: Cluster, name: str) -> str:
    """``CLUSTER INFO`` (7.0.15 field order, §18.4)."""
    node = cluster.node(name)
    by_index = {p.index: p for p in node.peers.values()}
    assigned = ok = pfail = fail = 0
    for owner in node.slots.raw():
        if owner == NO_OWNER:
            continue
        assigned += 1
        flags = by_index[owner].flags if owner in by_index else 0
        if flags & FAIL:
            fail += 1
        elif flags & PFAIL:
            pfail += 1
        else:
            ok += 1
    size = sum(1 for p in node.peers.values() if p.flags & MASTER and node.numslots(p))
    lines = [
        f"cluster_state:{node.state}",
        f"cluster_slots_assigned:{assigned}",
        f"cluster_slots_ok:{ok}",
        f"cluster_slots_pfail:{pfail}",
        f"cluster_slots_fail:{fail}",
        f"cluster_known_nodes:{len(node.peers)}",
        f"cluster_size:{size}",
        f"cluster_current_epoch:{node.current_epoch}",
        f"cluster_my_epoch:{node.config_epoch}",
    ]
    for direction, counts in (("sent", node.sent), ("received", node.received)):
        for mtype in MsgType:
            if counts[mtype]:
                lines.append(
                    f"cluster_stats_messages_{mtype.counter_name}_{direction}:{counts[mtype]}"
                )
        lines.append(f"cluster_stats_messages_{direction}:{sum(counts)}")
    lines.append("total_cluster_links_buffer_limit_exceeded:0")
    return "\r\n".join(lines) + "\r\n"


def info_replication(cluster: Cluster, name: str) -> str:
    """``INFO replication``'s link fields (server.c ``genRedisInfoString``, 7.0.15): on a
    replica ``master_link_status`` is ``up`` only in ``REPL_STATE_CONNECTED``,
    ``master_last_io_seconds_ago`` is -1 without a master client, and
    ``master_link_down_since_seconds`` is -1 when the link never came up."""
    node = cluster.node(name)
    repl, now = node.repl, cluster.engine.now
    if node.is_master:
        lines = ["# Replication", "role:master", f"master_repl_offset:{repl.offset}"]
        return "\r\n".join(lines) + "\r\n"
    master = cluster.nodes.get(node.master_name or "")
    lines = [
        "# Replication",
        "role:slave",
        "master_host:127.0.0.1",
        f"master_port:{master.port if master is not None else 0}",
        f"master_link_status:{repl.link_status()}",
        f"master_last_io_seconds_ago:{repl.last_io_seconds_ago(now)}",
        f"master_sync_in_progress:{int(repl.state == REPL_TRANSFER)}",
        f"slave_repl_offset:{repl.offset}",
    ]
    if not repl.link_up:
        lines.append(f"master_link_down_since_seconds:{repl.down_since_seconds(now)}")
    lines.append(f"master_repl_offset:{repl.offset}")
    return "\r\n".join(lines) + "\r\n"


def _endpoint(cluster: Cluster, node: Node, peer: PeerView) -> list[Any]:
    port = _port(peer)
    return ["127.0.0.1", port, peer.id, []]


def cluster_slots(cluster: Cluster, name: str) -> list[list[Any]]:
    """``CLUSTER SLOTS`` as data: ``[start, end, master, replica...]`` per range (§18.2)."""
    node = cluster.node(name)
    by_index = {p.index: p for p in node.peers.values()}
    reply: list[list[Any]] = []
    for first, last, owner in node.slots.owner_runs():
        if owner == NO_OWNER or owner not in by_index:
            continue
        master = by_index[owner]
        entry: list[Any] = [first, last, _endpoint(cluster, node, master)]
        for replica_name in master.replicas:
            replica = node.peers.get(replica_name)
            if replica is None or replica.flags & FAIL:
                continue
            offset = node.repl_offset if replica is node.me else replica.repl_offset
            if offset == 0:
                continue
            entry.append(_endpoint(cluster, node, replica))
        reply.append(entry)
    return reply


def cluster_shards(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    """``CLUSTER SHARDS`` as data: one entry per master, slotless ones included (§18.3)."""
    node = cluster.node(name)
    shards: list[dict[str, Any]] = []
    for peer in node.peers.values():
        if not peer.flags & MASTER:
            continue
        slots: list[int] = []
        for first, last, owner in node.slots.owner_runs():
            if owner == peer.index:
                slots.extend((first, last))
        members = [peer] + [node.peers[r] for r in peer.replicas if r in node.peers]
        nodes: list[dict[str, Any]] = []
        for member in members:
            offset = node.repl_offset if member is node.me else member.repl_offset
            if member.flags & FAIL:
                health = "fail"
            elif member.flags & SLAVE and offset == 0:
                health = "loading"
            else:
                health = "online"
            port = _port(member)
            nodes.append(
                {
                    "id": member.id,
                    "port": port,
                    "ip": "127.0.0.1",
                    "endpoint": "127.0.0.1",
                    "role": "master" if member.flags & MASTER else "replica",
                    "replication-offset": offset,
                    "health": health,
                }
            )
        shards.append({"slots": slots, "nodes": nodes})
    return shards


def check_report(cluster: Cluster) -> tuple[bool, list[str]]:
    """What ``redis-cli --cluster check`` concludes: agreement and coverage."""
    problems: list[str] = []
    if not cluster.agree():
        problems.append("[ERR] Nodes don't agree about configuration!")
    else:
        problems.append("[OK] All nodes agree about slots configuration.")
    uncovered = sum(1 for owner in cluster.truth_table() if owner is None)
    if uncovered:
        problems.append(f"[ERR] Not all {CLUSTER_SLOTS} slots are covered by nodes.")
    else:
        problems.append(f"[OK] All {CLUSTER_SLOTS} slots covered.")
    return (cluster.agree() and not uncovered), problems
