"""``INFO``, ``ROLE`` and ``CLIENT INFO`` as a simulated node answers them.

Field names and order follow src/server.c ``genRedisInfoString`` and src/replication.c
``roleCommand`` (7.0.15), filled from the node's own state: its role, replication
offsets and IDs, its replicas' acknowledged offsets, its keyspace. Times are simulated
(``uptime_in_seconds`` counts from the simulation's start). Sections the model has
nothing for (memory, cpu, ...) are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.resp.client import ClientState, PortMap

if TYPE_CHECKING:
    from simulator.dataplane.model import ClusterData
    from simulator.node import Node

REDIS_VERSION = "7.0.15"
DEFAULT_SECTIONS = ("server", "clients", "persistence", "replication", "cluster", "keyspace")
ALL_SECTIONS = DEFAULT_SECTIONS
NO_REPLID = "0" * 40


def _replid(dp: ClusterData, node: Node) -> tuple[str, str, int]:
    dp.ready()
    return node.repl.replid, node.repl.replid2 or NO_REPLID, node.repl.second_offset


def _master_of(dp: ClusterData, node: Node) -> Node | None:
    if node.is_master or node.master_name is None:
        return None
    return dp.cluster.nodes.get(node.master_name) or dp.cluster.removed.get(node.master_name)


def replication_lines(dp: ClusterData, node: Node, ports: PortMap) -> list[str]:
    """The ``# Replication`` section."""
    lines: list[str] = []
    master = _master_of(dp, node)
    if node.is_master or master is None:
        lines.append("role:master")
    else:
        link_up = bool(node.repl_link_up) and node.repl.sync_master is None
        lines += [
            "role:slave",
            "master_host:127.0.0.1",
            f"master_port:{ports.port(master.port)}",
            f"master_link_status:{'up' if link_up else 'down'}",
            "master_last_io_seconds_ago:0" if link_up else "master_last_io_seconds_ago:-1",
            f"master_sync_in_progress:{0 if node.repl.sync_master is None else 1}",
            f"slave_read_repl_offset:{node.repl_offset}",
            f"slave_repl_offset:{node.repl_offset}",
        ]
        if not link_up:
            down = node.repl_down_since or 0
            lines.append(f"master_link_down_since_seconds:{max(0, (dp.now - down) // 1000)}")
        lines += [
            "slave_priority:100",
            "slave_read_only:1",
            "replica_announced:1",
        ]
    replicas = _replica_lines(dp, node, ports) if node.is_master else []
    lines.append(f"connected_slaves:{len(replicas)}")
    lines += replicas
    replid, replid2, second = _replid(dp, node)
    # No backlog (a master that never had a replica, or freed it after repl-backlog-ttl):
    # Redis prints 0 for its first byte and length.
    active = node.repl.has_backlog
    histlen = node.repl_offset - node.repl.backlog_from if active else 0
    first_byte = node.repl.backlog_from + 1 if active else 0
    lines += [
        "master_failover_state:no-failover",
        f"master_replid:{replid}",
        f"master_replid2:{replid2}",
        f"master_repl_offset:{node.repl_offset}",
        f"second_repl_offset:{second}",
        f"repl_backlog_active:{int(active)}",
        f"repl_backlog_size:{node.config.get('repl-backlog-size')}",
        f"repl_backlog_first_byte_offset:{first_byte}",
        f"repl_backlog_histlen:{histlen}",
    ]
    return lines


def _replica_lines(dp: ClusterData, node: Node, ports: PortMap) -> list[str]:
    """``slaveN:ip=...,port=...,state=online,offset=...,lag=...`` for connected replicas."""
    lines: list[str] = []
    acks = node.repl.acks
    for name in node.me.replicas:
        replica = dp.cluster.nodes.get(name)
        if replica is None or not replica.alive or replica.master_name != node.name:
            continue
        if not replica.repl_link_up or name not in acks:
            continue
        offset, at = acks[name]
        state = "online" if replica.repl.sync_master is None else "wait_bgsave"
        lag = max(0, (dp.now - at) // 1000)
        lines.append(
            f"slave{len(lines)}:ip=127.0.0.1,port={ports.port(replica.port)},"
            f"state={state},offset={offset},lag={lag}"
        )
    return lines


def info_text(
    dp: ClusterData, node: Node, ports: PortMap, clients: int, sections: list[str]
) -> str:
    """``INFO [section ...]``: ``default``/``all``/``everything`` or section names."""
    wanted: list[str] = []
    for section in sections or ["default"]:
        name = section.lower()
        if name in ("default", "all", "everything"):
            wanted += DEFAULT_SECTIONS
        elif name in ALL_SECTIONS:
            wanted.append(name)
    chosen = [s for s in ALL_SECTIONS if s in wanted]
    parts: list[str] = []
    for section in chosen:
        lines = _section(dp, node, ports, clients, section)
        parts.append(f"# {section.capitalize()}\r\n" + "".join(line + "\r\n" for line in lines))
    return "\r\n".join(parts)


def _section(dp: ClusterData, node: Node, ports: PortMap, clients: int, section: str) -> list[str]:
    if section == "server":
        return [
            f"redis_version:{REDIS_VERSION}",
            "redis_mode:cluster",
            "os:rcsim (simulated)",
            "arch_bits:64",
            f"run_id:{node.id}",
            f"tcp_port:{ports.port(node.port)}",
            f"uptime_in_seconds:{dp.now // 1000}",
            f"uptime_in_days:{dp.now // 86_400_000}",
        ]
    if section == "clients":
        return [f"connected_clients:{clients}", "cluster_connections:0", "blocked_clients:0"]
    if section == "persistence":
        return ["loading:0", "async_loading:0"]
    if section == "replication":
        return replication_lines(dp, node, ports)
    if section == "cluster":
        return ["cluster_enabled:1"]
    data = dp.data(node)  # a replica counts its logically expired keys too (§26.3)
    keys, expires = len(data.keys), len(data.expires)
    return [f"db0:keys={keys},expires={expires},avg_ttl=0"] if keys else []


def role_reply(dp: ClusterData, node: Node, ports: PortMap) -> list[Any]:
    """``ROLE`` (``roleCommand``): master with its replicas' acked offsets, or replica
    with its master's address, link state and offset."""
    master = _master_of(dp, node)
    if node.is_master or master is None:
        acks = node.repl.acks
        replicas: list[Any] = []
        for name in node.me.replicas:
            replica = dp.cluster.nodes.get(name)
            if replica is None or not replica.alive or replica.master_name != node.name:
                continue
            if not replica.repl_link_up or name not in acks:
                continue
            replicas.append(["127.0.0.1", str(ports.port(replica.port)), str(acks[name][0])])
        return ["master", node.repl_offset, replicas]
    if node.repl.sync_master is not None:
        state = "sync"
    elif node.repl_link_up:
        state = "connected"
    else:
        state = "connect"
    return ["slave", "127.0.0.1", ports.port(master.port), state, node.repl_offset]


def client_info_line(client: ClientState, now: int, command: str) -> str:
    """One ``CLIENT INFO`` / ``CLIENT LIST`` line (``catClientInfoString``)."""
    flags = ""
    if client.session.readonly:
        flags += "r"
    if client.subscribed:
        flags += "P"
    return (
        f"id={client.id} addr={client.addr} laddr={client.laddr} fd=8 name={client.name} "
        f"age={max(0, (now - client.created_ms) // 1000)} idle=0 flags={flags or 'N'} db=0 "
        f"sub={len(client.channels)} psub={len(client.patterns)} "
        f"ssub={len(client.shard_channels)} multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 "
        f"multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r "
        f"cmd={command} user=default redir=-1 resp={client.proto}\n"
    )
