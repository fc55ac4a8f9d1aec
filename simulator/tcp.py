"""Cluster-bus links as Linux TCP connections: connect, retransmit, reset, close.

Redis's cluster bus is TCP (§4.1), and what a node sees after a partition heals is what
Linux's TCP does with the connections the partition cut: a connect keeps retransmitting
its SYN (``tcp_syn_retries``, first RTO 1 s, doubling) and completes at the first
retransmission after the heal; bytes written on an established connection wait in the
socket and are retransmitted from ``TCP_RTO_MIN`` (200 ms), doubling up to
``TCP_RTO_MAX`` (120 s), so after the heal they arrive at the next retransmission, in
order, with later bytes queued behind them. Packet loss is the same thing on a smaller
scale: a retransmission delay, never a silent drop. A closed port answers with RST.

This module is that model and nothing else. It sees the world through four callables
(who can reach whom, what state a process is in, how long a packet takes, where trace
events go) and the engine; each host registers a :class:`LinkHandler` (the node) that
the module calls back, as Redis's event loop calls ``clusterLinkConnectHandler`` and
``clusterReadHandler``. A host whose process is SIGSTOPped gets nothing until
:meth:`TcpNet.host_resumed`: its kernel still completes handshakes and ACKs bytes, and
the process handles what it buffered, in arrival order, when it runs again. What the
model simplifies is listed in ``docs/tcp-links.md``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from simulator.engine import Engine, Timer

RUNNING = "running"
PAUSED = "paused"  # SIGSTOP: the kernel completes handshakes and buffers, nothing answers
CRASHED = "crashed"  # no process: the port is closed, the kernel answers RST

CONNECTING = "connecting"
ESTABLISHED = "established"
CLOSED = "closed"

Reachable = Callable[[str, str], bool]
ProcessState = Callable[[str], str]
Latency = Callable[[str, str], int | None]  # one packet's delay, None when it is lost
Emit = Callable[..., Any]  # emit(kind, node, target, **fields)


@dataclass(frozen=True)
class LinuxTcp:
    """The Linux constants the model follows (``include/net/tcp.h``, ``ip-sysctl``)."""

    syn_retries: int = 6  # net.ipv4.tcp_syn_retries
    syn_rto_ms: int = 1000  # TCP_TIMEOUT_INIT: first SYN retransmission after 1 s
    rto_min_ms: int = 200  # TCP_RTO_MIN
    rto_max_ms: int = 120_000  # TCP_RTO_MAX
    retries2: int = 15  # net.ipv4.tcp_retries2
    sndbuf_bytes: int = 16_384  # net.ipv4.tcp_wmem[1], the default send buffer

    def give_up_after_ms(self, retries: int, rto_base_ms: int) -> int:
        """``tcp_model_timeout``: how long retransmissions last before ETIMEDOUT.

        Exponential from ``rto_base_ms`` up to ``TCP_RTO_MAX``, linear after it: 127 s
        for a connect (6 SYN retries), 924.6 s for established data (15 retries).
        """
        thresh = (self.rto_max_ms // rto_base_ms).bit_length() - 1  # ilog2
        if retries <= thresh:
            return ((2 << retries) - 1) * rto_base_ms
        return ((2 << thresh) - 1) * rto_base_ms + (retries - thresh) * self.rto_max_ms


LINUX = LinuxTcp()


class LinkHandler(Protocol):
    """What a host (the node) is told about its sockets; each runs in the process."""

    def on_established(self, link: Link) -> None:
        """My connect completed (``clusterLinkConnectHandler``: send the PING now)."""

    def on_refused(self, link: Link) -> None:
        """My connect met a closed port (RST, ECONNREFUSED); the link is freed."""

    def on_failed(self, link: Link) -> None:
        """My connect gave up after ``tcp_syn_retries`` (ETIMEDOUT); the link is freed."""

    def on_accepted(self, link: Link) -> None:
        """A peer connected to me (``clusterAcceptHandler``): my inbound link."""

    def on_message(self, link: Link, message: object) -> None:
        """A whole message arrived on ``link`` (``clusterReadHandler``)."""

    def on_error(self, link: Link, reason: str) -> None:
        """The connection broke (``reset``, ``closed`` by the peer, ``timeout``); freed."""


class _Segment:
    """One message in a send queue; ``sent`` is its first transmission (-1: not yet)."""

    __slots__ = ("message", "sent", "size")

    def __init__(self, message: object, size: int) -> None:
        self.message = message
        self.size = size
        self.sent = -1


class Link:
    """One end of a TCP connection: the socket a node writes to and reads from.

    ``outbound`` ends are the links a node opens itself (``node->link``); the other end
    is the peer's inbound link. Each end owns the byte stream it sends.
    """

    def __init__(self, net: TcpNet, local: str, remote: str, outbound: bool) -> None:
        self.net = net
        self.local = local
        self.remote = remote
        self.outbound = outbound
        self.state = CONNECTING
        self.ctime = net.engine.now  # createClusterLink: the link refresh rule reads it
        self.peer: Link | None = None  # the other end, once the handshake completes
        self.syn_retries = 0
        self.freed = False  # the process is done with it (freeClusterLink ran)
        self._queue: deque[_Segment] = deque()  # written, not yet on the wire
        self._in_flight: deque[_Segment] = deque()  # on the wire, arrival scheduled
        self._queued_bytes = 0
        self._stalled = False  # waiting for a retransmission timer
        self._rto = net.params.syn_rto_ms
        self._rto_base = net.params.rto_min_ms
        self._timer: Timer | None = None
        self._epoch = 0  # bumped when in-flight segments are taken back or dropped
        self._last_arrival = 0

    def __repr__(self) -> str:
        arrow = "->" if self.outbound else "<-"
        return f"<Link {self.local}{arrow}{self.remote} {self.state}>"

    # ------------------------------------------------------------------ the writer's view

    @property
    def queued_bytes(self) -> int:
        """Bytes written and not yet delivered to the peer's socket."""
        return self._queued_bytes

    @property
    def socket_bytes(self) -> int:
        """The part the kernel holds: at most the send buffer (nothing before connect)."""
        if self.state != ESTABLISHED:
            return 0
        return min(self._queued_bytes, self.net.params.sndbuf_bytes)

    @property
    def send_queue_bytes(self) -> int:
        """The part Redis keeps in its own queue because the socket is full
        (``link->send_msg_queue_mem``, what ``cluster-link-sendbuf-limit`` checks)."""
        return self._queued_bytes - self.socket_bytes

    def send(self, message: object, size_bytes: int) -> None:
        """``clusterSendMessage``: queue ``message``; it goes out in order behind the rest.

        On a broken link (its error not yet handled, e.g. by a process still reading
        what it buffered while paused) the bytes go nowhere, as a failing write does."""
        if self.state == CLOSED:
            return
        segment = _Segment(message, size_bytes)
        self._queue.append(segment)
        self._queued_bytes += size_bytes
        if self.state == ESTABLISHED and not self._stalled:
            self._push()

    def close(self, reason: str) -> None:
        """``freeClusterLink``: what the link held is lost; the peer reads EOF if it can."""
        if self.freed:
            return
        self.freed = True
        if self.outbound:
            self.net._emit("link_freed", self.local, self.remote, reason=reason)
        if self.state == CLOSED:
            return  # already broken by the peer; its error will not be reported now
        peer = self.peer
        self.net._drop(self)
        if peer is not None and peer.state != CLOSED:
            delay = self.net._path_delay(self.local, self.remote)
            if delay is not None:  # else the peer learns at its next send (RST)
                self.net.engine.schedule(delay, peer._broken, "closed")

    # ------------------------------------------------------------------ the byte stream

    def _push(self) -> None:
        """(Re)transmit everything queued as one burst, or stall until the next RTO."""
        net = self.net
        now = net.engine.now
        for segment in self._queue:
            if segment.sent < 0:
                segment.sent = now
        delay = net._path_delay(self.local, self.remote)
        if delay is None:  # cut or lost: it, and all behind it, wait for the retransmission
            self._stall()
            return
        self._stalled = False
        self._rto = self._rto_base  # an ACK of new data resets the backoff
        arrival = max(now + delay, self._last_arrival)
        self._last_arrival = arrival
        while self._queue:
            segment = self._queue.popleft()
            self._in_flight.append(segment)
            net.engine.schedule(arrival - now, self._arrive, self._epoch)

    def _stall(self) -> None:
        self._stalled = True
        if self._timer is None:
            self._timer = self.net.engine.schedule(self._rto, self._retransmit)

    def _retransmit(self) -> None:
        """The RTO timer (``tcp_retransmit_timer``): give up after ``tcp_retries2``, else
        retransmit; a retransmission that does not get through doubles the RTO."""
        self._timer = None
        if self.state != ESTABLISHED or not self._queue:
            return
        params = self.net.params
        elapsed = self.net.engine.now - self._queue[0].sent
        if elapsed >= params.give_up_after_ms(params.retries2, params.rto_min_ms):
            self.net._fail(self, "timeout")
            return
        self._rto = min(self._rto * 2, params.rto_max_ms)
        self._push()

    def _arrive(self, epoch: int) -> None:
        """The head in-flight segment reaches the peer's host."""
        if epoch != self._epoch or self.state != ESTABLISHED:
            return
        net = self.net
        peer = self.peer
        if not net.reachable(self.local, self.remote):  # cut while on the wire: retransmit
            self._take_back()
            return
        if peer is None or peer.state == CLOSED or net.process_state(self.remote) == CRASHED:
            # No socket at the other end any more: its kernel answers RST.
            delay = net._path_delay(self.remote, self.local)
            if delay is None:
                self._take_back()  # the RST is lost too; the next retransmission retries
            else:
                net.engine.schedule(delay, self._broken, "reset")
            return
        segment = self._in_flight.popleft()
        self._queued_bytes -= segment.size
        net._notify(peer, "message", segment.message)

    def _take_back(self) -> None:
        """In-flight segments go back to the head of the queue, to be retransmitted."""
        self._epoch += 1
        self._queue.extendleft(reversed(self._in_flight))
        self._in_flight.clear()
        self._stall()

    def _broken(self, reason: str) -> None:
        """A RST (``reset``) or FIN (``closed``) from the peer arrived."""
        if self.state != CLOSED:
            self.net._fail(self, reason)


class TcpNet:
    """Every host's TCP stack, over the network the oracles describe.

    ``reachable(src, dst)``: a packet from src reaches dst now (partitions, cuts);
    ``process_state(host)``: ``running``, ``paused`` or ``crashed``; ``latency(src, dst)``:
    one packet's delay in whole ms, or ``None`` when ``network.loss`` drops it;
    ``emit(kind, node, target, **fields)``: the trace. All must be bound methods or
    module-level functions (the engine's deepcopy rule).
    """

    def __init__(
        self,
        engine: Engine,
        reachable: Reachable,
        process_state: ProcessState,
        latency: Latency,
        emit: Emit,
        params: LinuxTcp = LINUX,
    ) -> None:
        self.engine = engine
        self.reachable = reachable
        self.process_state = process_state
        self.latency = latency
        self.emit = emit
        self.params = params
        self._handlers: dict[str, LinkHandler] = {}
        self._open: dict[str, dict[Link, None]] = {}  # host -> its live sockets, in order
        self._held: dict[str, list[tuple[Link, str, object]]] = {}  # a paused host's input

    def attach(self, host: str, handler: LinkHandler) -> None:
        """``host`` listens on its bus port; ``handler`` is called for its sockets."""
        self._handlers[host] = handler

    def links(self, host: str) -> list[Link]:
        """The sockets ``host`` has open (connecting or established), oldest first."""
        return list(self._open.get(host, {}))

    # ------------------------------------------------------------------ connect

    def connect(self, src: str, dst: str) -> Link:
        """``connConnect``, non-blocking: the link exists at once and may be written to
        (its messages go out when it is established); the outcome comes by callback."""
        link = Link(self, src, dst, outbound=True)
        self._open.setdefault(src, {})[link] = None
        self._emit("link_connect", src, dst)
        self._send_syn(link)
        return link

    def _send_syn(self, link: Link) -> None:
        link._timer = self.engine.schedule(link._rto, self._syn_timeout, link)
        src, dst = link.local, link.remote
        there = self._path_delay(src, dst)
        if there is None:
            return  # DROPped or lost: retransmitted at the next RTO
        # The peer's kernel answers even when the process is paused; a closed port, RST.
        answer = "refused" if self.process_state(dst) == CRASHED else "accepted"
        back = self._path_delay(dst, src)
        if back is not None:
            self.engine.schedule(there + back, self._syn_answered, link, answer, there + back)

    def _syn_timeout(self, link: Link) -> None:
        """The SYN's RTO timer: retransmit with the RTO doubled, or give up (ETIMEDOUT)."""
        link._timer = None
        if link.state != CONNECTING:
            return
        params = self.params
        if self.engine.now - link.ctime >= params.give_up_after_ms(
            params.syn_retries, params.syn_rto_ms
        ):
            self._drop(link)
            self._notify(link, "failed", None)
            return
        link.syn_retries += 1
        link._rto = min(link._rto * 2, params.rto_max_ms)
        self._send_syn(link)

    def _syn_answered(self, link: Link, answer: str, rtt: int) -> None:
        if link.state != CONNECTING:
            return  # freed meanwhile, or a second answer to a retransmitted SYN
        if answer == "refused":
            self._drop(link)
            self._notify(link, "refused", None)
            return
        self.engine.cancel(link._timer)
        link._timer = None
        inbound = Link(self, link.remote, link.local, outbound=False)
        for end in (link, inbound):
            end.state = ESTABLISHED
            end._rto = end._rto_base = self.params.rto_min_ms + rtt  # RTO ≈ srtt + rto_min
        link.peer, inbound.peer = inbound, link
        self._open.setdefault(inbound.local, {})[inbound] = None
        self._notify(inbound, "accepted", None)
        self._notify(link, "established", None)

    # ------------------------------------------------------------------ host events

    def host_crashed(self, host: str) -> None:
        """The process died: its kernel closes every socket (peers it can reach read
        EOF; the others get RST at their next send) and drops its unread input."""
        self._held.pop(host, None)
        for link in list(self._open.get(host, {})):
            peer = link.peer
            self._drop(link)
            if peer is not None and peer.state != CLOSED:
                delay = self._path_delay(host, link.remote)
                if delay is not None:
                    self.engine.schedule(delay, peer._broken, "closed")

    def host_resumed(self, host: str) -> None:
        """SIGCONT: the process handles what its kernel buffered, in arrival order."""
        held = self._held.pop(host, [])
        for index, (link, what, arg) in enumerate(held):
            if self.process_state(host) != RUNNING:  # paused or killed by what it handled
                if self.process_state(host) == PAUSED:
                    self._held[host] = held[index:] + self._held.get(host, [])
                return
            self._dispatch(link, what, arg)

    # ------------------------------------------------------------------ internals

    def _path_delay(self, src: str, dst: str) -> int | None:
        """A packet's delay from ``src`` to ``dst``, or ``None`` if it never arrives."""
        if not self.reachable(src, dst):
            return None
        return self.latency(src, dst)

    def _drop(self, link: Link) -> None:
        """The socket is gone: timers stop, what it held is lost."""
        link.state = CLOSED
        link._epoch += 1
        self.engine.cancel(link._timer)
        link._timer = None
        link._queue.clear()
        link._in_flight.clear()
        link._queued_bytes = 0
        self._open.get(link.local, {}).pop(link, None)

    def _fail(self, link: Link, reason: str) -> None:
        self._drop(link)
        self._notify(link, "error", reason)

    def _notify(self, link: Link, what: str, arg: object) -> None:
        """Hand an event to the process, or keep it until SIGCONT (kept in order)."""
        host = link.local
        state = self.process_state(host)
        if state == CRASHED:
            return
        if state == PAUSED:
            self._held.setdefault(host, []).append((link, what, arg))
            return
        if host in self._held:  # resumed without host_resumed: buffered input comes first
            self.host_resumed(host)
        self._dispatch(link, what, arg)

    def _dispatch(self, link: Link, what: str, arg: object) -> None:
        """Run the handler; events for a link its process already freed are moot, but a
        link the peer broke still delivers what came before the break."""
        if link.freed:
            return
        handler = self._handlers[link.local]
        local, remote = link.local, link.remote
        if what == "message":
            handler.on_message(link, arg)
        elif what == "accepted":
            handler.on_accepted(link)
        elif what == "established":
            self._emit("link_established", local, remote, syn_retries=link.syn_retries)
            if link._queue:  # written while connecting: out before the connect handler's PING
                link._push()
            handler.on_established(link)
        else:
            link.freed = True
            if link.outbound:
                reason = {"refused": "refused", "failed": "timeout"}.get(what, str(arg))
                self._emit("link_freed", local, remote, reason=reason)
            if what == "refused":
                handler.on_refused(link)
            elif what == "failed":
                handler.on_failed(link)
            else:
                handler.on_error(link, str(arg))

    def _emit(self, kind: str, node: str, target: str, **fields: object) -> None:
        self.emit(kind, node, target, **fields)
