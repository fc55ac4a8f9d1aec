"""What the command table keeps per real client connection, and what it answers.

A :class:`ClientState` is the part of Redis's ``client`` struct the modelled commands
read or change: id, name, protocol (``HELLO``), the cluster flags (READONLY, ASKING,
as the data plane's :class:`~simulator.dataplane.routing.Session`) and the
subscriptions (so RESP2's subscribed mode and pattern messages can be answered).
An :class:`Outcome` is what one command produced: replies now, or "held" (the node
holds it, as during a manual failover's client pause), or "blocked" (WAIT).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from simulator.cluster import BASE_PORT
from simulator.dataplane.routing import Session

BUS_PORT_INCR = 10000
"""``CLUSTER_PORT_INCR``: the bus port is the client port + 10000."""


@dataclass(slots=True)
class ClientState:
    """One real client connected to one simulated node.

    ``key`` is the name the model knows the client by (pub/sub registries, trace
    ``deliver`` targets); it never collides with a scenario's client names.
    """

    id: int
    key: str
    addr: str
    laddr: str
    created_ms: int
    proto: int = 2
    name: str = ""
    session: Session = field(default_factory=Session)
    channels: dict[str, None] = field(default_factory=dict)
    patterns: dict[str, None] = field(default_factory=dict)
    shard_channels: dict[str, None] = field(default_factory=dict)
    last_command: str = "NULL"
    commands: int = 0

    @property
    def subscribed(self) -> bool:
        """In subscribed mode (``CLIENT_PUBSUB``): RESP2 then accepts only pub/sub commands."""
        return bool(self.channels or self.patterns or self.shard_channels)


@dataclass(slots=True)
class Blocked:
    """WAIT numreplicas timeout: the client waits for ``offset`` (its ``woff``) to be
    ACKed, or for the node's first event-loop pass after ``deadline_ms``."""

    numreplicas: int
    deadline_ms: int | None
    offset: int


@dataclass(slots=True)
class Outcome:
    """One command's result: ``replies`` to send now (several for SUBSCRIBE), or
    ``hold`` (re-dispatch it later, unchanged), or ``blocked`` (WAIT); ``close``
    closes the connection after the replies (QUIT)."""

    replies: list[Any] = field(default_factory=list)
    hold: bool = False
    blocked: Blocked | None = None
    close: bool = False


HELD = Outcome(hold=True)

_ADDR = re.compile(r"127\.0\.0\.1:(\d+)(?:@(\d+))?")


@dataclass(frozen=True, slots=True)
class PortMap:
    """The model numbers node ``i``'s port ``7000 + i``; the sockets listen on
    ``base + i``. Every address a reply shows goes through :meth:`text`/:meth:`port`."""

    base: int = BASE_PORT

    def port(self, model_port: int) -> int:
        return model_port - BASE_PORT + self.base

    def model_port(self, port: int) -> int:
        return port - self.base + BASE_PORT

    def text(self, text: str) -> str:
        """Rewrite every ``127.0.0.1:PORT[@BUSPORT]`` in a reply text."""
        if self.base == BASE_PORT:
            return text

        def swap(match: re.Match[str]) -> str:
            port = self.port(int(match.group(1)))
            if match.group(2) is None:
                return f"127.0.0.1:{port}"
            return f"127.0.0.1:{port}@{port + BUS_PORT_INCR}"

        return _ADDR.sub(swap, text)
