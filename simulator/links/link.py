"""One end of a bus TCP connection: the byte stream it sends, retransmitted as Linux does.

Bytes written on an established connection go out at once when the path is up. When
the path is cut, or the packet is lost (``network.loss``), they wait in the socket and
are retransmitted from the RTO (``TCP_RTO_MIN`` 200 ms plus the round trip), doubling
up to ``TCP_RTO_MAX``; everything written after them waits behind them (TCP delivers in
order), so after a heal the whole backlog arrives at the next retransmission. After
``tcp_retries2`` the connection times out. A socket gone at the other end answers RST.

Nagle and delayed ACKs (§4.5): a node's outbound bus links have Nagle's algorithm on
(Redis 7.0 sets ``TCP_NODELAY`` only on the links it accepts, ``clusterAcceptHandler``),
so a message written while an earlier one is unacknowledged waits for that ACK; the
receiving end ACKs at once, or with the data it sends back (a PONG answering a PING), or,
in pingpong mode and with nothing to send, after the 40 ms delayed-ACK timer.

The socket sees its host's TCP stack only through :class:`Stack`, so this module does
not import :mod:`simulator.links.net`, which creates the sockets.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

from simulator.engine import Engine, Timer
from simulator.links.linux import BUS, CLOSED, CONNECTING, CRASHED, ESTABLISHED, LinuxTcp
from simulator.native import mypyc_attr


class Stack(Protocol):
    """What a socket needs from the TCP stack (:class:`simulator.links.net.TcpNet`)."""

    engine: Engine
    params: LinuxTcp

    def reachable(self, src: str, dst: str) -> bool: ...

    def process_state(self, host: str) -> str: ...

    def path_delay(self, src: str, dst: str) -> int | None: ...

    def notify(self, link: Link, what: str, arg: object) -> None: ...

    def deliver(self, link: Link, message: object, state: str) -> None: ...

    def forget(self, link: Link) -> None: ...

    def trace_freed(self, link: Link, reason: str) -> None: ...

    # ``bus_message`` tracing (simulator/bus_trace.py): None unless turned on.
    bus_tap: Callable[[Link, int, object], None] | None


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


_ATOMIC = (int, str, bool, float)  # shared, never copied


class DeferredCopies:
    """Pointers a deep copy fills in after the main pass (see :meth:`Link.__deepcopy__`).

    Put one in the ``memo`` under :data:`DEFER_KEY`, deep-copy, then :meth:`resolve`."""

    def __init__(self) -> None:
        self.pending: list[tuple[Link, str, object]] = []

    def resolve(self, memo: dict[int, Any]) -> None:
        while self.pending:
            new, name, value = self.pending.pop()
            setattr(new, name, copy.deepcopy(value, memo))


DEFER_KEY = -0x5EC  # a memo key no object's id() can be (ids are addresses, never negative)

_IDLE: tuple[()] = ()
"""The send queue and in-flight list of a link with nothing in them: one shared empty
tuple instead of two lists per socket (a 1,000-node cluster has 2 million sockets,
almost all idle). A list is made when a message is written, dropped when it empties."""


@mypyc_attr(allow_interpreted_subclasses=True)
class _Segment:
    """One message in a send queue; ``sent`` is its first transmission (-1: not yet)."""

    __slots__ = ("message", "sent", "size")

    def __init__(self, message: object, size: int) -> None:
        self.message = message
        self.size = size
        self.sent = -1


@mypyc_attr(allow_interpreted_subclasses=True)
class _Keepalive:
    """SO_KEEPALIVE state of a socket that turned it on (:meth:`Link.keepalive`): most
    sockets never do (a 2,000-node cluster holds 8 million; the converged start state's
    sockets none), so they carry one ``None`` instead of four fields."""

    __slots__ = ("heard", "interval_s", "probes", "timer")

    def __init__(self, interval_s: int, now: int) -> None:
        self.interval_s = interval_s
        self.heard = now  # last time the peer's kernel was heard from (data or ACK)
        self.probes = 0
        self.timer: Timer | None = None


_DEFERRED = frozenset({"peer", "handler"})


# Link's fields, named once for __slots__ and __deepcopy__ (a class compiled by mypyc
# has no readable __slots__).
_LINK_SLOTS = (
    "_ack_due",
    "_delack",
    "_epoch",
    "_in_flight",
    "_ka",
    "_last_arrival",
    "_lrcv",
    "_nagle",
    "_pingpong",
    "_queue",
    "_queued_bytes",
    "_rto",
    "_rto_base",
    "_stalled",
    "_timer",
    "_unacked",
    "ctime",
    "freed",
    "handler",
    "local",
    "outbound",
    "peer",
    "remote",
    "service",
    "stack",
    "state",
    "syn_retries",
)


@mypyc_attr(allow_interpreted_subclasses=True)
class Link:
    """One end of a TCP connection: the socket a node writes to and reads from.

    ``outbound`` ends are the links a node opens itself (``node->link``); the other end
    is the peer's inbound link. ``service`` is the port: the bus, or another one
    (replication) whose links share the model but are not traced as bus links.
    ``freed`` means the process is done with it (``freeClusterLink`` ran, or it was told
    of the error); ``state`` is the kernel's.
    """

    __slots__ = _LINK_SLOTS

    def __init__(
        self,
        stack: Stack,
        local: str,
        remote: str,
        handler: LinkHandler,
        outbound: bool,
        service: str = BUS,
    ) -> None:
        self.stack = stack
        self.local = local
        self.remote = remote
        self.handler = handler  # the process's callbacks for this socket
        self.outbound = outbound
        self.service = service
        self.state = CONNECTING
        self.ctime = stack.engine.now  # createClusterLink: the link refresh rule reads it
        self.peer: Link | None = None  # the other end, once the handshake completes
        self.syn_retries = 0
        self.freed = False
        self._queue: list[_Segment] | tuple[()] = _IDLE  # written, not yet on the wire
        self._in_flight: list[_Segment] | tuple[()] = _IDLE  # on the wire, arrival scheduled
        self._queued_bytes = 0
        self._stalled = False  # waiting for a retransmission timer
        self._rto = stack.params.syn_rto_ms
        self._rto_base = stack.params.rto_min_ms
        self._timer: Timer | None = None
        self._epoch = 0  # bumped when in-flight segments are taken back or dropped
        self._last_arrival = 0
        self._ka: _Keepalive | None = None  # None: SO_KEEPALIVE off
        # Nagle (the sending end): only a node's own bus links, which Redis leaves
        # without TCP_NODELAY; ``_unacked``: data sent and not yet ACKed.
        self._nagle = outbound and service == BUS
        self._unacked = False
        # Delayed ACK (the receiving end of a Nagle link): an ACK owed, its timer, the
        # last arrival (``icsk_ack.lrcvtime``) and pingpong mode (a fresh connection is
        # not in it: its first data is ACKed at once, tcp_event_data_recv's quickack).
        self._ack_due = False
        self._delack: Timer | None = None
        self._lrcv = -1
        self._pingpong = False

    @property
    def arriving(self) -> object | None:
        """The message the next scheduled arrival carries (for a UI's "what runs next")."""
        return self._in_flight[0].message if self._in_flight else None

    def __deepcopy__(self, memo: dict[int, Any]) -> Link:
        """Checkpoints copy every socket: attribute by attribute, without the generic
        ``__reduce_ex__`` path slotted objects take (3× faster).

        The other end and the owning process are copied later when the memo holds a
        :class:`DeferredCopies`: following them at once makes the copy recurse from
        node to socket to node across the whole cluster, deeper than Python's
        recursion limit from about 60 nodes on."""
        new = Link.__new__(Link)
        memo[id(self)] = new
        deferred: DeferredCopies | None = memo.get(DEFER_KEY)
        for name in _LINK_SLOTS:
            value = getattr(self, name)
            if value is not None and value.__class__ not in _ATOMIC:
                if deferred is not None and name in _DEFERRED and id(value) not in memo:
                    deferred.pending.append((new, name, value))
                    value = None
                else:
                    value = copy.deepcopy(value, memo)
            setattr(new, name, value)
        return new

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
        return min(self._queued_bytes, self.stack.params.sndbuf_bytes)

    @property
    def send_queue_bytes(self) -> int:
        """The part Redis keeps in its own buffer because the socket is full (``link->sndbuf``,
        what ``CLUSTER LINKS`` shows and ``cluster-link-sendbuf-limit`` checks)."""
        return self._queued_bytes - self.socket_bytes

    def send(self, message: object, size_bytes: int) -> None:
        """``clusterSendMessage``: queue ``message``; it goes out in order behind the rest.

        On a broken link (its error not yet handled, e.g. by a process still reading
        what it buffered while paused) the bytes go nowhere, as a failing write does."""
        state = self.state
        if state == CLOSED:
            return
        queue = self._queue
        held = self._unacked and self._nagle  # Nagle: wait for the ACK of what is out
        if not queue and state == ESTABLISHED and not self._stalled and not held:
            self._send_now(_Segment(message, size_bytes))
            return
        if isinstance(queue, tuple):
            queue = self._queue = []
        queue.append(_Segment(message, size_bytes))
        self._queued_bytes += size_bytes
        if state == ESTABLISHED and not self._stalled and not held:
            self._push()

    def _send_now(self, segment: _Segment) -> None:
        """:meth:`send` and :meth:`_push` for the common case, one segment on an idle
        established link: the same steps, without a queue list for it."""
        self._queued_bytes += segment.size
        stack = self.stack
        engine = stack.engine
        now = engine.now
        segment.sent = now
        delay = stack.path_delay(self.local, self.remote)
        if delay is None:  # cut or lost: it waits for the retransmission
            self._queue = [segment]
            self._stall()
            return
        self._stalled = False
        self._rto = self._rto_base  # an ACK of new data resets the backoff
        arrival = now + delay
        if arrival < self._last_arrival:
            arrival = self._last_arrival
        self._last_arrival = arrival
        in_flight = self._in_flight
        if isinstance(in_flight, list):
            in_flight.append(segment)
        else:
            self._in_flight = [segment]
        engine.schedule(arrival - now, self._arrive, self._epoch)
        self._sent_data(arrival - now)

    def close(self, reason: str) -> None:
        """``freeClusterLink``: what the link held is lost; the peer reads EOF if it can."""
        if self.freed:
            return
        self.freed = True
        self.stack.trace_freed(self, reason)
        if self.state == CLOSED:
            return  # already broken by the peer; its error will not be reported now
        peer = self.peer
        self.discard()
        if peer is not None and peer.state != CLOSED:
            delay = self.stack.path_delay(self.local, self.remote)
            if delay is not None:  # else the peer learns at its next send (RST)
                self.stack.engine.schedule(delay, peer.broken, "closed")

    def keepalive(self, interval_s: int) -> None:
        """``connKeepAlive`` → ``anetKeepAlive``: after ``interval_s`` without hearing from
        the peer, probe every ``interval_s // 3`` s; ``TCP_KEEPCNT`` (3) unanswered probes
        and the connection times out. Redis sets it on accepted bus links with 2·NT
        (``clusterAcceptHandler``)."""
        engine = self.stack.engine
        ka = self._ka
        if ka is None:
            ka = self._ka = _Keepalive(interval_s, engine.now)
        else:
            ka.interval_s, ka.heard = interval_s, engine.now
            engine.cancel(ka.timer)
        ka.timer = engine.schedule(interval_s * 1000, self._keepalive)

    # ------------------------------------------------------------------ the kernel's side

    def established(self, peer: Link, rtt: int) -> None:
        """The handshake completed; the RTO starts at ``TCP_RTO_MIN`` plus the round trip."""
        self.state = ESTABLISHED
        self.peer = peer
        self._rto = self._rto_base = self.stack.params.rto_min_ms + rtt
        if self._ka is not None:
            self._ka.heard = self.stack.engine.now

    def flush(self) -> None:
        """Send what was written while connecting (the connect handler runs after it)."""
        if self._queue and self.state == ESTABLISHED and not self._stalled:
            self._push()

    def discard(self) -> None:
        """The socket is gone: timers stop, what it held is lost."""
        self.state = CLOSED
        self._epoch += 1
        timer = self._timer  # Engine.cancel, inlined: most sockets have no timer left
        if timer is not None:
            timer.cancelled = True
            self._timer = None
        timer = self._delack
        if timer is not None:
            timer.cancelled = True
            self._delack = None
        self._ack_due = self._unacked = False
        ka = self._ka
        if ka is not None and ka.timer is not None:
            ka.timer.cancelled = True
            ka.timer = None
        self._queue = self._in_flight = _IDLE
        self._queued_bytes = 0
        self.stack.forget(self)

    def broken(self, reason: str) -> None:
        """A RST (``reset``) or FIN (``closed``) from the peer arrived, or a timeout."""
        if self.state != CLOSED:
            self.discard()
            self.stack.notify(self, "error", reason)

    # ------------------------------------------------------------------ the byte stream

    def _push(self) -> None:
        """(Re)transmit everything queued as one burst, or stall until the next RTO."""
        stack = self.stack
        now = stack.engine.now
        for segment in self._queue:
            if segment.sent < 0:
                segment.sent = now
        delay = stack.path_delay(self.local, self.remote)
        if delay is None:  # cut or lost: it, and all behind it, wait for the retransmission
            self._stall()
            return
        self._stalled = False
        self._rto = self._rto_base  # an ACK of new data resets the backoff
        arrival = max(now + delay, self._last_arrival)
        self._last_arrival = arrival
        in_flight = self._in_flight
        if isinstance(in_flight, tuple):
            in_flight = self._in_flight = []
        for segment in self._queue:
            in_flight.append(segment)
            stack.engine.schedule(arrival - now, self._arrive, self._epoch)
        self._queue = _IDLE
        self._sent_data(arrival - now)

    def _stall(self) -> None:
        self._stalled = True
        if self._timer is None:
            self._timer = self.stack.engine.schedule(self._rto, self._retransmit)

    def _retransmit(self) -> None:
        """The RTO timer (``tcp_retransmit_timer``): give up after ``tcp_retries2``, else
        retransmit; a retransmission that does not get through doubles the RTO."""
        self._timer = None
        if self.state != ESTABLISHED or not self._queue:
            return
        params = self.stack.params
        elapsed = self.stack.engine.now - self._queue[0].sent
        if elapsed >= params.give_up_after_ms(params.retries2, params.rto_min_ms):
            self.broken("timeout")
            return
        self._rto = min(self._rto * 2, params.rto_max_ms)
        self._push()

    def _arrive(self, epoch: int) -> None:
        """The head in-flight segment reaches the peer's host."""
        if epoch != self._epoch or self.state != ESTABLISHED:
            return
        stack = self.stack
        peer = self.peer
        if not stack.reachable(self.local, self.remote):  # cut while on the wire
            self._take_back()
            return
        state = stack.process_state(self.remote)
        if peer is None or peer.state == CLOSED or state == CRASHED:
            # No socket at the other end any more: its kernel answers RST.
            delay = stack.path_delay(self.remote, self.local)
            if delay is None:
                self._take_back()  # the RST is lost too; the next retransmission retries
            else:
                stack.engine.schedule(delay, self.broken, "reset")
            return
        in_flight = self._in_flight
        assert isinstance(in_flight, list)
        segment = in_flight.pop(0)
        if not in_flight:
            self._in_flight = _IDLE
        self._queued_bytes -= segment.size
        now = stack.engine.now
        ka = self._ka  # data one way, its ACK the other: both ends heard from each other
        if ka is not None:
            ka.heard, ka.probes = now, 0
        ka = peer._ka
        if ka is not None:
            ka.heard, ka.probes = now, 0
        if stack.bus_tap is not None:  # bus_message tracing (off: this check only)
            stack.bus_tap(self, segment.sent, segment.message)
        if not self._nagle:
            stack.deliver(peer, segment.message, state)
            return
        peer._lrcv = now
        peer._ack_due = True
        stack.deliver(peer, segment.message, state)  # a reply on ``peer`` carries the ACK
        if peer._ack_due and not self._in_flight and peer.state == ESTABLISHED:
            # The ACK's way back: half the handshake's round trip (no latency draw).
            peer._owe_ack((self._rto_base - stack.params.rto_min_ms) // 2)

    # ------------------------------------------------------------------ Nagle, delayed ACKs

    def _sent_data(self, delay: int) -> None:
        """Data just went out ``delay`` ms from the peer: on a Nagle link it is now
        unacknowledged; on the receiving end it carries the ACK owed (piggybacked), and
        data sent within TCP_ATO_MIN of the last arrival is pingpong mode
        (``tcp_event_data_sent`` → ``inet_csk_inc_pingpong_cnt``, threshold 1)."""
        if self._nagle:
            self._unacked = True
            return
        if self._lrcv < 0:
            return
        now = self.stack.engine.now
        if now - self._lrcv < self.stack.params.ato_min_ms:
            self._pingpong = True
        if self._ack_due:
            self._ack_due = False
            self.stack.engine.cancel(self._delack)
            self._delack = None
            peer = self.peer
            if peer is not None:
                self.stack.engine.schedule(delay, peer._acked)

    def _owe_ack(self, delay: int) -> None:
        """A burst from a Nagle peer arrived and nothing went back with it: ACK at once
        (quickack; ``tcp_cleanup_rbuf`` ACKs a small pushed segment when read outside
        pingpong mode), or in pingpong mode after the delayed-ACK timer."""
        if not self._pingpong:
            self._ack_due = False
            peer = self.peer
            if peer is not None:
                self.stack.engine.schedule(delay, peer._acked)
        elif self._delack is None:
            self._delack = self.stack.engine.schedule(
                self.stack.params.delack_ms, self._delack_timer, delay
            )

    def _delack_timer(self, delay: int) -> None:
        """``tcp_delack_timer_handler``: the ACK goes out alone, and a socket in pingpong
        mode leaves it (the next small segment is ACKed at once)."""
        self._delack = None
        if self.state != ESTABLISHED or not self._ack_due:
            return
        self._ack_due = False
        self._pingpong = False
        peer = self.peer
        if peer is not None:
            self.stack.engine.schedule(delay, peer._acked)

    def _acked(self) -> None:
        """The ACK of everything sent reached this (Nagle) end: what Nagle held goes out."""
        if self.state != ESTABLISHED or not self._unacked:
            return
        self._unacked = False
        if self._queue and not self._stalled:
            self._push()

    def _take_back(self) -> None:
        """In-flight segments go back to the head of the queue, to be retransmitted."""
        self._epoch += 1
        self._queue = [*self._in_flight, *self._queue]
        self._in_flight = _IDLE
        self._stall()

    def _keepalive(self) -> None:
        """``tcp_keepalive_timer``: idle only when nothing waits to be (re)transmitted."""
        ka = self._ka
        assert ka is not None  # the timer is only set with it
        ka.timer = None
        if self.state != ESTABLISHED:
            return
        stack = self.stack
        now = stack.engine.now
        idle_ms = ka.interval_s * 1000
        interval_ms = max(1, ka.interval_s // 3) * 1000  # TCP_KEEPINTVL
        elapsed = now - ka.heard
        if self._queue or self._in_flight or elapsed < idle_ms:
            wait = idle_ms - elapsed if elapsed < idle_ms else idle_ms
            ka.timer = stack.engine.schedule(wait, self._keepalive)
            return
        if ka.probes >= stack.params.keepalive_probes:
            self.broken("timeout")
            return
        out = stack.path_delay(self.local, self.remote)
        back = stack.path_delay(self.remote, self.local) if out is not None else None
        if out is not None and back is not None:
            peer = self.peer
            if peer is None or peer.state == CLOSED or stack.process_state(self.remote) == CRASHED:
                stack.engine.schedule(out + back, self.broken, "reset")
                return
            ka.heard = now  # the peer's kernel ACKed the probe (even if SIGSTOPped)
            ka.probes = 0
            ka.timer = stack.engine.schedule(idle_ms, self._keepalive)
            return
        ka.probes += 1
        ka.timer = stack.engine.schedule(interval_ms, self._keepalive)
