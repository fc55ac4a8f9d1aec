"""The topology at one moment, for other tools: JSON, Graphviz DOT, GraphML, CLUSTER NODES.

Each node's entry is what *that node* believes about itself (role, master, the slots
it serves, flags, epochs, cluster state), as ``CLUSTER NODES``/``INFO`` on it would
show; the graph's edges are replication (master → replica, in the replica's view) and,
while the network is partitioned or cut, ``blocked`` edges for every direction in which
packets are dropped.
"""

from __future__ import annotations

import io
from typing import Any

import networkx as nx

from simulator.introspection import flags_text
from simulator.simulation import Simulation
from simulator.slots import format_slot_ranges

FORMATS = ("json", "dot", "graphml", "nodes")


def topology(sim: Simulation) -> dict[str, Any]:
    """Every node (removed ones excluded) with its own view of itself, plus the network."""
    cluster = sim.cluster
    nodes: list[dict[str, Any]] = []
    for node in cluster.nodes.values():
        nodes.append(
            {
                "name": node.name,
                "id": node.id,
                "addr": node.addr,
                "status": node.status,
                "role": "master" if node.is_master else "replica",
                "master": node.master_name,
                "slots": format_slot_ranges(node.my_slots()) if node.is_master else "",
                "flags": flags_text(node.me.flags),
                "config_epoch": node.config_epoch,
                "current_epoch": node.current_epoch,
                "state": node.state,
            }
        )
    network = cluster.network
    return {
        "t": sim.now,
        "nodes": nodes,
        "network": {"partitioned": network.is_partitioned, **network.describe()},
        "agree": cluster.agree(),
        "covered": cluster.covered(),
    }


def graph(sim: Simulation) -> nx.DiGraph:
    """Nodes with their attributes; ``replication`` and (when partitioned) ``blocked`` edges."""
    data = topology(sim)
    g = nx.DiGraph(t=data["t"])
    for entry in data["nodes"]:
        g.add_node(entry["name"], **{k: ("" if v is None else v) for k, v in entry.items()})
    for entry in data["nodes"]:
        if entry["role"] == "replica" and entry["master"] in g:
            g.add_edge(entry["master"], entry["name"], kind="replication")
    network = sim.cluster.network
    if network.is_partitioned:
        names = list(g.nodes)
        for a in names:
            for b in names:
                if a != b and not network.reachable(a, b) and not g.has_edge(a, b):
                    g.add_edge(a, b, kind="blocked")
    return g


def _quote(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def dot(sim: Simulation) -> str:
    """Graphviz DOT (written directly: no pydot needed)."""
    g = graph(sim)
    lines = [f"digraph rcsim {{  // t={g.graph['t']} ms", "  rankdir=TB;"]
    for name, attrs in g.nodes(data=True):
        label = f"{name}\n{attrs['role']} e{attrs['config_epoch']}"
        if attrs["slots"]:
            label += f"\n{attrs['slots']}"
        style = ["shape=box"] if attrs["role"] == "master" else ["shape=ellipse"]
        if attrs["status"] != "running":
            style.append("style=dashed")
        lines.append(f"  {_quote(name)} [label={_quote(label)}, {', '.join(style)}];")
    for a, b, attrs in g.edges(data=True):
        extra = ", style=dotted, color=red, constraint=false" if attrs["kind"] == "blocked" else ""
        lines.append(f"  {_quote(a)} -> {_quote(b)} [label={_quote(attrs['kind'])}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graphml(sim: Simulation) -> str:
    buffer = io.BytesIO()
    nx.write_graphml(graph(sim), buffer)
    return buffer.getvalue().decode("utf-8")
