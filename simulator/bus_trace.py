"""The ``bus_message`` trace kind: every cluster-bus packet, traced where it arrives.

Off by default (headless traces stay small and the golden traces unchanged); the TUI
and ``rcsim run --trace-bus`` turn it on with :meth:`Simulation.set_bus_trace`, which
puts a :class:`BusTap` on the TCP stack. The only cost when off is one ``is not None``
check in :meth:`simulator.links.link.Link._arrive`, where a segment reaches the peer's
host. One event per packet, emitted at its arrival, carries the time it first went on
the wire (``sent``), so a diagram draws an arrow with its flight time. A packet lost
with its connection (RST, a freed link) is never traced: it never arrived.

Redis sends every packet with ``clusterSendMessage`` (src/cluster.c) and reads it whole
in ``clusterReadHandler``; the fields kept are the header's ``currentEpoch`` (the epoch
an AUTH_REQUEST asks votes for, and an AUTH_ACK grants, §9–§10), the FAIL/UPDATE
subject (``clusterMsgDataFail.nodename``, ``clusterMsgDataUpdate``) and the gossip
section (``clusterMsgDataGossip``: a name and its flags, §7).
"""

from __future__ import annotations

from typing import Any

from simulator.messages import FLAG_NAMES, Message, MsgType

BUS_MESSAGE = "bus_message"

_FLAG_TEXT: dict[int, str] = {}  # flags -> CLUSTER NODES words ("master,fail?")
_ENTRIES: dict[tuple[str, int], list[str]] = {}
"""One shared ``[name, flags words]`` list per (name, flags): a traced gossip section is
a list of references to them (8 bytes an entry instead of a 72-byte list and its
pointers: at 1,000 nodes a packet carries ~100 entries and the TUI traces every packet).
Nothing mutates a traced event; the JSON is the same."""


def flag_words(flags: int) -> str:
    """``flags`` as CLUSTER NODES prints them (§2.2): ``master,fail?``; ``noflags`` if none."""
    text = _FLAG_TEXT.get(flags)
    if text is None:
        text = ",".join(name for bit, name in FLAG_NAMES if flags & bit) or "noflags"
        _FLAG_TEXT[flags] = text
    return text


def _entry(name: str, flags: int) -> list[str]:
    entry = _ENTRIES[(name, flags)] = [name, flag_words(flags)]
    return entry


def message_fields(message: Message, sent: int) -> dict[str, Any]:
    """The event's own fields for ``message`` first transmitted at ``sent`` (fixed order)."""
    fields: dict[str, Any] = {
        "type": message.type.name,
        "sent": sent,
        "epoch": message.current_epoch,
    }
    if message.about is not None:
        fields["about"] = message.about
    if message.type == MsgType.UPDATE:
        fields["about_epoch"] = message.about_epoch
    if message.gossip:
        entries = _ENTRIES  # shared entries: the hot path of a 100-node bus
        fields["gossip"] = [
            entries.get((name, flags)) or _entry(name, flags)
            for name, _, _, flags in message.gossip
        ]
    if message.channel:
        fields["channel"] = message.channel
    return fields


class BusTap:
    """Called by the TCP stack with each bus packet that reaches its peer's host.

    Shared by every copy of the simulation (checkpoints copy the stack, not the tap),
    like the trace it writes to; the time is the arriving link's engine's."""

    __slots__ = ("trace",)

    def __init__(self, trace: Any) -> None:
        self.trace = trace

    def __deepcopy__(self, memo: dict[int, Any]) -> BusTap:
        return self

    def __call__(self, link: Any, sent: int, message: object) -> None:
        if isinstance(message, Message):
            self.trace.emit(
                link.stack.engine.now,
                BUS_MESSAGE,
                link.local,
                link.remote,
                **message_fields(message, sent),
            )
