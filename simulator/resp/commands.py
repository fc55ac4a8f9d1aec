"""The command table of the RESP front: one real client's command on one simulated node.

:func:`dispatch` does what ``processCommand`` (src/server.c, 7.0) does before and
around a command, in its order: look the command up (``unknown command``, ``unknown
subcommand``), check arity, refuse non-pub/sub commands in RESP2's subscribed mode,
then run it. Commands on keys and channels go to the data plane's
:func:`~simulator.dataplane.server.execute` (routing with ``MOVED``/``ASK``/
``CROSSSLOT``/``CLUSTERDOWN``, ``NOREPLICAS``, the manual-failover client pause);
the connection, server and ``CLUSTER`` commands are answered here from the node's
own state and view. Replies are typed values for :func:`~simulator.resp.protocol.encode`.

No sockets, no clock: the caller runs the simulation to the request's arrival time
first, so a reply depends only on that time and the commands before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.dataplane.routing import get_node_by_query, parse_command
from simulator.dataplane.server import ERR_NOREPLICAS, View, execute
from simulator.introspection import unix_ms
from simulator.resp import cluster_commands
from simulator.resp.client import HELD, Blocked, ClientState, Outcome, PortMap
from simulator.resp.command_table import (
    COMMANDS,
    arity_ok,
    subcommand,
    unknown_subcommand,
    wrong_arity,
)
from simulator.resp.info import REDIS_VERSION, client_info_line, info_text, role_reply
from simulator.resp.protocol import OK, Error, Map, Push, Simple, Verbatim
from simulator.simulation import ActionError

if TYPE_CHECKING:
    from simulator.dataplane.model import ClusterData
    from simulator.node import Node
    from simulator.simulation import Simulation

SUBSCRIBED_OK = frozenset(
    {"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"}
    | {"ping", "quit", "reset"}
)
ERR_UTF8 = "ERR rcsim models text values: arguments must be valid UTF-8"
ERR_SYNTAX = "ERR syntax error"
ERR_NOT_INTEGER = "ERR value is not an integer or out of range"
ERR_CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters."


@dataclass(slots=True)
class Context:
    """Everything one command may read or change: the simulation, the node that
    received it (by name), the client, the address map and the node's other clients."""

    sim: Simulation
    node_name: str
    client: ClientState
    ports: PortMap
    clients: Sequence[ClientState]

    @property
    def dp(self) -> ClusterData:
        dp: ClusterData = self.sim.extras["dataplane"]
        return dp

    @property
    def node(self) -> Node:
        return self.sim.cluster.node(self.node_name)

    @property
    def now(self) -> int:
        return self.sim.now


def unknown_command(argv: Sequence[str]) -> str:
    """``processCommand``'s text: the name cut at 128, then quoted arguments until the
    list passes 128 characters (each cut to what is left of the 128)."""
    shown = ""
    for arg in argv[1:]:
        if len(shown) >= 128:
            break
        shown += f"'{arg[: 128 - len(shown)]}' "
    return f"ERR unknown command '{argv[0][:128]}', with args beginning with: {shown}"


def _reply(*values: Any) -> Outcome:
    return Outcome(list(values))


def _error(text: str) -> Outcome:
    return Outcome([Error(text)])


def decode(argv: Sequence[bytes]) -> list[str] | None:
    """The arguments as text (the model's keys and values are strings), or None."""
    try:
        return [a.decode("utf-8") for a in argv]
    except UnicodeDecodeError:
        return None


def dispatch(ctx: Context, raw: Sequence[bytes]) -> Outcome:
    """Run one command (a non-empty argument list) from ``ctx.client`` on its node."""
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
    if ctx.dp.data(ctx.node).busy:
        return HELD  # a blocking MIGRATE is running: requests wait for it (§16.2)
    client.last_command = full
    client.commands += 1
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(ctx, argv)
    return _data(ctx, argv)


# --------------------------------------------------------------------------- data plane


def _data(ctx: Context, argv: list[str]) -> Outcome:
    """A command the data plane models: route and run it on the node."""
    client = ctx.client
    dp, node = ctx.dp, ctx.node
    reply = execute(dp, node, client.key, tuple(argv), client.session)
    if reply.outcome == "hold":
        return HELD
    if reply.outcome == "block":
        numreplicas, timeout = reply.value
        deadline = None if timeout == 0 else ctx.now + timeout
        blocked = Blocked(numreplicas, deadline, client.last_offset)
        done = wait_reply(ctx, blocked)
        return Outcome(blocked=blocked) if done is None else done
    if reply.outcome != "ok":
        return _error(ctx.ports.text(reply.text))
    if reply.offset:
        client.last_offset = reply.offset
    name = argv[0].lower()
    if name in ("set", "mset", "readonly", "readwrite", "asking"):
        return _reply(OK)
    if name.endswith("subscribe"):
        return _subscriptions(client, reply.value)
    return _reply(reply.value)


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
    """WAIT's reply once enough replicas acknowledged or the timeout passed, else None
    (``processClientsWaitingReplicas``)."""
    count = ctx.dp.acked_replicas(ctx.node, blocked.offset)
    if count >= blocked.numreplicas or (
        blocked.deadline_ms is not None and ctx.now >= blocked.deadline_ms
    ):
        return _reply(count)
    return None


def _set(ctx: Context, argv: list[str]) -> Outcome:
    """SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
    (``parseExtendedStringArgumentsOrReply``, ``setGenericCommand``). Expiry is
    accepted and checked but not modelled: the key does not expire."""
    nx = xx = get = keepttl = False
    expire: str | None = None
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
        elif opt in ("ex", "px", "exat", "pxat") and expire is None and not keepttl and has_next:
            expire = argv[j + 1]
            unit = opt
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
    plain = ["SET", key, value]
    if not (nx or xx or get):
        return _data(ctx, plain)
    refused = _write_refused(ctx, key)
    if refused is not None:
        return refused
    old = ctx.dp.data(ctx.node).get(key)
    if (nx and old is not None) or (xx and old is None):
        ctx.client.session.after_command("SET")
        return _reply(old if get else None)
    outcome = _data(ctx, plain)
    if get and not outcome.hold and outcome.replies == [OK]:
        return _reply(old)
    return outcome


def _write_refused(ctx: Context, key: str) -> Outcome | None:
    """What ``execute`` would answer a write of ``key`` before running it (a redirect,
    NOREPLICAS, or held by a client pause), or None when this node would run it: for
    writes the data plane has no form of (SET's conditions, INCRBY), which then run
    as the plain SET of their result (the data plane replicates results anyway)."""
    dp, node, session = ctx.dp, ctx.node, ctx.client.session
    request = parse_command(("SET", key, ""))
    route = get_node_by_query(View(dp, node), request, session)
    if not route.served:
        return _data(ctx, ["SET", key, ""])  # the same redirect, answered by execute
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
    refused = _write_refused(ctx, key)
    if refused is not None:
        return refused
    current = ctx.dp.data(ctx.node).get(key)
    try:
        number = int(current or "0")
    except ValueError:
        return _error(ERR_NOT_INTEGER)
    if current is not None and current != str(number):
        return _error(ERR_NOT_INTEGER)
    result = number + step
    if not -(2**63) <= result < 2**63:
        return _error("ERR increment or decrement would overflow")
    outcome = _data(ctx, ["SET", key, str(result)])
    if outcome.replies == [OK]:
        return _reply(result)
    return outcome


# --------------------------------------------------------------------------- connection


def _ping(ctx: Context, argv: list[str]) -> Outcome:
    if ctx.client.subscribed and ctx.client.proto == 2:
        return _reply(["pong", argv[1] if len(argv) > 1 else ""])
    return _reply(argv[1] if len(argv) > 1 else Simple("PONG"))


def _echo(ctx: Context, argv: list[str]) -> Outcome:
    return _reply(argv[1])


def _quit(ctx: Context, argv: list[str]) -> Outcome:
    return Outcome([OK], close=True)


def _valid_name(name: str) -> bool:
    """``validateClientName``: printable ASCII without spaces."""
    return all("!" <= c <= "~" for c in name)


def _hello(ctx: Context, argv: list[str]) -> Outcome:
    """``helloCommand``: switch protocol, then reply the server's map."""
    client = ctx.client
    proto = client.proto
    if len(argv) >= 2:
        try:
            proto = int(argv[1])
        except ValueError:
            return _error("ERR Protocol version is not an integer or out of range")
        if proto < 2 or proto > 3:
            return _error("NOPROTO unsupported protocol version")
    name: str | None = None
    j = 2
    while j < len(argv):
        more = len(argv) - j - 1
        opt = argv[j].lower()
        if opt == "auth" and more >= 2:
            if argv[j + 1] != "default":
                return _error("WRONGPASS invalid username-password pair or user is disabled.")
            j += 3
        elif opt == "setname" and more >= 1:
            name = argv[j + 1]
            if not _valid_name(name):
                return _error(ERR_CLIENT_NAME)
            j += 2
        else:
            return _error(f"ERR Syntax error in HELLO option '{argv[j]}'")
    if name is not None:
        client.name = name
    client.proto = proto
    node = ctx.node
    return _reply(
        Map(
            (
                ("server", "redis"),
                ("version", REDIS_VERSION),
                ("proto", proto),
                ("id", client.id),
                ("mode", "cluster"),
                ("role", "master" if node.is_master else "replica"),
                ("modules", []),
            )
        )
    )


def _auth(ctx: Context, argv: list[str]) -> Outcome:
    if len(argv) == 2:
        return _error(
            "ERR AUTH <password> called without any password configured for the default "
            "user. Are you sure your configuration is correct?"
        )
    if len(argv) > 3:
        return _error(ERR_SYNTAX)
    if argv[1] != "default":
        return _error("WRONGPASS invalid username-password pair or user is disabled.")
    return _reply(OK)


def _select(ctx: Context, argv: list[str]) -> Outcome:
    try:
        db = int(argv[1])
    except ValueError:
        return _error(ERR_NOT_INTEGER)
    if db != 0:
        return _error("ERR SELECT is not allowed in cluster mode")
    return _reply(OK)


def _client(ctx: Context, argv: list[str]) -> Outcome:
    client = ctx.client
    sub = argv[1].lower()
    if sub == "id":
        return _reply(client.id)
    if sub == "getname":
        return _reply(client.name or None)
    if sub == "setname":
        if not _valid_name(argv[2]):
            return _error(ERR_CLIENT_NAME)
        client.name = argv[2]
        return _reply(OK)
    if sub == "info":
        return _reply(Verbatim(client_info_line(client, ctx.now, "client|info")))
    if sub == "list":
        if len(argv) > 2:
            return _error(ERR_SYNTAX)
        lines = "".join(
            client_info_line(c, ctx.now, "client|list" if c is client else c.last_command)
            for c in ctx.clients
        )
        return _reply(Verbatim(lines))
    return _reply(
        [
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "LIST",
            "    Return information about client connections.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "HELP",
            "    Print this help.",
        ]
    )


# --------------------------------------------------------------------------- server


def _shutdown(ctx: Context, argv: list[str]) -> Outcome:
    """``SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]``: the node stops gracefully
    (the ``shutdown`` action: no failover is triggered, peers notice after NT, §21.3);
    the connection closes without a reply, as Redis's does."""
    options = [a.lower() for a in argv[1:]]
    if any(o not in ("nosave", "save", "now", "force", "abort") for o in options) or (
        "nosave" in options and "save" in options
    ):
        return _error(ERR_SYNTAX)
    if "abort" in options:
        if len(options) > 1:
            return _error(ERR_SYNTAX)
        return _error("ERR No shutdown in progress.")
    try:
        ctx.sim.inject("shutdown", node=ctx.node_name)
    except ActionError as error:
        return _error(f"ERR {error}")
    return Outcome(close=True)


def _pubsub(ctx: Context, argv: list[str]) -> Outcome:
    """``PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB`` on this node only
    (Redis does not aggregate over the cluster; channel lists sorted here)."""
    registry = ctx.dp.data(ctx.node).pubsub
    sub = argv[1].lower()
    pattern = argv[2] if len(argv) > 2 else None
    if sub in ("channels", "shardchannels"):
        if len(argv) > 3:
            return _error(wrong_arity(f"pubsub|{sub}"))
        listing = registry.channels if sub == "channels" else registry.shard_channels
        return _reply(listing(pattern))
    if sub == "numpat":
        return _reply(registry.numpat())
    if sub in ("numsub", "shardnumsub"):
        count = registry.numsub if sub == "numsub" else registry.shard_numsub
        flat: list[Any] = []
        for channel in argv[2:]:
            flat += [channel, count(channel)]
        return _reply(flat)
    return _reply(
        [
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "NUMPAT",
            "NUMSUB [<channel> ...]",
            "SHARDCHANNELS [<pattern>]",
            "SHARDNUMSUB [<shardchannel> ...]",
            "HELP",
            "    Print this help.",
        ]
    )


def _info(ctx: Context, argv: list[str]) -> Outcome:
    text = info_text(ctx.dp, ctx.node, ctx.ports, len(ctx.clients), argv[1:])
    return _reply(Verbatim(text))


def _role(ctx: Context, argv: list[str]) -> Outcome:
    return _reply(role_reply(ctx.dp, ctx.node, ctx.ports))


def _dbsize(ctx: Context, argv: list[str]) -> Outcome:
    return _reply(len(ctx.dp.data(ctx.node).keys))


def _time(ctx: Context, argv: list[str]) -> Outcome:
    ms = unix_ms(ctx.now)
    return _reply([str(ms // 1000), str((ms % 1000) * 1000)])


def _command(ctx: Context, argv: list[str]) -> Outcome:
    """``COMMAND`` and its subcommands over :data:`COMMANDS`, in name order."""
    infos = sorted(COMMANDS.values(), key=lambda c: c.name)
    if len(argv) == 1:
        return _reply([c.reply() for c in infos])
    sub = argv[1].lower()
    if sub == "count":
        return _reply(len(infos))
    if sub == "list":
        return _reply([c.name for c in infos])
    if sub == "info":
        wanted = [COMMANDS.get(n.lower()) for n in argv[2:]] if len(argv) > 2 else infos
        return _reply([c.reply() if c is not None else None for c in wanted])
    if sub == "docs":
        chosen = (
            [c for c in (COMMANDS.get(n.lower()) for n in argv[2:]) if c is not None]
            if len(argv) > 2
            else infos
        )
        return _reply(Map(tuple((c.name, c.docs()) for c in chosen)))
    if sub == "getkeys":
        info = COMMANDS.get(argv[2].lower())
        if info is None:
            return _error("ERR Invalid command specified")
        if not arity_ok(info.arity, len(argv) - 2):
            return _error("ERR Invalid number of arguments specified for command")
        keys = info.keys(argv[2:])
        if not keys:
            return _error("ERR The command has no key arguments")
        return _reply(keys)
    return _reply(
        [
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "HELP",
            "    Print this help.",
        ]
    )


def _cluster(ctx: Context, argv: list[str]) -> Outcome:
    return _reply(cluster_commands.cluster(ctx.sim, ctx.node, argv, ctx.ports, ctx.client.proto))


_HANDLERS = {
    "set": _set,
    "incrby": _incrby,
    "decr": _incrby,
    "decrby": _incrby,
    "ping": _ping,
    "echo": _echo,
    "quit": _quit,
    "hello": _hello,
    "auth": _auth,
    "select": _select,
    "client": _client,
    "info": _info,
    "pubsub": _pubsub,
    "shutdown": _shutdown,
    "role": _role,
    "dbsize": _dbsize,
    "time": _time,
    "command": _command,
    "cluster": _cluster,
}
