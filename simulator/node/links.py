"""My bus sockets' events: what the event loop runs when a link connects, reads or breaks.

Redis registers ``clusterLinkConnectHandler`` on a connect, ``clusterAcceptHandler`` on
the bus port and ``clusterReadHandler`` on every link; :class:`LinkEvents` is those
handlers, as the TCP model (:class:`~simulator.links.TcpNet`) calls them back. Only my
outbound links (``node->link``) are in :attr:`links`; an inbound link carries the
peer's requests and my replies to them.
"""

from __future__ import annotations

from simulator.links import Link
from simulator.messages import MEET, Message, MsgType
from simulator.native import mypyc_attr
from simulator.node.nodes_conf import NodesConfFile


@mypyc_attr(allow_interpreted_subclasses=True)
class LinkEvents(NodesConfFile):
    """The :class:`~simulator.links.LinkHandler` of a node."""

    def on_established(self, link: Link) -> None:
        """``clusterLinkConnectHandler``: the connect completed; PING (or MEET) now."""
        self._connected(link)
        self._event_loop_pass()

    def _connected(self, link: Link) -> None:
        """The ping sent here must not reset a ping already pending, or failure detection
        would never time out a node whose links keep reconnecting."""
        if self.links.get(link.remote) is not link:
            return
        peer = self.peers.get(link.remote)
        if peer is None:
            return
        old_ping_sent = peer.ping_sent
        self.send_ping(peer, MsgType.MEET if peer.flags & MEET else MsgType.PING)
        if old_ping_sent:
            peer.ping_sent = old_ping_sent
            self._cron_watch(peer)  # an older ping: its PFAIL deadline is earlier
        peer.flags &= ~MEET

    def on_refused(self, link: Link) -> None:
        """The connect met a closed port (``handleLinkIOError``): the link is freed;
        ``ping_sent`` stays, so a ping queued on it still counts (PFAIL after NT)."""
        self._lost(link)
        self._event_loop_pass()

    def on_failed(self, link: Link) -> None:
        """The connect gave up after ``tcp_syn_retries`` (ETIMEDOUT): freed."""
        self._lost(link)
        self._event_loop_pass()

    def on_error(self, link: Link, reason: str) -> None:
        """The connection broke (RST, EOF, a timeout): ``freeClusterLink``."""
        self._lost(link)
        self._event_loop_pass()

    def on_accepted(self, link: Link) -> None:
        """``clusterAcceptHandler``: keepalive at 2·NT on the inbound link (``connKeepAlive``;
        below 1 s the setsockopt fails and Linux's 2-hour default stays)."""
        interval_s = self.config.node_timeout // 1000 * 2
        if interval_s > 0:
            link.keepalive(interval_s)
        self._event_loop_pass()

    def _event_loop_pass(self) -> None:
        """The ``beforeSleep`` after a socket event: blocked clients' timeouts (§20.3)."""
        if self.pass_watch:
            self.host.on_event_loop_pass(self)

    def on_message(self, link: Link, message: object) -> None:
        """``clusterReadHandler``: a whole packet, processed at once."""
        assert isinstance(message, Message)
        self.receive(message, link)

    def _lost(self, link: Link) -> None:
        if link.outbound and self.links.get(link.remote) is link:
            del self.links[link.remote]
            peer = self.peers.get(link.remote)
            if peer is not None:
                peer.link = False
                self._cron_watch(peer)  # reconnected at the next tick
