"""One command a simulated client is executing: :class:`Op`.

It lives across the command's redirections, retries and timeouts (the client side is
:class:`~simulator.dataplane.clients.Client`); its keys and values are parsed once, here.
"""

from __future__ import annotations

from typing import Any

from simulator.dataplane.keyspace import slot_of
from simulator.engine import Timer


class Op:
    """One command a client is executing (across its redirections and retries)."""

    __slots__ = (
        "argv",
        "ask_target",
        "asking",
        "attempt",
        "done",
        "errors",
        "id",
        "key",
        "node",
        "outcome",
        "pinned",
        "result",
        "sent_at",
        "slot",
        "then",
        "timer",
        "values",
        "workload",
    )

    def __init__(self, op_id: int, argv: tuple[str, ...], workload: bool) -> None:
        self.id = op_id
        self.argv = argv
        name = argv[0].upper()
        keys: list[str] = []
        if name in ("GET", "SET", "INCR", "SPUBLISH", "SSUBSCRIBE"):
            keys = [argv[1]]
        elif name in ("MGET", "DEL", "EXISTS"):
            keys = list(argv[1:])
        elif name == "MSET":
            keys = list(argv[1::2])
        self.key = keys[0] if keys else None
        self.slot = slot_of(keys[0]) if keys else None
        self.values: tuple[tuple[str, str | None], ...] = ()
        if name == "SET":  # SET key value [PX ms ...]: the options are not key/value pairs
            self.values = ((argv[1], argv[2]),) if len(argv) > 2 else ()
        elif name == "MSET":
            self.values = tuple(zip(argv[1::2], argv[2::2], strict=False))
        elif name == "DEL":
            self.values = tuple((k, None) for k in argv[1:])
        self.workload = workload
        self.attempt = 0
        self.errors = 0
        self.node = ""
        self.sent_at = 0
        self.ask_target: str | None = None
        self.pinned: str | None = None  # always this node (WAIT, a publish on a given node)
        self.asking = False
        self.timer: Timer | None = None
        self.done = False
        self.outcome = ""
        self.result: Any = None
        self.then: tuple[Any, ...] = ()  # (callback, *args): callback(op, *args) when done

    @property
    def command(self) -> str:
        return self.argv[0].upper()
