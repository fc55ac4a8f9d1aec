"""Simulated cluster clients (redis-py ``RedisCluster`` / Lettuce behaviour, §15).

A client is a network endpoint (its name can appear in partitions and cuts) with a
cached slot map taken from one node's view (``CLUSTER SLOTS``). Per request:
``MOVED`` updates the map and retries; ``ASK`` sends ``ASKING`` + the command to the
target once, leaving the map alone; ``TRYAGAIN`` retries after 50 ms;
``CLUSTERDOWN``, connection errors and timeouts refresh the map and retry after
250 ms, at most :data:`MAX_ERRORS` times; at most :data:`MAX_ATTEMPTS` attempts per
command (redis-py's ``RedisClusterRequestTTL``). Every attempt is one ``request``
trace event.

A workload client starts commands at its rate, at exact sub-millisecond times (open
loop: a command that waits does not delay the next), or, with ``closed_loop``, one at
a time like one application thread that spends ``1000/rate`` ms on its own side of
each command, so the rate is what it reaches when servers answer at once; reads and
writes are chosen by ``writes``, keys from the template with ``{i}`` in
``0..key_count-1``; a ``multi`` fraction of the commands are MSET/MGET of two keys
(CROSSSLOT unless the template has a hash tag; TRYAGAIN during a migration).

A ``readonly`` client (READONLY on every connection, like redis-py's
``read_from_replicas``) sends a read's first attempt to a random replica of the owner.

Simplified: refreshing the map is instantaneous (no CLUSTER SLOTS round trip); a
crashed node answers at once with a connection error (RST, real-redis README); a
paused node holds requests until SIGCONT.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

from simulator.dataplane import client_tracking, outcomes, replica_acks, service
from simulator.dataplane.client_op import Op
from simulator.dataplane.local_cache import CacheOptions, LocalCache
from simulator.dataplane.model import ClusterData, RequestPath
from simulator.dataplane.routing import Session
from simulator.dataplane.server import BLOCKED, ERR_UNBLOCKED, HELD, Reply, execute, probe
from simulator.node import CRASHED, PAUSED, RUNNING, STOPPED, Node
from simulator.slots import CLUSTER_SLOTS, NO_OWNER

Plane: TypeAlias = "ClusterData[Client, Any]"
"""The data plane as this layer sees it: its clients are :class:`Client` objects."""

MAX_ATTEMPTS = 16
"""Attempts per command, redirections included (redis-py ``RedisClusterRequestTTL``)."""

MAX_ERRORS = 3
"""Connection errors, timeouts and CLUSTERDOWN retried per command (redis-py's
``cluster_error_retry_attempts``)."""

TRYAGAIN_DELAY_MS = 50
ERROR_DELAY_MS = 250
DEFAULT_TIMEOUT_MS = 1000
REFRESH_MIN_MS = 100

READS = frozenset({"GET", "MGET", "EXISTS"})


class Workload(Protocol):
    """What draws a client's workload instead of plain GET/SET (a cache-aside client,
    :mod:`simulator.dataplane.cache_aside`)."""

    def next_op(self) -> None: ...


class Client:
    """One client endpoint: slot map, connections (sessions), optional workload."""

    def __init__(
        self,
        dp: Plane,
        name: str,
        rate: float = 0.0,
        writes: float = 0.5,
        keys: str = "key:{i}",
        key_count: int = 1000,
        multi: float = 0.0,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        readonly: bool = False,
        key_list: list[str] | None = None,
        closed_loop: bool = False,
        ttl_ms: int | None = None,
        local_cache: CacheOptions | None = None,
    ) -> None:
        self.dp = dp
        self.name = name
        self.rate = rate
        self.writes = writes
        self.keys = keys
        self.key_count = key_count
        self.multi = multi
        self.timeout_ms = timeout_ms
        self.readonly = readonly
        self.key_list = list(key_list) if key_list else None  # overrides the template
        self.closed_loop = closed_loop  # one command at a time (one thread) vs. a fixed rate
        self.ttl_ms = ttl_ms  # single-key writes are SET ... PX ttl (§26.1)
        self.slot_map: list[str | None] = [None] * CLUSTER_SLOTS
        self.replicas: dict[str, list[str]] = {}  # master -> replicas (CLUSTER SLOTS)
        self.refreshed_at: int | None = None
        self.sessions: dict[str, Session] = {}
        self.seq = 0
        self.done: list[Op] = []  # finished one-off commands (the workload's are not kept)
        self.running = False
        self.generation = 0
        self.next_due = 0.0
        self.cache = (
            LocalCache(local_cache) if local_cache is not None else None
        )  # client-side caching
        self.aside: Workload | None = None  # cache-aside logic draws the workload instead
        self.own_time: Callable[[float], float] | None = None  # harness: period -> this one's
        self.refresh()
        client_tracking.start(dp, self)

    @property
    def rng(self) -> Any:
        return self.dp.cluster.engine.rng(f"client:{self.name}")

    # ------------------------------------------------------------------ slot map

    def refresh(self) -> None:
        """CLUSTER SLOTS from a random reachable running node (its own view); at most
        once per :data:`REFRESH_MIN_MS` (errors come in bursts)."""
        cluster = self.dp.cluster
        now = cluster.engine.now
        if self.refreshed_at is not None and now - self.refreshed_at < REFRESH_MIN_MS:
            return
        self.refreshed_at = now
        network = cluster.network
        candidates = [
            n
            for n in cluster.nodes.values()
            if n.status == RUNNING
            and network.reachable(self.name, n.name)
            and network.reachable(n.name, self.name)
        ]
        if not candidates:
            return
        node = candidates[self.rng.randrange(len(candidates))]
        self.adopt_view(node)

    def adopt_view(self, node: Node) -> None:
        names = self.dp.cluster.names
        raw = node.slots.raw()
        before, self.slot_map = self.slot_map, [None if i == NO_OWNER else names[i] for i in raw]
        if self.cache is not None:
            client_tracking.map_changed(self.dp, self, before)
        self.replicas = {
            peer.name: list(peer.replicas)
            for peer in node.peers.values()
            if peer.is_master and peer.replicas
        }

    def session(self, node: str) -> Session:
        session = self.sessions.get(node)
        if session is None:
            session = self.sessions[node] = Session(readonly=self.readonly)
        return session

    # ------------------------------------------------------------------ commands

    def command(self, *argv: str, node: str | None = None, workload: bool = False) -> Op:
        """Start one command now (to ``node`` if given, else where the slot map says);
        its progress is in the returned :class:`Op`."""
        self.seq += 1
        op = Op(self.seq, tuple(argv), workload)
        op.pinned = node
        self._send(op)
        return op

    def start(self, argv: tuple[str, ...], *then: Any) -> Op:
        """Start one command of the workload (not kept in :attr:`done`); ``then`` is
        ``(callback, *args)``, called as ``callback(op, *args)`` when it finishes."""
        self.seq += 1
        op = Op(self.seq, argv, workload=True)
        op.then = then
        self._send(op)
        return op

    def _target(self, op: Op) -> str | None:
        if op.ask_target is not None:
            return op.ask_target
        if op.pinned is not None:
            return op.pinned
        if op.slot is not None and self.slot_map[op.slot] is not None:
            owner = self.slot_map[op.slot]
            replicas = self.replicas.get(owner or "") if self.readonly else None
            if replicas and op.command in READS and op.attempt == 0:
                return replicas[self.rng.randrange(len(replicas))]  # READONLY: read a replica
            return owner
        known = sorted({n for n in self.slot_map if n is not None})
        live = [n for n in self.dp.cluster.nodes if n in known] or list(self.dp.cluster.nodes)
        return live[self.rng.randrange(len(live))] if live else None

    def _send(self, op: Op) -> None:
        if op.done:
            return
        dp = self.dp
        if self.cache is not None and op.attempt == 0 and client_tracking.serve_local(dp, self, op):
            return  # a local hit: no request
        engine = dp.cluster.engine
        network = dp.cluster.network
        target = self._target(op)
        op.asking = op.ask_target is not None
        op.ask_target = None
        op.attempt += 1
        op.sent_at = engine.now
        op.node = target or ""
        timeout = self.timeout_ms
        if op.command == "WAIT" and len(op.argv) == 3 and op.argv[2].isdigit():
            timeout += int(op.argv[2]) or 10**9  # WAIT blocks on purpose
        op.timer = engine.schedule(timeout, self._timeout, op, op.attempt)
        if target is None or not network.reachable(self.name, target):
            return  # the packet goes nowhere: the command times out
        delay = network.delay(self.name, target, engine.now)
        if delay is None:
            return
        engine.schedule(delay, deliver, dp, target, self.name, op, op.attempt)

    def on_reply(self, op: Op, attempt: int, reply: Reply) -> None:
        """A reply arrived (late replies of abandoned attempts are ignored)."""
        if op.done or attempt != op.attempt:
            return
        dp = self.dp
        dp.cluster.engine.cancel(op.timer)
        outcome = reply.outcome
        self._trace(op, outcome, reply.text)
        if self.cache is not None:
            client_tracking.on_reply(dp, self, op, reply)
        if outcome == outcomes.OK:
            if op.values and reply.text != "(nil)":  # SET NX/XX that wrote nothing: nil
                now = dp.now
                for key, value in op.values:
                    if value is not None or op.command == "DEL":
                        dp.ledger.record(key, value, now, op.node, self.name)
            self._finish(op, outcomes.OK, reply.value)
        elif op.pinned is not None and outcome in (outcomes.MOVED, outcomes.ASK):
            self._finish(op, outcome, reply.text)  # sent to one node on purpose
        elif outcome == outcomes.MOVED and reply.slot is not None:
            self.slot_map[reply.slot] = reply.target
            self._retry(op, 0, reply.text)
        elif outcome == outcomes.ASK:
            op.ask_target = reply.target
            self._retry(op, 0, reply.text)
        elif outcome == outcomes.TRYAGAIN:
            self._retry(op, TRYAGAIN_DELAY_MS, reply.text)
        elif outcome == outcomes.CLUSTERDOWN or reply.connection:
            self._error(op, reply.text)
        else:
            self._finish(op, outcome, reply.text)

    def _timeout(self, op: Op, attempt: int) -> None:
        if op.done or attempt != op.attempt:
            return
        self._trace(op, outcomes.TIMEOUT, "Timeout reading from socket")
        self._error(op, outcomes.TIMEOUT)

    def _error(self, op: Op, text: str) -> None:
        op.errors += 1
        self.refresh()
        if op.errors > MAX_ERRORS:
            self._finish(op, outcomes.ERROR, text)
        else:
            self._retry(op, ERROR_DELAY_MS, text)

    def _retry(self, op: Op, delay: int, text: str) -> None:
        if op.attempt >= MAX_ATTEMPTS:
            self._finish(op, outcomes.ERROR, f"Too many Cluster redirections ({text})")
            return
        self.dp.cluster.engine.schedule(delay, self._send, op)

    def _trace(self, op: Op, outcome: str, text: str) -> None:
        dp = self.dp
        dp.outcomes[outcome] = dp.outcomes.get(outcome, 0) + 1
        fields: dict[str, Any] = {
            "client": self.name,
            "command": op.command,
            "key": op.key,
            "slot": op.slot,
            "outcome": outcome,
            "latency_ms": dp.now - op.sent_at,
        }
        if outcome != outcomes.OK:
            fields["reply"] = text
        if op.asking:
            fields["asking"] = True
        dp.emit("request", op.node or None, **fields)

    def finish_local(self, op: Op, value: str | None) -> None:
        """A read answered from the local cache."""
        self._finish(op, outcomes.OK, value)

    def _finish(self, op: Op, outcome: str, result: Any) -> None:
        op.done = True
        op.outcome = outcome
        op.result = result
        if op.then:
            op.then[0](op, *op.then[1:])
        if op.workload:
            if self.closed_loop:
                self._schedule_next()
        else:
            self.done.append(op)

    # ------------------------------------------------------------------ workload

    def set_workload(self, rate: float | None = None, writes: float | None = None) -> None:
        """Change the rate (ops/s, 0 stops) and/or the write fraction."""
        if writes is not None:
            self.writes = writes
        if rate is not None:
            self.rate = rate
        if self.rate > 0 and not self.running:
            self.running = True
            self.generation += 1
            self.next_due = float(self.dp.cluster.engine.instant)
            self.dp.cluster.engine.schedule(0, self._next_op, self.generation)

    def _schedule_next(self) -> None:
        """Open loop: the next start on the rate's grid. Closed loop: one thread spends
        ``1000/rate`` ms on its side of every command (build, send, parse), so the next
        one starts that long after the reply (or :attr:`own_time` of it: a harness's
        per-command jitter, unset in scenarios); a reply that waited delays it."""
        if self.rate <= 0:
            self.running = False
            return
        engine = self.dp.cluster.engine
        period = 1000.0 / self.rate
        if self.closed_loop:
            own = period if self.own_time is None else self.own_time(period)
            self.next_due = engine.instant + own
        else:
            self.next_due = max(self.next_due + period, float(engine.instant))
        engine.schedule_at(self.next_due, self._next_op, self.generation)

    def _next_op(self, generation: int) -> None:
        if generation != self.generation:
            return
        if self.rate <= 0:
            self.running = False
            return
        if self.aside is not None:
            self._schedule_next()  # open loop (closed_loop is off for a cache client)
            self.aside.next_op()
            return
        rng = self.rng
        write = rng.random() < self.writes
        multi = self.multi > 0 and rng.random() < self.multi
        count = 2 if multi else 1
        if self.key_list is not None:
            keys = [self.key_list[rng.randrange(len(self.key_list))] for _ in range(count)]
        else:
            keys = [
                self.keys.replace("{i}", str(rng.randrange(self.key_count))) for _ in range(count)
            ]
        self.seq += 1
        value = f"{self.name}:{self.seq}"
        if write:
            argv: tuple[str, ...] = (
                ("MSET", *_pairs(keys, value)) if multi else ("SET", keys[0], value)
            )
            if self.ttl_ms and not multi:
                argv += ("PX", str(self.ttl_ms))
        else:
            argv = ("MGET", *keys) if multi else ("GET", keys[0])
        op = Op(self.seq, argv, workload=True)
        if not self.closed_loop:
            self._schedule_next()
        self._send(op)


def _pairs(keys: list[str], value: str) -> list[str]:
    out: list[str] = []
    for j, key in enumerate(keys):
        out += [key, f"{value}.{j}"]
    return out


# ---------------------------------------------------------------------- the server side


def deliver(
    dp: Plane, node_name: str, client: str, op: Op, attempt: int, admitted: int | None = None
) -> None:
    """A request reached ``node_name``'s host: refused (dead process), buffered (paused),
    queued for the node's thread (the service model, §28.4) or processed. ``admitted``:
    the process that queued it, now that its turn came."""
    node = dp.cluster.nodes.get(node_name)
    if node is None or node.status in (CRASHED, STOPPED):
        refuse(dp, node_name, client, op, attempt)
        return
    if node.status == PAUSED:
        dp.data(node).held.append((client, op, attempt))
        return
    data = dp.data(node)
    if dp.service is not None:
        if admitted is None:
            extra = service.receivers(data.pubsub, op.argv)
            now = dp.cluster.engine.instant
            done = dp.service.admit(node_name, data.generation, now, op.argv, extra)
            gen = data.generation
            dp.cluster.engine.schedule_at(done, deliver, dp, node_name, client, op, attempt, gen)
            return
        if not dp.service.finished(node_name, admitted):
            refuse(dp, node_name, client, op, attempt)  # its process died: connection reset
            return
    if data.busy:
        data.blocked.append((client, op, attempt))
        return
    process(dp, node, client, op, attempt)


def release_blocked(dp: Plane, node: Node, busy: bool) -> None:
    """The node's blocking command ended: serve what queued up meanwhile, in order."""
    data = dp.data(node)
    blocked, data.blocked = data.blocked, []
    data.busy = False
    for client, op, attempt in blocked:
        process(dp, node, client, op, attempt)
    data.busy = busy


def process(dp: Plane, node: Node, client_name: str, op: Op, attempt: int) -> None:
    client = dp.clients.get(client_name)
    if client is None or op.done or attempt != op.attempt:
        return
    session = client.session(node.name)
    if op.asking:
        session.asking = True  # ASKING was pipelined just before the command
    if client.cache is not None:
        client_tracking.before_command(dp, node, client_name, client.cache)
    reply = execute(dp, node, client_name, op.argv, session)
    if node.pass_watch:  # this command's pass: its beforeSleep checks the timeouts
        event_loop_pass(dp, node)
    if client.cache is not None and reply.outcome == outcomes.OK:
        client_tracking.after_command(dp, node, client_name, op.command, op.argv[1:])
    if reply.outcome == HELD:
        data = dp.data(node)
        data.held.append((client_name, op, attempt))
        if len(data.held) == 1:  # the pause's own end, if no reset ends it first (§12)
            end = node.writes_paused_until
            dp.cluster.engine.schedule_at(end, pause_ended, dp, node.name, data.generation)
        return
    if reply.outcome == BLOCKED:
        block_wait(dp, node, client_name, op, attempt, reply)
        return
    answer(dp, node.name, client_name, op, attempt, reply)


def answer(dp: Plane, node: str, client: str, op: Op, attempt: int, reply: Reply) -> None:
    """Send ``reply`` back; lost if the client is cut off (it then times out)."""
    network = dp.cluster.network
    target = dp.clients.get(client)
    if target is None or not network.reachable(node, client):
        return
    delay = network.delay(node, client, dp.now)
    if delay is None:
        return
    dp.cluster.engine.schedule(delay, target.on_reply, op, attempt, reply)


def refuse(dp: Plane, node: str, client: str, op: Op, attempt: int) -> None:
    """Connection refused / reset by a dead process."""
    answer(
        dp, node, client, op, attempt, Reply(outcomes.ERROR, "Connection refused", connection=True)
    )


def pause_ended(dp: Plane, node_name: str, generation: int) -> None:
    """Re-process held writes: the client pause ended (§12), by reaching its end here, or
    by ``resetManualFailover`` (:meth:`ClusterData.on_writes_unpaused`). A write held
    again (a new pause) waits for that pause's end."""
    node = dp.cluster.nodes.get(node_name)
    if node is None or dp.data(node).generation != generation:
        return
    if node.status == RUNNING and not node.writes_paused():
        process_held(dp, node)


def process_held(dp: Plane, node: Node) -> None:
    """Process the requests a paused node buffered (SIGCONT) or held (client pause)."""
    data = dp.data(node)
    held, data.held = data.held, []
    for client, op, attempt in held:
        if node.status != RUNNING:
            data.held.append((client, op, attempt))
            continue
        process(dp, node, client, op, attempt)


def block_wait(dp: Plane, node: Node, client: str, op: Op, attempt: int, reply: Reply) -> None:
    """``waitCommand`` blocked the client: it waits for ACKs (asked for with a GETACK in
    this pass) or for the first event-loop pass after its timeout (§20.3,
    :mod:`.replica_acks`)."""
    numreplicas, timeout, woff = reply.value
    deadline = replica_acks.block(dp, node, timeout)
    dp.data(node).waiting.append((client, op, attempt, woff, numreplicas, deadline))


def serve_waiting(dp: Plane, node: Node) -> None:
    """``processClientsWaitingReplicas`` after an ACK: the WAITs it satisfies get their
    count. On a node that became a replica, ``disconnectAllBlockedClients``: an error."""
    data = dp.data(node)
    waiting, data.waiting = data.waiting, []
    for entry in waiting:
        client, op, attempt, woff, numreplicas, _ = entry
        if not node.is_master:
            answer(dp, node.name, client, op, attempt, Reply(outcomes.ERROR, ERR_UNBLOCKED))
            continue
        count = dp.acked_replicas(node, woff)
        if count >= numreplicas:
            answer(dp, node.name, client, op, attempt, _count_reply(count))
        else:
            data.waiting.append(entry)


def _count_reply(count: int) -> Reply:
    """WAIT's answer: how many replicas ACKed the client's ``woff``."""
    return Reply(outcomes.OK, str(count), count)


def event_loop_pass(dp: Plane, node: Node) -> None:
    """``handleBlockedClientsTimeout``, first in ``beforeSleep``: a WAIT whose timeout
    has passed (``timeout < now``) gets ``replyToBlockedClientTimedOut``, the count of
    replicas that ACKed so far. RESP clients' WAITs read ``last_pass``
    (:func:`simulator.resp.commands.wait_reply`)."""
    now = dp.now
    if not replica_acks.timeouts_passed(dp, node, now):
        return
    data = dp.data(node)
    waiting, data.waiting = data.waiting, []
    for entry in waiting:
        client, op, attempt, woff, _, deadline = entry
        if deadline is not None and deadline < now:
            answer(dp, node.name, client, op, attempt, _count_reply(dp.acked_replicas(node, woff)))
        else:
            data.waiting.append(entry)


REQUEST_PATH = RequestPath(
    refuse=refuse,
    process_held=process_held,
    pause_ended=pause_ended,
    serve_waiting=serve_waiting,
    event_loop_pass=event_loop_pass,
    probe=probe,
)
"""What :func:`simulator.dataplane.install` registers with the state layer
(:attr:`ClusterData.requests`), which calls up through it and never imports this module."""
