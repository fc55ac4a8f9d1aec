"""A cluster of simulated Redis nodes: building it, the wire between them, faults, and truth.

The cluster is the only object that sees every node; the nodes themselves learn
about each other only through messages (see :mod:`simulator.node`). It is each
node's :class:`~simulator.node.NodeHost` (clock, trace, wire, directory, data-plane
hooks) and never writes a node's fields: faults, the converged start and nodes.conf
are node methods; the cluster keeps only the saved nodes.conf "on disk". The wire
side of replication is a mixin of its own (:mod:`simulator.cluster_replication`), and so
are the ground-truth queries (:mod:`simulator.cluster_truth`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from simulator.bus_stats import BusStats
from simulator.cluster_replication import REPL, ReplicationSockets, ReplicationWire
from simulator.cluster_truth import ClusterTruth
from simulator.config import NodeConfig
from simulator.engine import Engine, without_gc
from simulator.links import CRASHED as TCP_CRASHED
from simulator.links import PAUSED as TCP_PAUSED
from simulator.links import RUNNING as TCP_RUNNING
from simulator.links import Link, TcpNet
from simulator.messages import FAIL, HANDSHAKE, MASTER, NOADDR, NOFAILOVER, Message, ReplChunk
from simulator.network import Network
from simulator.node import (
    CRASHED,
    CRON_PERIOD_MS,
    PAUSED,
    RUNNING,
    STOPPED,
    Node,
    NodesConf,
    SeedPeer,
)
from simulator.slots import CLUSTER_SLOTS, SlotTable
from simulator.topology import ClusterError, NodeSpec, UnknownNode, check_specs
from simulator.topology import standard_topology as standard_topology  # re-exported
from simulator.trace import Trace

BASE_PORT = 7000
BLACKLIST_TTL_MS = 60_000  # CLUSTER_BLACKLIST_TTL (§1.1)
INITIAL_REPL_OFFSET = 14  # one replication PING after the initial sync


class DataPlane:
    """Hooks the bus calls where data must react. This base class holds no data."""

    def attach(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def init_node(self, node: Node) -> None:
        """A node was created (or re-created on restart)."""

    def count_keys_in_slot(self, node: Node, slot: int) -> int:
        return 0

    def count_keys(self, node: Node) -> int:
        return 0

    def delete_keys_in_slots(self, node: Node, slots: list[int]) -> None:
        """``delKeysInSlot`` after losing slots that still had keys (§10.2)."""

    def on_slot_owner_changed(self, node: Node, slot: int, previous: int, owner: int) -> None:
        """A slot was bound to or taken from ``node`` itself in its own table, or (on a
        replica) taken from its master (the shard lost it, §19)."""

    def on_publish_message(self, node: Node, message: Message) -> None:
        """A PUBLISH / PUBLISHSHARD bus message reached ``node``."""

    def on_writes_unpaused(self, node: Node) -> None:
        """``node`` ended its manual failover's client pause (``unpauseClients``)."""

    def on_event_loop_pass(self, node: Node) -> None:
        """``node`` read a packet or ran its cron while a blocked client's timeout is due."""

    def apply_replication(self, replica: Node, chunk: ReplChunk) -> None:
        """A replica applies a chunk of its master's stream."""

    def on_replication_connected(self, replica: Node, master: Node) -> None:
        """A replica (re)connected to its master: partial or full resync (§20.1). With no
        data, a process with no replication history (offset 0: restarted with nothing
        to load) needs a full sync, started on the master's ``replicationCron`` once it
        waited ``repl-diskless-sync-delay`` whole seconds (§20.5); others are partial."""
        repl = replica.repl
        master.repl.create_buffer()
        if repl.offset == 0 and master.repl.offset > 0:
            repl.transfer()
            repl.sync_master = master.name
            repl.sync_id += 1
            self.cluster.wait_full_sync(replica, master)
            return
        repl.create_buffer()
        repl.resync(master.repl.offset)
        repl.connected(self.cluster.engine.now)

    def begin_full_sync(self, replica: Node, master: Node) -> int:
        """The master's RDB child starts streaming to ``replica`` (§20.5); returns how
        long the transfer takes. With no data it is done in the same millisecond."""
        self.cluster.engine.schedule(
            0, self._finish_sync, replica.name, master.name, replica.repl.sync_id
        )
        return 0

    def _finish_sync(self, name: str, master_name: str, sync_id: int) -> None:
        """The RDB is loaded: the link is up, unless the sync was cancelled meanwhile."""
        replica, master = self.cluster.nodes.get(name), self.cluster.nodes.get(master_name)
        if replica is None or replica.repl.sync_master != master_name:
            return
        if replica.repl.sync_id != sync_id or master is None:
            return
        replica.repl.sync_master = None
        now = self.cluster.engine.now
        if master.status != RUNNING or not self.cluster.network.reachable(master_name, name):
            replica.repl.broken(now)
            return
        replica.repl.full_sync_buffer(master.repl.offset)
        replica.repl.resync(master.repl.offset)
        replica.repl.connected(now)

    def on_promoted(self, node: Node, old_master: str) -> None:
        """A replica became a master (new replication history, §11.5)."""

    def on_backlog_freed(self, master: Node) -> None:
        """``repl-backlog-ttl`` passed without replicas: the backlog goes (this plane has no
        replication IDs to renew; the data plane's override takes a new one)."""
        master.repl.free_backlog(master.repl.replid)

    def on_replica_ack(self, master: Node) -> None:
        """A replica's REPLCONF ACK reached ``master`` (WAIT may be satisfied, §20.3)."""

    def on_set_master(self, node: Node) -> None:
        """``replicationSetMaster`` on ``node``: its blocked clients are unblocked."""

    def on_crash(self, node: Node, power_loss: bool) -> None:
        """The process died (kill -9), or the whole host lost power."""

    def begin_shutdown(self, node: Node) -> bool:
        """SHUTDOWN was asked of ``node``: True when it first waits for its replicas (the
        data plane then calls :meth:`Cluster.finish_shutdown`); without data, never."""
        return False

    def on_shutdown(self, node: Node) -> None:
        """Graceful SHUTDOWN (saves RDB if save points exist, §21.3)."""

    def on_restart(self, node: Node) -> None:
        """The process started again and loaded what persistence kept."""

    def on_resume(self, node: Node) -> None:
        """SIGCONT: the node reads the client input it buffered while paused."""


class Cluster(ReplicationWire, ClusterTruth):
    """Every node, the network between them, fault injection, and ground-truth queries."""

    dataplane: DataPlane
    node_class: type[Node] = Node  # simulator/standalone.py: StandaloneNode

    @without_gc  # millions of long-lived objects at 1,000 nodes, no garbage
    def __init__(
        self,
        engine: Engine,
        trace: Trace,
        specs: Sequence[NodeSpec],
        config: dict[str, Any] | None = None,
        dataplane: DataPlane | None = None,
        converged: bool = True,
        cron_phase_spread_ms: int = 100,
        gossip_rule: str | None = None,
    ) -> None:
        self.engine = engine
        # Processes started together (as by a harness) run their 100 ms crons nearly in
        # phase; independently started ones at any phase. Each node draws its phase here.
        self.cron_phase_spread_ms = max(1, min(100, cron_phase_spread_ms))
        self.trace = trace
        self.network = Network(engine.rng("network"))
        # Every host's TCP stack: the bus links (issue 11 §1, docs/tcp-links.md).
        self.tcp = TcpNet(
            engine, self.network.reachable, self._process_state, self._latency, self._emit_link
        )
        self.repl_sockets = ReplicationSockets(self)  # replication's sockets (§20.4)
        self.base_config = dict(config or {})
        self.dataplane = dataplane or DataPlane()
        self.dataplane.attach(self)
        self.nodes: dict[str, Node] = {}
        self.names: list[str] = []  # global node index -> name
        self.index: dict[str, int] = {}
        self.removed: dict[str, Node] = {}
        self._nodes_conf: dict[str, NodesConf] = {}  # each node's nodes.conf on "disk"
        self._startup_config: dict[str, NodeConfig] = {}  # each node's redis.conf
        self._blacklist: dict[tuple[str, str], int] = {}
        self._id_rng = engine.rng("node-ids")
        zobrist = engine.rng("zobrist")
        self.zobrist: list[int] = [zobrist.getrandbits(63) | 1 for _ in range(CLUSTER_SLOTS)]
        self.slot_index_cache: dict[
            bytes, tuple[dict[int, int], dict[int, int], dict[int, int]]
        ] = {}
        self.bus_stats = BusStats()  # messages and bytes each node sends (bus_stats.py)
        self.gossip_rule = gossip_rule  # None: 7.0's; or an older rule (node/gossip_rules.py)
        # The unix clock's milliseconds at t=0 (§6.3): a real run starts at any moment of
        # a second, and gossip carries pong times in whole unix seconds.
        self.unix_origin_ms = engine.rng("unix-clock").randrange(1000)
        # Replicas the builder has yet to REPLICATE (replica -> master): redis-cli's
        # once-a-second poll does it unless a harness takes the plan over (take_replicate_plan).
        self.replicate_plan: dict[str, str] = {}
        check_specs(specs)
        for spec in specs:
            node = self._create_node(spec.name, spec.config)
            if self.cron_phase_spread_ms == CRON_PERIOD_MS:
                node.started_earlier()  # started independently: its own random-ping tick (§6.2)
        if converged:
            self._converge(specs)
        else:
            self._create_by_meet(specs)
        for node in self.nodes.values():
            node.start()

    # ------------------------------------------------------------------ building

    def _new_id(self) -> str:
        return f"{self._id_rng.getrandbits(160):040x}"

    def _create_node(self, name: str, overrides: dict[str, Any] | None = None) -> Node:
        index = len(self.names)
        self.names.append(name)
        self.index[name] = index
        config = NodeConfig({**self.base_config, **(overrides or {})})
        self._startup_config[name] = config.copy()  # its redis.conf
        node = self.node_class(
            self, name, index, self._new_id(), BASE_PORT + index, config, self.cron_phase_spread_ms
        )
        self.nodes[name] = node
        self.tcp.attach(name, node)
        self.tcp.attach(name, self.repl_sockets, REPL)
        self.dataplane.init_node(node)
        return node

    def _converge(self, specs: Sequence[NodeSpec]) -> None:
        """Start as after ``redis-cli --cluster create`` and a few seconds of gossip (§17.2)."""
        epochs = {s.name: i + 1 for i, s in enumerate(specs)}  # SET-CONFIG-EPOCH 1..N
        seeds = [
            SeedPeer(
                name=spec.name,
                node_id=self.nodes[spec.name].id,
                index=self.index[spec.name],
                config_epoch=epochs[spec.name],
                replica_of=spec.replica_of if spec.role == "replica" else None,
                serves_slots=bool(spec.slots),
                nofailover=bool(self.nodes[spec.name].me.flags & NOFAILOVER),
            )
            for spec in specs
        ]
        setup = self.engine.rng("converge")
        template = SlotTable()
        for spec in specs:
            template.assign(spec.slots, self.index[spec.name])
        for node in self.nodes.values():
            node.bootstrap(seeds, template, setup, INITIAL_REPL_OFFSET)
        covered = self.covered()
        for node in self.nodes.values():
            node.bootstrap_state(covered)
            if node.repl.link_up:  # the replication stream's connection (§20.4)
                self.open_replication_link(node, self.nodes[node.master_name or ""])

    def _create_by_meet(self, specs: Sequence[NodeSpec]) -> None:
        """Start from scratch: ADDSLOTS, SET-CONFIG-EPOCH, MEET the first node (§17.2 step 7)."""
        for i, spec in enumerate(specs):
            node = self.nodes[spec.name]
            node.cluster_set_config_epoch(i + 1)
            node.assign_slots(list(spec.slots), spec.name)
        first = specs[0].name
        for spec in specs[1:]:
            self.nodes[spec.name].meet(first)
        for spec in specs:
            if spec.role == "replica" and spec.replica_of is not None:
                self._plan_replicate(spec.name, spec.replica_of)

    def _plan_replicate(self, name: str, master: str) -> None:
        self.replicate_plan[name] = master
        self.engine.schedule(1000, self._replicate_when_known, name, master)

    def _replicate_when_known(self, name: str, master: str) -> None:
        """redis-cli polls once a second until the replica knows its master, then REPLICATEs."""
        if self.replicate_plan.get(name) != master:
            return  # done, or taken over by a harness (take_replicate_plan)
        node = self.nodes.get(name)
        if node is None or not node.alive:
            return
        peer = node.peers.get(master)
        if peer is not None and peer.flags & MASTER and not peer.flags & HANDSHAKE:
            del self.replicate_plan[name]
            node.replicate(master)
        else:
            self.engine.schedule(1000, self._replicate_when_known, name, master)

    def take_replicate_plan(self) -> dict[str, str]:
        """The REPLICATEs the builder has yet to send (replica -> master), withdrawn from
        redis-cli's poll: a harness that builds the cluster its own way sends them
        (``rcsim verify``'s real side, simulator/harness/fresh.py)."""
        plan, self.replicate_plan = self.replicate_plan, {}
        return plan

    # ------------------------------------------------------------------ lookup

    def node(self, name: str) -> Node:
        node = self.nodes.get(name)
        if node is None:
            raise UnknownNode(name, list(self.nodes))
        return node

    def live_nodes(self) -> list[Node]:
        """Nodes whose process exists (running or paused)."""
        return [n for n in self.nodes.values() if n.alive]

    def running_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.status == RUNNING]

    # ------------------------------------------------------------------ the wire

    def connect(self, src: str, dst: str) -> Link:
        """``src`` opens its bus link to ``dst`` (§6 step 1): a TCP connect whose outcome
        (established, refused, timed out) comes back to ``src`` by callback."""
        return self.tcp.connect(src, dst)

    def preconnect(self, src: str, dst: str) -> Link:
        return self.tcp.preconnected(src, dst)

    def _process_state(self, name: str) -> str:
        """What ``name``'s host kernel sees of its process (the TCP model's oracle)."""
        node = self.nodes.get(name)
        if node is None or node.status in (CRASHED, STOPPED):
            return TCP_CRASHED
        return TCP_PAUSED if node.status == PAUSED else TCP_RUNNING

    def _latency(self, src: str, dst: str) -> int | None:
        return self.network.delay(src, dst, self.engine.now)

    def _emit_link(self, kind: str, node: str, target: str, **fields: Any) -> None:
        self.trace.emit(self.engine.now, kind, node, target, **fields)

    def on_slot_owner_changed(self, node: Node, slot: int, previous: int, owner: int) -> None:
        self.dataplane.on_slot_owner_changed(node, slot, previous, owner)

    def count_keys_in_slot(self, node: Node, slot: int) -> int:
        return self.dataplane.count_keys_in_slot(node, slot)

    def count_keys(self, node: Node) -> int:
        return self.dataplane.count_keys(node)

    def delete_keys_in_slots(self, node: Node, slots: list[int]) -> None:
        self.dataplane.delete_keys_in_slots(node, slots)

    def on_publish_message(self, node: Node, message: Message) -> None:
        self.dataplane.on_publish_message(node, message)

    def on_writes_unpaused(self, node: Node) -> None:
        self.dataplane.on_writes_unpaused(node)

    def on_event_loop_pass(self, node: Node) -> None:
        self.dataplane.on_event_loop_pass(node)

    def knows(self, name: str) -> bool:
        return name in self.nodes

    def node_id(self, name: str) -> str:
        return self.nodes[name].id

    def blacklist(self, node: Node, other: str) -> None:
        self._blacklist[(node.name, other)] = self.engine.now + BLACKLIST_TTL_MS

    def is_blacklisted(self, node: Node, other: str) -> bool:
        until = self._blacklist.get((node.name, other))
        return until is not None and self.engine.now < until

    # ------------------------------------------------------------------ faults

    def kill(self, name: str, power_loss: bool = False) -> None:
        """SIGKILL: the process is gone; peers see RST at once (§23, real-redis README)."""
        node = self.node(name)
        if node.status in (CRASHED, STOPPED):
            raise ClusterError(f"{name} is not running")
        self._nodes_conf[name] = node.save_config()
        node.crash()
        # A host that lost power sends no FIN: its peers learn at their next send.
        self.tcp.host_crashed(name, fin=not power_loss)
        self._drop_links_to(name)
        self.dataplane.on_crash(node, power_loss)
        self.trace.emit(self.engine.now, "crash", name, power_loss=power_loss)

    def shutdown(self, name: str) -> None:
        """Graceful SHUTDOWN (§21.3): a master whose replicas lag first pauses writes and
        waits for them (``prepareForShutdown``, :meth:`DataPlane.begin_shutdown`); no
        failover is triggered; peers notice after NT."""
        node = self.node(name)
        if node.status in (CRASHED, STOPPED):
            raise ClusterError(f"{name} is not running")
        if not self.dataplane.begin_shutdown(node):
            self.finish_shutdown(name)

    def finish_shutdown(self, name: str) -> None:
        """``finishShutdown``: save, stop, close every connection."""
        node = self.node(name)
        self._nodes_conf[name] = node.save_config()
        self.dataplane.on_shutdown(node)
        node.shutdown()
        self.tcp.host_crashed(name)
        self._drop_links_to(name)
        self.trace.emit(self.engine.now, "shutdown", name)

    def _drop_links_to(self, name: str) -> None:
        for other in self.nodes.values():
            if other.name == name:
                continue
            other.on_peer_process_gone(name)

    def pause(self, name: str) -> None:
        """SIGSTOP: timers stop, the kernel keeps accepting and buffering (§22)."""
        node = self.node(name)
        if node.status != RUNNING:
            raise ClusterError(f"{name} is not running")
        node.sigstop()
        self.trace.emit(self.engine.now, "pause", name)

    def resume(self, name: str) -> None:
        """SIGCONT: read the buffered input first, then the overdue cron."""
        node = self.node(name)
        if node.status != PAUSED:
            raise ClusterError(f"{name} is not paused")
        node.sigcont()
        self.trace.emit(self.engine.now, "resume", name)
        self.tcp.host_resumed(name)  # what its kernel buffered (bus, replication), in order
        if node.status == RUNNING:
            self.dataplane.on_resume(node)
        if node.status == RUNNING:
            node.cron()

    def restart(self, name: str) -> None:
        """Start a stopped or crashed node again from its nodes.conf (§18.1, §21.3)."""
        old = self.node(name)
        if old.status in (RUNNING, PAUSED):
            self.kill(name)
        # A new process reads redis.conf: CONFIG SET changes are gone (no CONFIG REWRITE).
        config = self._startup_config[name].copy() if name in self._startup_config else old.config
        node = self.node_class(self, name, old.index, old.id, old.port, config)
        self.nodes[name] = node
        self.tcp.attach(name, node)
        node.restart_from(self._nodes_conf.get(name), data=old.data, repl=old.repl)
        self.dataplane.on_restart(node)
        self.trace.emit(
            self.engine.now, "restart", name, role="master" if node.is_master else "replica"
        )
        node.start()
        if not node.is_master:
            # nodes.conf names my master: replicationSetMaster from the first clusterCron.
            self.replication_set_master(node, node.master_name or "")

    def partition(self, groups: Sequence[Iterable[str]]) -> None:
        groups = [list(g) for g in groups]
        self.network.partition(groups)
        self.trace.emit(self.engine.now, "partition", groups=groups)

    def cut(self, sources: Sequence[str], targets: Sequence[str]) -> None:
        self.network.cut(sources, targets)
        self.trace.emit(self.engine.now, "cut", sources=list(sources), targets=list(targets))

    def heal(self, groups: Sequence[Iterable[str]] | None = None) -> None:
        glist = None if groups is None else [list(g) for g in groups]
        self.network.heal(glist)
        self.trace.emit(self.engine.now, "heal", groups=glist)

    def set_latency(self, low_ms: float, high_ms: float) -> None:
        self.network.latency_ms = (low_ms, high_ms)

    def set_loss(self, probability: float) -> None:
        self.network.loss = probability

    def failover(self, name: str, mode: str = "default") -> str:
        """``CLUSTER FAILOVER [FORCE|TAKEOVER]`` on replica ``name`` (§12)."""
        if mode not in ("default", "force", "takeover"):
            raise ClusterError(f"unknown failover mode '{mode}' (default, force or takeover)")
        node = self.node(name)
        if node.status != RUNNING:
            raise ClusterError(f"{name} is not running")
        reply = node.cluster_failover(mode)
        self.trace.emit(self.engine.now, "failover", name, mode=mode, reply=reply)
        return reply

    def set_config(self, name: str, directive: str, value: Any) -> None:
        """``CONFIG SET`` on one node or on ``"all"``."""
        targets = list(self.nodes.values()) if name == "all" else [self.node(name)]
        for node in targets:
            node.set_config(directive, value)
        self.trace.emit(self.engine.now, "set_config", name, directive=directive, value=value)

    def add_node(self, name: str | None = None, replica_of: str | None = None) -> Node:
        """``redis-cli --cluster add-node``: an empty node MEETs the cluster (§16.6)."""
        name = name or f"n{len(self.names) + 1}"
        if name in self.nodes or name in self.removed:
            raise ClusterError(f"a node named '{name}' already exists")
        if replica_of is not None:
            self.node(replica_of)
        existing = next((n for n in self.nodes.values() if n.status == RUNNING), None)
        if existing is None:
            raise ClusterError("no running node to join")
        node = self._create_node(name)
        node.update_state()
        node.meet(existing.name)
        node.start()
        self.trace.emit(
            self.engine.now, "node_added", name, via=existing.name, replica_of=replica_of
        )
        if replica_of is not None:
            self._plan_replicate(name, replica_of)
        return node

    def del_node(self, name: str) -> None:
        """``redis-cli --cluster del-node``: refused unless redis-cli can load the node (it
        runs and the entry node does not flag it ``fail``/``noaddr``) and it serves no
        slot (§16.6, ``clusterManagerCommandDeleteNode``)."""
        node = self.node(name)
        entry = next(
            (n for n in self.nodes.values() if n.status == RUNNING and n is not node), None
        )
        view = entry.peers.get(name) if entry is not None else None
        if not node.alive or view is None or view.flags & (FAIL | NOADDR):
            raise ClusterError(
                f"[ERR] No such node ID {name}: redis-cli loads only the nodes it can reach, "
                "and a dead or failed node is not one (remove it with CLUSTER FORGET on "
                f"every node: the step `forget: {name}`)"
            )
        owned = self.truth_table().count(name)
        if owned:
            raise ClusterError(
                f"{name} is not empty: it serves {owned} slots; reshard them away first"
            )
        for other in self.nodes.values():
            if other is node or not other.alive:
                continue
            if other.master_name == name:
                fewest = min(
                    (m for m in self.nodes.values() if m.is_master and m.alive and m is not node),
                    key=lambda m: (len(m.me.replicas), m.index),
                )
                other.replicate(fewest.name)
            if name in other.peers:
                other.forget(name)
        if node.alive:
            node.halt()
            self.tcp.host_crashed(name)  # the process exits: its kernel closes its sockets
        del self.nodes[name]
        self.removed[name] = node
        self.trace.emit(self.engine.now, "node_removed", name)

    def forget(self, name: str, on_nodes: Sequence[str] | None = None) -> dict[str, str]:
        """``CLUSTER FORGET name`` sent to each node of ``on_nodes`` (default: every running node
        but it), as an operator removes a dead node (§16.6). Each node that forgets it
        blacklists it for 60 s, so one not told re-learns it from the others' gossip
        (§1.1). Returns each node's reply (a node that does not run cannot answer)."""
        self.node(name)  # UnknownNode for a name the cluster never had
        targets = list(on_nodes) if on_nodes is not None else [n for n in self.nodes if n != name]
        replies: dict[str, str] = {}
        for other in targets:
            node = self.node(other)
            reply = node.forget(name) if node.status == RUNNING else "(not running)"
            replies[other] = reply
            self.trace.emit(self.engine.now, "forget", other, name, reply=reply)
        return replies
