"""The topology a cluster is built from: node specs, redis-cli's standard layout, and the
errors a cluster raises for names and operations it refuses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.slots import create_allocation


class UnknownNode(ValueError):
    """A node name that the cluster does not have."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown node '{name}' (known: {_known(known)})")
        self.name = name


class ClusterError(ValueError):
    """An operation that Redis (or redis-cli) would refuse."""


def _known(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) > 4 and all(n == f"n{i + 1}" for i, n in enumerate(names)):
        return f"n1..n{len(names)}"
    return ", ".join(names)


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node of an explicit topology."""

    name: str
    role: str = "master"  # "master" | "replica"
    slots: tuple[int, ...] = ()
    replica_of: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


def standard_topology(masters: int, replicas: int) -> list[NodeSpec]:
    """``masters`` masters n1..nM with redis-cli's create ranges; replica n(M+k) follows n(((k-1) mod M)+1)."""
    if masters < 1:
        raise ClusterError("a cluster needs at least one master")
    specs = [
        NodeSpec(f"n{i + 1}", "master", tuple(rng))
        for i, rng in enumerate(create_allocation(masters))
    ]
    for k in range(1, masters * replicas + 1):
        specs.append(NodeSpec(f"n{masters + k}", "replica", (), f"n{(k - 1) % masters + 1}"))
    return specs


def check_specs(specs: Sequence[NodeSpec]) -> None:
    """Refuse a topology Redis could not have: duplicate names, a replica of a non-master,
    a slot given twice."""
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ClusterError("duplicate node names")
    owners: dict[int, str] = {}
    for spec in specs:
        if spec.role == "replica":
            master = next((s for s in specs if s.name == spec.replica_of), None)
            if master is None or master.role != "master":
                raise ClusterError(
                    f"{spec.name} is a replica of '{spec.replica_of}', which is not a master"
                )
        for slot in spec.slots:
            if slot in owners:
                raise ClusterError(f"slot {slot} is given to both {owners[slot]} and {spec.name}")
            owners[slot] = spec.name
