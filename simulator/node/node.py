"""The node as a process: :class:`Node`, the top of the layers, with its faults and its start.

A fault is something that happens to the process (SIGKILL, SIGSTOP, SIGCONT,
SHUTDOWN, a restart from ``nodes.conf``); the host decides when, the node changes
its own state. :meth:`Node.bootstrap` is the converged start state that
``redis-cli --cluster create`` and a few seconds of gossip would leave (§17.2).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from simulator.messages import MASTER, NOFAILOVER, SLAVE
from simulator.native import mypyc_attr
from simulator.node.constants import (
    CALIBRATION_LINK_AGE_MS,
    CALIBRATION_LINK_AGE_WITH_REPLICAS_MS,
    CRASHED,
    LINK_AGE_STEPS,
    PAUSED,
    RUNNING,
    STOPPED,
)
from simulator.node.links import LinkEvents
from simulator.node.nodes_conf import NodesConf
from simulator.node.peer import PeerView
from simulator.replication import Replication
from simulator.slots import SlotTable

_SHARED_TIMES: dict[int, int] = {}
"""One int object per start-state time (link ages and pong times are a few thousand
distinct values): a 2,000-node start state draws 8 million of them, and an int object
of its own each would cost 32 bytes (~240 MiB). Ints are values: sharing them changes
nothing but memory."""


def _shared(value: int) -> int:
    return _SHARED_TIMES.setdefault(value, value) if len(_SHARED_TIMES) < 1 << 16 else value


@mypyc_attr(native_class=False)  # a frozen dataclass: copies as in pure Python
@dataclass(frozen=True, slots=True)
class SeedPeer:
    """One node of a converged start, as every node will know it."""

    name: str
    node_id: str
    index: int
    config_epoch: int
    replica_of: str | None  # None for a master
    serves_slots: bool
    nofailover: bool


@mypyc_attr(allow_interpreted_subclasses=True)
class Node(LinkEvents):
    """A Redis node with cluster-enabled yes, as seen from inside its own process.

    Built in layers, one per section of src/cluster.c (see :mod:`simulator.node`).
    """

    cluster_enabled: ClassVar[bool] = (
        True  # simulator/standalone.py's StandaloneNode: cluster-enabled no
    )

    # ------------------------------------------------------------------ start

    def bootstrap(
        self,
        seeds: Sequence[SeedPeer],
        table: SlotTable,
        setup: random.Random,
        repl_offset: int,
    ) -> None:
        """Know every node as after ``--cluster create`` and gossip: links up, pongs recent,
        SET-CONFIG-EPOCH 1..N, roles and slots in place (§17.2). ``setup`` draws the link
        ages and pong times (the same stream for every node, in node order)."""
        nt = self.config.node_timeout
        self.current_epoch = len(seeds)
        by_name = {seed.name: seed for seed in seeds}
        mine = by_name[self.name]
        synced = any(seed.replica_of is not None for seed in seeds)
        young, old = CALIBRATION_LINK_AGE_WITH_REPLICAS_MS if synced else CALIBRATION_LINK_AGE_MS
        self.me.config_epoch = mine.config_epoch
        self.me.flags &= ~(MASTER | SLAVE)
        for seed in seeds:
            if seed.name == self.name:
                peer = self.me
            else:
                peer = PeerView(seed.name, seed.node_id, seed.index, 0)
                self.add_peer(peer)
                peer.link = True
                self.links[seed.name] = self.host.preconnect(self.name, seed.name)
                step = setup.randrange(LINK_AGE_STEPS)
                peer.link_ctime = _shared(-(young + step * (old - young) // LINK_AGE_STEPS))
                peer.pong_received = _shared(-setup.randrange(nt // 2 + 1))
                peer.data_received = peer.pong_received
                peer.config_epoch = seed.config_epoch
                if seed.nofailover:
                    peer.flags |= NOFAILOVER
            peer.flags |= MASTER if seed.replica_of is None else SLAVE
            peer.repl_offset = repl_offset
        for seed in seeds:
            if seed.replica_of is not None:
                self.peers[seed.name].master = seed.replica_of
                self._add_replica(self.peers[seed.replica_of], seed.name)
        self.load_slot_table(table)
        self.repl.offset = repl_offset
        if mine.replica_of is not None or any(s.replica_of == self.name for s in seeds):
            # The initial sync created the backlog at offset 0 (``syncCommand`` on the
            # master, ``readSyncBulkPayload`` on the replica); the stream since fills it.
            self.repl.buffer_from = 0
        self.state = "ok"
        self.first_call_time = -100_000
        self.among_minority_time = -100_000
        self.size = sum(1 for seed in seeds if seed.replica_of is None and seed.serves_slots)
        if mine.replica_of is not None:
            self.repl.connected(self.engine.now)

    def bootstrap_state(self, covered: bool) -> None:
        """The converged ``cluster_state``: ok unless a slot is unbound and coverage is required."""
        full = self.config.get("cluster-require-full-coverage")
        self.state = "ok" if covered or not full else "fail"
        self.update_state()

    def restart_from(
        self, saved: NodesConf | None, data: Any = None, repl: Replication | None = None
    ) -> None:
        """A new process of this node starting from its ``nodes.conf`` (if it has one).

        ``data`` and ``repl`` are the data plane's and replication's state of the
        previous process (what its disk kept); the data plane's ``on_restart`` decides
        what survives."""
        self.data = data
        if repl is not None:
            repl.process_restarted(self.engine.now)
            self.repl = repl
        if saved is not None:
            self.load_config(saved)

    def set_config(self, directive: str, value: Any) -> None:
        """``CONFIG SET``; ``cluster-replica-no-failover`` is also a flag others see (§11)."""
        self.config.set(directive, value)
        if directive == "cluster-replica-no-failover":
            if self.config.get(directive):
                self.me.flags |= NOFAILOVER
            else:
                self.me.flags &= ~NOFAILOVER

    # ------------------------------------------------------------------ faults

    def crash(self) -> None:
        """SIGKILL (or power loss): the process is gone with its timers and buffered input."""
        self.status = CRASHED
        self.stop_timers()

    def shutdown(self) -> None:
        """Graceful SHUTDOWN: the process exits (the host saved what it had to first)."""
        self.status = STOPPED
        self.stop_timers()

    def halt(self) -> None:
        """The process stops for good (``--cluster del-node`` shuts it down)."""
        self.status = STOPPED
        self.stop_timers()

    def sigstop(self) -> None:
        """SIGSTOP: timers stop; the kernel keeps accepting and buffering (§22)."""
        self.status = PAUSED
        self.stop_timers()

    def sigcont(self) -> None:
        """SIGCONT: running again; what arrived meanwhile (bus and replication alike)
        waits in the TCP model's buffers (``TcpNet.host_resumed``)."""
        self.status = RUNNING

    def on_peer_process_gone(self, name: str) -> None:
        """Peer ``name``'s process died: my replication link drops if it was my master
        (my bus link to it learns by its own TCP callbacks)."""
        if self.me.master == name:
            self.repl.broken(self.engine.now)
