"""Every host's TCP stack: connects and their SYN retransmissions, and what the process
is told, when.

Redis's cluster bus is TCP (§4.1), and what a node sees after a partition heals is what
Linux does with the connections the partition cut. A non-blocking connect to an
unreachable host keeps retransmitting its SYN (``tcp_syn_retries`` 6 after
``tcp_syn_linear_timeouts`` 4 at a steady 1 s: at 1, 2, 3, 4, 5, 7, 11, 19, 35 and
67 s, ETIMEDOUT at 131 s; see :class:`~simulator.links.linux.LinuxTcp`) and completes
at the first retransmission after the heal; a connect to a host whose process is gone meets a closed
port and is refused (RST) after one round trip. The byte stream of an established
connection is :mod:`simulator.links.link`.

The stack sees the world through callables (who can reach whom, what state a process is
in, how long a packet takes, where trace events go) and the engine; each host attaches
a :class:`LinkHandler` (the node) that the stack calls back, as Redis's event loop calls
``clusterLinkConnectHandler``, ``clusterAcceptHandler`` and ``clusterReadHandler``. A
SIGSTOPped process is told nothing until :meth:`TcpNet.host_resumed`: its kernel still
completes handshakes and ACKs bytes, and the process handles what it buffered, in
arrival order, when it runs again. What the model simplifies: ``docs/tcp-links.md``.
"""

from __future__ import annotations

from collections.abc import Callable

from simulator.engine import Engine
from simulator.links.link import Link, LinkHandler
from simulator.links.linux import (
    BUS,
    CLOSED,
    CONNECTING,
    CRASHED,
    LINUX,
    PAUSED,
    RUNNING,
    Emit,
    Latency,
    LinuxTcp,
    ProcessState,
    Reachable,
)
from simulator.native import mypyc_attr

_FREED_REASON = {"refused": "refused", "failed": "timeout"}  # link_freed's reason, by event


@mypyc_attr(allow_interpreted_subclasses=True)
class TcpNet:
    """Every host's TCP stack, over the network the callables describe.

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
        self._handlers: dict[tuple[str, str], LinkHandler] = {}  # (host, service) -> handler
        # host -> its sockets in creation order, closed ones included until they are half
        # the list (a list costs 8 bytes a socket, an ordered dict ~36: 2,000 nodes have
        # 8 million sockets). A socket is live while not CLOSED: only discard() closes one,
        # and it then calls forget().
        self._open: dict[str, list[Link]] = {}
        self._closed: dict[str, int] = {}  # host -> closed sockets still in its list
        self._held: dict[str, list[tuple[Link, str, object]]] = {}  # a paused host's input
        self._refused: dict[tuple[str, str], int] = {}  # (src, dst) -> refusals in a row
        self.bus_tap: Callable[[Link, int, object], None] | None = None  # bus_trace.BusTap

    def attach(self, host: str, handler: LinkHandler, service: str = BUS) -> None:
        """``host`` listens on ``service``'s port; ``handler`` is called for its sockets."""
        self._handlers[(host, service)] = handler

    def links(self, host: str) -> list[Link]:
        """The sockets ``host`` has open (connecting or established), oldest first."""
        return [link for link in self._open.get(host, ()) if link.state != CLOSED]

    # ------------------------------------------------------------------ connect

    def connect(
        self, src: str, dst: str, service: str = BUS, handler: LinkHandler | None = None
    ) -> Link:
        """``connConnect``, non-blocking: the link exists at once and may be written to
        (its messages go out when it is established); the outcome comes by callback, to
        ``handler`` or else to the one ``src`` attached for ``service``."""
        if handler is None:
            handler = self._handlers[(src, service)]
        link = Link(self, src, dst, handler, True, service)
        sockets = self._open.get(src)
        if sockets is None:
            self._open[src] = [link]
        else:
            sockets.append(link)
        if service == BUS and (src, dst) not in self._refused:
            self.emit("link_connect", src, dst)
        self._send_syn(link)
        return link

    def preconnected(
        self, src: str, dst: str, service: str = BUS, handler: LinkHandler | None = None
    ) -> Link:
        """A connection already up when the simulation starts (the converged start state
        ``cluster.py`` builds): no handshake, no callbacks, no trace. ``src``'s end."""
        if handler is None:
            handler = self._handlers[(src, service)]
        link = Link(self, src, dst, handler, outbound=True, service=service)
        inbound = Link(self, dst, src, self._handlers[(dst, service)], False, service)
        link.established(inbound, 0)
        inbound.established(link, 0)
        # PINGs have been answered on it for seconds: the receiving end is in pingpong
        # mode (the delayed-ACK rule of simulator.links.link, §4.5).
        inbound._pingpong = True
        self._open.setdefault(src, []).append(link)
        self._open.setdefault(dst, []).append(inbound)
        return link

    def _send_syn(self, link: Link) -> None:
        """Send (or retransmit) ``link``'s SYN; its answer, decided now, comes a round trip
        later, and the RTO timer retransmits it if none comes first.

        The timer is only scheduled when it could fire: an answer due before it ends the
        connect (established, refused) or finds the link already discarded, which would
        have cancelled the timer, so an answer due strictly before the RTO makes it moot.
        A dead peer is reconnected every cron tick (``clusterCron``), and every connect
        is refused a round trip later: without the moot timer each costs one event, not
        two (a cancelled timer never runs or counts, so the run is the same)."""
        src, dst = link.local, link.remote
        engine = self.engine
        reachable, latency = self.reachable, self.latency  # path_delay, inlined twice
        there = latency(src, dst) if reachable(src, dst) else None
        if there is None:  # DROPped or lost: retransmitted at the next RTO
            link._timer = engine.schedule(link._rto, self._syn_timeout, link)
            return
        # The peer's kernel answers even when the process is paused; a closed port, RST.
        refused = (dst, link.service) not in self._handlers or self.process_state(dst) == CRASHED
        back = latency(dst, src) if reachable(dst, src) else None
        if back is None:  # the answer is lost: the next SYN tries again
            link._timer = engine.schedule(link._rto, self._syn_timeout, link)
            return
        rtt = there + back
        if rtt >= link._rto:  # the timer comes first (or first in the same ms)
            link._timer = engine.schedule(link._rto, self._syn_timeout, link)
        if refused:
            engine.schedule(rtt, self._syn_refused, link)
        else:
            engine.schedule(rtt, self._syn_accepted, link, rtt)

    def _syn_timeout(self, link: Link) -> None:
        """The SYN's RTO timer (``tcp_retransmit_timer`` in SYN_SENT): give up
        (ETIMEDOUT), or retransmit, the RTO doubling once past the linear ones."""
        link._timer = None
        if link.state != CONNECTING:
            return
        params = self.params
        if params.syn_expired(link.syn_retries, self.engine.now - link.ctime):
            link.discard()
            self.notify(link, "failed", None)
            return
        link.syn_retries += 1
        if link.syn_retries > params.syn_linear_timeouts:
            link._rto = min(link._rto * 2, params.rto_max_ms)
        self._send_syn(link)

    def _syn_refused(self, link: Link) -> None:
        """RST to the SYN (a closed port): ``ECONNREFUSED``, the link is freed.

        :meth:`notify` and :meth:`_dispatch` of ``refused``, inlined for a running
        process with nothing buffered (a reconnect storm to dead peers is mostly this)."""
        if link.state != CONNECTING:
            return  # freed meanwhile, or a second answer to a retransmitted SYN
        link.discard()
        host = link.local
        if self.process_state(host) != RUNNING or host in self._held:
            self.notify(link, "refused", None)
            return
        if link.freed:
            return
        link.freed = True
        self.trace_freed(link, "refused")
        link.handler.on_refused(link)

    def _syn_accepted(self, link: Link, rtt: int) -> None:
        """SYN-ACK: the connection is established at both ends."""
        if link.state != CONNECTING:
            return  # freed meanwhile, or a second answer to a retransmitted SYN
        self.engine.cancel(link._timer)
        link._timer = None
        acceptor = self._handlers[(link.remote, link.service)]
        inbound = Link(self, link.remote, link.local, acceptor, False, link.service)
        link.established(inbound, rtt)
        inbound.established(link, rtt)
        self._open.setdefault(inbound.local, []).append(inbound)
        self.notify(inbound, "accepted", None)
        self.notify(link, "established", None)

    # ------------------------------------------------------------------ host events

    def host_crashed(self, host: str, fin: bool = True) -> None:
        """The process died: its kernel closes every socket (peers it can reach read
        EOF; the others get RST at their next send) and drops its unread input.
        ``fin`` False: the host lost power, nothing goes out; peers learn when their
        next packet is answered by RST (the restarted kernel) or not at all."""
        self._held.pop(host, None)
        for key in [key for key in self._refused if key[0] == host]:
            del self._refused[key]  # a new process: its first connects are traced again
        for link in self.links(host):
            peer = link.peer
            link.freed = True
            link.discard()
            if fin and peer is not None and peer.state != CLOSED:
                delay = self.path_delay(host, link.remote)
                if delay is not None:
                    self.engine.schedule(delay, peer.broken, "closed")

    def host_resumed(self, host: str) -> None:
        """SIGCONT: the process handles what its kernel buffered, in arrival order."""
        held = self._held.pop(host, [])
        for index, (link, what, arg) in enumerate(held):
            if self.process_state(host) != RUNNING:  # paused or killed by what it handled
                if self.process_state(host) == PAUSED:
                    self._held[host] = held[index:] + self._held.get(host, [])
                return
            self._dispatch(link, what, arg)

    # ------------------------------------------------------------------ for the sockets

    def path_delay(self, src: str, dst: str) -> int | None:
        """A packet's delay from ``src`` to ``dst``, or ``None`` if it never arrives."""
        if not self.reachable(src, dst):
            return None
        return self.latency(src, dst)

    def forget(self, link: Link) -> None:
        """``link`` is closed: no longer one of its host's open sockets."""
        host = link.local
        sockets = self._open.get(host)
        if sockets is None:
            return
        closed = self._closed.get(host, 0) + 1
        if 2 * closed >= len(sockets):
            sockets[:] = [s for s in sockets if s.state != CLOSED]
            closed = 0
        self._closed[host] = closed

    def notify(self, link: Link, what: str, arg: object) -> None:
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

    def deliver(self, link: Link, message: object, state: str) -> None:
        """:meth:`notify` of a ``message`` for ``link``, whose process is known to be in
        ``state`` (the arrival just asked), without re-asking or dispatching by name."""
        if state != RUNNING:
            self.notify(link, "message", message)
            return
        if self._held and link.local in self._held:
            self.host_resumed(link.local)  # buffered input comes first
        if not link.freed:
            link.handler.on_message(link, message)

    def _dispatch(self, link: Link, what: str, arg: object) -> None:
        """Run the handler; events for a link its process already freed are moot, but a
        link the peer broke still delivers what came before the break."""
        if link.freed:
            return
        handler = link.handler
        if what == "message":
            handler.on_message(link, arg)
        elif what == "accepted":
            handler.on_accepted(link)
        elif what == "established":
            self._trace_end(link, None)
            link.flush()  # written while connecting: out before the connect handler's PING
            handler.on_established(link)
        else:
            link.freed = True
            self.trace_freed(link, _FREED_REASON.get(what) or str(arg))
            if what == "refused":
                handler.on_refused(link)
            elif what == "failed":
                handler.on_failed(link)
            else:
                handler.on_error(link, str(arg))

    # ------------------------------------------------------------------ the trace

    def trace_freed(self, link: Link, reason: str) -> None:
        """``link_freed`` for a bus link the node opened. Connects refused again and
        again (a dead peer, reconnected every cron tick) are traced once: the retries
        emit nothing until one ends otherwise, which carries ``after_refused``."""
        if not (link.outbound and link.service == BUS):
            return
        if reason == "refused":
            key = (link.local, link.remote)
            count = self._refused.get(key, 0)
            self._refused[key] = count + 1
            if count:
                return
        self._trace_end(link, reason)

    def _trace_end(self, link: Link, reason: str | None) -> None:
        """``link_established`` (``reason`` None) or ``link_freed``, ending a refused run."""
        if not (link.outbound and link.service == BUS):
            return
        fields: dict[str, object] = (
            {"syn_retries": link.syn_retries} if reason is None else {"reason": reason}
        )
        if reason != "refused":
            refused = self._refused.pop((link.local, link.remote), 0)
            if refused:
                fields["after_refused"] = refused
        kind = "link_established" if reason is None else "link_freed"
        self.emit(kind, link.local, link.remote, **fields)
