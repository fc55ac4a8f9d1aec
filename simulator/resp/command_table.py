"""The commands a simulated node knows, as ``COMMAND`` / ``COMMAND DOCS`` describe them.

Values follow Redis 7.0.15's src/commands/*.json (arity, flags, first/last key and
step, ACL categories, group, since, summary), for the commands rcsim models only:
clients such as redis-py read ``COMMAND`` at start to find a command's keys, and
redis-cli reads ``COMMAND DOCS`` for its hints. Key specs and tips are left empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.resp.protocol import Map, SetReply, Simple


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """One ``COMMAND INFO`` entry (and the fields of its ``COMMAND DOCS`` entry)."""

    name: str
    arity: int
    flags: tuple[str, ...]
    first: int
    last: int
    step: int
    acl: tuple[str, ...]
    group: str
    since: str
    summary: str
    subcommands: tuple[CommandInfo, ...] = ()

    def reply(self) -> list[Any]:
        """``addReplyCommandInfo``: 10 fields, flags and categories as sets."""
        return [
            self.name,
            self.arity,
            SetReply(tuple(Simple(f) for f in self.flags)),
            self.first,
            self.last,
            self.step,
            SetReply(tuple(Simple(a) for a in self.acl)),
            SetReply(()),
            [],
            [sub.reply() for sub in self.subcommands],
        ]

    def docs(self) -> Map:
        pairs: list[tuple[Any, Any]] = [
            ("summary", self.summary),
            ("since", self.since),
            ("group", self.group),
        ]
        if self.subcommands:
            pairs.append(("subcommands", Map(tuple((s.name, s.docs()) for s in self.subcommands))))
        return Map(tuple(pairs))

    def keys(self, argv: list[str]) -> list[str]:
        """``COMMAND GETKEYS`` from the legacy range (first, last, step)."""
        if not self.first:
            return []
        last = self.last if self.last >= 0 else len(argv) + self.last
        return [argv[i] for i in range(self.first, min(last, len(argv) - 1) + 1, self.step)]


def _cmd(
    name: str,
    arity: int,
    flags: str,
    keys: tuple[int, int, int],
    acl: str,
    group: str,
    since: str,
    summary: str,
    subcommands: tuple[CommandInfo, ...] = (),
) -> CommandInfo:
    return CommandInfo(
        name,
        arity,
        tuple(flags.split()),
        *keys,
        tuple(f"@{a}" for a in acl.split()),
        group,
        since,
        summary,
        subcommands,
    )


NO_KEYS = (0, 0, 0)


def _sub(
    parent: str, name: str, arity: int, flags: str, acl: str, since: str, summary: str
) -> CommandInfo:
    return _cmd(f"{parent}|{name}", arity, flags, NO_KEYS, acl, parent, since, summary)


# fmt: off
_CLUSTER_SUBS = tuple(
    _sub("cluster", name, arity, flags, "slow", since, summary)
    for name, arity, flags, since, summary in (
        ("addslots", -3, "admin stale no_async_loading", "3.0.0", "Assigns new hash slots to a node."),
        ("bumpepoch", 2, "admin stale no_async_loading", "3.0.0", "Advances the cluster config epoch."),
        ("countkeysinslot", 3, "stale", "3.0.0", "Returns the number of keys in a hash slot."),
        ("delslots", -3, "admin stale no_async_loading", "3.0.0", "Sets hash slots as unbound for a node."),
        ("failover", -2, "admin stale no_async_loading", "3.0.0", "Forces a replica to perform a manual failover of its master."),
        ("forget", 3, "admin stale no_async_loading", "3.0.0", "Removes a node from the nodes table."),
        ("getkeysinslot", 4, "stale", "3.0.0", "Returns the key names in a hash slot."),
        ("help", 2, "loading stale", "5.0.0", "Returns helpful text about the different subcommands."),
        ("info", 2, "stale", "3.0.0", "Returns information about the state of a node."),
        ("keyslot", 3, "stale", "3.0.0", "Returns the hash slot for a key."),
        ("meet", -4, "admin stale no_async_loading", "3.0.0", "Forces a node to handshake with another node."),
        ("myid", 2, "stale", "3.0.0", "Returns the ID of a node."),
        ("nodes", 2, "stale", "3.0.0", "Returns the cluster configuration for a node."),
        ("replicas", 3, "admin stale", "5.0.0", "Lists the replica nodes of a master node."),
        ("replicate", 3, "admin stale no_async_loading", "3.0.0", "Configure a node as replica of a master node."),
        ("setslot", -4, "admin stale no_async_loading", "3.0.0", "Binds a hash slot to a node."),
        ("shards", 2, "stale", "7.0.0", "Returns the mapping of cluster slots to shards."),
        ("slaves", 3, "admin stale", "3.0.0", "Lists the replica nodes of a master node."),
        ("slots", 2, "stale", "3.0.0", "Returns the mapping of cluster slots to nodes."),
    )
)
# fmt: on

# fmt: off
_CLIENT_SUBS = tuple(
    _sub("client", name, arity, flags, "slow connection", since, summary)
    for name, arity, flags, since, summary in (
        ("getname", 2, "noscript loading stale", "2.6.9", "Returns the name of the connection."),
        ("help", 2, "loading stale", "5.0.0", "Returns helpful text about the different subcommands."),
        ("id", 2, "noscript loading stale", "5.0.0", "Returns the unique client ID of the connection."),
        ("info", 2, "noscript loading stale", "6.2.0", "Returns information about the connection."),
        ("list", -2, "admin noscript loading stale", "2.4.0", "Lists open connections."),
        ("setname", 3, "noscript loading stale", "2.6.9", "Sets the connection name."),
        ("tracking", -3, "noscript loading stale", "6.0.0", "Controls server-assisted client-side caching for the connection."),
        ("trackinginfo", 2, "noscript loading stale", "6.2.0", "Returns information about server-assisted client-side caching for the connection."),
    )
)
# fmt: on

# fmt: off
_PUBSUB_SUBS = tuple(
    _sub("pubsub", name, arity, "pubsub loading stale", "pubsub slow", since, summary)
    for name, arity, since, summary in (
        ("channels", -2, "2.8.0", "Returns the active channels."),
        ("help", 2, "6.2.0", "Returns helpful text about the different subcommands."),
        ("numpat", 2, "2.8.0", "Returns a count of unique pattern subscriptions."),
        ("numsub", -2, "2.8.0", "Returns a count of subscribers to channels."),
        ("shardchannels", -2, "7.0.0", "Returns the active shard channels."),
        ("shardnumsub", -2, "7.0.0", "Returns the count of subscribers of shard channels."),
    )
)

_COMMAND_SUBS = tuple(
    _sub("command", name, arity, "loading stale", "slow connection", since, summary)
    for name, arity, since, summary in (
        ("count", 2, "2.8.13", "Returns a count of commands."),
        ("docs", -2, "7.0.0", "Returns documentary information about one, multiple or all commands."),
        ("getkeys", -3, "2.8.13", "Extracts the key names from an arbitrary command."),
        ("help", 2, "5.0.0", "Returns helpful text about the different subcommands."),
        ("info", -2, "2.8.13", "Returns information about one, multiple or all commands."),
        ("list", -2, "7.0.0", "Returns a list of command names."),
    )
)
# fmt: on

PUBSUB_FLAGS = "pubsub noscript loading stale"

# fmt: off
COMMANDS: dict[str, CommandInfo] = {
    c.name: c
    for c in (
        _cmd("asking", 1, "fast", NO_KEYS, "fast connection", "cluster", "3.0.0", "Signals that a cluster client is following an -ASK redirect."),
        _cmd("auth", -2, "noscript loading stale fast no_auth sentinel allow_busy", NO_KEYS, "fast connection", "connection", "1.0.0", "Authenticates the connection."),
        _cmd("client", -2, "sentinel", NO_KEYS, "slow", "connection", "2.4.0", "A container for client connection commands.", _CLIENT_SUBS),
        _cmd("cluster", -2, "", NO_KEYS, "slow", "cluster", "3.0.0", "A container for Redis Cluster commands.", _CLUSTER_SUBS),
        _cmd("command", -1, "loading stale sentinel", NO_KEYS, "slow connection", "server", "2.8.13", "Returns detailed information about all commands.", _COMMAND_SUBS),
        _cmd("dbsize", 1, "readonly fast", NO_KEYS, "keyspace read fast", "server", "1.0.0", "Returns the number of keys in the database."),
        _cmd("decr", 2, "write denyoom fast", (1, 1, 1), "write string fast", "string", "1.0.0", "Decrements the integer value of a key by one."),
        _cmd("decrby", 3, "write denyoom fast", (1, 1, 1), "write string fast", "string", "1.0.0", "Decrements a number from the integer value of a key."),
        _cmd("del", -2, "write", (1, -1, 1), "keyspace write slow", "generic", "1.0.0", "Deletes one or more keys."),
        _cmd("echo", 2, "fast", NO_KEYS, "fast connection", "connection", "1.0.0", "Returns the given string."),
        _cmd("exists", -2, "readonly fast", (1, -1, 1), "keyspace read fast", "generic", "1.0.0", "Determines whether one or more keys exist."),
        _cmd("expire", -3, "write fast", (1, 1, 1), "keyspace write fast", "generic", "1.0.0", "Sets the expiration time of a key in seconds."),
        _cmd("expireat", -3, "write fast", (1, 1, 1), "keyspace write fast", "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp."),
        _cmd("expiretime", 2, "readonly fast", (1, 1, 1), "keyspace read fast", "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp."),
        _cmd("get", 2, "readonly fast", (1, 1, 1), "read string fast", "string", "1.0.0", "Returns the string value of a key."),
        _cmd("hello", -1, "noscript loading stale fast no_auth sentinel allow_busy", NO_KEYS, "fast connection", "connection", "6.0.0", "Handshakes with the Redis server."),
        _cmd("incr", 2, "write denyoom fast", (1, 1, 1), "write string fast", "string", "1.0.0", "Increments the integer value of a key by one."),
        _cmd("incrby", 3, "write denyoom fast", (1, 1, 1), "write string fast", "string", "1.0.0", "Increments the integer value of a key by a number."),
        _cmd("info", -1, "loading stale sentinel", NO_KEYS, "slow dangerous", "server", "1.0.0", "Returns information and statistics about the server."),
        _cmd("mget", -2, "readonly fast", (1, -1, 1), "read string fast", "string", "1.0.0", "Atomically returns the string values of one or more keys."),
        _cmd("mset", -3, "write denyoom", (1, -1, 2), "write string slow", "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys."),
        _cmd("persist", 2, "write fast", (1, 1, 1), "keyspace write fast", "generic", "2.2.0", "Removes the expiration time of a key."),
        _cmd("pexpire", -3, "write fast", (1, 1, 1), "keyspace write fast", "generic", "2.6.0", "Sets the expiration time of a key in milliseconds."),
        _cmd("pexpireat", -3, "write fast", (1, 1, 1), "keyspace write fast", "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp."),
        _cmd("pexpiretime", 2, "readonly fast", (1, 1, 1), "keyspace read fast", "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp."),
        _cmd("ping", -1, "fast sentinel", NO_KEYS, "fast connection", "connection", "1.0.0", "Returns the server's liveliness response."),
        _cmd("psubscribe", -2, PUBSUB_FLAGS, NO_KEYS, "pubsub slow", "pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns."),
        _cmd("pttl", 2, "readonly fast", (1, 1, 1), "keyspace read fast", "generic", "2.6.0", "Returns the expiration time in milliseconds of a key."),
        _cmd("pubsub", -2, "", NO_KEYS, "slow", "pubsub", "2.8.0", "A container for Pub/Sub commands.", _PUBSUB_SUBS),
        _cmd("publish", 3, "pubsub loading stale fast may_replicate sentinel", NO_KEYS, "pubsub fast", "pubsub", "2.0.0", "Posts a message to a channel."),
        _cmd("punsubscribe", -1, PUBSUB_FLAGS, NO_KEYS, "pubsub slow", "pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns."),
        _cmd("quit", -1, "noscript loading stale fast no_auth allow_busy", NO_KEYS, "fast connection", "connection", "1.0.0", "Closes the connection."),
        _cmd("readonly", 1, "loading stale fast", NO_KEYS, "fast connection", "cluster", "3.0.0", "Enables read-only queries for a connection to a Redis Cluster replica node."),
        _cmd("readwrite", 1, "loading stale fast", NO_KEYS, "fast connection", "cluster", "3.0.0", "Enables read-write queries for a connection to a Reids Cluster replica node."),
        _cmd("role", 1, "noscript loading stale fast sentinel", NO_KEYS, "admin fast dangerous", "server", "2.8.12", "Returns the replication role."),
        _cmd("select", 2, "loading stale fast", NO_KEYS, "fast connection", "connection", "2.0.0", "Changes the selected database."),
        _cmd("set", -3, "write denyoom", (1, 1, 1), "write string slow", "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
        _cmd("shutdown", -1, "admin noscript loading stale no_multi sentinel allow_busy", NO_KEYS, "admin slow dangerous", "server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the Redis server."),
        _cmd("spublish", 3, "pubsub loading stale fast may_replicate", (1, 1, 1), "pubsub fast", "pubsub", "7.0.0", "Post a message to a shard channel"),
        _cmd("ssubscribe", -2, PUBSUB_FLAGS, (1, -1, 1), "pubsub slow", "pubsub", "7.0.0", "Listens for messages published to shard channels."),
        _cmd("subscribe", -2, PUBSUB_FLAGS, NO_KEYS, "pubsub slow", "pubsub", "2.0.0", "Listens for messages published to channels."),
        _cmd("sunsubscribe", -1, PUBSUB_FLAGS, (1, -1, 1), "pubsub slow", "pubsub", "7.0.0", "Stops listening to messages posted to shard channels."),
        _cmd("time", 1, "loading stale fast", NO_KEYS, "fast", "server", "2.6.0", "Returns the server time."),
        _cmd("ttl", 2, "readonly fast", (1, 1, 1), "keyspace read fast", "generic", "1.0.0", "Returns the expiration time in seconds of a key."),
        _cmd("unsubscribe", -1, PUBSUB_FLAGS, NO_KEYS, "pubsub slow", "pubsub", "2.0.0", "Stops listening to messages posted to channels."),
        _cmd("wait", 3, "noscript", NO_KEYS, "slow connection", "generic", "3.0.0", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed."),
    )
}
# fmt: on


def subcommand(parent: CommandInfo, name: str) -> CommandInfo | None:
    full = f"{parent.name}|{name.lower()}"
    for sub in parent.subcommands:
        if sub.name == full:
            return sub
    return None


def arity_ok(arity: int, argc: int) -> bool:
    """``processCommand``'s arity check: exact when positive, at least ``-arity`` else."""
    return argc == arity if arity > 0 else argc >= -arity


def wrong_arity(name: str) -> str:
    return f"ERR wrong number of arguments for '{name}' command"


def unknown_subcommand(sub: str, parent: str) -> str:
    """``addReplySubcommandSyntaxError``."""
    return f"ERR unknown subcommand '{sub[:128]}'. Try {parent.upper()} HELP."
