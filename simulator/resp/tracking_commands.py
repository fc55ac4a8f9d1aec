"""``CLIENT TRACKING`` and ``CLIENT TRACKINGINFO`` for real clients (redis-rules §27).

``clientCommand``'s parsing and checks (networking.c), then ``enableTracking`` /
``disableTracking`` on the node's :class:`~simulator.dataplane.tracking.TrackingTable`
under the client's model key. After a read-only command the keys are remembered
(``trackingRememberKeys``, :func:`remember`). The invalidations travel as the data
plane's ``invalidation`` trace events; the RESP front pushes them on the connection
as ``>2 invalidate [keys]`` (a null for a flush) to RESP3 clients: a RESP2 client gets
nothing without ``REDIRECT`` (``sendTrackingMessage``).

Simplified: ``REDIRECT``, ``OPTIN``, ``OPTOUT`` and ``NOLOOP`` are refused with a
message saying so (the table does not model them).
"""

from __future__ import annotations

from simulator.dataplane import client_tracking
from simulator.dataplane.routing import CommandError, parse_command
from simulator.dataplane.tracking import BCAST, DEFAULT
from simulator.resp.client import Outcome
from simulator.resp.context import Context
from simulator.resp.protocol import OK, Error, Map

ERR_SYNTAX = "ERR syntax error"
ERR_PREFIX_NEEDS_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
ERR_SWITCH_BCAST = (
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
    "and then re-enabling it with a different mode."
)
UNMODELLED = ("redirect", "optin", "optout", "noloop")


def _error(text: str) -> Outcome:
    return Outcome([Error(text)])


def tracking(ctx: Context, argv: list[str]) -> Outcome:
    """``CLIENT TRACKING (ON|OFF) [BCAST] [PREFIX p ...]``."""
    bcast = False
    prefixes: list[str] = []
    j = 3
    while j < len(argv):
        word = argv[j].lower()
        more = len(argv) - 1 - j
        if word == "bcast":
            bcast = True
        elif word == "prefix" and more:
            j += 1
            prefixes.append(argv[j])
        elif word in UNMODELLED:
            return _error(f"ERR CLIENT TRACKING {word.upper()} is not modelled by rcsim")
        else:
            return _error(ERR_SYNTAX)
        j += 1
    table = client_tracking.table(ctx.dp, ctx.node)
    key = ctx.client.key
    switch = argv[2].lower()
    if switch == "off":
        table.disconnect(key)
        return Outcome([OK])
    if switch != "on":
        return _error(ERR_SYNTAX)
    if prefixes and not bcast:
        return _error(ERR_PREFIX_NEEDS_BCAST)
    current = table.clients.get(key)
    if current is not None and (current.mode == BCAST) != bcast:
        return _error(ERR_SWITCH_BCAST)
    if bcast:
        collision = _collision(current.prefixes if current is not None else (), prefixes)
        if collision is not None:
            return _error(collision)
        kept = current.prefixes if current is not None and current.prefixes != ("",) else ()
        merged = tuple(dict.fromkeys((*kept, *prefixes)))
        table.enable(key, BCAST, merged)
    else:
        table.enable(key, DEFAULT)
    return Outcome([OK])


def _collision(existing: tuple[str, ...], new: list[str]) -> str | None:
    """``checkPrefixCollisionsOrReply``'s messages."""
    for i, prefix in enumerate(new):
        for old in existing:
            if old and (old.startswith(prefix) or prefix.startswith(old)):
                return (
                    f"ERR Prefix '{prefix}' overlaps with an existing prefix '{old}'. "
                    "Prefixes for a single client must not overlap."
                )
        for other in new[i + 1 :]:
            if other.startswith(prefix) or prefix.startswith(other):
                return (
                    f"ERR Prefix '{prefix}' overlaps with another provided prefix '{other}'. "
                    "Prefixes for a single client must not overlap."
                )
    return None


def trackinginfo(ctx: Context) -> Outcome:
    """``CLIENT TRACKINGINFO``: flags, redirect (0 on, -1 off), prefixes."""
    tracking = ctx.dp.data(ctx.node).tracking
    current = None if tracking is None else tracking.clients.get(ctx.client.key)
    if current is None:
        return Outcome([Map((("flags", ["off"]), ("redirect", -1), ("prefixes", [])))])
    flags = ["on", "bcast"] if current.mode == BCAST else ["on"]
    prefixes = [p for p in current.prefixes if p] if current.mode == BCAST else []
    return Outcome([Map((("flags", flags), ("redirect", 0), ("prefixes", prefixes)))])


def remember(ctx: Context, argv: list[str]) -> None:
    """``call()`` after a read-only command: ``trackingRememberKeys`` (default mode)."""
    tracking = ctx.dp.data(ctx.node).tracking
    if tracking is None or not tracking.tracking(ctx.client.key):
        return
    try:
        request = parse_command(tuple(argv))
    except CommandError:
        return
    pubsub = "SUBSCRIBE" in request.name or request.name.endswith("PUBLISH")
    if request.keys and not request.spec.write and not pubsub:  # CMD_PUBSUB: not tracked
        tracking.remember(ctx.client.key, tuple(request.keys))
