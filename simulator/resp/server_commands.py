"""Connection, server and ``CLUSTER`` commands of the RESP front, answered from the
receiving node's own state (src/networking.c ``helloCommand``/``clientCommand``,
src/server.c ``infoCommand``/``commandCommand``, src/pubsub.c ``pubsubCommand``,
src/replication.c ``roleCommand``, 7.0)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.introspection import unix_ms
from simulator.resp import cluster_commands, tracking_commands
from simulator.resp.client import Outcome
from simulator.resp.command_table import COMMANDS, arity_ok, wrong_arity
from simulator.resp.context import ERR_NOT_INTEGER, ERR_SYNTAX, Context
from simulator.resp.context import error as _error
from simulator.resp.context import reply as _reply
from simulator.resp.info import REDIS_VERSION, client_info_line, info_text, role_reply
from simulator.resp.protocol import OK, Map, Simple, Verbatim
from simulator.simulation import ActionError

ERR_CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters."


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
    if sub == "tracking":
        return tracking_commands.tracking(ctx, argv)
    if sub == "trackinginfo":
        return tracking_commands.trackinginfo(ctx)
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


HANDLERS: dict[str, Callable[[Context, list[str]], Outcome]] = {
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
