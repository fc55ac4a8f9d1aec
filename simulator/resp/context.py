"""What one command of the RESP front sees: the simulation, its node, the client.

Shared by :mod:`simulator.resp.commands` (dispatch, key and channel commands) and
:mod:`simulator.resp.server_commands` (connection, server and cluster commands).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.resp.client import ClientState, Outcome, PortMap
from simulator.resp.protocol import Error

if TYPE_CHECKING:
    from simulator.dataplane.model import ClusterData
    from simulator.node import Node
    from simulator.simulation import Simulation

ERR_SYNTAX = "ERR syntax error"
ERR_NOT_INTEGER = "ERR value is not an integer or out of range"


@dataclass(slots=True)
class Context:
    """Everything one command may read or change: the simulation, the node that
    received it (by name), the client, the address map and the node's other clients."""

    sim: Simulation
    node_name: str
    client: ClientState
    ports: PortMap
    clients: Sequence[ClientState]
    arrival: int = -1  # when the request arrived (simulated ms), if known

    @property
    def dp(self) -> ClusterData:
        dp: ClusterData = self.sim.extras["dataplane"]
        return dp

    @property
    def node(self) -> Node:
        return self.sim.cluster.node(self.node_name)

    @property
    def now(self) -> int:
        return self.sim.now


def reply(*values: Any) -> Outcome:
    return Outcome(list(values))


def error(text: str) -> Outcome:
    return Outcome([Error(text)])
