"""Executing redis-cli's plans against the live cluster: reshard, rebalance, fix (§16).

A :class:`Job` runs :class:`~simulator.dataplane.redis_cli.Step` records one at a time
as engine events at exact (fractional) times. Slot moves follow
``clusterManagerMoveSlot`` (§16.3): IMPORTING on the target, MIGRATING on the source,
GETKEYSINSLOT/MIGRATE batches of ``pipeline`` keys, SETSLOT NODE on the target, the
source, then the other masters.

Costs (§16.7, :mod:`simulator.dataplane.setslot_cost`): each SETSLOT costs its measured
kind (IMPORTING, MIGRATING, NODE on the importing node, the source or another master:
the node saves nodes.conf before it replies), a GETKEYSINSLOT its measured round trip;
the rest (``command_cost_ms`` c, ``key_cost_ms`` k, fitted with those in place) is one
round trip c per command. A MIGRATE of n keys is two: redis-cli's, and inside it the
source's own exchange with
the target, during which the source is **blocked** (§16.2, MIGRATE is synchronous) for
``c + n·k``. Client requests reaching the source then wait, and are served when the
batch is gone, so a request for a key of that batch gets ``ASK``. This interleaving,
sub-millisecond on loopback, is what decides how many ASKs a client sees. Across a
network with latency (``network.latency`` of the scenario) the exchange also waits for
the link's round trip (:func:`link_rtt_ms`), as a real MIGRATE waits for RESTORE's reply.

A failing command stops the job as redis-cli exits: a crashed source or target in the
middle leaves the slot open (MIGRATING/IMPORTING), which ``fix`` repairs.

Simplified: redis-cli itself is not a network endpoint (only source↔target
reachability matters for MIGRATE); a batch's keys move together at the end of the
block; a paused node makes the job wait for it (redis-cli would block on the socket).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.dataplane import expiry
from simulator.dataplane.clients import release_blocked
from simulator.dataplane.migrate_cut import (
    ERR_READING,
    ERR_WRITING,
    MIGRATE_SOCKET_CACHE_TTL_MS,
    REDIS_CLI_MIGRATE_TIMEOUT_MS,
    block_ms,
    retransmissions_ms,
)
from simulator.dataplane.model import ClusterData
from simulator.dataplane.node_data import NodeData
from simulator.dataplane.redis_cli import MIGRATE_PIPELINE, Master, Step, move_slot_steps
from simulator.dataplane.routing import Session, get_node_by_query, parse_command
from simulator.dataplane.server import View
from simulator.dataplane.setslot_cost import (
    CALIBRATION_GETKEYSINSLOT_MS,
    setslot_cost_ms,
    setslot_kind,
)
from simulator.messages import FAIL, HANDSHAKE, MYSELF, NOADDR, SLAVE
from simulator.node import PAUSED, RUNNING, Node
from simulator.replication import ExpireOp, StreamOp


def when_resumed(dp: ClusterData, node: Node, callback: Callable[..., None], *args: Any) -> None:
    """redis-cli's command to a SIGSTOPped node: the kernel holds it and redis-cli blocks in
    its read (no timeout of its own), so the command goes on when the process resumes, or
    fails when it dies (``ClusterData._wake``), not on a poll (redis-rules §16.3)."""
    dp.data(node).resume_waiters.append((callback, args))


class JobError(Exception):
    """A command failed the way redis-cli would stop on."""


def link_rtt_ms(dp: ClusterData) -> float:
    """The round trip of the source's exchange with the target over the scenario's network:
    two one-way delays at the mean of ``network.latency`` (0 on loopback, where the measured
    ``command_cost_ms`` already is the whole round trip). Deterministic: no latency draw."""
    low, high = dp.cluster.network.latency_ms
    return float(low + high)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a ``redis-cli --cluster`` command loads (``clusterManagerLoadInfoFromNode``,
    §16.6): the masters it reaches, each with its own view of its slots, keys per slot
    and open slots; how many masters it cannot reach; whether the nodes it loaded agree
    on every slot's owner (``clusterManagerIsConfigConsistent``)."""

    masters: list[Master]
    unreachable: int
    consistent: bool


def load_cluster(dp: ClusterData, first: str | None = None) -> Loaded:
    """What redis-cli loads from its entry node, the first running one: the entry, then
    every node of the entry's ``CLUSTER NODES`` that is alive and that the entry does not
    flag ``fail`` or ``noaddr``; a skipped node that is not a replica to the entry counts
    as an unreachable master (a dead process refuses the connection). ``masters`` are in
    node-table order, ``first`` (or the entry) first (the real order follows CLUSTER
    NODES, a simplification).

    Simplified: a SIGSTOPped node is read as if it answered (redis-cli, which sets no
    timeout, would wait for it to resume); handshake entries are skipped.
    """
    entry = next((n for n in dp.cluster.nodes.values() if n.status == RUNNING), None)
    if entry is None:
        raise ValueError("redis-cli: no running node to connect to")
    loaded, unreachable = [entry], 0
    for peer in entry.peers.values():
        if peer.flags & (MYSELF | HANDSHAKE):
            continue
        node = dp.cluster.nodes.get(peer.name)
        if node is None or not node.alive or peer.flags & (FAIL | NOADDR):
            unreachable += 0 if peer.flags & SLAVE else 1
        else:
            loaded.append(node)
    # redis-cli ORs the entry's flags for a node with the node's own: a replica to
    # either is no master to it
    masters = [
        n for n in loaded if n.is_master and (n is entry or not entry.peers[n.name].flags & SLAVE)
    ]
    lead = first or entry.name
    masters.sort(key=lambda n: (n.name != lead, n.index))
    owners = entry.slots.raw()
    consistent = all(n.slots.raw() == owners for n in loaded)
    return Loaded([_master(dp, n) for n in masters], unreachable, consistent)


def _master(dp: ClusterData, n: Node) -> Master:
    return Master(
        n.name, tuple(n.my_slots()), dp.slot_keys(n.name), dict(n.migrating), dict(n.importing)
    )


class Job:
    """One redis-cli run: slot moves (``moves``) or raw steps (``steps``, for fix)."""

    def __init__(
        self,
        dp: ClusterData,
        label: str,
        moves: list[tuple[int, str, str]] | None = None,
        steps: list[Step] | None = None,
        pipeline: int = MIGRATE_PIPELINE,
        others: list[str] | None = None,
        exit_error: str | None = None,
    ) -> None:
        self.dp = dp
        self.label = label
        self.moves: deque[tuple[int, str, str]] = deque(moves or [])
        self.steps: deque[Step] = deque(steps or [])
        self.pipeline = pipeline
        self.others = list(others or [])
        self.clock = float(dp.now)
        self.current: tuple[int, str, str] | None = None
        self.moved = 0
        self.keys_moved = 0
        self.done = False
        self.error: str | None = None
        self.exit_error = exit_error  # redis-cli exits 1 with it once its steps ran (fix)

    def start(self, **fields: Any) -> None:
        self.dp.emit("reshard_started", None, job=self.label, **fields)
        self.dp.cluster.engine.schedule(0, self._run)

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        if self.done:
            return
        dp = self.dp
        if not self.steps:
            if self.current is not None:
                slot, source, target = self.current
                self.moved += 1
                dp.emit("slot_moved", source, target, slot=slot, job=self.label)
                self.current = None
            if not self.moves:
                self._finish(self.exit_error)
                return
            self.current = self.moves.popleft()
            slot, source, target = self.current
            self.steps.extend(
                move_slot_steps(slot, source, target, self.others, pipeline=self.pipeline)
            )
        step = self.steps[0]
        node = dp.cluster.nodes.get(step.node)
        if node is not None and node.status == PAUSED:
            when_resumed(dp, node, self._run)
            return
        self.clock = max(self.clock, dp.cluster.engine.instant)
        try:
            cost = self._execute(step)
        except JobError as error:
            self._finish(str(error))
            return
        if cost is not None:
            self._next(cost)

    def _next(self, cost: float) -> None:
        """redis-cli sends its next command ``cost`` ms after the last one."""
        self.clock += cost
        self.dp.cluster.engine.schedule_at(self.clock, self._run)

    def _finish(self, error: str | None) -> None:
        for node in self.dp.cluster.nodes.values():
            data = node.data
            if isinstance(data, NodeData) and data.busy and node.status == RUNNING:
                release_blocked(self.dp, node, busy=False)
        self.done = True
        self.error = error
        self.dp.emit(
            "reshard_done",
            None,
            job=self.label,
            ok=error is None,
            slots_moved=self.moved,
            keys_moved=self.keys_moved,
            error=error,
        )

    def _node(self, name: str) -> Node:
        node = self.dp.cluster.nodes.get(name)
        if node is None or node.status != RUNNING:
            raise JobError(f"[ERR] Could not connect to {name}: Connection refused")
        return node

    def _execute(self, step: Step) -> float | None:
        """Run ``step`` (or one batch of a key loop) and return its cost in ms, or
        ``None`` when the step itself schedules what follows (a MIGRATE)."""
        dp = self.dp
        cost = dp.command_cost_ms
        command = step.command
        if command == "MIGRATE_KEYS":
            return self._migrate_batch(step)
        self.steps.popleft()
        node = self._node(step.node)
        if command == "SETSLOT":
            kind = setslot_kind(step.arg, self._part(node, step), step.slot in node.importing)
            reply = node.cluster_setslot(step.slot, step.arg, step.peer)
            cost = setslot_cost_ms(kind, reply == "OK", cost)
            dp.emit(
                "setslot", node.name, step.peer or None, slot=step.slot, arg=step.arg, reply=reply
            )
            if reply != "OK" and not (step.tolerate and reply.startswith(step.tolerate)):
                raise JobError(f"[ERR] Calling CLUSTER SETSLOT on {node.name}: {reply}")
        elif command == "SETSLOTOWNER":
            node.cluster_delslots([step.slot])
            reply = node.cluster_addslots([step.slot])
            if step.arg == "STABLE":
                node.cluster_setslot(step.slot, "STABLE")
            node.cluster_bumpepoch()
            dp.emit("setslot", node.name, None, slot=step.slot, arg="ADDSLOTS", reply=reply)
        elif command == "DELSLOTS":
            reply = node.cluster_delslots([step.slot])
            dp.emit("setslot", node.name, None, slot=step.slot, arg="DELSLOTS", reply=reply)
        else:
            raise JobError(f"unsupported step {command}")
        return cost

    def _part(self, node: Node, step: Step) -> str:
        """The node's part in the slot's move (§16.7): the target, the source (the move's,
        or for fix the slot's owner), or another master."""
        if step.peer == node.name:
            return "target"
        if self.current is not None:
            return "source" if node.name == self.current[1] else "other"
        return "source" if node.slots[step.slot] == node.index else "other"

    def _migrate_batch(self, step: Step) -> float | None:
        """One GETKEYSINSLOT + MIGRATE round of ``clusterManagerMigrateKeysInSlot``:
        the key list now; the MIGRATE reaches the source after GETKEYSINSLOT's measured
        round trip and half of one more."""
        dp = self.dp
        source = self._node(step.node)
        keys = dp.data(source).keys_in_slot(step.slot, step.count or self.pipeline)
        if not keys:
            self.steps.popleft()  # GETKEYSINSLOT returned nothing: the loop ends
            return CALIBRATION_GETKEYSINSLOT_MS
        start = self.clock + CALIBRATION_GETKEYSINSLOT_MS + dp.command_cost_ms * 0.5
        dp.cluster.engine.schedule_at(start, self._migrate_block, step, keys)
        return None

    def _check_target(self, source: Node, step: Step, key: str) -> None:
        """MIGRATE's connection to the target (when it starts) and the target's answer to
        RESTORE-ASKING (when the batch is done)."""
        dp = self.dp
        target = dp.cluster.nodes.get(step.peer)
        network = dp.cluster.network
        if (
            target is None
            or target.status != RUNNING
            or not network.reachable(source.name, step.peer)
            or not network.reachable(step.peer, source.name)
        ):
            raise JobError(
                f"[ERR] Calling MIGRATE: IOERR error or timeout reading to target instance {step.peer}"
            )
        route = get_node_by_query(
            View(dp, target), parse_command(("RESTORE-ASKING", key, "0", "x")), Session(asking=True)
        )
        if not route.served:
            raise JobError(
                f"[ERR] Calling MIGRATE: Target instance replied with error: {route.error}"
            )

    def _migrate_block(self, step: Step, keys: list[str]) -> None:
        """The MIGRATE reached the source: it blocks for the exchange with the target."""
        if self.done:
            return
        dp = self.dp
        paused = dp.cluster.nodes.get(step.node)
        if paused is not None and paused.status == PAUSED:  # the kernel holds the command
            when_resumed(dp, paused, self._migrate_block, step, keys)
            return
        try:
            source = self._node(step.node)
            if self._behind_cut(source, step):
                self._block_behind_cut(source, step, keys)
                return
            self._check_target(source, step, keys[0])  # MIGRATE connects to the target
        except JobError as error:
            self._finish(str(error))
            return
        self._exchange(source, step, keys)

    def _exchange(self, source: Node, step: Step, keys: list[str]) -> None:
        """The source, connected, sends the batch and waits for the target's replies."""
        dp = self.dp
        data = dp.data(source)
        data.busy = True
        self.clock = dp.cluster.engine.instant
        cost = dp.command_cost_ms + dp.key_cost_ms * len(keys) + link_rtt_ms(dp)
        dp.cluster.engine.schedule_at(
            self.clock + cost, self._migrate_done, step, keys, data.generation
        )

    def _migrate_done(self, step: Step, keys: list[str], generation: int) -> None:
        """The target acknowledged the batch: the source deletes the keys, unblocks and
        serves the requests that waited, then replies to redis-cli."""
        if self.done:
            return
        dp = self.dp
        self.clock = dp.cluster.engine.instant
        source = dp.cluster.nodes.get(step.node)
        if source is None or source.status != RUNNING or dp.data(source).generation != generation:
            if source is not None and source.status == PAUSED:
                when_resumed(dp, source, self._migrate_done, step, keys, generation)
                return
            self._finish(f"[ERR] Calling MIGRATE on {step.node}: I/O error")
            return
        try:
            self._check_target(source, step, keys[0])
        except JobError as error:
            release_blocked(dp, source, busy=False)
            self._finish(str(error))
            return
        target = dp.cluster.nodes[step.peer]
        data = dp.data(source)
        present = [k for k in keys if k in data.keys]
        if data.expires:  # migrateCommand's lookupKeyRead expires them; others keep their TTL
            present = [k for k in present if not expiry.expire_if_needed(dp, source, k)]
        value_ops: list[StreamOp] = [(k, data.keys[k][0], dp.next_version()) for k in present]
        value_ops += [ExpireOp(k, at) for k in present if (at := data.expires.get(k)) is not None]
        if target.is_master:
            dp.write(target, list(value_ops))
        else:
            dp.apply_local(target, value_ops)
        delete_ops = [(k, None, dp.next_version()) for k in present]
        if source.is_master:
            dp.write(source, list(delete_ops))
        else:
            dp.apply_local(source, delete_ops)
        self.keys_moved += len(present)
        dp.emit(
            "migrate", source.name, target.name, slot=step.slot, keys=len(present), job=self.label
        )
        dp.data(source).migrate_sockets[target.name] = dp.now  # migrateGetSocket caches it
        release_blocked(dp, source, busy=False)
        self._next(dp.command_cost_ms * 0.5)  # the reply travels back to redis-cli

    # ------------------------------------------------------------------ behind a cut

    def _behind_cut(self, source: Node, step: Step) -> bool:
        """The target's process runs but the network swallows what goes to or from it."""
        target = self.dp.cluster.nodes.get(step.peer)
        network = self.dp.cluster.network
        return (
            target is not None
            and target.status in (RUNNING, PAUSED)
            and not (
                network.reachable(source.name, step.peer)
                and network.reachable(step.peer, source.name)
            )
        )

    def _block_behind_cut(self, source: Node, step: Step, keys: list[str]) -> None:
        """MIGRATE blocks the source in a synchronous connect/write/read (module
        :mod:`~simulator.dataplane.migrate_cut`): the process is frozen until the
        kernel's retransmission after a heal gets through, or the timeout runs out."""
        dp = self.dp
        now = dp.cluster.engine.instant
        data = dp.data(source)
        last = data.migrate_sockets.get(step.peer)
        cached = last is not None and now - last <= MIGRATE_SOCKET_CACHE_TTL_MS
        limit = block_ms(cached, REDIS_CLI_MIGRATE_TIMEOUT_MS)
        dp.emit(
            "migrate_blocked",
            source.name,
            step.peer,
            slot=step.slot,
            cached=cached,
            timeout_ms=REDIS_CLI_MIGRATE_TIMEOUT_MS,
            job=self.label,
        )
        dp.cluster.pause(source.name)  # serves nothing, bus included (measured)
        when_resumed(dp, source, self._cut_source_woken, step, data.generation)
        retries = retransmissions_ms(cached, limit)
        self._cut_wait(step, keys, now, retries, limit, cached, data.generation)

    def _cut_source_woken(self, step: Step, generation: int) -> None:
        """The blocked source resumed (the heal: :meth:`_cut_check` goes on) or died:
        redis-cli, blocked reading MIGRATE's reply, gets the reset at once (redis-rules
        §16.3; measured 1-13 ms after the kill on Redis, the open-slot verify report)."""
        source = self.dp.cluster.nodes.get(step.node)
        if self.done or (
            source is not None
            and source.status == RUNNING
            and self.dp.data(source).generation == generation
        ):
            return
        self._finish(f"[ERR] Calling MIGRATE on {step.node}: I/O error")

    def _cut_wait(
        self,
        step: Step,
        keys: list[str],
        start: float,
        retries: list[int],
        limit: int,
        cached: bool,
        generation: int,
    ) -> None:
        at = start + (retries[0] if retries else limit)
        self.dp.cluster.engine.schedule_at(
            at, self._cut_check, step, keys, start, retries, limit, cached, generation
        )

    def _cut_check(
        self,
        step: Step,
        keys: list[str],
        start: float,
        retries: list[int],
        limit: int,
        cached: bool,
        generation: int,
    ) -> None:
        """A retransmission (or the deadline): through if the cut has healed."""
        if self.done:
            return
        dp = self.dp
        source = dp.cluster.nodes.get(step.node)
        if source is None or dp.data(source).generation != generation or source.status != PAUSED:
            self._finish(f"[ERR] Calling MIGRATE on {step.node}: I/O error")
            return
        if retries and not self._behind_cut(source, step):
            dp.cluster.resume(source.name)
            self.clock = dp.cluster.engine.instant
            if source.status == RUNNING:
                self._exchange(source, step, keys)
            return
        if retries:
            self._cut_wait(step, keys, start, retries[1:], limit, cached, generation)
            return
        dp.cluster.resume(source.name)
        dp.data(source).migrate_sockets.pop(step.peer, None)  # the socket is closed
        self._finish(f"[ERR] Calling MIGRATE: {ERR_READING if cached else ERR_WRITING}")
