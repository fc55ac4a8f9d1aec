"""The command table of the RESP front: one real client's command on one simulated node.

:func:`dispatch` does what ``processCommand`` (src/server.c, 7.0) does before and
around a command, in its order: look the command up (``unknown command``, ``unknown
subcommand``), check arity, refuse non-pub/sub commands in RESP2's subscribed mode,
then run it. Commands on keys and channels go to the data plane's
:func:`~simulator.dataplane.server.execute` (routing with ``MOVED``/``ASK``/
``CROSSSLOT``/``CLUSTERDOWN``, ``NOREPLICAS``, the manual-failover client pause);
the connection, server and ``CLUSTER`` commands by
:mod:`simulator.resp.server_commands`, from the node's own state and view. Replies are typed values for :func:`~simulator.resp.protocol.encode`.

No sockets, no clock: the caller runs the simulation to the request's arrival time
first, so a reply depends only on that time and the commands before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from simulator.dataplane import replica_acks
from simulator.dataplane.expire_commands import lookup
from simulator.dataplane.routing import parse_command
from simulator.dataplane.server import (
    ERR_NOREPLICAS,
    ERR_UNBLOCKED,
    Reply,
    execute,
    route_on,
)
from simulator.dataplane.standalone_route import ERR_CLUSTER_DISABLED
from simulator.resp import tracking_commands
from simulator.resp.client import HELD, Blocked, ClientState, Outcome
from simulator.resp.command_table import (
    COMMANDS,
    arity_ok,
    subcommand,
    unknown_subcommand,
    wrong_arity,
)
from simulator.resp.context import ERR_NOT_INTEGER, ERR_SYNTAX, Context
from simulator.resp.context import error as _error
from simulator.resp.context import reply as _reply
from simulator.resp.protocol import OK, Error, Push
from simulator.resp.server_commands import HANDLERS
from simulator.slots import key_hash_slot

SUBSCRIBED_OK = frozenset(
    {"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"}
    | {"ping", "quit", "reset"}
)
ERR_UTF8 = "ERR rcsim models text values: arguments must be valid UTF-8"


def unknown_command(argv: Sequence[str]) -> str:
    """``processCommand``'s text: the name cut at 128, then quoted arguments until the
    list passes 128 characters (each cut to what is left of the 128)."""
    shown = ""
    for arg in argv[1:]:
        if len(shown) >= 128:
            break
        shown += f"'{arg[: 128 - len(shown)]}' "
    return f"ERR unknown command '{argv[0][:128]}', with args beginning with: {shown}"


def decode(argv: Sequence[bytes]) -> list[str] | None:
    """The arguments as text (the model's keys and values are strings), or None."""
    try:
        return [a.decode("utf-8") for a in argv]
    except UnicodeDecodeError:
        return None


def dispatch(ctx: Context, raw: Sequence[bytes]) -> Outcome:
    """Run one command (a non-empty argument list) from ``ctx.client`` on its node; the
    pass that read it then checks blocked clients' timeouts (``beforeSleep``, §20.3)."""
    outcome = _dispatch(ctx, raw)
    if ctx.node.pass_watch:
        ctx.dp.on_event_loop_pass(ctx.node)
    return outcome


def _dispatch(ctx: Context, raw: Sequence[bytes]) -> Outcome:
    argv = decode(raw)
    if argv is None:
        return _error(ERR_UTF8)
    client = ctx.client
    name = argv[0].lower()
    info = COMMANDS.get(name)
    if info is None:
        client.session.after_command("")
        return _error(unknown_command(argv))
    full = info.name
    if info.subcommands and len(argv) >= 2:
        sub = subcommand(info, argv[1])
        if sub is None:
            client.session.after_command("")
            return _error(unknown_subcommand(argv[1], argv[0]))
        info, full = sub, sub.name
    if not arity_ok(info.arity, len(argv)):
        if name != "asking":  # resetClient: a rejected command still ends ASKING
            client.session.after_command("")
        return _error(wrong_arity(full))
    if client.proto == 2 and client.subscribed and name not in SUBSCRIBED_OK:
        return _error(
            f"ERR Can't execute '{full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
            "QUIT / RESET are allowed in this context"
        )
    if name in CLUSTER_ONLY and not ctx.node.cluster_enabled:
        return _error(ERR_CLUSTER_DISABLED)  # §28.1
    if ctx.dp.data(ctx.node).busy:
        return HELD  # a blocking MIGRATE is running: requests wait for it (§16.2)
    client.last_command = full
    client.commands += 1
    handler = _HANDLERS.get(name)
    if handler is None:
        return _data(ctx, argv)  # execute keeps the session's woff
    outcome = handler(ctx, argv)
    if not outcome.hold:
        client.session.woff = ctx.node.repl.offset  # processCommand: c->woff after call()
    return outcome


# --------------------------------------------------------------------------- data plane


FLAG_COMMANDS = frozenset({"readonly", "readwrite", "asking"})
CLUSTER_ONLY = frozenset({"cluster", *FLAG_COMMANDS})


def _data(ctx: Context, argv: list[str], shown: str | None = None) -> Outcome:
    """A command the data plane models: route and run it on the node. Except for the
    connection flags, each answer is a ``request`` trace event and counts in the data
    plane's outcomes, as a simulated client's request does (``shown`` names the
    command the client sent when it runs as another)."""
    client = ctx.client
    dp, node = ctx.dp, ctx.node
    asking = client.session.asking
    reply = execute(dp, node, client.key, tuple(argv), client.session)
    if reply.outcome == "hold":
        return HELD
    if argv[0].lower() not in FLAG_COMMANDS and reply.outcome != "block":
        _request_event(ctx, shown or argv[0].upper(), argv, reply.outcome, reply, asking)
    if reply.outcome == "block":  # WAIT, too few ACKs yet: ask for them (§20.3)
        numreplicas, timeout, woff = reply.value
        deadline = replica_acks.block(dp, node, timeout)
        return Outcome(blocked=Blocked(numreplicas, deadline, woff))
    if reply.outcome != "ok":
        return _error(ctx.ports.text(reply.text))
    tracking_commands.remember(ctx, argv)  # CLIENT TRACKING: trackingRememberKeys
    name = argv[0].lower()
    if name in ("set", "mset", "readonly", "readwrite", "asking"):
        return _reply(OK)
    if name.endswith("subscribe"):
        return _subscriptions(client, reply.value)
    return _reply(reply.value)


def _request_event(
    ctx: Context, command: str, argv: list[str], outcome: str, reply: Any, asking: bool
) -> None:
    """The trace's ``request`` event for a real client (simulator/dataplane/clients.py
    ``Client._trace`` has the same fields; the latency counts from arrival)."""
    dp = ctx.dp
    dp.outcomes[outcome] = dp.outcomes.get(outcome, 0) + 1
    key = argv[1] if len(argv) > 1 and command not in ("PUBLISH", "WAIT") else None
    fields: dict[str, Any] = {
        "client": ctx.client.key,
        "command": command,
        "key": key,
        "slot": reply.slot,
        "outcome": outcome,
        "latency_ms": max(0, ctx.now - ctx.arrival) if ctx.arrival >= 0 else 0,
    }
    if outcome != "ok":
        fields["reply"] = ctx.ports.text(reply.text)
    if asking:
        fields["asking"] = True
    dp.emit("request", ctx.node_name, **fields)


def _subscriptions(client: ClientState, replies: list[tuple[str, str | None, int]]) -> Outcome:
    """One push per channel (RESP2: an array), and the client's mirror of its
    subscriptions kept in step (subscribed mode, pattern messages)."""
    out: list[Any] = []
    for kind, channel, count in replies:
        if kind in ("ssubscribe", "sunsubscribe"):
            table = client.shard_channels
        elif kind in ("psubscribe", "punsubscribe"):
            table = client.patterns
        else:
            table = client.channels
        if channel is not None:
            if "unsubscribe" in kind:
                table.pop(channel, None)
            else:
                table[channel] = None
        out.append(Push((kind, channel, count)))
    return Outcome(out)


def wait_reply(ctx: Context, blocked: Blocked) -> Outcome | None:
    """WAIT's reply once enough replicas ACKed (``processClientsWaitingReplicas``), or
    once an event-loop pass of the node came after the timeout, as for simulated clients
    (``clients.event_loop_pass``); else None. On a node that became a replica meanwhile,
    ``disconnectAllBlockedClients``: an error, and the connection closes."""
    node = ctx.node
    if not node.is_master:
        return Outcome([Error(ERR_UNBLOCKED)], close=True)
    count = ctx.dp.acked_replicas(node, blocked.offset)
    if count >= blocked.numreplicas:
        return _reply(count)
    deadline = blocked.deadline_ms
    if deadline is None or ctx.dp.data(node).last_pass <= deadline:
        return None
    return _reply(count)


def _set(ctx: Context, argv: list[str]) -> Outcome:
    """SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
    (``parseExtendedStringArgumentsOrReply``, ``setGenericCommand``). The expiry goes
    to the data plane with the value (§26.1); NX, XX and GET are decided here."""
    nx = xx = get = keepttl = False
    expire: str | None = None
    ttl_args: list[str] = []
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        has_next = j + 1 < len(argv)
        if opt == "nx" and not xx:
            nx = True
        elif opt == "xx" and not nx:
            xx = True
        elif opt == "get":
            get = True
        elif opt == "keepttl" and expire is None:
            keepttl = True
            ttl_args = ["KEEPTTL"]
        elif opt in ("ex", "px", "exat", "pxat") and expire is None and not keepttl and has_next:
            expire = argv[j + 1]
            unit = opt
            ttl_args = [opt.upper(), expire]
            j += 1
        else:
            return _error(ERR_SYNTAX)
        j += 1
    if expire is not None:
        try:
            amount = int(expire)
        except ValueError:
            return _error(ERR_NOT_INTEGER)
        if amount <= 0 or (unit in ("ex", "exat") and amount > 2**63 // 1000):
            return _error("ERR invalid expire time in 'set' command")
    key, value = argv[1], argv[2]
    plain = ["SET", key, value, *ttl_args]
    if not (nx or xx or get):
        return _data(ctx, plain)
    refused = _write_refused(ctx, key, "SET")
    if refused is not None:
        return refused
    old = lookup(ctx.dp, ctx.node, key)  # lookupKeyWrite: an expired key is gone
    if (nx and old is not None) or (xx and old is None):
        asking = ctx.client.session.asking
        ctx.client.session.after_command("SET")
        unchanged = Reply("ok", "(nil)", slot=key_hash_slot(key))
        _request_event(ctx, "SET", argv, "ok", unchanged, asking)
        return _reply(old if get else None)
    outcome = _data(ctx, plain)
    if get and not outcome.hold and outcome.replies == [OK]:
        return _reply(old)
    return outcome


def _write_refused(ctx: Context, key: str, shown: str) -> Outcome | None:
    """What ``execute`` would answer a write of ``key`` before running it (a redirect,
    NOREPLICAS, or held by a client pause), or None when this node would run it: for
    writes the data plane has no form of (SET's conditions, INCRBY), which then run
    as the plain SET of their result (the data plane replicates results anyway)."""
    dp, node, session = ctx.dp, ctx.node, ctx.client.session
    request = parse_command(("SET", key, ""))
    route = route_on(dp, node, request, session)
    if not route.served:
        return _data(ctx, ["SET", key, ""], shown)  # the same redirect, answered by execute
    if node.is_master:
        needed = node.config.get("min-replicas-to-write")
        if needed and node.config.get("min-replicas-max-lag") and dp.good_replicas(node) < needed:
            session.after_command("SET")
            return _error(ERR_NOREPLICAS)
        if node.writes_paused():
            return HELD
    return None


def _incrby(ctx: Context, argv: list[str]) -> Outcome:
    """INCRBY / DECR / DECRBY (``incrDecrCommand``), run as the SET of the result."""
    name = argv[0].lower()
    if name == "decr":
        step = -1
    else:
        try:
            step = int(argv[2])
        except ValueError:
            return _error(ERR_NOT_INTEGER)
        if name == "decrby":
            if step == -(2**63):
                return _error("ERR decrement would overflow")
            step = -step
    key = argv[1]
    refused = _write_refused(ctx, key, argv[0].upper())
    if refused is not None:
        return refused
    current = lookup(ctx.dp, ctx.node, key)
    try:
        number = int(current or "0")
    except ValueError:
        return _error(ERR_NOT_INTEGER)
    if current is not None and current != str(number):
        return _error(ERR_NOT_INTEGER)
    result = number + step
    if not -(2**63) <= result < 2**63:
        return _error("ERR increment or decrement would overflow")
    keep = ["KEEPTTL"] if ctx.dp.data(ctx.node).expires else []  # INCRBY keeps the TTL
    outcome = _data(ctx, ["SET", key, str(result), *keep], shown=argv[0].upper())
    if outcome.replies == [OK]:
        return _reply(result)
    return outcome


_HANDLERS: dict[str, Callable[[Context, list[str]], Outcome]] = {
    "set": _set,
    "incrby": _incrby,
    "decr": _incrby,
    "decrby": _incrby,
    **HANDLERS,
}
