"""The RESP front's sockets: every simulated node on its own loopback port.

One asyncio event loop, one thread. Node ``i`` listens on ``base_port + i`` (the
address it reports in ``CLUSTER NODES``). Each request is stamped with its arrival
time in simulated milliseconds; before it is answered the simulation is run to that
time, and the command table (:mod:`simulator.resp.commands`) answers it from that
node's state, so what the model does with a request depends only on when it
arrived. Between requests a pacer (:meth:`RespFront.run`) keeps simulated time on
the wall clock (``now = start + elapsed``, checked every millisecond); the TUI
instead drives time itself and calls :meth:`RespFront.after_advance`.

Faults reach the sockets: a crashed, shut-down or removed node's listener is closed
(connecting is refused) and its clients are disconnected; a paused node (SIGSTOP)
keeps accepting but answers nothing until it resumes; a restarted node listens again.
Safety: loopback unless told otherwise; a malformed or oversized request gets Redis's
protocol error and the connection is closed; per-node client limits and an output
buffer limit (a subscriber that does not read is disconnected, like
``client-output-buffer-limit pubsub``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.resp import PAUSED, RUNNING, stringmatchlen
from simulator.resp.client import Blocked, ClientState, PortMap
from simulator.resp.commands import Context, dispatch, wait_reply
from simulator.resp.protocol import Error, ProtocolError, Push, RequestParser, encode
from simulator.simulation import Simulation
from simulator.trace import TraceEvent

DEFAULT_BASE_PORT = 7000
PROTOCOL_ERROR = b"\x00protocol-error"  # a queued marker: reply this error and close
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection and per-node limits (Redis: ``maxclients``,
    ``client-output-buffer-limit``, ``proto-max-bulk-len``, ``client-query-buffer-limit``)."""

    max_clients: int = 1000
    max_output_bytes: int = 8 * 1024 * 1024
    max_bulk_len: int = 1024 * 1024
    max_query_buffer: int = 4 * 1024 * 1024
    max_pending: int = 10_000  # parsed commands waiting; beyond this, stop reading


class Connection(asyncio.Protocol):
    """One real client connected to one simulated node."""

    def __init__(self, front: RespFront, node: str) -> None:
        self.front = front
        self.node = node
        self.transport: asyncio.Transport | None = None
        self.state: ClientState | None = None
        self.parser = RequestParser(
            max_bulk_len=front.limits.max_bulk_len, max_query_buffer=front.limits.max_query_buffer
        )
        self.pending: deque[tuple[int, list[bytes]]] = deque()  # (arrival ms, argv)
        self.pending_bytes = 0
        self.arrival = 0  # when the latest input arrived (simulated ms)
        self.failed: str | None = None  # the protocol error the input ends with
        self.protocol_error_queued = False
        self.blocked: Blocked | None = None
        self.generation = -1
        self.waiting_busy = False  # held while the node runs a blocking MIGRATE
        self.closing = False
        self._reading = True

    # ------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        front = self.front
        if len(front.clients_of(self.node)) >= front.limits.max_clients:
            transport.write(b"-ERR max number of clients reached\r\n")
            transport.close()
            self.closing = True
            return
        peer = transport.get_extra_info("peername") or ("?", 0)
        sock = transport.get_extra_info("sockname") or ("?", 0)
        client_id = front.next_client_id(self.node)
        self.state = ClientState(
            id=client_id,
            key=f"resp:{self.node}:{client_id}",
            addr=f"{peer[0]}:{peer[1]}",
            laddr=f"{sock[0]}:{sock[1]}",
            created_ms=front.sim.now,
        )
        self.generation = front.generation(self.node)
        front.connections.setdefault(self.node, []).append(self)
        front.by_key[self.state.key] = self

    def data_received(self, data: bytes) -> None:
        if self.closing or self.state is None or self.failed is not None:
            return  # after a protocol error nothing more is read: the connection closes
        self.arrival = self.front.arrival_ms()
        try:
            self.parser.feed(data)
        except ProtocolError as error:
            self.failed = str(error)
        self.fill()
        self.front.serve(self)

    def fill(self) -> None:
        """Parse buffered input into queued requests, up to the limits; past them stop
        reading from the socket (as a stopped server's kernel buffer fills up). A
        protocol error is queued after what came before it, answered in turn."""
        while not self.too_much_pending() and not self.protocol_error_queued:
            try:
                argv = self.parser.next()
            except ProtocolError as error:
                self.failed = str(error)
                argv = None
            if argv is None:
                if self.failed is not None:
                    self.pending.append((self.arrival, [PROTOCOL_ERROR, self.failed.encode()]))
                    self.protocol_error_queued = True
                break
            self.pending.append((self.arrival, argv))
            self.pending_bytes += sum(len(a) for a in argv)
        if self.transport is not None and not self.closing:
            if self._reading and self.too_much_pending():
                self.transport.pause_reading()
                self._reading = False
            elif not self._reading and not self.too_much_pending(0.5):
                self.transport.resume_reading()
                self._reading = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.front.forget(self)

    # ------------------------------------------------------------ replies

    def send(self, value: Any) -> None:
        if self.closing or self.transport is None or self.state is None:
            return
        self.transport.write(encode(value, self.state.proto))
        if self.transport.get_write_buffer_size() > self.front.limits.max_output_bytes:
            self.close()  # client-output-buffer-limit: the client does not read

    def close(self, abort: bool = False) -> None:
        if self.transport is None or self.closing:
            return
        self.closing = True
        if abort:
            self.transport.abort()
        else:
            self.transport.close()

    def too_much_pending(self, share: float = 1.0) -> bool:
        """Requests read but not answered (a paused node, a held write) beyond the
        limits: stop reading, as a stopped server's kernel buffer fills up."""
        limits = self.front.limits
        return (
            len(self.pending) >= limits.max_pending * share
            or self.pending_bytes >= limits.max_query_buffer * share
        )

    def take(self) -> None:
        """The first queued request was answered."""
        _, argv = self.pending.popleft()
        self.pending_bytes -= sum(len(a) for a in argv)


class RespFront:
    """The listeners, connections and the pacing of one simulation."""

    def __init__(
        self,
        sim: Simulation,
        base_port: int = DEFAULT_BASE_PORT,
        bind: str = LOOPBACK,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sim = sim
        self.ports = PortMap(base_port)
        self.bind = bind
        self.limits = limits or Limits()
        self.clock = clock
        self.connections: dict[str, list[Connection]] = {}
        self.by_key: dict[str, Connection] = {}
        self.servers: dict[str, asyncio.Server] = {}
        self._opening: set[str] = set()
        self._retry_at: dict[str, float] = {}
        self._ids: dict[str, int] = {}
        self._pmessage: dict[str, tuple[int, str, str, int]] = {}
        self.held: Callable[[], bool] = lambda: False  # e.g. the TUI is paused
        self.paced = True  # RespFront.run keeps simulated time on the wall clock
        self._wall0 = 0.0
        self._sim0 = 0
        self._last_now = sim.now
        self.max_lag_ms = 0
        self._trace = sim.trace
        self._trace.subscribe(self._on_event)

    # ------------------------------------------------------------ addresses

    def port_of(self, name: str) -> int:
        return self.ports.port(self.sim.cluster.nodes[name].port)

    def addresses(self) -> list[tuple[str, str]]:
        return [(name, f"{self.bind}:{self.port_of(name)}") for name in self.sim.cluster.nodes]

    def next_client_id(self, node: str) -> int:
        self._ids[node] = self._ids.get(node, 0) + 1
        return self._ids[node]

    def clients_of(self, node: str) -> list[Connection]:
        return [c for c in self.connections.get(node, []) if not c.closing]

    def generation(self, node: str) -> int:
        """The node's process incarnation (bumped by every crash): a restart after a
        crash is a different process, whose old clients are gone."""
        data = self.sim.cluster.nodes[node].data
        return int(getattr(data, "generation", 0))

    # ------------------------------------------------------------ listeners

    async def start(self) -> None:
        """Open a listener for every node whose process is alive."""
        self._wall0, self._sim0 = self.clock(), self.sim.now
        for name, node in self.sim.cluster.nodes.items():
            if node.status in (RUNNING, PAUSED) and name not in self.servers:
                await self._open(name)

    async def _open(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        port = self.port_of(name)
        try:
            server = await loop.create_server(
                lambda: Connection(self, name), self.bind, port, reuse_address=True
            )
        except OSError as error:
            raise OSError(f"{name}: cannot listen on {self.bind}:{port}: {error}") from None
        finally:
            self._opening.discard(name)
        self.servers[name] = server

    def reconcile(self) -> None:
        """Listeners follow the nodes' processes: closed when a node crashed, shut
        down or was removed (connections refused), open again once it runs."""
        nodes = self.sim.cluster.nodes
        for name in list(self.servers):
            node = nodes.get(name)
            if node is None or node.status not in (RUNNING, PAUSED):
                self.servers.pop(name).close()
                for conn in list(self.connections.get(name, [])):
                    conn.close(abort=True)
        for name, conn_list in self.connections.items():
            if name in nodes:
                generation = self.generation(name)
                for conn in conn_list:
                    if conn.generation != generation:
                        conn.close(abort=True)
        now = self.clock()
        for name, node in nodes.items():
            if node.status in (RUNNING, PAUSED) and name not in self.servers:
                if name not in self._opening and now >= self._retry_at.get(name, 0.0):
                    self._opening.add(name)
                    asyncio.get_running_loop().create_task(self._open_quietly(name))

    async def _open_quietly(self, name: str) -> None:
        try:
            await self._open(name)
        except OSError:  # port taken: the node stays unreachable; try again in a second
            self._retry_at[name] = self.clock() + 1.0

    async def close(self) -> None:
        self._trace.unsubscribe(self._on_event)
        for server in self.servers.values():
            server.close()
        for conns in self.connections.values():
            for conn in list(conns):
                conn.close(abort=True)
        for server in list(self.servers.values()):
            await server.wait_closed()
        self.servers.clear()

    # ------------------------------------------------------------ time

    def wall_ms(self) -> int:
        """Simulated time the wall clock says it is now."""
        return self._sim0 + int((self.clock() - self._wall0) * 1000)

    def arrival_ms(self) -> int:
        """A request's arrival time: the wall clock when paced, else the TUI's now."""
        return max(self.sim.now, self.wall_ms()) if self.paced else self.sim.now

    def advance(self, t: int) -> None:
        """Run the simulation to ``t`` (never back), then follow what changed."""
        if t > self.sim.now:
            self._run_until(t)
        self.after_advance()

    def _run_until(self, t: int) -> None:
        """``sim.run_until(t)``, but event by event while a request waits for a node's
        blocking MIGRATE, so it is served in the gap before the next one as Redis's
        event loop serves it (``release_blocked`` does the same for simulated clients)."""
        sim = self.sim
        waiting = [c for conns in self.connections.values() for c in conns if c.waiting_busy]
        while waiting:
            next_time = sim.engine.peek()
            if next_time is None or next_time > t:
                break
            sim.step()
            for conn in waiting:
                node = sim.cluster.nodes.get(conn.node)
                if node is None or conn.closing or not self._busy(node.name):
                    conn.waiting_busy = False
                    self.serve(conn)
            waiting = [c for c in waiting if c.waiting_busy and not c.closing]
        if t > sim.now:
            sim.run_until(t)

    def _busy(self, name: str) -> bool:
        node = self.sim.cluster.nodes.get(name)
        return (
            node is not None and node.data is not None and bool(getattr(node.data, "busy", False))
        )

    def after_advance(self) -> None:
        """After the simulation moved (or was rewound by the TUI): sockets follow the
        nodes, then held, blocked and queued requests are served."""
        if self.sim.now < self._last_now:
            # Rewound: the connections' state is not in the restored past.
            for conns in self.connections.values():
                for conn in list(conns):
                    conn.close(abort=True)
        self._last_now = self.sim.now
        self.reconcile()
        for conns in list(self.connections.values()):
            for conn in list(conns):
                if conn.pending or conn.blocked is not None:
                    self.serve(conn)

    async def run(self, until_ms: int | None = None, stop: asyncio.Event | None = None) -> None:
        """Pace the simulation to the wall clock until ``until_ms`` or ``stop``."""
        await self.start()
        stop = stop or asyncio.Event()
        while not stop.is_set():
            target = self.wall_ms()
            if until_ms is not None and target >= until_ms:
                self.advance(until_ms)
                break
            self.advance(target)
            self.max_lag_ms = max(self.max_lag_ms, self.wall_ms() - self.sim.now)
            await asyncio.sleep(0.001)

    # ------------------------------------------------------------ requests

    def serve(self, conn: Connection) -> None:
        """Answer ``conn``'s queued requests in order, each at its arrival time,
        until one is held (paused node, client pause, WAIT)."""
        if conn.closing or conn.state is None or self.held():
            return
        node = self.sim.cluster.nodes.get(conn.node)
        if node is None or node.status != RUNNING:
            return  # SIGSTOP: the kernel buffers, nothing is answered
        if self.cut_off(conn):
            return  # a partition between us: the packets are lost until it heals
        ctx = Context(self.sim, conn.node, conn.state, self.ports, self._states(conn.node))
        if conn.blocked is not None:
            done = wait_reply(ctx, conn.blocked)
            if done is None:
                return
            conn.blocked = None
            for reply in done.replies:
                conn.send(reply)
        while not conn.closing:
            if not conn.pending:
                conn.fill()
                if not conn.pending:
                    break
            arrival, argv = conn.pending[0]
            if arrival > self.sim.now:
                if not self.paced:
                    break
                self.sim.run_until(arrival)
                self.reconcile()
                if node.status != RUNNING or conn.closing:
                    return
            if self.cut_off(conn):
                return
            if argv[0] == PROTOCOL_ERROR:
                conn.pending.clear()
                conn.pending_bytes = 0
                conn.send(Error(argv[1].decode()))
                conn.close()
                return
            ctx.arrival = arrival
            try:
                outcome = dispatch(ctx, argv)
            except Exception as error:  # a bug must cost one reply, not the server
                conn.take()
                conn.send(Error(f"ERR rcsim internal error: {type(error).__name__}: {error}"))
                continue
            if outcome.hold:
                conn.waiting_busy = self._busy(conn.node)
                return
            conn.take()
            conn.fill()  # read on once the queue is below its limits again
            for reply in outcome.replies:
                conn.send(reply)
            if outcome.close:
                conn.close()
                return
            if outcome.blocked is not None:
                conn.blocked = outcome.blocked
                return

    def cut_off(self, conn: Connection) -> bool:
        """Whether a partition or cut separates the client from its node. A real client
        is a network endpoint under its ``CLIENT SETNAME`` name (so a partition that
        names it applies); an unnamed one reaches every node, as unnamed endpoints do."""
        name = conn.state.name if conn.state is not None else ""
        if not name:
            return False
        network = self.sim.cluster.network
        return not (network.reachable(name, conn.node) and network.reachable(conn.node, name))

    def _states(self, node: str) -> list[ClientState]:
        return [c.state for c in self.clients_of(node) if c.state is not None]

    def forget(self, conn: Connection) -> None:
        """The client went away: drop it and its subscriptions on the node."""
        conns = self.connections.get(conn.node, [])
        if conn in conns:
            conns.remove(conn)
        if conn.state is None:
            return
        self.by_key.pop(conn.state.key, None)
        node = self.sim.cluster.nodes.get(conn.node)
        dp = self.sim.extras.get("dataplane")
        if node is not None and dp is not None and node.data is not None:
            dp.data(node).pubsub.remove_client(conn.state.key)
            tracking = dp.data(node).tracking
            if tracking is not None:
                tracking.disconnect(conn.state.key)  # disableTracking

    # ------------------------------------------------------------ pushes

    def _on_event(self, event: TraceEvent) -> None:
        """Messages delivered to a real subscriber (the data plane's ``deliver``) are
        pushed on its connection; crashes and restarts move the listeners."""
        kind = event["kind"]
        if kind == "deliver":
            conn = self.by_key.get(event.get("target", ""))
            if conn is not None and conn.state is not None and not self.cut_off(conn):
                conn.send(self._push(conn.state, event))
        elif kind == "invalidation":  # CLIENT TRACKING: RESP3 only (sendTrackingMessage)
            conn = self.by_key.get(event.get("target", ""))
            if conn is not None and conn.state is not None and conn.state.proto > 2:
                conn.send(Push(("invalidate", event.get("keys"))))
        elif kind in ("crash", "shutdown", "node_removed"):
            name = event.get("node", "")
            server = self.servers.pop(name, None)
            if server is not None:
                server.close()
            for conn in list(self.connections.get(name, [])):
                conn.close(abort=True)

    def _push(self, client: ClientState, event: TraceEvent) -> Push:
        """The RESP push for a ``deliver`` event. The event names no pattern: the
        pattern is the client's matching one (in its subscription order, the k-th for
        the k-th copy of one message, as ``pubsubPublishMessage`` sends one per pattern)."""
        push, channel, message = event["push"], event["channel"], event.get("message")
        if push == "pmessage":
            matching = [p for p in client.patterns if stringmatchlen(p, channel)] or [channel]
            last = self._pmessage.get(client.key)
            index = 0
            if last is not None and last[:3] == (event["t"], channel, str(message)):
                index = last[3] + 1
            self._pmessage[client.key] = (event["t"], channel, str(message), index)
            return Push(("pmessage", matching[index % len(matching)], channel, message))
        if push == "sunsubscribe":
            client.shard_channels.pop(channel, None)
            return Push(("sunsubscribe", channel, len(client.shard_channels)))
        return Push((push, channel, message))


def serve_simulation(
    sim: Simulation,
    base_port: int = DEFAULT_BASE_PORT,
    bind: str = LOOPBACK,
    until_ms: int | None = None,
    on_ready: Callable[[RespFront], None] | None = None,
) -> RespFront:
    """Run ``sim`` paced to the wall clock with every node on a socket, until
    ``until_ms`` or Ctrl-C (SIGINT/SIGTERM); returns the front (for its figures)."""
    import signal

    front = RespFront(sim, base_port, bind)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            task = loop.create_task(front.run(until_ms, stop))
            while not front.servers and not task.done():
                await asyncio.sleep(0.001)
            if on_ready is not None and not task.done():
                on_ready(front)
            await task
        finally:
            await front.close()

    asyncio.run(main())
    return front
